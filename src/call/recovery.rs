//! A confirmed call outlives a dropped connection (a network blip, a proxy
//! that reset the WebSocket): the media runs peer to peer or through the
//! PBX's media path, not over the signalling connection, so ending the call
//! because the WebSocket closed would end a conversation that still works.
//!
//! What the engine does instead, in the spirit of RFC 5626 §4.5 (flow
//! recovery):
//! - at the drop, a confirmed call is *suspended*: it keeps its dialog and
//!   state, sends nothing, and waits up to [`RECOVERY_LIMIT`];
//! - once a new connection is registered again (or at once when the agent
//!   does not register), the call sends a target refresh (RFC 3261
//!   §12.2.1.1: a re-INVITE with the same session and our Contact). The
//!   proxy and the peer still route to the dead connection (a WebSocket
//!   edge names it in the Contact's `;alias=`, RFC 5626 in a flow token);
//!   the refresh moves the peer's remote target onto the new one. A 408 or
//!   481 to it ends the call (the peer hung up meanwhile, RFC 5057 §5.1);
//!   another refusal means it did not reach the peer — Kamailio answers
//!   500 when the peer's own connection is gone too (a PBX restart drops
//!   both ends, and each side's refresh targets the other's dead alias) —
//!   so it is retried every [`REFRESH_RETRY`] (a peer that refreshes its
//!   own target meanwhile makes the next one pass) and the call ends with
//!   `TransportError` if none passes within [`RECOVERY_LIMIT`]: a call
//!   neither side can signal in is not left open forever;
//! - no connection within the limit: the call ends with `TransportError`,
//!   and a BYE is still owed: should a connection come back within
//!   [`BYE_OWED_LIMIT`], the peer is told instead of being left with a
//!   half-open call until its own timers notice.
//!
//! Transactions in flight at the drop fail as before, with these choices:
//! a pending hold/resume re-INVITE is not reported as refused — the wish
//! rides on the target refresh (the peer may or may not have seen it, and
//! the refresh states it either way); a REFER is reported failed (408, the
//! call stays); INFO and NOTIFY are lost; a BYE in flight, or a hangup
//! during the outage, ends the call for the user at once and the BYE goes
//! out on the next connection, so the peer is not left talking to nobody.
//! Calls not yet confirmed (ringing, or our 2xx not yet ACKed) end as
//! before: their INVITE transactions are tied to the dead connection. The
//! PBX still rings them, though (Kamailio: up to `fr_inv_timer`, 120 s), so
//! a ringing one is ended there on the next connection like one a dead
//! worker left ([`super::orphan`]): 480 to the caller, CANCEL to the callee.
//!
//! Why 30 s: RFC 5626 §4.5 retries a failed flow after a base time of 30 s
//! when all flows are down, so a longer wait does not come from the spec;
//! the worker's backoff (0.5–1 s, then doubling) makes four or five
//! attempts in that time, enough for a blip or a proxy restart; and a user
//! hearing silence for longer than that has hung up in their head (PBX RTP
//! timeouts are in the same range).

use std::time::Duration;

use super::{Call, CallState, EndReason, Purpose};
use crate::dialog::DialogState;
use crate::engine::{Event, Io};

/// How long a confirmed call waits for a new connection after a drop.
pub const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

/// Pause between target refreshes that did not reach the peer.
pub const REFRESH_RETRY: Duration = Duration::from_secs(5);

/// How long a call that gave up waiting still sends its BYE on a new
/// connection: by then a PBX's RTP or session timer has ended it anyway.
pub const BYE_OWED_LIMIT: Duration = Duration::from_secs(300);

impl Call {
    /// Waiting for a new connection after a drop.
    pub fn is_suspended(&self) -> bool {
        self.suspended_until.is_some()
    }

    /// The connection is going away; called before its transactions fail,
    /// so their failure handlers know the call is kept.
    pub fn suspend(&mut self, io: &mut Io<'_>) {
        let now = io.now;
        let confirmed = self.is_confirmed()
            && self.pending_ok.is_none()
            && self
                .dialog
                .as_ref()
                .is_some_and(|d| d.state == DialogState::Confirmed);
        if confirmed {
            // A flap before the refresh went out keeps the first deadline.
            if self.suspended_until.is_none() {
                self.suspended_until = Some(now + RECOVERY_LIMIT);
                io.emit(Event::CallReconnecting { call: self.handle });
            }
            let glare = match self.glare_retry.take() {
                Some((_, Purpose::Hold(h))) => Some(h),
                _ => None,
            };
            // The latest wish first: queued behind the re-INVITE, then the
            // re-INVITE's own, then a glare retry's.
            self.queued_hold = self
                .queued_hold
                .or(self.reinvite.as_ref().map(|p| p.hold))
                .or(glare);
            return;
        }
        let bye_outstanding = self.is_ended()
            && self.finish_by.is_some()
            && self.last_sent.iter().any(|(t, _)| *t == super::CallTx::Bye);
        if bye_outstanding {
            self.bye_after_reconnect = true;
            self.finish_by = Some(now + RECOVERY_LIMIT);
        }
    }

    /// A new connection is registered: refresh the target, or send the BYE
    /// the user asked for meanwhile.
    pub fn reconnected(&mut self, io: &mut Io<'_>) {
        if self.bye_after_reconnect {
            self.bye_after_reconnect = false;
            self.send_bye(io);
            return;
        }
        if self.suspended_until.take().is_none() || self.is_ended() {
            return;
        }
        let purpose = match self.queued_hold.take() {
            Some(hold) if hold != self.local_hold => Purpose::Hold(hold),
            _ => Purpose::Refresh,
        };
        if self.send_reinvite(io, purpose).is_err() {
            // No SDP to refresh with cannot happen for a confirmed call;
            // were it so, the peer could never reach us again.
            self.end(io, EndReason::TransportError);
        } else {
            // Reported reconnected once the peer answers it.
            self.refresh_until = Some(io.now + RECOVERY_LIMIT);
        }
    }

    /// The refresh after a reconnect was refused on its way (not 408/481):
    /// try again shortly, with the same wish. `false` when this was not
    /// such a refresh.
    pub(super) fn refresh_refused(&mut self, io: &mut Io<'_>, wanted_hold: bool) -> bool {
        if self.refresh_until.is_none() || self.is_ended() {
            return false;
        }
        let purpose = if wanted_hold != self.local_hold {
            Purpose::Hold(wanted_hold)
        } else {
            Purpose::Refresh
        };
        self.glare_retry = Some((io.now + REFRESH_RETRY, purpose));
        true
    }

    /// No refresh reached the peer in time: `true` when the call ended.
    pub(super) fn refresh_timeout(&mut self, io: &mut Io<'_>) -> bool {
        if self.refresh_until.is_none_or(|t| t > io.now) {
            return false;
        }
        self.queued_hold = None;
        self.end(io, EndReason::TransportError);
        true
    }

    /// Hangup of a suspended call: the user is done now, the BYE waits
    /// for the connection. `false` when the call is not suspended.
    pub(super) fn hangup_suspended(&mut self, io: &mut Io<'_>) -> bool {
        let Some(until) = self.suspended_until else {
            return false;
        };
        self.end(io, EndReason::LocalHangup);
        self.bye_after_reconnect = true;
        self.finish_by = Some(until);
        true
    }

    /// The recovery deadline, checked first on every timeout; `true` when
    /// the call is (or was until now) suspended and nothing else may run.
    pub(super) fn suspension_timeout(&mut self, io: &mut Io<'_>) -> bool {
        let Some(until) = self.suspended_until else {
            return false;
        };
        if until <= io.now && matches!(self.state, CallState::Connected { .. }) {
            self.queued_hold = None;
            self.end(io, EndReason::TransportError);
            // The peer may still believe in the call.
            self.bye_after_reconnect = true;
            self.finish_by = Some(io.now + BYE_OWED_LIMIT);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    //! Ladders of a call across a dropped connection. `A` is us, `P` the
    //! proxy/registrar and the peer behind it, played by hand.
    use super::*;
    use crate::call::{CallHandle, EndReason};
    use crate::codec;
    use crate::engine::test_support::*;
    use crate::engine::{Event, UserAgent};
    use crate::registration::RegistrationState;
    use crate::time::Instant;
    use rsip::{Method, Request};

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n";
    const PEER: &str = "<sip:1002@192.0.2.9;transport=ws;alias=192.0.2.9~5060~5>";

    fn connected() -> CallState {
        CallState::Connected {
            local_hold: false,
            remote_hold: false,
        }
    }

    /// A registered agent with a confirmed outgoing call to 1002.
    fn registered_call(now: Instant) -> (UserAgent, CallHandle, Request) {
        let mut a = connected_ua(now);
        register(&mut a, now);
        let call = a.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut a).pop().unwrap();
        a.handle_transport(
            now,
            &reply(
                &invite,
                200,
                &[
                    ("Contact", PEER),
                    ("Record-Route", "<sip:127.0.0.1;transport=ws;lr>"),
                ],
            ),
        )
        .unwrap();
        sent_requests(&mut a); // the ACK
        events(&mut a);
        (a, call, invite)
    }

    /// REGISTER (asked for, or sent by `handle_connected`) → 200.
    fn register(a: &mut UserAgent, now: Instant) {
        a.register(now);
        answer_register(a, now);
    }

    fn answer_register(a: &mut UserAgent, now: Instant) {
        let register = sent_requests(a)
            .into_iter()
            .find(|r| r.method == Method::Register)
            .expect("a REGISTER");
        a.handle_transport(now, &reply(&register, 200, &[]))
            .unwrap();
        assert!(matches!(
            a.registration_state(),
            RegistrationState::Registered { .. }
        ));
    }

    fn body(r: &Request) -> String {
        String::from_utf8_lossy(&r.body).to_string()
    }

    #[test]
    fn a_dropped_connection_keeps_the_call_and_refreshes_its_target() {
        // A                               P (registrar, proxy, peer)
        // |== connection drops ===========|   call suspended, no event
        // |   (reconnect after 3 s)       |
        // |--- REGISTER ----------------->|
        // |<-- 200 -----------------------|
        // |--- re-INVITE (Contact, SDP) ->|   target refresh, same dialog
        // |<-- 200 -----------------------|
        // |--- ACK ---------------------->|   the call goes on
        // |--- BYE ---------------------->|   hangup still works
        let now = at_secs(0);
        let (mut a, call, invite) = registered_call(now);
        a.handle_disconnected(now);
        let evs = events(&mut a);
        assert!(ended(&evs, call).is_empty(), "{evs:?}");
        assert!(evs.contains(&Event::CallReconnecting { call }));
        assert_eq!(a.call_state(call), Some(connected()));
        assert!(
            a.export_call(call).is_some(),
            "still exported for a restart"
        );

        let later = at_secs(3);
        a.handle_timeout(later);
        a.handle_connected(later);
        let out = sent_requests(&mut a);
        assert_eq!(
            out.iter().map(|r| r.method.to_string()).collect::<Vec<_>>(),
            ["REGISTER"],
            "no refresh before the registrar knows the new flow"
        );
        a.handle_transport(later, &reply(&out[0], 200, &[]))
            .unwrap();
        let refresh = sent_requests(&mut a).pop().expect("a target refresh");
        assert_eq!(refresh.method, Method::Invite);
        assert_eq!(codec::call_id(&refresh), codec::call_id(&invite));
        assert_eq!(codec::to_tag(&refresh).as_deref(), Some("far1"));
        assert_eq!(codec::cseq(&refresh).map(|(n, _)| n), Some(2));
        assert!(!events(&mut a).contains(&Event::CallReconnected { call }));
        assert!(header(&refresh, "Contact").is_some());
        assert!(body(&refresh).contains("a=sendrecv"));
        a.handle_transport(later, &reply(&refresh, 200, &[("Contact", PEER)]))
            .unwrap();
        let acks = sent_requests(&mut a);
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].method, Method::Ack);
        assert_eq!(a.call_state(call), Some(connected()));
        let evs = events(&mut a);
        assert!(ended(&evs, call).is_empty());
        assert!(evs.contains(&Event::CallReconnected { call }));

        // The recovery deadline is gone with the suspension.
        a.handle_timeout(at_secs(40));
        assert_eq!(a.call_state(call), Some(connected()));
        a.hangup(at_secs(41), call).unwrap();
        let bye = sent_requests(&mut a).pop().unwrap();
        assert_eq!(bye.method, Method::Bye);
        assert_eq!(codec::cseq(&bye).map(|(n, _)| n), Some(3));
    }

    #[test]
    fn no_connection_within_the_limit_ends_the_call() {
        // A |== drop ==|  ... 29 s: still waiting ... 30 s: TransportError
        let now = at_secs(0);
        let (mut a, call, _) = registered_call(now);
        a.handle_disconnected(now);
        events(&mut a);
        assert_eq!(a.poll_timeout(), Some(now + RECOVERY_LIMIT));
        a.handle_timeout(at_secs(29));
        assert_eq!(a.call_state(call), Some(connected()));
        a.handle_timeout(at_secs(30));
        assert_eq!(ended(&events(&mut a), call), [EndReason::TransportError]);
        // A late connection: no refresh, but the peer hears of the end.
        a.handle_connected(at_secs(90));
        answer_register(&mut a, at_secs(90));
        let out = sent_requests(&mut a);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].method, Method::Bye);
        a.handle_transport(at_secs(90), &reply(&out[0], 200, &[]))
            .unwrap();
        assert_eq!(a.calls().count(), 0);
        assert!(ended(&events(&mut a), call).is_empty(), "ended once");
    }

    #[test]
    fn the_owed_bye_is_forgotten_after_its_limit() {
        let now = at_secs(0);
        let (mut a, call, _) = registered_call(now);
        a.handle_disconnected(now);
        a.handle_timeout(now + RECOVERY_LIMIT);
        assert_eq!(ended(&events(&mut a), call), [EndReason::TransportError]);
        a.handle_timeout(now + RECOVERY_LIMIT + BYE_OWED_LIMIT);
        assert_eq!(a.calls().count(), 0);
        a.handle_connected(at_secs(400));
        answer_register(&mut a, at_secs(400));
        assert!(sent_requests(&mut a).is_empty());
    }

    #[test]
    fn hangup_during_the_outage_ends_at_once_and_byes_on_the_next_connection() {
        // A |== drop ==|  user hangs up → CallEnded(LocalHangup) at once
        //   |--- REGISTER / 200 --->|
        //   |--- BYE -------------->|   no re-INVITE for a call that ended
        //   |<-- 200 ---------------|
        let now = at_secs(0);
        let (mut a, call, invite) = registered_call(now);
        a.handle_disconnected(now);
        a.hangup(at_secs(1), call).unwrap();
        assert_eq!(ended(&events(&mut a), call), [EndReason::LocalHangup]);
        assert!(a.poll_transmit().is_none());
        a.handle_connected(at_secs(2));
        answer_register(&mut a, at_secs(2));
        let out = sent_requests(&mut a);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].method, Method::Bye);
        assert_eq!(codec::call_id(&out[0]), codec::call_id(&invite));
        a.handle_transport(at_secs(2), &reply(&out[0], 200, &[]))
            .unwrap();
        assert_eq!(a.calls().count(), 0);
    }

    #[test]
    fn hangup_during_an_outage_that_never_ends_forgets_the_call_at_the_limit() {
        let now = at_secs(0);
        let (mut a, call, _) = registered_call(now);
        a.handle_disconnected(now);
        a.hangup(at_secs(1), call).unwrap();
        assert_eq!(ended(&events(&mut a), call), [EndReason::LocalHangup]);
        assert_eq!(a.calls().count(), 1, "the BYE is still owed");
        a.handle_timeout(at_secs(30));
        assert_eq!(a.calls().count(), 0);
        assert!(ended(&events(&mut a), call).is_empty(), "ended once");
    }

    #[test]
    fn a_bye_lost_in_the_drop_goes_out_again() {
        // A |--- BYE ---x== drop ==|   the call ended for the user already
        //   |--- REGISTER / 200 -->|
        //   |--- BYE (new CSeq) -->|
        let now = at_secs(0);
        let (mut a, call, _) = registered_call(now);
        a.hangup(now, call).unwrap();
        let first = sent_requests(&mut a).pop().unwrap();
        assert_eq!(first.method, Method::Bye);
        assert_eq!(ended(&events(&mut a), call), [EndReason::LocalHangup]);
        a.handle_disconnected(now);
        assert!(ended(&events(&mut a), call).is_empty(), "ended once");
        a.handle_connected(at_secs(1));
        answer_register(&mut a, at_secs(1));
        let again = sent_requests(&mut a).pop().unwrap();
        assert_eq!(again.method, Method::Bye);
        assert!(codec::cseq(&again).map(|(n, _)| n) > codec::cseq(&first).map(|(n, _)| n));
    }

    #[test]
    fn the_peer_that_hung_up_meanwhile_answers_481_and_the_call_ends() {
        // A |== drop ==|   B hangs up; its BYE cannot reach us
        //   |--- REGISTER / 200 --->|
        //   |--- re-INVITE -------->|
        //   |<-- 481 ---------------|   RemoteHangup
        for code in [481, 408] {
            let now = at_secs(0);
            let (mut a, call, _) = registered_call(now);
            a.handle_disconnected(now);
            a.handle_connected(at_secs(1));
            answer_register(&mut a, at_secs(1));
            let refresh = sent_requests(&mut a).pop().unwrap();
            a.handle_transport(at_secs(1), &reply(&refresh, code, &[]))
                .unwrap();
            assert_eq!(
                ended(&events(&mut a), call),
                [EndReason::RemoteHangup],
                "{code}"
            );
        }
    }

    #[test]
    fn a_refresh_that_did_not_reach_the_peer_is_retried() {
        // A |== drop ==|  --- REGISTER / 200 --->
        //   |--- re-INVITE -->|  <-- 500 (the peer's alias is dead too)
        //   ... 5 s ...
        //   |--- re-INVITE -->|  <-- 200 (the peer refreshed its own target)
        let now = at_secs(0);
        let (mut a, call, _) = registered_call(now);
        a.handle_disconnected(now);
        a.handle_connected(at_secs(1));
        answer_register(&mut a, at_secs(1));
        let first = sent_requests(&mut a).pop().unwrap();
        a.handle_transport(at_secs(1), &reply(&first, 500, &[]))
            .unwrap();
        sent_requests(&mut a); // its ACK
        let evs = events(&mut a);
        assert!(
            !evs.iter()
                .any(|e| matches!(e, Event::CallUpdateFailed { .. } | Event::CallEnded { .. })),
            "{evs:?}"
        );
        a.handle_timeout(at_secs(5));
        assert!(sent_requests(&mut a).is_empty());
        a.handle_timeout(at_secs(6));
        let second = sent_requests(&mut a).pop().expect("the retry");
        assert_eq!(second.method, Method::Invite);
        assert!(codec::cseq(&second).map(|(n, _)| n) > codec::cseq(&first).map(|(n, _)| n));
        a.handle_transport(at_secs(6), &reply(&second, 200, &[("Contact", PEER)]))
            .unwrap();
        assert!(events(&mut a).contains(&Event::CallReconnected { call }));
        a.handle_timeout(at_secs(60));
        assert_eq!(a.call_state(call), Some(connected()));
    }

    #[test]
    fn a_call_neither_side_can_reach_ends_at_the_limit() {
        // A PBX restart drops both ends: every refresh is refused.
        let now = at_secs(0);
        let (mut a, call, _) = registered_call(now);
        a.handle_disconnected(now);
        a.handle_connected(at_secs(1));
        answer_register(&mut a, at_secs(1));
        let mut t = 1;
        let mut tries = 0;
        while a.call_state(call) == Some(connected()) && t < 60 {
            for r in sent_requests(&mut a) {
                if r.method == Method::Invite {
                    tries += 1;
                    a.handle_transport(at_secs(t), &reply(&r, 500, &[]))
                        .unwrap();
                }
            }
            t += 1;
            a.handle_timeout(at_secs(t));
        }
        assert_eq!(t, 31, "ended 30 s after the first refresh");
        assert_eq!(tries, 6);
        assert_eq!(ended(&events(&mut a), call), [EndReason::TransportError]);
    }

    #[test]
    fn a_hold_in_flight_at_the_drop_rides_on_the_target_refresh() {
        // A |--- re-INVITE sendonly ---x== drop ==|   no CallUpdateFailed
        //   |--- REGISTER / 200 --->|
        //   |--- re-INVITE sendonly (Contact) -->|  <-- 200: held
        let now = at_secs(0);
        let (mut a, call, _) = registered_call(now);
        a.hold(now, call).unwrap();
        sent_requests(&mut a);
        a.handle_disconnected(now);
        let evs = events(&mut a);
        assert!(
            !evs.iter()
                .any(|e| matches!(e, Event::CallUpdateFailed { .. } | Event::CallEnded { .. })),
            "{evs:?}"
        );
        a.handle_connected(at_secs(1));
        answer_register(&mut a, at_secs(1));
        let refresh = sent_requests(&mut a).pop().unwrap();
        assert!(body(&refresh).contains("a=sendonly"), "{}", body(&refresh));
        assert!(header(&refresh, "Contact").is_some());
        a.handle_transport(at_secs(1), &reply(&refresh, 200, &[("Contact", PEER)]))
            .unwrap();
        assert_eq!(
            a.call_state(call),
            Some(CallState::Connected {
                local_hold: true,
                remote_hold: false
            })
        );
    }

    #[test]
    fn resume_asked_during_the_outage_is_sent_with_the_refresh() {
        let now = at_secs(0);
        let (mut a, call, _) = registered_call(now);
        a.hold(now, call).unwrap();
        let hold = sent_requests(&mut a).pop().unwrap();
        a.handle_transport(now, &reply(&hold, 200, &[("Contact", PEER)]))
            .unwrap();
        sent_requests(&mut a);
        a.handle_disconnected(now);
        a.resume(at_secs(1), call).unwrap();
        assert!(a.poll_transmit().is_none());
        a.handle_connected(at_secs(2));
        answer_register(&mut a, at_secs(2));
        let refresh = sent_requests(&mut a).pop().unwrap();
        assert!(body(&refresh).contains("a=sendrecv"), "{}", body(&refresh));
    }

    #[test]
    fn a_transfer_in_flight_at_the_drop_fails_and_the_call_stays() {
        let now = at_secs(0);
        let (mut a, call, _) = registered_call(now);
        a.transfer_blind(now, call, "1003").unwrap();
        sent_requests(&mut a);
        a.handle_disconnected(now);
        let evs = events(&mut a);
        assert!(evs.iter().any(|e| matches!(
            e,
            Event::TransferProgress {
                code: 408,
                done: true,
                ..
            }
        )));
        assert!(ended(&evs, call).is_empty());
        // In-dialog requests wait for the refresh: the peer could not
        // answer them on our dead connection.
        assert!(a.send_dtmf(at_secs(1), call, '5', 100).is_err());
    }

    #[test]
    fn calls_not_yet_confirmed_end_at_the_drop() {
        let now = at_secs(0);
        let mut a = connected_ua(now);
        register(&mut a, now);
        let ringing = a.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut a).pop().unwrap();
        a.handle_transport(now, &reply(&invite, 180, &[("Contact", PEER)]))
            .unwrap();
        events(&mut a);
        a.handle_disconnected(now);
        assert_eq!(ended(&events(&mut a), ringing), [EndReason::TransportError]);
        assert_eq!(a.calls().count(), 0);
    }

    #[test]
    fn calls_ringing_at_the_drop_are_ended_at_the_pbx_on_the_next_connection() {
        // PBX --INVITE--> A (rings)        A --INVITE--> PBX (180)
        //   |== drop ==|  both end for the user (TransportError)
        //   |--- REGISTER / 200 --->|
        //   |--- 480 (the caller's INVITE) -->|  |--- CANCEL (ours) -->|
        let now = at_secs(0);
        let mut a = connected_ua(now);
        register(&mut a, now);
        let invite = format!(
            "INVITE sip:a@a.invalid SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKpbx.9\r\n\
             From: <sip:1003@pbx.test>;tag=c1\r\nTo: <sip:1001@pbx.test>\r\nCall-ID: in-9\r\n\
             CSeq: 1 INVITE\r\nContact: {PEER}\r\nContent-Length: 0\r\n\r\n"
        );
        a.handle_transport(now, invite.as_bytes()).unwrap();
        let outgoing = a.call(now, "1002", OFFER).unwrap();
        let ours = sent_requests(&mut a).pop().unwrap();
        a.handle_transport(now, &reply(&ours, 180, &[("Contact", PEER)]))
            .unwrap();
        events(&mut a);
        a.handle_disconnected(now);
        let evs = events(&mut a);
        assert_eq!(ended(&evs, outgoing), [EndReason::TransportError]);
        assert_eq!(a.calls().count(), 0);
        a.handle_connected(at_secs(2));
        answer_register(&mut a, at_secs(2));
        let out = sent(&mut a);
        let cancel = out.iter().find_map(|m| match m {
            rsip::SipMessage::Request(r) if r.method == Method::Cancel => Some(r),
            _ => None,
        });
        assert_eq!(
            cancel.and_then(codec::top_via_branch),
            codec::top_via_branch(&ours)
        );
        let unavailable = out.iter().find_map(|m| match m {
            rsip::SipMessage::Response(r) if r.status_code.code() == 480 => Some(r),
            _ => None,
        });
        assert_eq!(unavailable.and_then(|r| codec::call_id(r)), Some("in-9"));
        // Told once.
        a.handle_disconnected(at_secs(3));
        a.handle_connected(at_secs(4));
        answer_register(&mut a, at_secs(4));
        assert!(sent(&mut a).is_empty());
    }

    #[test]
    fn without_registration_the_refresh_goes_out_on_connect() {
        // An agent that does not register (a click-to-call line) has
        // nothing to wait for once the socket is open.
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let call = a.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut a).pop().unwrap();
        a.handle_transport(now, &reply(&invite, 200, &[("Contact", PEER)]))
            .unwrap();
        sent_requests(&mut a);
        a.handle_disconnected(now);
        a.handle_connected(at_secs(1));
        let refresh = sent_requests(&mut a).pop().unwrap();
        assert_eq!(refresh.method, Method::Invite);
        assert_eq!(a.call_state(call), Some(connected()));
    }
}
