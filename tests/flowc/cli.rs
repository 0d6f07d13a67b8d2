//! The `flowc` binary end to end: exit codes, output streams and formats, input errors
//! ("E0008", "E0010"), explain, completions and colour.

use crate::support::Flowc;

#[test]
fn clean_file_exits_0_with_a_summary_on_stderr() {
    let out = Flowc::new(&["check", "examples/deploy.flow"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "checked 1 file: no problems found\n");
}

#[test]
fn several_files_are_checked_in_one_run() {
    let out = Flowc::new(&[
        "check",
        "examples/deploy.flow",
        "examples/ci.flow",
        "examples/broken/cycle.flow",
    ])
    .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("checked 3 files: 3 errors"),
        "{}",
        out.stderr
    );
}

#[test]
fn errors_exit_1_with_code_location_and_help() {
    let out = Flowc::new(&["check", "examples/broken/typo-in-after.flow"]).run();
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("error[E0102]: unknown step `biuld`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("examples/broken/typo-in-after.flow:15:19"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("help: did you mean `build`?"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.ends_with("checked 1 file: 4 errors\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn json_format_is_one_object_per_line_on_stdout() {
    let out = Flowc::new(&[
        "check",
        "--format",
        "json",
        "examples/broken/typo-in-after.flow",
    ])
    .run();
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "", "json mode keeps stderr quiet");
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 4);
    let first = &lines[0];
    assert_eq!(first["file"], "examples/broken/typo-in-after.flow");
    assert_eq!(first["line"], 15);
    assert_eq!(first["column"], 19);
    assert_eq!(first["end"]["line"], 15);
    assert_eq!(first["end"]["column"], 24);
    assert_eq!(first["code"], "E0102");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["message"], "unknown step `biuld`");
    assert_eq!(first["help"], "did you mean `build`?");
    assert_eq!(first["labels"][0]["message"], "no step has this name");
}

#[test]
fn github_format_escapes_as_github_requires() {
    let out = Flowc::new(&[
        "check",
        "--format",
        "github",
        "examples/broken/typo-in-after.flow",
    ])
    .run();
    assert_eq!(out.code, 1);
    let first = out.stdout.lines().next().expect("an annotation");
    assert_eq!(
        first,
        "::error file=examples/broken/typo-in-after.flow,line=15,col=19,endLine=15,endColumn=24,\
         title=E0102 unknown step `biuld`::unknown step `biuld`%0Ahelp%3A did you mean `build`?"
            .replace("help%3A", "help:")
    );
    // Commas and colons in properties, newlines and percent signs in data are escaped.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a,b:c.flow");
    std::fs::write(
        &path,
        "workflow w {\n  step s { run \"100%\" }\n  step t after nope { run \"x\" }\n}\n",
    )
    .expect("write");
    let out = Flowc::new(&["check", "--format", "github", "a,b:c.flow"])
        .dir(dir.path())
        .run();
    assert!(
        out.stdout
            .starts_with("::error file=a%2Cb%3Ac.flow,line=3,col=16,"),
        "{}",
        out.stdout
    );
}

#[test]
fn warnings_exit_0_unless_denied() {
    let fixture = "tests/ui/warnings/unused_let.flow";
    let out = Flowc::new(&["check", fixture]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("warning[W0001]"), "{}", out.stderr);
    let out = Flowc::new(&["check", "--deny-warnings", fixture]).run();
    assert_eq!(out.code, 1);
    let out = Flowc::new(&["check", "--format", "json", fixture]).run();
    assert!(
        out.stdout.contains("\"severity\":\"warning\""),
        "{}",
        out.stdout
    );
}

#[test]
fn stdin_is_read_with_a_dash() {
    let out = Flowc::new(&["check", "-"])
        .stdin("workflow w { step s { run \"true\" } }")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = Flowc::new(&["check", "--format", "json", "-"])
        .stdin("workflow w { step s { rn \"x\" } }")
        .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("\"file\":\"<stdin>\""),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\"E0001\""), "{}", out.stdout);
}

#[test]
fn missing_file_is_an_input_error() {
    let out = Flowc::new(&["check", "no/such/file.flow"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("error[E0010]: cannot read `no/such/file.flow`: no such file"),
        "{}",
        out.stderr
    );
    let out = Flowc::new(&["check", "--format", "json", "no/such/file.flow"]).run();
    assert!(out.stdout.contains("\"E0010\""));
}

#[test]
fn a_directory_is_an_input_error_where_one_file_is_expected() {
    // `flowc check DIR` checks the directory's files (see friction.rs); `graph`, `plan` and
    // `run` take one workflow file.
    let out = Flowc::new(&["graph", "examples"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("error[E0010]: cannot read `examples`: it is a directory"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("flowc check examples/*.flow"),
        "{}",
        out.stderr
    );
}

#[test]
fn binary_and_non_utf8_input_are_input_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("image.flow");
    std::fs::write(&bin, [0x89, b'P', b'N', b'G', 0, 0, 1]).expect("write");
    let out = Flowc::new(&["check", bin.to_str().expect("utf8 path")]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("error[E0008]"), "{}", out.stderr);
    assert!(
        out.stderr.contains("NUL byte at offset 4"),
        "{}",
        out.stderr
    );
    let latin1 = dir.path().join("latin1.flow");
    std::fs::write(
        &latin1,
        b"// caf\xe9\nworkflow w { step s { run \"x\" } }\n",
    )
    .expect("write");
    let out = Flowc::new(&[
        "check",
        "--format",
        "json",
        latin1.to_str().expect("utf8 path"),
    ])
    .run();
    assert_eq!(out.code, 2);
    assert!(out.stdout.contains("\"E0008\""), "{}", out.stdout);
    assert!(
        out.stdout.contains("invalid UTF-8 at byte offset 6"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_empty_file_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("empty.flow"), "").expect("write");
    let out = Flowc::new(&["check", "empty.flow"]).dir(dir.path()).run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("error[E0007]: `empty.flow` is empty"),
        "{}",
        out.stderr
    );
}

#[test]
fn input_errors_do_not_stop_other_files() {
    let out = Flowc::new(&["check", "missing.flow", "examples/broken/cycle.flow"]).run();
    assert_eq!(out.code, 2, "an input error wins over findings");
    assert!(out.stderr.contains("E0010"));
    assert!(out.stderr.contains("E0301"));
}

#[test]
fn explain_prints_the_long_text() {
    let out = Flowc::new(&["explain", "E0205"]).run();
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("# E0205: "), "{}", out.stdout);
    let lower = Flowc::new(&["explain", "e0205"]).run();
    assert_eq!(lower.stdout, out.stdout);
    let out = Flowc::new(&["explain", "E9999"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("error[E0604]: `E9999` is not a flowc diagnostic code")
            && out.stderr.contains("E0604"),
        "{}",
        out.stderr
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    assert_eq!(Flowc::new(&[]).run().code, 2);
    assert_eq!(Flowc::new(&["frobnicate"]).run().code, 2);
    assert_eq!(Flowc::new(&["check"]).run().code, 2);
    assert_eq!(
        Flowc::new(&["check", "--format", "xml", "x.flow"])
            .run()
            .code,
        2
    );
    let help = Flowc::new(&["--help"]).run();
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("check"));
    let version = Flowc::new(&["--version"]).run();
    assert_eq!(version.code, 0);
    assert_eq!(
        version.stdout,
        format!("flowc {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Flowc::new(&["completions", shell]).run();
        assert_eq!(out.code, 0);
        assert!(out.stdout.contains("flowc"), "{shell}");
        assert!(out.stdout.contains("explain"), "{shell}");
    }
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let broken = "examples/broken/cycle.flow";
    let plain = Flowc::new(&["check", broken]).run();
    assert!(
        !plain.stderr.contains('\u{1b}'),
        "no colour when stderr is not a terminal"
    );
    let forced = Flowc::new(&["check", "--color", "always", broken]).run();
    assert!(forced.stderr.contains('\u{1b}'), "colour when forced");
    let no_color = Flowc::new(&["check", broken]).env("NO_COLOR", "1").run();
    assert!(!no_color.stderr.contains('\u{1b}'));
}
