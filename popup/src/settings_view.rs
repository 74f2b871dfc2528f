//! The Settings screen: account and logout, language, notifications,
//! ringtone, audio devices with "test speaker", this site's click-to-call.
//! Every change is saved at once. What is set once (voicemail / park
//! numbers, the outbound prefix, the shortcuts list) and the call-handling
//! editors are on the options page (options/), which this screen opens.

use ringside::protocol::popup::PopupReply;
use ringside::protocol::Request;
use ringside::settings::{Language, Ringtone, Settings};
use ringside::ui_state::UiAction;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::i18n::{tr, use_language};
use crate::{chrome, ScreenProps};

fn save(
    settings: Settings,
    dispatch: Callback<UiAction>,
    notice: UseStateHandle<Option<&'static str>>,
) {
    wasm_bindgen_futures::spawn_local(async move {
        match chrome::request(&Request::SetSettings { settings }).await {
            Ok(PopupReply::Settings { settings }) => {
                dispatch.emit(UiAction::Settings(settings));
                notice.set(Some("settingsSaved"));
            }
            _ => notice.set(Some("errSettingsFailed")),
        }
    });
}

fn input_value(e: &Event) -> String {
    let input: HtmlInputElement = e.target_unchecked_into();
    input.value()
}

#[function_component(SettingsScreen)]
pub fn settings_screen(props: &ScreenProps) -> Html {
    let lang = use_language();
    let notice = use_state(|| None::<&'static str>);
    let devices = use_state(Vec::<[String; 3]>::new);
    {
        let devices = devices.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                devices.set(chrome::audio_devices().await);
            });
        });
    }
    let settings = props.ui.settings.clone();
    let update = |f: fn(&mut Settings, String)| {
        let (settings, dispatch, notice) =
            (settings.clone(), props.dispatch.clone(), notice.clone());
        Callback::from(move |e: Event| {
            let mut next = settings.clone();
            let value = match e.target_dyn_into::<HtmlSelectElement>() {
                Some(select) => select.value(),
                None => input_value(&e),
            };
            f(&mut next, value);
            save(next, dispatch.clone(), notice.clone());
        })
    };
    let on_language = update(|s, v| {
        s.language = Language::ALL.into_iter().find(|l| l.code() == v);
    });
    let on_ringtone = update(|s, v| {
        s.ringtone = Ringtone::ALL
            .into_iter()
            .find(|r| r.as_str() == v)
            .unwrap_or_default();
    });
    let on_microphone = update(|s, v| s.microphone = Some(v).filter(|v| !v.is_empty()));
    let on_speaker = update(|s, v| s.speaker = Some(v).filter(|v| !v.is_empty()));
    let on_ringer = update(|s, v| s.ringer = Some(v).filter(|v| !v.is_empty()));
    let on_notifications = {
        let (settings, dispatch, notice) =
            (settings.clone(), props.dispatch.clone(), notice.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut next = settings.clone();
            next.notifications = input.checked();
            save(next, dispatch.clone(), notice.clone());
        })
    };
    let on_logout = Callback::from(|_| {
        wasm_bindgen_futures::spawn_local(async {
            let _ = chrome::request::<PopupReply>(&Request::Logout).await;
        })
    });
    let test_speaker = {
        let (speaker, notice) = (settings.speaker.clone(), notice.clone());
        Callback::from(move |_| {
            let (speaker, notice) = (speaker.clone(), notice.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if !chrome::test_speaker(speaker.as_deref().unwrap_or_default()).await {
                    notice.set(Some("errSpeakerTest"));
                }
            });
        })
    };
    let device_select = |id: &'static str,
                         label: &'static str,
                         kind: &'static str,
                         current: &Option<String>,
                         onchange: Callback<Event>| {
        let mut n = 0;
        let options = devices.iter().filter(|d| d[0] == kind && d[1] != "default").map(|d| {
            n += 1;
            let name = if d[2].is_empty() { tr(lang, "deviceNumbered", &[&n.to_string()]) } else { d[2].clone() };
            html! { <option value={d[1].clone()} selected={current.as_deref() == Some(d[1].as_str())}>{ name }</option> }
        }).collect::<Html>();
        html! {
            <div class="field">
                <label for={id}>{ tr(lang, label, &[]) }</label>
                <select {id} {onchange}>
                    <option value="" selected={current.is_none()}>{ tr(lang, "deviceDefault", &[]) }</option>
                    { options }
                </select>
            </div>
        }
    };
    let snapshot = props.ui.snapshot.clone();
    let account = snapshot
        .as_ref()
        .and_then(|s| s.aor.clone())
        .unwrap_or_default();
    let server = snapshot
        .as_ref()
        .and_then(|s| s.server.clone())
        .unwrap_or_default();
    html! {
        <div class="settings">
            <section aria-labelledby="settings-account">
                <h2 id="settings-account">{ tr(lang, "settingsAccount", &[]) }</h2>
                <p class="account-line"><span id="settings-aor">{ account }</span><br /><span class="muted">{ server }</span></p>
                <button id="logout" type="button" class="secondary" onclick={on_logout}>{ tr(lang, "buttonLogout", &[]) }</button>
            </section>
            <section aria-labelledby="settings-general">
                <h2 id="settings-general">{ tr(lang, "settingsGeneral", &[]) }</h2>
                <div class="field">
                    <label for="setting-language">{ tr(lang, "labelLanguage", &[]) }</label>
                    <select id="setting-language" onchange={on_language}>
                        <option value="" selected={settings.language.is_none()}>{ tr(lang, "languageBrowser", &[]) }</option>
                        <option value="en" lang="en" selected={settings.language == Some(Language::En)}>{ "English" }</option>
                        <option value="zh_CN" lang="zh-CN" selected={settings.language == Some(Language::ZhCn)}>{ "中文" }</option>
                    </select>
                </div>
                <div class="check">
                    <input id="setting-notifications" type="checkbox" checked={settings.notifications} onchange={on_notifications} />
                    <label for="setting-notifications">{ tr(lang, "labelNotifications", &[]) }</label>
                </div>
            </section>
            <section aria-labelledby="settings-audio">
                <h2 id="settings-audio">{ tr(lang, "settingsAudio", &[]) }</h2>
                { device_select("setting-microphone", "labelMicrophone", "audioinput", &settings.microphone, on_microphone) }
                { device_select("setting-speaker", "labelSpeaker", "audiooutput", &settings.speaker, on_speaker) }
                <button id="test-speaker" type="button" class="secondary" onclick={test_speaker}>{ tr(lang, "buttonTestSpeaker", &[]) }</button>
                { device_select("setting-ringer", "labelRinger", "audiooutput", &settings.ringer, on_ringer) }
                <div class="field">
                    <label for="setting-ringtone">{ tr(lang, "labelRingtone", &[]) }</label>
                    <select id="setting-ringtone" onchange={on_ringtone}>
                        { for Ringtone::ALL.iter().map(|r| html! {
                            <option value={r.as_str()} selected={settings.ringtone == *r}>{ tr(lang, r.message_key(), &[]) }</option>
                        }) }
                    </select>
                </div>
            </section>
            <section aria-labelledby="settings-more">
                <h2 id="settings-more">{ tr(lang, "settingsMore", &[]) }</h2>
                <p class="hint">{ tr(lang, "settingsMoreHint", &[]) }</p>
                <button id="open-options" type="button" class="secondary"
                    onclick={Callback::from(|_| chrome::open_options())}>{ tr(lang, "buttonOpenOptions", &[]) }</button>
            </section>
            <crate::c2c_view::ClickToCall />
            if let Some(key) = *notice {
                <p id="settings-notice" class="notice" role="status">{ tr(lang, key, &[]) }</p>
            }
        </div>
    }
}
