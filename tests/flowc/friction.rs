//! Everyday command-line behaviour: `flowc check DIR` takes a directory as `flowc fmt DIR`
//! does.

use std::path::Path;

use crate::support::{json_lines, tmp, Flowc};

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
