//! The Block Kit corpus (tests/fixtures/blockkit): every payload converts, its Markdown is
//! snapshotted, the facts that matter are asserted, its TipTap JSON satisfies the schema
//! rules, and TipTap itself loads every document (tests/tiptap, run with node).

use super::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Labels for the ids the corpus uses, as the server's `/resolve` would give them.
pub(super) fn corpus_resolver(kind: MentionKind, id: &str) -> Option<String> {
    let label = match (kind, id) {
        (MentionKind::User, "U0123ABC456") => "dwight",
        (MentionKind::Channel, "C0123ABC456") => "sales",
        (MentionKind::Usergroup, "S0614TZR7") => "managers",
        (MentionKind::Team, "T0123ABC456") => "Dunder Mifflin",
        _ => return None,
    };
    Some(label.to_string())
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/blockkit")
}

pub(super) fn corpus() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(corpus_dir()).expect("tests/fixtures/blockkit exists");
    for entry in entries {
        let path = entry.expect("readable corpus dir").path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            let text = std::fs::read_to_string(&path).expect("readable fixture");
            out.push((name, text));
        }
    }
    out.sort();
    out
}

/// DESIGN §4's schema rules, checked on TipTap JSON. Returns the first violation.
pub(super) fn check_rules(doc: &Value) -> Result<(), String> {
    fn content(node: &Value) -> &[Value] {
        node.get("content").and_then(Value::as_array).map_or(&[], Vec::as_slice)
    }
    fn is_block(t: &str) -> bool {
        matches!(
            t,
            "paragraph"
                | "heading"
                | "bulletList"
                | "orderedList"
                | "blockquote"
                | "codeBlock"
                | "horizontalRule"
                | "image"
                | "table"
        )
    }
    fn walk(node: &Value, path: &str) -> Result<(), String> {
        let ty = node.get("type").and_then(Value::as_str).ok_or(format!("{path}: no type"))?;
        let kids = content(node);
        let kid_types: Vec<&str> =
            kids.iter().filter_map(|k| k.get("type").and_then(Value::as_str)).collect();
        match ty {
            "doc" | "blockquote" | "tableCell" | "tableHeader" => {
                if kids.is_empty() {
                    return Err(format!("{path}: {ty} is empty"));
                }
                if let Some(t) = kid_types.iter().find(|t| !is_block(t)) {
                    return Err(format!("{path}: {ty} holds {t}"));
                }
            }
            "listItem" if kid_types.first() != Some(&"paragraph") => {
                return Err(format!("{path}: listItem does not start with a paragraph"));
            }
            "bulletList" | "orderedList" if kids.is_empty() || kid_types.iter().any(|t| *t != "listItem") => {
                return Err(format!("{path}: bad list content"));
            }
            "table" if kids.is_empty() || kid_types.iter().any(|t| *t != "tableRow") => {
                return Err(format!("{path}: bad table content"));
            }
            "text" => {
                let text = node.get("text").and_then(Value::as_str).unwrap_or("");
                if text.is_empty() {
                    return Err(format!("{path}: empty text node"));
                }
                let marks: Vec<&str> = node
                    .get("marks")
                    .and_then(Value::as_array)
                    .map(|m| m.iter().filter_map(|m| m.get("type").and_then(Value::as_str)).collect())
                    .unwrap_or_default();
                if marks.contains(&"code") && marks.len() > 1 {
                    return Err(format!("{path}: code mark combined with {marks:?}"));
                }
            }
            "paragraph" | "heading" => {
                if let Some(t) = kid_types.iter().find(|t| !matches!(**t, "text" | "hardBreak" | "mention")) {
                    return Err(format!("{path}: {ty} holds {t}"));
                }
            }
            _ => {}
        }
        for (i, k) in kids.iter().enumerate() {
            walk(k, &format!("{path}.content[{i}]"))?;
        }
        Ok(())
    }
    walk(doc, "$")
}

/// (fixture, Markdown must contain, Markdown must not contain)
const FACTS: &[(&str, &[&str], &[&str])] = &[
    (
        "actions_interactive",
        &[
            "\\[Select a conversation ▾\\] \\[1990-04-28\\] \\[13:37\\] \\[checkboxes\\] [\\[Open & go\\]](https://example.com/go)",
        ],
        &["overflow", "{"],
    ),
    (
        "attachment_with_blocks",
        &["> Attachment **blocks** work too", "> via [Example](https://example.com)"],
        &["#f2c744"],
    ),
    (
        "bare_attachment",
        &["> **Incident #7**", "> Database latency > 2s", "![](https://example.com/graph.png)"],
        &["danger", "Required plain-text summary"],
    ),
    ("bare_block_array", &["## Array of blocks", "*second* block"], &[]),
    ("border_list", &["> - quoted item one\n> - quoted item two", "\n\nnot quoted"], &[]),
    ("context_mixed", &["images Location: **Dogpatch** Last updated: 3 hours ago"], &["freepik"]),
    (
        "date_numeric_with_fallback",
        &[
            "[Thursday, July 11th, 2024 at 15:03 UTC](https://calendar.example.com/e/1)",
            "2014-02-18 14:39:42 UTC",
        ],
        &["{date", "July 11, 2024"],
    ),
    (
        "date_string_timestamp_no_fallback",
        &["Jan 1, 2025 (Jan 1, 2025 00:00 UTC)", "review (unknown date)", "bad token Jan 1, 2025 00:00 UTC"],
        &["{"],
    ),
    ("deep_indent_clamped", &["- top\n  - very deep\n  - back up"], &[]),
    ("emoji_skin_tones", &["👋🏼", "👍🏿", ":party_parrot:", "🚀", "👍"], &[":wave:", ":custom_logo:"]),
    ("empty_elements_arrays", &["after the empty ones"], &["- \n", "[]"]),
    (
        "entities_inside_code",
        &["`<div class=\"x\"> &amp; *no bold*`", "<script>alert(1)</script> _no italics_", "`<raw> & stays`"],
        &["&lt;", "**no bold**"],
    ),
    ("events_api_envelope", &["Hello *world* from the Events API"], &["Hello world\n"]),
    ("file_block", &["\\[file ABCD1\\]"], &[]),
    ("header_and_divider", &["## Budget Performance 📈\n\n---\n\nNumbers are **up** this quarter."], &[]),
    (
        "image_block_slack_file",
        &[
            "![inspiration](https://files.slack.com/files-pri/T0123456-F0123456/xyz.png)",
            "\\[image: a file we only know by id\\]",
        ],
        &[],
    ),
    (
        "image_block_url",
        &[
            "![marg](https://assets3.thrillist.com/v1/image/1682388/size/tl-horizontal_main.jpg \"I Need a Marg\")",
        ],
        &[],
    ),
    ("input_block", &["Label: \\[Describe the issue\\]"], &[]),
    (
        "legacy_attachment_fields",
        &[
            "Optional pre-text that appears above the attachment block\n\n> [first last](http://flickr.com/bobby/)",
            "> [**title**](https://api.slack.com/)",
            "> Optional `text` that appears within the attachment",
            "> **A field's title**\\\n> This field's value",
            "> footer · Nov 29, 1973 21:33 UTC",
        ],
        &["#36a64f", "placekitten"],
    ),
    ("list_without_style", &["- no style given\n- still a bullet"], &[]),
    (
        "lists_nested_three_indents_offset",
        &[
            "Plan:\n\n1. Gather requirements\n2. Design\n   - API shape\n   - Storage\n     1. SQLite first\n     2. PostgreSQL later\n   - UI\n3. Build\n4. Ship\n\nDone.",
        ],
        &[],
    ),
    (
        "markdown_block",
        &["**Lots of information here!!**", "- with [a link](https://example.com)", "| 1 | 2 |"],
        &[],
    ),
    ("message_blocks_and_fallback_text", &["The real content"], &["FALLBACK"]),
    ("message_changed_event", &["edited **text**"], &["old text"]),
    (
        "message_text_only",
        &[
            "Hey @dwight, can you check [the status page](https://status.example.com)?",
            "\\<degraded> ⚠️",
            "> quoted customer line",
            "```\ncurl -H 'Accept: application/json' https://x\n```",
        ],
        &["&lt;"],
    ),
    (
        "message_with_attachments",
        &["Deploy finished\n\n> **Build 42** passed in 3m\n\n> Only a fallback here"],
        &["Build 42 passed\n"],
    ),
    (
        "mrkdwn_kitchen_sink",
        &[
            "**bold** *italic* ~~strike~~ `code` [link](https://a.example/?q=1\\&r=2) [help@example.com](mailto:help@example.com) @alice #general @here @channel @oncall February 18th, 2014 at 14:39 UTC 👋🏽 :not_an_emoji: 3\\*4\\*5 snake_case_word",
            "> quote one\\\n> quote two\n\nafter the quote\n\n> all\\\n> the rest",
        ],
        &[],
    ),
    (
        "plain_text_asterisks",
        &[
            "## \\*Not bold\\* \\_not italic\\_",
            "Price: 5 \\* 3 = 15 & \\<b>not html\\</b> 😄",
            ":smile: literal when emoji is off",
        ],
        &["**Not bold**"],
    ),
    ("rich_text_basic", &["Hello there, I am a basic rich text block!"], &[]),
    ("rich_text_color", &["Brand colour: #FF5733"], &[]),
    (
        "rich_text_links",
        &[
            "Read [**the docs**](https://api.slack.com/block-kit), or [https://example.com/raw](https://example.com/raw), or [code link](https://example.com/c)",
        ],
        &[],
    ),
    ("rich_text_list_bullet", &["Breakfast foods I enjoy:\n\n- Hashbrowns\n- Eggs\n- Pancakes"], &[]),
    (
        "rich_text_mentions",
        &["Ping @dwight and @managers in #sales of Dunder Mifflin @here @channel"],
        &["U0123ABC456"],
    ),
    ("rich_text_preformatted", &["```\nfn main() {\n    println!(\"*not bold* <b>\");\n}\n```"], &[]),
    (
        "rich_text_quote",
        &["> What we need is good examples in our documentation.\n\n\\- Someone, probably"],
        &[],
    ),
    ("rich_text_styles", &["**I am a bold rich text block!** and *italic*, ~~struck~~ and `code`"], &[]),
    (
        "section_accessory_button",
        &["This is a section block with a button.\n\n[\\[Click Me\\]](https://google.com)"],
        &["click_me_123"],
    ),
    (
        "section_accessory_image",
        &[
            "**Farmhouse Thai Cuisine**\\\n⭐⭐⭐⭐ 1528 reviews",
            "![alt text for image](https://s3-media3.fl.yelpcdn.com/bphoto/c7ed05m9lC2EmA3Aruue7A/o.jpg)",
        ],
        &[],
    ),
    (
        "section_accessory_select",
        &["\\[Select an item ▾\\]", "Overflow menus stay quiet"],
        &["Option 1", "value-0"],
    ),
    (
        "section_fields_approval",
        &[
            "[**Fred Enriquez - New device request**](https://example.com/requests/42)",
            "**Type:**\\\nComputer (laptop)",
            "\\[Approve\\] \\[Deny\\]",
        ],
        &["click_me_123"],
    ),
    ("section_mrkdwn", &["**Michael Scott** wants to know", "**Please select a restaurant:**"], &[]),
    (
        "section_newlines_paragraphs",
        &["Line one\\\nline two\n\nNew paragraph\n\nsame paragraph continues\n"],
        &[],
    ),
    ("several_styles_one_element", &["***~~all of them~~***", "`code wins`", "underlined"], &["**`"]),
    (
        "file_share_message",
        &[
            "Here is the log from this morning",
            "📎 [worker.log (text/plain)](https://acme.slack.com/files/U061F7AUR/F0T2A3B4C/worker.log)",
            "📎 a file hidden by Slack's plan limit",
        ],
        &["files-pri"],
    ),
    ("single_block", &["Just one ~~block~~"], &[]),
    ("socket_mode_envelope", &["@U0LAN0Z89 is it everything a river should be?"], &["57d6a792"]),
    (
        "table_null_column_settings",
        &[
            "| Header A | Header B | Total |\n| --- | --- | --- |\n| Data 1A | [Data 1B](https://slack.com) | 1 \\| 2 |\n| Data 2A \\*raw\\* | **bold** cell |  |",
        ],
        &[],
    ),
    ("thread_broadcast", &["Answer: **restart the worker**"], &["original question", "Also sending"]),
    (
        "unknown_block_and_element",
        &["Has **some** text", "before (sticker) after"],
        &["mystery", "hologram", "R123", "{"],
    ),
    (
        "video_block",
        &[
            "▶ [How to use Slack.](https://www.youtube.com/watch?v=RRxQQxiM7AA)\\\nSlack is a new way to communicate with your team.",
        ],
        &[],
    ),
];

#[test]
fn corpus_converts_snapshots_and_facts() {
    let cases = corpus();
    assert!(cases.len() >= 40, "the corpus needs at least 40 payloads, has {}", cases.len());
    let mut failures = Vec::new();
    for (name, json) in &cases {
        let doc = from_blockkit(json, &corpus_resolver).unwrap_or_else(|e| panic!("{name}: {e}"));
        let md = to_markdown(&doc);
        insta::assert_snapshot!(format!("corpus__{name}"), md);
        let (_, has, lacks) = FACTS
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("{name}: add its facts to FACTS"));
        for want in *has {
            if !md.contains(want) {
                failures.push(format!("{name}: Markdown lacks {want:?}\n---\n{md}"));
            }
        }
        for unwanted in *lacks {
            if md.contains(unwanted) {
                failures.push(format!("{name}: Markdown contains {unwanted:?}\n---\n{md}"));
            }
        }
        check_rules(&doc.to_json()).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Every other output works on it too.
        assert!(!to_plain_text(&doc).contains("{\""), "{name}: raw JSON in plain text");
        let _ = to_text(&doc, &Styles::plain(), &corpus_resolver);
        let back =
            from_blockkit_value(&to_blockkit(&doc), &NoResolver).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_rules(&back.to_json()).unwrap_or_else(|e| panic!("{name} via Block Kit out: {e}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    for (n, _, _) in FACTS {
        assert!(cases.iter().any(|(c, _)| c == n), "FACTS names a missing fixture {n}");
    }
}

/// TipTap itself loads every document we produce from the corpus (and from the other
/// inputs). Needs tests/tiptap/node_modules (`npm ci` there); skipped with a note when it is
/// missing, unless DESK_REQUIRE_TIPTAP=1 (CI), where a missing checker fails.
#[test]
fn tiptap_loads_every_corpus_document() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tiptap");
    let required = std::env::var("DESK_REQUIRE_TIPTAP").is_ok_and(|v| v == "1");
    if !dir.join("node_modules/@tiptap/core").exists() {
        assert!(
            !required,
            "DESK_REQUIRE_TIPTAP=1 but tests/tiptap/node_modules is missing: run `npm ci` there"
        );
        eprintln!("note: skipping the TipTap schema check: run `npm ci` in tests/tiptap to enable it");
        return;
    }
    let mut docs = Vec::new();
    for (name, json) in corpus() {
        let doc = from_blockkit(&json, &corpus_resolver).unwrap_or_else(|e| panic!("{name}: {e}"));
        let md = to_markdown(&doc);
        docs.push(serde_json::json!({ "name": name, "doc": doc.to_json() }));
        docs.push(serde_json::json!({ "name": format!("{name} (via Markdown)"), "doc": from_markdown(&md).to_json() }));
        let bk = to_blockkit(&doc);
        let back = from_blockkit_value(&bk, &NoResolver).unwrap_or_else(|e| panic!("{name}: {e}"));
        docs.push(
            serde_json::json!({ "name": format!("{name} (via Block Kit out)"), "doc": back.to_json() }),
        );
    }
    for (i, s) in
        ["", "*b* _i_ `c` <https://x|y>\n> q\n```p```", "# h\n\n- a\n  1. b\n\n| a |\n|---|\n| `x` |\n"]
            .iter()
            .enumerate()
    {
        docs.push(serde_json::json!({ "name": format!("mrkdwn #{i}"), "doc": from_mrkdwn(s, &NoResolver).to_json() }));
        docs.push(serde_json::json!({ "name": format!("markdown #{i}"), "doc": from_markdown(s).to_json() }));
    }
    for (name, doc) in super::prop_tests::generated_docs(150) {
        docs.push(serde_json::json!({ "name": name, "doc": doc.to_json() }));
    }
    let input = serde_json::to_vec(&docs).expect("serialisable");
    let mut child = match std::process::Command::new("node")
        .arg("check.mjs")
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            assert!(!required, "DESK_REQUIRE_TIPTAP=1 but node could not start: {e}");
            eprintln!("note: skipping the TipTap schema check: node is not available ({e})");
            return;
        }
    };
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(&input).expect("write to node");
    }
    let out = child.wait_with_output().expect("node finishes");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "TipTap rejected documents:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("checked {} documents, 0 failed", docs.len())), "{stdout}");
}
