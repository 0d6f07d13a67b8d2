//! UI tests: every `tests/ui/<phase>/<name>.flow` fixture is compiled; the codes it
//! produces must equal those its `// expect:` header lists, and its source and rendered
//! diagnostics are snapshotted together.

use std::path::{Path, PathBuf};

use flowc::diagnostics::Format;

use crate::support::{codes, compile_path, render_all, root};

/// The fixtures, sorted, without the helper modules under `modules/`.
pub fn fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root().join("tests/ui")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("tests/ui is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "modules") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "flow") {
                out.push(path.strip_prefix(root()).expect("under root").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The codes a fixture's header expects: `// expect: E0101, W0001 — text` or `none`.
pub fn expected_codes(source: &str) -> Vec<String> {
    let header = source.lines().next().unwrap_or_default();
    let list = header
        .strip_prefix("// expect:")
        .unwrap_or_else(|| panic!("fixture header must start with `// expect:`: {header}"));
    let list = list.split('—').next().unwrap_or_default();
    list.split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty() && c != "none")
        .collect()
}

fn snapshot_name(rel: &Path) -> String {
    rel.strip_prefix("tests/ui")
        .expect("fixture under tests/ui")
        .with_extension("")
        .display()
        .to_string()
        .replace('/', "__")
}

#[test]
fn fixtures_produce_their_expected_codes_and_snapshots() {
    let mut mismatches = Vec::new();
    for rel in fixtures() {
        let source = std::fs::read_to_string(root().join(&rel)).expect("readable");
        let (sources, diags) = compile_path(&rel);
        let got = codes(&diags);
        let want = expected_codes(&source);
        if got != want {
            mismatches.push(format!("{}: expected {want:?}, got {got:?}", rel.display()));
        }
        let rendered = render_all(&sources, &diags, Format::Human);
        let snapshot = format!("{source}\n---- diagnostics ----\n{rendered}");
        insta::with_settings!({ snapshot_path => "snapshots/ui", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(snapshot_name(&rel), snapshot);
        });
    }
    assert!(
        mismatches.is_empty(),
        "fixtures whose codes differ from their headers:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn every_phase_has_fixtures() {
    let all = fixtures();
    for phase in ["syntax", "names", "types", "graph", "warnings"] {
        let dir = format!("tests/ui/{phase}/");
        assert!(
            all.iter()
                .any(|p| p.display().to_string().starts_with(&dir)),
            "no fixtures in {dir}"
        );
    }
}
