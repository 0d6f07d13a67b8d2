//! A stable text form of the resolved program, for snapshot tests: one block per workflow
//! and one line per fact, in id order. Names are shown as they were resolved: `#3 build`
//! is step 3, `m0.registry` the constant `registry` of module 0, `arg.url` a task's
//! parameter; binary operations are parenthesised.

use std::fmt::Write as _;

use super::{
    Action, Attrs, Backoff, Expr, ExprKind, OnFailure, Program, Ref, Retry, Step, StepId, StrPart,
    Workflow,
};

impl Program {
    /// The stable text form of the whole program: the modules' constants, policies and
    /// tasks (the standard library's by name only), then the root file's workflows.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for (i, m) in self.modules.iter().enumerate() {
            if m.key.starts_with("std/") {
                let _ = writeln!(out, "module m{i} {}", m.key);
                continue;
            }
            // A file's key is its canonical path; its name is what is stable across machines.
            let name = std::path::Path::new(&m.key)
                .file_name()
                .map_or_else(|| m.key.clone(), |n| n.to_string_lossy().into_owned());
            let _ = writeln!(out, "module m{i} {name}");
            for c in &m.consts {
                let _ = writeln!(out, "  const {}: {} = {}", c.name, c.ty, expr(&c.value));
            }
            for p in &m.policies {
                let _ = writeln!(out, "  policy {} {}", p.name, retry(&p.retry));
            }
            for t in &m.tasks {
                let params: Vec<String> = t
                    .params
                    .iter()
                    .map(|p| match &p.default {
                        Some(d) => format!("{}: {} = {}", p.name, p.ty, expr(d)),
                        None => format!("{}: {}", p.name, p.ty),
                    })
                    .collect();
                let _ = writeln!(out, "  task {}({})", t.name, params.join(", "));
                attrs(&mut out, &t.attrs, "    ");
            }
        }
        for w in &self.workflows {
            out.push_str(&w.dump());
        }
        out
    }
}

impl Workflow {
    /// The stable text form of one workflow.
    pub fn dump(&self) -> String {
        let mut out = format!("workflow {}\n", self.name);
        for p in &self.params {
            let _ = match &p.default {
                Some(d) => writeln!(out, "  param {}: {} = {}", p.name, p.ty, expr(d)),
                None => writeln!(out, "  param {}: {}", p.name, p.ty),
            };
        }
        for b in &self.bindings {
            let kw = if b.secret { "secret" } else { "let" };
            let _ = writeln!(out, "  {kw} {}: {} = {}", b.name, b.ty, expr(&b.value));
        }
        if let Some(n) = &self.max_parallel {
            let _ = writeln!(out, "  max_parallel {}", expr(n));
        }
        if let Some(c) = &self.concurrency {
            let _ = writeln!(out, "  concurrency {} {}", expr(&c.group), c.policy.name());
        }
        if let Some(t) = &self.timeout {
            let _ = writeln!(out, "  timeout {}", expr(t));
        }
        if let Some(n) = &self.max_failures {
            let _ = writeln!(out, "  max_failures {}", expr(n));
        }
        for s in &self.steps {
            step(&mut out, self, s, Reads::Once);
            // Here rather than in the step's own dump, which its fingerprint hashes: a
            // label is not part of what the step does.
            if let Some(c) = &s.checkpoint {
                let _ = writeln!(out, "    checkpoint {:?}", c.label);
            }
            // When it starts, not what it does: outside the step's own form, which its
            // resume fingerprint hashes.
            if let Some(p) = &s.settings.priority {
                let _ = writeln!(out, "    priority {}", expr(p));
            }
        }
        for o in &self.outputs {
            let value = o.value.as_ref().map(expr).unwrap_or_default();
            let _ = writeln!(out, "  output {}: {} = {value}", o.name, o.ty);
        }
        out
    }
}

impl Step {
    /// The stable text form of this step of `wf`: everything that decides what it does,
    /// with names resolved and without comments, docs or positions. Resume fingerprints
    /// hash it (see `runtime::fingerprint`), so it must not change for a step that did
    /// not: a run journaled by an earlier flowc would run that step again on resume. It
    /// lists each read of another step, as it always has.
    pub fn dump(&self, wf: &Workflow) -> String {
        let mut out = String::new();
        step(&mut out, wf, self, Reads::Each);
        out
    }
}

/// How a step's dependencies are listed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// A line per dependency, as the program dump shows them.
    Once,
    /// A line per read, as the stable text of [`Step::dump`] has them.
    Each,
}

fn step(out: &mut String, wf: &Workflow, s: &Step, reads: Reads) {
    let mut flags = Vec::new();
    if s.finally {
        flags.push("finally");
    }
    if s.never {
        flags.push("never");
    }
    let _ = write!(out, "  step #{} {}", s.id.0, s.name);
    if !flags.is_empty() {
        let _ = write!(out, " [{}]", flags.join(", "));
    }
    out.push('\n');
    // The resolved program keeps each read, with its span, for diagnostics; the program
    // dump shows a step read three times as one `data` dependency.
    for (i, d) in s.deps.iter().enumerate() {
        let again = || (s.deps[..i].iter()).any(|e| e.kind == d.kind && e.step == d.step);
        if reads == Reads::Once && again() {
            continue;
        }
        let kind = match d.kind {
            super::DepKind::After => "after",
            super::DepKind::Data => "data",
            super::DepKind::Output => "output",
        };
        let _ = writeln!(out, "    {kind} #{} {}", d.step.0, wf.step(d.step).name);
    }
    if let Some(t) = s.compensates {
        let _ = writeln!(
            out,
            "    on_failure_of #{} {}",
            t.step.0,
            wf.step(t.step).name
        );
    }
    if let Some(f) = &s.fan_out {
        match f.over {
            Some(up) => {
                let _ = write!(
                    out,
                    "    for {} in instances of #{} {}",
                    f.var,
                    up.0,
                    wf.step(up).name
                );
            }
            None => {
                let _ = write!(out, "    for {} in {}", f.var, expr(&f.list));
            }
        }
        for a in &f.matrix {
            let _ = write!(out, " for {} in {}", a.var, expr(&a.list));
        }
        if let Some(max) = &f.max {
            let _ = write!(out, " max {}", expr(max));
        }
        for (n, max) in &f.max_per {
            let _ = write!(out, " max {} per {n}", expr(max));
        }
        if let Some(n) = &f.max_failures {
            let _ = write!(out, " max_failures {}", expr(n));
        }
        if f.keep_instances {
            out.push_str(" (each instance kept)");
        }
        out.push('\n');
        for c in &f.counterparts {
            let _ = writeln!(
                out,
                "    with instances of #{} {} (sharing {})",
                c.step.0,
                wf.step(c.step).name,
                c.prefix
            );
        }
        if let Some(w) = &f.instance_when {
            let _ = writeln!(out, "    each instance when {}", expr(w));
        }
    }
    if let Some(w) = &s.when {
        let _ = writeln!(out, "    when {}", expr(w));
    }
    if let Some(call) = &s.call {
        let args: Vec<String> = call
            .args
            .iter()
            .map(|(n, v)| format!("{n}: {}", expr(v)))
            .collect();
        let _ = writeln!(
            out,
            "    call m{}.{}({})",
            call.module,
            call.task,
            args.join(", ")
        );
    }
    let _ = writeln!(out, "    {}", action(&s.action));
    if let Some(r) = &s.settings.retry {
        let _ = writeln!(out, "    retry {}", retry(r));
    }
    if let Some(t) = &s.settings.timeout {
        let _ = writeln!(out, "    timeout {}", expr(t));
    }
    if let Some(d) = &s.settings.dir {
        let _ = writeln!(out, "    dir {}", expr(&d.path));
    }
    for (name, value) in &s.settings.env {
        let _ = writeln!(out, "    env {name} = {}", expr(value));
    }
    let route = |to: OnFailure| match to {
        OnFailure::FailFast => "fail_fast".to_string(),
        OnFailure::Continue => "continue".to_string(),
        OnFailure::Fallback(l) => format!("#{} {}", l.step.0, wf.step(l.step).name),
    };
    for r in &s.settings.routes {
        let _ = writeln!(
            out,
            "    on_failure {} if {}",
            route(r.to),
            expr(&r.condition)
        );
    }
    let _ = writeln!(out, "    on_failure {}", route(s.settings.on_failure));
    for o in &s.outputs {
        match &o.value {
            Some(v) => {
                let _ = writeln!(out, "    output {}: {} = {}", o.name, o.ty, expr(v));
            }
            None => {
                let _ = writeln!(out, "    output {}: {}", o.name, o.ty);
            }
        }
    }
}

fn attrs(out: &mut String, a: &Attrs, indent: &str) {
    if let Some(act) = &a.action {
        let _ = writeln!(out, "{indent}{}", action(act));
    }
    if let Some(r) = &a.retry {
        let _ = writeln!(out, "{indent}retry {}", retry(r));
    }
    if let Some(t) = &a.timeout {
        let _ = writeln!(out, "{indent}timeout {}", expr(t));
    }
    if let Some(d) = &a.dir {
        let _ = writeln!(out, "{indent}dir {}", expr(&d.path));
    }
    for (name, value) in a.env.iter().flatten() {
        let _ = writeln!(out, "{indent}env {name} = {}", expr(value));
    }
    for o in a.outputs.iter().flatten() {
        let _ = writeln!(out, "{indent}output {}: {}", o.name, o.ty);
    }
}

fn action(a: &Action) -> String {
    match a {
        Action::Run(c) => {
            let values: Vec<String> = c.values.iter().map(expr).collect();
            if values.is_empty() {
                format!("run {}", c.template.describe())
            } else {
                format!("run {} with [{}]", c.template.describe(), values.join(", "))
            }
        }
        Action::Exec(e) => format!("exec {}", expr(e)),
        Action::Sleep(e) => format!("sleep {}", expr(e)),
        Action::Approve(e) => format!("approve {}", expr(e)),
        Action::Native(n) => format!("native {n}"),
        Action::Workflow(call) => format!("workflow m{}.{}", call.module, call.name),
    }
}

fn retry(r: &Retry) -> String {
    let mut out = expr(&r.count);
    let Backoff { kind, delay, max } = &r.backoff;
    if let Some(d) = delay {
        let _ = write!(out, " backoff {}({}", kind.name(), expr(d));
        if let Some(m) = max {
            let _ = write!(out, ", max: {}", expr(m));
        }
        out.push(')');
    }
    if r.jitter {
        out.push_str(" jitter");
    }
    if let Some(c) = &r.condition {
        let _ = write!(out, " if {}", expr(c));
    }
    if let Some(p) = &r.policy {
        let _ = write!(out, " (policy {p})");
    }
    out
}

/// An expression as text, with names shown as they were resolved.
pub fn expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e, Style::Resolved);
    out
}

impl Expr {
    /// The expression as a person would write it in `wf` (step references by name, no
    /// parentheses around the outermost operation), for `flowc graph` and `flowc plan`.
    pub fn to_source(&self, wf: &Workflow) -> String {
        let mut out = String::new();
        write_expr(&mut out, self, Style::Source(wf, true, None));
        out
    }

    /// [`Self::to_source`] for an expression of step `step`, whose loop variable of a
    /// `for` over a step's instances is shown by its name (`part.rows`, not
    /// `extract.rows`).
    pub fn to_source_in(&self, wf: &Workflow, step: &Step) -> String {
        let over = (step.fan_out.as_deref()).and_then(|f| f.over.map(|o| (o, f.var.as_str())));
        let mut out = String::new();
        write_expr(&mut out, self, Style::Source(wf, true, over));
        out
    }
}

/// How names and operations are shown.
#[derive(Clone, Copy)]
enum Style<'a> {
    /// As resolved: `#3`, `m0.name`, `arg.x`; every operation parenthesised.
    Resolved,
    /// As written in this workflow; `true` while at the outermost operation.
    /// The loop variable that stands for the instances of a step, if any.
    Source(&'a Workflow, bool, Option<(StepId, &'a str)>),
}

fn write_expr(out: &mut String, e: &Expr, style: Style<'_>) {
    // What this expression contains is not the outermost operation.
    let nested = match style {
        Style::Source(wf, _, over) => Style::Source(wf, false, over),
        Style::Resolved => Style::Resolved,
    };
    match &e.kind {
        ExprKind::Int(i) => {
            let _ = write!(out, "{i}");
        }
        ExprKind::Float(f) => {
            let _ = write!(out, "{f:?}");
        }
        // As a person writes it (`90s` is `1m30s`); the resolved form in milliseconds.
        ExprKind::Duration(ms) if matches!(style, Style::Source(..)) => {
            out.push_str(&crate::format::duration_text(*ms));
        }
        ExprKind::Duration(ms) => {
            let _ = write!(out, "{ms}ms");
        }
        ExprKind::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        ExprKind::Str(parts) => {
            out.push('"');
            for p in parts {
                match p {
                    StrPart::Text(t) => {
                        let escaped = format!("{t:?}");
                        out.push_str(&escaped[1..escaped.len() - 1]);
                    }
                    StrPart::Interp(inner) => {
                        out.push_str("${");
                        write_expr(out, inner, nested);
                        out.push('}');
                    }
                }
            }
            out.push('"');
        }
        ExprKind::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, item, nested);
            }
            out.push(']');
        }
        ExprKind::Map(entries) | ExprKind::Record(entries) => {
            if matches!((&e.kind, style), (ExprKind::Record(_), Style::Resolved)) {
                out.push_str("record ");
            }
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{k}: ");
                write_expr(out, v, nested);
            }
            out.push('}');
        }
        ExprKind::Ref(r) => {
            let _ = match (r, style) {
                (Ref::Param(n) | Ref::Binding(n) | Ref::Local(n), _) => write!(out, "{n}"),
                (Ref::Arg(n), Style::Source(..))
                | (Ref::Const { name: n, .. }, Style::Source(..)) => {
                    write!(out, "{n}")
                }
                (Ref::Instance(id), Style::Source(_, _, Some((over, var)))) if *id == over => {
                    write!(out, "{var}")
                }
                (Ref::Step(id) | Ref::Instance(id), Style::Source(wf, _, _)) => {
                    let name = wf.steps.get(id.index()).map_or("?", |s| s.name.as_str());
                    write!(out, "{name}")
                }
                (Ref::Arg(n), Style::Resolved) => write!(out, "arg.{n}"),
                (Ref::Const { module, name }, Style::Resolved) => write!(out, "m{module}.{name}"),
                (Ref::Step(id), Style::Resolved) => write!(out, "#{}", id.0),
                (Ref::Instance(id), Style::Resolved) => write!(out, "#{}[same]", id.0),
            };
        }
        ExprKind::Workflow => out.push_str("workflow"),
        ExprKind::Field(base, field) => {
            write_expr(out, base, nested);
            let _ = write!(out, ".{field}");
        }
        ExprKind::Index(base, index) => {
            write_expr(out, base, nested);
            out.push('[');
            write_expr(out, index, nested);
            out.push(']');
        }
        ExprKind::Call(name, args) => {
            let _ = write!(out, "{name}(");
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match a {
                    Some(a) => write_expr(out, a, nested),
                    None => out.push('_'),
                }
            }
            out.push(')');
        }
        ExprKind::Unary(op, inner) => {
            out.push(match op {
                super::UnOp::Not => '!',
                super::UnOp::Neg => '-',
            });
            write_expr(out, inner, nested);
        }
        ExprKind::Binary(op, a, b) => {
            let parens = !matches!(style, Style::Source(_, true, _));
            if parens {
                out.push('(');
            }
            write_expr(out, a, nested);
            let _ = write!(out, " {} ", op.symbol());
            write_expr(out, b, nested);
            if parens {
                out.push(')');
            }
        }
        ExprKind::If(c, a, b) => {
            out.push_str("if ");
            write_expr(out, c, nested);
            out.push_str(" { ");
            write_expr(out, a, nested);
            out.push_str(" } else { ");
            write_expr(out, b, nested);
            out.push_str(" }");
        }
        ExprKind::Invalid => out.push_str("<invalid>"),
    }
}
