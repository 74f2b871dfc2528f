//! Options page → click-to-call: the global switch (off: no page is scanned
//! anywhere). Each site's own switches stay in the popup, next to the page
//! they are about. The worker owns the policy (background/src/c2c.rs).

use ringside::protocol::c2c::{C2cReply, C2cRequest};
use ringside_ui::chrome;
use ringside_ui::i18n::{tr, use_language};
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[function_component(ClickToCallSettings)]
pub fn click_to_call_settings() -> Html {
    let lang = use_language();
    let enabled = use_state(|| None::<bool>);
    {
        let enabled = enabled.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(C2cReply::C2cSettings { settings }) =
                    chrome::request_c2c(&C2cRequest::GetC2cSettings).await
                {
                    enabled.set(Some(settings.enabled));
                }
            });
        });
    }
    let Some(global) = *enabled else {
        return html! {};
    };
    let on_global = {
        let enabled = enabled.clone();
        Callback::from(move |e: Event| {
            let on = e.target_unchecked_into::<HtmlInputElement>().checked();
            let enabled = enabled.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // Read again: a content script's site choices may have changed since.
                let Some(C2cReply::C2cSettings { mut settings }) =
                    chrome::request_c2c(&C2cRequest::GetC2cSettings).await
                else {
                    return;
                };
                settings.enabled = on;
                if let Some(C2cReply::C2cSettings { settings }) =
                    chrome::request_c2c(&C2cRequest::SetC2cSettings { settings }).await
                {
                    enabled.set(Some(settings.enabled));
                }
            });
        })
    };
    html! {
        <section aria-labelledby="settings-c2c">
            <h2 id="settings-c2c">{ tr(lang, "c2cSection", &[]) }</h2>
            <div class="check">
                <input id="setting-c2c" type="checkbox" checked={global} onchange={on_global} />
                <label for="setting-c2c">{ tr(lang, "c2cEnabled", &[]) }</label>
            </div>
        </section>
    }
}
