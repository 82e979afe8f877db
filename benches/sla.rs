//! SLA clock evaluation throughput (DESIGN §10: at least 1,000,000 evaluations per second
//! on one core for a typical ticket; a year-long span costs O(days), not O(minutes)).
//!
//! Run: `cargo bench --bench sla`. Figures are recorded in docs/performance.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use desk::model::{self, SlaPolicy};
use desk::sla::{Event, EventKind, Policy, evaluate};
use jiff::Timestamp;

fn ts(s: &str) -> Timestamp {
    s.parse().expect("bench timestamps are valid")
}

/// New York office hours Mon-Fri 09:00-17:00 with a lunch break on Fridays and US holidays.
fn office_policy() -> Policy {
    let mut schedule: Vec<serde_json::Value> = ["mon", "tue", "wed", "thu"]
        .iter()
        .map(|d| serde_json::json!({"day": d, "start": "09:00", "end": "17:00"}))
        .collect();
    schedule.push(serde_json::json!({"day": "fri", "start": "09:00", "end": "12:00"}));
    schedule.push(serde_json::json!({"day": "fri", "start": "13:00", "end": "17:00"}));
    let policy: SlaPolicy = serde_json::from_value(serde_json::json!({
        "timezone": "America/New_York",
        "schedule": schedule,
        "holidays": ["2026-01-01", "2026-05-25", "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25"],
        "targets": {"first_response_min": 60, "next_response_min": 120, "resolution_min": 960},
        "targets_by_priority": {"urgent": {"first_response_min": 15, "resolution_min": 240}},
        "pause_statuses": ["pending", "on_hold"]
    }))
    .expect("bench policy is valid");
    Policy::compile(&policy).expect("bench policy compiles")
}

/// A typical ticket: ten events over two business days.
fn typical_events() -> Vec<Event> {
    use EventKind::*;
    [
        ("2026-03-10T14:05:00Z", Created),
        ("2026-03-10T14:20:00Z", InternalNote),
        ("2026-03-10T14:41:00Z", AgentReply),
        ("2026-03-10T15:02:00Z", Status(model::Status::Pending)),
        ("2026-03-10T19:30:00Z", CustomerMessage),
        ("2026-03-10T19:30:00Z", Status(model::Status::Open)),
        ("2026-03-10T20:10:00Z", Priority(model::Priority::High)),
        ("2026-03-11T13:15:00Z", AgentReply),
        ("2026-03-11T15:40:00Z", CustomerMessage),
        ("2026-03-11T16:00:00Z", InternalNote),
    ]
    .into_iter()
    .map(|(at, kind)| Event { at: ts(at), kind })
    .collect()
}

/// A ticket open for a year: created in January, a pause and an exchange each month.
fn year_events() -> Vec<Event> {
    use EventKind::*;
    let mut events = vec![Event { at: ts("2026-01-05T15:00:00Z"), kind: Created }];
    for month in 1..=11 {
        let day = |d: u8, h: u8| ts(&format!("2026-{:02}-{d:02}T{h:02}:00:00Z", month + 1));
        events.push(Event { at: day(2, 15), kind: AgentReply });
        events.push(Event { at: day(3, 15), kind: Status(model::Status::Pending) });
        events.push(Event { at: day(10, 16), kind: CustomerMessage });
        events.push(Event { at: day(10, 16), kind: Status(model::Status::Open) });
    }
    events
}

fn bench(c: &mut Criterion) {
    let policy = office_policy();
    let mut group = c.benchmark_group("sla");
    group.throughput(Throughput::Elements(1));

    let typical = typical_events();
    let now = ts("2026-03-11T17:00:00Z");
    group.bench_function("evaluate/typical_ticket_10_events_business_hours", |b| {
        b.iter(|| evaluate(black_box(&policy), black_box(&typical), black_box(now)))
    });

    let year = year_events();
    let year_now = ts("2027-01-04T15:00:00Z");
    group.bench_function("evaluate/year_long_span_45_events", |b| {
        b.iter(|| evaluate(black_box(&policy), black_box(&year), black_box(year_now)))
    });

    // The same primitive over a day, a week and a year: the ratio shows the cost in days
    // (here nearly flat: transition-free weeks are added whole).
    let cal = policy.calendar();
    let from = ts("2026-01-05T15:00:00Z");
    for (name, to) in [
        ("one_day", ts("2026-01-06T15:00:00Z")),
        ("one_week", ts("2026-01-12T15:00:00Z")),
        ("one_year", ts("2027-01-04T15:00:00Z")),
    ] {
        group.bench_function(format!("calendar/business_minutes_between_{name}"), |b| {
            b.iter(|| cal.business_minutes_between(black_box(from), black_box(to)))
        });
    }
    group.bench_function("calendar/add_business_minutes_one_year", |b| {
        b.iter(|| cal.add_business_minutes(black_box(from), black_box(250 * 480)))
    });

    let raw: SlaPolicy = serde_json::from_value(serde_json::json!({
        "timezone": "Europe/Berlin",
        "schedule": [{"day": "mon", "start": "08:00", "end": "18:00"}, {"day": "sat", "start": "22:00", "end": "06:00"}],
        "holidays": ["2026-12-24", "2026-12-25"],
        "targets": {"first_response_min": 30}
    }))
    .expect("bench policy is valid");
    group.bench_function("policy/compile_zone_cached", |b| b.iter(|| Policy::compile(black_box(&raw))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
