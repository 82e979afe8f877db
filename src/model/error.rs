use serde::{Deserialize, Serialize};

/// The one error envelope every failing API call returns:
/// `{"error": {"code": "not_found", "message": "...", "field": null, "request_id": "..."}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiErrorEnvelope {
    pub error: ApiError,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiError {
    /// Stable machine-readable code, see [`ErrorCode`].
    pub code: ErrorCode,
    /// Human-readable explanation; never contains internals.
    pub message: String,
    /// The offending field or JSON path, when there is one.
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    /// For 412 the current resource, so a client can show both versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<serde_json::Value>,
}

/// Stable error codes. Clients match on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    InvalidJson,
    ValidationFailed,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    IdempotencyKeyReused,
    /// Another request with the same `Idempotency-Key` is still running (409, with
    /// `Retry-After`): retry the same request and it replays the first one's response.
    RequestInProgress,
    RateLimited,
    Unavailable,
    Internal,
    /// A code this client does not know yet (newer server).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::BadRequest | Self::InvalidJson => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict | Self::RequestInProgress => 409,
            Self::PreconditionFailed => 412,
            Self::PayloadTooLarge => 413,
            Self::ValidationFailed | Self::IdempotencyKeyReused => 422,
            Self::RateLimited => 429,
            Self::Unavailable => 503,
            Self::Internal | Self::Unknown => 500,
        }
    }
}
