//! The replies as the popup reads them. The popup shows a few replies of
//! each reply enum; decoding the whole enum would put every other reply's
//! decoder into its wasm too (the call-handling configuration, key and
//! import errors, click-to-call matches: a third of its download), and the
//! popup's size is budgeted (issue 5: under 200 kB gzip).
//!
//! Each view is the same wire format as its full enum, restricted to the
//! variants the popup reads, and decoded by the same rules (size, version,
//! known `type`, then the fields). A reply of another type is refused as
//! [`ProtocolError::UnknownType`], which the popup treats like a worker that
//! did not answer. The worker and the options page use the full enums; tests
//! below keep each view in step with its enum.

use serde::{Deserialize, Serialize};

use super::calls::{CallId, CallSettings};
use super::{decode, encode, ErrorReply, Message, ProtocolError, Snapshot};
use crate::account::Account;
use crate::c2c::{C2cSettings, SiteState};
use crate::function_keys::KeyConfig;
use crate::history::HistoryEntry;
use crate::settings::Settings;

/// [`Reply`](super::Reply) without the call-handling replies (edited on the
/// options page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PopupReply {
    Snapshot { snapshot: Snapshot },
    Account { account: Option<Account> },
    Settings { settings: Settings },
    Error { error: ErrorReply },
    Ok,
    Call { call: CallId },
    History { entries: Vec<HistoryEntry> },
    CallSettings { settings: CallSettings },
}

/// [`KeysReply`](super::keys::KeysReply) as the key grid reads it: the keys
/// (the editor, with its refusals and import errors, is the options page's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PopupKeysReply {
    Keys { config: KeyConfig },
}

/// [`C2cReply`](super::c2c::C2cReply) as the popup's "this site" switch and
/// click-to-call settings read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PopupC2cReply {
    Site { site: SiteState },
    C2cSettings { settings: C2cSettings },
}

impl Message for PopupReply {
    const TYPES: &'static [&'static str] = &[
        "snapshot",
        "account",
        "settings",
        "error",
        "ok",
        "call",
        "history",
        "call_settings",
    ];
}

impl Message for PopupKeysReply {
    const TYPES: &'static [&'static str] = &["keys"];
}

impl Message for PopupC2cReply {
    const TYPES: &'static [&'static str] = &["site", "c2c_settings"];
}

macro_rules! codec {
    ($($view:ty),*) => {$(
        impl $view {
            pub fn decode(text: &str) -> Result<$view, ProtocolError> {
                decode(text)
            }
            pub fn encode(&self) -> String {
                encode(self)
            }
        }
    )*};
}
codec!(PopupReply, PopupKeysReply, PopupC2cReply);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::c2c::C2cReply;
    use crate::protocol::keys::KeysReply;
    use crate::protocol::{ErrorCode, Reply};

    /// Every view type is a type of its full enum, and decodes what the
    /// worker encodes into the same message.
    fn same(full: &str, view: &str) {
        assert_eq!(full, view, "the view must encode like the full enum");
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
            Reply::CallSettings {
                settings: CallSettings::default(),
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
            same(&text, &view.encode());
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
    }

    #[test]
    fn the_key_grid_and_site_switch_replies_decode_as_the_worker_sends_them() {
        let keys = KeysReply::Keys {
            config: KeyConfig::default(),
        }
        .encode();
        same(&keys, &PopupKeysReply::decode(&keys).unwrap().encode());
        let exported = KeysReply::Exported { json: "{}".into() }.encode();
        assert!(PopupKeysReply::decode(&exported).is_err());
        for kind in PopupKeysReply::TYPES {
            assert!(<KeysReply as Message>::TYPES.contains(kind), "{kind}");
        }
        let settings = C2cReply::C2cSettings {
            settings: C2cSettings::default(),
        }
        .encode();
        same(
            &settings,
            &PopupC2cReply::decode(&settings).unwrap().encode(),
        );
        for kind in PopupC2cReply::TYPES {
            assert!(<C2cReply as Message>::TYPES.contains(kind), "{kind}");
        }
    }
}
