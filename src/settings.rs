//! The user's preferences, stored by the worker under `settings` in
//! chrome.storage.local and edited in the popup's Settings screen.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::phone::DialRules;

/// Longest outbound prefix. (Voicemail and park numbers are call settings:
/// `protocol::calls::CallSettings`.)
const MAX_NUMBER_CHARS: usize = 32;
/// Media device ids are 64 hex characters in Chrome; allow some slack.
const MAX_DEVICE_ID_CHARS: usize = 256;

/// The popup's language; `None` in [`Settings`] follows the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh_CN")]
    ZhCn,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::ZhCn];

    /// The `_locales` directory name.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::ZhCn => "zh_CN",
        }
    }

    /// The BCP 47 tag for `<html lang>` and date formatting.
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::ZhCn => "zh-CN",
        }
    }

    /// The language for a browser UI language (`chrome.i18n.getUILanguage`).
    pub fn from_ui_language(tag: &str) -> Language {
        if tag.to_ascii_lowercase().starts_with("zh") {
            Language::ZhCn
        } else {
            Language::En
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ringtone {
    #[default]
    Classic,
    Digital,
    Soft,
    Silent,
}

impl Ringtone {
    pub const ALL: [Ringtone; 4] = [
        Ringtone::Classic,
        Ringtone::Digital,
        Ringtone::Soft,
        Ringtone::Silent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Ringtone::Classic => "classic",
            Ringtone::Digital => "digital",
            Ringtone::Soft => "soft",
            Ringtone::Silent => "silent",
        }
    }

    pub fn message_key(self) -> &'static str {
        match self {
            Ringtone::Classic => "ringtoneClassic",
            Ringtone::Digital => "ringtoneDigital",
            Ringtone::Soft => "ringtoneSoft",
            Ringtone::Silent => "ringtoneSilent",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub language: Option<Language>,
    pub notifications: bool,
    pub ringtone: Ringtone,
    /// `deviceId`s from `navigator.mediaDevices.enumerateDevices`; `None`
    /// is the system default.
    pub microphone: Option<String>,
    pub speaker: Option<String>,
    pub ringer: Option<String>,
    /// Off: the password lives only in chrome.storage.session and is gone
    /// when the browser closes.
    pub remember_password: bool,
    pub dial_rules: DialRules,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            language: None,
            notifications: true,
            ringtone: Ringtone::default(),
            microphone: None,
            speaker: None,
            ringer: None,
            remember_password: true,
            dial_rules: DialRules::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingsError {
    #[error("the outbound prefix may only hold digits, * and #")]
    OutboundPrefix,
    #[error("a device id is too long")]
    DeviceId,
}

impl SettingsError {
    pub fn message_key(self) -> &'static str {
        match self {
            SettingsError::OutboundPrefix => "errOutboundPrefix",
            SettingsError::DeviceId => "errDeviceId",
        }
    }
}

/// Digits, `*` and `#`, empty allowed (not configured).
pub fn is_feature_number(text: &str) -> bool {
    text.chars().count() <= MAX_NUMBER_CHARS
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

impl Settings {
    /// Every problem, so the form can mark each field.
    pub fn errors(&self) -> Vec<SettingsError> {
        let mut errors = Vec::new();
        if !is_feature_number(&self.dial_rules.outbound_prefix) {
            errors.push(SettingsError::OutboundPrefix);
        }
        if [&self.microphone, &self.speaker, &self.ringer]
            .iter()
            .any(|d| d.as_ref().is_some_and(|d| d.len() > MAX_DEVICE_ID_CHARS))
        {
            errors.push(SettingsError::DeviceId);
        }
        errors
    }

    /// Parse what was stored; unusable or invalid settings are the defaults,
    /// so a damaged entry never stops the worker.
    pub fn from_stored(json: &str) -> Settings {
        serde_json::from_str::<Settings>(json)
            .ok()
            .filter(|s| s.errors().is_empty())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_browser_and_remember_the_password() {
        let s = Settings::default();
        assert_eq!(s.language, None);
        assert!(s.remember_password && s.notifications);
        assert_eq!(Settings::from_stored("{}"), s);
        assert_eq!(Settings::from_stored("not json"), s);
    }

    #[test]
    fn numbers_are_checked() {
        let mut s = Settings::default();
        s.dial_rules.outbound_prefix = "9".into();
        assert!(s.errors().is_empty());
        s.dial_rules.outbound_prefix = "9,".into();
        s.microphone = Some("x".repeat(300));
        assert_eq!(
            s.errors(),
            [SettingsError::OutboundPrefix, SettingsError::DeviceId]
        );
        let stored = serde_json::to_string(&s).unwrap();
        assert_eq!(Settings::from_stored(&stored), Settings::default());
    }

    #[test]
    fn language_wire_names_are_the_locale_directories() {
        let s = Settings {
            language: Some(Language::ZhCn),
            ..Settings::default()
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""language":"zh_CN""#), "{json}");
        assert_eq!(Settings::from_stored(&json), s);
        assert_eq!(Language::from_ui_language("zh-TW"), Language::ZhCn);
        assert_eq!(Language::from_ui_language("de"), Language::En);
    }
}
