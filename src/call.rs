//! INVITE sessions (RFC 3261 §13–15, RFC 3264 offer/answer with the SDP as
//! opaque text from the browser): outgoing and incoming calls, 180/183 with
//! early media, CANCEL, reject (486/603), redirect (302), hangup (BYE),
//! hold/resume by re-INVITE with a direction attribute, glare (491 and the
//! RFC 3261 §14.1 retry timers), DTMF by INFO (`application/dtmf-relay`),
//! transfer by REFER (RFC 3515, blind and attended with Replaces, RFC 3891)
//! with sipfrag NOTIFY progress, and incoming REFER / INVITE with Replaces.
//!
//! A call reports its end to the user as soon as the user's intent is
//! clear (hangup → `Ended` at once), but keeps the protocol obligations that
//! remain — a CANCEL's 487, the ACK and BYE of a 2xx that crossed our
//! CANCEL — until they are done or a 64·T1 deadline passes, so nothing leaks
//! and the peer is never left with a half-open call.

use std::time::Duration;

use rsip::{Method, Request, Response};
use thiserror::Error;

use crate::auth::DigestSession;
use crate::codec;
use crate::codec::headers::{ExtHeader, ReferTo, Refresher, Replaces, SessionExpires};
use crate::dialog::{Dialog, DialogState};
use crate::engine::{Event, Io, Owner};
use crate::registration::reason_phrase;
use crate::request::{build_request, make_header, parse_uri, retry_with_credentials, RequestSpec};
use crate::sdp::{Direction, Sdp};
use crate::time::Instant;
use crate::transaction::{response_to, ClientEvent, T1, TRANSACTION_TIMEOUT};

pub mod orphan;
pub mod recovery;
pub mod snapshot;
pub use orphan::RingingSnapshot;
pub use recovery::{BYE_OWED_LIMIT, RECOVERY_LIMIT};
pub use snapshot::{CallSnapshot, RestoreError};

/// The engine's name for a call (not the SIP Call-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallHandle(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    Outgoing,
    Incoming,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallState {
    /// INVITE sent, no ringing yet.
    Calling,
    /// 180/183 received.
    Ringing,
    /// Someone is calling us; waiting for answer/reject.
    Incoming,
    Connected {
        local_hold: bool,
        remote_hold: bool,
    },
    Ended(EndReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    LocalHangup,
    RemoteHangup,
    /// The caller gave up before we answered (CANCEL).
    Cancelled,
    /// The callee or a proxy refused our call.
    Rejected {
        code: u16,
        reason: String,
    },
    /// We refused an incoming call.
    Declined {
        code: u16,
    },
    /// Our call was redirected (3xx) to these targets and we did not follow:
    /// a second redirect, or no `sip:`/`sips:` target to follow.
    Redirected {
        targets: Vec<String>,
    },
    /// We sent the incoming call elsewhere (302).
    Forwarded {
        target: String,
    },
    /// An INVITE with Replaces took this call's place.
    Replaced,
    /// We transferred the call and the target answered.
    Transferred,
    /// No final response, or no ACK for our 2xx.
    Timeout,
    /// The connection dropped.
    TransportError,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CallError {
    #[error("no such call")]
    NoSuchCall,
    #[error("not possible in the call's current state: {0}")]
    InvalidState(&'static str),
    #[error("not a dialable target: {0}")]
    BadTarget(String),
    #[error("not connected")]
    NotConnected,
    #[error("no local SDP to derive a hold offer from")]
    NoLocalSdp,
    #[error("DTMF digit must be one of 0-9 * # A-D")]
    BadDigit,
}

/// Which of the call's requests a client transaction belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallTx {
    Invite,
    ReInvite,
    Cancel,
    Bye,
    Info,
    Refer,
    Notify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancel {
    None,
    /// Hangup before any provisional: RFC 3261 §9.1 forbids a CANCEL yet.
    Wanted,
    Sent,
}

#[derive(Debug, Clone)]
struct ReInvite {
    /// The hold state the offer asks for (a session refresh keeps it).
    hold: bool,
    sdp: String,
    cseq: u32,
}

/// What a re-INVITE is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Hold(bool),
    /// RFC 4028 session refresh: the same SDP, a new version.
    Refresh,
}

/// RFC 4028 session timer of a confirmed call: either we refresh at half
/// the interval, or we expect the peer to and give up shortly before the
/// interval ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SessionTimer {
    interval: u32,
    we_refresh: bool,
    due: Instant,
}

/// RFC 4028 §4: no session interval is shorter than 90 s.
const MIN_SE: u32 = 90;

impl SessionTimer {
    fn new(now: Instant, interval: u32, we_refresh: bool) -> SessionTimer {
        let secs = u64::from(interval.max(MIN_SE));
        // §10: the refresher goes at half-time; the other side gives up
        // min(32 s, interval/3) before the end.
        let after = if we_refresh {
            secs / 2
        } else {
            secs - (secs / 3).min(32)
        };
        SessionTimer {
            interval,
            we_refresh,
            due: now + Duration::from_secs(after),
        }
    }
}

/// UAS 2xx retransmission until the ACK (RFC 3261 §13.3.1.4).
#[derive(Debug, Clone)]
struct PendingOk {
    response: Response,
    next: Instant,
    interval: Duration,
    deadline: Instant,
}

/// RFC 3261 §17.1.2.2: retransmission intervals cap at T2.
const T2: Duration = Duration::from_secs(4);

#[derive(Debug)]
pub(crate) struct Call {
    pub handle: CallHandle,
    pub direction: CallDirection,
    state: CallState,
    /// Set once `Ended` was reported while protocol work remains.
    finish_by: Option<Instant>,
    /// Our initial INVITE (outgoing) or the peer's (incoming).
    invite: Request,
    local_tag: String,
    early: Vec<Dialog>,
    dialog: Option<Dialog>,
    local_sdp: Option<String>,
    remote_sdp: Option<String>,
    provisional_seen: bool,
    /// We already followed a 3xx for this call: the next one ends it.
    redirected: bool,
    cancel: Cancel,
    digest: DigestSession,
    last_sent: Vec<(CallTx, Request)>,
    pending_ok: Option<PendingOk>,
    reinvite: Option<ReInvite>,
    /// Hold or resume asked for while a re-INVITE was in flight (a merge
    /// right after a hold): RFC 3261 §14.1 allows one offer at a time, so
    /// the user's latest wish waits for the current one to end.
    queued_hold: Option<bool>,
    /// The user switched the call to audio: every offer we make from now on
    /// disables video (RFC 3264 §8.2, port 0).
    drop_video: bool,
    /// That switch was asked for while a re-INVITE was in flight.
    queued_video: bool,
    glare_retry: Option<(Instant, Purpose)>,
    session_timer: Option<SessionTimer>,
    local_hold: bool,
    remote_hold: bool,
    /// An incoming INVITE with Replaces: the call it takes over on answer.
    pub replaces: Option<CallHandle>,
    /// A call we placed because the peer of this call REFERred us.
    pub transfer_origin: Option<CallHandle>,
    /// We accepted a REFER on this call and owe NOTIFYs (RFC 3515 §2.4.4).
    refer_subscription: bool,
    /// We sent a REFER on this call and wait for its NOTIFYs.
    refer_pending: bool,
    /// Referred-By of the REFER we accepted, for the INVITE we place.
    pub referred_by: Option<String>,
    /// The connection dropped while the call was confirmed: it waits for
    /// a new one until then (see [`recovery`]).
    suspended_until: Option<Instant>,
    /// The target refresh after a reconnect has not reached the peer yet:
    /// it is retried until then (see [`recovery`]).
    refresh_until: Option<Instant>,
    /// The call ended with its BYE unsent or lost in a drop: the BYE goes
    /// out on the next connection (see [`recovery`]).
    bye_after_reconnect: bool,
}

impl Call {
    // ---- creation ------------------------------------------------------

    /// Starts an outgoing call with an SDP offer.
    pub fn outgoing(
        io: &mut Io<'_>,
        handle: CallHandle,
        target: &str,
        sdp: &str,
        extra_headers: Vec<(String, String)>,
    ) -> Result<Call, CallError> {
        let uri_text = normalize_target(target, &io.local.domain);
        let uri = parse_uri(&uri_text).ok_or_else(|| CallError::BadTarget(target.to_string()))?;
        let local_tag = io.random.tag();
        let mut spec = RequestSpec::new(
            Method::Invite,
            uri,
            format!("<{uri_text}>"),
            local_tag.clone(),
            io.random.call_id(),
            1,
        );
        spec.headers.push(("Contact".into(), io.local.contact()));
        spec.headers
            .push(("Allow".into(), crate::engine::ALLOW.into()));
        spec.headers
            .push(("Supported".into(), "replaces, timer".into()));
        spec.headers.extend(extra_headers);
        spec.body = Some(("application/sdp".into(), sdp.as_bytes().to_vec()));
        let invite = build_request(io.local, spec, io.random);
        let mut call = Call::new(
            handle,
            CallDirection::Outgoing,
            invite.clone(),
            local_tag,
            CallState::Calling,
        );
        call.local_sdp = Some(sdp.to_string());
        call.send(io, CallTx::Invite, invite);
        Ok(call)
    }

    /// An incoming INVITE outside any dialog: answers 180 (unless `ring` is
    /// off: the application screens it first, see [`Call::ring`]) and
    /// reports it.
    pub fn incoming(
        io: &mut Io<'_>,
        handle: CallHandle,
        invite: Request,
        replaces: Option<CallHandle>,
        ring: bool,
    ) -> Option<Call> {
        let local_tag = io.random.tag();
        let dialog = match Dialog::uas(&invite, &local_tag, DialogState::Early) {
            Ok(d) => d,
            Err(_) => {
                // RFC 3261 §8.2: a request we cannot build a dialog from
                // (no Contact, bad From) is a client error.
                io.respond(response_to(&invite, 400, Some(&local_tag)));
                return None;
            }
        };
        let mut call = Call::new(
            handle,
            CallDirection::Incoming,
            invite.clone(),
            local_tag,
            CallState::Incoming,
        );
        call.remote_sdp = sdp_body(&invite);
        call.replaces = replaces;
        call.dialog = Some(dialog);
        if ring {
            let ringing = call.uas_response(io, 180);
            io.respond(ringing);
        }
        io.emit(Event::IncomingCall {
            call: handle,
            from: codec::header(&invite, "From")
                .unwrap_or_default()
                .to_string(),
            to: codec::header(&invite, "To").unwrap_or_default().to_string(),
            sdp: call.remote_sdp.clone(),
            replaces,
            referred_by: codec::header(&invite, "Referred-By").map(str::to_string),
        });
        Some(call)
    }

    fn new(
        handle: CallHandle,
        direction: CallDirection,
        invite: Request,
        local_tag: String,
        state: CallState,
    ) -> Call {
        Call {
            handle,
            direction,
            state,
            finish_by: None,
            invite,
            local_tag,
            early: Vec::new(),
            dialog: None,
            local_sdp: None,
            remote_sdp: None,
            provisional_seen: false,
            redirected: false,
            cancel: Cancel::None,
            digest: DigestSession::new(),
            last_sent: Vec::new(),
            pending_ok: None,
            reinvite: None,
            queued_hold: None,
            drop_video: false,
            queued_video: false,
            glare_retry: None,
            session_timer: None,
            local_hold: false,
            remote_hold: false,
            replaces: None,
            transfer_origin: None,
            refer_subscription: false,
            refer_pending: false,
            referred_by: None,
            suspended_until: None,
            bye_after_reconnect: false,
            refresh_until: None,
        }
    }

    /// A confirmed call taken over from a snapshot of another user agent:
    /// it refreshes the peer's target at once (see [`snapshot`]).
    pub fn restored(
        io: &mut Io<'_>,
        handle: CallHandle,
        snapshot: &CallSnapshot,
    ) -> Result<Call, RestoreError> {
        let dialog = snapshot.dialog()?;
        // Only CANCEL matching, redirects and the UAS answer read the
        // initial INVITE, and none of them applies to a confirmed call; an
        // INVITE-shaped request of the dialog keeps the field meaningful.
        let mut invite = dialog.ack(dialog.local_cseq, io.local, io.random);
        invite.method = Method::Invite;
        let mut call = Call::new(
            handle,
            snapshot.direction,
            invite,
            snapshot.local_tag.clone(),
            CallState::Connected {
                local_hold: snapshot.local_hold,
                remote_hold: snapshot.remote_hold,
            },
        );
        call.dialog = Some(dialog);
        call.local_sdp = Some(snapshot.local_sdp.clone());
        call.remote_sdp = snapshot.remote_sdp.clone();
        call.local_hold = snapshot.local_hold;
        call.remote_hold = snapshot.remote_hold;
        // Checked by `dialog()` above, so the refresh cannot lack an SDP.
        let _ = call.send_reinvite(io, Purpose::Refresh);
        Ok(call)
    }

    // ---- queries -------------------------------------------------------

    /// The dialog state of a confirmed call, for a user agent that takes
    /// it over later; `None` before the call is established or once it ended.
    pub fn snapshot(&self) -> Option<CallSnapshot> {
        let d = self.dialog.as_ref()?;
        if !self.is_confirmed() || d.state != DialogState::Confirmed {
            return None;
        }
        Some(CallSnapshot {
            v: snapshot::SNAPSHOT_VERSION,
            direction: self.direction,
            call_id: d.id.call_id.clone(),
            local_tag: d.id.local_tag.clone(),
            remote_tag: d.id.remote_tag.clone(),
            local_uri: d.local_uri.clone(),
            remote_uri: d.remote_uri.clone(),
            remote_target: d.remote_target.clone(),
            route_set: d.route_set.clone(),
            local_cseq: d.local_cseq,
            remote_cseq: d.remote_cseq,
            local_sdp: self.local_sdp.clone()?,
            remote_sdp: self.remote_sdp.clone(),
            local_hold: self.local_hold,
            remote_hold: self.remote_hold,
        })
    }

    /// The INVITE transaction of a call still ringing (either way), for the
    /// agent that ends it after this one died (see [`orphan`]).
    pub fn ringing_snapshot(&self) -> Option<RingingSnapshot> {
        match self.state {
            CallState::Incoming => Some(RingingSnapshot::of(
                self.direction,
                &self.invite,
                &self.local_tag,
            )),
            CallState::Calling | CallState::Ringing => {
                let sent = self
                    .last_sent
                    .iter()
                    .find(|(t, _)| *t == CallTx::Invite)
                    .map_or(&self.invite, |(_, r)| r);
                Some(RingingSnapshot::of(self.direction, sent, &self.local_tag))
            }
            _ => None,
        }
    }

    /// The SIP Call-ID of the call's dialog (confirmed or first early one).
    pub fn call_id(&self) -> Option<&str> {
        self.dialog
            .as_ref()
            .or_else(|| self.early.first())
            .map(|d| d.id.call_id.as_str())
    }

    pub fn state(&self) -> &CallState {
        &self.state
    }

    /// 180 Ringing for a screened incoming call; once is enough.
    pub fn ring(&mut self, io: &mut Io<'_>) -> Result<(), CallError> {
        if self.state != CallState::Incoming {
            return Err(CallError::InvalidState("only an incoming call rings"));
        }
        let ringing = self.uas_response(io, 180);
        io.respond(ringing);
        Ok(())
    }

    /// Seconds after which the caller asks this incoming call to be answered
    /// by itself (intercom/paging: `Call-Info: …;answer-after=N`, or an
    /// Alert-Info auto-answer marker, which means at once).
    pub fn auto_answer_request(&self) -> Option<u32> {
        if self.direction != CallDirection::Incoming {
            return None;
        }
        let parsed = |name| codec::headers(&self.invite, name).into_iter();
        parsed("Call-Info")
            .filter_map(|v| codec::headers::CallInfo::parse(v).ok())
            .find_map(|c| c.answer_after())
            .or_else(|| {
                parsed("Alert-Info")
                    .filter_map(|v| codec::headers::AlertInfo::parse(v).ok())
                    .any(|a| a.auto_answer())
                    .then_some(0)
            })
    }

    pub fn is_ended(&self) -> bool {
        matches!(self.state, CallState::Ended(_))
    }

    /// Ended and nothing left to do: the engine may drop it.
    pub fn is_finished(&self) -> bool {
        self.is_ended() && self.finish_by.is_none()
    }

    /// Does this request (with a To tag) belong to one of our dialogs,
    /// confirmed or (outgoing call, still ringing) early?
    pub fn owns_request(&self, request: &Request) -> bool {
        self.dialog
            .as_ref()
            .is_some_and(|d| d.matches_request(request))
            || self.early.iter().any(|d| d.matches_request(request))
    }

    /// Is `branch` the branch of the peer's INVITE? (CANCEL matching.)
    pub fn is_invited_by(&self, branch: &str) -> bool {
        self.direction == CallDirection::Incoming
            && codec::top_via_branch(&self.invite).as_deref() == Some(branch)
    }

    /// RFC 3891 §3: does a Replaces header name this call's dialog? Tags
    /// are compared in both orders: peers disagree on whose view they use.
    pub fn matches_replaces(&self, r: &Replaces) -> bool {
        let Some(d) = self.dialog.as_ref().or_else(|| self.early.first()) else {
            return false;
        };
        d.id.call_id == r.call_id
            && ((d.id.local_tag == r.to_tag && d.id.remote_tag == r.from_tag)
                || (d.id.local_tag == r.from_tag && d.id.remote_tag == r.to_tag))
    }

    /// The To tag we gave the peer's INVITE (the CANCEL's 200 reuses it).
    pub fn local_tag(&self) -> &str {
        &self.local_tag
    }

    pub fn is_confirmed(&self) -> bool {
        matches!(self.state, CallState::Connected { .. })
    }

    /// The Replaces value that names this call's dialog from the peer's
    /// point of view (for the Refer-To of an attended transfer).
    pub fn replaces_for_peer(&self) -> Option<Replaces> {
        let d = self.dialog.as_ref()?;
        Some(Replaces {
            call_id: d.id.call_id.clone(),
            to_tag: d.id.remote_tag.clone(),
            from_tag: d.id.local_tag.clone(),
            early_only: false,
        })
    }

    /// The peer's address of record (the URI of To/From, not its Contact):
    /// what a transferee should INVITE. A Contact behind a WebSocket edge
    /// (`….invalid;alias=…`) is only routable by the proxy that issued it
    /// for in-dialog requests, so RFC 5589 §7's "AOR unless GRUU" applies.
    pub fn remote_aor(&self) -> Option<String> {
        let d = self.dialog.as_ref()?;
        codec::headers::NameAddr::parse(&d.remote_uri, "To")
            .ok()
            .map(|n| n.uri)
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        // Nothing else runs while the call waits for a connection.
        if self.suspended_until.is_some() {
            return self.suspended_until;
        }
        [
            self.finish_by,
            self.pending_ok.as_ref().map(|p| p.next.min(p.deadline)),
            self.glare_retry.map(|(t, _)| t),
            self.session_timer.map(|t| t.due),
            self.refresh_until,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- commands ------------------------------------------------------

    pub fn answer(&mut self, io: &mut Io<'_>, sdp: &str) -> Result<(), CallError> {
        if self.state != CallState::Incoming {
            return Err(CallError::InvalidState(
                "only a ringing incoming call can be answered",
            ));
        }
        self.local_sdp = Some(sdp.to_string());
        let mut ok = self.uas_response(io, 200);
        let invite = self.invite.clone();
        self.session_timer = uas_session_timer(io.now, &invite, &mut ok);
        ok.headers
            .push(make_header("Content-Type", "application/sdp".into()));
        ok.body = sdp.as_bytes().to_vec();
        io.respond(ok.clone());
        if let Some(d) = self.dialog.as_mut() {
            d.state = DialogState::Confirmed;
        }
        self.pending_ok = Some(PendingOk {
            response: ok,
            next: io.now + T1,
            interval: T1,
            deadline: io.now + TRANSACTION_TIMEOUT,
        });
        self.state = CallState::Connected {
            local_hold: false,
            remote_hold: false,
        };
        Ok(())
    }

    /// Refuse a ringing incoming call (486 Busy Here, 603 Decline, ...).
    pub fn reject(&mut self, io: &mut Io<'_>, code: u16) -> Result<(), CallError> {
        if self.state != CallState::Incoming {
            return Err(CallError::InvalidState(
                "only a ringing incoming call can be rejected",
            ));
        }
        let code = if (400..700).contains(&code) {
            code
        } else {
            603
        };
        let r = self.uas_response(io, code);
        io.respond(r);
        self.end(io, EndReason::Declined { code });
        Ok(())
    }

    /// Send a ringing incoming call elsewhere (302 Moved Temporarily).
    pub fn redirect(&mut self, io: &mut Io<'_>, target: &str) -> Result<(), CallError> {
        if self.state != CallState::Incoming {
            return Err(CallError::InvalidState(
                "only a ringing incoming call can be redirected",
            ));
        }
        let uri = normalize_target(target, &io.local.domain);
        if parse_uri(&uri).is_none() {
            return Err(CallError::BadTarget(target.to_string()));
        }
        let mut r = self.uas_response(io, 302);
        r.headers.retain(|h| !matches!(h, rsip::Header::Contact(_)));
        r.headers.push(make_header("Contact", format!("<{uri}>")));
        io.respond(r);
        self.end(io, EndReason::Forwarded { target: uri });
        Ok(())
    }

    pub fn hangup(&mut self, io: &mut Io<'_>) -> Result<(), CallError> {
        match self.state {
            CallState::Ended(_) => Err(CallError::InvalidState("call already ended")),
            CallState::Incoming => self.reject(io, 603),
            CallState::Calling | CallState::Ringing => {
                if self.provisional_seen {
                    self.send_cancel(io);
                } else {
                    self.cancel = Cancel::Wanted;
                }
                self.end_pending(io, EndReason::LocalHangup);
                Ok(())
            }
            CallState::Connected { .. } => {
                if !self.hangup_suspended(io) {
                    self.send_bye(io);
                    self.end(io, EndReason::LocalHangup);
                }
                Ok(())
            }
        }
    }

    pub fn hold(&mut self, io: &mut Io<'_>, hold: bool) -> Result<(), CallError> {
        if !self.is_confirmed() || self.pending_ok.is_some() {
            return Err(CallError::InvalidState("hold needs a confirmed call"));
        }
        if self.suspended_until.is_some() {
            // Rides on the target refresh once a connection is back.
            self.queued_hold = Some(hold);
            return Ok(());
        }
        if let Some((at, _)) = self.glare_retry {
            let purpose = if hold == self.local_hold {
                Purpose::Refresh
            } else {
                Purpose::Hold(hold)
            };
            self.glare_retry = Some((at, purpose));
            return Ok(());
        }
        if self.reinvite.is_some() {
            self.queued_hold = Some(hold);
            return Ok(());
        }
        self.send_reinvite(io, Purpose::Hold(hold))
    }

    /// Switch from video to audio: a re-INVITE whose offer disables the
    /// video streams (port 0, RFC 3264 §8.2); the call goes on with audio.
    /// Like hold it waits for a re-INVITE in flight (one offer at a time);
    /// a call without video has nothing to change.
    pub fn stop_video(&mut self, io: &mut Io<'_>) -> Result<(), CallError> {
        if !self.is_confirmed() || self.pending_ok.is_some() {
            return Err(CallError::InvalidState(
                "video can stop in a confirmed call",
            ));
        }
        if !self.video() {
            return Ok(());
        }
        self.drop_video = true;
        if self.glare_retry.is_some() {
            // The retried offer is built when it goes out, without video.
            return Ok(());
        }
        if self.reinvite.is_some() {
            self.queued_video = true;
            return Ok(());
        }
        self.send_reinvite(io, Purpose::Refresh)
    }

    /// Both sides have an enabled video stream.
    pub fn video(&self) -> bool {
        let has = |sdp: &Option<String>| {
            sdp.as_deref()
                .and_then(|s| Sdp::parse(s).ok())
                .is_some_and(|s| s.has_video())
        };
        has(&self.local_sdp) && has(&self.remote_sdp)
    }

    /// Our SDP with the streams the peer's `answer` disabled disabled too,
    /// so a later offer does not bring them back by accident.
    fn align_local_to(&mut self, answer: Option<&str>) {
        let Some(theirs) = answer.and_then(|a| Sdp::parse(a).ok()) else {
            return;
        };
        if let Some(ours) = self.local_sdp.as_deref().and_then(|l| Sdp::parse(l).ok()) {
            if ours.media.len() == theirs.media.len() {
                self.local_sdp = Some(ours.rejecting_as(&theirs).to_string());
            }
        }
    }

    pub fn send_dtmf(
        &mut self,
        io: &mut Io<'_>,
        digit: char,
        duration_ms: u32,
    ) -> Result<(), CallError> {
        let digit = digit.to_ascii_uppercase();
        if !matches!(digit, '0'..='9' | '*' | '#' | 'A'..='D') {
            return Err(CallError::BadDigit);
        }
        let body = format!(
            "Signal={digit}\r\nDuration={}\r\n",
            duration_ms.clamp(40, 5000)
        );
        let mut info = self.in_dialog(io, Method::Info)?;
        info.headers
            .push(make_header("Content-Type", "application/dtmf-relay".into()));
        info.body = body.into_bytes();
        self.send(io, CallTx::Info, info);
        Ok(())
    }

    /// REFER the peer to `target`, with `replaces` for an attended transfer.
    pub fn refer(
        &mut self,
        io: &mut Io<'_>,
        target: &str,
        replaces: Option<Replaces>,
    ) -> Result<(), CallError> {
        if self.refer_pending {
            return Err(CallError::InvalidState("a transfer is already in progress"));
        }
        let uri = normalize_target(target, &io.local.domain);
        if parse_uri(&uri).is_none() {
            return Err(CallError::BadTarget(target.to_string()));
        }
        let mut refer = self.in_dialog(io, Method::Refer)?;
        refer.headers.push(ReferTo::new(uri, replaces).to_header());
        refer
            .headers
            .push(make_header("Referred-By", format!("<{}>", io.local.aor)));
        refer
            .headers
            .push(make_header("Contact", io.local.contact()));
        self.refer_pending = true;
        self.send(io, CallTx::Refer, refer);
        Ok(())
    }

    /// Our answer to the peer's REFER: report progress of the call we placed
    /// for it (RFC 3515 §2.4.5: a sipfrag status line per NOTIFY).
    pub fn notify_refer_progress(&mut self, io: &mut Io<'_>, code: u16, reason: &str) {
        if !self.refer_subscription || self.is_ended() {
            return;
        }
        let done = code >= 200;
        let Ok(mut notify) = self.in_dialog(io, Method::Notify) else {
            return;
        };
        notify.headers.push(make_header("Event", "refer".into()));
        let state = if done {
            "terminated;reason=noresource".to_string()
        } else {
            "active;expires=60".to_string()
        };
        notify
            .headers
            .push(make_header("Subscription-State", state));
        notify
            .headers
            .push(make_header("Contact", io.local.contact()));
        notify.headers.push(make_header(
            "Content-Type",
            "message/sipfrag;version=2.0".into(),
        ));
        notify.body = format!("SIP/2.0 {code} {reason}\r\n").into_bytes();
        if done {
            self.refer_subscription = false;
        }
        self.send(io, CallTx::Notify, notify);
    }

    /// Ends a call whose dialog another call has replaced (RFC 3891 §3).
    pub fn replaced(&mut self, io: &mut Io<'_>) {
        match self.state {
            CallState::Connected { .. } => {
                self.send_bye(io);
                self.end(io, EndReason::Replaced);
            }
            CallState::Calling | CallState::Ringing => {
                if self.provisional_seen {
                    self.send_cancel(io);
                } else {
                    self.cancel = Cancel::Wanted;
                }
                self.end_pending(io, EndReason::Replaced);
            }
            CallState::Incoming => {
                let r = self.uas_response(io, 487);
                io.respond(r);
                self.end(io, EndReason::Replaced);
            }
            CallState::Ended(_) => {}
        }
    }

    // ---- network input -------------------------------------------------

    pub fn on_client_event(&mut self, io: &mut Io<'_>, tx: CallTx, event: ClientEvent) {
        match tx {
            CallTx::Invite => self.on_invite_event(io, event),
            CallTx::ReInvite => self.on_reinvite_event(io, event),
            CallTx::Refer => self.on_refer_event(io, event),
            CallTx::Bye | CallTx::Info | CallTx::Notify => {
                if let ClientEvent::Final(r) = &event {
                    if matches!(r.status_code.code(), 401 | 407) {
                        self.retry_challenged(io, tx, r);
                        return;
                    }
                }
                if tx == CallTx::Bye && self.bye_after_reconnect {
                    // Lost with the connection: it goes out on the next one.
                    return;
                }
                if tx == CallTx::Bye
                    && self.is_ended()
                    && !matches!(event, ClientEvent::Provisional(_))
                {
                    // The BYE is answered (or never will be): nothing left.
                    self.finish_by = None;
                }
                if let ClientEvent::Final(r) = &event {
                    // RFC 5057 §5.1: 481 (or 408) to an in-dialog request
                    // means the dialog is gone.
                    if matches!(r.status_code.code(), 408 | 481) && !self.is_ended() {
                        self.end(io, EndReason::RemoteHangup);
                    }
                }
            }
            CallTx::Cancel => {}
        }
    }

    fn on_invite_event(&mut self, io: &mut Io<'_>, event: ClientEvent) {
        match event {
            ClientEvent::Provisional(r) => {
                self.provisional_seen = true;
                if self.cancel == Cancel::Wanted {
                    self.send_cancel(io);
                }
                let code = r.status_code.code();
                if code == 100 {
                    return;
                }
                if codec::to_tag(&r).is_some() {
                    let tag = codec::to_tag(&r);
                    if !self
                        .early
                        .iter()
                        .any(|d| Some(&d.id.remote_tag) == tag.as_ref())
                    {
                        if let Ok(d) = Dialog::uac(&self.invite, &r) {
                            self.early.push(d);
                        }
                    }
                }
                if self.is_ended() {
                    return;
                }
                self.state = CallState::Ringing;
                let sdp = sdp_body(&r);
                if sdp.is_some() {
                    self.remote_sdp = sdp.clone();
                }
                io.emit(Event::CallProgress {
                    call: self.handle,
                    code,
                    sdp,
                });
            }
            ClientEvent::Final(r) => {
                let code = r.status_code.code();
                match code {
                    200..=299 => self.on_invite_2xx(io, r),
                    401 | 407 if !self.is_ended() => self.retry_challenged(io, CallTx::Invite, &r),
                    300..=399 => {
                        let targets: Vec<String> = codec::headers(&r, "Contact")
                            .into_iter()
                            .flat_map(|l| codec::headers::split_unquoted(l, ','))
                            .filter_map(|c| codec::headers::NameAddr::parse(c, "Contact").ok())
                            .map(|n| n.uri)
                            .collect();
                        if !self.follow_redirect(io, code, &targets) {
                            self.finish_invite(io, EndReason::Redirected { targets });
                        }
                    }
                    _ => {
                        let reason = if self.cancel == Cancel::Sent && code == 487 {
                            EndReason::LocalHangup
                        } else {
                            EndReason::Rejected {
                                code,
                                reason: reason_phrase(&r),
                            }
                        };
                        self.finish_invite(io, reason);
                    }
                }
            }
            ClientEvent::Timeout => self.finish_invite(io, EndReason::Timeout),
            ClientEvent::TransportError => self.finish_invite(io, EndReason::TransportError),
        }
    }

    /// RFC 3261 §8.1.3.4: on a 300/301/302 the UAC may retry the INVITE at a
    /// Contact of the response (the PBX relays a callee's "send to voicemail"
    /// 302 to us). Same Call-ID, From and To, the next CSeq, a fresh branch,
    /// no stale credentials. Only once per call, and never back to the URI we
    /// just tried, so two parties redirecting to each other cannot loop us.
    /// `false` when the redirect is not followed.
    fn follow_redirect(&mut self, io: &mut Io<'_>, code: u16, targets: &[String]) -> bool {
        if self.redirected || self.is_ended() || self.cancel != Cancel::None {
            return false;
        }
        if !matches!(code, 300..=302) {
            return false;
        }
        let current = self.invite.uri.to_string();
        let target = targets.iter().find_map(|t| {
            let scheme = t.split(':').next().unwrap_or("");
            let sip = scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips");
            (sip && *t != current).then(|| parse_uri(t)).flatten()
        });
        let Some(target) = target else {
            return false;
        };
        let cseq = codec::cseq(&self.invite).map_or(1, |(n, _)| n.saturating_add(1));
        let mut retry = retry_with_credentials(&self.invite, cseq, Vec::new(), io.local, io.random);
        retry.uri = target;
        // The retry is a new logical request (the target, and so the proxy's
        // challenge, may differ): a 401/407 to it must be answered once like
        // one to a fresh INVITE, not taken for a rejection of the credentials
        // that authorized the INVITE before the redirect.
        self.digest.start_request();
        self.redirected = true;
        self.invite = retry.clone();
        self.provisional_seen = false;
        self.early.clear();
        self.state = CallState::Calling;
        self.send(io, CallTx::Invite, retry);
        true
    }

    /// The INVITE transaction is over without a session.
    fn finish_invite(&mut self, io: &mut Io<'_>, reason: EndReason) {
        self.finish_by = None;
        if !self.is_ended() {
            self.end(io, reason);
        }
    }

    fn on_invite_2xx(&mut self, io: &mut Io<'_>, r: Response) {
        let invite_cseq = codec::cseq(&r).map_or(1, |(n, _)| n);
        let tag = codec::to_tag(&r);
        // A retransmitted 2xx of our dialog: ACK again (RFC 3261 §13.2.2.4).
        if let Some(d) = &self.dialog {
            if Some(&d.id.remote_tag) == tag.as_ref() {
                let ack = d.ack(invite_cseq, io.local, io.random);
                io.send_ack(ack);
                return;
            }
            // A second fork answered too: take it and hang it up at once.
            if let Ok(mut other) = Dialog::uac(&self.invite, &r) {
                let ack = other.ack(invite_cseq, io.local, io.random);
                io.send_ack(ack);
                let bye = other.request(Method::Bye, io.local, io.random);
                io.send(bye, Owner::Call(self.handle, CallTx::Bye));
            }
            return;
        }
        let mut dialog = match self
            .early
            .iter()
            .position(|d| Some(&d.id.remote_tag) == tag.as_ref())
        {
            Some(i) => {
                let mut d = self.early.swap_remove(i);
                d.on_response(&r, true);
                d
            }
            None => match Dialog::uac(&self.invite, &r) {
                Ok(d) => d,
                // A 2xx without a To tag cannot be ACKed in a dialog; the
                // proxy or peer is broken. Give up on the call.
                Err(_) => {
                    return self.finish_invite(
                        io,
                        EndReason::Rejected {
                            code: 200,
                            reason: "malformed 2xx".into(),
                        },
                    )
                }
            },
        };
        dialog.local_cseq = dialog.local_cseq.max(invite_cseq);
        self.early.clear();
        let ack = dialog.ack(invite_cseq, io.local, io.random);
        io.send_ack(ack);
        self.dialog = Some(dialog);
        if self.is_ended() {
            // We hung up while it was ringing and the answer crossed our
            // CANCEL: the session exists now, so it has to be BYEd.
            self.send_bye(io);
            return;
        }
        self.remote_sdp = sdp_body(&r).or(self.remote_sdp.take());
        let answer = self.remote_sdp.clone();
        self.align_local_to(answer.as_deref());
        self.session_timer = uac_session_timer(io.now, &r);
        self.state = CallState::Connected {
            local_hold: false,
            remote_hold: false,
        };
        io.emit(Event::CallAnswered {
            call: self.handle,
            sdp: self.remote_sdp.clone(),
        });
    }

    fn on_reinvite_event(&mut self, io: &mut Io<'_>, event: ClientEvent) {
        let Some(pending) = self.reinvite.clone() else {
            return;
        };
        match event {
            ClientEvent::Provisional(_) => {}
            ClientEvent::Final(r) => {
                let code = r.status_code.code();
                match code {
                    200..=299 => {
                        if let Some(d) = self.dialog.as_mut() {
                            d.on_response(&r, false);
                            let ack = d.ack(pending.cseq, io.local, io.random);
                            io.send_ack(ack);
                        }
                        self.reinvite = None;
                        if self.refresh_until.take().is_some() {
                            io.emit(Event::CallReconnected { call: self.handle });
                        }
                        self.local_sdp = Some(pending.sdp);
                        self.local_hold = pending.hold;
                        self.session_timer = uac_session_timer(io.now, &r);
                        if let Some(sdp) = sdp_body(&r) {
                            self.align_local_to(Some(&sdp));
                            self.remote_sdp = Some(sdp);
                        }
                        // A queued change reports when it completes: the
                        // state in between is one the user already left.
                        if !self.send_queued_hold(io) {
                            self.report_update(io);
                        }
                    }
                    401 | 407 => self.retry_challenged(io, CallTx::ReInvite, &r),
                    491 => {
                        // RFC 3261 §14.1: the Call-ID owner waits 2.1–4 s,
                        // the other side 0–2 s, in 10 ms steps.
                        self.reinvite = None;
                        let ms = if self.direction == CallDirection::Outgoing {
                            2100 + io.random.below(191) * 10
                        } else {
                            io.random.below(201) * 10
                        };
                        let wanted = self.queued_hold.take().unwrap_or(pending.hold);
                        let purpose = if wanted == self.local_hold {
                            Purpose::Refresh
                        } else {
                            Purpose::Hold(wanted)
                        };
                        self.glare_retry = Some((io.now + Duration::from_millis(ms), purpose));
                    }
                    _ => {
                        self.reinvite = None;
                        // RFC 3261 §14.1: 408/481 end the dialog.
                        if matches!(code, 408 | 481) && !self.is_ended() {
                            self.send_bye(io);
                            self.end(io, EndReason::RemoteHangup);
                        } else if !self.refresh_refused(io, pending.hold) {
                            self.reinvite_refused(io, pending.hold, code);
                        }
                    }
                }
            }
            ClientEvent::Timeout | ClientEvent::TransportError => {
                self.reinvite = None;
                if event == ClientEvent::TransportError && self.suspended_until.is_some() {
                    // Its wish rides on the target refresh (see `suspend`).
                    return;
                }
                if !self.is_ended() {
                    let reason = if event == ClientEvent::Timeout {
                        EndReason::Timeout
                    } else {
                        EndReason::TransportError
                    };
                    if event == ClientEvent::Timeout {
                        self.send_bye(io);
                    }
                    self.end(io, reason);
                }
            }
        }
    }

    fn on_refer_event(&mut self, io: &mut Io<'_>, event: ClientEvent) {
        match event {
            ClientEvent::Provisional(_) => {}
            ClientEvent::Final(r) => {
                let code = r.status_code.code();
                if matches!(code, 401 | 407) {
                    self.retry_challenged(io, CallTx::Refer, &r);
                    return;
                }
                if !(200..300).contains(&code) {
                    self.refer_pending = false;
                    io.emit(Event::TransferProgress {
                        call: self.handle,
                        code,
                        done: true,
                    });
                }
            }
            ClientEvent::Timeout | ClientEvent::TransportError => {
                self.refer_pending = false;
                io.emit(Event::TransferProgress {
                    call: self.handle,
                    code: 408,
                    done: true,
                });
            }
        }
    }

    /// A request inside this call's dialog (the transaction layer answered
    /// retransmissions already).
    pub fn on_request(&mut self, io: &mut Io<'_>, request: Request) {
        let Some(dialog) = self.dialog.as_mut() else {
            self.on_early_request(io, request);
            return;
        };
        if let Err(crate::dialog::DialogError::CSeqOutOfOrder { .. }) = dialog.on_request(&request)
        {
            io.respond(response_to(&request, 500, None));
            return;
        }
        match request.method {
            Method::Bye => {
                io.respond(response_to(&request, 200, None));
                if self.state == CallState::Incoming {
                    // RFC 3261 §15.1.2: a BYE in the early dialog ends the
                    // INVITE too, which still needs its final response.
                    let r = self.uas_response(io, 487);
                    io.respond(r);
                }
                if !self.is_ended() {
                    self.end(io, EndReason::RemoteHangup);
                }
            }
            Method::Invite | Method::Update => self.on_remote_offer(io, request),
            Method::Info => self.on_info(io, request),
            Method::Refer => self.on_refer(io, request),
            Method::Notify => self.on_notify(io, request),
            _ => {
                let mut r = response_to(&request, 405, None);
                r.headers
                    .push(make_header("Allow", crate::engine::ALLOW.into()));
                io.respond(r);
            }
        }
    }

    /// A request from the callee inside an early dialog of our INVITE. PBXes
    /// send an UPDATE without SDP while it rings (Asterisk: connected-line
    /// updates, RFC 3311 §5.1) or INFO (RFC 6086 §4.2); a 481 there tells the
    /// peer the dialog is gone (RFC 5057) and may cost the call.
    fn on_early_request(&mut self, io: &mut Io<'_>, request: Request) {
        let ended = self.is_ended();
        let early = self.early.iter_mut().find(|d| d.matches_request(&request));
        let Some(dialog) = early.filter(|_| !ended) else {
            io.respond(response_to(&request, 481, None));
            return;
        };
        if let Err(crate::dialog::DialogError::CSeqOutOfOrder { .. }) = dialog.on_request(&request)
        {
            io.respond(response_to(&request, 500, None));
            return;
        }
        let remote_tag = dialog.id.remote_tag.clone();
        match request.method {
            // RFC 3311 §5.2: our INVITE's offer is still unanswered (an
            // unreliable 18x does not complete it), so an offer is glare.
            Method::Update if sdp_body(&request).is_some() => {
                io.respond(response_to(&request, 491, None));
            }
            // A target refresh: the 2xx carries our Contact (RFC 3311 §5.2).
            Method::Update => {
                let mut ok = response_to(&request, 200, None);
                ok.headers.push(make_header("Contact", io.local.contact()));
                io.respond(ok);
            }
            Method::Info => self.on_info(io, request),
            // Not the callee's to send (RFC 3261 §15), but it plainly ends
            // that fork; the INVITE still gets its final response.
            Method::Bye => {
                io.respond(response_to(&request, 200, None));
                self.early.retain(|d| d.id.remote_tag != remote_tag);
            }
            _ => {
                let mut r = response_to(&request, 405, None);
                r.headers
                    .push(make_header("Allow", "UPDATE, INFO, BYE".into()));
                io.respond(r);
            }
        }
    }

    /// The ACK of our 2xx (initial answer or re-INVITE answer).
    pub fn on_ack(&mut self, io: &mut Io<'_>, ack: Request) {
        if self.pending_ok.take().is_some() {
            if let Some(sdp) = sdp_body(&ack) {
                self.remote_sdp = Some(sdp);
            }
            if !self.is_ended() {
                io.emit(Event::CallAnswered {
                    call: self.handle,
                    sdp: self.remote_sdp.clone(),
                });
            }
        }
    }

    /// The caller CANCELled our ringing call (RFC 3261 §9.2): the CANCEL
    /// gets its 200 from the engine, the INVITE its 487 here.
    pub fn on_cancel(&mut self, io: &mut Io<'_>) {
        if self.state == CallState::Incoming {
            let r = self.uas_response(io, 487);
            io.respond(r);
            self.end(io, EndReason::Cancelled);
        }
    }

    fn on_remote_offer(&mut self, io: &mut Io<'_>, request: Request) {
        // RFC 3261 §14.2: an offer while ours is pending is glare.
        if self.reinvite.is_some() || self.pending_ok.is_some() {
            let mut r = response_to(&request, 491, None);
            if request.method == Method::Invite {
                r.headers.push(make_header("Retry-After", "1".into()));
            }
            io.respond(r);
            return;
        }
        let offer = sdp_body(&request);
        let local = self.local_sdp.as_deref().and_then(|s| Sdp::parse(s).ok());
        let answer = match (&offer, local) {
            (Some(offer_text), Some(local)) => {
                let parsed = Sdp::parse(offer_text).ok();
                let offered = parsed.as_ref().map(|o| o.direction()).unwrap_or_default();
                self.remote_hold = offered.is_held_by_peer_offer();
                let mut dir = offered.reversed();
                if self.local_hold {
                    dir = intersect(dir, Direction::SendOnly);
                }
                // A stream the offer disables (the peer switched to audio)
                // is disabled in the answer too; one we dropped stays dropped.
                let mut shaped = match &parsed {
                    Some(o) => local.rejecting_as(o),
                    None => local,
                };
                if self.drop_video {
                    shaped = shaped.without_video();
                }
                let mut answer = shaped.with_direction(dir);
                answer.bump_version();
                Some(answer.to_string())
            }
            // An offerless re-INVITE: our current SDP is the offer (RFC 3261 §14.2).
            (None, _) => self.local_sdp.clone(),
            (Some(_), None) => None,
        };
        if offer.is_some() {
            self.remote_sdp = offer;
        }
        let mut ok = response_to(&request, 200, None);
        ok.headers.push(make_header("Contact", io.local.contact()));
        self.session_timer = uas_session_timer(io.now, &request, &mut ok);
        if let Some(a) = &answer {
            ok.headers
                .push(make_header("Content-Type", "application/sdp".into()));
            ok.body = a.as_bytes().to_vec();
            self.local_sdp = Some(a.clone());
        }
        io.respond(ok);
        self.report_update(io);
    }

    fn on_info(&mut self, io: &mut Io<'_>, request: Request) {
        let body = String::from_utf8_lossy(&request.body).to_string();
        match codec::content_type(&request).as_deref() {
            Some("application/dtmf-relay") => {
                let field = |name: &str| {
                    body.lines().find_map(|l| {
                        let (k, v) = l.split_once('=')?;
                        k.trim()
                            .eq_ignore_ascii_case(name)
                            .then(|| v.trim().to_string())
                    })
                };
                let digit = field("Signal").and_then(|s| s.chars().next());
                let duration = field("Duration")
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(160);
                match digit {
                    Some(d) => {
                        io.respond(response_to(&request, 200, None));
                        io.emit(Event::Dtmf {
                            call: self.handle,
                            digit: d,
                            duration_ms: duration,
                        });
                    }
                    None => io.respond(response_to(&request, 400, None)),
                }
            }
            Some("application/dtmf") => match body.trim().chars().next() {
                Some(d) => {
                    io.respond(response_to(&request, 200, None));
                    io.emit(Event::Dtmf {
                        call: self.handle,
                        digit: d,
                        duration_ms: 160,
                    });
                }
                None => io.respond(response_to(&request, 400, None)),
            },
            // An empty INFO is a liveness probe some PBXes send.
            None if request.body.is_empty() => io.respond(response_to(&request, 200, None)),
            _ => {
                let mut r = response_to(&request, 415, None);
                r.headers.push(make_header(
                    "Accept",
                    "application/dtmf-relay, application/dtmf".into(),
                ));
                io.respond(r);
            }
        }
    }

    fn on_refer(&mut self, io: &mut Io<'_>, request: Request) {
        let refer_to = match codec::headers::typed::<ReferTo, _>(&request) {
            Some(Ok(r)) => r,
            _ => {
                io.respond(response_to(&request, 400, None));
                return;
            }
        };
        if !self.is_confirmed() || self.refer_subscription {
            io.respond(response_to(&request, 403, None));
            return;
        }
        let mut accepted = response_to(&request, 202, None);
        accepted
            .headers
            .push(make_header("Contact", io.local.contact()));
        io.respond(accepted);
        self.refer_subscription = true;
        self.referred_by = codec::header(&request, "Referred-By").map(str::to_string);
        self.notify_refer_progress(io, 100, "Trying");
        io.emit(Event::TransferRequested {
            call: self.handle,
            target: refer_to.target.clone(),
            replaces: refer_to.replaces.clone(),
            referred_by: codec::header(&request, "Referred-By").map(str::to_string),
        });
    }

    fn on_notify(&mut self, io: &mut Io<'_>, request: Request) {
        let is_refer = codec::header(&request, "Event").is_some_and(|e| {
            e.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("refer")
        });
        if !is_refer || !self.refer_pending {
            io.respond(response_to(&request, 481, None));
            return;
        }
        io.respond(response_to(&request, 200, None));
        let body = String::from_utf8_lossy(&request.body).to_string();
        // message/sipfrag: the first line is a status line "SIP/2.0 180 Ringing".
        let code = body
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse::<u16>().ok());
        let terminated = codec::header(&request, "Subscription-State").is_some_and(|s| {
            s.trim_start()
                .to_ascii_lowercase()
                .starts_with("terminated")
        });
        let Some(code) = code else {
            if terminated {
                self.refer_pending = false;
            }
            return;
        };
        let done = code >= 200 || terminated;
        if done {
            self.refer_pending = false;
        }
        io.emit(Event::TransferProgress {
            call: self.handle,
            code,
            done,
        });
        if (200..300).contains(&code) && self.is_confirmed() {
            // The target answered: our part in the call is over (RFC 5589 §6).
            self.send_bye(io);
            self.end(io, EndReason::Transferred);
        }
    }

    // ---- timers --------------------------------------------------------

    pub fn on_timeout(&mut self, io: &mut Io<'_>) {
        let now = io.now;
        if self.suspension_timeout(io) || self.refresh_timeout(io) {
            return;
        }
        if let Some(p) = self.pending_ok.as_mut() {
            if p.deadline <= now {
                // RFC 3261 §13.3.1.4: no ACK in 64·T1 → end the session with BYE.
                self.pending_ok = None;
                if !self.is_ended() {
                    self.send_bye(io);
                    self.end(io, EndReason::Timeout);
                }
            } else if p.next <= now {
                let text = p.response.clone();
                p.interval = (p.interval * 2).min(T2);
                p.next = now + p.interval;
                io.retransmit(text);
            }
        }
        if let Some((at, purpose)) = self.glare_retry {
            if at <= now {
                self.glare_retry = None;
                if self.is_confirmed() {
                    let _ = self.send_reinvite(io, purpose);
                }
            }
        }
        if let Some(timer) = self.session_timer.filter(|t| t.due <= now) {
            // From here on a watchdog: the 2xx of the refresh re-arms the
            // timer; without one the session ends like an unrefreshed one.
            self.session_timer = Some(SessionTimer::new(now, timer.interval, false));
            if timer.we_refresh && self.is_confirmed() {
                if self.reinvite.is_some() || self.glare_retry.is_some() {
                    // An offer is in flight; its 2xx refreshes the session.
                } else if self.send_reinvite(io, Purpose::Refresh).is_err() {
                    self.send_bye(io);
                    self.end(io, EndReason::Timeout);
                }
            } else if self.is_confirmed() {
                // RFC 4028 §10: the refresher went silent; the session is dead.
                self.session_timer = None;
                self.send_bye(io);
                self.end(io, EndReason::Timeout);
            }
        }
        if self.finish_by.is_some_and(|t| t <= now) {
            self.finish_by = None;
            self.bye_after_reconnect = false;
        }
    }

    /// The connection is gone and its transactions have failed: a call
    /// [`Call::suspend`] kept waits for the next one, whatever else was in
    /// progress is over.
    pub fn on_transport_lost(&mut self, io: &mut Io<'_>) {
        self.pending_ok = None;
        self.glare_retry = None;
        if self.suspended_until.is_some() || self.bye_after_reconnect {
            return;
        }
        self.finish_by = None;
        if !self.is_ended() {
            self.end(io, EndReason::TransportError);
        }
    }

    // ---- helpers -------------------------------------------------------

    fn end(&mut self, io: &mut Io<'_>, reason: EndReason) {
        self.state = CallState::Ended(reason.clone());
        self.suspended_until = None;
        self.refresh_until = None;
        self.glare_retry = None;
        self.queued_hold = None;
        self.queued_video = false;
        self.session_timer = None;
        io.emit(Event::CallEnded {
            call: self.handle,
            reason,
        });
    }

    /// Reported as ended, but the INVITE transaction still has to finish.
    fn end_pending(&mut self, io: &mut Io<'_>, reason: EndReason) {
        self.end(io, reason);
        self.finish_by = Some(io.now + TRANSACTION_TIMEOUT);
    }

    fn send(&mut self, io: &mut Io<'_>, tx: CallTx, request: Request) {
        self.last_sent.retain(|(t, _)| *t != tx);
        self.last_sent.push((tx, request.clone()));
        io.send(request, Owner::Call(self.handle, tx));
    }

    fn in_dialog(&mut self, io: &mut Io<'_>, method: Method) -> Result<Request, CallError> {
        if !self.is_confirmed() {
            return Err(CallError::InvalidState("needs a confirmed call"));
        }
        if self.suspended_until.is_some() {
            // The peer cannot reach us before the target refresh.
            return Err(CallError::NotConnected);
        }
        let d = self
            .dialog
            .as_mut()
            .ok_or(CallError::InvalidState("no dialog"))?;
        // A new request of its own: a proxy that challenged the INVITE may
        // challenge it too (same realm, fresh nonce), and that must be
        // answered once, not taken for a rejected password.
        self.digest.start_request();
        Ok(d.request(method, io.local, io.random))
    }

    /// The call stays known until the BYE has its final response: a proxy
    /// may challenge it (401/407), and the retry must still go out.
    fn send_bye(&mut self, io: &mut Io<'_>) {
        if let Some(d) = self.dialog.as_mut() {
            let bye = d.request(Method::Bye, io.local, io.random);
            // A logical request of its own: a challenge to it is answered
            // once even when the INVITE was challenged in the same realm.
            self.digest.start_request();
            self.finish_by = Some(io.now + TRANSACTION_TIMEOUT);
            self.send(io, CallTx::Bye, bye);
        }
    }

    /// CANCEL of the INVITE last sent, once.
    fn send_cancel(&mut self, io: &mut Io<'_>) {
        if self.cancel == Cancel::Sent {
            return;
        }
        self.cancel = Cancel::Sent;
        let invite = self
            .last_sent
            .iter()
            .find(|(t, _)| *t == CallTx::Invite)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| self.invite.clone());
        let cancel = cancel_of(&invite);
        io.send(cancel, Owner::Call(self.handle, CallTx::Cancel));
        io.invite_cancelled(&invite);
    }

    /// Sends the hold change queued behind the re-INVITE that just ended,
    /// if it still changes anything; `true` when one is now in flight.
    fn send_queued_hold(&mut self, io: &mut Io<'_>) -> bool {
        let video = std::mem::take(&mut self.queued_video) && self.video();
        match self.queued_hold.take() {
            Some(hold) if hold != self.local_hold => {
                self.send_reinvite(io, Purpose::Hold(hold)).is_ok()
            }
            // The switch to audio rides on the next offer either way.
            _ if video => self.send_reinvite(io, Purpose::Refresh).is_ok(),
            _ => false,
        }
    }

    /// A re-INVITE asking for `wanted` was refused: the session stays as it
    /// was. The user hears of it only when what they last asked for is not
    /// what the session now is.
    fn reinvite_refused(&mut self, io: &mut Io<'_>, wanted: bool, code: u16) {
        let last_wish = self.queued_hold.unwrap_or(wanted);
        if self.send_queued_hold(io) {
            return;
        }
        if last_wish != self.local_hold {
            io.emit(Event::CallUpdateFailed {
                call: self.handle,
                code,
            });
        }
    }

    fn send_reinvite(&mut self, io: &mut Io<'_>, purpose: Purpose) -> Result<(), CallError> {
        let local = self.local_sdp.as_deref().ok_or(CallError::NoLocalSdp)?;
        let parsed = Sdp::parse(local).map_err(|_| CallError::NoLocalSdp)?;
        let (dir, hold) = match purpose {
            Purpose::Hold(true) => (parsed.direction().held(), true),
            Purpose::Hold(false) => (parsed.direction().resumed(), false),
            Purpose::Refresh => (parsed.direction(), self.local_hold),
        };
        let mut offer = parsed.with_direction(dir);
        if self.drop_video {
            offer = offer.without_video();
        }
        offer.bump_version();
        let sdp = offer.to_string();
        let mut invite = self.in_dialog(io, Method::Invite)?;
        invite
            .headers
            .push(make_header("Contact", io.local.contact()));
        invite
            .headers
            .push(make_header("Content-Type", "application/sdp".into()));
        invite.body = sdp.as_bytes().to_vec();
        if let Some(t) = self.session_timer {
            invite.headers.push(make_header(
                "Session-Expires",
                format!("{};refresher=uac", t.interval),
            ));
        }
        let cseq = codec::cseq(&invite).map_or(0, |(n, _)| n);
        self.reinvite = Some(ReInvite { hold, sdp, cseq });
        self.send(io, CallTx::ReInvite, invite);
        Ok(())
    }

    /// Answers a 401/407 to one of the call's requests once per fresh
    /// challenge; a rejected credential ends what the request was for.
    fn retry_challenged(&mut self, io: &mut Io<'_>, tx: CallTx, response: &Response) {
        let Some(original) = self
            .last_sent
            .iter()
            .find(|(t, _)| *t == tx)
            .map(|(_, r)| r.clone())
        else {
            return;
        };
        if self
            .digest
            .handle_challenges(&codec::challenge::challenges(response))
            .is_err()
        {
            let code = response.status_code.code();
            match tx {
                CallTx::Invite => self.finish_invite(
                    io,
                    EndReason::Rejected {
                        code,
                        reason: reason_phrase(response),
                    },
                ),
                CallTx::ReInvite => {
                    if let Some(p) = self.reinvite.take() {
                        self.reinvite_refused(io, p.hold, code);
                    }
                }
                CallTx::Refer => {
                    self.refer_pending = false;
                    io.emit(Event::TransferProgress {
                        call: self.handle,
                        code,
                        done: true,
                    });
                }
                CallTx::Bye if self.is_ended() => self.finish_by = None,
                _ => {}
            }
            return;
        }
        let cseq = match (tx, self.dialog.as_mut()) {
            (CallTx::Invite, _) | (_, None) => {
                codec::cseq(&original).map_or(1, |(n, _)| n.saturating_add(1))
            }
            (_, Some(d)) => {
                d.local_cseq = d.local_cseq.saturating_add(1);
                d.local_cseq
            }
        };
        let method = original.method.to_string();
        let uri = original.uri.to_string();
        let auth = self
            .digest
            .authorize(io.credentials, &method, &uri, &original.body, io.random);
        let retry = retry_with_credentials(&original, cseq, auth, io.local, io.random);
        if tx == CallTx::Invite {
            self.invite = retry.clone();
            self.provisional_seen = false;
        }
        if tx == CallTx::ReInvite {
            if let Some(p) = self.reinvite.as_mut() {
                p.cseq = cseq;
            }
        }
        self.send(io, tx, retry);
    }

    fn uas_response(&self, io: &mut Io<'_>, code: u16) -> Response {
        let mut r = response_to(&self.invite, code, Some(&self.local_tag));
        if (101..300).contains(&code) {
            // RFC 3261 §12.1.1: the proxies that asked to stay in the path
            // (Record-Route) learn of it through the dialog-creating response.
            for h in self.invite.headers.iter() {
                if matches!(h, rsip::Header::RecordRoute(_)) {
                    r.headers.push(h.clone());
                }
            }
            r.headers.push(make_header("Contact", io.local.contact()));
            r.headers
                .push(make_header("Allow", crate::engine::ALLOW.into()));
            r.headers
                .push(make_header("Supported", "replaces, timer".into()));
        }
        r
    }

    fn report_update(&mut self, io: &mut Io<'_>) {
        if let CallState::Connected { .. } = self.state {
            self.state = CallState::Connected {
                local_hold: self.local_hold,
                remote_hold: self.remote_hold,
            };
            io.emit(Event::CallUpdated {
                call: self.handle,
                sdp: self.remote_sdp.clone(),
                local_hold: self.local_hold,
                remote_hold: self.remote_hold,
                video: self.video(),
            });
        }
    }
}

/// RFC 3261 §9.1: CANCEL copies the INVITE's Request-URI, Call-ID, From,
/// To, Route, top Via (same branch) and CSeq number.
pub(crate) fn cancel_of(invite: &Request) -> Request {
    let mut headers = rsip::Headers::default();
    if let Some(via) = invite
        .headers
        .iter()
        .find(|h| matches!(h, rsip::Header::Via(_)))
    {
        headers.push(via.clone());
    }
    for h in invite.headers.iter() {
        if matches!(
            h,
            rsip::Header::From(_)
                | rsip::Header::To(_)
                | rsip::Header::CallId(_)
                | rsip::Header::Route(_)
                | rsip::Header::MaxForwards(_)
        ) {
            headers.push(h.clone());
        }
    }
    let seq = codec::cseq(invite).map_or(1, |(n, _)| n);
    headers.push(make_header("CSeq", format!("{seq} CANCEL")));
    Request {
        method: Method::Cancel,
        uri: invite.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// The session timer a 2xx to our (re-)INVITE sets (RFC 4028 §7.2):
/// `refresher=uac` (or none given) makes us the refresher.
fn uac_session_timer(now: Instant, ok: &Response) -> Option<SessionTimer> {
    let se = codec::headers::typed::<SessionExpires, _>(ok)?.ok()?;
    let we_refresh = se.refresher != Some(Refresher::Uas);
    Some(SessionTimer::new(now, se.delta, we_refresh))
}

/// Our side of a session timer the peer's (re-)INVITE asked for (RFC 4028
/// §9): we echo Session-Expires in the 2xx, leaving the refreshing to a
/// peer that supports timers unless it asked us to.
fn uas_session_timer(now: Instant, request: &Request, ok: &mut Response) -> Option<SessionTimer> {
    let se = codec::headers::typed::<SessionExpires, _>(request)?.ok()?;
    let peer_supports = codec::headers(request, "Supported")
        .iter()
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("timer"));
    let refresher = match se.refresher {
        Some(r) => r,
        None if peer_supports => Refresher::Uac,
        None => Refresher::Uas,
    };
    let interval = se.delta.max(MIN_SE);
    let name = if refresher == Refresher::Uac {
        "uac"
    } else {
        "uas"
    };
    ok.headers.push(make_header(
        "Session-Expires",
        format!("{interval};refresher={name}"),
    ));
    if peer_supports {
        ok.headers.push(make_header("Require", "timer".into()));
    }
    Some(SessionTimer::new(
        now,
        interval,
        refresher == Refresher::Uas,
    ))
}

/// `1002` → `sip:1002@domain`; a full `sip:`/`sips:`/`tel:` URI stays.
pub fn normalize_target(target: &str, domain: &str) -> String {
    let t = target.trim().trim_start_matches('<').trim_end_matches('>');
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("sip:") || lower.starts_with("sips:") || lower.starts_with("tel:") {
        t.to_string()
    } else if t.contains('@') {
        format!("sip:{t}")
    } else {
        let user: String = t
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '(' | ')' | '.'))
            .collect();
        format!("sip:{user}@{domain}")
    }
}

/// The SDP of a request or response, if it carries one.
fn sdp_body(msg: &impl SipBody) -> Option<String> {
    if codec::content_type(msg.message())?.as_str() != "application/sdp" {
        return None;
    }
    let body = String::from_utf8_lossy(msg.body_bytes()).to_string();
    (!body.trim().is_empty()).then_some(body)
}

/// Requests and responses both have headers and a body; rsip has no common
/// trait for the body.
trait SipBody {
    fn message(&self) -> &dyn rsip::message::HasHeaders;
    fn body_bytes(&self) -> &[u8];
}

impl SipBody for Request {
    fn message(&self) -> &dyn rsip::message::HasHeaders {
        self
    }
    fn body_bytes(&self) -> &[u8] {
        &self.body
    }
}

impl SipBody for Response {
    fn message(&self) -> &dyn rsip::message::HasHeaders {
        self
    }
    fn body_bytes(&self) -> &[u8] {
        &self.body
    }
}

/// The stricter of two directions (what both allow).
fn intersect(a: Direction, b: Direction) -> Direction {
    let send = matches!(a, Direction::SendRecv | Direction::SendOnly)
        && matches!(b, Direction::SendRecv | Direction::SendOnly);
    let recv = matches!(a, Direction::SendRecv | Direction::RecvOnly)
        && matches!(b, Direction::SendRecv | Direction::RecvOnly);
    match (send, recv) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

#[cfg(test)]
mod tests {
    //! Call ladders. Most run two engines back to back (`Pair`), so every
    //! message one sends is parsed and handled by the other exactly as it
    //! would be behind a proxy; `ladder` records the arrows for assertions.
    use super::*;
    use crate::engine::test_support::*;
    use crate::engine::{Event, UaConfig, UserAgent};
    use rsip::SipMessage;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n";
    const ANSWER: &str = "v=0\r\no=- 7 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n";

    struct Pair {
        a: UserAgent,
        b: UserAgent,
        now: Instant,
        ladder: Vec<String>,
        /// Messages A→B to drop (by first line prefix), to play lost paths.
        drop_to_b: Vec<&'static str>,
    }

    fn first_line(text: &str) -> String {
        let line = text.lines().next().unwrap_or_default();
        // "INVITE sip:... SIP/2.0" → "INVITE"; "SIP/2.0 180 Ringing" → "180"
        match line.strip_prefix("SIP/2.0 ") {
            Some(rest) => rest.split(' ').next().unwrap_or_default().to_string(),
            None => line.split(' ').next().unwrap_or_default().to_string(),
        }
    }

    impl Pair {
        fn new() -> Pair {
            let now = at_secs(0);
            let mut a = UserAgent::new(UaConfig::new("1001", "pbx.test", "pass1001"), 1);
            let mut b = UserAgent::new(UaConfig::new("1002", "pbx.test", "pass1002"), 2);
            a.handle_connected(now);
            b.handle_connected(now);
            Pair {
                a,
                b,
                now,
                ladder: Vec::new(),
                drop_to_b: Vec::new(),
            }
        }

        /// Delivers everything queued, both ways, until both are quiet.
        fn pump(&mut self) {
            loop {
                let mut moved = false;
                while let Some(t) = self.a.poll_transmit() {
                    moved = true;
                    let arrow = format!("A→B {}", first_line(&t.text));
                    if self.drop_to_b.iter().any(|d| arrow.ends_with(d)) {
                        self.ladder.push(format!("{arrow} (lost)"));
                        continue;
                    }
                    self.ladder.push(arrow);
                    self.b
                        .handle_transport(self.now, t.text.as_bytes())
                        .unwrap();
                }
                while let Some(t) = self.b.poll_transmit() {
                    moved = true;
                    self.ladder.push(format!("B→A {}", first_line(&t.text)));
                    self.a
                        .handle_transport(self.now, t.text.as_bytes())
                        .unwrap();
                }
                if !moved {
                    break;
                }
            }
        }

        fn take_ladder(&mut self) -> Vec<String> {
            std::mem::take(&mut self.ladder)
        }

        fn advance(&mut self, secs: u64) {
            self.now = self.now + Duration::from_secs(secs);
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
            self.pump();
        }

        fn incoming_handle(&mut self) -> CallHandle {
            events(&mut self.b)
                .into_iter()
                .find_map(|e| match e {
                    Event::IncomingCall { call, .. } => Some(call),
                    _ => None,
                })
                .expect("B saw the call")
        }

        /// A calls B, B answers: both Connected.
        fn connected() -> (Pair, CallHandle, CallHandle) {
            Pair::connected_with(OFFER, ANSWER)
        }

        fn connected_with(offer: &str, answer: &str) -> (Pair, CallHandle, CallHandle) {
            let mut p = Pair::new();
            let ca = p.a.call(p.now, "1002", offer).unwrap();
            p.pump();
            let cb = p.incoming_handle();
            p.b.answer(p.now, cb, answer).unwrap();
            p.pump();
            events(&mut p.a);
            events(&mut p.b);
            p.take_ladder();
            (p, ca, cb)
        }
    }

    #[test]
    fn basic_call_invite_ringing_answer_ack_bye() {
        // A                     B
        // |--- INVITE (offer) -->|
        // |<-- 100 Trying -------|
        // |<-- 180 Ringing ------|
        // |<-- 200 OK (answer) --|   B answers
        // |--- ACK ------------->|
        // |--- BYE ------------->|   A hangs up
        // |<-- 200 OK -----------|
        let mut p = Pair::new();
        let ca = p.a.call(p.now, "1002", OFFER).unwrap();
        p.pump();
        assert_eq!(p.take_ladder(), ["A→B INVITE", "B→A 100", "B→A 180"]);
        let evs = events(&mut p.b);
        let cb = match &evs[..] {
            [Event::IncomingCall {
                call,
                sdp,
                from,
                replaces: None,
                ..
            }] => {
                assert_eq!(sdp.as_deref(), Some(OFFER));
                assert!(from.contains("sip:1001@pbx.test"));
                *call
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            events(&mut p.a),
            vec![Event::CallProgress {
                call: ca,
                code: 180,
                sdp: None
            }]
        );
        assert_eq!(p.a.call_state(ca), Some(CallState::Ringing));

        p.b.answer(p.now, cb, ANSWER).unwrap();
        p.pump();
        assert_eq!(p.take_ladder(), ["B→A 200", "A→B ACK"]);
        assert_eq!(
            events(&mut p.a),
            vec![Event::CallAnswered {
                call: ca,
                sdp: Some(ANSWER.into())
            }]
        );
        assert_eq!(
            events(&mut p.b),
            vec![Event::CallAnswered {
                call: cb,
                sdp: Some(OFFER.into())
            }]
        );

        p.a.hangup(p.now, ca).unwrap();
        p.pump();
        assert_eq!(p.take_ladder(), ["A→B BYE", "B→A 200"]);
        assert_eq!(ended(&events(&mut p.a), ca), [EndReason::LocalHangup]);
        assert_eq!(ended(&events(&mut p.b), cb), [EndReason::RemoteHangup]);
        assert_eq!(p.a.calls().count(), 0);
        assert_eq!(p.b.calls().count(), 0);
        // The INVITE transactions linger in Accepted for Timer L/M (RFC
        // 6026) to absorb stray 2xx/INVITE copies, then go.
        p.advance(32);
        assert_eq!(p.a.transaction_count(), (0, 0));
        assert_eq!(p.b.transaction_count(), (0, 0));
    }

    #[test]
    fn a_call_may_ring_for_minutes_before_it_is_answered() {
        // Timer B only covers the silence before the first provisional.
        let mut p = Pair::new();
        let ca = p.a.call(p.now, "1002", OFFER).unwrap();
        p.pump();
        let cb = p.incoming_handle();
        for _ in 0..12 {
            p.advance(10);
        }
        assert_eq!(p.a.call_state(ca), Some(CallState::Ringing));
        p.b.answer(p.now, cb, ANSWER).unwrap();
        p.pump();
        assert!(matches!(
            p.a.call_state(ca),
            Some(CallState::Connected { .. })
        ));
    }

    #[test]
    fn reject_busy_here_is_acked_by_the_transaction() {
        let mut p = Pair::new();
        let ca = p.a.call(p.now, "1002", OFFER).unwrap();
        p.pump();
        let cb = p.incoming_handle();
        p.take_ladder();
        p.b.reject(p.now, cb, 486).unwrap();
        p.pump();
        assert_eq!(p.take_ladder(), ["B→A 486", "A→B ACK"]);
        assert_eq!(
            ended(&events(&mut p.a), ca),
            [EndReason::Rejected {
                code: 486,
                reason: "Busy Here".into()
            }]
        );
        assert_eq!(
            ended(&events(&mut p.b), cb),
            [EndReason::Declined { code: 486 }]
        );
        assert_eq!(p.b.transaction_count(), (0, 0));
    }

    #[test]
    fn caller_hangs_up_while_ringing_cancel_then_487() {
        // A                   B
        // |--- INVITE ------->|
        // |<-- 100, 180 ------|
        // |--- CANCEL ------->|   same branch as the INVITE
        // |<-- 200 (CANCEL) --|
        // |<-- 487 -----------|
        // |--- ACK ---------->|
        let mut p = Pair::new();
        let ca = p.a.call(p.now, "1002", OFFER).unwrap();
        p.pump();
        let cb = p.incoming_handle();
        p.take_ladder();
        p.a.hangup(p.now, ca).unwrap();
        // Reported at once: the user's intent is clear.
        assert_eq!(ended(&events(&mut p.a), ca), [EndReason::LocalHangup]);
        p.pump();
        assert_eq!(
            p.take_ladder(),
            ["A→B CANCEL", "B→A 200", "B→A 487", "A→B ACK"]
        );
        assert_eq!(ended(&events(&mut p.b), cb), [EndReason::Cancelled]);
        assert!(events(&mut p.a).is_empty(), "no second CallEnded");
        assert_eq!(p.a.calls().count(), 0);
        assert_eq!(p.a.transaction_count(), (0, 0));
        assert_eq!(p.b.transaction_count(), (0, 0));
    }

    #[test]
    fn hangup_before_any_provisional_waits_for_one_to_cancel() {
        // RFC 3261 §9.1: no CANCEL before a provisional response.
        let mut p = Pair::new();
        p.drop_to_b.push("INVITE");
        let ca = p.a.call(p.now, "1002", OFFER).unwrap();
        p.pump();
        p.a.hangup(p.now, ca).unwrap();
        p.pump();
        assert_eq!(p.take_ladder(), ["A→B INVITE (lost)"]);
        // Timer B ends the transaction and forgets the call.
        p.advance(32);
        assert_eq!(p.a.calls().count(), 0);
        assert_eq!(p.a.transaction_count(), (0, 0));
    }

    #[test]
    fn answer_crossing_our_cancel_is_acked_and_byed() {
        let mut p = Pair::new();
        let ca = p.a.call(p.now, "1002", OFFER).unwrap();
        p.pump();
        let cb = p.incoming_handle();
        p.take_ladder();
        // B answers and A hangs up "at the same time": A's CANCEL is on
        // the wire when the 200 arrives.
        p.b.answer(p.now, cb, ANSWER).unwrap();
        p.a.hangup(p.now, ca).unwrap();
        p.pump();
        let ladder = p.take_ladder();
        assert!(ladder.contains(&"A→B ACK".to_string()), "{ladder:?}");
        assert!(ladder.contains(&"A→B BYE".to_string()), "{ladder:?}");
        assert_eq!(ended(&events(&mut p.a), ca), [EndReason::LocalHangup]);
        assert_eq!(ended(&events(&mut p.b), cb), [EndReason::RemoteHangup]);
        assert_eq!(p.a.calls().count(), 0);
        assert_eq!(p.b.calls().count(), 0);
    }

    #[test]
    fn redirect_302_carries_the_chosen_contact() {
        let mut p = Pair::new();
        let ca = p.a.call(p.now, "1002", OFFER).unwrap();
        p.pump();
        let cb = p.incoming_handle();
        p.take_ladder();
        p.b.redirect(p.now, cb, "*97").unwrap();
        p.pump();
        // A                          B
        // |<-- 302 (Contact *97) ------|
        // |--- ACK ------------------->|
        // |--- INVITE sip:*97 (CSeq 2)>|  followed once
        // |<-- 100, 180 ---------------|
        // |<-- 302 (Contact *98) ------|
        // |--- ACK ------------------->|  not followed again
        assert_eq!(
            p.take_ladder(),
            ["B→A 302", "A→B ACK", "A→B INVITE", "B→A 100", "B→A 180"]
        );
        let b_events = events(&mut p.b);
        assert_eq!(
            ended(&b_events, cb),
            [EndReason::Forwarded {
                target: "sip:*97@pbx.test".into()
            }]
        );
        assert!(ended(&events(&mut p.a), ca).is_empty());
        assert_eq!(p.a.call_state(ca), Some(CallState::Ringing));
        let again = b_events
            .iter()
            .find_map(|e| match e {
                Event::IncomingCall { call, to, .. } => Some((*call, to.clone())),
                _ => None,
            })
            .expect("B saw the redirected INVITE");
        // RFC 3261 §8.1.3.4: To stays what the caller dialled.
        assert!(again.1.contains("1002"), "{}", again.1);
        let again = again.0;
        p.b.redirect(p.now, again, "*98").unwrap();
        p.pump();
        assert_eq!(p.take_ladder(), ["B→A 302", "A→B ACK"]);
        assert_eq!(
            ended(&events(&mut p.a), ca),
            [EndReason::Redirected {
                targets: vec!["sip:*98@pbx.test".into()]
            }]
        );
    }

    #[test]
    fn a_redirect_back_to_the_uri_just_tried_is_not_followed() {
        let mut p = Pair::new();
        let ca = p.a.call(p.now, "1002", OFFER).unwrap();
        p.pump();
        let cb = p.incoming_handle();
        p.take_ladder();
        p.b.redirect(p.now, cb, "1002").unwrap();
        p.pump();
        assert_eq!(p.take_ladder(), ["B→A 302", "A→B ACK"]);
        assert_eq!(
            ended(&events(&mut p.a), ca),
            [EndReason::Redirected {
                targets: vec!["sip:1002@pbx.test".into()]
            }]
        );
    }

    #[test]
    fn uas_retransmits_its_2xx_until_the_ack_and_byes_without_one() {
        // RFC 3261 §13.3.1.4: 200 at T1, 2T1, 4T1 ... capped at T2; no ACK
        // in 64·T1 → BYE.
        let mut p = Pair::new();
        p.drop_to_b.push("ACK");
        let ca = p.a.call(p.now, "1002", OFFER).unwrap();
        p.pump();
        let cb = p.incoming_handle();
        p.b.answer(p.now, cb, ANSWER).unwrap();
        p.pump();
        p.take_ladder();
        p.advance(1);
        // At t=1 s: retransmissions due at 0.5 s (and the A side re-ACKs).
        assert_eq!(p.take_ladder(), ["B→A 200", "A→B ACK (lost)"]);
        for _ in 0..31 {
            p.advance(1);
        }
        let ladder = p.take_ladder();
        assert!(
            ladder.iter().filter(|l| *l == "B→A 200").count() >= 8,
            "{ladder:?}"
        );
        assert!(ladder.contains(&"B→A BYE".to_string()), "{ladder:?}");
        assert!(ended(&events(&mut p.b), cb).contains(&EndReason::Timeout));
        assert!(ended(&events(&mut p.a), ca).contains(&EndReason::RemoteHangup));
    }

    #[test]
    fn hold_and_resume_by_reinvite_with_direction() {
        // A                         B
        // |--- INVITE (sendonly) --->|
        // |<-- 200 (recvonly) -------|
        // |--- ACK ----------------->|
        let (mut p, ca, cb) = Pair::connected();
        p.a.hold(p.now, ca).unwrap();
        p.pump();
        assert_eq!(
            p.take_ladder(),
            ["A→B INVITE", "B→A 100", "B→A 200", "A→B ACK"]
        );
        let a_events = events(&mut p.a);
        match &a_events[..] {
            [Event::CallUpdated {
                call,
                sdp: Some(sdp),
                local_hold: true,
                remote_hold: false,
                video: false,
            }] => {
                assert_eq!(*call, ca);
                assert!(sdp.contains("a=recvonly"), "{sdp}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            &events(&mut p.b)[..],
            [Event::CallUpdated {
                local_hold: false,
                remote_hold: true,
                ..
            }]
        ));
        assert_eq!(
            p.b.call_state(cb),
            Some(CallState::Connected {
                local_hold: false,
                remote_hold: true
            })
        );
        p.a.resume(p.now, ca).unwrap();
        p.pump();
        assert_eq!(
            p.a.call_state(ca),
            Some(CallState::Connected {
                local_hold: false,
                remote_hold: false
            })
        );
        assert_eq!(
            p.b.call_state(cb),
            Some(CallState::Connected {
                local_hold: false,
                remote_hold: false
            })
        );
    }

    #[test]
    fn resume_asked_during_the_hold_reinvite_follows_it() {
        // A                         B
        // |--- INVITE (sendonly) --->|   user: hold
        //                                user: resume (queued, one offer at a time)
        // |<-- 200 (recvonly) -------|
        // |--- ACK ----------------->|
        // |--- INVITE (sendrecv) --->|
        // |<-- 200 (sendrecv) -------|
        // |--- ACK ----------------->|
        let (mut p, ca, cb) = Pair::connected();
        p.a.hold(p.now, ca).unwrap();
        p.a.resume(p.now, ca).unwrap();
        p.pump();
        assert_eq!(
            p.take_ladder(),
            [
                "A→B INVITE",
                "B→A 100",
                "B→A 200",
                "A→B ACK",
                "A→B INVITE",
                "B→A 100",
                "B→A 200",
                "A→B ACK"
            ]
        );
        // Only the state the user asked for last is reported.
        assert!(matches!(
            &events(&mut p.a)[..],
            [Event::CallUpdated {
                local_hold: false,
                ..
            }]
        ));
        for (ua, call) in [(&p.a, ca), (&p.b, cb)] {
            assert_eq!(
                ua.call_state(call),
                Some(CallState::Connected {
                    local_hold: false,
                    remote_hold: false
                })
            );
        }
    }

    #[test]
    fn hold_asked_twice_during_a_reinvite_sends_nothing_more() {
        let (mut p, ca, _) = Pair::connected();
        p.a.hold(p.now, ca).unwrap();
        p.a.resume(p.now, ca).unwrap();
        p.a.hold(p.now, ca).unwrap();
        p.pump();
        assert_eq!(
            p.take_ladder(),
            ["A→B INVITE", "B→A 100", "B→A 200", "A→B ACK"]
        );
        assert!(matches!(
            &events(&mut p.a)[..],
            [Event::CallUpdated {
                local_hold: true,
                ..
            }]
        ));
    }

    const VIDEO_OFFER: &str =
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n";
    const VIDEO_ANSWER: &str =
        "v=0\r\no=- 7 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n";

    /// The `video` flag of every CallUpdated, in order.
    fn updated_video(events: &[Event]) -> Vec<bool> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::CallUpdated { video, .. } => Some(*video),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn switch_to_audio_reinvite_disables_video_and_the_call_goes_on() {
        // A                                      B
        // |--- INVITE (audio, video port 0) ---->|   user: switch to audio
        // |<-- 200 (audio, video port 0) --------|
        // |--- ACK ----------------------------->|
        // Both report the call without video; audio stays sendrecv.
        let (mut p, ca, cb) = Pair::connected_with(VIDEO_OFFER, VIDEO_ANSWER);
        assert!(p.a.call_has_video(ca) && p.b.call_has_video(cb));
        p.a.stop_video(p.now, ca).unwrap();
        let offer = p.a.poll_transmit().expect("the re-INVITE");
        assert!(offer.text.starts_with("INVITE "), "{}", offer.text);
        assert!(
            offer.text.contains("m=video 0 UDP/TLS/RTP/SAVPF 96\r\n"),
            "{}",
            offer.text
        );
        assert!(
            offer.text.contains("a=group:BUNDLE 0\r\n"),
            "{}",
            offer.text
        );
        assert!(offer.text.contains("m=audio 9 "), "{}", offer.text);
        p.b.handle_transport(p.now, offer.text.as_bytes()).unwrap();
        p.pump();
        assert_eq!(p.take_ladder(), ["B→A 100", "B→A 200", "A→B ACK"]);
        let (ea, eb) = (events(&mut p.a), events(&mut p.b));
        assert_eq!(updated_video(&ea), [false]);
        assert_eq!(updated_video(&eb), [false]);
        match &ea[..] {
            [Event::CallUpdated {
                sdp: Some(answer),
                local_hold: false,
                remote_hold: false,
                ..
            }] => {
                assert!(answer.contains("m=video 0 "), "{answer}");
                assert!(answer.contains("a=sendrecv"), "{answer}");
            }
            other => panic!("{other:?}"),
        }
        assert!(!p.a.call_has_video(ca) && !p.b.call_has_video(cb));
        // Later offers (hold) keep video off and the call up.
        p.a.hold(p.now, ca).unwrap();
        let hold = p.a.poll_transmit().expect("hold re-INVITE");
        assert!(hold.text.contains("m=video 0 "), "{}", hold.text);
        p.b.handle_transport(p.now, hold.text.as_bytes()).unwrap();
        p.pump();
        assert_eq!(updated_video(&events(&mut p.a)), [false]);
        assert!(matches!(
            p.b.call_state(cb),
            Some(CallState::Connected {
                remote_hold: true,
                ..
            })
        ));
        // Asking again changes nothing.
        p.take_ladder();
        p.a.stop_video(p.now, ca).unwrap();
        p.pump();
        assert!(p.take_ladder().is_empty());
    }

    #[test]
    fn the_peer_switching_to_audio_is_answered_with_video_disabled() {
        // B drops video; A (the engine under test as answerer of a
        // re-INVITE) answers port 0 for video as RFC 3264 §8.2 requires.
        let (mut p, ca, cb) = Pair::connected_with(VIDEO_OFFER, VIDEO_ANSWER);
        p.b.stop_video(p.now, cb).unwrap();
        p.pump();
        assert_eq!(
            p.take_ladder(),
            ["B→A INVITE", "A→B 100", "A→B 200", "B→A ACK"]
        );
        let ea = events(&mut p.a);
        assert_eq!(updated_video(&ea), [false]);
        assert_eq!(updated_video(&events(&mut p.b)), [false]);
        assert!(!p.a.call_has_video(ca));
    }

    #[test]
    fn switch_to_audio_during_a_hold_reinvite_follows_it() {
        // One offer at a time (RFC 3261 §14.1): the switch waits for the
        // hold's 2xx, then goes out as its own re-INVITE.
        let (mut p, ca, cb) = Pair::connected_with(VIDEO_OFFER, VIDEO_ANSWER);
        p.a.hold(p.now, ca).unwrap();
        p.a.stop_video(p.now, ca).unwrap();
        p.pump();
        assert_eq!(
            p.take_ladder(),
            [
                "A→B INVITE",
                "B→A 100",
                "B→A 200",
                "A→B ACK",
                "A→B INVITE",
                "B→A 100",
                "B→A 200",
                "A→B ACK"
            ]
        );
        assert_eq!(updated_video(&events(&mut p.a)), [false]);
        assert!(!p.b.call_has_video(cb));
        assert!(matches!(
            p.a.call_state(ca),
            Some(CallState::Connected {
                local_hold: true,
                ..
            })
        ));
    }

    #[test]
    fn a_reoffer_that_adds_video_is_answered_with_video_disabled() {
        // A has an audio call; B's next offer (here its hold) carries a
        // video stream A never had. RFC 3264 §6: the answer has as many
        // m= lines as the offer, so A answers the new one with port 0.
        let (mut p, ca, cb) = Pair::connected_with(OFFER, VIDEO_ANSWER);
        p.b.hold(p.now, cb).unwrap();
        p.pump();
        assert_eq!(
            p.take_ladder(),
            ["B→A INVITE", "A→B 100", "A→B 200", "B→A ACK"]
        );
        match &events(&mut p.b)[..] {
            [Event::CallUpdated {
                sdp: Some(answer),
                local_hold: true,
                video: false,
                ..
            }] => {
                let answer = Sdp::parse(answer).unwrap();
                assert_eq!(answer.media.len(), 2);
                assert_eq!(answer.media[1].kind, crate::sdp::MediaKind::Video);
                assert_eq!(answer.media[1].port, 0);
                assert_eq!(answer.direction(), Direction::RecvOnly);
            }
            other => panic!("{other:?}"),
        }
        assert!(!p.a.call_has_video(ca));
    }

    #[test]
    fn a_video_offer_answered_audio_only_is_an_audio_call() {
        // B answers with video port 0: A's later offers keep it disabled
        // instead of offering video again.
        let audio_only = Sdp::parse(VIDEO_ANSWER)
            .unwrap()
            .without_video()
            .to_string();
        let (mut p, ca, cb) = Pair::connected_with(VIDEO_OFFER, &audio_only);
        assert!(!p.a.call_has_video(ca) && !p.b.call_has_video(cb));
        p.a.hold(p.now, ca).unwrap();
        let hold = p.a.poll_transmit().expect("hold re-INVITE");
        assert!(hold.text.contains("m=video 0 "), "{}", hold.text);
        assert!(p.a.stop_video(p.now, ca).is_ok());
    }

    #[test]
    fn glare_491_then_retry_after_the_rfc_timer() {
        // Both re-INVITE at once: each answers the other's with 491. A owns
        // the Call-ID and waits 2.1–4 s; B waits 0–2 s and goes first.
        let (mut p, ca, cb) = Pair::connected();
        p.a.hold(p.now, ca).unwrap();
        p.b.hold(p.now, cb).unwrap();
        p.pump();
        let ladder = p.take_ladder();
        assert_eq!(
            ladder.iter().filter(|l| l.ends_with("491")).count(),
            2,
            "{ladder:?}"
        );
        for _ in 0..5 {
            p.advance(1);
        }
        assert_eq!(
            p.a.call_state(ca),
            Some(CallState::Connected {
                local_hold: true,
                remote_hold: true
            })
        );
        assert_eq!(
            p.b.call_state(cb),
            Some(CallState::Connected {
                local_hold: true,
                remote_hold: true
            })
        );
        let ladder = p.take_ladder();
        // B's retry came first.
        let first = ladder.iter().position(|l| l == "B→A INVITE");
        let second = ladder.iter().position(|l| l == "A→B INVITE");
        assert!(first < second, "{ladder:?}");
    }

    #[test]
    fn dtmf_by_info_dtmf_relay() {
        let (mut p, ca, cb) = Pair::connected();
        p.a.send_dtmf(p.now, ca, '5', 160).unwrap();
        p.pump();
        assert_eq!(p.take_ladder(), ["A→B INFO", "B→A 200"]);
        assert_eq!(
            events(&mut p.b),
            vec![Event::Dtmf {
                call: cb,
                digit: '5',
                duration_ms: 160
            }]
        );
        assert_eq!(p.a.send_dtmf(p.now, ca, 'x', 160), Err(CallError::BadDigit));
    }

    #[test]
    fn blind_transfer_refer_202_notify_progress_then_bye() {
        // A (transferor)           B (transferee)
        // |--- REFER Refer-To: C -->|
        // |<-- 202 -----------------|
        // |<-- NOTIFY 100 Trying ---|
        // |--- 200 ---------------->|
        //      B calls C (here: a third UA, played by the same Pair's A? no —
        //      we let B's new call fail and then succeed via events)
        let (mut p, ca, cb) = Pair::connected();
        p.a.transfer_blind(p.now, ca, "1003").unwrap();
        p.pump();
        assert_eq!(
            p.take_ladder(),
            ["A→B REFER", "B→A 202", "B→A NOTIFY", "A→B 200"]
        );
        let (target, replaces) = match &events(&mut p.b)[..] {
            [Event::TransferRequested {
                call,
                target,
                replaces,
                referred_by,
            }] => {
                assert_eq!(*call, cb);
                assert!(referred_by.as_deref().unwrap_or_default().contains("1001"));
                (target.clone(), replaces.clone())
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(target, "sip:1003@pbx.test");
        assert_eq!(
            events(&mut p.a),
            vec![Event::TransferProgress {
                call: ca,
                code: 100,
                done: false
            }]
        );
        // B places the new call; it goes to A here (a direct pipe), which
        // plays the transfer target and answers.
        let new =
            p.b.accept_transfer(p.now, cb, &target, replaces.as_ref(), OFFER)
                .unwrap();
        p.pump();
        let target_call = events(&mut p.a)
            .into_iter()
            .find_map(|e| match e {
                Event::IncomingCall { call, .. } => Some(call),
                _ => None,
            })
            .unwrap();
        p.a.answer(p.now, target_call, ANSWER).unwrap();
        p.pump();
        let ladder = p.take_ladder();
        assert!(ladder.contains(&"B→A NOTIFY".to_string()), "{ladder:?}");
        let a_events = events(&mut p.a);
        assert!(
            a_events.contains(&Event::TransferProgress {
                call: ca,
                code: 200,
                done: true
            }),
            "{a_events:?}"
        );
        assert_eq!(ended(&a_events, ca), [EndReason::Transferred]);
        let b_events = events(&mut p.b);
        assert_eq!(ended(&b_events, cb), [EndReason::RemoteHangup]);
        assert!(b_events.contains(&Event::CallAnswered {
            call: new,
            sdp: Some(ANSWER.into())
        }));
    }

    #[test]
    fn attended_transfer_refer_to_carries_replaces_of_the_consultation_call() {
        // A talks to B (call 1) and to B again on a consultation (call 2);
        // REFER on call 1 names call 2's dialog in Refer-To?Replaces=.
        let (mut p, ca1, _cb1) = Pair::connected();
        let ca2 = p.a.call(p.now, "1002", OFFER).unwrap();
        p.pump();
        let cb2 = p.incoming_handle();
        p.b.answer(p.now, cb2, ANSWER).unwrap();
        p.pump();
        events(&mut p.a);
        p.take_ladder();
        p.a.transfer_attended(p.now, ca1, ca2).unwrap();
        p.pump();
        let requested: Vec<Event> = events(&mut p.b)
            .into_iter()
            .filter(|e| matches!(e, Event::TransferRequested { .. }))
            .collect();
        match &requested[..] {
            [Event::TransferRequested {
                replaces: Some(r), ..
            }] => {
                // From B's side call 2 has local tag = r.to_tag.
                assert!(!r.call_id.is_empty());
                assert!(!r.early_only);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invite_with_replaces_takes_over_the_named_call() {
        // B has call 1 with A. A new INVITE (from A) with Replaces naming
        // call 1 rings at B; answering it BYEs call 1.
        let (mut p, ca1, cb1) = Pair::connected();
        let replaces = {
            let call = p.b.call_ref(cb1).unwrap();
            call.replaces_for_peer().unwrap()
        };
        // From A's point of view: to-tag is B's tag, from-tag A's.
        let r = Replaces {
            call_id: replaces.call_id.clone(),
            to_tag: replaces.from_tag.clone(),
            from_tag: replaces.to_tag.clone(),
            early_only: false,
        };
        let ca2 = p.a.accept_transfer_for_test(&r);
        p.pump();
        let (cb2, replaced) = events(&mut p.b)
            .into_iter()
            .find_map(|e| match e {
                Event::IncomingCall { call, replaces, .. } => Some((call, replaces)),
                _ => None,
            })
            .unwrap();
        assert_eq!(replaced, Some(cb1));
        p.b.answer(p.now, cb2, ANSWER).unwrap();
        p.pump();
        assert_eq!(ended(&events(&mut p.b), cb1), [EndReason::Replaced]);
        assert_eq!(ended(&events(&mut p.a), ca1), [EndReason::RemoteHangup]);
        assert!(matches!(
            p.a.call_state(ca2),
            Some(CallState::Connected { .. })
        ));
    }

    #[test]
    fn invite_with_replaces_for_an_unknown_dialog_is_481() {
        let mut p = Pair::new();
        let r = Replaces {
            call_id: "nope".into(),
            to_tag: "x".into(),
            from_tag: "y".into(),
            early_only: false,
        };
        let ca = p.a.accept_transfer_for_test(&r);
        p.pump();
        assert_eq!(
            p.take_ladder(),
            ["A→B INVITE", "B→A 100", "B→A 481", "A→B ACK"]
        );
        assert!(matches!(
            &ended(&events(&mut p.a), ca)[..],
            [EndReason::Rejected { code: 481, .. }]
        ));
    }

    /// A request from the far end (`tag=far1`, as `reply` answers) inside
    /// the dialog our `invite` opened.
    fn far_request(
        invite: &Request,
        method: &str,
        cseq: u32,
        extra: &[&str],
        body: &str,
    ) -> Vec<u8> {
        let mut lines = vec![
            format!("{method} {} SIP/2.0", invite_contact(invite)),
            format!("Via: SIP/2.0/WSS pbx.test;branch=z9hG4bKfar{cseq}{method}"),
            format!(
                "From: {};tag=far1",
                header(invite, "To").unwrap_or_default()
            ),
            format!("To: {}", header(invite, "From").unwrap_or_default()),
            format!("Call-ID: {}", codec::call_id(invite).unwrap_or_default()),
            format!("CSeq: {cseq} {method}"),
            "Contact: <sip:far@192.0.2.9;transport=ws>".into(),
            "Max-Forwards: 70".into(),
        ];
        lines.extend(extra.iter().map(|l| l.to_string()));
        lines.push(format!("Content-Length: {}", body.len()));
        format!("{}\r\n\r\n{body}", lines.join("\r\n")).into_bytes()
    }

    fn invite_contact(invite: &Request) -> String {
        let contact = header(invite, "Contact").unwrap_or_default();
        contact.trim_matches(['<', '>']).to_string()
    }

    fn status_codes(msgs: &[SipMessage]) -> Vec<u16> {
        msgs.iter()
            .filter_map(|m| match m {
                SipMessage::Response(r) => Some(r.status_code.code()),
                SipMessage::Request(_) => None,
            })
            .collect()
    }

    #[test]
    fn requests_in_the_early_dialog_of_our_invite_are_answered() {
        // A (us)                         PBX
        // |--- INVITE (offer) ------------>|
        // |<-- 180 Ringing (To tag far1) --|
        // |<-- UPDATE (no SDP) ------------|  connected-line update
        // |--- 200 OK (Contact) ---------->|
        // |<-- UPDATE (SDP offer) ---------|
        // |--- 491 (our offer pending) --->|
        // |<-- INFO dtmf-relay ------------|
        // |--- 200 OK -------------------->|  Dtmf event
        // |<-- INFO (old CSeq) ------------|
        // |--- 500 ----------------------->|
        // |<-- 200 OK (INVITE) ------------|
        // |--- ACK ----------------------->|  the early dialog is the call's
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        sent(&mut ua);
        let call = ua.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut ua).pop().expect("INVITE");
        ua.handle_transport(now, &reply(&invite, 180, &[])).unwrap();
        events(&mut ua);

        let update = far_request(
            &invite,
            "UPDATE",
            10,
            &["P-Asserted-Identity: <sip:1003@pbx.test>"],
            "",
        );
        ua.handle_transport(now, &update).unwrap();
        let out = sent(&mut ua);
        assert_eq!(status_codes(&out), [200]);
        let SipMessage::Response(ok) = &out[0] else {
            panic!("a response")
        };
        assert!(codec::header(ok, "Contact").is_some(), "{ok}");

        let offer = far_request(
            &invite,
            "UPDATE",
            11,
            &["Content-Type: application/sdp"],
            ANSWER,
        );
        ua.handle_transport(now, &offer).unwrap();
        assert_eq!(status_codes(&sent(&mut ua)), [491]);

        let info = far_request(
            &invite,
            "INFO",
            12,
            &["Content-Type: application/dtmf-relay"],
            "Signal=5\r\nDuration=160\r\n",
        );
        ua.handle_transport(now, &info).unwrap();
        assert_eq!(status_codes(&sent(&mut ua)), [200]);
        assert!(events(&mut ua)
            .iter()
            .any(|e| matches!(e, Event::Dtmf { call: c, digit: '5', .. } if *c == call)));

        let stale = far_request(&invite, "INFO", 9, &[], "");
        ua.handle_transport(now, &stale).unwrap();
        assert_eq!(status_codes(&sent(&mut ua)), [500]);

        let answer = reply(
            &invite,
            200,
            &[("Contact", "<sip:far@192.0.2.9;transport=ws>")],
        );
        ua.handle_transport(now, &answer).unwrap();
        let acks = sent_requests(&mut ua);
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].method, Method::Ack);
        assert!(matches!(
            ua.call_state(call),
            Some(CallState::Connected { .. })
        ));
        // The early dialog's CSeq carried over into the confirmed one.
        let late = far_request(&invite, "INFO", 12, &[], "");
        ua.handle_transport(now, &late).unwrap();
        assert_eq!(status_codes(&sent(&mut ua)), [500]);
    }

    #[test]
    fn a_request_in_an_early_dialog_we_never_saw_is_481() {
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        sent(&mut ua);
        ua.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut ua).pop().expect("INVITE");
        // No 18x with that To tag arrived: there is no early dialog yet.
        ua.handle_transport(now, &far_request(&invite, "UPDATE", 1, &[], ""))
            .unwrap();
        assert_eq!(status_codes(&sent(&mut ua)), [481]);
    }

    #[test]
    fn in_dialog_request_for_an_unknown_dialog_is_481() {
        let (mut p, ca, _cb) = Pair::connected();
        // B forgets everything (a restart): A's BYE finds no dialog.
        p.b = UserAgent::new(UaConfig::new("1002", "pbx.test", "x"), 9);
        p.b.handle_connected(p.now);
        p.a.hangup(p.now, ca).unwrap();
        p.pump();
        assert_eq!(p.take_ladder(), ["A→B BYE", "B→A 481"]);
    }

    #[test]
    fn transport_loss_keeps_a_confirmed_call_until_the_recovery_limit() {
        // The ladders of the way back are in `recovery`.
        let (mut p, ca, _cb) = Pair::connected();
        p.a.handle_disconnected(p.now);
        assert!(ended(&events(&mut p.a), ca).is_empty());
        assert_eq!(p.a.transaction_count(), (0, 0));
        p.a.handle_timeout(p.now + RECOVERY_LIMIT);
        assert_eq!(ended(&events(&mut p.a), ca), [EndReason::TransportError]);
        p.a.handle_timeout(p.now + RECOVERY_LIMIT + BYE_OWED_LIMIT);
        assert_eq!(p.a.calls().count(), 0);
    }

    #[test]
    fn challenged_invite_is_resent_once_with_proxy_credentials() {
        // A           Proxy
        // |-- INVITE -->|
        // |<-- 407 -----|
        // |-- INVITE (Proxy-Authorization, CSeq 2) -->|
        // |<-- 407 -----|   same realm again: wrong password, give up
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let ca = a.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut a).remove(0);
        let challenge = r#"Digest realm="pbx.test", nonce="x1", qop="auth""#;
        a.handle_transport(
            now,
            &reply(&invite, 407, &[("Proxy-Authenticate", challenge)]),
        )
        .unwrap();
        let sent = sent(&mut a);
        assert_eq!(sent.len(), 2, "ACK of the 407, then the new INVITE");
        let SipMessage::Request(retry) = &sent[1] else {
            panic!()
        };
        assert_eq!(retry.method, Method::Invite);
        assert_eq!(codec::cseq(retry).unwrap().0, 2);
        assert!(header(retry, "Proxy-Authorization")
            .unwrap()
            .contains("uri=\"sip:1002@pbx.test\""));
        assert_eq!(codec::from_tag(retry), codec::from_tag(&invite));
        a.handle_transport(
            now,
            &reply(retry, 407, &[("Proxy-Authenticate", challenge)]),
        )
        .unwrap();
        assert!(matches!(
            &ended(&events(&mut a), ca)[..],
            [EndReason::Rejected { code: 407, .. }]
        ));
    }

    #[test]
    fn a_bye_challenged_after_hangup_is_resent_with_credentials() {
        // A                       Proxy / B
        // |-- INVITE ---------------->|
        // |<-- 407 (nonce x1) --------|
        // |-- INVITE (auth, CSeq 2) ->|
        // |<-- 200 -------------------|
        // |-- ACK ------------------->|
        // |-- BYE (CSeq 3) ---------->|   hangup: Ended at once for the user
        // |<-- 407 (nonce x2) --------|   same realm, fresh nonce
        // |-- BYE (auth, CSeq 4) ---->|
        // |<-- 200 -------------------|   only now is the call forgotten
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let ca = a.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut a).remove(0);
        let first = r#"Digest realm="pbx.test", nonce="x1", qop="auth""#;
        a.handle_transport(now, &reply(&invite, 407, &[("Proxy-Authenticate", first)]))
            .unwrap();
        let retry = sent_requests(&mut a).pop().unwrap();
        a.handle_transport(
            now,
            &reply(&retry, 200, &[("Contact", "<sip:b@b.invalid>")]),
        )
        .unwrap();
        sent_requests(&mut a);
        events(&mut a);

        a.hangup(now, ca).unwrap();
        assert_eq!(ended(&events(&mut a), ca), [EndReason::LocalHangup]);
        let bye = sent_requests(&mut a).pop().unwrap();
        assert_eq!((bye.method, codec::cseq(&bye).unwrap().0), (Method::Bye, 3));
        let second = r#"Digest realm="pbx.test", nonce="x2", qop="auth""#;
        a.handle_transport(now, &reply(&bye, 407, &[("Proxy-Authenticate", second)]))
            .unwrap();
        let authed = sent_requests(&mut a).pop().expect("the BYE again");
        assert_eq!(authed.method, Method::Bye);
        assert_eq!(codec::cseq(&authed).unwrap().0, 4);
        assert_eq!(codec::call_id(&authed), codec::call_id(&bye));
        assert!(header(&authed, "Proxy-Authorization").is_some_and(|h| h.contains("nonce=\"x2\"")));
        assert_eq!(a.calls().count(), 1, "kept until the BYE is answered");
        a.handle_transport(now, &reply(&authed, 200, &[])).unwrap();
        assert_eq!(a.calls().count(), 0);
        assert!(events(&mut a).is_empty(), "ended once, not twice");
    }

    #[test]
    fn a_bye_challenged_again_or_never_answered_lets_the_call_go() {
        // |-- BYE -->| |<-- 407 --| |-- BYE (auth) -->| |<-- 407 --|  give up
        // |-- BYE -->| ... silence for 64·T1 ...                      give up
        let (mut p, ca, _) = Pair::connected();
        p.drop_to_b.push("BYE");
        p.a.hangup(p.now, ca).unwrap();
        let bye = sent_requests(&mut p.a).pop().unwrap();
        let challenge = r#"Digest realm="pbx.test", nonce="y1", qop="auth""#;
        p.a.handle_transport(
            p.now,
            &reply(&bye, 407, &[("Proxy-Authenticate", challenge)]),
        )
        .unwrap();
        let authed = sent_requests(&mut p.a).pop().unwrap();
        p.a.handle_transport(
            p.now,
            &reply(&authed, 407, &[("Proxy-Authenticate", challenge)]),
        )
        .unwrap();
        assert!(sent_requests(&mut p.a).is_empty(), "no third BYE");
        assert_eq!(p.a.calls().count(), 0);

        let (mut p, ca, _) = Pair::connected();
        p.drop_to_b.push("BYE");
        p.a.hangup(p.now, ca).unwrap();
        p.pump();
        assert_eq!(p.a.calls().count(), 1);
        p.advance(33);
        assert_eq!(p.a.calls().count(), 0);
        assert_eq!(p.a.transaction_count().0, 0);
    }

    /// Plays the proxy's side of a challenged, redirected call up to the
    /// redirected INVITE's challenge: returns that INVITE's authorized retry.
    fn challenged_then_redirected(a: &mut UserAgent, now: Instant) -> (Request, Request) {
        let invite = sent_requests(a).remove(0);
        let first = r#"Digest realm="pbx.test", nonce="n1", qop="auth""#;
        a.handle_transport(now, &reply(&invite, 407, &[("Proxy-Authenticate", first)]))
            .unwrap();
        let authed = sent_requests(a).pop().expect("INVITE with credentials");
        assert_eq!(codec::cseq(&authed).unwrap().0, 2);
        assert!(header(&authed, "Proxy-Authorization").is_some());
        a.handle_transport(
            now,
            &reply(&authed, 302, &[("Contact", "<sip:1003@127.0.0.1>")]),
        )
        .unwrap();
        let redirected = sent_requests(a).pop().expect("INVITE to the contact");
        assert_eq!(redirected.method, Method::Invite);
        assert_eq!(redirected.uri.to_string(), "sip:1003@127.0.0.1");
        assert_eq!(codec::cseq(&redirected).unwrap().0, 3);
        assert!(header(&redirected, "Proxy-Authorization").is_none());
        let second = r#"Digest realm="pbx.test", nonce="n2", qop="auth""#;
        a.handle_transport(
            now,
            &reply(&redirected, 407, &[("Proxy-Authenticate", second)]),
        )
        .unwrap();
        let retry = sent_requests(a)
            .pop()
            .expect("redirected INVITE with credentials");
        assert_eq!(retry.method, Method::Invite);
        assert_eq!(retry.uri.to_string(), "sip:1003@127.0.0.1");
        assert_eq!(codec::cseq(&retry).unwrap().0, 4);
        let auth = header(&retry, "Proxy-Authorization").expect("credentials");
        assert!(auth.contains("nonce=\"n2\""));
        assert!(auth.contains("uri=\"sip:1003@127.0.0.1\""));
        assert_eq!(codec::call_id(&retry), codec::call_id(&invite));
        assert_eq!(codec::from_tag(&retry), codec::from_tag(&invite));
        (redirected, retry)
    }

    #[test]
    fn redirected_invite_is_challenged_and_authorized_like_a_fresh_one() {
        // A                         Proxy (Kamailio)
        // |-- INVITE 1002 (CSeq 1) ----->|
        // |<-- 407 ----------------------|
        // |-- INVITE 1002 (auth, CSeq 2)->|
        // |<-- 302 Contact: 1003 --------|   callee sends to voicemail
        // |-- INVITE 1003 (CSeq 3) ----->|
        // |<-- 407 ----------------------|   fresh challenge: answer it once
        // |-- INVITE 1003 (auth, CSeq 4)->|
        // |<-- 180 ----------------------|
        // |<-- 200 ----------------------|
        // |-- ACK ---------------------->|
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let ca = a.call(now, "1002", OFFER).unwrap();
        let (_, retry) = challenged_then_redirected(&mut a, now);
        a.handle_transport(now, &reply(&retry, 180, &[])).unwrap();
        assert!(events(&mut a)
            .iter()
            .any(|e| matches!(e, Event::CallProgress { call, code: 180, .. } if *call == ca)));
        a.handle_transport(
            now,
            &reply(
                &retry,
                200,
                &[("Contact", "<sip:1003@127.0.0.1;transport=ws>")],
            ),
        )
        .unwrap();
        let acks = sent_requests(&mut a);
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].method, Method::Ack);
        assert_eq!(codec::cseq(&acks[0]).unwrap().0, 4);
        assert!(matches!(
            a.call_state(ca),
            Some(CallState::Connected { .. })
        ));
    }

    #[test]
    fn a_reinvite_answers_its_own_challenge_after_the_invite_was_challenged() {
        // A                         Proxy (Kamailio)
        // |-- INVITE (CSeq 1) --------->|
        // |<-- 407 (realm pbx.test) ----|
        // |-- INVITE (auth, CSeq 2) --->|
        // |<-- 200 / ACK ---------------|
        // |-- re-INVITE hold ---------->|
        // |<-- 407 (same realm, n2) ----|   a new request: answer it once
        // |-- re-INVITE (auth) -------->|
        // |<-- 200 / ACK ---------------|
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let ca = a.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut a).remove(0);
        let challenge =
            |nonce: &str| format!(r#"Digest realm="pbx.test", nonce="{nonce}", qop="auth""#);
        a.handle_transport(
            now,
            &reply(&invite, 407, &[("Proxy-Authenticate", &challenge("n1"))]),
        )
        .unwrap();
        let authed = sent_requests(&mut a)
            .pop()
            .expect("INVITE with credentials");
        a.handle_transport(
            now,
            &reply(
                &authed,
                200,
                &[("Contact", "<sip:1002@127.0.0.1;transport=ws>")],
            ),
        )
        .unwrap();
        sent_requests(&mut a);
        a.hold(now, ca).unwrap();
        let reinvite = sent_requests(&mut a).pop().expect("re-INVITE");
        a.handle_transport(
            now,
            &reply(&reinvite, 407, &[("Proxy-Authenticate", &challenge("n2"))]),
        )
        .unwrap();
        let reinvite_authed = sent_requests(&mut a)
            .pop()
            .expect("re-INVITE with credentials");
        assert_eq!(reinvite_authed.method, Method::Invite);
        assert!(header(&reinvite_authed, "Proxy-Authorization")
            .is_some_and(|h| h.contains("nonce=\"n2\"")));
        a.handle_transport(
            now,
            &reply(
                &reinvite_authed,
                200,
                &[("Contact", "<sip:1002@127.0.0.1;transport=ws>")],
            ),
        )
        .unwrap();
        sent_requests(&mut a);
        assert!(!events(&mut a)
            .iter()
            .any(|e| matches!(e, Event::CallUpdateFailed { .. })));
    }

    #[test]
    fn redirected_invite_challenged_twice_ends_the_call_never_loops() {
        // ... |-- INVITE 1003 (auth, CSeq 4)->|
        //     |<-- 407 (same realm) ---------|   wrong password: give up
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let ca = a.call(now, "1002", OFFER).unwrap();
        let (_, retry) = challenged_then_redirected(&mut a, now);
        let again = r#"Digest realm="pbx.test", nonce="n3", qop="auth""#;
        a.handle_transport(now, &reply(&retry, 407, &[("Proxy-Authenticate", again)]))
            .unwrap();
        assert!(sent_requests(&mut a)
            .iter()
            .all(|r| r.method == Method::Ack));
        assert!(matches!(
            &ended(&events(&mut a), ca)[..],
            [EndReason::Rejected { code: 407, .. }]
        ));
    }

    #[test]
    fn forked_invite_second_2xx_is_acked_and_byed() {
        // A        Proxy        B1   B2
        // |-INVITE->|----------->|--->|
        // |<-180 (tag b1)--------|    |
        // |<-180 (tag b2)-------------|
        // |<-200 (tag b1)--------|
        // |-ACK b1-------------->|
        // |<-200 (tag b2)-------------|
        // |-ACK b2, BYE b2------------>|
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let ca = a.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut a).remove(0);
        let fork = |tag: &str, code: u16| {
            let mut r = response_to(&invite, code, Some(tag));
            r.headers
                .push(make_header("Contact", format!("<sip:{tag}@192.0.2.1>")));
            if code == 200 {
                r.headers
                    .push(make_header("Content-Type", "application/sdp".into()));
                r.body = ANSWER.as_bytes().to_vec();
            }
            codec::serialize(&SipMessage::Response(r)).into_bytes()
        };
        a.handle_transport(now, &fork("b1", 180)).unwrap();
        a.handle_transport(now, &fork("b2", 180)).unwrap();
        a.handle_transport(now, &fork("b1", 200)).unwrap();
        let acks = sent_requests(&mut a);
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].uri.to_string(), "sip:b1@192.0.2.1");
        a.handle_transport(now, &fork("b2", 200)).unwrap();
        let out = sent_requests(&mut a);
        let methods: Vec<_> = out
            .iter()
            .map(|r| (r.method.to_string(), r.uri.to_string()))
            .collect();
        assert_eq!(
            methods,
            [
                ("ACK".to_string(), "sip:b2@192.0.2.1".to_string()),
                ("BYE".to_string(), "sip:b2@192.0.2.1".to_string())
            ]
        );
        let evs = events(&mut a);
        assert_eq!(
            evs.iter()
                .filter(|e| matches!(e, Event::CallAnswered { .. }))
                .count(),
            1
        );
        assert!(matches!(
            a.call_state(ca),
            Some(CallState::Connected { .. })
        ));
    }

    #[test]
    fn uas_copies_record_route_into_its_dialog_creating_responses() {
        // Proxy              UA (callee)
        //  |--- INVITE, Record-Route: <sip:proxy;lr> -->|
        //  |<-- 180 with the same Record-Route ---------|
        //  |<-- 200 with the same Record-Route ---------|
        let now = at_secs(0);
        let mut b = connected_ua(now);
        let invite = "INVITE sip:b@b.invalid SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKrr1\r\n\
            Record-Route: <sip:127.0.0.1;transport=ws;lr>\r\nFrom: <sip:1003@pbx.test>;tag=a1\r\n\
            To: <sip:1001@pbx.test>\r\nCall-ID: rr1\r\nCSeq: 1 INVITE\r\nContact: <sip:a@a.invalid;transport=ws>\r\n\
            Content-Type: application/sdp\r\nContent-Length: 0\r\n\r\n";
        b.handle_transport(now, invite.as_bytes()).unwrap();
        let call = events(&mut b)
            .into_iter()
            .find_map(|e| match e {
                Event::IncomingCall { call, .. } => Some(call),
                _ => None,
            })
            .unwrap();
        b.answer(now, call, ANSWER).unwrap();
        let responses: Vec<_> = sent(&mut b)
            .into_iter()
            .filter_map(|m| match m {
                SipMessage::Response(r) if r.status_code.code() > 100 => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(responses.len(), 2);
        for r in &responses {
            assert_eq!(
                codec::header(r, "Record-Route"),
                Some("<sip:127.0.0.1;transport=ws;lr>")
            );
        }
    }

    #[test]
    fn an_invite_requiring_an_unsupported_extension_gets_420() {
        // RFC 3261 §8.2.2.3: Require: 100rel, which we do not implement.
        let now = at_secs(0);
        let mut b = connected_ua(now);
        let invite = "INVITE sip:b@b.invalid SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKreq\r\n\
            From: <sip:1003@pbx.test>;tag=a1\r\nTo: <sip:1001@pbx.test>\r\nCall-ID: req1\r\n\
            CSeq: 1 INVITE\r\nContact: <sip:a@a.invalid;transport=ws>\r\nRequire: 100rel, replaces\r\n\
            Content-Length: 0\r\n\r\n";
        b.handle_transport(now, invite.as_bytes()).unwrap();
        let out = sent(&mut b);
        let last = match out.last() {
            Some(SipMessage::Response(r)) => r.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(last.status_code.code(), 420);
        assert_eq!(codec::header(&last, "Unsupported"), Some("100rel"));
        assert!(
            events(&mut b).is_empty(),
            "no IncomingCall for a refused INVITE"
        );
    }

    /// A's 200 to our INVITE with the given extra headers, as wire bytes.
    fn ok_with(invite: &Request, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut r = response_to(invite, 200, Some("peer"));
        r.headers
            .push(make_header("Contact", "<sip:peer@192.0.2.5>".into()));
        for (n, v) in headers {
            r.headers.push(make_header(n, (*v).to_string()));
        }
        r.headers
            .push(make_header("Content-Type", "application/sdp".into()));
        r.body = ANSWER.as_bytes().to_vec();
        codec::serialize(&SipMessage::Response(r)).into_bytes()
    }

    #[test]
    fn session_timer_refresher_uac_re_invites_at_half_time() {
        // UA                         Proxy/peer
        // |--- INVITE (Supported: timer) -->|
        // |<-- 200 Session-Expires: 120;refresher=uac
        // |--- ACK ----------------------->|
        // ... 60 s
        // |--- INVITE (same SDP, o= version+1, Session-Expires: 120;refresher=uac)
        let now = at_secs(0);
        let mut a = connected_ua(now);
        let call = a.call(now, "1002", OFFER).unwrap();
        let invite = sent_requests(&mut a).remove(0);
        assert!(header(&invite, "Supported").unwrap().contains("timer"));
        a.handle_transport(
            now,
            &ok_with(&invite, &[("Session-Expires", "120;refresher=uac")]),
        )
        .unwrap();
        sent(&mut a);
        a.handle_timeout(at_secs(59));
        assert!(sent_requests(&mut a)
            .iter()
            .all(|r| r.method != Method::Invite));
        a.handle_timeout(at_secs(60));
        let refresh = sent_requests(&mut a)
            .into_iter()
            .find(|r| r.method == Method::Invite)
            .expect("session refresh");
        assert_eq!(
            header(&refresh, "Session-Expires"),
            Some("120;refresher=uac")
        );
        let body = String::from_utf8_lossy(&refresh.body).to_string();
        assert!(
            body.contains("o=- 1 2 IN IP4") && body.contains("a=sendrecv"),
            "{body}"
        );
        a.handle_transport(
            at_secs(60),
            &ok_with(&refresh, &[("Session-Expires", "120;refresher=uac")]),
        )
        .unwrap();
        assert!(matches!(
            a.call_state(call),
            Some(CallState::Connected {
                local_hold: false,
                ..
            })
        ));
    }

    #[test]
    fn session_timer_without_refresh_from_the_peer_ends_the_call() {
        // Peer                        UA
        // |--- INVITE Session-Expires: 120, Supported: timer -->|
        // |<-- 200 Session-Expires: 120;refresher=uac, Require: timer
        // ... no refresh for 120 − 32 s
        // |<-- BYE --------------------------------------------|
        let now = at_secs(0);
        let mut b = connected_ua(now);
        let invite =
            "INVITE sip:b@b.invalid SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKse1\r\n\
            From: <sip:1003@pbx.test>;tag=a1\r\nTo: <sip:1001@pbx.test>\r\nCall-ID: se1\r\n\
            CSeq: 1 INVITE\r\nContact: <sip:a@a.invalid;transport=ws>\r\nSupported: timer\r\n\
            Session-Expires: 120\r\nContent-Length: 0\r\n\r\n";
        b.handle_transport(now, invite.as_bytes()).unwrap();
        let call = events(&mut b)
            .into_iter()
            .find_map(|e| match e {
                Event::IncomingCall { call, .. } => Some(call),
                _ => None,
            })
            .unwrap();
        sent(&mut b);
        b.answer(now, call, ANSWER).unwrap();
        let ok = match sent(&mut b).pop() {
            Some(SipMessage::Response(r)) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            codec::header(&ok, "Session-Expires"),
            Some("120;refresher=uac")
        );
        assert_eq!(codec::header(&ok, "Require"), Some("timer"));
        let ack = "ACK sip:b@b.invalid SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKse2\r\n\
            From: <sip:1003@pbx.test>;tag=a1\r\nTo: <sip:1001@pbx.test>;tag=TAG\r\nCall-ID: se1\r\n\
            CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
            .replace("TAG", &codec::to_tag(&ok).unwrap());
        b.handle_transport(now, ack.as_bytes()).unwrap();
        b.handle_timeout(at_secs(87));
        assert!(sent_requests(&mut b)
            .iter()
            .all(|r| r.method != Method::Bye));
        b.handle_timeout(at_secs(88));
        assert!(sent_requests(&mut b)
            .iter()
            .any(|r| r.method == Method::Bye));
        assert!(ended(&events(&mut b), call).contains(&EndReason::Timeout));
    }

    #[test]
    fn targets_are_normalized_to_sip_uris() {
        assert_eq!(normalize_target("1002", "pbx.test"), "sip:1002@pbx.test");
        assert_eq!(
            normalize_target(" 555-12 34 ", "pbx.test"),
            "sip:5551234@pbx.test"
        );
        assert_eq!(
            normalize_target("bob@example.com", "pbx.test"),
            "sip:bob@example.com"
        );
        assert_eq!(normalize_target("<sips:x@y>", "pbx.test"), "sips:x@y");
    }

    impl UserAgent {
        /// An INVITE with Replaces, as a transferee would send it.
        fn accept_transfer_for_test(&mut self, r: &Replaces) -> CallHandle {
            let now = at_secs(0);
            self.place_call(now, "1002", OFFER, vec![("Replaces".into(), r.to_string())])
                .unwrap()
        }
    }
}
