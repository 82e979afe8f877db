//! The customer side: contacts, accounts, activities and tasks.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ticket::wire_enum;
use super::{AccountId, ActivityId, AgentId, ContactId, TaskId, Ticket, TicketId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub account_id: Option<AccountId>,
    pub slack_user_id: Option<String>,
    pub tags: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// `PATCH /contacts/{id}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::double_option")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::double_option")]
    #[schema(value_type = Option<AccountId>)]
    pub account_id: Option<Option<AccountId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

wire_enum!(
    Tier { Free = "free", Starter = "starter", Business = "business", Enterprise = "enterprise" }
);

wire_enum!(
    Health { Good = "good", Watch = "watch", AtRisk = "at_risk" }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub domain: Option<String>,
    pub tier: Tier,
    /// Annual recurring revenue in whole currency units.
    pub arr: i64,
    pub health: Health,
    pub owner_id: Option<AgentId>,
}

wire_enum!(
    ActivityKind { Call = "call", Meeting = "meeting", Email = "email", Note = "note" }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Activity {
    pub id: ActivityId,
    pub kind: ActivityKind,
    pub summary: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub contact_id: Option<ContactId>,
    pub account_id: Option<AccountId>,
    pub agent_id: Option<AgentId>,
}

/// `POST /activities`: on a contact, an account, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    pub kind: ActivityKind,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<ContactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    pub id: TaskId,
    pub title: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    pub assignee_id: Option<AgentId>,
    pub done: bool,
    pub ticket_id: Option<TicketId>,
    pub contact_id: Option<ContactId>,
    pub account_id: Option<AccountId>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// `POST /tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<TicketId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<ContactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
}

/// `PATCH /tasks/{id}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Option<Timestamp>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::double_option")]
    #[schema(value_type = Option<AgentId>)]
    pub assignee_id: Option<Option<AgentId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<bool>,
}

/// `GET /contacts/{id}/context`: everything the contact pane shows, in one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactContext {
    pub contact: Contact,
    pub account: Option<Account>,
    pub recent_tickets: Vec<Ticket>,
    pub activities: Vec<Activity>,
    pub open_tasks: Vec<Task>,
}

/// `GET /accounts/{id}/context`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountContext {
    pub account: Account,
    pub contacts: Vec<Contact>,
    pub recent_tickets: Vec<Ticket>,
    pub activities: Vec<Activity>,
    pub open_tasks: Vec<Task>,
}

/// `POST /contacts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_user_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}
