//! Click-to-call in the worker: answers the content script's `detect`
//! batches with the core's detector, keeps the per-site settings, places a
//! confirmed call down the popup's `dial` path, and the "Call <selection>"
//! context menu.
//!
//! The content script has no wasm (a strict page CSP forbids compiling it in
//! the page's isolated world), so all detection happens here. Every request
//! is checked against its sender: a content script speaks for a web page and
//! may only scan text, read its own site's state and ask for a call.

use std::cell::RefCell;

use js_sys::{Object, Promise, Reflect};
use ringside::c2c::{self, C2cSettings, SiteChange, SETTINGS_KEY};
use ringside::phone::{dial_selection, find_numbers, find_numbers_in_batch, DialError, DialRules};
use ringside::protocol::c2c::{Audience, C2cReply, C2cRequest, TabMessage};
use ringside::protocol::{ErrorCode, ProtocolError, Reply};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::chrome;

/// The user's settings (popup helper's `Settings`); only `dial_rules` is read.
const USER_SETTINGS_KEY: &str = "settings";
const MENU_ID: &str = "ringside-call-selection";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["chrome", "tabs"], js_name = query)]
    fn tabs_query(info: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "tabs"], js_name = sendMessage)]
    fn tabs_send_message(tab_id: f64, message: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "contextMenus"], js_name = create)]
    fn context_menus_create(properties: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "contextMenus"], js_name = removeAll)]
    fn context_menus_remove_all() -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "i18n"], js_name = getMessage)]
    fn i18n_get_message(name: &str) -> Result<JsValue, JsValue>;
}

/// Settings and dial rules as last read from storage; `None` until first
/// needed and again after they change in storage.
#[derive(Default)]
struct Cache {
    settings: Option<C2cSettings>,
    rules: Option<DialRules>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

fn field(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

async fn settings() -> C2cSettings {
    if let Some(s) = CACHE.with(|c| c.borrow().settings.clone()) {
        return s;
    }
    let stored = chrome::storage_get(&[SETTINGS_KEY])
        .await
        .unwrap_or(JsValue::UNDEFINED);
    let value = field(&stored, SETTINGS_KEY);
    let settings = if value.is_undefined() || value.is_null() {
        C2cSettings::default()
    } else {
        match chrome::to_json(&value)
            .ok_or_else(|| "not JSON".to_owned())
            .and_then(|t| serde_json::from_str::<C2cSettings>(&t).map_err(|e| e.to_string()))
            .and_then(|s| s.validate().map_err(|e| e.to_string()))
        {
            Ok(s) => s,
            Err(e) => {
                // Fail open to the defaults rather than turning click-to-call
                // off for good because of one bad write.
                chrome::warn(&format!(
                    "ringside: ignoring stored click-to-call settings: {e}"
                ));
                C2cSettings::default()
            }
        }
    };
    CACHE.with(|c| c.borrow_mut().settings = Some(settings.clone()));
    settings
}

async fn rules() -> DialRules {
    if let Some(r) = CACHE.with(|c| c.borrow().rules.clone()) {
        return r;
    }
    let stored = chrome::storage_get(&[USER_SETTINGS_KEY])
        .await
        .unwrap_or(JsValue::UNDEFINED);
    let rules = chrome::to_json(&field(&stored, USER_SETTINGS_KEY))
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|mut v| v.get_mut("dial_rules").map(Value::take))
        .and_then(|v| serde_json::from_value::<DialRules>(v).ok())
        .unwrap_or_default();
    CACHE.with(|c| c.borrow_mut().rules = Some(rules.clone()));
    rules
}

async fn store(settings: &C2cSettings) -> Result<(), ErrorCode> {
    let text = serde_json::to_string(settings).map_err(|_| ErrorCode::StorageFailed)?;
    chrome::storage_set(SETTINGS_KEY, &chrome::from_json(&text))
        .await
        .map_err(|_| ErrorCode::StorageFailed)?;
    CACHE.with(|c| c.borrow_mut().settings = Some(settings.clone()));
    Ok(())
}

/// The URL of the frame that sent a message (`sender.url`), and whether it is
/// a content script (`sender.tab` set and not one of our own pages).
struct Sender {
    url: Option<String>,
    content_script: bool,
    extension_page: bool,
}

impl Sender {
    fn of(sender: &JsValue) -> Sender {
        let extension_page = crate::from_extension_page(sender);
        let tab = field(sender, "tab");
        Sender {
            url: field(sender, "url").as_string(),
            content_script: tab.is_object() && !extension_page,
            extension_page,
        }
    }
}

fn reply(r: C2cReply) -> JsValue {
    chrome::from_json(&r.encode())
}

fn error(code: ErrorCode) -> JsValue {
    chrome::from_json(&Reply::error(code).encode())
}

/// `chrome.runtime.onMessage` for click-to-call requests; `None` for any
/// other message, which the general handler then answers.
pub async fn on_message(message: &JsValue, sender: &JsValue) -> Option<JsValue> {
    let text = chrome::to_json(message)?;
    let request = match C2cRequest::decode(&text) {
        Ok(request) => request,
        Err(ProtocolError::Malformed(e)) => {
            chrome::warn(&format!("ringside: bad click-to-call request: {e}"));
            return Some(error(ErrorCode::BadRequest));
        }
        Err(_) => return None,
    };
    let sender = Sender::of(sender);
    let allowed = match request.audience() {
        Audience::Anyone => true,
        Audience::ExtensionPages => sender.extension_page,
        Audience::ContentScript => sender.content_script,
    };
    if !allowed {
        chrome::warn("ringside: refused a click-to-call request from the wrong sender");
        return Some(error(ErrorCode::Forbidden));
    }
    Some(handle(request, &sender).await)
}

async fn handle(request: C2cRequest, sender: &Sender) -> JsValue {
    match request {
        C2cRequest::Detect { texts } => {
            if let Err(e) = c2c::check_detect(&texts) {
                chrome::warn(&format!("ringside: detect refused: {e}"));
                return error(ErrorCode::BadRequest);
            }
            let rules = rules().await;
            reply(C2cReply::Matches {
                matches: find_numbers_in_batch(&texts, &rules),
            })
        }
        C2cRequest::GetSite { url } => {
            // A content script gets its own frame's state; an extension page
            // without `url` is no site.
            let url = url.or(sender.url.clone().filter(|_| !sender.extension_page));
            let site = settings().await.site_state(url.as_deref().unwrap_or(""));
            reply(C2cReply::Site { site })
        }
        C2cRequest::SetSite {
            url,
            enabled,
            skip_confirmation,
        } => {
            let mut settings = settings().await;
            let change = SiteChange {
                enabled,
                skip_confirmation,
            };
            match settings.change_site(&url, change) {
                Ok(true) => {}
                Ok(false) => return error(ErrorCode::BadRequest),
                Err(_) => return error(ErrorCode::InvalidSettings),
            }
            if let Err(code) = store(&settings).await {
                return error(code);
            }
            reply(C2cReply::Site {
                site: settings.site_state(&url),
            })
        }
        C2cRequest::GetC2cSettings => reply(C2cReply::C2cSettings {
            settings: settings().await,
        }),
        C2cRequest::SetC2cSettings { settings } => {
            let Ok(settings) = settings.validate() else {
                return error(ErrorCode::InvalidSettings);
            };
            match store(&settings).await {
                Ok(()) => reply(C2cReply::C2cSettings { settings }),
                Err(code) => error(code),
            }
        }
        C2cRequest::ResolveDial { text } => {
            match dial_selection(c2c::dial_input(&text), &rules().await) {
                Ok(d) => reply(C2cReply::Resolved {
                    dial: d.dial,
                    extension: d.extension,
                }),
                Err(_) => error(ErrorCode::InvalidNumber),
            }
        }
        C2cRequest::CallNumber { number } => {
            let state = settings()
                .await
                .site_state(sender.url.as_deref().unwrap_or(""));
            if !state.active {
                chrome::warn("ringside: click-to-call is off for the page that asked for a call");
                return error(ErrorCode::Forbidden);
            }
            let (target, dial) = match dial_target(c2c::dial_input(&number), &rules().await) {
                Ok(found) => found,
                Err(_) => return error(ErrorCode::InvalidNumber),
            };
            chrome::log(&format!(
                "ringside: click-to-call from {}: dialling {dial}",
                state.site.as_deref().unwrap_or("?")
            ));
            dial_as_popup(&target).await
        }
    }
}

/// What to hand to `dial` for `input`, and the dial string the confirmation
/// showed. `dial` normalises its number itself (`normalize_dial`), which
/// knows no labels or extensions (`+44 20 7946 0958 ext. 12`): a number found
/// in the text goes as its E.164 form, which normalises to the same digits;
/// anything else (`tel:` links, extensions, feature codes) as it is.
fn dial_target(input: &str, rules: &DialRules) -> Result<(String, String), DialError> {
    let shown = dial_selection(input, rules)?;
    let target = match find_numbers(input, rules).as_slice() {
        [only] if only.dial == shown.dial => only.e164.clone(),
        _ => input.to_owned(),
    };
    Ok((target, shown.dial))
}

/// Places the call exactly as the popup's `dial` does, through the general
/// handler, which normalises `number` with the same rules. The content
/// script's own right to ask was checked above; `dial` itself is refused
/// to content scripts, so the request is handed over as the worker's own.
async fn dial_as_popup(number: &str) -> JsValue {
    let message = chrome::from_json(
        &serde_json::json!({ "v": 1, "type": "dial", "number": number }).to_string(),
    );
    let own = Object::new();
    if let Some(url) = chrome::extension_url() {
        let _ = Reflect::set(&own, &"url".into(), &JsValue::from_str(&url));
    }
    chrome::from_json(&crate::handle_request(message, own.into()).await.encode())
}

/// `chrome.storage.onChanged` (local): drop what changed from the cache and
/// tell every tab's content script to ask for its site's state again.
pub fn on_storage_changed(changes: &JsValue) {
    let changed = |key: &str| !field(changes, key).is_undefined();
    if changed(USER_SETTINGS_KEY) {
        CACHE.with(|c| c.borrow_mut().rules = None);
    }
    if changed(SETTINGS_KEY) {
        CACHE.with(|c| c.borrow_mut().settings = None);
        wasm_bindgen_futures::spawn_local(notify_tabs());
    }
}

async fn notify_tabs() {
    let Ok(query) = tabs_query(&Object::new()) else {
        return;
    };
    let Ok(tabs) = JsFuture::from(query).await else {
        return;
    };
    let message = chrome::from_json(&TabMessage::SiteChanged.encode());
    for tab in js_sys::Array::from(&tabs).iter() {
        if let Some(id) = field(&tab, "id").as_f64() {
            // Tabs without our content script (chrome:// pages) reject.
            if let Ok(p) = tabs_send_message(id, &message) {
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = JsFuture::from(p).await;
                });
            }
        }
    }
}

/// `chrome.runtime.onInstalled`: (re)creates the "Call <selection>" item.
#[wasm_bindgen]
pub async fn c2c_install() {
    if let Ok(p) = context_menus_remove_all() {
        let _ = JsFuture::from(p).await;
    }
    let title = i18n_get_message("c2cMenuCall")
        .ok()
        .and_then(|t| t.as_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "Call \u{201c}%s\u{201d}".to_owned());
    let properties = Object::new();
    let contexts = js_sys::Array::of1(&"selection".into());
    let set = |k: &str, v: &JsValue| Reflect::set(&properties, &JsValue::from_str(k), v).is_ok();
    if set("id", &MENU_ID.into()) && set("title", &title.into()) && set("contexts", &contexts) {
        if let Err(e) = context_menus_create(&properties) {
            chrome::warn(&format!("ringside: cannot create the context menu: {e:?}"));
        }
    }
}

/// `chrome.contextMenus.onClicked`: the user picked "Call <selection>" in
/// the browser's own menu, which no page can trigger, so it dials at once.
#[wasm_bindgen]
pub async fn on_context_menu(info: JsValue) {
    if field(&info, "menuItemId").as_string().as_deref() != Some(MENU_ID) {
        return;
    }
    let Some(text) = field(&info, "selectionText").as_string() else {
        return;
    };
    match dial_target(c2c::dial_input(&text), &rules().await) {
        Ok((target, dial)) => {
            chrome::log(&format!("ringside: context menu: dialling {dial}"));
            dial_as_popup(&target).await;
        }
        Err(e) => chrome::warn(&format!("ringside: the selection is not a number: {e}")),
    }
}
