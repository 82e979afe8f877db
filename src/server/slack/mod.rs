//! Slack: Events API ingestion (signature, store-then-ack, background processing), the admin
//! configuration of workspaces and channels, and replies out through a durable job table.
//!
//! Flow in: `POST /api/v1/integrations/slack/events` verifies the signature, stores the raw
//! envelope under its UNIQUE `event_id` and answers 200 at once; the ingest worker of any
//! instance claims unprocessed envelopes (a lease, so a crash after the ack loses nothing and
//! two instances never process one twice) and turns them into tickets and messages.
//! Flow out: a public reply on a Slack-born ticket writes an `outbound_jobs` row in the same
//! transaction; the outbound worker claims due jobs and calls `chat.postMessage`.

pub mod admin;
pub mod envelope;
pub mod ingest;
pub mod outbound;
pub mod signature;

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

/// What the Slack and automation workers of one process share.
pub struct Runtime {
    /// Names this process in job and envelope leases.
    pub instance: String,
    /// Slack Web API base URL (`https://slack.com/api` in production).
    pub api_url: String,
    pub http: reqwest::Client,
    /// Wakes the ingest worker after an envelope was stored.
    pub envelopes: Notify,
    pub metrics: Metrics,
}

impl Runtime {
    pub fn new(api_url: &str) -> Runtime {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Runtime {
            instance: format!("{}-{}", std::process::id(), hex::encode(rand::random::<[u8; 4]>())),
            api_url: api_url.trim_end_matches('/').to_owned(),
            http,
            envelopes: Notify::new(),
            metrics: Metrics::default(),
        }
    }
}

/// Counters for `/metrics` (this process only; Prometheus sums instances).
#[derive(Default)]
pub struct Metrics {
    pub http_requests: AtomicU64,
    pub slack_envelopes_stored: AtomicU64,
    pub slack_envelopes_duplicate: AtomicU64,
    pub slack_signature_rejected: AtomicU64,
    pub slack_envelopes_processed: AtomicU64,
    pub slack_envelopes_failed: AtomicU64,
    pub slack_posts_ok: AtomicU64,
    pub slack_posts_retried: AtomicU64,
    pub slack_posts_failed: AtomicU64,
    pub auto_replies: AtomicU64,
    pub sla_warnings: AtomicU64,
}

pub fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}
