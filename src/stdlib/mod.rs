//! The standard library: builtin functions implemented in Rust, and the `std/*` modules
//! written in flowc, embedded in the binary from `stdlib/`.

pub mod builtins;

/// The embedded `std/*` modules: import path and source text.
pub const MODULES: &[(&str, &str)] = &[("std/http", include_str!("../../stdlib/http.flow"))];

/// The actions `native "..."` may name in a standard-library task; the runtime implements
/// each in `runtime::native`.
pub const NATIVES: &[&str] = &["http.get", "http.post", "http.wait_ok"];

/// The source of a `std/...` module.
pub fn module(path: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, src)| *src)
}
