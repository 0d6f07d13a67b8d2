//! The scheduler's bookkeeping and rules, with no tokio and no processes: who waits for
//! whom ([`Waits`]: a step is decided the moment the last step it waits for is done, so a
//! run costs time in proportion to its steps and edges), the skip and failure rules of
//! docs/language.md §16 that decide a step from the results of the steps it waits for
//! ([`rules`]), and the [`Scheduler`] that keeps the ready set (the highest `priority`
//! first, ties in file order), parks the steps behind a waiting gate, and tracks the
//! workflow's status (its `timeout` and failure budget included) and what to cancel as
//! steps finish.
//! [`super::run`] drives it with tokio and real processes, and evaluates a step's `when`
//! and fan-out list when the rules let it run; the unit tests drive it with a fake
//! spawner on a fake clock.

use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::run::{SkipCause, Status, StepReport};
use crate::graph::{EdgeKind, ExecGraph};
use crate::typed::{DepKind, Workflow};

/// Who waits for whom: graph predecessors, the fallbacks of each predecessor (they stand
/// in for it; a fallback's own fallbacks too, for an escalation chain), and for `finally`
/// steps every ordinary step. A step that waits for another instance by instance
/// ([`EdgeKind::Instance`]) is decided once that one has started (or is done): its
/// instances then wait for theirs.
#[derive(Clone, Debug)]
pub struct Waits {
    /// For each step, the steps that wait for it.
    waiters: Vec<Vec<usize>>,
    /// For each step, the steps that wait only for it to start, instance by instance.
    starters: Vec<Vec<usize>>,
    /// For each step, whether its starters were told (it started, or is done).
    released: Vec<bool>,
    /// For each step, how many of the steps it waits for are not done yet.
    remaining: Vec<usize>,
    /// For each step, the step whose fallback it is.
    pub fallback_of: Vec<Option<usize>>,
}

impl Waits {
    /// The waits of a workflow's steps (indices as in `info.steps` and the graph's nodes).
    pub fn new(info: &Workflow, graph: &ExecGraph) -> Waits {
        let n = info.steps.len();
        let mut fallback_of = vec![None; n];
        for (owner, s) in info.steps.iter().enumerate() {
            for target in s.fallbacks() {
                fallback_of[target.step.index()] = Some(owner);
            }
        }
        let mut waiters: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut starters: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut remaining = vec![0; n];
        for (i, left) in remaining.iter_mut().enumerate() {
            let node = petgraph::graph::NodeIndex::new(i);
            let mut preds: Vec<usize> = Vec::new();
            let mut by_instance: Vec<usize> = Vec::new();
            for e in graph.graph.edges_directed(node, Direction::Incoming) {
                match e.weight() {
                    EdgeKind::Instance => by_instance.push(e.source().index()),
                    _ => preds.push(e.source().index()),
                }
            }
            // A fallback waits for the step it backs, not for that step's other fallbacks.
            // (The fallbacks of a step waited for one instance at a time are waited for
            // whole: they run once it has ended.)
            let mut stand_ins: Vec<usize> = Vec::new();
            let mut todo: Vec<usize> = (preds.iter().chain(&by_instance))
                .filter(|&&p| fallback_of[i] != Some(p))
                .flat_map(|&p| info.steps[p].fallbacks().map(|l| l.step.index()))
                .collect();
            while let Some(f) = todo.pop() {
                if f != i && !stand_ins.contains(&f) {
                    stand_ins.push(f);
                    todo.extend(info.steps[f].fallbacks().map(|l| l.step.index()));
                }
            }
            preds.extend(stand_ins);
            if info.steps[i].finally {
                preds.extend((0..n).filter(|&j| !info.steps[j].finally));
            }
            preds.sort_unstable();
            preds.dedup();
            // Waiting for all of a step covers waiting for its start.
            by_instance.retain(|p| preds.binary_search(p).is_err());
            *left = preds.len() + by_instance.len();
            for p in preds {
                waiters[p].push(i);
            }
            for p in by_instance {
                starters[p].push(i);
            }
        }
        Waits {
            waiters,
            starters,
            released: vec![false; n],
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
        self.started(i, ready);
        for &w in &self.waiters[i] {
            self.remaining[w] = self.remaining[w].saturating_sub(1);
            if self.remaining[w] == 0 {
                ready.push(w);
            }
        }
    }

    /// For each step, the best `key` among the steps that its start or end can make
    /// ready: those that wait for it, or go with its instances, and so on (a step skipped
    /// on the spot makes its own waiters ready at once). `None` for a step that nothing
    /// waits for. `None` overall if the waits have a cycle (the checker rejects cycles;
    /// then nothing is claimed about any step).
    pub fn best_after<K: Ord + Copy>(&self, key: impl Fn(usize) -> K) -> Option<Vec<Option<K>>> {
        let n = self.waiters.len();
        let next_of = |v: usize, k: usize| {
            let w = &self.waiters[v];
            w.get(k)
                .or_else(|| self.starters[v].get(k - w.len()))
                .copied()
        };
        let mut best: Vec<Option<K>> = vec![None; n];
        // 0: not seen, 1: on the path being walked, 2: done.
        let mut state = vec![0u8; n];
        let mut path: Vec<(usize, usize)> = Vec::new();
        for root in 0..n {
            if state[root] != 0 {
                continue;
            }
            state[root] = 1;
            path.push((root, 0));
            while let Some((v, k)) = path.last_mut() {
                let v = *v;
                if let Some(w) = next_of(v, *k) {
                    *k += 1;
                    match state[w] {
                        0 => {
                            state[w] = 1;
                            path.push((w, 0));
                        }
                        1 => return None,
                        _ => {}
                    }
                    continue;
                }
                best[v] = (self.waiters[v].iter().chain(&self.starters[v]))
                    .map(|&w| best[w].max(Some(key(w))))
                    .max()
                    .flatten();
                state[v] = 2;
                path.pop();
            }
        }
        Some(best)
    }

    /// Step `i` started: the steps that go with its instances one by one and wait for
    /// nothing else are pushed on `ready`.
    pub fn started(&mut self, i: usize, ready: &mut Vec<usize>) {
        if std::mem::replace(&mut self.released[i], true) {
            return;
        }
        for &w in &self.starters[i] {
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

/// Why a step that has not started is skipped once the run is stopping (the scheduler
/// says why more precisely when it knows: a timeout, a spent failure budget).
pub const STOPPING: &str = "the run is stopping: a step failed (fail_fast) or it was interrupted";

/// Decides step `i` from the results of the steps it waits for (`report_of`), whether the
/// run is failing (a fail_fast failure or an interrupt) and whether it is paused at a
/// gate. `None`: the rules let it run (its `when` and fan-out list come next).
pub fn rules<'a>(
    i: usize,
    info: &Workflow,
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
        } else if r.status == Status::Paused {
            format!("`{}` is paused", r.name)
        } else {
            format!("`{}` is waiting", r.name)
        })
    };
    // Neither finished nor failed: a step waiting at (or behind) a gate, or paused.
    let undecided = |r: &&StepReport| matches!(r.status, Status::Waiting | Status::Paused);
    if step.finally && paused {
        return Some(Verdict::Hold(
            "the run is paused at an approval gate; finally steps run when it ends".to_string(),
        ));
    }
    // A fallback runs only when the step it backs failed, and its failure took the route
    // to it.
    if let Some(owner) = fallback_of[i] {
        if let Some(r) = report_of(owner).filter(undecided) {
            return Some(held(r));
        }
        match report_of(owner).filter(|r| r.status == Status::Failed) {
            None => {
                return Some(Verdict::Skip(
                    SkipCause::Condition,
                    format!("`{}` did not fail", info.steps[owner].name),
                ))
            }
            Some(r) if fallback_taken(&info.steps[owner], r) != Some(i) => {
                return Some(Verdict::Skip(
                    SkipCause::Condition,
                    format!(
                        "the failure of `{}` took another route",
                        info.steps[owner].name
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    // A compensation runs only after a failure of its target.
    if let Some(target) = step.compensated() {
        let r = report_of(target);
        if let Some(r) = r.filter(undecided) {
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
            return Some(Verdict::Skip(SkipCause::Failure, STOPPING.to_string()));
        }
        let node = petgraph::graph::NodeIndex::new(i);
        for e in graph.graph.edges_directed(node, Direction::Incoming) {
            if !matches!(
                e.weight(),
                EdgeKind::After | EdgeKind::Data | EdgeKind::Instance
            ) {
                continue;
            }
            let p = e.source().index();
            // (A step that goes with `p`'s instances one by one may start before `p` ends.)
            let Some(r) = report_of(p) else { continue };
            match r.status {
                Status::Failed => match outcome(p, info, report_of, fallback_of) {
                    Outcome::Through => {}
                    // Its failure went to a fallback that waits at a gate: undecided yet.
                    Outcome::Undecided(waiting) => return Some(held(waiting)),
                    Outcome::Stands => {
                        return Some(Verdict::Skip(
                            SkipCause::Failure,
                            format!("`{}` failed", r.name),
                        ))
                    }
                },
                Status::Cancelled => {
                    return Some(Verdict::Skip(
                        SkipCause::Failure,
                        format!("`{}` was cancelled", r.name),
                    ));
                }
                Status::Waiting | Status::Paused => return Some(held(r)),
                _ => {}
            }
            let reads_output = step
                .deps
                .iter()
                .any(|d| d.step.index() == p && d.kind == DepKind::Output);
            // A step that goes with `p`'s instances (a `for` over `p`, the steps of one
            // call with `for`) reads them one by one: a failed or skipped instance skips
            // only the instances that go with it (decided as each starts). Unless `p` has
            // no instance at all: it was skipped as a whole.
            let paired = (step.fan_out.as_deref())
                .is_some_and(|f| f.counterpart(crate::typed::StepId::new(p)).is_some());
            if paired && r.status == Status::Skipped {
                let iterates = step
                    .fan_out
                    .as_deref()
                    .is_some_and(|f| f.over.is_some_and(|o| o.index() == p));
                if iterates || reads_output {
                    let cause = r.skip.unwrap_or(SkipCause::Failure);
                    return Some(Verdict::Skip(
                        cause,
                        format!("`{}` was skipped, so it has no instances", r.name),
                    ));
                }
            }
            if paired {
                continue;
            }
            // A fan-out with an instance skipped by its condition succeeds with no outputs.
            let has_outputs = || match &r.record {
                super::eval::Value::Record(fields) => {
                    (info.steps[p].outputs.iter()).all(|o| fields.contains_key(&o.name))
                }
                _ => false,
            };
            if reads_output && r.status == Status::Succeeded && !has_outputs() {
                return Some(Verdict::Skip(
                    SkipCause::Condition,
                    format!(
                        "it reads an output of `{}`, which has none: an instance of it was skipped",
                        r.name
                    ),
                ));
            }
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

/// What a failure of step `p` does, from its report: the route its report says it took
/// (a step with conditional routes), else its `on_failure`.
pub fn taken(p: &crate::typed::Step, report: &StepReport) -> crate::typed::OnFailure {
    report.route.map_or(p.settings.on_failure, |r| r.to)
}

/// The fallback step a failed step's failure went to, if it went to one.
fn fallback_taken(p: &crate::typed::Step, report: &StepReport) -> Option<usize> {
    match taken(p, report) {
        crate::typed::OnFailure::Fallback(l) => Some(l.step.index()),
        _ => None,
    }
}

/// What the steps after step `p` see of its end.
pub enum Outcome<'a> {
    /// It succeeded, or its failure was let through (`continue`, not on a fallback step,
    /// whose failure leaves the one it backs standing) or went to a fallback that is
    /// itself through (an escalation chain: a fallback's own route leads on to the next).
    Through,
    /// A failure stands: it failed (or did not end) and nothing took the failure on.
    Stands,
    /// Its failure went (along the chain) to a fallback that waits at an approval gate or
    /// is paused, this one: whether the failure stands is decided by a resume.
    Undecided(&'a StepReport),
}

/// [`Outcome`] of step `p`, from the reports so far.
pub fn outcome<'a>(
    p: usize,
    info: &Workflow,
    report_of: &dyn Fn(usize) -> Option<&'a StepReport>,
    fallback_of: &[Option<usize>],
) -> Outcome<'a> {
    let Some(r) = report_of(p) else {
        return Outcome::Stands;
    };
    match r.status {
        Status::Succeeded => Outcome::Through,
        Status::Failed => match taken(&info.steps[p], r) {
            crate::typed::OnFailure::FailFast => Outcome::Stands,
            crate::typed::OnFailure::Continue if fallback_of[p].is_none() => Outcome::Through,
            crate::typed::OnFailure::Continue => Outcome::Stands,
            crate::typed::OnFailure::Fallback(l) => {
                outcome(l.step.index(), info, report_of, fallback_of)
            }
        },
        // Reached only through a route: a fallback still waiting.
        Status::Waiting | Status::Paused => Outcome::Undecided(r),
        _ => Outcome::Stands,
    }
}

/// A step's `on_failure` policy (its own attribute, else `defaults`, else fail_fast).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// The workflow fails.
    FailFast,
    /// The failure is let through.
    Continue,
    /// A fallback step runs.
    Fallback,
    /// The step has conditional routes: its report says which one its failure took.
    Routed,
}

/// What the scheduler says about a ready step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ruling {
    /// The rules let it run: its `when` and fan-out list come next.
    Run,
    /// It does not run, for this reason.
    Skip(SkipCause, String),
    /// It stays undecided, for good: the run is paused at a gate it waits for.
    Hold(String),
    /// It waits for a waiting gate while other steps still run: it is decided again when
    /// nothing else runs ([`Scheduler::settle`]), since a failure meanwhile would skip it.
    Parked,
}

/// The scheduler's state, without tokio or processes: the ready set, the rules, and the
/// workflow's status as steps finish. Its driver ([`super::run`]) starts what it is told
/// may run and reports back; the steps to cancel come back from the calls that fail the
/// run.
#[derive(Debug)]
pub struct Scheduler<'a> {
    info: &'a Workflow,
    graph: &'a ExecGraph,
    waits: Waits,
    reports: Vec<Option<StepReport>>,
    ready: Ready,
    parked: Vec<usize>,
    settled: bool,
    running: Vec<bool>,
    failing: bool,
    status: Status,
    finished_ordinary: usize,
    ordinary: usize,
    /// Why steps that have not started are skipped, when it is not [`STOPPING`].
    stop_reason: Option<String>,
    /// Steps that became ready, before they join [`Scheduler::ready`].
    newly_ready: Vec<usize>,
}

/// The steps ready to be decided: the highest priority first, ties in file order (the
/// lower step index first), whatever order they became ready in. Without priorities
/// (see [`Scheduler::prioritize`]) every step has priority 0.
#[derive(Debug, Default)]
pub struct Ready {
    heap: std::collections::BinaryHeap<(i64, std::cmp::Reverse<usize>)>,
    priorities: Vec<i64>,
}

impl Ready {
    /// Step `i` is ready.
    pub fn push(&mut self, i: usize) {
        let priority = self.priorities.get(i).copied().unwrap_or(0);
        self.heap.push((priority, std::cmp::Reverse(i)));
    }

    /// The ready step to decide first.
    pub fn pop(&mut self) -> Option<usize> {
        self.heap.pop().map(|(_, std::cmp::Reverse(i))| i)
    }

    /// The ready step to decide first, left ready.
    pub fn peek(&self) -> Option<usize> {
        self.heap.peek().map(|&(_, std::cmp::Reverse(i))| i)
    }

    /// The same steps, ordered by new priorities.
    fn reprioritize(&mut self, priorities: Vec<i64>) {
        let steps: Vec<usize> = std::mem::take(&mut self.heap)
            .into_iter()
            .map(|(_, std::cmp::Reverse(i))| i)
            .collect();
        self.priorities = priorities;
        steps.into_iter().for_each(|i| self.push(i));
    }
}

impl<'a> Scheduler<'a> {
    /// A run of the workflow's steps.
    pub fn new(info: &'a Workflow, graph: &'a ExecGraph) -> Scheduler<'a> {
        let n = info.steps.len();
        let waits = Waits::new(info, graph);
        let mut ready = Ready::default();
        waits
            .ready_at_start()
            .into_iter()
            .for_each(|i| ready.push(i));
        Scheduler {
            info,
            graph,
            waits,
            reports: vec![None; n],
            ready,
            parked: Vec::new(),
            settled: false,
            running: vec![false; n],
            failing: false,
            status: Status::Succeeded,
            finished_ordinary: 0,
            ordinary: info.steps.iter().filter(|s| !s.finally).count(),
            stop_reason: None,
            newly_ready: Vec::new(),
        }
    }

    /// Gives the steps their priorities (by step index): among the ready steps, the
    /// highest priority is decided first, ties in file order.
    pub fn prioritize(&mut self, priorities: Vec<i64>) {
        self.ready.reprioritize(priorities);
    }

    /// The workflow's status so far: `succeeded`, `failed`, `waiting` or `cancelled`.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Whether every ordinary (not `finally`) step is done.
    pub fn ordinary_done(&self) -> bool {
        self.finished_ordinary == self.ordinary
    }

    /// The step whose fallback `i` is.
    pub fn fallback_of(&self, i: usize) -> Option<usize> {
        self.waits.fallback_of[i]
    }

    /// The next step that is ready to be decided, if any.
    pub fn next_ready(&mut self) -> Option<usize> {
        self.ready.pop()
    }

    /// The step [`Scheduler::next_ready`] would give, left ready.
    pub fn first_ready(&self) -> Option<usize> {
        self.ready.peek()
    }

    /// For each step, the best `key` among the steps its start or end can make ready
    /// (see [`Waits::best_after`]).
    pub fn best_after<K: Ord + Copy>(&self, key: impl Fn(usize) -> K) -> Option<Vec<Option<K>>> {
        self.waits.best_after(key)
    }

    /// What the rules say about ready step `i`.
    pub fn rule(&mut self, i: usize) -> Ruling {
        let reports = &self.reports;
        let report_of = |j: usize| reports[j].as_ref();
        match rules(
            i,
            self.info,
            self.graph,
            &report_of,
            &self.waits.fallback_of,
            self.failing,
            self.status == Status::Waiting,
        ) {
            None => Ruling::Run,
            Some(Verdict::Skip(cause, why)) => match &self.stop_reason {
                Some(reason) if why == STOPPING => Ruling::Skip(cause, reason.clone()),
                _ => Ruling::Skip(cause, why),
            },
            Some(Verdict::Hold(_)) if !self.settled => {
                self.parked.push(i);
                Ruling::Parked
            }
            Some(Verdict::Hold(why)) => Ruling::Hold(why),
        }
    }

    /// Step `i` started.
    pub fn started(&mut self, i: usize) {
        self.running[i] = true;
        let mut released = Vec::new();
        self.waits.started(i, &mut released);
        released.into_iter().for_each(|j| self.ready.push(j));
    }

    /// Step `i` finished in an earlier run and is restored as it was.
    pub fn restored(&mut self, i: usize, report: StepReport) {
        self.finish(i, report);
    }

    /// Step `i` is held for good (see [`Ruling::Hold`]).
    pub fn held(&mut self, i: usize, report: StepReport) {
        self.finish(i, report);
    }

    /// Step `i` was skipped. A fallback that does not run leaves its owner's failure
    /// standing: the run fails, and the running steps to cancel are returned.
    pub fn skipped(&mut self, i: usize, report: StepReport) -> Vec<usize> {
        let owner_failed = self.waits.fallback_of[i].is_some_and(|o| {
            self.reports[o].as_ref().is_some_and(|r| {
                r.status == Status::Failed && fallback_taken(&self.info.steps[o], r) == Some(i)
            })
        });
        let cancel = if owner_failed {
            self.fail()
        } else {
            Vec::new()
        };
        self.finish(i, report);
        cancel
    }

    /// Step `i` ran and ended so. Returns the running steps to cancel when this fails the
    /// run (fail_fast, or a fallback that failed).
    pub fn finished(&mut self, i: usize, mut report: StepReport) -> Vec<usize> {
        let info = self.info;
        let step = &info.steps[i];
        let mut cancel = Vec::new();
        let failed = report.status == Status::Failed;
        let is_fallback = self.waits.fallback_of[i].is_some();
        // Where the failure goes: a fallback of its own (which decides), through (under
        // `continue`), or it fails the run. A fallback that fails leaves the failure it
        // backs standing unless a fallback of its own takes it on.
        let route = taken(step, &report);
        let through = match route {
            crate::typed::OnFailure::Fallback(_) => true,
            crate::typed::OnFailure::Continue => !is_fallback,
            crate::typed::OnFailure::FailFast => false,
        };
        if failed && !step.finally && step.compensates.is_none() && !through {
            cancel = self.fail();
        }
        if report.status == Status::Waiting && self.status == Status::Succeeded {
            self.status = Status::Waiting;
        }
        if failed
            && step.fallbacks().next().is_none()
            && step.finally
            && self.status != Status::TimedOut
        {
            self.status = Status::Failed;
        }
        report.continued = failed && route == crate::typed::OnFailure::Continue;
        self.finish(i, report);
        cancel
    }

    /// The run was interrupted: it ends `cancelled`, nothing new starts but compensation
    /// and finally steps. Returns the running steps to cancel.
    pub fn interrupted(&mut self) -> Vec<usize> {
        self.failing = true;
        self.status = Status::Cancelled;
        self.to_stop()
    }

    /// The run's `timeout` passed: it ends `timed_out` (unless it was interrupted before),
    /// nothing new starts but
    /// compensation and finally steps, and the running steps to cancel are returned.
    pub fn timed_out(&mut self, reason: String) -> Vec<usize> {
        self.failing = true;
        // An interrupt that came first decides how the run ended.
        if self.status != Status::Cancelled {
            self.status = Status::TimedOut;
        }
        self.stop_reason = Some(reason);
        self.to_stop()
    }

    /// The run's failure budget (`max_failures`) is spent: the run fails and nothing new
    /// starts but compensation and finally steps; the running steps go on to their end.
    pub fn budget_spent(&mut self, reason: String) {
        if !matches!(self.status, Status::Cancelled | Status::TimedOut) {
            self.status = Status::Failed;
        }
        self.failing = true;
        self.stop_reason.get_or_insert(reason);
    }

    /// The run is to pause (`flowc pause`): it ends `paused` unless something fails or
    /// interrupts it meanwhile. False (and nothing changes) when it is stopping already.
    pub fn pause(&mut self) -> bool {
        if self.failing || matches!(self.status, Status::Failed | Status::Cancelled) {
            return false;
        }
        self.status = Status::Paused;
        true
    }

    /// Nothing runs any more: the parked steps become ready, to be decided for good (held
    /// if the run is only paused, skipped if it failed meanwhile). False when none were
    /// parked: the run is over.
    pub fn settle(&mut self) -> bool {
        if self.parked.is_empty() {
            return false;
        }
        self.settled = true;
        for i in std::mem::take(&mut self.parked) {
            self.ready.push(i);
        }
        true
    }

    /// Every step's report (`None` for a step never decided), in step order.
    pub fn into_reports(self) -> Vec<Option<StepReport>> {
        self.reports
    }

    fn finish(&mut self, i: usize, report: StepReport) {
        self.reports[i] = Some(report);
        self.running[i] = false;
        if !self.info.steps[i].finally {
            self.finished_ordinary += 1;
        }
        self.waits.done(i, &mut self.newly_ready);
        for j in self.newly_ready.drain(..) {
            self.ready.push(j);
        }
    }

    /// A failure under `fail_fast` (or of a fallback, or a fallback that did not run): the
    /// workflow fails and everything ordinary that is still running is stopped.
    fn fail(&mut self) -> Vec<usize> {
        if !matches!(self.status, Status::Cancelled | Status::TimedOut) {
            self.status = Status::Failed;
        }
        if self.failing {
            return Vec::new();
        }
        self.failing = true;
        self.to_stop()
    }

    /// The running steps a failure or an interrupt stops. Compensation, fallback and
    /// finally steps are handlers: they go on.
    fn to_stop(&self) -> Vec<usize> {
        (0..self.running.len())
            .filter(|&j| self.running[j])
            .filter(|&j| {
                let s = &self.info.steps[j];
                !s.finally && s.compensates.is_none() && self.waits.fallback_of[j].is_none()
            })
            .collect()
    }
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
            failure: None,
            attempts: 0,
            duration: std::time::Duration::ZERO,
            exit_codes: Vec::new(),
            continued: false,
            restored: false,
            gate: status == Status::Waiting && skip.is_none(),
            record: Value::Record(Default::default()),
            route: None,
        }
    }

    #[test]
    fn the_best_step_an_end_can_make_ready_counts_everything_after_it() {
        // `b` waits for `a`, `c` for `b` (so `a`'s end can make `c` ready, through `b`
        // skipped on the spot), `fix` stands in for `b`, `last` is a finally step, which
        // waits for every ordinary step; `lone` makes only `last` ready.
        let lowered = compiled(
            "workflow w {
  step lone { run \"true\" }
  step a { run \"true\" }
  step b after a {
    run \"true\"
    on_failure fix
  }
  step fix { run \"true\" }
  step c after b { run \"true\" }
  finally step last { run \"true\" }
}",
        );
        let info = &lowered.program.workflows[0];
        let sched = Scheduler::new(info, &lowered.graphs[0]);
        let index = |name: &str| {
            (info.steps.iter().position(|s| s.name == name)).unwrap_or_else(|| panic!("{name}"))
        };
        // The key: the step's name, so the "best" is the greatest name.
        let best = sched
            .best_after(|j| info.steps[j].name.as_str())
            .expect("no cycle");
        let best_of = |name: &str| best[index(name)];
        assert_eq!(best_of("lone"), Some("last"));
        assert_eq!(best_of("a"), Some("last"));
        assert_eq!(best_of("last"), None);
        // By file position instead (the lower the better, as claims rank steps): `a`
        // can make `b` ready, `b` can make `fix` and `c` ready.
        let first = sched.best_after(std::cmp::Reverse).expect("no cycle");
        assert_eq!(first[index("a")], Some(std::cmp::Reverse(index("b"))));
        assert_eq!(first[index("b")], Some(std::cmp::Reverse(index("fix"))));
        assert_eq!(first[index("c")], Some(std::cmp::Reverse(index("last"))));
    }

    /// Runs the workflow's scheduling with a fake spawner: a step the rules let run ends
    /// as `outcomes` says (else it succeeds), at once. A failure fails the run as
    /// fail_fast does, unless the step has a fallback. Gives each step's fate, in the
    /// order the steps were decided: `ran succeeded`, `skipped: why`, `held: why`.
    fn simulate(text: &str, outcomes: &[(&str, Status)]) -> Vec<(String, String)> {
        let lowered = compiled(text);
        let info = &lowered.program.workflows[0];
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
                        && step.fallbacks().next().is_none()
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
    fn a_paused_step_holds_what_waits_for_it_and_compensates_nothing() {
        let text = "workflow p {
  step a { sleep 0s }
  step b after a { sleep 0s }
  step c after b { sleep 0s }
  step undo on_failure_of b { sleep 0s }
}";
        let fates = simulate(text, &[("b", Status::Paused)]);
        assert_eq!(fate(&fates, "c"), "held: `b` is paused");
        assert_eq!(fate(&fates, "undo"), "held: `b` is paused");
        // A run that is stopping already is not paused; a healthy one is, until it fails.
        let lowered = compiled(text);
        let (info, graph) = (&lowered.program.workflows[0], &lowered.graphs[0]);
        let mut sched = Scheduler::new(info, graph);
        assert!(sched.pause());
        assert_eq!(sched.status(), Status::Paused);
        let mut failing = Scheduler::new(info, graph);
        failing.interrupted();
        assert!(!failing.pause());
        assert_eq!(failing.status(), Status::Cancelled);
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

    /// A fake spawner on a fake clock: a started step ends `ms` later with its status
    /// from `table` (default 10 ms, succeeded); at most `slots` run at once (the others
    /// wait for a slot, as started tasks do). A step the scheduler cancels ends at once,
    /// cancelled; `interrupt_at` sends an interrupt then. Gives the log (`t=.. start a`,
    /// `t=.. a failed`, `t=.. cancel b`, `t=.. skip c: why`, `t=.. hold d`) and the
    /// workflow's status.
    fn play(
        text: &str,
        table: &[(&str, u64, Status)],
        slots: usize,
        interrupt_at: Option<u64>,
    ) -> (Vec<String>, Status) {
        play_with(
            text,
            &Setup {
                table,
                slots,
                interrupt_at,
                ..Setup::default()
            },
        )
    }

    /// What [`play_with`] plays.
    #[derive(Default)]
    struct Setup<'a> {
        /// How long each step takes and how it ends (default 10 ms, succeeded).
        table: &'a [(&'a str, u64, Status)],
        /// Process slots.
        slots: usize,
        /// When an interrupt comes.
        interrupt_at: Option<u64>,
        /// When the run's `timeout` passes.
        timeout_at: Option<u64>,
        /// The run's `max_failures`.
        budget: Option<usize>,
        /// Step priorities (0 when not listed).
        priorities: &'a [(&'a str, i64)],
    }

    /// [`play`], with priorities, a run timeout and a failure budget as the run applies
    /// them: a free slot goes to the waiting step of the highest priority, ties in file
    /// order (as [`super::super::slots::Slots`] hands them out); the budget counts failed
    /// steps, and once it is spent the steps still waiting for a slot do not start.
    fn play_with(text: &str, setup: &Setup<'_>) -> (Vec<String>, Status) {
        let lowered = compiled(text);
        let info = &lowered.program.workflows[0];
        let graph = &lowered.graphs[0];
        let priority = |i: usize| {
            (setup.priorities.iter())
                .find(|(n, _)| *n == info.steps[i].name)
                .map_or(0, |(_, p)| *p)
        };
        let mut sched = Scheduler::new(info, graph);
        sched.prioritize((0..info.steps.len()).map(priority).collect());
        let name = |i: usize| info.steps[i].name.clone();
        let outcome = |i: usize| {
            (setup.table.iter())
                .find(|(n, _, _)| *n == info.steps[i].name)
                .map_or((10, Status::Succeeded), |(_, ms, s)| (*ms, *s))
        };
        let mut log = Vec::new();
        let mut now = 0u64;
        // Started steps: (ends at, step, status); `None` for the end while waiting for a slot.
        let mut running: Vec<(Option<u64>, usize, Status)> = Vec::new();
        let (mut interrupted, mut timed_out) = (false, false);
        let mut failures = 0;
        loop {
            while let Some(i) = sched.next_ready() {
                match sched.rule(i) {
                    Ruling::Parked => {}
                    Ruling::Hold(_) => {
                        log.push(format!("t={now} hold {}", name(i)));
                        let mut held = report(&name(i), Status::Waiting, None);
                        held.gate = false;
                        sched.held(i, held);
                    }
                    Ruling::Skip(cause, why) => {
                        log.push(format!("t={now} skip {}: {why}", name(i)));
                        let stop = sched.skipped(i, report(&name(i), Status::Skipped, Some(cause)));
                        cancel(&mut sched, &mut running, &mut log, now, stop, &name);
                    }
                    Ruling::Run => {
                        sched.started(i);
                        running.push((None, i, outcome(i).1));
                    }
                }
            }
            let spent = setup.budget.is_some_and(|n| failures >= n);
            // Free slots go to the steps waiting for one: the highest priority first, ties
            // in file order. With the budget spent, those do not start.
            let mut waiting: Vec<usize> = (0..running.len())
                .filter(|&k| running[k].0.is_none())
                .collect();
            waiting.sort_by_key(|&k| (std::cmp::Reverse(priority(running[k].1)), running[k].1));
            // Compensation, fallback and finally steps handle failures: they still start.
            let handler = |i: usize| {
                let s = &info.steps[i];
                s.finally || s.compensates.is_some() || sched.fallback_of(i).is_some()
            };
            let mut never_start: Vec<usize> = waiting
                .iter()
                .copied()
                .filter(|&k| spent && !handler(running[k].1))
                .collect();
            if !never_start.is_empty() {
                // They never start; what waited for them is decided in the next round.
                never_start.sort_unstable();
                for k in never_start.into_iter().rev() {
                    let (_, j, _) = running.remove(k);
                    log.push(format!("t={now} not started {}", name(j)));
                    let more = sched.finished(j, report(&name(j), Status::Cancelled, None));
                    assert!(more.is_empty(), "a step that never started fails nothing");
                }
                continue;
            }
            let busy = running.iter().filter(|r| r.0.is_some()).count();
            for k in waiting
                .into_iter()
                .take(setup.slots - busy.min(setup.slots))
            {
                running[k].0 = Some(now + outcome(running[k].1).0);
                log.push(format!("t={now} start {}", name(running[k].1)));
            }
            let Some(k) = (0..running.len())
                .filter(|&k| running[k].0.is_some())
                .min_by_key(|&k| running[k].0)
            else {
                if sched.settle() {
                    continue;
                }
                break;
            };
            let end = running[k].0.unwrap_or(now);
            if let Some(t) = setup.interrupt_at.filter(|t| !interrupted && *t < end) {
                now = t;
                interrupted = true;
                log.push(format!("t={now} interrupt"));
                let stop = sched.interrupted();
                cancel(&mut sched, &mut running, &mut log, now, stop, &name);
                continue;
            }
            if let Some(t) = setup.timeout_at.filter(|t| !timed_out && *t < end) {
                now = t;
                timed_out = true;
                log.push(format!("t={now} timeout"));
                let stop = sched.timed_out("the run's timeout has passed".to_string());
                cancel(&mut sched, &mut running, &mut log, now, stop, &name);
                continue;
            }
            now = end;
            let (_, i, status) = running.remove(k);
            log.push(format!("t={now} {} {}", name(i), status.as_str()));
            if status == Status::Failed {
                failures += 1;
                if setup.budget == Some(failures) {
                    log.push(format!("t={now} budget spent"));
                    sched.budget_spent("the run's failure budget is spent".to_string());
                }
            }
            let stop = sched.finished(i, report(&name(i), status, None));
            cancel(&mut sched, &mut running, &mut log, now, stop, &name);
        }
        (log, sched.status())
    }

    /// Ends the `stop` steps at once, cancelled.
    fn cancel(
        sched: &mut Scheduler<'_>,
        running: &mut Vec<(Option<u64>, usize, Status)>,
        log: &mut Vec<String>,
        now: u64,
        stop: Vec<usize>,
        name: &dyn Fn(usize) -> String,
    ) {
        for j in stop {
            if let Some(k) = running.iter().position(|r| r.1 == j) {
                running.remove(k);
                log.push(format!("t={now} cancel {}", name(j)));
                let more = sched.finished(j, report(&name(j), Status::Cancelled, None));
                assert!(more.is_empty(), "a cancellation fails nothing more");
            }
        }
    }

    #[test]
    fn slots_limit_what_runs_and_steps_start_in_source_order() {
        let (log, status) = play(
            "workflow w {
  step a { sleep 0s }
  step b { sleep 0s }
  step c after a { sleep 0s }
}",
            &[],
            1,
            None,
        );
        assert_eq!(status, Status::Succeeded);
        assert_eq!(
            log,
            [
                "t=0 start a",
                "t=10 a succeeded",
                "t=10 start b",
                "t=20 b succeeded",
                "t=20 start c",
                "t=30 c succeeded"
            ]
        );
    }

    #[test]
    fn fail_fast_cancels_running_steps_skips_the_rest_and_runs_handlers() {
        let (log, status) = play(
            "workflow w {
  step a { sleep 0s }
  step b { sleep 0s }
  step c after b { sleep 0s }
  step undo on_failure_of a { sleep 0s }
  finally step report { sleep 0s }
}",
            &[("a", 100, Status::Failed), ("b", 500, Status::Succeeded)],
            2,
            None,
        );
        assert_eq!(status, Status::Failed);
        assert_eq!(
            log,
            [
                "t=0 start a",
                "t=0 start b",
                "t=100 a failed",
                "t=100 cancel b",
                "t=100 skip c: the run is stopping: a step failed (fail_fast) or it was interrupted",
                "t=100 start undo",
                "t=110 undo succeeded",
                "t=110 start report",
                "t=120 report succeeded"
            ]
        );
    }

    #[test]
    fn an_interrupt_cancels_running_steps_and_still_runs_finally() {
        let (log, status) = play(
            "workflow w {
  step a { sleep 0s }
  step b after a { sleep 0s }
  finally step report { sleep 0s }
}",
            &[("a", 1000, Status::Succeeded)],
            2,
            Some(50),
        );
        assert_eq!(status, Status::Cancelled);
        assert_eq!(
            log,
            [
                "t=0 start a",
                "t=50 interrupt",
                "t=50 cancel a",
                "t=50 skip b: the run is stopping: a step failed (fail_fast) or it was interrupted",
                "t=50 start report",
                "t=60 report succeeded"
            ]
        );
    }

    #[test]
    fn a_step_that_goes_with_another_instance_by_instance_is_decided_once_it_started() {
        // `qc` starts with `worker` (its instances then wait for theirs one by one);
        // `total` waits for all of `qc`, and `audit` for all of `worker`.
        let (log, status) = play(
            "workflow w {
  step worker for s in [1, 2] { sleep 0s }
  step qc for x in worker { sleep 0s }
  step total after qc { sleep 0s }
  step audit after worker { sleep 0s }
}",
            &[("worker", 100, Status::Succeeded)],
            4,
            None,
        );
        assert_eq!(status, Status::Succeeded);
        assert_eq!(
            log,
            [
                "t=0 start worker",
                "t=0 start qc",
                "t=10 qc succeeded",
                "t=10 start total",
                "t=20 total succeeded",
                "t=100 worker succeeded",
                "t=100 start audit",
                "t=110 audit succeeded"
            ]
        );
        // A `for` over a step that is skipped as a whole is skipped, with its cause.
        let fates = simulate(
            "workflow w {
  step worker for s in [1, 2] { sleep 0s }
  step qc for x in worker { sleep 0s }
}",
            &[("worker", Status::Skipped)],
        );
        assert_eq!(
            fate(&fates, "qc"),
            "skipped: `worker` was skipped, so it has no instances"
        );
    }

    #[test]
    fn a_gate_parks_what_waits_for_it_until_nothing_else_runs() {
        let text = "workflow g {
  step gate { approve \"ship?\" }
  step ship after gate { sleep 0s }
  step undo on_failure_of ship { sleep 0s }
  step slow { sleep 0s }
  finally step report { sleep 0s }
}";
        let (log, status) = play(
            text,
            &[
                ("gate", 10, Status::Waiting),
                ("slow", 300, Status::Succeeded),
            ],
            2,
            None,
        );
        assert_eq!(status, Status::Waiting);
        assert_eq!(
            log,
            [
                "t=0 start gate",
                "t=0 start slow",
                "t=10 gate waiting",
                "t=300 slow succeeded",
                "t=300 hold ship",
                "t=300 hold undo",
                "t=300 hold report"
            ]
        );
        // A failure while paused: the parked steps are skipped because of it.
        let (log, status) = play(
            text,
            &[("gate", 10, Status::Waiting), ("slow", 300, Status::Failed)],
            2,
            None,
        );
        assert_eq!(status, Status::Failed);
        assert_eq!(
            &log[3..],
            [
                "t=300 slow failed",
                "t=300 skip ship: the run is stopping: a step failed (fail_fast) or it was interrupted",
                "t=300 start undo",
                "t=310 undo succeeded",
                "t=310 start report",
                "t=320 report succeeded"
            ]
        );
    }

    #[test]
    fn ready_steps_are_decided_by_priority_then_in_file_order() {
        let lowered = compiled(
            "workflow w {
  step a { sleep 0s }
  step b { sleep 0s }
  step c { sleep 0s }
  step d after a { sleep 0s }
  step e after a { sleep 0s }
}",
        );
        let (info, graph) = (&lowered.program.workflows[0], &lowered.graphs[0]);
        let mut sched = Scheduler::new(info, graph);
        sched.prioritize(vec![5, 0, 5, -1, 7]);
        let mut order = Vec::new();
        while let Some(i) = sched.next_ready() {
            assert_eq!(sched.rule(i), Ruling::Run);
            order.push(info.steps[i].name.as_str());
            sched.started(i);
            let stop = sched.finished(i, report(&info.steps[i].name, Status::Succeeded, None));
            assert!(stop.is_empty());
        }
        // `a` and `c` tie at 5 (file order); `a` makes `e` (7) and `d` (-1) ready, and `e`
        // comes before `b` (0), which was ready from the start.
        assert_eq!(order, ["a", "e", "c", "b", "d"]);
    }

    #[test]
    fn a_freed_slot_goes_to_the_highest_priority_among_the_steps_waiting() {
        let (log, status) = play_with(
            "workflow w {
  step gate { sleep 0s }
  step none { sleep 0s }
  step low after gate { sleep 0s }
  step high after gate { sleep 0s }
  step mid after gate { sleep 0s }
}",
            &Setup {
                slots: 1,
                priorities: &[("gate", 100), ("low", 1), ("high", 10), ("mid", 5)],
                ..Setup::default()
            },
        );
        assert_eq!(status, Status::Succeeded);
        let starts: Vec<&str> = log
            .iter()
            .filter_map(|l| l.split_once(" start ").map(|(_, s)| s))
            .collect();
        assert_eq!(starts, ["gate", "high", "mid", "low", "none"]);
    }

    #[test]
    fn the_run_timeout_cancels_running_steps_skips_the_rest_and_runs_handlers() {
        let text = "workflow w {
  step a { sleep 0s }
  step b after a { sleep 0s }
  step undo on_failure_of a { sleep 0s }
  finally step report { sleep 0s }
}";
        let (log, status) = play_with(
            text,
            &Setup {
                table: &[("a", 1000, Status::Succeeded)],
                slots: 2,
                timeout_at: Some(50),
                ..Setup::default()
            },
        );
        assert_eq!(status, Status::TimedOut);
        assert_eq!(
            log,
            [
                "t=0 start a",
                "t=50 timeout",
                "t=50 cancel a",
                "t=50 skip b: the run's timeout has passed",
                "t=50 start undo",
                "t=60 undo succeeded",
                "t=60 start report",
                "t=70 report succeeded"
            ]
        );
        // A handler that fails after the timeout leaves the run timed out.
        let (_, status) = play_with(
            text,
            &Setup {
                table: &[
                    ("a", 1000, Status::Succeeded),
                    ("report", 10, Status::Failed),
                ],
                slots: 2,
                timeout_at: Some(50),
                ..Setup::default()
            },
        );
        assert_eq!(status, Status::TimedOut);
    }

    #[test]
    fn a_spent_budget_starts_nothing_new_and_lets_running_steps_finish() {
        let (log, status) = play_with(
            "workflow w {
  defaults { on_failure continue }
  step slow { sleep 0s }
  step f1 { sleep 0s }
  step f2 { sleep 0s }
  step f3 { sleep 0s }
  step after_f3 after f3 { sleep 0s }
  step undo on_failure_of f3 { sleep 0s }
  finally step report { sleep 0s }
}",
            &Setup {
                table: &[
                    ("slow", 100, Status::Succeeded),
                    ("f1", 10, Status::Failed),
                    ("f2", 10, Status::Failed),
                    ("f3", 10, Status::Failed),
                ],
                slots: 2,
                budget: Some(2),
                ..Setup::default()
            },
        );
        assert_eq!(status, Status::Failed);
        assert_eq!(
            log,
            [
                "t=0 start slow",
                "t=0 start f1",
                "t=10 f1 failed",
                "t=10 start f2",
                "t=20 f2 failed",
                "t=20 budget spent",
                "t=20 not started f3",
                "t=20 skip after_f3: the run's failure budget is spent",
                "t=20 start undo",
                "t=30 undo succeeded",
                "t=100 slow succeeded",
                "t=100 start report",
                "t=110 report succeeded"
            ]
        );
    }
}
