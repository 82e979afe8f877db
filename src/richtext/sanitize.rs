//! `sanitize`: makes untrusted text safe to put on a terminal (DESIGN §4).
//!
//! Removed: C0 controls except newline (a tab becomes one space; CR is dropped), DEL, C1
//! controls (U+0080..U+009F), every escape sequence (CSI `ESC [`, OSC `ESC ]`, DCS `ESC P`,
//! SOS `ESC X`, PM `ESC ^`, APC `ESC _`, their 8-bit C1 introducers, two- and three-byte
//! `ESC x` sequences) and bare ESC, and the bidi override and isolate characters
//! (U+202A..U+202E, U+2066..U+2069). A string sequence without its terminator removes the
//! rest of the input: better to lose text than to pass a half-open sequence to the terminal.

use std::borrow::Cow;

const ESC: char = '\u{1b}';

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn needs_work(c: char) -> bool {
    (c < ' ' && c != '\n') || ('\u{7f}'..='\u{9f}').contains(&c) || is_bidi_control(c)
}

/// Returns `s` unchanged (borrowed) when it is already safe, else a cleaned copy.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    // Fast path: printable ASCII and newlines need nothing.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\n') {
        return Cow::Borrowed(s);
    }
    if !s.chars().any(needs_work) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push(' '),
            ESC => match chars.next() {
                // CSI: parameters and intermediates up to a final byte 0x40..=0x7E.
                Some('[') => skip_csi(&mut chars),
                // OSC ends with BEL or ST; DCS, SOS, PM, APC end with ST.
                Some(']') => skip_string(&mut chars, true),
                Some('P' | 'X' | '^' | '_') => skip_string(&mut chars, false),
                // nF sequences (`ESC ( B`): intermediates 0x20..=0x2F, then one final byte.
                Some(c2) if (' '..='/').contains(&c2) => {
                    while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
                    chars.next();
                }
                // Any other two-character sequence (`ESC c`, `ESC 7`, ...), or a bare ESC.
                Some(_) | None => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' => skip_string(&mut chars, true),
            '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars, false),
            c if needs_work(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
        // A control inside a CSI aborts it; drop it too.
        if c < ' ' || !c.is_ascii() {
            return;
        }
    }
}

/// Skips to the string terminator: ST (`ESC \` or U+009C), or BEL when `bel_ends`.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, bel_ends: bool) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' if bel_ends => return,
            '\u{9c}' => return,
            ESC => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
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
    fn clean_text_is_borrowed() {
        assert!(matches!(sanitize("hello\nworld — ünïcode 👋"), Cow::Borrowed(_)));
    }

    #[test]
    fn c0_controls_but_newline() {
        assert_eq!(sanitize("a\u{0}b\u{7}c\u{8}d\re\nf"), "abcde\nf");
        assert_eq!(sanitize("a\tb"), "a b");
    }

    #[test]
    fn del_and_c1() {
        assert_eq!(sanitize("a\u{7f}b\u{85}c\u{80}d"), "abcd");
    }

    #[test]
    fn csi() {
        assert_eq!(sanitize("\u{1b}[31mred\u{1b}[0m \u{1b}[2J\u{1b}[?1049h"), "red ");
        assert_eq!(sanitize("a\u{9b}31mb"), "ab");
    }

    #[test]
    fn osc_with_bel_and_st() {
        assert_eq!(sanitize("\u{1b}]8;;https://evil\u{7}link\u{1b}]8;;\u{7}"), "link");
        assert_eq!(sanitize("\u{1b}]0;title\u{1b}\\after"), "after");
        assert_eq!(sanitize("x\u{9d}0;t\u{9c}y"), "xy");
    }

    #[test]
    fn dcs_sos_pm_apc() {
        assert_eq!(sanitize("a\u{1b}Pq#0;2;0;0;0\u{1b}\\b"), "ab");
        assert_eq!(sanitize("a\u{1b}Xsos\u{1b}\\b"), "ab");
        assert_eq!(sanitize("a\u{1b}^pm\u{1b}\\b"), "ab");
        assert_eq!(sanitize("a\u{1b}_apc\u{1b}\\b"), "ab");
        assert_eq!(sanitize("a\u{90}dcs\u{9c}b"), "ab");
    }

    #[test]
    fn other_escapes_and_bare_esc() {
        assert_eq!(sanitize("a\u{1b}cb\u{1b}(Bc\u{1b}"), "abc");
        assert_eq!(sanitize("unterminated \u{1b}]0;rest"), "unterminated ");
    }

    #[test]
    fn bidi_overrides() {
        assert_eq!(sanitize("a\u{202E}cba\u{202C}\u{2066}x\u{2069}"), "acbax");
    }
}
