//! Checking one step: its clauses (`after`, `when`, `for`, `on_failure_of`), its call of a
//! task or workflow, its `run` command (compiled here), and its resolved form with every
//! attribute merged from the step, its task and `defaults`.

use rustc_hash::FxHashMap as HashMap;

use super::consts::{self, Const};
use super::error::{CheckError, CheckWarning};
use super::expr::{EntryKind, ExprCx, Place};
use super::types::{Type, GATE_FIELDS, STEP_FIELDS};
use crate::ast::{self, Attr, Clause, Expr};
use crate::command::{self, CommandError, TextPart};
use crate::diagnostics::did_you_mean;
use crate::source::Span;
use crate::typed;

use super::attrs::AttrPlace;
use super::workflow::Checker;

/// The name of the step with this index.
fn step_name(step_ids: &HashMap<&str, usize>, index: usize) -> String {
    (step_ids.iter())
        .find(|(_, &i)| i == index)
        .map_or_else(String::new, |(n, _)| n.to_string())
}

/// Whether a condition reads a loop variable (or an instance's result), so that it can
/// only be decided instance by instance.
fn reads_instance(e: &typed::Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        found |= matches!(
            x.kind,
            typed::ExprKind::Ref(typed::Ref::Local(_) | typed::Ref::Instance(_))
        );
    });
    found
}

/// What a step's call resolves to.
pub(super) enum Called {
    /// A task, with the arguments bound, and the task's own attributes.
    Task(typed::TaskCall, Box<typed::Attrs>),
    /// A workflow (inlined into the caller before anything runs), with its declared
    /// outputs.
    Workflow(Box<typed::WorkflowCall>, Vec<typed::Output>),
}

impl Checker<'_> {
    pub(super) fn check_step(
        &mut self,
        step: &ast::Step,
        index: usize,
        step_ids: &HashMap<&str, usize>,
        defaults: &typed::Attrs,
    ) -> typed::Step {
        let name = step.name.name.as_str();
        let place = AttrPlace::Step {
            name,
            is_call: step.call.is_some(),
        };
        let mut cx = ExprCx::new(Place::Step(index), String::new());
        cx.describe_text("the command line of ", place);
        let mut deps: Vec<typed::Dep> = Vec::new();
        let mut compensates = None;
        let mut never = false;
        let mut when = None;

        self.scope.push();
        // The loop variables are in scope for the whole step, so `for` goes first.
        let mut fan_out = self.fan_out_clauses(step, step_ids, &mut cx, &mut deps);
        let mut seen: Vec<(&'static str, Span)> = Vec::new();
        for clause in &step.clauses {
            let (kw, span) = match clause {
                Clause::After(_, s) => ("after", *s),
                Clause::When(_, s) => ("when", *s),
                Clause::For(f) => ("for", f.span),
                Clause::Compensates(_, s) => ("on_failure_of", *s),
            };
            // Several `for` clauses make a matrix.
            if let Some(first) =
                super::attrs::repeat_of(&mut seen, kw, span).filter(|_| kw != "for")
            {
                self.error(CheckError::Repeated {
                    what: kw.to_string(),
                    span: span.into(),
                    first: first.into(),
                });
            }
            match clause {
                Clause::After(names, _) => {
                    for n in names {
                        match self.step_ref(n, step_ids) {
                            Some(target) => deps.push(typed::Dep {
                                step: typed::StepId::new(target),
                                span: self.at(n.span),
                                kind: typed::DepKind::After,
                            }),
                            None => continue,
                        }
                    }
                }
                Clause::When(cond, _) => {
                    let typed = self.condition(cond, &mut cx);
                    // A condition on the loop variables is decided instance by instance.
                    match fan_out.as_mut() {
                        Some(fan) if reads_instance(&typed) => fan.instance_when = Some(typed),
                        _ => when = Some(Box::new(typed)),
                    }
                    if consts::eval(cond) == Some(Const::Bool(false)) {
                        never = true;
                        self.warning(CheckWarning::AlwaysFalse {
                            step: name.to_string(),
                            span: cond.span.into(),
                        });
                    }
                }
                Clause::For(_) => {}
                Clause::Compensates(target, s) => {
                    if let Some(t) = self.step_ref(target, step_ids) {
                        compensates = Some((t, *s));
                    }
                }
            }
        }

        let called = match &step.call {
            Some(call) => self.step_call(call, &mut cx),
            None => None,
        };
        let mut summary = self.check_attrs(&step.attrs, place, &mut cx);
        let checkpoint = self.step_checkpoint(step, summary.checkpoint.clone());
        self.actions(&step.attrs, "step", &step.name, step.call.is_some());
        self.fan_out_budget(step, &summary.attrs, fan_out.as_deref_mut(), &called);
        self.scope.pop(|_| false);
        // After the step's frame: a route is chosen once for the whole step, so it does not
        // see the loop variable.
        let routes = self.failure_routes(
            name,
            index,
            std::mem::take(&mut summary.routes),
            step_ids,
            matches!(called, Some(Called::Workflow(..))),
        );

        for (target, span, output) in cx.deps {
            deps.push(typed::Dep {
                step: typed::StepId::new(target),
                span: self.at(span),
                kind: if output {
                    typed::DepKind::Output
                } else {
                    typed::DepKind::Data
                },
            });
        }

        // The step's own attributes, then its task's, then the workflow's `defaults`.
        let (call, mut attrs) = match called {
            Some(Called::Task(call, task_attrs)) => {
                (Some(Box::new(call)), summary.attrs.or(&task_attrs))
            }
            Some(Called::Workflow(call, outputs)) => {
                let mut attrs = summary.attrs;
                attrs.action = Some(typed::Action::Workflow(call));
                attrs.outputs = Some(outputs);
                (None, attrs)
            }
            None => (None, summary.attrs),
        };
        let own = typed::Own {
            retry: attrs.retry.is_some(),
            timeout: attrs.timeout.is_some(),
            env: attrs.env.is_some(),
            on_failure: attrs.on_failure.is_some() || routes.written,
            priority: attrs.priority.is_some(),
            dir: attrs.dir.is_some(),
        };
        attrs = attrs.or(defaults);
        let link = |this: &Self, (target, span): (usize, Span)| typed::Link {
            step: typed::StepId::new(target),
            span: this.at(span),
        };
        // The routes a step writes are its whole policy: with none taken, fail_fast.
        let on_failure = match routes.written {
            true => routes.otherwise.unwrap_or_default(),
            false => attrs.on_failure.unwrap_or_default(),
        };
        typed::Step {
            id: typed::StepId::new(index),
            name: name.to_string(),
            span: self.at(step.name.span),
            docs: step.docs.0.clone(),
            finally: step.finally.is_some(),
            fan_out,
            when,
            never,
            deps,
            compensates: compensates.map(|c| link(self, c)),
            call,
            action: attrs
                .action
                .unwrap_or_else(|| typed::Action::Sleep(typed::Expr::error(self.at(step.span)))),
            settings: typed::Settings {
                retry: attrs.retry,
                timeout: attrs.timeout,
                env: attrs.env.unwrap_or_default(),
                on_failure,
                routes: routes.routes,
                own,
                priority: attrs.priority,
                dir: attrs.dir,
            },
            outputs: attrs.outputs.unwrap_or_default(),
            checkpoint: checkpoint.map(Box::new),
        }
    }

    /// The `for` clauses of a step: one (a fan-out), several (a matrix, whose lists may
    /// read the variables before them, with one `max` after the last), or a first one over
    /// the instances of a fan-out step (a per-instance chain). Declares the loop variables.
    fn fan_out_clauses(
        &mut self,
        step: &ast::Step,
        step_ids: &HashMap<&str, usize>,
        cx: &mut ExprCx,
        deps: &mut Vec<typed::Dep>,
    ) -> Option<Box<typed::FanOut>> {
        let fors: Vec<&ast::ForEach> = (step.clauses.iter())
            .filter_map(|c| match c {
                Clause::For(each) => Some(&**each),
                _ => None,
            })
            .collect();
        let last = fors.last()?;
        let mut fan: Option<typed::FanOut> = None;
        for (n, each) in fors.iter().enumerate() {
            if let Some(first) = fors[..n].iter().find(|f| f.var.name == each.var.name) {
                self.error(CheckError::DuplicateLoopVar {
                    name: each.var.name.clone(),
                    step: step.name.name.clone(),
                    span: each.var.span.into(),
                    first: first.var.span.into(),
                });
            }
            let max = each.max.as_ref().map(|max| {
                if n + 1 < fors.len() {
                    self.error(CheckError::MaxBeforeLastFor {
                        step: step.name.name.clone(),
                        value: self.text(max.span).to_string(),
                        span: max.span.into(),
                        last: last.span.into(),
                    });
                }
                self.count(max, cx, "`max`")
            });
            let (list, elem, kind) = match self.iterated_step(&each.list) {
                Some(target) if n > 0 => {
                    self.error(CheckError::ChainNotFirst {
                        target: step_name(step_ids, target),
                        step: step.name.name.clone(),
                        var: each.var.name.clone(),
                        span: each.span.into(),
                    });
                    let list = self.expr(&each.list, cx);
                    (list, Type::Unknown, EntryKind::Local)
                }
                Some(target) => {
                    let list = self.expr(&each.list, cx);
                    // The instances come from the step: a dependency even if `w` is unread.
                    deps.push(typed::Dep {
                        step: typed::StepId::new(target),
                        kind: typed::DepKind::Data,
                        span: self.at(each.list.span),
                    });
                    let ty = self.instance_type(target, step_ids, each.list.span);
                    (list, ty, EntryKind::Instance(target))
                }
                None => {
                    let list = self.expr(&each.list, cx);
                    let elem = match &list.ty {
                        Type::List(e) => (**e).clone(),
                        Type::Unknown => Type::Unknown,
                        other => {
                            self.error(CheckError::Mismatch {
                                expected: "list".to_string(),
                                found: other.to_string(),
                                context: "`for` iterates over a list".to_string(),
                                span: each.list.span.into(),
                                help: None,
                            });
                            Type::Unknown
                        }
                    };
                    (list, elem, EntryKind::Local)
                }
            };
            self.scope
                .declare(&each.var.name, elem, kind, each.var.span);
            match &mut fan {
                None => {
                    let over = match kind {
                        EntryKind::Instance(target) => Some(typed::StepId::new(target)),
                        _ => None,
                    };
                    fan = Some(typed::FanOut {
                        var: each.var.name.clone(),
                        list,
                        max,
                        instance_when: None,
                        keep_instances: false,
                        matrix: Vec::new(),
                        over,
                        counterparts: Vec::new(),
                        max_per: Vec::new(),
                        max_failures: None,
                    });
                }
                Some(fan) => {
                    fan.matrix.push(typed::Axis {
                        var: each.var.name.clone(),
                        list,
                    });
                    if max.is_some() {
                        fan.max = max;
                    }
                }
            }
        }
        let mut fan = fan?;
        if let Some(over) = fan.over {
            let prefix = self.step_dims(over.index(), step_ids, 0);
            fan.counterparts
                .push(typed::Counterpart { step: over, prefix });
        }
        Some(Box::new(fan))
    }

    /// The step a `for` iterates when its list is the bare name of a step.
    fn iterated_step(&self, list: &Expr) -> Option<usize> {
        let ast::ExprKind::Name(name) = &list.kind else {
            return None;
        };
        let id = self.scope.lookup(name)?;
        match self.scope.entry(id).kind {
            EntryKind::Step(target) => Some(target),
            _ => None,
        }
    }

    /// The type of one instance's result of step `target`, iterated at `span`: its
    /// built-in fields and outputs, one value each, and its loop variables. `Unknown`
    /// when it was not checked yet (it is on a cycle, reported by lower).
    fn instance_type(
        &mut self,
        target: usize,
        step_ids: &HashMap<&str, usize>,
        span: Span,
    ) -> Type {
        let name = step_name(step_ids, target);
        match self.instance_record(target, &name, 0) {
            Ok(ty) => ty,
            Err(Some(var)) => {
                self.error(CheckError::LoopVarClash {
                    target: name,
                    var,
                    span: span.into(),
                });
                Type::Unknown
            }
            Err(None) => {
                self.error(CheckError::NotFannedOut {
                    help: Some(format!(
                        "read its result as it is (`{name}.stdout`), or give `{name}` a `for`"
                    )),
                    target: name,
                    span: span.into(),
                });
                Type::Unknown
            }
        }
    }

    /// [`Self::instance_type`] without reports: `Err(None)` when the step does not fan
    /// out, `Err(Some(var))` when its loop variable `var` has the name of a field.
    fn instance_record(
        &self,
        target: usize,
        name: &str,
        depth: usize,
    ) -> Result<Type, Option<String>> {
        let Some(done) = self.checked_steps.get(target).and_then(Option::as_ref) else {
            return Ok(Type::Unknown);
        };
        let fan = done.fan_out.as_deref().ok_or(None)?;
        let outputs: Vec<(String, Type)> = (done.outputs.iter())
            .map(|o| (o.name.clone(), o.ty.clone()))
            .collect();
        let elem = |list: &typed::Expr| match &list.ty {
            Type::List(e) => (**e).clone(),
            _ => Type::Unknown,
        };
        let first = match fan.over {
            // A chain of chains: `w.v` is the instance of the step before.
            Some(up) if depth < self.checked_steps.len() => {
                let up_name = match &fan.list.ty {
                    Type::Record(r) => match &r.kind {
                        super::types::RecordKind::Step(n) => n.clone(),
                        _ => String::new(),
                    },
                    _ => String::new(),
                };
                self.instance_record(up.index(), &up_name, depth + 1)
                    .unwrap_or(Type::Unknown)
            }
            Some(_) => Type::Unknown,
            None => elem(&fan.list),
        };
        let mut vars = vec![(fan.var.clone(), first)];
        vars.extend(fan.matrix.iter().map(|a| (a.var.clone(), elem(&a.list))));
        let gate = matches!(done.action, typed::Action::Approve(_));
        if let Some((var, _)) = vars.iter().find(|(v, _)| {
            STEP_FIELDS.contains(&v.as_str())
                || (gate && GATE_FIELDS.contains(&v.as_str()))
                || outputs.iter().any(|(o, _)| o == v)
        }) {
            return Err(Some(var.clone()));
        }
        Ok(Type::instance_result(name, &outputs, &vars, gate))
    }

    /// How many entries an instance index of step `i` has, from its `for` clauses as
    /// written (a `for` over a step counts that step's).
    fn step_dims(&self, i: usize, step_ids: &HashMap<&str, usize>, depth: usize) -> usize {
        let Some(done) = self.checked_steps.get(i).and_then(Option::as_ref) else {
            return 1;
        };
        match done.fan_out.as_deref() {
            None => 0,
            Some(fan) => {
                let first = match fan.over {
                    Some(up) if depth < step_ids.len() => {
                        self.step_dims(up.index(), step_ids, depth + 1)
                    }
                    _ => 1,
                };
                first + fan.matrix.len()
            }
        }
    }

    /// A step's `max_failures` goes to its fan-out: on a step that does not fan out it is
    /// E0219, on a call of a workflow E0220.
    fn fan_out_budget(
        &mut self,
        step: &ast::Step,
        attrs: &typed::Attrs,
        fan_out: Option<&mut typed::FanOut>,
        called: &Option<Called>,
    ) {
        let Some(n) = &attrs.max_failures else {
            return;
        };
        let span = step
            .attrs
            .iter()
            .find(|a| matches!(a.kind, ast::AttrKind::MaxFailures(_)))
            .map_or(step.name.span, |a| a.keyword);
        match (fan_out, called) {
            (None, _) => self.error(CheckError::MaxFailuresWithoutFanOut {
                step: step.name.name.clone(),
                span: span.into(),
            }),
            (Some(_), Some(Called::Workflow(call, _))) => {
                self.error(CheckError::MaxFailuresOnWorkflowCall {
                    step: step.name.name.clone(),
                    callee: call.callee.clone(),
                    span: span.into(),
                })
            }
            (Some(fan), _) => fan.max_failures = Some(n.clone()),
        }
    }

    /// A step's checkpoint label, refused (E0214) on a `finally` or compensation step: a
    /// checkpoint marks how far the ordinary steps got, which those do not say.
    fn step_checkpoint(
        &mut self,
        step: &ast::Step,
        checkpoint: Option<typed::Checkpoint>,
    ) -> Option<typed::Checkpoint> {
        let attr = step
            .attrs
            .iter()
            .find(|a| matches!(a.kind, ast::AttrKind::Checkpoint(_)))?;
        let compensates = step
            .clauses
            .iter()
            .any(|c| matches!(c, Clause::Compensates(..)));
        let (place, help) = if step.finally.is_some() {
            (
                "a `finally` step",
                "a checkpoint marks how far the ordinary steps got; `finally` steps run after all of them",
            )
        } else if compensates {
            (
                "a compensation step",
                "a compensation undoes a step: label the step it undoes instead",
            )
        } else {
            return checkpoint;
        };
        self.error(CheckError::NotAllowedHere {
            attr: "checkpoint".to_string(),
            place: place.to_string(),
            span: attr.keyword.into(),
            help: Some(help.to_string()),
        });
        None
    }

    /// Resolves a step name written in `after`, `on_failure_of` or `on_failure`.
    pub(super) fn step_ref(
        &mut self,
        n: &ast::Ident,
        step_ids: &HashMap<&str, usize>,
    ) -> Option<usize> {
        if let Some(&i) = step_ids.get(n.name.as_str()) {
            if let Some(id) = self.scope.lookup(&n.name) {
                self.scope.mark_used(id);
            }
            return Some(i);
        }
        let help = match did_you_mean(&n.name, step_ids.keys().copied()) {
            Some(s) => Some(format!("did you mean `{s}`?")),
            None if self.scope.lookup(&n.name).is_some() => {
                Some(format!("`{}` is a value, not a step", n.name))
            }
            None => None,
        };
        self.error(CheckError::UnknownStep {
            name: n.name.clone(),
            span: n.span.into(),
            help,
        });
        None
    }

    /// Checks a step's call and resolves it: the task with every argument bound, or the
    /// workflow called.
    pub(super) fn step_call(&mut self, call: &ast::Call, cx: &mut ExprCx) -> Option<Called> {
        let Some(sig) = self.callee(&call.callee, true) else {
            for a in &call.args {
                self.expr(&a.value, cx);
            }
            return None;
        };
        let module = match &call.callee.module {
            None => self.module_index(),
            Some(alias) => match self
                .scope
                .lookup(&alias.name)
                .map(|id| self.scope.entry(id).kind)
            {
                Some(EntryKind::Module(m)) => m,
                _ => return None,
            },
        };
        let names: Vec<&str> = sig.params.iter().map(|p| p.name.as_str()).collect();
        let required: Vec<bool> = sig.params.iter().map(|p| !p.has_default).collect();
        let callee = self.text(call.callee.span).to_string();
        let slots = self.bind_args(&callee, sig.kind, &names, &required, &call.args, call.span);
        self.unbound_args(&call.args, &slots, cx);
        let mut bound = Vec::with_capacity(sig.params.len());
        for (p, slot) in sig.params.iter().zip(slots) {
            if let Some(arg) = slot {
                let saved = cx.allow_secret;
                cx.allow_secret = p.ty.is_secret();
                let context = format!("argument `{}` of `{callee}`", p.name);
                let text_place = std::mem::replace(
                    &mut cx.text_place,
                    format!("parameter `{}` of `{callee}`", p.name),
                );
                bound.push((
                    p.name.clone(),
                    Some(self.expect(&arg.value, cx, &p.ty, &context)),
                ));
                cx.text_place = text_place;
                cx.allow_secret = saved;
            } else {
                bound.push((p.name.clone(), None));
            }
        }
        let name = call.callee.name.name.clone();
        if sig.kind == "workflow" {
            let outputs = sig
                .outputs
                .iter()
                .map(|(name, ty)| typed::Output {
                    name: name.clone(),
                    docs: Vec::new(),
                    ty: ty.clone(),
                    value: None,
                })
                .collect();
            let call = typed::WorkflowCall {
                callee,
                module,
                name,
                args: bound,
                span: self.at(call.span),
            };
            return Some(Called::Workflow(Box::new(call), outputs));
        }
        let task = if module == self.module_index() {
            self.typed.task(&name)
        } else {
            self.modules.get(module).and_then(|m| m.typed.task(&name))
        }?;
        // A parameter left out takes its default, read in the task module's scope.
        let args = bound
            .into_iter()
            .zip(&task.params)
            .filter_map(|((name, value), param)| {
                Some((name, value.or_else(|| param.default.clone())?))
            })
            .collect();
        Some(Called::Task(
            typed::TaskCall {
                callee,
                module,
                task: name,
                args,
            },
            Box::new(task.attrs.clone()),
        ))
    }

    /// Compiles the text of a `run` into its command shape now, so that a quote left open,
    /// an interpolation the shell would re-read, or an empty command is reported here with
    /// its code, not when the step starts.
    pub(super) fn command(&mut self, text: typed::Expr, span: Span) -> Option<typed::Command> {
        let mut parts = Vec::new();
        let mut values: Vec<typed::Expr> = Vec::new();
        match text.kind {
            typed::ExprKind::Invalid => return None,
            typed::ExprKind::Str(pieces) => {
                for piece in pieces {
                    match piece {
                        typed::StrPart::Text(t) => parts.push(TextPart::Literal(t)),
                        typed::StrPart::Interp(e) => {
                            parts.push(TextPart::Value(values.len()));
                            values.push(e);
                        }
                    }
                }
            }
            // Text that is not a literal is one value: it can never add shell syntax.
            _ => {
                parts.push(TextPart::Value(0));
                values.push(text);
            }
        }
        match command::compile(&parts) {
            Ok(template) => Some(typed::Command { template, values }),
            Err(inner) => {
                let (span, label) = match &inner {
                    CommandError::UnsafePlacement { index, .. }
                    | CommandError::NulInValue { index } => match values.get(*index) {
                        Some(v) if v.span.source == self.source => {
                            (v.span.span, "this value cannot be placed safely")
                        }
                        _ => (span, "in this command"),
                    },
                    CommandError::Reparsed { index, .. } => match values.get(*index) {
                        Some(v) if v.span.source == self.source => {
                            (v.span.span, "this value would be parsed as a command")
                        }
                        _ => (span, "in this command"),
                    },
                    CommandError::UnbalancedQuote { .. } => (span, "a quote here is never closed"),
                    CommandError::EmptyCommand => (span, "no program to start"),
                    _ => (span, "in this command"),
                };
                self.diags.error(
                    self.source,
                    super::CommandAt {
                        inner,
                        span: span.into(),
                        label,
                    },
                );
                None
            }
        }
    }

    /// Reports a constant duration that is zero or negative where only a positive one
    /// makes sense (`timeout`).
    pub(super) fn positive_duration(&mut self, d: &typed::Expr, what: &str) {
        let value = match &d.kind {
            typed::ExprKind::Duration(ms) => Some(*ms as i128),
            typed::ExprKind::Unary(typed::UnOp::Neg, inner) => match inner.kind {
                typed::ExprKind::Duration(ms) => Some(-(ms as i128)),
                _ => None,
            },
            _ => None,
        };
        if let Some(ms) = value.filter(|ms| *ms <= 0) {
            self.error(CheckError::NotPositiveDuration {
                what: what.to_string(),
                value: self.text(d.span.span).to_string(),
                span: d.span.span.into(),
                zero: ms == 0,
            });
        }
    }

    /// Requires a positive int count (`retry`, `max`, `max_parallel`).
    pub(super) fn count(&mut self, e: &Expr, cx: &mut ExprCx, what: &str) -> typed::Expr {
        let typed = self.expect(e, cx, &Type::Int, what);
        if let Some(Const::Int(n)) = consts::eval(e) {
            if n <= 0 {
                let help = (what == "`retry`")
                    .then(|| "to run a step once without retries, remove `retry`".to_string());
                self.error(CheckError::NotPositive {
                    what: what.to_string(),
                    value: n.to_string(),
                    span: e.span.into(),
                    help,
                });
            }
        }
        typed
    }

    /// Counts the actions of a step or task body: exactly one is required.
    pub(super) fn actions(
        &mut self,
        attrs: &[Attr],
        kind: &'static str,
        name: &ast::Ident,
        has_call: bool,
    ) {
        let actions: Vec<&Attr> = attrs.iter().filter(|a| a.kind.is_action()).collect();
        match (has_call, actions.as_slice()) {
            (false, []) => self.error(CheckError::NoAction {
                kind,
                step: name.name.clone(),
                span: name.span.into(),
            }),
            (true, [second, ..]) => self.error(CheckError::ManyActions {
                kind,
                step: name.name.clone(),
                span: second.keyword.into(),
                first: name.span.into(),
            }),
            (false, [first, second, ..]) => self.error(CheckError::ManyActions {
                kind,
                step: name.name.clone(),
                span: second.keyword.into(),
                first: first.keyword.into(),
            }),
            _ => {}
        }
    }
}
