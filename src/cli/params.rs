//! Resolving a workflow's parameter values for `flowc run`: defaults, a vars file,
//! `FLOW_VAR_name` and `--var` (see [`crate::runtime::params`] for the precedence, and
//! [`crate::runtime::driver::resolve_params`]), with input errors rendered like any other
//! diagnostic.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostics::{self, Format, RenderOptions};
use crate::lower::Lowered;
use crate::runtime::driver;
use crate::runtime::eval::Value;
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
    driver::resolve_params(root, lowered, workflow, vars, vars_file).map_err(|diags| {
        for diag in diags.iter() {
            eprint!(
                "{}",
                diagnostics::render(diag, sources, Format::Human, opts)
            );
        }
        super::EXIT_USAGE
    })
}
