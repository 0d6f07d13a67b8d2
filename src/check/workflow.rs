//! The checker of one module, and checking a workflow: its parameters, `defaults`,
//! bindings and steps (see `items`, `step` and `attrs` for the rest). Step references
//! found here become the dependencies that `lower` turns into graph edges.

use rustc_hash::FxHashMap as HashMap;

use super::attrs::AttrPlace;
use super::error::{CheckError, CheckWarning};
use super::expr::{EntryKind, ExprCx, Place, Scope};
use super::module::Exports;
use super::types::Type;
use super::Module;
use crate::ast::{self, Clause, WorkflowItem};
use crate::diagnostics::Diagnostics;
use crate::source::{SourceId, Span};
use crate::typed;

/// Checks the items of one module.
pub struct Checker<'m> {
    /// The module's file.
    pub(super) source: SourceId,
    /// Its text.
    pub(super) text: &'m str,
    /// Modules checked before this one (its imports among them).
    pub modules: &'m [Module],
    /// Where problems go.
    pub(super) diags: &'m mut Diagnostics,
    /// The names in scope.
    pub scope: Scope,
    /// What the module's items declare.
    pub(super) exports: Exports,
    /// Its imports, with the index of the module each loaded.
    pub(super) imports: Vec<(ast::Import, usize)>,
    /// The step names of the workflow being checked, known before they are declared, so
    /// that a parameter default reading one gets E0108 rather than E0101.
    pub pending_steps: std::collections::HashSet<String>,
    /// The REPL's expression to type at the end of one workflow (see [`super::Probe`]).
    pub probe: Option<super::Probe>,
    /// Its typed form, once checked.
    pub probe_expr: Option<typed::Expr>,
    /// True for the embedded `std/...` modules, whose tasks may use `native`.
    pub stdlib: bool,
    /// The absolute directory of the module's file (`None` without one): what a `dir`
    /// written in it is relative to.
    pub file_dir: Option<std::path::PathBuf>,
    /// What this module gives the resolved program: constants, policies, tasks.
    pub typed: typed::Module,
    /// The resolved workflows of this module, in source order.
    pub typed_workflows: Vec<typed::Workflow>,
    /// The steps of the workflow being checked that are checked already, by index: a
    /// `for` over a step reads that step's loop variables and outputs.
    pub(super) checked_steps: Vec<Option<typed::Step>>,
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
            pending_steps: Default::default(),
            probe: None,
            probe_expr: None,
            stdlib: false,
            file_dir: None,
            typed: typed::Module {
                source,
                ..typed::Module::default()
            },
            typed_workflows: Vec::new(),
            checked_steps: Vec::new(),
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

    pub(super) fn warning(&mut self, w: CheckWarning) {
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

    pub(super) fn check_workflow(&mut self, wf: &ast::Workflow) {
        self.scope.push();
        // Only a parameter's default can read a name before the steps are declared.
        if wf.params.iter().any(|p| p.default.is_some()) {
            self.pending_steps = wf
                .body
                .iter()
                .filter_map(|it| match it {
                    WorkflowItem::Step(s) => Some(s.name.name.clone()),
                    _ => None,
                })
                .collect();
        }
        let params = self.check_params(&wf.params);
        self.pending_steps = Default::default();
        self.workflow_duplicates(wf);
        self.defaults_repeated(wf);

        // Declare every step up front: steps may refer to steps defined below them.
        let mut steps: Vec<&ast::Step> = Vec::with_capacity(wf.body.len());
        let mut step_ids: HashMap<&str, usize> =
            HashMap::with_capacity_and_hasher(wf.body.len(), Default::default());
        self.scope.reserve(wf.body.len());
        for it in &wf.body {
            if let WorkflowItem::Step(step) = it {
                if step_ids.contains_key(step.name.name.as_str())
                    || self.scope_has_param(&step.name.name, wf)
                {
                    continue;
                }
                let index = steps.len();
                step_ids.insert(&step.name.name, index);
                steps.push(step);
                let fan_out = step.clauses.iter().any(|c| matches!(c, Clause::For(_)));
                let (outputs, gate) = match &step.call {
                    Some(call) => self
                        .callee(&call.callee, false)
                        .map(|s| (s.outputs, s.gate))
                        .unwrap_or_default(),
                    None => {
                        let saved = std::mem::replace(self.diags, Diagnostics::new());
                        let outs = self.declared_outputs(&step.attrs);
                        *self.diags = saved;
                        (outs, is_gate(&step.attrs))
                    }
                };
                let ty = Type::step_result(&step.name.name, &outputs, fan_out, gate);
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
                        docs: b.docs.0.clone(),
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
                WorkflowItem::Step(_)
                | WorkflowItem::Outputs(_)
                | WorkflowItem::Concurrency(_)
                | WorkflowItem::Setting(_) => {}
            }
        }
        let concurrency = self.check_concurrency(wf, &steps);
        let settings = self.run_settings(wf, steps.len());

        // A step that iterates another's instances is checked after it.
        // By index, one slot per step (a map would hold twice the steps at its peak).
        self.checked_steps.clear();
        self.checked_steps.resize_with(steps.len(), || None);
        for index in iterated_first(&steps, &step_ids) {
            let typed = self.check_step(steps[index], index, &step_ids, &defaults);
            self.checked_steps[index] = Some(typed);
        }
        // Every step is checked once (`iterated_first` gives each index): collected in
        // place, in the buffer of the slots.
        let typed_steps: Vec<typed::Step> = std::mem::take(&mut self.checked_steps)
            .into_iter()
            .map_while(|s| s)
            .collect();
        self.checkpoint_duplicates(&wf.name.name, &typed_steps);
        // The outputs read the steps, as if in one more step after all of them.
        let decls: Vec<ast::OutputDecl> = workflow_outputs(wf).cloned().collect();
        let mut outputs = Vec::new();
        if !decls.is_empty() {
            let mut cx = ExprCx::new(Place::Step(typed_steps.len()), "the workflow's outputs");
            outputs = self.check_output_decls(&decls, &mut cx);
        }
        if let Some(probe) = self.probe.take_if(|p| p.workflow == wf.name.name) {
            // As if in one more step: it may read step results and secrets.
            let mut cx = ExprCx::new(Place::Step(typed_steps.len()), "the expression");
            cx.allow_secret = true;
            self.probe_expr = Some(self.expr(&probe.expr, &mut cx));
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
            concurrency,
            timeout: settings.timeout.map(|t| (*t).clone()),
            max_failures: settings.max_failures,
            span: self.at(wf.name.span),
        });
    }

    /// The run's settings in a workflow's body (`timeout`, `max_failures`): decided when
    /// the run starts, from parameters, bindings and constants (each at most once, E0111).
    fn run_settings(&mut self, wf: &ast::Workflow, steps: usize) -> typed::Attrs {
        let written: Vec<ast::Attr> = wf
            .body
            .iter()
            .filter_map(|it| match it {
                WorkflowItem::Setting(a) => Some(a.clone()),
                _ => None,
            })
            .collect();
        if written.is_empty() {
            return typed::Attrs::default();
        }
        // As if in a step after all others, so that a step read is E0218, not E0101.
        let mut cx = ExprCx::new(Place::Step(steps), "the run's settings");
        let place = AttrPlace::Workflow {
            name: &wf.name.name,
        };
        self.check_attrs(&written, place, &mut cx).attrs
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
                WorkflowItem::Defaults(_)
                | WorkflowItem::Outputs(_)
                | WorkflowItem::Concurrency(_)
                | WorkflowItem::Setting(_) => continue,
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

    /// Reports a checkpoint label given to two steps of one workflow (E0512).
    fn checkpoint_duplicates(&mut self, workflow: &str, steps: &[typed::Step]) {
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for c in steps.iter().filter_map(|s| s.checkpoint.as_ref()) {
            match seen.get(c.label.as_str()) {
                Some(first) => self.error(CheckError::DuplicateCheckpoint {
                    workflow: workflow.to_string(),
                    label: c.label.clone(),
                    span: c.span.span.into(),
                    first: (*first).into(),
                }),
                None => {
                    seen.insert(&c.label, c.span.span);
                }
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
}

/// The order to check steps in: source order, except that a step whose first `for`
/// iterates another step (`for w in worker`) comes after that step (on a cycle, which
/// lower reports, in source order).
fn iterated_first(steps: &[&ast::Step], step_ids: &HashMap<&str, usize>) -> Vec<usize> {
    let iterated = |step: &ast::Step| {
        step.clauses.iter().find_map(|c| match c {
            Clause::For(each) => match &each.list.kind {
                ast::ExprKind::Name(n) => step_ids.get(n.as_str()).copied(),
                _ => None,
            },
            _ => None,
        })
    };
    if !steps.iter().any(|s| iterated(s).is_some()) {
        return (0..steps.len()).collect();
    }
    let mut placed = vec![false; steps.len()];
    let mut order = Vec::with_capacity(steps.len());
    for start in 0..steps.len() {
        // The chain of iterated steps above `start`, placed from the top.
        let mut chain = vec![start];
        while let Some(up) = chain.last().and_then(|&i| iterated(steps[i])) {
            if placed[up] || chain.contains(&up) {
                break;
            }
            chain.push(up);
        }
        for &i in chain.iter().rev() {
            if !placed[i] {
                placed[i] = true;
                order.push(i);
            }
        }
    }
    order
}

/// Whether attributes make an approval gate: their action is `approve`.
pub(super) fn is_gate(attrs: &[ast::Attr]) -> bool {
    attrs
        .iter()
        .any(|a| matches!(a.kind, ast::AttrKind::Approve(_)))
}

/// The declared outputs of a workflow, from all its `outputs` blocks.
pub fn workflow_outputs(wf: &ast::Workflow) -> impl Iterator<Item = &ast::OutputDecl> {
    wf.body.iter().flat_map(|it| match it {
        WorkflowItem::Outputs(o) => o.decls.as_slice(),
        _ => &[],
    })
}
