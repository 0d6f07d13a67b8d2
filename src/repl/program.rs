//! The session's program as definitions, and the file they are assembled into: each
//! definition is a named slice of the text it was typed in or loaded from; [`Program`]
//! keeps them in order (module items, then the session's workflow: parameters and body)
//! and replaces one by name; [`Assembled`] is the file built from them for the checker,
//! with a map back to each slice, so that a diagnostic in it can be [`Moved`] into the text
//! the user wrote.

use std::path::PathBuf;

use miette::LabeledSpan;

use crate::parse::outline::{Decl, DeclKind};

/// The name of the probe binding added to the assembled file (never shown).
pub(super) const PROBE: &str = "__repl_probe";

/// The name of the session's own workflow when no file is loaded.
pub(super) const DEFAULT_WORKFLOW: &str = "repl";

/// A text that definitions come from: one input, or a loaded file.
#[derive(Debug)]
pub(super) struct Origin {
    /// The name diagnostics show: `<repl:3>` for the third input, or the file's name.
    pub(super) name: String,
    /// A loaded file's path.
    pub(super) path: Option<PathBuf>,
    /// The whole text.
    pub(super) text: String,
}

/// What a definition is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Import,
    Task,
    Const,
    Workflow,
    Param,
    Let,
    Secret,
    Step,
    Defaults,
    Outputs,
    Concurrency,
    Policy,
    /// A run setting of the workflow's body (`timeout`, `max_failures`), named by its
    /// keyword.
    Setting,
}

impl Kind {
    pub(super) fn word(self) -> &'static str {
        match self {
            Kind::Import => "import",
            Kind::Task => "task",
            Kind::Const => "constant",
            Kind::Workflow => "workflow",
            Kind::Param => "parameter",
            Kind::Let => "let",
            Kind::Secret => "secret",
            Kind::Step => "step",
            Kind::Defaults => "defaults",
            Kind::Outputs => "outputs",
            Kind::Concurrency => "concurrency",
            Kind::Policy => "policy",
            Kind::Setting => "setting",
        }
    }

    /// Module items, as opposed to parts of the session's workflow.
    pub(super) fn is_item(self) -> bool {
        matches!(
            self,
            Kind::Import | Kind::Task | Kind::Const | Kind::Workflow | Kind::Policy
        )
    }
}

/// One definition: a named slice of an origin's text.
#[derive(Clone, Debug)]
pub(super) struct Def {
    /// The name it defines (`defaults` for a defaults block).
    pub(super) name: String,
    /// What it is.
    pub(super) kind: Kind,
    /// The origin its text is in (index into the session's origins).
    pub(super) origin: usize,
    /// Its text: bytes `start..end` of the origin, doc comments included.
    pub(super) start: usize,
    /// See `start`.
    pub(super) end: usize,
}

/// The program built so far.
#[derive(Clone, Debug)]
pub(super) struct Program {
    /// Imports, tasks, constants and other workflows, in order.
    pub(super) items: Vec<Def>,
    /// The session's workflow: its name, doc lines, parameters and body.
    pub(super) workflow: String,
    pub(super) docs: Vec<String>,
    pub(super) params: Vec<Def>,
    pub(super) body: Vec<Def>,
}

impl Default for Program {
    fn default() -> Program {
        Program {
            items: Vec::new(),
            workflow: DEFAULT_WORKFLOW.to_string(),
            docs: Vec::new(),
            params: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// A stretch of the assembled file copied from an origin.
#[derive(Debug)]
pub(super) struct Segment {
    /// Where it starts in the assembled text.
    pub(super) start: usize,
    /// Where it ends there.
    pub(super) end: usize,
    /// The origin it was copied from.
    pub(super) origin: usize,
    /// Where it starts in the origin.
    pub(super) origin_start: usize,
}

/// The assembled file and where its pieces came from.
#[derive(Debug, Default)]
pub(super) struct Assembled {
    pub(super) text: String,
    pub(super) segments: Vec<Segment>,
}

impl Assembled {
    pub(super) fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    pub(super) fn copy(&mut self, origins: &[Origin], origin: usize, start: usize, end: usize) {
        let from = self.text.len();
        self.text.push_str(&origins[origin].text[start..end]);
        self.segments.push(Segment {
            start: from,
            end: self.text.len(),
            origin,
            origin_start: start,
        });
    }

    /// The segment holding `offset`, else the last one starting before it (for spans in
    /// the glue text, such as an unexpected end of input).
    /// Segments are in text order, so this is a binary search (a file with 20,000 errors
    /// looks up 20,000 offsets).
    pub(super) fn segment(&self, offset: usize) -> Option<&Segment> {
        let after = self.segments.partition_point(|s| s.start <= offset);
        // Of two adjacent segments that both hold `offset` (one ends where the next
        // starts), the earlier one.
        let holding = (after.saturating_sub(2)..after)
            .map(|i| &self.segments[i])
            .find(|s| offset <= s.end);
        holding
            .or_else(|| after.checked_sub(1).map(|i| &self.segments[i]))
            .or(self.segments.first())
    }
}

/// How an input is wrapped to be parsed as definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wrap {
    /// Module items, as they stand in a file.
    File,
    /// Workflow items (`let`, `secret`, `step`, `defaults`, `concurrency`), inside a
    /// workflow.
    Body,
    /// `param name: type = default`, as a workflow's parameters.
    Param,
}

impl Program {
    /// Adds a definition, replacing one of the same name; true when one was replaced.
    pub(super) fn install(&mut self, def: Def) -> bool {
        if def.kind.is_item() {
            if let Some(old) = self.items.iter_mut().find(|d| d.name == def.name) {
                *old = def;
                return true;
            }
            self.items.push(def);
            return false;
        }
        // A `let` over a module constant of the same name stays a module constant.
        if def.kind == Kind::Let
            && !self
                .params
                .iter()
                .chain(&self.body)
                .any(|d| d.name == def.name)
        {
            if let Some(old) = self
                .items
                .iter_mut()
                .find(|d| d.kind == Kind::Const && d.name == def.name)
            {
                *old = Def {
                    kind: Kind::Const,
                    ..def
                };
                return true;
            }
        }
        // A setting is named by its keyword, which may also name a binding or a step.
        let same = |d: &Def| {
            d.name == def.name && (d.kind == Kind::Setting) == (def.kind == Kind::Setting)
        };
        let in_params = self.params.iter().position(same);
        let in_body = self.body.iter().position(same);
        let replaced = in_params.is_some() || in_body.is_some();
        match (def.kind == Kind::Param, in_params, in_body) {
            (true, Some(i), _) => self.params[i] = def,
            (false, _, Some(i)) => self.body[i] = def,
            (true, _, other) => {
                if let Some(i) = other {
                    self.body.remove(i);
                }
                self.params.push(def);
            }
            (false, other, _) => {
                if let Some(i) = other {
                    self.params.remove(i);
                }
                self.body.push(def);
            }
        }
        replaced
    }
}

/// The definition of one declaration of the outline of what was typed.
pub(super) fn decl_def(decl: &Decl, def: &dyn Fn(&str, Kind, crate::source::Span) -> Def) -> Def {
    let kind = match decl.kind {
        DeclKind::Import => Kind::Import,
        DeclKind::Task => Kind::Task,
        DeclKind::Const => Kind::Const,
        DeclKind::Workflow => Kind::Workflow,
        DeclKind::Policy => Kind::Policy,
        DeclKind::Param => Kind::Param,
        DeclKind::Defaults => Kind::Defaults,
        DeclKind::Outputs => Kind::Outputs,
        DeclKind::Concurrency => Kind::Concurrency,
        DeclKind::Let => Kind::Let,
        DeclKind::Secret => Kind::Secret,
        DeclKind::Step => Kind::Step,
        DeclKind::Setting => Kind::Setting,
    };
    def(&decl.name, kind, decl.span)
}

/// A diagnostic moved from the assembled file into the text it came from.
#[derive(Debug)]
pub(super) struct Moved {
    pub(super) message: String,
    pub(super) code: String,
    pub(super) help: Option<String>,
    pub(super) labels: Vec<LabeledSpan>,
    pub(super) severity: miette::Severity,
}

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Moved {}

impl miette::Diagnostic for Moved {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
}
