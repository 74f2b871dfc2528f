//! The Function keys screen: a grid of up to 120 keys with live state (BLF,
//! park, voicemail, agent) whose click the worker turns into the key's
//! action. The editor is on the options page (options/).
//!
//! The keys are the worker's (`get_keys`); their states arrive in every
//! snapshot.

use ringside::function_keys::{FunctionKey, MAX_KEYS};
use ringside::protocol::popup::PopupKeysReply;
use ringside::settings::Language;
use ringside::ui_keys::{key_face, press_key, state_of, KeyFace};
use ringside_ui::keys::{value_text, Notice};
use web_sys::KeyboardEvent;
use yew::prelude::*;

use crate::i18n::{tr, use_language};
use crate::{chrome, focus, ScreenProps};

/// Columns of the grid, for the arrow keys (the stylesheet uses the same).
const COLUMNS: usize = 3;

fn tooltip(lang: Language, key: &FunctionKey, face: &KeyFace) -> String {
    let mut parts = vec![
        key.shown_label().to_owned(),
        format!(
            "{} {}",
            tr(lang, key.kind.message_key(), &[]),
            value_text(lang, key)
        ),
    ];
    if let Some(state) = face.state_key {
        parts.push(tr(lang, state, &[]));
    }
    if let Some(status) = face.status {
        parts.push(tr(lang, status.message_key(), &[]));
    }
    if let (Some(old), true) = (face.old, face.state_key.is_some()) {
        parts.push(tr(
            lang,
            "mwiCounts",
            &[&face.count.unwrap_or(0).to_string(), &old.to_string()],
        ));
    }
    if let Some(peer) = &face.peer {
        parts.push(tr(lang, "keyPeer", &[peer]));
    }
    parts.push(tr(lang, press_key(key.kind, face), &[]));
    parts.join(" · ")
}

#[function_component(KeysScreen)]
pub fn keys_screen(props: &ScreenProps) -> Html {
    let lang = use_language();
    let config = use_state(|| None::<Vec<FunctionKey>>);
    let notice = use_state(|| None::<Notice>);
    // The grid's one tab stop (roving tabindex).
    let current = use_state(|| 0usize);
    {
        let (config, notice) = (config.clone(), notice.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match chrome::get_keys().await {
                    Some(PopupKeysReply::Keys { keys }) => config.set(Some(keys)),
                    _ => notice.set(Notice::error("errWorkerUnavailable", String::new())),
                }
            });
        });
    }
    let Some(keys_list) = (*config).clone() else {
        return html! {
            <div class="keys">
                if let Some(n) = &*notice {
                    <p class="form-error" role="alert">{ tr(lang, n.key, &[&n.arg]) }</p>
                }
            </div>
        };
    };
    let states = props
        .ui
        .snapshot
        .as_ref()
        .map(|s| s.keys.clone())
        .unwrap_or_default();

    let body = if keys_list.is_empty() {
        html! { <p id="keys-empty" class="empty">{ tr(lang, "keysEmpty", &[]) }</p> }
    } else {
        let onkeydown = {
            let (current, n) = (current.clone(), keys_list.len());
            Callback::from(move |e: KeyboardEvent| {
                let at = (*current).min(n.saturating_sub(1));
                let next = match e.key().as_str() {
                    "ArrowRight" => (at + 1).min(n - 1),
                    "ArrowLeft" => at.saturating_sub(1),
                    "ArrowDown" => (at + COLUMNS).min(n - 1),
                    "ArrowUp" => at.saturating_sub(COLUMNS),
                    "Home" => 0,
                    "End" => n - 1,
                    _ => return,
                };
                e.prevent_default();
                current.set(next);
                focus(&format!("fkey-{next}"));
            })
        };
        let keys = keys_list.iter().enumerate().map(|(i, key)| {
            let face = key_face(key, state_of(&states, key.id));
            let onclick = {
                let (notice, current, id) = (notice.clone(), current.clone(), key.id);
                Callback::from(move |_| {
                    current.set(i);
                    let notice = notice.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let reply = chrome::request_press(id).await;
                        notice.set(
                            crate::dial::command_error_key(&reply)
                                .and_then(|k| Notice::error(k, String::new())),
                        );
                    });
                })
            };
            let tabindex = if i == (*current).min(keys_list.len() - 1) {
                "0"
            } else {
                "-1"
            };
            let state_text = face.state_key.map(|k| tr(lang, k, &[]));
            html! {
                <button type="button" class="fkey" id={format!("fkey-{i}")} {tabindex}
                    data-key-id={key.id.to_string()} data-kind={key.kind.as_str()}
                    data-state={face.state} data-status={face.status.map(|s| s.as_str())}
                    title={tooltip(lang, key, &face)} {onclick}>
                    <span class="lamp" aria-hidden="true"></span>
                    <span class="key-label">{ key.shown_label() }</span>
                    if let Some(count) = face.count {
                        <span class="badge">{ count }</span>
                    }
                    if let Some(state) = state_text {
                        <span class="visually-hidden">{ format!(", {state}") }</span>
                    }
                </button>
            }
        });
        html! {
            <div id="key-grid" class="key-grid" role="toolbar"
                aria-label={tr(lang, "tabFunctionKeys", &[])} {onkeydown}>
                { for keys }
            </div>
        }
    };
    html! {
        <div class="keys">
            <div class="keys-bar">
                <button id="keys-edit" type="button" class="secondary"
                    onclick={Callback::from(|_| chrome::open_options())}>{ tr(lang, "keysEditButton", &[]) }</button>
                <span class="muted" id="keys-count">{ tr(lang, "keysCount", &[&keys_list.len().to_string(), &MAX_KEYS.to_string()]) }</span>
            </div>
            { body }
            if let Some(n) = &*notice {
                <p id="keys-notice" class={if n.error { "form-error" } else { "notice" }}
                    role={if n.error { "alert" } else { "status" }}>{ tr(lang, n.key, &[&n.arg]) }</p>
            }
        </div>
    }
}

