//! The user's own status as shown to colleagues: Available, Away, … with a
//! short message, optionally only for a while ("Lunch break until 13:30"),
//! after which it reverts by itself.
//!
//! Wall-clock time comes in as unix milliseconds (`Date.now()` in the
//! worker): a temporary status is chosen as a time of day, and it must end at
//! that time even if the browser slept or the worker was restarted between.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest status message; the header shows it on one line.
pub const MAX_NOTE_CHARS: usize = 80;
/// A temporary status lasts at most a week: anything longer is a normal one.
pub const MAX_TEMPORARY_MS: i64 = 7 * 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Available,
    Away,
    BusinessTrip,
    DoNotDisturb,
    LunchBreak,
    OffWork,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Available,
        Status::Away,
        Status::BusinessTrip,
        Status::DoNotDisturb,
        Status::LunchBreak,
        Status::OffWork,
    ];

    /// The wire name, also the `data-status` attribute in the popup.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "available",
            Status::Away => "away",
            Status::BusinessTrip => "business_trip",
            Status::DoNotDisturb => "do_not_disturb",
            Status::LunchBreak => "lunch_break",
            Status::OffWork => "off_work",
        }
    }

    pub fn message_key(self) -> &'static str {
        match self {
            Status::Available => "statusAvailable",
            Status::Away => "statusAway",
            Status::BusinessTrip => "statusBusinessTrip",
            Status::DoNotDisturb => "statusDoNotDisturb",
            Status::LunchBreak => "statusLunchBreak",
            Status::OffWork => "statusOffWork",
        }
    }
}

/// What the status returns to when a temporary one ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Temporary {
    /// Unix milliseconds.
    pub until_ms: i64,
    pub revert_to: Status,
    #[serde(default)]
    pub revert_note: String,
}

/// The current status; stored by the worker and part of every snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub status: Status,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub temporary: Option<Temporary>,
}

/// How long a new status lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Until {
    /// For this many seconds from now.
    Seconds(u32),
    /// Until this unix millisecond.
    At(i64),
}

/// The `set_status` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: Status,
    #[serde(default)]
    pub note: String,
    /// `None`: until changed again.
    #[serde(default)]
    pub until: Option<Until>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceError {
    #[error("the status message is too long")]
    NoteTooLong,
    #[error("the end of a temporary status must be in the future")]
    EndInPast,
    #[error("a temporary status lasts at most a week")]
    TooLong,
}

impl PresenceError {
    pub fn message_key(self) -> &'static str {
        match self {
            PresenceError::NoteTooLong => "errNoteTooLong",
            PresenceError::EndInPast => "errStatusEndInPast",
            PresenceError::TooLong => "errStatusTooLong",
        }
    }
}

impl Presence {
    /// The status after the user's `change` at `now_ms`. A temporary status
    /// reverts to the last permanent one, even when it replaces another
    /// temporary status.
    pub fn apply(&self, change: &StatusChange, now_ms: i64) -> Result<Presence, PresenceError> {
        let note = change.note.trim();
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(PresenceError::NoteTooLong);
        }
        let temporary = match change.until {
            None => None,
            Some(until) => {
                let until_ms = match until {
                    Until::Seconds(s) => now_ms.saturating_add(i64::from(s) * 1000),
                    Until::At(at) => at,
                };
                if until_ms <= now_ms {
                    return Err(PresenceError::EndInPast);
                }
                if until_ms - now_ms > MAX_TEMPORARY_MS {
                    return Err(PresenceError::TooLong);
                }
                let (revert_to, revert_note) = match &self.temporary {
                    Some(t) => (t.revert_to, t.revert_note.clone()),
                    None => (self.status, self.note.clone()),
                };
                Some(Temporary {
                    until_ms,
                    revert_to,
                    revert_note,
                })
            }
        };
        Ok(Presence {
            status: change.status,
            note: note.to_owned(),
            temporary,
        })
    }

    /// The reverted status if a temporary one has ended by `now_ms`.
    pub fn expire(&self, now_ms: i64) -> Option<Presence> {
        let temporary = self.temporary.as_ref()?;
        (now_ms >= temporary.until_ms).then(|| Presence {
            status: temporary.revert_to,
            note: temporary.revert_note.clone(),
            temporary: None,
        })
    }

    /// When the current status ends by itself (unix ms).
    pub fn ends_at(&self) -> Option<i64> {
        self.temporary.as_ref().map(|t| t.until_ms)
    }

    /// Parse what was stored; anything unusable is the default status, so a
    /// damaged storage entry never stops the worker.
    pub fn from_stored(json: &str) -> Presence {
        serde_json::from_str::<Presence>(json)
            .ok()
            .filter(|p| p.note.chars().count() <= MAX_NOTE_CHARS)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: i64 = 1_700_000_000_000;

    fn change(status: Status, until: Option<Until>) -> StatusChange {
        StatusChange {
            status,
            note: String::new(),
            until,
        }
    }

    #[test]
    fn a_permanent_status_stays_until_changed() {
        let p = Presence::default()
            .apply(
                &StatusChange {
                    status: Status::BusinessTrip,
                    note: "  in Berlin ".into(),
                    until: None,
                },
                NOON,
            )
            .unwrap();
        assert_eq!(p.status, Status::BusinessTrip);
        assert_eq!(p.note, "in Berlin");
        assert_eq!(p.ends_at(), None);
        assert_eq!(p.expire(NOON + MAX_TEMPORARY_MS * 10), None);
    }

    #[test]
    fn a_temporary_status_reverts_to_the_last_permanent_one() {
        let trip = Presence::default()
            .apply(
                &StatusChange {
                    status: Status::Away,
                    note: "back soon".into(),
                    until: None,
                },
                NOON,
            )
            .unwrap();
        let lunch = trip
            .apply(
                &change(Status::LunchBreak, Some(Until::Seconds(1800))),
                NOON,
            )
            .unwrap();
        assert_eq!(lunch.ends_at(), Some(NOON + 1_800_000));
        // Replacing a temporary status keeps the permanent one to return to.
        let dnd = lunch
            .apply(
                &change(Status::DoNotDisturb, Some(Until::At(NOON + 3_600_000))),
                NOON + 60_000,
            )
            .unwrap();
        assert_eq!(dnd.expire(NOON + 3_599_999), None);
        assert_eq!(dnd.expire(NOON + 3_600_000), Some(trip));
    }

    #[test]
    fn bad_changes_are_refused_with_a_reason() {
        let p = Presence::default();
        assert_eq!(
            p.apply(&change(Status::Away, Some(Until::At(NOON))), NOON),
            Err(PresenceError::EndInPast)
        );
        assert_eq!(
            p.apply(&change(Status::Away, Some(Until::Seconds(0))), NOON),
            Err(PresenceError::EndInPast)
        );
        assert_eq!(
            p.apply(
                &change(Status::Away, Some(Until::At(NOON + MAX_TEMPORARY_MS + 1))),
                NOON
            ),
            Err(PresenceError::TooLong)
        );
        let long = StatusChange {
            note: "x".repeat(MAX_NOTE_CHARS + 1),
            ..change(Status::Away, None)
        };
        assert_eq!(p.apply(&long, NOON), Err(PresenceError::NoteTooLong));
    }

    #[test]
    fn damaged_storage_is_the_default_status() {
        assert_eq!(Presence::from_stored("{"), Presence::default());
        assert_eq!(
            Presence::from_stored(r#"{"status":"on_mars"}"#),
            Presence::default()
        );
        let stored =
            r#"{"status":"lunch_break","note":"","temporary":{"until_ms":5,"revert_to":"away"}}"#;
        assert_eq!(Presence::from_stored(stored).status, Status::LunchBreak);
    }

    #[test]
    fn wire_names() {
        let json = serde_json::to_string(&StatusChange {
            status: Status::DoNotDisturb,
            note: "focus".into(),
            until: Some(Until::Seconds(60)),
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"status":"do_not_disturb","note":"focus","until":{"seconds":60}}"#
        );
        for s in Status::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
    }
}
