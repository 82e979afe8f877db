//! Rich text: Block Kit and Slack mrkdwn in, TipTap as the one model, Markdown,
//! Block Kit, plain text and terminal text out, and `sanitize` for untrusted text.
