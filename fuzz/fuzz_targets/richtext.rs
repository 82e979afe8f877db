//! Every rich-text converter on arbitrary bytes: none may panic, overflow the stack or hang,
//! and every document produced must come back out through every writer.
//!
//! Run (nightly + cargo-fuzz): `cd fuzz && cargo +nightly fuzz run richtext -- -max_total_time=60`
//! Seed it with the corpus: `cargo +nightly fuzz run richtext ../tests/fixtures/blockkit`
#![no_main]

use desk::richtext::{self, Doc, NoResolver, Styles};
use libfuzzer_sys::fuzz_target;

fn outputs(doc: &Doc) {
    let _ = richtext::to_markdown(doc);
    let _ = richtext::to_plain_text(doc);
    let _ = richtext::to_blockkit(doc);
    let _ = richtext::text_to_ansi(&richtext::to_text(doc, &Styles::plain(), &NoResolver));
    let _ = doc.to_json_string();
}

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = richtext::from_blockkit_bytes(data, &NoResolver) {
        outputs(&doc);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        outputs(&richtext::from_mrkdwn(text, &NoResolver));
        outputs(&richtext::from_markdown(text));
        let _ = richtext::sanitize(text);
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
            && let Ok(doc) = Doc::from_json(&value)
        {
            outputs(&doc);
        }
    }
});
