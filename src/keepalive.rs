//! Connection keepalive by OPTIONS (the engine's answer to two problems at
//! once): Chrome terminates an extension service worker 30 s after its last
//! event, and a WebSocket through NATs and proxies can die silently. An
//! OPTIONS to the registrar every 15 s is traffic in both directions well
//! inside the 30 s, and an answer proves the whole path — socket, proxy and
//! SIP stack — is alive. No answer within 10 s means the flow is dead
//! (RFC 5626 §4.4 spirit); the glue then reconnects.

use std::time::Duration;

use rsip::Method;

use crate::random::Random;
use crate::request::{build_request, parse_uri, LocalParty, RequestSpec};
use crate::time::Instant;
use crate::transaction::ClientEvent;

pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
pub const KEEPALIVE_ANSWER_DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct Keepalive {
    next_probe: Option<Instant>,
    waiting: Option<Probe>,
    generation: u64,
}

#[derive(Debug, Clone, Copy)]
struct Probe {
    generation: u64,
    sent_at: Instant,
    deadline: Instant,
}

/// What a keepalive step asks the engine to do.
#[derive(Debug)]
pub enum KeepaliveAction {
    Send {
        generation: u64,
        request: Box<rsip::Request>,
    },
    /// The probe went unanswered: report it and stop probing this flow.
    Failed,
}

impl Keepalive {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn on_connected(&mut self, now: Instant) {
        self.waiting = None;
        self.next_probe = Some(now + KEEPALIVE_INTERVAL);
    }

    pub fn on_disconnected(&mut self) {
        self.waiting = None;
        self.next_probe = None;
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.next_probe, self.waiting) {
            (Some(a), Some(w)) => Some(a.min(w.deadline)),
            (a, w) => a.or(w.map(|w| w.deadline)),
        }
    }

    pub fn on_timeout(
        &mut self,
        now: Instant,
        local: &LocalParty,
        random: &mut Random,
    ) -> Option<KeepaliveAction> {
        if let Some(probe) = self.waiting {
            if probe.deadline <= now {
                self.waiting = None;
                self.next_probe = None;
                return Some(KeepaliveAction::Failed);
            }
            return None;
        }
        self.next_probe.filter(|t| *t <= now)?;
        self.next_probe = None;
        self.generation = self.generation.wrapping_add(1);
        self.waiting = Some(Probe {
            generation: self.generation,
            sent_at: now,
            deadline: now + KEEPALIVE_ANSWER_DEADLINE,
        });
        let target = format!("sip:{}", local.domain);
        let spec = RequestSpec::new(
            Method::Options,
            parse_uri(&target).unwrap_or_default(),
            format!("<{target}>"),
            random.tag(),
            random.call_id(),
            1,
        );
        let mut request = build_request(local, spec, random);
        request.headers.push(crate::request::make_header(
            "Accept",
            "application/sdp".into(),
        ));
        Some(KeepaliveAction::Send {
            generation: self.generation,
            request: Box::new(request),
        })
    }

    /// Any response, even an error, proves the flow carries SIP both ways.
    pub fn on_event(&mut self, generation: u64, event: &ClientEvent) {
        let Some(probe) = self.waiting.filter(|p| p.generation == generation) else {
            return;
        };
        if matches!(event, ClientEvent::Final(_) | ClientEvent::Provisional(_)) {
            self.waiting = None;
            self.next_probe = Some(probe.sent_at + KEEPALIVE_INTERVAL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support::*;
    use crate::engine::Event;

    #[test]
    fn options_every_15_s_while_answered() {
        // UA                     Proxy
        //  |--- OPTIONS sip:pbx.test -->|  t=15
        //  |<-- 200 --------------------|
        //  |--- OPTIONS --------------->|  t=30
        let mut ua = connected_ua(at_secs(0));
        assert_eq!(ua.poll_timeout(), Some(at_secs(15)));
        ua.handle_timeout(at_secs(15));
        let probe = sent_requests(&mut ua).remove(0);
        assert_eq!(probe.method, Method::Options);
        assert_eq!(probe.uri.to_string(), "sip:pbx.test");
        ua.handle_transport(at_secs(15), &reply(&probe, 200, &[]))
            .unwrap();
        assert_eq!(ua.poll_timeout(), Some(at_secs(30)));
        ua.handle_timeout(at_secs(30));
        assert_eq!(sent_requests(&mut ua).len(), 1);
        assert!(events(&mut ua).is_empty());
    }

    #[test]
    fn unanswered_for_10_s_is_keepalive_failed_once() {
        let mut ua = connected_ua(at_secs(0));
        ua.handle_timeout(at_secs(15));
        assert_eq!(sent_requests(&mut ua).len(), 1);
        assert_eq!(ua.poll_timeout(), Some(at_secs(25)));
        ua.handle_timeout(at_secs(24));
        assert!(events(&mut ua).is_empty());
        ua.handle_timeout(at_secs(25));
        assert_eq!(events(&mut ua), vec![Event::KeepaliveFailed]);
        // No probe storm while the glue reconnects.
        ua.handle_timeout(at_secs(40));
        assert!(sent_requests(&mut ua).is_empty());
        assert!(events(&mut ua).is_empty());
        ua.handle_disconnected(at_secs(41));
        ua.handle_connected(at_secs(42));
        assert_eq!(ua.poll_timeout(), Some(at_secs(57)));
    }

    #[test]
    fn an_error_response_still_proves_the_flow_alive() {
        let mut ua = connected_ua(at_secs(0));
        ua.handle_timeout(at_secs(15));
        let probe = sent_requests(&mut ua).remove(0);
        ua.handle_transport(at_secs(16), &reply(&probe, 404, &[]))
            .unwrap();
        ua.handle_timeout(at_secs(26));
        assert!(events(&mut ua).is_empty());
    }

    #[test]
    fn no_probes_while_disconnected() {
        let mut ua = connected_ua(at_secs(0));
        ua.handle_disconnected(at_secs(1));
        assert_eq!(ua.poll_timeout(), None);
        ua.handle_timeout(at_secs(100));
        assert!(sent(&mut ua).is_empty());
    }
}
