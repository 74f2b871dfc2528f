//! Telling an untrusted certificate from an unreachable server.
//!
//! A `wss://` WebSocket that fails its TLS handshake closes exactly like one
//! to a closed port, and `chrome.webRequest` does not see the worker's
//! WebSockets at all. It does see the worker's own `fetch`, with Chrome's net
//! error (`net::ERR_CERT_AUTHORITY_INVALID` vs `net::ERR_CONNECTION_REFUSED`).
//! So after a failed `wss://` connect the supervisor asks for a probe of the
//! server's https origin; this module fetches it with a listener on
//! `onErrorOccurred` added only for the probe (a permanent listener would wake
//! the worker for every failed request of every tab) and reports the error
//! it saw, or none when the server answered.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use std::cell::RefCell;
use std::rc::Rc;

/// `onErrorOccurred` may come after `fetch` rejected; this is how long to
/// wait for it. A few ms in practice.
const LATE_ERROR_MS: u32 = 300;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = fetch)]
    fn fetch_with_init(url: &str, init: &JsValue) -> Result<Promise, JsValue>;
}

pub fn start(generation: u64, url: String) {
    spawn_local(async move {
        let error = probe(&url).await;
        if let Some(e) = &error {
            crate::chrome::log(&format!("ringside: probe of {url}: {e}"));
        }
        crate::with_worker(|w| w.input(|s, now| s.handle_probe(now, generation, error.as_deref())));
    });
}

/// The net error Chrome reported for a GET of `url`, `None` if it answered
/// (any HTTP status) or if webRequest is unavailable.
async fn probe(url: &str) -> Option<String> {
    let seen: Rc<RefCell<Option<String>>> = Rc::default();
    let event = on_error_occurred()?;
    let listener = {
        let seen = Rc::clone(&seen);
        let target = url.to_owned();
        Closure::<dyn FnMut(JsValue)>::new(move |details: JsValue| {
            let field = |name: &str| Reflect::get(&details, &name.into()).ok().and_then(|v| v.as_string());
            if field("url").as_deref() == Some(target.as_str()) {
                *seen.borrow_mut() = field("error");
            }
        })
    };
    let listener_fn: &Function = listener.as_ref().unchecked_ref();
    if !call(&event, "addListener", listener_fn, &filter(url)) {
        return None;
    }
    let answered = match fetch_with_init(url, &fetch_init()) {
        Ok(promise) => JsFuture::from(promise).await.is_ok(),
        Err(_) => false,
    };
    if !answered && seen.borrow().is_none() {
        gloo_timers::future::TimeoutFuture::new(LATE_ERROR_MS).await;
    }
    call(&event, "removeListener", listener_fn, &JsValue::UNDEFINED);
    let error = seen.borrow_mut().take();
    if answered {
        None
    } else {
        error
    }
}

fn on_error_occurred() -> Option<JsValue> {
    let chrome = Reflect::get(&js_sys::global(), &"chrome".into()).ok()?;
    let web_request = Reflect::get(&chrome, &"webRequest".into()).ok()?;
    let event = Reflect::get(&web_request, &"onErrorOccurred".into()).ok()?;
    (!event.is_undefined()).then_some(event)
}

fn call(event: &JsValue, method: &str, listener: &Function, extra: &JsValue) -> bool {
    let Some(f) = Reflect::get(event, &method.into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return false;
    };
    f.call2(event, listener, extra).is_ok()
}

/// Only requests outside any tab (the worker's own), to this URL.
fn filter(url: &str) -> JsValue {
    let filter = Object::new();
    let urls = js_sys::Array::of1(&JsValue::from_str(url));
    let _ = Reflect::set(&filter, &"urls".into(), &urls);
    let _ = Reflect::set(&filter, &"tabId".into(), &JsValue::from_f64(-1.0));
    filter.into()
}

fn fetch_init() -> JsValue {
    let init = Object::new();
    let _ = Reflect::set(&init, &"cache".into(), &"no-store".into());
    let _ = Reflect::set(&init, &"credentials".into(), &"omit".into());
    init.into()
}
