//! One attempt of a step: a finished process (or native action) in, an [`Attempt`] out,
//! with the reason for a failure worded for the progress line and the retry condition
//! (`exit_code`, `timed_out`). The retry loop ([`super::retry`]) decides whether another
//! attempt follows.

use std::time::Duration;

use super::eval;
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
        timed_out: done.timed_out,
        cancelled: done.cancelled,
        stdout: done.stdout,
        reason: done.reason,
    }
}

/// The result of one attempt of a step's process (or native action).
#[derive(Debug)]
pub struct Attempt {
    /// It succeeded.
    pub ok: bool,
    /// Its exit code (-1 when it has none).
    pub exit_code: i32,
    /// It ran past its timeout.
    pub timed_out: bool,
    /// It was stopped (or never started) because the step was cancelled.
    pub cancelled: bool,
    /// Its standard output.
    pub stdout: String,
    /// Why it failed, as a sentence (`exit code 3`, `timed out after 5s`).
    pub reason: String,
}

impl Attempt {
    /// An attempt that failed before (or without) a process, for this reason.
    pub fn failed(reason: String) -> Attempt {
        Attempt {
            ok: false,
            exit_code: -1,
            timed_out: false,
            cancelled: false,
            stdout: String::new(),
            reason,
        }
    }

    /// An attempt stopped before its process started.
    pub fn cancelled() -> Attempt {
        Attempt {
            cancelled: true,
            ..Attempt::failed("cancelled".to_string())
        }
    }

    /// What a finished process did, with the reason worded for the progress line.
    pub fn from_outcome(o: process::Outcome) -> Attempt {
        let reason = if o.timed_out {
            format!(
                "timed out after {}",
                eval::format_duration(o.duration.as_millis() as u64)
            )
        } else if o.cancelled {
            "cancelled".to_string()
        } else if let Some(sig) = o.signal {
            format!("killed by signal {sig}")
        } else {
            format!("exit code {}", o.exit_code.unwrap_or(-1))
        };
        Attempt {
            ok: o.success(),
            exit_code: o.exit_code.unwrap_or(-1),
            timed_out: o.timed_out,
            cancelled: o.cancelled,
            stdout: o.stdout,
            reason,
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

    #[test]
    fn a_finished_process_becomes_an_attempt_with_a_worded_reason() {
        let ok = Attempt::from_outcome(outcome(Some(0), None));
        assert!(ok.ok && !ok.cancelled && !ok.timed_out);
        assert_eq!((ok.exit_code, ok.stdout.as_str()), (0, "out"));
        let failed = Attempt::from_outcome(outcome(Some(3), None));
        assert!(!failed.ok);
        assert_eq!(
            (failed.exit_code, failed.reason.as_str()),
            (3, "exit code 3")
        );
        let killed = Attempt::from_outcome(outcome(None, Some(9)));
        assert_eq!(
            (killed.exit_code, killed.reason.as_str()),
            (-1, "killed by signal 9")
        );
        let late = Attempt::from_outcome(process::Outcome {
            timed_out: true,
            ..outcome(None, Some(15))
        });
        assert!(late.timed_out && !late.ok);
        assert_eq!(late.reason, "timed out after 1s500ms");
        let stopped = Attempt::from_outcome(process::Outcome {
            cancelled: true,
            ..outcome(None, Some(15))
        });
        assert!(stopped.cancelled && !stopped.ok);
        assert_eq!(stopped.reason, "cancelled");
    }

    #[test]
    fn attempts_without_a_process_fail_with_their_reason() {
        let failed = Attempt::failed("no slot".to_string());
        assert!(!failed.ok && !failed.cancelled);
        assert_eq!((failed.exit_code, failed.reason.as_str()), (-1, "no slot"));
        let cancelled = Attempt::cancelled();
        assert!(cancelled.cancelled && !cancelled.ok);
    }
}
