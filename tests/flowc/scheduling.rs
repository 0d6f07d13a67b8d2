//! Issue 16, items 1, 2, 4 and 5 through the real binary: the run's `timeout`, failure
//! budgets (`max_failures`, of the run and of a fan-out), `priority` and a step's working
//! directory (`dir`). Order and counts are read from ledger files the steps write; nothing
//! here asserts how long anything took.

use std::path::Path;

use crate::support::{flowc_in, json_lines, tmp, Flowc, Output};

/// Writes `text` as `w.flow` in `dir` and runs it with these extra arguments.
fn run(dir: &Path, text: &str, args: &[&str]) -> Output {
    std::fs::write(dir.join("w.flow"), text).expect("write the workflow");
    let mut all = vec!["run", "w.flow"];
    all.extend_from_slice(args);
    flowc_in(dir, &all)
}

/// The lines of `dir/ledger`, in the order the steps wrote them (none when it is missing).
fn ledger(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The run id a run printed (`run ID: workflow ...`).
fn run_id(stderr: &str) -> String {
    stderr
        .split_whitespace()
        .skip_while(|w| *w != "run")
        .nth(1)
        .map(|id| id.trim_end_matches(':').to_string())
        .unwrap_or_else(|| panic!("no run id in {stderr}"))
}

/// The `step_finished` (or `step_skipped`) event of `step` among `events`.
fn event_of<'a>(events: &'a [serde_json::Value], step: &str) -> &'a serde_json::Value {
    events
        .iter()
        .find(|e| {
            e["step"] == step && (e["event"] == "step_finished" || e["event"] == "step_skipped")
        })
        .unwrap_or_else(|| panic!("no end of `{step}` in {events:?}"))
}

// ---------------------------------------------------------------------------------------
// priority
// ---------------------------------------------------------------------------------------

#[test]
fn ready_steps_start_by_priority_then_in_file_order() {
    let dir = tmp();
    let dir = dir.path();
    // `none` is ready from the start and waits for the slot `gate` holds; when `gate`
    // ends, the steps it made ready compete for its slot with `none`.
    let text = r#"workflow batch {
  defaults { priority 5 }
  step gate {
    run "echo gate >> ledger"
    priority 100
  }
  step low after gate {
    run "echo low >> ledger"
    priority 1
  }
  step mid_a after gate { run "echo mid_a >> ledger" }
  step high after gate {
    run "echo high >> ledger"
    priority 10
  }
  step mid_b after gate { run "echo mid_b >> ledger" }
  step none {
    run "echo none >> ledger"
    priority 0
  }
  step negative after gate {
    run "echo negative >> ledger"
    priority -3
  }
}
"#;
    let out = run(dir, text, &["--max-parallel", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = ["gate", "high", "mid_a", "mid_b", "low", "none", "negative"];
    assert_eq!(ledger(dir), expected);
    // `flowc plan` lists the same order.
    let plan = flowc_in(dir, &["plan", "w.flow"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let planned: Vec<&str> = plan
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(planned, expected, "{}", plan.stdout);
    assert!(
        plan.stdout.contains("high      after gate · priority 10"),
        "{}",
        plan.stdout
    );
    // The same run again gives the same order: it does not depend on timing.
    std::fs::remove_file(dir.join("ledger")).expect("remove the ledger");
    let again = flowc_in(dir, &["run", "w.flow", "--max-parallel", "1"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(ledger(dir), expected);
}

#[test]
fn a_fan_out_competes_with_its_priority_and_its_max_keeps_instances_back() {
    let dir = tmp();
    let dir = dir.path();
    let text = r#"workflow w(items: list<string> = ["a", "b", "c"]) {
  step each for item in items max 1 {
    run "echo each-$ITEM >> ledger"
    env { ITEM: item }
    priority 5
  }
  step other { run "echo other >> ledger" }
  step urgent {
    run "echo urgent >> ledger"
    priority 9
  }
}
"#;
    let out = run(dir, text, &["--max-parallel", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Instances start in list order; one of them waiting for the fan-out's `max` is not
    // ready, and `other` (priority 0) still waits for all of them.
    assert_eq!(
        ledger(dir),
        ["urgent", "each-a", "each-b", "each-c", "other"]
    );
}

// ---------------------------------------------------------------------------------------
// The run's timeout
// ---------------------------------------------------------------------------------------

/// A run whose `timeout` passes while `slow` (and a child it started) runs.
const TIMES_OUT: &str = r#"workflow w {
  timeout 1s
  step slow { run "sleep 120 & echo $! > child.pid; wait" }
  step later after slow { run "echo later >> ledger" }
  step undo on_failure_of slow { run "echo undo >> ledger" }
  finally step report {
    run "echo report $STATUS >> ledger"
    env { STATUS: workflow.status }
  }
}
"#;

#[test]
fn the_run_timeout_stops_the_process_tree_and_runs_compensation_and_finally() {
    let dir = tmp();
    let dir = dir.path();
    let out = run(dir, TIMES_OUT, &["--events", "json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(ledger(dir), ["undo", "report timed_out"]);
    // The child that `slow` started in the background was stopped with it.
    let pid = std::fs::read_to_string(dir.join("child.pid")).expect("slow started");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    let running = stat.is_ok_and(|s| {
        s.rfind(')')
            .is_some_and(|i| !s[i + 1..].trim_start().starts_with(['Z', 'X']))
    });
    assert!(!running, "the child of `slow` outlived the run's timeout");
    let events = json_lines(&out.stdout);
    assert_eq!(event_of(&events, "slow")["status"], "cancelled");
    assert_eq!(
        event_of(&events, "slow")["reason"],
        "stopped: the run's timeout of 1s has passed"
    );
    assert_eq!(
        event_of(&events, "later")["reason"],
        "the run's timeout of 1s has passed"
    );
    let end = events.last().expect("events");
    assert_eq!(end["event"], "run_finished");
    assert_eq!(end["status"], "timed_out");
    let schema = crate::events::schema();
    for e in &events {
        assert!(
            schema.is_valid(e),
            "{e} does not fit docs/events.schema.json"
        );
    }
    // `flowc runs` and `flowc status` say so too.
    let id = events[0]["run_id"].as_str().expect("a run id").to_string();
    let runs = flowc_in(dir, &["runs", "--format", "json"]);
    let row = json_lines(&runs.stdout)
        .into_iter()
        .find(|r| r["id"] == id.as_str() || r["run_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no run {id} in {}", runs.stdout));
    assert_eq!(row["status"], "timed_out", "{row}");
    let status = flowc_in(dir, &["status", &id]);
    assert!(
        status.stdout.contains("status timed_out"),
        "{}",
        status.stdout
    );
}

#[test]
fn the_human_summary_says_the_run_timed_out() {
    let dir = tmp();
    let dir = dir.path();
    let out = run(dir, TIMES_OUT, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("workflow `w` timed out in"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("timed out: the workflow's `timeout` passed"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_run_timeout_stops_a_question_nobody_answers_at_a_terminal() {
    use std::process::{Command, Stdio};
    let dir = tmp();
    let dir = dir.path();
    let text = r#"workflow w {
  timeout 1s
  step gate { approve "go on?" }
  step after_gate after gate { run "echo after_gate >> ledger" }
  finally step report {
    run "echo report $STATUS >> ledger"
    env { STATUS: workflow.status }
  }
}
"#;
    std::fs::write(dir.join("w.flow"), text).expect("write the workflow");
    // On a pseudo-terminal (util-linux `script`) flowc asks; nobody types anything, and
    // the terminal's input stays open.
    let command = format!("{} run w.flow --log-dir logs", env!("CARGO_BIN_EXE_flowc"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script (util-linux) starts");
    let input = child.stdin.take().expect("stdin");
    // Only if the timeout did not stop the question: the test fails instead of hanging.
    let (done, watch) = std::sync::mpsc::channel::<()>();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let watchdog = std::thread::spawn(move || {
        if watch
            .recv_timeout(std::time::Duration::from_secs(120))
            .is_err()
        {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    });
    let out = child.wait_with_output().expect("finishes");
    let _ = done.send(());
    watchdog.join().expect("the watchdog ends");
    drop(input);
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{screen}");
    assert!(screen.contains("approve `gate`: go on?"), "{screen}");
    assert!(
        screen.contains("stopped: the run's timeout of 1s has passed"),
        "{screen}"
    );
    assert_eq!(ledger(dir), ["report timed_out"]);
}

#[test]
fn a_resumed_run_keeps_the_deadline_of_its_first_start() {
    let dir = tmp();
    let dir = dir.path();
    let text = r#"workflow w {
  timeout 2s
  step gate { approve "go on?" }
  step after_gate after gate { run "echo after_gate >> ledger" }
  finally step report {
    run "echo report $STATUS >> ledger"
    env { STATUS: workflow.status }
  }
}
"#;
    let out = run(dir, text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let id = run_id(&out.stderr);
    // Well past the deadline, counted from the run's start: the time it spent paused
    // at the gate counts.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let approved = flowc_in(dir, &["approve", &id, "gate"]);
    assert!(approved.code == 0 || approved.stderr.contains("E0509"));
    let resumed = flowc_in(dir, &["resume", &id]);
    assert_eq!(resumed.code, 1, "{}", resumed.stderr);
    assert!(
        resumed
            .stderr
            .contains("after_gate skipped: the run's timeout of 2s has passed"),
        "{}",
        resumed.stderr
    );
    let lines = ledger(dir);
    assert!(!lines.iter().any(|l| l == "after_gate"), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("report timed_out"));
}

#[test]
fn a_run_resumed_within_its_deadline_goes_on() {
    let dir = tmp();
    let dir = dir.path();
    let text = r#"workflow w {
  timeout 1h
  step gate { approve "go on?" }
  step after_gate after gate { run "echo after_gate >> ledger" }
}
"#;
    let out = run(dir, text, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let id = run_id(&out.stderr);
    assert_eq!(flowc_in(dir, &["approve", &id, "gate"]).code, 0);
    let resumed = flowc_in(dir, &["resume", &id]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(ledger(dir), ["after_gate"]);
}

// ---------------------------------------------------------------------------------------
// max_failures
// ---------------------------------------------------------------------------------------

#[test]
fn a_spent_run_budget_starts_nothing_new_and_lets_running_steps_finish() {
    let dir = tmp();
    let dir = dir.path();
    // At two slots: `slow` runs until `f2` fails, which spends the budget; `slow` then
    // finishes, and `f3` and `ok` never start.
    let text = r#"workflow w {
  max_failures 2
  defaults { on_failure continue }
  step slow {
    run "while [ ! -f go ]; do sleep 0.05; done; echo slow >> ledger"
    priority 10
  }
  step f1 { run "echo f1 >> ledger; exit 1" }
  step f2 { run "echo f2 >> ledger; touch go; exit 1" }
  step f3 { run "echo f3 >> ledger; exit 1" }
  step ok { run "echo ok >> ledger" }
  step undo on_failure_of f3 { run "echo undo >> ledger" }
  finally step report {
    run "echo report $STATUS >> ledger"
    env { STATUS: workflow.status }
  }
}
"#;
    let out = run(dir, text, &["--max-parallel", "2", "--events", "json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let mut lines = ledger(dir);
    assert_eq!(lines.pop().as_deref(), Some("report failed"));
    lines.sort();
    assert_eq!(lines, ["f1", "f2", "slow", "undo"]);
    let events = json_lines(&out.stdout);
    assert_eq!(event_of(&events, "slow")["status"], "succeeded");
    for step in ["f3", "ok"] {
        let e = event_of(&events, step);
        assert!(
            e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("the run's failure budget is spent (max_failures 2)")),
            "{e}"
        );
    }
}

#[test]
fn retries_count_once_and_a_resume_counts_the_failures_recorded() {
    let dir = tmp();
    let dir = dir.path();
    let text = |budget: u32| {
        format!(
            r#"workflow w {{
  max_failures {budget}
  defaults {{ on_failure continue }}
  step a {{
    run "echo a >> ledger; exit 1"
    retry 2 backoff fixed(10ms)
  }}
  step b after a {{ run "echo b >> ledger; exit 1" }}
  step c after b {{ run "echo c >> ledger" }}
}}
"#
        )
    };
    // `a` fails three attempts and counts once; `b` spends the budget; `c` is skipped.
    let out = run(dir, &text(2), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(ledger(dir), ["a", "a", "a", "b"]);
    let id = run_id(&out.stderr);
    // Resumed, the budget is still spent: nothing starts.
    let resumed = flowc_in(dir, &["resume", &id]);
    assert_eq!(resumed.code, 1, "{}", resumed.stderr);
    assert_eq!(ledger(dir), ["a", "a", "a", "b"]);
    assert!(
        resumed.stderr.contains("the run's failure budget is spent"),
        "{}",
        resumed.stderr
    );
    // With a larger budget the resume goes on: `a` and `b`, whose failures `continue`
    // let through, are kept (two failures of four), and `c` runs.
    std::fs::write(dir.join("w.flow"), text(4)).expect("write");
    let resumed = flowc_in(dir, &["resume", &id]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(ledger(dir), ["a", "a", "a", "b", "c"]);
}

/// A fan-out over 1..6 whose even items fail, one instance at a time, with a budget of
/// two failures and this `on_failure`.
fn fan_out_budget(on_failure: &str) -> String {
    format!(
        r#"workflow w(items: list<int> = [1, 2, 3, 4, 5, 6]) {{
  step each for n in items max 1 {{
    run "echo $N >> ledger; [ $((N % 2)) -eq 1 ]"
    env {{ N: n }}
    max_failures 2
    on_failure {on_failure}
  }}
  step next after each {{ run "echo next >> ledger" }}
}}
"#
    )
}

#[test]
fn a_fan_out_budget_stops_new_instances_then_fails_the_step() {
    let dir = tmp();
    let dir = dir.path();
    // Under fail_fast, the first failure no longer stops the fan-out: the second does.
    let out = run(dir, &fan_out_budget("fail_fast"), &["--events", "json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(ledger(dir), ["1", "2", "3", "4"]);
    let events = json_lines(&out.stdout);
    assert_eq!(event_of(&events, "each")["status"], "failed");
    assert_eq!(event_of(&events, "each")["code"], "E0468");
    assert!(
        event_of(&events, "each")["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("each[1]: exit code 1 (and 1 more")),
        "{events:?}"
    );
    assert_eq!(event_of(&events, "next")["event"], "step_skipped");
}

#[test]
fn a_fan_out_budget_under_continue_fails_the_step_and_the_run_goes_on() {
    let dir = tmp();
    let dir = dir.path();
    let out = run(dir, &fan_out_budget("continue"), &["--events", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(ledger(dir), ["1", "2", "3", "4", "next"]);
    let events = json_lines(&out.stdout);
    assert_eq!(event_of(&events, "each")["status"], "failed");
    // The instances the budget kept from starting say why.
    for instance in ["each[4]", "each[5]"] {
        let e = events
            .iter()
            .find(|e| e["event"] == "instance_finished" && e["instance"] == instance)
            .unwrap_or_else(|| panic!("no end of {instance}"));
        assert_eq!(e["status"], "cancelled", "{e}");
        assert_eq!(e["attempts"], 0, "{e}");
        assert_eq!(
            e["reason"],
            "not started: its step's failure budget is spent (max_failures 2)"
        );
    }
}

// ---------------------------------------------------------------------------------------
// dir
// ---------------------------------------------------------------------------------------

#[test]
fn dir_is_relative_to_the_workflow_file_and_checked_before_the_command() {
    let dir = tmp();
    let root = dir.path();
    let project = root.join("project");
    for d in ["work/blue", "from_task", "a_file_parent"] {
        std::fs::create_dir_all(project.join(d)).expect("mkdir");
    }
    std::fs::write(project.join("a_file_parent/plain"), "").expect("write");
    let text = r#"task where() {
  run "pwd > where"
  dir "from_task"
}

workflow w(colour: string = "blue") {
  defaults { dir "work" }
  step inherited { run "pwd > where" }
  step own {
    run "pwd > where"
    dir "work/${colour}"
  }
  step called = where()
  step missing {
    run "echo started >> ledger"
    dir "not/there"
    on_failure continue
  }
  step not_a_dir {
    run "echo started >> ledger"
    dir "a_file_parent/plain"
    on_failure continue
  }
}
"#;
    std::fs::write(project.join("w.flow"), text).expect("write");
    // Run from the directory above the file's.
    let out = Flowc::new(&["run", "project/w.flow", "--events", "json"])
        .dir(root)
        .env("NO_COLOR", "1")
        .env_remove("FLOWC_STATE_DIR")
        .run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let project = std::fs::canonicalize(&project).expect("canonical");
    let pwd = |sub: &str| {
        let text = std::fs::read_to_string(project.join(sub).join("where"))
            .unwrap_or_else(|e| panic!("{sub}/where: {e}"));
        std::fs::canonicalize(text.trim()).expect("a directory")
    };
    assert_eq!(pwd("work"), project.join("work"));
    assert_eq!(pwd("work/blue"), project.join("work/blue"));
    assert_eq!(pwd("from_task"), project.join("from_task"));
    // Neither command started.
    assert!(!project.join("not/there").exists());
    assert!(!root.join("ledger").exists() && !project.join("ledger").exists());
    let events = json_lines(&out.stdout);
    let missing = event_of(&events, "missing");
    assert_eq!(missing["code"], "E0476", "{missing}");
    assert!(
        missing["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("not/there` does not exist")),
        "{missing}"
    );
    let not_a_dir = event_of(&events, "not_a_dir");
    assert_eq!(not_a_dir["code"], "E0476", "{not_a_dir}");
    assert!(
        not_a_dir["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("is not a directory")),
        "{not_a_dir}"
    );
}

// ---------------------------------------------------------------------------------------
// Plan, graph, formatter and REPL
// ---------------------------------------------------------------------------------------

/// Every new attribute, in canonical layout.
const ALL: &str = r#"workflow batch(
  jobs: list<string> = ["a", "b"],
  urgent: bool = false,
) {
  timeout 2h
  max_failures 3
  defaults { priority 1  dir "work" }

  step fetch {
    run "./fetch.sh"
    priority if urgent { 10 } else { 5 }
  }
  step each after fetch for job in jobs max 2 {
    run "./job.sh ${job}"
    dir "jobs/${job}"
    max_failures len(jobs) / 2
    on_failure continue
  }
}
"#;

#[test]
fn plan_and_graph_show_the_run_limits_priorities_and_directories() {
    let dir = tmp();
    let dir = dir.path();
    std::fs::write(dir.join("w.flow"), ALL).expect("write");
    let plan = flowc_in(dir, &["plan", "w.flow", "--var", "urgent=true"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    for line in [
        "  timeout 2h\n",
        "  max_failures 3\n",
        "1. fetch  priority 10 · dir \"work\"\n",
        "2. each   after fetch · for job in jobs: 2 instances, max 2, max_failures 1 · priority 1 · dir \"jobs/${job}\" · on_failure continue\n",
    ] {
        assert!(plan.stdout.contains(line), "{line:?} in\n{}", plan.stdout);
    }
    let graph = flowc_in(dir, &["graph", "w.flow"]);
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    assert!(
        graph
            .stdout
            .starts_with("workflow batch\n  timeout 2h\n  max_failures 3\n"),
        "{}",
        graph.stdout
    );
    assert!(
        graph.stdout.contains(
            "  step each [fan-out]\n    priority 1\n    dir \"jobs/${job}\"\n    max_failures len(jobs) / 2\n"
        ),
        "{}",
        graph.stdout
    );
    let json = flowc_in(dir, &["graph", "w.flow", "--format", "json"]);
    let all: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(all[0]["attributes"]["timeout"], "2h");
    assert_eq!(all[0]["attributes"]["max_failures"], "3");
    assert_eq!(all[0]["nodes"][1]["dir"], "\"jobs/${job}\"");
    assert_eq!(
        all[0]["nodes"][0]["priority"],
        "if urgent { 10 } else { 5 }"
    );
    let dot = flowc_in(dir, &["graph", "w.flow", "--format", "dot"]);
    assert!(
        dot.stdout
            .contains("label=\"batch\\ntimeout 2h\\nmax_failures 3\";"),
        "{}",
        dot.stdout
    );
    let mermaid = flowc_in(dir, &["graph", "w.flow", "--format", "mermaid"]);
    assert!(
        mermaid
            .stdout
            .contains("  %% timeout 2h\n  %% max_failures 3\n")
            && mermaid.stdout.contains("<br/>priority 1"),
        "{}",
        mermaid.stdout
    );
}

#[test]
fn the_formatter_keeps_the_new_syntax_and_lays_it_out() {
    let dir = tmp();
    let dir = dir.path();
    std::fs::write(dir.join("w.flow"), ALL).expect("write");
    let check = flowc_in(dir, &["fmt", "--check", "w.flow"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    // Squeezed onto few lines, it is laid out as above.
    let squeezed = ALL
        .replace(
            "  timeout 2h\n  max_failures 3\n",
            "  timeout 2h max_failures 3\n",
        )
        .replace(
            "{\n    run \"./fetch.sh\"\n    priority",
            "{ run \"./fetch.sh\" priority",
        );
    assert_ne!(squeezed, ALL);
    let out = Flowc::new(&["fmt", "-"]).stdin(squeezed).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, ALL);
}

#[test]
fn the_repl_defines_run_settings_and_shows_priorities() {
    let out = Flowc::new(&["repl"])
        .stdin(
            "let timeout = 5\ntimeout * 2\ntimeout 1h\nmax_failures 2\nstep a {\n  run \"true\"\n  priority 3\n  dir \".\"\n}\n:plan\n:graph\n",
        )
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    for needle in [
        "defined let `timeout` : int\n",
        "10 : int\n",
        "defined the run's `timeout`\n",
        "defined the run's `max_failures`\n",
        "  timeout 1h\n",
        "1. a  priority 3 · dir \".\"",
        "    priority 3\n    dir \".\"\n",
    ] {
        assert!(out.stdout.contains(needle), "{needle:?} in\n{}", out.stdout);
    }
}
