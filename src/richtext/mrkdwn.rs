//! Slack mrkdwn to TipTap.
//!
//! Slack escapes `&`, `<` and `>` in message text as `&amp;`, `&lt;`, `&gt;`; every literal
//! `<` is therefore markup (`<url|label>`, `<@U..>`, `<#C..|name>`, `<!here>`, `<!date^..>`).
//! Entities are decoded exactly once, when literal text is emitted (`&amp;lt;` becomes `&lt;`).
//! Inside `` `code` `` and ```` ```pre``` ```` nothing is markup, but entities are still decoded
//! (Slack encodes them there too). The parser is linear: a failed search for a closing
//! delimiter is remembered for the rest of the line, so hostile input cannot make it quadratic.

use super::doc::{Block, Doc, Inline, Marks, Mention};
use super::{EntityResolver, MentionKind, date, emoji};
use std::borrow::Cow;

/// Parses Slack mrkdwn into a document.
pub fn from_mrkdwn(text: &str, resolver: &dyn EntityResolver) -> Doc {
    let mut blocks = Vec::new();
    parse_blocks(text, resolver, &mut blocks);
    Doc::new(blocks)
}

/// Parses mrkdwn and appends its blocks to `out`.
pub(crate) fn parse_blocks(text: &str, resolver: &dyn EntityResolver, out: &mut Vec<Block>) {
    let mut rest = text;
    while !rest.is_empty() {
        let Some(open) = find_fence(rest) else {
            text_blocks(rest, resolver, out, 0);
            break;
        };
        let after = &rest[open + 3..];
        let Some(close) = find_fence(after) else {
            text_blocks(rest, resolver, out, 0);
            break;
        };
        text_blocks(&rest[..open], resolver, out, 0);
        let body = &after[..close];
        let body = body.strip_prefix('\n').unwrap_or(body);
        let body = body.strip_suffix('\n').unwrap_or(body);
        out.push(Block::CodeBlock { language: None, text: decode(body).into_owned() });
        rest = &after[close + 3..];
    }
}

/// Position of the first "```" (a byte search: most texts have no backtick at all).
fn find_fence(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(i) = b[from..].iter().position(|&c| c == b'`') {
        let at = from + i;
        if b[at..].starts_with(b"```") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Parses mrkdwn as inline content only (newlines become hard breaks), for places that
/// hold a single line of rich text: list items, table cells, context elements.
pub(crate) fn parse_inline(text: &str, marks: &Marks, resolver: &dyn EntityResolver, out: &mut Vec<Inline>) {
    Inline_ { resolver }.run(text, marks, 0, out);
}

fn quote_marker(line: &str) -> Option<(&str, bool)> {
    if !line.starts_with(['>', '&']) {
        return None;
    }
    for (marker, all) in [("&gt;&gt;&gt;", true), (">>>", true), ("&gt;", false), (">", false)] {
        if let Some(rest) = line.strip_prefix(marker) {
            return Some((rest.strip_prefix(' ').unwrap_or(rest), all));
        }
    }
    None
}

/// Splits text (no code fences) into paragraphs and quotes.
fn text_blocks(text: &str, resolver: &dyn EntityResolver, out: &mut Vec<Block>, depth: usize) {
    // A paragraph is a run of consecutive lines, so it is kept as a byte range of `text` and
    // parsed in one go (the inline parser turns its newlines into hard breaks and keeps every
    // delimiter search within one line).
    let mut para: Option<(usize, usize)> = None;
    let mut quote: Vec<&str> = Vec::new();
    let flush_para = |para: &mut Option<(usize, usize)>, out: &mut Vec<Block>| {
        let Some((start, end)) = para.take() else { return };
        let mut inl = Vec::new();
        Inline_ { resolver }.run(&text[start..end], &Marks::default(), 0, &mut inl);
        out.push(Block::Paragraph(inl));
    };
    let flush_quote = |quote: &mut Vec<&str>, out: &mut Vec<Block>| {
        if quote.is_empty() {
            return;
        }
        let joined = quote.join("\n");
        quote.clear();
        let mut inner = Vec::new();
        if depth < 4 {
            text_blocks(&joined, resolver, &mut inner, depth + 1);
        } else {
            text_blocks_flat(&joined, resolver, &mut inner);
        }
        out.push(Block::Blockquote(inner));
    };
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if let Some((rest, all)) = quote_marker(line) {
            flush_para(&mut para, out);
            quote.push(rest);
            if all {
                quote.extend(lines.by_ref());
            }
        } else if line.trim().is_empty() {
            flush_para(&mut para, out);
            flush_quote(&mut quote, out);
        } else {
            flush_quote(&mut quote, out);
            // `line` is a slice of `text`: its offset is the distance between the pointers.
            let start = line.as_ptr() as usize - text.as_ptr() as usize;
            let end = start + line.len();
            para = Some(para.map_or((start, end), |(s, _)| (s, end)));
        }
    }
    flush_para(&mut para, out);
    flush_quote(&mut quote, out);
}

/// Past the quote depth bound: paragraphs only.
fn text_blocks_flat(text: &str, resolver: &dyn EntityResolver, out: &mut Vec<Block>) {
    for chunk in text.split("\n\n") {
        if chunk.trim().is_empty() {
            continue;
        }
        let mut inl = Vec::new();
        parse_inline(chunk, &Marks::default(), resolver, &mut inl);
        out.push(Block::Paragraph(inl));
    }
}

/// Decodes `&amp;`, `&lt;` and `&gt;` exactly once. Other entities are not Slack's and stay.
pub(crate) fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (ch, len) = if tail.starts_with("&amp;") {
            ('&', 5)
        } else if tail.starts_with("&lt;") {
            ('<', 4)
        } else if tail.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(ch);
        rest = &tail[len..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

const MAX_INLINE_DEPTH: usize = 8;

struct Inline_<'r> {
    resolver: &'r dyn EntityResolver,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

impl Inline_<'_> {
    /// Emits literal text with entities decoded; newlines become hard breaks.
    fn literal(&self, s: &str, marks: &Marks, out: &mut Vec<Inline>) {
        if s.is_empty() {
            return;
        }
        for (i, line) in s.split('\n').enumerate() {
            if i > 0 {
                out.push(Inline::HardBreak);
            }
            if !line.is_empty() {
                out.push(Inline::Text { text: decode(line).into_owned(), marks: marks.clone() });
            }
        }
    }

    fn run(&self, s: &str, marks: &Marks, depth: usize, out: &mut Vec<Inline>) {
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut lit = 0;
        // For each delimiter, the end of the line on which a search for its closer failed.
        let mut failed: [usize; 6] = [0; 6];
        // End of the current line, found once per line rather than once per delimiter.
        let mut eol = 0usize;
        if !bytes.is_empty() {
            eol = s.find('\n').unwrap_or(s.len());
        }
        while i < bytes.len() {
            let b = bytes[i];
            let slot = match b {
                b'*' => 0,
                b'_' => 1,
                b'~' => 2,
                b'`' => 3,
                b'<' => 4,
                b':' => 5,
                _ => {
                    i += 1;
                    continue;
                }
            };
            if i < failed[slot] {
                i += 1;
                continue;
            }
            if eol < i {
                eol = s[i..].find('\n').map_or(s.len(), |n| i + n);
            }
            // Set when a closer search scanned to the end of the line and found nothing.
            let mut searched_in_vain = false;
            let matched = match b {
                b'*' | b'_' | b'~' if depth < MAX_INLINE_DEPTH => {
                    self.emphasis(s, i, eol, b, &mut searched_in_vain).map(|close| {
                        self.literal(&s[lit..i], marks, out);
                        let mut m = marks.clone();
                        match b {
                            b'*' => m.bold = true,
                            b'_' => m.italic = true,
                            _ => m.strike = true,
                        }
                        self.run(&s[i + 1..close], &m, depth + 1, out);
                        close + 1
                    })
                }
                b'`' => {
                    let found = s[i + 1..eol].find('`');
                    searched_in_vain = found.is_none();
                    found.filter(|&n| n > 0).map(|n| {
                        self.literal(&s[lit..i], marks, out);
                        let code = Marks { code: true, link: marks.link.clone(), ..Marks::default() };
                        self.literal(&s[i + 1..i + 1 + n], &code, out);
                        i + n + 2
                    })
                }
                b'<' => {
                    let found = s[i + 1..eol].find('>');
                    searched_in_vain = found.is_none();
                    found.and_then(|n| {
                        let inner = &s[i + 1..i + 1 + n];
                        let mut tmp = Vec::new();
                        self.angle(inner, marks, &mut tmp).then(|| {
                            self.literal(&s[lit..i], marks, out);
                            out.append(&mut tmp);
                            i + n + 2
                        })
                    })
                }
                b':' => self.emoji(s, i, eol).map(|(text, end)| {
                    self.literal(&s[lit..i], marks, out);
                    out.push(Inline::Text { text: text.to_string(), marks: marks.clone() });
                    end
                }),
                _ => None,
            };
            match matched {
                Some(next) => {
                    i = next;
                    lit = next;
                }
                None => {
                    if searched_in_vain {
                        failed[slot] = eol;
                    }
                    i += 1;
                }
            }
        }
        self.literal(&s[lit..], marks, out);
    }

    /// Finds the closer of `*`, `_` or `~` opened at `open`: Slack wants the opener after a
    /// non-word character and before a non-space, the closer after a non-space and before a
    /// non-word character, all on one line.
    fn emphasis(&self, s: &str, open: usize, eol: usize, delim: u8, in_vain: &mut bool) -> Option<usize> {
        let before = s[..open].chars().next_back();
        if before.is_some_and(is_word) {
            return None;
        }
        let after = s[open + 1..].chars().next()?;
        if after.is_whitespace() || after as u32 == delim as u32 {
            return None;
        }
        let bytes = s.as_bytes();
        let mut j = open + 2;
        while j < eol {
            if bytes[j] == delim {
                let prev = s[..j].chars().next_back();
                let next = s[j + 1..].chars().next();
                if prev.is_some_and(|c| !c.is_whitespace()) && !next.is_some_and(is_word) {
                    return Some(j);
                }
            }
            j += 1;
        }
        *in_vain = true;
        None
    }

    /// `:name:` and `:name::skin-tone-N:`; unknown names stay literal text.
    fn emoji(&self, s: &str, open: usize, eol: usize) -> Option<(&'static str, usize)> {
        let valid = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'+' | b'-' | b'\'');
        let bytes = s.as_bytes();
        let mut j = open + 1;
        while j < eol && j - open <= 64 && valid(bytes[j]) {
            j += 1;
        }
        if j >= eol || bytes[j] != b':' || j == open + 1 {
            return None;
        }
        let name = &s[open + 1..j];
        let mut end = j + 1;
        let mut tone = None;
        if let Some(rest) = s[end..eol].strip_prefix(":skin-tone-")
            && let Some(close) = rest.find(':')
            && let Ok(n) = rest[..close].parse::<u32>()
        {
            tone = Some(n);
            end += ":skin-tone-".len() + close + 1;
        }
        let found = emoji::lookup(name, tone)?;
        Some((found, end))
    }

    /// Handles `<...>`; false when the contents are not Slack markup (left as literal text).
    fn angle(&self, inner: &str, marks: &Marks, out: &mut Vec<Inline>) -> bool {
        let (target, label) = match inner.split_once('|') {
            Some((t, l)) => (t, Some(l)),
            None => (inner, None),
        };
        // Specials (`<!date^.. ..>`) may hold spaces; URLs and ids may not.
        if target.is_empty() || (!target.starts_with('!') && target.contains(char::is_whitespace)) {
            return false;
        }
        let label = label.map(decode);
        let mention = |kind: MentionKind, id: &str, label: Option<Cow<'_, str>>| {
            let label = self.resolver.label(kind, id).or_else(|| {
                label.map(|l| l.trim_start_matches(['@', '#']).to_string()).filter(|l| !l.is_empty())
            });
            Inline::Mention(Mention::new(kind, id, label))
        };
        match target.as_bytes()[0] {
            b'@' => out.push(mention(MentionKind::User, &target[1..], label)),
            b'#' => out.push(mention(MentionKind::Channel, &target[1..], label)),
            b'!' => {
                let special = &target[1..];
                if let Some(id) = special.strip_prefix("subteam^") {
                    out.push(mention(MentionKind::Usergroup, id, label));
                } else if let Some(d) = special.strip_prefix("date^") {
                    let mut parts = d.splitn(3, '^');
                    let seconds = parts.next().and_then(date::parse_seconds);
                    let fmt = parts.next().map(decode);
                    let link = parts.next().map(|l| decode(l).into_owned());
                    let text = date::render(seconds, fmt.as_deref(), label.as_deref());
                    let m = match link {
                        Some(href) => Marks { link: Some(href), ..marks.clone() },
                        None => marks.clone(),
                    };
                    out.push(Inline::Text { text, marks: m });
                } else if matches!(special, "here" | "channel" | "everyone") {
                    out.push(Inline::Mention(Mention::new(MentionKind::Broadcast, special, None)));
                } else {
                    let shown = label.unwrap_or(Cow::Borrowed(special));
                    out.push(Inline::Text { text: shown.into_owned(), marks: marks.clone() });
                }
            }
            _ => {
                let href = decode(target).into_owned();
                let text = match label {
                    Some(l) if !l.is_empty() => l.into_owned(),
                    _ => href.strip_prefix("mailto:").unwrap_or(&href).to_string(),
                };
                out.push(Inline::Text { text, marks: Marks { link: Some(href), ..marks.clone() } });
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::richtext::{NoResolver, to_markdown};

    fn md(s: &str) -> String {
        to_markdown(&from_mrkdwn(s, &NoResolver))
    }

    #[test]
    fn marks() {
        assert_eq!(md("*bold* _it_ ~gone~ `co*de*`"), "**bold** *it* ~~gone~~ `co*de*`\n");
        assert_eq!(md("a*b*c and 2*3*4"), "a\\*b\\*c and 2\\*3\\*4\n");
        assert_eq!(md("*_both_*"), "***both***\n");
    }

    #[test]
    fn entities_decoded_once_and_code_literal() {
        assert_eq!(md("a &amp;lt; b &lt;tag&gt;"), "a \\&lt; b \\<tag>\n");
        let doc = from_mrkdwn("`&lt;@U1&gt; *x*`", &NoResolver);
        assert_eq!(
            doc.content[0],
            Block::Paragraph(vec![Inline::text("<@U1> *x*", Marks { code: true, ..Marks::default() })])
        );
    }

    #[test]
    fn links_mentions_specials() {
        let doc = from_mrkdwn(
            "<https://a.b/?x=1&amp;y=2|the label> <@U1> <#C2|general> <!here> <!subteam^S3|@ops> <mailto:a@b.c>",
            &NoResolver,
        );
        let Block::Paragraph(inl) = &doc.content[0] else { panic!() };
        assert_eq!(
            inl[0],
            Inline::text(
                "the label",
                Marks { link: Some("https://a.b/?x=1&y=2".into()), ..Marks::default() }
            )
        );
        assert_eq!(inl[2], Inline::Mention(Mention::new(MentionKind::User, "U1", None)));
        assert_eq!(inl[4], Inline::Mention(Mention::new(MentionKind::Channel, "C2", Some("general".into()))));
        assert_eq!(inl[6], Inline::Mention(Mention::new(MentionKind::Broadcast, "here", None)));
        assert_eq!(inl[8], Inline::Mention(Mention::new(MentionKind::Usergroup, "S3", Some("ops".into()))));
        assert_eq!(
            inl[10],
            Inline::text("a@b.c", Marks { link: Some("mailto:a@b.c".into()), ..Marks::default() })
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            md("<!date^1392734382^Posted {date_num} {time_secs}|Posted 2014-02-18 6:39:42 AM PST>"),
            "Posted 2014-02-18 14:39:42 UTC\n"
        );
        assert_eq!(md("<!date^bogus^{date}|Feb 18>"), "Feb 18\n");
        assert_eq!(md("<!date^1392734382^{date_short}^https://x.y/>"), "[Feb 18, 2014](https://x.y/)\n");
    }

    #[test]
    fn emoji_and_quotes_and_pre() {
        assert_eq!(md(":wave::skin-tone-3: hi :custom_thing: 10:30:00"), "👋🏼 hi :custom_thing: 10:30:00\n");
        assert_eq!(md("&gt; quoted\n&gt; more\nafter"), "> quoted\\\n> more\n\nafter\n");
        assert_eq!(
            md("see ```let x = &lt;T&gt;;\n*no*``` done"),
            "see\n\n```\nlet x = <T>;\n*no*\n```\n\ndone\n"
        );
        assert_eq!(md(">>> all\n\nof this"), "> all\n>\n> of this\n");
    }

    #[test]
    fn pathological_input_is_linear() {
        let s = "*a _b ~c `d <e :f ".repeat(20_000);
        let doc = from_mrkdwn(&s, &NoResolver);
        assert!(!doc.is_empty());
    }
}
