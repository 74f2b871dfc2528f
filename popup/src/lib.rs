//! Ringside's popup: login, the header with the user's status, and the
//! Dial, Calls, History, Function keys and Settings screens.
//!
//! The popup owns no call or registration state: ONE reducer
//! ([`ringside::ui_state::UiState`], tested natively in the core) folds the
//! worker's snapshots (pushed over a runtime port) and the popup's own
//! navigation; every action goes to the worker as a request.

mod c2c_view;
mod call_window;
mod calls;
mod dial;
mod header;
mod history;
mod keys;
mod login;
mod settings_view;
#[cfg(all(test, target_arch = "wasm32"))]
mod tests;

use std::rc::Rc;

use ringside::protocol::RegState;
use ringside::settings::Language;
use ringside::ui_state::{Screen, UiAction, UiState};
// The pieces the options page shares live in ringside-ui (a crate of its own:
// making this cdylib an rlib too would cost the popup ~17 kB gzip).
use ringside_ui::{chrome, focus, i18n, refresh_history, use_worker_state};
use wasm_bindgen::prelude::*;
use web_sys::KeyboardEvent;
use yew::prelude::*;

use i18n::tr;

/// What every screen gets: the state and the way to change it.
#[derive(Properties, Clone, PartialEq)]
pub struct ScreenProps {
    pub ui: Rc<UiState>,
    pub dispatch: Callback<UiAction>,
}

#[function_component(App)]
fn app() -> Html {
    let (ui, dispatch) = use_worker_state();
    let state = &ui.0;
    let lang = state.language();
    // Set after a login until the worker reports registered, so the login
    // screen shows the worker's answer instead of jumping away at once.
    let awaiting_login = use_state(|| false);
    // A call that ended changes the history: fetch it again.
    let ended = state
        .snapshot
        .as_ref()
        .map(|s| (s.calls.len(), s.missed_calls, state.live_calls().len()));
    {
        let dispatch = dispatch.clone();
        use_effect_with(ended, move |_| refresh_history(dispatch, false));
    }
    let reg_state = state.snapshot.as_ref().map(|s| s.state);
    {
        let awaiting_login = awaiting_login.clone();
        use_effect_with(reg_state, move |reg_state| {
            if *reg_state == Some(RegState::Registered) {
                awaiting_login.set(false);
            }
        });
    }
    let show_login = !state.logged_in()
        || reg_state == Some(RegState::AuthFailed)
        || (*awaiting_login && reg_state != Some(RegState::Registered));
    let on_saved = {
        let awaiting_login = awaiting_login.clone();
        Callback::from(move |()| awaiting_login.set(true))
    };
    let ui_rc = Rc::new(state.clone());
    html! {
        <ContextProvider<Language> context={lang}>
            if show_login {
                <main class="login" aria-labelledby="app-title">
                    <h1 id="app-title">{ tr(lang, "popupTitle", &[]) }</h1>
                    <login::StatusView snapshot={state.snapshot.clone()} unavailable={state.worker_lost} />
                    <login::AccountForm {on_saved} />
                </main>
            } else {
                <header::Header ui={ui_rc.clone()} dispatch={dispatch.clone()} />
                <Tabs ui={ui_rc.clone()} dispatch={dispatch.clone()} />
                <main class="panel">
                    <h1 class="visually-hidden">{ tr(lang, state.screen.message_key(), &[]) }</h1>
                    <login::StatusView snapshot={state.snapshot.clone()} unavailable={state.worker_lost} sentence={false} />
                    <div id={format!("panel-{}", state.screen.as_str())} role="tabpanel"
                        aria-labelledby={format!("tab-{}", state.screen.as_str())}>
                    {
                        match state.screen {
                            Screen::Dial => html! { <dial::DialScreen ui={ui_rc.clone()} dispatch={dispatch.clone()} /> },
                            Screen::Calls => html! { <calls::CallsScreen ui={ui_rc.clone()} dispatch={dispatch.clone()} /> },
                            Screen::History => html! { <history::HistoryScreen ui={ui_rc.clone()} dispatch={dispatch.clone()} /> },
                            Screen::FunctionKeys => html! { <keys::KeysScreen ui={ui_rc.clone()} dispatch={dispatch.clone()} /> },
                            Screen::Settings => html! { <settings_view::SettingsScreen ui={ui_rc.clone()} dispatch={dispatch.clone()} /> },
                        }
                    }
                    </div>
                </main>
            }
        </ContextProvider<Language>>
    }
}

/// The screen tabs: one tab stop, arrow keys move between tabs (WAI-ARIA
/// tabs pattern with automatic activation).
#[function_component(Tabs)]
fn tabs(props: &ScreenProps) -> Html {
    let lang = i18n::use_language();
    let current = props.ui.screen;
    let live = props.ui.live_calls().len();
    let missed = props.ui.snapshot.as_ref().map_or(0, |s| s.missed_calls);
    let voicemail = props
        .ui
        .snapshot
        .as_ref()
        .map_or(0, |s| ringside::ui_keys::new_messages(&s.keys));
    let onkeydown = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |e: KeyboardEvent| {
            let index = Screen::ALL.iter().position(|s| *s == current).unwrap_or(0);
            let n = Screen::ALL.len();
            let next = match e.key().as_str() {
                "ArrowRight" | "ArrowDown" => (index + 1) % n,
                "ArrowLeft" | "ArrowUp" => (index + n - 1) % n,
                "Home" => 0,
                "End" => n - 1,
                _ => return,
            };
            e.prevent_default();
            if let Some(screen) = Screen::ALL.get(next) {
                dispatch.emit(UiAction::Show(*screen));
                focus(&format!("tab-{}", screen.as_str()));
            }
        })
    };
    let tabs = Screen::ALL.iter().map(|screen| {
        let selected = *screen == current;
        let onclick = {
            let (dispatch, screen) = (props.dispatch.clone(), *screen);
            Callback::from(move |_| dispatch.emit(UiAction::Show(screen)))
        };
        let badge = match screen {
            Screen::Calls if live > 0 => Some(live as u32),
            Screen::History if missed > 0 => Some(missed),
            Screen::FunctionKeys if voicemail > 0 => Some(voicemail),
            _ => None,
        };
        html! {
            <button type="button" role="tab" id={format!("tab-{}", screen.as_str())}
                aria-selected={if selected { "true" } else { "false" }}
                aria-controls={format!("panel-{}", screen.as_str())}
                tabindex={if selected { "0" } else { "-1" }}
                {onclick}>
                { tr(lang, screen.message_key(), &[]) }
                if let Some(badge) = badge {
                    <span class="badge">{ badge }</span>
                }
            </button>
        }
    });
    html! {
        <nav aria-label={tr(lang, "tabsLabel", &[])}>
            <div class="tabs" role="tablist" {onkeydown}>
                { for tabs }
            </div>
        </nav>
    }
}

/// popup.html renders the app into `#app`; call.html (`?call=ID`) the call
/// window into `#call-app`, with the same components and styles.
#[wasm_bindgen(start)]
pub fn run() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(root) = document.get_element_by_id("call-app") {
        let call = call_window::call_from_location();
        yew::Renderer::<call_window::CallWindow>::with_root_and_props(
            root,
            call_window::CallWindowProps { call },
        )
        .render();
    } else if let Some(root) = document.get_element_by_id("app") {
        yew::Renderer::<App>::with_root(root).render();
    }
}
