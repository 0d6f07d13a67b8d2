//! Checking attributes of steps, tasks and `defaults` blocks, and resolving them into
//! [`typed::Attrs`]: actions, retry clauses and named policies, timeouts, env, outputs and
//! failure policies.

use rustc_hash::FxHashMap as HashMap;

use super::error::CheckError;
use super::expr::{EntryKind, ExprCx};
use super::types::{Type, STEP_FIELDS};
use crate::ast::{self, Attr, AttrKind, Expr};
use crate::command::{self, CommandError};
use crate::diagnostics::did_you_mean;
use crate::source::Span;
use crate::typed;

use super::workflow::Checker;

/// Where a list of attributes stands.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum AttrPlace<'a> {
    /// A step; `is_call` when its action is `= callee(...)`.
    Step { name: &'a str, is_call: bool },
    /// A task body.
    Task { name: &'a str },
    /// A `defaults` block.
    Defaults,
    /// The body of a workflow: the run's own settings (`timeout`, `max_failures`).
    Workflow { name: &'a str },
}

/// "step `build`", "task `get`", "`defaults`": written straight into the messages that
/// name the place (a string per attribute would be a large check's allocation hot spot).
impl std::fmt::Display for AttrPlace<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.pieces().into_iter().try_for_each(|p| f.write_str(p))
    }
}

impl<'a> AttrPlace<'a> {
    /// The description in pieces: written without the formatting machinery where every
    /// step's text place is described ([`super::expr::ExprCx::describe_text`]), as a
    /// `format!` there was 2% of checking a large file.
    pub(super) fn pieces(&self) -> [&'a str; 3] {
        match *self {
            AttrPlace::Step { name, .. } => ["step `", name, "`"],
            AttrPlace::Task { name } => ["task `", name, "`"],
            AttrPlace::Defaults => ["`defaults`", "", ""],
            AttrPlace::Workflow { name } => ["the body of workflow `", name, "`"],
        }
    }
}

/// When the value of an attribute is decided, which bounds what it may read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Decided {
    /// Once, when the run starts: parameters, bindings and constants only.
    AtRunStart,
    /// Once per step, for all of a fan-out's instances: not the loop variable.
    ForAllInstances,
}

/// What the attributes of a step say: their typed forms, and its failure routes as
/// written (a step's `on_failure` attributes, resolved by [`Checker::check_step`] once the
/// step's other names are out of scope).
#[derive(Default)]
pub(super) struct AttrSummary {
    /// A step's `on_failure` attributes, in order.
    pub(super) routes: Vec<RouteAttr>,
    /// The attributes, resolved.
    pub(super) attrs: typed::Attrs,
    /// `checkpoint "label"`, when it is a valid label.
    pub(super) checkpoint: Option<typed::Checkpoint>,
}

/// One `on_failure TARGET [if COND]` of a step, as written.
pub(super) struct RouteAttr {
    /// `continue`, `fail_fast` or a step.
    pub(super) target: ast::Ident,
    /// Its condition, if any.
    pub(super) condition: Option<Expr>,
    /// The whole attribute.
    pub(super) span: Span,
}

impl Checker<'_> {
    pub(super) fn check_attrs(
        &mut self,
        attrs: &[Attr],
        place: AttrPlace<'_>,
        cx: &mut ExprCx,
    ) -> AttrSummary {
        let mut summary = AttrSummary::default();
        let mut seen: Vec<(&'static str, Span)> = Vec::new();
        for attr in attrs {
            let kw = attr.kind.keyword();
            // A step may have several failure routes (checked as routes).
            let routes = matches!(
                (&attr.kind, place),
                (AttrKind::OnFailure(..), AttrPlace::Step { .. })
            );
            if let Some(first) = repeat_of(&mut seen, kw, attr.keyword).filter(|_| !routes) {
                self.error(CheckError::Repeated {
                    what: kw.to_string(),
                    span: attr.keyword.into(),
                    first: first.into(),
                });
            }
            if let Some(help) = self.not_allowed(&attr.kind, place) {
                self.error(CheckError::NotAllowedHere {
                    attr: kw.to_string(),
                    place: place.to_string(),
                    span: attr.keyword.into(),
                    help: Some(help),
                });
                continue;
            }
            match &attr.kind {
                AttrKind::Run(e) => {
                    cx.describe_text("the command line of ", place);
                    let text = self.expect(e, cx, &Type::String, "the command");
                    let command = self.command(text, e.span);
                    summary.attrs.action = command.map(typed::Action::Run);
                }
                AttrKind::Exec(e) => {
                    cx.describe_text("the arguments of ", place);
                    let list = match &e.kind {
                        // Element by element, so that a bad argument is pointed at exactly.
                        ast::ExprKind::List(items) => {
                            if items.is_empty() {
                                self.diags.error(
                                    self.source,
                                    super::CommandAt {
                                        inner: CommandError::EmptyCommand,
                                        span: e.span.into(),
                                        label: "no program to start",
                                    },
                                );
                            }
                            let typed_items: Vec<typed::Expr> = items
                                .iter()
                                .map(|item| self.expect(item, cx, &Type::String, "each argument"))
                                .collect();
                            self.reparsed_exec(&typed_items);
                            typed::Expr {
                                kind: typed::ExprKind::List(typed_items),
                                ty: Type::List(Box::new(Type::String)),
                                span: self.at(e.span),
                            }
                        }
                        _ => self.expect(
                            e,
                            cx,
                            &Type::List(Box::new(Type::String)),
                            "the argument list",
                        ),
                    };
                    summary.attrs.action = Some(typed::Action::Exec(list));
                }
                AttrKind::Approve(e) => {
                    cx.describe_text("the approval message of ", place);
                    let message = self.expect(e, cx, &Type::String, "the approval message");
                    summary.attrs.action = Some(typed::Action::Approve(message));
                }
                AttrKind::Sleep(e) => {
                    let d = self.expect(e, cx, &Type::Duration, "`sleep`");
                    summary.attrs.action = Some(typed::Action::Sleep(d));
                }
                AttrKind::Native(e) => {
                    let name = self.native(e, place);
                    summary.attrs.action = Some(typed::Action::Native(name));
                }
                AttrKind::Timeout(e) => {
                    let d = self.expect(e, cx, &Type::Duration, "`timeout`");
                    self.positive_duration(&d, "`timeout`");
                    if matches!(place, AttrPlace::Workflow { .. }) {
                        self.decided(&d, "timeout", Decided::AtRunStart);
                    }
                    summary.attrs.timeout = Some(std::sync::Arc::new(d));
                }
                AttrKind::MaxParallel(e) => {
                    let n = self.count(e, cx, "`max_parallel`");
                    summary.attrs.max_parallel = Some(n);
                }
                AttrKind::Checkpoint(e) => {
                    summary.checkpoint = self.checkpoint(e).map(|label| typed::Checkpoint {
                        label,
                        span: self.at(e.span),
                    });
                }
                AttrKind::Priority(e) => {
                    // Its own context: what it reads is no dependency of the step.
                    let mut own = ExprCx::new(cx.place, "`priority`");
                    let p = self.expect(e, &mut own, &Type::Int, "`priority`");
                    self.decided(&p, "priority", Decided::AtRunStart);
                    summary.attrs.priority = Some(std::sync::Arc::new(p));
                }
                AttrKind::Dir(e) => {
                    cx.describe_text("the working directory of ", place);
                    let path = self.expect(e, cx, &Type::String, "`dir`");
                    summary.attrs.dir = Some(std::sync::Arc::new(typed::WorkDir {
                        path,
                        base: self.file_dir.clone(),
                    }));
                }
                AttrKind::MaxFailures(e) => {
                    let n = self.count(e, cx, "`max_failures`");
                    let when = match place {
                        AttrPlace::Workflow { .. } => Decided::AtRunStart,
                        _ => Decided::ForAllInstances,
                    };
                    self.decided(&n, "max_failures", when);
                    summary.attrs.max_failures = Some(n);
                }
                AttrKind::Retry(r) => {
                    let retry = self.retry(r, cx);
                    summary.attrs.retry = retry.map(std::sync::Arc::new);
                }
                AttrKind::Env(entries) => {
                    let mut env = Vec::with_capacity(entries.len());
                    let mut names: HashMap<&str, Span> = HashMap::default();
                    for entry in entries {
                        if let Some(first) = names.insert(&entry.name.name, entry.name.span) {
                            self.error(CheckError::Duplicate {
                                name: entry.name.name.clone(),
                                span: entry.name.span.into(),
                                first: first.into(),
                            });
                        }
                        let saved = cx.allow_secret;
                        cx.allow_secret = true;
                        let value = self.expr(&entry.value, cx);
                        cx.allow_secret = saved;
                        let t = &value.ty;
                        if !(t.is_textual() || *t == Type::Secret) {
                            self.error(CheckError::Mismatch {
                                expected: "string".to_string(),
                                found: t.to_string(),
                                context: "an environment variable must be text".to_string(),
                                span: entry.value.span.into(),
                                help: matches!(t, Type::List(_))
                                    .then(|| "join it first: `join(list, \",\")`".to_string()),
                            });
                        }
                        env.push((entry.name.name.clone(), value));
                    }
                    summary.attrs.env = Some(env);
                }
                AttrKind::Outputs(decls) => {
                    let outputs = self.check_output_decls(decls, cx);
                    summary.attrs.outputs = Some(outputs);
                }
                AttrKind::OnFailure(target, condition)
                    if matches!(place, AttrPlace::Step { .. }) =>
                {
                    summary.routes.push(RouteAttr {
                        target: target.clone(),
                        condition: condition.as_deref().cloned(),
                        span: attr.span,
                    });
                }
                AttrKind::OnFailure(target, Some(condition)) => {
                    // Checked all the same, so that its names count as used.
                    self.condition(condition, cx);
                    self.error(CheckError::RouteNotHere {
                        place: place.to_string(),
                        span: condition.span.into(),
                        help: format!(
                            "a route's condition reads the result of the step that failed: write `on_failure {} if ...` on the steps themselves",
                            target.name
                        ),
                    });
                }
                // In a task or `defaults` (a step's routes are taken above).
                AttrKind::OnFailure(target, None) => match target.name.as_str() {
                    "continue" => summary.attrs.on_failure = Some(typed::OnFailure::Continue),
                    "fail_fast" => summary.attrs.on_failure = Some(typed::OnFailure::FailFast),
                    _ => {
                        self.diags.error(
                            self.source,
                            crate::lower::GraphError::BadFallback {
                                reason: format!("{place} cannot name a fallback step"),
                                span: target.span.into(),
                                help: Some(
                                    "use `continue` or `fail_fast` here; name fallback steps on the steps themselves"
                                        .to_string(),
                                ),
                            },
                        );
                    }
                },
            }
        }
        summary
    }

    /// Declared outputs: known types, no clash with the built-in fields, no duplicates,
    /// and a value (in a workflow's `outputs`) of the declared type.
    pub(super) fn check_output_decls(
        &mut self,
        decls: &[ast::OutputDecl],
        cx: &mut ExprCx,
    ) -> Vec<typed::Output> {
        let mut names: HashMap<&str, Span> = HashMap::default();
        let mut outputs = Vec::with_capacity(decls.len());
        for d in decls {
            let declared = self.resolve_type(&d.ty);
            if STEP_FIELDS.contains(&d.name.name.as_str()) {
                self.error(CheckError::OutputClash {
                    name: d.name.name.clone(),
                    span: d.name.span.into(),
                });
            }
            if let Some(first) = names.insert(&d.name.name, d.name.span) {
                self.error(CheckError::Duplicate {
                    name: d.name.name.clone(),
                    span: d.name.span.into(),
                    first: first.into(),
                });
            }
            let value = d.value.as_ref().map(|value| {
                let found = self.expr_expecting(value, cx, &declared);
                self.require(
                    value,
                    &found.ty,
                    &declared,
                    cx,
                    &format!("the output `{}`", d.name.name),
                );
                found
            });
            outputs.push(typed::Output {
                name: d.name.name.clone(),
                docs: d.docs.0.clone(),
                ty: declared,
                value,
            });
        }
        outputs
    }

    /// `native "http.get"`: only in a task of the standard library, naming an action the
    /// runtime implements.
    pub(super) fn native(&mut self, e: &Expr, place: AttrPlace<'_>) -> String {
        if !(self.stdlib && matches!(place, AttrPlace::Task { .. })) {
            self.error(CheckError::NativeOutsideStdlib {
                span: e.span.into(),
                place: place.to_string(),
            });
            return String::new();
        }
        let name = match &e.kind {
            ast::ExprKind::Str(parts) => match parts.as_slice() {
                [ast::StrPart::Text(t)] => t.clone(),
                _ => String::new(),
            },
            _ => String::new(),
        };
        if !crate::stdlib::NATIVES.contains(&name.as_str()) {
            let help =
                crate::diagnostics::did_you_mean(&name, crate::stdlib::NATIVES.iter().copied())
                    .map(|c| format!("did you mean `{c}`?"))
                    .or_else(|| {
                        Some(format!(
                            "the runtime implements {}",
                            crate::stdlib::NATIVES.join(", ")
                        ))
                    });
            self.error(CheckError::UnknownNative {
                name: name.clone(),
                span: e.span.into(),
                help,
            });
        }
        name
    }

    /// Why an attribute cannot stand here, as help text; `None` when it can.
    pub(super) fn not_allowed(&self, kind: &AttrKind, place: AttrPlace<'_>) -> Option<String> {
        match (place, kind) {
            (AttrPlace::Defaults, k) if k.is_action() => Some(
                "`defaults` holds what every step inherits: retry, timeout, env, on_failure, max_parallel, priority, dir".to_string(),
            ),
            (AttrPlace::Defaults | AttrPlace::Task { .. }, AttrKind::MaxFailures(_)) => Some(
                "`max_failures` bounds the whole run in the workflow's body, or one fan-out on its step"
                    .to_string(),
            ),
            (AttrPlace::Task { .. }, AttrKind::Priority(_)) => Some(
                "set `priority` on the step that calls the task, or in the workflow's `defaults`"
                    .to_string(),
            ),
            (AttrPlace::Defaults, AttrKind::Outputs(_)) => {
                Some("declare outputs on the step that writes them".to_string())
            }
            (AttrPlace::Step { .. } | AttrPlace::Task { .. }, AttrKind::MaxParallel(_)) => Some(
                "set `max_parallel` in the workflow's `defaults`, or bound a fan-out with `for x in list max N`"
                    .to_string(),
            ),
            (AttrPlace::Defaults | AttrPlace::Task { .. }, AttrKind::Checkpoint(_)) => Some(
                "a checkpoint labels one step's finish: put it on the step".to_string(),
            ),
            (AttrPlace::Step { is_call: true, .. }, AttrKind::Outputs(_)) => {
                Some("a step that calls a task has the task's outputs".to_string())
            }
            _ => None,
        }
    }

    /// The label of `checkpoint "label"`: a string literal of 1 to 64 letters, digits, `-`
    /// and `_` (`None`, reported as E0511, otherwise). Inlining a call prefixes a label
    /// with the call's name and a `.`, so a label written in a file never holds one.
    fn checkpoint(&mut self, e: &Expr) -> Option<String> {
        let problem = match &e.kind {
            ast::ExprKind::Str(parts) => match parts.as_slice() {
                [] => "it is empty".to_string(),
                [ast::StrPart::Text(t)] => {
                    match t
                        .chars()
                        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
                    {
                        _ if t.is_empty() => "it is empty".to_string(),
                        _ if t.chars().count() > 64 => {
                            "it is longer than 64 characters".to_string()
                        }
                        Some(c) => format!("{c:?} is not allowed"),
                        None => return Some(t.clone()),
                    }
                }
                _ => "it interpolates a value".to_string(),
            },
            _ => "it is not a string literal".to_string(),
        };
        self.error(CheckError::BadCheckpoint {
            problem,
            span: e.span.into(),
        });
        None
    }

    /// Refuses an `exec` list that hands a value to a program that parses it as a command
    /// again (`exec ["sh", "-c", "deploy ${target}"]`): E0407, at the value.
    fn reparsed_exec(&mut self, items: &[typed::Expr]) {
        let literal = |item: &typed::Expr| match &item.kind {
            typed::ExprKind::Str(parts) => parts
                .iter()
                .any(|p| matches!(p, typed::StrPart::Text(t) if command::names_a_reparser(t))),
            _ => false,
        };
        if !items.iter().any(literal) {
            return;
        }
        let mut spans = Vec::new();
        let args: Vec<command::Arg> = items
            .iter()
            .map(|item| match &item.kind {
                typed::ExprKind::Str(parts) => {
                    let mut arg = command::Arg::default();
                    for part in parts {
                        match part {
                            typed::StrPart::Text(t) => arg.text.push_str(t),
                            typed::StrPart::Interp(e) => {
                                arg.push_value(spans.len());
                                spans.push(e.span);
                            }
                        }
                    }
                    arg
                }
                _ => {
                    let mut arg = command::Arg::default();
                    arg.push_value(spans.len());
                    spans.push(item.span);
                    arg
                }
            })
            .collect();
        if let Some((index, program)) = command::reparsed(&args) {
            let span = spans[index];
            self.diags.error(
                self.source,
                super::CommandAt {
                    inner: CommandError::Reparsed { index, program },
                    span: span.span.into(),
                    label: "this value would be parsed as a command",
                },
            );
        }
    }

    /// Reports (E0218) a read in `value`, the value of attribute `what`, of something that
    /// is not known when the value is decided: a step's result or the loop variable, for a
    /// value decided when the run starts; the loop variable, for a value that holds for
    /// all of a fan-out step's instances.
    pub(super) fn decided(&mut self, value: &typed::Expr, what: &str, when: Decided) {
        let mut found = None;
        value.walk(&mut |e| {
            if found.is_some() {
                return;
            }
            if let typed::ExprKind::Ref(r) = &e.kind {
                let read = match r {
                    typed::Ref::Local(name) => Some((format!("the loop variable `{name}`"), true)),
                    typed::Ref::Step(_) | typed::Ref::Instance(_)
                        if when == Decided::AtRunStart =>
                    {
                        let step = self.text(e.span.span);
                        Some((format!("the result of step `{step}`"), false))
                    }
                    _ => None,
                };
                found = read.map(|(read, local)| (read, local, e.span.span));
            }
        });
        let Some((read, local, span)) = found else {
            return;
        };
        let (why, help) = match (when, local) {
            (Decided::AtRunStart, true) => (
                "is decided when the run starts",
                "the instances of a fan-out share their step's priority, and start in list order",
            ),
            (Decided::AtRunStart, false) => (
                "is decided when the run starts",
                "compute it from parameters, `let` bindings and constants",
            ),
            (Decided::ForAllInstances, _) => (
                "holds for all of the step's instances",
                "it is one budget for the whole fan-out: compute it from parameters, bindings or step results",
            ),
        };
        self.error(CheckError::DecidedTooEarly {
            what: what.to_string(),
            why,
            read,
            span: span.into(),
            help,
        });
    }

    /// `retry module.NAME` naming a policy of an imported module: that module's index and
    /// the policy's name (and the alias is marked used); `None` for an ordinary count.
    pub(super) fn policy_ref(&mut self, count: &Expr) -> Option<(usize, String)> {
        match &count.kind {
            ast::ExprKind::Field(base, member) => {
                let ast::ExprKind::Name(alias) = &base.kind else {
                    return None;
                };
                let id = self.scope.lookup(alias)?;
                let EntryKind::Module(m) = self.scope.entry(id).kind else {
                    return None;
                };
                let is_policy = self.modules[m].typed.policy(&member.name).is_some();
                if is_policy {
                    self.scope.mark_used(id);
                    Some((m, member.name.clone()))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Checks a retry clause and resolves it; a named policy is the clause of the module
    /// it was imported from.
    pub(super) fn retry(&mut self, r: &ast::Retry, cx: &mut ExprCx) -> Option<typed::Retry> {
        if let Some((module, policy)) = self.policy_ref(&r.count) {
            let written = self.text(r.count.span).to_string();
            let extra = r
                .backoff
                .as_ref()
                .map(|b| b.span)
                .or(r.jitter)
                .or(r.condition.as_ref().map(|c| c.span));
            if let Some(span) = extra {
                self.error(CheckError::PolicyWithClauses {
                    name: written.clone(),
                    span: span.into(),
                });
            }
            let mut retry = self.modules[module].typed.policy(&policy)?.retry.clone();
            retry.policy = Some(written);
            return Some(retry);
        }
        let count = self.count(&r.count, cx, "`retry`");
        let mut backoff = typed::Backoff {
            kind: typed::BackoffKind::Fixed,
            delay: None,
            max: None,
        };
        if let Some(b) = &r.backoff {
            let name = b.callee.name.name.as_str();
            const POLICIES: &[(&str, typed::BackoffKind)] = &[
                ("fixed", typed::BackoffKind::Fixed),
                ("linear", typed::BackoffKind::Linear),
                ("exponential", typed::BackoffKind::Exponential),
            ];
            if let Some((_, kind)) = POLICIES.iter().find(|(n, _)| *n == name) {
                backoff.kind = *kind;
                let slots = self.bind_args(
                    name,
                    "backoff",
                    &["delay", "max"],
                    &[true, false],
                    &b.args,
                    b.span,
                );
                self.unbound_args(&b.args, &slots, cx);
                for (pname, arg) in ["delay", "max"].iter().zip(&slots) {
                    if let Some(arg) = arg {
                        let d = self.expect(
                            &arg.value,
                            cx,
                            &Type::Duration,
                            &format!("`{pname}` of `{name}`"),
                        );
                        if *pname == "delay" {
                            backoff.delay = Some(d);
                        } else {
                            backoff.max = Some(d);
                        }
                    }
                }
            } else {
                let help = match did_you_mean(name, POLICIES.iter().map(|(n, _)| *n)) {
                    Some(s) => format!("did you mean `{s}`? the policies are fixed, linear and exponential"),
                    None => "the policies are `fixed(delay)`, `linear(delay)` and `exponential(delay, max: d)`".to_string(),
                };
                self.error(CheckError::UnknownBackoff {
                    name: name.to_string(),
                    span: b.callee.span.into(),
                    help: Some(help),
                });
            }
        }
        let condition = r.condition.as_ref().map(|cond| {
            self.scope.push();
            self.scope
                .declare("exit_code", Type::Int, EntryKind::Local, cond.span);
            self.scope
                .declare("timed_out", Type::Bool, EntryKind::Local, cond.span);
            self.scope
                .declare("attempt", Type::Int, EntryKind::Local, cond.span);
            let c = self.condition(cond, cx);
            self.scope.pop(|_| false);
            c
        });
        Some(typed::Retry {
            count,
            backoff,
            jitter: r.jitter.is_some(),
            condition,
            policy: None,
        })
    }
}

/// Notes keyword `kw` at `span` in `seen` and returns where it was last seen before, if it
/// was (as a map's `insert` would). A step has a handful of attributes and clauses, and
/// this runs for every step: a list, not a map.
pub(super) fn repeat_of(
    seen: &mut Vec<(&'static str, Span)>,
    kw: &'static str,
    span: Span,
) -> Option<Span> {
    match seen.iter_mut().find(|(k, _)| *k == kw) {
        Some((_, at)) => Some(std::mem::replace(at, span)),
        None => {
            seen.push((kw, span));
            None
        }
    }
}
