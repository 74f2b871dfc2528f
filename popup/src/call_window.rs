//! The call window (call.html?call=ID, opened by the worker for incoming
//! and active calls): the same call view and controls as the popup's Calls
//! screen, for one call, over the same snapshots.

use ringside::protocol::calls::{CallId, CallPhase};
use ringside::settings::Language;
use yew::prelude::*;

use crate::calls::{use_now, CallItem};
use crate::i18n::tr;
use crate::use_worker_state;

/// The `call` query parameter; `None` if absent or not a number.
pub fn call_from_location() -> Option<CallId> {
    let search = web_sys::window()?.location().search().ok()?;
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("call="))
        .and_then(|id| id.parse().ok())
}

#[derive(Properties, PartialEq)]
struct VideoStageProps {
    call: CallId,
}

/// The far end's video large, our camera small. The streams live in the
/// offscreen document; call.js attaches them to these elements by their
/// `data-call` / `data-stream` (a MediaStream cannot travel in a message).
/// Muted: the call's sound already plays in the offscreen document.
#[function_component(VideoStage)]
fn video_stage(props: &VideoStageProps) -> Html {
    let lang = crate::i18n::use_language();
    let call = props.call.to_string();
    html! {
        <div class="video-stage">
            <video id="remote-video" class="remote-video" data-call={call.clone()} data-stream="remote"
                autoplay=true muted=true playsinline=true aria-label={tr(lang, "labelRemoteVideo", &[])} />
            <video id="local-video" class="local-video" data-call={call} data-stream="local"
                autoplay=true muted=true playsinline=true aria-label={tr(lang, "labelLocalVideo", &[])} />
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct CallWindowProps {
    pub call: Option<CallId>,
}

#[function_component(CallWindow)]
pub fn call_window(props: &CallWindowProps) -> Html {
    let (ui, _) = use_worker_state();
    let now = use_now();
    let state = &ui.0;
    let lang = state.language();
    let live: Vec<_> = state.live_calls().into_iter().cloned().collect();
    let call = state
        .snapshot
        .as_ref()
        .and_then(|s| s.calls.iter().find(|c| Some(c.id) == props.call));
    let body = match call {
        Some(call) if call.state != CallPhase::Ended => html! {
            <>
                if call.video && call.state != CallPhase::Ringing {
                    <VideoStage call={call.id} />
                }
                <ul class="calls" aria-label={tr(lang, "tabCalls", &[])}>
                    <CallItem call={call.clone()} others={live} {now} />
                </ul>
            </>
        },
        _ => html! { <p id="call-ended" class="empty">{ tr(lang, "phaseEnded", &[]) }</p> },
    };
    html! {
        <ContextProvider<Language> context={lang}>
            <main class="call-window">
                <h1 class="visually-hidden">{ tr(lang, "tabCalls", &[]) }</h1>
                { body }
            </main>
        </ContextProvider<Language>>
    }
}
