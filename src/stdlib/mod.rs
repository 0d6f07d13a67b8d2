//! The standard library: builtin functions implemented in Rust, and the `std/*` modules
//! written in flowc, embedded in the binary from `stdlib/`.

pub mod builtins;

/// The embedded `std/*` modules: import path and source text.
pub const MODULES: &[(&str, &str)] = &[("std/http", include_str!("../../stdlib/http.flow"))];

/// The source of a `std/...` module.
pub fn module(path: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, src)| *src)
}
