//! Evaluating expressions: a typed expression of the resolved program and a [`Scope`]
//! giving the values of the names it reads in, a [`Value`] out. The checker has already proved the types, so a type mismatch here is a
//! bug, reported as such rather than panicking; what can still fail at run time (a missing
//! environment variable, `parse_int` of bad text, an index out of range, division by zero)
//! is a coded [`EvalError`].

use std::collections::BTreeMap;
use std::fmt;

use crate::source::Span;
use crate::typed::{self, BinOp, Ref, UnOp};

/// A run-time value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// An int.
    Int(i64),
    /// A float.
    Float(f64),
    /// A bool.
    Bool(bool),
    /// A duration in milliseconds.
    Duration(u64),
    /// Text that must never be shown.
    Secret(String),
    /// A list.
    List(Vec<Value>),
    /// A map with string keys, in key order.
    Map(BTreeMap<String, Value>),
    /// A record: a step result, `workflow`, or a data record (`{ name: "web", replicas: 3 }`
    /// typed as `record { name: string, replicas: int }`), fields in name order.
    Record(BTreeMap<String, Value>),
}

impl Value {
    /// The value as it is written into text (`${...}`, `env`, argv). Secrets give their
    /// text: callers decide where that is allowed (the checker already has).
    pub fn to_text(&self) -> String {
        match self {
            Value::Str(s) | Value::Secret(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Bool(b) => b.to_string(),
            Value::Duration(ms) => format_duration(*ms),
            Value::List(items) => items
                .iter()
                .map(Value::to_text)
                .collect::<Vec<_>>()
                .join(" "),
            Value::Map(_) | Value::Record(_) => self.to_string(),
        }
    }
}

impl fmt::Display for Value {
    /// The value as a literal of the language (secrets shown as `***`), as the REPL and
    /// `flowc plan` print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Secret(_) => f.write_str("***"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) | Value::Record(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, " {}: {v}", crate::format::key_text(k))?;
                }
                f.write_str(if entries.is_empty() { "}" } else { " }" })
            }
            other => f.write_str(&other.to_text()),
        }
    }
}

/// A float as text: always with a decimal point or exponent, so it reads back as a float.
fn format_float(f: f64) -> String {
    let s = f.to_string();
    if s.contains(['.', 'e', 'i', 'N']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// A duration in the units the language writes: `1h30m`, `500ms`, `0s`.
pub fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Something that cannot be evaluated.
#[derive(Clone, Debug, thiserror::Error, miette::Diagnostic)]
pub enum EvalError {
    /// The value depends on something not known yet (a step that has not run). Not a user
    /// error: `flowc plan` shows such conditions as undecided.
    #[error("not known before the run")]
    Pending,

    /// Division or remainder by zero.
    #[error("division by zero")]
    #[diagnostic(
        code(E0420),
        help("guard the division with a condition, or use a non-zero divisor")
    )]
    DivisionByZero {
        /// The division.
        #[label("divides by zero")]
        span: miette::SourceSpan,
    },

    /// An index outside a list, or a key missing from a map.
    #[error("{what}")]
    #[diagnostic(
        code(E0421),
        help("check `len(list)` first, or use `get(map, key, default)` for maps")
    )]
    OutOfRange {
        /// What was missing.
        what: String,
        /// The indexing.
        #[label("no such element")]
        span: miette::SourceSpan,
    },

    /// A builtin that failed on its input: `parse_int("x")`, `env("UNSET")`, overflow.
    #[error("`{function}` failed: {reason}")]
    #[diagnostic(code(E0422))]
    Builtin {
        /// The function.
        function: String,
        /// Why.
        reason: String,
        /// The call.
        #[label("fails here")]
        span: miette::SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// Arithmetic that does not fit a 64-bit int.
    #[error("integer overflow in `{op}`")]
    #[diagnostic(code(E0423), help("the result does not fit a 64-bit int"))]
    Overflow {
        /// The operator.
        op: String,
        /// The expression.
        #[label("overflows")]
        span: miette::SourceSpan,
    },

    /// `json_get` or `parse_json` of text that is not JSON, lacks the field, or does not
    /// have the wanted type.
    #[error("`{function}` failed: {reason}")]
    #[diagnostic(code(E0455))]
    Json {
        /// The function.
        function: String,
        /// Why.
        reason: String,
        /// The call.
        #[label("fails here")]
        span: miette::SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// `format_time` of text that is not an RFC 3339 time, or with a bad format.
    #[error("`format_time` failed: {reason}")]
    #[diagnostic(
        code(E0456),
        help("the time is RFC 3339 text such as `now()` gives (`2026-01-31T12:00:00Z`); the format uses strftime specifiers such as `%Y-%m-%d %H:%M`")
    )]
    Time {
        /// Why.
        reason: String,
        /// The call.
        #[label("fails here")]
        span: miette::SourceSpan,
    },

    /// A value of a type the checker should have rejected: a bug in flowc.
    #[error("internal error: {0}; please report it")]
    #[diagnostic(code(E0424))]
    Internal(String),
}

/// What resolved names mean while a typed expression is evaluated.
pub trait Scope {
    /// The value of a resolved name, or [`EvalError::Pending`] when it is not known yet.
    fn value(&self, name: &Ref) -> Result<Value, EvalError>;

    /// The `workflow` record (`name`, `status`, `run_id`).
    fn workflow(&self) -> Result<Value, EvalError> {
        Err(EvalError::Pending)
    }

    /// The value of an environment variable of the flowc process.
    fn env_var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    /// The id of the current run, for `run_id()`.
    fn run_id(&self) -> String {
        String::new()
    }
}

/// Evaluates a typed expression of the resolved program.
pub fn eval_typed(e: &typed::Expr, scope: &dyn Scope) -> Result<Value, EvalError> {
    use typed::ExprKind as K;
    let span = e.span.span;
    match &e.kind {
        K::Int(i) => Ok(Value::Int(*i)),
        K::Float(f) => Ok(Value::Float(*f)),
        K::Duration(d) => Ok(Value::Duration(*d)),
        K::Bool(b) => Ok(Value::Bool(*b)),
        K::Str(parts) => {
            let mut out = String::new();
            let mut secret = false;
            for part in parts {
                match part {
                    typed::StrPart::Text(t) => out.push_str(t),
                    typed::StrPart::Interp(inner) => {
                        let v = eval_typed(inner, scope)?;
                        secret |= matches!(v, Value::Secret(_));
                        out.push_str(&v.to_text());
                    }
                }
            }
            Ok(if secret {
                Value::Secret(out)
            } else {
                Value::Str(out)
            })
        }
        K::List(items) => Ok(Value::List(
            items
                .iter()
                .map(|i| eval_typed(i, scope))
                .collect::<Result<_, _>>()?,
        )),
        K::Map(entries) => {
            let mut map = BTreeMap::new();
            for (k, v) in entries {
                map.insert(k.clone(), eval_typed(v, scope)?);
            }
            Ok(Value::Map(map))
        }
        K::Record(fields) => {
            let mut record = BTreeMap::new();
            for (name, v) in fields {
                record.insert(name.clone(), eval_typed(v, scope)?);
            }
            Ok(Value::Record(record))
        }
        K::Ref(r) => scope.value(r),
        K::Workflow => scope.workflow(),
        K::Field(base, field) => match eval_typed(base, scope)? {
            Value::Record(fields) => fields.get(field).cloned().ok_or(EvalError::Pending),
            other => Err(internal(format!("field `{field}` of {other}"))),
        },
        K::Index(base, index) => {
            index_value(eval_typed(base, scope)?, eval_typed(index, scope)?, span)
        }
        K::Call(name, args) => {
            let slots = args
                .iter()
                .map(|a| a.as_ref().map(|a| eval_typed(a, scope)).transpose())
                .collect::<Result<Vec<_>, _>>()?;
            apply(name, slots, span, &|| scope.run_id(), &|n| scope.env_var(n))
        }
        K::Unary(op, x) => unary(*op, eval_typed(x, scope)?, span),
        K::Binary(op, a, b) => {
            // `&&` and `||` short-circuit, so `x != 0 && 10 / x > 1` is safe.
            if matches!(op, BinOp::And | BinOp::Or) {
                let left = truth(eval_typed(a, scope)?)?;
                if (*op == BinOp::And && !left) || (*op == BinOp::Or && left) {
                    return Ok(Value::Bool(left));
                }
                return Ok(Value::Bool(truth(eval_typed(b, scope)?)?));
            }
            binary(*op, eval_typed(a, scope)?, eval_typed(b, scope)?, span)
        }
        K::If(c, a, b) => {
            if truth(eval_typed(c, scope)?)? {
                eval_typed(a, scope)
            } else {
                eval_typed(b, scope)
            }
        }
        K::Invalid => Err(internal("an expression the checker rejected".to_string())),
    }
}

/// `base[index]`.
fn index_value(base: Value, index: Value, span: Span) -> Result<Value, EvalError> {
    match (base, index) {
        (Value::List(items), Value::Int(n)) => usize::try_from(n)
            .ok()
            .and_then(|n| items.get(n).cloned())
            .ok_or_else(|| EvalError::OutOfRange {
                what: format!(
                    "index {n} is out of range for a list of {} elements",
                    items.len()
                ),
                span: span.into(),
            }),
        (Value::Map(map), Value::Str(k)) => {
            map.get(&k).cloned().ok_or_else(|| EvalError::OutOfRange {
                what: format!("the map has no key {k:?}"),
                span: span.into(),
            })
        }
        (b, i) => Err(internal(format!("indexing {b} with {i}"))),
    }
}

/// `!v`, `-v`.
fn unary(op: UnOp, v: Value, span: Span) -> Result<Value, EvalError> {
    match (op, v) {
        (UnOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (UnOp::Neg, Value::Int(i)) => i
            .checked_neg()
            .map(Value::Int)
            .ok_or_else(|| overflow("-", span)),
        (UnOp::Neg, Value::Float(f)) => Ok(Value::Float(-f)),
        (_, v) => Err(internal(format!("prefix operator on {v}"))),
    }
}

fn internal(what: String) -> EvalError {
    EvalError::Internal(format!("ill-typed value reached the evaluator ({what})"))
}

fn overflow(op: &str, span: Span) -> EvalError {
    EvalError::Overflow {
        op: op.to_string(),
        span: span.into(),
    }
}

fn truth(v: Value) -> Result<bool, EvalError> {
    match v {
        Value::Bool(b) => Ok(b),
        other => Err(internal(format!("condition {other}"))),
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn binary(op: BinOp, a: Value, b: Value, span: Span) -> Result<Value, EvalError> {
    use Value as V;
    let sym = op.symbol();
    Ok(match (op, a, b) {
        (BinOp::Eq, a, b) => V::Bool(equal(&a, &b)),
        (BinOp::Ne, a, b) => V::Bool(!equal(&a, &b)),
        (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge, a, b) => {
            let ord = match (&a, &b) {
                (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
                (V::Duration(x), V::Duration(y)) => Some(x.cmp(y)),
                (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
                _ => as_f64(&a)
                    .zip(as_f64(&b))
                    .and_then(|(x, y)| x.partial_cmp(&y)),
            };
            let Some(ord) = ord else {
                // NaN compares false every way.
                return Ok(V::Bool(false));
            };
            V::Bool(match op {
                BinOp::Lt => ord.is_lt(),
                BinOp::Le => ord.is_le(),
                BinOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        (BinOp::Add, V::Str(x), V::Str(y)) => V::Str(x + &y),
        (BinOp::Add, V::List(mut x), V::List(y)) => {
            x.extend(y);
            V::List(x)
        }
        (BinOp::Add, V::Duration(x), V::Duration(y)) => {
            V::Duration(x.checked_add(y).ok_or_else(|| overflow(sym, span))?)
        }
        (BinOp::Sub, V::Duration(x), V::Duration(y)) => V::Duration(x.saturating_sub(y)),
        (BinOp::Mul, V::Duration(d), V::Int(n)) | (BinOp::Mul, V::Int(n), V::Duration(d)) => {
            let n = u64::try_from(n).map_err(|_| overflow(sym, span))?;
            V::Duration(d.checked_mul(n).ok_or_else(|| overflow(sym, span))?)
        }
        (BinOp::Div, V::Duration(d), V::Int(n)) => {
            if n == 0 {
                return Err(EvalError::DivisionByZero { span: span.into() });
            }
            let n = u64::try_from(n).map_err(|_| overflow(sym, span))?;
            V::Duration(d / n)
        }
        (op, V::Int(x), V::Int(y)) => {
            let r = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div | BinOp::Rem if y == 0 => {
                    return Err(EvalError::DivisionByZero { span: span.into() })
                }
                BinOp::Div => x.checked_div(y),
                BinOp::Rem => x.checked_rem(y),
                _ => return Err(internal(format!("`{sym}` on ints"))),
            };
            V::Int(r.ok_or_else(|| overflow(sym, span))?)
        }
        (op, a, b) => match (as_f64(&a), as_f64(&b)) {
            (Some(x), Some(y)) => V::Float(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                _ => return Err(internal(format!("`{sym}` on {a} and {b}"))),
            }),
            _ => return Err(internal(format!("`{sym}` on {a} and {b}"))),
        },
    })
}

/// Equality across the int/float and string/secret pairs the checker allows, element by
/// element in lists, maps and records.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::Str(x) | Value::Secret(x), Value::Str(y) | Value::Secret(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equal(x, y))
        }
        (Value::Map(x), Value::Map(y)) | (Value::Record(x), Value::Record(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, x), (ky, y))| kx == ky && equal(x, y))
        }
        _ => a == b,
    }
}

/// Calls the builtin `name` with its arguments in parameter order (`None` for an optional
/// one left out). `run_id` and `env_var` are the run's id and flowc's environment.
fn apply(
    name: &str,
    slots: Vec<Option<Value>>,
    span: Span,
    run_id: &dyn Fn() -> String,
    env_var: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, EvalError> {
    let fail = |reason: String, help: Option<&str>| EvalError::Builtin {
        function: name.to_string(),
        reason,
        span: span.into(),
        help: help.map(str::to_string),
    };
    let text = |i: usize| {
        slots
            .get(i)
            .and_then(|s| s.as_ref())
            .map(Value::to_text)
            .unwrap_or_default()
    };
    let arg = |i: usize| slots.get(i).cloned().flatten();
    Ok(match name {
        "basename" => Value::Str(
            std::path::Path::new(&text(0))
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        "dirname" => Value::Str(
            std::path::Path::new(&text(0))
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        "path_join" => Value::Str(
            std::path::Path::new(&text(0))
                .join(text(1))
                .display()
                .to_string(),
        ),
        "concat" => match (arg(0), arg(1)) {
            (Some(Value::List(mut a)), Some(Value::List(b))) => {
                a.extend(b);
                Value::List(a)
            }
            _ => return Err(internal("concat of non-lists".to_string())),
        },
        "contains" => Value::Bool(match (arg(0), arg(1)) {
            (Some(Value::Str(s)), Some(n)) => s.contains(&n.to_text()),
            (Some(Value::List(items)), Some(n)) => items.iter().any(|i| equal(i, &n)),
            (Some(Value::Map(m)), Some(n)) => m.contains_key(&n.to_text()),
            _ => return Err(internal("contains on a non-collection".to_string())),
        }),
        "starts_with" => Value::Bool(text(0).starts_with(&text(1))),
        "ends_with" => Value::Bool(text(0).ends_with(&text(1))),
        "env" => match env_var(&text(0)) {
            Some(v) => Value::Str(v),
            None => match arg(1) {
                Some(default) => Value::Str(default.to_text()),
                None => {
                    return Err(fail(
                        format!("environment variable `{}` is not set", text(0)),
                        Some("set it, or give a default: `env(\"NAME\", \"default\")`"),
                    ))
                }
            },
        },
        "get" => match (arg(0), arg(2)) {
            (Some(Value::Map(m)), Some(default)) => m.get(&text(1)).cloned().unwrap_or(default),
            _ => return Err(internal("get on a non-map".to_string())),
        },
        "join" => match arg(0) {
            Some(Value::List(items)) => Value::Str(
                items
                    .iter()
                    .map(Value::to_text)
                    .collect::<Vec<_>>()
                    .join(&text(1)),
            ),
            _ => return Err(internal("join of a non-list".to_string())),
        },
        "keys" => match arg(0) {
            Some(Value::Map(m)) => Value::List(m.keys().cloned().map(Value::Str).collect()),
            _ => return Err(internal("keys of a non-map".to_string())),
        },
        "values" => match arg(0) {
            Some(Value::Map(m)) => Value::List(m.into_values().collect()),
            _ => return Err(internal("values of a non-map".to_string())),
        },
        "len" => Value::Int(match arg(0) {
            Some(Value::Str(s)) => s.chars().count() as i64,
            Some(Value::List(items)) => items.len() as i64,
            Some(Value::Map(m)) => m.len() as i64,
            _ => return Err(internal("len of a non-collection".to_string())),
        }),
        "lower" => Value::Str(text(0).to_lowercase()),
        "upper" => Value::Str(text(0).to_uppercase()),
        "trim" => Value::Str(text(0).trim().to_string()),
        "replace" => Value::Str(text(0).replace(&text(1), &text(2))),
        "split" => Value::List(
            text(0)
                .split(&text(1))
                .map(|s| Value::Str(s.to_string()))
                .collect(),
        ),
        "parse_int" => Value::Int(text(0).trim().parse().map_err(|_| {
            fail(
                format!("{:?} is not an int", text(0)),
                Some("ints are written in decimal digits, like `42` or `-7`"),
            )
        })?),
        "parse_float" => Value::Float(
            text(0)
                .trim()
                .parse()
                .map_err(|_| fail(format!("{:?} is not a float", text(0)), None))?,
        ),
        "to_string" => Value::Str(text(0)),
        "seconds" => match arg(0) {
            Some(Value::Duration(ms)) => Value::Int((ms / 1000) as i64),
            _ => return Err(internal("seconds of a non-duration".to_string())),
        },
        "run_id" => Value::Str(run_id()),
        "now" => {
            Value::Str(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string())
        }
        "sha256" => {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(text(0).as_bytes());
            Value::Str(digest.iter().map(|b| format!("{b:02x}")).collect())
        }
        "git_sha" => {
            let out = std::process::Command::new("git")
                .args(["rev-parse", "HEAD"])
                .output()
                .map_err(|e| fail(format!("cannot run git: {e}"), Some("install git")))?;
            if !out.status.success() {
                return Err(fail(
                    String::from_utf8_lossy(&out.stderr).trim().to_string(),
                    Some("run flowc inside a git repository with at least one commit"),
                ));
            }
            Value::Str(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        "format_time" => {
            let time_err = |reason: String| EvalError::Time {
                reason,
                span: span.into(),
            };
            let t = chrono::DateTime::parse_from_rfc3339(text(0).trim())
                .map_err(|e| time_err(format!("{:?} is not an RFC 3339 time: {e}", text(0))))?;
            let format = text(1);
            let items = chrono::format::StrftimeItems::new(&format)
                .parse()
                .map_err(|_| time_err(format!("{format:?} is not a valid format")))?;
            Value::Str(t.format_with_items(items.iter()).to_string())
        }
        "is_set" => Value::Bool(!text(0).is_empty()),
        "json_get" => {
            let json_err = |reason: String, help: Option<&str>| EvalError::Json {
                function: name.to_string(),
                reason,
                span: span.into(),
                help: help.map(str::to_string),
            };
            let doc: serde_json::Value = serde_json::from_str(&text(0))
                .map_err(|e| json_err(format!("the text is not JSON: {e}"), None))?;
            let path = text(1);
            let mut at = &doc;
            for key in path.split('.').filter(|k| !k.is_empty()) {
                let next = match at {
                    serde_json::Value::Object(o) => o.get(key),
                    serde_json::Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
                    _ => None,
                };
                at = next.ok_or_else(|| {
                    json_err(
                        format!("no field `{key}` (path {path:?})"),
                        Some("fields are separated by dots; list elements are numbered from 0: `items.0.name`"),
                    )
                })?;
            }
            Value::Str(match at {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        }
        "parse_json" => {
            let (Some(default), t) = (arg(1), text(0)) else {
                return Err(internal("parse_json without a default".to_string()));
            };
            if t.trim().is_empty() {
                default
            } else {
                let doc: serde_json::Value =
                    serde_json::from_str(&t).map_err(|e| EvalError::Json {
                        function: name.to_string(),
                        reason: format!("the text is not JSON: {e}"),
                        span: span.into(),
                        help: None,
                    })?;
                from_json(&doc, &default).ok_or_else(|| EvalError::Json {
                    function: name.to_string(),
                    reason: format!("the JSON is not of the type of the default ({default})"),
                    span: span.into(),
                    help: Some("the default's type is the type wanted: `[\"\"]` for a list of strings, `{ n: 0 }` for a map of ints".to_string()),
                })?
            }
        }
        "to_json" => Value::Str(arg(0).as_ref().map(to_json).unwrap_or_default().to_string()),
        other => return Err(internal(format!("builtin `{other}` has no implementation"))),
    })
}

/// A value as JSON: maps and records as objects, durations as their text.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Str(s) | Value::Secret(s) => J::String(s.clone()),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => J::from(*f),
        Value::Bool(b) => J::Bool(*b),
        Value::Duration(ms) => J::String(format_duration(*ms)),
        Value::List(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(m) | Value::Record(m) => {
            J::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

/// JSON read as a value of the same type as `like` (its first element or entry gives the
/// element type of a list or map; an empty one takes the JSON as it comes). `None` when the
/// JSON has another type.
fn from_json(j: &serde_json::Value, like: &Value) -> Option<Value> {
    use serde_json::Value as J;
    Some(match (like, j) {
        (Value::Str(_), J::String(s)) => Value::Str(s.clone()),
        (Value::Int(_), J::Number(n)) => Value::Int(n.as_i64()?),
        (Value::Float(_), J::Number(n)) => Value::Float(n.as_f64()?),
        (Value::Bool(_), J::Bool(b)) => Value::Bool(*b),
        (Value::Duration(_), J::String(s)) => {
            Value::Duration(crate::parse::parse_duration(s.trim()).ok()?)
        }
        (Value::List(items), J::Array(js)) => Value::List(match items.first() {
            Some(elem) => js
                .iter()
                .map(|x| from_json(x, elem))
                .collect::<Option<_>>()?,
            None => js.iter().map(plain_json).collect::<Option<_>>()?,
        }),
        (Value::Map(m), J::Object(o)) => Value::Map(match m.values().next() {
            Some(elem) => o
                .iter()
                .map(|(k, x)| Some((k.clone(), from_json(x, elem)?)))
                .collect::<Option<_>>()?,
            None => o
                .iter()
                .map(|(k, x)| Some((k.clone(), plain_json(x)?)))
                .collect::<Option<_>>()?,
        }),
        // Every field of the record, each like the default's; fields the JSON has beyond
        // those are left out (an API's answer often has more than a workflow reads).
        (Value::Record(fields), J::Object(o)) => Value::Record(
            fields
                .iter()
                .map(|(k, like)| Some((k.clone(), from_json(o.get(k)?, like)?)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

/// JSON as the value it looks like (for a default with no element to go by).
fn plain_json(j: &serde_json::Value) -> Option<Value> {
    use serde_json::Value as J;
    Some(match j {
        J::String(s) => Value::Str(s.clone()),
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64()?),
        },
        J::Array(items) => Value::List(items.iter().map(plain_json).collect::<Option<_>>()?),
        J::Object(o) => Value::Map(
            o.iter()
                .map(|(k, x)| Some((k.clone(), plain_json(x)?)))
                .collect::<Option<_>>()?,
        ),
        J::Null => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileSpan, SourceFile, SourceId, SourceMap, Span};

    /// The names the test expressions read, as parameters and a secret of a workflow.
    const PROGRAM: &str = "workflow w(target: string = \"prod\", n: int = 3, regions: list<string> = [\"eu\", \"us\"]) {\n  secret token = \"s3cr3t\"\n  step s { run \"true\" }\n}\n";

    /// Values by name; a step's result is not known.
    #[derive(Default)]
    struct Values {
        values: BTreeMap<String, Value>,
    }

    impl Scope for Values {
        fn value(&self, name: &Ref) -> Result<Value, EvalError> {
            match name {
                Ref::Param(n) | Ref::Binding(n) => self.values.get(n).cloned(),
                _ => None,
            }
            .ok_or(EvalError::Pending)
        }
    }

    /// Checks `text` as an expression in the scope of [`PROGRAM`]'s workflow (as the
    /// REPL does), then evaluates its typed form.
    fn eval_text(text: &str, env: &Values) -> Result<Value, EvalError> {
        let mut sources = SourceMap::new();
        let root = sources.add(SourceFile::new("t.flow", None, PROGRAM));
        let file = crate::parse::parse(root, sources.get(root)).expect("parses");
        let expr_file = SourceFile::new("e", None, text);
        let expr = crate::parse::parse_expr(SourceId(0), &expr_file).expect("parses");
        let probe = crate::check::Probe {
            workflow: "w".to_string(),
            expr,
        };
        let (_, typed) =
            crate::check::check_probe(&mut sources, root, file, &crate::check::FsLoader, probe)
                .unwrap_or_else(|_| panic!("`{text}` checks"));
        eval_typed(&typed.expect("typed"), env)
    }

    fn env() -> Values {
        let mut values = BTreeMap::new();
        values.insert("target".to_string(), Value::Str("prod".to_string()));
        values.insert("n".to_string(), Value::Int(3));
        values.insert("token".to_string(), Value::Secret("s3cr3t".to_string()));
        values.insert(
            "regions".to_string(),
            Value::List(vec![
                Value::Str("eu".to_string()),
                Value::Str("us".to_string()),
            ]),
        );
        Values { values }
    }

    #[test]
    fn arithmetic_text_and_conditions() {
        let env = env();
        let cases = [
            ("1 + 2 * 3", Value::Int(7)),
            ("7 / 2", Value::Int(3)),
            ("7 % 4", Value::Int(3)),
            ("1.5 + 1", Value::Float(2.5)),
            ("2s * 3 + 1m", Value::Duration(66_000)),
            ("1h / 4", Value::Duration(900_000)),
            ("\"a\" + \"b\"", Value::Str("ab".to_string())),
            ("target == \"prod\" && n > 2", Value::Bool(true)),
            ("n != 3 || false", Value::Bool(false)),
            (
                "if n > 5 { \"big\" } else if n > 2 { \"mid\" } else { \"small\" }",
                Value::Str("mid".to_string()),
            ),
            ("len(regions) * 2", Value::Int(4)),
            ("join(regions, \",\")", Value::Str("eu,us".to_string())),
            ("regions[1]", Value::Str("us".to_string())),
            ("upper(trim(\"  x \"))", Value::Str("X".to_string())),
            ("contains(regions, \"eu\")", Value::Bool(true)),
            ("parse_int(\" 42 \") + 1", Value::Int(43)),
            ("seconds(90s)", Value::Int(90)),
            (
                "\"${n}-${1h30m}-${2.0}\"",
                Value::Str("3-1h30m-2.0".to_string()),
            ),
            ("get({ a: 1 }, \"b\", 5)", Value::Int(5)),
            (
                "sha256(\"abc\")",
                Value::Str(
                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string(),
                ),
            ),
            (
                "format_time(\"2026-03-04T05:06:07Z\", \"%Y/%m/%d %H.%M\")",
                Value::Str("2026/03/04 05.06".to_string()),
            ),
            (
                "json_get(\"{\\\"a\\\": {\\\"b\\\": [1, \\\"x\\\"]}}\", \"a.b.1\")",
                Value::Str("x".to_string()),
            ),
            (
                "json_get(\"{\\\"a\\\": {\\\"b\\\": [1, 2]}}\", \"a.b\")",
                Value::Str("[1,2]".to_string()),
            ),
            (
                "parse_json(\"[\\\"eu\\\", \\\"us\\\"]\", [\"\"])",
                Value::List(vec![
                    Value::Str("eu".to_string()),
                    Value::Str("us".to_string()),
                ]),
            ),
            ("parse_json(\" \", 7)", Value::Int(7)),
            // (A map's values have one type, so each kind of value in a map of its own.)
            ("to_json({ n: 1 })", Value::Str("{\"n\":1}".to_string())),
            (
                "to_json({ d: 90s, e: 1m })",
                Value::Str("{\"d\":\"1m30s\",\"e\":\"1m\"}".to_string()),
            ),
            (
                "to_json({ l: [true] })",
                Value::Str("{\"l\":[true]}".to_string()),
            ),
            (
                "basename(\"dist/app.tar.gz\")",
                Value::Str("app.tar.gz".to_string()),
            ),
            (
                "dirname(\"dist/app.tar.gz\")",
                Value::Str("dist".to_string()),
            ),
            (
                "path_join(\"dist\", \"app\")",
                Value::Str("dist/app".to_string()),
            ),
            ("split(\"a,b\", \",\")[1]", Value::Str("b".to_string())),
            (
                "replace(\"a-b-c\", \"-\", \"+\")",
                Value::Str("a+b+c".to_string()),
            ),
            (
                "starts_with(\"v1.2\", \"v\") && ends_with(\"v1.2\", \".2\")",
                Value::Bool(true),
            ),
            ("keys({ b: 1, a: 2 })[0]", Value::Str("a".to_string())),
            ("values({ b: 1, a: 2 })[0]", Value::Int(2)),
            ("len(concat([1], [2, 3]))", Value::Int(3)),
            ("contains({ a: 1 }, \"a\")", Value::Bool(true)),
            ("parse_float(\"2.5\")", Value::Float(2.5)),
            ("to_string(3) + lower(\"X\")", Value::Str("3x".to_string())),
        ];
        for (text, want) in cases {
            assert_eq!(eval_text(text, &env).expect(text), want, "{text}");
        }
    }

    #[test]
    fn short_circuit_guards_the_right_side() {
        let env = env();
        assert_eq!(
            eval_text("n == 0 && 10 / (n - 3) > 1", &env).expect("guarded"),
            Value::Bool(false)
        );
    }

    #[test]
    fn secrets_stay_secret_through_text() {
        let env = env();
        let v = eval_text("\"Bearer ${token}\"", &env).expect("evaluates");
        assert_eq!(v, Value::Secret("Bearer s3cr3t".to_string()));
        assert_eq!(v.to_string(), "***");
    }

    #[test]
    fn run_time_failures_have_codes() {
        use miette::Diagnostic;
        let env = env();
        let code = |text: &str| {
            let err = eval_text(text, &env).expect_err(text);
            err.code().map(|c| c.to_string()).unwrap_or_default()
        };
        assert_eq!(code("n / (n - 3)"), "E0420");
        assert_eq!(code("regions[5]"), "E0421");
        assert_eq!(code("{ a: 1 }[\"b\"]"), "E0421");
        assert_eq!(code("parse_int(\"x\")"), "E0422");
        assert_eq!(code("env(\"FLOWC_TEST_SURELY_UNSET_VARIABLE\")"), "E0422");
        assert_eq!(code("9223372036854775807 + 1"), "E0423");
        assert_eq!(code("parse_float(\"1,5\")"), "E0422");
        assert_eq!(code("json_get(\"{\", \"a\")"), "E0455");
        assert_eq!(code("json_get(\"{}\", \"a\")"), "E0455");
        assert_eq!(code("parse_json(\"[1]\", [\"\"])"), "E0455");
        assert_eq!(code("format_time(\"yesterday\", \"%Y\")"), "E0456");
        assert_eq!(
            code("format_time(\"2026-03-04T05:06:07Z\", \"%Q\")"),
            "E0456"
        );
        assert!(matches!(
            eval_text("s.status", &env),
            Err(EvalError::Pending)
        ));
    }

    #[test]
    fn an_ill_typed_tree_is_an_internal_error_not_a_panic() {
        use miette::Diagnostic;
        // The checker never lets `!1` through; built by hand, it must not panic.
        let at = FileSpan::new(SourceId(0), Span::new(0, 2));
        let one = typed::Expr {
            kind: typed::ExprKind::Int(1),
            ty: crate::check::Type::Int,
            span: at,
        };
        let not_one = typed::Expr {
            kind: typed::ExprKind::Unary(UnOp::Not, Box::new(one)),
            ty: crate::check::Type::Bool,
            span: at,
        };
        let err = eval_typed(&not_one, &Values::default()).expect_err("ill-typed");
        assert_eq!(err.code().map(|c| c.to_string()).as_deref(), Some("E0424"));
    }

    #[test]
    fn durations_print_in_language_units() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(500), "500ms");
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(90_061_001), "1d1h1m1s1ms");
    }

    #[test]
    fn braces_with_values_of_different_types_are_a_record() {
        let env = Values::default();
        let v = eval_text("{ name: \"web\", replicas: 3, canary: true }", &env).expect("evaluates");
        assert_eq!(
            v.to_string(),
            "{ canary: true, name: \"web\", replicas: 3 }"
        );
        assert!(matches!(v, Value::Record(_)));
        let cases = [
            ("{ name: \"web\", replicas: 3 }.replicas * 2", Value::Int(6)),
            (
                "to_json({ name: \"web\", \"dry-run\": false, ratio: 0.5, tags: [\"a\"] })",
                Value::Str(r#"{"dry-run":false,"name":"web","ratio":0.5,"tags":["a"]}"#.to_string()),
            ),
            ("{ a: 1, b: \"x\" } == { b: \"x\", a: 1 }", Value::Bool(true)),
            ("{ a: 1, b: \"x\" } == { a: 1.0, b: \"x\" }", Value::Bool(true)),
            ("{ a: 1, b: \"x\" } != { a: 2, b: \"x\" }", Value::Bool(true)),
            (
                "parse_json(\"{\\\"id\\\": 7, \\\"state\\\": \\\"up\\\", \\\"extra\\\": []}\", { id: 0, state: \"\" }).state",
                Value::Str("up".to_string()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(eval_text(text, &env).expect(text), want, "{text}");
        }
        // A field the JSON lacks has no value to take.
        let missing = eval_text(
            "parse_json(\"{\\\"id\\\": 7}\", { id: 0, state: \"\" })",
            &env,
        );
        assert!(
            matches!(missing, Err(EvalError::Json { .. })),
            "{missing:?}"
        );
        // One type of values is a map, as it always was.
        assert!(matches!(
            eval_text("{ eu: 2, us: 3.5 }", &env).expect("evaluates"),
            Value::Map(_)
        ));
    }
}
