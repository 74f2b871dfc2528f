//! Translations, switched at runtime: chrome.i18n only knows the browser's
//! language, so both `_locales` tables are looked up here. `_locales` stays
//! the single table (the manifest uses it too); the page's loader
//! (extension/locales.js) fetches both files before the app starts, which
//! keeps ~40 kB of JSON out of the wasm.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use ringside::settings::Language;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The text of `_locales/<locale>/messages.json`, as loaded by
    /// extension/locales.js; throws or returns a non-string without it.
    #[wasm_bindgen(catch, js_namespace = window, js_name = ringsideMessages)]
    fn js_messages(locale: &str) -> Result<JsValue, JsValue>;
}

#[derive(Deserialize)]
struct Entry {
    message: String,
    #[serde(default)]
    placeholders: HashMap<String, Placeholder>,
}

#[derive(Deserialize)]
struct Placeholder {
    content: String,
}

type Table = HashMap<String, Entry>;

thread_local! {
    static TABLES: RefCell<HashMap<Language, Rc<Table>>> = RefCell::new(HashMap::new());
}

fn table(language: Language) -> Rc<Table> {
    TABLES.with(|tables| {
        let mut tables = tables.borrow_mut();
        tables
            .entry(language)
            .or_insert_with(|| {
                let locale = match language {
                    Language::En => "en",
                    Language::ZhCn => "zh_CN",
                };
                let source = js_messages(locale)
                    .ok()
                    .and_then(|text| text.as_string())
                    .unwrap_or_default();
                // The files are checked by the core's locale test; a broken or
                // missing one shows keys instead of text rather than stopping
                // the popup.
                Rc::new(serde_json::from_str(&source).unwrap_or_default())
            })
            .clone()
    })
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
    let primary = table(language);
    let fallback = table(Language::En);
    let Some(entry) = primary.get(key).or_else(|| fallback.get(key)) else {
        return key.to_owned();
    };
    let mut text = entry.message.clone();
    for (name, placeholder) in &entry.placeholders {
        let value = positional(&placeholder.content, substitutions);
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
