//! SLA warnings: `sla.at_risk` and `sla.breached` events (and notifications) once per
//! (ticket, metric, kind, cycle), at the instant the clock crosses.
//!
//! Not a poll over every ticket: the scheduler keeps the next crossing instant of each ticket
//! with a running clock (loaded once at start from `next_sla_due_at IS NOT NULL`) in an ordered
//! set, sleeps until the soonest, and recomputes a ticket when the event log says it changed
//! (events of every instance reach it through the fan-out). The UNIQUE `sla_warnings` row decides
//! emission, so a restart or a second instance never emits a warning twice.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::model::{MetricStatus, NotificationKind, SlaClock, SlaReport, SlaState, event_kind};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::glue::{self, CompiledPolicy, SlaLogEntry};
use crate::server::slack::bump;
use crate::server::store::{ms, tickets};

fn metrics(r: &SlaReport) -> [(&'static str, &Option<MetricStatus>); 3] {
    [
        ("first_response", &r.first_response),
        ("next_response", &r.next_response),
        ("resolution", &r.resolution),
    ]
}

/// Warnings due at `now`: `(metric, kind, cycle)`.
pub fn due_warnings(r: &SlaReport) -> Vec<(&'static str, &'static str, i64)> {
    let mut out = Vec::new();
    for (name, m) in metrics(r) {
        let Some(m) = m else { continue };
        let cycle = m.cycle_start.map(ms).unwrap_or(0);
        if m.state == SlaState::Breached && m.clock == SlaClock::Running {
            out.push((name, event_kind::SLA_BREACHED, cycle));
        } else if m.at_risk && m.clock == SlaClock::Running {
            out.push((name, event_kind::SLA_AT_RISK, cycle));
        }
    }
    out
}

/// The next instant after `now` at which some running clock becomes at risk or breached.
pub fn next_crossing(policy: &CompiledPolicy, log: &[SlaLogEntry], now: Timestamp) -> Option<Timestamp> {
    let report = glue::report(Some(policy), log, now);
    let mut best: Option<Timestamp> = None;
    for (i, (_, m)) in metrics(&report).into_iter().enumerate() {
        let Some(m) = m else { continue };
        if m.clock != SlaClock::Running || m.state == SlaState::Breached {
            continue;
        }
        let Some(due) = m.due_at else { continue };
        let at = if m.at_risk {
            // Breached once elapsed is strictly over the target: just after due_at.
            due + SignedDuration::from_millis(1)
        } else {
            // The at-risk instant by bisection: at_risk is monotone while nothing happens.
            let risky = |t: Timestamp| {
                let r = glue::report(Some(policy), log, t);
                metrics(&r)[i].1.as_ref().is_some_and(|m| m.at_risk || m.state == SlaState::Breached)
            };
            let (mut lo, mut hi) = (now, due + SignedDuration::from_millis(1));
            if !risky(hi) {
                continue;
            }
            while (hi - lo).as_millis() > 500 {
                let mid = lo + (hi - lo) / 2;
                if risky(mid) { hi = mid } else { lo = mid }
            }
            hi
        };
        best = Some(best.map_or(at, |b: Timestamp| b.min(at)));
    }
    best
}

struct Schedule {
    by_time: BTreeSet<(i64, i64)>,
    by_ticket: HashMap<i64, i64>,
}

impl Schedule {
    fn set(&mut self, ticket: i64, at: Option<Timestamp>) {
        if let Some(old) = self.by_ticket.remove(&ticket) {
            self.by_time.remove(&(old, ticket));
        }
        if let Some(at) = at {
            self.by_time.insert((ms(at), ticket));
            self.by_ticket.insert(ticket, ms(at));
        }
    }
}

/// `(sla_policy_id, sla_log, team_id, assignee_id, subject, policy text)` of a ticket.
type WarnRow = (Option<i64>, String, i64, Option<i64>, String, Option<String>);

/// Emits what is due for one ticket and returns its next crossing.
async fn check(app: &AppState, ticket: i64, silent: bool) -> Result<Option<Timestamp>, AppError> {
    let now = app.now();
    let row: Option<WarnRow> = sqlx::query_as(
        "SELECT t.sla_policy_id, t.sla_log, t.team_id, t.assignee_id, t.subject, p.policy FROM tickets t \
         LEFT JOIN sla_policies p ON p.id = t.sla_policy_id WHERE t.id = $1 AND t.merged_into IS NULL",
    )
    .bind(ticket)
    .fetch_optional(app.store.pool())
    .await?;
    let Some((Some(pid), log, team, assignee, subject, Some(text))) = row else { return Ok(None) };
    let Some(policy) = app.policies.get(pid, &text) else { return Ok(None) };
    let log: Vec<SlaLogEntry> = serde_json::from_str(&log).unwrap_or_default();
    let report = glue::report(Some(&policy), &log, now);
    for (metric, kind, cycle) in due_warnings(&report) {
        let who = if silent { None } else { Some((team, assignee, subject.as_str())) };
        emit(app, ticket, who, metric, kind, cycle).await?;
    }
    Ok(next_crossing(&policy, &log, now))
}

/// Records a warning once; with `who` (team, assignee, subject) also emits its event and
/// notifications, without it only marks it as seen (the first-start baseline).
async fn emit(
    app: &AppState,
    ticket: i64,
    who: Option<(i64, Option<i64>, &str)>,
    metric: &str,
    kind: &str,
    cycle: i64,
) -> Result<(), AppError> {
    let now = app.now();
    let mut tx = app.store.write().await?;
    let won = sqlx::query(
        "INSERT INTO sla_warnings (ticket_id, metric, kind, cycle, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(ticket)
    .bind(metric)
    .bind(kind)
    .bind(cycle)
    .bind(ms(now))
    .execute(tx.conn())
    .await?;
    let Some((team, assignee, subject)) = who.filter(|_| won.rows_affected() == 1) else {
        return tx.commit(&app.store).await;
    };
    tx.event(kind, Some(ticket), Some(team), None, json!({"metric": metric, "cycle": cycle}), now).await?;
    let (nk, verb) = if kind == event_kind::SLA_BREACHED {
        (NotificationKind::SlaBreached, "breached")
    } else {
        (NotificationKind::SlaAtRisk, "is at risk")
    };
    let summary = format!("#{ticket} {} {verb}: {subject}", metric.replace('_', " "));
    // The assignee, or else everyone in the ticket's team.
    let agents: Vec<i64> = match assignee {
        Some(a) => vec![a],
        None => sqlx::query_as::<_, (i64,)>("SELECT agent_id FROM agent_teams WHERE team_id = $1")
            .bind(team)
            .fetch_all(tx.conn())
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect(),
    };
    for a in agents {
        tickets::notify(&mut tx, a, nk, Some((ticket, team)), &summary, now).await?;
    }
    tx.commit(&app.store).await?;
    bump(&app.slack.metrics.sla_warnings);
    Ok(())
}

async fn meta(app: &AppState, key: &str) -> Result<Option<String>, AppError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT value FROM meta WHERE meta_key = $1")
        .bind(key)
        .fetch_optional(app.store.pool())
        .await?;
    Ok(row.map(|r| r.0))
}

async fn set_meta(app: &AppState, key: &str, value: &str) -> Result<(), AppError> {
    let mut tx = app.store.write().await?;
    sqlx::query("INSERT INTO meta (meta_key, value) VALUES ($1, $2) ON CONFLICT (meta_key) DO NOTHING")
        .bind(key)
        .bind(value)
        .execute(tx.conn())
        .await?;
    tx.commit(&app.store).await
}

/// Schedules every ticket with a running clock (the only full read: at start and after a lag).
async fn load_all(app: &AppState, s: &mut Schedule, silent: bool) {
    let running: Vec<(i64,)> = match sqlx::query_as(
        "SELECT id FROM tickets WHERE next_sla_due_at IS NOT NULL",
    )
    .fetch_all(app.store.pool())
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot load tickets for SLA warnings; only changes will be scheduled");
            Vec::new()
        }
    };
    for (id,) in running {
        // A large workspace takes seconds here; a shutdown must not wait for it.
        if app.shutdown.is_cancelled() {
            return;
        }
        match check(app, id, silent).await {
            Ok(at) => s.set(id, at),
            Err(e) => tracing::warn!(ticket = id, error = %e.message, "SLA warning check failed"),
        }
    }
}

/// The scheduler task of this process (see the module docs).
pub async fn run(app: AppState) {
    let mut wake = app.hub.subscribe();
    let mut s = Schedule { by_time: BTreeSet::new(), by_ticket: HashMap::new() };
    // The first start on a database (a new one, the demo, or an upgrade from before warnings
    // existed) records the clocks that already crossed without announcing them: a flood of
    // old breaches helps nobody. Later starts announce what crossed while no instance ran.
    let baseline = matches!(meta(&app, "sla_warnings_baseline").await, Ok(None));
    load_all(&app, &mut s, baseline).await;
    if baseline && let Err(e) = set_meta(&app, "sla_warnings_baseline", &ms(app.now()).to_string()).await {
        tracing::warn!(error = %e.message, "cannot record the SLA warning baseline");
    }
    loop {
        let now = ms(app.now());
        while let Some(&(at, id)) = s.by_time.first() {
            if at > now || app.shutdown.is_cancelled() {
                break;
            }
            s.set(id, None);
            match check(&app, id, false).await {
                Ok(next) => s.set(id, next),
                Err(e) => {
                    tracing::warn!(ticket = id, error = %e.message, "SLA warning check failed; retrying in 5 s");
                    s.set(id, Some(app.now() + SignedDuration::from_secs(5)));
                }
            }
        }
        let wait = s
            .by_time
            .first()
            .map(|(at, _)| Duration::from_millis((at - ms(app.now())).clamp(0, 3_600_000) as u64))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = app.shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
            got = wake.recv() => match got {
                Ok(r) => {
                    if let Some(t) = r.event.ticket_id
                        && matches!(r.event.kind.as_str(), event_kind::TICKET_CREATED | event_kind::TICKET_UPDATED | event_kind::MESSAGE_CREATED | event_kind::TICKET_MERGED)
                    {
                        match check(&app, t.0, false).await {
                            Ok(next) => s.set(t.0, next),
                            Err(e) => tracing::warn!(ticket = t.0, error = %e.message, "SLA warning check failed"),
                        }
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    // Missed changes (rare): start over from the running clocks.
                    s = Schedule { by_time: BTreeSet::new(), by_ticket: HashMap::new() };
                    load_all(&app, &mut s, false).await;
                }
                Err(_) => return,
            }
        }
    }
}
