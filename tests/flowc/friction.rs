//! Everyday command-line behaviour: `flowc check DIR` takes a directory as `flowc fmt DIR`
//! does, `flowc runs` and `flowc status` print their tables on stdout (so that `flowc runs |
//! grep` works), and a `.flow/` state directory flowc creates is ignored by git.
//! (`flowc fmt --diff` without `--check` is in fmt.rs.)

use std::path::Path;
use std::process::Command;

use crate::support::{flowc_in, json_lines, tmp, Flowc};

const GOOD: &str = "workflow w {\n  step s { run \"true\" }\n}\n";
const TYPO: &str =
    "workflow w {\n  step s { run \"true\" }\n  step t after z { run \"true\" }\n}\n";

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

#[test]
fn check_takes_a_directory_as_fmt_does() {
    let dir = tmp();
    let d = dir.path();
    write(
        d,
        &[
            ("src/good.flow", GOOD),
            ("src/typo.flow", TYPO),
            ("src/notes.txt", TYPO),
            // Not read: a subdirectory's files, hidden files (as for `flowc fmt`).
            ("src/sub/deeper.flow", TYPO),
            ("src/.hidden.flow", TYPO),
        ],
    );
    let out = Flowc::new(&["check", "src"])
        .dir(d)
        .env("NO_COLOR", "1")
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("╭─[src/typo.flow:3:16]"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.ends_with("checked 2 files: 1 error\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("deeper") && !out.stderr.contains("hidden"));
    // The same files `flowc fmt` takes from the directory.
    let fmt = Flowc::new(&["fmt", "--check", "src"]).dir(d).run();
    assert!(fmt.stderr.starts_with("checked 2 files:"), "{}", fmt.stderr);
    // Machine output names each file as found.
    let json = Flowc::new(&["check", "--format", "json", "src", "src/good.flow"])
        .dir(d)
        .run();
    let diags = json_lines(&json.stdout);
    assert_eq!(diags.len(), 1, "{}", json.stdout);
    assert_eq!(diags[0]["file"], "src/typo.flow");
    assert_eq!(diags[0]["code"], "E0102");
    // A directory without `.flow` files is a warning, not an error.
    std::fs::create_dir(d.join("empty")).expect("mkdir");
    let out = Flowc::new(&["check", "empty"]).dir(d).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "warning: no .flow files in `empty`\nchecked 0 files: no problems found\n"
    );
}

/// Runs a workflow that fails, journaled in `dir/.flow`; gives its run id.
fn failed_run(dir: &Path) -> String {
    write(
        dir,
        &[(
            "w.flow",
            "workflow w {\n  step ok { run \"true\" }\n  step bad after ok { run \"exit 3\" }\n}\n",
        )],
    );
    let out = flowc_in(dir, &["run", "w.flow", "--events", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    json_lines(&out.stdout)[0]["run_id"]
        .as_str()
        .expect("run id")
        .to_string()
}

#[test]
fn runs_and_status_print_their_tables_on_stdout() {
    let dir = tmp();
    let d = dir.path();
    let out = flowc_in(d, &["runs"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    assert!(
        out.stderr.starts_with("no runs in"),
        "a message: {}",
        out.stderr
    );

    let id = failed_run(d);
    let runs = flowc_in(d, &["runs"]);
    assert_eq!(runs.code, 0, "{}", runs.stderr);
    assert_eq!(runs.stderr, "");
    let mut lines = runs.stdout.lines();
    assert!(
        lines.next().is_some_and(|h| h.starts_with("id ")),
        "{}",
        runs.stdout
    );
    let row = lines.next().unwrap_or_default();
    assert!(row.starts_with(&id) && row.contains(" failed "), "{row}");

    // `flowc runs | grep ID`, through a real pipe.
    let piped = Command::new("sh")
        .args(["-c", "\"$1\" runs | grep -F -- \"$2\"", "sh"])
        .arg(env!("CARGO_BIN_EXE_flowc"))
        .arg(&id)
        .current_dir(d)
        .env_remove("FLOWC_STATE_DIR")
        .output()
        .expect("sh runs");
    assert_eq!(piped.status.code(), Some(0), "grep found nothing");
    assert_eq!(String::from_utf8_lossy(&piped.stdout), format!("{row}\n"));

    let status = flowc_in(d, &["status", &id]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(status.stderr, "");
    let text = &status.stdout;
    assert!(
        text.starts_with(&format!("run {id}: workflow `w` of ")),
        "{text}"
    );
    assert!(text.contains("\nok    succeeded"), "{text}");
    assert!(text.contains("\nbad   failed"), "{text}");
    assert!(
        text.contains("error[E0460]: step `bad` failed: exit code 3\n  help: "),
        "{text}"
    );
    // Errors stay on stderr.
    let missing = flowc_in(d, &["status", "nosuchrun"]);
    assert_eq!((missing.code, missing.stdout.as_str()), (2, ""));
    assert!(missing.stderr.contains("E0507"), "{}", missing.stderr);
}

#[test]
fn a_state_directory_flowc_creates_is_ignored_by_git() {
    let dir = tmp();
    let d = dir.path();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(d)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    git(&["init", "-q"]);
    failed_run(d);
    let ignore = std::fs::read_to_string(d.join(".flow/.gitignore")).expect(".gitignore");
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
    // Journals and logs are there, and git sees only the workflow.
    assert!(d.join(".flow/runs").is_dir() && d.join(".flow/logs").is_dir());
    assert_eq!(
        git(&["status", "--porcelain", "--untracked-files=all"]),
        "?? w.flow\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.join(".flow"))
        .expect("made")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "private to its owner");

    // One that exists is left as it is: its `.gitignore` is not rewritten, and none is
    // added to a `.flow/` made by someone else.
    std::fs::write(d.join(".flow/.gitignore"), "runs/\n").expect("own rules");
    failed_run(d);
    assert_eq!(
        std::fs::read_to_string(d.join(".flow/.gitignore")).expect("kept"),
        "runs/\n"
    );
    let other = tmp();
    std::fs::create_dir(other.path().join(".flow")).expect("mkdir");
    failed_run(other.path());
    assert!(!other.path().join(".flow/.gitignore").exists());

    // A state directory elsewhere gets one when it is a `.flow/`, and only then.
    let elsewhere = tmp();
    write(elsewhere.path(), &[("w.flow", GOOD)]);
    for state in ["state/.flow/runs", "plain/runs"] {
        let out = Flowc::new(&["run", "w.flow", "--state-dir", state, "--log-dir", "logs"])
            .dir(elsewhere.path())
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let has = |p: &str| elsewhere.path().join(p).exists();
    assert!(has("state/.flow/.gitignore") && has("state/.flow/runs"));
    assert!(has("plain/runs") && !has("plain/.gitignore") && !has("plain/runs/.gitignore"));
    assert!(!has(".flow"), "logs went to --log-dir, runs to --state-dir");
}
