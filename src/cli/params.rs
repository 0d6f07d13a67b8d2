//! Resolving a workflow's parameter values for `flowc run`: defaults, a vars file,
//! `FLOW_VAR_name` and `--var` (see [`crate::runtime::params`] for the precedence, and
//! [`crate::runtime::driver::resolve_params`]), with input errors rendered like any other
//! diagnostic.

use crate::cli::out::{err, errln};
use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostics::{self, Diagnostics, Format, RenderOptions};
use crate::lower::Lowered;
use crate::runtime::driver;
use crate::runtime::eval::Value;
use crate::runtime::params::{self, Inputs};
use crate::source::{SourceId, SourceMap};

/// An environment variable that cannot be a parameter's value.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("`{var}` is not UTF-8 text")]
#[diagnostic(
    code(E0602),
    help("parameter values are text; set `{var}` to UTF-8 text, or unset it to use the default")
)]
pub struct EnvVarError {
    /// The variable, `FLOW_VAR_name`.
    pub var: String,
}

/// The `FLOW_VAR_name` variables of `workflow`'s parameters that hold bytes that are not
/// UTF-8 and are not overridden by a `--var` (an error, as the same bytes given to `--var`
/// are; without this the variable would be ignored and the default used, silently).
pub fn bad_env_vars(
    lowered: &Lowered,
    workflows: &[&str],
    vars: &[(String, String)],
) -> Vec<EnvVarError> {
    lowered
        .program
        .workflows
        .iter()
        .filter(|wf| workflows.contains(&wf.name.as_str()))
        .flat_map(|wf| wf.params.iter())
        .filter(|p| !vars.iter().any(|(name, _)| *name == p.name))
        .map(|p| format!("FLOW_VAR_{}", p.name))
        .filter(|var| std::env::var_os(var).is_some_and(|v| v.to_str().is_none()))
        .map(|var| EnvVarError { var })
        .collect()
}

/// Reports [`bad_env_vars`] and returns the exit code (2) when there are any.
pub fn check_env(
    lowered: &Lowered,
    workflows: &[&str],
    vars: &[(String, String)],
) -> Result<(), u8> {
    let bad = bad_env_vars(lowered, workflows, vars);
    if bad.is_empty() {
        return Ok(());
    }
    for e in &bad {
        errln!("{}", diagnostics::render_error(None, e, true));
    }
    Err(super::EXIT_USAGE)
}

/// The parameter values of `workflow`, or the exit code (2) after reporting every bad input.
pub fn resolve(
    sources: &mut SourceMap,
    root: SourceId,
    lowered: &Lowered,
    workflow: &str,
    vars: &[(String, String)],
    vars_file: Option<&Path>,
    opts: RenderOptions,
) -> Result<BTreeMap<String, Value>, u8> {
    check_env(lowered, &[workflow], vars)?;
    let inputs = load(sources, root, lowered, &[workflow], vars, vars_file, opts)?;
    driver::resolve_params(root, lowered, workflow, &inputs).map_err(|diags| {
        report(&diags, sources, opts);
        super::EXIT_USAGE
    })
}

/// The `--var` values and the vars file of `workflows` (added to `sources`, so that errors
/// can point into it, with the values of their secret parameters masked), or the exit
/// code (2) after reporting why the file cannot be used.
pub fn load(
    sources: &mut SourceMap,
    root: SourceId,
    lowered: &Lowered,
    workflows: &[&str],
    vars: &[(String, String)],
    vars_file: Option<&Path>,
    opts: RenderOptions,
) -> Result<Inputs, u8> {
    let secrets = params::secret_names(&lowered.program, workflows);
    Inputs::load(vars.to_vec(), vars_file, &secrets, sources).map_err(|e| {
        report(&params::diagnostics(vec![e], root), sources, opts);
        super::EXIT_USAGE
    })
}

/// Prints input diagnostics (human, on stderr).
pub fn report(diags: &Diagnostics, sources: &SourceMap, opts: RenderOptions) {
    for diag in diags.iter() {
        err!(
            "{}",
            diagnostics::render(diag, sources, Format::Human, opts)
        );
    }
}
