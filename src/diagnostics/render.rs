//! Renders diagnostics: `human` (miette's graphical report, on stderr), `json` (one object
//! per line) and `github` (workflow-command annotations). The JSON and GitHub shapes are
//! stable and documented in docs/cli.md.

use std::fmt::{self, Write as _};

use miette::{
    Diagnostic as MietteDiagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan,
    MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use super::{Diagnostic, Severity};
use crate::source::{SourceFile, SourceMap};

/// The output formats of `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Annotated source excerpts for people.
    Human,
    /// One JSON object per diagnostic, one per line.
    Json,
    /// `::error file=..` annotations for GitHub Actions.
    Github,
}

/// How human output looks.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// Use ANSI colours.
    pub color: bool,
    /// Wrap at this many columns.
    pub width: usize,
}

/// Renders one diagnostic in the given format.
pub fn render(
    diag: &Diagnostic,
    sources: &SourceMap,
    format: Format,
    opts: RenderOptions,
) -> String {
    let file = sources.get(diag.source);
    match format {
        Format::Human => render_human(diag, file, opts),
        Format::Json => render_json(diag, file),
        Format::Github => render_github(diag, file),
    }
}

/// Renders an error that points into no source (a bad input, a failed step) the way
/// [`render`] heads a diagnostic: `error[E0460]: step `build` failed: exit code 3`, then
/// `  help: ...` when `help` is asked for and the error has one. `subject` (`step `build`
/// failed`) goes before the message. The one renderer of run-time errors: `flowc run`'s
/// progress and summary, `flowc status` and every input error use it.
pub fn render_error(subject: Option<&str>, e: &dyn MietteDiagnostic, help: bool) -> String {
    let code = e.code().map(|c| format!("[{c}]")).unwrap_or_default();
    let mut out = match subject {
        Some(subject) => format!("error{code}: {subject}: {e}"),
        None => format!("error{code}: {e}"),
    };
    if let (true, Some(h)) = (help, e.help()) {
        let _ = write!(out, "\n  help: {h}");
    }
    out
}

/// [`render_error`] for the failure of a step (or fan-out instance) `step`.
pub fn render_step_failure(step: &str, e: &dyn MietteDiagnostic, help: bool) -> String {
    render_error(Some(&format!("step `{step}` failed")), e, help)
}

/// miette lays labels out with format widths, which Rust caps at 65,535: a label that
/// starts (or reaches) further right than this on its line would make it panic. Such
/// lines (generated or minified text) get the plain rendering instead.
const MAX_LABEL_COLUMN: usize = 60_000;

/// Whether a label of `diag` is too far right for miette's layout.
fn too_wide(diag: &Diagnostic, file: &SourceFile) -> bool {
    let text = file.text.as_str();
    diag.inner.labels().into_iter().flatten().any(|l| {
        let Some(before) = text.get(..l.offset()) else {
            return true;
        };
        let column = l.offset() - before.rfind('\n').map_or(0, |i| i + 1);
        column + l.len() > MAX_LABEL_COLUMN
    })
}

/// The header, location and help of a diagnostic, without the source excerpt.
fn render_plain(diag: &Diagnostic, file: &SourceFile) -> String {
    let (start, _) = primary_span(diag);
    let (line, column) = file.line_col(start as u32);
    let mut out = format!(
        "{}[{}]: {}\n  --> {}:{line}:{column}\n",
        severity_name(diag.severity),
        diag.code(),
        diag.inner,
        file.name
    );
    if let Some(help) = diag.inner.help() {
        out.push_str(&format!("  help: {help}\n"));
    }
    out
}

fn render_human(diag: &Diagnostic, file: &SourceFile, opts: RenderOptions) -> String {
    if too_wide(diag, file) {
        return render_plain(diag, file);
    }
    let mut theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // rustc's header, `error[E0101]: message`, in place of miette's `×` and a code line.
    let code = diag.code();
    theme.characters.error = format!("error[{code}]:");
    theme.characters.warning = format!("warning[{code}]:");
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(opts.width)
        .with_links(false)
        .with_context_lines(1);
    let with_source = WithSource {
        diag: diag.inner.as_ref(),
        file,
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &with_source).is_err() {
        out = format!("{}: {}\n", diag.code(), diag.inner);
    }
    out
}

#[derive(Serialize)]
struct Position {
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct JsonLabel {
    line: usize,
    column: usize,
    end: Position,
    message: Option<String>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end: Position,
    code: String,
    severity: &'static str,
    message: String,
    help: Option<String>,
    labels: Vec<JsonLabel>,
}

fn primary_span(diag: &Diagnostic) -> (usize, usize) {
    let labels: Vec<LabeledSpan> = diag.inner.labels().map(|l| l.collect()).unwrap_or_default();
    let primary = labels.iter().find(|l| l.primary()).or(labels.first());
    primary.map_or((0, 0), |l| (l.offset(), l.offset() + l.len()))
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn render_json(diag: &Diagnostic, file: &SourceFile) -> String {
    let (start, end) = primary_span(diag);
    let (line, column) = file.line_col(start as u32);
    let (end_line, end_column) = file.line_col(end as u32);
    let labels = diag
        .inner
        .labels()
        .map(|ls| {
            ls.map(|l| {
                let (line, column) = file.line_col(l.offset() as u32);
                let (el, ec) = file.line_col((l.offset() + l.len()) as u32);
                JsonLabel {
                    line,
                    column,
                    end: Position {
                        line: el,
                        column: ec,
                    },
                    message: l.label().map(str::to_string),
                }
            })
            .collect()
        })
        .unwrap_or_default();
    let obj = JsonDiagnostic {
        file: &file.name,
        line,
        column,
        end: Position {
            line: end_line,
            column: end_column,
        },
        code: diag.code(),
        severity: severity_name(diag.severity),
        message: diag.inner.to_string(),
        help: diag.inner.help().map(|h| h.to_string()),
        labels,
    };
    let mut s = serde_json::to_string(&obj).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

/// Escapes the message part of a workflow command.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn render_github(diag: &Diagnostic, file: &SourceFile) -> String {
    let (start, end) = primary_span(diag);
    let (line, col) = file.line_col(start as u32);
    let (end_line, end_col) = file.line_col(end as u32);
    let level = match diag.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut message = diag.inner.to_string();
    if let Some(help) = diag.inner.help() {
        let _ = write!(message, "\nhelp: {help}");
    }
    format!(
        "::{level} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
        escape_property(&file.name),
        escape_property(&format!("{} {}", diag.code(), diag.inner)),
        escape_data(&message)
    )
}

/// A diagnostic paired with its file, so miette can show the source.
struct WithSource<'a> {
    diag: &'a (dyn MietteDiagnostic + Send + Sync),
    file: &'a SourceFile,
}

impl fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.diag, f)
    }
}

impl fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.diag, f)
    }
}

impl std::error::Error for WithSource<'_> {}

impl MietteDiagnostic for WithSource<'_> {
    // The code is shown in the header by the theme (see `render_human`).
    fn severity(&self) -> Option<miette::Severity> {
        self.diag.severity()
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diag.help()
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.file)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.diag.labels()
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn MietteDiagnostic> + 'b>> {
        self.diag.related()
    }
}

/// miette's own `SourceCode` for text scans from the start of the file to the span, so
/// rendering N diagnostics of one file took time N x its length. This scans only from a few
/// lines above the span: the window starts at the beginning of the line
/// `context_lines_before` lines above the span's line (found by walking back from the
/// span), and miette's answer for that window is moved back to file offsets and lines.
impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text = self.text.as_bytes();
        if span.offset() > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        // Walk back over `context_lines_before + 1` line breaks, stopping at a `\n` so a
        // `\r\n` pair is never split.
        let mut base = span.offset();
        let mut breaks = 0;
        while base > 0 {
            if text[base - 1] == b'\n' {
                if breaks == context_lines_before {
                    break;
                }
                breaks += 1;
            }
            base -= 1;
        }
        let window = &self.text[base..];
        let local = SourceSpan::new(span.offset().saturating_sub(base).into(), span.len());
        let contents = window.read_span(&local, context_lines_before, context_lines_after)?;
        let base_line = self.line_col(base as u32).0 - 1;
        let found = contents.span();
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            SourceSpan::new((found.offset() + base).into(), found.len()),
            contents.line() + base_line,
            contents.column(),
            contents.line_count() + base_line,
        )))
    }
}
