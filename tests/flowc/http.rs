//! `http.request` through the real `flowc` binary, against an HTTP server the test starts
//! on 127.0.0.1: what the server receives (method, path and query, headers, body), the
//! typed outputs, an unexpected status (E0490), a server that never answers (E0491), and
//! a secret in a header that is sent but never shown: not on the terminal, not in the
//! events, the logs, the journal, `flowc status` or `flowc plan`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::support::{flowc_in, json_lines, tmp, Output};

/// The secret every test sends in its `Authorization` header.
const TOKEN: &str = "tok-7f3a9c1e55d2";

/// One request as the server received it.
#[derive(Clone, Debug, Default)]
struct Received {
    method: String,
    /// The request target: path and query, as sent.
    target: String,
    /// Header names in lower case, with their values.
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
enum Answer {
    /// Answers with this status, extra headers and body.
    With(u16, Vec<(&'static str, String)>, String),
    /// Reads the request and never answers (until the client gives up).
    Never,
}

/// A small HTTP/1.1 server on a thread, recording every request.
struct Server {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Server {
    fn start(answer: impl Fn(&Received) -> Answer + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(request) = read_request(&mut stream) else {
                    continue;
                };
                log.lock().expect("lock").push(request.clone());
                match answer(&request) {
                    Answer::With(status, headers, body) => {
                        let mut head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                        for (k, v) in headers {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                        let _ = write!(stream, "{head}\r\n{body}");
                    }
                    // Holds the connection open until the client closes it.
                    Answer::Never => {
                        let _ = stream.read_to_end(&mut Vec::new());
                    }
                }
            }
        });
        Server { port, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let mut request = Received {
        method: parts.next()?.to_string(),
        target: parts.next()?.to_string(),
        ..Received::default()
    };
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header.trim().is_empty() {
            break;
        }
        let (k, v) = header.split_once(':')?;
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
        if k == "content-length" {
            length = v.parse().ok()?;
        }
        request.headers.push((k, v));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    request.body = String::from_utf8(body).ok()?;
    Some(request)
}

/// Writes `text` as `w.flow` in `dir` and runs it there with `API_TOKEN` set, with JSON
/// events on stdout.
fn run(dir: &Path, text: &str) -> Output {
    std::fs::write(dir.join("w.flow"), text).expect("write the workflow");
    crate::support::Flowc::new(&["run", "w.flow", "--events", "json"])
        .dir(dir)
        .env_remove("FLOWC_STATE_DIR")
        .env_remove("FLOWC_JOURNAL")
        .env("NO_COLOR", "1")
        .env("API_TOKEN", TOKEN)
        .run()
}

/// Every file under `dir` (logs, journal, outputs) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("readable");
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

/// Checks that the secret is in none of the run's outputs or files, nor in `flowc status`
/// of its run or `flowc plan` of its workflow; gives what `flowc status` printed.
fn assert_never_shown(dir: &Path, out: &Output) -> String {
    assert!(!out.stdout.contains(TOKEN), "events: {}", out.stdout);
    assert!(!out.stderr.contains(TOKEN), "stderr: {}", out.stderr);
    assert_eq!(files_containing(dir, TOKEN), Vec::<String>::new());
    let run_id = json_lines(&out.stdout)
        .iter()
        .find_map(|e| e["run_id"].as_str().map(str::to_string))
        .expect("a run id in the events");
    let mut status = String::new();
    for args in [vec!["status", run_id.as_str()], vec!["plan", "w.flow"]] {
        let shown = flowc_in(dir, &args);
        let text = format!("{}{}", shown.stdout, shown.stderr);
        assert!(!text.contains(TOKEN), "flowc {args:?}: {text}");
        if args[0] == "status" {
            status = text;
        }
    }
    status
}

#[test]
fn a_request_sends_its_method_headers_query_and_record_body() {
    let server = Server::start(|_| {
        Answer::With(
            201,
            vec![
                ("Location", "/deployments/7".to_string()),
                ("X-Trace", "a".to_string()),
                ("X-Trace", "b".to_string()),
            ],
            r#"{"id": 7, "state": "queued"}"#.to_string(),
        )
    });
    let dir = tmp();
    let text = format!(
        r#"import "std/http" as http

workflow w(api: string = "http://127.0.0.1:{port}") {{
  secret token = env("API_TOKEN")
  let spec = {{ name: "web", replicas: 3, canary: true, ratio: 0.5 }}
  step create = http.request(
    method: "post",
    url: "${{api}}/deployments",
    headers: {{ Authorization: "Bearer ${{token}}", "X-Request-Id": "r-1" }},
    query: {{ dry_run: "false", "team name": "a&b" }},
    body: to_json(spec),
    expect: [201],
  )
  step note {{
    run "echo ${{create.status_code}} ${{create.headers["location"]}} ${{create.headers["x-trace"]}} ${{parse_json(create.body, {{ id: 0, state: "" }}).id}} > ledger.txt"
  }}
}}
"#,
        port = server.port
    );
    let out = run(dir.path(), &text);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got = server.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let request = &got[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, "/deployments?dry_run=false&team+name=a%26b");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("x-request-id"), Some("r-1"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&request.body).expect("a JSON body");
    assert_eq!(
        body,
        serde_json::json!({ "name": "web", "replicas": 3, "canary": true, "ratio": 0.5 })
    );
    let ledger = std::fs::read_to_string(dir.path().join("ledger.txt")).expect("ledger");
    assert_eq!(ledger, "201 /deployments/7 a, b 7\n");
    assert_never_shown(dir.path(), &out);
}

#[test]
fn an_unexpected_status_fails_the_step_with_e0490_naming_it_and_masks_the_secret() {
    // The server echoes the credential it was sent, as some error pages do.
    let server = Server::start(|r| {
        let sent = r.header("authorization").unwrap_or_default().to_string();
        Answer::With(403, vec![], format!("token {sent} is not allowed"))
    });
    let dir = tmp();
    let text = format!(
        r#"import "std/http" as http

workflow w() {{
  secret token = env("API_TOKEN")
  step call = http.request(
    url: "http://127.0.0.1:{port}/jobs",
    headers: {{ Authorization: "Bearer ${{token}}" }},
    expect: [200, 204],
  )
  step after_call after call {{ run "touch ran.txt" }}
}}
"#,
        port = server.port
    );
    let out = run(dir.path(), &text);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(server.received().len(), 1);
    let failed = json_lines(&out.stdout)
        .into_iter()
        .find(|e| e["event"] == "step_finished" && e["step"] == "call")
        .expect("call finished");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["code"], "E0490");
    let message = failed["message"].as_str().expect("a message");
    assert!(
        message.contains("answered 403, expected 200 or 204"),
        "{message}"
    );
    assert!(
        message.contains("token Bearer *** is not allowed"),
        "{message}"
    );
    assert!(!dir.path().join("ran.txt").exists());
    let status = assert_never_shown(dir.path(), &out);
    assert!(
        status.contains("E0490") && status.contains("token Bearer *** is not allowed"),
        "{status}"
    );
}

#[test]
fn a_server_that_never_answers_fails_the_step_with_e0491() {
    let server = Server::start(|_| Answer::Never);
    let dir = tmp();
    let text = format!(
        r#"import "std/http" as http

workflow w() {{
  step call = http.request(url: "http://127.0.0.1:{port}/slow", timeout: 300ms)
}}
"#,
        port = server.port
    );
    let out = run(dir.path(), &text);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let failed = json_lines(&out.stdout)
        .into_iter()
        .find(|e| e["event"] == "step_finished" && e["step"] == "call")
        .expect("call finished");
    assert_eq!(failed["code"], "E0491", "{failed}");
    assert!(
        failed["message"]
            .as_str()
            .is_some_and(|m| m.contains("/slow got no answer within 300ms")),
        "{failed}"
    );
    assert_eq!(server.received().len(), 1, "the request was sent");
}

#[test]
fn a_secret_outside_the_headers_is_refused_before_anything_runs() {
    let dir = tmp();
    let text = r#"import "std/http" as http

workflow w() {
  secret token = env("API_TOKEN")
  step call = http.request(url: "http://127.0.0.1:1/x", query: { key: "${token}" })
}
"#;
    let out = run(dir.path(), text);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("error[E0205]"), "{}", out.stderr);
    assert!(
        out.stderr.contains("a secret goes only into `env` entries"),
        "{}",
        out.stderr
    );
}
