//! Agents, teams, tokens, SLA policies, views, macros, notifications, presence and the
//! idempotency records of creating POSTs.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::FromRow;

use super::{Sql, Store, json_col, ms, ts};
use crate::model::{
    Agent, CreatedToken, Macro, NewAgent, Notification, NotificationKind, Presence, PresenceState, Role,
    SlaPolicy, SortKey, Team, TicketFilter, TicketPatch, View, Visibility, event_kind,
};
use crate::server::auth::{Principal, hash_token, new_token};
use crate::server::error::AppError;
use crate::server::glue::{self, PolicyCache};

// ---------------------------------------------------------------- agents and teams

pub async fn principal_for_hash(store: &Store, hash: &str) -> Result<Option<Principal>, AppError> {
    let row: Option<(i64, String, String, String)> = sqlx::query_as(
        "SELECT a.id, a.name, a.email, a.role FROM tokens k JOIN agents a ON a.id = k.agent_id WHERE k.hash = $1",
    )
    .bind(hash)
    .fetch_optional(store.pool())
    .await?;
    let Some((agent_id, name, email, role)) = row else { return Ok(None) };
    let teams: Vec<(i64,)> =
        sqlx::query_as("SELECT team_id FROM agent_teams WHERE agent_id = $1 ORDER BY team_id")
            .bind(agent_id)
            .fetch_all(store.pool())
            .await?;
    Ok(Some(Principal {
        agent_id,
        name,
        email,
        role: role.parse().unwrap_or(Role::Agent),
        teams: teams.into_iter().map(|t| t.0).collect(),
        token_hash: hash.to_owned(),
    }))
}

pub async fn agents(store: &Store) -> Result<Vec<Agent>, AppError> {
    let rows: Vec<(i64, String, String, String)> =
        sqlx::query_as("SELECT id, name, email, role FROM agents ORDER BY id")
            .fetch_all(store.pool())
            .await?;
    let links: Vec<(i64, i64)> = sqlx::query_as("SELECT agent_id, team_id FROM agent_teams ORDER BY team_id")
        .fetch_all(store.pool())
        .await?;
    let mut teams: HashMap<i64, Vec<crate::model::TeamId>> = HashMap::new();
    for (a, t) in links {
        teams.entry(a).or_default().push(t.into());
    }
    Ok(rows
        .into_iter()
        .map(|(id, name, email, role)| Agent {
            id: id.into(),
            name,
            email,
            role: role.parse().unwrap_or(Role::Agent),
            teams: teams.remove(&id).unwrap_or_default(),
        })
        .collect())
}

pub async fn agent(store: &Store, id: i64) -> Result<Agent, AppError> {
    agents(store)
        .await?
        .into_iter()
        .find(|a| a.id.0 == id)
        .ok_or_else(|| AppError::not_found(format!("agent {id}")))
}

pub async fn teams(store: &Store) -> Result<Vec<Team>, AppError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM teams ORDER BY id").fetch_all(store.pool()).await?;
    Ok(rows.into_iter().map(|(id, name)| Team { id: id.into(), name }).collect())
}

pub async fn create_team(
    store: &Store,
    new: &crate::model::NewTeam,
    now: Timestamp,
) -> Result<Team, AppError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("name", "name must be 1 to 100 characters"));
    }
    let mut tx = store.write().await?;
    let dup: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM teams WHERE name = $1").bind(name).fetch_optional(tx.conn()).await?;
    if dup.is_some() {
        return Err(AppError::conflict(format!("a team named {name} exists")).with_field("name"));
    }
    if let Some(p) = new.sla_policy_id {
        let ok: Option<(i64,)> = sqlx::query_as("SELECT id FROM sla_policies WHERE id = $1")
            .bind(p.0)
            .fetch_optional(tx.conn())
            .await?;
        if ok.is_none() {
            return Err(AppError::validation("sla_policy_id", format!("no SLA policy {p}")));
        }
    }
    let (id,): (i64,) =
        sqlx::query_as("INSERT INTO teams (name, sla_policy_id) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(new.sla_policy_id.map(|p| p.0))
            .fetch_one(tx.conn())
            .await?;
    tx.event("team.created", None, None, None, serde_json::json!({"team_id": id}), now).await?;
    tx.commit(store).await?;
    Ok(Team { id: id.into(), name: name.to_owned() })
}

pub async fn agent_count(store: &Store) -> Result<i64, AppError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM agents").fetch_one(store.pool()).await?;
    Ok(n)
}

fn validate_email(e: &str) -> Result<String, AppError> {
    let e = e.trim();
    let ok = e.len() <= 254 && e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    if ok { Ok(e.to_lowercase()) } else { Err(AppError::validation("email", "not an email address")) }
}

pub async fn create_agent(store: &Store, new: &NewAgent, now: Timestamp) -> Result<Agent, AppError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::validation("name", "name must be 1 to 200 characters"));
    }
    let email = validate_email(&new.email)?;
    let mut tx = store.write().await?;
    let dup: Option<(i64,)> = sqlx::query_as("SELECT id FROM agents WHERE email = $1")
        .bind(&email)
        .fetch_optional(tx.conn())
        .await?;
    if dup.is_some() {
        return Err(AppError::conflict(format!("an agent with email {email} exists")).with_field("email"));
    }
    for t in &new.teams {
        let ok: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM teams WHERE id = $1").bind(t.0).fetch_optional(tx.conn()).await?;
        if ok.is_none() {
            return Err(AppError::validation("teams", format!("no team {t}")));
        }
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO agents (name, email, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(&email)
    .bind(new.role.as_str())
    .bind(ms(now))
    .fetch_one(tx.conn())
    .await?;
    for t in &new.teams {
        sqlx::query("INSERT INTO agent_teams (agent_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(t.0)
            .execute(tx.conn())
            .await?;
    }
    tx.event("agent.created", None, None, None, serde_json::json!({"agent_id": id}), now).await?;
    tx.commit(store).await?;
    agent(store, id).await
}

/// Creates a token for an agent; the secret is returned once and only its hash is stored.
pub async fn create_token(
    store: &Store,
    agent_id: i64,
    name: Option<&str>,
    secret: Option<String>,
    now: Timestamp,
) -> Result<CreatedToken, AppError> {
    let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_optional(store.pool())
        .await?;
    if exists.is_none() {
        return Err(AppError::validation("agent_id", format!("no agent {agent_id}")));
    }
    let token = secret.unwrap_or_else(new_token);
    let mut tx = store.write().await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO tokens (agent_id, name, hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(agent_id)
    .bind(name)
    .bind(hash_token(&token))
    .bind(ms(now))
    .fetch_one(tx.conn())
    .await?;
    tx.commit(store).await?;
    Ok(CreatedToken { id: id.into(), agent_id: agent_id.into(), token })
}

/// Creates the first admin with `token` when the workspace has no agent (`--bootstrap-token`).
/// Returns whether it did. An existing token with the same secret is left alone.
pub async fn bootstrap(store: &Store, token: &str, now: Timestamp) -> Result<bool, AppError> {
    if agent_count(store).await? > 0 {
        return Ok(false);
    }
    let teams = teams(store).await?;
    let new = NewAgent {
        name: "Admin".into(),
        email: "admin@desk.local".into(),
        role: Role::Admin,
        teams: teams.iter().map(|t| t.id).collect(),
    };
    let a = create_agent(store, &new, now).await?;
    create_token(store, a.id.0, Some("bootstrap"), Some(token.to_owned()), now).await?;
    Ok(true)
}

// ---------------------------------------------------------------- SLA policies

pub async fn sla_policies(store: &Store) -> Result<Vec<SlaPolicy>, AppError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, policy FROM sla_policies ORDER BY id").fetch_all(store.pool()).await?;
    rows.into_iter()
        .map(|(id, text)| {
            let mut p: SlaPolicy = json_col(&text, "sla_policies.policy")?;
            p.id = Some(id.into());
            Ok(p)
        })
        .collect()
}

/// Replaces the set of policies: entries with an id update that policy, entries without one
/// are created, policies not listed are deleted (their tickets fall back to the first policy).
/// Every open ticket's `next_sla_due_at` is recomputed in the same transaction.
pub async fn put_sla_policies(
    store: &Store,
    cache: &PolicyCache,
    policies: &[SlaPolicy],
    now: Timestamp,
) -> Result<Vec<SlaPolicy>, AppError> {
    for (i, p) in policies.iter().enumerate() {
        if p.name.trim().is_empty() {
            return Err(AppError::validation(&format!("[{i}].name"), "a policy needs a name"));
        }
        crate::sla::Policy::compile(p)
            .map_err(|e| AppError::validation(&format!("[{i}].{}", e.field), e.message))?;
    }
    let mut tx = store.write().await?;
    let existing: Vec<(i64,)> = sqlx::query_as("SELECT id FROM sla_policies").fetch_all(tx.conn()).await?;
    let mut kept = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        let mut stored = p.clone();
        stored.id = None;
        let text = serde_json::to_string(&stored).map_err(AppError::internal)?;
        match p.id {
            Some(id) if existing.iter().any(|e| e.0 == id.0) => {
                sqlx::query("UPDATE sla_policies SET name = $1, policy = $2 WHERE id = $3")
                    .bind(&p.name)
                    .bind(&text)
                    .bind(id.0)
                    .execute(tx.conn())
                    .await?;
                kept.push(id.0);
            }
            Some(id) => return Err(AppError::validation(&format!("[{i}].id"), format!("no policy {id}"))),
            None => {
                let (id,): (i64,) =
                    sqlx::query_as("INSERT INTO sla_policies (name, policy) VALUES ($1, $2) RETURNING id")
                        .bind(&p.name)
                        .bind(&text)
                        .fetch_one(tx.conn())
                        .await?;
                kept.push(id);
            }
        }
    }
    for (id,) in existing {
        if !kept.contains(&id) {
            sqlx::query("UPDATE tickets SET sla_policy_id = NULL WHERE sla_policy_id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
            sqlx::query("UPDATE teams SET sla_policy_id = NULL WHERE sla_policy_id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
            sqlx::query("DELETE FROM sla_policies WHERE id = $1").bind(id).execute(tx.conn()).await?;
        }
    }
    // Tickets without a policy follow the first one.
    let first = kept.iter().min().copied();
    if let Some(first) = first {
        sqlx::query("UPDATE tickets SET sla_policy_id = $1 WHERE sla_policy_id IS NULL")
            .bind(first)
            .execute(tx.conn())
            .await?;
    }
    // Recompute the stored due instants of open tickets under the new rules.
    let texts: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, policy FROM sla_policies").fetch_all(tx.conn()).await?;
    let texts: HashMap<i64, String> = texts.into_iter().collect();
    let open: Vec<(i64, Option<i64>, String)> = sqlx::query_as(
        "SELECT id, sla_policy_id, sla_log FROM tickets WHERE status NOT IN ('solved', 'closed')",
    )
    .fetch_all(tx.conn())
    .await?;
    for (id, pid, log) in open {
        let policy = pid.and_then(|p| texts.get(&p).and_then(|t| cache.get(p, t)));
        let log: Vec<glue::SlaLogEntry> = serde_json::from_str(&log).unwrap_or_default();
        // Only open tickets are selected above.
        let next =
            glue::next_due(&glue::report(policy.as_deref(), &log, now), crate::model::Status::Open).map(ms);
        sqlx::query("UPDATE tickets SET next_sla_due_at = $1, sla_sort = $2 WHERE id = $3")
            .bind(next)
            .bind(next.unwrap_or(i64::MAX))
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    tx.event("sla_policies.updated", None, None, None, serde_json::json!({"count": kept.len()}), now).await?;
    tx.commit(store).await?;
    sla_policies(store).await
}

// ---------------------------------------------------------------- views and macros

pub async fn views(store: &Store) -> Result<Vec<View>, AppError> {
    let rows: Vec<(i64, String, String, String)> =
        sqlx::query_as("SELECT id, name, filter_json, sort FROM views ORDER BY position, id")
            .fetch_all(store.pool())
            .await?;
    rows.into_iter()
        .map(|(id, name, filter, sort)| {
            Ok(View {
                id: id.into(),
                name,
                filter: json_col(&filter, "views.filter_json")?,
                sort: sort.parse().unwrap_or(SortKey::Sla),
                count: None,
            })
        })
        .collect()
}

pub async fn view(store: &Store, id: i64) -> Result<Option<View>, AppError> {
    Ok(views(store).await?.into_iter().find(|v| v.id.0 == id))
}

/// The five views every workspace starts with.
pub fn default_views() -> Vec<(&'static str, TicketFilter, SortKey)> {
    use crate::model::{AssigneeFilter, Priority, Status};
    let open = vec![Status::New, Status::Open];
    vec![
        (
            "My open",
            TicketFilter { status: open.clone(), assignee: Some(AssigneeFilter::Me), ..Default::default() },
            SortKey::Sla,
        ),
        (
            "Unassigned",
            TicketFilter { status: open.clone(), assignee: Some(AssigneeFilter::None), ..Default::default() },
            SortKey::Sla,
        ),
        (
            "Breaching soon",
            TicketFilter {
                status: vec![Status::New, Status::Open, Status::Pending, Status::OnHold],
                breaching_within: Some(60),
                ..Default::default()
            },
            SortKey::Sla,
        ),
        (
            "Urgent",
            TicketFilter { status: open, priority: vec![Priority::Urgent], ..Default::default() },
            SortKey::Sla,
        ),
        (
            "Waiting on customer",
            TicketFilter { status: vec![Status::Pending], ..Default::default() },
            SortKey::Updated,
        ),
    ]
}

/// Seeds the default views when the workspace has none.
pub async fn ensure_default_views(store: &Store) -> Result<(), AppError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM views").fetch_one(store.pool()).await?;
    if n > 0 {
        return Ok(());
    }
    let mut tx = store.write().await?;
    for (i, (name, filter, sort)) in default_views().into_iter().enumerate() {
        sqlx::query("INSERT INTO views (name, filter_json, sort, position) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(serde_json::to_string(&filter).map_err(AppError::internal)?)
            .bind(sort.as_str())
            .bind(i as i64)
            .execute(tx.conn())
            .await?;
    }
    tx.commit(store).await
}

pub async fn macros(store: &Store) -> Result<Vec<Macro>, AppError> {
    type MacroRow = (i64, String, Option<String>, Option<String>, String);
    let rows: Vec<MacroRow> =
        sqlx::query_as("SELECT id, name, reply_markdown, reply_visibility, patch FROM macros ORDER BY id")
            .fetch_all(store.pool())
            .await?;
    rows.into_iter()
        .map(|(id, name, reply, vis, patch)| {
            Ok(Macro {
                id: id.into(),
                name,
                reply_markdown: reply,
                reply_visibility: vis.and_then(|v| v.parse::<Visibility>().ok()),
                patch: json_col::<TicketPatch>(&patch, "macros.patch")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- notifications

#[derive(FromRow)]
struct NotificationRow {
    id: i64,
    kind: String,
    ticket_id: Option<i64>,
    summary: String,
    created_at: i64,
    is_read: i64,
}

impl NotificationRow {
    fn into_model(self) -> Notification {
        Notification {
            id: self.id.into(),
            kind: self.kind.parse().unwrap_or(NotificationKind::Mention),
            ticket_id: self.ticket_id.map(Into::into),
            summary: self.summary,
            created_at: ts(self.created_at),
            read: self.is_read != 0,
        }
    }
}

/// The principal's notifications, newest first.
pub async fn notifications(
    store: &Store,
    who: &Principal,
    unread_only: bool,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<Notification>, Option<i64>), AppError> {
    let mut sql = Sql::new(
        "SELECT id, kind, ticket_id, summary, created_at, is_read FROM notifications WHERE agent_id = ",
    );
    sql.bind(who.agent_id);
    if unread_only {
        sql.push(" AND is_read = 0");
    }
    if let Some(b) = before {
        sql.push(" AND id < ").bind(b);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit + 1);
    let rows: Vec<NotificationRow> = sql.query_as().fetch_all(store.pool()).await?;
    let mut items: Vec<Notification> = rows.into_iter().map(NotificationRow::into_model).collect();
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|n| n.id.0)
    } else {
        None
    };
    Ok((items, next))
}

pub async fn mark_read(store: &Store, who: &Principal, id: i64) -> Result<Notification, AppError> {
    let mut tx = store.write().await?;
    let done = sqlx::query("UPDATE notifications SET is_read = 1 WHERE id = $1 AND agent_id = $2")
        .bind(id)
        .bind(who.agent_id)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::not_found(format!("notification {id}")));
    }
    tx.commit(store).await?;
    let row: NotificationRow = sqlx::query_as(
        "SELECT id, kind, ticket_id, summary, created_at, is_read FROM notifications WHERE id = $1",
    )
    .bind(id)
    .fetch_one(store.pool())
    .await?;
    Ok(row.into_model())
}

// ---------------------------------------------------------------- presence
//
// Every `presence.changed` event carries the agent it is about, its new `state` (`viewing`,
// `replying`, or `left` when the entry expired or was cleared) and `items`, the whole list of
// who is on the ticket after the change, so a client can replace its list from the event alone.

pub const PRESENCE_TTL_MS: i64 = 30_000;

/// Who is on a ticket at `at` (ms), read inside a transaction.
async fn presence_in(
    conn: &mut sqlx::AnyConnection,
    ticket: i64,
    at: i64,
) -> Result<Vec<Presence>, AppError> {
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT p.agent_id, a.name, p.state, p.expires_at FROM presence p JOIN agents a ON a.id = p.agent_id \
         WHERE p.ticket_id = $1 AND p.expires_at > $2 ORDER BY p.agent_id",
    )
    .bind(ticket)
    .bind(at)
    .fetch_all(&mut *conn)
    .await?;
    Ok(presence_rows(rows))
}

fn presence_rows(rows: Vec<(i64, String, String, i64)>) -> Vec<Presence> {
    rows.into_iter()
        .map(|(agent, name, state, exp)| Presence {
            agent_id: agent.into(),
            agent_name: name,
            state: state.parse().unwrap_or(PresenceState::Viewing),
            expires_at: ts(exp),
        })
        .collect()
}

/// Writes one `presence.changed` event; `state` is the agent's new state or `left`.
async fn presence_event(
    tx: &mut super::WriteTx,
    ticket: i64,
    team: i64,
    agent: (i64, &str),
    state: &str,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<(), AppError> {
    let items = presence_in(tx.conn(), ticket, ms(now)).await?;
    let mut data = serde_json::json!({
        "agent_id": agent.0, "agent_name": agent.1, "state": state, "items": items,
    });
    if let Some(r) = reason {
        data["reason"] = r.into();
    }
    tx.event(event_kind::PRESENCE_CHANGED, Some(ticket), Some(team), None, data, now).await?;
    Ok(())
}

/// Renews the principal's presence on a ticket; emits `presence.changed` only when it is new
/// or its state changed, so renewals every few seconds stay quiet.
pub async fn set_presence(
    store: &Store,
    who: &Principal,
    ticket: i64,
    team: i64,
    state: PresenceState,
    now: Timestamp,
) -> Result<Vec<Presence>, AppError> {
    let at = ms(now);
    let mut tx = store.write().await?;
    let prev: Option<(String, i64)> =
        sqlx::query_as("SELECT state, expires_at FROM presence WHERE ticket_id = $1 AND agent_id = $2")
            .bind(ticket)
            .bind(who.agent_id)
            .fetch_optional(tx.conn())
            .await?;
    sqlx::query(
        "INSERT INTO presence (ticket_id, agent_id, state, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (ticket_id, agent_id) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at",
    )
    .bind(ticket)
    .bind(who.agent_id)
    .bind(state.as_str())
    .bind(at + PRESENCE_TTL_MS)
    .execute(tx.conn())
    .await?;
    // An entry that expired but was not swept yet counts as new: the others were told (or are
    // about to be told) that it left. Expired rows are removed by the sweep, which announces them.
    let changed = match prev {
        Some((s, exp)) => s != state.as_str() || exp <= at,
        None => true,
    };
    if changed {
        presence_event(&mut tx, ticket, team, (who.agent_id, &who.name), state.as_str(), None, now).await?;
    }
    let items = presence_in(tx.conn(), ticket, at).await?;
    tx.commit(store).await?;
    Ok(items)
}

/// Clears the principal's presence on a ticket (`DELETE /tickets/{id}/presence`) and tells the
/// others with `state: left`, `reason: cleared`. Clearing what is not there is not an error.
pub async fn clear_presence(
    store: &Store,
    who: &Principal,
    ticket: i64,
    team: i64,
    now: Timestamp,
) -> Result<Vec<Presence>, AppError> {
    let mut tx = store.write().await?;
    let gone: Option<(String,)> =
        sqlx::query_as("DELETE FROM presence WHERE ticket_id = $1 AND agent_id = $2 RETURNING state")
            .bind(ticket)
            .bind(who.agent_id)
            .fetch_optional(tx.conn())
            .await?;
    if gone.is_some() {
        presence_event(&mut tx, ticket, team, (who.agent_id, &who.name), "left", Some("cleared"), now)
            .await?;
    }
    let items = presence_in(tx.conn(), ticket, ms(now)).await?;
    tx.commit(store).await?;
    Ok(items)
}

/// Deletes the entries that expired by `now` and announces each with `state: left`,
/// `reason: expired`. Returns how many. The DELETE decides who announces: with several
/// instances on one PostgreSQL each row is deleted, and so announced, by exactly one of them,
/// and a renewal that lands first (moving `expires_at`) keeps its row.
pub async fn sweep_presence(store: &Store, now: Timestamp) -> Result<usize, AppError> {
    let at = ms(now);
    // The common case, nothing expired, costs one read and no write lock.
    let any: Option<(i64,)> = sqlx::query_as("SELECT ticket_id FROM presence WHERE expires_at <= $1 LIMIT 1")
        .bind(at)
        .fetch_optional(store.pool())
        .await?;
    if any.is_none() {
        return Ok(0);
    }
    let mut tx = store.write().await?;
    let gone: Vec<(i64, i64)> =
        sqlx::query_as("DELETE FROM presence WHERE expires_at <= $1 RETURNING ticket_id, agent_id")
            .bind(at)
            .fetch_all(tx.conn())
            .await?;
    for (ticket, agent) in &gone {
        let names: Option<(i64, String)> =
            sqlx::query_as("SELECT t.team_id, a.name FROM tickets t, agents a WHERE t.id = $1 AND a.id = $2")
                .bind(ticket)
                .bind(agent)
                .fetch_optional(tx.conn())
                .await?;
        let Some((team, name)) = names else { continue };
        presence_event(&mut tx, *ticket, team, (*agent, &name), "left", Some("expired"), now).await?;
    }
    tx.commit(store).await?;
    Ok(gone.len())
}

/// Who is on a ticket now (entries expire 30 s after their last renewal).
pub async fn presence(store: &Store, ticket: i64, now: Timestamp) -> Result<Vec<Presence>, AppError> {
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT p.agent_id, a.name, p.state, p.expires_at FROM presence p JOIN agents a ON a.id = p.agent_id \
         WHERE p.ticket_id = $1 AND p.expires_at > $2 ORDER BY p.agent_id",
    )
    .bind(ticket)
    .bind(ms(now))
    .fetch_all(store.pool())
    .await?;
    Ok(presence_rows(rows))
}

// ---------------------------------------------------------------- idempotency
//
// A key is reserved before its request runs, so that concurrent duplicates (on one instance or
// several on one PostgreSQL) never run the request twice. The row of `(agent_id, idem_key)`
// goes through three states, told apart by `status`:
//
// - `PENDING` (0): reserved, nothing written yet. `response` holds the owner's random token and
//   `created_at` is when the lease started. A duplicate waits for it; once the lease has run out
//   (the owner crashed) a duplicate takes the row over with a new token and runs the request.
// - `APPLIED` (1): the owner's first write transaction committed, and flipped the row in that
//   same transaction (see [`mark_applied`]). Never taken over: running again would write twice.
// - an HTTP status (>= 100): done; `response` is the body to replay.
//
// Every write transaction of the owner checks, under the row's lock, that its token still owns
// the row, so a request whose lease was taken over cannot commit a second copy.

/// `status` of a reserved key whose request has not committed a write yet.
const PENDING: i64 = 0;
/// `status` of a reserved key whose request committed a write but has not stored its response.
const APPLIED: i64 = 1;
/// How long a reservation protects a running request. Far above any request's run time: a
/// lease that runs out under a live request only fails that request's commit (see above).
pub const IDEMPOTENCY_LEASE_MS: i64 = 60_000;
/// Keys are kept for a day; clients retry within minutes.
const IDEMPOTENCY_KEEP_MS: i64 = 86_400_000;

pub struct StoredResponse {
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
}

/// The reservation a request holds while it runs (see [`IDEMPOTENCY_CLAIM`]).
#[derive(Debug, Clone)]
pub struct IdemClaim {
    pub agent: i64,
    pub key: String,
    pub owner: String,
}

tokio::task_local! {
    /// Set while a request runs under a reserved `Idempotency-Key`: its write transactions
    /// mark the key applied (and check they still own it) before they commit.
    pub static IDEMPOTENCY_CLAIM: IdemClaim;
}

/// What [`idempotent_claim`] found.
pub enum Claim {
    /// The key is this request's: run it, then [`idempotent_complete`] or [`idempotent_release`].
    Owned(IdemClaim),
    /// A request with this key finished: replay its response.
    Done(StoredResponse),
    /// The key was used with another request (another route or body).
    OtherRequest,
    /// A request with this key is running and its lease is live: wait and ask again.
    Running,
    /// A request with this key wrote but its server stopped before storing the response.
    Lost,
}

fn owner_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Reserves `key` for this request or tells who has it.
pub async fn idempotent_claim(
    store: &Store,
    agent: i64,
    key: &str,
    fingerprint: &str,
    now: Timestamp,
) -> Result<Claim, AppError> {
    let at = ms(now);
    // The row can vanish between the INSERT and the SELECT (its owner failed and released it):
    // then the INSERT is simply tried again.
    for _ in 0..5 {
        let owner = owner_token();
        let mut tx = store.write().await?;
        // On PostgreSQL a concurrent INSERT of the same key waits here until the other
        // transaction ends; exactly one of them inserts.
        let ins = sqlx::query(
            "INSERT INTO idempotency (agent_id, idem_key, fingerprint, status, response, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (agent_id, idem_key) DO NOTHING",
        )
        .bind(agent)
        .bind(key)
        .bind(fingerprint)
        .bind(PENDING)
        .bind(&owner)
        .bind(at)
        .execute(tx.conn())
        .await?;
        if ins.rows_affected() == 1 {
            tx.commit(store).await?;
            return Ok(Claim::Owned(IdemClaim { agent, key: key.to_owned(), owner }));
        }
        let row: Option<(String, i64, String, i64)> = sqlx::query_as(
            "SELECT fingerprint, status, response, created_at FROM idempotency WHERE agent_id = $1 AND idem_key = $2",
        )
        .bind(agent)
        .bind(key)
        .fetch_optional(tx.conn())
        .await?;
        let Some((stored_fp, status, response, since)) = row else {
            tx.commit(store).await?;
            continue;
        };
        if stored_fp != fingerprint {
            tx.commit(store).await?;
            return Ok(Claim::OtherRequest);
        }
        let claim = match status {
            PENDING if since + IDEMPOTENCY_LEASE_MS <= at => {
                // The owner's lease ran out before it wrote anything: take the key over. The
                // old token in the WHERE makes this exact against a concurrent takeover.
                let took = sqlx::query(
                    "UPDATE idempotency SET response = $1, created_at = $2 \
                     WHERE agent_id = $3 AND idem_key = $4 AND status = $5 AND response = $6",
                )
                .bind(&owner)
                .bind(at)
                .bind(agent)
                .bind(key)
                .bind(PENDING)
                .bind(&response)
                .execute(tx.conn())
                .await?;
                if took.rows_affected() == 1 {
                    Claim::Owned(IdemClaim { agent, key: key.to_owned(), owner })
                } else {
                    Claim::Running
                }
            }
            PENDING => Claim::Running,
            APPLIED if since + IDEMPOTENCY_LEASE_MS <= at => Claim::Lost,
            APPLIED => Claim::Running,
            _ => Claim::Done(StoredResponse {
                fingerprint: stored_fp,
                status: u16::try_from(status).unwrap_or(200),
                body: response,
            }),
        };
        tx.commit(store).await?;
        return Ok(claim);
    }
    Ok(Claim::Running)
}

/// Called by every write transaction before it commits: inside a request that holds a key,
/// marks the key applied and fails the transaction if the key is no longer this request's
/// (its lease ran out and a retry took it over), so a request is never applied twice.
pub(crate) async fn mark_applied(conn: &mut sqlx::AnyConnection) -> Result<(), AppError> {
    let Ok(claim) = IDEMPOTENCY_CLAIM.try_with(Clone::clone) else { return Ok(()) };
    let done = sqlx::query(
        "UPDATE idempotency SET status = $1 \
         WHERE agent_id = $2 AND idem_key = $3 AND response = $4 AND status IN ($5, $6)",
    )
    .bind(APPLIED)
    .bind(claim.agent)
    .bind(&claim.key)
    .bind(&claim.owner)
    .bind(PENDING)
    .bind(APPLIED)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(AppError::new(
            crate::model::ErrorCode::RequestInProgress,
            "this request took too long and a retry with the same Idempotency-Key took over; nothing was written",
        )
        .retry(1))
    }
}

/// Stores the response of the request that owns `claim`, for replays.
pub async fn idempotent_complete(
    store: &Store,
    claim: &IdemClaim,
    stored: &StoredResponse,
    now: Timestamp,
) -> Result<(), AppError> {
    let mut tx = store.write().await?;
    sqlx::query(
        "UPDATE idempotency SET status = $1, response = $2, created_at = $3 \
         WHERE agent_id = $4 AND idem_key = $5 AND response = $6 AND status IN ($7, $8)",
    )
    .bind(i64::from(stored.status))
    .bind(&stored.body)
    .bind(ms(now))
    .bind(claim.agent)
    .bind(&claim.key)
    .bind(&claim.owner)
    .bind(PENDING)
    .bind(APPLIED)
    .execute(tx.conn())
    .await?;
    sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(ms(now) - IDEMPOTENCY_KEEP_MS)
        .execute(tx.conn())
        .await?;
    tx.commit(store).await
}

/// Frees the key of a request that failed before writing, so that a retry runs it again.
/// A request that failed after writing keeps its key (applied): running it again would write twice.
pub async fn idempotent_release(store: &Store, claim: &IdemClaim) -> Result<(), AppError> {
    let mut tx = store.write().await?;
    sqlx::query(
        "DELETE FROM idempotency WHERE agent_id = $1 AND idem_key = $2 AND response = $3 AND status = $4",
    )
    .bind(claim.agent)
    .bind(&claim.key)
    .bind(&claim.owner)
    .bind(PENDING)
    .execute(tx.conn())
    .await?;
    tx.commit(store).await
}
