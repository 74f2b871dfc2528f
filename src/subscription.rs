//! Subscriptions (RFC 6665): SUBSCRIBE/NOTIFY dialogs for BLF (`dialog`),
//! voicemail (`message-summary`) and `presence`.
//!
//! The rule the simulation checks: a subscription the user asked for is
//! always either kept alive (refreshed before it expires, re-established
//! after `deactivated`/`timeout`, retried after `probation`/`giveup` or a
//! server error) or reported terminated with its cause. The NOTIFY that
//! RFC 6665 §4.1.2.4 allows to overtake the 2xx creates the dialog itself.

use std::time::Duration;

use rsip::{Method, Request, Response};

use crate::auth::DigestSession;
use crate::codec;
use crate::codec::headers::{SubState, SubscriptionState, TerminationReason};
use crate::dialog::{Dialog, DialogState};
use crate::engine::{Event, Io, Owner};
use crate::request::{build_request, parse_uri, RequestSpec};
use crate::time::Instant;
use crate::transaction::{response_to, ClientEvent, TRANSACTION_TIMEOUT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionHandle(pub u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionStatus {
    /// SUBSCRIBE sent, nothing accepted yet.
    Subscribing,
    /// The notifier has not authorised us yet (RFC 6665 §4.1.2.4 `pending`).
    Pending {
        expires_at: Instant,
    },
    Active {
        expires_at: Instant,
    },
    /// Lost or refused for now; a new SUBSCRIBE goes out at `at`.
    Retrying {
        at: Instant,
    },
    Terminated(TerminationCause),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    #[error("no such subscription")]
    NoSuchSubscription,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminationCause {
    /// We unsubscribed.
    Unsubscribed,
    /// NOTIFY `reason=rejected`: the notifier refuses us.
    Rejected,
    /// NOTIFY `reason=noresource` or `invariant`: nothing to subscribe to.
    NoResource,
    /// `giveup` (or an unknown reason) without a retry-after.
    GaveUp,
    /// The SUBSCRIBE got a final response retrying cannot cure (403, 404,
    /// 489 Bad Event, a rejected credential, ...).
    Refused { code: u16 },
}

/// RFC 5626-style backoff for retryable failures: 30 s doubling to 30 min.
const RETRY_BASE: Duration = Duration::from_secs(30);
const RETRY_MAX: Duration = Duration::from_secs(1800);
/// Refresh this long before expiry (or half-way for short subscriptions).
const REFRESH_LEAD: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct Subscription {
    pub handle: SubscriptionHandle,
    target: String,
    package: String,
    accept: Option<String>,
    expires: u32,
    status: SubscriptionStatus,
    /// False after unsubscribe: remaining work is the Expires: 0 exchange.
    wanted: bool,
    call_id: String,
    local_tag: String,
    cseq: u32,
    dialog: Option<Dialog>,
    digest: DigestSession,
    last_sent: Option<Request>,
    /// Responses to SUBSCRIBEs of an earlier incarnation are ignored.
    generation: u64,
    refresh_at: Option<Instant>,
    retry_at: Option<Instant>,
    failures: u32,
    /// After unsubscribe: forget the subscription by then at the latest.
    finish_by: Option<Instant>,
}

impl Subscription {
    pub fn new(
        io: &mut Io<'_>,
        handle: SubscriptionHandle,
        target: &str,
        package: &str,
        accept: Option<&str>,
        expires: u32,
        connected: bool,
    ) -> Subscription {
        let mut s = Subscription {
            handle,
            target: target.to_string(),
            package: package.to_string(),
            accept: accept.map(str::to_string),
            expires,
            status: SubscriptionStatus::Subscribing,
            wanted: true,
            call_id: String::new(),
            local_tag: String::new(),
            cseq: 0,
            dialog: None,
            digest: DigestSession::new(),
            last_sent: None,
            generation: 0,
            refresh_at: None,
            retry_at: None,
            failures: 0,
            finish_by: None,
        };
        if connected {
            s.start(io);
        } else {
            // Goes out with the next connection (on_connected).
            s.status = SubscriptionStatus::Retrying { at: io.now };
        }
        s
    }

    pub fn status(&self) -> &SubscriptionStatus {
        &self.status
    }

    /// Terminated and nothing left to exchange.
    pub fn is_finished(&self) -> bool {
        matches!(self.status, SubscriptionStatus::Terminated(_)) && self.finish_by.is_none()
    }

    /// A NOTIFY (or other in-dialog request) for this subscription? The
    /// dialog may not exist yet when the NOTIFY overtakes the 2xx.
    pub fn owns_request(&self, request: &Request) -> bool {
        if let Some(d) = &self.dialog {
            return d.matches_request(request);
        }
        codec::call_id(request) == Some(self.call_id.as_str())
            && codec::to_tag(request).as_deref() == Some(self.local_tag.as_str())
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.refresh_at, self.retry_at, self.finish_by]
            .into_iter()
            .flatten()
            .min()
    }

    /// A new subscription (new dialog): initial SUBSCRIBE, or resubscribe
    /// after `deactivated`, a lost connection or a failure.
    fn start(&mut self, io: &mut Io<'_>) {
        self.call_id = io.random.call_id();
        self.local_tag = io.random.tag();
        self.cseq = 0;
        self.dialog = None;
        self.refresh_at = None;
        self.retry_at = None;
        self.digest.start_request();
        self.set_status(io, SubscriptionStatus::Subscribing);
        let uri_text = crate::call::normalize_target(&self.target, &io.local.domain);
        let Some(uri) = parse_uri(&uri_text) else {
            self.terminate(io, TerminationCause::Refused { code: 416 });
            return;
        };
        self.cseq = 1;
        let mut spec = RequestSpec::new(
            Method::Subscribe,
            uri,
            format!("<{uri_text}>"),
            self.local_tag.clone(),
            self.call_id.clone(),
            self.cseq,
        );
        self.add_headers(&mut spec.headers, io, self.expires);
        let request = build_request(io.local, spec, io.random);
        self.send(io, request);
    }

    fn add_headers(&self, headers: &mut Vec<(String, String)>, io: &Io<'_>, expires: u32) {
        headers.push(("Event".into(), self.package.clone()));
        headers.push(("Expires".into(), expires.to_string()));
        headers.push(("Contact".into(), io.local.contact()));
        if let Some(a) = &self.accept {
            headers.push(("Accept".into(), a.clone()));
        }
    }

    fn send(&mut self, io: &mut Io<'_>, request: Request) {
        self.generation = self.generation.wrapping_add(1);
        self.last_sent = Some(request.clone());
        io.send(request, Owner::Subscription(self.handle, self.generation));
    }

    /// Refresh (or, with 0, end) the subscription inside its dialog.
    fn refresh(&mut self, io: &mut Io<'_>, expires: u32) {
        let Some(d) = self.dialog.as_mut() else {
            self.start(io);
            return;
        };
        self.digest.start_request();
        let mut request = d.request(Method::Subscribe, io.local, io.random);
        self.cseq = d.local_cseq;
        let mut extra = Vec::new();
        self.add_headers(&mut extra, io, expires);
        for (n, v) in extra {
            request.headers.push(crate::request::make_header(&n, v));
        }
        self.send(io, request);
    }

    pub fn unsubscribe(&mut self, io: &mut Io<'_>) {
        if !self.wanted {
            return;
        }
        self.wanted = false;
        self.refresh_at = None;
        self.retry_at = None;
        let in_flight = matches!(self.status, SubscriptionStatus::Subscribing);
        if self.dialog.is_some() || in_flight {
            // With a dialog: SUBSCRIBE Expires: 0. Still waiting for the
            // 2xx: it will come with a dialog, which is then ended.
            if self.dialog.is_some() {
                self.refresh(io, 0);
            }
            self.finish_by = Some(io.now + TRANSACTION_TIMEOUT);
        }
        self.terminate(io, TerminationCause::Unsubscribed);
    }

    pub fn on_client_event(&mut self, io: &mut Io<'_>, generation: u64, event: ClientEvent) {
        if generation != self.generation {
            return;
        }
        match event {
            ClientEvent::Provisional(_) => {}
            ClientEvent::Final(r) => self.on_final(io, r),
            ClientEvent::Timeout | ClientEvent::TransportError => {
                if self.wanted {
                    self.retry_later(io, None);
                } else {
                    self.finish_by = None;
                }
            }
        }
    }

    fn on_final(&mut self, io: &mut Io<'_>, r: Response) {
        let code = r.status_code.code();
        if !self.wanted {
            // Unsubscribing: a 2xx that creates the dialog late still needs
            // its Expires: 0; anything else ends it.
            if (200..300).contains(&code) && self.dialog.is_none() {
                if let Some(req) = self.last_sent.clone() {
                    if let Ok(d) = Dialog::uac(&req, &r) {
                        self.dialog = Some(d);
                        self.refresh(io, 0);
                        return;
                    }
                }
            }
            self.finish_by = None;
            return;
        }
        match code {
            200..=299 => {
                if self.dialog.is_none() {
                    if let Some(req) = &self.last_sent {
                        match Dialog::uac(req, &r) {
                            Ok(mut d) => {
                                d.local_cseq = self.cseq;
                                self.dialog = Some(d);
                            }
                            Err(_) => return self.retry_later(io, None),
                        }
                    }
                } else if let Some(d) = self.dialog.as_mut() {
                    d.on_response(&r, false);
                }
                self.failures = 0;
                let granted = codec::header(&r, "Expires")
                    .and_then(|e| e.trim().parse::<u32>().ok())
                    .unwrap_or(self.expires);
                self.schedule_refresh(io, granted);
                if matches!(self.status, SubscriptionStatus::Subscribing) {
                    // Accepted but no NOTIFY yet: pending until it says more.
                    let expires_at = io.now + Duration::from_secs(u64::from(granted));
                    self.set_status(io, SubscriptionStatus::Pending { expires_at });
                }
            }
            401 | 407 => {
                let Some(original) = self.last_sent.clone() else {
                    return;
                };
                let next = self.cseq.saturating_add(1);
                match io.reauthorize(&mut self.digest, &original, &r, next) {
                    Ok(retry) => {
                        self.cseq = next;
                        if let Some(d) = self.dialog.as_mut() {
                            d.local_cseq = next;
                        }
                        self.send(io, retry);
                    }
                    Err(_) => self.terminate(io, TerminationCause::Refused { code }),
                }
            }
            423 => {
                let min = codec::header(&r, "Min-Expires")
                    .and_then(|v| v.trim().parse::<u32>().ok())
                    .filter(|m| *m > self.expires);
                match min {
                    Some(min) => {
                        self.expires = min;
                        self.refresh_or_start(io);
                    }
                    None => self.terminate(io, TerminationCause::Refused { code }),
                }
            }
            // RFC 6665 §4.1.2.2: the subscription (or its dialog) is gone.
            481 => self.start(io),
            408 | 480 | 500..=599 => {
                let retry_after = codec::header(&r, "Retry-After")
                    .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs);
                self.retry_later(io, retry_after);
            }
            _ => self.terminate(io, TerminationCause::Refused { code }),
        }
    }

    fn refresh_or_start(&mut self, io: &mut Io<'_>) {
        if self.dialog.is_some() {
            self.refresh(io, self.expires);
        } else {
            self.start(io);
        }
    }

    /// A NOTIFY for this subscription.
    pub fn on_notify(&mut self, io: &mut Io<'_>, request: Request) {
        if self.dialog.is_none() {
            // RFC 6665 §4.1.2.4: the NOTIFY beat the 2xx; it creates the dialog.
            match Dialog::uas(&request, &self.local_tag, DialogState::Confirmed) {
                Ok(mut d) => {
                    d.local_cseq = self.cseq;
                    self.dialog = Some(d);
                }
                Err(_) => {
                    io.respond(response_to(&request, 400, None));
                    return;
                }
            }
        } else if let Some(d) = self.dialog.as_mut() {
            if d.on_request(&request).is_err() {
                io.respond(response_to(&request, 500, None));
                return;
            }
        }
        let state = match codec::headers::typed::<SubscriptionState, _>(&request) {
            Some(Ok(s)) => s,
            // RFC 6665 §8.2.3 makes the header mandatory in NOTIFY.
            _ => {
                io.respond(response_to(&request, 400, None));
                return;
            }
        };
        let event_ok = codec::header(&request, "Event").is_some_and(|e| {
            e.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(&self.package)
        });
        if !event_ok {
            io.respond(response_to(&request, 489, None));
            return;
        }
        io.respond(response_to(&request, 200, None));
        if !request.body.is_empty() && self.wanted {
            io.emit(Event::Notify {
                subscription: self.handle,
                package: self.package.clone(),
                content_type: codec::content_type(&request),
                body: String::from_utf8_lossy(&request.body).to_string(),
            });
        }
        if !self.wanted {
            if state.state == SubState::Terminated {
                self.finish_by = None;
            }
            return;
        }
        match state.state {
            SubState::Terminated => self.on_terminated(io, &state),
            SubState::Pending => {
                let expires_at = self.expires_at(io, state.expires);
                self.set_status(io, SubscriptionStatus::Pending { expires_at });
            }
            // RFC 6665 §8.2.3: unknown states count as active.
            SubState::Active | SubState::Other(_) => {
                let expires_at = self.expires_at(io, state.expires);
                self.set_status(io, SubscriptionStatus::Active { expires_at });
            }
        }
    }

    fn expires_at(&mut self, io: &mut Io<'_>, expires: Option<u32>) -> Instant {
        // The notifier may shorten the subscription in any NOTIFY (RFC 6665 §4.1.2.3).
        if let Some(e) = expires {
            self.schedule_refresh(io, e);
            return io.now + Duration::from_secs(u64::from(e));
        }
        match &self.status {
            SubscriptionStatus::Active { expires_at }
            | SubscriptionStatus::Pending { expires_at } => *expires_at,
            _ => io.now + Duration::from_secs(u64::from(self.expires)),
        }
    }

    fn on_terminated(&mut self, io: &mut Io<'_>, state: &SubscriptionState) {
        self.dialog = None;
        self.refresh_at = None;
        let retry_after = state.retry_after.map(|s| Duration::from_secs(u64::from(s)));
        match &state.reason {
            // RFC 6665 §4.1.3: resubscribe at once.
            None | Some(TerminationReason::Deactivated) | Some(TerminationReason::Timeout) => {
                match retry_after {
                    Some(d) => self.retry_at_time(io, io.now + d),
                    None => self.start(io),
                }
            }
            Some(TerminationReason::Probation) => {
                self.retry_at_time(io, io.now + retry_after.unwrap_or(RETRY_BASE))
            }
            Some(TerminationReason::Rejected) => self.terminate(io, TerminationCause::Rejected),
            Some(TerminationReason::Noresource) | Some(TerminationReason::Invariant) => {
                self.terminate(io, TerminationCause::NoResource)
            }
            Some(TerminationReason::Giveup) | Some(TerminationReason::Other(_)) => {
                match retry_after {
                    Some(d) => self.retry_at_time(io, io.now + d),
                    None => self.terminate(io, TerminationCause::GaveUp),
                }
            }
        }
    }

    pub fn on_timeout(&mut self, io: &mut Io<'_>) {
        let now = io.now;
        if self.finish_by.is_some_and(|t| t <= now) {
            self.finish_by = None;
        }
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_at = None;
            if self.wanted {
                self.start(io);
            }
        }
        if self.refresh_at.is_some_and(|t| t <= now) {
            self.refresh_at = None;
            if self.wanted {
                self.refresh(io, self.expires);
            }
        }
    }

    /// The connection is gone, and with it the dialog's flow: start over on
    /// the next connection.
    pub fn on_transport_lost(&mut self, io: &mut Io<'_>) {
        self.dialog = None;
        self.refresh_at = None;
        self.retry_at = None;
        self.finish_by = None;
        if self.wanted {
            self.set_status(io, SubscriptionStatus::Retrying { at: io.now });
        }
    }

    pub fn on_connected(&mut self, io: &mut Io<'_>) {
        if self.wanted && matches!(self.status, SubscriptionStatus::Retrying { .. }) {
            self.start(io);
        }
    }

    fn schedule_refresh(&mut self, io: &Io<'_>, granted: u32) {
        let lifetime = Duration::from_secs(u64::from(granted));
        if granted == 0 {
            self.refresh_at = None;
            return;
        }
        let lead = REFRESH_LEAD.min(lifetime / 2);
        self.refresh_at = Some(io.now + (lifetime - lead));
    }

    fn retry_later(&mut self, io: &mut Io<'_>, after: Option<Duration>) {
        let step = RETRY_BASE
            .saturating_mul(1u32 << self.failures.min(6))
            .min(RETRY_MAX);
        self.failures = self.failures.saturating_add(1);
        let half = step.as_millis() as u64 / 2;
        let jittered = Duration::from_millis(half + io.random.below(half + 1));
        let at = io.now + after.unwrap_or(jittered);
        self.retry_at_time(io, at);
    }

    fn retry_at_time(&mut self, io: &mut Io<'_>, at: Instant) {
        self.dialog = None;
        self.refresh_at = None;
        self.retry_at = Some(at);
        self.set_status(io, SubscriptionStatus::Retrying { at });
    }

    fn terminate(&mut self, io: &mut Io<'_>, cause: TerminationCause) {
        self.refresh_at = None;
        self.retry_at = None;
        if cause != TerminationCause::Unsubscribed {
            self.wanted = false;
            self.dialog = None;
        }
        self.set_status(io, SubscriptionStatus::Terminated(cause));
    }

    fn set_status(&mut self, io: &mut Io<'_>, status: SubscriptionStatus) {
        if self.status != status {
            self.status = status.clone();
            io.emit(Event::SubscriptionChanged {
                subscription: self.handle,
                status,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    //! Subscriber ladders against a hand-played notifier.
    use super::*;
    use crate::engine::test_support::*;
    use crate::engine::{Event, UserAgent};
    use crate::request::make_header;
    use rsip::SipMessage;

    const PKG: &str = "message-summary";
    const MWI: &str = "Messages-Waiting: yes\r\nVoice-Message: 2/8 (0/2)\r\n";

    /// The notifier's side of one subscription dialog.
    struct Notifier {
        subscribe: Request,
        tag: String,
        cseq: u32,
    }

    impl Notifier {
        fn new(subscribe: Request) -> Notifier {
            Notifier {
                subscribe,
                tag: "notifier1".into(),
                cseq: 100,
            }
        }

        fn ok(&self, request: &Request, expires: u32) -> Vec<u8> {
            let mut r = response_to(request, 200, Some(&self.tag));
            r.headers.push(make_header("Expires", expires.to_string()));
            r.headers
                .push(make_header("Contact", "<sip:pbx@192.0.2.9>".into()));
            codec::serialize(&SipMessage::Response(r)).into_bytes()
        }

        fn notify(&mut self, state: &str, body: &str) -> Vec<u8> {
            self.cseq += 1;
            let s = &self.subscribe;
            let from_tag = codec::from_tag(s).unwrap();
            let text = format!(
                "NOTIFY sip:x@x.invalid SIP/2.0\r\nVia: SIP/2.0/WSS 192.0.2.9;branch=z9hG4bKn{}\r\n\
                 From: <sip:1001@pbx.test>;tag={}\r\nTo: <sip:1001@pbx.test>;tag={from_tag}\r\n\
                 Call-ID: {}\r\nCSeq: {} NOTIFY\r\nContact: <sip:pbx@192.0.2.9>\r\nEvent: {PKG}\r\n\
                 Subscription-State: {state}\r\nContent-Type: application/simple-message-summary\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                self.cseq,
                self.tag,
                codec::call_id(s).unwrap(),
                self.cseq,
                body.len()
            );
            text.into_bytes()
        }
    }

    fn statuses(evs: &[Event]) -> Vec<SubscriptionStatus> {
        evs.iter()
            .filter_map(|e| match e {
                Event::SubscriptionChanged { status, .. } => Some(status.clone()),
                _ => None,
            })
            .collect()
    }

    fn subscribed() -> (UserAgent, SubscriptionHandle, Notifier) {
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        let sub = ua
            .subscribe(
                t0,
                "1001",
                PKG,
                Some("application/simple-message-summary"),
                600,
            )
            .unwrap();
        let subscribe = sent_requests(&mut ua).remove(0);
        (ua, sub, Notifier::new(subscribe))
    }

    #[test]
    fn subscribe_200_notify_active_then_refresh_in_dialog() {
        // UA                    Notifier
        // |--- SUBSCRIBE -------->|  Event: message-summary, Expires: 600
        // |<-- 200 (Expires 600) -|
        // |<-- NOTIFY active -----|
        // |--- 200 -------------->|
        // ... 570 s later
        // |--- SUBSCRIBE -------->|  in dialog, CSeq 2
        let (mut ua, sub, mut n) = subscribed();
        assert_eq!(n.subscribe.method, Method::Subscribe);
        assert_eq!(header(&n.subscribe, "Event"), Some(PKG));
        assert_eq!(header(&n.subscribe, "Expires"), Some("600"));
        ua.handle_transport(at_secs(0), &n.ok(&n.subscribe.clone(), 600))
            .unwrap();
        ua.handle_transport(at_secs(0), &n.notify("active;expires=600", MWI))
            .unwrap();
        let out = sent(&mut ua);
        assert!(matches!(&out[..], [SipMessage::Response(r)] if r.status_code.code() == 200));
        let evs = events(&mut ua);
        assert!(evs.contains(&Event::Notify {
            subscription: sub,
            package: PKG.into(),
            content_type: Some("application/simple-message-summary".into()),
            body: MWI.into()
        }));
        assert_eq!(
            statuses(&evs).last(),
            Some(&SubscriptionStatus::Active {
                expires_at: at_secs(600)
            })
        );
        ua.handle_timeout(at_secs(570));
        let refresh = sent_requests(&mut ua)
            .into_iter()
            .find(|r| r.method == Method::Subscribe)
            .expect("refresh");
        assert_eq!(codec::cseq(&refresh).unwrap().0, 2);
        assert_eq!(codec::to_tag(&refresh).as_deref(), Some("notifier1"));
        assert_eq!(refresh.uri.to_string(), "sip:pbx@192.0.2.9");
    }

    #[test]
    fn notify_before_the_200_creates_the_dialog() {
        let (mut ua, sub, mut n) = subscribed();
        ua.handle_transport(at_secs(0), &n.notify("pending;expires=600", ""))
            .unwrap();
        assert_eq!(
            statuses(&events(&mut ua)),
            [SubscriptionStatus::Pending {
                expires_at: at_secs(600)
            }]
        );
        ua.handle_transport(at_secs(0), &n.ok(&n.subscribe.clone(), 600))
            .unwrap();
        ua.handle_transport(at_secs(1), &n.notify("active;expires=599", MWI))
            .unwrap();
        assert!(matches!(
            ua.subscription_status(sub),
            Some(SubscriptionStatus::Active { .. })
        ));
    }

    #[test]
    fn deactivated_resubscribes_at_once_with_a_new_dialog() {
        let (mut ua, _sub, mut n) = subscribed();
        ua.handle_transport(at_secs(0), &n.ok(&n.subscribe.clone(), 600))
            .unwrap();
        ua.handle_transport(at_secs(0), &n.notify("terminated;reason=deactivated", ""))
            .unwrap();
        let again = sent_requests(&mut ua)
            .into_iter()
            .find(|r| r.method == Method::Subscribe)
            .unwrap();
        assert_ne!(codec::call_id(&again), codec::call_id(&n.subscribe));
        assert!(codec::to_tag(&again).is_none());
    }

    #[test]
    fn probation_retries_after_retry_after() {
        let (mut ua, sub, mut n) = subscribed();
        ua.handle_transport(at_secs(0), &n.ok(&n.subscribe.clone(), 600))
            .unwrap();
        ua.handle_transport(
            at_secs(0),
            &n.notify("terminated;reason=probation;retry-after=90", ""),
        )
        .unwrap();
        assert_eq!(
            ua.subscription_status(sub),
            Some(SubscriptionStatus::Retrying { at: at_secs(90) })
        );
        ua.handle_timeout(at_secs(89));
        assert!(sent_requests(&mut ua)
            .iter()
            .all(|r| r.method != Method::Subscribe));
        ua.handle_timeout(at_secs(90));
        assert!(sent_requests(&mut ua)
            .iter()
            .any(|r| r.method == Method::Subscribe));
    }

    #[test]
    fn rejected_and_noresource_are_final() {
        for (reason, cause) in [
            ("rejected", TerminationCause::Rejected),
            ("noresource", TerminationCause::NoResource),
        ] {
            let (mut ua, sub, mut n) = subscribed();
            ua.handle_transport(at_secs(0), &n.ok(&n.subscribe.clone(), 600))
                .unwrap();
            ua.handle_transport(
                at_secs(0),
                &n.notify(&format!("terminated;reason={reason}"), ""),
            )
            .unwrap();
            assert_eq!(
                statuses(&events(&mut ua)).last(),
                Some(&SubscriptionStatus::Terminated(cause))
            );
            ua.handle_timeout(at_secs(3600));
            assert!(sent_requests(&mut ua)
                .iter()
                .all(|r| r.method != Method::Subscribe));
            assert!(
                ua.subscription_status(sub).is_none(),
                "forgotten once terminated"
            );
        }
    }

    #[test]
    fn timeout_reason_resubscribes() {
        let (mut ua, _sub, mut n) = subscribed();
        ua.handle_transport(at_secs(0), &n.ok(&n.subscribe.clone(), 600))
            .unwrap();
        ua.handle_transport(at_secs(0), &n.notify("terminated;reason=timeout", ""))
            .unwrap();
        assert!(sent_requests(&mut ua)
            .iter()
            .any(|r| r.method == Method::Subscribe));
    }

    #[test]
    fn bad_event_489_is_a_refusal() {
        let (mut ua, sub, n) = subscribed();
        let r = response_to(&n.subscribe, 489, Some("x"));
        ua.handle_transport(
            at_secs(0),
            codec::serialize(&SipMessage::Response(r)).as_bytes(),
        )
        .unwrap();
        assert_eq!(
            statuses(&events(&mut ua)).last(),
            Some(&SubscriptionStatus::Terminated(TerminationCause::Refused {
                code: 489
            }))
        );
        assert!(ua.subscription_status(sub).is_none());
    }

    #[test]
    fn no_answer_retries_with_backoff() {
        let (mut ua, sub, _n) = subscribed();
        ua.handle_disconnected(at_secs(1));
        assert!(matches!(
            ua.subscription_status(sub),
            Some(SubscriptionStatus::Retrying { .. })
        ));
        ua.handle_connected(at_secs(2));
        assert!(sent_requests(&mut ua)
            .iter()
            .any(|r| r.method == Method::Subscribe));
    }

    #[test]
    fn unsubscribe_sends_expires_zero_in_the_dialog() {
        let (mut ua, sub, mut n) = subscribed();
        ua.handle_transport(at_secs(0), &n.ok(&n.subscribe.clone(), 600))
            .unwrap();
        ua.handle_transport(at_secs(0), &n.notify("active;expires=600", MWI))
            .unwrap();
        sent(&mut ua);
        events(&mut ua);
        ua.unsubscribe(at_secs(5), sub).unwrap();
        let bye = sent_requests(&mut ua).remove(0);
        assert_eq!(header(&bye, "Expires"), Some("0"));
        assert_eq!(
            statuses(&events(&mut ua)),
            [SubscriptionStatus::Terminated(
                TerminationCause::Unsubscribed
            )]
        );
        ua.handle_transport(at_secs(5), &n.ok(&bye, 0)).unwrap();
        ua.handle_transport(at_secs(5), &n.notify("terminated;reason=timeout", ""))
            .unwrap();
        // No resubscribe, no event for the body-less final NOTIFY.
        assert!(sent_requests(&mut ua).is_empty());
        assert!(events(&mut ua).is_empty());
        assert!(ua.subscription_status(sub).is_none());
    }
}
