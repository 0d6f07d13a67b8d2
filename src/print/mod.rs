//! Printing the AST back out: [`source`] writes canonical `.flow` text (the formatter's
//! output), [`sexpr`] writes a compact S-expression dump for snapshot tests.
//!
//! [`source`] is faithful: parsing its output gives back the same tree, spans aside, for
//! every tree the parser can produce. It is canonical, not a reproduction of the original
//! text: layout, parentheses, number spellings and string escapes are normalised, and `//`
//! comments are lost because the AST does not keep them (`///` doc comments are kept).
//!
//! ```
//! use flowc::source::{SourceFile, SourceMap};
//!
//! let mut sources = SourceMap::new();
//! let text = "workflow w { step s { run \"echo ${1+2*3}\"  retry (2) timeout 90000ms } }";
//! let id = sources.add(SourceFile::new("w.flow", None, text));
//! let file = flowc::parse::parse(id, sources.get(id)).expect("parses");
//! assert_eq!(
//!     flowc::print::source(&file),
//!     "workflow w {\n  step s {\n    run \"echo ${1 + 2 * 3}\"\n    retry 2\n    timeout 1m30s\n  }\n}\n"
//! );
//! ```

use std::fmt::Write as _;

use crate::ast::*;
use crate::source::Span;

/// Prints `file` as canonical `.flow` source: two-space indentation, one attribute per line,
/// a blank line between items, `///` doc comments kept and `//` comments lost (the AST has
/// none). Strings are re-escaped (`\n \t \r \0 \\ \" \$`, other control characters as
/// `\u{..}`), durations are written in units from days down to milliseconds (`1m30s`),
/// floats always with a `.` and enough digits to read back the same value, and expressions
/// with only the parentheses that precedence requires.
///
/// Parsing the result gives back `file` (spans aside) whenever `file` could have come from
/// the parser. Trees it could not have come from print as close as the syntax allows:
/// negative number literals print as a negation, a `secret` binding's type (which the
/// syntax has no place for) is dropped, non-finite floats print as `inf`/`NaN`, and names
/// that are not valid identifiers are printed as they are.
pub fn source(file: &File) -> String {
    let mut p = Src::default();
    let mut prev: Option<&Item> = None;
    for item in &file.items {
        if let Some(prev) = prev {
            if !grouped_items(prev, item) {
                p.out.push('\n');
            }
        }
        p.item(item);
        prev = Some(item);
    }
    p.out
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
fn duration_text(ms: u64) -> String {
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

/// A map or env key: bare when it is a word, quoted otherwise.
fn key_text(key: &str) -> String {
    if is_word(key) {
        key.to_string()
    } else {
        quoted(key)
    }
}

fn type_text(ty: &TypeExpr) -> String {
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

// -----------------------------------------------------------------------------------------
// Source
// -----------------------------------------------------------------------------------------

/// Consecutive items printed without a blank line between them.
fn grouped_items(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Import(_), Item::Import(x)) => x.docs.0.is_empty(),
        (Item::Let(_), Item::Let(x)) => x.docs.0.is_empty(),
        _ => false,
    }
}

fn grouped_body(a: &WorkflowItem, b: &WorkflowItem) -> bool {
    matches!((a, b), (WorkflowItem::Binding(_), WorkflowItem::Binding(x)) if x.docs.0.is_empty())
}

#[derive(Default)]
struct Src {
    out: String,
    indent: usize,
}

impl Src {
    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn docs(&mut self, docs: &Docs) {
        for l in &docs.0 {
            if l.is_empty() {
                self.line("///");
            } else {
                self.line(&format!("/// {l}"));
            }
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Import(i) => {
                self.docs(&i.docs);
                self.line(&format!("import {} as {}", quoted(&i.path), i.alias.name));
            }
            Item::Workflow(w) => {
                self.docs(&w.docs);
                let head = format!("workflow {}", w.name.name);
                self.params_header(&head, &w.params);
                if w.body.is_empty() {
                    self.out.push_str(" {}\n");
                    return;
                }
                self.out.push_str(" {\n");
                self.indent += 1;
                let mut prev: Option<&WorkflowItem> = None;
                for wi in &w.body {
                    if let Some(prev) = prev {
                        if !grouped_body(prev, wi) {
                            self.out.push('\n');
                        }
                    }
                    self.workflow_item(wi);
                    prev = Some(wi);
                }
                self.indent -= 1;
                self.line("}");
            }
            Item::Task(t) => {
                self.docs(&t.docs);
                let head = format!("task {}", t.name.name);
                self.params_header(&head, &t.params);
                self.out.push(' ');
                self.block_tail(&t.body);
            }
            Item::Let(b) => self.binding(b),
            Item::Policy(p) => {
                self.docs(&p.docs);
                self.params_header(&format!("policy {}", p.name.name), &[]);
                self.out.push(' ');
                self.block_tail(&[policy_attr(p)]);
            }
        }
    }

    /// Writes `head(params)` at the current indentation, without a line break: the caller
    /// continues the line with ` {`.
    fn params_header(&mut self, head: &str, params: &[Param]) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(head);
        if params.is_empty() {
            return;
        }
        if params.iter().all(|p| p.docs.0.is_empty()) {
            let list: Vec<String> = params.iter().map(param_text).collect();
            let _ = write!(self.out, "({})", list.join(", "));
            return;
        }
        self.out.push_str("(\n");
        self.indent += 1;
        for p in params {
            self.docs(&p.docs);
            self.line(&format!("{},", param_text(p)));
        }
        self.indent -= 1;
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push(')');
    }

    /// Continues the current line with `{ ATTRS }`: `{}` when empty, else one per line.
    fn block_tail(&mut self, attrs: &[Attr]) {
        if attrs.is_empty() {
            self.out.push_str("{}\n");
            return;
        }
        self.out.push_str("{\n");
        self.indent += 1;
        for a in attrs {
            self.attr(a);
        }
        self.indent -= 1;
        self.line("}");
    }

    fn workflow_item(&mut self, item: &WorkflowItem) {
        match item {
            WorkflowItem::Defaults(d) => {
                for _ in 0..self.indent {
                    self.out.push_str("  ");
                }
                self.out.push_str("defaults ");
                self.block_tail(&d.attrs);
            }
            WorkflowItem::Binding(b) => self.binding(b),
            WorkflowItem::Step(s) => self.step(s),
        }
    }

    fn binding(&mut self, b: &Binding) {
        self.docs(&b.docs);
        let text = match (b.kind, &b.ty) {
            (BindingKind::Let, Some(ty)) => format!(
                "let {}: {} = {}",
                b.name.name,
                type_text(ty),
                expr_text(&b.value)
            ),
            (BindingKind::Let, None) => format!("let {} = {}", b.name.name, expr_text(&b.value)),
            (BindingKind::Secret, _) => {
                format!("secret {} = {}", b.name.name, expr_text(&b.value))
            }
        };
        self.line(&text);
    }

    fn step(&mut self, s: &Step) {
        self.docs(&s.docs);
        let mut head = String::new();
        if s.finally.is_some() {
            head.push_str("finally ");
        }
        head.push_str("step ");
        head.push_str(&s.name.name);
        for c in &s.clauses {
            match c {
                Clause::After(names, _) => {
                    if !names.is_empty() {
                        let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
                        let _ = write!(head, " after {}", names.join(", "));
                    }
                }
                Clause::When(e, _) => {
                    let _ = write!(head, " when {}", expr_text(e));
                }
                Clause::For(f) => {
                    let _ = write!(head, " for {} in {}", f.var.name, expr_text(&f.list));
                    if let Some(max) = &f.max {
                        let _ = write!(head, " max {}", expr_text(max));
                    }
                }
                Clause::Compensates(target, _) => {
                    let _ = write!(head, " on_failure_of {}", target.name);
                }
            }
        }
        if let Some(call) = &s.call {
            let _ = write!(
                head,
                " = {}({})",
                path_text(&call.callee),
                args_text(&call.args)
            );
            if s.attrs.is_empty() {
                self.line(&head);
                return;
            }
        }
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(&head);
        self.out.push(' ');
        self.block_tail(&s.attrs);
    }

    fn attr(&mut self, a: &Attr) {
        let kw = a.kind.keyword();
        match &a.kind {
            AttrKind::Run(e)
            | AttrKind::Exec(e)
            | AttrKind::Sleep(e)
            | AttrKind::Approve(e)
            | AttrKind::Native(e)
            | AttrKind::Timeout(e)
            | AttrKind::MaxParallel(e) => self.line(&format!("{kw} {}", expr_text(e))),
            AttrKind::Retry(r) => {
                let mut text = format!("retry {}", expr_text(&r.count));
                if let Some(b) = &r.backoff {
                    let _ = write!(
                        text,
                        " backoff {}({})",
                        path_text(&b.callee),
                        args_text(&b.args)
                    );
                }
                if r.jitter.is_some() {
                    text.push_str(" jitter");
                }
                if let Some(c) = &r.condition {
                    let _ = write!(text, " if {}", expr_text(c));
                }
                self.line(&text);
            }
            AttrKind::Env(entries) => {
                if entries.is_empty() {
                    self.line("env {}");
                } else {
                    let list: Vec<String> = entries
                        .iter()
                        .map(|e| format!("{}: {}", key_text(&e.name.name), expr_text(&e.value)))
                        .collect();
                    self.line(&format!("env {{ {} }}", list.join(", ")));
                }
            }
            AttrKind::Outputs(outs) => {
                if outs.is_empty() {
                    self.line("outputs {}");
                } else if outs.iter().all(|o| o.docs.0.is_empty()) {
                    let list: Vec<String> = outs
                        .iter()
                        .map(|o| format!("{}: {}", o.name.name, type_text(&o.ty)))
                        .collect();
                    self.line(&format!("outputs {{ {} }}", list.join(", ")));
                } else {
                    self.line("outputs {");
                    self.indent += 1;
                    for o in outs {
                        self.docs(&o.docs);
                        self.line(&format!("{}: {}", o.name.name, type_text(&o.ty)));
                    }
                    self.indent -= 1;
                    self.line("}");
                }
            }
            AttrKind::OnFailure(target) => self.line(&format!("on_failure {}", target.name)),
        }
    }
}

fn param_text(p: &Param) -> String {
    match &p.default {
        Some(d) => format!("{}: {} = {}", p.name.name, type_text(&p.ty), expr_text(d)),
        None => format!("{}: {}", p.name.name, type_text(&p.ty)),
    }
}

fn args_text(args: &[Arg]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if let Some(name) = &a.name {
            out.push_str(&name.name);
            out.push_str(": ");
        }
        write_expr(&mut out, &a.value);
    }
    out
}

/// Prints one expression as canonical source text, on one line: `target == "prod"`.
pub fn expr(e: &Expr) -> String {
    expr_text(e)
}

fn expr_text(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e);
    out
}

/// Writes `e`, parenthesised when it binds less tightly than `min` requires.
fn write_operand(out: &mut String, e: &Expr, min: u8) {
    if prec(e) < min {
        out.push('(');
        write_expr(out, e);
        out.push(')');
    } else {
        write_expr(out, e);
    }
}

fn write_expr(out: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Int(i) => {
            let _ = write!(out, "{i}");
        }
        ExprKind::Float(f) => out.push_str(&float_text(*f)),
        ExprKind::Duration(ms) => out.push_str(&duration_text(*ms)),
        ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ExprKind::Str(parts) => write_string(out, parts),
        ExprKind::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, item);
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
                write_expr(out, v);
            }
            out.push_str(" }");
        }
        ExprKind::Name(n) => out.push_str(n),
        ExprKind::Workflow => out.push_str("workflow"),
        ExprKind::Field(base, f) => {
            write_operand(out, base, POSTFIX);
            out.push('.');
            out.push_str(&f.name);
        }
        ExprKind::Index(base, idx) => {
            write_operand(out, base, POSTFIX);
            out.push('[');
            write_expr(out, idx);
            out.push(']');
        }
        ExprKind::Call(callee, args) => {
            write_operand(out, callee, POSTFIX);
            out.push('(');
            out.push_str(&args_text(args));
            out.push(')');
        }
        ExprKind::Unary(op, inner) => {
            out.push(match op {
                UnOp::Not => '!',
                UnOp::Neg => '-',
            });
            write_operand(out, inner, PREFIX);
        }
        ExprKind::Binary(op, l, r) => {
            let p = binop_prec(*op);
            // Comparisons do not chain, so a comparison on either side needs parentheses;
            // everything is left-associative, so an equal operator on the right does too.
            let left_min = if op.is_comparison() { p + 1 } else { p };
            write_operand(out, l, left_min);
            let _ = write!(out, " {} ", op.symbol());
            write_operand(out, r, p + 1);
        }
        ExprKind::If(c, a, b) => {
            out.push_str("if ");
            write_expr(out, c);
            out.push_str(" { ");
            write_expr(out, a);
            out.push_str(" } else ");
            if matches!(b.kind, ExprKind::If(..)) {
                write_expr(out, b);
            } else {
                out.push_str("{ ");
                write_expr(out, b);
                out.push_str(" }");
            }
        }
    }
}

/// A string literal; adjacent text parts are joined first, so that `$` ending one and `{`
/// starting the next still come out as `\${`.
fn write_string(out: &mut String, parts: &[StrPart]) {
    out.push('"');
    let mut text = String::new();
    for part in parts {
        match part {
            StrPart::Text(t) => text.push_str(t),
            StrPart::Interp(e) => {
                escape_into(out, &text);
                text.clear();
                out.push_str("${");
                write_expr(out, e);
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
fn policy_attr(p: &Policy) -> Attr {
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
        | AttrKind::MaxParallel(e) => Sx::Leaf(format!("{head} {})", sx_expr(e))),
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
        AttrKind::Outputs(outs) => Sx::Node(
            head,
            outs.iter()
                .map(|o| {
                    let mut children = Vec::new();
                    sx_docs(&o.docs, &mut children);
                    Sx::Node(format!("({}: {}", o.name.name, type_text(&o.ty)), children)
                })
                .collect(),
        ),
        AttrKind::OnFailure(target) => Sx::Leaf(format!("{head} {})", target.name)),
    }
}

/// ` a (name: b)`: each argument preceded by a space.
fn sx_args(args: &[Arg]) -> String {
    let mut out = String::new();
    for a in args {
        match &a.name {
            Some(n) => {
                let _ = write!(out, " ({}: {})", n.name, sx_expr(&a.value));
            }
            None => {
                out.push(' ');
                out.push_str(&sx_expr(&a.value));
            }
        }
    }
    out
}

fn sx_expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Float(f) => float_text(*f),
        ExprKind::Duration(ms) => duration_text(*ms),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Str(parts) => match parts.as_slice() {
            [] => "\"\"".to_string(),
            [StrPart::Text(t)] => quoted(t),
            _ => {
                let mut out = "(str".to_string();
                for part in parts {
                    out.push(' ');
                    match part {
                        StrPart::Text(t) => out.push_str(&quoted(t)),
                        StrPart::Interp(e) => {
                            let _ = write!(out, "${{{}}}", sx_expr(e));
                        }
                    }
                }
                out.push(')');
                out
            }
        },
        ExprKind::List(items) => {
            let mut out = "(list".to_string();
            for item in items {
                out.push(' ');
                out.push_str(&sx_expr(item));
            }
            out.push(')');
            out
        }
        ExprKind::Map(entries) => {
            let mut out = "(map".to_string();
            for (k, v) in entries {
                let _ = write!(out, " ({}: {})", key_text(&k.name), sx_expr(v));
            }
            out.push(')');
            out
        }
        ExprKind::Name(n) => n.clone(),
        ExprKind::Workflow => "workflow".to_string(),
        ExprKind::Field(base, f) => format!("(. {} {})", sx_expr(base), f.name),
        ExprKind::Index(base, idx) => format!("([] {} {})", sx_expr(base), sx_expr(idx)),
        ExprKind::Call(callee, args) => format!("(call {}{})", sx_expr(callee), sx_args(args)),
        ExprKind::Unary(op, inner) => {
            let op = match op {
                UnOp::Not => "!",
                UnOp::Neg => "neg",
            };
            format!("({op} {})", sx_expr(inner))
        }
        ExprKind::Binary(op, l, r) => {
            format!("({} {} {})", op.symbol(), sx_expr(l), sx_expr(r))
        }
        ExprKind::If(c, a, b) => {
            format!("(if {} {} {})", sx_expr(c), sx_expr(a), sx_expr(b))
        }
    }
}
