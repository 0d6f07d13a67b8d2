//! Resume verdicts: which finished steps a resumed run keeps and which run again, and why.

use rustc_hash::FxHashMap as HashMap;

use crate::graph::ExecGraph;
use crate::runtime::eval::Value;
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
    // The steps another goes with instance by instance: their instances must be kept.
    let mut paired = vec![false; n];
    for c in (info.steps.iter()).flat_map(|s| s.fan_out.iter().flat_map(|f| &f.counterparts)) {
        if let Some(p) = paired.get_mut(c.step.index()) {
            *p = true;
        }
    }
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
            // A step that others now go with instance by instance, finished by a flowc
            // (or a workflow) that did not keep its instances: they are needed.
            (Some(f), _) if f.status == "succeeded" && paired[i] && !kept_instances(f) => {
                Verdict::Run(
                    "its instances were not kept, and another step goes with them one by one"
                        .to_string(),
                )
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

/// Whether a finished fan-out's record keeps each of its instances' results.
fn kept_instances(f: &Finished) -> bool {
    matches!(&f.record, Value::Record(fields) if fields.contains_key("#instances"))
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
            ..Resume::default()
        };
        let changed = changed_upstream(state, info, fingerprints);
        for (step, v) in info.steps.iter().zip(verdicts) {
            if let (Verdict::Keep, Some(f)) = (v, state.finished.get(&step.name)) {
                r.keep.insert(step.name.clone(), f.clone());
            }
        }
        // Steps in an order where the steps a step goes with instance by instance come
        // first: an instance is kept only with the instances it went with.
        let mut order: Vec<usize> = (0..info.steps.len()).collect();
        order.sort_by_key(|&i| info.dims(crate::typed::StepId::new(i)));
        let mut done = vec![false; info.steps.len()];
        for _ in 0..=info.steps.len() {
            let mut progress = false;
            for &i in &order {
                let step = &info.steps[i];
                let waits_for = step.fan_out.iter().flat_map(|f| &f.counterparts);
                if done[i] || waits_for.clone().any(|c| !done[c.step.index()]) {
                    continue;
                }
                done[i] = true;
                progress = true;
                // An interrupted step keeps its finished instances and attempt counts, and
                // a failed fan-out its finished instances; a changed one (or one after a
                // changed one) starts afresh.
                if verdicts
                    .get(i)
                    .is_none_or(|v| !matches!(v, Verdict::Run(_)))
                    || changed[i]
                {
                    continue;
                }
                let fp = fingerprints.get(i).copied().unwrap_or(0);
                let interrupted = !state.finished.contains_key(&step.name);
                let mine = |l: &String| step_of(l) == step.name;
                let kept: Vec<(String, InstanceDone)> = (state.instances.iter())
                    .filter(|(l, d)| mine(l) && d.fingerprint == fp)
                    .filter(|(l, _)| r.pairs_kept(info, step, l))
                    .map(|(l, d)| (l.clone(), d.clone()))
                    .collect();
                r.instances.extend(kept);
                if interrupted {
                    for (l, n) in state.failed_attempts.iter().filter(|(l, _)| mine(l)) {
                        r.attempts.insert(l.clone(), *n);
                    }
                }
            }
            if !progress {
                break;
            }
        }
        r
    }

    /// Whether the instances that instance `label` of `step` went with are kept: it is
    /// kept only with them (a slice of several only when their whole step is).
    fn pairs_kept(&self, info: &Workflow, step: &crate::typed::Step, label: &str) -> bool {
        let Some(fan) = step.fan_out.as_deref() else {
            return true;
        };
        let at: Vec<&str> = label
            .get(step_of(label).len() + 1..label.len().saturating_sub(1))
            .map(|inner| inner.split(',').collect())
            .unwrap_or_default();
        fan.counterparts.iter().all(|c| {
            let target = &info.steps[c.step.index()].name;
            if self.keep.contains_key(target) {
                return true;
            }
            let exact = info.dims(c.step) == c.prefix;
            let Some(prefix) = at.get(..c.prefix).map(|p| p.join(",")) else {
                return false;
            };
            // A finished instance, or a gate's instance approved before (deciding it
            // again gives the same decision).
            let paired = format!("{target}[{prefix}]");
            let approved = (self.approvals.get(&paired))
                .is_some_and(|d| d.decision == crate::runtime::gate::Decision::Approved);
            exact && (self.instances.contains_key(&paired) || approved)
        })
    }
}

/// For each step, whether it or a step it depends on (through its dependencies, its
/// fan-out's pairings, or the step it compensates) changed since the journal's run: its
/// instances kept from then would be stale.
fn changed_upstream(state: &RunState, info: &Workflow, fingerprints: &[u64]) -> Vec<bool> {
    let n = info.steps.len();
    let ups = |i: usize| {
        let step = &info.steps[i];
        (step.deps.iter().map(|d| d.step))
            .chain(
                step.fan_out
                    .iter()
                    .flat_map(|f| f.counterparts.iter().map(|c| c.step)),
            )
            .chain(step.compensates.map(|l| l.step))
            .map(|u| u.index())
            .filter(|&u| u < n)
    };
    // 0: not seen, 1: being looked at, 2: decided. Depth-first, without recursion.
    let mut state_of = vec![0u8; n];
    let mut changed = vec![false; n];
    for root in 0..n {
        let mut stack = vec![root];
        while let Some(&i) = stack.last() {
            if state_of[i] == 0 {
                state_of[i] = 1;
                stack.extend(ups(i).filter(|&u| state_of[u] == 0));
                continue;
            }
            stack.pop();
            if state_of[i] == 2 {
                continue;
            }
            state_of[i] = 2;
            let step = &info.steps[i];
            let fp = fingerprints.get(i).copied().unwrap_or(0);
            changed[i] = state
                .finished
                .get(&step.name)
                .is_some_and(|f| f.fingerprint != fp)
                || ups(i).any(|u| changed[u]);
        }
    }
    changed
}
