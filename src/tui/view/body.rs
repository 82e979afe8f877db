//! Message bodies as terminal text. Until the `richtext` module lands this shows the
//! Markdown form line by line with control characters removed; the swap to
//! `richtext::to_text` (TipTap with theme styles and resolved mentions) is local to this file.

use crate::model::Message;
use crate::tui::theme::{Role, Theme};
use ratatui::text::{Line, Span};
use std::collections::HashMap;

pub fn message_lines(m: &Message, theme: &Theme, labels: &HashMap<String, String>) -> Vec<Line<'static>> {
    markdown_lines(&m.body.markdown, theme, labels)
}

pub fn markdown_lines(md: &str, theme: &Theme, labels: &HashMap<String, String>) -> Vec<Line<'static>> {
    md.lines()
        .map(|l| {
            let mut text: String =
                l.chars().map(|c| if c == '\t' { ' ' } else { c }).filter(|c| !c.is_control()).collect();
            for (id, label) in labels {
                text = text.replace(&format!("<@{id}>"), &format!("@{label}"));
            }
            Line::from(Span::styled(text, theme.style(Role::Text)))
        })
        .collect()
}
