//! The runtime: what executes a lowered workflow. This stage is being built up part by
//! part; each module below is complete and tested on its own:
//!
//! - [`command`] (compiled at check time, rendered here): `run` text to an argv or a
//!   quoted `sh -c` script, injection-free;
//! - [`eval`]: expressions to values, with the builtin functions;
//! - [`native`]: the Rust bodies of standard-library tasks (`native "http.get"`);
//! - [`process`]: a step's process in its own group, output streaming, timeouts, kills;
//! - [`spawn`]: starting that process cheaply (the one module with `unsafe`);
//! - [`retry`]: backoff policies and the retry loop;
//! - [`attempt`]: one attempt of a step, from a finished process or native action;
//! - [`failure`]: why a step failed, as a coded error and as plain parts;
//! - [`gate`]: decisions at approval gates (who, when, a deadline kept in the journal);
//! - [`redact`]: secret redaction of everything flowc prints or writes;
//! - [`outputs`]: a step's `$FLOW_OUTPUT` file read back as typed values;
//! - [`params`] and [`vars_file`]: a workflow's inputs, from defaults, a JSON, TOML or YAML
//!   vars file, `FLOW_VAR_` variables and `--var` flags;
//! - [`plan`]: what a run would do, as text, without running anything;
//! - [`schedule`]: who waits for whom, and the skip and failure rules (no tokio);
//! - [`instances`]: a fan-out's instances: enumerated, named, and fed one by one to the
//!   steps that go with them;
//! - [`run`]: the scheduler that runs a workflow's steps with all of the above;
//! - [`rollback`]: `flowc rollback`'s phase of a run, its compensations one at a time.
//! - [`journal`]: the durable record of a run, read back by `flowc resume`;
//! - [`fingerprint`]: what a step's definition hashes to, so that resume keeps it or not;
//! - [`group`]: concurrency groups, locked across processes in the state directory;
//! - [`driver`]: a run from compiled program to report (runtime, Ctrl-C, timeout), with
//!   progress, approvals and notices handed to the front end, and the exit codes.

pub mod attempt;
pub mod budget;
pub use crate::command;
pub mod driver;
pub mod eval;
pub mod failure;
pub mod fingerprint;
pub mod gate;
pub mod group;
pub mod instances;
pub mod journal;
pub mod native;
pub mod outputs;
pub mod params;
pub mod plan;
pub mod process;
pub mod redact;
pub mod retry;
pub mod rollback;
pub mod run;
pub mod schedule;
pub mod slots;
pub mod spawn;
pub mod vars_file;
