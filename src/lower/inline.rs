//! Sub-workflows: a step that calls a workflow (`step eu = deploy_region(region: "eu")`,
//! or `step d = common.deploy(...)` for a workflow of an imported module) is replaced by
//! that workflow's steps, renamed `eu.STEP`, so that they are ordinary steps of the
//! caller's execution graph: visible in progress, `flowc graph`, `flowc plan` and the logs,
//! and scheduled, retried, journaled and skipped like any other step.
//!
//! This works on the resolved program, after one check: names are already resolved, so
//! the called workflow's constants, tasks and named policies stay those of its own module
//! (by module identity), whatever the caller's imports are called. In an inlined step:
//!
//! - a parameter of the called workflow is the call's argument (or the parameter's default),
//!   and a `let` of it is its value; a `secret` of it becomes a binding `eu.NAME` of the
//!   caller, so it stays secret;
//! - the call's `after` and `when` apply to every inner step, as does `finally` and
//!   `on_failure_of` (each inner step compensates the same step; one with a compensation
//!   target of its own keeps it);
//! - a setting (`retry`, `timeout`, `env`, `on_failure`) the inner step or its task sets
//!   wins; then the call step's own; then the called workflow's `defaults`; then the
//!   caller's `defaults`;
//! - a step reads the caller's steps through the arguments, and waits for what it reads.
//!
//! The call step itself stays, as a step that waits for all the ordinary inner steps, does
//! nothing, and computes the callee's declared `outputs` from them, so that steps after it
//! wait for the whole sub-workflow and read its outputs as the call step's fields.
//!
//! A call with `for` runs the workflow once per instance: every inner step fans out over
//! the call's axes (then its own, when it fans out itself: a matrix), and goes with the
//! other inner steps instance by instance ([`crate::typed::Counterpart`]), so `each.roll[1]`
//! reads and waits for `each.push[1]` only.
//!
//! Workflows are inlined callees first, so a nested call (`w.eu.push`) is flat by the time
//! its caller is inlined. A workflow that calls itself, directly or through others, is
//! E0116, and a call of a workflow with a `concurrency` group is E0532 ([`check_calls`]).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::check::{CheckError, ConcurrencyError, Type};
use crate::diagnostics::Diagnostics;
use crate::typed::{
    Action, BinOp, Binding, Counterpart, Dep, DepKind, Expr, ExprKind, OnFailure, Program, Ref,
    Step, StepId, Workflow, WorkflowCall,
};

/// A workflow: its module's index and its index among the module's workflows.
type Key = (usize, usize);

/// The workflows of each module, in module order.
struct Table<'a> {
    modules: Vec<&'a [Workflow]>,
    by_name: HashMap<(usize, &'a str), usize>,
}

impl<'a> Table<'a> {
    fn new(modules: Vec<&'a [Workflow]>) -> Table<'a> {
        let mut by_name = HashMap::default();
        for (m, wfs) in modules.iter().enumerate() {
            for (w, wf) in wfs.iter().enumerate() {
                by_name.insert((m, wf.name.as_str()), w);
            }
        }
        Table { modules, by_name }
    }

    fn get(&self, (m, w): Key) -> &'a Workflow {
        &self.modules[m][w]
    }

    /// The workflow a call names.
    fn callee(&self, call: &WorkflowCall) -> Option<Key> {
        let w = *self.by_name.get(&(call.module, call.name.as_str()))?;
        Some((call.module, w))
    }

    /// The workflows `key` calls, with the calling steps.
    fn calls(&self, key: Key) -> impl Iterator<Item = (Key, &'a Step, &'a WorkflowCall)> + '_ {
        self.get(key).steps.iter().filter_map(|s| match &s.action {
            Action::Workflow(call) => Some((self.callee(call)?, s, &**call)),
            _ => None,
        })
    }

    fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        (self.modules.iter().enumerate()).flat_map(|(m, wfs)| (0..wfs.len()).map(move |w| (m, w)))
    }
}

/// Reports the calls of workflows that cannot be inlined: every cycle of calls (E0116),
/// once per cycle, against the workflow that comes first in module and source order, at
/// the call that closes it; and a call of a workflow that has a concurrency group (E0532).
pub fn check_calls(modules: Vec<&[Workflow]>, diags: &mut Diagnostics) {
    let table = Table::new(modules);
    if !table.keys().any(|k| table.calls(k).next().is_some()) {
        return;
    }
    for key in table.keys() {
        for (callee, _, call) in table.calls(key) {
            if table.get(callee).concurrency.is_some() {
                diags.error(
                    call.span.source,
                    ConcurrencyError::Called {
                        callee: call.callee.clone(),
                        span: call.span.span.into(),
                    },
                );
            }
        }
    }
    // 0: not seen, 1: on the stack, 2: done.
    let mut state: HashMap<Key, u8> = HashMap::default();
    let mut reported: HashSet<Key> = HashSet::default();
    for key in table.keys() {
        let mut stack = Vec::new();
        visit(&table, key, &mut stack, &mut state, &mut reported, diags);
    }
}

fn visit(
    table: &Table<'_>,
    key: Key,
    stack: &mut Vec<Key>,
    state: &mut HashMap<Key, u8>,
    reported: &mut HashSet<Key>,
    diags: &mut Diagnostics,
) {
    if state.get(&key).copied().unwrap_or(0) != 0 {
        return;
    }
    state.insert(key, 1);
    stack.push(key);
    for (callee, _, call) in table.calls(key) {
        match state.get(&callee).copied().unwrap_or(0) {
            0 => visit(table, callee, stack, state, reported, diags),
            1 => {
                let start = stack.iter().position(|k| *k == callee).unwrap_or(0);
                let cycle = &stack[start..];
                if cycle.iter().any(|k| reported.contains(k)) {
                    continue;
                }
                reported.extend(cycle.iter().copied());
                let mut chain: Vec<&str> =
                    cycle.iter().map(|k| table.get(*k).name.as_str()).collect();
                chain.push(&table.get(callee).name);
                diags.error(
                    call.span.source,
                    CheckError::RecursiveWorkflow {
                        name: table.get(callee).name.clone(),
                        chain: chain.join(" -> "),
                        span: call.span.span.into(),
                    },
                );
            }
            _ => {}
        }
    }
    stack.pop();
    state.insert(key, 2);
}

/// Inlines every call of a workflow in `program`, callees first, and says which
/// workflows of the root file changed (by index). The program must be free of call cycles
/// ([`check_calls`]).
pub fn inline(program: &mut Program) -> Vec<usize> {
    let root = program.modules.len().saturating_sub(1);
    let modules: Vec<&[Workflow]> = (0..program.modules.len())
        .map(|m| {
            if m == root {
                program.workflows.as_slice()
            } else {
                program.modules[m].workflows.as_slice()
            }
        })
        .collect();
    let table = Table::new(modules);
    if !table.keys().any(|k| table.calls(k).next().is_some()) {
        return Vec::new();
    }
    // Callees before their callers.
    let mut order = Vec::new();
    let mut seen: HashSet<Key> = HashSet::default();
    for key in table.keys() {
        post_order(&table, key, &mut seen, &mut order);
    }
    let mut flat: HashMap<Key, Workflow> = HashMap::default();
    for key in order {
        if table.calls(key).next().is_none() {
            continue;
        }
        let wf = inline_workflow(&table, table.get(key), &flat);
        flat.insert(key, wf);
    }
    let mut changed = Vec::new();
    for ((m, w), wf) in flat {
        if m == root {
            program.workflows[w] = wf;
            changed.push(w);
        } else {
            program.modules[m].workflows[w] = wf;
        }
    }
    changed
}

fn post_order(table: &Table<'_>, key: Key, seen: &mut HashSet<Key>, order: &mut Vec<Key>) {
    if !seen.insert(key) {
        return;
    }
    for (callee, _, _) in table.calls(key) {
        post_order(table, callee, seen, order);
    }
    order.push(key);
}

/// The call step `s` makes, and the workflow it calls (flat when it calls others itself).
fn called<'s, 't>(
    table: &Table<'t>,
    flat: &'t HashMap<Key, Workflow>,
    s: &'s Step,
) -> Option<(&'s WorkflowCall, &'t Workflow)> {
    let Action::Workflow(call) = &s.action else {
        return None;
    };
    let key = table.callee(call)?;
    Some((call, flat.get(&key).unwrap_or_else(|| table.get(key))))
}

/// `wf` with each call replaced by the (already flat) callee's steps.
fn inline_workflow(table: &Table<'_>, wf: &Workflow, flat: &HashMap<Key, Workflow>) -> Workflow {
    let callee_of = |s: &Step| called(table, flat, s).map(|(_, callee)| callee);
    // The caller's steps keep their order; a call's inner steps come just before it.
    let mut new_id = Vec::with_capacity(wf.steps.len());
    let mut next = 0;
    for s in &wf.steps {
        if let Some(callee) = callee_of(s) {
            next += callee.steps.len();
        }
        new_id.push(StepId::new(next));
        next += 1;
    }
    let renumber = |e: &mut Expr| {
        e.rewrite(&mut |x| {
            if let ExprKind::Ref(Ref::Step(id) | Ref::Instance(id)) = &mut x.kind {
                *id = new_id[id.index()];
            }
            false
        })
    };
    let mut out = Workflow {
        name: wf.name.clone(),
        docs: wf.docs.clone(),
        params: wf.params.clone(),
        bindings: wf.bindings.clone(),
        steps: Vec::with_capacity(next),
        outputs: wf.outputs.clone(),
        max_parallel: wf.max_parallel.clone(),
        concurrency: wf.concurrency.clone(),
        timeout: wf.timeout.clone(),
        max_failures: wf.max_failures.clone(),
        span: wf.span,
    };
    let mut derive: Vec<usize> = Vec::new();
    // The steps of each call with `for` (first and last index, the join last), and how
    // many index entries the call's own `for` clauses give its instances.
    let mut each_calls: Vec<(usize, usize, usize)> = Vec::new();
    for s in &wf.steps {
        let dims = wf.dims(s.id);
        let mut s = s.clone();
        s.id = new_id[s.id.index()];
        s.for_each_expr_mut(&mut |e| renumber(e));
        if let Some(fan) = &mut s.fan_out {
            if let Some(over) = &mut fan.over {
                *over = new_id[over.index()];
            }
            for c in &mut fan.counterparts {
                c.step = new_id[c.step.index()];
            }
        }
        for d in &mut s.deps {
            d.step = new_id[d.step.index()];
        }
        if let Some(l) = &mut s.compensates {
            l.step = new_id[l.step.index()];
        }
        for to in fallback_targets(&mut s) {
            to.step = new_id[to.step.index()];
        }
        match called(table, flat, &s) {
            Some((wcall, callee)) => {
                let base = out.steps.len();
                let (inner, join) = instantiate(&s, wcall, callee, base, dims, &mut out.bindings);
                derive.extend(base..=base + inner.len());
                if s.fan_out.is_some() {
                    each_calls.push((base, base + inner.len(), dims));
                }
                out.steps.extend(inner);
                out.steps.push(join);
            }
            None => out.steps.push(s),
        }
    }
    for i in derive {
        let deps = derived_deps(&out.steps, i);
        out.steps[i].deps.extend(deps);
    }
    for (first, last, dims) in each_calls {
        for i in first..=last {
            pair_within_call(&mut out.steps[i], first..=last, dims);
        }
    }
    out
}

/// The steps of one call with `for` go with each other instance by instance: every inner
/// step (and the join) is paired with each step of the same call it reads or waits for,
/// sharing the call's `dims` index entries (a pairing it already has, a `for` over an
/// inner step, is kept).
fn pair_within_call(step: &mut Step, call: std::ops::RangeInclusive<usize>, dims: usize) {
    let Some(fan) = step.fan_out.as_deref_mut() else {
        return;
    };
    for d in &step.deps {
        if call.contains(&d.step.index()) && fan.counterpart(d.step).is_none() {
            fan.counterparts.push(Counterpart {
                step: d.step,
                prefix: dims,
            });
        }
    }
}

/// The steps of `callee` as called by step `call` through `wcall` (whose references are
/// already in the new numbering), numbered from `base`, and the join step that stands for
/// the call. Secrets of the callee are added to `bindings`.
#[allow(clippy::too_many_arguments)]
fn instantiate(
    call: &Step,
    wcall: &WorkflowCall,
    callee: &Workflow,
    base: usize,
    dims: usize,
    bindings: &mut Vec<Binding>,
) -> (Vec<Step>, Step) {
    let prefix = format!("{}.", call.name);
    let n = callee.steps.len();
    // A call with `for`: every inner step fans out over the call's axes (then its own),
    // and goes with the same instance of the others.
    let each = call.fan_out.is_some();
    let shift = |id: StepId| StepId::new(base + id.index());
    // Parameter -> the argument given for it, or its default (which reads constants only).
    let mut values: HashMap<Given, Expr> = HashMap::default();
    for (param, (_, given)) in callee.params.iter().zip(&wcall.args) {
        if let Some(e) = given.clone().or_else(|| param.default.clone()) {
            values.insert(Given::Param(param.name.clone()), e);
        }
    }
    // A `let` of the callee is its value; a `secret` stays a binding, of the caller.
    let mut renamed: HashMap<String, String> = HashMap::default();
    for b in &callee.bindings {
        let mut value = b.value.clone();
        substitute(&mut value, &values, &renamed, base, each);
        if b.secret {
            let name = format!("{prefix}{}", b.name);
            renamed.insert(b.name.clone(), name.clone());
            bindings.push(Binding {
                name,
                value,
                ..b.clone()
            });
        } else {
            values.insert(Given::Binding(b.name.clone()), value);
        }
    }
    let mut inner = Vec::with_capacity(n);
    for st in &callee.steps {
        let mut st = st.clone();
        st.for_each_expr_mut(&mut |e| substitute(e, &values, &renamed, base, each));
        st.id = shift(st.id);
        st.name = format!("{prefix}{}", st.name);
        if let Some(c) = &mut st.checkpoint {
            c.label = format!("{prefix}{}", c.label);
        }
        for d in &mut st.deps {
            d.step = shift(d.step);
        }
        st.deps
            .extend(call.deps.iter().filter(|d| d.kind == DepKind::After));
        if let Some(l) = &mut st.compensates {
            l.step = shift(l.step);
        }
        if st.compensates.is_none() {
            st.compensates = call.compensates;
        }
        st.finally |= call.finally;
        st.never |= call.never;
        if let Some(fan) = &mut st.fan_out {
            if let Some(over) = &mut fan.over {
                *over = shift(*over);
            }
            for c in &mut fan.counterparts {
                c.step = shift(c.step);
            }
        }
        match &call.fan_out {
            Some(outer) => {
                // Its own `when` is decided once per run of the workflow: per instance.
                let when = st.when.take();
                st.fan_out = Some(Box::new(each_instance(
                    outer,
                    st.fan_out.take(),
                    when,
                    dims,
                )));
                st.when = call.when.clone();
            }
            None => st.when = both(call.when.as_deref(), st.when.take()),
        }
        for to in fallback_targets(&mut st) {
            to.step = shift(to.step);
        }
        st.settings.inherit(&call.settings);
        inner.push(st);
    }
    let mut outputs = callee.outputs.clone();
    for o in &mut outputs {
        if let Some(v) = &mut o.value {
            substitute(v, &values, &renamed, base, each);
        }
    }
    // The join waits for the inner steps that nothing else inner waits for (the others end
    // before those do). A step may not wait for a `finally` step, so an ordinary call waits
    // for the ordinary inner steps only.
    let mut followed = vec![false; n];
    for st in &inner {
        let mut mark = |id: StepId| {
            if let Some(k) = id.index().checked_sub(base).filter(|&k| k < n) {
                followed[k] = true;
            }
        };
        st.deps.iter().for_each(|d| mark(d.step));
        if let Some(l) = st.compensates {
            mark(l.step);
        }
        if st.fallbacks().next().is_some() {
            mark(st.id);
        }
    }
    let mut deps: Vec<Dep> = (inner.iter().zip(&followed))
        .filter(|(st, followed)| !**followed && st.finally == call.finally)
        .map(|(st, _)| Dep {
            step: st.id,
            kind: DepKind::After,
            span: call.span,
        })
        .collect();
    deps.extend(call.deps.iter().filter(|d| d.kind == DepKind::After));
    let join = Step {
        id: call.id,
        name: call.name.clone(),
        span: call.span,
        docs: call.docs.clone(),
        finally: call.finally,
        fan_out: call.fan_out.as_deref().map(|outer| {
            Box::new(crate::typed::FanOut {
                keep_instances: true,
                ..outer.clone()
            })
        }),
        when: call.when.clone(),
        never: call.never,
        deps,
        compensates: call.compensates,
        call: None,
        action: Action::Sleep(Expr {
            kind: ExprKind::Duration(0),
            ty: Type::Duration,
            span: wcall.span,
        }),
        settings: crate::typed::Settings {
            on_failure: call.settings.on_failure,
            own: call.settings.own,
            ..Default::default()
        },
        outputs,
        checkpoint: call.checkpoint.clone(),
    };
    (inner, join)
}

/// The fan-out of an inner step of a call with `for` whose fan-out clauses are `outer`
/// (giving `dims` index entries): the call's axes, then the step's own (`inner`, if it
/// fans out itself: the instances of one run of the workflow are a slice of the product,
/// and its `max` bounds each slice), with the step's `when` decided per instance.
fn each_instance(
    outer: &crate::typed::FanOut,
    inner: Option<Box<crate::typed::FanOut>>,
    when: Option<Box<Expr>>,
    dims: usize,
) -> crate::typed::FanOut {
    let mut fan = crate::typed::FanOut {
        keep_instances: true,
        ..outer.clone()
    };
    let mut own_when = when.map(|w| *w);
    if let Some(inner) = inner {
        let inner = *inner;
        let shifted = |c: Counterpart| Counterpart {
            prefix: c.prefix + dims,
            ..c
        };
        match inner.over {
            // A `for` over an inner step: that step's index has the call's entries already.
            Some(over) => {
                fan.over = Some(over);
                fan.var = inner.var;
                fan.list = inner.list;
                fan.matrix = inner.matrix;
                fan.counterparts
                    .extend(inner.counterparts.into_iter().map(shifted));
            }
            None => {
                fan.matrix.push(crate::typed::Axis {
                    var: inner.var,
                    list: inner.list,
                });
                fan.matrix.extend(inner.matrix);
                fan.counterparts
                    .extend(inner.counterparts.into_iter().map(shifted));
            }
        }
        if let Some(max) = inner.max {
            fan.max_per.push((dims, max));
        }
        fan.max_per
            .extend(inner.max_per.into_iter().map(|(n, m)| (n + dims, m)));
        own_when = match (inner.instance_when, own_when) {
            (Some(a), b) => both(Some(&a), b.map(Box::new)).map(|w| *w),
            (None, b) => b,
        };
    }
    fan.instance_when = match (outer.instance_when.as_ref(), own_when) {
        (Some(a), b) => both(Some(a), b.map(Box::new)).map(|w| *w),
        (None, b) => b,
    };
    fan
}

/// The fallback steps a step names, in its routes and its `on_failure`, for renumbering.
fn fallback_targets(s: &mut Step) -> impl Iterator<Item = &mut crate::typed::Link> {
    let settings = &mut s.settings;
    (settings.routes.iter_mut().map(|r| &mut r.to))
        .chain(std::iter::once(&mut settings.on_failure))
        .filter_map(|to| match to {
            OnFailure::Fallback(l) => Some(l),
            _ => None,
        })
}

/// A name of the called workflow that the call gives a value.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Given {
    Param(String),
    Binding(String),
}

/// Puts the call's values in place of the callee's parameters and `let`s, renames its
/// secrets, and moves its step references to their inlined numbers.
fn substitute(
    e: &mut Expr,
    values: &HashMap<Given, Expr>,
    renamed: &HashMap<String, String>,
    base: usize,
    each: bool,
) {
    e.rewrite(&mut |x| {
        let ExprKind::Ref(r) = &mut x.kind else {
            return false;
        };
        let key = match r {
            Ref::Param(p) => Given::Param(std::mem::take(p)),
            Ref::Binding(b) => match renamed.get(b.as_str()) {
                Some(name) => {
                    *b = name.clone();
                    return true;
                }
                None => Given::Binding(std::mem::take(b)),
            },
            Ref::Step(id) => {
                let id = StepId::new(base + id.index());
                *r = if each {
                    Ref::Instance(id)
                } else {
                    Ref::Step(id)
                };
                return true;
            }
            Ref::Instance(id) => {
                *id = StepId::new(base + id.index());
                return true;
            }
            _ => return true,
        };
        match values.get(&key) {
            Some(v) => *x = v.clone(),
            // (Not reached for a program that checked clean.)
            None => {
                *r = match key {
                    Given::Param(p) => Ref::Param(p),
                    Given::Binding(b) => Ref::Binding(b),
                }
            }
        }
        true
    });
}

/// `a && b` (either may be missing).
fn both(a: Option<&Expr>, b: Option<Box<Expr>>) -> Option<Box<Expr>> {
    match (a, b) {
        (None, b) => b,
        (Some(a), None) => Some(Box::new(a.clone())),
        (Some(a), Some(b)) => {
            let span = b.span;
            Some(Box::new(Expr {
                kind: ExprKind::Binary(BinOp::And, Box::new(a.clone()), b),
                ty: Type::Bool,
                span,
            }))
        }
    }
}

/// The dependencies step `i` gains from what inlining put in it: reads of steps it does
/// not depend on yet (through the call's arguments and `when`, or a join step's outputs).
/// A read of a declared output is an [`DepKind::Output`] dependency, like the checker's.
fn derived_deps(steps: &[Step], i: usize) -> Vec<Dep> {
    let step = &steps[i];
    let mut found: Vec<Dep> = Vec::new();
    let mut note = |id: StepId, output: bool, span| {
        if id.index() == i
            || step
                .deps
                .iter()
                .any(|d| d.step == id && d.kind != DepKind::After)
        {
            return;
        }
        let kind = if output {
            DepKind::Output
        } else {
            DepKind::Data
        };
        match found.iter_mut().find(|d| d.step == id) {
            Some(d) if output => d.kind = kind,
            Some(_) => {}
            None => found.push(Dep {
                step: id,
                kind,
                span,
            }),
        }
    };
    step.for_each_expr(&mut |e| {
        e.walk(&mut |x| match &x.kind {
            ExprKind::Field(base, field) => {
                if let ExprKind::Ref(Ref::Step(id) | Ref::Instance(id)) = base.kind {
                    let output = steps
                        .get(id.index())
                        .is_some_and(|t| t.outputs.iter().any(|o| &o.name == field));
                    note(id, output, x.span);
                }
            }
            ExprKind::Ref(Ref::Step(id) | Ref::Instance(id)) => note(*id, false, x.span),
            _ => {}
        })
    });
    found
}
