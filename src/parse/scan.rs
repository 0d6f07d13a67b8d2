//! A quick pass over the raw text before the grammar runs: it finds unterminated strings and
//! bounds nesting depth, so that pest (a recursive-descent parser) can neither run off the
//! end of a string with a confusing message nor overflow its stack on `((((...` input.

use crate::source::Span;

/// How deep brackets, braces, parentheses, strings and `${}` may nest.
pub const MAX_DEPTH: usize = 256;

/// A problem found by the scan.
pub enum ScanError {
    /// A string opened at this span never closes.
    Unterminated(Span),
    /// Nesting passes [`MAX_DEPTH`] at this span.
    TooDeep(Span),
}

#[derive(Clone, Copy, PartialEq)]
enum Frame {
    Bracket,
    Str(usize),
    Interp,
}

/// Scans `text` and reports the first structural problem, if any.
pub fn scan(text: &str) -> Option<ScanError> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    // A run of prefix operators (`!!!x`, `- -x`) nests as deeply as brackets do.
    let mut prefix_run = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let in_string = matches!(stack.last(), Some(Frame::Str(_)));
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    stack.push(Frame::Interp);
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
            b'}' if matches!(stack.last(), Some(Frame::Bracket | Frame::Interp)) => {
                stack.pop();
            }
            _ => {}
        }
        if stack.len() > MAX_DEPTH {
            return Some(ScanError::TooDeep(Span::new(i, i + 1)));
        }
        i += 1;
    }
    stack.iter().rev().find_map(|f| match f {
        Frame::Str(start) => Some(ScanError::Unterminated(Span::new(*start, *start + 1))),
        _ => None,
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
