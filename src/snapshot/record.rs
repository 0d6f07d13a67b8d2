//! The records of a run journal, format version 5: what is on disk, kept apart from the
//! runtime's own types so that the runtime can change without changing the format. Steps
//! are named by their instance name: `build`, `test[3]` for a fan-out instance, and
//! `call.step` for a step of an inlined sub-workflow.
//!
//! Changing a record (a field, a variant, their order) changes the format: bump
//! [`super::FORMAT_VERSION`] and keep a golden file of the old version decoding. Version 2
//! added [`Record::StepFailed`] after the variants of version 1, which it lays out the same
//! way, so a version 1 journal decodes as it is. Version 3 added [`Record::RouteTaken`],
//! [`Record::GateOpened`] and [`Record::Decision`] the same way (and writes `Decision`
//! where version 2 wrote `Approval`). Version 4 added [`Record::GroupBusy`] and
//! [`Record::GroupTaken`] after those of version 3, in the same way; version 5 added the
//! records of operating a run ([`Record::Checkpoints`], [`Record::Resumed`],
//! [`Record::RollbackStarted`], [`Record::CompensationStarted`]) after those, and version
//! 6 [`Record::InstanceFailed`] after those.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A value as stored: the runtime's values, one for one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Val {
    /// Text.
    Str(String),
    /// An int.
    Int(i64),
    /// A float.
    Float(f64),
    /// A bool.
    Bool(bool),
    /// A duration in milliseconds.
    Duration(u64),
    /// A secret's text (the journal is private to its owner).
    Secret(String),
    /// A list.
    List(Vec<Val>),
    /// A map.
    Map(BTreeMap<String, Val>),
    /// A record.
    Record(BTreeMap<String, Val>),
}

/// How a run began: everything `flowc resume` needs to go on with the same inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    /// The run id.
    pub run_id: String,
    /// The workflow file, absolute.
    pub file: String,
    /// The workflow's name.
    pub workflow: String,
    /// The resolved parameter values.
    pub inputs: BTreeMap<String, Val>,
    /// `--max-parallel`.
    pub max_parallel: u32,
    /// `--approve-all`.
    pub approve_all: bool,
    /// `--approve` steps.
    pub approve: Vec<String>,
    /// Where step logs go, absolute.
    pub log_dir: String,
    /// The working directory of step processes, absolute.
    pub workdir: String,
    /// How many steps the workflow has.
    pub steps: u32,
    /// Unix time in milliseconds.
    pub at_ms: u64,
}

/// One state change of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Record {
    /// The run began (first record of a journal).
    RunStarted(RunStarted),
    /// A driver (`flowc run` or `flowc resume`) took over the run.
    Driver {
        /// Its process id.
        pid: u32,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// An attempt of a step instance started its process.
    StepStarted {
        /// The instance name.
        step: String,
        /// 1 for the first attempt.
        attempt: u32,
        /// The process group of the attempt (0 when it has no process).
        pgid: i32,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// An attempt failed (another may follow).
    AttemptFailed {
        /// The instance name.
        step: String,
        /// The attempt.
        attempt: u32,
        /// Its exit code (-1 when it has none).
        exit_code: i32,
        /// Why it failed.
        reason: String,
    },
    /// A step instance finished successfully (a fan-out's instances, one by one).
    InstanceFinished {
        /// The instance name.
        step: String,
        /// Its exit code.
        exit_code: i32,
        /// Its captured stdout.
        stdout: String,
        /// Attempts made.
        attempts: u32,
        /// Milliseconds.
        duration_ms: u64,
        /// Its declared outputs.
        outputs: BTreeMap<String, Val>,
        /// Its step's fingerprint.
        fingerprint: u64,
    },
    /// A step finished: its result, as the rest of the workflow sees it.
    StepFinished {
        /// The step name.
        step: String,
        /// `succeeded`, `failed`, `cancelled` or `waiting`.
        status: String,
        /// Attempts made (all instances).
        attempts: u32,
        /// Milliseconds.
        duration_ms: u64,
        /// Exit codes (per instance).
        exit_codes: Vec<i32>,
        /// Why it failed.
        reason: Option<String>,
        /// The result record.
        record: Val,
        /// The fingerprint of its definition and inputs.
        fingerprint: u64,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// A step was skipped.
    StepSkipped {
        /// The step name.
        step: String,
        /// Why.
        reason: String,
    },
    /// A decision at an approval gate (`flowc approve` / `flowc reject`).
    Approval {
        /// The step (or instance) name.
        step: String,
        /// Approved, or rejected.
        approved: bool,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// The run ended (for this driver).
    RunFinished {
        /// `succeeded`, `failed`, `cancelled`, `waiting`, or `skipped` (its concurrency
        /// group was held and its policy is `skip`); since format version 5 also `paused`
        /// (`flowc pause`) and `rolled_back` (`flowc rollback`).
        status: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// Why a step failed, with its code (since format version 2): written just before the
    /// step's `StepFinished`, whose `reason` is the failure's message.
    StepFailed {
        /// The step name.
        step: String,
        /// The failure.
        failure: Failure,
    },
    /// The failure route a failed step with conditional routes took (since format version
    /// 3): written just before the step's `StepFinished`.
    RouteTaken {
        /// The step name.
        step: String,
        /// The route's index among the step's routes in order; one past the conditional
        /// ones for the route without `if` (or fail_fast, when none was written).
        route: u32,
        /// Where it led: `continue`, `fail_fast` or a step's name.
        to: String,
        /// Its condition as written (empty for the route without `if`).
        condition: String,
    },
    /// An approval gate with a `timeout` began waiting (since format version 3): the time
    /// by which it must be decided, kept for every later driver of the run.
    GateOpened {
        /// The step (or instance) name.
        step: String,
        /// Unix time in milliseconds.
        deadline_ms: u64,
    },
    /// A decision at an approval gate (since format version 3; version 2 wrote
    /// `Approval`): by `flowc approve` / `flowc reject`, at the terminal, by `--approve`,
    /// or the gate's deadline.
    Decision {
        /// The step (or instance) name.
        step: String,
        /// `approved`, `refused` or `timed_out`.
        decision: String,
        /// Who decided (empty for a timeout).
        by: String,
        /// What they said (may be empty).
        comment: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// The driver found the run's concurrency group held by another run (since format
    /// version 4): it waits (`queue`), cancels that run and waits (`cancel`), or ends the
    /// run `skipped` (`skip`).
    GroupBusy {
        /// The group's name, as evaluated.
        group: String,
        /// `queue`, `skip` or `cancel`.
        policy: String,
        /// The run holding it (its id, or `pid N` when it has not said yet).
        holder: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// The driver took the run's concurrency group (since format version 4); it holds it
    /// until it exits. A resume takes this group again.
    GroupTaken {
        /// The group's name, as evaluated.
        group: String,
        /// `queue`, `skip` or `cancel`.
        policy: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// The checkpoint labels of the workflow as its driver compiled it (since format
    /// version 5), for `flowc status`: written when a driver takes the run over.
    Checkpoints {
        /// `(label, step)` pairs, in step order.
        labels: Vec<(String, String)>,
    },
    /// `flowc resume` went on with the run (since format version 5); `from` and `only` are
    /// the steps it was asked to run again. Ends a rollback that was left unfinished.
    Resumed {
        /// `--from` steps (or instances).
        from: Vec<String>,
        /// `--only` steps (or instances).
        only: Vec<String>,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// `flowc rollback` began undoing the run (since format version 5): the compensations
    /// it runs, in order. A rollback that is interrupted goes on with this plan.
    RollbackStarted {
        /// `--to`: the checkpoint label or step it rolls back to (`None`: everything).
        to: Option<String>,
        /// `(compensation step, step it undoes)`, in the order they run.
        undo: Vec<(String, String)>,
        /// Finished steps without a compensation, kept as they are (`--force`).
        kept: Vec<String>,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// A compensation of a rollback is about to start (since format version 5). Its
    /// `StepFinished` (or `StepSkipped`) that follows is its end.
    CompensationStarted {
        /// The compensation step.
        step: String,
        /// The step it undoes.
        target: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// A step, or an instance of a fan-out step, failed for good, its retries spent (since
    /// format version 6): what the failure budgets (`max_failures`) count, so that a
    /// resumed run counts it too.
    InstanceFailed {
        /// The instance name (the step's, for a step without fan-out).
        step: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
}

/// A step's failure as stored: the parts of a coded error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The stable code (`E0460`).
    pub code: String,
    /// The message, without the step's name.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// What it comes from (a fan-out step's failed instance).
    pub cause: Option<Box<Failure>>,
}
