//! Diagnostics: the errors and warnings every phase returns as data, the registry of stable
//! codes with their explanations, and the renderers that give them words (human, JSON,
//! GitHub annotations).

mod codes;
mod render;

pub use codes::{explain, CODES, RETIRED};
pub use render::{render, render_error, render_step_failure, Format, RenderOptions};

use crate::source::SourceId;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The program is wrong; nothing runs.
    Error,
    /// Probably a mistake; the program still runs.
    Warning,
}

/// One diagnostic: a phase's error value and the file it points into.
#[derive(Debug)]
pub struct Diagnostic {
    /// The file its spans point into.
    pub source: SourceId,
    /// Error or warning.
    pub severity: Severity,
    /// The phase's error value: message, code, labels, help.
    pub inner: Box<dyn miette::Diagnostic + Send + Sync + 'static>,
}

impl Diagnostic {
    /// The stable code, such as `E0101`.
    pub fn code(&self) -> String {
        self.inner.code().map(|c| c.to_string()).unwrap_or_default()
    }

    /// The first labelled span's start, for ordering.
    pub fn offset(&self) -> usize {
        self.inner
            .labels()
            .and_then(|mut l| l.next())
            .map_or(0, |l| l.offset())
    }
}

/// The diagnostics of one compilation, in the order they were found.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Records an error.
    pub fn error(
        &mut self,
        source: SourceId,
        err: impl miette::Diagnostic + Send + Sync + 'static,
    ) {
        self.items.push(Diagnostic {
            source,
            severity: Severity::Error,
            inner: Box::new(err),
        });
    }

    /// Records a warning.
    pub fn warning(
        &mut self,
        source: SourceId,
        err: impl miette::Diagnostic + Send + Sync + 'static,
    ) {
        self.items.push(Diagnostic {
            source,
            severity: Severity::Warning,
            inner: Box::new(err),
        });
    }

    /// Records a diagnostic made elsewhere.
    pub fn push(&mut self, diag: Diagnostic) {
        self.items.push(diag);
    }

    /// Moves all of `other` into `self`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when at least one is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Counts (errors, warnings).
    pub fn counts(&self) -> (usize, usize) {
        let errors = self
            .items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        (errors, self.items.len() - errors)
    }

    /// Orders them by file and position, keeping the found order for ties.
    pub fn sort(&mut self) {
        self.items.sort_by_key(|d| (d.source, d.offset()));
    }

    /// Iterates over them.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// Names longer than this (in characters) get no "did you mean": no one misspells a
/// 65-character name by a letter or two, and comparing long strings costs their product.
pub const MAX_SUGGESTED_NAME: usize = 64;

/// The comparison work (pairs of characters compared) "did you mean" may do on one thread
/// between two [`refill_suggestions`]: a file with 4,000 unknown step names among 4,000
/// steps would otherwise compare every name with every step. Some hundredths of a second;
/// once it is spent, diagnostics come without the suggestion.
pub const SUGGESTION_BUDGET: u64 = 20_000_000;

thread_local! {
    static SUGGESTION_WORK_LEFT: std::cell::Cell<u64> =
        const { std::cell::Cell::new(SUGGESTION_BUDGET) };
}

/// Gives this thread a full [`SUGGESTION_BUDGET`] again; [`crate::compile`] calls it first,
/// so each compilation gets its own.
pub fn refill_suggestions() {
    SUGGESTION_WORK_LEFT.with(|left| left.set(SUGGESTION_BUDGET));
}

/// Finds the closest of `candidates` to `name`, for "did you mean" help.
///
/// A candidate is close when its Jaro-Winkler similarity is at least 0.85 or its
/// Damerau-Levenshtein distance at most a third of `name`'s length. The work is bounded:
/// a name or candidate longer than [`MAX_SUGGESTED_NAME`] is not compared, a candidate
/// whose length alone rules out both tests is skipped before any comparison, and the
/// comparisons of one thread share a [`SUGGESTION_BUDGET`] (none is made once it is spent).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let len = name.chars().count();
    if len > MAX_SUGGESTED_NAME {
        return None;
    }
    let max_distance = (name.len().max(3) / 3).max(1);
    let mut left = SUGGESTION_WORK_LEFT.with(|l| l.get());
    if left == 0 {
        return None;
    }
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == name || c.is_empty() || c.len() > 4 * MAX_SUGGESTED_NAME {
            continue;
        }
        let c_len = c.chars().count();
        if c_len > MAX_SUGGESTED_NAME {
            continue;
        }
        let may_be_close = c_len.abs_diff(len) <= max_distance;
        if !may_be_close && jaro_winkler_bound(len, c_len) < 0.85 {
            continue;
        }
        let cost = ((len + 1) * (c_len + 1)) as u64;
        if cost > left {
            left = 0;
            break;
        }
        left -= cost;
        let score = strsim::jaro_winkler(name, c);
        let close = may_be_close && strsim::damerau_levenshtein(name, c) <= max_distance;
        if (score >= 0.85 || close) && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    SUGGESTION_WORK_LEFT.with(|l| l.set(left));
    best.map(|(_, c)| c.to_string())
}

/// The highest Jaro-Winkler similarity two strings of these lengths (in characters) can
/// have: every character of the shorter one matched, no transpositions, and the full
/// prefix bonus (4 characters at 0.1).
fn jaro_winkler_bound(a: usize, b: usize) -> f64 {
    let (short, long) = (a.min(b) as f64, a.max(b) as f64);
    if short == 0.0 {
        return 0.0;
    }
    let jaro = (1.0 + short / long + 1.0) / 3.0;
    jaro + 0.4 * (1.0 - jaro)
}
