//! Syntax errors (E00xx) and the one bridge from pest's errors to them: pest's expected-rule
//! sets become sentences about the language, never rule names.

use miette::SourceSpan;

use super::Rule;
use crate::source::Span;

/// A problem found while reading the text of a file.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SyntaxError {
    /// The text does not fit the grammar at this point.
    #[error("{message}")]
    #[diagnostic(code(E0001))]
    Unexpected {
        /// The sentence: what was expected, what was found.
        message: String,
        /// What is at the span.
        label: String,
        /// Where reading stopped.
        #[label("{label}")]
        span: SourceSpan,
        /// What to do about it.
        #[help]
        help: Option<String>,
    },

    /// A string literal that never closes.
    #[error("unterminated string")]
    #[diagnostic(
        code(E0002),
        help("close the string with `\"`; to write a quote inside a string, use `\\\"`")
    )]
    UnterminatedString {
        /// The opening quote.
        #[label("this string is never closed")]
        span: SourceSpan,
    },

    /// An escape sequence that the language does not have.
    #[error("unknown escape sequence `{text}`")]
    #[diagnostic(
        code(E0003),
        help("the escapes are `\\n`, `\\t`, `\\r`, `\\0`, `\\\\`, `\\\"`, `\\$` and `\\u{{...}}`")
    )]
    InvalidEscape {
        /// The escape as written.
        text: String,
        /// Where it is.
        #[label("not a valid escape")]
        span: SourceSpan,
    },

    /// Nesting deeper than the parser allows.
    #[error("nesting is too deep (more than {max} levels)")]
    #[diagnostic(
        code(E0004),
        help("split the expression with `let` bindings; flowc limits nesting so it never runs out of stack")
    )]
    TooDeep {
        /// The limit.
        max: usize,
        /// Where the limit was passed.
        #[label("nesting passes the limit here")]
        span: SourceSpan,
    },

    /// A number that cannot be read.
    #[error("invalid number `{text}`")]
    #[diagnostic(code(E0005))]
    InvalidNumber {
        /// The literal.
        text: String,
        /// Why.
        reason: String,
        /// Where it is.
        #[label("{reason}")]
        span: SourceSpan,
        /// What to do about it.
        #[help]
        help: Option<String>,
    },

    /// A duration with an unknown unit, or one too large.
    #[error("invalid duration `{text}`")]
    #[diagnostic(code(E0006))]
    InvalidDuration {
        /// The literal.
        text: String,
        /// Why.
        reason: String,
        /// Where it is.
        #[label("{reason}")]
        span: SourceSpan,
        /// What to do about it.
        #[help]
        help: Option<String>,
    },

    /// A file with nothing in it.
    #[error("`{file}` is empty")]
    #[diagnostic(
        code(E0007),
        help("a .flow file declares at least one workflow, task, constant or import")
    )]
    EmptyFile {
        /// The file's name.
        file: String,
        /// The start of the file.
        #[label("nothing is declared here")]
        span: SourceSpan,
    },

    /// An interpolation `${` whose `}` is missing.
    #[error("unterminated interpolation")]
    #[diagnostic(
        code(E0011),
        help("close the interpolation with `}}` before the string's closing `\"`")
    )]
    UnterminatedInterpolation {
        /// The `${`.
        #[label("this `${{` is never closed")]
        span: SourceSpan,
    },

    /// `if cond { a }` used as a value, with no `else`.
    #[error("`if` without `else`")]
    #[diagnostic(
        code(E0012),
        help("an `if` expression needs a value either way: add `else {{ ... }}`")
    )]
    IfWithoutElse {
        /// The `if`.
        #[label("this `if` has no `else`")]
        span: SourceSpan,
    },

    /// A `{` still open at the end of the file.
    #[error("unclosed `{{`")]
    #[diagnostic(code(E0013), help("add the missing `}}`"))]
    UnclosedBrace {
        /// The brace that is never closed.
        #[label("this `{{` is never closed")]
        open: SourceSpan,
        /// The end of the file (its last character).
        #[label("the file ends here")]
        end: SourceSpan,
    },

    /// `a < b < c`.
    #[error("comparison operators cannot be chained")]
    #[diagnostic(
        code(E0009),
        help("split it with `&&`: `a < b && b < c`, or add parentheses")
    )]
    ChainedComparison {
        /// The second operator.
        #[label("second comparison here")]
        span: SourceSpan,
    },
}

/// Converts a pest error into one sentence about the language. `offset` is where the text
/// pest read starts in `text`, the whole file, and `workflow` the workflow whose body that
/// piece is in, if any: the context of the error is looked for from `offset` on, so that
/// each of many errors in a large file costs only the length of its own piece.
pub fn from_pest(
    err: pest::error::Error<Rule>,
    text: &str,
    offset: usize,
    workflow: Option<&str>,
) -> SyntaxError {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = offset
        + match err.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
    let pos = pos.min(text.len());
    let positives = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    if skip_trivia(text, pos) == text.len() {
        if let Some(open) = unclosed_brace(text) {
            return SyntaxError::UnclosedBrace {
                open: Span::new(open, open + 1).into(),
                end: end_of_text(text).into(),
            };
        }
    }
    let ctx = context_at(text, offset, pos, workflow);
    if let Some(eq) = condition_assignment(text, pos, &positives, &ctx) {
        return SyntaxError::Unexpected {
            message: "expected `==` to compare values, found `=`".to_string(),
            label: "`=` is not a comparison".to_string(),
            span: Span::new(eq, eq + 1).into(),
            help: Some("use `==` to compare values: `a == b`".to_string()),
        };
    }
    let found = describe_found(text, pos);
    let span = Span::new(pos, pos + found.1);
    if let Some(err) = concurrency_policy(text, pos, found.1) {
        return err;
    }
    let mut expected: Vec<&'static str> = Vec::new();
    // In grammar order, whatever order pest tried them in.
    let mut positives = positives;
    positives.sort_by_key(|rule| grammar_place(*rule));
    for rule in &positives {
        if let Some(d) = describe_rule(*rule) {
            if !expected.contains(&d) {
                expected.push(d);
            }
        }
    }
    let place = match &ctx {
        Some(Context::Header { kind, name, .. }) => format!(" in the header of {kind} `{name}`"),
        Some(Context::Body { kind, name }) => format!(" in the body of {kind} `{name}`"),
        None => String::new(),
    };
    if let Some(keyword) = misspelt_keyword(&text[pos..pos + found.1], &expected) {
        return SyntaxError::Unexpected {
            message: format!("unexpected {}{place}", found.0),
            label: "not a keyword here".to_string(),
            span: span.into(),
            help: Some(format!("did you mean `{keyword}`?")),
        };
    }
    let wants_brace = positives
        .iter()
        .any(|r| matches!(r, Rule::step_body | Rule::params));
    let message = match (&ctx, wants_brace) {
        (Some(Context::Header { kind, name, .. }), true) => {
            format!(
                "expected `{{` to open the body of {kind} `{name}`, found {}",
                found.0
            )
        }
        _ => {
            let list = join_alternatives(&expected);
            if list.is_empty() {
                format!("unexpected {}{place}", found.0)
            } else {
                format!("expected {list}{place}, found {}", found.0)
            }
        }
    };
    let help = help_for(&ctx, &expected, &found.0);
    SyntaxError::Unexpected {
        message,
        label: format!("unexpected {}", found.0),
        span: span.into(),
        help,
    }
}

/// A word after `concurrency GROUP` on the same line that is no policy: the error names
/// the three policies (and the one it is a misspelling of).
fn concurrency_policy(text: &str, pos: usize, len: usize) -> Option<SyntaxError> {
    let word = &text[pos..pos + len];
    let line = &text[text[..pos].rfind('\n').map_or(0, |n| n + 1)..pos];
    let is_word = !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !is_word || !line.trim_start().starts_with("concurrency ") {
        return None;
    }
    let hint = crate::diagnostics::did_you_mean(word, ["queue", "skip", "cancel"])
        .map(|p| format!("did you mean `{p}`? "))
        .unwrap_or_default();
    Some(SyntaxError::Unexpected {
        message: format!("unknown concurrency policy `{word}`"),
        label: "not a policy".to_string(),
        span: Span::new(pos, pos + len).into(),
        help: Some(format!(
            "{hint}a second run of the group can `queue` (wait for the running one; the default), `skip` (not run) or `cancel` (stop the running one)"
        )),
    })
}

/// The keyword that `word` is a misspelling of, among the keywords expected where it
/// stands (`retires` where an attribute may start: `retry`).
fn misspelt_keyword(word: &str, expected: &[&str]) -> Option<String> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let keywords = expected.iter().filter_map(|e| {
        let k = e.strip_prefix('`')?.strip_suffix('`')?;
        k.bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_')
            .then_some(k)
    });
    crate::diagnostics::did_you_mean(word, keywords)
}

/// The `=` that was meant as `==`, when the error at `pos` follows from one: either pest
/// stopped at a lone `=` where an operator could continue an expression (`retry 3 if
/// code = 2`), or a step header's `when a = b` was read as a condition `a` and a call
/// step `= b(...)`, and failed in that call's name.
fn condition_assignment(
    text: &str,
    pos: usize,
    positives: &[Rule],
    ctx: &Option<Context>,
) -> Option<usize> {
    let bytes = text.as_bytes();
    let lone_eq = |i: usize| {
        bytes.get(i) == Some(&b'=')
            && bytes.get(i + 1) != Some(&b'=')
            && !(i > 0 && matches!(bytes[i - 1], b'=' | b'!' | b'<' | b'>'))
    };
    let after_operand = positives.iter().any(|r| matches!(r, Rule::eq | Rule::or));
    if after_operand && lone_eq(pos) {
        return Some(pos);
    }
    let Some(Context::Header {
        kind: "step",
        start,
        ..
    }) = ctx
    else {
        return None;
    };
    // Walk the header: a lone `=` after `when`, outside brackets and strings, with only a
    // name between it and the error.
    let mut in_condition = false;
    let mut depth = 0usize;
    let mut i = *start;
    while i < pos {
        let b = bytes[i];
        if b == b'"' {
            i = super::scan::string_end(bytes, i, pos) + 1;
            continue;
        }
        if b.is_ascii_alphabetic() || b == b'_' {
            let word_start = i;
            while i < pos && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            if depth == 0 && &text[word_start..i] == "when" {
                in_condition = true;
            }
            continue;
        }
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'=' if depth == 0 && in_condition && lone_eq(i) => {
                let callee = &text[i + 1..pos];
                let name_only = callee
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b' ' | b'\t'));
                return name_only.then_some(i);
            }
            b'=' if bytes.get(i + 1) == Some(&b'=') => i += 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The last character of `text` that is not whitespace (where a reader sees it end), or
/// its very end when there is none.
pub(super) fn end_of_text(text: &str) -> Span {
    let end = text.trim_end().len();
    let last = text[..end].chars().next_back().map_or(0, char::len_utf8);
    Span::new(end - last, end)
}

/// `pos`, or the first position after it that is not whitespace or a `//` comment.
pub(super) fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while pos < bytes.len() {
        match bytes[pos] {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'/' if text[pos..].starts_with("//")
                && (!text[pos..].starts_with("///") || text[pos..].starts_with("////")) =>
            {
                pos += text[pos..].find('\n').unwrap_or(text.len() - pos);
            }
            _ => break,
        }
    }
    pos
}

/// The `{` that was never closed, when the braces of `text` do not balance: of the braces
/// still open at the end, the innermost; but a `}` first on its line closes the brace
/// whose line is indented as much as its own, and the first brace that this skips is the
/// answer (in `step a {` ... `}` with one `}` missing inside, that brace was never closed).
pub(super) fn unclosed_brace(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut skipped: Option<usize> = None;
    let mut line_start = 0;
    let mut indent = 0;
    let mut first_on_line = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line_start = i + 1;
                first_on_line = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let first = std::mem::replace(&mut first_on_line, false);
        if first {
            indent = i - line_start;
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
            b'{' => {
                open.push((i, indent));
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                let same_indent = open.iter().rposition(|&(_, o)| o == indent);
                match same_indent {
                    Some(k) if first => {
                        if k + 1 < open.len() && skipped.is_none() {
                            skipped = Some(open[k + 1].0);
                        }
                        open.truncate(k);
                    }
                    _ => {
                        open.pop();
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    if depth == 0 {
        return None;
    }
    skipped.or_else(|| open.last().map(|&(p, _)| p))
}

/// The reserved words, as `found` describes them.
pub(super) const RESERVED: &[&str] = &[
    "`after`",
    "`as`",
    "`else`",
    "`false`",
    "`finally`",
    "`for`",
    "`if`",
    "`import`",
    "`in`",
    "`let`",
    "`on_failure_of`",
    "`secret`",
    "`step`",
    "`task`",
    "`true`",
    "`when`",
    "`workflow`",
];

fn help_for(ctx: &Option<Context>, expected: &[&str], found: &str) -> Option<String> {
    if let Some(Context::Body { kind, name }) = ctx {
        let opens_item = [
            "`step`",
            "`let`",
            "`secret`",
            "`finally`",
            "`workflow`",
            "`task`",
            "`import`",
        ];
        if *kind != "workflow" && opens_item.contains(&found) {
            return Some(format!(
                "is a `}}` missing? {kind} `{name}` is still open here"
            ));
        }
    }
    if expected.contains(&"a name") && RESERVED.contains(&found) {
        return Some(format!(
            "{found} is a reserved word and cannot be used as a name"
        ));
    }
    if let Some(Context::Body {
        kind: "step" | "task",
        ..
    }) = ctx
    {
        if expected.contains(&"`run`") {
            return Some(
                "a step body holds attributes: run, exec, sleep, approve, retry, timeout, env, outputs, on_failure, priority, dir, max_failures"
                    .to_string(),
            );
        }
    }
    if let Some(Context::Body {
        kind: "workflow", ..
    }) = ctx
    {
        if expected.contains(&"`step`") {
            return Some(
"a workflow body holds `defaults`, `let`, `secret`, `step`, `outputs` and `concurrency` items, and the run's `timeout` and `max_failures`".to_string(),
            );
        }
    }
    None
}

fn join_alternatives(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The token at `pos`, as words, and its length in bytes.
fn describe_found(text: &str, pos: usize) -> (String, usize) {
    let rest = &text[pos.min(text.len())..];
    let Some(c) = rest.chars().next() else {
        return ("end of file".to_string(), 0);
    };
    if c == '\n' || c == '\r' {
        return ("end of line".to_string(), 1);
    }
    if c.is_alphanumeric() || c == '_' {
        let len: usize = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .map(char::len_utf8)
            .sum();
        return (format!("`{}`", &rest[..len]), len);
    }
    if c == '"' {
        return ("a string".to_string(), 1);
    }
    for op in ["==", "!=", "<=", ">=", "&&", "||", "${", "///", "//"] {
        if rest.starts_with(op) {
            return (format!("`{op}`"), op.len());
        }
    }
    (format!("`{c}`"), c.len_utf8())
}

/// Where a rule stands in the grammar, for listing what was expected in grammar order: a
/// keyword's `kw_` rule (declared at the end) stands where the item or attribute it starts
/// does; `workflow` and `if`, which also start expressions, stay at the end.
fn grammar_place(rule: Rule) -> Rule {
    match rule {
        Rule::kw_import => Rule::import_decl,
        Rule::kw_policy => Rule::policy_decl,
        Rule::kw_task => Rule::task_decl,
        Rule::kw_defaults => Rule::defaults_block,
        Rule::kw_let => Rule::let_decl,
        Rule::kw_secret => Rule::secret_decl,
        Rule::kw_step => Rule::step_decl,
        Rule::kw_finally => Rule::finally_mark,
        Rule::kw_after => Rule::after_clause,
        Rule::kw_when => Rule::when_clause,
        Rule::kw_for => Rule::for_clause,
        Rule::kw_on_failure_of => Rule::compensates_clause,
        Rule::kw_run => Rule::run_attr,
        Rule::kw_exec => Rule::exec_attr,
        Rule::kw_sleep => Rule::sleep_attr,
        Rule::kw_approve => Rule::approve_attr,
        Rule::kw_native => Rule::native_attr,
        Rule::kw_retry => Rule::retry_attr,
        Rule::kw_backoff => Rule::backoff,
        Rule::kw_jitter => Rule::jitter,
        Rule::kw_timeout => Rule::timeout_attr,
        Rule::kw_env => Rule::env_attr,
        Rule::kw_outputs => Rule::outputs_attr,
        Rule::kw_on_failure => Rule::on_failure_attr,
        Rule::kw_max_parallel => Rule::max_parallel_attr,
        Rule::kw_checkpoint => Rule::checkpoint_attr,
        Rule::kw_priority => Rule::priority_attr,
        Rule::kw_dir => Rule::dir_attr,
        Rule::kw_max_failures => Rule::max_failures_attr,
        Rule::kw_concurrency => Rule::concurrency_decl,
        other => other,
    }
}

/// What a grammar rule looks like to a user, or `None` for rules never worth naming.
fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::import_decl | Rule::kw_import => "`import`",
        Rule::workflow_decl | Rule::kw_workflow => "`workflow`",
        Rule::task_decl | Rule::kw_task => "`task`",
        Rule::let_decl | Rule::kw_let => "`let`",
        Rule::secret_decl | Rule::kw_secret => "`secret`",
        Rule::step_decl | Rule::kw_step => "`step`",
        Rule::finally_mark | Rule::kw_finally => "`finally`",
        Rule::defaults_block | Rule::kw_defaults => "`defaults`",
        Rule::params => "`(`",
        Rule::param => "a parameter",
        Rule::step_body => "`{`",
        Rule::after_clause | Rule::kw_after => "`after`",
        Rule::when_clause | Rule::kw_when => "`when`",
        Rule::for_clause | Rule::kw_for => "`for`",
        Rule::kw_in => "`in`",
        Rule::kw_max => "`max`",
        Rule::compensates_clause | Rule::kw_on_failure_of => "`on_failure_of`",
        Rule::step_call => "`=`",
        Rule::run_attr | Rule::kw_run => "`run`",
        Rule::exec_attr | Rule::kw_exec => "`exec`",
        Rule::sleep_attr | Rule::kw_sleep => "`sleep`",
        Rule::approve_attr | Rule::kw_approve => "`approve`",
        Rule::native_attr | Rule::kw_native => "`native`",
        Rule::policy_decl | Rule::kw_policy => "`policy`",
        Rule::retry_attr | Rule::kw_retry => "`retry`",
        Rule::backoff | Rule::kw_backoff => "`backoff`",
        Rule::jitter | Rule::kw_jitter => "`jitter`",
        Rule::retry_if | Rule::route_if | Rule::kw_if => "`if`",
        Rule::kw_else => "`else`",
        Rule::timeout_attr | Rule::kw_timeout => "`timeout`",
        Rule::env_attr | Rule::kw_env => "`env`",
        Rule::outputs_attr | Rule::kw_outputs => "`outputs`",
        Rule::on_failure_attr | Rule::kw_on_failure => "`on_failure`",
        Rule::max_parallel_attr | Rule::kw_max_parallel => "`max_parallel`",
        Rule::checkpoint_attr | Rule::kw_checkpoint => "`checkpoint`",
        Rule::priority_attr | Rule::kw_priority => "`priority`",
        Rule::dir_attr | Rule::kw_dir => "`dir`",
        Rule::max_failures_attr | Rule::kw_max_failures => "`max_failures`",
        Rule::concurrency_decl | Rule::kw_concurrency => "`concurrency`",
        Rule::concurrency_policy => "`queue`, `skip` or `cancel`",
        Rule::kw_as => "`as`",
        Rule::type_expr => "a type",
        Rule::ident | Rule::path => "a name",
        Rule::word | Rule::arg_name => "a name",
        Rule::env_entry => "an environment variable",
        Rule::output_decl => "an output",
        Rule::map_entry => "a map entry",
        Rule::expr
        | Rule::primary
        | Rule::number
        | Rule::bool_lit
        | Rule::list_lit
        | Rule::map_lit
        | Rule::if_expr
        | Rule::paren
        | Rule::workflow_ref
        | Rule::not
        | Rule::neg
        | Rule::arg => "an expression",
        Rule::string_lit => "a string",
        Rule::or
        | Rule::and
        | Rule::eq
        | Rule::ne
        | Rule::le
        | Rule::ge
        | Rule::lt
        | Rule::gt
        | Rule::add
        | Rule::sub
        | Rule::mul
        | Rule::div
        | Rule::rem => "an operator",
        Rule::field => "`.`",
        Rule::index => "`[`",
        Rule::call_args => "`(`",
        Rule::interp => "`${`",
        Rule::escape | Rule::text => "string text",
        _ => return None,
    })
}

/// Where in the program an error position falls.
enum Context {
    /// Between `step NAME` (or `workflow`, `task`) and its `{`; `start` is the keyword's.
    Header {
        kind: &'static str,
        name: String,
        start: usize,
    },
    /// Inside the braces of a step, task or workflow.
    Body { kind: &'static str, name: String },
}

/// Finds the innermost step, task or workflow around `pos` with a light token walk from
/// `start`, which is in the body of `workflow` if that is given.
fn context_at(text: &str, start: usize, pos: usize, workflow: Option<&str>) -> Option<Context> {
    // Each open construct: (kind, name, brace depth at its keyword, whether its `{` is open,
    // where its keyword is).
    let mut open: Vec<(&'static str, String, usize, bool, usize)> = Vec::new();
    let mut depth = 0usize;
    if let Some(name) = workflow {
        open.push(("workflow", name.to_string(), 0, true, start));
        depth = 1;
    }
    let bytes = text.as_bytes();
    let mut i = start;
    let end = pos.min(bytes.len());
    while i < end {
        let b = bytes[i];
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < end && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if b == b'"' {
            i = super::scan::string_end(bytes, i, end) + 1;
            continue;
        }
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < end && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            let kind = match word {
                "step" => Some("step"),
                "task" => Some("task"),
                "workflow" if !text[i..].starts_with('.') => Some("workflow"),
                _ => None,
            };
            if let Some(kind) = kind {
                let rest = &text[i..end];
                let name: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    open.retain(|o| o.3 || o.2 != depth);
                    open.push((kind, name, depth, false, start));
                }
            }
            continue;
        }
        match b {
            b'{' => {
                if let Some(last) = open.last_mut() {
                    if !last.3 && last.2 == depth {
                        last.3 = true;
                    }
                }
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                while open
                    .last()
                    .is_some_and(|o| o.2 >= depth && (o.3 || o.2 > depth))
                {
                    open.pop();
                }
            }
            _ => {}
        }
        i += 1;
    }
    let (kind, name, _, body_open, start) = open.pop()?;
    Some(if body_open {
        Context::Body { kind, name }
    } else {
        Context::Header { kind, name, start }
    })
}
