//! The OpenAPI document, generated from the handlers' annotations and the model's schemas.

use std::sync::OnceLock;

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::api;

#[derive(OpenApi)]
#[openapi(
    info(title = "desk API", version = "1", description = "The helpdesk API of `desk serve` (DESIGN §3). \
        Every error is `{\"error\": {\"code\", \"message\", \"field\", \"request_id\"}}` with a stable code."),
    paths(
        api::healthz, api::openapi_json, api::me,
        api::list_tickets, api::create_ticket, api::get_ticket, api::patch_ticket, api::bulk_update,
        api::list_messages, api::create_message, api::merge_ticket, api::apply_macro,
        api::get_presence, api::post_presence, api::delete_presence,
        api::list_views, api::list_macros, api::list_teams, api::create_team, api::list_agents, api::create_agent, api::create_token,
        api::get_sla_policies, api::put_sla_policies,
        api::list_contacts, api::create_contact, api::get_contact, api::patch_contact, api::contact_context,
        api::get_account, api::account_context, api::create_activity,
        api::list_tasks, api::create_task, api::patch_task, api::resolve,
        api::list_notifications, api::read_notification, api::events,
        crate::server::slack::ingest::events,
        crate::server::slack::admin::list_workspaces, crate::server::slack::admin::put_workspace,
        crate::server::slack::admin::delete_workspace, crate::server::slack::admin::list_channels,
        crate::server::slack::admin::put_channel, crate::server::slack::admin::delete_channel,
        crate::server::automation::get_rules, crate::server::automation::put_rules,
        crate::server::metrics::metrics,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "tickets", description = "Tickets, conversations, macros, presence"),
        (name = "workspace", description = "Agents, teams, views, macros"),
        (name = "crm", description = "Contacts, accounts, activities, tasks, entity resolution"),
        (name = "notifications", description = "Mentions and assignments"),
        (name = "events", description = "Live events (SSE)"),
        (name = "admin", description = "Admin-only routes"),
        (name = "meta", description = "Health and this document"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The document as JSON text, built once.
pub fn document() -> String {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = match serde_json::to_value(ApiDoc::openapi()) {
            Ok(v) => v,
            Err(e) => return format!("{{\"error\": \"{e}\"}}"),
        };
        add_common_responses(&mut doc);
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    })
    .clone()
}

/// The errors every route can answer, added once here rather than on each handler: 400 (bad
/// query, path or header), 401 and 429 on authenticated routes, 404 on routes with ids, 413
/// and 422 where a body is read, 409 where `Idempotency-Key` is honoured; and the bounds of
/// `limit`.
fn add_common_responses(doc: &mut serde_json::Value) {
    let envelope = serde_json::json!({
        "description": "Error envelope",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiErrorEnvelope"}}}
    });
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                continue;
            }
            let authed = op.get("security").is_some();
            let has_body = matches!(method.as_str(), "post" | "put" | "patch");
            let mut codes = vec!["400"];
            if authed {
                codes.extend(["401", "429"]);
            }
            if has_body {
                codes.extend(["413", "422"]);
            }
            if path.contains('{') {
                codes.push("404");
            }
            // 409 `request_in_progress` (with Retry-After) while a duplicate's first request runs.
            let idempotent = op
                .get("parameters")
                .and_then(|p| p.as_array())
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
            if idempotent {
                codes.push("409");
            }
            if let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) {
                for c in codes {
                    responses.entry(c).or_insert_with(|| envelope.clone());
                }
            }
            if let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) {
                for p in params {
                    if p["name"] == "limit" && p["in"] == "query" {
                        p["schema"] = serde_json::json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": 200});
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).expect("valid JSON");
        let paths = doc["paths"].as_object().expect("paths");
        for p in [
            "/api/v1/tickets",
            "/api/v1/tickets/{id}",
            "/api/v1/tickets/bulk",
            "/api/v1/tickets/{id}/messages",
            "/api/v1/tickets/{id}/merge",
            "/api/v1/tickets/{id}/macros/{macro_id}",
            "/api/v1/tickets/{id}/presence",
            "/api/v1/views",
            "/api/v1/contacts/{id}/context",
            "/api/v1/accounts/{id}/context",
            "/api/v1/resolve",
            "/api/v1/events",
            "/api/v1/sla-policies",
            "/api/v1/tokens",
            "/api/v1/agents",
            "/healthz",
        ] {
            assert!(paths.contains_key(p), "{p} missing from the OpenAPI document");
        }
        assert!(paths["/api/v1/tickets/{id}/presence"]["delete"].is_object(), "DELETE presence");
        assert!(paths["/api/v1/tickets"]["post"]["responses"]["409"].is_object(), "409 request_in_progress");
        assert!(doc["components"]["schemas"]["Ticket"].is_object());
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
}
