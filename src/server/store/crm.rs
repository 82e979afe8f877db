//! The customer side: contacts, accounts, activities, tasks and entity resolution.
//! CRM records are workspace-wide; the tickets shown in a context are team-scoped.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::FromRow;

use super::{Sql, Store, json_col, ms, ts, ts_opt};
use crate::model::{
    Account, Activity, ActivityKind, Contact, ContactPatch, EntityRef, Health, NewActivity, NewTask, RefKind,
    ResolvedEntity, Task, TaskPatch, Tier,
};
use crate::server::auth::Principal;
use crate::server::error::AppError;

#[derive(FromRow)]
struct ContactRow {
    id: i64,
    name: String,
    email: Option<String>,
    title: Option<String>,
    account_id: Option<i64>,
    slack_user_id: Option<String>,
    tags: String,
    created_at: i64,
}

impl ContactRow {
    fn into_model(self) -> Result<Contact, AppError> {
        Ok(Contact {
            id: self.id.into(),
            name: self.name,
            email: self.email,
            title: self.title,
            account_id: self.account_id.map(Into::into),
            slack_user_id: self.slack_user_id,
            tags: json_col(&self.tags, "contacts.tags")?,
            created_at: ts(self.created_at),
        })
    }
}

const CONTACT_SELECT: &str =
    "SELECT id, name, email, title, account_id, slack_user_id, tags, created_at FROM contacts";

/// Contacts matching `q` (name or email), by id.
pub async fn contacts(
    store: &Store,
    q: Option<&str>,
    account: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> Result<(Vec<Contact>, Option<i64>), AppError> {
    let mut sql = Sql::new(CONTACT_SELECT);
    sql.push(" WHERE id > ").bind(after.unwrap_or(0));
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let mut pat = String::from("%");
        for ch in q.to_lowercase().chars() {
            if matches!(ch, '%' | '_' | '\\') {
                pat.push('\\');
            }
            pat.push(ch);
        }
        pat.push('%');
        sql.push(" AND (lower(name) LIKE ").bind(pat.clone()).push(" ESCAPE '\\'");
        sql.push(" OR lower(COALESCE(email, '')) LIKE ").bind(pat).push(" ESCAPE '\\')");
    }
    if let Some(a) = account {
        sql.push(" AND account_id = ").bind(a);
    }
    sql.push(" ORDER BY id LIMIT ").bind(limit + 1);
    let rows: Vec<ContactRow> = sql.query_as().fetch_all(store.pool()).await?;
    let mut items = rows.into_iter().map(ContactRow::into_model).collect::<Result<Vec<_>, _>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|c| c.id.0)
    } else {
        None
    };
    Ok((items, next))
}

pub async fn contact(store: &Store, id: i64) -> Result<Contact, AppError> {
    let row: Option<ContactRow> = Sql::new(CONTACT_SELECT)
        .push(" WHERE id = ")
        .bind(id)
        .query_as()
        .fetch_optional(store.pool())
        .await?;
    row.ok_or_else(|| AppError::not_found(format!("contact {id}")))?.into_model()
}

pub async fn create_contact(
    store: &Store,
    new: &crate::model::NewContact,
    now: Timestamp,
) -> Result<Contact, AppError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::validation("name", "name must be 1 to 200 characters"));
    }
    if let Some(e) = &new.email
        && (e.len() > 254 || !e.contains('@'))
    {
        return Err(AppError::validation("email", "not an email address"));
    }
    let tags =
        new.tags.iter().map(|t| super::tickets::normalise_tag(t, "tags")).collect::<Result<Vec<_>, _>>()?;
    if let Some(a) = new.account_id {
        account(store, a.0)
            .await
            .map_err(|_| AppError::validation("account_id", format!("no account {a}")))?;
    }
    let mut tx = store.write().await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO contacts (name, email, title, account_id, slack_user_id, tags, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(name)
    .bind(&new.email)
    .bind(&new.title)
    .bind(new.account_id.map(|a| a.0))
    .bind(&new.slack_user_id)
    .bind(serde_json::to_string(&tags).map_err(AppError::internal)?)
    .bind(ms(now))
    .fetch_one(tx.conn())
    .await?;
    tx.event("contact.created", None, None, None, serde_json::json!({"contact_id": id}), now).await?;
    tx.commit(store).await?;
    contact(store, id).await
}

pub async fn patch_contact(
    store: &Store,
    id: i64,
    p: &ContactPatch,
    now: Timestamp,
) -> Result<Contact, AppError> {
    let mut c = contact(store, id).await?;
    if let Some(n) = &p.name {
        let n = n.trim();
        if n.is_empty() || n.chars().count() > 200 {
            return Err(AppError::validation("name", "name must be 1 to 200 characters"));
        }
        c.name = n.to_owned();
    }
    if let Some(e) = &p.email {
        if let Some(e) = e
            && (e.len() > 254 || !e.contains('@'))
        {
            return Err(AppError::validation("email", "not an email address"));
        }
        c.email = e.clone();
    }
    if let Some(t) = &p.title {
        c.title = t.clone();
    }
    if let Some(tags) = &p.tags {
        c.tags =
            tags.iter().map(|t| super::tickets::normalise_tag(t, "tags")).collect::<Result<Vec<_>, _>>()?;
    }
    let mut tx = store.write().await?;
    if let Some(a) = p.account_id {
        if let Some(a) = a {
            let ok: Option<(i64,)> = sqlx::query_as("SELECT id FROM accounts WHERE id = $1")
                .bind(a.0)
                .fetch_optional(tx.conn())
                .await?;
            if ok.is_none() {
                return Err(AppError::validation("account_id", format!("no account {a}")));
            }
        }
        c.account_id = a;
    }
    sqlx::query(
        "UPDATE contacts SET name = $1, email = $2, title = $3, account_id = $4, tags = $5 WHERE id = $6",
    )
    .bind(&c.name)
    .bind(&c.email)
    .bind(&c.title)
    .bind(c.account_id.map(|a| a.0))
    .bind(serde_json::to_string(&c.tags).map_err(AppError::internal)?)
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.event("contact.updated", None, None, None, serde_json::json!({"contact_id": id}), now).await?;
    tx.commit(store).await?;
    Ok(c)
}

#[derive(FromRow)]
struct AccountRow {
    id: i64,
    name: String,
    domain: Option<String>,
    tier: String,
    arr: i64,
    health: String,
    owner_id: Option<i64>,
}

impl AccountRow {
    fn into_model(self) -> Account {
        Account {
            id: self.id.into(),
            name: self.name,
            domain: self.domain,
            tier: self.tier.parse().unwrap_or(Tier::Free),
            arr: self.arr,
            health: self.health.parse().unwrap_or(Health::Good),
            owner_id: self.owner_id.map(Into::into),
        }
    }
}

pub async fn account(store: &Store, id: i64) -> Result<Account, AppError> {
    let row: Option<AccountRow> =
        sqlx::query_as("SELECT id, name, domain, tier, arr, health, owner_id FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
    Ok(row.ok_or_else(|| AppError::not_found(format!("account {id}")))?.into_model())
}

pub async fn account_contacts(store: &Store, account: i64) -> Result<Vec<Contact>, AppError> {
    let rows: Vec<ContactRow> = Sql::new(CONTACT_SELECT)
        .push(" WHERE account_id = ")
        .bind(account)
        .push(" ORDER BY name, id LIMIT 200")
        .query_as()
        .fetch_all(store.pool())
        .await?;
    rows.into_iter().map(ContactRow::into_model).collect()
}

#[derive(FromRow)]
struct ActivityRow {
    id: i64,
    kind: String,
    summary: String,
    at: i64,
    contact_id: Option<i64>,
    account_id: Option<i64>,
    agent_id: Option<i64>,
}

impl ActivityRow {
    fn into_model(self) -> Activity {
        Activity {
            id: self.id.into(),
            kind: self.kind.parse().unwrap_or(ActivityKind::Note),
            summary: self.summary,
            at: ts(self.at),
            contact_id: self.contact_id.map(Into::into),
            account_id: self.account_id.map(Into::into),
            agent_id: self.agent_id.map(Into::into),
        }
    }
}

/// Recent activities on a contact or an account (an account's includes its contacts').
pub async fn activities(
    store: &Store,
    contact: Option<i64>,
    account: Option<i64>,
) -> Result<Vec<Activity>, AppError> {
    let mut sql =
        Sql::new("SELECT id, kind, summary, at, contact_id, account_id, agent_id FROM activities WHERE ");
    match (contact, account) {
        (Some(c), _) => sql.push("contact_id = ").bind(c),
        (None, Some(a)) => sql
            .push("account_id = ")
            .bind(a)
            .push(" OR contact_id IN (SELECT id FROM contacts WHERE account_id = ")
            .bind(a)
            .push(")"),
        (None, None) => sql.push("1 = 0"),
    };
    sql.push(" ORDER BY at DESC, id DESC LIMIT 20");
    let rows: Vec<ActivityRow> = sql.query_as().fetch_all(store.pool()).await?;
    Ok(rows.into_iter().map(ActivityRow::into_model).collect())
}

pub async fn create_activity(
    store: &Store,
    who: &Principal,
    new: &NewActivity,
    now: Timestamp,
) -> Result<Activity, AppError> {
    let summary = new.summary.trim();
    if summary.is_empty() || summary.chars().count() > 10_000 {
        return Err(AppError::validation("summary", "summary must be 1 to 10000 characters"));
    }
    if new.contact_id.is_none() && new.account_id.is_none() {
        return Err(AppError::validation("contact_id", "an activity is on a contact, an account, or both"));
    }
    if let Some(c) = new.contact_id {
        contact(store, c.0)
            .await
            .map_err(|_| AppError::validation("contact_id", format!("no contact {c}")))?;
    }
    if let Some(a) = new.account_id {
        account(store, a.0)
            .await
            .map_err(|_| AppError::validation("account_id", format!("no account {a}")))?;
    }
    let at = new.at.unwrap_or(now);
    let mut tx = store.write().await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO activities (kind, summary, at, contact_id, account_id, agent_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(new.kind.as_str())
    .bind(summary)
    .bind(ms(at))
    .bind(new.contact_id.map(|c| c.0))
    .bind(new.account_id.map(|a| a.0))
    .bind(who.agent_id)
    .fetch_one(tx.conn())
    .await?;
    tx.event(
        "activity.created",
        None,
        None,
        None,
        serde_json::json!({"activity_id": id, "contact_id": new.contact_id, "account_id": new.account_id}),
        now,
    )
    .await?;
    tx.commit(store).await?;
    Ok(Activity {
        id: id.into(),
        kind: new.kind,
        summary: summary.to_owned(),
        at,
        contact_id: new.contact_id,
        account_id: new.account_id,
        agent_id: Some(who.agent_id.into()),
    })
}

#[derive(FromRow)]
struct TaskRow {
    id: i64,
    title: String,
    due_at: Option<i64>,
    assignee_id: Option<i64>,
    done: i64,
    ticket_id: Option<i64>,
    contact_id: Option<i64>,
    account_id: Option<i64>,
    created_at: i64,
}

impl TaskRow {
    fn into_model(self) -> Task {
        Task {
            id: self.id.into(),
            title: self.title,
            due_at: ts_opt(self.due_at),
            assignee_id: self.assignee_id.map(Into::into),
            done: self.done != 0,
            ticket_id: self.ticket_id.map(Into::into),
            contact_id: self.contact_id.map(Into::into),
            account_id: self.account_id.map(Into::into),
            created_at: ts(self.created_at),
        }
    }
}

const TASK_SELECT: &str =
    "SELECT id, title, due_at, assignee_id, done, ticket_id, contact_id, account_id, created_at FROM tasks";

#[derive(Debug, Default)]
pub struct TaskQuery {
    pub assignee: Option<i64>,
    pub done: Option<bool>,
    pub ticket: Option<i64>,
    pub contact: Option<i64>,
    pub account: Option<i64>,
}

pub async fn tasks(
    store: &Store,
    q: &TaskQuery,
    after: Option<i64>,
    limit: i64,
) -> Result<(Vec<Task>, Option<i64>), AppError> {
    let mut sql = Sql::new(TASK_SELECT);
    sql.push(" WHERE id > ").bind(after.unwrap_or(0));
    if let Some(a) = q.assignee {
        sql.push(" AND assignee_id = ").bind(a);
    }
    if let Some(d) = q.done {
        sql.push(" AND done = ").bind(i64::from(d));
    }
    if let Some(t) = q.ticket {
        sql.push(" AND ticket_id = ").bind(t);
    }
    if let Some(c) = q.contact {
        sql.push(" AND contact_id = ").bind(c);
    }
    if let Some(a) = q.account {
        sql.push(" AND account_id = ").bind(a);
    }
    sql.push(" ORDER BY id LIMIT ").bind(limit + 1);
    let rows: Vec<TaskRow> = sql.query_as().fetch_all(store.pool()).await?;
    let mut items: Vec<Task> = rows.into_iter().map(TaskRow::into_model).collect();
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|t| t.id.0)
    } else {
        None
    };
    Ok((items, next))
}

/// Open tasks on a contact, or on an account and its contacts.
pub async fn open_tasks(
    store: &Store,
    contact: Option<i64>,
    account: Option<i64>,
) -> Result<Vec<Task>, AppError> {
    let mut sql = Sql::new(TASK_SELECT);
    sql.push(" WHERE done = 0 AND (");
    match (contact, account) {
        (Some(c), _) => sql.push("contact_id = ").bind(c),
        (None, Some(a)) => sql
            .push("account_id = ")
            .bind(a)
            .push(" OR contact_id IN (SELECT id FROM contacts WHERE account_id = ")
            .bind(a)
            .push(")"),
        (None, None) => sql.push("1 = 0"),
    };
    sql.push(") ORDER BY due_at, id LIMIT 50");
    let rows: Vec<TaskRow> = sql.query_as().fetch_all(store.pool()).await?;
    Ok(rows.into_iter().map(TaskRow::into_model).collect())
}

pub async fn task(store: &Store, id: i64) -> Result<Task, AppError> {
    let row: Option<TaskRow> =
        Sql::new(TASK_SELECT).push(" WHERE id = ").bind(id).query_as().fetch_optional(store.pool()).await?;
    Ok(row.ok_or_else(|| AppError::not_found(format!("task {id}")))?.into_model())
}

async fn check_links(
    store: &Store,
    who: &Principal,
    assignee: Option<i64>,
    ticket: Option<i64>,
    contact_id: Option<i64>,
    account_id: Option<i64>,
) -> Result<(), AppError> {
    if let Some(a) = assignee {
        let ok: Option<(i64,)> = sqlx::query_as("SELECT id FROM agents WHERE id = $1")
            .bind(a)
            .fetch_optional(store.pool())
            .await?;
        if ok.is_none() {
            return Err(AppError::validation("assignee_id", format!("no agent {a}")));
        }
    }
    if let Some(t) = ticket {
        super::tickets::get_visible(store, who, t)
            .await
            .map_err(|_| AppError::validation("ticket_id", format!("no ticket #{t} you can see")))?;
    }
    if let Some(c) = contact_id {
        contact(store, c).await.map_err(|_| AppError::validation("contact_id", format!("no contact {c}")))?;
    }
    if let Some(a) = account_id {
        account(store, a).await.map_err(|_| AppError::validation("account_id", format!("no account {a}")))?;
    }
    Ok(())
}

pub async fn create_task(
    store: &Store,
    who: &Principal,
    new: &NewTask,
    now: Timestamp,
) -> Result<Task, AppError> {
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 500 {
        return Err(AppError::validation("title", "title must be 1 to 500 characters"));
    }
    let (t, c, a) = (new.ticket_id.map(|x| x.0), new.contact_id.map(|x| x.0), new.account_id.map(|x| x.0));
    let assignee = new.assignee_id.map(|x| x.0);
    check_links(store, who, assignee, t, c, a).await?;
    let mut tx = store.write().await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO tasks (title, due_at, assignee_id, done, ticket_id, contact_id, account_id, created_at) \
         VALUES ($1, $2, $3, 0, $4, $5, $6, $7) RETURNING id",
    )
    .bind(title)
    .bind(new.due_at.map(ms))
    .bind(assignee)
    .bind(t)
    .bind(c)
    .bind(a)
    .bind(ms(now))
    .fetch_one(tx.conn())
    .await?;
    tx.event("task.created", t, None, None, serde_json::json!({"task_id": id}), now).await?;
    tx.commit(store).await?;
    task(store, id).await
}

pub async fn patch_task(
    store: &Store,
    who: &Principal,
    id: i64,
    p: &TaskPatch,
    now: Timestamp,
) -> Result<Task, AppError> {
    let mut t = task(store, id).await?;
    if let Some(title) = &p.title {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 500 {
            return Err(AppError::validation("title", "title must be 1 to 500 characters"));
        }
        t.title = title.to_owned();
    }
    if let Some(d) = p.due_at {
        t.due_at = d;
    }
    if let Some(a) = p.assignee_id {
        check_links(store, who, a.map(|a| a.0), None, None, None).await?;
        t.assignee_id = a;
    }
    if let Some(d) = p.done {
        t.done = d;
    }
    let mut tx = store.write().await?;
    sqlx::query("UPDATE tasks SET title = $1, due_at = $2, assignee_id = $3, done = $4 WHERE id = $5")
        .bind(&t.title)
        .bind(t.due_at.map(ms))
        .bind(t.assignee_id.map(|a| a.0))
        .bind(i64::from(t.done))
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.event("task.updated", t.ticket_id.map(|x| x.0), None, None, serde_json::json!({"task_id": id}), now)
        .await?;
    tx.commit(store).await?;
    Ok(t)
}

/// Resolves many references with one query per kind.
pub async fn resolve(store: &Store, refs: &[EntityRef]) -> Result<Vec<ResolvedEntity>, AppError> {
    let mut found: HashMap<(RefKind, String), (String, i64)> = HashMap::new();
    let numeric = |kind: RefKind| -> Vec<i64> {
        refs.iter().filter(|r| r.kind == kind).filter_map(|r| r.id.trim().parse().ok()).collect()
    };
    for (kind, table) in
        [(RefKind::Contact, "contacts"), (RefKind::Agent, "agents"), (RefKind::Account, "accounts")]
    {
        let ids = numeric(kind);
        if ids.is_empty() {
            continue;
        }
        let mut sql = Sql::new("SELECT id, name FROM ");
        sql.push(table).push(" WHERE id IN ").bind_list(&ids);
        let rows: Vec<(i64, String)> = sql.query_as().fetch_all(store.pool()).await?;
        for (id, name) in rows {
            found.insert((kind, id.to_string()), (name, id));
        }
    }
    let slack: Vec<String> =
        refs.iter().filter(|r| r.kind == RefKind::SlackUser).map(|r| r.id.clone()).collect();
    if !slack.is_empty() {
        let mut sql = Sql::new("SELECT slack_user_id, name, id FROM contacts WHERE slack_user_id IN ");
        sql.bind_list(&slack);
        let rows: Vec<(String, String, i64)> = sql.query_as().fetch_all(store.pool()).await?;
        for (sid, name, id) in rows {
            found.insert((RefKind::SlackUser, sid), (name, id));
        }
    }
    Ok(refs
        .iter()
        .map(|r| {
            let hit = found.get(&(r.kind, r.id.trim().to_owned()));
            ResolvedEntity {
                kind: r.kind,
                id: r.id.clone(),
                label: hit.map(|h| h.0.clone()),
                desk_id: hit.map(|h| h.1),
            }
        })
        .collect())
}
