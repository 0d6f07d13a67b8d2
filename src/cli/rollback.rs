//! `flowc rollback RUN [--to CHECKPOINT] [--force] [--plan]`: undoes a run's finished
//! steps by running their compensation steps (`on_failure_of`), in the reverse order of
//! their finishes, each at most once, then its `finally` steps; the run ends
//! `rolled_back`. A rollback that was interrupted (Ctrl-C, SIGTERM, `kill -9`) or stopped
//! by a failed compensation goes on with `flowc rollback RUN`, without running again a
//! compensation that finished.

use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::out::{errln, outln};
use crate::runtime::driver;
use crate::runtime::journal::{self, Resume, RunState, UndoPlan};
use crate::runtime::rollback::Undo;
use crate::runtime::run::Options;
use crate::snapshot::record::Record;
use crate::typed::Workflow;

/// Arguments of `flowc rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The run id, or a unique prefix.
    #[arg(value_name = "RUN_ID", required_unless_present = "last")]
    pub run: Option<String>,
    /// Roll back the newest run.
    #[arg(long, conflicts_with = "run")]
    pub last: bool,
    /// Undo only the steps that finished after this checkpoint: a step's `checkpoint`
    /// label, or a step's name (default: every finished step).
    #[arg(long, value_name = "CHECKPOINT")]
    pub to: Option<String>,
    /// Roll back even though some steps to undo have no compensation step: they are kept
    /// as they are.
    #[arg(long)]
    pub force: bool,
    /// Show the compensations in the order they would run, and what stays; run nothing.
    #[arg(long)]
    pub plan: bool,
    /// Where run journals are (default: `FLOWC_STATE_DIR`, else ./.flow/runs).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// `json`: one JSON event per line on stdout (with `--plan`: the plan, as JSON).
    #[arg(long, value_name = "FORMAT", value_parser = ["json"])]
    pub events: Option<String>,
}

/// Rolls a run back; exit codes as for `flowc run` (0 rolled back, 1 a compensation
/// failed, 130/143/129 interrupted, 2 a refusal or a usage error).
pub fn run(args: RollbackArgs, color: bool) -> u8 {
    let root = super::resume::root(args.state_dir.as_deref());
    let Some(dir) = super::resume::find_run(args.state_dir.as_deref(), args.run.as_deref()) else {
        return super::EXIT_USAGE;
    };
    let opened = if args.plan {
        RunState::load(&dir).map(|s| (None, s, None))
    } else {
        // Before the run is taken: a signal from then on is heard as an interrupt of it.
        driver::listen_for_signals();
        journal::reopen(&dir, "rollback").map(|(l, s, j)| (Some(l), s, Some(j)))
    };
    let (lock, state, journal) = match opened {
        Ok(o) => o,
        Err(e) => {
            super::report_error(&e);
            return super::EXIT_USAGE;
        }
    };
    let compiled = super::load::compile_quietly(std::path::Path::new(&state.started.file));
    let (lowered, index) = match super::resume::workflow_of(&state, compiled, color) {
        Ok(found) => found,
        Err(e) => {
            super::report_error(&e);
            return super::EXIT_USAGE;
        }
    };
    let info = &lowered.program.workflows[index];
    let plan = match journal::plan_rollback(&state, info, args.to.as_deref()) {
        Ok(plan) => plan,
        Err(e) => {
            super::report_error(&e);
            return super::EXIT_USAGE;
        }
    };
    let run_id = state.run_id().to_string();
    // This process holds the run now (unless `--plan`): "rolling_back" would be about it.
    let status = match (&state.ended, args.plan) {
        (Some((status, _)), _) => status.clone(),
        (None, true) => state.status(),
        (None, false) => "interrupted".to_string(),
    };
    show(&state, &status, info, &plan, args.force);
    if args.plan && args.events.is_some() {
        outln!("{}", plan_json(info, &plan));
    }
    if !args.force {
        if let Some(refusal) = plan.refusal(&run_id, info) {
            super::report_error(&refusal);
            return super::EXIT_USAGE;
        }
    }
    if args.plan {
        return super::EXIT_OK;
    }
    if plan.undo.is_empty() && plan.continued.is_none() {
        errln!("nothing to roll back in run {run_id}");
        if let Some(j) = &journal {
            let _ = j.finish();
        }
        return super::EXIT_OK;
    }
    // A driver that recorded its end reaped its steps; one that died may have left some.
    if state.ended.is_none() {
        let killed = journal::kill_leftovers(&run_id);
        if !killed.is_empty() {
            errln!(
                "killed {} leftover process group(s) of the interrupted run",
                killed.len()
            );
        }
    }
    if let Some(j) = &journal {
        journal::take_over(j);
        driver::record_checkpoints(j, &lowered, &state.started.workflow);
        if plan.continued.is_none() {
            j.record(Record::RollbackStarted {
                to: plan.to.as_ref().map(|(to, _)| to.clone()),
                undo: crate::runtime::rollback::describe(
                    info,
                    &Undo {
                        steps: plan.undo.clone(),
                    },
                ),
                kept: (plan.kept.iter())
                    .map(|&k| info.steps[k].name.clone())
                    .collect(),
                at_ms: journal::now_ms(),
            });
        }
    }
    // Every finished step keeps its result: the compensations and `finally` steps read
    // them.
    let mut keep = Resume {
        // The rollback holds the run's concurrency group, as the run and its resumes did.
        group: state.group.as_ref().map(|g| {
            let policy = crate::typed::GroupPolicy::from_name(&g.policy).unwrap_or_default();
            (g.name.clone(), policy)
        }),
        ..Resume::default()
    };
    for step in &info.steps {
        if let Some(f) = state.finished.get(&step.name) {
            keep.keep.insert(step.name.clone(), f.clone());
        }
    }
    let options = Options {
        resume: Some(Arc::new(keep)),
        undo: Some(Arc::new(Undo {
            steps: plan.undo.clone(),
        })),
        ..super::resume::options_of(&state, run_id, args.events.is_some(), journal, &root)
    };
    let params = super::resume::inputs_of(&state);
    let workflow = state.started.workflow.clone();
    let (code, _) = super::run::drive(
        driver::Drive {
            lowered,
            workflow,
            params,
            options,
            timeout: None,
        },
        args.events.is_some(),
        true,
        lock,
    );
    code
}

/// Prints the plan on stderr: the compensations in order, what stays, and the `finally`
/// steps that follow.
fn show(state: &RunState, status: &str, info: &Workflow, plan: &UndoPlan, force: bool) {
    errln!(
        "run {}: workflow `{}` of {} ({status})",
        state.run_id(),
        state.started.workflow,
        state.started.file,
    );
    let to = match &plan.to {
        Some((to, step)) if to == step => format!("to step `{step}`"),
        Some((to, step)) => format!("to checkpoint `{to}` (step `{step}`)"),
        None => "of every finished step".to_string(),
    };
    match plan.continued {
        Some(done) => errln!(
            "continuing the rollback {to}: {done} compensation(s) ended before, {} left",
            plan.undo.len()
        ),
        None => errln!(
            "rollback {to}: {} compensation(s), in the reverse order the steps finished",
            plan.undo.len()
        ),
    }
    let width = (plan.undo.iter())
        .map(|&(c, _)| info.steps[c].name.len())
        .max()
        .unwrap_or(0);
    for (n, &(c, t)) in plan.undo.iter().enumerate() {
        errln!(
            "  {:>2}. {:<width$}  undoes {}",
            n + 1,
            info.steps[c].name,
            info.steps[t].name
        );
    }
    for &k in &plan.kept {
        let fate = if force || plan.continued.is_some() {
            "kept as it is"
        } else {
            "refused without --force"
        };
        errln!(
            "  keep {}: not reversible (no compensation step); {fate}",
            info.steps[k].name
        );
    }
    let finally: Vec<&str> = (info.steps.iter())
        .filter(|s| s.finally)
        .map(|s| s.name.as_str())
        .collect();
    if !finally.is_empty() {
        errln!(
            "then the finally steps, with workflow.status \"rolled_back\": {}",
            finally.join(", ")
        );
    }
}

/// The plan as JSON: `{"to", "undo": [{"step", "undoes"}], "kept": [...], "finally": [...]}`.
fn plan_json(info: &Workflow, plan: &UndoPlan) -> serde_json::Value {
    serde_json::json!({
        "to": plan.to.as_ref().map(|(to, _)| to),
        "continued": plan.continued.is_some(),
        "undo": plan.undo.iter().map(|&(c, t)| serde_json::json!({
            "step": info.steps[c].name, "undoes": info.steps[t].name,
        })).collect::<Vec<_>>(),
        "kept": plan.kept.iter().map(|&k| &info.steps[k].name).collect::<Vec<_>>(),
        "finally": info.steps.iter().filter(|s| s.finally).map(|s| &s.name).collect::<Vec<_>>(),
    })
}
