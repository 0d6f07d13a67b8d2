//! What a run would do, without running anything: a checked program and its inputs in
//! (defaults, a vars file, `FLOW_VAR_name`, `--var`), per workflow the steps in dependency
//! order out, as text, each with its dependencies, its condition (decided now, or at run
//! time), fan-out, retry budget, timeout, failure policy and role. `flowc plan` and the
//! REPL's `:plan` print it; the format is documented in docs/cli.md.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use crate::ast::{self, AttrKind, Clause, Expr, Item, WorkflowItem};
use crate::check::{DepKind, FsLoader, Loader, Module, StepInfo, WorkflowInfo};
use crate::graph::ExecGraph;
use crate::lower::Lowered;
use crate::runtime::eval::{eval, EvalError, Value};
use crate::runtime::inputs::{
    self, coerce, EnvFn, Input, InputError, Inputs, Origin, Params, ValuesEnv,
};
use crate::source::SourceMap;

/// Resolves the inputs of every workflow in `graphs` and renders their plans.
pub fn plan(
    lowered: &Lowered,
    sources: &SourceMap,
    graphs: &[&ExecGraph],
    vars: &[(String, String)],
    vars_file: Option<&Path>,
    env: EnvFn<'_>,
) -> Result<String, Vec<InputError>> {
    let Some(root) = lowered.modules.len().checked_sub(1) else {
        return Ok(String::new());
    };
    let module = &lowered.modules[root];
    let loaded = Inputs::load(vars.to_vec(), vars_file).map_err(|e| vec![e])?;
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
    let consts = inputs::module_constants(&lowered.modules, root, sources, &FsLoader, env);
    let constants = inputs::Constants::of(&lowered.program, env);
    let mut resolved = Vec::new();
    for (_, p) in &planned {
        let given = if planned.len() > 1 {
            loaded.only(&p.names())
        } else {
            loaded.clone()
        };
        match inputs::resolve_inputs(p, &given, env, &constants) {
            Ok(values) => resolved.push(values),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let planner = Planner {
        modules: &lowered.modules,
        root,
        sources,
        loader: &FsLoader,
        env,
        imports: inputs::imports_of(&lowered.modules, root, sources, &FsLoader),
        consts,
        module_consts: Default::default(),
    };
    let mut out = Vec::new();
    for ((graph, _), values) in planned.iter().zip(&resolved) {
        let Some(info) = module
            .checked_workflows
            .iter()
            .find(|w| w.name == graph.workflow)
        else {
            continue;
        };
        let Some(Item::Workflow(wf)) = module.ast.items.get(info.item) else {
            continue;
        };
        out.push(planner.workflow(wf, info, graph, values));
    }
    Ok(out.join("\n"))
}

/// What is needed to describe steps: the modules (for called tasks and constants).
struct Planner<'a> {
    modules: &'a [Module],
    root: usize,
    sources: &'a SourceMap,
    loader: &'a dyn Loader,
    env: EnvFn<'a>,
    /// The root module's imports, by alias.
    imports: HashMap<String, usize>,
    /// The root module's constants.
    consts: BTreeMap<String, Value>,
    /// Constants of other modules, computed on first use.
    module_consts: std::cell::RefCell<HashMap<usize, BTreeMap<String, Value>>>,
}

/// The effective `retry`, `timeout` and `on_failure` of a step, as text.
#[derive(Default)]
struct Policies {
    retry: Option<String>,
    timeout: Option<String>,
    on_failure: Option<String>,
}

impl Policies {
    /// Fills in what `self` lacks from `other`.
    fn or(self, other: Policies) -> Policies {
        Policies {
            retry: self.retry.or(other.retry),
            timeout: self.timeout.or(other.timeout),
            on_failure: self.on_failure.or(other.on_failure),
        }
    }
}

impl Planner<'_> {
    fn workflow(
        &self,
        wf: &ast::Workflow,
        info: &WorkflowInfo,
        graph: &ExecGraph,
        inputs: &BTreeMap<String, Input>,
    ) -> String {
        // The values steps can see before the run: constants, parameters, `let`s.
        let mut values = self.consts.clone();
        for (name, input) in inputs {
            values.insert(name.clone(), input.value.clone());
        }
        let mut defaults: &[ast::Attr] = &[];
        for item in &wf.body {
            match item {
                WorkflowItem::Binding(b) => {
                    let scope = ValuesEnv {
                        values: &values,
                        env: self.env,
                    };
                    if let Ok(v) = eval(&b.value, &scope) {
                        let v = match b.kind {
                            ast::BindingKind::Secret => coerce(v, &crate::check::Type::Secret),
                            ast::BindingKind::Let => v,
                        };
                        values.insert(b.name.name.clone(), v);
                    }
                }
                WorkflowItem::Defaults(d) => defaults = &d.attrs,
                WorkflowItem::Step(_) | WorkflowItem::Outputs(_) => {}
            }
        }
        let scope = ValuesEnv {
            values: &values,
            env: self.env,
        };

        let mut out = format!("workflow {}", wf.name.name);
        if !wf.params.is_empty() {
            let shown: Vec<String> = wf
                .params
                .iter()
                .map(|p| match inputs.get(&p.name.name) {
                    Some(input) => format!("{} = {}", p.name.name, input.value),
                    None => format!("{} = (at run time)", p.name.name),
                })
                .collect();
            let _ = write!(out, " ({})", shown.join(", "));
        }
        out.push('\n');
        let given: Vec<String> = wf
            .params
            .iter()
            .filter_map(|p| match inputs.get(&p.name.name) {
                Some(Input { origin, .. }) if *origin != Origin::Default => {
                    Some(format!("{} from {}", p.name.name, origin.short()))
                }
                _ => None,
            })
            .collect();
        if !given.is_empty() {
            let _ = writeln!(out, "  given: {}", given.join(", "));
        }
        for attr in defaults {
            if let AttrKind::MaxParallel(n) = &attr.kind {
                let _ = writeln!(out, "  max_parallel {}", value_text(n, &scope));
            }
        }

        let steps: Vec<&ast::Step> = info
            .steps
            .iter()
            .map(|s| match wf.body.get(s.body_index) {
                Some(WorkflowItem::Step(step)) => Ok(step),
                _ => Err(()),
            })
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        if steps.len() != info.steps.len() {
            return out;
        }
        // Dependency order, finally steps last (they run after all others).
        let topo = graph
            .topo_order()
            .unwrap_or_else(|| (0..info.steps.len()).collect());
        let order: Vec<usize> = topo
            .iter()
            .copied()
            .filter(|&i| !info.steps[i].finally)
            .chain(topo.iter().copied().filter(|&i| info.steps[i].finally))
            .collect();
        let mut fallback_of: Vec<Option<usize>> = vec![None; info.steps.len()];
        for (owner, s) in info.steps.iter().enumerate() {
            if let Some((f, _)) = s.fallback {
                fallback_of[f] = Some(owner);
            }
        }
        let defaults = self.policies(defaults, &scope);
        // Steps the inputs already skip: by their condition, or because of one upstream.
        let mut skipped = vec![false; info.steps.len()];
        let number_width = info.steps.len().to_string().len();
        let name_width = info.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for (n, &i) in order.iter().enumerate() {
            let (step, ast_step) = (&info.steps[i], steps[i]);
            let mut facts = Vec::new();
            // Role.
            if step.finally {
                facts.push("finally".to_string());
            }
            if let Some((target, _)) = step.compensates {
                facts.push(format!("compensates {}", info.steps[target].name));
            }
            if let Some(owner) = fallback_of[i] {
                facts.push(format!("fallback of {}", info.steps[owner].name));
            }
            if let Some(call) = &ast_step.call {
                facts.push(format!("calls {}", path_text(&call.callee)));
            }
            facts.extend(dependencies(info, step));
            // The declared outputs of a sub-workflow, on its call step.
            let given: Vec<String> = ast_step
                .attrs
                .iter()
                .filter_map(|a| match &a.kind {
                    ast::AttrKind::Outputs(decls) => Some(decls),
                    _ => None,
                })
                .flatten()
                .filter(|d| d.value.is_some())
                .map(|d| format!("{}: {}", d.name.name, crate::print::type_text(&d.ty)))
                .collect();
            if !given.is_empty() {
                facts.push(format!("outputs {}", given.join(", ")));
            }
            // Condition, and skips decided by the inputs.
            for clause in &ast_step.clauses {
                if let Clause::When(cond, _) = clause {
                    let verdict = match eval(cond, &scope) {
                        Ok(Value::Bool(true)) => "true".to_string(),
                        Ok(Value::Bool(false)) => {
                            skipped[i] = true;
                            "false, skipped".to_string()
                        }
                        Ok(other) => format!("{other}"),
                        Err(EvalError::Pending) => "decided at run time".to_string(),
                        Err(e) => format!("fails: {e}"),
                    };
                    facts.push(format!("when {}: {verdict}", crate::print::expr(cond)));
                }
            }
            if !skipped[i] && !step.finally {
                if let Some(why) = skipped_upstream(info, step, i, &skipped, &fallback_of) {
                    skipped[i] = true;
                    facts.push(why);
                }
            }
            for clause in &ast_step.clauses {
                if let Clause::For(each) = clause {
                    facts.push(fan_out(each, &scope));
                }
            }
            let own = self.policies(&ast_step.attrs, &scope);
            let task = ast_step
                .call
                .as_ref()
                .map(|call| self.task_policies(call, &scope))
                .unwrap_or_default();
            let policies = own.or(task).or(Policies {
                retry: defaults.retry.clone(),
                timeout: defaults.timeout.clone(),
                on_failure: defaults.on_failure.clone(),
            });
            facts.extend(policies.retry);
            facts.extend(policies.timeout);
            facts.extend(policies.on_failure.filter(|p| p != "on_failure fail_fast"));
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

    /// The `retry`, `timeout` and `on_failure` among `attrs`, evaluated in `scope`.
    fn policies(&self, attrs: &[ast::Attr], scope: &ValuesEnv<'_>) -> Policies {
        let mut p = Policies::default();
        for attr in attrs {
            match &attr.kind {
                AttrKind::Retry(r) => {
                    p.retry = Some(retry_text(crate::check::policy(self.modules, r), scope))
                }
                AttrKind::Timeout(t) => {
                    p.timeout = Some(format!("timeout {}", value_text(t, scope)))
                }
                AttrKind::OnFailure(policy) => {
                    p.on_failure = Some(format!("on_failure {}", policy.name))
                }
                _ => {}
            }
        }
        p
    }

    /// The policies a called task gives a step: its attributes, evaluated with its
    /// parameters bound to the call's arguments (or their defaults).
    fn task_policies(&self, call: &ast::Call, scope: &ValuesEnv<'_>) -> Policies {
        let module = match &call.callee.module {
            None => Some(self.root),
            Some(alias) => self.imports.get(&alias.name).copied(),
        };
        let Some(module) = module else {
            return Policies::default();
        };
        let Some(task) = self.modules[module]
            .ast
            .items
            .iter()
            .find_map(|item| match item {
                Item::Task(t) if t.name.name == call.callee.name.name => Some(t),
                _ => None,
            })
        else {
            // A called workflow runs as a unit; only the step's own attributes apply.
            return Policies::default();
        };
        let sig = self.modules[module].tasks.get(&task.name.name);
        let mut values = self.constants_of(module);
        for (i, param) in task.params.iter().enumerate() {
            let arg = call
                .args
                .iter()
                .find(|a| a.name.as_ref().is_some_and(|n| n.name == param.name.name))
                .or_else(|| call.args.get(i).filter(|a| a.name.is_none()));
            let value = match (arg, &param.default) {
                (Some(arg), _) => eval(&arg.value, scope).ok(),
                (None, Some(default)) => eval(
                    default,
                    &ValuesEnv {
                        values: &values,
                        env: self.env,
                    },
                )
                .ok(),
                (None, None) => None,
            };
            if let Some(v) = value {
                let ty = sig.and_then(|s| s.params.get(i)).map(|p| &p.ty);
                let v = match ty {
                    Some(ty) => coerce(v, ty),
                    None => v,
                };
                values.insert(param.name.name.clone(), v);
            }
        }
        let task_scope = ValuesEnv {
            values: &values,
            env: self.env,
        };
        self.policies(&task.body, &task_scope)
    }

    /// The constants of a module, computed once.
    fn constants_of(&self, module: usize) -> BTreeMap<String, Value> {
        if module == self.root {
            return self.consts.clone();
        }
        self.module_consts
            .borrow_mut()
            .entry(module)
            .or_insert_with(|| {
                inputs::module_constants(self.modules, module, self.sources, self.loader, self.env)
            })
            .clone()
    }
}

/// `after a, b`, `reads c` (built-in fields only), `reads outputs of d`.
fn dependencies(info: &WorkflowInfo, step: &StepInfo) -> Vec<String> {
    let mut after: Vec<&str> = Vec::new();
    let mut reads: Vec<(usize, bool)> = Vec::new();
    for dep in &step.deps {
        let name = info.steps[dep.step].name.as_str();
        match dep.kind {
            DepKind::After => {
                if !after.contains(&name) {
                    after.push(name);
                }
            }
            DepKind::Data | DepKind::Output => {
                let outputs = dep.kind == DepKind::Output;
                match reads.iter_mut().find(|(s, _)| *s == dep.step) {
                    Some(entry) => entry.1 |= outputs,
                    None => reads.push((dep.step, outputs)),
                }
            }
        }
    }
    let mut facts = Vec::new();
    if !after.is_empty() {
        facts.push(format!("after {}", after.join(", ")));
    }
    let fields: Vec<&str> = reads
        .iter()
        .filter(|(_, o)| !o)
        .map(|(s, _)| info.steps[*s].name.as_str())
        .collect();
    if !fields.is_empty() {
        facts.push(format!("reads {}", fields.join(", ")));
    }
    let outputs: Vec<&str> = reads
        .iter()
        .filter(|(_, o)| *o)
        .map(|(s, _)| info.steps[*s].name.as_str())
        .collect();
    if !outputs.is_empty() {
        facts.push(format!("reads outputs of {}", outputs.join(", ")));
    }
    facts
}

/// Why a step is skipped because of a step skipped by a condition upstream: it reads one
/// of that step's outputs, compensates it, or is its fallback.
fn skipped_upstream(
    info: &WorkflowInfo,
    step: &StepInfo,
    i: usize,
    skipped: &[bool],
    fallback_of: &[Option<usize>],
) -> Option<String> {
    let name = |s: usize| info.steps[s].name.as_str();
    if let Some(dep) = step
        .deps
        .iter()
        .find(|d| d.kind == DepKind::Output && skipped[d.step])
    {
        return Some(format!(
            "skipped: reads outputs of {}, which is skipped",
            name(dep.step)
        ));
    }
    if let Some((target, _)) = step.compensates.filter(|(t, _)| skipped[*t]) {
        return Some(format!(
            "skipped: {} is skipped, so it cannot fail",
            name(target)
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

/// `for region in regions: 2 instances, max 2`.
fn fan_out(each: &ast::ForEach, scope: &ValuesEnv<'_>) -> String {
    let count = match eval(&each.list, scope) {
        Ok(Value::List(items)) if items.len() == 1 => "1 instance".to_string(),
        Ok(Value::List(items)) => format!("{} instances", items.len()),
        _ => "instances decided at run time".to_string(),
    };
    let max = each
        .max
        .as_ref()
        .map(|m| format!(", max {}", value_text(m, scope)))
        .unwrap_or_default();
    format!(
        "for {} in {}: {count}{max}",
        each.var.name,
        crate::print::expr(&each.list)
    )
}

/// `retry 3 (exponential 2s, max 30s, jitter, if exit_code != 2)`.
fn retry_text(r: &ast::Retry, scope: &ValuesEnv<'_>) -> String {
    let mut parts = Vec::new();
    match &r.backoff {
        None => parts.push("fixed 1s".to_string()),
        Some(call) => {
            let mut policy = call.callee.name.name.clone();
            for arg in call.args.iter().filter(|a| a.name.is_none()) {
                let _ = write!(policy, " {}", value_text(&arg.value, scope));
            }
            parts.push(policy);
            for arg in &call.args {
                if let Some(name) = &arg.name {
                    parts.push(format!("{} {}", name.name, value_text(&arg.value, scope)));
                }
            }
        }
    }
    if r.jitter.is_some() {
        parts.push("jitter".to_string());
    }
    if let Some(cond) = &r.condition {
        parts.push(format!("if {}", crate::print::expr(cond)));
    }
    format!(
        "retry {} ({})",
        value_text(&r.count, scope),
        parts.join(", ")
    )
}

/// The value of an expression if it is known before the run, else its source text.
fn value_text(e: &Expr, scope: &ValuesEnv<'_>) -> String {
    match eval(e, scope) {
        Ok(v) => v.to_string(),
        Err(_) => crate::print::expr(e),
    }
}

/// `http.wait_ok`, `cargo_test`.
fn path_text(path: &ast::Path) -> String {
    match &path.module {
        Some(m) => format!("{}.{}", m.name, path.name.name),
        None => path.name.name.clone(),
    }
}
