//! A call still ringing when its user agent died (the service worker was
//! stopped): the INVITE transaction is gone with it, and it cannot be
//! taken over the way a confirmed dialog can ([`super::snapshot`]).
//!
//! Why not, measured against Kamailio (tests/e2e/calls-restart.test.mjs):
//! - incoming: the proxy forwards the caller's CANCEL hop by hop to where
//!   it sent the INVITE, the dead connection, so a restored ringing call
//!   would never learn that the caller gave up and would ring on into
//!   nothing; answering it is no better bet. What does work is a final
//!   response on the new connection: the proxy matches a response to its
//!   transaction by the Via branch (RFC 3261 §17.1.3), not by connection,
//!   so a `480 Temporarily Unavailable` reaches the caller at once and a
//!   PBX can go on to voicemail or forwarding;
//! - outgoing: the 2xx of our INVITE is routed by Via to the dead
//!   connection, so the call cannot be continued; a CANCEL with the
//!   INVITE's branch (RFC 3261 §9.1) sent on the new connection is matched
//!   by the proxy to its transaction (§16.10) and stops the callee ringing.
//!
//! So the user agent exports the INVITE of a ringing call, and the next one
//! ends it properly with [`crate::engine::UserAgent::end_orphaned`].

use rsip::{Method, Request, SipMessage};
use serde::{Deserialize, Serialize};

use super::{CallDirection, RestoreError};
use crate::codec;

/// Version of the stored form.
pub const ORPHAN_VERSION: u32 = 1;

/// The INVITE transaction of a ringing call, as stored for the next agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingingSnapshot {
    pub v: u32,
    pub direction: CallDirection,
    /// The INVITE as sent (outgoing, with the branch the proxy knows) or
    /// as received (incoming, with the proxy's Via headers).
    pub invite: String,
    /// Our To tag of an incoming call (the 180 carried it).
    pub local_tag: String,
}

impl RingingSnapshot {
    /// What ends the orphaned transaction: 480 to the caller's INVITE, or
    /// CANCEL of ours. Stored data is checked: an INVITE that does not
    /// parse, or a response/CANCEL that could not be built, is refused.
    pub(crate) fn ending(&self) -> Result<SipMessage, RestoreError> {
        if self.v != ORPHAN_VERSION {
            return Err(RestoreError::Version(self.v));
        }
        let invite = match codec::parse(self.invite.as_bytes()) {
            Ok(SipMessage::Request(r)) if r.method == Method::Invite => r,
            _ => return Err(RestoreError::Invalid("invite")),
        };
        if codec::top_via_branch(&invite).is_none() || codec::call_id(&invite).is_none() {
            return Err(RestoreError::Invalid("invite"));
        }
        Ok(match self.direction {
            CallDirection::Incoming => {
                let tag = (!self.local_tag.is_empty()
                    && self.local_tag.len() <= 256
                    && !self.local_tag.chars().any(char::is_whitespace))
                .then_some(self.local_tag.as_str());
                SipMessage::Response(crate::transaction::response_to(&invite, 480, tag))
            }
            CallDirection::Outgoing => SipMessage::Request(super::cancel_of(&invite)),
        })
    }

    pub(crate) fn of(direction: CallDirection, invite: &Request, local_tag: &str) -> Self {
        RingingSnapshot {
            v: ORPHAN_VERSION,
            direction,
            invite: codec::serialize(&SipMessage::Request(invite.clone())),
            local_tag: local_tag.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The next agent ends what the dead one left ringing.
    use super::*;
    use crate::call::CallHandle;
    use crate::engine::test_support::*;
    use crate::engine::{Event, UserAgent};
    use crate::time::Instant;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n";

    fn new_ua(now: Instant) -> UserAgent {
        let mut ua = UserAgent::new(config(), 4242);
        ua.handle_connected(now);
        ua
    }

    fn incoming(a: &mut UserAgent, now: Instant) -> CallHandle {
        let invite = format!(
            "INVITE sip:a@a.invalid SIP/2.0\r\n\
             Via: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bKpbx.0\r\n\
             Via: SIP/2.0/WS b.invalid;received=127.0.0.1;branch=z9hG4bKcaller\r\n\
             Record-Route: <sip:127.0.0.1;transport=ws;lr>\r\n\
             From: \"Bob\" <sip:1002@pbx.test>;tag=b1\r\nTo: <sip:1001@pbx.test>\r\nCall-ID: ring-1\r\n\
             CSeq: 7 INVITE\r\nContact: <sip:b@b.invalid;transport=ws>\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{OFFER}",
            OFFER.len()
        );
        a.handle_transport(now, invite.as_bytes()).unwrap();
        events(a)
            .into_iter()
            .find_map(|e| match e {
                Event::IncomingCall { call, .. } => Some(call),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn a_caller_left_ringing_gets_480_through_the_new_connection() {
        // PBX              old A (dies while ringing)      new A'
        // |--- INVITE ------->|
        // |<-- 180 (tag t) ---|
        //                      export_ringing → storage
        // |<-- 480 (tag t, same Via, Call-ID, CSeq) ------------|
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let call = incoming(&mut a, now);
        a.ring(now, call).unwrap();
        let r180 = sent(&mut a)
            .into_iter()
            .find_map(|m| match m {
                SipMessage::Response(r) if r.status_code.code() == 180 => Some(r),
                _ => None,
            })
            .expect("180");
        let stored = serde_json::to_string(&a.export_ringing(call).unwrap()).unwrap();
        let mut a2 = new_ua(now);
        let back: RingingSnapshot = serde_json::from_str(&stored).unwrap();
        a2.end_orphaned(&back).unwrap();
        let out = sent(&mut a2);
        let SipMessage::Response(r480) = &out[0] else {
            panic!("a response: {out:?}")
        };
        assert_eq!(r480.status_code.code(), 480);
        assert_eq!(codec::to_tag(r480), codec::to_tag(&r180));
        assert_eq!(codec::call_id(r480), Some("ring-1"));
        assert_eq!(
            codec::headers(r480, "Via"),
            [
                "SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bKpbx.0",
                "SIP/2.0/WS b.invalid;received=127.0.0.1;branch=z9hG4bKcaller"
            ]
        );
        assert_eq!(
            a2.transaction_count(),
            (0, 0),
            "stateless: no transaction left"
        );
    }

    #[test]
    fn our_invite_left_ringing_is_cancelled_with_its_own_branch() {
        // old A |--- INVITE (branch x) -->|  |<-- 180 --|   dies
        // new A' |--- CANCEL (branch x, same CSeq number) -->|
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let call = a.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut a).pop().unwrap();
        a.handle_transport(now, &reply(&invite, 180, &[])).unwrap();
        let snapshot = a.export_ringing(call).unwrap();
        let mut a2 = new_ua(now);
        a2.end_orphaned(&snapshot).unwrap();
        let cancel = sent_requests(&mut a2).pop().unwrap();
        assert_eq!(cancel.method, Method::Cancel);
        assert_eq!(cancel.uri, invite.uri);
        assert_eq!(
            codec::top_via_branch(&cancel),
            codec::top_via_branch(&invite)
        );
        assert_eq!(
            codec::cseq(&cancel).map(|(n, _)| n),
            codec::cseq(&invite).map(|(n, _)| n)
        );
    }

    #[test]
    fn only_ringing_calls_export_and_stored_junk_is_refused() {
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let call = a.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut a).pop().unwrap();
        a.handle_transport(
            now,
            &reply(&invite, 200, &[("Contact", "<sip:b@b.invalid>")]),
        )
        .unwrap();
        assert_eq!(a.export_ringing(call), None, "a confirmed call is a dialog");
        let mut a2 = new_ua(now);
        let good = RingingSnapshot::of(CallDirection::Outgoing, &invite, "");
        for bad in [
            RingingSnapshot {
                v: 2,
                ..good.clone()
            },
            RingingSnapshot {
                invite: "junk".into(),
                ..good.clone()
            },
            RingingSnapshot {
                invite: good.invite.replace("INVITE", "BYE"),
                ..good.clone()
            },
        ] {
            assert!(a2.end_orphaned(&bad).is_err());
        }
        assert!(a2.poll_transmit().is_none());
        let mut offline = UserAgent::new(config(), 7);
        assert_eq!(offline.end_orphaned(&good), Err(RestoreError::NotConnected));
    }
}
