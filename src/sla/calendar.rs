//! Business calendars: which instants count as business time (DESIGN §5 rules 1 to 4).
//!
//! A calendar is a weekly schedule of local intervals in one zone, minus holiday dates.
//! Overnight intervals are split at local midnight when compiled (`Fri 22:00-06:00` becomes
//! `Fri 22:00-24:00` and `Sat 00:00-06:00`): both halves meet at the same instant, and a
//! holiday on Saturday then removes the after-midnight half as rule 3 asks.
//!
//! Computation walks local days, resolving each interval's boundaries to instants with that
//! date's zone rules; runs of whole weeks with no zone transition and no holiday are skipped
//! by arithmetic, so a year-long span costs a handful of steps. Time is kept in whole seconds.

use std::sync::Arc;

use jiff::Timestamp;

use super::zone::{DAY, ZoneTable};

const WEEK: i64 = 7 * DAY;

/// A compiled business calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    zone: Arc<ZoneTable>,
    /// Per weekday (0 = Monday), sorted disjoint local intervals in seconds of the day,
    /// `0 <= start < end <= 86400`.
    week: [Vec<(i64, i64)>; 7],
    /// Business seconds of one week without transitions or holidays.
    week_secs: i64,
    /// Holidays as sorted local day numbers (days since 1970-01-01).
    holidays: Vec<i64>,
    /// Every instant is business time (24x7 with no holidays): the fast path.
    always_open: bool,
}

/// Monday = 0. 1970-01-01 was a Thursday.
fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the Unix epoch, rounded down (sub-second precision is dropped).
pub(crate) fn secs(t: Timestamp) -> i64 {
    let s = t.as_second();
    if t.subsec_nanosecond() < 0 { s - 1 } else { s }
}

pub(crate) fn timestamp(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap_or(if s < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

impl Calendar {
    /// Builds a calendar. `intervals` are `(weekday, start, end)` with `weekday` 0 = Monday,
    /// times in seconds of the day, `end <= start` meaning the interval ends the next day;
    /// empty means 24x7. `holidays` are local day numbers.
    pub(crate) fn new(zone: Arc<ZoneTable>, intervals: &[(usize, i64, i64)], holidays: Vec<i64>) -> Calendar {
        let mut week: [Vec<(i64, i64)>; 7] = Default::default();
        if intervals.is_empty() {
            for day in &mut week {
                day.push((0, DAY));
            }
        }
        for &(day, start, end) in intervals {
            if end > start {
                week[day].push((start, end));
            } else {
                week[day].push((start, DAY));
                if end > 0 {
                    week[(day + 1) % 7].push((0, end));
                }
            }
        }
        // Overlapping or touching intervals count once: merge them.
        for day in &mut week {
            day.sort_unstable();
            let mut merged: Vec<(i64, i64)> = Vec::with_capacity(day.len());
            for &(s, e) in day.iter() {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            *day = merged;
        }
        let week_secs = week.iter().flatten().map(|(s, e)| e - s).sum();
        let mut holidays = holidays;
        holidays.sort_unstable();
        holidays.dedup();
        let always_open = holidays.is_empty() && week_secs == WEEK;
        Calendar { zone, week, week_secs, holidays, always_open }
    }

    /// A 24x7 calendar in UTC.
    pub fn always_open() -> Calendar {
        Calendar::new(Arc::new(ZoneTable::fixed(0)), &[], Vec::new())
    }

    /// True when every instant is business time.
    pub fn is_24x7(&self) -> bool {
        self.always_open
    }

    /// Business minutes in `[a, b)`, rounded toward zero; negative when `b` is before `a`.
    pub fn business_minutes_between(&self, a: Timestamp, b: Timestamp) -> i64 {
        self.business_seconds_between(a, b) / 60
    }

    /// Business seconds in `[a, b)`; negative when `b` is before `a`.
    pub fn business_seconds_between(&self, a: Timestamp, b: Timestamp) -> i64 {
        let (a, b) = (secs(a), secs(b));
        if a <= b { self.between(a, b) } else { -self.between(b, a) }
    }

    /// The earliest instant at which `n` business minutes have passed since `t` (rule 4):
    /// counting starts at the next opening when `t` is outside business hours, and a budget
    /// that runs out exactly at closing time is due at closing time.
    pub fn add_business_minutes(&self, t: Timestamp, n: u32) -> Timestamp {
        timestamp(self.add(secs(t), i64::from(n) * 60))
    }

    /// Like [`Calendar::add_business_minutes`] in seconds.
    pub fn add_business_seconds(&self, t: Timestamp, n: u32) -> Timestamp {
        timestamp(self.add(secs(t), i64::from(n)))
    }

    /// Business seconds in `[a, b)`, `a <= b`.
    pub(crate) fn between(&self, a: i64, b: i64) -> i64 {
        if a >= b {
            return 0;
        }
        if self.always_open {
            return b - a;
        }
        let mut days = Days::new(self, self.zone.local(a).div_euclid(DAY));
        // Intervals of later days start at or after `b` (resolution is monotonic).
        let last = self.zone.local(b).div_euclid(DAY) + 1;
        let mut total = 0;
        while days.d <= last {
            let day = days.today();
            if let Some(offset) = day.offset {
                let day_start = days.d * DAY - offset;
                if day_start >= a {
                    let weeks = day.free_weeks.min((b - day_start) / WEEK);
                    if weeks > 0 {
                        total += weeks * self.week_secs;
                        days.advance(weeks * 7);
                        continue;
                    }
                }
            }
            if !day.holiday {
                for &(s, e) in &self.week[weekday(days.d)] {
                    let start = day.resolve(&self.zone, days.d * DAY + s);
                    if start >= b {
                        return total;
                    }
                    let end = day.resolve(&self.zone, days.d * DAY + e).min(b);
                    total += (end - start.max(a)).max(0);
                }
            }
            days.advance(1);
        }
        total
    }

    /// The earliest instant `x >= t` with `between(t, x) == n`, `n >= 0`.
    pub(crate) fn add(&self, t: i64, n: i64) -> i64 {
        if n <= 0 {
            return t;
        }
        if self.always_open {
            return t.saturating_add(n);
        }
        let mut days = Days::new(self, self.zone.local(t).div_euclid(DAY));
        let mut left = n;
        // The schedule has business time every week and holidays are finite, so this ends;
        // the bound only guards against a calendar that is closed for centuries.
        let give_up = days.d + 366 * 400;
        while days.d < give_up {
            let day = days.today();
            if let Some(offset) = day.offset
                && days.d * DAY - offset >= t
            {
                // Skip whole weeks that cannot use up the budget (the last one is walked).
                let weeks = day.free_weeks.min((left - 1) / self.week_secs.max(1));
                if weeks > 0 {
                    left -= weeks * self.week_secs;
                    days.advance(weeks * 7);
                    continue;
                }
            }
            if !day.holiday {
                for &(s, e) in &self.week[weekday(days.d)] {
                    let start = day.resolve(&self.zone, days.d * DAY + s).max(t);
                    let end = day.resolve(&self.zone, days.d * DAY + e);
                    if end <= start {
                        continue;
                    }
                    if end - start >= left {
                        return start + left;
                    }
                    left -= end - start;
                }
            }
            days.advance(1);
        }
        i64::MAX / 2
    }
}

/// What the walk needs to know about one local day.
#[derive(Clone, Copy)]
struct Day {
    /// The offset of the whole day, or None on a transition day (resolve boundary by boundary).
    offset: Option<i64>,
    holiday: bool,
    /// Whole weeks from this day with neither a transition nor a holiday.
    free_weeks: i64,
}

impl Day {
    /// The instant of local time `l` (seconds since 1970-01-01 local) on this day.
    fn resolve(self, zone: &ZoneTable, l: i64) -> i64 {
        match self.offset {
            Some(offset) => l - offset,
            None => zone.resolve(l),
        }
    }
}

/// A forward walk over local days that carries the zone period and the next holiday along,
/// so consecutive days cost no lookups.
struct Days<'c> {
    cal: &'c Calendar,
    d: i64,
    /// The offset known to hold for every day before `offset_until`.
    offset: Option<i64>,
    offset_until: i64,
    /// The first holiday on or after `d` (or far away).
    next_holiday: i64,
    holiday_ix: usize,
}

impl<'c> Days<'c> {
    fn new(cal: &'c Calendar, d: i64) -> Self {
        let holiday_ix = cal.holidays.partition_point(|&h| h < d);
        let next_holiday = cal.holidays.get(holiday_ix).copied().unwrap_or(i64::MAX / 2);
        Days { cal, d, offset: None, offset_until: d, next_holiday, holiday_ix }
    }

    fn advance(&mut self, n: i64) {
        self.d += n;
        while self.d > self.next_holiday {
            self.holiday_ix += 1;
            self.next_holiday = self.cal.holidays.get(self.holiday_ix).copied().unwrap_or(i64::MAX / 2);
        }
    }

    fn today(&mut self) -> Day {
        if self.d >= self.offset_until {
            match self.cal.zone.day_offset(self.d) {
                Some((offset, run)) => {
                    self.offset = Some(offset);
                    self.offset_until = self.d.saturating_add(run);
                }
                None => {
                    self.offset = None;
                    self.offset_until = self.d + 1;
                }
            }
        }
        let to_holiday = self.next_holiday - self.d;
        let free_weeks = match self.offset {
            Some(_) => (self.offset_until - self.d).min(to_holiday) / 7,
            None => 0,
        };
        Day { offset: self.offset, holiday: to_holiday == 0, free_weeks }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SlaPolicy;
    use crate::sla::Policy;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A calendar from the policy JSON fields `timezone`, `schedule` (as `"mon 09:00-17:00"`
    /// strings, for brevity) and `holidays`.
    fn cal(zone: &str, schedule: &[&str], holidays: &[&str]) -> Calendar {
        let schedule: Vec<serde_json::Value> = schedule
            .iter()
            .map(|s| {
                let (day, span) = s.split_once(' ').unwrap();
                let (start, end) = span.split_once('-').unwrap();
                serde_json::json!({"day": day, "start": start, "end": end})
            })
            .collect();
        let p: SlaPolicy = serde_json::from_value(
            serde_json::json!({"timezone": zone, "schedule": schedule, "holidays": holidays}),
        )
        .unwrap();
        Policy::compile(&p).unwrap().calendar
    }

    const WEEKDAYS: [&str; 5] = ["mon", "tue", "wed", "thu", "fri"];

    fn weekdays(span: &str) -> Vec<String> {
        WEEKDAYS.iter().map(|d| format!("{d} {span}")).collect()
    }

    fn every_day(span: &str) -> Vec<String> {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].iter().map(|d| format!("{d} {span}")).collect()
    }

    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    fn ny_office() -> Calendar {
        cal("America/New_York", &refs(&weekdays("09:00-17:00")), &["2026-12-25"])
    }

    fn berlin_office() -> Calendar {
        cal("Europe/Berlin", &refs(&weekdays("09:00-17:00")), &[])
    }

    fn ny_night() -> Calendar {
        cal("America/New_York", &refs(&every_day("22:00-06:00")), &["2026-12-25"])
    }

    fn berlin_night() -> Calendar {
        cal("Europe/Berlin", &refs(&every_day("22:00-06:00")), &[])
    }

    fn berlin_lunch() -> Calendar {
        let mut s = weekdays("09:00-12:00");
        s.extend(weekdays("13:00-17:00"));
        cal("Europe/Berlin", &refs(&s), &[])
    }

    /// (name, calendar, a, b, business minutes in [a, b)) — every value worked out by hand.
    #[test]
    fn business_minutes_between_table() {
        let cases: Vec<(&str, Calendar, &str, &str, i64)> = vec![
            (
                "24x7: wall minutes",
                cal("UTC", &[], &[]),
                "2026-03-06T10:00:00Z",
                "2026-03-09T10:00:00Z",
                4320,
            ),
            (
                "24x7 zone keeps real minutes across spring forward",
                cal("America/New_York", &[], &[]),
                "2026-03-08T00:00:00-05:00",
                "2026-03-09T00:00:00-04:00",
                1380,
            ),
            // Fri 16:00-17:00 + Mon 09:00-10:00; DST starts on the Sunday in between.
            (
                "weekend, US spring forward",
                ny_office(),
                "2026-03-06T16:00:00-05:00",
                "2026-03-09T10:00:00-04:00",
                120,
            ),
            (
                "weekend, US fall back",
                ny_office(),
                "2026-10-30T16:00:00-04:00",
                "2026-11-02T10:00:00-05:00",
                120,
            ),
            (
                "weekend, Berlin spring forward",
                berlin_office(),
                "2026-03-27T16:00:00+01:00",
                "2026-03-30T10:00:00+02:00",
                120,
            ),
            (
                "weekend, Berlin fall back",
                berlin_office(),
                "2026-10-23T16:00:00+02:00",
                "2026-10-26T10:00:00+01:00",
                120,
            ),
            (
                "created on Saturday",
                ny_office(),
                "2026-03-07T12:00:00-05:00",
                "2026-03-09T09:30:00-04:00",
                30,
            ),
            (
                "inside one interval",
                ny_office(),
                "2026-03-11T16:00:00-04:00",
                "2026-03-11T17:00:00-04:00",
                60,
            ),
            ("lunch gap", berlin_lunch(), "2026-06-02T11:30:00+02:00", "2026-06-02T13:30:00+02:00", 60),
            (
                "overnight, normal night",
                ny_night(),
                "2026-03-01T20:00:00-05:00",
                "2026-03-02T08:00:00-05:00",
                480,
            ),
            // 22:00 EST to 06:00 EDT is 7 real hours.
            (
                "overnight, US spring-forward night",
                ny_night(),
                "2026-03-07T20:00:00-05:00",
                "2026-03-08T08:00:00-04:00",
                420,
            ),
            // 22:00 EDT to 06:00 EST is 9 real hours.
            (
                "overnight, US fall-back night",
                ny_night(),
                "2026-10-31T20:00:00-04:00",
                "2026-11-01T08:00:00-05:00",
                540,
            ),
            (
                "overnight, Berlin spring-forward night",
                berlin_night(),
                "2026-03-28T20:00:00+01:00",
                "2026-03-29T08:00:00+02:00",
                420,
            ),
            (
                "overnight, Berlin fall-back night",
                berlin_night(),
                "2026-10-24T20:00:00+02:00",
                "2026-10-25T08:00:00+01:00",
                540,
            ),
            // The shift begun on Dec 24 loses its after-midnight part (Dec 25 00:00-06:00),
            // the one begun on Dec 25 loses 22:00-24:00, keeps Dec 26 00:00-06:00.
            (
                "holiday inside overnight shifts",
                ny_night(),
                "2026-12-24T12:00:00-05:00",
                "2026-12-26T12:00:00-05:00",
                480,
            ),
            (
                "holiday on a Friday",
                ny_office(),
                "2026-12-24T16:00:00-05:00",
                "2026-12-28T10:00:00-05:00",
                120,
            ),
            // Sunday 02:30 does not exist on Mar 8: the interval opens at 03:00 EDT.
            (
                "start in the spring-forward gap",
                cal("America/New_York", &["sun 02:30-05:00"], &[]),
                "2026-03-08T00:00:00-05:00",
                "2026-03-08T12:00:00-04:00",
                120,
            ),
            // Sunday 01:30 happens twice on Nov 1: the earlier (EDT) one opens the interval.
            (
                "start in the fall-back fold",
                cal("America/New_York", &["sun 01:30-03:00"], &[]),
                "2026-11-01T00:00:00-04:00",
                "2026-11-01T12:00:00-05:00",
                150,
            ),
            (
                "end in the spring-forward gap",
                cal("America/New_York", &["sun 01:30-02:30"], &[]),
                "2026-03-08T00:00:00-05:00",
                "2026-03-08T12:00:00-04:00",
                30,
            ),
            (
                "overlapping intervals count once",
                cal("UTC", &["mon 09:00-12:00", "mon 11:00-13:00"], &[]),
                "2026-03-09T00:00:00Z",
                "2026-03-10T00:00:00Z",
                240,
            ),
            (
                "24:00 end",
                cal("UTC", &["mon 20:00-24:00", "tue 00:00-01:00"], &[]),
                "2026-03-09T00:00:00Z",
                "2026-03-11T00:00:00Z",
                300,
            ),
            (
                "a year of office hours",
                cal("America/New_York", &refs(&weekdays("09:00-17:00")), &[]),
                "2026-01-05T00:00:00-05:00",
                "2027-01-04T00:00:00-05:00",
                52 * 5 * 480,
            ),
            (
                "a year of office hours minus Christmas",
                ny_office(),
                "2026-01-05T00:00:00-05:00",
                "2027-01-04T00:00:00-05:00",
                52 * 5 * 480 - 480,
            ),
            (
                "reversed span is negative",
                ny_office(),
                "2026-03-09T10:00:00-04:00",
                "2026-03-06T16:00:00-05:00",
                -120,
            ),
        ];
        for (name, cal, a, b, want) in cases {
            assert_eq!(cal.business_minutes_between(ts(a), ts(b)), want, "{name}");
        }
    }

    /// (name, calendar, t, n, earliest instant with n business minutes since t).
    #[test]
    fn add_business_minutes_table() {
        let cases: Vec<(&str, Calendar, &str, u32, &str)> = vec![
            ("24x7", cal("UTC", &[], &[]), "2026-03-09T10:00:00Z", 90, "2026-03-09T11:30:00Z"),
            (
                "zero minutes is now, even when closed",
                ny_office(),
                "2026-03-07T12:00:00-05:00",
                0,
                "2026-03-07T17:00:00Z",
            ),
            ("over the weekend", ny_office(), "2026-03-06T16:00:00-05:00", 120, "2026-03-09T14:00:00Z"),
            (
                "outside hours starts at the next opening",
                ny_office(),
                "2026-03-07T12:00:00-05:00",
                60,
                "2026-03-09T14:00:00Z",
            ),
            (
                "due exactly at closing time",
                ny_office(),
                "2026-03-11T16:00:00-04:00",
                60,
                "2026-03-11T21:00:00Z",
            ),
            (
                "one more minute rolls to the next day",
                ny_office(),
                "2026-03-11T16:00:00-04:00",
                61,
                "2026-03-12T13:01:00Z",
            ),
            (
                "lunch gap: due at the break",
                berlin_lunch(),
                "2026-06-02T11:30:00+02:00",
                30,
                "2026-06-02T10:00:00Z",
            ),
            (
                "lunch gap: across the break",
                berlin_lunch(),
                "2026-06-02T11:30:00+02:00",
                60,
                "2026-06-02T11:30:00Z",
            ),
            // 22:00 EST + 5 h of real time = 04:00 EDT.
            (
                "overnight, US spring forward",
                ny_night(),
                "2026-03-07T22:00:00-05:00",
                300,
                "2026-03-08T08:00:00Z",
            ),
            // 22:00 EDT + 4 h = 01:00 EST, the second 01:00 of the night.
            ("overnight, US fall back", ny_night(), "2026-10-31T22:00:00-04:00", 240, "2026-11-01T06:00:00Z"),
            (
                "overnight, Berlin spring forward",
                berlin_night(),
                "2026-03-28T22:00:00+01:00",
                420,
                "2026-03-29T04:00:00Z",
            ),
            (
                "overnight, Berlin fall back",
                berlin_night(),
                "2026-10-24T22:00:00+02:00",
                480,
                "2026-10-25T04:00:00Z",
            ),
            (
                "holiday inside an overnight shift",
                ny_night(),
                "2026-12-24T23:00:00-05:00",
                120,
                "2026-12-26T06:00:00Z",
            ),
            ("holiday on a Friday", ny_office(), "2026-12-24T16:00:00-05:00", 120, "2026-12-28T15:00:00Z"),
            (
                "a year of office hours",
                ny_office(),
                "2026-01-05T09:00:00-05:00",
                52 * 5 * 480 - 480,
                "2027-01-01T22:00:00Z",
            ),
        ];
        for (name, cal, t, n, want) in cases {
            assert_eq!(cal.add_business_minutes(ts(t), n), ts(want), "{name}");
        }
    }

    /// An independent, slow statement of rules 1-3 using jiff directly: every interval of
    /// every local day resolved to instants, holidays subtracted, intersected with [a, b).
    fn reference_between(
        zone: &str,
        schedule: &[(usize, &str, &str)],
        holidays: &[&str],
        a: i64,
        b: i64,
    ) -> i64 {
        use jiff::civil::{Date, Time};
        use jiff::tz::AmbiguousOffset;
        let tz = jiff::tz::TimeZoneDatabase::bundled().get(zone).unwrap();
        let resolve = |date: Date, time: Time| -> i64 {
            let dt = date.to_datetime(time);
            match tz.to_ambiguous_timestamp(dt).offset() {
                AmbiguousOffset::Unambiguous { offset } | AmbiguousOffset::Fold { before: offset, .. } => {
                    offset.to_timestamp(dt).unwrap().as_second()
                }
                AmbiguousOffset::Gap { after, .. } => {
                    let early = after.to_timestamp(dt).unwrap();
                    tz.following(early).next().unwrap().timestamp().as_second()
                }
            }
        };
        let hm = |s: &str| -> Time { if s == "24:00" { Time::midnight() } else { s.parse().unwrap() } };
        let first = tz.to_datetime(timestamp(a)).date().yesterday().unwrap();
        let last = tz.to_datetime(timestamp(b)).date().tomorrow().unwrap();
        let holidays: Vec<Date> = holidays.iter().map(|h| h.parse().unwrap()).collect();
        let mut spans: Vec<(i64, i64)> = Vec::new();
        let mut date = first;
        while date <= last {
            for &(day, start, end) in schedule {
                if date.weekday().to_monday_zero_offset() as usize != day {
                    continue;
                }
                let s = resolve(date, hm(start));
                let next_day = end == "24:00" || hm(end) <= hm(start);
                let e = resolve(if next_day { date.tomorrow().unwrap() } else { date }, hm(end));
                spans.push((s, e));
            }
            date = date.tomorrow().unwrap();
        }
        // Count second by second would be slow; instead cut holidays out of sorted spans.
        let cuts: Vec<(i64, i64)> = holidays
            .iter()
            .map(|h| (resolve(*h, Time::midnight()), resolve(h.tomorrow().unwrap(), Time::midnight())))
            .collect();
        let mut points: Vec<i64> = vec![a, b];
        for &(s, e) in spans.iter().chain(&cuts) {
            points.extend([s, e]);
        }
        points.sort_unstable();
        points.dedup();
        points
            .windows(2)
            .filter(|w| {
                let mid = w[0];
                w[0] >= a
                    && w[1] <= b
                    && spans.iter().any(|&(s, e)| s <= mid && mid < e)
                    && !cuts.iter().any(|&(s, e)| s <= mid && mid < e)
            })
            .map(|w| w[1] - w[0])
            .sum()
    }

    type Schedule = (&'static str, Vec<(usize, &'static str, &'static str)>, Vec<&'static str>);

    fn schedules() -> Vec<Schedule> {
        let office: Vec<_> = (0..5).map(|d| (d, "09:00", "17:00")).collect();
        let night: Vec<_> = (0..7).map(|d| (d, "22:00", "06:00")).collect();
        let mut split: Vec<_> = (0..5).flat_map(|d| [(d, "08:00", "12:30"), (d, "13:15", "18:00")]).collect();
        split.push((5, "10:00", "24:00"));
        split.push((6, "01:30", "02:30"));
        vec![
            ("America/New_York", office, vec!["2026-12-25", "2027-01-01", "2026-11-26"]),
            ("America/New_York", night.clone(), vec!["2026-03-08", "2026-11-01", "2026-12-25"]),
            ("Europe/Berlin", night, vec!["2026-03-29", "2026-10-25"]),
            ("Europe/Berlin", split, vec!["2026-12-24"]),
            ("Australia/Lord_Howe", vec![(6, "01:45", "02:15"), (0, "00:00", "00:00")], vec![]),
        ]
    }

    fn compiled(s: &Schedule) -> Calendar {
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let entries: Vec<String> = s.1.iter().map(|(d, a, b)| format!("{} {a}-{b}", days[*d])).collect();
        cal(s.0, &refs(&entries), &s.2)
    }

    // 2025-12-01 .. 2028-01-01: covers the 2026 and 2027 transitions of every zone above.
    const FROM: i64 = 1_764_547_200;
    const TO: i64 = 1_830_297_600;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn adding_then_measuring_gives_back_n(which in 0usize..5, t in FROM..TO, n in 0u32..200_000) {
            let s = &schedules()[which];
            let cal = compiled(s);
            let t = timestamp(t);
            let due = cal.add_business_minutes(t, n);
            prop_assert_eq!(cal.business_minutes_between(t, due), i64::from(n));
            // And it is the earliest such instant: one second earlier is short.
            if n > 0 {
                prop_assert!(cal.business_seconds_between(t, timestamp(secs(due) - 1)) < i64::from(n) * 60);
            }
        }

        #[test]
        fn matches_the_reference(which in 0usize..5, a in FROM..TO, len in 0i64..(90 * 86_400)) {
            let s = &schedules()[which];
            let cal = compiled(s);
            let b = (a + len).min(TO);
            prop_assert_eq!(cal.between(a, b), reference_between(s.0, &s.1, &s.2, a, b));
        }
    }
}
