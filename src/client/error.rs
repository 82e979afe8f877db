//! Typed client errors, mapped from the server's error envelope (DESIGN §3) and from
//! transport failures. Callers match on variants, never on messages.

use std::time::Duration;

use crate::model::{ApiErrorEnvelope, ErrorCode};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 404: the object does not exist or the agent may not see it.
    #[error("{message}")]
    NotFound { message: String, request_id: Option<String> },
    /// 401: no token, or a token the server does not accept.
    #[error("{message}")]
    Unauthenticated { message: String },
    /// 403: authenticated but not allowed (e.g. an admin route).
    #[error("{message}")]
    Forbidden { message: String },
    /// 409: the request conflicts with the resource's state.
    #[error("{message}")]
    Conflict { message: String, current: Option<serde_json::Value> },
    /// 412: `If-Match` did not match; `current` is the resource as it is now.
    #[error("{message}")]
    PreconditionFailed { message: String, current: Option<serde_json::Value> },
    /// 400/413/422: the request was refused as invalid; `field` names the culprit.
    #[error("{}{message}", field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
    Validation { code: ErrorCode, field: Option<String>, message: String },
    /// 429, after the retry budget ran out.
    #[error("rate limited by {url}{}", retry_after.map(|d| format!("; retry after {}s", d.as_secs().max(1))).unwrap_or_default())]
    RateLimited { url: String, retry_after: Option<Duration> },
    /// The server could not be reached or did not answer in time (connection refused,
    /// timeout, 502/503/504), after the retry budget ran out.
    #[error("{url} is unavailable: {reason}")]
    Unavailable { url: String, reason: String },
    /// 500 or any other status the client does not expect.
    #[error("server error {status} from {url}: {message}{}", request_id.as_ref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
    Server { status: u16, url: String, message: String, request_id: Option<String> },
    /// A 2xx whose body is not what the API promises.
    #[error("unexpected response from {url}: {message}")]
    Decode { url: String, message: String },
    /// A request the client could not even build (bad base URL, no token).
    #[error("{0}")]
    Config(String),
}

impl ApiError {
    /// Worth trying again later (the outbox keeps such entries).
    pub fn is_transient(&self) -> bool {
        matches!(self, ApiError::Unavailable { .. } | ApiError::RateLimited { .. })
            || matches!(self, ApiError::Server { status, .. } if *status >= 500)
    }

    /// Turns an error response into a typed error. `body` is the raw response body;
    /// bodies that are not the envelope (a proxy's HTML page) still give a useful error.
    pub fn from_response(status: u16, url: &str, retry_after: Option<Duration>, body: &[u8]) -> ApiError {
        let envelope = serde_json::from_slice::<ApiErrorEnvelope>(body).ok().map(|e| e.error);
        let message = envelope.as_ref().map(|e| e.message.clone()).unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() || text.len() > 200 { format!("HTTP {status}") } else { text.to_owned() }
        });
        let code = envelope.as_ref().map(|e| e.code);
        let request_id = envelope.as_ref().and_then(|e| e.request_id.clone());
        let current = envelope.as_ref().and_then(|e| e.current.clone());
        let field = envelope.as_ref().and_then(|e| e.field.clone());
        match status {
            401 => ApiError::Unauthenticated { message },
            403 => ApiError::Forbidden { message },
            404 => ApiError::NotFound { message, request_id },
            // A duplicate of a keyed request whose first copy is still running: nothing to fix,
            // only to wait for (Retry-After), so it retries like a 503.
            409 if code == Some(ErrorCode::RequestInProgress) => {
                ApiError::Unavailable { url: url.to_owned(), reason: message }
            }
            409 => ApiError::Conflict { message, current },
            412 => ApiError::PreconditionFailed { message, current },
            400 | 413 | 422 => ApiError::Validation {
                code: code.unwrap_or(if status == 413 {
                    ErrorCode::PayloadTooLarge
                } else {
                    ErrorCode::BadRequest
                }),
                field,
                message,
            },
            429 => ApiError::RateLimited { url: url.to_owned(), retry_after },
            408 | 502..=504 => ApiError::Unavailable { url: url.to_owned(), reason: message },
            _ => ApiError::Server { status, url: url.to_owned(), message, request_id },
        }
    }

    /// The HTTP status behind the error, when there was a response.
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            ApiError::NotFound { .. } => 404,
            ApiError::Unauthenticated { .. } => 401,
            ApiError::Forbidden { .. } => 403,
            ApiError::Conflict { .. } => 409,
            ApiError::PreconditionFailed { .. } => 412,
            ApiError::Validation { code, .. } => code.http_status(),
            ApiError::RateLimited { .. } => 429,
            ApiError::Server { status, .. } => *status,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_maps_to_variants() {
        let body = br#"{"error":{"code":"not_found","message":"ticket 9 not found","field":null,"request_id":"r1"}}"#;
        let e = ApiError::from_response(404, "http://x/api/v1/tickets/9", None, body);
        assert!(matches!(&e, ApiError::NotFound { request_id: Some(r), .. } if r == "r1"));
        assert_eq!(e.to_string(), "ticket 9 not found");

        let body = br#"{"error":{"code":"validation_failed","message":"too long","field":"subject","request_id":null}}"#;
        let e = ApiError::from_response(422, "u", None, body);
        assert_eq!(e.to_string(), "subject: too long");
        assert_eq!(e.status(), Some(422));

        let body = br#"{"error":{"code":"precondition_failed","message":"stale","current":{"version":4}}}"#;
        let e = ApiError::from_response(412, "u", None, body);
        assert!(matches!(e, ApiError::PreconditionFailed { current: Some(ref c), .. } if c["version"] == 4));
    }

    #[test]
    fn non_envelope_bodies_and_transient_statuses() {
        let e = ApiError::from_response(502, "http://x", None, b"<html>bad gateway</html>");
        assert!(e.is_transient());
        assert_eq!(e.to_string(), "http://x is unavailable: <html>bad gateway</html>");
        let e = ApiError::from_response(429, "http://x", Some(Duration::from_secs(3)), b"");
        assert_eq!(e.to_string(), "rate limited by http://x; retry after 3s");
        let e = ApiError::from_response(500, "http://x", None, b"");
        assert!(e.is_transient());
        assert!(!ApiError::from_response(400, "u", None, b"").is_transient());
        let body = br#"{"error":{"code":"request_in_progress","message":"the first request with this key is still running"}}"#;
        assert!(ApiError::from_response(409, "http://x", Some(Duration::from_secs(1)), body).is_transient());
        let body = br#"{"error":{"code":"conflict","message":"reload"}}"#;
        assert!(!ApiError::from_response(409, "http://x", None, body).is_transient());
    }
}
