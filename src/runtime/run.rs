//! Running a workflow: a lowered program, the workflow's input values and run options in,
//! a [`Report`] of every step out, with [`Event`]s sent to an [`Observer`] as things happen.
//!
//! The scheduler loop lives here: it starts the steps that [`super::schedule`] says are
//! ready (a step is decided the moment the last step it waits for is done, so a run costs
//! time in proportion to its steps and edges), applies its rules (docs/language.md "Skip
//! and failure propagation"), evaluates a step's `when` and fan-out list, and runs its
//! instances (processes, sleeps, questions to the [`Approver`], native actions) with
//! their retries and timeouts; declared outputs are read by [`super::outputs`]. The run's
//! own limits are applied here too: its `timeout` (a deadline from its first start), its
//! failure budgets ([`super::budget`]), step priorities (process slots are handed out by
//! [`super::slots`]) and each step's working directory (`dir`).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::attempt::{self, Attempt};
use super::budget::Budget;
use super::command;
use super::eval::{self, EvalError, Scope, Value};
use super::failure::{AttrError, Failure, RouteError, StepFailure};
use super::gate::{self, GateDecision};
use super::instances::{self, Feed, Spec};
use super::journal::{self, Journal, Resume};
use super::outputs;
use super::params::{Constants, Known};
use super::process::{self, CancellationSignal, Canceller, Stream};
use super::redact::Redactor;
use super::retry::{self, Backoff, Policy};
use super::schedule::{OnFailure, Ruling, Scheduler};
use super::slots::{Ask, Claim, HandOff, Slots};
use crate::lower::Lowered;
use crate::snapshot::record::Record;
use crate::typed::{self, Program, Ref, StepId};
use crate::typed::{DepKind, Workflow};

/// How a run behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// At most this many step processes at once.
    pub max_parallel: usize,
    /// Approve every `approve` step without asking.
    pub approve_all: bool,
    /// Approve these `approve` steps without asking.
    pub approve: Vec<String>,
    /// Where per-step logs and output files go.
    pub log_dir: PathBuf,
    /// The working directory of step processes.
    pub workdir: PathBuf,
    /// Between SIGTERM and SIGKILL when a step is stopped.
    pub grace: Duration,
    /// The id of the run, for `run_id()` and `workflow.run_id`.
    pub run_id: String,
    /// Who decides at `approve` steps that are not pre-approved (a person at a terminal,
    /// for `flowc run`); without one, the run stops at the gate (status `waiting`).
    pub approver: Option<Arc<dyn Approver>>,
    /// Fires on an interrupt (Ctrl-C): running steps are stopped, nothing new starts but
    /// compensation and `finally` steps, and the run ends `cancelled`.
    pub interrupt: Option<CancellationSignal>,
    /// The run's journal: state changes are recorded there, and a step is reported
    /// finished only once its record is on disk. `None` runs without one.
    pub journal: Option<Arc<Journal>>,
    /// For `flowc resume`: what to restore instead of running.
    pub resume: Option<Arc<Resume>>,
    /// Fires when the run is to pause (`flowc pause`): nothing new starts (no step, no
    /// retry, no fan-out instance), running attempts finish, and the run ends `paused`.
    /// A failure or an interrupt meanwhile ends the pause: the run stops as it would have.
    pub pause: Option<CancellationSignal>,
    /// For `flowc rollback`: instead of the workflow, run these compensations, then the
    /// `finally` steps (see [`super::rollback`]).
    pub undo: Option<Arc<super::rollback::Undo>>,
    /// Keep every step's result record in the report (the REPL evaluates expressions over
    /// them after the run). Otherwise only the records later steps read are kept while the
    /// run goes on: a 10,000-step run would hold ten thousand records it never reads.
    pub keep_records: bool,
    /// Where concurrency groups are locked (`groups/` of the state directory); `None` runs
    /// without taking the workflow's group.
    pub groups: Option<PathBuf>,
}

/// What became of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It ran and succeeded.
    Succeeded,
    /// It ran and failed (after its retries).
    Failed,
    /// It did not run (a whole run: its concurrency group was held, with policy `skip`).
    Skipped,
    /// It was stopped while running.
    Cancelled,
    /// It is an approval gate that nobody has approved yet.
    Waiting,
    /// It had not finished when the run was paused (`flowc pause`): a retry or fan-out
    /// instance was still to start, or it had not started. For the run: it was paused.
    Paused,
    /// The run (never a step): `flowc rollback` ran the compensations of its finished
    /// steps.
    #[serde(rename = "rolled_back")]
    RolledBack,
    /// Of a run only: its `timeout` passed.
    #[serde(rename = "timed_out")]
    TimedOut,
}

impl Status {
    /// The status as the language spells it (`build.status == "succeeded"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Cancelled => "cancelled",
            Status::Waiting => "waiting",
            Status::Paused => "paused",
            Status::RolledBack => "rolled_back",
            Status::TimedOut => "timed_out",
        }
    }
}

/// Why a step was skipped: by a condition (counts as done), or because of a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipCause {
    /// Its own `when`, or a missing output of a step skipped by a condition.
    Condition,
    /// Something upstream failed.
    Failure,
}

/// The result of one step (all its instances, for a fan-out).
#[derive(Clone, Debug)]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// What became of it.
    pub status: Status,
    /// For a skipped step, why.
    pub skip: Option<SkipCause>,
    /// A sentence on why it failed, was skipped, waits or was cancelled (for a failed
    /// step, its failure's message).
    pub reason: Option<String>,
    /// For a failed step, why: its [`StepFailure`] as coded parts, secrets redacted.
    pub failure: Option<Failure>,
    /// Attempts made (summed over instances).
    pub attempts: u32,
    /// Wall time from start to end.
    pub duration: Duration,
    /// The last exit code (per instance for a fan-out).
    pub exit_codes: Vec<i32>,
    /// Whether a failure was let through by `on_failure continue`.
    pub continued: bool,
    /// Whether it finished in an earlier run and was kept by `flowc resume`.
    pub restored: bool,
    /// For a `waiting` step: whether it is an approval gate waiting for a decision
    /// (`false` for a step that waits behind one, or a `finally` step that waits for the
    /// run to really end).
    pub gate: bool,
    /// The result record the language sees.
    pub record: Value,
    /// For a failed step with conditional failure routes: the route its failure took.
    pub route: Option<RouteTaken>,
}

/// The failure route a failed step took (see [`typed::Route`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteTaken {
    /// Its index among the step's routes in order; one past the conditional ones for the
    /// route without `if` (fail_fast, when none was written).
    pub index: usize,
    /// What the failure does.
    pub to: typed::OnFailure,
}

impl RouteTaken {
    /// Route `index` of `step` (one past its conditional routes: the route without `if`).
    pub fn of(step: &typed::Step, index: usize) -> RouteTaken {
        let to = (step.settings.routes.get(index)).map_or(step.settings.on_failure, |r| r.to);
        RouteTaken { index, to }
    }
}

/// The result of a run.
#[derive(Debug)]
pub struct Report {
    /// The workflow's name.
    pub workflow: String,
    /// `succeeded`, `failed`, `waiting`, `cancelled`, or `skipped` (its concurrency group
    /// was held, with policy `skip`).
    pub status: Status,
    /// Every step, in source order; none when no step started because of the concurrency
    /// group (the run was skipped, or interrupted while it waited for the group).
    pub steps: Vec<StepReport>,
    /// Wall time of the whole run.
    pub duration: Duration,
}

/// Something that happened during a run, for progress output and `--events json`.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run began.
    RunStarted {
        /// The workflow.
        workflow: String,
        /// The run id.
        run_id: String,
        /// How many steps the workflow has.
        steps: usize,
    },
    /// An attempt of a step (instance) began.
    StepStarted {
        /// The step, with `[i]` for a fan-out instance.
        step: String,
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// A line of a step's output (already redacted).
    Output {
        /// The step.
        step: String,
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The line.
        line: String,
    },
    /// An attempt failed and another follows.
    Retrying {
        /// The step.
        step: String,
        /// The attempt that comes next.
        next_attempt: u32,
        /// The wait before it, in milliseconds.
        delay_ms: u64,
        /// Why the last attempt failed.
        reason: String,
        /// The code of that failure (`E0460`).
        code: Option<String>,
    },
    /// A step finished (succeeded, failed, cancelled or waiting).
    StepFinished {
        /// The step.
        step: String,
        /// Its status.
        status: Status,
        /// Attempts made.
        attempts: u32,
        /// Milliseconds.
        duration_ms: u64,
        /// Why it did not succeed, if it did not.
        reason: Option<String>,
        /// For a failed step: `code`, `message`, `help` (and `cause`, for a fan-out).
        #[serde(flatten)]
        failure: Option<Failure>,
    },
    /// A fan-out instance began: its step's `max` let it, its condition held, and its step
    /// was not stopped. Its first attempt may still wait for a process slot.
    InstanceStarted {
        /// The fan-out step.
        step: String,
        /// The instance, `step[index]`.
        instance: String,
        /// Its index in the fan-out's list, from 0.
        index: usize,
    },
    /// A fan-out instance ended: one for each instance, started or not (skipped by its
    /// condition, or not started because its step was stopped).
    InstanceFinished {
        /// The fan-out step.
        step: String,
        /// The instance, `step[index]`.
        instance: String,
        /// Its index in the fan-out's list, from 0.
        index: usize,
        /// Its status.
        status: Status,
        /// Attempts made.
        attempts: u32,
        /// Milliseconds, from the start of its first attempt.
        duration_ms: u64,
        /// Why it did not succeed, if it did not.
        reason: Option<String>,
        /// For a failed instance: `code`, `message`, `help`.
        #[serde(flatten)]
        failure: Option<Failure>,
    },
    /// A step finished in an earlier run of a resumed run: its result is restored and it
    /// does not run.
    StepRestored {
        /// The step.
        step: String,
        /// Attempts it made then.
        attempts: u32,
    },
    /// A failed step's failure took one of its conditional routes (or none held).
    RouteTaken {
        /// The step.
        step: String,
        /// Where the failure went: `continue`, `fail_fast` or a step's name.
        to: String,
        /// The route's condition as written; `None` when no condition held (the route
        /// without `if`, or fail_fast).
        condition: Option<String>,
    },
    /// A step was skipped.
    StepSkipped {
        /// The step.
        step: String,
        /// Why.
        reason: String,
    },
    /// A step that had started did not finish because the run was paused: a retry or
    /// fan-out instance was still to start. `flowc resume` goes on with it.
    StepPaused {
        /// The step.
        step: String,
        /// What was left.
        reason: String,
    },
    /// The run's concurrency group is held by another run: this one waits for it
    /// (`queue`), cancels that run and then waits (`cancel`), or does not run (`skip`).
    /// Sent again when another run holds it next.
    GroupBusy {
        /// The group's name.
        group: String,
        /// `queue`, `skip` or `cancel`.
        policy: &'static str,
        /// The run holding it, when it has said.
        holder: Option<String>,
        /// The process holding it.
        pid: i32,
    },
    /// The run took its concurrency group, before its first step; it holds it until it
    /// ends.
    GroupTaken {
        /// The group's name.
        group: String,
        /// `queue`, `skip` or `cancel`.
        policy: &'static str,
    },
    /// The run ended.
    RunFinished {
        /// The workflow's status.
        status: Status,
        /// Milliseconds.
        duration_ms: u64,
    },
}

/// Decides at an approval gate: the front end asks a person (`flowc run` on a terminal)
/// or answers by rule. The library never asks anyone itself.
pub trait Approver: Send + Sync + std::fmt::Debug {
    /// Whether `step` (an instance name, `gate[2]`) is approved, given its question
    /// (secrets already redacted), waiting at most `wait` for the answer (`None`: as long
    /// as it takes; [`Answer::Late`] when none came in time). Called on a blocking thread;
    /// several gates may ask at once, so an approver that talks to one person asks one
    /// question at a time.
    fn approve(&self, step: &str, question: &str, wait: Option<Duration>) -> Answer;
}

pub use super::gate::Answer;

/// Receives the events of a run.
pub trait Observer: Send {
    /// One event.
    fn event(&mut self, event: &Event);
}

/// A problem that stops a run before it starts.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    /// The log directory cannot be created.
    #[error("cannot create the log directory `{path}`: {reason}")]
    #[diagnostic(
        code(E0440),
        help("choose another directory with `--log-dir`, or fix its permissions")
    )]
    LogDir {
        /// The directory.
        path: String,
        /// The operating system's reason.
        reason: String,
    },

    /// The run's concurrency group cannot be taken.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Group(#[from] super::group::GroupError),

    /// A `let` or `secret` binding failed to evaluate.
    #[error("cannot evaluate `{name}`: {reason}")]
    #[diagnostic(code(E0441))]
    Binding {
        /// The binding.
        name: String,
        /// Why.
        reason: String,
        /// Advice.
        #[help]
        help: Option<String>,
    },
}

/// The shared, per-run facts a step task needs.
pub(super) struct Shared {
    /// The resolved program, and the index of the run's workflow in it.
    program: Arc<Program>,
    wf_index: usize,
    /// Every module's constants, by module identity.
    consts: Constants,
    values: BTreeMap<String, Value>,
    /// The run's secrets: its secret parameters and bindings, then each `secret` output
    /// as the step that declares it succeeds.
    redactor: std::sync::RwLock<Redactor>,
    pub(super) opts: Options,
    /// The run's process slots, handed out by priority.
    slots: Slots,
    /// Each step's `priority` (by step index), decided when the run started.
    priorities: Vec<i64>,
    /// The run's failure budget (`max_failures` in the workflow's body).
    budget: Budget,
    /// Why the run stopped its running steps, when it is not an interrupt (its `timeout`
    /// passed): what their reports say instead of `cancelled`.
    stopped: std::sync::OnceLock<String>,
    /// The run's deadline (Unix milliseconds) and its `timeout`, when it has one: a
    /// question at an approval gate is not asked past it.
    deadline: Option<(u64, Duration)>,
    observer: Arc<Mutex<Box<dyn Observer>>>,
    /// Step fingerprints by name, when the run is journaled.
    fingerprints: HashMap<String, u64>,
    /// For each step, whether another goes with its instances one by one
    /// ([`typed::FanOut::counterparts`]): its instances are fed to them as they end.
    fed: Vec<bool>,
    /// The instances of the fed steps that started (or were restored), by step index.
    feeds: Mutex<HashMap<usize, Arc<Feed>>>,
    /// True while the run is pausing: no attempt or instance starts. Cleared again when
    /// a failure or an interrupt ends the pause.
    pausing: tokio::sync::watch::Sender<bool>,
    /// For each step (by index), the best claim among the steps its end can make ready
    /// (`None`: it makes none ready), which a slot it hands on must outrank
    /// ([`super::slots::Permit::hand_off`]). Only when the run loop hands out the slots:
    /// a rollback's driver hands on none.
    hand_off: Option<Vec<Option<Claim>>>,
}

impl Shared {
    /// Whether the run is pausing now.
    pub(super) fn pausing(&self) -> bool {
        *self.pausing.borrow()
    }

    /// The redactor of every secret known so far.
    fn redactor(&self) -> Redactor {
        self.redactor
            .read()
            .map_or_else(|e| e.into_inner().clone(), |r| r.clone())
    }

    /// Adds secrets (the values of `secret` outputs) to the run's redactor.
    fn add_secrets(&self, more: Vec<String>) {
        if more.is_empty() {
            return;
        }
        let mut guard = self
            .redactor
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Ok(bigger) = guard.with(more) {
            *guard = bigger;
        }
    }

    /// Hands out process slots as claims come and slots free, for ever: for a driver
    /// that runs steps without the scheduler loop, which dispatches them itself (a
    /// rollback runs its compensations one at a time).
    pub(super) async fn serve_slots(&self) {
        loop {
            self.slots.wanted().await;
            self.slots.dispatch();
        }
    }

    /// The run's workflow in the resolved program.
    pub(super) fn workflow_resolved(&self) -> &typed::Workflow {
        &self.program.workflows[self.wf_index]
    }

    /// The instances of step `i`, once it started (or was restored).
    fn feed(&self, i: usize) -> Option<Arc<Feed>> {
        let feeds = self
            .feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        feeds.get(&i).cloned()
    }

    /// Step `i` starts with these instances: a feed for the steps that go with them.
    fn start_feed(&self, i: usize, at: Vec<Vec<usize>>) -> Option<Arc<Feed>> {
        if !self.fed.get(i).copied().unwrap_or(false) {
            return None;
        }
        let feed = Arc::new(Feed::new(at));
        let mut feeds = self
            .feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        feeds.insert(i, Arc::clone(&feed));
        Some(feed)
    }

    /// Reports an event. With a journal, only once every record queued before it is on
    /// disk: a step is reported finished only when its finish is durable.
    pub(super) fn emit(&self, event: Event) {
        match &self.opts.journal {
            Some(j) => {
                let observer = Arc::clone(&self.observer);
                j.then(move || {
                    if let Ok(mut obs) = observer.lock() {
                        obs.event(&event);
                    }
                });
            }
            None => self.emit_now(&event),
        }
    }

    /// Ends the run: its end record is committed (after every record queued before it),
    /// then `run_finished` is reported.
    pub(super) async fn finish_run(&self, status: Status, duration: Duration) {
        if let Some(j) = &self.opts.journal {
            j.commit(Record::RunFinished {
                status: status.as_str().to_string(),
                at_ms: journal::now_ms(),
            })
            .await;
        }
        self.emit_now(&Event::RunFinished {
            status,
            duration_ms: duration.as_millis() as u64,
        });
    }

    /// Reports an event at once.
    pub(super) fn emit_now(&self, event: &Event) {
        if let Ok(mut obs) = self.observer.lock() {
            obs.event(event);
        }
    }
}

/// The values names have while evaluating one step's expressions: by name for the
/// syntax tree ([`Env`]), by resolved reference for the resolved program ([`Scope`]).
struct StepEnv<'a> {
    values: &'a BTreeMap<String, Value>,
    results: &'a HashMap<String, Value>,
    /// The loop variables of the fan-out instance being evaluated.
    locals: &'a [(String, Value)],
    extra: &'a [(&'static str, Value)],
    run_id: &'a str,
    /// The run's constants and workflow, for resolved references.
    shared: &'a Shared,
    /// The task parameters' values, for a step that calls a task.
    args: &'a [(String, Value)],
    /// The results of the instances that go with the one being evaluated, for
    /// [`Ref::Instance`].
    paired: &'a [(StepId, Value)],
}

impl<'a> StepEnv<'a> {
    /// The scope of a step as a whole: the run's values and `results`, no loop variable,
    /// task argument or instance of another step.
    fn of(shared: &'a Shared, results: &'a HashMap<String, Value>) -> StepEnv<'a> {
        StepEnv {
            values: &shared.values,
            results,
            locals: &[],
            extra: &[],
            run_id: &shared.opts.run_id,
            shared,
            args: &[],
            paired: &[],
        }
    }
}

impl Scope for StepEnv<'_> {
    fn value(&self, name: &Ref) -> Result<Value, EvalError> {
        match name {
            Ref::Param(n) | Ref::Binding(n) => self.values.get(n).cloned(),
            Ref::Local(n) => (self.extra.iter())
                .find(|(e, _)| e == n)
                .map(|(_, v)| v)
                .or_else(|| self.locals.iter().find(|(l, _)| l == n).map(|(_, v)| v))
                .cloned(),
            Ref::Arg(n) => self
                .args
                .iter()
                .find(|(a, _)| a == n)
                .map(|(_, v)| v.clone()),
            Ref::Const { module, name } => self.shared.consts.get(*module, name).cloned(),
            Ref::Step(id) => self
                .shared
                .workflow_resolved()
                .steps
                .get(id.index())
                .and_then(|s| self.results.get(&s.name))
                .cloned(),
            Ref::Instance(id) => (self.paired.iter())
                .find(|(p, _)| p == id)
                .map(|(_, v)| v.clone()),
        }
        .ok_or(EvalError::Pending)
    }

    fn workflow(&self) -> Result<Value, EvalError> {
        self.results
            .get("workflow")
            .cloned()
            .ok_or(EvalError::Pending)
    }

    fn run_id(&self) -> String {
        self.run_id.to_string()
    }
}

/// Runs workflow `workflow` of the root module with these parameter values.
pub async fn run(
    lowered: Lowered,
    workflow: &str,
    params: BTreeMap<String, Value>,
    opts: Options,
    observer: Box<dyn Observer>,
) -> Result<Report, RunError> {
    let started = Instant::now();
    let Lowered {
        graphs, program, ..
    } = lowered;
    let program = Arc::new(program);
    let Some(wf_index) = program.workflows.iter().position(|w| w.name == workflow) else {
        return Err(RunError::Binding {
            name: workflow.to_string(),
            reason: "no such workflow".to_string(),
            help: None,
        });
    };
    let graph = &graphs[wf_index];
    let info: &Workflow = &program.workflows[wf_index];
    crate::snapshot::create_private_dir(&opts.log_dir).map_err(|e| RunError::LogDir {
        path: opts.log_dir.display().to_string(),
        reason: e.to_string(),
    })?;

    let fingerprints: HashMap<String, u64> = match (&opts.journal, &opts.resume) {
        (None, _) => HashMap::default(),
        // A resume computed them already, to decide what to keep.
        (Some(_), Some(r)) if r.fingerprints.len() == info.steps.len() => info
            .steps
            .iter()
            .map(|s| s.name.clone())
            .zip(r.fingerprints.iter().copied())
            .collect(),
        (Some(_), _) => info
            .steps
            .iter()
            .map(|s| s.name.clone())
            .zip(super::fingerprint::fingerprints(
                &program,
                &program.workflows[wf_index],
                &params,
            ))
            .collect(),
    };
    // Parameters, module constants and bindings, in order.
    let mut values = params;
    // A secret parameter, or one inside a list, map or record parameter.
    let mut secrets: Vec<String> = Vec::new();
    values
        .values()
        .for_each(|v| super::outputs::secrets_in(v, &mut secrets));
    // The workflow's bindings, in order: each reads the parameters, the constants of any
    // module (by identity) and the bindings before it.
    let process_env = |name: &str| std::env::var(name).ok();
    let consts = Constants::of(&program, &process_env);
    let resolved = &program.workflows[wf_index];
    for b in &resolved.bindings {
        let scope = Known {
            values: &values,
            args: &[],
            consts: &consts,
            env: &process_env,
        };
        let mut v = eval::eval_typed(&b.value, &scope).map_err(|e| RunError::Binding {
            name: b.name.clone(),
            reason: e.to_string(),
            help: miette::Diagnostic::help(&e).map(|h| h.to_string()),
        })?;
        if b.secret {
            v = Value::Secret(v.to_text());
        }
        if let Value::Secret(s) = &v {
            secrets.push(s.clone());
        }
        values.insert(b.name.clone(), v);
    }
    let redactor = Redactor::new(secrets).unwrap_or_default();

    // The file's `max_parallel` bounds the run as much as `--max-parallel` does.
    let mut max_parallel = opts.max_parallel.max(1);
    if let Some(limit) = &resolved.max_parallel {
        let scope = Known {
            values: &values,
            args: &[],
            consts: &consts,
            env: &process_env,
        };
        match eval::eval_typed(limit, &scope) {
            Ok(Value::Int(n)) if n > 0 => {
                max_parallel = max_parallel.min(usize::try_from(n).unwrap_or(usize::MAX));
            }
            Ok(other) => {
                return Err(RunError::Binding {
                    name: "max_parallel".to_string(),
                    reason: format!("{other} is not a positive number of steps"),
                    help: None,
                })
            }
            Err(e) => {
                return Err(RunError::Binding {
                    name: "max_parallel".to_string(),
                    reason: e.to_string(),
                    help: None,
                })
            }
        }
    }
    let limits = {
        let scope = Known {
            values: &values,
            args: &[],
            consts: &consts,
            env: &process_env,
        };
        RunLimits::of(resolved, &scope)?
    };
    // The run's deadline counts from its first start: a resumed run keeps it.
    let deadline_ms = limits.timeout.map(|limit| {
        let started_ms = (opts.resume.as_ref())
            .and_then(|r| r.run_started_ms)
            .unwrap_or_else(journal::now_ms);
        (started_ms + limit.as_millis() as u64, limit)
    });
    let policies: Vec<OnFailure> = resolved
        .steps
        .iter()
        .map(|s| match s.settings.on_failure {
            _ if !s.settings.routes.is_empty() => OnFailure::Routed,
            typed::OnFailure::FailFast => OnFailure::FailFast,
            typed::OnFailure::Continue => OnFailure::Continue,
            typed::OnFailure::Fallback(_) => OnFailure::Fallback,
        })
        .collect();
    // The steps whose instances others go with one by one, and which of their results
    // those read (the paired steps, and their fallbacks, which decide whether a failed
    // instance's failure is let through).
    let mut fed = vec![false; info.steps.len()];
    let mut paired_reads: Vec<Vec<usize>> = vec![Vec::new(); info.steps.len()];
    for (i, s) in info.steps.iter().enumerate() {
        for c in s.fan_out.iter().flat_map(|f| &f.counterparts) {
            fed[c.step.index()] = true;
            paired_reads[i].push(c.step.index());
            paired_reads[i].extend(info.steps[c.step.index()].fallback());
        }
    }
    let mut sched = Scheduler::new(info, graph);
    sched.prioritize(limits.priorities.clone());
    // A step's claim for its first slot (the first instance of a fan-out).
    let first_claim = |j: usize| Claim::new(limits.priorities.get(j).copied().unwrap_or(0), j, 0);
    let shared = Arc::new(Shared {
        program: Arc::clone(&program),
        wf_index,
        consts,
        values,
        redactor: std::sync::RwLock::new(redactor),
        opts: opts.clone(),
        slots: Slots::new(max_parallel),
        priorities: limits.priorities.clone(),
        budget: Budget::new(
            limits.max_failures,
            opts.resume.iter().flat_map(|r| r.failed.iter().cloned()),
        ),
        stopped: std::sync::OnceLock::new(),
        deadline: deadline_ms,
        observer: Arc::new(Mutex::new(observer)),
        fingerprints,
        fed,
        feeds: Mutex::new(HashMap::default()),
        pausing: tokio::sync::watch::channel(false).0,
        hand_off: (opts.undo.is_none())
            .then(|| sched.best_after(first_claim))
            .flatten(),
    });
    shared.emit(Event::RunStarted {
        workflow: workflow.to_string(),
        run_id: opts.run_id.clone(),
        steps: info.steps.len(),
    });
    // The concurrency group: taken before any step starts, held until the run ends.
    let _group = match take_group(&shared, workflow, started).await? {
        Ok(held) => held,
        Err(report) => return Ok(report),
    };
    // A rollback is a phase of the run: it holds the run's group as its steps did.
    if let Some(undo) = &opts.undo {
        return Ok(super::rollback::undo(&shared, info, undo, started).await);
    }

    let n = info.steps.len();
    let deadline = deadline_ms.map(|(at_ms, limit)| {
        let left = at_ms.saturating_sub(journal::now_ms());
        (
            tokio::time::Instant::now() + Duration::from_millis(left),
            limit,
        )
    });
    let mut timed_out = false;
    let mut budget_noted = false;

    // Only results some step reads are kept by name: a large run of `after`-only steps
    // would otherwise hold every result record twice.
    let mut read = vec![false; n];
    for s in &info.steps {
        for d in s.deps.iter().filter(|d| d.kind != DepKind::After) {
            read[d.step.index()] = true;
        }
    }
    for &j in paired_reads.iter().flatten() {
        read[j] = true;
    }
    // The steps that read `workflow.*`: only they are given its record.
    let reads_workflow: Vec<bool> = (info.steps.iter())
        .map(|s| {
            let mut reads = false;
            s.for_each_expr(&mut |e| {
                e.walk(&mut |x| reads |= matches!(x.kind, typed::ExprKind::Workflow));
            });
            reads
        })
        .collect();
    let mut results: HashMap<String, Value> = HashMap::default();
    // `workflow.*` is known to every step: `status` is `running` until the `finally` steps.
    results.insert(
        "workflow".to_string(),
        workflow_record(workflow, "running", &opts.run_id),
    );
    let keep_records = opts.keep_records;
    let keep = |i: usize, report: &mut StepReport, results: &mut HashMap<String, Value>| {
        if read[i] {
            results.insert(info.steps[i].name.clone(), report.record.clone());
        } else if !keep_records {
            // Journaled already, and read by no step: the report keeps its facts only.
            report.record = Value::Record(BTreeMap::new());
        }
    };
    let mut running: JoinSet<(usize, StepReport)> = JoinSet::new();
    let mut cancellers: HashMap<usize, Canceller> = HashMap::default();
    let cancel = |cancellers: &HashMap<usize, Canceller>, steps: Vec<usize>| {
        for j in steps {
            if let Some(c) = cancellers.get(&j) {
                c.cancel();
            }
        }
    };
    let mut interrupt = opts.interrupt.clone();
    let mut interrupted = false;
    let mut pause = opts.pause.clone();
    let mut pause_heard = false;
    // The `--only` steps whose results differ from before: what is kept unless they
    // change runs again.
    let mut changed: rustc_hash::FxHashSet<String> = Default::default();

    // A pause asked before the run started: nothing starts at all.
    if pause.as_ref().is_some_and(CancellationSignal::is_cancelled) {
        pause_heard = true;
        if sched.pause() {
            shared.pausing.send_replace(true);
        }
    }
    // Steps in flight as tasks. Processes are bounded by `slots`; this bounds the tasks
    // waiting for a slot, so that 10,000 ready steps do not become 10,000 parked futures.
    let in_flight_max = max_parallel.saturating_mul(2).saturating_add(16);
    loop {
        let now = tokio::time::Instant::now();
        if let Some((_, limit)) = deadline.filter(|(at, _)| !timed_out && *at <= now) {
            timed_out = true;
            let _ = shared
                .stopped
                .set(format!("stopped: {}", timeout_reason(limit)));
            let stop = sched.timed_out(timeout_reason(limit));
            cancel(&cancellers, stop);
        }
        if !budget_noted && shared.budget.spent() {
            budget_noted = true;
            sched.budget_spent(budget_reason("the run's", shared.budget.limit()));
        }
        // Whether tasks were spawned: their claims for slots are made once they run.
        let mut spawned = false;
        while running.len() < in_flight_max {
            let Some(i) = sched.next_ready() else { break };
            let step = &info.steps[i];
            if step.finally && sched.ordinary_done() {
                results.insert(
                    "workflow".to_string(),
                    workflow_record(workflow, sched.status().as_str(), &opts.run_id),
                );
            }
            if let Some(mut report) = restored(&shared, step, &changed) {
                restore_feed(&shared, i, &report.record);
                // Already durable: nothing to wait for.
                shared.emit_now(&Event::StepRestored {
                    step: step.name.clone(),
                    attempts: report.attempts,
                });
                keep(i, &mut report, &mut results);
                sched.restored(i, report);
                continue;
            }
            if shared.pausing() {
                // Neither run nor skipped, nor journaled: the resume decides it.
                let mut report = not_run(
                    &step.name,
                    Status::Paused,
                    None,
                    "the run was paused before it started".to_string(),
                    Shape::of(step),
                );
                keep(i, &mut report, &mut results);
                sched.held(i, report);
                continue;
            }
            let decision = match sched.rule(i) {
                Ruling::Parked => continue,
                Ruling::Hold(reason) => Decision::Hold(reason),
                Ruling::Skip(cause, reason) => Decision::Skip(cause, reason),
                Ruling::Run => decide(i, &shared, &results),
            };
            match decision {
                Decision::Hold(reason) => {
                    let mut report = held_report(&step.name, reason, Shape::of(step));
                    keep(i, &mut report, &mut results);
                    sched.held(i, report);
                }
                Decision::Skip(cause, reason) => {
                    if let Some(j) = &shared.opts.journal {
                        j.record(Record::StepSkipped {
                            step: step.name.clone(),
                            reason: reason.clone(),
                        });
                    }
                    shared.emit(Event::StepSkipped {
                        step: step.name.clone(),
                        reason: reason.clone(),
                    });
                    let mut report = skipped_report(&step.name, cause, reason, Shape::of(step));
                    keep(i, &mut report, &mut results);
                    let stop = sched.skipped(i, report);
                    cancel(&cancellers, stop);
                }
                Decision::Fail(failure) => {
                    sched.started(i);
                    count_failure(&shared, &step.name, None);
                    let failure = redacted(&shared, &failure);
                    let report = StepReport {
                        status: Status::Failed,
                        skip: None,
                        reason: Some(failure.message.clone()),
                        failure: Some(failure),
                        ..not_run(
                            &step.name,
                            Status::Failed,
                            None,
                            String::new(),
                            Shape::of(step),
                        )
                    };
                    let shared = Arc::clone(&shared);
                    // Reported as a finished step is: through the join below.
                    running.spawn(async move { (i, finish_routed(&shared, i, report, None)) });
                    spawned = true;
                }
                Decision::Run(instances) => {
                    let feed =
                        shared.start_feed(i, instances.iter().map(|s| s.at.clone()).collect());
                    let (canceller, signal) = process::cancellation();
                    let handler = step.finally
                        || step.compensates.is_some()
                        || sched.fallback_of(i).is_some();
                    // Under fail_fast a failed instance fails the workflow: the step's
                    // other instances are stopped and no new one starts (with a failure
                    // budget of its own, the budget decides when that is).
                    let budgeted = step
                        .fan_out
                        .as_ref()
                        .is_some_and(|f| f.max_failures.is_some());
                    let stop = (!step.finally
                        && step.compensates.is_none()
                        && policies[i] == OnFailure::FailFast
                        && !budgeted)
                        .then(|| canceller.clone());
                    cancellers.insert(i, canceller);
                    sched.started(i);
                    let shared = Arc::clone(&shared);
                    // Only the results this step reads: copying every result into every
                    // step would make a large run quadratic.
                    let mut env_results: HashMap<String, Value> = step
                        .deps
                        .iter()
                        .filter(|d| d.kind != DepKind::After)
                        .map(|d| d.step.index())
                        .chain(paired_reads[i].iter().copied())
                        .filter_map(|j| {
                            let name = &info.steps[j].name;
                            results.get(name).map(|v| (name.clone(), v.clone()))
                        })
                        .collect();
                    if let Some(w) = results.get("workflow").filter(|_| reads_workflow[i]) {
                        env_results.insert("workflow".to_string(), w.clone());
                    }
                    let fan_out = step.fan_out.is_some();
                    let name = step.name.clone();
                    running.spawn(async move {
                        let report = run_step(
                            &shared,
                            i,
                            &name,
                            fan_out,
                            instances,
                            feed,
                            env_results,
                            signal,
                            stop,
                            handler,
                        )
                        .await;
                        (i, report)
                    });
                    spawned = true;
                }
            }
        }
        // The steps just started make their claims first (a task runs up to its claim
        // before it waits), so that the slots go to the best of them and of the claims
        // already waiting: a slot that a finished step frees may go to a step it made
        // ready. Until then no slot is handed on, nor ever past the first ready step
        // not started yet.
        shared
            .slots
            .expect(spawned, sched.first_ready().map(first_claim));
        if spawned {
            YieldToQueued::default().await;
        }
        shared.slots.dispatch();
        let woke = {
            let interrupt = async {
                match interrupt.as_mut() {
                    Some(signal) if !interrupted => signal.cancelled().await,
                    _ => std::future::pending().await,
                }
            };
            let pause = async {
                match pause.as_mut() {
                    Some(signal) if !pause_heard => signal.cancelled().await,
                    _ => std::future::pending().await,
                }
            };
            let deadline_now = async {
                match deadline {
                    Some((at, _)) if !timed_out => tokio::time::sleep_until(at).await,
                    _ => std::future::pending().await,
                }
            };
            // An interrupt or a pause is heard before the next step's end starts more.
            tokio::select! {
                biased;
                () = interrupt => Woke::Interrupted,
                () = pause => Woke::Paused,
                joined = running.join_next() => Woke::Joined(joined.map(Box::new)),
                () = deadline_now => Woke::Again,
                () = shared.slots.wanted() => Woke::Again,
            }
        };
        let joined = match woke {
            Woke::Joined(joined) => joined.map(|j| *j),
            // The deadline, or a claim or a freed slot: seen to at the top of the loop.
            Woke::Again => continue,
            Woke::Interrupted => {
                interrupted = true;
                // An interrupt while pausing stops the run as it would have.
                shared.pausing.send_replace(false);
                let stop = sched.interrupted();
                cancel(&cancellers, stop);
                continue;
            }
            Woke::Paused => {
                pause_heard = true;
                // A run that is stopping already (a failure, an interrupt) goes on stopping.
                if sched.pause() {
                    shared.pausing.send_replace(true);
                }
                continue;
            }
        };
        let Some(joined) = joined else {
            // Nothing runs any more: the steps parked behind a gate are decided for good.
            if sched.settle() {
                continue;
            }
            break;
        };
        let Ok((i, mut report)) = joined else {
            continue;
        };
        cancellers.remove(&i);
        if let Some(before) =
            (shared.opts.resume.as_ref()).and_then(|r| r.only_before.get(&report.name))
        {
            if !same_results(before, &report.record) {
                changed.insert(report.name.clone());
            }
        }
        keep(i, &mut report, &mut results);
        let stop = sched.finished(i, report);
        if shared.pausing()
            && matches!(
                sched.status(),
                Status::Failed | Status::Cancelled | Status::TimedOut
            )
        {
            // A failure ends the pause: the run fails as it would have.
            shared.pausing.send_replace(false);
        }
        cancel(&cancellers, stop);
    }

    let workflow_status = sched.status();
    let steps: Vec<StepReport> = sched
        .into_reports()
        .into_iter()
        .zip(&info.steps)
        .map(|(report, info)| {
            report.unwrap_or_else(|| {
                skipped_report(
                    &info.name,
                    SkipCause::Failure,
                    "never became ready".to_string(),
                    Shape::of(info),
                )
            })
        })
        .collect();
    let duration = started.elapsed();
    // Waits for every record and every event queued before it.
    shared.finish_run(workflow_status, duration).await;
    Ok(Report {
        workflow: workflow.to_string(),
        status: workflow_status,
        steps,
        duration,
    })
}

/// What a run's settings say, decided when it starts (from its parameters, bindings and
/// constants): its `timeout`, its failure budget and each step's `priority`.
struct RunLimits {
    timeout: Option<Duration>,
    max_failures: Option<u64>,
    /// By step index.
    priorities: Vec<i64>,
}

impl RunLimits {
    fn of(wf: &Workflow, scope: &Known<'_>) -> Result<RunLimits, RunError> {
        let bad = |name: String, reason: String| RunError::Binding {
            name,
            reason,
            help: None,
        };
        let value = |e: &typed::Expr, name: &str| {
            eval::eval_typed(e, scope).map_err(|err| bad(name.to_string(), err.to_string()))
        };
        let timeout = match &wf.timeout {
            None => None,
            Some(e) => match value(e, "timeout")? {
                Value::Duration(ms) if ms > 0 => Some(Duration::from_millis(ms)),
                other => {
                    let reason = format!("{other} is not a positive duration");
                    return Err(bad("timeout".to_string(), reason));
                }
            },
        };
        let max_failures = match &wf.max_failures {
            None => None,
            Some(e) => match value(e, "max_failures")? {
                Value::Int(n) if n > 0 => Some(n as u64),
                other => {
                    let reason = format!("{other} is not a positive number of failures");
                    return Err(bad("max_failures".to_string(), reason));
                }
            },
        };
        let mut priorities = Vec::with_capacity(wf.steps.len());
        for s in &wf.steps {
            let name = || format!("the priority of step `{}`", s.name);
            priorities.push(match &s.settings.priority {
                None => 0,
                Some(e) => match value(e, &name())? {
                    Value::Int(p) => p,
                    other => return Err(bad(name(), format!("{other} is not an int"))),
                },
            });
        }
        Ok(RunLimits {
            timeout,
            max_failures,
            priorities,
        })
    }
}

/// Why steps that had not started are skipped once the run's `timeout` has passed.
fn timeout_reason(limit: Duration) -> String {
    format!(
        "the run's timeout of {} has passed",
        eval::format_duration(limit.as_millis() as u64)
    )
}

/// `the run's failure budget is spent (max_failures 3)`.
fn budget_reason(whose: &str, limit: Option<u64>) -> String {
    format!(
        "{whose} failure budget is spent (max_failures {})",
        limit.unwrap_or(0)
    )
}

/// The failure budgets that keep an instance from starting: the run's (not for the
/// compensation, fallback and finally steps that handle failures) and its step's own.
struct Budgets<'a> {
    run: Option<&'a Budget>,
    step: Option<&'a Budget>,
}

impl Budgets<'_> {
    /// Why nothing new may start, when a budget is spent.
    fn spent(&self) -> Option<String> {
        if let Some(b) = self.step.filter(|b| b.spent()) {
            return Some(format!(
                "not started: {}",
                budget_reason("its step's", b.limit())
            ));
        }
        let b = self.run.filter(|b| b.spent())?;
        Some(format!(
            "not started: {}",
            budget_reason("the run's", b.limit())
        ))
    }
}

/// Counts a failure of a step or instance (for good: its retries spent) against the run's
/// failure budget and its step's, and journals it so that a resumed run counts it too.
fn count_failure(shared: &Shared, label: &str, step: Option<&Budget>) {
    shared.budget.fail(label);
    if let Some(budget) = step {
        budget.fail(label);
    }
    if let Some(j) = &shared.opts.journal {
        j.record(Record::InstanceFailed {
            step: label.to_string(),
            at_ms: journal::now_ms(),
        });
    }
}

/// A fan-out step's own failure budget (`max_failures`), evaluated when it starts, with
/// the failures of its instances that a resumed run's journal recorded.
fn fan_budget(
    shared: &Shared,
    step: &typed::Step,
    results: &HashMap<String, Value>,
) -> Result<Option<Budget>, StepFailure> {
    let Some(n) = step.fan_out.as_ref().and_then(|f| f.max_failures.as_ref()) else {
        return Ok(None);
    };
    let env = StepEnv::of(shared, results);
    let limit = match eval::eval_typed(n, &env) {
        Ok(Value::Int(k)) if k > 0 => k as u64,
        Ok(other) => {
            let reason = format!("{other} is not a positive number of failures");
            return Err(AttrError {
                what: "max_failures",
                reason,
            }
            .into());
        }
        Err(e) => {
            let reason = e.to_string();
            return Err(AttrError {
                what: "max_failures",
                reason,
            }
            .into());
        }
    };
    let before = (shared.opts.resume.iter())
        .flat_map(|r| r.failed.iter())
        .filter(|label| journal::step_of(label) == step.name)
        .cloned();
    Ok(Some(Budget::new(Some(limit), before)))
}

/// The working directory of a step's process: its `dir` (relative to the directory of
/// the file it is written in), which must be a directory now (E0476), or the run's.
fn work_dir(
    shared: &Shared,
    step: &typed::Step,
    env: &StepEnv<'_>,
) -> Result<PathBuf, StepFailure> {
    let Some(dir) = &step.settings.dir else {
        return Ok(shared.opts.workdir.clone());
    };
    let written = eval::eval_typed(&dir.path, env)
        .map_err(|e| StepFailure::eval("`dir`", e))?
        .to_text();
    let written = PathBuf::from(written);
    let path = match &dir.base {
        _ if written.is_absolute() => written,
        Some(base) => base.join(written),
        None => shared.opts.workdir.join(written),
    };
    let problem = match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => return Ok(path),
        Ok(_) => "is not a directory".to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".to_string(),
        Err(e) => format!("cannot be used: {e}"),
    };
    Err(StepFailure::WorkDir {
        path: path.display().to_string(),
        problem,
    })
}

/// What woke the scheduler loop.
enum Woke {
    /// A step task ended (`None`: none is left). Boxed: a report is large, and the other
    /// wake-ups carry nothing.
    Joined(Option<Box<Result<(usize, StepReport), tokio::task::JoinError>>>),
    /// The run was interrupted.
    Interrupted,
    /// The run is to pause.
    Paused,
    /// The run's deadline passed, or a claim for a process slot was made or a slot freed:
    /// the top of the loop sees to it.
    Again,
}

/// Whether two result records of a step are the same, but for how long it took and how
/// many attempts it made: `--only` re-runs the steps downstream of a step whose results
/// changed.
fn same_results(before: &Value, now: &Value) -> bool {
    let results = |v: &Value| match v {
        Value::Record(fields) => fields
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "duration" | "attempts"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>(),
        other => vec![(String::new(), other.clone())],
    };
    results(before) == results(now)
}

/// Takes the run's concurrency group, if its workflow has one and the run has a place to
/// lock it: the group held, or the report of a run that ends here without any step (the
/// group was busy and the policy is `skip`, or an interrupt came while it waited). A
/// resumed run takes the group its journal names.
async fn take_group(
    shared: &Shared,
    workflow: &str,
    started: Instant,
) -> Result<Result<Option<super::group::Held>, Report>, RunError> {
    use super::group::{self, Entered};
    let opts = &shared.opts;
    let Some(dir) = &opts.groups else {
        return Ok(Ok(None));
    };
    let resolved = shared.workflow_resolved();
    let journaled = opts.resume.as_ref().and_then(|r| r.group.clone());
    let (name, policy) = match (journaled, &resolved.concurrency) {
        (Some(kept), _) => kept,
        (None, None) => return Ok(Ok(None)),
        (None, Some(c)) => {
            let process_env = |name: &str| std::env::var(name).ok();
            let scope = Known {
                values: &shared.values,
                args: &[],
                consts: &shared.consts,
                env: &process_env,
            };
            match eval::eval_typed(&c.group, &scope) {
                Ok(v) => (v.to_text(), c.policy),
                Err(e) => {
                    return Err(RunError::Binding {
                        name: "concurrency".to_string(),
                        reason: e.to_string(),
                        help: miette::Diagnostic::help(&e).map(|h| h.to_string()),
                    })
                }
            }
        }
    };
    if name.is_empty() {
        return Err(group::GroupError::Empty {
            workflow: workflow.to_string(),
        }
        .into());
    }
    let mut busy = |holder: &group::Holder| {
        if let Some(j) = &opts.journal {
            j.record(Record::GroupBusy {
                group: name.clone(),
                policy: policy.name().to_string(),
                holder: holder.name(),
                at_ms: journal::now_ms(),
            });
        }
        shared.emit(Event::GroupBusy {
            group: name.clone(),
            policy: policy.name(),
            holder: holder.run.clone(),
            pid: holder.pid,
        });
    };
    let entered = group::enter(
        dir,
        &name,
        policy,
        &opts.run_id,
        opts.interrupt.clone(),
        &mut busy,
    )
    .await?;
    let status = match entered {
        Entered::Held(held) => {
            if let Some(j) = &opts.journal {
                j.record(Record::GroupTaken {
                    group: name.clone(),
                    policy: policy.name().to_string(),
                    at_ms: journal::now_ms(),
                });
            }
            shared.emit(Event::GroupTaken {
                group: name,
                policy: policy.name(),
            });
            return Ok(Ok(Some(held)));
        }
        Entered::Skipped(_) => Status::Skipped,
        Entered::Interrupted => Status::Cancelled,
    };
    let duration = started.elapsed();
    shared.finish_run(status, duration).await;
    Ok(Err(Report {
        workflow: workflow.to_string(),
        status,
        steps: Vec::new(),
        duration,
    }))
}

/// The report of a step that a resumed run restores instead of running: one that
/// succeeded, or failed with its failure handled by its route (which it takes again).
/// `changed`: the `--only` steps whose results changed, which undo the keeping of what
/// follows them.
fn restored(
    shared: &Shared,
    step: &typed::Step,
    changed: &rustc_hash::FxHashSet<String>,
) -> Option<StepReport> {
    let resume = shared.opts.resume.as_ref()?;
    if !resume.keeps(&step.name, changed) {
        return None;
    }
    let f = resume.keep.get(&step.name)?;
    let failed = f.status == Status::Failed.as_str();
    let route = f.route.as_ref().map(|r| RouteTaken::of(step, r.index));
    let to = route.map_or(step.settings.on_failure, |r| r.to);
    Some(StepReport {
        name: step.name.clone(),
        status: if failed {
            Status::Failed
        } else {
            Status::Succeeded
        },
        skip: None,
        reason: f.reason.clone().filter(|_| failed),
        failure: f.failure.clone().filter(|_| failed),
        attempts: f.attempts,
        duration: Duration::from_millis(f.duration_ms),
        exit_codes: f.exit_codes.clone(),
        continued: failed && to == typed::OnFailure::Continue,
        restored: true,
        gate: false,
        record: f.record.clone(),
        route: route.filter(|_| failed),
    })
}

pub(super) fn workflow_record(name: &str, status: &str, run_id: &str) -> Value {
    let mut fields = BTreeMap::new();
    fields.insert("name".to_string(), Value::Str(name.to_string()));
    fields.insert("status".to_string(), Value::Str(status.to_string()));
    fields.insert("run_id".to_string(), Value::Str(run_id.to_string()));
    Value::Record(fields)
}

/// The record of a step that did not run: built-in fields only.
pub(super) fn skipped_report(
    name: &str,
    cause: SkipCause,
    reason: String,
    shape: Shape,
) -> StepReport {
    not_run(name, Status::Skipped, Some(cause), reason, shape)
}

/// The report of a step that is not decided because the run is paused at an approval
/// gate: it is neither run nor skipped (nothing is journaled), so the resume that follows
/// the decision decides it.
fn held_report(name: &str, reason: String, shape: Shape) -> StepReport {
    not_run(name, Status::Waiting, None, reason, shape)
}

/// The report of a step that did not run, with this status and reason.
pub(super) fn not_run(
    name: &str,
    status: Status,
    skip: Option<SkipCause>,
    reason: String,
    shape: Shape,
) -> StepReport {
    StepReport {
        name: name.to_string(),
        status,
        skip,
        reason: Some(reason),
        failure: None,
        attempts: 0,
        duration: Duration::ZERO,
        exit_codes: Vec::new(),
        continued: false,
        restored: false,
        gate: false,
        record: record(status, &[], shape, BTreeMap::new()),
        route: None,
    }
}

/// The result record: built-in fields (and a gate's) and outputs (lists for a fan-out).
fn record(
    status: Status,
    instances: &[Instance],
    shape: Shape,
    outputs: BTreeMap<String, Value>,
) -> Value {
    let Shape { fan_out, gate } = shape;
    let mut fields = BTreeMap::new();
    fields.insert(
        "status".to_string(),
        Value::Str(status.as_str().to_string()),
    );
    let pick = |f: &dyn Fn(&Instance) -> Value, empty: Value| -> Value {
        if fan_out {
            Value::List(instances.iter().map(f).collect())
        } else {
            instances.first().map(f).unwrap_or(empty)
        }
    };
    fields.insert(
        "exit_code".to_string(),
        pick(&|i| Value::Int(i.exit_code.into()), Value::Int(-1)),
    );
    fields.insert(
        "stdout".to_string(),
        pick(&|i| Value::Str(i.stdout.clone()), Value::Str(String::new())),
    );
    fields.insert(
        "attempts".to_string(),
        pick(&|i| Value::Int(i.attempts.into()), Value::Int(0)),
    );
    fields.insert(
        "duration".to_string(),
        pick(
            &|i| Value::Duration(i.duration.as_millis() as u64),
            Value::Duration(0),
        ),
    );
    fields.insert(
        "timed_out".to_string(),
        pick(&|i| Value::Bool(i.timed_out), Value::Bool(false)),
    );
    fields.insert(
        "signal".to_string(),
        pick(
            &|i| Value::Str(i.signal.map(signal_name).unwrap_or_default()),
            Value::Str(String::new()),
        ),
    );
    if gate {
        for &name in crate::check::types::GATE_FIELDS {
            let value = |i: &Instance| {
                Value::Str(
                    i.gate
                        .as_ref()
                        .map_or_else(String::new, |d| gate_field(d, name)),
                )
            };
            fields.insert(name.to_string(), pick(&value, Value::Str(String::new())));
        }
    }
    fields.extend(outputs);
    Value::Record(fields)
}

/// Field `name` of a gate's result ([`crate::check::types::GATE_FIELDS`]) for `d`.
fn gate_field(d: &GateDecision, name: &str) -> String {
    match name {
        "decision" => d.decision.as_str().to_string(),
        "approver" => d.by.clone(),
        "comment" => d.comment.clone(),
        _ => gate::time_text(d.at_ms),
    }
}

/// What a step's record holds besides its built-in fields: lists for a fan-out, and a
/// gate's fields for an approval step.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Shape {
    fan_out: bool,
    gate: bool,
}

impl Shape {
    /// The shape of `step`'s record.
    pub(super) fn of(step: &typed::Step) -> Shape {
        Shape {
            fan_out: step.fan_out.is_some(),
            gate: matches!(step.action, typed::Action::Approve(_)),
        }
    }
}

/// A signal's name as a step's `signal` field gives it: `SIGKILL`, or `SIG9` for a number
/// without one.
fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map_or_else(|_| format!("SIG{signal}"), |s| s.as_str().to_string())
}

/// The field of a fan-out step's record that keeps each instance's own record, for steps
/// that go with its instances ([`Ref::Instance`]) and are restored after it by a resume.
/// Not a name a flow file can write.
const INSTANCES: &str = "#instances";

/// One instance's own record: its built-in fields and outputs, its loop variables, and,
/// hidden, its index and why it was skipped.
fn instance_record(done: &Instance, spec: &Spec, gate: bool) -> Value {
    let shape = Shape {
        fan_out: false,
        gate,
    };
    let mut rec = record(
        done.status(),
        std::slice::from_ref(done),
        shape,
        done.outputs.clone(),
    );
    if let Value::Record(fields) = &mut rec {
        for (name, v) in &spec.locals {
            fields.insert(name.clone(), v.clone());
        }
        fields.insert(instances::AT.to_string(), instances::at_value(&spec.at));
        if done.skipped == Some(SkipCause::Failure) {
            fields.insert(
                instances::CAUSE.to_string(),
                Value::Str("failure".to_string()),
            );
        }
    }
    rec
}

/// Adds each instance's own record to a fan-out step's record.
fn keep_instances(step_record: &mut Value, done: &[Instance], specs: &[Spec], gate: bool) {
    let Value::Record(fields) = step_record else {
        return;
    };
    let each = done
        .iter()
        .zip(specs)
        .map(|(i, s)| instance_record(i, s, gate))
        .collect();
    fields.insert(INSTANCES.to_string(), Value::List(each));
}

/// A fed step restored by a resume (or read by a rollback): its instances as its record
/// kept them.
pub(super) fn restore_feed(shared: &Shared, i: usize, record: &Value) {
    let kept = match record {
        Value::Record(fields) => match fields.get(INSTANCES) {
            Some(Value::List(items)) => items.as_slice(),
            _ => &[],
        },
        _ => &[],
    };
    let at = (kept.iter().enumerate())
        .map(|(k, r)| instances::at_of(r, k))
        .collect();
    if let Some(feed) = shared.start_feed(i, at) {
        for (k, r) in kept.iter().enumerate() {
            feed.publish(k, r.clone());
        }
    }
}

/// The results of the instances that go with the instance at `at`, once they have ended
/// ([`typed::FanOut::counterparts`]): one instance's record, or the record of the several
/// that share the prefix. `None` when the step is stopped while it waits.
async fn paired_results(
    shared: &Shared,
    fan: &typed::FanOut,
    at: &[usize],
    results: &HashMap<String, Value>,
    cancel: &CancellationSignal,
) -> Option<Vec<(StepId, Value)>> {
    let steps = &shared.workflow_resolved().steps;
    let mut paired = Vec::with_capacity(fan.counterparts.len());
    for c in &fan.counterparts {
        let Some(target) = steps.get(c.step.index()) else {
            continue;
        };
        let prefix = &at[..c.prefix.min(at.len())];
        let exact = shared.workflow_resolved().dims(c.step) == prefix.len();
        let value =
            match shared.feed(c.step.index()) {
                Some(feed) => {
                    let range = feed.range(prefix);
                    let exact = feed.exact(&range, prefix);
                    let mut cancel = cancel.clone();
                    // Biased: the instances published before the step was cancelled decide
                    // (a failure upstream that is also what cancels it is named as the cause).
                    let records = tokio::select! {
                        biased;
                        records = feed.wait(range) => records,
                        _ = cancel.cancelled() => return None,
                    };
                    if exact {
                        records.into_iter().next()
                    } else {
                        let outputs: Vec<String> =
                            target.outputs.iter().map(|o| o.name.clone()).collect();
                        Some(instances::slice_record(&records, &outputs))
                    }
                }
                // It did not run: its instances have its status, and nothing else.
                None => {
                    let status = results.get(&target.name).map_or(Status::Skipped, |r| {
                        match instances::status_of(r) {
                            "failed" => Status::Failed,
                            "cancelled" => Status::Cancelled,
                            "waiting" => Status::Waiting,
                            _ => Status::Skipped,
                        }
                    });
                    let shape = Shape {
                        fan_out: !exact,
                        gate: matches!(target.action, typed::Action::Approve(_)),
                    };
                    Some(record(status, &[], shape, BTreeMap::new()))
                }
            };
        if let Some(v) = value {
            paired.push((c.step, v));
        }
    }
    Some(paired)
}

/// What becomes of an instance that does not run.
enum Fate {
    /// It is skipped, for this reason.
    Skip(SkipCause, String),
    /// It is neither run nor skipped: an instance that goes with it waits at a gate.
    Hold(String),
    /// It does not start: an instance that goes with it had not finished when the run
    /// paused.
    Pause(String),
}

/// Why instance `at` of a fan-out step does not run (`None`: it runs), by §16's rules
/// applied instance by instance: from the instances that go with it (`paired`), then its
/// own condition (an error evaluating that fails the instance).
///
/// An instance of a `for` over a step runs only when the instance it iterates
/// succeeded: a skipped one skips it with the same cause, a failed or cancelled one
/// because of a failure. The steps of a call with `for` follow the rules of whole steps:
/// an instance waits for the others, and is skipped only when one it waits for failed
/// (and that failure is not let through by `on_failure continue` or a fallback that
/// succeeded), or when it reads an output that one does not have.
fn instance_fate(
    shared: &Shared,
    step: &typed::Step,
    fan: &typed::FanOut,
    env: &StepEnv<'_>,
    at: &[usize],
) -> Result<Option<Fate>, StepFailure> {
    let steps = &shared.workflow_resolved().steps;
    for (id, rec) in env.paired {
        let Some(target) = steps.get(id.index()) else {
            continue;
        };
        let prefix = fan.counterpart(*id).map_or(0, |c| c.prefix.min(at.len()));
        // `worker[1]`; `each.deploy[1,*]` for the instances of one run of a workflow.
        let mut name = instances::label(&target.name, &at[..prefix], true);
        if shared.workflow_resolved().dims(*id) > prefix {
            let rest = if prefix == 0 { "*" } else { ",*" };
            name.insert_str(name.len() - 1, rest);
        }
        let iterates = fan.over == Some(*id);
        let reads_output = step
            .deps
            .iter()
            .any(|d| d.step == *id && d.kind == DepKind::Output);
        // (A step with failure routes decides where its failure goes once it has ended:
        // until then none of its failed instances is let through.)
        let let_through = match target.settings.on_failure {
            _ if !target.settings.routes.is_empty() => false,
            typed::OnFailure::Continue => true,
            typed::OnFailure::Fallback(l) => (env.results.get(&steps[l.step.index()].name))
                .is_some_and(|r| instances::status_of(r) == Status::Succeeded.as_str()),
            typed::OnFailure::FailFast => false,
        };
        let has_outputs = match rec {
            Value::Record(fields) => target.outputs.iter().all(|o| fields.contains_key(&o.name)),
            _ => false,
        };
        let cause = match rec {
            Value::Record(fields) if fields.contains_key(instances::CAUSE) => SkipCause::Failure,
            _ => SkipCause::Condition,
        };
        let missing = || format!("it reads an output of `{name}`, which has none");
        let fate = match instances::status_of(rec) {
            "waiting" => Some(Fate::Hold(format!("`{name}` is waiting"))),
            "paused" => Some(Fate::Pause(format!("`{name}` had not finished"))),
            "cancelled" => Some(Fate::Skip(
                SkipCause::Failure,
                format!("`{name}` was cancelled"),
            )),
            "failed" if reads_output => Some(Fate::Skip(SkipCause::Failure, missing())),
            "failed" if iterates || !let_through => {
                Some(Fate::Skip(SkipCause::Failure, format!("`{name}` failed")))
            }
            "skipped" if reads_output => Some(Fate::Skip(cause, missing())),
            "skipped" if iterates => Some(Fate::Skip(cause, format!("`{name}` was skipped"))),
            "succeeded" if reads_output && !has_outputs => {
                Some(Fate::Skip(SkipCause::Condition, missing()))
            }
            _ => None,
        };
        if fate.is_some() {
            return Ok(fate);
        }
    }
    match fan.instance_when.as_ref().map(|c| eval::eval_typed(c, env)) {
        None | Some(Ok(Value::Bool(true))) => Ok(None),
        Some(Ok(_)) => Ok(Some(Fate::Skip(
            SkipCause::Condition,
            "its condition is false".to_string(),
        ))),
        Some(Err(EvalError::Pending)) => Ok(Some(Fate::Skip(
            SkipCause::Condition,
            "its condition reads a result that does not exist".to_string(),
        ))),
        Some(Err(e)) => Err(StepFailure::eval("the instance's `when` condition", e)),
    }
}

pub(super) enum Decision {
    Skip(SkipCause, String),
    /// Fail without running: its fan-out list or its condition cannot be evaluated.
    Fail(StepFailure),
    /// Neither run nor skip: the run is paused at an approval gate that this step waits
    /// for (or, for a `finally` step, the run is paused), so a resume decides it.
    Hold(String),
    /// Run these instances (one, with an empty index, for a step that does not fan out).
    Run(Vec<Spec>),
}

/// Decides a step the rules let run: enumerates its instances and evaluates its `when`.
pub(super) fn decide(i: usize, shared: &Shared, results: &HashMap<String, Value>) -> Decision {
    let Some(resolved) = shared.workflow_resolved().steps.get(i) else {
        return Decision::Skip(
            SkipCause::Failure,
            "internal error: step not found".to_string(),
        );
    };
    let env = StepEnv::of(shared, results);
    let mut instances = vec![Spec::default()];
    if let Some(fan) = &resolved.fan_out {
        match enumerate(shared, fan, &env) {
            Ok(specs) => instances = specs,
            Err(decision) => return decision,
        }
    }
    if let Some(cond) = &resolved.when {
        match eval::eval_typed(cond, &env) {
            Ok(Value::Bool(true)) => {}
            Ok(_) => {
                return Decision::Skip(SkipCause::Condition, "its condition is false".to_string())
            }
            Err(EvalError::Pending) => {
                return Decision::Skip(
                    SkipCause::Condition,
                    "its condition reads a result that does not exist".to_string(),
                )
            }
            Err(e) => return Decision::Fail(StepFailure::eval("the `when` condition", e)),
        }
    }
    Decision::Run(instances)
}

/// The instances of a fan-out, in row-major order: the elements of its list (or the
/// instances of the step it iterates), then for each of them the elements of the next
/// list of a matrix, evaluated with the variables before it bound (so a list may depend
/// on them), and so on.
fn enumerate(
    shared: &Shared,
    fan: &typed::FanOut,
    env: &StepEnv<'_>,
) -> Result<Vec<Spec>, Decision> {
    let list_of = |e: &typed::Expr, env: &StepEnv<'_>| match eval::eval_typed(e, env) {
        Ok(Value::List(items)) => Ok(items),
        Ok(other) => Err(Decision::Fail(StepFailure::eval(
            "the fan-out list",
            EvalError::Internal(format!("`for` got {other}, not a list")),
        ))),
        Err(e) => Err(Decision::Fail(StepFailure::eval("the fan-out list", e))),
    };
    let mut specs: Vec<Spec> = match fan.over {
        Some(up) => match shared.feed(up.index()) {
            Some(feed) => (feed.at.iter())
                .map(|at| Spec {
                    at: at.clone(),
                    locals: Vec::new(),
                })
                .collect(),
            None => {
                let name = (shared.workflow_resolved().steps.get(up.index()))
                    .map_or("", |s| s.name.as_str());
                return Err(Decision::Skip(
                    SkipCause::Failure,
                    format!("`{name}` has no instances: it did not run"),
                ));
            }
        },
        None => (list_of(&fan.list, env)?.into_iter().enumerate())
            .map(|(k, v)| Spec {
                at: vec![k],
                locals: vec![(fan.var.clone(), v)],
            })
            .collect(),
    };
    for axis in &fan.matrix {
        let mut product = Vec::new();
        for spec in specs {
            // A list that reads a paired instance has it: such a step waits for all of
            // the steps it goes with before it starts.
            let paired = ready_pairs(shared, fan, &spec.at, env.results);
            let inner = StepEnv {
                locals: &spec.locals,
                paired: &paired,
                ..*env
            };
            for (k, v) in list_of(&axis.list, &inner)?.into_iter().enumerate() {
                let mut at = spec.at.clone();
                at.push(k);
                let mut locals = spec.locals.clone();
                locals.push((axis.var.clone(), v));
                product.push(Spec { at, locals });
            }
        }
        specs = product;
    }
    Ok(specs)
}

/// [`paired_results`] without waiting: what the feeds of the paired steps have already.
fn ready_pairs(
    shared: &Shared,
    fan: &typed::FanOut,
    at: &[usize],
    results: &HashMap<String, Value>,
) -> Vec<(StepId, Value)> {
    let never = CancellationSignal::never();
    let ready = paired_results(shared, fan, at, results, &never);
    // Every feed a matrix list reads has ended (see `Step::waits_per_instance`), so this
    // completes at once; a pending one is taken as missing.
    futures_now(ready).flatten().unwrap_or_default()
}

/// The output of a future that is ready at its first poll.
fn futures_now<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

/// What one instance of a step did.
#[derive(Clone, Debug, Default)]
struct Instance {
    status_ok: bool,
    exit_code: i32,
    /// Its last attempt ran past its `timeout` (or, for a gate, nobody decided in time).
    timed_out: bool,
    /// The signal that ended its last attempt's process, when flowc did not stop it.
    signal: Option<i32>,
    /// For an approval gate: what was decided.
    gate: Option<GateDecision>,
    stdout: String,
    attempts: u32,
    duration: Duration,
    outputs: BTreeMap<String, Value>,
    /// Why it failed.
    failure: Option<StepFailure>,
    /// Why it waits, or `cancelled` (already redacted).
    note: Option<String>,
    cancelled: bool,
    waiting: bool,
    /// Not finished because the run is pausing: it had not started, or a retry was due.
    paused: bool,
    /// Skipped by its own condition ([`typed::FanOut::instance_when`]), or by the
    /// instances that go with it, with the cause.
    skipped: Option<SkipCause>,
    /// Why it was skipped by the instances that go with it.
    skip_reason: Option<String>,
    /// When its first attempt started (its process, or its sleep or question); `None`
    /// when nothing was started.
    started: Option<Instant>,
}

impl Instance {
    /// An instance that was not started because its step was stopped first.
    fn not_started() -> Instance {
        Instance {
            exit_code: -1,
            cancelled: true,
            ..Instance::default()
        }
    }

    /// An instance that does not start (or retry) because the run is pausing.
    fn paused(note: &str) -> Instance {
        Instance {
            exit_code: -1,
            paused: true,
            note: Some(note.to_string()),
            ..Instance::default()
        }
    }

    /// An instance that did not start: its condition is false, or an instance that goes
    /// with it did not give what it needs.
    fn skipped(cause: SkipCause) -> Instance {
        Instance {
            status_ok: true,
            exit_code: -1,
            skipped: Some(cause),
            ..Instance::default()
        }
    }

    /// An instance that is neither run nor skipped: one that goes with it waits at a gate.
    fn held(note: String) -> Instance {
        Instance {
            exit_code: -1,
            waiting: true,
            note: Some(note),
            ..Instance::default()
        }
    }

    /// Its status, as one instance's record gives it.
    fn status(&self) -> Status {
        if self.skipped.is_some() {
            Status::Skipped
        } else if self.failed() {
            Status::Failed
        } else if self.waiting {
            Status::Waiting
        } else if self.paused {
            Status::Paused
        } else if self.cancelled {
            Status::Cancelled
        } else {
            Status::Succeeded
        }
    }

    /// Whether it failed on its own (not cancelled, not waiting at a gate, not paused).
    fn failed(&self) -> bool {
        !self.status_ok && !self.cancelled && !self.waiting && !self.paused
    }
}

/// The name of a step instance's log and output files (without extension): `build`,
/// `greet.3` for `greet[3]`, `call.step` for a step of an inlined sub-workflow. Any other
/// character that is not a letter, a digit or `_` becomes `.`.
pub fn log_stem(label: &str) -> String {
    label
        .chars()
        .filter(|&c| c != ']')
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '.'
            }
        })
        .collect()
}

/// A step about to run: its resolved form and the values of its task's parameters.
struct Plan<'a> {
    step: &'a typed::Step,
    /// The task parameters' values, for a step that calls a task.
    args: Vec<(String, Value)>,
}

impl Plan<'_> {
    /// The outputs the step's command writes to `$FLOW_OUTPUT`, with their types.
    fn written(&self) -> Vec<(String, crate::check::Type)> {
        (self.step.outputs.iter())
            .filter(|o| o.value.is_none())
            .map(|o| (o.name.clone(), o.ty.clone()))
            .collect()
    }
}

fn plan_step<'a>(step: &'a typed::Step, env: &StepEnv<'_>) -> Result<Plan<'a>, StepFailure> {
    if let typed::Action::Workflow(call) = &step.action {
        return Err(sub_workflow(&call.name));
    }
    let mut args = Vec::new();
    if let Some(call) = &step.call {
        for (name, value) in &call.args {
            let v = eval::eval_typed(value, env)
                .map_err(|e| StepFailure::eval(format!("argument `{name}`"), e))?;
            args.push((name.clone(), v));
        }
    }
    Ok(Plan { step, args })
}

/// A call of a sub-workflow that was not inlined: this flowc cannot run it.
fn sub_workflow(name: &str) -> StepFailure {
    StepFailure::Unsupported {
        what: format!("running the sub-workflow `{name}` in place"),
    }
}

/// A fan-out's bound on instances at once, as evaluated when the step starts (no bound
/// when it cannot be).
fn bound(e: &typed::Expr, env: &StepEnv<'_>) -> usize {
    match eval::eval_typed(e, env) {
        Ok(Value::Int(k)) if k > 0 => usize::try_from(k).unwrap_or(usize::MAX),
        _ => usize::MAX,
    }
    .min(Semaphore::MAX_PERMITS)
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn run_step(
    shared: &Shared,
    index: usize,
    name: &str,
    fan_out: bool,
    instances: Vec<Spec>,
    feed: Option<Arc<Feed>>,
    results: HashMap<String, Value>,
    cancel: CancellationSignal,
    stop_on_failure: Option<Canceller>,
    handler: bool,
) -> StepReport {
    let Some(step) = shared.workflow_resolved().steps.get(index) else {
        return skipped_report(
            name,
            SkipCause::Failure,
            "internal error".to_string(),
            Shape {
                fan_out,
                gate: false,
            },
        );
    };
    let step_env = StepEnv::of(shared, &results);
    let fan = step.fan_out.as_deref();
    let max_instances = fan
        .and_then(|f| f.max.as_ref())
        .map_or(Semaphore::MAX_PERMITS, |m| bound(m, &step_env));
    let fan_slots = Semaphore::new(max_instances);
    // A bound per run of a called workflow: one semaphore per prefix of that length.
    let mut per_run: Vec<(usize, HashMap<Vec<usize>, Semaphore>)> = Vec::new();
    for (n, max) in fan.map_or(&[][..], |f| f.max_per.as_slice()) {
        let k = bound(max, &step_env);
        let runs = (instances.iter())
            .map(|s| (s.at[..(*n).min(s.at.len())].to_vec(), Semaphore::new(k)))
            .collect();
        per_run.push((*n, runs));
    }
    let step_budget = match fan_budget(shared, step, &results) {
        Ok(budget) => budget,
        Err(failure) => {
            count_failure(shared, name, None);
            let failure = redacted(shared, &failure);
            let report = StepReport {
                status: Status::Failed,
                reason: Some(failure.message.clone()),
                failure: Some(failure),
                ..not_run(name, Status::Failed, None, String::new(), Shape::of(step))
            };
            return finish_routed(shared, index, report, None);
        }
    };
    let budgets = Budgets {
        run: (!handler).then_some(&shared.budget),
        step: step_budget.as_ref(),
    };
    let priority = shared.priorities.get(index).copied().unwrap_or(0);
    // Whether an attempt that succeeds hands its slot on at once, and past which claim.
    // Not for a step with outputs: it can still fail once its process has ended. A
    // fan-out that bounds its instances at once counts its own next instance, which
    // claims its slot only after one ends.
    let hand_off = match &shared.hand_off {
        Some(best) if step.outputs.is_empty() => {
            let limited = max_instances < Semaphore::MAX_PERMITS || !per_run.is_empty();
            let own = limited.then(|| Claim::new(priority, index, 0));
            HandOff::Above(best.get(index).copied().flatten().max(own))
        }
        _ => HandOff::Never,
    };
    let count = instances.len();
    // Made one at a time as the join takes them (no list of them all at once).
    let tasks = instances.into_iter().enumerate().map(|(k, spec)| {
        let label = instances::label(name, &spec.at, fan_out);
        let results = &results;
        let cancel = cancel.clone();
        let fan_slots = &fan_slots;
        let per_run = &per_run;
        let feed = feed.as_deref();
        let stop = stop_on_failure.as_ref();
        let budgets = &budgets;
        async move {
            let mut spec = spec;
            let instance = async {
                // The instances it goes with first: it starts once they have ended.
                let paired = match fan.filter(|f| !f.counterparts.is_empty()) {
                    Some(f) => match paired_results(shared, f, &spec.at, results, &cancel).await {
                        Some(paired) => paired,
                        None => return Instance::not_started(),
                    },
                    None => Vec::new(),
                };
                // The loop variable of a `for` over a step is that instance's result.
                if let Some(f) = fan {
                    let over = (f.over).and_then(|o| paired.iter().find(|(p, _)| *p == o));
                    if let Some((_, rec)) = over {
                        spec.locals.insert(0, (f.var.clone(), rec.clone()));
                    }
                }
                let env = StepEnv {
                    locals: &spec.locals,
                    paired: &paired,
                    ..step_env
                };
                if let Some(f) = fan {
                    match instance_fate(shared, step, f, &env, &spec.at) {
                        Ok(None) => {}
                        Ok(Some(Fate::Skip(cause, reason))) => {
                            shared.emit(Event::StepSkipped {
                                step: label.clone(),
                                reason: reason.clone(),
                            });
                            let mut skipped = Instance::skipped(cause);
                            skipped.skip_reason = Some(reason);
                            return skipped;
                        }
                        Ok(Some(Fate::Hold(reason))) => return Instance::held(reason),
                        Ok(Some(Fate::Pause(reason))) => return Instance::paused(&reason),
                        Err(failure) => {
                            count_failure(shared, &label, budgets.step);
                            return Instance {
                                failure: Some(failure),
                                exit_code: -1,
                                ..Instance::default()
                            };
                        }
                    }
                }
                // At most `max` at once, in each run of a called workflow and in all.
                let mut permits = Vec::new();
                for (n, runs) in per_run {
                    let run = &spec.at[..(*n).min(spec.at.len())];
                    if let Some(sem) = runs.get(run) {
                        match sem.acquire().await {
                            Ok(p) => permits.push(p),
                            Err(_) => return Instance::default(),
                        }
                    }
                }
                let Ok(_fan) = fan_slots.acquire().await else {
                    return Instance::default();
                };
                // No new instance starts once the step is stopped, or the run is pausing.
                if cancel.is_cancelled() {
                    return Instance::not_started();
                }
                if shared.pausing() {
                    return Instance::paused("it had not started");
                }
                // Nor once a failure budget is spent (an instance a resume restores was
                // started before).
                let restored =
                    (shared.opts.resume.as_ref()).is_some_and(|r| r.instances.contains_key(&label));
                if let (Some(reason), false) = (budgets.spent(), restored) {
                    return Instance {
                        note: Some(reason),
                        ..Instance::not_started()
                    };
                }
                if fan_out {
                    shared.emit(Event::InstanceStarted {
                        step: name.to_string(),
                        instance: label.clone(),
                        index: k,
                    });
                }
                let ask = Ask {
                    claim: Claim::new(priority, index, k),
                    hand_off,
                };
                // Boxed: the state of a running attempt is large, and thousands of
                // instances may wait here for a slot; each holds a pointer until it runs.
                let instance = Box::pin(run_instance(
                    shared,
                    step,
                    &label,
                    &env,
                    cancel.clone(),
                    ask,
                    budgets,
                ))
                .await;
                drop(permits);
                if instance.failed() {
                    count_failure(shared, &label, budgets.step);
                }
                instance
            }
            .await;
            if let (Some(stop), true) = (stop, instance.failed()) {
                stop.cancel();
            }
            if fan_out {
                shared.emit(instance_finished(shared, name, &label, k, &instance));
            }
            if let Some(feed) = feed {
                let gate = matches!(step.action, typed::Action::Approve(_));
                feed.publish(k, instance_record(&instance, &spec, gate));
            }
            (instance, spec)
        }
    });
    let (done, specs): (Vec<Instance>, Vec<Spec>) =
        futures_join_all(tasks).await.into_iter().unzip();
    // A failure outranks the cancellations it caused among its siblings.
    let status = if done.iter().any(Instance::failed) {
        Status::Failed
    } else if done.iter().any(|i| i.waiting) {
        Status::Waiting
    } else if done.iter().any(|i| i.paused) {
        Status::Paused
    } else if done.iter().any(|i| i.cancelled) {
        Status::Cancelled
    } else {
        Status::Succeeded
    };
    let mut failed = done.iter().zip(&specs).filter_map(|(i, spec)| {
        (i.failure.as_ref())
            .filter(|_| i.failed())
            .map(|f| (spec, f))
    });
    let failure = match failed.next() {
        // The failed instance is named: `greet[3]: exit code 1`.
        Some((spec, first)) if fan_out => Some(StepFailure::instance(
            instances::label(name, &spec.at, true),
            failed.count(),
            first.clone(),
        )),
        Some((_, first)) => Some(first.clone()),
        None => None,
    };
    let failure = failure.map(|f| redacted(shared, &f));
    // Every instance skipped because of a failure (those it goes with failed): the step
    // did not run, and is skipped with that cause, as a step is by §16's rules.
    let all_failed_upstream =
        !done.is_empty() && done.iter().all(|i| i.skipped == Some(SkipCause::Failure));
    let (status, skip) = if all_failed_upstream {
        (Status::Skipped, Some(SkipCause::Failure))
    } else {
        (status, None)
    };
    let reason = match &failure {
        Some(f) => Some(f.message.clone()),
        None if all_failed_upstream => done
            .iter()
            .find_map(|i| i.skip_reason.as_ref())
            .map(|why| format!("every instance was skipped: {why}")),
        None => done.iter().find_map(|i| i.note.clone()),
    };
    let mut outputs = BTreeMap::new();
    // An instance skipped by its condition has no outputs: the lists would not line up
    // with the iterated list, so the step has none.
    if status == Status::Succeeded && !done.iter().any(|i| i.skipped.is_some()) {
        if fan_out {
            // Declared names, so that an empty fan-out has its outputs, as empty lists.
            let mut keys: Vec<String> = step.outputs.iter().map(|o| o.name.clone()).collect();
            keys.sort();
            for key in keys {
                let list = done
                    .iter()
                    .filter_map(|i| i.outputs.get(&key).cloned())
                    .collect();
                outputs.insert(key, Value::List(list));
            }
        } else if let Some(first) = done.first() {
            outputs = first.outputs.clone();
        }
    }
    let report = StepReport {
        name: name.to_string(),
        status,
        skip,
        reason,
        failure,
        attempts: done.iter().map(|i| i.attempts).sum(),
        // From the first process start: time spent waiting for a slot is not the step's.
        duration: done
            .iter()
            .filter_map(|i| i.started)
            .min()
            .map_or(Duration::ZERO, |t| t.elapsed()),
        exit_codes: done.iter().map(|i| i.exit_code).collect(),
        continued: false,
        restored: false,
        // A gate that waits, not a step whose instances wait behind one.
        gate: status == Status::Waiting && done.iter().any(|i| i.waiting && i.attempts > 0),
        record: {
            let shape = Shape::of(step);
            let mut record = record(status, &done, shape, outputs);
            if fan.is_some_and(|f| f.keep_instances) || feed.is_some() {
                keep_instances(&mut record, &done, &specs, shape.gate);
            }
            record
        },
        route: None,
    };
    if all_failed_upstream {
        // Journaled and reported as a skipped step, so that a resume decides it again.
        let why = report.reason.clone().unwrap_or_default();
        if let Some(j) = &shared.opts.journal {
            j.record(Record::StepSkipped {
                step: name.to_string(),
                reason: why.clone(),
            });
        }
        shared.emit(Event::StepSkipped {
            step: name.to_string(),
            reason: why,
        });
        return report;
    }
    if status == Status::Paused {
        // Not finished: nothing is journaled but the instances that finished, which a
        // resume keeps.
        let left = done.iter().filter(|i| i.paused).count();
        let what = match done
            .iter()
            .find_map(|i| i.note.clone().filter(|_| i.paused))
        {
            Some(note) if !fan_out => note,
            _ => format!("{left} of {count} instances had not finished"),
        };
        shared.emit(Event::StepPaused {
            step: name.to_string(),
            reason: what.clone(),
        });
        return StepReport {
            reason: Some(what),
            ..report
        };
    }

    // A step inlined from a call with `for` reads its own result instance by instance:
    // its routes read the first instance that failed.
    let first_failed = done.iter().position(Instance::failed);
    finish_routed(shared, index, report, first_failed)
}

/// [`finish`], for a step whose failure may take one of its conditional routes: the route
/// is chosen ([`take_route`]) and journaled before the step's finish, and reported after.
fn finish_routed(
    shared: &Shared,
    index: usize,
    mut report: StepReport,
    instance: Option<usize>,
) -> StepReport {
    let condition = take_route(shared, index, &mut report, instance);
    let report = finish(shared, report);
    if let Some(route) = report.route {
        shared.emit(Event::RouteTaken {
            step: report.name.clone(),
            to: route_target(shared.workflow_resolved(), route.to),
            condition,
        });
    }
    report
}

/// Where a route leads, as written: `continue`, `fail_fast` or a step's name.
fn route_target(wf: &typed::Workflow, to: typed::OnFailure) -> String {
    match to {
        typed::OnFailure::FailFast => "fail_fast".to_string(),
        typed::OnFailure::Continue => "continue".to_string(),
        typed::OnFailure::Fallback(l) => wf.step(l.step).name.clone(),
    }
}

/// For a failed step with conditional failure routes: sets the route its failure takes,
/// the first whose condition holds over the step's own result (for a step that reads its
/// result instance by instance, that of `instance`, its first failed one), else the route
/// without `if` (fail_fast when none was written), and journals it. Gives the taken
/// route's condition as written (`None` for the route without `if`). A condition that
/// cannot be evaluated does not hold; the step's output says why (E0482).
fn take_route(
    shared: &Shared,
    index: usize,
    report: &mut StepReport,
    instance: Option<usize>,
) -> Option<String> {
    let wf = shared.workflow_resolved();
    let step = wf.steps.get(index)?;
    let handler = step.finally || step.compensates.is_some();
    if report.status != Status::Failed || step.settings.routes.is_empty() || handler {
        return None;
    }
    let mut results: HashMap<String, Value> = HashMap::default();
    results.insert(step.name.clone(), report.record.clone());
    // An inlined step's own instance, for its routes' `Ref::Instance` of itself.
    let own: Vec<(StepId, Value)> = instance
        .and_then(|k| match &report.record {
            Value::Record(fields) => match fields.get(INSTANCES) {
                Some(Value::List(items)) => items.get(k).cloned(),
                _ => None,
            },
            _ => None,
        })
        .map(|rec| (StepId::new(index), rec))
        .into_iter()
        .collect();
    let env = StepEnv {
        paired: &own,
        ..StepEnv::of(shared, &results)
    };
    let routes = &step.settings.routes;
    let mut taken = routes.len();
    for (k, route) in routes.iter().enumerate() {
        match eval::eval_typed(&route.condition, &env) {
            Ok(Value::Bool(true)) => {
                taken = k;
                break;
            }
            Ok(_) | Err(EvalError::Pending) => {}
            Err(e) => {
                let error = RouteError {
                    step: step.name.clone(),
                    number: k + 1,
                    reason: e.to_string(),
                };
                let line = format!("error[E0482]: {error}");
                shared.emit(Event::Output {
                    step: step.name.clone(),
                    stream: "stderr",
                    line: shared.redactor().redact(&line).into_owned(),
                });
            }
        }
    }
    let route = RouteTaken::of(step, taken);
    report.route = Some(route);
    let condition = routes.get(taken).map(|r| r.condition.to_source(wf));
    if let Some(j) = &shared.opts.journal {
        j.record(Record::RouteTaken {
            step: step.name.clone(),
            route: taken as u32,
            to: route_target(wf, route.to),
            condition: condition.clone().unwrap_or_default(),
        });
    }
    condition
}

/// The [`Event::InstanceFinished`] of instance `label` (number `k`, in row-major order)
/// of fan-out step `name`: one for every instance, however it ended.
fn instance_finished(
    shared: &Shared,
    name: &str,
    label: &str,
    k: usize,
    instance: &Instance,
) -> Event {
    let failure = instance
        .failure
        .as_ref()
        .filter(|_| instance.failed())
        .map(|f| redacted(shared, f));
    Event::InstanceFinished {
        step: name.to_string(),
        instance: label.to_string(),
        index: k,
        status: instance.status(),
        attempts: instance.attempts,
        duration_ms: instance.duration.as_millis() as u64,
        reason: match &failure {
            Some(f) => Some(f.message.clone()),
            None => instance.note.clone(),
        },
        failure,
    }
}

/// A failure as coded parts, with every secret redacted.
pub(super) fn redacted(shared: &Shared, failure: &StepFailure) -> Failure {
    failure.plain().redacted(&shared.redactor())
}

/// Records a step's end in the journal and reports it, and gives its report back.
pub(super) fn finish(shared: &Shared, report: StepReport) -> StepReport {
    let name = &report.name;
    // Queued before the event below, which is reported only once this is on disk. The
    // scheduler goes on at once: any later record is durable only after this one.
    if let Some(j) = &shared.opts.journal {
        if let Some(f) = &report.failure {
            j.record(Record::StepFailed {
                step: name.clone(),
                failure: journal::to_record(f),
            });
        }
        j.record(Record::StepFinished {
            step: name.clone(),
            status: report.status.as_str().to_string(),
            attempts: report.attempts,
            duration_ms: report.duration.as_millis() as u64,
            exit_codes: report.exit_codes.clone(),
            reason: report.reason.clone(),
            record: journal::to_val_without_secrets(&report.record),
            fingerprint: shared.fingerprints.get(name).copied().unwrap_or(0),
            at_ms: journal::now_ms(),
        });
    }
    shared.emit(Event::StepFinished {
        step: name.clone(),
        status: report.status,
        attempts: report.attempts,
        duration_ms: report.duration.as_millis() as u64,
        reason: report.reason.clone(),
        failure: report.failure.clone(),
    });
    report
}

/// Runs futures concurrently and collects their results in order.
async fn futures_join_all<T: Default, F: std::future::Future<Output = T>>(
    mut futures: impl ExactSizeIterator<Item = F>,
) -> Vec<T> {
    let count = futures.len();
    // A step without `for` has one instance: awaited as it is, with nothing to allocate.
    if count == 1 {
        if let Some(only) = futures.next() {
            return vec![only.await];
        }
    }
    use futures_util::stream::{FuturesUnordered, StreamExt};
    let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None).take(count).collect();
    // Polled in index order at first (so instances claim fan-out permits in order), and
    // after that only when woken: one instance ending does not poll the thousands still
    // waiting, which made a large fan-out quadratic.
    let mut running: FuturesUnordered<_> = (futures.enumerate())
        .map(|(k, f)| async move { (k, f.await) })
        .collect();
    while let Some((k, v)) = running.next().await {
        if let Some(slot) = out.get_mut(k) {
            *slot = Some(v);
        }
    }
    out.into_iter().map(Option::unwrap_or_default).collect()
}

/// What one attempt does.
enum Action {
    Argv(Vec<String>),
    /// A standard-library action implemented in Rust (`native "http.get"`).
    Native(String),
    Sleep(Duration),
    Approve(String),
}

fn action_of(step: &typed::Step, env: &StepEnv<'_>) -> Result<Action, StepFailure> {
    let eval = |what: &str, e: &typed::Expr| -> Result<Value, StepFailure> {
        eval::eval_typed(e, env).map_err(|err| StepFailure::eval(what, err))
    };
    match &step.action {
        typed::Action::Run(command) => {
            let values = command
                .values
                .iter()
                .map(|e| eval("a value of the command", e).map(|v| v.to_text()))
                .collect::<Result<Vec<_>, _>>()?;
            let invocation = command::render(&command.template, &values)?;
            Ok(Action::Argv(invocation.argv()))
        }
        typed::Action::Exec(e) => {
            let items = match eval("the `exec` list", e)? {
                Value::List(items) => items.iter().map(Value::to_text).collect::<Vec<_>>(),
                other => vec![other.to_text()],
            };
            let invocation = command::exec(&items)?;
            Ok(Action::Argv(invocation.argv()))
        }
        typed::Action::Sleep(e) => match eval("the `sleep` duration", e)? {
            Value::Duration(ms) => Ok(Action::Sleep(Duration::from_millis(ms))),
            other => Err(StepFailure::eval(
                "the `sleep` duration",
                EvalError::Internal(format!("`sleep` got {other}")),
            )),
        },
        typed::Action::Native(name) => Ok(Action::Native(name.clone())),
        typed::Action::Approve(e) => Ok(Action::Approve(eval("the question", e)?.to_text())),
        typed::Action::Workflow(call) => Err(sub_workflow(&call.name)),
    }
}

async fn run_instance(
    shared: &Shared,
    step: &typed::Step,
    label: &str,
    env: &StepEnv<'_>,
    cancel: CancellationSignal,
    ask: Ask,
    budgets: &Budgets<'_>,
) -> Instance {
    let started = Instant::now();
    if let Some(done) = shared
        .opts
        .resume
        .as_ref()
        .and_then(|r| r.instances.get(label))
    {
        return Instance {
            status_ok: true,
            exit_code: done.exit_code,
            stdout: done.stdout.clone(),
            attempts: done.attempts,
            duration: Duration::from_millis(done.duration_ms),
            outputs: done.outputs.clone(),
            ..Instance::default()
        };
    }
    let fail = |failure: StepFailure| Instance {
        failure: Some(failure),
        exit_code: -1,
        ..Instance::default()
    };
    let attr = |what: &'static str, reason: String| fail(AttrError { what, reason }.into());
    let plan = match plan_step(step, env) {
        Ok(plan) => plan,
        Err(reason) => return fail(reason),
    };
    let env = StepEnv {
        values: env.values,
        results: env.results,
        locals: env.locals,
        extra: &[],
        run_id: env.run_id,
        shared,
        args: &plan.args,
        paired: env.paired,
    };
    let action = match action_of(step, &env) {
        Ok(a) => a,
        Err(reason) => return fail(reason),
    };
    let timeout = match &step.settings.timeout {
        None => None,
        Some(e) => match eval::eval_typed(e, &env) {
            Ok(Value::Duration(ms)) => Some(Duration::from_millis(ms)),
            Ok(other) => return attr("timeout", format!("{other} is not a duration")),
            Err(e) => return attr("timeout", e.to_string()),
        },
    };
    let mut policy = Policy::new(0);
    let mut retry_if = None;
    if let Some(r) = &step.settings.retry {
        match eval::eval_typed(&r.count, &env) {
            Ok(Value::Int(count)) => match u32::try_from(count) {
                Ok(n) => policy.retries = n,
                Err(_) => {
                    return attr("retry count", format!("{count} is not a number of retries"))
                }
            },
            Ok(other) => return attr("retry count", format!("{other} is not an int")),
            Err(e) => return attr("retry count", e.to_string()),
        }
        let duration = |e: &Option<typed::Expr>| -> Result<Option<Duration>, String> {
            match e.as_ref().map(|e| eval::eval_typed(e, &env)) {
                None => Ok(None),
                Some(Ok(Value::Duration(ms))) => Ok(Some(Duration::from_millis(ms))),
                Some(Ok(other)) => Err(format!("{other} is not a duration")),
                Some(Err(e)) => Err(e.to_string()),
            }
        };
        let delay = match duration(&r.backoff.delay) {
            Ok(d) => d.unwrap_or(retry::DEFAULT_DELAY),
            Err(reason) => return attr("backoff", reason),
        };
        policy.max = match duration(&r.backoff.max) {
            Ok(d) => d,
            Err(reason) => return attr("backoff", reason),
        };
        policy.backoff = match r.backoff.kind {
            typed::BackoffKind::Linear => Backoff::Linear(delay),
            typed::BackoffKind::Exponential => Backoff::Exponential {
                base: delay,
                max: None,
            },
            typed::BackoffKind::Fixed => Backoff::Fixed(delay),
        };
        policy.jitter = r.jitter;
        retry_if = r.condition.as_ref();
    }
    let cwd = match work_dir(shared, step, &env) {
        Ok(cwd) => cwd,
        Err(failure) => return fail(failure),
    };
    let mut env_vars: Vec<(String, String)> = Vec::new();
    for (name, value) in &step.settings.env {
        match eval::eval_typed(value, &env) {
            Ok(v) => env_vars.push((name.clone(), v.to_text())),
            Err(e) => return fail(StepFailure::eval(format!("env `{name}`"), e)),
        }
    }
    let safe_label = log_stem(label);
    let output_file = shared.opts.log_dir.join(format!("{safe_label}.out"));
    let log_file = shared.opts.log_dir.join(format!("{safe_label}.log"));
    env_vars.push(("FLOW_OUTPUT".to_string(), output_file.display().to_string()));
    // A native action goes through the same retry loop as a process (with no argv).
    let native = match &action {
        Action::Native(name) => Some(name.clone()),
        _ => None,
    };
    let native_args: super::native::Args = plan.args.iter().cloned().collect();
    env_vars.push((journal::RUN_ID_ENV.to_string(), shared.opts.run_id.clone()));
    let written = plan.written();
    let reads_outputs = !written.is_empty();

    match action {
        Action::Approve(question) => approval(shared, label, &question, timeout, started).await,
        Action::Sleep(d) => {
            let mut cancel = cancel;
            let cancelled = tokio::select! {
                _ = tokio::time::sleep(d) => false,
                _ = cancel.cancelled() => true,
            };
            let mut instance = Instance {
                status_ok: !cancelled,
                cancelled,
                attempts: 1,
                duration: started.elapsed(),
                started: Some(started),
                ..Instance::default()
            };
            computed_outputs(&plan, &env, &mut instance);
            journal_instance(shared, label, &instance);
            instance
        }
        Action::Argv(_) | Action::Native(_) => {
            let argv = match action {
                Action::Argv(argv) => argv,
                _ => Vec::new(),
            };
            let spec = process::Spec {
                argv,
                env: env_vars,
                cwd,
                timeout,
                grace: shared.opts.grace,
                redactor: shared.redactor(),
            };
            // Opened at the first line, so that thousands of steps waiting for a slot hold
            // no files open (and a step that prints nothing leaves no empty log).
            let log: Mutex<Option<std::fs::File>> = Mutex::new(None);
            // Set when the first attempt gets its slot: the step's duration counts from
            // there, not from when it began waiting for one.
            let first_start: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            // Why it never started, when a failure budget stopped it.
            let not_started: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let mut rng = fastrand::Rng::new();
            // Attempts that failed before a crash count against the retries.
            let prior = shared
                .opts
                .resume
                .as_ref()
                .and_then(|r| r.attempts.get(label).copied())
                .unwrap_or(0);
            policy.retries = policy.retries.saturating_sub(prior);
            let pausing = shared.pausing.subscribe();
            let (result, attempts, retry_due) = retry::run_unless_paused(
                &policy,
                &mut rng,
                &pausing,
                |r: &Attempt, attempt| {
                    if r.ok || r.cancelled {
                        return false;
                    }
                    match retry_if {
                        None => true,
                        Some(cond) => {
                            let extra = [
                                ("exit_code", Value::Int(r.exit_code.into())),
                                ("timed_out", Value::Bool(r.timed_out)),
                                ("attempt", Value::Int(attempt.into())),
                            ];
                            let retry_env = StepEnv {
                                values: env.values,
                                results: env.results,
                                locals: env.locals,
                                extra: &extra,
                                run_id: env.run_id,
                                shared: env.shared,
                                args: env.args,
                                paired: env.paired,
                            };
                            matches!(eval::eval_typed(cond, &retry_env), Ok(Value::Bool(true)))
                        }
                    }
                },
                |next, delay, r: &Attempt| {
                    let next = next + prior;
                    let failure = r.failure.as_ref().map(|f| redacted(shared, f));
                    let reason = failure
                        .as_ref()
                        .map_or_else(|| r.reason(), |f| f.message.clone());
                    if let Some(j) = &shared.opts.journal {
                        j.record(Record::AttemptFailed {
                            step: label.to_string(),
                            attempt: next - 1,
                            exit_code: r.exit_code,
                            reason: reason.clone(),
                        });
                    }
                    shared.emit(Event::Retrying {
                        step: label.to_string(),
                        next_attempt: next,
                        delay_ms: delay.as_millis() as u64,
                        reason,
                        code: failure.map(|f| f.code),
                    });
                },
                |attempt| {
                    let spec = &spec;
                    let cancel = cancel.clone();
                    let log = &log;
                    let log_file = &log_file;
                    let output_file = &output_file;
                    let native = native.as_deref();
                    let native_args = &native_args;
                    let first_start = &first_start;
                    let not_started = &not_started;
                    let attempt = attempt + prior;
                    async move {
                        // The slot first: a step waiting for one has not started.
                        let slot = shared.slots.acquire(ask.claim).await;
                        // Stopped while it waited: it does not start at all; nor when the
                        // run is pausing.
                        if cancel.is_cancelled() || shared.pausing() {
                            return Attempt::cancelled();
                        }
                        // A failure budget spent while it waited: it does not start (a
                        // step that has started goes on to its end, retries included).
                        if first_start.get().is_none() {
                            if let Some(reason) = budgets.spent() {
                                let _ = not_started.set(reason);
                                return Attempt::cancelled();
                            }
                        }
                        first_start.get_or_init(Instant::now);
                        shared.emit(Event::StepStarted {
                            step: label.to_string(),
                            attempt,
                        });
                        // A reused --log-dir may hold an old output file; only a step
                        // with declared outputs reads it back. Created empty and 0600,
                        // so that what the step writes there is its owner's alone.
                        if reads_outputs {
                            outputs::prepare(output_file);
                        }
                        let redactor = shared.redactor();
                        let mut sink = |stream: Stream, line: &str| {
                            let line = redactor.redact(line).into_owned();
                            if let Ok(mut guard) = log.lock() {
                                if guard.is_none() {
                                    use std::os::unix::fs::OpenOptionsExt;
                                    *guard = std::fs::OpenOptions::new()
                                        .create(true)
                                        .append(true)
                                        .mode(0o600)
                                        .open(log_file)
                                        .ok();
                                }
                                if let Some(file) = guard.as_mut() {
                                    use std::io::Write;
                                    let _ = writeln!(file, "{line}");
                                }
                            }
                            shared.emit(Event::Output {
                                step: label.to_string(),
                                stream: if stream == Stream::Stdout {
                                    "stdout"
                                } else {
                                    "stderr"
                                },
                                line,
                            });
                        };
                        if let Some(name) = native {
                            return attempt::native(
                                name,
                                native_args,
                                output_file,
                                timeout,
                                cancel,
                                &mut sink,
                            )
                            .await;
                        }
                        let mut on_start = |pgid: i32| {
                            if let Some(j) = &shared.opts.journal {
                                j.record_lazily(Record::StepStarted {
                                    step: label.to_string(),
                                    attempt,
                                    pgid,
                                    at_ms: journal::now_ms(),
                                });
                            }
                        };
                        let attempt =
                            match process::run_with(spec, &mut sink, cancel, &mut on_start).await {
                                Ok(outcome) => Attempt::from_outcome(outcome, timeout),
                                Err(e) => Attempt::failed(e.into()),
                            };
                        // Done with its slot: after a success (nothing else about the step
                        // can fail now) it goes straight to the claim the dispatch would
                        // give it to. That claim's attempt starts as soon as this task is
                        // done reporting, before the run loop's next turn.
                        if let (HandOff::Above(above), true) = (ask.hand_off, attempt.ok) {
                            slot.hand_off(above);
                        }
                        attempt
                    }
                },
            )
            .await;
            if retry_due || (result.cancelled && !cancel.is_cancelled() && shared.pausing()) {
                let note = if retry_due {
                    format!("attempt {} was due", attempts + prior + 1)
                } else {
                    "it had not started".to_string()
                };
                return Instance::paused(&note);
            }
            // The outputs first: a `secret` one joins the run's redactor before anything
            // else of this step is kept or shown, and a plain one holding a secret fails
            // the step before a later step can read it (E0480).
            let outputs = (result.ok && reads_outputs).then(|| {
                let read = outputs::read(&output_file, &written, &shared.redactor());
                let mut secrets = Vec::new();
                if let Ok(values) = &read {
                    values
                        .values()
                        .for_each(|v| outputs::secrets_in(v, &mut secrets));
                }
                (read, secrets)
            });
            let new_secrets = outputs.as_ref().is_some_and(|(_, s)| !s.is_empty());
            if let Some((_, secrets)) = &outputs {
                shared.add_secrets(secrets.clone());
            }
            let outputs = outputs.map(|(read, _)| read);
            let redactor = shared.redactor();
            // A step with no declared outputs may still have written the file: scrubbed
            // when there is a secret to take out of it. Without one, nothing is opened
            // (the file is in the run's 0700 log directory either way).
            if reads_outputs || !redactor.is_empty() {
                outputs::scrub(&output_file, &redactor);
            }
            // What the step printed before its secret output was known is in its log:
            // redacted now (it was shown as it came, which the docs say).
            if new_secrets {
                if let Ok(mut log) = log.lock() {
                    log.take();
                }
                outputs::scrub(&log_file, &redactor);
            }
            let mut instance = Instance {
                status_ok: result.ok,
                exit_code: result.exit_code,
                timed_out: result.timed_out,
                signal: result.signal,
                gate: None,
                stdout: redactor.redact(&result.stdout).into_owned(),
                // An attempt a failure budget kept from starting is none.
                attempts: (attempts + prior).saturating_sub(u32::from(not_started.get().is_some())),
                duration: first_start.get().map_or(Duration::ZERO, |t| t.elapsed()),
                outputs: BTreeMap::new(),
                note: result.cancelled.then(|| {
                    (not_started.get().or(shared.stopped.get()))
                        .cloned()
                        .unwrap_or_else(|| "cancelled".to_string())
                }),
                failure: if result.ok { None } else { result.failure },
                cancelled: result.cancelled,
                waiting: false,
                paused: false,
                skipped: None,
                skip_reason: None,
                started: first_start.get().copied(),
            };
            match outputs {
                Some(Ok(outputs)) => instance.outputs = outputs,
                Some(Err(failure)) => {
                    instance.status_ok = false;
                    instance.failure = Some(failure);
                }
                None => {}
            }
            computed_outputs(&plan, &env, &mut instance);
            journal_instance(shared, label, &instance);
            instance
        }
    }
}

/// Journals a fan-out instance that succeeded, so that a resume keeps it (and the
/// instances that go with it); not one with `secret` outputs, which the journal does not
/// hold (it runs again).
fn journal_instance(shared: &Shared, label: &str, instance: &Instance) {
    let Some(j) = &shared.opts.journal else {
        return;
    };
    if !instance.status_ok || !label.ends_with(']') {
        return;
    }
    let mut secret_outputs = Vec::new();
    instance
        .outputs
        .values()
        .for_each(|v| outputs::secrets_in(v, &mut secret_outputs));
    if !secret_outputs.is_empty() {
        return;
    }
    j.record(Record::InstanceFinished {
        step: label.to_string(),
        exit_code: instance.exit_code,
        stdout: instance.stdout.clone(),
        attempts: instance.attempts,
        duration_ms: instance.duration.as_millis() as u64,
        outputs: instance
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), journal::to_val_without_secrets(v)))
            .collect(),
        fingerprint: shared
            .fingerprints
            .get(journal::step_of(label))
            .copied()
            .unwrap_or(0),
    });
}

/// Decides approval gate instance `label` ([`gate::decide`]): a decision recorded earlier,
/// a pre-approval, a deadline that has passed, or the approver at the terminal, asked for
/// as long as the deadline allows; without one the gate waits. A new decision (or a new
/// deadline) is journaled. Approved, the instance succeeds; refused or timed out, it
/// fails, and its result says which (`decision`, `approver`, `comment`, `decided_at`).
async fn approval(
    shared: &Shared,
    label: &str,
    question: &str,
    timeout: Option<Duration>,
    started: Instant,
) -> Instance {
    let resume = shared.opts.resume.as_deref();
    let step = journal::step_of(label);
    let pre_approved = if shared.opts.approve_all {
        Some("--approve-all".to_string())
    } else {
        (shared.opts.approve.iter())
            .find(|s| *s == label || label.starts_with(&format!("{s}[")))
            .map(|s| format!("--approve {s}"))
    };
    let now = journal::now_ms();
    let facts = gate::Gate {
        recorded: resume.and_then(|r| r.approvals.get(label).or_else(|| r.approvals.get(step))),
        pre_approved,
        kept_deadline: resume.and_then(|r| r.deadlines.get(label).copied()),
        timeout,
        now_ms: now,
    };
    let login = || gate::login_name().unwrap_or_default();
    let question = shared.redactor().redact(question).into_owned();
    let (decision, fresh) = match gate::decide(&facts, login) {
        gate::Step::Decided { decision, fresh } => (decision, fresh),
        gate::Step::Ask { deadline, opened } => {
            if let (Some(j), Some(deadline_ms), true) = (&shared.opts.journal, deadline, opened) {
                j.record(Record::GateOpened {
                    step: label.to_string(),
                    deadline_ms,
                });
            }
            let Some(approver) = &shared.opts.approver else {
                return waiting(shared, label, &question, deadline, started);
            };
            // Asked until the gate's deadline, and never past the run's.
            let until = match (deadline, shared.deadline.map(|(d, _)| d)) {
                (Some(gate), Some(run)) => Some(gate.min(run)),
                (gate, run) => gate.or(run),
            };
            let wait = until.map(|d| Duration::from_millis(d.saturating_sub(now)));
            let answer = ask(approver, &question, label, wait).await;
            if let Some((run_ms, limit)) = shared.deadline {
                let late = journal::now_ms() >= run_ms && deadline.is_none_or(|d| d > run_ms);
                if answer == gate::Answer::Late && late {
                    // The run's timeout, not the gate's: stopped, not decided.
                    return Instance {
                        cancelled: true,
                        exit_code: -1,
                        attempts: 1,
                        note: Some(format!("stopped: {}", timeout_reason(limit))),
                        duration: started.elapsed(),
                        started: Some(started),
                        ..Instance::default()
                    };
                }
            }
            let (by, at_ms) = (login(), journal::now_ms());
            let decision = match answer {
                gate::Answer::Yes | gate::Answer::No => GateDecision {
                    decision: if answer == gate::Answer::Yes {
                        gate::Decision::Approved
                    } else {
                        gate::Decision::Refused
                    },
                    by,
                    comment: String::new(),
                    at_ms,
                },
                gate::Answer::Late => gate::timed_out(deadline.unwrap_or(at_ms)),
            };
            (decision, true)
        }
    };
    if let (Some(j), true) = (&shared.opts.journal, fresh) {
        j.record(Record::Decision {
            step: label.to_string(),
            decision: decision.decision.as_str().to_string(),
            by: decision.by.clone(),
            comment: decision.comment.clone(),
            at_ms: decision.at_ms,
        });
    }
    let mut instance = Instance {
        attempts: 1,
        duration: started.elapsed(),
        started: Some(started),
        ..Instance::default()
    };
    match decision.decision {
        gate::Decision::Approved => {
            let by = match decision.by.as_str() {
                "" => String::new(),
                who => format!(" by {who}"),
            };
            shared.emit(Event::Output {
                step: label.to_string(),
                stream: "stdout",
                line: format!("approved{by}: {question}"),
            });
            instance.status_ok = true;
        }
        gate::Decision::Refused => {
            instance.exit_code = -1;
            instance.failure = Some(StepFailure::Refused { question });
        }
        gate::Decision::TimedOut => {
            instance.exit_code = -1;
            instance.timed_out = true;
            instance.failure = Some(StepFailure::ApprovalTimedOut {
                question,
                at: gate::time_text(decision.at_ms),
            });
        }
    }
    instance.gate = Some(decision);
    instance
}

/// A gate instance that nobody has decided yet: the run stops there, saying how to go
/// on (and by when, for a gate with a deadline).
fn waiting(
    shared: &Shared,
    label: &str,
    question: &str,
    deadline: Option<u64>,
    started: Instant,
) -> Instance {
    let by = deadline
        .map(|d| format!("; it times out at {}", gate::time_text(d)))
        .unwrap_or_default();
    let note = if shared.opts.journal.is_some() {
        format!(
            "waiting for approval: {question} (`flowc approve {} {}`, then `flowc resume {}`{by})",
            shared.opts.run_id,
            journal::step_of(label),
            shared.opts.run_id
        )
    } else {
        format!(
            "waiting for approval: {question} (run again with `--approve {}` or `--approve-all`)",
            journal::step_of(label)
        )
    };
    Instance {
        waiting: true,
        attempts: 1,
        note: Some(note),
        duration: started.elapsed(),
        started: Some(started),
        ..Instance::default()
    }
}

/// Asks `approver` about a gate on a blocking thread (it may wait for a person, at most
/// `wait`); a question that cannot be asked is refused.
async fn ask(
    approver: &Arc<dyn Approver>,
    question: &str,
    step: &str,
    wait: Option<Duration>,
) -> gate::Answer {
    let approver = Arc::clone(approver);
    let question = question.to_string();
    let step = step.to_string();
    tokio::task::spawn_blocking(move || approver.approve(&step, &question, wait))
        .await
        .unwrap_or(gate::Answer::No)
}

/// Evaluates the outputs of a succeeded instance that are computed from other steps'
/// results (a sub-workflow's declared outputs, on its call step).
fn computed_outputs(plan: &Plan<'_>, env: &StepEnv<'_>, instance: &mut Instance) {
    for output in &plan.step.outputs {
        let Some(value) = &output.value else {
            continue;
        };
        let name = &output.name;
        if !instance.status_ok {
            return;
        }
        match eval::eval_typed(value, env) {
            Ok(v) => {
                instance.outputs.insert(name.clone(), v);
            }
            Err(e) => {
                instance.status_ok = false;
                instance.failure = Some(StepFailure::eval(format!("output `{name}`"), e));
            }
        }
    }
}

/// Lets the tasks already queued on this thread run before the task that awaits it goes
/// on. It wakes its own task, which the one-thread runtime queues behind them.
/// (`tokio::task::yield_now` defers that wake to the driver's next turn instead: an
/// eventfd write and one more `epoll_wait` for every batch of steps started.)
#[derive(Default)]
struct YieldToQueued {
    yielded: bool,
}

impl std::future::Future for YieldToQueued {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.yielded {
            return std::task::Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}
