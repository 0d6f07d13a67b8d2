//! Concurrency groups: at most one run per group name at a time, across every flowc
//! process that shares a state directory. A workflow's `concurrency` item names the group
//! (evaluated when the run starts); the run takes the group before its first step and
//! holds it until it ends.
//!
//! A group is the file `<state dir>/groups/<name>.lock`, locked by the driver that holds
//! the group with a POSIX record lock (`fcntl(F_SETLK)`, through `nix`): the kernel
//! releases it when that process exits, however it exits (`kill -9` included), so a group
//! is never held by a dead run, and `F_GETLK` names the process holding it. The holder
//! writes its run id and pid into the file once it has the lock, for messages; the pid the
//! kernel gives is what counts (a holder that has not written yet is known by its pid).
//!
//! A record lock belongs to the process, and closing any descriptor of the file releases
//! it: the holding process opens its group's file once, and nothing else in it opens the
//! file while the group is held. Locks are not inherited by step processes.
//!
//! A run that finds its group held waits (`queue`), cancels the holder with SIGINT as
//! `flowc cancel` does and then waits (`cancel`), or does not run (`skip`). Waiting polls
//! the lock every [`POLL`]; when several runs wait, which one goes next is not promised.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::process::CancellationSignal;
use crate::typed::GroupPolicy;

/// The folder of the state directory that holds the groups' lock files.
pub const GROUPS: &str = "groups";

/// How often a waiting run tries its group again.
pub const POLL: Duration = Duration::from_millis(100);

/// The folder of the groups of the state directory `root`.
pub fn dir(root: &Path) -> PathBuf {
    root.join(GROUPS)
}

/// A group this process holds; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct Held {
    _file: File,
}

/// The process holding a group, and its run when it has said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Its process id, from the kernel.
    pub pid: i32,
    /// Its run id, from the group's file.
    pub run: Option<String>,
}

impl Holder {
    /// `run 1700000000-ab12 (pid 4242)`, or `pid 4242` before it has said its run.
    pub fn describe(&self) -> String {
        match &self.run {
            Some(run) => format!("run {run} (pid {})", self.pid),
            None => format!("pid {}", self.pid),
        }
    }

    /// The run id, or `pid N`: what the journal records.
    pub fn name(&self) -> String {
        self.run
            .clone()
            .unwrap_or_else(|| format!("pid {}", self.pid))
    }
}

/// A group that cannot be taken.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GroupError {
    /// The group's name evaluated to nothing.
    #[error("the concurrency group of workflow `{workflow}` is empty")]
    #[diagnostic(
        code(E0533),
        help("the group's name is evaluated from the parameters, bindings and constants when the run starts; make it a text that is not empty")
    )]
    Empty {
        /// The workflow.
        workflow: String,
    },

    /// The group's lock file cannot be created or locked.
    #[error("cannot lock concurrency group `{group}` at `{path}`: {reason}")]
    #[diagnostic(
        code(E0534),
        help("concurrency groups are kept in `groups/` of the state directory (`.flow/runs`): make it writable, or choose another with `--state-dir` or `FLOWC_STATE_DIR` (every run of the group must use the same)")
    )]
    Io {
        /// The group.
        group: String,
        /// Its lock file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
}

/// What became of a run's attempt to take its group.
#[derive(Debug)]
pub enum Entered {
    /// The run holds the group.
    Held(Held),
    /// The group is held and the policy is `skip`: the run does not run.
    Skipped(Holder),
    /// An interrupt (Ctrl-C, `flowc cancel`) came while the run waited.
    Interrupted,
}

/// The lock file of `group` in `dir`: the name with every byte that is not a letter, a
/// digit, `-`, `_` or `.` (and a leading `.`) written `%XX`; a long name is cut and ends
/// with a hash of the whole, so every name has a file of its own within the 255 bytes a
/// file name may have.
pub fn path(dir: &Path, group: &str) -> PathBuf {
    let mut name = String::with_capacity(group.len());
    for (i, b) in group.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if plain {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    if name.len() > 200 {
        use sha2::Digest;
        let hash = sha2::Sha256::digest(group.as_bytes());
        let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
        let mut cut = 160;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}~{hex}", &name[..cut]);
    }
    dir.join(format!("{name}.lock"))
}

/// A whole-file write lock, for `F_SETLK` and `F_GETLK`.
fn whole_file() -> libc::flock {
    libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    }
}

/// Tries once to take `group` in `dir` for run `run_id`: the group, or who holds it.
pub fn try_take(dir: &Path, group: &str, run_id: &str) -> Result<Result<Held, Holder>, GroupError> {
    use nix::fcntl::{fcntl, FcntlArg};
    let file_path = path(dir, group);
    let io = |e: std::io::Error| GroupError::Io {
        group: group.to_string(),
        path: file_path.display().to_string(),
        reason: e.to_string(),
    };
    crate::snapshot::create_private_dir(dir).map_err(io)?;
    // The holder may release the group between a refused lock and the question who holds
    // it: then try again.
    for _ in 0..8 {
        let mut file = crate::snapshot::open_private(&file_path).map_err(io)?;
        let fd = file.as_raw_fd();
        match fcntl(fd, FcntlArg::F_SETLK(&whole_file())) {
            Ok(_) => {
                // Who holds it, for the messages of the runs that wait.
                let _ = file.set_len(0);
                let _ = file.seek(std::io::SeekFrom::Start(0));
                let _ = writeln!(file, "{run_id} {}", std::process::id());
                return Ok(Ok(Held { _file: file }));
            }
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => {}
            Err(e) => return Err(io(e.into())),
        }
        let mut probe = whole_file();
        fcntl(fd, FcntlArg::F_GETLK(&mut probe)).map_err(|e| io(e.into()))?;
        if i32::from(probe.l_type) == libc::F_UNLCK {
            continue;
        }
        let pid = probe.l_pid;
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        let mut words = text.split_whitespace();
        let (run, written_pid) = (words.next(), words.next());
        // The file names the holder only once the holder has written it.
        let run = (written_pid.and_then(|p| p.parse::<i32>().ok()) == Some(pid))
            .then(|| run.map(str::to_string))
            .flatten();
        return Ok(Err(Holder { pid, run }));
    }
    Ok(Err(Holder { pid: 0, run: None }))
}

/// Takes `group` for run `run_id` with `policy`: at once when it is free; otherwise
/// `busy` hears who holds it (again whenever that changes), and the run waits for it
/// (`queue`), cancels the holder with SIGINT and waits (`cancel`), or gives up
/// (`skip`). An interrupt while waiting ends the wait.
pub async fn enter(
    dir: &Path,
    group: &str,
    policy: GroupPolicy,
    run_id: &str,
    mut interrupt: Option<CancellationSignal>,
    busy: &mut (dyn FnMut(&Holder) + Send),
) -> Result<Entered, GroupError> {
    let own = i32::try_from(std::process::id()).unwrap_or(0);
    let mut told: Option<Holder> = None;
    let mut unnamed_polls = 0;
    let mut cancelled: Vec<i32> = Vec::new();
    loop {
        let holder = match try_take(dir, group, run_id)? {
            Ok(held) => return Ok(Entered::Held(held)),
            Err(holder) => holder,
        };
        // A holder that has just taken the group writes its run id at once: wait a few
        // polls for it, so that the message names the run.
        let named = holder.run.is_some() || unnamed_polls >= 10;
        unnamed_polls = if holder.run.is_some() {
            0
        } else {
            unnamed_polls + 1
        };
        if named && told.as_ref() != Some(&holder) {
            busy(&holder);
            told = Some(holder.clone());
            if policy == GroupPolicy::Skip {
                return Ok(Entered::Skipped(holder));
            }
        }
        if policy == GroupPolicy::Cancel
            && holder.pid > 1
            && holder.pid != own
            && !cancelled.contains(&holder.pid)
        {
            cancelled.push(holder.pid);
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(holder.pid),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        let pause = if named {
            POLL
        } else {
            Duration::from_millis(20)
        };
        match interrupt.as_mut() {
            Some(signal) => {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = signal.cancelled() => return Ok(Entered::Interrupted),
                }
            }
            None => tokio::time::sleep(pause).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_file_names_of_their_own() {
        let dir = Path::new("/g");
        assert_eq!(path(dir, "deploy-prod"), Path::new("/g/deploy-prod.lock"));
        assert_eq!(path(dir, "a/b c"), Path::new("/g/a%2Fb%20c.lock"));
        assert_eq!(path(dir, ".."), Path::new("/g/%2E..lock"));
        assert_ne!(path(dir, "a b"), path(dir, "a%20b"));
        let long = "x".repeat(1000);
        let mut other = long.clone();
        other.push('y');
        let name = path(dir, &long);
        let file = name.file_name().map(|n| n.len()).unwrap_or(0);
        assert!(file < 255, "{file}");
        assert_ne!(name, path(dir, &other));
    }

    #[test]
    fn a_held_group_names_its_holder_and_is_free_once_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let held = try_take(dir.path(), "g", "1-aaa")
            .expect("io")
            .expect("free");
        // The lock belongs to the process: another process sees it (the CLI tests run
        // two), this one does not; the file says who holds it.
        let text = std::fs::read_to_string(path(dir.path(), "g")).expect("read");
        assert_eq!(text, format!("1-aaa {}\n", std::process::id()));
        drop(held);
        assert!(try_take(dir.path(), "g", "1-bbb").expect("io").is_ok());
    }

    #[test]
    fn an_unwritable_state_directory_is_e0534() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("file");
        std::fs::write(&file, "").expect("write");
        let err = try_take(&file.join("groups"), "g", "1-a").expect_err("not a directory");
        let code = miette::Diagnostic::code(&err).map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("E0534"));
    }
}
