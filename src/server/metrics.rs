//! `GET /metrics` (Prometheus text format) and the routes of the Slack and automation modules.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use super::AppState;
use super::error::AppError;
use super::{automation, slack};

/// Routes outside bearer authentication: Slack's signed events and the metrics scrape.
pub fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/integrations/slack/events", post(slack::ingest::events))
        .route("/metrics", get(metrics))
}

/// Admin routes under `/api/v1` (bearer authentication applies).
pub fn admin_routes() -> Router<AppState> {
    use slack::admin::*;
    Router::new()
        .route("/integrations/slack/workspaces", get(list_workspaces))
        .route("/integrations/slack/workspaces/{slack_team_id}", put(put_workspace).delete(delete_workspace))
        .route("/integrations/slack/channels", get(list_channels))
        .route("/integrations/slack/channels/{channel_id}", put(put_channel).delete(delete_channel))
        .route("/auto-responders", get(automation::get_rules).put(automation::put_rules))
}

/// Counts every request (middleware).
pub async fn count(State(app): State<AppState>, req: Request, next: Next) -> Response {
    slack::bump(&app.slack.metrics.http_requests);
    next.run(req).await
}

async fn gauge(app: &AppState, sql: &str) -> i64 {
    let r: Result<(i64,), _> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(app.store.pool()).await;
    r.map(|r| r.0).unwrap_or(-1)
}

/// Prometheus metrics of this instance (counters) and of the shared database (queue depths).
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
pub async fn metrics(State(app): State<AppState>) -> Result<Response, AppError> {
    let m = &app.slack.metrics;
    let mut out = String::new();
    let mut line = |name: &str, kind: &str, help: &str, v: i64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    };
    let c = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as i64;
    line("desk_http_requests_total", "counter", "HTTP requests served by this instance", c(&m.http_requests));
    line(
        "desk_sse_clients",
        "gauge",
        "Open GET /events streams on this instance",
        app.hub.stream_count() as i64,
    );
    line(
        "desk_slack_envelopes_stored_total",
        "counter",
        "Slack envelopes stored",
        c(&m.slack_envelopes_stored),
    );
    line(
        "desk_slack_envelopes_duplicate_total",
        "counter",
        "Slack retries of stored envelopes",
        c(&m.slack_envelopes_duplicate),
    );
    line(
        "desk_slack_signature_rejected_total",
        "counter",
        "Slack requests rejected (signature or timestamp)",
        c(&m.slack_signature_rejected),
    );
    line(
        "desk_slack_envelopes_processed_total",
        "counter",
        "Slack envelopes processed",
        c(&m.slack_envelopes_processed),
    );
    line(
        "desk_slack_envelopes_failed_total",
        "counter",
        "Slack envelope processing failures",
        c(&m.slack_envelopes_failed),
    );
    line("desk_slack_posts_total", "counter", "Replies posted to Slack", c(&m.slack_posts_ok));
    line(
        "desk_slack_posts_retried_total",
        "counter",
        "Slack posts scheduled for retry",
        c(&m.slack_posts_retried),
    );
    line("desk_slack_posts_failed_total", "counter", "Slack posts given up", c(&m.slack_posts_failed));
    line("desk_auto_replies_total", "counter", "Auto-responder replies sent", c(&m.auto_replies));
    line("desk_sla_warnings_total", "counter", "SLA warnings emitted by this instance", c(&m.sla_warnings));
    let pending_env = gauge(&app, "SELECT COUNT(*) FROM slack_envelopes WHERE processed_at IS NULL").await;
    let pending_jobs = gauge(&app, "SELECT COUNT(*) FROM outbound_jobs WHERE status = 'pending'").await;
    let failed_jobs = gauge(&app, "SELECT COUNT(*) FROM outbound_jobs WHERE status = 'failed'").await;
    line(
        "desk_slack_envelopes_pending",
        "gauge",
        "Stored Slack envelopes not yet processed (all instances)",
        pending_env,
    );
    line("desk_outbound_jobs_pending", "gauge", "Outbound jobs waiting (all instances)", pending_jobs);
    line("desk_outbound_jobs_failed", "gauge", "Outbound jobs given up (all instances)", failed_jobs);
    let mut res = out.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn slack_and_admin_routes_are_documented() {
        let doc: serde_json::Value = serde_json::from_str(&crate::server::openapi::document()).expect("JSON");
        for p in [
            "/api/v1/integrations/slack/events",
            "/api/v1/integrations/slack/workspaces",
            "/api/v1/integrations/slack/workspaces/{slack_team_id}",
            "/api/v1/integrations/slack/channels",
            "/api/v1/integrations/slack/channels/{channel_id}",
            "/api/v1/auto-responders",
            "/metrics",
        ] {
            assert!(doc["paths"][p].is_object(), "{p} missing from the OpenAPI document");
        }
        assert!(doc["components"]["schemas"]["AutoResponder"].is_object());
        assert!(doc["components"]["schemas"]["SlackWorkspace"].is_object());
    }
}
