//! The popup's side of the worker: preferences, the user's status (with a
//! temporary status ended by an alarm, so it reverts even if the worker was
//! asleep), login with "remember password" off, and logout.
//!
//! State lives in chrome.storage (`settings`, `presence` in local; the
//! account in session when its password must not outlive the browser); this
//! module keeps a copy for the synchronous snapshot.

use std::cell::RefCell;

use gloo_timers::callback::Timeout;
use js_sys::Promise;
use ringside::account::{Account, ValidAccount};
use ringside::phone::DialRules;
use ringside::presence::{Presence, StatusChange};
use ringside::protocol::{ErrorCode, ErrorReply, Reply, Request, Snapshot};
use ringside::settings::Settings;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::{chrome, with_worker, ACCOUNT_KEY};

const SETTINGS_KEY: &str = "settings";
const PRESENCE_KEY: &str = "presence";
/// Fires when a temporary status ends, waking the worker if it slept.
const STATUS_ALARM: &str = "ringside-status-end";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "session"], js_name = get)]
    fn session_get(keys: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "session"], js_name = set)]
    fn session_set(items: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "session"], js_name = remove)]
    fn session_remove(keys: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "local"], js_name = remove)]
    fn local_remove(keys: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "alarms"], js_name = create)]
    fn alarms_create(name: &str, info: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "alarms"], js_name = clear)]
    fn alarms_clear(name: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

#[derive(Default)]
struct State {
    settings: Settings,
    presence: Presence,
    /// The account of a login without "remember password".
    session_account: Option<ValidAccount>,
    /// Ends a temporary status while the worker is awake (the alarm covers
    /// the worker being asleep, but fires at 30 s granularity at best).
    status_timer: Option<Timeout>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.with(|cell| cell.try_borrow_mut().ok().map(|mut s| f(&mut s)))
}

fn now_unix_ms() -> i64 {
    date_now() as i64
}

fn item(key: &str, value: &JsValue) -> Result<js_sys::Object, JsValue> {
    let items = js_sys::Object::new();
    js_sys::Reflect::set(&items, &JsValue::from_str(key), value)?;
    Ok(items)
}

async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise?).await
}

fn stored_text(items: &JsValue, key: &str) -> Option<String> {
    let value = js_sys::Reflect::get(items, &JsValue::from_str(key)).ok()?;
    if value.is_undefined() || value.is_null() {
        return None;
    }
    chrome::to_json(&value)
}

/// Read everything at worker start, before the account connects; a
/// temporary status that ended while the worker slept is reverted now.
pub async fn load() {
    let local = chrome::storage_get(&[SETTINGS_KEY, PRESENCE_KEY])
        .await
        .unwrap_or(JsValue::UNDEFINED);
    let settings = stored_text(&local, SETTINGS_KEY)
        .map(|t| Settings::from_stored(&t))
        .unwrap_or_default();
    let presence = stored_text(&local, PRESENCE_KEY)
        .map(|t| Presence::from_stored(&t))
        .unwrap_or_default();
    let keys = js_sys::Array::of1(&JsValue::from_str(ACCOUNT_KEY));
    let session = settle(session_get(&keys))
        .await
        .unwrap_or(JsValue::UNDEFINED);
    let session_account = stored_text(&session, ACCOUNT_KEY)
        .and_then(|t| serde_json::from_str::<Account>(&t).ok())
        .and_then(|a| a.validate().ok());
    let language = settings.language;
    with_state(|s| {
        s.settings = settings;
        s.presence = presence;
        s.session_account = session_account;
    });
    crate::i18n::load(language).await;
    check_status_end().await;
}

/// The account to use when none is stored in local storage.
pub fn session_account() -> Option<ValidAccount> {
    with_state(|s| s.session_account.clone()).flatten()
}

/// The user's preferences as last loaded or saved (audio devices, ringtone,
/// notifications for the calls glue).
pub fn current() -> Settings {
    with_state(|s| s.settings.clone()).unwrap_or_default()
}

/// The user's dialling rules, for `dial` and click-to-call.
pub fn dial_rules() -> DialRules {
    with_state(|s| s.settings.dial_rules.clone()).unwrap_or_default()
}

/// The worker's snapshot with what this module knows added.
pub fn decorate(mut snapshot: Snapshot) -> Snapshot {
    if let Some(presence) = with_state(|s| s.presence.clone()) {
        snapshot.presence = presence;
    }
    snapshot
}

fn error(code: ErrorCode) -> Reply {
    Reply::Error {
        error: ErrorReply {
            code,
            account: None,
            settings: None,
        },
    }
}

fn publish() {
    with_worker(|w| w.publish());
}

/// Store the presence, (re)arm its end, push it to the popups.
async fn set_presence(presence: Presence) -> bool {
    let json = serde_json::to_string(&presence).unwrap_or_default();
    let stored = chrome::storage_set(PRESENCE_KEY, &chrome::from_json(&json))
        .await
        .is_ok();
    let ends_at = presence.ends_at();
    let status = presence.status;
    with_state(|s| {
        s.presence = presence;
        s.status_timer = None;
    });
    crate::presence::status_changed(status);
    let _ = settle(alarms_clear(STATUS_ALARM)).await;
    if let Some(at) = ends_at {
        if let Ok(info) = item("when", &JsValue::from_f64(at as f64)) {
            if settle(alarms_create(STATUS_ALARM, &info)).await.is_err() {
                chrome::warn("ringside: cannot create the status alarm");
            }
        }
        let delay = (at - now_unix_ms()).clamp(0, i64::from(i32::MAX)) as u32;
        let timer = Timeout::new(delay, || {
            wasm_bindgen_futures::spawn_local(check_status_end());
        });
        with_state(|s| s.status_timer = Some(timer));
    }
    publish();
    stored
}

/// Revert a temporary status whose time is up.
async fn check_status_end() {
    let expired = with_state(|s| s.presence.expire(now_unix_ms())).flatten();
    match expired {
        Some(presence) => {
            chrome::log("ringside: temporary status ended");
            set_presence(presence).await;
        }
        None => {
            // Still running after a restart: the in-memory timer is gone.
            if let Some(presence) = with_state(|s| s.presence.clone()) {
                if presence.temporary.is_some()
                    && with_state(|s| s.status_timer.is_none()) == Some(true)
                {
                    set_presence(presence).await;
                }
            }
        }
    }
}

/// `chrome.alarms.onAlarm`; true if the alarm was this module's.
pub fn on_alarm(name: &str) -> bool {
    if name != STATUS_ALARM {
        return false;
    }
    wasm_bindgen_futures::spawn_local(check_status_end());
    true
}

async fn store_account(account: &ValidAccount, remember: bool) -> bool {
    let Ok(json) = serde_json::to_string(&account.to_account()) else {
        return false;
    };
    let value = chrome::from_json(&json);
    let keys = js_sys::Array::of1(&JsValue::from_str(ACCOUNT_KEY));
    if remember {
        with_state(|s| s.session_account = None);
        let _ = settle(session_remove(&keys)).await;
        chrome::storage_set(ACCOUNT_KEY, &value).await.is_ok()
    } else {
        // Session first: removing the local copy fires storage.onChanged,
        // which then falls back to this account instead of logging out.
        with_state(|s| s.session_account = Some(account.clone()));
        let in_session = match item(ACCOUNT_KEY, &value) {
            Ok(items) => settle(session_set(&items)).await.is_ok(),
            Err(_) => false,
        };
        in_session && settle(local_remove(&keys)).await.is_ok()
    }
}

async fn save_settings(settings: Settings) -> bool {
    let json = serde_json::to_string(&settings).unwrap_or_default();
    let stored = chrome::storage_set(SETTINGS_KEY, &chrome::from_json(&json))
        .await
        .is_ok();
    with_state(|s| s.settings = settings);
    stored
}

fn snapshot_reply() -> Reply {
    Reply::Snapshot {
        snapshot: decorate(
            with_worker(|w| w.supervisor.snapshot()).unwrap_or_else(Snapshot::unregistered),
        ),
    }
}

/// This module's requests; `Err` hands any other request back.
pub async fn handle(request: Request) -> Result<Reply, Request> {
    match request {
        Request::Login {
            account,
            remember_password,
        } => {
            let valid = match account.validate() {
                Ok(valid) => valid,
                Err(e) => {
                    return Ok(Reply::Error {
                        error: ErrorReply {
                            code: ErrorCode::InvalidAccount,
                            account: Some(e),
                            settings: None,
                        },
                    })
                }
            };
            let mut settings = with_state(|s| s.settings.clone()).unwrap_or_default();
            settings.remember_password = remember_password;
            if !(save_settings(settings).await && store_account(&valid, remember_password).await) {
                return Ok(error(ErrorCode::StorageFailed));
            }
            with_worker(|w| w.input(|s, now| s.set_account(now, Some(valid))));
            Ok(snapshot_reply())
        }
        Request::Logout => {
            with_state(|s| s.session_account = None);
            let keys = js_sys::Array::of1(&JsValue::from_str(ACCOUNT_KEY));
            let _ = settle(session_remove(&keys)).await;
            let removed = settle(local_remove(&keys)).await.is_ok();
            with_worker(|w| w.input(|s, now| s.set_account(now, None)));
            Ok(if removed {
                snapshot_reply()
            } else {
                error(ErrorCode::StorageFailed)
            })
        }
        Request::SetStatus { change } => Ok(set_status(&change).await),
        Request::GetSettings => Ok(Reply::Settings {
            settings: with_state(|s| s.settings.clone()).unwrap_or_default(),
        }),
        Request::SetSettings { settings } => {
            if !settings.errors().is_empty() {
                return Ok(error(ErrorCode::InvalidSettings));
            }
            let language_changed = current().language != settings.language;
            Ok(if save_settings(settings.clone()).await {
                crate::calls::settings_changed();
                if language_changed {
                    crate::i18n::load(settings.language).await;
                    // The context menu keeps the title it was created with;
                    // content scripts ask for their texts again.
                    crate::c2c::c2c_install().await;
                    crate::c2c::notify_tabs().await;
                }
                Reply::Settings { settings }
            } else {
                error(ErrorCode::StorageFailed)
            })
        }
        other => Err(other),
    }
}

pub(crate) async fn set_status(change: &StatusChange) -> Reply {
    let current = with_state(|s| s.presence.clone()).unwrap_or_default();
    let change = crate::presence::call_handling().with_default_note(change);
    match current.apply(&change, now_unix_ms()) {
        Ok(presence) => {
            if set_presence(presence).await {
                snapshot_reply()
            } else {
                error(ErrorCode::StorageFailed)
            }
        }
        Err(e) => {
            chrome::warn(&format!("ringside: status refused: {e}"));
            error(ErrorCode::InvalidStatus)
        }
    }
}

/// The call a keyboard shortcut acts on, as a request.
fn command_request(name: &str, snapshot: &Snapshot) -> Option<Request> {
    use ringside::protocol::calls::{CallDirection, CallPhase};
    let live = || {
        snapshot
            .calls
            .iter()
            .filter(|c| c.state != CallPhase::Ended)
    };
    let talking = || live().find(|c| c.state == CallPhase::Active);
    match name {
        "answer" => live()
            .find(|c| c.direction == CallDirection::Incoming && c.state == CallPhase::Ringing)
            .map(|c| Request::Answer {
                call: c.id,
                end_others: false,
                video: false,
            }),
        "hangup" => talking()
            .or_else(|| live().next())
            .map(|c| Request::Hangup { call: c.id }),
        "mute" => talking().map(|c| Request::Mute {
            call: c.id,
            muted: !c.muted,
        }),
        _ => None,
    }
}

/// `chrome.commands.onCommand`: answer, hang up, mute from the keyboard,
/// handled as if the popup had sent the request.
#[wasm_bindgen]
pub fn on_command(name: String) {
    wasm_bindgen_futures::spawn_local(async move {
        let Some(own) = chrome::extension_url() else {
            return;
        };
        let Ok(sender) = item("url", &JsValue::from_str(&own)) else {
            return;
        };
        let snapshot = match crate::handle_request(
            chrome::from_json(&Request::GetSnapshot.encode()),
            sender.clone().into(),
        )
        .await
        {
            Reply::Snapshot { snapshot } => snapshot,
            _ => return,
        };
        if let Some(request) = command_request(&name, &snapshot) {
            if let Reply::Error { error } =
                crate::handle_request(chrome::from_json(&request.encode()), sender.into()).await
            {
                chrome::warn(&format!(
                    "ringside: shortcut {name} refused: {:?}",
                    error.code
                ));
            }
        }
    });
}
