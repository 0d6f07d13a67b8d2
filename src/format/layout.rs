//! The canonical layout of `.flow` source, shared by [`super::source`] (a tree alone) and
//! [`super::format`] (a tree and the text it was parsed from, whose `//` comments and blank
//! lines are put back).
//!
//! The printer walks the tree in source order with a cursor into the comments. Before each
//! line-level node (item, workflow item, attribute, parameter, output, env entry) it prints
//! the comments that come before the node, as lines of their own; a comment on the same
//! line as the end of a node follows that node's last line. Comments inside a node printed
//! on one line (in an expression, say) come out just above it. Blank lines between
//! line-level nodes and comments are kept, at most one, never at the start or end of a
//! block.

use std::fmt::Write as _;

use super::trivia::Trivia;
use super::{
    args_text, callee_text, escape_into, expr_text, key_text, param_text, path_text, quoted,
    type_text,
};
use crate::ast::*;
use crate::source::Span;

/// Blocks are joined onto one line only when the line fits in this many columns.
pub(super) const WIDTH: usize = 100;

/// The printer: output so far, indentation, and the comments still to print.
pub(super) struct Layout<'t> {
    out: String,
    indent: usize,
    trivia: Option<&'t Trivia<'t>>,
    /// The index of the first comment not printed yet.
    next: usize,
    /// True right after a line that opens a block: no blank line may follow.
    block_start: bool,
}

impl<'t> Layout<'t> {
    /// A printer; with `trivia`, comments and blank lines of the source are put back.
    pub(super) fn new(trivia: Option<&'t Trivia<'t>>) -> Layout<'t> {
        Layout {
            out: String::new(),
            indent: 0,
            trivia,
            next: 0,
            block_start: false,
        }
    }

    /// Prints a whole file.
    pub(super) fn file(mut self, file: &File) -> String {
        let mut prev: Option<&Item> = None;
        for item in &file.items {
            let separate = prev.is_some_and(|p| !grouped_items(p, item));
            self.gap(item_span(item).start as usize, separate);
            self.item(item);
            prev = Some(item);
        }
        self.comments_before(usize::MAX);
        self.out
    }

    // -------------------------------------------------------------------------------------
    // Lines, blank lines and comments
    // -------------------------------------------------------------------------------------

    fn pad(&mut self) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    fn line(&mut self, text: &str) {
        self.pad();
        self.out.push_str(text);
        self.out.push('\n');
        self.block_start = false;
    }

    /// The source text, when formatting one.
    fn src(&self) -> Option<&'t str> {
        self.trivia.map(|t| t.text())
    }

    /// True when `text` fits on a line at the current indentation.
    fn fits(&self, text: &str) -> bool {
        self.indent * 2 + text.chars().count() <= WIDTH
    }

    /// A blank line, unless at the start of the file or a block, or after another.
    fn blank(&mut self) {
        if !self.block_start && !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// True when a comment not printed yet starts before `pos`.
    fn pending_before(&self, pos: usize) -> bool {
        self.trivia.is_some_and(|t| {
            t.comments()
                .get(self.next)
                .is_some_and(|c| (c.span.start as usize) < pos)
        })
    }

    /// Prints, each on its own line, the comments not printed yet that start before `pos`.
    fn comments_before(&mut self, pos: usize) {
        let Some(t) = self.trivia else { return };
        while let Some(c) = t.comments().get(self.next) {
            if c.span.start as usize >= pos {
                break;
            }
            if t.blank_before(c.span.start as usize) {
                self.blank();
            }
            self.line(&c.text);
            self.next += 1;
        }
    }

    /// Appends the next comment to the last line when, in the source, it trails the code
    /// that ends at `end` (only spaces and commas between them).
    fn trailing(&mut self, end: usize) {
        let Some(t) = self.trivia else { return };
        if let Some(c) = t.comments().get(self.next) {
            let start = c.span.start as usize;
            if start >= end && t.trails(end, start) && self.out.ends_with('\n') {
                self.out.pop();
                self.out.push(' ');
                self.out.push_str(&c.text);
                self.out.push('\n');
                self.next += 1;
            }
        }
    }

    /// What comes between two line-level nodes: the comments before the next one (which
    /// starts at `start`) and the blank lines of the source; with `separate`, at least one
    /// blank line.
    fn gap(&mut self, start: usize, separate: bool) {
        let Some(t) = self.trivia else {
            if separate {
                self.blank();
            }
            return;
        };
        if separate {
            let comments = &t.comments()[self.next.min(t.comments().len())..];
            let has_blank = t.blank_before(start)
                || comments
                    .iter()
                    .take_while(|c| (c.span.start as usize) < start)
                    .any(|c| t.blank_before(c.span.start as usize));
            if !has_blank {
                self.blank();
            }
        }
        self.comments_before(start);
        if t.blank_before(start) {
            self.blank();
        }
    }

    /// The end of `span`, without trailing whitespace and comments.
    fn end_of(&self, span: Span) -> usize {
        self.trivia.map_or(span.end as usize, |t| t.end_of(span))
    }

    /// `///` lines, then the comments between them and the node they document (which
    /// starts, docs included, at `start`).
    fn docs(&mut self, docs: &Docs, start: usize) {
        for l in &docs.0 {
            if l.is_empty() {
                self.line("///");
            } else {
                self.line(&format!("/// {l}"));
            }
        }
        if let Some(t) = self.trivia {
            self.comments_before(t.skip_forward(start, true, false));
        }
    }

    /// A node printed on one line; comments inside it go above it.
    fn leaf(&mut self, text: &str, span: Span) {
        let end = self.end_of(span);
        self.comments_before(end);
        self.line(text);
        self.trailing(end);
    }

    /// The position of the brace that opens a block whose first child (or closing brace,
    /// when it has none) is at `inner`.
    fn brace_before(&self, inner: usize) -> usize {
        self.trivia
            .map_or(0, |t| t.skip_back(inner).saturating_sub(1))
    }

    /// Starts a block whose `{` is at `open` and which ends at `end`: prints `head {` and
    /// returns true, or prints `head {}` and returns false when it is `empty` and holds no
    /// comments.
    fn open(&mut self, head: &str, open: usize, empty: bool, end: usize) -> bool {
        self.comments_before(open);
        if empty && !self.pending_before(end) {
            self.line(&format!("{head} {{}}"));
            self.trailing(end);
            return false;
        }
        self.line(&format!("{head} {{"));
        self.block_start = true;
        self.trailing(open + 1);
        self.indent += 1;
        true
    }

    /// Ends a block opened with [`Layout::open`]: its last comments, then `}`.
    fn close(&mut self, end: usize) {
        self.comments_before(end.saturating_sub(1));
        self.indent -= 1;
        self.line("}");
        self.trailing(end);
    }

    /// Prints `e` (after `prefix`) broken over lines when `text`, the line it would be on,
    /// does not fit or holds a comment, and `e` is a list, map or call with something in
    /// it: `prefix[`, one item, entry or argument per line, each with a comma, then `]`,
    /// `}` or `)`; or,
    /// when it does not fit, a string with an `if` interpolated (see
    /// [`Layout::string_lines`]). Returns false, printing nothing, when it does not break.
    fn broken(&mut self, text: &str, prefix: &str, e: &Expr, end: usize) -> bool {
        if self.fits(text) && !self.pending_before(end) {
            return false;
        }
        let src = self.src();
        if let ExprKind::Str(parts) = &e.kind {
            let has_if = parts.iter().any(|p| {
                matches!(
                    p,
                    StrPart::Interp(Expr {
                        kind: ExprKind::If(..),
                        ..
                    })
                )
            });
            if !has_if || self.fits(text) {
                return false;
            }
            self.comments_before(end);
            self.string_lines(prefix, parts);
            self.trailing(end);
            return true;
        }
        let (open, elems, close): (String, Vec<(Span, String)>, &str) = match &e.kind {
            ExprKind::List(items) if !items.is_empty() => (
                format!("{prefix}["),
                items.iter().map(|i| (i.span, expr_text(i, src))).collect(),
                "]",
            ),
            ExprKind::Map(entries) if !entries.is_empty() => (
                format!("{prefix}{{"),
                entries
                    .iter()
                    .map(|(k, v)| {
                        let text = format!("{}: {}", key_text(&k.name), expr_text(v, src));
                        (k.span.to(v.span), text)
                    })
                    .collect(),
                "}",
            ),
            ExprKind::Call(callee, args) if !args.is_empty() => (
                format!("{prefix}{}(", callee_text(callee, src)),
                args.iter()
                    .map(|a| (a.span, args_text(std::slice::from_ref(a), src)))
                    .collect(),
                ")",
            ),
            _ => return false,
        };
        self.elements(&open, &elems, close, e.span, end);
        true
    }

    /// `prefix"..."` with each `${if ...}` in the string written over lines, its branches
    /// one level deeper and its closing `}` back at the line's level, where the rest of
    /// the string follows: the line breaks are inside the interpolation, so they are not
    /// part of the string.
    fn string_lines(&mut self, prefix: &str, parts: &[StrPart]) {
        let src = self.src();
        let mut line = format!("{prefix}\"");
        let mut text = String::new();
        for part in parts {
            match part {
                StrPart::Text(t) => text.push_str(t),
                StrPart::Interp(e) => {
                    escape_into(&mut line, &text);
                    text.clear();
                    let ExprKind::If(..) = e.kind else {
                        line.push_str("${");
                        line.push_str(&expr_text(e, src));
                        line.push('}');
                        continue;
                    };
                    line.push_str("${");
                    self.line(&line);
                    self.indent += 1;
                    let mut branch = e;
                    let mut keyword = "if";
                    while let ExprKind::If(c, a, b) = &branch.kind {
                        let (c, a) = (expr_text(c, src), expr_text(a, src));
                        self.line(&format!("{keyword} {c} {{ {a} }}"));
                        keyword = "else if";
                        branch = b;
                    }
                    self.line(&format!("else {{ {} }}", expr_text(branch, src)));
                    self.indent -= 1;
                    line = "}".to_string();
                }
            }
        }
        escape_into(&mut line, &text);
        line.push('"');
        self.line(&line);
    }

    /// `open`, then each element on its own line with a comma, then `close`: the brackets
    /// of `span`, in a line-level node that ends at `end`.
    fn elements(
        &mut self,
        open: &str,
        elems: &[(Span, String)],
        close: &str,
        span: Span,
        end: usize,
    ) {
        let first = elems
            .first()
            .map_or(span.start as usize, |(s, _)| s.start as usize);
        let open_pos = self.brace_before(first);
        self.comments_before(open_pos);
        self.line(open);
        self.block_start = true;
        self.trailing(open_pos + 1);
        self.indent += 1;
        for (elem, text) in elems {
            self.gap(elem.start as usize, false);
            self.leaf(&format!("{text},"), *elem);
        }
        self.comments_before(self.end_of(span).saturating_sub(1));
        self.indent -= 1;
        self.line(close);
        self.trailing(end);
    }

    // -------------------------------------------------------------------------------------
    // Nodes
    // -------------------------------------------------------------------------------------

    fn item(&mut self, item: &Item) {
        match item {
            Item::Import(i) => {
                self.docs(&i.docs, i.span.start as usize);
                let text = format!("import {} as {}", quoted(&i.path), i.alias.name);
                self.leaf(&text, i.span);
            }
            Item::Workflow(w) => {
                self.docs(&w.docs, w.span.start as usize);
                let (head, _) = self.params(format!("workflow {}", w.name.name), &w.params);
                let end = self.end_of(w.span);
                let first = w
                    .body
                    .first()
                    .map(|wi| workflow_item_span(wi).start as usize);
                let open = self.brace_before(first.unwrap_or(end.saturating_sub(1)));
                if !self.open(&head, open, w.body.is_empty(), end) {
                    return;
                }
                let mut prev: Option<&WorkflowItem> = None;
                for wi in &w.body {
                    // The source's blank lines decide; without it, the canonical grouping.
                    let separate =
                        self.trivia.is_none() && prev.is_some_and(|p| !grouped_body(p, wi));
                    self.gap(workflow_item_span(wi).start as usize, separate);
                    self.workflow_item(wi);
                    prev = Some(wi);
                }
                self.close(end);
            }
            Item::Task(t) => {
                self.docs(&t.docs, t.span.start as usize);
                let (head, expanded) = self.params(format!("task {}", t.name.name), &t.params);
                let end = self.end_of(t.span);
                self.attrs_block(&head, &t.body, end, !expanded);
            }
            Item::Let(b) => self.binding(b),
            Item::Policy(p) => {
                self.docs(&p.docs, p.span.start as usize);
                let end = self.end_of(p.span);
                let retry = [super::policy_attr(p)];
                self.attrs_block(&format!("policy {}", p.name.name), &retry, end, true);
            }
        }
    }

    /// Prints the parameter list of `head` when it does not stay on the header line, and
    /// returns what ends the header: all of `head(params)` when it fits on one line and
    /// has at most one parameter, no docs and no comments, else `)` after the parameters,
    /// one per line (and true).
    fn params(&mut self, head: String, params: &[Param]) -> (String, bool) {
        let (Some(first), Some(last)) = (params.first(), params.last()) else {
            return (head, false);
        };
        let src = self.src();
        let list: Vec<String> = params.iter().map(|p| param_text(p, src)).collect();
        let inline = format!("{head}({})", list.join(", "));
        let open = self.brace_before(first.span.start as usize);
        let close = self
            .trivia
            .map_or(0, |t| t.skip_forward(t.end_of(last.span), false, true));
        let expand = params.len() > 1
            || params.iter().any(|p| !p.docs.0.is_empty())
            || self.pending_before(close)
            || !self.fits(&format!("{inline} {{"));
        if !expand {
            return (inline, false);
        }
        self.comments_before(open);
        self.line(&format!("{head}("));
        self.block_start = true;
        self.trailing(open + 1);
        self.indent += 1;
        for p in params {
            self.gap(p.span.start as usize, false);
            self.docs(&p.docs, p.span.start as usize);
            self.leaf(&format!("{},", param_text(p, src)), p.span);
        }
        self.comments_before(close);
        self.indent -= 1;
        (")".to_string(), true)
    }

    /// `head { ATTRS }`: on one line when there is one attribute, `one_line` allows it, it
    /// fits and no comment is inside; else one attribute per line.
    fn attrs_block(&mut self, head: &str, attrs: &[Attr], end: usize, one_line: bool) {
        let close = end.saturating_sub(1);
        if let ([only], true) = (attrs, one_line) {
            if let Some(text) = attr_line(only, self.src()) {
                let line = format!("{head} {{ {text} }}");
                if self.fits(&line) && !self.pending_before(close) {
                    self.line(&line);
                    self.trailing(end);
                    return;
                }
            }
        }
        let first = attrs.first().map_or(close, |a| a.span.start as usize);
        let open = self.brace_before(first);
        if self.open(head, open, attrs.is_empty(), end) {
            for a in attrs {
                self.gap(a.span.start as usize, false);
                self.attr(a);
            }
            self.close(end);
        }
    }

    fn workflow_item(&mut self, item: &WorkflowItem) {
        match item {
            WorkflowItem::Defaults(d) => {
                let end = self.end_of(d.span);
                // `defaults { timeout 30m  max_parallel 4 }`: on one line when it fits.
                let texts: Option<Vec<String>> =
                    d.attrs.iter().map(|a| attr_line(a, self.src())).collect();
                if let Some(texts) = texts.filter(|t| !t.is_empty()) {
                    let line = format!("defaults {{ {} }}", texts.join("  "));
                    if self.fits(&line) && !self.pending_before(end.saturating_sub(1)) {
                        self.line(&line);
                        self.trailing(end);
                        return;
                    }
                }
                self.attrs_block("defaults", &d.attrs, end, false);
            }
            WorkflowItem::Binding(b) => self.binding(b),
            WorkflowItem::Step(s) => self.step(s),
            WorkflowItem::Outputs(o) => self.workflow_outputs(o),
            WorkflowItem::Concurrency(c) => {
                let text = concurrency_text(c, self.src());
                self.leaf(&text, c.span);
            }
            WorkflowItem::Setting(a) => self.attr(a),
        }
    }

    /// `outputs { name: type = expr }`, one output per line.
    fn workflow_outputs(&mut self, o: &WorkflowOutputs) {
        let end = self.end_of(o.span);
        let open = self.trivia.map_or(0, |t| {
            t.skip_forward(o.span.start as usize + "outputs".len(), false, false)
        });
        if !self.open("outputs", open, o.decls.is_empty(), end) {
            return;
        }
        let src = self.src();
        let mut pos = open + 1;
        for d in &o.decls {
            let start = self.trivia.map_or(0, |t| t.skip_forward(pos, false, true));
            self.gap(start, false);
            self.docs(&d.docs, start);
            let (text, stop) = match &d.value {
                Some(v) => (
                    format!(
                        "{}: {} = {}",
                        d.name.name,
                        type_text(&d.ty),
                        expr_text(v, src)
                    ),
                    v.span.end,
                ),
                None => (
                    format!("{}: {}", d.name.name, type_text(&d.ty)),
                    d.ty.span.end,
                ),
            };
            self.leaf(&text, Span::new(start, stop as usize));
            pos = stop as usize;
        }
        self.close(end);
    }

    fn binding(&mut self, b: &Binding) {
        self.docs(&b.docs, b.span.start as usize);
        let src = self.src();
        let text = match (b.kind, &b.ty) {
            (BindingKind::Let, Some(ty)) => format!(
                "let {}: {} = {}",
                b.name.name,
                type_text(ty),
                expr_text(&b.value, src)
            ),
            (BindingKind::Let, None) => {
                format!("let {} = {}", b.name.name, expr_text(&b.value, src))
            }
            (BindingKind::Secret, _) => {
                format!("secret {} = {}", b.name.name, expr_text(&b.value, src))
            }
        };
        let end = self.end_of(b.span);
        let prefix = match text.find(" = ") {
            Some(at) => &text[..at + 3],
            None => "",
        };
        if !self.broken(&text, prefix, &b.value, end) {
            self.leaf(&text, b.span);
        }
    }

    fn step(&mut self, s: &Step) {
        self.docs(&s.docs, s.span.start as usize);
        let src = self.src();
        let head = step_head(s, src);
        if let (Some(call), true) = (&s.call, s.attrs.is_empty()) {
            let end = self.end_of(s.span);
            if self.fits(&head) && !self.pending_before(end) || call.args.is_empty() {
                self.leaf(&head, s.span);
            } else {
                let open = format!("{} = {}(", clauses_head(s, src), path_text(&call.callee));
                let elems: Vec<(Span, String)> = call
                    .args
                    .iter()
                    .map(|a| (a.span, args_text(std::slice::from_ref(a), src)))
                    .collect();
                self.elements(&open, &elems, ")", call.span, end);
            }
            return;
        }
        let end = self.end_of(s.span);
        self.attrs_block(&head, &s.attrs, end, true);
    }

    fn attr(&mut self, a: &Attr) {
        let src = self.src();
        let end = self.end_of(a.span);
        let close = end.saturating_sub(1);
        if let Some(text) = attr_line(a, self.src()) {
            // An env block stays on one line when it fits and holds no comments.
            let expand_env = matches!(&a.kind, AttrKind::Env(e) if !e.is_empty())
                && (!self.fits(&text) || self.pending_before(close));
            if !expand_env {
                let value = match &a.kind {
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
                    | AttrKind::MaxFailures(e) => Some(e),
                    _ => None,
                };
                let prefix = format!("{} ", a.kind.keyword());
                if !value.is_some_and(|e| self.broken(&text, &prefix, e, end)) {
                    self.leaf(&text, a.span);
                }
                return;
            }
        }
        let open = self
            .trivia
            .map_or(0, |t| t.skip_forward(a.keyword.end as usize, false, false));
        let empty = matches!(&a.kind, AttrKind::Outputs(outs) if outs.is_empty());
        if !self.open(a.kind.keyword(), open, empty, end) {
            return;
        }
        match &a.kind {
            AttrKind::Env(entries) => {
                for e in entries {
                    let start = e.name.span.start as usize;
                    self.gap(start, false);
                    let text = format!("{}: {}", key_text(&e.name.name), expr_text(&e.value, src));
                    self.leaf(&text, Span::new(start, e.value.span.end as usize));
                }
            }
            AttrKind::Outputs(outs) => {
                let mut pos = open + 1;
                for o in outs {
                    // An output has no span of its own: it starts at its first doc line,
                    // or its name.
                    let start = self.trivia.map_or(0, |t| t.skip_forward(pos, false, true));
                    self.gap(start, false);
                    self.docs(&o.docs, start);
                    // (A value only on the join step of an inlined sub-workflow call.)
                    let (text, stop) = match &o.value {
                        Some(v) => (
                            format!(
                                "{}: {} = {}",
                                o.name.name,
                                type_text(&o.ty),
                                expr_text(v, src)
                            ),
                            v.span.end,
                        ),
                        None => (
                            format!("{}: {}", o.name.name, type_text(&o.ty)),
                            o.ty.span.end,
                        ),
                    };
                    self.leaf(&text, Span::new(start, stop as usize));
                    pos = stop as usize;
                }
            }
            // Every other attribute has a one-line form.
            _ => {}
        }
        self.close(end);
    }
}

/// The header of a step, up to its body: `finally step name after a when c = f(x)`.
fn step_head(s: &Step, src: Option<&str>) -> String {
    let mut head = clauses_head(s, src);
    if let Some(call) = &s.call {
        let _ = write!(
            head,
            " = {}({})",
            path_text(&call.callee),
            args_text(&call.args, src)
        );
    }
    head
}

/// The header of a step without its call: `finally step name after a when c`.
fn clauses_head(s: &Step, src: Option<&str>) -> String {
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
                let _ = write!(head, " when {}", expr_text(e, src));
            }
            Clause::For(f) => {
                let _ = write!(head, " for {} in {}", f.var.name, expr_text(&f.list, src));
                if let Some(max) = &f.max {
                    let _ = write!(head, " max {}", expr_text(max, src));
                }
            }
            Clause::Compensates(target, _) => {
                let _ = write!(head, " on_failure_of {}", target.name);
            }
        }
    }
    head
}

/// An attribute on one line, or `None` for `outputs` with more than one output or with
/// docs, which takes one line per output.
fn attr_line(a: &Attr, src: Option<&str>) -> Option<String> {
    let kw = a.kind.keyword();
    Some(match &a.kind {
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
        | AttrKind::MaxFailures(e) => format!("{kw} {}", expr_text(e, src)),
        AttrKind::Retry(r) => {
            let mut text = format!("retry {}", expr_text(&r.count, src));
            if let Some(b) = &r.backoff {
                let _ = write!(
                    text,
                    " backoff {}({})",
                    path_text(&b.callee),
                    args_text(&b.args, src)
                );
            }
            if r.jitter.is_some() {
                text.push_str(" jitter");
            }
            if let Some(c) = &r.condition {
                let _ = write!(text, " if {}", expr_text(c, src));
            }
            text
        }
        AttrKind::Env(entries) if entries.is_empty() => "env {}".to_string(),
        AttrKind::Env(entries) => {
            let list: Vec<String> = entries
                .iter()
                .map(|e| format!("{}: {}", key_text(&e.name.name), expr_text(&e.value, src)))
                .collect();
            format!("env {{ {} }}", list.join(", "))
        }
        AttrKind::Outputs(outs) => match outs.as_slice() {
            [] => "outputs {}".to_string(),
            [o] if o.docs.0.is_empty() && o.value.is_none() => {
                format!("outputs {{ {}: {} }}", o.name.name, type_text(&o.ty))
            }
            _ => return None,
        },
        AttrKind::OnFailure(target, None) => format!("on_failure {}", target.name),
        AttrKind::OnFailure(target, Some(c)) => {
            format!("on_failure {} if {}", target.name, expr_text(c, src))
        }
    })
}

/// Consecutive items that, without source to say otherwise, need no blank line between
/// them: imports, and constants without docs.
fn grouped_items(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Import(_), Item::Import(x)) => x.docs.0.is_empty(),
        (Item::Let(_), Item::Let(x)) => x.docs.0.is_empty(),
        _ => false,
    }
}

/// The same for workflow items: bindings without docs.
/// `concurrency "group" policy`, the policy as written (none when it was left out).
fn concurrency_text(c: &Concurrency, src: Option<&str>) -> String {
    let mut text = format!("concurrency {}", expr_text(&c.group, src));
    if let Some((policy, _)) = c.policy {
        text.push(' ');
        text.push_str(policy.name());
    }
    text
}

fn grouped_body(a: &WorkflowItem, b: &WorkflowItem) -> bool {
    matches!((a, b), (WorkflowItem::Binding(_), WorkflowItem::Binding(x)) if x.docs.0.is_empty())
        || matches!((a, b), (WorkflowItem::Setting(_), WorkflowItem::Setting(_)))
}

fn item_span(item: &Item) -> Span {
    match item {
        Item::Import(i) => i.span,
        Item::Workflow(w) => w.span,
        Item::Task(t) => t.span,
        Item::Let(b) => b.span,
        Item::Policy(p) => p.span,
    }
}

fn workflow_item_span(item: &WorkflowItem) -> Span {
    match item {
        WorkflowItem::Defaults(d) => d.span,
        WorkflowItem::Outputs(o) => o.span,
        WorkflowItem::Binding(b) => b.span,
        WorkflowItem::Step(s) => s.span,
        WorkflowItem::Concurrency(c) => c.span,
        WorkflowItem::Setting(a) => a.span,
    }
}
