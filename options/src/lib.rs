//! Ringside's options page (options.html): the settings edited rarely — the
//! function-key editor with import and export, what each status does with
//! calls, the office-hours schedule, caller-number rules and auto-answer,
//! the voicemail / park numbers and outbound prefix, the global
//! click-to-call switch, the shortcuts list.
//!
//! Its own wasm keeps these editors out of the popup, which opens many times
//! a day and must stay small. Like the popup it owns nothing: it renders the
//! worker's configuration and sends every change as a request; the shared
//! pieces (translations, the worker connection, the snapshot reducer) are in
//! ringside-ui (ui/).

mod c2c;
mod keys;
mod numbers;
mod rules;
mod status_settings;

use ringside::settings::Language;
use ringside_ui::i18n::tr;
use ringside_ui::use_worker_state;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[function_component(Options)]
fn options() -> Html {
    let (ui, dispatch) = use_worker_state();
    let lang = ui.0.language();
    html! {
        <ContextProvider<Language> context={lang}>
            <main class="options" aria-labelledby="options-title">
                <h1 id="options-title">{ tr(lang, "optionsTitle", &[]) }</h1>
                <section id="options-keys" aria-labelledby="options-keys-title">
                    <h2 id="options-keys-title">{ tr(lang, "tabFunctionKeys", &[]) }</h2>
                    <keys::KeysEditor />
                </section>
                <status_settings::CallHandlingSettings />
                <numbers::Numbers settings={ui.0.settings.clone()} {dispatch} />
                <c2c::ClickToCallSettings />
                <numbers::Shortcuts />
            </main>
        </ContextProvider<Language>>
    }
}

/// options.html renders the page into `#options-app`.
#[wasm_bindgen(start)]
pub fn run() {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("options-app"))
    {
        yew::Renderer::<Options>::with_root(root).render();
    }
}
