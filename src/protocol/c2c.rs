//! Click-to-call messages: the content script asks the worker to find
//! numbers in page text and to place a confirmed call; the popup reads and
//! changes where click-to-call is on.
//!
//! Same envelope as every other message (`{"v":1,"type":...}`), decoded by
//! the same rules, in their own enums so that the worker can route them to
//! its click-to-call module before the general [`Request`](super::Request)
//! handler. Errors are answered with the general
//! [`Reply::Error`](super::Reply::Error).
//!
//! Who may send what (the worker checks `sender`):
//! - `detect`, `get_site` (without `url`), `resolve_dial`, `get_texts`:
//!   anyone in the extension; a content script sees only its own page.
//! - `call_number`: a content script only (`sender.tab` set, sender URL not
//!   an extension page), on a site where click-to-call is active. It is sent
//!   after a trusted click and the confirmation (or the site's
//!   skip-confirmation choice), and goes down the popup's `dial` path.
//! - `get_site` with `url`, `set_site`, `get_c2c_settings`,
//!   `set_c2c_settings`: the extension's own pages only.
//! - `confirm_in_top`: a content script in a frame, after a trusted click on
//!   a number, on a site where click-to-call is active: the confirmation is
//!   shown by the tab's top document (a frame can be tiny, hidden or laid
//!   over by its parent), which the worker tells with
//!   [`TabMessage::ConfirmCall`].
//! - `confirmed_call`: whoever showed a [`TabMessage::ConfirmCall`] (the top
//!   document's content script, or the extension's confirmation window),
//!   after a trusted click on its Call button. The token is the authority:
//!   one use, its own tab only, two minutes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{decode, encode, Message, ProtocolError};
use crate::c2c::{C2cSettings, SiteState};
use crate::phone::PhoneMatch;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum C2cRequest {
    /// Text nodes of a page, at most [`MAX_DETECT_TEXTS`](crate::c2c::MAX_DETECT_TEXTS)
    /// of them and [`MAX_DETECT_UTF16`](crate::c2c::MAX_DETECT_UTF16) code
    /// units in all. → [`C2cReply::Matches`], one list per text, offsets in
    /// UTF-16 code units of that text.
    Detect { texts: Vec<String> },
    /// Click-to-call on the sender's page, or (popup) on the page at `url`.
    /// → [`C2cReply::Site`].
    GetSite {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// The popup's per-site toggles for the page at `url`; absent fields
    /// are left as they are. → [`C2cReply::Site`].
    SetSite {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        enabled: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        skip_confirmation: Option<bool>,
    },
    /// → [`C2cReply::C2cSettings`].
    GetC2cSettings,
    /// The global switch and the exclusion list (and the per-site table).
    /// → [`C2cReply::C2cSettings`] or `error` `invalid_settings`.
    SetC2cSettings { settings: C2cSettings },
    /// What the confirmation shows for a `tel:`/`callto:`/`sip:` link or a
    /// piece of text. → [`C2cReply::Resolved`] or `error` `invalid_number`.
    ResolveDial { text: String },
    /// Call `number` (a link, a match's text): the worker normalises it again
    /// with the user's dial rules and dials the result. → the `dial` reply
    /// (`call`, or `error`).
    CallNumber { number: String },
    /// A number clicked in a frame: show its confirmation in the tab's top
    /// document. → [`C2cReply::Resolved`] (the dial string shown), or
    /// `error` (`invalid_number`, `forbidden`).
    ConfirmInTop { number: String },
    /// The user confirmed the call behind `token`
    /// ([`TabMessage::ConfirmCall`]). → the `dial` reply (`call`, or
    /// `error`; `forbidden` for an unknown, used or expired token).
    ConfirmedCall { token: String },
    /// The messages `keys` of `_locales` in the language chosen in the
    /// popup's Settings, for the content script and the small extension
    /// pages, whose chrome.i18n knows only the browser's language. At most
    /// [`MAX_TEXT_KEYS`] keys. → [`C2cReply::Texts`]: only the keys the
    /// chosen table has, none when the user follows the browser's language.
    GetTexts { keys: Vec<String> },
}

/// The most keys one `get_texts` may ask for.
pub const MAX_TEXT_KEYS: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum C2cReply {
    Matches {
        matches: Vec<Vec<PhoneMatch>>,
    },
    Site {
        site: SiteState,
    },
    C2cSettings {
        settings: C2cSettings,
    },
    Resolved {
        dial: String,
        extension: Option<String>,
    },
    /// Key → message, named placeholders already turned into `$1`… as
    /// chrome.i18n's substitutions expect.
    Texts {
        texts: BTreeMap<String, String>,
    },
}

/// Sent by the worker to every tab (`chrome.tabs.sendMessage`) when the
/// settings changed: each content script asks `get_site` again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TabMessage {
    SiteChanged,
    /// To the top document of a tab: show the confirmation for `dial`, and
    /// answer `confirmed_call` with `token` if the user confirms. The content
    /// script replies [`ConfirmShown`] at once, so the worker knows to fall
    /// back to its own window where no content script runs (PDFs, the web
    /// store, `chrome://` pages).
    ConfirmCall {
        token: String,
        dial: String,
    },
    /// To the top document of a tab: which page is this? The content script
    /// answers [`TopPage`]. A frame's click-to-call follows its page, and the
    /// browser tells the worker the tab's URL only for sites in the host
    /// permissions.
    TopPage,
}

/// The content script's answer to [`TabMessage::TopPage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopPage {
    pub url: String,
}

/// The content script's answer to [`TabMessage::ConfirmCall`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmShown {
    pub shown: bool,
}

impl Message for C2cRequest {
    const TYPES: &'static [&'static str] = &[
        "detect",
        "get_site",
        "set_site",
        "get_c2c_settings",
        "set_c2c_settings",
        "resolve_dial",
        "call_number",
        "confirm_in_top",
        "confirmed_call",
        "get_texts",
    ];
}
impl Message for C2cReply {
    const TYPES: &'static [&'static str] =
        &["matches", "site", "c2c_settings", "resolved", "texts"];
}
impl Message for TabMessage {
    const TYPES: &'static [&'static str] = &["site_changed", "confirm_call", "top_page"];
}

/// Who may send a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Content scripts and the extension's pages.
    Anyone,
    /// The extension's own pages only.
    ExtensionPages,
    /// A content script only: the call it asks for follows a click on a page.
    ContentScript,
}

impl C2cRequest {
    /// Decodes a click-to-call request; [`ProtocolError::UnknownType`] for
    /// any other message, which then belongs to the general handler.
    pub fn decode(text: &str) -> Result<C2cRequest, ProtocolError> {
        decode(text)
    }
    pub fn encode(&self) -> String {
        encode(self)
    }

    pub fn audience(&self) -> Audience {
        match self {
            C2cRequest::Detect { .. }
            | C2cRequest::ResolveDial { .. }
            | C2cRequest::ConfirmedCall { .. }
            | C2cRequest::GetTexts { .. } => Audience::Anyone,
            C2cRequest::GetSite { url: None } => Audience::Anyone,
            C2cRequest::GetSite { url: Some(_) }
            | C2cRequest::SetSite { .. }
            | C2cRequest::GetC2cSettings
            | C2cRequest::SetC2cSettings { .. } => Audience::ExtensionPages,
            C2cRequest::CallNumber { .. } | C2cRequest::ConfirmInTop { .. } => {
                Audience::ContentScript
            }
        }
    }
}

impl C2cReply {
    pub fn decode(text: &str) -> Result<C2cReply, ProtocolError> {
        decode(text)
    }
    pub fn encode(&self) -> String {
        encode(self)
    }
}

impl TabMessage {
    pub fn decode(text: &str) -> Result<TabMessage, ProtocolError> {
        decode(text)
    }
    pub fn encode(&self) -> String {
        encode(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::{find_numbers, DialRules};

    #[test]
    fn get_texts_round_trips_and_anyone_may_ask() {
        let request =
            C2cRequest::decode(r#"{"v":1,"type":"get_texts","keys":["c2cConfirmCall"]}"#).unwrap();
        assert_eq!(
            request,
            C2cRequest::GetTexts {
                keys: vec!["c2cConfirmCall".into()]
            }
        );
        assert_eq!(request.audience(), Audience::Anyone);
        let reply = C2cReply::Texts {
            texts: BTreeMap::from([("c2cConfirmCall".into(), "呼叫".into())]),
        };
        let text = reply.encode();
        assert!(
            text.contains(r#""texts":{"c2cConfirmCall":"呼叫"}"#),
            "{text}"
        );
        assert_eq!(C2cReply::decode(&text), Ok(reply));
        assert!(C2cRequest::decode(r#"{"v":1,"type":"get_texts","keys":"x"}"#).is_err());
    }

    #[test]
    fn detect_round_trips_with_utf16_offsets() {
        let request =
            C2cRequest::decode(r#"{"v":1,"type":"detect","texts":["Call 电话 (415) 555-0132"]}"#)
                .unwrap();
        let C2cRequest::Detect { texts } = &request else {
            panic!("{request:?}")
        };
        let matches = vec![find_numbers(&texts[0], &DialRules::default())];
        assert_eq!(matches[0][0].start_utf16, 8);
        let reply = C2cReply::Matches { matches };
        let text = reply.encode();
        assert!(text.contains(r#""dial":"4155550132""#), "{text}");
        assert!(text.contains(r#""start_utf16":8"#), "{text}");
        assert_eq!(C2cReply::decode(&text), Ok(reply));
        assert_eq!(request.audience(), Audience::Anyone);
    }

    #[test]
    fn who_may_send_what() {
        let site = |json: &str| C2cRequest::decode(json).unwrap().audience();
        assert_eq!(site(r#"{"v":1,"type":"get_site"}"#), Audience::Anyone);
        assert_eq!(
            site(r#"{"v":1,"type":"get_site","url":"https://a.test/"}"#),
            Audience::ExtensionPages
        );
        assert_eq!(
            site(r#"{"v":1,"type":"set_site","url":"https://a.test/","enabled":false}"#),
            Audience::ExtensionPages
        );
        assert_eq!(
            site(r#"{"v":1,"type":"get_c2c_settings"}"#),
            Audience::ExtensionPages
        );
        assert_eq!(
            site(r#"{"v":1,"type":"set_c2c_settings","settings":{"enabled":false}}"#),
            Audience::ExtensionPages
        );
        assert_eq!(
            site(r#"{"v":1,"type":"call_number","number":"tel:+14155550132"}"#),
            Audience::ContentScript
        );
        assert_eq!(
            site(r#"{"v":1,"type":"resolve_dial","text":"sip:1003@pbx.test"}"#),
            Audience::Anyone
        );
        assert_eq!(
            site(r#"{"v":1,"type":"confirm_in_top","number":"+1 415-555-0132"}"#),
            Audience::ContentScript
        );
        assert_eq!(
            site(r#"{"v":1,"type":"confirmed_call","token":"00ff"}"#),
            Audience::Anyone
        );
    }

    #[test]
    fn other_messages_are_left_to_the_general_handler() {
        assert_eq!(
            C2cRequest::decode(r#"{"v":1,"type":"get_snapshot"}"#),
            Err(ProtocolError::UnknownType("get_snapshot".into()))
        );
        assert!(matches!(
            C2cRequest::decode(r#"{"v":1,"type":"detect","texts":"x"}"#),
            Err(ProtocolError::Malformed(_))
        ));
        assert!(matches!(
            C2cRequest::decode(r#"{"v":1,"type":"call_number"}"#),
            Err(ProtocolError::Malformed(_))
        ));
        assert_eq!(
            TabMessage::SiteChanged.encode(),
            r#"{"type":"site_changed","v":1}"#
        );
        let confirm = TabMessage::ConfirmCall {
            token: "00ff".into(),
            dial: "4155550132".into(),
        };
        assert_eq!(TabMessage::decode(&confirm.encode()), Ok(confirm));
    }
}
