//! The History screen: all / incoming / outgoing / missed, time and
//! duration, click to call back, notes, delete one or all.

use ringside::history::{HistoryEntry, HistoryKind};
use ringside::protocol::popup::PopupReply;
use ringside::protocol::Request;
use ringside::ui_state::{filter_history, format_duration, history_kind_key, HistoryFilter};
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use crate::dial::{command_error_key, place_call};
use crate::header::format_time;
use crate::i18n::{tr, use_language};
use crate::{chrome, refresh_history, ScreenProps};

fn change(request: Request, props: &ScreenProps, error: UseStateHandle<Option<&'static str>>) {
    let dispatch = props.dispatch.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let reply = chrome::request(&request).await;
        error.set(match &reply {
            Ok(PopupReply::Ok) => None,
            other => command_error_key(other).or(Some("errCommandFailed")),
        });
        refresh_history(dispatch, true);
    });
}

#[function_component(HistoryScreen)]
pub fn history_screen(props: &ScreenProps) -> Html {
    let lang = use_language();
    let filter = use_state(HistoryFilter::default);
    let error = use_state(|| None::<&'static str>);
    let confirm_all = use_state(|| false);
    let editing = use_state(|| None::<(u64, String)>);
    // The user is looking at the history: missed calls are seen (the badge
    // clears), also ones that arrive while it is on screen.
    let missed = props.ui.snapshot.as_ref().map_or(0, |s| s.missed_calls);
    {
        let dispatch = props.dispatch.clone();
        use_effect_with(missed, move |_| refresh_history(dispatch, true));
    }
    let entries = props.ui.history.clone().unwrap_or_default();
    let shown = filter_history(&entries, *filter);

    let filters = HistoryFilter::ALL.iter().map(|f| {
        let onclick = {
            let (filter, f) = (filter.clone(), *f);
            Callback::from(move |_| filter.set(f))
        };
        html! {
            <button type="button" class="chip" id={format!("filter-{}", f.as_str())}
                aria-pressed={if *filter == *f { "true" } else { "false" }} {onclick}>
                { tr(lang, f.message_key(), &[]) }
            </button>
        }
    });
    let item = |entry: &HistoryEntry| {
        let id = entry.id;
        let name = entry.name.clone().unwrap_or_else(|| entry.number.clone());
        let call_back = {
            let (number, error) = (entry.number.clone(), error.clone());
            Callback::from(move |_| place_call(number.clone(), error.clone()))
        };
        let delete = {
            let (props, error) = (props.clone(), error.clone());
            Callback::from(move |_| {
                change(
                    Request::DeleteHistory {
                        ids: vec![id],
                        all: false,
                    },
                    &props,
                    error.clone(),
                )
            })
        };
        let edit = {
            let (editing, note) = (editing.clone(), entry.note.clone());
            Callback::from(move |_| editing.set(Some((id, note.clone()))))
        };
        let note_form = match &*editing {
            Some((edit_id, text)) if *edit_id == id => {
                let note_id = format!("note-{id}");
                let onsubmit = {
                    let (props, error, editing, text) =
                        (props.clone(), error.clone(), editing.clone(), text.clone());
                    Callback::from(move |e: SubmitEvent| {
                        e.prevent_default();
                        change(
                            Request::SetHistoryNote {
                                id,
                                note: text.clone(),
                            },
                            &props,
                            error.clone(),
                        );
                        editing.set(None);
                    })
                };
                html! {
                    <form class="note-form" {onsubmit}>
                        <label for={note_id.clone()}>{ tr(lang, "labelNote", &[]) }</label>
                        <textarea id={note_id} rows="2" maxlength="1000" value={text.clone()}
                            oninput={{ let editing = editing.clone(); Callback::from(move |e: InputEvent| {
                                let area: HtmlTextAreaElement = e.target_unchecked_into();
                                editing.set(Some((id, area.value())));
                            }) }} />
                        <div class="row">
                            <button type="submit" class="save-note">{ tr(lang, "buttonSaveNote", &[]) }</button>
                            <button type="button" class="secondary" onclick={{ let editing = editing.clone(); Callback::from(move |_| editing.set(None)) }}>
                                { tr(lang, "buttonCancel", &[]) }
                            </button>
                        </div>
                    </form>
                }
            }
            _ => html! {},
        };
        html! {
            <li class="entry" data-kind={kind_name(entry.kind)} data-id={id.to_string()}>
                <button type="button" class="callback" aria-label={tr(lang, "callName", &[&name, &entry.number])} onclick={call_back}>
                    <span class="name">{ name.clone() }</span>
                    <span class="meta">
                        { tr(lang, history_kind_key(entry.kind), &[]) }
                        { " · " }{ format_time(lang, entry.start) }
                        if entry.duration_s > 0 {
                            { " · " }{ format_duration(entry.duration_s) }
                        }
                    </span>
                </button>
                if !entry.note.is_empty() {
                    <p class="note">{ entry.note.clone() }</p>
                }
                <div class="row small">
                    <button type="button" class="secondary edit-note" onclick={edit}
                        aria-label={tr(lang, "buttonNoteFor", &[&name])}>{ tr(lang, "buttonNote", &[]) }</button>
                    <button type="button" class="secondary delete" onclick={delete}
                        aria-label={tr(lang, "buttonDeleteFor", &[&name])}>{ tr(lang, "buttonDelete", &[]) }</button>
                </div>
                { note_form }
            </li>
        }
    };
    let delete_all = {
        let (props, error, confirm_all) = (props.clone(), error.clone(), confirm_all.clone());
        Callback::from(move |_| {
            if *confirm_all {
                change(
                    Request::DeleteHistory {
                        ids: Vec::new(),
                        all: true,
                    },
                    &props,
                    error.clone(),
                );
                confirm_all.set(false);
            } else {
                confirm_all.set(true);
            }
        })
    };
    html! {
        <div class="history">
            <div class="chips" role="group" aria-label={tr(lang, "historyFilter", &[])}>
                { for filters }
            </div>
            if let Some(key) = *error {
                <p class="form-error" role="alert">{ tr(lang, key, &[]) }</p>
            }
            if shown.is_empty() {
                <p id="history-empty" class="empty">{ tr(lang, "historyEmpty", &[]) }</p>
            } else {
                <ul id="history-list" class="entries" aria-label={tr(lang, "tabHistory", &[])}>
                    { for shown.iter().map(|e| item(e)) }
                </ul>
                <button type="button" id="history-delete-all" class="secondary danger" onclick={delete_all}>
                    { tr(lang, if *confirm_all { "buttonDeleteAllConfirm" } else { "buttonDeleteAll" }, &[]) }
                </button>
            }
        </div>
    }
}

/// The `data-kind` attribute (the wire name): tests and styles select on it.
fn kind_name(kind: HistoryKind) -> &'static str {
    match kind {
        HistoryKind::Outgoing => "outgoing",
        HistoryKind::Incoming => "incoming",
        HistoryKind::Missed => "missed",
        HistoryKind::Rejected => "rejected",
        HistoryKind::Forwarded => "forwarded",
    }
}
