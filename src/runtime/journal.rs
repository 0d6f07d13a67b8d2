//! Durable runs: the journal a run appends its state changes to, what a journal says about
//! a run when it is read back, and what `flowc resume` keeps or runs again.
//!
//! A run lives in `<state dir>/<run id>/`: `journal` (records framed by
//! [`crate::snapshot`]), `lock` (held by the one driver of the run, with its pid). Records
//! go to a writer thread that batches every record queued while the previous fsync ran
//! into one write and one fsync (group commit); [`Journal::commit`] waits for its record to
//! be on disk, which is how the scheduler reports a step finished only once that is
//! durable.
//!
//! The promise: a step reported finished never runs again on resume; a step in flight at a
//! crash runs again (at least once) after its leftover process group is killed.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::graph::ExecGraph;
use crate::runtime::eval::Value;
use crate::snapshot::record::{Record, RunStarted, Val};
use crate::snapshot::{self, Appender, SnapshotError, SnapshotWarning};
use crate::typed::Workflow;

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

    /// Another driver holds the run.
    #[error("run `{run}` is being driven by another flowc (pid {pid})")]
    #[diagnostic(
        code(E0506),
        help("wait for it to finish, or stop it with `flowc cancel {run}`; a killed driver releases the run at once")
    )]
    Locked {
        /// The run id.
        run: String,
        /// The holder's pid, when it wrote one.
        pid: String,
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
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// The shortest time between two batches (one write, and one fsync if a record needs it)
/// of the journal. Records queued in between wait for the next batch, at most this long
/// after the last, and share it. Only reporting waits: the scheduler never does, so this
/// bounds how late a finished step is shown, not the run. A record somebody awaits
/// ([`Journal::commit`]) is written at once.
const SYNC_GAP: std::time::Duration = std::time::Duration::from_millis(5);

/// What happens once a message's bytes (if any) are on disk.
enum Then {
    Nothing,
    Wake(tokio::sync::oneshot::Sender<()>),
    Call(Box<dyn FnOnce() + Send>),
}

struct Msg {
    bytes: Vec<u8>,
    then: Then,
    /// Whether these bytes need an fsync before the batch is done. A step's start does
    /// not: resume finds a step whose start record was lost by its processes'
    /// `FLOW_RUN_ID`, and runs it again as an in-flight step either way.
    sync: bool,
}

/// The appending end of a run's journal, shared by every task of the run.
pub struct Journal {
    tx: Mutex<Option<std::sync::mpsc::Sender<Msg>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The writer thread, to unpark when someone waits for it (it parks between batches).
    parked: std::thread::Thread,
    error: Arc<Mutex<Option<SnapshotError>>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

impl Journal {
    /// Starts the writer thread on an open journal.
    pub fn start(appender: Appender) -> Journal {
        Journal::start_syncing(appender, Vec::new())
    }

    /// Starts the writer thread on a journal that is not durable yet: before anything
    /// else, the thread fsyncs the file and then each of `dirs` (those whose new entries
    /// lead to it). Everything reported waits for the writer, so nothing is reported
    /// before the journal itself is on disk, and the run does not wait for it.
    pub fn start_syncing(mut appender: Appender, dirs: Vec<PathBuf>) -> Journal {
        let (tx, rx) = std::sync::mpsc::channel::<Msg>();
        let error: Arc<Mutex<Option<SnapshotError>>> = Arc::new(Mutex::new(None));
        let err = Arc::clone(&error);
        let writer = std::thread::spawn(move || {
            if !dirs.is_empty() {
                let synced = appender
                    .sync_all()
                    .and_then(|()| dirs.iter().try_for_each(|d| snapshot::sync_dir(d)));
                if let Err(e) = synced {
                    if let Ok(mut slot) = err.lock() {
                        slot.get_or_insert(e);
                    }
                }
            }
            let mut buf = Vec::new();
            let mut after: Vec<Then> = Vec::new();
            let mut last_batch: Option<std::time::Instant> = None;
            while let Ok(first) = rx.recv() {
                // Everything queued while the last batch was written shares this one, and
                // so does everything queued until SYNC_GAP after it: many steps finishing
                // close together cost one write and one fsync, not one each. While it
                // waits, the thread is parked, so queueing a record does not wake it.
                let mut next = Some(first);
                let mut sync = false;
                // Someone is waiting for this batch (a commit, which also unparks us):
                // no gap.
                let mut waited = false;
                loop {
                    while let Some(msg) = next {
                        buf.extend_from_slice(&msg.bytes);
                        sync |= msg.sync && !msg.bytes.is_empty();
                        waited |= matches!(msg.then, Then::Wake(_));
                        after.push(msg.then);
                        next = rx.try_recv().ok();
                    }
                    let due = match (waited, last_batch) {
                        (false, Some(at)) => at + SYNC_GAP,
                        _ => break,
                    };
                    let now = std::time::Instant::now();
                    if now >= due {
                        break;
                    }
                    std::thread::park_timeout(due - now);
                    match rx.try_recv() {
                        Ok(msg) => next = Some(msg),
                        Err(std::sync::mpsc::TryRecvError::Empty) => {}
                        Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                    }
                }
                if !buf.is_empty() {
                    if let Err(e) = appender.append_then(&buf, sync) {
                        if let Ok(mut slot) = err.lock() {
                            slot.get_or_insert(e);
                        }
                    }
                }
                last_batch = Some(std::time::Instant::now());
                buf.clear();
                // In queue order: whatever was queued after a record happens after it
                // is durable.
                for then in after.drain(..) {
                    match then {
                        Then::Nothing => {}
                        Then::Wake(w) => {
                            let _ = w.send(());
                        }
                        Then::Call(f) => f(),
                    }
                }
            }
        });
        Journal {
            tx: Mutex::new(Some(tx)),
            parked: writer.thread().clone(),
            writer: Mutex::new(Some(writer)),
            error,
        }
    }

    fn queue(&self, msg: Msg) {
        if let Ok(tx) = self.tx.lock() {
            if let Some(tx) = tx.as_ref() {
                let _ = tx.send(msg);
            }
        }
    }

    fn send(&self, record: &Record, then: Then) {
        self.send_with(record, then, true);
    }

    fn send_with(&self, record: &Record, then: Then, sync: bool) {
        let bytes = match snapshot::encode(record) {
            Ok(b) => b,
            Err(e) => {
                if let Ok(mut slot) = self.error.lock() {
                    slot.get_or_insert(e);
                }
                Vec::new()
            }
        };
        self.queue(Msg { bytes, then, sync });
    }

    /// Queues a record; it reaches the disk with the next batch.
    pub fn record(&self, record: &Record) {
        self.send(record, Then::Nothing);
    }

    /// Queues a record that needs no fsync of its own: it is written with the next batch
    /// and made durable by the next fsync (a step's start).
    pub fn record_lazily(&self, record: &Record) {
        self.send_with(record, Then::Nothing, false);
    }

    /// Calls `f` on the writer thread once every record queued before it is on disk.
    /// This is how a run reports: an event queued after a step's finish record is
    /// shown only once that record is durable, without holding up the scheduler.
    pub fn then(&self, f: impl FnOnce() + Send + 'static) {
        self.queue(Msg {
            bytes: Vec::new(),
            then: Then::Call(Box::new(f)),
            sync: false,
        });
    }

    /// Queues a record and waits until it is on disk (or writing failed: see
    /// [`Journal::finish`]).
    pub async fn commit(&self, record: &Record) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(record, Then::Wake(tx));
        self.parked.unpark();
        let _ = rx.await;
    }

    /// Queues a record and waits for the disk, from outside the async runtime.
    pub fn commit_blocking(&self, record: &Record) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(record, Then::Wake(tx));
        self.parked.unpark();
        let _ = rx.blocking_recv();
    }

    /// Writes what is queued, stops the writer, and reports the first write error.
    pub fn finish(&self) -> Result<(), SnapshotError> {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        self.parked.unpark();
        if let Ok(mut w) = self.writer.lock() {
            if let Some(w) = w.take() {
                let _ = w.join();
            }
        }
        match self.error.lock() {
            Ok(mut e) => e.take().map_or(Ok(()), Err),
            Err(_) => Ok(()),
        }
    }
}

/// A value as the journal stores it.
pub fn to_val(v: &Value) -> Val {
    match v {
        Value::Str(s) => Val::Str(s.clone()),
        Value::Int(i) => Val::Int(*i),
        Value::Float(f) => Val::Float(*f),
        Value::Bool(b) => Val::Bool(*b),
        Value::Duration(d) => Val::Duration(*d),
        Value::Secret(s) => Val::Secret(s.clone()),
        Value::List(items) => Val::List(items.iter().map(to_val).collect()),
        Value::Map(m) => Val::Map(m.iter().map(|(k, v)| (k.clone(), to_val(v))).collect()),
        Value::Record(m) => Val::Record(m.iter().map(|(k, v)| (k.clone(), to_val(v))).collect()),
    }
}

/// A stored value back as a run-time value.
pub fn from_val(v: &Val) -> Value {
    match v {
        Val::Str(s) => Value::Str(s.clone()),
        Val::Int(i) => Value::Int(*i),
        Val::Float(f) => Value::Float(*f),
        Val::Bool(b) => Value::Bool(*b),
        Val::Duration(d) => Value::Duration(*d),
        Val::Secret(s) => Value::Secret(s.clone()),
        Val::List(items) => Value::List(items.iter().map(from_val).collect()),
        Val::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), from_val(v))).collect()),
        Val::Record(m) => Value::Record(m.iter().map(|(k, v)| (k.clone(), from_val(v))).collect()),
    }
}

// ---------------------------------------------------------------------------------------
// Reading back
// ---------------------------------------------------------------------------------------

/// A step's last finish, as the journal has it.
#[derive(Clone, Debug)]
pub struct Finished {
    /// `succeeded`, `failed`, `cancelled` or `waiting`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// Milliseconds.
    pub duration_ms: u64,
    /// Exit codes per instance.
    pub exit_codes: Vec<i32>,
    /// Why it failed.
    pub reason: Option<String>,
    /// The result record.
    pub record: Value,
    /// Its fingerprint then.
    pub fingerprint: u64,
    /// Unix milliseconds.
    pub at_ms: u64,
}

/// A fan-out instance that finished successfully before the step as a whole did.
#[derive(Clone, Debug)]
pub struct InstanceDone {
    /// Exit code.
    pub exit_code: i32,
    /// Its stdout.
    pub stdout: String,
    /// Attempts made.
    pub attempts: u32,
    /// Milliseconds.
    pub duration_ms: u64,
    /// Declared outputs.
    pub outputs: BTreeMap<String, Value>,
    /// Its step's fingerprint then.
    pub fingerprint: u64,
}

/// What a journal says about a run.
#[derive(Debug)]
pub struct RunState {
    /// The run directory.
    pub dir: PathBuf,
    /// How it started.
    pub started: RunStarted,
    /// The last finish of each step, by step name.
    pub finished: HashMap<String, Finished>,
    /// Steps whose last record is a skip, with the reason.
    pub skipped: HashMap<String, String>,
    /// Fan-out instances finished while their step was still running.
    pub instances: HashMap<String, InstanceDone>,
    /// Failed attempts of instances that have not finished, by instance name.
    pub failed_attempts: HashMap<String, u32>,
    /// Started attempts not followed by a finish: instance name to (attempt, pgid).
    pub in_flight: HashMap<String, (u32, i32)>,
    /// Approval decisions by step (or instance) name.
    pub approvals: HashMap<String, bool>,
    /// How the last driver ended, if it did: status and Unix milliseconds.
    pub ended: Option<(String, u64)>,
    /// The time of the last record with a time.
    pub last_ms: u64,
    /// The pid of the last driver.
    pub driver: Option<u32>,
    /// What loading recovered from.
    pub warnings: Vec<SnapshotWarning>,
    /// The length of the valid part of the journal.
    pub valid_len: u64,
    /// Every record, in order.
    pub records: Vec<Record>,
}

/// The step a record's instance name belongs to: `test[3]` is an instance of `test`.
pub fn step_of(label: &str) -> &str {
    match label.rfind('[') {
        Some(i) if label.ends_with(']') => &label[..i],
        _ => label,
    }
}

impl RunState {
    /// Reads a run directory's journal.
    /// The workflow file of the run in `dir`, from the journal's first record alone (so
    /// that `flowc resume` can compile it while the rest of the journal loads). `None`
    /// when that record cannot be read: [`RunState::load`] then says why.
    pub fn peek_file(dir: &Path) -> Option<PathBuf> {
        match snapshot::load_first::<Record>(&dir.join(JOURNAL)) {
            Ok(Some(Record::RunStarted(started))) => Some(PathBuf::from(started.file)),
            _ => None,
        }
    }

    pub fn load(dir: &Path) -> Result<RunState, JournalError> {
        let loaded = snapshot::load::<Record>(&dir.join(JOURNAL))?;
        let run = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut records = loaded.records.into_iter();
        let Some(Record::RunStarted(started)) = records.next() else {
            return Err(JournalError::CannotResume {
                run,
                reason: "its journal does not start with the run's inputs".to_string(),
                help: "the run never got going; start it again with `flowc run`".to_string(),
            });
        };
        let mut state = RunState {
            dir: dir.to_path_buf(),
            last_ms: started.at_ms,
            started,
            finished: HashMap::default(),
            skipped: HashMap::default(),
            instances: HashMap::default(),
            failed_attempts: HashMap::default(),
            in_flight: HashMap::default(),
            approvals: HashMap::default(),
            ended: None,
            driver: None,
            warnings: loaded.warnings,
            valid_len: loaded.valid_len,
            records: Vec::new(),
        };
        let rest: Vec<Record> = records.collect();
        for r in &rest {
            state.apply(r);
        }
        state.records = rest;
        Ok(state)
    }

    fn apply(&mut self, r: &Record) {
        match r {
            Record::RunStarted(_) => {}
            Record::Driver { pid, at_ms } => {
                self.driver = Some(*pid);
                self.ended = None;
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::StepStarted {
                step,
                attempt,
                pgid,
                at_ms,
            } => {
                self.in_flight.insert(step.clone(), (*attempt, *pgid));
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::AttemptFailed { step, attempt, .. } => {
                self.in_flight.remove(step);
                let n = self.failed_attempts.entry(step.clone()).or_insert(0);
                *n = (*n).max(*attempt);
            }
            Record::InstanceFinished {
                step,
                exit_code,
                stdout,
                attempts,
                duration_ms,
                outputs,
                fingerprint,
            } => {
                self.in_flight.remove(step);
                self.failed_attempts.remove(step);
                self.instances.insert(
                    step.clone(),
                    InstanceDone {
                        exit_code: *exit_code,
                        stdout: stdout.clone(),
                        attempts: *attempts,
                        duration_ms: *duration_ms,
                        outputs: outputs
                            .iter()
                            .map(|(k, v)| (k.clone(), from_val(v)))
                            .collect(),
                        fingerprint: *fingerprint,
                    },
                );
            }
            Record::StepFinished {
                step,
                status,
                attempts,
                duration_ms,
                exit_codes,
                reason,
                record,
                fingerprint,
                at_ms,
            } => {
                let of_step = |label: &String| step_of(label) == step;
                self.in_flight.retain(|l, _| !of_step(l));
                self.failed_attempts.retain(|l, _| !of_step(l));
                self.instances.retain(|l, _| !of_step(l));
                self.skipped.remove(step);
                self.finished.insert(
                    step.clone(),
                    Finished {
                        status: status.clone(),
                        attempts: *attempts,
                        duration_ms: *duration_ms,
                        exit_codes: exit_codes.clone(),
                        reason: reason.clone(),
                        record: from_val(record),
                        fingerprint: *fingerprint,
                        at_ms: *at_ms,
                    },
                );
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::StepSkipped { step, reason } => {
                self.finished.remove(step);
                self.skipped.insert(step.clone(), reason.clone());
            }
            Record::Approval {
                step,
                approved,
                at_ms,
            } => {
                self.approvals.insert(step.clone(), *approved);
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::RunFinished { status, at_ms } => {
                self.ended = Some((status.clone(), *at_ms));
                self.in_flight.clear();
                self.last_ms = self.last_ms.max(*at_ms);
            }
        }
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.started.run_id
    }

    /// The run's status: how its last driver ended, `running` while a driver holds it,
    /// `interrupted` when its driver died.
    pub fn status(&self) -> String {
        match &self.ended {
            Some((s, _)) => s.clone(),
            None if is_locked(&self.dir) => "running".to_string(),
            None => "interrupted".to_string(),
        }
    }

    /// Steps that succeeded.
    pub fn succeeded(&self) -> usize {
        self.finished
            .values()
            .filter(|f| f.status == "succeeded")
            .count()
    }
}

// ---------------------------------------------------------------------------------------
// Resuming
// ---------------------------------------------------------------------------------------

/// What resume does with one step, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Finished before and unchanged: its result is restored, it does not run.
    Keep,
    /// Skipped before by a condition and unchanged upstream: decided again (it will be
    /// skipped again).
    Redecide,
    /// It runs (again), for this reason.
    Run(String),
}

/// The per-step verdicts of resuming `state` with the workflow as it is now, in step
/// order. A step is kept when it succeeded, its fingerprint is unchanged, and every step
/// it waits for is kept (or skipped again): a change re-runs the step and everything
/// downstream.
pub fn plan(
    state: &RunState,
    info: &Workflow,
    graph: &ExecGraph,
    fingerprints: &[u64],
) -> Vec<Verdict> {
    use petgraph::visit::EdgeRef;
    let n = info.steps.len();
    let order = petgraph::algo::toposort(&graph.graph, None)
        .map(|o| o.into_iter().map(|x| x.index()).collect::<Vec<_>>())
        .unwrap_or_else(|_| (0..n).collect());
    let mut verdicts: Vec<Option<Verdict>> = vec![None; n];
    let mut order = order;
    // `finally` steps wait for everything ordinary: decide them last.
    order.sort_by_key(|&i| info.steps.get(i).is_some_and(|s| s.finally));
    for i in order {
        let Some(step) = info.steps.get(i) else {
            continue;
        };
        let mut preds: Vec<usize> = graph
            .graph
            .edges_directed(
                petgraph::graph::NodeIndex::new(i),
                petgraph::Direction::Incoming,
            )
            .map(|e| e.source().index())
            .collect();
        if step.finally {
            preds.extend((0..n).filter(|&j| !info.steps[j].finally));
        }
        let upstream = preds.iter().find_map(|&p| match &verdicts[p] {
            Some(Verdict::Run(_)) => Some(info.steps[p].name.clone()),
            _ => None,
        });
        let fp = fingerprints.get(i).copied().unwrap_or(0);
        let verdict = match (
            state.finished.get(&step.name),
            state.skipped.get(&step.name),
        ) {
            (Some(f), _) if f.status == "succeeded" && f.fingerprint != fp => {
                Verdict::Run("its definition or inputs changed".to_string())
            }
            _ if upstream.is_some() => Verdict::Run(format!(
                "`{}` runs again upstream",
                upstream.unwrap_or_default()
            )),
            (Some(f), _) if f.status == "succeeded" => Verdict::Keep,
            (Some(f), _) => Verdict::Run(
                match f.status.as_str() {
                    "waiting" => "it was waiting for approval",
                    "cancelled" => "it was stopped before it finished",
                    _ => "it failed before",
                }
                .to_string(),
            ),
            (None, Some(_)) => Verdict::Redecide,
            (None, None) if state.in_flight.keys().any(|l| step_of(l) == step.name) => {
                Verdict::Run("it was running when the run stopped".to_string())
            }
            (None, None) => Verdict::Run("it had not run yet".to_string()),
        };
        verdicts[i] = Some(verdict);
    }
    verdicts
        .into_iter()
        .map(|v| v.unwrap_or(Verdict::Run("it had not run yet".to_string())))
        .collect()
}

/// What the scheduler needs to resume a run.
#[derive(Debug, Default)]
pub struct Resume {
    /// Steps to restore without running, by step name.
    pub keep: HashMap<String, Finished>,
    /// Fan-out instances to restore, by instance name.
    pub instances: HashMap<String, InstanceDone>,
    /// Failed attempts to count, by instance name.
    pub attempts: HashMap<String, u32>,
    /// Approval decisions.
    pub approvals: HashMap<String, bool>,
    /// The fingerprints of the workflow's steps as it is now, in step order.
    pub fingerprints: Vec<u64>,
}

impl Resume {
    /// The restore set for these verdicts.
    pub fn new(
        state: &RunState,
        info: &Workflow,
        verdicts: &[Verdict],
        fingerprints: &[u64],
    ) -> Resume {
        let mut r = Resume {
            approvals: state.approvals.clone(),
            fingerprints: fingerprints.to_vec(),
            ..Resume::default()
        };
        for ((step, v), fp) in info.steps.iter().zip(verdicts).zip(fingerprints) {
            match v {
                Verdict::Keep => {
                    if let Some(f) = state.finished.get(&step.name) {
                        r.keep.insert(step.name.clone(), f.clone());
                    }
                }
                // Only an interrupted step keeps its finished instances and attempt
                // counts: a changed one starts afresh.
                Verdict::Run(_) if !state.finished.contains_key(&step.name) => {
                    let mine = |l: &String| step_of(l) == step.name;
                    for (l, d) in state
                        .instances
                        .iter()
                        .filter(|(l, d)| mine(l) && d.fingerprint == *fp)
                    {
                        r.instances.insert(l.clone(), d.clone());
                    }
                    for (l, n) in state.failed_attempts.iter().filter(|(l, _)| mine(l)) {
                        r.attempts.insert(l.clone(), *n);
                    }
                }
                _ => {}
            }
        }
        r
    }
}

// ---------------------------------------------------------------------------------------
// Run directories
// ---------------------------------------------------------------------------------------

/// The state directory: `--state-dir`, else `FLOWC_STATE_DIR`, else `.flow/runs` in
/// `base` (the project directory: the one flowc runs in, where steps run too).
pub fn state_root(flag: Option<&Path>, base: &Path) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    match std::env::var_os("FLOWC_STATE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => base.join(".flow").join("runs"),
    }
}

/// Whether the journal is switched off (`FLOWC_JOURNAL=off`, for benchmarks only).
pub fn disabled() -> bool {
    std::env::var("FLOWC_JOURNAL").is_ok_and(|v| v == "off")
}

/// The exclusive hold of one driver on a run directory. The kernel releases it when the
/// holder exits, however it exits, so a lock is never stale.
#[derive(Debug)]
pub struct RunLock {
    _lock: nix::fcntl::Flock<std::fs::File>,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl Fn(std::io::Error) -> JournalError + 'a {
    move |e| {
        JournalError::Snapshot(SnapshotError::Io {
            action,
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }
}

/// Takes the run directory's lock, or fails at once naming the holder.
pub fn lock(dir: &Path) -> Result<RunLock, JournalError> {
    use std::io::{Read, Seek, Write};
    let path = dir.join(LOCK);
    // A driver that was just killed may have forked a step process that has not reached
    // its exec yet, and holds the lock for that instant: when the recorded holder is dead,
    // wait a moment. A live holder is refused at once.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("open", &path))?;
        let (mut file, _) =
            match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
                Ok(mut lock) => {
                    let _ = lock.set_len(0);
                    let _ = lock.seek(std::io::SeekFrom::Start(0));
                    let _ = write!(lock, "{}", std::process::id());
                    return Ok(RunLock { _lock: lock });
                }
                Err(held) => held,
            };
        let mut pid = String::new();
        let _ = file.read_to_string(&mut pid);
        let holder_alive = pid.trim().parse::<i32>().is_ok_and(process_alive);
        if !holder_alive && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        return Err(JournalError::Locked {
            run: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            pid: pid.trim().to_string(),
        });
    }
}

/// Whether a process is alive (a zombie is not).
fn process_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 1..].trim_start().to_string()))
        .is_some_and(|rest| !rest.starts_with(['Z', 'X']))
}

/// Whether a driver holds the run, and its pid.
pub fn holder(dir: &Path) -> Option<i32> {
    let path = dir.join(LOCK);
    let file = std::fs::OpenOptions::new().read(true).open(&path).ok()?;
    match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockSharedNonblock) {
        Ok(_) => None,
        Err(_) => std::fs::read_to_string(&path)
            .ok()
            .and_then(|p| p.trim().parse().ok()),
    }
}

/// Whether a driver holds the run.
pub fn is_locked(dir: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new().read(true).open(dir.join(LOCK)) else {
        return false;
    };
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockSharedNonblock).is_err()
}

/// Creates a new run's directory and journal (crash-safely: the journal appears whole,
/// with the run's first record, or not at all), locks it, and opens it for appending.
pub fn create(root: &Path, started: RunStarted) -> Result<(RunLock, Journal), JournalError> {
    let dir = root.join(&started.run_id);
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    let lock = lock(&dir)?;
    let path = dir.join(JOURNAL);
    let records = [
        Record::RunStarted(started),
        Record::Driver {
            pid: std::process::id(),
            at_ms: now_ms(),
        },
    ];
    // Durable once the writer thread has synced it and the directories above it.
    snapshot::write_unsynced(&path, &records)?;
    let len = std::fs::metadata(&path).map_err(io("read", &path))?.len();
    let dirs = vec![dir.clone(), root.to_path_buf()];
    Ok((
        lock,
        Journal::start_syncing(Appender::open(&path, len)?, dirs),
    ))
}

/// Opens an existing run for a new driver: takes the lock, reads the journal, and opens
/// it for appending after its last complete record (a torn tail is cut off). When the
/// journal had a torn tail, or holds more than three records per step (many resumes),
/// it is first compacted: superseded records are dropped and the file is replaced
/// crash-safely.
pub fn reopen(dir: &Path) -> Result<(RunLock, RunState, Journal), JournalError> {
    let lock = lock(dir)?;
    let state = RunState::load(dir)?;
    let path = dir.join(JOURNAL);
    let steps = state.started.steps as usize;
    let len = if !state.warnings.is_empty() || state.records.len() > 3 * steps + 16 {
        snapshot::write_atomic(&path, &compact(&state))?;
        std::fs::metadata(&path).map_err(io("read", &path))?.len()
    } else {
        state.valid_len
    };
    let journal = Journal::start(Appender::open(&path, len)?);
    Ok((lock, state, journal))
}

/// Records this process as the run's driver, once a resume is about to run something (a
/// resume that runs nothing leaves the journal as it was).
pub fn take_over(journal: &Journal) {
    journal.record(&Record::Driver {
        pid: std::process::id(),
        at_ms: now_ms(),
    });
}

/// The records of a journal without those a later record supersedes: the starts, failed
/// attempts and instances of a step that finished after them, and all but the last driver
/// and run-finished records. Reading back the result gives the same state.
pub fn compact(state: &RunState) -> Vec<Record> {
    let mut last_finish: HashMap<&str, usize> = HashMap::default();
    let mut last_driver = 0;
    let mut last_end = 0;
    for (k, r) in state.records.iter().enumerate() {
        match r {
            Record::StepFinished { step, .. } => {
                last_finish.insert(step.as_str(), k);
            }
            Record::Driver { .. } => last_driver = k,
            Record::RunFinished { .. } => last_end = k,
            _ => {}
        }
    }
    let superseded =
        |label: &str, k: usize| last_finish.get(step_of(label)).is_some_and(|&f| f > k);
    let mut out = vec![Record::RunStarted(state.started.clone())];
    for (k, r) in state.records.iter().enumerate() {
        let keep = match r {
            Record::StepStarted { step, .. }
            | Record::AttemptFailed { step, .. }
            | Record::InstanceFinished { step, .. } => !superseded(step, k),
            Record::Driver { .. } => k == last_driver,
            Record::RunFinished { .. } => k == last_end,
            _ => true,
        };
        if keep {
            out.push(r.clone());
        }
    }
    out
}

/// When a run started, from the first record of its journal (0 when unreadable). Reads
/// only the file's beginning, where that record is.
fn started_ms(dir: &Path) -> u64 {
    use std::io::Read;
    let mut head = Vec::new();
    let read = std::fs::File::open(dir.join(JOURNAL))
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head));
    if read.is_err() {
        return 0;
    }
    match snapshot::decode::<Record>("", &head).map(|l| l.records.into_iter().next()) {
        Ok(Some(Record::RunStarted(s))) => s.at_ms,
        _ => 0,
    }
}

/// The run directories under `root`, oldest first.
pub fn list(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<(u64, PathBuf)> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join(JOURNAL).is_file())
                .map(|p| (started_ms(&p), p))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.into_iter().map(|(_, p)| p).collect()
}

/// Finds a run by id (or a unique prefix of one), or the newest run.
pub fn find(root: &Path, run: Option<&str>) -> Result<PathBuf, JournalError> {
    let runs = list(root);
    let found = match run {
        None => runs.last().cloned(),
        Some(id) => {
            let exact = root.join(id);
            if exact.join(JOURNAL).is_file() {
                Some(exact)
            } else {
                let matches: Vec<&PathBuf> = runs
                    .iter()
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with(id))
                    })
                    .collect();
                match matches.as_slice() {
                    [one] => Some((*one).clone()),
                    _ => None,
                }
            }
        }
    };
    found.ok_or_else(|| JournalError::NoSuchRun {
        run: run.unwrap_or("--last").to_string(),
        dir: root.display().to_string(),
    })
}

// ---------------------------------------------------------------------------------------
// Leftover processes
// ---------------------------------------------------------------------------------------

/// The process groups of live processes that belong to `run_id`: every process whose
/// environment carries `FLOW_RUN_ID=<run_id>`. This finds the groups recorded in flight,
/// and also a step whose start record never reached the disk.
pub fn leftover_groups(run_id: &str) -> Vec<i32> {
    let marker = format!("{RUN_ID_ENV}={run_id}");
    let mut groups: Vec<i32> = Vec::new();
    // Never this process's own group (a flowc started from a step of the same run).
    let own = nix::unistd::getpgrp().as_raw();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return groups;
    };
    for e in entries.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the `(comm)`, which may itself hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(pgid)) = (
            fields.first(),
            fields.get(2).and_then(|g| g.parse::<i32>().ok()),
        ) else {
            continue;
        };
        if *state == "Z" || *state == "X" {
            continue;
        }
        let ours = std::fs::read(format!("/proc/{pid}/environ"))
            .map(|env| env.split(|&b| b == 0).any(|kv| kv == marker.as_bytes()))
            .unwrap_or(false);
        if ours && pgid > 1 && pgid != own && !groups.contains(&pgid) {
            groups.push(pgid);
        }
    }
    groups
}

/// Kills (SIGKILL) the leftover process groups of a run and waits up to two seconds for
/// them to go. Returns the groups it killed.
pub fn kill_leftovers(run_id: &str) -> Vec<i32> {
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::Pid;
    let groups = leftover_groups(run_id);
    for &g in &groups {
        if g > 1 {
            let _ = killpg(Pid::from_raw(g), Signal::SIGKILL);
        }
    }
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !groups.is_empty()
        && !leftover_groups(run_id).is_empty()
        && std::time::Instant::now() < until
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    groups
}
