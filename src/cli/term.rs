//! Step output on flowc's terminal: a line a step printed in, the same line fit to show
//! out. Colour (SGR, `ESC [ ... m`) is kept; every other control sequence a step could use
//! to act on the terminal is dropped: OSC (window titles, `OSC 52` clipboard writes,
//! hyperlinks), DCS/APC/PM/SOS strings, cursor movement and erasing, C1 controls, and C0
//! controls other than tab (`\r` redraws, backspace, bell).

use std::borrow::Cow;

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';
/// What ends a colour that a line left on.
const RESET: &str = "\u{1b}[0m";

/// `line` without control sequences other than colour; borrowed when it has none. A line
/// that sets a colour ends with a reset, so that flowc's own next line is not coloured.
pub fn printable(line: &str) -> Cow<'_, str> {
    if !line.chars().any(|c| c.is_control() && c != '\t') {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut coloured = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => match chars.next() {
                Some('[') => {
                    let seq = csi(&mut chars);
                    if seq.ends_with('m') {
                        out.push(ESC);
                        out.push('[');
                        out.push_str(&seq);
                        coloured = true;
                    }
                }
                // OSC, DCS, SOS, PM, APC: a string up to ST (or BEL, for OSC).
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // Two-byte escapes (`ESC 7`, `ESC c`) and those with intermediates
                // (`ESC ( B`).
                Some(' '..='/') => {
                    while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
                    chars.next();
                }
                Some(_) | None => {}
            },
            // 8-bit CSI and OSC and the other string introducers.
            '\u{9b}' => {
                csi(&mut chars);
            }
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    if coloured {
        out.push_str(RESET);
    }
    Cow::Owned(out)
}

/// The rest of a CSI sequence after `ESC [`: parameter and intermediate bytes and the
/// final byte (empty when the line ends first, or a byte outside the grammar cuts it).
fn csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut seq = String::new();
    for c in chars.by_ref() {
        match c {
            '0'..='?' | ' '..='/' => seq.push(c),
            '@'..='~' => {
                seq.push(c);
                return seq;
            }
            _ => return String::new(),
        }
    }
    String::new()
}

/// Skips a control string up to its terminator: ST (`ESC \` or U+009C) or BEL.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            BEL | '\u{9c}' => return,
            ESC => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_stays_and_is_reset() {
        assert_eq!(
            printable("\u{1b}[1;31merror\u{1b}[0m: x"),
            "\u{1b}[1;31merror\u{1b}[0m: x\u{1b}[0m"
        );
        assert!(matches!(printable("plain\ttext"), Cow::Borrowed(_)));
    }

    #[test]
    fn other_sequences_are_dropped() {
        for (raw, shown) in [
            ("a\u{1b}]0;pwned title\u{7}b", "ab"),
            ("a\u{1b}]52;c;ZXZpbA==\u{1b}\\b", "ab"),
            (
                "a\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\b",
                "alinkb",
            ),
            ("a\u{1b}[2J\u{1b}[H\u{1b}[10;5Hb", "ab"),
            ("a\u{1b}[1Ab\u{1b}[?25l", "ab"),
            ("a\u{1b}Pq#0;2;0;0;0\u{1b}\\b", "ab"),
            ("a\u{1b}7\u{1b}cb\u{1b}(B", "ab"),
            ("progress 10%\rprogress 100%", "progress 10%progress 100%"),
            ("bell\u{7} back\u{8}space\u{7f}", "bell backspace"),
            ("8-bit \u{9b}2Jcsi \u{9d}0;t\u{9c}osc", "8-bit csi osc"),
            ("unterminated \u{1b}]0;title", "unterminated "),
            ("ends in \u{1b}", "ends in "),
        ] {
            assert_eq!(printable(raw), shown, "{raw:?}");
        }
    }
}
