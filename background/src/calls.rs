//! Browser side of calls: carries out the supervisor's [`CallAction`]s —
//! the offscreen document (created on demand, re-created when gone) that owns
//! the WebRTC media, notifications, the call window, the badge and the
//! history in chrome.storage.local — and routes call requests to the
//! supervisor. The policy itself is `ringside::supervisor::calls`.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Object, Promise, Reflect};
use ringside::history;
use ringside::protocol::calls::{
    CallId, CallSettings, MediaErrorCode, MediaPrefs, MediaReply, MediaRequest, CALL_SETTINGS_KEY,
};
use ringside::protocol::{ErrorCode, ErrorReply, Reply, Request};
use ringside::supervisor::calls::{CallAction, RESTORE_KEY};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local, JsFuture};

use crate::i18n::text;
use crate::{chrome, now, with_worker};

const MISSED_KEY: &str = "missed_calls";
const OFFSCREEN_URL: &str = "offscreen.html";
const NOTIFICATION_PREFIX: &str = "ringside-call-";
const MISSED_PREFIX: &str = "ringside-missed-";
/// Where the user allows the microphone: an offscreen document cannot show
/// the permission prompt, a tab can.
const PERMISSION_URL: &str = "permission.html";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["chrome", "offscreen"], js_name = hasDocument)]
    fn offscreen_has_document() -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "offscreen"], js_name = createDocument)]
    fn offscreen_create_document(params: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = sendMessage)]
    fn runtime_send_message(message: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "notifications"], js_name = create)]
    fn notifications_create(id: &str, options: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "notifications"], js_name = clear)]
    fn notifications_clear(id: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "windows"], js_name = create)]
    fn windows_create(options: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "windows"], js_name = remove)]
    fn windows_remove(id: f64) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "windows"], js_name = get)]
    fn windows_get(id: f64) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "action"], js_name = setBadgeText)]
    fn action_set_badge_text(details: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "action"], js_name = setBadgeBackgroundColor)]
    fn action_set_badge_background_color(details: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = getURL)]
    fn runtime_get_url(path: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "session"], js_name = get)]
    fn session_get(key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "session"], js_name = set)]
    fn session_set(items: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "tabs"], js_name = create)]
    fn tabs_create(options: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "tabs"], js_name = update)]
    fn tabs_update(id: f64, options: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = getContexts)]
    fn runtime_get_contexts(filter: &JsValue) -> Result<Promise, JsValue>;
}

thread_local! {
    /// The pending or finished creation of the offscreen document, shared by
    /// every media request so that only one `createDocument` runs.
    static OFFSCREEN: RefCell<Option<Promise>> = const { RefCell::new(None) };
    /// Call windows by call id.
    static WINDOWS: RefCell<HashMap<CallId, f64>> = RefCell::new(HashMap::new());
}

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        // Setting a plain property on a fresh object cannot fail.
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise?).await
}

fn fire(promise: Result<Promise, JsValue>, what: &'static str) {
    spawn_local(async move {
        if let Err(e) = settle(promise).await {
            chrome::warn(&format!("ringside: {what} failed: {e:?}"));
        }
    });
}

async fn create_offscreen() -> Result<JsValue, JsValue> {
    let has = settle(offscreen_has_document()).await?;
    if has.as_bool() != Some(true) {
        let reasons = js_sys::Array::of2(&"WEB_RTC".into(), &"USER_MEDIA".into());
        let params = object(&[
            ("url", OFFSCREEN_URL.into()),
            ("reasons", reasons.into()),
            (
                "justification",
                "Call audio: microphone capture and WebRTC connections".into(),
            ),
        ]);
        if let Err(e) = settle(offscreen_create_document(&params)).await {
            // A concurrent creation (another worker instance) won the race.
            let has = settle(offscreen_has_document()).await?;
            if has.as_bool() != Some(true) {
                return Err(e);
            }
        }
    }
    Ok(JsValue::TRUE)
}

fn offscreen_ready() -> Promise {
    OFFSCREEN.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some(p) = slot.as_ref() {
            return p.clone();
        }
        let p = future_to_promise(create_offscreen());
        *slot = Some(p.clone());
        p
    })
}

fn forget_offscreen() {
    OFFSCREEN.with(|cell| *cell.borrow_mut() = None);
}

/// Sends one media request; a document that was closed under us is
/// re-created once.
async fn media(request: &MediaRequest) -> Result<MediaReply, String> {
    let message = chrome::from_json(&request.encode());
    let mut last = String::new();
    for _ in 0..2 {
        if let Err(e) = JsFuture::from(offscreen_ready()).await {
            forget_offscreen();
            last = format!("cannot create the offscreen document: {e:?}");
            continue;
        }
        match settle(runtime_send_message(&message)).await {
            Ok(reply) if !reply.is_undefined() => {
                let text = chrome::to_json(&reply).unwrap_or_default();
                return MediaReply::decode(&text).map_err(|e| e.to_string());
            }
            Ok(_) => last = "no answer from the offscreen document".to_owned(),
            Err(e) => last = format!("{e:?}"),
        }
        forget_offscreen();
    }
    Err(last)
}

/// The user's audio settings for the offscreen document.
fn prefs() -> MediaRequest {
    let settings = crate::settings::current();
    MediaRequest::MediaPrefs {
        prefs: MediaPrefs {
            microphone: settings.microphone,
            speaker: settings.speaker,
            ringer: settings.ringer,
            ringtone: settings.ringtone,
        },
    }
}

/// The settings were saved: a document that exists follows at once (a new
/// speaker mid-call); one created later gets them with its first request.
pub fn settings_changed() {
    spawn_local(async {
        let exists = settle(offscreen_has_document()).await;
        if exists.ok().and_then(|v| v.as_bool()) == Some(true) {
            if let Err(e) = media(&prefs()).await {
                chrome::warn(&format!("ringside: cannot apply the audio settings: {e}"));
            }
        }
    });
}

fn microphone_denied(reply: &Result<MediaReply, String>) -> bool {
    matches!(
        reply,
        Ok(MediaReply::MediaError {
            error: MediaErrorCode::MicrophoneDenied,
            ..
        })
    )
}

/// Shows the permission page, focusing the one already open.
async fn open_permission_page() {
    let url = runtime_get_url(PERMISSION_URL)
        .ok()
        .and_then(|u| u.as_string())
        .unwrap_or_else(|| PERMISSION_URL.to_owned());
    let filter = object(&[
        ("contextTypes", js_sys::Array::of1(&"TAB".into()).into()),
        (
            "documentUrls",
            js_sys::Array::of1(&url.as_str().into()).into(),
        ),
    ]);
    let open_tab = settle(runtime_get_contexts(&filter))
        .await
        .ok()
        .map(|list| js_sys::Array::from(&list).get(0))
        .and_then(|context| Reflect::get(&context, &"tabId".into()).ok())
        .and_then(|id| id.as_f64());
    let result = match open_tab {
        Some(tab) => settle(tabs_update(tab, &object(&[("active", JsValue::TRUE)]))).await,
        None => settle(tabs_create(&object(&[("url", url.into())]))).await,
    };
    if let Err(e) = result {
        chrome::warn(&format!("ringside: cannot open the permission page: {e:?}"));
    }
}

/// `chrome.runtime.onInstalled`: on a first install, find out whether the
/// microphone is usable, and ask for it on the permission page if not.
#[wasm_bindgen]
pub fn media_install(reason: String) {
    if reason != "install" {
        return;
    }
    spawn_local(async {
        let _ = media(&prefs()).await;
        if microphone_denied(&media(&MediaRequest::MediaProbe).await) {
            open_permission_page().await;
        }
    });
}

fn notifications_on() -> bool {
    crate::settings::current().notifications
}

/// Carries out the supervisor's call actions (called from `Worker::perform`).
pub fn perform(action: CallAction) {
    match action {
        CallAction::Media(request) => spawn_local(async move {
            // Devices and ringtone go first, so a document created just now
            // (or kept from before a settings change) uses the right ones.
            if matches!(
                request,
                MediaRequest::MediaOffer { .. }
                    | MediaRequest::MediaAnswer { .. }
                    | MediaRequest::MediaTone { .. }
            ) {
                if let Err(e) = media(&prefs()).await {
                    chrome::warn(&format!("ringside: cannot apply the audio settings: {e}"));
                }
            }
            let reply = media(&request).await;
            if let Err(e) = &reply {
                chrome::warn(&format!("ringside: media request failed: {e}"));
            }
            let denied = microphone_denied(&reply);
            if matches!(
                request,
                MediaRequest::MediaOffer { .. }
                    | MediaRequest::MediaAnswer { .. }
                    | MediaRequest::MediaDtmf { .. }
            ) {
                with_worker(|w| {
                    w.supervisor.handle_media_reply(now(), &request, reply);
                    w.perform();
                });
            }
            if denied {
                open_permission_page().await;
            }
        }),
        CallAction::ShowIncoming { .. } | CallAction::ShowMissed { .. } if !notifications_on() => {}
        CallAction::ShowIncoming {
            call,
            number,
            name,
            video,
        } => {
            let title = if video {
                text("callIncomingVideo", "Incoming video call")
            } else {
                text("callIncoming", "Incoming call")
            };
            let answer = if video {
                text("buttonAnswerAudio", "Answer audio")
            } else {
                text("buttonAnswer", "Answer")
            };
            let message = match name {
                Some(name) => format!("{name} ({number})"),
                None => number,
            };
            let buttons = js_sys::Array::of2(
                &object(&[("title", answer.into())]),
                &object(&[("title", text("buttonDecline", "Decline").into())]),
            );
            let options = object(&[
                ("type", "basic".into()),
                ("iconUrl", "icons/128.png".into()),
                ("title", title.into()),
                ("message", message.into()),
                ("requireInteraction", JsValue::TRUE),
                ("priority", 2.into()),
                ("buttons", buttons.into()),
            ]);
            fire(
                notifications_create(&format!("{NOTIFICATION_PREFIX}{call}"), &options),
                "incoming-call notification",
            );
        }
        CallAction::ClearIncoming { call } => fire(
            notifications_clear(&format!("{NOTIFICATION_PREFIX}{call}")),
            "clearing a notification",
        ),
        CallAction::ShowMissed { call, number, name } => {
            let message = match name {
                Some(name) => format!("{name} ({number})"),
                None => number,
            };
            let options = object(&[
                ("type", "basic".into()),
                ("iconUrl", "icons/128.png".into()),
                ("title", text("callMissed", "Missed call").into()),
                ("message", message.into()),
            ]);
            fire(
                notifications_create(&format!("{MISSED_PREFIX}{call}"), &options),
                "missed-call notification",
            );
        }
        CallAction::OpenCallWindow { call } => open_call_window(call),
        CallAction::CloseCallWindow { call } => {
            match WINDOWS.with(|w| w.borrow_mut().remove(&call)) {
                Some(id) => fire(windows_remove(id), "closing the call window"),
                // Opened by a previous worker (the map died with it).
                None => spawn_local(close_stray_call_window(call)),
            }
        }
        CallAction::Badge { count } => {
            let text = if count == 0 {
                String::new()
            } else {
                count.min(99).to_string()
            };
            fire(
                action_set_badge_text(&object(&[("text", text.into())])),
                "badge",
            );
            fire(
                action_set_badge_background_color(&object(&[("color", "#d93025".into())])),
                "badge colour",
            );
            spawn_local(async move {
                let _ = chrome::storage_set(MISSED_KEY, &JsValue::from(count)).await;
            });
        }
        // Stored as the JSON text: the next worker validates it as a whole.
        CallAction::SaveCalls { json } => fire(
            session_set(&object(&[(RESTORE_KEY, json.into())])),
            "storing the calls for the next worker",
        ),
        CallAction::SaveHistory { json } => spawn_local(async move {
            if let Err(e) =
                chrome::storage_set(history::STORAGE_KEY, &chrome::from_json(&json)).await
            {
                chrome::warn(&format!("ringside: cannot store the call history: {e:?}"));
            }
        }),
    }
}

/// Closes the popup window showing `call.html?call=<call>` that no entry
/// of [`WINDOWS`] knows: a worker that died while the call rang opened it.
async fn close_stray_call_window(call: CallId) {
    let Some(url) = runtime_get_url(&format!("call.html?call={call}"))
        .ok()
        .and_then(|u| u.as_string())
    else {
        return;
    };
    let filter = object(&[
        ("contextTypes", js_sys::Array::of1(&"TAB".into()).into()),
        ("documentUrls", js_sys::Array::of1(&url.into()).into()),
    ]);
    let Ok(contexts) = settle(runtime_get_contexts(&filter)).await else {
        return;
    };
    for context in js_sys::Array::from(&contexts).iter() {
        let Some(window) = Reflect::get(&context, &"windowId".into())
            .ok()
            .and_then(|id| id.as_f64())
        else {
            continue;
        };
        // Only the small call window: the same page open in a normal
        // browser window is the user's.
        let popup = settle(windows_get(window))
            .await
            .ok()
            .and_then(|w| Reflect::get(&w, &"type".into()).ok())
            .and_then(|t| t.as_string())
            .is_some_and(|t| t == "popup");
        if popup {
            fire(windows_remove(window), "closing a stray call window");
        }
    }
}

fn open_call_window(call: CallId) {
    if WINDOWS.with(|w| w.borrow().contains_key(&call)) {
        return;
    }
    let options = object(&[
        ("url", format!("call.html?call={call}").into()),
        ("type", "popup".into()),
        ("width", 360.into()),
        ("height", 520.into()),
        ("focused", JsValue::TRUE),
    ]);
    spawn_local(async move {
        match settle(windows_create(&options)).await {
            Ok(window) => {
                if let Some(id) = Reflect::get(&window, &"id".into())
                    .ok()
                    .and_then(|v| v.as_f64())
                {
                    WINDOWS.with(|w| w.borrow_mut().insert(call, id));
                }
            }
            Err(e) => chrome::warn(&format!("ringside: cannot open the call window: {e:?}")),
        }
    });
}

/// The calls the previous worker left in session storage: the engine takes
/// them over once registered (see `ringside::supervisor::calls::restore`).
async fn load_stored_calls() {
    let stored = match settle(session_get(RESTORE_KEY)).await {
        Ok(items) => {
            Reflect::get(&items, &JsValue::from_str(RESTORE_KEY)).unwrap_or(JsValue::UNDEFINED)
        }
        Err(e) => {
            chrome::warn(&format!("ringside: cannot read the stored calls: {e:?}"));
            return;
        }
    };
    let Some(json) = stored.as_string() else {
        return;
    };
    let loaded = with_worker(|w| w.supervisor.calls_mut().load_restore(now(), &json));
    match loaded {
        Some(Ok(0)) | None => {}
        Some(Ok(n)) => chrome::log(&format!(
            "ringside: taking over {n} call(s) of the previous worker"
        )),
        Some(Err(e)) => chrome::warn(&format!(
            "ringside: stored calls unreadable, not restored: {e}"
        )),
    }
}

/// Loads the call settings, the history, the badge count and the calls a
/// previous worker left (worker start).
pub async fn load() {
    let stored = chrome::storage_get(&[CALL_SETTINGS_KEY, history::STORAGE_KEY, MISSED_KEY])
        .await
        .unwrap_or(JsValue::UNDEFINED);
    let field =
        |key: &str| Reflect::get(&stored, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
    let settings = chrome::to_json(&field(CALL_SETTINGS_KEY))
        .and_then(|t| serde_json::from_str::<CallSettings>(&t).ok())
        .filter(|s| s.validate().is_ok())
        .unwrap_or_default();
    let history = chrome::to_json(&field(history::STORAGE_KEY));
    let missed = field(MISSED_KEY).as_f64().unwrap_or(0.0).clamp(0.0, 9999.0) as u32;
    with_worker(|w| {
        let calls = w.supervisor.calls_mut();
        calls.set_wall_offset(date_now() - chrome::now_ms());
        calls.set_settings(settings);
        calls.set_missed(missed);
        if let Some(json) = history {
            if let Some(e) = calls.load_history(&json) {
                chrome::warn(&format!(
                    "ringside: stored call history unreadable, starting afresh: {e}"
                ));
            }
        }
    });
    // After the history and the missed count: calls left ringing by the
    // previous worker end here as missed ones.
    load_stored_calls().await;
}

/// Answers the call requests; `None` for every other request.
pub async fn handle(request: &Request) -> Option<Reply> {
    match request {
        Request::GetCallSettings => Some(Reply::CallSettings {
            settings: with_worker(|w| w.supervisor.calls_mut().settings().clone())
                .unwrap_or_default(),
        }),
        Request::SetCallSettings { settings } => Some(set_settings(settings.clone()).await),
        r if r.is_call_command() => {
            let request = r.clone();
            Some(
                with_worker(|w| {
                    // The popup's settings own the dial rules; read them fresh
                    // so an edit applies to the next number dialled.
                    w.supervisor
                        .calls_mut()
                        .set_dial_rules(crate::settings::dial_rules());
                    let reply = w.supervisor.call_command(now(), request);
                    w.perform();
                    reply
                })
                .unwrap_or_else(|| Reply::error(ErrorCode::NotRegistered)),
            )
        }
        _ => None,
    }
}

async fn set_settings(settings: CallSettings) -> Reply {
    if let Err(e) = settings.validate() {
        return Reply::Error {
            error: ErrorReply {
                code: ErrorCode::InvalidSettings,
                account: None,
                settings: Some(e),
            },
        };
    }
    let value = serde_json::to_string(&settings).map(|t| chrome::from_json(&t));
    let saved = match value {
        Ok(v) => chrome::storage_set(CALL_SETTINGS_KEY, &v).await.is_ok(),
        Err(_) => false,
    };
    if !saved {
        return Reply::error(ErrorCode::StorageFailed);
    }
    with_worker(|w| w.supervisor.calls_mut().set_settings(settings));
    Reply::Ok
}

fn call_of(id: &str, prefix: &str) -> Option<CallId> {
    id.strip_prefix(prefix)?.parse().ok()
}

/// `chrome.notifications.onButtonClicked`: 0 = Answer, 1 = Decline.
#[wasm_bindgen]
pub fn on_notification_button(id: String, index: u32) {
    let Some(call) = call_of(&id, NOTIFICATION_PREFIX) else {
        return;
    };
    let request = if index == 0 {
        Request::Answer {
            call,
            end_others: false,
            video: false,
        }
    } else {
        Request::Decline { call, busy: false }
    };
    with_worker(|w| {
        let reply = w.supervisor.call_command(now(), request);
        w.perform();
        if let Reply::Error { error } = reply {
            chrome::warn(&format!(
                "ringside: notification action refused: {:?}",
                error.code
            ));
        }
    });
}

/// `chrome.notifications.onClicked`: the body opens the call window (an
/// incoming call) or the history (a missed call, via the popup page).
#[wasm_bindgen]
pub fn on_notification_clicked(id: String) {
    if let Some(call) = call_of(&id, NOTIFICATION_PREFIX) {
        WINDOWS.with(|w| w.borrow_mut().remove(&call));
        open_call_window(call);
    } else if id.starts_with(MISSED_PREFIX) {
        let url = runtime_get_url("popup.html")
            .ok()
            .and_then(|u| u.as_string())
            .unwrap_or_default();
        let options = object(&[
            ("url", url.into()),
            ("type", "popup".into()),
            ("width", 380.into()),
            ("height", 600.into()),
        ]);
        fire(windows_create(&options), "opening the popup");
        fire(notifications_clear(&id), "clearing a notification");
    }
}

/// `chrome.windows.onRemoved`: forget a call window the user closed.
#[wasm_bindgen]
pub fn on_window_removed(window: f64) {
    WINDOWS.with(|w| w.borrow_mut().retain(|_, id| *id != window));
}
