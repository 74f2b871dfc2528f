//! Function keys in the worker: stores the configuration in
//! chrome.storage.local, answers the popup's key messages, hands the own
//! status to the supervisor for PUBLISH, and shows new voicemail on the
//! toolbar badge.
//!
//! The badge is shared with missed calls (`calls.rs`): missed calls win
//! while there are any, because opening the history clears them at once,
//! whereas voicemail stays new until it is listened to, on the phone; a
//! sum would hide which of the two needs the user. Voicemail is shown in
//! blue so the two cannot be confused.

use std::cell::Cell;

use js_sys::Promise;
use ringside::function_keys::{KeyConfig, STORAGE_KEY};
use ringside::presence::StatusChange;
use ringside::protocol::keys::{KeysReply, KeysRequest};
use ringside::protocol::{ErrorCode, ProtocolError, Reply, Request, Snapshot};
use wasm_bindgen::prelude::*;

use crate::{chrome, settings, with_worker};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["chrome", "action"], js_name = setBadgeText)]
    fn set_badge_text(details: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "action"], js_name = setBadgeBackgroundColor)]
    fn set_badge_background_color(details: &JsValue) -> Result<Promise, JsValue>;
}

const VOICEMAIL_BADGE_COLOUR: &str = "#1a73e8";

thread_local! {
    /// New voicemail last shown on the badge (None: the badge is not ours).
    static SHOWN: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Loads the stored keys into the supervisor (before the account connects,
/// so the first registration subscribes them).
pub async fn load() {
    let stored = chrome::storage_get(&[STORAGE_KEY])
        .await
        .unwrap_or(JsValue::UNDEFINED);
    let value = js_sys::Reflect::get(&stored, &JsValue::from_str(STORAGE_KEY))
        .unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return;
    }
    let config = chrome::to_json(&value).and_then(|t| KeyConfig::from_storage(&t));
    match config {
        Some(config) => {
            with_worker(|w| w.input(|s, now| s.set_keys(now, config)));
        }
        None => chrome::warn("ringside: ignoring stored function keys that fail validation"),
    }
}

/// Before the worker performs actions: the status the user chose is what
/// the supervisor publishes.
pub fn sync_presence(supervisor: &mut ringside::supervisor::Supervisor, now: ringside::Instant) {
    let presence = settings::decorate(Snapshot::unregistered()).presence;
    supervisor.set_presence(now, &presence);
}

/// After a snapshot change: the voicemail half of the badge.
pub fn on_snapshot(snapshot: &Snapshot) {
    let new: u32 = snapshot
        .keys
        .iter()
        .filter_map(|k| k.mwi)
        .fold(0u32, |sum, m| sum.saturating_add(m.new));
    let ours = (snapshot.missed_calls == 0).then_some(new);
    if SHOWN.with(Cell::get) == ours {
        return;
    }
    SHOWN.with(|s| s.set(ours));
    // Missed calls: calls.rs owns the badge.
    let Some(new) = ours else { return };
    let text = if new == 0 {
        String::new()
    } else {
        new.min(99).to_string()
    };
    let details = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&details, &"text".into(), &text.into());
    fire(set_badge_text(&details));
    let colour = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&colour, &"color".into(), &VOICEMAIL_BADGE_COLOUR.into());
    fire(set_badge_background_color(&colour));
}

fn fire(result: Result<Promise, JsValue>) {
    match result {
        Ok(promise) => wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = wasm_bindgen_futures::JsFuture::from(promise).await {
                chrome::warn(&format!("ringside: badge: {e:?}"));
            }
        }),
        Err(e) => chrome::warn(&format!("ringside: badge: {e:?}")),
    }
}

/// A runtime message: `Some(reply)` when it is a key message.
pub async fn on_message(message: &JsValue, sender: &JsValue) -> Option<JsValue> {
    let text = chrome::to_json(message)?;
    let request = match KeysRequest::decode_if_ours(&text) {
        Ok(Some(request)) => request,
        Ok(None) => return None,
        Err(ProtocolError::UnknownType(_) | ProtocolError::MissingType) => return None,
        Err(e) => {
            // Another module's message may fail our decoding for reasons
            // of its own (version, size): only claim it when the type is ours.
            let ours = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
                .is_some_and(|t| KeysRequest::is_key_type(&t));
            if !ours {
                return None;
            }
            chrome::warn(&format!("ringside: bad function key request: {e}"));
            return Some(general(Reply::bad_request()));
        }
    };
    if !crate::from_extension_page(sender) {
        chrome::warn("ringside: refused a function key request from outside the extension's pages");
        return Some(general(Reply::error(ErrorCode::Forbidden)));
    }
    Some(handle(request).await)
}

fn general(reply: Reply) -> JsValue {
    chrome::from_json(&reply.encode())
}

fn ours(reply: KeysReply) -> JsValue {
    chrome::from_json(&reply.encode())
}

fn current() -> KeyConfig {
    with_worker(|w| w.supervisor.keys().config().clone()).unwrap_or_default()
}

/// Store then apply; a configuration that cannot be stored is not applied
/// (it would vanish with the next worker restart).
async fn save_and_apply(config: KeyConfig) -> JsValue {
    let stored = match serde_json::to_string(&config) {
        Ok(text) => chrome::storage_set(STORAGE_KEY, &chrome::from_json(&text))
            .await
            .is_ok(),
        Err(_) => false,
    };
    if !stored {
        return general(Reply::error(ErrorCode::StorageFailed));
    }
    let applied = config.clone();
    with_worker(|w| w.input(|s, now| s.set_keys(now, applied)));
    ours(KeysReply::Keys { config })
}

async fn handle(request: KeysRequest) -> JsValue {
    match request {
        KeysRequest::GetKeys => ours(KeysReply::Keys { config: current() }),
        KeysRequest::ExportKeys => ours(KeysReply::Exported {
            json: current().export(),
        }),
        KeysRequest::SetKeys { config } => match config.validate() {
            Ok(valid) => save_and_apply(valid).await,
            Err(error) => ours(KeysReply::Invalid { error }),
        },
        KeysRequest::ImportKeys { json } => match KeyConfig::import(&json) {
            Ok(config) => save_and_apply(config).await,
            Err(error) => ours(KeysReply::ImportFailed { error }),
        },
        KeysRequest::PressKey { id } => {
            let pressed = with_worker(|w| {
                let result = w.supervisor.press_key(crate::now(), id);
                w.perform();
                result
            });
            match pressed {
                Some(Ok(reply)) => general(reply),
                Some(Err(status)) => {
                    let change = StatusChange {
                        status,
                        note: String::new(),
                        until: None,
                    };
                    let reply = match settings::handle(Request::SetStatus { change }).await {
                        Ok(Reply::Snapshot { .. }) => Reply::Ok,
                        Ok(other) => other,
                        Err(_) => Reply::bad_request(),
                    };
                    with_worker(|w| w.input(|_, _| {}));
                    general(reply)
                }
                None => general(Reply::error(ErrorCode::NotRegistered)),
            }
        }
    }
}
