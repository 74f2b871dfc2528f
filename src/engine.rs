//! The user agent: one sans-IO object that owns the transactions, the
//! registration, the keepalive, the calls, subscriptions, publications and
//! messages of one account on one WebSocket connection.
//!
//! Inputs are `handle_*` calls and commands, each given `now`; outputs are
//! drained with [`UserAgent::poll_transmit`], [`UserAgent::poll_event`] and
//! [`UserAgent::poll_timeout`]. See the crate docs for the drive loop.

use std::collections::VecDeque;

use rsip::{Method, Request, Response, SipMessage};
use thiserror::Error;

use crate::auth::{AuthError, Credentials, DigestSession};
use crate::call::{Call, CallError, CallHandle, CallState, CallTx, EndReason};
use crate::codec::headers::Replaces;
use crate::codec::{self, CodecError};
use crate::keepalive::{Keepalive, KeepaliveAction};
use crate::message::{MessageError, MessageHandle, MessageOutcome, OutgoingMessage};
use crate::publication::{Publication, PublicationError, PublicationHandle, PublicationStatus};
use crate::random::Random;
use crate::registration::{self, Registration, RegistrationState};
pub use crate::request::Transport;
use crate::request::{make_header, retry_with_credentials, LocalParty};
use crate::subscription::{
    Subscription, SubscriptionError, SubscriptionHandle, SubscriptionStatus,
};
use crate::time::Instant;
use crate::transaction::{response_to, ClientEvent, ServerInput, TransactionLayer};

/// Methods we answer; sent in Allow (RFC 3261 §20.5).
pub(crate) const ALLOW: &str =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, UPDATE, MESSAGE";

/// Option tags we implement (RFC 3261 §19.2): Replaces (RFC 3891) and
/// session timers (RFC 4028); no 100rel, so requiring it gets a 420.
pub(crate) const SUPPORTED: &[&str] = &["replaces", "timer"];

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
    /// Answer an incoming INVITE with 180 Ringing at once (the default).
    /// `false`: the application screens the call first and calls
    /// [`UserAgent::ring`] for the ones it lets ring, so a call it rejects
    /// or forwards never rang (no ringback blip at the caller).
    pub ring_at_once: bool,
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
            ring_at_once: true,
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
    /// Someone calls us; the engine already answered 180 Ringing (or waits
    /// for [`UserAgent::ring`] when [`UaConfig::ring_at_once`] is off).
    IncomingCall {
        call: CallHandle,
        /// From and To header values as received (name-addr).
        from: String,
        to: String,
        /// The caller's offer (None: the offer is up to our answer).
        sdp: Option<String>,
        /// An INVITE with Replaces: answering it ends this other call.
        replaces: Option<CallHandle>,
        referred_by: Option<String>,
    },
    /// 180/183 on our outgoing call; `sdp` for early media.
    CallProgress {
        call: CallHandle,
        code: u16,
        sdp: Option<String>,
    },
    /// The session is established (outgoing: 2xx; incoming: ACK received).
    CallAnswered {
        call: CallHandle,
        sdp: Option<String>,
    },
    /// A re-INVITE/UPDATE (ours or the peer's) changed the session.
    CallUpdated {
        call: CallHandle,
        sdp: Option<String>,
        local_hold: bool,
        remote_hold: bool,
        /// Both sides still have an enabled video stream (false once either
        /// switched the call to audio, or it never had video).
        video: bool,
    },
    /// Our hold/resume was refused (the call goes on as before).
    CallUpdateFailed {
        call: CallHandle,
        code: u16,
    },
    CallEnded {
        call: CallHandle,
        reason: EndReason,
    },
    /// The connection dropped under this confirmed call: it waits for a
    /// new one (up to [`crate::call::RECOVERY_LIMIT`]); the media may go on.
    CallReconnecting {
        call: CallHandle,
    },
    /// A new connection is registered and the call's target refresh sent.
    CallReconnected {
        call: CallHandle,
    },
    Dtmf {
        call: CallHandle,
        digit: char,
        duration_ms: u32,
    },
    /// The peer asks us to call `target` (RFC 3515); answer with
    /// `accept_transfer` or `decline_transfer`.
    TransferRequested {
        call: CallHandle,
        target: String,
        replaces: Option<Replaces>,
        referred_by: Option<String>,
    },
    /// Progress of a transfer we asked for (sipfrag status code).
    TransferProgress {
        call: CallHandle,
        code: u16,
        done: bool,
    },
    SubscriptionChanged {
        subscription: SubscriptionHandle,
        status: SubscriptionStatus,
    },
    /// A NOTIFY with a body (dialog-info, message-summary, PIDF, ...): parse
    /// it with the `event` module.
    Notify {
        subscription: SubscriptionHandle,
        package: String,
        content_type: Option<String>,
        body: String,
    },
    /// A NOTIFY outside any subscription (the old Asterisk-style MWI):
    /// already answered 200.
    UnsolicitedNotify {
        package: String,
        content_type: Option<String>,
        body: String,
    },
    MessageSent {
        message: MessageHandle,
        outcome: MessageOutcome,
    },
    /// A MESSAGE for us (already answered 200).
    MessageReceived {
        from: String,
        to: String,
        content_type: Option<String>,
        body: String,
    },
    PublicationChanged {
        publication: PublicationHandle,
        status: PublicationStatus,
    },
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
pub(crate) enum Owner {
    Registration(u64),
    Keepalive(u64),
    Call(CallHandle, CallTx),
    Subscription(SubscriptionHandle, u64),
    Message(MessageHandle),
    Publication(PublicationHandle, u64),
}

/// What a protocol module may touch while it handles one input.
pub(crate) struct Io<'a> {
    pub now: Instant,
    pub local: &'a LocalParty,
    pub credentials: &'a Credentials,
    pub random: &'a mut Random,
    transactions: &'a mut TransactionLayer<Owner>,
    events: &'a mut VecDeque<Event>,
}

impl Io<'_> {
    pub fn send(&mut self, request: Request, owner: Owner) {
        // Fresh random branches never collide; a collision would be a bug
        // upstream, and dropping the request is the safe outcome.
        let _ = self.transactions.send_request(self.now, request, owner);
    }

    /// Starts the 64·T1 wait for the final response of a CANCELled INVITE.
    pub fn invite_cancelled(&mut self, invite: &Request) {
        self.transactions.invite_cancelled(self.now, invite);
    }

    /// ACK of a 2xx: not a transaction (RFC 3261 §17.1.1.3).
    pub fn send_ack(&mut self, ack: Request) {
        self.transactions.send_stateless(SipMessage::Request(ack));
    }

    pub fn respond(&mut self, response: Response) {
        if let Err(crate::transaction::TransactionError::NoServerTransaction) =
            self.transactions.respond(self.now, response.clone())
        {
            // The server transaction already ended (a 487 after the
            // transaction answered, a late 2xx retransmission): the
            // response still has to reach the peer.
            self.transactions
                .send_stateless(SipMessage::Response(response));
        }
    }

    /// A 2xx retransmission by the UAS core (RFC 3261 §13.3.1.4).
    pub fn retransmit(&mut self, response: Response) {
        self.transactions
            .send_stateless(SipMessage::Response(response));
    }

    pub fn emit(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// `original` again with credentials for the challenges of `response`,
    /// as a new transaction with CSeq `cseq`; `Err` when the challenge must
    /// not be answered (see [`DigestSession::handle_challenges`]).
    pub fn reauthorize(
        &mut self,
        digest: &mut DigestSession,
        original: &Request,
        response: &Response,
        cseq: u32,
    ) -> Result<Request, AuthError> {
        digest.handle_challenges(&codec::challenge::challenges(response))?;
        let method = original.method.to_string();
        let uri = original.uri.to_string();
        let auth = digest.authorize(self.credentials, &method, &uri, &original.body, self.random);
        Ok(retry_with_credentials(
            original,
            cseq,
            auth,
            self.local,
            self.random,
        ))
    }
}

/// Borrows the parts of the agent a protocol module may use, leaving the
/// module collections (calls, ...) free to be borrowed alongside.
macro_rules! io {
    ($ua:ident, $now:expr) => {
        Io {
            now: $now,
            local: &$ua.local,
            credentials: &$ua.credentials,
            random: &mut $ua.random,
            transactions: &mut $ua.transactions,
            events: &mut $ua.events,
        }
    };
}

pub struct UserAgent {
    random: Random,
    local: LocalParty,
    credentials: Credentials,
    connected: bool,
    transactions: TransactionLayer<Owner>,
    registration: Registration,
    keepalive: Keepalive,
    calls: Vec<Call>,
    subscriptions: Vec<Subscription>,
    messages: Vec<OutgoingMessage>,
    publications: Vec<Publication>,
    /// INVITE transactions of calls that were ringing when the connection
    /// dropped, ended on the next one (480 / CANCEL) until the deadline.
    orphans: Vec<(Instant, crate::call::RingingSnapshot)>,
    next_handle: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    reported_registration: RegistrationState,
    ring_at_once: bool,
}

impl std::fmt::Debug for UserAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgent")
            .field("aor", &self.local.aor)
            .field("connected", &self.connected)
            .field("registration", self.registration.state())
            .field("calls", &self.calls.len())
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
            calls: Vec::new(),
            subscriptions: Vec::new(),
            messages: Vec::new(),
            publications: Vec::new(),
            orphans: Vec::new(),
            next_handle: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            reported_registration: RegistrationState::Unregistered,
            ring_at_once: config.ring_at_once,
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

    /// Whether both sides of `call` have video enabled.
    pub fn call_has_video(&self, call: CallHandle) -> bool {
        self.calls
            .iter()
            .find(|c| c.handle == call)
            .is_some_and(|c| c.video())
    }

    /// The state of a call the engine still knows (ended calls are
    /// forgotten once their last protocol duty is done).
    pub fn call_state(&self, call: CallHandle) -> Option<CallState> {
        self.calls
            .iter()
            .find(|c| c.handle == call)
            .map(|c| c.state().clone())
    }

    /// 180 Ringing for an incoming call the application let through (with
    /// [`UaConfig::ring_at_once`] off).
    pub fn ring(&mut self, now: Instant, call: CallHandle) -> Result<(), CallError> {
        let mut io = io!(self, now);
        let result = match self.calls.iter_mut().find(|c| c.handle == call) {
            Some(c) => c.ring(&mut io),
            None => Err(CallError::NoSuchCall),
        };
        self.flush();
        result
    }

    /// The auto-answer request of an incoming call (see
    /// [`Call::auto_answer_request`]).
    pub fn auto_answer_request(&self, call: CallHandle) -> Option<u32> {
        self.calls
            .iter()
            .find(|c| c.handle == call)
            .and_then(Call::auto_answer_request)
    }

    /// Calls the engine still tracks, ended ones included until finished.
    pub fn calls(&self) -> impl Iterator<Item = (CallHandle, &CallState)> {
        self.calls.iter().map(|c| (c.handle, c.state()))
    }

    /// The dialog state of an established call, for a user agent that
    /// takes the call over later (a restarted worker): store it whenever the
    /// call changes. `None` before the call is connected or once it ended.
    pub fn export_call(&self, call: CallHandle) -> Option<crate::call::CallSnapshot> {
        self.calls
            .iter()
            .find(|c| c.handle == call)
            .and_then(Call::snapshot)
    }

    /// Takes over a call another user agent exported: the dialog goes on
    /// under a new handle, and a re-INVITE with our current Contact moves
    /// the peer's requests to this connection (RFC 3261 §12.2.1.1 target
    /// refresh). A peer that has forgotten the dialog answers 481 and the
    /// call ends with `RemoteHangup`.
    pub fn restore_call(
        &mut self,
        now: Instant,
        snapshot: &crate::call::CallSnapshot,
    ) -> Result<CallHandle, crate::call::RestoreError> {
        if !self.connected {
            return Err(crate::call::RestoreError::NotConnected);
        }
        if self
            .calls
            .iter()
            .any(|c| !c.is_ended() && c.call_id() == Some(snapshot.call_id.as_str()))
        {
            return Err(crate::call::RestoreError::Duplicate);
        }
        let handle = self.new_handle();
        let mut io = io!(self, now);
        let call = Call::restored(&mut io, handle, snapshot)?;
        self.calls.push(call);
        self.flush();
        Ok(handle)
    }

    /// The INVITE transaction of a call still ringing, for the agent that
    /// ends it if this one dies (see [`crate::call::orphan`]); store it
    /// whenever a call starts ringing. `None` for other states.
    pub fn export_ringing(&self, call: CallHandle) -> Option<crate::call::RingingSnapshot> {
        self.calls
            .iter()
            .find(|c| c.handle == call)
            .and_then(Call::ringing_snapshot)
    }

    /// Ends a call another agent left ringing: 480 to the caller's INVITE,
    /// or CANCEL of ours, sent statelessly on this connection (the proxy
    /// matches both to its transaction by the Via branch).
    pub fn end_orphaned(
        &mut self,
        snapshot: &crate::call::RingingSnapshot,
    ) -> Result<(), crate::call::RestoreError> {
        if !self.connected {
            return Err(crate::call::RestoreError::NotConnected);
        }
        let message = snapshot.ending()?;
        self.transactions.send_stateless(message);
        self.flush();
        Ok(())
    }

    // ---- connection ----------------------------------------------------

    /// The WebSocket is open.
    pub fn handle_connected(&mut self, now: Instant) {
        self.connected = true;
        self.keepalive.on_connected(now);
        let ctx = reg_ctx(&self.local, &self.credentials, &mut self.random, true);
        match self.registration.on_connected(now, ctx) {
            Some(out) => self.send_register(now, out),
            // Nobody registers: the connection is as good as it gets.
            None => self.reconnect_calls(now),
        }
        let mut io = io!(self, now);
        for sub in &mut self.subscriptions {
            sub.on_connected(&mut io);
        }
        for publication in &mut self.publications {
            publication.on_connected(&mut io);
        }
        self.flush();
    }

    /// The WebSocket closed or failed.
    pub fn handle_disconnected(&mut self, now: Instant) {
        self.connected = false;
        self.keepalive.on_disconnected();
        let mark = self.events.len();
        // A ringing call ends with the connection, but the caller's INVITE
        // (or ours at the callee) still rings at the PBX: the next
        // connection ends it, as after a worker restart (`call::orphan`).
        let owed = now + crate::call::BYE_OWED_LIMIT;
        self.orphans.extend(
            self.calls
                .iter()
                .filter(|c| !c.is_ended())
                .filter_map(Call::ringing_snapshot)
                .map(|s| (owed, s)),
        );
        // Before their transactions fail: confirmed calls wait for the next
        // connection instead of ending (see `call::recovery`).
        let mut io = io!(self, now);
        for call in &mut self.calls {
            call.suspend(&mut io);
        }
        for (owner, event) in self.transactions.transport_lost() {
            self.dispatch(now, owner, event);
        }
        // Then each owner settles in its own terms (these override any
        // retry the transport error scheduled: nothing goes out until the
        // next connection).
        self.registration.on_disconnected();
        let mut io = io!(self, now);
        for call in &mut self.calls {
            call.on_transport_lost(&mut io);
        }
        for sub in &mut self.subscriptions {
            sub.on_transport_lost(&mut io);
        }
        for publication in &mut self.publications {
            publication.on_transport_lost(&mut io);
        }
        // Whatever the owners tried to send on the dead connection.
        let _ = self.transactions.transport_lost();
        self.link_calls(now, mark);
        self.transmits.clear();
        self.flush();
    }

    /// One WebSocket message.
    pub fn handle_transport(&mut self, now: Instant, bytes: &[u8]) -> Result<(), EngineError> {
        if !self.connected {
            return Err(EngineError::NotConnected);
        }
        let mark = self.events.len();
        let result = match codec::parse(bytes) {
            Ok(SipMessage::Response(response)) => {
                if let Some((owner, event)) = self.transactions.on_response(now, response) {
                    self.dispatch(now, owner, event);
                }
                Ok(())
            }
            Ok(SipMessage::Request(request)) => {
                match self.transactions.on_request(now, request) {
                    ServerInput::New(request) => self.handle_request(now, request),
                    ServerInput::AckFor2xx(ack) => {
                        let mut io = io!(self, now);
                        if let Some(call) = self.calls.iter_mut().find(|c| c.owns_request(&ack)) {
                            call.on_ack(&mut io, ack);
                        }
                    }
                    ServerInput::Absorbed => {}
                }
                Ok(())
            }
            // A CRLF keepalive from the far end (RFC 5626 §4.4.1) is not an error.
            Err(CodecError::Empty) => Ok(()),
            Err(e) => {
                // RFC 3261 §8.2: a request we cannot process is still answered
                // (400/413/416/501/505), so the sender does not retry until Timer F.
                if e.status_code().is_some() {
                    let tag = self.random.tag();
                    if let Some(text) = codec::error_response(bytes, &e, &tag) {
                        self.transmits.push_back(Transmit { text });
                    }
                }
                Err(EngineError::Codec(e))
            }
        };
        self.link_calls(now, mark);
        self.flush();
        result
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let mark = self.events.len();
        // A Timer H expiry (our non-2xx to an INVITE never ACKed) needs no
        // action: the call already ended when we sent that response.
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
                    let _ =
                        self.transactions
                            .send_request(now, *request, Owner::Keepalive(generation));
                }
                Some(KeepaliveAction::Failed) => self.events.push_back(Event::KeepaliveFailed),
                None => {}
            }
        }
        let mut io = io!(self, now);
        for call in &mut self.calls {
            if call.poll_timeout().is_some_and(|t| t <= now) {
                call.on_timeout(&mut io);
            }
        }
        if self.connected {
            for sub in &mut self.subscriptions {
                if sub.poll_timeout().is_some_and(|t| t <= now) {
                    sub.on_timeout(&mut io);
                }
            }
            for publication in &mut self.publications {
                if publication.poll_timeout().is_some_and(|t| t <= now) {
                    publication.on_timeout(&mut io);
                }
            }
        }
        self.link_calls(now, mark);
        self.flush();
    }

    // ---- registration commands ----------------------------------------

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

    // ---- call commands -------------------------------------------------

    /// Calls `target` (`1002`, `1002@host` or a full URI) with an SDP offer.
    pub fn call(&mut self, now: Instant, target: &str, sdp: &str) -> Result<CallHandle, CallError> {
        self.place_call(now, target, sdp, Vec::new())
    }

    /// `call` with extra INVITE headers (a function key's pickup Replaces,
    /// an intercom's Call-Info / Alert-Info).
    pub fn call_with_headers(
        &mut self,
        now: Instant,
        target: &str,
        sdp: &str,
        headers: Vec<(String, String)>,
    ) -> Result<CallHandle, CallError> {
        self.place_call(now, target, sdp, headers)
    }

    pub fn answer(&mut self, now: Instant, call: CallHandle, sdp: &str) -> Result<(), CallError> {
        self.with_call(now, call, |c, io| c.answer(io, sdp))
    }

    /// Refuse a ringing call: 486 (busy) or 603 (decline), or any 4xx–6xx.
    pub fn reject(&mut self, now: Instant, call: CallHandle, code: u16) -> Result<(), CallError> {
        self.with_call(now, call, |c, io| c.reject(io, code))
    }

    /// 302 a ringing call to `target` (voicemail, forwarding).
    pub fn redirect(
        &mut self,
        now: Instant,
        call: CallHandle,
        target: &str,
    ) -> Result<(), CallError> {
        self.with_call(now, call, |c, io| c.redirect(io, target))
    }

    /// BYE, CANCEL or 603, whatever the call's state needs. A call waiting
    /// for a lost connection ends at once; its BYE goes out on the next one.
    pub fn hangup(&mut self, now: Instant, call: CallHandle) -> Result<(), CallError> {
        self.with_call_offline(now, call, |c, io| c.hangup(io))
    }

    /// While the call waits for a lost connection, the wish is kept and
    /// rides on its target refresh.
    pub fn hold(&mut self, now: Instant, call: CallHandle) -> Result<(), CallError> {
        self.with_call_offline(now, call, |c, io| c.hold(io, true))
    }

    pub fn resume(&mut self, now: Instant, call: CallHandle) -> Result<(), CallError> {
        self.with_call_offline(now, call, |c, io| c.hold(io, false))
    }

    /// Switch a video call to audio (re-INVITE disabling video); the
    /// result arrives as [`Event::CallUpdated`] with `video: false`.
    pub fn stop_video(&mut self, now: Instant, call: CallHandle) -> Result<(), CallError> {
        self.with_call(now, call, |c, io| c.stop_video(io))
    }

    pub fn send_dtmf(
        &mut self,
        now: Instant,
        call: CallHandle,
        digit: char,
        duration_ms: u32,
    ) -> Result<(), CallError> {
        self.with_call(now, call, |c, io| c.send_dtmf(io, digit, duration_ms))
    }

    /// REFER the peer of `call` to `target`.
    pub fn transfer_blind(
        &mut self,
        now: Instant,
        call: CallHandle,
        target: &str,
    ) -> Result<(), CallError> {
        self.with_call(now, call, |c, io| c.refer(io, target, None))
    }

    /// REFER the peer of `call` to the peer of `to`, replacing our dialog
    /// with it (RFC 5589 §7).
    pub fn transfer_attended(
        &mut self,
        now: Instant,
        call: CallHandle,
        to: CallHandle,
    ) -> Result<(), CallError> {
        let other = self
            .calls
            .iter()
            .find(|c| c.handle == to)
            .ok_or(CallError::NoSuchCall)?;
        let replaces = other
            .replaces_for_peer()
            .ok_or(CallError::InvalidState("the other call is not connected"))?;
        let target = other.remote_aor().ok_or(CallError::InvalidState(
            "the other call has no peer address",
        ))?;
        self.with_call(now, call, |c, io| c.refer(io, &target, Some(replaces)))
    }

    /// Place the call a `TransferRequested` asked for; its progress is
    /// reported to the referrer by NOTIFY.
    pub fn accept_transfer(
        &mut self,
        now: Instant,
        call: CallHandle,
        target: &str,
        replaces: Option<&Replaces>,
        sdp: &str,
    ) -> Result<CallHandle, CallError> {
        let origin = self
            .calls
            .iter()
            .find(|c| c.handle == call)
            .ok_or(CallError::NoSuchCall)?;
        let mut extra = Vec::new();
        if let Some(by) = &origin.referred_by {
            extra.push(("Referred-By".to_string(), by.clone()));
        }
        if let Some(r) = replaces {
            extra.push(("Replaces".to_string(), r.to_string()));
        }
        let new = self.place_call(now, target, sdp, extra)?;
        if let Some(c) = self.calls.iter_mut().find(|c| c.handle == new) {
            c.transfer_origin = Some(call);
        }
        Ok(new)
    }

    pub fn decline_transfer(&mut self, now: Instant, call: CallHandle) -> Result<(), CallError> {
        self.with_call(now, call, |c, io| {
            c.notify_refer_progress(io, 603, "Declined");
            Ok(())
        })
    }

    // ---- subscription commands ----------------------------------------

    /// Subscribe to `package` (`dialog`, `message-summary`, `presence`) of
    /// `target`; kept alive until `unsubscribe` or a final termination.
    /// While disconnected it waits for the next connection.
    pub fn subscribe(
        &mut self,
        now: Instant,
        target: &str,
        package: &str,
        accept: Option<&str>,
        expires: u32,
    ) -> Result<SubscriptionHandle, SubscriptionError> {
        let handle = SubscriptionHandle(self.next_handle);
        self.next_handle = self.next_handle.wrapping_add(1);
        let connected = self.connected;
        let mut io = io!(self, now);
        let sub = Subscription::new(&mut io, handle, target, package, accept, expires, connected);
        self.subscriptions.push(sub);
        self.flush();
        Ok(handle)
    }

    pub fn unsubscribe(
        &mut self,
        now: Instant,
        subscription: SubscriptionHandle,
    ) -> Result<(), SubscriptionError> {
        let mut io = io!(self, now);
        let sub = self
            .subscriptions
            .iter_mut()
            .find(|s| s.handle == subscription)
            .ok_or(SubscriptionError::NoSuchSubscription)?;
        sub.unsubscribe(&mut io);
        self.flush();
        Ok(())
    }

    pub fn subscription_status(
        &self,
        subscription: SubscriptionHandle,
    ) -> Option<SubscriptionStatus> {
        self.subscriptions
            .iter()
            .find(|s| s.handle == subscription)
            .map(|s| s.status().clone())
    }

    // ---- MESSAGE and PUBLISH -------------------------------------------

    /// Sends a MESSAGE (RFC 3428); the outcome comes as `Event::MessageSent`.
    pub fn send_message(
        &mut self,
        now: Instant,
        target: &str,
        content_type: &str,
        body: &str,
    ) -> Result<MessageHandle, MessageError> {
        if !self.connected {
            return Err(MessageError::NotConnected);
        }
        let handle = MessageHandle(self.next_handle);
        self.next_handle = self.next_handle.wrapping_add(1);
        let mut io = io!(self, now);
        let message = OutgoingMessage::send(&mut io, handle, target, content_type, body)?;
        self.messages.push(message);
        self.flush();
        Ok(handle)
    }

    /// Publishes our state for `package` (RFC 3903) and keeps it refreshed.
    pub fn publish(
        &mut self,
        now: Instant,
        package: &str,
        content_type: &str,
        body: &str,
        expires: u32,
    ) -> Result<PublicationHandle, PublicationError> {
        if !self.connected {
            return Err(PublicationError::NotConnected);
        }
        let handle = PublicationHandle(self.next_handle);
        self.next_handle = self.next_handle.wrapping_add(1);
        let mut io = io!(self, now);
        let publication = Publication::new(&mut io, handle, package, content_type, body, expires);
        self.publications.push(publication);
        self.flush();
        Ok(handle)
    }

    /// New state for an existing publication.
    pub fn republish(
        &mut self,
        now: Instant,
        publication: PublicationHandle,
        body: &str,
    ) -> Result<(), PublicationError> {
        self.with_publication(now, publication, |p, io| p.modify(io, body))
    }

    pub fn unpublish(
        &mut self,
        now: Instant,
        publication: PublicationHandle,
    ) -> Result<(), PublicationError> {
        self.with_publication(now, publication, |p, io| p.remove(io))
    }

    pub fn publication_status(&self, publication: PublicationHandle) -> Option<PublicationStatus> {
        self.publications
            .iter()
            .find(|p| p.handle == publication)
            .map(|p| p.status().clone())
    }

    fn with_publication(
        &mut self,
        now: Instant,
        handle: PublicationHandle,
        f: impl FnOnce(&mut Publication, &mut Io<'_>),
    ) -> Result<(), PublicationError> {
        if !self.connected {
            return Err(PublicationError::NotConnected);
        }
        let mut io = io!(self, now);
        let p = self
            .publications
            .iter_mut()
            .find(|p| p.handle == handle)
            .ok_or(PublicationError::NoSuchPublication)?;
        f(p, &mut io);
        self.flush();
        Ok(())
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
        let calls = self.calls.iter().filter_map(Call::poll_timeout).min();
        let subs = if self.connected {
            let s = self
                .subscriptions
                .iter()
                .filter_map(Subscription::poll_timeout);
            let p = self
                .publications
                .iter()
                .filter_map(Publication::poll_timeout);
            s.chain(p).min()
        } else {
            None
        };
        [
            self.transactions.poll_timeout(),
            self.registration.poll_timeout(),
            keepalive,
            calls,
            subs,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- internals -----------------------------------------------------

    pub(crate) fn place_call(
        &mut self,
        now: Instant,
        target: &str,
        sdp: &str,
        extra: Vec<(String, String)>,
    ) -> Result<CallHandle, CallError> {
        if !self.connected {
            return Err(CallError::NotConnected);
        }
        let handle = self.new_handle();
        let mut io = io!(self, now);
        let call = Call::outgoing(&mut io, handle, target, sdp, extra)?;
        self.calls.push(call);
        self.flush();
        Ok(handle)
    }

    #[cfg(test)]
    pub(crate) fn call_ref(&self, handle: CallHandle) -> Option<&Call> {
        self.calls.iter().find(|c| c.handle == handle)
    }

    /// Calls suspended by a lost connection refresh their target (or send
    /// the BYE the user asked for meanwhile) on this one.
    fn reconnect_calls(&mut self, now: Instant) {
        for (deadline, orphan) in std::mem::take(&mut self.orphans) {
            if let (true, Ok(message)) = (deadline >= now, orphan.ending()) {
                self.transactions.send_stateless(message);
            }
        }
        let mark = self.events.len();
        let mut io = io!(self, now);
        for call in &mut self.calls {
            call.reconnected(&mut io);
        }
        self.link_calls(now, mark);
    }

    fn new_handle(&mut self) -> CallHandle {
        let h = CallHandle(self.next_handle);
        self.next_handle = self.next_handle.wrapping_add(1);
        h
    }

    fn with_call(
        &mut self,
        now: Instant,
        handle: CallHandle,
        f: impl FnOnce(&mut Call, &mut Io<'_>) -> Result<(), CallError>,
    ) -> Result<(), CallError> {
        if !self.connected {
            return Err(CallError::NotConnected);
        }
        self.with_call_offline(now, handle, f)
    }

    /// `with_call` that also reaches a call suspended by a lost connection
    /// (the command sends nothing then).
    fn with_call_offline(
        &mut self,
        now: Instant,
        handle: CallHandle,
        f: impl FnOnce(&mut Call, &mut Io<'_>) -> Result<(), CallError>,
    ) -> Result<(), CallError> {
        let suspended = self
            .calls
            .iter()
            .any(|c| c.handle == handle && c.is_suspended());
        if !self.connected && !suspended {
            return Err(CallError::NotConnected);
        }
        let mark = self.events.len();
        let mut io = io!(self, now);
        let call = self
            .calls
            .iter_mut()
            .find(|c| c.handle == handle)
            .ok_or(CallError::NoSuchCall)?;
        let result = f(call, &mut io);
        self.link_calls(now, mark);
        self.flush();
        result
    }

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
                // Registered again after a drop: the registrar and the edge
                // proxy know the new flow, so the calls can move onto it.
                if self.connected
                    && matches!(
                        self.registration.state(),
                        RegistrationState::Registered { .. }
                    )
                {
                    self.reconnect_calls(now);
                }
            }
            Owner::Keepalive(generation) => self.keepalive.on_event(generation, &event),
            Owner::Call(handle, tx) => {
                let mut io = io!(self, now);
                if let Some(call) = self.calls.iter_mut().find(|c| c.handle == handle) {
                    call.on_client_event(&mut io, tx, event);
                }
            }
            Owner::Subscription(handle, generation) => {
                let mut io = io!(self, now);
                if let Some(sub) = self.subscriptions.iter_mut().find(|s| s.handle == handle) {
                    sub.on_client_event(&mut io, generation, event);
                }
            }
            Owner::Message(handle) => {
                let mut io = io!(self, now);
                if let Some(m) = self.messages.iter_mut().find(|m| m.handle == handle) {
                    m.on_client_event(&mut io, event);
                }
            }
            Owner::Publication(handle, generation) => {
                let mut io = io!(self, now);
                if let Some(p) = self.publications.iter_mut().find(|p| p.handle == handle) {
                    p.on_client_event(&mut io, generation, event);
                }
            }
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
        let mut io = io!(self, now);
        // RFC 3261 §8.2.2.3: an extension the request requires and we lack
        // is refused up front (CANCEL and ACK cannot be refused).
        if !matches!(request.method, Method::Ack | Method::Cancel) {
            let missing = codec::unsupported_requirements(&request, SUPPORTED);
            if !missing.is_empty() {
                let tag = io.random.tag();
                let mut r = response_to(&request, 420, Some(&tag));
                r.headers
                    .push(make_header("Unsupported", missing.join(", ")));
                io.respond(r);
                return;
            }
        }
        if codec::to_tag(&request).is_some() {
            if let Some(call) = self.calls.iter_mut().find(|c| c.owns_request(&request)) {
                call.on_request(&mut io, request);
                return;
            }
            let sub = self
                .subscriptions
                .iter_mut()
                .find(|s| s.owns_request(&request));
            match sub {
                Some(sub) if request.method == Method::Notify => sub.on_notify(&mut io, request),
                Some(_) => {
                    let mut r = response_to(&request, 405, None);
                    r.headers.push(make_header("Allow", "NOTIFY".into()));
                    io.respond(r);
                }
                // RFC 3261 §12.2.2: a request for a dialog we do not know.
                None => io.respond(response_to(&request, 481, None)),
            }
            return;
        }
        match request.method {
            Method::Invite => self.on_invite(now, request),
            Method::Cancel => {
                let branch = codec::top_via_branch(&request).unwrap_or_default();
                match self.calls.iter_mut().find(|c| c.is_invited_by(&branch)) {
                    Some(call) => {
                        io.respond(response_to(&request, 200, Some(call.local_tag())));
                        call.on_cancel(&mut io);
                    }
                    None => io.respond(response_to(&request, 481, None)),
                }
            }
            Method::Message => crate::message::receive(&mut io, request),
            Method::Notify => {
                // No subscription of ours, so no dialog: only a package we
                // can show (voicemail) is worth accepting.
                let package = codec::header(&request, "Event").map(|e| {
                    e.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase()
                });
                match package {
                    Some(package) if package == "message-summary" => {
                        let tag = io.random.tag();
                        io.respond(response_to(&request, 200, Some(&tag)));
                        io.emit(Event::UnsolicitedNotify {
                            package,
                            content_type: codec::content_type(&request),
                            body: String::from_utf8_lossy(&request.body).to_string(),
                        });
                    }
                    _ => {
                        let tag = io.random.tag();
                        io.respond(response_to(&request, 489, Some(&tag)));
                    }
                }
            }
            // RFC 3261 §11.2: say what we can do.
            Method::Options => {
                let mut r = response_to(&request, 200, Some(&io.random.tag()));
                r.headers.push(make_header("Allow", ALLOW.into()));
                r.headers
                    .push(make_header("Accept", "application/sdp".into()));
                io.respond(r);
            }
            _ => {
                let mut r = response_to(&request, 405, Some(&io.random.tag()));
                r.headers.push(make_header("Allow", ALLOW.into()));
                io.respond(r);
            }
        }
    }

    /// A new INVITE; with Replaces it must name a dialog we have (RFC 3891 §3).
    fn on_invite(&mut self, now: Instant, request: Request) {
        let replaces = match codec::headers::typed::<Replaces, _>(&request) {
            None => None,
            Some(Err(_)) => {
                let mut io = io!(self, now);
                io.respond(response_to(&request, 400, None));
                return;
            }
            Some(Ok(r)) => {
                let target = self
                    .calls
                    .iter()
                    .find(|c| !c.is_ended() && c.matches_replaces(&r));
                match target {
                    None => {
                        let mut io = io!(self, now);
                        io.respond(response_to(&request, 481, None));
                        return;
                    }
                    Some(c) if r.early_only && c.is_confirmed() => {
                        let mut io = io!(self, now);
                        io.respond(response_to(&request, 486, None));
                        return;
                    }
                    Some(c) => Some(c.handle),
                }
            }
        };
        let handle = self.new_handle();
        let mut io = io!(self, now);
        if let Some(call) = Call::incoming(&mut io, handle, request, replaces, self.ring_at_once) {
            self.calls.push(call);
        }
    }

    /// Effects one call's events have on another: an answered INVITE with
    /// Replaces ends the replaced call; a call placed for a REFER reports
    /// its progress to the referrer.
    fn link_calls(&mut self, now: Instant, mark: usize) {
        let mut idx = mark;
        while idx < self.events.len() {
            let Some(event) = self.events.get(idx).cloned() else {
                break;
            };
            idx += 1;
            let (handle, progress) = match &event {
                Event::CallAnswered { call, .. } => (*call, Some((200, "OK".to_string()))),
                Event::CallProgress { call, code, .. } => {
                    let reason = if *code == 183 {
                        "Session Progress"
                    } else {
                        "Ringing"
                    };
                    (*call, Some((*code, reason.to_string())))
                }
                Event::CallEnded { call, reason } => (*call, Some(failure_status(reason))),
                _ => continue,
            };
            let Some(call) = self.calls.iter().find(|c| c.handle == handle) else {
                continue;
            };
            let (replaces, origin) = (call.replaces, call.transfer_origin);
            let answered = matches!(event, Event::CallAnswered { .. });
            let mut io = io!(self, now);
            if let (true, Some(old)) = (answered, replaces) {
                if let Some(old) = self.calls.iter_mut().find(|c| c.handle == old) {
                    old.replaced(&mut io);
                }
            }
            if let (Some(origin), Some((code, reason))) = (origin, progress) {
                if let Some(o) = self.calls.iter_mut().find(|c| c.handle == origin) {
                    o.notify_refer_progress(&mut io, code, &reason);
                }
            }
        }
    }

    /// Moves queued messages out of the transaction layer, reports a
    /// registration state that changed since the last report, and forgets
    /// calls with nothing left to do.
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
        self.calls.retain(|c| !c.is_finished());
        self.subscriptions.retain(|s| !s.is_finished());
        self.messages.retain(|m| !m.is_done());
        self.publications.retain(|p| !p.is_finished());
    }
}

/// The sipfrag status that tells a referrer how the call it asked for ended.
fn failure_status(reason: &EndReason) -> (u16, String) {
    match reason {
        EndReason::Rejected { code, reason } => (*code, reason.clone()),
        EndReason::Timeout => (408, "Request Timeout".into()),
        EndReason::Redirected { .. } => (480, "Temporarily Unavailable".into()),
        _ => (487, "Request Terminated".into()),
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

    /// How `call` ended, once per `CallEnded` among `events`.
    pub fn ended(events: &[Event], call: CallHandle) -> Vec<EndReason> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::CallEnded { call: c, reason } if *c == call => Some(reason.clone()),
                _ => None,
            })
            .collect()
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
