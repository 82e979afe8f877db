//! Bearer-token authentication, the calling agent ([`Principal`]) and per-token rate limits.
//!
//! Tokens are 32 random bytes shown once as `desk_<hex>`; the database keeps only their
//! SHA-256 hex digest, and lookups go by that digest (a hash lookup leaks nothing useful
//! about the secret, so no constant-time compare is needed at this step).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::AppError;
use crate::model::{ErrorCode, Role};

#[derive(Debug, Clone)]
pub struct Principal {
    pub agent_id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub teams: Vec<i64>,
    pub token_hash: String,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admins see every team; agents only their own (DESIGN §9).
    pub fn sees_team(&self, team: i64) -> bool {
        self.is_admin() || self.teams.contains(&team)
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() { Ok(()) } else { Err(AppError::forbidden("this route needs the admin role")) }
    }
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("desk_{}", hex::encode(bytes))
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

/// Middleware for every authenticated route: resolves the token, applies the rate limit and
/// leaves the [`Principal`] in the request extensions for handlers.
pub async fn authenticate(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let Some(token) = bearer(&parts) else {
        return AppError::new(ErrorCode::Unauthenticated, "send `Authorization: Bearer <token>`")
            .into_response();
    };
    let hash = hash_token(token);
    if let Err(wait) = app.limiter.check(&hash) {
        return AppError::new(ErrorCode::RateLimited, "rate limit exceeded for this token; retry later")
            .retry(wait.as_secs().max(1))
            .into_response();
    }
    let principal = match app.principal_for(&hash).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return AppError::new(ErrorCode::Unauthenticated, "unknown or revoked token").into_response();
        }
        Err(e) => return e.into_response(),
    };
    parts.extensions.insert(principal);
    next.run(Request::from_parts(parts, body)).await
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated, "send `Authorization: Bearer <token>`"))
    }
}

/// A token bucket per token hash: `rate` requests per second sustained, `burst` at once.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate == 0` disables limiting.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self { rate: f64::from(rate), burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token from the key's bucket, or says how long until one is available.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Forget idle buckets rather than grow without bound; a full bucket is the default.
            let burst = self.burst;
            let rate = self.rate;
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let l = RateLimiter::new(10, 3);
        let t0 = Instant::now();
        assert!(l.check_at("a", t0).is_ok());
        assert!(l.check_at("a", t0).is_ok());
        assert!(l.check_at("a", t0).is_ok());
        let wait = l.check_at("a", t0).expect_err("empty bucket");
        assert!(wait <= Duration::from_millis(100));
        assert!(l.check_at("b", t0).is_ok(), "buckets are per key");
        assert!(l.check_at("a", t0 + Duration::from_millis(100)).is_ok());
    }

    #[test]
    fn zero_rate_disables() {
        let l = RateLimiter::new(0, 0);
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(l.check_at("a", t0).is_ok());
        }
    }

    #[test]
    fn tokens_hash_stably() {
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(new_token().starts_with("desk_"));
        assert_ne!(new_token(), new_token());
    }
}
