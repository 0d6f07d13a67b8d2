//! Usage errors the CLI finds itself, after clap (a workflow, code or doc target that does
//! not exist), each with a stable code, shown as `error[E06xx]: message` and `help:`.

/// A name on the command line that names nothing.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum UsageError {
    /// `--workflow NAME` that the file does not have, or a file with none (or several,
    /// and no `--workflow`).
    #[error("{message}")]
    #[diagnostic(code(E0603))]
    Workflow {
        /// What is wrong.
        message: String,
        /// Did-you-mean and the workflows there are.
        #[help]
        help: Option<String>,
    },
    /// `flowc explain CODE` with a code that does not exist.
    #[error("{message}")]
    #[diagnostic(code(E0604))]
    Code {
        /// What is wrong.
        message: String,
        /// Did-you-mean and the ranges of codes.
        #[help]
        help: Option<String>,
    },
    /// `flowc doc TARGET` naming no module or member.
    #[error("{message}")]
    #[diagnostic(code(E0605))]
    DocTarget {
        /// What is wrong.
        message: String,
        /// Did-you-mean and what there is.
        #[help]
        help: Option<String>,
    },
}

/// Prints `e` on stderr and gives the usage exit code (2).
pub fn report(e: UsageError) -> u8 {
    super::out::errln!("{}", crate::diagnostics::render_error(None, &e, true));
    super::EXIT_USAGE
}
