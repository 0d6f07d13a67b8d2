//! The untyped syntax tree built by [`crate::parse`]: one node per construct of the
//! language, each carrying the [`Span`] of the text it came from.

use crate::source::Span;

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// The `///` lines above an item, joined with newlines (without the slashes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Docs(pub Vec<String>);

/// A whole `.flow` file.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    /// Its top-level items, in source order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `import "path" as name`.
    Import(Import),
    /// `workflow name(...) { ... }`.
    Workflow(Workflow),
    /// `task name(...) { ... }`.
    Task(Task),
    /// A module-level `let` constant.
    Let(Binding),
    /// `policy name { retry ... }`.
    Policy(Policy),
}

/// `policy network { retry 5 backoff exponential(1s, max: 30s) jitter }`: a named retry
/// clause that steps of an importing module use as `retry module.network`.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Doc comment.
    pub docs: Docs,
    /// Its name.
    pub name: Ident,
    /// The retry clause it stands for.
    pub retry: Retry,
    /// The whole declaration.
    pub span: Span,
}

/// `import "std/http" as http`.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// Doc comment.
    pub docs: Docs,
    /// The module path as written between the quotes.
    pub path: String,
    /// Span of the quoted path.
    pub path_span: Span,
    /// The namespace the members are reached through.
    pub alias: Ident,
    /// The whole declaration.
    pub span: Span,
}

/// A workflow: parameters and a body of bindings, defaults and steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Workflow {
    /// Doc comment.
    pub docs: Docs,
    /// Its name.
    pub name: Ident,
    /// Typed parameters.
    pub params: Vec<Param>,
    /// `defaults`, `let`, `secret`, `step`, `outputs` and run settings in source order.
    pub body: Vec<WorkflowItem>,
    /// The whole declaration.
    pub span: Span,
}

/// An item in a workflow body.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkflowItem {
    /// `defaults { ... }`.
    Defaults(Defaults),
    /// `let` or `secret`.
    Binding(Binding),
    /// `step` or `finally step`.
    Step(Step),
    /// `outputs { name: type = expr }`: what the workflow gives back to a calling step.
    Outputs(WorkflowOutputs),
    /// `concurrency "group" [queue|skip|cancel]`: one run per group at a time.
    Concurrency(Concurrency),
    /// `timeout 1h` or `max_failures 3`: a limit of the whole run, as an attribute
    /// ([`AttrKind::Timeout`] or [`AttrKind::MaxFailures`]).
    Setting(Attr),
}

/// `concurrency "deploy-${target}" cancel`: at most one run of the workflow per group name
/// at a time (across processes); the policy says what a second run does.
#[derive(Clone, Debug, PartialEq)]
pub struct Concurrency {
    /// The group's name: a string expression over parameters, bindings and constants.
    pub group: Expr,
    /// The policy as written, with its span; `queue` when absent.
    pub policy: Option<(GroupPolicy, Span)>,
    /// The whole item.
    pub span: Span,
}

/// What a run does when another run holds its concurrency group. Shared with the
/// resolved program, which keeps it as written (or the default).
pub use crate::typed::GroupPolicy;

/// A workflow's `outputs` block: each declaration has a value.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowOutputs {
    /// The declared outputs, each with its `value`.
    pub decls: Vec<OutputDecl>,
    /// The whole block.
    pub span: Span,
}

/// A reusable step template.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    /// Doc comment.
    pub docs: Docs,
    /// Its name.
    pub name: Ident,
    /// Typed parameters.
    pub params: Vec<Param>,
    /// The step attributes every use of the task gets.
    pub body: Vec<Attr>,
    /// The whole declaration.
    pub span: Span,
}

/// `name: type = default`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Doc comment.
    pub docs: Docs,
    /// Its name.
    pub name: Ident,
    /// Declared type.
    pub ty: TypeExpr,
    /// Default value, if any.
    pub default: Option<Expr>,
    /// The whole parameter.
    pub span: Span,
}

/// `defaults { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Defaults {
    /// The inherited attributes.
    pub attrs: Vec<Attr>,
    /// The whole block.
    pub span: Span,
}

/// Whether a binding is an ordinary value or a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingKind {
    /// `let`.
    Let,
    /// `secret`.
    Secret,
}

/// `let name[: type] = value` or `secret name = value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// Doc comment.
    pub docs: Docs,
    /// `let` or `secret`.
    pub kind: BindingKind,
    /// Its name.
    pub name: Ident,
    /// Declared type, if written.
    pub ty: Option<TypeExpr>,
    /// The bound value.
    pub value: Expr,
    /// The whole declaration.
    pub span: Span,
}

/// A step: header clauses, an action and attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Doc comment.
    pub docs: Docs,
    /// Span of `finally` when this is a finally step.
    pub finally: Option<Span>,
    /// Its name.
    pub name: Ident,
    /// `after`, `when`, `for` and `on_failure_of` clauses in source order.
    pub clauses: Vec<Clause>,
    /// `= callee(args)`, when the step calls a task or workflow.
    pub call: Option<Box<Call>>,
    /// The attributes between braces.
    pub attrs: Vec<Attr>,
    /// The whole declaration.
    pub span: Span,
}

/// A clause of a step header.
#[derive(Clone, Debug, PartialEq)]
pub enum Clause {
    /// `after a, b`.
    After(Vec<Ident>, Span),
    /// `when cond`.
    When(Expr, Span),
    /// `for var in list [max k]` (boxed: it is much larger than the other clauses).
    For(Box<ForEach>),
    /// `on_failure_of step`.
    Compensates(Ident, Span),
}

/// `for var in list [max k]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ForEach {
    /// The loop variable.
    pub var: Ident,
    /// The list iterated over.
    pub list: Expr,
    /// The concurrency bound.
    pub max: Option<Expr>,
    /// The whole clause.
    pub span: Span,
}

/// `path(args)`: a call of a task, workflow, function or backoff.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The callee: a name, or `module.name`.
    pub callee: Path,
    /// The arguments.
    pub args: Vec<Arg>,
    /// The whole call.
    pub span: Span,
}

/// `name` or `module.name`.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    /// The module namespace, if qualified.
    pub module: Option<Ident>,
    /// The member name.
    pub name: Ident,
    /// The whole path.
    pub span: Span,
}

/// An argument, positional or `name: value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The name, for a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// The whole argument.
    pub span: Span,
}

/// An attribute of a step, task or `defaults` block.
#[derive(Clone, Debug, PartialEq)]
pub struct Attr {
    /// What it is.
    pub kind: AttrKind,
    /// The whole attribute.
    pub span: Span,
    /// Span of its keyword.
    pub keyword: Span,
}

/// The attributes.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrKind {
    /// `run "text"`.
    Run(Expr),
    /// `exec [argv]`.
    Exec(Expr),
    /// `sleep duration`.
    Sleep(Expr),
    /// `approve "question"`.
    Approve(Expr),
    /// `native "module.name"`: an action implemented in Rust by the runtime; only
    /// tasks of the embedded standard library may use it.
    Native(Expr),
    /// `retry n ...` (boxed: it is much larger than the other attributes).
    Retry(Box<Retry>),
    /// `timeout duration`.
    Timeout(Expr),
    /// `env { NAME: value }`.
    Env(Vec<EnvEntry>),
    /// `outputs { name: type }`.
    Outputs(Vec<OutputDecl>),
    /// `on_failure continue|fail_fast|step [if cond]`: one failure route; a step may have
    /// several, tried in order.
    OnFailure(Ident, Option<Box<Expr>>),
    /// `max_parallel n`.
    MaxParallel(Expr),
    /// `checkpoint "label"`: names the step's finish for `flowc rollback --to`.
    Checkpoint(Expr),
    /// `priority n`: ready steps with a higher priority start first.
    Priority(Expr),
    /// `dir "path"`: the working directory of the step's process.
    Dir(Expr),
    /// `max_failures n`: after this many failures nothing new starts.
    MaxFailures(Expr),
}

impl AttrKind {
    /// The keyword that introduces the attribute.
    pub fn keyword(&self) -> &'static str {
        match self {
            AttrKind::Run(_) => "run",
            AttrKind::Exec(_) => "exec",
            AttrKind::Sleep(_) => "sleep",
            AttrKind::Approve(_) => "approve",
            AttrKind::Native(_) => "native",
            AttrKind::Retry(_) => "retry",
            AttrKind::Timeout(_) => "timeout",
            AttrKind::Env(_) => "env",
            AttrKind::Outputs(_) => "outputs",
            AttrKind::OnFailure(..) => "on_failure",
            AttrKind::MaxParallel(_) => "max_parallel",
            AttrKind::Checkpoint(_) => "checkpoint",
            AttrKind::Priority(_) => "priority",
            AttrKind::Dir(_) => "dir",
            AttrKind::MaxFailures(_) => "max_failures",
        }
    }

    /// True for the attributes that say what a step does.
    pub fn is_action(&self) -> bool {
        matches!(
            self,
            AttrKind::Run(_)
                | AttrKind::Exec(_)
                | AttrKind::Sleep(_)
                | AttrKind::Approve(_)
                | AttrKind::Native(_)
        )
    }
}

/// `retry count [backoff kind(args)] [jitter] [if cond]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Retry {
    /// How many times to retry after the first attempt.
    pub count: Expr,
    /// The delay policy; fixed 1s when absent.
    pub backoff: Option<Call>,
    /// Span of `jitter`, when present.
    pub jitter: Option<Span>,
    /// Which failures are retried; all when absent.
    pub condition: Option<Expr>,
}

/// `NAME: value` in an `env` block.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvEntry {
    /// The variable name.
    pub name: Ident,
    /// Its value.
    pub value: Expr,
}

/// `name: type` in an `outputs` block.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputDecl {
    /// Doc comment.
    pub docs: Docs,
    /// The output's name.
    pub name: Ident,
    /// Its type.
    pub ty: TypeExpr,
    /// Its value: set in a workflow's `outputs` block (and in the join step of an inlined
    /// call), never in a step's, whose outputs its command writes.
    pub value: Option<Expr>,
}

/// A written type: `string`, `list<int>`, `record { name: string }`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    /// The type's name (`record` for a record type).
    pub name: Ident,
    /// Its argument, for `list<T>` and `map<T>`.
    pub arg: Option<Box<TypeExpr>>,
    /// The fields of `record { name: type, ... }`, in source order; `None` for every
    /// other type.
    pub fields: Option<Vec<FieldType>>,
    /// The whole type.
    pub span: Span,
}

/// `name: type` in a record type.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldType {
    /// The field's name (a word, or the text of a quoted name).
    pub name: Ident,
    /// Its type.
    pub ty: TypeExpr,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The expressions.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `42`.
    Int(i64),
    /// `2.5`.
    Float(f64),
    /// `10m`, in milliseconds.
    Duration(u64),
    /// `true`.
    Bool(bool),
    /// `"text ${expr}"`.
    Str(Vec<StrPart>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `{ k: v }`.
    Map(Vec<(Ident, Expr)>),
    /// `name`.
    Name(String),
    /// `workflow`.
    Workflow,
    /// `expr.field`.
    Field(Box<Expr>, Ident),
    /// `expr[index]`.
    Index(Box<Expr>, Box<Expr>),
    /// `callee(args)`.
    Call(Box<Expr>, Vec<Arg>),
    /// `!e`, `-e`.
    Unary(UnOp, Box<Expr>),
    /// `a + b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `if c { a } else { b }`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
}

/// A piece of a string literal.
#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    /// Literal text, escapes already decoded.
    Text(String),
    /// `${expr}`.
    Interp(Expr),
}

/// The operators are shared with the typed program, which keeps them as written.
pub use crate::typed::{BinOp, UnOp};
