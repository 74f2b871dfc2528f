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

pub mod c2c;

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    Snapshot { snapshot: Snapshot },
    Account { account: Option<Account> },
    Error { error: ErrorReply },
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
    const TYPES: &'static [&'static str] = &["get_snapshot", "get_account", "set_account"];
}
impl Message for Reply {
    const TYPES: &'static [&'static str] = &["snapshot", "account", "error"];
}
impl Message for Push {
    const TYPES: &'static [&'static str] = &["snapshot"];
}

fn decode<T: Message>(text: &str) -> Result<T, ProtocolError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::TooLarge);
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    let mut object = match value {
        Value::Object(object) => object,
        _ => return Err(ProtocolError::NotAnObject),
    };
    match object.remove("v").as_ref().and_then(Value::as_u64) {
        Some(PROTOCOL_VERSION) => {}
        Some(other) => return Err(ProtocolError::UnsupportedVersion(other)),
        None => return Err(ProtocolError::MissingVersion),
    }
    match object.get("type") {
        Some(Value::String(t)) if T::TYPES.contains(&t.as_str()) => {}
        Some(Value::String(t)) => {
            return Err(ProtocolError::UnknownType(t.chars().take(64).collect()))
        }
        _ => return Err(ProtocolError::MissingType),
    }
    serde_json::from_value(Value::Object(object))
        .map_err(|e| ProtocolError::Malformed(e.to_string()))
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
        match self {
            Request::GetSnapshot => false,
            Request::GetAccount | Request::SetAccount { .. } => true,
        }
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
        Reply::Error {
            error: ErrorReply {
                code: ErrorCode::BadRequest,
                account: None,
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
            (r#"{"v":1,"type":"dial"}"#, UnknownType("dial".into())),
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
            },
        };
        assert!(forbidden.encode().contains(r#""code":"forbidden""#));
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
