//! Natural times for snooze and follow-up due dates: `2h`, `30m`, `3d`, `in 2 hours`,
//! `tomorrow`, `tomorrow 9am`, `mon`, `friday 14:30`, `next week`, `9am`, `2026-12-01 10:00`.
//! Pure: `now` and the agent's time zone are passed in. A day without a time means 09:00
//! (the start of a working day), which is what "snooze until tomorrow" usually wants.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Parses a natural time with the same parser as the CLI's `--snooze`, so the console's `z`
/// and `desk tickets update --snooze` accept the same words.
pub fn parse(input: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, String> {
    crate::client::parse_when(input, &now.to_zoned_datetime(tz.clone())).map_err(|e| e.to_string())
}

pub fn describe(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned_datetime(tz.clone()).strftime("%a %-d %b %H:%M").to_string()
}

/// Compact age for the queue: `45s`, `12m`, `3h`, `5d`, `7w`.
pub fn age(from: Timestamp, now: Timestamp) -> String {
    let secs = now.duration_since(from).as_secs().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s if s < 14 * 86_400 => format!("{}d", s / 86_400),
        s => format!("{}w", s / (7 * 86_400)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    // Wednesday 25 Nov 2026, 17:00 UTC.
    fn now() -> Timestamp {
        "2026-11-25T17:00:00Z".parse().unwrap()
    }

    fn p(s: &str) -> String {
        parse(s, now(), &TimeZone::UTC).map(|t| t.to_string()).unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn natural_times() {
        assert_eq!(p("2h"), "2026-11-25T19:00:00Z");
        assert_eq!(p("in 30 minutes"), "2026-11-25T17:30:00Z");
        assert_eq!(p("3d"), "2026-11-28T17:00:00Z");
        assert_eq!(p("1 week"), "2026-12-02T17:00:00Z");
        assert_eq!(p("tomorrow"), "2026-11-26T09:00:00Z");
        assert_eq!(p("tomorrow 9am"), "2026-11-26T09:00:00Z");
        assert_eq!(p("Tomorrow 2:30pm"), "2026-11-26T14:30:00Z");
        assert_eq!(p("fri 14:00"), "2026-11-27T14:00:00Z");
        assert_eq!(p("wednesday"), "2026-12-02T09:00:00Z");
        assert_eq!(p("next week"), "2026-11-30T09:00:00Z");
        assert_eq!(p("9am"), "2026-11-26T09:00:00Z");
        assert_eq!(p("18:00"), "2026-11-25T18:00:00Z");
        assert_eq!(p("12am"), "2026-11-26T00:00:00Z");
        assert_eq!(p("2026-12-24"), "2026-12-24T09:00:00Z");
        assert_eq!(p("2026-12-24 16:15"), "2026-12-24T16:15:00Z");
        assert!(p("2020-01-01").contains("in the past"));
        assert!(p("whenever").starts_with("error"));
        assert!(p("tomorrow 25pm").starts_with("error"));
        assert!(p("").starts_with("error"));
    }

    #[test]
    fn zones_are_respected() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let t = parse("tomorrow 9am", now(), &tz).unwrap();
        assert_eq!(t.to_string(), "2026-11-26T08:00:00Z");
        assert_eq!(describe(t, &tz), "Thu 26 Nov 09:00");
    }

    #[test]
    fn ages() {
        let n = now();
        assert_eq!(age(n - SignedDuration::from_secs(30), n), "30s");
        assert_eq!(age(n - SignedDuration::from_mins(12), n), "12m");
        assert_eq!(age(n - SignedDuration::from_hours(5), n), "5h");
        assert_eq!(age(n - SignedDuration::from_hours(50), n), "2d");
        assert_eq!(age(n - SignedDuration::from_hours(24 * 30), n), "4w");
        assert_eq!(age(n + SignedDuration::from_hours(1), n), "0s");
    }
}
