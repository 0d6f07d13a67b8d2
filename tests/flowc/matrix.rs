//! Matrices (`for py in pys for os in oses`) and per-instance chains (`for w in worker`),
//! run by the real binary. Steps append to a ledger file; order and counts are read from
//! it, never from timing.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{flowc_in, json_lines, tmp, Output};

/// Writes `text` to `dir/w.flow`.
fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("w.flow"), text).expect("write the workflow");
}

/// The ledger's lines, in the order they were written.
fn ledger(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The ledger's lines, sorted (instances run in parallel).
fn sorted(dir: &Path) -> Vec<String> {
    let mut lines = ledger(dir);
    lines.sort();
    lines
}

/// The id of the one run journaled in `dir`.
fn run_id(dir: &Path) -> String {
    std::fs::read_dir(dir.join(".flow/runs"))
        .expect("runs")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .expect("a run")
}

/// Where `line` is in the ledger (it must be there once).
fn at(lines: &[String], line: &str) -> usize {
    let found: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == line).collect();
    assert_eq!(found.len(), 1, "`{line}` once in {lines:?}");
    found[0]
}

const MATRIX: &str = r#"workflow ci(pys: list<string> = ["3.11", "3.12"], oses: list<string> = ["linux", "mac", "win"]) {
  step test for py in pys for os in oses max 4 when !(py == "3.11" && os == "win") {
    run "echo ${py}/${os} >> ledger && printf %s ${py}-${os}"
  }
  step report after test { run "echo ${len(test.exit_code)} ${join(test.stdout, ",")} >> ledger" }
}
"#;

#[test]
fn a_matrix_runs_each_combination_once_named_by_its_positions() {
    let dir = tmp();
    write(dir.path(), MATRIX);
    let out = flowc_in(dir.path(), &["run", "w.flow"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        sorted(dir.path())[..5],
        [
            "3.11/linux",
            "3.11/mac",
            "3.12/linux",
            "3.12/mac",
            "3.12/win"
        ],
        "{}",
        out.stderr
    );
    // The result's lists are in row-major order, one element per instance, the one
    // skipped by its condition included.
    assert_eq!(
        ledger(dir.path()).last().map(String::as_str),
        Some("6 3.11-linux,3.11-mac,,3.12-linux,3.12-mac,3.12-win"),
        "{}",
        out.stderr
    );
    for line in [
        "▶ test[0,0]",
        "▶ test[1,2]",
        "⤼ test[0,2] skipped: its condition is false",
    ] {
        assert!(out.stderr.contains(line), "{line}\n{}", out.stderr);
    }
    // Logs are kept per instance, under its name.
    let logs = flowc_in(dir.path(), &["logs", &run_id(dir.path()), "test[1,2]"]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert!(logs.stdout.contains("3.12-win"), "{}", logs.stdout);

    let plan = flowc_in(dir.path(), &["plan", "w.flow"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains(
            "test    for py in pys, os in oses: 6 instances (2 × 3), max 4 · each instance when !(py == \"3.11\" && os == \"win\")"
        ),
        "{}",
        plan.stdout
    );
    let dump = flowc_in(dir.path(), &["graph", "w.flow"]);
    assert!(
        dump.stdout.contains(
            "  step test [fan-out]\n    when each instance: !((py == \"3.11\") && (os == \"win\"))\n"
        ),
        "{}",
        dump.stdout
    );
}

#[test]
fn max_bounds_all_the_instances_of_a_matrix() {
    let dir = tmp();
    write(
        dir.path(),
        r#"workflow ci(a: list<int> = [0, 1], b: list<int> = [0, 1, 2], k: int = 1) {
  step test for x in a for y in b max k {
    run "echo start >> ledger && sleep 0.05 && echo end >> ledger"
  }
}
"#,
    );
    let out = flowc_in(dir.path(), &["run", "w.flow", "--max-parallel", "6"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = ledger(dir.path());
    assert_eq!(lines.len(), 12, "{lines:?}");
    // One at a time: every start is followed by its end before the next start.
    for pair in lines.chunks(2) {
        assert_eq!(pair, ["start", "end"], "{lines:?}");
    }
}

#[test]
fn a_matrix_list_may_read_the_variables_before_it() {
    let dir = tmp();
    write(
        dir.path(),
        r#"workflow zones(zones: map<list<string>> = { eu: ["a", "b"], us: ["c"] }) {
  step deploy for r in keys(zones) for z in zones[r] {
    run "echo ${r}-${z} >> ledger"
  }
}
"#,
    );
    let out = flowc_in(dir.path(), &["run", "w.flow"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        sorted(dir.path()),
        ["eu-a", "eu-b", "us-c"],
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("▶ deploy[1,0]"), "{}", out.stderr);
    assert!(!out.stderr.contains("deploy[1,1]"), "{}", out.stderr);
}

#[test]
fn a_fan_out_condition_on_its_loop_variable_is_decided_per_instance() {
    let dir = tmp();
    write(
        dir.path(),
        r#"workflow w(shards: list<int> = [0, 1, 2]) {
  step index for shard in shards when shard > 0 { run "echo ${shard} >> ledger" }
}
"#,
    );
    let out = flowc_in(dir.path(), &["run", "w.flow"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(sorted(dir.path()), ["1", "2"], "{}", out.stderr);
    assert!(
        out.stderr
            .contains("⤼ index[0] skipped: its condition is false"),
        "{}",
        out.stderr
    );
}

/// `worker[0]` waits (up to 20 s) for `qc[1]` to have run: `qc[1]` must start when
/// `worker[1]` has finished, not when every worker has.
const CHAIN: &str = r#"workflow batch(shards: list<int> = [0, 1, 2]) {
  step worker for shard in shards {
    run "if [ ${shard} = 0 ]; then i=0; while [ ! -e qc1-done ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; fi; echo worker ${shard} >> ledger; echo rows=${shard}0 > $FLOW_OUTPUT"
    outputs { rows: int }
  }
  step qc for w in worker {
    run "echo qc ${w.shard} ${w.rows} ${w.status} >> ledger && touch qc${w.shard}-done"
  }
  step total after qc { run "echo total ${len(qc.exit_code)} >> ledger" }
}
"#;

#[test]
fn each_instance_of_a_chain_starts_when_its_own_upstream_instance_has_finished() {
    let dir = tmp();
    write(dir.path(), CHAIN);
    let out = flowc_in(dir.path(), &["run", "w.flow", "--max-parallel", "4"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = ledger(dir.path());
    // qc[1] ran while worker[0] was still running, and saw worker[1]'s own result.
    assert!(
        at(&lines, "worker 1") < at(&lines, "qc 1 10 succeeded")
            && at(&lines, "qc 1 10 succeeded") < at(&lines, "worker 0"),
        "{lines:?}"
    );
    assert!(
        at(&lines, "worker 0") < at(&lines, "qc 0 0 succeeded"),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("total 3"),
        "{lines:?}"
    );

    let plan = flowc_in(dir.path(), &["plan", "w.flow"]);
    assert!(
        plan.stdout.contains(
            "qc      reads outputs of worker · per instance: worker[i] → qc[i] · for w in worker: one per instance of worker"
        ),
        "{}",
        plan.stdout
    );
    let graph = flowc_in(dir.path(), &["graph", "w.flow"]);
    assert!(
        graph
            .stdout
            .contains("  step qc [fan-out]\n    <- worker (per instance)\n"),
        "{}",
        graph.stdout
    );
    let json = flowc_in(dir.path(), &["graph", "w.flow", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert!(
        value[0]["edges"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["to"] == "qc" && e["kind"] == "instance")),
        "{}",
        json.stdout
    );
    let dot = flowc_in(dir.path(), &["graph", "w.flow", "--format", "dot"]);
    assert!(
        dot.stdout
            .contains("\"worker\" -> \"qc\" [style=bold, label=\"per instance\"];"),
        "{}",
        dot.stdout
    );
}

#[test]
fn a_failed_upstream_instance_skips_only_its_own_chained_instance() {
    let dir = tmp();
    write(
        dir.path(),
        r#"workflow batch(shards: list<int> = [0, 1, 2]) {
  step worker for shard in shards {
    run "echo worker ${shard} >> ledger && test ${shard} != 1"
    on_failure continue
  }
  step qc for w in worker { run "echo qc ${w.shard} >> ledger" }
  step again for q in qc { run "echo again ${q.w.shard} >> ledger" }
}
"#,
    );
    let out = flowc_in(dir.path(), &["run", "w.flow"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        sorted(dir.path()),
        ["again 0", "again 2", "qc 0", "qc 2", "worker 0", "worker 1", "worker 2"],
        "{}",
        out.stderr
    );
    for line in [
        "⤼ qc[1] skipped: `worker[1]` failed",
        "⤼ again[1] skipped: `qc[1]` was skipped",
    ] {
        assert!(out.stderr.contains(line), "{line}\n{}", out.stderr);
    }

    // Under fail_fast the failure fails the run; what waited for it never starts.
    let text = std::fs::read_to_string(dir.path().join("w.flow"))
        .expect("read")
        .replace("    on_failure continue\n", "");
    write(dir.path(), &text);
    std::fs::remove_file(dir.path().join("ledger")).expect("rm ledger");
    let out = flowc_in(dir.path(), &["run", "w.flow"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        !ledger(dir.path()).contains(&"qc 1".to_string()),
        "{}",
        out.stderr
    );
    assert!(
        !ledger(dir.path()).iter().any(|l| l == "again 1"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_chain_iterates_a_matrix_and_the_runs_of_a_call_with_for() {
    let dir = tmp();
    write(
        dir.path(),
        r#"workflow region(r: string) {
  step push {
    run "echo push ${r} >> ledger && echo digest=d-${r} > $FLOW_OUTPUT"
    outputs { digest: string }
  }
  outputs { digest: string = push.digest }
}

workflow main(rs: list<string> = ["eu", "us"]) {
  step test for py in ["3.11", "3.12"] for os in ["linux", "mac"] {
    run "echo test ${py} ${os} >> ledger"
  }
  step check for t in test { run "echo check ${t.py} ${t.os} ${t.exit_code} >> ledger" }
  step each for r in rs = region(r: r)
  step audit for e in each { run "echo audit ${e.r} ${e.digest} >> ledger" }
}
"#,
    );
    let out = flowc_in(dir.path(), &["run", "w.flow", "--workflow", "main"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = sorted(dir.path());
    for line in [
        "audit eu d-eu",
        "audit us d-us",
        "check 3.11 linux 0",
        "check 3.12 mac 0",
    ] {
        assert!(lines.contains(&line.to_string()), "{line}: {lines:?}");
    }
    assert!(out.stderr.contains("▶ check[1,1]"), "{}", out.stderr);
    assert!(out.stderr.contains("▶ audit[1]"), "{}", out.stderr);
}

#[test]
fn a_workflow_that_fans_out_can_be_called_with_for() {
    let dir = tmp();
    write(
        dir.path(),
        r#"workflow region(r: string, hosts: list<string>) {
  step deploy for h in hosts max 1 {
    run "echo start ${r} >> ledger && sleep 0.05 && echo end ${r} ${h} >> ledger"
  }
  step verify after deploy { run "echo verify ${r} ${len(deploy.exit_code)} >> ledger" }
  outputs { n: int = len(deploy.exit_code) }
}

workflow all(hosts: map<list<string>> = { eu: ["a", "b", "c"], us: ["x", "y"] }) {
  step every for r in keys(hosts) = region(r: r, hosts: hosts[r])
  step report after every { run "echo report ${join(keys(hosts), ",")} ${every.n[0]} ${every.n[1]} >> ledger" }
}
"#,
    );
    let out = flowc_in(
        dir.path(),
        &["run", "w.flow", "--workflow", "all", "--max-parallel", "6"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = ledger(dir.path());
    // `max 1` holds in each run of `region`: its deploys start one after another.
    for r in ["eu", "us"] {
        let mine: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with(&format!("start {r}")) || l.starts_with(&format!("end {r}")))
            .collect();
        assert_eq!(mine.len(), if r == "eu" { 6 } else { 4 }, "{lines:?}");
        for pair in mine.chunks(2) {
            assert!(
                pair[0].starts_with("start") && pair[1].starts_with("end"),
                "{lines:?}"
            );
        }
    }
    for line in ["verify eu 3", "verify us 2", "report eu,us 3 2"] {
        assert!(lines.contains(&line.to_string()), "{line}: {lines:?}");
    }
    assert!(out.stderr.contains("▶ every.deploy[0,2]"), "{}", out.stderr);
    let plan = flowc_in(dir.path(), &["plan", "w.flow", "--workflow", "all"]);
    assert!(
        plan.stdout
            .contains("per instance: every.deploy[i,*] → every.verify[i]"),
        "{}",
        plan.stdout
    );
}

/// `worker[2]` fails until `fixed` exists, once `qc[0]` and `qc[1]` have finished (`seen`
/// starts only after its instance of `qc` has, so its files say so).
const RESUMABLE: &str = r#"workflow batch(shards: list<int> = [0, 1, 2]) {
  step worker for shard in shards {
    run "if [ ${shard} = 2 ]; then i=0; while [ ! -e seen1 ] || [ ! -e seen0 ]; do [ $i -lt 400 ] || break; sleep 0.05; i=$((i+1)); done; fi; echo worker ${shard} >> ledger; test ${shard} != 2 || test -e fixed"
  }
  step qc for w in worker { run "echo qc ${w.shard} >> ledger" }
  step seen for q in qc { run "touch seen${q.w.shard}" }
  step total after seen { run "echo total >> ledger" }
}
"#;

#[test]
fn resume_keeps_the_finished_instances_of_a_chain() {
    let dir = tmp();
    write(dir.path(), RESUMABLE);
    let out = flowc_in(dir.path(), &["run", "w.flow", "--max-parallel", "4"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("⤼ qc[2] skipped: `worker[2]` failed"),
        "{}",
        out.stderr
    );
    std::fs::write(dir.path().join("fixed"), "").expect("write");
    let plan = flowc_in(dir.path(), &["resume", "--last", "--plan"]);
    assert!(
        plan.stderr
            .contains("run  qc: `worker` runs again upstream"),
        "{}",
        plan.stderr
    );
    let out = flowc_in(dir.path(), &["resume", "--last"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        sorted(dir.path()),
        ["qc 0", "qc 1", "qc 2", "total", "worker 0", "worker 1", "worker 2", "worker 2"],
        "{}",
        out.stderr
    );

    // An edit of the iterated step runs it and its chain again, whole.
    std::fs::remove_file(dir.path().join("ledger")).expect("rm ledger");
    write(
        dir.path(),
        &RESUMABLE.replace("echo worker ${shard}", "echo worker again ${shard}"),
    );
    let out = flowc_in(dir.path(), &["resume", "--last"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        sorted(dir.path()),
        [
            "qc 0",
            "qc 1",
            "qc 2",
            "total",
            "worker again 0",
            "worker again 1",
            "worker again 2"
        ],
        "{}",
        out.stderr
    );
}

/// Runs flowc in `dir` with its stderr in `dir/err`, journaled in `dir/.flow`.
fn spawn(dir: &Path, args: &[&str]) -> std::process::Child {
    let err = std::fs::File::create(dir.join("err")).expect("stderr file");
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(args)
        .current_dir(dir)
        .env_remove("FLOWC_STATE_DIR")
        .env_remove("FLOWC_JOURNAL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("flowc starts")
}

#[test]
fn a_chain_killed_mid_run_resumes_without_rerunning_its_finished_instances() {
    let dir = tmp();
    // `worker[2]` blocks until `release` exists; `seen` starts once `qc`'s instance has
    // finished, and its start is reported only once that finish is on disk.
    write(
        dir.path(),
        r#"workflow batch(shards: list<int> = [0, 1, 2]) {
  step worker for shard in shards {
    run "if [ ${shard} = 2 ]; then while [ ! -e release ]; do sleep 0.05; done; fi; echo worker ${shard} >> ledger"
  }
  step qc for w in worker { run "echo qc ${w.shard} >> ledger" }
  step seen for q in qc { run "echo seen ${q.w.shard} >> ledger" }
}
"#,
    );
    let mut child = spawn(dir.path(), &["run", "w.flow", "--max-parallel", "6"]);
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let err = std::fs::read_to_string(dir.path().join("err")).unwrap_or_default();
        if err.contains("▶ seen[0]") && err.contains("▶ seen[1]") {
            break;
        }
        assert!(Instant::now() < until, "never reached the chain:\n{err}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    std::fs::write(dir.path().join("release"), "").expect("write");
    let out: Output = flowc_in(dir.path(), &["resume", "--last"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = ledger(dir.path());
    let count = |l: &str| lines.iter().filter(|x| *x == l).count();
    for finished in ["worker 0", "worker 1", "qc 0", "qc 1"] {
        assert_eq!(count(finished), 1, "{finished}: {lines:?}");
    }
    // In flight at the kill: run again at most once more.
    for in_flight in ["seen 0", "seen 1"] {
        assert!(
            (1..=2).contains(&count(in_flight)),
            "{in_flight}: {lines:?}"
        );
    }
    // `worker[2]` was in flight too (its leftover process may finish before the resume
    // kills it); what came after it ran once.
    assert!((1..=2).contains(&count("worker 2")), "{lines:?}");
    for rest in ["qc 2", "seen 2"] {
        assert_eq!(count(rest), 1, "{rest}: {lines:?}");
    }
}

#[test]
fn a_chain_over_approval_gates_deploys_each_environment_once_approved() {
    let dir = tmp();
    write(
        dir.path(),
        r#"workflow rollout(envs: list<string> = ["dev", "prod"]) {
  step gate for e in envs { approve "deploy to ${e}?" }
  step deploy for g in gate { run "echo deploy ${g.e} >> ledger" }
}
"#,
    );
    let out = flowc_in(dir.path(), &["run", "w.flow", "--approve", "gate[0]"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(ledger(dir.path()), ["deploy dev"], "{}", out.stderr);
    let runs = run_id(dir.path());
    let approve = flowc_in(dir.path(), &["approve", &runs, "gate[1]"]);
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    let out = flowc_in(dir.path(), &["resume", &runs]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ledger(dir.path()),
        ["deploy dev", "deploy prod"],
        "{}",
        out.stderr
    );
}

#[test]
fn fmt_keeps_matrices_and_chains() {
    let dir = tmp();
    write(
        dir.path(),
        "workflow w(a: list<int> = [1], b: list<int> = [2]) {\n  step t   for x in a\n   for y in b   max 2 { run \"echo ${x} ${y}\" }\n  step c for r in t { run \"echo ${r.x}\" }\n}\n",
    );
    let out = flowc_in(dir.path(), &["fmt", "w.flow"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(dir.path().join("w.flow")).expect("read");
    assert!(
        text.contains("  step t for x in a for y in b max 2 { run \"echo ${x} ${y}\" }\n  step c for r in t { run \"echo ${r.x}\" }\n"),
        "{text}"
    );
    let again = flowc_in(dir.path(), &["fmt", "--check", "w.flow"]);
    assert_eq!(again.code, 0, "not idempotent: {}", again.stdout);
}

#[test]
fn a_chain_compensates_each_instance_that_succeeded_once_its_step_failed() {
    let dir = tmp();
    write(
        dir.path(),
        r#"workflow batch(shards: list<int> = [0, 1, 2]) {
  step worker for shard in shards {
    run "echo worker ${shard} >> ledger && test ${shard} != 1"
    on_failure continue
  }
  step undo for w in worker on_failure_of worker { run "echo undo ${w.shard} >> ledger" }
}
"#,
    );
    let out = flowc_in(dir.path(), &["run", "w.flow"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = ledger(dir.path());
    // All of `worker` ended before any undo: a compensation waits for its step.
    assert_eq!(
        lines[..3]
            .iter()
            .filter(|l| l.starts_with("worker"))
            .count(),
        3,
        "{lines:?}"
    );
    assert_eq!(sorted(dir.path())[..2], ["undo 0", "undo 2"], "{lines:?}");
    assert!(
        out.stderr.contains("⤼ undo[1] skipped: `worker[1]` failed"),
        "{}",
        out.stderr
    );
}

#[test]
fn resume_from_one_instance_of_a_matrix_runs_it_and_its_own_chained_instance_again() {
    let dir = tmp();
    write(
        dir.path(),
        r#"workflow ci(pys: list<string> = ["3.11", "3.12"], oses: list<string> = ["linux", "mac"]) {
  step test for py in pys for os in oses { run "echo ${py}/${os} >> ledger" }
  step check for t in test { run "echo check ${t.py}/${t.os} >> ledger" }
}
"#,
    );
    let out = flowc_in(dir.path(), &["run", "w.flow"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run = run_id(dir.path());
    let out = flowc_in(dir.path(), &["resume", &run, "--from", "test[1,0]"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = sorted(dir.path());
    let count = |l: &str| lines.iter().filter(|x| *x == l).count();
    assert_eq!(count("3.12/linux"), 2, "{lines:?}");
    assert_eq!(count("check 3.12/linux"), 2, "{lines:?}");
    for once in [
        "3.11/linux",
        "3.11/mac",
        "3.12/mac",
        "check 3.11/linux",
        "check 3.12/mac",
    ] {
        assert_eq!(count(once), 1, "{once}: {lines:?}");
    }
    // One index is not an instance of a matrix.
    let out = flowc_in(dir.path(), &["resume", &run, "--from", "test[1]"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("an instance of `test` has 2 indices, one per `for`: `test[0,0]`"),
        "{}",
        out.stderr
    );
}

#[test]
fn matrix_and_chain_instances_have_their_events_in_the_schema() {
    let dir = tmp();
    write(
        dir.path(),
        r#"workflow ci(a: list<int> = [0, 1], b: list<string> = ["x", "y", "z"]) {
  step test for n in a for s in b { run "echo ${n}${s}" }
  step check for t in test { run "echo ${t.n}${t.s}" }
}
"#,
    );
    let out = flowc_in(dir.path(), &["run", "w.flow", "--events", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let schema = crate::events::schema();
    let events = json_lines(&out.stdout);
    for e in &events {
        assert!(schema.is_valid(e), "not in the schema: {e}");
    }
    let started = |step: &str, instance: &str| {
        events.iter().any(|e| {
            e["event"] == "instance_started" && e["step"] == step && e["instance"] == instance
        })
    };
    assert!(started("test", "test[1,2]"), "{}", out.stdout);
    assert!(started("check", "check[1,2]"), "{}", out.stdout);
    // `index` counts the instances in row-major order.
    assert!(
        events.iter().any(|e| e["event"] == "instance_finished"
            && e["instance"] == "test[1,2]"
            && e["index"] == 5),
        "{}",
        out.stdout
    );
    let finished = events
        .iter()
        .filter(|e| e["event"] == "instance_finished" && e["step"] == "check")
        .count();
    assert_eq!(finished, 6, "{}", out.stdout);
}
