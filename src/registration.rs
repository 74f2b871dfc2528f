//! Registration (RFC 3261 §10) of a WebSocket client (RFC 7118) with an
//! outbound-style binding (RFC 5626): one Call-ID for the life of the
//! binding, CSeq counting up, refresh ahead of expiry, 423 Min-Expires,
//! digest challenges, and a typed state whose failure says why.
//!
//! This module decides *what* to send and *when*; the engine sends it
//! through the transaction layer and feeds the outcome back. A generation
//! number travels with each REGISTER so that an answer to a REGISTER we no
//! longer care about (superseded by unregister, or sent before a reconnect)
//! cannot change the state.

use std::time::Duration;

use rsip::{Method, Request, Response};

use crate::auth::{AuthError, Credentials, DigestSession};
use crate::codec;
use crate::codec::headers::NameAddr;
use crate::random::Random;
use crate::request::{build_request, parse_uri, LocalParty, RequestSpec};
use crate::time::Instant;
use crate::transaction::ClientEvent;

/// Why we are not registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationFailure {
    /// 401/407 after a fresh-challenge retry, or 403: the credential is
    /// wrong. Retrying would only lock the account, so nothing is sent until
    /// `register()` is called again.
    AuthRejected,
    /// No connection, or the REGISTER timed out.
    Transport,
    /// Any other final response.
    Rejected { code: u16, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    Unregistered,
    Registering,
    Registered { expires_at: Instant },
    Failed(RegistrationFailure),
}

/// The REGISTER the engine must send, and the generation to tag it with.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub generation: u64,
    pub request: Request,
}

/// RFC 5626 §4.5: wait at least this long before retrying after a failure
/// that retrying may cure (5xx, timeout)...
const RETRY_BASE: Duration = Duration::from_secs(30);
/// ...doubling up to this.
const RETRY_MAX: Duration = Duration::from_secs(1800);
/// Never refresh later than this before expiry (nor later than half-way):
/// the REGISTER may need a challenge round trip and a busy proxy.
const REFRESH_LEAD: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Registration {
    state: RegistrationState,
    /// The user wants to be registered (register() until unregister()).
    wanted: bool,
    /// A rejected credential or a permanent refusal: stay quiet until the
    /// user asks again.
    halted: bool,
    requested_expires: u32,
    call_id: String,
    from_tag: String,
    cseq: u32,
    digest: DigestSession,
    generation: u64,
    in_flight: Option<InFlight>,
    refresh_at: Option<Instant>,
    retry_at: Option<Instant>,
    failures: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InFlight {
    generation: u64,
    expires: u32,
}

/// What a registration step needs from the engine.
pub struct Context<'a> {
    pub local: &'a LocalParty,
    pub credentials: &'a Credentials,
    pub random: &'a mut Random,
    pub connected: bool,
}

impl Registration {
    pub fn new(expires: u32, random: &mut Random) -> Self {
        Registration {
            state: RegistrationState::Unregistered,
            wanted: false,
            halted: false,
            requested_expires: expires,
            call_id: random.call_id(),
            from_tag: random.tag(),
            cseq: 0,
            digest: DigestSession::new(),
            generation: 0,
            in_flight: None,
            refresh_at: None,
            retry_at: None,
            failures: 0,
        }
    }

    pub fn state(&self) -> &RegistrationState {
        &self.state
    }

    /// The user asks to be registered (again): clears a halt.
    pub fn register(&mut self, now: Instant, ctx: Context<'_>) -> Option<Outgoing> {
        // Asked again while a REGISTER is already on its way (the glue calls
        // register() after every connect): one is enough.
        let registering = self.in_flight.is_some_and(|f| f.expires > 0);
        if self.wanted && !self.halted && registering && ctx.connected {
            return None;
        }
        self.wanted = true;
        self.halted = false;
        self.failures = 0;
        if !ctx.connected {
            self.state = RegistrationState::Failed(RegistrationFailure::Transport);
            return None;
        }
        self.digest.start_request();
        Some(self.send(now, ctx, self.requested_expires))
    }

    /// The user logs out: the binding is removed (Expires 0) and the state is
    /// `Unregistered` at once; the answer only matters for a challenge.
    pub fn unregister(&mut self, now: Instant, ctx: Context<'_>) -> Option<Outgoing> {
        let was_bound = matches!(
            self.state,
            RegistrationState::Registered { .. } | RegistrationState::Registering
        );
        self.wanted = false;
        self.refresh_at = None;
        self.retry_at = None;
        self.state = RegistrationState::Unregistered;
        if !was_bound || !ctx.connected {
            self.in_flight = None;
            return None;
        }
        self.digest.start_request();
        Some(self.send(now, ctx, 0))
    }

    pub fn on_connected(&mut self, now: Instant, ctx: Context<'_>) -> Option<Outgoing> {
        if !self.wanted || self.halted {
            return None;
        }
        self.digest.start_request();
        Some(self.send(now, ctx, self.requested_expires))
    }

    /// The flow is gone, and with it the binding's usefulness: the proxy can
    /// no longer reach us, whatever the registrar still believes.
    pub fn on_disconnected(&mut self) {
        self.in_flight = None;
        self.refresh_at = None;
        self.retry_at = None;
        if self.wanted && !self.halted {
            self.state = RegistrationState::Failed(RegistrationFailure::Transport);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let expiry = match self.state {
            RegistrationState::Registered { expires_at } => Some(expires_at),
            _ => None,
        };
        [self.refresh_at, self.retry_at, expiry]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn on_timeout(&mut self, now: Instant, ctx: Context<'_>) -> Option<Outgoing> {
        if let RegistrationState::Registered { expires_at } = self.state {
            if expires_at <= now {
                // The refresh did not succeed in time: the registrar has
                // dropped the binding, whatever is still in flight.
                self.state = if self.in_flight.is_some() {
                    RegistrationState::Registering
                } else {
                    RegistrationState::Failed(RegistrationFailure::Transport)
                };
            }
        }
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if !(due(self.refresh_at) || due(self.retry_at)) {
            return None;
        }
        self.refresh_at = None;
        self.retry_at = None;
        if !self.wanted || self.halted || !ctx.connected {
            return None;
        }
        self.digest.start_request();
        Some(self.send(now, ctx, self.requested_expires))
    }

    /// The outcome of a REGISTER we sent.
    pub fn on_event(
        &mut self,
        now: Instant,
        generation: u64,
        event: ClientEvent,
        ctx: Context<'_>,
    ) -> Option<Outgoing> {
        let flight = self.in_flight.filter(|f| f.generation == generation)?;
        match event {
            ClientEvent::Provisional(_) => None,
            ClientEvent::Timeout | ClientEvent::TransportError => {
                self.in_flight = None;
                if flight.expires == 0 {
                    return None;
                }
                self.fail_retryable(now, RegistrationFailure::Transport, None, ctx.random);
                None
            }
            ClientEvent::Final(response) => self.on_final(now, flight, response, ctx),
        }
    }

    fn on_final(
        &mut self,
        now: Instant,
        flight: InFlight,
        response: Response,
        ctx: Context<'_>,
    ) -> Option<Outgoing> {
        self.in_flight = None;
        let code = response.status_code.code();
        let unregistering = flight.expires == 0;
        match code {
            200..=299 if unregistering => None,
            200..=299 => {
                self.on_registered(now, &response, ctx.local);
                None
            }
            401 | 407 => match self
                .digest
                .handle_challenges(&codec::challenge::challenges(&response))
            {
                Ok(()) => Some(self.send(now, ctx, flight.expires)),
                Err(_) if unregistering => None,
                Err(AuthError::CredentialRejected) => {
                    self.halt(RegistrationFailure::AuthRejected);
                    None
                }
                Err(AuthError::NoSupportedChallenge) => {
                    self.halt(rejected(&response));
                    None
                }
            },
            _ if unregistering => None,
            403 => {
                self.halt(RegistrationFailure::AuthRejected);
                None
            }
            423 => {
                // RFC 3261 §10.2.8: retry with at least Min-Expires; a server
                // that asks for less than we sent is broken, not a reason to loop.
                let min = codec::header(&response, "Min-Expires")
                    .and_then(|v| v.trim().parse::<u32>().ok())
                    .filter(|m| *m > flight.expires);
                match min {
                    Some(min) => {
                        self.requested_expires = min;
                        Some(self.send(now, ctx, min))
                    }
                    None => {
                        self.halt(rejected(&response));
                        None
                    }
                }
            }
            408 | 480 | 500..=599 => {
                let retry_after = codec::header(&response, "Retry-After")
                    .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs);
                self.fail_retryable(now, rejected(&response), retry_after, ctx.random);
                None
            }
            _ => {
                self.halt(rejected(&response));
                None
            }
        }
    }

    fn on_registered(&mut self, now: Instant, response: &Response, local: &LocalParty) {
        let granted = granted_expires(response, local).unwrap_or(self.requested_expires);
        if granted == 0 {
            self.halt(RegistrationFailure::Rejected {
                code: response.status_code.code(),
                reason: "registrar granted no binding".into(),
            });
            return;
        }
        let lifetime = Duration::from_secs(u64::from(granted));
        let lead = REFRESH_LEAD.min(lifetime / 2);
        self.failures = 0;
        self.refresh_at = Some(now + (lifetime - lead));
        self.state = RegistrationState::Registered {
            expires_at: now + lifetime,
        };
    }

    fn halt(&mut self, failure: RegistrationFailure) {
        self.halted = true;
        self.refresh_at = None;
        self.retry_at = None;
        self.state = RegistrationState::Failed(failure);
    }

    fn fail_retryable(
        &mut self,
        now: Instant,
        failure: RegistrationFailure,
        retry_after: Option<Duration>,
        random: &mut Random,
    ) {
        let step = RETRY_BASE
            .saturating_mul(1u32 << self.failures.min(6))
            .min(RETRY_MAX);
        self.failures = self.failures.saturating_add(1);
        // RFC 5626 §4.5: a random wait between 50% and 100% of the step, so
        // a restarted PBX is not hit by every phone in the same second.
        let half = step.as_millis() as u64 / 2;
        let jittered = Duration::from_millis(half + random.below(half + 1));
        self.retry_at = Some(now + retry_after.unwrap_or(jittered));
        self.refresh_at = None;
        self.state = RegistrationState::Failed(failure);
    }

    fn send(&mut self, now: Instant, ctx: Context<'_>, expires: u32) -> Outgoing {
        let _ = now;
        self.cseq = self.cseq.saturating_add(1);
        self.generation = self.generation.wrapping_add(1);
        self.in_flight = Some(InFlight {
            generation: self.generation,
            expires,
        });
        if expires > 0 && !matches!(self.state, RegistrationState::Registered { .. }) {
            self.state = RegistrationState::Registering;
        }
        let registrar = format!("sip:{}", ctx.local.domain);
        let uri = parse_uri(&registrar).unwrap_or_default();
        let mut spec = RequestSpec::new(
            Method::Register,
            uri,
            ctx.local.name_addr(),
            self.from_tag.clone(),
            self.call_id.clone(),
            self.cseq,
        );
        spec.headers.push((
            "Contact".into(),
            format!(
                "<{}>;+sip.instance=\"<{}>\";reg-id=1;expires={expires}",
                ctx.local.contact_uri, ctx.local.instance_id
            ),
        ));
        spec.headers.push(("Expires".into(), expires.to_string()));
        spec.headers
            .push(("Supported".into(), "path, outbound, gruu".into()));
        spec.headers.extend(
            self.digest
                .authorize(ctx.credentials, "REGISTER", &registrar, b"", ctx.random)
                .into_iter()
                .map(|(n, v)| (n.to_string(), v)),
        );
        Outgoing {
            generation: self.generation,
            request: build_request(ctx.local, spec, ctx.random),
        }
    }
}

fn rejected(response: &Response) -> RegistrationFailure {
    RegistrationFailure::Rejected {
        code: response.status_code.code(),
        reason: reason_phrase(response),
    }
}

/// The reason phrase, for the user to read, not to match on. rsip keeps
/// the received phrase only for codes it does not know; for known ones it
/// prints its variant name ("BusyHere"), which is spaced out again here.
pub fn reason_phrase(response: &Response) -> String {
    let text = response.status_code.to_string();
    let phrase = text.split_once(' ').map(|(_, r)| r).unwrap_or_default();
    if phrase.contains(' ') {
        return phrase.to_string();
    }
    let mut out = String::with_capacity(phrase.len() + 4);
    let mut prev_lower = false;
    for c in phrase.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_ascii_lowercase();
        out.push(c);
    }
    out
}

/// The lifetime the registrar granted to *our* binding (RFC 3261 §10.2.4):
/// the `expires` param of the Contact that is ours (same instance and
/// reg-id, or the same URI), else the Expires header. Other devices of the
/// same AOR appear in the list too and must not be mistaken for us.
pub fn granted_expires(response: &Response, local: &LocalParty) -> Option<u32> {
    let ours = codec::headers(response, "Contact")
        .into_iter()
        .flat_map(|line| codec::headers::split_unquoted(line, ','))
        .filter_map(|c| NameAddr::parse(c, "Contact").ok())
        .find(|c| is_our_binding(c, local));
    let param = |c: &NameAddr, name: &str| {
        c.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| p.value.as_deref())
            .map(codec::headers::unquote)
    };
    if let Some(c) = ours {
        if let Some(e) = param(&c, "expires").and_then(|e| e.trim().parse().ok()) {
            return Some(e);
        }
    }
    codec::header(response, "Expires").and_then(|e| e.trim().parse().ok())
}

fn is_our_binding(contact: &NameAddr, local: &LocalParty) -> bool {
    let instance = contact
        .params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case("+sip.instance"))
        .and_then(|p| p.value.as_deref())
        .map(codec::headers::unquote);
    if let Some(instance) = instance {
        let inner = instance.trim_start_matches('<').trim_end_matches('>');
        return inner.eq_ignore_ascii_case(&local.instance_id);
    }
    // Registrars may add params (received, ob) or reorder them: compare
    // the user@host part only.
    let user_host = |uri: &str| {
        let no_scheme = uri.split_once(':').map_or(uri, |(_, r)| r);
        no_scheme
            .split(';')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    user_host(&contact.uri) == user_host(&local.contact_uri)
}

#[cfg(test)]
mod tests {
    //! Registration ladders against a hand-played registrar, clock stepped
    //! by hand. `ua` is us, the right-hand column the registrar.
    use super::*;
    use crate::engine::test_support::*;
    use crate::engine::{Event, UserAgent};

    const CHALLENGE_MD5: &str = r#"Digest realm="pbx.test", nonce="n1", qop="auth", algorithm=MD5"#;

    fn registered_at(ua: &UserAgent) -> Option<Instant> {
        match ua.registration_state() {
            RegistrationState::Registered { expires_at } => Some(*expires_at),
            _ => None,
        }
    }

    /// REGISTER → 401 → REGISTER(auth) → 200, returning the UA and the last REGISTER.
    fn register_with_challenge(challenge: &str) -> (UserAgent, Request) {
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        let first = sent_requests(&mut ua).remove(0);
        assert_eq!(
            events(&mut ua),
            vec![Event::RegistrationChanged(RegistrationState::Registering)]
        );
        ua.handle_transport(t0, &reply(&first, 401, &[("WWW-Authenticate", challenge)]))
            .unwrap();
        let second = sent_requests(&mut ua).remove(0);
        ua.handle_transport(
            t0,
            &reply(
                &second,
                200,
                &[("Contact", header(&second, "Contact").unwrap())],
            ),
        )
        .unwrap();
        (ua, second)
    }

    #[test]
    fn register_401_register_with_md5_credentials_200() {
        // UA                      Registrar
        //  |--- REGISTER ------------>|
        //  |<-- 401 (MD5, qop=auth) --|
        //  |--- REGISTER + Authorization (CSeq+1, same Call-ID)
        //  |<-- 200 OK (our Contact;expires=600)
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        let first = sent_requests(&mut ua).remove(0);
        assert_eq!(first.method, Method::Register);
        assert_eq!(first.uri.to_string(), "sip:pbx.test");
        let contact = header(&first, "Contact").unwrap().to_string();
        assert!(contact.contains(".invalid;transport=ws>"), "{contact}");
        assert!(
            contact.contains("+sip.instance=\"<urn:uuid:6a1f6e55-0000-4000-8000-00000000a001>\"")
        );
        assert!(contact.contains("reg-id=1"));
        assert!(header(&first, "Authorization").is_none());

        ua.handle_transport(
            t0,
            &reply(&first, 401, &[("WWW-Authenticate", CHALLENGE_MD5)]),
        )
        .unwrap();
        let second = sent_requests(&mut ua).remove(0);
        let auth = header(&second, "Authorization").unwrap();
        assert!(auth.starts_with(
            "Digest username=\"1001\", realm=\"pbx.test\", nonce=\"n1\", uri=\"sip:pbx.test\""
        ));
        assert!(
            auth.contains("algorithm=MD5")
                && auth.contains("qop=auth")
                && auth.contains("nc=00000001")
        );
        assert_eq!(codec::call_id(&second), codec::call_id(&first));
        assert_eq!(
            codec::cseq(&second).unwrap().0,
            codec::cseq(&first).unwrap().0 + 1
        );
        assert_ne!(
            codec::top_via_branch(&second),
            codec::top_via_branch(&first)
        );

        let bound = contact.clone();
        ua.handle_transport(at_secs(1), &reply(&second, 200, &[("Contact", &bound)]))
            .unwrap();
        assert_eq!(registered_at(&ua), Some(at_secs(601)));
        assert_eq!(
            events(&mut ua),
            vec![
                Event::RegistrationChanged(RegistrationState::Registering),
                Event::RegistrationChanged(RegistrationState::Registered {
                    expires_at: at_secs(601)
                }),
            ]
        );
        assert_eq!(ua.transaction_count(), (0, 0));
    }

    #[test]
    fn sha256_challenge_is_preferred_over_md5_in_the_same_401() {
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        let first = sent_requests(&mut ua).remove(0);
        ua.handle_transport(
            t0,
            &reply(
                &first,
                401,
                &[
                    (
                        "WWW-Authenticate",
                        r#"Digest realm="pbx.test", nonce="s1", qop="auth", algorithm=SHA-256"#,
                    ),
                    ("WWW-Authenticate", CHALLENGE_MD5),
                ],
            ),
        )
        .unwrap();
        let second = sent_requests(&mut ua).remove(0);
        let auth = header(&second, "Authorization").unwrap();
        assert!(
            auth.contains("algorithm=SHA-256") && auth.contains("nonce=\"s1\""),
            "{auth}"
        );
        // The SHA-256 answer is 64 hex digits.
        let response = auth
            .split("response=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(response.len(), 64);
    }

    #[test]
    fn refresh_ahead_of_expiry_reuses_the_challenge_with_the_next_nonce_count() {
        let (mut ua, _) = register_with_challenge(CHALLENGE_MD5);
        events(&mut ua);
        // Granted 600 s at t=0 → refresh 30 s before expiry.
        assert!(ua.poll_timeout().unwrap() <= at_secs(570));
        ua.handle_timeout(at_secs(569));
        assert!(sent_requests(&mut ua)
            .iter()
            .all(|r| r.method != Method::Register));
        ua.handle_timeout(at_secs(570));
        let refresh: Vec<Request> = sent_requests(&mut ua)
            .into_iter()
            .filter(|r| r.method == Method::Register)
            .collect();
        assert_eq!(refresh.len(), 1);
        let auth = header(&refresh[0], "Authorization").unwrap();
        assert!(auth.contains("nc=00000002"), "{auth}");
        // Still registered while the refresh is in flight: no flicker in the UI.
        assert!(registered_at(&ua).is_some());
        assert!(events(&mut ua).is_empty());
    }

    #[test]
    fn an_unanswered_refresh_lets_the_binding_expire_visibly() {
        let (mut ua, _) = register_with_challenge(CHALLENGE_MD5);
        events(&mut ua);
        ua.handle_timeout(at_secs(570));
        sent(&mut ua);
        ua.handle_timeout(at_secs(600));
        assert_eq!(ua.registration_state(), &RegistrationState::Registering);
    }

    #[test]
    fn interval_too_brief_423_retries_with_min_expires() {
        // UA                      Registrar
        //  |--- REGISTER Expires: 600 -->|
        //  |<-- 423 Min-Expires: 1800 ---|
        //  |--- REGISTER Expires: 1800 ->|
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        let first = sent_requests(&mut ua).remove(0);
        assert_eq!(header(&first, "Expires"), Some("600"));
        ua.handle_transport(t0, &reply(&first, 423, &[("Min-Expires", "1800")]))
            .unwrap();
        let second = sent_requests(&mut ua).remove(0);
        assert_eq!(header(&second, "Expires"), Some("1800"));
        assert!(header(&second, "Contact").unwrap().contains("expires=1800"));
        ua.handle_transport(t0, &reply(&second, 200, &[("Expires", "1800")]))
            .unwrap();
        assert_eq!(registered_at(&ua), Some(at_secs(1800)));
    }

    #[test]
    fn a_423_that_asks_for_less_is_not_retried() {
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        let first = sent_requests(&mut ua).remove(0);
        ua.handle_transport(t0, &reply(&first, 423, &[("Min-Expires", "60")]))
            .unwrap();
        assert!(sent_requests(&mut ua).is_empty());
        assert!(matches!(
            ua.registration_state(),
            RegistrationState::Failed(RegistrationFailure::Rejected { code: 423, .. })
        ));
    }

    #[test]
    fn challenged_twice_with_the_same_nonce_is_auth_rejected_and_nothing_more_is_sent() {
        // UA                      Registrar
        //  |--- REGISTER ------------>|
        //  |<-- 401 nonce=n1 ---------|
        //  |--- REGISTER + auth ----->|
        //  |<-- 401 nonce=n1 ---------|   wrong password
        //  (no third REGISTER, ever — not even at the next timer)
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        let first = sent_requests(&mut ua).remove(0);
        ua.handle_transport(
            t0,
            &reply(&first, 401, &[("WWW-Authenticate", CHALLENGE_MD5)]),
        )
        .unwrap();
        let second = sent_requests(&mut ua).remove(0);
        ua.handle_transport(
            t0,
            &reply(&second, 401, &[("WWW-Authenticate", CHALLENGE_MD5)]),
        )
        .unwrap();
        assert!(sent_requests(&mut ua).is_empty());
        assert_eq!(
            ua.registration_state(),
            &RegistrationState::Failed(RegistrationFailure::AuthRejected)
        );
        for s in [60, 600, 3600] {
            ua.handle_timeout(at_secs(s));
            assert!(sent_requests(&mut ua)
                .iter()
                .all(|r| r.method != Method::Register));
        }
        // A reconnect does not resume a rejected credential either...
        ua.handle_disconnected(at_secs(3601));
        ua.handle_connected(at_secs(3602));
        assert!(sent_requests(&mut ua).is_empty());
        // ...only the user asking again does.
        ua.register(at_secs(3603));
        assert_eq!(sent_requests(&mut ua).len(), 1);
    }

    #[test]
    fn stale_nonce_gets_exactly_one_more_answer() {
        // REGISTER → 401 n1 → REGISTER(n1) → 401 n2 stale=true → REGISTER(n2) → 200
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        let r1 = sent_requests(&mut ua).remove(0);
        ua.handle_transport(t0, &reply(&r1, 401, &[("WWW-Authenticate", CHALLENGE_MD5)]))
            .unwrap();
        let r2 = sent_requests(&mut ua).remove(0);
        let stale = r#"Digest realm="pbx.test", nonce="n2", qop="auth", stale=true"#;
        ua.handle_transport(t0, &reply(&r2, 401, &[("WWW-Authenticate", stale)]))
            .unwrap();
        let r3 = sent_requests(&mut ua).remove(0);
        assert!(header(&r3, "Authorization")
            .unwrap()
            .contains("nonce=\"n2\""));
        // The same stale nonce again would be a loop: stop.
        ua.handle_transport(t0, &reply(&r3, 401, &[("WWW-Authenticate", stale)]))
            .unwrap();
        assert!(sent_requests(&mut ua).is_empty());
        assert_eq!(
            ua.registration_state(),
            &RegistrationState::Failed(RegistrationFailure::AuthRejected)
        );
    }

    #[test]
    fn forbidden_is_a_rejected_credential() {
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        let r1 = sent_requests(&mut ua).remove(0);
        ua.handle_transport(t0, &reply(&r1, 403, &[])).unwrap();
        assert_eq!(
            ua.registration_state(),
            &RegistrationState::Failed(RegistrationFailure::AuthRejected)
        );
    }

    #[test]
    fn server_error_is_retried_after_retry_after() {
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        let r1 = sent_requests(&mut ua).remove(0);
        ua.handle_transport(t0, &reply(&r1, 503, &[("Retry-After", "45")]))
            .unwrap();
        assert!(matches!(
            ua.registration_state(),
            RegistrationState::Failed(RegistrationFailure::Rejected { code: 503, .. })
        ));
        ua.handle_timeout(at_secs(44));
        assert!(sent_requests(&mut ua)
            .iter()
            .all(|r| r.method != Method::Register));
        ua.handle_timeout(at_secs(45));
        assert!(sent_requests(&mut ua)
            .iter()
            .any(|r| r.method == Method::Register));
    }

    #[test]
    fn no_answer_is_a_transport_failure_after_timer_f_and_is_retried() {
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        sent_requests(&mut ua);
        // Answer the keepalives so only the REGISTER goes unanswered.
        let mut now = 0;
        while now < 32 {
            now += 1;
            ua.handle_timeout(at_secs(now));
            for r in sent_requests(&mut ua) {
                if r.method == Method::Options {
                    ua.handle_transport(at_secs(now), &reply(&r, 200, &[]))
                        .unwrap();
                }
            }
        }
        assert_eq!(
            ua.registration_state(),
            &RegistrationState::Failed(RegistrationFailure::Transport)
        );
        // RFC 5626 §4.5 backoff: between 15 and 30 s later, a new attempt.
        let mut retried = false;
        while now < 32 + 31 && !retried {
            now += 1;
            ua.handle_timeout(at_secs(now));
            for r in sent_requests(&mut ua) {
                match r.method {
                    Method::Register => retried = true,
                    _ => ua
                        .handle_transport(at_secs(now), &reply(&r, 200, &[]))
                        .unwrap(),
                }
            }
        }
        assert!(retried && now >= 32 + 15, "retried={retried} at {now}");
    }

    #[test]
    fn our_binding_is_found_among_other_devices_of_the_same_aor() {
        let (ua, _) = register_with_challenge(CHALLENGE_MD5);
        let t0 = at_secs(0);
        let mut ua2 = connected_ua(t0);
        let _ = ua;
        ua2.register(t0);
        let r = sent_requests(&mut ua2).remove(0);
        let ours = header(&r, "Contact")
            .unwrap()
            .replace("expires=600", "expires=300");
        let others = r#"<sip:desk@192.0.2.7:5060>;expires=3600, <sip:abc@def.invalid;transport=ws>;+sip.instance="<urn:uuid:ffffffff-0000-4000-8000-000000000000>";reg-id=1;expires=1200"#;
        ua2.handle_transport(
            t0,
            &reply(
                &r,
                200,
                &[("Contact", others), ("Contact", &ours), ("Expires", "999")],
            ),
        )
        .unwrap();
        assert_eq!(registered_at(&ua2), Some(at_secs(300)));
    }

    #[test]
    fn unregister_sends_expires_zero_and_stops_refreshing() {
        let (mut ua, _) = register_with_challenge(CHALLENGE_MD5);
        events(&mut ua);
        ua.unregister(at_secs(10));
        let bye = sent_requests(&mut ua).remove(0);
        assert_eq!(header(&bye, "Expires"), Some("0"));
        assert!(header(&bye, "Contact").unwrap().contains("expires=0"));
        assert!(header(&bye, "Authorization").is_some());
        assert_eq!(
            events(&mut ua),
            vec![Event::RegistrationChanged(RegistrationState::Unregistered)]
        );
        ua.handle_transport(at_secs(10), &reply(&bye, 200, &[]))
            .unwrap();
        ua.handle_timeout(at_secs(600));
        assert!(sent_requests(&mut ua)
            .iter()
            .all(|r| r.method != Method::Register));
        assert_eq!(ua.registration_state(), &RegistrationState::Unregistered);
    }

    #[test]
    fn disconnect_fails_the_binding_and_reconnect_registers_again() {
        // UA  ═══ WebSocket closes ═══  → Failed(Transport)
        // UA  ═══ WebSocket opens  ═══  → REGISTER (same Call-ID, next CSeq)
        let (mut ua, last) = register_with_challenge(CHALLENGE_MD5);
        events(&mut ua);
        ua.handle_disconnected(at_secs(100));
        assert_eq!(
            events(&mut ua),
            vec![Event::RegistrationChanged(RegistrationState::Failed(
                RegistrationFailure::Transport
            ))]
        );
        assert_eq!(ua.transaction_count(), (0, 0));
        // Nothing is sent or scheduled while the socket is down.
        ua.handle_timeout(at_secs(700));
        assert!(sent(&mut ua).is_empty());
        ua.handle_connected(at_secs(701));
        let again = sent_requests(&mut ua).remove(0);
        assert_eq!(again.method, Method::Register);
        assert_eq!(codec::call_id(&again), codec::call_id(&last));
        assert!(codec::cseq(&again).unwrap().0 > codec::cseq(&last).unwrap().0);
        assert_eq!(
            events(&mut ua),
            vec![Event::RegistrationChanged(RegistrationState::Registering)]
        );
    }

    #[test]
    fn register_twice_while_one_is_in_flight_sends_one_register() {
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        ua.register(t0);
        let registers = sent_requests(&mut ua)
            .into_iter()
            .filter(|r| r.method == Method::Register)
            .count();
        assert_eq!(registers, 1);
    }

    #[test]
    fn register_while_disconnected_waits_for_the_connection() {
        let mut ua = UserAgent::new(config(), 1);
        ua.register(at_secs(0));
        assert!(sent(&mut ua).is_empty());
        assert_eq!(
            ua.registration_state(),
            &RegistrationState::Failed(RegistrationFailure::Transport)
        );
        ua.handle_connected(at_secs(1));
        assert_eq!(sent_requests(&mut ua)[0].method, Method::Register);
    }

    #[test]
    fn a_late_answer_to_a_superseded_register_changes_nothing() {
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        ua.register(t0);
        let r1 = sent_requests(&mut ua).remove(0);
        ua.unregister(t0);
        sent_requests(&mut ua);
        ua.handle_transport(t0, &reply(&r1, 200, &[("Expires", "600")]))
            .unwrap();
        assert_eq!(ua.registration_state(), &RegistrationState::Unregistered);
    }
}
