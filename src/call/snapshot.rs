//! An established call's dialog state as plain data, so that a call can
//! outlive the user agent that set it up (a service worker is killed and
//! restarted while the offscreen document keeps the media going).
//!
//! RFC 3261 §12 says what a dialog is made of: Call-ID, both tags, both
//! URIs, the remote target, the route set and the CSeq counters. Together
//! with the session description agreed last (RFC 3264) and the hold state,
//! that is all a new user agent needs to send BYE, re-INVITE, REFER or INFO
//! in the old dialog, and to recognise the peer's requests in it.
//!
//! A restored call lives on a new connection with a new Contact; the peer
//! and the proxy still route to the old one (a WebSocket edge names the
//! connection in the Contact's `;alias=`, RFC 5626 in its flow token). So a
//! restored call sends a target refresh at once (RFC 3261 §12.2.1.1: a
//! re-INVITE with the same session and our new Contact), which moves the
//! peer's remote target to the new connection.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::CallDirection;
use crate::codec::headers::NameAddr;
use crate::dialog::{Dialog, DialogId, DialogState};
use crate::request::parse_uri;
use crate::sdp::Sdp;

/// Version of the stored form; a snapshot of another version is refused
/// rather than half-understood.
pub const SNAPSHOT_VERSION: u32 = 1;

/// What [`crate::engine::UserAgent::export_call`] gives and
/// [`crate::engine::UserAgent::restore_call`] takes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSnapshot {
    pub v: u32,
    pub direction: CallDirection,
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// Our name-addr without tag (From of our requests).
    pub local_uri: String,
    /// The peer's name-addr without tag (To of our requests).
    pub remote_uri: String,
    /// The peer's Contact URI: the Request-URI of our requests.
    pub remote_target: String,
    /// Route set, first hop first, each `<uri;params>`.
    pub route_set: Vec<String>,
    /// CSeq of our last request in the dialog.
    pub local_cseq: u32,
    /// CSeq of the peer's last request, when it sent one.
    #[serde(default)]
    pub remote_cseq: Option<u32>,
    /// The session description we gave last (offer or answer).
    pub local_sdp: String,
    #[serde(default)]
    pub remote_sdp: Option<String>,
    /// We put the call on hold.
    #[serde(default)]
    pub local_hold: bool,
    /// The peer put us on hold.
    #[serde(default)]
    pub remote_hold: bool,
}

/// Why a snapshot cannot become a call again.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RestoreError {
    #[error("snapshot version {0} is not supported")]
    Version(u32),
    #[error("snapshot field {0} is missing or malformed")]
    Invalid(&'static str),
    #[error("a call in this dialog exists already")]
    Duplicate,
    #[error("not connected")]
    NotConnected,
}

impl CallSnapshot {
    /// Checks everything a stored snapshot (external data) must satisfy
    /// and gives the confirmed dialog it describes.
    pub(crate) fn dialog(&self) -> Result<Dialog, RestoreError> {
        if self.v != SNAPSHOT_VERSION {
            return Err(RestoreError::Version(self.v));
        }
        let token = |s: &str, what| {
            if s.is_empty() || s.len() > 256 || s.chars().any(|c| c.is_whitespace()) {
                Err(RestoreError::Invalid(what))
            } else {
                Ok(())
            }
        };
        token(&self.call_id, "call_id")?;
        token(&self.local_tag, "local_tag")?;
        token(&self.remote_tag, "remote_tag")?;
        for (value, what) in [
            (&self.local_uri, "local_uri"),
            (&self.remote_uri, "remote_uri"),
        ] {
            NameAddr::parse(value, "To").map_err(|_| RestoreError::Invalid(what))?;
        }
        // rsip takes nearly any text for a URI; a remote target is a SIP one.
        let scheme = self.remote_target.split(':').next().unwrap_or("");
        if !(scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips"))
            || self.remote_target.chars().any(char::is_whitespace)
            || parse_uri(&self.remote_target).is_none()
        {
            return Err(RestoreError::Invalid("remote_target"));
        }
        if self.route_set.len() > 32
            || self
                .route_set
                .iter()
                .any(|r| NameAddr::parse(r, "Route").is_err())
        {
            return Err(RestoreError::Invalid("route_set"));
        }
        Sdp::parse(&self.local_sdp).map_err(|_| RestoreError::Invalid("local_sdp"))?;
        Ok(Dialog {
            id: DialogId {
                call_id: self.call_id.clone(),
                local_tag: self.local_tag.clone(),
                remote_tag: self.remote_tag.clone(),
            },
            state: DialogState::Confirmed,
            local_uri: self.local_uri.clone(),
            remote_uri: self.remote_uri.clone(),
            remote_target: self.remote_target.clone(),
            route_set: self.route_set.clone(),
            local_cseq: self.local_cseq,
            remote_cseq: self.remote_cseq,
        })
    }
}

#[cfg(test)]
mod tests {
    //! Ladders of a call that outlives its user agent: the old agent
    //! exports the dialog, a new one (new seed, new Contact, new connection)
    //! restores it and carries on in the same dialog.
    use super::*;
    use crate::call::{CallHandle, CallState, EndReason};
    use crate::codec;
    use crate::engine::test_support::*;
    use crate::engine::{Event, UserAgent};
    use crate::time::Instant;
    use rsip::{Method, Request, SipMessage};

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n";
    const ANSWER: &str = "v=0\r\no=- 7 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n";
    const PEER: &str = "<sip:1002@192.0.2.9;transport=ws;alias=192.0.2.9~5060~5>";

    /// The user agent of the restarted worker: same account, other seed.
    fn new_ua(now: Instant) -> UserAgent {
        let mut ua = UserAgent::new(config(), 4242);
        ua.handle_connected(now);
        ua
    }

    fn routes(request: &Request) -> Vec<String> {
        codec::headers(request, "Route")
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// 1001 calls 1002 through two record-routing proxies; returns the
    /// old agent, its call and the INVITE.
    fn outgoing_call(now: Instant) -> (UserAgent, CallHandle, Request) {
        let mut a = connected_ua(now);
        let call = a.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut a).pop().unwrap();
        let rr = "<sip:p2.test;lr>, <sip:p1.test;transport=ws;lr>";
        a.handle_transport(
            now,
            &reply(&invite, 200, &[("Contact", PEER), ("Record-Route", rr)]),
        )
        .unwrap();
        sent_requests(&mut a); // the ACK
        events(&mut a);
        (a, call, invite)
    }

    #[test]
    fn restored_call_refreshes_the_target_then_byes_in_the_old_dialog() {
        // old A                 proxies p1, p2              B
        // |--- INVITE (CSeq 1) -------------------------->|
        // |<-- 200, Record-Route p2, p1 ------------------|
        // |--- ACK --------------------------------------->|
        //    export_call → storage; the worker dies
        // new A'
        // |--- re-INVITE (same dialog, CSeq 2, Contact A') ->|
        // |<-- 200 ------------------------------------------|
        // |--- ACK ------------------------------------------>|
        // |--- BYE (CSeq 3, Route p1, p2, R-URI B) ---------->|   hangup
        // |<-- 200 ------------------------------------------|
        let now = at_secs(0);
        let (a, call, invite) = outgoing_call(now);
        let snapshot = a.export_call(call).expect("an established call exports");
        let stored = serde_json::to_string(&snapshot).unwrap();
        drop(a);

        let mut a2 = new_ua(now);
        let back: CallSnapshot = serde_json::from_str(&stored).unwrap();
        let call2 = a2.restore_call(now, &back).unwrap();
        assert_eq!(
            a2.call_state(call2),
            Some(CallState::Connected {
                local_hold: false,
                remote_hold: false
            })
        );
        let refresh = sent_requests(&mut a2).pop().expect("a target refresh");
        assert_eq!(refresh.method, Method::Invite);
        assert_eq!(codec::call_id(&refresh), codec::call_id(&invite));
        assert_eq!(codec::from_tag(&refresh), codec::from_tag(&invite));
        assert_eq!(codec::to_tag(&refresh).as_deref(), Some("far1"));
        assert_eq!(codec::cseq(&refresh).map(|(n, _)| n), Some(2));
        assert_ne!(header(&refresh, "Contact"), header(&invite, "Contact"));
        assert_eq!(
            refresh.uri.to_string().to_ascii_lowercase(),
            "sip:1002@192.0.2.9;transport=ws;alias=192.0.2.9~5060~5"
        );
        assert_eq!(
            routes(&refresh),
            ["<sip:p1.test;transport=ws;lr>", "<sip:p2.test;lr>"]
        );
        assert!(String::from_utf8_lossy(&refresh.body).contains("a=sendrecv"));

        a2.handle_transport(now, &reply(&refresh, 200, &[("Contact", PEER)]))
            .unwrap();
        let ack = sent_requests(&mut a2).pop().expect("ACK of the refresh");
        assert_eq!(ack.method, Method::Ack);
        // A refresh changes nothing the user sees but is reported like any
        // session update; it is not a failure.
        assert!(!events(&mut a2)
            .iter()
            .any(|e| matches!(e, Event::CallUpdateFailed { .. } | Event::CallEnded { .. })));

        a2.hangup(now, call2).unwrap();
        let bye = sent_requests(&mut a2).pop().expect("BYE");
        assert_eq!(bye.method, Method::Bye);
        assert_eq!(codec::call_id(&bye), codec::call_id(&invite));
        assert_eq!(codec::from_tag(&bye), codec::from_tag(&invite));
        assert_eq!(codec::to_tag(&bye).as_deref(), Some("far1"));
        assert_eq!(codec::cseq(&bye).map(|(n, _)| n), Some(3));
        assert_eq!(
            routes(&bye),
            ["<sip:p1.test;transport=ws;lr>", "<sip:p2.test;lr>"]
        );
        assert_eq!(ended(&events(&mut a2), call2), [EndReason::LocalHangup]);
    }

    #[test]
    fn restored_call_holds_and_resumes_in_the_old_dialog() {
        // new A' |--- re-INVITE (refresh, CSeq 2) -->| |<-- 200 --| ACK
        //        |--- re-INVITE sendonly (CSeq 3) -->| |<-- 200 --| ACK   hold
        let now = at_secs(0);
        let (a, call, _) = outgoing_call(now);
        let snapshot = a.export_call(call).unwrap();
        let mut a2 = new_ua(now);
        let call2 = a2.restore_call(now, &snapshot).unwrap();
        let refresh = sent_requests(&mut a2).pop().unwrap();
        a2.handle_transport(now, &reply(&refresh, 200, &[("Contact", PEER)]))
            .unwrap();
        sent_requests(&mut a2);
        a2.hold(now, call2).unwrap();
        let hold = sent_requests(&mut a2).pop().unwrap();
        assert_eq!(codec::cseq(&hold).map(|(n, _)| n), Some(3));
        assert!(String::from_utf8_lossy(&hold.body).contains("a=sendonly"));
        a2.handle_transport(now, &reply(&hold, 200, &[("Contact", PEER)]))
            .unwrap();
        assert_eq!(
            a2.call_state(call2),
            Some(CallState::Connected {
                local_hold: true,
                remote_hold: false
            })
        );
        // A held call exports held, and a restore keeps it held.
        let held = a2.export_call(call2).unwrap();
        assert!(held.local_hold);
        let mut a3 = new_ua(now);
        a3.restore_call(now, &held).unwrap();
        let refresh = sent_requests(&mut a3).pop().unwrap();
        assert!(String::from_utf8_lossy(&refresh.body).contains("a=sendonly"));
    }

    #[test]
    fn bye_from_the_peer_reaches_the_restored_incoming_call() {
        // B (caller)                         old A (callee)
        // |--- INVITE (CSeq 1) ------------->|
        // |<-- 180, 200 ---------------------|   A answers
        // |--- ACK ------------------------->|
        //    export, the worker dies, A' restores
        // |<-- re-INVITE (CSeq 1 of A's side)-|  A'
        // |--- 200 ------------------------->|
        // |--- BYE (CSeq 2) ---------------->|  A' matches the dialog
        // |<-- 200 --------------------------|
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let invite = format!(
            "INVITE sip:a@a.invalid SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKin1\r\n\
             Record-Route: <sip:127.0.0.1;transport=ws;lr>\r\n\
             From: \"Bob\" <sip:1002@pbx.test>;tag=b1\r\nTo: <sip:1001@pbx.test>\r\nCall-ID: in-1\r\n\
             CSeq: 1 INVITE\r\nContact: {PEER}\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{OFFER}",
            OFFER.len()
        );
        a.handle_transport(now, invite.as_bytes()).unwrap();
        let call = events(&mut a)
            .into_iter()
            .find_map(|e| match e {
                Event::IncomingCall { call, .. } => Some(call),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            a.export_call(call),
            None,
            "a ringing call has no dialog to take over"
        );
        a.answer(now, call, ANSWER).unwrap();
        let ok = sent(&mut a)
            .into_iter()
            .find_map(|m| match m {
                SipMessage::Response(r) if r.status_code.code() == 200 => Some(r),
                _ => None,
            })
            .unwrap();
        let local_tag = codec::to_tag(&ok).unwrap();
        let ack = format!(
            "ACK sip:a@a.invalid SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKack1\r\n\
             From: \"Bob\" <sip:1002@pbx.test>;tag=b1\r\nTo: <sip:1001@pbx.test>;tag={local_tag}\r\n\
             Call-ID: in-1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        );
        a.handle_transport(now, ack.as_bytes()).unwrap();
        let snapshot = a.export_call(call).unwrap();
        assert_eq!(snapshot.direction, CallDirection::Incoming);
        assert_eq!(snapshot.remote_cseq, Some(1));
        drop(a);

        let mut a2 = new_ua(now);
        let call2 = a2.restore_call(now, &snapshot).unwrap();
        let refresh = sent_requests(&mut a2).pop().unwrap();
        assert_eq!(codec::cseq(&refresh).map(|(n, _)| n), Some(1));
        assert_eq!(codec::from_tag(&refresh), Some(local_tag.clone()));
        assert_eq!(codec::to_tag(&refresh).as_deref(), Some("b1"));
        assert_eq!(routes(&refresh), ["<sip:127.0.0.1;transport=ws;lr>"]);
        a2.handle_transport(now, &reply(&refresh, 200, &[("Contact", PEER)]))
            .unwrap();
        sent(&mut a2);
        events(&mut a2);

        let bye = format!(
            "BYE sip:a2@a2.invalid SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKbye1\r\n\
             From: \"Bob\" <sip:1002@pbx.test>;tag=b1\r\nTo: <sip:1001@pbx.test>;tag={local_tag}\r\n\
             Call-ID: in-1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
        );
        a2.handle_transport(now, bye.as_bytes()).unwrap();
        let codes: Vec<u16> = sent(&mut a2)
            .into_iter()
            .filter_map(|m| match m {
                SipMessage::Response(r) => Some(r.status_code.code()),
                SipMessage::Request(_) => None,
            })
            .collect();
        assert_eq!(codes, [200]);
        assert_eq!(ended(&events(&mut a2), call2), [EndReason::RemoteHangup]);
    }

    #[test]
    fn a_peer_that_forgot_the_dialog_ends_the_restored_call() {
        // new A' |--- re-INVITE ---->| B hung up while no worker listened
        //        |<-- 481 -----------|
        //        |--- ACK, BYE ----->|   the call ends, no hold flip-flop
        let now = at_secs(0);
        let (a, call, _) = outgoing_call(now);
        let snapshot = a.export_call(call).unwrap();
        let mut a2 = new_ua(now);
        let call2 = a2.restore_call(now, &snapshot).unwrap();
        let refresh = sent_requests(&mut a2).pop().unwrap();
        a2.handle_transport(now, &reply(&refresh, 481, &[]))
            .unwrap();
        let evs = events(&mut a2);
        assert_eq!(ended(&evs, call2), [EndReason::RemoteHangup]);
        assert!(!evs
            .iter()
            .any(|e| matches!(e, Event::CallUpdateFailed { .. })));
    }

    #[test]
    fn stored_snapshots_are_checked_before_use() {
        let now = at_secs(0);
        let (a, call, _) = outgoing_call(now);
        let good = a.export_call(call).unwrap();
        let mut a2 = new_ua(now);
        let cases: Vec<(CallSnapshot, RestoreError)> = vec![
            (
                CallSnapshot {
                    v: 9,
                    ..good.clone()
                },
                RestoreError::Version(9),
            ),
            (
                CallSnapshot {
                    call_id: String::new(),
                    ..good.clone()
                },
                RestoreError::Invalid("call_id"),
            ),
            (
                CallSnapshot {
                    remote_target: "not a uri".into(),
                    ..good.clone()
                },
                RestoreError::Invalid("remote_target"),
            ),
            (
                CallSnapshot {
                    route_set: vec!["<<<".into()],
                    ..good.clone()
                },
                RestoreError::Invalid("route_set"),
            ),
            (
                CallSnapshot {
                    local_sdp: "garbage".into(),
                    ..good.clone()
                },
                RestoreError::Invalid("local_sdp"),
            ),
        ];
        for (bad, error) in cases {
            assert_eq!(a2.restore_call(now, &bad), Err(error));
        }
        assert!(sent_requests(&mut a2).is_empty());
        assert_eq!(a2.calls().count(), 0);
        // Twice the same dialog is one call.
        a2.restore_call(now, &good).unwrap();
        assert_eq!(a2.restore_call(now, &good), Err(RestoreError::Duplicate));
        // Not connected: nothing can be refreshed yet.
        let mut offline = UserAgent::new(config(), 7);
        assert_eq!(
            offline.restore_call(now, &good),
            Err(RestoreError::NotConnected)
        );
        // Garbage JSON is a serde error, never a panic.
        assert!(serde_json::from_str::<CallSnapshot>("{\"v\":1}").is_err());
    }
}
