//! flowc's integration tests, in one binary so the crate links once: UI fixtures with
//! snapshotted diagnostics, CLI runs of the real binary, examples, the code registry,
//! robustness on hostile input, and property tests.

mod cli;
mod codes;
mod durable;
mod examples;
mod plan;
mod props;
mod robustness;
mod run;
mod snapshot;
mod support;
mod ui;
