//! Secret redaction of everything flowc prints or writes.
//!
//! Takes the values of a run's secrets. Gives a [`Redactor`] that replaces them with
//! [`REDACTED`] in whole strings (messages, events: [`Redactor::redact`]), and for output
//! that arrives in pieces (a step's stdout and stderr, a log file) a [`StreamRedactor`]
//! that is fed chunks split anywhere, and a [`RedactingWriter`] that wraps any
//! [`std::io::Write`] with one. Streaming gives exactly the bytes that redacting the whole
//! output at once would, however the output is split.
//!
//! **What is redacted.** For each secret, the forms in which a step or a log can show it:
//!
//! - the value itself, and the value with surrounding whitespace trimmed (a secret read
//!   from a file often ends in a newline that the program printing it leaves out);
//! - its JSON-escaped form (`serde_json` string escaping without the quotes), so a secret
//!   with quotes, backslashes or newlines is still caught inside JSON;
//! - for a multi-line secret (a private key, a config file), each of its lines, trimmed,
//!   of at least [`MIN_LINE_LEN`] bytes, and their JSON forms: a program printing the
//!   secret line by line, with other line endings or another indentation, is still caught.
//!
//! **Overlaps.** Every occurrence of every form is found, overlapping ones included, and
//! each maximal run of overlapping occurrences becomes one [`REDACTED`]. Matching
//! leftmost-longest, one occurrence at a time, would hide the longer of two secrets that
//! share a prefix, but leak the end of a secret that overlaps the end of another (`abcd`
//! and `cdef` in `abcdef` would leave `ef`); the union leaves nothing.
//!
//! **Short secrets.** Any non-empty secret is redacted, even one byte long. A one-letter
//! secret mangles the output (every `a` becomes `***`), but that is visible and points at
//! the weak secret, while a length threshold would print the value silently, and the
//! promise is that a secret never reaches a log. Only the line fragments of multi-line
//! secrets have a minimum length: they are guesses at how the secret may be shown, and a
//! line such as `}` or `--` would redact far too much. Empty secrets are ignored.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};

/// What replaces each secret.
pub const REDACTED: &str = "***";

/// The shortest line of a multi-line secret that is redacted on its own.
pub const MIN_LINE_LEN: usize = 4;

/// The redaction patterns could not be compiled (only possible for secrets of enormous
/// total size).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot prepare secret redaction: {0}")]
pub struct RedactError(#[from] aho_corasick::BuildError);

/// Finds and replaces a run's secrets. Cheap to clone: the compiled patterns are shared.
///
/// Its `Debug` output shows how many patterns it has, never the patterns.
#[derive(Clone)]
pub struct Redactor {
    inner: Option<Arc<Inner>>,
}

/// The compiled form; absent when there is nothing to redact.
struct Inner {
    /// The secrets themselves, for [`Redactor::with`].
    secrets: Vec<String>,
    /// Every form of every secret, in an automaton that reports overlapping matches.
    ac: AhoCorasick,
    /// The same patterns, for telling whether the end of a chunk may begin one.
    patterns: Vec<Box<[u8]>>,
    /// The longest pattern's length, in bytes.
    max_len: usize,
    /// Which bytes some pattern starts with, to skip most positions quickly.
    first_bytes: [bool; 256],
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.inner.as_ref().map_or(0, |i| i.patterns.len());
        f.debug_struct("Redactor").field("patterns", &n).finish()
    }
}

impl PartialEq for Redactor {
    /// Two redactors are equal when they redact the same patterns.
    fn eq(&self, other: &Redactor) -> bool {
        match (&self.inner, &other.inner) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a.patterns == b.patterns,
            _ => false,
        }
    }
}

impl Eq for Redactor {}

impl Default for Redactor {
    /// A redactor with no secrets: output passes through unchanged.
    fn default() -> Self {
        Redactor { inner: None }
    }
}

/// The JSON string escaping of `s`, without the quotes.
fn json_escaped(s: &str) -> Option<String> {
    let quoted = serde_json::to_string(s).ok()?;
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .map(str::to_string)
}

/// Every form of `secret` to redact (see the module documentation); may repeat.
fn forms(secret: &str, out: &mut Vec<String>) {
    let mut push = |s: &str| {
        if !s.is_empty() {
            out.push(s.to_string());
            if let Some(json) = json_escaped(s) {
                out.push(json);
            }
        }
    };
    push(secret);
    push(secret.trim());
    if secret.contains(['\n', '\r']) {
        // `split` on both characters rather than `lines`, so that a lone `\r` (old Mac
        // endings, terminal redraws) separates lines too.
        for line in secret.split(['\n', '\r']) {
            let line = line.trim();
            if line.len() >= MIN_LINE_LEN {
                push(line);
            }
        }
    }
}

impl Redactor {
    /// A redactor for these secret values. Empty values are ignored; with none left, it
    /// changes nothing.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Result<Self, RedactError> {
        let mut all = Vec::new();
        let mut kept = Vec::new();
        for secret in secrets {
            forms(&secret, &mut all);
            if !secret.is_empty() {
                kept.push(secret);
            }
        }
        kept.sort_unstable();
        kept.dedup();
        all.sort_unstable();
        all.dedup();
        if all.is_empty() {
            return Ok(Redactor::default());
        }
        // Standard match semantics: the only kind that reports overlapping matches, which
        // the union of occurrences needs.
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&all)?;
        let mut first_bytes = [false; 256];
        let mut max_len = 0;
        let patterns: Vec<Box<[u8]>> = all
            .into_iter()
            .map(|p| p.into_bytes().into_boxed_slice())
            .collect();
        for p in &patterns {
            if let Some(&b) = p.first() {
                first_bytes[usize::from(b)] = true;
            }
            max_len = max_len.max(p.len());
        }
        Ok(Redactor {
            inner: Some(Arc::new(Inner {
                secrets: kept,
                ac,
                patterns,
                max_len,
                first_bytes,
            })),
        })
    }

    /// A redactor for these secrets and `more`.
    pub fn with(&self, more: impl IntoIterator<Item = String>) -> Result<Redactor, RedactError> {
        let known = self.inner.iter().flat_map(|i| i.secrets.iter().cloned());
        Redactor::new(known.chain(more))
    }

    /// Whether `text` holds any form of any secret.
    pub fn contains_secret(&self, text: &str) -> bool {
        self.inner.as_ref().is_some_and(|i| i.ac.is_match(text))
    }

    /// The longest form of a secret, in bytes (0 without secrets).
    pub fn max_len(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.max_len)
    }

    /// True when there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// `text` with every secret replaced by [`REDACTED`]; borrowed when there is none.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(inner) = &self.inner else {
            return Cow::Borrowed(text);
        };
        if !inner.ac.is_match(text) {
            return Cow::Borrowed(text);
        }
        let mut stream = StreamRedactor::new(self);
        let mut out = Vec::with_capacity(text.len());
        stream.push(text.as_bytes(), &mut out);
        stream.finish(&mut out);
        // Patterns are UTF-8 and so is the text, so every occurrence starts and ends on a
        // character boundary and the result is UTF-8 too; the lossy path never runs.
        match String::from_utf8(out) {
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        }
    }

    /// `bytes` with every secret replaced by [`REDACTED`]; borrowed when there is none.
    /// Invalid UTF-8 passes through untouched.
    pub fn redact_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let Some(inner) = &self.inner else {
            return Cow::Borrowed(bytes);
        };
        if !inner.ac.is_match(bytes) {
            return Cow::Borrowed(bytes);
        }
        let mut stream = StreamRedactor::new(self);
        let mut out = Vec::with_capacity(bytes.len());
        stream.push(bytes, &mut out);
        stream.finish(&mut out);
        Cow::Owned(out)
    }
}

impl Inner {
    /// The first position at or after `from` where the rest of `buf` is a proper prefix
    /// of some pattern, that is where an occurrence may begin that more bytes would
    /// complete; `buf.len()` if there is none.
    fn first_partial(&self, buf: &[u8], from: usize) -> usize {
        let start = from.max(buf.len().saturating_sub(self.max_len - 1));
        (start..buf.len())
            .find(|&s| {
                let tail = &buf[s..];
                self.first_bytes[usize::from(buf[s])]
                    && self
                        .patterns
                        .iter()
                        .any(|p| p.len() > tail.len() && p.starts_with(tail))
            })
            .unwrap_or(buf.len())
    }
}

/// How much of the buffer a pass may decide.
#[derive(Clone, Copy)]
enum Horizon {
    /// Keep the last `longest pattern - 1` bytes: cheap, and enough for any occurrence.
    Conservative,
    /// Keep only a tail that really is the start of some pattern.
    Exact,
    /// The stream has ended: decide everything.
    End,
}

/// Redacts a byte stream fed in chunks split anywhere (even inside a UTF-8 character).
///
/// It holds back the end of the input that could still become a secret;
/// [`push`](Self::push) and [`flush`](Self::flush) append what is decided to `out`, and
/// [`finish`](Self::finish) appends the rest. The output is the same as
/// [`Redactor::redact_bytes`] of the whole input. After a `push` at most twice the longest
/// pattern less one byte is held (less than the pattern after a `flush`), and each byte is
/// scanned a bounded number of times however small the chunks.
pub struct StreamRedactor {
    redactor: Redactor,
    /// Input not yet decided, or decided but still needed to recognise an occurrence that
    /// overlaps what is already out.
    buf: Vec<u8>,
    /// How many leading bytes of `buf` are already accounted for in the output.
    done: usize,
    /// The output ends with a [`REDACTED`] covering `buf[..done]`'s end, which an
    /// overlapping occurrence may still extend without a second marker.
    open: bool,
    /// Occurrences of the current pass, reused between passes.
    found: Vec<(usize, usize)>,
}

impl fmt::Debug for StreamRedactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the held bytes: they may be the start of a secret.
        f.debug_struct("StreamRedactor")
            .field("redactor", &self.redactor)
            .field("held", &self.buf.len())
            .finish()
    }
}

impl StreamRedactor {
    /// A stream redactor for `redactor`'s secrets.
    pub fn new(redactor: &Redactor) -> Self {
        StreamRedactor {
            redactor: redactor.clone(),
            buf: Vec::new(),
            done: 0,
            open: false,
            found: Vec::new(),
        }
    }

    /// Feeds the next chunk; appends the output it settles to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if self.redactor.is_empty() {
            out.extend_from_slice(chunk);
            return;
        }
        self.buf.extend_from_slice(chunk);
        // A pass rescans the held tail, so one per tiny chunk would cost the tail's length
        // per byte (seconds per megabyte for a private key written byte by byte). Waiting
        // until the pass can decide at least as much as it rescans keeps the cost linear.
        let max_len = self.redactor.inner.as_ref().map_or(1, |i| i.max_len);
        if self.buf.len() >= 2 * max_len - 1 {
            self.pass(Horizon::Conservative, out);
        }
    }

    /// Appends everything held that cannot be the start of a secret, so that a prompt or
    /// a partial line is shown now. Bytes that may begin a secret stay held.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        self.pass(Horizon::Exact, out);
    }

    /// Ends the stream: appends all that is held, redacted. The redactor can then start a
    /// new stream.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.pass(Horizon::End, out);
        self.buf.clear();
        self.done = 0;
        self.open = false;
    }

    /// How many bytes are held back.
    pub fn held(&self) -> usize {
        self.buf.len() - self.done
    }

    /// Decides what it can of `buf`, appends it to `out`, and drops what later passes no
    /// longer need.
    ///
    /// The output replaces each maximal run of overlapping occurrences with one marker.
    /// Occurrences lying wholly in `buf` are all known; one that more input could complete
    /// can only begin at or after the horizon `h` (see [`Inner::first_partial`]). So a run
    /// whose first occurrence begins before `h` surely begins there (its marker can go
    /// out), and bytes before `h` outside every run are surely plain. The pass keeps
    /// `buf[h..]`, which may hold such beginnings, marking with `done` what of it is out.
    fn pass(&mut self, horizon: Horizon, out: &mut Vec<u8>) {
        let Some(inner) = self.redactor.inner.clone() else {
            return;
        };
        let len = self.buf.len();
        let h = match horizon {
            Horizon::Conservative => len.saturating_sub(inner.max_len - 1),
            Horizon::Exact => inner.first_partial(&self.buf, 0),
            Horizon::End => len,
        };

        self.found.clear();
        self.found.extend(
            inner
                .ac
                .find_overlapping_iter(self.buf.as_slice())
                .map(|m| (m.start(), m.end())),
        );
        self.found.sort_unstable();

        // `done` and `open` describe the output so far: `buf[..done]` is accounted for, and
        // if `open`, by a marker that an occurrence starting before `done` extends.
        for &(start, end) in &self.found {
            if start >= h {
                break;
            }
            if start < self.done {
                if self.open && end > self.done {
                    self.done = end;
                }
                // Otherwise the occurrence lies inside output already given, which only
                // happens inside a marker: nothing to do.
            } else {
                out.extend_from_slice(&self.buf[self.done..start]);
                out.extend_from_slice(REDACTED.as_bytes());
                self.done = end;
                self.open = true;
            }
        }
        if self.done < h {
            out.extend_from_slice(&self.buf[self.done..h]);
            self.done = h;
            self.open = false;
        }
        // Everything before `h` is decided and no later occurrence can begin there.
        self.buf.drain(..h);
        self.done -= h;
    }
}

/// A [`Write`] that redacts secrets before passing bytes on to `W`.
///
/// Write any chunks; a secret split across writes is still caught because the end of the
/// input that could begin a secret is held back (see [`StreamRedactor`]).
/// [`flush`](Write::flush) passes on all held bytes that cannot begin a secret and
/// flushes `W`; [`finish`](Self::finish) passes on everything and returns `W`. Dropping
/// the writer passes on the held bytes too, ignoring errors, as `BufWriter` does.
///
/// With no secrets, writes go straight to `W`, byte for byte.
pub struct RedactingWriter<W: Write> {
    /// `None` only once `finish` has taken it.
    inner: Option<W>,
    stream: StreamRedactor,
    /// Output of the current write, reused so that `W` sees one write per chunk.
    out: Vec<u8>,
}

impl<W: Write> fmt::Debug for RedactingWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactingWriter")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl<W: Write> RedactingWriter<W> {
    /// Wraps `inner`, redacting `redactor`'s secrets.
    pub fn new(inner: W, redactor: &Redactor) -> Self {
        RedactingWriter {
            inner: Some(inner),
            stream: StreamRedactor::new(redactor),
            out: Vec::new(),
        }
    }

    /// Passes on everything held, redacted, flushes the wrapped writer and returns it.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.clear();
        self.stream.finish(&mut self.out);
        let Some(mut inner) = self.inner.take() else {
            return Err(io::Error::other("redacting writer already finished"));
        };
        inner.write_all(&self.out)?;
        inner.flush()?;
        Ok(inner)
    }

    /// Writes `self.out` to the wrapped writer.
    fn emit(&mut self) -> io::Result<()> {
        match (&mut self.inner, self.out.is_empty()) {
            (Some(inner), false) => inner.write_all(&self.out),
            _ => Ok(()),
        }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    /// Takes all of `buf` (it is held or passed on), unless the wrapped writer fails.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stream.redactor.is_empty() {
            return match &mut self.inner {
                Some(inner) => inner.write(buf),
                None => Ok(0),
            };
        }
        self.out.clear();
        self.stream.push(buf, &mut self.out);
        self.emit()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.clear();
        self.stream.flush(&mut self.out);
        self.emit()?;
        match &mut self.inner {
            Some(inner) => inner.flush(),
            None => Ok(()),
        }
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        if self.inner.is_some() {
            self.out.clear();
            self.stream.finish(&mut self.out);
            // As `BufWriter`: a drop cannot report an error, and losing the tail silently
            // is no worse than failing to write it.
            let _ = self.emit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn redactor(secrets: &[&str]) -> Redactor {
        Redactor::new(secrets.iter().map(|s| s.to_string())).expect("builds")
    }

    fn r(secrets: &[&str], text: &str) -> String {
        redactor(secrets).redact(text).into_owned()
    }

    /// Streams `chunks` through a `RedactingWriter` into a Vec.
    fn stream(red: &Redactor, chunks: &[&[u8]]) -> Vec<u8> {
        let mut w = RedactingWriter::new(Vec::new(), red);
        for c in chunks {
            w.write_all(c).expect("writes to a Vec");
        }
        w.finish().expect("writes to a Vec")
    }

    #[test]
    fn plain_secret() {
        assert_eq!(r(&["hunter2"], "password is hunter2!"), "password is ***!");
        assert_eq!(r(&["hunter2"], "hunter2hunter2"), "******");
        assert_eq!(r(&["hunter2"], "hunter"), "hunter");
    }

    #[test]
    fn no_match_borrows() {
        let red = redactor(&["hunter2"]);
        assert!(matches!(red.redact("nothing here"), Cow::Borrowed(_)));
        assert!(matches!(red.redact_bytes(b"\xff\xfe"), Cow::Borrowed(_)));
    }

    #[test]
    fn empty_secrets_are_ignored() {
        let red = redactor(&["", ""]);
        assert!(red.is_empty());
        assert!(matches!(red.redact("text"), Cow::Borrowed("text")));
        assert!(Redactor::new(Vec::new()).expect("builds").is_empty());
    }

    #[test]
    fn short_secrets_are_redacted_too() {
        assert_eq!(r(&["x"], "a x b xx"), "a *** b ******");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let red = redactor(&["hunter2"]);
        let text = format!("{red:?}");
        assert!(!text.contains("hunter2"), "{text}");
        let mut s = StreamRedactor::new(&red);
        let mut out = Vec::new();
        s.push(b"xx hunt", &mut out);
        let text = format!("{s:?}");
        assert!(!text.contains("hunt"), "{text}");
        let w = RedactingWriter::new(Vec::new(), &red);
        assert!(!format!("{w:?}").contains("hunter2"));
    }

    #[test]
    fn prefix_secrets_take_the_longest() {
        let secrets = ["abc", "abcdef"];
        assert_eq!(r(&secrets, "xabcdefx"), "x***x");
        assert_eq!(r(&secrets, "xabcdex"), "x***dex");
        assert_eq!(r(&secrets, "abcabcdef"), "******");
    }

    #[test]
    fn overlapping_secrets_leave_nothing_visible() {
        // Leftmost-longest alone would give `***ef` and leak half of `cdef`.
        assert_eq!(r(&["abcd", "cdef"], "[abcdef]"), "[***]");
        // A chain of overlaps is one run.
        assert_eq!(r(&["abcd", "cdef", "efgh"], "abcdefgh!"), "***!");
        // A secret inside another.
        assert_eq!(r(&["bc", "abcd"], "abcd bc"), "*** ***");
        // Touching is not overlapping: two markers.
        assert_eq!(r(&["ab", "cd"], "abcd"), "******");
    }

    #[test]
    fn json_escaped_forms() {
        let secret = "p\"a\\ss\nw\tord";
        let json = serde_json::json!({ "token": secret }).to_string();
        assert_eq!(
            json, r#"{"token":"p\"a\\ss\nw\tord"}"#,
            "the form the test expects"
        );
        assert_eq!(r(&[secret], &json), r#"{"token":"***"}"#);
        // Control characters escaped as \u00XX.
        let secret = "a\u{1}b\u{7f}c";
        let json = serde_json::to_string(&secret).expect("serializes");
        assert_eq!(r(&[secret], &json), "\"***\"");
        // Non-ASCII is not escaped by serde_json, and matches as is.
        assert_eq!(r(&["pässwörd"], r#"{"p":"pässwörd"}"#), r#"{"p":"***"}"#);
    }

    #[test]
    fn multi_line_secret_printed_line_by_line() {
        let key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END KEY-----\n";
        // Printed whole.
        assert_eq!(r(&[key], &format!("key:\n{key}done")), "key:\n***done");
        // Printed line by line with other line endings and indentation.
        let crlf = key.replace('\n', "\r\n    ");
        assert_eq!(
            r(&[key], &format!("    {crlf}")),
            "    ***\r\n    ***\r\n    ***\r\n    ***\r\n    "
        );
        // One line of it alone.
        assert_eq!(r(&[key], "got hkiG9w0BAQEFAASC!"), "got ***!");
        // Inside JSON, with its newlines escaped.
        let json = serde_json::to_string(&key).expect("serializes");
        assert_eq!(r(&[key], &json), "\"***\"");
    }

    #[test]
    fn short_lines_of_multi_line_secrets_are_not_redacted_alone() {
        let secret = "{\n  \"user\": \"bob\",\n  \"token\": \"zzz-1234\"\n}";
        assert_eq!(r(&[secret], "{ ok }"), "{ ok }");
        assert_eq!(r(&[secret], "bob"), "bob");
        assert_eq!(r(&[secret], "t: \"token\": \"zzz-1234\""), "t: ***");
    }

    #[test]
    fn trailing_newline_of_a_secret_is_not_required() {
        assert_eq!(r(&["abc\n"], "value abc."), "value ***.");
    }

    #[test]
    fn utf8_is_kept_whole() {
        assert_eq!(r(&["ü"], "Müll ü"), "M***ll ***");
        assert_eq!(r(&["日本"], "日本語 日本"), "***語 ***");
    }

    /// Streams `text` split at every pair of positions, and compares with whole redaction.
    fn check_all_splits(secrets: &[&str], text: &[u8]) {
        let red = redactor(secrets);
        let whole = red.redact_bytes(text).into_owned();
        for i in 0..=text.len() {
            assert_eq!(
                stream(&red, &[&text[..i], &text[i..]]),
                whole,
                "split at {i}"
            );
            for j in i..=text.len() {
                let got = stream(&red, &[&text[..i], &text[i..j], &text[j..]]);
                assert_eq!(got, whole, "split at {i} and {j}");
            }
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(stream(&red, &bytes), whole, "byte by byte");
    }

    #[test]
    fn streaming_equals_whole_at_every_split() {
        check_all_splits(&["hunter2"], b"user=bob password=hunter2 again hunter2");
        check_all_splits(&["abc", "abcdef"], b"abcabcdeabcdefabcdx");
        check_all_splits(&["abcd", "cdef", "efgh"], b"ab abcdefgh cdefgh abcdcd");
        check_all_splits(&["aaa"], b"aaaaaaa b aa aaa");
        check_all_splits(&["s\"q\n"], b"{\"x\":\"s\\\"q\\n\"} s\"q\n");
        check_all_splits(&["pässwörd"], "a pässwörd, pässw".as_bytes());
        let key = "line-one-1\nline-two-2\n";
        check_all_splits(
            &[key],
            b"  line-one-1\r\n  line-two-2\r\nline-one-1\nline-two-2\n",
        );
        check_all_splits(&["x"], b"xax\xffx");
    }

    #[test]
    fn a_run_longer_than_the_hold_stays_one_marker() {
        // Overlapping occurrences over many writes: one marker, emitted once, and the
        // writer holds no more than it must.
        let red = redactor(&["aaaa"]);
        let mut s = StreamRedactor::new(&red);
        let mut out = Vec::new();
        for _ in 0..1000 {
            s.push(b"a", &mut out);
            assert!(s.held() <= 6);
        }
        s.push(b"b", &mut out);
        assert_eq!(out, b"***");
        s.finish(&mut out);
        assert_eq!(out, b"***b");
    }

    #[test]
    fn no_secrets_pass_bytes_through() {
        let red = Redactor::default();
        let text = b"plain \xff\xfe invalid \xc3 utf-8 \x00 end";
        assert_eq!(stream(&red, &[&text[..8], &text[8..9], &text[9..]]), text);
        // Also with secrets that do not occur.
        let red = redactor(&["hunter2"]);
        for i in 0..=text.len() {
            assert_eq!(stream(&red, &[&text[..i], &text[i..]]), text);
        }
    }

    #[test]
    fn invalid_utf8_around_a_secret() {
        let red = redactor(&["hunter2"]);
        let text = b"\xff\xc3hunter2\xc3";
        assert_eq!(red.redact_bytes(text).as_ref(), b"\xff\xc3***\xc3");
        check_all_splits(&["hunter2"], text);
    }

    /// A writer whose output can be read while it is wrapped, and which counts flushes.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<(Vec<u8>, usize)>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.0.borrow_mut().1 += 1;
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> Vec<u8> {
            self.0.borrow().0.clone()
        }
        fn flushes(&self) -> usize {
            self.0.borrow().1
        }
    }

    #[test]
    fn flush_releases_what_cannot_begin_a_secret() {
        let red = redactor(&["hunter2"]);
        let sink = Shared::default();
        let mut w = RedactingWriter::new(sink.clone(), &red);
        w.write_all(b"Password: ").expect("writes");
        w.flush().expect("flushes");
        assert_eq!(sink.text(), b"Password: ");
        assert_eq!(sink.flushes(), 1);
        // A possible start of the secret is held even across a flush...
        w.write_all(b"hun").expect("writes");
        w.flush().expect("flushes");
        assert_eq!(sink.text(), b"Password: ");
        // ...so the secret is caught when the rest comes.
        w.write_all(b"ter2\n").expect("writes");
        w.finish().expect("finishes");
        assert_eq!(sink.text(), b"Password: ***\n");
        assert_eq!(sink.flushes(), 3);
    }

    #[test]
    fn writes_are_held_only_as_much_as_needed() {
        // Holding during writes: 2 * 7 - 2 bytes at most, so a pass of 13 bytes keeps 6.
        let red = redactor(&["hunter2"]);
        let sink = Shared::default();
        let mut w = RedactingWriter::new(sink.clone(), &red);
        w.write_all(b"0123456789").expect("writes");
        assert_eq!(sink.text(), b"");
        w.write_all(b"abc").expect("writes");
        assert_eq!(sink.text(), b"0123456");
        drop(w);
        assert_eq!(sink.text(), b"0123456789abc");
    }

    #[test]
    fn finish_and_drop_emit_the_held_tail() {
        let red = redactor(&["hunter2"]);
        let mut w = RedactingWriter::new(Vec::new(), &red);
        w.write_all(b"ends with hunt").expect("writes");
        assert_eq!(w.finish().expect("finishes"), b"ends with hunt");

        let mut sink = Vec::new();
        {
            let mut w = RedactingWriter::new(&mut sink, &red);
            w.write_all(b"dropped hunter").expect("writes");
        }
        assert_eq!(sink, b"dropped hunter");

        // A complete shorter secret held for a possible longer one is redacted at the end.
        let red = redactor(&["abc", "abcdef"]);
        assert_eq!(stream(&red, &[b"xabc"]), b"x***");
    }

    #[test]
    fn more_secrets_can_be_added_and_asked_about() {
        let red = redactor(&["hunter2"]);
        assert!(red.contains_secret("a hunter2 b"));
        assert!(!red.contains_secret("a session b"));
        let more = red.with(["session-x".to_string()]).expect("builds");
        assert_eq!(more.redact("hunter2 session-x"), "*** ***");
        assert!(more.max_len() >= "session-x".len());
        assert_eq!(Redactor::default().max_len(), 0);
        assert_eq!(more, red.with(["session-x".to_string()]).expect("builds"));
        assert_ne!(more, red);
    }

    #[test]
    fn stream_redactor_is_reusable_after_finish() {
        let red = redactor(&["hunter2"]);
        let mut s = StreamRedactor::new(&red);
        let mut out = Vec::new();
        s.push(b"a hunt", &mut out);
        s.finish(&mut out);
        s.push(b"er2 b", &mut out);
        s.finish(&mut out);
        assert_eq!(out, b"a hunter2 b");
    }

    /// Redaction by brute force: every occurrence of every pattern, runs of overlapping
    /// occurrences merged, each run replaced by one marker.
    fn naive(red: &Redactor, text: &[u8]) -> Vec<u8> {
        let Some(inner) = &red.inner else {
            return text.to_vec();
        };
        let mut found = Vec::new();
        for p in &inner.patterns {
            for start in 0..text.len() {
                if text[start..].starts_with(p) {
                    found.push((start, start + p.len()));
                }
            }
        }
        found.sort_unstable();
        let mut out = Vec::new();
        let mut at = 0;
        let mut run_end = 0;
        for (start, end) in found {
            if start < run_end {
                run_end = run_end.max(end);
            } else {
                out.extend_from_slice(&text[at..start]);
                out.extend_from_slice(REDACTED.as_bytes());
                run_end = end;
            }
            at = run_end;
        }
        out.extend_from_slice(&text[at..]);
        out
    }

    proptest! {
        #[test]
        fn whole_redaction_is_the_union_of_occurrences(
            secrets in prop::collection::vec("[ab\n\"]{1,5}", 1..4),
            text in prop::collection::vec(prop::sample::select(b"ab\n\"\\x".to_vec()), 0..60),
        ) {
            let red = Redactor::new(secrets).expect("builds");
            prop_assert_eq!(red.redact_bytes(&text).into_owned(), naive(&red, &text));
        }

        #[test]
        fn streaming_equals_whole_for_any_chunking(
            secrets in prop::collection::vec("[ab\n\"]{1,5}", 1..4),
            text in prop::collection::vec(prop::sample::select(b"ab\n\"\\x".to_vec()), 0..60),
            cuts in prop::collection::vec(0usize..60, 0..8),
            flushes in prop::collection::vec(any::<bool>(), 8),
        ) {
            let red = Redactor::new(secrets).expect("builds");
            let whole = red.redact_bytes(&text).into_owned();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(text.len())).collect();
            cuts.push(text.len());
            cuts.sort_unstable();
            let mut w = RedactingWriter::new(Vec::new(), &red);
            let mut at = 0;
            for (cut, flush) in cuts.into_iter().zip(flushes.into_iter().chain(std::iter::repeat(false))) {
                w.write_all(&text[at..cut]).expect("writes");
                if flush {
                    w.flush().expect("flushes");
                }
                at = cut;
            }
            prop_assert_eq!(w.finish().expect("finishes"), whole);
        }
    }
}
