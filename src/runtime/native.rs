//! Native actions: the bodies of standard-library tasks written `native "http.get"`,
//! implemented here in Rust instead of by a child process. A native action gets the task's
//! evaluated parameters and gives back what a process would: success or failure with a
//! coded reason (E045x), a `stdout` text, and the task's declared outputs as a JSON object
//! (written to `$FLOW_OUTPUT`, so they are read and type-checked like any step's).
//!
//! Actions run on a blocking thread (the HTTP client is synchronous) and poll the step's
//! cancellation signal between requests, so a Ctrl-C or a fail-fast stops them promptly.
//! The names the checker accepts are [`crate::stdlib::NATIVES`]; [`call`] implements each.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::eval::{format_duration, Value};
use super::process::CancellationSignal;

/// A native action that failed, with a stable code.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum NativeError {
    /// The request never got an answer: bad URL, refused connection, DNS, TLS, timeout.
    #[error("{method} {url} failed: {reason}")]
    #[diagnostic(
        code(E0450),
        help("check the URL and that the server is up; add a `retry` clause for flaky networks")
    )]
    Request {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL.
        url: String,
        /// The client's reason.
        reason: String,
    },

    /// The server answered with a status outside 2xx.
    #[error("{method} {url} answered {status}")]
    #[diagnostic(
        code(E0451),
        help("pass `allow_error: true` to get the status and body of any answer")
    )]
    Status {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },

    /// `wait_ok` saw no 2xx answer before its deadline.
    #[error("{url} did not answer with a 2xx status within {waited} ({attempts} attempts; last: {last})")]
    #[diagnostic(
        code(E0452),
        help("raise `timeout`, or check the service's logs for why it is not healthy")
    )]
    Deadline {
        /// The URL.
        url: String,
        /// The deadline, as a duration.
        waited: String,
        /// Requests made.
        attempts: u32,
        /// What the last request got.
        last: String,
    },

    /// A JSON body that does not parse.
    #[error("the body is not valid JSON: {reason}")]
    #[diagnostic(
        code(E0453),
        help("build the body with `to_json(...)`, or check the quoting of the literal")
    )]
    BadJson {
        /// The parser's reason.
        reason: String,
    },

    /// A native action failed on the filesystem or running a program.
    #[error("{what}: {reason}")]
    #[diagnostic(code(E0454))]
    Io {
        /// What was being done.
        what: String,
        /// The operating system's reason.
        reason: String,
    },

    /// The step was cancelled while the action ran.
    #[error("cancelled")]
    Cancelled,
}

impl NativeError {
    /// The failure reason a step report shows: the message prefixed with its code.
    pub fn reason(&self) -> String {
        match miette::Diagnostic::code(self) {
            Some(code) => format!("{code}: {self}"),
            None => self.to_string(),
        }
    }
}

/// What a native action produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The step's `stdout` (an HTTP body, a checksum, ...).
    pub stdout: String,
    /// The declared outputs, by name.
    pub outputs: serde_json::Map<String, serde_json::Value>,
    /// Lines to show as the step's progress output.
    pub log: Vec<String>,
}

/// The evaluated parameters of the task, by name.
pub type Args = BTreeMap<String, Value>;

/// Runs native action `name` with the task's parameters. Blocking: call it from a blocking
/// thread.
pub fn call(name: &str, args: &Args, cancel: &CancellationSignal) -> Result<Outcome, NativeError> {
    match name {
        "http.get" => http::get(args),
        "http.post" => http::post(args),
        "http.wait_ok" => http::wait_ok(args, cancel),
        other => Err(NativeError::Io {
            what: format!("native action `{other}`"),
            reason: "not implemented by this flowc".to_string(),
        }),
    }
}

fn text(args: &Args, name: &str) -> String {
    args.get(name).map(Value::to_text).unwrap_or_default()
}

fn duration(args: &Args, name: &str, default: Duration) -> Duration {
    match args.get(name) {
        Some(Value::Duration(ms)) => Duration::from_millis(*ms),
        _ => default,
    }
}

fn flag(args: &Args, name: &str) -> bool {
    matches!(args.get(name), Some(Value::Bool(true)))
}

/// Sleeps for `d` in short slices, returning early (false) when the step is cancelled.
fn sleep(d: Duration, cancel: &CancellationSignal) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if cancel.is_cancelled() {
            return false;
        }
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
    }
    !cancel.is_cancelled()
}

/// `std/http`: requests with ureq (rustls for HTTPS).
mod http {
    use super::*;

    /// One answer: the status and the body.
    pub(super) struct Answer {
        status: u16,
        body: String,
        elapsed: Duration,
    }

    fn agent(timeout: Duration) -> ureq::Agent {
        ureq::AgentBuilder::new().timeout(timeout).build()
    }

    /// Sends one request; any status is an answer, only a transport failure is an error.
    fn send(
        method: &'static str,
        url: &str,
        body: Option<&str>,
        timeout: Duration,
    ) -> Result<Answer, NativeError> {
        let started = Instant::now();
        let request = agent(timeout).request(method, url);
        let result = match body {
            Some(b) => request
                .set("Content-Type", "application/json")
                .send_string(b),
            None => request.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                return Err(NativeError::Request {
                    method,
                    url: url.to_string(),
                    reason: t.to_string(),
                })
            }
        };
        let status = response.status();
        let body = response.into_string().map_err(|e| NativeError::Request {
            method,
            url: url.to_string(),
            reason: format!("reading the body: {e}"),
        })?;
        Ok(Answer {
            status,
            body,
            elapsed: started.elapsed(),
        })
    }

    fn finish(
        method: &'static str,
        url: &str,
        answer: Answer,
        allow_error: bool,
    ) -> Result<Outcome, NativeError> {
        if !(200..300).contains(&answer.status) && !allow_error {
            return Err(NativeError::Status {
                method,
                url: url.to_string(),
                status: answer.status,
            });
        }
        let mut outputs = serde_json::Map::new();
        outputs.insert("status_code".to_string(), answer.status.into());
        outputs.insert("body".to_string(), answer.body.clone().into());
        Ok(Outcome {
            log: vec![format!(
                "{method} {url} -> {} ({})",
                answer.status,
                format_duration(answer.elapsed.as_millis() as u64)
            )],
            stdout: answer.body,
            outputs,
        })
    }

    /// `http.get(url, timeout, allow_error)`.
    pub(super) fn get(args: &Args) -> Result<Outcome, NativeError> {
        let url = text(args, "url");
        let timeout = duration(args, "timeout", Duration::from_secs(30));
        let answer = send("GET", &url, None, timeout)?;
        finish("GET", &url, answer, flag(args, "allow_error"))
    }

    /// `http.post(url, body, timeout, allow_error)`: `body` must be JSON.
    pub(super) fn post(args: &Args) -> Result<Outcome, NativeError> {
        let url = text(args, "url");
        let body = text(args, "body");
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&body) {
            return Err(NativeError::BadJson {
                reason: e.to_string(),
            });
        }
        let timeout = duration(args, "timeout", Duration::from_secs(30));
        let answer = send("POST", &url, Some(&body), timeout)?;
        finish("POST", &url, answer, flag(args, "allow_error"))
    }

    /// `http.wait_ok(url, timeout, interval)`: GET every `interval` until a 2xx answer;
    /// fails once `timeout` has passed without one.
    pub(super) fn wait_ok(
        args: &Args,
        cancel: &CancellationSignal,
    ) -> Result<Outcome, NativeError> {
        let url = text(args, "url");
        let timeout = duration(args, "timeout", Duration::from_secs(120));
        let interval = duration(args, "interval", Duration::from_secs(5));
        let deadline = Instant::now() + timeout;
        let mut attempts = 0u32;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            attempts += 1;
            // Each request gets at most the time that is left (and at least a moment).
            let last = match send("GET", &url, None, left.max(Duration::from_millis(100))) {
                Ok(answer) if (200..300).contains(&answer.status) => {
                    let mut outcome = finish("GET", &url, answer, false)?;
                    outcome
                        .log
                        .push(format!("healthy after {attempts} attempt(s)"));
                    return Ok(outcome);
                }
                Ok(answer) => format!("status {}", answer.status),
                Err(e) => match e {
                    NativeError::Request { reason, .. } => reason,
                    other => other.to_string(),
                },
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(NativeError::Deadline {
                    url,
                    waited: format_duration(timeout.as_millis() as u64),
                    attempts,
                    last,
                });
            }
            // The last wait ends at the deadline, for one final try there.
            if !sleep(interval.min(left), cancel) {
                return Err(NativeError::Cancelled);
            }
        }
    }
}
