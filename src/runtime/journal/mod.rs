//! Durable runs: the journal a run appends its state changes to, what a journal says about
//! a run when it is read back, and what `flowc resume` keeps or runs again.
//!
//! A run lives in `<state dir>/<run id>/`: `journal` (records framed by
//! [`crate::snapshot`]), `lock` (held by the one driver of the run, with its pid, command
//! and start) and `request` (a pause or cancel asked of that driver). Records
//! go to a writer thread that batches every record queued while the previous fsync ran
//! into one write and one fsync (group commit); [`Journal::commit`] waits for its record to
//! be on disk, which is how the scheduler reports a step finished only once that is
//! durable.
//!
//! The promise: a step reported finished never runs again on resume; a step in flight at a
//! crash runs again (at least once) after its leftover process group is killed.

use crate::snapshot::SnapshotError;

/// The journal's file name in a run directory.
pub const JOURNAL: &str = "journal";
/// The lock file's name in a run directory.
pub const LOCK: &str = "lock";
/// The environment variable every step process gets: the run it belongs to. `flowc
/// resume` finds leftover processes of a crashed driver by it.
pub const RUN_ID_ENV: &str = "FLOW_RUN_ID";

/// A problem with a run's state directory.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum JournalError {
    /// The journal file cannot be read or is damaged.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Snapshot(#[from] SnapshotError),

    /// Another operator holds the run: its driver, or a pause or cancel under way.
    #[error("run `{run}` is held by `flowc {command}` (pid {pid}, since {since})")]
    #[diagnostic(code(E0506), help("{help}"))]
    Locked {
        /// The run id.
        run: String,
        /// The holder's command (`run`, `resume`, `rollback`, `pause`, `cancel`).
        command: String,
        /// The holder's pid (0 when it wrote none).
        pid: i32,
        /// Since when it holds the run.
        since: String,
        /// What the second operator can do.
        help: String,
    },

    /// No run matches.
    #[error("no run `{run}` in `{dir}`")]
    #[diagnostic(
        code(E0507),
        help("list the runs with `flowc runs`; runs are kept in `.flow/runs` of the directory flowc was run from (run it from there, or pass `--state-dir`)")
    )]
    NoSuchRun {
        /// The run id asked for (`--last` when none was).
        run: String,
        /// Where flowc looked.
        dir: String,
    },

    /// The run cannot go on.
    #[error("cannot resume run `{run}`: {reason}")]
    #[diagnostic(code(E0508), help("{help}"))]
    CannotResume {
        /// The run id.
        run: String,
        /// Why.
        reason: String,
        /// Advice.
        help: String,
    },

    /// `flowc approve` / `reject` named a step that is not an approval gate waiting.
    #[error("step `{step}` of run `{run}` is not waiting for approval")]
    #[diagnostic(
        code(E0509),
        help("`flowc status {run}` shows which steps are waiting")
    )]
    NotWaiting {
        /// The run id.
        run: String,
        /// The step named.
        step: String,
    },

    /// A new run's id is taken in the state directory (every id tried was).
    #[error("run id `{run}` is taken in `{dir}`")]
    #[diagnostic(
        code(E0590),
        help("run ids are the start time and 36 random bits, and flowc tries 16 of them; another program is creating directories in the state directory, or its clock is stuck: use another `--state-dir`")
    )]
    RunExists {
        /// The id that was taken.
        run: String,
        /// The state directory.
        dir: String,
    },
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

mod hold;
mod leftovers;
mod operate;
mod replay;
mod store;
mod verdicts;
mod writer;

pub use hold::*;
pub use leftovers::*;
pub use operate::*;
pub use replay::*;
pub use store::*;
pub use verdicts::*;
pub use writer::*;
