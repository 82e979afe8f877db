//! Clocks: `(policy, events, now) -> SlaReport` (DESIGN §5 rules 5 to 8).
//!
//! One pass over the events, no allocation. Each metric is a clock made of running
//! segments of business time; its *deadline* is the earliest instant at which the running
//! segments have used up the target, where the clock is assumed to keep running from `now`
//! (running), or from the instant it stopped (stopped: "the deadline as it stood").

use jiff::Timestamp;

use crate::model::{MetricStatus, Priority, SlaClock, SlaReport, SlaState, Status};

use super::calendar::{Calendar, secs, timestamp};
use super::policy::{Policy, Targets, Warning, priority_index, status_index};

/// What happened on a ticket, as far as SLAs care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub at: Timestamp,
    pub kind: EventKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The ticket was created; it carries the first customer message.
    Created,
    CustomerMessage,
    /// A public agent reply.
    AgentReply,
    /// Never counts for any clock.
    InternalNote,
    Status(Status),
    Priority(Priority),
}

/// A clock's accumulated business time and deadline search.
struct Clock<'c> {
    cal: &'c Calendar,
    target: i64,
    /// Business seconds in closed segments.
    elapsed: i64,
    /// The deadline, once the closed segments have reached the target.
    crossed: Option<i64>,
}

impl<'c> Clock<'c> {
    fn new(cal: &'c Calendar, target: i64) -> Self {
        Clock { cal, target, elapsed: 0, crossed: None }
    }

    /// Adds the running segment `[from, to)`.
    fn segment(&mut self, from: i64, to: i64) {
        let len = self.cal.between(from, to);
        if self.crossed.is_none() && self.elapsed + len >= self.target {
            self.crossed = Some(self.cal.add(from, self.target - self.elapsed));
        }
        self.elapsed += len;
    }

    /// The deadline if the clock runs on from `from` (the start of the open segment, or
    /// the stop instant) with no further pause.
    fn projected(&self, from: i64) -> i64 {
        self.crossed.unwrap_or_else(|| self.cal.add(from, self.target - self.elapsed))
    }

    fn status(&self, clock: SlaClock, due: Option<i64>, now: i64, warning: Warning) -> MetricStatus {
        let breached = self.elapsed > self.target;
        let state = match (breached, clock) {
            (true, _) => SlaState::Breached,
            (false, SlaClock::Stopped) => SlaState::Achieved,
            (false, SlaClock::Paused) => SlaState::Paused,
            (false, SlaClock::Running) => SlaState::Active,
        };
        let due = if clock == SlaClock::Paused && !breached { None } else { due };
        let remaining = self.target - self.elapsed;
        MetricStatus {
            state,
            clock,
            due_at: due.map(timestamp),
            // Floor, so that the minutes are negative exactly when the target is exceeded.
            remaining_min: remaining.div_euclid(60),
            wall_min_to_due: match (clock, due) {
                (SlaClock::Running, Some(d)) => Some((d - now).div_euclid(60)),
                _ => None,
            },
            fulfilled_at: None,
            cycle_start: None,
            at_risk: state == SlaState::Active && remaining < warning.threshold(self.target),
        }
    }
}

/// A reply clock (first response, one next-response cycle): one segment from `start`,
/// stopped by `reply` if any. Status never pauses it.
fn reply_clock(
    cal: &Calendar,
    target: i64,
    start: i64,
    reply: Option<Timestamp>,
    now: i64,
    warning: Warning,
) -> MetricStatus {
    let mut c = Clock::new(cal, target);
    let (end, clock) = match reply {
        Some(r) => (secs(r), SlaClock::Stopped),
        None => (now, SlaClock::Running),
    };
    c.segment(start, end);
    let due = c.projected(end);
    let mut status = c.status(clock, Some(due), now, warning);
    status.fulfilled_at = reply;
    status
}

/// Evaluates every metric of `policy` for a ticket with these `events` (sorted by time)
/// at `now`. Events after `now` are ignored; without a `Created` event no clock has started
/// and every metric is null. The targets of the priority in force at `now` apply (`normal`
/// before any priority event).
pub fn evaluate(policy: &Policy, events: &[Event], now: Timestamp) -> SlaReport {
    let now_s = secs(now);
    let events = &events[..events.partition_point(|e| e.at <= now)];
    let Some(created_ix) = events.iter().position(|e| e.kind == EventKind::Created) else {
        return SlaReport::default();
    };
    let priority = events
        .iter()
        .rev()
        .find_map(|e| if let EventKind::Priority(p) = e.kind { Some(p) } else { None })
        .unwrap_or(Priority::Normal);
    let targets: Targets = policy.targets[priority_index(priority)];
    let cal = &policy.calendar;
    let warning = policy.warning;
    let created = secs(events[created_ix].at);

    // Status before creation (if a caller sends any) sets the starting status.
    let mut status = events[..created_ix]
        .iter()
        .rev()
        .find_map(|e| if let EventKind::Status(s) = e.kind { Some(s) } else { None })
        .unwrap_or(Status::New);
    let phase = |s: Status| match s {
        Status::Solved | Status::Closed => SlaClock::Stopped,
        s if policy.pauses[status_index(s)] => SlaClock::Paused,
        _ => SlaClock::Running,
    };

    let mut first_reply: Option<Timestamp> = None;
    // Next response: the open cycle's start, and the latest closed cycle.
    let mut open_cycle: Option<Timestamp> = None;
    let mut closed_cycle: Option<(Timestamp, Timestamp)> = None;
    // Resolution: the clock, the start of the running segment, the last stop.
    let mut resolution = targets.resolution.map(|t| Clock::new(cal, t));
    let mut seg_start = (phase(status) == SlaClock::Running).then_some(created);
    let mut stopped_at = (phase(status) == SlaClock::Stopped).then_some(events[created_ix].at);

    for e in &events[created_ix + 1..] {
        match e.kind {
            EventKind::Created | EventKind::InternalNote | EventKind::Priority(_) => {}
            EventKind::CustomerMessage => {
                if first_reply.is_some() && open_cycle.is_none() {
                    open_cycle = Some(e.at);
                }
            }
            EventKind::AgentReply => {
                if first_reply.is_none() {
                    first_reply = Some(e.at);
                } else if let Some(start) = open_cycle.take() {
                    closed_cycle = Some((start, e.at));
                }
            }
            EventKind::Status(s) => {
                let at = secs(e.at);
                match (phase(status), phase(s)) {
                    (SlaClock::Running, SlaClock::Running) => {}
                    (SlaClock::Running, next) => {
                        if let (Some(c), Some(from)) = (resolution.as_mut(), seg_start) {
                            c.segment(from, at);
                        }
                        seg_start = None;
                        if next == SlaClock::Stopped {
                            stopped_at = Some(e.at);
                        }
                    }
                    (_, SlaClock::Running) => {
                        seg_start = Some(at);
                        stopped_at = None;
                    }
                    (_, SlaClock::Stopped) => stopped_at = stopped_at.or(Some(e.at)),
                    (_, SlaClock::Paused) => stopped_at = None,
                }
                status = s;
            }
        }
    }

    let first_response =
        targets.first_response.map(|t| reply_clock(cal, t, created, first_reply, now_s, warning));

    let next_response = targets.next_response.and_then(|t| {
        let (start, reply) = match (open_cycle, closed_cycle) {
            (Some(start), _) => (start, None),
            (None, Some((start, reply))) => (start, Some(reply)),
            (None, None) => return None,
        };
        let mut s = reply_clock(cal, t, secs(start), reply, now_s, warning);
        s.cycle_start = Some(start);
        Some(s)
    });

    let resolution = resolution.map(|mut c| {
        let clock = phase(status);
        let due = match (clock, seg_start, stopped_at) {
            (SlaClock::Running, Some(from), _) => {
                c.segment(from, now_s);
                Some(c.projected(now_s))
            }
            (SlaClock::Stopped, _, Some(at)) => Some(c.projected(secs(at))),
            _ => c.crossed,
        };
        let mut s = c.status(clock, due, now_s, warning);
        s.fulfilled_at = if clock == SlaClock::Stopped { stopped_at } else { None };
        s
    });

    SlaReport { first_response, next_response, resolution }
}

/// The soonest `due_at` among running clocks (active, or breached and still running):
/// what "sort by SLA" and `next_sla_due_at` use. None when no clock runs.
pub fn next_due_at(report: &SlaReport) -> Option<Timestamp> {
    [&report.first_response, &report.next_response, &report.resolution]
        .into_iter()
        .flatten()
        .filter(|m| m.clock == SlaClock::Running)
        .filter_map(|m| m.due_at)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SlaPolicy;
    use serde_json::json;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn policy(v: serde_json::Value) -> Policy {
        Policy::compile(&serde_json::from_value::<SlaPolicy>(v).unwrap()).unwrap()
    }

    /// 24x7 in UTC with the given targets.
    fn always(targets: serde_json::Value) -> Policy {
        policy(json!({"targets": targets}))
    }

    /// New York office hours, Mon-Fri 09:00-17:00, Christmas off.
    fn ny(targets: serde_json::Value) -> Policy {
        let schedule: Vec<_> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| json!({"day": d, "start": "09:00", "end": "17:00"}))
            .collect();
        policy(json!({"timezone": "America/New_York", "schedule": schedule,
                      "holidays": ["2026-12-25"], "targets": targets}))
    }

    /// Every night 22:00-06:00 in `zone`, Christmas off.
    fn night(zone: &str, targets: serde_json::Value) -> Policy {
        let schedule: Vec<_> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| json!({"day": d, "start": "22:00", "end": "06:00"}))
            .collect();
        policy(
            json!({"timezone": zone, "schedule": schedule, "holidays": ["2026-12-25"], "targets": targets}),
        )
    }

    /// Events as `"<RFC 3339> <kind>"`, kinds `created`, `customer`, `reply`, `note`,
    /// `status:<status>`, `priority:<priority>`.
    fn events(spec: &[&str]) -> Vec<Event> {
        spec.iter()
            .map(|s| {
                let (at, kind) = s.split_once(' ').unwrap();
                let kind = match kind {
                    "created" => EventKind::Created,
                    "customer" => EventKind::CustomerMessage,
                    "reply" => EventKind::AgentReply,
                    "note" => EventKind::InternalNote,
                    k if k.starts_with("status:") => EventKind::Status(k[7..].parse().unwrap()),
                    k if k.starts_with("priority:") => EventKind::Priority(k[9..].parse().unwrap()),
                    k => panic!("unknown kind {k}"),
                };
                Event { at: ts(at), kind }
            })
            .collect()
    }

    /// The expected status: state, clock, due_at, remaining_min, wall_min_to_due,
    /// fulfilled_at, at_risk (cycle_start is checked separately).
    #[allow(clippy::too_many_arguments)]
    fn m(
        state: SlaState,
        clock: SlaClock,
        due: Option<&str>,
        remaining: i64,
        wall: Option<i64>,
        fulfilled: Option<&str>,
        at_risk: bool,
    ) -> MetricStatus {
        MetricStatus {
            state,
            clock,
            due_at: due.map(ts),
            remaining_min: remaining,
            wall_min_to_due: wall,
            fulfilled_at: fulfilled.map(ts),
            cycle_start: None,
            at_risk,
        }
    }

    use SlaClock::{Paused as P, Running as R, Stopped as S};
    use SlaState::{Achieved, Active, Breached, Paused};

    fn fr(p: &Policy, ev: &[&str], now: &str) -> Option<MetricStatus> {
        evaluate(p, &events(ev), ts(now)).first_response
    }

    fn res(p: &Policy, ev: &[&str], now: &str) -> Option<MetricStatus> {
        evaluate(p, &events(ev), ts(now)).resolution
    }

    fn nr(p: &Policy, ev: &[&str], now: &str) -> Option<MetricStatus> {
        evaluate(p, &events(ev), ts(now)).next_response
    }

    #[test]
    fn first_response_24x7() {
        let p = always(json!({"first_response_min": 60}));
        let c = ["2026-03-09T10:00:00Z created"];
        assert_eq!(
            fr(&p, &c, "2026-03-09T10:20:00Z"),
            Some(m(Active, R, Some("2026-03-09T11:00:00Z"), 40, Some(40), None, false))
        );
        // 10 minutes left is under 25% of 60: at risk.
        assert_eq!(
            fr(&p, &c, "2026-03-09T10:50:00Z"),
            Some(m(Active, R, Some("2026-03-09T11:00:00Z"), 10, Some(10), None, true))
        );
        // 30 seconds left still shows 0 minutes, not yet overdue.
        assert_eq!(fr(&p, &c, "2026-03-09T10:59:30Z").unwrap().remaining_min, 0);
        // Replied in time: achieved, due as it stood.
        let replied = ["2026-03-09T10:00:00Z created", "2026-03-09T10:30:00Z reply"];
        assert_eq!(
            fr(&p, &replied, "2026-03-09T12:00:00Z"),
            Some(m(Achieved, S, Some("2026-03-09T11:00:00Z"), 30, None, Some("2026-03-09T10:30:00Z"), false))
        );
        // Breach then reply: stays breached, due at the crossing.
        let late = ["2026-03-09T10:00:00Z created", "2026-03-09T11:30:00Z reply"];
        assert_eq!(
            fr(&p, &late, "2026-03-09T12:00:00Z"),
            Some(m(
                Breached,
                S,
                Some("2026-03-09T11:00:00Z"),
                -30,
                None,
                Some("2026-03-09T11:30:00Z"),
                false
            ))
        );
        // Running and breached: due is the crossing, the wall minutes are negative.
        assert_eq!(
            fr(&p, &c, "2026-03-09T11:00:30Z"),
            Some(m(Breached, R, Some("2026-03-09T11:00:00Z"), -1, Some(-1), None, false))
        );
        // Exactly at the target is not a breach (strictly greater).
        assert_eq!(fr(&p, &c, "2026-03-09T11:00:00Z").unwrap().state, Active);
    }

    #[test]
    fn internal_notes_and_status_never_touch_reply_clocks() {
        let p = always(json!({"first_response_min": 60}));
        let ev = [
            "2026-03-09T10:00:00Z created",
            "2026-03-09T10:10:00Z note",
            "2026-03-09T10:15:00Z status:pending",
            "2026-03-09T10:20:00Z status:solved",
        ];
        assert_eq!(
            fr(&p, &ev, "2026-03-09T10:30:00Z"),
            Some(m(Active, R, Some("2026-03-09T11:00:00Z"), 30, Some(30), None, false))
        );
    }

    #[test]
    fn business_hours_created_on_saturday() {
        // Created Sat 12:00 EST; counting starts Mon 09:00 EDT (DST began Sunday).
        let p = ny(json!({"first_response_min": 60, "next_response_min": 120, "resolution_min": 480}));
        let ev = ["2026-03-07T12:00:00-05:00 created"];
        let r = evaluate(&p, &events(&ev), ts("2026-03-09T09:30:00-04:00"));
        assert_eq!(
            r.first_response,
            Some(m(Active, R, Some("2026-03-09T14:00:00Z"), 30, Some(30), None, false))
        );
        // 450 minutes from Mon 09:30 run out exactly at 17:00 closing.
        assert_eq!(
            r.resolution,
            Some(m(Active, R, Some("2026-03-09T21:00:00Z"), 450, Some(450), None, false))
        );
        assert_eq!(r.next_response, None, "no cycle before the first reply");
        // Over the weekend the clock is active (running) but does not move.
        let sunday = evaluate(&p, &events(&ev), ts("2026-03-08T12:00:00-04:00"));
        assert_eq!(
            sunday.first_response,
            Some(m(Active, R, Some("2026-03-09T14:00:00Z"), 60, Some(22 * 60), None, false))
        );
    }

    #[test]
    fn deadline_on_closing_time() {
        let p = ny(json!({"first_response_min": 60}));
        let ev = ["2026-03-09T16:00:00-04:00 created"];
        assert_eq!(
            fr(&p, &ev, "2026-03-09T16:30:00-04:00"),
            Some(m(Active, R, Some("2026-03-09T21:00:00Z"), 30, Some(30), None, false))
        );
        // After closing the budget is used up but not exceeded: still active, due 17:00.
        assert_eq!(
            fr(&p, &ev, "2026-03-09T20:00:00-04:00"),
            Some(m(Active, R, Some("2026-03-09T21:00:00Z"), 0, Some(-180), None, true))
        );
        // A reply before the next opening is in time; one a minute after opening is late.
        let early = ["2026-03-09T16:00:00-04:00 created", "2026-03-10T08:59:00-04:00 reply"];
        assert_eq!(fr(&p, &early, "2026-03-10T12:00:00-04:00").unwrap().state, Achieved);
        let late = ["2026-03-09T16:00:00-04:00 created", "2026-03-10T09:01:00-04:00 reply"];
        assert_eq!(
            fr(&p, &late, "2026-03-10T12:00:00-04:00"),
            Some(m(Breached, S, Some("2026-03-09T21:00:00Z"), -1, None, Some("2026-03-10T13:01:00Z"), false))
        );
    }

    #[test]
    fn us_transitions() {
        let p = ny(json!({"first_response_min": 60}));
        // Fri 16:30 EST: 30 minutes Friday, 30 Monday; Mon 09:30 EDT = 13:30Z.
        let march = ["2026-03-06T16:30:00-05:00 created"];
        assert_eq!(
            fr(&p, &march, "2026-03-09T09:10:00-04:00"),
            Some(m(Active, R, Some("2026-03-09T13:30:00Z"), 20, Some(20), None, false))
        );
        // Fri 16:30 EDT: Mon 09:30 EST = 14:30Z.
        let november = ["2026-10-30T16:30:00-04:00 created"];
        assert_eq!(
            fr(&p, &november, "2026-11-02T09:10:00-05:00"),
            Some(m(Active, R, Some("2026-11-02T14:30:00Z"), 20, Some(20), None, false))
        );
    }

    #[test]
    fn overnight_shifts_on_transition_nights() {
        // Berlin spring forward: Sat 22:00 CET to Sun 06:00 CEST is 7 hours.
        let p = night("Europe/Berlin", json!({"resolution_min": 480}));
        let ev = ["2026-03-28T22:00:00+01:00 created"];
        assert_eq!(
            res(&p, &ev, "2026-03-29T06:00:00+02:00"),
            // 60 minutes left (under 25% of 480), from Sun 22:00 CEST (20:00Z): due 21:00Z,
            // 17 hours away.
            Some(m(Active, R, Some("2026-03-29T21:00:00Z"), 60, Some(17 * 60), None, true))
        );
        // Berlin fall back: 8 hours are up at 05:00 CET (04:00Z) of a 9-hour night.
        let ev = ["2026-10-24T22:00:00+02:00 created"];
        assert_eq!(
            res(&p, &ev, "2026-10-25T06:00:00+01:00"),
            Some(m(Breached, R, Some("2026-10-25T04:00:00Z"), -60, Some(-60), None, false))
        );
        // New York spring forward: 22:00 EST + 5 h of shift = 04:00 EDT (08:00Z).
        let p = night("America/New_York", json!({"first_response_min": 300}));
        let ev = ["2026-03-07T22:00:00-05:00 created"];
        assert_eq!(
            fr(&p, &ev, "2026-03-08T03:30:00-04:00"),
            // 22:00 EST to 03:30 EDT is 4.5 real hours.
            Some(m(Active, R, Some("2026-03-08T08:00:00Z"), 30, Some(30), None, true))
        );
        // New York fall back: 22:00 EDT + 4 h = the second 01:00 (EST, 06:00Z).
        let p = night("America/New_York", json!({"first_response_min": 240}));
        let ev = ["2026-10-31T22:00:00-04:00 created"];
        assert_eq!(
            fr(&p, &ev, "2026-11-01T01:30:00-04:00"),
            // The first 01:30 (EDT) is 3.5 hours in; the second 01:00 comes 30 real minutes later.
            Some(m(Active, R, Some("2026-11-01T06:00:00Z"), 30, Some(30), None, true))
        );
    }

    #[test]
    fn holiday_inside_an_overnight_shift() {
        // Dec 24 23:00: one hour to midnight, Dec 25 is off, Dec 26 00:00 + 1 h.
        let p = night("America/New_York", json!({"first_response_min": 120}));
        let ev = ["2026-12-24T23:00:00-05:00 created"];
        assert_eq!(
            fr(&p, &ev, "2026-12-25T12:00:00-05:00"),
            Some(m(Active, R, Some("2026-12-26T06:00:00Z"), 60, Some(13 * 60), None, false))
        );
    }

    #[test]
    fn holiday_inside_a_pause() {
        // Wed 09:00 to Thu 13:00 is 480 + 240 = 720; paused until Christmas noon (a
        // holiday: nothing counts); Mon Dec 28 09:00-10:00 adds 60.
        let p = ny(json!({"resolution_min": 960}));
        let ev = [
            "2026-12-23T09:00:00-05:00 created",
            "2026-12-24T13:00:00-05:00 status:pending",
            "2026-12-25T12:00:00-05:00 status:open",
        ];
        assert_eq!(
            res(&p, &ev, "2026-12-28T10:00:00-05:00"),
            Some(m(Active, R, Some("2026-12-28T18:00:00Z"), 180, Some(180), None, true))
        );
        // 180 left is under 25% of 960: at risk.
        // While paused: no due date, the remainder frozen.
        assert_eq!(
            res(&p, &ev[..2], "2026-12-25T10:00:00-05:00"),
            Some(m(Paused, P, None, 240, None, None, false))
        );
    }

    #[test]
    fn pause_resume_solve_reopen() {
        let p = always(json!({"resolution_min": 480}));
        let ev = [
            "2026-03-09T08:00:00Z created",
            "2026-03-09T10:00:00Z status:pending",
            "2026-03-09T14:00:00Z status:open",
        ];
        assert_eq!(res(&p, &ev, "2026-03-09T12:00:00Z"), Some(m(Paused, P, None, 360, None, None, false)));
        assert_eq!(
            res(&p, &ev, "2026-03-09T15:00:00Z"),
            Some(m(Active, R, Some("2026-03-09T20:00:00Z"), 300, Some(300), None, false))
        );
        // Solved at 10:00 after 120 minutes; reopened at 12:00 the total continues.
        let ev = [
            "2026-03-09T08:00:00Z created",
            "2026-03-09T10:00:00Z status:solved",
            "2026-03-09T12:00:00Z customer",
            "2026-03-09T12:00:00Z status:open",
        ];
        assert_eq!(
            res(&p, &ev[..2], "2026-03-09T11:00:00Z"),
            Some(m(
                Achieved,
                S,
                Some("2026-03-09T16:00:00Z"),
                360,
                None,
                Some("2026-03-09T10:00:00Z"),
                false
            ))
        );
        assert_eq!(
            res(&p, &ev, "2026-03-09T13:00:00Z"),
            Some(m(Active, R, Some("2026-03-09T18:00:00Z"), 300, Some(300), None, false))
        );
        // Solved, then closed: fulfilled when solved.
        let closed = [
            "2026-03-09T08:00:00Z created",
            "2026-03-09T10:00:00Z status:solved",
            "2026-03-09T11:00:00Z status:closed",
        ];
        assert_eq!(
            res(&p, &closed, "2026-03-10T00:00:00Z").unwrap().fulfilled_at,
            Some(ts("2026-03-09T10:00:00Z"))
        );
    }

    #[test]
    fn paused_while_breached() {
        let p = always(json!({"resolution_min": 60}));
        let ev = ["2026-03-09T08:00:00Z created", "2026-03-09T09:30:00Z status:on_hold"];
        assert_eq!(
            res(&p, &ev, "2026-03-09T12:00:00Z"),
            Some(m(Breached, P, Some("2026-03-09T09:00:00Z"), -30, None, None, false))
        );
    }

    #[test]
    fn next_response_cycles() {
        let p = always(json!({"first_response_min": 60, "next_response_min": 120}));
        let base = [
            "2026-03-09T08:00:00Z created",
            "2026-03-09T08:05:00Z customer", // before the first reply: first response's business
            "2026-03-09T08:30:00Z reply",
            "2026-03-09T09:00:00Z customer", // opens a cycle
            "2026-03-09T09:10:00Z customer", // same cycle: the oldest message counts
            "2026-03-09T09:20:00Z note",     // does not close it
            "2026-03-09T09:45:00Z reply",    // closes it
        ];
        let mut closed = nr(&p, &base, "2026-03-09T09:50:00Z").unwrap();
        assert_eq!(closed.cycle_start, Some(ts("2026-03-09T09:00:00Z")));
        closed.cycle_start = None;
        assert_eq!(
            closed,
            m(Achieved, S, Some("2026-03-09T11:00:00Z"), 75, None, Some("2026-03-09T09:45:00Z"), false)
        );

        let mut open: Vec<&str> = base.to_vec();
        open.push("2026-03-09T10:00:00Z customer");
        let mut s = nr(&p, &open, "2026-03-09T10:30:00Z").unwrap();
        assert_eq!(s.cycle_start, Some(ts("2026-03-09T10:00:00Z")));
        s.cycle_start = None;
        assert_eq!(s, m(Active, R, Some("2026-03-09T12:00:00Z"), 90, Some(90), None, false));

        // Breach then reply.
        open.push("2026-03-09T12:30:00Z reply");
        let mut s = nr(&p, &open, "2026-03-09T13:00:00Z").unwrap();
        s.cycle_start = None;
        assert_eq!(
            s,
            m(Breached, S, Some("2026-03-09T12:00:00Z"), -30, None, Some("2026-03-09T12:30:00Z"), false)
        );

        // No cycle before the first reply; customer messages alone do not open one.
        assert_eq!(nr(&p, &base[..2], "2026-03-09T09:00:00Z"), None);
        // A policy without a next-response target reports none.
        let p = always(json!({"first_response_min": 60}));
        assert_eq!(nr(&p, &open, "2026-03-09T13:00:00Z"), None);
    }

    #[test]
    fn priority_in_force_picks_targets_and_warning_thresholds() {
        let p = policy(json!({
            "targets": {"first_response_min": 60},
            "targets_by_priority": {"urgent": {"first_response_min": 15}},
            "warning": {"minutes": 5}
        }));
        let ev = ["2026-03-09T10:00:00Z created", "2026-03-09T10:05:00Z priority:urgent"];
        assert_eq!(
            fr(&p, &ev, "2026-03-09T10:09:00Z"),
            Some(m(Active, R, Some("2026-03-09T10:15:00Z"), 6, Some(6), None, false))
        );
        assert!(fr(&p, &ev, "2026-03-09T10:11:00Z").unwrap().at_risk);
        // Before the change to urgent, normal's 60 minutes applied.
        assert_eq!(fr(&p, &ev, "2026-03-09T10:04:00Z").unwrap().due_at, Some(ts("2026-03-09T11:00:00Z")));
    }

    #[test]
    fn no_created_event_means_no_clock_and_future_events_are_ignored() {
        let p = always(json!({"first_response_min": 60, "resolution_min": 60}));
        assert_eq!(
            evaluate(&p, &events(&["2026-03-09T10:00:00Z reply"]), ts("2026-03-09T11:00:00Z")),
            SlaReport::default()
        );
        let ev = ["2026-03-09T10:00:00Z created", "2026-03-09T10:30:00Z reply"];
        assert_eq!(fr(&p, &ev, "2026-03-09T10:10:00Z").unwrap().clock, R);
    }

    proptest::proptest! {
        /// Any sorted events anywhere in jiff's range (year -9999 to 9999) evaluate without
        /// panicking, and the report's invariants hold.
        #[test]
        fn any_history_evaluates(
            mut times in proptest::collection::vec(-377_705_116_800i64..253_402_207_200, 1..12),
            kinds in proptest::collection::vec(0usize..7, 12),
            now in -377_705_116_800i64..253_402_207_200,
        ) {
            times.sort_unstable();
            let kinds_all = [
                EventKind::CustomerMessage, EventKind::AgentReply, EventKind::InternalNote,
                EventKind::Status(Status::Pending), EventKind::Status(Status::Open),
                EventKind::Status(Status::Solved), EventKind::Priority(Priority::Urgent),
            ];
            let events: Vec<Event> = times
                .iter()
                .enumerate()
                .map(|(i, t)| Event {
                    at: Timestamp::from_second(*t).unwrap(),
                    kind: if i == 0 { EventKind::Created } else { kinds_all[kinds[i]] },
                })
                .collect();
            let p = ny(json!({"first_response_min": 60, "next_response_min": 120, "resolution_min": 5_000_000}));
            let r = evaluate(&p, &events, Timestamp::from_second(now).unwrap());
            for m in [r.first_response, r.next_response, r.resolution].into_iter().flatten() {
                proptest::prop_assert_eq!(m.state == SlaState::Breached, m.remaining_min < 0);
                proptest::prop_assert_eq!(m.wall_min_to_due.is_some(), m.clock == SlaClock::Running);
                proptest::prop_assert!(m.due_at.is_some() || m.state == SlaState::Paused);
            }
        }
    }

    #[test]
    fn the_always_open_calendar_counts_wall_time() {
        let cal = Calendar::always_open();
        assert!(cal.is_24x7());
        assert_eq!(
            cal.business_minutes_between(ts("2026-03-08T00:00:00Z"), ts("2026-03-09T00:00:00Z")),
            1440
        );
        assert_eq!(cal.add_business_seconds(ts("2026-03-08T00:00:00Z"), 90), ts("2026-03-08T00:01:30Z"));
    }

    #[test]
    fn next_due_at_is_the_soonest_running_clock() {
        let p = always(json!({"first_response_min": 60, "resolution_min": 30}));
        let ev = ["2026-03-09T10:00:00Z created"];
        let r = evaluate(&p, &events(&ev), ts("2026-03-09T10:10:00Z"));
        assert_eq!(next_due_at(&r), Some(ts("2026-03-09T10:30:00Z")));
        let paused = [
            "2026-03-09T10:00:00Z created",
            "2026-03-09T10:05:00Z status:pending",
            "2026-03-09T10:06:00Z reply",
        ];
        assert_eq!(next_due_at(&evaluate(&p, &events(&paused), ts("2026-03-09T10:10:00Z"))), None);
    }
}
