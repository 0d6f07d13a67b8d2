//! Typing expressions: names, operators, fields, indexing, builtin calls and interpolation,
//! including the rule that a secret never flows into visible text.

use rustc_hash::FxHashMap as HashMap;

use super::error::CheckError;
use super::types::{Type, DECISIONS, GATE_FIELDS, STEP_FIELDS};
use super::workflow::Checker;
use crate::ast::{Arg, BinOp, Expr, ExprKind, StrPart, UnOp};
use crate::diagnostics::did_you_mean;
use crate::source::{FileSpan, Span};
use crate::stdlib::builtins::{self, Builtin, Sig};
use crate::typed::{self, Ref};

/// What a name in scope stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A parameter.
    Param,
    /// A `let` binding.
    Let,
    /// A `secret` binding.
    Secret,
    /// A module-level constant of the module at this index (the checker's own index
    /// while its module is being checked).
    Const(usize),
    /// A step (index in the workflow's steps).
    Step(usize),
    /// An imported module (index in the module table).
    Module(usize),
    /// A loop variable or a name of a retry condition.
    Local,
    /// The loop variable of a `for` over a fan-out step (index in the workflow's steps):
    /// the result of the instance that goes with the reading one.
    Instance(usize),
    /// A name whose declaration failed (an import not found): reading it reports nothing.
    Broken,
}

/// A name in scope.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// What it is.
    pub kind: EntryKind,
    /// Where it is defined.
    pub span: Span,
    /// Whether anything reads it.
    pub used: bool,
}

/// Nested frames of names: module, workflow, step, retry condition. A name is always
/// declared in the innermost frame, so a frame's entries are the last ones: closing it
/// moves them out, and a workflow of 100,000 steps does not keep (or copy) its names twice.
#[derive(Default)]
pub struct Scope {
    entries: Vec<Entry>,
    /// Each open frame: its names, and the number of entries when it was opened.
    frames: Vec<(HashMap<String, usize>, usize)>,
}

impl Scope {
    /// Opens a frame.
    pub fn push(&mut self) {
        self.frames.push((HashMap::default(), self.entries.len()));
    }

    /// Closes the innermost frame and returns those of its entries that `keep` wants, in
    /// the order declared (for a name declared twice in it, the later one). The rest are
    /// dropped where they are (a workflow's frame holds one entry per step).
    pub fn pop(&mut self, keep: impl Fn(&Entry) -> bool) -> Vec<Entry> {
        let Some((names, start)) = self.frames.pop() else {
            return Vec::new();
        };
        let start = start.min(self.entries.len());
        self.entries
            .drain(start..)
            .enumerate()
            .filter(|(i, e)| keep(e) && names.get(&e.name) == Some(&(start + i)))
            .map(|(_, e)| e)
            .collect()
    }

    /// Makes room for `n` more names in the innermost frame (a workflow's steps), so that
    /// declaring them does not grow the frame again and again.
    pub fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
        if let Some((frame, _)) = self.frames.last_mut() {
            frame.reserve(n);
        }
    }

    /// Declares a name in the innermost frame; returns its id.
    pub fn declare(&mut self, name: &str, ty: Type, kind: EntryKind, span: Span) -> usize {
        let id = self.entries.len();
        self.entries.push(Entry {
            name: name.to_string(),
            ty,
            kind,
            span,
            used: false,
        });
        if let Some((frame, _)) = self.frames.last_mut() {
            frame.insert(name.to_string(), id);
        }
        id
    }

    /// Finds a name, innermost frame first.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.frames
            .iter()
            .rev()
            .find_map(|(f, _)| f.get(name).copied())
    }

    /// The entry with this id.
    pub fn entry(&self, id: usize) -> &Entry {
        &self.entries[id]
    }

    /// Marks an entry as read.
    pub fn mark_used(&mut self, id: usize) {
        self.entries[id].used = true;
    }

    /// Every visible name, for "did you mean".
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.frames
            .iter()
            .flat_map(|(f, _)| f.keys().map(String::as_str))
    }
}

/// Where an expression is evaluated, which decides what it may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// A module constant or parameter default: before any step.
    Start,
    /// A workflow `let` or `secret`: before any step.
    Binding,
    /// Inside a step (index in the workflow's steps): step results may be read.
    Step(usize),
    /// Inside a task body.
    Task,
}

/// The context of one expression.
pub struct ExprCx {
    /// Where it is evaluated.
    pub place: Place,
    /// Steps whose results it reads, with the reading spans, and whether a declared
    /// output (not only a built-in field such as `status`) is read.
    pub deps: Vec<(usize, Span, bool)>,
    /// Whether secrets may be combined into a value here (the value is itself secret).
    pub allow_secret: bool,
    /// What text built here is, for the leak message ("the command line of step `x`").
    pub text_place: String,
}

impl ExprCx {
    /// A context at `place` where text is described as `text_place`.
    pub fn new(place: Place, text_place: impl Into<String>) -> ExprCx {
        ExprCx {
            place,
            deps: Vec::new(),
            allow_secret: false,
            text_place: text_place.into(),
        }
    }

    /// Describes the text built here as `what` of `place` ("the command line of step
    /// `x`"), in the buffer the last description left.
    pub(super) fn describe_text(&mut self, what: &str, place: super::attrs::AttrPlace<'_>) {
        let pieces = place.pieces();
        self.text_place.clear();
        // At once: grown piece by piece, the first description of each step was
        // reallocated three times.
        self.text_place
            .reserve(what.len() + pieces.iter().map(|p| p.len()).sum::<usize>());
        self.text_place.push_str(what);
        pieces.iter().for_each(|p| self.text_place.push_str(p));
    }
}

/// What to do about a secret leaking into `place`.
fn leak_help(place: &str) -> Option<String> {
    Some(if place.starts_with("the approval message") {
        "approval messages are shown to people and kept in logs; leave the secret out".to_string()
    } else if place.starts_with("the concurrency group") {
        "a group's name is shown in messages and kept in the state directory; build it from values that are not secret".to_string()
    } else if place.starts_with("parameter") {
        "a secret goes only into `env` entries and `secret` parameters; this parameter is not one"
            .to_string()
    } else if place.starts_with("the command line") || place.starts_with("the arguments") {
        "pass the secret to the step through `env { NAME: secret }` and refer to `$NAME` in the command"
            .to_string()
    } else {
        "a value built from a secret is a secret: declare it with `secret` instead of `let`, and pass it to steps through `env`"
            .to_string()
    })
}

impl Checker<'_> {
    /// `span` in the module being checked.
    pub fn at(&self, span: Span) -> FileSpan {
        FileSpan::new(self.source, span)
    }

    fn typed(&self, kind: typed::ExprKind, ty: Type, span: Span) -> typed::Expr {
        typed::Expr {
            kind,
            ty,
            span: self.at(span),
        }
    }

    /// Checks `e` and requires its type to fit `expected`.
    pub fn expect(
        &mut self,
        e: &Expr,
        cx: &mut ExprCx,
        expected: &Type,
        context: &str,
    ) -> typed::Expr {
        let found = self.expr_expecting(e, cx, expected);
        self.require(e, &found.ty, expected, cx, context);
        found
    }

    /// The typed form of `e` where a value of type `expected` is wanted. A map literal
    /// where a data record is wanted is checked as that record, field by field (so
    /// `{ a: "x", b: "y" }` is a `record { a: string, b: string }` there, not a
    /// `map<string>`), and one where a map is wanted stays a map even if its values
    /// differ (each is then reported); list literals and `if` branches pass the wanted
    /// type on to their elements and branches. Anything else is typed on its own; the
    /// caller compares the result with `expected`.
    pub fn expr_expecting(&mut self, e: &Expr, cx: &mut ExprCx, expected: &Type) -> typed::Expr {
        let (kind, ty) = match (&e.kind, expected) {
            (ExprKind::Map(entries), Type::Record(want)) if want.is_data() => {
                self.record_literal(entries, want, e.span, cx)
            }
            (ExprKind::Map(entries), Type::Map(elem)) => self.map(entries, Some(elem), cx),
            (ExprKind::List(items), Type::List(elem)) if elem.mentions_record() => {
                let items = items
                    .iter()
                    .map(|item| {
                        let t = self.expr_expecting(item, cx, elem);
                        self.require(item, &t.ty, elem, cx, "each element");
                        t
                    })
                    .collect();
                (typed::ExprKind::List(items), expected.clone())
            }
            (ExprKind::If(c, a, b), _) if expected.mentions_record() => {
                let tc = self.condition(c, cx);
                let ta = self.expect(a, cx, expected, "this branch");
                let tb = self.expect(b, cx, expected, "this branch");
                (
                    typed::ExprKind::If(Box::new(tc), Box::new(ta), Box::new(tb)),
                    expected.clone(),
                )
            }
            _ => return self.expr(e, cx),
        };
        self.typed(kind, ty, e.span)
    }

    /// A map literal checked as a value of the data record `want`: each field's value
    /// against the field's type (E0201), fields it lacks (E0240) and fields `want` has not
    /// (E0241) reported. Its type is `want` whatever was wrong, so one mistake is reported
    /// once.
    #[inline(never)]
    fn record_literal(
        &mut self,
        entries: &[(crate::ast::Ident, Expr)],
        want: &std::sync::Arc<super::types::Record>,
        span: Span,
        cx: &mut ExprCx,
    ) -> (typed::ExprKind, Type) {
        let record = Type::Record(want.clone());
        let mut seen: HashMap<&str, Span> = HashMap::default();
        // Fields suggested for a misspelt one: not reported missing as well.
        let mut suggested: Vec<&str> = Vec::new();
        let mut fields = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            if let Some(first) = seen.insert(&key.name, key.span) {
                self.error(CheckError::DuplicateField {
                    name: key.name.clone(),
                    span: key.span.into(),
                    first: first.into(),
                });
            }
            let typed_value = match want.field(&key.name) {
                Some(ty) => {
                    let context = format!("field `{}`", key.name);
                    self.expect(value, cx, ty, &context)
                }
                None => {
                    let names: Vec<&str> = want.field_names().collect();
                    let help = match did_you_mean(&key.name, names.iter().copied()) {
                        Some(s) => {
                            suggested.extend(names.iter().copied().find(|n| *n == s));
                            format!("did you mean `{s}`? the fields are: {}", names.join(", "))
                        }
                        None => format!("the fields are: {}", names.join(", ")),
                    };
                    self.error(CheckError::UnknownRecordField {
                        field: key.name.clone(),
                        ty: record.to_string(),
                        span: key.span.into(),
                        help: Some(help),
                    });
                    self.expr(value, cx)
                }
            };
            fields.push((key.name.clone(), typed_value));
        }
        let missing: Vec<(&str, &Type)> = want
            .fields
            .iter()
            .filter(|(name, _)| {
                !seen.contains_key(name.as_ref()) && !suggested.contains(&name.as_ref())
            })
            .map(|(name, ty)| (name.as_ref(), ty))
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|(n, _)| format!("`{n}`")).collect();
            let add: Vec<String> = missing
                .iter()
                .map(|(n, t)| format!("`{}: ...` of type `{t}`", crate::format::key_text(n)))
                .collect();
            self.error(CheckError::MissingRecordField {
                fields: names.join(", "),
                several: missing.len() > 1,
                ty: record.to_string(),
                span: span.into(),
                help: Some(format!("add {}", add.join(", "))),
            });
        }
        (typed::ExprKind::Record(fields), record)
    }

    /// Reports `found` not fitting `expected` with the most specific code.
    pub fn require(&mut self, e: &Expr, found: &Type, expected: &Type, cx: &ExprCx, context: &str) {
        if found.fits(expected) {
            return;
        }
        if found.is_secret() && !expected.is_secret() {
            self.error(CheckError::SecretLeak {
                place: cx.text_place.clone(),
                span: e.span.into(),
                help: leak_help(&cx.text_place),
            });
        } else if *expected == Type::Duration && matches!(e.kind, ExprKind::Int(_)) {
            self.error(CheckError::DurationWithoutUnit {
                value: self.text(e.span).to_string(),
                span: e.span.into(),
            });
        } else {
            let help = match (found, expected) {
                (Type::Int | Type::Float | Type::Bool | Type::Duration, Type::String) => Some(
                    "convert it with `to_string(...)` or interpolate it: \"${...}\"".to_string(),
                ),
                (Type::String, Type::Int) => Some("convert it with `parse_int(...)`".to_string()),
                (Type::Record(r), Type::Map(_)) if r.is_data() => Some(
                    "a record is not a map: `{ ... }` with values of different types is a \
                     record; for a map, give every value the same type"
                        .to_string(),
                ),
                (Type::Map(_), Type::Record(r)) if r.is_data() => Some(
                    "a map is not a record: write the record literal itself where the record \
                     is wanted, or declare the value's type as this record"
                        .to_string(),
                ),
                (Type::Record(a), Type::Record(b)) if a.is_data() && b.is_data() => {
                    a.difference(b, "here", "in the record wanted")
                }
                _ => None,
            };
            self.error(CheckError::Mismatch {
                expected: expected.to_string(),
                found: found.to_string(),
                context: format!("{context} must be `{expected}`"),
                span: e.span.into(),
                help,
            });
        }
    }

    /// Checks a condition: it must be `bool`.
    pub fn condition(&mut self, e: &Expr, cx: &mut ExprCx) -> typed::Expr {
        let t = self.expr(e, cx);
        if !t.ty.fits(&Type::Bool) {
            let help = match t.ty {
                Type::String => Some("compare it: `x == \"value\"`".to_string()),
                Type::Int => Some("compare it: `x > 0`".to_string()),
                _ => None,
            };
            self.error(CheckError::NotBool {
                found: t.ty.to_string(),
                span: e.span.into(),
                help,
            });
        }
        t
    }

    /// The typed form of an expression; reports what is wrong inside it.
    ///
    /// Operator chains nest as deep as they are long, so this frame is kept small: each
    /// construct is typed by a helper of its own that is never inlined here.
    pub fn expr(&mut self, e: &Expr, cx: &mut ExprCx) -> typed::Expr {
        use typed::ExprKind as K;
        let (kind, ty) = match &e.kind {
            ExprKind::Int(i) => (K::Int(*i), Type::Int),
            ExprKind::Float(f) => (K::Float(*f), Type::Float),
            ExprKind::Duration(d) => (K::Duration(*d), Type::Duration),
            ExprKind::Bool(b) => (K::Bool(*b), Type::Bool),
            ExprKind::Str(parts) => self.string(parts, cx),
            ExprKind::List(items) => self.list(items, cx),
            ExprKind::Map(entries) => self.map(entries, None, cx),
            ExprKind::Name(name) => return self.name(name, e.span, cx),
            ExprKind::Workflow => (K::Workflow, Type::workflow_record()),
            ExprKind::Field(base, field) => return self.field_expr(e, base, field, cx),
            ExprKind::Index(base, index) => self.index(base, index, cx),
            ExprKind::Call(callee, args) => return self.call(callee, args, e.span, cx),
            ExprKind::Unary(op, operand) => self.unary(e, *op, operand, cx),
            ExprKind::Binary(op, a, b) => self.binary_expr(e, *op, a, b, cx),
            ExprKind::If(c, a, b) => self.if_expr(c, a, b, cx),
        };
        self.typed(kind, ty, e.span)
    }

    #[inline(never)]
    fn list(&mut self, items: &[Expr], cx: &mut ExprCx) -> (typed::ExprKind, Type) {
        let mut elem = Type::Unknown;
        let mut typed_items = Vec::with_capacity(items.len());
        for item in items {
            let t = self.expr(item, cx);
            match elem.join(&t.ty) {
                Some(j) => elem = j,
                None => self.error(CheckError::Mismatch {
                    expected: elem.to_string(),
                    found: t.ty.to_string(),
                    context: format!("list elements must all be `{elem}`"),
                    span: item.span.into(),
                    help: list_help(&t.ty, &elem),
                }),
            }
            typed_items.push(t);
        }
        (
            typed::ExprKind::List(typed_items),
            Type::List(Box::new(elem)),
        )
    }

    /// A map literal. Where a map is wanted (`elem` is its value type), its values must
    /// all fit `elem`. Otherwise its values' types decide: if they have one type (or join
    /// into one, as `int` and `float` do) it is a `map` of that type; if they do not, it is
    /// a data record with those fields (`{ name: "web", replicas: 3 }`).
    #[inline(never)]
    fn map(
        &mut self,
        entries: &[(crate::ast::Ident, Expr)],
        elem: Option<&Type>,
        cx: &mut ExprCx,
    ) -> (typed::ExprKind, Type) {
        // The type the values join into so far; `None` once two do not.
        let mut joined = Some(Type::Unknown);
        let mut seen: HashMap<&str, Span> = HashMap::default();
        let mut typed_entries = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            if let Some(first) = seen.insert(&key.name, key.span) {
                self.error(CheckError::Duplicate {
                    name: key.name.clone(),
                    span: key.span.into(),
                    first: first.into(),
                });
            }
            let t = match elem {
                Some(want) => {
                    let t = self.expr_expecting(value, cx, want);
                    if !t.ty.fits(want) {
                        self.error(CheckError::Mismatch {
                            expected: want.to_string(),
                            found: t.ty.to_string(),
                            context: format!("map values must all be `{want}`"),
                            span: value.span.into(),
                            help: None,
                        });
                    }
                    t
                }
                None => {
                    let t = self.expr(value, cx);
                    joined = joined.and_then(|j| j.join(&t.ty));
                    t
                }
            };
            typed_entries.push((key.name.clone(), t));
        }
        match (elem, joined) {
            (Some(want), _) => (
                typed::ExprKind::Map(typed_entries),
                Type::Map(Box::new(want.clone())),
            ),
            (None, Some(joined)) => (
                typed::ExprKind::Map(typed_entries),
                Type::Map(Box::new(joined)),
            ),
            (None, None) => {
                let fields = typed_entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.ty.clone()))
                    .collect();
                (
                    typed::ExprKind::Record(typed_entries),
                    super::types::data_record(fields),
                )
            }
        }
    }

    #[inline(never)]
    fn field_expr(
        &mut self,
        e: &Expr,
        base: &Expr,
        field: &crate::ast::Ident,
        cx: &mut ExprCx,
    ) -> typed::Expr {
        let before = cx.deps.len();
        let t = self.expr(base, cx);
        if matches!(base.kind, ExprKind::Name(_)) && cx.deps.len() == before + 1 {
            // A loop variable of the step an instance belongs to is no output of it.
            let loop_var = matches!(&t.ty, Type::Record(r) if r.is_loop_var(&field.name));
            let name = field.name.as_str();
            cx.deps[before].2 =
                !(STEP_FIELDS.contains(&name) || GATE_FIELDS.contains(&name) || loop_var);
        }
        let ty = self.field(&t.ty, &field.name, field.span, e.span);
        // `alias.NAME` is the constant itself, found by the module's identity.
        let kind = match t.ty {
            Type::Module(_) if ty == Type::Unknown => typed::ExprKind::Invalid,
            Type::Module(module) => typed::ExprKind::Ref(Ref::Const {
                module,
                name: field.name.clone(),
            }),
            _ => typed::ExprKind::Field(Box::new(t), field.name.clone()),
        };
        self.typed(kind, ty, e.span)
    }

    #[inline(never)]
    fn index(&mut self, base: &Expr, index: &Expr, cx: &mut ExprCx) -> (typed::ExprKind, Type) {
        let t = self.expr(base, cx);
        let i = self.expr(index, cx);
        let ty = match &t.ty {
            Type::List(elem) => {
                self.require(index, &i.ty, &Type::Int, cx, "a list index");
                (**elem).clone()
            }
            Type::Map(elem) => {
                self.require(index, &i.ty, &Type::String, cx, "a map key");
                (**elem).clone()
            }
            Type::Unknown => Type::Unknown,
            other => {
                let help = match other.data_record() {
                    Some(_) => "a record's fields are read with `.`: `record.name`",
                    None => "only lists and maps can be indexed",
                };
                self.error(CheckError::NoFields {
                    ty: other.to_string(),
                    what: "cannot be indexed".to_string(),
                    span: base.span.into(),
                    help: Some(help.to_string()),
                });
                Type::Unknown
            }
        };
        (typed::ExprKind::Index(Box::new(t), Box::new(i)), ty)
    }

    #[inline(never)]
    fn unary(
        &mut self,
        e: &Expr,
        op: UnOp,
        operand: &Expr,
        cx: &mut ExprCx,
    ) -> (typed::ExprKind, Type) {
        let t = self.expr(operand, cx);
        let ok = match op {
            UnOp::Not => t.ty.fits(&Type::Bool),
            UnOp::Neg => matches!(
                t.ty,
                Type::Int | Type::Float | Type::Duration | Type::Unknown
            ),
        };
        let ty = if ok {
            t.ty.clone()
        } else {
            let sym = if op == UnOp::Not { "!" } else { "-" };
            self.error(CheckError::BadOperator {
                op: sym.to_string(),
                left: t.ty.to_string(),
                right: t.ty.to_string(),
                span: e.span.into(),
                help: Some(format!(
                    "prefix `{sym}` takes {}",
                    if op == UnOp::Not {
                        "a bool"
                    } else {
                        "a number or duration"
                    }
                )),
            });
            Type::Unknown
        };
        (typed::ExprKind::Unary(op, Box::new(t)), ty)
    }

    #[inline(never)]
    fn binary_expr(
        &mut self,
        e: &Expr,
        op: BinOp,
        a: &Expr,
        b: &Expr,
        cx: &mut ExprCx,
    ) -> (typed::ExprKind, Type) {
        let ta = self.expr(a, cx);
        let tb = self.expr(b, cx);
        let ty = self.binary(op, &ta.ty, &tb.ty, e, cx);
        if matches!(op, BinOp::Eq | BinOp::Ne) {
            self.decision_value(&ta, b);
            self.decision_value(&tb, a);
        }
        (typed::ExprKind::Binary(op, Box::new(ta), Box::new(tb)), ty)
    }

    /// Warns (W0005) when a gate's `decision` is compared with a string it never holds:
    /// `gate.decision == "timeout"` would never be true.
    fn decision_value(&mut self, field: &typed::Expr, other: &Expr) {
        let typed::ExprKind::Field(base, name) = &field.kind else {
            return;
        };
        let is_step = matches!(&base.ty, Type::Record(r) if matches!(r.kind, super::types::RecordKind::Step(_)));
        if name != "decision" || !is_step || field.ty != Type::String {
            return;
        }
        let ExprKind::Str(parts) = &other.kind else {
            return;
        };
        let value = match parts.as_slice() {
            [] => String::new(),
            [StrPart::Text(t)] => t.clone(),
            _ => return,
        };
        if value.is_empty() || DECISIONS.contains(&value.as_str()) {
            return;
        }
        let values = "a gate's decision is \"approved\", \"refused\" or \"timed_out\" (\"\" before it is decided)";
        let help = match did_you_mean(&value, DECISIONS.iter().copied()) {
            Some(s) => format!("did you mean \"{s}\"? {values}"),
            None => values.to_string(),
        };
        self.warning(super::error::CheckWarning::UnknownDecision {
            value,
            span: other.span.into(),
            help: Some(help),
        });
    }

    #[inline(never)]
    fn if_expr(
        &mut self,
        c: &Expr,
        a: &Expr,
        b: &Expr,
        cx: &mut ExprCx,
    ) -> (typed::ExprKind, Type) {
        let tc = self.condition(c, cx);
        let ta = self.expr(a, cx);
        let tb = self.expr(b, cx);
        let ty = match ta.ty.join(&tb.ty) {
            Some(t) => t,
            None => {
                self.error(CheckError::Mismatch {
                    expected: ta.ty.to_string(),
                    found: tb.ty.to_string(),
                    context: format!("both branches must be `{}`", ta.ty),
                    span: b.span.into(),
                    help: None,
                });
                Type::Unknown
            }
        };
        (
            typed::ExprKind::If(Box::new(tc), Box::new(ta), Box::new(tb)),
            ty,
        )
    }

    #[inline(never)]
    fn string(&mut self, parts: &[StrPart], cx: &mut ExprCx) -> (typed::ExprKind, Type) {
        let mut secret = false;
        let mut typed_parts = Vec::with_capacity(parts.len());
        for part in parts {
            match part {
                StrPart::Text(t) => typed_parts.push(typed::StrPart::Text(t.clone())),
                StrPart::Interp(inner) => {
                    let t = self.expr(inner, cx);
                    if t.ty.is_secret() {
                        if cx.allow_secret {
                            secret = true;
                        } else {
                            self.error(CheckError::SecretLeak {
                                place: cx.text_place.clone(),
                                span: inner.span.into(),
                                help: leak_help(&cx.text_place),
                            });
                        }
                    } else if !t.ty.is_textual() {
                        let help = match &t.ty {
                            Type::List(_) => {
                                Some("join it first: `${join(list, \" \")}`".to_string())
                            }
                            Type::Record(_) => {
                                Some("interpolate one of its fields instead".to_string())
                            }
                            _ => None,
                        };
                        self.error(CheckError::NotInterpolatable {
                            ty: t.ty.to_string(),
                            span: inner.span.into(),
                            help,
                        });
                    }
                    typed_parts.push(typed::StrPart::Interp(t));
                }
            }
        }
        let ty = if secret { Type::Secret } else { Type::String };
        (typed::ExprKind::Str(typed_parts), ty)
    }

    #[inline(never)]
    fn name(&mut self, name: &str, span: Span, cx: &mut ExprCx) -> typed::Expr {
        let invalid = |this: &Self| this.typed(typed::ExprKind::Invalid, Type::Unknown, span);
        let Some(id) = self.scope.lookup(name) else {
            if self.pending_steps.contains(name) {
                self.error(CheckError::StepOutsideStep {
                    step: name.to_string(),
                    place: "a parameter default".to_string(),
                    span: span.into(),
                });
                return invalid(self);
            }
            let suggestion = did_you_mean(name, self.scope.names());
            let help = match suggestion {
                Some(s) => Some(format!("did you mean `{s}`?")),
                None if builtins::lookup(name).is_some() => {
                    Some(format!("`{name}` is a function; call it: `{name}(...)`"))
                }
                None => None,
            };
            self.error(CheckError::UnknownName {
                name: name.to_string(),
                span: span.into(),
                help,
            });
            return invalid(self);
        };
        self.scope.mark_used(id);
        let entry = self.scope.entry(id);
        let ty = entry.ty.clone();
        let kind = entry.kind;
        let reference = match kind {
            EntryKind::Param if cx.place == Place::Task => Ref::Arg(name.to_string()),
            EntryKind::Param => Ref::Param(name.to_string()),
            EntryKind::Let | EntryKind::Secret => Ref::Binding(name.to_string()),
            EntryKind::Const(module) => Ref::Const {
                module,
                name: name.to_string(),
            },
            EntryKind::Step(step) => {
                match cx.place {
                    Place::Step(_) => cx.deps.push((step, span, false)),
                    Place::Binding | Place::Start | Place::Task => {
                        let place = match cx.place {
                            Place::Binding => "a `let` or `secret` binding",
                            _ => "a parameter default",
                        };
                        self.error(CheckError::StepOutsideStep {
                            step: name.to_string(),
                            place: place.to_string(),
                            span: span.into(),
                        });
                        return invalid(self);
                    }
                }
                Ref::Step(typed::StepId::new(step))
            }
            // A module on its own is no value; `field` turns `alias.NAME` into a constant.
            EntryKind::Module(_) => return self.typed(typed::ExprKind::Invalid, ty, span),
            EntryKind::Local => Ref::Local(name.to_string()),
            EntryKind::Instance(step) => {
                cx.deps.push((step, span, false));
                Ref::Instance(typed::StepId::new(step))
            }
            EntryKind::Broken => return invalid(self),
        };
        self.typed(typed::ExprKind::Ref(reference), ty, span)
    }

    fn field(&mut self, base: &Type, field: &str, field_span: Span, span: Span) -> Type {
        match base {
            Type::Record(record) => match record.field(field) {
                Some(t) => t.clone(),
                None => {
                    let names: Vec<&str> = record.fields.iter().map(|(n, _)| n.as_ref()).collect();
                    let help = match did_you_mean(field, names.iter().copied()) {
                        Some(s) => format!(
                            "did you mean `{s}`? {} has: {}",
                            record.name(),
                            names.join(", ")
                        ),
                        None => format!("{} has: {}", record.name(), names.join(", ")),
                    };
                    self.error(CheckError::UnknownField {
                        field: field.to_string(),
                        owner: record.name(),
                        span: field_span.into(),
                        help: Some(help),
                    });
                    Type::Unknown
                }
            },
            Type::Module(m) => {
                let module = &self.modules[*m];
                if let Some(t) = module.consts.get(field) {
                    return t.clone();
                }
                let alias = self.module_alias(*m);
                let help = if module.tasks.contains_key(field)
                    || module.workflows.contains_key(field)
                {
                    Some(format!("`{alias}.{field}` is a task; use it as a step: `step s = {alias}.{field}(...)`"))
                } else {
                    self.member_help(*m, field)
                };
                self.error(CheckError::UnknownMember {
                    module: alias,
                    member: field.to_string(),
                    span: field_span.into(),
                    help,
                });
                Type::Unknown
            }
            Type::Unknown => Type::Unknown,
            other => {
                let help = match other {
                    Type::Map(_) => format!(
                        "a map's values are read by key: `[\"{field}\"]`; braces whose values \
                         have different types, or a `record {{ ... }}` type, make a record, \
                         which has fields"
                    ),
                    _ => {
                        "only step results, records, `workflow` and modules have fields".to_string()
                    }
                };
                self.error(CheckError::NoFields {
                    ty: other.to_string(),
                    what: "has no fields".to_string(),
                    span: span.into(),
                    help: Some(help),
                });
                Type::Unknown
            }
        }
    }

    /// "did you mean" over a module's members.
    pub fn member_help(&self, m: usize, name: &str) -> Option<String> {
        let module = &self.modules[m];
        let mut members: Vec<&str> = module
            .tasks
            .keys()
            .chain(module.workflows.keys())
            .chain(module.consts.keys())
            .map(String::as_str)
            .chain(module.typed.policies.iter().map(|p| p.name.as_str()))
            .collect();
        members.sort_unstable();
        match did_you_mean(name, members.iter().copied()) {
            Some(s) => Some(format!("did you mean `{s}`?")),
            None if members.is_empty() => None,
            None => Some(format!("it has: {}", members.join(", "))),
        }
    }

    fn call(&mut self, callee: &Expr, args: &[Arg], span: Span, cx: &mut ExprCx) -> typed::Expr {
        let invalid = |this: &Self| this.typed(typed::ExprKind::Invalid, Type::Unknown, span);
        let name = match &callee.kind {
            ExprKind::Name(n) => n.as_str(),
            ExprKind::Field(base, member) => {
                if let ExprKind::Name(alias) = &base.kind {
                    if let Some(id) = self.scope.lookup(alias) {
                        if let EntryKind::Module(m) = self.scope.entry(id).kind {
                            self.scope.mark_used(id);
                            let module = &self.modules[m];
                            let is_task = module.tasks.contains_key(&member.name)
                                || module.workflows.contains_key(&member.name);
                            let help = if is_task {
                                Some(format!(
                                    "`{alias}.{}` is a task; use it as a step: `step s = {alias}.{}(...)`",
                                    member.name, member.name
                                ))
                            } else {
                                self.member_help(m, &member.name)
                            };
                            self.error(CheckError::UnknownMember {
                                module: alias.clone(),
                                member: member.name.clone(),
                                span: member.span.into(),
                                help,
                            });
                            self.args_only(args, cx);
                            return invalid(self);
                        }
                    }
                }
                self.expr(callee, cx);
                self.error(CheckError::NoFields {
                    ty: "method".to_string(),
                    what: "cannot be called".to_string(),
                    span: callee.span.into(),
                    help: Some("call a function by name: `len(x)`, not `x.len()`".to_string()),
                });
                self.args_only(args, cx);
                return invalid(self);
            }
            _ => {
                self.expr(callee, cx);
                self.error(CheckError::NoFields {
                    ty: "value".to_string(),
                    what: "cannot be called".to_string(),
                    span: callee.span.into(),
                    help: None,
                });
                self.args_only(args, cx);
                return invalid(self);
            }
        };
        let Some(builtin) = builtins::lookup(name) else {
            let names = builtins::BUILTINS.iter().map(|b| b.name);
            let help = match did_you_mean(name, names) {
                Some(s) => Some(format!("did you mean `{s}`?")),
                None if self.task_named(name) => Some(format!(
                    "`{name}` is a task; use it as a step: `step s = {name}(...)`"
                )),
                None => Some("see `flowc explain E0105` for the list of functions".to_string()),
            };
            self.error(CheckError::UnknownFunction {
                name: name.to_string(),
                span: callee.span.into(),
                help,
            });
            self.args_only(args, cx);
            return invalid(self);
        };
        let (bound, ty) = self.builtin_call(builtin, args, span, cx);
        self.typed(typed::ExprKind::Call(builtin.name, bound), ty, span)
    }

    fn args_only(&mut self, args: &[Arg], cx: &mut ExprCx) {
        for a in args {
            self.expr(&a.value, cx);
        }
    }

    fn builtin_call(
        &mut self,
        b: &Builtin,
        args: &[Arg],
        span: Span,
        cx: &mut ExprCx,
    ) -> (Vec<Option<typed::Expr>>, Type) {
        let names: Vec<&str> = b.params.iter().map(|(n, _)| *n).collect();
        let required: Vec<bool> = (0..b.params.len())
            .map(|i| i < b.params.len() - b.optional)
            .collect();
        let slots = self.bind_args(b.name, "function", &names, &required, args, span);
        self.unbound_args(args, &slots, cx);
        let mut var = Type::Unknown;
        let mut first = Type::Unknown;
        let mut bound = Vec::with_capacity(b.params.len());
        for (i, (pname, sig)) in b.params.iter().enumerate() {
            let Some(arg) = slots[i] else {
                bound.push(None);
                continue;
            };
            let typed_arg = self.expr(&arg.value, cx);
            let t = typed_arg.ty.clone();
            bound.push(Some(typed_arg));
            let context = format!("argument `{pname}` of `{}`", b.name);
            match sig {
                Sig::Str => self.require(&arg.value, &t, &Type::String, cx, &context),
                Sig::Int => self.require(&arg.value, &t, &Type::Int, cx, &context),
                Sig::Float => self.require(&arg.value, &t, &Type::Float, cx, &context),
                Sig::Bool => self.require(&arg.value, &t, &Type::Bool, cx, &context),
                Sig::Dur => self.require(&arg.value, &t, &Type::Duration, cx, &context),
                Sig::ListStr => self.require(
                    &arg.value,
                    &t,
                    &Type::List(Box::new(Type::String)),
                    cx,
                    &context,
                ),
                Sig::Scalar => {
                    if t.is_secret() || !t.is_textual() {
                        self.require(&arg.value, &t, &Type::String, cx, &context);
                    }
                }
                Sig::Sized => match &t {
                    Type::String | Type::List(_) | Type::Map(_) | Type::Unknown => {}
                    _ => self.require(&arg.value, &t, &Type::String, cx, &context),
                },
                Sig::ListA | Sig::MapA => {
                    let inner = match (&t, sig) {
                        (Type::List(e), Sig::ListA) | (Type::Map(e), Sig::MapA) => {
                            Some((**e).clone())
                        }
                        (Type::Unknown, _) => Some(Type::Unknown),
                        _ => None,
                    };
                    match inner.and_then(|e| var.join(&e)) {
                        Some(j) => var = j,
                        None => {
                            let want = if *sig == Sig::ListA {
                                Type::List(Box::new(var.clone()))
                            } else {
                                Type::Map(Box::new(var.clone()))
                            };
                            self.require(&arg.value, &t, &want, cx, &context);
                        }
                    }
                }
                Sig::Secret => self.require(&arg.value, &t, &Type::Secret, cx, &context),
                Sig::Data => {
                    if t.is_secret() {
                        self.require(&arg.value, &t, &Type::String, cx, &context);
                    }
                }
                Sig::A => match var.join(&t) {
                    Some(j) => var = j,
                    None => self.require(&arg.value, &t, &var.clone(), cx, &context),
                },
                // Looking for a value among secrets compares it with each of them.
                Sig::ElemOfFirst if first.is_secret() => {
                    self.error(CheckError::BadOperator {
                        op: b.name.to_string(),
                        left: first.to_string(),
                        right: t.to_string(),
                        span: arg.value.span.into(),
                        help: Some(
                            "secrets cannot be compared or searched; to ask only whether a \
                             secret is set (not empty), use `is_set(secret)`"
                                .to_string(),
                        ),
                    });
                }
                Sig::ElemOfFirst => {
                    let want = match &first {
                        Type::List(e) => (**e).clone(),
                        Type::Unknown => Type::Unknown,
                        _ => Type::String,
                    };
                    self.require(&arg.value, &t, &want, cx, &context);
                }
            }
            if i == 0 {
                first = t;
            }
        }
        let ty = match b.ret {
            Sig::Str => Type::String,
            Sig::Int => Type::Int,
            Sig::Float => Type::Float,
            Sig::Bool => Type::Bool,
            Sig::Dur => Type::Duration,
            Sig::ListStr => Type::List(Box::new(Type::String)),
            Sig::ListA => Type::List(Box::new(var)),
            Sig::MapA => Type::Map(Box::new(var)),
            Sig::A => var,
            Sig::Scalar | Sig::Sized | Sig::ElemOfFirst | Sig::Data | Sig::Secret => Type::Unknown,
        };
        (bound, ty)
    }

    /// Matches arguments to parameter slots: positional first, then named. Reports E0206
    /// for what does not match and returns the slots that could be filled; the caller
    /// checks those and [`Checker::unbound_args`] the rest.
    pub fn bind_args<'a>(
        &mut self,
        callee: &str,
        kind: &str,
        params: &[&str],
        required: &[bool],
        args: &'a [Arg],
        span: Span,
    ) -> Vec<Option<&'a Arg>> {
        let mut slots: Vec<Option<&Arg>> = vec![None; params.len()];
        let mut ok = true;
        let mut seen_named = false;
        for (i, arg) in args.iter().enumerate() {
            match &arg.name {
                None => {
                    if seen_named {
                        self.error(CheckError::BadArguments {
                            message: "positional argument after a named one".to_string(),
                            label: "positional argument".to_string(),
                            span: arg.span.into(),
                            help: Some(
                                "put positional arguments first, or name this one too".to_string(),
                            ),
                        });
                        ok = false;
                    } else if i >= params.len() {
                        self.error(CheckError::BadArguments {
                            message: format!(
                                "{kind} `{callee}` takes {} argument{}, but {} were given",
                                params.len(),
                                if params.len() == 1 { "" } else { "s" },
                                args.len()
                            ),
                            label: "unexpected argument".to_string(),
                            span: arg.span.into(),
                            help: Some(signature_help(callee, params)),
                        });
                        ok = false;
                    } else {
                        slots[i] = Some(arg);
                    }
                }
                Some(name) => {
                    seen_named = true;
                    match params.iter().position(|p| *p == name.name) {
                        Some(p) if slots[p].is_some() => {
                            self.error(CheckError::BadArguments {
                                message: format!(
                                    "argument `{}` is given more than once",
                                    name.name
                                ),
                                label: "given again here".to_string(),
                                span: name.span.into(),
                                help: None,
                            });
                            ok = false;
                        }
                        Some(p) => slots[p] = Some(arg),
                        None => {
                            let help = match did_you_mean(&name.name, params.iter().copied()) {
                                Some(s) => format!(
                                    "did you mean `{s}`? {}",
                                    signature_help(callee, params)
                                ),
                                None => signature_help(callee, params),
                            };
                            self.error(CheckError::BadArguments {
                                message: format!(
                                    "{kind} `{callee}` has no parameter `{}`",
                                    name.name
                                ),
                                label: "unknown parameter".to_string(),
                                span: name.span.into(),
                                help: Some(help),
                            });
                            ok = false;
                        }
                    }
                }
            }
        }
        let missing: Vec<&str> = params
            .iter()
            .zip(&slots)
            .zip(required)
            .filter(|((_, s), req)| **req && s.is_none())
            .map(|((p, _), _)| *p)
            .collect();
        if ok && !missing.is_empty() {
            self.error(CheckError::BadArguments {
                message: format!(
                    "missing argument{} {} to {kind} `{callee}`",
                    if missing.len() == 1 { "" } else { "s" },
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                label: "in this call".to_string(),
                span: span.into(),
                help: Some(signature_help(callee, params)),
            });
        }
        slots
    }

    /// Checks the arguments that were not bound to a parameter, so that names in them are
    /// still resolved (and marked used).
    pub fn unbound_args(&mut self, args: &[Arg], slots: &[Option<&Arg>], cx: &mut ExprCx) {
        for arg in args {
            if !slots.iter().flatten().any(|s| std::ptr::eq(*s, arg)) {
                self.expr(&arg.value, cx);
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: &Type, b: &Type, e: &Expr, cx: &ExprCx) -> Type {
        use Type as T;
        if *a == T::Unknown || *b == T::Unknown {
            return match op {
                _ if op.is_comparison() => T::Bool,
                BinOp::And | BinOp::Or => T::Bool,
                _ => a.join(b).unwrap_or(T::Unknown),
            };
        }
        let result = match op {
            BinOp::And | BinOp::Or => (*a == T::Bool && *b == T::Bool).then_some(T::Bool),
            // A comparison with a secret would tell whoever sees its result (a step's
            // status, a skip) something about the value: `token == "guess"`.
            BinOp::Eq | BinOp::Ne if a.is_secret() || b.is_secret() => None,
            BinOp::Eq | BinOp::Ne => a.join(b).is_some().then_some(T::Bool),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let ok = (a.is_numeric() && b.is_numeric())
                    || (*a == T::Duration && *b == T::Duration)
                    || (*a == T::String && *b == T::String);
                ok.then_some(T::Bool)
            }
            BinOp::Add => match (a, b) {
                (T::String, T::String) => Some(T::String),
                (T::Duration, T::Duration) => Some(T::Duration),
                (T::List(_), T::List(_)) => a.join(b),
                _ if a.is_numeric() && b.is_numeric() => a.join(b),
                _ => None,
            },
            BinOp::Sub => match (a, b) {
                (T::Duration, T::Duration) => Some(T::Duration),
                _ if a.is_numeric() && b.is_numeric() => a.join(b),
                _ => None,
            },
            BinOp::Mul => match (a, b) {
                (T::Duration, T::Int) | (T::Int, T::Duration) => Some(T::Duration),
                _ if a.is_numeric() && b.is_numeric() => a.join(b),
                _ => None,
            },
            BinOp::Div => match (a, b) {
                (T::Duration, T::Int) => Some(T::Duration),
                _ if a.is_numeric() && b.is_numeric() => a.join(b),
                _ => None,
            },
            BinOp::Rem => (*a == T::Int && *b == T::Int).then_some(T::Int),
        };
        if let Some(t) = result {
            return t;
        }
        if (a.is_secret() || b.is_secret()) && op == BinOp::Add {
            if cx.allow_secret {
                return T::Secret;
            }
            self.error(CheckError::SecretLeak {
                place: cx.text_place.clone(),
                span: e.span.into(),
                help: leak_help(&cx.text_place),
            });
            return T::Unknown;
        }
        let help = match (op, a, b) {
            (BinOp::Eq | BinOp::Ne, _, _) if a.is_secret() || b.is_secret() => Some(
                "secrets cannot be compared, since the result would tell something about the \
                 value; to ask only whether a secret is set (not empty), use `is_set(secret)`"
                    .to_string(),
            ),
            (BinOp::Add, T::String, _) | (BinOp::Add, _, T::String) => {
                Some("to build text from other values, interpolate them: \"${a}${b}\"".to_string())
            }
            (BinOp::And | BinOp::Or, _, _) => Some(format!("`{}` takes two bools", op.symbol())),
            (BinOp::Eq | BinOp::Ne, _, _) => {
                Some("values of different types are never equal; convert one of them".to_string())
            }
            _ => None,
        };
        self.error(CheckError::BadOperator {
            op: op.symbol().to_string(),
            left: a.to_string(),
            right: b.to_string(),
            span: e.span.into(),
            help,
        });
        T::Unknown
    }
}

/// Advice for a list element whose type differs from the elements before it: for two
/// records, the field where they differ.
fn list_help(found: &Type, elem: &Type) -> Option<String> {
    match (found.data_record(), elem.data_record()) {
        (Some(this), Some(before)) => this
            .difference(before, "in this element", "in the ones before")
            .map(|d| format!("every element must have the same fields, of the same types: {d}")),
        (Some(_), None) | (None, Some(_)) => Some(
            "a list holds values of one type: a record (values of different types) and a map \
             (values of one type) do not mix; declare the list's type, such as \
             `list<record { ... }>`, to read each element as that record"
                .to_string(),
        ),
        _ => None,
    }
}

fn signature_help(callee: &str, params: &[&str]) -> String {
    format!("the parameters are: {callee}({})", params.join(", "))
}
