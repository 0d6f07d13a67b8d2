//! Durable runs: `flowc run` killed at random moments (kill -9, SIGINT, aborts at chosen
//! points of a journal write) and continued with `flowc resume`. The promise checked: a
//! step reported finished never runs again, a step in flight runs again at most once more,
//! nothing is missing, and the final outputs equal those of an uninterrupted run. Steps
//! append their name to a ledger file, which is what the checks count.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::support::{command_in, run_id, spawn_logged, trials, Output};

/// Runs flowc to the end.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command_in(dir, args);
    cmd.envs(env.iter().copied());
    cmd.output().expect("flowc runs").into()
}

fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The steps a run's progress output reported finished (`✔ name succeeded`).
fn reported(stderr: &str) -> HashSet<String> {
    stderr
        .lines()
        .filter_map(|l| l.split_once("✔ "))
        .filter_map(|(_, rest)| rest.split_once(" succeeded"))
        .map(|(name, _)| name.to_string())
        .collect()
}

/// How often each name is in the ledger.
fn ledger(dir: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for line in std::fs::read_to_string(dir.join("ledger"))
        .unwrap_or_default()
        .lines()
    {
        *counts.entry(line.trim().to_string()).or_insert(0) += 1;
    }
    counts
}

fn wait_for(path: &Path, limit: Duration) {
    let until = Instant::now() + limit;
    while !path.exists() {
        assert!(Instant::now() < until, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Checks the promise after a resume: reported-finished steps ran exactly once, every
/// expected step ran, none more than twice.
fn check_ledger(dir: &Path, expected: &[String], finished: &HashSet<String>, trial: &str) {
    let counts = ledger(dir);
    for name in expected {
        let n = counts.get(name).copied().unwrap_or(0);
        assert!(n >= 1, "{trial}: `{name}` never ran");
        assert!(n <= 2, "{trial}: `{name}` ran {n} times");
        if finished.contains(name) {
            assert_eq!(
                n, 1,
                "{trial}: `{name}` was reported finished, then ran again"
            );
        }
    }
}

/// 50 steps in 5 chains of 10; each step passes a value down its chain through an output,
/// and `final` writes the ends of the chains to `result`.
fn fifty() -> (String, Vec<String>) {
    let mut text = String::from("workflow fifty {\n");
    let mut names = Vec::new();
    for i in 0..50 {
        let value = if i < 5 {
            format!("s{i}")
        } else {
            format!("${{s{}.v}}-s{i}", i - 5)
        };
        text.push_str(&format!(
            "  step s{i} {{\n    run \"echo s{i} >> ledger; echo v={value} > \\\"$FLOW_OUTPUT\\\"\"\n    outputs {{ v: string }}\n  }}\n"
        ));
        names.push(format!("s{i}"));
    }
    text.push_str(
        "  step final { run \"echo final >> ledger; echo ${s45.v} ${s46.v} ${s47.v} ${s48.v} ${s49.v} > result\" }\n}\n",
    );
    names.push("final".to_string());
    (text, names)
}

/// A 32-wide fan-out between two steps, at most 8 at once.
fn fan() -> (String, Vec<String>) {
    let items: Vec<String> = (0..32).map(|i| i.to_string()).collect();
    let text = format!(
        "workflow fan(items: list<int> = [{}]) {{
  let sep = \" \"
  step prep {{ run \"echo prep >> ledger\" }}
  step spread for i in items after prep {{
    run \"echo spread-${{i}} >> ledger; sleep 0.02; echo v=${{i}} > \\\"$FLOW_OUTPUT\\\"\"
    outputs {{ v: string }}
  }}
  step total {{ run \"echo total >> ledger; echo ${{join(spread.v, sep)}} > result\" }}
}}
",
        items.join(", ")
    );
    let mut names = vec!["prep".to_string(), "total".to_string()];
    names.extend((0..32).map(|i| format!("spread-{i}")));
    (text, names)
}

/// Kill -9 at a random moment, resume, check; `trials` times, four at a time.
fn kill_and_resume(text: &str, names: &[String], args: &[&str], trials: usize, fanned: bool) {
    // One uninterrupted run: its result, and how long a run takes.
    let base = tempfile::tempdir().expect("tempdir");
    std::fs::write(base.path().join("w.flow"), text).expect("write");
    let mut full: Vec<&str> = vec!["run", "w.flow"];
    full.extend_from_slice(args);
    let t0 = Instant::now();
    let out = run(base.path(), &full, &[]);
    let took = t0.elapsed();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected_result = std::fs::read_to_string(base.path().join("result")).expect("result");
    check_ledger(base.path(), names, &reported(&out.stderr), "uninterrupted");
    let window = took.as_millis().max(20) as u64;

    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let trial = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if trial >= trials {
                    break;
                }
                let dir = tempfile::tempdir().expect("tempdir");
                let dir = dir.path();
                std::fs::write(dir.join("w.flow"), text).expect("write");
                let mut child = spawn_logged(dir, &full, "killed.log");
                std::thread::sleep(Duration::from_millis(fastrand::u64(0..window)));
                kill9(&mut child);
                let killed = std::fs::read_to_string(dir.join("killed.log")).unwrap_or_default();
                let mut finished = reported(&killed);
                if fanned && !finished.contains("spread") {
                    finished.retain(|n| n != "spread");
                } else if fanned {
                    finished.extend((0..32).map(|i| format!("spread-{i}")));
                }
                let label = format!("trial {trial}");
                let out = run(dir, &["resume", "--last"], &[]);
                if out.code == 2 && out.stderr.contains("E0507") {
                    // Killed before the run's journal existed: nothing can have run.
                    assert!(
                        ledger(dir).is_empty(),
                        "{label}: steps ran without a journal"
                    );
                    let again = run(dir, &full, &[]);
                    assert_eq!(again.code, 0, "{label}: {}", again.stderr);
                } else {
                    assert_eq!(out.code, 0, "{label}: {}\n{killed}", out.stderr);
                }
                check_ledger(dir, names, &finished, &label);
                let result = std::fs::read_to_string(dir.join("result")).unwrap_or_default();
                assert_eq!(result, expected_result, "{label}: the final outputs differ");
            });
        }
    });
}

#[test]
fn kill9_at_random_moments_then_resume_never_repeats_finished_steps() {
    let (text, names) = fifty();
    kill_and_resume(
        &text,
        &names,
        &["--max-parallel", "4"],
        trials("FLOWC_CRASH_TRIALS", 50),
        false,
    );
}

#[test]
fn kill9_during_a_wide_fan_out_then_resume() {
    let (text, names) = fan();
    kill_and_resume(
        &text,
        &names,
        &["--max-parallel", "8"],
        trials("FLOWC_CRASH_TRIALS", 50),
        true,
    );
}

/// `a` then a slow `b` (slow only the first time).
const SLOW: &str = "workflow slow {
  step a { run \"echo a >> ledger\" }
  step b after a { run \"echo b >> ledger; echo $$ > pid; test -e second || { touch second; sleep 30; }\" }
  step c after b { run \"echo c >> ledger\" }
}
";

/// Starts SLOW and waits until `b` is running.
fn start_slow(dir: &Path) -> Child {
    std::fs::write(dir.join("w.flow"), SLOW).expect("write");
    let child = spawn_logged(dir, &["run", "w.flow"], "first.log");
    wait_for(&dir.join("second"), Duration::from_secs(20));
    // `a` is reported finished once its record is durable, maybe just after `b` started.
    let until = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(dir.join("first.log"))
        .unwrap_or_default()
        .contains("✔ a succeeded")
    {
        assert!(Instant::now() < until, "`a` was never reported finished");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with(['Z', 'X']))
        })
        .is_some_and(|zombie| !zombie)
}

#[test]
fn sigint_stops_everything_and_resume_reruns_nothing_finished() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let mut child = start_slow(dir);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    let first = std::fs::read_to_string(dir.join("first.log")).expect("log");
    assert!(first.contains("flowc resume"), "{first}");
    let id = run_id(&first);
    assert!(
        flowc::runtime::journal::leftover_groups(&id).is_empty(),
        "a process of the run is left"
    );
    let out = run(dir, &["resume", &id], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("1 of 3 steps finished and are kept"),
        "{}",
        out.stderr
    );
    let counts = ledger(dir);
    assert_eq!(counts.get("a"), Some(&1));
    assert_eq!(counts.get("b"), Some(&2));
    assert_eq!(counts.get("c"), Some(&1));
}

#[test]
fn resume_kills_the_leftover_process_group_of_a_killed_driver() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let mut child = start_slow(dir);
    wait_for(&dir.join("pid"), Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(50));
    kill9(&mut child);
    let pid: i32 = std::fs::read_to_string(dir.join("pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("a pid");
    assert!(alive(pid), "the step should outlive its killed driver");
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("killed 1 leftover process group"),
        "{}",
        out.stderr
    );
    assert!(!alive(pid), "the leftover step process is still alive");
    let counts = ledger(dir);
    assert_eq!(counts.get("a"), Some(&1));
    assert_eq!(counts.get("c"), Some(&1));
}

#[test]
fn a_second_driver_is_refused_at_once_and_a_dead_one_leaves_no_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let mut child = start_slow(dir);
    let t0 = Instant::now();
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0506"), "{}", out.stderr);
    assert!(out.stderr.contains("flowc cancel"), "{}", out.stderr);
    assert!(t0.elapsed() < Duration::from_secs(5), "not at once");
    kill9(&mut child);
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// Appends the start of a record that never got its end, as a crash in the middle of an
/// append leaves it.
fn tear_the_tail(dir: &Path) {
    use std::io::Write;
    let runs = dir.join(".flow/runs");
    let run = std::fs::read_dir(&runs)
        .expect("runs")
        .next()
        .expect("a run")
        .expect("entry")
        .path();
    let len = 100u32.to_le_bytes();
    let mut torn = len.to_vec();
    torn.extend_from_slice(&crc32c::crc32c(&len).to_le_bytes());
    torn.extend_from_slice(&[0, 1, 2, 3, 4, 5]);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(run.join("journal"))
        .expect("journal");
    f.write_all(&torn).expect("append");
}

#[test]
fn compaction_keeps_what_the_journal_says() {
    use flowc::runtime::journal::{self, RunState};
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let mut child = start_slow(dir);
    kill9(&mut child);
    for _ in 0..3 {
        // Resumes that are killed again pile up records.
        let mut again = spawn_logged(dir, &["resume", "--last"], "again.log");
        std::thread::sleep(Duration::from_millis(300));
        kill9(&mut again);
        let _ = std::fs::remove_file(dir.join("second"));
    }
    let run = std::fs::read_dir(dir.join(".flow/runs"))
        .expect("runs")
        .next()
        .expect("a run")
        .expect("entry")
        .path();
    let before = RunState::load(&run).expect("loads");
    let compacted = journal::compact(&before);
    assert!(
        compacted.len() < before.records.len() + 1,
        "nothing was dropped"
    );
    flowc::snapshot::write_atomic(&run.join("journal"), &compacted).expect("write");
    let after = RunState::load(&run).expect("loads");
    let keys = |s: &RunState| {
        let mut f: Vec<(String, String)> = s
            .finished
            .iter()
            .map(|(k, v)| (k.clone(), v.status.clone()))
            .collect();
        f.sort();
        let mut i: Vec<String> = s.in_flight.keys().cloned().collect();
        i.sort();
        (f, i, s.ended.clone(), s.driver)
    };
    assert_eq!(keys(&before), keys(&after));
}

#[test]
fn a_crash_at_any_point_of_a_journal_write_loses_no_finished_step() {
    for point in ["after-temp-write", "after-fsync", "after-rename"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let dir = dir.path();
        let mut child = start_slow(dir);
        kill9(&mut child);
        let finished = reported(&std::fs::read_to_string(dir.join("first.log")).expect("log"));
        assert!(finished.contains("a"));
        tear_the_tail(dir);
        // The resume compacts the journal because of its torn tail (temp write, fsync,
        // rename) and dies there.
        let out = run(dir, &["resume", "--last"], &[("FLOWC_FAULT", point)]);
        assert_ne!(out.code, 0, "{point}: the fault point was not reached");
        let out = run(dir, &["resume", "--last"], &[]);
        assert_eq!(out.code, 0, "{point}: {}", out.stderr);
        check_ledger(dir, &["a", "b", "c"].map(String::from), &finished, point);
    }
    // Dies in the middle of the run's first append to its journal.
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    std::fs::write(dir.join("w.flow"), SLOW).expect("write");
    let out = run(dir, &["run", "w.flow"], &[("FLOWC_FAULT", "mid-append")]);
    assert_ne!(out.code, 0, "mid-append: the fault point was not reached");
    let finished = reported(&out.stderr);
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 0, "mid-append: {}", out.stderr);
    check_ledger(
        dir,
        &["a", "b", "c"].map(String::from),
        &finished,
        "mid-append",
    );
}

#[test]
fn an_edited_workflow_reruns_the_changed_step_and_what_follows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let text = "workflow e {
  step a { run \"echo a >> ledger\" }
  step b after a { run \"echo b >> ledger\" }
  step c after b { run \"echo c >> ledger\" }
  step d after a { run \"echo d >> ledger\" }
}
";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = run(dir, &["run", "w.flow"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // A finished run resumes as a no-op.
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("nothing to do"), "{}", out.stderr);
    // Comments and layout are not changes; a command is.
    let edited = text
        .replace("echo b >> ledger", "echo b >> ledger; echo edited")
        .replace("step d", "// a comment\n  step   d");
    std::fs::write(dir.join("w.flow"), edited).expect("write");
    let plan = run(dir, &["resume", "--last", "--plan"], &[]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stderr
            .contains("run  b: its definition or inputs changed"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("run  c: `b` runs again upstream"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("2 of 4 steps finished and are kept"),
        "{}",
        plan.stderr
    );
    assert_eq!(
        ledger(dir).values().sum::<usize>(),
        4,
        "--plan ran something"
    );
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let counts = ledger(dir);
    assert_eq!(counts.get("a"), Some(&1));
    assert_eq!(counts.get("d"), Some(&1));
    assert_eq!(counts.get("b"), Some(&2));
    assert_eq!(counts.get("c"), Some(&2));
}

#[test]
fn a_failed_run_resumes_from_the_failed_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let text = "workflow f {
  step a { run \"echo a >> ledger\" }
  step b after a { run \"echo b >> ledger; test -e fixed\" }
  step c after b { run \"echo c >> ledger\" }
}
";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = run(dir, &["run", "w.flow"], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("flowc resume"), "{}", out.stderr);
    std::fs::write(dir.join("fixed"), "").expect("write");
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("run  b: it failed before"),
        "{}",
        out.stderr
    );
    let counts = ledger(dir);
    assert_eq!(counts.get("a"), Some(&1));
    assert_eq!(counts.get("b"), Some(&2));
    assert_eq!(counts.get("c"), Some(&1));
}

#[test]
fn retry_attempts_are_counted_across_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    // Attempt 1 fails; attempt 2 hangs the first time (the driver is killed then).
    let text = "workflow r {
  step flaky {
    run \"echo try >> ledger; test -e one || { touch one; exit 75; }; test -e second || { touch second; sleep 30; }\"
    retry 2 backoff fixed(10ms)
  }
}
";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let mut child = spawn_logged(dir, &["run", "w.flow"], "first.log");
    wait_for(&dir.join("second"), Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(100));
    kill9(&mut child);
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("▶ flaky (attempt 2)"), "{}", out.stderr);
    assert!(
        out.stderr.contains("flaky  succeeded         2"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_approval_gate_waits_and_resumes_after_a_decision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let text = "workflow g {
  step build { run \"echo build >> ledger\" }
  step gate after build { approve \"ship it?\" }
  step ship after gate { run \"echo ship >> ledger\" }
}
";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = run(dir, &["run", "w.flow"], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("is waiting for approval of `gate`"),
        "{}",
        out.stderr
    );
    let id = run_id(&out.stderr);
    let status = run(dir, &["runs", "--format", "json"], &[]);
    assert!(
        status.stdout.contains("\"status\":\"waiting\""),
        "{}",
        status.stdout
    );
    let wrong = run(dir, &["approve", &id, "build"], &[]);
    assert_eq!(wrong.code, 2);
    assert!(wrong.stderr.contains("E0509"), "{}", wrong.stderr);
    let ok = run(dir, &["approve", &id, "gate"], &[]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let out = run(dir, &["resume", &id], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let counts = ledger(dir);
    assert_eq!(counts.get("build"), Some(&1));
    assert_eq!(counts.get("ship"), Some(&1));
}

#[test]
fn a_rejected_gate_fails_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let text = "workflow g {
  step gate { approve \"ship it?\" }
  step ship after gate { run \"echo ship >> ledger\" }
}
";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = run(dir, &["run", "w.flow"], &[]);
    let id = run_id(&out.stderr);
    assert_eq!(run(dir, &["reject", &id, "gate"], &[]).code, 0);
    let out = run(dir, &["resume", &id], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("rejected"), "{}", out.stderr);
    assert!(ledger(dir).is_empty());
}

#[test]
fn resume_errors_have_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("E0507"), "{}", out.stderr);
    std::fs::write(
        dir.join("w.flow"),
        "workflow w {\n  step a { run \"exit 3\" }\n}\n",
    )
    .expect("write");
    assert_eq!(run(dir, &["run", "w.flow"], &[]).code, 1);
    std::fs::remove_file(dir.join("w.flow")).expect("rm");
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("E0508"), "{}", out.stderr);
}

#[test]
fn the_journal_can_be_switched_off_for_benchmarks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    std::fs::write(
        dir.join("w.flow"),
        "workflow w {\n  step a { run \"true\" }\n}\n",
    )
    .expect("write");
    let out = run(dir, &["run", "w.flow"], &[("FLOWC_JOURNAL", "off")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!dir.join(".flow/runs").exists());
    // --state-dir and FLOWC_STATE_DIR choose where journals go.
    let out = run(dir, &["run", "w.flow", "--state-dir", "elsewhere"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_dir(dir.join("elsewhere"))
            .expect("dir")
            .count(),
        1
    );
    let out = run(
        dir,
        &["resume", "--last"],
        &[("FLOWC_STATE_DIR", "elsewhere")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("nothing to do"), "{}", out.stderr);
}

#[test]
fn runs_status_logs_cancel_and_prune() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let mut child = start_slow(dir);
    let first = std::fs::read_to_string(dir.join("first.log")).expect("log");
    let id = run_id(&first);
    let listed = run(dir, &["runs", "--format", "json"], &[]);
    assert!(
        listed.stdout.contains("\"status\":\"running\""),
        "{}",
        listed.stdout
    );
    assert!(
        listed.stdout.contains("\"steps_total\":3"),
        "{}",
        listed.stdout
    );
    let out = run(dir, &["cancel", &id], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(child.wait().expect("wait").code(), Some(130));
    let status = run(dir, &["status", &id], &[]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("status cancelled"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("a     succeeded"),
        "{}",
        status.stdout
    );
    let again = run(dir, &["cancel", &id], &[]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("E0510"), "{}", again.stderr);
    std::fs::write(
        dir.join("w2.flow"),
        "workflow w {\n  step hi { run \"echo hello there\" }\n}\n",
    )
    .expect("write");
    let out = run(dir, &["run", "w2.flow"], &[]);
    let id2 = run_id(&out.stderr);
    let logs = run(dir, &["logs", &id2, "hi"], &[]);
    assert_eq!(logs.stdout, "hello there\n");
    let out = run(dir, &["runs", "prune", "--older-than", "1d"], &[]);
    assert!(out.stderr.contains("pruned 0 run(s)"), "{}", out.stderr);
    let out = run(dir, &["runs", "prune", "--keep", "1"], &[]);
    assert!(out.stderr.contains("pruned 1 run(s)"), "{}", out.stderr);
    let listed = run(dir, &["runs", "--format", "json"], &[]);
    assert_eq!(listed.stdout.lines().count(), 1);
    assert!(listed.stdout.contains(&id2));
}

/// A large workflow's fingerprints are computed on two threads: a step changed in either
/// half is found, and every unchanged step before it is kept.
#[test]
fn a_large_edited_workflow_keeps_exactly_the_unchanged_steps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let n = 2_400;
    let workflow = |changed: Option<usize>| {
        let mut text = String::from("workflow big {\n  step s_0 { sleep 0s }\n");
        for i in 1..n - 1 {
            let pause = if changed == Some(i) { "1ms" } else { "0s" };
            text.push_str(&format!(
                "  step s_{i} after s_{} {{ sleep {pause} }}\n",
                i - 1
            ));
        }
        text.push_str(&format!(
            "  step s_{} after s_{} {{ run \"test -e ok\" }}\n}}\n",
            n - 1,
            n - 2
        ));
        text
    };
    std::fs::write(dir.join("w.flow"), workflow(None)).expect("write");
    let out = run(dir, &["run", "w.flow"], &[]);
    assert_eq!(out.code, 1, "the last step should fail: {}", out.stderr);
    std::fs::write(dir.join("ok"), "").expect("write");
    // A step in the second half of the list (the halves split at n / 2).
    std::fs::write(dir.join("w.flow"), workflow(Some(2_000))).expect("write");
    let out = run(dir, &["resume", "--last", "--plan"], &[]);
    assert!(
        out.stderr
            .contains(&format!("2000 of {n} steps finished and are kept")),
        "{}",
        out.stderr
    );
    // And one in the first half.
    std::fs::write(dir.join("w.flow"), workflow(Some(700))).expect("write");
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("700 of {n} steps finished and are kept")),
        "{}",
        out.stderr
    );
}

/// The summary of a resume lists what ran in it and counts what was kept.
#[test]
fn a_resume_summary_counts_the_kept_steps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let text = "workflow k {
  step first { run \"true\" }
  step second after first { run \"true\" }
  step last after second { run \"test -e ok\" }
}
";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = run(dir, &["run", "w.flow"], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("\nfirst "), "{}", out.stderr);
    std::fs::write(dir.join("ok"), "").expect("write");
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let table = out.stderr.split("\nstep ").nth(1).expect("a summary table");
    assert!(table.contains("\nlast "), "{table}");
    assert!(
        !table.contains("\nfirst ") && !table.contains("\nsecond "),
        "{table}"
    );
    assert!(table.contains("(2 steps kept from before)"), "{table}");
}

/// Issue 14, defect 12: a step's fingerprint covers the constants it reads, also those of
/// an imported module (and a task's), so changing one re-runs that step and only what
/// depends on it.
#[test]
fn a_changed_constant_of_an_imported_module_reruns_the_steps_that_read_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let lib = |greeting: &str| {
        let text = format!(
            "let greeting = \"{greeting}\"\nlet other = \"x\"\n/// Appends the greeting.\ntask note() {{ run \"echo n-${{greeting}} >> ledger\" }}\n"
        );
        std::fs::write(dir.join("lib.flow"), text).expect("write");
    };
    lib("hello");
    let text = "import \"./lib.flow\" as lib
workflow e {
  step a { run \"echo a-${lib.greeting} >> ledger\" }
  step b = lib.note()
  step c after a { run \"echo c >> ledger\" }
  step d { run \"echo d-${lib.other} >> ledger\" }
}
";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = run(dir, &["run", "w.flow"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    lib("bonjour");
    let plan = run(dir, &["resume", "--last", "--plan"], &[]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stderr
            .contains("run  a: its definition or inputs changed"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr
            .contains("run  b: its definition or inputs changed"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("1 of 4 steps finished and are kept"),
        "{}",
        plan.stderr
    );
    let out = run(dir, &["resume", "--last"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let counts = ledger(dir);
    assert_eq!(counts.get("a-hello"), Some(&1));
    assert_eq!(counts.get("a-bonjour"), Some(&1));
    assert_eq!(counts.get("n-hello"), Some(&1));
    assert_eq!(counts.get("n-bonjour"), Some(&1));
    assert_eq!(counts.get("c"), Some(&2));
    assert_eq!(counts.get("d-x"), Some(&1));
}
