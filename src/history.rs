//! Call history: one entry per finished call, newest first, capped.
//!
//! The worker persists the whole list as JSON in `chrome.storage.local`
//! (key [`STORAGE_KEY`]) after every change; a stored list that no longer
//! parses is replaced rather than allowed to stop the worker. Times are Unix
//! milliseconds (wall clock, so they survive restarts), given by the caller.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// chrome.storage.local key of the persisted list.
pub const STORAGE_KEY: &str = "call_history";
/// Most entries kept; the oldest are evicted first.
pub const MAX_ENTRIES: usize = 1000;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    Outgoing,
    /// Incoming and answered.
    Incoming,
    /// Incoming, the caller gave up (or another device answered) before we did.
    Missed,
    /// Incoming, declined here.
    Rejected,
    /// Incoming, sent elsewhere (voicemail) before answering.
    Forwarded,
}

/// How the call ended, for the list's result column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallResult {
    /// Talked; ended by either side.
    Answered,
    /// Outgoing call cancelled by us before an answer.
    Cancelled,
    /// Outgoing call refused with 486/600.
    Busy,
    /// Outgoing call refused otherwise (404, 603, 480…).
    Failed,
    /// Incoming call the caller gave up on.
    NoAnswer,
    /// Incoming call declined here.
    Declined,
    /// Sent elsewhere (voicemail / redirected).
    Forwarded,
    /// Handed to someone else by a transfer.
    Transferred,
    /// The connection dropped during the call.
    ConnectionLost,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Unique within this profile's history; never reused.
    pub id: u64,
    pub kind: HistoryKind,
    /// The remote party's number (SIP user part) or URI.
    pub number: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Unix ms when the call started ringing / was dialled.
    pub start: f64,
    /// Talk time in seconds (0 if never answered).
    #[serde(default)]
    pub duration_s: u64,
    pub result: CallResult,
    #[serde(default)]
    pub note: String,
    /// SIP status of a failed outgoing call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HistoryError {
    #[error("no history entry with id {0}")]
    NoSuchEntry(u64),
    #[error("note longer than {MAX_NOTE_CHARS} characters")]
    NoteTooLong,
}

/// The list, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    entries: Vec<HistoryEntry>,
    next_id: u64,
}

impl History {
    /// From the stored JSON; garbage gives an empty history and the error
    /// text for the console, never a panic.
    pub fn from_json(text: &str) -> (History, Option<String>) {
        match serde_json::from_str::<Vec<HistoryEntry>>(text) {
            Ok(mut entries) => {
                entries.sort_by(|a, b| b.start.total_cmp(&a.start));
                entries.truncate(MAX_ENTRIES);
                let next_id = entries.iter().map(|e| e.id + 1).max().unwrap_or(0);
                (History { entries, next_id }, None)
            }
            Err(e) => (History::default(), Some(e.to_string())),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.entries).unwrap_or_else(|_| "[]".to_owned())
    }

    pub fn entries(&self) -> &[HistoryEntry] {
        &self.entries
    }

    /// Records a finished call (its `id` is assigned here) and returns the id.
    pub fn add(&mut self, mut entry: HistoryEntry) -> u64 {
        entry.id = self.next_id;
        self.next_id += 1;
        let at = self
            .entries
            .iter()
            .position(|e| e.start <= entry.start)
            .unwrap_or(self.entries.len());
        self.entries.insert(at, entry);
        self.entries.truncate(MAX_ENTRIES);
        self.next_id - 1
    }

    pub fn set_note(&mut self, id: u64, note: &str) -> Result<(), HistoryError> {
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(HistoryError::NoteTooLong);
        }
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.id == id)
            .ok_or(HistoryError::NoSuchEntry(id))?;
        entry.note = note.to_owned();
        Ok(())
    }

    /// Deletes these entries (unknown ids are ignored: the list may have
    /// changed since the popup read it); returns how many went.
    pub fn delete(&mut self, ids: &[u64]) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| !ids.contains(&e.id));
        before - self.entries.len()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(start: f64) -> HistoryEntry {
        HistoryEntry {
            id: 0,
            kind: HistoryKind::Outgoing,
            number: "1002".into(),
            name: None,
            start,
            duration_s: 3,
            result: CallResult::Answered,
            note: String::new(),
            status_code: None,
        }
    }

    #[test]
    fn newest_first_and_capped_with_the_oldest_evicted() {
        let mut h = History::default();
        for i in 0..(MAX_ENTRIES as u64 + 5) {
            h.add(entry(i as f64));
        }
        assert_eq!(h.entries().len(), MAX_ENTRIES);
        assert_eq!(h.entries()[0].start, (MAX_ENTRIES + 4) as f64);
        assert_eq!(h.entries().last().map(|e| e.start), Some(5.0));
    }

    #[test]
    fn survives_a_json_round_trip_and_keeps_ids_unique() {
        let mut h = History::default();
        let a = h.add(entry(1.0));
        h.set_note(a, "called back").unwrap();
        let (mut back, err) = History::from_json(&h.to_json());
        assert_eq!(err, None);
        assert_eq!(back, h);
        let b = back.add(entry(2.0));
        assert_ne!(a, b);
        assert_eq!(back.entries()[1].note, "called back");
    }

    #[test]
    fn bad_storage_and_bad_requests_are_errors_not_panics() {
        let (h, err) = History::from_json("{not json");
        assert!(h.entries().is_empty());
        assert!(err.is_some());
        let mut h = History::default();
        assert_eq!(h.set_note(9, "x"), Err(HistoryError::NoSuchEntry(9)));
        let id = h.add(entry(1.0));
        assert_eq!(
            h.set_note(id, &"x".repeat(MAX_NOTE_CHARS + 1)),
            Err(HistoryError::NoteTooLong)
        );
        assert_eq!(h.delete(&[id, 77]), 1);
        assert!(h.entries().is_empty());
    }

    #[test]
    fn wire_form_is_snake_case() {
        let text = serde_json::to_string(&entry(5.0)).unwrap();
        assert_eq!(
            text,
            r#"{"id":0,"kind":"outgoing","number":"1002","name":null,"start":5.0,"duration_s":3,"result":"answered","note":""}"#
        );
    }
}
