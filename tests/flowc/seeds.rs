//! The seed examples of issue 16 run end to end through the binary, each in a directory
//! of its own (its state beside it): a cost scan with a dry-run default and an approval
//! gate, a container pipeline with error routes, a priority batch with failure budgets,
//! and an approval chain that escalates on timeout. Outcomes are observed through exit
//! codes, what the steps printed, `--events json` and `flowc status`, never timing.

use std::path::Path;

use crate::support::{
    flowc_in, json_lines, root, run_id, status, step, tmp, wait_for_deadline, Output,
};

/// Copies `examples/NAME.flow` into `dir` and runs `flowc ARGS` on it there.
fn example(dir: &Path, name: &str, args: &[&str]) -> Output {
    let file = format!("{name}.flow");
    std::fs::copy(root().join("examples").join(&file), dir.join(&file)).expect("copy");
    let mut all = vec![args[0], file.as_str()];
    all.extend_from_slice(&args[1..]);
    flowc_in(dir, &all)
}

/// The steps and instances in the order they started, from `--events json`.
fn started(stdout: &str) -> Vec<String> {
    json_lines(stdout)
        .iter()
        .filter(|e| e["event"] == "step_started")
        .map(|e| e["step"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The run id of `--events json` output.
fn run_of(stdout: &str) -> String {
    json_lines(stdout)[0]["run_id"]
        .as_str()
        .expect("run_started first")
        .to_string()
}

/// What the steps printed, a line each, from `--events json`.
fn printed(stdout: &str) -> Vec<String> {
    json_lines(stdout)
        .iter()
        .filter(|e| e["event"] == "output")
        .map(|e| e["line"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_cost_scan_is_a_dry_run_by_default_and_applies_only_after_approval() {
    let dir = tmp();
    let dir = dir.path();
    let out = example(dir, "cost-scan", &["run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("dry run, nothing changed: monthly savings per region eu us ap: [219,0,146]"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("⤼ apply_gate skipped"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("stopping"), "{}", out.stderr);

    // Not a dry run: without a terminal the run waits at the gate, changing nothing.
    let out = example(dir, "cost-scan", &["run", "--var", "dry_run=false"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("is waiting for approval of `apply_gate`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("stopping"), "{}", out.stderr);
    let id = run_id(&out.stderr);
    let ok = flowc_in(dir, &["approve", &id, "apply_gate", "--as", "ana"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let out = flowc_in(dir, &["resume", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Only the regions with idle machines are changed, each once.
    for line in [
        "stopping 3 idle machines in eu",
        "stopping 2 idle machines in ap",
    ] {
        assert_eq!(
            out.stderr.matches(line).count(),
            1,
            "{line}: {}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("machines in us"), "{}", out.stderr);
    assert!(out.stderr.contains("⤼ apply[1] skipped"), "{}", out.stderr);
    let s = status(dir, &id);
    assert_eq!(step(&s, "apply_gate")["decisions"][0]["by"], "ana", "{s}");
}

#[test]
fn the_container_pipeline_routes_each_kind_of_failure() {
    let dir = tmp();
    let dir = dir.path();
    let run = |fault: &str| {
        let var = format!("fault={fault}");
        example(
            dir,
            "container-pipeline",
            &["run", "--var", &var, "--events", "json"],
        )
    };

    let out = run("none");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let order = started(&out.stdout);
    let test: Vec<&String> = order.iter().filter(|s| s.starts_with("test[")).collect();
    assert_eq!(
        test,
        ["test[0,0]", "test[0,1]", "test[1,0]", "test[1,1]"],
        "{order:?}"
    );
    assert!(!order
        .iter()
        .any(|s| s == "validate_dockerfile" || s == "quarantine"));
    let lines = printed(&out.stdout);
    assert!(
        lines.iter().any(|l| l == "pushed shop/web:1.8.0"),
        "{lines:?}"
    );

    // A Dockerfile error goes to its own step, which fails the run with the reason.
    let out = run("dockerfile");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let routes: Vec<serde_json::Value> = (json_lines(&out.stdout).into_iter())
        .filter(|e| e["event"] == "route_taken")
        .collect();
    assert_eq!(routes.len(), 1, "{routes:?}");
    assert_eq!(routes[0]["step"], "build");
    assert_eq!(routes[0]["to"], "validate_dockerfile");
    assert_eq!(routes[0]["condition"], "build.exit_code == 2");
    let lines = printed(&out.stdout);
    assert!(
        (lines.iter()).any(|l| l.ends_with("fix the instruction on line 3")),
        "{lines:?}"
    );
    let order = started(&out.stdout);
    assert_eq!(
        order,
        ["workspace", "build", "validate_dockerfile"],
        "{order:?}"
    );

    // A busy registry (exit 75) is retried until it answers; nothing else is.
    let out = run("registry");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let s = status(dir, &run_of(&out.stdout));
    assert_eq!(step(&s, "push")["attempts"], 3, "{s}");
    assert_eq!(step(&s, "smoke")["status"], "succeeded", "{s}");

    // A flaky suite (exit 3) is quarantined, and the pipeline goes on.
    let out = run("flaky_test");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let s = status(dir, &run_of(&out.stdout));
    assert_eq!(step(&s, "test")["status"], "failed", "{s}");
    assert_eq!(step(&s, "quarantine")["status"], "succeeded", "{s}");
    assert_eq!(step(&s, "push")["status"], "succeeded", "{s}");
    // The retries of `push` count in its working directory, beside the workflow.
    assert!(dir.join(".flow/pipeline-work").is_dir());
}

#[test]
fn the_priority_batch_starts_by_priority_and_stops_at_its_failure_budgets() {
    let dir = tmp();
    let dir = dir.path();
    // One slot: the start order is the priorities' (fetch 10, invoices 9, the jobs 5 in
    // list order, summary 8 once they have ended, cleanup -1), and after the second
    // failed job (`sitemap`, the seventh) the eighth never starts.
    let out = example(
        dir,
        "priority-batch",
        &["run", "--max-parallel", "1", "--events", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let order = started(&out.stdout);
    let mut expected = vec!["fetch".to_string(), "invoices".to_string()];
    expected.extend((0..7).map(|k| format!("process[{k}]")));
    expected.extend(["summary", "cleanup", "report"].map(String::from));
    assert_eq!(order, expected, "{}", out.stderr);
    assert_eq!(
        printed(&out.stdout).last().map(String::as_str),
        Some("batch succeeded")
    );

    // The plan lists the same order.
    let plan = example(dir, "priority-batch", &["plan"]);
    let names: Vec<&str> = (plan.stdout.lines())
        .filter_map(|l| l.trim_start().split_once(". ").map(|(_, r)| r))
        .filter_map(|r| r.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        ["fetch", "invoices", "process", "summary", "cleanup", "report"],
        "{}",
        plan.stdout
    );

    // Three failed jobs spend the run's budget: nothing new starts, the run fails, and
    // the finally step still reports it.
    let out = example(
        dir,
        "priority-batch",
        &[
            "run",
            "--max-parallel",
            "1",
            "--var",
            "job_budget=8",
            "--var",
            r#"broken=["payroll","audit","search"]"#,
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the run's failure budget is spent (max_failures 3)"),
        "{}",
        out.stderr
    );
    let s = status(dir, &run_id(&out.stderr));
    assert_eq!(step(&s, "summary")["status"], "skipped", "{s}");
    // Ready and waiting for the one slot when the budget was spent: never started.
    assert_eq!(step(&s, "cleanup")["status"], "cancelled", "{s}");
    assert_eq!(step(&s, "process")["attempts"], 6, "{s}");
    assert!(out.stderr.contains("batch failed"), "{}", out.stderr);
    assert!(!out.stderr.contains("running sitemap"), "{}", out.stderr);
}

#[test]
fn the_approval_chain_escalates_after_the_deadline_and_names_the_approver() {
    let dir = tmp();
    let dir = dir.path();
    let out = example(dir, "approval-chain", &["run", "--var", "sign_off_wait=1s"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("is waiting for approval of `sign_off`"),
        "{}",
        out.stderr
    );
    let id = run_id(&out.stderr);
    wait_for_deadline(dir, &id, "sign_off");
    // The resume takes the timeout route: the second level waits, and `publish` waits
    // with it, undecided.
    let out = flowc_in(dir, &["resume", &id]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("is waiting for approval of `escalate`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("publish skipped"), "{}", out.stderr);
    assert!(!out.stderr.contains("published"), "{}", out.stderr);
    let ok = flowc_in(
        dir,
        &[
            "approve",
            &id,
            "escalate",
            "--as",
            "dana",
            "--comment",
            "ship it",
        ],
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let out = flowc_in(dir, &["resume", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("published v2.4.0"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("release v2.4.0 succeeded, approved by dana"),
        "{}",
        out.stderr
    );
}
