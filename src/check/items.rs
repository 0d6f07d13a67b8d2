//! Checking a module's items: constants, policies, tasks and their parameters, the
//! types written in them, and the tasks and workflows a step may call.

use rustc_hash::FxHashMap as HashMap;

use super::error::{CheckError, CheckWarning};
use super::expr::{Entry, EntryKind, ExprCx, Place};
use super::module::Exports;
use super::types::{Type, TYPE_NAMES};
use super::{ParamSig, Signature};
use crate::ast::{self, Attr, AttrKind, Item};
use crate::diagnostics::{did_you_mean, Diagnostics};
use crate::source::Span;
use crate::typed;

use super::attrs::AttrPlace;
use super::workflow::{workflow_outputs, Checker};

impl Checker<'_> {
    /// Checks every item of a file and returns what it exports.
    pub(super) fn check_items(&mut self, file: &ast::File) -> Exports {
        self.module_duplicates(file);
        // Signatures first: tasks and workflows may be used before they are defined.
        for item in &file.items {
            match item {
                Item::Task(task) => {
                    let sig = self.signature(
                        "task",
                        &task.name.name,
                        &task.params,
                        &task.body,
                        &task.docs,
                    );
                    self.exports
                        .tasks
                        .entry(task.name.name.clone())
                        .or_insert(sig);
                }
                Item::Workflow(wf) => {
                    // Its `outputs` blocks, as the attribute a step would declare them with.
                    let outputs = [ast::Attr {
                        kind: AttrKind::Outputs(workflow_outputs(wf).cloned().collect()),
                        span: wf.span,
                        keyword: wf.name.span,
                    }];
                    let sig =
                        self.signature("workflow", &wf.name.name, &wf.params, &outputs, &wf.docs);
                    self.exports
                        .workflows
                        .entry(wf.name.name.clone())
                        .or_insert(sig);
                }
                _ => {}
            }
        }
        for item in &file.items {
            if let Item::Let(binding) = item {
                let mut cx = ExprCx::new(Place::Start, format!("constant `{}`", binding.name.name));
                let (value, ty) = self.binding_value(binding, &mut cx);
                self.exports
                    .consts
                    .insert(binding.name.name.clone(), ty.clone());
                let module = self.module_index();
                self.scope.declare(
                    &binding.name.name,
                    ty.clone(),
                    EntryKind::Const(module),
                    binding.name.span,
                );
                self.typed.consts.push(typed::Const {
                    name: binding.name.name.clone(),
                    docs: binding.docs.0.clone(),
                    span: self.at(binding.name.span),
                    ty,
                    value,
                });
            }
        }
        for item in &file.items {
            if let Item::Policy(p) = item {
                let mut cx = ExprCx::new(Place::Start, format!("policy `{}`", p.name.name));
                if let Some(retry) = self.retry(&p.retry, &mut cx) {
                    self.typed.policies.push(typed::Policy {
                        name: p.name.name.clone(),
                        docs: p.docs.0.clone(),
                        span: self.at(Span::new(p.name.span.start as usize, p.span.end as usize)),
                        retry,
                    });
                }
            }
        }
        for item in &file.items {
            if let Item::Task(task) = item {
                self.check_task(task);
            }
        }
        for item in &file.items {
            if let Item::Workflow(wf) = item {
                self.check_workflow(wf);
            }
        }
        std::mem::replace(
            &mut self.exports,
            Exports {
                tasks: HashMap::default(),
                workflows: HashMap::default(),
                consts: HashMap::default(),
            },
        )
    }

    pub(super) fn module_duplicates(&mut self, file: &ast::File) {
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for item in &file.items {
            let name = match item {
                Item::Import(i) => &i.alias,
                Item::Workflow(w) => &w.name,
                Item::Task(t) => &t.name,
                Item::Let(b) => &b.name,
                Item::Policy(p) => &p.name,
            };
            if let Some(first) = seen.insert(&name.name, name.span) {
                self.error(CheckError::Duplicate {
                    name: name.name.clone(),
                    span: name.span.into(),
                    first: first.into(),
                });
            }
        }
    }

    /// Resolves a written type.
    pub(super) fn resolve_type(&mut self, t: &ast::TypeExpr) -> Type {
        if let Some(fields) = &t.fields {
            return self.resolve_record_type(t, fields);
        }
        let name = t.name.name.as_str();
        let generic = matches!(name, "list" | "map");
        match (&t.arg, generic) {
            (None, true) => {
                self.error(CheckError::TypeArity {
                    message: format!("`{name}` needs an element type"),
                    span: t.span.into(),
                    help: Some(format!("write `{name}<string>`, `{name}<int>`, ...")),
                });
                return Type::Unknown;
            }
            (Some(_), false) if TYPE_NAMES.contains(&name) && name != "record" => {
                self.error(CheckError::TypeArity {
                    message: format!("`{name}` takes no type argument"),
                    span: t.span.into(),
                    help: Some(format!("write just `{name}`")),
                });
                return Type::Unknown;
            }
            _ => {}
        }
        match name {
            "record" => {
                self.error(CheckError::TypeArity {
                    message: "`record` needs its fields".to_string(),
                    span: t.span.into(),
                    help: Some("write `record { name: string, replicas: int }`".to_string()),
                });
                Type::Unknown
            }
            "string" => Type::String,
            "int" => Type::Int,
            "float" => Type::Float,
            "bool" => Type::Bool,
            "duration" => Type::Duration,
            "secret" => Type::Secret,
            "list" | "map" => {
                let inner = t
                    .arg
                    .as_ref()
                    .map_or(Type::Unknown, |a| self.resolve_type(a));
                if name == "list" {
                    Type::List(Box::new(inner))
                } else {
                    Type::Map(Box::new(inner))
                }
            }
            _ => {
                let help = match did_you_mean(name, TYPE_NAMES.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the types are: {}", TYPE_NAMES.join(", ")),
                };
                self.error(CheckError::UnknownType {
                    name: name.to_string(),
                    span: t.name.span.into(),
                    help: Some(help),
                });
                Type::Unknown
            }
        }
    }

    /// Resolves `record { name: type, ... }`: a data record with these fields.
    fn resolve_record_type(&mut self, t: &ast::TypeExpr, fields: &[ast::FieldType]) -> Type {
        if fields.is_empty() {
            self.error(CheckError::TypeArity {
                message: "a record needs at least one field".to_string(),
                span: t.span.into(),
                help: Some("write `record { name: string, replicas: int }`".to_string()),
            });
            return Type::Unknown;
        }
        let mut seen: HashMap<&str, Span> = HashMap::default();
        let mut resolved = Vec::with_capacity(fields.len());
        for f in fields {
            if let Some(first) = seen.insert(&f.name.name, f.name.span) {
                self.error(CheckError::DuplicateField {
                    name: f.name.name.clone(),
                    span: f.name.span.into(),
                    first: first.into(),
                });
            }
            resolved.push((f.name.name.clone(), self.resolve_type(&f.ty)));
        }
        super::types::data_record(resolved)
    }

    /// A task's or workflow's interface. Type errors in it are reported when its body is
    /// checked, so they are resolved quietly here.
    pub(super) fn signature(
        &mut self,
        kind: &'static str,
        name: &str,
        params: &[ast::Param],
        body: &[Attr],
        docs: &ast::Docs,
    ) -> Signature {
        let mut quiet = Diagnostics::new();
        let saved = std::mem::replace(self.diags, Diagnostics::new());
        let params = params
            .iter()
            .map(|p| ParamSig {
                name: p.name.name.clone(),
                ty: self.resolve_type(&p.ty),
                has_default: p.default.is_some(),
            })
            .collect();
        let outputs = self.declared_outputs(body);
        std::mem::swap(self.diags, &mut quiet);
        *self.diags = saved;
        Signature {
            kind,
            name: name.to_string(),
            params,
            outputs,
            docs: docs.0.clone(),
            gate: super::workflow::is_gate(body),
        }
    }

    pub(super) fn declared_outputs(&mut self, attrs: &[Attr]) -> Vec<(String, Type)> {
        let mut outputs = Vec::new();
        for attr in attrs {
            if let AttrKind::Outputs(decls) = &attr.kind {
                for d in decls {
                    let ty = self.resolve_type(&d.ty);
                    outputs.push((d.name.name.clone(), ty));
                }
            }
        }
        outputs
    }

    /// Checks parameters (types, defaults), declares them in the current frame and gives
    /// their resolved forms.
    pub(super) fn check_params(&mut self, params: &[ast::Param]) -> Vec<typed::Param> {
        let mut seen: HashMap<&str, Span> = HashMap::default();
        let mut resolved = Vec::with_capacity(params.len());
        for p in params {
            let ty = self.resolve_type(&p.ty);
            let mut default_value = None;
            if let Some(default) = &p.default {
                let mut cx = ExprCx::new(
                    Place::Start,
                    format!("the default of parameter `{}`", p.name.name),
                );
                let typed_default = self.expr_expecting(default, &mut cx, &ty);
                let found = typed_default.ty.clone();
                default_value = Some(typed_default);
                if !found.fits(&ty) {
                    if ty == Type::Duration && matches!(default.kind, ast::ExprKind::Int(_)) {
                        self.require(default, &found, &ty, &cx, "");
                    } else {
                        self.error(CheckError::BadDefault {
                            param: p.name.name.clone(),
                            expected: ty.to_string(),
                            found: found.to_string(),
                            span: default.span.into(),
                            ty: p.ty.span.into(),
                        });
                    }
                }
            }
            if let Some(first) = seen.insert(&p.name.name, p.name.span) {
                self.error(CheckError::Duplicate {
                    name: p.name.name.clone(),
                    span: p.name.span.into(),
                    first: first.into(),
                });
                continue;
            }
            self.scope
                .declare(&p.name.name, ty.clone(), EntryKind::Param, p.name.span);
            resolved.push(typed::Param {
                name: p.name.name.clone(),
                ty,
                default: default_value,
                docs: p.docs.0.clone(),
                span: self.at(p.span),
            });
        }
        resolved
    }

    /// Closes a frame and warns about what in it was never read.
    pub(super) fn close_frame(&mut self) {
        let declared = |e: &Entry| {
            matches!(
                e.kind,
                EntryKind::Param | EntryKind::Let | EntryKind::Secret
            )
        };
        for entry in self.scope.pop(declared) {
            let kind = match entry.kind {
                EntryKind::Param => "parameter",
                EntryKind::Let => "let binding",
                EntryKind::Secret => "secret",
                _ => continue,
            };
            if !entry.used && !entry.name.starts_with('_') {
                self.warning(CheckWarning::Unused {
                    kind,
                    name: entry.name,
                    span: entry.span.into(),
                });
            }
        }
    }

    pub(super) fn check_task(&mut self, task: &ast::Task) {
        self.scope.push();
        let params = self.check_params(&task.params);
        let mut cx = ExprCx::new(
            Place::Task,
            format!("the command line of task `{}`", task.name.name),
        );
        let place = AttrPlace::Task {
            name: &task.name.name,
        };
        let summary = self.check_attrs(&task.body, place, &mut cx);
        self.actions(&task.body, "task", &task.name, false);
        self.typed.tasks.push(typed::Task {
            name: task.name.name.clone(),
            span: self.at(task.name.span),
            docs: task.docs.0.clone(),
            params,
            attrs: summary.attrs,
        });
        // A native action receives every parameter, so none of them is unused.
        if task
            .body
            .iter()
            .any(|a| matches!(a.kind, AttrKind::Native(_)))
        {
            for p in &task.params {
                if let Some(id) = self.scope.lookup(&p.name.name) {
                    self.scope.mark_used(id);
                }
            }
        }
        self.close_frame();
    }

    /// Checks the value of a `let` or `secret`; gives the value and the binding's type.
    pub(super) fn binding_value(
        &mut self,
        b: &ast::Binding,
        cx: &mut ExprCx,
    ) -> (typed::Expr, Type) {
        match b.kind {
            ast::BindingKind::Let => {
                let declared = b.ty.as_ref().map(|t| self.resolve_type(t));
                let value = match &declared {
                    Some(d) => self.expr_expecting(&b.value, cx, d),
                    None => self.expr(&b.value, cx),
                };
                let ty = match declared {
                    Some(declared) => {
                        self.require(
                            &b.value,
                            &value.ty,
                            &declared,
                            cx,
                            &format!("the value of `{}`", b.name.name),
                        );
                        declared
                    }
                    None => value.ty.clone(),
                };
                (value, ty)
            }
            ast::BindingKind::Secret => {
                cx.allow_secret = true;
                let value = self.expr(&b.value, cx);
                if !value.ty.fits(&Type::Secret) {
                    self.error(CheckError::Mismatch {
                        expected: "string".to_string(),
                        found: value.ty.to_string(),
                        context: "a secret must be `string`".to_string(),
                        span: b.value.span.into(),
                        help: None,
                    });
                }
                (value, Type::Secret)
            }
        }
    }

    /// Finds the task or workflow a step calls; reports when `report` is set.
    pub(super) fn callee(&mut self, path: &ast::Path, report: bool) -> Option<Signature> {
        match &path.module {
            None => {
                let name = &path.name.name;
                if let Some(sig) = self
                    .exports
                    .tasks
                    .get(name)
                    .or_else(|| self.exports.workflows.get(name))
                {
                    return Some(sig.clone());
                }
                if report {
                    let candidates: Vec<&str> = self
                        .exports
                        .tasks
                        .keys()
                        .chain(self.exports.workflows.keys())
                        .map(String::as_str)
                        .collect();
                    let help = match did_you_mean(name, candidates.iter().copied()) {
                        Some(s) => Some(format!("did you mean `{s}`?")),
                        None if crate::stdlib::builtins::lookup(name).is_some() => Some(format!(
                            "`{name}` is a function, not a task; a step calls a task or workflow"
                        )),
                        None => None,
                    };
                    self.error(CheckError::UnknownCallee {
                        name: name.clone(),
                        span: path.span.into(),
                        help,
                    });
                }
                None
            }
            Some(alias) => {
                let id = self.scope.lookup(&alias.name);
                let module = id.and_then(|id| match self.scope.entry(id).kind {
                    EntryKind::Module(m) => Some(m),
                    _ => None,
                });
                if report {
                    if let Some(id) = id {
                        self.scope.mark_used(id);
                    }
                }
                let Some(m) = module else {
                    if report && id.is_none() {
                        let help = did_you_mean(&alias.name, self.scope.names())
                            .map(|s| format!("did you mean `{s}`?"));
                        self.error(CheckError::UnknownName {
                            name: alias.name.clone(),
                            span: alias.span.into(),
                            help: help.or_else(|| {
                                Some(format!(
                                    "import it: `import \"std/{}\" as {}`",
                                    alias.name, alias.name
                                ))
                            }),
                        });
                    }
                    return None;
                };
                let module = &self.modules[m];
                let name = &path.name.name;
                if let Some(sig) = module
                    .tasks
                    .get(name)
                    .or_else(|| module.workflows.get(name))
                {
                    return Some(sig.clone());
                }
                if report && module.consts.contains_key(name) {
                    self.error(CheckError::UnknownCallee {
                        name: format!("{}.{name}", alias.name),
                        span: path.span.into(),
                        help: Some(format!(
                            "`{}.{name}` is a constant; a step calls a task or workflow",
                            alias.name
                        )),
                    });
                    return None;
                }
                if report {
                    let help = self.member_help(m, name);
                    self.error(CheckError::UnknownMember {
                        module: alias.name.clone(),
                        member: name.clone(),
                        span: path.name.span.into(),
                        help,
                    });
                }
                None
            }
        }
    }
}
