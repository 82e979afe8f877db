//! TipTap to plain text (notifications, search, `--to text`): no styling, links as
//! `text (url)`, Slack's list markers, quotes prefixed with `> `.

use super::doc::{Block, Doc, Inline};

/// The document as plain text (ends with a newline unless empty).
pub fn to_plain_text(doc: &Doc) -> String {
    let mut out = String::new();
    blocks(&mut out, &doc.content, 0);
    let trimmed = out.trim_end_matches('\n').len();
    out.truncate(trimmed);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn blocks(out: &mut String, bl: &[Block], depth: usize) {
    let mut first = true;
    for b in bl {
        if matches!(b, Block::Paragraph(i) if i.is_empty()) {
            continue;
        }
        if !first && depth == 0 {
            out.push('\n');
        }
        first = false;
        block(out, b, depth);
    }
}

fn prefixed(out: &mut String, text: &str, first: &str, rest: &str) {
    for (n, line) in text.trim_end_matches('\n').split('\n').enumerate() {
        out.push_str(if n == 0 { first } else { rest });
        out.push_str(line);
        out.push('\n');
    }
}

fn block(out: &mut String, b: &Block, depth: usize) {
    match b {
        Block::Paragraph(i) | Block::Heading { content: i, .. } => {
            inlines(out, i);
            out.push('\n');
        }
        Block::BulletList(items) => {
            let marker = ["• ", "◦ ", "▪ "][depth % 3];
            for item in items {
                let mut s = String::new();
                blocks(&mut s, &item.content, depth + 1);
                prefixed(out, &s, marker, "  ");
            }
        }
        Block::OrderedList { start, items } => {
            for (n, item) in items.iter().enumerate() {
                let mut s = String::new();
                blocks(&mut s, &item.content, depth + 1);
                let marker = format!("{}. ", start + n as u64);
                prefixed(out, &s, &marker, &" ".repeat(marker.len()));
            }
        }
        Block::Blockquote(inner) => {
            let mut s = String::new();
            blocks(&mut s, inner, depth);
            prefixed(out, &s, "> ", "> ");
        }
        Block::CodeBlock { text, .. } => {
            out.push_str(text);
            out.push('\n');
        }
        Block::HorizontalRule => out.push_str("---\n"),
        Block::Image { src, alt, .. } => {
            out.push_str(&format!("[image: {}] ({src})\n", alt.as_deref().unwrap_or("image")));
        }
        Block::Table(rows) => {
            for row in rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| {
                        let mut s = String::new();
                        blocks(&mut s, &c.content, depth + 1);
                        s.trim_end().replace('\n', " ")
                    })
                    .collect();
                out.push_str(&cells.join(" | "));
                out.push('\n');
            }
        }
    }
}

fn inlines(out: &mut String, inl: &[Inline]) {
    for (i, node) in inl.iter().enumerate() {
        match node {
            Inline::Text { text, marks } => {
                out.push_str(text);
                if let Some(href) = &marks.link {
                    let next_same =
                        matches!(inl.get(i + 1), Some(Inline::Text { marks: m, .. }) if m.link == marks.link);
                    if !next_same && text.trim() != href && !href.is_empty() {
                        out.push_str(" (");
                        out.push_str(href);
                        out.push(')');
                    }
                }
            }
            Inline::HardBreak => out.push('\n'),
            Inline::Mention(m) => {
                out.push_str(m.kind.sigil());
                out.push_str(m.label.as_deref().unwrap_or(&m.id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::richtext::from_markdown;

    #[test]
    fn plain() {
        let doc = from_markdown("# T\n\nsee [docs](https://d/) now\n\n- a\n  1. b\n\n> q\n");
        assert_eq!(to_plain_text(&doc), "T\n\nsee docs (https://d/) now\n\n• a\n  1. b\n\n> q\n");
    }
}
