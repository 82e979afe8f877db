use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{TeamId, TicketId};

/// One row of the event log, as streamed by `GET /events` (the SSE `id` is `id`,
/// the SSE `event` is `kind`, the SSE `data` is this whole object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// Monotonic; resume with `Last-Event-ID`.
    pub id: i64,
    /// e.g. `ticket.created`, `ticket.updated`, `message.created`, `notification.created`,
    /// `presence.changed`, `sla.at_risk`, `sla.breached`.
    pub kind: String,
    pub ticket_id: Option<TicketId>,
    pub team_id: Option<TeamId>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Small JSON payload; clients refetch what they need.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// Event kinds, so producers and consumers agree on the strings.
pub mod event_kind {
    pub const TICKET_CREATED: &str = "ticket.created";
    pub const TICKET_UPDATED: &str = "ticket.updated";
    pub const TICKET_MERGED: &str = "ticket.merged";
    pub const MESSAGE_CREATED: &str = "message.created";
    pub const MESSAGE_UPDATED: &str = "message.updated";
    pub const NOTIFICATION_CREATED: &str = "notification.created";
    pub const PRESENCE_CHANGED: &str = "presence.changed";
    pub const SLA_AT_RISK: &str = "sla.at_risk";
    pub const SLA_BREACHED: &str = "sla.breached";
    /// Sent by the server when `Last-Event-ID` is older than what it can replay.
    pub const RESYNC: &str = "resync";
}
