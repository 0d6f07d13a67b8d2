//! `flowc fmt`: on every example and UI fixture that parses, formatting is idempotent,
//! gives back the same tree (spans aside) and keeps every comment, in order; the examples
//! are formatted; where comments land is snapshotted; and the command's `--check`,
//! `--diff`, stdin, directories, exit codes and writes behave as documented.

use std::path::{Path, PathBuf};

use flowc::source::{SourceFile, SourceId};

use crate::support::{root, Flowc};

fn parse(text: &str) -> Option<flowc::ast::File> {
    flowc::parse::parse(SourceId(0), &SourceFile::new("t.flow", None, text)).ok()
}

fn flow_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            flow_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "flow") {
            out.push(path);
        }
    }
}

#[test]
fn formatting_every_fixture_is_idempotent_and_keeps_tree_and_comments() {
    let mut files = Vec::new();
    for dir in ["examples", "tests/ui", "tests/fmt"] {
        flow_files(&root().join(dir), &mut files);
    }
    files.sort();
    let mut formatted = 0;
    let mut with_comments = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let Some(file) = parse(&text) else {
            continue;
        };
        formatted += 1;
        let name = path.display();
        let once = flowc::format::format(&file, &text);
        let reparsed = parse(&once)
            .unwrap_or_else(|| panic!("{name}: formatted text does not parse:\n{once}"));
        assert_eq!(
            flowc::format::sexpr_without_spans(&reparsed),
            flowc::format::sexpr_without_spans(&file),
            "{name}: formatting changed the tree:\n{once}"
        );
        let comments = flowc::format::comments(&text);
        if !comments.is_empty() {
            with_comments += 1;
        }
        assert_eq!(
            flowc::format::comments(&once),
            comments,
            "{name}: comments lost or reordered:\n{once}"
        );
        let twice = flowc::format::format(&reparsed, &once);
        assert_eq!(twice, once, "{name}: formatting is not idempotent");
    }
    assert!(formatted >= 40, "only {formatted} fixtures parsed");
    assert!(
        with_comments >= 10,
        "only {with_comments} fixtures have comments"
    );
}

#[test]
fn examples_are_formatted() {
    let mut files = Vec::new();
    flow_files(&root().join("examples"), &mut files);
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        if let Some(file) = parse(&text) {
            assert_eq!(
                flowc::format::format(&file, &text),
                text,
                "{} is not formatted: run `flowc fmt examples/`",
                path.display()
            );
        }
    }
}

#[test]
fn comments_land_next_to_what_they_describe() {
    let text = std::fs::read_to_string(root().join("tests/fmt/comments.flow")).expect("fixture");
    let file = parse(&text).expect("fixture parses");
    let out = flowc::format::format(&file, &text);
    insta::with_settings!({ snapshot_path => "snapshots/fmt", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("comments", out);
    });
}

// -----------------------------------------------------------------------------------------
// The command
// -----------------------------------------------------------------------------------------

const UGLY: &str = "workflow w {step a {run \"x\"}\n\n\n\n  // why\n  step b after a {run \"y\"   timeout 90m} }\n";
const PRETTY: &str = "workflow w {\n  step a { run \"x\" }\n\n  // why\n  step b after a {\n    run \"y\"\n    timeout 90m\n  }\n}\n";

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn read(dir: &tempfile::TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.path().join(name)).expect("readable")
}

#[test]
fn check_lists_unformatted_files_and_writes_nothing() {
    let dir = dir_with(&[
        ("src/ugly.flow", UGLY),
        ("src/pretty.flow", PRETTY),
        ("src/notes.txt", UGLY),
        // A directory stands for its own files only.
        ("src/sub/deeper.flow", UGLY),
    ]);
    let out = Flowc::new(&["fmt", "--check", "src"]).dir(dir.path()).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "src/ugly.flow\n");
    assert!(
        out.stderr
            .contains("checked 2 files: 1 would be reformatted"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&dir, "src/ugly.flow"), UGLY);

    let out = Flowc::new(&["fmt", "--check", "src/pretty.flow"])
        .dir(dir.path())
        .run();
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
}

#[test]
fn diff_shows_the_change_and_only_check_makes_it_a_finding() {
    let dir = dir_with(&[("ugly.flow", UGLY)]);
    let out = Flowc::new(&["fmt", "--check", "--diff", "ugly.flow"])
        .dir(dir.path())
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("--- a/ugly.flow\n+++ b/ugly.flow\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\n+    timeout 90m\n"),
        "{}",
        out.stdout
    );
    assert_eq!(read(&dir, "ugly.flow"), UGLY);

    // Without `--check`, the same diff and exit 0, as black's `--diff`; nothing written.
    let alone = Flowc::new(&["fmt", "--diff", "ugly.flow"])
        .dir(dir.path())
        .run();
    assert_eq!(alone.code, 0, "{}", alone.stderr);
    assert_eq!(alone.stdout, out.stdout);
    assert!(
        alone
            .stderr
            .contains("checked 1 file: 1 would be reformatted"),
        "{}",
        alone.stderr
    );
    assert_eq!(read(&dir, "ugly.flow"), UGLY);
    // Standard input too: the diff, not the formatted text.
    let stdin = Flowc::new(&["fmt", "--diff", "-"])
        .dir(dir.path())
        .stdin(UGLY)
        .run();
    assert_eq!(stdin.code, 0, "{}", stdin.stderr);
    assert!(
        stdin.stdout.starts_with("--- a/<stdin>\n+++ b/<stdin>\n"),
        "{}",
        stdin.stdout
    );
    // A formatted file has no diff.
    let pretty = dir_with(&[("pretty.flow", PRETTY)]);
    let clean = Flowc::new(&["fmt", "--diff", "pretty.flow"])
        .dir(pretty.path())
        .run();
    assert_eq!(
        (clean.code, clean.stdout.as_str()),
        (0, ""),
        "{}",
        clean.stderr
    );
}

#[test]
fn fmt_rewrites_files_in_place_keeping_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = dir_with(&[("a/ugly.flow", UGLY), ("a/pretty.flow", PRETTY)]);
    let path = dir.path().join("a/ugly.flow");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    std::os::unix::fs::symlink("a/ugly.flow", dir.path().join("link.flow")).expect("symlink");

    let out = Flowc::new(&["fmt", "link.flow", "a"]).dir(dir.path()).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("formatted 3 files: 1 changed"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&dir, "a/ugly.flow"), PRETTY);
    assert_eq!(read(&dir, "a/pretty.flow"), PRETTY);
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    let link = std::fs::symlink_metadata(dir.path().join("link.flow")).expect("link meta");
    assert!(
        link.file_type().is_symlink(),
        "the link was replaced by a file"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("a"))
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    let out = Flowc::new(&["fmt", "--check", "a", "link.flow"])
        .dir(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn stdin_is_formatted_to_stdout() {
    let out = Flowc::new(&["fmt", "-"]).stdin(UGLY).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, PRETTY);
    assert_eq!(out.stderr, "");

    let out = Flowc::new(&["fmt", "--check", "-"]).stdin(UGLY).run();
    assert_eq!((out.code, out.stdout.as_str()), (1, "<stdin>\n"));
    let out = Flowc::new(&["fmt", "--check", "-"]).stdin(PRETTY).run();
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
}

#[test]
fn a_file_with_syntax_errors_is_reported_and_left_alone() {
    let broken = "workflow w {\n  step a after { run \"x\" }\n}\n";
    let dir = dir_with(&[("broken.flow", broken), ("ugly.flow", UGLY)]);
    let out = Flowc::new(&["fmt", "broken.flow", "ugly.flow"])
        .dir(dir.path())
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("error[E0001]"), "{}", out.stderr);
    assert!(out.stderr.contains("broken.flow:2:"), "{}", out.stderr);
    assert!(
        out.stderr.contains("1 with syntax errors"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&dir, "broken.flow"), broken);
    // The other file is still formatted.
    assert_eq!(read(&dir, "ugly.flow"), PRETTY);

    let out = Flowc::new(&["fmt", "-"]).stdin(broken).run();
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
}

#[test]
fn unreadable_input_exits_2() {
    let out = Flowc::new(&["fmt", "--check", "no/such/file.flow", "examples/hello.flow"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0010"), "{}", out.stderr);
    let dir = dir_with(&[("bin.flow", "workflow\0")]);
    let out = Flowc::new(&["fmt", "bin.flow"]).dir(dir.path()).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0008"), "{}", out.stderr);
    let out = Flowc::new(&["fmt"]).run();
    assert_eq!(out.code, 2, "a path is required: {}", out.stderr);
}
