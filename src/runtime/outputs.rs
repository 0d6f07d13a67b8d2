//! A step's declared outputs: the `$FLOW_OUTPUT` file its process wrote (a JSON object,
//! or `name=value` lines with list and map values as JSON), the declared types and the
//! run's secrets in; the typed values out, or the [`StepFailure`] of what is missing,
//! mistyped, or a plain output that holds a secret (E0480).
//!
//! A `secret` output becomes a [`Value::Secret`]: the caller adds it to the run's
//! redactor ([`secrets_in`]) before anything else of the step is shown or kept. The file
//! itself is created `0600` before the step starts ([`prepare`]) and redacted once read
//! ([`scrub`]), so that no secret stays in it on disk.

use std::collections::BTreeMap;

use std::path::Path;

use super::eval::Value;
use super::failure::StepFailure;
use super::redact::Redactor;
use crate::check::Type;

/// Creates a step's empty `$FLOW_OUTPUT` file, readable by its owner only, replacing one
/// a reused `--log-dir` may hold; what the step writes into it keeps that mode.
pub fn prepare(path: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
}

/// Redacts the `$FLOW_OUTPUT` file a step wrote, if there is one, in place, and makes it
/// readable by its owner only (a step may have created it itself).
pub fn scrub(path: &Path, redactor: &Redactor) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    if let std::borrow::Cow::Owned(clean) = redactor.redact_bytes(&bytes) {
        let _ = std::fs::write(path, clean);
    }
}

/// The values of the secrets in `v` (a `secret` output, or a list or map of them).
pub fn secrets_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Secret(s) => out.push(s.clone()),
        Value::List(items) => items.iter().for_each(|i| secrets_in(i, out)),
        Value::Map(m) | Value::Record(m) => m.values().for_each(|i| secrets_in(i, out)),
        _ => {}
    }
}

/// Reads a step's declared outputs from its `$FLOW_OUTPUT` file: a JSON object, or
/// `name=value` lines. Every declared output must be there, with a value of its type; a
/// plain output must not hold any of `redactor`'s secrets.
pub fn read(
    path: &Path,
    declared: &[(String, Type)],
    redactor: &Redactor,
) -> Result<BTreeMap<String, Value>, StepFailure> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut raw: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    if text.trim_start().starts_with('{') {
        let obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).map_err(|e| StepFailure::MalformedOutput {
                problem: format!("is not a valid JSON object: {e}"),
            })?;
        raw.extend(obj);
    } else {
        for line in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        {
            let Some((k, v)) = line.split_once('=') else {
                return Err(StepFailure::MalformedOutput {
                    problem: format!("line {line:?} is not `name=value`"),
                });
            };
            raw.insert(
                k.trim().to_string(),
                serde_json::Value::String(v.to_string()),
            );
        }
    }
    let mut out = BTreeMap::new();
    for (name, ty) in declared {
        let Some(v) = raw.get(name) else {
            return Err(StepFailure::MissingOutput { name: name.clone() });
        };
        let value = convert(v, ty).ok_or_else(|| StepFailure::MistypedOutput {
            name: name.clone(),
            // Not yet known to the redactor: a secret output's value is never shown.
            value: if ty.is_secret() {
                super::redact::REDACTED.to_string()
            } else {
                v.to_string()
            },
            ty: ty.to_string(),
        })?;
        if !ty.is_secret() {
            let holds = match v {
                serde_json::Value::String(s) => redactor.contains_secret(s),
                other => redactor.contains_secret(&other.to_string()),
            };
            if holds {
                return Err(StepFailure::SecretInOutput { name: name.clone() });
            }
        }
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// A list, map or record output: the JSON value itself, or the JSON text of a `name=value` line.
fn structured(v: &serde_json::Value, text: Option<&str>) -> Option<serde_json::Value> {
    match text {
        Some(s) => serde_json::from_str(s).ok(),
        None => Some(v.clone()),
    }
}

/// Converts a JSON value (or a string from a `name=value` line) to a declared type.
fn convert(v: &serde_json::Value, ty: &Type) -> Option<Value> {
    use serde_json::Value as J;
    let text = match v {
        J::String(s) => Some(s.as_str()),
        _ => None,
    };
    match ty {
        Type::Secret => convert(v, &Type::String).map(|s| Value::Secret(s.to_text())),
        // A JSON number or bool is text too; a list, map or null is not a string.
        Type::String | Type::Unknown => match v {
            J::String(s) => Some(Value::Str(s.clone())),
            J::Number(_) | J::Bool(_) => Some(Value::Str(v.to_string())),
            J::Array(_) | J::Object(_) | J::Null => None,
        },
        Type::Int => v
            .as_i64()
            .or_else(|| text.and_then(|s| s.trim().parse().ok()))
            .map(Value::Int),
        Type::Float => v
            .as_f64()
            .or_else(|| text.and_then(|s| s.trim().parse().ok()))
            .map(Value::Float),
        Type::Bool => v
            .as_bool()
            .or_else(|| text.and_then(|s| s.trim().parse().ok()))
            .map(Value::Bool),
        Type::Duration => text
            .and_then(|s| crate::parse::parse_duration(s.trim()).ok())
            .map(Value::Duration),
        Type::List(elem) => match structured(v, text)? {
            J::Array(items) => items
                .iter()
                .map(|i| convert(i, elem))
                .collect::<Option<Vec<_>>>()
                .map(Value::List),
            _ => None,
        },
        Type::Map(elem) => match structured(v, text)? {
            J::Object(obj) => obj
                .iter()
                .map(|(k, i)| convert(i, elem).map(|v| (k.clone(), v)))
                .collect::<Option<BTreeMap<_, _>>>()
                .map(Value::Map),
            _ => None,
        },
        // Every field of the record, each of its type; other keys are left out.
        Type::Record(r) if r.is_data() => match structured(v, text)? {
            J::Object(obj) => r
                .fields
                .iter()
                .map(|(k, t)| convert(obj.get(k.as_ref())?, t).map(|v| (k.to_string(), v)))
                .collect::<Option<BTreeMap<_, _>>>()
                .map(Value::Record),
            _ => None,
        },
        Type::Record(_) | Type::Module(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> Vec<(String, Type)> {
        vec![
            ("n".to_string(), Type::Int),
            ("tags".to_string(), Type::List(Box::new(Type::String))),
            ("wait".to_string(), Type::Duration),
        ]
    }

    /// The values read, or the failure's code and message.
    fn read_text(text: &str) -> Result<BTreeMap<String, Value>, (String, String)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.out");
        std::fs::write(&path, text).expect("write");
        read(&path, &declared(), &Redactor::default()).map_err(|f| {
            let plain = f.plain();
            (plain.code, plain.message)
        })
    }

    #[test]
    fn lines_and_json_give_the_same_typed_values() {
        let lines = read_text("# a comment\nn=42\ntags=[\"a\",\"b\"]\nwait=1m30s\n");
        let json = read_text(r#"{"n": 42, "tags": ["a", "b"], "wait": "1m30s"}"#);
        assert_eq!(lines, json);
        let values = lines.expect("read");
        assert_eq!(values.get("n"), Some(&Value::Int(42)));
        assert_eq!(
            values.get("tags"),
            Some(&Value::List(vec![
                Value::Str("a".to_string()),
                Value::Str("b".to_string())
            ]))
        );
        assert_eq!(values.get("wait"), Some(&Value::Duration(90_000)));
    }

    #[test]
    fn a_missing_or_mistyped_output_is_named() {
        let (code, missing) = read_text("n=1\ntags=[]\n").expect_err("missing");
        assert!(missing.contains("`wait`"), "{missing}");
        assert_eq!(code, "E0463");
        let (code, mistyped) = read_text("n=many\ntags=[]\nwait=1s\n").expect_err("mistyped");
        assert!(mistyped.contains("which is not a `int`"), "{mistyped}");
        assert_eq!(code, "E0464");
        let (code, list) = read_text("n=1\ntags={\"a\": 1}\nwait=1s\n").expect_err("mistyped");
        assert!(list.contains("list<string>"), "{list}");
        assert_eq!(code, "E0464");
        let (code, bad) = read_text("n\n").expect_err("not name=value");
        assert!(bad.contains("is not `name=value`"), "{bad}");
        assert_eq!(code, "E0465");
        let strings = vec![("s".to_string(), Type::String)];
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.out");
        for (text, ok) in [
            (r#"{"s": "text"}"#, Some("text")),
            (r#"{"s": 5}"#, Some("5")),
            (r#"{"s": true}"#, Some("true")),
            (r#"{"s": [1]}"#, None),
            (r#"{"s": {"a": 1}}"#, None),
            (r#"{"s": null}"#, None),
            ("s=[1]\n", Some("[1]")),
        ] {
            std::fs::write(&path, text).expect("write");
            match (read(&path, &strings, &Redactor::default()), ok) {
                (Ok(values), Some(want)) => {
                    assert_eq!(
                        values.get("s"),
                        Some(&Value::Str(want.to_string())),
                        "{text}"
                    )
                }
                (Err(f), None) => assert_eq!(f.plain().code, "E0464", "{text}"),
                (got, _) => panic!("{text}: {got:?}"),
            }
        }
        let (code, json) = read_text("{\"n\": 1,").expect_err("not JSON");
        assert!(json.contains("is not a valid JSON object"), "{json}");
        assert_eq!(code, "E0465");
    }

    #[test]
    fn a_plain_output_holding_a_secret_is_refused_and_a_secret_one_is_a_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.out");
        let red = Redactor::new(["hunter2".to_string()]).expect("redactor");
        let plain = vec![("s".to_string(), Type::String)];
        for text in [
            "s=hunter2\n",
            "s=Bearer hunter2 \n",
            r#"{"s": "x hunter2 y"}"#,
        ] {
            std::fs::write(&path, text).expect("write");
            let failure = read(&path, &plain, &red).expect_err(text);
            let plain = failure.plain();
            assert_eq!(plain.code, "E0480", "{text}");
            assert!(plain.message.contains("`s`"), "{}", plain.message);
        }
        let lists = vec![("s".to_string(), Type::List(Box::new(Type::String)))];
        std::fs::write(&path, r#"{"s": ["a", "hunter2"]}"#).expect("write");
        let failure = read(&path, &lists, &red).expect_err("a list holding it");
        assert_eq!(failure.plain().code, "E0480");

        let secret = vec![("s".to_string(), Type::Secret)];
        std::fs::write(&path, "s=hunter2\n").expect("write");
        let values = read(&path, &secret, &red).expect("a secret output may hold it");
        assert_eq!(values.get("s"), Some(&Value::Secret("hunter2".to_string())));
        let mut found = Vec::new();
        secrets_in(&values["s"], &mut found);
        assert_eq!(found, ["hunter2"]);

        // Scrubbing redacts the file in place and makes it private.
        scrub(&path, &red);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "s=***\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
