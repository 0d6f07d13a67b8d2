//! `flowc run FILE`: checks a file, then runs one of its workflows. Progress goes to stderr
//! as timestamped lines (step output prefixed with the step's name) and ends with a summary
//! table; `--events json` writes one JSON event per line to stdout for other tools.

use crate::cli::out::{err, errln, outln};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::diagnostics::render_step_failure;
use crate::runtime::driver;
use crate::runtime::eval::format_duration;
use crate::runtime::journal;
use crate::runtime::run::{self, Approver, Event, Observer, Status};

/// Arguments of `flowc run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The workflow to run (needed when the file has several).
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,
    /// Set a parameter: `--var target=prod`, `--var 'regions=["eu","us"]'`.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::runtime::params::parse_var)]
    pub vars: Vec<(String, String)>,
    /// A file of parameter values: JSON, TOML or YAML, by its extension (`.json`, `.toml`,
    /// `.yaml`, `.yml`).
    #[arg(long, value_name = "FILE")]
    pub vars_file: Option<PathBuf>,
    /// At most this many step processes at once, 1 to 4096 (default: the number of
    /// cores).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_parallel: Option<String>,
    /// Approve this `approve` step without asking (repeatable).
    #[arg(long, value_name = "STEP")]
    pub approve: Vec<String>,
    /// Approve every `approve` step without asking.
    #[arg(long)]
    pub approve_all: bool,
    /// Where step logs and output files go (default: ./.flow/logs/<run id>).
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// `json`: one JSON event per line on stdout.
    #[arg(long, value_name = "FORMAT", value_parser = ["json"])]
    pub events: Option<String>,
    /// Run nothing: print the plan, as `flowc plan` does.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop the whole run after this long (`30m`, `1h`): running steps are stopped as by
    /// Ctrl-C and the run ends `cancelled` (exit 130 is kept for Ctrl-C; a timeout exits 1).
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Where run journals go (default: `FLOWC_STATE_DIR`, else ./.flow/runs).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// The most `--max-parallel` accepts: each running step holds three file descriptors and
/// a process, and more than a few thousand at once exhausts a default system's limits
/// before it gains anything.
pub const MAX_PARALLEL: usize = 4096;

/// A `flowc run` flag that does not fit the workflow.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunUsageError {
    /// `--approve NAME` names no approval step of the workflow.
    #[error("`--approve {name}`: workflow `{workflow}` has no approval step `{name}`")]
    #[diagnostic(code(E0591), help("{help}"))]
    NotAnApproval {
        /// The name given.
        name: String,
        /// The workflow run.
        workflow: String,
        /// What to do instead ("did you mean", or the list of approval steps).
        help: String,
    },

    /// `--max-parallel` is not a whole number from 1 to [`MAX_PARALLEL`].
    #[error("`--max-parallel {value}`: {reason}")]
    #[diagnostic(
        code(E0592),
        help("give a whole number from 1 to 4096 (without the flag, flowc runs as many steps at once as there are cores)")
    )]
    MaxParallel {
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Reads `--max-parallel`: a whole number from 1 to [`MAX_PARALLEL`].
pub(crate) fn max_parallel(value: &str) -> Result<usize, RunUsageError> {
    let refuse = |reason: &str| RunUsageError::MaxParallel {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = value.trim();
    if trimmed.is_empty()
        || !trimmed
            .trim_start_matches(['-', '+'])
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return Err(refuse("not a whole number"));
    }
    if trimmed.starts_with('-') {
        return Err(refuse("a count of steps cannot be negative"));
    }
    match trimmed.trim_start_matches('+').parse::<usize>() {
        Ok(0) => Err(refuse("at least one step must be able to run")),
        Ok(n) if n <= MAX_PARALLEL => Ok(n),
        _ => Err(refuse("more than 4096 steps at once")),
    }
}

/// Checks every `--approve NAME` against the approval steps of `workflow`: a name, or
/// one instance of a fan-out gate (`gate[2]`).
fn check_approvals(
    lowered: &crate::lower::Lowered,
    workflow: &str,
    names: &[String],
) -> Result<(), RunUsageError> {
    let gates: Vec<&str> = lowered
        .program
        .workflows
        .iter()
        .find(|w| w.name == workflow)
        .map(|w| {
            w.steps
                .iter()
                .filter(|s| matches!(s.action, crate::typed::Action::Approve(_)))
                .map(|s| s.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    for name in names {
        let base = match name.split_once('[') {
            Some((base, rest)) if rest.ends_with(']') => base,
            _ => name.as_str(),
        };
        if gates.contains(&base) {
            continue;
        }
        let help = match crate::diagnostics::did_you_mean(base, gates.iter().copied()) {
            Some(hint) => format!("did you mean `--approve {hint}`?"),
            None if gates.is_empty() => {
                format!("workflow `{workflow}` has no `approve` step; drop the flag")
            }
            None => format!(
                "its approval steps are {}",
                gates
                    .iter()
                    .map(|g| format!("`{g}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return Err(RunUsageError::NotAnApproval {
            name: name.clone(),
            workflow: workflow.to_string(),
            help,
        });
    }
    Ok(())
}

/// Reads `--timeout` with the language's duration syntax.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    crate::parse::parse_duration(text).map(Duration::from_millis)
}

/// Prints progress: JSON events, plain timestamped lines, or (on a terminal) the same lines
/// scrolling above a live view of the running steps and overall progress.
struct Printer {
    json: bool,
    /// The run's id, which every JSON event carries.
    run_id: String,
    start: std::time::Instant,
    live: Option<Live>,
    /// The run waited for its concurrency group (so taking it is news).
    waited: bool,
}

/// An event as `--events json` writes it: stamped with the time it was reported (RFC 3339,
/// local time with its offset, to the millisecond) and the run's id (`run_started` has
/// its own `run_id` field).
#[derive(serde::Serialize)]
struct Stamped<'a> {
    #[serde(flatten)]
    event: &'a Event,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
}

impl<'a> Stamped<'a> {
    fn now(event: &'a Event, run_id: &'a str) -> Stamped<'a> {
        Stamped {
            event,
            time: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
            run_id: (!matches!(event, Event::RunStarted { .. })).then_some(run_id),
        }
    }
}

/// The live view: one spinner per running step, and a bar of finished steps.
struct Live {
    multi: indicatif::MultiProgress,
    /// Shared with the [`TerminalApprover`], which pauses the view while it asks.
    shared: Arc<std::sync::Mutex<LiveShared>>,
    overall: indicatif::ProgressBar,
    running: std::collections::HashMap<String, indicatif::ProgressBar>,
}

impl Printer {
    fn new(json: bool, terminal: bool, run_id: String) -> Printer {
        let live = (!json && terminal).then(|| {
            let multi = indicatif::MultiProgress::new();
            let overall = multi.add(indicatif::ProgressBar::new(0));
            overall.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed:>5} [{bar:30}] {pos}/{len} steps done",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            let shared = Arc::new(std::sync::Mutex::new(LiveShared {
                multi: multi.clone(),
                asking: false,
                held: Vec::new(),
                dropped: 0,
            }));
            *LIVE_VIEW.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&shared));
            Live {
                multi,
                shared,
                overall,
                running: std::collections::HashMap::new(),
            }
        });
        Printer {
            json,
            run_id,
            start: std::time::Instant::now(),
            live,
            waited: false,
        }
    }

    fn stamp(&self) -> String {
        let ms = self.start.elapsed().as_millis();
        format!("{:>4}.{:01}s", ms / 1000, (ms % 1000) / 100)
    }

    /// Prints a line above the live view (or plainly); held back while a question is
    /// being asked.
    fn say(&self, line: &str) {
        match &self.live {
            Some(live) => {
                let mut shared = live.shared.lock().unwrap_or_else(|e| e.into_inner());
                if shared.asking {
                    if shared.held.len() < HELD_LINES {
                        shared.held.push(line.to_string());
                    } else {
                        shared.dropped += 1;
                    }
                } else {
                    let _ = live.multi.println(line);
                }
            }
            None => {
                // One write per line (`errln!` writes the line and its newline at once).
                errln!("{line}");
            }
        }
    }

    /// Updates the live view for an event.
    fn track(&mut self, event: &Event) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        match event {
            Event::RunStarted { steps, .. } => live.overall.set_length(*steps as u64),
            Event::StepStarted { step, attempt } => {
                let base = step.split('[').next().unwrap_or(step).to_string();
                let bar = live.running.entry(base).or_insert_with(|| {
                    let bar = live
                        .multi
                        .insert_before(&live.overall, indicatif::ProgressBar::new_spinner());
                    bar.set_style(
                        indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                    );
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                let attempt = if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                bar.set_message(format!("{step}{attempt}"));
            }
            Event::StepFinished { step, .. }
            | Event::StepSkipped { step, .. }
            | Event::StepPaused { step, .. }
            | Event::StepRestored { step, .. } => {
                if let Some(bar) = live.running.remove(step) {
                    bar.finish_and_clear();
                    live.multi.remove(&bar);
                }
                live.overall.inc(1);
            }
            Event::RunFinished { .. } => live.overall.finish_and_clear(),
            _ => {}
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        if self.live.is_some() {
            *LIVE_VIEW.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

/// At most this many lines are held back while a question waits for its answer; later
/// ones are counted and shown in `flowc logs`.
const HELD_LINES: usize = 10_000;

/// What the live view shares with the approver: while a question is asked, the view is
/// hidden and the lines of running steps are held back, so that the question is the last
/// line on the terminal and the answer is typed where it can be seen.
struct LiveShared {
    multi: indicatif::MultiProgress,
    /// A question is being asked.
    asking: bool,
    /// Lines to show once it is answered.
    held: Vec<String>,
    /// Lines past [`HELD_LINES`], not shown.
    dropped: usize,
}

/// The live view of the run being shown, if it has one.
static LIVE_VIEW: std::sync::Mutex<Option<Arc<std::sync::Mutex<LiveShared>>>> =
    std::sync::Mutex::new(None);

impl Observer for Printer {
    fn event(&mut self, event: &Event) {
        if self.json {
            if let Ok(line) = serde_json::to_string(&Stamped::now(event, &self.run_id)) {
                outln!("{line}");
            }
            return;
        }
        self.track(event);
        // `flowc resume` has said how many it keeps; one line each would drown the rest.
        // An instance's start and end are its attempts' lines (`▶ step[2]`) and its step's.
        if matches!(
            event,
            Event::StepRestored { .. }
                | Event::RunFinished { .. }
                | Event::InstanceStarted { .. }
                | Event::InstanceFinished { .. }
        ) {
            return;
        }
        let t = self.stamp();
        let line = match event {
            Event::RunStarted {
                workflow, run_id, ..
            } => format!("{t} run {run_id}: workflow `{workflow}`"),
            Event::StepStarted { step, attempt } if *attempt == 1 => format!("{t} ▶ {step}"),
            Event::StepStarted { step, attempt } => format!("{t} ▶ {step} (attempt {attempt})"),
            Event::Output { step, line, .. } => {
                format!("{t} {step} | {}", super::term::printable(line))
            }
            Event::Retrying {
                step,
                next_attempt,
                delay_ms,
                reason,
                ..
            } => format!(
                "{t} ↻ {step}: {reason}; attempt {next_attempt} in {}",
                format_duration(*delay_ms)
            ),
            Event::StepFinished {
                step,
                failure: Some(failure),
                ..
            } => format!("{t} ✘ {}", render_step_failure(step, failure, true)),
            Event::StepFinished {
                step,
                status,
                duration_ms,
                reason,
                ..
            } => match reason {
                Some(r) if *status != Status::Succeeded => {
                    format!(
                        "{t} ✘ {step} {} after {}: {r}",
                        status.as_str(),
                        format_duration(*duration_ms)
                    )
                }
                _ => format!(
                    "{t} ✔ {step} {} in {}",
                    status.as_str(),
                    format_duration(*duration_ms)
                ),
            },
            Event::StepSkipped { step, reason } => format!("{t} ⤼ {step} skipped: {reason}"),
            Event::StepPaused { step, reason } => format!("{t} ⏸ {step} paused: {reason}"),
            Event::RouteTaken {
                step,
                to,
                condition: Some(c),
            } => format!("{t} ↪ {step}: on_failure {to} (if {c})"),
            Event::RouteTaken { step, to, .. } => {
                format!("{t} ↪ {step}: on_failure {to} (no route's condition held)")
            }
            Event::GroupBusy {
                group,
                policy,
                holder,
                pid,
            } => {
                self.waited = true;
                let holder = match holder {
                    Some(run) => format!("run {run} (pid {pid})"),
                    None => format!("pid {pid}"),
                };
                match *policy {
                    "skip" => format!(
                        "{t} ⤼ concurrency group `{group}` is held by {holder}: this run is skipped (policy skip)"
                    ),
                    "cancel" => format!(
                        "{t} ⧗ cancelling {holder}, which holds concurrency group `{group}`; waiting for it to stop"
                    ),
                    _ => format!(
                        "{t} ⧗ queued: concurrency group `{group}` is held by {holder}; waiting for it to end"
                    ),
                }
            }
            Event::GroupTaken { group, .. } if self.waited => {
                format!("{t} ⧗ concurrency group `{group}` taken: starting")
            }
            Event::GroupTaken { .. } => return,
            // Returned above, before the time stamp is formatted.
            Event::StepRestored { .. }
            | Event::RunFinished { .. }
            | Event::InstanceStarted { .. }
            | Event::InstanceFinished { .. } => return,
        };
        self.say(&line);
    }
}

/// Runs the workflow; exit 0 when it succeeded, 1 when it failed or stopped at an approval,
/// 2 for check, usage or input errors.
pub fn run(args: RunArgs, color: bool) -> u8 {
    if args.dry_run {
        return super::plan::run(
            super::plan::PlanArgs {
                file: args.file,
                workflow: args.workflow,
                vars: args.vars,
                vars_file: args.vars_file,
            },
            color,
        );
    }
    let opts = crate::diagnostics::RenderOptions {
        color,
        width: super::width(),
    };
    let (mut sources, root, lowered) = match super::load::compile(&args.file, opts) {
        Ok(compiled) => compiled,
        // A file with errors cannot run: that is a usage error for `run`, not a finding.
        Err(_) => return super::EXIT_USAGE,
    };
    let names: Vec<String> = lowered.graphs.iter().map(|g| g.workflow.clone()).collect();
    let workflow = match (&args.workflow, names.as_slice()) {
        (Some(w), _) if names.contains(w) => w.clone(),
        (None, [only]) => only.clone(),
        (None, []) => {
            return super::usage::report(super::usage::UsageError::Workflow {
                message: format!("`{}` has no workflow to run", args.file.display()),
                help: None,
            });
        }
        (None, _) => {
            return super::usage::report(super::usage::UsageError::Workflow {
                message: format!("`{}` has several workflows", args.file.display()),
                help: Some(format!(
                    "choose one with `--workflow`: {}",
                    names.join(", ")
                )),
            });
        }
        (Some(w), _) => {
            let hint = crate::diagnostics::did_you_mean(w, names.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return super::usage::report(super::usage::UsageError::Workflow {
                message: format!("`{}` has no workflow `{w}`", args.file.display()),
                help: Some(format!("{hint}its workflows are: {}", names.join(", "))),
            });
        }
    };
    let params = match super::params::resolve(
        &mut sources,
        root,
        &lowered,
        &workflow,
        &args.vars,
        args.vars_file.as_deref(),
        opts,
    ) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let max_parallel = match args.max_parallel.as_deref().map(max_parallel).transpose() {
        Ok(n) => n,
        Err(e) => {
            super::report_error(&e);
            return super::EXIT_USAGE;
        }
    };
    if let Err(e) = check_approvals(&lowered, &workflow, &args.approve) {
        super::report_error(&e);
        return super::EXIT_USAGE;
    }
    let launch = driver::Launch {
        log_dir: args.log_dir.clone(),
        max_parallel,
        approve_all: args.approve_all,
        approve: args.approve.clone(),
        json_events: args.events.is_some(),
        timeout: args.timeout,
        second_interrupt_exits: true,
        keep_records: false,
    };
    let options = launch.options(terminal_approver(launch.json_events));
    // Before the run's lock is taken: a `flowc pause` from then on is heard as one.
    driver::listen_for_signals();
    // The journal: `./.flow/runs/<run id>/`, unless switched off.
    let mut options = options;
    let state_root = driver::state_root(args.state_dir.as_deref());
    super::state::create_state_dirs(&[&options.log_dir, &state_root]);
    // Concurrency groups live beside the runs, wherever those are.
    options.groups = Some(crate::runtime::group::dir(&state_root));
    let lock = match driver::start_journal(
        &mut options,
        &args.file,
        &lowered,
        &workflow,
        &params,
        args.state_dir.as_deref(),
    ) {
        Ok(lock) => lock,
        Err(e) => {
            super::report_error(&e);
            return super::EXIT_USAGE;
        }
    };
    drive(
        driver::Drive {
            lowered,
            workflow,
            params,
            options,
            timeout: args.timeout,
        },
        launch.json_events,
        true,
        lock,
    )
    .0
}

/// Asks a person at the terminal at approval gates: `approve `STEP`: QUESTION [y/N]` on
/// stderr, `y` or `yes` on stdin approves, and the answer is echoed (`approve `STEP`:
/// yes`). One question at a time. On a terminal with the live view, the view is taken
/// down while the question waits (the run goes on; its lines are shown once answered),
/// so the question is the last line and the answer is typed where it can be seen. A gate
/// with a deadline is asked until then (`[y/N, 2m left]`); no answer by then is echoed as
/// `no answer within 2m`.
#[derive(Debug, Default)]
pub(crate) struct TerminalApprover {
    turn: std::sync::Mutex<()>,
}

/// Reads one line from stdin, waiting at most `wait` (`None`: as long as it takes), from
/// the file descriptor itself: no buffer may keep what was typed after it, and a question
/// that timed out leaves nothing behind that would read the next answer. `Ok(None)`: no
/// line in time; an empty string: end of input.
fn read_answer(wait: Option<Duration>) -> std::io::Result<Option<String>> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::{AsFd, AsRawFd};
    let deadline = wait.map(|w| std::time::Instant::now() + w);
    let stdin = std::io::stdin();
    let mut line = Vec::new();
    loop {
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Ok(None);
                }
                PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
                    .unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let mut buf = [0u8; 512];
        let n = match nix::unistd::read(stdin.as_raw_fd(), &mut buf) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => continue,
            Err(e) => return Err(e.into()),
        };
        line.extend_from_slice(&buf[..n]);
        if n == 0 || line.contains(&b'\n') {
            return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
        }
    }
}

impl Approver for TerminalApprover {
    fn approve(&self, step: &str, question: &str, wait: Option<Duration>) -> run::Answer {
        let Ok(_turn) = self.turn.lock() else {
            return run::Answer::No;
        };
        let live = LIVE_VIEW.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(live) = &live {
            let mut shared = live.lock().unwrap_or_else(|e| e.into_inner());
            shared.asking = true;
            let _ = shared.multi.clear();
            shared
                .multi
                .set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let mut err = std::io::stderr().lock();
        let left = wait
            .map(|w| format!(", {} left", format_duration(w.as_millis() as u64)))
            .unwrap_or_default();
        let _ = write!(err, "\napprove `{step}`: {question} [y/N{left}] ");
        let _ = err.flush();
        drop(err);
        let read = read_answer(wait);
        let answer = match &read {
            Ok(Some(text)) if matches!(text.trim().to_ascii_lowercase().as_str(), "y" | "yes") => {
                run::Answer::Yes
            }
            Ok(None) => run::Answer::Late,
            _ => run::Answer::No,
        };
        let said = match &read {
            Ok(None) => format!(
                "no answer within {} (timed out)",
                format_duration(wait.unwrap_or_default().as_millis() as u64)
            ),
            Ok(Some(text)) if text.is_empty() => "no (no answer: end of input)".to_string(),
            Err(_) => "no (no answer: end of input)".to_string(),
            Ok(Some(_)) if answer == run::Answer::Yes => "yes".to_string(),
            Ok(Some(_)) => "no".to_string(),
        };
        let mut echo = String::new();
        if !matches!(&read, Ok(Some(text)) if !text.is_empty()) {
            // The typed answer ended its own line; end of input or a timeout did not.
            echo.push('\n');
        }
        echo.push_str(&format!("approve `{step}`: {said}\n"));
        let _ = std::io::stderr().lock().write_all(echo.as_bytes());
        if let Some(live) = &live {
            let mut shared = live.lock().unwrap_or_else(|e| e.into_inner());
            shared
                .multi
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
            for line in std::mem::take(&mut shared.held) {
                let _ = shared.multi.println(line);
            }
            let dropped = std::mem::take(&mut shared.dropped);
            if dropped > 0 {
                let _ = shared.multi.println(format!(
                    "({dropped} more lines while asking; see `flowc logs`)"
                ));
            }
            shared.asking = false;
        }
        answer
    }
}

/// The terminal approver when there is a person to ask: stdin and stderr are terminals
/// and no JSON events are written.
pub(crate) fn terminal_approver(json_events: bool) -> Option<Arc<dyn Approver>> {
    use std::io::IsTerminal;
    let terminal =
        !json_events && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    terminal.then(|| Arc::new(TerminalApprover::default()) as Arc<dyn Approver>)
}

/// Runs `workflow` of a compiled program for the REPL's `:run`, with live progress on
/// stderr (or JSON events) and the summary; returns the exit code of `flowc run` and the
/// run's report.
pub(crate) fn launch(
    lowered: crate::lower::Lowered,
    workflow: &str,
    params: std::collections::BTreeMap<String, crate::runtime::eval::Value>,
    launch: &driver::Launch,
) -> (u8, Option<run::Report>) {
    let options = launch.options(terminal_approver(launch.json_events));
    let state_dirs: Vec<&std::path::Path> =
        [Some(options.log_dir.as_path()), options.groups.as_deref()]
            .into_iter()
            .flatten()
            .collect();
    super::state::create_state_dirs(&state_dirs);
    drive(
        driver::Drive {
            lowered,
            workflow: workflow.to_string(),
            params,
            options,
            timeout: launch.timeout,
        },
        launch.json_events,
        launch.second_interrupt_exits,
        None,
    )
}

/// Runs a workflow with progress output (JSON events with `events`), Ctrl-C messages (a
/// second Ctrl-C exits at once when `second_interrupt_exits`) and a summary, and gives
/// the exit code and the run's report. The run's lock is held until its journal is
/// complete.
pub(crate) fn drive(
    launch: driver::Drive,
    events: bool,
    second_interrupt_exits: bool,
    lock: Option<journal::RunLock>,
) -> (u8, Option<run::Report>) {
    let terminal = {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal()
    };
    let printer = Printer::new(events, terminal, launch.options.run_id.clone());
    // A rollback goes on with `flowc rollback`, not `flowc resume`.
    let undoing = launch.options.undo.is_some();
    let notify: driver::Notify = Arc::new(move |notice| {
        match notice {
        driver::Notice::TimedOut(limit) => errln!(
            "the run's --timeout of {} has passed: stopping running steps",
            format_duration(limit.as_millis() as u64)
        ),
        driver::Notice::Pausing { by } => errln!(
            "pausing (asked by `flowc pause`, pid {by}): running steps finish, nothing new starts (press Ctrl-C to stop them now)"
        ),
        driver::Notice::Interrupted { count: 1, by } if second_interrupt_exits => errln!(
            "interrupted ({}): stopping running steps (press Ctrl-C again to exit at once)",
            by.name()
        ),
        driver::Notice::Interrupted { count: 1, by } => {
            errln!("interrupted ({}): stopping running steps", by.name())
        }
        // A second signal exits at once, `finally` steps unrun, but leaves no step
        // process behind: the run stays interrupted, and `flowc resume` goes on from it.
        driver::Notice::Interrupted { by, .. } if second_interrupt_exits => {
            errln!(
                "interrupted again ({}): killing every step process and exiting; `flowc resume` continues the run",
                by.name()
            );
            crate::runtime::process::kill_all_now();
            std::process::exit(i32::from(by.exit_code()))
        }
        driver::Notice::Interrupted { .. } => {}
    }
    });
    let driven = match driver::drive(launch, Box::new(printer), notify, lock) {
        Ok(driven) => driven,
        Err(driver::DriveError::Run(e)) => {
            super::report_error(&e);
            return (super::EXIT_USAGE, None);
        }
        Err(e) => {
            errln!("error: {e}");
            return (super::EXIT_USAGE, None);
        }
    };
    // A run that never started a step (skipped, or stopped while it waited for its
    // concurrency group) has no table.
    if !events && !driven.report.steps.is_empty() {
        summary(&driven.report, &driven.log_dir);
    }
    let code = driven.exit_code();
    let run_id = &driven.run_id;
    let journaled = driven.journaled;
    let report = &driven.report;
    if let Some(e) = &driven.journal_error {
        super::report_error(e);
    } else {
        match report.status {
            Status::Succeeded => {}
            Status::Cancelled | Status::Failed if undoing => {
                let by = driven
                    .interrupted
                    .map(|i| format!(" ({})", i.name()))
                    .unwrap_or_default();
                let what = if report.status == Status::Failed {
                    "stopped: a step failed".to_string()
                } else {
                    format!("interrupted{by}")
                };
                errln!("rollback of run {run_id} {what}; `flowc rollback {run_id}` continues it without running again the compensations that finished");
            }
            Status::Skipped => {
                errln!(
                    "run {run_id} skipped: another run holds its concurrency group; nothing ran"
                );
            }
            Status::Cancelled if driven.timed_out => {
                if journaled {
                    errln!("`flowc resume {run_id}` continues the run");
                }
            }
            // Stopped before its first step, while it waited for its concurrency group.
            Status::Cancelled if report.steps.is_empty() => {
                if journaled {
                    errln!("run {run_id} interrupted while it waited for its concurrency group; nothing ran (`flowc resume {run_id}` waits again)");
                } else {
                    errln!(
                        "run interrupted while it waited for its concurrency group; nothing ran"
                    );
                }
            }
            Status::Cancelled => {
                let by = driven
                    .interrupted
                    .map(|i| format!(" ({})", i.name()))
                    .unwrap_or_default();
                if journaled {
                    errln!("run {run_id} interrupted{by}; `flowc resume {run_id}` continues it without re-running finished steps");
                } else {
                    errln!("run interrupted{by}; run it again to start over");
                }
            }
            Status::Waiting if journaled => {
                let gates: Vec<&str> = report
                    .steps
                    .iter()
                    .filter(|s| s.status == Status::Waiting && s.gate)
                    .map(|s| s.name.as_str())
                    .collect();
                errln!(
                    "run {run_id} is waiting for approval of {}; decide with `flowc approve {run_id} STEP` (or `flowc reject`), then continue with `flowc resume {run_id}`",
                    gates
                        .iter()
                        .map(|g| format!("`{g}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Status::Waiting => {
                errln!("run stopped at an approval gate; run it again with `--approve STEP` or `--approve-all`");
            }
            Status::Paused => {
                let waiting = report
                    .steps
                    .iter()
                    .filter(|s| s.status == Status::Paused)
                    .count();
                errln!("run {run_id} paused: its running steps finished and {waiting} step(s) wait; `flowc resume {run_id}` continues it, `flowc rollback {run_id}` undoes it");
            }
            Status::RolledBack => {
                errln!(
                    "run {run_id} rolled back; `flowc resume {run_id}` runs the undone steps again"
                );
            }
            // Its deadline stays where it was: a resume now only winds it down, unless
            // the file's `timeout` is raised first.
            Status::TimedOut if journaled => {
                errln!("run {run_id} timed out: the workflow's `timeout` passed; raise it in the file, then `flowc resume {run_id}` goes on within the new deadline (counted from the run's start)");
            }
            Status::TimedOut => errln!("run timed out: the workflow's `timeout` passed"),
            _ => {
                if journaled {
                    errln!(
                        "`flowc resume {run_id}` re-runs the failed steps and what depends on them"
                    );
                }
            }
        }
    }
    (code, Some(driven.report))
}

/// The table printed at the end of a run.
fn summary(report: &run::Report, log_dir: &std::path::Path) {
    let width = report
        .steps
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    use std::fmt::Write as _;
    // One write for the whole table: stderr is unbuffered, and a 10,000-step table
    // written piece by piece costs a quarter of a million system calls.
    let mut table = String::new();
    let _ = writeln!(
        table,
        "\n{:<width$}  {:<10} {:>8}  {:>9}",
        "step", "status", "attempts", "duration"
    );
    // Steps kept from an earlier run (`flowc resume`) are counted, not listed: `flowc
    // status` shows every step of the run.
    let kept = report.steps.iter().filter(|s| s.restored).count();
    for s in report.steps.iter().filter(|s| !s.restored) {
        let _ = writeln!(
            table,
            "{:<width$}  {:<10} {:>8}  {:>9}",
            s.name,
            s.status.as_str(),
            s.attempts,
            format_duration(s.duration.as_millis() as u64)
        );
    }
    if kept > 0 {
        let _ = writeln!(
            table,
            "({kept} step{} kept from before)",
            if kept == 1 { "" } else { "s" }
        );
    }
    // Why each failed step failed, once more where the run ends (the help was shown with
    // the progress line).
    for s in report.steps.iter().filter(|s| !s.restored) {
        if let Some(failure) = &s.failure {
            let _ = writeln!(table, "{}", render_step_failure(&s.name, failure, false));
        }
    }
    let _ = writeln!(
        table,
        "workflow `{}` {} in {}",
        report.workflow,
        match report.status {
            Status::TimedOut => "timed out",
            other => other.as_str(),
        },
        format_duration(report.duration.as_millis() as u64)
    );
    let _ = writeln!(table, "logs: {}", log_dir.display());
    err!("{table}");
}
