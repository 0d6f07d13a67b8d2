//! `flowc repl [FILE]`: the interactive REPL on a terminal, or, when standard input is not
//! a terminal, the same session fed line by line without prompts or colours (exit 1 when
//! any input failed). See [`crate::repl`].

use crate::cli::out::{err, out};
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

/// Runs the REPL; returns its exit code.
pub fn run(args: ReplArgs, color: bool) -> u8 {
    session(args, color)
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
            err!("{}", reply.output);
        } else {
            out!("{}", reply.output);
        }
        err!("{}", reply.errors);
        failed = !reply.ok;
    }
    if terminal {
        return repl::interactive(session, color, repl::history_path());
    }
    let stdin = std::io::stdin();
    let code = repl::piped(
        &mut session,
        stdin.lock(),
        &mut super::out::Writer(super::out::Stream::Stdout),
        &mut super::out::Writer(super::out::Stream::Stderr),
    );
    if failed {
        super::EXIT_FINDINGS
    } else {
        code
    }
}
