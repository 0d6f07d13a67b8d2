//! Sub-workflows beyond the basics: declared outputs typed at the call site, calls of
//! workflows from imported modules, and resuming inside an inlined sub-workflow.

use std::path::Path;

use crate::support::Flowc;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

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
        &["run", "w.flow", "--workflow", "release", "--log-dir", "logs"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("show | got sha-web 86"),
        "{}",
        out.stderr
    );

    let plan = flowc_in(dir.path(), &["plan", "w.flow", "--workflow", "release"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains("after img.build · reads outputs of img.build · outputs digest: string, size: int"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("show       reads outputs of img"), "{}", plan.stdout);
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
    assert!(out.stderr.contains("did you mean `digest`?"), "{}", out.stderr);
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
        out.stderr.contains("E0201]: expected `int`, found `string`")
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
        &["run", "w.flow", "--workflow", "release", "--log-dir", "logs"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}
