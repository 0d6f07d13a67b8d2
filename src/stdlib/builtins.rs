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
    /// One line of documentation.
    pub doc: &'static str,
}

macro_rules! builtins {
    ($($name:literal ($($p:ident : $t:ident),*) $(opt $opt:literal)? -> $ret:ident, $doc:literal;)*) => {
        /// Every builtin function, sorted by name.
        pub const BUILTINS: &[Builtin] = &[
            $(Builtin {
                name: $name,
                params: &[$((stringify!($p), Sig::$t)),*],
                optional: 0 $(+ $opt)?,
                ret: Sig::$ret,
                doc: $doc,
            },)*
        ];
    };
}

builtins! {
    "basename"(path: Str) -> Str, "The last component of a path.";
    "concat"(a: ListA, b: ListA) -> ListA, "The elements of `a` followed by those of `b`.";
    "contains"(haystack: Sized, needle: ElemOfFirst) -> Bool, "Whether a string has a substring, a list an element, or a map a key.";
    "dirname"(path: Str) -> Str, "A path without its last component.";
    "ends_with"(s: Str, suffix: Str) -> Bool, "Whether `s` ends with `suffix`.";
    "env"(name: Str, default: Str) opt 1 -> Str, "An environment variable of the flowc process; fails if unset and no default is given.";
    "get"(map: MapA, key: Str, default: A) -> A, "The value at `key`, or `default` when absent.";
    "git_sha"() -> Str, "The commit hash of HEAD in the workflow's directory.";
    "join"(items: ListStr, sep: Str) -> Str, "The items joined with `sep` between them.";
    "keys"(map: MapA) -> ListStr, "The keys of a map, sorted.";
    "len"(value: Sized) -> Int, "The number of characters of a string, or elements of a list or map.";
    "lower"(s: Str) -> Str, "`s` in lower case.";
    "now"() -> Str, "The current time, RFC 3339 in UTC.";
    "parse_float"(s: Str) -> Float, "Reads a float; fails the step if `s` is not one.";
    "parse_int"(s: Str) -> Int, "Reads an int; fails the step if `s` is not one.";
    "path_join"(base: Str, path: Str) -> Str, "`path` joined onto `base`.";
    "replace"(s: Str, from: Str, to: Str) -> Str, "`s` with every `from` replaced by `to`.";
    "run_id"() -> Str, "The id of the current run.";
    "seconds"(d: Dur) -> Int, "A duration in whole seconds, rounded down.";
    "sha256"(s: Str) -> Str, "The SHA-256 of `s`, as lowercase hex.";
    "split"(s: Str, sep: Str) -> ListStr, "`s` split at every `sep`.";
    "starts_with"(s: Str, prefix: Str) -> Bool, "Whether `s` starts with `prefix`.";
    "to_string"(value: Scalar) -> Str, "A value written as text.";
    "trim"(s: Str) -> Str, "`s` without leading and trailing whitespace.";
    "upper"(s: Str) -> Str, "`s` in upper case.";
    "values"(map: MapA) -> ListA, "The values of a map, in key order.";
}

/// Finds a builtin by name.
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS
        .binary_search_by(|b| b.name.cmp(name))
        .ok()
        .map(|i| &BUILTINS[i])
}
