//! What the run reads from the resolved program, through the real binary (issue 14): names
//! of imported modules resolve by the module's identity, not by how its path is spelt;
//! named retry policies and task parameter defaults come from the module that defines
//! them; the run uses the attributes `flowc check` merged.

use std::path::Path;

use crate::support::{json_lines, Flowc, Output};

/// Writes `files` (path, text) under a new directory and runs `main` from there, with
/// `extra` arguments.
fn run_files(files: &[(&str, &str)], main: &str, extra: &[&str]) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let path = dir.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }
    let mut args = vec!["run", main, "--log-dir", "logs"];
    args.extend_from_slice(extra);
    let out = Flowc::new(&args)
        .dir(dir.path())
        .env_remove("FLOWC_STATE_DIR")
        .env("NO_COLOR", "1")
        .run();
    (dir, out)
}

fn lines(dir: &Path, file: &str) -> usize {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .lines()
        .count()
}

/// Defect 3: `a.NAME` read the constant of `ba.flow` when both were imported, because
/// aliases were matched to modules by the suffix of their path.
#[test]
fn an_alias_reads_its_own_module_not_one_whose_path_ends_alike() {
    let (_dir, out) = run_files(
        &[
            ("ba.flow", "let name = \"from-ba\"\n"),
            ("a.flow", "let name = \"from-a\"\n"),
            (
                "w.flow",
                "import \"./ba.flow\" as ba\nimport \"./a.flow\" as a\nworkflow w {\n  step s { run \"echo got ${a.name} and ${ba.name}\" }\n}\n",
            ),
        ],
        "w.flow",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("got from-a and from-ba"),
        "{}",
        out.stderr
    );
}

/// Defect 4: with `import "../lib.flow"`, a constant of it failed the run after a clean
/// check, and `retry p.twice` (a policy of it) silently ran once.
#[test]
fn a_parent_directory_module_gives_its_constants_and_policies() {
    let (dir, out) = run_files(
        &[
            (
                "lib.flow",
                "let greeting = \"hello-from-lib\"\npolicy twice { retry 2 backoff fixed(10ms) }\n",
            ),
            (
                "sub/w.flow",
                "import \"../lib.flow\" as p\nworkflow w {\n  step s { run \"echo ${p.greeting}\" }\n  step f after s { run \"echo try >> tries && exit 3\"  retry p.twice }\n}\n",
            ),
        ],
        "sub/w.flow",
        &[],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("hello-from-lib"), "{}", out.stderr);
    assert_eq!(lines(dir.path(), "tries"), 3, "{}", out.stderr);
}

/// Defect 5: a task parameter default that reads a constant of the task's module passed
/// check and failed the run.
#[test]
fn a_task_parameter_default_reads_its_module_constant() {
    let (_dir, out) = run_files(
        &[
            (
                "lib.flow",
                "let base = \"the-default\"\ntask show(v: string = \"${base}!\") { run \"echo v=${v}\" }\n",
            ),
            (
                "w.flow",
                "import \"./lib.flow\" as l\nworkflow w {\n  step s = l.show()\n  step t = l.show(v: \"given\")\n}\n",
            ),
        ],
        "w.flow",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("v=the-default!"), "{}", out.stderr);
    assert!(out.stderr.contains("v=given"), "{}", out.stderr);
}

/// Defect 2: `workflow.name` in an ordinary step (and `workflow.run_id` in a call
/// argument) checked clean, then failed the run with "not known before the run".
#[test]
fn workflow_fields_are_known_to_every_step() {
    let (_dir, out) = run_files(
        &[
            ("lib.flow", "task show(v: string) { run \"echo v=${v}\" }\n"),
            (
                "w.flow",
                "import \"./lib.flow\" as l\nworkflow release {\n  step s { run \"echo name=${workflow.name} status=${workflow.status}\" }\n  step t = l.show(v: \"id-${len(workflow.run_id) > 0}\")\n  finally step f { run \"echo final=${workflow.status}\" }\n}\n",
            ),
        ],
        "w.flow",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("name=release status=running"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("v=id-true"), "{}", out.stderr);
    assert!(out.stderr.contains("final=succeeded"), "{}", out.stderr);
}

/// Defect 1: `defaults { max_parallel 1 }` was ignored by the run (two steps started
/// together, and `--max-parallel 8` ran eight at once). The file's limit and the flag's
/// both hold.
#[test]
fn the_files_max_parallel_bounds_the_run() {
    let step = |name: &str| {
        format!("  step {name} {{ run \"echo {name}-start >> log && sleep 0.3 && echo {name}-end >> log\" }}\n")
    };
    let text = format!(
        "workflow w {{\n  defaults {{ max_parallel 1 }}\n{}{}{}}}\n",
        step("a"),
        step("b"),
        step("c")
    );
    let (dir, out) = run_files(&[("w.flow", &text)], "w.flow", &["--max-parallel", "8"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let log = std::fs::read_to_string(dir.path().join("log")).expect("log");
    let events: Vec<&str> = log.lines().collect();
    assert_eq!(events.len(), 6, "{log}");
    // One at a time: every start is followed by its own end.
    for pair in events.chunks(2) {
        let started = pair[0].strip_suffix("-start").expect("a start");
        assert_eq!(pair[1], format!("{started}-end"), "{log}");
    }
}

/// Defect 6: a workflow of an imported module that reads its own import (a constant and a
/// named policy of it) gave a false E0101 at a line past the end of the calling file, and
/// W0004. Calls are now inlined on the resolved program, where its names are its module's.
#[test]
fn an_imported_workflow_reads_its_own_imports() {
    let files = [
        (
            "lib/util.flow",
            "let suffix = \"from-util\"\npolicy twice { retry 2 backoff fixed(10ms) }\n",
        ),
        (
            "lib/region.flow",
            "import \"./util.flow\" as u\n/// One region.\nworkflow region(r: string) {\n  step push { run \"echo push ${r}-${u.suffix}\" }\n  step flaky after push { run \"echo try >> tries && test $(wc -l < tries) -ge 3\"  retry u.twice }\n}\n",
        ),
        (
            "w.flow",
            "import \"./lib/region.flow\" as reg\nworkflow w {\n  step eu = reg.region(r: \"eu\")\n  step after_eu after eu { run \"echo after ${eu.status}\" }\n}\n",
        ),
    ];
    let (dir, out) = run_files(&files, "w.flow", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("W0004"), "{}", out.stderr);
    assert!(out.stderr.contains("push eu-from-util"), "{}", out.stderr);
    assert!(out.stderr.contains("after succeeded"), "{}", out.stderr);
    // The policy of the module's own import: three attempts.
    assert_eq!(lines(dir.path(), "tries"), 3, "{}", out.stderr);
    let check = Flowc::new(&["check", "w.flow"]).dir(dir.path()).run();
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(!check.stderr.contains("W0004"), "{}", check.stderr);
}

/// A call marked `finally` runs the whole called workflow at the end, after a failure too;
/// a call with `on_failure_of` runs it only when the step it compensates failed.
#[test]
fn finally_and_compensating_calls_run_the_called_workflow() {
    let text = r#"workflow note(what: string) {
  step first { run "echo ${what}-1 >> ledger" }
  step second after first { run "echo ${what}-2 >> ledger" }
}

workflow w(fail: bool = true) {
  step ok { run "echo ok >> ledger" }
  step deploy after ok { run "echo deploy >> ledger && test ${fail} = false" }
  step undo_ok on_failure_of ok = note(what: "undo-ok")
  step undo on_failure_of deploy = note(what: "undo")
  finally step cleanup = note(what: "cleanup")
}
"#;
    let (dir, out) = run_files(&[("w.flow", text)], "w.flow", &["--workflow", "w"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let ledger = std::fs::read_to_string(dir.path().join("ledger")).expect("ledger");
    assert_eq!(
        ledger, "ok\ndeploy\nundo-1\nundo-2\ncleanup-1\ncleanup-2\n",
        "{}",
        out.stderr
    );
    let graph = Flowc::new(&["graph", "w.flow", "--workflow", "w"])
        .dir(dir.path())
        .run();
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    for part in [
        "  step undo.second\n    <- deploy (compensates)\n    <- undo.first (after)\n",
        "  step undo\n    <- deploy (compensates)\n    <- undo.second (after)\n",
        "  step cleanup [finally]\n    <- undo_ok (finally)\n    <- undo (finally)\n    <- cleanup.second (after)\n",
    ] {
        assert!(graph.stdout.contains(part), "{part}\n{}", graph.stdout);
    }

    let (dir, out) = run_files(
        &[("w.flow", text)],
        "w.flow",
        &["--workflow", "w", "--var", "fail=false"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ledger = std::fs::read_to_string(dir.path().join("ledger")).expect("ledger");
    assert_eq!(
        ledger, "ok\ndeploy\ncleanup-1\ncleanup-2\n",
        "{}",
        out.stderr
    );
}

/// In an inlined step, its own setting wins, then the call step's, then the called
/// workflow's `defaults`, then the caller's.
#[test]
fn a_call_steps_attributes_come_before_the_called_workflows_defaults() {
    let text = r#"workflow inner() {
  defaults { retry 1 backoff fixed(10ms) }
  step by_call { run "echo a >> by_call && exit 3" }
  step by_own { run "echo b >> by_own && exit 3"  retry 3 backoff fixed(10ms) }
}

workflow w() {
  defaults { on_failure continue }
  step c = inner() { retry 2 backoff fixed(10ms) }
}
"#;
    let (dir, out) = run_files(&[("w.flow", text)], "w.flow", &["--workflow", "w"]);
    // The caller's `on_failure continue` lets both failures through.
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(dir.path(), "by_call"), 3, "{}", out.stderr);
    assert_eq!(lines(dir.path(), "by_own"), 4, "{}", out.stderr);
}

const EACH: &str = r#"workflow region(r: string, canary: bool = false) {
  step push {
    run "echo push ${r} >> ledger && test -e ok-${r} && echo digest=d-${r} > $FLOW_OUTPUT"
    outputs { digest: string }
  }
  step roll after push when !canary { run "echo roll ${r} ${push.digest} >> ledger" }
  outputs { digest: string = push.digest }
}

workflow main(rs: list<string> = ["eu", "us", "ap"]) {
  step each for r in rs max 2 = region(r: r, canary: r == "us")
  step report after each { run "echo got ${len(each.digest)} digests, second ${each.digest[1]}" }
}
"#;

/// The ledger's lines, sorted (instances run in parallel).
fn sorted_lines(dir: &Path, file: &str) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// Defect 7: a workflow called with `for` passed check and plan, then failed the run
/// ("not supported yet"). Each inner step now fans out over the call's list and reads the
/// same instance of the others; its own `when` is decided per instance.
#[test]
fn a_workflow_called_with_for_runs_once_per_element() {
    let (dir, out) = run_files(
        &[
            ("w.flow", EACH),
            ("ok-eu", ""),
            ("ok-us", ""),
            ("ok-ap", ""),
        ],
        "w.flow",
        &["--workflow", "main"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        sorted_lines(dir.path(), "ledger"),
        [
            "push ap",
            "push eu",
            "push us",
            "roll ap d-ap",
            "roll eu d-eu"
        ],
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("⤼ each.roll[1] skipped: its condition is false"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("got 3 digests, second d-us"),
        "{}",
        out.stderr
    );
    let graph = Flowc::new(&["graph", "w.flow", "--workflow", "main"])
        .dir(dir.path())
        .run();
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    assert!(
        graph.stdout.contains(
            "  step each.roll [fan-out]\n    when each instance: !(r == \"us\")\n    <- each.push (per instance)\n"
        ),
        "{}",
        graph.stdout
    );
    let plan = Flowc::new(&["plan", "w.flow", "--workflow", "main"])
        .dir(dir.path())
        .run();
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains(
            "each.roll  after each.push · reads outputs of each.push · per instance: each.push[i] → each.roll[i] · for r in rs: 3 instances, max 2 · each instance when !canary"
        ),
        "{}",
        plan.stdout
    );
}

/// One instance failing under `continue`: the same instance of the steps that read its
/// outputs is skipped, the other instances go on, and the call has no list of outputs
/// (it would not line up with the list), so its readers are skipped.
#[test]
fn a_failed_instance_of_a_for_call_skips_only_its_own_readers() {
    let text = EACH.replace(
        "workflow main(rs: list<string> = [\"eu\", \"us\", \"ap\"]) {\n",
        "workflow main(rs: list<string> = [\"eu\", \"us\", \"ap\"]) {\n  defaults { on_failure continue }\n",
    );
    let (dir, out) = run_files(
        &[("w.flow", &text), ("ok-eu", ""), ("ok-us", "")],
        "w.flow",
        &["--workflow", "main"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        sorted_lines(dir.path(), "ledger"),
        ["push ap", "push eu", "push us", "roll eu d-eu"],
        "{}",
        out.stderr
    );
    for line in [
        "⤼ each.roll[2] skipped: it reads an output of `each.push[2]`, which has none",
        "⤼ each[2] skipped: it reads an output of `each.push[2]`, which has none",
        "⤼ report skipped",
    ] {
        assert!(out.stderr.contains(line), "{line}\n{}", out.stderr);
    }
}

/// A run of a `for` call that failed in one instance resumes without redoing the
/// instances and steps that finished.
#[test]
fn a_for_call_resumes_without_redoing_finished_instances() {
    // One instance at a time, so that `ap` fails after `eu` and `us` have finished (under
    // fail_fast a failure cancels the instances still running, which then run again).
    let text = EACH.replace("max 2", "max 1");
    let (dir, out) = run_files(
        &[("w.flow", &text), ("ok-eu", ""), ("ok-us", "")],
        "w.flow",
        &["--workflow", "main"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    std::fs::write(dir.path().join("ok-ap"), "").expect("write");
    let resumed = Flowc::new(&["resume"])
        .dir(dir.path())
        .env_remove("FLOWC_STATE_DIR")
        .env("NO_COLOR", "1")
        .run();
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let ledger = sorted_lines(dir.path(), "ledger");
    // `eu` and `us` pushed once; `ap` failed, then pushed again.
    assert_eq!(
        ledger.iter().filter(|l| l.starts_with("push ")).count(),
        4,
        "{ledger:?}"
    );
    assert!(ledger.contains(&"roll ap d-ap".to_string()), "{ledger:?}");
    assert!(
        resumed.stderr.contains("got 3 digests, second d-us"),
        "{}",
        resumed.stderr
    );
}

/// The run keeps every order `flowc graph` shows: for each edge, the step it leads to is
/// decided (started or skipped) only after the step it comes from has ended. One workflow
/// with every kind of edge, calls of workflows included.
#[test]
fn the_run_keeps_every_edge_the_graph_shows() {
    let text = r#"workflow part(tag: string) {
  step a { run "echo ${tag}-a" }
  step b after a { run "echo ${tag}-b" }
  outputs { said: string = b.stdout }
}

workflow w(items: list<string> = ["x", "y", "z"]) {
  defaults { on_failure continue }
  step prep {
    run "sh -c 'echo n=3 > $FLOW_OUTPUT'"
    outputs { n: int }
  }
  step flaky after prep { run "exit 4"  on_failure rescue }
  step rescue { run "echo rescued" }
  step undo on_failure_of flaky { run "echo undo" }
  step one = part(tag: "t${prep.n}")
  step each for i in items = part(tag: i)
  step use after one, each { run "echo ${one.said} ${len(each.said)}" }
  finally step bye = part(tag: "end")
}
"#;
    let (dir, out) = run_files(
        &[("w.flow", text)],
        "w.flow",
        &["--workflow", "w", "--events", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let graph = Flowc::new(&["graph", "w.flow", "--workflow", "w", "--format", "json"])
        .dir(dir.path())
        .run();
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    let graphs: serde_json::Value = serde_json::from_str(&graph.stdout).expect("graph json");
    let edges = graphs[0]["edges"].as_array().expect("edges").clone();
    assert!(edges.len() > 20, "{edges:?}");
    let kinds: std::collections::BTreeSet<&str> =
        edges.iter().filter_map(|e| e["kind"].as_str()).collect();
    for kind in [
        "after",
        "data",
        "fallback",
        "compensates",
        "finally",
        "instance",
    ] {
        assert!(kinds.contains(kind), "no {kind} edge: {kinds:?}");
    }
    // For each step: the first event deciding it, and the event ending it.
    let mut decided: std::collections::HashMap<String, usize> = Default::default();
    let mut ended: std::collections::HashMap<String, usize> = Default::default();
    for (k, event) in json_lines(&out.stdout).into_iter().enumerate() {
        let Some(step) = event["step"].as_str() else {
            continue;
        };
        let step = step.split('[').next().unwrap_or(step).to_string();
        match event["event"].as_str() {
            Some("step_started") => {
                decided.entry(step).or_insert(k);
            }
            Some("step_skipped") => {
                decided.entry(step.clone()).or_insert(k);
                ended.entry(step).or_insert(k);
            }
            Some("step_finished") => {
                ended.insert(step, k);
            }
            _ => {}
        }
    }
    for e in &edges {
        let from = e["from"].as_str().expect("from");
        let to = e["to"].as_str().expect("to");
        // (A call's join step starts nothing, so its end is its first event.)
        let start = decided.get(to).or_else(|| ended.get(to));
        // The steps of a call with `for` go with each other instance by instance: the
        // later one is decided once the earlier one has started (each of its instances
        // then waits for its own, which tests/flowc/matrix.rs checks).
        if e["kind"] == "instance" {
            let first = decided.get(from).or_else(|| ended.get(from));
            let (Some(&first), Some(&start)) = (first, start) else {
                panic!("{from} -> {to}: not both in the events\n{}", out.stdout);
            };
            assert!(
                first < start,
                "{from} -> {to} (instance): not kept\n{}",
                out.stdout
            );
            continue;
        }
        let (Some(&done), Some(&start)) = (ended.get(from), start) else {
            panic!("{from} -> {to}: not both in the events\n{}", out.stdout);
        };
        assert!(
            done < start,
            "{from} -> {to} ({}): not kept\n{}",
            e["kind"],
            out.stdout
        );
    }
}
