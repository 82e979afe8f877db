//! Automation: auto-responder rules (evaluated on Slack ingestion and ticket creation) and the
//! SLA warning scheduler ([`warnings`]) and the presence sweep ([`presence`]).

pub mod presence;
pub mod rules;
pub mod warnings;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde_json::json;

use crate::model::{ApiErrorEnvelope, Author, AuthorKind, AutoResponder, Page, Visibility, event_kind};
use crate::server::AppState;
use crate::server::auth::Principal;
use crate::server::error::AppError;
use crate::server::extract::ApiJson;
use crate::server::glue::{self, PolicyCache, SlaLogKind};
use crate::server::slack::admin::json;
use crate::server::slack::{Runtime, bump, outbound};
use crate::server::store::tickets::{
    self, TICKET_SELECT, TicketRow, insert_message, push_log, refresh_sla, save,
};
use crate::server::store::{Store, ms};

/// A customer message that may trigger rules.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub ticket: i64,
    pub text: String,
    /// The message that opened the ticket.
    pub first_message: bool,
    /// Loop guard: rules never answer a bot (nor ourselves: our replies never trigger).
    pub from_bot: bool,
    pub slack_channel: Option<String>,
}

pub async fn load_rules(store: &Store) -> Result<Vec<AutoResponder>, AppError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, rule FROM auto_responders ORDER BY position, id")
            .fetch_all(store.pool())
            .await?;
    rows.into_iter()
        .map(|(id, text)| {
            let mut r: AutoResponder = crate::server::store::json_col(&text, "auto_responders.rule")?;
            r.id = Some(id.into());
            Ok(r)
        })
        .collect()
}

/// Evaluates every enabled rule for a customer message and applies those that match, each at
/// most once per ticket.
pub async fn run(
    store: &Store,
    cache: &PolicyCache,
    rt: &Runtime,
    trigger: &Trigger,
    now: Timestamp,
) -> Result<(), AppError> {
    if trigger.from_bot {
        return Ok(());
    }
    let rules = load_rules(store).await?;
    if rules.iter().all(|r| !r.enabled) {
        return Ok(());
    }
    for rule in rules.iter().filter(|r| r.enabled) {
        let Some(rule_id) = rule.id.map(|i| i.0) else { continue };
        let mut tx = store.write().await?;
        let q = format!("{TICKET_SELECT} WHERE t.id = $1{}", tx.for_update());
        let row: Option<TicketRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(q)).bind(trigger.ticket).fetch_optional(tx.conn()).await?;
        let Some(mut row) = row else { return Ok(()) };
        let policy = match row.sla_policy_id {
            Some(id) => {
                let text: Option<(String,)> = sqlx::query_as("SELECT policy FROM sla_policies WHERE id = $1")
                    .bind(id)
                    .fetch_optional(tx.conn())
                    .await?;
                text.and_then(|(t,)| cache.get(id, &t))
            }
            None => None,
        };
        let facts = rules::Facts {
            channel: row.channel.parse().ok(),
            slack_channel: trigger.slack_channel.as_deref(),
            team_id: row.team_id,
            priority: row.priority(),
            text: &trigger.text,
            first_message: trigger.first_message,
            in_business_hours: policy.as_deref().map(|p| rules::in_business_hours(p.calendar(), now)),
        };
        if !rules::matches(&rule.conditions, &facts) {
            continue;
        }
        // The UNIQUE (rule, ticket) row: at most once per ticket, whichever instance gets here first.
        let won = sqlx::query(
            "INSERT INTO auto_responder_runs (rule_id, ticket_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(rule_id)
        .bind(row.id)
        .bind(ms(now))
        .execute(tx.conn())
        .await?;
        if won.rows_affected() == 0 {
            continue;
        }
        let at = ms(now);
        let mut changes = vec![format!("auto-responder: {}", rule.name)];
        if let Some(p) = rule.actions.set_priority
            && p != row.priority()
        {
            row.priority = tickets::priority_rank(p);
            push_log(&mut row, at, SlaLogKind::Priority(p));
            changes.push(format!("priority: {}", p.as_str()));
        }
        let mut tags = row.tag_list();
        let before = tags.len();
        for t in &rule.actions.add_tags {
            if let Ok(t) = tickets::normalise_tag(t, "add_tags")
                && !tags.contains(&t)
            {
                tags.push(t);
            }
        }
        let tags_changed = tags.len() != before;
        if tags_changed {
            tags.sort();
            row.tags = serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into());
            changes.push("tags added".into());
        }
        if let Some(template) = &rule.actions.reply_markdown {
            let report = glue::report(policy.as_deref(), &row.log(), now);
            let contact: Option<(String,)> = sqlx::query_as("SELECT name FROM contacts WHERE id = $1")
                .bind(row.requester_id)
                .fetch_optional(tx.conn())
                .await?;
            let vars = rules::Vars {
                contact_name: contact.map(|c| c.0).unwrap_or_default(),
                ticket_id: row.id,
                ticket_subject: row.subject.clone(),
                report,
            };
            let text = rules::render(template, &vars);
            let author =
                Author { kind: AuthorKind::System, id: None, name: format!("Auto-reply ({})", rule.name) };
            let body = glue::markdown_body(&text);
            let body =
                crate::model::MessageBody { tiptap: crate::richtext::from_markdown(&text).to_json(), ..body };
            let mid =
                insert_message(&mut tx, row.id, row.team_id, &author, Visibility::Public, &body, now).await?;
            outbound::enqueue_reply(&mut tx, &row, mid, &text, now).await?;
            // Per rule: an auto-reply is an agent reply for the SLA only when the rule says so.
            if rule.counts_as_first_response {
                push_log(&mut row, at, SlaLogKind::AgentReply);
            }
            bump(&rt.metrics.auto_replies);
        }
        row.version += 1;
        row.updated_at = at.max(row.updated_at);
        refresh_sla(&mut tx, cache, &mut row, now).await?;
        save(&mut tx, &row, tags_changed).await?;
        tx.event(
            event_kind::TICKET_UPDATED,
            Some(row.id),
            Some(row.team_id),
            None,
            json!({"version": row.version, "changes": changes, "by": null, "auto_responder_id": rule_id}),
            now,
        )
        .await?;
        tx.commit(store).await?;
    }
    Ok(())
}

/// Auto-responders after `POST /tickets` (the API path of ticket creation).
pub async fn on_ticket_created(app: &AppState, ticket: i64, body: Option<&str>) {
    let trigger = Trigger {
        ticket,
        text: body.unwrap_or("").to_owned(),
        first_message: true,
        from_bot: false,
        slack_channel: None,
    };
    if let Err(e) = run(&app.store, &app.policies, &app.slack, &trigger, app.now()).await {
        tracing::warn!(ticket, error = %e.message, "auto-responders failed");
    }
}

/// The auto-responder rules, in evaluation order.
#[utoipa::path(get, path = "/api/v1/auto-responders", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Page<AutoResponder>)))]
pub async fn get_rules(State(app): State<AppState>, _who: Principal) -> Result<Response, AppError> {
    json(StatusCode::OK, &Page { items: load_rules(&app.store).await?, next: None })
}

/// Admin: replaces the rules (with id: keeps its once-per-ticket record; without: new; absent: deleted).
#[utoipa::path(put, path = "/api/v1/auto-responders", tag = "admin", security(("bearer" = [])),
    request_body = Vec<AutoResponder>,
    responses((status = 200, body = Page<AutoResponder>), (status = 403, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn put_rules(
    State(app): State<AppState>,
    who: Principal,
    body: ApiJson<Vec<AutoResponder>>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    for (i, r) in body.value.iter().enumerate() {
        rules::validate(r).map_err(|(field, msg)| AppError::validation(&format!("[{i}].{field}"), msg))?;
    }
    let mut tx = app.store.write().await?;
    let existing: Vec<(i64,)> = sqlx::query_as("SELECT id FROM auto_responders").fetch_all(tx.conn()).await?;
    let keep: Vec<i64> = body.value.iter().filter_map(|r| r.id.map(|i| i.0)).collect();
    for (id,) in existing {
        if !keep.contains(&id) {
            sqlx::query("DELETE FROM auto_responders WHERE id = $1").bind(id).execute(tx.conn()).await?;
        }
    }
    for (pos, r) in body.value.iter().enumerate() {
        let mut stored = r.clone();
        stored.id = None;
        let text = serde_json::to_string(&stored).map_err(AppError::internal)?;
        let updated = match r.id {
            Some(id) => sqlx::query("UPDATE auto_responders SET position = $1, rule = $2 WHERE id = $3")
                .bind(pos as i64)
                .bind(&text)
                .bind(id.0)
                .execute(tx.conn())
                .await?
                .rows_affected(),
            None => 0,
        };
        if updated == 0 {
            sqlx::query("INSERT INTO auto_responders (position, rule) VALUES ($1, $2)")
                .bind(pos as i64)
                .bind(&text)
                .execute(tx.conn())
                .await?;
        }
    }
    tx.commit(&app.store).await?;
    json(StatusCode::OK, &Page { items: load_rules(&app.store).await?, next: None })
}
