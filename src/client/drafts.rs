//! Drafts: what an agent is writing on a ticket, saved atomically while typing and on exit
//! (`<data>/drafts/<ticket id>.json`), so a crash or a closed terminal loses nothing.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::atomic::{atomic_write, sync_dir};
use crate::model::{TicketId, Visibility};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub ticket_id: TicketId,
    /// A public reply or an internal note.
    pub visibility: Visibility,
    /// Markdown as typed.
    pub body: String,
    pub updated_at: Timestamp,
    /// The ticket version the agent was looking at, to warn when it changed meanwhile.
    #[serde(default)]
    pub base_version: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("draft {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("draft {} is unreadable ({message}); move it away or delete it", path.display())]
    Corrupt { path: PathBuf, message: String },
}

#[derive(Debug, Clone)]
pub struct Drafts {
    dir: PathBuf,
}

impl Drafts {
    pub fn open(data_dir: &Path) -> Drafts {
        Drafts { dir: data_dir.join("drafts") }
    }

    fn path(&self, id: TicketId) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Saves (replaces) the ticket's draft; an all-blank body deletes it instead.
    pub fn save(&self, draft: &Draft) -> Result<(), DraftError> {
        if draft.body.trim().is_empty() {
            return self.delete(draft.ticket_id).map(drop);
        }
        let path = self.path(draft.ticket_id);
        let bytes = serde_json::to_vec_pretty(draft)
            .map_err(|e| DraftError::Corrupt { path: path.clone(), message: e.to_string() })?;
        atomic_write(&path, &bytes).map_err(|source| DraftError::Io { path, source })
    }

    pub fn load(&self, id: TicketId) -> Result<Option<Draft>, DraftError> {
        let path = self.path(id);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| DraftError::Corrupt { path, message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(DraftError::Io { path, source }),
        }
    }

    /// Removes the draft (after its message went to the outbox); true if there was one.
    pub fn delete(&self, id: TicketId) -> Result<bool, DraftError> {
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(DraftError::Io { path, source }),
        }
    }

    /// Every saved draft, most recently edited first (unreadable files are skipped and logged).
    pub fn list(&self) -> Result<Vec<Draft>, DraftError> {
        let read = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(DraftError::Io { path: self.dir.clone(), source }),
        };
        let mut out = Vec::new();
        for item in read.flatten() {
            let path = item.path();
            let Some(id) = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<i64>().ok())
            else {
                continue;
            };
            match self.load(TicketId(id)) {
                Ok(Some(d)) => out.push(d),
                Ok(None) => {}
                Err(e) => tracing::warn!("{e}"),
            }
        }
        out.sort_by_key(|d| std::cmp::Reverse(d.updated_at));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(id: i64, body: &str, at: &str) -> Draft {
        Draft {
            ticket_id: TicketId(id),
            visibility: Visibility::Internal,
            body: body.into(),
            updated_at: at.parse().unwrap(),
            base_version: Some(3),
        }
    }

    #[test]
    fn save_load_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = Drafts::open(dir.path());
        assert_eq!(drafts.load(TicketId(1)).unwrap(), None);
        drafts.save(&draft(1, "first", "2026-01-01T00:00:00Z")).unwrap();
        drafts.save(&draft(2, "second", "2026-01-02T00:00:00Z")).unwrap();
        drafts.save(&draft(1, "first, edited", "2026-01-03T00:00:00Z")).unwrap();
        assert_eq!(drafts.load(TicketId(1)).unwrap().unwrap().body, "first, edited");
        let ids: Vec<i64> = drafts.list().unwrap().iter().map(|d| d.ticket_id.0).collect();
        assert_eq!(ids, vec![1, 2]);
        drafts.save(&draft(2, "  \n", "2026-01-04T00:00:00Z")).unwrap();
        assert_eq!(drafts.load(TicketId(2)).unwrap(), None);
        assert!(drafts.delete(TicketId(1)).unwrap());
        assert!(drafts.list().unwrap().is_empty());
    }
}
