//! Resolving a workflow's parameter values for `flowc run`: defaults, a vars file,
//! `FLOW_VAR_name` and `--var` (see [`crate::runtime::inputs`] for the precedence), with
//! input errors rendered like any other diagnostic.

use std::collections::BTreeMap;
use std::path::Path;

use crate::check::FsLoader;
use crate::diagnostics::{self, Diagnostics, Format, RenderOptions};
use crate::lower::Lowered;
use crate::runtime::eval::Value;
use crate::runtime::inputs::{self, Params};
use crate::source::{SourceId, SourceMap};

/// The parameter values of `workflow`, or the exit code (2) after reporting every bad input.
pub fn resolve(
    sources: &SourceMap,
    root: SourceId,
    lowered: &Lowered,
    workflow: &str,
    vars: &[(String, String)],
    vars_file: Option<&Path>,
    opts: RenderOptions,
) -> Result<BTreeMap<String, Value>, u8> {
    let Some(index) = lowered.modules.len().checked_sub(1) else {
        return Err(super::EXIT_USAGE);
    };
    let Some(params) = Params::of(&lowered.modules[index], workflow) else {
        return Err(super::EXIT_USAGE);
    };
    let env = |name: &str| std::env::var(name).ok();
    let consts = inputs::module_constants(&lowered.modules, index, sources, &FsLoader, &env);
    inputs::resolve(&params, vars, vars_file, &env, &consts).map_err(|errors| {
        let mut diags = Diagnostics::new();
        for e in errors {
            diags.error(root, e);
        }
        for diag in diags.iter() {
            eprint!(
                "{}",
                diagnostics::render(diag, sources, Format::Human, opts)
            );
        }
        super::EXIT_USAGE
    })
}
