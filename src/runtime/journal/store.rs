//! Run directories: where runs live, the lock held by a run's one driver, creating,
//! reopening, compacting, listing and finding runs.

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};

use crate::snapshot::record::{Record, RunStarted};
use crate::snapshot::{self, Appender, SnapshotError};

use super::*;

/// The state directory: `--state-dir`, else `FLOWC_STATE_DIR`, else `.flow/runs` in
/// `base` (the project directory: the one flowc runs in, where steps run too).
pub fn state_root(flag: Option<&Path>, base: &Path) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    match std::env::var_os("FLOWC_STATE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => base.join(".flow").join("runs"),
    }
}

/// Whether the journal is switched off (`FLOWC_JOURNAL=off`, for benchmarks only).
pub fn disabled() -> bool {
    std::env::var("FLOWC_JOURNAL").is_ok_and(|v| v == "off")
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl Fn(std::io::Error) -> JournalError + 'a {
    move |e| {
        JournalError::Snapshot(SnapshotError::Io {
            action,
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }
}

/// Creates a new run's directory and journal (crash-safely: the journal appears whole,
/// with the run's first record, or not at all), locks it, and opens it for appending.
/// The directory is created exclusively: a run id that is taken already (by another
/// flowc starting a run in the same state directory) is [`JournalError::RunExists`], and
/// the caller tries again with a new id. Two runs never share a directory.
pub fn create(root: &Path, started: RunStarted) -> Result<(RunLock, Journal), JournalError> {
    snapshot::create_private_dir(root).map_err(io("create", root))?;
    let dir = root.join(&started.run_id);
    // Exclusively, and private to the user: a taken id is another run's.
    let created = {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(0o700).create(&dir)
    };
    match created {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(JournalError::RunExists {
                run: started.run_id.clone(),
                dir: root.display().to_string(),
            })
        }
        Err(e) => return Err(io("create", &dir)(e)),
    }
    let lock = lock(&dir, "run")?;
    let path = dir.join(JOURNAL);
    let records = [
        Record::RunStarted(started),
        Record::Driver {
            pid: std::process::id(),
            at_ms: now_ms(),
        },
    ];
    // Durable once the writer thread has synced it and the directories above it.
    snapshot::write_unsynced(&path, &records)?;
    let len = std::fs::metadata(&path).map_err(io("read", &path))?.len();
    let dirs = vec![dir.clone(), root.to_path_buf()];
    Ok((
        lock,
        Journal::start_syncing(Appender::open(&path, len)?, dirs),
    ))
}

/// Opens an existing run for a new driver (`command`: `resume`, `rollback`): takes the lock, reads the journal, and opens
/// it for appending after its last complete record (a torn tail is cut off). When the
/// journal had a torn tail, or holds more than three records per step (many resumes),
/// it is first compacted: superseded records are dropped and the file is replaced
/// crash-safely.
pub fn reopen(dir: &Path, command: &str) -> Result<(RunLock, RunState, Journal), JournalError> {
    let lock = lock(dir, command)?;
    let state = RunState::load(dir)?;
    let path = dir.join(JOURNAL);
    let steps = state.started.steps as usize;
    let len = if !state.warnings.is_empty() || state.records.len() > 3 * steps + 16 {
        snapshot::write_atomic(&path, &compact(&state))?;
        std::fs::metadata(&path).map_err(io("read", &path))?.len()
    } else {
        state.valid_len
    };
    let journal = Journal::start(Appender::open(&path, len)?);
    Ok((lock, state, journal))
}

/// Records this process as the run's driver, once a resume is about to run something (a
/// resume that runs nothing leaves the journal as it was).
pub fn take_over(journal: &Journal) {
    journal.record(Record::Driver {
        pid: std::process::id(),
        at_ms: now_ms(),
    });
}

/// The records of a journal without those a later record supersedes: the starts, failed
/// attempts and instances of a step that finished after them, and all but the last driver
/// and run-finished records (a rollback's end stays). Every finish of every step stays:
/// `flowc status` counts them. Reading back the result gives the same state.
pub fn compact(state: &RunState) -> Vec<Record> {
    // The last finish of each step, and whether it keeps the finished instances before it
    // (a failed or cancelled fan-out does: a resume restores them).
    let mut last_finish: HashMap<&str, (usize, bool)> = HashMap::default();
    let mut last_driver = 0;
    let mut last_end = 0;
    for (k, r) in state.records.iter().enumerate() {
        match r {
            Record::StepFinished { step, status, .. } => {
                let keeps = matches!(status.as_str(), "failed" | "cancelled");
                last_finish.insert(step.as_str(), (k, keeps));
            }
            Record::Driver { .. } => last_driver = k,
            Record::RunFinished { .. } => last_end = k,
            _ => {}
        }
    }
    let superseded =
        |label: &str, k: usize| last_finish.get(step_of(label)).is_some_and(|&(f, _)| f > k);
    let mut out = vec![Record::RunStarted(state.started.clone())];
    for (k, r) in state.records.iter().enumerate() {
        let keep = match r {
            Record::StepStarted { step, .. } | Record::AttemptFailed { step, .. } => {
                !superseded(step, k)
            }
            Record::InstanceFinished { step, .. } => {
                !superseded(step, k)
                    || last_finish
                        .get(step_of(step))
                        .is_some_and(|&(_, keeps)| keeps)
            }
            Record::Driver { .. } => k == last_driver,
            // A rollback's end closes it: reading it back needs it where it was.
            Record::RunFinished { status, .. } => k == last_end || status == "rolled_back",
            _ => true,
        };
        if keep {
            out.push(r.clone());
        }
    }
    out
}

/// When a run started, from the first record of its journal (0 when unreadable). Reads
/// only the file's beginning, where that record is.
fn started_ms(dir: &Path) -> u64 {
    use std::io::Read;
    let mut head = Vec::new();
    let read = std::fs::File::open(dir.join(JOURNAL))
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head));
    if read.is_err() {
        return 0;
    }
    match snapshot::decode::<Record>("", &head).map(|l| l.records.into_iter().next()) {
        Ok(Some(Record::RunStarted(s))) => s.at_ms,
        _ => 0,
    }
}

/// The run directories under `root`, oldest first.
pub fn list(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<(u64, PathBuf)> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join(JOURNAL).is_file())
                .map(|p| (started_ms(&p), p))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.into_iter().map(|(_, p)| p).collect()
}

/// Finds a run by id (or a unique prefix of one), or the newest run.
pub fn find(root: &Path, run: Option<&str>) -> Result<PathBuf, JournalError> {
    let runs = list(root);
    let found = match run {
        None => runs.last().cloned(),
        Some(id) => {
            let exact = root.join(id);
            if exact.join(JOURNAL).is_file() {
                Some(exact)
            } else {
                let matches: Vec<&PathBuf> = runs
                    .iter()
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with(id))
                    })
                    .collect();
                match matches.as_slice() {
                    [one] => Some((*one).clone()),
                    _ => None,
                }
            }
        }
    };
    found.ok_or_else(|| JournalError::NoSuchRun {
        run: run.unwrap_or("--last").to_string(),
        dir: root.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(run_id: &str) -> RunStarted {
        RunStarted {
            run_id: run_id.to_string(),
            file: "/w.flow".to_string(),
            workflow: "w".to_string(),
            inputs: Default::default(),
            max_parallel: 1,
            approve_all: false,
            approve: Vec::new(),
            log_dir: "/logs".to_string(),
            workdir: "/".to_string(),
            steps: 1,
            at_ms: 0,
        }
    }

    #[test]
    fn a_run_directory_is_created_exclusively() {
        let root = tempfile::tempdir().expect("tempdir");
        let (lock, journal) = create(root.path(), started("1-abc")).expect("created");
        assert!(journal.finish().is_ok());
        drop(lock);
        // The same id again, even with its first driver gone: refused, never shared.
        let err = create(root.path(), started("1-abc")).expect_err("taken");
        assert!(matches!(err, JournalError::RunExists { .. }), "{err}");
        let code = miette::Diagnostic::code(&err).map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("E0590"));
        assert_eq!(list(root.path()).len(), 1);
    }

    fn finished(step: &str, status: &str) -> Record {
        Record::StepFinished {
            step: step.to_string(),
            status: status.to_string(),
            attempts: 1,
            duration_ms: 1,
            exit_codes: vec![0],
            reason: None,
            record: crate::snapshot::record::Val::Record(Default::default()),
            fingerprint: 7,
            at_ms: 1,
        }
    }

    fn end(status: &str) -> Record {
        Record::RunFinished {
            status: status.to_string(),
            at_ms: 2,
        }
    }

    /// What a journal says: each step's last status and how many times it ended, the
    /// steps rolled back, whether the rollback ended, the run's status.
    type Facts = (
        Vec<(String, String, usize)>,
        Vec<String>,
        Option<bool>,
        String,
    );

    fn facts(dir: &Path) -> Facts {
        let state = RunState::load(dir).expect("loads");
        let mut steps: Vec<(String, String, usize)> = (state.finished.iter())
            .map(|(k, f)| (k.clone(), f.status.clone(), state.history[k].len()))
            .collect();
        steps.sort();
        let mut undone: Vec<String> = state.rolled_back.keys().cloned().collect();
        undone.sort();
        let closed = state.rollback.as_ref().map(|r| r.closed);
        (steps, undone, closed, state.status())
    }

    #[test]
    fn a_rollback_survives_compaction_and_every_run_of_a_step_is_kept() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path();
        let driver = Record::Driver { pid: 1, at_ms: 1 };
        let records = vec![
            Record::RunStarted(started("1-abc")),
            driver.clone(),
            finished("a", "succeeded"),
            finished("b", "succeeded"),
            end("succeeded"),
            driver.clone(),
            Record::RollbackStarted {
                to: Some("a".to_string()),
                undo: vec![("undo_b".to_string(), "b".to_string())],
                kept: Vec::new(),
                at_ms: 1,
            },
            Record::CompensationStarted {
                step: "undo_b".to_string(),
                target: "b".to_string(),
                at_ms: 1,
            },
            finished("undo_b", "succeeded"),
            end("rolled_back"),
            driver,
            finished("a", "succeeded"),
            end("succeeded"),
        ];
        crate::snapshot::write_atomic(&dir.join(JOURNAL), &records).expect("written");
        let before = facts(dir);
        assert_eq!(before.1, ["b"], "`b` was rolled back");
        assert_eq!(before.2, Some(true), "the rollback ended");
        assert_eq!(before.0[0], ("a".to_string(), "succeeded".to_string(), 2));
        let state = RunState::load(dir).expect("loads");
        crate::snapshot::write_atomic(&dir.join(JOURNAL), &compact(&state)).expect("compacted");
        assert_eq!(facts(dir), before);
    }
}
