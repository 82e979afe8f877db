//! Admin routes and storage of Slack workspaces (signing secrets, bot tokens) and of the
//! channel-to-team mapping.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sqlx::FromRow;

use crate::model::{ApiErrorEnvelope, Page, SlackChannelMapping, SlackWorkspace};
use crate::server::AppState;
use crate::server::auth::Principal;
use crate::server::error::AppError;
use crate::server::extract::ApiJson;
use crate::server::store::{Store, ms};

pub fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Result<Response, AppError> {
    let body = serde_json::to_vec(v).map_err(AppError::internal)?;
    Ok((status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}

const REDACTED: &str = "***";

#[derive(Debug, Clone, FromRow)]
pub struct WorkspaceRow {
    pub slack_team_id: String,
    pub name: String,
    pub signing_secret: String,
    pub bot_token: String,
    pub bot_user_id: Option<String>,
    pub bot_id: Option<String>,
    pub ignore_bots: i64,
}

impl WorkspaceRow {
    fn redacted(self) -> SlackWorkspace {
        SlackWorkspace {
            slack_team_id: self.slack_team_id,
            name: self.name,
            signing_secret: REDACTED.into(),
            bot_token: REDACTED.into(),
            bot_user_id: self.bot_user_id,
            bot_id: self.bot_id,
            ignore_bots: self.ignore_bots != 0,
        }
    }

    pub fn identity(&self) -> super::envelope::Identity {
        super::envelope::Identity {
            bot_user_id: self.bot_user_id.clone(),
            bot_id: self.bot_id.clone(),
            ignore_bots: self.ignore_bots != 0,
        }
    }
}

const WS_SELECT: &str = "SELECT slack_team_id, name, signing_secret, bot_token, bot_user_id, bot_id, ignore_bots FROM slack_workspaces";

pub async fn workspaces(store: &Store) -> Result<Vec<WorkspaceRow>, AppError> {
    let q = format!("{WS_SELECT} ORDER BY slack_team_id");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(q)).fetch_all(store.pool()).await?)
}

pub async fn workspace(store: &Store, team: &str) -> Result<Option<WorkspaceRow>, AppError> {
    let q = format!("{WS_SELECT} WHERE slack_team_id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(q)).bind(team).fetch_optional(store.pool()).await?)
}

/// The team a channel's tickets go to: the mapping, else the workspace's first team.
pub async fn team_for_channel(
    conn: &mut sqlx::AnyConnection,
    channel: &str,
) -> Result<Option<i64>, AppError> {
    let (t,): (Option<i64>,) = sqlx::query_as(
        "SELECT COALESCE((SELECT team_id FROM slack_channels WHERE channel_id = $1), (SELECT MIN(id) FROM teams))",
    )
    .bind(channel)
    .fetch_one(conn)
    .await?;
    Ok(t)
}

fn check_id(field: &str, v: &str) -> Result<(), AppError> {
    if v.is_empty() || v.len() > 64 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(AppError::validation(field, "a Slack id: letters and digits, like T0123ABC"));
    }
    Ok(())
}

/// Admin: the configured Slack workspaces (secrets shown as `***`).
#[utoipa::path(get, path = "/api/v1/integrations/slack/workspaces", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Page<SlackWorkspace>), (status = 403, body = ApiErrorEnvelope)))]
pub async fn list_workspaces(State(app): State<AppState>, who: Principal) -> Result<Response, AppError> {
    who.require_admin()?;
    let items = workspaces(&app.store).await?.into_iter().map(WorkspaceRow::redacted).collect();
    json(StatusCode::OK, &Page { items, next: None })
}

/// Admin: adds or replaces a Slack workspace. A `signing_secret` or `bot_token` of `***` keeps
/// the stored value.
#[utoipa::path(put, path = "/api/v1/integrations/slack/workspaces/{slack_team_id}", tag = "admin", security(("bearer" = [])),
    params(("slack_team_id" = String, Path, description = "Slack team id, T...")),
    request_body = SlackWorkspace,
    responses((status = 200, body = SlackWorkspace), (status = 403, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn put_workspace(
    State(app): State<AppState>,
    who: Principal,
    Path(team): Path<String>,
    body: ApiJson<SlackWorkspace>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let w = body.value;
    check_id("slack_team_id", &team)?;
    if w.slack_team_id != team {
        return Err(AppError::validation("slack_team_id", "must equal the team id in the path"));
    }
    let old = workspace(&app.store, &team).await?;
    let keep = |given: &str, old: Option<&str>, field: &str| -> Result<String, AppError> {
        match (given, old) {
            (REDACTED, Some(o)) => Ok(o.to_owned()),
            (g, _) if g.trim().is_empty() || g == REDACTED => Err(AppError::validation(field, "required")),
            (g, _) => Ok(g.trim().to_owned()),
        }
    };
    let secret = keep(&w.signing_secret, old.as_ref().map(|o| o.signing_secret.as_str()), "signing_secret")?;
    let token = keep(&w.bot_token, old.as_ref().map(|o| o.bot_token.as_str()), "bot_token")?;
    let mut tx = app.store.write().await?;
    sqlx::query(
        "INSERT INTO slack_workspaces (slack_team_id, name, signing_secret, bot_token, bot_user_id, bot_id, ignore_bots, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (slack_team_id) DO UPDATE SET name = excluded.name, \
         signing_secret = excluded.signing_secret, bot_token = excluded.bot_token, bot_user_id = excluded.bot_user_id, \
         bot_id = excluded.bot_id, ignore_bots = excluded.ignore_bots",
    )
    .bind(&team)
    .bind(&w.name)
    .bind(&secret)
    .bind(&token)
    .bind(&w.bot_user_id)
    .bind(&w.bot_id)
    .bind(i64::from(w.ignore_bots))
    .bind(ms(app.now()))
    .execute(tx.conn())
    .await?;
    tx.commit(&app.store).await?;
    let row = workspace(&app.store, &team).await?.ok_or_else(|| AppError::internal("workspace vanished"))?;
    json(StatusCode::OK, &row.redacted())
}

/// Admin: removes a Slack workspace (its events are then rejected).
#[utoipa::path(delete, path = "/api/v1/integrations/slack/workspaces/{slack_team_id}", tag = "admin", security(("bearer" = [])),
    params(("slack_team_id" = String, Path, description = "Slack team id, T...")),
    responses((status = 204), (status = 404, body = ApiErrorEnvelope)))]
pub async fn delete_workspace(
    State(app): State<AppState>,
    who: Principal,
    Path(team): Path<String>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let mut tx = app.store.write().await?;
    let done = sqlx::query("DELETE FROM slack_workspaces WHERE slack_team_id = $1")
        .bind(&team)
        .execute(tx.conn())
        .await?;
    tx.commit(&app.store).await?;
    if done.rows_affected() == 0 {
        return Err(AppError::not_found(format!("Slack workspace {team}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Admin: the channel-to-team mapping.
#[utoipa::path(get, path = "/api/v1/integrations/slack/channels", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Page<SlackChannelMapping>), (status = 403, body = ApiErrorEnvelope)))]
pub async fn list_channels(State(app): State<AppState>, who: Principal) -> Result<Response, AppError> {
    who.require_admin()?;
    let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT channel_id, slack_team_id, team_id, name FROM slack_channels ORDER BY channel_id",
    )
    .fetch_all(app.store.pool())
    .await?;
    let items = rows
        .into_iter()
        .map(|(channel_id, slack_team_id, team, name)| SlackChannelMapping {
            channel_id,
            slack_team_id,
            team_id: team.into(),
            name,
        })
        .collect();
    json(StatusCode::OK, &Page { items, next: None })
}

/// Admin: maps a Slack channel to a desk team (new tickets from it go there).
#[utoipa::path(put, path = "/api/v1/integrations/slack/channels/{channel_id}", tag = "admin", security(("bearer" = [])),
    params(("channel_id" = String, Path, description = "Slack channel id, C...")),
    request_body = SlackChannelMapping,
    responses((status = 200, body = SlackChannelMapping), (status = 403, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn put_channel(
    State(app): State<AppState>,
    who: Principal,
    Path(channel): Path<String>,
    body: ApiJson<SlackChannelMapping>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let m = body.value;
    check_id("channel_id", &channel)?;
    check_id("slack_team_id", &m.slack_team_id)?;
    if m.channel_id != channel {
        return Err(AppError::validation("channel_id", "must equal the channel id in the path"));
    }
    let mut tx = app.store.write().await?;
    let team: Option<(i64,)> = sqlx::query_as("SELECT id FROM teams WHERE id = $1")
        .bind(m.team_id.0)
        .fetch_optional(tx.conn())
        .await?;
    if team.is_none() {
        return Err(AppError::validation("team_id", format!("no team {}", m.team_id.0)));
    }
    sqlx::query(
        "INSERT INTO slack_channels (channel_id, slack_team_id, team_id, name) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (channel_id) DO UPDATE SET slack_team_id = excluded.slack_team_id, team_id = excluded.team_id, name = excluded.name",
    )
    .bind(&channel)
    .bind(&m.slack_team_id)
    .bind(m.team_id.0)
    .bind(&m.name)
    .execute(tx.conn())
    .await?;
    tx.commit(&app.store).await?;
    json(StatusCode::OK, &m)
}

/// Admin: removes a channel mapping (its new threads then go to the first team).
#[utoipa::path(delete, path = "/api/v1/integrations/slack/channels/{channel_id}", tag = "admin", security(("bearer" = [])),
    params(("channel_id" = String, Path, description = "Slack channel id, C...")),
    responses((status = 204), (status = 404, body = ApiErrorEnvelope)))]
pub async fn delete_channel(
    State(app): State<AppState>,
    who: Principal,
    Path(channel): Path<String>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let mut tx = app.store.write().await?;
    let done = sqlx::query("DELETE FROM slack_channels WHERE channel_id = $1")
        .bind(&channel)
        .execute(tx.conn())
        .await?;
    tx.commit(&app.store).await?;
    if done.rows_affected() == 0 {
        return Err(AppError::not_found(format!("Slack channel mapping {channel}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
