//! Starting a step's process: a lean `vfork`-style spawn, the one module with `unsafe`.
//!
//! `flowc run` starts one process per step, so the cost of a spawn is the cost of a step.
//! std's `Command` (through glibc's `posix_spawn`) pays, at every spawn, for things a
//! workflow runner does not need again and again: the whole environment copied into a
//! sorted map and back into C strings, `/dev/null` opened, a fresh 36 KiB child stack
//! mapped and unmapped (an inter-processor TLB flush in a threaded process), six
//! `getrlimit` calls, and in the child one `sigaction` query for each of the 64 signals.
//! On a 10,000-step workflow, doing without them cut flowc's own CPU time by a fifth.
//!
//! [`spawn`] does the same job with what can be prepared once: the inherited environment
//! is turned into C strings once per run ([`refresh`]), `/dev/null` stays open, and each
//! thread keeps one child stack (mapped with a `PROT_NONE` guard page below it, so an
//! overflow faults rather than writing over other memory). The child is created with `clone(CLONE_VM | CLONE_VFORK)`, as
//! `posix_spawn` does: it borrows flowc's memory until it calls `execve`, while the
//! calling thread waits. `CLONE_PIDFD` gives the process file descriptor the runtime
//! waits on, without a separate `pidfd_open`.
//!
//! # What the child does before `execve`
//!
//! It runs on borrowed memory, so it calls nothing but system calls (no allocation, no
//! locks, no panics), in this order:
//!
//! 1. every signal that has a handler in flowc, real-time ones included, is reset to its
//!    default action, and SIGPIPE (which Rust ignores) too, as std does; signals flowc
//!    ignores stay ignored (`nohup` keeps working). Which signals have a handler is asked
//!    of the kernel once per run, after the run installed its own (SIGINT, SIGTERM,
//!    SIGHUP), so the child makes one `sigaction` per caught signal rather than a query
//!    for each of the 64. All signals are blocked from before the `clone` until step 5,
//!    so no handler of flowc's can run in the child; all but SIGCHLD while flowc leaves
//!    it at its default action, which runs no handler (see [`spawn`] for why);
//! 2. `setpgid(0, 0)`: a process group of its own;
//! 3. stdin from `/dev/null`, stdout and stderr to the step's pipes;
//! 4. `chdir` to the step's directory;
//! 5. an empty signal mask, as std gives its children;
//! 6. `execve`, over each `PATH` candidate as `execvp` does when the program was not
//!    found beforehand. A program found beforehand (remembered, like a shell's command
//!    hash) that is not there any more (ENOENT) is forgotten and searched for again.
//!
//! A failure in any of them is reported through memory shared with the parent (the
//! `errno`), and the child exits with 127; [`spawn`] then reaps it and returns the error.
//!
//! On other Unix systems [`spawn`] falls back to std's `Command`.

#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{fcntl, FcntlArg, OFlag};

/// A started step process: its pid, the file descriptor to wait on (when the kernel has
/// process file descriptors), and the read ends of its stdout and stderr pipes, already
/// non-blocking.
#[derive(Debug)]
pub struct Spawned {
    /// The process id, which is also its process group id.
    pub pid: i32,
    /// A pidfd for the process (Linux 5.2 and later): readable once it has exited.
    pub pidfd: Option<OwnedFd>,
    /// The read end of the stdout pipe (non-blocking, close-on-exec).
    pub stdout: OwnedFd,
    /// The read end of the stderr pipe (non-blocking, close-on-exec).
    pub stderr: OwnedFd,
}

/// What to start.
pub struct Request<'a> {
    /// `argv`, with the program as given first (it stays `argv[0]`); a bare program
    /// name is looked up on `PATH`.
    pub argv: &'a [String],
    /// Variables added to (or overriding) the inherited environment; the last of a name
    /// wins.
    pub env: &'a [(String, String)],
    /// The working directory.
    pub cwd: &'a Path,
}

/// A pidfd registered with the tokio reactor: readable once its process has exited.
#[derive(Debug)]
pub struct ExitWatch(tokio::io::unix::AsyncFd<OwnedFd>);

impl ExitWatch {
    /// Registers `pidfd` with the current runtime's reactor.
    pub fn new(pidfd: OwnedFd) -> io::Result<Self> {
        // SAFETY: an `OwnedFd` stays open, and its `as_raw_fd` stays the same, for as long
        // as the `AsyncFd` owns it.
        let fd = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE)
        };
        fd.map(Self).map_err(io::Error::from)
    }

    /// Waits until `reap` gives a value; `reap` is tried each time the pidfd turns
    /// readable. Cancel-safe.
    pub async fn until<T>(&self, mut reap: impl FnMut() -> io::Result<Option<T>>) -> io::Result<T> {
        loop {
            let mut ready = self.0.readable().await?;
            match reap()? {
                Some(value) => return Ok(value),
                None => ready.clear_ready(),
            }
        }
    }
}

/// The calling thread asks the kernel for short time slices until the guard is dropped:
/// the thread that runs a run's steps, so that it is not kept waiting behind a step's
/// process when that process's sibling ends.
///
/// With Linux's EEVDF scheduler (6.6 and later), a task woken on a CPU that runs another
/// task waits for it unless its slice is shorter. The runtime thread is woken when a step
/// process ends, often on the CPU where the next step's process has just started; with the
/// default slice it waited there, up to the whole of that process's run, while the CPU of
/// the process that ended sat idle. A short slice (0.1 ms, the least the kernel takes)
/// lets it run at once; it uses its CPU for tens of microseconds at a time, so it takes
/// little from the steps. Only a thread of the normal policy at a nice value of 0 or more
/// is changed, and its children (step processes, threads) get the default slice
/// (`SCHED_FLAG_RESET_ON_FORK`, which at these settings resets nothing else). Without
/// kernel support nothing changes.
#[must_use = "the slice is given back when the guard is dropped"]
pub fn short_slices() -> ShortSlices {
    ShortSlices(imp::short_slices())
}

/// The calling thread's scheduling attributes before [`short_slices`], put back on drop.
pub struct ShortSlices(Option<imp::SchedAttr>);

impl Drop for ShortSlices {
    fn drop(&mut self) {
        if let Some(before) = self.0.take() {
            imp::restore(&before);
        }
    }
}

/// Whether `signal` is ignored (`SIG_IGN`) in flowc: under `nohup`, SIGHUP is, and flowc
/// then leaves it so (and its steps inherit that).
pub fn ignored(signal: i32) -> bool {
    // SAFETY: queries the action of a signal, changing nothing.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

/// One `read` from `fd` into the unfilled part of `buf`, without zeroing it first (tokio's
/// own pipe reads do not zero it either): the bytes the kernel wrote are then marked
/// filled. `Ok` with nothing filled is the end of the stream. It is here because this is
/// the module that may use `unsafe`; [`crate::runtime::process`] reads a step's output
/// pipes with it until they are handed to the reactor.
pub fn read_into(fd: &OwnedFd, buf: &mut tokio::io::ReadBuf<'_>) -> io::Result<()> {
    // SAFETY: `read` writes at most `unfilled.len()` bytes at the start of the unfilled
    // part and returns how many; only those are then marked initialized and filled.
    unsafe {
        let unfilled = buf.unfilled_mut();
        let n = libc::read(fd.as_raw_fd(), unfilled.as_mut_ptr().cast(), unfilled.len());
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        buf.assume_init(n);
        buf.advance(n);
    }
    Ok(())
}

/// Starts the process `request` describes.
pub fn spawn(request: &Request<'_>) -> io::Result<Spawned> {
    let inherited = inherited();
    match imp::spawn(request, &inherited) {
        // A remembered hit that is gone: forget it and search `PATH` again, once.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let program = request.argv.first().map_or("", String::as_str);
            if forget(program, request.env, &inherited) {
                imp::spawn(request, &inherited)
            } else {
                Err(e)
            }
        }
        spawned => spawned,
    }
}

/// Hits of [`lookup`] by `PATH` value, then by program: looked up without allocating.
type Found =
    std::collections::HashMap<std::ffi::OsString, std::collections::HashMap<String, PathBuf>>;

/// The remembered hits of [`lookup`].
static FOUND: std::sync::Mutex<Option<Found>> = std::sync::Mutex::new(None);

/// Where `PATH` finds `program`, remembered for the rest of the process.
///
/// Spawning a bare name makes the child try every `PATH` entry in turn (one failed
/// `execve` per entry before the one that works); looking the name up once, like a
/// shell's command hash, saves that at every step. Only absolute `PATH` entries are
/// searched and only hits are remembered, so a program installed by an earlier step is
/// still found; `None` (a name with a `/`, a relative entry first, or nothing found)
/// leaves the search to the child, which tries every entry as `execvp` does and fails
/// with its usual error. The step's own `PATH` (from `env`) is used when it sets one.
/// A remembered hit that no longer starts is forgotten and looked up again ([`spawn`]
/// does that, as a shell's `hash -r` would).
fn lookup(program: &str, env: &[(String, String)], inherited: &Inherited) -> Option<PathBuf> {
    use std::collections::HashMap;

    if program.is_empty() || program.contains('/') {
        return None;
    }
    let path_var = path_var(env, inherited)?;
    let hit = FOUND
        .lock()
        .ok()?
        .as_ref()
        .and_then(|m| m.get(path_var))
        .and_then(|m| m.get(program))
        .cloned();
    if hit.is_some() {
        return hit;
    }
    for dir in std::env::split_paths(path_var) {
        if !dir.is_absolute() {
            // `.` or an empty entry: depends on the step's directory; the OS decides.
            return None;
        }
        let candidate = dir.join(program);
        let executable = std::fs::metadata(&candidate).is_ok_and(|m| m.is_file())
            && nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK).is_ok();
        if executable {
            FOUND
                .lock()
                .ok()?
                .get_or_insert_with(HashMap::new)
                .entry(path_var.to_os_string())
                .or_default()
                .insert(program.to_string(), candidate.clone());
            return Some(candidate);
        }
    }
    None
}

/// Forgets where [`lookup`] found `program` on the `PATH` of `env`: the file is gone or
/// was moved (a step can move a tool to another `PATH` directory). Returns whether it
/// was remembered.
fn forget(program: &str, env: &[(String, String)], inherited: &Inherited) -> bool {
    let Some(path_var) = path_var(env, inherited) else {
        return false;
    };
    let Ok(mut found) = FOUND.lock() else {
        return false;
    };
    found
        .as_mut()
        .and_then(|m| m.get_mut(path_var))
        .and_then(|by_program| by_program.remove(program))
        .is_some()
}

/// The `PATH` a step's program is searched on: the step's own (from `env`), else the one
/// of the run's environment.
fn path_var<'a>(env: &'a [(String, String)], inherited: &'a Inherited) -> Option<&'a OsStr> {
    match env.iter().rev().find(|(k, _)| k == "PATH") {
        Some((_, v)) => Some(OsStr::new(v)),
        None => inherited.path.as_deref(),
    }
}

/// The environment step processes inherit: flowc's own, as it was when the run started.
#[derive(Debug, Default)]
pub struct Inherited {
    /// Each variable as `(name, "name=value")`, ready for `execve`.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    vars: Vec<(Box<[u8]>, std::ffi::CString)>,
    /// Its `PATH`.
    path: Option<std::ffi::OsString>,
}

/// The environment of the current run, taken by [`refresh`].
static INHERITED: std::sync::Mutex<Option<std::sync::Arc<Inherited>>> = std::sync::Mutex::new(None);

/// Takes flowc's environment (and which signals it catches) anew, for the run that is
/// about to start: a REPL session runs several, and its environment or its signal
/// handlers may have changed in between. Without a call, the first spawn takes them.
pub fn refresh() {
    use std::os::unix::ffi::OsStrExt;
    let vars = std::env::vars_os()
        .filter_map(|(name, value)| {
            let mut entry = name.as_bytes().to_vec();
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            // The OS gave no NULs; skip rather than fail if it ever did.
            let entry = std::ffi::CString::new(entry).ok()?;
            Some((name.as_bytes().into(), entry))
        })
        .collect();
    let taken = Inherited {
        vars,
        path: std::env::var_os("PATH"),
    };
    if let Ok(mut slot) = INHERITED.lock() {
        *slot = Some(std::sync::Arc::new(taken));
    }
    imp::refresh_caught();
}

/// The environment of the current run (taken now if no run took it).
fn inherited() -> std::sync::Arc<Inherited> {
    loop {
        if let Some(env) = INHERITED.lock().ok().and_then(|slot| slot.clone()) {
            return env;
        }
        refresh();
        if INHERITED.is_poisoned() {
            return std::sync::Arc::default();
        }
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use super::*;
    use std::cell::RefCell;
    use std::ffi::{c_void, CString};
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
    use std::sync::OnceLock;

    /// `struct sched_attr` as `sched_getattr(2)` and `sched_setattr(2)` take it (its first
    /// version, `SCHED_ATTR_SIZE_VER0`).
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct SchedAttr {
        size: u32,
        policy: u32,
        flags: u64,
        nice: i32,
        priority: u32,
        runtime: u64,
        deadline: u64,
        period: u64,
    }

    /// The slice [`short_slices`] asks for: 0.1 ms, the least the kernel accepts.
    const SHORT_SLICE_NS: u64 = 100_000;

    /// `SCHED_FLAG_RESET_ON_FORK`.
    const RESET_ON_FORK: u64 = 0x01;

    fn get_attr() -> Option<SchedAttr> {
        let mut attr = SchedAttr {
            size: std::mem::size_of::<SchedAttr>() as u32,
            ..SchedAttr::default()
        };
        // SAFETY: the kernel writes at most `size` bytes into `attr`, a live local.
        let got = unsafe {
            libc::syscall(
                libc::SYS_sched_getattr,
                0,
                std::ptr::addr_of_mut!(attr),
                attr.size,
                0,
            )
        };
        (got == 0).then_some(attr)
    }

    /// Sets the calling thread's attributes to `attr` (as [`get_attr`] gave them, size
    /// included, with changes).
    fn set_attr(attr: &SchedAttr) -> bool {
        // SAFETY: the kernel reads `attr.size` bytes from `attr`, a live reference.
        unsafe { libc::syscall(libc::SYS_sched_setattr, 0, std::ptr::from_ref(attr), 0) == 0 }
    }

    /// Gives the calling thread short slices (see [`super::short_slices`]); the
    /// attributes before, when it changed them.
    pub fn short_slices() -> Option<SchedAttr> {
        let before = get_attr()?;
        // SCHED_OTHER only, at a nice value that resetting on fork leaves alone (it would
        // raise a negative one to 0 in the steps), and not resetting on fork already
        // (whoever set that chose the thread's attributes).
        if before.policy != libc::SCHED_OTHER as u32
            || before.nice < 0
            || before.flags & RESET_ON_FORK != 0
        {
            return None;
        }
        let short = SchedAttr {
            flags: RESET_ON_FORK,
            runtime: SHORT_SLICE_NS,
            ..before
        };
        set_attr(&short).then_some(before)
    }

    /// Puts back the attributes [`short_slices`] changed, with the default slice
    /// (`sched_getattr` gives the slice in use, whether it was asked for or not).
    pub fn restore(before: &SchedAttr) {
        let _ = set_attr(&SchedAttr {
            runtime: 0,
            ..*before
        });
    }

    /// A string for C: an error (as std gives) when it holds a NUL byte.
    fn c_string(bytes: &[u8]) -> io::Result<CString> {
        CString::new(bytes).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "nul byte found in provided data",
            )
        })
    }

    /// A pipe whose read end is non-blocking; both ends close-on-exec and numbered 3 or
    /// above (so that the child's `dup2` onto 0, 1 and 2 cannot clobber one of them).
    fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        let read = above_stdio(read)?;
        let write = above_stdio(write)?;
        fcntl(read.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        Ok((read, write))
    }

    /// `fd` itself when it is 3 or above; otherwise a close-on-exec duplicate that is (only
    /// when flowc was started with stdin, stdout or stderr closed).
    fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
        if fd.as_raw_fd() > 2 {
            return Ok(fd);
        }
        let dup = fcntl(fd.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(3))?;
        // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(dup) })
    }

    /// The size of each thread's child stack. The child runs a few system calls, with no
    /// recursion; glibc's `posix_spawn` gives it 36 KiB.
    const STACK_BYTES: usize = 64 * 1024;

    /// A child stack: mapped once per thread, with a guard page below it (`PROT_NONE`), so
    /// that an overflow faults instead of writing over whatever lies under the stack.
    struct ChildStack {
        /// The start of the mapping (the guard page).
        base: *mut c_void,
        /// Its length: the guard page and the stack.
        len: usize,
    }

    impl ChildStack {
        /// Maps a new stack; `None` when the kernel refuses.
        fn map() -> Option<ChildStack> {
            // SAFETY: `sysconf` only reads a value.
            let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
                .ok()
                .filter(|p| *p > 0)
                .unwrap_or(4096);
            let len = STACK_BYTES + page;
            // SAFETY: a fresh private anonymous mapping, touching no existing memory; the
            // guard page is its lowest page, which `mprotect` makes inaccessible.
            unsafe {
                let base = libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                    -1,
                    0,
                );
                if base == libc::MAP_FAILED {
                    return None;
                }
                if libc::mprotect(base, page, libc::PROT_NONE) != 0 {
                    libc::munmap(base, len);
                    return None;
                }
                Some(ChildStack { base, len })
            }
        }

        /// The top of the stack (stacks grow down): the end of the mapping, page aligned.
        fn top(&self) -> *mut c_void {
            // SAFETY: one past the end of the mapping.
            unsafe { self.base.cast::<u8>().add(self.len).cast::<c_void>() }
        }
    }

    impl Drop for ChildStack {
        fn drop(&mut self) {
            // SAFETY: the mapping is ours, and no child runs on it: a thread waits for its
            // child to exec, and drops its stack only when it exits.
            unsafe {
                libc::munmap(self.base, self.len);
            }
        }
    }

    thread_local! {
        /// This thread's child stack: a thread waits while its child runs, so one stack
        /// per thread is enough, and its pages stay mapped from one spawn to the next.
        static STACK: RefCell<Option<ChildStack>> = const { RefCell::new(None) };
    }

    /// The signals flowc catches (has a handler for), which the child must reset to their
    /// default action before it unblocks signals: while it borrows flowc's memory, no
    /// handler of flowc's may run in it. Bit `n - 1` for signal `n`, 1 to 64.
    static CAUGHT: AtomicU64 = AtomicU64::new(0);

    /// Whether [`CAUGHT`] was taken.
    static CAUGHT_TAKEN: AtomicBool = AtomicBool::new(false);

    /// Asks the kernel which signals, real-time ones included, have a handler now. Called
    /// once per run ([`super::refresh`]), after the run's own handlers are installed, so
    /// that the child resets exactly those instead of querying all 64 at every spawn.
    pub fn refresh_caught() {
        let mut caught = 0u64;
        for signal in 1..=libc::SIGRTMAX().min(64) {
            if signal == libc::SIGKILL || signal == libc::SIGSTOP {
                continue;
            }
            // SAFETY: queries the action of a signal, changing nothing.
            let handled = unsafe {
                let mut current: libc::sigaction = std::mem::zeroed();
                libc::sigaction(signal, std::ptr::null(), &mut current) == 0
                    && current.sa_sigaction != libc::SIG_DFL
                    && current.sa_sigaction != libc::SIG_IGN
            };
            // Rust ignores SIGPIPE; a step gets the default back, as std gives it.
            if handled || signal == libc::SIGPIPE {
                caught |= 1 << (signal - 1);
            }
        }
        CAUGHT.store(caught, Ordering::SeqCst);
        CAUGHT_TAKEN.store(true, Ordering::SeqCst);
    }

    /// `/dev/null`, opened once (close-on-exec, fd 3 or above).
    fn dev_null() -> io::Result<i32> {
        static NULL: OnceLock<OwnedFd> = OnceLock::new();
        if let Some(fd) = NULL.get() {
            return Ok(fd.as_raw_fd());
        }
        let file = std::fs::File::open("/dev/null")?;
        let fd = above_stdio(OwnedFd::from(file))?;
        Ok(NULL.get_or_init(|| fd).as_raw_fd())
    }

    /// Everything the child needs, prepared by the parent; the child only reads it (and
    /// writes `error`).
    struct ChildArgs {
        /// Executables to try in turn (a `NULL`-free list of C strings).
        candidates: Vec<*const libc::c_char>,
        argv: Vec<*const libc::c_char>,
        envp: Vec<*const libc::c_char>,
        cwd: *const libc::c_char,
        stdin: i32,
        stdout: i32,
        stderr: i32,
        /// The signals to reset to their default action (bit `n - 1` for signal `n`).
        caught: u64,
        /// The `errno` of the step that failed; 0 while all went well.
        error: AtomicI32,
    }

    pub fn spawn(request: &Request<'_>, inherited: &Inherited) -> io::Result<Spawned> {
        let Some(program) = request.argv.first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the command is empty",
            ));
        };

        // Everything that allocates happens here, before the child exists.
        let argv_c = request
            .argv
            .iter()
            .map(|a| c_string(a.as_bytes()))
            .collect::<io::Result<Vec<_>>>()?;
        let mut overrides: Vec<(&str, CString)> = Vec::with_capacity(request.env.len());
        for (name, value) in request.env {
            let mut entry = Vec::with_capacity(name.len() + value.len() + 1);
            entry.extend_from_slice(name.as_bytes());
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            let entry = c_string(&entry)?;
            match overrides.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = entry,
                None => overrides.push((name, entry)),
            }
        }
        let mut envp = Vec::with_capacity(inherited.vars.len() + overrides.len() + 1);
        for (name, entry) in &inherited.vars {
            if !overrides.iter().any(|(n, _)| n.as_bytes() == &name[..]) {
                envp.push(entry.as_ptr());
            }
        }
        envp.extend(overrides.iter().map(|(_, e)| e.as_ptr()));
        envp.push(std::ptr::null());

        let candidates_c = candidates(program, request.env, inherited)?;
        if !CAUGHT_TAKEN.load(Ordering::Relaxed) {
            refresh_caught();
        }
        let cwd_c = c_string(request.cwd.as_os_str().as_bytes())?;
        let stdin = dev_null()?;
        let (out_read, out_write) = pipe()?;
        let (err_read, err_write) = pipe()?;

        let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let args = ChildArgs {
            candidates: candidates_c.iter().map(|c| c.as_ptr()).collect(),
            argv,
            envp,
            cwd: cwd_c.as_ptr(),
            stdin,
            stdout: out_write.as_raw_fd(),
            stderr: err_write.as_raw_fd(),
            caught: CAUGHT.load(Ordering::Relaxed),
            error: AtomicI32::new(0),
        };

        let mut pidfd: libc::c_int = -1;
        let pid = STACK.with(|stack| {
            let mut stack = stack.borrow_mut();
            if stack.is_none() {
                *stack = ChildStack::map();
            }
            let Some(top) = stack.as_ref().map(ChildStack::top) else {
                return Err(io::Error::last_os_error());
            };
            let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD;
            // SAFETY: all signals are blocked around the clone, so no handler of flowc's
            // runs in the child while it borrows our memory; `child` only makes system
            // calls and reads `args`, which outlives the child's use of it: with
            // CLONE_VFORK this thread resumes only once the child has called `execve`
            // or exited. `top` is the page-aligned end of this thread's stack mapping,
            // which nothing else uses meanwhile (a guard page lies below it). `pidfd` is where CLONE_PIDFD writes.
            unsafe {
                let mut all: libc::sigset_t = std::mem::zeroed();
                let mut old: libc::sigset_t = std::mem::zeroed();
                libc::sigfillset(&mut all);
                // SIGCHLD stays open when flowc has no handler for it (no handler can
                // run in the child then). The kernel drops a SIGCHLD its parent thread
                // ignores, but queues one that thread blocks and wakes another thread
                // to take it: another step ending while this thread waits for its
                // child's `execve` (about one step in ten at `--max-parallel 2`) would
                // wake an idle thread for nothing.
                if args.caught & (1 << (libc::SIGCHLD - 1)) == 0 {
                    libc::sigdelset(&mut all, libc::SIGCHLD);
                }
                libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
                let pid = libc::clone(
                    child,
                    top,
                    flags,
                    std::ptr::addr_of!(args).cast_mut().cast::<c_void>(),
                    &mut pidfd as *mut libc::c_int,
                );
                let clone_error = io::Error::last_os_error();
                libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
                if pid < 0 {
                    Err(clone_error)
                } else {
                    Ok(pid)
                }
            }
        })?;
        // SAFETY: CLONE_PIDFD stored a new descriptor there, or left -1 (a kernel before
        // 5.2 ignores the flag).
        let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
        drop(out_write);
        drop(err_write);

        let failed = args.error.load(Ordering::SeqCst);
        if failed != 0 {
            // The child exited with 127 before or at `execve`: reap it, report why.
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            return Err(io::Error::from_raw_os_error(failed));
        }
        let pidfd = pidfd.or_else(|| pidfd_open(pid));
        Ok(Spawned {
            pid,
            pidfd,
            stdout: out_read,
            stderr: err_read,
        })
    }

    /// A pidfd from `pidfd_open` (Linux 5.3), for a kernel that ignored CLONE_PIDFD.
    fn pidfd_open(pid: i32) -> Option<OwnedFd> {
        // SAFETY: a plain system call; a non-negative result is a new descriptor we own.
        unsafe {
            let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
            (fd >= 0).then(|| OwnedFd::from_raw_fd(fd as i32))
        }
    }

    /// The executables to try, as `execvp` would: the one [`lookup`] found; the program
    /// itself when it names a path; otherwise each `PATH` entry in turn.
    fn candidates(
        program: &str,
        env: &[(String, String)],
        inherited: &Inherited,
    ) -> io::Result<Vec<CString>> {
        if let Some(path) = lookup(program, env, inherited) {
            return Ok(vec![c_string(path.as_os_str().as_bytes())?]);
        }
        if program.contains('/') {
            return Ok(vec![c_string(program.as_bytes())?]);
        }
        // glibc's default when PATH is unset.
        let path_var = path_var(env, inherited).unwrap_or(OsStr::new("/bin:/usr/bin"));
        path_var
            .as_bytes()
            .split(|&b| b == b':')
            .map(|dir| {
                let mut full = dir.to_vec();
                if !full.is_empty() {
                    full.push(b'/');
                }
                full.extend_from_slice(program.as_bytes());
                c_string(&full)
            })
            .collect()
    }

    /// The child, between `clone` and `execve`. Only system calls: see the module docs.
    extern "C" fn child(arg: *mut c_void) -> libc::c_int {
        // SAFETY: `arg` points to the parent's `ChildArgs`, alive until we exec or exit.
        let args = unsafe { &*arg.cast::<ChildArgs>() };
        // SAFETY: each call below is a system call wrapper that is async-signal-safe;
        // the pointers come from `args`, whose strings and arrays the parent keeps.
        unsafe {
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            let mut caught = args.caught;
            while caught != 0 {
                let signal = caught.trailing_zeros() as libc::c_int + 1;
                caught &= caught - 1;
                libc::sigaction(signal, &default, std::ptr::null_mut());
            }
            if libc::setpgid(0, 0) != 0 {
                fail(args);
            }
            for (from, to) in [(args.stdin, 0), (args.stdout, 1), (args.stderr, 2)] {
                if libc::dup2(from, to) < 0 {
                    fail(args);
                }
            }
            if libc::chdir(args.cwd) != 0 {
                fail(args);
            }
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());

            let mut result = libc::ENOENT;
            let mut denied = false;
            for &path in &args.candidates {
                libc::execve(path, args.argv.as_ptr(), args.envp.as_ptr());
                match errno() {
                    libc::EACCES => denied = true,
                    libc::ENOENT
                    | libc::ENOTDIR
                    | libc::ESTALE
                    | libc::ENODEV
                    | libc::ETIMEDOUT => {}
                    other => {
                        result = other;
                        denied = false;
                        break;
                    }
                }
            }
            if denied {
                result = libc::EACCES;
            }
            args.error.store(result, Ordering::SeqCst);
            libc::_exit(127)
        }
    }

    /// Reports the current `errno` to the parent and ends the child.
    fn fail(args: &ChildArgs) -> ! {
        args.error.store(errno().max(1), Ordering::SeqCst);
        // SAFETY: `_exit` ends the child without running anything of the parent's.
        unsafe { libc::_exit(127) }
    }

    /// This thread's `errno`.
    fn errno() -> i32 {
        // SAFETY: reads the calling thread's errno slot.
        unsafe { *libc::__errno_location() }
    }

    // Only the parent's side is tested here; tests/flowc/ runs real steps through it.
    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_child_stack_has_a_guard_page_below_it() {
            let stack = ChildStack::map().expect("mapped");
            let base = stack.base as usize;
            let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
            // The guard page is a mapping of its own (the kernel splits it), unreadable.
            let guard = maps
                .lines()
                .find(|l| {
                    l.split('-')
                        .next()
                        .and_then(|s| usize::from_str_radix(s, 16).ok())
                        == Some(base)
                })
                .expect("the mapping is listed");
            assert!(guard.split_whitespace().nth(1) == Some("---p"), "{guard}");
            assert_eq!(stack.top() as usize, base + stack.len);
        }

        #[test]
        fn short_slices_hold_for_the_thread_not_its_children_and_end_with_the_guard() {
            let slice = || get_attr().map(|a| a.runtime);
            let default = slice();
            let guard = super::super::short_slices();
            let Some(before) = guard.0 else {
                // A policy or nice value it leaves alone, or a kernel without the call.
                return;
            };
            assert_eq!(before.runtime, default.unwrap_or_default());
            if slice() != Some(SHORT_SLICE_NS) {
                // A kernel before custom slices (6.12) takes the call and ignores it.
                return;
            }
            // A thread started now (as a step's process would be) has the default.
            let child = std::thread::spawn(|| get_attr().map(|a| (a.runtime, a.flags)))
                .join()
                .expect("joined");
            assert_eq!(child, default.map(|d| (d, 0)));
            drop(guard);
            assert_eq!(slice(), default);
            assert_eq!(get_attr().map(|a| a.flags & RESET_ON_FORK), Some(0));
        }

        #[test]
        fn caught_signals_real_time_ones_included_are_reset_in_the_child() {
            extern "C" fn handler(_: libc::c_int) {}
            let signal = libc::SIGRTMIN() + 5;
            // SAFETY: installs a handler that does nothing, for a signal nothing sends.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler as extern "C" fn(libc::c_int) as usize;
                assert_eq!(libc::sigaction(signal, &action, std::ptr::null_mut()), 0);
            }
            refresh_caught();
            let caught = CAUGHT.load(Ordering::SeqCst);
            assert_ne!(caught & (1 << (signal - 1)), 0, "{caught:x}");
            assert_ne!(caught & (1 << (libc::SIGPIPE - 1)), 0, "{caught:x}");
            assert_eq!(caught & (1 << (libc::SIGKILL - 1)), 0, "{caught:x}");
        }

        #[test]
        fn candidates_follow_path_like_execvp() {
            let env = vec![("PATH".to_string(), "/a::/b".to_string())];
            let inherited = Inherited::default();
            let got: Vec<_> = candidates("tool", &env, &inherited)
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.into_string().unwrap_or_default())
                .collect();
            assert_eq!(got, ["/a/tool", "tool", "/b/tool"]);
            let got = candidates("./x", &env, &inherited).unwrap_or_default();
            assert_eq!(got, [CString::from(c"./x")]);
            // Found beforehand on an all-absolute PATH: only that one.
            let env = vec![("PATH".to_string(), "/nonexistent:/usr/bin".to_string())];
            let got = candidates("true", &env, &inherited).unwrap_or_default();
            assert_eq!(got, [CString::from(c"/usr/bin/true")]);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;
    use std::process::{Command, Stdio};

    /// std's `Command` resets signals itself.
    pub fn refresh_caught() {}

    /// No slices to ask for here.
    pub struct SchedAttr;

    pub fn short_slices() -> Option<SchedAttr> {
        None
    }

    pub fn restore(_: &SchedAttr) {}

    pub fn spawn(request: &Request<'_>, inherited: &Inherited) -> io::Result<Spawned> {
        use std::os::unix::process::CommandExt;
        let Some(program) = request.argv.first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the command is empty",
            ));
        };
        let mut command = match lookup(program, request.env, inherited) {
            Some(path) => {
                let mut command = Command::new(path);
                command.arg0(program);
                command
            }
            None => Command::new(program),
        };
        let mut child = command
            .args(&request.argv[1..])
            .envs(request.env.iter().map(|(k, v)| (k, v)))
            .current_dir(request.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let nonblocking = |fd: OwnedFd| -> io::Result<OwnedFd> {
            fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
            Ok(fd)
        };
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(io::Error::other("the step's output pipes are missing"));
        };
        let pid = i32::try_from(child.id()).map_err(io::Error::other)?;
        // The runtime reaps it by pid; std's handle is not needed for that.
        drop(child);
        Ok(Spawned {
            pid,
            pidfd: None,
            stdout: nonblocking(OwnedFd::from(out))?,
            stderr: nonblocking(OwnedFd::from(err))?,
        })
    }
}
