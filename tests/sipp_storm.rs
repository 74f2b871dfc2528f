//! Soak: SIPp (Debian `sip-tester`) fires bounded storms over UDP into the
//! test Kamailio, which relays them over the engine's WebSocket — unsolicited
//! MWI NOTIFYs (tests/sipp/notify_storm.xml) and short calls
//! (tests/sipp/call_storm.xml). Loopback only, a fixed count, at most
//! STORM_LIMIT of wall time. SIPp fails a call for any answer the engine
//! owes and does not give; the test checks each message or call was reported
//! exactly once and nothing is left over. Skipped with a note if `sipp` is
//! not installed (`cargo xtask test` installs it from xtask/apt-packages.txt).

mod common;

use std::collections::HashSet;
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant as WallClock};

use common::*;
use ringside::call::EndReason;
use ringside::engine::Event;
use ringside::event::message_summary::MessageSummary;
use ringside_testkit::Pbx;

const NOTIFY_COUNT: u32 = 500;
const CALL_COUNT: u32 = 100;
const STORM_LIMIT: Duration = Duration::from_secs(30);

/// Runs `scenario` against `user` (`count` calls at `rate` per second)
/// while turning the phone, calling `on_turn` after each turn; fails the test
/// with SIPp's error log if any SIPp call failed.
fn storm(
    pbx: &Pbx,
    phone: &mut Phone,
    clock: &Clock,
    scenario: &str,
    user: &str,
    (count, rate): (u32, u32),
    mut on_turn: impl FnMut(&mut Phone),
) {
    // a free local UDP port for SIPp (it would take 5060 otherwise)
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free UDP port")
        .port();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    let run_dir = std::env::temp_dir().join(format!("ringside-sipp-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&run_dir).expect("temp dir for sipp's logs");
    let info = pbx.info();
    let mut sipp = Command::new("sipp")
        .arg(format!("127.0.0.1:{}", info.sip_port))
        .arg("-sf")
        .arg(&scenario)
        .args(["-s", user, "-key", "token", &info.token])
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-t", "u1"])
        .args([
            "-m",
            &count.to_string(),
            "-r",
            &rate.to_string(),
            "-l",
            "100",
        ])
        .args([
            "-timeout",
            &format!("{}s", STORM_LIMIT.as_secs()),
            "-timeout_error",
        ])
        .args(["-nostdin", "-trace_err"])
        .current_dir(&run_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp starts");
    let start = WallClock::now();
    let status = loop {
        phone.turn(clock);
        on_turn(phone);
        if let Some(status) = sipp.try_wait().expect("sipp status") {
            break status;
        }
        if start.elapsed() > STORM_LIMIT + Duration::from_secs(5) {
            let _ = sipp.kill();
            panic!("the storm did not end within {STORM_LIMIT:?}");
        }
    };
    // whatever is still in flight on our socket
    let settle = WallClock::now() + Duration::from_millis(300);
    while WallClock::now() < settle {
        phone.turn(clock);
        on_turn(phone);
    }
    let errors = std::fs::read_dir(&run_dir)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().contains("_errors"))
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&run_dir);
    assert!(status.success(), "sipp failed calls ({status}): {errors}");
    eprintln!(
        "storm: {count} × {} at {rate}/s done in {:?}",
        scenario.display(),
        start.elapsed()
    );
}

fn sipp_missing() -> bool {
    if Command::new("sipp").arg("-v").output().is_ok() {
        return false;
    }
    eprintln!("SKIPPED: sipp is not installed (apt-get install sip-tester, or cargo xtask test)");
    true
}

#[test]
fn a_sipp_notify_storm_through_kamailio_is_answered_and_reported_once_each() {
    if sipp_missing() {
        return;
    }
    let pbx = Pbx::start().expect("the test PBX starts");
    let clock = Clock(WallClock::now());
    let mut phone = register(&pbx, "1005", &clock);
    storm(
        &pbx,
        &mut phone,
        &clock,
        "notify_storm.xml",
        "1005",
        (NOTIFY_COUNT, 250),
        |_| {},
    );
    let mut counts: Vec<u32> = phone
        .events
        .iter()
        .filter_map(|e| match e {
            Event::UnsolicitedNotify { package, body, .. } if package == "message-summary" => {
                MessageSummary::parse(body.as_bytes())
                    .ok()
                    .and_then(|s| s.voice)
                    .map(|v| v.new)
            }
            _ => None,
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=NOTIFY_COUNT).collect::<Vec<_>>(),
        "each NOTIFY reported exactly once"
    );
    assert_eq!(
        phone.ua.transaction_count(),
        (0, 0),
        "no transaction left over"
    );
}

#[test]
fn a_sipp_call_storm_through_kamailio_is_answered_and_every_call_ends() {
    if sipp_missing() {
        return;
    }
    let pbx = Pbx::start().expect("the test PBX starts");
    let clock = Clock(WallClock::now());
    let mut phone = register(&pbx, "1006", &clock);
    let mut answered = HashSet::new();
    // answer every call as it rings; at most 100 overlap (SIPp -l)
    storm(
        &pbx,
        &mut phone,
        &clock,
        "call_storm.xml",
        "1006",
        (CALL_COUNT, 50),
        |p| {
            let ringing: Vec<_> = p
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::IncomingCall { call, .. } => Some(*call),
                    _ => None,
                })
                .filter(|c| !answered.contains(c))
                .collect();
            for call in ringing {
                p.ua.answer(clock.now(), call, OFFER).expect("answer");
                answered.insert(call);
            }
        },
    );
    let ended: Vec<_> = phone
        .events
        .iter()
        .filter_map(|e| match e {
            Event::CallEnded { call, reason } => Some((*call, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(answered.len(), CALL_COUNT as usize, "every call rang once");
    assert_eq!(ended.len(), CALL_COUNT as usize, "every call ended once");
    assert!(
        ended
            .iter()
            .all(|(call, reason)| answered.contains(call) && *reason == EndReason::RemoteHangup),
        "{ended:?}"
    );
    assert_eq!(phone.ua.calls().count(), 0, "no call left over");
    // Answered INVITEs stay in RFC 6026's Accepted state for Timer L (64·T1)
    // to absorb retransmissions; once it fires, nothing may be left.
    // (The jump also fires a keepalive OPTIONS: count server transactions.)
    assert_eq!(
        phone.ua.transaction_count().0,
        0,
        "no client transaction left"
    );
    let later = ringside::Instant::from_millis(clock.now().as_millis() + 64 * 500 + 1);
    phone.ua.handle_timeout(later);
    assert_eq!(
        phone.ua.transaction_count().1,
        0,
        "no server transaction left over after Timer L"
    );
}
