//! Slack dates (`<!date^ts^format|fallback>` and the rich_text `date` element).
//!
//! Rendering must be deterministic (the same message renders the same on every machine and
//! in every snapshot), so every date is formatted in UTC and time tokens say "UTC". Tokens
//! that are relative to "now" (`{date_pretty}`, `{ago}`, ...) render their absolute form.

use jiff::Timestamp;
use jiff::civil::Weekday;
use std::fmt::Write;

/// Formats `format` for the Unix time `seconds`. Returns None when the time is out of range,
/// so the caller falls back to the message's fallback text.
pub(crate) fn format(seconds: f64, format: &str) -> Option<String> {
    if !seconds.is_finite() {
        return None;
    }
    let ts = Timestamp::from_second(seconds.trunc() as i64).ok()?;
    let dt = jiff::tz::TimeZone::UTC.to_datetime(ts);
    let mut out = String::with_capacity(format.len() + 16);
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let token = &after[..close];
        if !token_into(&mut out, token, dt) {
            // Unknown token: say the time plainly rather than show a template.
            token_into(&mut out, "date_short", dt);
            out.push(' ');
            token_into(&mut out, "time", dt);
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn weekday(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

fn ordinal(day: i8) -> &'static str {
    match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// Writes one token; false when the token is unknown.
fn token_into(out: &mut String, token: &str, dt: jiff::civil::DateTime) -> bool {
    let month = MONTHS[(dt.month() - 1) as usize];
    let (y, d) = (dt.year(), dt.day());
    let _ = match token {
        "date_num" => write!(out, "{y:04}-{:02}-{d:02}", dt.month()),
        "date" | "date_pretty" => write!(out, "{month} {d}{}, {y}", ordinal(d)),
        "date_short" | "date_short_pretty" => write!(out, "{} {d}, {y}", &month[..3]),
        "date_long" | "date_long_pretty" => {
            write!(out, "{}, {month} {d}{}, {y}", weekday(dt.weekday()), ordinal(d))
        }
        "time" => write!(out, "{:02}:{:02} UTC", dt.hour(), dt.minute()),
        "time_secs" => write!(out, "{:02}:{:02}:{:02} UTC", dt.hour(), dt.minute(), dt.second()),
        "ago" => write!(out, "{} {d}, {y} {:02}:{:02} UTC", &month[..3], dt.hour(), dt.minute()),
        _ => return false,
    };
    true
}

/// Parses a Slack timestamp given as a number or a numeric string (`"1392734382"`,
/// `"1392734382.000200"`).
pub(crate) fn parse_seconds(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

/// The text of a date: its formatted time, else the fallback, else a neutral placeholder
/// (never the raw template).
pub(crate) fn render(seconds: Option<f64>, fmt: Option<&str>, fallback: Option<&str>) -> String {
    let fmt = fmt.filter(|f| !f.is_empty()).unwrap_or("{date_short} {time}");
    if let Some(s) = seconds.and_then(|s| format(s, fmt)) {
        return s;
    }
    match fallback {
        Some(f) if !f.is_empty() => f.to_string(),
        _ => "(unknown date)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: f64 = 1392734382.0; // 2014-02-18 14:39:42 UTC, a Tuesday

    #[test]
    fn tokens() {
        assert_eq!(format(TS, "{date_num} {time_secs}").unwrap(), "2014-02-18 14:39:42 UTC");
        assert_eq!(format(TS, "{date}").unwrap(), "February 18th, 2014");
        assert_eq!(format(TS, "{date_short}").unwrap(), "Feb 18, 2014");
        assert_eq!(format(TS, "{date_long}").unwrap(), "Tuesday, February 18th, 2014");
        assert_eq!(format(TS, "{date_pretty}").unwrap(), "February 18th, 2014");
        assert_eq!(format(TS, "{date_short_pretty} at {time}").unwrap(), "Feb 18, 2014 at 14:39 UTC");
        assert_eq!(format(TS, "{date_long_pretty}").unwrap(), "Tuesday, February 18th, 2014");
        assert_eq!(format(TS, "Posted {ago}").unwrap(), "Posted Feb 18, 2014 14:39 UTC");
        assert_eq!(format(TS, "{nope}").unwrap(), "Feb 18, 2014 14:39 UTC");
        assert_eq!(format(TS, "open {brace").unwrap(), "open {brace");
    }

    #[test]
    fn ordinals() {
        let mut s = String::new();
        for d in [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31] {
            s.push_str(&format!("{d}{} ", ordinal(d)));
        }
        assert_eq!(s, "1st 2nd 3rd 4th 11th 12th 13th 21st 22nd 23rd 31st ");
    }

    #[test]
    fn fallbacks() {
        assert_eq!(render(None, Some("{date}"), Some("yesterday")), "yesterday");
        assert_eq!(render(Some(1e30), Some("{date}"), None), "(unknown date)");
        assert_eq!(render(parse_seconds("1392734382.0002"), Some("{date_num}"), None), "2014-02-18");
        assert_eq!(render(Some(TS), None, None), "Feb 18, 2014 14:39 UTC");
    }
}
