//! The HTTP API (DESIGN §3): routes, handlers and their OpenAPI descriptions.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use sha2::{Digest, Sha256};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use super::AppState;
use super::auth::Principal;
use super::error::{AppError, envelope};
use super::extract::{ApiJson, IdempotencyKey, IfMatch, PathId, PathIds, QueryPairs};
use super::glue;
use super::store::workspace::{Claim, StoredResponse};
use super::store::{crm, tickets, workspace};
use crate::model::*;

/// Request bodies over this size are refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let state_for_metrics = state.clone();
    let authed = Router::new()
        .route("/me", get(me))
        .route("/tickets", get(list_tickets).post(create_ticket))
        .route("/tickets/bulk", post(bulk_update))
        .route("/tickets/{id}", get(get_ticket).patch(patch_ticket))
        .route("/tickets/{id}/messages", get(list_messages).post(create_message))
        .route("/tickets/{id}/merge", post(merge_ticket))
        .route("/tickets/{id}/macros/{macro_id}", post(apply_macro))
        .route("/tickets/{id}/presence", get(get_presence).post(post_presence).delete(delete_presence))
        .route("/views", get(list_views))
        .route("/macros", get(list_macros))
        .route("/teams", get(list_teams).post(create_team))
        .route("/agents", get(list_agents).post(create_agent))
        .route("/tokens", post(create_token))
        .route("/sla-policies", get(get_sla_policies).put(put_sla_policies))
        .route("/contacts", get(list_contacts).post(create_contact))
        .route("/contacts/{id}", get(get_contact).patch(patch_contact))
        .route("/contacts/{id}/context", get(contact_context))
        .route("/accounts/{id}", get(get_account))
        .route("/accounts/{id}/context", get(account_context))
        .route("/activities", post(create_activity))
        .route("/tasks", get(list_tasks).post(create_task))
        .route("/tasks/{id}", axum::routing::patch(patch_task))
        .route("/resolve", post(resolve))
        .route("/notifications", get(list_notifications))
        .route("/notifications/{id}/read", post(read_notification))
        .route("/events", get(events))
        .merge(super::metrics::admin_routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), super::auth::authenticate))
        .route_layer(middleware::from_fn(detach_idempotent));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/openapi.json", get(openapi_json))
        .merge(super::metrics::public_routes())
        .nest("/api/v1", authed)
        .fallback(not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn(envelope))
        .layer(middleware::from_fn_with_state(state_for_metrics, super::metrics::count))
}

async fn not_found() -> AppError {
    AppError::not_found("route")
}

fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Result<Response, AppError> {
    let body = serde_json::to_vec(v).map_err(AppError::internal)?;
    Ok((status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}

fn with_etag(mut res: Response, version: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// A version tag for resources without a version column: a digest of their JSON.
fn digest_version<T: serde::Serialize>(v: &T) -> String {
    let text = serde_json::to_string(v).unwrap_or_default();
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

fn check_if_match<T: serde::Serialize>(current: &T, if_match: &IfMatch) -> Result<(), AppError> {
    if let Some(v) = &if_match.0
        && *v != digest_version(current)
    {
        let mut e = AppError::new(
            ErrorCode::PreconditionFailed,
            "the resource changed since you read it; reload and retry",
        );
        e.current = serde_json::to_value(current).ok();
        return Err(e);
    }
    Ok(())
}

/// How long a duplicate waits for the first request with its key before it is answered 409
/// `request_in_progress` (with `Retry-After`).
const IDEMPOTENCY_WAIT: Duration = Duration::from_secs(10);

/// Runs a creating POST under `Idempotency-Key`: the same key and body replays the stored
/// response; the same key with another body is 422 `idempotency_key_reused`. The key is
/// reserved before the request runs (see `store::workspace`), so concurrent duplicates wait for
/// the first and replay its response instead of creating a second resource.
async fn idempotent<F, Fut>(
    app: &AppState,
    who: &Principal,
    key: IdempotencyKey,
    route: &str,
    canonical_body: &str,
    run: F,
) -> Result<Response, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, serde_json::Value), AppError>>,
{
    let Some(key) = key.0 else {
        let (status, v) = run().await?;
        return json(status, &v);
    };
    let fingerprint = hex::encode(Sha256::digest(format!("{route}\n{canonical_body}").as_bytes()));
    let deadline = Instant::now() + IDEMPOTENCY_WAIT;
    let mut pause = Duration::from_millis(5);
    let claim = loop {
        match workspace::idempotent_claim(&app.store, who.agent_id, &key, &fingerprint, app.now()).await? {
            Claim::Owned(c) => break c,
            Claim::Done(stored) => {
                let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
                let mut res = (
                    status,
                    [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                    stored.body,
                )
                    .into_response();
                res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
                return Ok(res);
            }
            Claim::OtherRequest => {
                return Err(AppError::new(
                    ErrorCode::IdempotencyKeyReused,
                    "this Idempotency-Key was used with another request; use a new key",
                )
                .with_field("Idempotency-Key"));
            }
            Claim::Lost => {
                return Err(AppError::conflict(
                    "a request with this Idempotency-Key was applied but the server stopped before \
                     answering it; reload the resource instead of retrying",
                )
                .with_field("Idempotency-Key"));
            }
            Claim::Running => {
                if Instant::now() + pause > deadline {
                    return Err(AppError::new(
                        ErrorCode::RequestInProgress,
                        "a request with this Idempotency-Key is still running; retry the same request",
                    )
                    .with_field("Idempotency-Key")
                    .retry(1));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
        }
    };
    let outcome = workspace::IDEMPOTENCY_CLAIM.scope(claim.clone(), run()).await;
    match outcome {
        Ok((status, v)) => {
            let body = serde_json::to_string(&v).map_err(AppError::internal)?;
            let stored = StoredResponse { fingerprint, status: status.as_u16(), body: body.clone() };
            // The resource exists whatever happens here: answer it even if storing the replay fails.
            if let Err(e) = workspace::idempotent_complete(&app.store, &claim, &stored, app.now()).await {
                tracing::warn!(error = %e.message, "storing an idempotent response failed; a retry after the lease gets 409");
            }
            Ok((status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
                .into_response())
        }
        Err(e) => {
            if let Err(r) = workspace::idempotent_release(&app.store, &claim).await {
                tracing::warn!(error = %r.message, "releasing an Idempotency-Key failed; it frees itself when its lease ends");
            }
            Err(e)
        }
    }
}

/// Runs requests that carry an `Idempotency-Key` on their own task, so that a client hanging up
/// cannot cancel one between its write and the storing of its response (which would leave the
/// key reserved until its lease ends).
async fn detach_idempotent(req: axum::extract::Request, next: middleware::Next) -> Response {
    if !req.headers().contains_key("idempotency-key") {
        return next.run(req).await;
    }
    match tokio::spawn(next.run(req)).await {
        Ok(res) => res,
        Err(e) => AppError::internal(format!("request task failed: {e}")).into_response(),
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(v).map_err(AppError::internal)
}

// ---------------------------------------------------------------- health and docs

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "Healthy", body = Object), (status = 503, description = "Database unreachable", body = ApiErrorEnvelope)))]
pub async fn healthz(State(app): State<AppState>) -> Result<Response, AppError> {
    sqlx::query("SELECT 1")
        .execute(app.store.pool())
        .await
        .map_err(|e| AppError::new(ErrorCode::Unavailable, format!("database unreachable: {e}")))?;
    json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", responses((status = 200, description = "The OpenAPI document", body = Object)))]
pub async fn openapi_json() -> Response {
    let doc = super::openapi::document();
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], doc)
        .into_response()
}

// ---------------------------------------------------------------- me

/// The calling agent and its teams.
#[utoipa::path(get, path = "/api/v1/me", tag = "workspace", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ApiErrorEnvelope), (status = 429, body = ApiErrorEnvelope)))]
pub async fn me(State(app): State<AppState>, who: Principal) -> Result<Response, AppError> {
    let agent = workspace::agent(&app.store, who.agent_id).await?;
    let teams =
        workspace::teams(&app.store).await?.into_iter().filter(|t| who.teams.contains(&t.id.0)).collect();
    json(StatusCode::OK, &Me { agent, teams })
}

// ---------------------------------------------------------------- tickets

/// Parses the query of `GET /tickets` (and the filter part of view counts).
fn ticket_query(
    app: &AppState,
    q: &QueryPairs,
    view: Option<View>,
) -> Result<(TicketFilter, SortKey, i64, Option<String>), AppError> {
    let mut allowed: Vec<&str> = FILTER_PARAMS.to_vec();
    allowed.extend(["view", "sort", "limit", "after"]);
    q.only(&allowed)?;
    let _ = app;
    let (mut filter, mut sort) = match view {
        Some(v) => (v.filter, v.sort),
        None => (TicketFilter::default(), SortKey::Sla),
    };
    // An explicit parameter replaces that field of the view's filter.
    let mut seen = std::collections::HashSet::new();
    for (k, v) in &q.0 {
        if FILTER_PARAMS.contains(&k.as_str()) {
            if seen.insert(k.clone()) {
                let mut cleared = filter.clone();
                match k.as_str() {
                    "status" => cleared.status.clear(),
                    "priority" => cleared.priority.clear(),
                    "team" => cleared.team.clear(),
                    "tag" => cleared.tag.clear(),
                    _ => {}
                }
                filter = cleared;
            }
            filter.set_param(k, v).map_err(|e| AppError::bad_request(&e.field, e.message))?;
        }
    }
    if let Some(s) = q.get("sort") {
        sort = s.parse().map_err(|e: String| AppError::bad_request("sort", e))?;
    }
    let limit = q.limit()?;
    Ok((filter, sort, limit, q.get("after").map(str::to_owned)))
}

/// Tickets of the caller's teams, filtered and sorted, one page at a time.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])),
    params(
        ("view" = Option<i64>, Query, description = "Start from a saved view's filter and sort"),
        ("status" = Option<String>, Query, description = "Comma-separated statuses, e.g. `open,pending`"),
        ("priority" = Option<String>, Query, description = "Comma-separated priorities"),
        ("assignee" = Option<String>, Query, description = "`me`, `none` or an agent id"),
        ("team" = Option<String>, Query, description = "Comma-separated team ids"),
        ("tag" = Option<String>, Query, description = "Comma-separated tags (any of)"),
        ("q" = Option<String>, Query, description = "Free text over subject, requester and account"),
        ("breaching_within" = Option<i64>, Query, description = "Running SLA clock due within N minutes"),
        ("sort" = Option<SortKey>, Query, description = "sla (default), priority, updated, created"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 200 (default 50)"),
        ("after" = Option<String>, Query, description = "Opaque cursor from the previous page's `next`"),
    ),
    responses((status = 200, body = Page<Ticket>), (status = 400, body = ApiErrorEnvelope), (status = 401, body = ApiErrorEnvelope), (status = 429, body = ApiErrorEnvelope)))]
pub async fn list_tickets(
    State(app): State<AppState>,
    who: Principal,
    q: QueryPairs,
) -> Result<Response, AppError> {
    let view = match q.id("view")? {
        Some(id) => Some(
            workspace::view(&app.store, id)
                .await?
                .ok_or_else(|| AppError::bad_request("view", format!("no view {id}")))?,
        ),
        None => None,
    };
    let (filter, sort, limit, after) = ticket_query(&app, &q, view)?;
    let after = after.map(|a| tickets::Cursor::decode(&a, sort)).transpose()?;
    let now = app.now();
    let (rows, next) = tickets::list(&app.store, &who, &filter, sort, after, limit, now).await?;
    let items = tickets::render(&app.store, &app.policies, &rows, now).await?;
    json(StatusCode::OK, &Page { items, next })
}

/// Creates a ticket; `body_markdown` becomes the requester's first message.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the stored response for a retried request")),
    request_body = NewTicket,
    responses((status = 201, body = Ticket), (status = 400, body = ApiErrorEnvelope), (status = 403, body = ApiErrorEnvelope),
        (status = 413, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn create_ticket(
    State(app): State<AppState>,
    who: Principal,
    key: IdempotencyKey,
    body: ApiJson<NewTicket>,
) -> Result<Response, AppError> {
    idempotent(&app, &who, key, "POST /tickets", &body.canonical, || async {
        let now = app.now();
        let row = tickets::create(&app.store, &app.policies, &who, &body.value, now).await?;
        // Auto-responders run before the answer so it shows what they changed.
        super::automation::on_ticket_created(&app, row.id, body.value.body_markdown.as_deref()).await;
        let row = tickets::get_visible(&app.store, &who, row.id).await?;
        let now = app.now();
        let t = tickets::render_one(&app.store, &app.policies, &row, now).await?;
        Ok((StatusCode::CREATED, to_value(&t)?))
    })
    .await
}

/// One ticket with its SLA status; `ETag` carries its version.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = Ticket), (status = 404, body = ApiErrorEnvelope)))]
pub async fn get_ticket(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
) -> Result<Response, AppError> {
    let row = tickets::get_visible(&app.store, &who, id).await?;
    let t = tickets::render_one(&app.store, &app.policies, &row, app.now()).await?;
    Ok(with_etag(json(StatusCode::OK, &t)?, &t.version.to_string()))
}

/// Changes a ticket. `If-Match: "<version>"` makes it conditional (412 with the current ticket).
#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"), ("If-Match" = Option<String>, Header, description = "The version the change is based on")),
    request_body = TicketPatch,
    responses((status = 200, body = Ticket), (status = 403, body = ApiErrorEnvelope), (status = 404, body = ApiErrorEnvelope),
        (status = 409, body = ApiErrorEnvelope), (status = 412, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn patch_ticket(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
    if_match: IfMatch,
    body: ApiJson<TicketPatch>,
) -> Result<Response, AppError> {
    let now = app.now();
    let row =
        tickets::patch(&app.store, &app.policies, &who, id, &body.value, if_match.0.as_deref(), now).await?;
    let t = tickets::render_one(&app.store, &app.policies, &row, now).await?;
    Ok(with_etag(json(StatusCode::OK, &t)?, &t.version.to_string()))
}

/// One patch applied to many tickets, with a result per id (ids the caller may not see fail
/// individually with `not_found`).
#[utoipa::path(post, path = "/api/v1/tickets/bulk", tag = "tickets", security(("bearer" = [])),
    request_body = BulkUpdate,
    responses((status = 200, body = BulkResult), (status = 422, body = ApiErrorEnvelope)))]
pub async fn bulk_update(
    State(app): State<AppState>,
    who: Principal,
    body: ApiJson<BulkUpdate>,
) -> Result<Response, AppError> {
    let req = body.value;
    if req.ids.is_empty() || req.ids.len() > 200 {
        return Err(AppError::validation("ids", "give 1 to 200 ticket ids"));
    }
    let mut results = Vec::with_capacity(req.ids.len());
    for id in req.ids {
        let now = app.now();
        let r = tickets::patch(&app.store, &app.policies, &who, id.0, &req.patch, None, now).await;
        results.push(match r {
            Ok(row) => BulkItemResult {
                id,
                ok: true,
                ticket: Some(tickets::render_one(&app.store, &app.policies, &row, now).await?),
                error: None,
            },
            Err(e) if e.code == ErrorCode::Internal || e.code == ErrorCode::Unavailable => return Err(e),
            Err(e) => BulkItemResult { id, ok: false, ticket: None, error: Some(e.to_api(None)) },
        });
    }
    json(StatusCode::OK, &BulkResult { results })
}

/// The conversation of a ticket, oldest first (internal notes included).
#[utoipa::path(get, path = "/api/v1/tickets/{id}/messages", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"), ("limit" = Option<i64>, Query, description = "1 to 200"), ("after" = Option<String>, Query, description = "Cursor")),
    responses((status = 200, body = Page<Message>), (status = 404, body = ApiErrorEnvelope)))]
pub async fn list_messages(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
    q: QueryPairs,
) -> Result<Response, AppError> {
    q.only(&["limit", "after"])?;
    let limit = q.limit()?;
    let after = q.get("after").map(tickets::decode_id_cursor).transpose()?;
    let (items, next) = tickets::messages(&app.store, &who, id, after, limit).await?;
    json(StatusCode::OK, &Page { items, next })
}

/// Replies (`public`) or adds an internal note; `@handle` in a note notifies that agent.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/messages", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the stored response")),
    request_body = NewMessage,
    responses((status = 201, body = Message), (status = 404, body = ApiErrorEnvelope), (status = 409, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn create_message(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
    key: IdempotencyKey,
    body: ApiJson<NewMessage>,
) -> Result<Response, AppError> {
    let route = format!("POST /tickets/{id}/messages");
    idempotent(&app, &who, key, &route, &body.canonical, || async {
        let msg = &body.value;
        let content = match (&msg.body_markdown, &msg.body_tiptap) {
            (Some(md), None) => glue::markdown_body(md),
            (None, Some(doc)) => {
                glue::tiptap_body(doc).map_err(|e| AppError::validation("body_tiptap", e))?
            }
            _ => {
                return Err(AppError::validation(
                    "body_markdown",
                    "send exactly one of body_markdown and body_tiptap",
                ));
            }
        };
        let m = tickets::add_message(&app.store, &app.policies, &who, id, msg.visibility, content, app.now())
            .await?;
        Ok((StatusCode::CREATED, to_value(&m)?))
    })
    .await
}

/// Merges this ticket into `into`: its messages move there and it closes.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/merge", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The ticket to merge away")),
    request_body = MergeRequest,
    responses((status = 200, description = "The ticket merged into", body = Ticket), (status = 404, body = ApiErrorEnvelope), (status = 409, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn merge_ticket(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
    body: ApiJson<MergeRequest>,
) -> Result<Response, AppError> {
    let now = app.now();
    let row = tickets::merge(&app.store, &app.policies, &who, id, body.value.into.0, now).await?;
    let t = tickets::render_one(&app.store, &app.policies, &row, now).await?;
    json(StatusCode::OK, &t)
}

/// Applies a macro (its field changes and reply); `?dry_run=true` only shows the outcome.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/macros/{macro_id}", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"), ("macro_id" = i64, Path, description = "Macro id"),
        ("dry_run" = Option<bool>, Query, description = "Preview without changing anything")),
    responses((status = 200, body = MacroOutcome), (status = 404, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn apply_macro(
    State(app): State<AppState>,
    who: Principal,
    PathIds(id, macro_id): PathIds,
    q: QueryPairs,
) -> Result<Response, AppError> {
    q.only(&["dry_run"])?;
    let dry_run = q.bool("dry_run")?.unwrap_or(false);
    let m = workspace::macros(&app.store)
        .await?
        .into_iter()
        .find(|m| m.id.0 == macro_id)
        .ok_or_else(|| AppError::not_found(format!("macro {macro_id}")))?;
    let now = app.now();
    let row = tickets::get_visible(&app.store, &who, id).await?;
    let planned = tickets::plan_patch(&row, &m.patch, now)?;
    let reply = m.reply_markdown.clone().filter(|r| !r.trim().is_empty());
    let ticket_row = if dry_run {
        planned.row
    } else {
        let row = tickets::patch(&app.store, &app.policies, &who, id, &m.patch, None, now).await?;
        if let Some(r) = &reply {
            let vis = m.reply_visibility.unwrap_or(Visibility::Public);
            tickets::add_message(&app.store, &app.policies, &who, id, vis, glue::markdown_body(r), now)
                .await?;
            tickets::get_visible(&app.store, &who, id).await?
        } else {
            row
        }
    };
    let ticket = tickets::render_one(&app.store, &app.policies, &ticket_row, now).await?;
    json(StatusCode::OK, &MacroOutcome { dry_run, ticket, reply_markdown: reply, changes: planned.changes })
}

/// Who else is on the ticket (entries expire 30 s after their last renewal).
#[utoipa::path(get, path = "/api/v1/tickets/{id}/presence", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = PresenceList), (status = 404, body = ApiErrorEnvelope)))]
pub async fn get_presence(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
) -> Result<Response, AppError> {
    tickets::get_visible(&app.store, &who, id).await?;
    let items = workspace::presence(&app.store, id, app.now()).await?;
    json(StatusCode::OK, &PresenceList { items })
}

/// Says the caller is viewing or replying; renew at least every 30 s. When an entry expires
/// the others get `presence.changed` with `state: left` (within a second).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/presence", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id")),
    request_body = PresenceUpdate,
    responses((status = 200, body = PresenceList), (status = 404, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn post_presence(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
    body: ApiJson<PresenceUpdate>,
) -> Result<Response, AppError> {
    let row = tickets::get_visible(&app.store, &who, id).await?;
    let items =
        workspace::set_presence(&app.store, &who, id, row.team_id, body.value.state, app.now()).await?;
    json(StatusCode::OK, &PresenceList { items })
}

/// Says the caller left the ticket (closed it in its console): the others get
/// `presence.changed` with `state: left` at once instead of when the entry expires.
#[utoipa::path(delete, path = "/api/v1/tickets/{id}/presence", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, description = "Who is still on the ticket", body = PresenceList), (status = 404, body = ApiErrorEnvelope)))]
pub async fn delete_presence(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
) -> Result<Response, AppError> {
    let row = tickets::get_visible(&app.store, &who, id).await?;
    let items = workspace::clear_presence(&app.store, &who, id, row.team_id, app.now()).await?;
    json(StatusCode::OK, &PresenceList { items })
}

// ---------------------------------------------------------------- views, macros, teams

/// Saved queues with the number of tickets each holds for the caller.
#[utoipa::path(get, path = "/api/v1/views", tag = "workspace", security(("bearer" = [])),
    params(("counts" = Option<bool>, Query, description = "Include counts (default true)")),
    responses((status = 200, body = Page<View>)))]
pub async fn list_views(
    State(app): State<AppState>,
    who: Principal,
    q: QueryPairs,
) -> Result<Response, AppError> {
    q.only(&["counts"])?;
    let counts = q.bool("counts")?.unwrap_or(true);
    let now = app.now();
    let mut items = workspace::views(&app.store).await?;
    if counts {
        for v in &mut items {
            v.count = Some(tickets::count(&app.store, &who, &v.filter, now).await?);
        }
    }
    json(StatusCode::OK, &Page { items, next: None })
}

/// Macros agents can apply.
#[utoipa::path(get, path = "/api/v1/macros", tag = "workspace", security(("bearer" = [])), responses((status = 200, body = Page<Macro>)))]
pub async fn list_macros(State(app): State<AppState>, _who: Principal) -> Result<Response, AppError> {
    json(StatusCode::OK, &Page { items: workspace::macros(&app.store).await?, next: None })
}

/// Every team.
#[utoipa::path(get, path = "/api/v1/teams", tag = "workspace", security(("bearer" = [])), responses((status = 200, body = Page<Team>)))]
pub async fn list_teams(State(app): State<AppState>, _who: Principal) -> Result<Response, AppError> {
    json(StatusCode::OK, &Page { items: workspace::teams(&app.store).await?, next: None })
}

/// Admin: adds a team.
#[utoipa::path(post, path = "/api/v1/teams", tag = "admin", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the stored response")),
    request_body = NewTeam,
    responses((status = 201, body = Team), (status = 403, body = ApiErrorEnvelope), (status = 409, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn create_team(
    State(app): State<AppState>,
    who: Principal,
    key: IdempotencyKey,
    body: ApiJson<NewTeam>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    idempotent(&app, &who, key, "POST /teams", &body.canonical, || async {
        let t = workspace::create_team(&app.store, &body.value, app.now()).await?;
        Ok((StatusCode::CREATED, to_value(&t)?))
    })
    .await
}

/// Every agent (for assignment pickers and mentions).
#[utoipa::path(get, path = "/api/v1/agents", tag = "workspace", security(("bearer" = [])), responses((status = 200, body = Page<Agent>)))]
pub async fn list_agents(State(app): State<AppState>, _who: Principal) -> Result<Response, AppError> {
    json(StatusCode::OK, &Page { items: workspace::agents(&app.store).await?, next: None })
}

/// Admin: adds an agent.
#[utoipa::path(post, path = "/api/v1/agents", tag = "admin", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the stored response")),
    request_body = NewAgent,
    responses((status = 201, body = Agent), (status = 403, body = ApiErrorEnvelope), (status = 409, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn create_agent(
    State(app): State<AppState>,
    who: Principal,
    key: IdempotencyKey,
    body: ApiJson<NewAgent>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    idempotent(&app, &who, key, "POST /agents", &body.canonical, || async {
        let a = workspace::create_agent(&app.store, &body.value, app.now()).await?;
        Ok((StatusCode::CREATED, to_value(&a)?))
    })
    .await
}

/// Admin: creates a token for an agent. The secret is in this response only; it is not
/// replayable under `Idempotency-Key` because the server never stores it.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", security(("bearer" = [])),
    request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn create_token(
    State(app): State<AppState>,
    who: Principal,
    body: ApiJson<NewToken>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let t = workspace::create_token(
        &app.store,
        body.value.agent_id.0,
        body.value.name.as_deref(),
        None,
        app.now(),
    )
    .await?;
    json(StatusCode::CREATED, &t)
}

/// The SLA policies (the first is the default for teams without their own).
#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "admin", security(("bearer" = [])), responses((status = 200, body = Page<SlaPolicy>)))]
pub async fn get_sla_policies(State(app): State<AppState>, _who: Principal) -> Result<Response, AppError> {
    json(StatusCode::OK, &Page { items: workspace::sla_policies(&app.store).await?, next: None })
}

/// Admin: replaces the SLA policies (with id: update; without: create; absent: delete).
#[utoipa::path(put, path = "/api/v1/sla-policies", tag = "admin", security(("bearer" = [])),
    request_body = Vec<SlaPolicy>,
    responses((status = 200, body = Page<SlaPolicy>), (status = 403, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn put_sla_policies(
    State(app): State<AppState>,
    who: Principal,
    body: ApiJson<Vec<SlaPolicy>>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let items = workspace::put_sla_policies(&app.store, &app.policies, &body.value, app.now()).await?;
    json(StatusCode::OK, &Page { items, next: None })
}

// ---------------------------------------------------------------- CRM

/// Contacts by name or email.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "crm", security(("bearer" = [])),
    params(("q" = Option<String>, Query, description = "Text in name or email"), ("account" = Option<i64>, Query, description = "Only this account's contacts"),
        ("limit" = Option<i64>, Query, description = "1 to 200"), ("after" = Option<String>, Query, description = "Cursor")),
    responses((status = 200, body = Page<Contact>), (status = 400, body = ApiErrorEnvelope)))]
pub async fn list_contacts(
    State(app): State<AppState>,
    _who: Principal,
    q: QueryPairs,
) -> Result<Response, AppError> {
    q.only(&["q", "account", "limit", "after"])?;
    let limit = q.limit()?;
    let after = q.get("after").map(tickets::decode_id_cursor).transpose()?;
    let text = q.get("q");
    if text.is_some_and(|t| t.chars().count() > 200) {
        return Err(AppError::bad_request("q", "the text query is limited to 200 characters"));
    }
    let (items, next) = crm::contacts(&app.store, text, q.id("account")?, after, limit).await?;
    json(StatusCode::OK, &Page { items, next: next.map(tickets::encode_id_cursor) })
}

/// Adds a contact.
#[utoipa::path(post, path = "/api/v1/contacts", tag = "crm", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the stored response")),
    request_body = NewContact, responses((status = 201, body = Contact), (status = 422, body = ApiErrorEnvelope)))]
pub async fn create_contact(
    State(app): State<AppState>,
    who: Principal,
    key: IdempotencyKey,
    body: ApiJson<NewContact>,
) -> Result<Response, AppError> {
    idempotent(&app, &who, key, "POST /contacts", &body.canonical, || async {
        let c = crm::create_contact(&app.store, &body.value, app.now()).await?;
        Ok((StatusCode::CREATED, to_value(&c)?))
    })
    .await
}

/// One contact; `ETag` is its version for `If-Match`.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "crm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Contact id")), responses((status = 200, body = Contact), (status = 404, body = ApiErrorEnvelope)))]
pub async fn get_contact(
    State(app): State<AppState>,
    _who: Principal,
    PathId(id): PathId,
) -> Result<Response, AppError> {
    let c = crm::contact(&app.store, id).await?;
    Ok(with_etag(json(StatusCode::OK, &c)?, &digest_version(&c)))
}

/// Changes a contact.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "crm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Contact id"), ("If-Match" = Option<String>, Header, description = "The ETag the change is based on")),
    request_body = ContactPatch,
    responses((status = 200, body = Contact), (status = 404, body = ApiErrorEnvelope), (status = 412, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn patch_contact(
    State(app): State<AppState>,
    _who: Principal,
    PathId(id): PathId,
    if_match: IfMatch,
    body: ApiJson<ContactPatch>,
) -> Result<Response, AppError> {
    let current = crm::contact(&app.store, id).await?;
    check_if_match(&current, &if_match)?;
    let c = crm::patch_contact(&app.store, id, &body.value, app.now()).await?;
    Ok(with_etag(json(StatusCode::OK, &c)?, &digest_version(&c)))
}

/// Everything the contact pane shows: contact, account, recent tickets, activities, open tasks.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/context", tag = "crm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Contact id")), responses((status = 200, body = ContactContext), (status = 404, body = ApiErrorEnvelope)))]
pub async fn contact_context(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
) -> Result<Response, AppError> {
    let contact = crm::contact(&app.store, id).await?;
    let now = app.now();
    // One round: the independent reads run concurrently on separate connections.
    let (account, recent, activities, open_tasks) = tokio::join!(
        async {
            match contact.account_id {
                Some(a) => crm::account(&app.store, a.0).await.map(Some),
                None => Ok(None),
            }
        },
        tickets::recent_for(&app.store, &who, Some(id), None, 10),
        crm::activities(&app.store, Some(id), None),
        crm::open_tasks(&app.store, Some(id), None),
    );
    let recent_tickets = tickets::render(&app.store, &app.policies, &recent?, now).await?;
    json(
        StatusCode::OK,
        &ContactContext {
            contact,
            account: account?,
            recent_tickets,
            activities: activities?,
            open_tasks: open_tasks?,
        },
    )
}

/// One account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "crm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")), responses((status = 200, body = Account), (status = 404, body = ApiErrorEnvelope)))]
pub async fn get_account(
    State(app): State<AppState>,
    _who: Principal,
    PathId(id): PathId,
) -> Result<Response, AppError> {
    json(StatusCode::OK, &crm::account(&app.store, id).await?)
}

/// An account with its contacts, recent tickets, activities and open tasks.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/context", tag = "crm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")), responses((status = 200, body = AccountContext), (status = 404, body = ApiErrorEnvelope)))]
pub async fn account_context(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
) -> Result<Response, AppError> {
    let account = crm::account(&app.store, id).await?;
    let now = app.now();
    let (contacts, recent, activities, open_tasks) = tokio::join!(
        crm::account_contacts(&app.store, id),
        tickets::recent_for(&app.store, &who, None, Some(id), 10),
        crm::activities(&app.store, None, Some(id)),
        crm::open_tasks(&app.store, None, Some(id)),
    );
    let recent_tickets = tickets::render(&app.store, &app.policies, &recent?, now).await?;
    json(
        StatusCode::OK,
        &AccountContext {
            account,
            contacts: contacts?,
            recent_tickets,
            activities: activities?,
            open_tasks: open_tasks?,
        },
    )
}

/// Logs a call, meeting, email or note on a contact or account.
#[utoipa::path(post, path = "/api/v1/activities", tag = "crm", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the stored response")),
    request_body = NewActivity, responses((status = 201, body = Activity), (status = 422, body = ApiErrorEnvelope)))]
pub async fn create_activity(
    State(app): State<AppState>,
    who: Principal,
    key: IdempotencyKey,
    body: ApiJson<NewActivity>,
) -> Result<Response, AppError> {
    idempotent(&app, &who, key, "POST /activities", &body.canonical, || async {
        let a = crm::create_activity(&app.store, &who, &body.value, app.now()).await?;
        Ok((StatusCode::CREATED, to_value(&a)?))
    })
    .await
}

/// Follow-up tasks.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "crm", security(("bearer" = [])),
    params(("assignee" = Option<String>, Query, description = "`me` or an agent id"), ("done" = Option<bool>, Query, description = "Filter on completion"),
        ("ticket" = Option<i64>, Query, description = "Linked ticket"), ("contact" = Option<i64>, Query, description = "Linked contact"),
        ("account" = Option<i64>, Query, description = "Linked account"), ("limit" = Option<i64>, Query, description = "1 to 200"), ("after" = Option<String>, Query, description = "Cursor")),
    responses((status = 200, body = Page<Task>), (status = 400, body = ApiErrorEnvelope)))]
pub async fn list_tasks(
    State(app): State<AppState>,
    who: Principal,
    q: QueryPairs,
) -> Result<Response, AppError> {
    q.only(&["assignee", "done", "ticket", "contact", "account", "limit", "after"])?;
    let assignee = match q.get("assignee") {
        None => None,
        Some("me") => Some(who.agent_id),
        Some(_) => q.id("assignee")?,
    };
    let query = crm::TaskQuery {
        assignee,
        done: q.bool("done")?,
        ticket: q.id("ticket")?,
        contact: q.id("contact")?,
        account: q.id("account")?,
    };
    let after = q.get("after").map(tickets::decode_id_cursor).transpose()?;
    let (items, next) = crm::tasks(&app.store, &query, after, q.limit()?).await?;
    json(StatusCode::OK, &Page { items, next: next.map(tickets::encode_id_cursor) })
}

/// Creates a follow-up linked to a ticket, contact or account.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "crm", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the stored response")),
    request_body = NewTask, responses((status = 201, body = Task), (status = 422, body = ApiErrorEnvelope)))]
pub async fn create_task(
    State(app): State<AppState>,
    who: Principal,
    key: IdempotencyKey,
    body: ApiJson<NewTask>,
) -> Result<Response, AppError> {
    idempotent(&app, &who, key, "POST /tasks", &body.canonical, || async {
        let t = crm::create_task(&app.store, &who, &body.value, app.now()).await?;
        Ok((StatusCode::CREATED, to_value(&t)?))
    })
    .await
}

/// Changes a task (e.g. marks it done).
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "crm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Task id"), ("If-Match" = Option<String>, Header, description = "The ETag the change is based on")),
    request_body = TaskPatch,
    responses((status = 200, body = Task), (status = 404, body = ApiErrorEnvelope), (status = 412, body = ApiErrorEnvelope), (status = 422, body = ApiErrorEnvelope)))]
pub async fn patch_task(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
    if_match: IfMatch,
    body: ApiJson<TaskPatch>,
) -> Result<Response, AppError> {
    let current = crm::task(&app.store, id).await?;
    check_if_match(&current, &if_match)?;
    let t = crm::patch_task(&app.store, &who, id, &body.value, app.now()).await?;
    Ok(with_etag(json(StatusCode::OK, &t)?, &digest_version(&t)))
}

/// Display names and our ids for many references in one call.
#[utoipa::path(post, path = "/api/v1/resolve", tag = "crm", security(("bearer" = [])),
    request_body = ResolveRequest, responses((status = 200, body = ResolveResponse), (status = 422, body = ApiErrorEnvelope)))]
pub async fn resolve(
    State(app): State<AppState>,
    _who: Principal,
    body: ApiJson<ResolveRequest>,
) -> Result<Response, AppError> {
    if body.value.refs.len() > 1000 {
        return Err(AppError::validation("refs", "at most 1000 references per call"));
    }
    let items = crm::resolve(&app.store, &body.value.refs).await?;
    json(StatusCode::OK, &ResolveResponse { items })
}

// ---------------------------------------------------------------- notifications and events

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    params(("unread" = Option<bool>, Query, description = "Only unread ones"), ("limit" = Option<i64>, Query, description = "1 to 200"), ("after" = Option<String>, Query, description = "Cursor")),
    responses((status = 200, body = Page<Notification>), (status = 400, body = ApiErrorEnvelope)))]
pub async fn list_notifications(
    State(app): State<AppState>,
    who: Principal,
    q: QueryPairs,
) -> Result<Response, AppError> {
    q.only(&["unread", "limit", "after"])?;
    let before = q.get("after").map(tickets::decode_id_cursor).transpose()?;
    let (items, next) =
        workspace::notifications(&app.store, &who, q.bool("unread")?.unwrap_or(false), before, q.limit()?)
            .await?;
    json(StatusCode::OK, &Page { items, next: next.map(tickets::encode_id_cursor) })
}

/// Marks a notification read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Notification id")), responses((status = 200, body = Notification), (status = 404, body = ApiErrorEnvelope)))]
pub async fn read_notification(
    State(app): State<AppState>,
    who: Principal,
    PathId(id): PathId,
) -> Result<Response, AppError> {
    json(StatusCode::OK, &workspace::mark_read(&app.store, &who, id).await?)
}

/// Server-Sent Events: `id` = event id, `event` = kind, `data` = the Event JSON. Resume with
/// `Last-Event-ID` (or `?last_event_id=`); `event: resync` when it is too old to replay.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id"),
        ("last_event_id" = Option<i64>, Query, description = "Same, for clients that cannot set headers")),
    responses((status = 200, description = "text/event-stream of Event", content_type = "text/event-stream", body = Event),
        (status = 400, body = ApiErrorEnvelope), (status = 429, body = ApiErrorEnvelope)))]
pub async fn events(
    State(app): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    q: QueryPairs,
) -> Result<Response, AppError> {
    q.only(&["last_event_id"])?;
    let header = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let last = super::events::parse_last_event_id(header, q.get("last_event_id"))?;
    let sse = super::events::stream(
        app.store.clone(),
        app.hub.clone(),
        who,
        last,
        app.shutdown.clone(),
        app.max_streams_per_token,
    )
    .await?;
    Ok(sse.into_response())
}
