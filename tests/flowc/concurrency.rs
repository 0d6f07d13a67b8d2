//! Concurrency groups through the real binary, with two (or three) real flowc processes
//! sharing a state directory: a queued run starts only after the holder's last step has
//! written the ledger; `skip` ends at once (exit 0, status `skipped`); `cancel` stops the
//! holder (its `finally` step runs) and takes its place; a `kill -9` of the holder frees
//! the group; `flowc resume` takes the journaled group again; other group names do not
//! wait; Ctrl-C while queued exits 130. Order is read from a ledger the steps append to,
//! never from timing: each holder's step waits for a `release-TAG` file the test creates
//! once it has seen the other run queued.
//!
//! Also: `flowc plan`, `flowc graph`, `flowc fmt`, `--events json` and the REPL show the
//! group, and an empty group is E0533.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::{exit_code, flowc_in, json_lines, ledger, read, tmp, wait_until};

/// The step: appends `start-TAG` to the ledger, waits for `release-TAG`, appends `end-TAG`.
const STEP_SH: &str = "echo \"start-$1\" >> ledger
while [ ! -e \"release-$1\" ]; do sleep 0.05; done
echo \"end-$1\" >> ledger
";

/// A deployment with a group per target, the policy given, and a `finally` step that
/// says when the run ends.
fn workflow(policy: &str) -> String {
    format!(
        "workflow deploy(target: string = \"prod\", tag: string = \"a\") {{
  concurrency \"deploy-${{target}}\" {policy}
  step work {{ run \"sh step.sh ${{tag}}\" }}
  finally step done {{ run \"sh note.sh done-${{tag}}\" }}
}}
"
    )
}

/// A directory with the step scripts and `w.flow` with `policy`.
fn project(policy: &str) -> tempfile::TempDir {
    let dir = tmp();
    std::fs::write(dir.path().join("step.sh"), STEP_SH).expect("write");
    std::fs::write(dir.path().join("note.sh"), "echo \"$1\" >> ledger\n").expect("write");
    std::fs::write(dir.path().join("w.flow"), workflow(policy)).expect("write");
    dir
}

/// `flowc run FILE --var tag=TAG [--var target=T]` in `dir`, in the background, its
/// stderr in `TAG.log` and stdout in `TAG.out`.
fn start(dir: &Path, file: &str, tag: &str, target: Option<&str>) -> Child {
    let tag_var = format!("tag={tag}");
    let target_var = format!("target={}", target.unwrap_or("prod"));
    start_args(
        dir,
        tag,
        &["run", file, "--var", &tag_var, "--var", &target_var],
    )
}

/// `flowc ARGS` in `dir`, in the background, its stderr in `NAME.log` and stdout in
/// `NAME.out`.
fn start_args(dir: &Path, name: &str, args: &[&str]) -> Child {
    let err = std::fs::File::create(dir.join(format!("{name}.log"))).expect("log");
    let out = std::fs::File::create(dir.join(format!("{name}.out"))).expect("out");
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(args)
        .current_dir(dir)
        .env_remove("FLOWC_STATE_DIR")
        .env_remove("FLOWC_JOURNAL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("flowc starts")
}

fn release(dir: &Path, tag: &str) {
    std::fs::write(dir.join(format!("release-{tag}")), "").expect("write");
}

/// The run id a run printed first (`run <id>: workflow ...`).
fn run_id(dir: &Path, name: &str) -> String {
    let log = read(dir, &format!("{name}.log"));
    log.lines()
        .find_map(|l| l.split_once(" run ").map(|(_, r)| r))
        .and_then(|r| r.split(':').next())
        .map(str::to_string)
        .unwrap_or_default()
}

/// The status `flowc runs --format json` gives the run `id`.
fn status(dir: &Path, id: &str) -> String {
    let out = flowc_in(dir, &["runs", "--format", "json"]);
    json_lines(&out.stdout)
        .into_iter()
        .find(|r| r["id"] == id)
        .and_then(|r| r["status"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Starts the holder `a` and waits until its step runs (it then waits for `release-a`).
fn hold(dir: &Path, file: &str) -> (Child, String) {
    let child = start(dir, file, "a", None);
    wait_until(
        || ledger(dir).contains(&"start-a".to_string()) && !run_id(dir, "a").is_empty(),
        "the holder's step never started",
    );
    (child, run_id(dir, "a"))
}

#[test]
fn a_queued_run_starts_only_after_the_holder_ends() {
    let p = project("queue");
    let dir = p.path();
    let (mut a, a_id) = hold(dir, "w.flow");
    release(dir, "b");
    let mut b = start(dir, "w.flow", "b", None);
    let queued = format!("queued: concurrency group `deploy-prod` is held by run {a_id}");
    wait_until(
        || read(dir, "b.log").contains(&queued),
        "b never said it waits",
    );
    let b_id = run_id(dir, "b");
    assert_eq!(status(dir, &b_id), "queued");
    let shown = flowc_in(dir, &["status", &b_id]);
    assert!(
        shown.stdout.contains(&format!(
            "concurrency group `deploy-prod` (queue); waiting for run {a_id}"
        )),
        "{}",
        shown.stdout
    );
    // Nothing of `b` ran while `a` holds the group.
    assert_eq!(ledger(dir), ["start-a"]);
    release(dir, "a");
    assert_eq!(exit_code(&mut a), 0, "{}", read(dir, "a.log"));
    assert_eq!(exit_code(&mut b), 0, "{}", read(dir, "b.log"));
    // `b` started after the last step of `a` (its `finally` step) wrote the ledger.
    assert_eq!(
        ledger(dir),
        ["start-a", "end-a", "done-a", "start-b", "end-b", "done-b"]
    );
    assert!(
        read(dir, "b.log").contains("concurrency group `deploy-prod` taken: starting"),
        "{}",
        read(dir, "b.log")
    );
    assert_eq!(status(dir, &b_id), "succeeded");
}

#[test]
fn a_skipped_run_exits_at_once_and_says_so() {
    let p = project("skip");
    let dir = p.path();
    let (mut a, a_id) = hold(dir, "w.flow");
    let mut b = start(dir, "w.flow", "b", None);
    assert_eq!(exit_code(&mut b), 0, "{}", read(dir, "b.log"));
    let log = read(dir, "b.log");
    assert!(
        log.contains(&format!(
            "concurrency group `deploy-prod` is held by run {a_id}"
        )) && log.contains("this run is skipped (policy skip)"),
        "{log}"
    );
    let b_id = run_id(dir, "b");
    assert!(
        log.contains(&format!(
            "run {b_id} skipped: another run holds its concurrency group; nothing ran"
        )),
        "{log}"
    );
    assert!(
        !log.contains("step   status"),
        "no table for a run that ran nothing: {log}"
    );
    assert_eq!(status(dir, &b_id), "skipped");
    let shown = flowc_in(dir, &["status", &b_id]);
    assert!(
        shown
            .stdout
            .contains(&format!("(skip); skipped: held by run {a_id}")),
        "{}",
        shown.stdout
    );
    // The holder goes on, alone.
    assert_eq!(ledger(dir), ["start-a"]);
    release(dir, "a");
    assert_eq!(exit_code(&mut a), 0, "{}", read(dir, "a.log"));
    assert_eq!(ledger(dir), ["start-a", "end-a", "done-a"]);
}

#[test]
fn cancel_stops_the_holder_and_takes_its_place() {
    let p = project("cancel");
    let dir = p.path();
    let (mut a, a_id) = hold(dir, "w.flow");
    release(dir, "b");
    let mut b = start(dir, "w.flow", "b", None);
    // `a` is stopped as `flowc cancel` stops it: its running step is killed, its
    // `finally` step runs, it exits 130.
    assert_eq!(exit_code(&mut a), 130, "{}", read(dir, "a.log"));
    assert_eq!(exit_code(&mut b), 0, "{}", read(dir, "b.log"));
    assert!(
        read(dir, "b.log").contains(&format!(
            "cancelling run {a_id} (pid {}), which holds concurrency group `deploy-prod`",
            a.id()
        )),
        "{}",
        read(dir, "b.log")
    );
    assert_eq!(
        ledger(dir),
        ["start-a", "done-a", "start-b", "end-b", "done-b"]
    );
    assert_eq!(status(dir, &a_id), "cancelled");
    assert_eq!(status(dir, &run_id(dir, "b")), "succeeded");
}

#[test]
fn kill_9_of_the_holder_frees_the_group_and_resume_takes_it_again() {
    let p = project("queue");
    let dir = p.path();
    let (mut a, a_id) = hold(dir, "w.flow");
    // `b` waits; the holder dies without a word.
    release(dir, "b");
    let mut b = start(dir, "w.flow", "b", None);
    wait_until(
        || read(dir, "b.log").contains(&format!("is held by run {a_id}")),
        "b never said it waits",
    );
    a.kill().expect("kill -9");
    assert_eq!(exit_code(&mut a), -1);
    assert_eq!(exit_code(&mut b), 0, "{}", read(dir, "b.log"));
    assert_eq!(ledger(dir), ["start-a", "start-b", "end-b", "done-b"]);
    assert_eq!(status(dir, &a_id), "interrupted");

    // `c` holds the group now. The file's group is renamed meanwhile: the resume of `a`
    // still takes the group its journal names, so it waits for `c`.
    let mut c = start(dir, "w.flow", "c", None);
    wait_until(
        || ledger(dir).contains(&"start-c".to_string()) && !run_id(dir, "c").is_empty(),
        "c never started",
    );
    let c_id = run_id(dir, "c");
    let renamed = workflow("queue").replace("deploy-${target}", "renamed-${target}");
    std::fs::write(dir.join("w.flow"), renamed).expect("write");
    let mut resumed = start_args(dir, "resume", &["resume", &a_id]);
    wait_until(
        || {
            read(dir, "resume.log").contains(&format!(
                "queued: concurrency group `deploy-prod` is held by run {c_id}"
            ))
        },
        "the resume never said it waits",
    );
    assert!(
        read(dir, "resume.log").contains("concurrency group `deploy-prod` (queue): taken again"),
        "{}",
        read(dir, "resume.log")
    );
    assert_eq!(status(dir, &a_id), "queued");
    // The resume killed what the dead driver left (its step, still waiting for its
    // release), so nothing of `a` ran since.
    release(dir, "a");
    assert_eq!(
        ledger(dir),
        ["start-a", "start-b", "end-b", "done-b", "start-c"]
    );
    release(dir, "c");
    assert_eq!(exit_code(&mut c), 0, "{}", read(dir, "c.log"));
    assert_eq!(exit_code(&mut resumed), 0, "{}", read(dir, "resume.log"));
    assert_eq!(
        ledger(dir),
        [
            "start-a", "start-b", "end-b", "done-b", "start-c", "end-c", "done-c", "start-a",
            "end-a", "done-a"
        ]
    );
    assert_eq!(status(dir, &a_id), "succeeded");
}

#[test]
fn different_group_names_do_not_wait_for_each_other() {
    let p = project("queue");
    let dir = p.path();
    let (mut a, _) = hold(dir, "w.flow");
    release(dir, "b");
    let mut b = start(dir, "w.flow", "b", Some("staging"));
    assert_eq!(exit_code(&mut b), 0, "{}", read(dir, "b.log"));
    assert!(
        !read(dir, "b.log").contains("queued"),
        "{}",
        read(dir, "b.log")
    );
    // `b` ran from start to end while `a` held `deploy-prod`.
    assert_eq!(ledger(dir), ["start-a", "start-b", "end-b", "done-b"]);
    release(dir, "a");
    assert_eq!(exit_code(&mut a), 0, "{}", read(dir, "a.log"));
    let groups: Vec<String> = std::fs::read_dir(dir.join(".flow/runs/groups"))
        .expect("the groups folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(groups.len(), 2, "{groups:?}");
}

#[test]
fn ctrl_c_while_queued_exits_130_and_runs_nothing() {
    let p = project("queue");
    let dir = p.path();
    let (mut a, a_id) = hold(dir, "w.flow");
    release(dir, "b");
    let mut b = start(dir, "w.flow", "b", None);
    wait_until(
        || read(dir, "b.log").contains(&format!("is held by run {a_id}")),
        "b never said it waits",
    );
    let pid = nix::unistd::Pid::from_raw(i32::try_from(b.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    assert_eq!(exit_code(&mut b), 130, "{}", read(dir, "b.log"));
    let b_id = run_id(dir, "b");
    assert!(
        read(dir, "b.log").contains(&format!(
            "run {b_id} interrupted while it waited for its concurrency group; nothing ran"
        )),
        "{}",
        read(dir, "b.log")
    );
    assert_eq!(status(dir, &b_id), "cancelled");
    assert_eq!(ledger(dir), ["start-a"]);
    release(dir, "a");
    assert_eq!(exit_code(&mut a), 0, "{}", read(dir, "a.log"));
    assert_eq!(ledger(dir), ["start-a", "end-a", "done-a"]);
}

#[test]
fn events_name_the_group_and_its_holder() {
    let p = project("skip");
    let dir = p.path();
    let (mut a, a_id) = hold(dir, "w.flow");
    let out = flowc_in(
        dir,
        &["run", "w.flow", "--var", "tag=b", "--events", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let events = json_lines(&out.stdout);
    let busy = events
        .iter()
        .find(|e| e["event"] == "group_busy")
        .expect("a group_busy event");
    assert_eq!(busy["group"], "deploy-prod");
    assert_eq!(busy["policy"], "skip");
    assert_eq!(busy["holder"], a_id.as_str());
    assert_eq!(busy["pid"], a.id());
    let end = events.last().expect("events");
    assert_eq!(end["event"], "run_finished");
    assert_eq!(end["status"], "skipped");
    release(dir, "a");
    assert_eq!(exit_code(&mut a), 0, "{}", read(dir, "a.log"));
    // A run that finds the group free takes it at once.
    let out = flowc_in(
        dir,
        &["run", "w.flow", "--var", "tag=a", "--events", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let kinds: Vec<String> = json_lines(&out.stdout)
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(kinds[..3], ["run_started", "group_taken", "step_started"]);
}

#[test]
fn an_empty_group_is_e0533() {
    let dir = tmp();
    std::fs::write(
        dir.path().join("w.flow"),
        "workflow w(group: string = \"\") {\n  concurrency group\n  step s { run \"true\" }\n}\n",
    )
    .expect("write");
    let out = flowc_in(dir.path(), &["run", "w.flow"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0533"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("concurrency group of workflow `w` is empty"),
        "{}",
        out.stderr
    );
    let out = flowc_in(dir.path(), &["run", "w.flow", "--var", "group=nightly"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn plan_graph_and_fmt_show_the_group() {
    let dir = tmp();
    let text = "let prefix = \"deploy\"\n\nworkflow deploy(target: string = \"staging\") {\n  concurrency   \"${prefix}-${target}\"   cancel\n  step s { run \"echo ${target}\" }\n}\n";
    std::fs::write(dir.path().join("w.flow"), text).expect("write");
    let plan = flowc_in(dir.path(), &["plan", "w.flow", "--var", "target=prod"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains("\n  concurrency \"deploy-prod\" cancel\n"),
        "{}",
        plan.stdout
    );
    let graph = flowc_in(dir.path(), &["graph", "w.flow"]);
    assert_eq!(
        graph.stdout,
        "workflow deploy\n  concurrency \"${prefix}-${target}\" cancel\n  step s\n"
    );
    let json = flowc_in(dir.path(), &["graph", "w.flow", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(
        value[0]["attributes"]["concurrency"],
        "\"${prefix}-${target}\" cancel"
    );
    let dot = flowc_in(dir.path(), &["graph", "w.flow", "--format", "dot"]);
    assert!(
        dot.stdout
            .contains("label=\"deploy\\nconcurrency \\\"${prefix}-${target}\\\" cancel\";"),
        "{}",
        dot.stdout
    );
    let fmt = crate::support::Flowc::new(&["fmt", "-"]).stdin(text).run();
    assert_eq!(fmt.code, 0, "{}", fmt.stderr);
    assert!(
        fmt.stdout
            .contains("\n  concurrency \"${prefix}-${target}\" cancel\n"),
        "{}",
        fmt.stdout
    );
    // Without a policy, none is written.
    let bare = text.replace("   cancel", "");
    let fmt = crate::support::Flowc::new(&["fmt", "-"]).stdin(bare).run();
    assert!(
        fmt.stdout
            .contains("\n  concurrency \"${prefix}-${target}\"\n"),
        "{}",
        fmt.stdout
    );
}

#[test]
fn the_repl_defines_and_shows_the_group() {
    let dir = tmp();
    let out = crate::support::Flowc::new(&["repl"])
        .dir(dir.path())
        .stdin(
            "param target: string = \"prod\"\nconcurrency \"deploy-${target}\" skip\nstep s { run \"true\" }\n:plan\n:graph\nconcurrency \"other\"\n:graph\n:run\n",
        )
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let s = &out.stdout;
    assert!(
        s.contains("defined the workflow's concurrency group\n"),
        "{s}"
    );
    assert!(s.contains("\n  concurrency \"deploy-prod\" skip\n"), "{s}");
    assert!(
        s.contains("\n  concurrency \"deploy-${target}\" skip\n"),
        "{s}"
    );
    assert!(
        s.contains("redefined the workflow's concurrency group\n"),
        "{s}"
    );
    assert!(s.contains("\n  concurrency \"other\" queue\n"), "{s}");
    // `:run` takes the group too, in the state directory of where the REPL runs.
    assert!(dir.path().join(".flow/runs/groups/other.lock").is_file());
}
