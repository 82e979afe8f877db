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

pub const PRESENCE_TTL_MS: i64 = 30_000;

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
    let changed = match prev {
        Some((s, exp)) => s != state.as_str() || exp <= at,
        None => true,
    };
    if changed {
        tx.event(
            event_kind::PRESENCE_CHANGED,
            Some(ticket),
            Some(team),
            None,
            serde_json::json!({"agent_id": who.agent_id, "agent_name": who.name, "state": state.as_str()}),
            now,
        )
        .await?;
    }
    sqlx::query("DELETE FROM presence WHERE expires_at < $1")
        .bind(at - PRESENCE_TTL_MS)
        .execute(tx.conn())
        .await?;
    tx.commit(store).await?;
    presence(store, ticket, now).await
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
    Ok(rows
        .into_iter()
        .map(|(agent, name, state, exp)| Presence {
            agent_id: agent.into(),
            agent_name: name,
            state: state.parse().unwrap_or(PresenceState::Viewing),
            expires_at: ts(exp),
        })
        .collect())
}

// ---------------------------------------------------------------- idempotency

pub struct StoredResponse {
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
}

pub async fn idempotent_get(
    store: &Store,
    agent: i64,
    key: &str,
) -> Result<Option<StoredResponse>, AppError> {
    let row: Option<(String, i64, String)> = sqlx::query_as(
        "SELECT fingerprint, status, response FROM idempotency WHERE agent_id = $1 AND idem_key = $2",
    )
    .bind(agent)
    .bind(key)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|(fingerprint, status, body)| StoredResponse {
        fingerprint,
        status: u16::try_from(status).unwrap_or(200),
        body,
    }))
}

pub async fn idempotent_put(
    store: &Store,
    agent: i64,
    key: &str,
    stored: &StoredResponse,
    now: Timestamp,
) -> Result<(), AppError> {
    let mut tx = store.write().await?;
    sqlx::query(
        "INSERT INTO idempotency (agent_id, idem_key, fingerprint, status, response, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (agent_id, idem_key) DO NOTHING",
    )
    .bind(agent)
    .bind(key)
    .bind(&stored.fingerprint)
    .bind(i64::from(stored.status))
    .bind(&stored.body)
    .bind(ms(now))
    .execute(tx.conn())
    .await?;
    // Keys are kept for a day; clients retry within minutes.
    sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(ms(now) - 86_400_000)
        .execute(tx.conn())
        .await?;
    tx.commit(store).await
}
