//! Failure routes (`on_failure TARGET [if COND]`, several per step, the first whose
//! condition holds taken) through the real binary: routing by exit code, timeout and
//! signal, the fallback to fail_fast when none holds, fan-outs, escalation chains, the
//! journal and `flowc status`, and a resume that keeps a routed failure and takes its route
//! again. Steps write what ran to a ledger file; nothing here measures time.

use std::path::Path;

use crate::support::{flowc_in, json_lines, tmp, Output};

/// `flowc run w.flow ARGS` in `dir` with `text` as the workflow.
fn run_in(dir: &Path, text: &str, args: &[&str]) -> Output {
    std::fs::write(dir.join("w.flow"), text).expect("write the workflow");
    let mut all = vec!["run", "w.flow"];
    all.extend_from_slice(args);
    flowc_in(dir, &all)
}

/// The lines the steps wrote to `dir/ledger`, in order.
fn ledger(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

/// The run id that `flowc run` printed.
fn run_id(stderr: &str) -> String {
    stderr
        .split("run ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .expect("a run id")
        .trim()
        .to_string()
}

/// A build whose exit code is a parameter, with a route per kind of failure.
const BUILD: &str = "workflow w(code: int = 0) {
  step build {
    run \"echo build >> ledger; exit ${code}\"
    on_failure validate if build.exit_code == 1
    on_failure notify if build.timed_out || build.signal != \"\"
    on_failure continue if build.exit_code == 3
    on_failure fail_fast
  }
  step validate { run \"echo validate >> ledger\" }
  step notify { run \"echo notify >> ledger\" }
  step next after build { run \"echo next ${build.status} >> ledger\" }
}
";

#[test]
fn the_first_route_whose_condition_holds_is_taken() {
    // Exit 1: the first route leads to `validate`, which rescues the step.
    let dir = tmp();
    let out = run_in(dir.path(), BUILD, &["--var", "code=1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ledger(dir.path()),
        ["build", "validate", "next failed"],
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("↪ build: on_failure validate (if build.exit_code == 1)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("⤼ notify skipped: the failure of `build` took another route"),
        "{}",
        out.stderr
    );
    // Exit 3: `continue`; neither fallback runs.
    let dir = tmp();
    let out = run_in(dir.path(), BUILD, &["--var", "code=3"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ledger(dir.path()),
        ["build", "next failed"],
        "{}",
        out.stderr
    );
    // Exit 2: no condition holds, so the route without `if` is taken: the run fails.
    let dir = tmp();
    let out = run_in(dir.path(), BUILD, &["--var", "code=2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(ledger(dir.path()), ["build"], "{}", out.stderr);
    assert!(
        out.stderr
            .contains("↪ build: on_failure fail_fast (no route's condition held)"),
        "{}",
        out.stderr
    );
    // Success: no route at all.
    let dir = tmp();
    let out = run_in(dir.path(), BUILD, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ledger(dir.path()),
        ["build", "next succeeded"],
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains('↪'), "{}", out.stderr);
}

#[test]
fn with_conditional_routes_only_a_failure_no_route_takes_fails_the_run() {
    let dir = tmp();
    let text = "workflow w {
  defaults { on_failure continue }
  step build {
    run \"exit 5\"
    on_failure validate if build.exit_code == 1
  }
  step validate { run \"echo validate >> ledger\" }
  step next after build { run \"echo next >> ledger\" }
}
";
    // The step's routes are its whole policy: `defaults` does not apply to it.
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(ledger(dir.path()).is_empty(), "{}", out.stderr);
}

#[test]
fn timeouts_and_signals_are_told_apart_from_exit_codes() {
    let dir = tmp();
    let text = "workflow w(how: string = \"hang\") {
  step work {
    run \"if [ ${how} = hang ]; then sleep 30; else kill -9 $$; fi\"
    timeout 300ms
    on_failure hung if work.timed_out
    on_failure killed if work.signal == \"SIGKILL\"
  }
  step hung { run \"echo hung ${work.timed_out} [${work.signal}] >> ledger\" }
  step killed { run \"echo killed ${work.timed_out} [${work.signal}] ${work.exit_code} >> ledger\" }
}
";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(ledger(dir.path()), ["hung true []"], "{}", out.stderr);
    let dir = tmp();
    let out = run_in(dir.path(), text, &["--var", "how=die"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ledger(dir.path()),
        ["killed false [SIGKILL] -1"],
        "{}",
        out.stderr
    );
}

#[test]
fn a_fan_out_runs_every_instance_then_routes_on_the_lists() {
    let dir = tmp();
    let text = "workflow w(codes: list<int> = [0, 3, 0]) {
  step part for c in codes {
    run \"echo part ${c} >> ledger; exit ${c}\"
    on_failure redo if contains(part.exit_code, 3)
  }
  step redo { run \"echo redo ${len(part.exit_code)} >> ledger\" }
}
";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut lines = ledger(dir.path());
    let last = lines.pop();
    lines.sort();
    assert_eq!(lines, ["part 0", "part 0", "part 3"], "{}", out.stderr);
    assert_eq!(last.as_deref(), Some("redo 3"), "{}", out.stderr);
}

#[test]
fn a_fallback_with_routes_of_its_own_escalates() {
    let dir = tmp();
    let text = "workflow w {
  step first {
    run \"echo first >> ledger; exit 1\"
    on_failure second if first.exit_code == 1
  }
  step second {
    run \"echo second >> ledger; exit 2\"
    on_failure third if second.exit_code == 2
  }
  step third { run \"echo third >> ledger\" }
  step after_all after first { run \"echo after >> ledger\" }
}
";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ledger(dir.path()),
        ["first", "second", "third", "after"],
        "{}",
        out.stderr
    );
    // The last level fails too: the first failure stands and fails the run.
    let dir = tmp();
    let out = run_in(
        dir.path(),
        &text.replace("echo third >> ledger", "echo third >> ledger; exit 9"),
        &[],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        ledger(dir.path()),
        ["first", "second", "third"],
        "{}",
        out.stderr
    );
}

#[test]
fn the_route_taken_is_journaled_shown_and_sent_as_an_event() {
    let dir = tmp();
    let out = run_in(dir.path(), BUILD, &["--var", "code=1", "--events", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let events = json_lines(&out.stdout);
    let routed: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "route_taken")
        .collect();
    assert_eq!(routed.len(), 1, "{}", out.stdout);
    assert_eq!(routed[0]["step"], "build");
    assert_eq!(routed[0]["to"], "validate");
    assert_eq!(routed[0]["condition"], "build.exit_code == 1");
    let status = flowc_in(dir.path(), &["status", "--format", "json"]);
    let all: serde_json::Value = serde_json::from_str(&status.stdout).expect("json");
    let build = all["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == "build"))
        .expect("build in the status");
    assert_eq!(build["route"]["to"], "validate", "{}", status.stdout);
    assert_eq!(build["route"]["if"], "build.exit_code == 1");
    let human = flowc_in(dir.path(), &["status"]);
    assert!(
        human
            .stdout
            .contains("build: failed; on_failure validate (if build.exit_code == 1)"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_resume_keeps_a_routed_failure_and_takes_its_route_again() {
    let dir = tmp();
    let dir = dir.path();
    // `review` is a gate: the run pauses there, after `build` failed and took its route.
    let text = "workflow w {
  step build {
    run \"echo build >> ledger; exit 1\"
    on_failure review if build.exit_code == 1
  }
  step review { approve \"build failed with exit code 1: ship the old image?\" }
  step ship after build { run \"echo ship >> ledger\" }
}
";
    let out = run_in(dir, text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("workflow `w` waiting"),
        "{}",
        out.stderr
    );
    let id = run_id(&out.stderr);
    let ok = flowc_in(dir, &["approve", &id, "review", "--as", "ana"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let plan = flowc_in(dir, &["resume", &id, "--plan"]);
    assert!(
        plan.stderr.contains("1 of 3 steps finished and are kept"),
        "{}",
        plan.stderr
    );
    let out = flowc_in(dir, &["resume", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // `build` did not run again: its failure and its route were kept.
    assert_eq!(ledger(dir), ["build", "ship"], "{}", out.stderr);
}

#[test]
fn a_condition_that_cannot_be_evaluated_does_not_hold() {
    let dir = tmp();
    let text = "workflow w {
  step build {
    run \"echo not-a-number; exit 4\"
    on_failure later if parse_int(trim(build.stdout)) == 75
    on_failure continue
  }
  step later { run \"echo later >> ledger\" }
}
";
    let out = run_in(dir.path(), text, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(ledger(dir.path()).is_empty(), "{}", out.stderr);
    let code = "E0482";
    assert!(
        out.stderr.contains(&format!("error[{code}]")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("failure route 1 of `build` not taken"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_repl_shows_routes_and_runs_them() {
    let dir = tmp();
    let input = "step validate { run \"echo validate >> ledger\" }
step gate { approve \"ok?\" }
step build {
  run \"exit 1\"
  on_failure validate if build.exit_code == 1
}
:plan
:graph
:type gate.decision
:type build.timed_out
:run build
build.exit_code
validate.status
";
    let out = crate::support::Flowc::new(&["repl"])
        .dir(dir.path())
        .env("NO_COLOR", "1")
        .stdin(input)
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for shown in [
        "on_failure validate if build.exit_code == 1, else fail_fast",
        "fallback of build if build.exit_code == 1",
        "<- build (fallback if build.exit_code == 1)",
        "string\nbool\n",
        "1 : int\n\"succeeded\" : string\n",
    ] {
        assert!(out.stdout.contains(shown), "{shown:?} in:\n{}", out.stdout);
    }
    assert!(
        out.stderr
            .contains("↪ build: on_failure validate (if build.exit_code == 1)"),
        "{}",
        out.stderr
    );
    assert_eq!(ledger(dir.path()), ["validate"]);
}
