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
use super::failure::StepFailure;
use super::process::CancellationSignal;

/// A native action that failed, with a stable code.
#[derive(Clone, Debug, thiserror::Error, miette::Diagnostic)]
pub enum NativeError {
    /// The request never got an answer: bad URL, refused connection, DNS, TLS, timeout.
    #[error("{method} {url} failed: {reason}")]
    #[diagnostic(
        code(E0450),
        help("check the URL and that the server is up; add a `retry` clause for flaky networks")
    )]
    Request {
        /// `GET`, `POST`, or the method of `http.request`.
        method: String,
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

    /// `fs.wait_for` did not see the file before its deadline.
    #[error("`{path}` did not appear within {waited}")]
    #[diagnostic(
        code(E0457),
        help("raise `timeout`, or check that the step that writes the file runs and succeeds")
    )]
    FileDeadline {
        /// The file.
        path: String,
        /// The deadline, as a duration.
        waited: String,
    },

    /// `http.request` got an answer whose status is not one of those it expects.
    #[error("{request} answered {status}, expected {expected}{excerpt}")]
    #[diagnostic(
        code(E0490),
        help("if the status counts as success here, add it to `expect` (empty means any 2xx)")
    )]
    UnexpectedStatus {
        /// The method and the URL with its query: `POST https://...`.
        request: String,
        /// The status code.
        status: u16,
        /// The statuses that count as success, in words (`200 or 201`, `any 2xx`).
        expected: String,
        /// The start of the answer's body, after `: `, or nothing.
        excerpt: String,
    },

    /// `http.request` got no (complete) answer within its `timeout`.
    #[error("{request} got no answer within {waited}")]
    #[diagnostic(
        code(E0491),
        help("raise the task's `timeout`, or add `retry 3 if exit_code != 0` for a service that is slow at times")
    )]
    RequestTimedOut {
        /// The method and the URL with its query: `GET https://...`.
        request: String,
        /// The timeout, as a duration.
        waited: String,
    },

    /// `http.request` was given a method or header that cannot be sent.
    #[error("cannot send the request: {reason}")]
    #[diagnostic(code(E0492))]
    BadRequest {
        /// What is wrong, naming the method or header (never a header's value).
        reason: String,
        /// What to do.
        #[help]
        help: Option<String>,
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

/// How one attempt of a native action ended, in the terms of a process attempt.
#[derive(Debug, Default)]
pub struct Finished {
    /// It succeeded.
    pub ok: bool,
    /// 0 on success, 1 on failure, -1 when it was stopped.
    pub exit_code: i32,
    /// The step's timeout stopped it.
    pub timed_out: bool,
    /// Cancellation stopped it.
    pub cancelled: bool,
    /// The step's `stdout`.
    pub stdout: String,
    /// Why it failed (`None` when it succeeded or was cancelled).
    pub failure: Option<StepFailure>,
    /// Progress lines to show.
    pub log: Vec<String>,
}

/// One attempt of native action `name`: on a blocking thread, bounded by the step's
/// `timeout`, stopped by `cancel`; on success its outputs are written to `output_file`
/// (the step's `$FLOW_OUTPUT`) as a JSON object.
pub async fn attempt(
    name: &str,
    args: &Args,
    output_file: &std::path::Path,
    timeout: Option<Duration>,
    mut cancel: CancellationSignal,
) -> Finished {
    let started = Instant::now();
    let (stop, stop_signal) = super::process::cancellation();
    let job = {
        let name = name.to_string();
        let args = args.clone();
        tokio::task::spawn_blocking(move || call(&name, &args, &stop_signal))
    };
    let limit = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let (result, timed_out, cancelled) = tokio::select! {
        r = job => (r.ok(), false, false),
        _ = limit => (None, true, false),
        _ = cancel.cancelled() => (None, false, true),
    };
    // Stops the blocking thread at its next look at the signal.
    stop.cancel();
    let mut done = Finished {
        exit_code: -1,
        timed_out,
        cancelled,
        ..Finished::default()
    };
    match result {
        None if timed_out => {
            done.failure = Some(StepFailure::TimedOut {
                limit_ms: timeout.unwrap_or(started.elapsed()).as_millis() as u64,
            });
        }
        None if cancelled => {}
        None => {
            done.failure = Some(StepFailure::Native(NativeError::Io {
                what: format!("native action `{name}`"),
                reason: "it stopped unexpectedly".to_string(),
            }))
        }
        Some(Err(NativeError::Cancelled)) => done.cancelled = true,
        Some(Err(e)) => {
            done.exit_code = 1;
            done.failure = Some(StepFailure::Native(e));
        }
        Some(Ok(outcome)) => {
            done.log = outcome.log;
            let json = serde_json::Value::Object(outcome.outputs).to_string();
            if let Err(e) = std::fs::write(output_file, json) {
                done.failure = Some(StepFailure::Native(NativeError::Io {
                    what: format!("writing `{}`", output_file.display()),
                    reason: e.to_string(),
                }));
                return done;
            }
            done.ok = true;
            done.exit_code = 0;
            done.stdout = outcome.stdout;
        }
    }
    done
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
        "http.request" => http::request(args),
        "notify.webhook" => http::webhook(args),
        "fs.ensure_dir" => fs::ensure_dir(args),
        "fs.copy" => fs::copy(args),
        "fs.checksum" => fs::checksum(args),
        "fs.wait_for" => fs::wait_for(args, cancel),
        "git.sha" => git::sha(),
        "git.branch" => git::branch(),
        "git.changed_files" => git::changed_files(args),
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

mod request;

/// `std/http`: requests with ureq (rustls for HTTPS).
mod http {
    pub(super) use super::request::request;
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
                    method: method.to_string(),
                    url: url.to_string(),
                    reason: t.to_string(),
                })
            }
        };
        let status = response.status();
        let body = response.into_string().map_err(|e| NativeError::Request {
            method: method.to_string(),
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

    /// `notify.webhook(url, text)`: posts `{"text": text}`, the shape Slack, Mattermost
    /// and most chat webhooks accept.
    pub(super) fn webhook(args: &Args) -> Result<Outcome, NativeError> {
        let url = text(args, "url");
        let body = serde_json::json!({ "text": text(args, "text") }).to_string();
        let timeout = duration(args, "timeout", Duration::from_secs(30));
        let answer = send("POST", &url, Some(&body), timeout)?;
        finish("POST", &url, answer, false)
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

/// `std/fs`: files and directories, relative to the working directory of the run.
mod fs {
    use super::*;
    use std::path::Path;

    fn io(what: String) -> impl FnOnce(std::io::Error) -> NativeError {
        move |e| NativeError::Io {
            what,
            reason: e.to_string(),
        }
    }

    fn outputs(pairs: &[(&str, serde_json::Value)]) -> serde_json::Map<String, serde_json::Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// `fs.ensure_dir(path)`: creates the directory and its parents if missing.
    pub(super) fn ensure_dir(args: &Args) -> Result<Outcome, NativeError> {
        let path = text(args, "path");
        std::fs::create_dir_all(&path).map_err(io(format!("creating directory `{path}`")))?;
        Ok(Outcome {
            log: vec![format!("directory {path} is there")],
            outputs: outputs(&[("path", path.clone().into())]),
            stdout: path,
        })
    }

    /// `fs.copy(from, to)`: copies a file, creating the parent directories of `to`; when
    /// `to` is an existing directory the file keeps its name inside it.
    pub(super) fn copy(args: &Args) -> Result<Outcome, NativeError> {
        let from = text(args, "from");
        let mut to = std::path::PathBuf::from(text(args, "to"));
        if to.is_dir() {
            if let Some(name) = Path::new(&from).file_name() {
                to.push(name);
            }
        }
        if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(io(format!("creating directory `{}`", parent.display())))?;
        }
        let bytes = std::fs::copy(&from, &to)
            .map_err(io(format!("copying `{from}` to `{}`", to.display())))?;
        let to = to.display().to_string();
        Ok(Outcome {
            log: vec![format!("copied {from} to {to} ({bytes} bytes)")],
            outputs: outputs(&[("path", to.clone().into()), ("bytes", bytes.into())]),
            stdout: to,
        })
    }

    /// `fs.checksum(path)`: the SHA-256 of a file's contents, read in pieces.
    pub(super) fn checksum(args: &Args) -> Result<Outcome, NativeError> {
        use sha2::Digest;
        use std::io::Read;
        let path = text(args, "path");
        let mut file = std::fs::File::open(&path).map_err(io(format!("opening `{path}`")))?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = file
                .read(&mut buf)
                .map_err(io(format!("reading `{path}`")))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buf[..n]);
        }
        let hex: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Outcome {
            log: vec![format!("sha256 {hex}  {path}")],
            outputs: outputs(&[("sha256", hex.clone().into()), ("bytes", size.into())]),
            stdout: hex,
        })
    }

    /// `fs.wait_for(path, timeout, interval)`: waits until the path exists.
    pub(super) fn wait_for(
        args: &Args,
        cancel: &CancellationSignal,
    ) -> Result<Outcome, NativeError> {
        let path = text(args, "path");
        let timeout = duration(args, "timeout", Duration::from_secs(60));
        let interval = duration(args, "interval", Duration::from_secs(1));
        let deadline = Instant::now() + timeout;
        loop {
            if Path::new(&path).exists() {
                return Ok(Outcome {
                    log: vec![format!("{path} exists")],
                    outputs: outputs(&[("path", path.clone().into())]),
                    stdout: path,
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(NativeError::FileDeadline {
                    path,
                    waited: format_duration(timeout.as_millis() as u64),
                });
            }
            if !sleep(interval.min(left), cancel) {
                return Err(NativeError::Cancelled);
            }
        }
    }
}

/// `std/git`: facts about the repository in the working directory, from the `git`
/// command line.
mod git {
    use super::*;

    /// Runs `git ARGS` and returns its trimmed standard output.
    fn git(args: &[&str]) -> Result<String, NativeError> {
        let what = format!("git {}", args.join(" "));
        let out = std::process::Command::new("git")
            .args(args)
            .output()
            .map_err(|e| NativeError::Io {
                what: what.clone(),
                reason: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(NativeError::Io {
                what,
                reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn one(name: &str, value: serde_json::Value, stdout: String) -> Outcome {
        let mut outputs = serde_json::Map::new();
        outputs.insert(name.to_string(), value);
        Outcome {
            log: vec![format!("{name}: {stdout}")],
            outputs,
            stdout,
        }
    }

    /// `git.sha()`: the commit of HEAD, full and short.
    pub(super) fn sha() -> Result<Outcome, NativeError> {
        let sha = git(&["rev-parse", "HEAD"])?;
        let short = git(&["rev-parse", "--short", "HEAD"])?;
        let mut outcome = one("sha", sha.clone().into(), sha);
        outcome.outputs.insert("short".to_string(), short.into());
        Ok(outcome)
    }

    /// `git.branch()`: the current branch; `HEAD` when detached.
    pub(super) fn branch() -> Result<Outcome, NativeError> {
        let branch = git(&["rev-parse", "--abbrev-ref", "HEAD"])?;
        Ok(one("branch", branch.clone().into(), branch))
    }

    /// `git.changed_files(since)`: the files that differ between `since` and the working
    /// tree (committed or not), sorted.
    pub(super) fn changed_files(args: &Args) -> Result<Outcome, NativeError> {
        let since = text(args, "since");
        let listed = git(&["diff", "--name-only", &since, "--"])?;
        let mut files: Vec<String> = listed
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        files.sort();
        let mut outcome = one("files", files.clone().into(), listed);
        outcome
            .outputs
            .insert("count".to_string(), files.len().into());
        outcome.log = vec![format!("{} file(s) changed since {since}", files.len())];
        Ok(outcome)
    }
}
