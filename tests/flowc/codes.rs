//! The code registry: codes are unique, each has an explanation, each is produced by
//! exactly one error variant, and each is hit by a UI fixture or a CLI test.

use std::collections::BTreeMap;

use flowc::diagnostics::{CODES, RETIRED};

use crate::support::root;
use crate::ui::{expected_codes, fixtures};

/// Every `code(X)` written in the sources under src/, with how often.
fn codes_in_source() -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable");
                for part in text.split("code(").skip(1) {
                    let code: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .collect();
                    if code.len() == 5 && (code.starts_with('E') || code.starts_with('W')) {
                        *found.entry(code).or_insert(0) += 1;
                    }
                }
            }
        }
    }
    found
}

#[test]
fn codes_are_unique_and_explained() {
    let mut seen = std::collections::HashSet::new();
    for (code, text) in CODES {
        assert!(seen.insert(*code), "{code} is listed twice");
        assert!(
            text.starts_with(&format!("# {code}: ")),
            "the explanation of {code} must start with `# {code}: title`"
        );
        assert!(
            text.contains("```"),
            "the explanation of {code} has no example"
        );
    }
}

#[test]
fn retired_codes_are_explained_and_never_given() {
    let in_source = codes_in_source();
    for (code, text) in RETIRED {
        assert!(
            text.starts_with(&format!("# {code}: (retired) ")),
            "the explanation of retired {code} must start with `# {code}: (retired) title`"
        );
        assert!(
            !CODES.iter().any(|(c, _)| c == code),
            "{code} is retired and registered"
        );
        assert!(
            !in_source.contains_key(*code),
            "{code} is retired but given"
        );
        assert_eq!(
            flowc::diagnostics::explain(code),
            Some(*text),
            "`flowc explain {code}` still answers"
        );
    }
}

#[test]
fn each_code_belongs_to_exactly_one_variant() {
    let in_source = codes_in_source();
    for (code, count) in &in_source {
        assert_eq!(*count, 1, "{code} is used by {count} variants");
        assert!(
            CODES.iter().any(|(c, _)| c == code),
            "{code} has no explanation in the registry"
        );
    }
    for (code, _) in CODES {
        assert!(
            in_source.contains_key(*code),
            "{code} is registered but no variant uses it"
        );
    }
}

#[test]
fn each_code_is_hit_by_a_test() {
    let mut hit = std::collections::HashSet::new();
    for rel in fixtures() {
        let text = std::fs::read_to_string(root().join(rel)).expect("readable");
        hit.extend(expected_codes(&text));
    }
    // Input errors have no source to annotate, and run-time errors need a run: tests
    // that produce them assert the code as a string, in the CLI tests or in the unit tests
    // of the module that raises them.
    let mut asserted = String::new();
    for entry in std::fs::read_dir(root().join("tests/flowc")).expect("tests") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            asserted.push_str(&std::fs::read_to_string(path).expect("readable"));
        }
    }
    // The runtime's sources, its submodules' folders included.
    let mut sources: Vec<std::path::PathBuf> = Vec::new();
    let mut dirs = vec![root().join("src/runtime")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).expect("runtime sources") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push(path);
            }
        }
    }
    // Commands are compiled at check time and rendered at run time.
    sources.push(root().join("src/command.rs"));
    for path in sources {
        let text = std::fs::read_to_string(path).expect("readable");
        if let Some((_, tests)) = text.split_once("#[cfg(test)]") {
            asserted.push_str(tests);
        }
    }
    for (code, _) in CODES {
        assert!(
            hit.contains(*code) || asserted.contains(&format!("\"{code}\"")),
            "no UI fixture, CLI test or unit test produces {code}"
        );
    }
}
