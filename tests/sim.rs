//! Simulation harness: two engines (1001 and 1002) and a tiny in-memory
//! proxy/registrar/notifier, stepped on a virtual clock. Proptest drives
//! random sequences of user commands, message deliveries in random
//! interleavings, time jumps and connection losses; the invariants are the
//! ones a service worker lives by:
//!
//! - nothing panics, and everything an engine sends parses;
//! - every call the application heard of ends exactly once;
//! - no transaction, call or subscription outlives its purpose once the
//!   dust settles (no leak);
//! - a subscription or registration reported alive is never past its
//!   expiry while connected: it was refreshed or reported otherwise.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use proptest::prelude::*;
use ringside::call::{CallHandle, CallState};
use ringside::engine::{Event, UaConfig, UserAgent};
use ringside::registration::RegistrationState;
use ringside::request::make_header;
use ringside::subscription::{SubscriptionHandle, SubscriptionStatus};
use ringside::transaction::response_to;
use ringside::{codec, Instant};
use rsip::{Method, SipMessage};

const OFFER: &str =
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n";

#[derive(Debug, Clone)]
enum Action {
    /// Deliver the next message of one of the four one-way queues.
    Deliver(u8),
    /// Deliver everything queued (a calm network moment).
    Settle,
    Advance(u32),
    Call(u8),
    Answer(u8),
    Reject(u8),
    Hangup(u8, u8),
    Hold(u8),
    Resume(u8),
    Dtmf(u8),
    Transfer(u8),
    Subscribe(u8),
    Unsubscribe(u8),
    /// The notifier ends a subscription with one of RFC 6665's reasons.
    NotifierEnds(u8),
    Message(u8),
    Register(u8),
    Unregister(u8),
    Disconnect(u8),
    Reconnect(u8),
}

fn action() -> impl Strategy<Value = Action> {
    let ua = 0u8..2;
    prop_oneof![
        6 => (0u8..4).prop_map(Action::Deliver),
        6 => Just(Action::Settle),
        3 => (1u32..5_000).prop_map(Action::Advance),
        1 => (5_000u32..40_000).prop_map(Action::Advance),
        2 => ua.clone().prop_map(Action::Call),
        3 => ua.clone().prop_map(Action::Answer),
        1 => ua.clone().prop_map(Action::Reject),
        2 => (ua.clone(), 0u8..3).prop_map(|(u, c)| Action::Hangup(u, c)),
        2 => ua.clone().prop_map(Action::Hold),
        1 => ua.clone().prop_map(Action::Resume),
        1 => ua.clone().prop_map(Action::Dtmf),
        2 => ua.clone().prop_map(Action::Transfer),
        1 => ua.clone().prop_map(Action::Subscribe),
        1 => ua.clone().prop_map(Action::Unsubscribe),
        1 => (0u8..5).prop_map(Action::NotifierEnds),
        1 => ua.clone().prop_map(Action::Message),
        1 => ua.clone().prop_map(Action::Register),
        1 => ua.clone().prop_map(Action::Unregister),
        1 => ua.clone().prop_map(Action::Disconnect),
        2 => ua.prop_map(Action::Reconnect),
    ]
}

/// A subscription the notifier serves.
#[derive(Debug)]
struct NotifierDialog {
    ua: usize,
    call_id: String,
    subscriber_tag: String,
    tag: String,
    cseq: u32,
    alive: bool,
}

struct Sim {
    uas: Vec<UserAgent>,
    connected: [bool; 2],
    now: Instant,
    /// to_proxy[i]: from UA i; from_proxy[i]: to UA i.
    to_proxy: [VecDeque<String>; 2],
    from_proxy: [VecDeque<String>; 2],
    notifier: Vec<NotifierDialog>,
    next: u64,
    /// Calls the application heard of → how many CallEnded it got.
    calls: [BTreeMap<CallHandle, u32>; 2],
    ringing: [Vec<CallHandle>; 2],
    subs: [BTreeMap<SubscriptionHandle, Option<SubscriptionStatus>>; 2],
    registration: [RegistrationState; 2],
    /// What happened, by event kind: shows the scenarios do exercise things.
    seen: BTreeMap<&'static str, u32>,
}

impl Sim {
    fn new() -> Sim {
        let now = Instant::from_millis(0);
        let mut uas = Vec::new();
        for (i, user) in ["1001", "1002"].iter().enumerate() {
            let mut c = UaConfig::new(user, "pbx.test", "pw");
            c.register_expires = 120;
            let mut ua = UserAgent::new(c, 100 + i as u64);
            ua.handle_connected(now);
            ua.register(now);
            uas.push(ua);
        }
        let mut sim = Sim {
            uas,
            connected: [true, true],
            now,
            to_proxy: Default::default(),
            from_proxy: Default::default(),
            notifier: Vec::new(),
            next: 0,
            calls: Default::default(),
            ringing: Default::default(),
            subs: Default::default(),
            registration: [
                RegistrationState::Unregistered,
                RegistrationState::Unregistered,
            ],
            seen: BTreeMap::new(),
        };
        sim.collect(0);
        sim.collect(1);
        sim
    }

    fn unique(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Moves a UA's output into the network and its events into the books.
    fn collect(&mut self, i: usize) {
        loop {
            let mut any = false;
            while let Some(t) = self.uas[i].poll_transmit() {
                any = true;
                assert!(self.connected[i], "UA {i} transmitted while disconnected");
                // Invariant: whatever the engine sends parses.
                codec::parse(t.text.as_bytes()).expect("engine output parses");
                self.to_proxy[i].push_back(t.text);
            }
            // Handling an event may make the engine send (accept_transfer).
            while let Some(ev) = self.uas[i].poll_event() {
                any = true;
                self.on_event(i, ev);
            }
            if !any {
                return;
            }
        }
    }

    fn on_event(&mut self, i: usize, ev: Event) {
        let kind = match &ev {
            Event::IncomingCall { .. } => "incoming",
            Event::CallAnswered { .. } => "answered",
            Event::CallUpdated { .. } => "updated",
            Event::CallEnded { .. } => "ended",
            Event::Dtmf { .. } => "dtmf",
            Event::TransferRequested { .. } => "transfer_requested",
            Event::TransferProgress { .. } => "transfer_progress",
            Event::Notify { .. } => "notify",
            Event::SubscriptionChanged { .. } => "subscription_changed",
            Event::MessageReceived { .. } => "message",
            Event::RegistrationChanged(_) => "registration",
            Event::KeepaliveFailed => "keepalive_failed",
            _ => "other",
        };
        *self.seen.entry(kind).or_default() += 1;
        match ev {
            Event::IncomingCall { call, .. } => {
                assert!(
                    self.calls[i].insert(call, 0).is_none(),
                    "call handle reused"
                );
                self.ringing[i].push(call);
            }
            Event::CallEnded { call, .. } => {
                let n = self.calls[i]
                    .get_mut(&call)
                    .expect("CallEnded for a call we know");
                *n += 1;
                assert_eq!(*n, 1, "CallEnded twice for {call:?}");
                self.ringing[i].retain(|c| *c != call);
            }
            Event::CallAnswered { call, .. } | Event::CallProgress { call, .. } => {
                assert_eq!(self.calls[i].get(&call), Some(&0), "event after CallEnded");
            }
            Event::TransferRequested {
                call,
                target,
                replaces,
                ..
            } => {
                let now = self.now;
                if let Ok(new) =
                    self.uas[i].accept_transfer(now, call, &target, replaces.as_ref(), OFFER)
                {
                    self.calls[i].insert(new, 0);
                }
            }
            Event::SubscriptionChanged {
                subscription,
                status,
            } => {
                let entry = self.subs[i]
                    .get_mut(&subscription)
                    .expect("known subscription");
                if let Some(SubscriptionStatus::Terminated(_)) = entry {
                    panic!("status change after termination: {status:?}");
                }
                *entry = Some(status);
            }
            Event::RegistrationChanged(state) => self.registration[i] = state,
            // What the glue does: close the dead socket and open a new one.
            Event::KeepaliveFailed => {
                self.apply(&Action::Disconnect(i as u8));
                self.apply(&Action::Reconnect(i as u8));
            }
            _ => {}
        }
    }

    fn deliver_to_ua(&mut self, i: usize) -> bool {
        let Some(text) = self.from_proxy[i].pop_front() else {
            return false;
        };
        let now = self.now;
        self.uas[i]
            .handle_transport(now, text.as_bytes())
            .expect("a connected engine accepts a well-formed message");
        self.collect(i);
        true
    }

    fn deliver_to_proxy(&mut self, i: usize) -> bool {
        let Some(text) = self.to_proxy[i].pop_front() else {
            return false;
        };
        let msg = codec::parse(text.as_bytes()).expect("parses");
        self.proxy(i, msg, text);
        true
    }

    fn send_to(&mut self, i: usize, text: String) {
        if self.connected[i] {
            self.from_proxy[i].push_back(text);
        }
    }

    fn reply(&mut self, i: usize, req: &rsip::Request, code: u16, headers: &[(&str, String)]) {
        let tag = format!("px{}", self.unique());
        let mut r = response_to(req, code, Some(&tag));
        for (n, v) in headers {
            r.headers.push(make_header(n, v.clone()));
        }
        self.send_to(i, codec::serialize(&SipMessage::Response(r)));
    }

    /// The proxy: registrar, presence server and notifier for itself,
    /// and a transparent relay between the two UAs for everything else.
    fn proxy(&mut self, from: usize, msg: SipMessage, text: String) {
        let other = 1 - from;
        match msg {
            SipMessage::Response(r) => {
                let call_id = codec::call_id(&r).unwrap_or_default().to_string();
                if self.notifier.iter().any(|d| d.call_id == call_id) {
                    return; // a 200 to our NOTIFY
                }
                self.send_to(other, text);
            }
            SipMessage::Request(req) => {
                let call_id = codec::call_id(&req).unwrap_or_default().to_string();
                match req.method {
                    Method::Register => {
                        if codec::header(&req, "Authorization").is_none() {
                            let nonce = format!("n{}", self.unique());
                            let ch = format!(
                                "Digest realm=\"pbx.test\", nonce=\"{nonce}\", qop=\"auth\""
                            );
                            self.reply(from, &req, 401, &[("WWW-Authenticate", ch)]);
                        } else {
                            let contact = codec::header(&req, "Contact")
                                .unwrap_or_default()
                                .to_string();
                            let expires =
                                codec::header(&req, "Expires").unwrap_or("120").to_string();
                            self.reply(
                                from,
                                &req,
                                200,
                                &[("Contact", contact), ("Expires", expires)],
                            );
                        }
                    }
                    Method::Options if req.uri.auth.is_none() => self.reply(from, &req, 200, &[]),
                    Method::Publish => {
                        let etag = format!("e{}", self.unique());
                        self.reply(
                            from,
                            &req,
                            200,
                            &[("SIP-ETag", etag), ("Expires", "60".into())],
                        );
                    }
                    Method::Subscribe => self.subscribe(from, &req),
                    Method::Ack if !self.connected[other] => {}
                    _ if self.notifier.iter().any(|d| d.call_id == call_id) => {
                        self.reply(from, &req, 481, &[]);
                    }
                    Method::Invite if req.uri.to_string().contains("1003") => {
                        self.reply(from, &req, 404, &[]);
                    }
                    Method::Ack => self.send_to(other, text),
                    _ if !self.connected[other] => self.reply(from, &req, 480, &[]),
                    _ => self.send_to(other, text),
                }
            }
        }
    }

    fn subscribe(&mut self, from: usize, req: &rsip::Request) {
        let call_id = codec::call_id(req).unwrap_or_default().to_string();
        let expires: u32 = codec::header(req, "Expires")
            .and_then(|e| e.parse().ok())
            .unwrap_or(60);
        let existing = self
            .notifier
            .iter()
            .position(|d| d.call_id == call_id && d.alive);
        let idx = match (codec::to_tag(req), existing) {
            (Some(_), None) => return self.reply(from, req, 481, &[]),
            (_, Some(idx)) => idx,
            (None, None) => {
                let tag = format!("nt{}", self.unique());
                self.notifier.push(NotifierDialog {
                    ua: from,
                    call_id,
                    subscriber_tag: codec::from_tag(req).unwrap_or_default(),
                    tag,
                    cseq: 0,
                    alive: true,
                });
                self.notifier.len() - 1
            }
        };
        let granted = expires.min(60);
        let tag = self.notifier[idx].tag.clone();
        let mut ok = response_to(req, 200, Some(&tag));
        ok.headers.push(make_header("Expires", granted.to_string()));
        ok.headers
            .push(make_header("Contact", "<sip:notifier@127.0.0.1>".into()));
        self.send_to(from, codec::serialize(&SipMessage::Response(ok)));
        let state = if granted == 0 {
            self.notifier[idx].alive = false;
            "terminated;reason=timeout".to_string()
        } else {
            format!("active;expires={granted}")
        };
        self.notify(idx, &state, "Messages-Waiting: no\r\n");
    }

    fn notify(&mut self, idx: usize, state: &str, body: &str) {
        let branch = self.unique();
        let d = &mut self.notifier[idx];
        d.cseq += 1;
        let text = format!(
            "NOTIFY sip:x@x.invalid SIP/2.0\r\nVia: SIP/2.0/WSS 127.0.0.1;branch=z9hG4bKsim{branch}\r\n\
             From: <sip:1001@pbx.test>;tag={}\r\nTo: <sip:1001@pbx.test>;tag={}\r\nCall-ID: {}\r\n\
             CSeq: {} NOTIFY\r\nContact: <sip:notifier@127.0.0.1>\r\nEvent: message-summary\r\n\
             Subscription-State: {state}\r\nContent-Type: application/simple-message-summary\r\n\
             Content-Length: {}\r\n\r\n{body}",
            d.tag,
            d.subscriber_tag,
            d.call_id,
            d.cseq,
            body.len()
        );
        let ua = d.ua;
        self.send_to(ua, text);
    }

    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            for i in 0..2 {
                moved |= self.deliver_to_proxy(i);
                moved |= self.deliver_to_ua(i);
            }
            if !moved {
                return;
            }
        }
        panic!("the network never went quiet: a message loop");
    }

    /// Lets `ms` pass the way the glue would: waking each engine at every
    /// deadline it asked for (without delivering messages meanwhile).
    fn advance(&mut self, ms: u64) {
        let target = self.now + Duration::from_millis(ms);
        loop {
            let next = (0..2).filter_map(|i| self.uas[i].poll_timeout()).min();
            let step = match next {
                Some(t) if t < target => t.max(self.now),
                _ => target,
            };
            self.now = step;
            for i in 0..2 {
                let now = self.now;
                self.uas[i].handle_timeout(now);
                self.collect(i);
                // A timer that is due must be consumed by handle_timeout.
                if let Some(t) = self.uas[i].poll_timeout() {
                    assert!(
                        t > now,
                        "UA {i} asks to be woken in the past after handle_timeout"
                    );
                }
            }
            self.check_liveness();
            if self.now >= target {
                return;
            }
        }
    }

    /// A binding or subscription reported alive is never past its expiry
    /// while connected (5 s slack: a refresh may be in flight).
    fn check_liveness(&self) {
        let slack = Duration::from_secs(5);
        for i in 0..2 {
            if !self.connected[i] {
                continue;
            }
            if let RegistrationState::Registered { expires_at } = self.registration[i] {
                assert!(
                    self.now <= expires_at + slack,
                    "UA {i} registration expired unrefreshed"
                );
            }
            for (h, s) in &self.subs[i] {
                if let Some(
                    SubscriptionStatus::Active { expires_at }
                    | SubscriptionStatus::Pending { expires_at },
                ) = s
                {
                    assert!(
                        self.now <= *expires_at + slack,
                        "UA {i} subscription {h:?} expired unrefreshed"
                    );
                }
            }
        }
    }

    fn live_calls(&self, i: usize) -> Vec<CallHandle> {
        self.uas[i]
            .calls()
            .filter(|(_, s)| !matches!(s, CallState::Ended(_)))
            .map(|(h, _)| h)
            .collect()
    }

    fn apply(&mut self, a: &Action) {
        let now = self.now;
        match *a {
            Action::Deliver(q) => {
                let i = usize::from(q % 2);
                if q < 2 {
                    self.deliver_to_proxy(i);
                } else {
                    self.deliver_to_ua(i);
                }
                return;
            }
            Action::Settle => return self.settle(),
            Action::Advance(ms) => return self.advance(u64::from(ms)),
            Action::NotifierEnds(r) => {
                let reason = [
                    "deactivated",
                    "probation;retry-after=5",
                    "rejected",
                    "noresource",
                    "timeout",
                ][usize::from(r) % 5];
                if let Some(idx) = self
                    .notifier
                    .iter()
                    .position(|d| d.alive && self.connected[d.ua])
                {
                    self.notifier[idx].alive = false;
                    self.notify(idx, &format!("terminated;reason={reason}"), "");
                }
                return;
            }
            _ => {}
        }
        let (i, result): (usize, Result<(), String>) = match *a {
            Action::Call(u) => {
                let i = usize::from(u);
                let target = if i == 0 { "1002" } else { "1001" };
                let r = self.uas[i].call(now, target, OFFER);
                if let Ok(h) = r {
                    self.calls[i].insert(h, 0);
                }
                (i, r.map(|_| ()).map_err(|e| e.to_string()))
            }
            Action::Answer(u) | Action::Reject(u) => {
                let i = usize::from(u);
                let Some(&call) = self.ringing[i].first() else {
                    return;
                };
                self.ringing[i].remove(0);
                let r = if matches!(a, Action::Answer(_)) {
                    self.uas[i].answer(now, call, OFFER)
                } else {
                    self.uas[i].reject(now, call, 486)
                };
                (i, r.map_err(|e| e.to_string()))
            }
            Action::Hangup(u, c) => {
                let i = usize::from(u);
                let live = self.live_calls(i);
                let Some(&call) = live.get(usize::from(c) % live.len().max(1)) else {
                    return;
                };
                (i, self.uas[i].hangup(now, call).map_err(|e| e.to_string()))
            }
            Action::Hold(u) | Action::Resume(u) | Action::Dtmf(u) | Action::Transfer(u) => {
                let i = usize::from(u);
                let Some(&call) = self.live_calls(i).first() else {
                    return;
                };
                let r = match a {
                    Action::Hold(_) => self.uas[i].hold(now, call),
                    Action::Resume(_) => self.uas[i].resume(now, call),
                    Action::Dtmf(_) => self.uas[i].send_dtmf(now, call, '7', 100),
                    _ => self.uas[i].transfer_blind(now, call, "1003"),
                };
                (i, r.map_err(|e| e.to_string()))
            }
            Action::Subscribe(u) => {
                let i = usize::from(u);
                let r = self.uas[i].subscribe(now, "1001", "message-summary", None, 60);
                if let Ok(h) = r {
                    self.subs[i].insert(h, None);
                }
                (i, r.map(|_| ()).map_err(|e| e.to_string()))
            }
            Action::Unsubscribe(u) => {
                let i = usize::from(u);
                let live = self.subs[i]
                    .iter()
                    .find(|(_, s)| !matches!(s, Some(SubscriptionStatus::Terminated(_))))
                    .map(|(h, _)| *h);
                let Some(h) = live else {
                    return;
                };
                (
                    i,
                    self.uas[i].unsubscribe(now, h).map_err(|e| e.to_string()),
                )
            }
            Action::Message(u) => {
                let i = usize::from(u);
                let r = self.uas[i].send_message(now, "1002", "text/plain", "hi");
                (i, r.map(|_| ()).map_err(|e| e.to_string()))
            }
            Action::Register(u) => {
                let i = usize::from(u);
                self.uas[i].register(now);
                (i, Ok(()))
            }
            Action::Unregister(u) => {
                let i = usize::from(u);
                self.uas[i].unregister(now);
                (i, Ok(()))
            }
            Action::Disconnect(u) => {
                let i = usize::from(u);
                if self.connected[i] {
                    self.connected[i] = false;
                    self.to_proxy[i].clear();
                    self.from_proxy[i].clear();
                    for d in self.notifier.iter_mut().filter(|d| d.ua == i) {
                        d.alive = false;
                    }
                    self.uas[i].handle_disconnected(now);
                    self.ringing[i].clear();
                }
                (i, Ok(()))
            }
            Action::Reconnect(u) => {
                let i = usize::from(u);
                if !self.connected[i] {
                    self.connected[i] = true;
                    self.uas[i].handle_connected(now);
                }
                (i, Ok(()))
            }
            _ => return,
        };
        // Commands may be refused (wrong state, not connected) — with a typed
        // error, never a panic; either way the books must stay straight.
        let _ = result;
        self.collect(i);
    }

    /// Ends everything, lets all timers run out, and checks for leaks.
    fn wind_down(&mut self) {
        let now = self.now;
        for i in 0..2 {
            if !self.connected[i] {
                self.connected[i] = true;
                self.uas[i].handle_connected(now);
            }
            self.collect(i);
        }
        self.settle();
        for i in 0..2 {
            for call in self.live_calls(i) {
                let _ = self.uas[i].hangup(now, call);
            }
            let subs: Vec<_> = self.subs[i].keys().copied().collect();
            for h in subs {
                let _ = self.uas[i].unsubscribe(now, h);
            }
            self.collect(i);
        }
        // Longer than every transaction timer (64·T1) and every UAS 2xx
        // retransmission window, with the network delivering as it goes.
        for _ in 0..45 {
            self.settle();
            self.advance(1000);
            // A transfer accepted during wind-down places a new call.
            for i in 0..2 {
                for call in self.live_calls(i) {
                    let _ = self.uas[i].hangup(self.now, call);
                }
                self.ringing[i].clear();
                self.collect(i);
            }
        }
        self.settle();
        for i in 0..2 {
            assert_eq!(
                self.uas[i].transaction_count(),
                (0, 0),
                "UA {i} leaked transactions"
            );
            assert_eq!(self.uas[i].calls().count(), 0, "UA {i} leaked calls");
            for (call, ended) in &self.calls[i] {
                assert_eq!(*ended, 1, "UA {i} call {call:?} never ended");
            }
            for (h, status) in &self.subs[i] {
                assert!(
                    matches!(status, Some(SubscriptionStatus::Terminated(_))),
                    "UA {i} subscription {h:?} not reported terminated: {status:?}"
                );
                assert!(
                    self.uas[i].subscription_status(*h).is_none(),
                    "subscription leaked"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_traffic_keeps_the_invariants(actions in proptest::collection::vec(action(), 1..80)) {
        let mut sim = Sim::new();
        for a in &actions {
            sim.apply(a);
        }
        sim.wind_down();
    }
}

/// A fixed scenario through the same harness, so a regression in the
/// plumbing shows up as a readable failure and not only as a shrunk case.
#[test]
fn call_answer_hold_transfer_and_subscribe_wind_down_cleanly() {
    let mut sim = Sim::new();
    sim.settle();
    assert!(matches!(
        sim.registration[0],
        RegistrationState::Registered { .. }
    ));
    for a in [
        Action::Subscribe(1),
        Action::Call(0),
        Action::Settle,
        Action::Answer(1),
        Action::Settle,
        Action::Hold(0),
        Action::Settle,
        Action::Dtmf(1),
        Action::Transfer(0),
        Action::Settle,
        Action::Advance(35_000),
        Action::Settle,
        Action::NotifierEnds(0),
        Action::Settle,
        Action::Disconnect(1),
        Action::Reconnect(1),
        Action::Settle,
    ] {
        sim.apply(&a);
    }
    sim.wind_down();
    for kind in [
        "incoming",
        "answered",
        "updated",
        "dtmf",
        "transfer_requested",
        "transfer_progress",
        "notify",
        "ended",
    ] {
        assert!(
            sim.seen.contains_key(kind),
            "scenario never produced {kind}: {:?}",
            sim.seen
        );
    }
}
