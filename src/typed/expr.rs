//! Typed expressions: what [`crate::check`] makes of every expression it accepts. Each
//! node carries its [`Type`] and a [`FileSpan`]; every name is resolved to what it means
//! ([`Ref`]), so a reader never looks a name up in a scope again: `alias.NAME` is the
//! constant `NAME` of one module, found by the module's identity, not by the alias's
//! spelling.

use crate::check::Type;
use crate::source::FileSpan;

/// A typed expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Its type, as the checker inferred it.
    pub ty: Type,
    /// Where it was written (in which file).
    pub span: FileSpan,
}

/// The expressions, with names resolved.
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
    /// `{ k: v }` typed as a map.
    Map(Vec<(String, Expr)>),
    /// `{ name: "web", replicas: 3 }` typed as a data record: its fields in the order
    /// written (the value keeps them in name order, as the type does).
    Record(Vec<(String, Expr)>),
    /// A name, resolved.
    Ref(Ref),
    /// `workflow`: the record of the running workflow (`name`, `status`, `run_id`).
    Workflow,
    /// `expr.field` on a record (a step result, `workflow`, or a data record).
    Field(Box<Expr>, String),
    /// `expr[index]`.
    Index(Box<Expr>, Box<Expr>),
    /// A builtin function called with its arguments bound to its parameters in order
    /// (`None` for an optional parameter left out).
    Call(&'static str, Vec<Option<Expr>>),
    /// `!e`, `-e`.
    Unary(UnOp, Box<Expr>),
    /// `a + b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `if c { a } else { b }`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// Stands for an expression the checker rejected; never part of a program that
    /// checked clean.
    Invalid,
}

/// A piece of a string literal.
#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    /// Literal text, escapes already decoded.
    Text(String),
    /// `${expr}`.
    Interp(Expr),
}

/// What a name means.
#[derive(Clone, Debug, PartialEq)]
pub enum Ref {
    /// A parameter of the workflow.
    Param(String),
    /// A parameter of the task whose body the expression is in: the calling step's
    /// argument for it ([`super::TaskCall::args`]).
    Arg(String),
    /// A `let` or `secret` binding of the workflow.
    Binding(String),
    /// A constant: `module` indexes [`super::Program::modules`].
    Const {
        /// The module that defines it.
        module: usize,
        /// Its name there.
        name: String,
    },
    /// The result record of a step of the same workflow.
    Step(super::StepId),
    /// The result of one instance of a fan-out step: the instance with the same index as
    /// the reading instance. Only in steps inlined from a call with `for`, which all fan
    /// out over the call's list, reading each other.
    Instance(super::StepId),
    /// A loop variable of `for`, or `exit_code`, `timed_out` and `attempt` in a retry
    /// condition.
    Local(String),
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `!`.
    Not,
    /// `-`.
    Neg,
}

/// Infix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `||`.
    Or,
    /// `&&`.
    And,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Rem,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }

    /// True for the comparison operators, which do not chain.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

impl Expr {
    /// An expression of type `Unknown` standing for one the checker rejected; it is never
    /// part of a program that checked clean.
    pub fn error(span: FileSpan) -> Expr {
        Expr {
            kind: ExprKind::Invalid,
            ty: Type::Unknown,
            span,
        }
    }

    /// Calls `f` on this expression and every expression inside it, outermost first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Duration(_)
            | ExprKind::Bool(_)
            | ExprKind::Ref(_)
            | ExprKind::Workflow
            | ExprKind::Invalid => {}
            ExprKind::Str(parts) => {
                for p in parts {
                    if let StrPart::Interp(e) = p {
                        e.walk(f);
                    }
                }
            }
            ExprKind::List(items) => items.iter().for_each(|e| e.walk(f)),
            ExprKind::Map(entries) | ExprKind::Record(entries) => {
                entries.iter().for_each(|(_, e)| e.walk(f))
            }
            ExprKind::Field(base, _) => base.walk(f),
            ExprKind::Index(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            ExprKind::Call(_, args) => args.iter().flatten().for_each(|e| e.walk(f)),
            ExprKind::Unary(_, e) => e.walk(f),
            ExprKind::Binary(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            ExprKind::If(c, a, b) => {
                c.walk(f);
                a.walk(f);
                b.walk(f);
            }
        }
    }
}

impl Expr {
    /// Calls `f` on this expression and, unless `f` returns true (it replaced the node and
    /// its insides are done), on every expression inside it, outermost first.
    pub fn rewrite(&mut self, f: &mut dyn FnMut(&mut Expr) -> bool) {
        if f(self) {
            return;
        }
        match &mut self.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Duration(_)
            | ExprKind::Bool(_)
            | ExprKind::Ref(_)
            | ExprKind::Workflow
            | ExprKind::Invalid => {}
            ExprKind::Str(parts) => {
                for p in parts {
                    if let StrPart::Interp(e) = p {
                        e.rewrite(f);
                    }
                }
            }
            ExprKind::List(items) => items.iter_mut().for_each(|e| e.rewrite(f)),
            ExprKind::Map(entries) | ExprKind::Record(entries) => {
                entries.iter_mut().for_each(|(_, e)| e.rewrite(f))
            }
            ExprKind::Field(base, _) => base.rewrite(f),
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
                a.rewrite(f);
                b.rewrite(f);
            }
            ExprKind::Call(_, args) => args.iter_mut().flatten().for_each(|e| e.rewrite(f)),
            ExprKind::Unary(_, e) => e.rewrite(f),
            ExprKind::If(c, a, b) => {
                c.rewrite(f);
                a.rewrite(f);
                b.rewrite(f);
            }
        }
    }
}
