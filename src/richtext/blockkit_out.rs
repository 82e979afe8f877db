//! TipTap to Block Kit: one `rich_text` block, for replies posted back to Slack.
//!
//! Slack's rich text has no headings, rules, images or tables: headings become bold
//! sections, a rule a `---` line, an image a link to it, a table an aligned preformatted
//! block. Nested lists are flattened the way Slack sends them (`indent`, with `offset`
//! continuing the numbering after a nested list).

use super::MentionKind;
use super::doc::{Block, Doc, Inline, ListItem, Marks};
use super::plain::to_plain_text;
use serde_json::{Map, Value, json};

/// `[{"type":"rich_text","elements":[...]}]`
pub fn to_blockkit(doc: &Doc) -> Value {
    let mut elements = Vec::new();
    for b in &doc.content {
        block(b, &mut elements);
    }
    json!([{ "type": "rich_text", "elements": elements }])
}

fn section(elements: Vec<Value>) -> Value {
    json!({ "type": "rich_text_section", "elements": elements })
}

fn block(b: &Block, out: &mut Vec<Value>) {
    match b {
        Block::Paragraph(inl) => {
            if !inl.is_empty() {
                out.push(section(inlines(inl, &Marks::default())));
            }
        }
        Block::Heading { content, .. } => {
            out.push(section(inlines(content, &Marks { bold: true, ..Marks::default() })));
        }
        Block::BulletList(items) => list(items, false, 1, 0, out),
        Block::OrderedList { start, items } => list(items, true, *start, 0, out),
        Block::Blockquote(inner) => {
            let mut els = Vec::new();
            for (n, b) in inner.iter().enumerate() {
                if n > 0 {
                    els.push(text_el("\n", &Marks::default()));
                }
                match b {
                    Block::Paragraph(i) | Block::Heading { content: i, .. } => {
                        els.extend(inlines(i, &Marks::default()))
                    }
                    other => {
                        let t = to_plain_text(&Doc { content: vec![other.clone()] });
                        els.push(text_el(t.trim_end(), &Marks::default()));
                    }
                }
            }
            out.push(json!({ "type": "rich_text_quote", "elements": els }));
        }
        Block::CodeBlock { text, .. } => {
            if !text.is_empty() {
                out.push(json!({ "type": "rich_text_preformatted", "elements": [{ "type": "text", "text": text }] }));
            }
        }
        Block::HorizontalRule => out.push(section(vec![text_el("---", &Marks::default())])),
        Block::Image { src, alt, .. } => {
            let text = alt.clone().unwrap_or_else(|| src.clone());
            out.push(section(vec![json!({ "type": "link", "url": src, "text": text })]));
        }
        Block::Table(_) => {
            let t = to_plain_text(&Doc { content: vec![b.clone()] });
            out.push(json!({ "type": "rich_text_preformatted", "elements": [{ "type": "text", "text": t.trim_end() }] }));
        }
    }
}

/// Emits one list level as flat `rich_text_list` elements; nested lists split it into
/// chunks, the later ones continuing the numbering through `offset`.
fn list(items: &[ListItem], ordered: bool, start: u64, indent: usize, out: &mut Vec<Value>) {
    let style = if ordered { "ordered" } else { "bullet" };
    let mut chunk: Vec<Value> = Vec::new();
    let mut emitted: u64 = 0;
    let flush = |chunk: &mut Vec<Value>, emitted: &mut u64, out: &mut Vec<Value>| {
        if chunk.is_empty() {
            return;
        }
        let mut el = Map::new();
        el.insert("type".into(), json!("rich_text_list"));
        el.insert("style".into(), json!(style));
        el.insert("indent".into(), json!(indent));
        let offset = if ordered { start.saturating_sub(1) + *emitted } else { 0 };
        if offset > 0 {
            el.insert("offset".into(), json!(offset));
        }
        *emitted += chunk.len() as u64;
        el.insert("elements".into(), Value::Array(std::mem::take(chunk)));
        out.push(Value::Object(el));
    };
    for item in items {
        let mut els = Vec::new();
        let mut nested: Vec<&Block> = Vec::new();
        for (n, b) in item.content.iter().enumerate() {
            match b {
                Block::BulletList(_) | Block::OrderedList { .. } => nested.push(b),
                Block::Paragraph(i) => {
                    if n > 0 && !els.is_empty() {
                        els.push(text_el("\n", &Marks::default()));
                    }
                    els.extend(inlines(i, &Marks::default()));
                }
                other => {
                    let t = to_plain_text(&Doc { content: vec![other.clone()] });
                    if !els.is_empty() {
                        els.push(text_el("\n", &Marks::default()));
                    }
                    els.push(text_el(t.trim_end(), &Marks::default()));
                }
            }
        }
        chunk.push(section(els));
        for b in nested {
            flush(&mut chunk, &mut emitted, out);
            match b {
                Block::BulletList(inner) => list(inner, false, 1, indent + 1, out),
                Block::OrderedList { start, items } => list(items, true, *start, indent + 1, out),
                _ => {}
            }
        }
    }
    flush(&mut chunk, &mut emitted, out);
}

fn style(m: &Marks) -> Option<Value> {
    let mut s = Map::new();
    for (on, name) in [
        (m.bold, "bold"),
        (m.italic, "italic"),
        (m.strike, "strike"),
        (m.code, "code"),
        (m.underline, "underline"),
    ] {
        if on {
            s.insert(name.into(), Value::Bool(true));
        }
    }
    (!s.is_empty()).then_some(Value::Object(s))
}

fn text_el(text: &str, marks: &Marks) -> Value {
    let mut el = Map::new();
    el.insert("type".into(), json!("text"));
    el.insert("text".into(), json!(text));
    if let Some(s) = style(marks) {
        el.insert("style".into(), s);
    }
    Value::Object(el)
}

fn inlines(inl: &[Inline], extra: &Marks) -> Vec<Value> {
    let mut out = Vec::with_capacity(inl.len());
    for node in inl {
        match node {
            Inline::Text { text, marks } => {
                let m = Marks {
                    bold: marks.bold || extra.bold,
                    italic: marks.italic || extra.italic,
                    strike: marks.strike || extra.strike,
                    code: marks.code,
                    underline: marks.underline,
                    link: marks.link.clone(),
                };
                match &m.link {
                    Some(url) => {
                        let mut el = Map::new();
                        el.insert("type".into(), json!("link"));
                        el.insert("url".into(), json!(url));
                        el.insert("text".into(), json!(text));
                        if let Some(s) = style(&m) {
                            el.insert("style".into(), s);
                        }
                        out.push(Value::Object(el));
                    }
                    None => out.push(text_el(text, &m)),
                }
            }
            Inline::HardBreak => out.push(text_el("\n", &Marks::default())),
            Inline::Mention(m) => out.push(match m.kind {
                MentionKind::User => json!({ "type": "user", "user_id": m.id }),
                MentionKind::Usergroup => json!({ "type": "usergroup", "usergroup_id": m.id }),
                MentionKind::Channel => json!({ "type": "channel", "channel_id": m.id }),
                MentionKind::Team => json!({ "type": "team", "team_id": m.id }),
                MentionKind::Broadcast => json!({ "type": "broadcast", "range": m.id }),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::richtext::{NoResolver, from_blockkit_value, from_markdown};

    #[test]
    fn lists_flatten_with_offsets_and_come_back() {
        let doc = from_markdown("2. a\n   - x\n3. b\n");
        let bk = to_blockkit(&doc);
        let els = &bk[0]["elements"];
        assert_eq!(els[0]["offset"], 1);
        assert_eq!(els[1]["indent"], 1);
        assert_eq!(els[2]["offset"], 2);
        assert_eq!(from_blockkit_value(&bk, &NoResolver).unwrap(), doc);
    }
}
