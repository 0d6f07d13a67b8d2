//! The command line: argument parsing with clap and one file per subcommand. This is the
//! only place that prints, reads stdin or decides exit codes.
//!
//! Exit codes: 0 success, 1 findings (or a failed workflow), 2 usage or input error (or
//! output that could not be written, E0600), 130, 143 or 129 a run interrupted by SIGINT,
//! SIGTERM or SIGHUP. When the reader of standard output goes away (`EPIPE`, `flowc runs |
//! head -1`), flowc stops writing and exits quietly with the command's own status; see
//! [`out`], the one output layer every subcommand prints through.

use crate::cli::out::errln;
mod check;
mod completions;
mod doc;
mod explain;
mod fmt;
mod graph;
pub(crate) mod load;
pub(crate) mod out;
pub(crate) mod params;
mod pause;
pub(crate) mod plan;
mod repl;
mod resume;
mod rollback;
pub(crate) mod run;
mod runs;
mod state;
pub(crate) mod term;
mod usage;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

pub use crate::runtime::driver::{
    EXIT_FINDINGS, EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE,
};

/// flowc: compile, check and run .flow workflow files.
#[derive(Debug, Parser)]
#[command(name = "flowc", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// When to use colour on stderr: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Colour choice for human output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check .flow files for errors without running anything.
    Check(check::CheckArgs),
    /// Run a workflow.
    Run(run::RunArgs),
    /// Print the execution graph of a file's workflows (text, dot, mermaid or json).
    Graph(graph::GraphArgs),
    /// Show what a run would do with the given inputs, without running anything.
    Plan(plan::PlanArgs),
    /// Explain a diagnostic code, such as E0101.
    Explain(explain::ExplainArgs),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
    /// Rewrite .flow files in the canonical layout (comments kept), or check that they are.
    Fmt(fmt::FmtArgs),
    /// Experiment interactively: evaluate expressions, define steps, run them.
    Repl(repl::ReplArgs),
    /// Print the documentation of the builtins, a stdlib module or your own module.
    Doc(doc::DocArgs),
    /// Continue an interrupted, failed, waiting or paused run without re-running finished
    /// steps (or re-run from a step with `--from`).
    Resume(resume::ResumeArgs),
    /// Approve a waiting approval gate of a run (then `flowc resume RUN`).
    Approve(resume::DecideArgs),
    /// Reject a waiting approval gate of a run (then `flowc resume RUN`).
    Reject(resume::DecideArgs),
    /// List the runs kept in the state directory (or prune them).
    Runs(runs::RunsArgs),
    /// Show one run's steps: status, attempts, durations, exit codes.
    Status(runs::RunArg),
    /// Print (or follow) the step logs of a run.
    Logs(runs::LogsArgs),
    /// Stop a live run from another terminal (as Ctrl-C would); resume it later.
    Cancel(runs::CancelArgs),
    /// Pause a live run: running steps finish, nothing new starts; resume it later.
    Pause(pause::PauseArgs),
    /// Undo a run's finished steps with their compensation steps, newest first.
    Rollback(rollback::RollbackArgs),
}

/// The stack of the thread every command runs on. Operator chains nest as deep as they
/// are long, and the parser, the checker, the formatter, the graph renderers and the
/// runtime's evaluator all recurse over them: whatever `flowc check` accepts must run,
/// plan, format and graph without overflowing, so every command gets the same stack.
/// It is reserved address space; only the pages a deep program touches are used.
pub const STACK_SIZE: usize = 512 * 1024 * 1024;

/// Runs flowc with these arguments and returns the exit code. The command runs on a thread
/// with a [`STACK_SIZE`] stack.
pub fn run(args: impl IntoIterator<Item = OsString>) -> u8 {
    let args: Vec<OsString> = args.into_iter().collect();
    let worker = std::thread::Builder::new()
        .name("flowc".to_string())
        .stack_size(STACK_SIZE)
        .spawn(move || run_here(args));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => out::exit_status(code),
        _ => {
            errln!("error: internal error; please report it");
            EXIT_USAGE
        }
    }
}

/// [`run`] on the calling thread.
fn run_here(args: Vec<OsString>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout, usage errors to stderr, through the output
            // layer (clap's own `print` ignores a failed write).
            let stream = if err.use_stderr() {
                out::Stream::Stderr
            } else {
                out::Stream::Stdout
            };
            let rendered = err.render();
            let text = if stream_is_terminal(stream) {
                rendered.ansi().to_string()
            } else {
                rendered.to_string()
            };
            out::write(stream, text.as_bytes());
            return if err.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_OK
            };
        }
    };
    let color = use_color(cli.color);
    match cli.command {
        Command::Check(args) => check::run(args, color),
        Command::Run(args) => run::run(args, color),
        Command::Graph(args) => graph::run(args, color),
        Command::Plan(args) => plan::run(args, color),
        Command::Explain(args) => explain::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Fmt(args) => fmt::run(args, color),
        Command::Repl(args) => repl::run(args, color),
        Command::Doc(args) => doc::run(args, color),
        Command::Resume(args) => resume::run(args, color),
        Command::Approve(args) => resume::decide(args, true),
        Command::Reject(args) => resume::decide(args, false),
        Command::Runs(args) => runs::runs(args),
        Command::Status(args) => runs::status(args),
        Command::Logs(args) => runs::logs(args),
        Command::Cancel(args) => runs::cancel(args),
        Command::Pause(args) => pause::run(args),
        Command::Rollback(args) => rollback::run(args, color),
    }
}

/// Whether `stream` is a terminal (clap's help is coloured there, as its own printing does).
fn stream_is_terminal(stream: out::Stream) -> bool {
    use std::io::IsTerminal;
    match stream {
        out::Stream::Stdout => std::io::stdout().is_terminal(),
        out::Stream::Stderr => std::io::stderr().is_terminal(),
    }
}

/// Whether stderr output gets colour.
fn use_color(choice: ColorChoice) -> bool {
    use std::io::IsTerminal;
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

/// Prints a run-time error with its code and help on stderr.
fn report_error(e: &dyn miette::Diagnostic) {
    errln!("{}", crate::diagnostics::render_error(None, e, true));
}

/// The terminal width for human output: `COLUMNS`, else 100.
fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&w: &usize| w >= 40)
        .unwrap_or(100)
}
