//! Resume verdicts: which finished steps a resumed run keeps and which run again, and why.

use rustc_hash::FxHashMap as HashMap;

use crate::graph::ExecGraph;
use crate::runtime::gate::GateDecision;
use crate::typed::{GroupPolicy, OnFailure, Workflow};

use super::*;

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
    // The graph's one topological order (the one `flowc plan` lists).
    let mut order = graph.topo_order().unwrap_or_else(|| (0..n).collect());
    let mut verdicts: Vec<Option<Verdict>> = vec![None; n];
    let mut fallback_of: Vec<Option<usize>> = vec![None; n];
    for (owner, s) in info.steps.iter().enumerate() {
        for l in s.fallbacks() {
            fallback_of[l.step.index()] = Some(owner);
        }
    }
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
        // A step that succeeded, or failed with a failure its route handled, is kept.
        let done =
            |f: &Finished| f.status == "succeeded" || handled_before(state, info, i, &fallback_of);
        let verdict = match (
            state.finished.get(&step.name),
            state.skipped.get(&step.name),
        ) {
            (Some(f), _) if done(f) && f.fingerprint != fp => {
                Verdict::Run("its definition or inputs changed".to_string())
            }
            _ if upstream.is_some() => Verdict::Run(format!(
                "`{}` runs again upstream",
                upstream.unwrap_or_default()
            )),
            // Its `secret` outputs were not journaled: only running it again gives them.
            (Some(f), _)
                if f.status == "succeeded" && step.outputs.iter().any(|o| o.ty.is_secret()) =>
            {
                Verdict::Run("its secret outputs are not kept in the journal".to_string())
            }
            (Some(f), _) if done(f) => Verdict::Keep,
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

/// Whether step `i` failed before with a failure that its route handled, so that the run
/// did not fail because of it: the route let it through (`continue`, on a step that is no
/// fallback), or led to a fallback that did not fail (it succeeded, is waiting at a gate,
/// or had not finished), or that failed with a failure handled in turn (an escalation
/// chain). Such a step is kept by a resume, and takes the same route again.
fn handled_before(
    state: &RunState,
    info: &Workflow,
    i: usize,
    fallback_of: &[Option<usize>],
) -> bool {
    let step = &info.steps[i];
    let Some(f) = state.finished.get(&step.name) else {
        return false;
    };
    if f.status != "failed" || step.finally || step.compensates.is_some() {
        return false;
    }
    let to = match &f.route {
        Some(r) => crate::runtime::run::RouteTaken::of(step, r.index).to,
        None => step.settings.on_failure,
    };
    match to {
        OnFailure::FailFast => false,
        OnFailure::Continue => fallback_of[i].is_none(),
        OnFailure::Fallback(l) => {
            let target = l.step.index();
            let name = &info.steps[target].name;
            if state.skipped.contains_key(name) {
                return false;
            }
            match state.finished.get(name).map(|f| f.status.as_str()) {
                None | Some("succeeded" | "waiting") => true,
                Some("failed") => handled_before(state, info, target, fallback_of),
                Some(_) => false,
            }
        }
    }
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
    pub approvals: HashMap<String, GateDecision>,
    /// The deadlines of approval gates that waited before.
    pub deadlines: HashMap<String, u64>,
    /// The fingerprints of the workflow's steps as it is now, in step order.
    pub fingerprints: Vec<u64>,
    /// The concurrency group the run found or took before, which the resume takes again
    /// (whatever the workflow's `concurrency` item says now).
    pub group: Option<(String, GroupPolicy)>,
    /// When the run first started (Unix milliseconds): its `timeout` counts from there.
    pub run_started_ms: Option<u64>,
    /// The steps and instances that failed before, for the failure budgets.
    pub failed: Vec<String>,
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
            deadlines: state.deadlines.clone(),
            fingerprints: fingerprints.to_vec(),
            group: state.group.as_ref().map(|g| {
                let policy = GroupPolicy::from_name(&g.policy).unwrap_or_default();
                (g.name.clone(), policy)
            }),
            run_started_ms: Some(state.started.at_ms),
            failed: state.failed.iter().cloned().collect(),
            ..Resume::default()
        };
        for ((step, v), fp) in info.steps.iter().zip(verdicts).zip(fingerprints) {
            match v {
                Verdict::Keep => {
                    if let Some(f) = state.finished.get(&step.name) {
                        r.keep.insert(step.name.clone(), f.clone());
                    }
                }
                // An interrupted step keeps its finished instances and attempt counts, and
                // a failed fan-out its finished instances; a changed one starts afresh.
                Verdict::Run(_) => {
                    let interrupted = !state.finished.contains_key(&step.name);
                    let mine = |l: &String| step_of(l) == step.name;
                    for (l, d) in state
                        .instances
                        .iter()
                        .filter(|(l, d)| mine(l) && d.fingerprint == *fp)
                    {
                        r.instances.insert(l.clone(), d.clone());
                    }
                    if interrupted {
                        for (l, n) in state.failed_attempts.iter().filter(|(l, _)| mine(l)) {
                            r.attempts.insert(l.clone(), *n);
                        }
                    }
                }
                _ => {}
            }
        }
        r
    }
}
