//! Sub-workflows beyond the basics: declared outputs typed at the call site, calls of
//! workflows from imported modules, and resuming inside an inlined sub-workflow.

use std::path::Path;

use crate::support::{tmp, Flowc};

fn flowc_in(dir: &Path, args: &[&str]) -> crate::support::Output {
    Flowc::new(args).dir(dir).run()
}

const OUTPUTS: &str = r#"/// Build an image.
workflow build_image(name: string) {
  step build {
    run "printf 'digest=sha-%s\nsize=42\n' ${name} > $FLOW_OUTPUT"
    outputs { digest: string, size: int }
  }
  outputs {
    /// The image's digest.
    digest: string = build.digest
    size: int = build.size + 1
  }
}

workflow release() {
  step img = build_image(name: "web")
  step show { run "echo got ${img.digest} ${img.size * 2}" }
}
"#;

#[test]
fn a_sub_workflows_declared_outputs_are_fields_of_the_call_step() {
    let dir = tmp();
    std::fs::write(dir.path().join("w.flow"), OUTPUTS).expect("write");
    let out = flowc_in(
        dir.path(),
        &[
            "run",
            "w.flow",
            "--workflow",
            "release",
            "--log-dir",
            "logs",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("show | got sha-web 86"),
        "{}",
        out.stderr
    );

    let graph = flowc_in(dir.path(), &["graph", "w.flow", "--workflow", "release"]);
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    assert!(
        graph.stdout.contains(
            "  step img\n    outputs digest: string, size: int\n    <- img.build (after)\n"
        ),
        "{}",
        graph.stdout
    );
    let plan = flowc_in(dir.path(), &["plan", "w.flow", "--workflow", "release"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains(
            "after img.build · reads outputs of img.build · outputs digest: string, size: int"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("show       reads outputs of img"),
        "{}",
        plan.stdout
    );
}

#[test]
fn reading_an_undeclared_or_mistyped_sub_workflow_output_is_an_error_at_the_call_site() {
    let dir = tmp();
    let text = OUTPUTS.replace(
        "${img.digest} ${img.size * 2}",
        "${img.digets} ${img.size + \"x\"}",
    );
    std::fs::write(dir.path().join("w.flow"), text).expect("write");
    let out = flowc_in(dir.path(), &["check", "w.flow", "--color", "never"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("E0104]: the result of step `img` has no field `digets`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `digest`?"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("`+` cannot be applied to `int` and `string`"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_workflow_output_must_have_its_declared_type() {
    let dir = tmp();
    let text = OUTPUTS.replace("size: int = build.size + 1", "size: int = build.digest");
    std::fs::write(dir.path().join("w.flow"), text).expect("write");
    let out = flowc_in(dir.path(), &["check", "w.flow", "--color", "never"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("E0201]: expected `int`, found `string`")
            && out.stderr.contains("the output `size` must be `int`"),
        "{}",
        out.stderr
    );
}

#[test]
fn fmt_keeps_workflow_outputs_and_is_idempotent() {
    let dir = tmp();
    std::fs::write(dir.path().join("w.flow"), OUTPUTS).expect("write");
    let first = flowc_in(dir.path(), &["fmt", "w.flow"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let once = std::fs::read_to_string(dir.path().join("w.flow")).expect("read");
    assert!(
        once.contains(
            "  outputs {\n    /// The image's digest.\n    digest: string = build.digest\n    size: int = build.size + 1\n  }\n"
        ),
        "{once}"
    );
    let check = flowc_in(dir.path(), &["fmt", "--check", "w.flow"]);
    assert_eq!(check.code, 0, "not idempotent: {}", check.stdout);
    let run = flowc_in(
        dir.path(),
        &[
            "run",
            "w.flow",
            "--workflow",
            "release",
            "--log-dir",
            "logs",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// Runs flowc in `dir` to the end, with no journal settings from the environment.
fn run(dir: &Path, args: &[&str]) -> crate::support::Output {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(args)
        .current_dir(dir)
        .env_remove("FLOWC_STATE_DIR")
        .env_remove("FLOWC_JOURNAL")
        .env_remove("FLOWC_FAULT")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("flowc runs");
    crate::support::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// How often each line is in the ledger.
fn ledger(dir: &Path) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for line in std::fs::read_to_string(dir.join("ledger"))
        .unwrap_or_default()
        .lines()
    {
        *counts.entry(line.trim().to_string()).or_insert(0) += 1;
    }
    counts
}

const RESUMABLE: &str = r#"workflow deploy(region: string) {
  step push { run "echo push-${region} >> ledger" }
  step roll after push { run "echo roll-${region} >> ledger; test -e fixed" }
  step check after roll { run "echo check-${region} >> ledger" }
  outputs { state: string = check.status }
}

workflow main() {
  step pre { run "echo pre >> ledger" }
  step eu after pre = deploy(region: "eu")
  step post after eu { run "echo post-${eu.state} >> ledger" }
}
"#;

#[test]
fn resume_reruns_only_the_unfinished_steps_inside_a_sub_workflow() {
    let dir = tmp();
    let dir = dir.path();
    std::fs::write(dir.join("w.flow"), RESUMABLE).expect("write");
    let out = run(dir, &["run", "w.flow", "--workflow", "main"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("step `eu.roll` failed"),
        "{}",
        out.stderr
    );
    std::fs::write(dir.join("fixed"), "").expect("write");
    let out = run(dir, &["resume", "--last"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("run  eu.roll: it failed before"),
        "{}",
        out.stderr
    );
    let counts = ledger(dir);
    assert_eq!(counts.get("pre"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("push-eu"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("roll-eu"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("check-eu"), Some(&1), "{counts:?}");
    // The outputs of the sub-workflow reach the caller after a resume too.
    assert_eq!(counts.get("post-succeeded"), Some(&1), "{counts:?}");
}

#[test]
fn editing_a_step_of_the_called_workflow_reruns_that_inlined_step() {
    let dir = tmp();
    let dir = dir.path();
    std::fs::write(dir.join("fixed"), "").expect("write");
    std::fs::write(dir.join("w.flow"), RESUMABLE).expect("write");
    let out = run(dir, &["run", "w.flow", "--workflow", "main"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let edited = RESUMABLE.replace(
        "echo check-${region} >> ledger",
        "echo check-${region} >> ledger; echo edited",
    );
    std::fs::write(dir.join("w.flow"), edited).expect("write");
    let plan = run(dir, &["resume", "--last", "--plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stderr
            .contains("run  eu.check: its definition or inputs changed"),
        "{}",
        plan.stderr
    );
    assert!(
        !plan.stderr.contains("run  eu.push") && !plan.stderr.contains("run  eu.roll"),
        "{}",
        plan.stderr
    );
    let out = run(dir, &["resume", "--last"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let counts = ledger(dir);
    assert_eq!(counts.get("push-eu"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("roll-eu"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("check-eu"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("post-succeeded"), Some(&2), "{counts:?}");

    // Editing a declared output re-runs the call step that computes it, and its readers.
    let edited = RESUMABLE.replace("check.status", "\"x-${check.status}\"");
    std::fs::write(dir.join("w.flow"), edited).expect("write");
    let out = run(dir, &["resume", "--last"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("run  eu: its definition or inputs changed"),
        "{}",
        out.stderr
    );
    let counts = ledger(dir);
    assert_eq!(counts.get("post-x-succeeded"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("push-eu"), Some(&1), "{counts:?}");
}

const COMMON: &str = r#"let registry = "reg.example"
let repo = "${registry}/app"

task announce(what: string) {
  run "echo announce ${what} at ${registry} >> ledger"
}

/// Deploy to a target.
workflow deploy(target: string, replicas: int = 2, from: string = repo) {
  step push { run "echo push ${from} to ${target} x${replicas} >> ledger" }
  step tell after push = announce(what: target)
  outputs { image: string = "${repo}:${target}" }
}
"#;

#[test]
fn a_workflow_of_an_imported_module_is_inlined_with_its_modules_names() {
    let dir = tmp();
    let dir = dir.path();
    std::fs::create_dir(dir.join("lib")).expect("mkdir");
    std::fs::write(dir.join("lib/common.flow"), COMMON).expect("write");
    // The caller's own `registry` must not leak into the module's steps.
    let text = r#"import "./lib/common.flow" as common

let registry = "wrong"

workflow main() {
  step d = common.deploy(target: "x")
  step after_it { run "echo got ${d.image} >> ledger" }
}
"#;
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let out = run(dir, &["run", "w.flow", "--log-dir", "logs"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("✔ d.push succeeded"), "{}", out.stderr);
    assert!(out.stderr.contains("✔ d.tell succeeded"), "{}", out.stderr);
    let ledger = std::fs::read_to_string(dir.join("ledger")).expect("ledger");
    assert_eq!(
        ledger,
        "push reg.example/app to x x2\nannounce x at reg.example\ngot reg.example/app:x\n"
    );

    let graph = run(dir, &["graph", "w.flow"]);
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    assert!(
        graph
            .stdout
            .contains("  step d.tell\n    <- d.push (after)\n"),
        "{}",
        graph.stdout
    );

    let bad = text.replace("target: \"x\"", "target: 3");
    std::fs::write(dir.join("bad.flow"), bad).expect("write");
    let out = run(dir, &["check", "bad.flow", "--color", "never"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("argument `target` of `common.deploy` must be `string`"),
        "{}",
        out.stderr
    );
}
