//! Storage: one API over SQLite and PostgreSQL.
//!
//! Design: sqlx's `Any` driver gives one pool type over both databases, and the schema is
//! written so that the same SQL works on both (timestamps are Unix milliseconds in integer
//! columns, JSON lives in text columns, `$N` placeholders). Where the dialects differ
//! (row locks, advisory locks, `NOTIFY`) a [`Dialect`] branch picks the statement.
//!
//! Writes go through [`Store::write`], which returns a [`WriteTx`]: on SQLite it holds the
//! process-wide writer lock and starts `BEGIN IMMEDIATE` (one writer at a time, no
//! `SQLITE_BUSY` upgrades mid-transaction); on PostgreSQL it is a plain transaction that takes
//! an advisory lock before writing its first event, so event ids become visible in id order
//! (a reader that has seen id N never later finds an id below N appear).

pub mod crm;
pub mod tickets;
pub mod workspace;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Executor, FromRow, SqlSafeStr, Transaction};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

use super::error::AppError;
use crate::model::Event;

/// The migrations of each dialect, embedded at build time (`migrations/<dialect>/NNNN_name.sql`).
/// Listed by hand because `sqlx::migrate!` needs sqlx's `macros` feature, which we do not build.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../../migrations/sqlite/0001_init.sql")),
    (2, "covering queue indexes", include_str!("../../../migrations/sqlite/0002_covering_queue_indexes.sql")),
    (3, "slack", include_str!("../../../migrations/sqlite/0003_slack.sql")),
    (4, "assignee queue index", include_str!("../../../migrations/sqlite/0004_assignee_queue_index.sql")),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../../migrations/postgres/0001_init.sql")),
    (
        2,
        "covering queue indexes",
        include_str!("../../../migrations/postgres/0002_covering_queue_indexes.sql"),
    ),
    (3, "slack", include_str!("../../../migrations/postgres/0003_slack.sql")),
    (4, "assignee queue index", include_str!("../../../migrations/postgres/0004_assignee_queue_index.sql")),
];

fn migrator(list: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|(v, d, sql)| {
                sqlx::migrate::Migration::new(
                    *v,
                    (*d).into(),
                    sqlx::migrate::MigrationType::Simple,
                    sqlx::AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The PostgreSQL channel that carries new event ids between instances.
pub const NOTIFY_CHANNEL: &str = "desk_events";
/// Advisory lock key that serialises event-writing transactions on PostgreSQL.
const EVENT_LOCK_KEY: i64 = 0x6465_736b; // "desk"

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    url: String,
    /// SQLite: one writer at a time inside this process (other processes wait on busy_timeout).
    writer: Arc<Mutex<()>>,
    /// Wakes the event fan-out after a commit that wrote events.
    pub(crate) events_written: Arc<Notify>,
}

/// Milliseconds since the Unix epoch, the storage form of every timestamp.
pub fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub fn ts_opt(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(ts)
}

/// Normalises a `--db` value into a sqlx URL, creating the SQLite file's directory.
fn normalise_url(url: &str) -> Result<(Dialect, String), String> {
    if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = rest.split('?').next().unwrap_or(rest);
        if path.is_empty() || path == ":memory:" {
            return Err("an in-memory SQLite database cannot be shared by a pool; give a file path".into());
        }
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create directory {}: {e}", parent.display()))?;
        }
        Ok((Dialect::Sqlite, format!("sqlite://{path}?mode=rwc")))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Dialect::Postgres, url.to_owned()))
    } else {
        Err(format!("unsupported database URL `{url}`; use sqlite://PATH or postgres://..."))
    }
}

impl Store {
    /// Connects, configures SQLite (WAL, busy_timeout, foreign keys) and runs the migrations.
    pub async fn open(url: &str) -> Result<Store, String> {
        sqlx::any::install_default_drivers();
        let (dialect, url) = normalise_url(url)?;
        let opts = AnyConnectOptions::from_str(&url).map_err(|e| format!("bad database URL: {e}"))?;
        let max = match dialect {
            Dialect::Sqlite => 8,
            Dialect::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(|e| format!("cannot connect to the database: {e}"))?;
        let migrator = migrator(match dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS,
            Dialect::Postgres => POSTGRES_MIGRATIONS,
        });
        migrator.run(&pool).await.map_err(|e| format!("database migration failed: {e}"))?;
        Ok(Store {
            pool,
            dialect,
            url,
            writer: Arc::new(Mutex::new(())),
            events_written: Arc::new(Notify::new()),
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Starts a write transaction (see the module docs for the locking).
    pub async fn write(&self) -> Result<WriteTx, AppError> {
        let (guard, tx) = match self.dialect {
            Dialect::Sqlite => {
                let guard = self.writer.clone().lock_owned().await;
                (Some(guard), self.pool.begin_with("BEGIN IMMEDIATE").await?)
            }
            Dialect::Postgres => (None, self.pool.begin().await?),
        };
        Ok(WriteTx { tx, _guard: guard, dialect: self.dialect, wrote_events: false, locked: false })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Events with `id > after`, oldest first.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<Event>, AppError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT id, kind, ticket_id, team_id, agent_id, at, data FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(EventRow::into_event).collect())
    }

    /// `(agent_id, event)` pairs: agent-targeted events carry the agent they are for.
    pub async fn events_after_with_target(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(Option<i64>, Event)>, AppError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT id, kind, ticket_id, team_id, agent_id, at, data FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.agent_id, r.into_event())).collect())
    }

    pub async fn last_event_id(&self) -> Result<i64, AppError> {
        let (id,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(id) FROM events").fetch_one(&self.pool).await?;
        Ok(id.unwrap_or(0))
    }

    /// The highest event id that has been pruned: a `Last-Event-ID` below it cannot be replayed.
    pub async fn event_floor(&self) -> Result<i64, AppError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM meta WHERE meta_key = 'event_floor'")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|(v,)| v.parse().ok()).unwrap_or(0))
    }

    /// Deletes events older than `before` and records the new floor.
    pub async fn prune_events(&self, before: Timestamp) -> Result<u64, AppError> {
        let mut tx = self.write().await?;
        let (max,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM events WHERE at < $1")
            .bind(ms(before))
            .fetch_one(tx.conn())
            .await?;
        let Some(max) = max else {
            tx.commit(self).await?;
            return Ok(0);
        };
        let done = sqlx::query("DELETE FROM events WHERE id <= $1").bind(max).execute(tx.conn()).await?;
        sqlx::query(
            "INSERT INTO meta (meta_key, value) VALUES ('event_floor', $1) \
             ON CONFLICT (meta_key) DO UPDATE SET value = excluded.value",
        )
        .bind(max.to_string())
        .execute(tx.conn())
        .await?;
        tx.commit(self).await?;
        Ok(done.rows_affected())
    }
}

/// A write transaction; see the module docs.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _guard: Option<OwnedMutexGuard<()>>,
    dialect: Dialect,
    wrote_events: bool,
    locked: bool,
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// `FOR UPDATE` where the database has row locks (SQLite's IMMEDIATE transaction already
    /// excludes other writers).
    pub fn for_update(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE OF t",
        }
    }

    /// Appends one row to the event log and returns its id.
    pub async fn event(
        &mut self,
        kind: &str,
        ticket_id: Option<i64>,
        team_id: Option<i64>,
        agent_id: Option<i64>,
        data: serde_json::Value,
        now: Timestamp,
    ) -> Result<i64, AppError> {
        if self.dialect == Dialect::Postgres && !self.locked {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(EVENT_LOCK_KEY)
                .execute(&mut *self.tx)
                .await?;
            self.locked = true;
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO events (kind, ticket_id, team_id, agent_id, at, data) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(kind)
        .bind(ticket_id)
        .bind(team_id)
        .bind(agent_id)
        .bind(ms(now))
        .bind(data.to_string())
        .fetch_one(&mut *self.tx)
        .await?;
        if self.dialect == Dialect::Postgres {
            // Delivered at commit; carries only the id, readers re-read the table.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(NOTIFY_CHANNEL)
                .bind(id.to_string())
                .execute(&mut *self.tx)
                .await?;
        }
        self.wrote_events = true;
        Ok(id)
    }

    pub async fn commit(mut self, store: &Store) -> Result<(), AppError> {
        // Inside a request under an Idempotency-Key this records, atomically with the write,
        // that the request was applied (or refuses the commit if a retry took the key over).
        workspace::mark_applied(&mut self.tx).await?;
        let wrote = self.wrote_events;
        self.tx.commit().await?;
        if wrote {
            store.events_written.notify_one();
        }
        Ok(())
    }
}

#[derive(Debug, FromRow)]
struct EventRow {
    id: i64,
    kind: String,
    ticket_id: Option<i64>,
    team_id: Option<i64>,
    agent_id: Option<i64>,
    at: i64,
    data: String,
}

impl EventRow {
    fn into_event(self) -> Event {
        Event {
            id: self.id,
            kind: self.kind,
            ticket_id: self.ticket_id.map(Into::into),
            team_id: self.team_id.map(Into::into),
            at: ts(self.at),
            data: serde_json::from_str(&self.data).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// Parses a JSON text column, naming the column when the stored text is corrupt.
pub fn json_col<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> Result<T, AppError> {
    serde_json::from_str(text).map_err(|e| AppError::internal(format!("corrupt {column} column: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised() {
        assert_eq!(normalise_url("postgres://u@h/db").map(|x| x.0), Ok(Dialect::Postgres));
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a/b.db");
        let (d, u) = normalise_url(&format!("sqlite://{}", p.display())).expect("sqlite url");
        assert_eq!(d, Dialect::Sqlite);
        assert!(u.ends_with("b.db?mode=rwc"));
        assert!(p.parent().is_some_and(|d| d.exists()));
        assert!(normalise_url("mysql://x").is_err());
        assert!(normalise_url("sqlite::memory:").is_err());
    }

    #[test]
    fn positional_placeholders_only_on_sqlite() {
        let mut q = Sql::positional("INSERT INTO t (a, b) VALUES ", Dialect::Sqlite);
        q.push("(").bind(1).push(", ").bind("x").push(")");
        assert_eq!(q.text, "INSERT INTO t (a, b) VALUES (?, ?)");
        let mut q = Sql::positional("INSERT INTO t (a, b) VALUES ", Dialect::Postgres);
        q.push("(").bind(1).push(", ").bind("x").push(")");
        assert_eq!(q.text, "INSERT INTO t (a, b) VALUES ($1, $2)");
    }
}

/// A bound value of a dynamically built statement.
#[derive(Debug, Clone)]
pub enum Val {
    I(i64),
    S(String),
    NullI,
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::I(v)
    }
}

impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Val::NullI, Val::I)
    }
}

impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::S(v)
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::S(v.to_owned())
    }
}

/// A dynamically built statement in which every value is bound, never spliced.
///
/// sqlx's `QueryBuilder<Any>` writes `?` placeholders, which PostgreSQL rejects; this builder
/// writes `$N`, which both databases accept. Only fixed SQL fragments (from allow-lists in
/// this module) are ever pushed as text.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    args: Vec<Val>,
    anonymous: bool,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql { text: text.to_owned(), args: Vec::new(), anonymous: false }
    }

    /// A statement with anonymous `?` placeholders where the dialect takes them (SQLite), for
    /// statements with thousands of values such as multi-row INSERTs. sqlx asks SQLite for the
    /// name of every `$N` parameter when it binds, and SQLite finds a name by a linear scan, so
    /// binding n named parameters costs O(n^2) on every execution; anonymous ones are bound by
    /// position. Each value must then appear once, in order (as `bind` writes them).
    pub fn positional(text: &str, dialect: Dialect) -> Self {
        Sql { text: text.to_owned(), args: Vec::new(), anonymous: dialect == Dialect::Sqlite }
    }

    pub fn push(&mut self, fragment: &str) -> &mut Self {
        self.text.push_str(fragment);
        self
    }

    pub fn bind(&mut self, v: impl Into<Val>) -> &mut Self {
        self.args.push(v.into());
        if self.anonymous {
            self.text.push('?');
        } else {
            self.text.push('$');
            self.text.push_str(&self.args.len().to_string());
        }
        self
    }

    /// `(v1, v2, ...)`; an empty list becomes `(NULL)`, which matches nothing.
    pub fn bind_list<T: Into<Val> + Clone>(&mut self, vs: &[T]) -> &mut Self {
        self.push("(");
        if vs.is_empty() {
            self.push("NULL");
        }
        for (i, v) in vs.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v.clone());
        }
        self.push(")")
    }

    pub fn query_as<T>(&self) -> sqlx::query::QueryAs<'static, Any, T, sqlx::any::AnyArguments>
    where
        T: for<'r> FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Val::I(i) => q.bind(*i),
                Val::S(s) => q.bind(s.clone()),
                Val::NullI => q.bind(None::<i64>),
            };
        }
        q
    }

    pub fn query(&self) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Val::I(i) => q.bind(*i),
                Val::S(s) => q.bind(s.clone()),
                Val::NullI => q.bind(None::<i64>),
            };
        }
        q
    }
}
