//! Keeps one account registered over one WebSocket at a time, sans-IO.
//!
//! The service worker's policy, separate from its browser glue so it can be
//! tested natively: when to open a socket, when to give up on one, how long
//! to wait before the next attempt (RFC 5626 §4.5 asks for backoff with
//! jitter), that a rejected credential is not retried, and what the user is
//! shown. The glue performs the [`Action`]s, reports the socket's events by
//! generation (a late event of a replaced socket is ignored) and calls
//! [`Supervisor::handle_timeout`] at [`Supervisor::poll_timeout`].

pub mod calls;
pub mod inbound;
pub mod keys;

use std::collections::VecDeque;
use std::time::Duration;

use crate::account::ValidAccount;
use crate::backoff::Backoff;
use crate::engine::{EngineError, Event, Transport, UaConfig, UserAgent};
use crate::protocol::calls::{MediaReply, MediaRequest};
use crate::protocol::{RegState, Reply, Request, Snapshot};
use calls::{CallAction, Calls};
use crate::random::Random;
use crate::registration::{RegistrationFailure, RegistrationState};
use crate::time::Instant;

/// A WebSocket to a black-holed address can hang in CONNECTING for minutes;
/// give up sooner and let the backoff retry.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Requested registration lifetime, seconds.
pub const REGISTER_EXPIRES: u32 = 600;

/// What the glue must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a WebSocket with subprotocol `sip` to `url`; report its open,
    /// messages and close with this `generation`.
    Open { generation: u64, url: String },
    /// Send one text frame on the socket of `generation`.
    Send { generation: u64, text: String },
    /// Close the socket of `generation`; its later events are not needed.
    Close { generation: u64 },
    /// A `wss://` socket of `generation` failed before it opened. Chrome
    /// reports an untrusted certificate exactly like a refused port, but a
    /// `fetch` of `url` (the same host and port over https) shows the network
    /// error to `chrome.webRequest.onErrorOccurred`: the glue fetches it and
    /// reports what it saw with [`Supervisor::handle_probe`].
    ProbeTls { generation: u64, url: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Socket {
    Idle,
    Connecting { generation: u64, deadline: Instant },
    Open { generation: u64 },
}

impl Socket {
    fn generation(self) -> Option<u64> {
        match self {
            Socket::Idle => None,
            Socket::Connecting { generation, .. } | Socket::Open { generation } => Some(generation),
        }
    }
}

pub struct Supervisor {
    instance_id: String,
    random: Random,
    account: Option<ValidAccount>,
    ua: Option<UserAgent>,
    /// `register()` was called on this `ua`: asked before the first open
    /// socket it would only report a transport failure, and afterwards
    /// `handle_connected` re-registers by itself.
    register_requested: bool,
    socket: Socket,
    generation: u64,
    retry_at: Option<Instant>,
    backoff: Backoff,
    /// The server rejected the credential: no retry until the account changes.
    stopped: bool,
    state: RegState,
    status: Option<(u16, String)>,
    registered_at: Option<Instant>,
    actions: VecDeque<Action>,
    calls: Calls,
    inbound: inbound::Inbound,
    keys: keys::Keys,
}

impl Supervisor {
    /// `instance_id` is the persisted `urn:uuid:…` of this browser profile;
    /// `seed` feeds the user agents and the backoff jitter.
    pub fn new(instance_id: String, seed: u64) -> Self {
        Supervisor {
            instance_id,
            random: Random::new(seed),
            account: None,
            ua: None,
            register_requested: false,
            socket: Socket::Idle,
            generation: 0,
            retry_at: None,
            backoff: Backoff::new(),
            stopped: false,
            state: RegState::Unregistered,
            status: None,
            registered_at: None,
            actions: VecDeque::new(),
            calls: Calls::new(),
            inbound: inbound::Inbound::default(),
            keys: keys::Keys::new(),
        }
    }

    pub fn account(&self) -> Option<&ValidAccount> {
        self.account.as_ref()
    }

    /// Use `account` from now on (`None`: stop). A different account
    /// unregisters the old binding, closes its socket and connects afresh; the
    /// same account again changes nothing (storage echoes every save).
    pub fn set_account(&mut self, now: Instant, account: Option<ValidAccount>) {
        if account == self.account && self.ua.is_some() == account.is_some() {
            return;
        }
        if let (Socket::Open { .. }, Some(ua)) = (self.socket, &mut self.ua) {
            ua.unregister(now);
            self.keys.withdraw(now, ua);
            self.flush_transmits();
        }
        self.close_socket();
        self.retry_at = None;
        self.backoff.reset();
        self.stopped = false;
        self.status = None;
        self.register_requested = false;
        self.ua = account.as_ref().map(|account| {
            let mut config =
                UaConfig::new(&account.username, &account.server.host, &account.password);
            config.auth_username = account.auth_id.clone();
            config.display_name = account.display_name.clone();
            config.instance_id = self.instance_id.clone();
            config.register_expires = REGISTER_EXPIRES;
            // Incoming calls ring only once the call handling let them
            // through (supervisor::inbound).
            config.ring_at_once = false;
            config.transport = if account.server.secure {
                Transport::Wss
            } else {
                Transport::Ws
            };
            UserAgent::new(config, self.random.next_u64())
        });
        let (user, host) = account
            .as_ref()
            .map(|a| (a.username.clone(), a.server.host.clone()))
            .unwrap_or_default();
        self.keys.reset_account(&user, &host);
        self.state = if account.is_some() {
            RegState::Registering
        } else {
            RegState::Unregistered
        };
        self.account = account;
        self.connect(now);
    }

    /// A wake-up (watchdog alarm, a popup opening): connect now if idle,
    /// instead of waiting out the backoff.
    pub fn revive(&mut self, now: Instant) {
        if self.socket == Socket::Idle {
            self.retry_at = None;
            self.connect(now);
        }
    }

    pub fn handle_open(&mut self, now: Instant, generation: u64) {
        if !matches!(self.socket, Socket::Connecting { generation: g, .. } if g == generation) {
            return;
        }
        self.socket = Socket::Open { generation };
        if let Some(ua) = &mut self.ua {
            ua.handle_connected(now);
            if !self.register_requested {
                ua.register(now);
                self.register_requested = true;
            }
        }
        self.drive(now);
    }

    /// One WebSocket frame. An unusable one is reported (for the console) and
    /// otherwise dropped: retransmissions or timeouts take care of the rest.
    pub fn handle_message(
        &mut self,
        now: Instant,
        generation: u64,
        bytes: &[u8],
    ) -> Result<(), EngineError> {
        if self.socket != (Socket::Open { generation }) {
            return Ok(());
        }
        let result = match &mut self.ua {
            Some(ua) => ua.handle_transport(now, bytes),
            None => Ok(()),
        };
        self.drive(now);
        result
    }

    /// The socket closed or failed (refused, TLS, dropped by the server).
    pub fn handle_closed(&mut self, now: Instant, generation: u64) {
        if self.socket.generation() != Some(generation) {
            return;
        }
        let never_opened = matches!(self.socket, Socket::Connecting { .. });
        self.socket = Socket::Idle;
        self.connection_lost(now);
        if never_opened {
            let probe = self.account.as_ref().and_then(|a| a.server.certificate_check_url());
            if let Some(url) = probe {
                self.actions.push_back(Action::ProbeTls { generation, url });
            }
        }
    }

    /// What the glue saw when it probed the https origin of a failed `wss://`
    /// server: the `net::ERR_…` string chrome.webRequest reported, or `None`
    /// when the probe got an answer (TLS works: the WebSocket failed for
    /// another reason). A late answer about an older socket still counts as
    /// long as nothing better is known: the certificate does not change
    /// between two attempts.
    pub fn handle_probe(&mut self, now: Instant, generation: u64, net_error: Option<&str>) {
        if generation > self.generation {
            return;
        }
        let certificate = net_error.is_some_and(is_certificate_error);
        match self.state {
            RegState::Unreachable if certificate => self.state = RegState::TlsError,
            RegState::TlsError if !certificate => self.state = RegState::Unreachable,
            _ => {}
        }
        self.drive(now);
    }

    /// The call policy: settings, history, wall clock (see [`Calls`]).
    pub fn calls_mut(&mut self) -> &mut Calls {
        &mut self.calls
    }

    /// A call command or history request from the popup or call window.
    pub fn call_command(&mut self, now: Instant, request: Request) -> Reply {
        let registered = self.state == RegState::Registered;
        let reply = self
            .calls
            .command(self.ua.as_mut(), registered, now, request);
        self.drive(now);
        reply
    }

    /// The offscreen document's reply to a [`CallAction::Media`] request.
    pub fn handle_media_reply(
        &mut self,
        now: Instant,
        request: &MediaRequest,
        reply: Result<MediaReply, String>,
    ) {
        self.calls
            .handle_media_reply(self.ua.as_mut(), now, request, reply);
        self.drive(now);
    }

    /// The function keys: configuration, live state, what a press does.
    pub fn keys(&self) -> &keys::Keys {
        &self.keys
    }

    /// Apply a validated key configuration (subscriptions follow, paced).
    pub fn set_keys(&mut self, now: Instant, config: crate::function_keys::KeyConfig) {
        self.keys.set_config(now, self.ua.as_mut(), config);
        self.drive(now);
    }

    /// The own status, published as PIDF while registered.
    pub fn set_presence(&mut self, now: Instant, presence: &crate::presence::Presence) {
        self.keys
            .set_presence(now, self.ua.as_mut(), presence.status, &presence.note);
        self.drive(now);
    }

    /// A function key press: `Err(status)` when the key switches the own
    /// status (the worker's status path stores and applies it).
    pub fn press_key(&mut self, now: Instant, id: u32) -> Result<Reply, crate::presence::Status> {
        let registered = self.state == RegState::Registered;
        let active = self
            .calls
            .views()
            .into_iter()
            .find(|c| c.state == crate::protocol::calls::CallPhase::Active)
            .map(|c| c.id);
        let domain = self
            .account
            .as_ref()
            .map(|a| a.server.host.clone())
            .unwrap_or_default();
        let press = match self.keys.press(id, active.is_some(), &domain) {
            Ok(press) => press,
            Err(code) => return Ok(Reply::error(code)),
        };
        let reply = match (press, active) {
            (keys::KeyPress::SetStatus(status), _) => return Err(status),
            (keys::KeyPress::Dial { number, headers }, _) => {
                if !registered {
                    return Ok(Reply::error(crate::protocol::ErrorCode::NotRegistered));
                }
                self.calls
                    .dial_with_headers(registered, now, &number, headers)
            }
            (keys::KeyPress::Dtmf { digits }, Some(call)) => self.calls.command(
                self.ua.as_mut(),
                registered,
                now,
                Request::Dtmf { call, digits },
            ),
            (keys::KeyPress::Transfer { target }, Some(call)) => self.calls.command(
                self.ua.as_mut(),
                registered,
                now,
                Request::TransferBlind { call, target },
            ),
            (_, None) => Reply::error(crate::protocol::ErrorCode::NoSuchCall),
        };
        if !matches!(reply, Reply::Error { .. }) {
            self.keys.pressed(id);
        }
        self.drive(now);
        Ok(reply)
    }

    pub fn poll_call_action(&mut self) -> Option<CallAction> {
        self.calls.poll_action()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.calls.handle_timeout(now);
        self.inbound_timeout(now);
        self.keys.handle_timeout(now, self.ua.as_mut());
        if let Socket::Connecting { deadline, .. } = self.socket {
            if deadline <= now {
                self.close_socket();
                self.connection_lost(now);
            }
        }
        if self.retry_at.is_some_and(|at| at <= now) {
            self.retry_at = None;
            self.connect(now);
        }
        if let Some(ua) = &mut self.ua {
            if ua.poll_timeout().is_some_and(|at| at <= now) {
                ua.handle_timeout(now);
            }
        }
        self.drive(now);
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let connect = match self.socket {
            Socket::Connecting { deadline, .. } => Some(deadline),
            _ => None,
        };
        [
            connect,
            self.retry_at,
            self.ua.as_ref().and_then(UserAgent::poll_timeout),
            self.calls.poll_timeout(),
            self.inbound.poll_timeout(),
            self.keys.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// When the next reconnect attempt is due, for the console.
    pub fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot::unregistered();
        if let Some(account) = &self.account {
            snapshot.state = self.state;
            snapshot.aor = Some(account.aor());
            snapshot.server = Some(account.server.to_url());
            if let Some((code, reason)) = &self.status {
                snapshot.status_code = Some(*code);
                snapshot.reason = Some(reason.clone());
            }
        }
        snapshot.registered_in_ms = self.registered_at.map(|t| t.as_millis() as f64);
        snapshot.calls = self.calls.views();
        snapshot.missed_calls = self.calls.missed();
        snapshot.keys = self.keys.views();
        snapshot
    }

    fn connect(&mut self, now: Instant) {
        if self.socket != Socket::Idle || self.stopped {
            return;
        }
        let Some(account) = &self.account else { return };
        self.retry_at = None;
        self.generation += 1;
        self.socket = Socket::Connecting {
            generation: self.generation,
            deadline: now + CONNECT_TIMEOUT,
        };
        self.actions.push_back(Action::Open {
            generation: self.generation,
            url: account.server.to_url(),
        });
    }

    fn close_socket(&mut self) {
        if let Some(generation) = self.socket.generation() {
            self.actions.push_back(Action::Close { generation });
        }
        self.socket = Socket::Idle;
    }

    fn connection_lost(&mut self, now: Instant) {
        if let Some(ua) = &mut self.ua {
            ua.handle_disconnected(now);
        }
        self.keys.on_disconnected(now, self.ua.as_mut());
        self.drive(now);
        self.after_failure(now);
    }

    /// Show why and come back later, unless the credential was rejected.
    fn after_failure(&mut self, now: Instant) {
        if self.stopped || self.ua.is_none() {
            return;
        }
        // A certificate problem stays shown across retries until a probe
        // says otherwise: each retry fails the same way.
        if !matches!(self.state, RegState::Rejected | RegState::TlsError) {
            self.state = RegState::Unreachable;
        }
        if self.retry_at.is_none() && self.socket == Socket::Idle {
            let delay = self.backoff.next_delay(self.random.next_u64() as u32);
            self.retry_at = Some(now + delay);
        }
    }

    fn flush_transmits(&mut self) {
        let Some(ua) = &mut self.ua else { return };
        while let Some(transmit) = ua.poll_transmit() {
            // Without an open socket the message is dropped and the engine
            // times its transaction out.
            if let Socket::Open { generation } = self.socket {
                self.actions.push_back(Action::Send {
                    generation,
                    text: transmit.text,
                });
            }
        }
    }

    fn drive(&mut self, now: Instant) {
        loop {
            self.flush_transmits();
            let Some(event) = self.ua.as_mut().and_then(UserAgent::poll_event) else {
                break;
            };
            self.on_event(now, event);
        }
        self.calls.persist(self.ua.as_ref());
    }

    fn on_event(&mut self, now: Instant, event: Event) {
        if self.screen_incoming(now, &event) {
            self.calls.on_event(now, &event);
            self.arm_incoming(now, &event);
        }
        self.keys.on_event(now, self.ua.as_mut(), &event);
        match event {
            Event::RegistrationChanged(RegistrationState::Registered { .. }) => {
                if let Some(ua) = &mut self.ua {
                    self.keys.on_registered(now, ua);
                }
                self.state = RegState::Registered;
                self.status = None;
                self.backoff.reset();
                self.registered_at.get_or_insert(now);
                if let Some(ua) = self.ua.as_mut() {
                    self.calls.restore(ua, now);
                }
            }
            Event::RegistrationChanged(RegistrationState::Registering) if !self.stopped => {
                self.state = RegState::Registering;
                self.status = None;
            }
            Event::RegistrationChanged(RegistrationState::Failed(
                RegistrationFailure::AuthRejected,
            )) => {
                self.stopped = true;
                self.retry_at = None;
                self.state = RegState::AuthFailed;
                self.status = None;
                self.close_after_failure(now);
            }
            Event::RegistrationChanged(RegistrationState::Failed(
                RegistrationFailure::Rejected { code, reason },
            )) => {
                self.state = RegState::Rejected;
                self.status = Some((code, reason));
                self.close_after_failure(now);
            }
            Event::RegistrationChanged(RegistrationState::Failed(
                RegistrationFailure::Transport,
            ))
            | Event::KeepaliveFailed => self.close_after_failure(now),
            _ => {}
        }
    }

    /// The engine gave up on this connection (or the account): a fresh socket
    /// and a fresh REGISTER are the way back.
    fn close_after_failure(&mut self, now: Instant) {
        if self.socket != Socket::Idle {
            self.close_socket();
            if let Some(ua) = &mut self.ua {
                ua.handle_disconnected(now);
            }
            self.keys.on_disconnected(now, self.ua.as_mut());
        }
        self.after_failure(now);
    }
}

/// Chrome's net error names for a failed TLS handshake or an untrusted,
/// expired, revoked or mismatched certificate (net/base/net_error_list.h).
fn is_certificate_error(net_error: &str) -> bool {
    let name = net_error.strip_prefix("net::").unwrap_or(net_error);
    name.starts_with("ERR_CERT_")
        || name.starts_with("ERR_SSL_")
        || matches!(
            name,
            "ERR_BAD_SSL_CLIENT_AUTH_CERT" | "ERR_CERTIFICATE_TRANSPARENCY_REQUIRED"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Account;
    use crate::codec;
    use crate::engine::test_support::{header, reply};
    use rsip::{Request, SipMessage};

    const WWW_AUTH: (&str, &str) = (
        "WWW-Authenticate",
        r#"Digest realm="pbx.test", nonce="abc", algorithm=MD5"#,
    );

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn account(password: &str) -> ValidAccount {
        Account {
            server: "ws://127.0.0.1:8088".into(),
            username: "1001".into(),
            password: password.into(),
            auth_id: None,
            display_name: None,
        }
        .validate()
        .unwrap()
    }

    fn actions(s: &mut Supervisor) -> Vec<Action> {
        std::iter::from_fn(|| s.poll_action()).collect()
    }

    fn sent_requests(actions: &[Action]) -> Vec<Request> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send { text, .. } => match codec::parse(text.as_bytes()) {
                    Ok(SipMessage::Request(r)) => Some(r),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    fn opened(actions: &[Action]) -> Option<u64> {
        actions.iter().find_map(|a| match a {
            Action::Open { generation, .. } => Some(*generation),
            _ => None,
        })
    }

    /// Socket open, REGISTER challenged, REGISTER with credentials answered `final_code`.
    fn register(s: &mut Supervisor, now: Instant, generation: u64, final_code: u16) {
        s.handle_open(now, generation);
        let first = sent_requests(&actions(s));
        assert_eq!(first.len(), 1, "one REGISTER on open");
        s.handle_message(now, generation, &reply(&first[0], 401, &[WWW_AUTH]))
            .unwrap();
        let second = sent_requests(&actions(s));
        assert_eq!(second.len(), 1, "REGISTER with credentials");
        let extra: &[(&str, &str)] = if final_code == 200 {
            &[("Expires", "600")]
        } else {
            &[]
        };
        s.handle_message(now, generation, &reply(&second[0], final_code, extra))
            .unwrap();
    }

    #[test]
    fn account_set_opens_a_socket_and_registers_on_open_with_one_challenge() {
        let mut s = Supervisor::new("urn:uuid:00000000-0000-4000-8000-000000000001".into(), 7);
        assert_eq!(s.snapshot().state, RegState::Unregistered);
        s.set_account(t(10), Some(account("pass1001")));
        let out = actions(&mut s);
        assert_eq!(
            out,
            [Action::Open {
                generation: 1,
                url: "ws://127.0.0.1:8088/".into()
            }]
        );
        assert_eq!(s.snapshot().state, RegState::Registering);
        register(&mut s, t(40), 1, 200);
        let snap = s.snapshot();
        assert_eq!(snap.state, RegState::Registered);
        assert_eq!(snap.aor.as_deref(), Some("1001@127.0.0.1"));
        assert_eq!(snap.registered_in_ms, Some(40.0));
    }

    #[test]
    fn the_same_account_again_changes_nothing() {
        let mut s = Supervisor::new(String::new(), 7);
        s.set_account(t(0), Some(account("pass1001")));
        actions(&mut s);
        s.set_account(t(5), Some(account("pass1001")));
        assert_eq!(actions(&mut s), []);
    }

    #[test]
    fn refused_socket_retries_within_a_second_then_backs_off() {
        let mut s = Supervisor::new(String::new(), 7);
        s.set_account(t(0), Some(account("pass1001")));
        actions(&mut s);
        s.handle_closed(t(5), 1);
        assert_eq!(s.snapshot().state, RegState::Unreachable);
        let first_retry = s.retry_at().unwrap();
        assert!(
            first_retry >= t(505) && first_retry <= t(1005),
            "{first_retry:?}"
        );
        s.handle_timeout(first_retry);
        assert_eq!(opened(&actions(&mut s)), Some(2));
        s.handle_closed(first_retry, 2);
        let second_retry = s.retry_at().unwrap();
        assert!(second_retry - first_retry >= Duration::from_millis(1000));
        // A late close of the first socket is not news.
        s.handle_closed(second_retry, 1);
        assert_eq!(s.retry_at(), Some(second_retry));
    }

    #[test]
    fn a_wake_up_skips_the_backoff_wait_but_not_an_open_attempt() {
        let mut s = Supervisor::new(String::new(), 7);
        s.set_account(t(0), Some(account("pass1001")));
        actions(&mut s);
        for generation in 1..=6 {
            s.handle_closed(t(generation), generation);
            s.revive(t(generation));
            assert_eq!(opened(&actions(&mut s)), Some(generation + 1));
        }
        // Already connecting: a second wake-up does not open another socket.
        s.revive(t(10));
        assert_eq!(actions(&mut s), []);
        // Frames of a replaced socket are not fed to the engine.
        assert_eq!(s.handle_message(t(11), 1, b"garbage"), Ok(()));
    }

    #[test]
    fn a_hanging_connect_is_abandoned_after_the_timeout() {
        let mut s = Supervisor::new(String::new(), 7);
        s.set_account(t(0), Some(account("pass1001")));
        actions(&mut s);
        assert_eq!(s.poll_timeout(), Some(t(10_000)));
        s.handle_timeout(t(10_000));
        assert_eq!(actions(&mut s), [Action::Close { generation: 1 }]);
        assert_eq!(s.snapshot().state, RegState::Unreachable);
        assert!(s.retry_at().is_some());
    }

    #[test]
    fn rejected_credential_closes_and_is_never_retried_until_the_account_changes() {
        let mut s = Supervisor::new(String::new(), 7);
        s.set_account(t(0), Some(account("wrong")));
        actions(&mut s);
        s.handle_open(t(10), 1);
        let first = sent_requests(&actions(&mut s));
        s.handle_message(t(20), 1, &reply(&first[0], 401, &[WWW_AUTH]))
            .unwrap();
        let second = sent_requests(&actions(&mut s));
        // The same nonce challenged again: the password is wrong.
        s.handle_message(t(30), 1, &reply(&second[0], 401, &[WWW_AUTH]))
            .unwrap();
        assert_eq!(s.snapshot().state, RegState::AuthFailed);
        assert_eq!(actions(&mut s), [Action::Close { generation: 1 }]);
        assert_eq!(s.retry_at(), None);
        s.handle_timeout(t(3_600_000));
        s.revive(t(3_600_001));
        assert_eq!(actions(&mut s), []);
        assert_eq!(s.snapshot().state, RegState::AuthFailed);

        s.set_account(t(3_600_002), Some(account("pass1001")));
        assert_eq!(opened(&actions(&mut s)), Some(2));
        assert_eq!(s.snapshot().state, RegState::Registering);
    }

    #[test]
    fn other_rejections_show_the_status_and_keep_retrying() {
        let mut s = Supervisor::new(String::new(), 7);
        s.set_account(t(0), Some(account("pass1001")));
        actions(&mut s);
        s.handle_open(t(10), 1);
        let first = sent_requests(&actions(&mut s));
        s.handle_message(t(20), 1, &reply(&first[0], 404, &[]))
            .unwrap();
        let snap = s.snapshot();
        assert_eq!(
            (snap.state, snap.status_code),
            (RegState::Rejected, Some(404))
        );
        assert!(actions(&mut s).contains(&Action::Close { generation: 1 }));
        assert!(s.retry_at().is_some());
    }

    #[test]
    fn a_drop_after_registration_reconnects_and_reregisters_quickly() {
        let mut s = Supervisor::new(String::new(), 7);
        s.set_account(t(0), Some(account("pass1001")));
        actions(&mut s);
        register(&mut s, t(10), 1, 200);
        actions(&mut s);
        s.handle_closed(t(60_000), 1);
        assert_eq!(s.snapshot().state, RegState::Unreachable);
        let retry = s.retry_at().unwrap();
        assert!(retry - t(60_000) <= Duration::from_secs(1));
        s.handle_timeout(retry);
        assert_eq!(opened(&actions(&mut s)), Some(2));
        s.handle_open(retry, 2);
        let again = sent_requests(&actions(&mut s));
        assert_eq!(again.len(), 1, "handle_connected re-registers by itself");
        assert_eq!(again[0].method, rsip::Method::Register);
        // registered_in_ms keeps the first registration after worker start.
        assert_eq!(s.snapshot().registered_in_ms, Some(10.0));
    }

    #[test]
    fn an_unanswered_keepalive_closes_and_reconnects() {
        let mut s = Supervisor::new(String::new(), 7);
        s.set_account(t(0), Some(account("pass1001")));
        actions(&mut s);
        register(&mut s, t(10), 1, 200);
        actions(&mut s);
        let mut now = t(10);
        let mut closed = false;
        for _ in 0..100 {
            let Some(next) = s.poll_timeout() else { break };
            now = next;
            s.handle_timeout(now);
            if actions(&mut s).contains(&Action::Close { generation: 1 }) {
                closed = true;
                break;
            }
        }
        assert!(closed, "the keepalive gave up on the silent socket");
        assert!(
            now - t(10) <= Duration::from_secs(40),
            "noticed after {:?}",
            now - t(10)
        );
        assert_eq!(s.snapshot().state, RegState::Unreachable);
        assert!(s.retry_at().is_some());
    }

    #[test]
    fn switching_accounts_unregisters_the_old_binding_first() {
        let mut s = Supervisor::new(String::new(), 7);
        s.set_account(t(0), Some(account("pass1001")));
        actions(&mut s);
        register(&mut s, t(10), 1, 200);
        actions(&mut s);
        let mut other = account("pass1002");
        other.username = "1002".into();
        s.set_account(t(20), Some(other));
        let out = actions(&mut s);
        let unregister = sent_requests(&out[..1]);
        assert_eq!(
            unregister.len(),
            1,
            "the un-REGISTER goes out before the socket closes"
        );
        assert_eq!(header(&unregister[0], "Expires"), Some("0"));
        assert_eq!(
            &out[1..],
            [
                Action::Close { generation: 1 },
                Action::Open {
                    generation: 2,
                    url: "ws://127.0.0.1:8088/".into()
                }
            ]
        );
        s.set_account(t(30), None);
        assert_eq!(actions(&mut s), [Action::Close { generation: 2 }]);
        assert_eq!(
            s.snapshot(),
            Snapshot {
                registered_in_ms: Some(10.0),
                ..Snapshot::unregistered()
            }
        );
    }
    fn secure_account() -> ValidAccount {
        Account {
            server: "wss://pbx.example.com:8443".into(),
            ..account("pass1001").to_account()
        }
        .validate()
        .unwrap()
    }

    /// wss connect fails → probe https://host:port/ → net::ERR_CERT_* → tls_error,
    /// kept across retries until a probe gets through.
    #[test]
    fn a_failed_wss_connect_is_probed_and_a_certificate_error_is_shown() {
        let mut s = Supervisor::new("urn:uuid:x".into(), 1);
        s.set_account(t(0), Some(secure_account()));
        let g1 = opened(&actions(&mut s)).unwrap();
        s.handle_closed(t(50), g1);
        let probe = actions(&mut s);
        assert!(probe.contains(&Action::ProbeTls {
            generation: g1,
            url: "https://pbx.example.com:8443/".into()
        }));
        assert_eq!(s.snapshot().state, RegState::Unreachable);

        s.handle_probe(t(80), g1, Some("net::ERR_CERT_AUTHORITY_INVALID"));
        assert_eq!(s.snapshot().state, RegState::TlsError);

        // The retry fails the same way: no flicker back to "unreachable".
        s.revive(t(100));
        let g2 = opened(&actions(&mut s)).unwrap();
        s.handle_closed(t(150), g2);
        assert_eq!(s.snapshot().state, RegState::TlsError);

        // The user accepted the certificate; the server is now just down.
        s.handle_probe(t(200), g2, Some("net::ERR_CONNECTION_REFUSED"));
        assert_eq!(s.snapshot().state, RegState::Unreachable);
    }

    #[test]
    fn a_probe_that_gets_an_answer_means_tls_is_fine() {
        let mut s = Supervisor::new("urn:uuid:x".into(), 1);
        s.set_account(t(0), Some(secure_account()));
        let g1 = opened(&actions(&mut s)).unwrap();
        s.handle_closed(t(50), g1);
        s.handle_probe(t(80), g1, None);
        assert_eq!(s.snapshot().state, RegState::Unreachable);
    }

    #[test]
    fn plain_ws_and_dropped_open_sockets_are_not_probed() {
        let mut s = Supervisor::new("urn:uuid:x".into(), 1);
        s.set_account(t(0), Some(account("pass1001")));
        let g1 = opened(&actions(&mut s)).unwrap();
        s.handle_closed(t(50), g1);
        assert!(!actions(&mut s).iter().any(|a| matches!(a, Action::ProbeTls { .. })));

        let mut s = Supervisor::new("urn:uuid:x".into(), 1);
        s.set_account(t(0), Some(secure_account()));
        let g1 = opened(&actions(&mut s)).unwrap();
        s.handle_open(t(10), g1);
        s.handle_closed(t(50), g1);
        assert!(!actions(&mut s).iter().any(|a| matches!(a, Action::ProbeTls { .. })));
    }

    #[test]
    fn certificate_errors_are_told_from_other_network_errors() {
        assert!(is_certificate_error("net::ERR_CERT_AUTHORITY_INVALID"));
        assert!(is_certificate_error("net::ERR_CERT_COMMON_NAME_INVALID"));
        assert!(is_certificate_error("net::ERR_SSL_PROTOCOL_ERROR"));
        assert!(!is_certificate_error("net::ERR_CONNECTION_REFUSED"));
        assert!(!is_certificate_error("net::ERR_NAME_NOT_RESOLVED"));
        assert!(!is_certificate_error(""));
    }
}
