//! The few `chrome.*` and worker-global APIs the worker uses, bound directly.
//! Every call is `catch`: an exception thrown through wasm would leave the
//! worker's state borrowed and wedge it until Chrome restarts it.

use js_sys::{Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "local"], js_name = get)]
    fn storage_local_get(keys: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "local"], js_name = set)]
    fn storage_local_set(items: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "alarms"], js_name = get)]
    fn alarms_get(name: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "alarms"], js_name = create)]
    fn alarms_create(name: &str, info: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = getURL)]
    fn runtime_get_url(path: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(array: &Uint8Array) -> Result<JsValue, JsValue>;

    /// `chrome.runtime.Port`.
    pub type Port;
    #[wasm_bindgen(method, getter)]
    pub fn name(this: &Port) -> String;
    #[wasm_bindgen(method, catch, js_name = postMessage)]
    pub fn post_message(this: &Port, message: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, getter, js_name = onDisconnect)]
    pub fn on_disconnect(this: &Port) -> ChromeEvent;

    /// `chrome.events.Event`.
    pub type ChromeEvent;
    #[wasm_bindgen(method, catch, js_name = addListener)]
    pub fn add_listener(this: &ChromeEvent, listener: &Function) -> Result<(), JsValue>;
}

/// Milliseconds since this worker started (the worker's time origin).
pub fn now_ms() -> f64 {
    performance_now()
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let array = Uint8Array::new_with_length(N as u32);
    let mut out = [0u8; N];
    // crypto.getRandomValues cannot fail for small arrays in a worker; if the
    // global is missing anyway, zeros still give a working (if predictable) UA.
    if get_random_values(&array).is_ok() {
        array.copy_to(&mut out);
    }
    out
}

/// `chrome-extension://<id>/`: the origin of the extension's own pages.
pub fn extension_url() -> Option<String> {
    runtime_get_url("").ok().and_then(|u| u.as_string())
}

/// `chrome.storage.local.get(keys)`: the object of found items.
pub async fn storage_get(keys: &[&str]) -> Result<JsValue, JsValue> {
    let array: js_sys::Array = keys.iter().map(|k| JsValue::from_str(k)).collect();
    JsFuture::from(storage_local_get(&array)?).await
}

/// `chrome.storage.local.set({key: value})`.
pub async fn storage_set(key: &str, value: &JsValue) -> Result<(), JsValue> {
    let items = js_sys::Object::new();
    js_sys::Reflect::set(&items, &JsValue::from_str(key), value)?;
    JsFuture::from(storage_local_set(&items)?).await.map(|_| ())
}

/// Create the periodic alarm unless it exists: re-creating would restart its
/// period, and a worker that keeps being woken would then never see it fire.
pub async fn ensure_alarm(name: &str, period_minutes: f64) -> Result<(), JsValue> {
    let existing = JsFuture::from(alarms_get(name)?).await?;
    if existing.is_undefined() || existing.is_null() {
        let info = js_sys::Object::new();
        js_sys::Reflect::set(
            &info,
            &"periodInMinutes".into(),
            &JsValue::from_f64(period_minutes),
        )?;
        JsFuture::from(alarms_create(name, &info)?).await?;
    }
    Ok(())
}

/// `JSON.stringify(value)`, `None` for values JSON cannot represent.
pub fn to_json(value: &JsValue) -> Option<String> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
}

/// `JSON.parse(text)`; our own encoder never produces invalid JSON.
pub fn from_json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
}

pub fn log(message: &str) {
    web_sys::console::log_1(&JsValue::from_str(message));
}

pub fn warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}
