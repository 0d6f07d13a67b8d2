//! Operating a live run (issue 17): `flowc pause` that drains, `flowc resume --from` /
//! `--only`, `flowc rollback` through compensation steps (interrupted by `kill -9` and
//! continued), and the one lock that makes these operations exclude each other. Real
//! processes; steps append to a ledger file, which is what the checks read (its order and
//! its counts), never the clock.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{
    command_in, exit_code, json_lines, ledger, read, run_id, spawn_logged, trials, wait_until,
    Output,
};

/// Runs flowc to its end.
fn run(dir: &Path, args: &[&str]) -> Output {
    command_in(dir, args).output().expect("flowc runs").into()
}

/// How often each line is in the ledger.
fn counts(dir: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for line in ledger(dir) {
        *counts.entry(line).or_insert(0) += 1;
    }
    counts
}

fn count(dir: &Path, line: &str) -> usize {
    counts(dir).get(line).copied().unwrap_or(0)
}

/// Waits for a spawned flowc's run id, from its log.
fn spawned_id(dir: &Path, log: &str) -> String {
    wait_until(|| !run_id(&read(dir, log)).is_empty(), "the run's id");
    run_id(&read(dir, log))
}

/// Runs `text` as `w.flow` to its end; gives the run id.
fn run_to_end(dir: &Path, text: &str, code: i32) -> String {
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = run(dir, &["run", "w.flow"]);
    assert_eq!(out.code, code, "{}", out.stderr);
    run_id(&out.stderr)
}

/// The run's status, from `flowc status --format json`.
fn status_json(dir: &Path, id: &str) -> serde_json::Value {
    let out = run(dir, &["status", id, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    json_lines(&out.stdout).remove(0)
}

fn step_json<'a>(status: &'a serde_json::Value, step: &str) -> &'a serde_json::Value {
    status["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == step))
        .unwrap_or_else(|| panic!("no step `{step}` in {status}"))
}

/// `b` runs until the file `go` exists; `c` follows it; `undo` compensates `b`.
const DRAIN: &str = "workflow drain {
  step a { run \"echo a >> ledger\" }
  step b after a { run \"echo b-start >> ledger; while [ ! -e go ]; do sleep 0.01; done; echo b-end >> ledger\" }
  step c after b { run \"echo c >> ledger\" }
  step undo on_failure_of b { run \"echo undo >> ledger\" }
  finally step f { run \"echo finally-${workflow.status} >> ledger\" }
}
";

#[test]
fn pause_lets_the_running_step_finish_starts_nothing_more_and_resume_runs_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    std::fs::write(dir.join("w.flow"), DRAIN).expect("write");
    let mut child = spawn_logged(dir, &["run", "w.flow"], "run.log");
    wait_until(|| count(dir, "b-start") == 1, "`b` to start");
    let id = spawned_id(dir, "run.log");

    let out = run(dir, &["pause", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("asked run"), "{}", out.stderr);
    wait_until(
        || read(dir, "run.log").contains("pausing (asked by `flowc pause`"),
        "the driver to hear the pause",
    );
    assert_eq!(status_json(dir, &id)["status"], "pausing");

    // While it drains, the other operations are refused, naming the pause.
    for args in [
        vec!["pause", id.as_str()],
        vec!["cancel", id.as_str()],
        vec!["rollback", id.as_str()],
        vec!["resume", id.as_str()],
    ] {
        let out = run(dir, &args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("E0506"), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("held by `flowc pause` (pid "),
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(", since "), "{args:?}: {}", out.stderr);
    }

    // The running step finishes; nothing after it starts, no compensation, no finally.
    std::fs::write(dir.join("go"), "").expect("write");
    assert_eq!(exit_code(&mut child), 1);
    let log = read(dir, "run.log");
    assert!(
        log.contains(&format!("run {id} paused")) && log.contains(&format!("flowc resume {id}")),
        "{log}"
    );
    assert_eq!(ledger(dir), ["a", "b-start", "b-end"]);
    let status = status_json(dir, &id);
    assert_eq!(status["status"], "paused");
    assert_eq!(step_json(&status, "b")["status"], "succeeded");
    let listed = run(dir, &["runs", "--format", "json"]);
    assert!(
        listed.stdout.contains("\"status\":\"paused\""),
        "{}",
        listed.stdout
    );
    // A paused run is not live: pausing it again is E0510.
    let out = run(dir, &["pause", &id]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("E0510"), "{}", out.stderr);

    let out = run(dir, &["resume", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ledger(dir),
        ["a", "b-start", "b-end", "c", "finally-succeeded"]
    );
}

#[test]
fn a_pause_does_not_wait_for_a_retry_due_later_and_wait_blocks_until_the_drain_is_done() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let text = "workflow flaky {
  step flaky {
    run \"echo try >> ledger; test -e fixed\"
    retry 3 backoff fixed(1h)
  }
  step next after flaky { run \"echo next >> ledger\" }
}
";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let mut child = spawn_logged(dir, &["run", "w.flow"], "run.log");
    wait_until(
        || read(dir, "run.log").contains("attempt 2 in 1h"),
        "the first attempt to fail",
    );
    let id = spawned_id(dir, "run.log");
    // `--wait` returns once the driver stopped: not an hour later.
    let out = run(dir, &["pause", &id, "--wait"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("run {id} paused")),
        "{}",
        out.stderr
    );
    assert_eq!(exit_code(&mut child), 1);
    assert!(
        read(dir, "run.log").contains("⏸ flaky paused: attempt 2 was due"),
        "{}",
        read(dir, "run.log")
    );
    assert_eq!(ledger(dir), ["try"]);
    assert_eq!(
        step_json(&status_json(dir, &id), "flaky")["status"],
        "paused"
    );
    // The resume goes on with the retries left: attempt 2.
    std::fs::write(dir.join("fixed"), "").expect("write");
    let out = run(dir, &["resume", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("▶ flaky (attempt 2)"), "{}", out.stderr);
    assert_eq!(ledger(dir), ["try", "try", "next"]);
}

/// `b` writes an output read from the file `value`; `c` reads it.
const RERUN: &str = "workflow rerun(items: list<int> = [0, 1, 2]) {
  step a { run \"echo a >> ledger\" }
  step b after a {
    run \"echo b >> ledger; printf v= > \\\"$FLOW_OUTPUT\\\"; cat value >> \\\"$FLOW_OUTPUT\\\"\"
    outputs { v: string }
  }
  step c { run \"echo c-${b.v} >> ledger\" }
  step d after a { run \"echo d >> ledger\" }
  step fan for i in items after d { run \"echo fan-${i} >> ledger\" }
  step e after fan { run \"echo e >> ledger\" }
}
";

#[test]
fn from_reruns_exactly_the_downstream_set_and_only_exactly_one_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    std::fs::write(dir.join("value"), "1\n").expect("write");
    let id = run_to_end(dir, RERUN, 0);
    let once = |names: &[&str]| {
        for n in names {
            assert_eq!(count(dir, n), 1, "{n}: {:?}", ledger(dir));
        }
    };
    once(&["a", "b", "c-1", "d", "fan-0", "fan-1", "fan-2", "e"]);

    let plan = run(dir, &["resume", &id, "--from", "b", "--plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stderr.contains("run  b: asked for with `--from b`"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("run  c: `b` runs again upstream"),
        "{}",
        plan.stderr
    );
    assert_eq!(ledger(dir).len(), 8, "--plan ran something");

    // `--from b`: b and c, nothing else.
    let out = run(dir, &["resume", &id, "--from", "b"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(count(dir, "b"), 2);
    assert_eq!(count(dir, "c-1"), 2);
    once(&["a", "d", "fan-0", "fan-1", "fan-2", "e"]);

    // `--only b` with the same output: b alone.
    let out = run(dir, &["resume", &id, "--only", "b"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("keep c: unless `b` gives other results than before"),
        "{}",
        out.stderr
    );
    assert_eq!(count(dir, "b"), 3);
    assert_eq!(count(dir, "c-1"), 2);

    // `--only b` with another output: c runs too.
    std::fs::write(dir.join("value"), "2\n").expect("write");
    let out = run(dir, &["resume", &id, "--only", "b"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(count(dir, "b"), 4);
    assert_eq!(count(dir, "c-2"), 1);
    once(&["a", "d", "fan-0", "fan-1", "fan-2", "e"]);

    // One instance of a fan-out, and what is downstream of it.
    let out = run(dir, &["resume", &id, "--from", "fan[1]"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(count(dir, "fan-1"), 2);
    assert_eq!(count(dir, "e"), 2);
    once(&["a", "d", "fan-0", "fan-2"]);

    // The journal keeps every run of a step; `status` shows the latest and the count.
    let status = status_json(dir, &id);
    assert_eq!(step_json(&status, "b")["runs"], 4);
    assert_eq!(step_json(&status, "b")["status"], "succeeded");
    assert_eq!(
        step_json(&status, "b")["history"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(step_json(&status, "a")["runs"], 1);
    let human = run(dir, &["status", &id]);
    assert!(human.stdout.contains("runs"), "{}", human.stdout);

    for (flag, name) in [("--from", "bb"), ("--only", "fan[7]"), ("--from", "a[0]")] {
        let out = run(dir, &["resume", &id, flag, name]);
        assert_eq!(out.code, 2, "{flag} {name}: {}", out.stderr);
        assert!(
            out.stderr.contains("E0513"),
            "{flag} {name}: {}",
            out.stderr
        );
    }
    let out = run(dir, &["resume", &id, "--from", "bb"]);
    assert!(
        out.stderr.contains("did you mean `--from b`?"),
        "{}",
        out.stderr
    );
}

/// Four steps finishing in the order s1, s2, s3, s4 although written the other way round,
/// each with a compensation; `s2` is the checkpoint `staged`.
const SHIP: &str = "workflow ship {
  step s4 after s3 { run \"echo s4 >> ledger\" }
  step s3 after s2 { run \"echo s3 >> ledger\" }
  step s2 after s1 {
    run \"echo s2 >> ledger\"
    checkpoint \"staged\"
  }
  step s1 { run \"echo s1 >> ledger\" }
  step u4 on_failure_of s4 { run \"echo undo-s4 >> ledger\" }
  step u3 on_failure_of s3 { run \"echo undo-s3 >> ledger\" }
  step u2 on_failure_of s2 { run \"echo undo-s2 >> ledger\" }
  step u1 on_failure_of s1 { run \"echo undo-s1 >> ledger\" }
  finally step f { run \"echo finally-${workflow.status} >> ledger\" }
}
";

#[test]
fn rollback_runs_compensations_in_reverse_completion_order_each_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let id = run_to_end(dir, SHIP, 0);
    assert_eq!(ledger(dir), ["s1", "s2", "s3", "s4", "finally-succeeded"]);

    let plan = run(dir, &["rollback", &id, "--to", "staged", "--plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stderr.contains("1. u4  undoes s4") && plan.stderr.contains("2. u3  undoes s3"),
        "{}",
        plan.stderr
    );
    assert!(!plan.stderr.contains("undoes s2"), "{}", plan.stderr);
    assert_eq!(ledger(dir).len(), 5, "--plan ran something");
    let out = run(dir, &["rollback", &id, "--to", "stagd"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0514"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `--to staged`?"),
        "{}",
        out.stderr
    );

    let out = run(dir, &["rollback", &id, "--to", "staged"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ledger(dir)[5..],
        ["undo-s4", "undo-s3", "finally-rolled_back"]
    );
    let status = status_json(dir, &id);
    assert_eq!(status["status"], "rolled_back");
    assert_eq!(step_json(&status, "s4")["status"], "rolled_back");
    assert_eq!(step_json(&status, "s2")["status"], "succeeded");
    assert_eq!(status["checkpoints"][0]["label"], "staged");
    assert_eq!(status["checkpoints"][0]["reached"], true);
    let human = run(dir, &["status", &id]);
    assert!(
        human.stdout.contains("staged  step `s2`, reached"),
        "{}",
        human.stdout
    );

    // The rest, then nothing: what was undone is not undone again.
    let out = run(dir, &["rollback", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ledger(dir)[8..],
        ["undo-s2", "undo-s1", "finally-rolled_back"]
    );
    let out = run(dir, &["rollback", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing to roll back"),
        "{}",
        out.stderr
    );
    assert_eq!(ledger(dir).len(), 11);

    // A rolled-back run resumes: what was undone runs again.
    let out = run(dir, &["resume", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("run  s1: it was rolled back"),
        "{}",
        out.stderr
    );
    assert_eq!(
        ledger(dir)[11..],
        ["s1", "s2", "s3", "s4", "finally-succeeded"]
    );
    // `--to` takes a step's name too: every finished step is a checkpoint.
    let out = run(dir, &["rollback", &id, "--to", "s3"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(ledger(dir)[16..], ["undo-s4", "finally-rolled_back"]);
}

#[test]
fn rollback_refuses_steps_without_compensation_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let text = "workflow half {
  step s1 { run \"echo s1 >> ledger\" }
  step s2 after s1 { run \"echo s2 >> ledger\" }
  step u1 on_failure_of s1 { run \"echo undo-s1 >> ledger\" }
}
";
    let id = run_to_end(dir, text, 0);
    let out = run(dir, &["rollback", &id]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0516"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("keep s2: not reversible (no compensation step); refused without --force"),
        "{}",
        out.stderr
    );
    assert_eq!(ledger(dir), ["s1", "s2"]);
    let out = run(dir, &["rollback", &id, "--force"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("keep s2: not reversible (no compensation step); kept as it is"),
        "{}",
        out.stderr
    );
    assert_eq!(ledger(dir), ["s1", "s2", "undo-s1"]);
    let status = status_json(dir, &id);
    assert_eq!(status["rollback"]["kept"][0], "s2");
    assert_eq!(step_json(&status, "s2")["status"], "succeeded");
    assert_eq!(step_json(&status, "s1")["status"], "rolled_back");
}

#[test]
fn a_failed_compensation_stops_the_rollback_which_then_continues_where_it_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let id = run_to_end(
        dir,
        &SHIP.replace(
            "echo undo-s3 >> ledger",
            "echo undo-s3 >> ledger; test -e ok",
        ),
        0,
    );
    let out = run(dir, &["rollback", &id]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("`flowc rollback {id}` continues it")),
        "{}",
        out.stderr
    );
    assert_eq!(ledger(dir)[5..], ["undo-s4", "undo-s3"]);
    assert_eq!(status_json(dir, &id)["status"], "failed");
    // Another `--to` would change the plan half-way.
    let out = run(dir, &["rollback", &id, "--to", "staged"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0517"), "{}", out.stderr);
    // A compensation still to run is gone from the file.
    std::fs::write(
        dir.join("w.flow"),
        SHIP.replace(
            "  step u1 on_failure_of s1 { run \"echo undo-s1 >> ledger\" }\n",
            "",
        ),
    )
    .expect("write");
    let out = run(dir, &["rollback", &id]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0518"), "{}", out.stderr);
    std::fs::write(dir.join("w.flow"), SHIP).expect("write");
    std::fs::write(dir.join("ok"), "").expect("write");
    let out = run(dir, &["rollback", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("continuing the rollback"),
        "{}",
        out.stderr
    );
    // `undo-s4` finished before: it does not run again.
    assert_eq!(
        ledger(dir)[5..],
        [
            "undo-s4",
            "undo-s3",
            "undo-s3",
            "undo-s2",
            "undo-s1",
            "finally-rolled_back"
        ]
    );
}

#[test]
fn rollback_to_a_checkpoint_the_run_did_not_reach_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let id = run_to_end(
        dir,
        &SHIP.replace("echo s2 >> ledger", "echo s2 >> ledger; exit 3"),
        1,
    );
    let out = run(dir, &["rollback", &id, "--to", "staged"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0515"), "{}", out.stderr);
    assert!(out.stderr.contains("step `s2` is failed"), "{}", out.stderr);
}

#[test]
fn a_rollback_excludes_pause_cancel_and_resume_and_they_name_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let text = "workflow slow_undo {
  step s1 { run \"echo s1 >> ledger\" }
  step u1 on_failure_of s1 { run \"echo undo-start >> ledger; while [ ! -e go ]; do sleep 0.01; done; echo undo-end >> ledger\" }
}
";
    let id = run_to_end(dir, text, 0);
    let mut child = spawn_logged(dir, &["rollback", &id], "rollback.log");
    wait_until(
        || count(dir, "undo-start") == 1,
        "the compensation to start",
    );
    assert_eq!(status_json(dir, &id)["status"], "rolling_back");
    for args in [
        vec!["pause", id.as_str()],
        vec!["cancel", id.as_str()],
        vec!["resume", id.as_str()],
        vec!["rollback", id.as_str()],
    ] {
        let out = run(dir, &args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("E0506"), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("held by `flowc rollback` (pid {}", child.id())),
            "{args:?}: {}",
            out.stderr
        );
    }
    std::fs::write(dir.join("go"), "").expect("write");
    assert_eq!(exit_code(&mut child), 0, "{}", read(dir, "rollback.log"));
    assert_eq!(ledger(dir), ["s1", "undo-start", "undo-end"]);
}

/// Ten steps in a chain, each with a compensation.
fn ten() -> String {
    let mut text = String::from("workflow ten {\n");
    for i in 1..=10 {
        let after = if i > 1 {
            format!(" after s{}", i - 1)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  step s{i}{after} {{ run \"echo s{i} >> ledger\" }}\n  step u{i} on_failure_of s{i} {{ run \"echo undo-s{i} >> ledger; sleep 0.01\" }}\n"
        ));
    }
    text.push_str("  finally step f { run \"echo finally-${workflow.status} >> ledger\" }\n}\n");
    text
}

/// The compensations a rollback's progress output reported finished (`✔ uN succeeded`).
fn reported(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.split_once("✔ "))
        .filter_map(|(_, rest)| rest.split_once(" succeeded"))
        .map(|(name, _)| name.replace('u', "undo-s"))
        .filter(|n| n.starts_with("undo-s"))
        .collect()
}

#[test]
fn kill9_during_a_rollback_then_rollback_runs_every_finished_compensation_once() {
    let text = ten();
    let undo: Vec<String> = (1..=10).rev().map(|i| format!("undo-s{i}")).collect();
    // One uninterrupted rollback: its order, and how long a rollback takes.
    let base = tempfile::tempdir().expect("tempdir");
    let id = run_to_end(base.path(), &text, 0);
    let t0 = Instant::now();
    let out = run(base.path(), &["rollback", &id]);
    let window = t0.elapsed().as_millis().max(20) as u64;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let order: Vec<String> = ledger(base.path())
        .into_iter()
        .filter(|l| l.starts_with("undo-"))
        .collect();
    assert_eq!(order, undo);

    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let trial = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if trial >= trials("FLOWC_ROLLBACK_TRIALS", 30) {
                    break;
                }
                let dir = tempfile::tempdir().expect("tempdir");
                let dir = dir.path();
                let id = run_to_end(dir, &text, 0);
                let mut child = spawn_logged(dir, &["rollback", &id], "killed.log");
                std::thread::sleep(Duration::from_millis(fastrand::u64(0..window)));
                let _ = child.kill();
                let _ = child.wait();
                let finished = reported(&read(dir, "killed.log"));
                let out = run(dir, &["rollback", &id]);
                let label = format!("trial {trial}");
                assert_eq!(out.code, 0, "{label}: {}", out.stderr);
                assert_eq!(
                    status_json(dir, &id)["status"],
                    "rolled_back",
                    "{label}: {}",
                    out.stderr
                );
                let counts = counts(dir);
                let mut twice = Vec::new();
                for name in &undo {
                    let n = counts.get(name).copied().unwrap_or(0);
                    assert!(n >= 1, "{label}: `{name}` never ran");
                    assert!(n <= 2, "{label}: `{name}` ran {n} times");
                    if finished.contains(name) {
                        assert_eq!(n, 1, "{label}: `{name}` finished, then ran again");
                    }
                    if n == 2 {
                        twice.push(name.clone());
                    }
                }
                // One at a time: only the one in flight at the kill can run twice.
                assert!(twice.len() <= 1, "{label}: {twice:?} ran twice");
                // The first runs are in the reverse order of the steps' finishes.
                let mut first: Vec<String> = Vec::new();
                for line in ledger(dir).into_iter().filter(|l| l.starts_with("undo-")) {
                    if !first.contains(&line) {
                        first.push(line);
                    }
                }
                assert_eq!(first, undo, "{label}");
            });
        }
    });
}

#[test]
fn a_checkpoint_label_is_formatted_planned_graphed_and_shown_in_the_repl() {
    use crate::support::Flowc;
    let out = Flowc::new(&["fmt", "-"])
        .stdin("workflow w {\n  step s {  run \"x\"   checkpoint    \"pre-production\" }\n}\n")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "workflow w {\n  step s {\n    run \"x\"\n    checkpoint \"pre-production\"\n  }\n}\n"
    );
    let plan = Flowc::new(&["plan", "examples/release.flow"]).run();
    assert!(
        plan.stdout
            .contains("stage      after prepare · timeout 1m · checkpoint \"staged\""),
        "{}",
        plan.stdout
    );
    for (format, shown) in [
        ("text", "    checkpoint \"staged\""),
        ("json", "\"checkpoint\": \"staged\""),
        ("dot", "label=\"stage\\ncheckpoint staged\""),
        ("mermaid", "stage<br/>checkpoint staged"),
    ] {
        let out = Flowc::new(&["graph", "--format", format, "examples/release.flow"]).run();
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        assert!(out.stdout.contains(shown), "{format}: {}", out.stdout);
    }
    let repl = Flowc::new(&["repl"])
        .stdin(":load examples/release.flow\n:graph\n:plan\n")
        .run();
    assert_eq!(repl.code, 0, "{}", repl.stderr);
    assert!(
        repl.stdout.contains("checkpoint \"staged\"")
            && repl.stdout.matches("checkpoint").count() >= 2,
        "{}",
        repl.stdout
    );
}

#[test]
fn the_release_example_runs_rolls_back_to_its_checkpoint_and_runs_again_from_a_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let text = std::fs::read_to_string(crate::support::root().join("examples/release.flow"))
        .expect("the example");
    let id = run_to_end(dir, &text, 0);
    let release = |name: &str| dir.join(".flow/release").join(name).exists();
    assert!(release("staging") && release("production"));
    let out = run(dir, &["rollback", &id, "--to", "staged"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("report | release 1.0.0: rolled_back"),
        "{}",
        out.stderr
    );
    assert!(release("staging") && !release("production"));
    let out = run(dir, &["resume", &id, "--from", "promote"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(release("production"));
    let out = run(dir, &["rollback", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!release("prepared") && !release("staging") && !release("production"));
}

/// `--last` names the newest run for `rollback`, `pause` and `status` as for `resume`;
/// without it, `rollback` and `pause` need a run (a usage error), so that the newest run is
/// never undone by a command that forgot its argument.
#[test]
fn last_names_the_newest_run_for_rollback_pause_and_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let old = run_to_end(dir, SHIP, 0);
    let id = run_to_end(dir, SHIP, 0);
    assert_ne!(old, id);

    let plan = run(dir, &["rollback", "--last", "--to", "staged", "--plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stderr.contains(&id), "{}", plan.stderr);
    assert!(!plan.stderr.contains(&old), "{}", plan.stderr);
    assert!(plan.stderr.contains("1. u4  undoes s4"), "{}", plan.stderr);

    // The run has ended: pausing it is E0510, for the newest run.
    let pause = run(dir, &["pause", "--last"]);
    assert_eq!(pause.code, 1, "{}", pause.stderr);
    assert!(pause.stderr.contains("E0510"), "{}", pause.stderr);
    assert!(pause.stderr.contains(&id), "{}", pause.stderr);

    let status = run(dir, &["status", "--last", "--format", "json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(status["id"], id.as_str());

    for args in [&["rollback"][..], &["pause"], &["rollback", &id, "--last"]] {
        let out = run(dir, args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
    }
    // Nothing was undone.
    assert_eq!(ledger(dir).len(), 10, "{:?}", ledger(dir));
}
