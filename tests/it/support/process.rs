//! Child processes of the tests: the one way their output is read (every line of stdout and
//! stderr arrives on a channel, so a test waits for a line with a deadline and keeps a
//! transcript for its failure message), and the bare binary every test's command starts from.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The real `lightsync` binary with an empty environment but `PATH`: nothing of the caller's
/// environment changes its behaviour. Tests add what they configure.
pub fn bare_lightsync() -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("lightsync"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

/// A child whose output lines arrive on a channel; killed when dropped.
pub struct RunningChild {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    transcript: String,
}

impl RunningChild {
    /// Starts `command` with its stdout and stderr read line by line.
    pub fn spawn(mut command: Command) -> RunningChild {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the child process starts");
        let (sender, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { return };
                    if sender.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        RunningChild {
            child,
            lines,
            transcript: String::new(),
        }
    }

    /// The first line (stdout or stderr) for which `pick` returns something, within `timeout`.
    pub fn wait_for<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pick: impl FnMut(&str) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.push_str(&line);
                    self.transcript.push('\n');
                    if let Some(found) = pick(&line) {
                        return found;
                    }
                }
                Err(_) => panic!("no {what} within {timeout:?}:\n{}", self.transcript),
            }
        }
    }

    /// The first line containing one of `needles`, within a minute.
    pub fn wait_for_any(&mut self, needles: &[&str]) -> String {
        let what = format!("line with one of {needles:?}");
        self.wait_for(Duration::from_secs(60), &what, |line| {
            needles
                .iter()
                .any(|needle| line.contains(needle))
                .then(|| line.to_string())
        })
    }

    /// Kills the child (a server the test is done with) and returns everything it printed.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.drain();
        std::mem::take(&mut self.transcript)
    }

    /// Collects the lines the reader threads still hold once the child has exited.
    fn drain(&mut self) {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.transcript.push_str(&line);
            self.transcript.push('\n');
        }
    }

    /// Waits for the child to exit by itself; its exit status and everything it printed.
    pub fn finish(mut self, timeout: Duration) -> (std::process::ExitStatus, String) {
        let child = &mut self.child;
        let exit = super::eventually_some(timeout, "the child exits", || {
            child.try_wait().expect("the child can be waited for")
        });
        self.drain();
        (exit, std::mem::take(&mut self.transcript))
    }

    /// Sends `signal`, waits for a successful exit and returns everything it printed.
    pub fn stop(self, signal: libc::c_int) -> String {
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
        let (exit, transcript) = self.finish(Duration::from_secs(30));
        assert!(
            exit.success(),
            "{exit:?} after signal {signal}:\n{transcript}"
        );
        transcript
    }
}

impl Drop for RunningChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
