//! The REPL, `flowc repl`: a [`Session`] (the backend, in `session`, which holds the program
//! built so far and answers each input) and two frontends that feed it: [`interactive`], a
//! line editor on rustyline with highlighting, completion, hints and history, and
//! [`piped`], which reads standard input line by line without prompts or colours so that
//! the REPL is scriptable. Both join lines while a brace, bracket or string is open.

mod editor;
mod program;
pub mod session;

use std::io::{BufRead, Write};
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

/// Reads inputs from `input` line by line (joining lines while something is open), writes
/// each result to `out` and each diagnostic to `err`. Returns 1 when any input failed, 0
/// otherwise, 2 when the input cannot be read.
pub fn piped(
    session: &mut Session,
    input: impl BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut failed = false;
    let mut buffer = String::new();
    let mut answer = |session: &mut Session, text: &str| {
        let reply = session.input(text);
        let _ = out.write_all(reply.output.as_bytes());
        let _ = out.flush();
        let _ = err.write_all(reply.errors.as_bytes());
        failed |= !reply.ok;
        reply.quit
    };
    for line in input.lines() {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                let _ = writeln!(err, "error: cannot read standard input: {e}");
                return crate::runtime::driver::EXIT_USAGE;
            }
        };
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
