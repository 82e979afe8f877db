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
