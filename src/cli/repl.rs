//! `flowc repl [FILE]`: the interactive REPL on a terminal, or, when standard input is not
//! a terminal, the same session fed line by line without prompts or colours (exit 1 when
//! any input failed). See [`crate::repl`].

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::diagnostics::RenderOptions;
use crate::repl::{self, Session};

/// Arguments of `flowc repl`.
#[derive(Debug, clap::Args)]
pub struct ReplArgs {
    /// A .flow file to load first (as `:load FILE`).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// The stack size of the REPL's thread: as for `flowc check`, a long operator chain in a
/// loaded file must give a diagnostic, never a stack overflow.
const STACK_SIZE: usize = 512 * 1024 * 1024;

/// Runs the REPL (on a thread with a large stack); returns its exit code.
pub fn run(args: ReplArgs, color: bool) -> u8 {
    let worker = std::thread::Builder::new()
        .stack_size(STACK_SIZE)
        .spawn(move || session(args, color));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("error: internal error in the REPL; please report it");
            super::EXIT_USAGE
        }
    }
}

fn session(args: ReplArgs, color: bool) -> u8 {
    let terminal = std::io::stdin().is_terminal();
    let opts = RenderOptions {
        color: color && terminal,
        width: super::width(),
    };
    let mut session = Session::new(opts).with_runner(Box::new(super::run::launch));
    let mut failed = false;
    if let Some(file) = &args.file {
        let reply = session.input(&format!(":load {}", file.display()));
        if terminal {
            eprint!("{}", reply.output);
        } else {
            print!("{}", reply.output);
        }
        eprint!("{}", reply.errors);
        failed = !reply.ok;
    }
    if terminal {
        return repl::interactive(session, color, repl::history_path());
    }
    let stdin = std::io::stdin();
    let code = repl::piped(
        &mut session,
        stdin.lock(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    if failed {
        super::EXIT_FINDINGS
    } else {
        code
    }
}
