//! Bounded reads: the files and the standard input flowc reads, read so that a hostile or
//! mistaken path (`/dev/zero`, a disk image, a FIFO nobody writes to) ends with an error
//! instead of filling memory or blocking for ever.
//!
//! [`read_file`] takes at most a limit's worth of bytes and opens without blocking: a FIFO
//! with no writer reads as empty, one with a writer (`flowc check <(generate)`) is read
//! as usual. Too much input is an `io::Error` of kind `FileTooLarge` whose message names
//! the limit, which each caller turns into its coded error (E0010 for a `.flow` file,
//! E0433 for a vars file, E0505 for a journal).

use std::io::{self, Read};
use std::path::Path;

/// The largest `.flow` file (and standard input given as one) flowc reads: far beyond any
/// real workflow (a 100,000-step file is about 5 MiB), small enough to refuse a wrong path.
pub const MAX_SOURCE_LEN: u64 = 16 * 1024 * 1024;

/// The largest vars file (`--vars-file`) flowc reads.
pub const MAX_VARS_FILE_LEN: u64 = 16 * 1024 * 1024;

/// The largest journal or snapshot flowc reads: a run of 100,000 steps writes some tens
/// of MiB.
pub const MAX_JOURNAL_LEN: u64 = 1024 * 1024 * 1024;

/// The bytes of the file at `path`, at most `limit` of them; `what` names the kind of file
/// in the error (`a .flow file`). Opened with `O_NONBLOCK`, so that opening a FIFO never
/// waits for a writer; the flag is cleared once open, so a FIFO with a writer is read to
/// its end.
pub fn read_file(path: &Path, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let mut flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    flags.remove(OFlag::O_NONBLOCK);
    fcntl(fd, FcntlArg::F_SETFL(flags))?;
    // A regular file's size (capped at the limit) is known: read it into a buffer of that
    // size, not one that grows from 32 bytes by reallocating and copying as it fills.
    let size = file.metadata().map_or(0, |m| m.len().min(limit));
    read_at_most(file, limit, what, size as usize)
}

/// Standard input, at most `limit` bytes of it; `what` as for [`read_file`].
pub fn read_stdin(limit: u64, what: &str) -> io::Result<Vec<u8>> {
    read_at_most(io::stdin().lock(), limit, what, 0)
}

/// Reads `input` to its end, failing once it has given more than `limit` bytes; `size` is
/// how many bytes are expected (0 if unknown).
fn read_at_most(input: impl Read, limit: u64, what: &str, size: usize) -> io::Result<Vec<u8>> {
    // One byte more than expected, so that the read that finds the end needs no growth.
    let mut bytes = Vec::with_capacity(size.saturating_add(1));
    input
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit, what));
    }
    Ok(bytes)
}

/// The error for input over `limit` bytes.
pub fn too_large(limit: u64, what: &str) -> io::Error {
    let size = if limit >= 1024 * 1024 {
        format!("{} MiB", limit >> 20)
    } else {
        format!("{limit} bytes")
    };
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("it is larger than {size}, the limit for {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_that_never_ends_is_cut_at_the_limit() {
        let e = read_file(Path::new("/dev/zero"), 1024, "a test").expect_err("too large");
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("1024 bytes"), "{e}");
    }

    #[test]
    fn a_fifo_without_a_writer_reads_as_empty() {
        let dir = tempfile::tempdir().expect("dir");
        let fifo = dir.path().join("f");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        assert_eq!(read_file(&fifo, 1024, "a test").expect("empty"), b"");
    }
}
