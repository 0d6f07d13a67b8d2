//! The standard library, run for real: `std/http` against an HTTP server the test starts on
//! 127.0.0.1, through the real `flowc` binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::support::{tmp, Flowc, Output};

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, like `/health`.
    pub path: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: String,
}

/// A small HTTP/1.1 server on a thread: answers each request with what `answer` says
/// (status and body, given the request and how many came before it) and records them all.
pub struct Server {
    /// The port it listens on.
    pub port: u16,
    /// Every request so far.
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    /// Starts the server.
    pub fn start(answer: impl Fn(&Request, usize) -> (u16, String) + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let path = parts.next().unwrap_or_default().to_string();
                let mut length = 0usize;
                let mut content_type = None;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = header.split_once(':') {
                        match k.trim().to_ascii_lowercase().as_str() {
                            "content-length" => length = v.trim().parse().unwrap_or(0),
                            "content-type" => content_type = Some(v.trim().to_string()),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let request = Request {
                    method,
                    path,
                    content_type,
                    body: String::from_utf8_lossy(&body).into_owned(),
                };
                let count = {
                    let mut all = seen.lock().expect("lock");
                    all.push(request.clone());
                    all.len() - 1
                };
                let (status, text) = answer(&request, count);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        Server { port, requests }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }
}

/// Writes `text` as `w.flow` in `dir` and runs it there.
pub fn run_in(dir: &Path, text: &str, extra: &[&str]) -> Output {
    std::fs::write(dir.join("w.flow"), text).expect("write the workflow");
    let mut args = vec!["run", "w.flow", "--log-dir", "logs"];
    args.extend_from_slice(extra);
    Flowc::new(&args).dir(dir).run()
}

#[test]
fn http_get_gives_typed_status_code_and_body() {
    let server = Server::start(|r, _| match r.path.as_str() {
        "/version" => (200, "1.4.2".to_string()),
        _ => (404, "no".to_string()),
    });
    let dir = tmp();
    let text = format!(
        r#"import "std/http" as http
workflow w(port: int = {}) {{
  step version = http.get(url: "http://127.0.0.1:${{port}}/version")
  step show {{ run "echo got ${{version.body}} with ${{version.status_code + 1}}" }}
}}
"#,
        server.port
    );
    let out = run_in(dir.path(), &text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("show | got 1.4.2 with 201"),
        "{}",
        out.stderr
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
}

#[test]
fn http_get_fails_on_an_error_status_unless_allowed() {
    let server = Server::start(|_, _| (503, "down for maintenance".to_string()));
    let dir = tmp();
    let text = format!(
        r#"import "std/http" as http
workflow w(port: int = {}) {{
  step strict = http.get(url: "http://127.0.0.1:${{port}}/") {{ on_failure continue }}
  step lenient = http.get(url: "http://127.0.0.1:${{port}}/", allow_error: true)
  step show {{ run "echo ${{strict.status}} ${{lenient.status_code}} ${{lenient.body}}" }}
}}
"#,
        server.port
    );
    let out = run_in(dir.path(), &text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("E0451"), "{}", out.stderr);
    assert!(out.stderr.contains("answered 503"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("show | failed 503 down for maintenance"),
        "{}",
        out.stderr
    );
}

#[test]
fn http_post_sends_json() {
    let server = Server::start(|r, _| (201, format!("echo:{}", r.body)));
    let dir = tmp();
    let text = format!(
        r#"import "std/http" as http
workflow w(port: int = {}) {{
  step send = http.post(url: "http://127.0.0.1:${{port}}/hook", body: "{{\"text\": \"hi\"}}")
  step show {{ run "echo ${{send.status_code}} ${{send.body}}" }}
}}
"#,
        server.port
    );
    let out = run_in(dir.path(), &text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(r#"show | 201 echo:{"text": "hi"}"#),
        "{}",
        out.stderr
    );
    let requests = server.requests();
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/hook");
    assert_eq!(
        requests[0].content_type.as_deref(),
        Some("application/json")
    );
}

#[test]
fn http_post_rejects_a_body_that_is_not_json_before_sending() {
    let server = Server::start(|_, _| (200, String::new()));
    let dir = tmp();
    let text = format!(
        r#"import "std/http" as http
workflow w(port: int = {}) {{
  step send = http.post(url: "http://127.0.0.1:${{port}}/", body: "{{not json")
}}
"#,
        server.port
    );
    let out = run_in(dir.path(), &text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("E0453"), "{}", out.stderr);
    assert!(server.requests().is_empty());
}

#[test]
fn http_wait_ok_polls_until_healthy() {
    // Unhealthy for the first three requests, then healthy.
    let server = Server::start(|_, n| {
        if n < 3 {
            (503, "starting".to_string())
        } else {
            (200, "ok".to_string())
        }
    });
    let dir = tmp();
    let text = format!(
        r#"import "std/http" as http
workflow w(port: int = {}) {{
  step health = http.wait_ok(url: "http://127.0.0.1:${{port}}/health", timeout: 20s, interval: 50ms)
  step show {{ run "echo ${{health.status_code}} ${{health.body}}" }}
}}
"#,
        server.port
    );
    let out = run_in(dir.path(), &text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("show | 200 ok"), "{}", out.stderr);
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn http_wait_ok_fails_at_its_deadline() {
    let server = Server::start(|_, _| (500, "broken".to_string()));
    let dir = tmp();
    let text = format!(
        r#"import "std/http" as http
workflow w(port: int = {}) {{
  step health = http.wait_ok(url: "http://127.0.0.1:${{port}}/", timeout: 1500ms, interval: 100ms)
}}
"#,
        server.port
    );
    let out = run_in(dir.path(), &text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("E0452"), "{}", out.stderr);
    assert!(out.stderr.contains("last: status 500"), "{}", out.stderr);
    // It polls until the deadline: at most one request per interval, and more than one
    // even on a loaded machine (the deadline leaves room for a slow first answer).
    let n = server.requests().len();
    assert!((2..=16).contains(&n), "{n} requests");
}

#[test]
fn http_get_without_a_server_is_a_request_error() {
    // Bind and drop, so the port is (almost certainly) closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tmp();
    let text = format!(
        r#"import "std/http" as http
workflow w(port: int = {port}) {{
  step get = http.get(url: "http://127.0.0.1:${{port}}/")
}}
"#
    );
    let out = run_in(dir.path(), &text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("E0450"), "{}", out.stderr);
}

/// Serves one fake standard-library module, `std/fake`, from memory.
struct FakeStd(&'static str);

impl flowc::check::Loader for FakeStd {
    fn load(
        &self,
        _importer: Option<&Path>,
        spec: &str,
    ) -> Result<flowc::check::Loaded, flowc::check::LoadError> {
        if spec != "std/fake" {
            return Err(flowc::check::LoadError::NotFound(vec![spec.to_string()]));
        }
        Ok(flowc::check::Loaded {
            name: "<std/fake>".to_string(),
            path: None,
            key: spec.to_string(),
            text: self.0.to_string(),
        })
    }
}

#[test]
fn a_stdlib_task_must_name_a_native_action_the_runtime_has() {
    use flowc::source::{SourceFile, SourceMap};
    let mut sources = SourceMap::new();
    let root = "import \"std/fake\" as fake\nworkflow w { step s = fake.get(url: \"x\") }\n";
    let id = sources.add(SourceFile::new("w.flow", None, root));
    let diags = flowc::compile(
        &mut sources,
        id,
        &FakeStd("task get(url: string) { native \"http.gett\" }\n"),
    )
    .expect_err("an unknown native action is an error");
    let rendered = crate::support::render_all(&sources, &diags, flowc::diagnostics::Format::Human);
    assert_eq!(crate::support::codes(&diags), ["E0114"], "{rendered}");
    assert!(rendered.contains("did you mean `http.get`?"), "{rendered}");
}

#[test]
fn the_runtime_refuses_a_native_action_it_does_not_have() {
    let err = flowc::runtime::native::call(
        "fs.teleport",
        &Default::default(),
        &flowc::runtime::process::CancellationSignal::never(),
    )
    .expect_err("no such action");
    let code = miette::Diagnostic::code(&err).map(|c| c.to_string());
    assert_eq!(code.as_deref(), Some("E0454"), "{}", err.reason());
    assert!(err.reason().contains("fs.teleport"), "{}", err.reason());
}

/// Runs `git ARGS` in `dir`, failing the test if it fails.
fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn git_facts_come_from_a_real_repository() {
    let dir = tmp();
    let d = dir.path();
    git(d, &["init", "--quiet", "--initial-branch", "trunk"]);
    std::fs::write(d.join("a.txt"), "a").expect("write");
    std::fs::write(d.join("b.txt"), "b").expect("write");
    git(d, &["add", "."]);
    git(d, &["commit", "--quiet", "-m", "one"]);
    git(d, &["tag", "v1"]);
    std::fs::write(d.join("b.txt"), "b2").expect("write");
    std::fs::create_dir(d.join("src")).expect("mkdir");
    std::fs::write(d.join("src/c.txt"), "c").expect("write");
    git(d, &["add", "."]);
    git(d, &["commit", "--quiet", "-m", "two"]);
    let sha = git_out(d, &["rev-parse", "HEAD"]);
    let short = git_out(d, &["rev-parse", "--short", "HEAD"]);
    let text = r#"import "std/git" as git
workflow w {
  step head = git.sha()
  step branch = git.branch()
  step changed = git.changed_files(since: "v1")
  step show {
    run "echo sha=${head.sha} short=${head.short} branch=${branch.branch} n=${changed.count} files=${join(changed.files, ",")}"
  }
}
"#;
    let out = run_in(d, text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let want = format!("show | sha={sha} short={short} branch=trunk n=2 files=b.txt,src/c.txt");
    assert!(out.stderr.contains(&want), "want {want}\n{}", out.stderr);
}

#[test]
fn git_outside_a_repository_fails_with_a_code() {
    let dir = tmp();
    std::fs::write(
        dir.path().join("w.flow"),
        "import \"std/git\" as git\nworkflow w { step head = git.sha() }\n",
    )
    .expect("write");
    // The ceiling keeps git from finding a repository above the temporary directory.
    let parent = dir.path().parent().expect("parent").display().to_string();
    let out = Flowc::new(&["run", "w.flow", "--log-dir", "logs"])
        .dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", &parent)
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("E0454"), "{}", out.stderr);
}

#[test]
fn fs_tasks_make_directories_copy_hash_and_wait() {
    let dir = tmp();
    let d = dir.path();
    std::fs::write(d.join("app.bin"), "abc").expect("write");
    let text = r#"import "std/fs" as fs
workflow w {
  step dist = fs.ensure_dir(path: "dist/deep")
  step copy after dist = fs.copy(from: "app.bin", to: "dist/deep")
  step sum = fs.checksum(path: copy.path)
  step late { run "sh -c 'sleep 0.3 && touch ready.flag'" }
  step ready = fs.wait_for(path: "ready.flag", timeout: 20s, interval: 50ms)
  step show { run "echo ${copy.path} ${copy.bytes} ${sum.sha256} ${ready.path}" }
}
"#;
    let out = run_in(d, text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "show | dist/deep/app.bin 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad ready.flag"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(d.join("dist/deep/app.bin")).expect("copied"),
        "abc"
    );
}

#[test]
fn fs_failures_have_codes() {
    let dir = tmp();
    let text = r#"import "std/fs" as fs
workflow w {
  step sum = fs.checksum(path: "missing.bin") { on_failure continue }
  step wait = fs.wait_for(path: "never.flag", timeout: 200ms, interval: 50ms)
}
"#;
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("error[E0454]: step `sum` failed: opening `missing.bin`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("E0457"), "{}", out.stderr);
}

#[test]
fn notify_webhook_posts_the_text_as_json() {
    let server = Server::start(|_, _| (200, "ok".to_string()));
    let dir = tmp();
    let text = format!(
        r#"import "std/notify" as notify
workflow w(port: int = {}) {{
  step tell = notify.webhook(url: "http://127.0.0.1:${{port}}/hook", text: "deployed \"v2\" to eu")
}}
"#,
        server.port
    );
    let out = run_in(dir.path(), &text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&requests[0].body).expect("JSON body");
    assert_eq!(body, serde_json::json!({ "text": "deployed \"v2\" to eu" }));
    assert_eq!(
        requests[0].content_type.as_deref(),
        Some("application/json")
    );
}

/// A directory of fake `docker` and `kubectl` executables that append their arguments,
/// one call per line, to `calls.txt` beside them.
fn fake_tools(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    for tool in ["docker", "kubectl"] {
        let path = bin.join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nprintf '%s' '{tool}' >> '{calls}'\nfor a in \"$@\"; do printf ' [%s]' \"$a\" >> '{calls}'; done\necho >> '{calls}'\n",
                calls = bin.join("calls.txt").display()
            ),
        )
        .expect("write tool");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    bin
}

#[test]
fn docker_and_k8s_tasks_run_the_command_lines() {
    let dir = tmp();
    let bin = fake_tools(dir.path());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let text = r#"import "std/docker" as docker
import "std/k8s" as k8s
workflow w(image: string = "registry.example.com/app:1 2") {
  step build = docker.build(image: image, context: "app")
  step push after build = docker.push(image: image)
  step apply after push = k8s.apply(path: "deploy/", namespace: "prod")
  step roll after apply = k8s.set_image(deployment: "api", container: "app", image: image, context: "eu")
  step ready after roll = k8s.wait_ready(deployment: "api", timeout: 2m)
  step undo after ready = k8s.undo(deployment: "api", namespace: "prod")
}
"#;
    std::fs::write(dir.path().join("w.flow"), text).expect("write");
    let out = Flowc::new(&["run", "w.flow", "--log-dir", "logs"])
        .dir(dir.path())
        .env("PATH", &path)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let calls = std::fs::read_to_string(bin.join("calls.txt")).expect("calls recorded");
    let want = "\
docker [build] [--tag] [registry.example.com/app:1 2] [--file] [Dockerfile] [app]
docker [push] [registry.example.com/app:1 2]
kubectl [--namespace] [prod] [apply] [--filename] [deploy/]
kubectl [--namespace] [default] [--context] [eu] [set] [image] [deployment/api] [app=registry.example.com/app:1 2]
kubectl [--namespace] [default] [rollout] [status] [deployment/api] [--timeout=120s]
kubectl [--namespace] [prod] [rollout] [undo] [deployment/api]
";
    assert_eq!(calls, want);
}

#[test]
fn docs_stdlib_md_is_generated_from_the_sources() {
    let out = Flowc::new(&["doc", "--markdown", "--all"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let committed = std::fs::read_to_string(crate::support::root().join("docs/stdlib.md"))
        .expect("docs/stdlib.md exists");
    assert!(
        committed == out.stdout,
        "docs/stdlib.md is out of date: run `cargo run -- doc --markdown --all > docs/stdlib.md`"
    );
    for heading in [
        "## std/http",
        "### `http.wait_ok`",
        "### `parse_json`",
        "## std/k8s",
    ] {
        assert!(out.stdout.contains(heading), "missing {heading}");
    }
}

#[test]
fn flowc_doc_shows_a_module_a_member_and_builtins() {
    let out = Flowc::new(&["doc", "std/http"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("std/http\n  HTTP requests"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("task wait_ok(url: string, timeout: duration = 2m, interval: duration = 5s)  (http.wait_ok)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("status_code  int. The status of the first 2xx answer."),
        "{}",
        out.stdout
    );

    let one = Flowc::new(&["doc", "std/fs.checksum"]).run();
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(
        one.stdout
            .starts_with("task checksum(path: string)  (fs.checksum)"),
        "{}",
        one.stdout
    );
    assert!(!one.stdout.contains("wait_for"), "{}", one.stdout);

    let f = Flowc::new(&["doc", "builtins.parse_json"]).run();
    assert_eq!(f.code, 0, "{}", f.stderr);
    assert!(
        f.stdout
            .starts_with("parse_json(text: string, default: A) -> A"),
        "{}",
        f.stdout
    );

    let all = Flowc::new(&["doc"]).run();
    assert_eq!(all.code, 0);
    for m in [
        "builtins",
        "std/docker",
        "std/fs",
        "std/git",
        "std/http",
        "std/k8s",
        "std/notify",
    ] {
        assert!(
            all.stdout.contains(&format!("  {m} ")),
            "{m} not listed: {}",
            all.stdout
        );
    }
}

#[test]
fn flowc_doc_reads_the_users_own_modules() {
    let dir = tmp();
    std::fs::write(
        dir.path().join("common.flow"),
        r#"// Shared steps of our services.

/// Where images go.
let registry = "registry.example.com"

/// Builds one service's image.
task build_image(
  /// The service to build.
  service: string,
  /// The tag.
  tag: string = "latest",
) {
  run "./build.sh ${service} ${registry}/${service}:${tag}"
  outputs {
    /// The pushed digest.
    digest: string
  }
}
"#,
    )
    .expect("write");
    let out = Flowc::new(&["doc", "common.flow.build_image"])
        .dir(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "task build_image(service: string, tag: string = \"latest\")  (common.build_image)\n    Builds one service's image.\n  parameters:\n    service  string. The service to build.\n    tag      string = \"latest\". The tag.\n  outputs:\n    digest   string. The pushed digest.\n"
    );
    let md = Flowc::new(&["doc", "--markdown", "common.flow"])
        .dir(dir.path())
        .run();
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(
        md.stdout
            .starts_with("## common.flow\n\nShared steps of our services.\n"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout
            .contains("let registry = \"registry.example.com\""),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout
            .contains("| `tag` | `string` | `\"latest\"` | The tag. |"),
        "{}",
        md.stdout
    );
}

#[test]
fn flowc_doc_refuses_unknown_modules_and_members() {
    let out = Flowc::new(&["doc", "std/htp"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("E0605") && out.stderr.contains("did you mean `std/http`?"),
        "{}",
        out.stderr
    );
    let out = Flowc::new(&["doc", "std/http.wait"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("error[E0605]: `std/http` has no member `wait`")
            && out.stderr.contains("did you mean `wait_ok`?"),
        "{}",
        out.stderr
    );
    let out = Flowc::new(&["doc", "missing.flow"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0010"), "{}", out.stderr);
}

#[test]
fn a_task_from_the_users_own_module_runs_with_that_modules_constants() {
    let dir = tmp();
    std::fs::create_dir(dir.path().join("lib")).expect("mkdir");
    std::fs::write(
        dir.path().join("lib/common.flow"),
        r#"/// Where images go.
let registry = "registry.example.com"

/// Prints the image of a service.
task show(service: string, tag: string = "latest") {
  run "echo image ${registry}/${service}:${tag}"
}
"#,
    )
    .expect("write");
    let text = r#"import "./lib/common.flow" as common
workflow w {
  step api = common.show(service: "api")
  step web = common.show(service: "web", tag: "v2")
  step reg { run "echo registry ${common.registry}" }
}
"#;
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in [
        "api | image registry.example.com/api:latest",
        "web | image registry.example.com/web:v2",
        "reg | registry registry.example.com",
    ] {
        assert!(out.stderr.contains(line), "missing {line}: {}", out.stderr);
    }
}

#[test]
fn named_retry_policies_apply_in_steps_and_defaults() {
    let dir = tmp();
    // `flaky` fails once, then succeeds; `usage` fails with exit code 2, which
    // `transient` does not retry.
    let text = r#"import "std/retry" as retry
workflow w {
  defaults { retry retry.transient }
  step flaky { run "sh -c 'test -f flaky.flag || { touch flaky.flag; exit 1; }'" }
  step usage {
    run "sh -c 'exit 2'"
    on_failure continue
  }
}
"#;
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("flaky: exit code 1; attempt 2 in 500ms"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("flaky succeeded"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("usage: exit code 2; attempt 2"),
        "{}",
        out.stderr
    );

    let plan = Flowc::new(&["plan", "w.flow"]).dir(dir.path()).run();
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains("flaky  retry 3 (fixed 500ms, if exit_code != 2)"),
        "{}",
        plan.stdout
    );
}

/// A file with a sub-workflow `deploy_region`, called twice by `main`, and nested once
/// through `wave`.
const SUB_WORKFLOWS: &str = r#"/// Roll one region out.
workflow deploy_region(region: string, image: string, canary: bool = false) {
  defaults { timeout 5m }
  let tag = "${image}-${region}"
  step push { run "echo push ${tag} >> order.txt" }
  step roll after push when !canary { run "echo roll ${region} >> order.txt" }
  step check after roll { run "test ${region} != broken && echo check ${region} >> order.txt" }
}

/// Two regions, one after the other.
workflow wave(first: string, image: string) {
  step a = deploy_region(region: first, image: image)
  step b after a = deploy_region(region: "us", image: image, canary: true)
}

workflow main(first: string = "eu") {
  step build {
    run "sh -c 'echo digest=abc > $FLOW_OUTPUT'"
    outputs { digest: string }
  }
  step w = wave(first: first, image: "app@${build.digest}")
  step done after w { run "echo done ${w.status} >> order.txt" }
}
"#;

#[test]
fn a_sub_workflow_runs_as_steps_of_the_caller_with_dotted_names() {
    let dir = tmp();
    std::fs::write(dir.path().join("w.flow"), SUB_WORKFLOWS).expect("write");
    let out = Flowc::new(&["run", "w.flow", "--workflow", "main", "--log-dir", "logs"])
        .dir(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let order = std::fs::read_to_string(dir.path().join("order.txt")).expect("order");
    assert_eq!(
        order,
        "push app@abc-eu\nroll eu\ncheck eu\npush app@abc-us\ncheck us\ndone succeeded\n"
    );
    for line in [
        "▶ w.a.push",
        "✔ w.a.check succeeded",
        "⤼ w.b.roll skipped: its condition is false",
        "✔ w.b succeeded",
        "✔ w succeeded",
    ] {
        assert!(out.stderr.contains(line), "missing {line}: {}", out.stderr);
    }

    let graph = Flowc::new(&["graph", "w.flow", "--workflow", "main"])
        .dir(dir.path())
        .run();
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    for line in [
        "  step w.a.push\n    <- build (data)\n",
        "  step w.b.push\n    <- build (data)\n    <- w.a (after)\n",
        // The call waits for the inner steps nothing else inner waits for: `w.b`, which
        // itself runs after `w.a`.
        "  step w\n    <- w.b (after)\n",
        "  step w.b\n    <- w.a (after)\n    <- w.b.check (after)\n",
        "  step done\n    <- w (after)\n",
    ] {
        assert!(
            graph.stdout.contains(line),
            "missing {line:?}: {}",
            graph.stdout
        );
    }
}

#[test]
fn a_failure_inside_a_sub_workflow_fails_the_caller() {
    let dir = tmp();
    std::fs::write(dir.path().join("w.flow"), SUB_WORKFLOWS).expect("write");
    let out = Flowc::new(&[
        "run",
        "w.flow",
        "--workflow",
        "main",
        "--var",
        "first=broken",
        "--log-dir",
        "logs",
    ])
    .dir(dir.path())
    .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("step `w.a.check` failed"),
        "{}",
        out.stderr
    );
    let order = std::fs::read_to_string(dir.path().join("order.txt")).expect("order");
    assert_eq!(
        order, "push app@abc-broken\nroll broken\n",
        "nothing after the failure runs"
    );
}
