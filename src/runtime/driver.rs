//! The run driver: a compiled program, a workflow, its parameter values and run options
//! in; a [`Driven`] run (its [`Report`], whether `--timeout` stopped it, the journal's
//! state) out. It builds the tokio runtime the scheduler runs on, wires Ctrl-C and
//! `--timeout` to the run's interrupt, and waits for the journal to be complete.
//!
//! It does no terminal IO of its own: progress goes to an [`Observer`], approvals are
//! asked of an [`Approver`] (in [`Options`]), and what a person should hear about
//! (an interrupt, the timeout) goes to a [`Notice`] callback. `flowc run`, `flowc resume`
//! and the REPL's `:run` supply those; the library never prints, reads stdin or exits.
//!
//! This module also holds the exit codes every front end uses, and reads the `.flow` files
//! they compile (text must be UTF-8 and not binary).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::eval::Value;
use super::journal::{self, RunLock};
use super::params::{self, Params};
use super::run::{self, Approver, Event, Observer, Options, Report, RunError, Status};
use crate::diagnostics::Diagnostics;
use crate::lower::Lowered;
use crate::snapshot::record::RunStarted;
use crate::snapshot::SnapshotError;
use crate::source::SourceId;

/// Success.
pub const EXIT_OK: u8 = 0;
/// Findings: errors in a checked file, warnings with `--deny-warnings`, or a workflow that
/// failed (or stopped at an approval gate).
pub const EXIT_FINDINGS: u8 = 1;
/// Bad usage or unreadable input.
pub const EXIT_USAGE: u8 = 2;
/// Interrupted (Ctrl-C, SIGINT): 128 + 2.
pub const EXIT_INTERRUPTED: u8 = 130;
/// Terminated (SIGTERM): 128 + 15.
pub const EXIT_TERMINATED: u8 = 143;
/// Hung up (SIGHUP): 128 + 1.
pub const EXIT_HANGUP: u8 = 129;

// ---------------------------------------------------------------------------------------
// Input files
// ---------------------------------------------------------------------------------------

// Reading a `.flow` file is the same for the root file and its imports, so the rules live
// beside the source map.
pub use crate::source::{read_source, source_from_bytes, InputError};

/// The parameter values of `workflow` of a compiled file: defaults, the vars file and
/// `--var` values of `inputs` (see [`params::Inputs::load`]) and `FLOW_VAR_name` (see
/// [`super::params`] for the precedence). On failure, the diagnostics of every bad input,
/// against the vars file or the file `root` (none when the workflow does not exist).
pub fn resolve_params(
    root: SourceId,
    lowered: &Lowered,
    workflow: &str,
    inputs: &params::Inputs,
) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let Some(params) = Params::of(&lowered.program, workflow) else {
        return Err(Diagnostics::new());
    };
    let env = |name: &str| std::env::var(name).ok();
    let consts = params::Constants::of(&lowered.program, &env);
    params::resolve(&params, inputs, &env, &consts)
        .map_err(|errors| params::diagnostics(errors, root))
}

// ---------------------------------------------------------------------------------------
// Driving a run
// ---------------------------------------------------------------------------------------

/// Something a person running the workflow should hear about, outside the run's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The run's `--timeout` passed: running steps are being stopped.
    TimedOut(Duration),
    /// `flowc pause` asked the run to pause: nothing new starts, running steps finish.
    Pausing {
        /// The pid of the `flowc pause` that asked.
        by: i32,
    },
    /// An interrupt (SIGINT, SIGTERM or SIGHUP) arrived; `count` is 1 for the first. The
    /// first stops the run gracefully; what later ones do is the caller's choice (`flowc
    /// run` kills every step process with [`super::process::kill_all_now`] and exits).
    Interrupted {
        /// How many interrupts so far.
        count: u32,
        /// Which signal this one was.
        by: Interrupt,
    },
}

/// Receives [`Notice`]s, on the driver's threads.
pub type Notify = Arc<dyn Fn(Notice) + Send + Sync>;

/// Everything a run needs once its inputs are known: shared by `flowc run`, `flowc
/// resume` and the REPL's `:run`.
pub struct Drive {
    /// The compiled file.
    pub lowered: Lowered,
    /// The workflow to run.
    pub workflow: String,
    /// Its parameter values.
    pub params: BTreeMap<String, Value>,
    /// How to run.
    pub options: Options,
    /// Stop the whole run after this long (`--timeout`).
    pub timeout: Option<Duration>,
}

/// A run the driver saw to its end.
#[derive(Debug)]
pub struct Driven {
    /// What became of the run and of every step.
    pub report: Report,
    /// Whether the run's `--timeout` stopped it.
    pub timed_out: bool,
    /// The first signal that interrupted it, if one did.
    pub interrupted: Option<Interrupt>,
    /// Whether it had a journal (it can be resumed).
    pub journaled: bool,
    /// The journal could not be completed: steps reported after this may not be durable.
    pub journal_error: Option<SnapshotError>,
    /// The run id.
    pub run_id: String,
    /// Where its step logs are.
    pub log_dir: PathBuf,
}

impl Driven {
    /// The exit code of the run: 0 it succeeded, or was skipped because another run held
    /// its concurrency group; 1 it failed, stopped at an approval gate,
    /// was stopped by `--timeout`, or its journal failed; 130, 143 or 129 a SIGINT,
    /// SIGTERM or SIGHUP interrupted it (the first signal's).
    pub fn exit_code(&self) -> u8 {
        if self.journal_error.is_some() {
            return EXIT_FINDINGS;
        }
        match self.report.status {
            // Skipped on purpose: another run of its concurrency group is at it.
            Status::Succeeded | Status::Skipped | Status::RolledBack => EXIT_OK,
            Status::Cancelled if self.timed_out => EXIT_FINDINGS,
            Status::Cancelled => self
                .interrupted
                .map_or(EXIT_INTERRUPTED, Interrupt::exit_code),
            _ => EXIT_FINDINGS,
        }
    }
}

/// Why a run could not be driven at all.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// The async runtime could not be built.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// The run could not start (its log directory, a binding).
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Runs a workflow to its end: progress to `observer`, notices to `notify`. The first
/// SIGINT, SIGTERM or SIGHUP (or the end of `timeout`) stops running steps, runs
/// compensation and `finally` steps, and ends the run `cancelled`. The run's lock is held
/// until its journal is complete. flowc becomes a child subreaper for the run, and
/// whatever escaped its steps' process groups is killed when the run ends.
pub fn drive(
    launch: Drive,
    observer: Box<dyn Observer>,
    notify: Notify,
    lock: Option<RunLock>,
) -> Result<Driven, DriveError> {
    let Drive {
        lowered,
        workflow,
        params,
        mut options,
        timeout,
    } = launch;
    let log_dir = options.log_dir.clone();
    let run_id = options.run_id.clone();
    let journal = options.journal.clone();
    // One thread runs the scheduler and every step's task: a step costs a spawn, a few
    // reads and a reap, and handing those between threads (wake-ups, work stealing, TLB
    // flushes after each spawn) cost more CPU than they saved (benches/run.sh: about 25%
    // less CPU of flowc's own at 10,000 steps). The journal writes on its own thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DriveError::Runtime)?;
    // The first interrupt stops the run gracefully; the caller decides about later ones.
    let (canceller, signal) = super::process::cancellation();
    super::process::become_subreaper();
    listen_for_signals();
    // The environment and the caught signals as they are now, after the listener's
    // handlers are installed.
    super::spawn::refresh();
    // This thread runs the steps: it should not wait behind their processes for a CPU.
    let _slices = super::spawn::short_slices();
    let _orphans = Orphans;
    options.interrupt = Some(signal);
    let timed_out = Arc::new(AtomicBool::new(false));
    if let Some(limit) = timeout {
        let canceller = canceller.clone();
        let timed_out = Arc::clone(&timed_out);
        let notify = Arc::clone(&notify);
        runtime.spawn(async move {
            tokio::time::sleep(limit).await;
            notify(Notice::TimedOut(limit));
            timed_out.store(true, Ordering::SeqCst);
            canceller.cancel();
        });
    }
    // `flowc pause` files its request in the run directory, then sends SIGINT as `flowc
    // cancel` does: a SIGINT with a pause request not handled yet pauses the run.
    let (pauser, pause) = super::process::cancellation();
    options.pause = Some(pause);
    let asked = lock
        .as_ref()
        .map(|l| (l.dir().to_path_buf(), l.holder().clone()));
    let pause_asked = move |handled: Option<u64>| {
        let (dir, holder) = asked.as_ref()?;
        let request = journal::pending_request(dir, holder).filter(|r| r.command == "pause")?;
        (Some(request.since_ms) != handled).then_some(request)
    };
    let handled: Mutex<Option<u64>> = Mutex::new(None);
    if EARLY_PAUSE.swap(false, Ordering::SeqCst) {
        if let Some(request) = pause_asked(None) {
            *handled.lock().unwrap_or_else(|e| e.into_inner()) = Some(request.since_ms);
            notify(Notice::Pausing { by: request.pid });
            pauser.cancel();
        }
    }
    let interrupted: Arc<Mutex<Option<Interrupt>>> = Arc::default();
    let _listening = {
        let count = AtomicU32::new(0);
        let interrupted = Arc::clone(&interrupted);
        Listening::start(Arc::new(move |by| {
            if by == Interrupt::Int {
                let mut handled = handled.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(request) = pause_asked(*handled) {
                    *handled = Some(request.since_ms);
                    notify(Notice::Pausing { by: request.pid });
                    pauser.cancel();
                    return;
                }
            }
            let count = count.fetch_add(1, Ordering::SeqCst) + 1;
            if count == 1 {
                *interrupted.lock().unwrap_or_else(|e| e.into_inner()) = Some(by);
            }
            notify(Notice::Interrupted { count, by });
            canceller.cancel();
        }))
    };
    let scheduled = {
        let workflow = workflow.clone();
        runtime.spawn(async move { run::run(lowered, &workflow, params, options, observer).await })
    };
    let report = match runtime.block_on(scheduled) {
        Ok(report) => report,
        // Nothing cancels the task, so it panicked (a bug): the panic goes on from here,
        // as it would have with the scheduler on this thread.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    // Nothing is left to wait for: the step processes are reaped. Waiting for the idle
    // workers and the Ctrl-C listener to wind down would only delay the exit.
    runtime.shutdown_background();
    let journal_error = journal.as_ref().and_then(|j| j.finish().err());
    let first_interrupt = *interrupted.lock().unwrap_or_else(|e| e.into_inner());
    drop(lock);
    Ok(Driven {
        report: report?,
        timed_out: timed_out.load(Ordering::SeqCst),
        interrupted: first_interrupt,
        journaled: journal.is_some(),
        journal_error,
        run_id,
        log_dir,
    })
}

// ---------------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------------

/// A signal that interrupts a run: the first stops it gracefully (running steps get
/// SIGTERM, then SIGKILL after the grace period; compensation and `finally` steps run;
/// the run ends `cancelled`), a second one of any of them is the caller's to handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT: Ctrl-C, or `flowc cancel`.
    Int,
    /// SIGTERM: what CI runners, systemd, `docker stop` and `timeout` send.
    Term,
    /// SIGHUP: the terminal or ssh session closed. Left alone when flowc was started with
    /// it ignored (`nohup`).
    Hup,
}

impl Interrupt {
    /// The exit code of a run it stopped: 128 plus the signal's number (130, 143, 129).
    pub fn exit_code(self) -> u8 {
        match self {
            Interrupt::Int => EXIT_INTERRUPTED,
            Interrupt::Term => EXIT_TERMINATED,
            Interrupt::Hup => EXIT_HANGUP,
        }
    }

    /// The signal's name (`SIGTERM`).
    pub fn name(self) -> &'static str {
        match self {
            Interrupt::Int => "SIGINT",
            Interrupt::Term => "SIGTERM",
            Interrupt::Hup => "SIGHUP",
        }
    }
}

/// What the signal listener does with an interrupt while a run is being driven.
type OnInterrupt = Arc<dyn Fn(Interrupt) + Send + Sync>;

/// The run being driven now, if any: where the listener sends interrupts.
static ON_INTERRUPT: Mutex<Option<OnInterrupt>> = Mutex::new(None);

/// A pause asked (by `flowc pause`) of this process before its run was being driven: the
/// run pauses as soon as it starts.
static EARLY_PAUSE: AtomicBool = AtomicBool::new(false);

/// Starts (once per process) the thread that listens for SIGINT, SIGTERM and SIGHUP, and
/// waits until its handlers are installed. A signal goes to the run being driven; with
/// none, flowc exits with the signal's code, as it would have without a handler, except
/// for a SIGINT that `flowc pause` sent to the driver of a run that has not started yet.
/// A driver calls this before it takes its run's lock, so that a pause is never taken for
/// an interrupt.
pub fn listen_for_signals() {
    static STARTED: OnceLock<bool> = OnceLock::new();
    STARTED.get_or_init(|| {
        let (ready, installed) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("flowc-signals".to_string())
            .spawn(move || listener(&ready));
        spawned.is_ok() && installed.recv().unwrap_or(false)
    });
}

/// The listener thread's body: tells `ready` whether its handlers are installed, then
/// hands each signal to [`ON_INTERRUPT`].
fn listener(ready: &std::sync::mpsc::Sender<bool>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    else {
        let _ = ready.send(false);
        return;
    };
    runtime.block_on(async {
        let streams = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            // Under `nohup`, a hang-up is not ours to act on.
            (!super::spawn::ignored(libc::SIGHUP)).then(|| signal(SignalKind::hangup())),
        );
        let (Ok(mut int), Ok(mut term), hup) = streams else {
            let _ = ready.send(false);
            return;
        };
        let mut hup = hup.and_then(Result::ok);
        let _ = ready.send(true);
        loop {
            let got = tokio::select! {
                Some(()) = int.recv() => Interrupt::Int,
                Some(()) = term.recv() => Interrupt::Term,
                Some(()) = async {
                    match hup.as_mut() {
                        Some(h) => h.recv().await,
                        None => std::future::pending().await,
                    }
                } => Interrupt::Hup,
                else => return,
            };
            // Held while the handler runs: a run that ends meanwhile waits for it (a
            // handler that exits the process then exits before the run's own end).
            let handler = ON_INTERRUPT.lock().unwrap_or_else(|e| e.into_inner());
            match handler.as_ref() {
                Some(handler) => handler(got),
                None if got == Interrupt::Int && journal::pause_requested_here() => {
                    EARLY_PAUSE.store(true, Ordering::SeqCst);
                }
                None => {
                    super::process::kill_orphans_blocking(None);
                    std::process::exit(i32::from(got.exit_code()));
                }
            }
        }
    });
}

/// Sends interrupts to a run while it is driven; clears itself when dropped.
struct Listening;

impl Listening {
    fn start(handler: OnInterrupt) -> Listening {
        *ON_INTERRUPT.lock().unwrap_or_else(|e| e.into_inner()) = Some(handler);
        Listening
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        *ON_INTERRUPT.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Kills what escaped the run's steps when the run ends however it ends (a panic too).
struct Orphans;

impl Drop for Orphans {
    fn drop(&mut self) {
        super::process::kill_orphans_blocking(None);
    }
}

/// Gives a new run a journal in the state directory (`state_dir`, else
/// `FLOWC_STATE_DIR`, else `./.flow/runs`) recording its file, workflow, inputs and
/// options, unless journals are switched off (`FLOWC_JOURNAL=off`). Returns the run's
/// lock, held by this driver until the run ends.
pub fn start_journal(
    options: &mut Options,
    file: &Path,
    lowered: &Lowered,
    workflow: &str,
    params: &BTreeMap<String, Value>,
    state_dir: Option<&Path>,
) -> Result<Option<RunLock>, journal::JournalError> {
    if journal::disabled() {
        return Ok(None);
    }
    let started = RunStarted {
        run_id: options.run_id.clone(),
        file: absolute(file),
        workflow: workflow.to_string(),
        inputs: params
            .iter()
            .map(|(k, v)| (k.clone(), journal::to_val(v)))
            .collect(),
        max_parallel: u32::try_from(options.max_parallel).unwrap_or(u32::MAX),
        approve_all: options.approve_all,
        approve: options.approve.clone(),
        log_dir: absolute(&options.log_dir),
        workdir: absolute(&options.workdir),
        steps: lowered
            .graphs
            .iter()
            .find(|g| g.workflow == workflow)
            .map_or(0, |g| g.graph.node_count() as u32),
        at_ms: journal::now_ms(),
    };
    let root = state_root(state_dir);
    let mut started = started;
    // The id is unique by construction: its directory is created exclusively, and an id
    // that is taken already gets a new one (with 36 random bits, that takes a collision
    // within one millisecond).
    let mut tries = 1;
    let (lock, journal) = loop {
        match journal::create(&root, started.clone()) {
            Err(journal::JournalError::RunExists { .. }) if tries < RUN_ID_TRIES => {
                tries += 1;
                let fresh = new_run_id();
                if options.log_dir == default_log_dir(&options.run_id) {
                    options.log_dir = default_log_dir(&fresh);
                    started.log_dir = absolute(&options.log_dir);
                }
                options.run_id = fresh.clone();
                started.run_id = fresh;
            }
            created => break created?,
        }
    };
    record_checkpoints(&journal, lowered, workflow);
    options.journal = Some(Arc::new(journal));
    Ok(Some(lock))
}

/// The checkpoint labels of `workflow`, `(label, step)` in step order.
pub fn checkpoints(lowered: &Lowered, workflow: &str) -> Vec<(String, String)> {
    lowered
        .program
        .workflow(workflow)
        .map(|w| {
            w.steps
                .iter()
                .filter_map(|s| Some((s.checkpoint.as_ref()?.label.clone(), s.name.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// Records the workflow's checkpoint labels (if it has any) for `flowc status`, as the
/// driver that takes the run over compiled it.
pub fn record_checkpoints(journal: &journal::Journal, lowered: &Lowered, workflow: &str) {
    let labels = checkpoints(lowered, workflow);
    if !labels.is_empty() {
        journal.record(crate::snapshot::record::Record::Checkpoints { labels });
    }
}

/// How the REPL's `:run` runs a compiled workflow (not journaled: a REPL session has no
/// run to resume).
#[derive(Clone, Debug, Default)]
pub struct Launch {
    /// Where step logs go, instead of `./.flow/logs/<run id>`.
    pub log_dir: Option<PathBuf>,
    /// At most this many step processes at once (default: the number of cores).
    pub max_parallel: Option<usize>,
    /// Approve every `approve` step.
    pub approve_all: bool,
    /// Approve these `approve` steps.
    pub approve: Vec<String>,
    /// One JSON event per line instead of progress lines.
    pub json_events: bool,
    /// Stop the run after this long.
    pub timeout: Option<Duration>,
    /// Whether a second Ctrl-C exits the process at once, or is left to the caller.
    pub second_interrupt_exits: bool,
    /// Keep every step's result record in the report ([`Options::keep_records`]).
    pub keep_records: bool,
}

impl Launch {
    /// The options of an unjournaled run with a new id, asking `approver` at gates that are
    /// not pre-approved (without one, the run stops at them).
    pub fn options(&self, approver: Option<Arc<dyn Approver>>) -> Options {
        let run_id = new_run_id();
        let log_dir = self
            .log_dir
            .clone()
            .unwrap_or_else(|| default_log_dir(&run_id));
        Options {
            max_parallel: self.max_parallel.unwrap_or_else(cores),
            approve_all: self.approve_all,
            approve: self.approve.clone(),
            log_dir,
            workdir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            grace: Duration::from_secs(5),
            run_id,
            approver,
            interrupt: None,
            journal: None,
            resume: None,
            pause: None,
            undo: None,
            keep_records: self.keep_records,
            groups: Some(super::group::dir(&state_root(None))),
        }
    }
}

/// Runs `workflow` with no progress shown and no approver, for a REPL session that has no
/// front end to show it: the exit code of `flowc run` and the report.
pub fn run_quietly(
    lowered: Lowered,
    workflow: &str,
    params: BTreeMap<String, Value>,
    launch: &Launch,
) -> (u8, Option<Report>) {
    struct Silent;
    impl Observer for Silent {
        fn event(&mut self, _: &Event) {}
    }
    let drive = Drive {
        lowered,
        workflow: workflow.to_string(),
        params,
        options: launch.options(None),
        timeout: launch.timeout,
    };
    match self::drive(drive, Box::new(Silent), Arc::new(|_| {}), None) {
        Ok(driven) => (driven.exit_code(), Some(driven.report)),
        Err(_) => (EXIT_USAGE, None),
    }
}

/// Where flowc keeps its state by default: `.flow/` in the directory it runs in (the
/// project directory, where steps run too), whatever directory the workflow file is in.
/// The run commands (`resume`, `runs`, `status`, ...) look there, so they find a run made
/// from the same directory.
pub fn project_dir() -> PathBuf {
    PathBuf::from(".")
}

/// The default log directory of a run: `./.flow/logs/<run id>`.
pub fn default_log_dir(run_id: &str) -> PathBuf {
    project_dir().join(".flow").join("logs").join(run_id)
}

/// The default state directory, as [`journal::state_root`] resolves it with `flag`.
pub fn state_root(flag: Option<&Path>) -> PathBuf {
    journal::state_root(flag, &project_dir())
}

/// The number of cores (the default `--max-parallel`), asked of the OS once: on Linux
/// the answer reads the process's cgroup files.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// How many ids a new run tries before giving up (E0590).
const RUN_ID_TRIES: u32 = 16;

/// A new run id, `SECONDS-MMMRRRRRRRRR`: the start time in Unix seconds, a dash, then 12
/// hex digits: the millisecond within that second (3 digits, `000` to `3e7`) and 36
/// random bits. Ids sort by start time to the millisecond (as text too, until the year
/// 2286), read like a time stamp, and two runs started in the same millisecond share an
/// id with odds of one in 69 billion; the run's directory is created exclusively, so a
/// collision takes another id rather than sharing a run. A unique prefix names a run.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}-{:03x}{:09x}",
        now.as_secs(),
        now.subsec_millis(),
        fastrand::u64(..1 << 36)
    )
}

/// A path made absolute against the current directory, as text for the journal.
pub fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::FsLoader;
    use crate::source::{SourceFile, SourceMap};
    use std::sync::Mutex;

    /// Answers every gate with `yes` and remembers what it was asked.
    #[derive(Debug)]
    struct Fake {
        yes: bool,
        asked: Mutex<Vec<(String, String)>>,
    }

    impl Approver for Fake {
        fn approve(
            &self,
            step: &str,
            question: &str,
            _wait: Option<std::time::Duration>,
        ) -> crate::runtime::gate::Answer {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push((step.to_string(), question.to_string()));
            }
            match self.yes {
                true => crate::runtime::gate::Answer::Yes,
                false => crate::runtime::gate::Answer::No,
            }
        }
    }

    fn compiled(text: &str) -> Lowered {
        let mut sources = SourceMap::new();
        let id = sources.add(SourceFile::new("t.flow", None, text));
        crate::compile(&mut sources, id, &FsLoader).expect("the workflow compiles")
    }

    fn drive_with(approver: Option<Arc<dyn Approver>>, dir: &Path) -> Driven {
        let text = "workflow g {\n  step gate { approve \"ship it?\" }\n  step ship after gate { sleep 0s }\n}\n";
        let launch = Launch {
            log_dir: Some(dir.join("logs")),
            ..Launch::default()
        };
        struct Silent;
        impl Observer for Silent {
            fn event(&mut self, _: &Event) {}
        }
        let drive = Drive {
            lowered: compiled(text),
            workflow: "g".to_string(),
            params: BTreeMap::new(),
            options: launch.options(approver),
            timeout: None,
        };
        self::drive(drive, Box::new(Silent), Arc::new(|_| {}), None).expect("the run starts")
    }

    #[test]
    fn gates_are_decided_by_the_approver_and_wait_without_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let yes = Arc::new(Fake {
            yes: true,
            asked: Mutex::new(Vec::new()),
        });
        let driven = drive_with(Some(yes.clone()), dir.path());
        assert_eq!(driven.report.status, Status::Succeeded);
        assert_eq!(driven.exit_code(), EXIT_OK);
        assert_eq!(
            *yes.asked.lock().expect("lock"),
            [("gate".to_string(), "ship it?".to_string())]
        );
        let no = Arc::new(Fake {
            yes: false,
            asked: Mutex::new(Vec::new()),
        });
        let driven = drive_with(Some(no), dir.path());
        assert_eq!(driven.report.status, Status::Failed);
        assert_eq!(driven.exit_code(), EXIT_FINDINGS);
        let driven = drive_with(None, dir.path());
        assert_eq!(driven.report.status, Status::Waiting);
        assert_eq!(driven.exit_code(), EXIT_FINDINGS);
        let ship = driven.report.steps.iter().find(|s| s.name == "ship");
        assert!(ship.is_some_and(|s| s.status == Status::Waiting && !s.gate));
    }

    #[test]
    fn a_timeout_is_noticed_and_stops_the_run_with_exit_1() {
        let dir = tempfile::tempdir().expect("tempdir");
        let launch = Launch {
            log_dir: Some(dir.path().join("logs")),
            ..Launch::default()
        };
        struct Silent;
        impl Observer for Silent {
            fn event(&mut self, _: &Event) {}
        }
        let heard: Arc<Mutex<Vec<Notice>>> = Arc::default();
        let notify: Notify = {
            let heard = Arc::clone(&heard);
            Arc::new(move |n| {
                if let Ok(mut heard) = heard.lock() {
                    heard.push(n);
                }
            })
        };
        let drive = Drive {
            lowered: compiled("workflow w {\n  step long { sleep 30s }\n}\n"),
            workflow: "w".to_string(),
            params: BTreeMap::new(),
            options: launch.options(None),
            timeout: Some(Duration::from_millis(100)),
        };
        let started = std::time::Instant::now();
        let driven = self::drive(drive, Box::new(Silent), notify, None).expect("the run starts");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(driven.timed_out);
        assert_eq!(driven.report.status, Status::Cancelled);
        assert_eq!(driven.exit_code(), EXIT_FINDINGS);
        assert_eq!(
            *heard.lock().expect("lock"),
            [Notice::TimedOut(Duration::from_millis(100))]
        );
    }

    #[test]
    fn unreadable_and_binary_sources_are_refused_with_codes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = |r: Result<SourceFile, (String, InputError)>| {
            let (_, e) = r.expect_err("refused");
            miette::Diagnostic::code(&e).map(|c| c.to_string())
        };
        assert_eq!(err(read_source(dir.path())), Some("E0010".to_string()));
        let binary = dir.path().join("b.flow");
        std::fs::write(&binary, b"workflow\0").expect("write");
        assert_eq!(err(read_source(&binary)), Some("E0008".to_string()));
        let text = dir.path().join("t.flow");
        std::fs::write(&text, "workflow w {}\n").expect("write");
        assert!(read_source(&text).is_ok());
    }
}
