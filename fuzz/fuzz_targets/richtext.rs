//! Every rich-text converter on arbitrary bytes. None may panic, overflow the stack or hang,
//! and what they produce must hold the promises the rest of desk relies on:
//!
//! - inputs: Block Kit as bytes, as text and as a parsed `serde_json::Value` (all three agree),
//!   Slack mrkdwn, Markdown, TipTap JSON (through `Doc::from_json` and serde);
//! - outputs of every document: TipTap JSON (reads back as the same document), Markdown,
//!   plain text, Block Kit (reads back without error), terminal `Text` as ANSI and plain
//!   (no control character or escape sequence but our own SGR codes);
//! - `sanitize` on the raw input: nothing unsafe is left, and it is idempotent.
//!
//! How to run it, and what it found: docs/richtext.md, "Fuzzing".
#![no_main]

use desk_fuzz::richtext::{self, Doc, MentionKind, Styles};
use libfuzzer_sys::fuzz_target;

/// A resolver that answers for some ids, so the label paths run too.
fn resolver(kind: MentionKind, id: &str) -> Option<String> {
    id.len().is_multiple_of(2).then(|| format!("{kind:?}:{id}\u{1b}[31m"))
}

/// True for what `sanitize` promises to remove.
fn unsafe_char(c: char) -> bool {
    (c < ' ' && c != '\n')
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Removes the SGR sequences `text_to_ansi` writes (`ESC [ digits/; m`); what is left must
/// hold no escape at all.
fn strip_sgr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("\u{1b}[") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let params = after.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count();
        if after.as_bytes().get(params) == Some(&b'm') {
            rest = &after[params + 1..];
        } else {
            // Not ours: keep it so the check below fails.
            out.push_str("\u{1b}[");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn outputs(doc: &Doc) {
    // TipTap JSON: what we store reads back and is written again unchanged. (Compared as
    // JSON, not as `Doc`: a mention's kind travels in its id's Slack prefix, so a user group
    // with an id that is no Slack id, `<!subteam^x>`, reads back as a user; documented.)
    let json = doc.to_json();
    let back = Doc::from_json(&json).expect("our own TipTap JSON reads back");
    assert_eq!(back.to_json(), json, "TipTap JSON round trip changed the document");
    let text = doc.to_json_string();
    let via_serde: Doc = serde_json::from_str(&text).expect("our own TipTap JSON text reads back");
    assert_eq!(via_serde, back);

    let _ = richtext::to_markdown(doc);
    let _ = richtext::to_plain_text(doc);

    // Block Kit out must be Block Kit we read.
    let blocks = richtext::to_blockkit(doc);
    richtext::from_blockkit_value(&blocks, &richtext::NoResolver).expect("our own Block Kit reads back");

    for styles in [Styles::plain(), Styles::default()] {
        let rendered = richtext::to_text(doc, &styles, &resolver);
        let plain = richtext::text_to_plain(&rendered);
        assert!(!plain.chars().any(unsafe_char), "unsanitised text on the terminal: {plain:?}");
        let ansi = strip_sgr(&richtext::text_to_ansi(&rendered));
        assert!(!ansi.chars().any(unsafe_char), "a foreign escape in the ANSI output: {ansi:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let from_bytes = richtext::from_blockkit_bytes(data, &resolver);
    if let Ok(doc) = &from_bytes {
        outputs(doc);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        assert!(from_bytes.is_err(), "non-UTF-8 input converted");
        return;
    };
    // The three ways in agree: the CLI reads text, the server a parsed value.
    let from_str = richtext::from_blockkit(text, &resolver);
    assert_eq!(from_str, from_bytes);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let from_value = richtext::from_blockkit_value(&value, &resolver);
        match (&from_str, &from_value) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "Block Kit from text and from a Value differ"),
            (Err(_), Err(_)) => {}
            _ => panic!("Block Kit from text {from_str:?} and from a Value {from_value:?} disagree"),
        }
        if let Ok(doc) = Doc::from_json(&value) {
            outputs(&doc);
        }
    }
    outputs(&richtext::from_mrkdwn(text, &resolver));
    outputs(&richtext::from_markdown(text));

    let clean = richtext::sanitize(text);
    assert!(!clean.chars().any(unsafe_char), "sanitize left something unsafe: {clean:?}");
    assert!(
        matches!(richtext::sanitize(&clean), std::borrow::Cow::Borrowed(_)),
        "sanitize is not idempotent on {clean:?}"
    );
});
