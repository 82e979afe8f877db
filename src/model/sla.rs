//! SLA wire types: the policy as written by admins and the status reported per ticket.
//! The `sla` module compiles a policy and computes the report; this file is only the shapes.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Priority, SlaPolicyId, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    Active,
    Paused,
    Achieved,
    Breached,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaClock {
    Running,
    Paused,
    Stopped,
}

/// The status of one SLA metric (DESIGN §5 rule 8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MetricStatus {
    pub state: SlaState,
    pub clock: SlaClock,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    /// Business minutes left, rounded down: negative exactly when the target is exceeded.
    pub remaining_min: i64,
    /// Calendar minutes from now to `due_at`, rounded down; null when the clock is not running.
    pub wall_min_to_due: Option<i64>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub fulfilled_at: Option<Timestamp>,
    /// Next response only: when the reported cycle opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cycle_start: Option<Timestamp>,
    pub at_risk: bool,
}

/// One status per metric; a metric without a target in the policy is null.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaReport {
    pub first_response: Option<MetricStatus>,
    pub next_response: Option<MetricStatus>,
    pub resolution: Option<MetricStatus>,
}

/// A weekly business-hours interval in the policy's zone, e.g. `{"day": "mon", "start": "09:00", "end": "17:00"}`.
/// `end` may be `24:00`; `end <= start` means the interval ends the next day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleInterval {
    pub day: String,
    pub start: String,
    pub end: String,
}

/// Targets in business minutes; an absent metric is not measured.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaTargets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response_min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_min: Option<i64>,
}

/// When an active clock counts as at risk: fewer than `minutes` business minutes left
/// (`{"minutes": 30}`), or less than `percent` of the target left (`{"percent": 25}`).
/// Absent from a policy, it is 25 percent (`sla::DEFAULT_WARNING_PERCENT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarningThreshold {
    Minutes(i64),
    Percent(u8),
}

/// An SLA policy as admins write it (`PUT /sla-policies`, `desk sla eval`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<SlaPolicyId>,
    #[serde(default)]
    pub name: String,
    /// IANA zone; absent with an empty schedule means 24x7 in UTC.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Empty means 24x7.
    #[serde(default)]
    pub schedule: Vec<ScheduleInterval>,
    /// Local dates, `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
    #[serde(default)]
    pub targets: SlaTargets,
    /// Overrides of `targets` for a priority, metric by metric (a metric a priority does not
    /// name falls back to `targets`); the targets of the priority in force apply.
    #[serde(default)]
    pub targets_by_priority: std::collections::BTreeMap<Priority, SlaTargets>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<WarningThreshold>,
    #[serde(default = "default_pause_statuses")]
    pub pause_statuses: Vec<Status>,
}

fn utc() -> String {
    "UTC".to_owned()
}

fn default_pause_statuses() -> Vec<Status> {
    vec![Status::Pending, Status::OnHold]
}
