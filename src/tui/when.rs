//! Natural times for snooze and follow-up due dates: `2h`, `30m`, `3d`, `in 2 hours`,
//! `tomorrow`, `tomorrow 9am`, `mon`, `friday 14:30`, `next week`, `9am`, `2026-12-01 10:00`.
//! Pure: `now` and the agent's time zone are passed in. A day without a time means 09:00
//! (the start of a working day), which is what "snooze until tomorrow" usually wants.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ZonedDateTime};

pub fn parse(input: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, String> {
    let s = input.trim().to_lowercase();
    let s = s.strip_prefix("in ").unwrap_or(&s).trim().to_string();
    if s.is_empty() {
        return Err("type a time like `2h`, `tomorrow 9am` or `mon`".into());
    }
    if let Some(d) = relative(&s) {
        return Ok(now + d);
    }
    let today = now.to_zoned_datetime(tz.clone());
    let words: Vec<&str> = s.split_whitespace().collect();
    let (day_word, time_word) = match words.as_slice() {
        [one] => (Some(*one), None),
        [a, b] if *a == "next" && *b == "week" => (Some("next week"), None),
        [a, b] => (Some(*a), Some(*b)),
        [a, b, c] if *a == "next" && *b == "week" => (Some("next week"), Some(*c)),
        _ => return Err(format!("cannot read `{input}` as a time; try `2h`, `tomorrow 9am`, `fri 14:00`")),
    };
    // A lone time ("9am", "14:30") means the next such time.
    if let (Some(w), None) = (day_word, time_word)
        && let Some(t) = time_of_day(w)
    {
        let mut at = at_local(today.date(), t, tz)?;
        if at <= now {
            at = at_local(today.date().tomorrow().map_err(|e| e.to_string())?, t, tz)?;
        }
        return Ok(at);
    }
    let day = match day_word.unwrap_or("") {
        "today" => today.date(),
        "tomorrow" | "tmr" | "tom" => today.date().tomorrow().map_err(|e| e.to_string())?,
        "next week" => next_weekday(&today, Weekday::Monday),
        w => {
            if let Some(wd) = weekday(w) {
                next_weekday(&today, wd)
            } else if let Ok(d) = w.parse::<Date>() {
                d
            } else {
                return Err(format!(
                    "cannot read `{input}` as a time; try `2h`, `tomorrow 9am`, `fri 14:00`"
                ));
            }
        }
    };
    let t = match time_word {
        Some(w) => time_of_day(w).ok_or_else(|| format!("`{w}` is not a time of day (try 9am or 14:30)"))?,
        None => Time::constant(9, 0, 0, 0),
    };
    let at = at_local(day, t, tz)?;
    if at <= now {
        return Err(format!("`{input}` is in the past"));
    }
    Ok(at)
}

fn relative(s: &str) -> Option<SignedDuration> {
    let compact: String = s.split_whitespace().collect();
    let digits: String = compact.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let unit = &compact[digits.len()..];
    let secs = match unit {
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "wk" | "week" | "weeks" => 7 * 86_400,
        _ => return None,
    };
    Some(SignedDuration::from_secs(n.checked_mul(secs)?))
}

fn weekday(w: &str) -> Option<Weekday> {
    Some(match w {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tues" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thur" | "thurs" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

/// The next given weekday strictly after today ("mon" on a Monday means next Monday).
fn next_weekday(today: &ZonedDateTime, wd: Weekday) -> Date {
    let mut d = today.date();
    for _ in 0..7 {
        d = d.tomorrow().unwrap_or(d);
        if d.weekday() == wd {
            break;
        }
    }
    d
}

fn time_of_day(w: &str) -> Option<Time> {
    let (body, pm, am) = if let Some(b) = w.strip_suffix("pm") {
        (b, true, false)
    } else if let Some(b) = w.strip_suffix("am") {
        (b, false, true)
    } else {
        (w, false, false)
    };
    let (h, m) = match body.split_once(':') {
        Some((h, m)) => (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?),
        None if pm || am => (body.parse::<i8>().ok()?, 0),
        None => return None,
    };
    if (pm || am) && !(1..=12).contains(&h) {
        return None;
    }
    let h = match (pm, am) {
        (true, _) if h < 12 => h + 12,
        (_, true) if h == 12 => 0,
        _ => h,
    };
    Time::new(h, m, 0, 0).ok()
}

fn at_local(d: Date, t: Time, tz: &TimeZone) -> Result<Timestamp, String> {
    d.to_datetime(t).to_zoned_datetime(tz.clone()).map(|z| z.timestamp()).map_err(|e| e.to_string())
}

/// "Thu 26 Nov 09:00" in the agent's zone, for previews.
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
