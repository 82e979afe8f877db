//! A time zone flattened into a table of UTC-offset periods.
//!
//! Resolving a local wall time to an instant (DESIGN §5 rule 2) is the inner loop of every
//! calendar computation, so instead of asking the tz database each time we precompute the
//! zone's transitions once (per zone, per process) and binary-search them. Zones come from
//! jiff's *bundled* database so results never depend on the host's `/usr/share/zoneinfo`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jiff::Timestamp;
use jiff::tz::{TimeZone, TimeZoneDatabase};

/// Transitions are tabulated over this span of instants (1900-01-01 to 2200-01-01 UTC);
/// beyond it the offset in force at the edge is assumed to continue.
const TABLE_FROM: i64 = -2_208_988_800;
const TABLE_TO: i64 = 7_258_118_400;

/// The offsets of one zone. Period `i` runs from `starts[i]` (inclusive, Unix seconds)
/// to `starts[i + 1]` with UTC offset `offsets[i]` (seconds east of UTC).
#[derive(Debug)]
pub(crate) struct ZoneTable {
    starts: Lookup,
    offsets: Vec<i64>,
    /// `lo[i]`: the first local second (wall time as seconds since 1970-01-01T00:00 local)
    /// that resolves into period `i`. Local times `[lo[i], hi(i))` map to `local - offsets[i]`;
    /// the local times between `hi(i)` and `lo[i + 1]` do not exist (a spring-forward gap).
    lo: Lookup,
}

/// A sorted list of keys (`keys[0] == i64::MIN`) with a bucket index, so that finding the
/// last key `<= x` is a table read and a step or two instead of a binary search: this runs
/// several times per clock evaluation.
#[derive(Debug)]
struct Lookup {
    keys: Vec<i64>,
    /// `buckets[k]`: the answer for `BASE + (k << SHIFT)`.
    buckets: Vec<u32>,
}

/// Buckets of 2^21 s (about 24 days), shorter than the time between any two DST changes,
/// from a day before the table starts.
const SHIFT: u32 = 21;
const BASE: i64 = TABLE_FROM - DAY;

impl Lookup {
    fn new(keys: Vec<i64>) -> Lookup {
        let n = if keys.len() == 1 { 0 } else { ((TABLE_TO + DAY - BASE) >> SHIFT) as usize + 1 };
        let buckets = (0..n)
            .map(|k| (keys.partition_point(|&s| s <= BASE + ((k as i64) << SHIFT)) - 1) as u32)
            .collect();
        Lookup { keys, buckets }
    }

    fn get(&self, i: usize) -> Option<i64> {
        self.keys.get(i).copied()
    }

    /// The index of the last key `<= x`.
    fn find(&self, x: i64) -> usize {
        if self.buckets.is_empty() {
            return 0;
        }
        if x < BASE {
            return self.keys.partition_point(|&s| s <= x) - 1;
        }
        let k = (((x - BASE) >> SHIFT) as usize).min(self.buckets.len() - 1);
        let mut i = self.buckets[k] as usize;
        while i + 1 < self.keys.len() && self.keys[i + 1] <= x {
            i += 1;
        }
        i
    }
}

impl ZoneTable {
    fn new(tz: &TimeZone) -> ZoneTable {
        let from = Timestamp::from_second(TABLE_FROM).unwrap_or(Timestamp::MIN);
        let mut starts = vec![i64::MIN];
        let mut offsets = vec![i64::from(tz.to_offset(from).seconds())];
        for transition in tz.following(from) {
            let at = transition.timestamp().as_second();
            if at >= TABLE_TO {
                break;
            }
            let offset = i64::from(transition.offset().seconds());
            // Transitions that only rename the zone (same offset) change nothing for us.
            if offsets.last() != Some(&offset) {
                starts.push(at);
                offsets.push(offset);
            }
        }
        let lo = (0..starts.len())
            .map(|i| if i == 0 { i64::MIN } else { starts[i] + offsets[i].max(offsets[i - 1]) })
            .collect();
        ZoneTable { starts: Lookup::new(starts), offsets, lo: Lookup::new(lo) }
    }

    /// A zone whose offset never changes.
    pub(crate) fn fixed(offset: i64) -> ZoneTable {
        ZoneTable {
            starts: Lookup::new(vec![i64::MIN]),
            offsets: vec![offset],
            lo: Lookup::new(vec![i64::MIN]),
        }
    }

    /// The last local second (exclusive) that resolves into period `i` without ambiguity
    /// towards a later period.
    fn hi(&self, i: usize) -> i64 {
        match self.starts.get(i + 1) {
            Some(next) => next + self.offsets[i],
            None => i64::MAX,
        }
    }

    /// The UTC offset in force at instant `t`.
    pub(crate) fn offset_at(&self, t: i64) -> i64 {
        self.offsets[self.starts.find(t)]
    }

    /// The local wall time of instant `t`, as seconds since 1970-01-01T00:00 local.
    pub(crate) fn local(&self, t: i64) -> i64 {
        t + self.offset_at(t)
    }

    /// The period into which local time `l` resolves (or, in a gap, the one before it).
    fn period_of_local(&self, l: i64) -> usize {
        self.lo.find(l)
    }

    /// The instant of local wall time `l` (DESIGN §5 rule 2): an ambiguous time (fall back)
    /// takes the earlier offset, so the earlier instant; a time inside a spring-forward gap
    /// takes the first instant after the gap, i.e. the transition itself.
    pub(crate) fn resolve(&self, l: i64) -> i64 {
        let i = self.period_of_local(l);
        match self.starts.get(i + 1) {
            Some(next) if l >= next + self.offsets[i] => next,
            _ => l - self.offsets[i],
        }
    }

    /// How local day `d` (days since 1970-01-01) maps to instants: `Some((offset, days))`
    /// when the whole day, midnight to the next midnight inclusive, lies inside one period
    /// (then every local time `l` of it is the instant `l - offset`), with `days` the number
    /// of consecutive days from `d` for which that holds; `None` on a transition day.
    pub(crate) fn day_offset(&self, d: i64) -> Option<(i64, i64)> {
        let start = d * DAY;
        let i = self.period_of_local(start);
        let hi = self.hi(i);
        if start + DAY < hi {
            // Days d .. d+days-1 all end (their 24:00) strictly before `hi`.
            let days = if hi == i64::MAX { i64::MAX / 2 } else { (hi - 1).div_euclid(DAY) - d };
            Some((self.offsets[i], days))
        } else {
            None
        }
    }
}

pub(crate) const DAY: i64 = 86_400;

/// The bundled tz database, opened once.
fn bundled() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

/// Looks a zone up by IANA name (case-insensitive) in the bundled database, building its
/// table on first use. Tables are shared: a server compiling the same policy for every
/// ticket pays for the table once.
pub(crate) fn lookup(name: &str) -> Result<Arc<ZoneTable>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<ZoneTable>>>> = OnceLock::new();
    let key = name.trim().to_ascii_lowercase();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    // A poisoned lock only means another thread panicked mid-insert; the map is still valid.
    if let Some(table) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(Arc::clone(table));
    }
    let tz = bundled().get(name.trim()).map_err(|_| {
        format!("unknown time zone `{name}`; expected an IANA name such as `America/New_York` or `UTC`")
    })?;
    if tz.is_unknown() {
        return Err(format!("unknown time zone `{name}`; expected an IANA name such as `Europe/Berlin`"));
    }
    let table = Arc::new(ZoneTable::new(&tz));
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, Arc::clone(&table));
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local_secs(s: &str) -> i64 {
        // Interpret a civil datetime as if it were UTC to get "local seconds".
        let dt: jiff::civil::DateTime = s.parse().unwrap();
        TimeZone::UTC.to_timestamp(dt).unwrap().as_second()
    }

    fn instant(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_second()
    }

    #[test]
    fn new_york_spring_forward_gap_resolves_to_the_transition() {
        let z = lookup("America/New_York").unwrap();
        // 02:30 does not exist on 2026-03-08; clocks jump from 02:00 EST to 03:00 EDT (07:00Z).
        assert_eq!(z.resolve(local_secs("2026-03-08T02:30")), instant("2026-03-08T07:00:00Z"));
        assert_eq!(z.resolve(local_secs("2026-03-08T02:00")), instant("2026-03-08T07:00:00Z"));
        assert_eq!(z.resolve(local_secs("2026-03-08T01:59")), instant("2026-03-08T06:59:00Z"));
        assert_eq!(z.resolve(local_secs("2026-03-08T03:00")), instant("2026-03-08T07:00:00Z"));
        assert_eq!(z.day_offset(local_secs("2026-03-08T00:00") / DAY), None);
    }

    #[test]
    fn new_york_fall_back_takes_the_earlier_offset() {
        let z = lookup("america/new_york").unwrap();
        // 01:30 happens twice on 2026-11-01: first at EDT (05:30Z), then at EST (06:30Z).
        assert_eq!(z.resolve(local_secs("2026-11-01T01:30")), instant("2026-11-01T05:30:00Z"));
        assert_eq!(z.resolve(local_secs("2026-11-01T02:00")), instant("2026-11-01T07:00:00Z"));
        assert_eq!(z.local(instant("2026-11-01T06:30:00Z")), local_secs("2026-11-01T01:30"));
    }

    #[test]
    fn berlin_transitions() {
        let z = lookup("Europe/Berlin").unwrap();
        assert_eq!(z.resolve(local_secs("2026-03-29T02:30")), instant("2026-03-29T01:00:00Z"));
        assert_eq!(z.resolve(local_secs("2026-10-25T02:30")), instant("2026-10-25T00:30:00Z"));
        let (offset, days) = z.day_offset(local_secs("2026-06-01T00:00") / DAY).unwrap();
        assert_eq!(offset, 7200);
        // June 1 to October 24 inclusive are whole CEST days: 30+31+31+30+24 = 146.
        assert_eq!(days, 146);
    }

    proptest::proptest! {
        /// The bucket index agrees with a plain binary search everywhere.
        #[test]
        fn lookup_agrees_with_binary_search(x in -3_000_000_000i64..8_000_000_000) {
            for zone in ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"] {
                let z = lookup(zone).unwrap();
                for table in [&z.starts, &z.lo] {
                    proptest::prop_assert_eq!(table.find(x), table.keys.partition_point(|&s| s <= x) - 1);
                }
            }
        }
    }

    #[test]
    fn unknown_zones_are_refused() {
        assert!(lookup("Mars/Olympus").is_err());
        assert!(lookup("Etc/Unknown").is_err());
        assert!(lookup("").is_err());
        assert_eq!(lookup("UTC").unwrap().starts.keys.len(), 1);
    }
}
