//! The header: own name and extension, the registration indicator and the
//! status selector (status, message, temporary status).

use ringside::presence::{Status, StatusChange, Until};
use ringside::protocol::popup::PopupReply;
use ringside::protocol::Request;
use ringside::settings::Language;
use wasm_bindgen::JsValue;
use web_sys::{HtmlInputElement, HtmlSelectElement, KeyboardEvent};
use yew::prelude::*;

use crate::i18n::{tr, use_language};
use crate::login::sentence;
use crate::{chrome, focus, ScreenProps};

/// Durations offered for a temporary status, in minutes.
const DURATIONS: [u32; 4] = [30, 60, 120, 240];

/// A time of day (or date and time when not today) in the user's language.
pub fn format_time(lang: Language, unix_ms: f64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(unix_ms));
    let today = js_sys::Date::new_0().to_date_string() == date.to_date_string();
    let options = js_sys::Object::new();
    let set = |k: &str, v: &str| {
        let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
    };
    if !today {
        set("month", "short");
        set("day", "numeric");
    }
    set("hour", "2-digit");
    set("minute", "2-digit");
    date.to_locale_string(lang.tag(), &options)
        .as_string()
        .unwrap_or_default()
}

#[function_component(Header)]
pub fn header(props: &crate::ScreenProps) -> Html {
    let lang = use_language();
    let Some(snapshot) = props.ui.snapshot.as_ref() else {
        return html! {};
    };
    let extension = snapshot
        .aor
        .as_deref()
        .and_then(|a| a.split('@').next())
        .unwrap_or_default()
        .to_owned();
    let state = snapshot.state.as_str();
    html! {
        <header class="app-header">
            <div class="identity">
                <span class={classes!("dot", format!("reg-{state}"))} aria-hidden="true"></span>
                <span id="own-extension" class="extension">{ extension }</span>
                <p id="reg-state" data-state={state} role="status" aria-live="polite" class="reg-sentence">
                    { sentence(lang, snapshot) }
                    if props.ui.worker_lost {
                        { " " }{ tr(lang, "workerReconnecting", &[]) }
                    }
                </p>
            </div>
            <StatusSelector ui={props.ui.clone()} dispatch={props.dispatch.clone()} />
        </header>
    }
}

#[function_component(StatusSelector)]
fn status_selector(props: &ScreenProps) -> Html {
    let lang = use_language();
    let open = use_state(|| false);
    let presence = props
        .ui
        .snapshot
        .as_ref()
        .map(|s| s.presence.clone())
        .unwrap_or_default();
    let chosen = use_state(|| presence.status);
    let note = use_state(|| presence.note.clone());
    // "" = until changed, "until" = a date and time, else minutes.
    let duration = use_state(String::new);
    let until = use_state(String::new);
    let error = use_state(|| None::<&'static str>);

    let ends = presence
        .ends_at()
        .map(|at| tr(lang, "statusUntil", &[&format_time(lang, at as f64)]));
    let title = match &ends {
        Some(ends) => format!("{} · {ends}", tr(lang, presence.status.message_key(), &[])),
        None => tr(lang, "statusChange", &[]),
    };
    let toggle = {
        let (open, chosen, note, error) =
            (open.clone(), chosen.clone(), note.clone(), error.clone());
        let presence = presence.clone();
        Callback::from(move |_| {
            if !*open {
                chosen.set(presence.status);
                note.set(presence.note.clone());
                error.set(None);
                focus(&format!("status-{}", presence.status.as_str()));
            }
            open.set(!*open);
        })
    };
    let onsubmit = {
        let (open, chosen, note, duration, until, error) = (
            open.clone(),
            chosen.clone(),
            note.clone(),
            duration.clone(),
            until.clone(),
            error.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let until = match duration.as_str() {
                "" => None,
                "until" => {
                    let at = js_sys::Date::new(&JsValue::from_str(&until)).get_time();
                    if at.is_nan() {
                        error.set(Some("errStatusEndInPast"));
                        return;
                    }
                    Some(Until::At(at as i64))
                }
                minutes => minutes.parse::<u32>().ok().map(|m| Until::Seconds(m * 60)),
            };
            let change = StatusChange {
                status: *chosen,
                note: (*note).clone(),
                until,
            };
            let (open, error) = (open.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match chrome::request(&Request::SetStatus { change }).await {
                    Ok(PopupReply::Snapshot { .. }) => {
                        open.set(false);
                        focus("status-button");
                    }
                    _ => error.set(Some("errStatusFailed")),
                }
            });
        })
    };
    let onkeydown = {
        let open = open.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                open.set(false);
                focus("status-button");
            }
        })
    };
    let options = Status::ALL.iter().map(|status| {
        let id = format!("status-{}", status.as_str());
        let onchange = {
            let (chosen, status) = (chosen.clone(), *status);
            Callback::from(move |_: Event| chosen.set(status))
        };
        html! {
            <div class="radio">
                <input type="radio" name="status" {id} value={status.as_str()}
                    checked={*chosen == *status} {onchange} />
                <label for={format!("status-{}", status.as_str())}>
                    <span class={classes!("dot", format!("status-{}", status.as_str()))} aria-hidden="true"></span>
                    { tr(lang, status.message_key(), &[]) }
                </label>
            </div>
        }
    });
    html! {
        <div class="status-selector" {onkeydown}>
            <button id="status-button" type="button" class="status-button"
                data-status={presence.status.as_str()} title={title.clone()}
                aria-expanded={if *open { "true" } else { "false" }} aria-controls="status-panel"
                onclick={toggle}>
                <span class={classes!("dot", format!("status-{}", presence.status.as_str()))} aria-hidden="true"></span>
                <span id="status-label">{ tr(lang, presence.status.message_key(), &[]) }</span>
                if !presence.note.is_empty() {
                    <span id="status-note-shown" class="note">{ format!(" · {}", presence.note) }</span>
                }
                if let Some(ends) = &ends {
                    <span id="status-ends" class="visually-hidden">{ format!(" · {ends}") }</span>
                }
            </button>
            if *open {
                <form id="status-panel" class="popover" aria-label={tr(lang, "statusChange", &[])} {onsubmit}>
                    <fieldset>
                        <legend>{ tr(lang, "statusLegend", &[]) }</legend>
                        { for options }
                    </fieldset>
                    <div class="field">
                        <label for="status-note">{ tr(lang, "labelStatusNote", &[]) }</label>
                        <input id="status-note" type="text" maxlength="80" value={(*note).clone()}
                            oninput={{
                                let note = note.clone();
                                Callback::from(move |e: InputEvent| {
                                    let input: HtmlInputElement = e.target_unchecked_into();
                                    note.set(input.value());
                                })
                            }} />
                    </div>
                    <div class="field">
                        <label for="status-duration">{ tr(lang, "labelStatusDuration", &[]) }</label>
                        <select id="status-duration" onchange={{
                            let duration = duration.clone();
                            Callback::from(move |e: Event| {
                                let select: HtmlSelectElement = e.target_unchecked_into();
                                duration.set(select.value());
                            })
                        }}>
                            <option value="" selected={duration.is_empty()}>{ tr(lang, "durationForever", &[]) }</option>
                            { for DURATIONS.iter().map(|m| {
                                let value = m.to_string();
                                let label = if m % 60 == 0 {
                                    tr(lang, "durationHours", &[&(m / 60).to_string()])
                                } else {
                                    tr(lang, "durationMinutes", &[&value])
                                };
                                html! { <option selected={*duration == value} value={value.clone()}>{ label }</option> }
                            }) }
                            <option value="until" selected={*duration == "until"}>{ tr(lang, "durationUntil", &[]) }</option>
                        </select>
                    </div>
                    if *duration == "until" {
                        <div class="field">
                            <label for="status-until">{ tr(lang, "labelStatusUntil", &[]) }</label>
                            <input id="status-until" type="datetime-local" value={(*until).clone()}
                                onchange={{
                                    let until = until.clone();
                                    Callback::from(move |e: Event| {
                                        let input: HtmlInputElement = e.target_unchecked_into();
                                        until.set(input.value());
                                    })
                                }} />
                        </div>
                    }
                    if let Some(key) = *error {
                        <p class="form-error" role="alert">{ tr(lang, key, &[]) }</p>
                    }
                    <div class="row">
                        <button id="status-save" type="submit">{ tr(lang, "buttonApply", &[]) }</button>
                        <button type="button" class="secondary" onclick={{
                            let open = open.clone();
                            Callback::from(move |_| { open.set(false); focus("status-button"); })
                        }}>{ tr(lang, "buttonCancel", &[]) }</button>
                    </div>
                </form>
            }
        </div>
    }
}
