//! The step process runner: runs one step's argv to completion and reports how it ended.
//!
//! It takes a [`Spec`] (argv, extra environment, working directory, timeout, grace period),
//! an [`OutputSink`] that receives every output line as it arrives, and a
//! [`CancellationSignal`]. It gives an [`Outcome`] (exit code or signal, whether the step
//! timed out or was cancelled, its duration, and the tail of its stdout), or a
//! [`ProcessError`] (E0410..E0412) when the process could not be started or watched.
//!
//! The child runs in a process group of its own, so that one signal reaches everything the
//! step started and a terminal's Ctrl-C reaches flowc only (flowc then cancels the step).
//! Stopping means SIGTERM to the whole group, then SIGKILL to the group once the grace
//! period has passed. The same happens to anything left in the group when the main process
//! exits by itself: a step is over when its main process is, and backgrounded leftovers
//! would otherwise hold its output pipes open forever. The main process is always reaped.
//!
//! A process can leave the group (`setsid`, or a double fork that also changes group):
//! flowc is a child subreaper ([`become_subreaper`]), so once such a process's parent is
//! gone it is re-parented to flowc, and every process of a step attempt carries the
//! attempt's tag in its environment ([`STEP_TAG_ENV`]). When the step ends, its escaped
//! processes are killed (SIGKILL) and reaped. [`kill_all_now`] kills every step process
//! and what escaped them at once (a second interrupt), and [`kill_orphans_blocking`] what
//! is left at the end of a run.
//!
//! Unix only (process groups and signals).

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::unix::pipe;
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

use super::redact::{Redactor, StreamRedactor};
use super::spawn;

/// How much of a step's stdout [`Outcome::stdout`] keeps: the last 1 MiB.
pub const STDOUT_CAP: usize = 1024 * 1024;

/// The longest line handed to an [`OutputSink`]; a longer line arrives in pieces of at most
/// this many bytes, so that output without newlines cannot grow memory without bound.
pub const MAX_LINE: usize = 64 * 1024;

/// Once the main process is reaped and its group is gone, how long to keep reading output
/// that is still buffered in the pipes. Only matters when a process that left the group
/// (`setsid`) still holds a pipe open; otherwise the pipes end at once.
const DRAIN: Duration = Duration::from_millis(100);

/// After SIGKILL, how long to wait for the group's members to actually die before giving
/// up on them (a member we may not signal, or one stuck in the kernel).
const SETTLE: Duration = Duration::from_secs(2);

/// First and longest interval between checks whether a group still has live members.
const POLL_FIRST: Duration = Duration::from_millis(5);
const POLL_MAX: Duration = Duration::from_millis(100);

/// How long a step's output pipes go unwatched: read once the main process has exited,
/// or from this long after it started, whichever comes first. Most short steps are over
/// before it, and then their pipes are read straight to their end, never added to the
/// reactor (two registrations, two removals and two wake-ups fewer per step). A step that
/// prints sooner shows its lines this much later, and one that fills a pipe (64 KiB)
/// before it waits at most this long once.
const WATCH_AFTER: Duration = Duration::from_millis(10);

/// What to run for one step (one attempt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The program and its arguments; the program is looked up on `PATH`.
    pub argv: Vec<String>,
    /// Variables added to (or overriding) the environment flowc inherited.
    pub env: Vec<(String, String)>,
    /// The working directory.
    pub cwd: PathBuf,
    /// How long the step may run before it is stopped; `None` for no limit.
    pub timeout: Option<Duration>,
    /// How long to wait between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// The run's secrets, redacted from both streams as they are read: before they are
    /// cut into lines (a secret across a [`MAX_LINE`] cut is still caught) and before
    /// [`Outcome::stdout`] keeps its tail.
    pub redactor: Redactor,
}

/// How a step's process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The exit code, if the main process exited normally.
    pub exit_code: Option<i32>,
    /// The signal that ended the main process, if one did.
    pub signal: Option<i32>,
    /// The step was stopped because it ran past its timeout.
    pub timed_out: bool,
    /// The step was stopped because it was cancelled (or never started, when cancelled
    /// before [`run`] was called).
    pub cancelled: bool,
    /// From just before the start until the process and its group were gone.
    pub duration: Duration,
    /// The stdout, lossily decoded; only its last [`STDOUT_CAP`] bytes when longer (cut at
    /// a character boundary).
    pub stdout: String,
}

impl Outcome {
    /// Whether the step succeeded: exit code 0, neither timed out nor cancelled.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.cancelled
    }
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The step's standard output.
    Stdout,
    /// The step's standard error.
    Stderr,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        })
    }
}

/// Receives a step's output, one line at a time, as it arrives.
///
/// Lines come without their `\n` (or `\r\n`), lossily decoded from UTF-8; a final line
/// without a newline is delivered too. Lines of one stream arrive in the order the process
/// wrote them; the two streams are interleaved in the order flowc read them. The sink is
/// called from the task running [`run`], so it should not block for long: a slow sink
/// slows the step's reading, and a full pipe pauses the step.
///
/// Any `FnMut(Stream, &str) + Send` closure is a sink.
pub trait OutputSink: Send {
    /// One line of output from `stream`.
    fn line(&mut self, stream: Stream, line: &str);
}

impl<F: FnMut(Stream, &str) + Send> OutputSink for F {
    fn line(&mut self, stream: Stream, line: &str) {
        self(stream, line);
    }
}

/// Cancels the steps watching the [`CancellationSignal`]s it hands out. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Canceller(Arc<watch::Sender<bool>>);

/// Tells [`run`] to stop its step early. Cheap to clone; every clone sees the same
/// cancellation.
#[derive(Debug, Clone)]
pub struct CancellationSignal(watch::Receiver<bool>);

/// A new canceller and a signal it controls.
pub fn cancellation() -> (Canceller, CancellationSignal) {
    let (tx, rx) = watch::channel(false);
    (Canceller(Arc::new(tx)), CancellationSignal(rx))
}

impl Canceller {
    /// Cancels every signal from this canceller, now and for good.
    pub fn cancel(&self) {
        // `send_replace` also works when no signal is listening any more.
        self.0.send_replace(true);
    }

    /// Another signal controlled by this canceller.
    pub fn signal(&self) -> CancellationSignal {
        CancellationSignal(self.0.subscribe())
    }
}

impl CancellationSignal {
    /// A signal that is never cancelled.
    pub fn never() -> Self {
        // With the sender gone the value stays `false` forever.
        cancellation().1
    }

    /// Whether cancellation has been requested.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once cancellation is requested; never, if its canceller is dropped first.
    pub async fn cancelled(&mut self) {
        if self.0.wait_for(|cancelled| *cancelled).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Why a step's process could not be run or watched.
#[derive(Clone, Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProcessError {
    /// The process could not be started (missing program, not executable, bad directory).
    #[error("cannot start step process `{program}`: {reason}")]
    #[diagnostic(
        code(E0410),
        help("check that the program exists, is executable and is on PATH, and that the step's working directory exists")
    )]
    CannotStart {
        /// The program (`argv[0]`).
        program: String,
        /// What the operating system said.
        reason: String,
    },

    /// Waiting for the process failed; its process group was killed.
    #[error("lost track of step process `{program}`: {reason}")]
    #[diagnostic(
        code(E0411),
        help("the operating system could not report how the process ended; it and everything it started were killed")
    )]
    CannotWait {
        /// The program (`argv[0]`).
        program: String,
        /// What the operating system said.
        reason: String,
    },

    /// Reading the process's output failed, so the output is incomplete.
    #[error("cannot read the {stream} of step process `{program}`: {reason}")]
    #[diagnostic(
        code(E0412),
        help("the step's output is incomplete, so its result cannot be trusted; run it again")
    )]
    CannotReadOutput {
        /// The program (`argv[0]`).
        program: String,
        /// The stream that failed.
        stream: Stream,
        /// What the operating system said.
        reason: String,
    },
}

/// Runs `spec` to completion, sending its output to `sink` line by line.
///
/// The child gets a null stdin and runs in a new process group. It is stopped (SIGTERM to
/// the group, SIGKILL after `spec.grace`) when `spec.timeout` passes or `cancel` fires;
/// leftovers in the group are stopped the same way when the main process exits by itself.
/// Returns once the main process is reaped and its group is gone (or was SIGKILLed), and
/// the output pipes are read to their end (or the group is gone and they stay open).
/// A `cancel` that has already fired means the process is not started at all.
pub async fn run(
    spec: &Spec,
    sink: &mut dyn OutputSink,
    cancel: CancellationSignal,
) -> Result<Outcome, ProcessError> {
    run_with(spec, sink, cancel, &mut |_| {}).await
}

/// [`run`], calling `on_start` with the process group id right after the process starts
/// (the journal records it, so that a later `flowc resume` can kill what a crash left).
pub async fn run_with(
    spec: &Spec,
    sink: &mut dyn OutputSink,
    mut cancel: CancellationSignal,
    on_start: &mut (dyn FnMut(i32) + Send),
) -> Result<Outcome, ProcessError> {
    let Some(program) = spec.argv.first() else {
        return Err(ProcessError::CannotStart {
            program: String::new(),
            reason: "the command is empty".into(),
        });
    };
    let started = Instant::now();
    if cancel.is_cancelled() {
        return Ok(Outcome {
            exit_code: None,
            signal: None,
            timed_out: false,
            cancelled: true,
            duration: started.elapsed(),
            stdout: String::new(),
        });
    }

    // Every process of this attempt carries its tag, so that one that escapes the group
    // is still known to be the step's.
    let tag = format!(
        "{}.{}",
        own().pid,
        NEXT_TAG.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let mut env = Vec::with_capacity(spec.env.len() + 1);
    env.extend_from_slice(&spec.env);
    env.push((STEP_TAG_ENV.to_string(), tag.clone()));
    let spawned = {
        // Held across the spawn: `kill_all_now` either sees this group or stops it
        // from starting.
        let mut registry = registry();
        let registry = registry.get_or_insert_with(Registry::default);
        if registry.closed {
            return Ok(Outcome {
                exit_code: None,
                signal: None,
                timed_out: false,
                cancelled: true,
                duration: started.elapsed(),
                stdout: String::new(),
            });
        }
        let spawned = spawn::spawn(&spawn::Request {
            argv: &spec.argv,
            env: &env,
            cwd: &spec.cwd,
        })
        .map_err(|e| start_error(program, &spec.cwd, &e))?;
        registry.groups.insert(spawned.pid);
        spawned
    };
    drop(env);
    on_start(spawned.pid);
    let pid = Pid::from_raw(spawned.pid);
    // From here on, leaving early (an error, or the caller dropping this future) kills
    // the whole group; a dropped child is reaped in the background.
    let mut group = Group {
        pgid: pid,
        armed: true,
    };
    let mut child = Child::new(pid, spawned.pidfd);
    let mut out = LineReader::new(
        Some(Pipe::Idle(Some(spawned.stdout))),
        Some(Tail::default()),
    )
    .redacting(&spec.redactor);
    let mut err =
        LineReader::new(Some(Pipe::Idle(Some(spawned.stderr))), None).redacting(&spec.redactor);

    let deadline = spec.timeout.map(|t| started + t);
    let mut status: Option<ExitStatus> = None;
    let mut timed_out = false;
    let mut cancelled = false;
    // Set once SIGTERM went to the group: when SIGKILL follows.
    let mut kill_at: Option<Instant> = None;
    // Set once SIGKILL went to the group: when to stop waiting for it to die.
    let mut settle_until: Option<Instant> = None;
    let mut group_gone = false;
    let mut next_poll: Option<Instant> = None;
    let mut poll_step = POLL_FIRST;
    let mut drain_until: Option<Instant> = None;
    let mut read_error: Option<(Stream, io::Error)> = None;
    // Made once, not at every turn of the loop: each is polled until it fires, and then
    // never again (both stop `running`).
    let stop_asked = cancel.cancelled();
    tokio::pin!(stop_asked);
    let time_up = sleep_opt(deadline);
    tokio::pin!(time_up);
    // The pipes are read once the main process has exited, or once this fires.
    let mut watching = false;
    let watch_pipes = sleep_until(started + WATCH_AFTER);
    tokio::pin!(watch_pipes);

    loop {
        if status.is_some() && group_gone {
            if out.done() && err.done() {
                break;
            }
            drain_until.get_or_insert_with(|| Instant::now() + DRAIN);
        }
        let running = status.is_none() && kill_at.is_none();
        let polling = status.is_some() && !group_gone;
        let reading = watching || status.is_some();
        tokio::select! {
            line = out.next_line(), if reading && !out.done() => {
                deliver(sink, Stream::Stdout, line, &mut read_error);
            }
            line = err.next_line(), if reading && !err.done() => {
                deliver(sink, Stream::Stderr, line, &mut read_error);
            }
            () = &mut watch_pipes, if !reading => watching = true,
            exited = child.wait(), if status.is_none() => {
                let exited = exited.map_err(|e| ProcessError::CannotWait {
                    program: program.clone(),
                    reason: os_reason(&e),
                })?;
                status = Some(exited);
                if kill_at.is_none() {
                    // The main process is done: whatever it left behind in its group
                    // goes too. Signalling right after the reap, with no await between,
                    // keeps the window for the pid being reused as small as it can be.
                    if group.signal(Signal::SIGTERM) {
                        kill_at = Some(Instant::now() + spec.grace);
                    } else {
                        group_gone = true;
                    }
                }
                next_poll = Some(Instant::now());
            }
            () = &mut time_up, if running => {
                timed_out = true;
                kill_at = Some(terminate(&group, pid, spec.grace));
            }
            () = &mut stop_asked, if running => {
                cancelled = true;
                kill_at = Some(terminate(&group, pid, spec.grace));
            }
            () = sleep_opt(kill_at), if settle_until.is_none() && !group_gone => {
                group.signal(Signal::SIGKILL);
                if status.is_none() {
                    // In case the main process left its group: it is not reaped yet, so
                    // its pid is still its own.
                    child.start_kill();
                }
                settle_until = Some(Instant::now() + SETTLE);
            }
            () = sleep_opt(next_poll), if polling => {
                let now = Instant::now();
                if !group.alive() || settle_until.is_some_and(|t| now >= t) {
                    group_gone = true;
                } else {
                    next_poll = Some(now + poll_step);
                    poll_step = (poll_step * 2).min(POLL_MAX);
                }
            }
            () = sleep_opt(drain_until) => break,
        }
    }
    group.armed = false;
    // What left the group (`setsid`, a double fork) and was re-parented to flowc goes
    // with its step too.
    kill_escaped(&tag).await;

    // Output cut off by the drain limit still counts, as a final partial line.
    for (rest, stream) in [(out.rest(), Stream::Stdout), (err.rest(), Stream::Stderr)] {
        if let Some(rest) = rest {
            sink.line(stream, &rest);
        }
    }
    if let Some((stream, e)) = read_error {
        return Err(ProcessError::CannotReadOutput {
            program: program.clone(),
            stream,
            reason: os_reason(&e),
        });
    }
    let Some(status) = status else {
        // The loop only ends once the main process has been reaped.
        return Err(ProcessError::CannotWait {
            program: program.clone(),
            reason: "the process was never reaped".into(),
        });
    };
    Ok(Outcome {
        exit_code: status.code(),
        signal: status.signal(),
        timed_out,
        cancelled,
        duration: started.elapsed(),
        stdout: out.capture.take().map(Tail::finish).unwrap_or_default(),
    })
}

/// Hands one read result to the sink, remembering the first read error.
fn deliver(
    sink: &mut dyn OutputSink,
    stream: Stream,
    line: io::Result<Option<String>>,
    read_error: &mut Option<(Stream, io::Error)>,
) {
    match line {
        Ok(Some(line)) => sink.line(stream, &line),
        Ok(None) => {}
        Err(e) => {
            read_error.get_or_insert((stream, e));
        }
    }
}

/// SIGTERM to the group of a still running main process; returns when to SIGKILL.
fn terminate(group: &Group, pid: Pid, grace: Duration) -> Instant {
    if !group.signal(Signal::SIGTERM) {
        // The main process left its group (setsid); it is not reaped yet, so its pid is
        // still its own.
        let _ = kill(pid, Signal::SIGTERM);
    }
    Instant::now() + grace
}

/// The E0410 error for a failed spawn, naming the working directory when that is the
/// problem (the OS reports a missing directory just like a missing program).
fn start_error(program: &str, cwd: &Path, e: &io::Error) -> ProcessError {
    let reason = if cwd.is_dir() {
        os_reason(e)
    } else {
        format!(
            "the working directory `{}` does not exist or is not a directory",
            cwd.display()
        )
    };
    ProcessError::CannotStart {
        program: program.to_string(),
        reason,
    }
}

/// An I/O error as a lowercase reason ("no such file or directory (os error 2)").
fn os_reason(e: &io::Error) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// Sleeps until `at`, or forever when there is no `at`.
async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A started step's main process, reaped through its pidfd, or by a blocking thread on a
/// kernel without pidfds. Dropped before it was reaped, it is reaped in the background.
struct Child {
    pid: Pid,
    /// `None` only while being dropped.
    reaper: Option<Reaper>,
    status: Option<ExitStatus>,
}

enum Reaper {
    PidFd(spawn::ExitWatch),
    Thread(tokio::task::JoinHandle<io::Result<ExitStatus>>),
}

impl Child {
    fn new(pid: Pid, pidfd: Option<OwnedFd>) -> Self {
        // A pidfd the reactor cannot watch is no worse than none.
        let reaper = match pidfd.map(spawn::ExitWatch::new) {
            Some(Ok(watch)) => Reaper::PidFd(watch),
            _ => Reaper::Thread(tokio::task::spawn_blocking(move || reap_blocking(pid))),
        };
        Self {
            pid,
            reaper: Some(reaper),
            status: None,
        }
    }

    /// Waits for the process to exit and reaps it. Cancel-safe.
    async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = match &mut self.reaper {
            Some(Reaper::PidFd(watch)) => {
                let pid = self.pid;
                watch.until(|| try_reap(pid)).await?
            }
            Some(Reaper::Thread(handle)) => handle.await.map_err(io::Error::other)??,
            None => return Err(io::Error::other("the process has no reaper")),
        };
        self.status = Some(status);
        Ok(status)
    }

    /// SIGKILL to the main process, unless it was reaped (its pid may be reused then).
    fn start_kill(&self) {
        if self.status.is_none() {
            let _ = kill(self.pid, Signal::SIGKILL);
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() || matches!(try_reap(self.pid), Ok(Some(_)) | Err(_)) {
            return;
        }
        let pid = self.pid;
        // A blocking reaper thread finishes by itself.
        if let Some(Reaper::PidFd(fd)) = self.reaper.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(async move {
                        let _ = fd.until(|| try_reap(pid)).await;
                    });
                }
                Err(_) => {
                    drop(fd);
                    std::thread::spawn(move || reap_blocking(pid));
                }
            }
        }
    }
}

/// The exit status of `pid` if it has exited (and is now reaped).
fn try_reap(pid: Pid) -> io::Result<Option<ExitStatus>> {
    loop {
        return match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(status) => Ok(exit_status(status)),
            Err(Errno::EINTR) => continue,
            Err(e) => Err(e.into()),
        };
    }
}

/// Waits for `pid` to exit, blocking the thread.
fn reap_blocking(pid: Pid) -> io::Result<ExitStatus> {
    loop {
        match waitpid(pid, None) {
            Ok(status) => {
                if let Some(status) = exit_status(status) {
                    return Ok(status);
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// How a process ended, from what `waitpid` said; `None` while it has not.
fn exit_status(status: WaitStatus) -> Option<ExitStatus> {
    match status {
        WaitStatus::Exited(_, code) => Some(ExitStatus::from_raw((code & 0xff) << 8)),
        WaitStatus::Signaled(_, signal, core) => Some(ExitStatus::from_raw(
            signal as i32 | if core { 0x80 } else { 0 },
        )),
        _ => None,
    }
}

/// A step's process group; kills it when dropped while still armed.
struct Group {
    pgid: Pid,
    armed: bool,
}

impl Group {
    /// Sends `signal` to the group; false when the group has no members left.
    fn signal(&self, signal: Signal) -> bool {
        // EPERM means members exist that we may not signal (a setuid program): the
        // group is still there.
        !matches!(killpg(self.pgid, signal), Err(Errno::ESRCH))
    }

    /// Whether any member of the group is still alive.
    fn alive(&self) -> bool {
        if matches!(killpg(self.pgid, None), Err(Errno::ESRCH)) {
            return false;
        }
        // Dead members stay in the group as zombies until their new parent reaps them,
        // which an init process may do late; /proc tells the living from the dead.
        live_member_in_proc(self.pgid).unwrap_or(true)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.armed {
            let _ = killpg(self.pgid, Signal::SIGKILL);
        }
        if let Some(registry) = registry().as_mut() {
            registry.groups.remove(&self.pgid.as_raw());
        }
    }
}

/// Whether /proc lists a process of group `pgid` that is not a zombie; `None` when /proc
/// cannot be read (not Linux, or not mounted).
fn live_member_in_proc(pgid: Pid) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let mut any_process = false;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // The process may be gone by now; that is fine.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        any_process = true;
        if let Some((state, group)) = parse_stat(&stat) {
            if group == pgid.as_raw() && state != 'Z' && state != 'X' {
                return Some(true);
            }
        }
    }
    // An empty /proc (say, a mount without our pid namespace) proves nothing.
    any_process.then_some(false)
}

/// The state and process group from the text of `/proc/<pid>/stat`.
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so look
    // after the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

// ---------------------------------------------------------------------------------------
// Every step process at once: the registry, and processes that escaped their group
// ---------------------------------------------------------------------------------------

/// The environment variable that tags every process of one step attempt (`<flowc
/// pid>.<n>`), inherited by whatever it starts: how a process that left the step's
/// process group is known to be the step's when it is re-parented to flowc.
pub const STEP_TAG_ENV: &str = "FLOW_STEP_TAG";

/// The process groups of the step processes running now, and whether new ones may start.
#[derive(Default)]
struct Registry {
    /// The process group ids (each also its main process's pid).
    groups: rustc_hash::FxHashSet<i32>,
    /// Set by [`kill_all_now`]: nothing starts any more.
    closed: bool,
}

/// The registry, locked across each spawn so that [`kill_all_now`] sees every step
/// process that has started, and no step starts after it.
static REGISTRY: std::sync::Mutex<Option<Registry>> = std::sync::Mutex::new(None);

/// The registry, locked (a panic elsewhere does not stop a kill).
fn registry() -> std::sync::MutexGuard<'static, Option<Registry>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether flowc is a child subreaper (see [`become_subreaper`]).
static SUBREAPER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The next step tag's number.
static NEXT_TAG: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Makes flowc a child subreaper (`PR_SET_CHILD_SUBREAPER`): a process that leaves its
/// step's process group (`setsid`, a double fork) and outlives its parent is re-parented
/// to flowc instead of to init, so flowc can find it (by its [`STEP_TAG_ENV`]) and kill it
/// with its step, and reap it. Idempotent; a kernel that refuses leaves things as before.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    if nix::sys::prctl::set_child_subreaper(true).is_ok() {
        SUBREAPER.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Kills (SIGKILL) every step process now, their process groups and what escaped them,
/// and lets none start afterwards: for a second interrupt, which exits at once. Waits up
/// to two seconds for escaped processes to be re-parented and killed. Returns how many
/// groups and escaped processes it killed.
pub fn kill_all_now() -> usize {
    let own = own().pid;
    let groups: Vec<i32> = {
        let mut registry = registry();
        let registry = registry.get_or_insert_with(Registry::default);
        registry.closed = true;
        registry.groups.iter().copied().collect()
    };
    for &g in &groups {
        let _ = killpg(Pid::from_raw(g), Signal::SIGKILL);
        // A main process that left its group: still our child (not reaped), so its pid
        // is still its own.
        if parent_of(g) == Some(own) {
            let _ = kill(Pid::from_raw(g), Signal::SIGKILL);
        }
    }
    groups.len() + kill_orphans_blocking(None)
}

/// Kills (SIGKILL) every process re-parented to flowc and reaps them, waiting up to two
/// seconds for their own children to be re-parented in turn: at the end of a run, for
/// escaped processes that carry no step tag. Returns how many it killed.
pub fn kill_orphans_blocking(tag: Option<&str>) -> usize {
    let until = std::time::Instant::now() + SETTLE;
    let mut killed = 0;
    loop {
        let (hit, live) = sweep(tag);
        killed += hit;
        if live == 0 || std::time::Instant::now() >= until {
            return killed;
        }
        std::thread::sleep(POLL_FIRST);
    }
}

/// Kills the processes of one step attempt (tagged `tag`) that escaped its group and were
/// re-parented to flowc, and waits (up to [`SETTLE`]) for them and what they started.
async fn kill_escaped(tag: &str) {
    if !SUBREAPER.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let mut until = None;
    loop {
        let (_, live) = sweep(Some(tag));
        if live == 0 {
            return;
        }
        let until = *until.get_or_insert_with(|| Instant::now() + SETTLE);
        if Instant::now() >= until {
            return;
        }
        tokio::time::sleep(POLL_FIRST).await;
    }
}

/// One pass over flowc's re-parented children: reaps the dead, and SIGKILLs the live ones
/// whose environment holds step tag `tag` (all of them without one), with their process
/// group. Returns how many it signalled and how many of those were alive.
fn sweep(tag: Option<&str>) -> (usize, usize) {
    if !SUBREAPER.load(std::sync::atomic::Ordering::Relaxed) {
        return (0, 0);
    }
    let own = own();
    let orphans = orphans(own);
    // The usual case, after every step: nothing was re-parented to flowc.
    if orphans.is_empty() {
        return (0, 0);
    }
    let marker = tag.map(|t| format!("{STEP_TAG_ENV}={t}"));
    let running: rustc_hash::FxHashSet<i32> = registry()
        .as_ref()
        .map(|r| r.groups.clone())
        .unwrap_or_default();
    let mut signalled = 0;
    for pid in orphans {
        // A step's main process is a child of the thread that started it; never touch it
        // here (its runner reaps it).
        if running.contains(&pid) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((state, group)) = parse_stat(&stat) else {
            continue;
        };
        let target = Pid::from_raw(pid);
        if state == 'Z' || state == 'X' {
            // Ours to reap: re-parented to flowc, and no step's main process.
            let _ = waitpid(target, Some(WaitPidFlag::WNOHANG));
            continue;
        }
        let tagged = match &marker {
            None => true,
            Some(marker) => std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|kv| kv == marker.as_bytes())),
        };
        if !tagged {
            continue;
        }
        if group > 1 && group != own.group && !running.contains(&group) {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
        // Our child, not reaped: the pid is still its own.
        let _ = kill(target, Signal::SIGKILL);
        signalled += 1;
    }
    (signalled, signalled)
}

/// What [`sweep`] needs of flowc itself, taken once: a sweep runs after every step.
struct Own {
    pid: i32,
    group: i32,
    /// `/proc/PID/task/PID/children`, kept open: read again from its start, it lists the
    /// children of that moment, so a sweep costs one `pread` rather than an `open`, a
    /// `stat`, a `read` and a `close`.
    children: Option<std::fs::File>,
}

fn own() -> &'static Own {
    static OWN: std::sync::OnceLock<Own> = std::sync::OnceLock::new();
    OWN.get_or_init(|| {
        let pid = std::process::id() as i32;
        Own {
            pid,
            group: nix::unistd::getpgrp().as_raw(),
            children: std::fs::File::open(children_file(pid)).ok(),
        }
    })
}

/// The processes re-parented to flowc: the children of its main thread, which is where
/// the kernel re-parents orphans to a subreaper (step processes are children of the
/// thread that started them). Without `/proc/PID/task/TID/children`, every process whose
/// parent is flowc.
fn orphans(own: &Own) -> Vec<i32> {
    if let Some(file) = &own.children {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 4096];
        match file.read_at(&mut buf, 0) {
            // A list that fits is the whole list: the kernel fills a read as far as the
            // buffer goes.
            Ok(n) if n < buf.len() => return pids(&buf[..n]),
            Ok(_) => {
                if let Ok(list) = std::fs::read(children_file(own.pid)) {
                    return pids(&list);
                }
            }
            Err(_) => {}
        }
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| parent_of(pid) == Some(own.pid))
        .collect()
}

/// The file that lists the children of `pid`'s main thread.
fn children_file(pid: i32) -> String {
    format!("/proc/{pid}/task/{pid}/children")
}

/// The pids of a `children` file: decimal numbers separated by spaces.
fn pids(list: &[u8]) -> Vec<i32> {
    list.split(|b| b.is_ascii_whitespace())
        .filter_map(|p| std::str::from_utf8(p).ok()?.parse().ok())
        .collect()
}

/// The parent of `pid`, from /proc.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// The read end of a step's output pipe (non-blocking): read directly while no data is
/// awaited, and handed to the reactor only when a read finds the pipe empty and still
/// open. A pipe whose writers are all gone by its first read (the usual end of a short
/// step) is read to its end without ever being registered.
enum Pipe {
    /// Not registered; `None` only if handing it to the reactor failed (that read
    /// reported the error, and the stream ended there).
    Idle(Option<OwnedFd>),
    Watched(pipe::Receiver),
}

impl AsyncRead for Pipe {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        let this = self.get_mut();
        loop {
            match this {
                Pipe::Idle(fd) => {
                    let read = match fd.as_ref() {
                        Some(owned) => spawn::read_into(owned, buf),
                        None => Err(io::Error::other("the pipe was lost")),
                    };
                    match read {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        // Only a pipe that is there can be empty.
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            if let Some(owned) = fd.take() {
                                *this =
                                    Pipe::Watched(pipe::Receiver::from_owned_fd_unchecked(owned)?);
                            }
                        }
                        read => return Poll::Ready(read),
                    }
                }
                Pipe::Watched(receiver) => return std::pin::Pin::new(receiver).poll_read(cx, buf),
            }
        }
    }
}

/// Splits one pipe into lines; cancel-safe, so it can sit in a `select!` loop.
struct LineReader<R> {
    /// `None` once the stream ended or failed; dropping it closes our end of the pipe.
    reader: Option<R>,
    buf: Vec<u8>,
    /// Where the unconsumed data in `buf` begins.
    start: usize,
    /// How many bytes after `start` are known to hold no newline.
    scanned: usize,
    /// Everything read also goes here (stdout only).
    capture: Option<Tail>,
    /// Redacts what is read before it reaches `buf`, holding back across reads the end
    /// that may begin a secret.
    redact: Option<StreamRedactor>,
    /// A read's raw bytes, before redaction.
    raw: Vec<u8>,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(reader: Option<R>, capture: Option<Tail>) -> Self {
        Self {
            reader,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            capture,
            redact: None,
            raw: Vec::new(),
        }
    }

    /// The same reader, redacting `redactor`'s secrets (if it has any).
    fn redacting(mut self, redactor: &Redactor) -> Self {
        self.redact = (!redactor.is_empty()).then(|| StreamRedactor::new(redactor));
        self
    }

    /// Appends `data` (what was read; empty at the end of the stream) to `buf`,
    /// redacted, and to the capture.
    fn take_in(&mut self, data: Option<&[u8]>) {
        let before = self.buf.len();
        match (&mut self.redact, data) {
            // Flushed at once: a short line is not held back until more output comes,
            // only what may be the start of a secret is.
            (Some(stream), Some(data)) => {
                stream.push(data, &mut self.buf);
                stream.flush(&mut self.buf);
            }
            (Some(stream), None) => stream.finish(&mut self.buf),
            (None, Some(data)) => self.buf.extend_from_slice(data),
            (None, None) => {}
        }
        if let Some(tail) = self.capture.as_mut() {
            tail.push(&self.buf[before..]);
        }
    }

    /// Whether the stream is over and every line was handed out.
    fn done(&self) -> bool {
        self.reader.is_none() && self.start == self.buf.len()
    }

    /// The next line; `None` once the stream is over. Cancel-safe: the only await is a
    /// single read, whose data is stored before it returns.
    async fn next_line(&mut self) -> io::Result<Option<String>> {
        loop {
            if let Some(line) = self.take_line() {
                return Ok(Some(line));
            }
            let Some(reader) = self.reader.as_mut() else {
                return Ok(self.rest());
            };
            // Only here, with no complete line left, is the consumed front dropped: at
            // most once per read.
            self.buf.drain(..self.start);
            self.start = 0;
            self.raw.clear();
            self.raw.reserve(8 * 1024);
            match reader.read_buf(&mut self.raw).await {
                Ok(0) => {
                    self.reader = None;
                    self.take_in(None);
                }
                Ok(_) => {
                    let raw = std::mem::take(&mut self.raw);
                    self.take_in(Some(&raw));
                    self.raw = raw;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.reader = None;
                    self.take_in(None);
                    return Err(e);
                }
            }
        }
    }

    /// A complete line (or a piece of [`MAX_LINE`] bytes) from the buffer, if there is one.
    fn take_line(&mut self) -> Option<String> {
        let data = &self.buf[self.start..];
        let newline = data[self.scanned..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|pos| self.scanned + pos);
        if let Some(end) = newline {
            let line = data[..end].strip_suffix(b"\r").unwrap_or(&data[..end]);
            if line.len() <= MAX_LINE {
                let line = String::from_utf8_lossy(line).into_owned();
                self.start += end + 1;
                self.scanned = 0;
                return Some(line);
            }
        }
        if data.len() <= MAX_LINE {
            self.scanned = data.len();
            return None;
        }
        // Cut before a UTF-8 continuation byte, so a character is not split in two.
        let mut cut = MAX_LINE;
        while cut > MAX_LINE - 3 && data[cut] & 0xC0 == 0x80 {
            cut -= 1;
        }
        let piece = String::from_utf8_lossy(&data[..cut]).into_owned();
        // What follows the cut holds no newline up to `end` (or the end of the data).
        self.scanned = newline.unwrap_or(data.len()) - cut;
        self.start += cut;
        Some(piece)
    }

    /// Whatever is left in the buffer, as a final line.
    fn rest(&mut self) -> Option<String> {
        // Cut off by the drain limit: what the redactor holds is part of the rest.
        if self.reader.take().is_some() {
            self.take_in(None);
        }
        let data = &self.buf[self.start..];
        if data.is_empty() {
            return None;
        }
        let line = String::from_utf8_lossy(data).into_owned();
        self.start = self.buf.len();
        self.scanned = 0;
        Some(line)
    }
}

/// The last [`STDOUT_CAP`] bytes of a stream.
#[derive(Debug, Default)]
struct Tail {
    bytes: Vec<u8>,
    /// Whether anything was dropped from the front.
    cut: bool,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        // Trim only when twice over the cap, so trimming costs O(1) per byte overall.
        if self.bytes.len() > 2 * STDOUT_CAP {
            let excess = self.bytes.len() - STDOUT_CAP;
            self.bytes.drain(..excess);
            self.cut = true;
        }
    }

    fn finish(self) -> String {
        let excess = self.bytes.len().saturating_sub(STDOUT_CAP);
        let mut kept = &self.bytes[excess..];
        if self.cut || excess > 0 {
            // Do not start in the middle of a character.
            let skip = kept
                .iter()
                .take(3)
                .take_while(|&&b| b & 0xC0 == 0x80)
                .count();
            kept = &kept[skip..];
        }
        String::from_utf8_lossy(kept).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miette::Diagnostic;

    /// Prevents a broken runner from hanging the test suite; never a performance bound.
    const HANG_GUARD: Duration = Duration::from_secs(60);

    fn spec(script: &str) -> Spec {
        Spec {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env: Vec::new(),
            cwd: std::env::current_dir().expect("cwd"),
            timeout: None,
            grace: Duration::from_millis(300),
            redactor: Redactor::default(),
        }
    }

    type Lines = Vec<(Stream, String)>;

    /// The error of a `spec` that must not start.
    async fn cannot_start(spec: &Spec) -> ProcessError {
        run(
            spec,
            &mut |_: Stream, _: &str| {},
            CancellationSignal::never(),
        )
        .await
        .expect_err("cannot start")
    }

    async fn run_collect(spec: &Spec, cancel: CancellationSignal) -> (Outcome, Lines) {
        let mut lines = Vec::new();
        let mut sink = |stream: Stream, line: &str| lines.push((stream, line.to_string()));
        let outcome = tokio::time::timeout(HANG_GUARD, run(spec, &mut sink, cancel))
            .await
            .expect("run hung")
            .expect("runs");
        (outcome, lines)
    }

    fn of(lines: &Lines, stream: Stream) -> Vec<String> {
        lines
            .iter()
            .filter(|(s, _)| *s == stream)
            .map(|(_, l)| l.clone())
            .collect()
    }

    fn first_pid(lines: &Lines) -> i32 {
        of(lines, Stream::Stdout)[0].parse().expect("a pid")
    }

    /// Live (non-zombie) processes whose process group is `pgid`, from /proc.
    fn live_in_group(pgid: i32) -> Vec<i32> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let (state, group) = parse_stat(&stat).expect("stat parses");
            if group == pgid && state != 'Z' && state != 'X' {
                found.push(pid);
            }
        }
        found
    }

    /// Whether `pid` is a live (non-zombie) process.
    fn alive(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => parse_stat(&stat).is_some_and(|(state, _)| state != 'Z' && state != 'X'),
            Err(_) => false,
        }
    }

    #[tokio::test]
    async fn reports_exit_codes() {
        let (ok, _) = run_collect(&spec("exit 0"), CancellationSignal::never()).await;
        assert_eq!(ok.exit_code, Some(0));
        assert_eq!(ok.signal, None);
        assert!(ok.success());
        let (failed, _) = run_collect(&spec("exit 3"), CancellationSignal::never()).await;
        assert_eq!(failed.exit_code, Some(3));
        assert!(!failed.success());
        assert!(!failed.timed_out && !failed.cancelled);
    }

    #[tokio::test]
    async fn reports_a_killing_signal() {
        let (outcome, _) = run_collect(&spec("kill -9 $$"), CancellationSignal::never()).await;
        assert_eq!(outcome.exit_code, None);
        assert_eq!(outcome.signal, Some(9));
        assert!(!outcome.success());
    }

    #[tokio::test]
    async fn captures_lines_in_order_with_their_streams() {
        let script =
            "echo a; echo b >&2; echo c; printf 'x\\r\\n'; echo e >&2; printf d; printf f >&2";
        let (outcome, lines) = run_collect(&spec(script), CancellationSignal::never()).await;
        assert_eq!(of(&lines, Stream::Stdout), ["a", "c", "x", "d"]);
        assert_eq!(of(&lines, Stream::Stderr), ["b", "e", "f"]);
        assert_eq!(outcome.stdout, "a\nc\nx\r\nd");
        assert!(outcome.success());
    }

    #[tokio::test]
    async fn applies_env_and_cwd() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spec = spec("echo \"$FLOWC_TEST_VALUE\"; echo \"${PATH:+inherited}\"; pwd -P");
        spec.env = vec![("FLOWC_TEST_VALUE".into(), "hello world".into())];
        spec.cwd = dir.path().to_path_buf();
        let (_, lines) = run_collect(&spec, CancellationSignal::never()).await;
        let real = dir.path().canonicalize().expect("canonical");
        assert_eq!(
            of(&lines, Stream::Stdout),
            [
                "hello world",
                "inherited",
                real.to_str().expect("utf-8 path")
            ]
        );
    }

    #[tokio::test]
    async fn the_child_starts_clean() {
        // Open descriptors, blocked and ignored signals, stdin and process group of the
        // step's own process (`$$`: `sh` runs it, as the step's main process).
        let script = "for f in /proc/$$/fd/*; do echo \"fd ${f##*/}\"; done; \
                      echo \"stdin $(readlink /proc/$$/fd/0)\"; \
                      echo \"pgrp $(cut -d' ' -f5 /proc/$$/stat) pid $$\"";
        let (outcome, lines) = run_collect(&spec(script), CancellationSignal::never()).await;
        assert!(outcome.success(), "{lines:?}");
        let mut out = of(&lines, Stream::Stdout);
        // The signal masks of a process flowc started directly (a shell may block
        // signals of its own while it runs commands).
        let mut masks = spec("");
        masks.argv = ["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"]
            .map(String::from)
            .to_vec();
        let (outcome, lines) = run_collect(&masks, CancellationSignal::never()).await;
        assert!(outcome.success(), "{lines:?}");
        out.extend(of(&lines, Stream::Stdout));
        // Besides 0, 1 and 2 the step may only hold what this test process inherited
        // without close-on-exec, and the directory its `for` loop is reading.
        let inherited: Vec<String> = std::fs::read_dir("/proc/self/fd")
            .expect("fds")
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|fd| {
                let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"));
                let flags = info.ok().and_then(|i| {
                    let line = i.lines().find(|l| l.starts_with("flags:"))?.to_string();
                    u32::from_str_radix(line.split_whitespace().nth(1)?, 8).ok()
                });
                flags.is_some_and(|f| f & 0o2000000 == 0)
            })
            .collect();
        let extra: Vec<&str> = out
            .iter()
            .filter_map(|l| l.strip_prefix("fd "))
            .filter(|fd| !["0", "1", "2"].contains(fd) && !inherited.iter().any(|i| i == fd))
            .collect();
        assert_eq!(
            extra.len(),
            1,
            "descriptors leaked into the step: {extra:?}"
        );
        let mask = |name: &str| {
            let line = out
                .iter()
                .find(|l| l.starts_with(name))
                .expect("status line");
            u64::from_str_radix(line.split_whitespace().nth(1).expect("mask"), 16).expect("hex")
        };
        assert_eq!(mask("SigBlk:"), 0, "signals left blocked");
        // Rust ignores SIGPIPE in flowc; a step must get the default back.
        let sigpipe = 1 << (Signal::SIGPIPE as i32 - 1);
        assert_eq!(mask("SigIgn:") & sigpipe, 0, "SIGPIPE still ignored");
        assert!(out.contains(&"stdin /dev/null".to_string()), "{out:?}");
        let group = out
            .iter()
            .find(|l| l.starts_with("pgrp "))
            .expect("pgrp line");
        let fields: Vec<&str> = group.split_whitespace().collect();
        assert_eq!(
            fields[1], fields[3],
            "not the leader of its own group: {group}"
        );
    }

    #[tokio::test]
    async fn both_reapers_report_the_status_and_reap_a_dropped_child() {
        let start = |script: &str| {
            let argv = ["sh", "-c", script].map(String::from).to_vec();
            let cwd = std::env::current_dir().expect("cwd");
            let request = spawn::Request {
                argv: &argv,
                env: &[],
                cwd: &cwd,
            };
            spawn::spawn(&request).expect("spawns")
        };
        // With its pidfd, and as on a kernel without pidfds.
        for use_pidfd in [true, false] {
            let spawned = start("exit 7");
            let pidfd = spawned.pidfd.filter(|_| use_pidfd);
            let mut child = Child::new(Pid::from_raw(spawned.pid), pidfd);
            let status = tokio::time::timeout(HANG_GUARD, child.wait())
                .await
                .expect("wait hung")
                .expect("reaped");
            assert_eq!(status.code(), Some(7));

            // Dropped while still running: reaped once it ends.
            let spawned = start("sleep 0.2");
            let pid = spawned.pid;
            let pidfd = spawned.pidfd.filter(|_| use_pidfd);
            drop(Child::new(Pid::from_raw(pid), pidfd));
            let deadline = std::time::Instant::now() + HANG_GUARD;
            while Path::new(&format!("/proc/{pid}")).exists() {
                assert!(std::time::Instant::now() < deadline, "{pid} never reaped");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    #[tokio::test]
    async fn env_overrides_replace_inherited_values_and_the_last_one_wins() {
        let mut spec = spec("echo \"$HOME|$FLOWC_TWICE\"; env | grep -c '^HOME='");
        spec.env = vec![
            ("HOME".into(), "/elsewhere".into()),
            ("FLOWC_TWICE".into(), "first".into()),
            ("FLOWC_TWICE".into(), "second".into()),
        ];
        let (_, lines) = run_collect(&spec, CancellationSignal::never()).await;
        assert_eq!(of(&lines, Stream::Stdout), ["/elsewhere|second", "1"]);
    }

    #[tokio::test]
    async fn exec_errors_are_reported_like_execvp() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Not executable: permission denied, also when a PATH entry holds it.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "#!/bin/sh\n").expect("write");
        let mut spec = spec("");
        spec.argv = vec![plain.display().to_string()];
        let error = cannot_start(&spec).await;
        assert!(error.to_string().contains("permission denied"), "{error}");
        spec.argv = vec!["plain".into()];
        spec.env = vec![(
            "PATH".into(),
            format!("{}:/nonexistent", dir.path().display()),
        )];
        let error = cannot_start(&spec).await;
        assert!(error.to_string().contains("permission denied"), "{error}");
        // An argument with a NUL byte is refused before anything starts.
        spec.argv = vec!["sh".into(), "-c".into(), "true\0".into()];
        spec.env.clear();
        let error = cannot_start(&spec).await;
        assert!(error.to_string().contains("nul byte"), "{error}");
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let mut spec = spec("echo $$; sleep 1000 & sleep 1000");
        spec.timeout = Some(Duration::from_millis(300));
        let (outcome, lines) = run_collect(&spec, CancellationSignal::never()).await;
        assert!(outcome.timed_out);
        assert!(!outcome.cancelled);
        assert!(!outcome.success());
        assert_eq!(outcome.exit_code, None);
        assert_eq!(outcome.signal, Some(Signal::SIGTERM as i32));
        let pgid = first_pid(&lines);
        assert_eq!(live_in_group(pgid), Vec::<i32>::new());
        assert!(!Path::new(&format!("/proc/{pgid}/stat")).exists(), "zombie");
    }

    #[tokio::test]
    async fn sigterm_ignored_means_sigkill_after_grace() {
        let mut spec = spec("trap '' TERM; echo $$; sleep 1000 & sleep 1000");
        spec.timeout = Some(Duration::from_millis(300));
        let (outcome, lines) = run_collect(&spec, CancellationSignal::never()).await;
        assert!(outcome.timed_out);
        assert_eq!(outcome.signal, Some(Signal::SIGKILL as i32));
        let pgid = first_pid(&lines);
        assert_eq!(live_in_group(pgid), Vec::<i32>::new());
        assert!(!Path::new(&format!("/proc/{pgid}/stat")).exists(), "zombie");
    }

    #[tokio::test]
    async fn cancel_kills_the_whole_group() {
        let (canceller, signal) = cancellation();
        let spec = spec("echo $$; sleep 1000 & sleep 1000");
        let mut lines = Vec::new();
        // Cancel as soon as the step is known to be running: no timing involved.
        let mut sink = |stream: Stream, line: &str| {
            lines.push((stream, line.to_string()));
            canceller.cancel();
        };
        let outcome = tokio::time::timeout(HANG_GUARD, run(&spec, &mut sink, signal))
            .await
            .expect("run hung")
            .expect("runs");
        assert!(outcome.cancelled);
        assert!(!outcome.timed_out);
        assert!(!outcome.success());
        assert_eq!(outcome.signal, Some(Signal::SIGTERM as i32));
        let pgid = first_pid(&lines);
        assert_eq!(live_in_group(pgid), Vec::<i32>::new());
        assert!(!Path::new(&format!("/proc/{pgid}/stat")).exists(), "zombie");
    }

    #[tokio::test]
    async fn dropping_the_run_kills_the_group() {
        let (started, mut started_signal) = cancellation();
        let spec = spec("echo $$; sleep 1000 & sleep 1000");
        let mut lines = Vec::new();
        let mut sink = |stream: Stream, line: &str| {
            lines.push((stream, line.to_string()));
            started.cancel();
        };
        tokio::select! {
            _ = run(&spec, &mut sink, CancellationSignal::never()) => panic!("the step ended"),
            () = started_signal.cancelled() => {}
        }
        let pgid = first_pid(&lines);
        // SIGKILL is delivered asynchronously; this bound only prevents a hang.
        let give_up = std::time::Instant::now() + HANG_GUARD;
        while !live_in_group(pgid).is_empty() {
            assert!(std::time::Instant::now() < give_up, "the group survived");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn cancelled_before_start_runs_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (canceller, signal) = cancellation();
        canceller.cancel();
        let mut spec = spec("touch ran");
        spec.cwd = dir.path().to_path_buf();
        let (outcome, lines) = run_collect(&spec, signal).await;
        assert!(outcome.cancelled);
        assert!(lines.is_empty());
        assert!(!dir.path().join("ran").exists());
    }

    #[tokio::test]
    async fn leftover_grandchild_holding_the_pipes_is_stopped() {
        // A grace far beyond the hang guard: returning at all shows the runner did not
        // wait for it, because the grandchild obeys SIGTERM.
        let mut spec = spec("echo $$; sleep 1000 & echo $!; echo done");
        spec.grace = Duration::from_secs(3600);
        let (outcome, lines) = run_collect(&spec, CancellationSignal::never()).await;
        assert_eq!(outcome.exit_code, Some(0));
        assert!(outcome.success());
        let stdout = of(&lines, Stream::Stdout);
        assert_eq!(stdout[2], "done");
        let pgid: i32 = stdout[0].parse().expect("pid");
        let grandchild: i32 = stdout[1].parse().expect("pid");
        assert!(!alive(grandchild));
        assert_eq!(live_in_group(pgid), Vec::<i32>::new());
        assert!(!Path::new(&format!("/proc/{pgid}/stat")).exists(), "zombie");
    }

    #[tokio::test]
    async fn leftover_grandchild_ignoring_sigterm_is_killed() {
        let mut spec = spec("echo $$; trap '' TERM; sleep 1000 >/dev/null 2>&1 & echo $!");
        spec.grace = Duration::from_millis(300);
        let (outcome, lines) = run_collect(&spec, CancellationSignal::never()).await;
        assert!(outcome.success());
        let stdout = of(&lines, Stream::Stdout);
        let pgid: i32 = stdout[0].parse().expect("pid");
        let grandchild: i32 = stdout[1].parse().expect("pid");
        assert!(!alive(grandchild));
        assert_eq!(live_in_group(pgid), Vec::<i32>::new());
    }

    #[tokio::test]
    async fn escaped_grandchild_holding_the_pipes_does_not_hang() {
        // `setsid` leaves the group, so no group signal reaches it; the runner must stop
        // reading once the group is gone.
        let spec = spec("setsid sleep 1000 & echo $!; echo done");
        let (outcome, lines) = run_collect(&spec, CancellationSignal::never()).await;
        let stdout = of(&lines, Stream::Stdout);
        let escaped: i32 = stdout[0].parse().expect("pid");
        let _ = kill(Pid::from_raw(escaped), Signal::SIGKILL);
        assert!(outcome.success());
        assert_eq!(stdout[1], "done");
    }

    #[test]
    fn os_failures_after_start_have_their_own_codes() {
        // Waiting for a child or reading its pipes fails only when the operating system
        // misbehaves, which no test can arrange; the codes and messages are pinned here.
        let wait = ProcessError::CannotWait {
            program: "make".into(),
            reason: "interrupted".into(),
        };
        assert_eq!(wait.code().map(|c| c.to_string()).as_deref(), Some("E0411"));
        assert_eq!(
            wait.to_string(),
            "lost track of step process `make`: interrupted"
        );
        let read = ProcessError::CannotReadOutput {
            program: "make".into(),
            stream: Stream::Stderr,
            reason: "broken pipe".into(),
        };
        assert_eq!(read.code().map(|c| c.to_string()).as_deref(), Some("E0412"));
        assert!(read.to_string().contains("`make`: broken pipe"), "{read}");
    }

    #[tokio::test]
    async fn missing_program_is_e0410() {
        let mut spec = spec("");
        spec.argv = vec!["flowc-no-such-program-here".into()];
        let error = cannot_start(&spec).await;
        assert!(matches!(error, ProcessError::CannotStart { .. }));
        assert_eq!(
            error.code().map(|c| c.to_string()).as_deref(),
            Some("E0410")
        );
        let message = error.to_string();
        assert!(message.contains("flowc-no-such-program-here"), "{message}");
        assert!(message.contains("no such file"), "{message}");
    }

    #[tokio::test]
    async fn missing_cwd_and_empty_argv_are_e0410() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spec = spec("true");
        spec.cwd = dir.path().join("missing");
        let error = cannot_start(&spec).await;
        assert!(error.to_string().contains("working directory"), "{error}");
        spec.argv.clear();
        let error = cannot_start(&spec).await;
        assert!(matches!(error, ProcessError::CannotStart { .. }));
    }

    #[tokio::test]
    async fn no_zombie_remains() {
        let (_, lines) = run_collect(&spec("echo $$"), CancellationSignal::never()).await;
        let pid = first_pid(&lines);
        assert!(!Path::new(&format!("/proc/{pid}/stat")).exists());
    }

    /// A non-blocking pipe: (read end, write end).
    fn nonblocking_pipe() -> (OwnedFd, OwnedFd) {
        use nix::fcntl::OFlag;
        nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).expect("pipe")
    }

    #[tokio::test]
    async fn a_pipe_whose_writers_are_gone_is_read_without_the_reactor() {
        let (read, write) = nonblocking_pipe();
        nix::unistd::write(&write, b"one\ntwo").expect("write");
        drop(write);
        let mut pipe = Pipe::Idle(Some(read));
        let mut all = Vec::new();
        pipe.read_to_end(&mut all).await.expect("reads");
        assert_eq!(all, b"one\ntwo");
        assert!(
            matches!(pipe, Pipe::Idle(Some(_))),
            "registered with the reactor"
        );
    }

    #[tokio::test]
    async fn an_empty_open_pipe_is_watched_until_its_writer_writes_and_closes() {
        let (read, write) = nonblocking_pipe();
        let mut pipe = Pipe::Idle(Some(read));
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            nix::unistd::write(&write, b"late\n").expect("write");
            std::thread::sleep(Duration::from_millis(50));
        });
        let mut all = Vec::new();
        tokio::time::timeout(HANG_GUARD, pipe.read_to_end(&mut all))
            .await
            .expect("pipe read hung")
            .expect("reads");
        writer.join().expect("writer");
        assert_eq!(all, b"late\n");
        assert!(
            matches!(pipe, Pipe::Watched(_)),
            "never handed to the reactor"
        );
    }

    /// How long after `spec`'s start its stdout line `wanted` arrived (the run must end).
    async fn arrival_of(spec: &Spec, wanted: &str) -> Duration {
        let started = std::time::Instant::now();
        let mut first_at = None;
        let mut sink = |_: Stream, line: &str| {
            if line == wanted {
                first_at.get_or_insert(started.elapsed());
            }
        };
        tokio::time::timeout(
            HANG_GUARD,
            run(spec, &mut sink, CancellationSignal::never()),
        )
        .await
        .expect("finishes")
        .expect("runs");
        first_at.expect("the line arrived")
    }

    #[tokio::test]
    async fn output_of_a_running_step_arrives_while_it_runs() {
        // Printed at once, then a long wait: the line comes from the pipe watched after
        // WATCH_AFTER, not from the read at the process's end.
        let first_at = arrival_of(&spec("echo early; sleep 3"), "early").await;
        assert!(
            first_at < Duration::from_secs(2),
            "arrived after {first_at:?}"
        );
    }

    #[tokio::test]
    async fn redaction_does_not_hold_back_a_finished_line() {
        let mut spec = spec("echo first line; sleep 3; echo second");
        spec.redactor =
            Redactor::new(["a-long-secret-value-0123456789".to_string()]).expect("redactor");
        let first_at = arrival_of(&spec, "first line").await;
        assert!(first_at < Duration::from_secs(2), "held for {first_at:?}");
    }

    #[tokio::test]
    async fn secrets_are_redacted_across_reads_and_line_cuts() {
        // A secret split over two writes (two reads), and one across the MAX_LINE cut, on
        // stdout and stderr; and the captured stdout.
        let secret = "Zq7-Lr9w-Kp2x-93xK";
        let script = format!(
            "printf 'a Zq7-Lr9w'; sleep 0.05; printf -- '-Kp2x-93xK b\\n'; \
             head -c {} /dev/zero | tr '\\0' a; echo {secret}; \
             head -c {} /dev/zero | tr '\\0' a >&2; echo {secret} >&2",
            MAX_LINE - 8,
            MAX_LINE - 4
        );
        let mut spec = spec(&script);
        spec.redactor = Redactor::new([secret.to_string()]).expect("redactor");
        let (outcome, lines) = run_collect(&spec, CancellationSignal::never()).await;
        let all: String = lines.iter().map(|(_, l)| l.as_str()).collect();
        for w in secret.as_bytes().windows(5) {
            let w = std::str::from_utf8(w).expect("ascii");
            assert!(!all.contains(w), "{w} leaked");
            assert!(!outcome.stdout.contains(w), "{w} leaked into stdout");
        }
        assert_eq!(of(&lines, Stream::Stdout)[0], "a *** b");
        assert!(outcome.stdout.starts_with("a *** b\n"));
        assert_eq!(all.matches("***").count(), 3, "{}", all.len());
    }

    #[tokio::test]
    async fn stdout_keeps_its_tail_and_long_lines_come_in_pieces() {
        // 3 MB in 10-byte lines, then one 200 kB line without a newline.
        let script = "yes abcdefghi | head -n 300000; head -c 200000 /dev/zero | tr '\\0' z";
        let (outcome, lines) = run_collect(&spec(script), CancellationSignal::never()).await;
        let stdout = of(&lines, Stream::Stdout);
        assert_eq!(stdout.len(), 300000 + 4);
        assert!(stdout[..300000].iter().all(|l| l == "abcdefghi"));
        assert!(stdout[300000..].iter().all(|l| l.len() <= MAX_LINE));
        assert_eq!(stdout[300000..].concat(), "z".repeat(200000));
        assert_eq!(outcome.stdout.len(), STDOUT_CAP);
        assert!(outcome.stdout.ends_with(&"z".repeat(200000)));
    }

    #[tokio::test]
    async fn long_lines_are_cut_between_characters() {
        let mut text = "a".repeat(MAX_LINE - 1).into_bytes();
        text.extend_from_slice("é".repeat(10).as_bytes());
        text.extend_from_slice(b"\nlast");
        let mut reader = LineReader::new(Some(&text[..]), None);
        let first = reader.next_line().await.expect("reads").expect("a line");
        assert_eq!(first.len(), MAX_LINE - 1);
        let second = reader.next_line().await.expect("reads").expect("a line");
        assert_eq!(second, "é".repeat(10));
        let last = reader.next_line().await.expect("reads");
        assert_eq!(last.as_deref(), Some("last"));
        assert_eq!(reader.next_line().await.expect("reads"), None);
        assert!(reader.done());
    }

    #[test]
    fn tail_does_not_start_inside_a_character() {
        let mut tail = Tail::default();
        tail.push(&vec![b'a'; 2 * STDOUT_CAP]);
        // The last STDOUT_CAP bytes start in the middle of an `é`.
        tail.push("é".repeat(STDOUT_CAP / 2 + 1).as_bytes());
        tail.push(b"!");
        let kept = tail.finish();
        assert!(kept.ends_with('!'));
        assert!(kept.trim_end_matches('!').chars().all(|c| c == 'é'));
        assert_eq!(kept.len(), STDOUT_CAP - 1);
    }

    #[test]
    fn stat_lines_parse() {
        let stat = "42 (a (weird) name) S 1 40 40 0 -1";
        assert_eq!(parse_stat(stat), Some(('S', 40)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn run_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let spec = spec("true");
        let mut sink = |_: Stream, _: &str| {};
        let future = run(&spec, &mut sink, CancellationSignal::never());
        assert_send(&future);
    }

    #[tokio::test]
    async fn cancellation_signals() {
        let (canceller, mut first) = cancellation();
        let second = canceller.signal();
        assert!(!first.is_cancelled());
        canceller.clone().cancel();
        first.cancelled().await;
        assert!(second.is_cancelled());
        assert!(!CancellationSignal::never().is_cancelled());
    }
}
