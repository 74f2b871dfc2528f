//! Click-to-call in the worker: answers the content script's `detect`
//! batches with the core's detector, keeps the per-site settings, places a
//! confirmed call down the popup's `dial` path, and the "Call <selection>"
//! context menu.
//!
//! A call asked for where no confirmation can be shown safely on the spot
//! (the browser's context menu, a number in a frame) waits as a
//! [`PendingCall`] in `chrome.storage.session` (the worker may be stopped
//! while the user reads): the tab's top document shows the confirmation, or
//! where no content script runs there, the extension's own window
//! (`confirm.html`). Only a trusted click there sends the call's token back.
//!
//! The content script has no wasm (a strict page CSP forbids compiling it in
//! the page's isolated world), so all detection happens here. Every request
//! is checked against its sender: a content script speaks for a web page and
//! may only scan text, read its own site's state and ask for a call.

use std::cell::RefCell;

use js_sys::{Object, Promise, Reflect};
use ringside::c2c::{self, C2cSettings, PendingCall, SiteChange, SiteState, SETTINGS_KEY};
use ringside::phone::{dial_selection, find_numbers, find_numbers_in_batch, DialError, DialRules};
use ringside::protocol::c2c::{
    Audience, C2cReply, C2cRequest, ConfirmShown, TabMessage, TopPage, MAX_TEXT_KEYS,
};
use ringside::protocol::{ErrorCode, ProtocolError, Reply};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::chrome;

/// The user's settings (popup helper's `Settings`); only `dial_rules` is read.
const USER_SETTINGS_KEY: &str = "settings";
const MENU_ID: &str = "ringside-call-selection";
/// `chrome.storage.session` key of the call waiting for its confirmation;
/// one at a time, a newer one replaces it.
const PENDING_KEY: &str = "c2c_pending";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["chrome", "tabs"], js_name = query)]
    fn tabs_query(info: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "tabs"], js_name = sendMessage)]
    fn tabs_send_message(tab_id: f64, message: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "tabs"], js_name = sendMessage)]
    fn tabs_send_message_to(
        tab_id: f64,
        message: &JsValue,
        options: &JsValue,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "windows"], js_name = create)]
    fn windows_create(options: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "session"], js_name = get)]
    fn session_get(key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "session"], js_name = set)]
    fn session_set(items: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "session"], js_name = remove)]
    fn session_remove(key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "contextMenus"], js_name = create)]
    fn context_menus_create(properties: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "contextMenus"], js_name = removeAll)]
    fn context_menus_remove_all() -> Result<Promise, JsValue>;
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
    /// The frame's origin: all an `about:blank` or `srcdoc` frame has.
    origin: Option<String>,
    /// The tab's top page, when the browser tells it.
    top_url: Option<String>,
    tab: Option<i64>,
    frame: Option<i64>,
    content_script: bool,
    extension_page: bool,
}

impl Sender {
    fn of(sender: &JsValue) -> Sender {
        let extension_page = crate::from_extension_page(sender);
        let tab = field(sender, "tab");
        let whole = |v: JsValue| v.as_f64().filter(|n| n.fract() == 0.0).map(|n| n as i64);
        Sender {
            url: field(sender, "url").as_string(),
            origin: field(sender, "origin").as_string(),
            top_url: field(&tab, "url").as_string(),
            tab: whole(field(&tab, "id")),
            frame: whole(field(sender, "frameId")),
            content_script: tab.is_object() && !extension_page,
            extension_page,
        }
    }

    /// Click-to-call as it applies to the sending frame of a web page.
    async fn site_state(&self, settings: &C2cSettings) -> SiteState {
        let url = self.url.as_deref().unwrap_or("");
        let frame = if c2c::site_of(url).is_some() {
            url
        } else {
            self.origin.as_deref().unwrap_or(url)
        };
        let top = match (&self.top_url, self.frame, self.tab) {
            (Some(top), _, _) => Some(top.clone()),
            (None, Some(0), _) => self.url.clone(),
            (None, Some(_), Some(tab)) => top_page(tab).await,
            _ => None,
        };
        settings.frame_state(frame, top.as_deref())
    }
}

/// The URL of `tab`'s top page, from our content script there.
async fn top_page(tab: i64) -> Option<String> {
    let message = chrome::from_json(&TabMessage::TopPage.encode());
    let options = Object::new();
    Reflect::set(&options, &"frameId".into(), &JsValue::from_f64(0.0)).ok()?;
    let answer = JsFuture::from(tabs_send_message_to(tab as f64, &message, &options).ok()?)
        .await
        .ok()?;
    let text = chrome::to_json(&answer)?;
    serde_json::from_str::<TopPage>(&text).ok().map(|p| p.url)
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
        C2cRequest::GetTexts { keys } => {
            if keys.len() > MAX_TEXT_KEYS {
                return error(ErrorCode::BadRequest);
            }
            reply(C2cReply::Texts {
                texts: crate::i18n::chosen_texts(&keys),
            })
        }
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
            let settings = settings().await;
            let site = match url {
                Some(url) => settings.site_state(&url),
                None if sender.extension_page => settings.site_state(""),
                None => sender.site_state(&settings).await,
            };
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
            let state = sender.site_state(&settings().await).await;
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
        C2cRequest::ConfirmInTop { number } => {
            if !sender.site_state(&settings().await).await.active {
                chrome::warn("ringside: click-to-call is off for the frame that asked for a call");
                return error(ErrorCode::Forbidden);
            }
            match dial_target(c2c::dial_input(&number), &rules().await) {
                Ok((target, dial)) => {
                    ask_confirmation(target, dial.clone(), sender.tab).await;
                    reply(C2cReply::Resolved {
                        dial,
                        extension: None,
                    })
                }
                Err(_) => error(ErrorCode::InvalidNumber),
            }
        }
        C2cRequest::ConfirmedCall { token } => {
            // A content script confirms from its tab's top document only,
            // where the worker sent the confirmation.
            if sender.content_script && sender.frame != Some(0) {
                return error(ErrorCode::Forbidden);
            }
            let tab = if sender.extension_page {
                None
            } else {
                sender.tab
            };
            let Some(pending) = pending().await else {
                chrome::warn("ringside: a confirmation for no waiting call");
                return error(ErrorCode::Forbidden);
            };
            if let Err(e) = pending.confirms(&token, tab, date_now() as u64) {
                chrome::warn(&format!("ringside: confirmation refused: {e}"));
                return error(ErrorCode::Forbidden);
            }
            // One use: gone before the call starts.
            if let Ok(p) = session_remove(PENDING_KEY) {
                let _ = JsFuture::from(p).await;
            }
            chrome::log(&format!(
                "ringside: confirmed call: dialling {}",
                pending.dial
            ));
            dial_as_popup(&pending.target).await
        }
    }
}

async fn pending() -> Option<PendingCall> {
    let stored = JsFuture::from(session_get(PENDING_KEY).ok()?).await.ok()?;
    let text = chrome::to_json(&field(&stored, PENDING_KEY))?;
    serde_json::from_str(&text).ok()
}

/// Shows the confirmation for a call the user asked for in `tab` (its top
/// document) or, where no content script answers there, in the
/// extension's own small window.
async fn ask_confirmation(target: String, dial: String, tab: Option<i64>) {
    let bytes = chrome::random_bytes::<16>();
    if bytes.iter().all(|b| *b == 0) {
        // No randomness: a guessable token would let a page confirm.
        chrome::warn("ringside: no random token for the confirmation; not calling");
        return;
    }
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let call = PendingCall {
        token: token.clone(),
        target,
        dial: dial.clone(),
        tab: tab.filter(|id| *id >= 0),
        created_ms: date_now() as u64,
    };
    let Ok(text) = serde_json::to_string(&call) else {
        return;
    };
    let items = Object::new();
    let _ = Reflect::set(&items, &PENDING_KEY.into(), &chrome::from_json(&text));
    let stored = match session_set(&items) {
        Ok(p) => JsFuture::from(p).await.is_ok(),
        Err(_) => false,
    };
    if !stored {
        chrome::warn("ringside: cannot keep the call for its confirmation");
        return;
    }
    if let Some(id) = call.tab {
        if shown_in_tab(id, &token, &dial).await {
            return;
        }
    }
    open_confirm_window(&token, &dial).await;
}

async fn shown_in_tab(tab: i64, token: &str, dial: &str) -> bool {
    let message = chrome::from_json(
        &TabMessage::ConfirmCall {
            token: token.to_owned(),
            dial: dial.to_owned(),
        }
        .encode(),
    );
    let options = Object::new();
    let _ = Reflect::set(&options, &"frameId".into(), &JsValue::from_f64(0.0));
    let Ok(p) = tabs_send_message_to(tab as f64, &message, &options) else {
        return false;
    };
    // No content script there (a PDF, the web store, a chrome:// page):
    // the promise rejects.
    let Ok(answer) = JsFuture::from(p).await else {
        return false;
    };
    chrome::to_json(&answer)
        .and_then(|t| serde_json::from_str::<ConfirmShown>(&t).ok())
        .is_some_and(|a| a.shown)
}

async fn open_confirm_window(token: &str, dial: &str) {
    let url = format!(
        "confirm.html?token={}&dial={}",
        js_sys::encode_uri_component(token),
        js_sys::encode_uri_component(dial)
    );
    let options = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&options, &JsValue::from_str(k), &v);
    };
    set("url", url.into());
    set("type", "popup".into());
    set("width", 360.into());
    set("height", 220.into());
    set("focused", true.into());
    match windows_create(&options) {
        Ok(p) => {
            if let Err(e) = JsFuture::from(p).await {
                chrome::warn(&format!("ringside: cannot open the confirmation: {e:?}"));
            }
        }
        Err(e) => chrome::warn(&format!("ringside: cannot open the confirmation: {e:?}")),
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

pub(crate) async fn notify_tabs() {
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
    let title = crate::i18n::text("c2cMenuCall", "Call \u{201c}%s\u{201d}");
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
/// the browser's own menu. No page can trigger that, but a selection can
/// hold more or other than the user read, so the exact dial string is shown
/// for confirmation first: in the tab's top document, else in our window.
#[wasm_bindgen]
pub async fn on_context_menu(info: JsValue, tab: JsValue) {
    if field(&info, "menuItemId").as_string().as_deref() != Some(MENU_ID) {
        return;
    }
    let Some(text) = field(&info, "selectionText").as_string() else {
        return;
    };
    match dial_target(c2c::dial_input(&text), &rules().await) {
        Ok((target, dial)) => {
            chrome::log(&format!("ringside: context menu: confirming {dial}"));
            let tab = field(&tab, "id").as_f64().filter(|n| n.fract() == 0.0);
            ask_confirmation(target, dial, tab.map(|n| n as i64)).await;
        }
        Err(e) => chrome::warn(&format!("ringside: the selection is not a number: {e}")),
    }
}
