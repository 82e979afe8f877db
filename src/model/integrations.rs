//! Wire types of the Slack integration and of auto-responder rules (admin routes).

use serde::{Deserialize, Serialize};

use super::{AutoResponderId, Channel, Priority, TeamId};

/// A Slack workspace desk accepts events from and posts replies to.
/// `signing_secret` and `bot_token` are write-only: responses show `"***"` when set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlackWorkspace {
    /// Slack's team id, `T...`.
    pub slack_team_id: String,
    #[serde(default)]
    pub name: String,
    pub signing_secret: String,
    /// `xoxb-...`, used as `Authorization: Bearer` for `chat.postMessage`.
    pub bot_token: String,
    /// Our app's bot user (`U...`): its messages are never ingested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_user_id: Option<String>,
    /// Our app's bot id (`B...`), as in the `bot_id` field of its messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    /// Ignore messages of other bots too (default true).
    #[serde(default = "yes")]
    pub ignore_bots: bool,
}

/// Tickets opened in this Slack channel go to this desk team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlackChannelMapping {
    /// Slack's channel id, `C...`.
    pub channel_id: String,
    pub slack_team_id: String,
    pub team_id: TeamId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn yes() -> bool {
    true
}

/// When a rule applies; every condition given must hold (empty lists match anything).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoResponderConditions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
    /// Slack channel ids (`C...`) the message must come from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slack_channels: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub team_ids: Vec<TeamId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<Priority>,
    /// Any of these words or phrases (case-insensitive) in the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Only outside the business hours of the ticket's SLA calendar.
    #[serde(default)]
    pub outside_business_hours: bool,
    /// Only for the message that opened the ticket (default true).
    #[serde(default = "yes")]
    pub first_message_only: bool,
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoResponderActions {
    /// A public reply in Markdown with placeholders: `{{contact.name}}`, `{{contact.first_name}}`,
    /// `{{ticket.id}}`, `{{ticket.subject}}`, `{{sla.first_response.due_at}}`,
    /// `{{sla.next_response.due_at}}`, `{{sla.resolution.due_at}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_markdown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_tags: Vec<String>,
}

/// An auto-responder rule (`GET|PUT /auto-responders`). Fires at most once per ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoResponder {
    /// Absent on a new rule; keep it when editing so the once-per-ticket record carries over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<AutoResponderId>,
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub conditions: AutoResponderConditions,
    #[serde(default)]
    pub actions: AutoResponderActions,
    /// Whether the auto-reply satisfies the first-response SLA (default false: it does not).
    #[serde(default)]
    pub counts_as_first_response: bool,
}
