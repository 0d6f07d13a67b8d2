//! What the run reads from the resolved program, through the real binary (issue 14): names
//! of imported modules resolve by the module's identity, not by how its path is spelt;
//! named retry policies and task parameter defaults come from the module that defines
//! them; the run uses the attributes `flowc check` merged.

use std::path::Path;

use crate::support::{Flowc, Output};

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
