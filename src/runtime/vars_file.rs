//! Vars files (`--vars-file F`): a file's text in, its parameter values out as a tree of
//! [`Node`]s that keep their byte span in the file, so that a value that does not fit its
//! parameter can be reported at its line and column ([`super::params`] checks the values
//! against the declared types). The kind of file is chosen by its extension ([`Kind`]):
//!
//! - JSON (`.json`): strict RFC 8259 (no comments, no trailing commas), read by
//!   `jsonc-parser` with every extension off, since serde_json keeps no positions.
//! - TOML (`.toml`): read by `toml`'s spanned document parser.
//! - YAML (`.yaml`, `.yml`): YAML 1.2, read from the events of `saphyr-parser`, the
//!   maintained successor of yaml-rust (serde_yaml is unmaintained, serde_yml withdrawn).
//!   A plain (unquoted) scalar is kept as written ([`Data::Plain`]) and read as the type its
//!   parameter declares, so `country: no` is the text `no` for a `string` parameter and
//!   `version: 1.10` is `"1.10"`, not the number 1.1; a quoted scalar is always text.
//!   `~`, `null` and an empty value mean "not set", as JSON's `null` does. Anchors and
//!   aliases are expanded (at most [`MAX_ALIASED`] values in all, so that a "billion
//!   laughs" file is refused), one document only; merge keys (`<<`) are ordinary keys and
//!   tags other than the core schema's are refused.
//!
//! At the top, every kind holds a map of names to values (an empty TOML or YAML file is
//! an empty map), nested at most [`MAX_DEPTH`] deep; a key given twice is an error.

use std::collections::HashMap;
use std::path::Path;

use saphyr_parser::{Event, ScalarStyle};

use crate::source::Span;

/// The kinds of vars file, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `.json`
    Json,
    /// `.toml`
    Toml,
    /// `.yaml` or `.yml`
    Yaml,
}

/// The extensions flowc reads, for messages.
pub const SUPPORTED: &str = "`.json` (JSON), `.toml` (TOML), `.yaml` or `.yml` (YAML)";

impl Kind {
    /// The kind of the file at `path`, by its extension (in any case).
    pub fn of(path: &Path) -> Option<Kind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Kind::Json),
            "toml" => Some(Kind::Toml),
            "yaml" | "yml" => Some(Kind::Yaml),
            _ => None,
        }
    }

    /// Its name: `JSON`, `TOML`, `YAML`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Json => "JSON",
            Kind::Toml => "TOML",
            Kind::Yaml => "YAML",
        }
    }

    /// What it calls a list, for messages: `an array`, `a sequence`.
    pub fn list(self) -> &'static str {
        match self {
            Kind::Json | Kind::Toml => "an array",
            Kind::Yaml => "a sequence",
        }
    }

    /// What it calls a map, for messages: `an object`, `a table`, `a mapping`.
    pub fn map(self) -> &'static str {
        match self {
            Kind::Json => "an object",
            Kind::Toml => "a table",
            Kind::Yaml => "a mapping",
        }
    }
}

/// How deep values may nest (a list in a map is two deep).
pub const MAX_DEPTH: usize = 128;

/// How many values YAML aliases may expand to, in all.
pub const MAX_ALIASED: usize = 1_000_000;

/// One value of a vars file and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub data: Data,
    /// Its text in the file (empty for a value that was not read from a file).
    pub span: Span,
}

/// A vars-file value, before it is read as a parameter's type.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// `null`: not set.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON or TOML number, in decimal (`3`, `-2.5e3`, `inf` for TOML's infinity).
    Number(String),
    /// A quoted string: every JSON and TOML string, a quoted YAML scalar.
    Str(String),
    /// A YAML plain scalar, as written: read as the type of the parameter it is for.
    Plain(String),
    /// A TOML date or time, as written.
    Datetime(String),
    /// An array, TOML array or YAML sequence.
    List(Vec<Node>),
    /// An object, TOML table or YAML mapping, in file order.
    Map(Vec<Entry>),
}

/// One key of a map and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// The key's text in the file.
    pub key_span: Span,
    /// Its value.
    pub value: Node,
}

impl Node {
    /// Whether it means "not set": `null`, or in YAML `~`, `null` or nothing.
    pub fn is_null(&self) -> bool {
        match &self.data {
            Data::Null => true,
            Data::Plain(text) => matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"),
            _ => false,
        }
    }

    /// What kind of value it is, in the words of a file of kind `kind`: `a string`, `an
    /// array`, `a mapping`.
    pub fn kind(&self, kind: Kind) -> &'static str {
        if self.is_null() {
            return "null";
        }
        match &self.data {
            Data::Null => "null",
            Data::Bool(_) => "a bool",
            Data::Number(_) => "a number",
            Data::Str(_) | Data::Plain(_) => "a string",
            Data::Datetime(_) => "a date-time",
            Data::List(_) => kind.list(),
            Data::Map(_) => kind.map(),
        }
    }

    /// A JSON value (of a `--var` flag) as a node without a place in a file.
    pub fn from_json(value: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        let data = match value {
            J::Null => Data::Null,
            J::Bool(b) => Data::Bool(*b),
            J::Number(n) => Data::Number(n.to_string()),
            J::String(s) => Data::Str(s.clone()),
            J::Array(items) => Data::List(items.iter().map(Node::from_json).collect()),
            J::Object(entries) => Data::Map(
                entries
                    .iter()
                    .map(|(k, v)| Entry {
                        key: k.clone(),
                        key_span: Span::default(),
                        value: Node::from_json(v),
                    })
                    .collect(),
            ),
        };
        Node {
            data,
            span: Span::default(),
        }
    }
}

/// Why a file's text cannot be read as a vars file.
#[derive(Clone, Debug, PartialEq)]
pub struct Unreadable {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub span: Span,
    /// What the span shows.
    pub label: String,
    /// Another place that matters (where a key given twice was first given).
    pub also: Option<(Span, String)>,
    /// What to do about it, when there is more to say than how a vars file looks.
    pub help: Option<String>,
}

impl Unreadable {
    fn at(span: Span, message: impl Into<String>, label: impl Into<String>) -> Unreadable {
        Unreadable {
            message: message.into(),
            span,
            label: label.into(),
            also: None,
            help: None,
        }
    }

    /// A syntax error of a file of kind `kind` at `offset`, with the parser's `message`.
    fn syntax(kind: Kind, offset: usize, message: impl std::fmt::Display) -> Unreadable {
        Unreadable {
            help: Some(format!(
                "the file is read as {} because of its extension; fix the syntax at the marked place",
                kind.name()
            )),
            ..Unreadable::at(
                Span::new(offset, offset),
                format!("it is not valid {}: {message}", kind.name()),
                "here",
            )
        }
    }
}

/// Reads a vars file of kind `kind`: the entries of the map at its top, in file order.
pub fn parse(kind: Kind, text: &str) -> Result<Vec<Entry>, Unreadable> {
    let top = match kind {
        Kind::Json => json(text)?,
        Kind::Toml => toml(text)?,
        Kind::Yaml => match yaml(text)? {
            Some(node) if !node.is_null() => node,
            // An empty file or document sets nothing.
            _ => return Ok(Vec::new()),
        },
    };
    check_keys(&top)?;
    match top.data {
        Data::Map(entries) => Ok(entries),
        _ => Err(Unreadable::at(
            top.span,
            format!(
                "expected a map of parameter names to values, found {}",
                top.kind(kind)
            ),
            "this is the whole file's value",
        )),
    }
}

/// Refuses a map that has a key twice, at any depth.
fn check_keys(node: &Node) -> Result<(), Unreadable> {
    match &node.data {
        Data::Map(entries) => {
            let mut seen: HashMap<&str, Span> = HashMap::new();
            for e in entries {
                if let Some(first) = seen.insert(&e.key, e.key_span) {
                    return Err(Unreadable {
                        also: Some((first, "first given here".to_string())),
                        help: Some("give each key once".to_string()),
                        ..Unreadable::at(
                            e.key_span,
                            format!("the key `{}` is given twice", e.key),
                            "given again here",
                        )
                    });
                }
                check_keys(&e.value)?;
            }
            Ok(())
        }
        Data::List(items) => items.iter().try_for_each(check_keys),
        _ => Ok(()),
    }
}

fn span(range: std::ops::Range<usize>) -> Span {
    Span::new(range.start, range.end)
}

// ---------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------

/// Strict JSON: every extension jsonc-parser knows is off.
fn json(text: &str) -> Result<Node, Unreadable> {
    let options = jsonc_parser::ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let parsed =
        jsonc_parser::parse_to_ast(text, &jsonc_parser::CollectOptions::default(), &options)
            .map_err(|e| {
                let r = e.range();
                Unreadable {
                    span: Span::new(r.start, r.end),
                    ..Unreadable::syntax(Kind::Json, r.start, e.kind())
                }
            })?;
    match parsed.value {
        Some(value) => Ok(json_node(&value)),
        None => Err(Unreadable::at(
            Span::new(0, 0),
            "it is empty, not a JSON object",
            "here",
        )),
    }
}

fn json_node(value: &jsonc_parser::ast::Value<'_>) -> Node {
    use jsonc_parser::ast::Value as J;
    let at = |r: &jsonc_parser::common::Range| Span::new(r.start, r.end);
    let (data, span) = match value {
        J::NullKeyword(n) => (Data::Null, at(&n.range)),
        J::BooleanLit(b) => (Data::Bool(b.value), at(&b.range)),
        J::NumberLit(n) => (Data::Number(n.value.to_string()), at(&n.range)),
        J::StringLit(s) => (Data::Str(s.value.to_string()), at(&s.range)),
        J::Array(a) => (
            Data::List(a.elements.iter().map(json_node).collect()),
            at(&a.range),
        ),
        J::Object(o) => (
            Data::Map(
                o.properties
                    .iter()
                    .map(|p| {
                        let (key, key_span) = match &p.name {
                            jsonc_parser::ast::ObjectPropName::String(s) => {
                                (s.value.to_string(), at(&s.range))
                            }
                            jsonc_parser::ast::ObjectPropName::Word(w) => {
                                (w.value.to_string(), at(&w.range))
                            }
                        };
                        Entry {
                            key,
                            key_span,
                            value: json_node(&p.value),
                        }
                    })
                    .collect(),
            ),
            at(&o.range),
        ),
    };
    Node { data, span }
}

// ---------------------------------------------------------------------------------------
// TOML
// ---------------------------------------------------------------------------------------

fn toml(text: &str) -> Result<Node, Unreadable> {
    let doc = toml::de::DeTable::parse(text).map_err(|e| {
        let at = e.span().map_or(Span::new(0, 0), span);
        Unreadable {
            span: at,
            ..Unreadable::syntax(Kind::Toml, at.start as usize, e.message())
        }
    })?;
    Ok(Node {
        data: toml_table(doc.get_ref()),
        span: span(doc.span()),
    })
}

fn toml_table(table: &toml::de::DeTable<'_>) -> Data {
    let mut entries: Vec<Entry> = table
        .iter()
        .map(|(k, v)| Entry {
            key: k.get_ref().to_string(),
            key_span: span(k.span()),
            value: toml_node(v),
        })
        .collect();
    // The table is ordered by key; messages follow the file.
    entries.sort_by_key(|e| e.key_span.start);
    Data::Map(entries)
}

fn toml_node(value: &toml::Spanned<toml::de::DeValue<'_>>) -> Node {
    use toml::de::DeValue as T;
    let data = match value.get_ref() {
        T::String(s) => Data::Str(s.to_string()),
        T::Integer(i) => Data::Number(
            i64::from_str_radix(i.as_str(), i.radix())
                .map_or_else(|_| i.to_string(), |n| n.to_string()),
        ),
        T::Float(f) => Data::Number(f.as_str().to_string()),
        T::Boolean(b) => Data::Bool(*b),
        T::Datetime(d) => Data::Datetime(d.to_string()),
        T::Array(items) => Data::List(items.iter().map(toml_node).collect()),
        T::Table(t) => toml_table(t),
    };
    Node {
        data,
        span: span(value.span()),
    }
}

// ---------------------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------------------

/// A collection being read from YAML events.
enum Open {
    List {
        items: Vec<Node>,
        start: usize,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        key: Option<(String, Span)>,
        start: usize,
        anchor: usize,
    },
}

/// A YAML text's one document (`None` when it has none), built from the parser's events.
fn yaml(text: &str) -> Result<Option<Node>, Unreadable> {
    // saphyr counts positions in characters; spans are bytes.
    let bytes: Vec<usize> = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()))
        .collect();
    let byte = |chars: usize| bytes.get(chars).copied().unwrap_or(text.len());
    let at = |s: &saphyr_parser::Span| Span::new(byte(s.start.index()), byte(s.end.index()));
    let mut open: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut aliased = 0usize;
    let mut documents = 0;
    let mut top: Option<Node> = None;
    for item in saphyr_parser::Parser::new_from_str(text) {
        let (event, place) =
            item.map_err(|e| Unreadable::syntax(Kind::Yaml, byte(e.marker().index()), e.info()))?;
        let here = at(&place);
        let done: (Node, usize) = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(Unreadable {
                        help: Some(
                            "put every value in one document: a vars file is one map".to_string(),
                        ),
                        ..Unreadable::at(
                            here,
                            "it holds more than one YAML document",
                            "a second document starts here",
                        )
                    });
                }
                continue;
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                if let Some(tag) = tag.as_ref().filter(|t| !t.is_yaml_core_schema()) {
                    return Err(unsupported_tag(here, tag));
                }
                if open.len() >= MAX_DEPTH {
                    return Err(Unreadable::at(
                        here,
                        format!("values nest more than {MAX_DEPTH} deep"),
                        "too deep",
                    ));
                }
                let start = here.start as usize;
                open.push(if matches!(event, Event::SequenceStart(..)) {
                    Open::List {
                        items: Vec::new(),
                        start,
                        anchor,
                    }
                } else {
                    Open::Map {
                        entries: Vec::new(),
                        key: None,
                        start,
                        anchor,
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop() {
                Some(Open::List {
                    items,
                    start,
                    anchor,
                }) => (
                    Node {
                        data: Data::List(items),
                        span: Span::new(start, here.end as usize),
                    },
                    anchor,
                ),
                Some(Open::Map {
                    entries,
                    start,
                    anchor,
                    ..
                }) => (
                    Node {
                        data: Data::Map(entries),
                        span: Span::new(start, here.end as usize),
                    },
                    anchor,
                ),
                None => continue,
            },
            Event::Scalar(value, style, anchor, tag) => {
                let data = match tag {
                    None if style == ScalarStyle::Plain => Data::Plain(value.into_owned()),
                    None => Data::Str(value.into_owned()),
                    // `!!str 123`, and the non-specific tag `! 123`: text.
                    Some(t)
                        if (t.is_yaml_core_schema() && t.suffix == "str")
                            || (t.handle == "!" && t.suffix.is_empty()) =>
                    {
                        Data::Str(value.into_owned())
                    }
                    Some(t) if t.is_yaml_core_schema() && t.suffix == "null" => Data::Null,
                    Some(t)
                        if t.is_yaml_core_schema()
                            && matches!(t.suffix.as_str(), "bool" | "int" | "float") =>
                    {
                        Data::Plain(value.into_owned())
                    }
                    Some(t) => return Err(unsupported_tag(here, &t)),
                };
                (Node { data, span: here }, anchor)
            }
            Event::Alias(id) => {
                let Some((node, size)) = anchors.get(&id) else {
                    return Err(Unreadable::at(here, "an alias names no anchor", "here"));
                };
                aliased += size;
                if aliased > MAX_ALIASED {
                    return Err(Unreadable::at(
                        here,
                        format!("its aliases expand to more than {MAX_ALIASED} values"),
                        "this alias goes past the limit",
                    ));
                }
                // Reported where it is used: that is where the value is given.
                let mut node = node.clone();
                relocate(&mut node, here);
                (node, 0)
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
        };
        let (node, anchor) = done;
        if anchor != 0 {
            anchors.insert(anchor, (node.clone(), size(&node)));
        }
        match open.last_mut() {
            None => top = Some(node),
            Some(Open::List { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                Some((key, key_span)) => entries.push(Entry {
                    key,
                    key_span,
                    value: node,
                }),
                None => match node.data {
                    Data::Str(text) | Data::Plain(text) => *key = Some((text, node.span)),
                    _ => {
                        return Err(Unreadable::at(
                            node.span,
                            format!("a key must be text, not {}", node.kind(Kind::Yaml)),
                            "this key",
                        ))
                    }
                },
            },
        }
    }
    Ok(top)
}

fn unsupported_tag(at: Span, tag: &saphyr_parser::Tag) -> Unreadable {
    Unreadable {
        help: Some(
            "write the value without the tag (`!!str` may stay, to make a value text)".to_string(),
        ),
        ..Unreadable::at(
            at,
            format!("the YAML tag `{tag}` is not supported"),
            "this tag",
        )
    }
}

/// Gives `node` and everything in it the span `at`.
fn relocate(node: &mut Node, at: Span) {
    node.span = at;
    match &mut node.data {
        Data::List(items) => items.iter_mut().for_each(|n| relocate(n, at)),
        Data::Map(entries) => entries.iter_mut().for_each(|e| {
            e.key_span = at;
            relocate(&mut e.value, at);
        }),
        _ => {}
    }
}

/// How many values a node holds, itself included.
fn size(node: &Node) -> usize {
    1 + match &node.data {
        Data::List(items) => items.iter().map(size).sum(),
        Data::Map(entries) => entries.iter().map(|e| size(&e.value)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_at(text: &str, s: Span) -> &str {
        &text[s.start as usize..s.end as usize]
    }

    fn entries(kind: Kind, text: &str) -> Vec<Entry> {
        parse(kind, text).expect("parses")
    }

    #[test]
    fn kinds_are_chosen_by_extension() {
        assert_eq!(Kind::of(Path::new("a.json")), Some(Kind::Json));
        assert_eq!(Kind::of(Path::new("a.TOML")), Some(Kind::Toml));
        assert_eq!(Kind::of(Path::new("dir/a.yml")), Some(Kind::Yaml));
        assert_eq!(Kind::of(Path::new("a.yaml")), Some(Kind::Yaml));
        assert_eq!(Kind::of(Path::new("a.ini")), None);
        assert_eq!(Kind::of(Path::new("/dev/fd/63")), None);
    }

    #[test]
    fn every_kind_keeps_spans_of_keys_and_values() {
        let json = "{\n  \"target\": \"prod\",\n  \"regions\": [\"eu\", 1]\n}";
        let toml = "target = \"prod\"\nregions = [\"eu\", 1]\n";
        let yaml = "target: prod\nregions:\n  - eu\n  - 1\n";
        for (kind, text) in [(Kind::Json, json), (Kind::Toml, toml), (Kind::Yaml, yaml)] {
            let e = entries(kind, text);
            assert_eq!(e.len(), 2, "{kind:?}");
            assert_eq!(e[0].key, "target");
            assert!(text_at(text, e[0].key_span).contains("target"), "{kind:?}");
            assert!(text_at(text, e[0].value.span).contains("prod"), "{kind:?}");
            let Data::List(items) = &e[1].value.data else {
                panic!("{kind:?}: a list");
            };
            assert_eq!(text_at(text, items[1].span), "1", "{kind:?}");
        }
    }

    #[test]
    fn yaml_plain_scalars_are_kept_as_written() {
        let e = entries(
            Kind::Yaml,
            "country: no\nversion: 1.10\nquoted: \"1.10\"\nnothing: ~\ntagged: !!str 3\n",
        );
        assert_eq!(e[0].value.data, Data::Plain("no".to_string()));
        assert_eq!(e[1].value.data, Data::Plain("1.10".to_string()));
        assert_eq!(e[2].value.data, Data::Str("1.10".to_string()));
        assert!(e[3].value.is_null());
        assert_eq!(e[4].value.data, Data::Str("3".to_string()));
    }

    #[test]
    fn yaml_aliases_are_expanded_and_bounded() {
        let text = "base: &r [eu, us]\nregions: *r\n";
        let e = entries(Kind::Yaml, text);
        let Data::List(items) = &e[1].value.data else {
            panic!("a list");
        };
        let plain = |t: &str| Data::Plain(t.to_string());
        assert_eq!(items[0].data, plain("eu"));
        assert_eq!(items[1].data, plain("us"));
        // The copy is where the alias is: that is where the value is given.
        assert!(items.iter().all(|i| text_at(text, i.span) == "*r"));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, name) in ["b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
            let prev = if i == 0 {
                "a"
            } else {
                ["b", "c", "d", "e", "f", "g"][i - 1]
            };
            bomb.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let err = parse(Kind::Yaml, &bomb).expect_err("too many values");
        assert!(
            err.message.contains("expand to more than"),
            "{}",
            err.message
        );
    }

    #[test]
    fn files_that_are_no_map_of_values_are_refused() {
        for (kind, text, why) in [
            (Kind::Json, "[1]", "found an array"),
            (Kind::Json, "", "empty"),
            (Kind::Json, "{\"a\": 1,}", "not valid JSON"),
            (Kind::Json, "{\"a\": 1, \"a\": 2}", "`a` is given twice"),
            (Kind::Toml, "a = ", "not valid TOML"),
            (Kind::Toml, "a = 1\na = 2", "not valid TOML"),
            (Kind::Yaml, "- a\n", "found a sequence"),
            (Kind::Yaml, "a: [1\n", "not valid YAML"),
            (
                Kind::Yaml,
                "a: 1\n---\nb: 2\n",
                "more than one YAML document",
            ),
            (Kind::Yaml, "a: 1\na: 2\n", "`a` is given twice"),
            (Kind::Yaml, "a: !Ref x\n", "tag `!Ref`"),
            (Kind::Yaml, "[a]: 1\n", "a key must be text"),
        ] {
            let err = parse(kind, text).expect_err(text);
            assert!(err.message.contains(why), "{text:?}: {}", err.message);
        }
        assert!(entries(Kind::Toml, "").is_empty());
        assert!(entries(Kind::Yaml, "# nothing\n").is_empty());
        assert!(entries(Kind::Yaml, "---\n").is_empty());
    }

    #[test]
    fn deep_yaml_is_refused() {
        let deep = format!(
            "a: {}{}\n",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        let err = parse(Kind::Yaml, &deep).expect_err("too deep");
        assert!(
            err.message.contains("nest") || err.message.contains("recursion"),
            "{}",
            err.message
        );
    }

    #[test]
    fn spans_are_bytes_after_multibyte_text() {
        let text = "name: \"héllo wörld\"\ncount: x\n";
        let e = entries(Kind::Yaml, text);
        assert_eq!(text_at(text, e[1].value.span), "x");
        assert_eq!(text_at(text, e[1].key_span), "count");
    }
}
