//! One attempt of a step: a finished process (or native action) in, an [`Attempt`] out,
//! with its failure as a coded [`StepFailure`] and what the retry condition reads
//! (`exit_code`, `timed_out`). The retry loop ([`super::retry`]) decides whether another
//! attempt follows.

use std::time::Duration;

use super::failure::StepFailure;
use super::process::{self, CancellationSignal, Stream};

/// One attempt of a native action (see [`super::native::attempt`]), as a process attempt:
/// its log lines go to `sink` as stderr.
pub async fn native(
    name: &str,
    args: &super::native::Args,
    output_file: &std::path::Path,
    timeout: Option<Duration>,
    cancel: CancellationSignal,
    sink: &mut (dyn FnMut(Stream, &str) + Send),
) -> Attempt {
    let done = super::native::attempt(name, args, output_file, timeout, cancel).await;
    for line in &done.log {
        sink(Stream::Stderr, line);
    }
    Attempt {
        ok: done.ok,
        exit_code: done.exit_code,
        signal: None,
        timed_out: done.timed_out,
        cancelled: done.cancelled,
        stdout: done.stdout,
        failure: done.failure,
    }
}

/// The result of one attempt of a step's process (or native action).
#[derive(Debug)]
pub struct Attempt {
    /// It succeeded.
    pub ok: bool,
    /// Its exit code (-1 when it has none).
    pub exit_code: i32,
    /// The signal that ended its process, when flowc did not stop it (for its timeout, or
    /// a cancel).
    pub signal: Option<i32>,
    /// It ran past its timeout.
    pub timed_out: bool,
    /// It was stopped (or never started) because the step was cancelled.
    pub cancelled: bool,
    /// Its standard output.
    pub stdout: String,
    /// Why it failed; `None` when it succeeded or was cancelled.
    pub failure: Option<StepFailure>,
}

impl Attempt {
    /// An attempt that failed before (or without) a process.
    pub fn failed(failure: StepFailure) -> Attempt {
        Attempt {
            ok: false,
            exit_code: -1,
            signal: None,
            timed_out: false,
            cancelled: false,
            stdout: String::new(),
            failure: Some(failure),
        }
    }

    /// An attempt stopped before its process started.
    pub fn cancelled() -> Attempt {
        Attempt {
            ok: false,
            exit_code: -1,
            signal: None,
            timed_out: false,
            cancelled: true,
            stdout: String::new(),
            failure: None,
        }
    }

    /// Why it did not succeed, in words: its failure's message, or `cancelled`.
    pub fn reason(&self) -> String {
        match &self.failure {
            Some(f) => f.to_string(),
            None if self.cancelled => "cancelled".to_string(),
            None => String::new(),
        }
    }

    /// What a finished process did; `timeout` is the limit it had (a timed-out attempt
    /// without one reports how long it ran).
    pub fn from_outcome(o: process::Outcome, timeout: Option<Duration>) -> Attempt {
        let failure = if o.success() || o.cancelled {
            None
        } else if o.timed_out {
            Some(StepFailure::TimedOut {
                limit_ms: timeout.unwrap_or(o.duration).as_millis() as u64,
            })
        } else if let Some(signal) = o.signal {
            Some(StepFailure::Signal { signal })
        } else {
            Some(StepFailure::Exit {
                code: o.exit_code.unwrap_or(-1),
            })
        };
        Attempt {
            ok: o.success(),
            exit_code: o.exit_code.unwrap_or(-1),
            signal: o.signal.filter(|_| !o.timed_out && !o.cancelled),
            timed_out: o.timed_out,
            cancelled: o.cancelled,
            stdout: o.stdout,
            failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(exit_code: Option<i32>, signal: Option<i32>) -> process::Outcome {
        process::Outcome {
            exit_code,
            signal,
            timed_out: false,
            cancelled: false,
            duration: Duration::from_millis(1500),
            stdout: "out".to_string(),
        }
    }

    fn code(a: &Attempt) -> String {
        a.failure
            .as_ref()
            .map(|f| f.plain().code)
            .unwrap_or_default()
    }

    #[test]
    fn a_finished_process_becomes_an_attempt_with_a_coded_failure() {
        let ok = Attempt::from_outcome(outcome(Some(0), None), None);
        assert!(ok.ok && !ok.cancelled && !ok.timed_out && ok.failure.is_none());
        assert_eq!((ok.exit_code, ok.stdout.as_str()), (0, "out"));
        let failed = Attempt::from_outcome(outcome(Some(3), None), None);
        assert!(!failed.ok);
        assert_eq!(
            (failed.exit_code, failed.reason().as_str()),
            (3, "exit code 3")
        );
        assert_eq!(code(&failed), "E0460");
        let killed = Attempt::from_outcome(outcome(None, Some(9)), None);
        assert_eq!(
            (killed.exit_code, killed.reason().as_str()),
            (-1, "killed by signal 9 (SIGKILL)")
        );
        assert_eq!(code(&killed), "E0461");
        let late = process::Outcome {
            timed_out: true,
            ..outcome(None, Some(15))
        };
        let limited = Attempt::from_outcome(late.clone(), Some(Duration::from_secs(1)));
        assert!(limited.timed_out && !limited.ok);
        assert_eq!(limited.reason(), "timed out after 1s");
        assert_eq!(code(&limited), "E0462");
        let unlimited = Attempt::from_outcome(late, None);
        assert_eq!(unlimited.reason(), "timed out after 1s500ms");
        let stopped = Attempt::from_outcome(
            process::Outcome {
                cancelled: true,
                ..outcome(None, Some(15))
            },
            None,
        );
        assert!(stopped.cancelled && !stopped.ok && stopped.failure.is_none());
        assert_eq!(stopped.reason(), "cancelled");
    }

    #[test]
    fn attempts_without_a_process_fail_with_their_failure() {
        let failed = Attempt::failed(StepFailure::Unsupported {
            what: "this".to_string(),
        });
        assert!(!failed.ok && !failed.cancelled);
        assert_eq!(
            (failed.exit_code, failed.reason().as_str()),
            (-1, "this is not supported by `flowc run` yet")
        );
        let cancelled = Attempt::cancelled();
        assert!(cancelled.cancelled && !cancelled.ok);
        assert_eq!(cancelled.reason(), "cancelled");
    }
}
