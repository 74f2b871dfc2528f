//! The worker's call policy, sans-IO: turns the popup's commands and the
//! engine's call events into engine calls, media requests for the offscreen
//! document, notifications, the call window, the badge and history entries.
//!
//! A call exists here before the engine knows it: an outgoing call needs the
//! offscreen document's SDP offer before the INVITE can go out, an incoming
//! one needs its answer SDP before the 200. So calls are keyed by our own
//! [`CallId`] and mapped to the engine's [`CallHandle`] once there is one.

use std::collections::VecDeque;
use std::time::Duration;

use crate::call::{CallError, CallHandle, EndReason};
use crate::codec::headers::Replaces;
use crate::engine::{Event, UserAgent};
use crate::history::{CallResult, History, HistoryEntry, HistoryKind};
use crate::phone::{normalize_dial, DialRules};
use crate::protocol::calls::{
    valid_dtmf, CallDirection, CallEnd, CallId, CallPhase, CallSettings, CallView, MediaReply,
    MediaRequest, Tone, MAX_CALLS,
};
use crate::protocol::{ErrorCode, Reply, Request};
use crate::sdp::Sdp;
use crate::time::Instant;

mod restore;
pub use restore::RESTORE_KEY;

/// How long an ended call stays in the snapshot, so the UI can say why.
pub const ENDED_LINGER: Duration = Duration::from_secs(5);
/// DTMF tone length for SIP INFO.
const DTMF_MS: u32 = 160;
/// Most calls on hold at once (the issue's limit).
const MAX_HELD: usize = 6;

/// What the glue must do for calls, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum CallAction {
    /// Send to the offscreen document (create it first if it is gone) and
    /// report its reply with [`Calls::handle_media_reply`] via the supervisor.
    Media(MediaRequest),
    /// `chrome.notifications.create("call-<id>")`, requireInteraction, buttons
    /// Answer / Decline.
    ShowIncoming {
        call: CallId,
        number: String,
        name: Option<String>,
        /// A video call: the title says so and the Answer button answers
        /// audio only (the camera goes on from the call window alone).
        video: bool,
    },
    /// Clear the incoming-call notification of `call`.
    ClearIncoming {
        call: CallId,
    },
    /// Open `call.html?call=<id>` in a small popup window.
    OpenCallWindow {
        call: CallId,
    },
    CloseCallWindow {
        call: CallId,
    },
    /// A missed-call notification.
    ShowMissed {
        call: CallId,
        number: String,
        name: Option<String>,
    },
    /// Toolbar badge text (0: none).
    Badge {
        count: u32,
    },
    /// Persist the history JSON in chrome.storage.local (`history::STORAGE_KEY`).
    SaveHistory {
        json: String,
    },
    /// Store the established calls in chrome.storage.session ([`RESTORE_KEY`])
    /// for the next worker; give the JSON to [`Calls::load_restore`] there.
    SaveCalls {
        json: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    /// Waiting for the offscreen document's SDP.
    Pending,
    Ready,
}

#[derive(Debug, Clone)]
struct Call {
    view: CallView,
    handle: Option<CallHandle>,
    media: Media,
    /// Engine target of an outgoing call, kept until the offer arrives.
    target: String,
    /// The caller's offer of an incoming call.
    remote_offer: Option<String>,
    /// The remote answer was given to the offscreen document already.
    remote_applied: bool,
    ended_at: Option<Instant>,
    /// The engine already knows the call is over (no hangup needed).
    engine_done: bool,
    /// This call answers a REFER received on that call (RFC 3515).
    transfer_from: Option<(CallHandle, Option<Replaces>)>,
    /// Extra INVITE headers (function keys: pickup, intercom).
    extra_headers: Vec<(String, String)>,
    /// A call window was opened for this call (incoming, or video).
    window: bool,
}

pub struct Calls {
    calls: Vec<Call>,
    next_id: CallId,
    history: History,
    missed: u32,
    settings: CallSettings,
    rules: DialRules,
    /// Unix ms at `Instant` zero: history and the UI need wall-clock times.
    wall_offset_ms: f64,
    tone: Tone,
    actions: VecDeque<CallAction>,
    /// Calls a previous worker stored, waiting for the registration.
    pending_restore: Vec<(CallId, crate::call::CallSnapshot)>,
    /// INVITE transactions a previous worker left ringing, ended (480 or
    /// CANCEL) once registered.
    pending_orphans: Vec<crate::call::RingingSnapshot>,
    /// The last [`CallAction::SaveCalls`] JSON.
    persisted: Option<String>,
}

/// `"Bob" <sip:1002@host>;tag=x` → ("1002", Some("Bob")).
pub fn parse_party(name_addr: &str) -> (String, Option<String>) {
    let text = name_addr.trim();
    let (name, uri) = match (text.find('<'), text.find('>')) {
        (Some(open), Some(close)) if open < close => (
            text.get(..open).unwrap_or("").trim(),
            text.get(open + 1..close).unwrap_or(""),
        ),
        _ => ("", text.split(';').next().unwrap_or("")),
    };
    let name = name.trim_matches('"').trim();
    let name = (!name.is_empty()).then(|| name.replace("\\\"", "\""));
    let bare = uri
        .trim()
        .trim_start_matches("sips:")
        .trim_start_matches("sip:")
        .trim_start_matches("tel:");
    let number = match bare.split_once('@') {
        Some((user, _)) if !user.is_empty() => user.split(';').next().unwrap_or(user),
        _ => bare.split(';').next().unwrap_or(bare),
    };
    (number.to_owned(), name)
}

fn end_of(reason: &EndReason) -> (CallEnd, Option<u16>) {
    match reason {
        EndReason::LocalHangup => (CallEnd::HungUp, None),
        EndReason::RemoteHangup => (CallEnd::RemoteHungUp, None),
        EndReason::Cancelled => (CallEnd::Cancelled, None),
        EndReason::Rejected { code, .. } if matches!(code, 486 | 600) => {
            (CallEnd::Busy, Some(*code))
        }
        EndReason::Rejected { code, .. } => (CallEnd::Rejected, Some(*code)),
        EndReason::Declined { code } => (CallEnd::Declined, Some(*code)),
        EndReason::Redirected { .. } | EndReason::Forwarded { .. } => (CallEnd::Forwarded, None),
        EndReason::Replaced => (CallEnd::Replaced, None),
        EndReason::Transferred => (CallEnd::Transferred, None),
        EndReason::Timeout => (CallEnd::Timeout, None),
        EndReason::TransportError => (CallEnd::ConnectionLost, None),
    }
}

fn call_error(e: CallError) -> ErrorCode {
    match e {
        CallError::NoSuchCall => ErrorCode::NoSuchCall,
        CallError::InvalidState(_) | CallError::NoLocalSdp => ErrorCode::InvalidState,
        CallError::BadTarget(_) | CallError::BadDigit => ErrorCode::InvalidNumber,
        CallError::NotConnected => ErrorCode::NotRegistered,
    }
}

impl Calls {
    pub fn new() -> Self {
        Calls {
            calls: Vec::new(),
            next_id: 1,
            history: History::default(),
            missed: 0,
            settings: CallSettings::default(),
            rules: DialRules::default(),
            wall_offset_ms: 0.0,
            tone: Tone::None,
            actions: VecDeque::new(),
            pending_restore: Vec::new(),
            pending_orphans: Vec::new(),
            persisted: None,
        }
    }

    pub fn set_wall_offset(&mut self, unix_ms_at_zero: f64) {
        self.wall_offset_ms = unix_ms_at_zero;
    }

    pub fn set_settings(&mut self, settings: CallSettings) {
        self.settings = settings;
    }

    pub fn settings(&self) -> &CallSettings {
        &self.settings
    }

    pub fn set_dial_rules(&mut self, rules: DialRules) {
        self.rules = rules;
    }

    /// The stored history (worker start); an unreadable one is replaced.
    pub fn load_history(&mut self, json: &str) -> Option<String> {
        let (history, error) = History::from_json(json);
        self.history = history;
        error
    }

    pub fn set_missed(&mut self, missed: u32) {
        self.missed = missed;
    }

    pub fn missed(&self) -> u32 {
        self.missed
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn poll_action(&mut self) -> Option<CallAction> {
        self.actions.pop_front()
    }

    pub fn views(&self) -> Vec<CallView> {
        self.calls.iter().map(|c| c.view.clone()).collect()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls
            .iter()
            .filter_map(|c| c.ended_at.map(|t| t + ENDED_LINGER))
            .min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.calls
            .retain(|c| c.ended_at.is_none_or(|t| t + ENDED_LINGER > now));
    }

    fn wall(&self, now: Instant) -> f64 {
        self.wall_offset_ms + now.as_millis() as f64
    }

    fn live(&self) -> impl Iterator<Item = &Call> {
        self.calls.iter().filter(|c| c.ended_at.is_none())
    }

    fn find(&mut self, id: CallId) -> Result<&mut Call, ErrorCode> {
        self.calls
            .iter_mut()
            .find(|c| c.view.id == id && c.ended_at.is_none())
            .ok_or(ErrorCode::NoSuchCall)
    }

    fn handle_of(&mut self, id: CallId) -> Result<CallHandle, ErrorCode> {
        self.find(id)?.handle.ok_or(ErrorCode::InvalidState)
    }

    /// A call command from the popup / call window. `registered` gates new
    /// outgoing calls. Returns the reply for the sender.
    pub fn command(
        &mut self,
        ua: Option<&mut UserAgent>,
        registered: bool,
        now: Instant,
        request: Request,
    ) -> Reply {
        let Some(ua) = ua else {
            return Reply::error(ErrorCode::NotRegistered);
        };
        self.run(ua, registered, now, request)
            .unwrap_or_else(Reply::error)
    }

    fn run(
        &mut self,
        ua: &mut UserAgent,
        registered: bool,
        now: Instant,
        request: Request,
    ) -> Result<Reply, ErrorCode> {
        match request {
            Request::Dial { number, video } => self.dial(registered, now, &number, video),
            Request::Answer {
                call,
                end_others,
                video,
            } => self.answer(ua, now, call, end_others, video),
            Request::StopVideo { call } => {
                let handle = self.handle_of(call)?;
                if !self.find(call)?.view.video {
                    return Err(ErrorCode::InvalidState);
                }
                ua.stop_video(now, handle).map_err(call_error)?;
                Ok(Reply::Ok)
            }
            Request::Decline { call, busy } => {
                let handle = self.handle_of(call)?;
                let code = if busy { 486 } else { 603 };
                ua.reject(now, handle, code).map_err(call_error)?;
                Ok(Reply::Ok)
            }
            Request::Hangup { call } => {
                let c = self.find(call)?;
                match c.handle {
                    Some(handle) => ua.hangup(now, handle).map_err(call_error)?,
                    // Still waiting for the offer: nothing went out yet.
                    None => self.finish(now, call, CallEnd::HungUp, None),
                }
                Ok(Reply::Ok)
            }
            Request::Hold { call } => {
                let held = self
                    .live()
                    .filter(|c| c.view.state == CallPhase::Held)
                    .count();
                if held >= MAX_HELD {
                    return Err(ErrorCode::TooManyCalls);
                }
                self.hold(ua, now, call, true)
            }
            Request::Resume { call } => self.hold(ua, now, call, false),
            Request::Swap { call } => {
                let others: Vec<CallId> = self
                    .live()
                    .filter(|c| c.view.id != call && c.view.state == CallPhase::Active)
                    .map(|c| c.view.id)
                    .collect();
                self.find(call)?;
                for other in others {
                    self.hold(ua, now, other, true)?;
                }
                self.hold(ua, now, call, false)
            }
            Request::Mute { call, muted } => {
                let c = self.find(call)?;
                c.view.muted = muted;
                self.actions
                    .push_back(CallAction::Media(MediaRequest::MediaMute { call, muted }));
                Ok(Reply::Ok)
            }
            Request::Dtmf { call, digits } => {
                if !valid_dtmf(&digits) {
                    return Err(ErrorCode::InvalidNumber);
                }
                let handle = self.handle_of(call)?;
                if self.settings.dtmf_info {
                    for digit in digits.chars() {
                        ua.send_dtmf(now, handle, digit.to_ascii_uppercase(), DTMF_MS)
                            .map_err(call_error)?;
                    }
                } else {
                    self.actions
                        .push_back(CallAction::Media(MediaRequest::MediaDtmf { call, digits }));
                }
                Ok(Reply::Ok)
            }
            Request::TransferBlind { call, target } => {
                let target = self.normalize(&target)?;
                let handle = self.handle_of(call)?;
                ua.transfer_blind(now, handle, &target)
                    .map_err(call_error)?;
                Ok(Reply::Ok)
            }
            Request::TransferAttended { call, consult } => {
                let handle = self.handle_of(call)?;
                let other = self.handle_of(consult)?;
                ua.transfer_attended(now, handle, other)
                    .map_err(call_error)?;
                Ok(Reply::Ok)
            }
            Request::Park { call } => {
                let target = self
                    .settings
                    .park_target
                    .clone()
                    .ok_or(ErrorCode::NotConfigured)?;
                let handle = self.handle_of(call)?;
                ua.transfer_blind(now, handle, &target)
                    .map_err(call_error)?;
                Ok(Reply::Ok)
            }
            Request::SendToVoicemail { call } => {
                let target = self
                    .settings
                    .voicemail_target
                    .clone()
                    .ok_or(ErrorCode::NotConfigured)?;
                let handle = self.handle_of(call)?;
                ua.redirect(now, handle, &target).map_err(call_error)?;
                Ok(Reply::Ok)
            }
            Request::Merge { call, with } => {
                if call == with {
                    return Err(ErrorCode::InvalidState);
                }
                self.find(with)?;
                self.find(call)?;
                for id in [call, with] {
                    if self.find(id)?.view.state == CallPhase::Held {
                        self.hold(ua, now, id, false)?;
                    }
                }
                for (id, other) in [(call, with), (with, call)] {
                    self.find(id)?.view.merged_with = Some(other);
                }
                self.actions
                    .push_back(CallAction::Media(MediaRequest::MediaMerge {
                        calls: vec![call, with],
                    }));
                Ok(Reply::Ok)
            }
            Request::GetHistory { seen } => {
                if seen {
                    self.missed = 0;
                    self.actions.push_back(CallAction::Badge { count: 0 });
                }
                Ok(Reply::History {
                    entries: self.history.entries().to_vec(),
                })
            }
            Request::SetHistoryNote { id, note } => {
                self.history
                    .set_note(id, &note)
                    .map_err(|_| ErrorCode::NoSuchEntry)?;
                self.save_history();
                Ok(Reply::Ok)
            }
            Request::DeleteHistory { ids, all } => {
                if all {
                    self.history.clear();
                } else {
                    self.history.delete(&ids);
                }
                self.save_history();
                Ok(Reply::Ok)
            }
            _ => Err(ErrorCode::BadRequest),
        }
    }

    /// `dial` with extra INVITE headers, for function keys.
    pub fn dial_with_headers(
        &mut self,
        registered: bool,
        now: Instant,
        number: &str,
        headers: Vec<(String, String)>,
    ) -> Reply {
        match self.dial(registered, now, number, false) {
            Ok(Reply::Call { call }) => {
                if let Some(c) = self.calls.iter_mut().find(|c| c.view.id == call) {
                    c.extra_headers = headers;
                }
                Reply::Call { call }
            }
            Ok(other) => other,
            Err(code) => Reply::error(code),
        }
    }

    fn normalize(&self, number: &str) -> Result<String, ErrorCode> {
        let t = number.trim();
        if t.to_ascii_lowercase().starts_with("sip:") || (t.contains('@') && t.len() <= 256) {
            return Ok(t.to_owned());
        }
        normalize_dial(t, &self.rules).map_err(|_| ErrorCode::InvalidNumber)
    }

    fn dial(
        &mut self,
        registered: bool,
        now: Instant,
        number: &str,
        video: bool,
    ) -> Result<Reply, ErrorCode> {
        if !registered {
            return Err(ErrorCode::NotRegistered);
        }
        let target = self.normalize(number)?;
        if self.live().count() >= MAX_CALLS {
            return Err(ErrorCode::TooManyCalls);
        }
        let id = self.place(now, target, None, video);
        Ok(Reply::Call { call: id })
    }

    /// A new outgoing call: its INVITE waits for the offscreen document's offer.
    fn place(
        &mut self,
        now: Instant,
        target: String,
        transfer_from: Option<(CallHandle, Option<Replaces>)>,
        video: bool,
    ) -> CallId {
        let id = self.next_id;
        self.next_id += 1;
        let (shown, _) = parse_party(&target);
        self.calls.push(Call {
            view: CallView {
                id,
                direction: CallDirection::Outgoing,
                number: shown,
                name: None,
                state: CallPhase::Dialing,
                muted: false,
                remote_hold: false,
                reconnecting: false,
                waiting: false,
                started_at: self.wall(now),
                answered_at: None,
                end: None,
                status_code: None,
                merged_with: None,
                transfer_status: None,
                dtmf_received: String::new(),
                video,
            },
            handle: None,
            media: Media::Pending,
            target,
            remote_offer: None,
            remote_applied: false,
            ended_at: None,
            engine_done: false,
            transfer_from,
            extra_headers: Vec::new(),
            window: video,
        });
        self.actions
            .push_back(CallAction::Media(MediaRequest::MediaOffer {
                call: id,
                ice_servers: self.settings.ice_servers.clone(),
                ice_timeout_ms: self.settings.ice_timeout_ms,
                video,
            }));
        // Video shows in the call window, so a video call opens one.
        if video {
            self.actions
                .push_back(CallAction::OpenCallWindow { call: id });
        }
        id
    }

    fn answer(
        &mut self,
        ua: &mut UserAgent,
        now: Instant,
        call: CallId,
        end_others: bool,
        video: bool,
    ) -> Result<Reply, ErrorCode> {
        let c = self.find(call)?;
        if c.view.state != CallPhase::Ringing || c.media != Media::Pending {
            return Err(ErrorCode::InvalidState);
        }
        let Some(offer) = c.remote_offer.clone() else {
            // An offerless INVITE would need our offer in the 200 and the
            // peer's answer in the ACK; the engine does not offer that path.
            return Err(ErrorCode::InvalidState);
        };
        c.media = Media::Ready;
        let others: Vec<(CallId, Option<CallHandle>, CallPhase)> = self
            .live()
            .filter(|o| o.view.id != call)
            .map(|o| (o.view.id, o.handle, o.view.state))
            .collect();
        for (other, handle, state) in others {
            if end_others {
                if let Some(h) = handle {
                    let _ = ua.hangup(now, h);
                }
            } else if state == CallPhase::Active {
                let _ = self.hold(ua, now, other, true);
            }
        }
        self.actions.push_back(CallAction::ClearIncoming { call });
        self.set_tone();
        self.actions
            .push_back(CallAction::Media(MediaRequest::MediaAnswer {
                call,
                sdp: offer,
                ice_servers: self.settings.ice_servers.clone(),
                ice_timeout_ms: self.settings.ice_timeout_ms,
                video,
            }));
        Ok(Reply::Ok)
    }

    fn hold(
        &mut self,
        ua: &mut UserAgent,
        now: Instant,
        call: CallId,
        hold: bool,
    ) -> Result<Reply, ErrorCode> {
        let c = self.find(call)?;
        let handle = c.handle.ok_or(ErrorCode::InvalidState)?;
        let wanted = if hold {
            CallPhase::Active
        } else {
            CallPhase::Held
        };
        if c.view.state != wanted {
            return Err(ErrorCode::InvalidState);
        }
        if hold {
            ua.hold(now, handle).map_err(call_error)?;
        } else {
            ua.resume(now, handle).map_err(call_error)?;
        }
        let c = self.find(call)?;
        c.view.state = if hold {
            CallPhase::Held
        } else {
            CallPhase::Active
        };
        self.actions
            .push_back(CallAction::Media(MediaRequest::MediaHold { call, hold }));
        Ok(Reply::Ok)
    }

    /// The offscreen document answered `request` (or failed: `Err`).
    pub fn handle_media_reply(
        &mut self,
        ua: Option<&mut UserAgent>,
        now: Instant,
        request: &MediaRequest,
        reply: Result<MediaReply, String>,
    ) {
        let (call, answering) = match request {
            MediaRequest::MediaOffer { call, .. } => (*call, false),
            MediaRequest::MediaAnswer { call, .. } => (*call, true),
            MediaRequest::MediaDtmf { call, digits } => {
                // The connection could not send RFC 4733 events (no
                // telephone-event in the answer): SIP INFO instead.
                if !matches!(reply, Ok(MediaReply::MediaDtmf { sent: true })) {
                    if let (Some(ua), Ok(handle)) = (ua, self.handle_of(*call)) {
                        for digit in digits.chars() {
                            let _ = ua.send_dtmf(now, handle, digit.to_ascii_uppercase(), DTMF_MS);
                        }
                    }
                }
                return;
            }
            _ => return,
        };
        let Some(c) = self
            .calls
            .iter_mut()
            .find(|c| c.view.id == call && c.ended_at.is_none())
        else {
            // Hung up while the offer was being made: free the connection.
            self.actions
                .push_back(CallAction::Media(MediaRequest::MediaClose { call }));
            return;
        };
        let sdp = match reply {
            Ok(MediaReply::MediaSdp { call: id, sdp }) if id == call => sdp,
            _ => {
                if let Some(ua) = ua {
                    if let Some(h) = c.handle {
                        let _ = if answering {
                            ua.reject(now, h, 488)
                        } else {
                            ua.hangup(now, h)
                        };
                    }
                    if let Some((origin, _)) = &c.transfer_from {
                        let _ = ua.decline_transfer(now, *origin);
                    }
                }
                self.finish(now, call, CallEnd::MediaFailed, None);
                return;
            }
        };
        let Some(ua) = ua else {
            self.finish(now, call, CallEnd::ConnectionLost, None);
            return;
        };
        // What the document really offered or answered: no camera, or an
        // audio-only answer, makes it an audio call.
        c.view.video = c.view.video && Sdp::parse(&sdp).is_ok_and(|s| s.has_video());
        let result = if answering {
            match c.handle {
                Some(h) => ua.answer(now, h, &sdp),
                None => Err(CallError::NoSuchCall),
            }
        } else {
            c.media = Media::Ready;
            let target = c.target.clone();
            let placed = match &c.transfer_from {
                Some((origin, replaces)) => {
                    ua.accept_transfer(now, *origin, &target, replaces.as_ref(), &sdp)
                }
                None => ua.call_with_headers(now, &target, &sdp, c.extra_headers.clone()),
            };
            placed.map(|h| {
                c.handle = Some(h);
            })
        };
        if result.is_err() {
            self.finish(now, call, CallEnd::MediaFailed, None);
        }
    }

    /// An engine event; call events are consumed, others ignored.
    pub fn on_event(&mut self, now: Instant, event: &Event) {
        match event {
            Event::IncomingCall {
                call,
                from,
                sdp,
                replaces,
                ..
            } => self.incoming(now, *call, from, sdp, *replaces),
            Event::CallProgress { call, sdp, .. } => {
                if let Some(c) = self.by_handle(*call) {
                    if c.view.state == CallPhase::Dialing {
                        c.view.state = CallPhase::Early;
                    }
                    let id = c.view.id;
                    if let Some(sdp) = sdp.clone().filter(|_| !c.remote_applied) {
                        c.remote_applied = true;
                        self.actions
                            .push_back(CallAction::Media(MediaRequest::MediaRemote {
                                call: id,
                                sdp,
                            }));
                    }
                    self.set_tone();
                }
            }
            Event::CallAnswered { call, sdp } => {
                let wall = self.wall(now);
                if let Some(c) = self.by_handle(*call) {
                    c.view.state = CallPhase::Active;
                    c.view.answered_at = Some(wall);
                    let id = c.view.id;
                    let outgoing = c.view.direction == CallDirection::Outgoing;
                    // A video offer answered audio only (video port 0) is
                    // an audio call; the document's connection follows the
                    // answer by itself.
                    if outgoing {
                        c.view.video = c.view.video
                            && sdp
                                .as_deref()
                                .and_then(|s| Sdp::parse(s).ok())
                                .is_some_and(|s| s.has_video());
                    }
                    if let Some(sdp) = sdp.clone().filter(|_| outgoing && !c.remote_applied) {
                        c.remote_applied = true;
                        self.actions
                            .push_back(CallAction::Media(MediaRequest::MediaRemote {
                                call: id,
                                sdp,
                            }));
                    }
                    self.set_tone();
                }
            }
            Event::CallUpdated {
                call,
                local_hold,
                remote_hold,
                video,
                ..
            } => {
                if let Some(c) = self.by_handle(*call) {
                    // Either side switched to audio: the connection drops
                    // its video too (the engine answered or got port 0).
                    if c.view.video && !*video {
                        c.view.video = false;
                        let id = c.view.id;
                        self.actions
                            .push_back(CallAction::Media(MediaRequest::MediaVideoOff { call: id }));
                    }
                    let Some(c) = self.by_handle(*call) else {
                        return;
                    };
                    let changed = (c.view.remote_hold != *remote_hold).then_some(c.view.id);
                    c.view.remote_hold = *remote_hold;
                    if c.view.state == CallPhase::Active || c.view.state == CallPhase::Held {
                        c.view.state = if *local_hold {
                            CallPhase::Held
                        } else {
                            CallPhase::Active
                        };
                    }
                    if let Some(id) = changed {
                        self.actions
                            .push_back(CallAction::Media(MediaRequest::MediaRemoteHold {
                                call: id,
                                held: *remote_hold,
                            }));
                    }
                }
            }
            Event::CallUpdateFailed { call, .. } => {
                if let Some(c) = self.by_handle(*call) {
                    // The re-INVITE failed: the session is as it was before.
                    let (id, was_held) = (c.view.id, c.view.state == CallPhase::Held);
                    c.view.state = if was_held {
                        CallPhase::Active
                    } else {
                        CallPhase::Held
                    };
                    self.actions
                        .push_back(CallAction::Media(MediaRequest::MediaHold {
                            call: id,
                            hold: !was_held,
                        }));
                }
            }
            Event::CallReconnecting { call } | Event::CallReconnected { call } => {
                let waiting = matches!(event, Event::CallReconnecting { .. });
                if let Some(c) = self.by_handle(*call) {
                    c.view.reconnecting = waiting;
                }
            }
            Event::Dtmf { call, digit, .. } => {
                if let Some(c) = self.by_handle(*call) {
                    if c.view.dtmf_received.len() < 256 {
                        c.view.dtmf_received.push(*digit);
                    }
                }
            }
            // The peer transfers us (REFER): call the target with fresh
            // media; the engine reports progress to the referrer and the
            // referrer ends the old call once the new one is answered.
            Event::TransferRequested {
                call,
                target,
                replaces,
                ..
            } if self.live().any(|c| c.handle == Some(*call)) => {
                self.place(now, target.clone(), Some((*call, replaces.clone())), false);
            }
            Event::TransferProgress { call, code, .. } => {
                if let Some(c) = self.by_handle(*call) {
                    c.view.transfer_status = Some(*code);
                }
            }
            Event::CallEnded { call, reason } => {
                if let Some(c) = self.by_handle(*call) {
                    c.engine_done = true;
                    let id = c.view.id;
                    let (end, code) = end_of(reason);
                    self.finish(now, id, end, code);
                }
            }
            _ => {}
        }
    }

    fn by_handle(&mut self, handle: CallHandle) -> Option<&mut Call> {
        self.calls
            .iter_mut()
            .find(|c| c.handle == Some(handle) && c.ended_at.is_none())
    }

    fn incoming(
        &mut self,
        now: Instant,
        handle: CallHandle,
        from: &str,
        sdp: &Option<String>,
        replaces: Option<CallHandle>,
    ) {
        let (number, name) = parse_party(from);
        let id = self.next_id;
        self.next_id += 1;
        let waiting = self.live().next().is_some();
        self.calls.push(Call {
            view: CallView {
                id,
                direction: CallDirection::Incoming,
                number: number.clone(),
                name: name.clone(),
                state: CallPhase::Ringing,
                muted: false,
                remote_hold: false,
                reconnecting: false,
                waiting,
                started_at: self.wall(now),
                answered_at: None,
                end: None,
                status_code: None,
                merged_with: None,
                transfer_status: None,
                dtmf_received: String::new(),
                video: sdp
                    .as_deref()
                    .and_then(|s| Sdp::parse(s).ok())
                    .is_some_and(|s| s.has_video()),
            },
            handle: Some(handle),
            media: Media::Pending,
            target: String::new(),
            remote_offer: sdp.clone(),
            remote_applied: false,
            ended_at: None,
            engine_done: false,
            transfer_from: None,
            extra_headers: Vec::new(),
            window: false,
        });
        // An attended transfer's INVITE with Replaces takes the place of a
        // call we are in: it is answered at once, the user already agreed.
        if replaces.is_some_and(|r| self.live().any(|c| c.handle == Some(r))) {
            if let Some(c) = self.calls.last_mut() {
                c.media = Media::Ready;
                c.view.waiting = false;
            }
            self.actions
                .push_back(CallAction::Media(MediaRequest::MediaAnswer {
                    call: id,
                    sdp: sdp.clone().unwrap_or_default(),
                    ice_servers: self.settings.ice_servers.clone(),
                    ice_timeout_ms: self.settings.ice_timeout_ms,
                    video: false,
                }));
            return;
        }
        let video = self.calls.last().is_some_and(|c| c.view.video);
        self.actions.push_back(CallAction::ShowIncoming {
            call: id,
            number,
            name,
            video,
        });
        if let Some(c) = self.calls.last_mut() {
            c.window = true;
        }
        self.actions
            .push_back(CallAction::OpenCallWindow { call: id });
        self.set_tone();
    }

    /// Ring while something rings here; soft beeps if a call is up too;
    /// ringback while the far end rings and sends no early media of its own.
    fn set_tone(&mut self) {
        let ringing = self.live().any(|c| c.view.state == CallPhase::Ringing);
        let talking = self
            .live()
            .any(|c| matches!(c.view.state, CallPhase::Active | CallPhase::Held));
        let ringback = self
            .live()
            .any(|c| c.view.state == CallPhase::Early && !c.remote_applied);
        let tone = match (ringing, talking) {
            (true, false) => Tone::Ring,
            (true, true) => Tone::Waiting,
            _ if ringback => Tone::Ringback,
            _ => Tone::None,
        };
        if tone != self.tone {
            self.tone = tone;
            self.actions
                .push_back(CallAction::Media(MediaRequest::MediaTone { tone }));
        }
    }

    /// The auto-answer beep: a one-shot, so it does not become the current
    /// tone that `set_tone` replaces or stops.
    pub fn beep_auto_answer(&mut self) {
        self.actions
            .push_back(CallAction::Media(MediaRequest::MediaTone {
                tone: Tone::AutoAnswer,
            }));
    }

    fn finish(&mut self, now: Instant, id: CallId, end: CallEnd, code: Option<u16>) {
        let wall = self.wall(now);
        let Some(c) = self
            .calls
            .iter_mut()
            .find(|c| c.view.id == id && c.ended_at.is_none())
        else {
            return;
        };
        c.view.state = CallPhase::Ended;
        c.view.end = Some(end);
        c.view.status_code = code;
        c.ended_at = Some(now);
        let window = c.window;
        let view = c.view.clone();
        let answered = view.answered_at.is_some();
        let duration_s = view
            .answered_at
            .map(|at| ((wall - at).max(0.0) / 1000.0).round() as u64)
            .unwrap_or(0);
        let (kind, result) = match (view.direction, end) {
            (CallDirection::Outgoing, _) if answered => (
                HistoryKind::Outgoing,
                // As for an incoming call: a talk the network cut short.
                match end {
                    CallEnd::Transferred => CallResult::Transferred,
                    CallEnd::ConnectionLost => CallResult::ConnectionLost,
                    _ => CallResult::Answered,
                },
            ),
            (CallDirection::Outgoing, CallEnd::HungUp) => {
                (HistoryKind::Outgoing, CallResult::Cancelled)
            }
            (CallDirection::Outgoing, CallEnd::Busy) => (HistoryKind::Outgoing, CallResult::Busy),
            (CallDirection::Outgoing, CallEnd::Forwarded) => {
                (HistoryKind::Outgoing, CallResult::Forwarded)
            }
            (CallDirection::Outgoing, CallEnd::ConnectionLost) => {
                (HistoryKind::Outgoing, CallResult::ConnectionLost)
            }
            (CallDirection::Outgoing, _) => (HistoryKind::Outgoing, CallResult::Failed),
            (CallDirection::Incoming, _) if answered => (
                HistoryKind::Incoming,
                match end {
                    CallEnd::Transferred | CallEnd::Replaced => CallResult::Transferred,
                    CallEnd::ConnectionLost => CallResult::ConnectionLost,
                    _ => CallResult::Answered,
                },
            ),
            (CallDirection::Incoming, CallEnd::Declined | CallEnd::HungUp) => {
                (HistoryKind::Rejected, CallResult::Declined)
            }
            (CallDirection::Incoming, CallEnd::Forwarded) => {
                (HistoryKind::Forwarded, CallResult::Forwarded)
            }
            (CallDirection::Incoming, _) => (HistoryKind::Missed, CallResult::NoAnswer),
        };
        self.history.add(HistoryEntry {
            id: 0,
            kind,
            number: view.number.clone(),
            name: view.name.clone(),
            start: view.started_at,
            duration_s,
            result,
            note: String::new(),
            status_code: code,
        });
        self.save_history();
        self.actions
            .push_back(CallAction::Media(MediaRequest::MediaClose { call: id }));
        if view.direction == CallDirection::Incoming {
            self.actions
                .push_back(CallAction::ClearIncoming { call: id });
        }
        if window {
            self.actions
                .push_back(CallAction::CloseCallWindow { call: id });
        }
        if kind == HistoryKind::Missed {
            self.missed += 1;
            self.actions.push_back(CallAction::ShowMissed {
                call: id,
                number: view.number,
                name: view.name,
            });
            self.actions
                .push_back(CallAction::Badge { count: self.missed });
        }
        // A merged partner is on its own again.
        let partners: Vec<CallId> = self
            .calls
            .iter_mut()
            .filter(|o| o.view.merged_with == Some(id))
            .map(|o| {
                o.view.merged_with = None;
                o.view.id
            })
            .collect();
        if !partners.is_empty() {
            self.actions
                .push_back(CallAction::Media(MediaRequest::MediaMerge {
                    calls: vec![],
                }));
        }
        self.set_tone();
        // An outgoing call that never connected says why, unless the user
        // gave up or something else sounds already.
        let failure = match end {
            CallEnd::Busy => Tone::Busy,
            CallEnd::Rejected
            | CallEnd::Timeout
            | CallEnd::MediaFailed
            | CallEnd::ConnectionLost => Tone::Failed,
            _ => Tone::None,
        };
        if view.direction == CallDirection::Outgoing
            && !answered
            && failure != Tone::None
            && self.tone == Tone::None
        {
            self.tone = failure;
            self.actions
                .push_back(CallAction::Media(MediaRequest::MediaTone { tone: failure }));
        }
    }

    /// An incoming call the call handling answered 486/302 before it rang
    /// (`supervisor::inbound`): it never shows as a call, only in the history.
    pub fn record_screened(&mut self, now: Instant, from: &str, forwarded: bool, code: u16) {
        let (number, name) = parse_party(from);
        let (kind, result) = if forwarded {
            (HistoryKind::Forwarded, CallResult::Forwarded)
        } else {
            (HistoryKind::Rejected, CallResult::Declined)
        };
        self.history.add(HistoryEntry {
            id: 0,
            kind,
            number,
            name,
            start: self.wall(now),
            duration_s: 0,
            result,
            note: String::new(),
            status_code: Some(code),
        });
        self.save_history();
    }

    fn save_history(&mut self) {
        self.actions.push_back(CallAction::SaveHistory {
            json: self.history.to_json(),
        });
    }
}

impl Default for Calls {
    fn default() -> Self {
        Calls::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support::{at_secs, connected_ua, events, reply, sent, sent_requests};

    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 127.0.0.1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n";

    fn actions(calls: &mut Calls) -> Vec<CallAction> {
        std::iter::from_fn(|| calls.poll_action()).collect()
    }

    fn feed(calls: &mut Calls, ua: &mut UserAgent, now: Instant) {
        for event in events(ua) {
            calls.on_event(now, &event);
        }
    }

    fn invite(call_id: &str) -> String {
        format!(
            "INVITE sip:b@b.invalid SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bK{call_id}\r\n\
             From: \"Alice\" <sip:1003@pbx.test>;tag=a1\r\nTo: <sip:1001@pbx.test>\r\nCall-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:a@a.invalid;transport=ws>\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
            SDP.len()
        )
    }

    const VIDEO_SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        c=IN IP4 127.0.0.1\r\na=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n";

    /// `reply` with an SDP body.
    fn reply_sdp(request: &rsip::Request, code: u16, sdp: &str) -> Vec<u8> {
        let text = String::from_utf8(reply(request, code, &[("Contact", "<sip:b@192.0.2.5>")]))
            .unwrap()
            .replace(
                "Content-Length: 0\r\n",
                &format!(
                    "Content-Type: application/sdp\r\nContent-Length: {}\r\n",
                    sdp.len()
                ),
            );
        format!("{text}{sdp}").into_bytes()
    }

    fn audio_only(sdp: &str) -> String {
        Sdp::parse(sdp).unwrap().without_video().to_string()
    }

    #[test]
    fn a_video_call_opens_the_call_window_and_switches_to_audio() {
        //  popup                 Calls                  offscreen        engine
        //  dial 1002 video --->  media_offer(video) --->
        //                        open call window
        //                        <---------------------- media_sdp (audio+video)
        //                        call() ------------------------------> INVITE
        //                        <------------------------------------- 200 (audio+video)
        //  stop_video -------->  stop_video() -------------------------> re-INVITE (video port 0)
        //                        <------------------------------------- 200 (video port 0)
        //                        media_video_off ------->
        //  hangup ------------>  close call window
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        let dial = Request::Dial {
            number: "1002".into(),
            video: true,
        };
        assert_eq!(
            calls.command(Some(&mut ua), true, now, dial),
            Reply::Call { call: 1 }
        );
        let offer = match actions(&mut calls).as_slice() {
            [CallAction::Media(
                m @ MediaRequest::MediaOffer {
                    call: 1,
                    video: true,
                    ..
                },
            ), CallAction::OpenCallWindow { call: 1 }] => m.clone(),
            other => panic!("{other:?}"),
        };
        assert!(calls.views()[0].video);
        let sdp = MediaReply::MediaSdp {
            call: 1,
            sdp: VIDEO_SDP.into(),
        };
        calls.handle_media_reply(Some(&mut ua), now, &offer, Ok(sdp));
        let inv = sent_requests(&mut ua).remove(0);
        assert!(String::from_utf8_lossy(&inv.body).contains("m=video 9 "));
        ua.handle_transport(now, &reply_sdp(&inv, 200, VIDEO_SDP))
            .unwrap();
        feed(&mut calls, &mut ua, now);
        assert_eq!(calls.views()[0].state, CallPhase::Active);
        assert!(calls.views()[0].video);
        actions(&mut calls);
        sent_requests(&mut ua);

        let r = calls.command(Some(&mut ua), true, now, Request::StopVideo { call: 1 });
        assert_eq!(r, Reply::Ok);
        let reinvite = sent_requests(&mut ua).remove(0);
        assert_eq!(reinvite.method, rsip::Method::Invite);
        assert!(String::from_utf8_lossy(&reinvite.body).contains("m=video 0 "));
        // Nothing changes in the connection before the peer agreed.
        assert!(actions(&mut calls).is_empty());
        ua.handle_transport(now, &reply_sdp(&reinvite, 200, &audio_only(VIDEO_SDP)))
            .unwrap();
        feed(&mut calls, &mut ua, now);
        assert_eq!(
            actions(&mut calls),
            [CallAction::Media(MediaRequest::MediaVideoOff { call: 1 })]
        );
        let view = &calls.views()[0];
        assert!(!view.video);
        assert_eq!(view.state, CallPhase::Active, "the call goes on as audio");
        // Asking again is refused: it is an audio call now.
        let again = calls.command(Some(&mut ua), true, now, Request::StopVideo { call: 1 });
        assert_eq!(again, Reply::error(ErrorCode::InvalidState));
        calls.command(Some(&mut ua), true, now, Request::Hangup { call: 1 });
        feed(&mut calls, &mut ua, now);
        assert!(actions(&mut calls).contains(&CallAction::CloseCallWindow { call: 1 }));
    }

    #[test]
    fn a_video_offer_answered_audio_only_is_an_audio_call() {
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        let text = invite("v1").replace(SDP, VIDEO_SDP).replace(
            &format!("Content-Length: {}", SDP.len()),
            &format!("Content-Length: {}", VIDEO_SDP.len()),
        );
        ua.handle_transport(now, text.as_bytes()).unwrap();
        feed(&mut calls, &mut ua, now);
        assert!(
            calls.views()[0].video,
            "a video offer rings as a video call"
        );
        assert!(actions(&mut calls)
            .iter()
            .any(|a| matches!(a, CallAction::ShowIncoming { video: true, .. })));
        let answer = Request::Answer {
            call: 1,
            end_others: false,
            video: false,
        };
        assert_eq!(calls.command(Some(&mut ua), true, now, answer), Reply::Ok);
        let request = actions(&mut calls)
            .into_iter()
            .find_map(|a| match a {
                CallAction::Media(m @ MediaRequest::MediaAnswer { video: false, .. }) => Some(m),
                _ => None,
            })
            .expect("media_answer without video");
        let sdp = MediaReply::MediaSdp {
            call: 1,
            sdp: audio_only(VIDEO_SDP),
        };
        calls.handle_media_reply(Some(&mut ua), now, &request, Ok(sdp));
        assert!(!calls.views()[0].video);
        let ok = sent(&mut ua)
            .into_iter()
            .find_map(|m| match m {
                rsip::SipMessage::Response(r) if r.status_code.code() == 200 => Some(r),
                _ => None,
            })
            .expect("200 OK");
        assert!(String::from_utf8_lossy(&ok.body).contains("m=video 0 "));
        let r = calls.command(Some(&mut ua), true, now, Request::StopVideo { call: 1 });
        assert_eq!(r, Reply::error(ErrorCode::InvalidState));
    }

    #[test]
    fn a_video_call_the_callee_answers_audio_only_is_an_audio_call() {
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        let dial = Request::Dial {
            number: "1002".into(),
            video: true,
        };
        calls.command(Some(&mut ua), true, now, dial);
        let offer = match actions(&mut calls).remove(0) {
            CallAction::Media(m) => m,
            other => panic!("{other:?}"),
        };
        let sdp = MediaReply::MediaSdp {
            call: 1,
            sdp: VIDEO_SDP.into(),
        };
        calls.handle_media_reply(Some(&mut ua), now, &offer, Ok(sdp));
        let inv = sent_requests(&mut ua).remove(0);
        ua.handle_transport(now, &reply_sdp(&inv, 200, &audio_only(VIDEO_SDP)))
            .unwrap();
        feed(&mut calls, &mut ua, now);
        let view = &calls.views()[0];
        assert_eq!((view.state, view.video), (CallPhase::Active, false));
    }

    #[test]
    fn dial_waits_for_the_offer_then_invites_and_records_history() {
        //  popup            Calls               offscreen        engine
        //  dial 1002 --->  media_offer -------->
        //                  <-------------------- media_sdp
        //                  call() ----------------------------> INVITE
        //                  <------------------------------------ 180, 200
        //  hangup ------>  hangup() ---------------------------> BYE
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        calls.set_wall_offset(1_700_000_000_000.0);
        let reply_ = calls.command(
            Some(&mut ua),
            true,
            now,
            Request::Dial {
                number: "1002".into(),
                video: false,
            },
        );
        assert_eq!(reply_, Reply::Call { call: 1 });
        let offer = match actions(&mut calls).as_slice() {
            [CallAction::Media(
                m @ MediaRequest::MediaOffer {
                    call: 1,
                    ice_timeout_ms: 1500,
                    ..
                },
            )] => m.clone(),
            other => panic!("{other:?}"),
        };
        assert!(
            sent_requests(&mut ua).is_empty(),
            "no INVITE before the offer"
        );
        assert_eq!(calls.views()[0].state, CallPhase::Dialing);
        calls.handle_media_reply(
            Some(&mut ua),
            now,
            &offer,
            Ok(MediaReply::MediaSdp {
                call: 1,
                sdp: SDP.into(),
            }),
        );
        let sent = sent_requests(&mut ua);
        assert_eq!(sent.len(), 1);
        let inv = &sent[0];
        assert_eq!(inv.method, rsip::Method::Invite);
        ua.handle_transport(now, &reply(inv, 180, &[])).unwrap();
        feed(&mut calls, &mut ua, now);
        assert_eq!(calls.views()[0].state, CallPhase::Early);
        ua.handle_transport(
            at_secs(1),
            &reply(inv, 200, &[("Contact", "<sip:b@192.0.2.5>")]),
        )
        .unwrap();
        feed(&mut calls, &mut ua, at_secs(1));
        let view = &calls.views()[0];
        assert_eq!(view.state, CallPhase::Active);
        assert_eq!(view.answered_at, Some(1_700_000_001_000.0));
        actions(&mut calls);
        let r = calls.command(
            Some(&mut ua),
            true,
            at_secs(61),
            Request::Hangup { call: 1 },
        );
        assert_eq!(r, Reply::Ok);
        feed(&mut calls, &mut ua, at_secs(61));
        assert!(sent_requests(&mut ua)
            .iter()
            .any(|r| r.method == rsip::Method::Bye));
        let view = &calls.views()[0];
        assert_eq!(
            (view.state, view.end),
            (CallPhase::Ended, Some(CallEnd::HungUp))
        );
        let entry = &calls.history().entries()[0];
        assert_eq!(
            (entry.kind, entry.result, entry.duration_s),
            (HistoryKind::Outgoing, CallResult::Answered, 60)
        );
        assert!(
            actions(&mut calls).contains(&CallAction::Media(MediaRequest::MediaClose { call: 1 }))
        );
        calls.handle_timeout(at_secs(61) + ENDED_LINGER);
        assert!(calls.views().is_empty(), "ended calls linger, then go");
    }

    #[test]
    fn an_incoming_call_rings_and_a_cancel_makes_it_missed() {
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        ua.handle_transport(now, invite("in1").as_bytes()).unwrap();
        feed(&mut calls, &mut ua, now);
        assert_eq!(
            actions(&mut calls),
            [
                CallAction::ShowIncoming {
                    call: 1,
                    number: "1003".into(),
                    name: Some("Alice".into()),
                    video: false,
                },
                CallAction::OpenCallWindow { call: 1 },
                CallAction::Media(MediaRequest::MediaTone { tone: Tone::Ring }),
            ]
        );
        let cancel = "CANCEL sip:b@b.invalid SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKin1\r\n\
            From: \"Alice\" <sip:1003@pbx.test>;tag=a1\r\nTo: <sip:1001@pbx.test>\r\nCall-ID: in1\r\n\
            CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n";
        ua.handle_transport(now, cancel.as_bytes()).unwrap();
        feed(&mut calls, &mut ua, now);
        let done = actions(&mut calls);
        assert!(
            done.contains(&CallAction::ClearIncoming { call: 1 }),
            "{done:?}"
        );
        assert!(done.contains(&CallAction::CloseCallWindow { call: 1 }));
        assert!(done.contains(&CallAction::Badge { count: 1 }));
        assert!(done.contains(&CallAction::Media(MediaRequest::MediaTone {
            tone: Tone::None
        })));
        assert_eq!(calls.missed(), 1);
        assert_eq!(calls.history().entries()[0].kind, HistoryKind::Missed);
        let look = |seen| Request::GetHistory { seen };
        match calls.command(Some(&mut ua), true, now, look(false)) {
            Reply::History { entries } => assert_eq!(entries.len(), 1),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            calls.missed(),
            1,
            "a popup refreshing its list has not shown it"
        );
        match calls.command(Some(&mut ua), true, now, look(true)) {
            Reply::History { entries } => assert_eq!(entries.len(), 1),
            other => panic!("{other:?}"),
        }
        assert_eq!(calls.missed(), 0, "opening the history clears the badge");
    }

    #[test]
    fn answering_asks_for_media_first_and_a_second_call_waits_softly() {
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        ua.handle_transport(now, invite("in2").as_bytes()).unwrap();
        feed(&mut calls, &mut ua, now);
        actions(&mut calls);
        let r = calls.command(
            Some(&mut ua),
            true,
            now,
            Request::Answer {
                call: 1,
                end_others: false,
                video: false,
            },
        );
        assert_eq!(r, Reply::Ok);
        let acts = actions(&mut calls);
        let answer = acts
            .iter()
            .find_map(|a| match a {
                CallAction::Media(m @ MediaRequest::MediaAnswer { .. }) => Some(m.clone()),
                _ => None,
            })
            .expect("media_answer");
        assert!(acts.contains(&CallAction::ClearIncoming { call: 1 }));
        calls.handle_media_reply(
            Some(&mut ua),
            now,
            &answer,
            Ok(MediaReply::MediaSdp {
                call: 1,
                sdp: SDP.into(),
            }),
        );
        assert!(
            sent_requests(&mut ua).is_empty(),
            "the 200 went out as a response"
        );
        // The ACK would confirm the session; its event is what the view follows.
        let handles: Vec<CallHandle> = ua.calls().map(|(h, _)| h).collect();
        for call in handles {
            calls.on_event(now, &Event::CallAnswered { call, sdp: None });
        }
        assert_eq!(calls.views()[0].state, CallPhase::Active);
        ua.handle_transport(now, invite("in3").as_bytes()).unwrap();
        feed(&mut calls, &mut ua, now);
        let second = calls.views()[1].clone();
        assert!(second.waiting);
        assert!(
            actions(&mut calls).contains(&CallAction::Media(MediaRequest::MediaTone {
                tone: Tone::Waiting
            }))
        );
        let bad = calls.command(
            Some(&mut ua),
            true,
            now,
            Request::Answer {
                call: 1,
                end_others: false,
                video: false,
            },
        );
        assert_eq!(bad, Reply::error(ErrorCode::InvalidState));
        let failed = calls.command(
            Some(&mut ua),
            true,
            now,
            Request::Dtmf {
                call: 1,
                digits: "9x".into(),
            },
        );
        assert_eq!(failed, Reply::error(ErrorCode::InvalidNumber));
    }

    #[test]
    fn an_invite_with_replaces_is_answered_without_ringing() {
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        ua.handle_transport(now, invite("rp1").as_bytes()).unwrap();
        feed(&mut calls, &mut ua, now);
        calls.command(
            Some(&mut ua),
            true,
            now,
            Request::Answer {
                call: 1,
                end_others: false,
                video: false,
            },
        );
        let answer = actions(&mut calls)
            .into_iter()
            .find_map(|a| match a {
                CallAction::Media(m @ MediaRequest::MediaAnswer { .. }) => Some(m),
                _ => None,
            })
            .unwrap();
        calls.handle_media_reply(
            Some(&mut ua),
            now,
            &answer,
            Ok(MediaReply::MediaSdp {
                call: 1,
                sdp: SDP.into(),
            }),
        );
        let ok = crate::engine::test_support::sent(&mut ua)
            .into_iter()
            .find_map(|m| match m {
                rsip::SipMessage::Response(r) if r.status_code.code() == 200 => Some(r),
                _ => None,
            })
            .unwrap();
        let tag = crate::codec::to_tag(&rsip::SipMessage::Response(ok)).unwrap();
        let ack = format!(
            "ACK sip:b@b.invalid SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKack1\r\n\
             From: <sip:1003@pbx.test>;tag=a1\r\nTo: <sip:1001@pbx.test>;tag={tag}\r\nCall-ID: rp1\r\n\
             CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        );
        ua.handle_transport(now, ack.as_bytes()).unwrap();
        feed(&mut calls, &mut ua, now);
        assert_eq!(calls.views()[0].state, CallPhase::Active);
        actions(&mut calls);
        let replacing = invite("rp2").replace(
            "Content-Type:",
            &format!("Replaces: rp1;to-tag={tag};from-tag=a1\r\nContent-Type:"),
        );
        ua.handle_transport(now, replacing.as_bytes()).unwrap();
        feed(&mut calls, &mut ua, now);
        let acts = actions(&mut calls);
        assert!(
            matches!(
                acts.as_slice(),
                [CallAction::Media(MediaRequest::MediaAnswer { call: 2, .. })]
            ),
            "{acts:?}"
        );
    }

    #[test]
    fn a_failed_offer_ends_the_call_without_an_invite() {
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        calls.command(
            Some(&mut ua),
            true,
            now,
            Request::Dial {
                number: "1002".into(),
                video: false,
            },
        );
        let offer = match actions(&mut calls).pop() {
            Some(CallAction::Media(m)) => m,
            other => panic!("{other:?}"),
        };
        calls.handle_media_reply(Some(&mut ua), now, &offer, Err("NotAllowedError".into()));
        assert!(sent_requests(&mut ua).is_empty());
        assert_eq!(calls.views()[0].end, Some(CallEnd::MediaFailed));
        assert_eq!(
            calls.command(
                Some(&mut ua),
                false,
                now,
                Request::Dial {
                    number: "1002".into(),
                    video: false,
                }
            ),
            Reply::error(ErrorCode::NotRegistered)
        );
    }

    #[test]
    fn parties_are_read_from_name_addrs() {
        assert_eq!(
            parse_party(r#""Bob" <sip:1002@127.0.0.1>;tag=abc"#),
            ("1002".into(), Some("Bob".into()))
        );
        assert_eq!(
            parse_party("<sip:1002@pbx.test;transport=ws>"),
            ("1002".into(), None)
        );
        assert_eq!(parse_party("sip:1003@h;tag=1"), ("1003".into(), None));
        assert_eq!(parse_party("tel:+15551234"), ("+15551234".into(), None));
        assert_eq!(parse_party(""), ("".into(), None));
        assert_eq!(parse_party("> weird <"), ("> weird <".into(), None));
    }

    fn dialled_and_invited(calls: &mut Calls, ua: &mut UserAgent, now: Instant) -> rsip::Request {
        calls.command(
            Some(&mut *ua),
            true,
            now,
            Request::Dial {
                number: "1002".into(),
                video: false,
            },
        );
        let offer = actions(calls).into_iter().find_map(|a| match a {
            CallAction::Media(m @ MediaRequest::MediaOffer { .. }) => Some(m),
            _ => None,
        });
        let offer = offer.expect("an offer request");
        let sdp = MediaReply::MediaSdp {
            call: calls.views()[0].id,
            sdp: SDP.into(),
        };
        calls.handle_media_reply(Some(&mut *ua), now, &offer, Ok(sdp));
        sent_requests(ua).remove(0)
    }

    fn tones(calls: &mut Calls) -> Vec<Tone> {
        actions(calls)
            .into_iter()
            .filter_map(|a| match a {
                CallAction::Media(MediaRequest::MediaTone { tone }) => Some(tone),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn ringback_while_the_callee_rings_without_early_media_then_busy() {
        //  Calls                 engine
        //  INVITE -------------> 180 (no SDP)     ringback
        //                  <---- 486               busy tone
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        let inv = dialled_and_invited(&mut calls, &mut ua, now);
        ua.handle_transport(now, &reply(&inv, 180, &[])).unwrap();
        feed(&mut calls, &mut ua, now);
        assert_eq!(tones(&mut calls), vec![Tone::Ringback]);
        ua.handle_transport(at_secs(1), &reply(&inv, 486, &[]))
            .unwrap();
        feed(&mut calls, &mut ua, at_secs(1));
        assert_eq!(tones(&mut calls), vec![Tone::None, Tone::Busy]);
    }

    #[test]
    fn an_answer_stops_the_ringback() {
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        let inv = dialled_and_invited(&mut calls, &mut ua, now);
        let ringing = reply(&inv, 180, &[]);
        ua.handle_transport(now, &ringing).unwrap();
        feed(&mut calls, &mut ua, now);
        assert_eq!(tones(&mut calls), vec![Tone::Ringback]);
        let answered = reply(&inv, 200, &[("Contact", "<sip:b@192.0.2.5>")]);
        ua.handle_transport(at_secs(1), &answered).unwrap();
        feed(&mut calls, &mut ua, at_secs(1));
        assert_eq!(tones(&mut calls), vec![Tone::None]);
        assert_eq!(calls.views()[0].state, CallPhase::Active);
    }

    #[test]
    fn dtmf_goes_as_rtp_events_and_falls_back_to_info_when_the_connection_cannot() {
        //  popup          Calls                offscreen          engine
        //  dtmf 5 ---->   media_dtmf -------->
        //                 <------------------- sent: false
        //                 send_dtmf() ---------------------------> INFO
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        let inv = dialled_and_invited(&mut calls, &mut ua, now);
        let answered = reply(&inv, 200, &[("Contact", "<sip:b@192.0.2.5>")]);
        ua.handle_transport(now, &answered).unwrap();
        feed(&mut calls, &mut ua, now);
        sent_requests(&mut ua);
        actions(&mut calls);
        let id = calls.views()[0].id;
        let dtmf = Request::Dtmf {
            call: id,
            digits: "5".into(),
        };
        assert_eq!(calls.command(Some(&mut ua), true, now, dtmf), Reply::Ok);
        let request = match actions(&mut calls).as_slice() {
            [CallAction::Media(m @ MediaRequest::MediaDtmf { .. })] => m.clone(),
            other => panic!("{other:?}"),
        };
        assert!(sent_requests(&mut ua).is_empty(), "RTP events, no INFO");
        let sent = Ok(MediaReply::MediaDtmf { sent: true });
        calls.handle_media_reply(Some(&mut ua), now, &request, sent);
        assert!(sent_requests(&mut ua).is_empty());
        let refused = Ok(MediaReply::MediaDtmf { sent: false });
        calls.handle_media_reply(Some(&mut ua), now, &request, refused);
        let info = sent_requests(&mut ua);
        assert_eq!(info.len(), 1);
        assert_eq!(info[0].method, rsip::Method::Info);
    }
}
