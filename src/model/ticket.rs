use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{AgentId, ContactId, MessageId, SlaReport, TeamId, TicketId};

/// Declares a closed string enum with its wire names, `as_str`, `ALL` and `FromStr`,
/// so CLI flags, filters and the API all parse the same words.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $wire:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),* }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                    $($wire => Ok($name::$variant),)*
                    other => Err(format!(
                        "unknown {} `{other}`; expected one of: {}",
                        stringify!($name).to_ascii_lowercase(),
                        [$($wire),*].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(
    /// Ticket lifecycle. `solved` stops the resolution clock; `closed` is final.
    Status { New = "new", Open = "open", Pending = "pending", OnHold = "on_hold", Solved = "solved", Closed = "closed" }
);

wire_enum!(
    /// Ordered from least to most pressing, so `Ord` sorts by urgency.
    Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
);

wire_enum!(
    Channel { Slack = "slack", Email = "email", Web = "web", Api = "api" }
);

wire_enum!(
    Visibility { Public = "public", Internal = "internal" }
);

wire_enum!(
    AuthorKind { Contact = "contact", Agent = "agent", System = "system" }
);

impl Status {
    /// Open for work: neither solved nor closed.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Solved | Status::Closed)
    }
}

/// Where a ticket came from outside desk, e.g. its Slack thread.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct External {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_team_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_thread_ts: Option<String>,
    /// A link to the original conversation, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ticket {
    pub id: TicketId,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    pub requester_id: ContactId,
    pub assignee_id: Option<AgentId>,
    pub team_id: TeamId,
    pub tags: Vec<String>,
    pub channel: Channel,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snoozed_until: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Optimistic-concurrency version; send it back as `If-Match: "<version>"`.
    pub version: i64,
    /// SLA status of every metric, computed on read.
    pub sla: SlaReport,
    /// Soonest due instant over the running clocks (what "sort by SLA" orders by).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_sla_due_at: Option<Timestamp>,
    #[serde(default)]
    pub external: External,
    /// Requester's display name and account, so a queue row needs no extra call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// Set when this ticket was merged into another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<TicketId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Author {
    pub kind: AuthorKind,
    /// Contact or agent id; null for system messages.
    pub id: Option<i64>,
    pub name: String,
}

/// A message body in the two forms clients render: TipTap JSON and Markdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageBody {
    /// TipTap (ProseMirror) document.
    #[schema(value_type = Object)]
    pub tiptap: serde_json::Value,
    pub markdown: String,
    /// The original payload (e.g. Slack Block Kit) when the message came from outside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub source: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub ticket_id: TicketId,
    pub author: Author,
    pub visibility: Visibility,
    pub body: MessageBody,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub edited_at: Option<Timestamp>,
}

/// `POST /tickets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    pub subject: String,
    pub requester_id: ContactId,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub team_id: Option<TeamId>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub body_markdown: Option<String>,
    #[serde(default)]
    pub channel: Option<Channel>,
}

/// `PATCH /tickets/{id}` and the patch of `POST /tickets/bulk`. Absent fields are untouched;
/// `assignee_id: null` unassigns, `snoozed_until: null` wakes the ticket.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    #[schema(value_type = Option<AgentId>)]
    pub assignee_id: Option<Option<AgentId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snoozed_until: Option<Option<Timestamp>>,
}

impl TicketPatch {
    pub fn is_empty(&self) -> bool {
        self == &TicketPatch::default()
    }
}

/// Serde helper: distinguishes an absent field (`None`) from an explicit null (`Some(None)`).
pub mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// `POST /tickets/{id}/messages`: exactly one of the two bodies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    pub visibility: Visibility,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_markdown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub body_tiptap: Option<serde_json::Value>,
}

/// `POST /tickets/bulk`: one patch applied to many tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkUpdate {
    pub ids: Vec<TicketId>,
    pub patch: TicketPatch,
}

/// One result per id of a bulk update: the ticket, or the error for that id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BulkItemResult {
    pub id: TicketId,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Ticket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<super::ApiError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BulkResult {
    pub results: Vec<BulkItemResult>,
}

/// `POST /tickets/{id}/merge`: merge the path ticket into `into`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    pub into: TicketId,
}

wire_enum!(
    PresenceState { Viewing = "viewing", Replying = "replying" }
);

/// `POST /tickets/{id}/presence` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceUpdate {
    pub state: PresenceState,
}

/// Who else is on a ticket right now (entries expire 30 s after their last renewal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Presence {
    pub agent_id: AgentId,
    pub agent_name: String,
    pub state: PresenceState,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PresenceList {
    pub items: Vec<Presence>,
}
