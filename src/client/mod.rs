//! The API client: typed requests, retries, SSE, the outbox and drafts.
//!
//! Everything here talks to a desk server only through [`ApiClient`]; the CLI and the
//! console share it, and share the [`Outbox`] and [`Drafts`] in the data directory.

mod admin;
mod api;
mod atomic;
mod drafts;
mod error;
mod events;
mod outbox;
mod retry;
pub mod when;

pub use api::{
    ApiClient, ClientOptions, PageQuery, TaskQuery, TicketQuery, estimate_skew, new_idempotency_key,
    redact_url,
};
pub use atomic::atomic_write;
pub use drafts::{Draft, DraftError, Drafts};
pub use error::ApiError;
pub use events::{EventStream, EventStreamOptions, StreamItem, read_cursor, write_cursor};
pub use outbox::{Delivery, EntryState, Outbox, OutboxEntry, OutboxError, keeps_pending};
pub use retry::{RetryPolicy, parse_http_date, parse_retry_after};
pub use when::{WhenError, parse_when};
