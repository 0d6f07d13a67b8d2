//! Run management, from the journals in the state directory: `flowc runs` (a table of
//! runs, or JSON), `flowc runs prune`, `flowc status RUN` (per-step table), `flowc logs RUN
//! [STEP] [--follow]` and `flowc cancel RUN` (SIGINT to the run's driver, as Ctrl-C in
//! its terminal would).

use crate::cli::out::{self, errln, outln};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::diagnostics::render_step_failure;
use crate::runtime::eval::format_duration;
use crate::runtime::failure::Failure;
use crate::runtime::journal::{self, RunState};

/// Arguments of `flowc runs`.
#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// `prune`, or nothing to list the runs.
    #[command(subcommand)]
    pub action: Option<RunsAction>,
    /// `human` (a table) or `json` (one object per run), on stdout.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = ["human", "json"])]
    pub format: String,
    /// Where run journals are (default: `FLOWC_STATE_DIR`, else ./.flow/runs).
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,
}

/// What `flowc runs` does besides listing.
#[derive(Debug, clap::Subcommand)]
pub enum RunsAction {
    /// Delete finished runs (their journals, and their logs when in the default place);
    /// a run that is running, paused, or waiting at an approval gate is never deleted.
    Prune(PruneArgs),
}

/// Arguments of `flowc runs prune`.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = true)]
pub struct PruneArgs {
    /// Delete runs whose last activity is older than this (`30d`, `12h`).
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub older_than: Option<Duration>,
    /// Keep only the newest N runs.
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
}

fn parse_age(text: &str) -> Result<Duration, String> {
    crate::parse::parse_duration(text).map(Duration::from_millis)
}

/// Arguments of `flowc status`, `flowc cancel`.
#[derive(Debug, clap::Args)]
pub struct RunArg {
    /// The run id, or a unique prefix (default: the newest run).
    #[arg(value_name = "RUN_ID")]
    pub run: Option<String>,
    /// The newest run (the default; accepted as `resume`, `pause` and `rollback` take it).
    #[arg(long, conflicts_with = "run")]
    pub last: bool,
    /// `human` (tables) or `json`, on stdout.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = ["human", "json"])]
    pub format: String,
    /// Where run journals are (default: `FLOWC_STATE_DIR`, else ./.flow/runs).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// Arguments of `flowc logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The run id, or a unique prefix.
    #[arg(value_name = "RUN_ID")]
    pub run: String,
    /// Only this step's log (all its instances, for a fan-out).
    #[arg(value_name = "STEP")]
    pub step: Option<String>,
    /// Keep printing new lines until the run's driver exits.
    #[arg(long, short)]
    pub follow: bool,
    /// Where run journals are (default: `FLOWC_STATE_DIR`, else ./.flow/runs).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// Arguments of `flowc cancel`.
#[derive(Debug, clap::Args)]
pub struct CancelArgs {
    /// The run id, or a unique prefix.
    #[arg(value_name = "RUN_ID")]
    pub run: String,
    /// Where run journals are (default: `FLOWC_STATE_DIR`, else ./.flow/runs).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// A run that is not running cannot be cancelled or paused.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("run `{run}` is not running")]
#[diagnostic(
    code(E0510),
    help("`flowc runs` shows each run's status; a stopped run continues with `flowc resume`")
)]
pub struct NotRunning {
    /// The run id.
    pub run: String,
}

fn time_text(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn summary_json(s: &RunState) -> serde_json::Value {
    serde_json::json!({
        "id": s.run_id(),
        "workflow": s.started.workflow,
        "file": s.started.file,
        "status": s.status(),
        "started": time_text(s.started.at_ms),
        "duration_ms": s.last_ms.saturating_sub(s.started.at_ms),
        "steps_done": s.succeeded(),
        "steps_total": s.started.steps,
        "group": s.group.as_ref().map(|g| serde_json::json!({
            "name": g.name, "policy": g.policy, "busy": g.busy,
        })),
    })
}

/// What `flowc status` says about a run's concurrency group: its name and policy, and
/// whom a queued run waits for (or a skipped run gave way to).
fn group_line(s: &RunState, status: &str) -> Option<String> {
    let g = s.group.as_ref()?;
    let about = match (&g.busy, status) {
        (Some(holder), "queued") => format!("; waiting for {}", holder_text(holder)),
        (Some(holder), "skipped") => format!("; skipped: held by {}", holder_text(holder)),
        _ => String::new(),
    };
    Some(format!(
        "concurrency group `{}` ({}){about}",
        g.name, g.policy
    ))
}

/// `run ID`, or `pid N` as the journal has it.
fn holder_text(holder: &str) -> String {
    if holder.starts_with("pid ") {
        holder.to_string()
    } else {
        format!("run {holder}")
    }
}

/// `flowc runs` and `flowc runs prune`.
pub fn runs(args: RunsArgs) -> u8 {
    let root = super::resume::root(args.state_dir.as_deref());
    if let Some(RunsAction::Prune(p)) = args.action {
        return prune(&root, &p);
    }
    let mut rows = Vec::new();
    for dir in journal::list(&root) {
        match RunState::load(&dir) {
            Ok(s) => rows.push(s),
            Err(e) => super::report_error(&e),
        }
    }
    if args.format == "json" {
        for s in &rows {
            outln!("{}", summary_json(s));
        }
        return super::EXIT_OK;
    }
    if rows.is_empty() {
        errln!("no runs in `{}`", root.display());
        return super::EXIT_OK;
    }
    outln!(
        "{:<23} {:<16} {:<12} {:<20} {:>9} {:>11}",
        "id",
        "workflow",
        "status",
        "started",
        "duration",
        "steps"
    );
    for s in &rows {
        outln!(
            "{:<23} {:<16} {:<12} {:<20} {:>9} {:>11}",
            s.run_id(),
            s.started.workflow,
            s.status(),
            time_text(s.started.at_ms),
            format_duration(s.last_ms.saturating_sub(s.started.at_ms)),
            format!("{}/{}", s.succeeded(), s.started.steps)
        );
    }
    super::EXIT_OK
}

fn prune(root: &Path, args: &PruneArgs) -> u8 {
    // A run with a live driver, or one waiting at an approval gate or paused, is not
    // finished: it is never pruned, and `--keep` counts only the others.
    let runs: Vec<(PathBuf, Option<RunState>)> = journal::list(root)
        .into_iter()
        .filter(|dir| !journal::is_locked(dir))
        .map(|dir| {
            let state = RunState::load(&dir).ok();
            (dir, state)
        })
        .filter(|(_, s)| {
            s.as_ref().is_none_or(|s| {
                !matches!(
                    s.status().as_str(),
                    "waiting" | "running" | "paused" | "pausing" | "rolling_back"
                )
            })
        })
        .collect();
    let now = journal::now_ms();
    let keep_from = args.keep.map_or(0, |k| runs.len().saturating_sub(k));
    let mut removed = 0;
    for (k, (dir, state)) in runs.iter().enumerate() {
        // Its driver may have started since the list was made.
        if journal::is_locked(dir) {
            continue;
        }
        let last = state.as_ref().map_or(0, |s| s.last_ms);
        let old = args
            .older_than
            .is_some_and(|d| now.saturating_sub(last) > d.as_millis() as u64);
        if !(old || k < keep_from) {
            continue;
        }
        if let Some(s) = &state {
            // Logs go too when they are in the default place for this run.
            let logs = PathBuf::from(&s.started.log_dir);
            if logs.ends_with(Path::new(".flow/logs").join(s.run_id())) {
                let _ = std::fs::remove_dir_all(&logs);
            }
        }
        match std::fs::remove_dir_all(dir) {
            Ok(()) => removed += 1,
            Err(e) => errln!("warning: cannot remove `{}`: {e}", dir.display()),
        }
    }
    errln!("pruned {removed} run(s)");
    super::EXIT_OK
}

/// The steps of a run in the order the journal first mentions them.
fn step_order(s: &RunState) -> Vec<String> {
    use crate::snapshot::record::Record;
    let mut order: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in &s.records {
        let label = match r {
            Record::StepStarted { step, .. }
            | Record::StepFinished { step, .. }
            | Record::StepSkipped { step, .. } => step,
            _ => continue,
        };
        let name = journal::step_of(label).to_string();
        if seen.insert(name.clone()) {
            order.push(name);
        }
    }
    order
}

/// `flowc status RUN`.
pub fn status(args: RunArg) -> u8 {
    let root = super::resume::root(args.state_dir.as_deref());
    let state = match journal::find(&root, args.run.as_deref()).and_then(|d| RunState::load(&d)) {
        Ok(s) => s,
        Err(e) => {
            super::report_error(&e);
            return super::EXIT_USAGE;
        }
    };
    let run_status = state.status();
    // Why each failed step failed, in step order: its coded failure (a journal written by
    // an older flowc has only the message).
    let mut failures: Vec<(String, Failure)> = Vec::new();
    let steps: Vec<serde_json::Value> = step_order(&state)
        .into_iter()
        .map(|name| {
            let failure = state.finished.get(&name).and_then(|f| {
                f.failure.clone().or_else(|| {
                    (f.status == "failed").then(|| Failure {
                        code: String::new(),
                        message: f.reason.clone().unwrap_or_else(|| "failed".to_string()),
                        help: None,
                        cause: None,
                    })
                })
            });
            let (status, attempts, ms, codes, reason) = match state.finished.get(&name) {
                Some(f) => (
                    f.status.clone(),
                    f.attempts,
                    f.duration_ms,
                    f.exit_codes.clone(),
                    f.reason.clone(),
                ),
                None => match state.skipped.get(&name) {
                    Some(why) => ("skipped".to_string(), 0, 0, Vec::new(), Some(why.clone())),
                    None => {
                        let attempts = state
                            .in_flight
                            .iter()
                            .filter(|(l, _)| journal::step_of(l) == name)
                            .map(|(_, (a, _))| *a)
                            .max()
                            .unwrap_or(0);
                        let s = match run_status.as_str() {
                            "running" | "pausing" | "rolling_back" => "running",
                            "paused" => "paused",
                            _ => "interrupted",
                        };
                        (s.to_string(), attempts, 0, Vec::new(), None)
                    }
                },
            };
            // Undone by a rollback (and not run again since).
            let (status, reason) = match state.rolled_back.get(&name) {
                Some(by) => ("rolled_back".to_string(), Some(format!("undone by `{by}`"))),
                None => (status, reason),
            };
            let history: Vec<serde_json::Value> = (state.history.get(&name))
                .map(|h| {
                    h.iter()
                        .map(|p| {
                            serde_json::json!({
                                "status": p.status, "attempts": p.attempts,
                                "duration_ms": p.duration_ms, "at": time_text(p.at_ms),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let code = failure
                .as_ref()
                .map(|f| f.code.clone())
                .filter(|c| !c.is_empty());
            let message = failure.as_ref().map(|f| f.message.clone());
            let help = failure.as_ref().and_then(|f| f.help.clone());
            if let Some(f) = failure {
                failures.push((name.clone(), f));
            }
            let route = state
                .finished
                .get(&name)
                .and_then(|f| f.route.as_ref())
                .map(|r| {
                    let condition = Some(r.condition.clone()).filter(|c| !c.is_empty());
                    serde_json::json!({ "to": r.to, "if": condition })
                });
            let (decisions, deadline) = gate_facts(&state, &name);
            serde_json::json!({
                "step": name, "status": status, "attempts": attempts,
                "duration_ms": ms, "exit_codes": codes, "reason": reason,
                "code": code, "message": message, "help": help,
                "route": route, "decisions": decisions, "deadline": deadline,
                "runs": history.len(), "history": history,
            })
        })
        .collect();
    if args.format == "json" {
        let mut all = summary_json(&state);
        all["steps"] = serde_json::Value::Array(steps);
        all["checkpoints"] = checkpoints_json(&state);
        all["rollback"] = rollback_json(&state);
        outln!("{all}");
        return super::EXIT_OK;
    }
    outln!(
        "run {}: workflow `{}` of {}",
        state.run_id(),
        state.started.workflow,
        state.started.file
    );
    let status = state.status();
    outln!(
        "status {status}, started {}, {}/{} steps succeeded",
        time_text(state.started.at_ms),
        state.succeeded(),
        state.started.steps
    );
    if let Some(line) = group_line(&state, &status) {
        outln!("{line}");
    }
    let width = steps
        .iter()
        .filter_map(|s| s["step"].as_str().map(str::len))
        .max()
        .unwrap_or(4)
        .max(4);
    outln!();
    outln!(
        "{:<width$}  {:<11} {:>8}  {:>9}  {:>4}  exit codes",
        "step",
        "status",
        "attempts",
        "duration",
        "runs"
    );
    for s in &steps {
        let codes: Vec<String> = s["exit_codes"]
            .as_array()
            .map(|a| a.iter().map(ToString::to_string).collect())
            .unwrap_or_default();
        outln!(
            "{:<width$}  {:<11} {:>8}  {:>9}  {:>4}  {}",
            s["step"].as_str().unwrap_or(""),
            s["status"].as_str().unwrap_or(""),
            s["attempts"].as_u64().unwrap_or(0),
            format_duration(s["duration_ms"].as_u64().unwrap_or(0)),
            s["runs"].as_u64().unwrap_or(0),
            codes.join(" ")
        );
    }
    // What was decided at the gates, the deadlines they wait for, and where failures went.
    let mut notes = Vec::new();
    for s in &steps {
        let step = s["step"].as_str().unwrap_or("");
        for d in s["decisions"].as_array().into_iter().flatten() {
            notes.push(decision_line(d));
        }
        if let Some(deadline) = s["deadline"].as_str() {
            notes.push(format!("{step}: waiting; times out at {deadline}"));
        }
        if let Some(route) = s["route"].as_object() {
            let to = route["to"].as_str().unwrap_or("");
            notes.push(match route["if"].as_str() {
                Some(cond) => format!("{step}: failed; on_failure {to} (if {cond})"),
                None => format!("{step}: failed; on_failure {to} (no route's condition held)"),
            });
        }
    }
    if !notes.is_empty() {
        outln!();
    }
    for note in &notes {
        outln!("{}", super::term::printable(note));
    }
    show_checkpoints(&state);
    show_rollback(&state);
    if !failures.is_empty() {
        outln!();
    }
    for (step, failure) in &failures {
        outln!("{}", render_step_failure(step, failure, true));
    }
    super::EXIT_OK
}

/// Whether the checkpoint on `step` was reached: its step succeeded and was not undone.
fn reached(state: &RunState, step: &str) -> bool {
    state
        .finished
        .get(step)
        .is_some_and(|f| f.status == "succeeded")
        && !state.rolled_back.contains_key(step)
}

fn checkpoints_json(state: &RunState) -> serde_json::Value {
    (state.checkpoints.iter())
        .map(|(label, step)| {
            serde_json::json!({"label": label, "step": step, "reached": reached(state, step)})
        })
        .collect()
}

fn rollback_json(state: &RunState) -> serde_json::Value {
    match &state.rollback {
        None => serde_json::Value::Null,
        Some(r) => serde_json::json!({
            "to": r.to,
            "finished": r.closed,
            "undo": r.undo.iter().map(|(c, t)| serde_json::json!({
                "step": c, "undoes": t, "done": r.done.contains(c),
            })).collect::<Vec<_>>(),
            "kept": r.kept,
        }),
    }
}

/// The workflow's checkpoints, and which the run reached.
fn show_checkpoints(state: &RunState) {
    if state.checkpoints.is_empty() {
        return;
    }
    outln!();
    outln!(
        "checkpoints (`flowc rollback {} --to LABEL`):",
        state.run_id()
    );
    for (label, step) in &state.checkpoints {
        let at = if reached(state, step) {
            "reached"
        } else {
            "not reached"
        };
        outln!("  {label}  step `{step}`, {at}");
    }
}

/// The last rollback: what it undid, and what is left of it.
fn show_rollback(state: &RunState) {
    let Some(r) = &state.rollback else {
        return;
    };
    let to = match &r.to {
        Some(to) => format!(" to `{to}`"),
        None => String::new(),
    };
    outln!();
    if r.closed {
        outln!("rolled back{to}: {} compensation(s) ran", r.done.len());
    } else {
        outln!(
            "rollback{to} unfinished: {} of {} compensation(s) ended; `flowc rollback {}` continues it",
            r.done.len(),
            r.undo.len(),
            state.run_id()
        );
    }
    if !r.kept.is_empty() {
        outln!("  kept (not reversible): {}", r.kept.join(", "));
    }
}

/// The decisions at gate `step` (or its instances), as JSON objects `{step, decision, by,
/// comment, at}`, and, for a gate still waiting, its deadline.
fn gate_facts(state: &RunState, step: &str) -> (Vec<serde_json::Value>, Option<String>) {
    let mine = |label: &str| label == step || journal::step_of(label) == step;
    let mut decisions: Vec<(&String, &crate::runtime::gate::GateDecision)> = state
        .approvals
        .iter()
        .filter(|(label, _)| mine(label))
        .collect();
    decisions.sort_by_key(|(label, d)| (d.at_ms, label.as_str()));
    let decisions = decisions
        .into_iter()
        .map(|(label, d)| {
            serde_json::json!({
                "step": label, "decision": d.decision.as_str(), "by": d.by,
                "comment": d.comment, "at": time_text(d.at_ms),
            })
        })
        .collect();
    let waiting = state
        .finished
        .get(step)
        .is_some_and(|f| f.status == "waiting");
    let deadline = (state.deadlines.iter())
        .filter(|(label, _)| waiting && mine(label) && !state.approvals.contains_key(*label))
        .map(|(_, &d)| d)
        .min()
        .map(time_text);
    (decisions, deadline)
}

/// `gate: approved by ana at 2026-01-02T03:04:05Z: "ship it"`.
fn decision_line(d: &serde_json::Value) -> String {
    let text = |k: &str| d[k].as_str().unwrap_or("").to_string();
    let what = match text("decision").as_str() {
        "timed_out" => "timed out".to_string(),
        other => other.to_string(),
    };
    let by = Some(text("by"))
        .filter(|b| !b.is_empty())
        .map(|b| format!(" by {b}"))
        .unwrap_or_default();
    let comment = Some(text("comment"))
        .filter(|c| !c.is_empty())
        .map(|c| format!(": {c:?}"))
        .unwrap_or_default();
    format!("{}: {what}{by} at {}{comment}", text("step"), text("at"))
}

/// The log file name of a step instance, as the runtime writes it.
fn safe(label: &str) -> String {
    crate::runtime::run::log_stem(label)
}

/// `flowc logs RUN [STEP] [--follow]`.
pub fn logs(args: LogsArgs) -> u8 {
    let root = super::resume::root(args.state_dir.as_deref());
    let (dir, state) = match journal::find(&root, Some(&args.run))
        .and_then(|d| RunState::load(&d).map(|s| (d, s)))
    {
        Ok(found) => found,
        Err(e) => {
            super::report_error(&e);
            return super::EXIT_USAGE;
        }
    };
    let log_dir = PathBuf::from(&state.started.log_dir);
    let wanted = |name: &str| -> bool {
        let Some(stem) = name.strip_suffix(".log") else {
            return false;
        };
        match &args.step {
            None => true,
            Some(step) => {
                let s = safe(step);
                stem == s || (stem.starts_with(&format!("{s}.")) && !step.contains('['))
            }
        }
    };
    let files = |log_dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(log_dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.file_name().is_some_and(|n| wanted(&n.to_string_lossy())))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let mut offsets: std::collections::HashMap<PathBuf, u64> = std::collections::HashMap::new();
    let many = args.step.is_none();
    loop {
        let live = args.follow && journal::is_locked(&dir);
        for f in files(&log_dir) {
            let name = f
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // A log is shown a chunk at a time, so a huge one never sits in memory whole.
            loop {
                let at = offsets.get(&f).copied().unwrap_or(0);
                let Some(chunk) = log_chunk(&f, at) else {
                    break;
                };
                let text = String::from_utf8_lossy(&chunk);
                let mut shown = String::with_capacity(text.len() + 64);
                for line in text.lines() {
                    if many {
                        shown.push_str(&name);
                        shown.push_str(" | ");
                    }
                    shown.push_str(&super::term::printable(line));
                    shown.push('\n');
                }
                out::write(out::Stream::Stdout, shown.as_bytes());
                offsets.insert(f.clone(), at + chunk.len() as u64);
                if out::stdout_closed() {
                    return super::EXIT_OK;
                }
            }
        }
        if !live || out::stdout_closed() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    super::EXIT_OK
}

/// The most of a log [`logs`] reads at once.
const LOG_CHUNK: u64 = 1024 * 1024;

/// The next bytes of the log `file` from offset `at`: at most [`LOG_CHUNK`], ending at a
/// line break when there is one in a full chunk (so a line is not cut in two). `None` at
/// the end or when it cannot be read.
fn log_chunk(file: &Path, at: u64) -> Option<Vec<u8>> {
    use std::io::{Read, Seek};
    let mut file = std::fs::File::open(file).ok()?;
    file.seek(std::io::SeekFrom::Start(at)).ok()?;
    let mut bytes = Vec::new();
    file.take(LOG_CHUNK).read_to_end(&mut bytes).ok()?;
    if bytes.len() as u64 == LOG_CHUNK {
        if let Some(end) = bytes.iter().rposition(|&b| b == b'\n') {
            bytes.truncate(end + 1);
        }
    }
    (!bytes.is_empty()).then_some(bytes)
}

/// Files `request` (`"cancel"`, `"pause"`) for the run's live driver, then interrupts it
/// (SIGINT): the driver tells a cancel from a pause by the request, and a second operator
/// is refused while it stands. Reports why not and gives the exit code when the run is not
/// live (1, E0510) or the request cannot be filed (2).
pub(super) fn ask_driver(dir: &Path, request: &str) -> Result<journal::Holder, u8> {
    let driver = match journal::request(dir, request) {
        Ok(Some(driver)) if driver.pid > 1 => driver,
        Ok(_) => {
            super::report_error(&NotRunning {
                run: journal::run_of(dir),
            });
            return Err(super::EXIT_FINDINGS);
        }
        Err(e) => {
            super::report_error(&e);
            return Err(super::EXIT_USAGE);
        }
    };
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(driver.pid),
        nix::sys::signal::Signal::SIGINT,
    );
    Ok(driver)
}

/// `flowc cancel RUN`: SIGINT to the driver, then waits (up to a minute) for it to stop.
pub fn cancel(args: CancelArgs) -> u8 {
    let Some(dir) = super::resume::find_run(args.state_dir.as_deref(), Some(&args.run)) else {
        return super::EXIT_USAGE;
    };
    let run = journal::run_of(&dir);
    if let Err(code) = ask_driver(&dir, "cancel") {
        return code;
    }
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while journal::is_locked(&dir) && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    if journal::is_locked(&dir) {
        errln!("run {run} is still stopping (its steps have a grace period); check with `flowc status {run}`");
    } else {
        errln!("cancelled run {run}; `flowc resume {run}` continues it");
    }
    super::EXIT_OK
}
