//! What a file declares, as written: its items and, for a workflow, its parameters and
//! body items, each with its kind, name and span. For tools that work on source text (the
//! REPL assembles its program from what was typed) without reading the syntax tree; what a
//! program means comes from the resolved program.

use crate::ast::{self, BindingKind, Item, WorkflowItem};
use crate::source::Span;

/// The kinds of declarations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclKind {
    /// `import "..." as NAME`.
    Import,
    /// `task NAME(...)`.
    Task,
    /// A module-level `let`.
    Const,
    /// `workflow NAME(...)`.
    Workflow,
    /// `policy NAME { ... }`.
    Policy,
    /// A workflow parameter.
    Param,
    /// A `defaults` block (named `defaults`).
    Defaults,
    /// A workflow's `outputs` block (named `outputs`).
    Outputs,
    /// A workflow's `concurrency` item (named `concurrency`).
    Concurrency,
    /// A workflow `let`.
    Let,
    /// A workflow `secret`.
    Secret,
    /// A step.
    Step,
    /// A run setting in a workflow body (`timeout 1h`, `max_failures 3`), named by its
    /// keyword.
    Setting,
}

/// One declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decl {
    /// What it is.
    pub kind: DeclKind,
    /// Its name.
    pub name: String,
    /// The whole declaration.
    pub span: Span,
}

/// A top-level item, and for a workflow its parameters and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutlineItem {
    /// The item itself.
    pub decl: Decl,
    /// Its `///` lines, without the slashes.
    pub docs: Vec<String>,
    /// A workflow's parameters.
    pub params: Vec<Decl>,
    /// A workflow's body items, in order.
    pub body: Vec<Decl>,
}

/// The outline of a parsed file.
pub fn outline(file: &ast::File) -> Vec<OutlineItem> {
    file.items.iter().map(item).collect()
}

fn decl(kind: DeclKind, name: &str, span: Span) -> Decl {
    Decl {
        kind,
        name: name.to_string(),
        span,
    }
}

fn item(it: &Item) -> OutlineItem {
    let docs = match it {
        Item::Import(i) => &i.docs,
        Item::Task(t) => &t.docs,
        Item::Let(b) => &b.docs,
        Item::Policy(p) => &p.docs,
        Item::Workflow(w) => &w.docs,
    }
    .0
    .clone();
    let (decl, params, body) = match it {
        Item::Import(i) => (
            decl(DeclKind::Import, &i.alias.name, i.span),
            vec![],
            vec![],
        ),
        Item::Task(t) => (decl(DeclKind::Task, &t.name.name, t.span), vec![], vec![]),
        Item::Let(b) => (decl(DeclKind::Const, &b.name.name, b.span), vec![], vec![]),
        Item::Policy(p) => (decl(DeclKind::Policy, &p.name.name, p.span), vec![], vec![]),
        Item::Workflow(w) => (
            decl(DeclKind::Workflow, &w.name.name, w.span),
            w.params
                .iter()
                .map(|p| decl(DeclKind::Param, &p.name.name, p.span))
                .collect(),
            w.body.iter().map(body_item).collect(),
        ),
    };
    OutlineItem {
        decl,
        docs,
        params,
        body,
    }
}

fn body_item(it: &WorkflowItem) -> Decl {
    match it {
        WorkflowItem::Defaults(d) => decl(DeclKind::Defaults, "defaults", d.span),
        WorkflowItem::Outputs(o) => decl(DeclKind::Outputs, "outputs", o.span),
        WorkflowItem::Concurrency(c) => decl(DeclKind::Concurrency, "concurrency", c.span),
        WorkflowItem::Binding(b) => {
            let kind = match b.kind {
                BindingKind::Let => DeclKind::Let,
                BindingKind::Secret => DeclKind::Secret,
            };
            decl(kind, &b.name.name, b.span)
        }
        WorkflowItem::Step(s) => decl(DeclKind::Step, &s.name.name, s.span),
        WorkflowItem::Setting(a) => decl(DeclKind::Setting, a.kind.keyword(), a.span),
    }
}

/// Removes the last `let NAME = ...` of workflow `workflow` from `file` and gives its
/// expression: how the REPL's probe expression, typed in the workflow's scope, is taken
/// out of the program text it was assembled into.
pub fn take_binding(file: &mut ast::File, workflow: &str, name: &str) -> Option<ast::Expr> {
    let wf = file.items.iter_mut().rev().find_map(|item| match item {
        Item::Workflow(wf) if wf.name.name == workflow => Some(wf),
        _ => None,
    })?;
    let at = wf
        .body
        .iter()
        .rposition(|it| matches!(it, WorkflowItem::Binding(b) if b.name.name == name))?;
    match wf.body.remove(at) {
        WorkflowItem::Binding(b) => Some(b.value),
        _ => None,
    }
}
