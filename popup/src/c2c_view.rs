//! Click-to-call in Settings, for the page the popup was opened over:
//! "click-to-call on this site" and "call without asking". The global switch
//! is on the options page (options/src/c2c.rs). The worker owns the policy
//! (background/src/c2c.rs); this only edits it.

use ringside::c2c::SiteState;
use ringside::protocol::popup::PopupC2cReply;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::chrome;
use crate::i18n::{tr, use_language};

fn checked(e: &Event) -> bool {
    let input: HtmlInputElement = e.target_unchecked_into();
    input.checked()
}

#[function_component(ClickToCall)]
pub fn click_to_call() -> Html {
    let lang = use_language();
    let site = use_state(|| None::<(String, SiteState)>);
    {
        let site = site.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let Some(url) = chrome::active_tab_url()
                    .await
                    .filter(|u| u.starts_with("http"))
                else {
                    return;
                };
                if let Some(PopupC2cReply::Site { site: state }) = chrome::get_site(&url).await {
                    site.set(Some((url, state)));
                }
            });
        });
    }
    let set_site = |skip: bool| {
        let site = site.clone();
        Callback::from(move |e: Event| {
            let on = checked(&e);
            let Some((url, _)) = (*site).clone() else {
                return;
            };
            let site = site.clone();
            let (enabled, skip_confirmation) = ((!skip).then_some(on), skip.then_some(on));
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(PopupC2cReply::Site { site: state }) =
                    chrome::set_site(&url, enabled, skip_confirmation).await
                {
                    site.set(Some((url, state)));
                }
            });
        })
    };
    let Some((_, state)) = site.as_ref().filter(|(_, state)| state.site.is_some()) else {
        return html! {};
    };
    let host = state.site.clone().unwrap_or_default();
    let hint = if !state.enabled {
        Some("c2cOffHint")
    } else if state.excluded {
        Some("c2cExcludedHint")
    } else {
        None
    };
    html! {
        <section aria-labelledby="settings-c2c">
            <h2 id="settings-c2c">{ tr(lang, "c2cSection", &[]) }</h2>
            <div class="check">
                <input id="c2c-site" type="checkbox" checked={state.site_enabled}
                    disabled={hint.is_some()} onchange={set_site(false)}
                    aria-describedby={hint.map(|_| "c2c-site-hint")} />
                <label for="c2c-site">{ tr(lang, "c2cSite", &[&host]) }</label>
            </div>
            if let Some(hint) = hint {
                <p id="c2c-site-hint" class="hint">{ tr(lang, hint, &[]) }</p>
            }
            <div class="check">
                <input id="c2c-skip" type="checkbox" checked={state.skip_confirmation}
                    disabled={!state.active} onchange={set_site(true)} />
                <label for="c2c-skip">{ tr(lang, "c2cSkip", &[]) }</label>
            </div>
        </section>
    }
}
