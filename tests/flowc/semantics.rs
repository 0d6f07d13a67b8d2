//! Run semantics that once contradicted the documentation, each through the real binary:
//! a run paused at an approval gate is not a failure (docs/language.md §16), a fallback
//! that did not run leaves the failure standing, `fail_fast` stops a fan-out, an empty
//! fan-out succeeds, prune keeps waiting runs, durations count from the process start,
//! log names, where run state lives, and attribute expressions that fail at run time.

use std::path::Path;

use crate::support::{self, flowc_in, json_lines, ledger, run_id, tmp, Output};

/// Writes `text` as `w.flow` in `dir` and runs it there with `extra` arguments.
fn run_in(dir: &Path, text: &str, extra: &[&str]) -> Output {
    support::run_in(dir, text, &[&["--log-dir", "logs"], extra].concat())
}

#[test]
fn a_run_paused_at_a_gate_compensates_nothing_and_runs_finally_after_the_resume() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow g {
  step build { run \"echo build >> ledger\" }
  step gate after build { approve \"ship it?\" }
  step ship after gate { run \"echo ship >> ledger\" }
  step undo on_failure_of ship { run \"echo undo >> ledger\" }
  finally step report { run \"echo report ${workflow.status} >> ledger\" }
}
";
    let out = run_in(dir, text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("workflow `g` waiting"),
        "{}",
        out.stderr
    );
    assert_eq!(ledger(dir), ["build"], "{}", out.stderr);
    let id = run_id(&out.stderr);
    assert_eq!(flowc_in(dir, &["approve", &id, "gate"]).code, 0);
    let out = flowc_in(dir, &["resume", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ledger(dir),
        ["build", "ship", "report succeeded"],
        "{}",
        out.stderr
    );
}

#[test]
fn a_failure_while_paused_at_a_gate_fails_the_run_as_without_the_gate() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow g {
  step gate { approve \"ship it?\" }
  step ship after gate { run \"echo ship >> ledger\" }
  step undo on_failure_of ship { run \"echo undo >> ledger\" }
  step slow { run \"sleep 0.3 && exit 3\" }
  finally step report { run \"echo report ${workflow.status} >> ledger\" }
}
";
    let out = run_in(dir, text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("workflow `g` failed"), "{}", out.stderr);
    assert!(
        out.stderr.contains("⤼ ship skipped: the run is stopping"),
        "{}",
        out.stderr
    );
    assert_eq!(ledger(dir), ["undo", "report failed"], "{}", out.stderr);
}

#[test]
fn a_fallback_that_did_not_run_leaves_the_failure_standing() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {
  step build {
    run \"exit 4\"
    on_failure v
  }
  step v when build.exit_code == 3 { run \"echo v >> ledger\" }
  step next after build { run \"echo next >> ledger\" }
}
";
    let out = run_in(dir, text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("workflow `w` failed"), "{}", out.stderr);
    assert!(ledger(dir).is_empty(), "{}", out.stderr);
    // A fallback that fails fails the run too.
    let text = text.replace(
        "when build.exit_code == 3 { run \"echo v >> ledger\"",
        "{ run \"exit 5\"",
    );
    let out = run_in(dir, &text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(ledger(dir).is_empty(), "{}", out.stderr);
}

#[test]
fn fail_fast_starts_no_new_fan_out_instance_after_a_failure() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {
  step fan for i in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] max 1 {
    run \"echo ${i} >> ledger && test ${i} != 3\"
  }
}
";
    let out = run_in(dir, text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(ledger(dir), ["1", "2", "3"], "{}", out.stderr);
    assert!(out.stderr.contains("workflow `w` failed"), "{}", out.stderr);
    // Under `on_failure continue` every instance runs.
    let text = text.replace("max 1 {", "max 1 {\n    on_failure continue");
    std::fs::remove_file(dir.join("ledger")).expect("rm");
    let out = run_in(dir, &text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(ledger(dir).len(), 10, "{}", out.stderr);
}

#[test]
fn an_empty_fan_out_succeeds_with_empty_lists() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w(items: list<string> = []) {
  step fan for x in items {
    run \"printf 'v=%s\\n' ${x} > \\\"$FLOW_OUTPUT\\\"\"
    outputs { v: string }
  }
  step read { run \"echo ${fan.status} ${len(fan.v)} ${len(fan.exit_code)} >> ledger\" }
  step other { run \"echo other >> ledger\" }
}
";
    let out = run_in(dir, text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut lines = ledger(dir);
    lines.sort();
    assert_eq!(lines, ["other", "succeeded 0 0"], "{}", out.stderr);
}

#[test]
fn prune_never_deletes_a_waiting_run() {
    let dir = tmp();
    let dir = dir.path();
    std::fs::write(
        dir.join("gate.flow"),
        "workflow g {\n  step gate { approve \"go?\" }\n  step go after gate { run \"echo go >> ledger\" }\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("w.flow"),
        "workflow w {\n  step a { run \"true\" }\n}\n",
    )
    .expect("write");
    let out = flowc_in(dir, &["run", "gate.flow"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let waiting = run_id(&out.stderr);
    // Two runs that finished, newer than the waiting one.
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(flowc_in(dir, &["run", "w.flow"]).code, 0);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(flowc_in(dir, &["run", "w.flow"]).code, 0);
    let out = flowc_in(dir, &["runs", "prune", "--keep", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("pruned 1 run(s)"), "{}", out.stderr);
    let out = flowc_in(dir, &["runs", "prune", "--older-than", "0s"]);
    assert!(out.stderr.contains("pruned 1 run(s)"), "{}", out.stderr);
    let listed = flowc_in(dir, &["runs", "--format", "json"]);
    let runs = json_lines(&listed.stdout);
    assert_eq!(runs.len(), 1, "{}", listed.stdout);
    assert_eq!(runs[0]["id"], waiting.as_str());
    assert_eq!(runs[0]["status"], "waiting");
    assert_eq!(flowc_in(dir, &["approve", &waiting, "gate"]).code, 0);
    assert_eq!(flowc_in(dir, &["resume", &waiting]).code, 0);
    assert_eq!(ledger(dir), ["go"]);
}

#[test]
fn a_step_duration_counts_from_its_process_start() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {\n  step a { run \"sleep 1\" }\n  step b { run \"sleep 1\" }\n}\n";
    let out = run_in(dir, text, &["--max-parallel", "1", "--events", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let finished: Vec<u64> = json_lines(&out.stdout)
        .iter()
        .filter(|e| e["event"] == "step_finished")
        .map(|e| e["duration_ms"].as_u64().expect("duration_ms"))
        .collect();
    assert_eq!(finished.len(), 2, "{}", out.stdout);
    for ms in finished {
        assert!(
            (900..1700).contains(&ms),
            "a 1 s step took {ms} ms: {}",
            out.stdout
        );
    }
}

#[test]
fn a_resume_that_runs_nothing_keeps_the_recorded_duration() {
    let dir = tmp();
    let dir = dir.path();
    let out = run_in(dir, "workflow w {\n  step a { run \"true\" }\n}\n", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let before = json_lines(&flowc_in(dir, &["runs", "--format", "json"]).stdout);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let out = flowc_in(dir, &["resume", "--last"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("nothing to do"), "{}", out.stderr);
    let after = json_lines(&flowc_in(dir, &["runs", "--format", "json"]).stdout);
    assert_eq!(before[0]["duration_ms"], after[0]["duration_ms"]);
    assert_eq!(after[0]["status"], "succeeded");
}

#[test]
fn fan_out_logs_are_named_by_instance_and_a_failed_instance_is_named() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {
  step greet for who in [\"a\", \"b\", \"c\", \"d\"] max 1 {
    run \"echo hello ${who} && test ${who} != d\"
  }
}
";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = flowc_in(dir, &["run", "w.flow"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let failed = out
        .stderr
        .lines()
        .find(|l| l.contains("step `greet` failed"))
        .unwrap_or_default();
    assert!(failed.contains("greet[3]"), "{}", out.stderr);
    let id = run_id(&out.stderr);
    let mut names: Vec<String> = std::fs::read_dir(dir.join(".flow/logs").join(&id))
        .expect("logs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["greet.0.log", "greet.1.log", "greet.2.log", "greet.3.log"]
    );
    let logs = flowc_in(dir, &["logs", &id, "greet"]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert_eq!(logs.stdout, "hello a\nhello b\nhello c\nhello d\n");
    let all = flowc_in(dir, &["logs", &id]);
    assert!(all.stdout.contains("greet.3 | hello d"), "{}", all.stdout);
    let one = flowc_in(dir, &["logs", &id, "greet[1]"]);
    assert_eq!(one.stdout, "hello b\n");
}

#[test]
fn resume_last_finds_a_run_of_a_file_in_another_directory() {
    let dir = tmp();
    let dir = dir.path();
    std::fs::create_dir(dir.join("examples")).expect("mkdir");
    std::fs::write(
        dir.join("examples/w.flow"),
        "workflow w {\n  step a { run \"echo a >> ledger\" }\n}\n",
    )
    .expect("write");
    let out = flowc_in(dir, &["run", "examples/w.flow"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = run_id(&out.stderr);
    let out = flowc_in(dir, &["resume", "--last"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("nothing to do"), "{}", out.stderr);
    let listed = json_lines(&flowc_in(dir, &["runs", "--format", "json"]).stdout);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(flowc_in(dir, &["status", &id]).code, 0);
    assert_eq!(flowc_in(dir, &["logs", &id]).code, 0);
    assert_eq!(ledger(dir), ["a"]);
}

#[test]
fn a_retry_count_or_timeout_that_cannot_be_evaluated_fails_the_step() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w(n: string = \"many\") {
  step s {
    run \"echo s >> ledger\"
    retry parse_int(n)
  }
}
";
    let out = run_in(dir, text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("E0442"), "{}", out.stderr);
    assert!(out.stderr.contains("retry count"), "{}", out.stderr);
    let out = run_in(dir, text, &["--var", "n=-1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("E0442"), "{}", out.stderr);
    let text = "workflow w(n: string = \"many\") {
  step s {
    run \"echo s >> ledger\"
    timeout 1s * parse_int(n)
  }
}
";
    let out = run_in(dir, text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("E0442"), "{}", out.stderr);
    assert!(out.stderr.contains("timeout"), "{}", out.stderr);
    assert!(ledger(dir).is_empty());
    let out = run_in(dir, text, &["--var", "n=2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(ledger(dir), ["s"]);
}
