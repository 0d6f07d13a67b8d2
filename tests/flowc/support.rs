//! Shared helpers: running the pipeline on text and running the real `flowc` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use flowc::check::FsLoader;
use flowc::diagnostics::{render, Diagnostics, Format, RenderOptions};
use flowc::source::{SourceFile, SourceMap};

/// A new temporary directory, removed when dropped.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// `flowc ARGS` in `dir`, journaled in the default place (`dir/.flow`), no colour.
pub fn flowc_in(dir: &Path, args: &[&str]) -> Output {
    Flowc::new(args)
        .dir(dir)
        .env_remove("FLOWC_STATE_DIR")
        .env_remove("FLOWC_JOURNAL")
        .env("NO_COLOR", "1")
        .run()
}

/// `flowc ARGS` in `dir` as a command to spawn or to run with more settings: journaled in
/// the default place (`dir/.flow`), no fault injection, no colour, no standard input.
pub fn command_in(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowc"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("FLOWC_STATE_DIR")
        .env_remove("FLOWC_JOURNAL")
        .env_remove("FLOWC_FAULT")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    cmd
}

/// Writes `text` as `w.flow` in `dir` and runs `flowc run w.flow EXTRA` there, as
/// [`flowc_in`] does.
pub fn run_in(dir: &Path, text: &str, extra: &[&str]) -> Output {
    std::fs::write(dir.join("w.flow"), text).expect("write the workflow");
    let mut args = vec!["run", "w.flow"];
    args.extend_from_slice(extra);
    flowc_in(dir, &args)
}

/// The lines the steps wrote to `dir/ledger`, in order.
pub fn ledger(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

/// The run id a run printed (`run <id>: workflow ...`), or `""` when it printed none.
pub fn run_id(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.split_once(" run ").map(|(_, r)| r))
        .and_then(|r| r.split(':').next())
        .map(str::to_string)
        .unwrap_or_default()
}

/// The JSON objects of a `--format json` or `--events json` output, one a line.
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect()
}

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs parse, check and lower on a file given by its path relative to the crate root.
/// Returns the sources (for rendering) and the diagnostics (errors and warnings).
pub fn compile_path(rel: &Path) -> (SourceMap, Diagnostics) {
    let text = std::fs::read_to_string(root().join(rel)).expect("fixture is readable");
    let mut sources = SourceMap::new();
    let name = rel.display().to_string();
    // Tests run in the crate root, so the relative path finds the file and its imports,
    // and messages show no machine-specific prefix.
    let id = sources.add(SourceFile::new(name, Some(rel.to_path_buf()), text));
    let diags = match flowc::compile(&mut sources, id, &FsLoader) {
        Ok(lowered) => lowered.warnings,
        Err(d) => d,
    };
    (sources, diags)
}

/// Renders diagnostics for snapshots: human format, no colour, 80 columns.
pub fn render_all(sources: &SourceMap, diags: &Diagnostics, format: Format) -> String {
    let opts = RenderOptions {
        color: false,
        width: 80,
    };
    diags
        .iter()
        .map(|d| render(d, sources, format, opts))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The codes of the diagnostics, in order.
pub fn codes(diags: &Diagnostics) -> Vec<String> {
    diags.iter().map(|d| d.code()).collect()
}

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Output {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A run of the real `flowc` binary, built up then executed.
pub struct Flowc {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl Flowc {
    /// `flowc ARGS...` in the crate root, with colour and terminal width pinned.
    pub fn new(args: &[&str]) -> Flowc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowc"));
        cmd.args(args)
            .current_dir(root())
            .env_remove("NO_COLOR")
            .env("COLUMNS", "80");
        Flowc { cmd, stdin: None }
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Flowc {
        self.cmd.env(key, value);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, key: &str) -> Flowc {
        self.cmd.env_remove(key);
        self
    }

    /// Runs in this directory.
    pub fn dir(mut self, dir: &Path) -> Flowc {
        self.cmd.current_dir(dir);
        self
    }

    /// Feeds this to standard input.
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Flowc {
        self.stdin = Some(data.into());
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> Output {
        use std::io::Write;
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("flowc starts");
        if let Some(data) = self.stdin.take() {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(&data).expect("stdin is written");
        }
        child.wait_with_output().expect("flowc finishes").into()
    }
}

/// `flowc status RUN --format json` as JSON.
pub fn status(dir: &Path, id: &str) -> serde_json::Value {
    let out = flowc_in(dir, &["status", id, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("status is JSON")
}

/// Step `name` in a status.
pub fn step<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == name))
        .unwrap_or_else(|| panic!("no step `{name}` in {status}"))
}

/// Sleeps until the deadline `flowc status` shows for gate `gate` of run `id` has passed.
pub fn wait_for_deadline(dir: &Path, id: &str, gate: &str) {
    let s = status(dir, id);
    let deadline = step(&s, gate)["deadline"]
        .as_str()
        .unwrap_or_else(|| panic!("gate `{gate}` waits with a deadline: {s}"))
        .to_string();
    let deadline = humantime::parse_rfc3339(&deadline).expect("an RFC 3339 deadline");
    // The deadline is kept to the millisecond, shown to the second: wait a second more.
    while std::time::SystemTime::now() < deadline + std::time::Duration::from_secs(1) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Starts flowc in `dir` with its stderr going to `dir/<log>`.
pub fn spawn_logged(dir: &Path, args: &[&str], log: &str) -> std::process::Child {
    let err = std::fs::File::create(dir.join(log)).expect("log file");
    command_in(dir, args)
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("flowc starts")
}

/// The text of `dir/<name>`, or `""` while it does not exist.
pub fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

/// Waits until `what` holds; fails the test (never the order it checks) after a minute.
pub fn wait_until(what: impl Fn() -> bool, said: &str) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !what() {
        assert!(
            std::time::Instant::now() < until,
            "timed out waiting: {said}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The exit code of a spawned flowc; kills it and fails the test if it has not exited
/// within a minute.
pub fn exit_code(child: &mut std::process::Child) -> i32 {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        if std::time::Instant::now() >= until {
            let _ = child.kill();
            panic!("flowc did not exit");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// How many crash trials a kill -9 test makes: `$VAR`, else `default`.
pub fn trials(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}
