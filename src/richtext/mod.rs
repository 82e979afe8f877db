//! Rich text: Block Kit and Slack mrkdwn in, TipTap as the one model, Markdown,
//! Block Kit, plain text and terminal text out, and `sanitize` for untrusted text.
//!
//! Every input converts into [`Doc`] (TipTap / ProseMirror JSON with TipTap's own node and
//! mark names) and every output is produced from it, so each format is written once.
//! The module is pure: no I/O, nothing async. See docs/richtext.md for every mapping
//! decision and the bounds ([`MAX_INPUT_BYTES`], [`MAX_DEPTH`], [`MAX_LIST_INDENT`]).

mod ansi;
mod blockkit;
mod blockkit_out;
mod date;
mod doc;
mod emoji;
mod error;
mod markdown;
mod mrkdwn;
mod plain;
mod sanitize;
mod terminal;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod prop_tests;

pub use ansi::{text_to_ansi, text_to_plain};
pub use blockkit::{BlockKitInput, from_blockkit, from_blockkit_bytes, from_blockkit_value};
pub use blockkit_out::to_blockkit;
pub use doc::{Block, Cell, Doc, Inline, ListItem, Marks, Mention};
pub use error::ConvertError;
pub use markdown::{from_markdown, to_markdown};
pub use mrkdwn::from_mrkdwn;
pub use plain::to_plain_text;
pub use sanitize::sanitize;
pub use terminal::{Styles, to_text};

/// Largest JSON or text input a converter accepts (16 MiB). Slack caps a message far below
/// this; the bound keeps one hostile payload from holding a worker for long.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// Deepest nesting of a TipTap document (blocks inside blocks) we read or build. JSON input is
/// additionally bounded by serde_json's own recursion limit of 128 levels. Deeper input is an
/// error for JSON formats; Markdown and mrkdwn flatten what lies deeper.
pub const MAX_DEPTH: usize = 48;

/// Slack list `indent` values are clamped to this many levels of nesting.
pub const MAX_LIST_INDENT: usize = 8;

/// What a mention points at. Slack distinguishes these by element type (`user`, `channel`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MentionKind {
    User,
    Usergroup,
    Channel,
    Team,
    /// `@here`, `@channel`, `@everyone`; the id is the range name.
    Broadcast,
}

impl MentionKind {
    /// The sigil shown before a mention's label.
    pub fn sigil(self) -> &'static str {
        match self {
            MentionKind::User | MentionKind::Usergroup | MentionKind::Broadcast => "@",
            MentionKind::Channel => "#",
            MentionKind::Team => "",
        }
    }
}

/// Looks up display labels for mention ids (the `/resolve` call on the server side).
pub trait EntityResolver {
    /// The bare label (no `@`/`#` sigil) for an id, or None when unknown.
    fn label(&self, kind: MentionKind, id: &str) -> Option<String>;
}

/// Resolves nothing: mentions show their stored label or their raw id.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResolver;

impl EntityResolver for NoResolver {
    fn label(&self, _kind: MentionKind, _id: &str) -> Option<String> {
        None
    }
}

impl<F> EntityResolver for F
where
    F: Fn(MentionKind, &str) -> Option<String>,
{
    fn label(&self, kind: MentionKind, id: &str) -> Option<String> {
        self(kind, id)
    }
}
