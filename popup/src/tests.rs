//! Component tests in a real browser: `cargo xtask test` runs them with
//! wasm-bindgen-test in headless Chromium. Each renders one screen over a fake
//! worker snapshot, decoded from the JSON the worker would push, then clicks
//! and types like a user and reads the DOM. No worker runs here, so every
//! request fails the way it does when the worker is gone: the screens must
//! show that, not break.

use std::rc::Rc;

use ringside::protocol::Push;
use ringside::settings::Language;
use ringside::ui_state::{UiAction, UiState};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use yew::prelude::*;

use crate::ScreenProps;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function mount() {
  const root = document.createElement('div');
  document.body.appendChild(root);
  return root;
}
export function install_messages(en, zh) {
  window.ringsideMessages = (locale) => (locale === 'en' ? en : locale === 'zh_CN' ? zh : '');
}
function find(root, selector) {
  const element = root.querySelector(selector);
  if (!element) throw new Error(`nothing matches ${selector}`);
  return element;
}
export function text(root, selector) {
  const element = root.querySelector(selector);
  return element ? element.textContent : undefined;
}
export function value(root, selector) { return find(root, selector).value; }
export function attribute(root, selector, name) { return find(root, selector).getAttribute(name) ?? undefined; }
export function count(root, selector) { return root.querySelectorAll(selector).length; }
export function click(root, selector) { find(root, selector).click(); }
export function type_text(root, selector, text) {
  const input = find(root, selector);
  input.focus();
  input.value = text;
  input.dispatchEvent(new InputEvent('input', { bubbles: true, data: text }));
}
export function paste(root, selector, text) {
  const data = new DataTransfer();
  data.setData('text/plain', text);
  find(root, selector).dispatchEvent(
    new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
  );
}
export function submit(root, selector) { find(root, selector).requestSubmit(); }
export function settle() { return new Promise((resolve) => setTimeout(resolve, 20)); }
"#)]
extern "C" {
    fn mount() -> web_sys::Element;
    fn install_messages(en: &str, zh: &str);
    fn text(root: &web_sys::Element, selector: &str) -> Option<String>;
    fn value(root: &web_sys::Element, selector: &str) -> String;
    fn attribute(root: &web_sys::Element, selector: &str, name: &str) -> Option<String>;
    fn count(root: &web_sys::Element, selector: &str) -> u32;
    fn click(root: &web_sys::Element, selector: &str);
    fn type_text(root: &web_sys::Element, selector: &str, text: &str);
    fn paste(root: &web_sys::Element, selector: &str, text: &str);
    fn submit(root: &web_sys::Element, selector: &str);
    fn settle() -> js_sys::Promise;
}

/// Lets Yew's scheduler render and the requests fail.
async fn rendered() {
    let _ = wasm_bindgen_futures::JsFuture::from(settle()).await;
}

/// The tables extension/locales.js hands to the popup in the extension.
fn messages() {
    install_messages(
        include_str!("../../extension/_locales/en/messages.json"),
        include_str!("../../extension/_locales/zh_CN/messages.json"),
    );
}

/// 1001 registered, with this history; `presence` is the snapshot's JSON
/// `presence` object.
fn state(presence: &str, history: &str) -> Rc<UiState> {
    let push = format!(
        r#"{{"v":1,"type":"snapshot","snapshot":{{"state":"registered","aor":"1001@127.0.0.1","presence":{presence}}}}}"#
    );
    let Ok(Push::Snapshot { snapshot }) = Push::decode(&push) else {
        panic!("the fake snapshot does not decode: {push}");
    };
    let entries = serde_json::from_str(history).expect("the fake history decodes");
    Rc::new(
        UiState::new(Language::En)
            .reduce(UiAction::Snapshot(snapshot))
            .reduce(UiAction::History(entries)),
    )
}

const HISTORY: &str = r#"[
  {"id":3,"kind":"missed","number":"1003","name":"Carol","start":1700000300000,"result":"no_answer"},
  {"id":2,"kind":"outgoing","number":"1002","name":"Alice","start":1700000200000,"duration_s":65,"result":"answered"},
  {"id":1,"kind":"incoming","number":"1004","start":1700000100000,"duration_s":5,"result":"answered","note":"call back"}
]"#;

fn screen<C>(ui: Rc<UiState>) -> web_sys::Element
where
    C: BaseComponent<Properties = ScreenProps>,
{
    messages();
    let root = mount();
    yew::Renderer::<C>::with_root_and_props(
        root.clone(),
        ScreenProps {
            ui,
            dispatch: Callback::noop(),
        },
    )
    .render();
    root
}

#[wasm_bindgen_test]
async fn dial_pad_builds_the_number_and_backspace_takes_it_back() {
    let root = screen::<crate::dial::DialScreen>(state(r#"{"status":"available"}"#, "[]"));
    rendered().await;
    assert_eq!(count(&root, ".pad-key"), 12);
    for key in ["1", "0", "0", "2", "#"] {
        click(&root, &format!(r#".pad-key[data-key="{key}"]"#));
        rendered().await;
    }
    assert_eq!(value(&root, "#dial-input"), "1002#");
    click(&root, "#dial-backspace");
    rendered().await;
    assert_eq!(value(&root, "#dial-input"), "1002");
}

#[wasm_bindgen_test]
async fn pasted_numbers_are_normalised() {
    let root = screen::<crate::dial::DialScreen>(state(r#"{"status":"available"}"#, "[]"));
    rendered().await;
    paste(&root, "#dial-input", " (555) 123-4567 ");
    rendered().await;
    assert_eq!(value(&root, "#dial-input"), "5551234567");
}

#[wasm_bindgen_test]
async fn search_finds_history_by_name_and_empty_call_refills_the_last_number() {
    let root = screen::<crate::dial::DialScreen>(state(r#"{"status":"available"}"#, HISTORY));
    rendered().await;
    type_text(&root, "#dial-input", "ali");
    rendered().await;
    assert_eq!(count(&root, "#dial-results .result"), 1);
    assert_eq!(
        attribute(&root, "#dial-results .result", "data-number").as_deref(),
        Some("1002")
    );

    type_text(&root, "#dial-input", "");
    rendered().await;
    submit(&root, "#dial-form");
    rendered().await;
    assert_eq!(
        value(&root, "#dial-input"),
        "1002",
        "the last dialled number"
    );
}

#[wasm_bindgen_test]
async fn a_call_without_a_worker_says_so() {
    let root = screen::<crate::dial::DialScreen>(state(r#"{"status":"available"}"#, "[]"));
    rendered().await;
    type_text(&root, "#dial-input", "1002");
    rendered().await;
    submit(&root, "#dial-form");
    rendered().await;
    assert_eq!(
        text(&root, "#dial-error").as_deref(),
        Some("The background service is not answering. Close and reopen this window.")
    );
    assert_eq!(
        attribute(&root, "#dial-input", "aria-invalid").as_deref(),
        Some("true")
    );
}

#[wasm_bindgen_test]
async fn login_validates_as_you_type() {
    messages();
    let root = mount();
    yew::Renderer::<crate::login::AccountForm>::with_root_and_props(
        root.clone(),
        crate::login::LoginProps {
            on_saved: Callback::noop(),
        },
    )
    .render();
    rendered().await;
    assert_eq!(count(&root, "p.error"), 0, "no error before typing");

    type_text(&root, "#server", "http://pbx.example.com");
    rendered().await;
    assert_eq!(
        text(&root, "#server-error").as_deref(),
        Some("The address must start with wss:// (ws:// only for this computer).")
    );
    assert_eq!(
        attribute(&root, "#server", "aria-invalid").as_deref(),
        Some("true")
    );

    type_text(&root, "#server", "wss://pbx.example.com:8089/ws");
    rendered().await;
    assert_eq!(text(&root, "#server-error"), None);
    assert_eq!(
        attribute(&root, "#server", "aria-invalid").as_deref(),
        Some("false")
    );
}

#[wasm_bindgen_test]
async fn header_shows_the_status_its_note_and_when_a_temporary_one_ends() {
    let presence = r#"{"status":"lunch_break","note":"back soon",
        "temporary":{"until_ms":4102488000000,"revert_to":"available"}}"#;
    let root = screen::<crate::header::Header>(state(presence, "[]"));
    rendered().await;
    assert_eq!(text(&root, "#own-extension").as_deref(), Some("1001"));
    assert_eq!(
        attribute(&root, "#reg-state", "data-state").as_deref(),
        Some("registered")
    );
    assert_eq!(
        attribute(&root, "#status-button", "data-status").as_deref(),
        Some("lunch_break")
    );
    assert_eq!(text(&root, "#status-label").as_deref(), Some("Lunch break"));
    assert_eq!(
        text(&root, "#status-note-shown").as_deref(),
        Some(" · back soon")
    );
    let title = attribute(&root, "#status-button", "title").unwrap_or_default();
    assert!(title.starts_with("Lunch break · until "), "{title}");
    assert!(
        title.contains("Jan 1"),
        "with the date, since it is not today: {title}"
    );

    click(&root, "#status-button");
    rendered().await;
    assert_eq!(count(&root, "#status-panel input[type=radio]"), 6);
    assert_eq!(
        attribute(&root, "#status-panel", "aria-label").as_deref(),
        Some("Change status")
    );
}

#[wasm_bindgen_test]
async fn history_filters_and_shows_notes() {
    let root = screen::<crate::history::HistoryScreen>(state(r#"{"status":"available"}"#, HISTORY));
    rendered().await;
    assert_eq!(count(&root, "#history-list li.entry"), 3);
    assert_eq!(
        attribute(&root, "#filter-all", "aria-pressed").as_deref(),
        Some("true")
    );

    click(&root, "#filter-missed");
    rendered().await;
    assert_eq!(count(&root, "#history-list li.entry"), 1);
    assert_eq!(
        attribute(&root, "#history-list li.entry", "data-kind").as_deref(),
        Some("missed")
    );
    assert_eq!(
        attribute(&root, "#filter-missed", "aria-pressed").as_deref(),
        Some("true")
    );

    click(&root, "#filter-outgoing");
    rendered().await;
    assert_eq!(
        attribute(&root, "#history-list li.entry", "data-id").as_deref(),
        Some("2")
    );

    click(&root, "#filter-incoming");
    rendered().await;
    assert_eq!(
        count(&root, "#history-list li.entry"),
        2,
        "missed calls are incoming too"
    );
    assert_eq!(
        text(&root, r#"#history-list li.entry[data-id="1"] .note"#).as_deref(),
        Some("call back")
    );

    click(&root, r#"#history-list li.entry[data-id="1"] .edit-note"#);
    rendered().await;
    assert_eq!(
        value(&root, "#note-1"),
        "call back",
        "the editor starts from the note"
    );
}
