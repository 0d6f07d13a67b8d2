//! Reading a file: every top-level item and every workflow body item that parses, one
//! error for each that does not, and the names those declare (so that later phases can
//! tell their own errors from follow-ons).
//!
//! Items are read in chunks from the grammar's reading entry points: `items_chunk` reads
//! up to 64 items that parse from a position (stopping at a workflow, or at the first item
//! that does not parse), and a workflow is read as its header (`workflow_head`) and then
//! its body, up to 64 body items at a time (`body_chunk`). Each chunk is built into the
//! tree before the next is parsed, so pest never holds more than one chunk's tokens.
//!
//! pest cannot resume after a failure, so after a syntax error reading starts again from
//! those entry points: `item_only` (or `body_item_only`) reads the item that does not parse
//! alone, for its error (the position pest reached, so the message is the one a whole-file
//! parse gives), and reading resumes at the next line that starts an item (see
//! [`resume_point`]), so an error in one step loses that step only.

use pest::Parser as _;

use super::build::{with_offset, Builder};
use super::error::{end_of_text, from_pest, skip_trivia, unclosed_brace};
use super::{FlowParser, Rule, SyntaxError};
use crate::ast::{Item, Workflow};
use crate::source::Span;

/// One recovering read of a file.
pub struct Reader<'t> {
    text: &'t str,
    builder: &'t Builder,
    /// The syntax errors, one per item or body item that does not parse.
    pub errors: Vec<SyntaxError>,
    /// The names declared by the items and body items that do not parse.
    pub broken: Vec<String>,
}

/// Where reading resumes after a body item that does not parse.
enum Resume {
    /// At the next item of the same body.
    Item(usize),
    /// After the `}` at this position, which closes the workflow.
    Close(usize),
    /// At a top-level item: the workflow was never closed.
    Outer(usize),
    /// Nowhere: the file ends first.
    End,
}

impl<'t> Reader<'t> {
    /// A reading of `text`, building with `builder`.
    pub fn new(text: &'t str, builder: &'t Builder) -> Self {
        Reader {
            text,
            builder,
            errors: Vec::new(),
            broken: Vec::new(),
        }
    }

    /// Every top-level item that parses, in order.
    pub fn items(&mut self) -> Vec<Item> {
        let text = self.text;
        let mut items = Vec::new();
        let mut pos = 0;
        loop {
            pos = self.read_items(pos, &mut items);
            if pos >= text.len() {
                return items;
            }
            if let Ok(head) = FlowParser::parse(Rule::workflow_head, &text[pos..]) {
                let (workflow, next) = self.workflow(pos, head);
                items.extend(workflow.map(Item::Workflow));
                pos = next;
                continue;
            }
            let at = self.item_error(Rule::item_only, pos, None, None);
            pos = match resume_point(text, pos, at, None) {
                Resume::Item(p) | Resume::Outer(p) => p,
                Resume::Close(_) | Resume::End => return items,
            };
        }
    }

    /// Reads the items that parse from `pos` into `items`, up to the first workflow or the
    /// first item that does not parse; returns where that starts (after trivia), or the
    /// end of the text.
    fn read_items(&mut self, pos: usize, items: &mut Vec<Item>) -> usize {
        self.read_chunks(Rule::items_chunk, pos, |builder, pair| {
            items.extend(builder.build_item(pair));
        })
    }

    /// Parses `rule` (a chunk of at most 64 items) at `pos` again and again, handing each
    /// item to `take`, until a chunk reads nothing; returns where it stopped (after
    /// trivia). Each chunk is built and dropped before the next is parsed, so the tokens
    /// of only one chunk are held at a time.
    fn read_chunks(
        &mut self,
        rule: Rule,
        mut pos: usize,
        mut take: impl FnMut(&Builder, pest::iterators::Pair<'_, Rule>),
    ) -> usize {
        let text = self.text;
        while pos < text.len() {
            let Ok(mut pairs) = FlowParser::parse(rule, &text[pos..]) else {
                return pos;
            };
            let Some(chunk) = pairs.next() else {
                return pos;
            };
            let end = pos + chunk.as_span().end();
            if end == pos {
                return pos;
            }
            with_offset(pos, || {
                for pair in chunk.into_inner() {
                    take(self.builder, pair);
                }
            });
            pos = skip_trivia(text, end);
        }
        pos
    }

    /// The workflow whose header (`head`, parsed at `start`) parses, with the body items
    /// that parse, and where reading goes on after it. `None` when the header itself has
    /// an error the builder found.
    fn workflow(
        &mut self,
        start: usize,
        mut head: pest::iterators::Pairs<'_, Rule>,
    ) -> (Option<Workflow>, usize) {
        let text = self.text;
        let Some(head) = head.next() else {
            return (None, text.len());
        };
        let mut pos = start + head.as_span().end();
        let brace = pos - 1;
        let errors_before = self.builder.error_count();
        let (mut workflow, _) = with_offset(start, || self.builder.build_workflow_decl(head));
        let header_ok = self.builder.error_count() == errors_before;
        let name = workflow.name.name.clone();
        let end = loop {
            pos = self.read_body(pos, &mut workflow);
            if pos >= text.len() {
                let open = unclosed_brace(text).unwrap_or(brace);
                self.errors.push(SyntaxError::UnclosedBrace {
                    open: Span::new(open, open + 1).into(),
                    end: end_of_text(text).into(),
                });
                break text.len();
            }
            if text.as_bytes()[pos] == b'}' {
                break pos + 1;
            }
            let indent = Some(indent_at(text, start));
            let at = self.item_error(Rule::body_item_only, pos, Some(&name), indent);
            match resume_point(text, pos, at, indent) {
                Resume::Item(p) => pos = p,
                Resume::Close(p) => break p + 1,
                // The error reported explains the missing `}`: no second one for it.
                Resume::Outer(p) => break p,
                Resume::End => break text.len(),
            }
        };
        workflow.span = Span::new(start, end);
        if !header_ok {
            self.builder.mark_broken(name);
            return (None, end);
        }
        (Some(workflow), end)
    }

    /// Reads the body items that parse from `pos` into `workflow`; returns where the first
    /// that does not starts (after trivia), or the end of the text.
    fn read_body(&mut self, pos: usize, workflow: &mut Workflow) -> usize {
        self.read_chunks(Rule::body_chunk, pos, |builder, pair| {
            workflow.body.extend(builder.build_workflow_item(pair));
        })
    }

    /// Records the error of the item (parsed by `rule`) at `pos`, in the body of `workflow`
    /// (whose line is indented by `indent`) if that is given, and the name it declares;
    /// returns where the error is.
    fn item_error(
        &mut self,
        rule: Rule,
        pos: usize,
        workflow: Option<&str>,
        indent: Option<usize>,
    ) -> usize {
        let text = self.text;
        self.broken.extend(declared_name(&text[pos..]));
        // pest reads only up to the second line that starts an item: the error is at or
        // before the first (where a `}` is missing, at it), and a pest error finds its
        // line by scanning back from the end of what it read, so reading the rest of the
        // file would make each of many errors cost the whole file.
        let after = |from: usize| match resume_point(text, from, from, indent) {
            Resume::Item(p) | Resume::Outer(p) => p,
            Resume::Close(p) => p + 1,
            Resume::End => text.len(),
        };
        let limit = after(after(pos));
        match FlowParser::parse(rule, &text[pos..limit]) {
            Err(err) => {
                let err = from_pest(err, text, pos, workflow);
                let at = error_offset(&err).unwrap_or(pos);
                self.errors.push(err);
                at
            }
            // Unreachable when the prefix stopped here; skipping the line still ends.
            Ok(_) => pos,
        }
    }
}

/// Where a syntax error points.
fn error_offset(err: &SyntaxError) -> Option<usize> {
    use miette::Diagnostic as _;
    err.labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset())
}

/// The name an item or body item declares, read from its first line: the word after its
/// keyword (`build` in `step build`, `stpe build` or `finally step build`), or an import's
/// alias.
fn declared_name(item: &str) -> Option<String> {
    let mut rest = item;
    // Doc comments before the item.
    while rest.starts_with("///") {
        let line_end = rest.find('\n')?;
        rest = rest[line_end..].trim_start();
    }
    let line = rest.lines().next()?;
    let mut words = line
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '"'))
        .filter(|w| !w.is_empty());
    let mut keyword = words.next()?;
    if keyword == "finally" {
        keyword = words.next()?;
    }
    let name = if keyword == "import" {
        words.skip_while(|w| *w != "as").nth(1)?
    } else {
        words.next()?
    };
    let starts_like_a_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_');
    starts_like_a_name.then(|| name.to_string())
}

/// Where reading resumes after the item at `start` that does not parse, whose error is at
/// `error`: the first line, starting at or after the error, whose first word starts an
/// item. `workflow`, `task` and `import` start a top-level item, and in a body `step`,
/// `finally`, `let` and `secret` start a body item, at any brace depth, as no attribute
/// or expression line starts with them (so a step whose `}` is missing loses only
/// itself); `policy`, `defaults`, `outputs`, `concurrency`, the run's `timeout` and
/// `max_failures`, a top-level `let` and a doc comment count only outside the broken
/// item's braces. In a body (`workflow_indent` is then the indentation of the workflow's
/// line), a `}` that closes more than the broken item opened closes the workflow, unless
/// it starts a line indented more deeply than the workflow's: that one closes a step whose
/// `{` is missing.
fn resume_point(text: &str, start: usize, error: usize, workflow_indent: Option<usize>) -> Resume {
    let bytes = text.as_bytes();
    let in_body = workflow_indent.is_some();
    let mut depth = 0usize;
    let mut line_start = false;
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line_start = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let first_on_line = std::mem::replace(&mut line_start, false);
        if first_on_line && i >= error && i > start {
            if let Some(resume) = starts_item(text, i, depth, in_body) {
                return resume;
            }
        }
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i += text[i..].find('\n').unwrap_or(text.len() - i);
                continue;
            }
            b'"' => {
                i = super::scan::string_end(bytes, i, bytes.len()) + 1;
                continue;
            }
            b'{' | b'(' | b'[' => depth += 1,
            b'}' if depth == 0 && in_body => {
                let nested =
                    first_on_line && workflow_indent.is_some_and(|w| indent_at(text, i) > w);
                if !nested {
                    return Resume::Close(i);
                }
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Resume::End
}

/// How far the line that `at` is on is indented, in bytes.
fn indent_at(text: &str, at: usize) -> usize {
    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    text[line_start..at]
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count()
}

/// Whether the line whose first word is at `at` starts an item (see [`resume_point`]).
fn starts_item(text: &str, at: usize, depth: usize, in_body: bool) -> Option<Resume> {
    let rest = &text[at..];
    if rest.starts_with("///") && !rest.starts_with("////") {
        return (depth == 0).then_some(Resume::Item(at));
    }
    let len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let word = &rest[..len];
    let outer = if in_body {
        Resume::Outer(at)
    } else {
        Resume::Item(at)
    };
    match word {
        "workflow" if !rest[len..].starts_with('.') => Some(outer),
        "task" | "import" => Some(outer),
        "policy" if depth == 0 => Some(outer),
        "step" | "finally" | "secret" if in_body => Some(Resume::Item(at)),
        "let" if in_body => Some(Resume::Item(at)),
        "let" if depth == 0 => Some(Resume::Item(at)),
        "defaults" | "outputs" | "concurrency" | "timeout" | "max_failures"
            if in_body && depth == 0 =>
        {
            Some(Resume::Item(at))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_names_come_from_the_first_line() {
        assert_eq!(declared_name("step build {"), Some("build".into()));
        assert_eq!(declared_name("stpe build {"), Some("build".into()));
        assert_eq!(
            declared_name("/// Docs.\n  finally step notify { x"),
            Some("notify".into())
        );
        assert_eq!(
            declared_name("import \"std/http\" as http"),
            Some("http".into())
        );
        assert_eq!(declared_name("let = 3"), None);
        assert_eq!(declared_name("}"), None);
    }

    #[test]
    fn reading_resumes_at_the_next_step_line() {
        let text = "step a {\n  retires 3\n}\nstep b { run \"x\" }\n}\n";
        let error = text.find("retires").unwrap_or(0);
        assert!(matches!(
            resume_point(text, 0, error, Some(0)),
            Resume::Item(p) if text[p..].starts_with("step b")
        ));
        // A `step` line inside braces left open resumes there too.
        let text = "step a {\n  run \"x\"\n\n  step b { run \"y\" }\n}\n";
        let error = text.find("step b").unwrap_or(0);
        assert!(matches!(
            resume_point(text, 0, error, Some(0)),
            Resume::Item(p) if text[p..].starts_with("step b")
        ));
        // The workflow's `}`.
        let text = "step a { run 1 + }\n}\nworkflow w2 {}";
        let error = text.find('}').unwrap_or(0);
        assert!(matches!(
            resume_point(text, 0, error, Some(0)),
            Resume::Close(p) if p == text.find("}\nworkflow").unwrap_or(0)
        ));
    }
}
