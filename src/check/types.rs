//! The types of the language and the rules for fitting one into another.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A type.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// Text.
    String,
    /// 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
    /// `true` or `false`.
    Bool,
    /// A length of time.
    Duration,
    /// Text that must never be shown: only `env` values and secret parameters take it.
    Secret,
    /// `list<T>`.
    List(Box<Type>),
    /// `map<T>`, keyed by strings.
    Map(Box<Type>),
    /// A record with named fields: a step result or `workflow`.
    Record(Arc<Record>),
    /// A module namespace, by index in the checker's module table.
    Module(usize),
    /// Unknown: an error was already reported, or an empty list's element. Fits anything.
    Unknown,
}

/// A record type: a step's result or `workflow`.
#[derive(Debug, PartialEq)]
pub struct Record {
    /// Whose record it is.
    pub kind: RecordKind,
    /// Fields in declaration order. (Shared: every step without declared outputs has the
    /// same fields, and a 100,000-step workflow would otherwise keep 100,000 copies.)
    pub fields: Fields,
}

/// The fields of a [`Record`], by name, in declaration order.
pub type Fields = Arc<[(Cow<'static, str>, Type)]>;

/// Whose record a [`Record`] is.
#[derive(Debug, PartialEq)]
pub enum RecordKind {
    /// The result of the named step.
    Step(String),
    /// The result of one instance of the named fan-out step, read through the loop
    /// variable of a `for` over that step; it also has the step's loop variables.
    Instance {
        /// The step.
        step: String,
        /// Its loop variables, which are fields of the record too.
        vars: Vec<String>,
    },
    /// `workflow`.
    Workflow,
}

impl Record {
    /// The type of a field.
    pub fn field(&self, name: &str) -> Option<&Type> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// How messages name it: "the result of step `build`".
    pub fn name(&self) -> String {
        match &self.kind {
            RecordKind::Step(step) => format!("the result of step `{step}`"),
            RecordKind::Instance { step, .. } => {
                format!("the result of an instance of step `{step}`")
            }
            RecordKind::Workflow => "`workflow`".to_string(),
        }
    }

    /// Whether `field` is a loop variable of the step whose instance this is (not an
    /// output, whose reading needs the instance to have succeeded).
    pub fn is_loop_var(&self, field: &str) -> bool {
        matches!(&self.kind, RecordKind::Instance { vars, .. } if vars.iter().any(|v| v == field))
    }
}

/// The fields every step result has, before declared outputs.
pub const STEP_FIELDS: &[&str] = &["status", "exit_code", "stdout", "attempts", "duration"];

/// The fields of a step's result: the built-in ones, then the declared outputs; for a
/// fan-out step every field but `status` is a list with one element per instance.
fn step_fields(outputs: &[(String, Type)], fan_out: bool) -> Fields {
    let lift = |t: Type| {
        if fan_out {
            Type::List(Box::new(t))
        } else {
            t
        }
    };
    let mut fields = Vec::with_capacity(STEP_FIELDS.len() + outputs.len());
    fields.extend([
        (Cow::Borrowed("status"), Type::String),
        (Cow::Borrowed("exit_code"), lift(Type::Int)),
        (Cow::Borrowed("stdout"), lift(Type::String)),
        (Cow::Borrowed("attempts"), lift(Type::Int)),
        (Cow::Borrowed("duration"), lift(Type::Duration)),
    ]);
    fields.extend(
        outputs
            .iter()
            .map(|(n, t)| (Cow::Owned(n.clone()), lift(t.clone()))),
    );
    fields.into()
}

/// The names of the scalar and generic types, for "did you mean".
pub const TYPE_NAMES: &[&str] = &[
    "string", "int", "float", "bool", "duration", "secret", "list", "map",
];

impl Type {
    /// The record type of a step's result: built-in fields plus outputs; for a fan-out step
    /// every field but `status` is a list with one element per instance.
    pub fn step_result(step: &str, outputs: &[(String, Type)], fan_out: bool) -> Type {
        let fields = if outputs.is_empty() {
            // Built once per thread for each shape: most steps declare no outputs.
            thread_local! {
                static PLAIN: [Fields; 2] =
                    [false, true].map(|fan_out| step_fields(&[], fan_out));
            }
            PLAIN.with(|plain| plain[usize::from(fan_out)].clone())
        } else {
            step_fields(outputs, fan_out)
        };
        Type::Record(Arc::new(Record {
            kind: RecordKind::Step(step.to_string()),
            fields,
        }))
    }

    /// The record type of one instance of a fan-out step: the built-in fields and outputs
    /// of one instance (not lists), then the step's loop variables with their types.
    pub fn instance_result(
        step: &str,
        outputs: &[(String, Type)],
        vars: &[(String, Type)],
    ) -> Type {
        let mut fields = step_fields(outputs, false).to_vec();
        fields.extend(vars.iter().map(|(n, t)| (Cow::Owned(n.clone()), t.clone())));
        Type::Record(Arc::new(Record {
            kind: RecordKind::Instance {
                step: step.to_string(),
                vars: vars.iter().map(|(n, _)| n.clone()).collect(),
            },
            fields: fields.into(),
        }))
    }

    /// The type of `workflow`.
    pub fn workflow_record() -> Type {
        Type::Record(Arc::new(Record {
            kind: RecordKind::Workflow,
            fields: Arc::new([
                (Cow::Borrowed("name"), Type::String),
                (Cow::Borrowed("status"), Type::String),
                (Cow::Borrowed("run_id"), Type::String),
            ]),
        }))
    }

    /// True when a value of type `self` may stand where `expected` is wanted.
    pub fn fits(&self, expected: &Type) -> bool {
        match (self, expected) {
            (Type::Unknown, _) | (_, Type::Unknown) => true,
            (Type::Int, Type::Float) => true,
            (Type::String, Type::Secret) => true,
            (Type::List(a), Type::List(b)) | (Type::Map(a), Type::Map(b)) => a.fits(b),
            (a, b) => a == b,
        }
    }

    /// The type both fit into, if any (for list elements and `if` branches).
    pub fn join(&self, other: &Type) -> Option<Type> {
        match (self, other) {
            (Type::Unknown, t) | (t, Type::Unknown) => Some(t.clone()),
            (Type::Int, Type::Float) | (Type::Float, Type::Int) => Some(Type::Float),
            (Type::String, Type::Secret) | (Type::Secret, Type::String) => Some(Type::Secret),
            (Type::List(a), Type::List(b)) => a.join(b).map(|t| Type::List(Box::new(t))),
            (Type::Map(a), Type::Map(b)) => a.join(b).map(|t| Type::Map(Box::new(t))),
            (a, b) if a == b => Some(a.clone()),
            _ => None,
        }
    }

    /// True for types that can be written into text: `${x}`, `env` values.
    pub fn is_textual(&self) -> bool {
        matches!(
            self,
            Type::String | Type::Int | Type::Float | Type::Bool | Type::Duration | Type::Unknown
        )
    }

    /// True for `secret`, and lists or maps holding secrets.
    pub fn is_secret(&self) -> bool {
        match self {
            Type::Secret => true,
            Type::List(t) | Type::Map(t) => t.is_secret(),
            _ => false,
        }
    }

    /// True for `int` and `float`.
    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::Bool => f.write_str("bool"),
            Type::Duration => f.write_str("duration"),
            Type::Secret => f.write_str("secret"),
            Type::List(t) => write!(f, "list<{t}>"),
            Type::Map(t) => write!(f, "map<{t}>"),
            Type::Record(r) => match &r.kind {
                RecordKind::Step(step) => write!(f, "result of {step}"),
                RecordKind::Instance { step, .. } => write!(f, "result of an instance of {step}"),
                RecordKind::Workflow => f.write_str("workflow"),
            },
            Type::Module(_) => f.write_str("module"),
            Type::Unknown => f.write_str("unknown"),
        }
    }
}
