//! Builds the AST from pest pairs: one `build_<rule>` function per grammar rule. Problems
//! the grammar cannot see (bad escapes, numbers, chained comparisons, an `if` without
//! `else`) are collected, not fatal, so that one pass reports them all; the top-level item
//! or workflow body item they are in is left out of the tree, and its name recorded, as
//! for an item that does not parse (see `read`).

use std::cell::RefCell;
use std::sync::LazyLock;

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::error::SyntaxError;
use super::Rule;
use crate::ast::*;
use crate::source::Span;

/// The infix operators, loosest first: one precedence level per entry, every one
/// left-associative, folded by [`PRATT`] below.
const INFIX_LEVELS: [&[(Rule, BinOp)]; 5] = [
    &[(Rule::or, BinOp::Or)],
    &[(Rule::and, BinOp::And)],
    &[
        (Rule::eq, BinOp::Eq),
        (Rule::ne, BinOp::Ne),
        (Rule::lt, BinOp::Lt),
        (Rule::le, BinOp::Le),
        (Rule::gt, BinOp::Gt),
        (Rule::ge, BinOp::Ge),
    ],
    &[(Rule::add, BinOp::Add), (Rule::sub, BinOp::Sub)],
    &[
        (Rule::mul, BinOp::Mul),
        (Rule::div, BinOp::Div),
        (Rule::rem, BinOp::Rem),
    ],
];

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    let mut pratt = PrattParser::new();
    for level in INFIX_LEVELS {
        let mut ops = level.iter().map(|&(rule, _)| Op::infix(rule, Assoc::Left));
        if let Some(first) = ops.next() {
            pratt = pratt.op(ops.fold(first, |all, op| all | op));
        }
    }
    pratt
        .op(Op::prefix(Rule::not) | Op::prefix(Rule::neg))
        .op(Op::postfix(Rule::field) | Op::postfix(Rule::index) | Op::postfix(Rule::call_args))
});

/// Turns pairs into AST nodes, collecting the errors it finds on the way.
pub struct Builder {
    errors: RefCell<Vec<SyntaxError>>,
    /// The names declared by the items left out because of an error.
    broken: RefCell<Vec<String>>,
    /// Spans of parenthesised expressions: `(a < b) < c` is not a chained comparison.
    parenthesised: RefCell<std::collections::HashSet<Span>>,
}

thread_local! {
    /// Where the text being built starts in its file: 0, except for a piece read on its
    /// own after a syntax error (see [`with_offset`]).
    static OFFSET: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs `f` with every span shifted by `offset`: for building a piece of a file that was
/// parsed on its own.
pub fn with_offset<T>(offset: usize, f: impl FnOnce() -> T) -> T {
    OFFSET.with(|o| o.set(offset));
    let result = f();
    OFFSET.with(|o| o.set(0));
    result
}

/// The span of a pair, without the whitespace pest's implicit skipping leaves at its end.
fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    let offset = OFFSET.with(|o| o.get());
    trimmed_span(offset + s.start(), s.as_str())
}

/// The span of a rule's text `raw` starting at `start`, without its trailing whitespace:
/// pest's implicit skipping can leave whitespace (and comments) at the end of a rule.
fn trimmed_span(start: usize, raw: &str) -> Span {
    Span::new(start, start + raw.trim_end().len())
}

/// Builds one node per pair into a vector of exactly that size: `collect` on pairs reserves
/// room for four, and a 100,000-step file keeps each of these vectors (a step's attributes,
/// most often one) until it is checked.
fn build_each<'i, T>(pairs: Pairs<'i, Rule>, f: impl FnMut(Pair<'i, Rule>) -> T) -> Vec<T> {
    let mut built = Vec::with_capacity(pairs.len());
    built.extend(pairs.map(f));
    built
}

fn ident(pair: Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: span_of(&pair),
    }
}

impl Builder {
    /// A builder with no errors collected yet.
    pub fn new() -> Self {
        Builder {
            errors: RefCell::new(Vec::new()),
            broken: RefCell::new(Vec::new()),
            parenthesised: RefCell::new(std::collections::HashSet::new()),
        }
    }

    /// The errors collected while building.
    pub fn into_errors(self) -> Vec<SyntaxError> {
        self.errors.into_inner()
    }

    /// The errors collected while building, and the names declared by the items left out
    /// because of them.
    pub fn into_parts(self) -> (Vec<SyntaxError>, Vec<String>) {
        (self.errors.into_inner(), self.broken.into_inner())
    }

    /// How many errors have been collected so far.
    pub fn error_count(&self) -> usize {
        self.errors.borrow().len()
    }

    /// `node` when building it collected no error; otherwise `None`, with its name (if it
    /// has one) recorded as declared by a part that did not parse.
    fn unless_broken<T>(
        &self,
        errors_before: usize,
        node: T,
        name: impl Fn(&T) -> &str,
    ) -> Option<T> {
        if self.error_count() == errors_before {
            return Some(node);
        }
        let name = name(&node);
        if !name.is_empty() {
            self.broken.borrow_mut().push(name.to_string());
        }
        None
    }

    /// Records `name` as declared by a part that did not parse.
    pub fn mark_broken(&self, name: String) {
        self.broken.borrow_mut().push(name);
    }

    fn error(&self, err: SyntaxError) {
        self.errors.borrow_mut().push(err);
    }

    /// `file`.
    pub fn build_file(&self, mut pairs: Pairs<'_, Rule>) -> File {
        let Some(file) = pairs.next() else {
            return File { items: Vec::new() };
        };
        File {
            items: file
                .into_inner()
                .filter_map(|pair| self.build_item(pair))
                .collect(),
        }
    }

    /// A top-level item, if `pair` is one and it has no error.
    pub fn build_item(&self, pair: Pair<'_, Rule>) -> Option<Item> {
        let mut before = self.error_count();
        let item = match pair.as_rule() {
            Rule::import_decl => Item::Import(self.build_import_decl(pair)),
            Rule::workflow_decl => {
                // A workflow keeps the body items that built: it is left out only for an
                // error in its header.
                let (workflow, body_errors) = self.build_workflow_decl(pair);
                before += body_errors;
                Item::Workflow(workflow)
            }
            Rule::task_decl => Item::Task(self.build_task_decl(pair)),
            Rule::let_decl => Item::Let(self.build_binding(pair, BindingKind::Let)),
            Rule::policy_decl => Item::Policy(self.build_policy_decl(pair)),
            _ => return None,
        };
        self.unless_broken(before, item, |item| match item {
            Item::Import(i) => &i.alias.name,
            Item::Workflow(w) => &w.name.name,
            Item::Task(t) => &t.name.name,
            Item::Let(b) => &b.name.name,
            Item::Policy(p) => &p.name.name,
        })
    }

    /// An item of a workflow body, if `pair` is one and it has no error.
    pub fn build_workflow_item(&self, p: Pair<'_, Rule>) -> Option<WorkflowItem> {
        let before = self.error_count();
        let item = self.build_workflow_item_unchecked(p)?;
        self.unless_broken(before, item, |item| match item {
            WorkflowItem::Binding(b) => &b.name.name,
            WorkflowItem::Step(s) => &s.name.name,
            WorkflowItem::Defaults(_)
            | WorkflowItem::Outputs(_)
            | WorkflowItem::Concurrency(_)
            | WorkflowItem::Setting(_) => "",
        })
    }

    fn build_workflow_item_unchecked(&self, p: Pair<'_, Rule>) -> Option<WorkflowItem> {
        Some(match p.as_rule() {
            Rule::defaults_block => WorkflowItem::Defaults(self.build_defaults_block(p)),
            Rule::workflow_outputs => WorkflowItem::Outputs(WorkflowOutputs {
                span: span_of(&p),
                decls: build_each(p.into_inner(), |d| self.build_output_decl(d)),
            }),
            Rule::let_decl => WorkflowItem::Binding(self.build_binding(p, BindingKind::Let)),
            Rule::secret_decl => WorkflowItem::Binding(self.build_binding(p, BindingKind::Secret)),
            Rule::step_decl => WorkflowItem::Step(self.build_step_decl(p)),
            Rule::concurrency_decl => WorkflowItem::Concurrency(self.build_concurrency_decl(p)),
            Rule::timeout_attr | Rule::max_failures_attr => {
                WorkflowItem::Setting(self.build_attr(p))
            }
            _ => return None,
        })
    }

    /// `concurrency EXPR [queue|skip|cancel]`.
    fn build_concurrency_decl(&self, pair: Pair<'_, Rule>) -> Concurrency {
        let span = span_of(&pair);
        let mut group = None;
        let mut policy = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::expr => group = Some(self.build_expr(p)),
                Rule::concurrency_policy => {
                    policy = GroupPolicy::from_name(p.as_str()).map(|g| (g, span_of(&p)));
                }
                _ => {}
            }
        }
        Concurrency {
            group: group.unwrap_or(Expr {
                kind: ExprKind::Str(Vec::new()),
                span,
            }),
            policy,
            span,
        }
    }

    /// One `doc_comment` line, without the slashes and one leading space.
    fn build_doc_comment(&self, pair: Pair<'_, Rule>) -> String {
        doc_text(pair.as_str())
    }

    fn build_import_decl(&self, pair: Pair<'_, Rule>) -> Import {
        let span = span_of(&pair);
        let mut docs = Docs::default();
        let mut path = String::new();
        let mut path_span = span;
        let mut alias = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::doc_comment => docs.0.push(self.build_doc_comment(p)),
                Rule::string_lit => {
                    path_span = span_of(&p);
                    let parts = self.build_string_lit(p);
                    for part in parts {
                        match part {
                            StrPart::Text(t) => path.push_str(&t),
                            StrPart::Interp(e) => self.error(SyntaxError::Unexpected {
                                message: "an import path cannot use interpolation".to_string(),
                                label: "interpolation in an import path".to_string(),
                                span: e.span.into(),
                                help: Some("write the module path literally".to_string()),
                            }),
                        }
                    }
                }
                Rule::ident => alias = Some(ident(p)),
                _ => {}
            }
        }
        Import {
            docs,
            path,
            path_span,
            alias: alias.unwrap_or_else(|| Ident {
                name: String::new(),
                span,
            }),
            span,
        }
    }

    /// `workflow_decl` (or `workflow_head`, whose body is read item by item): the
    /// workflow, and how many errors its body items had.
    pub fn build_workflow_decl(&self, pair: Pair<'_, Rule>) -> (Workflow, usize) {
        let span = span_of(&pair);
        let mut docs = Docs::default();
        let mut name = None;
        let mut params = Vec::new();
        // Every pair but the header's is a body item: reserved at once, as a large
        // workflow's body is the largest vector in the tree.
        let inner = pair.into_inner();
        let mut body = Vec::with_capacity(inner.len());
        let mut body_errors = 0;
        for p in inner {
            match p.as_rule() {
                Rule::doc_comment => docs.0.push(self.build_doc_comment(p)),
                Rule::ident => name = Some(ident(p)),
                Rule::params => params = self.build_params(p),
                Rule::defaults_block
                | Rule::workflow_outputs
                | Rule::concurrency_decl
                | Rule::let_decl
                | Rule::secret_decl
                | Rule::step_decl
                | Rule::timeout_attr
                | Rule::max_failures_attr => {
                    let before = self.error_count();
                    body.extend(self.build_workflow_item(p));
                    body_errors += self.error_count() - before;
                }
                _ => {}
            }
        }
        let workflow = Workflow {
            docs,
            name: name.unwrap_or_else(|| missing(span)),
            params,
            body,
            span,
        };
        (workflow, body_errors)
    }

    fn build_task_decl(&self, pair: Pair<'_, Rule>) -> Task {
        let span = span_of(&pair);
        let mut docs = Docs::default();
        let mut name = None;
        let mut params = Vec::new();
        let mut body = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::doc_comment => docs.0.push(self.build_doc_comment(p)),
                Rule::ident => name = Some(ident(p)),
                Rule::params => params = self.build_params(p),
                Rule::step_body => body = self.build_step_body(p),
                _ => {}
            }
        }
        Task {
            docs,
            name: name.unwrap_or_else(|| missing(span)),
            params,
            body,
            span,
        }
    }

    fn build_params(&self, pair: Pair<'_, Rule>) -> Vec<Param> {
        build_each(pair.into_inner(), |p| self.build_param(p))
    }

    fn build_param(&self, pair: Pair<'_, Rule>) -> Param {
        let span = span_of(&pair);
        let mut docs = Docs::default();
        let mut name = None;
        let mut ty = None;
        let mut default = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::doc_comment => docs.0.push(self.build_doc_comment(p)),
                Rule::ident => name = Some(ident(p)),
                Rule::type_expr => ty = Some(self.build_type_expr(p)),
                Rule::expr => default = Some(self.build_expr(p)),
                _ => {}
            }
        }
        Param {
            docs,
            name: name.unwrap_or_else(|| missing(span)),
            ty: ty.unwrap_or_else(|| missing_type(span)),
            default,
            span,
        }
    }

    fn build_defaults_block(&self, pair: Pair<'_, Rule>) -> Defaults {
        let span = span_of(&pair);
        let attrs = build_each(pair.into_inner(), |p| self.build_attr(p));
        Defaults { attrs, span }
    }

    fn build_binding(&self, pair: Pair<'_, Rule>, kind: BindingKind) -> Binding {
        let span = span_of(&pair);
        let mut docs = Docs::default();
        let mut name = None;
        let mut ty = None;
        let mut value = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::doc_comment => docs.0.push(self.build_doc_comment(p)),
                Rule::ident => name = Some(ident(p)),
                Rule::type_expr => ty = Some(self.build_type_expr(p)),
                Rule::expr => value = Some(self.build_expr(p)),
                _ => {}
            }
        }
        Binding {
            docs,
            kind,
            name: name.unwrap_or_else(|| missing(span)),
            ty,
            value: value.unwrap_or(Expr {
                kind: ExprKind::Bool(false),
                span,
            }),
            span,
        }
    }

    fn build_step_decl(&self, pair: Pair<'_, Rule>) -> Step {
        let span = span_of(&pair);
        let mut step = Step {
            docs: Docs::default(),
            finally: None,
            name: missing(span),
            clauses: Vec::new(),
            call: None,
            attrs: Vec::new(),
            span,
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::doc_comment => step.docs.0.push(self.build_doc_comment(p)),
                Rule::finally_mark => step.finally = Some(span_of(&p)),
                Rule::ident => step.name = ident(p),
                Rule::after_clause => {
                    let s = span_of(&p);
                    // Sized from the pairs: a 100,000-step file keeps every one of these.
                    let inner = p.into_inner();
                    let mut names = Vec::with_capacity(inner.len());
                    names.extend(inner.filter(|q| q.as_rule() == Rule::ident).map(ident));
                    step.clauses.push(Clause::After(names, s));
                }
                Rule::when_clause => {
                    let s = span_of(&p);
                    if let Some(e) = p.into_inner().find(|q| q.as_rule() == Rule::expr) {
                        step.clauses.push(Clause::When(self.build_expr(e), s));
                    }
                }
                Rule::for_clause => step
                    .clauses
                    .push(Clause::For(Box::new(self.build_for_clause(p)))),
                Rule::compensates_clause => {
                    let s = span_of(&p);
                    if let Some(target) = p.into_inner().find(|q| q.as_rule() == Rule::ident) {
                        step.clauses.push(Clause::Compensates(ident(target), s));
                    }
                }
                Rule::step_call => step.call = Some(Box::new(self.build_step_call(p))),
                Rule::step_body => step.attrs = self.build_step_body(p),
                _ => {}
            }
        }
        // Most steps have one clause or none; the first push reserves four.
        step.clauses.shrink_to_fit();
        step
    }

    fn build_for_clause(&self, pair: Pair<'_, Rule>) -> ForEach {
        let span = span_of(&pair);
        let mut var = None;
        let mut exprs = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => var = Some(ident(p)),
                Rule::expr => exprs.push(self.build_expr(p)),
                _ => {}
            }
        }
        let mut exprs = exprs.into_iter();
        ForEach {
            var: var.unwrap_or_else(|| missing(span)),
            list: exprs.next().unwrap_or(Expr {
                kind: ExprKind::List(Vec::new()),
                span,
            }),
            max: exprs.next(),
            span,
        }
    }

    fn build_step_call(&self, pair: Pair<'_, Rule>) -> Call {
        let span = span_of(&pair);
        let mut callee = None;
        let mut args = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::path => callee = Some(self.build_path(p)),
                Rule::call_args => args = self.build_call_args(p),
                _ => {}
            }
        }
        Call {
            callee: callee.unwrap_or_else(|| Path {
                module: None,
                name: missing(span),
                span,
            }),
            args,
            span,
        }
    }

    fn build_path(&self, pair: Pair<'_, Rule>) -> Path {
        let span = span_of(&pair);
        let mut parts: Vec<Ident> = pair.into_inner().map(ident).collect();
        let name = parts.pop().unwrap_or_else(|| missing(span));
        Path {
            module: parts.pop(),
            name,
            span,
        }
    }

    fn build_step_body(&self, pair: Pair<'_, Rule>) -> Vec<Attr> {
        build_each(pair.into_inner(), |p| self.build_attr(p))
    }

    /// Any step attribute rule.
    fn build_attr(&self, pair: Pair<'_, Rule>) -> Attr {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let next_expr = |b: &Self, inner: &mut Pairs<'_, Rule>| {
            inner
                .find(|p| p.as_rule() == Rule::expr)
                .map(|p| b.build_expr(p))
                .unwrap_or(Expr {
                    kind: ExprKind::Bool(false),
                    span,
                })
        };
        let kind = match rule {
            Rule::run_attr => AttrKind::Run(next_expr(self, &mut inner)),
            Rule::exec_attr => AttrKind::Exec(next_expr(self, &mut inner)),
            Rule::sleep_attr => AttrKind::Sleep(next_expr(self, &mut inner)),
            Rule::approve_attr => AttrKind::Approve(next_expr(self, &mut inner)),
            Rule::native_attr => AttrKind::Native(next_expr(self, &mut inner)),
            Rule::timeout_attr => AttrKind::Timeout(next_expr(self, &mut inner)),
            Rule::max_parallel_attr => AttrKind::MaxParallel(next_expr(self, &mut inner)),
            Rule::checkpoint_attr => AttrKind::Checkpoint(next_expr(self, &mut inner)),
            Rule::priority_attr => AttrKind::Priority(next_expr(self, &mut inner)),
            Rule::dir_attr => AttrKind::Dir(next_expr(self, &mut inner)),
            Rule::max_failures_attr => AttrKind::MaxFailures(next_expr(self, &mut inner)),
            Rule::retry_attr => AttrKind::Retry(Box::new(self.build_retry_attr(inner, span))),
            Rule::env_attr => AttrKind::Env(build_each(inner, |p| self.build_env_entry(p))),
            Rule::outputs_attr => {
                AttrKind::Outputs(build_each(inner, |p| self.build_output_decl(p)))
            }
            Rule::on_failure_attr => {
                let target = inner.next().map(ident).unwrap_or_else(|| missing(span));
                let condition = inner
                    .find(|p| p.as_rule() == Rule::route_if)
                    .and_then(|p| p.into_inner().find(|q| q.as_rule() == Rule::expr))
                    .map(|e| Box::new(self.build_expr(e)));
                AttrKind::OnFailure(target, condition)
            }
            _ => AttrKind::Env(Vec::new()),
        };
        // Keywords leave no token (see the grammar), so the keyword's span is computed.
        let keyword = Span::new(
            span.start as usize,
            span.start as usize + kind.keyword().len(),
        );
        Attr {
            kind,
            span,
            keyword,
        }
    }

    /// `policy_decl`: docs, name and one retry clause.
    fn build_policy_decl(&self, pair: Pair<'_, Rule>) -> Policy {
        let span = span_of(&pair);
        let mut docs = Vec::new();
        let mut name = None;
        let mut retry = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::doc_comment => docs.push(self.build_doc_comment(p)),
                Rule::ident => name = Some(ident(p)),
                Rule::retry_attr => {
                    let rspan = span_of(&p);
                    retry = Some(self.build_retry_attr(p.into_inner(), rspan));
                }
                _ => {}
            }
        }
        Policy {
            docs: Docs(docs),
            name: name.unwrap_or_else(|| missing(span)),
            // The grammar requires the retry clause; a zero count stands in otherwise.
            retry: retry.unwrap_or(Retry {
                count: Expr {
                    kind: ExprKind::Int(0),
                    span,
                },
                backoff: None,
                jitter: None,
                condition: None,
            }),
            span,
        }
    }

    fn build_retry_attr(&self, inner: Pairs<'_, Rule>, span: Span) -> Retry {
        let mut retry = Retry {
            count: Expr {
                kind: ExprKind::Int(0),
                span,
            },
            backoff: None,
            jitter: None,
            condition: None,
        };
        for p in inner {
            match p.as_rule() {
                Rule::expr => retry.count = self.build_expr(p),
                Rule::backoff => {
                    let s = span_of(&p);
                    let mut name = None;
                    let mut args = Vec::new();
                    for q in p.into_inner() {
                        match q.as_rule() {
                            Rule::ident => name = Some(ident(q)),
                            Rule::call_args => args = self.build_call_args(q),
                            _ => {}
                        }
                    }
                    let name = name.unwrap_or_else(|| missing(s));
                    retry.backoff = Some(Call {
                        callee: Path {
                            module: None,
                            span: name.span,
                            name,
                        },
                        args,
                        span: s,
                    });
                }
                Rule::jitter => retry.jitter = Some(span_of(&p)),
                Rule::retry_if => {
                    if let Some(e) = p.into_inner().find(|q| q.as_rule() == Rule::expr) {
                        retry.condition = Some(self.build_expr(e));
                    }
                }
                _ => {}
            }
        }
        retry
    }

    fn build_env_entry(&self, pair: Pair<'_, Rule>) -> EnvEntry {
        let span = span_of(&pair);
        let mut name = None;
        let mut value = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::word => name = Some(ident(p)),
                Rule::string_lit => name = Some(self.plain_string_key(p)),
                Rule::expr => value = Some(self.build_expr(p)),
                _ => {}
            }
        }
        EnvEntry {
            name: name.unwrap_or_else(|| missing(span)),
            value: value.unwrap_or(Expr {
                kind: ExprKind::Bool(false),
                span,
            }),
        }
    }

    /// A quoted key (env name or map key): its text, interpolation rejected.
    fn plain_string_key(&self, pair: Pair<'_, Rule>) -> Ident {
        let span = span_of(&pair);
        let mut name = String::new();
        for part in self.build_string_lit(pair) {
            match part {
                StrPart::Text(t) => name.push_str(&t),
                StrPart::Interp(e) => self.error(SyntaxError::Unexpected {
                    message: "a key cannot use interpolation".to_string(),
                    label: "interpolation in a key".to_string(),
                    span: e.span.into(),
                    help: Some("write the key literally".to_string()),
                }),
            }
        }
        Ident { name, span }
    }

    fn build_output_decl(&self, pair: Pair<'_, Rule>) -> OutputDecl {
        let span = span_of(&pair);
        let mut docs = Docs::default();
        let mut name = None;
        let mut ty = None;
        let mut value = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::doc_comment => docs.0.push(self.build_doc_comment(p)),
                Rule::ident => name = Some(ident(p)),
                Rule::type_expr => ty = Some(self.build_type_expr(p)),
                Rule::expr => value = Some(self.build_expr(p)),
                _ => {}
            }
        }
        OutputDecl {
            docs,
            name: name.unwrap_or_else(|| missing(span)),
            ty: ty.unwrap_or_else(|| missing_type(span)),
            value,
        }
    }

    fn build_type_expr(&self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = span_of(&pair);
        let mut name = None;
        let mut arg = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::word => name = Some(ident(p)),
                Rule::type_expr => arg = Some(Box::new(self.build_type_expr(p))),
                Rule::record_type => return self.build_record_type(p),
                _ => {}
            }
        }
        TypeExpr {
            name: name.unwrap_or_else(|| missing(span)),
            arg,
            fields: None,
            span,
        }
    }

    fn build_record_type(&self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = span_of(&pair);
        let start = span.start as usize;
        let keyword = Span::new(start, start + "record".len());
        let fields = build_each(pair.into_inner(), |p| self.build_field_type(p));
        TypeExpr {
            name: Ident {
                name: "record".to_string(),
                span: keyword,
            },
            arg: None,
            fields: Some(fields),
            span,
        }
    }

    fn build_field_type(&self, pair: Pair<'_, Rule>) -> FieldType {
        let span = span_of(&pair);
        let mut name = None;
        let mut ty = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::word => name = Some(ident(p)),
                Rule::string_lit => name = Some(self.plain_string_key(p)),
                Rule::type_expr => ty = Some(self.build_type_expr(p)),
                _ => {}
            }
        }
        FieldType {
            name: name.unwrap_or_else(|| missing(span)),
            ty: ty.unwrap_or_else(|| missing_type(span)),
        }
    }

    fn build_call_args(&self, pair: Pair<'_, Rule>) -> Vec<Arg> {
        build_each(pair.into_inner(), |p| self.build_arg(p))
    }

    fn build_arg(&self, pair: Pair<'_, Rule>) -> Arg {
        let span = span_of(&pair);
        let mut name = None;
        let mut value = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::arg_name => name = p.into_inner().next().map(ident),
                Rule::expr => value = Some(self.build_expr(p)),
                _ => {}
            }
        }
        Arg {
            name,
            value: value.unwrap_or(Expr {
                kind: ExprKind::Bool(false),
                span,
            }),
            span,
        }
    }

    /// `expr`: operands and operators, folded by precedence.
    pub fn build_expr(&self, pair: Pair<'_, Rule>) -> Expr {
        // Most expressions are one operand without operators: no precedence to resolve.
        let inner = pair.into_inner();
        if inner.len() == 1 {
            if let Some(only) = inner.clone().next() {
                return self.build_primary(only);
            }
        }
        PRATT
            .map_primary(|p| self.build_primary(p))
            .map_prefix(|op, rhs| {
                let op_kind = if op.as_rule() == Rule::not {
                    UnOp::Not
                } else {
                    UnOp::Neg
                };
                Expr {
                    span: span_of(&op).to(rhs.span),
                    kind: ExprKind::Unary(op_kind, Box::new(rhs)),
                }
            })
            .map_postfix(|lhs, op| {
                let span = lhs.span.to(span_of(&op));
                let kind = match op.as_rule() {
                    Rule::field => {
                        let name = op
                            .into_inner()
                            .next()
                            .map(ident)
                            .unwrap_or_else(|| missing(span));
                        ExprKind::Field(Box::new(lhs), name)
                    }
                    Rule::index => {
                        let idx = op
                            .into_inner()
                            .next()
                            .map(|p| self.build_expr(p))
                            .unwrap_or(Expr {
                                kind: ExprKind::Int(0),
                                span,
                            });
                        ExprKind::Index(Box::new(lhs), Box::new(idx))
                    }
                    _ => ExprKind::Call(Box::new(lhs), self.build_call_args(op)),
                };
                Expr { kind, span }
            })
            .map_infix(|lhs, op, rhs| {
                let rule = op.as_rule();
                let bin = INFIX_LEVELS
                    .iter()
                    .flat_map(|level| level.iter())
                    .find(|&&(r, _)| r == rule)
                    .map_or(BinOp::Rem, |&(_, b)| b);
                if bin.is_comparison() {
                    if let ExprKind::Binary(prev, ..) = &lhs.kind {
                        let parenthesised = self.parenthesised.borrow().contains(&lhs.span);
                        if prev.is_comparison() && !parenthesised {
                            self.error(SyntaxError::ChainedComparison {
                                span: span_of(&op).into(),
                            });
                        }
                    }
                }
                Expr {
                    span: lhs.span.to(rhs.span),
                    kind: ExprKind::Binary(bin, Box::new(lhs), Box::new(rhs)),
                }
            })
            .parse(inner)
    }

    fn build_primary(&self, pair: Pair<'_, Rule>) -> Expr {
        let span = span_of(&pair);
        let kind = match pair.as_rule() {
            Rule::number => return self.build_number(pair),
            Rule::bool_lit => ExprKind::Bool(pair.as_str() == "true"),
            Rule::string_lit => ExprKind::Str(self.build_string_lit(pair)),
            Rule::list_lit => ExprKind::List(build_each(pair.into_inner(), |p| self.build_expr(p))),
            Rule::map_lit => {
                ExprKind::Map(build_each(pair.into_inner(), |p| self.build_map_entry(p)))
            }
            Rule::workflow_ref => ExprKind::Workflow,
            Rule::ident => ExprKind::Name(pair.as_str().to_string()),
            Rule::paren => {
                self.parenthesised.borrow_mut().insert(span);
                let inner = pair.into_inner().next().map(|p| self.build_expr(p));
                return match inner {
                    Some(e) => Expr { kind: e.kind, span },
                    None => Expr {
                        kind: ExprKind::Bool(false),
                        span,
                    },
                };
            }
            Rule::if_expr => return self.build_if_expr(pair),
            _ => ExprKind::Bool(false),
        };
        Expr { kind, span }
    }

    fn build_map_entry(&self, pair: Pair<'_, Rule>) -> (Ident, Expr) {
        let span = span_of(&pair);
        let mut key = None;
        let mut value = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::word => key = Some(ident(p)),
                Rule::string_lit => key = Some(self.plain_string_key(p)),
                Rule::expr => value = Some(self.build_expr(p)),
                _ => {}
            }
        }
        (
            key.unwrap_or_else(|| missing(span)),
            value.unwrap_or(Expr {
                kind: ExprKind::Bool(false),
                span,
            }),
        )
    }

    fn build_if_expr(&self, pair: Pair<'_, Rule>) -> Expr {
        let span = span_of(&pair);
        let mut parts = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::expr => parts.push(self.build_expr(p)),
                Rule::if_expr => parts.push(self.build_if_expr(p)),
                _ => {}
            }
        }
        let mut it = parts.into_iter();
        let filler = || Expr {
            kind: ExprKind::Bool(false),
            span,
        };
        let cond = it.next().unwrap_or_else(filler);
        let then = it.next().unwrap_or_else(filler);
        let other = it.next().unwrap_or_else(|| {
            self.error(SyntaxError::IfWithoutElse {
                span: Span::new(span.start as usize, span.start as usize + 2).into(),
            });
            // The `then` branch stands in, so that nothing later sees two types.
            then.clone()
        });
        Expr {
            kind: ExprKind::If(Box::new(cond), Box::new(then), Box::new(other)),
            span,
        }
    }

    /// `string_lit`: text, escapes and interpolations, adjacent text merged.
    fn build_string_lit(&self, pair: Pair<'_, Rule>) -> Vec<StrPart> {
        // At most one part per pair (adjacent text and escapes merge): no regrowth.
        let inner = pair.into_inner();
        let mut parts: Vec<StrPart> = Vec::with_capacity(inner.len());
        for p in inner {
            match p.as_rule() {
                Rule::text => push_text(&mut parts, p.as_str()),
                Rule::escape => {
                    if let Some(c) = self.decode_escape(&p) {
                        push_text(&mut parts, c.encode_utf8(&mut [0; 4]));
                    }
                }
                Rule::interp => {
                    if let Some(e) = p.into_inner().next() {
                        parts.push(StrPart::Interp(self.build_expr(e)));
                    }
                }
                _ => {}
            }
        }
        parts
    }

    fn decode_escape(&self, pair: &Pair<'_, Rule>) -> Option<char> {
        let s = pair.as_str();
        let decoded = escape_char(s);
        if decoded.is_none() {
            self.error(SyntaxError::InvalidEscape {
                text: s.to_string(),
                span: span_of(pair).into(),
            });
        }
        decoded
    }

    /// `number`: an int, a float or a duration, told apart by its suffix.
    fn build_number(&self, pair: Pair<'_, Rule>) -> Expr {
        let span = span_of(&pair);
        let kind = number_kind(pair.as_str(), span).unwrap_or_else(|(kind, err)| {
            self.error(*err);
            kind
        });
        Expr { kind, span }
    }
}

/// The text of one `///` line: without the slashes, one leading space and trailing space.
fn doc_text(line: &str) -> String {
    let text = line.trim_start_matches("///");
    text.strip_prefix(' ')
        .unwrap_or(text)
        .trim_end()
        .to_string()
}

/// Appends literal text to a string's parts, merging it with text right before it.
fn push_text(parts: &mut Vec<StrPart>, s: &str) {
    if let Some(StrPart::Text(t)) = parts.last_mut() {
        t.push_str(s);
    } else {
        parts.push(StrPart::Text(s.to_string()));
    }
}

/// The character an `escape` token such as `\n` or `\u{1F600}` stands for; `None` when it
/// stands for none.
fn escape_char(s: &str) -> Option<char> {
    match s {
        "\\n" => Some('\n'),
        "\\t" => Some('\t'),
        "\\r" => Some('\r'),
        "\\0" => Some('\0'),
        "\\\\" => Some('\\'),
        "\\\"" => Some('"'),
        "\\$" => Some('$'),
        _ => s
            .strip_prefix("\\u{")
            .and_then(|h| h.strip_suffix('}'))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32),
    }
}

/// The value of a `number` token: an int, a float or a duration, told apart by its
/// suffix. On a bad number, the error and a stand-in value.
fn number_kind(text: &str, span: Span) -> Result<ExprKind, (ExprKind, Box<SyntaxError>)> {
    let number_error = |reason: &str, help: Option<&str>| {
        Box::new(SyntaxError::InvalidNumber {
            text: text.to_string(),
            reason: reason.to_string(),
            span: span.into(),
            help: help.map(str::to_string),
        })
    };
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
        .unwrap_or(text.len());
    let (num, suffix) = text.split_at(digits_end);
    if !suffix.is_empty() {
        return parse_duration(text).map(ExprKind::Duration).map_err(|reason| {
            let err = Box::new(SyntaxError::InvalidDuration {
                text: text.to_string(),
                reason,
                span: span.into(),
                help: Some(
                    "durations are digits with a unit: `500ms`, `2s`, `10m`, `1h`, `1d`, or combined as `1h30m`"
                        .to_string(),
                ),
            });
            (ExprKind::Duration(0), err)
        });
    }
    let clean: String = num.chars().filter(|&c| c != '_').collect();
    if clean.contains('.') {
        match clean.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(ExprKind::Float(f)),
            _ => Err((
                ExprKind::Float(0.0),
                number_error("not a valid number", None),
            )),
        }
    } else {
        clean.parse::<i64>().map(ExprKind::Int).map_err(|_| {
            (
                ExprKind::Int(0),
                number_error(
                    "too large for an int",
                    Some("ints are 64-bit: at most 9223372036854775807"),
                ),
            )
        })
    }
}

/// Reads `1h30m`, `500ms`, `1.5s` into milliseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        if n_end == 0 {
            return Err(format!("expected digits before `{rest}`"));
        }
        let number: String = rest[..n_end].chars().filter(|&c| c != '_').collect();
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..u_end];
        rest = &rest[u_end..];
        let scale: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(format!("`{number}` has no unit")),
            other => return Err(format!("unknown unit `{other}`")),
        };
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{number}` is not a number"))?;
        let ms = value * scale as f64;
        if !ms.is_finite() || ms >= u64::MAX as f64 / 2.0 {
            return Err("too long".to_string());
        }
        total = total
            .checked_add(ms.round() as u64)
            .ok_or_else(|| "too long".to_string())?;
    }
    Ok(total)
}

fn missing(span: Span) -> Ident {
    Ident {
        name: String::new(),
        span,
    }
}

fn missing_type(span: Span) -> TypeExpr {
    TypeExpr {
        name: missing(span),
        arg: None,
        fields: None,
        span,
    }
}
