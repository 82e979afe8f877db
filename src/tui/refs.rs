//! What a conversation points at: the links an agent may open (`o`) and the mentions whose
//! labels come from one batched `/resolve`. Pure: reads parsed documents and the original
//! Block Kit, never the network.

use crate::model::{EntityRef, Message, RefKind};
use crate::richtext::{self, Block, Doc, Inline, MentionKind};
use std::collections::{HashMap, HashSet};

/// A link found in the conversation, ready to show in the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub url: String,
    /// The linked text (sanitised), or the URL when the text is the URL itself.
    pub text: String,
}

/// The schemes `o` opens. Everything else (javascript:, file:, data:, custom app schemes,
/// and anything that could be read as a command-line option) is left out.
const SCHEMES: [&str; 3] = ["https://", "http://", "mailto:"];

/// A URL from outside, checked for what an opener may receive: one of [`SCHEMES`], no
/// whitespace, no control or bidi characters (the sanitiser would have to change it), and a
/// bounded length. Returns the URL as it will be handed over.
pub fn safe_url(raw: &str) -> Option<String> {
    let url = raw.trim();
    if url.is_empty() || url.len() > 4096 {
        return None;
    }
    if richtext::sanitize(url) != url || url.chars().any(char::is_whitespace) {
        return None;
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let scheme = SCHEMES.iter().find(|s| lower.starts_with(*s))?;
    // Something must follow the scheme.
    (url.len() > scheme.len()).then(|| url.to_string())
}

fn walk_blocks<'a>(blocks: &'a [Block], f: &mut dyn FnMut(&'a Inline)) {
    for b in blocks {
        match b {
            Block::Paragraph(content) | Block::Heading { content, .. } => content.iter().for_each(&mut *f),
            Block::BulletList(items) | Block::OrderedList { items, .. } => {
                items.iter().for_each(|i| walk_blocks(&i.content, f))
            }
            Block::Blockquote(inner) => walk_blocks(inner, f),
            Block::Table(rows) => rows.iter().flatten().for_each(|c| walk_blocks(&c.content, f)),
            Block::CodeBlock { .. } | Block::HorizontalRule | Block::Image { .. } => {}
        }
    }
}

/// The links of a document in reading order, each URL once. Text split across several nodes
/// with the same link (bold inside a link) is joined into one label.
pub fn doc_links(doc: &Doc, out: &mut Vec<Link>) {
    let first_new = out.len();
    let mut last: Option<String> = None;
    walk_blocks(&doc.content, &mut |inline| {
        let Inline::Text { text, marks } = inline else {
            last = None;
            return;
        };
        let Some(url) = marks.link.as_deref().and_then(safe_url) else {
            last = None;
            return;
        };
        let text = richtext::sanitize(text);
        match out.iter_mut().find(|l| l.url == url) {
            Some(existing) if last.as_deref() == Some(url.as_str()) => existing.text.push_str(&text),
            Some(_) => {}
            None => out.push(Link { text: text.into_owned(), url: url.clone() }),
        }
        last = Some(url);
    });
    for link in &mut out[first_new..] {
        let text = link.text.split_whitespace().collect::<Vec<_>>().join(" ");
        link.text = if text.is_empty() { link.url.clone() } else { text };
    }
}

/// The links to offer for an open ticket: its own link first, then those of the messages.
pub fn conversation_links<'a>(
    ticket_url: Option<&str>,
    messages: impl IntoIterator<Item = &'a Doc>,
) -> Vec<Link> {
    let mut out = Vec::new();
    if let Some(url) = ticket_url.and_then(safe_url) {
        out.push(Link { text: "this ticket".into(), url });
    }
    for doc in messages {
        doc_links(doc, &mut out);
    }
    out
}

/// The `/resolve` kind for a mention, when the server can resolve that kind at all. User
/// groups, teams and broadcasts (`@here`) have no entity behind them on our side: they show the
/// label they carry.
pub fn ref_kind(kind: MentionKind) -> Option<RefKind> {
    match kind {
        MentionKind::User => Some(RefKind::SlackUser),
        MentionKind::Channel => Some(RefKind::SlackChannel),
        MentionKind::Usergroup | MentionKind::Team | MentionKind::Broadcast => None,
    }
}

/// Mention kinds as the original Block Kit states them (`user`, `usergroup`, `channel`,
/// `team`, `broadcast` elements), by id. Slack's own element type is the authority; the
/// TipTap document only keeps a sigil and the id.
fn source_kinds(source: &serde_json::Value, out: &mut HashMap<String, MentionKind>) {
    use serde_json::Value;
    match source {
        Value::Object(map) => {
            let id = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_string);
            let found = match map.get("type").and_then(Value::as_str) {
                Some("user") => id("user_id").map(|i| (i, MentionKind::User)),
                Some("usergroup") => id("usergroup_id").map(|i| (i, MentionKind::Usergroup)),
                Some("channel") => id("channel_id").map(|i| (i, MentionKind::Channel)),
                Some("team") => id("team_id").map(|i| (i, MentionKind::Team)),
                Some("broadcast") => id("range").map(|i| (i, MentionKind::Broadcast)),
                _ => None,
            };
            if let Some((id, kind)) = found {
                out.insert(id, kind);
            }
            map.values().for_each(|v| source_kinds(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| source_kinds(v, out)),
        _ => {}
    }
}

/// The mentions of a message to resolve, each with the kind the rich text carries: the
/// original Block Kit element type when the message came from Slack, else the TipTap
/// mention's own kind (its `#`/`@` sigil and id).
pub fn mention_refs(message: &Message, doc: &Doc, out: &mut Vec<EntityRef>) {
    let mut from_source = HashMap::new();
    if let Some(source) = &message.body.source {
        source_kinds(source, &mut from_source);
    }
    walk_blocks(&doc.content, &mut |inline| {
        if let Inline::Mention(m) = inline {
            let kind = from_source.get(&m.id).copied().unwrap_or(m.kind);
            if let Some(kind) = ref_kind(kind) {
                out.push(EntityRef { kind, id: m.id.clone() });
            }
        }
    });
}

/// Mention labels from `/resolve`, by kind and id: a user and a channel may share an id
/// string, and an unknown id is remembered as unknown so it is not asked for again.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    known: HashMap<RefKind, HashMap<String, Option<String>>>,
    asked: HashSet<EntityRef>,
}

impl Labels {
    /// The resolved label of a mention, if the server knew it.
    pub fn get(&self, kind: MentionKind, id: &str) -> Option<String> {
        let kind = ref_kind(kind)?;
        self.known.get(&kind)?.get(id)?.clone()
    }

    /// The refs not known yet and not already asked for, deduplicated; marks them asked.
    pub fn to_ask(&mut self, refs: Vec<EntityRef>) -> Vec<EntityRef> {
        let mut out = Vec::new();
        for r in refs {
            let known = self.known.get(&r.kind).is_some_and(|m| m.contains_key(&r.id));
            if !known && self.asked.insert(r.clone()) {
                out.push(r);
            }
        }
        out
    }

    pub fn insert(&mut self, kind: RefKind, id: String, label: Option<String>) {
        self.asked.remove(&EntityRef { kind, id: id.clone() });
        self.known.entry(kind).or_default().insert(id, label);
    }

    /// A failed `/resolve`: forget what was asked so the next load asks again.
    pub fn failed(&mut self) {
        self.asked.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: serde_json::Value) -> Doc {
        Doc::from_json(&v).unwrap()
    }

    #[test]
    fn safe_url_keeps_web_and_mail_links_only() {
        assert_eq!(safe_url(" https://example.com/a?b=c "), Some("https://example.com/a?b=c".into()));
        assert_eq!(safe_url("HTTP://EXAMPLE.COM"), Some("HTTP://EXAMPLE.COM".into()));
        assert_eq!(safe_url("mailto:ada@example.com"), Some("mailto:ada@example.com".into()));
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,x",
            "-oProxyCommand=evil",
            "--help",
            "https://",
            "https://ex ample.com",
            "https://example.com/\u{1b}]52;c;x\u{7}",
            "https://example.com/\u{202e}moc",
            "slack://open",
            "",
        ] {
            assert_eq!(safe_url(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn links_come_in_reading_order_once_with_their_text() {
        let d = doc(json!({"type":"doc","content":[
            {"type":"paragraph","content":[
                {"type":"text","text":"See "},
                {"type":"text","text":"the ","marks":[{"type":"link","attrs":{"href":"https://status.example.com"}}]},
                {"type":"text","text":"status page","marks":[{"type":"bold"},{"type":"link","attrs":{"href":"https://status.example.com"}}]},
                {"type":"text","text":" or "},
                {"type":"text","text":"click","marks":[{"type":"link","attrs":{"href":"javascript:alert(1)"}}]}
            ]},
            {"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[
                {"type":"text","text":"mail us","marks":[{"type":"link","attrs":{"href":"mailto:help@example.com"}}]}
            ]}]}]},
            {"type":"blockquote","content":[{"type":"paragraph","content":[
                {"type":"text","text":"again","marks":[{"type":"link","attrs":{"href":"https://status.example.com"}}]}
            ]}]}
        ]}));
        let links = conversation_links(Some("https://slack.example.com/archives/C1/p1"), [&d]);
        assert_eq!(
            links,
            vec![
                Link { url: "https://slack.example.com/archives/C1/p1".into(), text: "this ticket".into() },
                Link { url: "https://status.example.com".into(), text: "the status page".into() },
                Link { url: "mailto:help@example.com".into(), text: "mail us".into() },
            ]
        );
        // Markdown autolinks and link syntax count too.
        let md =
            richtext::from_markdown("Docs: <https://docs.example.com> and [API](http://api.example.com/v1)");
        let links = conversation_links(None, [&md]);
        let urls: Vec<&str> = links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(urls, ["https://docs.example.com", "http://api.example.com/v1"]);
    }

    #[test]
    fn mention_kinds_come_from_the_rich_text_not_the_id_prefix() {
        // TipTap: `#` makes a channel whatever the id looks like; an `S` id is a user group.
        let d = doc(json!({"type":"doc","content":[{"type":"paragraph","content":[
            {"type":"mention","attrs":{"id":"U1AAA","label":null,"mentionSuggestionChar":"@"}},
            {"type":"mention","attrs":{"id":"G0PRIV","label":"secret","mentionSuggestionChar":"#"}},
            {"type":"mention","attrs":{"id":"S0614TZR7","label":"managers","mentionSuggestionChar":"@"}},
            {"type":"mention","attrs":{"id":"here","mentionSuggestionChar":"@"}},
            {"type":"mention","attrs":{"id":"W0ENTERPRISE","mentionSuggestionChar":"@"}}
        ]}]}));
        let mut m = crate::tui::fixtures::messages(crate::model::TicketId(1)).remove(0);
        m.body.source = None;
        let mut refs = Vec::new();
        mention_refs(&m, &d, &mut refs);
        assert_eq!(
            refs,
            vec![
                EntityRef { kind: RefKind::SlackUser, id: "U1AAA".into() },
                EntityRef { kind: RefKind::SlackChannel, id: "G0PRIV".into() },
                EntityRef { kind: RefKind::SlackUser, id: "W0ENTERPRISE".into() },
            ]
        );
        // Block Kit says what each element is: a `channel` element stays a channel even when
        // the stored TipTap lost its sigil, and a `usergroup` is never asked for as a user.
        m.body.source =
            Some(json!({"blocks":[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[
                {"type":"channel","channel_id":"U1AAA"},
                {"type":"usergroup","usergroup_id":"W0ENTERPRISE"}
            ]}]}]}));
        let mut refs = Vec::new();
        mention_refs(&m, &d, &mut refs);
        assert_eq!(
            refs,
            vec![
                EntityRef { kind: RefKind::SlackChannel, id: "U1AAA".into() },
                EntityRef { kind: RefKind::SlackChannel, id: "G0PRIV".into() },
            ]
        );
    }

    #[test]
    fn labels_cache_by_kind_and_remember_unknown_ids() {
        let mut l = Labels::default();
        let user = EntityRef { kind: RefKind::SlackUser, id: "C1".into() };
        let chan = EntityRef { kind: RefKind::SlackChannel, id: "C1".into() };
        assert_eq!(
            l.to_ask(vec![user.clone(), chan.clone(), user.clone()]),
            vec![user.clone(), chan.clone()]
        );
        // Asked already: not asked twice while the answer is on its way.
        assert!(l.to_ask(vec![user.clone()]).is_empty());
        l.insert(RefKind::SlackUser, "C1".into(), Some("Cleo".into()));
        l.insert(RefKind::SlackChannel, "C1".into(), None);
        assert_eq!(l.get(MentionKind::User, "C1").as_deref(), Some("Cleo"));
        assert_eq!(l.get(MentionKind::Channel, "C1"), None);
        assert_eq!(l.get(MentionKind::Usergroup, "C1"), None);
        // Both answers are cached, the unknown one too.
        assert!(l.to_ask(vec![user, chan.clone()]).is_empty());
        let other = EntityRef { kind: RefKind::SlackUser, id: "U9".into() };
        assert_eq!(l.to_ask(vec![other.clone()]), vec![other.clone()]);
        l.failed();
        assert_eq!(l.to_ask(vec![other.clone()]), vec![other]);
    }
}
