//! What a run would do, without running anything: a checked program and its inputs in
//! (defaults, a vars file, `FLOW_VAR_name`, `--var`), per workflow the steps in dependency
//! order out, as text, each with its dependencies, its condition (decided now, or at run
//! time), fan-out, retry budget, timeout, failure policy and role. `flowc plan` and the
//! REPL's `:plan` print it; the format is documented in docs/cli.md. Everything shown is
//! read from the resolved program: a step's attributes as merged from the step, its task
//! and every `defaults` block, the way the run applies them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::graph::ExecGraph;
use crate::lower::Lowered;
use crate::runtime::eval::{eval_typed, EvalError, Value};
use crate::runtime::params::{
    self, coerce, Constants, EnvFn, Input, InputError, Inputs, Known, Origin, Params,
};
use crate::source::SourceMap;
use crate::typed::{self, DepKind, Expr, Step, Workflow};

/// Resolves the inputs of every workflow in `graphs` (`loaded` holds the `--var` values
/// and the vars file, see [`Inputs::load`]) and renders their plans.
pub fn plan(
    lowered: &Lowered,
    sources: &SourceMap,
    graphs: &[&ExecGraph],
    loaded: &Inputs,
    env: EnvFn<'_>,
) -> Result<String, Vec<InputError>> {
    let planned: Vec<(&ExecGraph, Params<'_>)> = graphs
        .iter()
        .filter_map(|g| Params::of(&lowered.program, &g.workflow).map(|p| (*g, p)))
        .collect();
    // With several workflows, a name is unknown only when none of them has it.
    let mut errors = Vec::new();
    if planned.len() > 1 {
        let mut all: Vec<&str> = planned.iter().flat_map(|(_, p)| p.names()).collect();
        all.sort_unstable();
        all.dedup();
        let names: Vec<String> = planned
            .iter()
            .map(|(_, p)| format!("`{}`", p.workflow))
            .collect();
        errors.extend(loaded.unknown(&format!("workflows {}", names.join(", ")), &all));
    }
    let constants = params::Constants::of(&lowered.program, env);
    let mut resolved = Vec::new();
    for (_, p) in &planned {
        let given = if planned.len() > 1 {
            loaded.only(&p.names())
        } else {
            loaded.clone()
        };
        match params::resolve_inputs(p, &given, env, &constants) {
            Ok(values) => resolved.push(values),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let planner = Planner {
        sources,
        env,
        consts: constants,
    };
    let mut out = Vec::new();
    for ((graph, _), values) in planned.iter().zip(&resolved) {
        if let Some(wf) = lowered.program.workflow(&graph.workflow) {
            out.push(planner.workflow(wf, graph, values));
        }
    }
    Ok(out.join("\n"))
}

/// What is needed to describe steps: the source text (conditions are shown as written),
/// the environment and every module's constants.
struct Planner<'a> {
    sources: &'a SourceMap,
    env: EnvFn<'a>,
    consts: Constants,
}

impl Planner<'_> {
    fn workflow(
        &self,
        wf: &Workflow,
        graph: &ExecGraph,
        inputs: &BTreeMap<String, Input>,
    ) -> String {
        // The values steps can see before the run: parameters, then the bindings in order.
        let mut values: BTreeMap<String, Value> = inputs
            .iter()
            .map(|(name, input)| (name.clone(), input.value.clone()))
            .collect();
        for b in &wf.bindings {
            let known = Known {
                values: &values,
                args: &[],
                consts: &self.consts,
                env: self.env,
            };
            if let Ok(v) = eval_typed(&b.value, &known) {
                values.insert(b.name.clone(), coerce(v, &b.ty));
            }
        }
        let known = Known {
            values: &values,
            args: &[],
            consts: &self.consts,
            env: self.env,
        };

        let mut out = format!("workflow {}", wf.name);
        if !wf.params.is_empty() {
            let shown: Vec<String> = wf
                .params
                .iter()
                .map(|p| match inputs.get(&p.name) {
                    Some(input) => format!("{} = {}", p.name, input.value),
                    None => format!("{} = (at run time)", p.name),
                })
                .collect();
            let _ = write!(out, " ({})", shown.join(", "));
        }
        out.push('\n');
        let given: Vec<String> = wf
            .params
            .iter()
            .filter_map(|p| match inputs.get(&p.name) {
                Some(Input { origin, .. }) if *origin != Origin::Default => {
                    Some(format!("{} from {}", p.name, origin.short()))
                }
                _ => None,
            })
            .collect();
        if !given.is_empty() {
            let _ = writeln!(out, "  given: {}", given.join(", "));
        }
        if let Some(n) = &wf.max_parallel {
            let _ = writeln!(out, "  max_parallel {}", self.value_text(n, wf, &known));
        }
        if let Some(c) = &wf.concurrency {
            let group = self.value_text(&c.group, wf, &known);
            let _ = writeln!(out, "  concurrency {group} {}", c.policy.name());
        }
        if let Some(t) = &wf.timeout {
            let _ = writeln!(out, "  timeout {}", self.value_text(t, wf, &known));
        }
        if let Some(n) = &wf.max_failures {
            let _ = writeln!(out, "  max_failures {}", self.value_text(n, wf, &known));
        }

        let count = wf.steps.len();
        // Dependency order, the higher priority first among steps whose dependencies are
        // done (the order they start in one at a time), finally steps last (they run after
        // all others).
        let priorities: Vec<i64> = (wf.steps.iter())
            .map(|s| {
                match s
                    .settings
                    .priority
                    .as_deref()
                    .map(|p| eval_typed(p, &known))
                {
                    Some(Ok(Value::Int(p))) => p,
                    _ => 0,
                }
            })
            .collect();
        let topo = start_order(graph, &priorities).unwrap_or_else(|| (0..count).collect());
        let order: Vec<usize> = topo
            .iter()
            .copied()
            .filter(|&i| !wf.steps[i].finally)
            .chain(topo.iter().copied().filter(|&i| wf.steps[i].finally))
            .collect();
        let mut fallback_of: Vec<Option<usize>> = vec![None; count];
        for (owner, s) in wf.steps.iter().enumerate() {
            for l in s.fallbacks() {
                fallback_of[l.step.index()] = Some(owner);
            }
        }
        // Steps the inputs already skip: by their condition, or because of one upstream.
        let mut skipped = vec![false; count];
        let number_width = count.to_string().len();
        let name_width = wf.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for (n, &i) in order.iter().enumerate() {
            let step = &wf.steps[i];
            let mut facts = Vec::new();
            // Role.
            if step.finally {
                facts.push("finally".to_string());
            }
            if let Some(target) = step.compensates {
                facts.push(format!("compensates {}", wf.step(target.step).name));
            }
            if let Some(owner) = fallback_of[i] {
                let route = (wf.steps[owner].settings.routes.iter())
                    .find(|r| matches!(r.to, typed::OnFailure::Fallback(l) if l.step.index() == i));
                match route {
                    Some(r) => facts.push(format!(
                        "fallback of {} if {}",
                        wf.steps[owner].name,
                        self.text(&r.condition, wf)
                    )),
                    None => facts.push(format!("fallback of {}", wf.steps[owner].name)),
                }
            }
            if let Some(call) = &step.call {
                facts.push(format!("calls {}", call.callee));
            }
            facts.extend(dependencies(wf, step));
            if let Some(pairs) = per_instance(wf, graph, step) {
                facts.push(pairs);
            }
            // The declared outputs of a sub-workflow, on its call step.
            let computed: Vec<String> = step
                .outputs
                .iter()
                .filter(|o| o.value.is_some())
                .map(|o| format!("{}: {}", o.name, o.ty))
                .collect();
            if !computed.is_empty() {
                facts.push(format!("outputs {}", computed.join(", ")));
            }
            // Condition, and skips decided by the inputs.
            if let Some(cond) = &step.when {
                let verdict = match eval_typed(cond, &known) {
                    Ok(Value::Bool(true)) => "true".to_string(),
                    Ok(Value::Bool(false)) => {
                        skipped[i] = true;
                        "false, skipped".to_string()
                    }
                    Ok(other) => format!("{other}"),
                    Err(EvalError::Pending) => "decided at run time".to_string(),
                    Err(e) => format!("fails: {e}"),
                };
                facts.push(format!("when {}: {verdict}", self.text(cond, wf)));
            }
            if !skipped[i] && !step.finally {
                if let Some(why) = skipped_upstream(wf, step, i, &skipped, &fallback_of) {
                    skipped[i] = true;
                    facts.push(why);
                }
            }
            if let Some(fan) = &step.fan_out {
                facts.push(self.fan_out(fan, wf, &known));
            }
            // A task's attributes read its parameters: bind them to the call's arguments.
            let args: Vec<(String, Value)> = step
                .call
                .iter()
                .flat_map(|c| &c.args)
                .filter_map(|(name, e)| Some((name.clone(), eval_typed(e, &known).ok()?)))
                .collect();
            let in_step = Known {
                values: &values,
                args: &args,
                consts: &self.consts,
                env: self.env,
            };
            if let Some(r) = &step.settings.retry {
                facts.push(self.retry_text(r, wf, &in_step));
            }
            if let Some(t) = &step.settings.timeout {
                facts.push(format!("timeout {}", self.value_text(t, wf, &in_step)));
            }
            if let Some(p) = &step.settings.priority {
                facts.push(format!("priority {}", self.value_text(p, wf, &known)));
            }
            if let Some(d) = &step.settings.dir {
                facts.push(format!("dir {}", self.value_text(&d.path, wf, &in_step)));
            }
            let to = |to: typed::OnFailure| match to {
                typed::OnFailure::FailFast => "fail_fast".to_string(),
                typed::OnFailure::Continue => "continue".to_string(),
                typed::OnFailure::Fallback(l) => wf.step(l.step).name.clone(),
            };
            if !step.settings.routes.is_empty() {
                // Every route, in the order they are tried, as written.
                let routes: Vec<String> = (step.settings.routes.iter())
                    .map(|r| format!("{} if {}", to(r.to), self.text(&r.condition, wf)))
                    .chain(std::iter::once(to(step.settings.on_failure)))
                    .collect();
                facts.push(format!("on_failure {}", routes.join(", else ")));
            } else if step.settings.on_failure != typed::OnFailure::FailFast {
                facts.push(format!("on_failure {}", to(step.settings.on_failure)));
            }
            if let Some(c) = &step.checkpoint {
                facts.push(format!("checkpoint {:?}", c.label));
            }
            let line = format!(
                "  {:>nw$}. {:<w$}  {}",
                n + 1,
                step.name,
                facts.join(" · "),
                nw = number_width,
                w = name_width
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// An expression as written in its file.
    fn text(&self, e: &Expr, wf: &Workflow) -> String {
        let file = self.sources.get(e.span.source);
        file.text
            .get(e.span.span.start as usize..e.span.span.end as usize)
            .map_or_else(|| e.to_source(wf), str::to_string)
    }

    /// The value of an expression if it is known before the run, else its source text.
    fn value_text(&self, e: &Expr, wf: &Workflow, known: &Known<'_>) -> String {
        match eval_typed(e, known) {
            Ok(v) => v.to_string(),
            Err(_) => self.text(e, wf),
        }
    }

    /// `for region in regions: 2 instances, max 2`; a matrix `for py in pys, os in oses: 6
    /// instances (3 × 2)`; `for w in worker: one per instance of worker`.
    fn fan_out(&self, fan: &typed::FanOut, wf: &Workflow, known: &Known<'_>) -> String {
        // The lists' lengths, when the inputs decide them (a list that reads a loop
        // variable of the axes before it does not).
        let lengths: Option<Vec<usize>> = match fan.over {
            Some(_) => None,
            None => std::iter::once(&fan.list)
                .chain(fan.matrix.iter().map(|a| &a.list))
                .map(|l| match eval_typed(l, known) {
                    Ok(Value::List(items)) => Some(items.len()),
                    _ => None,
                })
                .collect(),
        };
        let count = match (&lengths, fan.over) {
            (_, Some(up)) => format!("one per instance of {}", wf.step(up).name),
            (Some(lengths), None) => {
                let total: usize = lengths.iter().product();
                let mut count = if total == 1 {
                    "1 instance".to_string()
                } else {
                    format!("{total} instances")
                };
                if lengths.len() > 1 {
                    let factors: Vec<String> = lengths.iter().map(usize::to_string).collect();
                    let _ = write!(count, " ({})", factors.join(" × "));
                }
                count
            }
            (None, None) => "instances decided at run time".to_string(),
        };
        let mut clauses = vec![format!("{} in {}", fan.var, self.text(&fan.list, wf))];
        clauses.extend(
            fan.matrix
                .iter()
                .map(|a| format!("{} in {}", a.var, self.text(&a.list, wf))),
        );
        let mut max = fan
            .max
            .as_ref()
            .map(|m| format!(", max {}", self.value_text(m, wf, known)))
            .unwrap_or_default();
        // The `max` of a fan-out inside a workflow called with `for`: per run of it.
        for (_, m) in &fan.max_per {
            let _ = write!(
                max,
                ", max {} in each run of the called workflow",
                self.value_text(m, wf, known)
            );
        }
        let budget = fan
            .max_failures
            .as_ref()
            .map(|n| format!(", max_failures {}", self.value_text(n, wf, known)))
            .unwrap_or_default();
        let each = fan
            .instance_when
            .as_ref()
            .map(|w| format!(" · each instance when {}", self.text(w, wf)))
            .unwrap_or_default();
        format!("for {}: {count}{max}{budget}{each}", clauses.join(", "))
    }

    /// `retry 3 (exponential 2s, max 30s, jitter, if exit_code != 2)`.
    fn retry_text(&self, r: &typed::Retry, wf: &Workflow, known: &Known<'_>) -> String {
        let mut parts = Vec::new();
        match &r.backoff.delay {
            None => parts.push("fixed 1s".to_string()),
            Some(delay) => {
                parts.push(format!(
                    "{} {}",
                    r.backoff.kind.name(),
                    self.value_text(delay, wf, known)
                ));
                if let Some(max) = &r.backoff.max {
                    parts.push(format!("max {}", self.value_text(max, wf, known)));
                }
            }
        }
        if r.jitter {
            parts.push("jitter".to_string());
        }
        if let Some(cond) = &r.condition {
            parts.push(format!("if {}", self.text(cond, wf)));
        }
        format!(
            "retry {} ({})",
            self.value_text(&r.count, wf, known),
            parts.join(", ")
        )
    }
}

/// The steps in an order where each comes after its dependencies, and among the steps
/// whose dependencies come before, the highest priority first, ties in file order: the
/// order they start in one at a time. `None` if there is a cycle.
fn start_order(graph: &ExecGraph, priorities: &[i64]) -> Option<Vec<usize>> {
    use petgraph::visit::EdgeRef;
    use std::cmp::Reverse;
    let n = graph.graph.node_count();
    let node = petgraph::graph::NodeIndex::new;
    let incoming = |i| {
        graph
            .graph
            .edges_directed(node(i), petgraph::Direction::Incoming)
    };
    let mut waiting: Vec<usize> = (0..n).map(|i| incoming(i).count()).collect();
    let key = |i: usize| (priorities.get(i).copied().unwrap_or(0), Reverse(i));
    let mut ready: std::collections::BinaryHeap<_> =
        (0..n).filter(|&i| waiting[i] == 0).map(key).collect();
    let mut order = Vec::with_capacity(n);
    while let Some((_, Reverse(i))) = ready.pop() {
        order.push(i);
        for e in graph
            .graph
            .edges_directed(node(i), petgraph::Direction::Outgoing)
        {
            let t = e.target().index();
            waiting[t] -= 1;
            if waiting[t] == 0 {
                ready.push(key(t));
            }
        }
    }
    (order.len() == n).then_some(order)
}

/// `after a, b`, `reads c` (built-in fields only), `reads outputs of d`.
fn dependencies(wf: &Workflow, step: &Step) -> Vec<String> {
    let mut after: Vec<&str> = Vec::new();
    let mut reads: Vec<(usize, bool)> = Vec::new();
    for dep in &step.deps {
        let d = dep.step.index();
        let name = wf.steps[d].name.as_str();
        match dep.kind {
            DepKind::After => {
                if !after.contains(&name) {
                    after.push(name);
                }
            }
            DepKind::Data | DepKind::Output => {
                let outputs = dep.kind == DepKind::Output;
                match reads.iter_mut().find(|(s, _)| *s == d) {
                    Some(entry) => entry.1 |= outputs,
                    None => reads.push((d, outputs)),
                }
            }
        }
    }
    let mut facts = Vec::new();
    if !after.is_empty() {
        facts.push(format!("after {}", after.join(", ")));
    }
    let names = |outputs: bool| -> Vec<&str> {
        reads
            .iter()
            .filter(|(_, o)| *o == outputs)
            .map(|(s, _)| wf.steps[*s].name.as_str())
            .collect()
    };
    let fields = names(false);
    if !fields.is_empty() {
        facts.push(format!("reads {}", fields.join(", ")));
    }
    let outputs = names(true);
    if !outputs.is_empty() {
        facts.push(format!("reads outputs of {}", outputs.join(", ")));
    }
    facts
}

/// The steps a fan-out waits for instance by instance, in the notation of indices:
/// `per instance: worker[i] → qc[i]`, `each.deploy[i,*] → each.roll[i]` for the several
/// instances of one run of a called workflow.
fn per_instance(wf: &Workflow, graph: &ExecGraph, step: &Step) -> Option<String> {
    use petgraph::visit::EdgeRef;
    let fan = step.fan_out.as_deref()?;
    let node = petgraph::graph::NodeIndex::new(step.id.index());
    let mut pairs: Vec<String> = Vec::new();
    for e in graph
        .graph
        .edges_directed(node, petgraph::Direction::Incoming)
    {
        if *e.weight() != crate::graph::EdgeKind::Instance {
            continue;
        }
        let up = typed::StepId::new(e.source().index());
        let Some(c) = fan.counterpart(up) else {
            continue;
        };
        let letters = |n: usize| -> Vec<String> {
            (0..n)
                .map(|k| {
                    let c = char::from(b'i' + (k % 18) as u8);
                    c.to_string()
                })
                .collect()
        };
        let mine = letters(wf.dims(step.id));
        let mut theirs: Vec<String> = mine.iter().take(c.prefix).cloned().collect();
        if wf.dims(up) > c.prefix {
            theirs.push("*".to_string());
        }
        pairs.push(format!(
            "{}[{}] → {}[{}]",
            wf.step(up).name,
            theirs.join(","),
            step.name,
            mine.join(",")
        ));
    }
    (!pairs.is_empty()).then(|| format!("per instance: {}", pairs.join(", ")))
}

/// Why a step is skipped because of a step skipped by a condition upstream: it reads one
/// of that step's outputs, compensates it, or is its fallback.
fn skipped_upstream(
    wf: &Workflow,
    step: &Step,
    i: usize,
    skipped: &[bool],
    fallback_of: &[Option<usize>],
) -> Option<String> {
    let name = |s: usize| wf.steps[s].name.as_str();
    if let Some(dep) = step
        .deps
        .iter()
        .find(|d| d.kind == DepKind::Output && skipped[d.step.index()])
    {
        return Some(format!(
            "skipped: reads outputs of {}, which is skipped",
            name(dep.step.index())
        ));
    }
    if let Some(target) = step.compensates.filter(|t| skipped[t.step.index()]) {
        return Some(format!(
            "skipped: {} is skipped, so it cannot fail",
            name(target.step.index())
        ));
    }
    if let Some(owner) = fallback_of[i].filter(|&o| skipped[o]) {
        return Some(format!(
            "skipped: {} is skipped, so it cannot fail",
            name(owner)
        ));
    }
    None
}
