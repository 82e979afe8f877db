//! Replies out to Slack: a durable job per public reply on a Slack-born ticket, posted with
//! `chat.postMessage` by whichever instance claims it first.
//!
//! Claiming is one conditional UPDATE (`... WHERE claimed_until IS NULL OR claimed_until < now`)
//! whose affected-row count says who won, so two instances never post one job twice; the lease
//! (longer than the HTTP timeout) frees a job whose instance died. Internal notes never get a
//! job: only the public-reply path enqueues.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Runtime, bump};
use crate::model::{External, event_kind};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::store::tickets::TicketRow;
use crate::server::store::{Store, WriteTx, ms};

const LEASE_MS: i64 = 60_000;
pub const MAX_ATTEMPTS: i64 = 8;

/// The `chat.postMessage` body of a reply: Block Kit from `richtext` plus a plain-text fallback.
pub fn post_body(channel: &str, thread_ts: &str, markdown: &str) -> Value {
    let doc = crate::richtext::from_markdown(markdown);
    let text = crate::richtext::to_plain_text(&doc);
    json!({
        "channel": channel,
        "thread_ts": thread_ts,
        "blocks": crate::richtext::to_blockkit(&doc),
        "text": text.trim_end(),
        "unfurl_links": false,
    })
}

/// Enqueues the Slack post of a public message when the ticket was born in Slack (same
/// transaction as the message, so a reply is never stored without its job).
pub async fn enqueue_reply(
    tx: &mut WriteTx,
    row: &TicketRow,
    message: i64,
    markdown: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    if row.channel != "slack" {
        return Ok(());
    }
    let ext: External = serde_json::from_str(&row.external).unwrap_or_default();
    let (Some(channel), Some(thread)) = (ext.slack_channel, ext.slack_thread_ts) else { return Ok(()) };
    let mut payload = post_body(&channel, &thread, markdown);
    payload["slack_team_id"] = json!(ext.slack_team_id);
    sqlx::query(
        "INSERT INTO outbound_jobs (kind, message_id, ticket_id, payload, status, attempts, next_attempt_at, created_at) \
         VALUES ('slack.chat.postMessage', $1, $2, $3, 'pending', 0, $4, $4) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(message)
    .bind(row.id)
    .bind(payload.to_string())
    .bind(ms(now))
    .execute(tx.conn())
    .await?;
    Ok(())
}

struct Job {
    id: i64,
    ticket: i64,
    attempts: i64,
    payload: Value,
}

async fn claim(store: &Store, me: &str, now: i64) -> Result<Option<Job>, AppError> {
    let mut tx = store.write().await?;
    let cand: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM outbound_jobs WHERE status = 'pending' AND next_attempt_at <= $1 \
         AND (claimed_until IS NULL OR claimed_until < $1) ORDER BY next_attempt_at, id LIMIT 1",
    )
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some((id,)) = cand else {
        tx.commit(store).await?;
        return Ok(None);
    };
    let won = sqlx::query(
        "UPDATE outbound_jobs SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
         WHERE id = $3 AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < $4)",
    )
    .bind(me)
    .bind(now + LEASE_MS)
    .bind(id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    let job = if won.rows_affected() == 1 {
        let (ticket, attempts, payload): (i64, i64, String) =
            sqlx::query_as("SELECT ticket_id, attempts, payload FROM outbound_jobs WHERE id = $1")
                .bind(id)
                .fetch_one(tx.conn())
                .await?;
        Some(Job { id, ticket, attempts, payload: serde_json::from_str(&payload).unwrap_or(Value::Null) })
    } else {
        None
    };
    tx.commit(store).await?;
    Ok(job)
}

/// What one call to Slack came to.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Posted,
    Retry { after: Duration, why: String },
    Fail(String),
}

/// Exponential backoff from 500 ms, capped at 5 minutes.
pub fn backoff(attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 20) as u32 - 1;
    Duration::from_millis(500u64.saturating_mul(1u64 << exp.min(10))).min(Duration::from_secs(300))
}

/// Classifies Slack's answer (status, `Retry-After`, body).
pub fn classify(status: u16, retry_after: Option<u64>, body: &str, attempt: i64) -> Outcome {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if status == 429 {
        let after = retry_after.map(Duration::from_secs).unwrap_or_else(|| backoff(attempt));
        return Outcome::Retry { after, why: "429 rate limited".into() };
    }
    if status >= 500 {
        return Outcome::Retry { after: backoff(attempt), why: format!("HTTP {status}") };
    }
    if !(200..300).contains(&status) {
        return Outcome::Fail(format!("HTTP {status}: {}", body.chars().take(200).collect::<String>()));
    }
    match v.get("ok").and_then(Value::as_bool) {
        Some(true) => Outcome::Posted,
        _ => {
            let err = v.get("error").and_then(Value::as_str).unwrap_or("no `ok` in the answer").to_owned();
            if matches!(
                err.as_str(),
                "ratelimited" | "internal_error" | "fatal_error" | "service_unavailable"
            ) {
                Outcome::Retry { after: backoff(attempt), why: err }
            } else {
                Outcome::Fail(err)
            }
        }
    }
}

async fn post(rt: &Runtime, token: &str, payload: &Value, attempt: i64) -> Outcome {
    let mut body = payload.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("slack_team_id");
    }
    let sent = rt
        .http
        .post(format!("{}/chat.postMessage", rt.api_url))
        .bearer_auth(token)
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string())
        .send()
        .await;
    match sent {
        Err(e) => Outcome::Retry { after: backoff(attempt), why: format!("network: {e}") },
        Ok(res) => {
            let status = res.status().as_u16();
            let retry_after = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let text = res.text().await.unwrap_or_default();
            classify(status, retry_after, &text, attempt)
        }
    }
}

async fn token_for(store: &Store, team: Option<&str>) -> Result<Option<String>, AppError> {
    let row: Option<(String,)> = match team {
        Some(t) => {
            sqlx::query_as("SELECT bot_token FROM slack_workspaces WHERE slack_team_id = $1")
                .bind(t)
                .fetch_optional(store.pool())
                .await?
        }
        None => None,
    };
    match row {
        Some((t,)) => Ok(Some(t)),
        None => {
            let any: Option<(String,)> =
                sqlx::query_as("SELECT bot_token FROM slack_workspaces ORDER BY slack_team_id LIMIT 1")
                    .fetch_optional(store.pool())
                    .await?;
            Ok(any.map(|t| t.0))
        }
    }
}

async fn finish(app: &AppState, job: &Job, outcome: &Outcome) -> Result<(), AppError> {
    let now = app.now();
    let mut tx = app.store.write().await?;
    match outcome {
        Outcome::Posted => {
            sqlx::query(
                "UPDATE outbound_jobs SET status = 'done', done_at = $1, claimed_until = NULL, last_error = NULL WHERE id = $2",
            )
            .bind(ms(now))
            .bind(job.id)
            .execute(tx.conn())
            .await?;
        }
        Outcome::Retry { after, why } if job.attempts < MAX_ATTEMPTS => {
            let next = ms(now) + after.as_millis() as i64;
            sqlx::query(
                "UPDATE outbound_jobs SET next_attempt_at = $1, claimed_until = NULL, last_error = $2 WHERE id = $3",
            )
            .bind(next)
            .bind(why)
            .bind(job.id)
            .execute(tx.conn())
            .await?;
        }
        Outcome::Retry { why, .. } | Outcome::Fail(why) => {
            sqlx::query(
                "UPDATE outbound_jobs SET status = 'failed', done_at = $1, claimed_until = NULL, last_error = $2 WHERE id = $3",
            )
            .bind(ms(now))
            .bind(why)
            .bind(job.id)
            .execute(tx.conn())
            .await?;
            let team: Option<(i64,)> = sqlx::query_as("SELECT team_id FROM tickets WHERE id = $1")
                .bind(job.ticket)
                .fetch_optional(tx.conn())
                .await?;
            // Agents learn that the customer did not get the reply.
            tx.event(
                "message.delivery_failed",
                Some(job.ticket),
                team.map(|t| t.0),
                None,
                json!({"job_id": job.id, "error": why, "channel": "slack"}),
                now,
            )
            .await?;
        }
    }
    tx.commit(&app.store).await
}

/// The outbound worker of this process: posts due jobs until cancelled.
pub async fn run_worker(app: AppState) {
    let mut wake = app.hub.subscribe();
    loop {
        let job = match claim(&app.store, &app.slack.instance, ms(app.now())).await {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(error = %e.message, "claiming an outbound job failed");
                None
            }
        };
        if let Some(job) = job {
            let team = job.payload.get("slack_team_id").and_then(Value::as_str).map(str::to_owned);
            let outcome = match token_for(&app.store, team.as_deref()).await {
                Ok(Some(token)) => post(&app.slack, &token, &job.payload, job.attempts).await,
                Ok(None) => {
                    Outcome::Fail("no Slack workspace is configured (desk admin slack workspace set)".into())
                }
                Err(e) => Outcome::Retry { after: backoff(job.attempts), why: e.message },
            };
            match &outcome {
                Outcome::Posted => bump(&app.slack.metrics.slack_posts_ok),
                Outcome::Retry { why, .. } if job.attempts < MAX_ATTEMPTS => {
                    bump(&app.slack.metrics.slack_posts_retried);
                    tracing::info!(job = job.id, %why, "Slack post will be retried");
                }
                _ => {
                    bump(&app.slack.metrics.slack_posts_failed);
                    tracing::warn!(job = job.id, ?outcome, "Slack post failed for good");
                }
            }
            if let Err(e) = finish(&app, &job, &outcome).await {
                tracing::warn!(job = job.id, error = %e.message, "recording an outbound job's outcome failed");
            }
            continue;
        }
        let next: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT MIN(next_attempt_at) FROM outbound_jobs WHERE status = 'pending'")
                .fetch_optional(app.store.pool())
                .await
                .ok()
                .flatten();
        let wait = match next.and_then(|n| n.0) {
            Some(at) => Duration::from_millis((at - ms(app.now())).clamp(10, 1_000) as u64),
            None => Duration::from_secs(1),
        };
        let until = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                _ = app.shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(until) => break,
                got = wake.recv() => {
                    // Only a public message by an agent or desk can create a job; customer
                    // messages (most of Slack's traffic) and everything else sleep on.
                    let relevant = match got {
                        Ok(r) => r.event.kind == event_kind::MESSAGE_CREATED
                            && r.event.data["author_kind"] != "contact"
                            && r.event.data["visibility"] == "public",
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    };
                    if relevant {
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(200, None, r#"{"ok": true, "ts": "1.2"}"#, 1), Outcome::Posted);
        assert!(matches!(classify(500, None, "", 1), Outcome::Retry { .. }));
        assert_eq!(
            classify(429, Some(7), "", 1),
            Outcome::Retry { after: Duration::from_secs(7), why: "429 rate limited".into() }
        );
        assert_eq!(
            classify(200, None, r#"{"ok": false, "error": "channel_not_found"}"#, 1),
            Outcome::Fail("channel_not_found".into())
        );
        assert!(matches!(
            classify(200, None, r#"{"ok": false, "error": "ratelimited"}"#, 1),
            Outcome::Retry { .. }
        ));
        assert!(matches!(classify(403, None, "no", 1), Outcome::Fail(_)));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(40), Duration::from_secs(300));
    }

    #[test]
    fn post_body_has_blocks_and_fallback() {
        let b = post_body("C1", "1.1", "Hello **Ana**");
        assert_eq!(b["thread_ts"], "1.1");
        assert_eq!(b["text"], "Hello Ana");
        assert_eq!(b["blocks"][0]["type"], "rich_text");
    }
}
