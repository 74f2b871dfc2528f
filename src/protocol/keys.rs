//! Function key messages: the popup reads, edits, exports and imports the
//! keys and presses them. Key *states* travel in every snapshot
//! ([`Snapshot::keys`](super::Snapshot::keys), one
//! [`KeyStateView`](crate::function_keys::KeyStateView) per key in key
//! order), so the grid follows the same port as everything else.
//!
//! Same envelope and decoding rules as every other message; in their own
//! enums so the worker routes them to its keys module before the general
//! handler. All requests are privileged (the extension's own pages only).

use serde::{Deserialize, Serialize};

use super::{decode, encode, Message, ProtocolError};
use crate::function_keys::{ImportError, KeyConfig, KeyError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KeysRequest {
    /// → [`KeysReply::Keys`].
    GetKeys,
    /// Validate, store and apply (subscriptions follow, paced).
    /// → [`KeysReply::Keys`] (as stored: values trimmed) or
    /// [`KeysReply::Invalid`].
    SetKeys { config: KeyConfig },
    /// → [`KeysReply::Exported`]: the file's text, for a download.
    ExportKeys,
    /// Replace every key and the key settings with an export file's.
    /// → [`KeysReply::Keys`] or [`KeysReply::ImportFailed`]; nothing changes
    /// on failure.
    ImportKeys { json: String },
    /// What a click on key `id` does (call, pickup, park/retrieve, DTMF,
    /// status, …). → the general [`Reply`](super::Reply): `call` when a call
    /// was placed, `ok`, or `error` (`no_such_call` when the key needs an
    /// active call and there is none, `not_registered`, `not_configured`,
    /// `bad_request` for an unknown id).
    PressKey { id: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KeysReply {
    Keys {
        config: KeyConfig,
    },
    Exported {
        json: String,
    },
    /// `set_keys` refused: which rule, which key (`error.index()`).
    Invalid {
        error: KeyError,
    },
    ImportFailed {
        error: ImportError,
    },
}

impl Message for KeysRequest {
    const TYPES: &'static [&'static str] = &[
        "get_keys",
        "set_keys",
        "export_keys",
        "import_keys",
        "press_key",
    ];
}

impl Message for KeysReply {
    const TYPES: &'static [&'static str] = &["keys", "exported", "invalid", "import_failed"];
}

impl KeysRequest {
    /// `Ok(None)`: a message of another module (its `type` is not ours).
    pub fn decode_if_ours(text: &str) -> Result<Option<KeysRequest>, ProtocolError> {
        match decode::<KeysRequest>(text) {
            Ok(r) => Ok(Some(r)),
            Err(ProtocolError::UnknownType(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
    /// Whether `type` names a key request (for telling a malformed key
    /// message from another module's message).
    pub fn is_key_type(message_type: &str) -> bool {
        <KeysRequest as Message>::TYPES.contains(&message_type)
    }
    pub fn decode(text: &str) -> Result<KeysRequest, ProtocolError> {
        decode(text)
    }
    pub fn encode(&self) -> String {
        encode(self)
    }
}

impl KeysReply {
    pub fn decode(text: &str) -> Result<KeysReply, ProtocolError> {
        decode(text)
    }
    pub fn encode(&self) -> String {
        encode(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function_keys::{FunctionKey, KeyKind};

    #[test]
    fn requests_have_the_documented_wire_form() {
        assert_eq!(
            KeysRequest::PressKey { id: 3 }.encode(),
            r#"{"id":3,"type":"press_key","v":1}"#
        );
        let set = KeysRequest::decode(
            r#"{"v":1,"type":"set_keys","config":{"keys":[{"id":1,"kind":"blf","label":"Bob","value":"1002"}]}}"#,
        )
        .unwrap();
        let KeysRequest::SetKeys { config } = &set else {
            panic!("{set:?}")
        };
        assert_eq!(
            config.keys,
            [FunctionKey {
                id: 1,
                kind: KeyKind::Blf,
                label: "Bob".into(),
                value: "1002".into()
            }]
        );
        assert_eq!(KeysRequest::decode(&set.encode()), Ok(set));
    }

    #[test]
    fn other_modules_messages_are_not_ours() {
        assert_eq!(
            KeysRequest::decode_if_ours(r#"{"v":1,"type":"get_snapshot"}"#),
            Ok(None)
        );
        assert!(KeysRequest::decode_if_ours(r#"{"v":1,"type":"press_key"}"#).is_err());
        assert_eq!(
            KeysRequest::decode_if_ours(r#"{"v":1,"type":"get_keys"}"#),
            Ok(Some(KeysRequest::GetKeys))
        );
    }

    #[test]
    fn errors_say_which_key() {
        let reply = KeysReply::Invalid {
            error: KeyError::InvalidDigits { index: 4 },
        };
        assert_eq!(
            reply.encode(),
            r#"{"error":{"error":"invalid_digits","index":4},"type":"invalid","v":1}"#
        );
        assert_eq!(KeysReply::decode(&reply.encode()), Ok(reply));
        let failed = KeysReply::ImportFailed {
            error: ImportError::Invalid {
                reason: KeyError::TooManyKeys,
            },
        };
        assert_eq!(KeysReply::decode(&failed.encode()), Ok(failed));
    }
}
