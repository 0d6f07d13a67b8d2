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
    /// Finished before and unchanged, downstream of steps run again with `--only`: kept,
    /// unless one of those gives other results than before (then it runs again).
    KeepUnless(Vec<String>),
}

/// A step `flowc resume` was asked to run again: `--from` (with everything downstream) or
/// `--only` (alone, unless its results change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rerun {
    /// The step.
    pub step: usize,
    /// One instance of a fan-out step (`rollout[1]`): the others are kept.
    pub instance: Option<usize>,
    /// `--only` rather than `--from`.
    pub only: bool,
    /// As written (`rollout[1]`).
    pub name: String,
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
    plan_rerun(state, info, graph, fingerprints, &[])
}

/// [`plan`], with steps asked to run again (`flowc resume --from` / `--only`). A `--from`
/// step runs, and everything downstream of it; an `--only` step runs, and what is
/// downstream of it is kept unless its results change ([`Verdict::KeepUnless`]).
pub fn plan_rerun(
    state: &RunState,
    info: &Workflow,
    graph: &ExecGraph,
    fingerprints: &[u64],
    rerun: &[Rerun],
) -> Vec<Verdict> {
    use petgraph::visit::EdgeRef;
    let n = info.steps.len();
    // The graph's one topological order (the one `flowc plan` lists).
    let mut order = graph.topo_order().unwrap_or_else(|| (0..n).collect());
    let mut verdicts: Vec<Option<Verdict>> = vec![None; n];
    // Whether a step's run makes the steps downstream of it run (not so for `--only`).
    let mut spreads = vec![true; n];
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
            Some(Verdict::Run(_)) if spreads[p] => Some(info.steps[p].name.clone()),
            _ => None,
        });
        // The `--only` steps upstream whose results decide whether this one is kept.
        let mut unless: Vec<String> = Vec::new();
        for &p in &preds {
            let names = match &verdicts[p] {
                Some(Verdict::Run(_)) if !spreads[p] => vec![info.steps[p].name.clone()],
                Some(Verdict::KeepUnless(names)) => names.clone(),
                _ => Vec::new(),
            };
            for name in names {
                if !unless.contains(&name) {
                    unless.push(name);
                }
            }
        }
        let fp = fingerprints.get(i).copied().unwrap_or(0);
        // A step that succeeded, or failed with a failure its route handled, is kept.
        let done =
            |f: &Finished| f.status == "succeeded" || handled_before(state, info, i, &fallback_of);
        let verdict = match (
            state.finished.get(&step.name),
            state.skipped.get(&step.name),
        ) {
            (Some(_), _) if state.rolled_back.contains_key(&step.name) => {
                Verdict::Run("it was rolled back".to_string())
            }
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
            (None, None)
                if (state.failed_attempts.keys())
                    .chain(state.instances.keys())
                    .any(|l| step_of(l) == step.name) =>
            {
                Verdict::Run("it had not finished when the run stopped".to_string())
            }
            (None, None) => Verdict::Run("it had not run yet".to_string()),
        };
        let verdict = match verdict {
            Verdict::Keep if !unless.is_empty() => Verdict::KeepUnless(unless),
            other => other,
        };
        let asked: Vec<&Rerun> = rerun.iter().filter(|r| r.step == i).collect();
        let verdict = match (asked.first(), verdict) {
            (None, verdict) => verdict,
            // It runs anyway, and so does what is downstream of it.
            (Some(_), Verdict::Run(why)) => Verdict::Run(why),
            (Some(r), _) => {
                let only = asked.iter().all(|r| r.only);
                spreads[i] = !only;
                let flag = if only { "--only" } else { "--from" };
                Verdict::Run(format!("asked for with `{flag} {}`", r.name))
            }
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
    /// Steps kept unless an `--only` step gives other results: by step name, those steps.
    pub keep_unless: HashMap<String, Vec<String>>,
    /// The result records the `--only` steps had before, by step name.
    pub only_before: HashMap<String, crate::runtime::eval::Value>,
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
        rerun: &[Rerun],
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
        // Steps whose instances from before are stale: after a changed step.
        let changed = changed_upstream(state, info, fingerprints);
        for i in paired_first(info) {
            let (Some(step), Some(v), Some(fp)) =
                (info.steps.get(i), verdicts.get(i), fingerprints.get(i))
            else {
                continue;
            };
            let asked: Vec<&Rerun> = rerun.iter().filter(|a| a.step == i).collect();
            // A gate asked to run again asks again.
            if !asked.is_empty() {
                r.approvals.retain(|l, _| {
                    step_of(l) != step.name
                        || !asked.iter().any(|a| a.name == *l || a.instance.is_none())
                });
            }
            if asked.iter().any(|a| a.only) {
                if let Some(f) = state.finished.get(&step.name) {
                    r.only_before.insert(step.name.clone(), f.record.clone());
                }
            }
            match v {
                Verdict::Keep | Verdict::KeepUnless(_) => {
                    if let Some(f) = state.finished.get(&step.name) {
                        r.keep.insert(step.name.clone(), f.clone());
                    }
                    if let Verdict::KeepUnless(names) = v {
                        r.keep_unless.insert(step.name.clone(), names.clone());
                    }
                }
                // An interrupted step keeps its finished instances and attempt counts, and
                // a failed fan-out its finished instances; a changed one (or one after a
                // changed one) starts afresh. Asked for one instance (`--from
                // rollout[1]`), a fan-out keeps the others. An instance that went with
                // instances of another step is kept only with them.
                Verdict::Run(_) => {
                    let interrupted = !state.finished.contains_key(&step.name);
                    let whole = asked.iter().any(|a| a.instance.is_none()) || changed[i];
                    let again = |l: &str| whole || asked.iter().any(|a| a.name == l);
                    let mine = |l: &String| step_of(l) == step.name && !again(l);
                    let kept: Vec<(String, InstanceDone)> = (state.instances.iter())
                        .filter(|(l, d)| mine(l) && d.fingerprint == *fp)
                        .filter(|(l, _)| r.pairs_kept(info, step, l))
                        .map(|(l, d)| (l.clone(), d.clone()))
                        .collect();
                    r.instances.extend(kept);
                    // A step that goes with another's instances keeps those of its own
                    // that went with instances kept (`--from test[1,0]` runs
                    // `check[1,0]` again, not all of `check`).
                    let paired =
                        (step.fan_out.as_deref()).is_some_and(|f| !f.counterparts.is_empty());
                    if (!asked.is_empty() || paired) && !whole {
                        for (l, d) in finished_instances(state, info, i, *fp) {
                            if !again(&l) && r.pairs_kept(info, step, &l) {
                                r.instances.entry(l).or_insert(d);
                            }
                        }
                    }
                    if interrupted && asked.is_empty() {
                        for (l, n) in state.failed_attempts.iter().filter(|(l, _)| mine(l)) {
                            r.attempts.insert(l.clone(), *n);
                        }
                    }
                }
                Verdict::Redecide => {}
            }
        }
        r
    }
}

/// The instances of a fan-out step that succeeded as a whole, read back from its result
/// record (its lists hold one element per instance), when its definition is unchanged
/// (`fp`). An instance that did not start (its own condition was false) is not among
/// them: it is decided again.
fn finished_instances(
    state: &RunState,
    info: &Workflow,
    i: usize,
    fp: u64,
) -> Vec<(String, InstanceDone)> {
    use crate::runtime::eval::Value;
    let step = &info.steps[i];
    let dims = info.dims(crate::typed::StepId::new(i));
    let Some(f) = state
        .finished
        .get(&step.name)
        .filter(|f| f.status == "succeeded" && f.fingerprint == fp && step.fan_out.is_some())
    else {
        return Vec::new();
    };
    let Value::Record(fields) = &f.record else {
        return Vec::new();
    };
    let list = |name: &str| match fields.get(name) {
        Some(Value::List(items)) => Some(items.as_slice()),
        _ => None,
    };
    let (Some(codes), Some(stdouts), Some(attempts), Some(durations)) = (
        list("exit_code"),
        list("stdout"),
        list("attempts"),
        list("duration"),
    ) else {
        return Vec::new();
    };
    // The instances' names: by their index as each one's kept record has it (a matrix's
    // `test[1,2]`), else by position in the lists.
    // (A `for` over a step has that step's instances, in its order.)
    let iterated = (step.fan_out.as_deref())
        .filter(|f| f.matrix.is_empty())
        .and_then(|f| f.over)
        .and_then(|up| state.finished.get(&info.steps[up.index()].name));
    let kept_by = |record: &Value| match record {
        Value::Record(fields) => fields.get("#instances").cloned(),
        _ => None,
    };
    let kept = kept_by(&f.record).or_else(|| iterated.and_then(|u| kept_by(&u.record)));
    let labels: Option<Vec<String>> = match &kept {
        Some(Value::List(kept)) => Some(
            (kept.iter().enumerate())
                .map(|(k, r)| {
                    crate::runtime::instances::label(
                        &step.name,
                        &crate::runtime::instances::at_of(r, k),
                        true,
                    )
                })
                .collect(),
        ),
        _ => None,
    };
    if labels.is_none() && dims > 1 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (k, ((code, stdout), (tries, took))) in codes
        .iter()
        .zip(stdouts)
        .zip(attempts.iter().zip(durations))
        .enumerate()
    {
        let (Value::Int(code), Value::Str(stdout), Value::Int(tries), Value::Duration(took)) =
            (code, stdout, tries, took)
        else {
            continue;
        };
        if *tries == 0 {
            continue;
        }
        let mut outputs = std::collections::BTreeMap::new();
        for o in &step.outputs {
            if let Some(v) = list(&o.name).and_then(|items| items.get(k)) {
                outputs.insert(o.name.clone(), v.clone());
            }
        }
        let label = (labels.as_ref())
            .and_then(|l| l.get(k).cloned())
            .unwrap_or_else(|| format!("{}[{k}]", step.name));
        out.push((
            label,
            InstanceDone {
                exit_code: i32::try_from(*code).unwrap_or(-1),
                stdout: stdout.clone(),
                attempts: u32::try_from(*tries).unwrap_or(1),
                duration_ms: *took,
                outputs,
                fingerprint: fp,
            },
        ));
    }
    out
}

impl Resume {
    /// Whether the step kept unless `--only` steps change (`name`) is kept, given the
    /// `--only` steps whose results `changed`.
    pub fn keeps(&self, name: &str, changed: &rustc_hash::FxHashSet<String>) -> bool {
        self.keep.contains_key(name)
            && self
                .keep_unless
                .get(name)
                .is_none_or(|only| !only.iter().any(|o| changed.contains(o)))
    }
}

impl Resume {
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

/// The order in which [`Resume::new`] restores instances: the steps others go with
/// instance by instance before those others (a chain of them in order).
fn paired_first(info: &Workflow) -> Vec<usize> {
    let n = info.steps.len();
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let mut placed = vec![false; n];
    // Rounds: at most one per step of the longest chain of pairings.
    for _ in 0..=n {
        let mut progress = false;
        for (i, step) in info.steps.iter().enumerate() {
            let waits = step.fan_out.iter().flat_map(|f| &f.counterparts);
            if placed[i]
                || waits
                    .clone()
                    .any(|c| !placed.get(c.step.index()).copied().unwrap_or(true))
            {
                continue;
            }
            placed[i] = true;
            progress = true;
            order.push(i);
        }
        if !progress {
            break;
        }
    }
    // (On a cycle, which lower refuses, the rest in index order.)
    order.extend((0..n).filter(|&i| !placed[i]));
    order
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
