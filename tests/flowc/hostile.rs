//! A sweep of every subcommand with hostile input, through the real binary: huge files,
//! deep nesting, long lines and names, binary, FIFOs, `/dev/zero`, output to `/dev/full`
//! and to a closed pipe, absurd flag values, run ids with `../`, and the files that were
//! quadratic (a 16,000-term `1 + 1 + ...`, 20,000 duplicate steps, 4,000 unknown steps).
//!
//! Each case must end within [`LIMIT`] (else it is killed and counted as a hang) with a
//! coded error, a usage error or success: never a panic, a Rust debug dump, or an exit
//! status other than 0, 1, 2 and 130. The sweep counts and prints what it tried; it
//! asserts no speed (benches/hostile.sh measures that).

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Flowc;

/// How long one case may take before it is killed and counted as a hang.
const LIMIT: Duration = Duration::from_secs(20);

/// Where a case's standard input comes from.
#[derive(Clone)]
enum In {
    Null,
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// Where a case's standard output goes.
#[derive(Clone, Copy, PartialEq)]
enum Out {
    Pipe,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
    /// A pipe whose reader is gone: every write fails with EPIPE.
    Closed,
}

struct Case {
    args: Vec<OsString>,
    stdin: In,
    stdout: Out,
    env: Vec<(OsString, OsString)>,
}

/// What one case did.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    hung: bool,
}

fn case(args: &[&str]) -> Case {
    Case {
        args: args.iter().map(OsString::from).collect(),
        stdin: In::Null,
        stdout: Out::Pipe,
        env: Vec::new(),
    }
}

impl Case {
    fn stdin(mut self, input: In) -> Case {
        self.stdin = input;
        self
    }
    fn stdout(mut self, out: Out) -> Case {
        self.stdout = out;
        self
    }
    fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Case {
        self.env.push((key.into(), value.into()));
        self
    }
    fn label(&self) -> String {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| {
                let a = a.to_string_lossy();
                if a.len() > 40 {
                    format!("{}...({} bytes)", &a[..20], a.len())
                } else {
                    a.into_owned()
                }
            })
            .collect();
        let out = match self.stdout {
            Out::Pipe => "",
            Out::Full => " >/dev/full",
            Out::Closed => " |closed",
        };
        format!("flowc {}{out}", args.join(" "))
    }

    /// Runs the case in `dir`, killing it after [`LIMIT`].
    fn run(&self, dir: &Path) -> Outcome {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowc"));
        cmd.args(&self.args)
            .current_dir(dir)
            .env("COLUMNS", "80")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut feed = None;
        match &self.stdin {
            In::Null => {
                cmd.stdin(Stdio::null());
            }
            In::File(path) => {
                cmd.stdin(std::fs::File::open(path).expect("stdin file opens"));
            }
            In::Bytes(bytes) => {
                cmd.stdin(Stdio::piped());
                feed = Some(bytes.clone());
            }
        }
        match self.stdout {
            Out::Pipe => {
                cmd.stdout(Stdio::piped());
            }
            Out::Full => {
                let full = std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .expect("/dev/full opens");
                cmd.stdout(full);
            }
            Out::Closed => {
                let (read, write) = nix::unistd::pipe().expect("pipe");
                drop(read);
                cmd.stdout(Stdio::from(write));
            }
        }
        let mut child = cmd.spawn().expect("flowc starts");
        if let Some(bytes) = feed {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            // flowc may stop reading early (a limit); a failed write is expected then.
            std::thread::spawn(move || {
                use std::io::Write;
                let _ = pipe.write_all(&bytes);
            });
        }
        let drain = |r: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut text);
                }
                text
            })
        };
        let out = drain(
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let err = drain(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let start = Instant::now();
        let (code, hung) = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break (status.code(), false);
            }
            if start.elapsed() > LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                break (None, true);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
        Outcome {
            code,
            stdout,
            stderr,
            hung,
        }
    }
}

/// Writes the hostile files into `dir` and gives their paths by name.
fn hostile_files(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("fixture written");
        path
    };
    let mut files = Vec::new();
    let sum = format!(
        "workflow w {{\n  let x = {}\n  step s {{ run \"echo ${{x}}\" }}\n}}\n",
        vec!["1"; 16_000].join(" + ")
    );
    files.push(("sum-16000", write("sum.flow", sum.into_bytes())));
    let dup: String = std::iter::once("workflow w {\n".to_string())
        .chain((0..20_000).map(|_| "  step s { run \"true\" }\n".to_string()))
        .chain(std::iter::once("}\n".to_string()))
        .collect();
    files.push(("dup-steps-20000", write("dup.flow", dup.into_bytes())));
    let unknown: String = std::iter::once("workflow w {\n".to_string())
        .chain((0..4_000).map(|i| format!("  step s{i} after nope{i} {{ run \"true\" }}\n")))
        .chain(std::iter::once("}\n".to_string()))
        .collect();
    files.push((
        "unknown-steps-4000",
        write("unknown.flow", unknown.into_bytes()),
    ));
    let long_name = format!(
        "workflow w {{\n  step s {{ run \"echo ${{{}}}\" }}\n}}\n",
        "a".repeat(100_000)
    );
    files.push((
        "name-100000",
        write("long-name.flow", long_name.into_bytes()),
    ));
    let long_line = format!(
        "workflow w {{\n  step s {{ run \"echo {}\" }} oops\n}}\n",
        "x".repeat(1 << 20)
    );
    files.push(("line-1MiB", write("long-line.flow", long_line.into_bytes())));
    let deep = format!("let x = {}1{}\n", "(".repeat(100_000), ")".repeat(100_000));
    files.push(("parens-100000", write("deep.flow", deep.into_bytes())));
    let lists = format!("let x = {}1{}\n", "[".repeat(50_000), "]".repeat(50_000));
    files.push(("lists-50000", write("lists.flow", lists.into_bytes())));
    let mut big = b"workflow w {\n  step s { run \"true\" }\n}\n".to_vec();
    big.extend(std::iter::repeat_n(b'\n', 17 << 20));
    files.push(("huge-17MiB", write("huge.flow", big)));
    let binary: Vec<u8> = (0..65_536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    files.push(("binary", write("binary.flow", binary)));
    files.push((
        "not-utf8",
        write("latin1.flow", b"workflow w\xff {}\n".to_vec()),
    ));
    files.push(("empty", write("empty.flow", Vec::new())));
    let fifo = dir.join("fifo.flow");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    files.push(("fifo", fifo));
    files.push(("dev-zero", PathBuf::from("/dev/zero")));
    files.push(("directory", dir.to_path_buf()));
    files.push(("missing", dir.join("no-such.flow")));
    files
}

/// Vars files of each kind that never end, block, are a directory or binary, nest 100,000
/// deep, or expand aliases to billions of values (after [`hostile_files`], which writes
/// `binary.flow`).
fn hostile_vars_files(dir: &Path) {
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.json")).expect("symlink");
    nix::unistd::mkfifo(&dir.join("fifo.yaml"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    std::fs::create_dir(dir.join("dir.toml")).expect("mkdir");
    std::fs::copy(dir.join("binary.flow"), dir.join("binary.json")).expect("copy");
    let (open, close) = ("[".repeat(100_000), "]".repeat(100_000));
    for (name, text) in [
        ("deep.json", format!("{{\"target\": {open}{close}}}")),
        ("deep.toml", format!("target = {open}{close}\n")),
        ("deep.yaml", format!("target: {open}{close}\n")),
    ] {
        std::fs::write(dir.join(name), text).expect("deep");
    }
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (prev, name) in "abcdefghij".chars().zip("bcdefghijk".chars()) {
        let refs = vec![format!("*{prev}"); 10].join(", ");
        bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    std::fs::write(dir.join("bomb.yaml"), bomb).expect("bomb");
}

/// Every case of the sweep.
fn cases(dir: &Path, ok: &Path, run_id: &str) -> Vec<Case> {
    let ok = ok.to_str().expect("utf-8 path");
    let mut all = Vec::new();
    // Every command that reads a .flow file, with every hostile file.
    for (_, file) in hostile_files(dir) {
        let f = file.to_str().expect("utf-8 path");
        for args in [
            vec!["check", f],
            vec!["check", "--format", "json", f],
            vec!["graph", f],
            vec!["graph", "--format", "dot", f],
            vec!["plan", f],
            vec!["doc", f],
            vec!["fmt", "--check", f],
            vec!["run", f],
            vec!["repl", f],
        ] {
            all.push(case(&args));
        }
    }
    // Standard input that never ends, is binary, or is one enormous line.
    let zero = In::File(PathBuf::from("/dev/zero"));
    let line = In::Bytes(vec![b'x'; 3 << 20]);
    let binary = In::Bytes((0..200_000u32).map(|i| (i * 7919 % 251) as u8).collect());
    for input in [zero, line, binary] {
        for args in [
            vec!["repl"],
            vec!["check", "-"],
            vec!["fmt", "-"],
            vec!["approve", run_id, "gate"],
        ] {
            all.push(case(&args).stdin(input.clone()));
        }
    }
    // Every command that prints, to /dev/full and to a closed pipe.
    let printers: Vec<Vec<&str>> = vec![
        vec!["explain", "E0205"],
        vec!["completions", "bash"],
        vec!["completions", "zsh"],
        vec!["plan", ok],
        vec!["graph", ok],
        vec!["graph", "--format", "json", ok],
        vec!["doc", ok],
        vec!["doc"],
        vec!["check", ok],
        vec!["check", "--format", "json", "unknown.flow"],
        vec!["check", "unknown.flow"],
        vec!["runs"],
        vec!["runs", "--format", "json"],
        vec!["status", run_id],
        vec!["status", "--format", "json", run_id],
        vec!["logs", run_id],
        vec!["resume", "--plan", run_id],
        vec!["run", ok],
        vec!["run", "--events", "json", ok],
        vec!["--help"],
        vec!["--version"],
    ];
    for args in &printers {
        for out in [Out::Full, Out::Closed] {
            all.push(case(args).stdout(out));
        }
    }
    for out in [Out::Full, Out::Closed] {
        let text = std::fs::read(ok).expect("ok file");
        all.push(case(&["fmt", "-"]).stdin(In::Bytes(text)).stdout(out));
        all.push(
            case(&["repl"])
                .stdin(In::Bytes(b"1 + 1\n:help\n\"x\"\n".to_vec()))
                .stdout(out),
        );
    }
    hostile_vars_files(dir);
    // Absurd flag values and names.
    let long = "x".repeat(100_000);
    let absurd: Vec<Vec<&str>> = vec![
        vec!["run", "--max-parallel", "0", ok],
        vec!["run", "--max-parallel", "-1", ok],
        vec!["run", "--timeout", "99999999999999999999d", ok],
        vec!["run", "--timeout", "-5s", ok],
        vec!["run", "--var", "=x", ok],
        vec!["run", "--var", "novalue", ok],
        vec!["run", "--var", &long, ok],
        vec!["run", "--workflow", &long, ok],
        vec!["run", "--vars-file", "/dev/zero", ok],
        vec!["run", "--vars-file", "zero.json", ok],
        vec!["run", "--vars-file", "fifo.yaml", ok],
        vec!["run", "--vars-file", "dir.toml", ok],
        vec!["run", "--vars-file", "binary.json", ok],
        vec!["run", "--vars-file", "deep.json", ok],
        vec!["run", "--vars-file", "deep.toml", ok],
        vec!["run", "--vars-file", "deep.yaml", ok],
        vec!["run", "--vars-file", "bomb.yaml", ok],
        vec!["run", "--approve", &long, ok],
        vec!["run", "--log-dir", "/dev/null", ok],
        vec!["plan", "--workflow", &long, ok],
        vec!["plan", "--vars-file", "zero.json", ok],
        vec!["plan", "--vars-file", "bomb.yaml", ok],
        vec!["graph", "--format", "nope", ok],
        vec!["explain", &long],
        vec!["explain", ""],
        vec!["explain", "E99999"],
        vec!["doc", &long],
        vec!["doc", "std/../../../etc/passwd"],
        vec!["completions", "nosuchshell"],
        vec!["check", "--color", "sometimes", ok],
        vec!["runs", "--state-dir", "/dev/null"],
        vec!["runs", "--state-dir", "/dev/zero"],
        vec!["status", "--state-dir", "/dev/null", "x"],
    ];
    for args in &absurd {
        all.push(case(args));
    }
    for columns in ["0", "-1", "99999999999999999999", "4294967296", "x"] {
        all.push(case(&["check", "unknown.flow"]).env("COLUMNS", columns));
    }
    all.push(case(&["plan", ok]).env("FLOW_VAR_target", long.clone()));
    // Run ids that try to leave the state directory, or are not ids at all.
    for id in [
        "../..",
        "../../../../etc",
        "../x",
        "..",
        ".",
        "/etc",
        "/",
        "a/../../b",
        "",
        &long,
        "%00",
        "-",
    ] {
        for args in [
            vec!["status", id],
            vec!["logs", id],
            vec!["resume", id],
            vec!["resume", "--plan", id],
            vec!["approve", id, "gate"],
            vec!["reject", id, "gate"],
            vec!["cancel", id],
        ] {
            all.push(case(&args));
        }
    }
    all.push(case(&["logs", run_id, "../../../etc/passwd"]));
    all.push(case(&["approve", run_id, "../../x"]));
    all.push(case(&["logs", run_id, &long]));
    all
}

/// A Rust debug dump or panic in what flowc printed: what no user should ever see.
fn leaked_internals(stderr: &str) -> Option<&'static str> {
    [
        "panicked at",
        "RUST_BACKTRACE",
        "Os { code",
        "Custom { kind",
        "kind: ",
        "Error {",
        "thread '",
        "memory allocation",
    ]
    .into_iter()
    .find(|needle| stderr.contains(needle))
}

#[test]
fn every_subcommand_survives_hostile_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ok = dir.path().join("ok.flow");
    std::fs::write(
        &ok,
        "workflow w(target: string = \"dev\") {\n  step s { run \"echo ${target}; echo two\" }\n}\n",
    )
    .expect("ok.flow");
    // A real run, so that `runs`, `status`, `logs` and `resume` have something to show.
    let first = Flowc::new(&["run", "ok.flow"]).dir(dir.path()).run();
    assert_eq!(first.code, 0, "{}", first.stderr);
    let listed = Flowc::new(&["runs", "--format", "json"])
        .dir(dir.path())
        .run();
    let run_id = listed
        .stdout
        .split('"')
        .skip_while(|s| *s != "id" && *s != "run_id")
        .nth(2)
        .unwrap_or("no-run")
        .to_string();

    let cases = cases(dir.path(), &ok, &run_id);
    let (mut panics, mut hangs, mut dumps, mut bad_status) = (0, 0, 0, 0);
    let (mut ok_runs, mut coded, mut usage) = (0, 0, 0);
    let mut failures = Vec::new();
    for c in &cases {
        let got = c.run(dir.path());
        let label = c.label();
        if got.hung {
            hangs += 1;
            failures.push(format!("hang: {label}"));
            continue;
        }
        if got.stderr.contains("panicked at") || got.stderr.contains("RUST_BACKTRACE") {
            panics += 1;
            failures.push(format!("panic: {label}: {}", head(&got.stderr)));
            continue;
        }
        if let Some(what) = leaked_internals(&got.stderr) {
            dumps += 1;
            failures.push(format!(
                "debug dump ({what}): {label}: {}",
                head(&got.stderr)
            ));
            continue;
        }
        // `--format json` puts the diagnostics on stdout.
        let has_code = got.stderr.contains("error[E") || got.stdout.contains("\"code\":\"E");
        match got.code {
            Some(0) => ok_runs += 1,
            Some(1 | 2 | 130) if has_code => coded += 1,
            // `fmt --check` of a file that is not formatted: a finding, not an error.
            Some(1)
                if got.stdout.contains("would be reformatted")
                    || got.stderr.contains("would be reformatted") =>
            {
                ok_runs += 1
            }
            // clap's own usage errors (an unknown flag, a value of the wrong form).
            Some(2)
                if got.stderr.contains("Usage:")
                    || got.stderr.contains("For more information, try '--help'") =>
            {
                usage += 1
            }
            // A closed pipe ends quietly with the command's own status.
            Some(1 | 2) if c.stdout == Out::Closed => ok_runs += 1,
            other => {
                bad_status += 1;
                failures.push(format!(
                    "exit {other:?} without a coded error: {label}: {}",
                    head(&got.stderr)
                ));
            }
        }
    }
    eprintln!(
        "hostile sweep: {} cases: {ok_runs} ended 0 (or quietly on a closed pipe), {coded} with a \
         coded error, {usage} with a usage error; {panics} panics, {hangs} hangs, {dumps} debug \
         dumps, {bad_status} uncoded failures",
        cases.len()
    );
    assert!(cases.len() >= 300, "the sweep shrank to {}", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn head(text: &str) -> &str {
    let end = text.char_indices().nth(400).map_or(text.len(), |(i, _)| i);
    &text[..end]
}

#[test]
fn output_to_a_full_disk_is_e0600_and_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        vec!["explain", "E0205"],
        vec!["completions", "bash"],
        vec!["graph", "examples/ci.flow"],
        vec!["plan", "examples/ci.flow"],
        vec!["doc", "examples/ci.flow"],
        vec!["--help"],
    ] {
        let mut c = case(&args).stdout(Out::Full);
        c.args = args
            .iter()
            .map(|a| {
                if a.starts_with("examples/") {
                    crate::support::root().join(a).into_os_string()
                } else {
                    OsString::from(a)
                }
            })
            .collect();
        let got = c.run(dir.path());
        assert_eq!(got.code, Some(2), "{args:?}: {}", got.stderr);
        assert!(
            got.stderr
                .contains("error[E0600]: cannot write to standard output"),
            "{args:?}: {}",
            got.stderr
        );
        assert_eq!(got.stderr.matches("E0600").count(), 1, "{}", got.stderr);
    }
}

#[test]
fn a_closed_pipe_ends_quietly_with_the_commands_status() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ci = crate::support::root().join("examples/ci.flow");
    let ci = ci.to_str().expect("utf-8 path");
    for (args, status) in [
        (vec!["explain", "E0205"], 0),
        (vec!["completions", "bash"], 0),
        (vec!["plan", ci], 0),
        (vec!["graph", ci], 0),
        (vec!["runs", "--format", "json"], 0),
    ] {
        let got = case(&args).stdout(Out::Closed).run(dir.path());
        assert_eq!(got.code, Some(status), "{args:?}: {}", got.stderr);
        assert_eq!(got.stderr, "", "{args:?}");
    }
}

#[test]
fn repl_on_dev_zero_is_e0601() {
    let code = "E0601";
    let dir = tempfile::tempdir().expect("temp dir");
    let got = case(&["repl"])
        .stdin(In::File(PathBuf::from("/dev/zero")))
        .run(dir.path());
    assert_eq!(got.code, Some(2), "{}", got.stderr);
    assert!(got.stderr.contains(code), "{}", got.stderr);
    assert!(
        got.stderr
            .contains("error[E0601]: cannot read standard input: a line is longer than 1 MiB"),
        "{}",
        got.stderr
    );
}

#[test]
fn flow_var_that_is_not_utf8_is_e0602_like_var() {
    use std::os::unix::ffi::OsStringExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("w.flow");
    std::fs::write(
        &file,
        "workflow w(target: string = \"dev\") {\n  step s { run \"echo ${target}\" }\n}\n",
    )
    .expect("w.flow");
    let bad = OsString::from_vec(b"pr\xffd".to_vec());
    for command in ["run", "plan"] {
        let got = case(&[command, "w.flow"])
            .env("FLOW_VAR_target", bad.clone())
            .run(dir.path());
        assert_eq!(got.code, Some(2), "{command}: {}", got.stderr);
        assert!(got.stderr.contains("E0602"), "{command}: {}", got.stderr);
        assert!(
            got.stderr
                .contains("error[E0602]: `FLOW_VAR_target` is not UTF-8 text"),
            "{command}: {}",
            got.stderr
        );
        // `--var` takes precedence, so the variable is not used and not an error.
        let got = case(&[command, "w.flow", "--var", "target=prod"])
            .env("FLOW_VAR_target", bad.clone())
            .run(dir.path());
        assert_eq!(got.code, Some(0), "{command}: {}", got.stderr);
    }
}

#[test]
fn huge_files_dev_zero_and_fifos_are_refused_or_read_without_blocking() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = hostile_files(dir.path());
    let path = |name: &str| {
        files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p.to_str().expect("utf-8").to_string())
            .expect("fixture")
    };
    for name in ["huge-17MiB", "dev-zero"] {
        let got = case(&["check", &path(name)])
            .env("COLUMNS", "200")
            .run(dir.path());
        assert_eq!(got.code, Some(2), "{name}: {}", got.stderr);
        assert!(
            got.stderr.contains("error[E0010]") && got.stderr.contains("16 MiB"),
            "{name}: {}",
            got.stderr
        );
    }
    // A FIFO nobody writes to reads as an empty file.
    let got = case(&["check", &path("fifo")]).run(dir.path());
    assert!(got.stderr.contains("E0007"), "{}", got.stderr);
}
