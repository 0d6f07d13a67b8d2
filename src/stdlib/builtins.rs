//! The builtin functions: their signatures, which the checker uses, and their docs.

/// A parameter or result type in a builtin's signature; `A` is one type variable shared by
/// the whole signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sig {
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `bool`.
    Bool,
    /// `duration`.
    Dur,
    /// Any type that can be written as text (string, int, float, bool, duration).
    Scalar,
    /// `string`, `list<A>` or `map<A>`.
    Sized,
    /// `list<string>`.
    ListStr,
    /// `list<A>`.
    ListA,
    /// `map<A>`.
    MapA,
    /// `A`.
    A,
    /// For `contains`: what the first argument holds (a string's substring, a list's
    /// element, a map's key).
    ElemOfFirst,
    /// Any type but `secret` (for `to_json`, whose text would show the secret).
    Data,
    /// `secret` (or `string`): for `is_set`, the one question a secret answers.
    Secret,
}

/// A builtin function.
#[derive(Debug)]
pub struct Builtin {
    /// Its name.
    pub name: &'static str,
    /// Parameter names and types.
    pub params: &'static [(&'static str, Sig)],
    /// How many of the parameters (at the end) may be left out.
    pub optional: usize,
    /// The result type.
    pub ret: Sig,
    /// Its `///` documentation, one entry per line.
    pub docs: &'static [&'static str],
}

impl Builtin {
    /// The documentation as text: the `///` lines joined, without their leading space.
    pub fn doc(&self) -> String {
        self.docs
            .iter()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The signature as the language would write it: `split(s: string, sep: string) ->
    /// list<string>`; optional parameters are shown in brackets.
    pub fn signature(&self) -> String {
        let required = self.params.len() - self.optional;
        let params: Vec<String> = self
            .params
            .iter()
            .enumerate()
            .map(|(i, (n, t))| {
                let p = format!("{n}: {}", sig_text(*t));
                if i >= required {
                    format!("[{p}]")
                } else {
                    p
                }
            })
            .collect();
        format!(
            "{}({}) -> {}",
            self.name,
            params.join(", "),
            sig_text(self.ret)
        )
    }
}

/// A [`Sig`] as a type written in the language (`A` is the signature's type variable).
fn sig_text(s: Sig) -> &'static str {
    match s {
        Sig::Str => "string",
        Sig::Int => "int",
        Sig::Float => "float",
        Sig::Bool => "bool",
        Sig::Dur => "duration",
        Sig::Scalar => "string|int|float|bool|duration",
        Sig::Sized => "string|list<A>|map<A>",
        Sig::ListStr => "list<string>",
        Sig::ListA => "list<A>",
        Sig::MapA => "map<A>",
        Sig::A => "A",
        Sig::ElemOfFirst => "string|A",
        Sig::Data => "A",
        Sig::Secret => "secret",
    }
}

macro_rules! builtins {
    ($($(#[doc = $doc:literal])* fn $name:ident ($($p:ident : $t:ident),*) $(opt $opt:literal)? -> $ret:ident;)*) => {
        /// Every builtin function, sorted by name.
        pub const BUILTINS: &[Builtin] = &[
            $(Builtin {
                name: stringify!($name),
                params: &[$((stringify!($p), Sig::$t)),*],
                optional: 0 $(+ $opt)?,
                ret: Sig::$ret,
                docs: &[$($doc),*],
            },)*
        ];
    };
}

// The `///` comments below are the documentation `flowc doc builtins` shows and
// docs/stdlib.md lists. Keep the list sorted by name (lookup is a binary search).
builtins! {
    /// The last component of a path: `basename("dist/app.tar.gz")` is `"app.tar.gz"`.
    fn basename(path: Str) -> Str;
    /// The elements of `a` followed by those of `b`.
    fn concat(a: ListA, b: ListA) -> ListA;
    /// Whether a string has a substring, a list an element, or a map a key.
    fn contains(haystack: Sized, needle: ElemOfFirst) -> Bool;
    /// A path without its last component: `dirname("dist/app.tar.gz")` is `"dist"`.
    fn dirname(path: Str) -> Str;
    /// Whether `s` ends with `suffix`.
    fn ends_with(s: Str, suffix: Str) -> Bool;
    /// An environment variable of the flowc process. Without a default, an unset
    /// variable fails the run (E0422).
    fn env(name: Str, default: Str) opt 1 -> Str;
    /// A time (RFC 3339 text, as `now()` gives) written with a strftime format:
    /// `format_time(now(), "%Y-%m-%d")`. Bad input fails with E0456.
    fn format_time(time: Str, format: Str) -> Str;
    /// The value at `key`, or `default` when the map has no such key.
    fn get(map: MapA, key: Str, default: A) -> A;
    /// The commit hash of HEAD in flowc's working directory (runs `git rev-parse HEAD`).
    fn git_sha() -> Str;
    /// Whether a secret is set, that is not empty: `when is_set(token)` runs a step only
    /// when a token is configured (`secret token = env("TOKEN", "")`). It reveals that and
    /// nothing else about the value: secrets cannot be compared (`token != ""` is E0207),
    /// measured or searched.
    fn is_set(secret: Secret) -> Bool;
    /// The items joined with `sep` between them.
    fn join(items: ListStr, sep: Str) -> Str;
    /// One field of a JSON document as text, by a dotted path: `json_get(text,
    /// "image.tags.0")`. Strings come without quotes; objects and arrays as JSON. Text
    /// that is not JSON, or a path that is not there, fails with E0455.
    fn json_get(json: Str, path: Str) -> Str;
    /// The keys of a map, sorted.
    fn keys(map: MapA) -> ListStr;
    /// The number of characters of a string, or elements of a list or map.
    fn len(value: Sized) -> Int;
    /// `s` in lower case.
    fn lower(s: Str) -> Str;
    /// The current time, RFC 3339 in UTC, to the second.
    fn now() -> Str;
    /// Reads a float; text that is not one fails with E0422.
    fn parse_float(s: Str) -> Float;
    /// Reads an int; text that is not one fails with E0422.
    fn parse_int(s: Str) -> Int;
    /// Parses JSON into a typed value of the type of `default`: `parse_json(text, [""])`
    /// is a `list<string>`, `parse_json(text, { replicas: 0 })` a `map<int>`, and
    /// `parse_json(text, { name: "", replicas: 0 })` a record (an object with at least
    /// those fields, each of its type; other fields are left out). Empty text gives
    /// `default`; JSON of another type fails with E0455.
    fn parse_json(text: Str, default: A) -> A;
    /// `path` joined onto `base`, with one separator: `path_join("dist", "app")`.
    fn path_join(base: Str, path: Str) -> Str;
    /// `s` with every `from` replaced by `to`.
    fn replace(s: Str, from: Str, to: Str) -> Str;
    /// The id of the current run (as in `workflow.run_id`).
    fn run_id() -> Str;
    /// A duration in whole seconds, rounded down.
    fn seconds(d: Dur) -> Int;
    /// The SHA-256 digest of `s` (its UTF-8 bytes), as 64 lowercase hex digits.
    fn sha256(s: Str) -> Str;
    /// `s` split at every `sep`.
    fn split(s: Str, sep: Str) -> ListStr;
    /// Whether `s` starts with `prefix`.
    fn starts_with(s: Str, prefix: Str) -> Bool;
    /// Any value (but a secret) as JSON text: `to_json({ text: "deployed ${v}" })`;
    /// a record is an object, `to_json({ name: "web", replicas: 3 })` is
    /// `{"name":"web","replicas":3}` (keys in name order). Durations are written as text,
    /// `"1h30m"`.
    fn to_json(value: Data) -> Str;
    /// A value written as text.
    fn to_string(value: Scalar) -> Str;
    /// `s` without leading and trailing whitespace.
    fn trim(s: Str) -> Str;
    /// `s` in upper case.
    fn upper(s: Str) -> Str;
    /// The values of a map, in key order.
    fn values(map: MapA) -> ListA;
}

/// Finds a builtin by name.
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS
        .binary_search_by(|b| b.name.cmp(name))
        .ok()
        .map(|i| &BUILTINS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_documented() {
        for pair in BUILTINS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} is out of order",
                pair[1].name
            );
        }
        for b in BUILTINS {
            assert!(!b.docs.is_empty(), "`{}` has no doc comment", b.name);
            assert_eq!(lookup(b.name).map(|f| f.name), Some(b.name));
        }
    }

    #[test]
    fn signatures_read_like_the_language() {
        let get = lookup("get").expect("get");
        assert_eq!(
            get.signature(),
            "get(map: map<A>, key: string, default: A) -> A"
        );
        let env = lookup("env").expect("env");
        assert_eq!(
            env.signature(),
            "env(name: string, [default: string]) -> string"
        );
    }
}
