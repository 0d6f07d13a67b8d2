//! A rollback (`flowc rollback RUN`): a phase of a run that undoes its finished steps. The
//! compensation steps (`on_failure_of`) of the steps to undo run one at a time, in the
//! order given (the reverse of the order the steps finished), each journaled
//! ([`Record::CompensationStarted`], then its own finish), so an interrupted rollback goes
//! on from the first compensation that did not finish. Once every one has, the `finally`
//! steps run with `workflow.status` `rolled_back`, and so ends the run.
//!
//! The rest of the run is restored from the journal, not run: a compensation reads the
//! results of the steps it undoes as they were (a step that did not finish reads as
//! skipped). A compensation that fails stops the
//! rollback (the next ones would undo steps finished before it), as does an interrupt;
//! both end the run `failed` or `cancelled`, and `flowc rollback` continues it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap as HashMap;

use super::eval::Value;
use super::journal;
use super::process;
use super::run::{self, Decision, Event, Report, Shape, Shared, SkipCause, Status, StepReport};
use crate::snapshot::record::Record;
use crate::typed::Workflow;

/// What a rollback runs.
#[derive(Clone, Debug, Default)]
pub struct Undo {
    /// `(compensation step, step it undoes)` by index, in the order they run; those of an
    /// interrupted rollback that finished are left out.
    pub steps: Vec<(usize, usize)>,
}

/// Runs the compensations of `undo` one after another, then the `finally` steps, and gives
/// the report of the run (its steps kept as they were, but for those that ran).
pub(super) async fn undo(
    shared: &Arc<Shared>,
    info: &Workflow,
    undo: &Undo,
    started: Instant,
) -> Report {
    let name = info.name.clone();
    let run_id = shared.opts.run_id.clone();
    let mut results: HashMap<String, Value> = HashMap::default();
    let mut reports: Vec<Option<StepReport>> = vec![None; info.steps.len()];
    // Every step's result as the run left it; one that did not finish reads as skipped.
    let finished = shared.opts.resume.as_ref().map(|r| &r.keep);
    for (i, step) in info.steps.iter().enumerate() {
        match finished.and_then(|keep| keep.get(&step.name)) {
            Some(f) => {
                results.insert(step.name.clone(), f.record.clone());
                reports[i] = Some(kept(&step.name, &f.status, f.attempts, f.duration_ms));
            }
            None => {
                let skipped = run::not_run(
                    &step.name,
                    Status::Skipped,
                    None,
                    String::new(),
                    Shape::of(step),
                );
                results.insert(step.name.clone(), skipped.record);
            }
        }
    }
    results.insert(
        "workflow".to_string(),
        run::workflow_record(&name, "rolling_back", &run_id),
    );
    let mut interrupt = shared
        .opts
        .interrupt
        .clone()
        .unwrap_or_else(process::CancellationSignal::never);
    let mut status = Status::RolledBack;
    for &(comp, target) in &undo.steps {
        if interrupt.is_cancelled() {
            status = Status::Cancelled;
            break;
        }
        let step = &info.steps[comp];
        // On disk before the compensation starts, and with it the end of the one before:
        // a rollback killed now runs again at most the one compensation in flight.
        if let Some(j) = &shared.opts.journal {
            j.commit(Record::CompensationStarted {
                step: step.name.clone(),
                target: info.steps[target].name.clone(),
                at_ms: journal::now_ms(),
            })
            .await;
        }
        let report = one(shared, comp, info, &results, &mut interrupt).await;
        let ended = report.status;
        results.insert(step.name.clone(), report.record.clone());
        reports[comp] = Some(report);
        match ended {
            Status::Succeeded | Status::Skipped => {}
            Status::Cancelled => {
                status = Status::Cancelled;
                break;
            }
            _ => {
                status = Status::Failed;
                break;
            }
        }
    }
    if status == Status::RolledBack {
        results.insert(
            "workflow".to_string(),
            run::workflow_record(&name, "rolled_back", &run_id),
        );
        for (i, _) in info.steps.iter().enumerate().filter(|(_, s)| s.finally) {
            let report = one(shared, i, info, &results, &mut interrupt).await;
            if report.status == Status::Failed {
                // As in a run, a failed `finally` step fails it: the rollback is not over,
                // and `flowc rollback` runs the `finally` steps again.
                status = Status::Failed;
            }
            reports[i] = Some(report);
        }
    }
    let steps: Vec<StepReport> = reports
        .into_iter()
        .zip(&info.steps)
        .map(|(r, s)| r.unwrap_or_else(|| kept(&s.name, "skipped", 0, 0)))
        .collect();
    let duration = started.elapsed();
    shared.finish_run(status, duration).await;
    Report {
        workflow: name,
        status,
        steps,
        duration,
    }
}

/// The report of a step the rollback leaves as it was (`status` as journaled).
fn kept(name: &str, status: &str, attempts: u32, duration_ms: u64) -> StepReport {
    let status = match status {
        "succeeded" => Status::Succeeded,
        "failed" => Status::Failed,
        "cancelled" => Status::Cancelled,
        "waiting" => Status::Waiting,
        _ => Status::Skipped,
    };
    StepReport {
        attempts,
        duration: Duration::from_millis(duration_ms),
        restored: true,
        ..run::not_run(name, status, None, String::new(), Shape::default())
    }
}

/// Decides and runs step `i` on its own (its `when`, its fan-out list, its attempts),
/// journaled as any step is; an interrupt stops it.
async fn one(
    shared: &Arc<Shared>,
    i: usize,
    info: &Workflow,
    results: &HashMap<String, Value>,
    interrupt: &mut process::CancellationSignal,
) -> StepReport {
    let step = &info.steps[i];
    let fan_out = step.fan_out.is_some();
    // A compensation that goes with the instances of the step it undoes (`for w in worker
    // on_failure_of worker`) reads them as the run left them.
    for c in step.fan_out.iter().flat_map(|f| &f.counterparts) {
        if let Some(record) = info
            .steps
            .get(c.step.index())
            .and_then(|t| results.get(&t.name))
        {
            run::restore_feed(shared, c.step.index(), record);
        }
    }
    match run::decide(i, shared, results) {
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
            run::skipped_report(&step.name, cause, reason, Shape::of(step))
        }
        Decision::Hold(reason) => {
            run::skipped_report(&step.name, SkipCause::Failure, reason, Shape::of(step))
        }
        Decision::Fail(failure) => {
            let failure = run::redacted(shared, &failure);
            let report = StepReport {
                reason: Some(failure.message.clone()),
                failure: Some(failure),
                ..run::not_run(
                    &step.name,
                    Status::Failed,
                    None,
                    String::new(),
                    Shape::of(step),
                )
            };
            run::finish(shared, report)
        }
        Decision::Run(instances) => {
            let (canceller, signal) = process::cancellation();
            let env: HashMap<String, Value> = results.clone();
            // A compensation handles failures: the run's failure budget does not hold it.
            let handler = true;
            let running = run::run_step(
                shared, i, &step.name, fan_out, instances, None, env, signal, None, handler,
            );
            tokio::pin!(running);
            let mut stopped = false;
            loop {
                tokio::select! {
                    report = &mut running => break report,
                    () = interrupt.cancelled(), if !stopped => {
                        stopped = true;
                        canceller.cancel();
                    }
                    // The step's claims for a process slot are served here.
                    () = shared.serve_slots() => {}
                }
            }
        }
    }
}

/// A rollback's steps, in words, for its plan: `(compensation, what it undoes)`.
pub fn describe(info: &Workflow, undo: &Undo) -> Vec<(String, String)> {
    undo.steps
        .iter()
        .map(|&(c, t)| (info.steps[c].name.clone(), info.steps[t].name.clone()))
        .collect()
}
