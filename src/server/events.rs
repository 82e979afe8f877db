//! Live events: one fan-out task per process reads new rows of the event log and broadcasts
//! them to the SSE streams of this process.
//!
//! The fan-out wakes up after every local commit that wrote events, on every PostgreSQL
//! `NOTIFY` (which carries only the event id: the table is always re-read, so a lost or
//! coalesced notification costs nothing), and once a second as a safety net (another
//! process on the same SQLite file, a listener reconnect). Each stream replays
//! `id > Last-Event-ID` from the table first, then follows the broadcast; if it falls too far
//! behind the broadcast it goes back to the table. Ids are delivered in order, each once.
//!
//! Delivery cost per stream is kept to a filter and a reference count: each event is turned
//! into its complete SSE frame (`id`, `event`, `data` lines) once, as shared `Bytes`, and the
//! response body is those frames as they are (axum's `Sse` would re-encode the event for every
//! stream: a copy of the JSON and a new buffer per stream per event).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::Clock;
use super::auth::Principal;
use super::error::AppError;
use super::store::{Dialect, NOTIFY_CHANNEL, Store};
use crate::model::{ErrorCode, Event, event_kind};

/// An event with the agent it is for (notifications), as broadcast inside the process.
#[derive(Debug)]
pub struct Routed {
    pub agent: Option<i64>,
    pub event: Event,
    /// The id of the event broadcast just before this one. The fan-out reads the table in id
    /// order, so nothing visible lies between the two: a stream that has delivered `after`
    /// can deliver this one even when the ids are not consecutive (PostgreSQL sequences skip
    /// the ids of rolled-back transactions), without going back to the table.
    pub after: i64,
    /// The event's whole SSE frame, built once and shared by every stream.
    pub frame: Bytes,
}

impl Routed {
    pub fn new(agent: Option<i64>, event: Event, after: i64) -> Routed {
        let frame = sse_frame(&event);
        Routed { agent, event, after, frame }
    }
}

/// `id: N\nevent: KIND\ndata: JSON\n\n`. Compact JSON has no line breaks (they are escaped
/// inside strings), so one `data:` line carries it; a line break in a kind read back from
/// the table would end the field early, so it is dropped.
fn sse_frame(e: &Event) -> Bytes {
    let json = serde_json::to_string(e).unwrap_or_else(|_| "{}".into());
    let kind: String = e.kind.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    Bytes::from(format!("id: {}\nevent: {kind}\ndata: {json}\n\n", e.id))
}

/// A comment line every 15 s while nothing else is sent, so proxies and clients can tell a
/// quiet stream from a dead one.
const KEEP_ALIVE: Bytes = Bytes::from_static(b": keep-alive\n\n");
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);

impl Routed {
    /// Agents get events of their teams, workspace-wide events, and their own notifications.
    pub fn visible_to(&self, who: &Principal) -> bool {
        if let Some(a) = self.agent
            && a != who.agent_id
        {
            return false;
        }
        match self.event.team_id {
            Some(t) => who.sees_team(t.0),
            None => true,
        }
    }
}

#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<Routed>>,
    /// Highest event id broadcast so far.
    last: Arc<AtomicI64>,
    streams: Arc<Mutex<HashMap<String, usize>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        let (tx, _) = broadcast::channel(8192);
        Hub { tx, last: Arc::new(AtomicI64::new(0)), streams: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// Every event this process fans out (background workers wake on them).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Routed>> {
        self.tx.subscribe()
    }

    /// Open `GET /events` streams in this process.
    pub fn stream_count(&self) -> usize {
        self.streams.lock().unwrap_or_else(|p| p.into_inner()).values().sum()
    }

    fn acquire(&self, key: &str, max: usize) -> Option<StreamPermit> {
        let mut s = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let n = s.entry(key.to_owned()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(StreamPermit { hub: self.clone(), key: key.to_owned() })
    }
}

struct StreamPermit {
    hub: Hub,
    key: String,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut s = self.hub.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = s.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                s.remove(&self.key);
            }
        }
    }
}

const BATCH: i64 = 500;

/// Reads everything after `last` and broadcasts it; returns the new `last`.
async fn drain(store: &Store, hub: &Hub, mut last: i64) -> i64 {
    loop {
        match store.events_after_with_target(last, BATCH).await {
            Ok(batch) => {
                let n = batch.len() as i64;
                for (agent, event) in batch {
                    let after = last;
                    last = event.id;
                    // No receiver is fine: nobody is listening right now.
                    let _ = hub.tx.send(Arc::new(Routed::new(agent, event, after)));
                }
                hub.last.store(last, Ordering::SeqCst);
                if n < BATCH {
                    return last;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e.message, "reading the event log failed; retrying on the next wake-up");
                return last;
            }
        }
    }
}

/// The fan-out task of this process (see the module docs); also prunes old events hourly.
pub async fn run_fanout(
    store: Store,
    hub: Hub,
    cancel: CancellationToken,
    retention: Duration,
    clock: Clock,
) {
    let mut last = store.last_event_id().await.unwrap_or(0);
    hub.last.store(last, Ordering::SeqCst);
    let mut listener = None;
    if store.dialect() == Dialect::Postgres {
        match sqlx::postgres::PgListener::connect(store.url()).await {
            Ok(mut l) => match l.listen(NOTIFY_CHANNEL).await {
                Ok(()) => listener = Some(l),
                Err(e) => tracing::warn!(error = %e, "LISTEN failed; falling back to polling every second"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot open a LISTEN connection; polling every second"),
        }
    }
    let mut poll = tokio::time::interval(Duration::from_secs(1));
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut prune = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = store.events_written.notified() => {}
            _ = poll.tick() => {}
            _ = prune.tick() => {
                let before = clock.now() - jiff::SignedDuration::try_from(retention).unwrap_or(jiff::SignedDuration::from_hours(168));
                if let Err(e) = store.prune_events(before).await {
                    tracing::warn!(error = %e.message, "pruning old events failed");
                }
            }
            n = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            } => {
                if let Err(e) = n {
                    tracing::warn!(error = %e, "LISTEN connection lost; it reconnects and the table is re-read");
                }
            }
        }
        last = drain(&store, &hub, last).await;
    }
}

/// Where a stream resumes: after this id.
pub fn parse_last_event_id(header: Option<&str>, query: Option<&str>) -> Result<Option<i64>, AppError> {
    match header.or(query) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| AppError::bad_request("Last-Event-ID", "Last-Event-ID must be an event id")),
    }
}

enum Phase {
    /// Reading the table after `last`.
    Replay,
    /// Following the broadcast.
    Live,
}

struct StreamState {
    store: Store,
    who: Principal,
    rx: broadcast::Receiver<Arc<Routed>>,
    last: i64,
    phase: Phase,
    queue: VecDeque<Bytes>,
    cancel: CancellationToken,
    keep_alive: tokio::time::Interval,
    _permit: StreamPermit,
}

/// `GET /events`: replay after `last_event_id`, then live; keep-alive comments every 15 s.
pub async fn stream(
    store: Store,
    hub: Hub,
    who: Principal,
    last_event_id: Option<i64>,
    cancel: CancellationToken,
    max_streams: usize,
) -> Result<Response, AppError> {
    let permit = hub.acquire(&who.token_hash, max_streams).ok_or_else(|| {
        AppError::new(ErrorCode::RateLimited, format!("at most {max_streams} event streams per token"))
            .retry(5)
    })?;
    // Subscribe before reading anything so that nothing falls between replay and live.
    let rx = hub.tx.subscribe();
    let mut queue = VecDeque::new();
    let newest = store.last_event_id().await?;
    let last = match last_event_id {
        None => newest,
        Some(id) => {
            let floor = store.event_floor().await?;
            if id < floor || id > newest {
                let data = serde_json::json!({"reason": "the requested events are no longer available; reload", "last_event_id": newest});
                queue.push_back(Bytes::from(format!(
                    "id: {newest}\nevent: {}\ndata: {data}\n\n",
                    event_kind::RESYNC
                )));
                newest
            } else {
                id
            }
        }
    };
    // The first tick of an interval is immediate; the first keep-alive is due after a period.
    let mut keep_alive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE_EVERY, KEEP_ALIVE_EVERY);
    keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = StreamState {
        store,
        who,
        rx,
        last,
        phase: Phase::Replay,
        queue,
        cancel,
        keep_alive,
        _permit: permit,
    };
    let s = futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.queue.pop_front() {
                return Some((Ok(ev), st));
            }
            match st.phase {
                Phase::Replay => {
                    let batch = match st.store.events_after_with_target(st.last, BATCH).await {
                        Ok(b) => b,
                        Err(_) => return None,
                    };
                    if (batch.len() as i64) < BATCH {
                        st.phase = Phase::Live;
                    }
                    for (agent, event) in batch {
                        st.last = event.id;
                        let r = Routed::new(agent, event, st.last);
                        if r.visible_to(&st.who) {
                            st.queue.push_back(r.frame.clone());
                        }
                    }
                }
                Phase::Live => {
                    let got = tokio::select! {
                        _ = st.cancel.cancelled() => return None,
                        r = st.rx.recv() => r,
                        _ = st.keep_alive.tick() => return Some((Ok::<_, Infallible>(KEEP_ALIVE), st)),
                    };
                    match got {
                        Ok(r) => {
                            if r.event.id <= st.last {
                                continue;
                            }
                            if r.after > st.last {
                                // A gap (the fan-out saw rows this stream has not): read the table.
                                st.phase = Phase::Replay;
                                continue;
                            }
                            st.last = r.event.id;
                            if r.visible_to(&st.who) {
                                return Some((Ok(r.frame.clone()), st));
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => st.phase = Phase::Replay,
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        }
    });
    let mut res = Body::from_stream(s).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Reverse proxies (nginx) buffer responses unless told not to; SSE must not be.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, data: serde_json::Value) -> Event {
        Event {
            id: 42,
            kind: kind.into(),
            ticket_id: None,
            team_id: None,
            at: jiff::Timestamp::UNIX_EPOCH,
            data,
        }
    }

    #[test]
    fn a_frame_is_one_event_whatever_the_text() {
        let e = event("ticket.updated", serde_json::json!({"summary": "two\nlines\r\nand data: x"}));
        let f = String::from_utf8(sse_frame(&e).to_vec()).expect("utf-8");
        assert!(f.starts_with("id: 42\nevent: ticket.updated\ndata: {"), "{f}");
        assert!(f.ends_with("}\n\n"));
        assert_eq!(f.matches('\n').count(), 4, "three field lines and the blank line: {f}");
        let data = f.lines().nth(2).and_then(|l| l.strip_prefix("data: ")).expect("data line");
        let back: Event = serde_json::from_str(data).expect("the data line is the event");
        assert_eq!(back.data, e.data);
        // A kind with a line break (corrupt row) cannot split the frame.
        let f = sse_frame(&event("bad\nkind", serde_json::json!(null)));
        assert_eq!(String::from_utf8_lossy(&f).matches('\n').count(), 4);
    }
}
