//! Events API envelopes: what a stored envelope asks us to do. Pure (no I/O).

use serde_json::Value;

/// The outer shape of a request to the events endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Envelope {
    UrlVerification {
        challenge: String,
    },
    /// An `event_callback`: stored under `event_id` and processed later.
    Callback {
        event_id: String,
        team_id: Option<String>,
    },
    /// Any other type (`app_rate_limited`, ...): acknowledged, not stored.
    Other(String),
}

pub fn parse(body: &Value) -> Result<Envelope, String> {
    let kind = body.get("type").and_then(Value::as_str).ok_or("the envelope has no `type`")?;
    match kind {
        "url_verification" => {
            let c = body
                .get("challenge")
                .and_then(Value::as_str)
                .ok_or("url_verification without `challenge`")?;
            Ok(Envelope::UrlVerification { challenge: c.to_owned() })
        }
        "event_callback" => {
            let id = body.get("event_id").and_then(Value::as_str).filter(|s| !s.is_empty());
            let id = id.ok_or("event_callback without `event_id`")?;
            if !body.get("event").is_some_and(Value::is_object) {
                return Err("event_callback without an `event` object".into());
            }
            let team = body.get("team_id").and_then(Value::as_str).map(str::to_owned);
            Ok(Envelope::Callback { event_id: id.to_owned(), team_id: team })
        }
        other => Ok(Envelope::Other(other.to_owned())),
    }
}

/// Who we are in a workspace, to recognise our own messages.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub bot_user_id: Option<String>,
    pub bot_id: Option<String>,
    pub ignore_bots: bool,
}

/// A Slack message as we ingest it.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    pub channel: String,
    pub ts: String,
    /// The thread's root ts when this is a reply (`thread_ts != ts`).
    pub thread_ts: Option<String>,
    pub user: String,
    /// From `user_profile` when the event carries one.
    pub user_name: Option<String>,
    pub from_bot: bool,
    /// The message object (`blocks`, `text`, `attachments`): the `source` we keep.
    pub content: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Ignore(&'static str),
    New(SlackMessage),
    Edit { channel: String, ts: String, content: Value },
    Delete { channel: String, ts: String },
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).filter(|x| !x.is_empty()).map(str::to_owned)
}

/// The message object part of an event: what `richtext::from_blockkit` reads and we keep.
fn content_of(m: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for k in ["blocks", "text", "attachments", "files"] {
        if let Some(v) = m.get(k) {
            out.insert(k.to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

fn is_ours(m: &Value, me: &Identity) -> bool {
    let bot = s(m, "bot_id");
    let user = s(m, "user");
    (bot.is_some() && bot == me.bot_id) || (user.is_some() && user == me.bot_user_id)
}

fn is_bot(m: &Value) -> bool {
    m.get("bot_id").is_some_and(|b| !b.is_null())
        || m.get("subtype").and_then(Value::as_str) == Some("bot_message")
}

/// What an `event` of an `event_callback` asks for.
pub fn classify(event: &Value, me: &Identity) -> Action {
    if event.get("type").and_then(Value::as_str) != Some("message") {
        return Action::Ignore("not a message event");
    }
    let Some(channel) = s(event, "channel") else { return Action::Ignore("message without a channel") };
    match event.get("subtype").and_then(Value::as_str) {
        None | Some("thread_broadcast" | "file_share" | "bot_message" | "me_message") => {
            if is_ours(event, me) {
                return Action::Ignore("our own message");
            }
            let from_bot = is_bot(event);
            if from_bot && me.ignore_bots {
                return Action::Ignore("a bot message");
            }
            let Some(ts) = s(event, "ts") else { return Action::Ignore("message without ts") };
            let thread_ts = s(event, "thread_ts").filter(|t| *t != ts);
            let user = s(event, "user").or_else(|| s(event, "bot_id")).unwrap_or_else(|| "unknown".into());
            let profile = event.get("user_profile");
            let user_name = profile
                .and_then(|p| s(p, "real_name").or_else(|| s(p, "display_name")).or_else(|| s(p, "name")));
            Action::New(SlackMessage {
                channel,
                ts,
                thread_ts,
                user,
                user_name,
                from_bot,
                content: content_of(event),
            })
        }
        Some("message_changed") => {
            let Some(m) = event.get("message") else {
                return Action::Ignore("message_changed without message");
            };
            if is_ours(m, me) {
                return Action::Ignore("our own message");
            }
            match s(m, "ts") {
                Some(ts) => Action::Edit { channel, ts, content: content_of(m) },
                None => Action::Ignore("message_changed without ts"),
            }
        }
        Some("message_deleted") => {
            let ts =
                s(event, "deleted_ts").or_else(|| event.get("previous_message").and_then(|p| s(p, "ts")));
            match ts {
                Some(ts) => Action::Delete { channel, ts },
                None => Action::Ignore("message_deleted without deleted_ts"),
            }
        }
        Some(_) => Action::Ignore("a message subtype desk does not ingest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn me() -> Identity {
        Identity { bot_user_id: Some("UBOT".into()), bot_id: Some("BME".into()), ignore_bots: true }
    }

    #[test]
    fn envelopes_parse() {
        assert_eq!(
            parse(&json!({"type": "url_verification", "challenge": "abc", "token": "x"})),
            Ok(Envelope::UrlVerification { challenge: "abc".into() })
        );
        assert_eq!(
            parse(&json!({"type": "event_callback", "event_id": "Ev1", "team_id": "T1", "event": {}})),
            Ok(Envelope::Callback { event_id: "Ev1".into(), team_id: Some("T1".into()) })
        );
        assert!(parse(&json!({"type": "event_callback", "event": {}})).is_err());
        assert_eq!(
            parse(&json!({"type": "app_rate_limited"})),
            Ok(Envelope::Other("app_rate_limited".into()))
        );
    }

    #[test]
    fn messages_replies_edits_deletes_and_bots() {
        let top = json!({"type": "message", "channel": "C1", "user": "U1", "ts": "1.1", "text": "hi",
            "blocks": [], "user_profile": {"real_name": "Ana Lopez"}});
        let Action::New(m) = classify(&top, &me()) else { panic!("a new message") };
        assert_eq!((m.thread_ts, m.user_name.as_deref()), (None, Some("Ana Lopez")));
        assert_eq!(m.content, json!({"blocks": [], "text": "hi"}));
        // An upload keeps its files, so the conversation shows what came with the message.
        let upload = json!({"type": "message", "subtype": "file_share", "channel": "C1", "user": "U1",
            "ts": "1.3", "text": "log", "files": [{"name": "a.log", "permalink": "https://x/a.log"}]});
        let Action::New(m) = classify(&upload, &me()) else { panic!("an upload is a new message") };
        assert_eq!(m.content["files"][0]["name"], "a.log");
        let reply =
            json!({"type": "message", "channel": "C1", "user": "U1", "ts": "1.2", "thread_ts": "1.1"});
        assert!(
            matches!(classify(&reply, &me()), Action::New(SlackMessage { thread_ts: Some(t), .. }) if t == "1.1")
        );
        let root_with_thread =
            json!({"type": "message", "channel": "C1", "user": "U1", "ts": "1.1", "thread_ts": "1.1"});
        assert!(matches!(
            classify(&root_with_thread, &me()),
            Action::New(SlackMessage { thread_ts: None, .. })
        ));
        let edit = json!({"type": "message", "subtype": "message_changed", "channel": "C1",
            "message": {"type": "message", "user": "U1", "text": "hi!", "ts": "1.1"}, "previous_message": {"ts": "1.1"}});
        assert!(matches!(classify(&edit, &me()), Action::Edit { ts, .. } if ts == "1.1"));
        let del =
            json!({"type": "message", "subtype": "message_deleted", "channel": "C1", "deleted_ts": "1.1"});
        assert_eq!(classify(&del, &me()), Action::Delete { channel: "C1".into(), ts: "1.1".into() });
        let ours = json!({"type": "message", "channel": "C1", "bot_id": "BME", "ts": "2.1"});
        assert_eq!(classify(&ours, &me()), Action::Ignore("our own message"));
        let other_bot = json!({"type": "message", "subtype": "bot_message", "channel": "C1", "bot_id": "B9", "ts": "2.2"});
        assert_eq!(classify(&other_bot, &me()), Action::Ignore("a bot message"));
        let open = Identity { ignore_bots: false, ..me() };
        assert!(matches!(classify(&other_bot, &open), Action::New(SlackMessage { from_bot: true, .. })));
        let join = json!({"type": "message", "subtype": "channel_join", "channel": "C1", "ts": "3"});
        assert!(matches!(classify(&join, &me()), Action::Ignore(_)));
    }
}
