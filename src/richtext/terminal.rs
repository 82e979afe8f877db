//! TipTap to ratatui `Text` for the console (and, through [`super::ansi`], for
//! `desk convert --to ansi`).
//!
//! Every string that reaches a span goes through [`sanitize`] first: this renderer is the
//! one path from outside text to the terminal. Styles come from a role-based [`Styles`] set
//! (the console builds it from its theme; [`Styles::plain`] uses modifiers only, no colours).
//! Links are underlined and numbered, with the targets listed as footnotes at the end; quotes
//! get a bar; code blocks a box; lists Slack's markers (• ◦ ▪, then 1. a. i.); tables are
//! aligned; mentions are highlighted and their labels resolved again at render time.

use super::doc::{Block, Cell, Doc, Inline, ListItem, Marks};
use super::{EntityResolver, sanitize};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use unicode_width::UnicodeWidthStr;

/// The styles the renderer uses, one per semantic role.
#[derive(Debug, Clone, PartialEq)]
pub struct Styles {
    pub text: Style,
    pub muted: Style,
    pub bold: Style,
    pub italic: Style,
    pub strike: Style,
    pub underline: Style,
    pub code: Style,
    pub code_block: Style,
    pub link: Style,
    pub quote: Style,
    pub mention: Style,
    pub heading: Style,
    pub list_marker: Style,
    pub table_border: Style,
    pub table_header: Style,
}

impl Styles {
    /// Modifiers only, no colours: readable on any terminal and under `NO_COLOR`.
    pub fn plain() -> Styles {
        let m = |m: Modifier| Style::default().add_modifier(m);
        Styles {
            text: Style::default(),
            muted: m(Modifier::DIM),
            bold: m(Modifier::BOLD),
            italic: m(Modifier::ITALIC),
            strike: m(Modifier::CROSSED_OUT),
            underline: m(Modifier::UNDERLINED),
            code: m(Modifier::REVERSED),
            code_block: Style::default(),
            link: m(Modifier::UNDERLINED),
            quote: m(Modifier::DIM),
            mention: m(Modifier::BOLD),
            heading: m(Modifier::BOLD),
            list_marker: Style::default(),
            table_border: m(Modifier::DIM),
            table_header: m(Modifier::BOLD),
        }
    }
}

impl Default for Styles {
    fn default() -> Self {
        Styles::plain()
    }
}

/// Renders a document for the terminal.
pub fn to_text(doc: &Doc, styles: &Styles, resolver: &dyn EntityResolver) -> Text<'static> {
    let mut r = Renderer { styles, resolver, lines: Vec::new(), prefixes: Vec::new(), links: Vec::new() };
    r.blocks(&doc.content, 0);
    if !r.links.is_empty() {
        r.lines.push(Line::default());
        for (n, url) in std::mem::take(&mut r.links).into_iter().enumerate() {
            r.lines.push(Line::from(vec![
                Span::styled(format!("[{}] ", n + 1), styles.muted),
                Span::styled(sanitize(&url).into_owned(), styles.link),
            ]));
        }
    }
    Text::from(r.lines)
}

/// A line prefix: `first` is used for the next line only (a list marker), `rest` after.
struct Prefix {
    first: Option<Span<'static>>,
    rest: Span<'static>,
}

struct Renderer<'a> {
    styles: &'a Styles,
    resolver: &'a dyn EntityResolver,
    lines: Vec<Line<'static>>,
    prefixes: Vec<Prefix>,
    links: Vec<String>,
}

const BULLETS: [&str; 3] = ["•", "◦", "▪"];

impl Renderer<'_> {
    fn new_line(&mut self) -> Vec<Span<'static>> {
        let mut spans = Vec::new();
        for p in &mut self.prefixes {
            spans.push(p.first.take().unwrap_or_else(|| p.rest.clone()));
        }
        spans
    }

    fn push_line(&mut self, mut spans: Vec<Span<'static>>) {
        // Blank lines keep bars but lose trailing padding.
        while spans.last().is_some_and(|s| s.content.trim().is_empty() && spans.len() > 1) {
            let Some(last) = spans.last_mut() else { break };
            let trimmed = last.content.trim_end().to_string();
            if trimmed.is_empty() {
                spans.pop();
            } else {
                last.content = trimmed.into();
                break;
            }
        }
        self.lines.push(Line::from(spans));
    }

    fn blank(&mut self) {
        let mut spans = self.new_line();
        // A blank line inside a quote keeps its bar but not the space after it.
        if let Some(last) = spans.last_mut() {
            let trimmed = last.content.trim_end().to_string();
            last.content = trimmed.into();
        }
        self.push_line(spans);
    }

    fn blocks(&mut self, blocks: &[Block], list_depth: usize) {
        for (n, block) in blocks.iter().enumerate() {
            if n > 0 {
                let after_para_in_item =
                    list_depth > 0 && matches!(blocks[n - 1], Block::Paragraph(_)) && is_list(block);
                if !after_para_in_item {
                    self.blank();
                }
            }
            self.block(block, list_depth);
        }
    }

    fn block(&mut self, block: &Block, list_depth: usize) {
        let st = self.styles;
        match block {
            Block::Paragraph(inl) => self.inlines(inl, st.text),
            Block::Heading { content, .. } => self.inlines(content, st.text.patch(st.heading)),
            Block::BulletList(items) => {
                let marker = BULLETS[list_depth % BULLETS.len()];
                for item in items {
                    self.item(format!("{marker} "), item, list_depth);
                }
            }
            Block::OrderedList { start, items } => {
                let last = start + items.len().saturating_sub(1) as u64;
                let width = ordinal_marker(last, list_depth).width();
                for (i, item) in items.iter().enumerate() {
                    let m = ordinal_marker(start + i as u64, list_depth);
                    self.item(format!("{m:>width$} "), item, list_depth);
                }
            }
            Block::Blockquote(inner) => {
                self.prefixes.push(Prefix { first: None, rest: Span::styled("▎ ", st.quote) });
                self.blocks(inner, list_depth);
                self.prefixes.pop();
            }
            Block::CodeBlock { language, text } => self.code_block(language.as_deref(), text),
            Block::HorizontalRule => {
                let mut spans = self.new_line();
                spans.push(Span::styled("─".repeat(30), st.muted));
                self.push_line(spans);
            }
            Block::Image { src, alt, title } => {
                let label = alt.as_deref().or(title.as_deref()).unwrap_or("image");
                let mut spans = self.new_line();
                spans.push(Span::styled(format!("[image: {}]", sanitize(label)), st.muted));
                spans.push(self.footnote(src));
                self.push_line(spans);
            }
            Block::Table(rows) => self.table(rows),
        }
    }

    fn item(&mut self, marker: String, item: &ListItem, list_depth: usize) {
        let pad = " ".repeat(marker.width());
        let st = self.styles;
        self.prefixes
            .push(Prefix { first: Some(Span::styled(marker, st.list_marker)), rest: Span::raw(pad) });
        self.blocks(&item.content, list_depth + 1);
        self.prefixes.pop();
    }

    fn footnote(&mut self, href: &str) -> Span<'static> {
        let n = match self.links.iter().position(|l| l == href) {
            Some(i) => i + 1,
            None => {
                self.links.push(href.to_string());
                self.links.len()
            }
        };
        Span::styled(format!("[{n}]"), self.styles.muted)
    }

    fn mark_style(&self, base: Style, marks: &Marks) -> Style {
        let st = self.styles;
        let mut s = base;
        if marks.bold {
            s = s.patch(st.bold);
        }
        if marks.italic {
            s = s.patch(st.italic);
        }
        if marks.strike {
            s = s.patch(st.strike);
        }
        if marks.underline {
            s = s.patch(st.underline);
        }
        if marks.code {
            s = s.patch(st.code);
        }
        if marks.link.is_some() {
            s = s.patch(st.link);
        }
        s
    }

    /// Inline content as spans, split into lines at hard breaks and newlines.
    fn inline_lines(&mut self, inl: &[Inline], base: Style) -> Vec<Vec<Span<'static>>> {
        let mut lines = vec![Vec::new()];
        for (i, node) in inl.iter().enumerate() {
            match node {
                Inline::HardBreak => lines.push(Vec::new()),
                Inline::Mention(m) => {
                    let label = self.resolver.label(m.kind, &m.id).or_else(|| m.label.clone());
                    let text = format!("{}{}", m.kind.sigil(), label.as_deref().unwrap_or(&m.id));
                    if let Some(line) = lines.last_mut() {
                        line.push(Span::styled(
                            sanitize(&text).into_owned(),
                            base.patch(self.styles.mention),
                        ));
                    }
                }
                Inline::Text { text, marks } => {
                    let style = self.mark_style(base, marks);
                    let clean = sanitize(text);
                    for (n, part) in clean.split('\n').enumerate() {
                        if n > 0 {
                            lines.push(Vec::new());
                        }
                        if !part.is_empty()
                            && let Some(line) = lines.last_mut()
                        {
                            line.push(Span::styled(part.to_string(), style));
                        }
                    }
                    // A link run ends here: number it, unless its text already is its target.
                    if let Some(href) = &marks.link {
                        let next_same = matches!(inl.get(i + 1), Some(Inline::Text { marks: m, .. }) if m.link.as_ref() == Some(href));
                        if !next_same && text.trim() != href.as_str() && !href.is_empty() {
                            let note = self.footnote(href);
                            if let Some(line) = lines.last_mut() {
                                line.push(note);
                            }
                        }
                    }
                }
            }
        }
        lines
    }

    fn inlines(&mut self, inl: &[Inline], base: Style) {
        for content in self.inline_lines(inl, base) {
            let mut spans = self.new_line();
            spans.extend(content);
            self.push_line(spans);
        }
    }

    fn code_block(&mut self, language: Option<&str>, text: &str) {
        let st = self.styles;
        let clean = sanitize(text);
        let body: Vec<&str> = clean.split('\n').collect();
        let label = language.map(|l| sanitize(l).into_owned()).unwrap_or_default();
        let width = body.iter().map(|l| l.width()).max().unwrap_or(0).max(label.width() + 2);
        let mut top = self.new_line();
        let head = if label.is_empty() { String::new() } else { format!(" {label} ") };
        top.push(Span::styled(
            format!("┌─{head}{}┐", "─".repeat(width + 1 - head.width().min(width + 1))),
            st.table_border,
        ));
        self.push_line(top);
        for line in body {
            let mut spans = self.new_line();
            spans.push(Span::styled("│ ", st.table_border));
            spans.push(Span::styled(format!("{line}{}", " ".repeat(width - line.width())), st.code_block));
            spans.push(Span::styled(" │", st.table_border));
            self.push_line(spans);
        }
        let mut bottom = self.new_line();
        bottom.push(Span::styled(format!("└{}┘", "─".repeat(width + 2)), st.table_border));
        self.push_line(bottom);
    }

    fn table(&mut self, rows: &[Vec<Cell>]) {
        let st = self.styles;
        let ncols = rows.iter().map(Vec::len).max().unwrap_or(0);
        // Each cell flattened to one line of spans.
        let mut grid: Vec<Vec<(Vec<Span<'static>>, usize)>> = Vec::new();
        for row in rows {
            let mut out = Vec::new();
            for c in 0..ncols {
                let mut spans: Vec<Span<'static>> = Vec::new();
                if let Some(cell) = row.get(c) {
                    let base = if cell.header { st.text.patch(st.table_header) } else { st.text };
                    for block in &cell.content {
                        let inl = match block {
                            Block::Paragraph(i) | Block::Heading { content: i, .. } => i.clone(),
                            Block::CodeBlock { text, .. } => vec![Inline::plain(text.clone())],
                            _ => Vec::new(),
                        };
                        for (n, line) in self.inline_lines(&inl, base).into_iter().enumerate() {
                            if (n > 0 || !spans.is_empty()) && !line.is_empty() {
                                spans.push(Span::raw(" "));
                            }
                            spans.extend(line);
                        }
                    }
                }
                let w = spans.iter().map(|s| s.content.width()).sum();
                out.push((spans, w));
            }
            grid.push(out);
        }
        let widths: Vec<usize> = (0..ncols).map(|c| grid.iter().map(|r| r[c].1).max().unwrap_or(0)).collect();
        let header = rows.first().is_some_and(|r| r.iter().any(|c| c.header));
        for (r, row) in grid.into_iter().enumerate() {
            let mut spans = self.new_line();
            for (c, (cell, w)) in row.into_iter().enumerate() {
                if c > 0 {
                    spans.push(Span::styled(" │ ", st.table_border));
                }
                spans.extend(cell);
                if c + 1 < ncols {
                    spans.push(Span::raw(" ".repeat(widths[c] - w)));
                }
            }
            self.push_line(spans);
            if r == 0 && header {
                let mut sep = self.new_line();
                let line: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                sep.push(Span::styled(line.join("─┼─"), st.table_border));
                self.push_line(sep);
            }
        }
    }
}

fn is_list(b: &Block) -> bool {
    matches!(b, Block::BulletList(_) | Block::OrderedList { .. })
}

/// Slack's ordered markers by depth: `1.`, then `a.`, then `i.`, repeating.
fn ordinal_marker(n: u64, depth: usize) -> String {
    match depth % 3 {
        0 => format!("{n}."),
        1 => format!("{}.", alpha(n)),
        _ => format!("{}.", roman(n)),
    }
}

fn alpha(mut n: u64) -> String {
    if n == 0 {
        return "0".into();
    }
    let mut s = Vec::new();
    while n > 0 {
        n -= 1;
        s.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn roman(n: u64) -> String {
    if n == 0 || n >= 4000 {
        return n.to_string();
    }
    let table = [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    let mut n = n;
    let mut s = String::new();
    for (v, r) in table {
        while n >= v {
            s.push_str(r);
            n -= v;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::richtext::{MentionKind, NoResolver, from_markdown, text_to_plain};

    fn render(md: &str) -> String {
        text_to_plain(&to_text(&from_markdown(md), &Styles::plain(), &NoResolver))
    }

    #[test]
    fn lists_quotes_code_tables_links() {
        let out = render(
            "Hi [there](https://x.y/) and <https://x.y/>\n\n- a\n  - b\n    - c\n\n3. x\n   1. y\n\n> q\n\n```sh\nls\n```\n\n| a | bb |\n| --- | --- |\n| ccc | d |\n",
        );
        insta::assert_snapshot!(out);
        assert!(out.contains("Hi there[1] and https://x.y/"));
        assert!(out.ends_with("[1] https://x.y/\n"));
    }

    #[test]
    fn markers() {
        assert_eq!(ordinal_marker(3, 0), "3.");
        assert_eq!(ordinal_marker(28, 1), "ab.");
        assert_eq!(ordinal_marker(14, 2), "xiv.");
    }

    #[test]
    fn everything_is_sanitized() {
        let doc = from_markdown(
            "a \u{1b}[31mred\u{1b}[0m [x](https://e\u{1b}]8;;x\u{7}/)\n\n```\n\u{1b}[2Jcode\n```",
        );
        let resolver = |_: MentionKind, _: &str| Some("\u{1b}[5mblink".to_string());
        let text = to_text(&doc, &Styles::plain(), &resolver);
        for line in &text.lines {
            for span in &line.spans {
                assert!(!span.content.contains('\u{1b}'), "{:?}", span.content);
            }
        }
    }

    #[test]
    fn mentions_resolve_at_render_time() {
        let doc = crate::richtext::from_mrkdwn("hi <@U1|old>", &NoResolver);
        let resolver =
            |k: MentionKind, id: &str| (k == MentionKind::User && id == "U1").then(|| "Ann".to_string());
        assert_eq!(text_to_plain(&to_text(&doc, &Styles::plain(), &resolver)), "hi @Ann\n");
        assert_eq!(text_to_plain(&to_text(&doc, &Styles::plain(), &NoResolver)), "hi @old\n");
    }
}
