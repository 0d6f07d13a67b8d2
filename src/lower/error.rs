//! Graph errors (E03xx) and the graph-level warning W0003.

use miette::{LabeledSpan, SourceSpan};

/// A problem with the shape of a workflow's dependency graph.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GraphError {
    /// Steps that wait for each other.
    #[error("dependency cycle: {cycle}")]
    #[diagnostic(
        code(E0301),
        help("remove one of these dependencies; note that reading another step's result (`step.field`) also makes a dependency")
    )]
    Cycle {
        /// `a -> b -> c -> a`.
        cycle: String,
        /// One label per dependency in the cycle.
        #[label(collection)]
        edges: Vec<LabeledSpan>,
    },

    /// A step that waits for itself.
    #[error("step `{step}` depends on itself")]
    #[diagnostic(
        code(E0302),
        help("a step cannot wait for, read, or compensate its own result")
    )]
    SelfDependency {
        /// The step.
        step: String,
        /// The self-reference.
        #[label("`{step}` refers to itself here")]
        span: SourceSpan,
    },

    /// An `on_failure` fallback that cannot work.
    #[error("invalid fallback: {reason}")]
    #[diagnostic(code(E0303))]
    BadFallback {
        /// Why.
        reason: String,
        /// The fallback name.
        #[label("this fallback")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// An ordinary step waiting for a `finally` step.
    #[error("step `{step}` depends on `finally` step `{target}`")]
    #[diagnostic(
        code(E0304),
        help("`finally` steps run after every other step; make `{target}` an ordinary step, or `{step}` a `finally` step")
    )]
    AfterFinally {
        /// The ordinary step.
        step: String,
        /// The finally step.
        target: String,
        /// The dependency.
        #[label("depends on a `finally` step here")]
        span: SourceSpan,
    },
}

/// A step that can never run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("step `{step}` can never run")]
#[diagnostic(code(W0003), severity(Warning))]
pub struct NeverRuns {
    /// The step.
    pub step: String,
    /// The step's name.
    #[label("never runs")]
    pub span: SourceSpan,
    /// Why.
    #[help]
    pub help: Option<String>,
}
