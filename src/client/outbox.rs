//! The local outbox (DESIGN §9): a reply or note is written here, with the idempotency key
//! it will be sent with, before the request goes out, and leaves only when the server
//! answered 2xx. Transient failures keep it pending (retried on the next command and after
//! reconnects); a refusal (a 4xx other than 408/429) moves it to `failed/`, where
//! `desk outbox` shows it for a manual retry or discard.
//!
//! Layout: `<data>/outbox/pending/<id>.json` and `<data>/outbox/failed/<id>.json`, one
//! atomically written file per entry, so two desk processes never corrupt each other; if
//! both send the same entry, the shared idempotency key makes the server store it once.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::api::{ApiClient, new_idempotency_key};
use super::atomic::{atomic_write, sync_dir};
use super::error::ApiError;
use crate::model::{Message, NewMessage, TicketId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Short local id, for `desk outbox retry ID`.
    pub id: String,
    pub idempotency_key: String,
    pub ticket_id: TicketId,
    pub message: NewMessage,
    pub created_at: Timestamp,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    Pending,
    Failed,
}

/// The outcome of one delivery attempt.
#[derive(Debug)]
pub enum Delivery {
    /// The server stored it (`None` if its 2xx body could not be read); the entry is gone.
    Sent(Option<Message>),
    /// A transient failure (server down, rate limited, token refused): still pending.
    Kept(ApiError),
    /// The server refused it: moved to the failed list.
    Failed(ApiError),
}

/// How long a `.sending` marker holds before it counts as left behind by a crash.
const SENDING_STALE: std::time::Duration = std::time::Duration::from_secs(120);

/// Marks an entry as being sent by this process; removed on drop.
struct Sending(PathBuf);

impl Drop for Sending {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("outbox entry {} is unreadable ({message}); move it away or delete it", path.display())]
    Corrupt { path: PathBuf, message: String },
}

#[derive(Debug, Clone)]
pub struct Outbox {
    root: PathBuf,
}

impl Outbox {
    /// The outbox under `data_dir`; directories are created on first write.
    pub fn open(data_dir: &Path) -> Outbox {
        Outbox { root: data_dir.join("outbox") }
    }

    fn dir(&self, state: EntryState) -> PathBuf {
        self.root.join(match state {
            EntryState::Pending => "pending",
            EntryState::Failed => "failed",
        })
    }

    fn path(&self, state: EntryState, id: &str) -> PathBuf {
        self.dir(state).join(format!("{id}.json"))
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutboxError + '_ {
        move |source| OutboxError::Io { path: path.to_path_buf(), source }
    }

    fn write(&self, state: EntryState, entry: &OutboxEntry) -> Result<(), OutboxError> {
        let path = self.path(state, &entry.id);
        let bytes = serde_json::to_vec_pretty(entry)
            .map_err(|e| OutboxError::Corrupt { path: path.clone(), message: e.to_string() })?;
        atomic_write(&path, &bytes).map_err(Self::io(&path))
    }

    /// Saves a message to send, with a fresh idempotency key, before anything is sent.
    pub fn enqueue(&self, ticket_id: TicketId, message: NewMessage) -> Result<OutboxEntry, OutboxError> {
        let entry = OutboxEntry {
            id: hex::encode(rand::random::<[u8; 4]>()),
            idempotency_key: new_idempotency_key(),
            ticket_id,
            message,
            created_at: Timestamp::now(),
            attempts: 0,
            last_error: None,
        };
        self.write(EntryState::Pending, &entry)?;
        Ok(entry)
    }

    /// Entries in one state, oldest first.
    pub fn list(&self, state: EntryState) -> Result<Vec<OutboxEntry>, OutboxError> {
        let dir = self.dir(state);
        let read = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Self::io(&dir)(e)),
        };
        let mut out = Vec::new();
        for item in read {
            let path = item.map_err(Self::io(&dir))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue; // temp files of a write in progress
            }
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                // Another process delivered it meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Self::io(&path)(e)),
            };
            let entry: OutboxEntry = serde_json::from_slice(&bytes)
                .map_err(|e| OutboxError::Corrupt { path: path.clone(), message: e.to_string() })?;
            out.push(entry);
        }
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    pub fn pending(&self) -> Result<Vec<OutboxEntry>, OutboxError> {
        self.list(EntryState::Pending)
    }

    pub fn failed(&self) -> Result<Vec<OutboxEntry>, OutboxError> {
        self.list(EntryState::Failed)
    }

    /// Finds an entry by id (or unique id prefix) in either list.
    pub fn find(&self, id: &str) -> Result<Option<(EntryState, OutboxEntry)>, OutboxError> {
        let mut hits = Vec::new();
        for state in [EntryState::Pending, EntryState::Failed] {
            for e in self.list(state)? {
                if e.id == id {
                    return Ok(Some((state, e)));
                }
                if !id.is_empty() && e.id.starts_with(id) {
                    hits.push((state, e));
                }
            }
        }
        Ok(if hits.len() == 1 { hits.pop() } else { None })
    }

    fn remove(&self, state: EntryState, id: &str) -> Result<bool, OutboxError> {
        let path = self.path(state, id);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir(state));
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Self::io(&path)(e)),
        }
    }

    /// Moves a failed entry back to pending (keeping its idempotency key); false if no such entry.
    pub fn retry(&self, id: &str) -> Result<bool, OutboxError> {
        let Some((state, mut entry)) = self.find(id)? else { return Ok(false) };
        if state == EntryState::Failed {
            entry.last_error = None;
            self.write(EntryState::Pending, &entry)?;
            self.remove(EntryState::Failed, &entry.id)?;
        }
        Ok(true)
    }

    /// Deletes an entry for good; false if no such entry.
    pub fn discard(&self, id: &str) -> Result<bool, OutboxError> {
        let Some((state, entry)) = self.find(id)? else { return Ok(false) };
        self.remove(state, &entry.id)
    }

    /// Claims an entry for sending, so that two processes never send it at the same time
    /// (the idempotency key already makes that harmless; this keeps it from happening).
    fn claim(&self, id: &str) -> Result<Option<Sending>, OutboxError> {
        let path = self.dir(EntryState::Pending).join(format!("{id}.sending"));
        std::fs::create_dir_all(self.dir(EntryState::Pending)).map_err(Self::io(&path))?;
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(_) => return Ok(Some(Sending(path))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok());
                    if age.is_some_and(|a| a < SENDING_STALE) {
                        return Ok(None);
                    }
                    // Left behind by a process that died mid-send: take it over.
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(Self::io(&path)(e)),
            }
        }
        Ok(None)
    }

    /// Sends one pending entry and files it by the outcome. An entry that another desk
    /// process is sending at this moment is `Kept`, with an error that says so.
    pub async fn deliver(&self, client: &ApiClient, entry: &OutboxEntry) -> Result<Delivery, OutboxError> {
        Ok(self.try_deliver(client, entry).await?.unwrap_or_else(|| {
            Delivery::Kept(ApiError::Unavailable {
                url: client.base_url(),
                reason: format!("outbox entry {} is being sent by another desk process", entry.id),
            })
        }))
    }

    /// `None` when another process is sending the entry (or already sent it).
    async fn try_deliver(
        &self,
        client: &ApiClient,
        entry: &OutboxEntry,
    ) -> Result<Option<Delivery>, OutboxError> {
        let Some(_sending) = self.claim(&entry.id)? else {
            return Ok(None);
        };
        if !self.path(EntryState::Pending, &entry.id).exists() {
            // Delivered (or discarded) by another process since we listed it.
            return Ok(None);
        }
        let result = client.post_message(entry.ticket_id, &entry.message, Some(&entry.idempotency_key)).await;
        let (delivery, refused) = match result {
            Ok(message) => (Delivery::Sent(Some(message)), false),
            // The server answered 2xx: it has the message even if we cannot read the answer.
            Err(ApiError::Decode { .. }) => (Delivery::Sent(None), false),
            Err(e) if keeps_pending(&e) => (Delivery::Kept(e), false),
            Err(e) => (Delivery::Failed(e), true),
        };
        match &delivery {
            Delivery::Sent(_) => {
                self.remove(EntryState::Pending, &entry.id)?;
            }
            Delivery::Kept(e) | Delivery::Failed(e) => {
                let mut updated = entry.clone();
                updated.attempts += 1;
                updated.last_error = Some(e.to_string());
                if refused {
                    self.write(EntryState::Failed, &updated)?;
                    self.remove(EntryState::Pending, &entry.id)?;
                } else if self.path(EntryState::Pending, &entry.id).exists() {
                    self.write(EntryState::Pending, &updated)?;
                }
            }
        }
        Ok(Some(delivery))
    }

    /// Sends every pending entry, oldest first. Stops at the first transient failure (the
    /// server is down or busy: the rest would fail the same way) and at an entry another
    /// process is sending (it sends the rest, in order), leaving the rest pending.
    pub async fn flush(&self, client: &ApiClient) -> Result<Vec<(OutboxEntry, Delivery)>, OutboxError> {
        let mut out = Vec::new();
        for entry in self.pending()? {
            // Another process is sending this one: it sends the rest too, in order.
            let Some(delivery) = self.try_deliver(client, &entry).await? else { break };
            let stop = matches!(delivery, Delivery::Kept(_));
            out.push((entry, delivery));
            if stop {
                break;
            }
        }
        Ok(out)
    }
}

/// Errors that say nothing about the message itself: retry later rather than fail it.
/// 401 is among them on purpose: after `desk login` the entry goes out by itself.
pub fn keeps_pending(e: &ApiError) -> bool {
    e.is_transient() || matches!(e, ApiError::Unauthenticated { .. } | ApiError::Config(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Visibility;

    fn msg(text: &str) -> NewMessage {
        NewMessage { visibility: Visibility::Public, body_markdown: Some(text.into()), body_tiptap: None }
    }

    #[test]
    fn enqueue_list_retry_discard() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path());
        assert!(outbox.pending().unwrap().is_empty());
        let a = outbox.enqueue(TicketId(1), msg("a")).unwrap();
        let b = outbox.enqueue(TicketId(2), msg("b")).unwrap();
        assert_ne!(a.idempotency_key, b.idempotency_key);
        let pending = outbox.pending().unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[0], a);

        // Simulate a refusal: move to failed the way `deliver` does.
        outbox.write(EntryState::Failed, &a).unwrap();
        outbox.remove(EntryState::Pending, &a.id).unwrap();
        assert_eq!(outbox.failed().unwrap(), vec![a.clone()]);
        assert_eq!(outbox.find(&a.id).unwrap().map(|(s, _)| s), Some(EntryState::Failed));

        assert!(outbox.retry(&a.id).unwrap());
        assert!(outbox.failed().unwrap().is_empty());
        let again = outbox.find(&a.id).unwrap().unwrap();
        assert_eq!((again.0, again.1.idempotency_key), (EntryState::Pending, a.idempotency_key.clone()));

        assert!(outbox.discard(&b.id).unwrap());
        assert!(!outbox.discard(&b.id).unwrap());
        assert!(!outbox.retry("nope").unwrap());
        assert_eq!(outbox.pending().unwrap().len(), 1);
    }

    #[test]
    fn a_corrupt_entry_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path());
        std::fs::create_dir_all(dir.path().join("outbox/pending")).unwrap();
        std::fs::write(dir.path().join("outbox/pending/zz.json"), "{").unwrap();
        let err = outbox.pending().unwrap_err().to_string();
        assert!(err.contains("zz.json"), "{err}");
    }

    #[tokio::test]
    async fn delivery_to_a_dead_server_keeps_the_entry_pending() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path());
        let entry = outbox.enqueue(TicketId(1), msg("hello")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let opts = super::super::ClientOptions {
            retry: super::super::RetryPolicy::none(),
            ..super::super::ClientOptions::default()
        };
        let client = ApiClient::new(&format!("http://127.0.0.1:{port}"), Some("t".into()), opts).unwrap();
        let report = outbox.flush(&client).await.unwrap();
        assert!(matches!(report.as_slice(), [(_, Delivery::Kept(ApiError::Unavailable { .. }))]));
        let pending = outbox.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].idempotency_key, entry.idempotency_key);
        assert_eq!(pending[0].attempts, 1);
        assert!(pending[0].last_error.as_deref().unwrap_or("").contains("unavailable"));
    }

    #[tokio::test]
    async fn an_entry_being_sent_elsewhere_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path());
        let entry = outbox.enqueue(TicketId(1), msg("hello")).unwrap();
        let held = outbox.claim(&entry.id).unwrap().expect("first claim wins");
        assert!(outbox.claim(&entry.id).unwrap().is_none(), "second claim loses");
        // Nothing listens on this port, but no request is even attempted.
        let client =
            ApiClient::new("http://127.0.0.1:9", None, super::super::ClientOptions::default()).unwrap();
        match outbox.deliver(&client, &entry).await.unwrap() {
            Delivery::Kept(e) => assert!(e.to_string().contains("another desk process"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert!(outbox.flush(&client).await.unwrap().is_empty(), "flush leaves it to the other process");
        drop(held);
        assert!(outbox.claim(&entry.id).unwrap().is_some(), "released on drop");
        assert_eq!(outbox.pending().unwrap().len(), 1, "marker files are not entries");
    }

    #[test]
    fn which_errors_keep_an_entry() {
        assert!(keeps_pending(&ApiError::RateLimited { url: "u".into(), retry_after: None }));
        assert!(keeps_pending(&ApiError::Unauthenticated { message: "m".into() }));
        assert!(!keeps_pending(&ApiError::NotFound { message: "m".into(), request_id: None }));
        assert!(!keeps_pending(&ApiError::Validation {
            code: crate::model::ErrorCode::ValidationFailed,
            field: None,
            message: "m".into()
        }));
    }
}
