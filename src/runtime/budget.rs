//! Failure budgets (`max_failures N`): the run's, in a workflow's body, and a fan-out
//! step's own. A budget counts the steps and instances that failed (after their retries),
//! each once however often it fails (a retry, or the same instance failing again in a
//! resumed run), and is spent once `N` have: then no new step (or instance) starts.
//! Resumed runs start from the failures their journal recorded.

use std::collections::BTreeSet;
use std::sync::Mutex;

/// What a budget has counted, and its limit.
#[derive(Debug, Default)]
pub struct Budget {
    /// `max_failures`; `None` for no budget (nothing is ever spent).
    limit: Option<u64>,
    /// The steps and instances (`build`, `test[3]`) that failed.
    failed: Mutex<BTreeSet<String>>,
}

impl Budget {
    /// A budget of `limit` failures, of which those in `already` (instance names) were
    /// recorded before.
    pub fn new(limit: Option<u64>, already: impl IntoIterator<Item = String>) -> Budget {
        Budget {
            limit,
            failed: Mutex::new(already.into_iter().collect()),
        }
    }

    /// Counts the failure of `label`; true when this failure spends the budget.
    pub fn fail(&self, label: &str) -> bool {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        let before = self.is_spent(failed.len());
        failed.insert(label.to_string());
        !before && self.is_spent(failed.len())
    }

    /// Whether `max_failures` steps or instances have failed.
    pub fn spent(&self) -> bool {
        let failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        self.is_spent(failed.len())
    }

    /// How many have failed.
    pub fn count(&self) -> usize {
        self.failed.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Its limit.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    fn is_spent(&self, failed: usize) -> bool {
        self.limit.is_some_and(|n| failed as u64 >= n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_spent_by_its_nth_distinct_failure() {
        let budget = Budget::new(Some(2), []);
        assert!(!budget.spent());
        assert!(!budget.fail("a"));
        // The same step failing again (a resumed run) counts once.
        assert!(!budget.fail("a"));
        assert!(!budget.spent());
        assert!(budget.fail("b[3]"));
        assert!(budget.spent());
        // Spent once: later failures do not spend it again.
        assert!(!budget.fail("c"));
        assert_eq!(budget.count(), 3);
    }

    #[test]
    fn recorded_failures_count_and_no_limit_is_never_spent() {
        let budget = Budget::new(Some(2), ["a".to_string(), "b".to_string()]);
        assert!(budget.spent());
        let unlimited = Budget::new(None, []);
        assert!(!unlimited.fail("a"));
        assert!(!unlimited.spent());
    }
}
