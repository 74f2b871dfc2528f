//! Translations, switched at runtime: chrome.i18n only knows the browser's
//! language, so both `_locales` tables are looked up here. `_locales` stays
//! the single table (the manifest uses it too); the page's loader
//! (extension/locales.js) fetches both files before the app starts, which
//! keeps ~40 kB of JSON out of the wasm.

use std::cell::RefCell;

use js_sys::{Array, Object, Reflect, JSON};
use ringside::settings::Language;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The text of `_locales/<locale>/messages.json`, as loaded by
    /// extension/locales.js; throws or returns a non-string without it.
    #[wasm_bindgen(catch, js_namespace = window, js_name = ringsideMessages)]
    fn js_messages(locale: &str) -> Result<JsValue, JsValue>;
}

thread_local! {
    /// Each language's table, parsed once, as the browser's JSON object: read
    /// through `Reflect`, it costs the wasm far less than decoding it into
    /// Rust maps.
    static TABLES: RefCell<[Option<JsValue>; 2]> = const { RefCell::new([None, None]) };
}

fn table(language: Language) -> JsValue {
    let (slot, locale) = match language {
        Language::En => (0, "en"),
        Language::ZhCn => (1, "zh_CN"),
    };
    TABLES.with(|tables| {
        let mut tables = tables.borrow_mut();
        tables[slot]
            .get_or_insert_with(|| {
                // The files are checked by the core's locale test; a broken or
                // missing one shows keys instead of text rather than stopping
                // the page.
                js_messages(locale)
                    .ok()
                    .and_then(|text| text.as_string())
                    .and_then(|text| JSON::parse(&text).ok())
                    .filter(JsValue::is_object)
                    .unwrap_or(JsValue::NULL)
            })
            .clone()
    })
}

/// `table[key]` if it is an object (a message entry); nothing for a missing
/// table or key.
fn get_object(table: &JsValue, key: &str) -> Option<JsValue> {
    if !table.is_object() {
        return None;
    }
    Reflect::get(table, &JsValue::from_str(key))
        .ok()
        .filter(JsValue::is_object)
}

fn get_string(object: &JsValue, key: &str) -> Option<String> {
    Reflect::get(object, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
}

fn positional(text: &str, substitutions: &[&str]) -> String {
    let mut out = text.to_owned();
    for (i, value) in substitutions.iter().enumerate().rev() {
        out = out.replace(&format!("${}", i + 1), value);
    }
    out
}

/// The message `key` in `language` (English if missing there, the key
/// itself if missing everywhere, so a gap is visible, not blank), with
/// `$1`… and named placeholders filled in as chrome.i18n does.
pub fn tr(language: Language, key: &str, substitutions: &[&str]) -> String {
    let entry = get_object(&table(language), key).or_else(|| get_object(&table(Language::En), key));
    let Some(text) = entry.as_ref().and_then(|e| get_string(e, "message")) else {
        return key.to_owned();
    };
    let mut text = text;
    let placeholders = entry
        .and_then(|e| Reflect::get(&e, &JsValue::from_str("placeholders")).ok())
        .filter(JsValue::is_object)
        .map(|p| Object::entries(&Object::from(p)))
        .unwrap_or_else(Array::new);
    for pair in placeholders.iter() {
        let pair = Array::from(&pair);
        let (Some(name), Some(content)) =
            (pair.get(0).as_string(), get_string(&pair.get(1), "content"))
        else {
            continue;
        };
        let value = positional(&content, substitutions);
        text = text
            .replace(&format!("${}$", name.to_ascii_uppercase()), &value)
            .replace(&format!("${name}$"), &value);
    }
    positional(&text, substitutions)
}

/// The current language, provided by the app root.
#[hook]
pub fn use_language() -> Language {
    use_context::<Language>().unwrap_or(Language::En)
}
