//! Agents, teams, views, macros, notifications and entity resolution.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ticket::wire_enum;
use super::{
    AgentId, MacroId, NotificationId, Priority, Status, TeamId, TicketId, TicketPatch, TokenId, ViewId,
};

wire_enum!(
    Role { Agent = "agent", Admin = "admin" }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub teams: Vec<TeamId>,
}

/// `GET /me`: the calling agent and its teams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Me {
    pub agent: Agent,
    pub teams: Vec<Team>,
}

/// `POST /agents` (admin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    pub name: String,
    pub email: String,
    #[serde(default = "default_role")]
    pub role: Role,
    #[serde(default)]
    pub teams: Vec<TeamId>,
}

fn default_role() -> Role {
    Role::Agent
}

/// `POST /tokens` (admin): a token for an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub agent_id: AgentId,
    #[serde(default)]
    pub name: Option<String>,
}

/// The only time a token's secret is shown; the server keeps its SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub id: TokenId,
    pub agent_id: AgentId,
    pub token: String,
}

wire_enum!(
    /// Queue order. `sla` is soonest due first.
    SortKey { Sla = "sla", Priority = "priority", Updated = "updated", Created = "created" }
);

/// Who a ticket is assigned to, as the filter language says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeFilter {
    Me,
    None,
    Agent(AgentId),
}

/// The filter language shared by `GET /tickets?...`, saved views, the console's `/`
/// filter and `desk tickets list`. Values of one field are alternatives (OR); fields combine with AND.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<Status>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority: Vec<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<AssigneeFilter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub team: Vec<TeamId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<String>,
    /// Free text matched against subject, requester and account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Only tickets with a running SLA clock due within this many minutes (or overdue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaching_within: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct View {
    pub id: ViewId,
    pub name: String,
    pub filter: TicketFilter,
    pub sort: SortKey,
    /// Number of tickets the view currently holds for the calling agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Macro {
    pub id: MacroId,
    pub name: String,
    /// Markdown reply the macro posts; may be empty for field-only macros.
    #[serde(default)]
    pub reply_markdown: Option<String>,
    #[serde(default)]
    pub reply_visibility: Option<super::Visibility>,
    pub patch: TicketPatch,
}

/// What applying a macro did, or would do with `?dry_run=true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MacroOutcome {
    pub dry_run: bool,
    /// The ticket after the macro (as it would be, for a dry run).
    pub ticket: super::Ticket,
    /// The rendered reply, if the macro posts one.
    pub reply_markdown: Option<String>,
    /// Human-readable list of field changes, e.g. `status: open -> pending`.
    pub changes: Vec<String>,
}

wire_enum!(
    NotificationKind { Mention = "mention", Assignment = "assignment", SlaAtRisk = "sla_at_risk", SlaBreached = "sla_breached", CustomerMessage = "customer_message" }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: NotificationId,
    pub kind: NotificationKind,
    pub ticket_id: Option<TicketId>,
    pub summary: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub read: bool,
}

wire_enum!(
    RefKind { SlackUser = "slack_user", SlackChannel = "slack_channel", Contact = "contact", Agent = "agent", Account = "account" }
);

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntityRef {
    pub kind: RefKind,
    pub id: String,
}

/// `POST /resolve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    pub refs: Vec<EntityRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResolvedEntity {
    pub kind: RefKind,
    pub id: String,
    /// Display name; absent when the reference is unknown (clients fall back to the id).
    pub label: Option<String>,
    /// Our own id for the entity (e.g. the contact behind a Slack user), when there is one.
    pub desk_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResolveResponse {
    pub items: Vec<ResolvedEntity>,
}

/// `POST /teams` (admin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    pub name: String,
    /// The SLA policy its tickets follow; absent means the first policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_policy_id: Option<super::SlaPolicyId>,
}
