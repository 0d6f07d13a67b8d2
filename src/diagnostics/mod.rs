//! Diagnostics: the errors and warnings every phase returns as data, the registry of stable
//! codes with their explanations, and the renderers that give them words (human, JSON,
//! GitHub annotations).

mod codes;
mod render;

pub use codes::{explain, CODES};
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

/// Finds the closest of `candidates` to `name`, for "did you mean" help.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == name || c.is_empty() {
            continue;
        }
        let score = strsim::jaro_winkler(name, c);
        let close = strsim::damerau_levenshtein(name, c) <= (name.len().max(3) / 3).max(1);
        if (score >= 0.85 || close) && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}
