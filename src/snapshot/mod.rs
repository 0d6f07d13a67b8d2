//! The journal and snapshot codec: records in, bytes on disk out, and back.
//!
//! A journal file is our own header followed by framed records:
//!
//! ```text
//! header: b"FLOWJRNL"  format version (u32 LE)  flowc version (u16 LE length + UTF-8)
//!         CRC32C of everything before it (u32 LE)
//! record: payload length (u32 LE)  CRC32C of the length (u32 LE)
//!         CRC32C of the payload (u32 LE)  payload
//! ```
//!
//! The length has its own checksum so that a damaged length is told apart from a torn
//! append: a length that checks out but runs past the end of the file is a record whose
//! append was cut short by a crash.
//!
//! The payload is bincode (serde, standard config). bincode is used nowhere else in the
//! crate, so swapping it means changing [`encode`] and [`decode_payload`] and bumping
//! [`FORMAT_VERSION`]. [`load`] is the entry point for reading: a torn last record (a
//! crash in the middle of an append) is dropped with a warning; anything else that is
//! wrong is an error with its own code, and the file is never modified. [`write_atomic`]
//! replaces a file crash-safely (temp write, fsync, rename, fsync of the directory);
//! [`Appender`] appends framed records to an existing journal.

pub mod record;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The first bytes of every flowc journal or snapshot.
pub const MAGIC: &[u8; 8] = b"FLOWJRNL";
/// The format version this flowc writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 6;
/// The largest record accepted. A length prefix above it is refused at once, before any
/// allocation, whatever the file's size.
pub const MAX_RECORD: u32 = 64 * 1024 * 1024;
/// Bytes before each payload: length, its checksum, the payload's checksum.
const FRAME_HEAD: usize = 12;

/// A problem with a journal or snapshot file. The file is never modified because of one.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SnapshotError {
    /// The file does not start with flowc's magic bytes.
    #[error("`{path}` is not a flowc run journal")]
    #[diagnostic(
        code(E0501),
        help("a journal starts with `FLOWJRNL`; check the path, or remove the run directory if it holds something else")
    )]
    NotAJournal {
        /// The file.
        path: String,
    },

    /// A checksum or decoding failure before the last record, or a damaged header.
    #[error("the run journal `{path}` is corrupt at byte {offset}: {reason}")]
    #[diagnostic(
        code(E0502),
        help("the file was left as it is; the run cannot be resumed from it (start it again with `flowc run`)")
    )]
    Corrupt {
        /// The file.
        path: String,
        /// Where the damage starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// The file was written by a newer flowc.
    #[error("the run journal `{path}` has format version {found}, written by flowc {writer}; this flowc {ours} reads up to version {supported}")]
    #[diagnostic(code(E0503), help("resume the run with flowc {writer} or newer"))]
    NewerVersion {
        /// The file.
        path: String,
        /// Its format version.
        found: u32,
        /// The newest version this flowc reads.
        supported: u32,
        /// The flowc version that wrote it.
        writer: String,
        /// This flowc's version.
        ours: &'static str,
    },

    /// A length prefix above [`MAX_RECORD`].
    #[error("the run journal `{path}` has a record of {length} bytes at byte {offset}, above the limit of {limit} bytes")]
    #[diagnostic(
        code(E0504),
        help("the length prefix is damaged; the file was left as it is")
    )]
    RecordTooLarge {
        /// The file.
        path: String,
        /// Where the record starts.
        offset: u64,
        /// Its claimed length.
        length: u64,
        /// [`MAX_RECORD`].
        limit: u32,
    },

    /// Reading or writing failed.
    #[error("cannot {action} `{path}`: {reason}")]
    #[diagnostic(
        code(E0505),
        help("check that the state directory exists and is writable (`--state-dir`, `FLOWC_STATE_DIR`)")
    )]
    Io {
        /// What was being done (`read`, `write`, ...).
        action: &'static str,
        /// The file.
        path: String,
        /// What the operating system said.
        reason: String,
    },
}

/// Something [`load`] recovered from.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SnapshotWarning {
    /// The last record was cut short (or damaged) by a crash in the middle of an append:
    /// it was never acknowledged, so dropping it loses nothing that was reported.
    #[error("the run journal `{path}` ends in an incomplete record at byte {offset} ({bytes} bytes); it was dropped")]
    #[diagnostic(
        code(W0010),
        severity(Warning),
        help("this happens when flowc is killed while writing; the step it describes runs again")
    )]
    TornTail {
        /// The file.
        path: String,
        /// Where the torn record starts.
        offset: u64,
        /// How many bytes were dropped.
        bytes: u64,
    },
}

/// A decoded file: its records, what was recovered from, and where the valid part ends.
#[derive(Debug)]
pub struct Loaded<T> {
    /// The complete records, in order.
    pub records: Vec<T>,
    /// A torn tail, if there was one.
    pub warnings: Vec<SnapshotWarning>,
    /// The flowc version in the header.
    pub writer: String,
    /// Bytes of header and complete records: the length to truncate to before appending.
    pub valid_len: u64,
}

/// The file header this flowc writes.
pub fn header() -> Vec<u8> {
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    let mut out = Vec::with_capacity(MAGIC.len() + 10 + version.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    // The version string is short; a longer one is cut rather than refused.
    let len = version.len().min(255);
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(&version[..len]);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// One record, framed: length, CRC32C, bincode payload.
pub fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>, SnapshotError> {
    let payload =
        bincode::serde::encode_to_vec(record, bincode::config::standard()).map_err(|e| {
            SnapshotError::Io {
                action: "encode a record for",
                path: "the journal".to_string(),
                reason: e.to_string(),
            }
        })?;
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&l| l <= MAX_RECORD)
        .ok_or_else(|| SnapshotError::Io {
            action: "encode a record for",
            path: "the journal".to_string(),
            reason: format!("the record is {} bytes, above the limit", payload.len()),
        })?;
    let mut out = Vec::with_capacity(FRAME_HEAD + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&len.to_le_bytes()).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    let config = bincode::config::standard().with_limit::<{ MAX_RECORD as usize }>();
    match bincode::serde::decode_from_slice::<T, _>(payload, config) {
        Ok((value, used)) if used == payload.len() => Ok(value),
        Ok((_, used)) => Err(format!(
            "the record has {} bytes after its end",
            payload.len() - used
        )),
        Err(e) => Err(format!("the record does not decode: {e}")),
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Decodes a whole file's bytes. `path` only names the file in messages.
pub fn decode<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<Loaded<T>, SnapshotError> {
    decode_at_most(path, bytes, usize::MAX)
}

/// Decodes the header and at most `max` records (the rest of the file is not looked at).
fn decode_at_most<T: DeserializeOwned>(
    path: &str,
    bytes: &[u8],
    max: usize,
) -> Result<Loaded<T>, SnapshotError> {
    let corrupt = |offset: usize, reason: String| SnapshotError::Corrupt {
        path: path.to_string(),
        offset: offset as u64,
        reason,
    };
    // The header: magic, version, writer, checksum.
    if bytes.is_empty() {
        return Err(corrupt(0, "the file is empty".to_string()));
    }
    let magic_seen = &bytes[..bytes.len().min(MAGIC.len())];
    if magic_seen != &MAGIC[..magic_seen.len()] {
        return Err(SnapshotError::NotAJournal {
            path: path.to_string(),
        });
    }
    let short = || corrupt(bytes.len(), "the header is incomplete".to_string());
    // The version comes before anything else is trusted: a newer format may lay out the
    // rest of its header differently.
    let version = u32_at(bytes, 8).ok_or_else(short)?;
    if version > FORMAT_VERSION {
        let writer = bytes
            .get(12..14)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
            .and_then(|n| bytes.get(14..14 + n))
            .map_or_else(
                || "unknown".to_string(),
                |w| String::from_utf8_lossy(w).into_owned(),
            );
        return Err(SnapshotError::NewerVersion {
            path: path.to_string(),
            found: version,
            supported: FORMAT_VERSION,
            writer,
            ours: env!("CARGO_PKG_VERSION"),
        });
    }
    let wlen = bytes
        .get(12..14)
        .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        .ok_or_else(short)?;
    let writer_end = 14 + wlen;
    let writer = bytes.get(14..writer_end).ok_or_else(short)?;
    let writer = String::from_utf8_lossy(writer).into_owned();
    let crc = u32_at(bytes, writer_end).ok_or_else(short)?;
    if crc32c::crc32c(&bytes[..writer_end]) != crc {
        return Err(corrupt(
            0,
            "the header's checksum does not match".to_string(),
        ));
    }
    if version == 0 {
        return Err(corrupt(8, "format version 0 does not exist".to_string()));
    }
    let mut at = writer_end + 4;
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    while at < bytes.len() && records.len() < max {
        let torn = |warnings: &mut Vec<SnapshotWarning>| {
            warnings.push(SnapshotWarning::TornTail {
                path: path.to_string(),
                offset: at as u64,
                bytes: (bytes.len() - at) as u64,
            });
        };
        let (Some(len), Some(len_sum), Some(sum)) = (
            u32_at(bytes, at),
            u32_at(bytes, at + 4),
            u32_at(bytes, at + 8),
        ) else {
            torn(&mut warnings);
            break;
        };
        if crc32c::crc32c(&len.to_le_bytes()) != len_sum {
            return Err(corrupt(
                at,
                "a record's length fails its checksum".to_string(),
            ));
        }
        if len > MAX_RECORD {
            return Err(SnapshotError::RecordTooLarge {
                path: path.to_string(),
                offset: at as u64,
                length: u64::from(len),
                limit: MAX_RECORD,
            });
        }
        let start = at + FRAME_HEAD;
        let end = start + len as usize;
        let Some(payload) = bytes.get(start..end) else {
            torn(&mut warnings);
            break;
        };
        let last = end == bytes.len();
        if crc32c::crc32c(payload) != sum {
            // A power loss can persist the file's new length before its data: a bad last
            // record is a torn append. Anywhere else it is damage.
            if last {
                torn(&mut warnings);
                break;
            }
            return Err(corrupt(
                at,
                "a record's checksum does not match".to_string(),
            ));
        }
        match decode_payload(payload) {
            Ok(record) => records.push(record),
            Err(reason) => return Err(corrupt(at, reason)),
        }
        at = end;
    }
    let valid_len = match warnings.first() {
        Some(SnapshotWarning::TornTail { offset, .. }) => *offset,
        None => bytes.len() as u64,
    };
    Ok(Loaded {
        records,
        warnings,
        writer,
        valid_len,
    })
}

/// Reads a journal or snapshot file and decodes only its first record (`None` if it has
/// none). Never modifies it.
pub fn load_first<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, SnapshotError> {
    let bytes = read_journal(path).map_err(|e| SnapshotError::Io {
        action: "read",
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let loaded = decode_at_most(&path.display().to_string(), &bytes, 1)?;
    Ok(loaded.records.into_iter().next())
}

/// Reads and decodes a journal or snapshot file. Never modifies it.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<Loaded<T>, SnapshotError> {
    let shown = path.display().to_string();
    // The length is checked frame by frame, so a huge file is only ever read, never
    // trusted to size an allocation.
    let bytes = read_journal(path).map_err(|e| SnapshotError::Io {
        action: "read",
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    decode(&shown, &bytes)
}

/// The bytes of a journal or snapshot file, at most [`crate::limits::MAX_JOURNAL_LEN`].
fn read_journal(path: &Path) -> std::io::Result<Vec<u8>> {
    crate::limits::read_file(path, crate::limits::MAX_JOURNAL_LEN, "a journal")
}

/// A test-only switch (`FLOWC_FAULT`) that aborts the process at a chosen point of a file
/// write, so that tests can check what a crash there leaves behind. Never set it outside
/// tests.
fn fault(point: &str) {
    static FAULT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if FAULT
        .get_or_init(|| std::env::var("FLOWC_FAULT").ok())
        .as_deref()
        == Some(point)
    {
        std::process::abort();
    }
}

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl Fn(std::io::Error) -> SnapshotError + 'a {
    move |e| SnapshotError::Io {
        action,
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// fsyncs a directory, so that a rename or a new file in it survives a power loss.
pub fn sync_dir(dir: &Path) -> Result<(), SnapshotError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync", dir))
}

/// Replaces `path` with a header and these records, crash-safely: the new content goes to
/// a temporary file beside it, which is fsynced, renamed over `path`, and the directory is
/// fsynced. A crash at any point leaves either the old file or the new one.
pub fn write_atomic<T: Serialize>(path: &Path, records: &[T]) -> Result<(), SnapshotError> {
    write_replacing(path, records, true)
}

/// Writes a new file the way [`write_atomic`] does (temporary file, then rename, so that a
/// killed process leaves no half-written file), but without waiting for the disk: the
/// caller makes it durable later ([`Appender::sync_all`] and [`sync_dir`]) before anything
/// that depends on it is reported. A new run's journal is written this way, so that its
/// first step need not wait for three fsyncs.
pub fn write_unsynced<T: Serialize>(path: &Path, records: &[T]) -> Result<(), SnapshotError> {
    write_replacing(path, records, false)
}

fn write_replacing<T: Serialize>(
    path: &Path,
    records: &[T],
    sync: bool,
) -> Result<(), SnapshotError> {
    let mut bytes = header();
    for r in records {
        bytes.extend_from_slice(&encode(r)?);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    // Private: a journal holds the run's inputs, secrets included.
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?
    };
    file.write_all(&bytes).map_err(io_err("write", &tmp))?;
    if !sync {
        drop(file);
        return std::fs::rename(&tmp, path).map_err(io_err("rename", path));
    }
    fault("after-temp-write");
    file.sync_all().map_err(io_err("sync", &tmp))?;
    drop(file);
    fault("after-fsync");
    std::fs::rename(&tmp, path).map_err(io_err("rename", path))?;
    fault("after-rename");
    sync_dir(&dir)
}

/// Creates a directory and any missing parents, each readable by its owner only (`0700`):
/// runs and logs hold what steps print, and a journal the run's inputs. An existing
/// leaf directory is made private too; existing parents are left as they are.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// Opens a file for reading and writing, creating it readable by its owner only (`0600`)
/// if it is missing and keeping what it holds if not: the lock and request files of a run
/// and of a concurrency group.
pub fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Appends framed records to a journal whose valid part ends at a known length.
#[derive(Debug)]
pub struct Appender {
    file: std::fs::File,
    path: PathBuf,
}

impl Appender {
    /// Opens `path` for appending, first cutting off a torn tail beyond `valid_len` (the
    /// bytes of a record that was never acknowledged).
    pub fn open(path: &Path, valid_len: u64) -> Result<Appender, SnapshotError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err("open", path))?;
        let len = file.metadata().map_err(io_err("read", path))?.len();
        if len > valid_len {
            file.set_len(valid_len).map_err(io_err("truncate", path))?;
            file.sync_all().map_err(io_err("sync", path))?;
        }
        drop(file);
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_err("open", path))?;
        Ok(Appender {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Makes the whole file durable (fsync), metadata included.
    pub fn sync_all(&mut self) -> Result<(), SnapshotError> {
        self.file.sync_all().map_err(io_err("sync", &self.path))
    }

    /// Appends already framed bytes (one or more [`encode`]d records) and makes them
    /// durable (fdatasync) before returning.
    pub fn append(&mut self, framed: &[u8]) -> Result<(), SnapshotError> {
        self.append_then(framed, true)
    }

    /// Appends framed records, and waits for the disk only if `sync`: records nobody
    /// waits for can share the next append's fsync (appends reach the file in order).
    pub fn append_then(&mut self, framed: &[u8], sync: bool) -> Result<(), SnapshotError> {
        let path = self.path.clone();
        if framed.len() > 1 && std::env::var_os("FLOWC_FAULT").is_some() {
            let (a, b) = framed.split_at(framed.len() / 2);
            self.file.write_all(a).map_err(io_err("write", &path))?;
            let _ = self.file.sync_data();
            fault("mid-append");
            self.file.write_all(b).map_err(io_err("write", &path))?;
        } else {
            self.file
                .write_all(framed)
                .map_err(io_err("write", &path))?;
        }
        if !sync {
            return Ok(());
        }
        self.file.sync_data().map_err(io_err("sync", &path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(records: &[String]) -> Vec<u8> {
        let mut b = header();
        for r in records {
            b.extend_from_slice(&encode(r).expect("encodes"));
        }
        b
    }

    #[test]
    fn round_trips() {
        let recs = vec!["a".to_string(), "bc".to_string()];
        let loaded: Loaded<String> = decode("j", &file(&recs)).expect("decodes");
        assert_eq!(loaded.records, recs);
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn a_huge_length_is_refused_at_once() {
        let mut b = header();
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        b.extend_from_slice(&crc32c::crc32c(&u32::MAX.to_le_bytes()).to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        let err = decode::<String>("j", &b).expect_err("refused");
        assert!(matches!(err, SnapshotError::RecordTooLarge { .. }), "{err}");
    }

    #[test]
    fn a_newer_version_names_both() {
        let mut b = header();
        b[8] = 9;
        let err = decode::<String>("j", &b).expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("version 9") && text.contains(&format!("up to version {FORMAT_VERSION}")),
            "{text}"
        );
    }
}
