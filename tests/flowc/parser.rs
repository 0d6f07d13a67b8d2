//! The parser on its own: corner cases of the grammar that every valid program may hit,
//! and what the recovering parser keeps of a file with syntax errors.

use flowc::ast::{File, Item, WorkflowItem};
use flowc::source::{SourceFile, SourceMap};

/// The recovering parse of `text`: the partial tree and the syntax errors' codes.
fn recover(text: &str) -> (File, Vec<String>) {
    let mut sources = SourceMap::new();
    let id = sources.add(SourceFile::new("t.flow", None, text));
    let (file, errors) = flowc::parse::parse_recovering(id, sources.get(id));
    let codes = errors.into_diagnostics().iter().map(|d| d.code()).collect();
    (file, codes)
}

/// The names of the steps of every workflow in `file`, in order.
fn step_names(file: &File) -> Vec<String> {
    let mut names = Vec::new();
    for item in &file.items {
        if let Item::Workflow(w) = item {
            for body in &w.body {
                if let WorkflowItem::Step(s) = body {
                    names.push(s.name.name.clone());
                }
            }
        }
    }
    names
}

/// Spans that end in a trailing comment, rules that end after skipped trivia, and the
/// other corners where pest's rule boundaries are easy to get wrong: all parse, and the
/// recovering parser gives the same tree.
#[test]
fn corner_cases_parse() {
    let cases = [
        "workflow w { step a after b // c\n { run \"x\" } }",
        "workflow w { step a after b, c // c\n { run \"x\" // d\n } }",
        "workflow w { step a when x.y // c\n { run f(a: 1 // e\n, b) } }",
        "workflow w { step a for x in xs // c\n max 2 // d\n { run x } }",
        "workflow w { step a = m . t (x: \"y\")\n { retry 3 backoff exponential(1s, max: 30s) jitter if x // q\n } }",
        "workflow w { let x: list < map<int> > // c\n = [1, 2,] // d\n step s { run \"${ x // c\n }\" } }",
        "task t(a: int = 1 // c\n, /// doc\n b: string, ) { run \"\\u{1F600}\\n\\$${a}\" }",
        "/// one\n// plain\n/// two\n//// plain too\nworkflow w { /// s\n finally step f { sleep 1h30m } }",
        "workflow w { step a { run -!x * -y.z[0](1) } }",
        "workflow w { step a { run (a < b) == c } }",
        "workflow w { step a { run a || b && c == d + e * f - g / h % i } }",
        "workflow w { step a { run if a { 1 } else if b { 2 } else { 3 } } }",
        "workflow w { step a { env { A: 1 \"B\": 2, C: {k: v, \"q\": [true, false]} } } }",
        "workflow w { outputs { /// d\n o: string = a.b, p: int = 1 } step a { outputs { x: int y: string, } } }",
        "workflow w { defaults { timeout 5m max_parallel 4 on_failure continue } secret s = env(\"S\") }",
        "import \"std/http\" as http\npolicy p { retry 5 backoff exponential(1s, max: 30s) jitter }",
        "let x = 1.5\nlet y = 1_000\nlet z = 2.5s\nlet w = workflow.status",
    ];
    for text in cases {
        let mut sources = SourceMap::new();
        let id = sources.add(SourceFile::new("t.flow", None, text));
        let parsed = flowc::parse::parse(id, sources.get(id)).unwrap_or_else(|d| {
            panic!(
                "{text}: {:?}",
                d.iter().map(|d| d.code()).collect::<Vec<_>>()
            )
        });
        let (recovered, codes) = recover(text);
        assert!(codes.is_empty(), "{text}: {codes:?}");
        assert_eq!(recovered, parsed, "{text}");
    }
    // The optional trailing comma needs an element before it.
    for text in [
        "workflow w { step a { run f(,) } }",
        "workflow w { step a { run [,] } }",
    ] {
        assert_eq!(recover(text).1, ["E0001"], "{text}");
    }
}

/// Each broken step is reported once and left out; the steps around it are kept.
#[test]
fn broken_steps_are_left_out_and_the_rest_kept() {
    let text = "workflow w {\n  step a { run \"a\" }\n  step b {\n    run \"b\" +\n  }\n  step c { run \"c\" }\n  step d { retires 3 }\n  step e after c { run \"e\" }\n}\n";
    let (file, codes) = recover(text);
    assert_eq!(codes, ["E0001", "E0001"]);
    assert_eq!(step_names(&file), ["a", "c", "e"]);
}

/// A broken top-level item is left out, and reading resumes at the next item.
#[test]
fn broken_items_are_left_out_and_the_rest_kept() {
    let text = "let = 1\nworkflow w(n: ) {\n  step a { run \"a\" }\n}\ntask t { run \"t\" }\nworkflow v { step b { run \"b\" } }\n";
    let (file, codes) = recover(text);
    assert_eq!(codes, ["E0001", "E0001"]);
    let kinds: Vec<&str> = file
        .items
        .iter()
        .map(|i| match i {
            Item::Task(_) => "task",
            Item::Workflow(_) => "workflow",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["task", "workflow"]);
    assert_eq!(step_names(&file), ["b"]);
}

/// A step whose `}` is missing loses only itself: the next `step` line starts the next
/// step, and the workflow's `}` still closes the workflow.
#[test]
fn a_step_missing_its_brace_loses_only_itself() {
    let text = "workflow w {\n  step a {\n    run \"a\"\n\n  step b { run \"b\" }\n}\nworkflow v { step c { run \"c\" } }\n";
    let (file, codes) = recover(text);
    assert_eq!(codes, ["E0001"]);
    assert_eq!(step_names(&file), ["b", "c"]);
}

/// An error the builder finds (here an invalid escape) leaves out the step it is in, as a
/// syntax error does.
#[test]
fn a_step_with_a_builder_error_is_left_out() {
    let (file, codes) =
        recover("workflow w {\n  step a { run \"\\q\" }\n  step b { run \"b\" }\n}\n");
    assert_eq!(codes, ["E0003"]);
    assert_eq!(step_names(&file), ["b"]);
}

/// Deep nesting is refused before pest runs, and the recovering parser does the same.
#[test]
fn deep_nesting_is_refused() {
    let deep = format!(
        "workflow w {{ step a {{ run {}1{} }} }}",
        "[".repeat(300),
        "]".repeat(300)
    );
    assert_eq!(recover(&deep).1, ["E0004"]);
    let shallow = format!(
        "workflow w {{ step a {{ run {}1{} }} }}",
        "[".repeat(60),
        "]".repeat(60)
    );
    assert!(recover(&shallow).1.is_empty());
}

/// A file longer than one chunk (64 items, and 64 items of a workflow body) reads as one
/// parse of the whole file does, across the chunk boundaries: top-level items before and
/// between workflows, doc comments and comments at a boundary, and a body of 200 steps.
#[test]
fn files_longer_than_a_chunk_read_as_one_parse_does() {
    let mut text = String::new();
    for i in 0..150 {
        text.push_str(&format!("/// constant {i}\nlet c{i} = {i} // trailing\n"));
    }
    text.push_str("workflow w {\n");
    for i in 0..200 {
        let after = if i > 0 {
            format!(" after s{}", i - 1)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  /// step {i}\n  step s{i}{after} {{ run \"echo ${{c{}}}\" }}\n",
            i % 150
        ));
        if i % 64 == 63 {
            text.push_str("  // a comment where a chunk ends\n\n");
        }
    }
    text.push_str("}\n\ntask t() { run \"true\" }\nlet last = 1\n");
    let (file, codes) = recover(&text);
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(step_names(&file).len(), 200);
    assert_eq!(file.items.len(), 150 + 1 + 2);
    assert_eq!(Some(file), flowc::parse::parse_whole(&text));
}

/// Syntax errors past the first chunk are found and reported where they are, and the
/// steps around them are kept.
#[test]
fn errors_past_the_first_chunk_are_reported_and_the_rest_kept() {
    let mut text = String::from("workflow w {\n");
    for i in 0..150 {
        let attr = if i == 70 || i == 140 {
            "retires 3"
        } else {
            "run \"true\""
        };
        text.push_str(&format!("  step s{i} {{ {attr} }}\n"));
    }
    text.push_str("}\n");
    let (file, codes) = recover(&text);
    assert_eq!(codes.len(), 2, "{codes:?}");
    let names = step_names(&file);
    assert_eq!(names.len(), 148);
    assert!(!names.contains(&"s70".to_string()) && !names.contains(&"s140".to_string()));
    assert!(names.contains(&"s71".to_string()) && names.contains(&"s149".to_string()));
}
