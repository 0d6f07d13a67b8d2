//! Signals, escaped processes, spawn hygiene and run ids, through the real binary with
//! real processes: SIGTERM and SIGHUP stop a run as Ctrl-C does (exit 143 / 129,
//! `finally` runs, the journal says the run was interrupted, `flowc resume` goes on), a
//! second signal exits at once, a process that leaves its step's group (`setsid`, a
//! double fork) dies with its step, and nothing of a run is left alive afterwards (every
//! process of the machine is checked in /proc). Also: the approval prompt on a terminal,
//! the `--approve` and `--max-parallel` usage errors, a tool moved between `PATH`
//! directories, and run ids that stay unique with four processes starting runs at once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::support::{command_in, run_id, Flowc, Output};

/// Starts `flowc run w.flow` in `dir` with its stderr going to `dir/first.log`.
fn start(dir: &Path, text: &str) -> Child {
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let err = std::fs::File::create(dir.join("first.log")).expect("log file");
    command_in(dir, &["run", "w.flow"])
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("flowc starts")
}

/// Writes `text` to `dir/w.flow` and runs `flowc run w.flow --log-dir logs EXTRA...`
/// there, with `env`.
fn run_file(dir: &Path, text: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    std::fs::write(dir.join("w.flow"), text).expect("write the workflow");
    let mut args = vec!["run", "w.flow", "--log-dir", "logs"];
    args.extend_from_slice(extra);
    let mut flowc = Flowc::new(&args).dir(dir).env("NO_COLOR", "1");
    for (k, v) in env {
        flowc = flowc.env(k, v);
    }
    flowc.run()
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("first.log")).unwrap_or_default()
}

fn wait_for(what: impl Fn() -> bool, limit: Duration, said: &str) {
    let until = Instant::now() + limit;
    while !what() {
        assert!(Instant::now() < until, "{said}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `child` at most `limit`; its exit code.
fn exit_within(child: &mut Child, limit: Duration) -> i32 {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() >= until {
            let _ = child.kill();
            panic!("flowc did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `pid` is alive (a zombie is not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 1..].trim_start().to_string()))
        .is_some_and(|rest| !rest.starts_with(['Z', 'X']))
}

/// The live processes of the machine whose environment holds `FLOW_RUN_ID=<id>`, and
/// how many processes were looked at.
fn processes_of_run(id: &str) -> (Vec<i32>, usize) {
    let marker = format!("FLOW_RUN_ID={id}");
    let mut found = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        seen += 1;
        let ours = std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|env| env.split(|&b| b == 0).any(|kv| kv == marker.as_bytes()));
        if ours && alive(pid) {
            found.push(pid);
        }
    }
    (found, seen)
}

/// The pids written to `dir/pids`, one a line.
fn pids(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("pids"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Asserts that no process of run `id` is alive, nor any pid in `dir/pids`.
fn nothing_left(dir: &Path, id: &str) {
    // A killed process is gone a moment after its killer exits, not always before.
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        let (left, seen) = processes_of_run(id);
        let escaped: Vec<i32> = pids(dir).into_iter().filter(|&p| alive(p)).collect();
        if left.is_empty() && escaped.is_empty() {
            assert!(seen > 1, "/proc shows no processes");
            eprintln!(
                "run {id}: 0 of {seen} processes belong to it, 0 of {} escaped pids alive",
                pids(dir).len()
            );
            return;
        }
        assert!(
            Instant::now() < until,
            "left alive: {left:?} of the run, {escaped:?} escaped (of {seen} processes)"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A slow step that leaves two escaped processes running (one `setsid`, one double fork
/// into a new session) and records their pids, and a `finally` step with a ledger. The
/// slow part is slow only the first time, so a resume finishes.
const SLOW: &str = "workflow w {
  step a { run \"echo a >> ledger\" }
  step b after a { run \"sh slow.sh\" }
  finally step cleanup { run \"sh -c 'echo cleanup >> ledger'\" }
}
";

const SLOW_SH: &str = "echo b >> ledger
test -e second && exit 0
setsid sleep 300 & echo $! >> pids
(setsid sh -c 'sleep 301 & echo $! >> pids; wait' &)
echo $$ >> pids
touch second
sleep 300
";

fn start_slow(dir: &Path) -> Child {
    std::fs::write(dir.join("slow.sh"), SLOW_SH).expect("write");
    let child = start(dir, SLOW);
    wait_for(
        || pids(dir).len() == 3 && dir.join("second").exists(),
        Duration::from_secs(20),
        "the slow step never started",
    );
    child
}

#[test]
fn sigterm_and_sighup_stop_the_run_run_finally_and_leave_nothing() {
    for (signal, code, name) in [
        (Signal::SIGTERM, 143, "SIGTERM"),
        (Signal::SIGHUP, 129, "SIGHUP"),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let mut child = start_slow(dir);
        kill(Pid::from_raw(child.id() as i32), signal).expect("signal");
        // Under the 5 s grace: `sleep` obeys SIGTERM.
        assert_eq!(
            exit_within(&mut child, Duration::from_secs(20)),
            code,
            "{}",
            log(dir)
        );
        let first = log(dir);
        assert!(first.contains(&format!("interrupted ({name})")), "{first}");
        let id = run_id(&first);
        assert!(
            first.contains(&format!("`flowc resume {id}` continues it")),
            "{first}"
        );
        let ledger = std::fs::read_to_string(dir.join("ledger")).expect("ledger");
        assert!(ledger.contains("cleanup"), "finally did not run: {ledger}");
        nothing_left(dir, &id);
        // The journal says how the run ended: interrupted (cancelled), `b` cancelled.
        let status = command_in(dir, &["status", &id]).output().expect("status");
        let text = String::from_utf8_lossy(&status.stderr).to_string()
            + &String::from_utf8_lossy(&status.stdout);
        assert!(text.contains("cancelled"), "{text}");
        let resumed = command_in(dir, &["resume", &id]).output().expect("resume");
        let err = String::from_utf8_lossy(&resumed.stderr);
        assert_eq!(resumed.status.code(), Some(0), "{err}");
        assert!(err.contains("steps finished and are kept"), "{err}");
        let ledger = std::fs::read_to_string(dir.join("ledger")).expect("ledger");
        assert_eq!(ledger.lines().filter(|l| *l == "a").count(), 1, "{ledger}");
        assert_eq!(ledger.lines().filter(|l| *l == "b").count(), 2, "{ledger}");
        nothing_left(dir, &id);
    }
}

#[test]
fn a_second_signal_exits_at_once_and_leaves_no_process() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // The step ignores SIGTERM: the first signal alone would wait the 5 s grace.
    let slow = SLOW_SH.replace("sleep 300\n", "trap '' TERM; sleep 300\n");
    std::fs::write(dir.join("slow.sh"), slow).expect("write");
    let mut child = start(dir, SLOW);
    wait_for(
        || pids(dir).len() == 3 && dir.join("second").exists(),
        Duration::from_secs(20),
        "the slow step never started",
    );
    let pid = Pid::from_raw(child.id() as i32);
    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    wait_for(
        || log(dir).contains("interrupted (SIGTERM)"),
        Duration::from_secs(10),
        "the first signal was not heard",
    );
    let second = Instant::now();
    kill(pid, Signal::SIGINT).expect("SIGINT");
    assert_eq!(
        exit_within(&mut child, Duration::from_secs(10)),
        130,
        "{}",
        log(dir)
    );
    assert!(
        second.elapsed() < Duration::from_secs(4),
        "the second signal waited for the grace period"
    );
    let first = log(dir);
    assert!(first.contains("interrupted again (SIGINT)"), "{first}");
    nothing_left(dir, &run_id(&first));
}

#[test]
fn a_process_that_escapes_its_step_is_gone_when_the_step_ends() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // `b` checks, while flowc still runs, that nothing `a` left behind is alive.
    std::fs::write(
        dir.join("check.sh"),
        "for p in $(cat pids); do\n  s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)\n  case \"$s\" in ''|Z|X) ;; *) echo \"alive $p\"; exit 1 ;; esac\ndone\necho checked $(wc -l < pids)\n",
    )
    .expect("write");
    let text = "workflow w {
  step a { run \"sh -c 'setsid sleep 300 & echo $! >> pids; (setsid sh -c \\\"sleep 301 & echo \\\\$! >> pids; wait\\\" &); (sleep 302 & echo $! >> pids); sleep 0.2'\" }
  step b after a { run \"sh check.sh\" }
}
";
    let out = run_file(dir, text, &[], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("b | checked 3"), "{}", out.stderr);
    nothing_left(dir, &run_id(&out.stderr));
}

/// Runs `flowc run w.flow` in `dir` inside a pseudo-terminal (util-linux `script`), typing
/// `input` once `ready` exists; returns the exit code and what the terminal showed.
fn run_in_terminal(dir: &Path, input: &str) -> (i32, String) {
    use std::io::Write;
    let command = format!("{} run w.flow --log-dir logs", env!("CARGO_BIN_EXE_flowc"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script (util-linux) starts");
    let mut stdin = child.stdin.take().expect("stdin");
    wait_for(
        || dir.join("ready").exists(),
        Duration::from_secs(20),
        "the run never reached its gate",
    );
    // The question is asked once the gate is reached, after `ready` is written.
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(input.as_bytes()).expect("type the answer");
    drop(stdin);
    let out = child.wait_with_output().expect("finishes");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn on_a_terminal_the_question_is_the_last_line_and_the_answer_is_echoed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // A step keeps the live view busy (and writes lines) while the question waits.
    std::fs::write(
        dir.join("w.flow"),
        "workflow a {\n  step busy { run \"sh -c 'touch ready; for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.2; done'\" }\n  step ok { approve \"Ship it?\" }\n  step ship after ok { run \"touch shipped\" }\n}\n",
    )
    .expect("write");
    let (code, screen) = run_in_terminal(dir, "y\n");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("approve `ok`: Ship it? [y/N]"), "{screen}");
    assert!(screen.contains("approve `ok`: yes"), "{screen}");
    assert!(dir.join("shipped").exists());
    // Nothing drawn between the question and the answer: the view was taken down.
    let asked = screen.find("[y/N]").expect("asked");
    let echoed = screen.find("approve `ok`: yes").expect("echoed");
    let between = &screen[asked..echoed];
    assert!(
        !between.contains("steps done"),
        "the view was drawn over the question: {between:?}"
    );
    // The lines of the busy step written meanwhile are shown afterwards.
    assert!(screen.contains("busy | tick 6"), "{screen}");

    std::fs::remove_file(dir.join("shipped")).expect("rm");
    std::fs::remove_file(dir.join("ready")).expect("rm");
    let (code, screen) = run_in_terminal(dir, "n\n");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("approve `ok`: no"), "{screen}");
    assert!(!dir.join("shipped").exists());
}

#[test]
fn approve_must_name_an_approval_step() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let text = "workflow g {\n  step gate { approve \"go?\" }\n  step ship after gate { run \"touch shipped\" }\n}\n";
    let run = |extra: &[&str]| run_file(dir, text, extra, &[]);
    let out = run(&["--approve", "gatee"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0591"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `--approve gate`?"),
        "{}",
        out.stderr
    );
    // A step that is not a gate.
    let out = run(&["--approve", "ship"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0591"), "{}", out.stderr);
    assert!(!dir.join("shipped").exists());
    // The real gate, and one instance of it, are fine.
    let out = run(&["--approve", "gate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(dir.join("shipped").exists());
    let out = run(&["--approve", "gate[0]"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
}

#[test]
fn max_parallel_must_be_from_1_to_4096() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let text = "workflow p {\n  step s { run \"true\" }\n}\n";
    for bad in [
        "0",
        "-1",
        "-5",
        "18446744073709551615",
        "4097",
        "lots",
        "1.5",
        "",
    ] {
        let out = run_file(dir, text, &["--max-parallel", bad], &[]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        assert!(out.stderr.contains("E0592"), "{bad}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{bad}: {}", out.stderr);
    }
    for good in ["1", "4096"] {
        let out = run_file(dir, text, &["--max-parallel", good], &[]);
        assert_eq!(out.code, 0, "{good}: {}", out.stderr);
    }
}

#[test]
fn a_tool_moved_to_another_path_directory_is_found_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (one, two) = (dir.join("one"), dir.join("two"));
    std::fs::create_dir(&one).expect("mkdir");
    std::fs::create_dir(&two).expect("mkdir");
    let tool = one.join("flowc-test-tool");
    std::fs::write(&tool, "#!/bin/sh\necho ran >> ledger\n").expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}:{}",
        one.display(),
        two.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Started directly (no shell): found once, remembered, moved, found again.
    let text = "workflow m {
  step first { run \"flowc-test-tool\" }
  step move after first { run \"mv one/flowc-test-tool two/\" }
  step again after move { run \"flowc-test-tool\" }
}
";
    let out = run_file(dir, text, &[], &[("PATH", &path)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ledger = std::fs::read_to_string(dir.join("ledger")).expect("ledger");
    assert_eq!(ledger, "ran\nran\n");
}

/// How many runs each of the four processes starts (`FLOWC_TEST_RUN_IDS`, default 2,000).
fn runs_per_process() -> usize {
    std::env::var("FLOWC_TEST_RUN_IDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000)
}

#[test]
fn four_processes_starting_runs_at_once_lose_no_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir: PathBuf = tmp.path().to_path_buf();
    std::fs::write(
        dir.join("w.flow"),
        "workflow t {\n  step s { run \"true\" }\n}\n",
    )
    .expect("write");
    let per = runs_per_process();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut failed = Vec::new();
                for _ in 0..per {
                    let out = command_in(&dir, &["run", "w.flow", "--state-dir", "state"])
                        .stdout(Stdio::null())
                        .output()
                        .expect("flowc runs");
                    if out.status.code() != Some(0) {
                        failed.push(String::from_utf8_lossy(&out.stderr).into_owned());
                    }
                }
                failed
            })
        })
        .collect();
    let failed: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("worker"))
        .collect();
    assert!(
        failed.is_empty(),
        "{} runs failed: {:?}",
        failed.len(),
        failed.first()
    );
    let out = command_in(&dir, &["runs", "--state-dir", "state", "--format", "json"])
        .output()
        .expect("runs");
    let listed: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let ids: std::collections::HashSet<&str> =
        listed.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(listed.len(), 4 * per, "runs listed");
    assert_eq!(ids.len(), 4 * per, "distinct run ids");
    assert!(listed.iter().all(|r| r["status"] == "succeeded"));
    eprintln!(
        "{} runs started by 4 processes: {} listed, {} distinct ids",
        4 * per,
        listed.len(),
        ids.len()
    );
}
