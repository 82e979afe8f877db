//! Markdown (CommonMark + GFM strikethrough and tables) in, via pulldown-cmark's event
//! stream, and GFM Markdown out.
//!
//! The writer is built so that Markdown -> TipTap -> Markdown is stable (a property test
//! checks it): text is escaped where a character could start markup (always for `\ * [ ] <
//! ~` and backticks; `_` and `&` only where they could act; block starters only at the start
//! of a line), mark delimiters open in order of how far each mark runs (the longest
//! outermost, so `***a** b*` survives), whitespace is moved outside delimiters, and sibling
//! lists alternate their markers so they do not merge. Markdown has no mentions: they are
//! written as `@label` text.

use super::MAX_DEPTH;
use super::doc::{Block, Cell, Doc, Inline, ListItem, Marks};
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::fmt::Write as _;

/// Parses Markdown into a document.
pub fn from_markdown(text: &str) -> Doc {
    Doc::new(parse_blocks(text))
}

pub(crate) fn parse_blocks(text: &str) -> Vec<Block> {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TABLES);
    let mut b = Builder { stack: vec![Frame::Container(Vec::new(), Vec::new())], ..Builder::default() };
    for event in Parser::new_ext(text, opts) {
        b.event(event);
    }
    while b.stack.len() > 1 {
        b.end();
    }
    match b.stack.pop() {
        Some(Frame::Container(mut blocks, inl)) => {
            if !inl.is_empty() {
                blocks.push(Block::Paragraph(inl));
            }
            blocks
        }
        _ => Vec::new(),
    }
}

enum Frame {
    /// Root, blockquote content, list item content, or a flattened container past the depth
    /// bound: blocks plus loose inline content (tight list items have no paragraphs).
    Container(Vec<Block>, Vec<Inline>),
    Quote(Vec<Block>, Vec<Inline>),
    Item(Vec<Block>, Vec<Inline>),
    Flat(Vec<Block>, Vec<Inline>),
    List(Option<u64>, Vec<ListItem>),
    Para(Vec<Inline>),
    Heading(u8, Vec<Inline>),
    Code(Option<String>, String),
    Table(Vec<Vec<Cell>>),
    Row(bool, Vec<Cell>),
    CellF(bool, Vec<Inline>),
    Image(String, Option<String>, String),
    /// A tag we only track so its end pops the right frame (emphasis, links, HTML).
    Mark,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    bold: u32,
    italic: u32,
    strike: u32,
    links: Vec<String>,
    depth: usize,
}

impl Builder {
    fn marks(&self) -> Marks {
        Marks {
            bold: self.bold > 0,
            italic: self.italic > 0,
            strike: self.strike > 0,
            code: false,
            underline: false,
            link: self.links.last().cloned(),
        }
    }

    /// Where inline content goes now.
    fn inlines(&mut self) -> Option<&mut Vec<Inline>> {
        for frame in self.stack.iter_mut().rev() {
            match frame {
                Frame::Mark => continue,
                Frame::Container(_, i)
                | Frame::Quote(_, i)
                | Frame::Item(_, i)
                | Frame::Flat(_, i)
                | Frame::Para(i)
                | Frame::Heading(_, i)
                | Frame::CellF(_, i) => return Some(i),
                _ => return None,
            }
        }
        None
    }

    fn text(&mut self, text: &str, marks: Marks) {
        match self.stack.iter_mut().rev().find(|f| !matches!(f, Frame::Mark)) {
            Some(Frame::Code(_, s)) => s.push_str(text),
            Some(Frame::Image(_, _, alt)) => alt.push_str(text),
            _ => {
                if let Some(inl) = self.inlines() {
                    // TipTap text may not hold newlines outside code: they are hard breaks.
                    for (i, line) in text.split('\n').enumerate() {
                        if i > 0 {
                            inl.push(Inline::HardBreak);
                        }
                        if !line.is_empty() {
                            inl.push(Inline::Text { text: line.to_string(), marks: marks.clone() });
                        }
                    }
                }
            }
        }
    }

    /// Adds a finished block to the innermost container.
    fn add_block(&mut self, block: Block) {
        for frame in self.stack.iter_mut().rev() {
            match frame {
                Frame::Container(b, i) | Frame::Quote(b, i) | Frame::Item(b, i) | Frame::Flat(b, i) => {
                    if !i.is_empty() {
                        b.push(Block::Paragraph(std::mem::take(i)));
                    }
                    b.push(block);
                    return;
                }
                Frame::CellF(_, i) => {
                    // GFM cells hold inline content only; keep the text of what lands here.
                    i.extend(block_text(&block));
                    return;
                }
                _ => {}
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let container_ok = self.depth < MAX_DEPTH - 2;
        let frame = match tag {
            Tag::Paragraph | Tag::HtmlBlock => Frame::Para(Vec::new()),
            Tag::Heading { level, .. } => Frame::Heading(heading_level(level), Vec::new()),
            Tag::BlockQuote(_) if container_ok => {
                self.depth += 1;
                Frame::Quote(Vec::new(), Vec::new())
            }
            Tag::List(start) if container_ok => {
                self.depth += 1;
                Frame::List(start, Vec::new())
            }
            Tag::Item if matches!(self.stack.last(), Some(Frame::List(..))) => {
                Frame::Item(Vec::new(), Vec::new())
            }
            Tag::BlockQuote(_) | Tag::List(_) | Tag::Item => Frame::Flat(Vec::new(), Vec::new()),
            Tag::CodeBlock(kind) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().map(str::to_string).filter(|l| !l.is_empty())
                    }
                    CodeBlockKind::Indented => None,
                };
                Frame::Code(lang, String::new())
            }
            Tag::Table(_) => Frame::Table(Vec::new()),
            Tag::TableHead => Frame::Row(true, Vec::new()),
            Tag::TableRow => Frame::Row(false, Vec::new()),
            Tag::TableCell => {
                let header = matches!(self.stack.last(), Some(Frame::Row(true, _)));
                Frame::CellF(header, Vec::new())
            }
            Tag::Emphasis => {
                self.italic += 1;
                Frame::Mark
            }
            Tag::Strong => {
                self.bold += 1;
                Frame::Mark
            }
            Tag::Strikethrough => {
                self.strike += 1;
                Frame::Mark
            }
            Tag::Link { dest_url, .. } => {
                self.links.push(dest_url.to_string());
                Frame::Mark
            }
            Tag::Image { dest_url, title, .. } => {
                let title = Some(title.to_string()).filter(|t| !t.is_empty());
                Frame::Image(dest_url.to_string(), title, String::new())
            }
            _ => Frame::Mark,
        };
        self.stack.push(frame);
    }

    fn end_tag(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Emphasis => self.italic = self.italic.saturating_sub(1),
            TagEnd::Strong => self.bold = self.bold.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link => {
                self.links.pop();
            }
            _ => {}
        }
        self.end();
    }

    fn end(&mut self) {
        let Some(frame) = self.stack.pop() else { return };
        match frame {
            Frame::Para(inl) => self.add_block(Block::Paragraph(inl)),
            Frame::Heading(level, content) => self.add_block(Block::Heading { level, content }),
            Frame::Quote(mut b, i) => {
                self.depth -= 1;
                if !i.is_empty() {
                    b.push(Block::Paragraph(i));
                }
                self.add_block(Block::Blockquote(b));
            }
            Frame::Flat(mut b, i) => {
                if !i.is_empty() {
                    b.push(Block::Paragraph(i));
                }
                for block in b {
                    self.add_block(block);
                }
            }
            Frame::Item(mut b, i) => {
                if !i.is_empty() {
                    b.push(Block::Paragraph(i));
                }
                if let Some(Frame::List(_, items)) = self.stack.last_mut() {
                    items.push(ListItem { content: b });
                }
            }
            Frame::List(start, items) => {
                self.depth -= 1;
                self.add_block(match start {
                    Some(start) => Block::OrderedList { start, items },
                    None => Block::BulletList(items),
                });
            }
            Frame::Code(language, mut text) => {
                if text.ends_with('\n') {
                    text.pop();
                }
                self.add_block(Block::CodeBlock { language, text });
            }
            Frame::Table(rows) => self.add_block(Block::Table(rows)),
            Frame::Row(_, cells) => {
                if let Some(Frame::Table(rows)) = self.stack.last_mut() {
                    rows.push(cells);
                }
            }
            Frame::CellF(header, inl) => {
                if let Some(Frame::Row(_, cells)) = self.stack.last_mut() {
                    cells.push(Cell { header, content: vec![Block::Paragraph(inl)] });
                }
            }
            Frame::Image(src, title, alt) => {
                let alt = Some(alt).filter(|a| !a.is_empty());
                // TipTap images are blocks: split the paragraph around them.
                match self.stack.last_mut() {
                    Some(Frame::Para(inl)) => {
                        let before = std::mem::take(inl);
                        if !before.is_empty() {
                            self.add_block_below(Block::Paragraph(before));
                        }
                        self.add_block_below(Block::Image { src, alt, title });
                    }
                    _ => {
                        let text = alt.unwrap_or(src);
                        let marks = self.marks();
                        self.text(&text, marks);
                    }
                }
            }
            Frame::Container(b, i) => {
                // Only the root is a Container; never popped here.
                self.stack.push(Frame::Container(b, i));
            }
            Frame::Mark => {}
        }
    }

    /// Adds a block to the container below the current paragraph.
    fn add_block_below(&mut self, block: Block) {
        if let Some(top) = self.stack.pop() {
            self.add_block(block);
            self.stack.push(top);
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end_tag(tag),
            Event::Text(t) => {
                let m = self.marks();
                self.text(&t, m);
            }
            Event::Code(t) => {
                let m = Marks { code: true, link: self.links.last().cloned(), ..Marks::default() };
                self.text(&t, m);
            }
            Event::Html(t) | Event::InlineHtml(t) => {
                let m = self.marks();
                self.text(&t, m);
            }
            Event::SoftBreak => {
                let m = self.marks();
                self.text(" ", m);
            }
            Event::HardBreak => {
                if let Some(inl) = self.inlines() {
                    inl.push(Inline::HardBreak);
                }
            }
            Event::Rule => self.add_block(Block::HorizontalRule),
            _ => {}
        }
    }
}

fn heading_level(l: HeadingLevel) -> u8 {
    match l {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Inline content standing for a block (for places that hold inline content only).
fn block_text(block: &Block) -> Vec<Inline> {
    match block {
        Block::Paragraph(i) | Block::Heading { content: i, .. } => i.clone(),
        Block::CodeBlock { text, .. } => vec![Inline::text(text.replace('\n', " "), Marks::default())],
        Block::Image { src, alt, .. } => vec![Inline::plain(alt.clone().unwrap_or_else(|| src.clone()))],
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Markdown out

/// Writes a document as GFM Markdown (ends with one newline unless empty).
pub fn to_markdown(doc: &Doc) -> String {
    // Markdown is rarely longer than the text it holds; a guess from the first blocks saves
    // the early doublings of a growing String.
    let mut out = String::with_capacity(256 + 64 * doc.content.len());
    let mut pool = Vec::new();
    write_blocks(&mut out, &doc.content, true, &mut pool);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Scratch buffers for nested containers (list items and quotes are written apart, then
/// indented into their parent), reused so a message costs a handful of allocations, not one
/// per item.
type Pool = Vec<String>;

fn take(pool: &mut Pool) -> String {
    pool.pop().unwrap_or_default()
}

fn give(pool: &mut Pool, mut s: String) {
    s.clear();
    pool.push(s);
}

/// Writes blocks separated by blank lines (no trailing newline).
fn write_blocks(out: &mut String, blocks: &[Block], top: bool, pool: &mut Pool) {
    let mut prev: Option<&Block> = None;
    let mut alt_bullet = false;
    let mut alt_ordered = false;
    for block in blocks {
        if matches!(block, Block::Paragraph(i) if is_blank(i)) {
            continue;
        }
        if let Some(p) = prev {
            // A list right after an item's paragraph keeps the list tight.
            // Only a list that may interrupt a paragraph: its first item has text, and an
            // ordered one starts at 1 (CommonMark's rule).
            let tight = !top && matches!(p, Block::Paragraph(_)) && can_interrupt_paragraph(block);
            out.push_str(if tight { "\n" } else { "\n\n" });
        }
        match block {
            Block::BulletList(_) => {
                alt_bullet = matches!(prev, Some(Block::BulletList(_))) && !alt_bullet;
            }
            Block::OrderedList { .. } => {
                alt_ordered = matches!(prev, Some(Block::OrderedList { .. })) && !alt_ordered;
            }
            _ => {}
        }
        write_block(out, block, alt_bullet, alt_ordered, pool);
        prev = Some(block);
    }
}

fn can_interrupt_paragraph(b: &Block) -> bool {
    let first_has_text = |items: &[ListItem]| matches!(items.first().and_then(|i| i.content.first()), Some(Block::Paragraph(i)) if !is_blank(i));
    match b {
        Block::BulletList(items) => first_has_text(items),
        Block::OrderedList { start, items } => *start == 1 && first_has_text(items),
        _ => false,
    }
}

fn is_blank(inl: &[Inline]) -> bool {
    inl.iter().all(|i| matches!(i, Inline::Text { text, .. } if text.trim_matches([' ', '\t']).is_empty()))
}

fn write_block(out: &mut String, block: &Block, alt_bullet: bool, alt_ordered: bool, pool: &mut Pool) {
    match block {
        Block::Paragraph(inl) => write_inlines(out, inl, Ctx::Paragraph),
        Block::Heading { level, content } => {
            for _ in 0..*level {
                out.push('#');
            }
            out.push(' ');
            let before = out.len();
            write_inlines(out, content, Ctx::Heading);
            if out.len() == before {
                out.pop();
            }
        }
        Block::BulletList(items) => {
            let marker = if alt_bullet { "*" } else { "-" };
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push('\n');
                }
                write_item(out, marker, item, pool);
            }
        }
        Block::OrderedList { start, items } => {
            let delim = if alt_ordered { ')' } else { '.' };
            let mut marker = take(pool);
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push('\n');
                }
                marker.clear();
                let _ = write!(marker, "{}{delim}", start + n as u64);
                write_item(out, &marker, item, pool);
            }
            give(pool, marker);
        }
        Block::Blockquote(inner) => {
            let mut s = take(pool);
            write_blocks(&mut s, inner, false, pool);
            for (n, line) in s.split('\n').enumerate() {
                if n > 0 {
                    out.push('\n');
                }
                if line.is_empty() {
                    out.push('>');
                } else {
                    out.push_str("> ");
                    out.push_str(line);
                }
            }
            give(pool, s);
        }
        Block::CodeBlock { language, text } => {
            let longest = longest_run(text, '`');
            let fence = "`".repeat(longest.max(2) + 1);
            out.push_str(&fence);
            if let Some(lang) = language {
                for c in lang.chars().filter(|c| !c.is_whitespace() && *c != '`') {
                    if c.is_ascii_punctuation() {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            out.push('\n');
            if !text.is_empty() {
                out.push_str(text);
                out.push('\n');
            }
            out.push_str(&fence);
        }
        Block::HorizontalRule => out.push_str("---"),
        Block::Image { src, alt, title } => {
            out.push_str("![");
            escape_into(out, alt.as_deref().unwrap_or(""), false, Ctx::Paragraph);
            out.push_str("](");
            write_dest(out, src);
            if let Some(t) = title {
                out.push_str(" \"");
                for c in t.chars() {
                    if matches!(c, '"' | '\\') {
                        out.push('\\');
                    }
                    out.push(if c == '\n' { ' ' } else { c });
                }
                out.push('"');
            }
            out.push(')');
        }
        Block::Table(rows) => write_table(out, rows),
    }
}

/// Enough spaces to indent under any list marker (at most 9 digits and a delimiter).
const PAD: &str = "            ";

fn write_item(out: &mut String, marker: &str, item: &ListItem, pool: &mut Pool) {
    let starts_with_text = matches!(item.content.first(), Some(Block::Paragraph(i)) if !is_blank(i));
    out.push_str(marker);
    // A one-paragraph item (the common case) needs no indenting pass: write it in place.
    // (Text from TipTap JSON may hold a raw newline; then the general path indents it.)
    if starts_with_text
        && let [Block::Paragraph(inl)] = item.content.as_slice()
        && !inl.iter().any(|i| matches!(i, Inline::HardBreak))
    {
        let start = out.len();
        out.push(' ');
        write_inlines(out, inl, Ctx::Paragraph);
        if out.len() == start + 1 {
            out.pop();
            return;
        }
        if !out[start..].contains('\n') {
            return;
        }
        out.truncate(start);
    }
    let mut s = take(pool);
    write_blocks(&mut s, &item.content, false, pool);
    let pad = &PAD[..(marker.len() + 1).min(PAD.len())];
    if s.is_empty() {
        give(pool, s);
        return;
    }
    if starts_with_text {
        out.push(' ');
    } else {
        // An item that starts with something other than text begins on the next line, so
        // `- ***` cannot read as a thematic break.
        out.push('\n');
        out.push_str(pad);
    }
    for (n, line) in s.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(pad);
            }
        }
        out.push_str(line);
    }
    give(pool, s);
}

fn write_table(out: &mut String, rows: &[Vec<Cell>]) {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    for (r, row) in rows.iter().enumerate() {
        if r > 0 {
            out.push('\n');
        }
        out.push('|');
        for c in 0..width {
            out.push(' ');
            if let Some(cell) = row.get(c) {
                let mut inl = Vec::new();
                for (n, b) in cell.content.iter().enumerate() {
                    if n > 0 {
                        inl.push(Inline::plain(" "));
                    }
                    inl.extend(block_text(b));
                }
                write_inlines(out, &inl, Ctx::Table);
            }
            out.push_str(" |");
        }
        if r == 0 {
            out.push_str("\n|");
            for _ in 0..width {
                out.push_str(" --- |");
            }
        }
    }
}

fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for c in s.chars() {
        if c == ch {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

fn write_dest(out: &mut String, dest: &str) {
    if !dest.is_empty()
        && dest
            .bytes()
            .all(|b| b > b' ' && b != 0x7f && !matches!(b, b'(' | b')' | b'<' | b'>' | b'\\' | b'&'))
    {
        out.push_str(dest);
        return;
    }
    let angle =
        dest.is_empty() || dest.chars().any(|c| c.is_whitespace() || c.is_control() || "()<>".contains(c));
    if angle {
        out.push('<');
    }
    let mut chars = dest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '&' if chars.peek().is_some_and(|n| n.is_ascii_alphanumeric() || *n == '#') => {
                out.push_str("\\&")
            }
            '\n' | '\r' => out.push_str("%0A"),
            _ => out.push(c),
        }
    }
    if angle {
        out.push('>');
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Paragraph,
    Heading,
    Table,
}

/// A mark a delimiter can open and close.
#[derive(Clone, Copy, PartialEq)]
enum M<'a> {
    Bold,
    Italic,
    Strike,
    Link(&'a str),
}

impl M<'_> {
    fn open(&self) -> &'static str {
        match self {
            M::Bold => "**",
            M::Italic => "*",
            M::Strike => "~~",
            M::Link(_) => "[",
        }
    }
    /// The opener, avoiding `*` right after a `*` delimiter (`*a***b**` is ambiguous).
    /// `next` is the first character after the run this mark covers: `_` cannot close
    /// before a letter, so then `*` stays.
    fn opener(&self, out: &str, closed_end: usize, next: Option<char>) -> &'static str {
        let after_star =
            out.len() == closed_end && out.ends_with('*') && !next.is_some_and(char::is_alphanumeric);
        match self {
            M::Bold if after_star => "__",
            M::Italic if after_star => "_",
            _ => self.open(),
        }
    }

    fn close(&self, delim: &str, out: &mut String) {
        match self {
            M::Bold | M::Italic | M::Strike => out.push_str(delim),
            M::Link(href) => {
                out.push_str("](");
                write_dest(out, href);
                out.push(')');
            }
        }
    }
    fn is_delim(&self) -> bool {
        !matches!(self, M::Link(_))
    }
}

/// The delimiter marks of one inline node (no allocation per node).
#[derive(Clone, Copy, Default)]
struct Ms<'a> {
    link: Option<&'a str>,
    bold: bool,
    italic: bool,
    strike: bool,
}

impl<'a> Ms<'a> {
    fn of(inline: &'a Inline) -> Ms<'a> {
        match inline {
            Inline::Text { marks, .. } => Ms {
                link: marks.link.as_deref(),
                bold: marks.bold,
                italic: marks.italic,
                strike: marks.strike,
            },
            _ => Ms::default(),
        }
    }
    fn contains(&self, m: &M<'_>) -> bool {
        match m {
            M::Bold => self.bold,
            M::Italic => self.italic,
            M::Strike => self.strike,
            M::Link(l) => self.link == Some(*l),
        }
    }
    fn iter(self) -> impl Iterator<Item = M<'a>> {
        [
            self.link.map(M::Link),
            self.bold.then_some(M::Bold),
            self.italic.then_some(M::Italic),
            self.strike.then_some(M::Strike),
        ]
        .into_iter()
        .flatten()
    }
}

/// Writes inline content with marks. See the module comment for the rules.
fn write_inlines(out: &mut String, inl: &[Inline], ctx: Ctx) {
    // How many nodes from i on carry mark m (for ordering the openers).
    let run = |i: usize, m: &M| inl[i..].iter().take_while(|n| Ms::of(n).contains(m)).count();
    // Whether the node after i carries mark m.
    let next_has = |i: usize, m: &M| inl.get(i + 1).is_some_and(|n| Ms::of(n).contains(m));
    // Each of the four delimiter marks opens at most once: small inline stacks, no allocation.
    let mut open: Stack4<M<'_>> = Stack4::new(M::Bold);
    let mut delims: Stack4<&'static str> = Stack4::new("");
    // Where the last closing delimiter ended, to spot a closer directly before an opener.
    let mut closed_end = usize::MAX;
    let mut closed_after_punct = false;
    let mut line_start = true;
    for (i, node) in inl.iter().enumerate() {
        let want = &Ms::of(node);
        // Close everything above the lowest open mark that ends here.
        if let Some(pos) = open.iter().position(|m| !want.contains(m)) {
            while open.len() > pos {
                if let Some(m) = open.pop() {
                    let after_punct = out.chars().next_back().is_some_and(is_punct);
                    m.close(delims.pop().unwrap_or(""), out);
                    closed_end = out.len();
                    closed_after_punct = after_punct && m.is_delim();
                }
            }
        }
        match node {
            Inline::HardBreak => {
                while let Some(m) = open.pop() {
                    let after_punct = out.chars().next_back().is_some_and(is_punct);
                    m.close(delims.pop().unwrap_or(""), out);
                    closed_end = out.len();
                    closed_after_punct = after_punct && m.is_delim();
                }
                trim_trailing_ws(out);
                if ctx == Ctx::Paragraph {
                    out.push_str("\\\n");
                    line_start = true;
                } else {
                    out.push(' ');
                }
            }
            Inline::Mention(m) => {
                let label = m.label.as_deref().unwrap_or(&m.id);
                let text = format!("{}{}", m.kind.sigil(), label);
                escape_into(out, &text, line_start, ctx);
                line_start = false;
            }
            Inline::Text { text, marks } => {
                let mut text: &str = text;
                if marks.code {
                    if !text.is_empty() {
                        write_code(out, text, ctx);
                        line_start = false;
                    }
                    continue;
                }
                if line_start {
                    text = text.trim_start_matches([' ', '\t']);
                }
                let mut to_open: Stack4<M<'_>> = Stack4::new(M::Bold);
                for m in want.iter().filter(|m| !open.contains(m)) {
                    to_open.push(m);
                }
                let opens_delim = to_open.iter().any(M::is_delim);
                let closes_delim = open.iter().chain(to_open.iter()).any(|m| m.is_delim() && !next_has(i, m));
                let trimmed_start = if opens_delim { text.trim_start() } else { text };
                let lead = &text[..text.len() - trimmed_start.len()];
                let core = if closes_delim { trimmed_start.trim_end() } else { trimmed_start };
                let trail = &trimmed_start[core.len()..];
                if core.is_empty() {
                    // Whitespace alone cannot carry delimiters: close what ends here first.
                    if let Some(pos) = open.iter().position(|m| !next_has(i, m)) {
                        while open.len() > pos {
                            if let Some(m) = open.pop() {
                                m.close(delims.pop().unwrap_or(""), out);
                                closed_end = out.len();
                                closed_after_punct = false;
                            }
                        }
                    }
                    escape_into(out, text, line_start, ctx);
                    line_start = line_start && text.is_empty();
                    continue;
                }
                escape_into(out, lead, line_start, ctx);
                // Flanking rules: an opener between a letter and punctuation cannot open, a
                // closer between punctuation and a letter cannot close. Spelling the letter
                // as a character reference (`&#97;`) keeps the text and makes them work.
                let first = core.chars().next();
                if to_open.iter().any(M::is_delim)
                    && (first.is_some_and(is_punct) || to_open.iter().any(|m| !m.is_delim()))
                    && let Some(last) = out.chars().next_back()
                    && last.is_alphanumeric()
                {
                    out.pop();
                    out.push_str(&format!("&#{};", last as u32));
                }
                let mut core = core;
                if lead.is_empty()
                    && out.len() == closed_end
                    && closed_after_punct
                    && to_open.is_empty()
                    && let Some(c) = first.filter(|c| c.is_alphanumeric())
                {
                    out.push_str(&format!("&#{};", c as u32));
                    core = &core[c.len_utf8()..];
                }
                // Longest-running marks open first (outermost).
                to_open.sort_by_key(|m| std::cmp::Reverse(run(i, m)));
                for &m in to_open.iter() {
                    // `!` right before a link's `[` would make it an image.
                    if matches!(m, M::Link(_)) && out.ends_with('!') && !out.ends_with("\\!") {
                        out.pop();
                        out.push_str("\\!");
                    }
                    let next = match inl.get(i + run(i, &m)) {
                        Some(Inline::Text { text, .. }) => text.chars().next(),
                        Some(Inline::Mention(_)) => Some('@'),
                        _ => None,
                    };
                    let d = m.opener(out, closed_end, next);
                    out.push_str(d);
                    delims.push(d);
                    open.push(m);
                }
                escape_into(out, core, line_start && lead.is_empty(), ctx);
                line_start = false;
                if !trail.is_empty() {
                    if let Some(pos) = open.iter().position(|m| !next_has(i, m)) {
                        while open.len() > pos {
                            if let Some(m) = open.pop() {
                                m.close(delims.pop().unwrap_or(""), out);
                                closed_end = out.len();
                            }
                        }
                    }
                    escape_into(out, trail, false, ctx);
                }
            }
        }
    }
    while let Some(m) = open.pop() {
        m.close(delims.pop().unwrap_or(""), out);
    }
    if ctx != Ctx::Table {
        trim_trailing_ws(out);
    }
}

/// A stack of at most four items kept inline (the marks of one text node: link, bold, italic,
/// strike). Pushing a fifth is a bug, and is ignored rather than panicking.
struct Stack4<T: Copy> {
    items: [T; 4],
    len: usize,
}

impl<T: Copy> Stack4<T> {
    fn new(fill: T) -> Self {
        Stack4 { items: [fill; 4], len: 0 }
    }
    fn push(&mut self, item: T) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = item;
            self.len += 1;
        }
    }
    fn pop(&mut self) -> Option<T> {
        self.len = self.len.checked_sub(1)?;
        Some(self.items[self.len])
    }
}

impl<T: Copy> std::ops::Deref for Stack4<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items[..self.len]
    }
}

impl<T: Copy> std::ops::DerefMut for Stack4<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }
}

/// CommonMark's punctuation for the flanking rules (approximately Unicode P and S).
fn is_punct(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace()
}

fn trim_trailing_ws(out: &mut String) {
    while out.ends_with([' ', '\t']) {
        out.pop();
    }
}

fn write_code(out: &mut String, text: &str, ctx: Ctx) {
    let text = text.replace('\n', " ");
    let fence = "`".repeat(longest_run(&text, '`') + 1);
    let pad = text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ') && text.ends_with(' ') && !text.trim().is_empty());
    out.push_str(&fence);
    if pad {
        out.push(' ');
    }
    if ctx == Ctx::Table {
        out.push_str(&text.replace('|', "\\|"));
    } else {
        out.push_str(&text);
    }
    if pad {
        out.push(' ');
    }
    out.push_str(&fence);
}

/// Escapes text so it reads back as the same text.
fn escape_into(out: &mut String, text: &str, line_start: bool, ctx: Ctx) {
    let bytes = text.as_bytes();
    let mut from = 0;
    if line_start && let Some(&first) = bytes.first() {
        // Block starters only count at the start of a line: `#`, `>`, `-`, `+`, `=` (setext),
        // and `12.` / `3)` (ordered lists).
        let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        if matches!(first, b'#' | b'>' | b'-' | b'+' | b'=') {
            out.push('\\');
            out.push(first as char);
            from = 1;
        } else if (1..=9).contains(&digits) && matches!(bytes.get(digits), Some(b'.' | b')')) {
            out.push_str(&text[..digits]);
            out.push('\\');
            out.push(bytes[digits] as char);
            from = digits + 1;
        }
    }
    // Every character that needs care is ASCII, so scanning bytes is safe; runs without one
    // are copied whole.
    let mut run = from;
    for i in from..bytes.len() {
        let esc = match bytes[i] {
            b'\\' | b'`' | b'*' | b'[' | b']' | b'<' | b'~' => true,
            b'_' => {
                let prev = text[..i].chars().next_back();
                let next = text[i + 1..].chars().next();
                !(prev.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric))
            }
            b'&' => bytes.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'#'),
            b'|' => ctx == Ctx::Table,
            b'#' => ctx == Ctx::Heading,
            _ => false,
        };
        if esc {
            out.push_str(&text[run..i]);
            out.push('\\');
            run = i;
        }
    }
    out.push_str(&text[run..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(md: &str) -> String {
        to_markdown(&from_markdown(md))
    }

    #[test]
    fn round_trips() {
        for md in [
            "# Title\n\nSome **bold**, *it*, ~~gone~~, `code` and [a link](https://x.y/).\n",
            "- a\n- b\n  1. c\n  2. d\n- e\n",
            "> quote\n> - in list\n",
            "```rust\nfn main() {}\n```\n",
            "| a | b |\n| --- | --- |\n| 1 | 2 \\| 3 |\n",
            "![alt](https://img/x.png \"title\")\n",
            "***a** b*\n",
            "line\\\nbreak\n",
            "---\n",
            "3. three\n4. four\n",
        ] {
            assert_eq!(rt(md), md, "for {md:?}");
        }
    }

    #[test]
    fn escapes_read_back() {
        for md in ["1\\. not a list\n", "\\# not a heading\n", "a\\*b\\* \\_c\\_ snake_case\n", "\\- x\n"] {
            assert_eq!(rt(md), md);
        }
    }

    #[test]
    fn sibling_lists_stay_apart() {
        let doc = Doc::new(vec![
            Block::BulletList(vec![ListItem { content: vec![Block::Paragraph(vec![Inline::plain("a")])] }]),
            Block::BulletList(vec![ListItem { content: vec![Block::Paragraph(vec![Inline::plain("b")])] }]),
        ]);
        let md = to_markdown(&doc);
        assert_eq!(md, "- a\n\n* b\n");
        assert_eq!(from_markdown(&md), doc);
    }

    #[test]
    fn deep_nesting_is_flattened_not_overflowed() {
        let md = "> ".repeat(10_000) + "deep";
        let doc = from_markdown(&md);
        assert!(to_markdown(&doc).contains("deep"));
    }
}
