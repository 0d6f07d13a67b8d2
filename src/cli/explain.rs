//! `flowc explain CODE`: prints the long explanation of a diagnostic code.

use crate::cli::out::out;
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
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            super::usage::report(super::usage::UsageError::Code {
                message: format!("`{}` is not a flowc diagnostic code", args.code),
                help: Some(format!(
                    "{hint}the codes are E00xx (syntax), E01xx (names), E02xx (types), \
                     E03xx (graph), E04xx (runs), E05xx (journals), E06xx (the command \
                     line's input and output) and W0xxx (warnings)"
                )),
            })
        }
    }
}
