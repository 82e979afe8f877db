//! The API client: typed requests, retries, SSE, the outbox and drafts.
