//! Programmable function keys (up to [`MAX_KEYS`]): what each key is, how a
//! set of keys is validated, exported and imported, and what a key shows
//! given the event bodies its subscriptions bring (dialog-info, PIDF,
//! message-summary).
//!
//! The subscriptions themselves and what a press does live in the
//! supervisor (`supervisor::keys`); this module is pure data and rules.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::event::dialog_info::{BlfState, DialogDirection};
use crate::event::message_summary::MessageSummary;
use crate::event::pidf::{Activity, Basic, Presence as Pidf};
use crate::presence::Status;

/// The issue's limit; also what keeps a snapshot with every key's state small.
pub const MAX_KEYS: usize = 120;
/// A key label is shown on a small grid button.
pub const MAX_LABEL_CHARS: usize = 24;
/// Numbers, feature codes, `user@host` URIs and DTMF strings fit in this.
pub const MAX_VALUE_CHARS: usize = 64;
/// Exported files carry this in `format` so a random JSON file is refused
/// with a clear message instead of half imported.
pub const EXPORT_FORMAT: &str = "ringside-function-keys";
pub const EXPORT_VERSION: u32 = 1;
/// chrome.storage.local key of the [`KeyConfig`].
pub const STORAGE_KEY: &str = "function_keys";
/// An import file is at most this long (120 keys need about a third).
pub const MAX_IMPORT_BYTES: usize = 48 * 1024;

/// What a key does and monitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Monitors extension `value` (dialog + presence); click calls it, or
    /// picks up the call ringing there.
    Blf,
    /// Calls `value`.
    SpeedDial,
    /// Sets the own status to `value` (a [`Status`] wire name).
    SetStatus,
    /// Monitors mailbox `value` (message-summary); click dials the voicemail
    /// access code followed by the mailbox.
    Voicemail,
    /// Like [`KeyKind::Voicemail`] for a shared mailbox.
    GroupVoicemail,
    /// Monitors park slot `value`: free and in a call parks the call there,
    /// occupied retrieves it.
    Park,
    /// Calls `value` asking it to answer by itself.
    Intercom,
    /// Sends the digits `value` into the active call.
    Dtmf,
    /// Logs into / out of queue `value` (feature codes, alternately).
    AgentLogin,
    /// Pauses / resumes in queue `value` (feature codes, alternately).
    AgentPause,
}

impl KeyKind {
    pub const ALL: [KeyKind; 10] = [
        KeyKind::Blf,
        KeyKind::SpeedDial,
        KeyKind::SetStatus,
        KeyKind::Voicemail,
        KeyKind::GroupVoicemail,
        KeyKind::Park,
        KeyKind::Intercom,
        KeyKind::Dtmf,
        KeyKind::AgentLogin,
        KeyKind::AgentPause,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Blf => "blf",
            KeyKind::SpeedDial => "speed_dial",
            KeyKind::SetStatus => "set_status",
            KeyKind::Voicemail => "voicemail",
            KeyKind::GroupVoicemail => "group_voicemail",
            KeyKind::Park => "park",
            KeyKind::Intercom => "intercom",
            KeyKind::Dtmf => "dtmf",
            KeyKind::AgentLogin => "agent_login",
            KeyKind::AgentPause => "agent_pause",
        }
    }

    /// Translated name of the key type (editor drop-down, tooltips).
    pub fn message_key(self) -> &'static str {
        match self {
            KeyKind::Blf => "keyKindBlf",
            KeyKind::SpeedDial => "keyKindSpeedDial",
            KeyKind::SetStatus => "keyKindSetStatus",
            KeyKind::Voicemail => "keyKindVoicemail",
            KeyKind::GroupVoicemail => "keyKindGroupVoicemail",
            KeyKind::Park => "keyKindPark",
            KeyKind::Intercom => "keyKindIntercom",
            KeyKind::Dtmf => "keyKindDtmf",
            KeyKind::AgentLogin => "keyKindAgentLogin",
            KeyKind::AgentPause => "keyKindAgentPause",
        }
    }

    /// Keys whose state comes from a dialog subscription on `value`.
    pub fn watches_dialog(self) -> bool {
        matches!(self, KeyKind::Blf | KeyKind::Park)
    }

    /// Keys whose state comes from a message-summary subscription.
    pub fn watches_mailbox(self) -> bool {
        matches!(self, KeyKind::Voicemail | KeyKind::GroupVoicemail)
    }
}

/// One key as the user configured it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionKey {
    /// Stable within one configuration: key states and `press_key` name it.
    pub id: u32,
    pub kind: KeyKind,
    /// Shown on the key; empty: the value is shown.
    #[serde(default)]
    pub label: String,
    pub value: String,
}

/// How a BLF key picks up a call ringing at the watched extension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PickupMode {
    /// INVITE the caller with `Replaces: …;early-only` built from the
    /// dialog-info (RFC 3891, RFC 4235): works on any PBX that relays it.
    #[default]
    Replaces,
    /// Dial [`KeySettings::pickup_code`] followed by the extension.
    FeatureCode,
}

/// How an intercom call asks the callee to answer by itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntercomMode {
    /// `Call-Info: <sip:host>;answer-after=0` (draft-ietf-sip-answermode's
    /// predecessor most phones and Ringside read).
    #[default]
    CallInfo,
    /// `Alert-Info: <http://127.0.0.1>;info=alert-autoanswer;delay=0`
    /// (Asterisk/FreePBX paging style).
    AlertInfo,
}

/// Settings every key shares: feature codes differ per PBX.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySettings {
    #[serde(default)]
    pub pickup: PickupMode,
    /// Directed pickup prefix (`**` on FreePBX/Asterisk, `*8` elsewhere).
    #[serde(default = "default_pickup_code")]
    pub pickup_code: String,
    /// Dialled before the mailbox by a voicemail key.
    #[serde(default = "default_voicemail_code")]
    pub voicemail_code: String,
    #[serde(default)]
    pub intercom: IntercomMode,
    /// Queue feature codes, each dialled followed by the queue number.
    #[serde(default = "default_agent_login_code")]
    pub agent_login_code: String,
    #[serde(default = "default_agent_logout_code")]
    pub agent_logout_code: String,
    #[serde(default = "default_agent_pause_code")]
    pub agent_pause_code: String,
    #[serde(default = "default_agent_resume_code")]
    pub agent_resume_code: String,
    /// BLF keys also subscribe to presence (the colleague's status); off on
    /// a PBX without a presence server saves 120 refused SUBSCRIBEs.
    #[serde(default = "yes")]
    pub blf_presence: bool,
}

fn default_pickup_code() -> String {
    "**".into()
}
fn default_voicemail_code() -> String {
    "*97".into()
}
fn default_agent_login_code() -> String {
    "*45".into()
}
fn default_agent_logout_code() -> String {
    "*46".into()
}
fn default_agent_pause_code() -> String {
    "*47".into()
}
fn default_agent_resume_code() -> String {
    "*48".into()
}
fn yes() -> bool {
    true
}

impl Default for KeySettings {
    fn default() -> Self {
        KeySettings {
            pickup: PickupMode::default(),
            pickup_code: default_pickup_code(),
            voicemail_code: default_voicemail_code(),
            intercom: IntercomMode::default(),
            agent_login_code: default_agent_login_code(),
            agent_logout_code: default_agent_logout_code(),
            agent_pause_code: default_agent_pause_code(),
            agent_resume_code: default_agent_resume_code(),
            blf_presence: true,
        }
    }
}

/// Every key plus the shared settings: what is stored and exchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyConfig {
    #[serde(default)]
    pub keys: Vec<FunctionKey>,
    #[serde(default)]
    pub settings: KeySettings,
}

/// What is wrong with a configuration; `index` is the key's position.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum KeyError {
    #[error("at most {MAX_KEYS} function keys")]
    TooManyKeys,
    #[error("key {index}: two keys share the id {id}")]
    DuplicateId { index: usize, id: u32 },
    #[error("key {index}: the label is too long")]
    LabelTooLong { index: usize },
    #[error("key {index}: a value is required")]
    ValueMissing { index: usize },
    #[error("key {index}: the value is too long")]
    ValueTooLong { index: usize },
    /// Not a number, feature code or `user@host` this kind can use.
    #[error("key {index}: not a number this key can use")]
    InvalidNumber { index: usize },
    #[error("key {index}: DTMF keys take 0-9, *, # and A-D")]
    InvalidDigits { index: usize },
    #[error("key {index}: not a status")]
    InvalidStatus { index: usize },
    /// A feature code in the settings (`field` names it).
    #[error("the feature code {field} is not valid")]
    InvalidCode { field: String },
}

impl KeyError {
    pub fn message_key(&self) -> &'static str {
        match self {
            KeyError::TooManyKeys => "errKeysTooMany",
            KeyError::DuplicateId { .. } => "errKeyDuplicateId",
            KeyError::LabelTooLong { .. } => "errKeyLabelTooLong",
            KeyError::ValueMissing { .. } => "errKeyValueMissing",
            KeyError::ValueTooLong { .. } => "errKeyValueTooLong",
            KeyError::InvalidNumber { .. } => "errKeyInvalidNumber",
            KeyError::InvalidDigits { .. } => "errKeyInvalidDigits",
            KeyError::InvalidStatus { .. } => "errKeyInvalidStatus",
            KeyError::InvalidCode { .. } => "errKeyInvalidCode",
        }
    }

    /// The position of the offending key, for the editor to highlight it.
    pub fn index(&self) -> Option<usize> {
        match self {
            KeyError::DuplicateId { index, .. }
            | KeyError::LabelTooLong { index }
            | KeyError::ValueMissing { index }
            | KeyError::ValueTooLong { index }
            | KeyError::InvalidNumber { index }
            | KeyError::InvalidDigits { index }
            | KeyError::InvalidStatus { index } => Some(*index),
            KeyError::TooManyKeys | KeyError::InvalidCode { .. } => None,
        }
    }
}

/// Why an import file was refused; nothing is changed then.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ImportError {
    #[error("the file is larger than {MAX_IMPORT_BYTES} bytes")]
    TooLarge,
    #[error("the file is not JSON: {detail}")]
    NotJson { detail: String },
    #[error("the file is not a Ringside function key export")]
    WrongFormat,
    #[error("the file comes from a newer Ringside (format version {version})")]
    UnsupportedVersion { version: u64 },
    #[error("the file's keys do not fit: {detail}")]
    Malformed { detail: String },
    #[error("{reason}")]
    Invalid { reason: KeyError },
}

impl ImportError {
    pub fn message_key(&self) -> &'static str {
        match self {
            ImportError::TooLarge => "errImportTooLarge",
            ImportError::NotJson { .. } => "errImportNotJson",
            ImportError::WrongFormat => "errImportWrongFormat",
            ImportError::UnsupportedVersion { .. } => "errImportVersion",
            ImportError::Malformed { .. } => "errImportMalformed",
            ImportError::Invalid { reason } => reason.message_key(),
        }
    }
}

/// The export file's shape.
#[derive(Serialize, Deserialize)]
struct ExportFile {
    format: String,
    version: u64,
    #[serde(flatten)]
    config: KeyConfig,
}

/// Digits, `*`, `#` and `+` (feature codes, extensions, E.164 numbers).
fn is_dial_string(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | '+'))
}

/// A number, or `user@host` / `sip:user@host` for keys that may name a URI.
fn is_target(s: &str) -> bool {
    if is_dial_string(s) {
        return true;
    }
    let bare = s
        .strip_prefix("sip:")
        .or_else(|| s.strip_prefix("sips:"))
        .unwrap_or(s);
    match bare.split_once('@') {
        Some((user, host)) => {
            !user.is_empty()
                && !host.is_empty()
                && bare
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'+@:[]%".contains(c))
        }
        None => false,
    }
}

pub fn valid_dtmf(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c.to_ascii_uppercase(), '*' | '#' | 'A'..='D'))
}

/// A status by its wire name (`away`, `do_not_disturb`, …).
pub fn parse_status(s: &str) -> Option<Status> {
    Status::ALL.into_iter().find(|st| st.as_str() == s)
}

impl FunctionKey {
    /// The label shown on the key.
    pub fn shown_label(&self) -> &str {
        if self.label.trim().is_empty() {
            &self.value
        } else {
            &self.label
        }
    }

    fn validate(&self, index: usize) -> Result<(), KeyError> {
        if self.label.chars().count() > MAX_LABEL_CHARS {
            return Err(KeyError::LabelTooLong { index });
        }
        let value = self.value.trim();
        if value.is_empty() {
            return Err(KeyError::ValueMissing { index });
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(KeyError::ValueTooLong { index });
        }
        let ok = match self.kind {
            KeyKind::Blf | KeyKind::SpeedDial | KeyKind::Intercom | KeyKind::Park => {
                is_target(value)
            }
            KeyKind::Voicemail
            | KeyKind::GroupVoicemail
            | KeyKind::AgentLogin
            | KeyKind::AgentPause => is_dial_string(value),
            KeyKind::Dtmf => {
                return valid_dtmf(value)
                    .then_some(())
                    .ok_or(KeyError::InvalidDigits { index })
            }
            KeyKind::SetStatus => {
                return parse_status(value)
                    .map(|_| ())
                    .ok_or(KeyError::InvalidStatus { index })
            }
        };
        if ok {
            Ok(())
        } else {
            Err(KeyError::InvalidNumber { index })
        }
    }
}

impl KeySettings {
    fn validate(&self) -> Result<(), KeyError> {
        let codes = [
            ("pickup_code", &self.pickup_code),
            ("voicemail_code", &self.voicemail_code),
            ("agent_login_code", &self.agent_login_code),
            ("agent_logout_code", &self.agent_logout_code),
            ("agent_pause_code", &self.agent_pause_code),
            ("agent_resume_code", &self.agent_resume_code),
        ];
        for (field, code) in codes {
            // Empty is allowed: the voicemail code may be part of the mailbox.
            if !code.is_empty() && (!is_dial_string(code) || code.len() > 16) {
                return Err(KeyError::InvalidCode {
                    field: field.to_string(),
                });
            }
        }
        Ok(())
    }
}

impl KeyConfig {
    /// Checks every rule; values are trimmed in the returned copy.
    pub fn validate(&self) -> Result<KeyConfig, KeyError> {
        if self.keys.len() > MAX_KEYS {
            return Err(KeyError::TooManyKeys);
        }
        self.settings.validate()?;
        let mut seen = std::collections::HashSet::new();
        let mut out = self.clone();
        for (index, key) in out.keys.iter_mut().enumerate() {
            if !seen.insert(key.id) {
                return Err(KeyError::DuplicateId { index, id: key.id });
            }
            key.validate(index)?;
            key.value = key.value.trim().to_string();
            key.label = key.label.trim().to_string();
        }
        Ok(out)
    }

    pub fn key(&self, id: u32) -> Option<&FunctionKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// The export file: `{"format":…,"version":1,"keys":[…],"settings":{…}}`.
    pub fn export(&self) -> String {
        let file = ExportFile {
            format: EXPORT_FORMAT.into(),
            version: u64::from(EXPORT_VERSION),
            config: self.clone(),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    /// Reads an export file; ids are renumbered 1.. so a file edited by hand
    /// with repeated or missing ids still imports.
    pub fn import(text: &str) -> Result<KeyConfig, ImportError> {
        if text.len() > MAX_IMPORT_BYTES {
            return Err(ImportError::TooLarge);
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ImportError::NotJson {
                detail: e.to_string(),
            })?;
        let object = value.as_object().ok_or(ImportError::WrongFormat)?;
        if object.get("format").and_then(|f| f.as_str()) != Some(EXPORT_FORMAT) {
            return Err(ImportError::WrongFormat);
        }
        match object.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(EXPORT_VERSION) => {}
            Some(version) => return Err(ImportError::UnsupportedVersion { version }),
            None => return Err(ImportError::WrongFormat),
        }
        let mut object = object.clone();
        if let Some(serde_json::Value::Array(keys)) = object.get_mut("keys") {
            for (n, key) in keys.iter_mut().enumerate() {
                if let Some(k) = key.as_object_mut() {
                    k.insert("id".into(), serde_json::Value::from(n as u64 + 1));
                }
            }
        }
        let file: ExportFile =
            serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| {
                ImportError::Malformed {
                    detail: e.to_string(),
                }
            })?;
        file.config
            .validate()
            .map_err(|reason| ImportError::Invalid { reason })
    }

    /// The stored configuration; a damaged one is dropped (`None`) rather
    /// than half applied.
    pub fn from_storage(json: &str) -> Option<KeyConfig> {
        serde_json::from_str::<KeyConfig>(json)
            .ok()
            .and_then(|c| c.validate().ok())
    }
}

// ---- key state ---------------------------------------------------------

/// The lamp of a monitoring key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lamp {
    /// Nothing known yet (subscribing, or not registered).
    #[default]
    Unknown,
    /// The watched user is not reachable (presence closed, or the
    /// subscription was refused: no such extension).
    Offline,
    Idle,
    /// Being called (a BLF press picks it up) or calling out.
    Ringing,
    InCall,
    OnHold,
    /// Keys that monitor nothing (speed dial, DTMF, …).
    None,
}

/// Message counts of a voicemail key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mwi {
    pub new: u32,
    pub old: u32,
}

/// One key's live state, in the snapshot (`Snapshot::keys`, in key order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStateView {
    pub id: u32,
    pub lamp: Lamp,
    /// The watched colleague's status from presence (BLF keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Voicemail keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mwi: Option<Mwi>,
    /// Who calls or talks with the watched extension (tooltip), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// Ringing and can be picked up (the watched extension is the callee).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pickup: bool,
    /// Agent keys: logged in / paused after the last press (the PBX does
    /// not tell).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub active: bool,
}

/// The lamp a dialog-info state shows.
pub fn lamp_of(blf: &BlfState) -> Lamp {
    match blf {
        BlfState::Idle => Lamp::Idle,
        BlfState::Ringing { .. } => Lamp::Ringing,
        BlfState::InCall => Lamp::InCall,
        BlfState::OnHold => Lamp::OnHold,
    }
}

/// Whether a ringing dialog is an incoming call that can be picked up.
pub fn pickable(blf: &BlfState) -> bool {
    matches!(
        blf,
        BlfState::Ringing {
            direction: Some(DialogDirection::Recipient),
            ..
        }
    )
}

/// The user part of a SIP URI (`sip:1001@pbx.test` → `1001`), for tooltips.
pub fn uri_user(uri: &str) -> String {
    let bare = uri
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_start_matches("sips:")
        .trim_start_matches("sip:");
    bare.split(['@', ';']).next().unwrap_or(bare).to_string()
}

/// Our status as RPID (RFC 4480) for PUBLISH: Available is open without
/// activity; Off Work is closed; the rest are open with the nearest
/// activity, so desk phones show something sensible and Ringside reads the
/// exact status back ([`status_of`]).
pub fn pidf_of(status: Status, note: &str, entity: &str) -> Pidf {
    let (basic, activities) = match status {
        Status::Available => (Basic::Open, vec![]),
        Status::Away => (Basic::Open, vec![Activity::Away]),
        Status::BusinessTrip => (Basic::Open, vec![Activity::Other("travel".into())]),
        Status::DoNotDisturb => (Basic::Open, vec![Activity::Busy]),
        Status::LunchBreak => (Basic::Open, vec![Activity::Meal]),
        Status::OffWork => (Basic::Closed, vec![Activity::Other("off-work".into())]),
    };
    Pidf {
        entity: entity.to_string(),
        basic: Some(basic),
        activities,
        note: (!note.trim().is_empty()).then(|| note.trim().to_string()),
    }
}

/// A colleague's status and whether they are reachable, from their PIDF.
pub fn status_of(pidf: &Pidf) -> (Status, bool) {
    let online = pidf.basic != Some(Basic::Closed);
    let status = pidf
        .activities
        .iter()
        .find_map(|a| match a {
            Activity::Away => Some(Status::Away),
            Activity::Busy | Activity::OnThePhone | Activity::Meeting => Some(Status::DoNotDisturb),
            Activity::Meal => Some(Status::LunchBreak),
            Activity::Vacation | Activity::Holiday => Some(Status::BusinessTrip),
            Activity::Other(s) if s == "travel" || s == "in-transit" => Some(Status::BusinessTrip),
            Activity::Other(s) if s == "off-work" || s == "permanent-absence" => {
                Some(Status::OffWork)
            }
            _ => None,
        })
        .unwrap_or(if online {
            Status::Available
        } else {
            Status::OffWork
        });
    (status, online)
}

/// New/old voice message counts; a summary without counts but with the
/// lamp on counts as one new message, since the user must be told.
pub fn mwi_of(summary: &MessageSummary) -> Mwi {
    match summary.voice {
        Some(v) => Mwi {
            new: v.new,
            old: v.old,
        },
        None => Mwi {
            new: u32::from(summary.waiting),
            old: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32, kind: KeyKind, value: &str) -> FunctionKey {
        FunctionKey {
            id,
            kind,
            label: String::new(),
            value: value.into(),
        }
    }

    fn config(keys: Vec<FunctionKey>) -> KeyConfig {
        KeyConfig {
            keys,
            settings: KeySettings::default(),
        }
    }

    #[test]
    fn each_kind_accepts_its_values_and_refuses_others() {
        let ok = [
            (KeyKind::Blf, "1002"),
            (KeyKind::Blf, "1002@pbx.test"),
            (KeyKind::SpeedDial, "+4930123456"),
            (KeyKind::SetStatus, "do_not_disturb"),
            (KeyKind::Voicemail, "1002"),
            (KeyKind::GroupVoicemail, "6000"),
            (KeyKind::Park, "701"),
            (KeyKind::Intercom, "sip:1003@pbx.test"),
            (KeyKind::Dtmf, "12*#a"),
            (KeyKind::AgentLogin, "8001"),
            (KeyKind::AgentPause, "8001"),
        ];
        for (kind, value) in ok {
            assert_eq!(
                config(vec![key(1, kind, value)]).validate().map(|_| ()),
                Ok(()),
                "{kind:?} {value}"
            );
        }
        let bad = [
            (KeyKind::Blf, "bob", KeyError::InvalidNumber { index: 0 }),
            (
                KeyKind::Voicemail,
                "1002@x",
                KeyError::InvalidNumber { index: 0 },
            ),
            (KeyKind::Dtmf, "12x", KeyError::InvalidDigits { index: 0 }),
            (
                KeyKind::SetStatus,
                "asleep",
                KeyError::InvalidStatus { index: 0 },
            ),
            (
                KeyKind::SpeedDial,
                "  ",
                KeyError::ValueMissing { index: 0 },
            ),
        ];
        for (kind, value, err) in bad {
            assert_eq!(
                config(vec![key(1, kind, value)]).validate(),
                Err(err),
                "{kind:?} {value}"
            );
        }
    }

    #[test]
    fn the_cap_ids_and_lengths_are_enforced() {
        let many: Vec<_> = (0..=MAX_KEYS as u32)
            .map(|i| key(i, KeyKind::Blf, "1002"))
            .collect();
        assert_eq!(config(many.clone()).validate(), Err(KeyError::TooManyKeys));
        assert!(config(many[..MAX_KEYS].to_vec()).validate().is_ok());
        assert_eq!(
            config(vec![
                key(1, KeyKind::Blf, "1002"),
                key(1, KeyKind::Blf, "1003")
            ])
            .validate(),
            Err(KeyError::DuplicateId { index: 1, id: 1 })
        );
        let mut long = key(1, KeyKind::Blf, "1002");
        long.label = "x".repeat(MAX_LABEL_CHARS + 1);
        assert_eq!(
            config(vec![long]).validate(),
            Err(KeyError::LabelTooLong { index: 0 })
        );
        let settings = KeySettings {
            pickup_code: "pick".into(),
            ..KeySettings::default()
        };
        assert_eq!(
            KeyConfig {
                keys: vec![],
                settings
            }
            .validate(),
            Err(KeyError::InvalidCode {
                field: "pickup_code".into()
            })
        );
    }

    #[test]
    fn export_then_import_gives_the_same_keys() {
        let mut c = config(vec![
            key(7, KeyKind::Blf, "1002"),
            key(9, KeyKind::Dtmf, "123#"),
        ]);
        c.keys[0].label = "Bob 鲍勃".into();
        c.settings.intercom = IntercomMode::AlertInfo;
        let text = c.export();
        assert!(text.contains(EXPORT_FORMAT));
        let back = KeyConfig::import(&text).unwrap();
        assert_eq!(back.settings, c.settings);
        assert_eq!(back.keys.len(), 2);
        assert_eq!((back.keys[0].id, back.keys[1].id), (1, 2), "renumbered");
        assert_eq!(back.keys[0].label, "Bob 鲍勃");
        assert_eq!(back.keys[1].value, "123#");
    }

    #[test]
    fn imports_are_refused_with_a_reason() {
        assert!(matches!(
            KeyConfig::import("{"),
            Err(ImportError::NotJson { .. })
        ));
        assert_eq!(KeyConfig::import("[]"), Err(ImportError::WrongFormat));
        assert_eq!(
            KeyConfig::import(r#"{"keys":[]}"#),
            Err(ImportError::WrongFormat)
        );
        assert_eq!(
            KeyConfig::import(r#"{"format":"ringside-function-keys","version":2,"keys":[]}"#),
            Err(ImportError::UnsupportedVersion { version: 2 })
        );
        assert!(matches!(
            KeyConfig::import(
                r#"{"format":"ringside-function-keys","version":1,"keys":[{"kind":"rocket","value":"1"}]}"#
            ),
            Err(ImportError::Malformed { .. })
        ));
        assert_eq!(
            KeyConfig::import(
                r#"{"format":"ringside-function-keys","version":1,"keys":[{"kind":"dtmf","value":"x"}]}"#
            ),
            Err(ImportError::Invalid {
                reason: KeyError::InvalidDigits { index: 0 }
            })
        );
        let huge = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_IMPORT_BYTES));
        assert_eq!(KeyConfig::import(&huge), Err(ImportError::TooLarge));
        // Settings missing from a hand-written file take their defaults.
        let minimal = KeyConfig::import(
            r#"{"format":"ringside-function-keys","version":1,"keys":[{"kind":"blf","value":"1002"}]}"#,
        )
        .unwrap();
        assert_eq!(minimal.settings, KeySettings::default());
    }

    #[test]
    fn every_status_survives_pidf_and_back() {
        for status in Status::ALL {
            let xml = pidf_of(status, "note", "sip:1001@pbx.test").to_xml();
            let parsed = Pidf::parse(xml.as_bytes()).unwrap();
            assert_eq!(status_of(&parsed).0, status, "{xml}");
        }
        let off = pidf_of(Status::OffWork, "", "sip:1001@pbx.test");
        assert_eq!(status_of(&off), (Status::OffWork, false));
    }

    #[test]
    fn mwi_counts_come_from_the_voice_class() {
        let s = MessageSummary::parse(b"Messages-Waiting: yes\r\nVoice-Message: 2/5\r\n").unwrap();
        assert_eq!(mwi_of(&s), Mwi { new: 2, old: 5 });
        let lamp_only = MessageSummary::parse(b"Messages-Waiting: yes\r\n").unwrap();
        assert_eq!(mwi_of(&lamp_only), Mwi { new: 1, old: 0 });
    }

    #[test]
    fn uri_users_for_tooltips() {
        assert_eq!(uri_user("sip:1001@pbx.test"), "1001");
        assert_eq!(uri_user("<sip:1001@pbx.test;transport=ws>"), "1001");
        assert_eq!(uri_user("1001"), "1001");
    }
}
