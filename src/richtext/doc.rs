//! The TipTap document model, its JSON form, and the normaliser that makes every document we
//! build satisfy TipTap's schema (StarterKit + Mention + Image + Table).
//!
//! The schema rules we enforce (DESIGN §4): `doc`, `blockquote`, list items and table cells
//! hold blocks only and at least one; a `listItem` starts with a `paragraph`; lists hold at
//! least one item; text nodes are never empty; the `code` mark excludes every other mark
//! (TipTap's `excludes: '_'`), except that a link wins over `code` because a clickable target
//! matters more than a monospace face.

use super::error::ConvertError;
use super::{MAX_DEPTH, MentionKind};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

/// A TipTap document: `{"type":"doc","content":[...]}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Doc {
    pub content: Vec<Block>,
}

/// Block nodes, named as TipTap names them.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    Heading {
        level: u8,
        content: Vec<Inline>,
    },
    BulletList(Vec<ListItem>),
    OrderedList {
        start: u64,
        items: Vec<ListItem>,
    },
    Blockquote(Vec<Block>),
    CodeBlock {
        language: Option<String>,
        text: String,
    },
    HorizontalRule,
    Image {
        src: String,
        alt: Option<String>,
        title: Option<String>,
    },
    /// Rows of cells; the schema's `tableRow` level is implicit.
    Table(Vec<Vec<Cell>>),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListItem {
    pub content: Vec<Block>,
}

/// A `tableCell`, or a `tableHeader` when `header` is set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cell {
    pub header: bool,
    pub content: Vec<Block>,
}

/// Inline nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text { text: String, marks: Marks },
    Mention(Mention),
    HardBreak,
}

/// A `mention` node. TipTap's Mention extension has the attributes `id`, `label` and
/// `mentionSuggestionChar`; the kind travels in the char (`#` for channels) and the id's
/// Slack prefix (see [`Mention::kind_from`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub kind: MentionKind,
    pub id: String,
    /// The label known when the document was built; renderers ask the resolver again first.
    pub label: Option<String>,
}

impl Mention {
    pub fn new(kind: MentionKind, id: impl Into<String>, label: Option<String>) -> Self {
        Mention { kind, id: id.into(), label }
    }

    /// Recovers the kind from TipTap attributes: `#` is a channel; otherwise the Slack id
    /// prefix tells (`S` user group, `T`/`E` team, `here`/`channel`/`everyone` broadcast).
    pub fn kind_from(ch: Option<&str>, id: &str) -> MentionKind {
        if ch == Some("#") {
            return MentionKind::Channel;
        }
        match id {
            "here" | "channel" | "everyone" => MentionKind::Broadcast,
            _ if id.starts_with('S') && is_slack_id(id) => MentionKind::Usergroup,
            _ if (id.starts_with('T') || id.starts_with('E')) && is_slack_id(id) => MentionKind::Team,
            _ => MentionKind::User,
        }
    }
}

fn is_slack_id(id: &str) -> bool {
    id.len() >= 3 && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Marks of a text node. `link` holds the `href` of a `link` mark.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Marks {
    pub bold: bool,
    pub italic: bool,
    pub strike: bool,
    pub code: bool,
    pub underline: bool,
    pub link: Option<String>,
}

impl Marks {
    pub fn is_empty(&self) -> bool {
        !(self.bold || self.italic || self.strike || self.code || self.underline || self.link.is_some())
    }

    /// Applies TipTap's exclusion rule: `code` excludes every other mark. A link keeps its
    /// other marks and drops `code` instead (see the module comment).
    pub fn normalized(mut self) -> Marks {
        if self.code {
            if self.link.is_some() {
                self.code = false;
            } else {
                self = Marks { code: true, ..Marks::default() };
            }
        }
        self
    }
}

impl Inline {
    pub fn text(text: impl Into<String>, marks: Marks) -> Inline {
        Inline::Text { text: text.into(), marks }
    }
    pub fn plain(text: impl Into<String>) -> Inline {
        Inline::Text { text: text.into(), marks: Marks::default() }
    }
}

impl Doc {
    pub fn new(content: Vec<Block>) -> Doc {
        let mut doc = Doc { content };
        doc.normalize();
        doc
    }

    /// Reads TipTap JSON. Unknown node types keep their content (or text) so nothing a newer
    /// editor writes is lost silently; unknown marks and attributes are ignored. Structural
    /// errors name the JSON path (`$.content[2].content[0]`).
    pub fn from_json(value: &Value) -> Result<Doc, ConvertError> {
        let obj =
            value.as_object().ok_or_else(|| ConvertError::shape("$", "expected a TipTap document object"))?;
        match obj.get("type").and_then(Value::as_str) {
            Some("doc") => {}
            Some(other) => {
                return Err(ConvertError::shape("$.type", format!("expected \"doc\", found \"{other}\"")));
            }
            None => return Err(ConvertError::shape("$.type", "missing the node type \"doc\"")),
        }
        let mut reader = JsonReader { path: String::from("$") };
        let content = reader.blocks(obj, 0)?;
        Ok(Doc::new(content))
    }

    /// The TipTap JSON value of this document.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The TipTap JSON text of this document (compact).
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Makes the document satisfy the schema rules (module comment). Idempotent.
    pub fn normalize(&mut self) {
        normalize_blocks(&mut self.content, 0);
        if self.content.is_empty() {
            self.content.push(Block::Paragraph(Vec::new()));
        }
    }

    /// True when the document has no visible content.
    pub fn is_empty(&self) -> bool {
        self.content.iter().all(|b| matches!(b, Block::Paragraph(c) if c.is_empty()))
    }
}

// ---------------------------------------------------------------------------------------------
// Normalisation

fn normalize_blocks(blocks: &mut Vec<Block>, depth: usize) {
    // Past the depth bound, nested containers are flattened into their parent.
    if depth >= MAX_DEPTH {
        let mut out = Vec::with_capacity(blocks.len());
        for block in blocks.drain(..) {
            flatten_into(block, &mut out);
        }
        *blocks = out;
        return;
    }
    // In place: this runs on every container of every converted message.
    blocks.retain_mut(|block| match block {
        Block::Paragraph(inl) => {
            normalize_inlines(inl);
            true
        }
        Block::Heading { level, content } => {
            normalize_inlines(content);
            *level = (*level).clamp(1, 6);
            true
        }
        Block::BulletList(items) => {
            normalize_items(items, depth);
            !items.is_empty()
        }
        Block::OrderedList { start, items } => {
            normalize_items(items, depth);
            *start = (*start).min(999_999_999);
            !items.is_empty()
        }
        Block::Blockquote(inner) => {
            normalize_blocks(inner, depth + 1);
            !inner.is_empty()
        }
        Block::Table(rows) => {
            let width = rows.iter().map(Vec::len).max().unwrap_or(0);
            for row in rows.iter_mut() {
                let header = row.first().is_some_and(|c| c.header);
                row.resize_with(width, || Cell { header, content: Vec::new() });
                for cell in row.iter_mut() {
                    normalize_blocks(&mut cell.content, depth + 1);
                    if cell.content.is_empty() {
                        cell.content.push(Block::Paragraph(Vec::new()));
                    }
                }
            }
            width > 0
        }
        Block::CodeBlock { language, .. } => {
            if language.as_ref().is_some_and(|l| l.trim().is_empty()) {
                *language = None;
            }
            true
        }
        Block::HorizontalRule | Block::Image { .. } => true,
    });
}

fn normalize_items(items: &mut [ListItem], depth: usize) {
    for item in items.iter_mut() {
        normalize_blocks(&mut item.content, depth + 1);
        if !matches!(item.content.first(), Some(Block::Paragraph(_))) {
            item.content.insert(0, Block::Paragraph(Vec::new()));
        }
    }
}

/// Puts a block that lies too deep into `out` without its nesting: lists and quotes give up
/// their paragraphs; everything else is kept as is (it holds no further blocks).
fn flatten_into(block: Block, out: &mut Vec<Block>) {
    match block {
        Block::BulletList(items) | Block::OrderedList { items, .. } => {
            for item in items {
                for b in item.content {
                    flatten_into(b, out);
                }
            }
        }
        Block::Blockquote(inner) => {
            for b in inner {
                flatten_into(b, out);
            }
        }
        Block::Table(rows) => {
            for cell in rows.into_iter().flatten() {
                for b in cell.content {
                    flatten_into(b, out);
                }
            }
        }
        Block::Paragraph(mut inl) => {
            normalize_inlines(&mut inl);
            out.push(Block::Paragraph(inl));
        }
        Block::Heading { level, mut content } => {
            normalize_inlines(&mut content);
            out.push(Block::Heading { level: level.clamp(1, 6), content });
        }
        other => out.push(other),
    }
}

/// Drops empty text, applies the mark exclusion rule and merges neighbours with equal marks.
/// Works in place: this runs on every paragraph of every converted message.
pub(crate) fn normalize_inlines(inlines: &mut Vec<Inline>) {
    let mut w = 0;
    for r in 0..inlines.len() {
        if let Inline::Text { text, marks } = &mut inlines[r] {
            if text.is_empty() {
                continue;
            }
            if marks.code
                && (marks.link.is_some() || marks.bold || marks.italic || marks.strike || marks.underline)
            {
                *marks = std::mem::take(marks).normalized();
            }
        }
        if w > 0
            && let (Inline::Text { text: prev, marks: pm }, Inline::Text { text, marks }) =
                pair_mut(inlines, w - 1, r)
            && pm == marks
        {
            let t = std::mem::take(text);
            prev.push_str(&t);
            continue;
        }
        inlines.swap(w, r);
        w += 1;
    }
    inlines.truncate(w);
    // A trailing hard break shows nothing and cannot be written in Markdown.
    while matches!(inlines.last(), Some(Inline::HardBreak)) {
        inlines.pop();
    }
}

/// Two distinct elements of a slice, mutably (`a < b`).
fn pair_mut(v: &mut [Inline], a: usize, b: usize) -> (&mut Inline, &mut Inline) {
    let (left, right) = v.split_at_mut(b);
    (&mut left[a], &mut right[0])
}

// ---------------------------------------------------------------------------------------------
// JSON out

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", "doc")?;
        m.serialize_entry("content", &Blocks(&self.content))?;
        m.end()
    }
}

impl<'de> serde::Deserialize<'de> for Doc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
        let value = Value::deserialize(d)?;
        Doc::from_json(&value).map_err(serde::de::Error::custom)
    }
}

struct Blocks<'a>(&'a [Block]);

impl Serialize for Blocks<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for b in self.0 {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
}

struct Inlines<'a>(&'a [Inline]);

impl Serialize for Inlines<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for i in self.0 {
            seq.serialize_element(i)?;
        }
        seq.end()
    }
}

struct Items<'a>(&'a [ListItem]);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&Node { ty: "listItem", content: Some(&Blocks(&item.content)) })?;
        }
        seq.end()
    }
}

struct Rows<'a>(&'a [Vec<Cell>]);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for row in self.0 {
            seq.serialize_element(&Node { ty: "tableRow", content: Some(&Cells(row)) })?;
        }
        seq.end()
    }
}

struct Cells<'a>(&'a [Cell]);

impl Serialize for Cells<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for cell in self.0 {
            let ty = if cell.header { "tableHeader" } else { "tableCell" };
            seq.serialize_element(&Node { ty, content: Some(&Blocks(&cell.content)) })?;
        }
        seq.end()
    }
}

/// A node with only a type and (optionally) content.
struct Node<'a, C: Serialize> {
    ty: &'a str,
    content: Option<&'a C>,
}

impl<C: Serialize> Serialize for Node<'_, C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.ty)?;
        if let Some(c) = self.content {
            m.serialize_entry("content", c)?;
        }
        m.end()
    }
}

impl Serialize for Block {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Block::Paragraph(c) => {
                m.serialize_entry("type", "paragraph")?;
                if !c.is_empty() {
                    m.serialize_entry("content", &Inlines(c))?;
                }
            }
            Block::Heading { level, content } => {
                m.serialize_entry("type", "heading")?;
                m.serialize_entry("attrs", &serde_json::json!({ "level": level }))?;
                if !content.is_empty() {
                    m.serialize_entry("content", &Inlines(content))?;
                }
            }
            Block::BulletList(items) => {
                m.serialize_entry("type", "bulletList")?;
                m.serialize_entry("content", &Items(items))?;
            }
            Block::OrderedList { start, items } => {
                m.serialize_entry("type", "orderedList")?;
                m.serialize_entry("attrs", &serde_json::json!({ "start": start }))?;
                m.serialize_entry("content", &Items(items))?;
            }
            Block::Blockquote(inner) => {
                m.serialize_entry("type", "blockquote")?;
                m.serialize_entry("content", &Blocks(inner))?;
            }
            Block::CodeBlock { language, text } => {
                m.serialize_entry("type", "codeBlock")?;
                m.serialize_entry("attrs", &serde_json::json!({ "language": language }))?;
                if !text.is_empty() {
                    m.serialize_entry("content", &[serde_json::json!({ "type": "text", "text": text })])?;
                }
            }
            Block::HorizontalRule => m.serialize_entry("type", "horizontalRule")?,
            Block::Image { src, alt, title } => {
                m.serialize_entry("type", "image")?;
                m.serialize_entry("attrs", &serde_json::json!({ "src": src, "alt": alt, "title": title }))?;
            }
            Block::Table(rows) => {
                m.serialize_entry("type", "table")?;
                m.serialize_entry("content", &Rows(rows))?;
            }
        }
        m.end()
    }
}

impl Serialize for Inline {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Inline::Text { text, marks } => {
                m.serialize_entry("type", "text")?;
                m.serialize_entry("text", text)?;
                if !marks.is_empty() {
                    m.serialize_entry("marks", marks)?;
                }
            }
            Inline::HardBreak => m.serialize_entry("type", "hardBreak")?,
            Inline::Mention(mention) => {
                m.serialize_entry("type", "mention")?;
                let ch = if mention.kind == MentionKind::Channel { "#" } else { "@" };
                m.serialize_entry(
                    "attrs",
                    &serde_json::json!({ "id": mention.id, "label": mention.label, "mentionSuggestionChar": ch }),
                )?;
            }
        }
        m.end()
    }
}

impl Serialize for Marks {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for (on, name) in [
            (self.bold, "bold"),
            (self.italic, "italic"),
            (self.strike, "strike"),
            (self.underline, "underline"),
            (self.code, "code"),
        ] {
            if on {
                seq.serialize_element(&serde_json::json!({ "type": name }))?;
            }
        }
        if let Some(href) = &self.link {
            seq.serialize_element(&serde_json::json!({ "type": "link", "attrs": { "href": href } }))?;
        }
        seq.end()
    }
}

// ---------------------------------------------------------------------------------------------
// JSON in

struct JsonReader {
    path: String,
}

impl JsonReader {
    fn err(&self, message: impl Into<String>) -> ConvertError {
        ConvertError::shape(self.path.clone(), message)
    }

    /// Runs `f` with `.content[i]` appended to the path.
    fn at<T>(
        &mut self,
        suffix: &str,
        f: impl FnOnce(&mut Self) -> Result<T, ConvertError>,
    ) -> Result<T, ConvertError> {
        let len = self.path.len();
        self.path.push_str(suffix);
        let r = f(self);
        self.path.truncate(len);
        r
    }

    fn content<'v>(&mut self, node: &'v Map<String, Value>) -> Result<&'v [Value], ConvertError> {
        match node.get("content") {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => self.at(".content", |r| Err(r.err("expected an array of nodes"))),
        }
    }

    fn blocks(&mut self, node: &Map<String, Value>, depth: usize) -> Result<Vec<Block>, ConvertError> {
        if depth > MAX_DEPTH {
            return Err(ConvertError::TooDeep { path: self.path.clone(), limit: MAX_DEPTH });
        }
        let content = self.content(node)?;
        let mut out = Vec::with_capacity(content.len());
        let mut pending: Vec<Inline> = Vec::new();
        for (i, child) in content.iter().enumerate() {
            self.at(&format!(".content[{i}]"), |r| r.block(child, depth, &mut out, &mut pending))?;
        }
        if !pending.is_empty() {
            out.push(Block::Paragraph(pending));
        }
        Ok(out)
    }

    /// Reads one child of a block container; stray inline nodes are gathered into a paragraph.
    fn block(
        &mut self,
        value: &Value,
        depth: usize,
        out: &mut Vec<Block>,
        pending: &mut Vec<Inline>,
    ) -> Result<(), ConvertError> {
        let node = value.as_object().ok_or_else(|| self.err("expected a node object"))?;
        let ty = node_type(node).ok_or_else(|| self.err("missing the node \"type\""))?;
        if matches!(ty, "text" | "hardBreak" | "mention") {
            self.inline(node, ty, pending)?;
            return Ok(());
        }
        if !pending.is_empty() {
            out.push(Block::Paragraph(std::mem::take(pending)));
        }
        let attrs = node.get("attrs").and_then(Value::as_object);
        let attr_str = |k: &str| attrs.and_then(|a| a.get(k)).and_then(Value::as_str).map(str::to_string);
        let block = match ty {
            "paragraph" => Block::Paragraph(self.inlines(node)?),
            "heading" => {
                let level = attrs.and_then(|a| a.get("level")).and_then(Value::as_u64).unwrap_or(1);
                Block::Heading { level: level.clamp(1, 6) as u8, content: self.inlines(node)? }
            }
            "bulletList" => Block::BulletList(self.items(node, depth)?),
            "orderedList" => {
                let start = attrs.and_then(|a| a.get("start")).and_then(Value::as_u64).unwrap_or(1);
                Block::OrderedList { start, items: self.items(node, depth)? }
            }
            "blockquote" => Block::Blockquote(self.blocks(node, depth + 1)?),
            "codeBlock" => {
                let mut text = String::new();
                for (i, child) in self.content(node)?.iter().enumerate() {
                    if let Some(t) = child.get("text").and_then(Value::as_str) {
                        text.push_str(t);
                    } else if child.get("type").and_then(Value::as_str) == Some("hardBreak") {
                        text.push('\n');
                    } else {
                        return self.at(&format!(".content[{i}]"), |r| Err(r.err("expected a text node")));
                    }
                }
                Block::CodeBlock { language: attr_str("language"), text }
            }
            "horizontalRule" => Block::HorizontalRule,
            "image" => Block::Image {
                src: attr_str("src").unwrap_or_default(),
                alt: attr_str("alt"),
                title: attr_str("title"),
            },
            "table" => {
                let mut rows = Vec::new();
                for (i, row) in self.content(node)?.iter().enumerate() {
                    rows.push(self.at(&format!(".content[{i}]"), |r| r.row(row, depth))?);
                }
                Block::Table(rows)
            }
            // Unknown container: keep what it holds.
            _ => {
                let inner = self.blocks(node, depth + 1)?;
                out.extend(inner);
                return Ok(());
            }
        };
        out.push(block);
        Ok(())
    }

    fn row(&mut self, value: &Value, depth: usize) -> Result<Vec<Cell>, ConvertError> {
        let node = value.as_object().ok_or_else(|| self.err("expected a tableRow object"))?;
        let mut cells = Vec::new();
        for (i, cell) in self.content(node)?.iter().enumerate() {
            let c = self.at(&format!(".content[{i}]"), |r| {
                let obj = cell.as_object().ok_or_else(|| r.err("expected a table cell object"))?;
                let header = node_type(obj) == Some("tableHeader");
                Ok(Cell { header, content: r.blocks(obj, depth + 1)? })
            })?;
            cells.push(c);
        }
        Ok(cells)
    }

    fn items(&mut self, node: &Map<String, Value>, depth: usize) -> Result<Vec<ListItem>, ConvertError> {
        let mut items = Vec::new();
        for (i, child) in self.content(node)?.iter().enumerate() {
            let item = self.at(&format!(".content[{i}]"), |r| {
                let obj = child.as_object().ok_or_else(|| r.err("expected a listItem object"))?;
                Ok(ListItem { content: r.blocks(obj, depth + 1)? })
            })?;
            items.push(item);
        }
        Ok(items)
    }

    fn inlines(&mut self, node: &Map<String, Value>) -> Result<Vec<Inline>, ConvertError> {
        let mut out = Vec::new();
        for (i, child) in self.content(node)?.iter().enumerate() {
            self.at(&format!(".content[{i}]"), |r| {
                let obj = child.as_object().ok_or_else(|| r.err("expected an inline node object"))?;
                let ty = node_type(obj).ok_or_else(|| r.err("missing the node \"type\""))?;
                r.inline(obj, ty, &mut out)
            })?;
        }
        Ok(out)
    }

    fn inline(
        &mut self,
        node: &Map<String, Value>,
        ty: &str,
        out: &mut Vec<Inline>,
    ) -> Result<(), ConvertError> {
        match ty {
            "text" => {
                let text = match node.get("text") {
                    Some(Value::String(s)) => s.clone(),
                    _ => return self.at(".text", |r| Err(r.err("expected a string"))),
                };
                let marks = self.marks(node)?;
                out.push(Inline::Text { text, marks });
            }
            "hardBreak" => out.push(Inline::HardBreak),
            "mention" => {
                let attrs = node.get("attrs").and_then(Value::as_object);
                let get = |k: &str| attrs.and_then(|a| a.get(k)).and_then(Value::as_str);
                let Some(id) = get("id") else {
                    return self.at(".attrs.id", |r| Err(r.err("a mention needs a string id")));
                };
                let kind = Mention::kind_from(get("mentionSuggestionChar"), id);
                out.push(Inline::Mention(Mention::new(kind, id, get("label").map(str::to_string))));
            }
            // Unknown inline node: keep its text, if any.
            _ => {
                if let Some(t) = node.get("text").and_then(Value::as_str) {
                    out.push(Inline::plain(t));
                }
            }
        }
        Ok(())
    }

    fn marks(&mut self, node: &Map<String, Value>) -> Result<Marks, ConvertError> {
        let mut marks = Marks::default();
        let list = match node.get("marks") {
            None | Some(Value::Null) => return Ok(marks),
            Some(Value::Array(a)) => a,
            Some(_) => return self.at(".marks", |r| Err(r.err("expected an array of marks"))),
        };
        for mark in list {
            match mark.get("type").and_then(Value::as_str) {
                Some("bold") => marks.bold = true,
                Some("italic") => marks.italic = true,
                Some("strike") => marks.strike = true,
                Some("code") => marks.code = true,
                Some("underline") => marks.underline = true,
                Some("link") => {
                    marks.link = mark.pointer("/attrs/href").and_then(Value::as_str).map(str::to_string);
                }
                _ => {}
            }
        }
        Ok(marks)
    }
}

fn node_type(node: &Map<String, Value>) -> Option<&str> {
    node.get("type").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_doc_gets_one_paragraph() {
        let doc = Doc::new(vec![]);
        assert_eq!(doc.to_json(), json!({"type":"doc","content":[{"type":"paragraph"}]}));
    }

    #[test]
    fn list_item_starts_with_paragraph_and_empty_lists_vanish() {
        let doc = Doc::new(vec![
            Block::BulletList(vec![ListItem { content: vec![Block::HorizontalRule] }]),
            Block::OrderedList { start: 1, items: vec![] },
            Block::Blockquote(vec![]),
        ]);
        assert_eq!(
            doc.to_json(),
            json!({"type":"doc","content":[{"type":"bulletList","content":[{"type":"listItem","content":[
                {"type":"paragraph"},{"type":"horizontalRule"}]}]}]})
        );
    }

    #[test]
    fn code_mark_excludes_others_but_link_wins() {
        let bold_code = Marks { bold: true, code: true, ..Marks::default() }.normalized();
        assert_eq!(bold_code, Marks { code: true, ..Marks::default() });
        let linked =
            Marks { bold: true, code: true, link: Some("u".into()), ..Marks::default() }.normalized();
        assert!(!linked.code && linked.bold && linked.link.is_some());
    }

    #[test]
    fn json_round_trip() {
        let v = json!({"type":"doc","content":[
            {"type":"heading","attrs":{"level":2},"content":[{"type":"text","text":"Hi"}]},
            {"type":"paragraph","content":[
                {"type":"text","text":"a","marks":[{"type":"bold"},{"type":"link","attrs":{"href":"https://x"}}]},
                {"type":"hardBreak"},
                {"type":"mention","attrs":{"id":"C1","label":"general","mentionSuggestionChar":"#"}}]},
            {"type":"orderedList","attrs":{"start":3},"content":[{"type":"listItem","content":[{"type":"paragraph"}]}]},
            {"type":"codeBlock","attrs":{"language":"rust"},"content":[{"type":"text","text":"fn x() {}"}]},
            {"type":"table","content":[{"type":"tableRow","content":[{"type":"tableHeader","content":[{"type":"paragraph"}]}]}]}
        ]});
        let doc = Doc::from_json(&v).unwrap();
        let back = doc.to_json();
        assert_eq!(Doc::from_json(&back).unwrap(), doc);
        assert_eq!(back["content"][1]["content"][2]["attrs"]["mentionSuggestionChar"], "#");
    }

    #[test]
    fn errors_name_the_path() {
        let v = json!({"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":5}]}]});
        let e = Doc::from_json(&v).unwrap_err();
        assert_eq!(e.path(), Some("$.content[0].content[0].text"));
    }

    #[test]
    fn too_deep_is_an_error() {
        let mut v = json!({"type":"paragraph"});
        for _ in 0..(MAX_DEPTH + 5) {
            v = json!({"type":"blockquote","content":[v]});
        }
        let doc = json!({"type":"doc","content":[v]});
        assert!(matches!(Doc::from_json(&doc), Err(ConvertError::TooDeep { .. })));
    }

    #[test]
    fn mention_kind_from_ids() {
        assert_eq!(Mention::kind_from(Some("@"), "U123"), MentionKind::User);
        assert_eq!(Mention::kind_from(Some("@"), "S0614TZR7"), MentionKind::Usergroup);
        assert_eq!(Mention::kind_from(None, "here"), MentionKind::Broadcast);
        assert_eq!(Mention::kind_from(Some("#"), "C1"), MentionKind::Channel);
        assert_eq!(Mention::kind_from(None, "T0123ABC"), MentionKind::Team);
    }
}
