//! View-model of the popup's function keys: what a key's face and tooltip
//! show given its live state from the snapshot, and the editor's rules
//! (new ids, a sensible value when the type changes, the voicemail badge).
//!
//! Plain Rust so it is tested natively; `popup/src/keys.rs` (the grid) and
//! `options/src/keys.rs` (the editor) render it. The
//! keys and their states are the worker's ([`KeyConfig`] via `get_keys`,
//! [`KeyStateView`]s in every snapshot).

use crate::function_keys::{FunctionKey, KeyConfig, KeyKind, KeyStateView, Lamp};
use crate::presence::Status;

/// What one key shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFace {
    /// The `data-state` attribute, which the stylesheet colours:
    /// a [`Lamp`] name for monitoring keys, `new`/`none` for mailboxes,
    /// `active` for an agent key after its log-in/pause press, else `none`.
    pub state: &'static str,
    /// Translated state, for the tooltip and screen readers.
    pub state_key: Option<&'static str>,
    /// The watched colleague's status (BLF).
    pub status: Option<Status>,
    /// New messages (voicemail keys), shown as a count on the key.
    pub count: Option<u32>,
    /// Old messages, in the tooltip.
    pub old: Option<u32>,
    /// Who the watched extension calls or talks with.
    pub peer: Option<String>,
    /// The watched extension is being called: a press picks the call up.
    pub pickup: bool,
}

pub fn lamp_str(lamp: Lamp) -> &'static str {
    match lamp {
        Lamp::Unknown => "unknown",
        Lamp::Offline => "offline",
        Lamp::Idle => "idle",
        Lamp::Ringing => "ringing",
        Lamp::InCall => "in_call",
        Lamp::OnHold => "on_hold",
        Lamp::None => "none",
    }
}

pub fn lamp_key(lamp: Lamp) -> Option<&'static str> {
    match lamp {
        Lamp::Unknown => Some("lampUnknown"),
        Lamp::Offline => Some("lampOffline"),
        Lamp::Idle => Some("lampIdle"),
        Lamp::Ringing => Some("lampRinging"),
        Lamp::InCall => Some("lampInCall"),
        Lamp::OnHold => Some("lampOnHold"),
        Lamp::None => None,
    }
}

/// The face of `key` given its state (`None`: no snapshot entry yet).
pub fn key_face(key: &FunctionKey, state: Option<&KeyStateView>) -> KeyFace {
    let lamp = state.map_or(Lamp::Unknown, |s| s.lamp);
    let mut face = KeyFace {
        state: "none",
        state_key: None,
        status: None,
        count: None,
        old: None,
        peer: state.and_then(|s| s.peer.clone()).filter(|p| !p.is_empty()),
        pickup: state.is_some_and(|s| s.pickup),
    };
    match key.kind {
        KeyKind::Blf | KeyKind::Intercom => {
            face.state = lamp_str(lamp);
            face.state_key = lamp_key(lamp);
            face.status = state.and_then(|s| s.status);
        }
        KeyKind::Park => {
            // A park slot is a BLF on the slot: a call there occupies it.
            let (state, key) = match lamp {
                Lamp::Unknown | Lamp::None => ("unknown", "lampUnknown"),
                Lamp::Offline => ("offline", "parkInvalid"),
                Lamp::Idle => ("idle", "parkFree"),
                Lamp::Ringing | Lamp::InCall | Lamp::OnHold => ("in_call", "parkOccupied"),
            };
            face.state = state;
            face.state_key = Some(key);
        }
        KeyKind::Voicemail | KeyKind::GroupVoicemail => match state.and_then(|s| s.mwi) {
            Some(mwi) => {
                face.state = if mwi.new > 0 { "new" } else { "none" };
                face.state_key = Some(if mwi.new > 0 { "mwiNew" } else { "mwiNone" });
                face.count = (mwi.new > 0).then_some(mwi.new);
                face.old = Some(mwi.old);
            }
            None => {
                face.state = "unknown";
                face.state_key = Some("lampUnknown");
            }
        },
        KeyKind::AgentLogin => {
            let active = state.is_some_and(|s| s.active);
            face.state = if active { "active" } else { "none" };
            face.state_key = Some(if active {
                "agentLoggedIn"
            } else {
                "agentLoggedOut"
            });
        }
        KeyKind::AgentPause => {
            let active = state.is_some_and(|s| s.active);
            face.state = if active { "active" } else { "none" };
            face.state_key = Some(if active {
                "agentPaused"
            } else {
                "agentResumed"
            });
        }
        KeyKind::SetStatus if state.is_some_and(|s| s.active) => {
            face.state = "active";
            face.state_key = Some("keyStatusCurrent");
        }
        KeyKind::SpeedDial | KeyKind::SetStatus | KeyKind::Dtmf => {}
    }
    face
}

/// The state entry for `key` in the snapshot's key states.
pub fn state_of(states: &[KeyStateView], id: u32) -> Option<&KeyStateView> {
    states.iter().find(|s| s.id == id)
}

/// An id no key of `config` has.
pub fn next_id(config: &KeyConfig) -> u32 {
    config
        .keys
        .iter()
        .map(|k| k.id)
        .max()
        .map_or(1, |m| m.saturating_add(1))
}

/// A new key of `kind`, with a value that kind accepts where one is
/// obvious (Set status needs a status name, not a number).
pub fn new_key(config: &KeyConfig, kind: KeyKind) -> FunctionKey {
    FunctionKey {
        id: next_id(config),
        kind,
        label: String::new(),
        value: default_value(kind).to_owned(),
    }
}

pub fn default_value(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::SetStatus => Status::Available.as_str(),
        _ => "",
    }
}

/// `key` switched to `kind`: a value that makes no sense for the new kind
/// (a status name for a number key, a number for a status key) is reset.
pub fn change_kind(key: &FunctionKey, kind: KeyKind) -> FunctionKey {
    let mut next = key.clone();
    let was_status = key.kind == KeyKind::SetStatus;
    let is_status = kind == KeyKind::SetStatus;
    if was_status != is_status {
        next.value = default_value(kind).to_owned();
    }
    next.kind = kind;
    next
}

/// New voicemail messages over every mailbox key: the tab's badge.
pub fn new_messages(states: &[KeyStateView]) -> u32 {
    states
        .iter()
        .filter_map(|s| s.mwi)
        .fold(0u32, |sum, m| sum.saturating_add(m.new))
}

/// Message key of the value field's label for a kind.
pub fn value_label_key(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Blf | KeyKind::Intercom => "keyValueExtension",
        KeyKind::SpeedDial => "keyValueNumber",
        KeyKind::SetStatus => "keyValueStatus",
        KeyKind::Voicemail | KeyKind::GroupVoicemail => "keyValueMailbox",
        KeyKind::Park => "keyValueSlot",
        KeyKind::Dtmf => "keyValueDigits",
        KeyKind::AgentLogin | KeyKind::AgentPause => "keyValueQueue",
    }
}

/// Message key of the press action, for the key's accessible description.
pub fn press_key(kind: KeyKind, face: &KeyFace) -> &'static str {
    match kind {
        KeyKind::Blf if face.pickup => "pressPickup",
        KeyKind::Blf | KeyKind::SpeedDial => "pressCall",
        KeyKind::Intercom => "pressIntercom",
        KeyKind::SetStatus => "pressSetStatus",
        KeyKind::Voicemail | KeyKind::GroupVoicemail => "pressVoicemail",
        KeyKind::Park if face.state == "in_call" => "pressRetrieve",
        KeyKind::Park => "pressPark",
        KeyKind::Dtmf => "pressDtmf",
        KeyKind::AgentLogin if face.state == "active" => "pressAgentLogout",
        KeyKind::AgentLogin => "pressAgentLogin",
        KeyKind::AgentPause if face.state == "active" => "pressAgentResume",
        KeyKind::AgentPause => "pressAgentPause",
    }
}

/// Every message key this module can return, for the locale test.
pub fn all_message_keys() -> Vec<&'static str> {
    let mut keys = vec![
        "parkInvalid",
        "parkFree",
        "parkOccupied",
        "mwiNew",
        "mwiNone",
        "agentLoggedIn",
        "agentLoggedOut",
        "agentPaused",
        "agentResumed",
        "keyStatusCurrent",
        "pressPickup",
        "pressCall",
        "pressIntercom",
        "pressSetStatus",
        "pressVoicemail",
        "pressRetrieve",
        "pressPark",
        "pressDtmf",
        "pressAgentLogout",
        "pressAgentLogin",
        "pressAgentResume",
        "pressAgentPause",
    ];
    keys.extend(
        [
            Lamp::Unknown,
            Lamp::Offline,
            Lamp::Idle,
            Lamp::Ringing,
            Lamp::InCall,
            Lamp::OnHold,
        ]
        .into_iter()
        .filter_map(lamp_key),
    );
    keys.extend(KeyKind::ALL.map(value_label_key));
    keys.extend(KeyKind::ALL.map(KeyKind::message_key));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function_keys::Mwi;

    fn key(id: u32, kind: KeyKind) -> FunctionKey {
        FunctionKey {
            id,
            kind,
            label: String::new(),
            value: "1002".into(),
        }
    }

    fn state(id: u32, lamp: Lamp) -> KeyStateView {
        KeyStateView {
            id,
            lamp,
            ..KeyStateView::default()
        }
    }

    #[test]
    fn blf_shows_lamp_status_and_pickup() {
        let blf = key(1, KeyKind::Blf);
        assert_eq!(key_face(&blf, None).state, "unknown");
        let mut ringing = state(1, Lamp::Ringing);
        ringing.pickup = true;
        ringing.status = Some(Status::Away);
        ringing.peer = Some("1003".into());
        let face = key_face(&blf, Some(&ringing));
        assert_eq!(face.state, "ringing");
        assert_eq!(face.state_key, Some("lampRinging"));
        assert_eq!(face.status, Some(Status::Away));
        assert_eq!(face.peer.as_deref(), Some("1003"));
        assert_eq!(press_key(KeyKind::Blf, &face), "pressPickup");
        let held = key_face(&blf, Some(&state(1, Lamp::OnHold)));
        assert_eq!(
            (held.state, held.state_key),
            ("on_hold", Some("lampOnHold"))
        );
        assert_eq!(press_key(KeyKind::Blf, &held), "pressCall");
        let offline = key_face(&blf, Some(&state(1, Lamp::Offline)));
        assert_eq!(offline.state, "offline");
    }

    #[test]
    fn park_is_free_or_occupied() {
        let park = key(2, KeyKind::Park);
        let free = key_face(&park, Some(&state(2, Lamp::Idle)));
        assert_eq!((free.state, free.state_key), ("idle", Some("parkFree")));
        assert_eq!(press_key(KeyKind::Park, &free), "pressPark");
        for lamp in [Lamp::Ringing, Lamp::InCall, Lamp::OnHold] {
            let taken = key_face(&park, Some(&state(2, lamp)));
            assert_eq!(taken.state_key, Some("parkOccupied"));
            assert_eq!(press_key(KeyKind::Park, &taken), "pressRetrieve");
        }
    }

    #[test]
    fn voicemail_counts_and_badge() {
        let vm = key(3, KeyKind::Voicemail);
        let mut s = state(3, Lamp::None);
        s.mwi = Some(Mwi { new: 2, old: 5 });
        let face = key_face(&vm, Some(&s));
        assert_eq!(
            (face.state, face.count, face.old),
            ("new", Some(2), Some(5))
        );
        s.mwi = Some(Mwi { new: 0, old: 5 });
        let face = key_face(&vm, Some(&s));
        assert_eq!((face.state, face.count), ("none", None));
        let mut other = state(4, Lamp::None);
        other.mwi = Some(Mwi {
            new: u32::MAX,
            old: 0,
        });
        s.mwi = Some(Mwi { new: 3, old: 0 });
        assert_eq!(new_messages(&[s.clone()]), 3);
        assert_eq!(new_messages(&[s, other, state(5, Lamp::Idle)]), u32::MAX);
    }

    #[test]
    fn agent_keys_show_the_last_action() {
        let login = key(5, KeyKind::AgentLogin);
        let mut s = state(5, Lamp::None);
        assert_eq!(key_face(&login, Some(&s)).state_key, Some("agentLoggedOut"));
        s.active = true;
        let face = key_face(&login, Some(&s));
        assert_eq!(
            (face.state, face.state_key),
            ("active", Some("agentLoggedIn"))
        );
        assert_eq!(press_key(KeyKind::AgentLogin, &face), "pressAgentLogout");
        let pause = key_face(&key(6, KeyKind::AgentPause), Some(&s));
        assert_eq!(pause.state_key, Some("agentPaused"));
        let status = key_face(&key(7, KeyKind::SetStatus), Some(&s));
        assert_eq!(
            (status.state, status.state_key),
            ("active", Some("keyStatusCurrent"))
        );
        s.active = false;
        assert_eq!(
            key_face(&key(7, KeyKind::SetStatus), Some(&s)).state,
            "none"
        );
    }

    #[test]
    fn editor_ids_and_kind_changes() {
        let mut config = KeyConfig::default();
        assert_eq!(next_id(&config), 1);
        config.keys = vec![key(4, KeyKind::Blf), key(9, KeyKind::Dtmf)];
        assert_eq!(next_id(&config), 10);
        assert_eq!(new_key(&config, KeyKind::SetStatus).value, "available");
        let status = new_key(&config, KeyKind::SetStatus);
        assert_eq!(change_kind(&status, KeyKind::Blf).value, "");
        let blf = key(1, KeyKind::Blf);
        assert_eq!(
            change_kind(&blf, KeyKind::SpeedDial).value,
            "1002",
            "numbers stay"
        );
        assert_eq!(change_kind(&blf, KeyKind::SetStatus).value, "available");
        config.keys = vec![key(u32::MAX, KeyKind::Blf)];
        assert_eq!(
            next_id(&config),
            u32::MAX,
            "saturates; the worker refuses the duplicate"
        );
    }

    #[test]
    fn state_lookup_by_id() {
        let states = [state(1, Lamp::Idle), state(7, Lamp::InCall)];
        assert_eq!(state_of(&states, 7).map(|s| s.lamp), Some(Lamp::InCall));
        assert!(state_of(&states, 3).is_none());
    }

    fn table(language: &str) -> serde_json::Map<String, serde_json::Value> {
        let path = format!(
            "{}/extension/_locales/{language}/messages.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Message keys the function-key, call-handling and rules screens use:
    /// their literal strings that look like keys, plus the computed ones.
    #[test]
    fn every_message_key_of_these_screens_exists_in_both_languages() {
        use crate::function_keys::{ImportError, KeyError};
        let mut keys: Vec<String> = all_message_keys().into_iter().map(str::to_owned).collect();
        let errors = [
            KeyError::TooManyKeys,
            KeyError::DuplicateId { index: 0, id: 1 },
            KeyError::LabelTooLong { index: 0 },
            KeyError::ValueMissing { index: 0 },
            KeyError::ValueTooLong { index: 0 },
            KeyError::InvalidNumber { index: 0 },
            KeyError::InvalidDigits { index: 0 },
            KeyError::InvalidStatus { index: 0 },
            KeyError::InvalidCode {
                field: "pickup_code".into(),
            },
        ];
        keys.extend(errors.iter().map(|e| e.message_key().to_owned()));
        let imports = [
            ImportError::TooLarge,
            ImportError::NotJson {
                detail: String::new(),
            },
            ImportError::WrongFormat,
            ImportError::UnsupportedVersion { version: 2 },
            ImportError::Malformed {
                detail: String::new(),
            },
        ];
        keys.extend(imports.iter().map(|e| e.message_key().to_owned()));
        let looks_like_key = |s: &str| {
            s.len() > 3
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars().any(|c| c.is_ascii_uppercase())
                && s.chars().all(|c| c.is_ascii_alphanumeric())
        };
        // The grid is the popup's, the editors are the options page's.
        for file in [
            "popup/src/keys.rs",
            "options/src/keys.rs",
            "options/src/status_settings.rs",
            "options/src/rules.rs",
        ] {
            let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let literals: Vec<&str> = text.split('"').skip(1).step_by(2).collect();
            let found: Vec<&str> = literals.into_iter().filter(|s| looks_like_key(s)).collect();
            assert!(found.len() > 5, "{file}: only {found:?}");
            keys.extend(found.into_iter().map(str::to_owned));
        }
        for language in ["en", "zh_CN"] {
            let table = table(language);
            let missing: Vec<&String> = keys.iter().filter(|k| !table.contains_key(*k)).collect();
            assert!(missing.is_empty(), "missing in {language}: {missing:?}");
        }
    }
}
