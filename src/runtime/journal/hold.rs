//! Who holds a run: the one lock of a run directory, and the operator requests made to the
//! driver that holds it.
//!
//! `lock` is held (`flock`) by the run's driver (`flowc run`, `flowc resume`, `flowc
//! rollback`) for as long as it drives, and briefly by `flowc approve` / `reject`; it says
//! who holds it: `PID COMMAND SINCE_MS`. `flowc pause` and `flowc cancel` act on a live
//! driver: each first writes its request to `request` (`PID COMMAND SINCE_MS DRIVER_PID
//! DRIVER_SINCE_MS`, under an `flock` of that file, so two requests never cross), then
//! sends the driver SIGINT, the signal `flowc cancel` has always sent. The driver reads the
//! request to tell a pause from an interrupt. A request counts only while the driver it
//! names holds the run, so nothing is ever stale: the kernel drops the lock with its holder.
//!
//! So the operations on one run exclude each other, across processes: a second driver, a
//! pause or cancel of a run already being paused, cancelled or rolled back, each fail at
//! once with E0506 naming the first (its pid, command and since when).

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::*;

/// The file of operator requests in a run directory.
pub const REQUEST: &str = "request";

/// Who holds a run (or made a request to the one who does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Its process id.
    pub pid: i32,
    /// The flowc command: `run`, `resume`, `rollback`, `pause`, `cancel`, `approve`...
    pub command: String,
    /// Since when, in Unix milliseconds (0 when a flowc before this one wrote the lock).
    pub since_ms: u64,
}

impl Holder {
    /// This process, running `command`, from now.
    pub fn me(command: &str) -> Holder {
        Holder {
            pid: i32::try_from(std::process::id()).unwrap_or(i32::MAX),
            command: command.to_string(),
            since_ms: now_ms(),
        }
    }

    /// `PID COMMAND SINCE_MS`, or a lone `PID` as older flowc wrote it.
    fn parse(text: &str) -> Option<Holder> {
        let mut words = text.split_whitespace();
        let pid = words.next()?.parse().ok()?;
        Some(Holder {
            pid,
            command: words.next().unwrap_or("run").to_string(),
            since_ms: words.next().and_then(|w| w.parse().ok()).unwrap_or(0),
        })
    }

    fn line(&self) -> String {
        format!("{} {} {}", self.pid, self.command, self.since_ms)
    }

    /// When it began, as an RFC 3339 time (`unknown` for an old lock file).
    pub fn since(&self) -> String {
        if self.since_ms == 0 {
            return "unknown".to_string();
        }
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.since_ms);
        humantime::format_rfc3339_seconds(t).to_string()
    }

    /// Whether it drives the run (rather than asking its driver for something).
    pub fn drives(&self) -> bool {
        matches!(self.command.as_str(), "run" | "resume" | "rollback")
    }

    /// The error a second operator of `run` gets while this one holds it: E0506, naming
    /// it, with what can be done meanwhile.
    pub fn refusal(&self, run: &str) -> JournalError {
        let help = match self.command.as_str() {
            "rollback" => format!(
                "a rollback runs its compensations to the end: wait for it (`flowc status {run}`), or interrupt its driver (Ctrl-C in its terminal, or `kill -INT {}`) and continue it later with `flowc rollback {run}`",
                self.pid
            ),
            "pause" => format!(
                "the run is pausing: its running steps finish, then its driver stops; `flowc pause {run} --wait` waits for that, then `flowc resume {run}` or `flowc rollback {run}`"
            ),
            "cancel" => format!(
                "the run is being stopped; wait for it (`flowc status {run}`), then `flowc resume {run}`"
            ),
            "approve" | "reject" => "a decision is being recorded; try again in a moment".to_string(),
            _ => format!(
                "wait for it to finish, or stop it: `flowc pause {run}` lets its running steps finish, `flowc cancel {run}` stops them; a killed driver releases the run at once"
            ),
        };
        JournalError::Locked {
            run: run.to_string(),
            command: self.command.clone(),
            pid: self.pid,
            since: self.since(),
            help,
        }
    }
}

/// The run id of a run directory.
pub fn run_of(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The run directory this process holds as a driver, if any: where a pause request for
/// it is looked for before its run has started.
static DRIVING: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The exclusive hold of one driver on a run directory. The kernel releases it when the
/// holder exits, however it exits, so a lock is never stale.
#[derive(Debug)]
pub struct RunLock {
    _lock: nix::fcntl::Flock<std::fs::File>,
    dir: PathBuf,
    holder: Holder,
}

impl RunLock {
    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Who holds it: this process.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// The pause asked of this driver (by `flowc pause`) that is not `handled` yet: the
    /// request's time, or `None` (a plain interrupt).
    pub fn pause_requested(&self, handled: Option<u64>) -> Option<u64> {
        pause_request_for(&self.dir, &self.holder).filter(|&at| Some(at) != handled)
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let mut driving = DRIVING.lock().unwrap_or_else(|e| e.into_inner());
        if driving.as_deref() == Some(self.dir.as_path()) {
            *driving = None;
        }
    }
}

/// Whether `flowc pause` asked this process, as the driver of the run it holds, to pause
/// (before its run started: the signal listener asks when no run is being driven yet).
pub fn pause_requested_here() -> bool {
    let Some(dir) = DRIVING.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
        return false;
    };
    holder_of(&dir)
        .filter(|h| i64::from(h.pid) == i64::from(std::process::id()))
        .is_some_and(|h| pause_request_for(&dir, &h).is_some())
}

fn open_rw(path: &Path) -> Result<std::fs::File, JournalError> {
    crate::snapshot::open_private(path).map_err(|e| {
        JournalError::Snapshot(crate::snapshot::SnapshotError::Io {
            action: "open",
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    })
}

/// Takes the run directory's lock for `command` (`run`, `resume`, `rollback`, `approve`,
/// `reject`), or fails at once with E0506 naming who holds the run.
pub fn lock(dir: &Path, command: &str) -> Result<RunLock, JournalError> {
    let path = dir.join(LOCK);
    // A driver that was just killed may have forked a step process that has not reached
    // its exec yet, and holds the lock for that instant: when the recorded holder is dead,
    // wait a moment. A live holder is refused at once.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let file = open_rw(&path)?;
        let (mut file, _) =
            match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
                Ok(mut lock) => {
                    let holder = Holder::me(command);
                    let _ = lock.set_len(0);
                    let _ = lock.seek(std::io::SeekFrom::Start(0));
                    let _ = lock.write_all(holder.line().as_bytes());
                    if holder.drives() {
                        *DRIVING.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(dir.to_path_buf());
                    }
                    return Ok(RunLock {
                        _lock: lock,
                        dir: dir.to_path_buf(),
                        holder,
                    });
                }
                Err(held) => held,
            };
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        let holder = Holder::parse(&text);
        let holder_alive = holder.as_ref().is_some_and(|h| process_alive(h.pid));
        if !holder_alive && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        let run = run_of(dir);
        let first = holder
            .map(|h| pending_request(dir, &h).unwrap_or(h))
            .unwrap_or(Holder {
                pid: 0,
                command: "run".to_string(),
                since_ms: 0,
            });
        return Err(first.refusal(&run));
    }
}

/// Whether a process is alive (a zombie is not).
pub(super) fn process_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 1..].trim_start().to_string()))
        .is_some_and(|rest| !rest.starts_with(['Z', 'X']))
}

/// Who holds the run now, if anyone does (its lock is taken).
pub fn holder_of(dir: &Path) -> Option<Holder> {
    let path = dir.join(LOCK);
    let file = std::fs::OpenOptions::new().read(true).open(&path).ok()?;
    match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockSharedNonblock) {
        Ok(_) => None,
        Err(_) => std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| Holder::parse(&text)),
    }
}

/// Whether a driver holds the run, and its pid.
pub fn holder(dir: &Path) -> Option<i32> {
    holder_of(dir).map(|h| h.pid)
}

/// Whether a driver holds the run.
pub fn is_locked(dir: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new().read(true).open(dir.join(LOCK)) else {
        return false;
    };
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockSharedNonblock).is_err()
}

/// A request on file: who made it, and the driver it was made to.
fn read_request(text: &str) -> Option<(Holder, i32, u64)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [pid, command, since, driver, driver_since] = words.as_slice() else {
        return None;
    };
    Some((
        Holder {
            pid: pid.parse().ok()?,
            command: command.to_string(),
            since_ms: since.parse().ok()?,
        },
        driver.parse().ok()?,
        driver_since.parse().ok()?,
    ))
}

/// The request (`flowc pause` or `flowc cancel`) made to `driver`, the run's holder now.
pub fn pending_request(dir: &Path, driver: &Holder) -> Option<Holder> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .open(dir.join(REQUEST))
        .ok()?;
    // Shared: a request being written is read whole, after its writer is done.
    let mut file = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockShared).ok()?;
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    let (request, pid, since) = read_request(&text)?;
    (pid == driver.pid && since == driver.since_ms).then_some(request)
}

/// The time of the pause requested of `driver`, if one was.
fn pause_request_for(dir: &Path, driver: &Holder) -> Option<u64> {
    pending_request(dir, driver)
        .filter(|r| r.command == "pause")
        .map(|r| r.since_ms)
}

/// Files a request (`pause` or `cancel`) with the run's live driver, which the caller then
/// signals. `Ok(None)`: no driver holds the run (it is not live). E0506 when another
/// request is under way, or the run is being rolled back (a rollback is not paused or
/// cancelled half-way by another operator).
pub fn request(dir: &Path, command: &str) -> Result<Option<Holder>, JournalError> {
    let file = open_rw(&dir.join(REQUEST))?;
    let mut file =
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| {
            JournalError::Snapshot(crate::snapshot::SnapshotError::Io {
                action: "lock",
                path: dir.join(REQUEST).display().to_string(),
                reason: e.to_string(),
            })
        })?;
    let Some(driver) = holder_of(dir) else {
        return Ok(None);
    };
    let run = run_of(dir);
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    if let Some((first, pid, since)) = read_request(&text) {
        if pid == driver.pid && since == driver.since_ms {
            return Err(first.refusal(&run));
        }
    }
    if !driver.drives() || driver.command == "rollback" {
        return Err(driver.refusal(&run));
    }
    let me = Holder::me(command);
    let line = format!("{} {} {}", me.line(), driver.pid, driver.since_ms);
    let _ = file.set_len(0);
    let _ = file.seek(std::io::SeekFrom::Start(0));
    file.write_all(line.as_bytes()).map_err(|e| {
        JournalError::Snapshot(crate::snapshot::SnapshotError::Io {
            action: "write",
            path: dir.join(REQUEST).display().to_string(),
            reason: e.to_string(),
        })
    })?;
    Ok(Some(driver))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder_in(e: JournalError) -> (String, i32) {
        match e {
            JournalError::Locked { command, pid, .. } => (command, pid),
            other => panic!("not E0506: {other}"),
        }
    }

    #[test]
    fn the_second_operator_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let me = i32::try_from(std::process::id()).expect("pid");
        let driver = lock(dir.path(), "run").expect("the first driver");
        assert_eq!(holder_of(dir.path()).map(|h| h.command), Some("run".into()));
        let second = lock(dir.path(), "resume").expect_err("a second driver");
        assert_eq!(holder_in(second), ("run".to_string(), me));

        // A pause is filed with the driver; then it is the one named.
        let asked = request(dir.path(), "pause").expect("filed").expect("live");
        assert_eq!(asked.command, "run");
        let at = driver.pause_requested(None).expect("the driver sees it");
        assert_eq!(driver.pause_requested(Some(at)), None, "handled once");
        for second in [
            request(dir.path(), "cancel").expect_err("a cancel meanwhile"),
            request(dir.path(), "pause").expect_err("a second pause"),
            lock(dir.path(), "rollback").expect_err("a rollback meanwhile"),
        ] {
            assert_eq!(holder_in(second), ("pause".to_string(), me));
        }

        // The request was made to that driver: gone with it.
        drop(driver);
        assert_eq!(request(dir.path(), "pause").expect("no driver"), None);
        // A driver is its pid and its start, to the millisecond: another driver of this
        // same process must start later to be another one.
        std::thread::sleep(std::time::Duration::from_millis(2));
        let rollback = lock(dir.path(), "rollback").expect("a rollback");
        assert_eq!(rollback.pause_requested(None), None);
        let refused = request(dir.path(), "pause").expect_err("a rollback is not paused");
        assert_eq!(holder_in(refused), ("rollback".to_string(), me));
    }

    #[test]
    fn an_old_lock_file_with_only_a_pid_is_read() {
        assert_eq!(
            Holder::parse("4242\n"),
            Some(Holder {
                pid: 4242,
                command: "run".to_string(),
                since_ms: 0
            })
        );
        let h = Holder::parse("17 rollback 1700000000000").expect("parsed");
        assert_eq!(
            (h.command.as_str(), h.since()),
            ("rollback", "2023-11-14T22:13:20Z".to_string())
        );
        assert_eq!(Holder::parse(""), None);
    }
}
