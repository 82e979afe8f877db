//! `desk sla eval [FILE]`: evaluate SLA clocks for one ticket from a JSON document.
//!
//! Input (FILE, or stdin when FILE is absent or `-`):
//! `{"policy": {...}, "events": [{"at": "...", "kind": "...", ...}], "now": "..."}`.
//! Output: `{"first_response": {...}|null, "next_response": {...}|null, "resolution": {...}|null}`.
//! Every input problem exits 2 with the JSON path of the offending field (docs/sla.md).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Deserialize;

use super::{CliError, Exit};
use crate::model::{Priority, SlaPolicy, Status};
use crate::sla::{self, Event, EventKind, Policy};

#[derive(Debug, clap::Subcommand)]
pub enum SlaCommand {
    /// Evaluate a ticket's SLA clocks: reads `{"policy", "events", "now"}` JSON and prints
    /// every metric's status as JSON (see docs/sla.md).
    Eval {
        /// The JSON input; `-` or absent reads stdin.
        file: Option<PathBuf>,
    },
}

pub fn run(cmd: SlaCommand) -> Result<(), CliError> {
    match cmd {
        SlaCommand::Eval { file } => {
            let input = read_input(file.as_deref())?;
            let out = eval(&input)?;
            match writeln!(std::io::stdout().lock(), "{out}") {
                // A closed pipe (`desk sla eval x | head`) is the reader's choice, not an error.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(CliError::new(Exit::Error, format!("cannot write to stdout: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}

fn read_input(file: Option<&Path>) -> Result<String, CliError> {
    match file {
        Some(p) if p != Path::new("-") => std::fs::read_to_string(p).map_err(|e| {
            CliError::usage(format!("cannot read {}: {e}", p.display()))
                .with_hint("pass a readable JSON file, or `-` to read stdin")
        }),
        _ => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| CliError::new(Exit::Error, format!("cannot read stdin: {e}")))?;
            Ok(input)
        }
    }
}

/// The wire shape of the input.
#[derive(Deserialize)]
struct EvalInput {
    policy: SlaPolicy,
    events: Vec<EventIn>,
    now: Timestamp,
}

#[derive(Deserialize)]
struct EventIn {
    at: Timestamp,
    kind: KindIn,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    priority: Option<Priority>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum KindIn {
    Created,
    CustomerMessage,
    AgentReply,
    InternalNote,
    Status,
    Priority,
}

fn invalid(path: &str, message: impl std::fmt::Display) -> CliError {
    CliError::usage(format!("invalid input at `{path}`: {message}")).with_hint(
        "the input is {\"policy\": {...}, \"events\": [...], \"now\": \"RFC 3339\"}; see docs/sla.md",
    )
}

/// Evaluates one `{policy, events, now}` document and returns the report as pretty JSON.
/// Errors are usage errors (exit 2) naming the JSON path of the bad field.
pub fn eval(input: &str) -> Result<String, CliError> {
    let mut de = serde_json::Deserializer::from_str(input);
    let parsed: EvalInput = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { "(document)".to_owned() } else { path };
        invalid(&path, e.into_inner())
    })?;
    de.end().map_err(|e| invalid("(document)", e))?;

    let policy =
        Policy::compile(&parsed.policy).map_err(|e| invalid(&format!("policy.{}", e.field), e.message))?;
    let events = events(&parsed.events)?;
    let report = sla::evaluate(&policy, &events, parsed.now);
    serde_json::to_string_pretty(&report)
        .map_err(|e| CliError::new(Exit::Error, format!("cannot write JSON: {e}")))
}

/// Checks the event list (created first and once, sorted, kinds with their value) and
/// turns it into engine events.
fn events(input: &[EventIn]) -> Result<Vec<Event>, CliError> {
    if input.first().map(|e| e.kind) != Some(KindIn::Created) {
        let path = if input.is_empty() { "events" } else { "events[0].kind" };
        return Err(invalid(path, "the first event must be the ticket's `created` event"));
    }
    let mut out = Vec::with_capacity(input.len());
    for (i, e) in input.iter().enumerate() {
        if i > 0 {
            let prev = input[i - 1].at;
            if e.at < prev {
                return Err(invalid(
                    &format!("events[{i}].at"),
                    format!(
                        "events are out of order: {} is before events[{}].at ({prev}); sort them by time",
                        e.at,
                        i - 1
                    ),
                ));
            }
            if e.kind == KindIn::Created {
                return Err(invalid(
                    &format!("events[{i}].kind"),
                    "a ticket is created once, by the first event",
                ));
            }
        }
        let kind = match e.kind {
            KindIn::Created => EventKind::Created,
            KindIn::CustomerMessage => EventKind::CustomerMessage,
            KindIn::AgentReply => EventKind::AgentReply,
            KindIn::InternalNote => EventKind::InternalNote,
            KindIn::Status => EventKind::Status(e.status.ok_or_else(|| {
                invalid(
                    &format!("events[{i}].status"),
                    "a `status` event needs a status, e.g. \"status\": \"pending\"",
                )
            })?),
            KindIn::Priority => EventKind::Priority(e.priority.ok_or_else(|| {
                invalid(
                    &format!("events[{i}].priority"),
                    "a `priority` event needs a priority, e.g. \"priority\": \"urgent\"",
                )
            })?),
        };
        out.push(Event { at: e.at, kind });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn office_policy() -> Value {
        let schedule: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| json!({"day": d, "start": "09:00", "end": "17:00"}))
            .collect();
        json!({"timezone": "America/New_York", "schedule": schedule, "holidays": ["2026-12-25"],
               "targets": {"first_response_min": 60, "next_response_min": 120, "resolution_min": 480},
               "pause_statuses": ["pending", "on_hold"]})
    }

    fn run_json(v: &Value) -> Result<Value, CliError> {
        eval(&v.to_string()).map(|out| serde_json::from_str(&out).unwrap())
    }

    fn usage_error(v: &Value) -> String {
        let e = run_json(v).expect_err("expected an error");
        assert_eq!(e.code, Exit::Usage, "{}", e.message);
        e.message
    }

    #[test]
    fn prints_every_metric_in_the_documented_shape() {
        let input = json!({
            "policy": office_policy(),
            "events": [
                {"at": "2026-03-06T16:30:00-05:00", "kind": "created", "via": "ignored"},
                {"at": "2026-03-07T11:30:00+09:00", "kind": "internal_note"},
                {"at": "2026-03-09T13:20:00Z", "kind": "agent_reply"},
                {"at": "2026-03-09T09:40:00-04:00", "kind": "customer_message"},
                {"at": "2026-03-09T10:00:00-04:00", "kind": "status", "status": "pending"}
            ],
            "now": "2026-03-09T11:00:00-04:00"
        });
        // Friday 16:30-17:00 and Monday 09:00-09:20 EDT: 50 of 60 minutes used when replied.
        // The cycle opened 09:40; 80 minutes later 40 of 120 remain.
        // Resolution: 30 + 60 minutes, then paused.
        assert_eq!(
            run_json(&input).unwrap(),
            json!({
                "first_response": {"state": "achieved", "clock": "stopped", "due_at": "2026-03-09T13:30:00Z",
                    "remaining_min": 10, "wall_min_to_due": null, "fulfilled_at": "2026-03-09T13:20:00Z", "at_risk": false},
                "next_response": {"state": "active", "clock": "running", "due_at": "2026-03-09T15:40:00Z",
                    "remaining_min": 40, "wall_min_to_due": 40, "fulfilled_at": null,
                    "cycle_start": "2026-03-09T13:40:00Z", "at_risk": false},
                "resolution": {"state": "paused", "clock": "paused", "due_at": null,
                    "remaining_min": 390, "wall_min_to_due": null, "fulfilled_at": null, "at_risk": false}
            })
        );
    }

    #[test]
    fn metrics_without_a_target_are_null_and_24x7_is_the_default() {
        let input = json!({
            "policy": {"targets": {"first_response_min": 30}},
            "events": [{"at": "2026-03-08T01:30:00-05:00", "kind": "created"}],
            "now": "2026-03-08T07:30:00Z"
        });
        // 24x7 UTC: 01:30 EST is 06:30Z, due 30 minutes later; an hour has passed.
        assert_eq!(
            run_json(&input).unwrap(),
            json!({
                "first_response": {"state": "breached", "clock": "running", "due_at": "2026-03-08T07:00:00Z",
                    "remaining_min": -30, "wall_min_to_due": -30, "fulfilled_at": null, "at_risk": false},
                "next_response": null,
                "resolution": null
            })
        );
    }

    #[test]
    fn input_errors_exit_2_and_name_the_field() {
        let base = json!({"policy": office_policy(),
            "events": [{"at": "2026-03-09T10:00:00Z", "kind": "created"},
                       {"at": "2026-03-09T11:00:00Z", "kind": "status", "status": "pending"}],
            "now": "2026-03-09T12:00:00Z"});
        let with = |pointer: &str, value: Value| {
            let mut v = base.clone();
            *v.pointer_mut(pointer).unwrap() = value;
            v
        };
        let cases: Vec<(Value, &str)> = vec![
            (with("/policy/timezone", json!("Mars/Olympus")), "`policy.timezone`"),
            (with("/policy/timezone", json!(5)), "`policy.timezone`"),
            (with("/policy/schedule/2/start", json!("25:00")), "`policy.schedule[2].start`"),
            (with("/policy/schedule/1/day", json!("someday")), "`policy.schedule[1].day`"),
            (with("/policy/holidays/0", json!("2026-02-30")), "`policy.holidays[0]`"),
            (with("/policy/targets/resolution_min", json!("480")), "`policy.targets.resolution_min`"),
            (with("/policy/pause_statuses/1", json!("snoozed")), "`policy.pause_statuses[1]`"),
            (with("/events/1/status", json!("snoozed")), "`events[1].status`"),
            (with("/events/1/kind", json!("phone_call")), "`events[1].kind`"),
            (with("/events/1/at", json!("2026-03-09T09:00:00Z")), "`events[1].at`: events are out of order"),
            (with("/events/1/at", json!("2026-03-09T11:00:00")), "`events[1].at`"),
            (with("/events/1/at", json!("2026-02-30T11:00:00Z")), "`events[1].at`"),
            (with("/events/0/kind", json!("agent_reply")), "`events[0].kind`"),
            (with("/events", json!([])), "`events`"),
            (with("/now", json!(null)), "`now`"),
        ];
        for (input, want) in cases {
            let msg = usage_error(&input);
            assert!(msg.contains(want), "{msg} should mention {want}");
        }
        let mut missing = base.clone();
        missing.as_object_mut().unwrap().remove("now");
        assert!(usage_error(&missing).contains("missing field `now`"));
        let mut no_status = base.clone();
        no_status["events"][1].as_object_mut().unwrap().remove("status");
        assert!(usage_error(&no_status).contains("`events[1].status`"));
        assert!(eval("{").is_err_and(|e| e.code == Exit::Usage));
        assert!(eval(&format!("{base} trailing")).is_err_and(|e| e.code == Exit::Usage));
    }

    #[test]
    fn an_unreadable_file_is_a_usage_error() {
        let e = read_input(Some(Path::new("/nonexistent/sla.json"))).unwrap_err();
        assert_eq!(e.code, Exit::Usage);
        assert!(e.message.contains("/nonexistent/sla.json"));
    }

    /// Writes instant `t` (Unix seconds) as RFC 3339 in the offset `offset_min` minutes east.
    fn written(t: i64, offset_min: i32) -> String {
        let offset = jiff::tz::Offset::from_seconds(offset_min * 60).unwrap();
        let dt = offset.to_datetime(Timestamp::from_second(t).unwrap());
        format!("{dt}{offset}")
    }

    const KINDS: [(&str, Option<(&str, &str)>); 7] = [
        ("customer_message", None),
        ("agent_reply", None),
        ("internal_note", None),
        ("status", Some(("status", "pending"))),
        ("status", Some(("status", "open"))),
        ("status", Some(("status", "solved"))),
        ("priority", Some(("priority", "urgent"))),
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The same instants written in any offsets give byte-identical output.
        #[test]
        fn results_never_depend_on_the_offset_written(
            start in 1_772_323_200i64..1_798_761_600, // 2026-03-01 .. 2027-01-01
            steps in proptest::collection::vec((0i64..3 * 86_400, 0usize..KINDS.len(), -56i32..=56), 0..12),
            created_offset in -56i32..=56,
            now_after in 0i64..10 * 86_400,
            now_offset in -56i32..=56,
        ) {
            let mut t = start;
            let mut plain = vec![json!({"at": written(t, 0), "kind": "created"})];
            let mut shifted = vec![json!({"at": written(t, created_offset * 15), "kind": "created"})];
            for (gap, kind, offset) in &steps {
                t += gap;
                let (name, extra) = KINDS[*kind];
                let mut a = json!({"at": written(t, 0), "kind": name});
                let mut b = json!({"at": written(t, offset * 15), "kind": name});
                if let Some((k, v)) = extra {
                    a[k] = json!(v);
                    b[k] = json!(v);
                }
                plain.push(a);
                shifted.push(b);
            }
            let now = t + now_after;
            let doc = |events: Vec<Value>, now: String| {
                json!({"policy": office_policy(), "events": events, "now": now}).to_string()
            };
            let a = eval(&doc(plain, written(now, 0))).map_err(|e| TestCaseError::fail(e.message))?;
            let b = eval(&doc(shifted, written(now, now_offset * 15))).map_err(|e| TestCaseError::fail(e.message))?;
            prop_assert_eq!(a, b);
        }
    }
}
