//! `desk convert`: one rich-text format to another through the TipTap model.
//!
//! Reads FILE (or stdin when FILE is absent or `-`), writes the result to stdout. Bad input
//! exits 2 with a message naming the JSON path or the line and column.

use super::{CliError, ColorChoice, Exit, GlobalArgs};
use crate::richtext::{self, ConvertError, Doc, NoResolver, Styles};
use clap::ValueEnum;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct ConvertArgs {
    /// Input format.
    #[arg(long, value_enum)]
    pub from: From,
    /// Output format.
    #[arg(long, value_enum)]
    pub to: To,
    /// Input file; stdin when absent or `-`.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum From {
    /// Slack Block Kit JSON: a message, blocks, a block, an attachment or an event envelope.
    Blockkit,
    /// Slack mrkdwn text.
    Mrkdwn,
    /// CommonMark with GFM tables and strikethrough.
    Markdown,
    /// A TipTap (ProseMirror) JSON document.
    Tiptap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum To {
    /// One TipTap JSON document.
    Tiptap,
    /// GFM Markdown.
    Markdown,
    /// Plain text.
    Text,
    /// The terminal rendering, with SGR styles when colour is on.
    Ansi,
    /// A Block Kit array with one rich_text block.
    Blockkit,
}

/// Runs `desk convert`.
pub fn run(args: &ConvertArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let input = read_input(args.file.as_ref())?;
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let color = match global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let out = convert(&input, args.from, args.to, color, tty)?;
    let mut lock = stdout.lock();
    lock.write_all(out.as_bytes())
        .and_then(|()| lock.flush())
        .map_err(|e| CliError::new(Exit::Error, format!("cannot write to stdout: {e}")))
}

fn read_input(file: Option<&PathBuf>) -> Result<Vec<u8>, CliError> {
    let mut buf = Vec::new();
    let limit = richtext::MAX_INPUT_BYTES as u64 + 1;
    let (what, result) = match file {
        Some(p) if p.as_os_str() != "-" => {
            let shown = p.display().to_string();
            match std::fs::File::open(p) {
                Ok(f) => (shown, f.take(limit).read_to_end(&mut buf)),
                Err(e) => {
                    return Err(CliError::new(Exit::Error, format!("cannot open {shown}: {e}"))
                        .with_hint("check the path, or pass `-` to read stdin"));
                }
            }
        }
        _ => ("stdin".to_string(), std::io::stdin().lock().take(limit).read_to_end(&mut buf)),
    };
    result.map_err(|e| CliError::new(Exit::Error, format!("cannot read {what}: {e}")))?;
    Ok(buf)
}

fn bad_input(from: From, err: impl std::fmt::Display) -> CliError {
    let name = from.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
    CliError::usage(format!("bad {name} input: {err}"))
}

/// The conversion itself, without I/O: `input` bytes in the `from` format to the `to` format.
/// `color` turns SGR styles on for `ansi`; `tty` sanitises text output meant for a terminal.
pub fn convert(input: &[u8], from: From, to: To, color: bool, tty: bool) -> Result<String, CliError> {
    if input.len() > richtext::MAX_INPUT_BYTES {
        return Err(bad_input(
            from,
            ConvertError::TooLarge { bytes: input.len(), limit: richtext::MAX_INPUT_BYTES },
        ));
    }
    let doc = match from {
        From::Blockkit => {
            richtext::from_blockkit_bytes(input, &NoResolver).map_err(|e| bad_input(from, e))?
        }
        From::Mrkdwn => richtext::from_mrkdwn(utf8(input, from)?, &NoResolver),
        From::Markdown => richtext::from_markdown(utf8(input, from)?),
        From::Tiptap => {
            let text = utf8(input, from)?;
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| bad_input(from, richtext::ConvertError::from_json_error(text, &e)))?;
            Doc::from_json(&value).map_err(|e| bad_input(from, e))?
        }
    };
    let mut out = match to {
        To::Tiptap => doc.to_json_string() + "\n",
        To::Blockkit => richtext::to_blockkit(&doc).to_string() + "\n",
        To::Markdown => richtext::to_markdown(&doc),
        To::Text => richtext::to_plain_text(&doc),
        To::Ansi => {
            let text = richtext::to_text(&doc, &Styles::plain(), &NoResolver);
            if color { richtext::text_to_ansi(&text) } else { richtext::text_to_plain(&text) }
        }
    };
    // Text meant for a terminal must not carry escape sequences from the input (the ansi
    // renderer sanitises span by span already; JSON escapes control characters itself).
    if tty && matches!(to, To::Markdown | To::Text) {
        out = richtext::sanitize(&out).into_owned();
    }
    Ok(out)
}

fn utf8(input: &[u8], from: From) -> Result<&str, CliError> {
    std::str::from_utf8(input).map_err(|e| {
        let prefix = &input[..e.valid_up_to()];
        let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = prefix.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        bad_input(from, format!("not UTF-8 at line {line}, column {column}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str, from: From, to: To) -> String {
        convert(input.as_bytes(), from, to, false, false).unwrap()
    }

    #[test]
    fn every_pair_converts() {
        let samples = [
            (
                From::Blockkit,
                r#"{"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*hi* <@U1>"}}]}"#,
            ),
            (From::Mrkdwn, "*hi* <@U1>"),
            (From::Markdown, "**hi** @U1"),
            (
                From::Tiptap,
                r#"{"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"hi","marks":[{"type":"bold"}]}]}]}"#,
            ),
        ];
        for (from, input) in samples {
            for to in [To::Tiptap, To::Markdown, To::Text, To::Ansi, To::Blockkit] {
                let out = ok(input, from, to);
                assert!(out.contains("hi"), "{from:?} -> {to:?}: {out}");
            }
        }
        assert_eq!(ok("*hi*", From::Mrkdwn, To::Markdown), "**hi**\n");
        assert_eq!(ok("**hi**", From::Markdown, To::Ansi), "hi\n");
        assert_eq!(
            convert(b"**hi**", From::Markdown, To::Ansi, true, false).unwrap(),
            "\u{1b}[1mhi\u{1b}[0m\n"
        );
        let tiptap: serde_json::Value = serde_json::from_str(&ok("*hi*", From::Mrkdwn, To::Tiptap)).unwrap();
        assert_eq!(tiptap["type"], "doc");
    }

    #[test]
    fn bad_input_is_exit_2_with_a_place() {
        let e = convert(br#"{"blocks":[{"type":"section",}]}"#, From::Blockkit, To::Markdown, false, false)
            .unwrap_err();
        assert_eq!(e.code, Exit::Usage);
        assert!(e.message.contains("$.blocks[0]") && e.message.contains("line 1"), "{}", e.message);
        let e = convert(b"[1, 2", From::Tiptap, To::Markdown, false, false).unwrap_err();
        assert_eq!(e.code, Exit::Usage);
        let e = convert(
            br#"{"type":"doc","content":[{"type":"paragraph","content":7}]}"#,
            From::Tiptap,
            To::Text,
            false,
            false,
        )
        .unwrap_err();
        assert!(e.message.contains("$.content[0].content"), "{}", e.message);
        let e = convert(b"ok\n\xff", From::Markdown, To::Text, false, false).unwrap_err();
        assert!(e.message.contains("line 2, column 1"), "{}", e.message);
        let e = convert(b"12", From::Blockkit, To::Text, false, false).unwrap_err();
        assert!(e.message.contains("found a number"), "{}", e.message);
    }

    #[test]
    fn terminal_text_output_is_sanitized() {
        let out = convert(b"a\x1b[2Jb", From::Mrkdwn, To::Text, false, true).unwrap();
        assert_eq!(out, "ab\n");
        let piped = convert(b"a\x1b[2Jb", From::Mrkdwn, To::Text, false, false).unwrap();
        assert!(piped.contains('\u{1b}'));
    }
}
