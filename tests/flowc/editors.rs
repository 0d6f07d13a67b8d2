//! Drift between the language and its editor grammars. The keywords (`kw_*` rules of
//! grammar/flow.pest), the builtin types (the checker's `TYPE_NAMES`) and the builtin
//! functions (`BUILTINS`) are read from their sources of truth; each editor file listed in
//! [`EDITOR_FILES`] is read with its own small extractor, and must highlight every one of
//! them, and nothing else as a keyword.
//!
//! Adding an editor file is one line in [`EDITOR_FILES`]. Extractors exist for TextMate
//! JSON, tree-sitter `grammar.js` and query files, Vim `syn keyword` lists and Emacs Lisp
//! lists of strings.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::root;

/// A set of words.
type Words = BTreeSet<String>;

/// What an editor file highlights. `None`: the file does not list that class (a grammar
/// that tokenizes keywords but leaves types to its highlight queries, say).
#[derive(Debug, Default)]
struct Highlighted {
    /// Words highlighted as keywords (keyword scopes, keyword captures, keyword groups).
    keywords: Option<Words>,
    /// Words highlighted as builtin types.
    types: Option<Words>,
    /// Words highlighted as builtin functions.
    functions: Option<Words>,
}

/// One editor file and the extractor that reads it.
struct EditorFile {
    /// Path from the repository root.
    path: &'static str,
    /// Reads the file's text.
    read: fn(&str) -> Highlighted,
}

/// Every editor file whose highlighting must follow the language.
const EDITOR_FILES: &[EditorFile] = &[
    EditorFile {
        path: "editors/vscode/syntaxes/flow.tmLanguage.json",
        read: textmate,
    },
    EditorFile {
        path: "editors/tree-sitter-flow/grammar.js",
        read: tree_sitter_grammar,
    },
    EditorFile {
        path: "editors/tree-sitter-flow/queries/highlights.scm",
        read: query,
    },
    EditorFile {
        path: "editors/neovim/queries/flow/highlights.scm",
        read: query,
    },
    EditorFile {
        path: "editors/helix/runtime/queries/flow/highlights.scm",
        read: query,
    },
    // Vim highlights builtin functions with a pattern (only where called), not a keyword
    // list, so only its keywords and types are compared.
    EditorFile {
        path: "editors/vim/syntax/flow.vim",
        read: |s| vim(s, &["flowKeyword"], &["flowType"], &[]),
    },
    EditorFile {
        path: "editors/emacs/flow-mode.el",
        read: |s| {
            elisp(
                s,
                "flow-mode-keywords",
                "flow-mode-types",
                Some("flow-mode-builtins"),
            )
        },
    },
];

// ---------------------------------------------------------------------------------------
// The language
// ---------------------------------------------------------------------------------------

/// The keywords: the word of every `kw_NAME = @{ "WORD" ~ !ident_char }` rule.
fn language_keywords() -> Words {
    let pest = std::fs::read_to_string(root().join("grammar/flow.pest")).expect("flow.pest");
    pest.lines()
        .filter(|line| line.starts_with("kw_"))
        .map(|line| first_quoted(line, '"').expect("a kw_ rule has its word in quotes"))
        .collect()
}

/// The literal words, highlighted as constants rather than keywords: `bool_lit`.
fn language_literals() -> Words {
    let pest = std::fs::read_to_string(root().join("grammar/flow.pest")).expect("flow.pest");
    let line = pest
        .lines()
        .find(|line| line.starts_with("bool_lit"))
        .expect("flow.pest has bool_lit");
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn language_types() -> Words {
    flowc::check::types::TYPE_NAMES
        .iter()
        .map(|t| t.to_string())
        .collect()
}

fn language_functions() -> Words {
    flowc::stdlib::builtins::BUILTINS
        .iter()
        .map(|b| b.name.to_string())
        .collect()
}

/// The text between the first two `quote`s of `line`.
fn first_quoted(line: &str, quote: char) -> Option<String> {
    let mut parts = line.split(quote);
    parts.next()?;
    parts.next().map(str::to_string)
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

// ---------------------------------------------------------------------------------------
// TextMate grammars
// ---------------------------------------------------------------------------------------

/// A TextMate grammar: the words of every regex (or capture group) whose scope is a
/// `keyword.*`, `support.type.*`/`storage.type.*` or `support.function.*` scope. Only
/// groups that are plain alternations of words (`(run|exec)`) count.
fn textmate(text: &str) -> Highlighted {
    let grammar: Value = serde_json::from_str(text).expect("TextMate grammar is JSON");
    let mut scoped = Vec::new();
    collect_textmate(&grammar, &mut scoped);
    let mut out = Highlighted {
        keywords: Some(Words::new()),
        types: Some(Words::new()),
        functions: Some(Words::new()),
    };
    for (scope, words) in scoped {
        let class = if scope.starts_with("keyword.") {
            &mut out.keywords
        } else if scope.starts_with("support.type.") || scope.starts_with("storage.type.") {
            &mut out.types
        } else if scope.starts_with("support.function.") {
            &mut out.functions
        } else {
            continue;
        };
        class.get_or_insert_with(Words::new).extend(words);
    }
    out
}

/// Every (scope, words) pair of a grammar, from `match` rules and their `captures`.
fn collect_textmate(value: &Value, out: &mut Vec<(String, Words)>) {
    match value {
        Value::Object(rule) => {
            if let Some(regex) = rule.get("match").and_then(Value::as_str) {
                let groups = regex_groups(regex);
                if let Some(name) = rule.get("name").and_then(Value::as_str) {
                    let words = groups.iter().flat_map(|g| alternation(&g.text)).collect();
                    out.push((name.to_string(), words));
                }
                if let Some(Value::Object(captures)) = rule.get("captures") {
                    for (index, capture) in captures {
                        let Some(name) = capture.get("name").and_then(Value::as_str) else {
                            continue;
                        };
                        let index: usize = index.parse().expect("capture index");
                        let text = if index == 0 {
                            Some(regex.to_string())
                        } else {
                            groups
                                .iter()
                                .filter(|g| g.capturing)
                                .nth(index - 1)
                                .map(|g| g.text.clone())
                        };
                        let words = text.map(|t| alternation(&t)).unwrap_or_default();
                        out.push((name.to_string(), words.into_iter().collect()));
                    }
                }
            }
            for child in rule.values() {
                collect_textmate(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_textmate(item, out)),
        _ => {}
    }
}

/// A parenthesised group of a regex.
#[derive(Debug, PartialEq)]
struct Group {
    /// `(...)` rather than `(?:...)`, `(?=...)`, ...
    capturing: bool,
    /// The text between the parentheses, without a leading `?:`.
    text: String,
}

/// The groups of a regex, in the order of their opening parentheses (the order in which
/// capture groups are numbered).
fn regex_groups(regex: &str) -> Vec<Group> {
    let chars: Vec<char> = regex.chars().collect();
    let mut groups: Vec<Group> = Vec::new();
    let mut open: Vec<(usize, usize)> = Vec::new(); // (index in groups, start of text)
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => {
                let capturing = chars.get(i + 1) != Some(&'?');
                let start = if chars.get(i + 1..i + 3) == Some(&['?', ':'][..]) {
                    i + 3
                } else {
                    i + 1
                };
                open.push((groups.len(), start));
                groups.push(Group {
                    capturing,
                    text: String::new(),
                });
            }
            ')' if !in_class => {
                if let Some((index, start)) = open.pop() {
                    groups[index].text = chars[start..i].iter().collect();
                }
            }
            _ => {}
        }
        i += 1;
    }
    groups
}

/// The words of a plain alternation `a|b|c`; nothing for any other regex.
fn alternation(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split('|').collect();
    if words.iter().all(|w| is_word(w)) {
        words.into_iter().map(str::to_string).collect()
    } else {
        Vec::new()
    }
}

// ---------------------------------------------------------------------------------------
// Tree-sitter
// ---------------------------------------------------------------------------------------

/// A tree-sitter `grammar.js`: the words it tokenizes, i.e. every single-quoted word
/// from `rules:` on, except field names (`field('name', ...)`). (Types and functions are
/// names there; the queries highlight them.)
fn tree_sitter_grammar(text: &str) -> Highlighted {
    let rules = &text[text.find("rules:").expect("grammar.js has rules")..];
    let pieces: Vec<&str> = rules.split('\'').collect();
    let keywords = pieces
        .iter()
        .enumerate()
        .skip(1)
        .step_by(2)
        .filter(|(i, _)| !pieces[i - 1].trim_end().ends_with("field("))
        .map(|(_, s)| *s)
        .filter(|s| is_word(s))
        .map(str::to_string)
        .collect();
    Highlighted {
        keywords: Some(keywords),
        types: None,
        functions: None,
    }
}

/// A token of a tree-sitter query file.
#[derive(Debug, PartialEq)]
enum QueryToken {
    Open(char),
    Close(char),
    String(String),
    Capture(String),
    Atom(String),
}

fn query_tokens(text: &str) -> Vec<QueryToken> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ';' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' => tokens.push(QueryToken::Open(c)),
            ')' | ']' => tokens.push(QueryToken::Close(c)),
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => s.extend(chars.next()),
                        '"' => break,
                        _ => s.push(c),
                    }
                }
                tokens.push(QueryToken::String(s));
            }
            c if c.is_whitespace() => {}
            _ => {
                let mut s = String::from(c);
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || "()[]\";".contains(c) {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                match s.strip_prefix('@') {
                    Some(name) => tokens.push(QueryToken::Capture(name.to_string())),
                    None => tokens.push(QueryToken::Atom(s)),
                }
            }
        }
    }
    tokens
}

/// A tree-sitter query file (highlights.scm, for tree-sitter, Neovim or Helix): words
/// given a capture directly (`"run" @keyword`, `["run" "exec"] @keyword`) or through a
/// predicate (`(#any-of? @type.builtin "int" "bool")`, `(#eq? @keyword "max")`).
/// `@keyword*` captures are keywords, `@type.builtin*` types, `@function.builtin*`
/// functions.
fn query(text: &str) -> Highlighted {
    let tokens = query_tokens(text);
    let mut captured: Vec<(String, String)> = Vec::new(); // (capture, word)
    let mut bracket: Vec<Vec<String>> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let next_capture = match tokens.get(i + 1) {
            Some(QueryToken::Capture(name)) => Some(name),
            _ => None,
        };
        match token {
            QueryToken::Open('[') => bracket.push(Vec::new()),
            QueryToken::Close(']') => {
                let words = bracket.pop().unwrap_or_default();
                if let Some(name) = next_capture {
                    captured.extend(words.into_iter().map(|w| (name.clone(), w)));
                }
            }
            QueryToken::String(s) => {
                if let Some(words) = bracket.last_mut() {
                    words.push(s.clone());
                } else if let Some(name) = next_capture {
                    captured.push((name.clone(), s.clone()));
                }
            }
            QueryToken::Atom(predicate) if predicate.starts_with('#') => {
                let Some(QueryToken::Capture(name)) = tokens.get(i + 1) else {
                    continue;
                };
                for token in &tokens[i + 2..] {
                    match token {
                        QueryToken::String(s) => captured.push((name.clone(), s.clone())),
                        _ => break,
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Highlighted {
        keywords: Some(Words::new()),
        types: Some(Words::new()),
        functions: Some(Words::new()),
    };
    for (capture, word) in captured {
        if !is_word(&word) {
            continue;
        }
        let class = if capture.starts_with("keyword") {
            &mut out.keywords
        } else if capture.starts_with("type.builtin") {
            &mut out.types
        } else if capture.starts_with("function.builtin") {
            &mut out.functions
        } else {
            continue;
        };
        class.get_or_insert_with(Words::new).insert(word);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Vim and Emacs
// ---------------------------------------------------------------------------------------

/// The words of every `syn[tax] keyword GROUP [options] words...` line, by group.
fn vim_keyword_groups(text: &str) -> BTreeMap<String, Words> {
    const OPTIONS: &[&str] = &[
        "contained",
        "transparent",
        "skipwhite",
        "skipnl",
        "skipempty",
        "display",
        "fold",
        "extend",
        "oneline",
        "keepend",
        "excludenl",
        "conceal",
    ];
    let mut groups: BTreeMap<String, Words> = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let command = parts.next().unwrap_or_default();
        if !matches!(command, "syn" | "synt" | "synta" | "syntax")
            || parts.next() != Some("keyword")
        {
            continue;
        }
        let Some(group) = parts.next() else { continue };
        let words = parts.filter(|w| !w.contains('=') && !OPTIONS.contains(w));
        groups
            .entry(group.to_string())
            .or_default()
            .extend(words.map(str::to_string));
    }
    groups
}

/// A Vim syntax file: the words of the named keyword, type and function groups.
fn vim(
    text: &str,
    keyword_groups: &[&str],
    type_groups: &[&str],
    function_groups: &[&str],
) -> Highlighted {
    let groups = vim_keyword_groups(text);
    let union = |names: &[&str]| -> Option<Words> {
        (!names.is_empty()).then(|| {
            names
                .iter()
                .flat_map(|n| groups.get(*n).cloned().unwrap_or_default())
                .collect()
        })
    };
    Highlighted {
        keywords: union(keyword_groups),
        types: union(type_groups),
        functions: union(function_groups),
    }
}

/// The strings of the list bound by `(defconst NAME '("a" "b"))` (or `defvar`,
/// `defcustom`); `None` if there is no such binding.
fn elisp_string_list(text: &str, name: &str) -> Option<Words> {
    let start = ["defconst", "defvar", "defcustom"].iter().find_map(|def| {
        let pattern = format!("({def} {name}");
        text.match_indices(&pattern)
            .map(|(i, _)| i + pattern.len())
            .find(|&end| text[end..].starts_with(char::is_whitespace))
    })?;
    let rest = &text[start..];
    let list = &rest[rest.find('(')? + 1..];
    let mut words = Words::new();
    let mut depth = 0usize;
    let mut chars = list.chars();
    while let Some(c) = chars.next() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(words),
            ')' => depth -= 1,
            ';' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => s.extend(chars.next()),
                        '"' => break,
                        _ => s.push(c),
                    }
                }
                words.insert(s);
            }
            _ => {}
        }
    }
    None
}

/// An Emacs mode: the lists bound to the named keyword, type and function variables.
fn elisp(text: &str, keywords: &str, types: &str, functions: Option<&str>) -> Highlighted {
    Highlighted {
        keywords: Some(elisp_string_list(text, keywords).unwrap_or_default()),
        types: Some(elisp_string_list(text, types).unwrap_or_default()),
        functions: functions.map(|f| elisp_string_list(text, f).unwrap_or_default()),
    }
}

// ---------------------------------------------------------------------------------------
// The drift test
// ---------------------------------------------------------------------------------------

/// What is wrong with one file's highlighting, one line per problem; empty if nothing.
fn drift(file: &str, found: &Highlighted) -> Vec<String> {
    let keywords = language_keywords();
    let literals = language_literals();
    let mut problems = Vec::new();
    let mut missing = |class: &str, expected: &Words, found: &Option<Words>| {
        if let Some(found) = found {
            for word in expected.difference(found) {
                problems.push(format!("{file}: `{word}` is not highlighted as a {class}"));
            }
        }
    };
    missing("keyword", &keywords, &found.keywords);
    missing("type", &language_types(), &found.types);
    missing("builtin function", &language_functions(), &found.functions);
    for word in found.keywords.iter().flatten() {
        if !keywords.contains(word) && !literals.contains(word) {
            problems.push(format!(
                "{file}: `{word}` is highlighted as a keyword, but the language has no such keyword"
            ));
        }
    }
    problems
}

#[test]
fn the_language_sources_are_read() {
    let keywords = language_keywords();
    for word in [
        "workflow",
        "on_failure_of",
        "max",
        "max_parallel",
        "jitter",
        "checkpoint",
    ] {
        assert!(keywords.contains(word), "{word} missing from {keywords:?}");
    }
    assert_eq!(keywords.len(), 36, "{keywords:?}");
    assert_eq!(
        language_literals(),
        ["false", "true"].map(String::from).into()
    );
    assert!(language_types().contains("duration"));
    assert!(language_functions().contains("starts_with"));
}

#[test]
fn editor_files_highlight_exactly_the_language() {
    let mut problems = Vec::new();
    for file in EDITOR_FILES {
        let text = std::fs::read_to_string(root().join(file.path))
            .unwrap_or_else(|e| panic!("{}: {e}", file.path));
        let found = (file.read)(&text);
        assert!(
            found.keywords.as_ref().is_some_and(|k| !k.is_empty()),
            "{}: no keywords found; is the extractor right for this file?",
            file.path
        );
        problems.extend(drift(file.path, &found));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn drift_reports_missing_and_unknown_keywords() {
    let mut keywords = language_keywords();
    keywords.remove("retry");
    keywords.insert("while".to_string());
    let found = Highlighted {
        keywords: Some(keywords),
        types: Some(["string".to_string()].into()),
        functions: None,
    };
    let problems = drift("f", &found);
    assert!(problems.contains(&"f: `retry` is not highlighted as a keyword".to_string()));
    assert!(problems.contains(&"f: `int` is not highlighted as a type".to_string()));
    assert!(problems
        .iter()
        .any(|p| p.contains("`while` is highlighted as a keyword")));
    assert!(!problems.iter().any(|p| p.contains("builtin function")));
}

fn words(list: &[&str]) -> Option<Words> {
    Some(list.iter().map(|w| w.to_string()).collect())
}

#[test]
fn textmate_extraction() {
    let grammar = r#"{ "repository": {
        "kw": { "patterns": [
            { "name": "keyword.control.flow", "match": "(?<![.\\w])(after|when)\\b(?!\\s*:)" },
            { "match": "(step)\\s+([A-Za-z_]\\w*)", "captures": {
                "1": { "name": "keyword.declaration.flow" },
                "2": { "name": "entity.name.function.flow" } } },
            { "name": "keyword.operator.flow", "match": "==|!=" }
        ] },
        "types": { "match": "(?<=[:<])\\s*(?:x|(int|bool))\\b",
                   "captures": { "1": { "name": "support.type.builtin.flow" } } },
        "fns": { "name": "support.function.builtin.flow", "match": "\\b(len|[a-z]+)\\b" }
    } }"#;
    let found = textmate(grammar);
    assert_eq!(found.keywords, words(&["after", "step", "when"]));
    assert_eq!(found.types, words(&["bool", "int"]));
    assert_eq!(found.functions, words(&[]));
}

#[test]
fn regex_groups_number_capturing_groups() {
    let groups = regex_groups(r"(?:a|(b))[(]\((c|d)");
    assert_eq!(
        groups,
        vec![
            Group {
                capturing: false,
                text: "a|(b)".into()
            },
            Group {
                capturing: true,
                text: "b".into()
            },
            Group {
                capturing: true,
                text: "c|d".into()
            },
        ]
    );
}

#[test]
fn tree_sitter_grammar_extraction() {
    let grammar = "module.exports = grammar({\n  name: 'flow',\n  rules: {\n    \
                   a: $ => seq('step', field('name', $.b), optional('on_failure_of'), '{'),\n  },\n});";
    let found = tree_sitter_grammar(grammar);
    assert_eq!(found.keywords, words(&["on_failure_of", "step"]));
    assert_eq!(found.types, None);
}

#[test]
fn query_extraction() {
    let scm = r#"
; "comment" @keyword
["step" "after"] @keyword
"for" @keyword.repeat
"==" @keyword.operator
"true" @boolean
((type_identifier) @type.builtin
  (#any-of? @type.builtin "int" "string"))
((identifier) @function.builtin (#eq? @function.builtin "len"))
(identifier) @variable
"#;
    let found = query(scm);
    assert_eq!(found.keywords, words(&["after", "for", "step"]));
    assert_eq!(found.types, words(&["int", "string"]));
    assert_eq!(found.functions, words(&["len"]));
}

#[test]
fn vim_extraction() {
    let vim_syntax = "\
syn keyword flowKeyword workflow task step
syntax keyword flowKeyword contained nextgroup=flowName skipwhite after
syn keyword flowType string int
syn match flowNumber \"\\<\\d\\+\\>\"
\" syn keyword flowKeyword commented
";
    let found = vim(vim_syntax, &["flowKeyword"], &["flowType"], &[]);
    assert_eq!(
        found.keywords,
        words(&["after", "step", "task", "workflow"])
    );
    assert_eq!(found.types, words(&["int", "string"]));
    assert_eq!(found.functions, None);
}

#[test]
fn elisp_extraction() {
    let el = r#"
(defconst flow-keywords-extra '("nope"))
(defconst flow-keywords
  '("workflow" "step" ; a comment with "quotes"
    "on_failure_of")
  "The keywords.")
(defvar flow-types '("string" "int"))
"#;
    let found = elisp(el, "flow-keywords", "flow-types", None);
    assert_eq!(
        found.keywords,
        words(&["on_failure_of", "step", "workflow"])
    );
    assert_eq!(found.types, words(&["int", "string"]));
    assert_eq!(elisp_string_list(el, "flow-missing"), None);
}
