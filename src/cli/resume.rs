//! `flowc resume [RUN | --last] [--plan]`: continues a run from its journal, and `flowc
//! approve` / `flowc reject`, which record a decision at an approval gate of a waiting
//! run. Resume restores the steps that finished (unchanged) without running them, kills
//! what a crashed driver left running, and runs the rest with the run's original inputs.

use crate::cli::out::{errln, outln};
use std::path::{Path, PathBuf};

use crate::runtime::driver;
use crate::runtime::journal::{self, JournalError, Resume, RunState, Verdict};
use crate::runtime::run::Options;
use crate::snapshot::record::Record;
use crate::snapshot::{self, Appender};

/// Arguments of `flowc resume`.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The run: its id, or a unique prefix of it (default: the newest run).
    #[arg(value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Resume the newest run.
    #[arg(long, conflicts_with = "run")]
    pub last: bool,
    /// Show which steps would be kept and which would run again, and why; run nothing.
    #[arg(long)]
    pub plan: bool,
    /// Where run journals are (default: `FLOWC_STATE_DIR`, else ./.flow/runs).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// `json`: one JSON event per line on stdout.
    #[arg(long, value_name = "FORMAT", value_parser = ["json"])]
    pub events: Option<String>,
    /// Run this step (or fan-out instance, `rollout[1]`) again, and everything downstream
    /// of it, even if it succeeded (repeatable).
    #[arg(long, value_name = "STEP")]
    pub from: Vec<String>,
    /// Run only this step (or instance) again: what is downstream of it keeps its results,
    /// unless this step's results change (repeatable).
    #[arg(long, value_name = "STEP")]
    pub only: Vec<String>,
}

/// Arguments of `flowc approve` and `flowc reject`.
#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    /// The run id (or a unique prefix).
    #[arg(value_name = "RUN_ID")]
    pub run: String,
    /// The approval step (or one instance of it, `gate[2]`).
    #[arg(value_name = "STEP")]
    pub step: String,
    /// Who decides, as the journal and the step's `approver` keep it (default: your login
    /// name, from `USER`, `LOGNAME` or the password database).
    #[arg(long = "as", value_name = "NAME")]
    pub by: Option<String>,
    /// Why, as the journal and the step's `comment` keep it.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub comment: String,
    /// Where run journals are (default: `FLOWC_STATE_DIR`, else ./.flow/runs).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// Why a decision cannot be recorded (besides the run's own problems).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DecideError {
    /// The gate's deadline passed before anyone decided.
    #[error("the approval of `{step}` in run `{run}` timed out at {deadline}")]
    #[diagnostic(
        code(E0593),
        help("the deadline is kept in the run's journal: `flowc resume {run}` takes the gate's timeout path (routed with `on_failure STEP if GATE.decision == \"timed_out\"`)")
    )]
    Late {
        /// The run id.
        run: String,
        /// The gate named.
        step: String,
        /// Its deadline, RFC 3339.
        deadline: String,
    },

    /// Nobody to record as the one who decided.
    #[error("cannot tell who decides: {why}")]
    #[diagnostic(
        code(E0594),
        help("name who decides: `flowc approve RUN STEP --as NAME` (a decision is kept with who made it)")
    )]
    NoName {
        /// Why not.
        why: &'static str,
    },

    /// A problem with the run.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Journal(#[from] JournalError),
}

/// The state directory of the run commands: the flag, `FLOWC_STATE_DIR`, or
/// `./.flow/runs`, as for `flowc run`.
pub(super) fn root(flag: Option<&Path>) -> PathBuf {
    driver::state_root(flag)
}

/// The directory of run `run` (an id or a unique prefix; the last run when `None`) in the
/// state directory; reports why not (a usage error) and gives `None` when there is none.
pub(super) fn find_run(state_dir: Option<&Path>, run: Option<&str>) -> Option<PathBuf> {
    journal::find(&root(state_dir), run)
        .map_err(|e| super::report_error(&e))
        .ok()
}

/// The options of a run that goes on from its journal (a resume, a rollback): the settings
/// its first run recorded, the journal it appends to, and nothing kept or undone yet.
pub(super) fn options_of(
    state: &RunState,
    run_id: String,
    events: bool,
    journal: Option<journal::Journal>,
    root: &Path,
) -> Options {
    let s = &state.started;
    Options {
        max_parallel: (s.max_parallel as usize).clamp(1, super::run::MAX_PARALLEL),
        approve_all: s.approve_all,
        approve: s.approve.clone(),
        log_dir: PathBuf::from(&s.log_dir),
        workdir: PathBuf::from(&s.workdir),
        grace: std::time::Duration::from_secs(5),
        run_id,
        approver: super::run::terminal_approver(events),
        interrupt: None,
        journal: journal.map(std::sync::Arc::new),
        resume: None,
        pause: None,
        undo: None,
        keep_records: false,
        groups: Some(crate::runtime::group::dir(root)),
    }
}

fn warn_all(state: &RunState) {
    for w in &state.warnings {
        use miette::Diagnostic;
        let code = w.code().map(|c| format!("[{c}]")).unwrap_or_default();
        errln!("warning{code}: {w}");
    }
}

/// The run's workflow, compiled from its file as it is now (its diagnostics shown): the
/// program and the workflow's index in it. E0508 when the file does not compile or no
/// longer has the workflow.
pub(super) fn workflow_of(
    state: &RunState,
    compiled: super::load::Compiled,
    color: bool,
) -> Result<(crate::lower::Lowered, usize), JournalError> {
    let fail = |reason: String, help: &str| JournalError::CannotResume {
        run: state.run_id().to_string(),
        reason,
        help: help.to_string(),
    };
    let opts = crate::diagnostics::RenderOptions {
        color,
        width: super::width(),
    };
    let file = PathBuf::from(&state.started.file);
    let Ok((_, _, lowered)) = compiled.report(opts) else {
        return Err(fail(
            format!("its workflow file `{}` does not compile", file.display()),
            "fix the errors above, then try again",
        ));
    };
    let found = (lowered.graphs.iter())
        .position(|g| g.workflow == state.started.workflow)
        .filter(|&i| i < lowered.program.workflows.len());
    let Some(index) = found else {
        return Err(fail(
            format!(
                "`{}` has no workflow `{}` any more",
                file.display(),
                state.started.workflow
            ),
            "restore the workflow, or start a new run with `flowc run`",
        ));
    };
    Ok((lowered, index))
}

/// The run's parameter values, as it started.
pub(super) fn inputs_of(
    state: &RunState,
) -> std::collections::BTreeMap<String, crate::runtime::eval::Value> {
    (state.started.inputs.iter())
        .map(|(k, v)| (k.clone(), journal::from_val(v)))
        .collect()
}

/// Resumes a run; exit codes as for `flowc run`.
pub fn run(args: ResumeArgs, color: bool) -> u8 {
    let root = root(args.state_dir.as_deref());
    let Some(dir) = find_run(args.state_dir.as_deref(), args.run.as_deref()) else {
        return super::EXIT_USAGE;
    };
    // The workflow file compiles on a second thread while this one takes the run (one
    // driver at a time; `--plan` only reads) and loads its journal. Its diagnostics are
    // shown only once the run is known to be resumable.
    let peeked = RunState::peek_file(&dir);
    let (opened, compiled) = std::thread::scope(|scope| {
        let compiling = peeked.as_deref().and_then(|file| {
            std::thread::Builder::new()
                .stack_size(super::STACK_SIZE)
                .spawn_scoped(scope, move || super::load::compile_quietly(file))
                .ok()
        });
        let opened = if args.plan {
            RunState::load(&dir).map(|s| (None, s, None))
        } else {
            // Before the run is taken: a `flowc pause` from then on is heard as one.
            driver::listen_for_signals();
            journal::reopen(&dir, "resume").map(|(l, s, j)| (Some(l), s, Some(j)))
        };
        (opened, compiling.and_then(|c| c.join().ok()))
    });
    let (lock, state, journal) = match opened {
        Ok(o) => o,
        Err(e) => {
            super::report_error(&e);
            return super::EXIT_USAGE;
        }
    };
    warn_all(&state);
    let file = PathBuf::from(&state.started.file);
    let compiled = match compiled {
        Some(compiled) if peeked.as_deref() == Some(file.as_path()) => compiled,
        _ => super::load::compile_quietly(&file),
    };
    let (lowered, index) = match workflow_of(&state, compiled, color) {
        Ok(found) => found,
        Err(e) => {
            super::report_error(&e);
            return super::EXIT_USAGE;
        }
    };
    let info = &lowered.program.workflows[index];
    let params = inputs_of(&state);
    let rerun = journal::rerun_steps(&state, info, &args.from, false).and_then(|mut from| {
        from.extend(journal::rerun_steps(&state, info, &args.only, true)?);
        Ok(from)
    });
    let rerun = match rerun {
        Ok(rerun) => rerun,
        Err(e) => {
            super::report_error(&e);
            return super::EXIT_USAGE;
        }
    };
    let fingerprints = crate::runtime::fingerprint::fingerprints(&lowered.program, info, &params);
    let verdicts = journal::plan_rerun(&state, info, &lowered.graphs[index], &fingerprints, &rerun);
    let kept = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Keep | Verdict::KeepUnless(_)))
        .count();
    let again: Vec<(&str, &str)> = info
        .steps
        .iter()
        .zip(&verdicts)
        .filter_map(|(s, v)| match v {
            Verdict::Run(why) => Some((s.name.as_str(), why.as_str())),
            _ => None,
        })
        .collect();
    let run_id = state.run_id().to_string();
    errln!(
        "run {run_id}: workflow `{}` of {} ({})",
        state.started.workflow,
        file.display(),
        // This driver holds the lock now: "running" would be about itself.
        match (&state.ended, args.plan) {
            (Some((status, _)), _) => status.clone(),
            (None, true) => state.status(),
            (None, false) => "interrupted".to_string(),
        }
    );
    errln!(
        "{kept} of {} steps finished and are kept; {} to run",
        info.steps.len(),
        again.len()
    );
    for (step, why) in &again {
        errln!("  run  {step}: {why}");
    }
    for (step, v) in info.steps.iter().zip(&verdicts) {
        if let Verdict::KeepUnless(only) = v {
            errln!(
                "  keep {}: unless {} gives other results than before (then it runs again)",
                step.name,
                only.iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            );
        }
    }
    let finished_ok = matches!(&state.ended, Some((s, _)) if s == "succeeded");
    if let Some(g) = state
        .group
        .as_ref()
        .filter(|_| !(finished_ok && again.is_empty()))
    {
        errln!(
            "concurrency group `{}` ({}): taken again before any step runs",
            g.name,
            g.policy
        );
    }
    if args.plan {
        if args.events.is_some() {
            let plan: Vec<serde_json::Value> = info
                .steps
                .iter()
                .zip(&verdicts)
                .map(|(s, v)| match v {
                    Verdict::Keep => serde_json::json!({"step": s.name, "action": "keep"}),
                    Verdict::KeepUnless(only) => serde_json::json!({
                        "step": s.name, "action": "keep", "unless_changed": only,
                    }),
                    Verdict::Redecide => {
                        serde_json::json!({"step": s.name, "action": "decide"})
                    }
                    Verdict::Run(why) => {
                        serde_json::json!({"step": s.name, "action": "run", "reason": why})
                    }
                })
                .collect();
            outln!("{}", serde_json::Value::Array(plan));
        }
        return super::EXIT_OK;
    }
    if finished_ok && again.is_empty() {
        errln!("run {run_id} already succeeded; nothing to do");
        // Nothing ran: the journal gets no record, so the run keeps its recorded end (and
        // the duration `flowc runs` shows).
        if let Some(j) = &journal {
            let _ = j.finish();
        }
        return super::EXIT_OK;
    }
    // A driver that recorded the run's end reaped every step and killed their groups:
    // only an interrupted run can have left processes (the search reads every process's
    // environment).
    let killed = if state.ended.is_some() {
        Vec::new()
    } else {
        journal::kill_leftovers(&run_id)
    };
    if !killed.is_empty() {
        errln!(
            "killed {} leftover process group(s) of the interrupted run: {}",
            killed.len(),
            killed
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(j) = &journal {
        journal::take_over(j);
        driver::record_checkpoints(j, &lowered, &state.started.workflow);
        j.record(Record::Resumed {
            from: args.from.clone(),
            only: args.only.clone(),
            at_ms: journal::now_ms(),
        });
    }
    let resume = std::sync::Arc::new(Resume::new(&state, info, &verdicts, &fingerprints, &rerun));
    // Like `state` below: kept alive to the exit rather than freed piece by piece.
    std::mem::forget(std::sync::Arc::clone(&resume));
    let options = Options {
        resume: Some(resume),
        ..options_of(&state, run_id, args.events.is_some(), journal, &root)
    };
    let workflow = state.started.workflow.clone();
    // The process ends with this run: freeing the journal's state of a 10,000-step run
    // one allocation at a time would only delay the exit.
    std::mem::forget(state);
    let (code, report) = super::run::drive(
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
    std::mem::forget(report);
    code
}

/// Records an approval (or a refusal) at a waiting gate, with who decides and why.
pub fn decide(args: DecideArgs, approved: bool) -> u8 {
    match try_decide(&args, approved) {
        Ok((run, by)) => {
            errln!(
                "{} `{}` of run {run} as {by}; continue with `flowc resume {run}`",
                if approved { "approved" } else { "rejected" },
                args.step
            );
            super::EXIT_OK
        }
        Err(e) => {
            super::report_error(&e);
            super::EXIT_USAGE
        }
    }
}

/// Gives the run id and who decided.
fn try_decide(args: &DecideArgs, approved: bool) -> Result<(String, String), DecideError> {
    let dir = journal::find(&root(args.state_dir.as_deref()), Some(&args.run))?;
    let _lock = journal::lock(&dir, if approved { "approve" } else { "reject" })?;
    let state = RunState::load(&dir)?;
    let step = journal::step_of(&args.step);
    let waiting = state
        .finished
        .get(step)
        .is_some_and(|f| f.status == "waiting");
    if !waiting {
        return Err(JournalError::NotWaiting {
            run: state.run_id().to_string(),
            step: args.step.clone(),
        }
        .into());
    }
    // The gate (or, for a whole fan-out gate, any of its instances) timed out already.
    let now = journal::now_ms();
    let passed = (state.deadlines.iter())
        .filter(|(label, _)| {
            *label == &args.step || (step == args.step && journal::step_of(label) == step)
        })
        .map(|(_, &deadline)| deadline)
        .filter(|&deadline| deadline <= now)
        .min();
    if let Some(deadline) = passed {
        return Err(DecideError::Late {
            run: state.run_id().to_string(),
            step: args.step.clone(),
            deadline: crate::runtime::gate::time_text(deadline),
        });
    }
    let by = match args.by.as_deref().map(str::trim) {
        Some("") => {
            return Err(DecideError::NoName {
                why: "`--as` names nobody",
            })
        }
        Some(name) => name.to_string(),
        None => crate::runtime::gate::login_name().ok_or(DecideError::NoName {
            why: "no login name, and no `--as`",
        })?,
    };
    let decision = if approved {
        crate::runtime::gate::Decision::Approved
    } else {
        crate::runtime::gate::Decision::Refused
    };
    let path = dir.join(journal::JOURNAL);
    let mut appender = Appender::open(&path, state.valid_len).map_err(JournalError::from)?;
    let record = snapshot::encode(&Record::Decision {
        step: args.step.clone(),
        decision: decision.as_str().to_string(),
        by: by.clone(),
        comment: args.comment.clone(),
        at_ms: now,
    })
    .map_err(JournalError::from)?;
    appender.append(&record).map_err(JournalError::from)?;
    Ok((state.run_id().to_string(), by))
}
