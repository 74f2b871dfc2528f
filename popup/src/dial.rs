//! The Dial screen: a text field for numbers (pasted ones are normalised)
//! that also searches the history by name or number, the dial pad, and the
//! call button, which refills the last dialled number on an empty field.

use ringside::protocol::popup::PopupReply;
use ringside::protocol::{ErrorCode, Request};
use ringside::ui_state::{dial_error_key, dial_target, last_dialled, search};
use wasm_bindgen::JsCast;
use web_sys::{ClipboardEvent, HtmlInputElement, KeyboardEvent};
use yew::prelude::*;

use crate::i18n::{tr, use_language};
use crate::{chrome, focus, ScreenProps};

const PAD: [(&str, &str); 12] = [
    ("1", ""),
    ("2", "ABC"),
    ("3", "DEF"),
    ("4", "GHI"),
    ("5", "JKL"),
    ("6", "MNO"),
    ("7", "PQRS"),
    ("8", "TUV"),
    ("9", "WXYZ"),
    ("*", ""),
    ("0", "+"),
    ("#", ""),
];

/// The translated reason a command was refused.
pub fn command_error_key(reply: &Result<PopupReply, chrome::WorkerUnavailable>) -> Option<&'static str> {
    match reply {
        Ok(PopupReply::Error { error }) => Some(match error.code {
            ErrorCode::NotRegistered => "errNotRegistered",
            ErrorCode::InvalidNumber => "errDialInvalid",
            ErrorCode::TooManyCalls => "errTooManyCalls",
            ErrorCode::MediaFailed => "errMediaFailed",
            ErrorCode::NotConfigured => "errNotConfigured",
            ErrorCode::NoSuchCall => "errNoSuchCall",
            _ => "errCommandFailed",
        }),
        Ok(_) => None,
        Err(_) => Some("errWorkerUnavailable"),
    }
}

/// Send `dial` and report a refusal through `error`.
pub fn place_call(number: String, error: UseStateHandle<Option<&'static str>>) {
    dial(number, false, error);
}

/// Send `dial` (with the camera when `video`) and report a refusal.
fn dial(number: String, video: bool, error: UseStateHandle<Option<&'static str>>) {
    wasm_bindgen_futures::spawn_local(async move {
        let reply = chrome::request(&Request::Dial { number, video }).await;
        error.set(command_error_key(&reply));
    });
}

#[function_component(DialScreen)]
pub fn dial_screen(props: &ScreenProps) -> Html {
    let lang = use_language();
    let field = use_state(String::new);
    let error = use_state(|| None::<&'static str>);
    let entries = props.ui.history.clone().unwrap_or_default();
    let results = search(&entries, &field);
    let rules = props.ui.settings.dial_rules.clone();

    let call = {
        let (field, error) = (field.clone(), error.clone());
        let target = dial_target(&field, &results);
        let last = last_dialled(&entries).map(str::to_owned);
        Callback::from(move |video: bool| match (&target, &last) {
            (Ok(number), _) => dial(number.clone(), video, error.clone()),
            // The call button on an empty field brings back the last number.
            (Err(_), Some(last)) if field.trim().is_empty() => {
                field.set(last.clone());
                focus("dial-input");
            }
            (Err(e), _) => error.set(Some(dial_error_key(e))),
        })
    };
    let onsubmit = {
        let call = call.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            call.emit(false);
        })
    };
    let video_call = {
        let call = call.clone();
        Callback::from(move |_| call.emit(true))
    };
    let oninput = {
        let (field, error) = (field.clone(), error.clone());
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            field.set(input.value());
            error.set(None);
        })
    };
    let onpaste = {
        let (field, error) = (field.clone(), error.clone());
        Callback::from(move |e: Event| {
            let Some(text) = e
                .dyn_ref::<ClipboardEvent>()
                .and_then(|c| c.clipboard_data())
                .and_then(|d| d.get_data("text").ok())
            else {
                return;
            };
            e.prevent_default();
            let input: HtmlInputElement = e.target_unchecked_into();
            let pasted = format!("{}{}", input.value(), text);
            field.set(ringside::ui_state::clean_dial_input(&pasted, &rules));
            error.set(None);
        })
    };
    let onkeydown = {
        let field = field.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" && !field.is_empty() {
                e.prevent_default();
                field.set(String::new());
            }
        })
    };
    let keys = PAD.iter().map(|(key, letters)| {
        let onclick = {
            let (field, error, key) = (field.clone(), error.clone(), *key);
            Callback::from(move |_| {
                field.set(format!("{}{key}", *field));
                error.set(None);
            })
        };
        // Digits are named by their visible text; the symbols get a word.
        let label = match *key {
            "*" => Some(tr(lang, "keyStar", &[])),
            "#" => Some(tr(lang, "keyPound", &[])),
            _ => None,
        };
        html! {
            <button type="button" class="pad-key" data-key={*key} aria-label={label} {onclick}>
                <span class="digit">{ *key }</span>
                <span class="letters" aria-hidden="true">{ *letters }</span>
            </button>
        }
    });
    let result_items = results.iter().map(|entry| {
        let number = entry.number.clone();
        let onclick = {
            let (error, number) = (error.clone(), number.clone());
            Callback::from(move |_| place_call(number.clone(), error.clone()))
        };
        let name = entry.name.clone().unwrap_or_default();
        html! {
            <li>
                <button type="button" class="result" data-number={number.clone()}
                    aria-label={tr(lang, "callName", &[if name.is_empty() { number.as_str() } else { name.as_str() }, number.as_str()])}
                    {onclick}>
                    <span class="name">{ if name.is_empty() { number.clone() } else { name.clone() } }</span>
                    if !name.is_empty() {
                        <span class="number">{ number.clone() }</span>
                    }
                </button>
            </li>
        }
    });
    let backspace = {
        let field = field.clone();
        Callback::from(move |_| {
            let mut text = (*field).clone();
            text.pop();
            field.set(text);
            focus("dial-input");
        })
    };
    html! {
        <form id="dial-form" class="dial" {onsubmit} aria-label={tr(lang, "tabDial", &[])}>
            <div class="dial-field">
                <label for="dial-input" class="visually-hidden">{ tr(lang, "labelDialInput", &[]) }</label>
                <input id="dial-input" type="text" inputmode="tel" autocomplete="off" spellcheck="false"
                    placeholder={tr(lang, "placeholderDial", &[])}
                    value={(*field).clone()}
                    aria-invalid={if error.is_some() { "true" } else { "false" }}
                    aria-describedby={error.map(|_| "dial-error")}
                    {oninput} {onpaste} {onkeydown} />
                <button id="dial-backspace" type="button" class="icon secondary" aria-label={tr(lang, "buttonBackspace", &[])}
                    onclick={backspace} disabled={field.is_empty()}>{ "⌫" }</button>
            </div>
            if let Some(key) = *error {
                <p id="dial-error" class="form-error" role="alert">{ tr(lang, key, &[]) }</p>
            }
            if !results.is_empty() {
                <ul id="dial-results" class="results" aria-label={tr(lang, "searchResults", &[])}>
                    { for result_items }
                </ul>
            }
            <div class="pad" role="group" aria-label={tr(lang, "dialPad", &[])}>
                { for keys }
            </div>
            <div class="call-buttons">
                <button id="dial-call" type="submit" class="call-button" aria-label={tr(lang, "buttonCall", &[])}>
                    { tr(lang, "buttonCall", &[]) }
                </button>
                <button id="dial-video" type="button" class="call-button video" onclick={video_call}>
                    { tr(lang, "buttonVideoCall", &[]) }
                </button>
            </div>
        </form>
    }
}
