//! Ringside's service worker: keeps one SIP registration alive over a WebSocket.
//!
//! The SIP logic is the core crate's sans-IO engine; this crate only moves bytes
//! and time between it and the browser (WebSocket, setTimeout, chrome.storage,
//! runtime messages) and decides when to reconnect. `extension/background.js`
//! registers the chrome listeners and calls the exported `on_*` functions.

mod chrome;

use std::cell::RefCell;
use std::time::Duration;

use gloo_timers::callback::Timeout;
use js_sys::{ArrayBuffer, Uint8Array};
use ringside::account::{Account, ValidAccount};
use ringside::backoff::Backoff;
use ringside::engine::{Event, Transport, UaConfig, UserAgent};
use ringside::protocol::{
    ErrorCode, ErrorReply, Push, RegState, Reply, Request, Snapshot, STATE_PORT,
};
use ringside::registration::{RegistrationFailure, RegistrationState};
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
/// A WebSocket to a black-holed address can hang in CONNECTING for minutes;
/// give up sooner and let the backoff retry.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REGISTER_EXPIRES: u32 = 600;

thread_local! {
    static WORKER: RefCell<Worker> = RefCell::new(Worker::default());
}

/// Run `f` on the worker state. Every entry point is a separate browser task,
/// so the state is never borrowed twice; should it be anyway, the event is
/// dropped with a warning rather than panicking the worker.
fn with_worker<R>(f: impl FnOnce(&mut Worker) -> R) -> Option<R> {
    WORKER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut worker) => Some(f(&mut worker)),
        Err(_) => {
            chrome::warn("ringside: re-entrant worker event dropped");
            None
        }
    })
}

fn now() -> Instant {
    Instant::from_millis(chrome::now_ms().max(0.0) as u64)
}

/// setTimeout takes a signed 32-bit delay.
fn timeout_ms(d: Duration) -> u32 {
    d.as_millis().min(i32::MAX as u128) as u32
}

struct Connection {
    ws: WebSocket,
    generation: u64,
    open: bool,
    // Kept alive as long as the socket may call them; detached before drop.
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Connection {
    fn detach_and_close(self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        // close() only fails for invalid codes; none is given.
        let _ = self.ws.close();
    }
}

#[derive(Default)]
struct Worker {
    account: Option<ValidAccount>,
    instance_id: Option<String>,
    ua: Option<UserAgent>,
    /// `register()` was called on this `ua`.
    register_requested: bool,
    conn: Option<Connection>,
    generation: u64,
    engine_timer: Option<Timeout>,
    retry_timer: Option<Timeout>,
    connect_timer: Option<Timeout>,
    backoff: Backoff,
    /// The server rejected the credential: no retry until the account changes.
    stopped: bool,
    state: Option<RegState>,
    status_code: Option<u16>,
    reason: Option<String>,
    registered_in_ms: Option<f64>,
    ports: Vec<(u64, Port)>,
    next_port_id: u64,
    last_pushed: Option<Snapshot>,
}

impl Worker {
    fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot::unregistered();
        if let Some(account) = &self.account {
            snapshot.state = self.state.unwrap_or(RegState::Registering);
            snapshot.aor = Some(account.aor());
            snapshot.server = Some(account.server.to_url());
            snapshot.status_code = self.status_code;
            snapshot.reason = self.reason.clone();
        }
        snapshot.registered_in_ms = self.registered_in_ms;
        snapshot
    }

    fn set_state(&mut self, state: RegState) {
        self.state = Some(state);
        if state != RegState::Rejected {
            self.status_code = None;
            self.reason = None;
        }
    }

    /// Push the snapshot to every subscribed popup if it changed.
    fn publish(&mut self) {
        let snapshot = self.snapshot();
        if self.last_pushed.as_ref() == Some(&snapshot) {
            return;
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

    fn apply_account(&mut self, account: Option<ValidAccount>) {
        if account == self.account && self.ua.is_some() == account.is_some() {
            return;
        }
        self.disconnect(true);
        self.retry_timer = None;
        self.engine_timer = None;
        self.backoff.reset();
        self.stopped = false;
        self.ua = None;
        self.account = account;
        self.set_state(if self.account.is_some() {
            RegState::Registering
        } else {
            RegState::Unregistered
        });
        if let (Some(account), Some(instance_id)) = (&self.account, &self.instance_id) {
            let mut config =
                UaConfig::new(&account.username, &account.server.host, &account.password);
            config.auth_username = account.auth_id.clone();
            config.display_name = account.display_name.clone();
            config.instance_id = instance_id.clone();
            config.register_expires = REGISTER_EXPIRES;
            config.transport = if account.server.secure {
                Transport::Wss
            } else {
                Transport::Ws
            };
            let seed = u64::from_le_bytes(chrome::random_bytes::<8>());
            self.ua = Some(UserAgent::new(config, seed));
            self.register_requested = false;
            self.connect();
        }
        self.publish();
    }

    fn connect(&mut self) {
        if self.conn.is_some() || self.stopped || self.ua.is_none() {
            return;
        }
        let Some(account) = &self.account else { return };
        let url = account.server.to_url();
        self.retry_timer = None;
        self.generation += 1;
        let generation = self.generation;
        let ws = match WebSocket::new_with_str(&url, "sip") {
            Ok(ws) => ws,
            Err(_) => {
                chrome::warn(&format!("ringside: cannot open a WebSocket to {url}"));
                self.set_state(RegState::Unreachable);
                self.schedule_retry();
                return;
            }
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_open = Closure::<dyn FnMut()>::new(move || {
            with_worker(|w| w.on_open(generation));
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            with_worker(|w| w.on_ws_message(generation, event.data()));
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            with_worker(|w| w.on_close(generation, event.code()));
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.conn = Some(Connection {
            ws,
            generation,
            open: false,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        });
        self.connect_timer = Some(Timeout::new(timeout_ms(CONNECT_TIMEOUT), move || {
            with_worker(|w| w.on_connect_timeout(generation));
        }));
    }

    fn current(&self, generation: u64) -> bool {
        self.conn
            .as_ref()
            .is_some_and(|c| c.generation == generation)
    }

    fn on_open(&mut self, generation: u64) {
        if !self.current(generation) {
            return;
        }
        self.connect_timer = None;
        if let Some(conn) = &mut self.conn {
            conn.open = true;
        }
        let now = now();
        if let Some(ua) = &mut self.ua {
            ua.handle_connected(now);
            // Asked before the first connection, register() would only
            // report a transport failure; from then on handle_connected
            // re-registers by itself.
            if !self.register_requested {
                ua.register(now);
                self.register_requested = true;
            }
        }
        self.drive(now);
    }

    fn on_ws_message(&mut self, generation: u64, data: JsValue) {
        if !self.current(generation) {
            return;
        }
        let bytes = if let Some(text) = data.as_string() {
            text.into_bytes()
        } else if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
            Uint8Array::new(buffer).to_vec()
        } else {
            return;
        };
        let now = now();
        if let Some(ua) = &mut self.ua {
            // A malformed frame is dropped; the peer's retransmission or the
            // engine's timeout takes care of the rest.
            if let Err(e) = ua.handle_transport(now, &bytes) {
                chrome::warn(&format!("ringside: ignoring an unusable SIP message: {e}"));
            }
        }
        self.drive(now);
    }

    fn on_close(&mut self, generation: u64, code: u16) {
        if !self.current(generation) {
            return;
        }
        let was_open = self.conn.as_ref().is_some_and(|c| c.open);
        chrome::log(&format!(
            "ringside: WebSocket closed (code {code}, was open: {was_open})"
        ));
        self.connection_lost();
    }

    fn on_connect_timeout(&mut self, generation: u64) {
        if self.current(generation) && !self.conn.as_ref().is_some_and(|c| c.open) {
            chrome::log("ringside: WebSocket connect timed out");
            self.connection_lost();
        }
    }

    /// The socket is gone (closed by the peer, failed, timed out or found dead
    /// by the keepalive): tell the engine, show why, and retry later.
    fn connection_lost(&mut self) {
        self.disconnect(false);
        if !self.stopped {
            self.set_state(RegState::Unreachable);
            self.schedule_retry();
        }
        self.publish();
    }

    /// Close the socket (if any) and tell the engine. With `unregister`, a
    /// registered binding is removed first, so a changed account does not
    /// leave a stale contact at the PBX.
    fn disconnect(&mut self, unregister: bool) {
        self.connect_timer = None;
        let now = now();
        if unregister && self.conn.as_ref().is_some_and(|c| c.open) {
            if let Some(ua) = &mut self.ua {
                ua.unregister(now);
            }
            self.flush_transmits();
        }
        let Some(conn) = self.conn.take() else { return };
        conn.detach_and_close();
        if let Some(ua) = &mut self.ua {
            ua.handle_disconnected(now);
        }
        self.drive(now);
    }

    fn schedule_retry(&mut self) {
        if self.stopped || self.ua.is_none() || self.retry_timer.is_some() || self.conn.is_some() {
            return;
        }
        let delay = self.backoff.next_delay(chrome::random_u32());
        chrome::log(&format!(
            "ringside: reconnecting in {} ms",
            delay.as_millis()
        ));
        self.retry_timer = Some(Timeout::new(timeout_ms(delay), || {
            with_worker(|w| {
                w.retry_timer = None;
                w.connect();
                w.publish();
            });
        }));
    }

    fn flush_transmits(&mut self) {
        let Some(ua) = &mut self.ua else { return };
        while let Some(transmit) = ua.poll_transmit() {
            // Without an open socket the message is dropped and the engine
            // times its transaction out.
            let sent = self
                .conn
                .as_ref()
                .is_some_and(|c| c.open && c.ws.send_with_str(&transmit.text).is_ok());
            if !sent {
                chrome::warn("ringside: SIP message not sent: no open WebSocket");
            }
        }
    }

    /// Let the engine's output take effect: send its messages, act on its
    /// events, and arm its next timer.
    fn drive(&mut self, now: Instant) {
        loop {
            self.flush_transmits();
            let Some(event) = self.ua.as_mut().and_then(UserAgent::poll_event) else {
                break;
            };
            self.on_engine_event(event);
        }
        self.engine_timer = self
            .ua
            .as_ref()
            .and_then(UserAgent::poll_timeout)
            .map(|at| {
                Timeout::new(timeout_ms(at.saturating_duration_since(now)), || {
                    with_worker(|w| {
                        let now = self::now();
                        if let Some(ua) = &mut w.ua {
                            ua.handle_timeout(now);
                        }
                        w.drive(now);
                    });
                })
            });
        self.publish();
    }

    fn on_engine_event(&mut self, event: Event) {
        // Console diagnostics for whoever debugs a registration in DevTools.
        chrome::log(&format!("ringside: {event:?}"));
        match event {
            Event::RegistrationChanged(state) => match state {
                RegistrationState::Registered { .. } => {
                    self.set_state(RegState::Registered);
                    self.backoff.reset();
                    if self.registered_in_ms.is_none() {
                        self.registered_in_ms = Some(chrome::now_ms());
                    }
                }
                RegistrationState::Registering => {
                    if !self.stopped {
                        self.set_state(RegState::Registering);
                    }
                }
                RegistrationState::Unregistered => {}
                RegistrationState::Failed(RegistrationFailure::AuthRejected) => {
                    self.stopped = true;
                    self.retry_timer = None;
                    self.set_state(RegState::AuthFailed);
                    self.close_after_failure();
                }
                RegistrationState::Failed(RegistrationFailure::Transport) => {
                    if !self.stopped {
                        self.close_after_failure();
                    }
                }
                RegistrationState::Failed(RegistrationFailure::Rejected { code, reason }) => {
                    self.set_state(RegState::Rejected);
                    self.status_code = Some(code);
                    self.reason = Some(reason);
                    self.close_after_failure();
                }
            },
            Event::KeepaliveFailed => {
                chrome::log("ringside: keepalive unanswered, reconnecting");
                self.close_after_failure();
            }
            _ => {}
        }
    }

    /// Drop the connection after a failure the engine reported; reconnecting
    /// (unless stopped) gives a fresh transport and a fresh REGISTER.
    fn close_after_failure(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.detach_and_close();
            self.connect_timer = None;
            if let Some(ua) = &mut self.ua {
                ua.handle_disconnected(now());
            }
        }
        if !self.stopped {
            if self.state != Some(RegState::Rejected) {
                self.set_state(RegState::Unreachable);
            }
            self.schedule_retry();
        }
    }

    /// The watchdog alarm (or any other wake-up): make sure a connection exists
    /// or is being attempted.
    fn revive(&mut self) {
        if self.conn.is_none() && !self.stopped && self.ua.is_some() {
            self.retry_timer = None;
            self.connect();
        }
        self.publish();
    }

    fn add_port(&mut self, port: Port) {
        let id = self.next_port_id;
        self.next_port_id += 1;
        let message = chrome::from_json(
            &Push::Snapshot {
                snapshot: self.snapshot(),
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
    let account = parse_account(&field(ACCOUNT_KEY));
    with_worker(|w| {
        w.instance_id = Some(instance_id);
        w.apply_account(account);
    });
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
            },
        };
    }
    match request {
        Request::GetSnapshot => Reply::Snapshot {
            snapshot: with_worker(|w| w.snapshot()).unwrap_or_else(Snapshot::unregistered),
        },
        Request::GetAccount => Reply::Account {
            account: with_worker(|w| w.account.as_ref().map(ValidAccount::to_account)).flatten(),
        },
        Request::SetAccount { account } => {
            let valid = match account.validate() {
                Ok(valid) => valid,
                Err(e) => {
                    return Reply::Error {
                        error: ErrorReply {
                            code: ErrorCode::InvalidAccount,
                            account: Some(e),
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
                    },
                };
            }
            let snapshot = with_worker(|w| {
                w.apply_account(Some(valid));
                w.snapshot()
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
        w.revive();
    });
}

#[wasm_bindgen]
pub fn on_alarm(name: String) {
    if name == WATCHDOG_ALARM {
        with_worker(Worker::revive);
    }
}

/// Chrome started or the extension was installed/updated: `start()` has
/// already run, so only make sure the connection is up.
#[wasm_bindgen]
pub fn on_wake() {
    with_worker(Worker::revive);
}

/// `chrome.storage.onChanged`: the account edited elsewhere (another popup,
/// a test, sync from an older version).
#[wasm_bindgen]
pub fn on_storage_changed(changes: JsValue, area: String) {
    if area != "local" {
        return;
    }
    let Ok(change) = js_sys::Reflect::get(&changes, &JsValue::from_str(ACCOUNT_KEY)) else {
        return;
    };
    if change.is_undefined() {
        return;
    }
    let new_value = js_sys::Reflect::get(&change, &"newValue".into()).unwrap_or(JsValue::UNDEFINED);
    let account = parse_account(&new_value);
    with_worker(|w| w.apply_account(account));
}
