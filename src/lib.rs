//! flowc compiles and runs `.flow` workflow files.
//!
//! The pipeline, one module per stage: [`source`] text is parsed by [`parse`] into an
//! [`ast`], resolved and type-checked by [`check`] into one resolved program
//! ([`typed::Program`]), lowered by [`lower`] into one [`graph::ExecGraph`] per workflow.
//! Everything after check ([`runtime`], the REPL, `flowc plan`, `graph` and `doc`) reads
//! the resolved program and the graph, never the syntax tree. Every stage returns
//! `Result<Next, Diagnostics>`, and [`diagnostics`] renders what went wrong. The library
//! never prints or exits; [`cli`] does. See docs/architecture.md.
//!
//! ```
//! use flowc::source::{SourceFile, SourceMap};
//!
//! let text = r#"
//! workflow hello(name: string = "world") {
//!   step greet { run "echo hello ${name}" }
//!   step done after greet { run "echo done" }
//! }
//! "#;
//! let mut sources = SourceMap::new();
//! let id = sources.add(SourceFile::new("hello.flow", None, text));
//! let file = flowc::parse::parse(id, sources.get(id)).expect("parses");
//! let checked = flowc::check::check(&mut sources, id, file, &flowc::check::FsLoader).expect("checks");
//! let lowered = flowc::lower::lower(checked).expect("lowers");
//! assert_eq!(
//!     lowered.graphs[0].dump(),
//!     "workflow hello\n  step greet\n  step done\n    <- greet (after)\n"
//! );
//! ```

extern crate alloc;

pub mod ast;
pub mod check;
pub mod cli;
pub mod command;
pub mod diagnostics;
pub mod format;
pub mod graph;
pub mod limits;
pub mod lower;
pub mod parse;
pub mod repl;
pub mod runtime;
pub mod snapshot;
pub mod source;
pub mod stdlib;
pub mod typed;

use check::Loader;
use diagnostics::Diagnostics;
use source::{SourceId, SourceMap};

/// Runs the front end on one file already in `sources`: parse, check, lower.
pub fn compile(
    sources: &mut SourceMap,
    id: SourceId,
    loader: &dyn Loader,
) -> Result<lower::Lowered, Diagnostics> {
    diagnostics::refill_suggestions();
    let (file, syntax) = parse::parse_recovering(id, sources.get(id));
    if syntax.is_empty() {
        return compile_file(sources, id, file, loader);
    }
    // The parts that parsed are still checked, so that one pass reports their errors too;
    // follow-ons of the parts that did not are dropped (see `SyntaxErrors::with_later`).
    let later = if file.items.is_empty() {
        Diagnostics::new()
    } else {
        compile_file(sources, id, file, loader)
            .err()
            .unwrap_or_default()
    };
    Err(syntax.with_later(later, sources))
}

/// Checks and lowers a parsed file. A program with errors is checked to the end, and the
/// graph's checks still run on it, so one pass reports every independent problem.
fn compile_file(
    sources: &mut SourceMap,
    id: SourceId,
    file: ast::File,
    loader: &dyn Loader,
) -> Result<lower::Lowered, Diagnostics> {
    let (mut checked, diags) = check::check_partial(sources, id, file, loader);
    if diags.has_errors() {
        // The graph's checks do not need a clean program: report their problems too.
        let mut diags = diags;
        lower::check_graphs(&checked, &mut diags);
        diags.sort();
        return Err(diags);
    }
    checked.warnings = diags;
    lower::lower(checked)
}

/// [`compile`] for a tool that asks for the type of one expression in a workflow's scope
/// (the REPL's `:type` and evaluation): the expression is the value of the `let` named
/// `probe.1` in workflow `probe.0`, taken out of the program before it is checked, and its
/// typed form comes back beside the program (`None` without such a binding). Syntax errors
/// stop here rather than being recovered from: the REPL reports them in the text typed.
pub fn compile_probe(
    sources: &mut SourceMap,
    id: SourceId,
    loader: &dyn Loader,
    probe: Option<(&str, &str)>,
) -> Result<(lower::Lowered, Option<typed::Expr>), Diagnostics> {
    diagnostics::refill_suggestions();
    let mut file = parse::parse(id, sources.get(id))?;
    let expr = probe.and_then(|(workflow, name)| {
        parse::outline::take_binding(&mut file, workflow, name).map(|e| (workflow, e))
    });
    let Some((workflow, expr)) = expr else {
        let checked = check::check(sources, id, file, loader)?;
        return Ok((lower::lower(checked)?, None));
    };
    let probe = check::Probe {
        workflow: workflow.to_string(),
        expr,
    };
    let (checked, mut typed) = check::check_probe(sources, id, file, loader, probe)?;
    // The probe reads steps as checked; inlining calls of workflows renumbers them.
    let names: Vec<String> = (checked.root().typed_workflows.iter())
        .find(|w| w.name == workflow)
        .map(|w| w.steps.iter().map(|s| s.name.clone()).collect())
        .unwrap_or_default();
    let lowered = lower::lower(checked)?;
    if let (Some(expr), Some(wf)) = (&mut typed, lowered.program.workflow(workflow)) {
        expr.rewrite(&mut |x| {
            if let typed::ExprKind::Ref(typed::Ref::Step(id)) = &mut x.kind {
                let name = names.get(id.index());
                if let Some(at) = name.and_then(|n| wf.steps.iter().position(|s| &s.name == n)) {
                    *id = typed::StepId::new(at);
                }
            }
            false
        });
    }
    Ok((lowered, typed))
}
