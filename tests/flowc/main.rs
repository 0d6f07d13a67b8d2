//! flowc's integration tests, in one binary so the crate links once: UI fixtures with
//! snapshotted diagnostics, CLI runs of the real binary, examples, the code registry,
//! robustness on hostile input, and property tests.

mod approvals;
mod cli;
mod codes;
mod concurrency;
mod durable;
mod editors;
mod events;
mod examples;
mod failures;
mod fmt;
mod friction;
mod hostile;
mod http;
mod injection;
mod matrix;
mod operate;
mod parser;
mod plan;
mod props;
mod records;
mod repl;
mod resolved;
mod robustness;
mod routes;
mod run;
mod scheduling;
mod secrets;
mod seeds;
mod semantics;
mod signals;
mod snapshot;
mod stdlib;
mod subwf;
mod support;
mod ui;
mod vars;
