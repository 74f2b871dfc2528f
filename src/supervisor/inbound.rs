//! Incoming-call handling applied to the INVITE, sans-IO: the caller rules
//! and the status's handling ([`call_handling::decide`]) answer 486 or 302
//! before anything rings; a ringing call may get a no-answer timer (302 when
//! it fires) or an auto-answer timer. A status change may dial a queue
//! agent feature code, a short call hung up after [`AGENT_CALL_MAX`].
//!
//! The worker tells the supervisor the user's status
//! ([`Supervisor::set_status`]) and the configuration
//! ([`Supervisor::set_call_handling`]); everything else happens here on the
//! engine's events and the supervisor's timeouts.

use std::time::Duration;

use crate::call::CallHandle;
use crate::call_handling::{self, agent_dial, Decision, IncomingCall};
use crate::engine::Event;
use crate::presence::Status;
use crate::protocol::calls::{CallDirection, CallId, CallPhase};
use crate::protocol::presence::{CallHandlingConfig, Target};
use crate::protocol::{RegState, Reply, Request};
use crate::time::Instant;

use super::calls::parse_party;
use super::Supervisor;

/// An agent feature-code call is hung up after this if the PBX has not
/// ended it: the code took effect once the PBX answered or rejected it.
pub const AGENT_CALL_MAX: Duration = Duration::from_secs(8);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// Forward the still-ringing call to its no-answer target.
    NoAnswer,
    AutoAnswer,
    /// Hang up the agent feature-code call.
    AgentHangup,
}

#[derive(Debug, Clone)]
struct Pending {
    at: Instant,
    timer: Timer,
    call: CallId,
    handle: Option<CallHandle>,
    target: Option<Target>,
}

/// What the supervisor keeps for incoming-call handling.
#[derive(Debug, Clone, Default)]
pub struct Inbound {
    config: CallHandlingConfig,
    status: Status,
    pending: Vec<Pending>,
    /// Calls answered 486/302 here without ringing, with why (for the log
    /// and tests): (caller number, decision).
    screened: Vec<(String, Decision)>,
    /// The decision for the call just let through, until its timers are armed.
    ringing: Option<(CallHandle, Decision)>,
}

impl Inbound {
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.at).min()
    }
}

impl Supervisor {
    pub fn set_call_handling(&mut self, config: CallHandlingConfig) {
        self.inbound.config = config;
    }

    pub fn call_handling(&self) -> &CallHandlingConfig {
        &self.inbound.config
    }

    /// The user's status from now on. `dial_agent`: a change by the user or
    /// the schedule (not the status read back at worker start) dials the new
    /// status's queue agent code, if it has one.
    pub fn set_status(&mut self, now: Instant, status: Status, dial_agent: bool) {
        let changed = self.inbound.status != status;
        self.inbound.status = status;
        if !(changed && dial_agent) {
            return;
        }
        let handling = call_handling::status_handling(&self.inbound.config, status);
        let Some(code) = agent_dial(&self.inbound.config.agent_codes, &handling.agent) else {
            return;
        };
        if let Reply::Call { call } = self.call_command(
            now,
            Request::Dial {
                number: code,
                video: false,
            },
        ) {
            self.inbound.pending.push(Pending {
                at: now + AGENT_CALL_MAX,
                timer: Timer::AgentHangup,
                call,
                handle: None,
                target: None,
            });
        }
    }

    /// Calls handled without ringing since the worker started, newest last.
    pub fn screened_calls(&self) -> &[(String, Decision)] {
        &self.inbound.screened
    }

    /// Apply the rules to an incoming INVITE before the call policy sees
    /// it; `false`: it was answered 486/302 here and must not ring.
    pub(super) fn screen_incoming(&mut self, now: Instant, event: &Event) -> bool {
        let Event::IncomingCall {
            call: handle,
            from,
            replaces,
            ..
        } = event
        else {
            return true;
        };
        // An attended transfer's INVITE with Replaces continues a call the
        // user is already in: no rules apply.
        if replaces.is_some() {
            self.ring(now, *handle);
            return true;
        }
        let (number, _) = parse_party(from);
        let busy = self
            .calls
            .views()
            .iter()
            .any(|c| c.state != CallPhase::Ended);
        let own = self
            .account
            .as_ref()
            .map(|a| a.username.clone())
            .unwrap_or_default();
        let decision = call_handling::decide(
            &self.inbound.config,
            self.inbound.status,
            &own,
            &IncomingCall {
                number: &number,
                busy,
                intercom_after_s: self.intercom_request(*handle),
            },
        );
        let Some(ua) = self.ua.as_mut() else {
            return true;
        };
        match &decision {
            Decision::Reject { code, .. } => {
                let _ = ua.reject(now, *handle, *code);
            }
            Decision::Redirect { target, .. } => {
                match resolve(target, self.calls.settings().voicemail_target.as_deref()) {
                    Some(uri) => {
                        let _ = ua.redirect(now, *handle, &uri);
                    }
                    // Voicemail without a configured target: a rejection
                    // is the nearest thing to "not here".
                    None => {
                        let _ = ua.reject(now, *handle, call_handling::BUSY_HERE);
                    }
                }
            }
            Decision::Ring { .. } => {
                let _ = ua.ring(now, *handle);
                self.inbound.ringing = Some((*handle, decision));
                return true;
            }
        }
        let (forwarded, code) = match &decision {
            Decision::Redirect { .. } => (true, 302),
            _ => (false, call_handling::BUSY_HERE),
        };
        self.calls.record_screened(now, from, forwarded, code);
        self.inbound.screened.push((number, decision));
        if self.inbound.screened.len() > 50 {
            self.inbound.screened.remove(0);
        }
        false
    }

    /// The call policy has just added the ringing call for `event`: arm its
    /// no-answer and auto-answer timers.
    pub(super) fn arm_incoming(&mut self, now: Instant, event: &Event) {
        let Event::IncomingCall {
            call: handle,
            from,
            replaces: None,
            ..
        } = event
        else {
            return;
        };
        let Some((screened, decision)) = self.inbound.ringing.take() else {
            return;
        };
        let (number, _) = parse_party(from);
        // The call policy appends each new call to its list.
        let Some(view) = self.calls.views().into_iter().last().filter(|v| {
            screened == *handle
                && v.direction == CallDirection::Incoming
                && v.state == CallPhase::Ringing
                && v.number == number
        }) else {
            return;
        };
        if let Decision::Ring {
            no_answer,
            auto_answer,
            ..
        } = decision
        {
            if let Some((after, target)) = no_answer {
                self.inbound.pending.push(Pending {
                    at: now + after,
                    timer: Timer::NoAnswer,
                    call: view.id,
                    handle: Some(*handle),
                    target: Some(target),
                });
            }
            if let Some(after) = auto_answer {
                self.inbound.pending.push(Pending {
                    at: now + after,
                    timer: Timer::AutoAnswer,
                    call: view.id,
                    handle: Some(*handle),
                    target: None,
                });
            }
        }
    }

    /// The engine waits for this before it answers 180 (see
    /// `UaConfig::ring_at_once`).
    fn ring(&mut self, now: Instant, handle: CallHandle) {
        if let Some(ua) = self.ua.as_mut() {
            // Fails only for a call that already ended (CANCEL crossed it).
            let _ = ua.ring(now, handle);
        }
    }

    /// The intercom request of an incoming call, if the INVITE carried one.
    fn intercom_request(&self, handle: CallHandle) -> Option<u32> {
        self.ua.as_ref()?.auto_answer_request(handle)
    }

    pub(super) fn inbound_timeout(&mut self, now: Instant) {
        let (due, later): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.inbound.pending)
            .into_iter()
            .partition(|p| p.at <= now);
        self.inbound.pending = later;
        for p in due {
            let phase = self
                .calls
                .views()
                .iter()
                .find(|c| c.id == p.call)
                .map(|c| c.state);
            match p.timer {
                Timer::NoAnswer if phase == Some(CallPhase::Ringing) => {
                    let voicemail = self.calls.settings().voicemail_target.clone();
                    let uri = p
                        .target
                        .as_ref()
                        .and_then(|t| resolve(t, voicemail.as_deref()));
                    if let (Some(ua), Some(handle), Some(uri)) = (self.ua.as_mut(), p.handle, uri) {
                        let _ = ua.redirect(now, handle, &uri);
                    }
                }
                Timer::AutoAnswer if phase == Some(CallPhase::Ringing) => {
                    let reply = self.call_command(
                        now,
                        Request::Answer {
                            call: p.call,
                            end_others: false,
                            video: false,
                        },
                    );
                    // The beep tells the user the line is now open.
                    if reply == Reply::Ok && self.call_handling().auto_answer.beep {
                        self.calls.beep_auto_answer();
                    }
                }
                Timer::AgentHangup
                    if phase.is_some_and(|s| s != CallPhase::Ended)
                        && self.state == RegState::Registered =>
                {
                    self.call_command(now, Request::Hangup { call: p.call });
                }
                _ => {}
            }
        }
    }
}

/// The 302 target of a forward; `None`: voicemail is not configured.
fn resolve(target: &Target, voicemail: Option<&str>) -> Option<String> {
    match target {
        Target::Number { number } => Some(number.trim().to_owned()),
        Target::Voicemail => voicemail.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Account;
    use crate::codec;
    use crate::engine::test_support::reply;
    use crate::history::HistoryKind;
    use crate::protocol::calls::{CallSettings, MediaReply, MediaRequest, Tone};
    use crate::protocol::presence::{AgentAction, CallerRule, FirstAction, Handling, RuleAction};
    use crate::supervisor::calls::CallAction;
    use crate::supervisor::Action;
    use rsip::SipMessage;

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 127.0.0.1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n";

    fn sent(s: &mut Supervisor) -> Vec<SipMessage> {
        std::iter::from_fn(|| s.poll_action())
            .filter_map(|a| match a {
                Action::Send { text, .. } => codec::parse(text.as_bytes()).ok(),
                _ => None,
            })
            .collect()
    }

    fn call_actions(s: &mut Supervisor) -> Vec<CallAction> {
        std::iter::from_fn(|| s.poll_call_action()).collect()
    }

    /// 1001 registered at t = 2 ms.
    fn registered(config: CallHandlingConfig, status: Status) -> Supervisor {
        let mut s = Supervisor::new(String::new(), 7);
        let account = Account {
            server: "ws://127.0.0.1:8088".into(),
            username: "1001".into(),
            password: "pass1001".into(),
            auth_id: None,
            display_name: None,
        };
        s.set_account(t(0), Some(account.validate().unwrap()));
        s.handle_open(t(1), 1);
        let register = match sent(&mut s).remove(0) {
            SipMessage::Request(r) => r,
            other => panic!("{other}"),
        };
        s.handle_message(t(2), 1, &reply(&register, 200, &[("Expires", "600")]))
            .unwrap();
        sent(&mut s);
        assert_eq!(s.snapshot().state, RegState::Registered);
        s.calls_mut().set_settings(CallSettings {
            voicemail_target: Some("*97".into()),
            ..CallSettings::default()
        });
        s.set_call_handling(config);
        s.set_status(t(2), status, false);
        call_actions(&mut s);
        s
    }

    /// An INVITE from `caller` arrives; the status lines and Contacts sent.
    fn invite(s: &mut Supervisor, now: Instant, caller: &str, extra: &str) -> Vec<String> {
        let text = format!(
            "INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bK{caller}\r\n\
             From: <sip:{caller}@pbx.test>;tag=c1\r\nTo: <sip:1001@pbx.test>\r\nCall-ID: {caller}-call\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:{caller}@a.invalid;transport=ws>\r\n{extra}\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
            SDP.len()
        );
        s.handle_message(now, 1, text.as_bytes()).unwrap();
        responses(s)
    }

    fn responses(s: &mut Supervisor) -> Vec<String> {
        sent(s)
            .into_iter()
            .filter_map(|m| match m {
                SipMessage::Response(r) => {
                    let contact = codec::header(&r, "Contact")
                        .filter(|_| r.status_code.code() == 302)
                        .map(|c| format!(" → {c}"))
                        .unwrap_or_default();
                    Some(format!("{}{contact}", r.status_code.code()))
                }
                _ => None,
            })
            .collect()
    }

    fn rings(actions: &[CallAction]) -> bool {
        actions
            .iter()
            .any(|a| matches!(a, CallAction::ShowIncoming { .. }))
    }

    fn with_status(status: Status, f: impl FnOnce(&mut StatusHandling)) -> CallHandlingConfig {
        let mut config = CallHandlingConfig::default();
        if let Some(h) = config.statuses.iter_mut().find(|h| h.status == status) {
            f(h);
        }
        config
    }
    use crate::protocol::presence::StatusHandling;

    #[test]
    fn do_not_disturb_answers_486_and_nothing_rings() {
        // 1002                   Ringside 1001 (DND)
        //   |--- INVITE ----------->|
        //   |<-- 100 Trying --------|
        //   |<-- 486 Busy Here -----|   never rang: no 180, no notification
        let mut s = registered(CallHandlingConfig::default(), Status::DoNotDisturb);
        assert_eq!(invite(&mut s, t(10), "1002", ""), ["100", "486"]);
        assert!(!rings(&call_actions(&mut s)));
        assert!(s.snapshot().calls.is_empty());
        assert!(matches!(
            s.screened_calls(),
            [(n, Decision::Reject { code: 486, .. })] if n == "1002"
        ));
        // It is in the history as rejected, not as a missed call.
        let entry = &s.calls_mut().history().entries()[0];
        assert_eq!(
            (entry.kind, entry.number.as_str(), entry.status_code),
            (HistoryKind::Rejected, "1002", Some(486))
        );
        assert_eq!(s.snapshot().missed_calls, 0);
    }

    #[test]
    fn away_forwards_always_with_a_302_to_the_target() {
        // 1002                   Ringside 1001 (Away)
        //   |--- INVITE ----------->|
        //   |<-- 100 Trying --------|
        //   |<-- 302 Contact: 1003 -|   the caller's side calls 1003
        let config = with_status(Status::Away, |h| {
            let forward = FirstAction::Forward {
                to: Target::Number {
                    number: "1003".into(),
                },
            };
            h.internal.action = forward.clone();
            h.external.action = forward;
        });
        let mut s = registered(config, Status::Away);
        assert_eq!(
            invite(&mut s, t(10), "1002", ""),
            ["100", "302 → <sip:1003@127.0.0.1>"]
        );
        assert!(!rings(&call_actions(&mut s)));
        assert_eq!(
            s.calls_mut().history().entries()[0].kind,
            HistoryKind::Forwarded
        );
        // Available again: the same caller rings.
        s.set_status(t(20), Status::Available, true);
        assert_eq!(invite(&mut s, t(30), "1004", ""), ["100", "180"]);
        assert!(rings(&call_actions(&mut s)));
    }

    #[test]
    fn an_unanswered_external_call_goes_to_voicemail_after_the_ring_timeout() {
        // +49301234              Ringside 1001 (Lunch Break)
        //   |--- INVITE ----------->|
        //   |<-- 180 Ringing -------|   rings for 15 s
        //   |<-- 302 Contact: *97 --|   voicemail
        let config = with_status(Status::LunchBreak, |h| {
            h.external = Handling {
                no_answer: Some(Target::Voicemail),
                ring_timeout_s: 15,
                ..Handling::default()
            };
        });
        let mut s = registered(config, Status::LunchBreak);
        assert_eq!(invite(&mut s, t(1_000), "+49301234", ""), ["100", "180"]);
        assert!(rings(&call_actions(&mut s)));
        assert!(s.poll_timeout() <= Some(t(16_000)));
        s.handle_timeout(t(15_999));
        assert_eq!(responses(&mut s), Vec::<String>::new());
        s.handle_timeout(t(16_000));
        assert_eq!(responses(&mut s), ["302 → <sip:*97@127.0.0.1>"]);
        // An internal caller in the same status is not forwarded.
        assert_eq!(invite(&mut s, t(20_000), "1002", ""), ["100", "180"]);
        s.handle_timeout(t(60_000));
        assert_eq!(responses(&mut s), Vec::<String>::new());
    }

    #[test]
    fn a_block_pattern_hangs_up_and_an_allow_rule_above_it_lets_one_through() {
        // 0900111 (allowed)      Ringside 1001             0900222 (blocked)
        //   |--- INVITE ----------->|<--------- INVITE ------|
        //   |<-- 100, 180 ----------|--- 100, 486 ---------->|
        let config = CallHandlingConfig {
            rules: vec![
                CallerRule {
                    pattern: "0900111".into(),
                    action: RuleAction::Accept,
                },
                CallerRule {
                    pattern: "0900.".into(),
                    action: RuleAction::HangUp,
                },
            ],
            ..CallHandlingConfig::default()
        };
        let mut s = registered(config, Status::Available);
        assert_eq!(invite(&mut s, t(10), "0900222", ""), ["100", "486"]);
        assert!(!rings(&call_actions(&mut s)));
        assert_eq!(invite(&mut s, t(20), "0900111", ""), ["100", "180"]);
        assert!(rings(&call_actions(&mut s)));
    }

    #[test]
    fn an_intercom_call_is_answered_by_itself() {
        // pager 1002             Ringside 1001
        //   |--- INVITE, Call-Info: answer-after=0 -->|
        //   |<-- 180 ---------------|   media answer asked at once
        let mut s = registered(CallHandlingConfig::default(), Status::Available);
        invite(
            &mut s,
            t(10),
            "1002",
            "Call-Info: <sip:pbx.test>;answer-after=0\r\n",
        );
        call_actions(&mut s);
        s.handle_timeout(t(10));
        assert!(call_actions(&mut s)
            .iter()
            .any(|a| matches!(a, CallAction::Media(MediaRequest::MediaAnswer { .. }))));
        // An ordinary call is not auto-answered by default.
        invite(&mut s, t(20), "1003", "");
        s.handle_timeout(t(60_000));
        assert!(!call_actions(&mut s)
            .iter()
            .any(|a| matches!(a, CallAction::Media(MediaRequest::MediaAnswer { .. }))));
    }

    fn beeps(actions: &[CallAction]) -> usize {
        actions
            .iter()
            .filter(|a| {
                matches!(
                    a,
                    CallAction::Media(MediaRequest::MediaTone {
                        tone: Tone::AutoAnswer
                    })
                )
            })
            .count()
    }

    #[test]
    fn an_auto_answered_call_beeps_only_when_the_beep_is_on() {
        // 1002                   Ringside 1001 (auto-answer after 2 s)
        //   |--- INVITE ----------->|
        //   |<-- 180 ---------------|   2 s later: answered, one beep if asked
        for beep in [true, false] {
            let mut config = CallHandlingConfig::default();
            config.auto_answer.enabled = true;
            config.auto_answer.delay_s = 2;
            config.auto_answer.beep = beep;
            let mut s = registered(config, Status::Available);
            invite(&mut s, t(10), "1002", "");
            assert_eq!(beeps(&call_actions(&mut s)), 0);
            s.handle_timeout(t(2_010));
            let actions = call_actions(&mut s);
            assert!(actions
                .iter()
                .any(|a| matches!(a, CallAction::Media(MediaRequest::MediaAnswer { .. }))));
            assert_eq!(beeps(&actions), usize::from(beep), "beep {beep}");
        }
    }

    #[test]
    fn a_status_change_dials_its_agent_code_and_hangs_up_after_a_while() {
        // Ringside 1001                          PBX
        //   status → Lunch Break (pause, reason 2)
        //   |--- INVITE sip:*732 ------------------>|
        //   ... 8 s, still up ...
        //   |--- CANCEL ---------------------------->|
        let mut config = with_status(Status::LunchBreak, |h| {
            h.agent = AgentAction::Pause { reason: "2".into() }
        });
        config.agent_codes.pause = "*73".into();
        let mut s = registered(config, Status::Available);
        s.set_status(t(100), Status::LunchBreak, true);
        let offer = call_actions(&mut s)
            .into_iter()
            .find_map(|a| match a {
                CallAction::Media(m @ MediaRequest::MediaOffer { .. }) => Some(m),
                _ => None,
            })
            .expect("the feature code is dialled");
        let call = match &offer {
            MediaRequest::MediaOffer { call, .. } => *call,
            _ => unreachable!(),
        };
        s.handle_media_reply(
            t(150),
            &offer,
            Ok(MediaReply::MediaSdp {
                call,
                sdp: SDP.into(),
            }),
        );
        let invite = sent(&mut s)
            .into_iter()
            .find_map(|m| match m {
                SipMessage::Request(r) if r.method == rsip::Method::Invite => Some(r),
                _ => None,
            })
            .expect("INVITE");
        assert!(
            invite.uri.to_string().starts_with("sip:*732@"),
            "{}",
            invite.uri
        );
        s.handle_message(t(200), 1, &reply(&invite, 180, &[]))
            .unwrap();
        sent(&mut s);
        s.handle_timeout(t(100) + AGENT_CALL_MAX);
        assert!(sent(&mut s)
            .iter()
            .any(|m| matches!(m, SipMessage::Request(r) if r.method == rsip::Method::Cancel)));
        // The status read back at worker start dials nothing.
        call_actions(&mut s);
        s.set_status(t(20_000), Status::Available, false);
        s.set_status(t(20_000), Status::LunchBreak, false);
        assert!(!call_actions(&mut s)
            .iter()
            .any(|a| matches!(a, CallAction::Media(MediaRequest::MediaOffer { .. }))));
    }
}
