//! Tickets and their messages: queries, keyset pagination, and every write with its event.
//!
//! Authorization rules enforced here (documented in docs/api.md):
//! - an agent sees only tickets of its teams (anything else is 404, indistinguishable from absent);
//!   admins see every team;
//! - a non-admin may not move a ticket to a team it is not in (403, field `team_id`);
//! - the assignee must be a member of the ticket's team (422, field `assignee_id`);
//! - a closed ticket is final: only an admin may change it (403); a merged ticket cannot change (409).

use std::collections::{BTreeSet, HashMap};

use base64::Engine;
use jiff::Timestamp;
use sqlx::FromRow;

use super::{Sql, Store, WriteTx, json_col, ms, ts, ts_opt};
use crate::model::{
    Author, AuthorKind, Channel, ErrorCode, External, Message, MessageBody, NewTicket, Priority, SortKey,
    Status, Ticket, TicketFilter, TicketPatch, Visibility, event_kind,
};
use crate::server::auth::Principal;
use crate::server::error::AppError;
use crate::server::glue::{self, PolicyCache, SlaLogEntry, SlaLogKind};

/// `LEFT JOIN` although every ticket has a requester: SQLite never reorders the left table of a
/// `LEFT JOIN`, so `tickets` stays the outer loop and the sort-key index drives the scan.
pub const TICKET_SELECT: &str = "SELECT t.id, t.subject, t.status, t.priority, t.requester_id, t.assignee_id, \
    t.team_id, t.tags, t.channel, t.snoozed_until, t.created_at, t.updated_at, t.version, t.sla_policy_id, \
    t.sla_log, t.next_sla_due_at, t.sla_sort, t.external, t.merged_into, \
    c.name AS requester_name, a.name AS account_name \
    FROM tickets t LEFT JOIN contacts c ON c.id = t.requester_id LEFT JOIN accounts a ON a.id = c.account_id";

const MAX_SUBJECT: usize = 500;
pub const MAX_MESSAGE_CHARS: usize = 100_000;

#[derive(Debug, Clone, FromRow)]
pub struct TicketRow {
    pub id: i64,
    pub subject: String,
    pub status: String,
    pub priority: i64,
    pub requester_id: i64,
    pub assignee_id: Option<i64>,
    pub team_id: i64,
    pub tags: String,
    pub channel: String,
    pub snoozed_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    pub sla_policy_id: Option<i64>,
    pub sla_log: String,
    pub next_sla_due_at: Option<i64>,
    pub sla_sort: i64,
    pub external: String,
    pub merged_into: Option<i64>,
    pub requester_name: Option<String>,
    pub account_name: Option<String>,
}

pub fn priority_rank(p: Priority) -> i64 {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

pub fn priority_from_rank(r: i64) -> Priority {
    match r {
        0 => Priority::Low,
        2 => Priority::High,
        3 => Priority::Urgent,
        _ => Priority::Normal,
    }
}

impl TicketRow {
    pub fn status(&self) -> Status {
        self.status.parse().unwrap_or(Status::Open)
    }

    pub fn priority(&self) -> Priority {
        priority_from_rank(self.priority)
    }

    pub fn tag_list(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }

    pub fn log(&self) -> Vec<SlaLogEntry> {
        serde_json::from_str(&self.sla_log).unwrap_or_default()
    }

    pub fn to_ticket(&self, policy: Option<&glue::CompiledPolicy>, now: Timestamp) -> Ticket {
        let sla = glue::report(policy, &self.log(), now);
        Ticket {
            id: self.id.into(),
            subject: self.subject.clone(),
            status: self.status(),
            priority: self.priority(),
            requester_id: self.requester_id.into(),
            assignee_id: self.assignee_id.map(Into::into),
            team_id: self.team_id.into(),
            tags: self.tag_list(),
            channel: self.channel.parse().unwrap_or(Channel::Api),
            snoozed_until: ts_opt(self.snoozed_until),
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
            version: self.version,
            next_sla_due_at: ts_opt(self.next_sla_due_at),
            sla,
            external: serde_json::from_str::<External>(&self.external).unwrap_or_default(),
            requester_name: self.requester_name.clone(),
            account_name: self.account_name.clone(),
            merged_into: self.merged_into.map(Into::into),
        }
    }
}

/// Turns rows into tickets with their SLA reports (one query for the policies).
pub async fn render(
    store: &Store,
    cache: &PolicyCache,
    rows: &[TicketRow],
    now: Timestamp,
) -> Result<Vec<Ticket>, AppError> {
    let texts = policy_texts(store).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let p = r.sla_policy_id.and_then(|id| texts.get(&id).and_then(|t| cache.get(id, t)));
            r.to_ticket(p.as_deref(), now)
        })
        .collect())
}

pub async fn render_one(
    store: &Store,
    cache: &PolicyCache,
    row: &TicketRow,
    now: Timestamp,
) -> Result<Ticket, AppError> {
    let mut v = render(store, cache, std::slice::from_ref(row), now).await?;
    v.pop().ok_or_else(|| AppError::internal("render lost a ticket"))
}

async fn policy_texts(store: &Store) -> Result<HashMap<i64, String>, AppError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, policy FROM sla_policies").fetch_all(store.pool()).await?;
    Ok(rows.into_iter().collect())
}

// ---------------------------------------------------------------- reading

/// A ticket the principal may see, or 404.
pub async fn get_visible(store: &Store, who: &Principal, id: i64) -> Result<TicketRow, AppError> {
    let row: Option<TicketRow> = Sql::new(TICKET_SELECT)
        .push(" WHERE t.id = ")
        .bind(id)
        .query_as()
        .fetch_optional(store.pool())
        .await?;
    match row {
        Some(r) if who.sees_team(r.team_id) => Ok(r),
        _ => Err(AppError::not_found(format!("ticket #{id}"))),
    }
}

async fn get_for_update(tx: &mut WriteTx, who: &Principal, id: i64) -> Result<TicketRow, AppError> {
    let mut sql = Sql::new(TICKET_SELECT);
    sql.push(" WHERE t.id = ").bind(id);
    sql.push(tx.for_update());
    let row: Option<TicketRow> = sql.query_as().fetch_optional(tx.conn()).await?;
    match row {
        Some(r) if who.sees_team(r.team_id) => Ok(r),
        _ => Err(AppError::not_found(format!("ticket #{id}"))),
    }
}

/// The position of a ticket in a sort order, encoded as the opaque `after` cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub sort: SortKey,
    pub key: i64,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("t1:{}:{}:{}", self.sort, self.key, self.id))
    }

    pub fn decode(s: &str, sort: SortKey) -> Result<Cursor, AppError> {
        let bad = || AppError::bad_request("after", "`after` is not a cursor this list gave out");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = text.split(':');
        if parts.next() != Some("t1") {
            return Err(bad());
        }
        let s: SortKey = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let key = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let id = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        if s != sort {
            return Err(AppError::bad_request(
                "after",
                "the cursor belongs to another sort order; start again",
            ));
        }
        Ok(Cursor { sort, key, id })
    }

    fn of(sort: SortKey, r: &TicketRow) -> Cursor {
        let key = match sort {
            SortKey::Sla => r.sla_sort,
            SortKey::Priority => r.priority,
            SortKey::Updated => r.updated_at,
            SortKey::Created => r.created_at,
        };
        Cursor { sort, key, id: r.id }
    }
}

/// `LIKE` pattern for free text, with the wildcard characters of the input escaped.
fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for ch in q.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// Appends the WHERE conditions of a filter for a principal (team scoping first).
///
/// On SQLite the low-selectivity columns (status, priority) are written `+t.col`, which stops
/// the planner from picking an index on them and sorting thousands of rows: a covering sort-key
/// index drives the scan and the filter is checked inside it. When the assignee is fixed (one
/// agent, or nobody) the per-assignee index `(assignee_id, sla_sort, id, ...)` is the one to
/// drive when the order is SLA (or there is none, as in a count): it starts at that assignee's
/// tickets, already in SLA order, so a queue of three tickets, or of none, costs a few index
/// steps rather than a walk over every ticket. The team scope is then written `+t.team_id` so
/// that an agent's team list does not pull the planner back to `tickets_team_sla` (several teams
/// there mean a sort). In another order the assignee is filtered inside the sort-key index as
/// before, since reading an agent's ten thousand tickets to sort them is the worse plan.
fn push_filter(
    sql: &mut Sql,
    who: &Principal,
    f: &TicketFilter,
    now: Timestamp,
    dialect: super::Dialect,
    sort: Option<SortKey>,
) {
    let plus = if dialect == super::Dialect::Sqlite { "+" } else { "" };
    let by_assignee = f.assignee.is_some() && matches!(sort, None | Some(SortKey::Sla));
    let (team_plus, assignee_plus) = if by_assignee { (plus, "") } else { ("", plus) };
    sql.push(" WHERE t.merged_into IS NULL");
    if !who.is_admin() {
        sql.push(" AND ").push(team_plus).push("t.team_id IN ").bind_list(&who.teams);
    }
    if !f.status.is_empty() {
        let v: Vec<String> = f.status.iter().map(|s| s.as_str().to_owned()).collect();
        sql.push(" AND ").push(plus).push("t.status IN ").bind_list(&v);
    }
    if !f.priority.is_empty() {
        let v: Vec<i64> = f.priority.iter().map(|p| priority_rank(*p)).collect();
        sql.push(" AND ").push(plus).push("t.priority IN ").bind_list(&v);
    }
    match &f.assignee {
        None => {}
        Some(crate::model::AssigneeFilter::Me) => {
            sql.push(" AND ").push(assignee_plus).push("t.assignee_id = ").bind(who.agent_id);
        }
        Some(crate::model::AssigneeFilter::None) => {
            sql.push(" AND ").push(assignee_plus).push("t.assignee_id IS NULL");
        }
        Some(crate::model::AssigneeFilter::Agent(a)) => {
            sql.push(" AND ").push(assignee_plus).push("t.assignee_id = ").bind(a.0);
        }
    }
    if !f.team.is_empty() {
        let v: Vec<i64> = f.team.iter().map(|t| t.0).collect();
        sql.push(" AND ").push(team_plus).push("t.team_id IN ").bind_list(&v);
    }
    if !f.tag.is_empty() {
        let v: Vec<String> = f.tag.iter().map(|t| t.to_lowercase()).collect();
        sql.push(" AND EXISTS (SELECT 1 FROM ticket_tags tt WHERE tt.ticket_id = t.id AND tt.tag IN ")
            .bind_list(&v)
            .push(")");
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pat = like_pattern(q);
        sql.push(" AND (lower(t.subject) LIKE ").bind(pat.clone()).push(" ESCAPE '\\'");
        sql.push(" OR lower(c.name) LIKE ").bind(pat.clone()).push(" ESCAPE '\\'");
        sql.push(" OR lower(COALESCE(a.name, '')) LIKE ").bind(pat).push(" ESCAPE '\\'");
        if let Ok(n) = q.trim_start_matches('#').parse::<i64>() {
            sql.push(" OR t.id = ").bind(n);
        }
        sql.push(")");
    }
    if let Some(m) = f.breaching_within {
        let limit = ms(now).saturating_add(m.clamp(-10_000_000, 10_000_000).saturating_mul(60_000));
        sql.push(" AND t.next_sla_due_at IS NOT NULL AND t.next_sla_due_at <= ").bind(limit);
    }
}

/// One page of tickets in a sort order, keyset-paginated on `(sort key, id)` so that pages
/// stay correct while tickets are created or change.
pub async fn list(
    store: &Store,
    who: &Principal,
    filter: &TicketFilter,
    sort: SortKey,
    after: Option<Cursor>,
    limit: i64,
    now: Timestamp,
) -> Result<(Vec<TicketRow>, Option<String>), AppError> {
    let mut sql = Sql::new(TICKET_SELECT);
    push_filter(&mut sql, who, filter, now, store.dialect(), Some(sort));
    let (col, asc) = match sort {
        SortKey::Sla => ("t.sla_sort", true),
        SortKey::Priority => ("t.priority", false),
        SortKey::Updated => ("t.updated_at", false),
        SortKey::Created => ("t.created_at", false),
    };
    if let Some(c) = after {
        let (cmp, idcmp) = if asc { (" > ", " > ") } else { (" < ", " < ") };
        sql.push(" AND (").push(col).push(cmp).bind(c.key);
        sql.push(" OR (")
            .push(col)
            .push(" = ")
            .bind(c.key)
            .push(" AND t.id")
            .push(idcmp)
            .bind(c.id)
            .push("))");
    }
    let dir = if asc { " ASC" } else { " DESC" };
    sql.push(" ORDER BY ").push(col).push(dir).push(", t.id").push(dir);
    sql.push(" LIMIT ").bind(limit + 1);
    let mut rows: Vec<TicketRow> = sql.query_as().fetch_all(store.pool()).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| Cursor::of(sort, r).encode())
    } else {
        None
    };
    Ok((rows, next))
}

pub async fn count(
    store: &Store,
    who: &Principal,
    filter: &TicketFilter,
    now: Timestamp,
) -> Result<i64, AppError> {
    let mut sql = Sql::new(
        "SELECT COUNT(*) FROM tickets t LEFT JOIN contacts c ON c.id = t.requester_id LEFT JOIN accounts a ON a.id = c.account_id",
    );
    push_filter(&mut sql, who, filter, now, store.dialect(), None);
    let (n,): (i64,) = sql.query_as().fetch_one(store.pool()).await?;
    Ok(n)
}

/// Recent tickets of a requester or of an account's contacts, scoped to the principal.
pub async fn recent_for(
    store: &Store,
    who: &Principal,
    contact: Option<i64>,
    account: Option<i64>,
    limit: i64,
) -> Result<Vec<TicketRow>, AppError> {
    let mut sql = Sql::new(TICKET_SELECT);
    sql.push(" WHERE 1 = 1");
    if !who.is_admin() {
        sql.push(" AND t.team_id IN ").bind_list(&who.teams);
    }
    if let Some(c) = contact {
        sql.push(" AND t.requester_id = ").bind(c);
    }
    if let Some(a) = account {
        sql.push(" AND c.account_id = ").bind(a);
    }
    sql.push(" ORDER BY t.created_at DESC, t.id DESC LIMIT ").bind(limit);
    Ok(sql.query_as().fetch_all(store.pool()).await?)
}

// ---------------------------------------------------------------- writing

fn validate_subject(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > MAX_SUBJECT {
        return Err(AppError::validation(
            "subject",
            format!("subject must be 1 to {MAX_SUBJECT} characters"),
        ));
    }
    Ok(s.to_owned())
}

pub fn normalise_tag(t: &str, field: &str) -> Result<String, AppError> {
    let t = t.trim().to_lowercase();
    if t.is_empty() || t.chars().count() > 64 || t.chars().any(char::is_whitespace) {
        return Err(AppError::validation(field, "tags are 1 to 64 characters without spaces"));
    }
    Ok(t)
}

async fn agent_in_team(conn: &mut sqlx::AnyConnection, agent: i64, team: i64) -> Result<bool, AppError> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT agent_id FROM agent_teams WHERE agent_id = $1 AND team_id = $2")
            .bind(agent)
            .bind(team)
            .fetch_optional(conn)
            .await?;
    Ok(row.is_some())
}

async fn team_exists(conn: &mut sqlx::AnyConnection, team: i64) -> Result<bool, AppError> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM teams WHERE id = $1").bind(team).fetch_optional(conn).await?;
    Ok(row.is_some())
}

/// The SLA policy a ticket of `team` follows: the team's, else the first policy.
pub(crate) async fn policy_for_team(
    conn: &mut sqlx::AnyConnection,
    team: i64,
) -> Result<Option<i64>, AppError> {
    let (p,): (Option<i64>,) = sqlx::query_as(
        "SELECT COALESCE((SELECT sla_policy_id FROM teams WHERE id = $1), (SELECT MIN(id) FROM sla_policies))",
    )
    .bind(team)
    .fetch_one(conn)
    .await?;
    Ok(p)
}

/// Recomputes `next_sla_due_at` (and the sort key) of a row from its policy and history.
pub(crate) async fn refresh_sla(
    tx: &mut WriteTx,
    cache: &PolicyCache,
    row: &mut TicketRow,
    now: Timestamp,
) -> Result<(), AppError> {
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
    let report = glue::report(policy.as_deref(), &row.log(), now);
    row.next_sla_due_at = glue::next_due(&report, row.status()).map(ms);
    row.sla_sort = row.next_sla_due_at.unwrap_or(i64::MAX);
    Ok(())
}

pub(crate) fn push_log(row: &mut TicketRow, at: i64, kind: SlaLogKind) {
    let mut log = row.log();
    log.push(SlaLogEntry { at, kind });
    row.sla_log = serde_json::to_string(&log).unwrap_or_else(|_| "[]".into());
}

pub(crate) async fn save(tx: &mut WriteTx, row: &TicketRow, tags_changed: bool) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE tickets SET subject = $1, status = $2, priority = $3, assignee_id = $4, team_id = $5, tags = $6, \
         snoozed_until = $7, updated_at = $8, version = $9, sla_policy_id = $10, sla_log = $11, \
         next_sla_due_at = $12, sla_sort = $13, merged_into = $14 WHERE id = $15",
    )
    .bind(&row.subject)
    .bind(&row.status)
    .bind(row.priority)
    .bind(row.assignee_id)
    .bind(row.team_id)
    .bind(&row.tags)
    .bind(row.snoozed_until)
    .bind(row.updated_at)
    .bind(row.version)
    .bind(row.sla_policy_id)
    .bind(&row.sla_log)
    .bind(row.next_sla_due_at)
    .bind(row.sla_sort)
    .bind(row.merged_into)
    .bind(row.id)
    .execute(tx.conn())
    .await?;
    if tags_changed {
        sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = $1").bind(row.id).execute(tx.conn()).await?;
        insert_tags(tx.conn(), row.id, &row.tag_list()).await?;
    }
    Ok(())
}

pub(crate) async fn insert_tags(
    conn: &mut sqlx::AnyConnection,
    id: i64,
    tags: &[String],
) -> Result<(), AppError> {
    for t in tags {
        sqlx::query("INSERT INTO ticket_tags (ticket_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(t)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A notification row plus its `notification.created` event for the one agent it is for.
pub async fn notify(
    tx: &mut WriteTx,
    agent: i64,
    kind: crate::model::NotificationKind,
    ticket: Option<(i64, i64)>,
    summary: &str,
    now: Timestamp,
) -> Result<i64, AppError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO notifications (agent_id, kind, ticket_id, summary, created_at, is_read) \
         VALUES ($1, $2, $3, $4, $5, 0) RETURNING id",
    )
    .bind(agent)
    .bind(kind.as_str())
    .bind(ticket.map(|t| t.0))
    .bind(summary)
    .bind(ms(now))
    .fetch_one(tx.conn())
    .await?;
    tx.event(
        event_kind::NOTIFICATION_CREATED,
        ticket.map(|t| t.0),
        None,
        Some(agent),
        serde_json::json!({"notification_id": id, "kind": kind.as_str(), "summary": summary}),
        now,
    )
    .await?;
    Ok(id)
}

pub async fn create(
    store: &Store,
    cache: &PolicyCache,
    who: &Principal,
    new: &NewTicket,
    now: Timestamp,
) -> Result<TicketRow, AppError> {
    let subject = validate_subject(&new.subject)?;
    let mut tags = BTreeSet::new();
    for t in &new.tags {
        tags.insert(normalise_tag(t, "tags")?);
    }
    if let Some(b) = &new.body_markdown
        && b.chars().count() > MAX_MESSAGE_CHARS
    {
        return Err(AppError::validation("body_markdown", format!("at most {MAX_MESSAGE_CHARS} characters")));
    }
    let mut tx = store.write().await?;
    let requester: Option<(String,)> = sqlx::query_as("SELECT name FROM contacts WHERE id = $1")
        .bind(new.requester_id.0)
        .fetch_optional(tx.conn())
        .await?;
    let Some((requester_name,)) = requester else {
        return Err(AppError::validation("requester_id", format!("no contact {}", new.requester_id)));
    };
    let team = match new.team_id {
        Some(t) => t.0,
        None => match who.teams.first() {
            Some(t) => *t,
            None => {
                let (t,): (Option<i64>,) =
                    sqlx::query_as("SELECT MIN(id) FROM teams").fetch_one(tx.conn()).await?;
                t.ok_or_else(|| AppError::validation("team_id", "the workspace has no team yet"))?
            }
        },
    };
    if !team_exists(tx.conn(), team).await? {
        return Err(AppError::validation("team_id", format!("no team {team}")));
    }
    if !who.sees_team(team) {
        return Err(
            AppError::forbidden("you may only create tickets in your own teams").with_field("team_id")
        );
    }
    let priority = new.priority.unwrap_or(Priority::Normal);
    let policy = policy_for_team(tx.conn(), team).await?;
    let at = ms(now);
    let tags: Vec<String> = tags.into_iter().collect();
    let mut row = TicketRow {
        id: 0,
        subject,
        status: Status::New.as_str().to_owned(),
        priority: priority_rank(priority),
        requester_id: new.requester_id.0,
        assignee_id: None,
        team_id: team,
        tags: serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
        channel: new.channel.unwrap_or(Channel::Api).as_str().to_owned(),
        snoozed_until: None,
        created_at: at,
        updated_at: at,
        version: 1,
        sla_policy_id: policy,
        sla_log: "[]".into(),
        next_sla_due_at: None,
        sla_sort: i64::MAX,
        external: "{}".into(),
        merged_into: None,
        requester_name: Some(requester_name.clone()),
        account_name: None,
    };
    push_log(&mut row, at, SlaLogKind::Created);
    if priority != Priority::Normal {
        push_log(&mut row, at, SlaLogKind::Priority(priority));
    }
    if new.body_markdown.is_some() {
        push_log(&mut row, at, SlaLogKind::CustomerMessage);
    }
    refresh_sla(&mut tx, cache, &mut row, now).await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO tickets (subject, status, priority, requester_id, assignee_id, team_id, tags, channel, \
         snoozed_until, created_at, updated_at, version, sla_policy_id, sla_log, next_sla_due_at, sla_sort, external) \
         VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, NULL, $8, $9, 1, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(&row.subject)
    .bind(&row.status)
    .bind(row.priority)
    .bind(row.requester_id)
    .bind(row.team_id)
    .bind(&row.tags)
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
    row.id = id;
    insert_tags(tx.conn(), id, &tags).await?;
    tx.event(
        event_kind::TICKET_CREATED,
        Some(id),
        Some(team),
        None,
        serde_json::json!({"subject": row.subject, "status": row.status, "priority": priority.as_str()}),
        now,
    )
    .await?;
    if let Some(body) = &new.body_markdown {
        let author = Author { kind: AuthorKind::Contact, id: Some(row.requester_id), name: requester_name };
        insert_message(&mut tx, id, team, &author, Visibility::Public, &glue::markdown_body(body), now)
            .await?;
    }
    tx.commit(store).await?;
    get_visible(store, who, id).await
}

pub(crate) async fn insert_message(
    tx: &mut WriteTx,
    ticket: i64,
    team: i64,
    author: &Author,
    visibility: Visibility,
    body: &MessageBody,
    now: Timestamp,
) -> Result<i64, AppError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (ticket_id, author_kind, author_id, author_name, visibility, body_tiptap, \
         body_markdown, source, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(ticket)
    .bind(author.kind.as_str())
    .bind(author.id)
    .bind(&author.name)
    .bind(visibility.as_str())
    .bind(body.tiptap.to_string())
    .bind(&body.markdown)
    .bind(body.source.as_ref().map(|s| s.to_string()))
    .bind(ms(now))
    .fetch_one(tx.conn())
    .await?;
    tx.event(
        event_kind::MESSAGE_CREATED,
        Some(ticket),
        Some(team),
        None,
        serde_json::json!({"message_id": id, "visibility": visibility.as_str(), "author_kind": author.kind.as_str()}),
        now,
    )
    .await?;
    Ok(id)
}

/// The outcome of applying a patch to a row in memory.
pub struct Planned {
    pub row: TicketRow,
    pub changes: Vec<String>,
    pub newly_assigned: Option<i64>,
    pub tags_changed: bool,
}

/// Applies a patch to a row in memory: field validation and the change list, no I/O.
pub fn plan_patch(row: &TicketRow, patch: &TicketPatch, now: Timestamp) -> Result<Planned, AppError> {
    let mut new = row.clone();
    let mut changes = Vec::new();
    let at = ms(now);
    if let Some(s) = &patch.subject {
        let s = validate_subject(s)?;
        if s != row.subject {
            changes.push("subject changed".to_owned());
            new.subject = s;
        }
    }
    if let Some(s) = patch.status
        && s != row.status()
    {
        changes.push(format!("status: {} -> {}", row.status(), s));
        new.status = s.as_str().to_owned();
        push_log(&mut new, at, SlaLogKind::Status(s));
    }
    if let Some(p) = patch.priority
        && p != row.priority()
    {
        changes.push(format!("priority: {} -> {}", row.priority(), p));
        new.priority = priority_rank(p);
        push_log(&mut new, at, SlaLogKind::Priority(p));
    }
    let mut newly_assigned = None;
    if let Some(a) = patch.assignee_id {
        let a = a.map(|a| a.0);
        if a != row.assignee_id {
            changes.push(format!(
                "assignee: {} -> {}",
                row.assignee_id.map_or("none".to_owned(), |x| x.to_string()),
                a.map_or("none".to_owned(), |x| x.to_string())
            ));
            new.assignee_id = a;
            newly_assigned = a;
        }
    }
    if let Some(t) = patch.team_id
        && t.0 != row.team_id
    {
        changes.push(format!("team: {} -> {}", row.team_id, t.0));
        new.team_id = t.0;
    }
    let mut tags: BTreeSet<String> = row.tag_list().into_iter().collect();
    let before = tags.clone();
    for t in &patch.add_tags {
        tags.insert(normalise_tag(t, "add_tags")?);
    }
    for t in &patch.remove_tags {
        tags.remove(&normalise_tag(t, "remove_tags")?);
    }
    let tags_changed = tags != before;
    if tags_changed {
        for t in tags.difference(&before) {
            changes.push(format!("tag added: {t}"));
        }
        for t in before.difference(&tags) {
            changes.push(format!("tag removed: {t}"));
        }
        let v: Vec<String> = tags.into_iter().collect();
        new.tags = serde_json::to_string(&v).unwrap_or_else(|_| "[]".into());
    }
    if let Some(s) = patch.snoozed_until {
        let s = s.map(ms);
        if s != row.snoozed_until {
            changes.push(match s {
                Some(_) => "snoozed".to_owned(),
                None => "woken".to_owned(),
            });
            new.snoozed_until = s;
        }
    }
    if !changes.is_empty() {
        new.version = row.version + 1;
        new.updated_at = at.max(row.updated_at);
    }
    Ok(Planned { row: new, changes, newly_assigned, tags_changed })
}

/// The property-level rules that need the database (see the module docs).
async fn authorize_patch(
    conn: &mut sqlx::AnyConnection,
    who: &Principal,
    row: &TicketRow,
    patch: &TicketPatch,
) -> Result<(), AppError> {
    if row.merged_into.is_some() {
        return Err(AppError::conflict(format!(
            "ticket #{} was merged; change the ticket it was merged into",
            row.id
        )));
    }
    if row.status() == Status::Closed && !who.is_admin() && !patch.is_empty() {
        return Err(AppError::forbidden("closed tickets are final; only an admin may change them"));
    }
    let team = patch.team_id.map_or(row.team_id, |t| t.0);
    if let Some(t) = patch.team_id
        && t.0 != row.team_id
    {
        if !team_exists(conn, t.0).await? {
            return Err(AppError::validation("team_id", format!("no team {}", t.0)));
        }
        if !who.sees_team(t.0) {
            return Err(AppError::forbidden("you may not move a ticket to a team you are not in")
                .with_field("team_id"));
        }
    }
    let assignee = match patch.assignee_id {
        Some(a) => a.map(|a| a.0),
        None => row.assignee_id.filter(|_| patch.team_id.is_some()),
    };
    if let Some(a) = assignee
        && !agent_in_team(conn, a, team).await?
    {
        return Err(AppError::validation("assignee_id", format!("agent {a} is not a member of team {team}")));
    }
    Ok(())
}

/// Applies a patch; `if_match` is the version the client saw.
pub async fn patch(
    store: &Store,
    cache: &PolicyCache,
    who: &Principal,
    id: i64,
    patch: &TicketPatch,
    if_match: Option<&str>,
    now: Timestamp,
) -> Result<TicketRow, AppError> {
    let mut tx = store.write().await?;
    let row = get_for_update(&mut tx, who, id).await?;
    if let Some(v) = if_match
        && v != row.version.to_string()
    {
        drop(tx);
        let current = render_one(store, cache, &row, now).await?;
        let mut e = AppError::new(
            ErrorCode::PreconditionFailed,
            format!("ticket #{id} is at version {}, not {v}; reload and retry", row.version),
        );
        e.current = serde_json::to_value(current).ok();
        return Err(e);
    }
    authorize_patch(tx.conn(), who, &row, patch).await?;
    let mut planned = plan_patch(&row, patch, now)?;
    if planned.changes.is_empty() {
        drop(tx);
        return Ok(row);
    }
    if planned.row.team_id != row.team_id {
        planned.row.sla_policy_id = policy_for_team(tx.conn(), planned.row.team_id).await?;
    }
    refresh_sla(&mut tx, cache, &mut planned.row, now).await?;
    save(&mut tx, &planned.row, planned.tags_changed).await?;
    tx.event(
        event_kind::TICKET_UPDATED,
        Some(id),
        Some(planned.row.team_id),
        None,
        serde_json::json!({"version": planned.row.version, "changes": planned.changes, "by": who.agent_id}),
        now,
    )
    .await?;
    if let Some(a) = planned.newly_assigned
        && a != who.agent_id
    {
        let summary = format!("{} assigned you #{}: {}", who.name, id, planned.row.subject);
        notify(
            &mut tx,
            a,
            crate::model::NotificationKind::Assignment,
            Some((id, planned.row.team_id)),
            &summary,
            now,
        )
        .await?;
    }
    tx.commit(store).await?;
    Ok(planned.row)
}

// ---------------------------------------------------------------- messages

#[derive(Debug, FromRow)]
struct MessageRow {
    id: i64,
    ticket_id: i64,
    author_kind: String,
    author_id: Option<i64>,
    author_name: String,
    visibility: String,
    body_tiptap: String,
    body_markdown: String,
    source: Option<String>,
    created_at: i64,
    edited_at: Option<i64>,
}

impl MessageRow {
    fn into_message(self) -> Result<Message, AppError> {
        Ok(Message {
            id: self.id.into(),
            ticket_id: self.ticket_id.into(),
            author: Author {
                kind: self.author_kind.parse().unwrap_or(AuthorKind::System),
                id: self.author_id,
                name: self.author_name,
            },
            visibility: self.visibility.parse().unwrap_or(Visibility::Internal),
            body: MessageBody {
                tiptap: json_col(&self.body_tiptap, "messages.body_tiptap")?,
                markdown: self.body_markdown,
                source: self.source.as_deref().map(|s| json_col(s, "messages.source")).transpose()?,
            },
            created_at: ts(self.created_at),
            edited_at: ts_opt(self.edited_at),
        })
    }
}

const MESSAGE_SELECT: &str = "SELECT id, ticket_id, author_kind, author_id, author_name, visibility, body_tiptap, \
    body_markdown, source, created_at, edited_at FROM messages";

pub fn encode_id_cursor(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("i1:{id}"))
}

pub fn decode_id_cursor(s: &str) -> Result<i64, AppError> {
    let bad = || AppError::bad_request("after", "`after` is not a cursor this list gave out");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    text.strip_prefix("i1:").and_then(|n| n.parse().ok()).ok_or_else(bad)
}

/// Messages of a visible ticket, oldest first.
pub async fn messages(
    store: &Store,
    who: &Principal,
    ticket: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<(Vec<Message>, Option<String>), AppError> {
    get_visible(store, who, ticket).await?;
    let rows: Vec<MessageRow> = Sql::new(MESSAGE_SELECT)
        .push(" WHERE ticket_id = ")
        .bind(ticket)
        .push(" AND id > ")
        .bind(after.unwrap_or(0))
        .push(" ORDER BY id LIMIT ")
        .bind(limit + 1)
        .query_as()
        .fetch_all(store.pool())
        .await?;
    let mut items = rows.into_iter().map(MessageRow::into_message).collect::<Result<Vec<_>, _>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|m| encode_id_cursor(m.id.0))
    } else {
        None
    };
    Ok((items, next))
}

pub async fn message(store: &Store, id: i64) -> Result<Message, AppError> {
    let row: Option<MessageRow> = Sql::new(MESSAGE_SELECT)
        .push(" WHERE id = ")
        .bind(id)
        .query_as()
        .fetch_optional(store.pool())
        .await?;
    row.ok_or_else(|| AppError::not_found(format!("message {id}")))?.into_message()
}

/// `@handle` mentions in a note: the handle is an agent's email local part or first name.
pub fn mention_handles(markdown: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let chars: Vec<char> = markdown.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' && (i == 0 || !chars[i - 1].is_alphanumeric()) {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && (chars[j].is_alphanumeric() || matches!(chars[j], '.' | '_' | '-')) {
                j += 1;
            }
            let handle: String =
                chars[start..j].iter().collect::<String>().trim_end_matches('.').to_lowercase();
            if !handle.is_empty() {
                out.insert(handle);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Adds a message by the principal to a visible ticket and updates its SLA history.
#[allow(clippy::too_many_arguments)]
pub async fn add_message(
    store: &Store,
    cache: &PolicyCache,
    who: &Principal,
    ticket: i64,
    visibility: Visibility,
    body: MessageBody,
    now: Timestamp,
) -> Result<Message, AppError> {
    if body.markdown.chars().count() > MAX_MESSAGE_CHARS {
        return Err(AppError::validation("body_markdown", format!("at most {MAX_MESSAGE_CHARS} characters")));
    }
    if body.markdown.trim().is_empty() {
        return Err(AppError::validation("body_markdown", "the message is empty"));
    }
    let mut tx = store.write().await?;
    let mut row = get_for_update(&mut tx, who, ticket).await?;
    if row.merged_into.is_some() {
        return Err(AppError::conflict(format!(
            "ticket #{ticket} was merged; reply on the ticket it was merged into"
        )));
    }
    let at = ms(now);
    let author = Author { kind: AuthorKind::Agent, id: Some(who.agent_id), name: who.name.clone() };
    let id = insert_message(&mut tx, ticket, row.team_id, &author, visibility, &body, now).await?;
    if visibility == Visibility::Public {
        // A public reply on a Slack-born ticket goes back to its thread (durable job).
        crate::server::slack::outbound::enqueue_reply(&mut tx, &row, id, &body.markdown, now).await?;
    }
    match visibility {
        Visibility::Public => {
            push_log(&mut row, at, SlaLogKind::AgentReply);
            if row.status() == Status::New {
                row.status = Status::Open.as_str().to_owned();
                push_log(&mut row, at, SlaLogKind::Status(Status::Open));
                row.version += 1;
            }
        }
        Visibility::Internal => push_log(&mut row, at, SlaLogKind::InternalNote),
    }
    row.updated_at = at.max(row.updated_at);
    refresh_sla(&mut tx, cache, &mut row, now).await?;
    save(&mut tx, &row, false).await?;
    if visibility == Visibility::Internal {
        let handles = mention_handles(&body.markdown);
        if !handles.is_empty() {
            let agents: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, name, email FROM agents").fetch_all(tx.conn()).await?;
            for (agent, name, email) in agents {
                let local = email.split('@').next().unwrap_or("").to_lowercase();
                let first = name.split_whitespace().next().unwrap_or("").to_lowercase();
                if agent != who.agent_id && (handles.contains(&local) || handles.contains(&first)) {
                    let summary = format!("{} mentioned you on #{}: {}", who.name, ticket, row.subject);
                    notify(
                        &mut tx,
                        agent,
                        crate::model::NotificationKind::Mention,
                        Some((ticket, row.team_id)),
                        &summary,
                        now,
                    )
                    .await?;
                }
            }
        }
    }
    tx.commit(store).await?;
    message(store, id).await
}

/// Merges `source` into `target`: messages move, tags join, the source closes.
pub async fn merge(
    store: &Store,
    cache: &PolicyCache,
    who: &Principal,
    source: i64,
    target: i64,
    now: Timestamp,
) -> Result<TicketRow, AppError> {
    if source == target {
        return Err(AppError::validation("into", "a ticket cannot be merged into itself"));
    }
    let mut tx = store.write().await?;
    let mut src = get_for_update(&mut tx, who, source).await?;
    let mut dst = match get_for_update(&mut tx, who, target).await {
        Ok(r) => r,
        Err(_) => return Err(AppError::validation("into", format!("no ticket #{target} you can see"))),
    };
    if src.merged_into.is_some() || dst.merged_into.is_some() {
        return Err(AppError::conflict("one of the tickets was already merged"));
    }
    let at = ms(now);
    sqlx::query("UPDATE messages SET ticket_id = $1 WHERE ticket_id = $2")
        .bind(target)
        .bind(source)
        .execute(tx.conn())
        .await?;
    let mut tags: BTreeSet<String> = dst.tag_list().into_iter().collect();
    tags.extend(src.tag_list());
    let tags: Vec<String> = tags.into_iter().collect();
    dst.tags = serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into());
    dst.version += 1;
    dst.updated_at = at.max(dst.updated_at);
    refresh_sla(&mut tx, cache, &mut dst, now).await?;
    save(&mut tx, &dst, true).await?;
    src.merged_into = Some(target);
    src.status = Status::Closed.as_str().to_owned();
    push_log(&mut src, at, SlaLogKind::Status(Status::Closed));
    src.version += 1;
    src.updated_at = at.max(src.updated_at);
    refresh_sla(&mut tx, cache, &mut src, now).await?;
    save(&mut tx, &src, false).await?;
    let note = Author { kind: AuthorKind::System, id: None, name: "desk".into() };
    let body = glue::markdown_body(&format!("#{source} was merged into this ticket by {}.", who.name));
    insert_message(&mut tx, target, dst.team_id, &note, Visibility::Internal, &body, now).await?;
    tx.event(
        event_kind::TICKET_MERGED,
        Some(source),
        Some(src.team_id),
        None,
        serde_json::json!({"into": target, "by": who.agent_id}),
        now,
    )
    .await?;
    tx.event(
        event_kind::TICKET_UPDATED,
        Some(target),
        Some(dst.team_id),
        None,
        serde_json::json!({"version": dst.version, "changes": [format!("merged #{source}")], "by": who.agent_id}),
        now,
    )
    .await?;
    tx.commit(store).await?;
    get_visible(store, who, target).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AgentId;

    fn row() -> TicketRow {
        TicketRow {
            id: 7,
            subject: "Printer on fire".into(),
            status: "open".into(),
            priority: 1,
            requester_id: 1,
            assignee_id: None,
            team_id: 1,
            tags: r#"["billing"]"#.into(),
            channel: "api".into(),
            snoozed_until: None,
            created_at: 1_000,
            updated_at: 1_000,
            version: 3,
            sla_policy_id: None,
            sla_log: "[]".into(),
            next_sla_due_at: None,
            sla_sort: i64::MAX,
            external: "{}".into(),
            merged_into: None,
            requester_name: None,
            account_name: None,
        }
    }

    #[test]
    fn plan_patch_lists_changes_and_bumps_version() {
        let p = TicketPatch {
            status: Some(Status::Pending),
            priority: Some(Priority::Urgent),
            add_tags: vec!["VIP".into()],
            remove_tags: vec!["billing".into()],
            assignee_id: Some(Some(AgentId(4))),
            ..Default::default()
        };
        let now = Timestamp::from_second(10).expect("ts");
        let planned = plan_patch(&row(), &p, now).expect("valid");
        assert_eq!(planned.row.version, 4);
        assert_eq!(planned.row.tags, r#"["vip"]"#);
        assert_eq!(planned.newly_assigned, Some(4));
        assert_eq!(
            planned.changes,
            vec![
                "status: open -> pending",
                "priority: normal -> urgent",
                "assignee: none -> 4",
                "tag added: vip",
                "tag removed: billing"
            ]
        );
        assert_eq!(planned.row.log().len(), 2);
    }

    #[test]
    fn empty_or_same_patch_changes_nothing() {
        let now = Timestamp::from_second(10).expect("ts");
        let p = TicketPatch { status: Some(Status::Open), ..Default::default() };
        let planned = plan_patch(&row(), &p, now).expect("valid");
        assert!(planned.changes.is_empty());
        assert_eq!(planned.row.version, 3);
    }

    #[test]
    fn bad_subject_and_tags_are_validation_errors() {
        let now = Timestamp::from_second(10).expect("ts");
        let p = TicketPatch { subject: Some("  ".into()), ..Default::default() };
        assert_eq!(plan_patch(&row(), &p, now).err().map(|e| e.code), Some(ErrorCode::ValidationFailed));
        let p = TicketPatch { add_tags: vec!["two words".into()], ..Default::default() };
        assert_eq!(plan_patch(&row(), &p, now).err().and_then(|e| e.field), Some("add_tags".into()));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor { sort: SortKey::Sla, key: i64::MAX, id: 42 };
        assert_eq!(Cursor::decode(&c.encode(), SortKey::Sla).ok(), Some(c));
        assert!(Cursor::decode(&c.encode(), SortKey::Created).is_err());
        assert!(Cursor::decode("'; DROP TABLE tickets; --", SortKey::Sla).is_err());
        assert_eq!(decode_id_cursor(&encode_id_cursor(9)).ok(), Some(9));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn mentions_are_found() {
        let h = mention_handles("ping @ana and @bob.smith. not an email: x@y.z, @ANA again");
        assert_eq!(h.into_iter().collect::<Vec<_>>(), vec!["ana", "bob.smith"]);
    }
}
