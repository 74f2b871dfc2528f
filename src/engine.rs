//! The user agent: one sans-IO object that owns the transactions, the
//! registration, the keepalive (and, as they land, dialogs, calls and
//! subscriptions) of one account on one WebSocket connection.
//!
//! Inputs are `handle_*` calls and commands, each given `now`; outputs are
//! drained with [`UserAgent::poll_transmit`], [`UserAgent::poll_event`] and
//! [`UserAgent::poll_timeout`]. See the crate docs for the drive loop.

use std::collections::VecDeque;

use rsip::{Method, Request, SipMessage};
use thiserror::Error;

use crate::auth::Credentials;
use crate::codec::{self, CodecError};
use crate::keepalive::{Keepalive, KeepaliveAction};
use crate::random::Random;
use crate::registration::{self, Registration, RegistrationState};
pub use crate::request::Transport;
use crate::request::{make_header, LocalParty};
use crate::time::Instant;
use crate::transaction::{response_to, ClientEvent, ServerInput, TransactionLayer};

/// Methods we answer; sent in Allow (RFC 3261 §20.5).
const ALLOW: &str = "OPTIONS";

/// The account and the knobs of one user agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UaConfig {
    /// The user part of the address of record.
    pub username: String,
    /// The SIP domain (the glue passes the WebSocket URL's host).
    pub domain: String,
    /// Digest user name when it differs from `username`.
    pub auth_username: Option<String>,
    pub password: String,
    pub display_name: Option<String>,
    /// `urn:uuid:…`, persisted by the glue so the registrar sees one device
    /// across restarts (RFC 5626 §4.1). Empty: one is drawn from the seed.
    pub instance_id: String,
    /// Requested registration lifetime in seconds.
    pub register_expires: u32,
    /// `User-Agent` header value, e.g. `Ringside/0.1.0`.
    pub user_agent: String,
    pub transport: Transport,
}

impl UaConfig {
    /// A config with the defaults of the contract (600 s, WSS).
    pub fn new(username: &str, domain: &str, password: &str) -> Self {
        UaConfig {
            username: username.into(),
            domain: domain.into(),
            auth_username: None,
            password: password.into(),
            display_name: None,
            instance_id: String::new(),
            register_expires: 600,
            user_agent: format!("Ringside/{}", env!("CARGO_PKG_VERSION")),
            transport: Transport::Wss,
        }
    }
}

/// Something the application should know about. Non-exhaustive: new
/// features add variants, so match with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    RegistrationChanged(RegistrationState),
    /// The keepalive OPTIONS went unanswered: the connection is dead even if
    /// the socket looks open. Close it and reconnect.
    KeepaliveFailed,
}

/// One SIP message for the one connection (a WebSocket text frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub text: String,
}

/// Why an input was not used. Nothing here is fatal: the engine stays
/// usable, the glue may log it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    #[error("unparseable SIP message: {0}")]
    Codec(#[from] CodecError),
    #[error("message arrived while not connected")]
    NotConnected,
}

/// Who is waiting for a client transaction's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    Registration(u64),
    Keepalive(u64),
}

pub struct UserAgent {
    random: Random,
    local: LocalParty,
    credentials: Credentials,
    connected: bool,
    transactions: TransactionLayer<Owner>,
    registration: Registration,
    keepalive: Keepalive,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    reported_registration: RegistrationState,
}

impl std::fmt::Debug for UserAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgent")
            .field("aor", &self.local.aor)
            .field("connected", &self.connected)
            .field("registration", self.registration.state())
            .finish_non_exhaustive()
    }
}

impl UserAgent {
    /// `seed` is the only source of randomness (tags, branches, Call-IDs,
    /// cnonces, the Contact): give it 64 bits from `crypto.getRandomValues`.
    pub fn new(config: UaConfig, seed: u64) -> Self {
        let mut random = Random::new(seed);
        let instance_id = if config.instance_id.is_empty() {
            random.instance_id()
        } else {
            config.instance_id.clone()
        };
        let local = LocalParty::new(
            &config.username,
            &config.domain,
            config.display_name.clone(),
            config.transport,
            instance_id,
            config.user_agent.clone(),
            &mut random,
        );
        let credentials = Credentials {
            username: config
                .auth_username
                .clone()
                .unwrap_or_else(|| config.username.clone()),
            password: config.password.clone(),
        };
        let registration = Registration::new(config.register_expires, &mut random);
        UserAgent {
            random,
            local,
            credentials,
            connected: false,
            transactions: TransactionLayer::new(),
            registration,
            keepalive: Keepalive::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            reported_registration: RegistrationState::Unregistered,
        }
    }

    /// The `urn:uuid:` this agent registers with (persist it when it was drawn).
    pub fn instance_id(&self) -> &str {
        &self.local.instance_id
    }

    pub fn registration_state(&self) -> &RegistrationState {
        self.registration.state()
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Live (client, server) transactions, for leak checks.
    pub fn transaction_count(&self) -> (usize, usize) {
        self.transactions.len()
    }

    // ---- connection ----------------------------------------------------

    /// The WebSocket is open.
    pub fn handle_connected(&mut self, now: Instant) {
        self.connected = true;
        self.keepalive.on_connected(now);
        let ctx = reg_ctx(&self.local, &self.credentials, &mut self.random, true);
        if let Some(out) = self.registration.on_connected(now, ctx) {
            self.send_register(now, out);
        }
        self.flush();
    }

    /// The WebSocket closed or failed.
    pub fn handle_disconnected(&mut self, _now: Instant) {
        self.connected = false;
        self.keepalive.on_disconnected();
        let failed = self.transactions.transport_lost();
        self.registration.on_disconnected();
        // The owners were told by on_disconnected already; the transaction
        // errors carry nothing more.
        drop(failed);
        self.transmits.clear();
        self.flush();
    }

    /// One WebSocket message.
    pub fn handle_transport(&mut self, now: Instant, bytes: &[u8]) -> Result<(), EngineError> {
        if !self.connected {
            return Err(EngineError::NotConnected);
        }
        let parsed = codec::parse(bytes);
        let result = match parsed {
            Ok(SipMessage::Response(response)) => {
                if let Some((owner, event)) = self.transactions.on_response(now, response) {
                    self.dispatch(now, owner, event);
                }
                Ok(())
            }
            Ok(SipMessage::Request(request)) => {
                match self.transactions.on_request(now, request) {
                    ServerInput::New(request) => self.handle_request(now, request),
                    ServerInput::Absorbed | ServerInput::AckFor2xx(_) => {}
                }
                Ok(())
            }
            // A CRLF keepalive from the far end (RFC 5626 §4.4.1) is not an error.
            Err(CodecError::Empty) => Ok(()),
            Err(e) => Err(EngineError::Codec(e)),
        };
        self.flush();
        result
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let (client_events, _server_events) = self.transactions.handle_timeout(now);
        for (owner, event) in client_events {
            self.dispatch(now, owner, event);
        }
        let ctx = reg_ctx(
            &self.local,
            &self.credentials,
            &mut self.random,
            self.connected,
        );
        if let Some(out) = self.registration.on_timeout(now, ctx) {
            self.send_register(now, out);
        }
        if self.connected {
            match self
                .keepalive
                .on_timeout(now, &self.local, &mut self.random)
            {
                Some(KeepaliveAction::Send {
                    generation,
                    request,
                }) => {
                    // A duplicate branch cannot happen with fresh random branches.
                    let _ =
                        self.transactions
                            .send_request(now, request, Owner::Keepalive(generation));
                }
                Some(KeepaliveAction::Failed) => self.events.push_back(Event::KeepaliveFailed),
                None => {}
            }
        }
        self.flush();
    }

    // ---- commands ------------------------------------------------------

    /// Register (now if connected, else on the next `handle_connected`), and
    /// keep the binding refreshed until `unregister`.
    pub fn register(&mut self, now: Instant) {
        let ctx = reg_ctx(
            &self.local,
            &self.credentials,
            &mut self.random,
            self.connected,
        );
        if let Some(out) = self.registration.register(now, ctx) {
            self.send_register(now, out);
        }
        self.flush();
    }

    /// Remove our binding (Expires 0) and stop refreshing.
    pub fn unregister(&mut self, now: Instant) {
        let ctx = reg_ctx(
            &self.local,
            &self.credentials,
            &mut self.random,
            self.connected,
        );
        if let Some(out) = self.registration.unregister(now, ctx) {
            self.send_register(now, out);
        }
        self.flush();
    }

    // ---- outputs -------------------------------------------------------

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call `handle_timeout` next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let keepalive = if self.connected {
            self.keepalive.poll_timeout()
        } else {
            None
        };
        [
            self.transactions.poll_timeout(),
            self.registration.poll_timeout(),
            keepalive,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- internals -----------------------------------------------------

    fn dispatch(&mut self, now: Instant, owner: Owner, event: ClientEvent) {
        match owner {
            Owner::Registration(generation) => {
                let ctx = reg_ctx(
                    &self.local,
                    &self.credentials,
                    &mut self.random,
                    self.connected,
                );
                if let Some(out) = self.registration.on_event(now, generation, event, ctx) {
                    self.send_register(now, out);
                }
            }
            Owner::Keepalive(generation) => self.keepalive.on_event(generation, &event),
        }
    }

    fn send_register(&mut self, now: Instant, out: registration::Outgoing) {
        if !self.connected {
            return;
        }
        let owner = Owner::Registration(out.generation);
        let _ = self.transactions.send_request(now, out.request, owner);
    }

    fn handle_request(&mut self, now: Instant, request: Request) {
        let to_tag = self.random.tag();
        let mut response = match request.method {
            // RFC 3261 §11.2: say what we can do.
            Method::Options => {
                let mut r = response_to(&request, 200, Some(&to_tag));
                r.headers.push(make_header("Allow", ALLOW.into()));
                r.headers
                    .push(make_header("Accept", "application/sdp".into()));
                r
            }
            _ => {
                let mut r = response_to(&request, 405, Some(&to_tag));
                r.headers.push(make_header("Allow", ALLOW.into()));
                r
            }
        };
        if !self.local.user_agent.is_empty() {
            response
                .headers
                .push(make_header("Server", self.local.user_agent.clone()));
        }
        let _ = self.transactions.respond(now, response);
    }

    /// Moves queued messages out of the transaction layer and reports a
    /// registration state that changed since the last report.
    fn flush(&mut self) {
        while let Some(text) = self.transactions.poll_transmit() {
            if self.connected {
                self.transmits.push_back(Transmit { text });
            }
        }
        let state = self.registration.state();
        if *state != self.reported_registration {
            self.reported_registration = state.clone();
            self.events
                .push_back(Event::RegistrationChanged(state.clone()));
        }
    }
}

fn reg_ctx<'a>(
    local: &'a LocalParty,
    credentials: &'a Credentials,
    random: &'a mut Random,
    connected: bool,
) -> registration::Context<'a> {
    registration::Context {
        local,
        credentials,
        random,
        connected,
    }
}

/// Helpers for ladder tests: a hand-stepped clock, a UA, and a far end
/// that answers what the UA sent.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn at_secs(s: u64) -> Instant {
        Instant::from_millis(s * 1000)
    }

    pub fn config() -> UaConfig {
        let mut c = UaConfig::new("1001", "pbx.test", "pass1001");
        c.instance_id = "urn:uuid:6a1f6e55-0000-4000-8000-00000000a001".into();
        c
    }

    /// A connected UA with its drained startup output.
    pub fn connected_ua(now: Instant) -> UserAgent {
        let mut ua = UserAgent::new(config(), 42);
        ua.handle_connected(now);
        ua
    }

    /// Every message the UA queued, parsed back.
    pub fn sent(ua: &mut UserAgent) -> Vec<SipMessage> {
        std::iter::from_fn(|| ua.poll_transmit())
            .map(|t| codec::parse(t.text.as_bytes()).expect("engine output parses"))
            .collect()
    }

    pub fn sent_requests(ua: &mut UserAgent) -> Vec<Request> {
        sent(ua)
            .into_iter()
            .filter_map(|m| match m {
                SipMessage::Request(r) => Some(r),
                SipMessage::Response(_) => None,
            })
            .collect()
    }

    pub fn events(ua: &mut UserAgent) -> Vec<Event> {
        std::iter::from_fn(|| ua.poll_event()).collect()
    }

    /// The far end's response to `request`, as wire bytes.
    pub fn reply(request: &Request, code: u16, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut r = response_to(request, code, Some("far1"));
        for (n, v) in headers {
            r.headers.push(make_header(n, (*v).to_string()));
        }
        codec::serialize(&SipMessage::Response(r)).into_bytes()
    }

    pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
        codec::header(request, name)
    }
}
