//! Natural times for snoozing: `2h`, `90m`, `1d`, `2h30m`, `in 3 days`, `tomorrow`,
//! `tomorrow 9am`, `monday 14:30`, `next week`, `17:00`, `2026-12-01`, `2026-12-01 9:30`,
//! or an RFC 3339 timestamp. Pure: `now` (with its time zone) is an argument, so the
//! console and the CLI parse the same way and tests fix the clock.
//!
//! A day without a time means 09:00 that day (the start of a working day). A bare time
//! means its next occurrence. Weekdays mean the next such day, never today. Calendar
//! arithmetic happens in `now`'s zone, so `tomorrow 9am` is 9am local even across DST.

use jiff::civil::{Date, Time, Weekday};
use jiff::{SignedDuration, Span, Timestamp, ZonedDateTime};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    #[error(
        "cannot read `{input}` as a time; try 2h, 30m, tomorrow 9am, monday, 17:00 or 2026-12-01T09:00:00Z"
    )]
    Unrecognised { input: String },
    #[error("`{input}` is in the past ({at})")]
    Past { input: String, at: Timestamp },
}

/// When a day is named without a time.
const DEFAULT_HOUR: i8 = 9;

/// Parses `input` relative to `now`; the result is always after `now`.
pub fn parse_when(input: &str, now: &ZonedDateTime) -> Result<Timestamp, WhenError> {
    let unrecognised = || WhenError::Unrecognised { input: input.to_owned() };
    let text = input.trim().to_ascii_lowercase();
    if text.is_empty() {
        return Err(unrecognised());
    }
    let at = if let Ok(ts) = input.trim().parse::<Timestamp>() {
        ts
    } else if let Some(ts) = parse_relative(&text, now) {
        ts
    } else {
        parse_calendar(&text, now).ok_or_else(unrecognised)?
    };
    if at <= now.timestamp() {
        return Err(WhenError::Past { input: input.to_owned(), at });
    }
    Ok(at)
}

/// `2h`, `2h30m`, `90 min`, `in 3 days`, `1 week`.
fn parse_relative(text: &str, now: &ZonedDateTime) -> Option<Timestamp> {
    let text = text.strip_prefix("in ").unwrap_or(text).replace(' ', "");
    let mut rest = text.as_str();
    let (mut minutes, mut days) = (0i64, 0i64);
    let mut any = false;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        match unit {
            "m" | "min" | "mins" | "minute" | "minutes" => minutes = minutes.checked_add(n)?,
            "h" | "hr" | "hrs" | "hour" | "hours" => minutes = minutes.checked_add(n.checked_mul(60)?)?,
            "d" | "day" | "days" => days = days.checked_add(n)?,
            "w" | "wk" | "week" | "weeks" => days = days.checked_add(n.checked_mul(7)?)?,
            _ => return None,
        }
        any = true;
    }
    if !any {
        return None;
    }
    // Days are calendar days in the local zone (a day across DST is 23 or 25 hours).
    let later = now.checked_add(Span::new().try_days(days).ok()?).ok()?;
    later.timestamp().checked_add(SignedDuration::from_mins(minutes)).ok()
}

/// `[day] [at] [time]`: `tomorrow 9am`, `mon 14:30`, `2026-12-01 at 9`, `17:00`, `next week`.
fn parse_calendar(text: &str, now: &ZonedDateTime) -> Option<Timestamp> {
    let words: Vec<&str> = text.split_whitespace().filter(|w| *w != "at").collect();
    let today = now.date();
    let (day, time_words): (Option<Date>, &[&str]) = match words.as_slice() {
        ["next", "week", rest @ ..] => (Some(next_weekday(today, Weekday::Monday)), rest),
        ["next", w, rest @ ..] => (Some(next_weekday(today, weekday(w)?)), rest),
        [first, rest @ ..] => match day_word(first, today) {
            Some(d) => (Some(d), rest),
            None => (None, &words[..]),
        },
        [] => return None,
    };
    let time = match time_words {
        [] => None,
        [t] => Some(parse_time(t)?),
        // `9 am`, `9:30 pm`
        [t, ampm @ ("am" | "pm")] => Some(parse_time(&format!("{t}{ampm}"))?),
        _ => return None,
    };
    let zone = now.time_zone().clone();
    let at = |d: Date, t: Time| d.to_datetime(t).to_zoned_datetime(zone.clone()).ok().map(|z| z.timestamp());
    match (day, time) {
        (Some(d), t) => at(d, t.unwrap_or_else(|| Time::constant(DEFAULT_HOUR, 0, 0, 0))),
        (None, Some(t)) => {
            // A bare time is its next occurrence: later today, else tomorrow.
            let candidate = at(today, t)?;
            if candidate > now.timestamp() { Some(candidate) } else { at(today.tomorrow().ok()?, t) }
        }
        (None, None) => None,
    }
}

fn day_word(word: &str, today: Date) -> Option<Date> {
    match word {
        "today" => Some(today),
        "tomorrow" | "tmrw" | "tmr" => today.tomorrow().ok(),
        w => match weekday(w) {
            Some(wd) => Some(next_weekday(today, wd)),
            None => w.parse::<Date>().ok(),
        },
    }
}

fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
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

/// The next `wd` strictly after `today`.
fn next_weekday(today: Date, wd: Weekday) -> Date {
    let ahead = (wd.to_monday_zero_offset() - today.weekday().to_monday_zero_offset()).rem_euclid(7);
    let ahead = if ahead == 0 { 7 } else { ahead };
    today.checked_add(Span::new().days(i64::from(ahead))).unwrap_or(today)
}

/// `9am`, `9:30pm`, `12am`, `17:00`, `9`, `0930`? (no: ambiguous). Hours 0-23 without am/pm.
fn parse_time(word: &str) -> Option<Time> {
    let (body, meridiem) = if let Some(b) = word.strip_suffix("am") {
        (b, Some(false))
    } else if let Some(b) = word.strip_suffix("pm") {
        (b, Some(true))
    } else {
        (word, None)
    };
    let (h, m) = match body.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?),
        Some(_) => return None,
        None => (body.parse::<i8>().ok()?, 0),
    };
    if !(0..60).contains(&m) {
        return None;
    }
    let h = match meridiem {
        Some(pm) if (1..=12).contains(&h) => (h % 12) + if pm { 12 } else { 0 },
        Some(_) => return None,
        None if (0..24).contains(&h) => h,
        None => return None,
    };
    Time::new(h, m, 0, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wednesday 25 November 2026, 10:15 in Berlin.
    fn now() -> ZonedDateTime {
        "2026-11-25T10:15:00+01:00[Europe/Berlin]".parse().unwrap()
    }

    fn at(input: &str) -> String {
        match parse_when(input, &now()) {
            Ok(ts) => {
                ts.to_zoned_datetime(now().time_zone().clone()).strftime("%a %Y-%m-%d %H:%M").to_string()
            }
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn table() {
        let cases = [
            ("2h", "Wed 2026-11-25 12:15"),
            ("90m", "Wed 2026-11-25 11:45"),
            ("2h30m", "Wed 2026-11-25 12:45"),
            ("in 3 days", "Sat 2026-11-28 10:15"),
            ("1w", "Wed 2026-12-02 10:15"),
            ("45 min", "Wed 2026-11-25 11:00"),
            ("tomorrow", "Thu 2026-11-26 09:00"),
            ("tomorrow 9am", "Thu 2026-11-26 09:00"),
            ("Tomorrow at 2:30 pm", "Thu 2026-11-26 14:30"),
            ("tomorrow 17:00", "Thu 2026-11-26 17:00"),
            ("monday", "Mon 2026-11-30 09:00"),
            ("wed", "Wed 2026-12-02 09:00"),
            ("next friday 8am", "Fri 2026-11-27 08:00"),
            ("next week", "Mon 2026-11-30 09:00"),
            ("17:00", "Wed 2026-11-25 17:00"),
            ("9am", "Thu 2026-11-26 09:00"),
            ("12am", "Thu 2026-11-26 00:00"),
            ("today 6pm", "Wed 2026-11-25 18:00"),
            ("2026-12-01", "Tue 2026-12-01 09:00"),
            ("2026-12-01 13:05", "Tue 2026-12-01 13:05"),
            ("2026-12-24T08:00:00Z", "Thu 2026-12-24 09:00"),
        ];
        for (input, want) in cases {
            assert_eq!(at(input), want, "{input}");
        }
    }

    #[test]
    fn rejects_nonsense_and_the_past() {
        for bad in ["", "soon", "2x", "h2", "25:00", "13pm", "tomorrow 9:7", "9:60", "monday banana"] {
            assert!(at(bad).starts_with("error: cannot read"), "{bad}: {}", at(bad));
        }
        assert!(at("today 9am").starts_with("error: `today 9am` is in the past"), "{}", at("today 9am"));
        assert!(at("2020-01-01T00:00:00Z").contains("in the past"));
    }

    #[test]
    fn days_are_local_calendar_days_across_dst() {
        // 28 March 2026 noon in Berlin; clocks spring forward that night.
        let now: ZonedDateTime = "2026-03-28T12:00:00+01:00[Europe/Berlin]".parse().unwrap();
        let ts = parse_when("1d", &now).unwrap();
        assert_eq!(
            ts.to_zoned_datetime(now.time_zone().clone()).to_string(),
            "2026-03-29T12:00:00+02:00[Europe/Berlin]"
        );
        let ts = parse_when("tomorrow 2:30am", &now).unwrap();
        // 02:30 does not exist that night; the instant after the gap is used.
        assert_eq!(
            ts.to_zoned_datetime(now.time_zone().clone()).to_string(),
            "2026-03-29T03:30:00+02:00[Europe/Berlin]"
        );
    }
}
