//! Message bodies as terminal text: the TipTap document rendered by `richtext::to_text` with
//! the theme's styles and mention labels from the `/resolve` cache (re-resolved at each draw,
//! so a label that arrives later shows without reparsing). Everything is sanitised there.

use crate::model::Message;
use crate::richtext::{self, Doc, MentionKind, Styles};
use crate::tui::refs::Labels;
use crate::tui::theme::{Role, Theme};
use ratatui::style::Modifier;
use ratatui::text::Line;

pub fn styles(theme: &Theme) -> Styles {
    let s = |r: Role| theme.style(r);
    let text = s(Role::Text);
    Styles {
        text,
        muted: s(Role::Muted),
        bold: text.add_modifier(Modifier::BOLD),
        italic: text.add_modifier(Modifier::ITALIC),
        strike: text.add_modifier(Modifier::CROSSED_OUT),
        underline: text.add_modifier(Modifier::UNDERLINED),
        code: s(Role::Code),
        code_block: s(Role::Code),
        link: s(Role::Link),
        quote: s(Role::Quote),
        mention: s(Role::Mention),
        heading: s(Role::Title),
        list_marker: s(Role::Accent),
        table_border: s(Role::Border),
        table_header: s(Role::Title),
    }
}

/// The parsed document of a message: its TipTap JSON, or its Markdown if that is unreadable.
pub fn parse(m: &Message) -> Doc {
    Doc::from_json(&m.body.tiptap).unwrap_or_else(|_| richtext::from_markdown(&m.body.markdown))
}

pub fn doc_lines(doc: &Doc, theme: &Theme, labels: &Labels) -> Vec<Line<'static>> {
    let resolver = |kind: MentionKind, id: &str| labels.get(kind, id);
    richtext::to_text(doc, &styles(theme), &resolver).lines
}

pub fn message_lines(m: &Message, doc: Option<&Doc>, theme: &Theme, labels: &Labels) -> Vec<Line<'static>> {
    match doc {
        Some(d) => doc_lines(d, theme, labels),
        None => doc_lines(&parse(m), theme, labels),
    }
}

pub fn markdown_lines(md: &str, theme: &Theme, labels: &Labels) -> Vec<Line<'static>> {
    doc_lines(&richtext::from_markdown(md), theme, labels)
}
