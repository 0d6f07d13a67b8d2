//! Name resolution and type checking: the parsed root file in, a [`Checked`] program out.
//! Imports are loaded through a [`Loader`], parsed and checked in turn. Every independent
//! problem is reported in one pass; an expression whose type is already wrong has type
//! `Unknown`, which fits anywhere, so one mistake gives one diagnostic.

mod attrs;
mod concurrency;
pub mod consts;
mod error;
mod expr;
mod items;
mod module;
mod routes;
mod step;
pub mod types;
mod workflow;

use rustc_hash::FxHashMap as HashMap;
use std::path::PathBuf;

pub use concurrency::ConcurrencyError;
pub use error::{CheckError, CheckWarning, CommandAt};
pub use module::{FsLoader, LoadError, Loaded, Loader};
pub use types::Type;

use crate::ast;
use crate::diagnostics::Diagnostics;
use crate::source::{SourceId, SourceMap};

/// A task's or workflow's interface, as seen from a call site.
#[derive(Clone, Debug)]
pub struct Signature {
    /// "task" or "workflow".
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Parameters in order.
    pub params: Vec<ParamSig>,
    /// Declared outputs.
    pub outputs: Vec<(String, Type)>,
    /// Its doc comment.
    pub docs: Vec<String>,
    /// A task whose action is `approve`: the result of a step calling it has the fields
    /// of an approval gate.
    pub gate: bool,
}

/// One parameter of a [`Signature`].
#[derive(Clone, Debug)]
pub struct ParamSig {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Whether it may be left out.
    pub has_default: bool,
}

/// A checked module: its exports, by name.
#[derive(Debug)]
pub struct Module {
    /// The file it came from.
    pub source: SourceId,
    /// How imports name it: `std/http`, or a path.
    pub key: String,
    /// Tasks by name.
    pub tasks: HashMap<String, Signature>,
    /// Workflows by name.
    pub workflows: HashMap<String, Signature>,
    /// Constants by name.
    pub consts: HashMap<String, Type>,
    /// What the module gives the resolved program: constants, policies, tasks.
    pub typed: crate::typed::Module,
    /// Its workflows, resolved, in source order.
    pub typed_workflows: Vec<crate::typed::Workflow>,
}

/// The output of checking: every module (imports before their importers, so the root file
/// last) and the warnings found.
#[derive(Debug)]
pub struct Checked {
    /// Checked modules, in the order they finished.
    pub modules: Vec<Module>,
    /// Warnings (there were no errors).
    pub warnings: Diagnostics,
}

impl Checked {
    /// The root file's module.
    pub fn root(&self) -> &Module {
        &self.modules[self.modules.len() - 1]
    }

    /// Moves the resolved program out of the checked modules: every module's constants,
    /// policies, tasks and workflows (the root file's as the program's own).
    pub fn take_program(&mut self) -> crate::typed::Program {
        let workflows = self
            .modules
            .last_mut()
            .map(|m| std::mem::take(&mut m.typed_workflows))
            .unwrap_or_default();
        let modules = self
            .modules
            .iter_mut()
            .map(|m| {
                let mut typed = std::mem::take(&mut m.typed);
                typed.workflows = std::mem::take(&mut m.typed_workflows);
                typed
            })
            .collect();
        crate::typed::Program { modules, workflows }
    }
}

/// Checks the root file and everything it imports, and gives what was checked even when
/// there are errors, with every diagnostic found (errors and warnings): later checks that
/// do not depend on the broken parts (the graph's) still run on it. `Checked::warnings`
/// is left empty.
pub fn check_partial(
    sources: &mut SourceMap,
    root: SourceId,
    file: ast::File,
    loader: &dyn Loader,
) -> (Checked, Diagnostics) {
    let (modules, _, mut diags) = check_modules(sources, root, file, loader, None);
    diags.sort();
    let checked = Checked {
        modules,
        warnings: Diagnostics::new(),
    };
    (checked, diags)
}

/// Checks the root file and everything it imports.
pub fn check(
    sources: &mut SourceMap,
    root: SourceId,
    file: ast::File,
    loader: &dyn Loader,
) -> Result<Checked, Diagnostics> {
    check_inner(sources, root, file, loader, None).map(|(checked, _)| checked)
}

/// An expression to type in the scope of one workflow of the root file, as if it stood
/// in a step after the workflow's body: it may read parameters, bindings, step results and
/// secrets. The REPL asks this for `:type` and for every expression it evaluates.
#[derive(Debug)]
pub struct Probe {
    /// The workflow whose scope the expression is typed in.
    pub workflow: String,
    /// The expression; its spans point into the root file.
    pub expr: ast::Expr,
}

/// [`check`], and the typed form of `probe` (`None` when its workflow does not exist).
pub fn check_probe(
    sources: &mut SourceMap,
    root: SourceId,
    file: ast::File,
    loader: &dyn Loader,
    probe: Probe,
) -> Result<(Checked, Option<crate::typed::Expr>), Diagnostics> {
    check_inner(sources, root, file, loader, Some(probe))
}

fn check_inner(
    sources: &mut SourceMap,
    root: SourceId,
    file: ast::File,
    loader: &dyn Loader,
    probe: Option<Probe>,
) -> Result<(Checked, Option<crate::typed::Expr>), Diagnostics> {
    let (modules, probe_expr, mut diags) = check_modules(sources, root, file, loader, probe);
    diags.sort();
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok((
            Checked {
                modules,
                warnings: diags,
            },
            probe_expr,
        ))
    }
}

fn check_modules(
    sources: &mut SourceMap,
    root: SourceId,
    file: ast::File,
    loader: &dyn Loader,
    probe: Option<Probe>,
) -> (Vec<Module>, Option<crate::typed::Expr>, Diagnostics) {
    let mut cx = module::Context {
        sources,
        loader,
        modules: Vec::new(),
        by_key: HashMap::default(),
        loading: Vec::new(),
        diags: Diagnostics::new(),
        probe,
        probe_expr: None,
    };
    let key = cx
        .sources
        .get(root)
        .path
        .as_ref()
        .map(|p| module::canonical(p))
        .unwrap_or_else(|| PathBuf::from("<stdin>"))
        .display()
        .to_string();
    cx.check_module(root, key, file);
    (cx.modules, cx.probe_expr, cx.diags)
}
