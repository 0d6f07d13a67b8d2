//! `http.request`: one HTTP request with a method, headers, query parameters, a body and a
//! timeout, checked against the statuses it expects; the task's evaluated parameters in,
//! an [`Outcome`] with the typed outputs `status_code`, `body` and `headers` out.
//!
//! A header's value may be a secret (`"Bearer ${token}"`, a [`Value::Secret`]): it is sent
//! and never written anywhere else. Nothing here puts a header's value into a log line or
//! an error message; the URL and query (which cannot hold a secret: the checker refuses
//! one there) and the answer's status and body may appear in both, and the runtime redacts
//! every secret of the run from those as from any step's output.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{duration, text, Args, NativeError, Outcome};
use crate::runtime::eval::{format_duration, Value};

/// How much of an unexpected answer's body its error message shows.
const EXCERPT_CHARS: usize = 200;

/// What a request is made of, read from the task's parameters.
struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<String>,
    timeout: Duration,
    expect: Vec<u16>,
}

/// `http.request(url, method, headers, query, body, timeout, expect)`.
pub(super) fn request(args: &Args) -> Result<Outcome, NativeError> {
    let req = Request::from_args(args)?;
    let mut call = ureq::AgentBuilder::new()
        .timeout(req.timeout)
        .build()
        .request(&req.method, &req.url);
    for (k, v) in &req.query {
        call = call.query(k, v);
    }
    // The URL as sent, its query percent-encoded (as written when it does not parse: then
    // sending fails and says why).
    let shown = match call.request_url() {
        Ok(u) => u.as_url().to_string(),
        Err(_) => req.url.clone(),
    };
    for (name, value) in &req.headers {
        call = call.set(name, value);
    }
    let started = Instant::now();
    let result = match &req.body {
        Some(body) => call.send_string(body),
        None => call.call(),
    };
    let response = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => return Err(req.transport(&shown, &t)),
    };
    let status = response.status();
    let mut headers: BTreeMap<String, Value> = BTreeMap::new();
    for name in response.headers_names() {
        let joined = response.all(&name).join(", ");
        headers.insert(name, Value::Str(joined));
    }
    let body = response.into_string().map_err(|e| {
        if is_timeout(&e) {
            req.timed_out(&shown)
        } else {
            NativeError::Request {
                method: req.method.clone(),
                url: shown.clone(),
                reason: format!("reading the body: {e}"),
            }
        }
    })?;
    if !req.expects(status) {
        return Err(NativeError::UnexpectedStatus {
            request: format!("{} {shown}", req.method),
            status,
            expected: req.expected_text(),
            excerpt: excerpt(&body),
        });
    }
    let mut outputs = serde_json::Map::new();
    outputs.insert("status_code".to_string(), status.into());
    outputs.insert("body".to_string(), body.clone().into());
    outputs.insert(
        "headers".to_string(),
        super::super::eval::to_json(&Value::Map(headers)),
    );
    Ok(Outcome {
        log: vec![format!(
            "{} {shown} -> {status} ({})",
            req.method,
            format_duration(started.elapsed().as_millis() as u64)
        )],
        stdout: body,
        outputs,
    })
}

impl Request {
    fn from_args(args: &Args) -> Result<Request, NativeError> {
        let method = text(args, "method").trim().to_ascii_uppercase();
        if method.is_empty() || !method.bytes().all(is_token_byte) {
            return Err(NativeError::BadRequest {
                reason: format!("{method:?} is not an HTTP method"),
                help: Some("use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS".to_string()),
            });
        }
        let headers = entries(args, "headers");
        for (name, value) in &headers {
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return Err(NativeError::BadRequest {
                    reason: format!("{name:?} is not a header name"),
                    help: Some(
                        "a header name is letters, digits and `-`, like `X-Request-Id`".to_string(),
                    ),
                });
            }
            // The value is never shown: it may be a secret.
            if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(NativeError::BadRequest {
                    reason: format!("the value of header `{name}` has a line break or NUL"),
                    help: Some("a header's value is one line of text".to_string()),
                });
            }
        }
        let body = text(args, "body");
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.to_ascii_lowercase());
        let mut headers = headers;
        let body = if body.is_empty() {
            None
        } else {
            let json = match &content_type {
                Some(t) => t.contains("json"),
                None => {
                    headers.push(("Content-Type".to_string(), "application/json".to_string()));
                    true
                }
            };
            if json {
                if let Err(e) = serde_json::from_str::<serde_json::Value>(&body) {
                    return Err(NativeError::BadJson {
                        reason: e.to_string(),
                    });
                }
            }
            Some(body)
        };
        let expect = match args.get("expect") {
            Some(Value::List(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Int(i) => u16::try_from(*i)
                        .ok()
                        .filter(|s| (100..600).contains(s))
                        .ok_or_else(|| NativeError::BadRequest {
                            reason: format!("{i} in `expect` is not an HTTP status"),
                            help: Some("statuses are 100 to 599".to_string()),
                        }),
                    other => Err(NativeError::BadRequest {
                        reason: format!("{other} in `expect` is not an HTTP status"),
                        help: None,
                    }),
                })
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        Ok(Request {
            method,
            url: text(args, "url"),
            headers,
            query: entries(args, "query"),
            body,
            timeout: duration(args, "timeout", Duration::from_secs(30)),
            expect,
        })
    }

    /// Whether `status` counts as success: one of `expect`, or any 2xx when it is empty.
    fn expects(&self, status: u16) -> bool {
        if self.expect.is_empty() {
            (200..300).contains(&status)
        } else {
            self.expect.contains(&status)
        }
    }

    /// `expect` in words: `200`, `200 or 201`, `any 2xx`.
    fn expected_text(&self) -> String {
        match self.expect.as_slice() {
            [] => "any 2xx".to_string(),
            [only] => only.to_string(),
            [rest @ .., last] => {
                let rest: Vec<String> = rest.iter().map(u16::to_string).collect();
                format!("{} or {last}", rest.join(", "))
            }
        }
    }

    fn timed_out(&self, shown: &str) -> NativeError {
        NativeError::RequestTimedOut {
            request: format!("{} {shown}", self.method),
            waited: format_duration(self.timeout.as_millis() as u64),
        }
    }

    /// The error of a request that got no answer.
    fn transport(&self, shown: &str, t: &ureq::Transport) -> NativeError {
        let timed_out = std::error::Error::source(t)
            .and_then(|e| e.downcast_ref::<std::io::Error>())
            .is_some_and(is_timeout);
        if timed_out {
            return self.timed_out(shown);
        }
        NativeError::Request {
            method: self.method.clone(),
            url: shown.to_string(),
            reason: t.to_string(),
        }
    }
}

/// The entries of a map parameter, values as text (a secret's too: it is sent).
fn entries(args: &Args, name: &str) -> Vec<(String, String)> {
    match args.get(name) {
        Some(Value::Map(m)) => m.iter().map(|(k, v)| (k.clone(), v.to_text())).collect(),
        _ => Vec::new(),
    }
}

/// A byte of an HTTP token (a method or a header name), RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

/// `: ` and the start of a body, on one line, or nothing for an empty body.
fn excerpt(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return String::new();
    }
    let mut cut: String = one_line.chars().take(EXCERPT_CHARS).collect();
    if cut.len() < one_line.len() {
        cut.push_str("...");
    }
    format!(": {cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Value)]) -> Args {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_method_or_header_that_cannot_be_sent_is_refused_before_sending() {
        let bad_method = args(&[("method", Value::Str("GE T".to_string()))]);
        let e = request(&bad_method).expect_err("refused");
        assert_eq!(e.reason().split(':').next(), Some("E0492"));
        let mut headers = BTreeMap::new();
        headers.insert(
            "X-Token".to_string(),
            Value::Secret("a\r\nInjected: yes".to_string()),
        );
        let bad_value = args(&[
            ("method", Value::Str("GET".to_string())),
            ("headers", Value::Map(headers)),
        ]);
        let e = request(&bad_value).expect_err("refused");
        assert!(e.to_string().contains("`X-Token`"), "{e}");
        assert!(!e.to_string().contains("Injected"), "{e}");
        let bad_status = args(&[
            ("method", Value::Str("GET".to_string())),
            ("expect", Value::List(vec![Value::Int(42)])),
        ]);
        assert!(request(&bad_status)
            .expect_err("refused")
            .to_string()
            .contains("42 in `expect`"));
    }

    #[test]
    fn expected_statuses_read_as_words() {
        let mut req = Request::from_args(&args(&[("method", Value::Str("get".to_string()))]))
            .expect("builds");
        assert_eq!(req.method, "GET");
        assert_eq!(req.expected_text(), "any 2xx");
        assert!(req.expects(204) && !req.expects(301));
        req.expect = vec![200, 201, 409];
        assert_eq!(req.expected_text(), "200, 201 or 409");
        assert!(req.expects(409) && !req.expects(204));
    }

    #[test]
    fn an_excerpt_is_one_short_line() {
        assert_eq!(excerpt(""), "");
        assert_eq!(
            excerpt("{\n  \"error\": \"no\"\n}"),
            ": { \"error\": \"no\" }"
        );
        let long = "x".repeat(500);
        assert_eq!(excerpt(&long).chars().count(), 2 + EXCERPT_CHARS + 3);
    }
}
