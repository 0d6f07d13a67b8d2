//! The REPL, `flowc repl`: a [`Session`] (the backend, in `session`, which holds the program
//! built so far and answers each input) and two frontends that feed it: [`interactive`], a
//! line editor on rustyline with highlighting, completion, hints and history, and
//! [`piped`], which reads standard input line by line without prompts or colours so that
//! the REPL is scriptable. Both join lines while a brace, bracket or string is open.

mod editor;
mod program;
pub mod session;

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

pub use editor::interactive;
pub use session::{is_incomplete, Reply, Session};

/// The environment variable that overrides where the history is kept.
pub const HISTORY_VAR: &str = "FLOWC_HISTORY";

/// Where the history is kept: `$FLOWC_HISTORY`, else `flowc/history` in the user's data
/// directory (`~/.local/share` on Linux); `None` when there is neither.
pub fn history_path() -> Option<PathBuf> {
    match std::env::var_os(HISTORY_VAR) {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => dirs::data_dir().map(|d| d.join("flowc").join("history")),
    }
}

/// The longest line [`piped`] reads from standard input (1 MiB): `flowc repl < /dev/zero`
/// stops there instead of filling memory.
pub const MAX_LINE: usize = 1024 * 1024;

/// The longest input [`piped`] joins from lines while a brace, bracket or string is open
/// (16 MiB, the size limit of a `.flow` file).
pub const MAX_INPUT: usize = 16 * 1024 * 1024;

/// Standard input that the piped REPL refuses: a line over [`MAX_LINE`], lines joined
/// over [`MAX_INPUT`], text that is not UTF-8, or a read error.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot read standard input: {reason}")]
#[diagnostic(
    code(E0601),
    help("the REPL reads UTF-8 text a line at a time; load a long program from a file with `:load FILE`")
)]
pub struct InputError {
    /// Why.
    pub reason: String,
}

/// Reads one line of at most [`MAX_LINE`] bytes (without its `\n` or `\r\n`). `None` at
/// the end of the input.
fn read_line(input: &mut impl BufRead) -> Result<Option<String>, String> {
    let mut bytes = Vec::new();
    let read = input
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut bytes)
        .map_err(|e| unreadable(e.to_string()))?;
    if read == 0 {
        return Ok(None);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    } else if bytes.len() > MAX_LINE {
        return Err(unreadable(format!(
            "a line is longer than {} MiB",
            MAX_LINE >> 20
        )));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| unreadable("it is not UTF-8 text".to_string()))
}

/// The rendered [`InputError`].
fn unreadable(reason: String) -> String {
    crate::diagnostics::render_error(None, &InputError { reason }, true)
}

/// Reads inputs from `input` line by line (joining lines while something is open), writes
/// each result to `out` and each diagnostic to `err`. Returns 1 when any input failed, 0
/// otherwise, 2 when the input cannot be read or a line is longer than [`MAX_LINE`] (E0601).
/// Stops when `out` can no longer be written (its reader went away).
pub fn piped(
    session: &mut Session,
    mut input: impl BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut failed = false;
    let mut buffer = String::new();
    let mut answer = |session: &mut Session, text: &str| {
        let reply = session.input(text);
        let written = out
            .write_all(reply.output.as_bytes())
            .and_then(|()| out.flush());
        let _ = err.write_all(reply.errors.as_bytes());
        failed |= !reply.ok;
        reply.quit || written.is_err()
    };
    loop {
        let line = match read_line(&mut input) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(message) => {
                let _ = writeln!(err, "{message}");
                return crate::runtime::driver::EXIT_USAGE;
            }
        };
        if buffer.len() + line.len() >= MAX_INPUT {
            let reason = format!("an input is longer than {} MiB", MAX_INPUT >> 20);
            let _ = writeln!(err, "{}", unreadable(reason));
            return crate::runtime::driver::EXIT_USAGE;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if is_incomplete(&buffer) {
            continue;
        }
        let text = std::mem::take(&mut buffer);
        if answer(session, &text) {
            buffer.clear();
            break;
        }
    }
    // Input that ended while something was still open: the parser says what.
    if !buffer.trim().is_empty() {
        answer(session, &buffer);
    }
    if failed {
        crate::runtime::driver::EXIT_FINDINGS
    } else {
        crate::runtime::driver::EXIT_OK
    }
}
