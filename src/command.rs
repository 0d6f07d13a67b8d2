//! `run` text and `exec` lists to the process to start, free of injection by construction.
//!
//! Takes the text of a `run` attribute as [`TextPart`]s (literal source text, and the index
//! of each interpolated value) and gives an [`Invocation`]: an argv started directly, or a
//! `sh -c` script. [`compile`] does everything that depends only on the source, at check
//! time, and gives a [`Template`]; [`render`] fills in the values at run time. [`exec`]
//! turns an `exec [..]` list into an [`Invocation`] (never a shell).
//!
//! The rule that makes injection impossible: the *literal* text alone decides the shape of
//! the command (its words, operators and quotes); a value is only ever data inside the word
//! it was written in, whatever bytes it holds.
//!
//! - Literal text without shell operators is split into words with POSIX rules (`'...'`,
//!   `"..."` and backslashes honoured) and started directly, without a shell, as make does
//!   for simple commands. A value becomes part of exactly the word it stands in.
//! - Literal text with shell syntax outside quotes (`|`, `&`, `;`, `<`, `>`, `(`, `)`, `$`,
//!   backquotes, globs `*` `?` `[`, a newline, `~` or `#` at the start of a word; `$` or a
//!   backquote inside double quotes; a first word that is a shell keyword or builtin such as
//!   `cd`, or a `NAME=value` prefix) runs as `sh -c SCRIPT`. The script is the literal text
//!   verbatim with each value spliced in as one single-quoted string, after closing (and then
//!   reopening) whatever quote the literal text has open at that point.
//! - Where a shell would read a spliced value in a way quoting cannot control (backquotes,
//!   `${...}`, arithmetic, here-documents, right after `\` or `$`, ...), [`compile`] refuses
//!   the template (E0404) rather than guess. A value inside a shell comment is dropped, as
//!   the shell would ignore it.
//!
//! Values reach the program as literal data. A program that itself evaluates an argument
//! as code (`sh -c`, `eval`, arithmetic builtins) can still be told to run it: that is the
//! program's doing, not the command line's.

/// The shell that runs commands needing one.
const SHELL: &str = "sh";

/// A piece of the text of a `run` attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextPart {
    /// Text written in the source, which decides the shape of the command.
    Literal(String),
    /// The index of an interpolated value, which is only ever data.
    Value(usize),
}

/// A `run` command checked and prepared at check time; [`render`] makes it an [`Invocation`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    form: Form,
}

impl Template {
    /// Whether the command runs under `sh -c` (its literal text uses shell syntax).
    pub fn uses_shell(&self) -> bool {
        matches!(self.form, Form::Shell(_))
    }

    /// A stable one-line description with each value as `{i}`: `argv ["echo", "a{0}"]`,
    /// or `sh -c "make | tee {0}"` (with the value's quoting: `{0}`, `'{0}'`, `"{0}"`).
    pub fn describe(&self) -> String {
        match &self.form {
            Form::Exec(words) => {
                let words: Vec<String> = words
                    .iter()
                    .map(|pieces| {
                        let word: String = pieces
                            .iter()
                            .map(|p| match p {
                                Piece::Text(t) => t.clone(),
                                Piece::Value(i) => format!("{{{i}}}"),
                            })
                            .collect();
                        format!("{word:?}")
                    })
                    .collect();
                format!("argv [{}]", words.join(", "))
            }
            Form::Shell(chunks) => {
                let script: String = chunks
                    .iter()
                    .map(|c| match c {
                        Chunk::Text(t) => t.clone(),
                        Chunk::Value(i, Context::Unquoted) => format!("{{{i}}}"),
                        Chunk::Value(i, Context::SingleQuoted) => format!("'{{{i}}}'"),
                        Chunk::Value(i, Context::DoubleQuoted) => format!("\"{{{i}}}\""),
                    })
                    .collect();
                format!("sh -c {script:?}")
            }
        }
    }
}

/// How a template runs.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Form {
    /// Started directly: one entry per argument.
    Exec(Vec<Vec<Piece>>),
    /// Under `sh -c`: the script in pieces.
    Shell(Vec<Chunk>),
}

/// Part of one argument of a directly started command.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// Text, quotes and escapes already removed.
    Text(String),
    /// An interpolated value.
    Value(usize),
}

/// Part of a shell script.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Chunk {
    /// Literal script text, verbatim.
    Text(String),
    /// An interpolated value, and the quoting in force where it stands.
    Value(usize, Context),
}

/// The quoting in force at a value in a shell script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    /// Outside quotes.
    Unquoted,
    /// Inside a literal `'...'`.
    SingleQuoted,
    /// Inside a literal `"..."`.
    DoubleQuoted,
}

/// What to start: a program with its arguments, or a script for `sh -c`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// Start `argv[0]` (looked up in `PATH`) with these arguments, without a shell.
    Exec {
        /// The program and its arguments.
        argv: Vec<String>,
    },
    /// Run this script with `sh -c`.
    Shell {
        /// The script, every value in it quoted.
        script: String,
    },
}

impl Invocation {
    /// The full argv to start: `argv` itself, or `["sh", "-c", script]`.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Invocation::Exec { argv } => argv.clone(),
            Invocation::Shell { script } => {
                vec![SHELL.to_string(), "-c".to_string(), script.clone()]
            }
        }
    }
}

/// A command that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum CommandError {
    /// A value with a NUL byte, which no argument can carry.
    #[error("interpolated value {index} contains a NUL byte")]
    #[diagnostic(
        code(E0401),
        help("program arguments end at a NUL byte, so the value would be cut short; remove it, e.g. with `replace(value, \"\\0\", \"\")`")
    )]
    NulInValue {
        /// Which value (its index in the command), or which element of an `exec` list.
        index: usize,
    },

    /// A quote in the literal text that is never closed.
    #[error("run text cannot be split: unbalanced quote `{quote}`")]
    #[diagnostic(
        code(E0402),
        help("close the quote; to pass a quote character itself, put it inside the other kind of quotes or escape it with a backslash")
    )]
    UnbalancedQuote {
        /// The quote character left open.
        quote: char,
    },

    /// A command with no program to start.
    #[error("empty command")]
    #[diagnostic(
        code(E0403),
        help("`run` needs a program to start, e.g. `run \"make test\"`; `exec` needs a list whose first element names the program")
    )]
    EmptyCommand,

    /// A value where the shell would read it in a way quoting cannot control.
    #[error("interpolated value {index} cannot be placed safely here: {reason}")]
    #[diagnostic(
        code(E0404),
        help("move the interpolation out of this construct, or pass the value through `env {{ NAME: value }}` and write \"$NAME\" in the command")
    )]
    UnsafePlacement {
        /// Which value.
        index: usize,
        /// What it is next to or inside.
        reason: &'static str,
    },

    /// A NUL byte in the literal text.
    #[error("run text contains a NUL byte")]
    #[diagnostic(
        code(E0405),
        help("program arguments end at a NUL byte; remove the `\\0` from the command")
    )]
    NulInText,

    /// A value inside the command text of a program that parses its argument as a command
    /// again (`sh -c`, `ssh HOST CMD`, `eval`, `su -c`): quoting for the first level
    /// cannot protect the second.
    #[error("interpolated value {index} reaches `{program}`, which reads it as a command again")]
    #[diagnostic(
        code(E0407),
        help("flowc quotes a value for the program it starts, but `{program}` parses this argument as shell code once more; pass the value through `env {{ NAME: value }}` and write \"$NAME\" inside the inner command, or give it as a positional argument: `sh -c 'deploy \"$1\"' sh \"${{value}}\"`")
    )]
    Reparsed {
        /// Which value.
        index: usize,
        /// The program that parses it again.
        program: String,
    },

    /// A template rendered with fewer values than it refers to.
    #[error("interpolated value {index} is missing: only {count} values were given")]
    #[diagnostic(
        code(E0406),
        help("this is a bug in flowc: the command was prepared with other values than it is run with")
    )]
    MissingValue {
        /// The value referred to.
        index: usize,
        /// How many values there were.
        count: usize,
    },
}

// Why a value cannot be spliced somewhere (the `reason` of `UnsafePlacement`).
const AFTER_BACKSLASH: &str = "it follows a backslash, which would escape its first character";
const AFTER_DOLLAR: &str = "it follows a `$`, which would make it part of an expansion";
const IN_BACKQUOTES: &str = "it is inside backquotes (`...`); use `$(...)` instead";
const IN_PARAM: &str = "it is inside a `${...}` expansion";
const IN_ARITH: &str = "it is inside an arithmetic expansion `$((...))`";
const IN_DELIMITER: &str = "it is part of a here-document delimiter";
const HEREDOC: &str = "it comes after a here-document (`<<`), whose text is not tracked";
const ANSI_C: &str = "it comes after `$'...'` quoting, which shells read differently";
const OLD_ARITH: &str = "it comes after `$[`, which some shells read as arithmetic";
const AFTER_PID: &str = "it comes after `$$` and a bracket, which shells read differently";
const DOUBLE_PAREN: &str = "it comes after `((`, which some shells read as arithmetic";
const PARAM_QUOTES: &str =
    "it comes after quotes, escapes or braces inside `${...}`, which shells read differently";
const ARITH_QUOTES: &str =
    "it comes after quotes or escapes inside `$((...))`, which shells read differently";
const CASE_IN_SUBST: &str =
    "it comes after `case` inside `$(...)`, whose `)` patterns are not tracked";

/// First words that only a shell can run: keywords, and builtins that act on the shell
/// itself. Started directly they would fail or do nothing, so they force `sh -c`. Sorted
/// (byte order), for a binary search per command.
const SHELL_WORDS: &[&str] = &[
    "!", ".", ":", "alias", "bg", "break", "case", "cd", "command", "continue", "declare", "do",
    "done", "elif", "else", "esac", "eval", "exec", "exit", "export", "fg", "fi", "for",
    "function", "getopts", "hash", "if", "in", "jobs", "let", "local", "read", "readonly",
    "return", "select", "set", "shift", "source", "then", "times", "trap", "type", "typeset",
    "ulimit", "umask", "unalias", "unset", "until", "wait", "while", "{", "}",
];

/// Prepares a `run` command: decides whether it needs a shell, splits it into words or
/// tracks the quoting around each value, and rejects what cannot be made safe.
pub fn compile(parts: &[TextPart]) -> Result<Template, CommandError> {
    if parts
        .iter()
        .any(|p| matches!(p, TextPart::Literal(t) if t.contains('\0')))
    {
        return Err(CommandError::NulInText);
    }
    // Most commands name no program that parses its argument again: only those that do
    // are looked at word by word.
    let may_reparse = parts.iter().any(|p| match p {
        TextPart::Literal(t) => names_a_reparser(t),
        TextPart::Value(_) => false,
    });
    if let Some(words) = split_words(parts)? {
        if may_reparse {
            let args: Vec<Arg> = words.iter().map(|w| Arg::of_pieces(w)).collect();
            reject_reparsed(&args)?;
        }
        return Ok(Template {
            form: Form::Exec(words),
        });
    }
    let mut lexer = ShellLexer::new();
    for part in parts {
        match part {
            TextPart::Literal(text) => text.chars().for_each(|c| lexer.feed(c)),
            TextPart::Value(index) => lexer.value(*index)?,
        }
    }
    let chunks = lexer.finish()?;
    if may_reparse {
        for command in simple_commands(&chunks) {
            reject_reparsed(&command)?;
        }
    }
    Ok(Template {
        form: Form::Shell(chunks),
    })
}

/// One argument of a command as the source writes it: its literal text (quotes removed,
/// each value a [`VALUE_MARK`]) and the values in it, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Arg {
    /// The literal text.
    pub text: String,
    /// The values in it.
    pub values: Vec<usize>,
}

/// Stands for a value in [`Arg::text`].
pub const VALUE_MARK: char = '\u{FFFC}';

impl Arg {
    /// An argument of literal text.
    pub fn literal(text: impl Into<String>) -> Arg {
        Arg {
            text: text.into(),
            values: Vec::new(),
        }
    }

    fn of_pieces(pieces: &[Piece]) -> Arg {
        let mut arg = Arg::default();
        for p in pieces {
            match p {
                Piece::Text(t) => arg.text.push_str(t),
                Piece::Value(i) => arg.push_value(*i),
            }
        }
        arg
    }

    /// Adds a value.
    pub fn push_value(&mut self, index: usize) {
        self.text.push(VALUE_MARK);
        self.values.push(index);
    }

    /// The literal text when it holds no value.
    fn literal_text(&self) -> Option<&str> {
        self.values.is_empty().then_some(self.text.as_str())
    }
}

/// Shells that run the command text given after `-c`.
const SHELLS: &[&str] = &[
    "ash", "bash", "csh", "dash", "fish", "ksh", "mksh", "sh", "tcsh", "yash", "zsh",
];

/// `ssh` options that take an argument (so the destination is the word after).
const SSH_OPTIONS_WITH_ARG: &str = "BbcDEeFIiJLlmOopQRSWw";

/// The first value that a program in `args` would parse as a command again, with that
/// program: the command text after a shell's `-c` (also behind `sudo`, `env`, `xargs`,
/// `docker exec CONTAINER`, `kubectl exec POD --`, ...), the remote command of `ssh`, the
/// arguments of `eval`, and the command of `su -c`. Values given to a shell as positional
/// arguments after its command text (`sh -c 'deploy "$1"' sh VALUE`) stay data.
pub fn reparsed(args: &[Arg]) -> Option<(usize, String)> {
    for (i, arg) in args.iter().enumerate() {
        let Some(text) = arg.literal_text() else {
            continue;
        };
        let program = text.rsplit('/').next().unwrap_or(text);
        let rest = &args[i + 1..];
        let found = if SHELLS.contains(&program) {
            shell_command_text(rest)
        } else {
            match program {
                "eval" => rest.iter().find_map(|a| a.values.first().copied()),
                "su" => su_command_text(rest),
                "ssh" => ssh_remote_command(rest),
                _ => None,
            }
        };
        if let Some(index) = found {
            return Some((index, program.to_string()));
        }
    }
    None
}

/// Whether literal text holds a word [`reparsed`] looks for (a quick, permissive test:
/// `sh` in `fish` or `ssh` counts).
pub fn names_a_reparser(text: &str) -> bool {
    // One pass over the bytes: every step's command goes through here, and three
    // substring searches were a large check's most frequent `memcmp`.
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|i| match bytes[i] {
        b's' => matches!(bytes.get(i + 1), Some(b'h' | b'u')),
        b'e' => bytes[i..].starts_with(b"eval"),
        _ => false,
    })
}

fn reject_reparsed(args: &[Arg]) -> Result<(), CommandError> {
    match reparsed(args) {
        Some((index, program)) => Err(CommandError::Reparsed { index, program }),
        None => Ok(()),
    }
}

/// After a shell's name: its options, then (with `-c`) the command text; a value in that.
fn shell_command_text(rest: &[Arg]) -> Option<usize> {
    let mut with_c = false;
    let mut k = 0;
    while let Some(text) = rest.get(k).and_then(Arg::literal_text) {
        if text == "--" {
            k += 1;
            break;
        }
        let is_option = (text.starts_with('-') || text.starts_with('+')) && text.len() > 1;
        if !is_option {
            break;
        }
        if !text.starts_with("--") {
            with_c |= text[1..].contains('c');
            // `-o OPTION` and `+o OPTION` take the next word.
            if text.ends_with('o') {
                k += 1;
            }
        }
        k += 1;
    }
    if !with_c {
        return None;
    }
    rest.get(k).and_then(|a| a.values.first().copied())
}

/// After `su`: the command of `-c CMD`, `--command CMD` or `--command=CMD`.
fn su_command_text(rest: &[Arg]) -> Option<usize> {
    for (k, arg) in rest.iter().enumerate() {
        let Some(text) = arg.text.split(VALUE_MARK).next() else {
            continue;
        };
        if arg.values.is_empty() && matches!(text, "-c" | "--command" | "--session-command") {
            return rest.get(k + 1).and_then(|a| a.values.first().copied());
        }
        if text.starts_with("--command=") || text.starts_with("--session-command=") {
            if let Some(&v) = arg.values.first() {
                return Some(v);
            }
        }
    }
    None
}

/// After `ssh`: its options, the destination, then the remote command, which the remote
/// shell parses: a value in it.
fn ssh_remote_command(rest: &[Arg]) -> Option<usize> {
    let mut k = 0;
    while let Some(text) = rest.get(k).and_then(Arg::literal_text) {
        if text == "--" {
            k += 1;
            break;
        }
        if !text.starts_with('-') || text.len() < 2 {
            break;
        }
        // `-p 22`: an option letter that takes an argument, with the argument apart.
        let takes_arg =
            text.len() == 2 && text[1..].chars().all(|c| SSH_OPTIONS_WITH_ARG.contains(c));
        k += if takes_arg { 2 } else { 1 };
    }
    // `rest[k]` is the destination.
    rest.iter()
        .skip(k + 1)
        .find_map(|a| a.values.first().copied())
}

/// The simple commands of a shell script, each as its words, for [`reparsed`]: words are
/// split at unquoted blanks, and commands at unquoted `;`, `&`, `|`, newlines, parentheses
/// and backquotes. Quotes are removed; the values keep their place.
fn simple_commands(chunks: &[Chunk]) -> Vec<Vec<Arg>> {
    let mut commands: Vec<Vec<Arg>> = Vec::new();
    let mut words: Vec<Arg> = Vec::new();
    let mut word: Option<Arg> = None;
    let mut quote = Quote::None;
    let mut escaped = false;
    for chunk in chunks {
        let text = match chunk {
            Chunk::Value(index, _) => {
                word.get_or_insert_with(Arg::default).push_value(*index);
                continue;
            }
            Chunk::Text(text) => text,
        };
        for c in text.chars() {
            if escaped {
                escaped = false;
                if c != '\n' {
                    word.get_or_insert_with(Arg::default).text.push(c);
                }
                continue;
            }
            match (quote, c) {
                (Quote::Single, '\'') | (Quote::Double, '"') => quote = Quote::None,
                (Quote::Single, c) => word.get_or_insert_with(Arg::default).text.push(c),
                (Quote::Double, '\\') | (Quote::None, '\\') => escaped = true,
                (Quote::Double, c) => word.get_or_insert_with(Arg::default).text.push(c),
                (Quote::None, '\'') => {
                    word.get_or_insert_with(Arg::default);
                    quote = Quote::Single;
                }
                (Quote::None, '"') => {
                    word.get_or_insert_with(Arg::default);
                    quote = Quote::Double;
                }
                (Quote::None, ' ' | '\t') => words.extend(word.take()),
                (Quote::None, ';' | '&' | '|' | '\n' | '(' | ')' | '`') => {
                    words.extend(word.take());
                    if !words.is_empty() {
                        commands.push(std::mem::take(&mut words));
                    }
                }
                (Quote::None, c) => word.get_or_insert_with(Arg::default).text.push(c),
            }
        }
    }
    words.extend(word.take());
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// Fills in the values of a prepared command.
pub fn render(t: &Template, values: &[String]) -> Result<Invocation, CommandError> {
    check_nul(values)?;
    let get = |index: usize| {
        values
            .get(index)
            .map(String::as_str)
            .ok_or(CommandError::MissingValue {
                index,
                count: values.len(),
            })
    };
    match &t.form {
        Form::Exec(words) => {
            let mut argv = Vec::with_capacity(words.len());
            for word in words {
                let mut arg = String::new();
                for piece in word {
                    match piece {
                        Piece::Text(text) => arg.push_str(text),
                        Piece::Value(index) => arg.push_str(get(*index)?),
                    }
                }
                argv.push(arg);
            }
            if argv.first().is_none_or(String::is_empty) {
                return Err(CommandError::EmptyCommand);
            }
            Ok(Invocation::Exec { argv })
        }
        Form::Shell(chunks) => {
            let mut script = String::new();
            for chunk in chunks {
                match chunk {
                    Chunk::Text(text) => script.push_str(text),
                    Chunk::Value(index, context) => {
                        let value = get(*index)?;
                        // Close the literal quote open here, add the value as one
                        // single-quoted string, and reopen the quote.
                        let around = match context {
                            Context::Unquoted => "",
                            Context::SingleQuoted => "'",
                            Context::DoubleQuoted => "\"",
                        };
                        script.push_str(around);
                        quote_into(value, &mut script);
                        script.push_str(around);
                    }
                }
            }
            Ok(Invocation::Shell { script })
        }
    }
}

/// Prepares an `exec [..]` list: exactly these arguments, never a shell.
pub fn exec(values: &[String]) -> Result<Invocation, CommandError> {
    check_nul(values)?;
    if values.first().is_none_or(String::is_empty) {
        return Err(CommandError::EmptyCommand);
    }
    Ok(Invocation::Exec {
        argv: values.to_vec(),
    })
}

/// The first value with a NUL byte is an error: it would silently cut the argument short.
fn check_nul(values: &[String]) -> Result<(), CommandError> {
    match values.iter().position(|v| v.contains('\0')) {
        Some(index) => Err(CommandError::NulInValue { index }),
        None => Ok(()),
    }
}

/// Writes `value` as one single-quoted shell word: `'...'`, each `'` written `'\''`.
///
/// Hand-written rather than `shlex::try_quote`: inside single quotes every character but
/// `'` is literal in every POSIX shell, so this one form is correct for any value (empty,
/// newlines, `~`, `#`, ...) and easy to check, whereas shlex picks among several forms and
/// leaves some words bare. NULs are rejected before this is called.
fn quote_into(value: &str, out: &mut String) {
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
}

/// Whether `s` is a shell variable name.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `$c` is a special parameter (`$$`, `$#`, `$1`, ...), which ends right there.
fn is_special_param(c: char) -> bool {
    matches!(c, '$' | '#' | '?' | '!' | '@' | '*' | '-') || c.is_ascii_digit()
}

/// Quote state of the text being read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Quote {
    #[default]
    None,
    Single,
    Double,
}

/// Splits text without shell syntax into words; `None` when it needs a shell after all.
fn split_words(parts: &[TextPart]) -> Result<Option<Vec<Vec<Piece>>>, CommandError> {
    if let [TextPart::Literal(text)] = parts {
        if let Some(words) = plain_words(text) {
            return program_words(words);
        }
    }
    let mut splitter = WordSplitter::default();
    for part in parts {
        match part {
            TextPart::Literal(text) => {
                for c in text.chars() {
                    if !splitter.feed(c) {
                        return Ok(None);
                    }
                }
            }
            TextPart::Value(index) => splitter.value(*index)?,
        }
    }
    splitter.finish()
}

/// The words of literal text in which nothing is special to a shell but the blanks
/// between words (letters, digits and `_-./,:+@%`), split without [`WordSplitter`]'s
/// character-by-character reading: most commands look like this (`cargo build --release`).
fn plain_words(text: &str) -> Option<Vec<Vec<Piece>>> {
    let plain = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'_' | b'-' | b'.' | b'/' | b',' | b':' | b'+' | b'@' | b'%' | b' ' | b'\t'
            )
    };
    if !text.bytes().all(plain) {
        return None;
    }
    Some(
        text.split([' ', '\t'])
            .filter(|w| !w.is_empty())
            .map(|w| vec![Piece::Text(w.to_string())])
            .collect(),
    )
}

/// The words of a command as started: `None` when the first names a shell keyword or
/// builtin (the command runs under `sh -c`), an error when there is no program.
fn program_words(mut words: Vec<Vec<Piece>>) -> Result<Option<Vec<Vec<Piece>>>, CommandError> {
    match words.first().map(Vec::as_slice) {
        None => Err(CommandError::EmptyCommand),
        Some([Piece::Text(first)]) if first.is_empty() => Err(CommandError::EmptyCommand),
        Some([Piece::Text(first)]) if SHELL_WORDS.binary_search(&first.as_str()).is_ok() => {
            Ok(None)
        }
        Some(_) => {
            words.shrink_to_fit();
            Ok(Some(words))
        }
    }
}

/// POSIX word splitting of literal text, with values as opaque parts of words.
#[derive(Default)]
struct WordSplitter {
    words: Vec<Vec<Piece>>,
    word: Option<Word>,
    quote: Quote,
    escaped: bool,
}

/// The word being read.
struct Word {
    pieces: Vec<Piece>,
    text: String,
    /// Only unquoted, unescaped literal characters so far (so `NAME=` is an assignment).
    bare: bool,
}

impl WordSplitter {
    fn word(&mut self) -> &mut Word {
        self.word.get_or_insert_with(|| Word {
            pieces: Vec::new(),
            text: String::new(),
            bare: true,
        })
    }

    fn push(&mut self, c: char, bare: bool) {
        let word = self.word();
        word.text.push(c);
        word.bare &= bare;
    }

    fn end_word(&mut self) {
        if let Some(mut word) = self.word.take() {
            // Kept for the life of the program, one per argument of every step: sized
            // exactly (most words are one piece of text).
            if word.pieces.is_empty() {
                word.pieces = vec![Piece::Text(word.text)];
            } else {
                if !word.text.is_empty() {
                    word.pieces.push(Piece::Text(word.text));
                }
                word.pieces.shrink_to_fit();
            }
            self.words.push(word.pieces);
        }
    }

    /// Reads one literal character; `false` when the text needs a shell.
    fn feed(&mut self, c: char) -> bool {
        if std::mem::take(&mut self.escaped) {
            match self.quote {
                // A backslash-newline joins lines and is removed.
                _ if c == '\n' => {}
                Quote::Double if !matches!(c, '$' | '`' | '"' | '\\') => {
                    self.push('\\', false);
                    self.push(c, false);
                }
                _ => self.push(c, false),
            }
            return true;
        }
        match self.quote {
            Quote::Single => {
                if c == '\'' {
                    self.quote = Quote::None;
                } else {
                    self.push(c, false);
                }
            }
            Quote::Double => match c {
                '"' => self.quote = Quote::None,
                '\\' => self.escaped = true,
                // Expansions inside double quotes are shell work too.
                '$' | '`' => return false,
                _ => self.push(c, false),
            },
            Quote::None => match c {
                ' ' | '\t' => self.end_word(),
                '\n' | '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' | '*' | '?' | '[' => {
                    return false
                }
                '~' | '#' if self.word.is_none() => return false,
                '\'' => {
                    self.word().bare = false;
                    self.quote = Quote::Single;
                }
                '"' => {
                    self.word().bare = false;
                    self.quote = Quote::Double;
                }
                '\\' => self.escaped = true,
                '=' if self.words.is_empty()
                    && self
                        .word
                        .as_ref()
                        .is_some_and(|w| w.bare && w.pieces.is_empty() && is_name(&w.text)) =>
                {
                    // `NAME=value cmd` sets a variable for `cmd`: shell work.
                    return false;
                }
                _ => self.push(c, true),
            },
        }
        true
    }

    fn value(&mut self, index: usize) -> Result<(), CommandError> {
        if self.escaped {
            return Err(CommandError::UnsafePlacement {
                index,
                reason: AFTER_BACKSLASH,
            });
        }
        let word = self.word();
        if !word.text.is_empty() {
            word.pieces
                .push(Piece::Text(std::mem::take(&mut word.text)));
        }
        word.pieces.push(Piece::Value(index));
        word.bare = false;
        Ok(())
    }

    fn finish(mut self) -> Result<Option<Vec<Vec<Piece>>>, CommandError> {
        match self.quote {
            Quote::Single => return Err(CommandError::UnbalancedQuote { quote: '\'' }),
            Quote::Double => return Err(CommandError::UnbalancedQuote { quote: '"' }),
            Quote::None => {}
        }
        if self.escaped {
            // Shells keep a backslash that ends the text.
            self.push('\\', false);
        }
        self.end_word();
        program_words(self.words)
    }
}

/// The kind of nested construct being read in a shell script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameKind {
    /// The script itself.
    Top,
    /// `$(...)`: a script of its own.
    Subst,
    /// `$((...))`.
    Arith,
    /// `${...}`.
    Param,
    /// `` `...` ``.
    Backtick,
}

/// A construct being read, with its own quote state.
struct Frame {
    kind: FrameKind,
    quote: Quote,
    /// Unmatched plain `(` inside it.
    parens: usize,
    /// At the start of a word (where `#` begins a comment).
    word_start: bool,
    /// The current word while it is plain letters (to spot `case`).
    word: Option<String>,
    /// The previous character was an unquoted `(` (to spot `((`).
    prev_open: bool,
}

impl Frame {
    fn new(kind: FrameKind) -> Self {
        Frame {
            kind,
            quote: Quote::None,
            parens: 0,
            word_start: true,
            word: Some(String::new()),
            prev_open: false,
        }
    }
}

/// A here-document delimiter being read after `<<`.
struct Delimiter {
    started: bool,
    /// Right after `<<`, where `-` means `<<-`.
    fresh: bool,
    /// Whether a here-document was pending before this `<<` (in case it is `<<<`).
    was_pending: bool,
}

/// Follows the quoting of a shell script as a POSIX shell reads it, to know the context of
/// each value. Anything it cannot follow exactly stops it: from then on values are refused.
struct ShellLexer {
    cur: Frame,
    outer: Vec<Frame>,
    chunks: Vec<Chunk>,
    text: String,
    escaped: bool,
    dollar: bool,
    /// `$$` was just read: bash reads a `$(`, `${` or `$[` right after it as nested.
    after_pid: bool,
    /// `$(` was just read: a `(` next makes it `$((`.
    maybe_arith: bool,
    /// How many unquoted `<` in a row were just read.
    lt_run: u8,
    delimiter: Option<Delimiter>,
    heredoc_pending: bool,
    comment: bool,
    stopped: Option<&'static str>,
}

impl ShellLexer {
    fn new() -> Self {
        ShellLexer {
            cur: Frame::new(FrameKind::Top),
            outer: Vec::new(),
            chunks: Vec::new(),
            text: String::new(),
            escaped: false,
            dollar: false,
            after_pid: false,
            maybe_arith: false,
            lt_run: 0,
            delimiter: None,
            heredoc_pending: false,
            comment: false,
            stopped: None,
        }
    }

    fn stop(&mut self, reason: &'static str) {
        self.stopped.get_or_insert(reason);
    }

    fn push_frame(&mut self, kind: FrameKind) {
        let parent = std::mem::replace(&mut self.cur, Frame::new(kind));
        self.outer.push(parent);
    }

    fn pop_frame(&mut self) {
        if let Some(parent) = self.outer.pop() {
            self.cur = parent;
            self.cur.word_start = false;
            self.cur.word = None;
        }
    }

    fn feed(&mut self, c: char) {
        self.text.push(c);
        if self.stopped.is_some() {
            return;
        }
        if self.comment {
            if c == '\n' {
                self.comment = false;
                self.newline();
            }
            return;
        }
        if std::mem::take(&mut self.after_pid) && matches!(c, '(' | '{' | '[') {
            return self.stop(AFTER_PID);
        }
        let dollar = std::mem::take(&mut self.dollar);
        let maybe_arith = std::mem::take(&mut self.maybe_arith);
        let lt_run = std::mem::take(&mut self.lt_run);
        let prev_open = std::mem::take(&mut self.cur.prev_open);
        match (self.cur.kind, self.cur.quote) {
            (FrameKind::Backtick, _) => self.feed_backtick(c),
            (FrameKind::Param, _) => self.feed_param(c, dollar),
            (_, Quote::Single) => {
                if c == '\'' {
                    self.cur.quote = Quote::None;
                }
            }
            (_, Quote::Double) => self.feed_double(c, dollar),
            (_, Quote::None) => self.feed_unquoted(c, dollar, maybe_arith, lt_run, prev_open),
        }
    }

    fn feed_backtick(&mut self, c: char) {
        if std::mem::take(&mut self.escaped) {
            return;
        }
        match c {
            '\\' => self.escaped = true,
            '`' => self.pop_frame(),
            _ => {}
        }
    }

    fn feed_param(&mut self, c: char, dollar: bool) {
        if dollar && self.after_dollar(c, false) {
            return;
        }
        match c {
            '}' => self.pop_frame(),
            '$' => self.dollar = true,
            // Shells disagree on quotes and brace nesting inside `${...}`.
            '\'' | '"' | '\\' | '`' | '{' => self.stop(PARAM_QUOTES),
            _ => {}
        }
    }

    fn feed_double(&mut self, c: char, dollar: bool) {
        if std::mem::take(&mut self.escaped) {
            return;
        }
        if dollar && self.after_dollar(c, false) {
            return;
        }
        match c {
            '"' => self.cur.quote = Quote::None,
            '\\' => self.escaped = true,
            '$' => self.dollar = true,
            '`' => self.push_frame(FrameKind::Backtick),
            _ => {}
        }
    }

    fn feed_unquoted(
        &mut self,
        c: char,
        dollar: bool,
        maybe_arith: bool,
        lt_run: u8,
        prev_open: bool,
    ) {
        if std::mem::take(&mut self.escaped) {
            // A backslash-newline vanishes: the word (or word start) goes on.
            if c != '\n' {
                self.in_word(c, false);
            }
            return;
        }
        if maybe_arith && c == '(' {
            self.cur.kind = FrameKind::Arith;
            self.cur.parens = 1;
            return;
        }
        if dollar && self.after_dollar(c, true) {
            return;
        }
        let arith = self.cur.kind == FrameKind::Arith;
        if arith && matches!(c, '\'' | '"' | '\\' | '`') {
            return self.stop(ARITH_QUOTES);
        }
        match c {
            ' ' | '\t' => self.end_word(true),
            '\n' => {
                self.end_word(false);
                self.newline();
            }
            ';' | '&' | '|' | '>' => self.end_word(false),
            '<' => {
                self.end_word(false);
                self.lt_run = lt_run.saturating_add(1);
                if !arith {
                    self.redirect_in();
                }
            }
            '(' => {
                self.end_word(false);
                if prev_open && !arith {
                    return self.stop(DOUBLE_PAREN);
                }
                self.cur.parens += 1;
                self.cur.prev_open = true;
            }
            ')' => {
                self.end_word(false);
                if self.cur.parens > 0 {
                    self.cur.parens -= 1;
                } else if matches!(self.cur.kind, FrameKind::Subst | FrameKind::Arith) {
                    self.pop_frame();
                }
            }
            '#' if self.cur.word_start && !arith => self.comment = true,
            '\'' => {
                self.in_word(c, false);
                self.cur.quote = Quote::Single;
            }
            '"' => {
                self.in_word(c, false);
                self.cur.quote = Quote::Double;
            }
            // Word start is settled by the next character (a backslash-newline vanishes).
            '\\' => self.escaped = true,
            '$' => {
                self.in_word(c, false);
                self.dollar = true;
            }
            '`' => {
                self.in_word(c, false);
                self.push_frame(FrameKind::Backtick);
            }
            _ => self.in_word(c, true),
        }
    }

    /// The character after a `$` (outside single quotes); `true` when it was part of the
    /// expansion. `unquoted` when `$'...'` would be ANSI-C quoting in bash.
    fn after_dollar(&mut self, c: char, unquoted: bool) -> bool {
        match c {
            '(' => self.open_subst(),
            '{' => self.push_frame(FrameKind::Param),
            // bash reads `$[...]` as arithmetic, even inside double quotes.
            '[' => self.stop(OLD_ARITH),
            '\'' if unquoted => self.stop(ANSI_C),
            '$' => self.after_pid = true,
            c if is_special_param(c) => {}
            _ => return false,
        }
        true
    }

    fn open_subst(&mut self) {
        self.push_frame(FrameKind::Subst);
        self.maybe_arith = true;
    }

    /// An unquoted `<`: the second of a row starts a here-document, a third makes it `<<<`.
    fn redirect_in(&mut self) {
        match self.lt_run {
            2 => {
                self.delimiter = Some(Delimiter {
                    started: false,
                    fresh: true,
                    was_pending: self.heredoc_pending,
                });
                self.heredoc_pending = true;
            }
            3 => {
                if let Some(d) = self.delimiter.take() {
                    self.heredoc_pending = d.was_pending;
                }
            }
            _ => {}
        }
    }

    /// A character that is part of a word (`plain` when it may belong to a keyword).
    fn in_word(&mut self, c: char, plain: bool) {
        self.cur.word_start = false;
        match &mut self.cur.word {
            Some(word) if plain && (c.is_ascii_alphanumeric() || c == '_') => word.push(c),
            _ => self.cur.word = None,
        }
        if let Some(d) = &mut self.delimiter {
            if d.fresh && !d.started && c == '-' {
                d.fresh = false;
            } else {
                d.started = true;
            }
        }
    }

    /// An unquoted blank (`blank`) or operator character ends the current word.
    fn end_word(&mut self, blank: bool) {
        if self.cur.kind == FrameKind::Subst && self.cur.word.as_deref() == Some("case") {
            self.stop(CASE_IN_SUBST);
        }
        self.cur.word_start = true;
        self.cur.word = Some(String::new());
        if let Some(d) = &mut self.delimiter {
            if d.started || !blank {
                self.delimiter = None;
            } else {
                d.fresh = false;
            }
        }
    }

    /// An unquoted newline: a pending here-document's text starts here.
    fn newline(&mut self) {
        if self.heredoc_pending || self.delimiter.is_some() {
            self.stop(HEREDOC);
        }
    }

    fn value(&mut self, index: usize) -> Result<(), CommandError> {
        let unsafe_here = |reason| Err(CommandError::UnsafePlacement { index, reason });
        if let Some(reason) = self.stopped {
            return unsafe_here(reason);
        }
        if self.comment {
            // The shell ignores a comment, and so the value in it.
            return Ok(());
        }
        if self.escaped {
            return unsafe_here(AFTER_BACKSLASH);
        }
        if self.dollar {
            return unsafe_here(AFTER_DOLLAR);
        }
        for frame in self.outer.iter().chain(std::iter::once(&self.cur)) {
            match frame.kind {
                FrameKind::Top | FrameKind::Subst => {}
                FrameKind::Arith => return unsafe_here(IN_ARITH),
                FrameKind::Param => return unsafe_here(IN_PARAM),
                FrameKind::Backtick => return unsafe_here(IN_BACKQUOTES),
            }
        }
        if self.maybe_arith {
            // `$(` followed by a value: a command substitution, not arithmetic.
            self.maybe_arith = false;
        }
        if self.delimiter.is_some() {
            return unsafe_here(IN_DELIMITER);
        }
        let context = match self.cur.quote {
            Quote::None => Context::Unquoted,
            Quote::Single => Context::SingleQuoted,
            Quote::Double => Context::DoubleQuoted,
        };
        self.lt_run = 0;
        self.after_pid = false;
        self.cur.prev_open = false;
        self.cur.word_start = false;
        self.cur.word = None;
        if !self.text.is_empty() {
            self.chunks
                .push(Chunk::Text(std::mem::take(&mut self.text)));
        }
        self.chunks.push(Chunk::Value(index, context));
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<Chunk>, CommandError> {
        if self.stopped.is_none() {
            // The innermost open quote is the one never closed.
            for frame in std::iter::once(&self.cur).chain(self.outer.iter().rev()) {
                let quote = match (frame.kind, frame.quote) {
                    (FrameKind::Backtick, _) => Some('`'),
                    (_, Quote::Single) => Some('\''),
                    (_, Quote::Double) => Some('"'),
                    (_, Quote::None) => None,
                };
                if let Some(quote) = quote {
                    return Err(CommandError::UnbalancedQuote { quote });
                }
            }
        }
        if !self.text.is_empty() {
            self.chunks
                .push(Chunk::Text(std::mem::take(&mut self.text)));
        }
        self.chunks.shrink_to_fit();
        Ok(self.chunks)
    }
}

#[cfg(test)]
mod tests {

    proptest::proptest! {
        /// Plain text is split into the words the character-by-character reader makes.
        #[test]
        fn plain_words_are_the_splitters_words(text in "[a-z0-9_./,:+@% \t-]{0,30}") {
            let mut splitter = super::WordSplitter::default();
            for c in text.chars() {
                proptest::prop_assert!(splitter.feed(c));
            }
            let read = splitter.finish();
            let words = super::plain_words(&text);
            proptest::prop_assert!(words.is_some(), "not plain: {text:?}");
            let split = words.map(super::program_words);
            proptest::prop_assert_eq!(split, Some(read));
        }

        /// The one-pass test says what three substring searches say.
        #[test]
        fn names_a_reparser_is_a_substring_test(text in "[shuevalx -]{0,24}") {
            let expected = ["sh", "eval", "su"].iter().any(|name| text.contains(name));
            proptest::prop_assert_eq!(super::names_a_reparser(&text), expected);
        }
    }

    /// Every form of a program that parses its argument as a command again is refused with
    /// the program named; the same value as a positional argument, after the command
    /// text, or in a place no program re-reads, is not.
    #[test]
    fn values_reaching_a_second_parser_are_e0407() {
        let refused: &[(&[TextPart], &str)] = &[
            (&[lit("sh -c 'deploy "), val(0), lit("'")], "sh"),
            (&[lit("bash -c \"deploy "), val(0), lit("\"")], "bash"),
            (&[lit("/bin/sh -ec 'deploy "), val(0), lit("'")], "sh"),
            (
                &[lit("bash --norc -o pipefail -c 'deploy "), val(0), lit("'")],
                "bash",
            ),
            (&[lit("cd /tmp && sh -c 'deploy "), val(0), lit("'")], "sh"),
            (&[lit("sudo -u app sh -c 'deploy "), val(0), lit("'")], "sh"),
            (
                &[lit("docker exec web sh -c 'deploy "), val(0), lit("'")],
                "sh",
            ),
            (
                &[lit("kubectl exec pod -- sh -c 'deploy "), val(0), lit("'")],
                "sh",
            ),
            (
                &[lit("echo a | xargs sh -c 'deploy "), val(0), lit("'")],
                "sh",
            ),
            (&[lit("ssh host deploy "), val(0)], "ssh"),
            (
                &[
                    lit("ssh -p 22 -o BatchMode=yes host 'deploy "),
                    val(0),
                    lit("'"),
                ],
                "ssh",
            ),
            (&[lit("eval \"deploy "), val(0), lit("\"")], "eval"),
            (&[lit("su app -c 'deploy "), val(0), lit("'")], "su"),
            (&[lit("su --command='deploy "), val(0), lit("' app")], "su"),
        ];
        for (parts, program) in refused {
            let err = compile_err(parts);
            assert_eq!(code(&err), "E0407", "{parts:?}: {err}");
            assert!(err.to_string().contains(&format!("`{program}`")), "{err}");
        }
        let allowed: &[&[TextPart]] = &[
            &[lit("sh -c 'deploy \"$1\"' sh "), val(0)],
            &[lit("bash -c 'deploy \"$TARGET\"' && echo "), val(0)],
            &[lit("ssh "), val(0), lit(" uptime")],
            &[lit("sh ./deploy.sh "), val(0)],
            &[lit("grep -c "), val(0), lit(" file")],
        ];
        for parts in allowed {
            assert!(compile(parts).is_ok(), "{parts:?}");
        }
        // The refused forms are real holes: the value quoted for the outer shell, as flowc
        // would splice it, still runs in the inner one.
        let dir = scratch();
        let script = "sh -c 'echo deploy ''x; touch pwned'''";
        run_in(&["sh".into(), "-c".into(), script.into()], dir.path());
        assert!(
            dir.path().join("pwned").exists(),
            "the inner shell re-reads the value"
        );
        // `exec` lists are checked with the same rules.
        let args = [Arg::literal("sh"), Arg::literal("-c"), {
            let mut a = Arg::literal("deploy ");
            a.push_value(0);
            a
        }];
        assert_eq!(reparsed(&args), Some((0, "sh".to_string())));
    }

    #[test]
    fn shell_words_are_sorted_for_the_binary_search() {
        let mut sorted = SHELL_WORDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, SHELL_WORDS);
        assert_eq!(SHELL_WORDS.len(), 52);
    }

    use super::*;
    use miette::Diagnostic;
    use proptest::prelude::*;
    use std::path::Path;
    use std::process::Command;

    fn lit(s: &str) -> TextPart {
        TextPart::Literal(s.to_string())
    }

    fn val(i: usize) -> TextPart {
        TextPart::Value(i)
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn code(e: &CommandError) -> String {
        e.code().map(|c| c.to_string()).unwrap_or_default()
    }

    fn build(parts: &[TextPart], values: &[&str]) -> Invocation {
        let template = compile(parts).expect("compiles");
        render(&template, &strings(values)).expect("renders")
    }

    fn compile_err(parts: &[TextPart]) -> CommandError {
        compile(parts).expect_err("is refused")
    }

    /// Values that would do damage or change shape if they reached a shell unquoted.
    const HOSTILE: &[&str] = &[
        "$(touch pwned)",
        "\"; id #",
        "`touch pwned`",
        "' ; touch pwned ; '",
        "a\nb",
        "*",
        "~",
        "$HOME",
        "-rf /",
        "\\",
        "\\\\",
        "ü 名前",
        "",
        "'",
        "\"",
        "'\"'\"",
        "; touch pwned",
        "&& touch pwned",
        "| touch pwned",
        "\ntouch pwned\n",
        ") ; touch pwned ; (",
        "$'\\x41' ; touch pwned",
        "#",
        "~/x",
        "a b\tc",
        "${HOME}",
        "} ; touch pwned ; {",
        "<<EOF\ntouch pwned\nEOF",
        "\\'",
        "trailing\n",
    ];

    /// A script that prints its argument count, then each argument in brackets.
    const COUNT: &str = r#"sh -c 'printf "%s\n" "$#"; for a; do printf "[%s]" "$a"; done' argv0 "#;

    /// Runs an argv in `dir` and returns its stdout; HOME points elsewhere so that a `~`
    /// or `$HOME` expanded by mistake would show.
    fn run_in(argv: &[String], dir: &Path) -> String {
        let (program, args) = argv.split_first().expect("a program");
        let out = Command::new(program)
            .args(args)
            .current_dir(dir)
            .env("HOME", "/nonexistent-home")
            .output()
            .expect("starts");
        assert!(
            out.status.success(),
            "{argv:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// A fresh directory with a file in it, so that an unquoted `*` would expand to it.
    fn scratch() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("decoy"), "").expect("decoy");
        dir
    }

    fn bash_available() -> bool {
        Command::new("bash")
            .args(["-c", "true"])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The argv of an invocation, and for a script the same under bash and bash --posix
    /// too, since `sh` is bash on some systems.
    fn argvs(inv: &Invocation) -> Vec<Vec<String>> {
        let mut argvs = vec![inv.argv()];
        if let Invocation::Shell { script } = inv {
            if bash_available() {
                argvs.push(strings(&["bash", "-c", script]));
                argvs.push(strings(&["bash", "--posix", "-c", script]));
            }
        }
        argvs
    }

    /// Runs the invocation (and, for a script, also under bash and bash --posix) and checks
    /// its output and that nothing was created.
    fn check_runs(inv: &Invocation, expected: &str, what: &str) {
        for argv in argvs(inv) {
            let dir = scratch();
            let out = run_in(&argv, dir.path());
            assert_eq!(out, expected, "{what}: output of {argv:?}");
            assert!(
                !dir.path().join("pwned").exists(),
                "{what}: {argv:?} created a file"
            );
            let entries = std::fs::read_dir(dir.path()).expect("dir").count();
            assert_eq!(entries, 1, "{what}: {argv:?} created files");
        }
    }

    #[test]
    fn hostile_values_are_one_literal_argument_without_a_shell() {
        for v in HOSTILE {
            let what = format!("value {v:?}");

            // printf receives the value byte for byte.
            let inv = build(&[lit("printf %s "), val(0)], &[v]);
            assert!(matches!(inv, Invocation::Exec { .. }), "{what}: {inv:?}");
            check_runs(&inv, v, &what);

            // Exactly one argument carries it: alone, inside a word, in quotes.
            let inv = build(&[lit(COUNT), val(0)], &[v]);
            assert!(matches!(inv, Invocation::Exec { .. }), "{what}: {inv:?}");
            check_runs(&inv, &format!("1\n[{v}]"), &what);

            let inv = build(&[lit(COUNT), lit("pre"), val(0), lit("post")], &[v]);
            check_runs(&inv, &format!("1\n[pre{v}post]"), &what);

            let parts = [
                lit(COUNT),
                lit("\"<"),
                val(0),
                lit(">\" 'x"),
                val(0),
                lit("'"),
            ];
            let inv = build(&parts, &[v]);
            assert!(matches!(inv, Invocation::Exec { .. }), "{what}: {inv:?}");
            check_runs(&inv, &format!("2\n[<{v}>][x{v}]"), &what);
        }
    }

    #[test]
    fn hostile_values_are_one_literal_argument_under_a_shell() {
        for v in HOSTILE {
            let what = format!("value {v:?}");
            let shell = |parts: &[TextPart]| {
                let inv = build(parts, &[v]);
                assert!(matches!(inv, Invocation::Shell { .. }), "{what}: {inv:?}");
                inv
            };

            // Byte for byte through a pipe.
            let inv = shell(&[lit("printf '%s' "), val(0), lit(" | cat")]);
            check_runs(&inv, v, &what);

            // Exactly one argument, unquoted in the literal text.
            let inv = shell(&[lit(COUNT), val(0), lit(" | cat")]);
            check_runs(&inv, &format!("1\n[{v}]"), &what);

            // Inside a literal single-quoted section.
            let inv = shell(&[lit(COUNT), lit("'pre "), val(0), lit(" post' | cat")]);
            check_runs(&inv, &format!("1\n[pre {v} post]"), &what);

            // Inside a literal double-quoted section.
            let inv = shell(&[lit(COUNT), lit("\"pre "), val(0), lit(" post\" | cat")]);
            check_runs(&inv, &format!("1\n[pre {v} post]"), &what);

            // Inside `$(...)` inside double quotes (the `x` keeps trailing newlines).
            let parts = [
                lit(COUNT),
                lit("\"$(printf '%sx' "),
                val(0),
                lit(")\" | cat"),
            ];
            let inv = shell(&parts);
            check_runs(&inv, &format!("1\n[{v}x]"), &what);

            // After `&&`, with a second use in a comment (dropped).
            let parts = [lit("true && "), lit(COUNT), val(0), lit(" # note "), val(0)];
            let inv = shell(&parts);
            check_runs(&inv, &format!("1\n[{v}]"), &what);

            // After `$$` (the PID), a value is data too, as in `/tmp/x.$$-NAME`.
            let inv = shell(&[lit(COUNT), lit("$$-"), val(0), lit(" | cat")]);
            let dir = scratch();
            let out = run_in(&inv.argv(), dir.path());
            let arg = out
                .strip_prefix("1\n[")
                .and_then(|rest| rest.strip_suffix(&format!("-{v}]")))
                .unwrap_or_else(|| panic!("{what}: after `$$`: {out:?}"));
            assert!(arg.chars().all(|c| c.is_ascii_digit()), "{what}: {out:?}");
            assert!(!dir.path().join("pwned").exists(), "{what}: after `$$`");
        }
    }

    #[test]
    fn literal_quotes_group_words() {
        let inv = build(&[lit("grep -E '^## [0-9]+' CHANGELOG.md")], &[]);
        assert_eq!(
            inv,
            Invocation::Exec {
                argv: strings(&["grep", "-E", "^## [0-9]+", "CHANGELOG.md"])
            }
        );
        let inv = build(&[lit(r#"a"b c"d 'e f'\ g "\$\"\\\x" '' x\"#)], &[]);
        assert_eq!(
            inv.argv(),
            strings(&["ab cd", "e f g", r#"$"\\x"#, "", "x\\"])
        );
        let inv = build(
            &[lit("docker run app="), val(0), lit("@"), val(1)],
            &["nginx latest", "sha256:ab;cd"],
        );
        assert_eq!(
            inv.argv(),
            strings(&["docker", "run", "app=nginx latest@sha256:ab;cd"])
        );
        // Quoted or escaped operators are plain characters.
        let inv = build(&[lit(r#"echo 'a|b' "c;d" e\&f x=1 a~b a#b"#)], &[]);
        assert_eq!(
            inv.argv(),
            strings(&["echo", "a|b", "c;d", "e&f", "x=1", "a~b", "a#b"])
        );
    }

    #[test]
    fn values_stand_in_their_word_even_when_empty() {
        let inv = build(&[lit("echo "), val(0), lit(" x"), val(1)], &["", ""]);
        assert_eq!(inv.argv(), strings(&["echo", "", "x"]));
        let inv = build(&[lit("echo "), val(0), lit("#~")], &["a b"]);
        assert_eq!(inv.argv(), strings(&["echo", "a b#~"]));
    }

    #[test]
    fn shell_syntax_forces_a_shell() {
        for text in [
            "make && make install",
            "a || b",
            "a | b",
            "a & b",
            "a; b",
            "a < in",
            "a > out",
            "(a)",
            "echo $HOME",
            "echo $(date)",
            "echo `date`",
            "ls *.rs",
            "ls ?",
            "ls [ab]",
            "ls ~",
            "ls ~/x",
            "make # comment",
            "a\nb",
            "echo \"$HOME\"",
            "echo \"`date`\"",
            "cd sub",
            "exit 1",
            "! true",
            "FOO=1 env",
            "if true",
        ] {
            let t = compile(&[lit(text)]).expect("compiles");
            assert!(t.uses_shell(), "{text:?} should use a shell");
            let inv = render(&t, &[]).expect("renders");
            assert_eq!(inv.argv(), strings(&["sh", "-c", text]));
        }
        for text in [
            "echo 'a;b'",
            "echo \\;",
            "echo FOO=1",
            "'FOO'=1 x",
            "a\\\nb",
        ] {
            let t = compile(&[lit(text)]).expect("compiles");
            assert!(!t.uses_shell(), "{text:?} should not use a shell");
        }
        assert_eq!(build(&[lit("a\\\nb")], &[]).argv(), strings(&["ab"]));
    }

    #[test]
    fn shell_splices_values_closing_and_reopening_quotes() {
        let inv = build(
            &[
                lit("echo a"),
                val(0),
                lit(" 'b"),
                val(0),
                lit("c' \"d"),
                val(0),
                lit("e\" | cat"),
            ],
            &["it's"],
        );
        assert_eq!(
            inv,
            Invocation::Shell {
                script: r#"echo a'it'\''s' 'b''it'\''s''c' "d"'it'\''s'"e" | cat"#.to_string()
            }
        );
        check_runs(&inv, "ait's bit'sc dit'se\n", "quotes");
    }

    #[test]
    fn and_and_forces_a_shell_and_runs_both() {
        let inv = build(
            &[lit("printf %s "), val(0), lit(" && printf %s "), val(0)],
            &["$(touch pwned)"],
        );
        assert!(matches!(inv, Invocation::Shell { .. }));
        check_runs(&inv, "$(touch pwned)$(touch pwned)", "&&");
    }

    #[test]
    fn values_before_a_here_document_body_are_fine() {
        let parts = [lit("cat <<EOF > "), val(0), lit("\nhello\nEOF\n")];
        let inv = build(&parts, &["out file"]);
        let dir = tempfile::tempdir().expect("temp dir");
        run_in(&inv.argv(), dir.path());
        let written = std::fs::read_to_string(dir.path().join("out file")).expect("written");
        assert_eq!(written, "hello\n");
    }

    #[test]
    fn a_value_in_a_comment_is_dropped_even_after_a_line_continuation() {
        let inv = build(&[lit("echo a \\\n# "), val(0)], &["x\ntouch pwned\n"]);
        check_runs(&inv, "a\n", "continuation");
        let inv = build(&[lit("echo hi # "), val(0)], &["\ntouch pwned"]);
        check_runs(&inv, "hi\n", "comment");
    }

    #[test]
    fn values_the_shell_would_misread_are_refused() {
        let cases: &[(&[TextPart], &str)] = &[
            (&[lit("echo `echo "), val(0), lit("`")], IN_BACKQUOTES),
            (&[lit("echo \"`echo "), val(0), lit("`\"")], IN_BACKQUOTES),
            (&[lit("echo $(("), val(0), lit(" + 1))")], IN_ARITH),
            (&[lit("echo ${HOME:-"), val(0), lit("}")], IN_PARAM),
            (&[lit("cat <<"), val(0)], IN_DELIMITER),
            (&[lit("cat << 'E"), val(0), lit("'")], IN_DELIMITER),
            (&[lit("cat <<EOF\n"), val(0), lit("\nEOF")], HEREDOC),
            (&[lit("echo \\"), val(0)], AFTER_BACKSLASH),
            (
                &[lit("echo \"\\"), val(0), lit("\" | cat")],
                AFTER_BACKSLASH,
            ),
            (&[lit("echo $"), val(0), lit(" | cat")], AFTER_DOLLAR),
            (&[lit("echo \"$"), val(0), lit("\" | cat")], AFTER_DOLLAR),
            (&[lit("echo $'a' "), val(0)], ANSI_C),
            (&[lit("echo $[1] "), val(0)], OLD_ARITH),
            (&[lit("echo \"$[1] "), val(0), lit("\"")], OLD_ARITH),
            (&[lit("echo \"$$(\""), val(0), lit("\")\"")], AFTER_PID),
            (&[lit("echo $${a} "), val(0)], AFTER_PID),
            (&[lit("(( n = "), val(0), lit(" ))")], DOUBLE_PAREN),
            (&[lit("echo ${a:-'x'} "), val(0)], PARAM_QUOTES),
            (&[lit("echo $(( '1' )) "), val(0)], ARITH_QUOTES),
            (
                &[lit("echo $(case a in a) echo "), val(0), lit(";; esac)")],
                CASE_IN_SUBST,
            ),
        ];
        for (parts, reason) in cases {
            let err = compile_err(parts);
            assert_eq!(
                err,
                CommandError::UnsafePlacement { index: 0, reason },
                "{parts:?}"
            );
            assert_eq!(code(&err), "E0404");
        }
        // The same constructs without values after them are fine.
        for text in [
            "echo `date` $((1 + 2)) ${HOME:-/}",
            "cat <<EOF\nit's\nEOF",
            "echo $'a'",
        ] {
            assert!(compile(&[lit(text)]).is_ok(), "{text:?}");
        }
        // Values before them, and in `$(...)` with parentheses, are fine.
        let inv = build(
            &[
                lit("echo "),
                val(0),
                lit(" $(echo (x) | (cat)) $((1+2)) "),
                val(0),
            ],
            &["v"],
        );
        assert!(matches!(inv, Invocation::Shell { .. }));
    }

    #[test]
    fn nul_in_a_value_is_e0401_naming_the_value() {
        let t = compile(&[lit("echo "), val(0), lit(" "), val(1)]).expect("compiles");
        let err = render(&t, &strings(&["ok", "a\0b"])).expect_err("refused");
        assert_eq!(err, CommandError::NulInValue { index: 1 });
        assert_eq!(code(&err), "E0401");
        let err = exec(&strings(&["printf", "\0"])).expect_err("refused");
        assert_eq!(err, CommandError::NulInValue { index: 1 });
        let err = compile_err(&[lit("echo a\0b")]);
        assert_eq!(err, CommandError::NulInText);
        assert_eq!(code(&err), "E0405");
    }

    #[test]
    fn unbalanced_literal_quotes_are_e0402() {
        for (text, quote) in [
            ("echo 'abc", '\''),
            ("echo \"abc", '"'),
            ("echo \"it's", '"'),
            ("ls | echo 'x", '\''),
            ("echo `date", '`'),
            ("echo \"$(echo ')\"", '\''),
        ] {
            let err = compile_err(&[lit(text)]);
            assert_eq!(err, CommandError::UnbalancedQuote { quote }, "{text:?}");
            assert_eq!(code(&err), "E0402");
        }
        let err = compile_err(&[lit("echo '"), val(0)]);
        assert_eq!(err, CommandError::UnbalancedQuote { quote: '\'' });
    }

    #[test]
    fn empty_commands_are_e0403() {
        for text in ["", "   \t ", "''", "\"\" x"] {
            let err = compile_err(&[lit(text)]);
            assert_eq!(err, CommandError::EmptyCommand, "{text:?}");
            assert_eq!(code(&err), "E0403");
        }
        let t = compile(&[val(0), lit(" --version")]).expect("compiles");
        let err = render(&t, &strings(&[""])).expect_err("refused");
        assert_eq!(err, CommandError::EmptyCommand);
        assert_eq!(exec(&[]).expect_err("refused"), CommandError::EmptyCommand);
        assert_eq!(
            exec(&strings(&["", "x"])).expect_err("refused"),
            CommandError::EmptyCommand
        );
    }

    #[test]
    fn missing_values_are_reported() {
        let t = compile(&[lit("echo "), val(2)]).expect("compiles");
        let err = render(&t, &strings(&["a"])).expect_err("refused");
        assert_eq!(err, CommandError::MissingValue { index: 2, count: 1 });
        assert_eq!(code(&err), "E0406");
    }

    #[test]
    fn exec_lists_never_use_a_shell() {
        let argv = strings(&[
            "sh",
            "-c",
            COUNT.trim_start_matches("sh -c "),
            "$(touch pwned)",
        ]);
        let inv = exec(&argv).expect("valid");
        assert_eq!(inv, Invocation::Exec { argv: argv.clone() });
        assert_eq!(inv.argv(), argv);
        let inv = exec(&strings(&["printf", "%s", "$(touch pwned) `id` ~ *"])).expect("valid");
        check_runs(&inv, "$(touch pwned) `id` ~ *", "exec");
    }

    fn tricky_string() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            '\'', '"', '\\', '$', '`', '(', ')', '{', '}', ';', '|', '&', '<', '>', '\n', ' ',
            '\t', '*', '?', '[', '~', '#', '!', '=', '-',
        ]);
        let any = any::<char>().prop_filter("no NUL", |c| *c != '\0');
        prop::collection::vec(prop_oneof![3 => special, 1 => any], 0..24)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn any_value_arrives_intact_in_every_context(v in tricky_string()) {
            let expected = format!("1\n[@{v}%]");
            for parts in [
                vec![lit(COUNT), lit("@"), val(0), lit("%")],
                vec![lit(COUNT), lit("@"), val(0), lit("% | cat")],
                vec![lit(COUNT), lit("'@"), val(0), lit("%' | cat")],
                vec![lit(COUNT), lit("\"@"), val(0), lit("%\" | cat")],
                vec![lit(COUNT), lit("\"$(printf %s @"), val(0), lit("%)\" | cat")],
            ] {
                let inv = build(&parts, &[&v]);
                for argv in argvs(&inv) {
                    let dir = scratch();
                    prop_assert_eq!(&run_in(&argv, dir.path()), &expected);
                    prop_assert!(!dir.path().join("pwned").exists());
                }
            }
        }
    }
}
