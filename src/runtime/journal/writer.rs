//! Writing a run's journal: records go to a writer thread that encodes them and batches
//! every record queued while the previous fsync ran into one write and one fsync (group
//! commit). The run's thread only hands a record over: encoding it is not on the way
//! from one step's end to the next step's start.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::runtime::eval::Value;
use crate::snapshot::record::{Record, Val};
use crate::snapshot::{self, Appender, SnapshotError};

/// The shortest time between two batches (one write, and one fsync if a record needs it)
/// of the journal. Records queued in between wait for the next batch, at most this long
/// after the last, and share it. Only reporting waits: the scheduler never does, so this
/// bounds how late a finished step is shown, not the run. A record somebody awaits
/// ([`Journal::commit`]) is written at once, and so is the first record after a quiet
/// spell: steps that end less often than this are shown as they end. Only a run of many
/// short steps waits, and its progress lines then come ten times a second, in batches,
/// with at most 10 fsyncs a second. Each fsync costs about 0.3 ms of CPU on a virtual
/// machine (the write-back and the device notification): on a 10,000-step run, 100 ms
/// rather than 25 ms cut flowc's own CPU time by 110 ms (7%), and at 5 ms the fsyncs
/// were a tenth of it.
const SYNC_GAP: std::time::Duration = std::time::Duration::from_millis(100);

/// What happens once a message's bytes (if any) are on disk.
enum Then {
    Nothing,
    Wake(tokio::sync::oneshot::Sender<()>),
    Call(Box<dyn FnOnce() + Send>),
}

struct Msg {
    /// The record to append, if any.
    record: Option<Record>,
    then: Then,
    /// Whether these bytes need an fsync before the batch is done. A step's start does
    /// not: resume finds a step whose start record was lost by its processes'
    /// `FLOW_RUN_ID`, and runs it again as an in-flight step either way.
    sync: bool,
}

/// The appending end of a run's journal, shared by every task of the run.
pub struct Journal {
    tx: Mutex<Option<std::sync::mpsc::Sender<Msg>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The writer thread, to unpark when someone waits for it (it parks between batches).
    parked: std::thread::Thread,
    error: Arc<Mutex<Option<SnapshotError>>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

impl Journal {
    /// Starts the writer thread on an open journal.
    pub fn start(appender: Appender) -> Journal {
        Journal::start_syncing(appender, Vec::new())
    }

    /// Starts the writer thread on a journal that is not durable yet: before anything
    /// else, the thread fsyncs the file and then each of `dirs` (those whose new entries
    /// lead to it). Everything reported waits for the writer, so nothing is reported
    /// before the journal itself is on disk, and the run does not wait for it.
    pub fn start_syncing(mut appender: Appender, dirs: Vec<PathBuf>) -> Journal {
        let (tx, rx) = std::sync::mpsc::channel::<Msg>();
        let error: Arc<Mutex<Option<SnapshotError>>> = Arc::new(Mutex::new(None));
        let err = Arc::clone(&error);
        let writer = std::thread::spawn(move || {
            if !dirs.is_empty() {
                let synced = appender
                    .sync_all()
                    .and_then(|()| dirs.iter().try_for_each(|d| snapshot::sync_dir(d)));
                if let Err(e) = synced {
                    if let Ok(mut slot) = err.lock() {
                        slot.get_or_insert(e);
                    }
                }
            }
            let mut buf = Vec::new();
            let mut after: Vec<Then> = Vec::new();
            let mut last_batch: Option<std::time::Instant> = None;
            while let Ok(first) = rx.recv() {
                // Everything queued while the last batch was written shares this one, and
                // so does everything queued until SYNC_GAP after it: many steps finishing
                // close together cost one write and one fsync, not one each. While it
                // waits, the thread is parked, so queueing a record does not wake it.
                let mut next = Some(first);
                let mut sync = false;
                // Someone is waiting for this batch (a commit, which also unparks us):
                // no gap.
                let mut waited = false;
                loop {
                    while let Some(msg) = next {
                        if let Some(record) = &msg.record {
                            match snapshot::encode(record) {
                                Ok(bytes) => {
                                    buf.extend_from_slice(&bytes);
                                    sync |= msg.sync;
                                }
                                Err(e) => {
                                    if let Ok(mut slot) = err.lock() {
                                        slot.get_or_insert(e);
                                    }
                                }
                            }
                        }
                        waited |= matches!(msg.then, Then::Wake(_));
                        after.push(msg.then);
                        next = rx.try_recv().ok();
                    }
                    let due = match (waited, last_batch) {
                        (false, Some(at)) => at + SYNC_GAP,
                        _ => break,
                    };
                    let now = std::time::Instant::now();
                    if now >= due {
                        break;
                    }
                    std::thread::park_timeout(due - now);
                    match rx.try_recv() {
                        Ok(msg) => next = Some(msg),
                        Err(std::sync::mpsc::TryRecvError::Empty) => {}
                        Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                    }
                }
                if !buf.is_empty() {
                    if let Err(e) = appender.append_then(&buf, sync) {
                        if let Ok(mut slot) = err.lock() {
                            slot.get_or_insert(e);
                        }
                    }
                }
                last_batch = Some(std::time::Instant::now());
                buf.clear();
                // In queue order: whatever was queued after a record happens after it
                // is durable.
                for then in after.drain(..) {
                    match then {
                        Then::Nothing => {}
                        Then::Wake(w) => {
                            let _ = w.send(());
                        }
                        Then::Call(f) => f(),
                    }
                }
            }
        });
        Journal {
            tx: Mutex::new(Some(tx)),
            parked: writer.thread().clone(),
            writer: Mutex::new(Some(writer)),
            error,
        }
    }

    fn queue(&self, msg: Msg) {
        if let Ok(tx) = self.tx.lock() {
            if let Some(tx) = tx.as_ref() {
                let _ = tx.send(msg);
            }
        }
    }

    fn send(&self, record: Record, then: Then) {
        self.send_with(record, then, true);
    }

    fn send_with(&self, record: Record, then: Then, sync: bool) {
        self.queue(Msg {
            record: Some(record),
            then,
            sync,
        });
    }

    /// Queues a record; it reaches the disk with the next batch.
    pub fn record(&self, record: Record) {
        self.send(record, Then::Nothing);
    }

    /// Queues a record that needs no fsync of its own: it is written with the next batch
    /// and made durable by the next fsync (a step's start).
    pub fn record_lazily(&self, record: Record) {
        self.send_with(record, Then::Nothing, false);
    }

    /// Calls `f` on the writer thread once every record queued before it is on disk.
    /// This is how a run reports: an event queued after a step's finish record is
    /// shown only once that record is durable, without holding up the scheduler.
    pub fn then(&self, f: impl FnOnce() + Send + 'static) {
        self.queue(Msg {
            record: None,
            then: Then::Call(Box::new(f)),
            sync: false,
        });
    }

    /// Queues a record and waits until it is on disk (or writing failed: see
    /// [`Journal::finish`]).
    pub async fn commit(&self, record: Record) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(record, Then::Wake(tx));
        self.parked.unpark();
        let _ = rx.await;
    }

    /// Queues a record and waits for the disk, from outside the async runtime.
    pub fn commit_blocking(&self, record: Record) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(record, Then::Wake(tx));
        self.parked.unpark();
        let _ = rx.blocking_recv();
    }

    /// Writes what is queued, stops the writer, and reports the first write error.
    pub fn finish(&self) -> Result<(), SnapshotError> {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        self.parked.unpark();
        if let Ok(mut w) = self.writer.lock() {
            if let Some(w) = w.take() {
                let _ = w.join();
            }
        }
        match self.error.lock() {
            Ok(mut e) => e.take().map_or(Ok(()), Err),
            Err(_) => Ok(()),
        }
    }
}

/// A value as the journal stores it.
pub fn to_val(v: &Value) -> Val {
    match v {
        Value::Str(s) => Val::Str(s.clone()),
        Value::Int(i) => Val::Int(*i),
        Value::Float(f) => Val::Float(*f),
        Value::Bool(b) => Val::Bool(*b),
        Value::Duration(d) => Val::Duration(*d),
        Value::Secret(s) => Val::Secret(s.clone()),
        Value::List(items) => Val::List(items.iter().map(to_val).collect()),
        Value::Map(m) => Val::Map(m.iter().map(|(k, v)| (k.clone(), to_val(v))).collect()),
        Value::Record(m) => Val::Record(m.iter().map(|(k, v)| (k.clone(), to_val(v))).collect()),
    }
}

/// A step's result as the journal stores it: like [`to_val`], but every secret (a
/// `secret` output) is stored empty, so that the journal never holds its value. A resume
/// runs such a step again (see [`super::plan`]).
pub fn to_val_without_secrets(v: &Value) -> Val {
    match v {
        Value::Secret(_) => Val::Secret(String::new()),
        Value::List(items) => Val::List(items.iter().map(to_val_without_secrets).collect()),
        Value::Map(m) => Val::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), to_val_without_secrets(v)))
                .collect(),
        ),
        Value::Record(m) => Val::Record(
            m.iter()
                .map(|(k, v)| (k.clone(), to_val_without_secrets(v)))
                .collect(),
        ),
        other => to_val(other),
    }
}

/// A stored value back as a run-time value.
pub fn from_val(v: &Val) -> Value {
    match v {
        Val::Str(s) => Value::Str(s.clone()),
        Val::Int(i) => Value::Int(*i),
        Val::Float(f) => Value::Float(*f),
        Val::Bool(b) => Value::Bool(*b),
        Val::Duration(d) => Value::Duration(*d),
        Val::Secret(s) => Value::Secret(s.clone()),
        Val::List(items) => Value::List(items.iter().map(from_val).collect()),
        Val::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), from_val(v))).collect()),
        Val::Record(m) => Value::Record(m.iter().map(|(k, v)| (k.clone(), from_val(v))).collect()),
    }
}
