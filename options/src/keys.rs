//! Options page → Function keys: the editor of the popup's key grid (add,
//! edit, move, delete, export, import).
//!
//! The keys are the worker's (`get_keys`/`set_keys`). Each change is sent at
//! once, so nothing is lost when the page closes; a refusal is shown and the
//! list stays as the worker has it.

use std::rc::Rc;

use ringside::function_keys::{
    FunctionKey, IntercomMode, KeyConfig, KeyKind, KeySettings, PickupMode, MAX_KEYS,
    MAX_LABEL_CHARS, MAX_VALUE_CHARS,
};
use ringside::presence::Status;
use ringside::protocol::keys::{KeysReply, KeysRequest};
use ringside::settings::Language;
use ringside::ui_edit::{apply_edit, ListEdit};
use ringside::ui_keys::{change_kind, new_key, value_label_key};
use ringside_ui::i18n::{tr, use_language};
use ringside_ui::keys::{key_number, value_text, Notice};
use ringside_ui::{chrome, focus};
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, KeyboardEvent};
use yew::prelude::*;

/// The key being added (`index` None) or edited, with the shared settings
/// its type's options change.
#[derive(Clone, PartialEq)]
struct Draft {
    index: Option<usize>,
    key: FunctionKey,
    settings: KeySettings,
}

/// Send a new configuration; on success it becomes the shown one.
fn save(
    next: KeyConfig,
    config: UseStateHandle<Option<KeyConfig>>,
    notice: UseStateHandle<Option<Notice>>,
    on_saved: impl FnOnce() + 'static,
    on_refused: impl FnOnce(Notice) + 'static,
) {
    wasm_bindgen_futures::spawn_local(async move {
        match chrome::request_keys(&KeysRequest::SetKeys { config: next }).await {
            Some(KeysReply::Keys { config: stored }) => {
                config.set(Some(stored));
                notice.set(Notice::info("keysSaved"));
                on_saved();
            }
            Some(KeysReply::Invalid { error }) => {
                on_refused(Notice {
                    key: error.message_key(),
                    arg: key_number(error.index()),
                    error: true,
                });
            }
            _ => on_refused(Notice {
                key: "errWorkerUnavailable",
                arg: String::new(),
                error: true,
            }),
        }
    });
}

#[function_component(KeysEditor)]
pub fn keys_editor() -> Html {
    let lang = use_language();
    let config = use_state(|| None::<KeyConfig>);
    let draft = use_state(|| None::<Draft>);
    let notice = use_state(|| None::<Notice>);
    {
        let (config, notice) = (config.clone(), notice.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match chrome::request_keys(&KeysRequest::GetKeys).await {
                    Some(KeysReply::Keys { config: loaded }) => config.set(Some(loaded)),
                    _ => notice.set(Notice::error("errWorkerUnavailable", String::new())),
                }
            });
        });
    }
    let notice_line = html! {
        if let Some(n) = &*notice {
            <p id="keys-notice" class={if n.error { "form-error" } else { "notice" }}
                role={if n.error { "alert" } else { "status" }}>{ tr(lang, n.key, &[&n.arg]) }</p>
        }
    };
    let Some(cfg) = (*config).clone() else {
        return html! { <div class="keys">{ notice_line }</div> };
    };
    let open_draft = {
        let (draft, cfg) = (draft.clone(), cfg.clone());
        move |index: Option<usize>| {
            let (draft, cfg) = (draft.clone(), cfg.clone());
            Callback::from(move |_: MouseEvent| {
                let key = match index.and_then(|i| cfg.keys.get(i)) {
                    Some(key) => key.clone(),
                    None => new_key(&cfg, KeyKind::Blf),
                };
                draft.set(Some(Draft {
                    index,
                    key,
                    settings: cfg.settings.clone(),
                }));
                focus("key-kind");
            })
        }
    };
    let edit_list = {
        let (config, notice, cfg) = (config.clone(), notice.clone(), cfg.clone());
        move |edit: ListEdit<FunctionKey>, focus_id: String| {
            let (config, notice) = (config.clone(), notice.clone());
            let next = KeyConfig {
                keys: apply_edit(&cfg.keys, edit, MAX_KEYS),
                settings: cfg.settings.clone(),
            };
            let refused = notice.clone();
            save(
                next,
                config,
                notice,
                move || focus(&focus_id),
                move |n| refused.set(Some(n)),
            );
        }
    };
    html! {
        <div class="keys">
            <p class="muted" id="keys-count">{ tr(lang, "keysCount", &[&cfg.keys.len().to_string(), &MAX_KEYS.to_string()]) }</p>
            if let Some(d) = &*draft {
                <KeyForm draft={d.clone()} config={cfg.clone()} config_handle={config.clone()}
                    notice={notice.clone()} close={{
                        let draft = draft.clone();
                        Callback::from(move |_| draft.set(None))
                    }} />
            } else {
                { editor_list(lang, &cfg, &open_draft, &edit_list) }
                <div class="row">
                    <button id="keys-add" type="button" disabled={cfg.keys.len() >= MAX_KEYS}
                        onclick={open_draft(None)}>{ tr(lang, "keysAdd", &[]) }</button>
                </div>
                <div class="row">
                    <button id="keys-export" type="button" class="secondary"
                        onclick={export(notice.clone())}>{ tr(lang, "keysExport", &[]) }</button>
                    <button id="keys-import" type="button" class="secondary" onclick={Callback::from(|_| {
                        if let Some(input) = web_sys::window()
                            .and_then(|w| w.document())
                            .and_then(|d| d.get_element_by_id("keys-import-file"))
                            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                        {
                            input.click();
                        }
                    })}>{ tr(lang, "keysImport", &[]) }</button>
                    <input id="keys-import-file" type="file" accept=".json,application/json"
                        class="visually-hidden" tabindex="-1" aria-hidden="true"
                        onchange={import(config.clone(), notice.clone())} />
                </div>
            }
            { notice_line }
        </div>
    }
}

/// The editor's list: each key with edit, move up/down and delete.
fn editor_list(
    lang: Language,
    cfg: &KeyConfig,
    open_draft: &impl Fn(Option<usize>) -> Callback<MouseEvent>,
    edit_list: &(impl Fn(ListEdit<FunctionKey>, String) + Clone + 'static),
) -> Html {
    let n = cfg.keys.len();
    let rows = cfg.keys.iter().enumerate().map(|(i, key)| {
        let label = key.shown_label().to_owned();
        let edit = |edit: ListEdit<FunctionKey>, focus_id: String| {
            let edit_list = edit_list.clone();
            Callback::from(move |_: MouseEvent| edit_list(edit.clone(), focus_id.clone()))
        };
        // Focus stays with the moved key's button (or its other arrow at an end).
        let up_focus = if i > 1 { format!("key-up-{}", i - 1) } else { "key-down-0".to_owned() };
        let down_focus = if i + 2 < n { format!("key-down-{}", i + 1) } else { format!("key-up-{}", i + 1) };
        let delete_focus = if n <= 1 {
            "keys-add".to_owned()
        } else {
            format!("key-edit-{}", i.min(n - 2))
        };
        html! {
            <li class="key-row" data-key-id={key.id.to_string()} data-kind={key.kind.as_str()}>
                <span class="key-text">
                    <span class="key-label">{ label.clone() }</span>
                    <span class="muted">{ format!("{} · {}", tr(lang, key.kind.message_key(), &[]), value_text(lang, key)) }</span>
                </span>
                <span class="row small">
                    <button type="button" class="secondary key-edit" id={format!("key-edit-{i}")}
                        aria-label={tr(lang, "keyEditFor", &[&label])}
                        onclick={open_draft(Some(i))}>{ tr(lang, "buttonEdit", &[]) }</button>
                    <button type="button" class="secondary key-up" id={format!("key-up-{i}")}
                        aria-label={tr(lang, "keyUpFor", &[&label])} disabled={i == 0}
                        onclick={edit(ListEdit::MoveUp(i), up_focus)}>{ "↑" }</button>
                    <button type="button" class="secondary key-down" id={format!("key-down-{i}")}
                        aria-label={tr(lang, "keyDownFor", &[&label])} disabled={i + 1 == n}
                        onclick={edit(ListEdit::MoveDown(i), down_focus)}>{ "↓" }</button>
                    <button type="button" class="secondary danger key-delete" id={format!("key-delete-{i}")}
                        aria-label={tr(lang, "keyDeleteFor", &[&label])}
                        onclick={edit(ListEdit::Delete(i), delete_focus)}>{ tr(lang, "buttonDelete", &[]) }</button>
                </span>
            </li>
        }
    });
    if n == 0 {
        return html! { <p id="keys-empty" class="empty">{ tr(lang, "keysEmptyEditor", &[]) }</p> };
    }
    html! {
        <ol id="key-list" class="key-list" aria-label={tr(lang, "tabFunctionKeys", &[])}>{ for rows }</ol>
    }
}

/// Download the worker's export as `ringside-function-keys.json`.
fn export(notice: UseStateHandle<Option<Notice>>) -> Callback<MouseEvent> {
    Callback::from(move |_| {
        let notice = notice.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let Some(KeysReply::Exported { json }) =
                chrome::request_keys(&KeysRequest::ExportKeys).await
            else {
                notice.set(Notice::error("errWorkerUnavailable", String::new()));
                return;
            };
            // A data: URL on a temporary link: no Blob/URL bindings needed.
            let href = format!(
                "data:application/json;charset=utf-8,{}",
                js_sys::encode_uri_component(&json)
            );
            let link = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.create_element("a").ok())
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(link) = link {
                let _ = link.set_attribute("href", &href);
                let _ = link.set_attribute("download", "ringside-function-keys.json");
                link.click();
                notice.set(Notice::info("keysExported"));
            }
        });
    })
}

/// `input.files[0].text()`, through Reflect: the only use of the File API
/// does not justify its web-sys bindings.
fn file_text(input: &HtmlInputElement) -> Option<js_sys::Promise> {
    let get = |target: &wasm_bindgen::JsValue, key: wasm_bindgen::JsValue| {
        js_sys::Reflect::get(target, &key)
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    };
    let file = get(&get(input, "files".into())?, 0.into())?;
    let text: js_sys::Function = get(&file, "text".into())?.dyn_into().ok()?;
    text.call0(&file).ok()?.dyn_into().ok()
}

/// Read the picked file and let the worker import it.
fn import(
    config: UseStateHandle<Option<KeyConfig>>,
    notice: UseStateHandle<Option<Notice>>,
) -> Callback<Event> {
    Callback::from(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        let Some(promise) = file_text(&input) else {
            return;
        };
        // The same file picked again must fire `change` again.
        input.set_value("");
        let (config, notice) = (config.clone(), notice.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(promise)
                .await
                .ok()
                .and_then(|t| t.as_string());
            let Some(json) = text else {
                notice.set(Notice::error("errImportRead", String::new()));
                return;
            };
            match chrome::request_keys(&KeysRequest::ImportKeys { json }).await {
                Some(KeysReply::Keys { config: stored }) => {
                    let n = stored.keys.len().to_string();
                    config.set(Some(stored));
                    notice.set(Some(Notice {
                        key: "keysImported",
                        arg: n,
                        error: false,
                    }));
                }
                Some(KeysReply::ImportFailed { error }) => {
                    let index = match &error {
                        ringside::function_keys::ImportError::Invalid { reason } => reason.index(),
                        _ => None,
                    };
                    notice.set(Notice::error(error.message_key(), key_number(index)));
                }
                _ => notice.set(Notice::error("errWorkerUnavailable", String::new())),
            }
        });
    })
}

#[derive(Properties, Clone, PartialEq)]
struct KeyFormProps {
    draft: Draft,
    config: KeyConfig,
    config_handle: UseStateHandle<Option<KeyConfig>>,
    notice: UseStateHandle<Option<Notice>>,
    close: Callback<()>,
}

fn value_of(e: &Event) -> String {
    match e.target_dyn_into::<HtmlSelectElement>() {
        Some(select) => select.value(),
        None => e.target_unchecked_into::<HtmlInputElement>().value(),
    }
}

/// Add or edit one key: type, label, value and the type's options.
#[function_component(KeyForm)]
fn key_form(props: &KeyFormProps) -> Html {
    let lang = use_language();
    let draft = use_state(|| props.draft.clone());
    let error = use_state(|| None::<Notice>);
    // Text fields follow `input`, not `change`: a click on Save must see
    // what was just typed.
    let set = |f: fn(&mut Draft, String)| {
        let draft = draft.clone();
        Callback::from(move |e: Event| {
            let mut next = (*draft).clone();
            f(&mut next, value_of(&e));
            draft.set(next);
        })
    };
    let on_kind = set(|d, v| {
        if let Some(kind) = KeyKind::ALL.into_iter().find(|k| k.as_str() == v) {
            d.key = change_kind(&d.key, kind);
        }
    });
    let on_label = set(|d, v| d.key.label = v);
    let on_value = set(|d, v| d.key.value = v);
    let onsubmit = {
        let (draft, error) = (draft.clone(), error.clone());
        let (config, handle, notice, close) = (
            props.config.clone(),
            props.config_handle.clone(),
            props.notice.clone(),
            props.close.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let d = (*draft).clone();
            let edit = match d.index {
                Some(i) => ListEdit::Replace(i, d.key.clone()),
                None => ListEdit::Add(d.key.clone()),
            };
            let keys = apply_edit(&config.keys, edit, MAX_KEYS);
            let position = d.index.unwrap_or(keys.len().saturating_sub(1));
            let next = KeyConfig {
                keys,
                settings: d.settings.clone(),
            };
            let close = close.clone();
            let error = error.clone();
            save(
                next,
                handle.clone(),
                notice.clone(),
                move || {
                    close.emit(());
                    focus(&format!("key-edit-{position}"));
                },
                move |n| {
                    error.set(Some(n));
                    focus("key-value");
                },
            );
        })
    };
    let cancel: Rc<dyn Fn()> = {
        let close = props.close.clone();
        let back = props
            .draft
            .index
            .map_or("keys-add".to_owned(), |i| format!("key-edit-{i}"));
        Rc::new(move || {
            close.emit(());
            focus(&back);
        })
    };
    let onkeydown = {
        let cancel = cancel.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                cancel();
            }
        })
    };
    let cancel = Callback::from(move |_: MouseEvent| cancel());
    let d = &*draft;
    let kind = d.key.kind;
    let title = if d.index.is_some() {
        tr(lang, "keyFormEdit", &[])
    } else {
        tr(lang, "keyFormAdd", &[])
    };
    let invalid = error.is_some();
    html! {
        <form id="key-form" class="key-form" aria-labelledby="key-form-title" {onsubmit} {onkeydown}>
            <h2 id="key-form-title">{ title }</h2>
            <div class="field">
                <label for="key-kind">{ tr(lang, "keyType", &[]) }</label>
                <select id="key-kind" onchange={on_kind}>
                    { for KeyKind::ALL.iter().map(|k| html! {
                        <option value={k.as_str()} selected={*k == kind}>{ tr(lang, k.message_key(), &[]) }</option>
                    }) }
                </select>
            </div>
            <div class="field">
                <label for="key-label">{ tr(lang, "keyLabel", &[]) }</label>
                <input id="key-label" type="text" maxlength={MAX_LABEL_CHARS.to_string()}
                    value={d.key.label.clone()} oninput={on_label.reform(Event::from)} />
            </div>
            <div class="field">
                <label for="key-value">{ tr(lang, value_label_key(kind), &[]) }</label>
                if kind == KeyKind::SetStatus {
                    <select id="key-value" onchange={on_value}>
                        { for Status::ALL.iter().map(|s| html! {
                            <option value={s.as_str()} selected={s.as_str() == d.key.value}>{ tr(lang, s.message_key(), &[]) }</option>
                        }) }
                    </select>
                } else {
                    <input id="key-value" type="text" required=true maxlength={MAX_VALUE_CHARS.to_string()}
                        aria-invalid={if invalid { "true" } else { "false" }}
                        aria-describedby={invalid.then_some("key-form-error")}
                        value={d.key.value.clone()} oninput={on_value.reform(Event::from)} />
                }
            </div>
            { kind_options(lang, kind, &draft) }
            if let Some(n) = &*error {
                <p id="key-form-error" class="form-error" role="alert">{ tr(lang, n.key, &[&n.arg]) }</p>
            }
            <div class="row">
                <button id="key-save" type="submit">{ tr(lang, "buttonSaveShort", &[]) }</button>
                <button id="key-cancel" type="button" class="secondary" onclick={cancel}>{ tr(lang, "buttonCancel", &[]) }</button>
            </div>
        </form>
    }
}

/// The options of a key's type. They are shared by every key of the type
/// (a PBX has one pickup code), so they live in the key settings.
fn kind_options(lang: Language, kind: KeyKind, draft: &UseStateHandle<Draft>) -> Html {
    let text =
        |id: &'static str, label: &'static str, value: &str, f: fn(&mut KeySettings, String)| {
            let draft = draft.clone();
            let onchange = Callback::from(move |e: Event| {
                let mut next = (*draft).clone();
                f(&mut next.settings, value_of(&e).trim().to_owned());
                draft.set(next);
            });
            html! {
                <div class="field">
                    <label for={id}>{ tr(lang, label, &[]) }</label>
                    <input {id} type="text" inputmode="tel" maxlength="16" value={value.to_owned()}
                        oninput={onchange.reform(Event::from)} />
                </div>
            }
        };
    let s = &draft.settings;
    match kind {
        KeyKind::Blf => {
            let on_mode = {
                let draft = draft.clone();
                Callback::from(move |e: Event| {
                    let mut next = (*draft).clone();
                    next.settings.pickup = if value_of(&e) == "feature_code" {
                        PickupMode::FeatureCode
                    } else {
                        PickupMode::Replaces
                    };
                    draft.set(next);
                })
            };
            let on_presence = {
                let draft = draft.clone();
                Callback::from(move |e: Event| {
                    let mut next = (*draft).clone();
                    next.settings.blf_presence =
                        e.target_unchecked_into::<HtmlInputElement>().checked();
                    draft.set(next);
                })
            };
            html! {
                <fieldset class="key-options">
                    <legend>{ tr(lang, "keyOptionsBlf", &[]) }</legend>
                    <div class="field">
                        <label for="key-pickup">{ tr(lang, "keyPickupMode", &[]) }</label>
                        <select id="key-pickup" onchange={on_mode}>
                            <option value="replaces" selected={s.pickup == PickupMode::Replaces}>{ tr(lang, "pickupReplaces", &[]) }</option>
                            <option value="feature_code" selected={s.pickup == PickupMode::FeatureCode}>{ tr(lang, "pickupFeatureCode", &[]) }</option>
                        </select>
                    </div>
                    if s.pickup == PickupMode::FeatureCode {
                        { text("key-pickup-code", "keyPickupCode", &s.pickup_code, |s, v| s.pickup_code = v) }
                    }
                    <div class="check">
                        <input id="key-presence" type="checkbox" checked={s.blf_presence} onchange={on_presence} />
                        <label for="key-presence">{ tr(lang, "keyBlfPresence", &[]) }</label>
                    </div>
                </fieldset>
            }
        }
        KeyKind::Intercom => {
            let on_mode = {
                let draft = draft.clone();
                Callback::from(move |e: Event| {
                    let mut next = (*draft).clone();
                    next.settings.intercom = if value_of(&e) == "alert_info" {
                        IntercomMode::AlertInfo
                    } else {
                        IntercomMode::CallInfo
                    };
                    draft.set(next);
                })
            };
            html! {
                <fieldset class="key-options">
                    <legend>{ tr(lang, "keyOptionsIntercom", &[]) }</legend>
                    <div class="field">
                        <label for="key-intercom">{ tr(lang, "keyIntercomMode", &[]) }</label>
                        <select id="key-intercom" onchange={on_mode}>
                            <option value="call_info" selected={s.intercom == IntercomMode::CallInfo}>{ "Call-Info: answer-after=0" }</option>
                            <option value="alert_info" selected={s.intercom == IntercomMode::AlertInfo}>{ "Alert-Info: auto-answer" }</option>
                        </select>
                    </div>
                </fieldset>
            }
        }
        KeyKind::Voicemail | KeyKind::GroupVoicemail => html! {
            <fieldset class="key-options">
                <legend>{ tr(lang, "keyOptionsVoicemail", &[]) }</legend>
                { text("key-voicemail-code", "keyVoicemailCode", &s.voicemail_code, |s, v| s.voicemail_code = v) }
            </fieldset>
        },
        KeyKind::AgentLogin => html! {
            <fieldset class="key-options">
                <legend>{ tr(lang, "keyOptionsAgent", &[]) }</legend>
                { text("key-login-code", "keyAgentLoginCode", &s.agent_login_code, |s, v| s.agent_login_code = v) }
                { text("key-logout-code", "keyAgentLogoutCode", &s.agent_logout_code, |s, v| s.agent_logout_code = v) }
            </fieldset>
        },
        KeyKind::AgentPause => html! {
            <fieldset class="key-options">
                <legend>{ tr(lang, "keyOptionsAgent", &[]) }</legend>
                { text("key-pause-code", "keyAgentPauseCode", &s.agent_pause_code, |s, v| s.agent_pause_code = v) }
                { text("key-resume-code", "keyAgentResumeCode", &s.agent_resume_code, |s, v| s.agent_resume_code = v) }
            </fieldset>
        },
        KeyKind::SpeedDial | KeyKind::SetStatus | KeyKind::Park | KeyKind::Dtmf => html! {},
    }
}
