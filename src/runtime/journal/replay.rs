//! Reading a journal back: what it says about a run (its start, its finished steps and
//! instances, its approvals, how it ended).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};

use crate::runtime::eval::Value;
use crate::runtime::failure::Failure;
use crate::runtime::gate::{Decision, GateDecision};
use crate::snapshot::record::{self, Record, RunStarted};
use crate::snapshot::{self, SnapshotWarning};

use super::*;

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
    /// Why it failed (or waits, or was cancelled), in words.
    pub reason: Option<String>,
    /// Why it failed, with its code (`None` for a journal of format version 1).
    pub failure: Option<Failure>,
    /// The result record.
    pub record: Value,
    /// Its fingerprint then.
    pub fingerprint: u64,
    /// Unix milliseconds.
    pub at_ms: u64,
    /// Its record's position in the journal: finishes compare by it (a rollback undoes
    /// steps in the reverse order of their finishes).
    pub seq: usize,
    /// For a failed step with conditional routes: the route its failure took.
    pub route: Option<RouteRecord>,
}

/// One end of a step, as `flowc status` lists a step's history: every time it ran.
#[derive(Clone, Debug)]
pub struct Past {
    /// `succeeded`, `failed`, `cancelled` or `waiting`.
    pub status: String,
    /// Attempts made that time.
    pub attempts: u32,
    /// Milliseconds.
    pub duration_ms: u64,
    /// Unix milliseconds.
    pub at_ms: u64,
}

/// A rollback (`flowc rollback`) as the journal has it.
#[derive(Clone, Debug, Default)]
pub struct Rollback {
    /// The checkpoint (label or step) it rolls back to; `None`: all finished steps.
    pub to: Option<String>,
    /// `(compensation, step it undoes)`, in the order they run.
    pub undo: Vec<(String, String)>,
    /// Finished steps without a compensation, kept as they are (`--force`).
    pub kept: Vec<String>,
    /// The compensations that ended (succeeded, or skipped by their condition).
    pub done: Vec<String>,
    /// The compensation started last and not ended.
    pub in_flight: Option<String>,
    /// Its end was recorded (`rolled_back`), or a resume went on from it.
    pub closed: bool,
}

impl Rollback {
    /// The compensations still to run, in order.
    pub fn left(&self) -> Vec<(String, String)> {
        (self.undo.iter())
            .filter(|(c, _)| !self.done.contains(c))
            .cloned()
            .collect()
    }
}

/// The failure route a failed step took, as journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRecord {
    /// Its index among the step's routes ([`crate::runtime::run::RouteTaken::index`]).
    pub index: usize,
    /// Where it led: `continue`, `fail_fast` or a step's name.
    pub to: String,
    /// Its condition as written (empty for the route without `if`).
    pub condition: String,
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
    pub approvals: HashMap<String, GateDecision>,
    /// The deadlines of approval gates that waited, by step (or instance) name.
    pub deadlines: HashMap<String, u64>,
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
    /// Every end of each step, oldest first (the last is in `finished`).
    pub history: HashMap<String, Vec<Past>>,
    /// The position of the last finished instance of each fan-out step.
    pub instance_seq: HashMap<String, usize>,
    /// The checkpoint labels of the workflow, `(label, step)`, as last recorded.
    pub checkpoints: Vec<(String, String)>,
    /// The last rollback, if there was one.
    pub rollback: Option<Rollback>,
    /// Steps a rollback undid (and that have not run again since), with the compensation
    /// that undid them.
    pub rolled_back: HashMap<String, String>,
    /// The run's concurrency group, once a driver evaluated it.
    pub group: Option<GroupState>,
    /// Failures recorded for steps whose finish has not been read yet.
    failing: HashMap<String, Failure>,
    /// The position of the record being applied.
    seq: usize,
    /// The steps and instances that failed for good, each once: what a resumed run's
    /// failure budgets start from.
    pub failed: std::collections::BTreeSet<String>,
    /// Routes recorded for steps whose finish has not been read yet.
    routing: HashMap<String, RouteRecord>,
}

/// A run's concurrency group, as its journal has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupState {
    /// The group's name.
    pub name: String,
    /// `queue`, `skip` or `cancel`.
    pub policy: String,
    /// The run that held it when the last driver found it busy, until that driver took it:
    /// a live driver with one is `queued`, and a `skipped` run says whom it gave way to.
    pub busy: Option<String>,
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
            deadlines: HashMap::default(),
            ended: None,
            driver: None,
            warnings: loaded.warnings,
            valid_len: loaded.valid_len,
            records: Vec::new(),
            history: HashMap::default(),
            instance_seq: HashMap::default(),
            checkpoints: Vec::new(),
            rollback: None,
            rolled_back: HashMap::default(),
            group: None,
            failing: HashMap::default(),
            seq: 0,
            failed: Default::default(),
            routing: HashMap::default(),
        };
        let rest: Vec<Record> = records.collect();
        for (k, r) in rest.iter().enumerate() {
            state.seq = k;
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
                if let Some(g) = &mut self.group {
                    g.busy = None;
                }
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
                self.instance_seq
                    .insert(step_of(step).to_string(), self.seq);
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
                // The finished instances of a fan-out that failed are kept, so that a
                // resume runs only the others; so are those of one that succeeded with
                // instances that did not run (skipped by their condition or with the
                // instances they go with), since a resume may have to run those.
                let finished = self.instances.keys().filter(|l| of_step(l)).count();
                if !matches!(status.as_str(), "failed" | "cancelled")
                    && finished >= exit_codes.len()
                {
                    self.instances.retain(|l, _| !of_step(l));
                }
                self.skipped.remove(step);
                // It ran again: whatever a rollback undid of it is done again.
                self.rolled_back.remove(step);
                // A compensation that failed (or was stopped) runs again on continuing.
                let ok = status == "succeeded";
                self.compensation_ended(step, ok, ok);
                self.history.entry(step.clone()).or_default().push(Past {
                    status: status.clone(),
                    attempts: *attempts,
                    duration_ms: *duration_ms,
                    at_ms: *at_ms,
                });
                let failure = self.failing.remove(step).filter(|_| status == "failed");
                let route = self.routing.remove(step).filter(|_| status == "failed");
                self.finished.insert(
                    step.clone(),
                    Finished {
                        status: status.clone(),
                        attempts: *attempts,
                        duration_ms: *duration_ms,
                        exit_codes: exit_codes.clone(),
                        reason: reason.clone(),
                        failure,
                        record: from_val(record),
                        fingerprint: *fingerprint,
                        at_ms: *at_ms,
                        seq: self.seq,
                        route,
                    },
                );
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::StepSkipped { step, reason } => {
                // A compensation skipped by its condition had nothing to undo: it ended.
                self.compensation_ended(step, true, false);
                self.finished.remove(step);
                self.skipped.insert(step.clone(), reason.clone());
            }
            // Version 2's decisions: who and why were not kept.
            Record::Approval {
                step,
                approved,
                at_ms,
            } => {
                let decision = GateDecision {
                    decision: if *approved {
                        Decision::Approved
                    } else {
                        Decision::Refused
                    },
                    by: String::new(),
                    comment: String::new(),
                    at_ms: *at_ms,
                };
                self.approvals.insert(step.clone(), decision);
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::Decision {
                step,
                decision,
                by,
                comment,
                at_ms,
            } => {
                if let Some(decision) = Decision::parse(decision) {
                    let decision = GateDecision {
                        decision,
                        by: by.clone(),
                        comment: comment.clone(),
                        at_ms: *at_ms,
                    };
                    self.approvals.insert(step.clone(), decision);
                }
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::GateOpened { step, deadline_ms } => {
                self.deadlines.entry(step.clone()).or_insert(*deadline_ms);
            }
            Record::RouteTaken {
                step,
                route,
                to,
                condition,
            } => {
                let route = RouteRecord {
                    index: *route as usize,
                    to: to.clone(),
                    condition: condition.clone(),
                };
                self.routing.insert(step.clone(), route);
            }
            Record::RunFinished { status, at_ms } => {
                if status == "rolled_back" {
                    if let Some(r) = &mut self.rollback {
                        r.closed = true;
                    }
                }
                self.ended = Some((status.clone(), *at_ms));
                self.in_flight.clear();
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::StepFailed { step, failure } => {
                self.failing.insert(step.clone(), from_record(failure));
            }
            Record::Checkpoints { labels } => self.checkpoints = labels.clone(),
            Record::Resumed { at_ms, .. } => {
                if let Some(r) = &mut self.rollback {
                    r.closed = true;
                }
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::RollbackStarted {
                to,
                undo,
                kept,
                at_ms,
            } => {
                self.rollback = Some(Rollback {
                    to: to.clone(),
                    undo: undo.clone(),
                    kept: kept.clone(),
                    ..Rollback::default()
                });
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::CompensationStarted { step, at_ms, .. } => {
                if let Some(r) = self.rollback.as_mut().filter(|r| !r.closed) {
                    r.in_flight = Some(step.clone());
                }
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::GroupBusy {
                group,
                policy,
                holder,
                at_ms,
            } => {
                self.group = Some(GroupState {
                    name: group.clone(),
                    policy: policy.clone(),
                    busy: Some(holder.clone()),
                });
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::GroupTaken {
                group,
                policy,
                at_ms,
            } => {
                self.group = Some(GroupState {
                    name: group.clone(),
                    policy: policy.clone(),
                    busy: None,
                });
                self.last_ms = self.last_ms.max(*at_ms);
            }
            Record::InstanceFailed { step, at_ms } => {
                // It ended: no process of it is left to stop, and its retries were spent.
                self.in_flight.remove(step);
                self.failed_attempts.remove(step);
                self.failed.insert(step.clone());
                self.last_ms = self.last_ms.max(*at_ms);
            }
        }
    }

    /// A step ended: if it is a compensation of the open rollback, it is no longer in
    /// flight; it is `done` unless it failed, and when it `undid` something, the step it
    /// undoes is rolled back.
    fn compensation_ended(&mut self, step: &str, done: bool, undid: bool) {
        let Some(r) = self.rollback.as_mut().filter(|r| !r.closed) else {
            return;
        };
        let Some((comp, target)) = r.undo.iter().find(|(c, _)| c == step).cloned() else {
            return;
        };
        if r.in_flight.as_deref() == Some(step) {
            r.in_flight = None;
        }
        if done && !r.done.contains(&comp) {
            r.done.push(comp.clone());
        }
        if undid {
            self.rolled_back.insert(target, comp);
        }
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.started.run_id
    }

    /// The run's status: how its last driver ended (`succeeded`, `failed`, `cancelled`,
    /// `waiting`, `skipped`, `paused`, `rolled_back`); while a driver holds it `running`,
    /// `queued` (it waits for its concurrency group), `pausing` (a pause was asked) or
    /// `rolling_back`; `interrupted` when its driver died.
    pub fn status(&self) -> String {
        if let Some((s, _)) = &self.ended {
            return s.clone();
        }
        match holder_of(&self.dir) {
            Some(h) if h.command == "rollback" => "rolling_back".to_string(),
            Some(h) if pending_request(&self.dir, &h).is_some_and(|r| r.command == "pause") => {
                "pausing".to_string()
            }
            Some(_) => match &self.group {
                Some(GroupState { busy: Some(_), .. }) => "queued".to_string(),
                _ => "running".to_string(),
            },
            None => "interrupted".to_string(),
        }
    }

    /// Whether a driver holds the run now (it is `running`, `pausing` or `rolling_back`).
    pub fn live(&self) -> bool {
        self.ended.is_none() && is_locked(&self.dir)
    }

    /// The rollback that was started and has not ended, if any: `flowc rollback` goes on
    /// with it.
    pub fn open_rollback(&self) -> Option<&Rollback> {
        self.rollback.as_ref().filter(|r| !r.closed)
    }

    /// Steps that succeeded (and were not undone by a rollback since).
    pub fn succeeded(&self) -> usize {
        self.finished
            .iter()
            .filter(|(name, f)| f.status == "succeeded" && !self.rolled_back.contains_key(*name))
            .count()
    }
}

/// A stored failure as the runtime has it.
fn from_record(f: &record::Failure) -> Failure {
    Failure {
        code: f.code.clone(),
        message: f.message.clone(),
        help: f.help.clone(),
        cause: f.cause.as_deref().map(|c| Box::new(from_record(c))),
    }
}

/// A failure as stored.
pub fn to_record(f: &Failure) -> record::Failure {
    record::Failure {
        code: f.code.clone(),
        message: f.message.clone(),
        help: f.help.clone(),
        cause: f.cause.as_deref().map(|c| Box::new(to_record(c))),
    }
}
