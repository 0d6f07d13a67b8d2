//! The one way the command line writes to standard output and standard error. Every
//! subcommand prints through [`out!`], [`outln!`], [`err!`] and [`errln!`] (or
//! [`write`]), never `print!`, which panics when a write fails.
//!
//! What a failed write does:
//!
//! - **The reader went away** (`EPIPE`: `flowc runs | head -1`): the stream is marked closed,
//!   later writes to it are dropped, nothing is printed about it, and the command ends
//!   with its own exit status (0, 1, 2 or 130). Commands that would print for ever
//!   (`flowc logs --follow`, the REPL) stop when [`stdout_closed`] says so. flowc ignores
//!   `SIGPIPE` (as every Rust program does), so it is never killed by it: a pipeline sees
//!   the command's status, not 141.
//! - **Any other error** (`ENOSPC` writing to `/dev/full`, `EIO`): reported once on
//!   standard error as `error[E0600]` (when that stream still works), later writes to the
//!   stream are dropped, and the command exits 2 instead of 0 or 1 ([`exit_status`]).

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// One of the two output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output: results.
    Stdout,
    /// Standard error: diagnostics, progress, notes.
    Stderr,
}

/// A stream that works.
const OPEN: u8 = 0;
/// A stream whose reader went away (`EPIPE`).
const CLOSED: u8 = 1;
/// A stream that failed otherwise (`ENOSPC`, `EIO`).
const FAILED: u8 = 2;

static STDOUT: AtomicU8 = AtomicU8::new(OPEN);
static STDERR: AtomicU8 = AtomicU8::new(OPEN);

fn state(stream: Stream) -> &'static AtomicU8 {
    match stream {
        Stream::Stdout => &STDOUT,
        Stream::Stderr => &STDERR,
    }
}

/// A write to standard output or standard error that failed for a reason other than the
/// reader going away.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot write to {stream}: {reason}")]
#[diagnostic(
    code(E0600),
    help(
        "the output went to a full disk or a device that refuses writes; free space or redirect the output elsewhere"
    )
)]
pub struct WriteError {
    /// `standard output` or `standard error`.
    pub stream: &'static str,
    /// The operating system's reason.
    pub reason: String,
}

/// Writes `bytes` to `stream` and flushes it. Returns false, having written nothing, when
/// the stream is closed or failed, now or before (see the module docs for what happens).
pub fn write(stream: Stream, bytes: &[u8]) -> bool {
    if state(stream).load(Ordering::Relaxed) != OPEN {
        return false;
    }
    let result = match stream {
        Stream::Stdout => {
            let mut out = io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        Stream::Stderr => {
            let mut err = io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        }
    };
    match result {
        Ok(()) => true,
        Err(e) => {
            failed(stream, &e);
            false
        }
    }
}

/// Records that a write to `stream` failed with `e`, reporting it when it is not `EPIPE`.
/// For code that writes to the streams itself (through a handle it was given).
pub fn failed(stream: Stream, e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        state(stream).store(CLOSED, Ordering::Relaxed);
        return;
    }
    if state(stream).swap(FAILED, Ordering::Relaxed) == FAILED {
        return;
    }
    if stream == Stream::Stdout {
        let report = WriteError {
            stream: "standard output",
            reason: e.to_string(),
        };
        let text = crate::diagnostics::render_error(None, &report, true);
        write(Stream::Stderr, format!("{text}\n").as_bytes());
    }
}

/// Formats and writes to `stream` in one write (so that lines from two threads never
/// interleave mid-line).
pub fn print(stream: Stream, args: fmt::Arguments<'_>, newline: bool) -> bool {
    let mut text = match args.as_str() {
        Some(s) => s.to_string(),
        None => args.to_string(),
    };
    if newline {
        text.push('\n');
    }
    write(stream, text.as_bytes())
}

/// True when standard output's reader went away or it failed: a command that would go on
/// printing (following logs, a REPL) should stop.
pub fn stdout_closed() -> bool {
    STDOUT.load(Ordering::Relaxed) != OPEN
}

/// The exit status of a command that returned `code`: 2 when a write failed (other than
/// `EPIPE`) and the command would otherwise have said 0 or 1; else `code`.
pub fn exit_status(code: u8) -> u8 {
    let failed =
        STDOUT.load(Ordering::Relaxed) == FAILED || STDERR.load(Ordering::Relaxed) == FAILED;
    if failed && code <= super::EXIT_FINDINGS {
        super::EXIT_USAGE
    } else {
        code
    }
}

/// An [`io::Write`] over one stream through this layer, for code that takes a writer
/// (the piped REPL). A write to a closed or failed stream is an error (`BrokenPipe`).
pub struct Writer(pub Stream);

impl io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if write(self.0, buf) {
            Ok(buf.len())
        } else {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `print!` through the output layer.
macro_rules! out {
    ($($arg:tt)*) => {
        { let _ = $crate::cli::out::print($crate::cli::out::Stream::Stdout, format_args!($($arg)*), false); }
    };
}

/// `println!` through the output layer.
macro_rules! outln {
    () => {
        { let _ = $crate::cli::out::write($crate::cli::out::Stream::Stdout, b"\n"); }
    };
    ($($arg:tt)*) => {
        { let _ = $crate::cli::out::print($crate::cli::out::Stream::Stdout, format_args!($($arg)*), true); }
    };
}

/// `eprint!` through the output layer.
macro_rules! err {
    ($($arg:tt)*) => {
        { let _ = $crate::cli::out::print($crate::cli::out::Stream::Stderr, format_args!($($arg)*), false); }
    };
}

/// `eprintln!` through the output layer.
macro_rules! errln {
    () => {
        { let _ = $crate::cli::out::write($crate::cli::out::Stream::Stderr, b"\n"); }
    };
    ($($arg:tt)*) => {
        { let _ = $crate::cli::out::print($crate::cli::out::Stream::Stderr, format_args!($($arg)*), true); }
    };
}

pub(crate) use {err, errln, out, outln};
