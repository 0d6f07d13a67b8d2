//! `flowc plan FILE`: checks a file, resolves its workflows' inputs (defaults, vars file,
//! `FLOW_VAR_name`, `--var`) and prints what a run would do, without running anything:
//! per workflow, the steps in dependency order, each with its dependencies, its condition
//! (decided now, or at run time), fan-out, retry budget, timeout, failure policy and role.
//! The format is documented in docs/cli.md; the planning itself is
//! [`crate::runtime::plan`].

use crate::cli::out::out;
use std::path::PathBuf;

use crate::diagnostics::RenderOptions;
use crate::runtime::params;
use crate::runtime::plan::plan;

use super::load;

/// Arguments of `flowc plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The file; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Only this workflow (by default, every workflow of the file).
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,
    /// Set a parameter: `--var target=prod`, `--var 'regions=["eu","us"]'` (repeatable; a
    /// later one wins).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = params::parse_var)]
    pub vars: Vec<(String, String)>,
    /// A file of parameter values: JSON, TOML or YAML, by its extension (`.json`, `.toml`,
    /// `.yaml`, `.yml`).
    #[arg(long, value_name = "FILE")]
    pub vars_file: Option<PathBuf>,
}

/// Prints the plan; exit 1 when the file has errors, 2 when it cannot be read, the
/// workflow does not exist, or an input is bad.
pub fn run(args: PlanArgs, color: bool) -> u8 {
    let opts = RenderOptions {
        color,
        width: super::width(),
    };
    let (mut sources, root, lowered) = match load::compile(&args.file, opts) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let graphs = match load::select_workflows(&lowered, &args.file, args.workflow.as_deref()) {
        Ok(graphs) => graphs,
        Err(code) => return code,
    };
    let names: Vec<&str> = graphs.iter().map(|g| g.workflow.as_str()).collect();
    if let Err(code) = super::params::check_env(&lowered, &names, &args.vars) {
        return code;
    }
    let inputs = match super::params::load(
        &mut sources,
        root,
        &lowered,
        &names,
        &args.vars,
        args.vars_file.as_deref(),
        opts,
    ) {
        Ok(inputs) => inputs,
        Err(code) => return code,
    };
    let env = |name: &str| std::env::var(name).ok();
    match plan(&lowered, &sources, &graphs, &inputs, &env) {
        Ok(text) => {
            out!("{text}");
            super::EXIT_OK
        }
        Err(errors) => {
            super::params::report(&params::diagnostics(errors, root), &sources, opts);
            super::EXIT_USAGE
        }
    }
}
