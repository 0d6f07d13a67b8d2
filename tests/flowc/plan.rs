//! `flowc plan`: the plan of every example is snapshotted, and inputs from `--var`,
//! `FLOW_VAR_` and vars files change it, with every bad input reported (exit 2).

use std::path::PathBuf;

use crate::support::{root, Flowc, Output};

/// Environment variables the examples read (`env(...)` in defaults and bindings); removed
/// so that the plans do not depend on the machine.
const EXAMPLE_ENV: &[&str] = &[
    "CI_BRANCH",
    "INCIDENT_ID",
    "HELLO_TOKEN",
    "FLOW_VAR_target",
    "FLOW_VAR_regions",
];

/// `flowc plan ARGS...` with the examples' environment removed, and diagnostics wide
/// enough that messages are not wrapped.
fn plan(args: &[&str]) -> Flowc {
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    EXAMPLE_ENV
        .iter()
        .fold(Flowc::new(&all).env("COLUMNS", "200"), |cmd, var| {
            cmd.env_remove(var)
        })
}

fn ok(out: &Output) -> &str {
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "a clean plan prints nothing on stderr");
    &out.stdout
}

/// The line of a step in a plan.
fn step_line<'a>(plan: &'a str, step: &str) -> &'a str {
    plan.lines()
        .find(|l| {
            l.trim_start()
                .split_once(". ")
                .is_some_and(|(_, rest)| rest.split_whitespace().next() == Some(step))
        })
        .unwrap_or_else(|| panic!("no step `{step}` in:\n{plan}"))
}

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .map(|p| p.strip_prefix(root()).expect("under root").to_path_buf())
        .collect();
    files.sort();
    files
}

#[test]
fn plans_of_the_examples() {
    let files = examples();
    assert!(files.len() >= 5, "expected the examples, found {files:?}");
    for rel in files {
        let out = plan(&[&rel.display().to_string()]).run();
        let stem = rel
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        insta::with_settings!({ snapshot_path => "snapshots/plans", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(stem, ok(&out));
        });
    }
}

#[test]
fn a_var_decides_a_condition_and_its_dependents() {
    let out = plan(&["examples/deploy.flow"]).run();
    let staging = ok(&out);
    assert!(
        step_line(staging, "approve_prod")
            .ends_with("when target == \"prod\": false, skipped · timeout 30m"),
        "{staging}"
    );
    let out = plan(&["examples/deploy.flow", "--var", "target=prod"]).run();
    let prod = ok(&out);
    assert!(
        prod.starts_with(
            "workflow deploy (target = \"prod\", regions = [\"eu-west\", \"us-east\"])\n  given: target from --var\n"
        ),
        "{prod}"
    );
    assert!(
        step_line(prod, "approve_prod").contains("when target == \"prod\": true"),
        "{prod}"
    );
    // Only the condition's verdict and the header change.
    let changed: Vec<(&str, &str)> = staging
        .lines()
        .zip(prod.lines().filter(|l| !l.starts_with("  given:")))
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 2, "{changed:?}");
}

#[test]
fn a_skip_propagates_to_readers_of_outputs_compensations_and_fallbacks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("skips.flow");
    std::fs::write(
        &file,
        r#"workflow skips(canary: bool = false) {
  step deploy_canary when canary {
    run "./deploy.sh --canary"
    outputs { version: string }
    on_failure fallback
  }
  step fallback { run "./deploy.sh --stable" }
  step compare { run "./compare.sh ${deploy_canary.version}" }
  step log { run "echo ${deploy_canary.status}" }
  step undo on_failure_of deploy_canary { run "./undo.sh" }
}
"#,
    )
    .expect("written");
    let path = file.display().to_string();
    let out = plan(&[&path]).run();
    let text = ok(&out);
    assert!(
        step_line(text, "deploy_canary").contains("when canary: false, skipped"),
        "{text}"
    );
    assert!(
        step_line(text, "compare")
            .ends_with("reads outputs of deploy_canary · skipped: reads outputs of deploy_canary, which is skipped"),
        "{text}"
    );
    assert!(!step_line(text, "log").contains("skipped"), "{text}");
    for step in ["fallback", "undo"] {
        assert!(
            step_line(text, step).ends_with("skipped: deploy_canary is skipped, so it cannot fail"),
            "{text}"
        );
    }
    let out = plan(&[&path, "--var", "canary=true"]).run();
    assert!(!ok(&out).contains("skipped"), "{}", out.stdout);
}

#[test]
fn an_unknown_var_is_e0430_with_a_suggestion() {
    let out = plan(&["examples/deploy.flow", "--var", "tagret=prod"]).run();
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "", "nothing is planned with bad inputs");
    assert!(
        out.stderr.contains(
            "error[E0430]: unknown parameter `tagret` for workflow `deploy` (given by `--var`)"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("help: did you mean `target`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bad_int_is_e0431_and_every_bad_input_is_reported() {
    let out = plan(&[
        "examples/incident-response.flow",
        "--var",
        "window_minutes=half",
        "--var",
        "servce=api",
    ])
    .run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "error[E0431]: bad value for parameter `window_minutes` from `--var`: \"half\" is not an int"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("error[E0430]"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `service`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_required_value_and_a_bad_vars_file_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("release.flow");
    std::fs::write(
        &file,
        "workflow release(version: string) { step publish { run \"./publish.sh ${version}\" } }\n",
    )
    .expect("written");
    let path = file.display().to_string();
    let out = plan(&[&path]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("error[E0432]: parameter `version` of workflow `release` has no value"),
        "{}",
        out.stderr
    );
    let broken = dir.path().join("vars.json");
    std::fs::write(&broken, "{\"version\": ").expect("written");
    let out = plan(&[&path, "--vars-file", &broken.display().to_string()]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not valid JSON"), "{}", out.stderr);
    assert!(out.stderr.contains("error[E0433]"), "{}", out.stderr);
    let out = plan(&[&path, "--var", "version=1.0"]).run();
    assert!(ok(&out).starts_with("workflow release (version = \"1.0\")\n"));
}

#[test]
fn a_list_var_is_json() {
    let out = plan(&[
        "examples/deploy.flow",
        "--var",
        r#"regions=["eu-west", "us-east", "ap-south"]"#,
    ])
    .run();
    let text = ok(&out);
    assert!(
        text.starts_with(
            "workflow deploy (target = \"staging\", regions = [\"eu-west\", \"us-east\", \"ap-south\"])\n"
        ),
        "{text}"
    );
    assert!(
        step_line(text, "rollout").contains("for region in regions: 3 instances, max 2"),
        "{text}"
    );
    let out = plan(&["examples/deploy.flow", "--var", "regions=eu-west,us-east"]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("is not a JSON array"), "{}", out.stderr);
}

#[test]
fn flow_var_environment_variables_set_parameters() {
    let out = plan(&["examples/deploy.flow"])
        .env("FLOW_VAR_target", "prod")
        .env("FLOW_VAR_regions", r#"["eu-west"]"#)
        .run();
    let text = ok(&out);
    assert!(
        text.starts_with(
            "workflow deploy (target = \"prod\", regions = [\"eu-west\"])\n  given: target from FLOW_VAR_target, regions from FLOW_VAR_regions\n"
        ),
        "{text}"
    );
    assert!(
        step_line(text, "rollout").contains("1 instance, max 2"),
        "{text}"
    );
}

#[test]
fn precedence_is_default_then_file_then_env_then_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vars = dir.path().join("vars.json");
    std::fs::write(
        &vars,
        r#"{"target": "from-file", "regions": ["file-region"]}"#,
    )
    .expect("written");
    let vars = vars.display().to_string();
    let header = |out: &Output| ok(out).lines().take(2).collect::<Vec<_>>().join("\n");

    let out = plan(&["examples/deploy.flow", "--vars-file", &vars]).run();
    assert_eq!(
        header(&out),
        format!("workflow deploy (target = \"from-file\", regions = [\"file-region\"])\n  given: target from {vars}, regions from {vars}")
    );

    let out = plan(&["examples/deploy.flow", "--vars-file", &vars])
        .env("FLOW_VAR_target", "from-env")
        .run();
    assert_eq!(
        header(&out),
        format!("workflow deploy (target = \"from-env\", regions = [\"file-region\"])\n  given: target from FLOW_VAR_target, regions from {vars}")
    );

    let out = plan(&[
        "examples/deploy.flow",
        "--vars-file",
        &vars,
        "--var",
        "target=first-flag",
        "--var",
        "target=last-flag",
    ])
    .env("FLOW_VAR_target", "from-env")
    .run();
    assert_eq!(
        header(&out),
        format!("workflow deploy (target = \"last-flag\", regions = [\"file-region\"])\n  given: target from --var, regions from {vars}")
    );
}

#[test]
fn secrets_are_never_shown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("secret.flow");
    std::fs::write(
        &file,
        "workflow s(token: secret = \"default-token\") { step call { run \"./call.sh\"  env { TOKEN: token } } }\n",
    )
    .expect("written");
    let out = plan(&[&file.display().to_string(), "--var", "token=hunter2"]).run();
    let text = ok(&out);
    assert!(text.starts_with("workflow s (token = ***)\n"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn several_workflows_share_the_vars() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("two.flow");
    std::fs::write(
        &file,
        "workflow a(x: int = 1) { step s { run \"echo ${x}\" } }\nworkflow b(y: int = 2) { step t { run \"echo ${y}\" } }\n",
    )
    .expect("written");
    let path = file.display().to_string();
    let out = plan(&[&path, "--var", "x=5"]).run();
    assert_eq!(
        ok(&out),
        "workflow a (x = 5)\n  given: x from --var\n  1. s\n\nworkflow b (y = 2)\n  1. t\n"
    );
    let out = plan(&[&path, "--var", "z=5"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("unknown parameter `z` for workflows `a`, `b`"),
        "{}",
        out.stderr
    );
    let out = plan(&[&path, "--workflow", "b", "--var", "x=5"]).run();
    assert_eq!(out.code, 2, "x is not a parameter of b");
    let out = plan(&[&path, "--workflow", "c"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("E0603") && out.stderr.contains("has no workflow `c`"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_broken_file_exits_1_and_plans_nothing() {
    let out = plan(&["examples/broken/cycle.flow"]).run();
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("error[E0301]"), "{}", out.stderr);
    let out = plan(&["no/such/file.flow"]).run();
    assert_eq!(out.code, 2);
}

/// Issue 14, defect 11: with several `defaults` blocks, `flowc plan` showed only the last
/// one's attributes, hiding an `on_failure continue` that the run applies. The plan shows
/// the attributes the run merges: the step's, its task's, then every `defaults` block's.
#[test]
fn the_plan_shows_what_every_defaults_block_gives() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("defaults.flow");
    std::fs::write(
        &file,
        r#"workflow w(limit: duration = 5m) {
  defaults { on_failure continue  max_parallel 2 }
  step a { run "./a.sh" }
  defaults { timeout limit  retry 2 backoff exponential(1s, max: 10s) }
  step b { run "./b.sh"  timeout 1m  on_failure fail_fast }
}
"#,
    )
    .expect("written");
    let out = plan(&[&file.display().to_string()]).run();
    let text = ok(&out);
    assert!(text.contains("\n  max_parallel 2\n"), "{text}");
    let a = step_line(text, "a");
    assert!(a.contains("retry 2 (exponential 1s, max 10s)"), "{text}");
    assert!(a.contains("timeout 5m"), "{text}");
    assert!(a.ends_with("on_failure continue"), "{text}");
    let b = step_line(text, "b");
    assert!(b.contains("timeout 1m"), "{text}");
    assert!(!b.contains("on_failure"), "{text}");
}
