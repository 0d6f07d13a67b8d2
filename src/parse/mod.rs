//! The parser: source text in, [`ast::File`] out. The pest grammar in `grammar/flow.pest`
//! does the recognising; `build` turns its pairs into the AST (one `build_<rule>` function per
//! rule), and `error` turns pest's failures into E00xx diagnostics. Nothing outside this module
//! sees a pest `Pair`.
//!
//! `fast` is a hand-written recursive-descent parser of the same grammar that builds the
//! AST directly, several times faster; [`parse`] tries it first, after the scan. It returns
//! a tree only when pest and the builder would give an equal one (spans included), and
//! declines everything else, so pest stays the definition of the language and the parser
//! of record for every error. Differential tests (`tests/flowc/fastparse.rs`) and a fuzz
//! target (`fuzz_targets/fast_vs_pest.rs`) hold it to that.

mod build;
pub mod error;
mod fast;
mod scan;

use pest::Parser as _;

use crate::ast;
use crate::diagnostics::Diagnostics;
use crate::source::{SourceFile, SourceId, Span};
pub use build::parse_duration;
pub use error::SyntaxError;
pub use scan::MAX_DEPTH;

/// The pest parser generated from `grammar/flow.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/flow.pest"]
pub(crate) struct FlowParser;

/// The words the grammar spells as `kw_*` rules (`workflow`, `step`, `retry`, ...), in
/// grammar order: reserved words, then contextual ones. Derived from the grammar itself,
/// so that the REPL's highlighting and completion never drift from the parser.
pub fn keywords() -> &'static [String] {
    static KEYWORDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    KEYWORDS.get_or_init(|| {
        Rule::all_rules()
            .iter()
            .filter_map(|r| format!("{r:?}").strip_prefix("kw_").map(str::to_string))
            .collect()
    })
}

/// Parses one file. Every syntax error found is returned; where the grammar itself fails,
/// that is the first and only one, as later text cannot be read reliably.
pub fn parse(id: SourceId, file: &SourceFile) -> Result<ast::File, Diagnostics> {
    let text = file.text.as_str();
    let mut diags = Diagnostics::new();
    match scan::scan(text) {
        Some(scan::ScanError::Unterminated(span)) => {
            diags.error(id, SyntaxError::UnterminatedString { span: span.into() });
            return Err(diags);
        }
        Some(scan::ScanError::TooDeep(span)) => {
            diags.error(
                id,
                SyntaxError::TooDeep {
                    max: MAX_DEPTH,
                    span: span.into(),
                },
            );
            return Err(diags);
        }
        None => {}
    }
    if let Some(file) = fast::parse(text) {
        return Ok(file);
    }
    if text.len() >= PARALLEL_MIN {
        if let Some(file) = parse_in_halves(text) {
            return Ok(file);
        }
    }
    let pairs = match FlowParser::parse(Rule::file, text) {
        Ok(pairs) => pairs,
        Err(err) => {
            diags.error(id, error::from_pest(err, text));
            return Err(diags);
        }
    };
    let builder = build::Builder::new();
    let file_ast = builder.build_file(pairs);
    for err in builder.into_errors() {
        diags.error(id, err);
    }
    if file_ast.items.is_empty() && diags.is_empty() {
        diags.error(
            id,
            SyntaxError::EmptyFile {
                file: file.name.clone(),
                span: Span::new(0, 0).into(),
            },
        );
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(file_ast)
    }
}

/// Files at least this large are parsed in two halves on two threads.
const PARALLEL_MIN: usize = 256 * 1024;

/// The stack size of the thread that parses the first half (see `cli::check`).
const HALF_STACK: usize = 256 * 1024 * 1024;

/// Parses a large file in two halves at once: the text up to a step in the middle of a
/// workflow (with a `}` added to close it), and the rest. Returns `None`, so that the
/// caller parses the whole file as usual (and reports errors as usual), when the file has
/// no place to split or either half has any problem.
fn parse_in_halves(text: &str) -> Option<ast::File> {
    let split = scan::split_point(text)?;
    let head = format!("{}}}", &text[..split]);
    let tail = &text[split..];
    std::thread::scope(|scope| {
        let first = std::thread::Builder::new()
            .stack_size(HALF_STACK)
            .spawn_scoped(scope, || {
                let pairs = FlowParser::parse(Rule::file, &head).ok()?;
                let builder = build::Builder::new();
                let file = builder.build_file(pairs);
                builder.into_errors().is_empty().then_some(file)
            })
            .ok()?;
        let second = (|| {
            let pairs = FlowParser::parse(Rule::file_tail, tail).ok()?;
            let builder = build::Builder::new();
            let parts = build::with_offset(split, || builder.build_file_tail(pairs));
            builder.into_errors().is_empty().then_some(parts)
        })();
        let mut file = first.join().ok()??;
        let (body, close, items) = second?;
        let Some(ast::Item::Workflow(workflow)) = file.items.last_mut() else {
            return None;
        };
        if workflow.span.end as usize != split + 1 {
            return None;
        }
        workflow.body.extend(body);
        workflow.span.end = close;
        file.items.extend(items);
        Some(file)
    })
}

/// The file as the fast path reads it (see `fast`): for differential tests only.
#[doc(hidden)]
pub fn fast_only(text: &str) -> Option<ast::File> {
    fast::parse(text)
}

/// The file as pest and the builder read it, `None` on any error or an empty file: the
/// tree the fast path must equal whenever it accepts. For differential tests only.
#[doc(hidden)]
pub fn pest_only(text: &str) -> Option<ast::File> {
    let pairs = FlowParser::parse(Rule::file, text).ok()?;
    let builder = build::Builder::new();
    let file = builder.build_file(pairs);
    (builder.into_errors().is_empty() && !file.items.is_empty()).then_some(file)
}

/// Parses a single expression (used by the REPL and tests).
pub fn parse_expr(id: SourceId, file: &SourceFile) -> Result<ast::Expr, Diagnostics> {
    let text = file.text.as_str();
    let mut diags = Diagnostics::new();
    if let Some(err) = scan::scan(text) {
        let e = match err {
            scan::ScanError::Unterminated(span) => {
                SyntaxError::UnterminatedString { span: span.into() }
            }
            scan::ScanError::TooDeep(span) => SyntaxError::TooDeep {
                max: MAX_DEPTH,
                span: span.into(),
            },
        };
        diags.error(id, e);
        return Err(diags);
    }
    let mut pairs = match FlowParser::parse(Rule::expr_only, text) {
        Ok(pairs) => pairs,
        Err(err) => {
            diags.error(id, error::from_pest(err, text));
            return Err(diags);
        }
    };
    let builder = build::Builder::new();
    let expr = pairs
        .next()
        .and_then(|p| p.into_inner().next())
        .map(|p| builder.build_expr(p));
    for err in builder.into_errors() {
        diags.error(id, err);
    }
    match expr {
        Some(expr) if !diags.has_errors() => Ok(expr),
        _ => Err(diags),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial(text: &str) -> ast::File {
        let pairs = FlowParser::parse(Rule::file, text).expect("parses");
        let builder = build::Builder::new();
        let file = builder.build_file(pairs);
        assert!(builder.into_errors().is_empty());
        file
    }

    /// A large file with every kind of item around and inside a long workflow.
    fn large_file() -> String {
        let mut text = String::from(
            "import \"std/http\" as http\n/// A constant.\nlet base = \"x\"\n\n/// The workflow.\nworkflow big(n: int = 1) {\n  defaults { timeout 5m }\n  secret token = env(\"T\")\n",
        );
        for i in 0..6_000usize {
            text.push_str(&format!(
                "  /// Step {i}.\n  step s{i} after s{} when n > {i} {{ run \"echo ${{n}} {{}} \\\"{i}\\\"\" // trailing {{\n    retry 2 backoff exponential(1s, max: 1m) }}\n",
                i.saturating_sub(1)
            ));
            if i % 1000 == 0 {
                text.push_str(&format!(
                    "  let l{i} = [1, 2, {i}]\n  finally step f{i} {{ sleep 1s }}\n"
                ));
            }
        }
        text.push_str("}\n// a comment with } in it\n/// After.\ntask t(x: string) { run \"${x}\" }\nworkflow small { step a = t(x: \"y\") }\n");
        text
    }

    #[test]
    fn keywords_come_from_the_grammar() {
        let words = keywords();
        for w in [
            "workflow",
            "step",
            "after",
            "on_failure_of",
            "retry",
            "max_parallel",
        ] {
            assert!(words.iter().any(|k| k == w), "{w} missing from {words:?}");
        }
        assert!(!words.iter().any(|k| k == "expr" || k.starts_with("kw_")));
    }

    #[test]
    fn parsing_in_halves_gives_the_same_tree_as_parsing_whole() {
        let text = large_file();
        assert!(text.len() >= PARALLEL_MIN);
        let split = scan::split_point(&text).expect("a split point");
        assert!(text[split..].starts_with("step") || text[split..].starts_with("finally"));
        let halves = parse_in_halves(&text).expect("both halves parse");
        assert_eq!(halves, serial(&text));
    }

    #[test]
    fn no_split_inside_tasks_strings_or_after_docs() {
        assert_eq!(scan::split_point("task t { run \"x\" }\n"), None);
        assert_eq!(
            scan::split_point("workflow w {\n  step a { run \"\n step b\" }\n}\n"),
            Some(15)
        );
        assert_eq!(
            scan::split_point("workflow w {\n  /// doc\n  step a { run \"x\" }\n}\n"),
            None
        );
    }

    #[test]
    fn the_fast_path_builds_the_large_file_as_pest_does() {
        let text = large_file();
        assert_eq!(fast::parse(&text), Some(serial(&text)));
    }

    #[test]
    fn a_half_that_does_not_parse_falls_back() {
        let mut text = large_file();
        text.push_str("workflow broken { step }\n");
        assert!(parse_in_halves(&text).is_none());
    }
}
