//! Messages between the extension's parts: the service worker, the popup and
//! (later) the offscreen document and content scripts.
//!
//! Every message is a JSON object `{"v": 1, "type": "...", ...}`. The `v` field
//! lets a popup from a newer build talk to a worker that Chrome has not yet
//! restarted (and vice versa) without misreading each other: an unknown
//! version is refused with a typed error instead of being half understood.
//! Messages cross a trust boundary (content scripts run next to web pages), so
//! they are decoded here, never trusted, never allowed to panic.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::account::{Account, AccountError};
use crate::presence::{Presence, StatusChange};
use crate::settings::Settings;
use crate::history::HistoryEntry;

pub mod c2c;
pub mod calls;
pub mod keys;
pub mod popup;
pub mod presence;
use calls::{CallId, CallSettings, CallSettingsError, CallView};
mod envelope;
use envelope::Envelope;

pub const PROTOCOL_VERSION: u64 = 1;

/// Name of the `chrome.runtime.connect` port over which the worker pushes a
/// [`Push::Snapshot`] on every change.
pub const STATE_PORT: &str = "ringside-state";

/// Largest message accepted; a snapshot or an account is far below this, and
/// a content script must not be able to make the worker parse megabytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Requests to the worker (`chrome.runtime.sendMessage`); each gets a [`Reply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// → [`Reply::Snapshot`].
    GetSnapshot,
    /// → [`Reply::Account`] (the stored account, so the form can be prefilled).
    GetAccount,
    /// Validate, store under `account` and (re)connect with it.
    /// → [`Reply::Snapshot`] or [`Reply::Error`] with `invalid_account`.
    SetAccount { account: Account },
    /// The popup's login: like `set_account`, and with `remember_password`
    /// false the password is kept only in chrome.storage.session.
    /// → [`Reply::Snapshot`] or [`Reply::Error`] with `invalid_account`.
    Login {
        account: Account,
        #[serde(default = "yes")]
        remember_password: bool,
    },
    /// Unregister and forget the account (local and session storage).
    /// → [`Reply::Snapshot`].
    Logout,
    /// Change the user's status. → [`Reply::Snapshot`] or `invalid_status`.
    SetStatus { change: StatusChange },
    /// The popup's preferences. → [`Reply::Settings`].
    GetSettings,
    /// Validate and store. → [`Reply::Settings`] or `invalid_settings`.
    SetSettings { settings: Settings },

    // Calls (see `calls`). Each answers `ok` (or `call` for `dial`) once the
    // command was accepted; progress shows in the snapshot.
    /// Call `number` (normalised with the user's dial rules). → `call`.
    /// With `video` the offer adds the camera (VP8 preferred) and the call
    /// window opens.
    Dial {
        number: String,
        #[serde(default)]
        video: bool,
    },
    /// Answer an incoming call; the other calls are put on hold, or hung up
    /// with `end_others` (call waiting's "end and answer").
    Answer {
        call: CallId,
        #[serde(default)]
        end_others: bool,
        /// Answer a video offer with the camera; without it (the default:
        /// the camera is never switched on unasked) the answer is audio only.
        #[serde(default)]
        video: bool,
    },
    /// Refuse an incoming call (603 Decline; `busy`: 486 Busy Here).
    Decline {
        call: CallId,
        #[serde(default)]
        busy: bool,
    },
    Hangup { call: CallId },
    Hold { call: CallId },
    Resume { call: CallId },
    /// Switch a video call to audio (a re-INVITE disabling video).
    StopVideo { call: CallId },
    Mute { call: CallId, muted: bool },
    /// One or more of `0-9 * # A-D`.
    Dtmf { call: CallId, digits: String },
    TransferBlind { call: CallId, target: String },
    /// Complete an attended transfer: `call`'s peer is connected to
    /// `consult`'s peer (REFER with Replaces), both calls end here.
    TransferAttended { call: CallId, consult: CallId },
    /// 302 an incoming call to the configured voicemail target.
    SendToVoicemail { call: CallId },
    /// Blind transfer to the configured park number.
    Park { call: CallId },
    /// Three-way conference mixed locally: both calls active, each party
    /// hears the other two.
    Merge { call: CallId, with: CallId },
    /// Resume `call` and hold every other call.
    Swap { call: CallId },
    /// → `history` (newest first). With `seen` (the default) the user is
    /// looking at the history, which clears the missed-call badge; an open
    /// popup keeping its list current sends `seen: false`, so missed calls
    /// stay counted until the history is actually shown.
    GetHistory {
        #[serde(default = "yes")]
        seen: bool,
    },
    SetHistoryNote { id: u64, note: String },
    /// Delete these entries, or every entry with `all`.
    DeleteHistory {
        #[serde(default)]
        ids: Vec<u64>,
        #[serde(default)]
        all: bool,
    },
    /// → `call_settings`.
    GetCallSettings,
    /// Validate and store; → `ok` or `error` with `invalid_settings`.
    SetCallSettings { settings: CallSettings },

    // Call handling per status, caller rules, schedule, auto-answer, agent
    // codes (see `presence`).
    /// → `call_handling`.
    GetCallHandling,
    /// Validate and store. → `call_handling` or `call_handling_invalid`.
    SetCallHandling {
        config: presence::CallHandlingConfig,
    },
    /// Evaluate the office-hours schedule at this unix millisecond (the
    /// worker's alarm sends the real time the same way). → `snapshot`.
    ScheduleTick { now_ms: i64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    Snapshot { snapshot: Snapshot },
    Account { account: Option<Account> },
    Settings { settings: Settings },
    Error { error: ErrorReply },
    /// A command was accepted.
    Ok,
    /// `dial` placed this call.
    Call { call: CallId },
    History { entries: Vec<HistoryEntry> },
    CallSettings { settings: CallSettings },
    CallHandling { config: presence::CallHandlingConfig },
    /// `set_call_handling` refused: every bad field with its path.
    CallHandlingInvalid { errors: Vec<presence::FieldError> },
}

fn yes() -> bool {
    true
}

/// Pushed by the worker over the [`STATE_PORT`] port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Push {
    Snapshot { snapshot: Snapshot },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub code: ErrorCode,
    /// Present when `code` is `invalid_account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountError>,
    /// Present when `code` is `invalid_settings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<CallSettingsError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request could not be decoded (see [`ProtocolError`]).
    BadRequest,
    /// `set_account` with an account that fails validation.
    InvalidAccount,
    /// `chrome.storage` refused the write (quota, disabled storage).
    StorageFailed,
    /// A privileged request from outside the extension's own pages (a
    /// content script runs inside a web page the user did not write).
    Forbidden,
    /// `set_status` with a change [`Presence::apply`] refuses.
    InvalidStatus,
    /// Calls: no call with that id (it may just have ended).
    NoSuchCall,
    /// Calls: not possible in the call's state (answer an outgoing call…).
    InvalidState,
    /// `dial`/transfer target that cannot be dialled.
    InvalidNumber,
    /// Calls need a registered account.
    NotRegistered,
    /// [`calls::MAX_CALLS`] calls are up already.
    TooManyCalls,
    /// The microphone or WebRTC failed; the call was not placed/answered.
    MediaFailed,
    /// `send_to_voicemail`/`park` without a configured target.
    NotConfigured,
    /// `set_call_settings` with settings that fail validation.
    InvalidSettings,
    /// `set_history_note` on an entry that is gone, or a note too long.
    NoSuchEntry,
}

/// What the user sees in the popup; the `data-state` attribute of `#reg-state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegState {
    /// No account, or the account was just removed.
    Unregistered,
    /// Connecting or waiting for the REGISTER to be answered.
    Registering,
    Registered,
    /// The server rejected the credentials; no retry until the account changes.
    AuthFailed,
    /// No WebSocket connection (refused, timed out, dropped); retrying with
    /// backoff.
    Unreachable,
    /// The `wss://` server's certificate is not trusted (a probe of its https
    /// origin failed with a certificate error); retrying with backoff, which
    /// succeeds once the user accepted or fixed the certificate.
    TlsError,
    /// The server answered REGISTER with another final error (`status_code`).
    Rejected,
}

impl RegState {
    /// The wire name, also the popup's `data-state` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            RegState::Unregistered => "unregistered",
            RegState::Registering => "registering",
            RegState::Registered => "registered",
            RegState::AuthFailed => "auth_failed",
            RegState::Unreachable => "unreachable",
            RegState::TlsError => "tls_error",
            RegState::Rejected => "rejected",
        }
    }

    /// Translated sentence saying what is going on.
    pub fn message_key(self) -> &'static str {
        match self {
            RegState::Unregistered => "stateUnregistered",
            RegState::Registering => "stateRegistering",
            RegState::Registered => "stateRegistered",
            RegState::AuthFailed => "stateAuthFailed",
            RegState::Unreachable => "stateUnreachable",
            RegState::TlsError => "stateTlsError",
            RegState::Rejected => "stateRejected",
        }
    }

    /// Translated hint saying what the user can do about it, if anything.
    pub fn hint_key(self) -> Option<&'static str> {
        match self {
            RegState::Unregistered => Some("hintUnregistered"),
            RegState::AuthFailed => Some("hintAuthFailed"),
            RegState::Unreachable => Some("hintUnreachable"),
            RegState::TlsError => Some("hintTlsError"),
            RegState::Rejected => Some("hintRejected"),
            RegState::Registering | RegState::Registered => None,
        }
    }
}

/// The registration as the worker sees it. The popup renders only this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub state: RegState,
    /// `user@host` of the configured account, `None` without one.
    #[serde(default)]
    pub aor: Option<String>,
    /// Server URL of the configured account.
    #[serde(default)]
    pub server: Option<String>,
    /// SIP status of the last rejection (`rejected`, `auth_failed`).
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub reason: Option<String>,
    /// `performance.now()` in the worker when it first became registered after
    /// this worker started: the time from worker start to registered.
    #[serde(default)]
    pub registered_in_ms: Option<f64>,
    /// The user's status (the worker fills it in).
    #[serde(default)]
    pub presence: Presence,
    /// Calls in progress (and those that ended in the last few seconds).
    #[serde(default)]
    pub calls: Vec<CallView>,
    /// Missed calls since the history was last opened (the badge number).
    #[serde(default)]
    pub missed_calls: u32,
    /// Function key states in key order (see `protocol::keys`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<crate::function_keys::KeyStateView>,
}

impl Snapshot {
    pub fn unregistered() -> Snapshot {
        Snapshot {
            state: RegState::Unregistered,
            aor: None,
            server: None,
            status_code: None,
            reason: None,
            registered_in_ms: None,
            presence: Presence::default(),
            calls: Vec::new(),
            missed_calls: 0,
            keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("message larger than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("message is not a JSON object")]
    NotAnObject,
    #[error("message has no numeric version field `v`")]
    MissingVersion,
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u64),
    #[error("message has no `type`")]
    MissingType,
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("malformed message: {0}")]
    Malformed(String),
}

/// Known message types of one direction, so an unknown `type` is reported as
/// such rather than as a generic decoding error.
trait Message: Serialize + DeserializeOwned {
    const TYPES: &'static [&'static str];
}

impl Message for Request {
    const TYPES: &'static [&'static str] = &[
        "get_snapshot",
        "get_account",
        "set_account",
        "login",
        "logout",
        "set_status",
        "get_settings",
        "set_settings",
        "dial",
        "answer",
        "decline",
        "hangup",
        "hold",
        "resume",
        "stop_video",
        "mute",
        "dtmf",
        "transfer_blind",
        "transfer_attended",
        "send_to_voicemail",
        "park",
        "merge",
        "swap",
        "get_history",
        "set_history_note",
        "delete_history",
        "get_call_settings",
        "set_call_settings",
        "get_call_handling",
        "set_call_handling",
        "schedule_tick",
    ];
}
impl Message for Reply {
    const TYPES: &'static [&'static str] = &[
        "snapshot",
        "account",
        "settings",
        "error",
        "ok",
        "call",
        "history",
        "call_settings",
        "call_handling",
        "call_handling_invalid",
    ];
}
impl Message for Push {
    const TYPES: &'static [&'static str] = &["snapshot"];
}

fn decode<T: Message>(text: &str) -> Result<T, ProtocolError> {
    checked_type(text, T::TYPES)?;
    // The message's own fields; `v` is one more unknown field to it.
    serde_json::from_str(text).map_err(malformed)
}

fn malformed(e: serde_json::Error) -> ProtocolError {
    ProtocolError::Malformed(e.to_string())
}

/// The envelope's checks (size, object, version, a `type` among `types`);
/// the message's `type`.
fn checked_type(text: &str, types: &[&str]) -> Result<String, ProtocolError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::TooLarge);
    }
    let Envelope::Object { version, kind } = serde_json::from_str(text).map_err(malformed)? else {
        return Err(ProtocolError::NotAnObject);
    };
    match version {
        Some(PROTOCOL_VERSION) => {}
        Some(other) => return Err(ProtocolError::UnsupportedVersion(other)),
        None => return Err(ProtocolError::MissingVersion),
    }
    match kind {
        Some(t) if types.contains(&t.as_str()) => Ok(t),
        Some(t) => Err(ProtocolError::UnknownType(t.chars().take(64).collect())),
        None => Err(ProtocolError::MissingType),
    }
}

fn encode<T: Message>(message: &T) -> String {
    let mut object = match serde_json::to_value(message) {
        Ok(Value::Object(object)) => object,
        // Every message type is a tagged enum of structs: always an object.
        _ => Map::new(),
    };
    object.insert("v".to_owned(), Value::from(PROTOCOL_VERSION));
    Value::Object(object).to_string()
}

impl Request {
    /// Requests that read or change the credentials: only the extension's own
    /// pages may send them, never a content script.
    pub fn is_privileged(&self) -> bool {
        // Only the state snapshot may be read by content scripts: a web page
        // must not place, answer or end calls, nor read the call history.
        // Click-to-call goes through the c2c helper's own confirmed request.
        !matches!(self, Request::GetSnapshot)
    }

    /// Commands on calls and the call history, answered by the supervisor's
    /// call policy (`Supervisor::call_command`).
    pub fn is_call_command(&self) -> bool {
        matches!(
            self,
            Request::Dial { .. }
                | Request::Answer { .. }
                | Request::Decline { .. }
                | Request::Hangup { .. }
                | Request::Hold { .. }
                | Request::Resume { .. }
                | Request::StopVideo { .. }
                | Request::Mute { .. }
                | Request::Dtmf { .. }
                | Request::TransferBlind { .. }
                | Request::TransferAttended { .. }
                | Request::SendToVoicemail { .. }
                | Request::Park { .. }
                | Request::Merge { .. }
                | Request::Swap { .. }
                | Request::GetHistory { .. }
                | Request::SetHistoryNote { .. }
                | Request::DeleteHistory { .. }
        )
    }

    pub fn decode(text: &str) -> Result<Request, ProtocolError> {
        decode(text)
    }
    pub fn encode(&self) -> String {
        encode(self)
    }
}

impl Reply {
    pub fn decode(text: &str) -> Result<Reply, ProtocolError> {
        decode(text)
    }
    pub fn encode(&self) -> String {
        encode(self)
    }
    pub fn bad_request() -> Reply {
        Reply::error(ErrorCode::BadRequest)
    }
    pub fn error(code: ErrorCode) -> Reply {
        Reply::Error {
            error: ErrorReply {
                code,
                account: None,
                settings: None,
            },
        }
    }
}

impl Push {
    pub fn decode(text: &str) -> Result<Push, ProtocolError> {
        decode(text)
    }
    pub fn encode(&self) -> String {
        encode(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_commands_are_told_from_the_other_requests() {
        assert!(Request::Dial {
            number: "1002".into(),
            video: false
        }
        .is_call_command());
        assert!(Request::StopVideo { call: 1 }.is_call_command());
        assert!(Request::GetHistory { seen: true }.is_call_command());
        assert!(!Request::GetSnapshot.is_call_command());
        assert!(!Request::GetCallSettings.is_call_command());
        assert!(!Request::Logout.is_call_command());
    }

    #[test]
    fn requests_have_the_documented_wire_form() {
        assert_eq!(
            Request::GetSnapshot.encode(),
            r#"{"type":"get_snapshot","v":1}"#
        );
        let set = Request::SetAccount {
            account: Account {
                server: "ws://127.0.0.1:8088".into(),
                username: "1001".into(),
                password: "pass1001".into(),
                auth_id: None,
                display_name: Some("Alice".into()),
            },
        };
        let text = set.encode();
        assert_eq!(
            text,
            r#"{"account":{"display_name":"Alice","password":"pass1001","server":"ws://127.0.0.1:8088","username":"1001"},"type":"set_account","v":1}"#
        );
        assert_eq!(Request::decode(&text), Ok(set));
        assert_eq!(
            Request::decode(r#"{"v":1,"type":"get_account"}"#),
            Ok(Request::GetAccount)
        );
    }

    #[test]
    fn snapshot_round_trips_with_its_state_names() {
        let snapshot = Snapshot {
            state: RegState::AuthFailed,
            aor: Some("1001@127.0.0.1".into()),
            server: Some("ws://127.0.0.1:8088/".into()),
            status_code: Some(401),
            reason: Some("Unauthorized".into()),
            registered_in_ms: None,
            presence: Presence::default(),
            calls: Vec::new(),
            missed_calls: 0,
            keys: Vec::new(),
        };
        let push = Push::Snapshot {
            snapshot: snapshot.clone(),
        };
        let text = push.encode();
        assert!(text.contains(r#""state":"auth_failed""#), "{text}");
        assert_eq!(Push::decode(&text), Ok(push));
        let reply = Reply::Snapshot { snapshot };
        assert_eq!(Reply::decode(&reply.encode()), Ok(reply));
        let names: Vec<String> = [
            RegState::Unregistered,
            RegState::Registering,
            RegState::Registered,
            RegState::AuthFailed,
            RegState::Unreachable,
            RegState::TlsError,
            RegState::Rejected,
        ]
        .iter()
        .map(|s| {
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
            serde_json::to_string(s).unwrap()
        })
        .collect();
        assert_eq!(
            names,
            [
                "\"unregistered\"",
                "\"registering\"",
                "\"registered\"",
                "\"auth_failed\"",
                "\"unreachable\"",
                "\"tls_error\"",
                "\"rejected\""
            ]
        );
    }

    #[test]
    fn a_minimal_snapshot_from_an_older_worker_still_decodes() {
        let push = Push::decode(r#"{"v":1,"type":"snapshot","snapshot":{"state":"registering"}}"#)
            .unwrap();
        let Push::Snapshot { snapshot } = push;
        assert_eq!(snapshot.state, RegState::Registering);
        assert_eq!(snapshot.registered_in_ms, None);
    }

    #[test]
    fn error_replies_carry_the_account_error() {
        let reply = Reply::Error {
            error: ErrorReply {
                code: ErrorCode::InvalidAccount,
                account: Some(AccountError::ServerInsecure),
                settings: None,
            },
        };
        let text = reply.encode();
        assert_eq!(
            text,
            r#"{"error":{"account":"server_insecure","code":"invalid_account"},"type":"error","v":1}"#
        );
        assert_eq!(Reply::decode(&text), Ok(reply));
    }

    #[test]
    fn bad_input_gives_typed_errors_never_panics() {
        use ProtocolError::*;
        let cases: &[(&str, ProtocolError)] = &[
            ("[1,2]", NotAnObject),
            ("\"get_snapshot\"", NotAnObject),
            (r#"{"type":"get_snapshot"}"#, MissingVersion),
            (r#"{"v":"1","type":"get_snapshot"}"#, MissingVersion),
            (r#"{"v":-1,"type":"get_snapshot"}"#, MissingVersion),
            (r#"{"v":2,"type":"get_snapshot"}"#, UnsupportedVersion(2)),
            (r#"{"v":1}"#, MissingType),
            (r#"{"v":1,"type":7}"#, MissingType),
            (r#"{"v":1,"type":"redial"}"#, UnknownType("redial".into())),
            (
                r#"{"v":1,"type":"snapshot"}"#,
                UnknownType("snapshot".into()),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(&Request::decode(text).unwrap_err(), expected, "{text}");
        }
        for malformed in [
            "",
            "{",
            "null",
            r#"{"v":1,"type":"set_account"}"#,
            r#"{"v":1,"type":"set_account","account":{"server":1}}"#,
        ] {
            assert!(Request::decode(malformed).is_err(), "{malformed}");
        }
        assert!(matches!(Request::decode("null"), Err(NotAnObject)));
        assert!(matches!(Request::decode("{"), Err(Malformed(_))));
        let huge = format!(
            r#"{{"v":1,"type":"get_snapshot","x":"{}"}}"#,
            "a".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(Request::decode(&huge), Err(TooLarge));
    }

    #[test]
    fn credentials_are_privileged_state_is_not() {
        assert!(!Request::GetSnapshot.is_privileged());
        assert!(Request::GetAccount.is_privileged());
        assert!(Request::SetAccount {
            account: Account::default()
        }
        .is_privileged());
        let forbidden = Reply::Error {
            error: ErrorReply {
                code: ErrorCode::Forbidden,
                account: None,
                settings: None,
            },
        };
        assert!(forbidden.encode().contains(r#""code":"forbidden""#));
    }

    #[test]
    fn call_commands_have_the_documented_wire_form() {
        let cases: &[(&str, Request)] = &[
            (
                r#"{"v":1,"type":"dial","number":"1002"}"#,
                Request::Dial {
                    number: "1002".into(),
                    video: false,
                },
            ),
            (
                r#"{"v":1,"type":"answer","call":4}"#,
                Request::Answer {
                    call: 4,
                    end_others: false,
                    video: false,
                },
            ),
            (
                r#"{"v":1,"type":"dial","number":"1002","video":true}"#,
                Request::Dial {
                    number: "1002".into(),
                    video: true,
                },
            ),
            (
                r#"{"v":1,"type":"answer","call":4,"video":true}"#,
                Request::Answer {
                    call: 4,
                    end_others: false,
                    video: true,
                },
            ),
            (
                r#"{"v":1,"type":"stop_video","call":4}"#,
                Request::StopVideo { call: 4 },
            ),
            (
                r#"{"v":1,"type":"decline","call":4,"busy":true}"#,
                Request::Decline { call: 4, busy: true },
            ),
            (r#"{"v":1,"type":"hangup","call":4}"#, Request::Hangup { call: 4 }),
            (
                r#"{"v":1,"type":"mute","call":4,"muted":true}"#,
                Request::Mute {
                    call: 4,
                    muted: true,
                },
            ),
            (
                r#"{"v":1,"type":"dtmf","call":4,"digits":"12#"}"#,
                Request::Dtmf {
                    call: 4,
                    digits: "12#".into(),
                },
            ),
            (
                r#"{"v":1,"type":"transfer_attended","call":4,"consult":5}"#,
                Request::TransferAttended { call: 4, consult: 5 },
            ),
            (
                r#"{"v":1,"type":"merge","call":4,"with":5}"#,
                Request::Merge { call: 4, with: 5 },
            ),
            (r#"{"v":1,"type":"get_history"}"#, Request::GetHistory { seen: true }),
            (r#"{"v":1,"type":"get_history","seen":false}"#, Request::GetHistory { seen: false }),
            (
                r#"{"v":1,"type":"delete_history","all":true}"#,
                Request::DeleteHistory {
                    ids: vec![],
                    all: true,
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(&Request::decode(text).unwrap(), expected, "{text}");
            assert_eq!(&Request::decode(&expected.encode()).unwrap(), expected);
            assert!(expected.is_privileged(), "{text}");
        }
        for bad in [
            r#"{"v":1,"type":"hangup"}"#,
            r#"{"v":1,"type":"hangup","call":"x"}"#,
            r#"{"v":1,"type":"hangup","call":-3}"#,
            r#"{"v":1,"type":"mute","call":1}"#,
            r#"{"v":1,"type":"dial"}"#,
            r#"{"v":1,"type":"dial","number":"1002","video":"yes"}"#,
            r#"{"v":1,"type":"stop_video"}"#,
        ] {
            assert!(matches!(Request::decode(bad), Err(ProtocolError::Malformed(_))), "{bad}");
        }
        assert_eq!(Reply::Call { call: 7 }.encode(), r#"{"call":7,"type":"call","v":1}"#);
        assert_eq!(Reply::Ok.encode(), r#"{"type":"ok","v":1}"#);
        assert_eq!(
            Reply::error(ErrorCode::NoSuchCall).encode(),
            r#"{"error":{"code":"no_such_call"},"type":"error","v":1}"#
        );
    }

    #[test]
    fn snapshot_carries_calls() {
        use calls::{CallDirection, CallPhase};
        let mut snapshot = Snapshot::unregistered();
        snapshot.calls.push(CallView {
            id: 1,
            direction: CallDirection::Incoming,
            number: "1002".into(),
            name: Some("Bob".into()),
            state: CallPhase::Ringing,
            muted: false,
            remote_hold: false,
            reconnecting: false,
            waiting: false,
            started_at: 1.7e12,
            answered_at: None,
            end: None,
            status_code: None,
            merged_with: None,
            transfer_status: None,
            dtmf_received: String::new(),
            video: false,
        });
        snapshot.missed_calls = 2;
        let text = Push::Snapshot {
            snapshot: snapshot.clone(),
        }
        .encode();
        assert!(text.contains(r#""state":"ringing""#), "{text}");
        assert!(text.contains(r#""direction":"incoming""#), "{text}");
        assert_eq!(Push::decode(&text), Ok(Push::Snapshot { snapshot }));
    }

    #[test]
    fn unknown_extra_fields_are_ignored_for_forward_compatibility() {
        assert_eq!(
            Request::decode(r#"{"v":1,"type":"get_snapshot","from":"popup"}"#),
            Ok(Request::GetSnapshot)
        );
    }

    #[test]
    fn every_state_has_a_sentence() {
        for state in [
            RegState::AuthFailed,
            RegState::Registered,
            RegState::Unreachable,
        ] {
            assert!(state.message_key().starts_with("state"));
        }
        assert_eq!(RegState::Registered.hint_key(), None);
    }
}
