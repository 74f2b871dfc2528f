//! Calls that outlive the service worker. Chrome stops an idle worker (and
//! a test kills it) while the offscreen document keeps the call's media; the
//! next worker must still be able to hang up, hold or transfer it.
//!
//! After every change the established calls are written to
//! `chrome.storage.session` (gone with the browser session, like the media):
//! each call's view and its engine dialog ([`CallSnapshot`]). A new worker
//! reads them before it connects, shows the calls at once, and hands the
//! dialogs to its new engine once it is registered again; the engine's
//! target refresh points the peer at the new connection.
//!
//! Calls still ringing are stored too, with their INVITE: they cannot be
//! taken over (see [`crate::call::orphan`]), so the new worker ends them at
//! once — an incoming one is a missed call (history, badge, notification
//! and call window cleared, ringtone stopped), an outgoing one is lost —
//! and once registered tells the PBX: 480 to the caller, CANCEL to the
//! callee.

use serde::{Deserialize, Serialize};

use super::{Call, CallAction, Calls, Media};
use crate::call::{CallSnapshot, RingingSnapshot};
use crate::engine::UserAgent;
use crate::protocol::calls::{CallEnd, CallId, CallPhase, CallView, Tone, MAX_CALLS};
use crate::time::Instant;

/// The `chrome.storage.session` key of the stored calls.
pub const RESTORE_KEY: &str = "calls_restore";
const STORED_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct StoredCall {
    view: CallView,
    dialog: CallSnapshot,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredRinging {
    view: CallView,
    invite: RingingSnapshot,
}

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    v: u32,
    /// The id the next call gets: the offscreen document still holds media
    /// under the old ids, so a new call must not reuse one.
    next_id: CallId,
    calls: Vec<StoredCall>,
    /// Calls ringing either way (absent in stores of older workers).
    #[serde(default)]
    ringing: Vec<StoredRinging>,
}

impl Calls {
    /// Queues [`CallAction::SaveCalls`] when the established calls changed
    /// since the last save. Nothing is saved while stored calls wait to be
    /// taken over, so they are not overwritten before they are.
    pub fn persist(&mut self, ua: Option<&UserAgent>) {
        if !self.pending_restore.is_empty() || !self.pending_orphans.is_empty() {
            return;
        }
        let calls: Vec<StoredCall> = match ua {
            Some(ua) => self
                .live()
                .filter(|c| c.media == Media::Ready)
                .filter_map(|c| {
                    let dialog = ua.export_call(c.handle?)?;
                    Some(StoredCall {
                        view: c.view.clone(),
                        dialog,
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        let ringing: Vec<StoredRinging> = match ua {
            Some(ua) => self
                .live()
                .filter(|c| {
                    matches!(
                        c.view.state,
                        CallPhase::Ringing | CallPhase::Dialing | CallPhase::Early
                    )
                })
                .filter_map(|c| {
                    Some(StoredRinging {
                        view: c.view.clone(),
                        invite: ua.export_ringing(c.handle?)?,
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        let stored = Stored {
            v: STORED_VERSION,
            next_id: if calls.is_empty() && ringing.is_empty() {
                0
            } else {
                self.next_id
            },
            calls,
            ringing,
        };
        let Ok(json) = serde_json::to_string(&stored) else {
            return;
        };
        if self.persisted.as_deref() == Some(json.as_str()) {
            return;
        }
        self.persisted = Some(json.clone());
        self.actions.push_back(CallAction::SaveCalls { json });
    }

    /// The calls a previous worker stored (worker start, before the
    /// connection, after the history is loaded): established ones are shown
    /// at once and taken over by [`Calls::restore`], ringing ones end now.
    /// Returns how many are taken over; an unreadable store is an error and
    /// restores nothing.
    pub fn load_restore(&mut self, now: Instant, json: &str) -> Result<usize, String> {
        let stored: Stored = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if stored.v != STORED_VERSION {
            return Err(format!(
                "stored calls version {} is not supported",
                stored.v
            ));
        }
        self.next_id = self.next_id.max(stored.next_id);
        let mut taken = 0;
        for s in stored.calls.into_iter().take(MAX_CALLS) {
            let id = s.view.id;
            let established = matches!(s.view.state, CallPhase::Active | CallPhase::Held);
            if !established || self.calls.iter().any(|c| c.view.id == id) {
                continue;
            }
            self.next_id = self.next_id.max(id.saturating_add(1));
            self.calls.push(Call {
                view: s.view,
                handle: None,
                media: Media::Ready,
                target: String::new(),
                remote_offer: None,
                remote_applied: true,
                ended_at: None,
                engine_done: false,
                transfer_from: None,
                extra_headers: Vec::new(),
                window: false,
            });
            self.pending_restore.push((id, s.dialog));
            taken += 1;
        }
        for s in stored.ringing.into_iter().take(MAX_CALLS) {
            self.end_orphan(now, s);
        }
        Ok(taken)
    }

    /// A call that was ringing when the previous worker died: it ends as
    /// missed (incoming) or lost (outgoing), with everything the old worker
    /// left showing cleared; the PBX hears of it once we are registered.
    fn end_orphan(&mut self, now: Instant, s: StoredRinging) {
        let id = s.view.id;
        if self.calls.iter().any(|c| c.view.id == id) {
            return;
        }
        self.next_id = self.next_id.max(id.saturating_add(1));
        // The old worker's ringtone or ringback still plays in the offscreen
        // document: believed current, `finish` stops it.
        let tone = if s.view.state == CallPhase::Ringing {
            Tone::Ring
        } else {
            Tone::Ringback
        };
        if self.tone == Tone::None || tone == Tone::Ring {
            self.tone = tone;
        }
        self.calls.push(Call {
            view: s.view,
            handle: None,
            media: Media::Ready,
            target: String::new(),
            remote_offer: None,
            remote_applied: false,
            ended_at: None,
            engine_done: true,
            transfer_from: None,
            extra_headers: Vec::new(),
            // Whatever the old worker opened (incoming or video) is closed.
            window: true,
        });
        self.pending_orphans.push(s.invite);
        self.finish(now, id, CallEnd::ConnectionLost, None);
    }

    /// Registered again: the new engine takes the stored dialogs over. A
    /// call the user hung up meanwhile is taken over only to be hung up,
    /// so its peer learns of it; one the engine refuses has ended.
    pub fn restore(&mut self, ua: &mut UserAgent, now: Instant) {
        for orphan in std::mem::take(&mut self.pending_orphans) {
            // Refused only for a tampered store: nothing to tell the PBX then.
            let _ = ua.end_orphaned(&orphan);
        }
        for (id, snapshot) in std::mem::take(&mut self.pending_restore) {
            let restored = ua.restore_call(now, &snapshot);
            let live = self
                .calls
                .iter_mut()
                .find(|c| c.view.id == id && c.ended_at.is_none());
            match (restored, live) {
                (Ok(handle), Some(c)) => c.handle = Some(handle),
                (Ok(handle), None) => {
                    let _ = ua.hangup(now, handle);
                }
                (Err(_), Some(_)) => self.finish(now, id, CallEnd::ConnectionLost, None),
                (Err(_), None) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support::{
        at_secs, config, connected_ua, events, reply, sent_requests,
    };
    use crate::engine::Event;
    use crate::history::{CallResult, HistoryKind};
    use crate::protocol::calls::MediaRequest;
    use crate::protocol::{Reply, Request};

    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 127.0.0.1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n";

    fn actions(calls: &mut Calls) -> Vec<CallAction> {
        std::iter::from_fn(|| calls.poll_action()).collect()
    }

    fn saved(calls: &mut Calls) -> Option<String> {
        actions(calls).into_iter().rev().find_map(|a| match a {
            CallAction::SaveCalls { json } => Some(json),
            _ => None,
        })
    }

    fn feed(calls: &mut Calls, ua: &mut UserAgent, now: Instant) {
        for event in events(ua) {
            calls.on_event(now, &event);
        }
    }

    /// Old worker: 1001 dials 1002, the far end answers; returns the store.
    fn established() -> (Calls, UserAgent, CallId) {
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        let Reply::Call { call } = calls.command(
            Some(&mut ua),
            true,
            now,
            Request::Dial {
                number: "1002".into(),
                video: false,
            },
        ) else {
            panic!("dial refused")
        };
        let offer = actions(&mut calls)
            .into_iter()
            .find_map(|a| match a {
                CallAction::Media(m @ MediaRequest::MediaOffer { .. }) => Some(m),
                _ => None,
            })
            .unwrap();
        calls.handle_media_reply(
            Some(&mut ua),
            now,
            &offer,
            Ok(crate::protocol::calls::MediaReply::MediaSdp {
                call,
                sdp: SDP.into(),
            }),
        );
        let invite = sent_requests(&mut ua).pop().unwrap();
        ua.handle_transport(
            now,
            &reply(
                &invite,
                200,
                &[("Contact", "<sip:b@b.invalid;transport=ws>")],
            ),
        )
        .unwrap();
        sent_requests(&mut ua);
        feed(&mut calls, &mut ua, now);
        (calls, ua, call)
    }

    #[test]
    fn a_new_worker_takes_the_call_over_and_can_hang_it_up() {
        //  old worker                 storage.session        new worker
        //  call active --SaveCalls--> {view, dialog}
        //  (killed)                                     --> load_restore: call shown
        //                                                   registered: restore
        //                                                   re-INVITE (refresh)
        //                                                   hangup: BYE, same dialog
        let (mut calls, ua, id) = established();
        calls.persist(Some(&ua));
        let json = saved(&mut calls).expect("the active call is saved");
        // Nothing changed: nothing written again.
        calls.persist(Some(&ua));
        assert_eq!(saved(&mut calls), None);
        let old_call_id = ua
            .export_call(ua.calls().next().unwrap().0)
            .unwrap()
            .call_id;

        let now = at_secs(60);
        let mut fresh = Calls::new();
        assert_eq!(fresh.load_restore(at_secs(0), &json), Ok(1));
        let view = &fresh.views()[0];
        assert_eq!((view.id, view.state), (id, CallPhase::Active));
        // The store is not overwritten while the call waits for its engine.
        fresh.persist(None);
        assert_eq!(saved(&mut fresh), None);

        let mut ua2 = UserAgent::new(config(), 99);
        ua2.handle_connected(now);
        fresh.restore(&mut ua2, now);
        let refresh = sent_requests(&mut ua2).pop().unwrap();
        assert_eq!(refresh.method, rsip::Method::Invite);
        assert_eq!(crate::codec::call_id(&refresh), Some(old_call_id.as_str()));
        ua2.handle_transport(now, &reply(&refresh, 200, &[]))
            .unwrap();
        sent_requests(&mut ua2);
        feed(&mut fresh, &mut ua2, now);
        fresh.persist(Some(&ua2));
        assert!(saved(&mut fresh).is_some_and(|j| j.contains(&old_call_id)));

        assert_eq!(
            fresh.command(Some(&mut ua2), true, now, Request::Hangup { call: id }),
            Reply::Ok
        );
        let bye = sent_requests(&mut ua2).pop().unwrap();
        assert_eq!(bye.method, rsip::Method::Bye);
        assert_eq!(crate::codec::call_id(&bye), Some(old_call_id.as_str()));
        feed(&mut fresh, &mut ua2, now);
        let closed = actions(&mut fresh)
            .into_iter()
            .any(|a| a == CallAction::Media(MediaRequest::MediaClose { call: id }));
        assert!(closed, "the offscreen connection is closed");
        // New calls do not reuse the id the offscreen document knows.
        let Reply::Call { call: next } = fresh.command(
            Some(&mut ua2),
            true,
            now,
            Request::Dial {
                number: "1003".into(),
                video: false,
            },
        ) else {
            panic!()
        };
        assert!(next > id);
        fresh.persist(Some(&ua2));
        assert!(saved(&mut fresh).is_some_and(|j| j.contains("\"calls\":[]")));
    }

    #[test]
    fn a_peer_that_hung_up_meanwhile_ends_the_restored_call() {
        //  new worker --re-INVITE--> peer (the call is gone there)
        //             <---- 481 ----          call ends, media closed
        let (mut calls, ua, id) = established();
        calls.persist(Some(&ua));
        let json = saved(&mut calls).unwrap();
        let now = at_secs(60);
        let mut fresh = Calls::new();
        fresh.load_restore(at_secs(0), &json).unwrap();
        let mut ua2 = UserAgent::new(config(), 99);
        ua2.handle_connected(now);
        fresh.restore(&mut ua2, now);
        let refresh = sent_requests(&mut ua2).pop().unwrap();
        ua2.handle_transport(now, &reply(&refresh, 481, &[]))
            .unwrap();
        let evs = events(&mut ua2);
        assert!(evs.iter().any(|e| matches!(e, Event::CallEnded { .. })));
        for e in &evs {
            fresh.on_event(now, e);
        }
        let view = fresh.views().into_iter().find(|v| v.id == id).unwrap();
        assert_eq!(view.end, Some(CallEnd::RemoteHungUp));
        assert!(
            actions(&mut fresh).contains(&CallAction::Media(MediaRequest::MediaClose { call: id }))
        );
    }

    #[test]
    fn a_call_ringing_when_the_worker_died_is_missed_and_the_caller_hears_480() {
        //  PBX --INVITE--> old worker: ringing, stored {view, INVITE}
        //  (killed)                    new worker: missed call in the history,
        //                              badge 1, notification + window closed,
        //                              ringtone stopped
        //  <------ 480 (registered) -- new worker
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        let invite = "INVITE sip:1001@a.invalid SIP/2.0\r\n\
            Via: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bKpbx.1\r\n\
            From: \"Bob\" <sip:1002@pbx.test>;tag=b1\r\nTo: <sip:1001@pbx.test>\r\n\
            Call-ID: ring-2\r\nCSeq: 1 INVITE\r\nContact: <sip:b@b.invalid;transport=ws>\r\n\
            Content-Length: 0\r\n\r\n";
        ua.handle_transport(now, invite.as_bytes()).unwrap();
        feed(&mut calls, &mut ua, now);
        let id = calls.views()[0].id;
        assert_eq!(calls.views()[0].state, CallPhase::Ringing);
        calls.persist(Some(&ua));
        let json = saved(&mut calls).expect("the ringing call is saved");

        let later = at_secs(5);
        let mut fresh = Calls::new();
        fresh.set_missed(2);
        assert_eq!(fresh.load_restore(later, &json), Ok(0));
        let view = fresh.views().into_iter().find(|v| v.id == id).unwrap();
        assert_eq!(view.state, CallPhase::Ended);
        let entry = &fresh.history().entries()[0];
        assert_eq!(
            (entry.kind, entry.result, entry.number.as_str()),
            (HistoryKind::Missed, CallResult::NoAnswer, "1002")
        );
        assert_eq!(fresh.missed(), 3);
        let done = actions(&mut fresh);
        for wanted in [
            CallAction::ClearIncoming { call: id },
            CallAction::CloseCallWindow { call: id },
            CallAction::Badge { count: 3 },
            CallAction::Media(MediaRequest::MediaTone { tone: Tone::None }),
        ] {
            assert!(done.contains(&wanted), "{wanted:?} in {done:?}");
        }
        assert!(done
            .iter()
            .any(|a| matches!(a, CallAction::ShowMissed { call, .. } if *call == id)));

        let mut ua2 = connected_ua(later);
        sent_requests(&mut ua2);
        fresh.restore(&mut ua2, later);
        let out = crate::engine::test_support::sent(&mut ua2);
        let codes: Vec<u16> = out
            .iter()
            .filter_map(|m| match m {
                rsip::SipMessage::Response(r) => Some(r.status_code.code()),
                rsip::SipMessage::Request(_) => None,
            })
            .collect();
        assert_eq!(codes, [480]);
        // Stored once told: the next save forgets the orphan.
        fresh.persist(Some(&ua2));
        assert!(saved(&mut fresh).is_some_and(|j| j.contains("\"ringing\":[]")));
    }

    #[test]
    fn a_dropped_connection_shows_the_call_reconnecting_until_its_refresh_passes() {
        // The worker lives on: the engine keeps the call across the drop
        // (`call::recovery`); the view says so instead of ending it.
        let (mut calls, mut ua, id) = established();
        let view = |calls: &Calls| calls.views().into_iter().find(|v| v.id == id).unwrap();
        ua.handle_disconnected(at_secs(1));
        feed(&mut calls, &mut ua, at_secs(1));
        assert_eq!(
            (view(&calls).state, view(&calls).reconnecting),
            (CallPhase::Active, true)
        );
        ua.handle_connected(at_secs(3));
        let refresh = sent_requests(&mut ua).pop().unwrap();
        assert_eq!(refresh.method, rsip::Method::Invite);
        feed(&mut calls, &mut ua, at_secs(3));
        assert!(view(&calls).reconnecting, "until the peer answers");
        ua.handle_transport(at_secs(3), &reply(&refresh, 200, &[]))
            .unwrap();
        feed(&mut calls, &mut ua, at_secs(3));
        assert_eq!(
            (view(&calls).state, view(&calls).reconnecting),
            (CallPhase::Active, false)
        );
    }

    #[test]
    fn unreadable_or_foreign_stores_restore_nothing() {
        let mut fresh = Calls::new();
        assert!(fresh.load_restore(at_secs(0), "not json").is_err());
        assert!(fresh
            .load_restore(at_secs(0), r#"{"v":2,"next_id":5,"calls":[]}"#)
            .is_err());
        assert_eq!(
            fresh.load_restore(at_secs(0), r#"{"v":1,"next_id":0,"calls":[]}"#),
            Ok(0)
        );
        assert!(fresh.views().is_empty());
        // A tampered dialog is refused by the engine: the call ends.
        let (mut calls, ua, id) = established();
        calls.persist(Some(&ua));
        let json = saved(&mut calls)
            .unwrap()
            .replace("\"v\":1,\"direction\"", "\"v\":7,\"direction\"");
        let now = at_secs(1);
        assert_eq!(fresh.load_restore(at_secs(0), &json), Ok(1));
        let mut ua2 = connected_ua(now);
        fresh.restore(&mut ua2, now);
        assert!(sent_requests(&mut ua2).is_empty());
        let view = fresh.views().into_iter().find(|v| v.id == id).unwrap();
        assert_eq!(view.end, Some(CallEnd::ConnectionLost));
    }
}
