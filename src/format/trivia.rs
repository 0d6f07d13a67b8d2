//! The trivia of a source text that the AST does not keep: `//` comments and blank lines.
//! [`Trivia::scan`] finds every comment (skipping string literals, their `${}`
//! interpolations and `///` doc comments, which the AST does keep); the formatter asks it
//! where comments and blank lines were relative to the spans of the nodes it prints.

use crate::source::Span;

/// One `//` comment: its text from the slashes to the end of the line, trailing
/// whitespace removed.
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// Where the text is (`start` at the first `/`, `end` after the last character kept).
    pub span: Span,
    /// The text, `//` included.
    pub text: String,
}

/// The comments of one source text, in order, with the text itself for blank-line and
/// line-break questions.
#[derive(Debug)]
pub struct Trivia<'a> {
    text: &'a str,
    comments: Vec<Comment>,
}

/// What the scanner is inside of.
#[derive(Clone, Copy)]
enum Frame {
    /// Code, with this many `{` open since the frame began.
    Code(usize),
    /// A string literal.
    Str,
}

impl<'a> Trivia<'a> {
    /// Finds the comments of `text`. Works on any text: unterminated strings simply end
    /// the scan.
    pub fn scan(text: &'a str) -> Trivia<'a> {
        let bytes = text.as_bytes();
        let mut comments = Vec::new();
        let mut stack = vec![Frame::Code(0)];
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match stack.last_mut() {
                Some(Frame::Str) => match b {
                    b'\\' => i += 1,
                    b'"' => {
                        stack.pop();
                    }
                    b'$' if bytes.get(i + 1) == Some(&b'{') => {
                        stack.push(Frame::Code(0));
                        i += 1;
                    }
                    _ => {}
                },
                Some(Frame::Code(depth)) => match b {
                    b'/' if bytes.get(i + 1) == Some(&b'/') => {
                        let start = i;
                        while i < bytes.len() && bytes[i] != b'\n' {
                            i += 1;
                        }
                        let line = text[start..i].trim_end();
                        // `///` (exactly three slashes) is a doc comment: part of the AST.
                        let doc = line.starts_with("///") && !line.starts_with("////");
                        if !doc {
                            comments.push(Comment {
                                span: Span::new(start, start + line.len()),
                                text: line.to_string(),
                            });
                        }
                        continue;
                    }
                    b'"' => stack.push(Frame::Str),
                    b'{' => *depth += 1,
                    b'}' if *depth > 0 => *depth -= 1,
                    // Closes an interpolation. (A stray brace at the top level is the
                    // parser's to report; the scan just carries on.)
                    b'}' if stack.len() > 1 => {
                        stack.pop();
                    }
                    _ => {}
                },
                None => break,
            }
            i += 1;
        }
        Trivia { text, comments }
    }

    /// The source text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The comments, in source order.
    pub fn comments(&self) -> &[Comment] {
        &self.comments
    }

    /// The index of the first comment that starts at or after `pos`.
    pub(super) fn first_from(&self, pos: usize) -> usize {
        self.comments
            .partition_point(|c| (c.span.start as usize) < pos)
    }

    /// The comment that ends exactly at `pos`, if any.
    fn ending_at(&self, pos: usize) -> Option<&Comment> {
        let i = self
            .comments
            .partition_point(|c| (c.span.end as usize) < pos);
        self.comments.get(i).filter(|c| c.span.end as usize == pos)
    }

    /// The comment that starts exactly at `pos`, if any.
    fn starting_at(&self, pos: usize) -> Option<&Comment> {
        self.comments
            .get(self.first_from(pos))
            .filter(|c| c.span.start as usize == pos)
    }

    /// True when a blank line separates `pos` from the code or comment before it.
    pub(super) fn blank_before(&self, pos: usize) -> bool {
        let before = &self.text.as_bytes()[..pos.min(self.text.len())];
        let newlines = before
            .iter()
            .rev()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .filter(|&&b| b == b'\n')
            .count();
        newlines >= 2
    }

    /// True when the text from `from` to `to` is only spaces, tabs and commas: a comment
    /// at `to` then trails the code that ends at `from`.
    pub(super) fn trails(&self, from: usize, to: usize) -> bool {
        self.text
            .get(from..to)
            .is_some_and(|gap| gap.bytes().all(|b| matches!(b, b' ' | b'\t' | b',')))
    }

    /// `pos` moved back over whitespace and comments: the end of the code before it.
    pub(super) fn skip_back(&self, pos: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut pos = pos.min(bytes.len());
        loop {
            while pos > 0 && bytes[pos - 1].is_ascii_whitespace() {
                pos -= 1;
            }
            match self.ending_at(pos) {
                Some(c) => pos = c.span.start as usize,
                None => return pos,
            }
        }
    }

    /// The end of `span` without the whitespace and comments the parser may leave at it.
    pub(super) fn end_of(&self, span: Span) -> usize {
        self.skip_back(span.end as usize).max(span.start as usize)
    }

    /// `pos` moved forward over whitespace, comments, `///` doc lines and, when `commas`
    /// is set, commas: the start of the next token.
    pub(super) fn skip_forward(&self, pos: usize, docs: bool, commas: bool) -> usize {
        let bytes = self.text.as_bytes();
        let mut pos = pos;
        loop {
            while pos < bytes.len()
                && (bytes[pos].is_ascii_whitespace() || (commas && bytes[pos] == b','))
            {
                pos += 1;
            }
            if let Some(c) = self.starting_at(pos) {
                pos = c.span.end as usize;
            } else if docs && self.text[pos..].starts_with("///") {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                return pos;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<String> {
        Trivia::scan(src)
            .comments()
            .iter()
            .map(|c| c.text.clone())
            .collect()
    }

    #[test]
    fn finds_comments_but_not_doc_comments_or_string_text() {
        let src =
            "// a\n/// doc\n//// b\nlet x = \"// no ${ f(\"//no\") // c\n } \\${ // no\" // d  \n";
        assert_eq!(texts(src), ["// a", "//// b", "// c", "// d"]);
    }

    #[test]
    fn skips_back_over_comments() {
        let src = "let x = 1 // one\n  // two\n\nlet y = 2";
        let t = Trivia::scan(src);
        let y = src.find("let y").expect("y");
        assert_eq!(t.skip_back(y), src.find(" // one").expect("one"));
        assert!(t.blank_before(y));
        assert!(!t.blank_before(src.find("// two").expect("two")));
    }
}
