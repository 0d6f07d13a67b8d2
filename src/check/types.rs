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
    /// A record with named fields: a step result, `workflow`, or a data record
    /// (`record { name: string, replicas: int }`, a map literal whose values differ in type).
    Record(Arc<Record>),
    /// A module namespace, by index in the checker's module table.
    Module(usize),
    /// Unknown: an error was already reported, or an empty list's element. Fits anything.
    Unknown,
}

/// A record type: a step's result, `workflow`, or a data record.
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
    /// `workflow`.
    Workflow,
    /// A data record (`record { name: string, replicas: int }`): a value like any other,
    /// whose fields are kept in name order, so two records with the same fields are one
    /// type whatever order they were written in.
    Data,
}

impl Record {
    /// True for a data record, false for a step result or `workflow`.
    pub fn is_data(&self) -> bool {
        self.kind == RecordKind::Data
    }

    /// The type of a field.
    pub fn field(&self, name: &str) -> Option<&Type> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// How messages name it: "the result of step `build`".
    pub fn name(&self) -> String {
        match &self.kind {
            RecordKind::Step(step) => format!("the result of step `{step}`"),
            RecordKind::Workflow => "`workflow`".to_string(),
            RecordKind::Data => "this record".to_string(),
        }
    }

    /// The field names, for "did you mean" and for messages.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(n, _)| n.as_ref())
    }

    /// The first field, in name order, that keeps this data record (the one found) from
    /// fitting `want`, in words for a help line: "field `replicas` is `string` HERE but
    /// `int` THERE", with `here` and `there` saying where each record is.
    pub fn difference(&self, want: &Record, here: &str, there: &str) -> Option<String> {
        for (name, ty) in self.fields.iter() {
            match want.field(name) {
                None => return Some(format!("field `{name}` is {here} but not {there}")),
                Some(t) if !ty.fits(t) => {
                    return Some(format!("field `{name}` is `{ty}` {here} but `{t}` {there}"))
                }
                Some(_) => {}
            }
        }
        want.field_names()
            .find(|n| self.field(n).is_none())
            .map(|n| format!("field `{n}` is {there} but not {here}"))
    }
}

/// The type of a data record with these fields (sorted by name; the caller has reported
/// duplicates).
pub fn data_record(mut fields: Vec<(String, Type)>) -> Type {
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields.dedup_by(|a, b| a.0 == b.0);
    Type::Record(Arc::new(Record {
        kind: RecordKind::Data,
        fields: fields
            .into_iter()
            .map(|(n, t)| (Cow::Owned(n), t))
            .collect::<Vec<_>>()
            .into(),
    }))
}

/// The fields every step result has, before declared outputs.
pub const STEP_FIELDS: &[&str] = &[
    "status",
    "exit_code",
    "stdout",
    "attempts",
    "duration",
    "timed_out",
    "signal",
];

/// The fields the result of an approval gate (a step whose action is `approve`) has
/// besides [`STEP_FIELDS`], all strings: what was decided, by whom, with what comment,
/// and when.
pub const GATE_FIELDS: &[&str] = &["decision", "approver", "comment", "decided_at"];

/// The values `decision` takes: `""` before a decision (a gate that did not run).
pub const DECISIONS: &[&str] = &["approved", "refused", "timed_out"];

/// The fields of a step's result: the built-in ones (and a gate's), then the declared
/// outputs; for a fan-out step every field but `status` is a list with one element per
/// instance.
fn step_fields(outputs: &[(String, Type)], fan_out: bool, gate: bool) -> Fields {
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
        (Cow::Borrowed("timed_out"), lift(Type::Bool)),
        (Cow::Borrowed("signal"), lift(Type::String)),
    ]);
    if gate {
        fields.extend(
            GATE_FIELDS
                .iter()
                .map(|f| (Cow::Borrowed(*f), lift(Type::String))),
        );
    }
    fields.extend(
        outputs
            .iter()
            .map(|(n, t)| (Cow::Owned(n.clone()), lift(t.clone()))),
    );
    fields.into()
}

/// The names of the scalar and generic types, for "did you mean".
pub const TYPE_NAMES: &[&str] = &[
    "string", "int", "float", "bool", "duration", "secret", "list", "map", "record",
];

impl Type {
    /// The record type of a step's result: built-in fields (and a gate's, for an approval
    /// step) plus outputs; for a fan-out step every field but `status` is a list with one
    /// element per instance.
    pub fn step_result(step: &str, outputs: &[(String, Type)], fan_out: bool, gate: bool) -> Type {
        let fields = if outputs.is_empty() {
            // Built once per thread for each shape: most steps declare no outputs.
            thread_local! {
                static PLAIN: [Fields; 4] = [(false, false), (true, false), (false, true), (true, true)]
                    .map(|(fan_out, gate)| step_fields(&[], fan_out, gate));
            }
            PLAIN.with(|plain| plain[usize::from(fan_out) + 2 * usize::from(gate)].clone())
        } else {
            step_fields(outputs, fan_out, gate)
        };
        Type::Record(Arc::new(Record {
            kind: RecordKind::Step(step.to_string()),
            fields,
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
            (Type::Record(a), Type::Record(b)) if a.is_data() && b.is_data() => {
                a.fields.len() == b.fields.len()
                    && a.fields
                        .iter()
                        .zip(b.fields.iter())
                        .all(|((na, ta), (nb, tb))| na == nb && ta.fits(tb))
            }
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
            (Type::Record(a), Type::Record(b))
                if a.is_data() && b.is_data() && a.fields.len() == b.fields.len() =>
            {
                let fields = a
                    .fields
                    .iter()
                    .zip(b.fields.iter())
                    .map(|((na, ta), (nb, tb))| {
                        (na == nb).then(|| ta.join(tb).map(|t| (na.to_string(), t)))?
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some(data_record(fields))
            }
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

    /// True for `secret`, and lists, maps or data records holding secrets.
    pub fn is_secret(&self) -> bool {
        match self {
            Type::Secret => true,
            Type::List(t) | Type::Map(t) => t.is_secret(),
            Type::Record(r) if r.is_data() => r.fields.iter().any(|(_, t)| t.is_secret()),
            _ => false,
        }
    }

    /// True for a data record, or a list, map or record holding one: the types for which
    /// a literal is checked against what is wanted rather than on its own.
    pub fn mentions_record(&self) -> bool {
        match self {
            Type::Record(r) => r.is_data(),
            Type::List(t) | Type::Map(t) => t.mentions_record(),
            _ => false,
        }
    }

    /// The fields of a data record, `None` for any other type.
    pub fn data_record(&self) -> Option<&Record> {
        match self {
            Type::Record(r) if r.is_data() => Some(r),
            _ => None,
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
                RecordKind::Workflow => f.write_str("workflow"),
                RecordKind::Data => {
                    f.write_str("record {")?;
                    for (i, (name, ty)) in r.fields.iter().enumerate() {
                        let sep = if i == 0 { " " } else { ", " };
                        write!(f, "{sep}{}: {ty}", crate::format::key_text(name))?;
                    }
                    f.write_str(" }")
                }
            },
            Type::Module(_) => f.write_str("module"),
            Type::Unknown => f.write_str("unknown"),
        }
    }
}
