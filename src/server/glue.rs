//! The two integration points with the pure modules: message bodies (`richtext`) and SLA
//! clocks (`sla`). Everything else in the server goes through these functions.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::{MessageBody, Priority, SlaPolicy, SlaReport, Status};

// ---------------------------------------------------------------- message bodies

/// A body written in Markdown, stored in both forms clients render.
pub fn markdown_body(markdown: &str) -> MessageBody {
    let doc = crate::richtext::from_markdown(markdown);
    MessageBody { tiptap: doc.to_json(), markdown: markdown.to_owned(), source: None }
}

/// A body sent as TipTap JSON: validated against the TipTap model, Markdown derived from it.
pub fn tiptap_body(json: &serde_json::Value) -> Result<MessageBody, String> {
    let doc = crate::richtext::Doc::from_json(json).map_err(|e| e.to_string())?;
    Ok(MessageBody { tiptap: doc.to_json(), markdown: crate::richtext::to_markdown(&doc), source: None })
}

/// A message that arrived as Slack Block Kit: converted by `richtext`, the original kept as
/// `source`. A payload that does not convert keeps the given Markdown as its body.
pub fn blockkit_body(
    blocks: &serde_json::Value,
    resolver: &dyn crate::richtext::EntityResolver,
    fallback_markdown: &str,
) -> MessageBody {
    let mut body = match crate::richtext::from_blockkit_value(blocks, resolver) {
        Ok(doc) => {
            MessageBody { tiptap: doc.to_json(), markdown: crate::richtext::to_markdown(&doc), source: None }
        }
        Err(e) => {
            tracing::warn!(error = %e, "a Block Kit payload did not convert; keeping its Markdown form");
            markdown_body(fallback_markdown)
        }
    };
    body.source = Some(blocks.clone());
    body
}

// ---------------------------------------------------------------- SLA

/// One entry of a ticket's SLA history (stored as JSON in `tickets.sla_log`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaLogEntry {
    pub at: i64,
    #[serde(flatten)]
    pub kind: SlaLogKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", content = "v", rename_all = "snake_case")]
pub enum SlaLogKind {
    Created,
    CustomerMessage,
    AgentReply,
    InternalNote,
    Status(Status),
    Priority(Priority),
}

/// A policy ready to evaluate.
pub type CompiledPolicy = crate::sla::Policy;

/// Compiles a policy; the error names the offending field.
pub fn compile(policy: &SlaPolicy) -> Result<CompiledPolicy, String> {
    crate::sla::Policy::compile(policy).map_err(|e| e.to_string())
}

impl SlaLogKind {
    fn to_sla(&self) -> crate::sla::EventKind {
        use crate::sla::EventKind as K;
        match self {
            SlaLogKind::Created => K::Created,
            SlaLogKind::CustomerMessage => K::CustomerMessage,
            SlaLogKind::AgentReply => K::AgentReply,
            SlaLogKind::InternalNote => K::InternalNote,
            SlaLogKind::Status(s) => K::Status(*s),
            SlaLogKind::Priority(p) => K::Priority(*p),
        }
    }
}

/// The SLA report of a ticket from its policy and history at `now`; no policy, no clocks.
pub fn report(policy: Option<&CompiledPolicy>, log: &[SlaLogEntry], now: Timestamp) -> SlaReport {
    let Some(policy) = policy else { return SlaReport::default() };
    let mut events: Vec<crate::sla::Event> = log
        .iter()
        .map(|e| crate::sla::Event {
            at: Timestamp::from_millisecond(e.at).unwrap_or(Timestamp::UNIX_EPOCH),
            kind: e.kind.to_sla(),
        })
        .collect();
    // The history is appended in time order; a stable sort keeps same-instant order.
    events.sort_by_key(|e| e.at);
    crate::sla::evaluate(policy, &events, now)
}

/// What `next_sla_due_at` stores: the soonest due instant of a running clock, and nothing for a
/// solved or closed ticket. DESIGN §5 keeps reply clocks running whatever the status (a customer
/// message on a closed ticket opens a next-response cycle), but a finished ticket must not sort into
/// "soonest due first" queues or "Breaching soon" views; reopening it recomputes the column.
pub fn next_due(report: &SlaReport, status: Status) -> Option<Timestamp> {
    if !status.is_open() {
        return None;
    }
    crate::sla::next_due_at(report)
}

/// Compiled policies by id, recompiled only when their stored text changes.
#[derive(Default)]
pub struct PolicyCache {
    entries: std::sync::RwLock<HashMap<i64, (String, Arc<CompiledPolicy>)>>,
}

impl PolicyCache {
    /// The compiled policy for `(id, text)`; a policy that no longer compiles is skipped
    /// (logged), so a ticket shows no SLA rather than failing to load.
    pub fn get(&self, id: i64, text: &str) -> Option<Arc<CompiledPolicy>> {
        if let Some((t, p)) = self.entries.read().unwrap_or_else(|p| p.into_inner()).get(&id)
            && t == text
        {
            return Some(p.clone());
        }
        let model: SlaPolicy = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(policy = id, error = %e, "stored SLA policy is not valid JSON");
                return None;
            }
        };
        match compile(&model) {
            Ok(c) => {
                let c = Arc::new(c);
                self.entries
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, (text.to_owned(), c.clone()));
                Some(c)
            }
            Err(e) => {
                tracing::warn!(policy = id, error = %e, "stored SLA policy does not compile");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_tickets_have_no_next_due() {
        let policy = SlaPolicy {
            id: None,
            name: "24x7".into(),
            timezone: "UTC".into(),
            schedule: vec![],
            holidays: vec![],
            targets: crate::model::SlaTargets {
                first_response_min: Some(60),
                next_response_min: None,
                resolution_min: None,
            },
            targets_by_priority: Default::default(),
            warning: None,
            pause_statuses: vec![Status::Pending],
        };
        let compiled = CompiledPolicy::compile(&policy).expect("valid policy");
        let log = vec![SlaLogEntry { at: 0, kind: SlaLogKind::Created }];
        let report = report(Some(&compiled), &log, Timestamp::from_second(600).expect("valid"));
        assert!(next_due(&report, Status::Open).is_some(), "an unanswered open ticket is due");
        assert_eq!(next_due(&report, Status::Solved), None);
        assert_eq!(next_due(&report, Status::Closed), None);
    }

    #[test]
    fn log_entries_round_trip() {
        let log = vec![
            SlaLogEntry { at: 1, kind: SlaLogKind::Created },
            SlaLogEntry { at: 2, kind: SlaLogKind::Status(Status::Pending) },
            SlaLogEntry { at: 3, kind: SlaLogKind::Priority(Priority::Urgent) },
        ];
        let text = serde_json::to_string(&log).expect("serialise");
        assert_eq!(
            text,
            r#"[{"at":1,"k":"created"},{"at":2,"k":"status","v":"pending"},{"at":3,"k":"priority","v":"urgent"}]"#
        );
        let back: Vec<SlaLogEntry> = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, log);
    }

    #[test]
    fn markdown_body_keeps_both_forms() {
        let b = markdown_body("hello\n\nworld");
        assert_eq!(b.markdown, "hello\n\nworld");
        assert_eq!(b.tiptap["type"], "doc");
    }
}
