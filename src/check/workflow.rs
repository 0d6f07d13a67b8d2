//! Checking items: module constants, tasks, workflows, their parameters, bindings, steps,
//! clauses and attributes. Step references found here become the dependencies that
//! `lower` turns into graph edges.

use rustc_hash::FxHashMap as HashMap;

use super::consts::{self, Const};
use super::error::{CheckError, CheckWarning};
use super::expr::{EntryKind, ExprCx, Place, Scope};
use super::module::Exports;
use super::types::{Type, STEP_FIELDS, TYPE_NAMES};
use super::{Dep, DepKind, Module, ParamSig, Signature, StepInfo, WorkflowInfo};
use crate::ast::{self, Attr, AttrKind, Clause, Expr, Item, WorkflowItem};
use crate::command::{self, CommandError, TextPart};
use crate::diagnostics::{did_you_mean, Diagnostics};
use crate::source::{SourceId, Span};
use crate::typed;

/// Checks the items of one module.
pub struct Checker<'m> {
    pub(super) source: SourceId,
    text: &'m str,
    /// Modules checked before this one (its imports among them).
    pub modules: &'m [Module],
    diags: &'m mut Diagnostics,
    /// The names in scope.
    pub scope: Scope,
    exports: Exports,
    imports: Vec<(ast::Import, usize)>,
    /// The checked workflows of this module.
    pub workflows: Vec<WorkflowInfo>,
    /// The step names of the workflow being checked, known before they are declared, so
    /// that a parameter default reading one gets E0108 rather than E0101.
    pub pending_steps: std::collections::HashSet<String>,
    /// The REPL's expression to type at the end of one workflow (see [`super::Probe`]).
    pub probe: Option<super::Probe>,
    /// Its type, once checked.
    pub probe_type: Option<Type>,
    /// True for the embedded `std/...` modules, whose tasks may use `native`.
    pub stdlib: bool,
    /// What this module gives the resolved program: constants, policies, tasks.
    pub typed: typed::Module,
    /// The resolved workflows of this module, in source order.
    pub typed_workflows: Vec<typed::Workflow>,
}

/// What a step's call resolves to.
enum Called {
    /// A task, with the arguments bound, and the task's own attributes.
    Task(typed::TaskCall, Box<typed::Attrs>),
    /// A workflow (inlined into the caller before anything runs).
    Workflow {
        /// Its module.
        module: usize,
        /// Its name.
        name: String,
        /// Its declared outputs.
        outputs: Vec<typed::Output>,
    },
}

/// Where a list of attributes stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AttrPlace<'a> {
    /// A step; `is_call` when its action is `= callee(...)`.
    Step { name: &'a str, is_call: bool },
    /// A task body.
    Task { name: &'a str },
    /// A `defaults` block.
    Defaults,
}

impl AttrPlace<'_> {
    fn describe(&self) -> String {
        match self {
            AttrPlace::Step { name, .. } => format!("step `{name}`"),
            AttrPlace::Task { name } => format!("task `{name}`"),
            AttrPlace::Defaults => "`defaults`".to_string(),
        }
    }
}

/// What the attributes of a step say: their typed forms, and the fallback step named.
#[derive(Default)]
struct AttrSummary {
    fallback: Option<ast::Ident>,
    attrs: typed::Attrs,
}

impl<'m> Checker<'m> {
    /// A checker for the module in `source`, whose text is `text`.
    pub fn new(
        source: SourceId,
        text: &'m str,
        modules: &'m [Module],
        diags: &'m mut Diagnostics,
    ) -> Self {
        let mut scope = Scope::default();
        scope.push();
        Checker {
            source,
            text,
            modules,
            diags,
            scope,
            exports: Exports {
                tasks: HashMap::default(),
                workflows: HashMap::default(),
                consts: HashMap::default(),
            },
            imports: Vec::new(),
            workflows: Vec::new(),
            pending_steps: Default::default(),
            probe: None,
            probe_type: None,
            stdlib: false,
            typed: typed::Module {
                source,
                ..typed::Module::default()
            },
            typed_workflows: Vec::new(),
        }
    }

    /// The index this module will have among the checked modules: it is added after all
    /// those it imports.
    pub fn module_index(&self) -> usize {
        self.modules.len()
    }

    /// Reports an error in this module.
    pub fn error(&mut self, err: CheckError) {
        self.diags.error(self.source, err);
    }

    fn warning(&mut self, w: CheckWarning) {
        self.diags.warning(self.source, w);
    }

    /// The source text of a span.
    pub fn text(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// True when this module defines a task or workflow with this name.
    pub fn task_named(&self, name: &str) -> bool {
        self.exports.tasks.contains_key(name) || self.exports.workflows.contains_key(name)
    }

    /// The alias under which module `m` was imported here.
    pub fn module_alias(&self, m: usize) -> String {
        self.imports
            .iter()
            .find(|(_, i)| *i == m)
            .map_or_else(|| "module".to_string(), |(imp, _)| imp.alias.name.clone())
    }

    /// Declares an import's alias; `module` is `None` when loading it failed.
    pub fn declare_import(&mut self, import: &ast::Import, module: Option<usize>) {
        let ty = module.map_or(Type::Unknown, Type::Module);
        let kind = module.map_or(EntryKind::Broken, EntryKind::Module);
        if let Some(m) = module {
            self.imports.push((import.clone(), m));
        }
        self.scope
            .declare(&import.alias.name, ty, kind, import.alias.span);
    }

    /// The imports nothing used.
    pub fn finish_imports(&mut self) -> Vec<ast::Import> {
        let imports = std::mem::take(&mut self.imports);
        imports
            .into_iter()
            .filter(|(imp, _)| {
                self.scope.lookup(&imp.alias.name).is_some_and(|id| {
                    !self.scope.entry(id).used && !imp.alias.name.starts_with('_')
                })
            })
            .map(|(imp, _)| imp)
            .collect()
    }

    /// Checks every item of a file and returns what it exports.
    pub fn check_items(&mut self, file: &ast::File) -> Exports {
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
        for (index, item) in file.items.iter().enumerate() {
            if let Item::Workflow(wf) = item {
                self.check_workflow(wf, index);
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

    fn module_duplicates(&mut self, file: &ast::File) {
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
    fn resolve_type(&mut self, t: &ast::TypeExpr) -> Type {
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
            (Some(_), false) if TYPE_NAMES.contains(&name) => {
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

    /// A task's or workflow's interface. Type errors in it are reported when its body is
    /// checked, so they are resolved quietly here.
    fn signature(
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
        }
    }

    fn declared_outputs(&mut self, attrs: &[Attr]) -> Vec<(String, Type)> {
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
    fn check_params(&mut self, params: &[ast::Param]) -> Vec<typed::Param> {
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
                let typed_default = self.expr(default, &mut cx);
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
    fn close_frame(&mut self) {
        for entry in self.scope.pop() {
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

    fn check_task(&mut self, task: &ast::Task) {
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
    fn binding_value(&mut self, b: &ast::Binding, cx: &mut ExprCx) -> (typed::Expr, Type) {
        match b.kind {
            ast::BindingKind::Let => {
                let value = self.expr(&b.value, cx);
                let ty = match &b.ty {
                    Some(t) => {
                        let declared = self.resolve_type(t);
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

    fn check_workflow(&mut self, wf: &ast::Workflow, item: usize) {
        self.scope.push();
        self.pending_steps = wf
            .body
            .iter()
            .filter_map(|it| match it {
                WorkflowItem::Step(s) => Some(s.name.name.clone()),
                _ => None,
            })
            .collect();
        let params = self.check_params(&wf.params);
        self.pending_steps.clear();
        self.workflow_duplicates(wf);
        self.defaults_repeated(wf);

        // Declare every step up front: steps may refer to steps defined below them.
        let mut steps: Vec<(usize, &ast::Step)> = Vec::new();
        let mut step_ids: HashMap<&str, usize> = HashMap::default();
        for (body_index, it) in wf.body.iter().enumerate() {
            if let WorkflowItem::Step(step) = it {
                if step_ids.contains_key(step.name.name.as_str())
                    || self.scope_has_param(&step.name.name, wf)
                {
                    continue;
                }
                let index = steps.len();
                step_ids.insert(&step.name.name, index);
                steps.push((body_index, step));
                let fan_out = step.clauses.iter().any(|c| matches!(c, Clause::For(_)));
                let outputs = match &step.call {
                    Some(call) => self
                        .callee(&call.callee, false)
                        .map(|s| s.outputs)
                        .unwrap_or_default(),
                    None => {
                        let saved = std::mem::replace(self.diags, Diagnostics::new());
                        let outs = self.declared_outputs(&step.attrs);
                        *self.diags = saved;
                        outs
                    }
                };
                let ty = Type::step_result(&step.name.name, &outputs, fan_out);
                self.scope
                    .declare(&step.name.name, ty, EntryKind::Step(index), step.name.span);
            }
        }

        // Every `defaults` block gives what it sets (setting one twice is E0113 above).
        let mut defaults = typed::Attrs::default();
        let mut bindings = Vec::new();
        for it in &wf.body {
            match it {
                WorkflowItem::Defaults(d) => {
                    let mut cx = ExprCx::new(Place::Binding, "`defaults`");
                    let summary = self.check_attrs(&d.attrs, AttrPlace::Defaults, &mut cx);
                    defaults = summary.attrs.or(&defaults);
                }
                WorkflowItem::Binding(b) => {
                    let mut cx = ExprCx::new(Place::Binding, format!("`{}`", b.name.name));
                    let (value, ty) = self.binding_value(b, &mut cx);
                    bindings.push(typed::Binding {
                        name: b.name.name.clone(),
                        secret: b.kind == ast::BindingKind::Secret,
                        ty: ty.clone(),
                        value,
                    });
                    if self
                        .scope
                        .lookup(&b.name.name)
                        .is_some_and(|id| matches!(self.scope.entry(id).kind, EntryKind::Step(_)))
                    {
                        continue;
                    }
                    let kind = match b.kind {
                        ast::BindingKind::Let => EntryKind::Let,
                        ast::BindingKind::Secret => EntryKind::Secret,
                    };
                    self.scope.declare(&b.name.name, ty, kind, b.name.span);
                }
                WorkflowItem::Step(_) | WorkflowItem::Outputs(_) => {}
            }
        }

        let mut infos = Vec::with_capacity(steps.len());
        let mut typed_steps = Vec::with_capacity(steps.len());
        for (index, (body_index, step)) in steps.iter().enumerate() {
            let (info, typed_step) =
                self.check_step(step, index, *body_index, &step_ids, &defaults);
            infos.push(info);
            typed_steps.push(typed_step);
        }
        // The outputs read the steps, as if in one more step after all of them.
        let decls: Vec<ast::OutputDecl> = workflow_outputs(wf).cloned().collect();
        let mut outputs = Vec::new();
        if !decls.is_empty() {
            let mut cx = ExprCx::new(Place::Step(infos.len()), "the workflow's outputs");
            outputs = self.check_output_decls(&decls, &mut cx);
        }
        if let Some(probe) = self.probe.take_if(|p| p.workflow == wf.name.name) {
            // As if in one more step: it may read step results and secrets.
            let mut cx = ExprCx::new(Place::Step(infos.len()), "the expression");
            cx.allow_secret = true;
            self.probe_type = Some(self.expr(&probe.expr, &mut cx).ty);
        }
        self.close_frame();
        self.typed_workflows.push(typed::Workflow {
            name: wf.name.name.clone(),
            docs: wf.docs.0.clone(),
            params,
            bindings,
            steps: typed_steps,
            outputs,
            max_parallel: defaults.max_parallel,
            span: self.at(wf.name.span),
        });
        self.workflows.push(WorkflowInfo {
            name: wf.name.name.clone(),
            item,
            steps: infos,
        });
    }

    fn scope_has_param(&self, name: &str, wf: &ast::Workflow) -> bool {
        wf.params.iter().any(|p| p.name.name == name)
    }

    /// Reports names defined twice among a workflow's parameters, bindings and steps.
    fn workflow_duplicates(&mut self, wf: &ast::Workflow) {
        let mut seen: HashMap<&str, Span> = wf
            .params
            .iter()
            .map(|p| (p.name.name.as_str(), p.name.span))
            .collect();
        for it in &wf.body {
            let name = match it {
                WorkflowItem::Binding(b) => &b.name,
                WorkflowItem::Step(s) => &s.name,
                WorkflowItem::Defaults(_) | WorkflowItem::Outputs(_) => continue,
            };
            if let Some(first) = seen.insert(&name.name, name.span) {
                self.error(CheckError::Duplicate {
                    name: name.name.clone(),
                    span: name.span.into(),
                    first: first.into(),
                });
                seen.insert(&name.name, first);
            }
        }
    }

    /// Reports an attribute set by two `defaults` blocks of one workflow (one block
    /// setting it twice is reported when the block is checked).
    fn defaults_repeated(&mut self, wf: &ast::Workflow) {
        let mut seen: HashMap<&'static str, Span> = HashMap::default();
        for it in &wf.body {
            let WorkflowItem::Defaults(d) = it else {
                continue;
            };
            let mut here: HashMap<&'static str, Span> = HashMap::default();
            for attr in &d.attrs {
                let kw = attr.kind.keyword();
                if let Some(first) = seen.get(kw) {
                    self.error(CheckError::Repeated {
                        what: kw.to_string(),
                        span: attr.keyword.into(),
                        first: (*first).into(),
                    });
                }
                here.entry(kw).or_insert(attr.keyword);
            }
            for (kw, span) in here {
                seen.entry(kw).or_insert(span);
            }
        }
    }

    /// Finds the task or workflow a step calls; reports when `report` is set.
    fn callee(&mut self, path: &ast::Path, report: bool) -> Option<Signature> {
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

    fn check_step(
        &mut self,
        step: &ast::Step,
        index: usize,
        body_index: usize,
        step_ids: &HashMap<&str, usize>,
        defaults: &typed::Attrs,
    ) -> (StepInfo, typed::Step) {
        let name = step.name.name.as_str();
        let mut cx = ExprCx::new(
            Place::Step(index),
            format!("the command line of step `{name}`"),
        );
        let mut deps: Vec<Dep> = Vec::new();
        let mut compensates = None;
        let mut never = false;
        let mut fan_out = None;
        let mut when = None;

        self.scope.push();
        // The loop variable is in scope for the whole step, so `for` goes first.
        for clause in &step.clauses {
            if let Clause::For(each) = clause {
                let list = self.expr(&each.list, &mut cx);
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
                let max = each
                    .max
                    .as_ref()
                    .map(|max| self.count(max, &mut cx, "`max`"));
                self.scope
                    .declare(&each.var.name, elem, EntryKind::Local, each.var.span);
                fan_out = Some(Box::new(typed::FanOut {
                    var: each.var.name.clone(),
                    list,
                    max,
                }));
            }
        }
        let mut seen: HashMap<&'static str, Span> = HashMap::default();
        for clause in &step.clauses {
            let (kw, span) = match clause {
                Clause::After(_, s) => ("after", *s),
                Clause::When(_, s) => ("when", *s),
                Clause::For(f) => ("for", f.span),
                Clause::Compensates(_, s) => ("on_failure_of", *s),
            };
            if let Some(first) = seen.insert(kw, span) {
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
                            Some(target) => deps.push(Dep {
                                step: target,
                                span: n.span,
                                kind: DepKind::After,
                            }),
                            None => continue,
                        }
                    }
                }
                Clause::When(cond, _) => {
                    when = Some(Box::new(self.condition(cond, &mut cx)));
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
        let place = AttrPlace::Step {
            name,
            is_call: step.call.is_some(),
        };
        let summary = self.check_attrs(&step.attrs, place, &mut cx);
        self.actions(&step.attrs, "step", &step.name, step.call.is_some());
        let fallback = summary.fallback.and_then(|f| {
            let target = self.step_ref(&f, step_ids)?;
            Some((target, f.span))
        });
        self.scope.pop();

        for (target, span, output) in cx.deps {
            deps.push(Dep {
                step: target,
                span,
                kind: if output {
                    DepKind::Output
                } else {
                    DepKind::Data
                },
            });
        }

        // The step's own attributes, then its task's, then the workflow's `defaults`.
        let (call, mut attrs) = match called {
            Some(Called::Task(call, task_attrs)) => {
                (Some(Box::new(call)), summary.attrs.or(&task_attrs))
            }
            Some(Called::Workflow {
                module,
                name,
                outputs,
            }) => {
                let mut attrs = summary.attrs;
                attrs.action = Some(typed::Action::Workflow { module, name });
                attrs.outputs = Some(outputs);
                (None, attrs)
            }
            None => (None, summary.attrs),
        };
        attrs = attrs.or(defaults);
        let link = |this: &Self, (target, span): (usize, Span)| typed::Link {
            step: typed::StepId::new(target),
            span: this.at(span),
        };
        let on_failure = match fallback {
            Some(f) => typed::OnFailure::Fallback(link(self, f)),
            None => attrs.on_failure.unwrap_or_default(),
        };
        let resolved = typed::Step {
            id: typed::StepId::new(index),
            name: name.to_string(),
            span: self.at(step.name.span),
            docs: step.docs.0.clone(),
            finally: step.finally.is_some(),
            fan_out,
            when,
            never,
            deps: deps
                .iter()
                .map(|d| typed::Dep {
                    step: typed::StepId::new(d.step),
                    kind: match d.kind {
                        DepKind::After => typed::DepKind::After,
                        DepKind::Data => typed::DepKind::Data,
                        DepKind::Output => typed::DepKind::Output,
                    },
                    span: self.at(d.span),
                })
                .collect(),
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
            },
            outputs: attrs.outputs.unwrap_or_default(),
        };
        let info = StepInfo {
            name: name.to_string(),
            span: step.name.span,
            body_index,
            finally: step.finally.is_some(),
            fan_out: resolved.fan_out.is_some(),
            deps,
            compensates,
            fallback,
            never,
        };
        (info, resolved)
    }

    /// Resolves a step name written in `after`, `on_failure_of` or `on_failure`.
    fn step_ref(&mut self, n: &ast::Ident, step_ids: &HashMap<&str, usize>) -> Option<usize> {
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
    fn step_call(&mut self, call: &ast::Call, cx: &mut ExprCx) -> Option<Called> {
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
            return Some(Called::Workflow {
                module,
                name,
                outputs,
            });
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
    fn command(&mut self, text: typed::Expr, span: Span) -> Option<typed::Command> {
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
    fn positive_duration(&mut self, d: &typed::Expr, what: &str) {
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
    fn count(&mut self, e: &Expr, cx: &mut ExprCx, what: &str) -> typed::Expr {
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
    fn actions(&mut self, attrs: &[Attr], kind: &'static str, name: &ast::Ident, has_call: bool) {
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

    fn check_attrs(
        &mut self,
        attrs: &[Attr],
        place: AttrPlace<'_>,
        cx: &mut ExprCx,
    ) -> AttrSummary {
        let mut summary = AttrSummary::default();
        let mut seen: HashMap<&'static str, Span> = HashMap::default();
        for attr in attrs {
            let kw = attr.kind.keyword();
            if let Some(first) = seen.insert(kw, attr.keyword) {
                self.error(CheckError::Repeated {
                    what: kw.to_string(),
                    span: attr.keyword.into(),
                    first: first.into(),
                });
            }
            if let Some(help) = self.not_allowed(&attr.kind, place) {
                self.error(CheckError::NotAllowedHere {
                    attr: kw.to_string(),
                    place: place.describe(),
                    span: attr.keyword.into(),
                    help: Some(help),
                });
                continue;
            }
            let desc = place.describe();
            match &attr.kind {
                AttrKind::Run(e) => {
                    cx.text_place = format!("the command line of {desc}");
                    let text = self.expect(e, cx, &Type::String, "the command");
                    let command = self.command(text, e.span);
                    summary.attrs.action = command.map(typed::Action::Run);
                }
                AttrKind::Exec(e) => {
                    cx.text_place = format!("the arguments of {desc}");
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
                            let typed_items = items
                                .iter()
                                .map(|item| self.expect(item, cx, &Type::String, "each argument"))
                                .collect();
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
                    cx.text_place = format!("the approval message of {desc}");
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
                    summary.attrs.timeout = Some(std::sync::Arc::new(d));
                }
                AttrKind::MaxParallel(e) => {
                    let n = self.count(e, cx, "`max_parallel`");
                    summary.attrs.max_parallel = Some(n);
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
                AttrKind::OnFailure(target) => match target.name.as_str() {
                    "continue" => summary.attrs.on_failure = Some(typed::OnFailure::Continue),
                    "fail_fast" => summary.attrs.on_failure = Some(typed::OnFailure::FailFast),
                    _ => match place {
                        AttrPlace::Step { .. } => summary.fallback = Some(target.clone()),
                        AttrPlace::Task { .. } | AttrPlace::Defaults => {
                            self.diags.error(
                                self.source,
                                crate::lower::GraphError::BadFallback {
                                    reason: format!("{} cannot name a fallback step", place.describe()),
                                    span: target.span.into(),
                                    help: Some(
                                        "use `continue` or `fail_fast` here; name fallback steps on the steps themselves"
                                            .to_string(),
                                    ),
                                },
                            );
                        }
                    },
                },
            }
        }
        summary
    }

    /// Declared outputs: known types, no clash with the built-in fields, no duplicates,
    /// and a value (in a workflow's `outputs`) of the declared type.
    fn check_output_decls(
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
                let found = self.expr(value, cx);
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
    fn native(&mut self, e: &Expr, place: AttrPlace<'_>) -> String {
        if !(self.stdlib && matches!(place, AttrPlace::Task { .. })) {
            self.error(CheckError::NativeOutsideStdlib {
                span: e.span.into(),
                place: place.describe(),
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
    fn not_allowed(&self, kind: &AttrKind, place: AttrPlace<'_>) -> Option<String> {
        match (place, kind) {
            (AttrPlace::Defaults, k) if k.is_action() => Some(
                "`defaults` holds what every step inherits: retry, timeout, env, on_failure, max_parallel".to_string(),
            ),
            (AttrPlace::Defaults, AttrKind::Outputs(_)) => {
                Some("declare outputs on the step that writes them".to_string())
            }
            (AttrPlace::Step { .. } | AttrPlace::Task { .. }, AttrKind::MaxParallel(_)) => Some(
                "set `max_parallel` in the workflow's `defaults`, or bound a fan-out with `for x in list max N`"
                    .to_string(),
            ),
            (AttrPlace::Step { is_call: true, .. }, AttrKind::Outputs(_)) => {
                Some("a step that calls a task has the task's outputs".to_string())
            }
            _ => None,
        }
    }

    /// `retry module.NAME` naming a policy of an imported module: that module's index and
    /// the policy's name (and the alias is marked used); `None` for an ordinary count.
    fn policy_ref(&mut self, count: &Expr) -> Option<(usize, String)> {
        match &count.kind {
            ast::ExprKind::Field(base, member) => {
                let ast::ExprKind::Name(alias) = &base.kind else {
                    return None;
                };
                let id = self.scope.lookup(alias)?;
                let EntryKind::Module(m) = self.scope.entry(id).kind else {
                    return None;
                };
                let is_policy = self.modules[m]
                    .ast
                    .items
                    .iter()
                    .any(|it| matches!(it, Item::Policy(p) if p.name.name == member.name));
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
    fn retry(&mut self, r: &ast::Retry, cx: &mut ExprCx) -> Option<typed::Retry> {
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
            self.scope.pop();
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

/// The declared outputs of a workflow, from all its `outputs` blocks.
pub fn workflow_outputs(wf: &ast::Workflow) -> impl Iterator<Item = &ast::OutputDecl> {
    wf.body.iter().flat_map(|it| match it {
        WorkflowItem::Outputs(o) => o.decls.as_slice(),
        _ => &[],
    })
}
