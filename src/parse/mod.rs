//! The parser: source text in, [`ast::File`] out. The pest grammar in `grammar/flow.pest`
//! is the language and its only parser; `scan` first bounds nesting and finds strings and
//! interpolations that never close, `build` turns pest's pairs into the AST (one
//! `build_<rule>` function per rule), and `error` turns pest's failures into E00xx
//! diagnostics that point at the mistake. Nothing outside this module sees a pest `Pair`.
//!
//! Every file is read in chunks ([`parse_recovering`], in `read`): up to 64 items at a
//! time, and a workflow as its header and then its body, up to 64 body items at a time, so
//! that pest holds the tokens of one chunk, not of the whole file (one parse of a
//! 10,000-step workflow held them all at once: a third of its `flowc check`'s page
//! faults). The same reading goes on after a syntax error: it is reported, once, reading
//! resumes at the next item or step, and the rest is in the tree (for the checker, and for
//! the language server). An item or step the builder finds an error in (an invalid escape,
//! an `if` without `else`) is left out of the tree the same way. [`SyntaxErrors`]
//! remembers the names the left-out parts declare, so that [`crate::compile`] can check
//! what parsed without reporting an `after build` as an unknown step because `step build`
//! had a typo.
//! Nothing is recovered after the scan's errors: after a string that never closes, the
//! rest of the text cannot be read.

mod build;
pub mod error;
pub mod outline;
mod read;
mod scan;

use pest::Parser as _;

use crate::ast;
use crate::diagnostics::{Diagnostics, Severity};
use crate::source::{SourceFile, SourceId, SourceMap, Span};
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

/// Parses one file: the whole tree, or every syntax error found (see [`parse_recovering`]).
pub fn parse(id: SourceId, file: &SourceFile) -> Result<ast::File, Diagnostics> {
    let (file, errors) = parse_recovering(id, file);
    if errors.is_empty() {
        Ok(file)
    } else {
        Err(errors.into_diagnostics())
    }
}

/// Parses one file as far as it can: every top-level item, and every item of a workflow
/// body, that parses is in the returned tree, and every syntax error is reported (see the
/// module docs for where reading resumes). The tree is the whole file when there are no
/// errors, exactly as [`parse`] returns it.
pub fn parse_recovering(id: SourceId, file: &SourceFile) -> (ast::File, SyntaxErrors) {
    let text = file.text.as_str();
    let mut errors = SyntaxErrors {
        id,
        diagnostics: Diagnostics::new(),
        broken: Vec::new(),
    };
    if let Some(err) = scan::scan(text) {
        // The rest of the text cannot be read reliably: a string that never closes takes
        // in everything after it.
        errors.diagnostics.error(id, err.into_syntax_error());
        return (ast::File { items: Vec::new() }, errors);
    }
    let builder = build::Builder::new();
    let mut reading = read::Reader::new(text, &builder);
    let items = reading.items();
    for err in reading.errors {
        errors.diagnostics.error(id, err);
    }
    errors.broken = reading.broken;
    let (build_errors, build_broken) = builder.into_parts();
    for err in build_errors {
        errors.diagnostics.error(id, err);
    }
    errors.broken.extend(build_broken);
    if items.is_empty() && errors.is_empty() {
        errors.diagnostics.error(
            id,
            SyntaxError::EmptyFile {
                file: file.name.clone(),
                span: Span::new(0, 0).into(),
            },
        );
    }
    errors.diagnostics.sort();
    (ast::File { items }, errors)
}

/// The tree of a file that parses, from one parse of the grammar's `file` rule (which
/// holds every token of the file at once), or `None` when it does not parse. The tests
/// hold [`parse_recovering`], which reads a file in chunks, to this; nothing else uses it.
#[doc(hidden)]
pub fn parse_whole(text: &str) -> Option<ast::File> {
    if scan::scan(text).is_some() {
        return None;
    }
    let builder = build::Builder::new();
    let pairs = FlowParser::parse(Rule::file, text).ok()?;
    let file = builder.build_file(pairs);
    let (build_errors, _) = builder.into_parts();
    (build_errors.is_empty() && !file.items.is_empty()).then_some(file)
}

/// The syntax errors of one file, as [`parse_recovering`] found them, with what later
/// phases need to tell their own errors from follow-ons of the parts that did not parse.
#[derive(Debug)]
pub struct SyntaxErrors {
    id: SourceId,
    diagnostics: Diagnostics,
    /// The names declared by the items and steps that did not parse, when their headers
    /// could still be read (`step build` in `step build { retires 3 }`).
    broken: Vec<String>,
}

impl SyntaxErrors {
    /// True when the file parsed without error.
    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// The syntax errors as diagnostics, in file order.
    pub fn into_diagnostics(self) -> Diagnostics {
        self.diagnostics
    }

    /// The syntax errors followed by the errors that later phases found in the parts that
    /// parsed (`later`), in file order. Of those, dropped as follow-ons: every warning (an
    /// "unused" binding may be used only by a step that did not parse), and every name
    /// error (E01xx) whose label is on a name declared by a part that did not parse (an
    /// `after build` when `step build` has a syntax error).
    pub fn with_later(self, later: Diagnostics, sources: &SourceMap) -> Diagnostics {
        let broken: rustc_hash::FxHashSet<&str> = self.broken.iter().map(String::as_str).collect();
        let mut all = self.diagnostics;
        for diag in later {
            if diag.severity != Severity::Error {
                continue;
            }
            let follow_on = diag.source == self.id
                && diag.code().starts_with("E01")
                && diag
                    .inner
                    .labels()
                    .and_then(|mut labels| labels.next())
                    .and_then(|label| {
                        let text = &sources.get(diag.source).text;
                        text.get(label.offset()..label.offset() + label.len())
                    })
                    // `build` or `build.digest`: the name before any field.
                    .and_then(|named| named.split('.').next())
                    .is_some_and(|name| broken.contains(name));
            if !follow_on {
                all.push(diag);
            }
        }
        all.sort();
        all
    }
}

/// Parses a single expression (used by the REPL and tests).
pub fn parse_expr(id: SourceId, file: &SourceFile) -> Result<ast::Expr, Diagnostics> {
    let text = file.text.as_str();
    let mut diags = Diagnostics::new();
    if let Some(err) = scan::scan(text) {
        diags.error(id, err.into_syntax_error());
        return Err(diags);
    }
    let mut pairs = match FlowParser::parse(Rule::expr_only, text) {
        Ok(pairs) => pairs,
        Err(err) => {
            diags.error(id, error::from_pest(err, text, 0, None));
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

    /// Every reserved word of the grammar's `keyword` rule is refused as a name, and its
    /// longer forms are names: `keyword` first looks ahead for one of the words' first
    /// letters followed by a lower-case letter, so a word added to the rule with a new
    /// first letter must be let through that lookahead too. The words the syntax
    /// messages call reserved (`error::RESERVED`) are the same ones.
    #[test]
    fn reserved_words_are_not_names_and_their_longer_forms_are() {
        let grammar = include_str!("../../grammar/flow.pest");
        let rule = grammar
            .split_once("\nkeyword = _{")
            .and_then(|(_, rest)| rest.split_once("\n}"))
            .map(|(body, _)| body)
            .expect("grammar/flow.pest has a `keyword` rule");
        // The words are the rule's double-quoted literals (the lookahead's ranges are
        // single-quoted characters).
        let mut words: Vec<&str> = rule.split('"').skip(1).step_by(2).collect();
        words.sort_unstable();
        let mut named: Vec<&str> = error::RESERVED
            .iter()
            .map(|w| w.trim_matches('`'))
            .collect();
        named.sort_unstable();
        assert_eq!(
            words, named,
            "the grammar's reserved words and error::RESERVED differ"
        );
        let whole = |w: &str| {
            FlowParser::parse(Rule::ident, w)
                .ok()
                .and_then(|mut p| p.next())
                .is_some_and(|p| p.as_str() == w)
        };
        for word in words {
            assert!(!whole(word), "`{word}` parsed as a name");
            assert!(whole(&format!("{word}s")), "`{word}s` is a name");
            assert!(whole(&format!("{word}_1")), "`{word}_1` is a name");
        }
        for name in ["build", "s_1", "Deploy", "x", "_tmp", "a1", "in_out"] {
            assert!(whole(name), "`{name}` is a name");
        }
    }
}
