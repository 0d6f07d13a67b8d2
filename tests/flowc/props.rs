//! Property tests of the parser and the printer: printing any well-formed AST gives source
//! that parses back to the same tree, and no input text, however broken, makes the front end
//! panic or report a span outside the text.

use std::path::PathBuf;

use flowc::ast::*;
use flowc::check::{Loaded, Loader};
use flowc::diagnostics::{render, Diagnostics, Format, RenderOptions};
use flowc::format;
use flowc::source::{SourceFile, SourceMap, Span};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, Index};

pub(crate) const KEYWORDS: &[&str] = &[
    "workflow",
    "task",
    "step",
    "let",
    "secret",
    "import",
    "as",
    "after",
    "when",
    "for",
    "in",
    "if",
    "else",
    "true",
    "false",
    "finally",
    "on_failure_of",
];

/// Words that are special only where the grammar expects them, so valid names elsewhere.
const CONTEXTUAL: &[&str] = &[
    "max",
    "defaults",
    "run",
    "exec",
    "sleep",
    "approve",
    "retry",
    "backoff",
    "jitter",
    "timeout",
    "env",
    "outputs",
    "on_failure",
    "max_parallel",
    "continue",
    "fail_fast",
];

/// 256 cases per property, or `PROPTEST_CASES` for a longer run.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

// -----------------------------------------------------------------------------------------
// Helpers
// -----------------------------------------------------------------------------------------

fn sp() -> Span {
    Span::default()
}

fn id(name: String) -> Ident {
    Ident { name, span: sp() }
}

fn ex(kind: ExprKind) -> Expr {
    Expr { kind, span: sp() }
}

/// Parses `text` as a file; on failure, the diagnostics' codes and messages.
fn parse_text(text: &str) -> Result<File, String> {
    let mut sources = SourceMap::new();
    let sid = sources.add(SourceFile::new("test.flow", None, text));
    flowc::parse::parse(sid, sources.get(sid)).map_err(|diags| {
        diags
            .iter()
            .map(|d| format!("{}: {}", d.code(), d.inner))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The S-expression dump without its `@start..end` spans.
fn strip_spans(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" @") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let span_len = after
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(after.len());
        if span_len > 0 && after[..span_len].contains("..") {
            rest = &after[span_len..];
        } else {
            out.push_str(" @");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

// -----------------------------------------------------------------------------------------
// (a) Random well-formed ASTs print to source that parses back to the same tree
// -----------------------------------------------------------------------------------------

/// A name the `ident` rule accepts: not a keyword, contextual words included.
fn ident_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z_][a-zA-Z0-9_]{0,6}"
            .prop_filter("not a keyword", |s| !KEYWORDS.contains(&s.as_str())),
        1 => select(CONTEXTUAL).prop_map(str::to_string),
    ]
}

/// A name the `word` rule accepts: keywords included.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
        1 => select(KEYWORDS).prop_map(str::to_string),
        1 => select(CONTEXTUAL).prop_map(str::to_string),
    ]
}

/// Literal string text, rich in characters that need escaping.
fn text() -> impl Strategy<Value = String> {
    vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            2 => select(vec![
                ' ', '\n', '\t', '\r', '\0', '"', '\\', '$', '{', '}', '/', '\u{1}', '\u{1b}',
                '\u{7f}', '\u{85}', '\u{a0}', 'é', '😀', '\u{2028}', '\u{feff}',
            ]),
            1 => any::<char>(),
        ],
        0..8,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// A map or env key: a word, or any text (printed quoted).
fn key() -> impl Strategy<Value = String> {
    prop_oneof![word(), text()]
}

/// What the parser builds from string text: no empty text parts, adjacent ones merged.
fn normalize_parts(parts: Vec<StrPart>) -> Vec<StrPart> {
    let mut out: Vec<StrPart> = Vec::new();
    for part in parts {
        match part {
            StrPart::Text(t) if t.is_empty() => {}
            StrPart::Text(t) => {
                if let Some(StrPart::Text(prev)) = out.last_mut() {
                    prev.push_str(&t);
                } else {
                    out.push(StrPart::Text(t));
                }
            }
            interp => out.push(interp),
        }
    }
    out
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u32..1000, 0u32..1000).prop_map(|(a, b)| f64::from(a) + f64::from(b) / 1000.0),
        (0u32..100).prop_map(f64::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(f64::abs),
    ]
}

fn unop() -> impl Strategy<Value = UnOp> {
    select(vec![UnOp::Not, UnOp::Neg])
}

fn binop() -> impl Strategy<Value = BinOp> {
    select(vec![
        BinOp::Or,
        BinOp::And,
        BinOp::Eq,
        BinOp::Ne,
        BinOp::Lt,
        BinOp::Le,
        BinOp::Gt,
        BinOp::Ge,
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::Div,
        BinOp::Rem,
    ])
}

fn args(e: BoxedStrategy<Expr>) -> impl Strategy<Value = Vec<Arg>> {
    vec((option::of(word()), e), 0..3).prop_map(|v| {
        v.into_iter()
            .map(|(name, value)| Arg {
                name: name.map(id),
                value,
                span: sp(),
            })
            .collect()
    })
}

/// Expressions of bounded depth, every kind the parser produces.
fn expr() -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![
        prop_oneof![0i64..100, 0..=i64::MAX].prop_map(ExprKind::Int),
        float().prop_map(ExprKind::Float),
        prop_oneof![0u64..100_000, 0u64..(1u64 << 53)].prop_map(ExprKind::Duration),
        any::<bool>().prop_map(ExprKind::Bool),
        text().prop_map(|t| ExprKind::Str(normalize_parts(vec![StrPart::Text(t)]))),
        ident_name().prop_map(ExprKind::Name),
        Just(ExprKind::Workflow),
    ]
    .prop_map(ex);
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(
                prop_oneof![
                    text().prop_map(StrPart::Text),
                    inner.clone().prop_map(StrPart::Interp)
                ],
                0..4
            )
            .prop_map(|parts| ExprKind::Str(normalize_parts(parts))),
            vec(inner.clone(), 0..4).prop_map(ExprKind::List),
            vec((key(), inner.clone()), 0..3).prop_map(|entries| ExprKind::Map(
                entries.into_iter().map(|(k, v)| (id(k), v)).collect()
            )),
            (inner.clone(), word()).prop_map(|(e, f)| ExprKind::Field(Box::new(e), id(f))),
            (inner.clone(), inner.clone())
                .prop_map(|(e, i)| ExprKind::Index(Box::new(e), Box::new(i))),
            (inner.clone(), args(inner.clone())).prop_map(|(f, a)| ExprKind::Call(Box::new(f), a)),
            (unop(), inner.clone()).prop_map(|(op, e)| ExprKind::Unary(op, Box::new(e))),
            (binop(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| ExprKind::Binary(
                op,
                Box::new(l),
                Box::new(r)
            )),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| ExprKind::If(
                Box::new(c),
                Box::new(a),
                Box::new(b)
            )),
        ]
        .prop_map(ex)
    })
    .boxed()
}

/// Doc lines as the parser keeps them: no line breaks, no trailing whitespace.
fn docs() -> impl Strategy<Value = Docs> {
    prop_oneof![
        3 => Just(Docs::default()),
        1 => vec("[ -~é😀]{0,16}", 1..3).prop_map(|lines| Docs(
            lines.into_iter().map(|l| l.trim_end().to_string()).collect()
        )),
    ]
}

fn ty() -> impl Strategy<Value = TypeExpr> {
    let leaf = word().prop_map(|n| TypeExpr {
        name: id(n),
        arg: None,
        fields: None,
        span: sp(),
    });
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            (word(), inner.clone()).prop_map(|(n, arg)| TypeExpr {
                name: id(n),
                arg: Some(Box::new(arg)),
                fields: None,
                span: sp(),
            }),
            // `record { name: type, ... }`, its field names words or quoted text.
            vec((key(), inner), 0..3).prop_map(|fields| TypeExpr {
                name: id("record".to_string()),
                arg: None,
                fields: Some(
                    fields
                        .into_iter()
                        .map(|(name, ty)| FieldType { name: id(name), ty })
                        .collect()
                ),
                span: sp(),
            }),
        ]
    })
}

fn param() -> impl Strategy<Value = Param> {
    (docs(), ident_name(), ty(), option::of(expr())).prop_map(|(docs, name, ty, default)| Param {
        docs,
        name: id(name),
        ty,
        default,
        span: sp(),
    })
}

fn attr() -> impl Strategy<Value = Attr> {
    let e = expr();
    let backoff = (ident_name(), args(e.clone())).prop_map(|(name, args)| Call {
        callee: Path {
            module: None,
            name: id(name),
            span: sp(),
        },
        args,
        span: sp(),
    });
    prop_oneof![
        e.clone().prop_map(AttrKind::Run),
        e.clone().prop_map(AttrKind::Exec),
        e.clone().prop_map(AttrKind::Sleep),
        e.clone().prop_map(AttrKind::Approve),
        e.clone().prop_map(AttrKind::Timeout),
        e.clone().prop_map(AttrKind::MaxParallel),
        (
            e.clone(),
            option::of(backoff),
            any::<bool>(),
            option::of(e.clone())
        )
            .prop_map(
                |(count, backoff, jitter, condition)| AttrKind::Retry(Box::new(Retry {
                    count,
                    backoff,
                    jitter: jitter.then(sp),
                    condition,
                }))
            ),
        vec((key(), e.clone()), 0..3).prop_map(|entries| AttrKind::Env(
            entries
                .into_iter()
                .map(|(k, value)| EnvEntry { name: id(k), value })
                .collect()
        )),
        vec((docs(), ident_name(), ty()), 0..3).prop_map(|outs| AttrKind::Outputs(
            outs.into_iter()
                .map(|(docs, name, ty)| OutputDecl {
                    docs,
                    name: id(name),
                    ty,
                    value: None,
                })
                .collect()
        )),
        (ident_name(), option::of(e.clone()))
            .prop_map(|(n, c)| AttrKind::OnFailure(id(n), c.map(Box::new))),
    ]
    .prop_map(|kind| Attr {
        kind,
        span: sp(),
        keyword: sp(),
    })
}

fn clause() -> impl Strategy<Value = Clause> {
    prop_oneof![
        vec(ident_name(), 1..3)
            .prop_map(|names| Clause::After(names.into_iter().map(id).collect(), sp())),
        expr().prop_map(|e| Clause::When(e, sp())),
        (ident_name(), expr(), option::of(expr())).prop_map(|(var, list, max)| {
            Clause::For(Box::new(ForEach {
                var: id(var),
                list,
                max,
                span: sp(),
            }))
        }),
        ident_name().prop_map(|n| Clause::Compensates(id(n), sp())),
    ]
}

fn step_call() -> impl Strategy<Value = Call> {
    (option::of(ident_name()), word(), ident_name(), args(expr())).prop_map(
        |(module, member, name, args)| {
            // A qualified callee's member is a `word`; an unqualified one is an `ident`.
            let name = if module.is_some() { member } else { name };
            Call {
                callee: Path {
                    module: module.map(id),
                    name: id(name),
                    span: sp(),
                },
                args,
                span: sp(),
            }
        },
    )
}

fn step() -> impl Strategy<Value = Step> {
    (
        docs(),
        any::<bool>(),
        ident_name(),
        vec(clause(), 0..3),
        option::of(step_call()),
        vec(attr(), 0..3),
    )
        .prop_map(|(docs, finally, name, clauses, call, attrs)| Step {
            docs,
            finally: finally.then(sp),
            name: id(name),
            clauses,
            call: call.map(Box::new),
            attrs,
            span: sp(),
        })
}

fn binding(allow_secret: bool) -> impl Strategy<Value = Binding> {
    (
        docs(),
        any::<bool>(),
        ident_name(),
        option::of(ty()),
        expr(),
    )
        .prop_map(move |(docs, secret, name, ty, value)| {
            let secret = secret && allow_secret;
            Binding {
                docs,
                kind: if secret {
                    BindingKind::Secret
                } else {
                    BindingKind::Let
                },
                name: id(name),
                // The syntax has no place for a secret's type.
                ty: if secret { None } else { ty },
                value,
                span: sp(),
            }
        })
}

fn workflow_item() -> impl Strategy<Value = WorkflowItem> {
    prop_oneof![
        1 => vec(attr(), 0..3).prop_map(|attrs| WorkflowItem::Defaults(Defaults { attrs, span: sp() })),
        2 => binding(true).prop_map(WorkflowItem::Binding),
        3 => step().prop_map(WorkflowItem::Step),
        1 => (expr(), option::of(prop_oneof![
            Just(GroupPolicy::Queue),
            Just(GroupPolicy::Skip),
            Just(GroupPolicy::Cancel),
        ]))
            .prop_map(|(group, policy)| WorkflowItem::Concurrency(Concurrency {
                group,
                policy: policy.map(|p| (p, sp())),
                span: sp(),
            })),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        (docs(), text(), ident_name()).prop_map(|(docs, path, alias)| Item::Import(Import {
            docs,
            path,
            path_span: sp(),
            alias: id(alias),
            span: sp(),
        })),
        (
            docs(),
            ident_name(),
            vec(param(), 0..3),
            vec(workflow_item(), 0..4)
        )
            .prop_map(|(docs, name, params, body)| Item::Workflow(Workflow {
                docs,
                name: id(name),
                params,
                body,
                span: sp(),
            })),
        (docs(), ident_name(), vec(param(), 0..3), vec(attr(), 0..3)).prop_map(
            |(docs, name, params, body)| Item::Task(Task {
                docs,
                name: id(name),
                params,
                body,
                span: sp(),
            })
        ),
        binding(false).prop_map(Item::Let),
    ]
}

/// A random well-formed program.
pub(crate) fn file() -> impl Strategy<Value = File> {
    vec(item(), 1..4).prop_map(|items| File { items })
}

proptest! {
    #![proptest_config(config())]

    /// Printing a random AST gives source that parses, back to the same tree (spans aside,
    /// compared through the S-expression dump), and printing that gives the same text.
    #[test]
    fn printed_ast_parses_back_to_the_same_tree(file in file()) {
        let printed = format::source(&file);
        let reparsed = parse_text(&printed)
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- printed:\n{printed}")))?;
        prop_assert_eq!(&format::source(&reparsed), &printed);
        prop_assert_eq!(
            strip_spans(&format::sexpr(&reparsed)),
            strip_spans(&format::sexpr(&file)),
            "printed:\n{}", printed
        );
    }

    /// On a valid file, the parser (which reads in chunks) reports nothing and gives the
    /// tree of one parse of the grammar's `file` rule, spans included.
    #[test]
    fn chunked_parse_of_a_valid_file_is_the_whole_file_parse(file in file()) {
        let printed = format::source(&file);
        let mut sources = SourceMap::new();
        let sid = sources.add(SourceFile::new("test.flow", None, printed.as_str()));
        let (recovered, errors) = flowc::parse::parse_recovering(sid, sources.get(sid));
        prop_assert!(errors.is_empty(), "printed:\n{}", printed);
        let whole = flowc::parse::parse_whole(&printed);
        prop_assert_eq!(Some(recovered), whole);
    }
}

proptest! {
    #![proptest_config(config())]

    /// Comments (above lines and trailing them) and blank lines sprinkled through a random
    /// program: `format::format` keeps every comment, in order, gives back the same tree,
    /// and formatting its output changes nothing.
    #[test]
    fn formatting_keeps_comments_and_tree(file in file(), marks in vec(0u8..5, 64)) {
        let printed = format::source(&file);
        let mut text = String::new();
        for (i, line) in printed.lines().enumerate() {
            let mark = marks[i % marks.len()];
            match mark {
                0 => text.push_str(&format!("// above {i}\n")),
                1 => text.push('\n'),
                _ => {}
            }
            text.push_str(line);
            if mark == 2 {
                text.push_str(&format!(" // after {i}"));
            }
            text.push('\n');
        }
        let parsed = parse_text(&text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- text:\n{text}")))?;
        let once = format::format(&parsed, &text);
        let reparsed = parse_text(&once)
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- formatted:\n{once}")))?;
        prop_assert_eq!(
            strip_spans(&format::sexpr(&reparsed)),
            strip_spans(&format::sexpr(&parsed)),
            "text:\n{}\nformatted:\n{}", text, once
        );
        prop_assert_eq!(format::comments(&once), format::comments(&text), "formatted:\n{}", once);
        prop_assert_eq!(format::format(&reparsed, &once), once);
    }
}

// -----------------------------------------------------------------------------------------
// (b) Arbitrary text never panics the front end, and every span lies within the text
// -----------------------------------------------------------------------------------------

/// Serves the embedded standard library and refuses everything else, so nothing touches
/// the filesystem.
struct StdOnly;

impl Loader for StdOnly {
    fn load(
        &self,
        _importer: Option<&std::path::Path>,
        spec: &str,
    ) -> Result<Loaded, flowc::check::LoadError> {
        match flowc::stdlib::module(spec) {
            Some(text) => Ok(Loaded {
                name: format!("<{spec}>"),
                path: None,
                key: spec.to_string(),
                text: text.to_string(),
            }),
            None => Err(flowc::check::LoadError::NotFound(vec![
                "nowhere (this test loads only the standard library)".into(),
            ])),
        }
    }
}

/// Every label lies within its file, on character boundaries, and renders in every format.
fn check_diagnostics(sources: &SourceMap, diags: &Diagnostics) -> Result<(), TestCaseError> {
    let opts = RenderOptions {
        color: false,
        width: 80,
    };
    for d in diags.iter() {
        let text = &sources.get(d.source).text;
        if let Some(labels) = d.inner.labels() {
            for l in labels {
                let (start, end) = (l.offset(), l.offset() + l.len());
                prop_assert!(
                    end <= text.len(),
                    "{}: label {}..{} outside a text of {} bytes",
                    d.code(),
                    start,
                    end,
                    text.len()
                );
                prop_assert!(
                    text.is_char_boundary(start) && text.is_char_boundary(end),
                    "{}: label {}..{} splits a character",
                    d.code(),
                    start,
                    end
                );
            }
        }
        for format in [Format::Human, Format::Json, Format::Github] {
            render(d, sources, format, opts);
        }
    }
    Ok(())
}

/// Runs the front end on `text` as `flowc check` does: the recovering parser, then the
/// checker and lowering on what parsed. Nothing may panic, every diagnostic must point
/// inside the text, and the recovering parser must agree with `parse` and with one parse
/// of the whole file: no errors and the same tree, or errors for all three.
fn front_end(text: &str) -> Result<(), TestCaseError> {
    let mut sources = SourceMap::new();
    let sid = sources.add(SourceFile::new("input.flow", None, text));
    let (recovered, errors) = flowc::parse::parse_recovering(sid, sources.get(sid));
    let whole = flowc::parse::parse_whole(text);
    match flowc::parse::parse(sid, sources.get(sid)) {
        Ok(file) => {
            prop_assert!(errors.is_empty());
            prop_assert_eq!(&file, &recovered);
            prop_assert_eq!(Some(file), whole);
        }
        Err(diags) => {
            prop_assert!(!errors.is_empty());
            prop_assert!(
                whole.is_none(),
                "the whole-file parse accepts what the parser rejects"
            );
            check_diagnostics(&sources, &diags)?;
        }
    }
    let diags = match flowc::compile(&mut sources, sid, &StdOnly) {
        Ok(lowered) => lowered.warnings,
        Err(d) => d,
    };
    check_diagnostics(&sources, &diags)
}

const DEPLOY: &str = include_str!("../../examples/deploy.flow");

/// Fragments worth inserting: tokens, openers without closers, escapes, keywords.
pub(crate) const FRAGMENTS: &[&str] = &[
    "\"",
    "${",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    "\\",
    "\\u{",
    "\\u{110000}",
    "//",
    "///",
    "\n",
    ",",
    ":",
    "=",
    "==",
    "<",
    "-",
    "!",
    ".",
    "1_000",
    "1.5",
    "99999999999999999999",
    "5x",
    "1h30",
    "step",
    "workflow",
    "task",
    "let",
    "secret",
    "import",
    "after",
    "when",
    "for",
    "in",
    "max",
    "if",
    "else",
    "finally",
    "on_failure_of",
    "retry",
    "backoff",
    "jitter",
    "env",
    "outputs",
    "é",
    "😀",
    "\u{0}",
    "\r\n",
];

#[derive(Clone, Debug)]
enum Edit {
    Delete(Index, usize),
    Insert(Index, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), 1usize..40).prop_map(|(at, len)| Edit::Delete(at, len)),
        (
            any::<Index>(),
            prop_oneof![
                3 => select(FRAGMENTS).prop_map(str::to_string),
                1 => "\\PC{0,8}",
            ]
        )
            .prop_map(|(at, s)| Edit::Insert(at, s)),
    ]
}

/// The nearest char boundary at or before `at`.
pub(crate) fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(base: &str, edits: &[Edit]) -> String {
    let mut text = base.to_string();
    for e in edits {
        match e {
            Edit::Delete(at, len) => {
                let start = floor_boundary(&text, at.index(text.len() + 1));
                let end = floor_boundary(&text, start + len);
                text.replace_range(start..end, "");
            }
            Edit::Insert(at, s) => {
                let at = floor_boundary(&text, at.index(text.len() + 1));
                text.insert_str(at, s);
            }
        }
    }
    text
}

/// Random text: printable ASCII, any Unicode, or a soup of tokens.
fn garbage() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~\n\t]{0,200}",
        any::<String>(),
        vec(select(FRAGMENTS), 0..60).prop_map(|toks| toks.join(" ")),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary text never panics (the recovering parser, and the checker on what it
    /// recovers), and its diagnostics point inside it.
    #[test]
    fn arbitrary_text_never_panics(text in garbage()) {
        front_end(&text)?;
    }

    /// Small random edits of a real file never panic, and diagnostics point inside it.
    #[test]
    fn edited_example_never_panics(edits in vec(edit(), 1..6)) {
        let text = apply(DEPLOY, &edits);
        front_end(&text)?;
    }
    /// Random edits of a real file (comment markers, line breaks and brackets among
    /// them) that still parse format faithfully: same tree, same comments, idempotent.
    #[test]
    fn edited_example_formats_faithfully(edits in vec(edit(), 1..6)) {
        let text = apply(DEPLOY, &edits);
        if let Ok(parsed) = parse_text(&text) {
            let once = format::format(&parsed, &text);
            let reparsed = parse_text(&once)
                .map_err(|e| TestCaseError::fail(format!("{e}\n--- formatted:\n{once}")))?;
            prop_assert_eq!(
                strip_spans(&format::sexpr(&reparsed)),
                strip_spans(&format::sexpr(&parsed)),
                "text:\n{}\nformatted:\n{}", text, once
            );
            prop_assert_eq!(format::comments(&once), format::comments(&text), "text:\n{}\nformatted:\n{}", text, once);
            prop_assert_eq!(format::format(&reparsed, &once), once);
        }
    }
}

// -----------------------------------------------------------------------------------------
// Every real file round-trips through the printer
// -----------------------------------------------------------------------------------------

/// Every `.flow` file under `dir`, recursively.
pub(crate) fn flow_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            flow_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "flow") {
            out.push(path);
        }
    }
}

/// Every example and UI fixture that parses prints to source that parses back to the same
/// tree, and printing is idempotent.
#[test]
fn example_files_round_trip_through_the_printer() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    flow_files(&root.join("examples"), &mut files);
    flow_files(&root.join("tests/ui"), &mut files);
    files.sort();
    let mut parsed = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("fixture is readable");
        let Ok(file) = parse_text(&text) else {
            continue;
        };
        parsed += 1;
        let printed = format::source(&file);
        let reparsed = parse_text(&printed).unwrap_or_else(|e| {
            panic!(
                "{}: printed source does not parse:\n{e}\n--- printed:\n{printed}",
                path.display()
            )
        });
        assert_eq!(
            format::source(&reparsed),
            printed,
            "{}: printing is not idempotent",
            path.display()
        );
        assert_eq!(
            strip_spans(&format::sexpr(&reparsed)),
            strip_spans(&format::sexpr(&file)),
            "{}: the printed source parses to a different tree",
            path.display()
        );
    }
    assert!(parsed >= 5, "only {parsed} files parsed");
}
