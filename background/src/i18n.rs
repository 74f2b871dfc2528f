//! The worker's own words (call notifications, the context menu) in the
//! language chosen in Settings. chrome.i18n serves only the browser's
//! language, so the chosen language's `_locales` table is fetched once and
//! looked up here; with no choice made, or before the table has arrived,
//! chrome.i18n answers.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use js_sys::{Function, Promise, Reflect};
use ringside::settings::Language;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["chrome", "i18n"], js_name = getMessage)]
    fn i18n_get_message(name: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_name = fetch)]
    fn fetch(url: &str) -> Result<Promise, JsValue>;
}

/// Key → message, the `message` of each `_locales` entry.
type Table = HashMap<String, String>;

thread_local! {
    static LOADED: RefCell<Option<(Language, Table)>> = const { RefCell::new(None) };
}

/// The message `key` in the user's language; `fallback` only if no table
/// has it (a key missing from `_locales` is a bug the locale test catches).
pub fn text(key: &str, fallback: &str) -> String {
    let chosen = crate::settings::current().language;
    let from_table = chosen.and_then(|language| {
        LOADED.with(|loaded| match &*loaded.borrow() {
            Some((l, table)) if *l == language => table.get(key).cloned(),
            _ => None,
        })
    });
    from_table
        .or_else(|| {
            i18n_get_message(key)
                .ok()
                .and_then(|v| v.as_string())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| fallback.to_owned())
}

/// Makes `language`'s table the one [`text`] reads, fetching it unless it
/// is already loaded. A file that cannot be read leaves chrome.i18n in
/// charge: words in the browser's language beat no words.
pub async fn load(language: Option<Language>) {
    let Some(language) = language else {
        return;
    };
    if LOADED.with(|loaded| matches!(&*loaded.borrow(), Some((l, _)) if *l == language)) {
        return;
    }
    let url = format!("/_locales/{}/messages.json", language.code());
    let Some(source) = fetch_text(&url).await else {
        return;
    };
    let Ok(serde_json::Value::Object(entries)) = serde_json::from_str(&source) else {
        return;
    };
    let table: Table = entries
        .into_iter()
        .filter_map(|(key, entry)| Some((key, positional_message(&entry)?)))
        .collect();
    LOADED.with(|loaded| *loaded.borrow_mut() = Some((language, table)));
}

/// An entry's message with its named placeholders (`$NUMBER$`) turned into
/// their content (`$1`), the form chrome.i18n's callers substitute into.
fn positional_message(entry: &serde_json::Value) -> Option<String> {
    let mut message = entry.get("message")?.as_str()?.to_owned();
    if let Some(placeholders) = entry.get("placeholders").and_then(|p| p.as_object()) {
        for (name, placeholder) in placeholders {
            if let Some(content) = placeholder.get("content").and_then(|c| c.as_str()) {
                message = message
                    .replace(&format!("${}$", name.to_ascii_uppercase()), content)
                    .replace(&format!("${name}$"), content);
            }
        }
    }
    Some(message)
}

/// The messages of `keys` in the chosen language, for pages that cannot
/// read it themselves; empty when the user follows the browser's language
/// (their own chrome.i18n is right then).
pub fn chosen_texts(keys: &[String]) -> BTreeMap<String, String> {
    let Some(language) = crate::settings::current().language else {
        return BTreeMap::new();
    };
    LOADED.with(|loaded| match &*loaded.borrow() {
        Some((l, table)) if *l == language => keys
            .iter()
            .filter_map(|k| Some((k.clone(), table.get(k)?.clone())))
            .collect(),
        _ => BTreeMap::new(),
    })
}

async fn fetch_text(url: &str) -> Option<String> {
    let response = JsFuture::from(fetch(url).ok()?).await.ok()?;
    if !Reflect::get(&response, &"ok".into()).ok()?.is_truthy() {
        return None;
    }
    let text: Function = Reflect::get(&response, &"text".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let promise: Promise = text.call0(&response).ok()?.dyn_into().ok()?;
    JsFuture::from(promise).await.ok()?.as_string()
}
