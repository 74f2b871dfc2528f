//! Ringside's service worker: keeps one SIP registration alive over a WebSocket.
//!
//! The policy (when to connect, retry, give up, what the user sees) is the
//! core crate's sans-IO [`Supervisor`] around its SIP engine; this crate only
//! performs its actions in the browser (WebSocket, setTimeout, chrome.storage,
//! runtime messages and ports). `extension/background.js` registers the chrome
//! listeners and calls the exported `on_*` functions.

mod c2c;
mod calls;
mod chrome;
mod i18n;
mod presence;
mod keys;
mod settings;
mod tls_probe;

use std::cell::RefCell;

use gloo_timers::callback::Timeout;
use js_sys::{ArrayBuffer, Uint8Array};
use ringside::account::{Account, ValidAccount};
use ringside::protocol::{ErrorCode, ErrorReply, Push, Reply, Request, Snapshot, STATE_PORT};
use ringside::supervisor::{Action, Supervisor};
use ringside::Instant;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use chrome::Port;

const ACCOUNT_KEY: &str = "account";
const INSTANCE_ID_KEY: &str = "instance_id";
const WATCHDOG_ALARM: &str = "ringside-watchdog";
/// chrome.alarms' minimum period.
const WATCHDOG_MINUTES: f64 = 1.0;

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
}

/// Run `f` on the worker state once `start()` created it. Every entry point is
/// a separate browser task, so the state is never borrowed twice; should it
/// be anyway, the event is dropped with a warning rather than panicking.
fn with_worker<R>(f: impl FnOnce(&mut Worker) -> R) -> Option<R> {
    WORKER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut worker) => worker.as_mut().map(f),
        Err(_) => {
            chrome::warn("ringside: re-entrant worker event dropped");
            None
        }
    })
}

fn now() -> Instant {
    Instant::from_millis(chrome::now_ms().max(0.0) as u64)
}

struct Connection {
    ws: WebSocket,
    generation: u64,
    // Kept alive as long as the socket may call them; detached before drop.
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Connection {
    fn open(url: &str, generation: u64) -> Result<Connection, JsValue> {
        let ws = WebSocket::new_with_str(url, "sip")?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_open = Closure::<dyn FnMut()>::new(move || {
            with_worker(|w| w.input(|s, now| s.handle_open(now, generation)));
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let bytes = if let Some(text) = data.as_string() {
                text.into_bytes()
            } else if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
                Uint8Array::new(buffer).to_vec()
            } else {
                return;
            };
            with_worker(|w| {
                w.input(|s, now| {
                    if let Err(e) = s.handle_message(now, generation, &bytes) {
                        chrome::warn(&format!("ringside: ignoring an unusable SIP message: {e}"));
                    }
                })
            });
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            chrome::log(&format!(
                "ringside: WebSocket closed (code {})",
                event.code()
            ));
            with_worker(|w| w.input(|s, now| s.handle_closed(now, generation)));
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Connection {
            ws,
            generation,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    fn close(self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        // close() only fails for invalid codes; none is given.
        let _ = self.ws.close();
    }
}

struct Worker {
    supervisor: Supervisor,
    conn: Option<Connection>,
    timer: Option<Timeout>,
    logged_retry_at: Option<Instant>,
    ports: Vec<(u64, Port)>,
    next_port_id: u64,
    last_pushed: Option<Snapshot>,
}

impl Worker {
    /// Feed one input to the supervisor, then carry out what it asks for.
    fn input(&mut self, f: impl FnOnce(&mut Supervisor, Instant)) {
        f(&mut self.supervisor, now());
        self.perform();
    }

    fn perform(&mut self) {
        keys::sync_presence(&mut self.supervisor, now());
        // Opening a socket can fail synchronously; that is reported back as a
        // close, which may queue more actions, hence the loop.
        while let Some(action) = self.supervisor.poll_action() {
            match action {
                Action::Open { generation, url } => {
                    if let Some(old) = self.conn.take() {
                        old.close();
                    }
                    match Connection::open(&url, generation) {
                        Ok(conn) => self.conn = Some(conn),
                        Err(_) => {
                            chrome::warn(&format!("ringside: cannot open a WebSocket to {url}"));
                            self.supervisor.handle_closed(now(), generation);
                        }
                    }
                }
                Action::Send { generation, text } => {
                    let sent = self.conn.as_ref().is_some_and(|c| {
                        c.generation == generation && c.ws.send_with_str(&text).is_ok()
                    });
                    if !sent {
                        chrome::warn("ringside: SIP message not sent: the WebSocket is gone");
                    }
                }
                Action::ProbeTls { generation, url } => tls_probe::start(generation, url),
                Action::Close { generation } => {
                    if self
                        .conn
                        .as_ref()
                        .is_some_and(|c| c.generation == generation)
                    {
                        if let Some(conn) = self.conn.take() {
                            conn.close();
                        }
                    }
                }
            }
        }
        while let Some(action) = self.supervisor.poll_call_action() {
            calls::perform(action);
        }
        self.arm_timer();
        self.publish();
    }

    fn arm_timer(&mut self) {
        let now = now();
        let retry_at = self.supervisor.retry_at();
        if let Some(at) = retry_at.filter(|_| retry_at != self.logged_retry_at) {
            chrome::log(&format!(
                "ringside: reconnecting in {} ms",
                at.as_millis().saturating_sub(now.as_millis())
            ));
        }
        self.logged_retry_at = retry_at;
        self.timer = self.supervisor.poll_timeout().map(|at| {
            // setTimeout takes a signed 32-bit delay.
            let delay = at
                .as_millis()
                .saturating_sub(now.as_millis())
                .min(i32::MAX as u64) as u32;
            Timeout::new(delay, || {
                with_worker(|w| w.input(|s, now| s.handle_timeout(now)));
            })
        });
    }

    /// Push the snapshot to every subscribed popup if it changed.
    fn publish(&mut self) {
        let snapshot = settings::decorate(self.supervisor.snapshot());
        if self.last_pushed.as_ref() == Some(&snapshot) {
            return;
        }
        keys::on_snapshot(&snapshot);
        if self.last_pushed.as_ref().map(|s| s.state) != Some(snapshot.state) {
            chrome::log(&format!("ringside: {}", snapshot.state.as_str()));
        }
        let message = chrome::from_json(
            &Push::Snapshot {
                snapshot: snapshot.clone(),
            }
            .encode(),
        );
        // A port whose popup closed throws; forget it.
        self.ports
            .retain(|(_, port)| port.post_message(&message).is_ok());
        self.last_pushed = Some(snapshot);
    }

    fn add_port(&mut self, port: Port) {
        let id = self.next_port_id;
        self.next_port_id += 1;
        let message = chrome::from_json(
            &Push::Snapshot {
                snapshot: settings::decorate(self.supervisor.snapshot()),
            }
            .encode(),
        );
        if port.post_message(&message).is_err() {
            return;
        }
        let on_disconnect = Closure::once_into_js(move || {
            with_worker(|w| w.ports.retain(|(other, _)| *other != id));
        });
        if port
            .on_disconnect()
            .add_listener(on_disconnect.unchecked_ref())
            .is_ok()
        {
            self.ports.push((id, port));
        }
    }
}

fn parse_account(value: &JsValue) -> Option<ValidAccount> {
    if value.is_undefined() || value.is_null() {
        return None;
    }
    let text = chrome::to_json(value)?;
    match serde_json::from_str::<Account>(&text)
        .map_err(|e| e.to_string())
        .and_then(|a| a.validate().map_err(|e| e.to_string()))
    {
        Ok(account) => Some(account),
        Err(e) => {
            chrome::warn(&format!("ringside: ignoring the stored account: {e}"));
            None
        }
    }
}

fn new_instance_id() -> String {
    let mut b = chrome::random_bytes::<16>();
    // RFC 4122 version 4, variant 1.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Called once by background.js after the wasm is instantiated, before any
/// queued event is delivered: loads the stored account and connects.
#[wasm_bindgen]
pub async fn start() {
    if let Err(e) = chrome::ensure_alarm(WATCHDOG_ALARM, WATCHDOG_MINUTES).await {
        chrome::warn(&format!(
            "ringside: cannot create the watchdog alarm: {e:?}"
        ));
    }
    let stored = match chrome::storage_get(&[ACCOUNT_KEY, INSTANCE_ID_KEY]).await {
        Ok(items) => items,
        Err(e) => {
            chrome::warn(&format!("ringside: cannot read storage: {e:?}"));
            JsValue::UNDEFINED
        }
    };
    let field = |key: &str| {
        js_sys::Reflect::get(&stored, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    };
    let instance_id = match field(INSTANCE_ID_KEY).as_string() {
        Some(id) if id.starts_with("urn:uuid:") && id.len() == 45 => id,
        _ => {
            let id = new_instance_id();
            // Without persistence the PBX sees a new device on each restart;
            // registration still works, so only warn.
            if let Err(e) = chrome::storage_set(INSTANCE_ID_KEY, &JsValue::from_str(&id)).await {
                chrome::warn(&format!("ringside: cannot store the instance id: {e:?}"));
            }
            id
        }
    };
    settings::load().await;
    let account = parse_account(&field(ACCOUNT_KEY)).or_else(settings::session_account);
    let seed = u64::from_le_bytes(chrome::random_bytes::<8>());
    WORKER.with(|cell| {
        if let Ok(mut worker) = cell.try_borrow_mut() {
            *worker = Some(Worker {
                supervisor: Supervisor::new(instance_id, seed),
                conn: None,
                timer: None,
                logged_retry_at: None,
                ports: Vec::new(),
                next_port_id: 0,
                last_pushed: None,
            });
        }
    });
    calls::load().await;
    presence::load().await;
    keys::load().await;
    with_worker(|w| w.input(|s, now| s.set_account(now, account)));
}

/// Whether a message comes from one of the extension's own pages (popup,
/// offscreen document, an extension page in a tab) rather than a content
/// script, whose sender URL is the web page's.
fn from_extension_page(sender: &JsValue) -> bool {
    let url = js_sys::Reflect::get(sender, &"url".into())
        .ok()
        .and_then(|u| u.as_string());
    match (url, chrome::extension_url()) {
        (Some(url), Some(own)) => url.starts_with(&own),
        _ => false,
    }
}

async fn handle_request(message: JsValue, sender: JsValue) -> Reply {
    let request = match chrome::to_json(&message).ok_or(()).and_then(|t| {
        Request::decode(&t).map_err(|e| {
            chrome::warn(&format!("ringside: bad request: {e}"));
        })
    }) {
        Ok(request) => request,
        Err(()) => return Reply::bad_request(),
    };
    if request.is_privileged() && !from_extension_page(&sender) {
        chrome::warn("ringside: refused a credential request from outside the extension's pages");
        return Reply::Error {
            error: ErrorReply {
                code: ErrorCode::Forbidden,
                account: None,
                settings: None,
            },
        };
    }
    if let Some(reply) = calls::handle(&request).await {
        return reply;
    }
    let request = match settings::handle(request).await {
        Ok(reply) => return reply,
        Err(request) => request,
    };
    let request = match presence::handle(request).await {
        Ok(reply) => return reply,
        Err(request) => request,
    };
    match request {
        // Answered by settings::handle above.
        Request::Login { .. }
        | Request::Logout
        | Request::SetStatus { .. }
        | Request::GetSettings
        | Request::SetSettings { .. } => Reply::bad_request(),
        // Answered by calls::handle above.
        Request::Dial { .. }
        | Request::Answer { .. }
        | Request::Decline { .. }
        | Request::Hangup { .. }
        | Request::Hold { .. }
        | Request::Resume { .. }
        | Request::StopVideo { .. }
        | Request::Mute { .. }
        | Request::Dtmf { .. }
        | Request::TransferBlind { .. }
        | Request::TransferAttended { .. }
        | Request::SendToVoicemail { .. }
        | Request::Park { .. }
        | Request::Merge { .. }
        | Request::Swap { .. }
        | Request::GetHistory { .. }
        | Request::SetHistoryNote { .. }
        | Request::DeleteHistory { .. }
        | Request::GetCallSettings
        | Request::SetCallSettings { .. } => Reply::bad_request(),
        // Answered by presence::handle above.
        Request::GetCallHandling
        | Request::SetCallHandling { .. }
        | Request::ScheduleTick { .. } => Reply::bad_request(),
        Request::GetSnapshot => Reply::Snapshot {
            snapshot: settings::decorate(
                with_worker(|w| w.supervisor.snapshot()).unwrap_or_else(Snapshot::unregistered),
            ),
        },
        Request::GetAccount => Reply::Account {
            account: with_worker(|w| w.supervisor.account().map(ValidAccount::to_account))
                .flatten(),
        },
        Request::SetAccount { account } => {
            let valid = match account.validate() {
                Ok(valid) => valid,
                Err(e) => {
                    return Reply::Error {
                        error: ErrorReply {
                            code: ErrorCode::InvalidAccount,
                            account: Some(e),
                            settings: None,
                        },
                    }
                }
            };
            let stored = serde_json::to_string(&valid.to_account()).map(|t| chrome::from_json(&t));
            let saved = match stored {
                Ok(value) => chrome::storage_set(ACCOUNT_KEY, &value).await.is_ok(),
                Err(_) => false,
            };
            if !saved {
                return Reply::Error {
                    error: ErrorReply {
                        code: ErrorCode::StorageFailed,
                        account: None,
                        settings: None,
                    },
                };
            }
            let snapshot = with_worker(|w| {
                w.input(|s, now| s.set_account(now, Some(valid)));
                w.supervisor.snapshot()
            });
            Reply::Snapshot {
                snapshot: snapshot.unwrap_or_else(Snapshot::unregistered),
            }
        }
    }
}

/// `chrome.runtime.onMessage`: one request (`{"v":1,"type":...}`), one reply.
#[wasm_bindgen]
pub async fn on_message(message: JsValue, sender: JsValue) -> JsValue {
    if let Some(reply) = c2c::on_message(&message, &sender).await {
        return reply;
    }
    if let Some(reply) = keys::on_message(&message, &sender).await {
        return reply;
    }
    chrome::from_json(&handle_request(message, sender).await.encode())
}

/// `chrome.runtime.onConnect`: a popup subscribing to snapshots.
#[wasm_bindgen]
pub fn on_connect(port: JsValue) {
    let port: Port = port.unchecked_into();
    if port.name() != STATE_PORT {
        return;
    }
    with_worker(|w| {
        w.add_port(port);
        w.input(|s, now| s.revive(now));
    });
}

#[wasm_bindgen]
pub fn on_alarm(name: String) {
    if settings::on_alarm(&name) || presence::on_alarm(&name) {
        return;
    }
    if name == WATCHDOG_ALARM {
        with_worker(|w| w.input(|s, now| s.revive(now)));
    }
}

/// Chrome started or the extension was installed/updated: `start()` has
/// already run, so only make sure the connection is up.
#[wasm_bindgen]
pub fn on_wake() {
    with_worker(|w| w.input(|s, now| s.revive(now)));
}

/// `chrome.storage.onChanged`: the account edited elsewhere (another popup,
/// a test, sync from an older version).
#[wasm_bindgen]
pub fn on_storage_changed(changes: JsValue, area: String) {
    if area != "local" {
        return;
    }
    c2c::on_storage_changed(&changes);
    let Ok(change) = js_sys::Reflect::get(&changes, &JsValue::from_str(ACCOUNT_KEY)) else {
        return;
    };
    if change.is_undefined() {
        return;
    }
    let new_value = js_sys::Reflect::get(&change, &"newValue".into()).unwrap_or(JsValue::UNDEFINED);
    // A login without "remember password" removes the stored account and
    // keeps it in session storage instead.
    let account = parse_account(&new_value).or_else(settings::session_account);
    with_worker(|w| w.input(|s, now| s.set_account(now, account)));
}
