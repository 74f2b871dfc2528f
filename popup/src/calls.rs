//! The Calls screen: every call in the snapshot with its identity, state,
//! timer and controls. Each control is a request to the worker; what the
//! call does next shows in the next snapshot.

use gloo_timers::callback::Interval;
use ringside::protocol::calls::{CallDirection, CallPhase, CallView};
use ringside::protocol::Request;
use ringside::ui_state::{call_phase_key, call_seconds, format_duration};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::dial::command_error_key;
use crate::i18n::{tr, use_language};
use crate::{chrome, ScreenProps};

fn send(request: Request, error: UseStateHandle<Option<&'static str>>) {
    wasm_bindgen_futures::spawn_local(async move {
        let reply = chrome::request(&request).await;
        error.set(command_error_key(&reply));
    });
}

/// The wall clock, re-read every second for the call timers.
#[hook]
pub fn use_now() -> f64 {
    let now = use_state(chrome::now_ms);
    {
        let now = now.clone();
        use_effect_with((), move |_| {
            let interval = Interval::new(1000, move || now.set(chrome::now_ms()));
            move || drop(interval)
        });
    }
    *now
}

#[function_component(CallsScreen)]
pub fn calls_screen(props: &ScreenProps) -> Html {
    let lang = use_language();
    let now = use_now();
    let calls = props.ui.live_calls();
    if calls.is_empty() {
        return html! { <p id="calls-empty" class="empty">{ tr(lang, "callsEmpty", &[]) }</p> };
    }
    let others: Vec<CallView> = calls.iter().map(|c| (*c).clone()).collect();
    html! {
        <ul id="call-list" class="calls" aria-label={tr(lang, "tabCalls", &[])}>
            { for calls.iter().map(|call| html! {
                <CallItem call={(*call).clone()} others={others.clone()} {now} />
            }) }
        </ul>
    }
}

#[derive(Properties, PartialEq)]
pub struct CallProps {
    pub call: CallView,
    /// Every live call (for merge, swap and attended transfer).
    pub others: Vec<CallView>,
    pub now: f64,
}

/// One call with its controls; also the call window's content.
#[function_component(CallItem)]
pub fn call_item(props: &CallProps) -> Html {
    let lang = use_language();
    let error = use_state(|| None::<&'static str>);
    let keypad = use_state(|| false);
    let transfer = use_state(|| None::<String>);
    let call = &props.call;
    let id = call.id;
    let button = |key: &'static str, class: &'static str, request: Request| {
        let error = error.clone();
        html! {
            <button type="button" class={classes!("control", class)} data-control={class}
                onclick={Callback::from(move |_| send(request.clone(), error.clone()))}>
                { tr(lang, key, &[]) }
            </button>
        }
    };
    let toggle = |key: &'static str, class: &'static str, pressed: bool, request: Request| {
        let error = error.clone();
        html! {
            <button type="button" class={classes!("control", class)} data-control={class}
                aria-pressed={if pressed { "true" } else { "false" }}
                onclick={Callback::from(move |_| send(request.clone(), error.clone()))}>
                { tr(lang, key, &[]) }
            </button>
        }
    };
    let other = props.others.iter().find(|c| c.id != id);
    let ringing_in = call.direction == CallDirection::Incoming && call.state == CallPhase::Ringing;
    let established = matches!(call.state, CallPhase::Active | CallPhase::Held);
    let name = call.name.clone().unwrap_or_else(|| call.number.clone());
    let controls = if ringing_in {
        html! {
            <>
                if call.video {
                    { button("buttonAnswerVideo", "answer-video", Request::Answer { call: id, end_others: false, video: true }) }
                    { button("buttonAnswerAudio", "answer", Request::Answer { call: id, end_others: false, video: false }) }
                } else {
                    { button("buttonAnswer", "answer", Request::Answer { call: id, end_others: false, video: false }) }
                }
                { button("buttonDecline", "decline", Request::Decline { call: id, busy: false }) }
                { button("buttonVoicemail", "voicemail", Request::SendToVoicemail { call: id }) }
            </>
        }
    } else {
        html! {
            <>
                { button("buttonHangup", "hangup", Request::Hangup { call: id }) }
                if established {
                    { if call.state == CallPhase::Held {
                        toggle("buttonHold", "hold", true, Request::Resume { call: id })
                    } else {
                        toggle("buttonHold", "hold", false, Request::Hold { call: id })
                    } }
                    { toggle("buttonMute", "mute", call.muted, Request::Mute { call: id, muted: !call.muted }) }
                    if call.video {
                        { button("buttonSwitchToAudio", "switch-audio", Request::StopVideo { call: id }) }
                    }
                    <button type="button" class="control keypad" data-control="keypad"
                        aria-pressed={if *keypad { "true" } else { "false" }}
                        onclick={{ let keypad = keypad.clone(); Callback::from(move |_| keypad.set(!*keypad)) }}>
                        { tr(lang, "buttonKeypad", &[]) }
                    </button>
                    <button type="button" class="control transfer" data-control="transfer"
                        aria-pressed={if transfer.is_some() { "true" } else { "false" }}
                        onclick={{ let transfer = transfer.clone(); Callback::from(move |_| {
                            transfer.set(if transfer.is_some() { None } else { Some(String::new()) })
                        }) }}>
                        { tr(lang, "buttonTransfer", &[]) }
                    </button>
                    { button("buttonPark", "park", Request::Park { call: id }) }
                    if let Some(other) = other {
                        { button("buttonMerge", "merge", Request::Merge { call: id, with: other.id }) }
                        if call.state == CallPhase::Held {
                            { button("buttonSwap", "swap", Request::Swap { call: id }) }
                        }
                    }
                }
            </>
        }
    };
    let keypad_view = if *keypad && established {
        html! {
            <div class="pad small" role="group" aria-label={tr(lang, "dialPad", &[])}>
                { for ["1","2","3","4","5","6","7","8","9","*","0","#"].iter().map(|d| {
                    let error = error.clone();
                    let digits = (*d).to_owned();
                    html! {
                        <button type="button" class="pad-key" data-dtmf={*d}
                            onclick={Callback::from(move |_| send(Request::Dtmf { call: id, digits: digits.clone() }, error.clone()))}>
                            { *d }
                        </button>
                    }
                }) }
            </div>
        }
    } else {
        html! {}
    };
    let transfer_view = match (&*transfer, established) {
        (Some(target), true) => {
            let input_id = format!("transfer-{id}");
            let onsubmit = {
                let (error, target, transfer) = (error.clone(), target.clone(), transfer.clone());
                Callback::from(move |e: SubmitEvent| {
                    e.prevent_default();
                    send(
                        Request::TransferBlind {
                            call: id,
                            target: target.clone(),
                        },
                        error.clone(),
                    );
                    transfer.set(None);
                })
            };
            let attended = other.map(|other| {
                let (error, consult) = (error.clone(), other.id);
                html! {
                    <button type="button" class="secondary" data-control="transfer-attended"
                        onclick={Callback::from(move |_| send(Request::TransferAttended { call: id, consult }, error.clone()))}>
                        { tr(lang, "buttonTransferToOther", &[&other.name.clone().unwrap_or_else(|| other.number.clone())]) }
                    </button>
                }
            });
            html! {
                <form class="transfer-form" {onsubmit}>
                    <label for={input_id.clone()}>{ tr(lang, "labelTransferTarget", &[]) }</label>
                    <input id={input_id} type="text" inputmode="tel" value={target.clone()}
                        oninput={{ let transfer = transfer.clone(); Callback::from(move |e: InputEvent| {
                            let input: HtmlInputElement = e.target_unchecked_into();
                            transfer.set(Some(input.value()));
                        }) }} />
                    <button type="submit">{ tr(lang, "buttonTransferNow", &[]) }</button>
                    { for attended }
                </form>
            }
        }
        _ => html! {},
    };
    let seconds = call_seconds(call, props.now);
    html! {
        <li class="call" data-call-id={id.to_string()} data-state={phase_name(call.state)}
            aria-label={name.clone()}>
            <div class="call-head">
                <span class="name">{ name.clone() }</span>
                if call.name.is_some() {
                    <span class="number">{ call.number.clone() }</span>
                }
            </div>
            <div class="call-meta">
                <span class="phase">{ tr(lang, call_phase_key(call.state), &[]) }</span>
                if call.video {
                    <span class="flag video">{ tr(lang, "flagVideo", &[]) }</span>
                }
                if call.muted {
                    <span class="flag">{ tr(lang, "flagMuted", &[]) }</span>
                }
                if call.remote_hold {
                    <span class="flag">{ tr(lang, "flagRemoteHold", &[]) }</span>
                }
                if call.reconnecting {
                    <span class="flag" role="status">{ tr(lang, "flagReconnecting", &[]) }</span>
                }
                <span class="timer" role="timer" aria-label={tr(lang, "callTimer", &[])}>{ format_duration(seconds) }</span>
            </div>
            <div class="controls" role="group" aria-label={tr(lang, "callControls", &[&name])}>
                { controls }
            </div>
            { keypad_view }
            { transfer_view }
            if let Some(key) = *error {
                <p class="form-error" role="alert">{ tr(lang, key, &[]) }</p>
            }
        </li>
    }
}

/// The `data-state` attribute (the wire name): tests and styles select on it.
fn phase_name(phase: CallPhase) -> &'static str {
    match phase {
        CallPhase::Dialing => "dialing",
        CallPhase::Early => "early",
        CallPhase::Ringing => "ringing",
        CallPhase::Active => "active",
        CallPhase::Held => "held",
        CallPhase::Ended => "ended",
    }
}
