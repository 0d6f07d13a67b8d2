//! Source files and positions: byte-offset spans, the files of one compilation, and
//! line/column lookup for renderers; and the rules every `.flow` file is read by, the root
//! file and its imports alike ([`read_source`]): a regular file of at most
//! [`MAX_SOURCE_LEN`] bytes, UTF-8 text without NUL bytes.

use std::io::Read;
use std::path::{Path, PathBuf};

/// A half-open byte range `[start, end)` in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span that covers both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// True when the span covers no bytes.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> miette::SourceSpan {
        miette::SourceSpan::new((span.start as usize).into(), span.len())
    }
}

/// A span that knows its file: what the resolved program carries, so that a step inlined
/// from an imported module, or a constant read from one, still points into that module.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileSpan {
    /// The file.
    pub source: SourceId,
    /// The range in it.
    pub span: Span,
}

impl FileSpan {
    /// `span` in `source`.
    pub fn new(source: SourceId, span: Span) -> FileSpan {
        FileSpan { source, span }
    }
}

/// A value with the span of the source text it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Attaches a span to a value.
    pub fn new(node: T, span: Span) -> Spanned<T> {
        Spanned { node, span }
    }
}

/// Identifies one file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u32);

/// One source file: its display name, where it lives (if anywhere) and its text.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics, as the user wrote it (`examples/deploy.flow`).
    pub name: String,
    /// The file's location, used to resolve relative imports; `None` for stdin.
    pub path: Option<PathBuf>,
    /// The text.
    pub text: String,
    line_starts: Vec<u32>,
}

impl SourceFile {
    /// Wraps a file's name, path and text.
    pub fn new(name: impl Into<String>, path: Option<PathBuf>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i as u32 + 1));
        SourceFile {
            name: name.into(),
            path,
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let offset = offset.min(self.text.len() as u32);
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let end = (offset as usize).max(start);
        let col = self
            .text
            .get(start..end)
            .map_or(end - start, |s| s.chars().count());
        (line + 1, col + 1)
    }
}

/// All files of one compilation: the root file and every module it imports.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, file: SourceFile) -> SourceId {
        self.files.push(file);
        SourceId(self.files.len() as u32 - 1)
    }

    /// The file with this id.
    pub fn get(&self, id: SourceId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// Finds a file by its path.
    pub fn find_path(&self, path: &std::path::Path) -> Option<SourceId> {
        self.files
            .iter()
            .position(|f| f.path.as_deref() == Some(path))
            .map(|i| SourceId(i as u32))
    }
}

/// The largest `.flow` file flowc reads: far beyond any real workflow, small enough that a
/// wrong path (a disk image, `/dev/zero`) is refused before it fills memory.
pub const MAX_SOURCE_LEN: u64 = 16 * 1024 * 1024;

/// A file that cannot be used as flowc input.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum InputError {
    /// Bytes that are not UTF-8 text.
    #[error("`{file}` is not UTF-8 text: {reason}")]
    #[diagnostic(
        code(E0008),
        help("flowc reads .flow files as UTF-8 text; check that this is the file you meant")
    )]
    NotText {
        /// The file.
        file: String,
        /// What was found.
        reason: String,
        /// The import that named the file, when it is a module (none for the root file).
        #[label("imported here")]
        span: Option<miette::SourceSpan>,
    },

    /// A path that cannot be read.
    #[error("cannot read `{file}`: {reason}")]
    #[diagnostic(code(E0010))]
    Unreadable {
        /// The file.
        file: String,
        /// The operating system's reason.
        reason: String,
        /// Advice.
        #[help]
        help: Option<String>,
        /// The import that named the file, when it is a module (none for the root file).
        #[label("imported here")]
        span: Option<miette::SourceSpan>,
    },
}

impl InputError {
    /// The same error, pointing at the import that named the file.
    pub fn at(self, at: Span) -> InputError {
        match self {
            InputError::NotText { file, reason, .. } => InputError::NotText {
                file,
                reason,
                span: Some(at.into()),
            },
            InputError::Unreadable {
                file, reason, help, ..
            } => InputError::Unreadable {
                file,
                reason,
                help,
                span: Some(at.into()),
            },
        }
    }
}

/// Reads one `.flow` file from a path. On failure, gives the name to show for it and why.
///
/// The file may have at most [`MAX_SOURCE_LEN`] bytes, and its text must be UTF-8 without
/// NUL bytes ([`source_from_bytes`]). Nothing of a refused file's content is returned.
pub fn read_source(arg: &Path) -> Result<SourceFile, (String, InputError)> {
    let name = arg.display().to_string();
    let unreadable = |reason: String, help: Option<String>| {
        (
            name.clone(),
            InputError::Unreadable {
                file: name.clone(),
                reason,
                help,
                span: None,
            },
        )
    };
    if arg.is_dir() {
        return Err(unreadable(
            "it is a directory".to_string(),
            Some(format!(
                "pass the files in it: `flowc check {}/*.flow`",
                name.trim_end_matches('/')
            )),
        ));
    }
    let bytes = read_bounded(arg, false).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        };
        let help = (e.kind() == std::io::ErrorKind::NotFound)
            .then(|| "check the path; it is relative to the current directory".to_string());
        unreadable(reason, help)
    })?;
    source_from_bytes(name, Some(arg.to_path_buf()), bytes)
}

/// The text of an imported module, already known to be a regular `.flow` file: read by
/// the rules of [`read_source`], refusing anything but a regular file once open too (the
/// path may have been swapped for a FIFO since it was looked at).
pub fn read_import(path: &Path) -> Result<String, InputError> {
    let name = path.display().to_string();
    let bytes = read_bounded(path, true).map_err(|e| InputError::Unreadable {
        file: name.clone(),
        reason: match e.kind() {
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        },
        help: None,
        span: None,
    })?;
    source_from_bytes(name, Some(path.to_path_buf()), bytes)
        .map(|file| file.text)
        .map_err(|(_, e)| e)
}

/// The bytes of a file of at most [`MAX_SOURCE_LEN`] bytes. With `regular_only` (imports),
/// anything but a regular file is refused, and the file is opened with `O_NONBLOCK` so
/// that a FIFO or a device is refused instead of blocking the open. The root file may be
/// a pipe (`flowc check <(generate)`).
pub fn read_bounded(path: &Path, regular_only: bool) -> std::io::Result<Vec<u8>> {
    if !regular_only {
        // Opened without blocking, so a FIFO nobody writes to reads as empty, not forever.
        return crate::limits::read_file(path, MAX_SOURCE_LEN, "a .flow file");
    }
    use std::os::unix::fs::OpenOptionsExt;
    let flags = libc::O_NONBLOCK;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    let meta = file.metadata()?;
    if regular_only && !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "it is {}, not a regular file",
            file_kind(&meta)
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SOURCE_LEN + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SOURCE_LEN {
        return Err(std::io::Error::other(format!(
            "it is larger than {} MiB, the limit for a .flow file",
            MAX_SOURCE_LEN >> 20
        )));
    }
    Ok(bytes)
}

/// What kind of file `meta` describes, in words ("a directory", "a FIFO").
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// A source file from bytes read from `path` (`None` for standard input, which the
/// caller reads), shown as `name`: refused when binary (a NUL byte) or not UTF-8.
pub fn source_from_bytes(
    name: String,
    path: Option<PathBuf>,
    bytes: Vec<u8>,
) -> Result<SourceFile, (String, InputError)> {
    let display = if path.is_some() {
        name
    } else {
        "<stdin>".to_string()
    };
    if let Some(pos) = memchr::memchr(0, &bytes) {
        return Err((
            display.clone(),
            InputError::NotText {
                file: display,
                reason: format!("it contains a NUL byte at offset {pos}, so it looks binary"),
                span: None,
            },
        ));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(display, path, text)),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            Err((
                display.clone(),
                InputError::NotText {
                    file: display,
                    reason: format!("invalid UTF-8 at byte offset {offset}"),
                    span: None,
                },
            ))
        }
    }
}
