//! The worker's messages as the popup reads them. The popup shows a few
//! replies of each reply enum; decoding the whole enum would put every other
//! reply's decoder into its wasm too (the call-handling configuration, key
//! and import errors, click-to-call matches), and the popup's size is
//! budgeted (issue 5: under 200 kB gzip).
//!
//! Each view is the same wire format as its full enum, restricted to the
//! variants the popup reads, and checked by the same rules (size, version,
//! known `type`). A reply of another type is refused as
//! [`ProtocolError::UnknownType`], which the popup treats like a worker that
//! did not answer. The fields are then decoded straight from the text:
//! serde's derive for an internally tagged enum (`"type"` inside the object)
//! first buffers the whole message in a generic tree and decodes every type
//! again from that tree, code the popup can do without. The worker and the
//! options page use the full enums; the tests keep each view in step.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::UnitDeserializer;
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, Visitor,
};

use super::c2c::C2cRequest;
use super::calls::CallId;
use super::keys::KeysRequest;
use super::{
    checked_type, malformed, ErrorReply, Message, ProtocolError, Push, Request, Snapshot,
    PROTOCOL_VERSION,
};
use crate::account::Account;
use crate::c2c::SiteState;
use crate::function_keys::FunctionKey;
use crate::history::HistoryEntry;
use crate::settings::Settings;

/// [`Reply`](super::Reply) without the replies of what is edited on the
/// options page (call handling, the call settings).
#[derive(Debug, Clone, PartialEq)]
pub enum PopupReply {
    Snapshot { snapshot: Snapshot },
    Account { account: Option<Account> },
    Settings { settings: Settings },
    Error { error: ErrorReply },
    Ok,
    Call { call: CallId },
    History { entries: Vec<HistoryEntry> },
}

/// [`KeysReply`](super::keys::KeysReply) as the key grid reads it: the keys
/// of `config` (their shared settings, the editor with its refusals and
/// import errors are the options page's).
#[derive(Debug, Clone, PartialEq)]
pub enum PopupKeysReply {
    Keys { keys: Vec<FunctionKey> },
}

/// [`C2cReply`](super::c2c::C2cReply) as the popup's "this site" switches
/// read it (the global switch and its settings are the options page's).
#[derive(Debug, Clone, PartialEq)]
pub enum PopupC2cReply {
    Site { site: SiteState },
}

impl PopupReply {
    pub const TYPES: &'static [&'static str] = &[
        "snapshot", "account", "settings", "error", "ok", "call", "history",
    ];

    pub fn decode(text: &str) -> Result<PopupReply, ProtocolError> {
        Ok(match checked_type(text, Self::TYPES)?.as_str() {
            "snapshot" => PopupReply::Snapshot {
                snapshot: field(text, "snapshot")?,
            },
            "account" => PopupReply::Account {
                account: field(text, "account")?,
            },
            "settings" => PopupReply::Settings {
                settings: field(text, "settings")?,
            },
            "error" => PopupReply::Error {
                error: field(text, "error")?,
            },
            "ok" => PopupReply::Ok,
            "call" => PopupReply::Call {
                call: field(text, "call")?,
            },
            _ => PopupReply::History {
                entries: field(text, "entries")?,
            },
        })
    }
}

impl PopupKeysReply {
    pub const TYPES: &'static [&'static str] = &["keys"];

    pub fn decode(text: &str) -> Result<PopupKeysReply, ProtocolError> {
        checked_type(text, Self::TYPES)?;
        Ok(PopupKeysReply::Keys {
            keys: field_at(text, &["config", "keys"])?,
        })
    }
}

impl PopupC2cReply {
    pub const TYPES: &'static [&'static str] = &["site"];

    pub fn decode(text: &str) -> Result<PopupC2cReply, ProtocolError> {
        checked_type(text, Self::TYPES)?;
        Ok(PopupC2cReply::Site {
            site: field(text, "site")?,
        })
    }
}

/// A request as the pages send it. [`Request::encode`] builds a JSON tree
/// first (serde_json's `Value`, with sorted keys): a second serializer for
/// every request type and the tree's map code, which the popup's wasm does
/// without by writing the text directly. The same message: the worker reads
/// fields by name, in any order.
pub fn encode_request(request: &Request) -> String {
    compact(request)
}

/// [`encode_request`] for a function-key request.
pub fn encode_keys_request(request: &KeysRequest) -> String {
    compact(request)
}

/// `get_keys`, the key grid's only read: written as text, so the popup does
/// not carry the encoder of every key request (the editor's `set_keys` with
/// the whole configuration).
pub fn encode_get_keys() -> String {
    format!("{{\"v\":{PROTOCOL_VERSION},\"type\":\"get_keys\"}}")
}

/// `press_key` for key `id` (see [`encode_get_keys`]).
pub fn encode_press_key(id: u32) -> String {
    format!("{{\"v\":{PROTOCOL_VERSION},\"type\":\"press_key\",\"id\":{id}}}")
}

/// `get_site` for the page at `url`, the popup's "this site" switches'
/// read: written from a struct of its own, so the popup does not carry the
/// encoder of every click-to-call request (the settings with their per-site
/// table, the page scans).
pub fn encode_get_site(url: &str) -> String {
    site_request("get_site", url, None, None)
}

/// `set_site` (see [`encode_get_site`]); `None` leaves a switch as it is.
pub fn encode_set_site(
    url: &str,
    enabled: Option<bool>,
    skip_confirmation: Option<bool>,
) -> String {
    site_request("set_site", url, enabled, skip_confirmation)
}

fn site_request(
    kind: &'static str,
    url: &str,
    enabled: Option<bool>,
    skip_confirmation: Option<bool>,
) -> String {
    #[derive(serde::Serialize)]
    struct SiteRequest<'a> {
        v: u64,
        #[serde(rename = "type")]
        kind: &'static str,
        url: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        enabled: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skip_confirmation: Option<bool>,
    }
    serde_json::to_string(&SiteRequest {
        v: PROTOCOL_VERSION,
        kind,
        url,
        enabled,
        skip_confirmation,
    })
    .unwrap_or_default()
}

/// [`encode_request`] for a click-to-call request.
pub fn encode_c2c_request(request: &C2cRequest) -> String {
    compact(request)
}

fn compact<T: Message>(message: &T) -> String {
    let text = serde_json::to_string(message).unwrap_or_default();
    // Every message type is a tagged enum of structs: always an object.
    match text.strip_prefix('{') {
        Some(fields) => format!("{{\"v\":{PROTOCOL_VERSION},{fields}"),
        None => format!("{{\"v\":{PROTOCOL_VERSION}}}"),
    }
}

/// [`Push::decode`] without the buffering (see the module's doc): the
/// popup's and the options page's snapshots.
pub fn decode_push(text: &str) -> Result<Push, ProtocolError> {
    checked_type(text, <Push as Message>::TYPES)?;
    Ok(Push::Snapshot {
        snapshot: field(text, "snapshot")?,
    })
}

/// Field `name` of the message object; a missing one is `None` for an
/// optional field and an error otherwise, a repeated one an error (as the
/// derived decoders have it). Other fields are skipped unread.
fn field<V: DeserializeOwned>(text: &str, name: &'static str) -> Result<V, ProtocolError> {
    field_at(text, &[name])
}

/// [`field`] at a path of nested objects (`["config", "keys"]`).
fn field_at<V: DeserializeOwned>(text: &str, path: &[&'static str]) -> Result<V, ProtocolError> {
    let mut json = serde_json::Deserializer::from_str(text);
    let value = Field(path, PhantomData)
        .deserialize(&mut json)
        .map_err(malformed)?;
    json.end().map_err(malformed)?;
    Ok(value)
}

struct Field<'p, V>(&'p [&'static str], PhantomData<V>);

impl<'de, V: DeserializeOwned> DeserializeSeed<'de> for Field<'_, V> {
    type Value = V;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<V, D::Error> {
        match self.0 {
            [] => V::deserialize(deserializer),
            _ => deserializer.deserialize_map(self),
        }
    }
}

impl<'de, V: DeserializeOwned> Visitor<'de> for Field<'_, V> {
    type Value = V;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V, A::Error> {
        let [name, rest @ ..] = self.0 else {
            return Err(A::Error::custom("empty field path"));
        };
        let mut value = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != *name {
                map.next_value::<IgnoredAny>()?;
            } else if value.is_some() {
                return Err(A::Error::duplicate_field(name));
            } else {
                value = Some(map.next_value_seed(Field(rest, PhantomData))?);
            }
        }
        match value {
            Some(value) => Ok(value),
            None => V::deserialize(UnitDeserializer::<serde::de::value::Error>::new())
                .map_err(|_| A::Error::missing_field(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function_keys::KeyConfig;
    use crate::protocol::c2c::C2cReply;
    use crate::protocol::keys::KeysReply;
    use crate::protocol::{ErrorCode, Reply};

    /// The view decodes into the same variant with the same fields: the two
    /// enums share variant and field names, so their Debug forms match.
    fn same(full: &impl fmt::Debug, view: &impl fmt::Debug) {
        assert_eq!(format!("{full:?}"), format!("{view:?}"));
    }

    #[test]
    fn the_popups_replies_decode_as_the_worker_sends_them() {
        let replies = [
            Reply::Ok,
            Reply::Call { call: 7 },
            Reply::Settings {
                settings: Settings::default(),
            },
            Reply::Account { account: None },
            Reply::History {
                entries: Vec::new(),
            },
            Reply::Error {
                error: ErrorReply {
                    code: ErrorCode::NotRegistered,
                    account: None,
                    settings: None,
                },
            },
        ];
        for reply in replies {
            let text = reply.encode();
            let view = PopupReply::decode(&text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            same(&reply, &view);
        }
        for kind in PopupReply::TYPES {
            assert!(
                <Reply as Message>::TYPES.contains(kind),
                "{kind} is not a reply"
            );
        }
        let handling = Reply::CallHandling {
            config: Default::default(),
        }
        .encode();
        assert!(matches!(
            PopupReply::decode(&handling),
            Err(ProtocolError::UnknownType(_))
        ));
        let call_settings = Reply::CallSettings {
            settings: Default::default(),
        }
        .encode();
        assert!(PopupReply::decode(&call_settings).is_err());
    }

    #[test]
    fn requests_written_directly_are_the_same_messages() {
        let requests = [
            Request::GetSnapshot,
            Request::Logout,
            Request::Dial {
                number: "+1 (415) \"x\"".into(),
                video: true,
            },
            Request::Mute {
                call: 3,
                muted: true,
            },
            Request::SetSettings {
                settings: Settings::default(),
            },
        ];
        for request in requests {
            let text = encode_request(&request);
            assert!(text.starts_with(r#"{"v":1,"type":"#), "{text}");
            assert_eq!(Request::decode(&text), Ok(request));
        }
        let press = KeysRequest::PressKey { id: 4 };
        assert_eq!(
            KeysRequest::decode(&encode_keys_request(&press)),
            Ok(press.clone())
        );
        assert_eq!(KeysRequest::decode(&encode_press_key(4)), Ok(press));
        let max = KeysRequest::PressKey { id: u32::MAX };
        assert_eq!(KeysRequest::decode(&encode_press_key(u32::MAX)), Ok(max));
        assert_eq!(
            KeysRequest::decode(&encode_get_keys()),
            Ok(KeysRequest::GetKeys)
        );
        let site = C2cRequest::GetSite { url: None };
        assert_eq!(C2cRequest::decode(&encode_c2c_request(&site)), Ok(site));
        let url = "https://example.org/a?q=\"x\"&b=中";
        assert_eq!(
            C2cRequest::decode(&encode_get_site(url)),
            Ok(C2cRequest::GetSite {
                url: Some(url.into())
            })
        );
        for (enabled, skip_confirmation) in [(Some(false), None), (None, Some(true))] {
            assert_eq!(
                C2cRequest::decode(&encode_set_site(url, enabled, skip_confirmation)),
                Ok(C2cRequest::SetSite {
                    url: url.into(),
                    enabled,
                    skip_confirmation
                })
            );
        }
    }

    #[test]
    fn fields_are_checked_like_the_derived_decoders_check_them() {
        // A missing optional field is None, a missing required one an error.
        assert_eq!(
            PopupReply::decode(r#"{"v":1,"type":"account"}"#),
            Ok(PopupReply::Account { account: None })
        );
        assert!(PopupReply::decode(r#"{"v":1,"type":"call"}"#).is_err());
        assert!(PopupReply::decode(r#"{"v":1,"type":"call","call":1,"call":2}"#).is_err());
        assert!(PopupReply::decode(r#"{"v":1,"type":"call","call":"x"}"#).is_err());
        assert_eq!(
            PopupReply::decode(r#"{"call":3,"type":"call","extra":[1,{"a":2}],"v":1}"#),
            Ok(PopupReply::Call { call: 3 })
        );
        assert_eq!(
            PopupReply::decode(r#"{"v":2,"type":"ok"}"#),
            Err(ProtocolError::UnsupportedVersion(2))
        );
        assert!(PopupReply::decode(r#"{"v":1,"type":"ok"} trailing"#).is_err());
    }

    #[test]
    fn snapshots_and_the_key_grid_and_site_switch_replies_decode_as_the_worker_sends_them() {
        let push = Push::Snapshot {
            snapshot: Snapshot {
                state: crate::protocol::RegState::Registered,
                aor: Some("1001@pbx".into()),
                server: None,
                status_code: Some(200),
                reason: None,
                registered_in_ms: Some(12.5),
                presence: Default::default(),
                calls: Vec::new(),
                missed_calls: 2,
                keys: Vec::new(),
            },
        };
        assert_eq!(decode_push(&push.encode()), Ok(push));

        let key = FunctionKey {
            id: 3,
            kind: crate::function_keys::KeyKind::Blf,
            label: "Bob".into(),
            value: "1002".into(),
        };
        let config = KeyConfig {
            keys: vec![key.clone()],
            ..KeyConfig::default()
        };
        assert_eq!(
            PopupKeysReply::decode(&KeysReply::Keys { config }.encode()),
            Ok(PopupKeysReply::Keys { keys: vec![key] })
        );
        assert!(PopupKeysReply::decode(r#"{"v":1,"type":"keys","config":{}}"#).is_err());
        let exported = KeysReply::Exported { json: "{}".into() }.encode();
        assert!(PopupKeysReply::decode(&exported).is_err());
        for kind in PopupKeysReply::TYPES {
            assert!(<KeysReply as Message>::TYPES.contains(kind), "{kind}");
        }
        let site = C2cReply::Site {
            site: crate::c2c::C2cSettings::default().site_state("https://example.org/a"),
        };
        same(&site, &PopupC2cReply::decode(&site.encode()).unwrap());
        let settings = C2cReply::C2cSettings {
            settings: Default::default(),
        };
        assert!(PopupC2cReply::decode(&settings.encode()).is_err());
        for kind in PopupC2cReply::TYPES {
            assert!(<C2cReply as Message>::TYPES.contains(kind), "{kind}");
        }
    }
}
