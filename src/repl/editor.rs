//! The interactive frontend: a rustyline editor whose helper highlights the input as it is
//! typed (keywords from the grammar, strings, numbers, comments, commands), completes
//! keywords, names in scope, fields after `.`, builtin functions, `std/*` modules,
//! `:commands` and file paths after `:load`, hints the rest of a command (or a line from the
//! history), and keeps reading while a brace, bracket or string is open. Ctrl-C clears the
//! input; Ctrl-D leaves.

use crate::cli::out::{err, errln, out};
use std::borrow::Cow;
use std::path::PathBuf;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hint, Hinter, HistoryHinter};
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{CompletionType, Config, Context, Editor, Helper};

use super::session::{is_incomplete, Names, Session, COMMANDS};

/// The prompt.
const PROMPT: &str = "flow> ";

const KEYWORD: &str = "\x1b[1;35m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[36m";
const COMMENT: &str = "\x1b[2m";
const COMMAND: &str = "\x1b[1;34m";
const RESET: &str = "\x1b[0m";

/// Runs the REPL on a terminal until `:quit` or Ctrl-D; the history is read from and
/// written to `history`. Returns the exit code (0, or 2 when the terminal cannot be used).
pub fn interactive(mut session: Session, color: bool, history: Option<PathBuf>) -> u8 {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<FlowHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            errln!("error: cannot use the terminal: {e}");
            return crate::runtime::driver::EXIT_USAGE;
        }
    };
    editor.set_helper(Some(FlowHelper {
        names: session.names().clone(),
        color,
        files: FilenameCompleter::new(),
        history: HistoryHinter::new(),
    }));
    if let Some(path) = &history {
        // A missing history file is the normal first start.
        let _ = editor.load_history(path);
    }
    errln!("flowc repl: type an expression or a definition; :help for commands, Ctrl-D to leave");
    loop {
        match editor.readline(PROMPT) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                    save_history(&mut editor, history.as_ref());
                }
                let reply = session.input(&line);
                out!("{}", reply.output);
                err!("{}", reply.errors);
                if let Some(helper) = editor.helper_mut() {
                    helper.names = session.names().clone();
                }
                if reply.quit || crate::cli::out::stdout_closed() {
                    break;
                }
            }
            // Ctrl-C clears the line being edited and starts a new one.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                errln!("error: cannot read the terminal: {e}");
                return crate::runtime::driver::EXIT_USAGE;
            }
        }
    }
    save_history(&mut editor, history.as_ref());
    crate::runtime::driver::EXIT_OK
}

fn save_history(editor: &mut Editor<FlowHelper, DefaultHistory>, path: Option<&PathBuf>) {
    let Some(path) = path else { return };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // History is a convenience: a read-only home must not stop the REPL.
    let _ = editor.save_history(path);
}

/// The editor's helper: completion, hints, highlighting and multi-line validation.
struct FlowHelper {
    names: Names,
    color: bool,
    files: FilenameCompleter,
    history: HistoryHinter,
}

impl Helper for FlowHelper {}

impl Completer for FlowHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        if before.starts_with(":load ") || before.starts_with(":l ") {
            return self.files.complete(line, pos, ctx);
        }
        Ok(candidates(&self.names, before))
    }
}

/// Completion candidates for the text before the cursor: where the replaced word starts,
/// and what may replace it.
fn candidates(names: &Names, before: &str) -> (usize, Vec<Pair>) {
    let pair = |s: &str| Pair {
        display: s.to_string(),
        replacement: s.to_string(),
    };
    if before.starts_with(':') && !before.contains(char::is_whitespace) {
        let found = COMMANDS
            .iter()
            .filter(|(c, _, _)| c.starts_with(before))
            .map(|(c, _, _)| pair(c))
            .collect();
        return (0, found);
    }
    // Inside the string of an `import`: the standard library's modules.
    if let Some(at) = before.rfind("import \"") {
        let start = at + "import \"".len();
        if !before[start..].contains('"') {
            let typed = &before[start..];
            let found = crate::stdlib::MODULES
                .iter()
                .filter(|(p, _)| p.starts_with(typed))
                .map(|(p, _)| pair(p))
                .collect();
            return (start, found);
        }
    }
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let word = &before[start..];
    // After `name.`: the fields of a step result, `workflow`, or a module's members.
    if let Some(base_end) = start
        .checked_sub(1)
        .filter(|&i| before[i..].starts_with('.'))
    {
        let base_start = before[..base_end]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let base = &before[base_start..base_end];
        let found = names
            .fields
            .get(base)
            .map(|fields| {
                fields
                    .iter()
                    .filter(|f| f.starts_with(word))
                    .map(|f| pair(f))
                    .collect()
            })
            .unwrap_or_default();
        return (start, found);
    }
    if word.is_empty() {
        return (start, Vec::new());
    }
    let mut all: Vec<&str> = crate::parse::keywords()
        .iter()
        .map(String::as_str)
        .chain(["true", "false", "workflow", "param"])
        .chain(names.names.iter().map(String::as_str))
        .chain(crate::stdlib::builtins::BUILTINS.iter().map(|b| b.name))
        .filter(|c| c.starts_with(word))
        .collect();
    all.sort_unstable();
    all.dedup();
    (start, all.into_iter().map(pair).collect())
}

/// A hint: the rest of a command with its argument, or of a line from the history.
struct ReplHint {
    display: String,
    completion: Option<String>,
}

impl Hint for ReplHint {
    fn display(&self) -> &str {
        &self.display
    }

    fn completion(&self) -> Option<&str> {
        self.completion.as_deref()
    }
}

impl Hinter for FlowHelper {
    type Hint = ReplHint;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<ReplHint> {
        if pos < line.len() {
            return None;
        }
        if let Some(hint) = command_hint(line) {
            return Some(hint);
        }
        self.history.hint(line, pos, ctx).map(|h| ReplHint {
            display: h.clone(),
            completion: Some(h),
        })
    }
}

/// The hint for a `:command` being typed: the rest of its name and its argument (`:lo`
/// hints `ad FILE`), or, after the name and a space, the argument alone.
fn command_hint(line: &str) -> Option<ReplHint> {
    if line.len() < 2 || !line.starts_with(':') {
        return None;
    }
    if let Some(name) = line.strip_suffix(' ') {
        let (_, arg, _) = COMMANDS.iter().find(|(c, _, _)| *c == name)?;
        return (!arg.is_empty()).then(|| ReplHint {
            display: arg.to_string(),
            completion: None,
        });
    }
    let mut matching = COMMANDS.iter().filter(|(c, _, _)| c.starts_with(line));
    let (Some((c, arg, _)), None) = (matching.next(), matching.next()) else {
        return None;
    };
    let rest = &c[line.len()..];
    let display = if arg.is_empty() {
        rest.to_string()
    } else {
        format!("{rest} {arg}")
    };
    Some(ReplHint {
        display,
        completion: Some(rest.to_string()),
    })
}

impl Highlighter for FlowHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color {
            Cow::Owned(highlight(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("{COMMENT}{hint}{RESET}"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        // Every edit can change what a word is (`le` -> `let`): highlight again.
        self.color
    }
}

impl Validator for FlowHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if is_incomplete(ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

/// The input with ANSI colours: keywords (the grammar's `kw_*` words, `true` and `false`),
/// strings, numbers, comments, and a leading `:command`.
pub fn highlight(line: &str) -> String {
    let keywords = crate::parse::keywords();
    let mut out = String::with_capacity(line.len() * 2);
    let bytes = line.as_bytes();
    let mut i = 0;
    if line.starts_with(':') {
        let end = line.find(char::is_whitespace).unwrap_or(line.len());
        out.push_str(COMMAND);
        out.push_str(&line[..end]);
        out.push_str(RESET);
        i = end;
    }
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let color = if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            i = line[i..].find('\n').map_or(line.len(), |n| i + n);
            Some(COMMENT)
        } else if b == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
            Some(STRING)
        } else if b.is_ascii_digit() {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            Some(NUMBER)
        } else if b.is_ascii_alphabetic() || b == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &line[start..i];
            let after_dot = start > 0 && bytes[start - 1] == b'.';
            (!after_dot
                && (keywords.iter().any(|k| k == word) || word == "true" || word == "false"))
                .then_some(KEYWORD)
        } else {
            // One character (UTF-8 aware).
            i += line[i..].chars().next().map_or(1, char::len_utf8);
            None
        };
        let text = line.get(start..i).unwrap_or("");
        match color {
            Some(c) => {
                out.push_str(c);
                out.push_str(text);
                out.push_str(RESET);
            }
            None => out.push_str(text),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_strings_and_numbers_are_coloured() {
        assert_eq!(
            highlight("let x = \"a\" // c"),
            format!("{KEYWORD}let{RESET} x = {STRING}\"a\"{RESET} {COMMENT}// c{RESET}")
        );
        assert_eq!(
            highlight("retry 3"),
            format!("{KEYWORD}retry{RESET} {NUMBER}3{RESET}")
        );
        assert_eq!(highlight("build.step"), "build.step");
        assert_eq!(highlight(":type é"), format!("{COMMAND}:type{RESET} é"));
    }

    #[test]
    fn commands_are_hinted_with_their_argument() {
        let hint = |line: &str| command_hint(line).map(|h| (h.display, h.completion));
        assert_eq!(hint(":lo"), Some(("ad FILE".into(), Some("ad".into()))));
        assert_eq!(hint(":load "), Some(("FILE".into(), None)));
        assert_eq!(hint(":re"), None, "`:reload` and `:reset` both match");
        assert_eq!(hint(":rel"), Some(("oad".into(), Some("oad".into()))));
        assert_eq!(hint("1 + 1"), None);
    }

    #[test]
    fn completion_offers_commands_names_fields_and_modules() {
        let mut names = Names {
            names: vec!["build".into(), "target".into()],
            ..Names::default()
        };
        names
            .fields
            .insert("build".into(), vec!["digest".into(), "status".into()]);
        let words = |before: &str| -> (usize, Vec<String>) {
            let (start, pairs) = candidates(&names, before);
            (start, pairs.into_iter().map(|p| p.replacement).collect())
        };
        assert_eq!(words(":ty"), (0, vec![":type".to_string()]));
        assert_eq!(words("bu"), (0, vec!["build".to_string()]));
        assert_eq!(words("x == build.d"), (11, vec!["digest".to_string()]));
        assert_eq!(words("ste"), (0, vec!["step".to_string()]));
        assert_eq!(words("up"), (0, vec!["upper".to_string()]));
        assert_eq!(words("import \"std/h"), (8, vec!["std/http".to_string()]));
    }
}
