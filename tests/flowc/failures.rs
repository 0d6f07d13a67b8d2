//! Run-time errors are data (issue 14): each way a step fails has its own code, and the
//! same failure (code, message, help) reaches the progress line, the summary, the
//! `--events json` stream, the journal and `flowc status` (human and JSON), through the
//! real binary.

use std::path::Path;

use crate::support::{flowc_in, json_lines, tmp};

/// What a failing run of `text` (as `w.flow` in `dir`) reported: its `step_finished`
/// event for `step`, and its run id.
fn failed_event(dir: &Path, text: &str, step: &str) -> (serde_json::Value, String) {
    std::fs::write(dir.join("w.flow"), text).expect("write the workflow");
    let out = flowc_in(
        dir,
        &["run", "w.flow", "--log-dir", "logs", "--events", "json"],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let events = json_lines(&out.stdout);
    let id = events
        .iter()
        .find(|e| e["event"] == "run_started")
        .and_then(|e| e["run_id"].as_str())
        .expect("a run_started event")
        .to_string();
    let finished = events
        .into_iter()
        .find(|e| e["event"] == "step_finished" && e["step"] == step)
        .unwrap_or_else(|| panic!("no step_finished event for `{step}`: {}", out.stdout));
    assert_eq!(finished["status"], "failed", "{finished}");
    (finished, id)
}

/// The failure of `step` in a failed event: its code and message, after checking that
/// the message is the event's `reason` too (the field tools already read) and that the
/// code is explained.
fn code_and_message(event: &serde_json::Value) -> (String, String) {
    let code = event["code"].as_str().expect("a code").to_string();
    let message = event["message"].as_str().expect("a message").to_string();
    assert_eq!(event["reason"].as_str(), Some(message.as_str()), "{event}");
    assert!(flowc::diagnostics::explain(&code).is_some(), "{code}");
    (code, message)
}

/// `flowc status ID` in both formats: the human text and the JSON object of `step`.
fn status_of(dir: &Path, id: &str, step: &str) -> (String, serde_json::Value) {
    let human = flowc_in(dir, &["status", id]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    let json = flowc_in(dir, &["status", id, "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let all: serde_json::Value = serde_json::from_str(&json.stdout).expect("one JSON object");
    let row = all["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == step).cloned())
        .unwrap_or_else(|| panic!("no step `{step}` in {all}"));
    (human.stdout, row)
}

#[test]
fn a_non_zero_exit_is_e0460_in_events_journal_and_status() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {\n  step build { run \"sh -c 'exit 3'\" }\n}\n";
    let (event, id) = failed_event(dir, text, "build");
    let (code, message) = code_and_message(&event);
    assert_eq!((code.as_str(), message.as_str()), ("E0460", "exit code 3"));
    assert!(
        event["help"].as_str().is_some_and(|h| !h.is_empty()),
        "{event}"
    );
    let (human, row) = status_of(dir, &id, "build");
    assert!(
        human.contains("error[E0460]: step `build` failed: exit code 3\n  help: "),
        "{human}"
    );
    assert_eq!(row["code"], "E0460");
    assert_eq!(row["message"], "exit code 3");
    assert_eq!(row["reason"], "exit code 3");
    assert_eq!(row["exit_codes"], serde_json::json!([3]));
    assert_eq!(row["help"], event["help"]);
}

#[test]
fn a_timeout_is_e0462_and_names_the_limit() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {\n  step slow {\n    run \"sleep 5\"\n    timeout 200ms\n  }\n}\n";
    let (event, id) = failed_event(dir, text, "slow");
    let (code, message) = code_and_message(&event);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("E0462", "timed out after 200ms")
    );
    let (human, row) = status_of(dir, &id, "slow");
    assert!(
        human.contains("error[E0462]: step `slow` failed: timed out after 200ms"),
        "{human}"
    );
    assert_eq!(row["code"], "E0462");
}

#[test]
fn a_signal_is_e0461() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {\n  step crash { run \"sh -c 'kill -9 $$'\" }\n}\n";
    let (event, _) = failed_event(dir, text, "crash");
    let (code, message) = code_and_message(&event);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("E0461", "killed by signal 9 (SIGKILL)")
    );
}

#[test]
fn a_program_that_cannot_start_is_e0410_with_its_name() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {\n  step s { exec [\"no-such-program-flowc\", \"x\"] }\n}\n";
    let (event, id) = failed_event(dir, text, "s");
    let (code, message) = code_and_message(&event);
    assert_eq!(code, "E0410");
    assert!(
        message.starts_with("cannot start step process `no-such-program-flowc`: "),
        "{message}"
    );
    let (human, row) = status_of(dir, &id, "s");
    assert!(
        human.contains("error[E0410]: step `s` failed: cannot start"),
        "{human}"
    );
    assert_eq!(row["code"], "E0410");
}

#[test]
fn missing_mistyped_and_malformed_outputs_have_their_codes() {
    let dir = tmp();
    let dir = dir.path();
    let missing =
        "workflow w {\n  step v {\n    run \"true\"\n    outputs { version: string }\n  }\n}\n";
    let (event, id) = failed_event(dir, missing, "v");
    let (code, message) = code_and_message(&event);
    assert_eq!(code, "E0463");
    assert!(message.contains("`version`"), "{message}");
    assert_eq!(status_of(dir, &id, "v").1["code"], "E0463");

    let mistyped = "workflow w {\n  step v {\n    run \"echo n=many >> $FLOW_OUTPUT\"\n    outputs { n: int }\n  }\n}\n";
    let (event, _) = failed_event(dir, mistyped, "v");
    let (code, message) = code_and_message(&event);
    assert_eq!(code, "E0464");
    assert_eq!(message, "output `n` is \"many\", which is not a `int`");

    let malformed = "workflow w {\n  step v {\n    run \"echo 'version 1.2' >> $FLOW_OUTPUT\"\n    outputs { version: string }\n  }\n}\n";
    let (event, _) = failed_event(dir, malformed, "v");
    let (code, message) = code_and_message(&event);
    assert_eq!(code, "E0465");
    assert!(message.contains("is not `name=value`"), "{message}");
}

#[test]
fn a_value_that_fails_at_run_time_is_e0466_and_fails_the_step() {
    let dir = tmp();
    let dir = dir.path();
    let text =
        "workflow w(count: string = \"many\") {\n  step s { run \"seq ${parse_int(count)}\" }\n}\n";
    let (event, _) = failed_event(dir, text, "s");
    let (code, message) = code_and_message(&event);
    assert_eq!(code, "E0466");
    assert!(
        message.starts_with("cannot evaluate a value of the command: "),
        "{message}"
    );
    // The evaluation error's own code is in the help.
    assert!(
        event["help"].as_str().is_some_and(|h| h.contains("E0422")),
        "{event}"
    );

    // A fan-out list that cannot be evaluated fails the step (it used to be skipped, and
    // the run succeeded).
    let text = "workflow w(n: string = \"nope\") {\n  step s for x in parse_json(n, [\"\"]) { run \"true\" }\n  step after_s after s { run \"true\" }\n}\n";
    let (event, _) = failed_event(dir, text, "s");
    let (code, message) = code_and_message(&event);
    assert_eq!(code, "E0466");
    assert!(
        message.starts_with("cannot evaluate the fan-out list: "),
        "{message}"
    );
    assert!(
        event["help"].as_str().is_some_and(|h| h.contains("E0455")),
        "{event}"
    );
}

#[test]
fn an_unusable_retry_count_is_e0442_in_the_events() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w(n: string = \"many\") {\n  step s {\n    run \"true\"\n    retry parse_int(n)\n  }\n}\n";
    let (event, id) = failed_event(dir, text, "s");
    let (code, message) = code_and_message(&event);
    assert_eq!(code, "E0442");
    assert!(
        message.starts_with("the retry count cannot be evaluated: "),
        "{message}"
    );
    // No longer formatted into the text.
    assert!(!message.contains("[E0442]"), "{message}");
    assert_eq!(status_of(dir, &id, "s").1["code"], "E0442");
}

#[test]
fn a_refused_approval_is_e0467_in_the_resumed_run_and_its_status() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow g {\n  step gate { approve \"ship it?\" }\n  step ship after gate { run \"true\" }\n}\n";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = flowc_in(dir, &["run", "w.flow", "--events", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let events = json_lines(&out.stdout);
    let id = events[0]["run_id"].as_str().expect("run id").to_string();
    // Waiting at a gate is not a failure: no code.
    let waiting = events
        .iter()
        .find(|e| e["event"] == "step_finished" && e["step"] == "gate")
        .expect("the gate's event");
    assert_eq!(waiting["status"], "waiting");
    assert!(waiting.get("code").is_none(), "{waiting}");
    assert_eq!(flowc_in(dir, &["reject", &id, "gate"]).code, 0);
    let out = flowc_in(dir, &["resume", &id, "--events", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let gate = json_lines(&out.stdout)
        .into_iter()
        .find(|e| e["event"] == "step_finished" && e["step"] == "gate")
        .expect("the gate's event");
    let (code, message) = code_and_message(&gate);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("E0467", "rejected: ship it?")
    );
    let (human, row) = status_of(dir, &id, "gate");
    assert!(
        human.contains("error[E0467]: step `gate` failed: rejected: ship it?"),
        "{human}"
    );
    assert_eq!(row["code"], "E0467");
}

#[test]
fn a_failed_fan_out_instance_is_e0468_with_its_own_failure_as_cause() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {\n  step greet for who in [\"a\", \"b\", \"c\", \"d\"] {\n    run \"test ${who} = a\"\n    on_failure continue\n  }\n}\n";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = flowc_in(
        dir,
        &["run", "w.flow", "--log-dir", "logs", "--events", "json"],
    );
    // `on_failure continue`: the run succeeds, the step failed.
    assert_eq!(out.code, 0, "{}", out.stderr);
    let events = json_lines(&out.stdout);
    let id = events[0]["run_id"].as_str().expect("run id").to_string();
    let greet = events
        .iter()
        .find(|e| e["event"] == "step_finished" && e["step"] == "greet")
        .expect("the step's event");
    let (code, message) = code_and_message(greet);
    assert_eq!(code, "E0468");
    assert_eq!(
        message,
        "greet[1]: exit code 1 (and 2 more instances failed)"
    );
    assert_eq!(greet["cause"]["code"], "E0460");
    assert_eq!(greet["cause"]["message"], "exit code 1");
    let (human, row) = status_of(dir, &id, "greet");
    assert!(
        human.contains("error[E0468]: step `greet` failed: greet[1]: exit code 1 (and 2 more instances failed)"),
        "{human}"
    );
    assert!(
        human.contains("E0460"),
        "the instance's own code is in the help: {human}"
    );
    assert_eq!(row["code"], "E0468");
}

#[test]
fn a_native_action_failure_keeps_its_code() {
    let dir = tmp();
    let dir = dir.path();
    let text = "import \"std/fs\" as fs\nworkflow w {\n  step sum = fs.checksum(path: \"missing.bin\")\n}\n";
    let (event, _) = failed_event(dir, text, "sum");
    let (code, message) = code_and_message(&event);
    assert_eq!(code, "E0454");
    assert!(message.starts_with("opening `missing.bin`"), "{message}");
}

#[test]
fn a_retried_attempt_says_its_code() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {\n  step s {\n    run \"sh -c 'exit 4'\"\n    retry 1 backoff fixed(10ms)\n  }\n}\n";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = flowc_in(
        dir,
        &["run", "w.flow", "--log-dir", "logs", "--events", "json"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let retrying = json_lines(&out.stdout)
        .into_iter()
        .find(|e| e["event"] == "retrying")
        .expect("a retrying event");
    assert_eq!(retrying["code"], "E0460");
    assert_eq!(retrying["reason"], "exit code 4");
}

/// Secrets never reach a failure's words, wherever they are shown.
#[test]
fn a_failure_message_is_redacted() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {\n  secret token = \"hunter2-secret\"\n  step s {\n    run \"echo n=$T >> $FLOW_OUTPUT\"\n    env { T: token }\n    outputs { n: int }\n  }\n}\n";
    let (event, id) = failed_event(dir, text, "s");
    let (code, message) = code_and_message(&event);
    assert_eq!(code, "E0464");
    assert_eq!(message, "output `n` is \"***\", which is not a `int`");
    let (human, row) = status_of(dir, &id, "s");
    assert!(!human.contains("hunter2"), "{human}");
    assert!(!row.to_string().contains("hunter2"), "{row}");
}

/// The human output of a failing run with times, dates, durations, the run id and the
/// temporary directory taken out (and the spaces that align columns squeezed), so that
/// its shape can be snapshotted.
fn normalized(stderr: &str, id: &str, dir: &Path) -> String {
    let is_time = |w: &str| {
        let w = w.trim_end_matches([',', ')', ':']);
        w.starts_with(|c: char| c.is_ascii_digit())
            && w.ends_with(['s', 'm', 'h'])
            && w.chars().all(|c| c.is_ascii_digit() || "msh.".contains(c))
    };
    let is_date = |w: &str| w.starts_with("20") && w.contains('T') && w.contains("Z");
    stderr
        .replace(&dir.display().to_string(), "<dir>")
        .replace(id, "<run>")
        .lines()
        .map(|l| {
            let indent = &l[..l.len() - l.trim_start().len()];
            let words: Vec<&str> = l
                .split_whitespace()
                .map(|w| match w {
                    w if is_time(w) => "<t>",
                    w if is_date(w) => "<date>,",
                    w => w,
                })
                .collect();
            format!("{indent}{}", words.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_terminal_shows_a_failure_once_with_help_and_once_in_the_summary() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow w {\n  step ok { run \"true\" }\n  step build after ok { run \"sh -c 'exit 3'\" }\n}\n";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = flowc_in(dir, &["run", "w.flow", "--log-dir", "logs"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let events = flowc_in(dir, &["runs", "--format", "json"]);
    let id = json_lines(&events.stdout)[0]["id"]
        .as_str()
        .expect("run id")
        .to_string();
    insta::with_settings!({ snapshot_path => "snapshots/failures", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("run_exit_code", normalized(&out.stderr, &id, dir));
        insta::assert_snapshot!("status_exit_code", normalized(&flowc_in(dir, &["status", &id]).stdout, &id, dir));
    });
}

/// A journal written before failures had codes (format version 1 has no `StepFailed`
/// record): `flowc status` still shows the failure, by its message, without a code.
#[test]
fn status_of_a_journal_without_codes_shows_the_message() {
    use flowc::snapshot::record::{Record, RunStarted, Val};
    let dir = tmp();
    let runs = dir.path().join(".flow/runs/1700000000-old1");
    std::fs::create_dir_all(&runs).expect("mkdir");
    let records = vec![
        Record::RunStarted(RunStarted {
            run_id: "1700000000-old1".to_string(),
            file: dir.path().join("w.flow").display().to_string(),
            workflow: "w".to_string(),
            inputs: Default::default(),
            max_parallel: 1,
            approve_all: false,
            approve: Vec::new(),
            log_dir: dir.path().join("logs").display().to_string(),
            workdir: dir.path().display().to_string(),
            steps: 1,
            at_ms: 1_700_000_000_000,
        }),
        Record::StepFinished {
            step: "build".to_string(),
            status: "failed".to_string(),
            attempts: 1,
            duration_ms: 5,
            exit_codes: vec![2],
            reason: Some("exit code 2".to_string()),
            record: Val::Record(Default::default()),
            fingerprint: 1,
            at_ms: 1_700_000_000_010,
        },
        Record::RunFinished {
            status: "failed".to_string(),
            at_ms: 1_700_000_000_011,
        },
    ];
    flowc::snapshot::write_atomic(&runs.join("journal"), &records).expect("write");
    let (human, row) = status_of(dir.path(), "1700000000-old1", "build");
    assert!(
        human.contains("error: step `build` failed: exit code 2"),
        "{human}"
    );
    assert_eq!(row["code"], serde_json::Value::Null);
    assert_eq!(row["message"], "exit code 2");
}
