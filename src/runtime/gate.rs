//! Approval gates: what was decided at an `approve` step, by whom, with what comment and
//! when ([`GateDecision`]), and how the decision is reached ([`decide`]): a decision
//! recorded earlier (`flowc approve` / `flowc reject`, or a driver before this one), a
//! pre-approval (`--approve STEP`, `--approve-all`), the gate's deadline (its `timeout`,
//! counted from the first time it waited and kept in the journal, so a resume after it
//! takes the timeout path), or a person at the terminal, asked for as long as the
//! deadline allows. Without any of them the gate waits.

use std::time::Duration;

/// What was decided at a gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The step succeeds.
    Approved,
    /// The step fails (`flowc reject`, `n` at the terminal).
    Refused,
    /// Nobody decided before the gate's deadline: the step fails with `timed_out` true.
    TimedOut,
}

impl Decision {
    /// The decision as the language spells it (`gate.decision == "timed_out"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Refused => "refused",
            Decision::TimedOut => "timed_out",
        }
    }

    /// The decision spelt `text`, as [`Decision::as_str`] gives it.
    pub fn parse(text: &str) -> Option<Decision> {
        [Decision::Approved, Decision::Refused, Decision::TimedOut]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// A decision at a gate with its facts, as the journal keeps it and the step's result
/// shows it (`decision`, `approver`, `comment`, `decided_at`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateDecision {
    /// What was decided.
    pub decision: Decision,
    /// Who decided: a login name, or the name given with `--as`; empty for a timeout.
    pub by: String,
    /// What they said (may be empty).
    pub comment: String,
    /// When, in Unix milliseconds (for a timeout, the deadline).
    pub at_ms: u64,
}

/// The login name of the user running flowc: `$USER`, else `$LOGNAME`, else the name of
/// the real user id in the password database. `None` when none of them gives one.
pub fn login_name() -> Option<String> {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|n| n.trim().to_string())
        .find(|n| !n.is_empty())
        .or_else(|| {
            let uid = nix::unistd::getuid();
            nix::unistd::User::from_uid(uid)
                .ok()
                .flatten()
                .map(|u| u.name)
        })
}

/// A Unix time in milliseconds as RFC 3339 (UTC, whole seconds), as `now()` gives times.
pub fn time_text(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// How a person was asked at the terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `y` or `yes`.
    Yes,
    /// Anything else, or end of input.
    No,
    /// No answer before the deadline.
    Late,
}

/// What [`decide`] knows about one gate instance.
#[derive(Debug)]
pub struct Gate<'a> {
    /// A decision recorded earlier for it.
    pub recorded: Option<&'a GateDecision>,
    /// The flag that pre-approves it (`--approve-all`, `--approve gate`), if one does.
    pub pre_approved: Option<String>,
    /// Its deadline from the journal: it waited before, in an earlier driver of the run.
    pub kept_deadline: Option<u64>,
    /// Its `timeout`, for a gate that has not waited before.
    pub timeout: Option<Duration>,
    /// Unix milliseconds now.
    pub now_ms: u64,
}

/// What [`decide`] came to before anyone is asked.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Decided: `fresh` when the decision is new (the journal gets it).
    Decided {
        /// The decision.
        decision: GateDecision,
        /// Not recorded before.
        fresh: bool,
    },
    /// Someone has to decide, by `deadline` (Unix ms) if it has one; `opened` when the
    /// deadline is new (the journal gets it).
    Ask {
        /// The deadline, if the gate has a `timeout`.
        deadline: Option<u64>,
        /// The deadline was set just now.
        opened: bool,
    },
}

/// Decides a gate from what is known without asking anyone: a recorded decision first,
/// then a pre-approval, then a deadline that has passed; otherwise someone must be asked
/// (by the deadline, which is set now from the `timeout` the first time the gate waits).
pub fn decide(gate: &Gate<'_>, login: impl FnOnce() -> String) -> Step {
    if let Some(d) = gate.recorded {
        return Step::Decided {
            decision: d.clone(),
            fresh: false,
        };
    }
    if let Some(flag) = &gate.pre_approved {
        return Step::Decided {
            decision: GateDecision {
                decision: Decision::Approved,
                by: login(),
                comment: format!("pre-approved with {flag}"),
                at_ms: gate.now_ms,
            },
            fresh: true,
        };
    }
    match gate.kept_deadline {
        Some(deadline) if deadline <= gate.now_ms => Step::Decided {
            decision: timed_out(deadline),
            fresh: true,
        },
        Some(deadline) => Step::Ask {
            deadline: Some(deadline),
            opened: false,
        },
        None => Step::Ask {
            deadline: gate
                .timeout
                .map(|t| gate.now_ms.saturating_add(t.as_millis() as u64)),
            opened: gate.timeout.is_some(),
        },
    }
}

/// The decision of a gate whose deadline passed with nobody deciding.
pub fn timed_out(deadline: u64) -> GateDecision {
    GateDecision {
        decision: Decision::TimedOut,
        by: String::new(),
        comment: String::new(),
        at_ms: deadline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(now_ms: u64) -> Gate<'static> {
        Gate {
            recorded: None,
            pre_approved: None,
            kept_deadline: None,
            timeout: None,
            now_ms,
        }
    }

    #[test]
    fn a_recorded_decision_comes_first_even_after_the_deadline() {
        let recorded = GateDecision {
            decision: Decision::Refused,
            by: "ana".to_string(),
            comment: "not today".to_string(),
            at_ms: 5,
        };
        let g = Gate {
            recorded: Some(&recorded),
            kept_deadline: Some(10),
            ..gate(100)
        };
        assert_eq!(
            decide(&g, String::new),
            Step::Decided {
                decision: recorded.clone(),
                fresh: false
            }
        );
    }

    #[test]
    fn a_deadline_is_set_once_and_kept_then_it_times_out() {
        let first = Gate {
            timeout: Some(Duration::from_secs(2)),
            ..gate(1_000)
        };
        assert_eq!(
            decide(&first, String::new),
            Step::Ask {
                deadline: Some(3_000),
                opened: true
            }
        );
        // A later driver, before the deadline: the same deadline, not a new one.
        let before = Gate {
            kept_deadline: Some(3_000),
            timeout: Some(Duration::from_secs(2)),
            ..gate(2_999)
        };
        assert_eq!(
            decide(&before, String::new),
            Step::Ask {
                deadline: Some(3_000),
                opened: false
            }
        );
        let after = Gate {
            kept_deadline: Some(3_000),
            ..gate(3_000)
        };
        assert_eq!(
            decide(&after, String::new),
            Step::Decided {
                decision: timed_out(3_000),
                fresh: true
            }
        );
    }

    #[test]
    fn a_pre_approval_names_the_flag_and_the_user() {
        let g = Gate {
            pre_approved: Some("--approve-all".to_string()),
            ..gate(7)
        };
        let Step::Decided { decision, fresh } = decide(&g, || "ci".to_string()) else {
            panic!("pre-approved")
        };
        assert!(fresh);
        assert_eq!(decision.decision, Decision::Approved);
        assert_eq!(decision.by, "ci");
        assert_eq!(decision.comment, "pre-approved with --approve-all");
    }

    #[test]
    fn decisions_are_spelt_as_the_language_reads_them() {
        for d in [Decision::Approved, Decision::Refused, Decision::TimedOut] {
            assert_eq!(Decision::parse(d.as_str()), Some(d));
        }
        assert_eq!(Decision::parse("timeout"), None);
        assert_eq!(time_text(0), "1970-01-01T00:00:00Z");
    }
}
