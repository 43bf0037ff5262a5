//! The dashboard's front door: `serve` and `demo` accept the dashboard's connections here and
//! hand each request to Rocket, which listens on a loopback port of its own. Rocket 0.5 keeps a
//! connection open for as long as the client likes (its HTTP server switches the header timeout
//! off, and no setting reaches it), so the door enforces what it cannot: a request's head must
//! arrive within `HEAD_TIMEOUT`, its announced body must keep coming (`BODY_IDLE_TIMEOUT`) and
//! be done within `BODY_TIMEOUT` (the answer may then take as long as it takes), at most `MAX_CONNECTIONS` connections are open, and each connection
//! carries one request (`Connection: close`), so an idle keep-alive connection cannot be held
//! either. The client's address reaches Rocket in `PEER_HEADER`, with a secret of this process
//! that no client can know; the door drops that header from whatever a client sends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::{timeout, Instant};

/// The header that carries `<secret> <client address>` from the door to Rocket.
pub const PEER_HEADER: &str = "X-Lightsync-Peer";
/// Time for a request's line and headers to arrive from the moment the connection opens: a
/// browser sends them at once; a client that has not in 10 s is holding the connection.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest pause in a request's body before the dashboard has answered.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a whole request body (the dashboard's forms are a few hundred bytes).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections open at once: far above what people looking at a dashboard open, low enough
/// that a flood of connections cannot exhaust the process's file descriptors.
pub const MAX_CONNECTIONS: usize = 1024;
/// Largest request head: Rocket's own requests are a few hundred bytes plus cookies.
const MAX_HEAD_BYTES: usize = 32 * 1024;

/// The door's secret, shared with the `ClientAddr` guard.
#[derive(Clone)]
pub struct DoorSecret(Arc<str>);

impl DoorSecret {
    pub fn random() -> DoorSecret {
        DoorSecret(super::auth::random_token().into())
    }

    /// The client address a request names in `PEER_HEADER`, if the header carries this secret.
    pub fn client_in(&self, value: &str) -> Option<std::net::IpAddr> {
        let (secret, address) = value.split_once(' ')?;
        super::auth::constant_time_eq(secret.as_bytes(), self.0.as_bytes())
            .then(|| address.trim().parse().ok())
            .flatten()
    }
}

/// Where Rocket listens, once it does: the liftoff fairing sends the port.
pub struct InnerPort(pub watch::Sender<u16>);

/// The address people reach the dashboard on (the door's), for the liftoff log line.
pub struct PublicAddress(pub SocketAddr);

/// The address and port `figment` asks the dashboard to listen on, and the figment Rocket is
/// then built with: loopback, on a port the system picks, reachable through the door only.
pub fn behind_the_door(
    figment: rocket::figment::Figment,
) -> anyhow::Result<(SocketAddr, rocket::figment::Figment)> {
    let address: std::net::IpAddr = figment
        .extract_inner("address")
        .map_err(|err| anyhow::anyhow!("the dashboard's address setting is invalid: {err}"))?;
    let port: u16 = figment
        .extract_inner("port")
        .map_err(|err| anyhow::anyhow!("the dashboard's port setting is invalid: {err}"))?;
    let inner = figment.merge(("address", "127.0.0.1")).merge(("port", 0));
    Ok((SocketAddr::new(address, port), inner))
}

/// The door, bound to the public address.
pub struct Door {
    listener: TcpListener,
    public: SocketAddr,
    secret: DoorSecret,
}

impl Door {
    /// Binds `public` (a port in use is reported here, before Rocket starts).
    pub async fn bind(public: SocketAddr, secret: DoorSecret) -> std::io::Result<Door> {
        let listener = TcpListener::bind(public).await?;
        // Port 0 asks the system for one: the log line names the one it gave.
        let public = listener.local_addr()?;
        Ok(Door {
            listener,
            public,
            secret,
        })
    }

    /// Opens the door in front of `rocket` (built by `web::build` from `behind_the_door`'s
    /// figment, with this door's secret in its state): requests flow once Rocket lifts off.
    pub fn open(self, rocket: rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build> {
        let (port, inner_port) = watch::channel(0);
        tokio::spawn(serve(self.listener, inner_port, self.secret));
        rocket
            .manage(InnerPort(port))
            .manage(PublicAddress(self.public))
    }
}

/// Accepts connections on `listener` and passes each request to Rocket's loopback port (sent
/// on `inner_port` when Rocket lifts off) until the process ends.
pub async fn serve(
    listener: TcpListener,
    mut inner_port: watch::Receiver<u16>,
    secret: DoorSecret,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let port = loop {
        let port = *inner_port.borrow_and_update();
        if port != 0 {
            break port;
        }
        if inner_port.changed().await.is_err() {
            return;
        }
    };
    let inner = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of descriptors or a reset before accept: pause rather than spin.
                log::warn!("dashboard: accepting a connection failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(client, "503 Service Unavailable"));
            continue;
        };
        let secret = secret.clone();
        tokio::spawn(async move {
            if let Err(reason) = pass_one_request(client, peer, inner, &secret).await {
                log::debug!("dashboard connection from {}: {reason}", peer.ip());
            }
            drop(slot);
        });
    }
}

async fn refuse(mut client: TcpStream, status: &str) {
    let answer = format!(
        "HTTP/1.1 {status}\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let _ = timeout(Duration::from_secs(1), client.write_all(answer.as_bytes())).await;
}

/// Reads one request head from `client` (in time), passes it and its body to Rocket with the
/// client's address, and the answer back; then closes.
async fn pass_one_request(
    mut client: TcpStream,
    peer: SocketAddr,
    inner: SocketAddr,
    secret: &DoorSecret,
) -> Result<(), String> {
    let mut head = Vec::with_capacity(2048);
    let head_end = match timeout(HEAD_TIMEOUT, read_head(&mut client, &mut head)).await {
        Ok(Ok(Some(end))) => end,
        Ok(Ok(None)) => {
            refuse(client, "431 Request Header Fields Too Large").await;
            return Err("request head too large".into());
        }
        Ok(Err(err)) => return Err(format!("reading the request: {err}")),
        Err(_) => {
            refuse(client, "408 Request Timeout").await;
            return Err(format!("no complete request within {HEAD_TIMEOUT:?}"));
        }
    };
    let rewritten = rewrite_head(&head[..head_end], peer.ip(), secret);
    let mut rocket = TcpStream::connect(inner)
        .await
        .map_err(|err| format!("reaching the dashboard: {err}"))?;
    rocket
        .write_all(&rewritten)
        .await
        .map_err(|err| err.to_string())?;
    rocket
        .write_all(&head[head_end..])
        .await
        .map_err(|err| err.to_string())?;
    // The body still to come: the announced length minus what arrived with the head; unknown
    // (read until the answer) for a chunked body. A request without one waits for its answer
    // as long as the dashboard takes (a page during a database outage takes a while).
    let arrived = (head.len() - head_end) as u64;
    let mut body_left =
        announced_body(&head[..head_end]).map(|length| length.saturating_sub(arrived));
    let (mut from_client, mut to_client) = client.split();
    let (mut from_rocket, mut to_rocket) = rocket.split();
    let (answer_started, mut answered) = tokio::sync::oneshot::channel::<()>();
    let mut answer_started = Some(answer_started);
    let body = async {
        let deadline = Instant::now() + BODY_TIMEOUT;
        let mut buffer = vec![0u8; 8192];
        loop {
            if body_left == Some(0) {
                return Ok(());
            }
            let pause = BODY_IDLE_TIMEOUT.min(deadline.saturating_duration_since(Instant::now()));
            tokio::select! {
                read = timeout(pause, from_client.read(&mut buffer)) => match read {
                    Ok(Ok(0)) | Ok(Err(_)) => return Ok(()),
                    Ok(Ok(n)) => {
                        if to_rocket.write_all(&buffer[..n]).await.is_err() {
                            return Ok(());
                        }
                        body_left = body_left.map(|left| left.saturating_sub(n as u64));
                    }
                    Err(_) => return Err(format!("the request body stalled ({pause:?} without a byte, or past {BODY_TIMEOUT:?})")),
                },
                // Once the dashboard answers, the request is over (one per connection).
                _ = &mut answered => return Ok(()),
            }
        }
    };
    let answer = async {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            match from_rocket.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(started) = answer_started.take() {
                        let _ = started.send(());
                    }
                    if to_client.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to_client.shutdown().await;
    };
    // A stalled body closes the connection; otherwise the answer is passed on to its end.
    tokio::pin!(body, answer);
    tokio::select! {
        ended = &mut body => {
            ended?;
            answer.await;
            Ok(())
        }
        () = &mut answer => Ok(()),
    }
}

/// The body length a request head announces: `Content-Length`, 0 without one, `None` for a
/// chunked body (its end is only known to the dashboard).
fn announced_body(head: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    let mut length = 0;
    for line in text.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return None;
        }
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    Some(length)
}

/// Reads until the end of a request head (a blank line); `Some(end)` is the offset after it,
/// `None` a head larger than `MAX_HEAD_BYTES`.
async fn read_head(client: &mut TcpStream, head: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = head_end(head) {
            return Ok(Some(end));
        }
        if head.len() > MAX_HEAD_BYTES {
            return Ok(None);
        }
        let n = client.read(&mut buffer).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buffer[..n]);
    }
}

/// The offset just past the blank line that ends a request head (`\r\n\r\n`, or bare `\n\n`).
fn head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The request head as Rocket gets it: the client's own connection headers and any
/// `PEER_HEADER` dropped, `Connection: close` and the door's `PEER_HEADER` added.
fn rewrite_head(head: &[u8], client: std::net::IpAddr, secret: &DoorSecret) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|line| line.trim_end_matches('\r'));
    let mut out = String::with_capacity(head.len() + 128);
    if let Some(request_line) = lines.next() {
        out.push_str(request_line);
        out.push_str("\r\n");
    }
    for line in lines.filter(|line| !line.is_empty()) {
        let name = line.split(':').next().unwrap_or("").trim();
        let dropped = [
            "connection",
            "keep-alive",
            "proxy-connection",
            "upgrade",
            PEER_HEADER,
        ]
        .iter()
        .any(|dropped| name.eq_ignore_ascii_case(dropped));
        if !dropped {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n");
    out.push_str(&format!("{PEER_HEADER}: {} {client}\r\n\r\n", secret.0));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announced_body_is_its_length_none_or_unknown_when_chunked() {
        assert_eq!(
            announced_body(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Some(0)
        );
        assert_eq!(
            announced_body(b"POST /login HTTP/1.1\r\ncontent-length: 42\r\n\r\n"),
            Some(42)
        );
        assert_eq!(
            announced_body(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            None
        );
    }

    #[test]
    fn the_head_ends_at_the_first_blank_line_of_either_kind() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.1\nHost: x\n\nbody"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn the_rewritten_head_names_the_client_and_drops_what_a_client_may_not_set() {
        let secret = DoorSecret("s3cret".into());
        let head = b"POST /login HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nx-lightsync-peer: s3cret 10.0.0.1\r\nContent-Length: 5\r\n\r\n";
        let rewritten =
            String::from_utf8(rewrite_head(head, "192.0.2.7".parse().unwrap(), &secret)).unwrap();
        assert_eq!(
            rewritten,
            "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\nX-Lightsync-Peer: s3cret 192.0.2.7\r\n\r\n"
        );
        assert_eq!(
            secret.client_in("s3cret 192.0.2.7"),
            Some("192.0.2.7".parse().unwrap())
        );
        assert_eq!(secret.client_in("guess 192.0.2.7"), None);
        assert_eq!(secret.client_in("s3cret"), None);
    }
}
