//! Printing the AST back out: [`source`] writes canonical `.flow` text, [`format`] does the
//! same with the comments and blank lines of the original text put back (`flowc fmt`), and
//! [`sexpr`] writes a compact S-expression dump for snapshot tests.
//!
//! [`source`] is faithful: parsing its output gives back the same tree, spans aside, for
//! every tree the parser can produce. It is canonical, not a reproduction of the original
//! text: layout, parentheses, number spellings and string escapes are normalised, and `//`
//! comments are lost because the AST does not keep them (`///` doc comments are kept);
//! [`format`] recovers them from the text by position ([`Trivia`]).
//!
//! ```
//! use flowc::source::{SourceFile, SourceMap};
//!
//! let mut sources = SourceMap::new();
//! let text = "workflow w { step s { run \"echo ${1+2*3}\"  retry (2) timeout 90000ms } }";
//! let id = sources.add(SourceFile::new("w.flow", None, text));
//! let file = flowc::parse::parse(id, sources.get(id)).expect("parses");
//! assert_eq!(
//!     flowc::format::source(&file),
//!     "workflow w {\n  step s {\n    run \"echo ${1 + 2 * 3}\"\n    retry 2\n    timeout 1m30s\n  }\n}\n"
//! );
//! ```

use std::fmt::Write as _;

mod layout;
mod trivia;

use crate::ast::*;
use crate::source::Span;
pub use trivia::{Comment, Trivia};

/// Prints `file` as canonical `.flow` source: two-space indentation; a blank line between
/// items (but not between imports, or undocumented constants); one attribute per line, except
/// a body with a single attribute and a `defaults` block, which stay on one line when it
/// fits in 100 columns (`step s { run "x" }`, `defaults { timeout 1m  max_parallel 2 }`);
/// parameters one per line when there are several, or docs; a list or call that does not
/// fit one item per line, and so the branches of an interpolated `if`; `///` doc comments
/// kept and `//` comments lost (the AST has none; see [`format`]). Strings are re-escaped
/// (`\n \t \r \0 \\ \" \$`, other control characters as `\u{..}`), durations are written
/// in units from days down to milliseconds (`1m30s`), floats always with a `.` and enough
/// digits to read back the same value, and expressions with only the parentheses that
/// precedence requires, and around `&&` inside `||`.
///
/// Parsing the result gives back `file` (spans aside) whenever `file` could have come from
/// the parser. Trees it could not have come from print as close as the syntax allows:
/// negative number literals print as a negation, a `secret` binding's type (which the
/// syntax has no place for) is dropped, non-finite floats print as `inf`/`NaN`, and names
/// that are not valid identifiers are printed as they are.
pub fn source(file: &File) -> String {
    layout::Layout::new(None).file(file)
}

/// Formats a file the way `flowc fmt` does: the canonical layout of [`source`], with the
/// `//` comments and blank lines of `text`, the source `file` was parsed from, put back.
/// Comments stay in order, each above the line-level node it preceded (or, when it
/// trailed a line in the source, at the end of that node's last line); comments inside
/// a node printed on one line move above it. Blank lines between nodes are kept (at most
/// one); top-level items other than imports and undocumented constants are always
/// separated by one. Numbers and durations keep their spelling (`90m`, `1_000`).
///
/// ```
/// use flowc::source::{SourceFile, SourceId};
///
/// let text = "workflow w {\n\n\n  // why\n  step s {run \"a\"} // how\n}";
/// let file = flowc::parse::parse(SourceId(0), &SourceFile::new("w.flow", None, text)).expect("parses");
/// assert_eq!(
///     flowc::format::format(&file, text),
///     "workflow w {\n  // why\n  step s { run \"a\" } // how\n}\n"
/// );
/// ```
pub fn format(file: &File, text: &str) -> String {
    let trivia = Trivia::scan(text);
    layout::Layout::new(Some(&trivia)).file(file)
}

/// The `//` comments of `text` (not `///` doc comments, not string contents), in order.
pub fn comments(text: &str) -> Vec<String> {
    Trivia::scan(text)
        .comments()
        .iter()
        .map(|c| c.text.clone())
        .collect()
}

/// [`sexpr`] without the `@start..end` spans: equal for two trees that differ only in
/// where their nodes were written.
pub fn sexpr_without_spans(file: &File) -> String {
    let text = sexpr(file);
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(" @") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let len = after
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(after.len());
        if len > 0 && after[..len].contains("..") {
            rest = &after[len..];
        } else {
            out.push_str(" @");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Dumps `file` as S-expressions, one item, parameter, step, clause and attribute per line,
/// indented by nesting, for snapshot tests and debugging. Items, parameters, steps, clauses,
/// calls and attributes carry their byte spans as `@start..end`; expressions do not.
///
/// ```text
/// (step build @120..260
///   (run @140..180 (str "docker build -t " ${image} " ."))
///   (retry @185..230 3 (backoff exponential 2s (max: 30s)) jitter))
/// ```
///
/// Expressions are prefix forms: `(+ a b)`, `(neg x)`, `(! x)`, `(. x field)`, `([] x i)`,
/// `(call f a (name: b))`, `(if c a b)`, `(list ...)`, `(map (key: v) ...)`, `(str "text"
/// ${e} ...)`; plain strings, numbers, durations and names print as in source.
pub fn sexpr(file: &File) -> String {
    let mut out = String::new();
    for item in &file.items {
        render(&mut out, &sx_item(item), 0);
        out.push('\n');
    }
    out
}

// -----------------------------------------------------------------------------------------
// Shared pieces
// -----------------------------------------------------------------------------------------

const OR: u8 = 1;
const AND: u8 = 2;
const CMP: u8 = 3;
const ADD: u8 = 4;
const MUL: u8 = 5;
const PREFIX: u8 = 6;
const POSTFIX: u8 = 7;
const ATOM: u8 = 8;

fn binop_prec(op: BinOp) -> u8 {
    match op {
        BinOp::Or => OR,
        BinOp::And => AND,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => CMP,
        BinOp::Add | BinOp::Sub => ADD,
        BinOp::Mul | BinOp::Div | BinOp::Rem => MUL,
    }
}

/// How tightly an expression binds as printed; `if` ends in `}` and so is a primary.
fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, ..) => binop_prec(*op),
        ExprKind::Unary(..) => PREFIX,
        ExprKind::Int(i) if *i < 0 => PREFIX,
        ExprKind::Float(f) if f.is_sign_negative() && !f.is_nan() => PREFIX,
        ExprKind::Field(..) | ExprKind::Index(..) | ExprKind::Call(..) => POSTFIX,
        _ => ATOM,
    }
}

/// True for text the grammar's `word` rule matches: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_word(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A float that reads back as the same value and always has a `.`.
fn float_text(f: f64) -> String {
    let mut s = format!("{f}");
    if f.is_finite() && !s.contains('.') {
        s.push_str(".0");
    }
    s
}

/// Milliseconds as `1d2h3m4s5ms`, largest unit first, zero parts left out; `0s` for zero.
pub(crate) fn duration_text(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, scale) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        let n = rest / scale;
        rest %= scale;
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
        }
    }
    out
}

/// Escapes literal string text: `\n \t \r \0 \\ \"`, `$` before `{` as `\$`, other control
/// characters as `\u{..}`.
fn escape_into(out: &mut String, text: &str) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// `text` as a string literal without interpolation.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    escape_into(&mut out, text);
    out.push('"');
    out
}

/// A map or env key (or a record's field name): bare when it is a word, quoted otherwise.
pub fn key_text(key: &str) -> String {
    if is_word(key) {
        key.to_string()
    } else {
        quoted(key)
    }
}

/// A type as written: `list<string>`, `record { name: string, replicas: int }` (fields
/// in the order written, on one line).
pub fn type_text(ty: &TypeExpr) -> String {
    if let Some(fields) = &ty.fields {
        if fields.is_empty() {
            return "record {}".to_string();
        }
        let fields: Vec<String> = fields
            .iter()
            .map(|f| format!("{}: {}", key_text(&f.name.name), type_text(&f.ty)))
            .collect();
        return format!("record {{ {} }}", fields.join(", "));
    }
    match &ty.arg {
        Some(arg) => format!("{}<{}>", ty.name.name, type_text(arg)),
        None => ty.name.name.clone(),
    }
}

fn path_text(path: &Path) -> String {
    match &path.module {
        Some(m) => format!("{}.{}", m.name, path.name.name),
        None => path.name.name.clone(),
    }
}

fn span_text(span: Span) -> String {
    format!("@{}..{}", span.start, span.end)
}

fn param_text(p: &Param, src: Option<&str>) -> String {
    match &p.default {
        Some(d) => format!(
            "{}: {} = {}",
            p.name.name,
            type_text(&p.ty),
            expr_text(d, src)
        ),
        None => format!("{}: {}", p.name.name, type_text(&p.ty)),
    }
}

fn args_text(args: &[Arg], src: Option<&str>) -> String {
    let mut out = String::new();
    write_args(&mut out, args, src);
    out
}

/// Writes call arguments into `out` (one buffer, so nested calls stay linear).
fn write_args(out: &mut String, args: &[Arg], src: Option<&str>) {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if let Some(name) = &a.name {
            out.push_str(&name.name);
            out.push_str(": ");
        }
        write_expr(out, &a.value, src);
    }
}

/// Prints one expression as canonical source text, on one line: `target == "prod"`.
pub fn expr(e: &Expr) -> String {
    expr_text(e, None)
}

fn expr_text(e: &Expr, src: Option<&str>) -> String {
    let mut out = String::new();
    write_expr(&mut out, e, src);
    out
}

/// The callee of a call, parenthesised unless it binds as tightly as a postfix operator.
fn callee_text(e: &Expr, src: Option<&str>) -> String {
    let mut out = String::new();
    write_operand(&mut out, e, POSTFIX, src);
    out
}

/// Writes `e`, parenthesised when it binds less tightly than `min` requires.
fn write_operand(out: &mut String, e: &Expr, min: u8, src: Option<&str>) {
    if prec(e) < min {
        out.push('(');
        write_expr(out, e, src);
        out.push(')');
    } else {
        write_expr(out, e, src);
    }
}

/// The literal as written in `src`, for a number or duration parsed from it: `90m` stays
/// `90m` and `1_000` stays `1_000` (their values are what the tree holds either way).
fn literal<'s>(e: &Expr, src: Option<&'s str>) -> Option<&'s str> {
    let text = src?.get(e.span.start as usize..e.span.end as usize)?;
    let mut chars = text.chars();
    let number = chars.next().is_some_and(|c| c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    number.then_some(text)
}

fn write_expr(out: &mut String, e: &Expr, src: Option<&str>) {
    if let ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Duration(_) = e.kind {
        if let Some(text) = literal(e, src) {
            out.push_str(text);
            return;
        }
    }
    match &e.kind {
        ExprKind::Int(i) => {
            let _ = write!(out, "{i}");
        }
        ExprKind::Float(f) => out.push_str(&float_text(*f)),
        ExprKind::Duration(ms) => out.push_str(&duration_text(*ms)),
        ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ExprKind::Str(parts) => write_string(out, parts, src),
        ExprKind::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, item, src);
            }
            out.push(']');
        }
        ExprKind::Map(entries) => {
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{ ");
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&key_text(&k.name));
                out.push_str(": ");
                write_expr(out, v, src);
            }
            out.push_str(" }");
        }
        ExprKind::Name(n) => out.push_str(n),
        ExprKind::Workflow => out.push_str("workflow"),
        ExprKind::Field(base, f) => {
            write_operand(out, base, POSTFIX, src);
            out.push('.');
            out.push_str(&f.name);
        }
        ExprKind::Index(base, idx) => {
            write_operand(out, base, POSTFIX, src);
            out.push('[');
            write_expr(out, idx, src);
            out.push(']');
        }
        ExprKind::Call(callee, args) => {
            write_operand(out, callee, POSTFIX, src);
            out.push('(');
            write_args(out, args, src);
            out.push(')');
        }
        ExprKind::Unary(op, inner) => {
            out.push(match op {
                UnOp::Not => '!',
                UnOp::Neg => '-',
            });
            write_operand(out, inner, PREFIX, src);
        }
        ExprKind::Binary(op, l, r) => {
            let p = binop_prec(*op);
            // Comparisons do not chain, so a comparison on either side needs parentheses;
            // everything is left-associative, so an equal operator on the right does too.
            let left_min = if op.is_comparison() { p + 1 } else { p };
            // `a || (b && c)`: the parentheses are not needed, but say how it reads.
            let and_in_or =
                |e: &Expr| *op == BinOp::Or && matches!(e.kind, ExprKind::Binary(BinOp::And, ..));
            write_operand(out, l, if and_in_or(l) { ATOM } else { left_min }, src);
            let _ = write!(out, " {} ", op.symbol());
            write_operand(out, r, if and_in_or(r) { ATOM } else { p + 1 }, src);
        }
        ExprKind::If(c, a, b) => {
            out.push_str("if ");
            write_expr(out, c, src);
            out.push_str(" { ");
            write_expr(out, a, src);
            out.push_str(" } else ");
            if matches!(b.kind, ExprKind::If(..)) {
                write_expr(out, b, src);
            } else {
                out.push_str("{ ");
                write_expr(out, b, src);
                out.push_str(" }");
            }
        }
    }
}

/// A string literal; adjacent text parts are joined first, so that `$` ending one and `{`
/// starting the next still come out as `\${`.
fn write_string(out: &mut String, parts: &[StrPart], src: Option<&str>) {
    out.push('"');
    let mut text = String::new();
    for part in parts {
        match part {
            StrPart::Text(t) => text.push_str(t),
            StrPart::Interp(e) => {
                escape_into(out, &text);
                text.clear();
                out.push_str("${");
                write_expr(out, e, src);
                out.push('}');
            }
        }
    }
    escape_into(out, &text);
    out.push('"');
}

// -----------------------------------------------------------------------------------------
// S-expressions
// -----------------------------------------------------------------------------------------

/// One printed node: a complete line, or an open head whose children follow, indented, and
/// whose closing paren ends the last of them.
enum Sx {
    Leaf(String),
    Node(String, Vec<Sx>),
}

/// Writes `sx` indented by `depth`, without a trailing newline.
fn render(out: &mut String, sx: &Sx, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
    match sx {
        Sx::Leaf(text) => out.push_str(text),
        Sx::Node(head, children) => {
            out.push_str(head);
            for child in children {
                out.push('\n');
                render(out, child, depth + 1);
            }
            out.push(')');
        }
    }
}

fn sx_docs(docs: &Docs, children: &mut Vec<Sx>) {
    if !docs.0.is_empty() {
        let lines: Vec<String> = docs.0.iter().map(|l| quoted(l)).collect();
        children.push(Sx::Leaf(format!("(doc {})", lines.join(" "))));
    }
}

fn sx_item(item: &Item) -> Sx {
    match item {
        Item::Import(i) => {
            let mut children = Vec::new();
            sx_docs(&i.docs, &mut children);
            Sx::Node(
                format!(
                    "(import {} as {} {}",
                    quoted(&i.path),
                    i.alias.name,
                    span_text(i.span)
                ),
                children,
            )
        }
        Item::Workflow(w) => {
            let mut children = Vec::new();
            sx_docs(&w.docs, &mut children);
            children.extend(w.params.iter().map(sx_param));
            for wi in &w.body {
                children.push(match wi {
                    WorkflowItem::Defaults(d) => Sx::Node(
                        format!("(defaults {}", span_text(d.span)),
                        d.attrs.iter().map(sx_attr).collect(),
                    ),
                    WorkflowItem::Binding(b) => sx_binding(b),
                    WorkflowItem::Step(s) => sx_step(s),
                    WorkflowItem::Outputs(o) => Sx::Node(
                        format!("(outputs {}", span_text(o.span)),
                        o.decls.iter().map(sx_output).collect(),
                    ),
                    WorkflowItem::Concurrency(c) => Sx::Node(
                        match c.policy {
                            Some((p, _)) => {
                                format!("(concurrency {} {}", p.name(), span_text(c.span))
                            }
                            None => format!("(concurrency {}", span_text(c.span)),
                        },
                        vec![Sx::Leaf(sx_expr(&c.group))],
                    ),
                    WorkflowItem::Setting(a) => sx_attr(a),
                });
            }
            Sx::Node(
                format!("(workflow {} {}", w.name.name, span_text(w.span)),
                children,
            )
        }
        Item::Task(t) => {
            let mut children = Vec::new();
            sx_docs(&t.docs, &mut children);
            children.extend(t.params.iter().map(sx_param));
            children.extend(t.body.iter().map(sx_attr));
            Sx::Node(
                format!("(task {} {}", t.name.name, span_text(t.span)),
                children,
            )
        }
        Item::Let(b) => sx_binding(b),
        Item::Policy(p) => {
            let mut children = Vec::new();
            sx_docs(&p.docs, &mut children);
            children.push(sx_attr(&policy_attr(p)));
            Sx::Node(
                format!("(policy {} {}", p.name.name, span_text(p.span)),
                children,
            )
        }
    }
}

/// A policy's retry clause as an attribute, to print it like one.
pub(crate) fn policy_attr(p: &Policy) -> Attr {
    Attr {
        kind: AttrKind::Retry(Box::new(p.retry.clone())),
        span: p.span,
        keyword: p.name.span,
    }
}

fn sx_param(p: &Param) -> Sx {
    let mut children = Vec::new();
    sx_docs(&p.docs, &mut children);
    let mut head = format!(
        "(param {}: {} {}",
        p.name.name,
        type_text(&p.ty),
        span_text(p.span)
    );
    if let Some(d) = &p.default {
        head.push(' ');
        head.push_str(&sx_expr(d));
    }
    Sx::Node(head, children)
}

fn sx_binding(b: &Binding) -> Sx {
    let mut children = Vec::new();
    sx_docs(&b.docs, &mut children);
    let kw = match b.kind {
        BindingKind::Let => "let",
        BindingKind::Secret => "secret",
    };
    let ty =
        b.ty.as_ref()
            .map(|t| format!(": {}", type_text(t)))
            .unwrap_or_default();
    Sx::Node(
        format!(
            "({kw} {}{ty} {} {}",
            b.name.name,
            span_text(b.span),
            sx_expr(&b.value)
        ),
        children,
    )
}

fn sx_step(s: &Step) -> Sx {
    let mut children = Vec::new();
    sx_docs(&s.docs, &mut children);
    for c in &s.clauses {
        children.push(Sx::Leaf(match c {
            Clause::After(names, span) => {
                let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
                format!("(after {} {})", names.join(" "), span_text(*span))
            }
            Clause::When(e, span) => format!("(when {} {})", span_text(*span), sx_expr(e)),
            Clause::For(f) => {
                let max = f
                    .max
                    .as_ref()
                    .map(|m| format!(" (max {})", sx_expr(m)))
                    .unwrap_or_default();
                format!(
                    "(for {} {} {}{max})",
                    f.var.name,
                    span_text(f.span),
                    sx_expr(&f.list)
                )
            }
            Clause::Compensates(target, span) => {
                format!("(on_failure_of {} {})", target.name, span_text(*span))
            }
        }));
    }
    if let Some(call) = &s.call {
        children.push(Sx::Leaf(format!(
            "(call {} {}{})",
            path_text(&call.callee),
            span_text(call.span),
            sx_args(&call.args)
        )));
    }
    children.extend(s.attrs.iter().map(sx_attr));
    let finally = if s.finally.is_some() { "finally " } else { "" };
    Sx::Node(
        format!("({finally}step {} {}", s.name.name, span_text(s.span)),
        children,
    )
}

fn sx_attr(a: &Attr) -> Sx {
    let head = format!("({} {}", a.kind.keyword(), span_text(a.span));
    match &a.kind {
        AttrKind::Run(e)
        | AttrKind::Exec(e)
        | AttrKind::Sleep(e)
        | AttrKind::Approve(e)
        | AttrKind::Native(e)
        | AttrKind::Timeout(e)
        | AttrKind::MaxParallel(e)
        | AttrKind::Checkpoint(e)
        | AttrKind::Priority(e)
        | AttrKind::Dir(e)
        | AttrKind::MaxFailures(e) => Sx::Leaf(format!("{head} {})", sx_expr(e))),
        AttrKind::Retry(r) => {
            let mut text = format!("{head} {}", sx_expr(&r.count));
            if let Some(b) = &r.backoff {
                let _ = write!(
                    text,
                    " (backoff {}{})",
                    path_text(&b.callee),
                    sx_args(&b.args)
                );
            }
            if r.jitter.is_some() {
                text.push_str(" jitter");
            }
            if let Some(c) = &r.condition {
                let _ = write!(text, " (if {})", sx_expr(c));
            }
            text.push(')');
            Sx::Leaf(text)
        }
        AttrKind::Env(entries) => {
            let mut text = head;
            for e in entries {
                let _ = write!(text, " ({}: {})", key_text(&e.name.name), sx_expr(&e.value));
            }
            text.push(')');
            Sx::Leaf(text)
        }
        AttrKind::Outputs(outs) => Sx::Node(head, outs.iter().map(sx_output).collect()),
        AttrKind::OnFailure(target, None) => Sx::Leaf(format!("{head} {})", target.name)),
        AttrKind::OnFailure(target, Some(c)) => {
            Sx::Leaf(format!("{head} {} (if {}))", target.name, sx_expr(c)))
        }
    }
}

/// ` a (name: b)`: each argument preceded by a space.
fn sx_args(args: &[Arg]) -> String {
    let mut out = String::new();
    write_sx_args(&mut out, args);
    out
}

fn write_sx_args(out: &mut String, args: &[Arg]) {
    for a in args {
        match &a.name {
            Some(n) => {
                let _ = write!(out, " ({}: ", n.name);
                write_sx_expr(out, &a.value);
                out.push(')');
            }
            None => {
                out.push(' ');
                write_sx_expr(out, &a.value);
            }
        }
    }
}

fn sx_expr(e: &Expr) -> String {
    let mut out = String::new();
    write_sx_expr(&mut out, e);
    out
}

/// Writes the S-expression of `e` into `out`: one buffer for the whole tree, so a chain
/// of 64,000 `+` costs its length, not its length times its depth.
fn write_sx_expr(out: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Int(i) => {
            let _ = write!(out, "{i}");
        }
        ExprKind::Float(f) => out.push_str(&float_text(*f)),
        ExprKind::Duration(ms) => out.push_str(&duration_text(*ms)),
        ExprKind::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        ExprKind::Str(parts) => match parts.as_slice() {
            [] => out.push_str("\"\""),
            [StrPart::Text(t)] => out.push_str(&quoted(t)),
            _ => {
                out.push_str("(str");
                for part in parts {
                    out.push(' ');
                    match part {
                        StrPart::Text(t) => out.push_str(&quoted(t)),
                        StrPart::Interp(e) => {
                            out.push_str("${");
                            write_sx_expr(out, e);
                            out.push('}');
                        }
                    }
                }
                out.push(')');
            }
        },
        ExprKind::List(items) => {
            out.push_str("(list");
            for item in items {
                out.push(' ');
                write_sx_expr(out, item);
            }
            out.push(')');
        }
        ExprKind::Map(entries) => {
            out.push_str("(map");
            for (k, v) in entries {
                let _ = write!(out, " ({}: ", key_text(&k.name));
                write_sx_expr(out, v);
                out.push(')');
            }
            out.push(')');
        }
        ExprKind::Name(n) => out.push_str(n),
        ExprKind::Workflow => out.push_str("workflow"),
        ExprKind::Field(base, f) => {
            out.push_str("(. ");
            write_sx_expr(out, base);
            let _ = write!(out, " {})", f.name);
        }
        ExprKind::Index(base, idx) => {
            out.push_str("([] ");
            write_sx_expr(out, base);
            out.push(' ');
            write_sx_expr(out, idx);
            out.push(')');
        }
        ExprKind::Call(callee, args) => {
            out.push_str("(call ");
            write_sx_expr(out, callee);
            write_sx_args(out, args);
            out.push(')');
        }
        ExprKind::Unary(op, inner) => {
            out.push_str(match op {
                UnOp::Not => "(! ",
                UnOp::Neg => "(neg ",
            });
            write_sx_expr(out, inner);
            out.push(')');
        }
        ExprKind::Binary(op, l, r) => {
            let _ = write!(out, "({} ", op.symbol());
            write_sx_expr(out, l);
            out.push(' ');
            write_sx_expr(out, r);
            out.push(')');
        }
        ExprKind::If(c, a, b) => {
            out.push_str("(if ");
            write_sx_expr(out, c);
            out.push(' ');
            write_sx_expr(out, a);
            out.push(' ');
            write_sx_expr(out, b);
            out.push(')');
        }
    }
}

/// One declared output: `(name: type)`, or `(name: type = expr)` in a workflow.
fn sx_output(o: &OutputDecl) -> Sx {
    let mut children = Vec::new();
    sx_docs(&o.docs, &mut children);
    let head = match &o.value {
        Some(v) => format!("({}: {} = {}", o.name.name, type_text(&o.ty), sx_expr(v)),
        None => format!("({}: {}", o.name.name, type_text(&o.ty)),
    };
    Sx::Node(head, children)
}
