//! The instances of a fan-out step: enumerating them (one list, a matrix of several, or
//! the instances of another step), naming them (`test[1,0]`), and feeding them as they end
//! to the steps that go with them one by one (`for w in worker`: `qc[1]` starts when
//! `worker[1]` has ended, not when all of `worker` has).
//!
//! An instance's index has one entry per axis of its step ([`crate::typed::FanOut`]);
//! instances are in row-major order, which is the lexicographic order of their indices, so
//! the instances whose index starts with a given prefix are one run of them.

use std::collections::BTreeMap;
use std::ops::Range;

use tokio::sync::watch;

use super::eval::Value;
use super::run::Status;

/// One instance of a step about to run: its index, and the loop variables bound for it.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// One entry per axis (empty for a step that does not fan out).
    pub at: Vec<usize>,
    /// The loop variables and their values.
    pub locals: Vec<(String, Value)>,
}

/// The name of an instance: `build` for a step that does not fan out, `test[2]` for a
/// fan-out, `test[1,0]` for a matrix (the position in each list, in the order of the `for`
/// clauses). Positions rather than values: values may repeat, be long, or hold spaces,
/// commas and brackets, and the name has to be typed on a command line.
pub fn label(step: &str, at: &[usize], fan_out: bool) -> String {
    if !fan_out {
        return step.to_string();
    }
    let at: Vec<String> = at.iter().map(usize::to_string).collect();
    format!("{step}[{}]", at.join(","))
}

/// The hidden field of an instance's record that holds its index.
pub const AT: &str = "#at";
/// The hidden field of a skipped instance's record that says it was skipped because of a
/// failure (rather than by a condition).
pub const CAUSE: &str = "#cause";

/// An index as a value, for [`AT`].
pub fn at_value(at: &[usize]) -> Value {
    Value::List(at.iter().map(|&k| Value::Int(k as i64)).collect())
}

/// The index kept in an instance's record (position `k` of a one-list fan-out, for a
/// record kept before indices were).
pub fn at_of(record: &Value, k: usize) -> Vec<usize> {
    match record {
        Value::Record(fields) => match fields.get(AT) {
            Some(Value::List(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Int(i) => usize::try_from(*i).unwrap_or(0),
                    _ => 0,
                })
                .collect(),
            _ => vec![k],
        },
        _ => vec![k],
    }
}

/// The instances of a fed step and their records as they end.
#[derive(Debug)]
pub struct Feed {
    /// Each instance's index, in order.
    pub at: Vec<Vec<usize>>,
    /// Each instance's record once it has ended.
    done: watch::Sender<Vec<Option<Value>>>,
}

impl Feed {
    /// The feed of a step starting with instances at these indices.
    pub fn new(at: Vec<Vec<usize>>) -> Feed {
        let (done, _) = watch::channel(vec![None; at.len()]);
        Feed { at, done }
    }

    /// Instance `k` ended with this record.
    pub fn publish(&self, k: usize, record: Value) {
        self.done.send_modify(|done| {
            if let Some(slot) = done.get_mut(k) {
                *slot = Some(record);
            }
        });
    }

    /// The positions of the instances whose index starts with `prefix`.
    pub fn range(&self, prefix: &[usize]) -> Range<usize> {
        let start = self.at.partition_point(|a| a.as_slice() < prefix);
        let end = self
            .at
            .partition_point(|a| a.as_slice() < prefix || a.starts_with(prefix));
        start..end.max(start)
    }

    /// Whether the instance at `prefix` is one instance, not several sharing it.
    pub fn exact(&self, range: &Range<usize>, prefix: &[usize]) -> bool {
        range.len() == 1
            && self
                .at
                .get(range.start)
                .is_some_and(|a| a.len() == prefix.len())
    }

    /// The records of the instances in `range`, once all of them have ended.
    pub async fn wait(&self, range: Range<usize>) -> Vec<Value> {
        let mut rx = self.done.subscribe();
        let ended = rx
            .wait_for(|done| {
                done.get(range.clone())
                    .is_some_and(|d| d.iter().all(Option::is_some))
            })
            .await;
        match ended {
            Ok(done) => done
                .get(range)
                .map(|d| d.iter().flatten().cloned().collect())
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }
}

/// The status in a record.
pub fn status_of(record: &Value) -> &str {
    match record {
        Value::Record(fields) => match fields.get("status") {
            Some(Value::Str(s)) => s.as_str(),
            _ => "",
        },
        _ => "",
    }
}

/// The result of several instances of one step (those of one run of a workflow called
/// with `for`), as a fan-out step's: `status` for all of them, every other field a list
/// with one element per instance; declared outputs only when every one succeeded.
pub fn slice_record(records: &[Value], outputs: &[String]) -> Value {
    let statuses: Vec<&str> = records.iter().map(status_of).collect();
    let status = if statuses.contains(&Status::Failed.as_str()) {
        Status::Failed
    } else if statuses.contains(&Status::Waiting.as_str()) {
        Status::Waiting
    } else if statuses.contains(&Status::Cancelled.as_str()) {
        Status::Cancelled
    } else {
        Status::Succeeded
    };
    let field = |name: &str| -> Value {
        Value::List(
            records
                .iter()
                .map(|r| match r {
                    Value::Record(f) => f.get(name).cloned().unwrap_or(Value::Int(-1)),
                    _ => Value::Int(-1),
                })
                .collect(),
        )
    };
    let mut fields = BTreeMap::new();
    fields.insert(
        "status".to_string(),
        Value::Str(status.as_str().to_string()),
    );
    for name in ["exit_code", "stdout", "attempts", "duration"] {
        fields.insert(name.to_string(), field(name));
    }
    if statuses.iter().all(|s| *s == Status::Succeeded.as_str()) {
        for name in outputs {
            fields.insert(name.clone(), field(name));
        }
    }
    Value::Record(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_the_position_in_each_list() {
        assert_eq!(label("build", &[], false), "build");
        assert_eq!(label("test", &[2], true), "test[2]");
        assert_eq!(label("test", &[1, 0], true), "test[1,0]");
    }

    #[test]
    fn the_instances_sharing_a_prefix_are_one_run() {
        let feed = Feed::new(vec![
            vec![0, 0],
            vec![0, 1],
            vec![1, 0],
            vec![2, 0],
            vec![2, 1],
        ]);
        assert_eq!(feed.range(&[0]), 0..2);
        assert_eq!(feed.range(&[1]), 2..3);
        assert_eq!(feed.range(&[2]), 3..5);
        assert_eq!(feed.range(&[3]), 5..5);
        assert_eq!(feed.range(&[2, 1]), 4..5);
        assert!(feed.exact(&feed.range(&[2, 1]), &[2, 1]));
        // One instance in the run of `1`, but it is `[1,0]`, not `[1]`.
        assert!(!feed.exact(&feed.range(&[1]), &[1]));
    }

    #[test]
    fn a_slice_has_lists_and_outputs_only_when_every_instance_succeeded() {
        let rec = |status: &str, out: Option<&str>| {
            let mut f = BTreeMap::new();
            f.insert("status".to_string(), Value::Str(status.to_string()));
            f.insert("exit_code".to_string(), Value::Int(0));
            if let Some(o) = out {
                f.insert("digest".to_string(), Value::Str(o.to_string()));
            }
            Value::Record(f)
        };
        let outputs = vec!["digest".to_string()];
        let all = slice_record(
            &[rec("succeeded", Some("a")), rec("succeeded", Some("b"))],
            &outputs,
        );
        let Value::Record(f) = &all else {
            panic!("a record")
        };
        assert_eq!(f.get("status"), Some(&Value::Str("succeeded".to_string())));
        assert_eq!(
            f.get("digest"),
            Some(&Value::List(vec![
                Value::Str("a".into()),
                Value::Str("b".into())
            ]))
        );
        let some = slice_record(
            &[rec("succeeded", Some("a")), rec("failed", None)],
            &outputs,
        );
        let Value::Record(f) = &some else {
            panic!("a record")
        };
        assert_eq!(f.get("status"), Some(&Value::Str("failed".to_string())));
        assert!(f.get("digest").is_none());
        let empty = slice_record(&[], &outputs);
        let Value::Record(f) = &empty else {
            panic!("a record")
        };
        assert_eq!(f.get("digest"), Some(&Value::List(Vec::new())));
    }
}
