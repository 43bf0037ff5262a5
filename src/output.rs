//! What commands print for people and scripts goes through `out!` and `outln!`: like `print!`
//! and `println!`, but a failed write is an error the command returns instead of a panic. A
//! reader that stops early (`lightsync status | head -1`) closes the pipe; `main` ends such a
//! command quietly with success, as ripgrep does.

/// `print!` that returns the write's error from the enclosing function.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `println!` that returns the write's error from the enclosing function.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// Whether `err` is a write to a reader that went away.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
