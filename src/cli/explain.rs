//! `flowc explain CODE`: prints the long explanation of a diagnostic code.

use crate::cli::out::{errln, out};
use crate::diagnostics;

/// Arguments of `flowc explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The code, such as E0101 (case-insensitive).
    pub code: String,
}

/// Prints the explanation to stdout; exit 2 for an unknown code.
pub fn run(args: ExplainArgs) -> u8 {
    match diagnostics::explain(&args.code) {
        Some(text) => {
            out!("{text}");
            super::EXIT_OK
        }
        None => {
            let codes: Vec<&str> = diagnostics::CODES.iter().map(|(c, _)| *c).collect();
            let hint = diagnostics::did_you_mean(&args.code.to_uppercase(), codes.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            errln!(
                "error: `{}` is not a flowc diagnostic code{hint}",
                args.code
            );
            errln!("  the codes are E0001-E0010 (syntax), E01xx (names), E02xx (types), E03xx (graph) and W0001-W0004 (warnings)");
            super::EXIT_USAGE
        }
    }
}
