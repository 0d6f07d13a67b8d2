//! `--events json` against its documented shape: the output of a real run with a fan-out,
//! a failing instance, a retry, a failure and a skip is validated line by line against
//! docs/events.schema.json; every event has the run's id and an RFC 3339 time with an
//! offset; each fan-out instance has exactly one start and one finish event.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{json_lines, root, tmp, Flowc};

/// A run with the events of a run that is neither paused nor resumed: a concurrency group,
/// a fan-out of three (one of whose instances fails, absorbed by `on_failure continue`), a
/// step that succeeds on its retry, a step that fails through a failure route, and a step
/// skipped by its condition. The steps write what they did to `ledger`. (`flaky` waits
/// for `check`: `broken`'s failure stops the run and cancels whatever still runs, so
/// without that, a `check` instance slower than `flaky` and `broken` together, as on a
/// loaded machine, was cancelled rather than finished.)
const EVENTS: &str = r#"workflow events(items: list<string> = ["a", "b", "c"], quick: bool = true) {
  concurrency "events"
  step fan for x in items {
    run "echo fan ${x} | tee -a ledger"
  }
  step check for x in items after fan {
    run "test ${x} != b"
    on_failure continue
  }
  step flaky after check {
    run "test -f tried || { touch tried; echo flaky failed >> ledger; exit 1; }"
    retry 1 backoff linear(10ms)
  }
  step broken after flaky {
    run "echo broken >> ledger; exit 3"
    on_failure fail_fast if broken.exit_code == 3
  }
  step slow when !quick {
    run "echo slow >> ledger"
  }
}
"#;

/// The validator of docs/events.schema.json (other tests check their runs' events too).
pub(crate) fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("docs/events.schema.json")).expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::meta::validate(&schema).expect("a valid JSON Schema");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

/// The events of a run of `EVENTS` in `dir`, and its exit code.
fn run_events(dir: &Path) -> (i32, Vec<serde_json::Value>) {
    std::fs::write(dir.join("events.flow"), EVENTS).expect("events.flow");
    let out = Flowc::new(&["run", "events.flow", "--events", "json"])
        .dir(dir)
        .env_remove("FLOWC_STATE_DIR")
        .env("TZ", "IST-5:30")
        .run();
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.contains("panicked"))
            .count(),
        0
    );
    (out.code, json_lines(&out.stdout))
}

#[test]
fn every_event_of_a_real_run_fits_the_documented_schema() {
    let dir = tmp();
    let (code, events) = run_events(dir.path());
    assert_eq!(code, 1, "`broken` fails the run: {events:#?}");
    let validator = schema();
    for event in &events {
        let errors: Vec<String> = validator
            .iter_errors(event)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{event}\n{errors:#?}");
    }
    // Every kind such a run produces was seen (`step_restored`, `step_paused` and
    // `group_busy` need a resume, a pause or a second run).
    let kinds: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e["event"].as_str()).collect();
    for kind in [
        "run_started",
        "step_started",
        "output",
        "retrying",
        "step_finished",
        "step_skipped",
        "instance_started",
        "instance_finished",
        "route_taken",
        "group_taken",
        "run_finished",
    ] {
        assert!(kinds.contains(kind), "no `{kind}` in {kinds:?}");
    }
    // The schema is strict: an unknown field or kind does not pass.
    let mut extra = events[0].clone();
    extra["surprise"] = serde_json::json!(1);
    assert!(!validator.is_valid(&extra));
    let mut unstamped = events[1].clone();
    unstamped["time"] = serde_json::json!("yesterday");
    assert!(!validator.is_valid(&unstamped));
    // What the steps did, as their ledger says: three fan-out instances, a failed first
    // attempt of `flaky`, `broken` once; `slow` never.
    let ledger = std::fs::read_to_string(dir.path().join("ledger")).expect("ledger");
    let mut lines: Vec<&str> = ledger.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["broken", "fan a", "fan b", "fan c", "flaky failed"],
        "{ledger}"
    );
}

#[test]
fn every_event_carries_the_run_id_and_a_time_with_an_offset() {
    let dir = tmp();
    let (_, events) = run_events(dir.path());
    let id = events[0]["run_id"]
        .as_str()
        .expect("run_started has the id");
    let listed = Flowc::new(&["runs", "--format", "json"])
        .dir(dir.path())
        .env_remove("FLOWC_STATE_DIR")
        .run();
    assert!(listed.stdout.contains(id), "the journaled run is {id}");
    for event in &events {
        assert_eq!(event["run_id"], id, "{event}");
        let time = event["time"].as_str().expect("a time");
        // TZ=IST-5:30 (a POSIX rule, no time zone database needed): local time, with
        // its offset.
        assert!(time.ends_with("+05:30"), "{time}");
        chrono::DateTime::parse_from_rfc3339(time).expect("RFC 3339");
    }
}

#[test]
fn each_fan_out_instance_starts_once_and_finishes_once_with_its_status() {
    let dir = tmp();
    let (_, events) = run_events(dir.path());
    let of = |kind: &str| -> Vec<&serde_json::Value> {
        events.iter().filter(|e| e["event"] == kind).collect()
    };
    let mut started: BTreeMap<String, usize> = BTreeMap::new();
    for e in of("instance_started") {
        *started
            .entry(e["instance"].as_str().unwrap_or("").to_string())
            .or_default() += 1;
    }
    let mut finished: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for e in of("instance_finished") {
        let instance = e["instance"].as_str().unwrap_or("").to_string();
        let step = e["step"].as_str().unwrap_or("");
        let index = e["index"].as_u64().unwrap_or(99);
        assert_eq!(instance, format!("{step}[{index}]"), "{e}");
        let entry = finished.entry(instance).or_insert((0, String::new()));
        entry.0 += 1;
        entry.1 = e["status"].as_str().unwrap_or("").to_string();
    }
    let names: Vec<String> = ["fan", "check"]
        .iter()
        .flat_map(|s| (0..3).map(move |i| format!("{s}[{i}]")))
        .collect();
    for name in &names {
        assert_eq!(started.get(name), Some(&1), "{name} started: {started:?}");
        assert_eq!(
            finished.get(name).map(|f| f.0),
            Some(1),
            "{name}: {finished:?}"
        );
    }
    assert_eq!(started.len(), 6, "{started:?}");
    assert_eq!(finished.len(), 6, "{finished:?}");
    let status = |name: &str| finished[name].1.as_str();
    assert_eq!(status("fan[0]"), "succeeded");
    assert_eq!(status("check[0]"), "succeeded");
    assert_eq!(status("check[1]"), "failed");
    assert_eq!(status("check[2]"), "succeeded");
    // The failed instance carries its own failure's code; its step names it.
    let failed = of("instance_finished")
        .into_iter()
        .find(|e| e["instance"] == "check[1]")
        .expect("check[1]");
    assert_eq!(failed["code"], "E0460", "{failed}");
    assert_eq!(failed["reason"], "exit code 1", "{failed}");
    let step = of("step_finished")
        .into_iter()
        .find(|e| e["step"] == "check")
        .expect("check finished");
    assert_eq!(step["code"], "E0468", "{step}");
    // Each instance's start comes before its attempts, and its finish after them and
    // before its step's.
    let position =
        |pred: &dyn Fn(&serde_json::Value) -> bool| events.iter().position(pred).expect("present");
    for name in &names {
        let start = position(&|e| e["event"] == "instance_started" && e["instance"] == *name);
        let attempt = position(&|e| e["event"] == "step_started" && e["step"] == *name);
        let end = position(&|e| e["event"] == "instance_finished" && e["instance"] == *name);
        let base = name.split('[').next().unwrap_or("");
        let step_end = position(&|e| e["event"] == "step_finished" && e["step"] == base);
        assert!(start < attempt && attempt < end && end < step_end, "{name}");
    }
    // A plain step has no instance events.
    assert!(!events
        .iter()
        .any(|e| e["event"] == "instance_started" && e["step"] == "flaky"));
}
