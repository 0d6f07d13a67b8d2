//! The parser's fast path: a hand-written recursive-descent recogniser of the grammar in
//! `grammar/flow.pest` that builds the [`ast::File`] straight from the text, several times
//! faster than pest and the pair-walking builder.
//!
//! The contract, which is what makes it safe to try first: [`parse`] returns `Some(file)`
//! only when the pest path (`FlowParser::parse(Rule::file, ..)`, then
//! `build::Builder::build_file` with no builder errors and at least one item) gives an
//! equal `ast::File`, spans and doc comments included; otherwise `None`, and the caller
//! parses with pest, which stays the language's definition and reports every error. Each
//! function below mirrors one grammar rule, including where pest's implicit whitespace
//! skipping happens, because a rule's span ends wherever pest stopped (trailing comments
//! included, trailing whitespace trimmed by the same [`build::trimmed_span`]).
//!
//! It never backtracks: where pest would try another alternative after a failed one, the
//! fast path decides by looking ahead, and it only decides "no" when pest's attempt would
//! surely fail; a "yes" that then fails declines the whole file. In this grammar such a
//! failure is fatal for pest too, as far as we know (the differential tests would show a
//! valid program declined). The one thing declined on purpose is nesting deeper than
//! [`MAX_NESTING`] (expressions, `else if` chains, `list<...>` types), which the scan does
//! not bound for the last two and which would otherwise recurse without limit.
//!
//! Number, escape and doc-comment text, operator precedence and span trimming come from
//! `build.rs`, so that both paths share one definition of each.

use super::build::{doc_text, escape_char, infix_level, number_kind, push_text, trimmed_span};
use crate::ast::*;
use crate::source::Span;

/// How deep expressions, `else if` chains and types may nest on this path: beyond it the
/// fast path declines (pest then parses, with the bound `scan` enforces on brackets).
pub const MAX_NESTING: usize = super::scan::MAX_DEPTH;

/// The reserved words of the grammar's `keyword` rule: never names. (A unit test checks
/// this list against pest's `ident` rule.)
const RESERVED: [&str; 17] = [
    "after",
    "as",
    "else",
    "false",
    "finally",
    "for",
    "if",
    "import",
    "in",
    "let",
    "on_failure_of",
    "secret",
    "step",
    "task",
    "true",
    "when",
    "workflow",
];

/// Parses `text` into the tree pest would build, or `None` to leave it to pest (see the
/// module doc for the contract).
pub fn parse(text: &str) -> Option<File> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let file = p.file()?;
    (!file.items.is_empty()).then_some(file)
}

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    depth: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'t> Parser<'t> {
    // -------------------------------------------------------------------------------
    // Tokens and trivia
    // -------------------------------------------------------------------------------

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    /// pest's implicit `(WHITESPACE | COMMENT)*`: stops at a `///` doc comment.
    fn skip(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'/' if self.peek_at(1) == Some(b'/') => {
                    if self.peek_at(2) == Some(b'/') && self.peek_at(3) != Some(b'/') {
                        return;
                    }
                    self.skip_line();
                }
                _ => return,
            }
        }
    }

    fn skip_line(&mut self) {
        let rest = &self.bytes[self.pos..];
        self.pos += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.pos += usize::from(hit);
        hit
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        self.eat(b).then_some(())
    }

    /// The name-shaped word at the cursor, keywords included, without consuming it.
    fn word_at(&self) -> &'t str {
        if !self.peek().is_some_and(is_ident_start) {
            return "";
        }
        let mut end = self.pos + 1;
        while self.bytes.get(end).is_some_and(|&b| is_ident_char(b)) {
            end += 1;
        }
        self.text.get(self.pos..end).unwrap_or("")
    }

    /// Consumes the keyword `kw` (`&kw_x ~ "x"` in the grammar), if it is at the cursor.
    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.word_at() == kw;
        if hit {
            self.pos += kw.len();
        }
        hit
    }

    fn expect_kw(&mut self, kw: &str) -> Option<()> {
        self.eat_kw(kw).then_some(())
    }

    /// `word`: any name-shaped word.
    fn word(&mut self) -> Option<Ident> {
        let w = self.word_at();
        self.take_word(w)
    }

    /// `ident`: a word that is not reserved.
    fn ident(&mut self) -> Option<Ident> {
        let w = self.word_at();
        if RESERVED.contains(&w) {
            return None;
        }
        self.take_word(w)
    }

    /// Consumes `w`, the word at the cursor, if it is not empty.
    fn take_word(&mut self, w: &str) -> Option<Ident> {
        if w.is_empty() {
            return None;
        }
        let start = self.pos;
        self.pos += w.len();
        Some(Ident {
            name: w.to_string(),
            span: Span::new(start, self.pos),
        })
    }

    /// The span of the rule that started at `start` and ends at the cursor.
    fn span_from(&self, start: usize) -> Span {
        trimmed_span(start, &self.text[start..self.pos])
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_NESTING).then_some(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn at_doc(&self) -> bool {
        self.bytes[self.pos..].starts_with(b"///") && self.peek_at(3) != Some(b'/')
    }

    /// `docs`: zero or more `doc_comment` lines.
    fn docs(&mut self) -> Docs {
        let mut docs = Vec::new();
        while self.at_doc() {
            let start = self.pos;
            self.skip_line();
            docs.push(doc_text(&self.text[start..self.pos]));
            let before = self.pos;
            self.skip();
            if !self.at_doc() {
                self.pos = before;
            }
        }
        Docs(docs)
    }

    // -------------------------------------------------------------------------------
    // Files and items
    // -------------------------------------------------------------------------------

    /// `file`.
    fn file(&mut self) -> Option<File> {
        let mut items = Vec::new();
        loop {
            self.skip();
            if self.pos == self.bytes.len() {
                return Some(File { items });
            }
            items.push(self.item()?);
        }
    }

    /// `item`: dispatched on the keyword after the docs.
    fn item(&mut self) -> Option<Item> {
        let start = self.pos;
        let docs = self.docs();
        self.skip();
        Some(match self.word_at() {
            "import" => Item::Import(self.import_decl(start, docs)?),
            "workflow" => Item::Workflow(self.workflow_decl(start, docs)?),
            "task" => Item::Task(self.task_decl(start, docs)?),
            "let" => Item::Let(self.binding(start, docs, BindingKind::Let)?),
            "policy" => Item::Policy(self.policy_decl(start, docs)?),
            _ => return None,
        })
    }

    /// `import_decl`, from its keyword.
    fn import_decl(&mut self, start: usize, docs: Docs) -> Option<Import> {
        self.expect_kw("import")?;
        self.skip();
        let path_start = self.pos;
        let mut path = String::new();
        for part in self.string_lit()? {
            match part {
                StrPart::Text(t) => path.push_str(&t),
                StrPart::Interp(_) => return None,
            }
        }
        let path_span = Span::new(path_start, self.pos);
        self.skip();
        self.expect_kw("as")?;
        self.skip();
        let alias = self.ident()?;
        Some(Import {
            docs,
            path,
            path_span,
            alias,
            span: self.span_from(start),
        })
    }

    /// `policy_decl`, from its keyword.
    fn policy_decl(&mut self, start: usize, docs: Docs) -> Option<Policy> {
        self.expect_kw("policy")?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        self.expect(b'{')?;
        self.skip();
        self.expect_kw("retry")?;
        let retry = self.retry_attr()?;
        self.skip();
        self.expect(b'}')?;
        Some(Policy {
            docs,
            name,
            retry,
            span: self.span_from(start),
        })
    }

    /// `workflow_decl`, from its keyword.
    fn workflow_decl(&mut self, start: usize, docs: Docs) -> Option<Workflow> {
        self.expect_kw("workflow")?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        let params = self.params_opt()?;
        self.expect(b'{')?;
        let mut body = Vec::new();
        loop {
            self.skip();
            if self.eat(b'}') {
                break;
            }
            body.push(self.workflow_item()?);
        }
        Some(Workflow {
            docs,
            name,
            params,
            body,
            span: self.span_from(start),
        })
    }

    /// `workflow_item`. (`defaults` and `outputs` take no docs.)
    fn workflow_item(&mut self) -> Option<WorkflowItem> {
        let start = self.pos;
        let docs = self.docs();
        self.skip();
        let documented = self.pos != start;
        Some(match self.word_at() {
            "step" | "finally" => WorkflowItem::Step(self.step_decl(start, docs)?),
            "let" => WorkflowItem::Binding(self.binding(start, docs, BindingKind::Let)?),
            "secret" => WorkflowItem::Binding(self.binding(start, docs, BindingKind::Secret)?),
            "defaults" if !documented => {
                self.pos += "defaults".len();
                self.skip();
                let attrs = self.step_body()?;
                WorkflowItem::Defaults(Defaults {
                    attrs,
                    span: self.span_from(start),
                })
            }
            "outputs" if !documented => {
                self.pos += "outputs".len();
                self.skip();
                let decls = self.output_block(true)?;
                WorkflowItem::Outputs(WorkflowOutputs {
                    decls,
                    span: self.span_from(start),
                })
            }
            _ => return None,
        })
    }

    /// `task_decl`, from its keyword.
    fn task_decl(&mut self, start: usize, docs: Docs) -> Option<Task> {
        self.expect_kw("task")?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        let params = self.params_opt()?;
        let body = self.step_body()?;
        Some(Task {
            docs,
            name,
            params,
            body,
            span: self.span_from(start),
        })
    }

    /// `params?` and the skip after it: the parameters when `(` is at the cursor.
    fn params_opt(&mut self) -> Option<Vec<Param>> {
        let mut params = Vec::new();
        if !self.eat(b'(') {
            return Some(params);
        }
        self.skip();
        if !self.eat(b')') {
            loop {
                params.push(self.param()?);
                self.skip();
                if self.eat(b')') {
                    break;
                }
                self.expect(b',')?;
                self.skip();
                if self.eat(b')') {
                    break;
                }
            }
        }
        self.skip();
        Some(params)
    }

    /// `param`.
    fn param(&mut self) -> Option<Param> {
        let start = self.pos;
        let docs = self.docs();
        self.skip();
        let name = self.ident()?;
        self.skip();
        self.expect(b':')?;
        self.skip();
        let ty = self.type_expr()?;
        self.skip();
        let default = if self.eat(b'=') {
            self.skip();
            Some(self.expr()?)
        } else {
            None
        };
        Some(Param {
            docs,
            name,
            ty,
            default,
            span: self.span_from(start),
        })
    }

    /// `let_decl` or `secret_decl`, from its keyword.
    fn binding(&mut self, start: usize, docs: Docs, kind: BindingKind) -> Option<Binding> {
        self.expect_kw(match kind {
            BindingKind::Let => "let",
            BindingKind::Secret => "secret",
        })?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        let ty = if kind == BindingKind::Let && self.eat(b':') {
            self.skip();
            let ty = self.type_expr()?;
            self.skip();
            Some(ty)
        } else {
            None
        };
        self.expect(b'=')?;
        self.skip();
        let value = self.expr()?;
        Some(Binding {
            docs,
            kind,
            name,
            ty,
            value,
            span: self.span_from(start),
        })
    }

    /// The braces of `outputs_attr` (no values) or `workflow_outputs` (`with_values`).
    fn output_block(&mut self, with_values: bool) -> Option<Vec<OutputDecl>> {
        self.expect(b'{')?;
        let mut decls = Vec::new();
        loop {
            self.skip();
            if self.eat(b'}') {
                return Some(decls);
            }
            if !decls.is_empty() && self.eat(b',') {
                self.skip();
                if self.eat(b'}') {
                    return Some(decls);
                }
            }
            decls.push(self.output_decl(with_values)?);
        }
    }

    /// `output_decl`, or `output_def` when `with_value`.
    fn output_decl(&mut self, with_value: bool) -> Option<OutputDecl> {
        let docs = self.docs();
        self.skip();
        let name = self.ident()?;
        self.skip();
        self.expect(b':')?;
        self.skip();
        let ty = self.type_expr()?;
        let value = if with_value {
            self.skip();
            self.expect(b'=')?;
            self.skip();
            Some(self.expr()?)
        } else {
            None
        };
        Some(OutputDecl {
            docs,
            name,
            ty,
            value,
        })
    }

    // -------------------------------------------------------------------------------
    // Steps
    // -------------------------------------------------------------------------------

    /// `step_decl`, from `finally` or `step`.
    fn step_decl(&mut self, start: usize, docs: Docs) -> Option<Step> {
        let finally = if self.eat_kw("finally") {
            let span = Span::new(self.pos - "finally".len(), self.pos);
            self.skip();
            Some(span)
        } else {
            None
        };
        self.expect_kw("step")?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        let mut clauses = Vec::new();
        loop {
            let clause = match self.word_at() {
                "after" => self.after_clause()?,
                "when" => {
                    let s = self.pos;
                    self.pos += "when".len();
                    self.skip();
                    let cond = self.expr()?;
                    Clause::When(cond, self.span_from(s))
                }
                "for" => self.for_clause()?,
                "on_failure_of" => {
                    let s = self.pos;
                    self.pos += "on_failure_of".len();
                    self.skip();
                    let target = self.ident()?;
                    Clause::Compensates(target, self.span_from(s))
                }
                _ => break,
            };
            clauses.push(clause);
            self.skip();
        }
        let mut call = None;
        let mut attrs = Vec::new();
        if self.peek() == Some(b'=') {
            call = Some(Box::new(self.step_call()?));
            self.skip();
            if self.peek() == Some(b'{') {
                attrs = self.step_body()?;
            }
        } else {
            attrs = self.step_body()?;
        }
        Some(Step {
            docs,
            finally,
            name,
            clauses,
            call,
            attrs,
            span: self.span_from(start),
        })
    }

    /// `after_clause`.
    fn after_clause(&mut self) -> Option<Clause> {
        let start = self.pos;
        self.expect_kw("after")?;
        self.skip();
        let mut names = vec![self.ident()?];
        self.skip();
        if self.peek() == Some(b',') {
            loop {
                self.pos += 1;
                self.skip();
                names.push(self.ident()?);
                let before = self.pos;
                self.skip();
                if self.peek() != Some(b',') {
                    self.pos = before;
                    break;
                }
            }
        }
        Some(Clause::After(names, self.span_from(start)))
    }

    /// `for_clause`.
    fn for_clause(&mut self) -> Option<Clause> {
        let start = self.pos;
        self.expect_kw("for")?;
        self.skip();
        let var = self.ident()?;
        self.skip();
        self.expect_kw("in")?;
        self.skip();
        let list = self.expr()?;
        self.skip();
        let max = if self.eat_kw("max") {
            self.skip();
            Some(self.expr()?)
        } else {
            None
        };
        Some(Clause::For(Box::new(ForEach {
            var,
            list,
            max,
            span: self.span_from(start),
        })))
    }

    /// `step_call`: `= path(args)`.
    fn step_call(&mut self) -> Option<Call> {
        let start = self.pos;
        self.expect(b'=')?;
        self.skip();
        let callee = self.path()?;
        self.skip();
        let args = self.call_args()?;
        Some(Call {
            callee,
            args,
            span: self.span_from(start),
        })
    }

    /// `path`.
    fn path(&mut self) -> Option<Path> {
        let start = self.pos;
        let first = self.ident()?;
        self.skip();
        let (module, name) = if self.eat(b'.') {
            self.skip();
            (Some(first), self.word()?)
        } else {
            (None, first)
        };
        Some(Path {
            module,
            name,
            span: self.span_from(start),
        })
    }

    /// `step_body`: `{ ATTRS }`.
    fn step_body(&mut self) -> Option<Vec<Attr>> {
        self.expect(b'{')?;
        let mut attrs = Vec::new();
        loop {
            self.skip();
            if self.eat(b'}') {
                return Some(attrs);
            }
            attrs.push(self.step_attr()?);
        }
    }

    /// `step_attr`: dispatched on its keyword.
    fn step_attr(&mut self) -> Option<Attr> {
        let start = self.pos;
        let word = self.word_at();
        self.pos += word.len();
        self.skip();
        let kind = match word {
            "run" => AttrKind::Run(self.expr()?),
            "exec" => AttrKind::Exec(self.expr()?),
            "sleep" => AttrKind::Sleep(self.expr()?),
            "approve" => AttrKind::Approve(self.expr()?),
            "native" => AttrKind::Native(self.expr()?),
            "timeout" => AttrKind::Timeout(self.expr()?),
            "max_parallel" => AttrKind::MaxParallel(self.expr()?),
            "retry" => AttrKind::Retry(Box::new(self.retry_attr()?)),
            "env" => AttrKind::Env(self.env_block()?),
            "outputs" => AttrKind::Outputs(self.output_block(false)?),
            "on_failure" => AttrKind::OnFailure(self.ident()?),
            _ => return None,
        };
        Some(Attr {
            kind,
            span: self.span_from(start),
            keyword: Span::new(start, start + word.len()),
        })
    }

    /// `retry_attr`, after its keyword.
    fn retry_attr(&mut self) -> Option<Retry> {
        self.skip();
        let count = self.expr()?;
        self.skip();
        let backoff = if self.word_at() == "backoff" {
            let start = self.pos;
            self.pos += "backoff".len();
            self.skip();
            let name = self.ident()?;
            self.skip();
            let args = self.call_args()?;
            Some(Call {
                callee: Path {
                    module: None,
                    span: name.span,
                    name,
                },
                args,
                span: self.span_from(start),
            })
        } else {
            None
        };
        self.skip();
        let jitter = if self.eat_kw("jitter") {
            Some(Span::new(self.pos - "jitter".len(), self.pos))
        } else {
            None
        };
        self.skip();
        let condition = if self.eat_kw("if") {
            self.skip();
            Some(self.expr()?)
        } else {
            None
        };
        Some(Retry {
            count,
            backoff,
            jitter,
            condition,
        })
    }

    /// The braces of `env_attr`.
    fn env_block(&mut self) -> Option<Vec<EnvEntry>> {
        self.expect(b'{')?;
        let mut entries = Vec::new();
        loop {
            self.skip();
            if self.eat(b'}') {
                return Some(entries);
            }
            if !entries.is_empty() && self.eat(b',') {
                self.skip();
                if self.eat(b'}') {
                    return Some(entries);
                }
            }
            let name = self.key()?;
            self.skip();
            self.expect(b':')?;
            self.skip();
            let value = self.expr()?;
            entries.push(EnvEntry { name, value });
        }
    }

    /// `word | string_lit` as the key of an env or map entry; a quoted key may not
    /// interpolate.
    fn key(&mut self) -> Option<Ident> {
        if self.peek() != Some(b'"') {
            return self.word();
        }
        let start = self.pos;
        let mut name = String::new();
        for part in self.string_lit()? {
            match part {
                StrPart::Text(t) => name.push_str(&t),
                StrPart::Interp(_) => return None,
            }
        }
        Some(Ident {
            name,
            span: Span::new(start, self.pos),
        })
    }

    // -------------------------------------------------------------------------------
    // Types
    // -------------------------------------------------------------------------------

    /// `type_expr`.
    fn type_expr(&mut self) -> Option<TypeExpr> {
        self.enter()?;
        let start = self.pos;
        let name = self.word()?;
        self.skip();
        let arg = if self.eat(b'<') {
            self.skip();
            let arg = self.type_expr()?;
            self.skip();
            self.expect(b'>')?;
            Some(Box::new(arg))
        } else {
            None
        };
        self.leave();
        Some(TypeExpr {
            name,
            arg,
            span: self.span_from(start),
        })
    }

    // -------------------------------------------------------------------------------
    // Expressions
    // -------------------------------------------------------------------------------

    /// `expr`: operands and infix operators, folded by the precedence of
    /// [`INFIX_LEVELS`] (all left-associative). Leaves the cursor where pest's rule ends.
    fn expr(&mut self) -> Option<Expr> {
        self.enter()?;
        let (first, first_paren) = self.operand()?;
        self.skip();
        let Some(op) = self.infix() else {
            self.leave();
            return Some(first);
        };
        // Shunting-yard over the flat `operand (infix operand)*` that pest's rule matches.
        let mut operands: Vec<(Expr, bool)> = vec![(first, first_paren)];
        let mut ops: Vec<BinOp> = Vec::new();
        let mut next = op;
        loop {
            self.skip();
            while let Some(&top) = ops.last() {
                if infix_level(top) < infix_level(next) {
                    break;
                }
                ops.pop();
                reduce(&mut operands, top)?;
            }
            ops.push(next);
            operands.push(self.operand()?);
            let before = self.pos;
            self.skip();
            match self.infix() {
                Some(op) => next = op,
                None => {
                    self.pos = before;
                    break;
                }
            }
        }
        while let Some(top) = ops.pop() {
            reduce(&mut operands, top)?;
        }
        self.leave();
        let (expr, _) = operands.pop()?;
        operands.is_empty().then_some(expr)
    }

    /// An `infix` operator at the cursor, consumed.
    fn infix(&mut self) -> Option<BinOp> {
        let two = |p: &Self, s: &[u8]| p.bytes[p.pos..].starts_with(s);
        let op = match self.peek()? {
            b'|' if two(self, b"||") => BinOp::Or,
            b'&' if two(self, b"&&") => BinOp::And,
            b'=' if two(self, b"==") => BinOp::Eq,
            b'!' if two(self, b"!=") => BinOp::Ne,
            b'<' if two(self, b"<=") => BinOp::Le,
            b'>' if two(self, b">=") => BinOp::Ge,
            b'<' => BinOp::Lt,
            b'>' => BinOp::Gt,
            b'+' => BinOp::Add,
            b'-' => BinOp::Sub,
            b'*' => BinOp::Mul,
            b'/' if self.peek_at(1) != Some(b'/') => BinOp::Div,
            b'%' => BinOp::Rem,
            _ => return None,
        };
        self.pos += op.symbol().len();
        Some(op)
    }

    /// `operand`: prefixes, a primary and postfixes. Also says whether it is a bare
    /// parenthesised expression (which may be compared again: `(a < b) == c`).
    fn operand(&mut self) -> Option<(Expr, bool)> {
        let mut prefixes: Vec<(UnOp, usize)> = Vec::new();
        loop {
            let at = self.pos;
            match self.peek() {
                Some(b'!') => {
                    self.pos += 1;
                    self.skip();
                    if self.peek() == Some(b'=') {
                        return None;
                    }
                    prefixes.push((UnOp::Not, at));
                }
                Some(b'-') => {
                    self.pos += 1;
                    prefixes.push((UnOp::Neg, at));
                }
                _ => break,
            }
            if prefixes.len() > MAX_NESTING {
                return None;
            }
            self.skip();
        }
        let (mut expr, mut paren) = self.primary()?;
        self.skip();
        if matches!(self.peek(), Some(b'.' | b'[' | b'(')) {
            paren = false;
            loop {
                expr = self.postfix(expr)?;
                let before = self.pos;
                self.skip();
                if !matches!(self.peek(), Some(b'.' | b'[' | b'(')) {
                    self.pos = before;
                    break;
                }
            }
        }
        for (op, at) in prefixes.into_iter().rev() {
            paren = false;
            expr = Expr {
                span: Span::new(at, expr.span.end as usize),
                kind: ExprKind::Unary(op, Box::new(expr)),
            };
        }
        Some((expr, paren))
    }

    /// One `postfix` applied to `lhs`: `.field`, `[index]` or `(args)`.
    fn postfix(&mut self, lhs: Expr) -> Option<Expr> {
        let start = lhs.span.start as usize;
        let kind = match self.peek()? {
            b'.' => {
                self.pos += 1;
                self.skip();
                ExprKind::Field(Box::new(lhs), self.word()?)
            }
            b'[' => {
                self.pos += 1;
                self.skip();
                let index = self.expr()?;
                self.skip();
                self.expect(b']')?;
                ExprKind::Index(Box::new(lhs), Box::new(index))
            }
            _ => ExprKind::Call(Box::new(lhs), self.call_args()?),
        };
        Some(Expr {
            span: Span::new(start, self.pos),
            kind,
        })
    }

    /// `call_args`: `(a, name: b)`.
    fn call_args(&mut self) -> Option<Vec<Arg>> {
        self.expect(b'(')?;
        self.skip();
        let mut args = Vec::new();
        if self.eat(b')') {
            return Some(args);
        }
        loop {
            args.push(self.arg()?);
            self.skip();
            if self.eat(b')') {
                return Some(args);
            }
            self.expect(b',')?;
            self.skip();
            if self.eat(b')') {
                return Some(args);
            }
        }
    }

    /// `arg`: an expression, optionally named.
    fn arg(&mut self) -> Option<Arg> {
        let start = self.pos;
        let mut name = None;
        if let Some(word) = self.word() {
            self.skip();
            if self.eat(b':') {
                self.skip();
                name = Some(word);
            } else {
                self.pos = start;
            }
        }
        let value = self.expr()?;
        Some(Arg {
            name,
            value,
            span: self.span_from(start),
        })
    }

    /// `primary`, and whether it is a `paren`.
    fn primary(&mut self) -> Option<(Expr, bool)> {
        let start = self.pos;
        let kind = match self.peek()? {
            b'"' => ExprKind::Str(self.string_lit()?),
            b'0'..=b'9' => return self.number().map(|e| (e, false)),
            b'[' => {
                self.pos += 1;
                ExprKind::List(self.sequence(b']', |p| p.expr())?)
            }
            b'{' => {
                self.pos += 1;
                ExprKind::Map(self.sequence(b'}', |p| {
                    let key = p.key()?;
                    p.skip();
                    p.expect(b':')?;
                    p.skip();
                    Some((key, p.expr()?))
                })?)
            }
            b'(' => {
                self.pos += 1;
                self.skip();
                let inner = self.expr()?;
                self.skip();
                self.expect(b')')?;
                let span = Span::new(start, self.pos);
                return Some((
                    Expr {
                        kind: inner.kind,
                        span,
                    },
                    true,
                ));
            }
            _ => match self.word_at() {
                "" => return None,
                "true" | "false" => {
                    let w = self.word_at();
                    self.pos += w.len();
                    ExprKind::Bool(w == "true")
                }
                "if" => return self.if_expr().map(|e| (e, false)),
                "workflow" => {
                    self.pos += "workflow".len();
                    ExprKind::Workflow
                }
                _ => ExprKind::Name(self.ident()?.name),
            },
        };
        Some((
            Expr {
                kind,
                span: Span::new(start, self.pos),
            },
            false,
        ))
    }

    /// The elements of a list or map literal after its opening bracket, up to and
    /// including `close`: `elem ("," elem)* ","?`.
    fn sequence<T>(
        &mut self,
        close: u8,
        mut elem: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut items = Vec::new();
        self.skip();
        if self.eat(close) {
            return Some(items);
        }
        loop {
            items.push(elem(self)?);
            self.skip();
            if self.eat(close) {
                return Some(items);
            }
            self.expect(b',')?;
            self.skip();
            if self.eat(close) {
                return Some(items);
            }
        }
    }

    /// `if_expr`: `if c { a } else { b }` or `else if ...`.
    fn if_expr(&mut self) -> Option<Expr> {
        self.enter()?;
        let start = self.pos;
        self.expect_kw("if")?;
        self.skip();
        let cond = self.expr()?;
        self.skip();
        let then = self.braced_expr()?;
        self.skip();
        self.expect_kw("else")?;
        self.skip();
        let other = if self.word_at() == "if" {
            self.if_expr()?
        } else {
            self.braced_expr()?
        };
        self.leave();
        Some(Expr {
            kind: ExprKind::If(Box::new(cond), Box::new(then), Box::new(other)),
            span: Span::new(start, self.pos),
        })
    }

    /// `"{" ~ expr ~ "}"`.
    fn braced_expr(&mut self) -> Option<Expr> {
        self.expect(b'{')?;
        self.skip();
        let e = self.expr()?;
        self.skip();
        self.expect(b'}')?;
        Some(e)
    }

    /// `number`: digits, an optional fraction, then any suffix, valued as `build` does.
    fn number(&mut self) -> Option<Expr> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            while matches!(p.peek(), Some(b'0'..=b'9' | b'_')) {
                p.pos += 1;
            }
        };
        digits(self);
        if self.peek() == Some(b'.') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        while self.peek().is_some_and(is_ident_char) {
            self.pos += 1;
        }
        let span = Span::new(start, self.pos);
        let kind = number_kind(&self.text[start..self.pos], span).ok()?;
        Some(Expr { kind, span })
    }

    /// `string_lit`: text, escapes and `${expr}`, adjacent text merged.
    fn string_lit(&mut self) -> Option<Vec<StrPart>> {
        self.expect(b'"')?;
        let mut parts = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(parts);
                }
                b'\\' => {
                    let start = self.pos;
                    let rest = &self.text[start + 1..];
                    let len = match rest.strip_prefix("u{") {
                        Some(hex) => match hex.find(['}', '"']) {
                            Some(end) if hex.as_bytes().get(end) == Some(&b'}') => {
                                "u{".len() + end + 1
                            }
                            _ => 1,
                        },
                        None => rest.chars().next()?.len_utf8(),
                    };
                    self.pos = start + 1 + len;
                    let c = escape_char(&self.text[start..self.pos])?;
                    push_text(&mut parts, c.encode_utf8(&mut [0; 4]));
                }
                b'$' if self.peek_at(1) == Some(b'{') => {
                    self.pos += 2;
                    self.skip();
                    let e = self.expr()?;
                    self.skip();
                    self.expect(b'}')?;
                    parts.push(StrPart::Interp(e));
                }
                _ => {
                    let start = self.pos;
                    self.pos += 1;
                    while let Some(b) = self.peek() {
                        let stop =
                            b == b'"' || b == b'\\' || (b == b'$' && self.peek_at(1) == Some(b'{'));
                        if stop {
                            break;
                        }
                        self.pos += 1;
                    }
                    push_text(&mut parts, &self.text[start..self.pos]);
                }
            }
        }
    }
}

/// Folds the last two operands with `op`, as `build`'s Pratt parser does; `None` for a
/// chained comparison (`a < b < c`), which `build` reports as an error.
fn reduce(operands: &mut Vec<(Expr, bool)>, op: BinOp) -> Option<()> {
    let (rhs, _) = operands.pop()?;
    let (lhs, lhs_paren) = operands.pop()?;
    if op.is_comparison() && !lhs_paren {
        if let ExprKind::Binary(prev, ..) = &lhs.kind {
            if prev.is_comparison() {
                return None;
            }
        }
    }
    let span = lhs.span.to(rhs.span);
    operands.push((
        Expr {
            span,
            kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
        },
        false,
    ));
    Some(())
}

#[cfg(test)]
mod tests {
    use pest::Parser as _;

    use super::*;
    use crate::parse::{keywords, FlowParser, Rule};

    /// [`RESERVED`] is exactly the set of keywords pest's `ident` rule refuses.
    #[test]
    fn reserved_words_match_the_grammar() {
        let mut words: Vec<&str> = keywords().iter().map(String::as_str).collect();
        words.extend(RESERVED);
        words.extend(["steps", "true_", "iff", "max", "continue"]);
        for word in words {
            let pest_ident = FlowParser::parse(Rule::ident, word)
                .is_ok_and(|mut p| p.next().is_some_and(|p| p.as_str() == word));
            assert_eq!(pest_ident, !RESERVED.contains(&word), "`{word}`");
        }
    }
}
