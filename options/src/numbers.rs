//! Options page → numbers and shortcuts: the voicemail and park numbers, the
//! outbound dialing prefix, and the keyboard shortcuts Chrome has assigned.
//! Set once, so kept out of the popup. Every change is saved at once.

use ringside::protocol::calls::CallSettings;
use ringside::protocol::{Reply, Request};
use ringside::settings::{is_feature_number, Settings};
use ringside::ui_state::UiAction;
use ringside_ui::chrome;
use ringside_ui::i18n::{tr, use_language};
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Shortcut command names (manifest.json `commands`) and their labels.
const COMMANDS: [(&str, &str); 4] = [
    ("answer", "cmdAnswer"),
    ("hangup", "cmdHangup"),
    ("mute", "cmdMute"),
    ("_execute_action", "cmdOpenDialer"),
];

#[derive(Properties, Clone, PartialEq)]
pub struct NumbersProps {
    /// The worker's settings (the outbound prefix is one of them).
    pub settings: Settings,
    pub dispatch: Callback<UiAction>,
}

fn input_value(e: &Event) -> String {
    let input: HtmlInputElement = e.target_unchecked_into();
    input.value().trim().to_owned()
}

/// The message keys of refused fields without `key`, plus `key` if `value`
/// is no feature number.
fn checked(errors: &[&'static str], key: &'static str, value: &str) -> (Vec<&'static str>, bool) {
    let mut list: Vec<&'static str> = errors.iter().copied().filter(|k| *k != key).collect();
    let ok = is_feature_number(value);
    if !ok {
        list.push(key);
    }
    (list, ok)
}

#[function_component(Numbers)]
pub fn numbers(props: &NumbersProps) -> Html {
    let lang = use_language();
    let notice = use_state(|| None::<&'static str>);
    let call_settings = use_state(|| None::<CallSettings>);
    let errors = use_state(Vec::<&'static str>::new);
    {
        let call_settings = call_settings.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(Reply::CallSettings { settings }) =
                    chrome::request(&Request::GetCallSettings).await
                {
                    call_settings.set(Some(settings));
                }
            });
        });
    }
    let on_prefix = {
        let (settings, dispatch, notice, errors) = (
            props.settings.clone(),
            props.dispatch.clone(),
            notice.clone(),
            errors.clone(),
        );
        Callback::from(move |e: Event| {
            let value = input_value(&e);
            let (list, ok) = checked(&errors, "errOutboundPrefix", &value);
            errors.set(list);
            if !ok {
                return;
            }
            let mut next = settings.clone();
            next.dial_rules.outbound_prefix = value;
            let (dispatch, notice) = (dispatch.clone(), notice.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match chrome::request(&Request::SetSettings { settings: next }).await {
                    Ok(Reply::Settings { settings }) => {
                        dispatch.emit(UiAction::Settings(settings));
                        notice.set(Some("settingsSaved"));
                    }
                    _ => notice.set(Some("errSettingsFailed")),
                }
            });
        })
    };
    let call_number = |key: &'static str, set: fn(&mut CallSettings, Option<String>)| {
        let (call_settings, notice, errors) =
            (call_settings.clone(), notice.clone(), errors.clone());
        Callback::from(move |e: Event| {
            let value = input_value(&e);
            let (list, ok) = checked(&errors, key, &value);
            errors.set(list);
            if !ok {
                return;
            }
            let mut next = (*call_settings).clone().unwrap_or_default();
            set(&mut next, Some(value).filter(|v| !v.is_empty()));
            let (call_settings, notice) = (call_settings.clone(), notice.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match chrome::request(&Request::SetCallSettings {
                    settings: next.clone(),
                })
                .await
                {
                    Ok(Reply::Ok) | Ok(Reply::CallSettings { .. }) => {
                        call_settings.set(Some(next));
                        notice.set(Some("settingsSaved"));
                    }
                    _ => notice.set(Some("errSettingsFailed")),
                }
            });
        })
    };
    let on_voicemail = call_number("errVoicemailNumber", |c, v| c.voicemail_target = v);
    let on_park = call_number("errParkNumber", |c, v| c.park_target = v);
    let call_settings_now = (*call_settings).clone().unwrap_or_default();
    let field_error = |key: &'static str| -> Html {
        if errors.contains(&key) {
            html! { <p class="error" role="alert">{ tr(lang, key, &[]) }</p> }
        } else {
            html! {}
        }
    };
    html! {
        <section aria-labelledby="settings-numbers">
            <h2 id="settings-numbers">{ tr(lang, "settingsNumbers", &[]) }</h2>
            <div class="field">
                <label for="setting-voicemail">{ tr(lang, "labelVoicemail", &[]) }</label>
                <input id="setting-voicemail" type="text" inputmode="tel" value={call_settings_now.voicemail_target.clone().unwrap_or_default()} onchange={on_voicemail} />
                { field_error("errVoicemailNumber") }
            </div>
            <div class="field">
                <label for="setting-park">{ tr(lang, "labelPark", &[]) }</label>
                <input id="setting-park" type="text" inputmode="tel" value={call_settings_now.park_target.clone().unwrap_or_default()} onchange={on_park} />
                { field_error("errParkNumber") }
            </div>
            <div class="field">
                <label for="setting-prefix">{ tr(lang, "labelOutboundPrefix", &[]) }</label>
                <input id="setting-prefix" type="text" inputmode="tel" value={props.settings.dial_rules.outbound_prefix.clone()} onchange={on_prefix} />
                { field_error("errOutboundPrefix") }
            </div>
            if let Some(key) = *notice {
                <p id="numbers-notice" class="notice" role="status">{ tr(lang, key, &[]) }</p>
            }
        </section>
    }
}

/// The extension's keyboard shortcuts as Chrome has them (the user changes
/// them on chrome://extensions/shortcuts).
#[function_component(Shortcuts)]
pub fn shortcuts() -> Html {
    let lang = use_language();
    let commands = use_state(Vec::<[String; 3]>::new);
    {
        let commands = commands.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                commands.set(chrome::commands().await);
            });
        });
    }
    let rows = COMMANDS.iter().map(|(name, label)| {
        let shortcut = commands
            .iter()
            .find(|c| c[0] == *name)
            .map(|c| c[1].clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| tr(lang, "shortcutNotSet", &[]));
        html! {
            <tr data-command={*name}><th scope="row">{ tr(lang, label, &[]) }</th><td><kbd>{ shortcut }</kbd></td></tr>
        }
    });
    html! {
        <section aria-labelledby="settings-shortcuts">
            <h2 id="settings-shortcuts">{ tr(lang, "settingsShortcuts", &[]) }</h2>
            <table class="shortcuts"><tbody>{ for rows }</tbody></table>
            <p class="hint">{ tr(lang, "shortcutsHint", &[]) }</p>
        </section>
    }
}
