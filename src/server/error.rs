//! The one error type of the server and its rendering as the API's error envelope.
//!
//! Handlers return `Result<_, AppError>`; `AppError` becomes a response carrying the error in
//! an extension, and the [`envelope`] middleware renders it with the request id. The same
//! middleware turns every other error response (axum's rejections, 404/405 of the router, the
//! body-limit layer's 413, a caught panic) into the envelope, so no client ever sees a
//! plain-text error.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::model::{ApiError, ApiErrorEnvelope, ErrorCode};

#[derive(Debug, Clone)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub current: Option<serde_json::Value>,
    /// Overrides the code's usual status (e.g. 405 with `bad_request`).
    pub status: Option<StatusCode>,
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None, current: None, status: None, retry_after: None }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message).with_field(field)
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message).with_field(field)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// An internal failure: logged in full, answered without internals.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(ErrorCode::Internal, "internal error; the server log has the details")
    }

    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| {
            StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        })
    }

    pub fn to_api(&self, request_id: Option<String>) -> ApiError {
        ApiError {
            code: self.code,
            message: self.message.clone(),
            field: self.field.clone(),
            request_id,
            current: self.current.clone(),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => {
                Self::new(ErrorCode::Unavailable, "the database is busy; retry shortly").retry(1)
            }
            other => Self::internal(format!("database: {other}")),
        }
    }
}

impl AppError {
    pub fn retry(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = self.status();
        res.extensions_mut().insert(self);
        res
    }
}

/// The request id of the current request (set by [`envelope`]).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn new_request_id() -> String {
    let n: u64 = rand::random();
    format!("{n:016x}")
}

/// Outermost middleware: assigns a request id and renders every error as the envelope.
pub async fn envelope(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    let status = res.status();
    if let Some(err) = res.extensions_mut().remove::<AppError>() {
        return render(&err, &id, res);
    }
    if status.is_client_error() || status.is_server_error() {
        let is_json = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            let err = error_for_status(status);
            return render(&err, &id, res);
        }
    }
    res
}

/// The envelope for an error response produced outside our handlers.
fn error_for_status(status: StatusCode) -> AppError {
    let (code, message) = match status.as_u16() {
        400 => (ErrorCode::BadRequest, "the request is malformed"),
        401 => (ErrorCode::Unauthenticated, "a bearer token is required"),
        403 => (ErrorCode::Forbidden, "not allowed"),
        404 => (ErrorCode::NotFound, "no such route"),
        405 => (ErrorCode::BadRequest, "method not allowed on this route"),
        408 => (ErrorCode::Unavailable, "the request took too long"),
        413 => (ErrorCode::PayloadTooLarge, "the request body is too large (limit 1 MiB)"),
        415 => (ErrorCode::BadRequest, "send the body as application/json"),
        422 => (ErrorCode::ValidationFailed, "the request body is not valid for this route"),
        429 => (ErrorCode::RateLimited, "too many requests; slow down"),
        503 => (ErrorCode::Unavailable, "the server is unavailable; retry shortly"),
        s if s >= 500 => (ErrorCode::Internal, "internal error; the server log has the details"),
        _ => (ErrorCode::BadRequest, "the request was rejected"),
    };
    let mut e = AppError::new(code, message);
    e.status = Some(status);
    e
}

fn render(err: &AppError, request_id: &str, original: Response) -> Response {
    let body = ApiErrorEnvelope { error: err.to_api(Some(request_id.to_owned())) };
    let (mut parts, _) = original.into_parts();
    parts.status = err.status();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(secs) = err.retry_after {
        parts.headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"error\":{\"code\":\"internal\"}}".to_vec());
    Response::from_parts(parts, Body::from(json))
}
