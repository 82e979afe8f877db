//! `POST /api/v1/integrations/slack/events` and the worker that processes stored envelopes.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::admin::{self, json as json_response};
use super::envelope::{self, Action, Envelope, SlackMessage};
use super::signature;
use super::{Runtime, bump};
use crate::model::{
    Author, AuthorKind, Channel, ErrorCode, External, MessageBody, NotificationKind, Priority, Status,
    Visibility, event_kind,
};
use crate::server::AppState;
use crate::server::automation;
use crate::server::error::AppError;
use crate::server::glue::{PolicyCache, SlaLogKind};
use crate::server::store::tickets::{
    self, TICKET_SELECT, TicketRow, insert_message, policy_for_team, push_log, refresh_sla, save,
};
use crate::server::store::{Store, WriteTx, ms};

/// Slack Events API endpoint: verify, store, acknowledge; processing happens in the worker.
#[utoipa::path(post, path = "/api/v1/integrations/slack/events", tag = "admin",
    description = "Slack Events API request URL. Authenticated by `X-Slack-Signature` (HMAC-SHA256 with the workspace's signing secret) within 300 s of `X-Slack-Request-Timestamp`, not by a bearer token.",
    request_body(content = Object, description = "An Events API envelope (`url_verification` or `event_callback`)"),
    responses((status = 200, description = "Stored (or the challenge of url_verification)"), (status = 401, body = crate::model::ApiErrorEnvelope), (status = 400, body = crate::model::ApiErrorEnvelope)))]
pub async fn events(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let rt = &app.slack;
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let workspaces = admin::workspaces(&app.store).await?;
    let secrets: Vec<&str> = workspaces.iter().map(|w| w.signing_secret.as_str()).collect();
    let verified = signature::verify(
        &secrets,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        &body,
        app.now().as_second(),
    );
    let matched = match verified {
        Ok(i) => &workspaces[i],
        Err(e) => {
            bump(&rt.metrics.slack_signature_rejected);
            return Err(
                AppError::new(ErrorCode::Unauthenticated, e.to_string()).with_field("X-Slack-Signature")
            );
        }
    };
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| AppError::new(ErrorCode::InvalidJson, format!("the envelope is not JSON: {e}")))?;
    match envelope::parse(&value).map_err(|e| AppError::bad_request("body", e))? {
        Envelope::UrlVerification { challenge } => {
            json_response(StatusCode::OK, &json!({"challenge": challenge}))
        }
        Envelope::Other(kind) => {
            tracing::info!(%kind, "Slack envelope acknowledged and not stored");
            Ok(StatusCode::OK.into_response())
        }
        Envelope::Callback { event_id, team_id } => {
            if team_id.as_deref().is_some_and(|t| t != matched.slack_team_id) {
                return Err(AppError::new(
                    ErrorCode::Unauthenticated,
                    "team_id does not match the signing secret",
                )
                .with_field("team_id"));
            }
            let text = String::from_utf8_lossy(&body).into_owned();
            if store_envelope(&app.store, &event_id, &matched.slack_team_id, &text, app.now()).await? {
                bump(&rt.metrics.slack_envelopes_stored);
                rt.envelopes.notify_one();
            } else {
                bump(&rt.metrics.slack_envelopes_duplicate);
            }
            Ok(StatusCode::OK.into_response())
        }
    }
}

/// Stores an envelope once per `event_id`; false when it was already stored (a retry).
pub async fn store_envelope(
    store: &Store,
    event_id: &str,
    team: &str,
    body: &str,
    now: Timestamp,
) -> Result<bool, AppError> {
    let mut tx = store.write().await?;
    let done = sqlx::query(
        "INSERT INTO slack_envelopes (event_id, slack_team_id, body, received_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(team)
    .bind(body)
    .bind(ms(now))
    .execute(tx.conn())
    .await?;
    tx.commit(store).await?;
    Ok(done.rows_affected() == 1)
}

const LEASE_MS: i64 = 60_000;
const MAX_ATTEMPTS: i64 = 5;

/// Claims up to `n` unprocessed envelopes for this instance, oldest first. One statement: the
/// outer WHERE repeats the claim test, so with several instances each row goes to one of them.
async fn claim(store: &Store, me: &str, now: i64, n: i64) -> Result<Vec<(i64, String, String)>, AppError> {
    let mut tx = store.write().await?;
    let mut rows: Vec<(i64, Option<String>, String)> = sqlx::query_as(
        "UPDATE slack_envelopes SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM slack_envelopes WHERE processed_at IS NULL \
           AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY id LIMIT $4) \
         AND processed_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3) \
         RETURNING id, slack_team_id, body",
    )
    .bind(me)
    .bind(now + LEASE_MS)
    .bind(now)
    .bind(n)
    .fetch_all(tx.conn())
    .await?;
    tx.commit(store).await?;
    rows.sort_by_key(|r| r.0);
    Ok(rows.into_iter().map(|(id, team, body)| (id, team.unwrap_or_default(), body)).collect())
}

/// The ingest worker of this process: processes stored envelopes until cancelled.
pub async fn run_worker(app: AppState) {
    let (store, cache, rt, clock, cancel) =
        (&app.store, &app.policies, &app.slack, &app.clock, &app.shutdown);
    loop {
        let now = clock.now();
        let batch = match claim(store, &rt.instance, ms(now), 100).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e.message, "claiming Slack envelopes failed; retrying");
                Vec::new()
            }
        };
        let full = batch.len() == 100;
        for (id, team, body) in batch {
            let outcome = process(store, cache, rt, id, &team, &body, clock.now()).await;
            if let Err(e) = outcome {
                bump(&rt.metrics.slack_envelopes_failed);
                tracing::warn!(envelope = id, error = %e.message, "processing a Slack envelope failed");
                let _ = give_up_or_retry(store, id, &e.message, clock.now()).await;
            } else {
                bump(&rt.metrics.slack_envelopes_processed);
            }
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = rt.envelopes.notified() => {}
            // Envelopes stored by another instance, and retries after a failure.
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn give_up_or_retry(store: &Store, id: i64, error: &str, now: Timestamp) -> Result<(), AppError> {
    let mut tx = store.write().await?;
    sqlx::query(
        "UPDATE slack_envelopes SET outcome = $1, claimed_until = $2, \
         processed_at = CASE WHEN attempts >= $3 THEN $4 ELSE NULL END WHERE id = $5",
    )
    .bind(format!("error: {error}"))
    .bind(ms(now) + 2_000)
    .bind(MAX_ATTEMPTS)
    .bind(ms(now))
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.commit(store).await
}

/// What processing one envelope led to, for the `outcome` column and auto-responders.
enum Done {
    Ignored(&'static str),
    Message { ticket: i64, created: bool, text: String, channel: String, from_bot: bool },
    Changed,
}

/// Processes one envelope in one transaction that also marks it processed.
async fn process(
    store: &Store,
    cache: &PolicyCache,
    rt: &Runtime,
    id: i64,
    team: &str,
    body: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let value: Value =
        serde_json::from_str(body).map_err(|e| AppError::internal(format!("stored envelope {id}: {e}")))?;
    let ws = admin::workspace(store, team).await?;
    let identity = ws.as_ref().map(|w| w.identity()).unwrap_or_default();
    let action = envelope::classify(&value["event"], &identity);
    let mut tx = store.write().await?;
    let done = match action {
        Action::Ignore(why) => Done::Ignored(why),
        Action::New(m) => new_message(&mut tx, cache, team, &m, now).await?,
        Action::Edit { channel, ts, content } => {
            update_message(&mut tx, &channel, &ts, Some(&content), now).await?;
            Done::Changed
        }
        Action::Delete { channel, ts } => {
            update_message(&mut tx, &channel, &ts, None, now).await?;
            Done::Changed
        }
    };
    let outcome = match &done {
        Done::Ignored(why) => format!("ignored: {why}"),
        Done::Message { ticket, created: true, .. } => format!("ticket #{ticket} opened"),
        Done::Message { ticket, .. } => format!("message added to #{ticket}"),
        Done::Changed => "message updated".to_owned(),
    };
    sqlx::query("UPDATE slack_envelopes SET processed_at = $1, outcome = $2 WHERE id = $3")
        .bind(ms(now))
        .bind(&outcome)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.commit(store).await?;
    if let Done::Message { ticket, created, text, channel, from_bot } = done {
        let trigger = automation::Trigger {
            ticket,
            text,
            first_message: created,
            from_bot,
            slack_channel: Some(channel),
        };
        // The envelope is processed and committed: a rule failure is logged, never a reprocessing.
        if let Err(e) = automation::run(store, cache, rt, &trigger, now).await {
            tracing::warn!(envelope = id, error = %e.message, "auto-responders failed for a Slack message");
        }
    }
    Ok(())
}

/// The stored body of a Slack message: TipTap and Markdown by `richtext`, the original kept.
pub fn body_of(content: &Value) -> MessageBody {
    match crate::richtext::from_blockkit_value(content, &crate::richtext::NoResolver) {
        Ok(doc) => MessageBody {
            tiptap: doc.to_json(),
            markdown: crate::richtext::to_markdown(&doc),
            source: Some(content.clone()),
        },
        Err(e) => {
            // Never lose a customer's words over a conversion problem: keep the text.
            tracing::warn!(error = %e, "Slack message did not convert; keeping its text");
            let text = content.get("text").and_then(Value::as_str).unwrap_or("(message could not be read)");
            let mut b = crate::server::glue::markdown_body(text);
            b.source = Some(content.clone());
            b
        }
    }
}

/// The contact of a Slack user, created (with the Slack user id kept) when unknown.
async fn contact_for(tx: &mut WriteTx, m: &SlackMessage, now: Timestamp) -> Result<(i64, String), AppError> {
    let found: Option<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM contacts WHERE slack_user_id = $1 ORDER BY id LIMIT 1")
            .bind(&m.user)
            .fetch_optional(tx.conn())
            .await?;
    if let Some((id, name)) = found {
        if let Some(real) = &m.user_name
            && name == m.user
        {
            // A contact first seen without a profile gets its name once one arrives.
            sqlx::query("UPDATE contacts SET name = $1 WHERE id = $2")
                .bind(real)
                .bind(id)
                .execute(tx.conn())
                .await?;
            return Ok((id, real.clone()));
        }
        return Ok((id, name));
    }
    let name = m.user_name.clone().unwrap_or_else(|| m.user.clone());
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO contacts (name, slack_user_id, tags, created_at) VALUES ($1, $2, '[]', $3) RETURNING id",
    )
    .bind(&name)
    .bind(&m.user)
    .bind(ms(now))
    .fetch_one(tx.conn())
    .await?;
    Ok((id, name))
}

async fn ticket_for_update(tx: &mut WriteTx, id: i64) -> Result<Option<TicketRow>, AppError> {
    let q = format!("{TICKET_SELECT} WHERE t.id = $1{}", tx.for_update());
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(q)).bind(id).fetch_optional(tx.conn()).await?)
}

fn subject_of(markdown: &str, who: &str) -> String {
    let line = markdown.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let line: String = line.trim_start_matches(['#', '>', '-', '*', ' ']).chars().take(80).collect();
    if line.trim().is_empty() { format!("Slack message from {who}") } else { line.trim().to_owned() }
}

async fn new_message(
    tx: &mut WriteTx,
    cache: &PolicyCache,
    team: &str,
    m: &SlackMessage,
    now: Timestamp,
) -> Result<Done, AppError> {
    let seen: Option<(i64,)> =
        sqlx::query_as("SELECT ticket_id FROM slack_messages WHERE channel_id = $1 AND ts = $2")
            .bind(&m.channel)
            .bind(&m.ts)
            .fetch_optional(tx.conn())
            .await?;
    if seen.is_some() {
        return Ok(Done::Ignored("message already ingested"));
    }
    let body = body_of(&m.content);
    let text = crate::richtext::to_plain_text(
        &crate::richtext::Doc::from_json(&body.tiptap)
            .unwrap_or_else(|_| crate::richtext::from_markdown(&body.markdown)),
    );
    let (contact, name) = contact_for(tx, m, now).await?;
    let author = Author { kind: AuthorKind::Contact, id: Some(contact), name: name.clone() };
    // Every message of a thread goes to the thread's ticket (following a merge), whichever
    // message arrived first: Slack may deliver a reply before its root.
    let root = m.thread_ts.clone().unwrap_or_else(|| m.ts.clone());
    let thread: Option<(i64,)> =
        sqlx::query_as("SELECT ticket_id FROM slack_threads WHERE channel_id = $1 AND thread_ts = $2")
            .bind(&m.channel)
            .bind(&root)
            .fetch_optional(tx.conn())
            .await?;
    let existing = match thread {
        Some((t,)) => {
            let (merged,): (Option<i64>,) = sqlx::query_as("SELECT merged_into FROM tickets WHERE id = $1")
                .bind(t)
                .fetch_one(tx.conn())
                .await?;
            Some(merged.unwrap_or(t))
        }
        None => None,
    };
    let at = ms(now);
    if let Some(ticket) = existing
        && let Some(mut row) = ticket_for_update(tx, ticket).await?
    {
        let id = insert_message(tx, ticket, row.team_id, &author, Visibility::Public, &body, now).await?;
        link(tx, &m.channel, &m.ts, ticket, id).await?;
        push_log(&mut row, at, SlaLogKind::CustomerMessage);
        // A customer writing again reopens a ticket that waited or was solved.
        if matches!(row.status(), Status::Pending | Status::OnHold | Status::Solved) {
            row.status = Status::Open.as_str().to_owned();
            push_log(&mut row, at, SlaLogKind::Status(Status::Open));
        }
        row.version += 1;
        row.updated_at = at.max(row.updated_at);
        refresh_sla(tx, cache, &mut row, now).await?;
        save(tx, &row, false).await?;
        tx.event(
            event_kind::TICKET_UPDATED,
            Some(ticket),
            Some(row.team_id),
            None,
            json!({"version": row.version, "changes": ["customer replied in Slack"], "by": null}),
            now,
        )
        .await?;
        if let Some(a) = row.assignee_id {
            let summary = format!("{name} replied on #{ticket}: {}", row.subject);
            tickets::notify(
                tx,
                a,
                NotificationKind::CustomerMessage,
                Some((ticket, row.team_id)),
                &summary,
                now,
            )
            .await?;
        }
        return Ok(Done::Message {
            ticket,
            created: false,
            text,
            channel: m.channel.clone(),
            from_bot: m.from_bot,
        });
    }
    let team_id = admin::team_for_channel(tx.conn(), &m.channel)
        .await?
        .ok_or_else(|| AppError::internal("a Slack message arrived but the workspace has no team"))?;
    let policy = policy_for_team(tx.conn(), team_id).await?;
    let external = External {
        slack_team_id: Some(team.to_owned()),
        slack_channel: Some(m.channel.clone()),
        slack_thread_ts: Some(root.clone()),
        url: None,
    };
    let mut row = TicketRow {
        id: 0,
        subject: subject_of(&body.markdown, &name),
        status: Status::New.as_str().to_owned(),
        priority: tickets::priority_rank(Priority::Normal),
        requester_id: contact,
        assignee_id: None,
        team_id,
        tags: "[]".into(),
        channel: Channel::Slack.as_str().to_owned(),
        snoozed_until: None,
        created_at: at,
        updated_at: at,
        version: 1,
        sla_policy_id: policy,
        sla_log: "[]".into(),
        next_sla_due_at: None,
        sla_sort: i64::MAX,
        external: serde_json::to_string(&external).unwrap_or_else(|_| "{}".into()),
        merged_into: None,
        requester_name: Some(name.clone()),
        account_name: None,
    };
    push_log(&mut row, at, SlaLogKind::Created);
    push_log(&mut row, at, SlaLogKind::CustomerMessage);
    refresh_sla(tx, cache, &mut row, now).await?;
    let (ticket,): (i64,) = sqlx::query_as(
        "INSERT INTO tickets (subject, status, priority, requester_id, assignee_id, team_id, tags, channel, \
         snoozed_until, created_at, updated_at, version, sla_policy_id, sla_log, next_sla_due_at, sla_sort, external) \
         VALUES ($1, $2, $3, $4, NULL, $5, '[]', $6, NULL, $7, $8, 1, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(&row.subject)
    .bind(&row.status)
    .bind(row.priority)
    .bind(row.requester_id)
    .bind(row.team_id)
    .bind(&row.channel)
    .bind(row.created_at)
    .bind(row.updated_at)
    .bind(row.sla_policy_id)
    .bind(&row.sla_log)
    .bind(row.next_sla_due_at)
    .bind(row.sla_sort)
    .bind(&row.external)
    .fetch_one(tx.conn())
    .await?;
    tx.event(
        event_kind::TICKET_CREATED,
        Some(ticket),
        Some(team_id),
        None,
        json!({"subject": row.subject, "status": row.status, "priority": "normal", "channel": "slack"}),
        now,
    )
    .await?;
    let id = insert_message(tx, ticket, team_id, &author, Visibility::Public, &body, now).await?;
    link(tx, &m.channel, &m.ts, ticket, id).await?;
    sqlx::query("INSERT INTO slack_threads (channel_id, thread_ts, ticket_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(&m.channel)
        .bind(&root)
        .bind(ticket)
        .execute(tx.conn())
        .await?;
    Ok(Done::Message { ticket, created: true, text, channel: m.channel.clone(), from_bot: m.from_bot })
}

async fn link(tx: &mut WriteTx, channel: &str, ts: &str, ticket: i64, message: i64) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO slack_messages (channel_id, ts, ticket_id, message_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(channel)
    .bind(ts)
    .bind(ticket)
    .bind(message)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// An edit (`Some(content)`) or a deletion (`None`) of the message keyed `(channel, ts)`, in place.
async fn update_message(
    tx: &mut WriteTx,
    channel: &str,
    ts: &str,
    content: Option<&Value>,
    now: Timestamp,
) -> Result<(), AppError> {
    let found: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT s.message_id, s.ticket_id, t.team_id FROM slack_messages s JOIN tickets t ON t.id = s.ticket_id \
         WHERE s.channel_id = $1 AND s.ts = $2",
    )
    .bind(channel)
    .bind(ts)
    .fetch_optional(tx.conn())
    .await?;
    let Some((message, ticket, team)) = found else { return Ok(()) };
    let (body, what) = match content {
        Some(c) => (body_of(c), "edited"),
        None => {
            let mut b = crate::server::glue::markdown_body("*This message was deleted in Slack.*");
            b.tiptap = crate::richtext::from_markdown(&b.markdown).to_json();
            (b, "deleted")
        }
    };
    sqlx::query(
        "UPDATE messages SET body_tiptap = $1, body_markdown = $2, source = $3, edited_at = $4 WHERE id = $5",
    )
    .bind(body.tiptap.to_string())
    .bind(&body.markdown)
    .bind(body.source.as_ref().map(|s| s.to_string()))
    .bind(ms(now))
    .bind(message)
    .execute(tx.conn())
    .await?;
    tx.event(
        event_kind::MESSAGE_UPDATED,
        Some(ticket),
        Some(team),
        None,
        json!({"message_id": message, "change": what}),
        now,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_come_from_the_first_line() {
        assert_eq!(subject_of("\n# Printer on fire\nmore", "Ana"), "Printer on fire");
        assert_eq!(subject_of("  ", "Ana"), "Slack message from Ana");
        assert_eq!(subject_of(&"x".repeat(200), "Ana").len(), 80);
    }

    #[test]
    fn block_kit_is_converted_and_kept() {
        let c = json!({"text": "fallback", "blocks": [{"type": "rich_text", "elements": [{"type": "rich_text_section",
            "elements": [{"type": "text", "text": "bold", "style": {"bold": true}}]}]}]});
        let b = body_of(&c);
        assert_eq!(b.markdown.trim(), "**bold**");
        assert_eq!(b.source, Some(c));
    }
}
