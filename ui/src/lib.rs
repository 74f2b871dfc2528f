//! What Ringside's extension pages share: the popup (and its call window)
//! and the options page. Translations switched at runtime, the `chrome.*`
//! calls, the connection to the worker with its snapshot reducer, and the
//! texts of function keys.
//!
//! A crate of its own rather than the popup's library: a cdylib that is also
//! an rlib comes out larger, and the popup's size is budgeted.

pub mod chrome;
pub mod i18n;
pub mod keys;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use ringside::protocol::popup::PopupReply;
use ringside::protocol::{Push, Request};
use ringside::settings::Language;
use ringside::ui_state::{UiAction, UiState};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use i18n::tr;

/// How long to wait before re-subscribing when the worker went away; the
/// new connection itself wakes the worker.
const RESUBSCRIBE_MS: u32 = 250;

/// Yew's wrapper of the core reducer.
#[derive(Debug, PartialEq)]
pub struct Ui(pub UiState);

impl Reducible for Ui {
    type Action = UiAction;

    fn reduce(self: Rc<Self>, action: UiAction) -> Rc<Self> {
        Rc::new(Ui(self.0.reduce(action)))
    }
}

/// Ask the worker for the history and put it in the state; `seen` when the
/// history screen shows it (that clears the missed-call badge).
pub fn refresh_history(dispatch: Callback<UiAction>, seen: bool) {
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(PopupReply::History { entries }) =
            chrome::request(&Request::GetHistory { seen }).await
        {
            dispatch.emit(UiAction::History(entries));
        }
    });
}

fn subscribe(
    dispatch: Callback<UiAction>,
    slot: Rc<RefCell<Option<chrome::Port>>>,
    closed: Rc<Cell<bool>>,
) {
    let on_push = {
        let dispatch = dispatch.clone();
        move |push: Push| match push {
            Push::Snapshot { snapshot } => dispatch.emit(UiAction::Snapshot(snapshot)),
        }
    };
    let on_disconnect = {
        let (dispatch, slot, closed) = (dispatch.clone(), slot.clone(), closed.clone());
        move || {
            if closed.get() {
                return;
            }
            // The worker stopped (or restarted): keep showing the last state,
            // marked as stale, until the new worker's first snapshot.
            dispatch.emit(UiAction::WorkerLost);
            Timeout::new(RESUBSCRIBE_MS, move || subscribe(dispatch, slot, closed)).forget();
        }
    };
    let port = chrome::subscribe(on_push, on_disconnect);
    if port.is_none() {
        dispatch.emit(UiAction::WorkerLost);
    }
    *slot.borrow_mut() = port;
}

async fn load_settings_now(dispatch: &Callback<UiAction>) {
    if let Ok(PopupReply::Settings { settings }) = chrome::request(&Request::GetSettings).await {
        dispatch.emit(UiAction::Settings(settings));
    }
}

fn load_settings(dispatch: Callback<UiAction>) {
    wasm_bindgen_futures::spawn_local(async move { load_settings_now(&dispatch).await });
}

/// The worker's state for a page of the extension: subscribes to the
/// snapshots (re-subscribing when the worker restarts), loads the settings
/// and the history, and keeps `<html lang>` in step with the language.
#[hook]
pub fn use_worker_state() -> (UseReducerHandle<Ui>, Callback<UiAction>) {
    let ui = use_reducer(|| {
        Ui(UiState::new(Language::from_ui_language(
            &chrome::ui_language(),
        )))
    });
    let dispatch = {
        let dispatcher = ui.dispatcher();
        Callback::from(move |action| dispatcher.dispatch(action))
    };
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            let slot = Rc::new(RefCell::new(None));
            let closed = Rc::new(Cell::new(false));
            subscribe(dispatch.clone(), slot.clone(), closed.clone());
            {
                let dispatch = dispatch.clone();
                chrome::on_settings_saved(move || load_settings(dispatch.clone()));
            }
            wasm_bindgen_futures::spawn_local(async move {
                load_settings_now(&dispatch).await;
                refresh_history(dispatch, false);
            });
            move || {
                closed.set(true);
                if let Some(port) = slot.borrow_mut().take() {
                    let _ = port.disconnect();
                }
            }
        });
    }
    let lang = ui.0.language();
    use_effect_with(lang, |lang| {
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            if let Some(html) = document.document_element() {
                let _ = html.set_attribute("lang", lang.tag());
            }
            document.set_title(&tr(*lang, "appName", &[]));
        }
    });
    (ui, dispatch)
}

/// Move keyboard focus to an element by id, once it is rendered.
pub fn focus(id: &str) {
    let id = id.to_owned();
    Timeout::new(0, move || {
        if let Some(element) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&id))
        {
            if let Ok(element) = element.dyn_into::<web_sys::HtmlElement>() {
                let _ = element.focus();
            }
        }
    })
    .forget();
}
