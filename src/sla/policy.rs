//! Compiling an admin-written [`model::SlaPolicy`] into a [`Policy`] ready to evaluate:
//! every string is parsed and checked once, so evaluation does no parsing at all.

use crate::model::{Priority, SlaPolicy, SlaTargets, Status, WarningThreshold};

use super::calendar::{Calendar, days_from_civil};
use super::zone;

/// The largest target accepted, in minutes (ten years): beyond it a number is a typo.
pub const MAX_TARGET_MIN: i64 = 10 * 366 * 24 * 60;

/// When no warning threshold is given, a clock is at risk with less than this percentage
/// of its target left.
pub const DEFAULT_WARNING_PERCENT: u8 = 25;

/// A policy field that cannot be used: `field` is its path inside the policy
/// (e.g. `schedule[2].end`), `message` says what is wrong and what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PolicyError {
    pub field: String,
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError { field: field.into(), message: message.into() }
}

/// Targets of one priority, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Targets {
    pub first_response: Option<i64>,
    pub next_response: Option<i64>,
    pub resolution: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Warning {
    Seconds(i64),
    Percent(i64),
}

impl Warning {
    /// The remaining seconds under which a clock with this target is at risk.
    pub(crate) fn threshold(self, target: i64) -> i64 {
        match self {
            Warning::Seconds(s) => s,
            Warning::Percent(p) => target * p / 100,
        }
    }
}

/// A compiled SLA policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) calendar: Calendar,
    /// Indexed by [`priority_index`], with `targets` filled in where a priority is silent.
    pub(crate) targets: [Targets; 4],
    pub(crate) warning: Warning,
    /// Indexed by [`status_index`].
    pub(crate) pauses: [bool; 6],
}

pub(crate) fn priority_index(p: Priority) -> usize {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

pub(crate) fn status_index(s: Status) -> usize {
    match s {
        Status::New => 0,
        Status::Open => 1,
        Status::Pending => 2,
        Status::OnHold => 3,
        Status::Solved => 4,
        Status::Closed => 5,
    }
}

impl Policy {
    /// Checks and compiles a policy; the error names the offending field.
    pub fn compile(p: &SlaPolicy) -> Result<Policy, PolicyError> {
        let zone = zone::lookup(&p.timezone).map_err(|m| err("timezone", m))?;

        let mut intervals = Vec::with_capacity(p.schedule.len());
        for (i, iv) in p.schedule.iter().enumerate() {
            let day = parse_day(&iv.day).map_err(|m| err(format!("schedule[{i}].day"), m))?;
            let start = parse_time(&iv.start, false).map_err(|m| err(format!("schedule[{i}].start"), m))?;
            let end = parse_time(&iv.end, true).map_err(|m| err(format!("schedule[{i}].end"), m))?;
            intervals.push((day, start, end));
        }

        let mut holidays = Vec::with_capacity(p.holidays.len());
        for (i, h) in p.holidays.iter().enumerate() {
            holidays.push(parse_date(h).map_err(|m| err(format!("holidays[{i}]"), m))?);
        }

        let base = targets(&p.targets, "targets")?;
        let mut by_priority = [base; 4];
        for (priority, t) in &p.targets_by_priority {
            let own = targets(t, &format!("targets_by_priority.{priority}"))?;
            by_priority[priority_index(*priority)] = Targets {
                first_response: own.first_response.or(base.first_response),
                next_response: own.next_response.or(base.next_response),
                resolution: own.resolution.or(base.resolution),
            };
        }

        let warning = match p.warning {
            None => Warning::Percent(i64::from(DEFAULT_WARNING_PERCENT)),
            Some(WarningThreshold::Minutes(m)) if (0..=MAX_TARGET_MIN).contains(&m) => {
                Warning::Seconds(m * 60)
            }
            Some(WarningThreshold::Minutes(m)) => {
                return Err(err(
                    "warning.minutes",
                    format!("{m} is out of range; expected 0 to {MAX_TARGET_MIN}"),
                ));
            }
            Some(WarningThreshold::Percent(pc)) if pc <= 100 => Warning::Percent(i64::from(pc)),
            Some(WarningThreshold::Percent(pc)) => {
                return Err(err("warning.percent", format!("{pc} is out of range; expected 0 to 100")));
            }
        };

        let mut pauses = [false; 6];
        for (i, s) in p.pause_statuses.iter().enumerate() {
            if matches!(s, Status::Solved | Status::Closed) {
                return Err(err(
                    format!("pause_statuses[{i}]"),
                    format!(
                        "`{s}` stops the resolution clock, it cannot pause it; use statuses such as pending or on_hold"
                    ),
                ));
            }
            pauses[status_index(*s)] = true;
        }

        Ok(Policy {
            calendar: Calendar::new(zone, &intervals, holidays),
            targets: by_priority,
            warning,
            pauses,
        })
    }

    /// The business calendar of this policy.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }
}

fn targets(t: &SlaTargets, field: &str) -> Result<Targets, PolicyError> {
    let one = |v: Option<i64>, name: &str| -> Result<Option<i64>, PolicyError> {
        match v {
            None => Ok(None),
            Some(m) if (0..=MAX_TARGET_MIN).contains(&m) => Ok(Some(m * 60)),
            Some(m) => Err(err(
                format!("{field}.{name}"),
                format!("{m} is out of range; expected minutes from 0 to {MAX_TARGET_MIN}"),
            )),
        }
    };
    Ok(Targets {
        first_response: one(t.first_response_min, "first_response_min")?,
        next_response: one(t.next_response_min, "next_response_min")?,
        resolution: one(t.resolution_min, "resolution_min")?,
    })
}

/// `mon`..`sun` or the full English name, any case; Monday = 0.
fn parse_day(s: &str) -> Result<usize, String> {
    const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let lower = s.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|d| lower.len() >= 3 && (*d == lower || d[..3] == lower))
        .ok_or_else(|| format!("unknown day `{s}`; expected one of mon, tue, wed, thu, fri, sat, sun"))
}

/// `HH:MM` from `00:00` to `23:59`, or `24:00` for an end; returns seconds of the day.
fn parse_time(s: &str, is_end: bool) -> Result<i64, String> {
    let bad = || {
        let range = if is_end { "00:00 to 24:00" } else { "00:00 to 23:59" };
        format!("`{s}` is not a time of day; expected HH:MM from {range}")
    };
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let digits = |x: &str| !x.is_empty() && x.len() <= 2 && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || m.len() != 2 || !digits(m) {
        return Err(bad());
    }
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (0..=23, 0..=59) => Ok(h * 3600 + m * 60),
        (24, 0) if is_end => Ok(24 * 3600),
        _ => Err(bad()),
    }
}

/// `YYYY-MM-DD`, a real calendar date; returns days since 1970-01-01.
fn parse_date(s: &str) -> Result<i64, String> {
    let bad = |why: &str| format!("`{s}` is not a date{why}; expected YYYY-MM-DD such as 2026-12-25");
    let parts: Vec<&str> = s.trim().split('-').collect();
    let [y, m, d] = parts[..] else { return Err(bad("")) };
    let num = |x: &str, len: usize| {
        if x.len() == len && x.bytes().all(|b| b.is_ascii_digit()) { x.parse::<i64>().ok() } else { None }
    };
    let (Some(y), Some(m), Some(d)) = (num(y, 4), num(m, 2), num(d, 2)) else { return Err(bad("")) };
    // jiff knows month lengths and leap years; it refuses 2026-02-30.
    jiff::civil::Date::new(y as i16, m as i8, d as i8).map_err(|_| bad(" (no such day)"))?;
    Ok(days_from_civil(y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: serde_json::Value) -> Result<Policy, PolicyError> {
        let p: SlaPolicy = serde_json::from_value(json).unwrap();
        Policy::compile(&p)
    }

    #[test]
    fn times_days_and_dates_parse_strictly() {
        assert_eq!(parse_time("09:30", false), Ok(9 * 3600 + 30 * 60));
        assert_eq!(parse_time("24:00", true), Ok(86_400));
        for bad in ["24:00", "25:00", "9", "09:60", "09:5", "-1:00", "aa:bb", ""] {
            assert!(parse_time(bad, false).is_err(), "{bad}");
        }
        assert!(parse_time("24:01", true).is_err());
        assert_eq!(parse_day("Mon"), Ok(0));
        assert_eq!(parse_day("sunday"), Ok(6));
        assert!(parse_day("mo").is_err());
        assert!(parse_day("funday").is_err());
        assert_eq!(parse_date("1970-01-02"), Ok(1));
        assert_eq!(parse_date("2026-03-08"), Ok(20_520));
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("2026-2-3").is_err());
        assert!(parse_date("2026-13-01").is_err());
    }

    #[test]
    fn errors_name_the_field() {
        let e = policy(serde_json::json!({"timezone": "Moon/Base"})).unwrap_err();
        assert_eq!(e.field, "timezone");
        let e = policy(serde_json::json!({"schedule": [
            {"day": "mon", "start": "09:00", "end": "17:00"},
            {"day": "tue", "start": "09:00", "end": "25:00"}]}))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "schedule[1].end: `25:00` is not a time of day; expected HH:MM from 00:00 to 24:00"
        );
        let e = policy(serde_json::json!({"holidays": ["2026-12-25", "2026-02-30"]})).unwrap_err();
        assert_eq!(e.field, "holidays[1]");
        let e = policy(serde_json::json!({"targets_by_priority": {"urgent": {"resolution_min": -5}}}))
            .unwrap_err();
        assert_eq!(e.field, "targets_by_priority.urgent.resolution_min");
        let e = policy(serde_json::json!({"pause_statuses": ["pending", "solved"]})).unwrap_err();
        assert_eq!(e.field, "pause_statuses[1]");
        let e = policy(serde_json::json!({"warning": {"percent": 150}})).unwrap_err();
        assert_eq!(e.field, "warning.percent");
    }

    #[test]
    fn priority_targets_fall_back_per_metric() {
        let p = policy(serde_json::json!({
            "targets": {"first_response_min": 60, "resolution_min": 480},
            "targets_by_priority": {"urgent": {"first_response_min": 15}}
        }))
        .unwrap();
        let urgent = p.targets[priority_index(Priority::Urgent)];
        assert_eq!(urgent.first_response, Some(15 * 60));
        assert_eq!(urgent.resolution, Some(480 * 60));
        assert_eq!(urgent.next_response, None);
        assert_eq!(p.targets[priority_index(Priority::Low)].first_response, Some(3600));
        assert_eq!(p.warning, Warning::Percent(25));
        assert!(p.pauses[status_index(Status::Pending)] && p.pauses[status_index(Status::OnHold)]);
    }
}
