//! The engine against the real thing: the project's Kamailio 5.6 test PBX
//! (tests/pbx, started on free ports by ringside-testkit), reached over a
//! real WebSocket (`tungstenite`, test-only) with the `sip` subprotocol,
//! driven by a wall clock. What the unit ladders assume about a registrar
//! and a proxy is checked here against one.

mod common;

use std::time::{Duration, Instant as WallClock};

use common::*;
use ringside::engine::Event;
use ringside::registration::{RegistrationFailure, RegistrationState};
use ringside_testkit::Pbx;

#[test]
fn kamailio_accepts_md5_and_sha256_registrations_and_rejects_a_wrong_password() {
    let pbx = Pbx::start().expect("the test PBX starts (cargo xtask test installs kamailio)");
    let clock = Clock(WallClock::now());

    // 1001: MD5 challenge, one authenticated REGISTER, our .invalid Contact bound.
    let mut md5 = register(&pbx, "1001", &clock);
    assert_eq!(
        pbx.register_count("1001").expect("log"),
        2,
        "REGISTER, then REGISTER with credentials"
    );
    let contacts = pbx.contacts("1001").expect("ul.dump");
    assert!(
        contacts.iter().any(|c| c.contains(".invalid")),
        "{contacts:?}"
    );

    // 1009 is challenged with SHA-256 only (RFC 8760); 1010 with SHA-256 and MD5.
    let sha = register(&pbx, "1009", &clock);
    assert!(sha.sent.iter().any(|m| m.contains("algorithm=SHA-256")));
    let both = register(&pbx, "1010", &clock);
    let answer = both
        .sent
        .iter()
        .find(|m| m.contains("Authorization: Digest"))
        .expect("answered");
    assert!(
        answer.contains("algorithm=SHA-256"),
        "strongest offered algorithm: {answer}"
    );

    // A wrong password: one answer to the challenge, then AuthRejected and quiet.
    let mut wrong = Phone::connect(&pbx, "1002", "not-the-password", &clock);
    wrong.ua.register(clock.now());
    run_until(&mut [&mut wrong], &clock, |p| {
        matches!(p[0].registration(), RegistrationState::Failed(_))
    });
    assert_eq!(
        wrong.registration(),
        RegistrationState::Failed(RegistrationFailure::AuthRejected)
    );
    let deadline = WallClock::now() + Duration::from_millis(500);
    while WallClock::now() < deadline {
        wrong.turn(&clock);
    }
    assert_eq!(
        pbx.register_count("1002").expect("log"),
        2,
        "no REGISTER storm"
    );

    // Unregister removes our binding.
    md5.ua.unregister(clock.now());
    run_until(&mut [&mut md5], &clock, |_| {
        pbx.contacts("1001").map(|c| c.is_empty()).unwrap_or(false)
    });
}

#[test]
fn a_call_through_kamailio_rings_connects_and_hangs_up() {
    let pbx = Pbx::start().expect("the test PBX starts");
    let clock = Clock(WallClock::now());
    let mut alice = register(&pbx, "1003", &clock);
    let mut bob = register(&pbx, "1004", &clock);

    // INVITE (challenged by the proxy with 407, answered once) → 180 → 200 → ACK.
    let call = alice.ua.call(clock.now(), "1004", OFFER).expect("call");
    let mut incoming = None;
    run_until(&mut [&mut alice, &mut bob], &clock, |p| {
        incoming = p[1].events.iter().find_map(|e| match e {
            Event::IncomingCall { call, .. } => Some(*call),
            _ => None,
        });
        incoming.is_some()
            && p[0]
                .events
                .iter()
                .any(|e| matches!(e, Event::CallProgress { code: 180, .. }))
    });
    let incoming = incoming.expect("bob rings");
    bob.ua.answer(clock.now(), incoming, OFFER).expect("answer");
    run_until(&mut [&mut alice, &mut bob], &clock, |p| {
        p.iter().all(|ph| {
            ph.events
                .iter()
                .any(|e| matches!(e, Event::CallAnswered { .. }))
        })
    });

    // Hold by re-INVITE through the proxy, then BYE.
    alice.ua.hold(clock.now(), call).expect("hold");
    run_until(&mut [&mut alice, &mut bob], &clock, |p| {
        p[0].events.iter().any(|e| {
            matches!(
                e,
                Event::CallUpdated {
                    local_hold: true,
                    ..
                }
            )
        })
    });
    alice.ua.hangup(clock.now(), call).expect("hangup");
    run_until(&mut [&mut alice, &mut bob], &clock, |p| {
        p[1].events
            .iter()
            .any(|e| matches!(e, Event::CallEnded { .. }))
    });
}

#[test]
fn voicemail_notify_reaches_a_message_summary_subscriber() {
    let pbx = Pbx::start().expect("the test PBX starts");
    let clock = Clock(WallClock::now());
    let mut phone = register(&pbx, "1005", &clock);
    phone
        .ua
        .subscribe(
            clock.now(),
            "1005",
            "message-summary",
            Some("application/simple-message-summary"),
            600,
        )
        .expect("subscribe");
    run_until(&mut [&mut phone], &clock, |p| {
        p[0].events.iter().any(|e| {
            matches!(
                e,
                Event::SubscriptionChanged {
                    status: ringside::subscription::SubscriptionStatus::Active { .. },
                    ..
                }
            )
        })
    });
    pbx.inject_mwi("1005", 2, 1).expect("MWI PUBLISH");
    run_until(&mut [&mut phone], &clock, |p| {
        p[0].events
            .iter()
            .any(|e| matches!(e, Event::Notify { body, .. } if body.contains("2/1")))
    });
}

#[test]
fn cancel_and_busy_through_kamailio() {
    use ringside::call::EndReason;
    let pbx = Pbx::start().expect("the test PBX starts");
    let clock = Clock(WallClock::now());
    let mut alice = register(&pbx, "1003", &clock);
    let mut bob = register(&pbx, "1004", &clock);

    // Caller gives up while it rings: CANCEL hop by hop, 487 back.
    let call = alice.ua.call(clock.now(), "1004", OFFER).expect("call");
    run_until(&mut [&mut alice, &mut bob], &clock, |p| {
        incoming_call(p[1]).is_some()
    });
    let ringing = incoming_call(&bob).expect("ringing");
    run_until(&mut [&mut alice, &mut bob], &clock, |p| {
        p[0].events
            .iter()
            .any(|e| matches!(e, Event::CallProgress { code: 180, .. }))
    });
    alice.ua.hangup(clock.now(), call).expect("cancel");
    run_until(&mut [&mut alice, &mut bob], &clock, |p| {
        ended(p[1], ringing).is_some() && p[0].ua.calls().count() == 0
    });
    assert_eq!(ended(&bob, ringing), Some(EndReason::Cancelled));
    assert_eq!(ended(&alice, call), Some(EndReason::LocalHangup));

    // Callee busy: 486 relayed, ACKed hop by hop.
    let call = alice.ua.call(clock.now(), "1004", OFFER).expect("call");
    run_until(&mut [&mut alice, &mut bob], &clock, |p| {
        incoming_call(p[1]).is_some_and(|c| c != ringing)
    });
    let second = incoming_call(&bob).expect("ringing again");
    bob.ua.reject(clock.now(), second, 486).expect("busy");
    run_until(&mut [&mut alice, &mut bob], &clock, |p| {
        ended(p[0], call).is_some()
    });
    assert!(matches!(
        ended(&alice, call),
        Some(EndReason::Rejected { code: 486, .. })
    ));
    run_until(&mut [&mut alice, &mut bob], &clock, |p| {
        p.iter().all(|ph| ph.ua.transaction_count().1 == 0)
    });
}

#[test]
fn blind_transfer_through_kamailio() {
    use ringside::call::EndReason;
    let pbx = Pbx::start().expect("the test PBX starts");
    let clock = Clock(WallClock::now());
    let mut a = register(&pbx, "1006", &clock);
    let mut b = register(&pbx, "1007", &clock);
    let mut c = register(&pbx, "1008", &clock);

    let ab = a.ua.call(clock.now(), "1007", OFFER).expect("call");
    run_until(&mut [&mut a, &mut b, &mut c], &clock, |p| {
        incoming_call(p[1]).is_some()
    });
    let ba = incoming_call(&b).expect("b rings");
    b.ua.answer(clock.now(), ba, OFFER).expect("answer");
    run_until(&mut [&mut a, &mut b, &mut c], &clock, |p| {
        p[0].events
            .iter()
            .any(|e| matches!(e, Event::CallAnswered { .. }))
    });

    // A transfers B to C: REFER → 202 → NOTIFY 100; B calls C; C answers;
    // NOTIFY 200 → A hangs up.
    a.ua.transfer_blind(clock.now(), ab, "1008").expect("REFER");
    let mut request = None;
    run_until(&mut [&mut a, &mut b, &mut c], &clock, |p| {
        request = p[1].events.iter().find_map(|e| match e {
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
    let bc =
        b.ua.accept_transfer(clock.now(), call, &target, replaces.as_ref(), OFFER)
            .expect("B calls C");
    run_until(&mut [&mut a, &mut b, &mut c], &clock, |p| {
        incoming_call(p[2]).is_some()
    });
    let cb = incoming_call(&c).expect("c rings");
    c.ua.answer(clock.now(), cb, OFFER).expect("C answers");
    run_until(&mut [&mut a, &mut b, &mut c], &clock, |p| {
        ended(p[0], ab).is_some() && ended(p[1], ba).is_some()
    });
    assert_eq!(ended(&a, ab), Some(EndReason::Transferred));
    assert!(a.events.iter().any(|e| matches!(
        e,
        Event::TransferProgress {
            code: 200,
            done: true,
            ..
        }
    )));
    assert!(matches!(
        b.ua.call_state(bc),
        Some(ringside::call::CallState::Connected { .. })
    ));
}

#[test]
fn presence_publish_is_seen_by_a_subscriber_and_blf_follows_a_call() {
    use ringside::subscription::SubscriptionStatus;
    let pbx = Pbx::start().expect("the test PBX starts");
    let clock = Clock(WallClock::now());
    let mut watcher = register(&pbx, "1001", &clock);
    let mut busy = register(&pbx, "1002", &clock);
    let mut other = register(&pbx, "1003", &clock);

    // PIDF: 1002 publishes "open", 1001 subscribes to its presence.
    let pidf = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:1002@pbx.test\"><tuple id=\"t1\"><status><basic>open</basic></status><note>Ringside test</note></tuple></presence>";
    busy.ua
        .publish(clock.now(), "presence", "application/pidf+xml", pidf, 600)
        .expect("PUBLISH");
    run_until(&mut [&mut busy], &clock, |p| {
        p[0].events.iter().any(|e| {
            matches!(
                e,
                Event::PublicationChanged {
                    status: ringside::publication::PublicationStatus::Published { .. },
                    ..
                }
            )
        })
    });
    watcher
        .ua
        .subscribe(
            clock.now(),
            "1002",
            "presence",
            Some("application/pidf+xml"),
            600,
        )
        .expect("SUBSCRIBE presence");
    run_until(&mut [&mut watcher, &mut busy], &clock, |p| {
        p[0].events.iter().any(|e| matches!(e, Event::Notify { package, body, .. } if package == "presence" && body.contains("Ringside test")))
    });

    // BLF: 1001 watches 1002's dialogs; a call from 1003 shows up.
    watcher
        .ua
        .subscribe(
            clock.now(),
            "1002",
            "dialog",
            Some("application/dialog-info+xml"),
            600,
        )
        .expect("SUBSCRIBE dialog");
    run_until(&mut [&mut watcher], &clock, |p| {
        p[0].events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::SubscriptionChanged {
                        status: SubscriptionStatus::Active { .. },
                        ..
                    }
                )
            })
            .count()
            >= 2
    });
    let _call = other.ua.call(clock.now(), "1002", OFFER).expect("call");
    run_until(&mut [&mut watcher, &mut busy, &mut other], &clock, |p| {
        p[0].events.iter().any(|e| matches!(e, Event::Notify { package, body, .. } if package == "dialog" && body.contains("early")))
    });
}

#[test]
fn attended_transfer_through_kamailio_replaces_the_consultation_call() {
    use ringside::call::EndReason;
    let pbx = Pbx::start().expect("the test PBX starts");
    let clock = Clock(WallClock::now());
    let mut a = register(&pbx, "1006", &clock);
    let mut b = register(&pbx, "1007", &clock);
    let mut c = register(&pbx, "1008", &clock);

    // A talks to B, puts B on hold, consults C.
    let ab = a.ua.call(clock.now(), "1007", OFFER).expect("call B");
    run_until(&mut [&mut a, &mut b, &mut c], &clock, |p| {
        incoming_call(p[1]).is_some()
    });
    let ba = incoming_call(&b).expect("b rings");
    b.ua.answer(clock.now(), ba, OFFER).expect("answer");
    let ac = a.ua.call(clock.now(), "1008", OFFER).expect("call C");
    run_until(&mut [&mut a, &mut b, &mut c], &clock, |p| {
        incoming_call(p[2]).is_some()
    });
    let ca = incoming_call(&c).expect("c rings");
    c.ua.answer(clock.now(), ca, OFFER).expect("answer");
    run_until(&mut [&mut a, &mut b, &mut c], &clock, |p| {
        p[0].events
            .iter()
            .filter(|e| matches!(e, Event::CallAnswered { .. }))
            .count()
            == 2
    });

    // REFER B to C with Replaces naming A–C; B's INVITE replaces it at C.
    a.ua.transfer_attended(clock.now(), ab, ac)
        .expect("REFER with Replaces");
    let mut request = None;
    run_until(&mut [&mut a, &mut b, &mut c], &clock, |p| {
        request = p[1].events.iter().find_map(|e| match e {
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
    run_until(&mut [&mut a, &mut b, &mut c], &clock, |p| {
        replacing = p[2].events.iter().find_map(|e| match e {
            Event::IncomingCall {
                call,
                replaces: Some(old),
                ..
            } if *old == ca => Some(*call),
            _ => None,
        });
        replacing.is_some()
    });
    c.ua.answer(
        clock.now(),
        replacing.expect("C sees the replacing call"),
        OFFER,
    )
    .expect("answer");
    run_until(&mut [&mut a, &mut b, &mut c], &clock, |p| {
        ended(p[0], ab).is_some() && ended(p[0], ac).is_some() && ended(p[2], ca).is_some()
    });
    assert_eq!(ended(&c, ca), Some(EndReason::Replaced));
    assert_eq!(ended(&a, ab), Some(EndReason::Transferred));
}
