//! Property tests: round trips, no panics on arbitrary input, bounded nesting.

use super::corpus_tests::check_rules;
use super::*;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Markdown-ish text: fragments that exercise every construct and its escapes.
pub(super) fn markdown_text() -> impl Strategy<Value = String> {
    const FRAGS: &[&str] = &[
        "a",
        "word",
        "b c",
        " ",
        "\n",
        "\n\n",
        "*",
        "**",
        "_",
        "~~",
        "`",
        "[x](http://e.com/a)",
        "# ",
        "- ",
        "1. ",
        "> ",
        "```\n",
        "|",
        "---",
        "\\",
        "<",
        "&amp;",
        "!",
        "  ",
        "3) ",
        "+ ",
        "=",
        "#",
        "x_y",
        "](",
        "[",
        "]",
        "![i](http://e.com/i.png)",
        "| a | b |\n|---|---|\n| 1 | 2 |\n",
        "  - ",
        "    ",
        "***",
        ".",
        "é",
        "👋",
    ];
    prop::collection::vec(prop::sample::select(FRAGS), 0..24).prop_map(|v| v.concat())
}

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(
        &["alpha", "beta", "x", "1 2", "snake_case", "a*b", "<tag>", "&amp;", "ünï", "👋 hi"][..],
    )
    .prop_map(str::to_string)
}

fn inline() -> impl Strategy<Value = Inline> {
    prop_oneof![
        4 => (word(), any::<[bool; 5]>(), prop::option::of(prop::sample::select(&["https://e.com/1", "https://e.com/2"][..])))
            .prop_map(|(text, [bold, italic, strike, code, underline], link)| {
                let marks = Marks { bold, italic, strike, code, underline, link: link.map(str::to_string) };
                Inline::Text { text, marks: marks.normalized() }
            }),
        1 => prop::sample::select(&[
            (MentionKind::User, "U0123"), (MentionKind::Channel, "C0456"), (MentionKind::Usergroup, "S0789"),
            (MentionKind::Team, "T0ABC"), (MentionKind::Broadcast, "here"), (MentionKind::Broadcast, "channel"),
        ][..])
        .prop_map(|(kind, id)| Inline::Mention(Mention::new(kind, id, None))),
    ]
}

/// A paragraph's content: hard breaks only between other nodes (Block Kit spells a hard
/// break as a newline, and newlines at the edges of a section carry no meaning).
fn paragraph() -> impl Strategy<Value = Block> {
    prop::collection::vec((inline(), any::<bool>()), 1..5).prop_map(|v| {
        let n = v.len();
        let mut out = Vec::new();
        for (i, (node, brk)) in v.into_iter().enumerate() {
            out.push(node);
            if brk && i + 1 < n {
                out.push(Inline::HardBreak);
            }
        }
        Block::Paragraph(out)
    })
}

fn list(depth: u32) -> BoxedStrategy<Block> {
    let item = if depth == 0 {
        paragraph().prop_map(|p| ListItem { content: vec![p] }).boxed()
    } else {
        (paragraph(), prop::option::of(list(depth - 1)))
            .prop_map(|(p, nested)| ListItem { content: std::iter::once(p).chain(nested).collect() })
            .boxed()
    };
    (prop::collection::vec(item, 1..4), any::<bool>(), 1u64..5)
        .prop_map(
            |(items, ordered, start)| {
                if ordered { Block::OrderedList { start, items } } else { Block::BulletList(items) }
            },
        )
        .boxed()
}

/// Documents Block Kit can carry: paragraphs and nested lists. Two lists in a row get a
/// paragraph between them: Slack has no way to say where one flat list ends and the next
/// begins, so adjacent lists of one kind would read back as one.
pub(super) fn rich_doc() -> impl Strategy<Value = Doc> {
    prop::collection::vec(prop_oneof![2 => paragraph(), 1 => list(2)], 1..5).prop_map(|blocks| {
        let mut out: Vec<Block> = Vec::new();
        for b in blocks {
            let list_after_list =
                matches!(out.last(), Some(Block::BulletList(_) | Block::OrderedList { .. }))
                    && matches!(b, Block::BulletList(_) | Block::OrderedList { .. });
            if list_after_list {
                out.push(Block::Paragraph(vec![Inline::plain("between")]));
            }
            out.push(b);
        }
        Doc::new(out)
    })
}

/// Arbitrary JSON biased towards Block Kit keys and values.
pub(super) fn json_value() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(
        &[
            "type",
            "text",
            "blocks",
            "elements",
            "style",
            "indent",
            "offset",
            "border",
            "url",
            "user_id",
            "name",
            "timestamp",
            "format",
            "fallback",
            "event",
            "payload",
            "attachments",
            "fields",
            "rows",
            "accessory",
            "title",
            "value",
            "skin_tone",
            "unicode",
            "range",
            "image_url",
            "slack_file",
            "content",
            "marks",
            "attrs",
            "message",
            "envelope_id",
        ][..],
    );
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(
            &[
                "rich_text",
                "rich_text_section",
                "rich_text_list",
                "rich_text_quote",
                "rich_text_preformatted",
                "text",
                "link",
                "user",
                "emoji",
                "date",
                "broadcast",
                "color",
                "section",
                "header",
                "context",
                "image",
                "table",
                "raw_text",
                "mrkdwn",
                "plain_text",
                "ordered",
                "bullet",
                "doc",
                "paragraph",
                "bulletList",
                "listItem",
                "event_callback",
                "message",
                "*b* <@U1> :wave:",
                "{date_num}",
                "",
            ][..]
        )
        .prop_map(|s| json!(s)),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

/// Documents from generated inputs, for the TipTap schema check: a fixed, deterministic
/// sample of what the property tests feed the converters.
pub(super) fn generated_docs(n: usize) -> Vec<(String, Doc)> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut out = Vec::new();
    for i in 0..n {
        if let Ok(tree) = markdown_text().new_tree(&mut runner) {
            let s = tree.current();
            out.push((format!("generated markdown #{i}"), from_markdown(&s)));
            out.push((format!("generated mrkdwn #{i}"), from_mrkdwn(&s, &NoResolver)));
        }
        if let Ok(tree) = rich_doc().new_tree(&mut runner) {
            let doc = tree.current();
            if let Ok(back) = from_blockkit_value(&to_blockkit(&doc), &NoResolver) {
                out.push((format!("generated via Block Kit #{i}"), back));
            }
            out.push((format!("generated doc #{i}"), doc));
        }
        if let Ok(tree) = json_value().new_tree(&mut runner) {
            let v = tree.current();
            let wrapped = json!({"blocks": [{"type": "rich_text", "elements": [v.clone()]}, v.clone()], "attachments": [v]});
            if let Ok(doc) = from_blockkit_value(&wrapped, &NoResolver) {
                out.push((format!("generated Block Kit #{i}"), doc));
            }
        }
    }
    out
}

fn all_outputs(doc: &Doc) {
    check_rules(&doc.to_json()).unwrap_or_else(|e| panic!("{e}: {doc:?}"));
    let _ = to_markdown(doc);
    let _ = to_plain_text(doc);
    let _ = to_blockkit(doc);
    let _ = text_to_ansi(&to_text(doc, &Styles::plain(), &NoResolver));
}

proptest! {
    // A fixed seed keeps `cargo test` deterministic (DESIGN §11); PROPTEST_CASES raises the
    // count for a longer local search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5EED_DE5C),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn markdown_tiptap_markdown_is_stable(s in markdown_text()) {
        let doc1 = from_markdown(&s);
        check_rules(&doc1.to_json()).map_err(TestCaseError::fail)?;
        let md1 = to_markdown(&doc1);
        let doc2 = from_markdown(&md1);
        let md2 = to_markdown(&doc2);
        prop_assert_eq!(&md1, &md2, "input {:?}", s);
    }

    #[test]
    fn tiptap_blockkit_tiptap_keeps_text_marks_links_lists_mentions(doc in rich_doc()) {
        let bk = to_blockkit(&doc);
        let back = from_blockkit_value(&bk, &NoResolver).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &doc, "via {}", bk);
    }

    #[test]
    fn tiptap_json_round_trips(doc in rich_doc()) {
        prop_assert_eq!(Doc::from_json(&doc.to_json()).map_err(|e| TestCaseError::fail(e.to_string()))?, doc);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in ".*") {
        all_outputs(&from_mrkdwn(&s, &NoResolver));
        all_outputs(&from_markdown(&s));
        if let Ok(doc) = from_blockkit(&s, &NoResolver) {
            all_outputs(&doc);
        }
        let _ = sanitize(&s);
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        if let Ok(doc) = from_blockkit_value(&v, &NoResolver) {
            all_outputs(&doc);
        }
        let text = v.to_string();
        if let Ok(doc) = from_blockkit(&text, &NoResolver) {
            all_outputs(&doc);
        }
        if let Ok(doc) = Doc::from_json(&v) {
            all_outputs(&doc);
        }
        let wrapped = json!({"blocks": [v.clone()], "attachments": [v.clone()], "event": {"blocks": [{"type": "rich_text", "elements": [v]}]}});
        if let Ok(doc) = from_blockkit_value(&wrapped, &NoResolver) {
            all_outputs(&doc);
        }
    }
}

#[test]
fn nesting_beyond_the_bound_is_an_error_not_an_overflow() {
    let deep = "[".repeat(100_000);
    let e = from_blockkit(&deep, &NoResolver).unwrap_err();
    assert!(e.to_string().len() < 400, "the error stays short: {e}");
    let deep_obj = r#"{"event":{"attachments":[{"blocks":["#.repeat(20_000);
    let e = from_blockkit(&deep_obj, &NoResolver).unwrap_err();
    assert!(matches!(e, ConvertError::TooDeep { limit: 128, .. }), "{e}");
    assert!(e.to_string().len() < 400, "the error stays short: {e}");
    let mut v = json!({"type": "paragraph"});
    for _ in 0..500 {
        v = json!({"type": "blockquote", "content": [v]});
    }
    let e = Doc::from_json(&json!({"type": "doc", "content": [v]})).unwrap_err();
    assert!(matches!(e, ConvertError::TooDeep { limit: MAX_DEPTH, .. }), "{e}");
    // Markdown and mrkdwn flatten what lies deeper instead.
    for md in ["> ".repeat(50_000), "- ".repeat(50_000), "1. ".repeat(20_000)] {
        let doc = from_markdown(&(md + "x"));
        all_outputs(&doc);
    }
    all_outputs(&from_mrkdwn(&"&gt;".repeat(50_000), &NoResolver));
}

#[test]
fn input_over_the_size_bound_is_an_error() {
    let big = format!(r#"{{"text":"{}"}}"#, "a".repeat(MAX_INPUT_BYTES));
    assert!(matches!(from_blockkit(&big, &NoResolver), Err(ConvertError::TooLarge { .. })));
}
