//! The examples: every `examples/*.flow` checks clean (no errors, no warnings) and its
//! lowered graph is snapshotted; every `examples/broken/*.flow` fails with its rendered
//! diagnostics snapshotted.

use std::path::PathBuf;

use flowc::check::FsLoader;
use flowc::diagnostics::Format;
use flowc::source::{SourceFile, SourceMap};

use crate::support::{compile_path, render_all, root};

fn flow_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("examples dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .map(|p| p.strip_prefix(root()).expect("under root").to_path_buf())
        .collect();
    files.sort();
    files
}

fn stem(p: &std::path::Path) -> String {
    p.file_stem().expect("stem").to_string_lossy().into_owned()
}

#[test]
fn examples_check_clean() {
    let files = flow_files("examples");
    assert!(
        files.len() >= 5,
        "expected the five examples, found {files:?}"
    );
    for rel in files {
        let (sources, diags) = compile_path(&rel);
        assert!(
            diags.is_empty(),
            "{} is not clean:\n{}",
            rel.display(),
            render_all(&sources, &diags, Format::Human)
        );
    }
}

/// Compiles a file of the repository (imports found next to it); it must compile.
fn compile_file(rel: &std::path::Path) -> flowc::lower::Lowered {
    let text = std::fs::read_to_string(root().join(rel)).expect("readable");
    let mut sources = SourceMap::new();
    let id = sources.add(SourceFile::new(
        rel.display().to_string(),
        Some(root().join(rel)),
        text,
    ));
    flowc::compile(&mut sources, id, &FsLoader)
        .unwrap_or_else(|_| panic!("{} compiles", rel.display()))
}

#[test]
fn example_graphs() {
    for rel in flow_files("examples") {
        let lowered = compile_file(&rel);
        let dump: String = lowered.graphs.iter().map(|g| g.dump()).collect();
        insta::with_settings!({ snapshot_path => "snapshots/graphs", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(stem(&rel), dump);
        });
    }
}

/// The resolved program of every example: what `run`, `plan`, the journal and every later
/// reader see, with names resolved, attributes merged and commands compiled.
#[test]
fn example_programs() {
    for rel in flow_files("examples") {
        let lowered = compile_file(&rel);
        insta::with_settings!({ snapshot_path => "snapshots/programs", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(stem(&rel), lowered.program.dump());
        });
    }
}

#[test]
fn example_asts() {
    for rel in flow_files("examples") {
        let text = std::fs::read_to_string(root().join(&rel)).expect("readable");
        let mut sources = SourceMap::new();
        let id = sources.add(SourceFile::new(rel.display().to_string(), None, text));
        let file = flowc::parse::parse(id, sources.get(id)).expect("example parses");
        insta::with_settings!({ snapshot_path => "snapshots/asts", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(stem(&rel), flowc::format::sexpr(&file));
        });
    }
}

#[test]
fn broken_examples_report_precise_diagnostics() {
    let files = flow_files("examples/broken");
    assert!(
        files.len() >= 5,
        "expected broken examples, found {files:?}"
    );
    for rel in files {
        let (sources, diags) = compile_path(&rel);
        assert!(
            diags.has_errors(),
            "{} should not check clean",
            rel.display()
        );
        let rendered = render_all(&sources, &diags, Format::Human);
        insta::with_settings!({ snapshot_path => "snapshots/broken", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(stem(&rel), rendered);
        });
    }
}

/// The ```flow blocks of a Markdown file.
fn flow_blocks(doc: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(doc)).expect("doc is readable");
    text.split("```flow\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .map(str::to_string)
        .collect()
}

#[test]
fn documentation_examples_check_without_errors() {
    for doc in ["README.md", "docs/language.md", "docs/stdlib.md"] {
        let blocks = flow_blocks(doc);
        assert!(!blocks.is_empty(), "{doc} has no flow examples");
        for (i, block) in blocks.iter().enumerate() {
            let mut sources = SourceMap::new();
            let id = sources.add(SourceFile::new(
                format!("{doc} block {i}"),
                None,
                block.clone(),
            ));
            if let Err(diags) = flowc::compile(&mut sources, id, &FsLoader) {
                panic!(
                    "{doc}, flow block {i} does not check:\n{}",
                    render_all(&sources, &diags, Format::Human)
                );
            }
        }
    }
}

#[test]
fn graph_formats_of_the_deploy_example() {
    for format in ["text", "dot", "mermaid", "json"] {
        let out =
            crate::support::Flowc::new(&["graph", "--format", format, "examples/deploy.flow"])
                .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        if format == "json" {
            let value: serde_json::Value = serde_json::from_str(&out.stdout).expect("valid JSON");
            assert_eq!(value[0]["workflow"], "deploy");
        }
        insta::with_settings!({ snapshot_path => "snapshots/graphs", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("deploy_{format}"), out.stdout);
        });
    }
}

#[test]
fn graph_of_a_broken_file_reports_and_fails() {
    let out = crate::support::Flowc::new(&["graph", "examples/broken/cycle.flow"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("error[E0301]"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let out =
        crate::support::Flowc::new(&["graph", "--workflow", "nope", "examples/deploy.flow"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("has no workflow `nope`"),
        "{}",
        out.stderr
    );
}

/// The resolved programs of `tests/programs/*.flow`, which import modules of their own:
/// how names, policies, task calls and merged attributes come out of check.
#[test]
fn resolved_programs() {
    for rel in flow_files("tests/programs") {
        let lowered = compile_file(&rel);
        insta::with_settings!({ snapshot_path => "snapshots/programs", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("tests_{}", stem(&rel)), lowered.program.dump());
        });
    }
}
