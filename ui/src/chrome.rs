//! The `chrome.*` APIs the popup uses. All calls `catch`: outside an extension
//! page (or with a stopped worker) they throw, and the popup must still render.

use js_sys::{Function, Promise};
use ringside::protocol::c2c::{C2cReply, C2cRequest};
use ringside::protocol::keys::{KeysReply, KeysRequest};
use ringside::protocol::popup::{
    decode_push, encode_c2c_request, encode_get_keys, encode_get_site, encode_keys_request,
    encode_press_key, encode_request, encode_set_site, PopupC2cReply, PopupKeysReply, PopupReply,
};
use ringside::protocol::{ProtocolError, Push, Reply, Request, STATE_PORT};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = sendMessage)]
    fn runtime_send_message(message: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = connect)]
    fn runtime_connect(info: &JsValue) -> Result<Port, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = openOptionsPage)]
    fn runtime_open_options_page() -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "i18n"], js_name = getUILanguage)]
    fn i18n_get_ui_language() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "onChanged"], js_name = addListener)]
    fn storage_on_changed_add_listener(listener: &Function) -> Result<(), JsValue>;

    pub type Port;
    #[wasm_bindgen(method, getter, js_name = onMessage)]
    fn on_message(this: &Port) -> ChromeEvent;
    #[wasm_bindgen(method, getter, js_name = onDisconnect)]
    fn on_disconnect(this: &Port) -> ChromeEvent;
    #[wasm_bindgen(method, catch)]
    pub fn disconnect(this: &Port) -> Result<(), JsValue>;

    // Helpers in popup.js (the commands one in options.js): media and
    // commands APIs are promise-based and only read here, so plain JS is
    // shorter than their web-sys bindings.
    #[wasm_bindgen(catch, js_namespace = window, js_name = ringsideDevices)]
    fn js_devices() -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = window, js_name = ringsideTestSpeaker)]
    fn js_test_speaker(device_id: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = window, js_name = ringsideCommands)]
    fn js_commands() -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = window, js_name = ringsideActiveTabUrl)]
    fn js_active_tab_url() -> Result<Promise, JsValue>;

    type ChromeEvent;
    #[wasm_bindgen(method, catch, js_name = addListener)]
    fn add_listener(this: &ChromeEvent, listener: &Function) -> Result<(), JsValue>;
}

pub fn ui_language() -> String {
    i18n_get_ui_language()
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "en".to_owned())
}

/// Calls `changed` whenever another page saved the settings, so that the
/// popup and the options page, open side by side, follow each other (the
/// language above all). For the page's lifetime.
pub fn on_settings_saved(changed: impl Fn() + 'static) {
    let listener =
        Closure::<dyn Fn(JsValue, JsValue)>::new(move |changes: JsValue, area: JsValue| {
            let settings = js_sys::Reflect::has(&changes, &"settings".into()).unwrap_or(false);
            if settings && area.as_string().as_deref() == Some("local") {
                changed();
            }
        });
    if storage_on_changed_add_listener(listener.as_ref().unchecked_ref()).is_ok() {
        listener.forget();
    }
}

/// Open the options page (options.html: the editors used rarely), or bring
/// its tab forward; the popup closes when the tab takes the focus.
pub fn open_options() {
    if let Ok(promise) = runtime_open_options_page() {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(promise).await;
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerUnavailable;

/// A reply type a page decodes: a full reply enum, or the popup's view of
/// one ([`ringside::protocol::popup`]: only the replies it reads, so its
/// wasm carries only their decoders).
pub trait Decode: Sized {
    fn decode(text: &str) -> Result<Self, ProtocolError>;
}

macro_rules! decode {
    ($($reply:ty),*) => {$(
        impl Decode for $reply {
            fn decode(text: &str) -> Result<Self, ProtocolError> {
                <$reply>::decode(text)
            }
        }
    )*};
}
decode!(
    Reply,
    PopupReply,
    KeysReply,
    PopupKeysReply,
    C2cReply,
    PopupC2cReply
);

/// One request to the worker, its reply validated like any other input.
pub async fn request<R: Decode>(request: &Request) -> Result<R, WorkerUnavailable> {
    let text = send_text(&encode_request(request)).await?;
    R::decode(&text).map_err(|_| WorkerUnavailable)
}

/// A click-to-call request; `None` for an error reply or no worker.
pub async fn request_c2c<R: Decode>(request: &C2cRequest) -> Option<R> {
    let text = send_text(&encode_c2c_request(request)).await.ok()?;
    R::decode(&text).ok()
}

/// Click-to-call on the page at `url` (see [`encode_get_site`]).
pub async fn get_site<R: Decode>(url: &str) -> Option<R> {
    let text = send_text(&encode_get_site(url)).await.ok()?;
    R::decode(&text).ok()
}

/// Change the page's click-to-call switches (see [`encode_set_site`]).
pub async fn set_site<R: Decode>(
    url: &str,
    enabled: Option<bool>,
    skip_confirmation: Option<bool>,
) -> Option<R> {
    let text = send_text(&encode_set_site(url, enabled, skip_confirmation))
        .await
        .ok()?;
    R::decode(&text).ok()
}

/// A function-keys request; `None` for an error reply or no worker.
pub async fn request_keys<R: Decode>(request: &KeysRequest) -> Option<R> {
    let text = send_text(&encode_keys_request(request)).await.ok()?;
    R::decode(&text).ok()
}

/// `get_keys` (see [`encode_get_keys`]); `None` for an error reply or no worker.
pub async fn get_keys<R: Decode>() -> Option<R> {
    let text = send_text(&encode_get_keys()).await.ok()?;
    R::decode(&text).ok()
}

/// Press key `id`: the worker answers like a call command.
pub async fn request_press(id: u32) -> Result<PopupReply, WorkerUnavailable> {
    let text = send_text(&encode_press_key(id)).await?;
    PopupReply::decode(&text).map_err(|_| WorkerUnavailable)
}

async fn send_text(encoded: &str) -> Result<String, WorkerUnavailable> {
    let message = js_sys::JSON::parse(encoded).map_err(|_| WorkerUnavailable)?;
    let promise = runtime_send_message(&message).map_err(|_| WorkerUnavailable)?;
    let answer = JsFuture::from(promise)
        .await
        .map_err(|_| WorkerUnavailable)?;
    js_sys::JSON::stringify(&answer)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or(WorkerUnavailable)
}

/// The URL of the tab the popup was opened over (activeTab), if any.
pub async fn active_tab_url() -> Option<String> {
    JsFuture::from(js_active_tab_url().ok()?)
        .await
        .ok()?
        .as_string()
}

/// Subscribe to the worker's snapshots. `on_push` gets every valid push;
/// `on_disconnect` runs when the port closes (the worker stopped).
pub fn subscribe(
    on_push: impl Fn(Push) + 'static,
    on_disconnect: impl FnOnce() + 'static,
) -> Option<Port> {
    let info = js_sys::Object::new();
    js_sys::Reflect::set(&info, &"name".into(), &STATE_PORT.into()).ok()?;
    let port = runtime_connect(&info).ok()?;
    let on_message = Closure::<dyn Fn(JsValue)>::new(move |message: JsValue| {
        let decoded = js_sys::JSON::stringify(&message)
            .ok()
            .and_then(|s| s.as_string())
            .map(|t| decode_push(&t));
        match decoded {
            Some(Ok(push)) => on_push(push),
            _ => web_sys::console::warn_1(
                &"ringside: ignoring a malformed push from the worker".into(),
            ),
        }
    })
    .into_js_value();
    port.on_message()
        .add_listener(on_message.unchecked_ref())
        .ok()?;
    let on_disconnect = Closure::once_into_js(on_disconnect);
    port.on_disconnect()
        .add_listener(on_disconnect.unchecked_ref())
        .ok()?;
    Some(port)
}

/// Milliseconds since the epoch (the worker's times are in the same clock).
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn string_field(value: &JsValue, name: &str) -> String {
    js_sys::Reflect::get(value, &JsValue::from_str(name))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

async fn list(promise: Result<Promise, JsValue>, fields: [&str; 3]) -> Vec<[String; 3]> {
    let Ok(promise) = promise else {
        return Vec::new();
    };
    match JsFuture::from(promise).await {
        Ok(value) => js_sys::Array::from(&value)
            .iter()
            .map(|item| fields.map(|f| string_field(&item, f)))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// `[kind, deviceId, label]` of every audio device.
pub async fn audio_devices() -> Vec<[String; 3]> {
    list(js_devices(), ["kind", "deviceId", "label"]).await
}

/// Plays a short tone on the device; false if it could not.
pub async fn test_speaker(device_id: &str) -> bool {
    match js_test_speaker(device_id) {
        Ok(promise) => JsFuture::from(promise).await.is_ok(),
        Err(_) => false,
    }
}

/// `[name, shortcut, ""]` of the extension's keyboard commands.
pub async fn commands() -> Vec<[String; 3]> {
    list(js_commands(), ["name", "shortcut", "description"]).await
}
