//! flowc compiles and runs `.flow` workflow files.
//!
//! The pipeline, one module per stage: [`source`] text is parsed by [`parse`] into an
//! [`ast`], resolved and type-checked by [`check`], lowered by [`lower`] into one
//! [`graph::ExecGraph`] per workflow. Every stage returns `Result<Next, Diagnostics>`, and
//! [`diagnostics`] renders what went wrong. The library never prints or exits; [`cli`] does.
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
pub mod graph;
pub mod lower;
pub mod parse;
pub mod print;
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
    // Calls of workflows are inlined into the caller, and the result checked again (which
    // resolves the new steps' dependencies); the first check's warnings are the ones kept.
    let inlined = lower::inline::inline(&checked.root().ast, id, &checked.modules)?;
    match inlined {
        None => lower::lower(checked),
        Some(file) => {
            let mut rechecked = check::check(sources, id, file, loader)?;
            rechecked.warnings = checked.warnings;
            lower::lower(rechecked)
        }
    }
}
