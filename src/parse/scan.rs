//! A quick pass over the raw text before the grammar runs: it finds unterminated strings and
//! bounds nesting depth, so that the recursive-descent parser can neither run off the end of a
//! string with a confusing message nor overflow its stack on `((((...` input.

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

/// A place to split a large file for parallel parsing: the start of a `step` (or
/// `finally step`) line directly inside a workflow body, nearest the middle of the text.
/// `None` when there is no such place. Any mistake here only costs time: a split whose
/// halves do not both parse is abandoned for an ordinary parse.
pub fn split_point(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let middle = text.len() / 2;
    let mut best: Option<usize> = None;
    let mut stack: Vec<u8> = Vec::new();
    let mut in_workflow = false;
    let mut last_top_word_is_workflow = false;
    let mut line_start = true;
    let mut previous_line_is_doc = false;
    let mut this_line_is_doc = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line_start = true;
                previous_line_is_doc = this_line_is_doc;
                this_line_is_doc = false;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let at_line_start = std::mem::replace(&mut line_start, false);
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                this_line_is_doc = at_line_start && text[i..].starts_with("///");
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => i = string_end(bytes, i, bytes.len()),
            b'(' | b'[' | b'{' => {
                if b == b'{' && stack.is_empty() {
                    in_workflow = last_top_word_is_workflow;
                }
                stack.push(b);
            }
            b')' | b']' | b'}' => {
                stack.pop();
            }
            _ if b.is_ascii_alphabetic() || b == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &text[start..i];
                if stack.is_empty() && matches!(word, "workflow" | "task" | "let" | "import") {
                    last_top_word_is_workflow = word == "workflow";
                }
                let is_item = matches!(word, "step" | "finally");
                if is_item
                    && at_line_start
                    && in_workflow
                    && stack == [b'{']
                    && !previous_line_is_doc
                {
                    let closer = best.is_none_or(|b| start.abs_diff(middle) < b.abs_diff(middle));
                    if closer {
                        best = Some(start);
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    best
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
