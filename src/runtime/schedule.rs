//! The scheduler's bookkeeping and rules, with no tokio and no processes: who waits for
//! whom ([`Waits`]: a step is decided the moment the last step it waits for is done, so a
//! run costs time in proportion to its steps and edges), and the skip and failure rules
//! of docs/language.md §16 that decide a step from the results of the steps it waits for
//! ([`rules`]). [`super::run`] drives both, and evaluates a step's `when` and fan-out
//! list when the rules let it run.

use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::run::{SkipCause, Status, StepReport};
use crate::check::{DepKind, WorkflowInfo};
use crate::graph::{EdgeKind, ExecGraph};

/// Who waits for whom: graph predecessors, the fallback of each predecessor (it stands
/// in for it), and for `finally` steps every ordinary step.
#[derive(Clone, Debug)]
pub struct Waits {
    /// For each step, the steps that wait for it.
    waiters: Vec<Vec<usize>>,
    /// For each step, how many of the steps it waits for are not done yet.
    remaining: Vec<usize>,
    /// For each step, the step whose fallback it is.
    pub fallback_of: Vec<Option<usize>>,
}

impl Waits {
    /// The waits of a workflow's steps (indices as in `info.steps` and the graph's nodes).
    pub fn new(info: &WorkflowInfo, graph: &ExecGraph) -> Waits {
        let n = info.steps.len();
        let mut fallback_of = vec![None; n];
        for (owner, s) in info.steps.iter().enumerate() {
            if let Some((target, _)) = s.fallback {
                fallback_of[target] = Some(owner);
            }
        }
        let mut waiters: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut remaining = vec![0; n];
        for (i, left) in remaining.iter_mut().enumerate() {
            let node = petgraph::graph::NodeIndex::new(i);
            let mut preds: Vec<usize> = graph
                .graph
                .edges_directed(node, Direction::Incoming)
                .map(|e| e.source().index())
                .collect();
            let stand_ins: Vec<usize> = preds
                .iter()
                .filter_map(|&p| info.steps[p].fallback.map(|(f, _)| f))
                .filter(|&f| f != i)
                .collect();
            preds.extend(stand_ins);
            if info.steps[i].finally {
                preds.extend((0..n).filter(|&j| !info.steps[j].finally));
            }
            preds.sort_unstable();
            preds.dedup();
            *left = preds.len();
            for p in preds {
                waiters[p].push(i);
            }
        }
        Waits {
            waiters,
            remaining,
            fallback_of,
        }
    }

    /// The steps that wait for nothing, last first (the scheduler pops from the end, so
    /// they start in source order).
    pub fn ready_at_start(&self) -> Vec<usize> {
        (0..self.remaining.len())
            .filter(|&i| self.remaining[i] == 0)
            .rev()
            .collect()
    }

    /// Step `i` is done: the steps that waited only for it are pushed on `ready`.
    pub fn done(&mut self, i: usize, ready: &mut Vec<usize>) {
        for &w in &self.waiters[i] {
            self.remaining[w] = self.remaining[w].saturating_sub(1);
            if self.remaining[w] == 0 {
                ready.push(w);
            }
        }
    }
}

/// What the rules decide about a step before its `when` is evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It does not run, for this reason.
    Skip(SkipCause, String),
    /// Neither run nor skip: the run is paused at an approval gate that this step waits
    /// for (or, for a `finally` step, the run is paused), so a resume decides it.
    Hold(String),
}

/// Decides step `i` from the results of the steps it waits for (`report_of`), whether the
/// run is failing (a fail_fast failure or an interrupt) and whether it is paused at a
/// gate. `None`: the rules let it run (its `when` and fan-out list come next).
pub fn rules<'a>(
    i: usize,
    info: &WorkflowInfo,
    graph: &ExecGraph,
    report_of: &dyn Fn(usize) -> Option<&'a StepReport>,
    fallback_of: &[Option<usize>],
    failing: bool,
    paused: bool,
) -> Option<Verdict> {
    let step = &info.steps[i];
    // A run paused at a gate has not ended: it is no failure, and `finally` waits for
    // the resume that ends it.
    let held = |r: &StepReport| {
        Verdict::Hold(if r.gate {
            format!("`{}` is waiting for approval", r.name)
        } else {
            format!("`{}` is waiting", r.name)
        })
    };
    if step.finally && paused {
        return Some(Verdict::Hold(
            "the run is paused at an approval gate; finally steps run when it ends".to_string(),
        ));
    }
    // A fallback runs only when the step it backs failed.
    if let Some(owner) = fallback_of[i] {
        if let Some(r) = report_of(owner).filter(|r| r.status == Status::Waiting) {
            return Some(held(r));
        }
        if report_of(owner).is_none_or(|r| r.status != Status::Failed) {
            return Some(Verdict::Skip(
                SkipCause::Condition,
                format!("`{}` did not fail", info.steps[owner].name),
            ));
        }
    }
    // A compensation runs only after a failure of its target.
    if let Some((target, _)) = step.compensates {
        let r = report_of(target);
        if let Some(r) = r.filter(|r| r.status == Status::Waiting) {
            return Some(held(r));
        }
        let failed = r.is_some_and(|r| {
            matches!(r.status, Status::Failed | Status::Cancelled)
                || r.skip == Some(SkipCause::Failure)
        });
        if !failed {
            return Some(Verdict::Skip(
                SkipCause::Condition,
                format!("`{}` did not fail", info.steps[target].name),
            ));
        }
    } else if !step.finally && fallback_of[i].is_none() {
        if failing {
            return Some(Verdict::Skip(
                SkipCause::Failure,
                "the run is stopping: a step failed (fail_fast) or it was interrupted".to_string(),
            ));
        }
        let node = petgraph::graph::NodeIndex::new(i);
        for e in graph.graph.edges_directed(node, Direction::Incoming) {
            if !matches!(e.weight(), EdgeKind::After | EdgeKind::Data) {
                continue;
            }
            let p = e.source().index();
            let Some(r) = report_of(p) else { continue };
            let rescued = info.steps[p]
                .fallback
                .and_then(|(f, _)| report_of(f))
                .is_some_and(|f| f.status == Status::Succeeded);
            match r.status {
                Status::Failed if !r.continued && !rescued => {
                    return Some(Verdict::Skip(
                        SkipCause::Failure,
                        format!("`{}` failed", r.name),
                    ));
                }
                Status::Cancelled => {
                    return Some(Verdict::Skip(
                        SkipCause::Failure,
                        format!("`{}` was cancelled", r.name),
                    ));
                }
                Status::Waiting => return Some(held(r)),
                _ => {}
            }
            let reads_output = step
                .deps
                .iter()
                .any(|d| d.step == p && d.kind == DepKind::Output);
            if reads_output && r.status != Status::Succeeded {
                let cause = r.skip.unwrap_or(SkipCause::Failure);
                return Some(Verdict::Skip(
                    cause,
                    format!("it reads an output of `{}`, which has none", r.name),
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::FsLoader;
    use crate::lower::Lowered;
    use crate::runtime::eval::Value;
    use crate::source::{SourceFile, SourceMap};

    fn compiled(text: &str) -> Lowered {
        let mut sources = SourceMap::new();
        let id = sources.add(SourceFile::new("t.flow", None, text));
        crate::compile(&mut sources, id, &FsLoader).expect("the workflow compiles")
    }

    fn report(name: &str, status: Status, skip: Option<SkipCause>) -> StepReport {
        StepReport {
            name: name.to_string(),
            status,
            skip,
            reason: None,
            attempts: 0,
            duration: std::time::Duration::ZERO,
            exit_codes: Vec::new(),
            continued: false,
            restored: false,
            gate: status == Status::Waiting && skip.is_none(),
            record: Value::Record(Default::default()),
        }
    }

    /// Runs the workflow's scheduling with a fake spawner: a step the rules let run ends
    /// as `outcomes` says (else it succeeds), at once. A failure fails the run as
    /// fail_fast does, unless the step has a fallback. Gives each step's fate, in the
    /// order the steps were decided: `ran succeeded`, `skipped: why`, `held: why`.
    fn simulate(text: &str, outcomes: &[(&str, Status)]) -> Vec<(String, String)> {
        let lowered = compiled(text);
        let info = &lowered.modules[lowered.modules.len() - 1].checked_workflows[0];
        let graph = &lowered.graphs[0];
        let mut waits = Waits::new(info, graph);
        let fallback_of = waits.fallback_of.clone();
        let mut reports: Vec<Option<StepReport>> = vec![None; info.steps.len()];
        let mut ready = waits.ready_at_start();
        let (mut failing, mut paused) = (false, false);
        let mut fates = Vec::new();
        while let Some(i) = ready.pop() {
            let step = &info.steps[i];
            let verdict = {
                let report_of = |j: usize| reports[j].as_ref();
                rules(i, info, graph, &report_of, &fallback_of, failing, paused)
            };
            let (done, fate) = match verdict {
                Some(Verdict::Skip(cause, why)) => (
                    report(&step.name, Status::Skipped, Some(cause)),
                    format!("skipped: {why}"),
                ),
                Some(Verdict::Hold(why)) => (
                    report(&step.name, Status::Waiting, Some(SkipCause::Condition)),
                    format!("held: {why}"),
                ),
                None => {
                    let status = outcomes
                        .iter()
                        .find(|(n, _)| *n == step.name)
                        .map_or(Status::Succeeded, |(_, s)| *s);
                    failing |= status == Status::Failed
                        && step.fallback.is_none()
                        && step.compensates.is_none()
                        && !step.finally;
                    paused |= status == Status::Waiting;
                    let fate = format!("ran {}", status.as_str());
                    (report(&step.name, status, None), fate)
                }
            };
            reports[i] = Some(done);
            fates.push((step.name.clone(), fate));
            waits.done(i, &mut ready);
        }
        fates
    }

    fn fate<'a>(fates: &'a [(String, String)], step: &str) -> &'a str {
        fates
            .iter()
            .find(|(n, _)| n == step)
            .map_or("never decided", |(_, f)| f.as_str())
    }

    #[test]
    fn every_step_is_decided_once_and_finally_steps_last() {
        let fates = simulate(
            "workflow w {
  step a { sleep 0s }
  step b after a { sleep 0s }
  step c { sleep 0s }
  finally step f { sleep 0s }
}",
            &[],
        );
        assert_eq!(fates.len(), 4);
        assert_eq!(fates.last().map(|(n, _)| n.as_str()), Some("f"));
        let order: Vec<&str> = fates.iter().map(|(n, _)| n.as_str()).collect();
        let at = |s: &str| order.iter().position(|n| *n == s);
        assert!(at("a") < at("b"));
    }

    #[test]
    fn a_waiting_gate_holds_what_waits_for_it_and_compensates_nothing() {
        let fates = simulate(
            "workflow g {
  step build { sleep 0s }
  step gate after build { approve \"ship?\" }
  step ship after gate { sleep 0s }
  step undo on_failure_of ship { sleep 0s }
  step other { sleep 0s }
  finally step report { sleep 0s }
}",
            &[("gate", Status::Waiting)],
        );
        assert_eq!(fate(&fates, "build"), "ran succeeded");
        assert_eq!(fate(&fates, "other"), "ran succeeded");
        assert_eq!(fate(&fates, "ship"), "held: `gate` is waiting for approval");
        assert_eq!(fate(&fates, "undo"), "held: `ship` is waiting");
        assert!(fate(&fates, "report").starts_with("held: the run is paused"));
    }

    #[test]
    fn a_fallback_runs_only_after_its_owner_failed() {
        let text = "workflow w {
  step build {
    sleep 0s
    on_failure v
  }
  step v { sleep 0s }
  step next after build { sleep 0s }
}";
        let fates = simulate(text, &[]);
        assert_eq!(fate(&fates, "v"), "skipped: `build` did not fail");
        assert_eq!(fate(&fates, "next"), "ran succeeded");
        let fates = simulate(text, &[("build", Status::Failed)]);
        assert_eq!(fate(&fates, "v"), "ran succeeded");
        assert_eq!(fate(&fates, "next"), "ran succeeded");
        // The fallback failed too: the failure stands, and fails the run.
        let fates = simulate(text, &[("build", Status::Failed), ("v", Status::Failed)]);
        assert!(fate(&fates, "next").starts_with("skipped: the run is stopping"));
    }

    #[test]
    fn a_failure_skips_what_has_not_started_and_runs_compensation_and_finally() {
        let fates = simulate(
            "workflow w {
  step bad { sleep 0s }
  step next after bad { sleep 0s }
  step undo on_failure_of bad { sleep 0s }
  step spare on_failure_of next { sleep 0s }
  finally step report { sleep 0s }
}",
            &[("bad", Status::Failed)],
        );
        assert_eq!(
            fate(&fates, "next"),
            "skipped: the run is stopping: a step failed (fail_fast) or it was interrupted"
        );
        assert_eq!(fate(&fates, "undo"), "ran succeeded");
        // `next` was skipped because of a failure: its compensation runs too.
        assert_eq!(fate(&fates, "spare"), "ran succeeded");
        assert_eq!(fate(&fates, "report"), "ran succeeded");
    }

    #[test]
    fn a_compensation_is_skipped_when_its_target_succeeded() {
        let fates = simulate(
            "workflow w {
  step deploy { sleep 0s }
  step undo on_failure_of deploy { sleep 0s }
}",
            &[],
        );
        assert_eq!(fate(&fates, "undo"), "skipped: `deploy` did not fail");
    }
}
