//! The standard library: builtin functions implemented in Rust, and the `std/*` modules
//! written in flowc, embedded in the binary from `stdlib/`.

pub mod builtins;

/// The embedded `std/*` modules: import path and source text.
pub const MODULES: &[(&str, &str)] = &[
    ("std/docker", include_str!("../../stdlib/docker.flow")),
    ("std/fs", include_str!("../../stdlib/fs.flow")),
    ("std/git", include_str!("../../stdlib/git.flow")),
    ("std/http", include_str!("../../stdlib/http.flow")),
    ("std/k8s", include_str!("../../stdlib/k8s.flow")),
    ("std/notify", include_str!("../../stdlib/notify.flow")),
    ("std/retry", include_str!("../../stdlib/retry.flow")),
];

/// The actions `native "..."` may name in a standard-library task; the runtime implements
/// each in `runtime::native`.
pub const NATIVES: &[&str] = &[
    "fs.checksum",
    "fs.copy",
    "fs.ensure_dir",
    "fs.wait_for",
    "git.branch",
    "git.changed_files",
    "git.sha",
    "http.get",
    "http.post",
    "http.request",
    "http.wait_ok",
    "notify.webhook",
];

/// The source of a `std/...` module.
pub fn module(path: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, src)| *src)
}
