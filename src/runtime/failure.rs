//! Why a step failed, as data: what an attempt, an output file, an expression or a gate
//! found in, a [`StepFailure`] (a typed error with a stable E04xx code and a help line)
//! out; and its plain form, [`Failure`] (code, message, help), which is what the events,
//! the journal and `flowc status` carry.
//!
//! A step failure is rendered in words by one function,
//! [`crate::diagnostics::render_error`], wherever it is shown: the progress line, the
//! summary of `flowc run`, `flowc status`. The JSON events and the journal keep its parts
//! apart, so that a tool reads the code without parsing a sentence.

use super::eval::{format_duration, EvalError};
use super::native::NativeError;
use super::process::ProcessError;
use super::redact::Redactor;
use crate::command::CommandError;

/// Why a step (or one instance of a fan-out step) failed.
#[derive(Clone, Debug, thiserror::Error, miette::Diagnostic)]
pub enum StepFailure {
    /// The step's process ended with a non-zero exit code.
    #[error("exit code {code}")]
    #[diagnostic(
        code(E0460),
        help("the command reported a failure; `flowc logs RUN STEP` shows what it printed")
    )]
    Exit {
        /// The exit code.
        code: i32,
    },

    /// The step's process was killed by a signal it did not expect (not by flowc).
    #[error("killed by signal {signal}{}", signal_name(*signal))]
    #[diagnostic(
        code(E0461),
        help("something outside flowc stopped the process (the kernel's out-of-memory killer, a `kill`), or it crashed")
    )]
    Signal {
        /// The signal number.
        signal: i32,
    },

    /// The step ran past its `timeout` and was stopped.
    #[error("timed out after {}", format_duration(*limit_ms))]
    #[diagnostic(
        code(E0462),
        help("raise the step's `timeout`, or add `retry` with `if timed_out` for steps that sometimes hang")
    )]
    TimedOut {
        /// The limit, in milliseconds.
        limit_ms: u64,
    },

    /// The process could not be started, or flowc lost track of it (E0410-E0412).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Process(#[from] ProcessError),

    /// The command could not be built from its values (E0401-E0406).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Command(#[from] CommandError),

    /// The step succeeded but did not write a declared output to `$FLOW_OUTPUT`.
    #[error("the step did not write its output `{name}` to $FLOW_OUTPUT")]
    #[diagnostic(
        code(E0463),
        help("write it as a `{name}=value` line (or a JSON object) to the file named by $FLOW_OUTPUT")
    )]
    MissingOutput {
        /// The output.
        name: String,
    },

    /// A declared output's value cannot be read as its declared type.
    #[error("output `{name}` is {value}, which is not a `{ty}`")]
    #[diagnostic(
        code(E0464),
        help("write a value of the declared type, or change the output's type in the step")
    )]
    MistypedOutput {
        /// The output.
        name: String,
        /// What the step wrote, as JSON.
        value: String,
        /// The declared type.
        ty: String,
    },

    /// The `$FLOW_OUTPUT` file is neither a JSON object nor `name=value` lines.
    #[error("$FLOW_OUTPUT {problem}")]
    #[diagnostic(
        code(E0465),
        help("write one `name=value` line per output, or a single JSON object")
    )]
    MalformedOutput {
        /// What is wrong with it.
        problem: String,
    },

    /// A plain (not `secret`) output whose value holds a secret of the run: later steps
    /// could put it on a command line, and it would be journaled. Refused before any step
    /// sees it.
    #[error("output `{name}` holds the value of a secret")]
    #[diagnostic(
        code(E0480),
        help("declare it `secret` (`outputs {{ {name}: secret }}`) and pass it to later steps through `env`, or leave the secret out of it")
    )]
    SecretInOutput {
        /// The output.
        name: String,
    },

    /// A value the step needs when it starts cannot be evaluated: a task argument, an
    /// `env` entry, a command's value, an `exec` list, the fan-out list, a computed output.
    #[error("cannot evaluate {what}: {error}")]
    #[diagnostic(code(E0466))]
    Eval {
        /// What was being evaluated (`argument `n``, `env `TOKEN``, `the fan-out list`).
        what: String,
        /// Why it failed (boxed: it carries spans and texts, and a step failure is passed
        /// around by value).
        error: Box<EvalError>,
        /// The evaluation error's code and advice.
        #[help]
        help: Option<String>,
    },

    /// A `retry` or `timeout` attribute that cannot be evaluated (E0442).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Attr(#[from] AttrError),

    /// The approval gate was refused (`flowc reject`, or `n` at the terminal).
    #[error("rejected: {question}")]
    #[diagnostic(
        code(E0467),
        help(
            "a refused gate fails its step; to go on anyway, run the workflow again and approve it"
        )
    )]
    Refused {
        /// The gate's question.
        question: String,
    },

    /// Nobody decided at the approval gate before its deadline (its `timeout`).
    #[error("no decision before the deadline {at}: {question}")]
    #[diagnostic(
        code(E0481),
        help("route a timeout apart from a refusal with `on_failure STEP if GATE.decision == \"timed_out\"` (to a second approver, say), or give the gate a longer `timeout`")
    )]
    ApprovalTimedOut {
        /// The gate's question.
        question: String,
        /// The deadline, RFC 3339.
        at: String,
    },

    /// A standard-library action implemented in flowc failed (E0450-E0457).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Native(#[from] NativeError),

    /// One or more instances of a fan-out step failed: the first is named, the others
    /// counted.
    #[error("{instance}: {failure}{}", more_text(*more))]
    #[diagnostic(code(E0468))]
    Instance {
        /// The first failed instance (`greet[3]`).
        instance: String,
        /// How many other instances failed.
        more: usize,
        /// Why it failed.
        #[diagnostic_source]
        failure: Cause,
        /// Where to look, and the instance's own code.
        #[help]
        help: Option<String>,
    },

    /// The step's `dir` is missing, or not a directory: the step fails before its
    /// command starts.
    #[error("its working directory `{path}` {problem}")]
    #[diagnostic(
        code(E0476),
        help("create the directory before the step starts (in a step it runs after, or with `fs.ensure_dir`), or fix its `dir`: a relative `dir` is relative to the directory of the file it is written in")
    )]
    WorkDir {
        /// The directory, as resolved.
        path: String,
        /// What is wrong with it (`does not exist`, `is not a directory`).
        problem: String,
    },

    /// The step's action cannot run in this flowc (a sub-workflow call that was not
    /// inlined).
    #[error("{what} is not supported by `flowc run` yet")]
    #[diagnostic(
        code(E0469),
        help("this is a limit of this flowc, not a mistake in the workflow")
    )]
    Unsupported {
        /// What cannot run.
        what: String,
    },
}

/// A failure route whose condition cannot be evaluated when its step has failed: the
/// route is not taken (the next one is tried), and this is shown in the step's output.
#[derive(Clone, Debug, thiserror::Error, miette::Diagnostic)]
#[error("failure route {number} of `{step}` not taken: cannot evaluate its condition: {reason}")]
#[diagnostic(
    code(E0482),
    help("a route's condition should hold or not for every result of the step; guard what can fail (`parse_int` of its `stdout`, say) with a check first")
)]
pub struct RouteError {
    /// The step.
    pub step: String,
    /// The route's position among the step's routes, from 1.
    pub number: usize,
    /// Why it cannot be evaluated.
    pub reason: String,
}

/// The failure another failure comes from (a fan-out instance's, for its step's).
#[derive(Clone, Debug)]
pub struct Cause(pub Box<StepFailure>);

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

// What `#[diagnostic_source]` needs of its field.
impl std::borrow::Borrow<dyn miette::Diagnostic> for Cause {
    fn borrow(&self) -> &(dyn miette::Diagnostic + 'static) {
        self.0.as_ref()
    }
}

/// A step attribute whose expression cannot be evaluated when the step starts (a retry
/// count, backoff, timeout or a fan-out's `max_failures`): the step fails rather than run
/// without it.
#[derive(Clone, Debug, thiserror::Error, miette::Diagnostic)]
#[error("the {what} cannot be evaluated: {reason}")]
#[diagnostic(
    code(E0442),
    help("the expression depends on inputs known only at run time; check the values given")
)]
pub struct AttrError {
    /// `retry count`, `backoff`, `timeout` or `max_failures`.
    pub what: &'static str,
    /// Why.
    pub reason: String,
}

/// ` (SIGKILL)` for a known signal number.
fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| format!(" ({})", s.as_str()))
        .unwrap_or_default()
}

fn more_text(more: usize) -> String {
    match more {
        0 => String::new(),
        1 => " (and 1 more instance failed)".to_string(),
        n => format!(" (and {n} more instances failed)"),
    }
}

impl StepFailure {
    /// An expression of the step that failed to evaluate; `what` says which.
    pub fn eval(what: impl Into<String>, error: EvalError) -> StepFailure {
        let help = miette::Diagnostic::code(&error)
            .map(|code| {
                let advice = miette::Diagnostic::help(&error)
                    .map(|h| format!("{h} "))
                    .unwrap_or_default();
                format!("{advice}(the evaluation failed with {code}: `flowc explain {code}`)")
            })
            .or_else(|| miette::Diagnostic::help(&error).map(|h| h.to_string()));
        StepFailure::Eval {
            what: what.into(),
            error: Box::new(error),
            help,
        }
    }

    /// The failure of a fan-out step whose instance `instance` failed first, with `more`
    /// other instances failed.
    pub fn instance(instance: String, more: usize, failure: StepFailure) -> StepFailure {
        let help = miette::Diagnostic::code(&failure).map(|code| {
            format!("`{instance}` failed with {code} (`flowc explain {code}`); `flowc logs RUN {instance}` shows its output")
        });
        StepFailure::Instance {
            instance,
            more,
            failure: Cause(Box::new(failure)),
            help,
        }
    }

    /// Its plain form, for events, the journal and JSON.
    pub fn plain(&self) -> Failure {
        Failure::of(self)
    }
}

/// A failure in plain parts: what the JSON events, the journal and `flowc status` carry,
/// and what [`crate::diagnostics::render_error`] renders when the typed error is gone
/// (a run read back from its journal).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// The stable code (`E0460`).
    pub code: String,
    /// The message, lowercase, without the step's name.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// What it comes from: for a fan-out step, its failed instance's own failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Box<Failure>>,
}

impl Failure {
    /// The parts of any diagnostic, its diagnostic source included.
    pub fn of(e: &dyn miette::Diagnostic) -> Failure {
        Failure {
            code: e.code().map(|c| c.to_string()).unwrap_or_default(),
            message: e.to_string(),
            help: e.help().map(|h| h.to_string()),
            cause: e.diagnostic_source().map(|c| Box::new(Failure::of(c))),
        }
    }

    /// The same failure with every secret `redactor` knows masked.
    pub fn redacted(self, redactor: &Redactor) -> Failure {
        Failure {
            code: self.code,
            message: redactor.redact(&self.message).into_owned(),
            help: self.help.map(|h| redactor.redact(&h).into_owned()),
            cause: self.cause.map(|c| Box::new(c.redacted(redactor))),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl miette::Diagnostic for Failure {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn std::fmt::Display>)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn diagnostic_source(&self) -> Option<&dyn miette::Diagnostic> {
        self.cause.as_deref().map(|c| c as &dyn miette::Diagnostic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(f: &StepFailure) -> String {
        f.plain().code
    }

    #[test]
    fn each_kind_of_failure_has_its_code_and_words() {
        let exit = StepFailure::Exit { code: 3 };
        assert_eq!(
            (code(&exit), exit.to_string()),
            ("E0460".into(), "exit code 3".into())
        );
        let killed = StepFailure::Signal { signal: 9 };
        assert_eq!(code(&killed), "E0461");
        assert_eq!(killed.to_string(), "killed by signal 9 (SIGKILL)");
        let late = StepFailure::TimedOut { limit_ms: 1500 };
        assert_eq!(code(&late), "E0462");
        assert_eq!(late.to_string(), "timed out after 1s500ms");
        let unsupported = StepFailure::Unsupported {
            what: "`deploy` (a workflow)".to_string(),
        };
        assert_eq!(code(&unsupported), "E0469");
        let attr = StepFailure::from(AttrError {
            what: "timeout",
            reason: "x".to_string(),
        });
        assert_eq!(code(&attr), "E0442");
        assert!(attr.plain().help.is_some());
    }

    #[test]
    fn a_fan_out_failure_names_its_instance_and_keeps_its_cause() {
        let f = StepFailure::instance("greet[3]".to_string(), 2, StepFailure::Exit { code: 1 });
        let plain = f.plain();
        assert_eq!(plain.code, "E0468");
        assert_eq!(
            plain.message,
            "greet[3]: exit code 1 (and 2 more instances failed)"
        );
        let cause = plain.cause.expect("the instance's own failure");
        assert_eq!(
            (cause.code.as_str(), cause.message.as_str()),
            ("E0460", "exit code 1")
        );
        assert!(plain.help.is_some_and(|h| h.contains("E0460")));
    }

    #[test]
    fn an_evaluation_failure_says_what_and_keeps_the_evaluator_code() {
        let f = StepFailure::eval(
            "argument `n`",
            EvalError::Internal("a bool where an int belongs".to_string()),
        );
        let plain = f.plain();
        assert_eq!(plain.code, "E0466");
        assert!(plain.message.starts_with("cannot evaluate argument `n`: "));
        assert!(plain.help.is_some_and(|h| h.contains("E0424")));
    }
}
