//! Ringside's engine against third-party SIP stacks: JsSIP 3.13 and SIP.js
//! 0.21 (npm, in Node, driven through tests/peers/driver.js) on the other
//! side of the real Kamailio (tests/pbx). What the engine sends must be
//! understood by stacks it was not written with, and what they send must be
//! understood by it. Needs `npm ci` in tests/ (`cargo xtask test` does it);
//! without node_modules each test says so and passes without running.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as WallClock};

use common::*;
use ringside::call::{CallState, EndReason};
use ringside::engine::Event;
use ringside::publication::PublicationStatus;
use ringside::registration::{RegistrationFailure, RegistrationState};
use ringside::subscription::SubscriptionStatus;
use ringside_testkit::Pbx;
use serde_json::{json, Value};

/// The node driver: JSON-line commands in, JSON-line replies and events out.
struct Peers {
    child: Child,
    stdin: ChildStdin,
    lines: Arc<Mutex<Vec<Value>>>,
    next_id: u64,
    ws_url: String,
}

impl Peers {
    /// None (and a note on stderr) when the npm packages are not installed.
    fn start(pbx: &Pbx) -> Option<Peers> {
        let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        if !tests.join("node_modules/jssip").is_dir() || !tests.join("node_modules/sip.js").is_dir()
        {
            eprintln!(
                "SKIPPED: tests/node_modules is missing (JsSIP, SIP.js); run `cargo xtask test` or `npm ci` in tests/"
            );
            return None;
        }
        let mut child = Command::new("node")
            .arg(tests.join("peers/driver.js"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node (Node 20) runs tests/peers/driver.js");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => sink.lock().expect("driver lines").push(v),
                    Err(_) => eprintln!("driver: {line}"),
                }
            }
        });
        let peers = Peers {
            child,
            stdin,
            lines,
            next_id: 0,
            ws_url: pbx.info().ws_url(),
        };
        peers.wait(|v| v["ev"] == "ready", "the driver to start");
        Some(peers)
    }

    fn wait(&self, pred: impl Fn(&Value) -> bool, what: &str) -> Value {
        let deadline = WallClock::now() + Duration::from_secs(10);
        while WallClock::now() < deadline {
            if let Some(v) = self.find(&pred) {
                return v;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!(
            "no {what} within 10 s; driver said: {:#?}",
            self.lines.lock().expect("lines")
        );
    }

    /// Sends one command and returns its reply; an error reply fails the test.
    fn cmd(&mut self, mut command: Value) -> Value {
        let reply = self.try_cmd(command.take());
        match reply["error"].as_str() {
            Some(e) => panic!("driver command failed: {e}"),
            None => reply,
        }
    }

    fn try_cmd(&mut self, mut command: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        command["id"] = json!(id);
        writeln!(self.stdin, "{command}").expect("driver stdin");
        self.stdin.flush().expect("driver stdin");
        self.wait(|v| v["id"] == id, &format!("reply to {command}"))
    }

    fn jssip(&mut self, peer: &str, user: &str) {
        let url = self.ws_url.clone();
        self.cmd(json!({"op": "jssip", "peer": peer, "wsUrl": url, "user": user}));
    }

    fn sipjs(&mut self, peer: &str, user: &str) {
        let url = self.ws_url.clone();
        self.cmd(json!({"op": "sipjs", "peer": peer, "wsUrl": url, "user": user}));
    }

    /// Starts a call from a peer; returns the driver's session id.
    fn call(&mut self, peer: &str, target: &str) -> String {
        let reply = self.cmd(json!({"op": "call", "peer": peer, "target": target}));
        reply["session"].as_str().expect("session id").to_string()
    }

    fn on_session(&mut self, op: &str, session: &str) {
        self.cmd(json!({"op": op, "session": session}));
    }

    fn find(&self, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        self.lines
            .lock()
            .expect("lines")
            .iter()
            .find(|v| pred(v))
            .cloned()
    }

    /// The first event `ev` about `session`.
    fn event(&self, ev: &str, session: &str) -> Option<Value> {
        self.find(|v| v["ev"] == ev && v["session"] == session)
    }

    fn incoming(&self, peer: &str) -> Option<String> {
        self.find(|v| v["ev"] == "incoming" && v["peer"] == peer)
            .and_then(|v| v["session"].as_str().map(str::to_string))
    }

    fn notified(&self, sub: &str, needle: &str) -> bool {
        self.find(|v| {
            v["ev"] == "notify"
                && v["sub"] == sub
                && v["body"].as_str().is_some_and(|b| b.contains(needle))
        })
        .is_some()
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

macro_rules! peers_or_skip {
    ($pbx:expr) => {
        match Peers::start(&$pbx) {
            Some(p) => p,
            None => return,
        }
    };
}

fn answered(p: &Phone, call: ringside::call::CallHandle) -> bool {
    p.events
        .iter()
        .any(|e| matches!(e, Event::CallAnswered { call: c, .. } if *c == call))
}

fn progress(p: &Phone, code: u16) -> bool {
    p.events
        .iter()
        .any(|e| matches!(e, Event::CallProgress { code: c, .. } if *c == code))
}

#[test]
fn engine_registrations_md5_and_sha256_make_us_reachable_from_jssip_and_rejections_reach_it() {
    let pbx = Pbx::start().expect("the test PBX starts (cargo xtask test installs kamailio)");
    let mut peers = peers_or_skip!(pbx);
    let clock = Clock(WallClock::now());
    let mut md5 = register(&pbx, "1001", &clock);
    let mut sha = register(&pbx, "1009", &clock);
    assert!(sha.sent.iter().any(|m| m.contains("algorithm=SHA-256")));
    let mut wrong = Phone::connect(&pbx, "1003", "not-the-password", &clock);
    wrong.ua.register(clock.now());
    run_until(&mut [&mut wrong], &clock, |p| {
        matches!(p[0].registration(), RegistrationState::Failed(_))
    });
    assert_eq!(
        wrong.registration(),
        RegistrationState::Failed(RegistrationFailure::AuthRejected)
    );
    peers.jssip("caller", "1002");

    // The MD5-registered engine rings for JsSIP and its 486 reaches JsSIP.
    let first = peers.call("caller", "1001");
    run_until(&mut [&mut md5], &clock, |p| incoming_call(p[0]).is_some());
    let call = incoming_call(&md5).expect("1001 rings");
    assert!(md5.events.iter().any(
        |e| matches!(e, Event::IncomingCall { from, sdp: Some(sdp), .. } if from.contains("1002") && sdp.contains("ice-ufrag:ringside"))
    ));
    md5.ua.reject(clock.now(), call, 486).expect("busy");
    run_until(&mut [&mut md5], &clock, |_| {
        peers.event("ended", &first).is_some()
    });
    assert_eq!(peers.event("ended", &first).expect("ended")["code"], 486);

    // The SHA-256-registered engine too, declining with 603.
    let second = peers.call("caller", "1009");
    run_until(&mut [&mut sha], &clock, |p| incoming_call(p[0]).is_some());
    let call = incoming_call(&sha).expect("1009 rings");
    sha.ua.reject(clock.now(), call, 603).expect("decline");
    run_until(&mut [&mut sha], &clock, |_| {
        peers.event("ended", &second).is_some()
    });
    assert_eq!(peers.event("ended", &second).expect("ended")["code"], 603);

    // The one with the wrong password never got a binding: nothing rings.
    let third = peers.call("caller", "1003");
    run_until(&mut [&mut wrong], &clock, |_| {
        peers.event("ended", &third).is_some()
    });
    let code = peers.event("ended", &third).expect("ended")["code"].as_u64();
    assert!(matches!(code, Some(404 | 480)), "{code:?}");
    assert!(incoming_call(&wrong).is_none());
}

#[test]
fn jssip_calls_the_engine_which_answers_holds_sends_dtmf_and_hangs_up() {
    let pbx = Pbx::start().expect("the test PBX starts");
    let mut peers = peers_or_skip!(pbx);
    let clock = Clock(WallClock::now());
    let mut us = register(&pbx, "1001", &clock);
    peers.jssip("caller", "1002");

    let session = peers.call("caller", "1001");
    run_until(&mut [&mut us], &clock, |p| incoming_call(p[0]).is_some());
    let call = incoming_call(&us).expect("rings");
    run_until(&mut [&mut us], &clock, |_| {
        peers
            .find(|v| v["ev"] == "progress" && v["session"] == session.as_str() && v["code"] == 180)
            .is_some()
    });
    us.ua.answer(clock.now(), call, OFFER).expect("answer");
    run_until(&mut [&mut us], &clock, |p| {
        peers.event("accepted", &session).is_some() && answered(p[0], call)
    });
    assert!(matches!(
        us.ua.call_state(call),
        Some(CallState::Connected { .. })
    ));

    // JsSIP holds (re-INVITE a=sendonly) and resumes; we see both.
    let remote_hold = |p: &Phone, held: bool| {
        p.events
            .iter()
            .any(|e| matches!(e, Event::CallUpdated { remote_hold, .. } if *remote_hold == held))
    };
    peers.cmd(json!({"op": "hold", "session": session}));
    run_until(&mut [&mut us], &clock, |p| {
        remote_hold(p[0], true) && peers.event("held", &session).is_some()
    });
    peers.cmd(json!({"op": "hold", "session": session, "on": false}));
    run_until(&mut [&mut us], &clock, |p| {
        remote_hold(p[0], false) && peers.event("resumed", &session).is_some()
    });

    // DTMF by SIP INFO (application/dtmf-relay) both ways.
    us.ua.send_dtmf(clock.now(), call, '5', 160).expect("INFO");
    run_until(&mut [&mut us], &clock, |_| {
        peers
            .find(|v| v["ev"] == "dtmf" && v["session"] == session.as_str() && v["tone"] == "5")
            .is_some()
    });
    peers.cmd(json!({"op": "dtmf", "session": session, "tones": "7"}));
    run_until(&mut [&mut us], &clock, |p| {
        p[0].events
            .iter()
            .any(|e| matches!(e, Event::Dtmf { digit: '7', .. }))
    });

    // Our hold reaches JsSIP as a remote hold.
    us.ua.hold(clock.now(), call).expect("hold");
    run_until(&mut [&mut us], &clock, |_| {
        peers
            .find(|v| {
                v["ev"] == "hold" && v["session"] == session.as_str() && v["originator"] == "remote"
            })
            .is_some()
    });

    peers.on_session("hangup", &session);
    run_until(&mut [&mut us], &clock, |p| ended(p[0], call).is_some());
    assert_eq!(ended(&us, call), Some(EndReason::RemoteHangup));
}

#[test]
fn the_engine_calls_jssip_and_sipjs_which_answer_and_hang_up() {
    let pbx = Pbx::start().expect("the test PBX starts");
    let mut peers = peers_or_skip!(pbx);
    let clock = Clock(WallClock::now());
    let mut us = register(&pbx, "1001", &clock);
    peers.jssip("jssip", "1002");
    peers.sipjs("sipjs", "1003");

    // Us → JsSIP: its answer SDP reaches us; our BYE ends its session.
    let call = us.ua.call(clock.now(), "1002", OFFER).expect("call");
    run_until(&mut [&mut us], &clock, |_| {
        peers.incoming("jssip").is_some()
    });
    let session = peers.incoming("jssip").expect("JsSIP rings");
    run_until(&mut [&mut us], &clock, |p| progress(p[0], 180));
    peers.on_session("answer", &session);
    run_until(&mut [&mut us], &clock, |p| answered(p[0], call));
    assert!(us.events.iter().any(
        |e| matches!(e, Event::CallAnswered { sdp: Some(sdp), .. } if sdp.contains("ice-ufrag:ringside"))
    ));
    run_until(&mut [&mut us], &clock, |_| {
        peers.event("accepted", &session).is_some()
    });
    us.ua.hangup(clock.now(), call).expect("BYE");
    run_until(&mut [&mut us], &clock, |_| {
        peers.event("ended", &session).is_some()
    });
    assert_eq!(
        peers.event("ended", &session).expect("ended")["originator"],
        "remote"
    );

    // Us → SIP.js: it answers, then hangs up with its own BYE.
    let call = us.ua.call(clock.now(), "1003", OFFER).expect("call");
    run_until(&mut [&mut us], &clock, |_| {
        peers.incoming("sipjs").is_some()
    });
    let session = peers.incoming("sipjs").expect("SIP.js rings");
    peers.on_session("answer", &session);
    run_until(&mut [&mut us], &clock, |p| {
        answered(p[0], call) && peers.event("accepted", &session).is_some()
    });
    peers.on_session("hangup", &session);
    run_until(&mut [&mut us], &clock, |p| ended(p[0], call).is_some());
    assert_eq!(ended(&us, call), Some(EndReason::RemoteHangup));
}

#[test]
fn cancel_and_reject_cross_between_the_engine_and_jssip() {
    let pbx = Pbx::start().expect("the test PBX starts");
    let mut peers = peers_or_skip!(pbx);
    let clock = Clock(WallClock::now());
    let mut us = register(&pbx, "1001", &clock);
    peers.jssip("peer", "1002");

    // We CANCEL a ringing call to JsSIP.
    let call = us.ua.call(clock.now(), "1002", OFFER).expect("call");
    run_until(&mut [&mut us], &clock, |p| progress(p[0], 180));
    let first = peers.incoming("peer").expect("JsSIP rings");
    us.ua.hangup(clock.now(), call).expect("CANCEL");
    run_until(&mut [&mut us], &clock, |p| {
        peers.event("ended", &first).is_some() && p[0].ua.calls().count() == 0
    });
    assert_eq!(
        peers.event("ended", &first).expect("ended")["cause"],
        "Canceled"
    );

    // JsSIP CANCELs its ringing call to us.
    let session = peers.call("peer", "1001");
    run_until(&mut [&mut us], &clock, |p| incoming_call(p[0]).is_some());
    let incoming = incoming_call(&us).expect("rings");
    peers.on_session("hangup", &session);
    run_until(&mut [&mut us], &clock, |p| ended(p[0], incoming).is_some());
    assert_eq!(ended(&us, incoming), Some(EndReason::Cancelled));

    // JsSIP answers our call with 486: we see the rejection.
    let call = us.ua.call(clock.now(), "1002", OFFER).expect("call");
    run_until(&mut [&mut us], &clock, |_| {
        peers
            .find(|v| v["ev"] == "incoming" && v["session"] != first.as_str())
            .is_some()
    });
    let second = peers
        .find(|v| v["ev"] == "incoming" && v["session"] != first.as_str())
        .and_then(|v| v["session"].as_str().map(str::to_string))
        .expect("rings again");
    peers.cmd(json!({"op": "reject", "session": second, "status": 486}));
    run_until(&mut [&mut us], &clock, |p| ended(p[0], call).is_some());
    assert!(matches!(
        ended(&us, call),
        Some(EndReason::Rejected { code: 486, .. })
    ));
    run_until(&mut [&mut us], &clock, |p| {
        p[0].ua.transaction_count().1 == 0
    });
}

#[test]
fn our_blind_refer_makes_jssip_call_the_target() {
    let pbx = Pbx::start().expect("the test PBX starts");
    let mut peers = peers_or_skip!(pbx);
    let clock = Clock(WallClock::now());
    let mut a = register(&pbx, "1006", &clock);
    let mut c = register(&pbx, "1008", &clock);
    peers.jssip("b", "1002");

    let ab = a.ua.call(clock.now(), "1002", OFFER).expect("call");
    run_until(&mut [&mut a, &mut c], &clock, |_| {
        peers.incoming("b").is_some()
    });
    let ba = peers.incoming("b").expect("JsSIP rings");
    peers.on_session("answer", &ba);
    run_until(&mut [&mut a, &mut c], &clock, |p| answered(p[0], ab));

    // REFER → 202 → JsSIP calls 1008 → C answers → NOTIFY 200 → A done.
    a.ua.transfer_blind(clock.now(), ab, "1008").expect("REFER");
    run_until(&mut [&mut a, &mut c], &clock, |p| {
        incoming_call(p[1]).is_some()
    });
    let refer = peers.event("refer", &ba).expect("JsSIP accepted the REFER");
    assert!(
        refer["target"].as_str().is_some_and(|t| t.contains("1008")),
        "{refer}"
    );
    assert_eq!(refer["replaces"], false);
    assert!(c
        .events
        .iter()
        .any(|e| matches!(e, Event::IncomingCall { from, .. } if from.contains("1002"))));
    let cb = incoming_call(&c).expect("C rings");
    c.ua.answer(clock.now(), cb, OFFER).expect("answer");
    run_until(&mut [&mut a, &mut c], &clock, |p| ended(p[0], ab).is_some());
    assert_eq!(ended(&a, ab), Some(EndReason::Transferred));
    assert!(a.events.iter().any(|e| matches!(
        e,
        Event::TransferProgress {
            code: 200,
            done: true,
            ..
        }
    )));
    let child = refer["child"].as_str().expect("child session").to_string();
    run_until(&mut [&mut a, &mut c], &clock, |_| {
        peers.event("accepted", &child).is_some()
    });
}

#[test]
fn jssip_blind_refer_makes_the_engine_call_the_target() {
    let pbx = Pbx::start().expect("the test PBX starts");
    let mut peers = peers_or_skip!(pbx);
    let clock = Clock(WallClock::now());
    let mut b = register(&pbx, "1007", &clock);
    let mut c = register(&pbx, "1008", &clock);
    peers.jssip("a", "1002");

    let ab = peers.call("a", "1007");
    run_until(&mut [&mut b, &mut c], &clock, |p| {
        incoming_call(p[0]).is_some()
    });
    let ba = incoming_call(&b).expect("B rings");
    b.ua.answer(clock.now(), ba, OFFER).expect("answer");
    run_until(&mut [&mut b, &mut c], &clock, |_| {
        peers.event("accepted", &ab).is_some()
    });

    peers.cmd(json!({"op": "refer", "session": ab, "target": "1008"}));
    let mut request = None;
    run_until(&mut [&mut b, &mut c], &clock, |p| {
        request = p[0].events.iter().find_map(|e| match e {
            Event::TransferRequested {
                call,
                target,
                replaces,
                ..
            } => Some((*call, target.clone(), replaces.clone())),
            _ => None,
        });
        request.is_some()
    });
    let (call, target, replaces) = request.expect("transfer requested");
    assert_eq!(call, ba);
    assert!(target.contains("1008"), "{target}");
    assert!(replaces.is_none());
    let bc =
        b.ua.accept_transfer(clock.now(), call, &target, None, OFFER)
            .expect("B calls C");
    run_until(&mut [&mut b, &mut c], &clock, |p| {
        incoming_call(p[1]).is_some()
    });
    let cb = incoming_call(&c).expect("C rings");
    c.ua.answer(clock.now(), cb, OFFER).expect("answer");
    // JsSIP's ReferSubscriber is "accepted" on our NOTIFY with a 2xx sipfrag.
    run_until(&mut [&mut b, &mut c], &clock, |p| {
        peers.event("refer_accepted", &ab).is_some() && answered(p[0], bc)
    });
}

#[test]
fn our_attended_transfer_makes_jssip_replace_our_consultation_call() {
    let pbx = Pbx::start().expect("the test PBX starts");
    let mut peers = peers_or_skip!(pbx);
    let clock = Clock(WallClock::now());
    let mut a = register(&pbx, "1006", &clock);
    let mut c = register(&pbx, "1008", &clock);
    peers.jssip("b", "1002");

    // A talks to JsSIP B and consults C.
    let ab = a.ua.call(clock.now(), "1002", OFFER).expect("call B");
    run_until(&mut [&mut a, &mut c], &clock, |_| {
        peers.incoming("b").is_some()
    });
    let ba = peers.incoming("b").expect("B rings");
    peers.on_session("answer", &ba);
    let ac = a.ua.call(clock.now(), "1008", OFFER).expect("call C");
    run_until(&mut [&mut a, &mut c], &clock, |p| {
        incoming_call(p[1]).is_some()
    });
    let ca = incoming_call(&c).expect("C rings");
    c.ua.answer(clock.now(), ca, OFFER).expect("answer");
    run_until(&mut [&mut a, &mut c], &clock, |p| {
        answered(p[0], ab) && answered(p[0], ac)
    });

    // REFER with Refer-To …?Replaces=<A–C dialog>; JsSIP sends the INVITE
    // with Replaces to C, which matches it to its call with A.
    a.ua.transfer_attended(clock.now(), ab, ac)
        .expect("REFER with Replaces");
    let mut replacing = None;
    run_until(&mut [&mut a, &mut c], &clock, |p| {
        replacing = p[1].events.iter().find_map(|e| match e {
            Event::IncomingCall {
                call,
                replaces: Some(old),
                ..
            } if *old == ca => Some(*call),
            _ => None,
        });
        replacing.is_some()
    });
    assert_eq!(peers.event("refer", &ba).expect("refer")["replaces"], true);
    c.ua.answer(clock.now(), replacing.expect("replacing call"), OFFER)
        .expect("answer");
    run_until(&mut [&mut a, &mut c], &clock, |p| {
        ended(p[0], ab).is_some() && ended(p[0], ac).is_some() && ended(p[1], ca).is_some()
    });
    assert_eq!(ended(&c, ca), Some(EndReason::Replaced));
    assert_eq!(ended(&a, ab), Some(EndReason::Transferred));
}

#[test]
fn jssip_attended_transfer_makes_the_engine_replace_a_call() {
    let pbx = Pbx::start().expect("the test PBX starts");
    let mut peers = peers_or_skip!(pbx);
    let clock = Clock(WallClock::now());
    let mut b = register(&pbx, "1007", &clock);
    let mut c = register(&pbx, "1008", &clock);
    peers.jssip("a", "1002");

    // JsSIP A talks to engine B and engine C.
    let ab = peers.call("a", "1007");
    run_until(&mut [&mut b, &mut c], &clock, |p| {
        incoming_call(p[0]).is_some()
    });
    let ba = incoming_call(&b).expect("B rings");
    b.ua.answer(clock.now(), ba, OFFER).expect("answer");
    let ac = peers.call("a", "1008");
    run_until(&mut [&mut b, &mut c], &clock, |p| {
        incoming_call(p[1]).is_some()
    });
    let ca = incoming_call(&c).expect("C rings");
    c.ua.answer(clock.now(), ca, OFFER).expect("answer");
    run_until(&mut [&mut b, &mut c], &clock, |_| {
        peers.event("accepted", &ab).is_some() && peers.event("accepted", &ac).is_some()
    });

    // JsSIP's Refer-To with Replaces (its encoding) → our INVITE with
    // Replaces → C replaces its call with A.
    peers.cmd(json!({"op": "refer", "session": ab, "target": "1008", "replaces": ac}));
    let mut request = None;
    run_until(&mut [&mut b, &mut c], &clock, |p| {
        request = p[0].events.iter().find_map(|e| match e {
            Event::TransferRequested {
                call,
                target,
                replaces: Some(r),
                ..
            } => Some((*call, target.clone(), r.clone())),
            _ => None,
        });
        request.is_some()
    });
    let (call, target, replaces) = request.expect("transfer with Replaces");
    b.ua.accept_transfer(clock.now(), call, &target, Some(&replaces), OFFER)
        .expect("INVITE with Replaces");
    let mut replacing = None;
    run_until(&mut [&mut b, &mut c], &clock, |p| {
        replacing = p[1].events.iter().find_map(|e| match e {
            Event::IncomingCall {
                call,
                replaces: Some(old),
                ..
            } if *old == ca => Some(*call),
            _ => None,
        });
        replacing.is_some()
    });
    c.ua.answer(clock.now(), replacing.expect("replacing call"), OFFER)
        .expect("answer");
    run_until(&mut [&mut b, &mut c], &clock, |p| {
        ended(p[1], ca).is_some() && peers.event("ended", &ac).is_some()
    });
    assert_eq!(ended(&c, ca), Some(EndReason::Replaced));
}

#[test]
fn blf_notifies_reach_the_engine_for_a_call_between_two_jssip_users() {
    use ringside::event::dialog_info::{BlfState, DialogInfo, DialogInfoTracker, TrackerUpdate};
    let pbx = Pbx::start().expect("the test PBX starts");
    let mut peers = peers_or_skip!(pbx);
    let clock = Clock(WallClock::now());
    let mut us = register(&pbx, "1001", &clock);
    peers.jssip("caller", "1002");
    peers.jssip("callee", "1004");

    us.ua
        .subscribe(
            clock.now(),
            "1004",
            "dialog",
            Some("application/dialog-info+xml"),
            600,
        )
        .expect("SUBSCRIBE dialog");
    run_until(&mut [&mut us], &clock, |p| {
        p[0].events.iter().any(|e| {
            matches!(
                e,
                Event::SubscriptionChanged {
                    status: SubscriptionStatus::Active { .. },
                    ..
                }
            )
        })
    });

    // Track 1004's BLF state from every dialog NOTIFY we got so far.
    let blf = |p: &Phone| {
        let mut tracker = DialogInfoTracker::default();
        let mut state = BlfState::Idle;
        for e in &p.events {
            if let Event::Notify { package, body, .. } = e {
                if package == "dialog" && !body.is_empty() {
                    if let Ok(doc) = DialogInfo::parse(body.as_bytes()) {
                        if let TrackerUpdate::Applied(s) = tracker.apply(&doc) {
                            state = s;
                        }
                    }
                }
            }
        }
        state
    };

    let session = peers.call("caller", "1004");
    run_until(&mut [&mut us], &clock, |p| {
        matches!(blf(p[0]), BlfState::Ringing { .. })
    });
    let ringing = peers.incoming("callee").expect("1004 rings");
    peers.on_session("answer", &ringing);
    run_until(&mut [&mut us], &clock, |p| blf(p[0]) == BlfState::InCall);
    peers.on_session("hangup", &session);
    run_until(&mut [&mut us], &clock, |p| blf(p[0]) == BlfState::Idle);
}

#[test]
fn pidf_presence_crosses_between_the_engine_and_sipjs_both_ways() {
    let pbx = Pbx::start().expect("the test PBX starts");
    let mut peers = peers_or_skip!(pbx);
    let clock = Clock(WallClock::now());
    let mut us = register(&pbx, "1001", &clock);
    peers.sipjs("sipjs", "1005");

    // Our PUBLISH (digest-challenged, then 200 with SIP-ETag) → SIP.js NOTIFY.
    let ours = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:1001@pbx.test\"><tuple id=\"r1\"><status><basic>open</basic></status><note>Ringside interop</note></tuple></presence>";
    us.ua
        .publish(clock.now(), "presence", "application/pidf+xml", ours, 600)
        .expect("PUBLISH");
    run_until(&mut [&mut us], &clock, |p| {
        p[0].events.iter().any(|e| {
            matches!(
                e,
                Event::PublicationChanged {
                    status: PublicationStatus::Published { .. },
                    ..
                }
            )
        })
    });
    let reply = peers
        .cmd(json!({"op": "subscribe", "peer": "sipjs", "target": "1001", "event": "presence"}));
    let sub = reply["sub"].as_str().expect("sub").to_string();
    run_until(&mut [&mut us], &clock, |_| {
        peers.notified(&sub, "Ringside interop")
    });

    // SIP.js's PUBLISH → our presence subscription's NOTIFY.
    peers.cmd(json!({"op": "publish", "peer": "sipjs", "note": "SIP.js is here"}));
    us.ua
        .subscribe(
            clock.now(),
            "1005",
            "presence",
            Some("application/pidf+xml"),
            600,
        )
        .expect("SUBSCRIBE presence");
    run_until(&mut [&mut us], &clock, |p| {
        p[0].events.iter().any(|e| {
            matches!(e, Event::Notify { package, body, .. } if package == "presence" && body.contains("SIP.js is here"))
        })
    });
    let body = us
        .events
        .iter()
        .find_map(|e| match e {
            Event::Notify { package, body, .. } if package == "presence" => Some(body.clone()),
            _ => None,
        })
        .expect("presence body");
    let presence = ringside::event::pidf::Presence::parse(body.as_bytes())
        .expect("our PIDF parser reads SIP.js's");
    assert_eq!(presence.basic, Some(ringside::event::pidf::Basic::Open));
}

#[test]
fn an_unsolicited_mwi_notify_reaches_the_engine() {
    use ringside::event::message_summary::MessageSummary;
    let pbx = Pbx::start().expect("the test PBX starts");
    let clock = Clock(WallClock::now());
    let mut us = register(&pbx, "1005", &clock);
    // The injector waits for the final response, which only a turning engine gives.
    let status = std::thread::scope(|s| {
        let inject = s.spawn(|| pbx.inject_mwi_unsolicited("1005", 3, 4));
        run_until(&mut [&mut us], &clock, |p| {
            inject.is_finished()
                && p[0].events.iter().any(|e| matches!(e, Event::UnsolicitedNotify { package, .. } if package == "message-summary"))
        });
        inject.join().expect("injector thread")
    })
    .expect("NOTIFY sent");
    let body = us
        .events
        .iter()
        .find_map(|e| match e {
            Event::UnsolicitedNotify { body, .. } => Some(body.clone()),
            _ => None,
        })
        .expect("body");
    let summary = MessageSummary::parse(body.as_bytes()).expect("message-summary");
    assert!(summary.waiting);
    let voice = summary.voice.expect("voice counts");
    assert_eq!((voice.new, voice.old), (3, 4));
    assert_eq!(status, 200, "the engine answered the NOTIFY 200");
}
