//! The parser: source text in, [`ast::File`] out. The pest grammar in `grammar/flow.pest`
//! does the recognising; `build` turns its pairs into the AST (one `build_<rule>` function per
//! rule), and `error` turns pest's failures into E00xx diagnostics. Nothing outside this module
//! sees a pest `Pair`.

mod build;
pub mod error;
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
    if let Some(err) = scan::scan(text) {
        diags.error(id, err.into_syntax_error());
        return Err(diags);
    }
    let pairs = match FlowParser::parse(Rule::file, text) {
        Ok(pairs) => pairs,
        Err(err) => {
            diags.error(id, error::from_pest(err, text, 0));
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
            diags.error(id, error::from_pest(err, text, 0));
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
}
