//! `flowc graph FILE`: checks a file and prints the execution graph of its workflows as
//! text, Graphviz DOT, Mermaid or JSON on stdout.

use crate::cli::out::out;
use std::path::PathBuf;

use crate::diagnostics::RenderOptions;

use super::load;

/// Output formats of `flowc graph`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// The stable text dump: each step with its incoming edges.
    Text,
    /// Graphviz DOT (`flowc graph f.flow --format dot | dot -Tsvg > f.svg`).
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
    /// JSON: nodes and edges (see docs/cli.md).
    Json,
}

/// Arguments of `flowc graph`.
#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// The file; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
    /// Only this workflow (by default, every workflow of the file).
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,
}

/// Prints the graph; exit 1 when the file has errors, 2 when it cannot be read or the
/// workflow does not exist.
pub fn run(args: GraphArgs, color: bool) -> u8 {
    let opts = RenderOptions {
        color,
        width: super::width(),
    };
    let lowered = match load::compile(&args.file, opts) {
        Ok((_, _, lowered)) => lowered,
        Err(code) => return code,
    };
    let graphs = match load::select_workflows(&lowered, &args.file, args.workflow.as_deref()) {
        Ok(graphs) => graphs,
        Err(code) => return code,
    };
    let out = match args.format {
        GraphFormat::Text => graphs
            .iter()
            .map(|g| g.dump())
            .collect::<Vec<_>>()
            .join("\n"),
        GraphFormat::Dot => graphs
            .iter()
            .map(|g| g.to_dot())
            .collect::<Vec<_>>()
            .join("\n"),
        GraphFormat::Mermaid => graphs
            .iter()
            .map(|g| g.to_mermaid())
            .collect::<Vec<_>>()
            .join("\n"),
        GraphFormat::Json => {
            let all: Vec<serde_json::Value> = graphs.iter().map(|g| g.to_json()).collect();
            let mut s = serde_json::to_string_pretty(&all).unwrap_or_default();
            s.push('\n');
            s
        }
    };
    out!("{out}");
    super::EXIT_OK
}
