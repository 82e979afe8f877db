//! The SLA badge of a queue row: `FR 12m`, `NR 1h05`, `RES -5m`. Computed from the report's
//! `due_at` and the (skew-corrected) clock at every draw, so it ticks each second without
//! refetching. Which metric shows: the running clock due soonest (breached ones included);
//! if none runs, a paused one.

use crate::model::{MetricStatus, SlaClock, SlaReport, SlaState};
use jiff::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadgeState {
    Ok,
    AtRisk,
    Breached,
    Paused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub text: String,
    pub state: BadgeState,
}

/// Below this a running clock counts as at risk even if the server did not say so when the
/// ticket was fetched (the server's flag is a snapshot; the badge keeps ticking).
const LOCAL_AT_RISK_SECS: i64 = 15 * 60;

pub fn badge(report: &SlaReport, now: Timestamp) -> Option<Badge> {
    let metrics = [
        ("FR", report.first_response.as_ref()),
        ("NR", report.next_response.as_ref()),
        ("RES", report.resolution.as_ref()),
    ];
    let running = metrics
        .iter()
        .filter_map(|(l, m)| {
            m.filter(|m| m.clock == SlaClock::Running && m.due_at.is_some()).map(|m| (*l, m))
        })
        .min_by_key(|(_, m)| m.due_at);
    if let Some((label, m)) = running {
        return Some(running_badge(label, m, now));
    }
    let paused = metrics.iter().find_map(|(l, m)| m.filter(|m| m.clock == SlaClock::Paused).map(|m| (*l, m)));
    if let Some((label, m)) = paused {
        let state = if m.state == SlaState::Breached { BadgeState::Breached } else { BadgeState::Paused };
        return Some(Badge { text: format!("{label} ‖"), state });
    }
    None
}

fn running_badge(label: &str, m: &MetricStatus, now: Timestamp) -> Badge {
    let due = m.due_at.unwrap_or(now);
    let secs = due.duration_since(now).as_secs();
    let state = if secs <= 0 || m.state == SlaState::Breached {
        BadgeState::Breached
    } else if m.at_risk || secs < LOCAL_AT_RISK_SECS {
        BadgeState::AtRisk
    } else {
        BadgeState::Ok
    };
    Badge { text: format!("{label} {}", short_duration(secs)), state }
}

/// `45s`, `12m`, `1h05`, `3d04`, and the same with a minus sign when overdue.
pub fn short_duration(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let body = if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h{:02}", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{:02}", s / 86_400, (s % 86_400) / 3600)
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn metric(clock: SlaClock, state: SlaState, due_in_min: Option<i64>, at_risk: bool) -> MetricStatus {
        let now: Timestamp = "2026-11-25T17:00:00Z".parse().unwrap();
        MetricStatus {
            state,
            clock,
            due_at: due_in_min.map(|m| now + SignedDuration::from_mins(m)),
            remaining_min: due_in_min.unwrap_or(0),
            wall_min_to_due: due_in_min,
            fulfilled_at: None,
            cycle_start: None,
            at_risk,
        }
    }

    #[test]
    fn picks_soonest_running_clock_and_ticks() {
        let now: Timestamp = "2026-11-25T17:00:00Z".parse().unwrap();
        let report = SlaReport {
            first_response: Some(metric(SlaClock::Stopped, SlaState::Achieved, Some(-30), false)),
            next_response: Some(metric(SlaClock::Running, SlaState::Active, Some(65), false)),
            resolution: Some(metric(SlaClock::Running, SlaState::Active, Some(600), false)),
        };
        let b = badge(&report, now).unwrap();
        assert_eq!(b, Badge { text: "NR 1h05".into(), state: BadgeState::Ok });
        // Fifty-five minutes later, without refetching: at risk, then breached.
        let later = now + SignedDuration::from_mins(55);
        assert_eq!(badge(&report, later).unwrap().text, "NR 10m");
        assert_eq!(badge(&report, later).unwrap().state, BadgeState::AtRisk);
        let late = now + SignedDuration::from_mins(70);
        assert_eq!(
            badge(&report, late).unwrap(),
            Badge { text: "NR -5m".into(), state: BadgeState::Breached }
        );
    }

    #[test]
    fn paused_and_none() {
        let now: Timestamp = "2026-11-25T17:00:00Z".parse().unwrap();
        let report = SlaReport {
            resolution: Some(metric(SlaClock::Paused, SlaState::Paused, None, false)),
            ..SlaReport::default()
        };
        assert_eq!(badge(&report, now).unwrap(), Badge { text: "RES ‖".into(), state: BadgeState::Paused });
        assert_eq!(badge(&SlaReport::default(), now), None);
        let risky = SlaReport {
            first_response: Some(metric(SlaClock::Running, SlaState::Active, Some(120), true)),
            ..SlaReport::default()
        };
        assert_eq!(badge(&risky, now).unwrap().state, BadgeState::AtRisk);
    }

    #[test]
    fn durations() {
        assert_eq!(short_duration(45), "45s");
        assert_eq!(short_duration(12 * 60), "12m");
        assert_eq!(short_duration(3900), "1h05");
        assert_eq!(short_duration(-300), "-5m");
        assert_eq!(short_duration(2 * 86_400 + 4 * 3600), "2d04");
    }
}
