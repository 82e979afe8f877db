//! Extractors whose rejections are the API's error envelope with stable codes, never axum's
//! plain-text defaults: JSON bodies, query strings, path ids, `If-Match` and `Idempotency-Key`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::AppError;
use crate::model::ErrorCode;

/// A JSON body. Malformed JSON is 400 `invalid_json`; well-formed JSON of the wrong shape
/// (wrong types, unknown or missing fields) is 422 `validation_failed` naming the field;
/// a body over the limit is 413 `payload_too_large`.
pub struct ApiJson<T> {
    pub value: T,
    /// The body re-serialised canonically (sorted keys), for idempotency fingerprints.
    pub canonical: String,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::new(ErrorCode::PayloadTooLarge, "the request body is too large (limit 1 MiB)")
            } else {
                AppError::new(ErrorCode::BadRequest, format!("cannot read the request body: {e}"))
            }
        })?;
        parse_json(&bytes)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<ApiJson<T>, AppError> {
    let raw: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        AppError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {e}")).with_field("body")
    })?;
    let canonical = raw.to_string();
    let value = serde_json::from_value(raw).map_err(|e| {
        let msg = e.to_string();
        let mut err =
            AppError::new(ErrorCode::ValidationFailed, format!("the body does not match the schema: {msg}"));
        err.field = field_from_serde_message(&msg);
        err
    })?;
    Ok(ApiJson { value, canonical })
}

/// Pulls the field name out of serde's messages ("unknown field `x`", "missing field `y`").
fn field_from_serde_message(msg: &str) -> Option<String> {
    for marker in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(rest) = msg.split(marker).nth(1) {
            return rest.split('`').next().map(str::to_owned);
        }
    }
    None
}

/// Query parameters as ordered pairs; handlers validate each one themselves so that every
/// problem names its parameter.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let axum::extract::Query(pairs) =
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
                .map_err(|e| AppError::new(ErrorCode::BadRequest, format!("malformed query string: {e}")))?;
        Ok(QueryPairs(pairs))
    }
}

impl QueryPairs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Fails on a parameter the route does not know, so typos are not silently ignored.
    pub fn only(&self, allowed: &[&str]) -> Result<(), AppError> {
        for (k, _) in &self.0 {
            if !allowed.contains(&k.as_str()) {
                return Err(AppError::bad_request(
                    k,
                    format!("unknown query parameter `{k}`; expected one of: {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    pub fn limit(&self) -> Result<i64, AppError> {
        match self.get("limit") {
            None => Ok(i64::from(crate::model::DEFAULT_PAGE_SIZE)),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if (1..=i64::from(crate::model::MAX_PAGE_SIZE)).contains(&n) => Ok(n),
                _ => Err(AppError::bad_request(
                    "limit",
                    format!("`limit` must be an integer from 1 to {}", crate::model::MAX_PAGE_SIZE),
                )),
            },
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, AppError> {
        match self.get(name) {
            None => Ok(None),
            Some("true" | "1" | "yes") => Ok(Some(true)),
            Some("false" | "0" | "no") => Ok(Some(false)),
            Some(_) => Err(AppError::bad_request(name, format!("`{name}` must be true or false"))),
        }
    }

    pub fn id(&self, name: &str) -> Result<Option<i64>, AppError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| AppError::bad_request(name, format!("`{name}` must be an integer id"))),
        }
    }
}

/// A numeric path segment (`/tickets/{id}`); anything else is 404, as no such resource exists.
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Path(raw): axum::extract::Path<String> =
            axum::extract::Path::from_request_parts(parts, state)
                .await
                .map_err(|_| AppError::not_found("resource"))?;
        raw.parse::<i64>().map(PathId).map_err(|_| AppError::not_found(format!("`{raw}`")))
    }
}

/// Two numeric path segments (`/tickets/{id}/macros/{macro_id}`).
pub struct PathIds(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Path((a, b)): axum::extract::Path<(String, String)> =
            axum::extract::Path::from_request_parts(parts, state)
                .await
                .map_err(|_| AppError::not_found("resource"))?;
        match (a.parse::<i64>(), b.parse::<i64>()) {
            (Ok(a), Ok(b)) => Ok(PathIds(a, b)),
            _ => Err(AppError::not_found(format!("`{a}/{b}`"))),
        }
    }
}

/// `If-Match: "<version>"` (quotes optional, `W/` prefix tolerated).
pub struct IfMatch(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let Some(v) = parts.headers.get("if-match") else { return Ok(IfMatch(None)) };
        let v = v
            .to_str()
            .map_err(|_| AppError::bad_request("If-Match", "If-Match must be ASCII"))?
            .trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_owned();
        if v == "*" { Ok(IfMatch(None)) } else { Ok(IfMatch(Some(v))) }
    }
}

/// `Idempotency-Key` on creating POSTs.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        // Any value is a key: it is kept as its SHA-256, so its length and bytes do not matter.
        Ok(IdempotencyKey(parts.headers.get("idempotency-key").filter(|v| !v.is_empty()).map(|v| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(v.as_bytes()))
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: i64,
    }

    #[test]
    fn json_errors_have_codes_and_fields() {
        let e = parse_json::<T>(b"{").err().map(|e| e.code);
        assert_eq!(e, Some(ErrorCode::InvalidJson));
        let e = parse_json::<T>(br#"{"a": 1, "b": 2}"#).err().expect("unknown field");
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::ValidationFailed, Some("b")));
        let e = parse_json::<T>(br#"{"a": "x"}"#).err().expect("wrong type");
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        let e = parse_json::<T>(b"{}").err().expect("missing");
        assert_eq!(e.field.as_deref(), Some("a"));
        let ok = parse_json::<T>(br#"{"a": 1}"#).expect("valid");
        assert_eq!(ok.value.a, 1);
    }
}
