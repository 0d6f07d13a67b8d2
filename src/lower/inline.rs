//! Sub-workflows: a step that calls a workflow of the same file (`step eu = deploy_region(
//! region: "eu")`) is replaced by that workflow's steps, renamed `eu.STEP`, so that they
//! are ordinary steps of the caller's execution graph: visible in progress, `flowc graph`,
//! `flowc plan` and the logs, and scheduled, retried and skipped like any other step.
//!
//! The rewrite works on the syntax tree of a file that has already checked cleanly; the
//! result is checked again, which computes the dependencies of the new steps. In the
//! called workflow's steps, its parameters are replaced by the call's argument
//! expressions (or the parameter defaults), its steps and bindings get the `eu.` prefix,
//! its `defaults` and the call step's own attributes fill in what the steps do not set,
//! and the call step's `after` and `when` apply to every inner step. The call step itself
//! stays as a step that waits for all the inner steps and does nothing but compute the
//! callee's declared `outputs` from them, so that steps after it wait for the whole
//! sub-workflow and read its outputs as the call step's fields.
//!
//! A workflow of an imported module (`step d = common.deploy(...)`) is inlined the same
//! way, from the checked module's syntax tree: its constants are replaced by their values
//! and its unqualified calls of its own tasks and workflows are qualified with the
//! caller's alias, so that they resolve in the caller's file. (Its steps' calls through
//! the module's own imports are left as written.)
//!
//! Not inlined (and left for `flowc run` to report): calls with `for`, `finally` or
//! `on_failure_of`, and calls nested deeper than [`MAX_DEPTH`] (a workflow that calls
//! itself).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::ast::*;
use crate::check::{CheckError, Module};
use crate::diagnostics::Diagnostics;
use crate::source::SourceId;

/// How deeply calls of workflows may nest.
pub const MAX_DEPTH: usize = 16;

/// The file with every inlinable workflow call replaced by the workflow's steps; `None`
/// when there is no such call. A workflow that calls itself, directly or through others,
/// is an error (E0116), reported against `source`.
pub fn inline(
    file: &File,
    source: SourceId,
    modules: &[Module],
) -> Result<Option<File>, Diagnostics> {
    let mut workflows: HashMap<String, Callee<'_>> = file
        .items
        .iter()
        .filter_map(|it| match it {
            Item::Workflow(w) => Some((
                w.name.name.clone(),
                Callee {
                    wf: w,
                    module: None,
                },
            )),
            _ => None,
        })
        .collect();
    // Workflows of imported modules, as `alias.name`.
    for item in &file.items {
        let Item::Import(imp) = item else { continue };
        let Some(m) = modules
            .iter()
            .find(|m| m.key == imp.path || m.key.ends_with(imp.path.trim_start_matches("./")))
        else {
            continue;
        };
        for it in &m.ast.items {
            if let Item::Workflow(w) = it {
                workflows.insert(
                    format!("{}.{}", imp.alias.name, w.name.name),
                    Callee {
                        wf: w,
                        module: Some((&imp.alias, &m.ast)),
                    },
                );
            }
        }
    }
    let has_call = workflows.values().any(|c| {
        c.wf.body
            .iter()
            .any(|it| inlinable(it, &workflows).is_some())
    });
    if !has_call {
        return Ok(None);
    }
    let mut diags = Diagnostics::new();
    // One report per cycle, for its first workflow in source order.
    let mut reported: HashSet<String> = HashSet::default();
    for item in &file.items {
        let Item::Workflow(w) = item else { continue };
        if reported.contains(&w.name.name) {
            continue;
        }
        if let Some((chain, span)) = cycle(w, &workflows, &mut vec![w.name.name.clone()]) {
            reported.extend(chain.iter().cloned());
            diags.error(
                source,
                CheckError::RecursiveWorkflow {
                    name: w.name.name.clone(),
                    chain: chain.join(" -> "),
                    span: span.into(),
                },
            );
        }
    }
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    let items = file
        .items
        .iter()
        .map(|it| match it {
            Item::Workflow(w) => Item::Workflow(Workflow {
                body: expand(&w.body, &workflows, 0),
                ..w.clone()
            }),
            other => other.clone(),
        })
        .collect();
    Ok(Some(File { items }))
}

/// A chain of calls from `w` back to the first workflow on `stack`, with the span of the
/// call that closes it. (Workflows of other modules cannot call back into this file.)
fn cycle(
    w: &Workflow,
    workflows: &HashMap<String, Callee<'_>>,
    stack: &mut Vec<String>,
) -> Option<(Vec<String>, crate::source::Span)> {
    for item in &w.body {
        let (Some(callee), WorkflowItem::Step(step)) = (inlinable(item, workflows), item) else {
            continue;
        };
        if callee.module.is_some() {
            continue;
        }
        let name = callee.wf.name.name.clone();
        if stack.first() == Some(&name) {
            let mut chain = stack.clone();
            chain.push(name);
            return Some((chain, step.call.as_ref().map_or(step.span, |c| c.span)));
        }
        if stack.contains(&name) || stack.len() > MAX_DEPTH {
            continue;
        }
        stack.push(name);
        let found = cycle(callee.wf, workflows, stack);
        stack.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// A workflow a step may call: one of this file, or of an imported module (with the
/// alias it is imported under and the module's syntax tree).
struct Callee<'a> {
    wf: &'a Workflow,
    module: Option<(&'a Ident, &'a File)>,
}

/// The called workflow, when `item` is a step calling a workflow in a way that can be
/// inlined.
fn inlinable<'a, 'b>(
    item: &WorkflowItem,
    workflows: &'b HashMap<String, Callee<'a>>,
) -> Option<&'b Callee<'a>> {
    let WorkflowItem::Step(step) = item else {
        return None;
    };
    let call = step.call.as_ref()?;
    if step.finally.is_some() {
        return None;
    }
    if step
        .clauses
        .iter()
        .any(|c| matches!(c, Clause::For(_) | Clause::Compensates(..)))
    {
        return None;
    }
    let key = match &call.callee.module {
        None => call.callee.name.name.clone(),
        Some(alias) => format!("{}.{}", alias.name, call.callee.name.name),
    };
    workflows.get(&key)
}

/// A workflow body with its calls of workflows expanded, `depth` calls deep.
fn expand(
    body: &[WorkflowItem],
    workflows: &HashMap<String, Callee<'_>>,
    depth: usize,
) -> Vec<WorkflowItem> {
    let mut out = Vec::with_capacity(body.len());
    for item in body {
        match (inlinable(item, workflows), item) {
            (Some(callee), WorkflowItem::Step(step)) if depth < MAX_DEPTH => {
                let inner = instantiate(step, callee);
                out.extend(expand(&inner, workflows, depth + 1));
            }
            _ => out.push(item.clone()),
        }
    }
    out
}

/// The steps and bindings of `callee` as called by `step`, renamed and with the call's
/// arguments in place of the parameters, followed by the join step.
fn instantiate(step: &Step, target: &Callee<'_>) -> Vec<WorkflowItem> {
    let callee = target.wf;
    let call = step.call.as_deref();
    let prefix = format!("{}.", step.name.name);
    // Parameters -> the argument given for them, or their default.
    let mut args: HashMap<String, Expr> = HashMap::default();
    // A workflow of another module: its tasks and workflows are called through the
    // caller's alias, its constants are replaced by their values (read in its module).
    let mut members: HashSet<String> = HashSet::default();
    if let Some((_, module)) = target.module {
        let no_locals = HashSet::default();
        for item in &module.items {
            match item {
                Item::Task(t) => {
                    members.insert(t.name.name.clone());
                }
                Item::Workflow(w) => {
                    members.insert(w.name.name.clone());
                }
                Item::Let(b) => {
                    let value = Renamer {
                        prefix: "",
                        locals: &no_locals,
                        args: &args,
                        qualify: None,
                    }
                    .expr(&b.value, &HashSet::default());
                    args.insert(b.name.name.clone(), value);
                }
                Item::Import(_) | Item::Policy(_) => {}
            }
        }
    }
    let qualify = target.module.map(|(alias, _)| (alias, &members));
    let constants = args.clone();
    for (k, p) in callee.params.iter().enumerate() {
        let given = call.and_then(|c| {
            c.args
                .iter()
                .enumerate()
                .find(|(pos, a)| a.name.as_ref().map_or(*pos == k, |n| n.name == p.name.name))
                .map(|(_, a)| a.value.clone())
        });
        // A default is read in the callee's module: its constants are replaced.
        let default = p.default.as_ref().map(|d| {
            Renamer {
                prefix: "",
                locals: &HashSet::default(),
                args: &constants,
                qualify: None,
            }
            .expr(d, &HashSet::default())
        });
        if let Some(e) = given.or(default) {
            args.insert(p.name.name.clone(), e);
        }
    }
    let locals: HashSet<String> = callee
        .body
        .iter()
        .filter_map(|it| match it {
            WorkflowItem::Step(s) => Some(s.name.name.clone()),
            WorkflowItem::Binding(b) if b.kind == BindingKind::Secret => Some(b.name.name.clone()),
            WorkflowItem::Binding(_) | WorkflowItem::Defaults(_) | WorkflowItem::Outputs(_) => None,
        })
        .collect();
    // A `let` of the callee is replaced by its value, like a parameter: its value may
    // read the arguments, which may read step results, so it cannot be a binding of the
    // caller (bindings are evaluated before any step runs). Secrets stay bindings, so
    // that they stay secret.
    for it in &callee.body {
        if let WorkflowItem::Binding(b) = it {
            if b.kind == BindingKind::Let {
                let value = Renamer {
                    prefix: &prefix,
                    locals: &locals,
                    args: &args,
                    qualify,
                }
                .expr(&b.value, &HashSet::default());
                args.insert(b.name.name.clone(), value);
            }
        }
    }
    let renamer = Renamer {
        prefix: &prefix,
        locals: &locals,
        args: &args,
        qualify,
    };
    // What the inner steps inherit: the call step's attributes, then the callee's
    // defaults (a step's own attributes win over both).
    let mut inherited: Vec<Attr> = step
        .attrs
        .iter()
        .filter(|a| !a.kind.is_action())
        .cloned()
        .collect();
    for it in &callee.body {
        if let WorkflowItem::Defaults(d) = it {
            for a in &d.attrs {
                if !inherited
                    .iter()
                    .any(|o| o.kind.keyword() == a.kind.keyword())
                {
                    inherited.push(renamer.attr(a));
                }
            }
        }
    }
    let after: Vec<Ident> = step
        .clauses
        .iter()
        .filter_map(|c| match c {
            Clause::After(names, _) => Some(names.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let when: Option<Expr> = step.clauses.iter().find_map(|c| match c {
        Clause::When(e, _) => Some(e.clone()),
        _ => None,
    });
    let mut out = Vec::new();
    let mut joined = Vec::new();
    for it in &callee.body {
        match it {
            WorkflowItem::Defaults(_) | WorkflowItem::Outputs(_) => {}
            WorkflowItem::Binding(b) if b.kind == BindingKind::Let => {}
            WorkflowItem::Binding(b) => out.push(WorkflowItem::Binding(Binding {
                name: renamer.ident(&b.name),
                value: renamer.expr(&b.value, &HashSet::default()),
                ..b.clone()
            })),
            WorkflowItem::Step(s) => {
                let mut inner = renamer.step(s);
                add_after(&mut inner, &after, step.span);
                if let Some(w) = &when {
                    merge_when(&mut inner, w);
                }
                for a in &inherited {
                    // (Inherited attributes are never actions: those were left out.)
                    if !inner
                        .attrs
                        .iter()
                        .any(|o| o.kind.keyword() == a.kind.keyword())
                    {
                        inner.attrs.push(a.clone());
                    }
                }
                if inner.finally.is_none() {
                    joined.push(inner.name.clone());
                }
                out.push(WorkflowItem::Step(inner));
            }
        }
    }
    // The call step: waits for the inner steps, does nothing, and keeps its name, so that
    // steps after it wait for the whole sub-workflow.
    let mut clauses: Vec<Clause> = Vec::new();
    let mut waits = joined;
    waits.extend(after);
    if !waits.is_empty() {
        clauses.push(Clause::After(waits, step.span));
    }
    if let Some(w) = when {
        clauses.push(Clause::When(w, step.span));
    }
    let zero = Expr {
        kind: ExprKind::Duration(0),
        span: step.span,
    };
    let mut attrs = vec![Attr {
        kind: AttrKind::Sleep(zero),
        span: step.span,
        keyword: step.name.span,
    }];
    attrs.extend(
        step.attrs
            .iter()
            .filter(|a| matches!(a.kind, AttrKind::OnFailure(_)))
            .cloned(),
    );
    // The callee's declared outputs, with their values read from the inner steps: the
    // runtime evaluates them when the join step runs, after all of them.
    let outputs: Vec<OutputDecl> = crate::check::workflow_outputs(callee)
        .map(|d| OutputDecl {
            value: d
                .value
                .as_ref()
                .map(|v| renamer.expr(v, &HashSet::default())),
            ..d.clone()
        })
        .collect();
    if !outputs.is_empty() {
        attrs.push(Attr {
            kind: AttrKind::Outputs(outputs),
            span: step.span,
            keyword: step.name.span,
        });
    }
    out.push(WorkflowItem::Step(Step {
        docs: step.docs.clone(),
        finally: None,
        name: step.name.clone(),
        clauses,
        call: None,
        attrs,
        span: step.span,
    }));
    out
}

/// Adds the call's `after` steps to a step's own `after` clause.
fn add_after(step: &mut Step, after: &[Ident], span: crate::source::Span) {
    if after.is_empty() {
        return;
    }
    for c in &mut step.clauses {
        if let Clause::After(names, _) = c {
            names.extend(after.iter().cloned());
            return;
        }
    }
    step.clauses.push(Clause::After(after.to_vec(), span));
}

/// Adds the call's `when` to a step's own (both must hold).
fn merge_when(step: &mut Step, when: &Expr) {
    for c in &mut step.clauses {
        if let Clause::When(own, span) = c {
            let both = Expr {
                kind: ExprKind::Binary(BinOp::And, Box::new(when.clone()), Box::new(own.clone())),
                span: own.span,
            };
            *c = Clause::When(both, *span);
            return;
        }
    }
    step.clauses.push(Clause::When(when.clone(), when.span));
}

/// Renames the names of a called workflow: its steps and bindings get the call's
/// prefix, its parameters become the call's arguments.
struct Renamer<'a> {
    prefix: &'a str,
    locals: &'a HashSet<String>,
    args: &'a HashMap<String, Expr>,
    /// For a workflow of another module: the caller's alias for it, and the names of its
    /// tasks and workflows, which its steps call unqualified.
    qualify: Option<(&'a Ident, &'a HashSet<String>)>,
}

impl Renamer<'_> {
    fn ident(&self, i: &Ident) -> Ident {
        if self.locals.contains(&i.name) {
            Ident {
                name: format!("{}{}", self.prefix, i.name),
                span: i.span,
            }
        } else {
            i.clone()
        }
    }

    fn step(&self, s: &Step) -> Step {
        // A loop variable hides a parameter of the same name inside its step.
        let hidden: HashSet<String> = s
            .clauses
            .iter()
            .filter_map(|c| match c {
                Clause::For(f) => Some(f.var.name.clone()),
                _ => None,
            })
            .collect();
        Step {
            name: self.ident(&s.name),
            clauses: s
                .clauses
                .iter()
                .map(|c| match c {
                    Clause::After(names, span) => {
                        Clause::After(names.iter().map(|n| self.ident(n)).collect(), *span)
                    }
                    Clause::When(e, span) => Clause::When(self.expr(e, &hidden), *span),
                    Clause::For(f) => Clause::For(Box::new(ForEach {
                        var: f.var.clone(),
                        list: self.expr(&f.list, &HashSet::default()),
                        max: f.max.as_ref().map(|m| self.expr(m, &HashSet::default())),
                        span: f.span,
                    })),
                    Clause::Compensates(n, span) => Clause::Compensates(self.ident(n), *span),
                })
                .collect(),
            call: s.call.as_ref().map(|c| {
                let mut callee = c.callee.clone();
                if let Some((alias, members)) = self.qualify {
                    if callee.module.is_none() && members.contains(&callee.name.name) {
                        callee.module = Some(alias.clone());
                    }
                }
                Box::new(Call {
                    callee,
                    args: c
                        .args
                        .iter()
                        .map(|a| Arg {
                            value: self.expr(&a.value, &hidden),
                            ..a.clone()
                        })
                        .collect(),
                    ..(**c).clone()
                })
            }),
            attrs: s
                .attrs
                .iter()
                .map(|a| self.attr_hiding(a, &hidden))
                .collect(),
            ..s.clone()
        }
    }

    fn attr(&self, a: &Attr) -> Attr {
        self.attr_hiding(a, &HashSet::default())
    }

    fn attr_hiding(&self, a: &Attr, hidden: &HashSet<String>) -> Attr {
        let e = |x: &Expr| self.expr(x, hidden);
        let kind = match &a.kind {
            AttrKind::Run(x) => AttrKind::Run(e(x)),
            AttrKind::Exec(x) => AttrKind::Exec(e(x)),
            AttrKind::Sleep(x) => AttrKind::Sleep(e(x)),
            AttrKind::Approve(x) => AttrKind::Approve(e(x)),
            AttrKind::Native(x) => AttrKind::Native(e(x)),
            AttrKind::Timeout(x) => AttrKind::Timeout(e(x)),
            AttrKind::MaxParallel(x) => AttrKind::MaxParallel(e(x)),
            AttrKind::Retry(r) => AttrKind::Retry(Box::new(Retry {
                count: e(&r.count),
                backoff: r.backoff.as_ref().map(|b| Call {
                    args: b
                        .args
                        .iter()
                        .map(|a| Arg {
                            value: e(&a.value),
                            ..a.clone()
                        })
                        .collect(),
                    ..b.clone()
                }),
                jitter: r.jitter,
                condition: r.condition.as_ref().map(e),
            })),
            AttrKind::Env(entries) => AttrKind::Env(
                entries
                    .iter()
                    .map(|en| EnvEntry {
                        name: en.name.clone(),
                        value: e(&en.value),
                    })
                    .collect(),
            ),
            AttrKind::Outputs(d) => AttrKind::Outputs(d.clone()),
            AttrKind::OnFailure(i) => AttrKind::OnFailure(self.ident(i)),
        };
        Attr { kind, ..a.clone() }
    }

    /// An expression with local names prefixed and parameters replaced; names in
    /// `hidden` (loop variables) are left alone.
    fn expr(&self, x: &Expr, hidden: &HashSet<String>) -> Expr {
        let e = |y: &Expr| Box::new(self.expr(y, hidden));
        let kind = match &x.kind {
            ExprKind::Name(n) if !hidden.contains(n) => {
                if let Some(arg) = self.args.get(n) {
                    return arg.clone();
                }
                if self.locals.contains(n) {
                    ExprKind::Name(format!("{}{n}", self.prefix))
                } else {
                    ExprKind::Name(n.clone())
                }
            }
            ExprKind::Str(parts) => ExprKind::Str(
                parts
                    .iter()
                    .map(|p| match p {
                        StrPart::Interp(i) => StrPart::Interp(self.expr(i, hidden)),
                        t => t.clone(),
                    })
                    .collect(),
            ),
            ExprKind::List(items) => {
                ExprKind::List(items.iter().map(|i| self.expr(i, hidden)).collect())
            }
            ExprKind::Map(entries) => ExprKind::Map(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), self.expr(v, hidden)))
                    .collect(),
            ),
            ExprKind::Field(base, f) => ExprKind::Field(e(base), f.clone()),
            ExprKind::Index(base, i) => ExprKind::Index(e(base), e(i)),
            ExprKind::Call(callee, args) => ExprKind::Call(
                // The callee is a function name, never a parameter.
                callee.clone(),
                args.iter()
                    .map(|a| Arg {
                        value: self.expr(&a.value, hidden),
                        ..a.clone()
                    })
                    .collect(),
            ),
            ExprKind::Unary(op, a) => ExprKind::Unary(*op, e(a)),
            ExprKind::Binary(op, a, b) => ExprKind::Binary(*op, e(a), e(b)),
            ExprKind::If(c, a, b) => ExprKind::If(e(c), e(a), e(b)),
            other => other.clone(),
        };
        Expr { kind, span: x.span }
    }
}
