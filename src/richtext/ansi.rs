//! Terminal `Text` to a string: with SGR styles (`desk convert --to ansi`) or plain.
//!
//! The spans were sanitised by the renderer, so the only escape sequences in the output are
//! the SGR codes written here from our own styles.

use anstyle::{AnsiColor, Color as AColor, Effects, RgbColor, Style as AStyle};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Text;
use std::fmt::Write;

/// The text with SGR escape codes for every styled span, one line per line.
pub fn text_to_ansi(text: &Text<'_>) -> String {
    let mut out = String::new();
    for line in &text.lines {
        for span in &line.spans {
            let style = to_anstyle(line.style.patch(span.style));
            if style == AStyle::new() {
                out.push_str(&span.content);
            } else {
                let _ = write!(out, "{}{}{}", style.render(), span.content, style.render_reset());
            }
        }
        out.push('\n');
    }
    out
}

/// The text without any styling, one line per line.
pub fn text_to_plain(text: &Text<'_>) -> String {
    let mut out = String::new();
    for line in &text.lines {
        for span in &line.spans {
            out.push_str(&span.content);
        }
        out.push('\n');
    }
    out
}

fn to_anstyle(s: Style) -> AStyle {
    let mut a = AStyle::new().fg_color(s.fg.and_then(color)).bg_color(s.bg.and_then(color));
    let m = s.add_modifier;
    let mut e = Effects::new();
    for (flag, effect) in [
        (Modifier::BOLD, Effects::BOLD),
        (Modifier::DIM, Effects::DIMMED),
        (Modifier::ITALIC, Effects::ITALIC),
        (Modifier::UNDERLINED, Effects::UNDERLINE),
        (Modifier::SLOW_BLINK, Effects::BLINK),
        (Modifier::RAPID_BLINK, Effects::BLINK),
        (Modifier::REVERSED, Effects::INVERT),
        (Modifier::HIDDEN, Effects::HIDDEN),
        (Modifier::CROSSED_OUT, Effects::STRIKETHROUGH),
    ] {
        if m.contains(flag) {
            e |= effect;
        }
    }
    a = a.effects(e);
    a
}

fn color(c: Color) -> Option<AColor> {
    let ansi = |a: AnsiColor| Some(AColor::Ansi(a));
    match c {
        Color::Reset => None,
        Color::Black => ansi(AnsiColor::Black),
        Color::Red => ansi(AnsiColor::Red),
        Color::Green => ansi(AnsiColor::Green),
        Color::Yellow => ansi(AnsiColor::Yellow),
        Color::Blue => ansi(AnsiColor::Blue),
        Color::Magenta => ansi(AnsiColor::Magenta),
        Color::Cyan => ansi(AnsiColor::Cyan),
        Color::Gray => ansi(AnsiColor::White),
        Color::DarkGray => ansi(AnsiColor::BrightBlack),
        Color::LightRed => ansi(AnsiColor::BrightRed),
        Color::LightGreen => ansi(AnsiColor::BrightGreen),
        Color::LightYellow => ansi(AnsiColor::BrightYellow),
        Color::LightBlue => ansi(AnsiColor::BrightBlue),
        Color::LightMagenta => ansi(AnsiColor::BrightMagenta),
        Color::LightCyan => ansi(AnsiColor::BrightCyan),
        Color::White => ansi(AnsiColor::BrightWhite),
        Color::Rgb(r, g, b) => Some(AColor::Rgb(RgbColor(r, g, b))),
        Color::Indexed(i) => Some(AColor::Ansi256(anstyle::Ansi256Color(i))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::richtext::{NoResolver, Styles, from_markdown, to_text};

    #[test]
    fn sgr_for_styles_plain_for_none() {
        let text = to_text(&from_markdown("**b** x"), &Styles::plain(), &NoResolver);
        assert_eq!(text_to_ansi(&text), "\u{1b}[1mb\u{1b}[0m x\n");
        assert_eq!(text_to_plain(&text), "b x\n");
        let mut styles = Styles::plain();
        styles.bold = Style::default().fg(Color::Rgb(1, 2, 3));
        let text = to_text(&from_markdown("**b**"), &styles, &NoResolver);
        assert_eq!(text_to_ansi(&text), "\u{1b}[38;2;1;2;3mb\u{1b}[0m\n");
    }
}
