//! `flowc run` with real processes and real files: parallelism and limits observed through
//! files the steps write (never through timing), retries, timeouts that kill the whole
//! process group, typed outputs, secret redaction, injection-free commands, failure
//! handling, approvals, interrupts and exit codes.

use std::path::Path;

use crate::support::{tmp, Flowc, Output};

/// Writes `text` as `w.flow` in `dir` and runs it there.
fn run_in(dir: &Path, text: &str, extra: &[&str]) -> Output {
    std::fs::write(dir.join("w.flow"), text).expect("write the workflow");
    let mut args = vec!["run", "w.flow", "--log-dir", "logs"];
    args.extend_from_slice(extra);
    Flowc::new(&args).dir(dir).run()
}

#[test]
fn hello_example_runs() {
    let dir = tmp();
    std::fs::copy(
        crate::support::root().join("examples/hello.flow"),
        dir.path().join("hello.flow"),
    )
    .expect("copy");
    let out = Flowc::new(&["run", "hello.flow"]).dir(dir.path()).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("greet[2] | hello world in de"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("report | 3 greetings"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("token: ***"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("not-a-real-token"),
        "the secret leaked: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("workflow `hello` succeeded"),
        "{}",
        out.stderr
    );
}

#[test]
fn max_parallel_is_never_exceeded_and_steps_do_overlap() {
    let dir = tmp();
    std::fs::create_dir(dir.path().join("running")).expect("mkdir");
    // Each step marks itself running, records how many are running, waits, unmarks.
    let mut text = String::from("workflow par {\n");
    for i in 0..6 {
        text.push_str(&format!(
            "  step s{i} {{ run \"touch running/{i}; ls running | wc -l >> seen; sleep 0.3; rm running/{i}\" }}\n"
        ));
    }
    text.push_str("}\n");
    let out = run_in(dir.path(), &text, &["--max-parallel", "2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen: Vec<usize> = std::fs::read_to_string(dir.path().join("seen"))
        .expect("seen")
        .split_whitespace()
        .map(|n| n.parse().expect("a count"))
        .collect();
    assert_eq!(seen.len(), 6);
    assert!(
        seen.iter().all(|&n| n <= 2),
        "more than 2 at once: {seen:?}"
    );
    assert!(seen.contains(&2), "steps never ran in parallel: {seen:?}");
}

#[test]
fn fan_out_max_is_never_exceeded() {
    let dir = tmp();
    std::fs::create_dir(dir.path().join("running")).expect("mkdir");
    let text = "workflow fan(items: list<int> = [1, 2, 3, 4, 5]) {\n  step each for i in items max 2 {\n    run \"touch running/${i}; ls running | wc -l >> seen; sleep 0.3; rm running/${i}\"\n  }\n}\n";
    let out = run_in(dir.path(), text, &["--max-parallel", "8"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen = std::fs::read_to_string(dir.path().join("seen")).expect("seen");
    let counts: Vec<usize> = seen
        .split_whitespace()
        .map(|n| n.parse().expect("count"))
        .collect();
    assert_eq!(counts.len(), 5);
    assert!(counts.iter().all(|&n| n <= 2), "{counts:?}");
}

#[test]
fn dependencies_order_steps() {
    let dir = tmp();
    let text = "workflow order {\n  step a { run \"sh -c 'echo a >> trace'\" }\n  step b after a { run \"sh -c 'echo b >> trace'\" }\n  step c after b { run \"sh -c 'echo c >> trace'\" }\n}\n";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("trace")).expect("trace"),
        "a\nb\nc\n"
    );
}

#[test]
fn retries_are_counted_and_respect_the_condition() {
    let dir = tmp();
    let text = "workflow r {\n  step flaky {\n    run \"sh -c 'echo x >> tries; test $(wc -l < tries) -ge 3'\"\n    retry 5 backoff fixed(10ms)\n  }\n  step fatal {\n    run \"sh -c 'echo x >> fatal; exit 2'\"\n    retry 5 backoff fixed(10ms) if exit_code != 2\n    on_failure continue\n  }\n}\n";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tries = std::fs::read_to_string(dir.path().join("tries")).expect("tries");
    assert_eq!(tries.lines().count(), 3, "succeeds on the third attempt");
    let fatal = std::fs::read_to_string(dir.path().join("fatal")).expect("fatal");
    assert_eq!(fatal.lines().count(), 1, "exit code 2 is not retried");
    assert!(out.stderr.contains("attempt 2"), "{}", out.stderr);
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let dir = tmp();
    // The background child writes its pid; after the run it must be gone.
    let text = "workflow t {\n  step hang {\n    run \"sh -c 'sleep 1000 & echo $! > child; wait'\"\n    timeout 500ms\n  }\n}\n";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
    let pid = std::fs::read_to_string(dir.path().join("child")).expect("child pid");
    let alive = Path::new(&format!("/proc/{}", pid.trim())).exists();
    let zombie = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .is_ok_and(|s| s.split_whitespace().nth(2) == Some("Z"));
    assert!(!alive || zombie, "the grandchild survived the timeout");
}

#[test]
fn outputs_are_typed_and_a_missing_output_fails_the_step() {
    let dir = tmp();
    let text = "workflow o {\n  step produce {\n    run \"printf '{\\\"n\\\": 41, \\\"tags\\\": [\\\"a\\\", \\\"b\\\"]}' > \\\"$FLOW_OUTPUT\\\"\"\n    outputs { n: int, tags: list<string> }\n  }\n  step consume { run \"echo ${produce.n + 1} ${join(produce.tags, \"+\")}\" }\n  step missing {\n    run \"true\"\n    outputs { digest: string }\n    on_failure continue\n  }\n}\n";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("consume | 42 a+b"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did not write its output `digest`"),
        "{}",
        out.stderr
    );
}

#[test]
fn hostile_values_reach_the_process_byte_for_byte_and_nothing_else_runs() {
    let dir = tmp();
    let values = [
        "$(touch pwned)",
        "\\\"; touch pwned #",
        "`touch pwned`",
        "a\\nb",
        "*",
        "' ; touch pwned ; '",
    ];
    for (i, v) in values.iter().enumerate() {
        // Exec mode (no shell operators) and shell mode (a pipe).
        let text = format!(
            "workflow inj(v: string = \"{v}\") {{\n  step direct {{ run \"printf %s ${{v}}\" }}\n  step piped {{ run \"printf %s ${{v}} | cat > out{i}\" }}\n}}\n"
        );
        let out = run_in(dir.path(), &text, &[]);
        assert_eq!(out.code, 0, "{v}: {}", out.stderr);
        let expected = v.replace("\\\"", "\"").replace("\\n", "\n");
        let piped =
            std::fs::read_to_string(dir.path().join(format!("out{i}"))).expect("piped output");
        assert_eq!(piped, expected, "shell mode changed {v:?}");
        assert!(!dir.path().join("pwned").exists(), "{v:?} ran a command");
    }
}

#[test]
fn secrets_are_redacted_in_terminal_and_logs() {
    let dir = tmp();
    let text = "workflow s {\n  secret key = env(\"FLOWC_TEST_KEY\")\n  step leak {\n    run \"sh -c 'echo key=$KEY; printf \\\"{\\\\\\\"k\\\\\\\": \\\\\\\"%s\\\\\\\"}\\\\n\\\" \\\"$KEY\\\"'\"\n    env { KEY: key }\n  }\n}\n";
    std::fs::write(dir.path().join("w.flow"), text).expect("write");
    let out = Flowc::new(&["run", "w.flow", "--log-dir", "logs"])
        .dir(dir.path())
        .env("FLOWC_TEST_KEY", "hunter2-secret")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("key=***"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    let log = std::fs::read_to_string(dir.path().join("logs/leak.log")).expect("log");
    assert!(!log.contains("hunter2"), "{log}");
}

#[test]
fn fail_fast_skips_the_rest_and_runs_compensation_and_finally() {
    let dir = tmp();
    let text = "workflow f {\n  step bad { run \"false\" }\n  step next after bad { run \"touch next\" }\n  step undo on_failure_of bad { run \"touch undone\" }\n  finally step report { run \"echo ${workflow.status} > status\" }\n}\n";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!dir.path().join("next").exists());
    assert!(dir.path().join("undone").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("status")).expect("status"),
        "failed\n"
    );
}

#[test]
fn continue_fallback_and_skip_by_condition() {
    let dir = tmp();
    let text = "workflow c(env_name: string = \"staging\") {\n  step lint { run \"false\"  on_failure continue }\n  step gate when env_name == \"prod\" { run \"touch gated\" }\n  step deploy after lint, gate { run \"touch deployed\" }\n  step risky { run \"false\"  on_failure rescue }\n  step rescue { run \"touch rescued\" }\n  step after_risky after risky { run \"touch after_risky\" }\n  step undo on_failure_of gate { run \"touch undone\" }\n}\n";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for f in ["deployed", "rescued", "after_risky"] {
        assert!(dir.path().join(f).exists(), "{f} missing: {}", out.stderr);
    }
    for f in ["gated", "undone"] {
        assert!(!dir.path().join(f).exists(), "{f} should not exist");
    }
}

#[test]
fn approval_gates_stop_without_a_terminal_unless_pre_approved() {
    let dir = tmp();
    let text = "workflow a {\n  step ok { approve \"Ship it?\" }\n  step ship after ok { run \"touch shipped\" }\n}\n";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("waiting for approval"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("shipped").exists());
    let out = run_in(dir.path(), text, &["--approve", "ok"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(dir.path().join("shipped").exists());
}

#[test]
fn ctrl_c_stops_the_run_with_exit_130() {
    let dir = tmp();
    std::fs::write(
        dir.path().join("w.flow"),
        "workflow s {\n  step a { run \"sh -c 'touch started; sleep 1000'\" }\n  finally step c { run \"touch cleaned\" }\n}\n",
    )
    .expect("write");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["run", "w.flow", "--log-dir", "logs"])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("flowc starts");
    // Wait until the step is really running (a file appears), never a fixed time.
    let started = dir.path().join("started");
    for _ in 0..600 {
        if started.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(started.exists(), "the step never started");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("send SIGINT");
    let status = child.wait().expect("flowc exits");
    assert_eq!(status.code(), Some(130));
    assert!(
        dir.path().join("cleaned").exists(),
        "finally steps run after an interrupt"
    );
}

#[test]
fn run_exit_codes_for_check_and_usage_errors() {
    let dir = tmp();
    let out = run_in(
        dir.path(),
        "workflow w { step s { run \"x\" after nope } }\n",
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = run_in(
        dir.path(),
        "workflow w { step s { run \"true\" } }\n",
        &["--workflow", "v"],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("did you mean `w`?"), "{}", out.stderr);
}

#[test]
fn run_start_errors_have_codes() {
    let dir = tmp();
    std::fs::write(dir.path().join("file"), "not a directory").expect("write");
    std::fs::write(
        dir.path().join("w.flow"),
        "workflow w { step s { run \"true\" } }\n",
    )
    .expect("write");
    let out = Flowc::new(&["run", "w.flow", "--log-dir", "file/logs"])
        .dir(dir.path())
        .run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("error[E0440]"), "{}", out.stderr);
    assert_eq!(code_of(&out.stderr), "E0440");
    let text = "workflow w {\n  let n = parse_int(\"many\")\n  step s { run \"echo ${n}\" }\n}\n";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("error[E0441]: cannot evaluate `n`"),
        "{}",
        out.stderr
    );
    assert_eq!(code_of(&out.stderr), "E0441");
}

#[test]
fn vars_reach_the_steps() {
    let dir = tmp();
    let text = "workflow v(n: int = 1, tags: list<string> = []) {\n  step s { run \"echo ${n * 2} ${join(tags, \",\")} > out\" }\n}\n";
    let out = run_in(
        dir.path(),
        text,
        &["--var", "n=21", "--var", "tags=[\"a\",\"b\"]"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out")).expect("out"),
        "42 a,b\n"
    );
    let out = run_in(dir.path(), text, &["--var", "n=many"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("E0431"), "{}", out.stderr);
}

/// The code of the first `error[CODE]` in `stderr`.
fn code_of(stderr: &str) -> &str {
    stderr
        .split("error[")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or("")
}

/// Runs `flowc run w.flow` in `dir` inside a pseudo-terminal (util-linux `script`), typing
/// `input`; returns the exit code and what the terminal showed.
fn run_in_terminal(dir: &Path, input: &str) -> (i32, String) {
    use std::io::Write;
    let command = format!("{} run w.flow --log-dir logs", env!("CARGO_BIN_EXE_flowc"));
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("type the answer");
    let out = child.wait_with_output().expect("finishes");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn on_a_terminal_approval_is_asked_for() {
    let dir = tmp();
    std::fs::write(
        dir.path().join("w.flow"),
        "workflow a {\n  step ok { approve \"Ship it?\" }\n  step ship after ok { run \"touch shipped\" }\n}\n",
    )
    .expect("write");
    let (code, screen) = run_in_terminal(dir.path(), "y\n");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("approve `ok`: Ship it? [y/N]"), "{screen}");
    assert!(dir.path().join("shipped").exists());
    std::fs::remove_file(dir.path().join("shipped")).expect("rm");
    let (code, screen) = run_in_terminal(dir.path(), "n\n");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("rejected: Ship it?"), "{screen}");
    assert!(!dir.path().join("shipped").exists());
}

#[test]
fn dry_run_prints_the_plan_and_runs_nothing() {
    let dir = tmp();
    let text = "workflow d(go: bool = false) {\n  step s when go { run \"touch ran\" }\n}\n";
    let out = run_in(dir.path(), text, &["--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("when go: false, skipped"),
        "{}",
        out.stdout
    );
    assert!(!dir.path().join("ran").exists());
}

#[test]
fn a_run_timeout_stops_everything() {
    let dir = tmp();
    let text = "workflow t {\n  step long { run \"sleep 1000\" }\n  finally step cleanup { run \"touch cleaned\" }\n}\n";
    let out = run_in(dir.path(), text, &["--timeout", "300ms"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("--timeout of 300ms has passed"),
        "{}",
        out.stderr
    );
    assert!(dir.path().join("cleaned").exists());
}

#[test]
fn on_a_terminal_the_live_view_keeps_the_log_lines() {
    let dir = tmp();
    std::fs::write(
        dir.path().join("w.flow"),
        "workflow l {\n  step a { run \"echo one\" }\n  step b after a { run \"echo two\" }\n}\n",
    )
    .expect("write");
    let (code, screen) = run_in_terminal(dir.path(), "");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("a | one"), "{screen}");
    assert!(screen.contains("b | two"), "{screen}");
    assert!(screen.contains("workflow `l` succeeded"), "{screen}");
}

/// Programs are looked up on `PATH` once and then exec'd by path (a per-run cache, like a
/// shell's command hash): the program still sees its bare name as `argv[0]`, a step's own
/// `PATH` is honoured, and a program that an earlier step installs is found, even after a
/// step failed to find it.
#[test]
fn programs_found_on_path_keep_their_name_and_new_ones_are_found() {
    let dir = tmp();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let text = format!(
        r##"workflow p {{
  step name {{ run "sh -c 'tr \\\\0 _ < /proc/$$/cmdline > argv0'" }}
  step probe after name {{
    run "newtool"
    env {{ PATH: "{path}" }}
    on_failure continue
  }}
  step install after probe {{
    run "sh -c 'printf \"#!/bin/sh\\necho installed >> ledger\\n\" > bin/newtool && chmod +x bin/newtool'"
  }}
  step use after install {{
    run "newtool"
    env {{ PATH: "{path}" }}
  }}
  step again after use {{
    run "newtool"
    env {{ PATH: "{path}" }}
  }}
}}
"##
    );
    let out = run_in(dir.path(), &text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let argv0 = std::fs::read_to_string(dir.path().join("argv0")).expect("argv0");
    assert!(
        argv0.starts_with("sh_-c_"),
        "argv[0] is not the bare name: {argv0:?}"
    );
    let ledger = std::fs::read_to_string(dir.path().join("ledger")).expect("ledger");
    assert_eq!(ledger, "installed\ninstalled\n");
}

#[test]
fn steps_keep_ignored_signals_and_start_with_flowc_stdin_closed() {
    // flowc started the way `nohup` starts it (SIGHUP ignored) and with stdin closed, so
    // that the pipes it makes for a step take the lowest descriptors.
    let dir = tmp();
    let text = r#"workflow s {
  step look {
    run "sh -c 'grep -E \"^Sig(Ign|Cgt)\" /proc/$$/status /proc/$PPID/status > sig; readlink /proc/$$/fd/0 > stdin; echo out; echo err >&2'"
  }
}
"#;
    std::fs::write(dir.path().join("w.flow"), text).expect("write the workflow");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("trap '' HUP; exec \"$0\" run w.flow --log-dir logs <&-")
        .arg(env!("CARGO_BIN_EXE_flowc"))
        .current_dir(dir.path())
        .output()
        .expect("flowc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdin = std::fs::read_to_string(dir.path().join("stdin")).expect("stdin");
    assert_eq!(stdin.trim(), "/dev/null");
    let sig = std::fs::read_to_string(dir.path().join("sig")).expect("sig");
    let mask = |file: &str, name: &str| {
        let line = sig
            .lines()
            .find(|l| l.starts_with(file) && l.contains(name))
            .unwrap_or_else(|| panic!("no {name} of {file} in {sig}"));
        let hex = line.split_whitespace().nth(1).expect("mask");
        u64::from_str_radix(hex, 16).expect("hex mask")
    };
    let lines: Vec<&str> = sig.lines().collect();
    // The first file grep read is the step's own status, the second flowc's.
    let own = lines[0].split(':').next().expect("file name");
    let parent = lines
        .iter()
        .map(|l| l.split(':').next().expect("file name"))
        .find(|f| *f != own)
        .expect("flowc's status");
    assert!(
        own.starts_with("/proc/") && parent.starts_with("/proc/"),
        "{sig}"
    );
    let sighup = 1u64 << (1 - 1);
    assert_eq!(
        mask(own, "SigIgn") & sighup,
        sighup,
        "SIGHUP not ignored: {sig}"
    );
    // The spawn resets the handlers of signals 1 to 31 only: flowc must catch no
    // real-time signal but glibc's own two (32 and 33).
    let caught = mask(parent, "SigCgt");
    assert_eq!(
        caught >> 33,
        0,
        "flowc catches a real-time signal: {caught:#x}"
    );
    let logs = std::fs::read_to_string(dir.path().join("logs/look.log")).expect("the log");
    assert!(logs.contains("out") && logs.contains("err"), "{logs}");
}

#[test]
fn an_output_file_left_in_a_reused_log_dir_is_not_read_as_this_runs_output() {
    let dir = tmp();
    let writes = "workflow o {\n  step produce {\n    run \"sh -c 'echo n=1 > $FLOW_OUTPUT'\"\n    outputs { n: int }\n  }\n}\n";
    let out = run_in(dir.path(), writes, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The same step, the same --log-dir, and this time it writes nothing.
    let silent =
        "workflow o {\n  step produce {\n    run \"true\"\n    outputs { n: int }\n  }\n}\n";
    let out = run_in(dir.path(), silent, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("did not write its output `n`"),
        "{}",
        out.stderr
    );
}
