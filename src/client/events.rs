//! The live event stream (`GET /api/v1/events`, Server-Sent Events).
//!
//! A background task owns the connection: it parses SSE with `eventsource-stream`, resumes
//! with `Last-Event-ID` after any disconnect (with backoff and jitter), persists the last id
//! so that the next process resumes too, and reports what happens as [`StreamItem`]s.
//! Dropping the [`EventStream`] stops the task.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use reqwest::header;
use tokio::sync::mpsc;

use super::api::{ApiClient, describe};
use super::error::ApiError;
use crate::model::{Event, event_kind};

/// What the stream reports.
#[derive(Debug, Clone)]
pub enum StreamItem {
    /// The stream is (again) connected. After a reconnect, flush the outbox.
    Connected {
        reconnect: bool,
    },
    Event(Event),
    /// The server cannot replay from our last id: refetch whatever is shown.
    Resync,
    /// The connection dropped or could not be made; the next try is in `retry_in`.
    Disconnected {
        error: ApiError,
        retry_in: Duration,
    },
    /// A refusal that retrying will not fix (bad token, forbidden); the stream ends.
    Failed(ApiError),
}

/// Where the subscription starts and where it remembers its position.
#[derive(Debug, Clone, Default)]
pub struct EventStreamOptions {
    /// Resume after this id. `None`: the id in `cursor_file`, else only new events.
    pub last_event_id: Option<i64>,
    /// File that holds the last seen id (e.g. `Paths::events_cursor_file(profile)`).
    pub cursor_file: Option<PathBuf>,
}

/// A subscription; a `Stream` of [`StreamItem`]s that never ends on its own except after
/// [`StreamItem::Failed`].
pub struct EventStream {
    rx: mpsc::Receiver<StreamItem>,
    task: tokio::task::AbortHandle,
    cursor_file: Option<PathBuf>,
}

impl Stream for EventStream {
    type Item = StreamItem;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<StreamItem>> {
        let item = self.rx.poll_recv(cx);
        // The position is saved when the consumer takes an event, not when the connection
        // reads it: events still queued when the process ends are replayed next time.
        if let (Poll::Ready(Some(StreamItem::Event(ev))), Some(path)) = (&item, &self.cursor_file)
            && let Err(e) = write_cursor(path, ev.id)
        {
            tracing::warn!("cannot save the event cursor {}: {e}", path.display());
        }
        item
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ApiClient {
    /// Starts the subscription on the current tokio runtime.
    pub fn subscribe_events(&self, options: EventStreamOptions) -> EventStream {
        let (tx, rx) = mpsc::channel(256);
        let start = options.last_event_id.or_else(|| options.cursor_file.as_deref().and_then(read_cursor));
        let task = tokio::spawn(run(self.clone(), start, tx)).abort_handle();
        EventStream { rx, task, cursor_file: options.cursor_file }
    }
}

/// Reads a persisted event id; a missing or garbled file means "no position".
pub fn read_cursor(path: &Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Saves the id with a rename so the file is never half-written. No fsync: losing the
/// last few ids in a crash only replays a few events.
pub fn write_cursor(path: &Path, id: i64) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, id.to_string())?;
    std::fs::rename(&tmp, path)
}

async fn run(client: ApiClient, mut last_id: Option<i64>, tx: mpsc::Sender<StreamItem>) {
    let policy = client.options().retry.clone();
    let mut failures = 0u32;
    let mut connected_before = false;
    loop {
        let mut server_retry: Option<Duration> = None;
        let error = match client.url("api/v1/events") {
            Err(e) => {
                let _ = tx.send(StreamItem::Failed(e)).await;
                return;
            }
            Ok(url) => {
                let shown = url.to_string();
                let mut rb = client.stream_http().get(url).header(header::ACCEPT, "text/event-stream");
                rb = client.authorize(rb);
                if let Some(id) = last_id {
                    rb = rb.header("Last-Event-ID", id.to_string());
                }
                tracing::debug!(target: "desk::http", "GET {shown} (event stream, last id {last_id:?})");
                let sent = jiff::Timestamp::now();
                match rb.send().await {
                    Ok(resp) if resp.status().is_success() => {
                        client.note_date(resp.headers(), sent, jiff::Timestamp::now());
                        if tx.send(StreamItem::Connected { reconnect: connected_before }).await.is_err() {
                            return;
                        }
                        connected_before = true;
                        let opened = Instant::now();
                        let mut events = resp.bytes_stream().eventsource();
                        let reason = loop {
                            match events.next().await {
                                Some(Ok(ev)) => {
                                    if let Some(r) = ev.retry {
                                        server_retry = Some(r);
                                    }
                                    let Some(item) = to_item(&ev.event, &ev.id, &ev.data, &mut last_id)
                                    else {
                                        continue;
                                    };
                                    failures = 0;
                                    if tx.send(item).await.is_err() {
                                        return;
                                    }
                                }
                                Some(Err(e)) => break e.to_string(),
                                None => break "the server closed the stream".to_owned(),
                            }
                        };
                        if opened.elapsed() > Duration::from_secs(10) {
                            failures = 0;
                        }
                        ApiError::Unavailable { url: shown, reason }
                    }
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let retry_after = resp
                            .headers()
                            .get(header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| super::retry::parse_retry_after(v, jiff::Timestamp::now()));
                        let body = resp.bytes().await.unwrap_or_default();
                        let err = ApiError::from_response(status, &shown, retry_after, &body);
                        if matches!(
                            err,
                            ApiError::Unauthenticated { .. }
                                | ApiError::Forbidden { .. }
                                | ApiError::NotFound { .. }
                                | ApiError::Validation { .. }
                        ) {
                            let _ = tx.send(StreamItem::Failed(err)).await;
                            return;
                        }
                        server_retry = retry_after.or(server_retry);
                        err
                    }
                    Err(e) => ApiError::Unavailable { url: shown, reason: describe(&e) },
                }
            }
        };
        let backoff = policy.backoff(failures.min(16), rand::random::<f64>());
        let retry_in = server_retry.map_or(backoff, |r| r.max(backoff));
        failures = failures.saturating_add(1);
        tracing::debug!(target: "desk::http", "event stream: {error}; reconnecting in {} ms", retry_in.as_millis());
        if tx.send(StreamItem::Disconnected { error, retry_in }).await.is_err() {
            return;
        }
        tokio::time::sleep(retry_in).await;
    }
}

/// One SSE message to a stream item, advancing `last_id`. `None` for messages to skip
/// (unparseable data is logged, never fatal: a newer server may send more).
fn to_item(kind: &str, id: &str, data: &str, last_id: &mut Option<i64>) -> Option<StreamItem> {
    let sse_id = id.trim().parse::<i64>().ok();
    if kind == event_kind::RESYNC {
        if sse_id.is_some() {
            *last_id = sse_id;
        }
        return Some(StreamItem::Resync);
    }
    match serde_json::from_str::<Event>(data) {
        Ok(event) => {
            *last_id = Some(sse_id.unwrap_or(event.id));
            Some(StreamItem::Event(event))
        }
        Err(e) => {
            if sse_id.is_some() {
                *last_id = sse_id;
            }
            tracing::warn!("skipping an event that does not parse ({e}): {kind}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_advance_the_cursor_and_resync_is_reported() {
        let mut last = Some(3);
        let data = r#"{"id":7,"kind":"ticket.updated","ticket_id":5,"team_id":1,"at":"2026-01-01T00:00:00Z","data":{}}"#;
        match to_item("ticket.updated", "7", data, &mut last) {
            Some(StreamItem::Event(e)) => assert_eq!((e.id, e.kind.as_str()), (7, "ticket.updated")),
            other => panic!("{other:?}"),
        }
        assert_eq!(last, Some(7));
        assert!(matches!(to_item("resync", "12", "{}", &mut last), Some(StreamItem::Resync)));
        assert_eq!(last, Some(12));
        assert!(to_item("ticket.updated", "13", "not json", &mut last).is_none());
        assert_eq!(last, Some(13));
    }

    #[test]
    fn cursor_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/events-default.cursor");
        assert_eq!(read_cursor(&path), None);
        write_cursor(&path, 42).unwrap();
        assert_eq!(read_cursor(&path), Some(42));
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(read_cursor(&path), None);
    }
}
