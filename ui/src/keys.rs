//! Texts of function keys that the popup's grid and the options page's
//! editor both show.

use ringside::function_keys::{FunctionKey, KeyKind};
use ringside::presence::Status;
use ringside::settings::Language;

use crate::i18n::tr;

/// A line under the toolbar: a message key, its `$1`, and whether it is an
/// error (announced at once) or news.
#[derive(Clone, PartialEq)]
pub struct Notice {
    pub key: &'static str,
    pub arg: String,
    pub error: bool,
}

impl Notice {
    pub fn error(key: &'static str, arg: String) -> Option<Notice> {
        Some(Notice {
            key,
            arg,
            error: true,
        })
    }
    pub fn info(key: &'static str) -> Option<Notice> {
        Some(Notice {
            key,
            arg: String::new(),
            error: false,
        })
    }
}

/// Key number `index + 1` as the `$1` of an error about one key.
pub fn key_number(index: Option<usize>) -> String {
    index.map(|i| (i + 1).to_string()).unwrap_or_default()
}

/// The value as the user reads it (a status by its name).
pub fn value_text(lang: Language, key: &FunctionKey) -> String {
    match key.kind {
        KeyKind::SetStatus => Status::ALL
            .iter()
            .find(|s| s.as_str() == key.value)
            .map(|s| tr(lang, s.message_key(), &[]))
            .unwrap_or_else(|| key.value.clone()),
        _ => key.value.clone(),
    }
}
