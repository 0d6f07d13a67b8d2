//! A quick pass over the raw text before the grammar runs: it finds unterminated strings and
//! bounds nesting depth, so that pest (a recursive-descent parser) can neither run off the
//! end of a string with a confusing message nor overflow its stack on `((((...` input.

use super::SyntaxError;
use crate::source::Span;

/// How deep brackets, braces, parentheses, strings and `${}` may nest.
pub const MAX_DEPTH: usize = 256;

/// A problem found by the scan.
pub enum ScanError {
    /// A string opened at this span never closes.
    Unterminated(Span),
    /// An interpolation opened at this span (`${`) never closes: its string's closing
    /// quote was read as the start of another string.
    UnterminatedInterp(Span),
    /// Nesting passes [`MAX_DEPTH`] at this span.
    TooDeep(Span),
}

impl ScanError {
    /// The diagnostic for this problem.
    pub fn into_syntax_error(self) -> SyntaxError {
        match self {
            ScanError::Unterminated(span) => SyntaxError::UnterminatedString { span: span.into() },
            ScanError::UnterminatedInterp(span) => {
                SyntaxError::UnterminatedInterpolation { span: span.into() }
            }
            ScanError::TooDeep(span) => SyntaxError::TooDeep {
                max: MAX_DEPTH,
                span: span.into(),
            },
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Frame {
    Bracket,
    Str(usize),
    Interp(usize),
}

/// Scans `text` and reports the first structural problem, if any.
pub fn scan(text: &str) -> Option<ScanError> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    // A run of prefix operators (`!!!x`, `- -x`) nests as deeply as brackets do.
    let mut prefix_run = 0usize;
    // The first `${` closed on a later line than it opened: when a string is left open at
    // the end, that is most likely where a `}` was missing and a quote was taken for the
    // start of a string.
    let mut suspect: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let in_string = matches!(stack.last(), Some(Frame::Str(_)));
        // Most bytes are names and blanks, in and out of strings, and change nothing
        // below but the run of prefix operators: each such run is stepped over in a
        // loop of its own, as tight as a byte test can be, up to the next byte that
        // matters (or the end).
        if in_string {
            while i < bytes.len() && !matches!(bytes[i], b'\\' | b'"' | b'$') {
                i += 1;
            }
        } else {
            while let Some(&c) = bytes.get(i) {
                if c.is_ascii_alphanumeric() || c == b'_' {
                    prefix_run = 0;
                } else if !matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                    break;
                }
                i += 1;
            }
        }
        let Some(&b) = bytes.get(i) else {
            break;
        };
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    stack.push(Frame::Interp(i));
                    if stack.len() > MAX_DEPTH {
                        return Some(ScanError::TooDeep(Span::new(i, i + 2)));
                    }
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'!' | b'-' if bytes.get(i + 1) != Some(&b'=') => {
                prefix_run += 1;
                if prefix_run > MAX_DEPTH {
                    return Some(ScanError::TooDeep(Span::new(i, i + 1)));
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => prefix_run = 0,
        }
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => stack.push(Frame::Str(i)),
            b'(' | b'[' | b'{' => stack.push(Frame::Bracket),
            b')' | b']' if stack.last() == Some(&Frame::Bracket) => {
                stack.pop();
            }
            b'}' if matches!(stack.last(), Some(Frame::Bracket | Frame::Interp(_))) => {
                if let Some(Frame::Interp(start)) = stack.pop() {
                    if suspect.is_none() && bytes[start..i].contains(&b'\n') {
                        suspect = Some(start);
                    }
                }
            }
            _ => {}
        }
        if stack.len() > MAX_DEPTH {
            return Some(ScanError::TooDeep(Span::new(i, i + 1)));
        }
        i += 1;
    }
    let interp = |start: usize| ScanError::UnterminatedInterp(Span::new(start, start + 2));
    if let Some(start) = stack.iter().find_map(|f| match f {
        Frame::Interp(start) => Some(*start),
        _ => None,
    }) {
        return Some(interp(start));
    }
    let open = stack.iter().rev().find_map(|f| match f {
        Frame::Str(start) => Some(*start),
        _ => None,
    })?;
    Some(match suspect {
        Some(start) if start < open => interp(start),
        _ => ScanError::Unterminated(Span::new(open, open + 1)),
    })
}

/// The index of the quote that closes the string opened at `open`, skipping escapes and
/// `${...}` with nested strings; `end` when it does not close before `end`.
pub fn string_end(bytes: &[u8], open: usize, end: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open + 1;
    while i < end {
        match bytes[i] {
            b'\\' => i += 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth > 0 => depth -= 1,
            b'"' if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kind and span of what [`scan`] finds.
    fn found(text: &str) -> Option<(&'static str, u32, u32)> {
        scan(text).map(|e| match e {
            ScanError::Unterminated(s) => ("string", s.start, s.end),
            ScanError::UnterminatedInterp(s) => ("interp", s.start, s.end),
            ScanError::TooDeep(s) => ("deep", s.start, s.end),
        })
    }

    #[test]
    fn strings_close_past_escapes_and_interpolations() {
        assert_eq!(found(r#"run "a \" b" x"#), None);
        assert_eq!(found(r#"run "a ${f("b")} c""#), None);
        assert_eq!(found(r#"run "cost $5""#), None);
        assert_eq!(found("run \"abc"), Some(("string", 4, 5)));
        assert_eq!(found(r#"x "a" "b \""#), Some(("string", 6, 7)));
        assert_eq!(found("run \"${x\n}\""), None);
        assert_eq!(found(r#"run "${x" y"#), Some(("interp", 5, 7)));
    }

    #[test]
    fn a_run_of_prefix_operators_is_ended_by_a_name_not_by_blanks() {
        let deep = |sep: &str| format!("{}{}x", "!".repeat(MAX_DEPTH), sep);
        assert_eq!(found(&deep("")), None);
        assert_eq!(found(&deep(" \t\n!")), Some(("deep", 259, 260)));
        assert_eq!(found(&deep(" y !")), None);
        assert_eq!(found(&"- ".repeat(MAX_DEPTH + 1)), Some(("deep", 512, 513)));
    }

    #[test]
    fn nesting_is_bounded_and_comments_are_skipped() {
        assert_eq!(found(&"(".repeat(MAX_DEPTH)), None);
        assert_eq!(found(&"(".repeat(MAX_DEPTH + 1)), Some(("deep", 256, 257)));
        assert_eq!(found("// a \"quote\nx"), None);
    }
}
