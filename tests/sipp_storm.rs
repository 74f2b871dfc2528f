//! Soak: SIPp (Debian `sip-tester`) fires a bounded storm of unsolicited MWI
//! NOTIFYs over UDP into the test Kamailio, which relays every one over the
//! engine's WebSocket. Loopback only, NOTIFY_COUNT messages, at most
//! STORM_LIMIT of wall time. The engine must answer each 200 (SIPp counts
//! the answers: a missing one fails its call), report each exactly once, and
//! end with no transaction left over. Skipped with a note if `sipp` is not
//! installed (`cargo xtask test` installs it from xtask/apt-packages.txt).

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant as WallClock};

use common::*;
use ringside::engine::Event;
use ringside::event::message_summary::MessageSummary;
use ringside_testkit::Pbx;

const NOTIFY_COUNT: u32 = 500;
const RATE_PER_S: u32 = 250;
const STORM_LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_sipp_notify_storm_through_kamailio_is_answered_and_reported_once_each() {
    if Command::new("sipp").arg("-v").output().is_err() {
        eprintln!(
            "SKIPPED: sipp is not installed (apt-get install sip-tester, or cargo xtask test)"
        );
        return;
    }
    let pbx = Pbx::start().expect("the test PBX starts");
    let clock = Clock(WallClock::now());
    let mut phone = register(&pbx, "1005", &clock);

    // a free local UDP port for SIPp (it would take 5060 otherwise)
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free UDP port")
        .port();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/notify_storm.xml");
    let run_dir = tempdir();
    let info = pbx.info();
    let mut sipp = Command::new("sipp")
        .arg(format!("127.0.0.1:{}", info.sip_port))
        .arg("-sf")
        .arg(&scenario)
        .args(["-s", "1005", "-key", "token", &info.token])
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-t", "u1"])
        .args([
            "-m",
            &NOTIFY_COUNT.to_string(),
            "-r",
            &RATE_PER_S.to_string(),
            "-l",
            "100",
        ])
        .args([
            "-timeout",
            &format!("{}s", STORM_LIMIT.as_secs()),
            "-timeout_error",
        ])
        .args(["-nostdin", "-trace_err", "-trace_stat"])
        .current_dir(&run_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp starts");

    let start = WallClock::now();
    let status = loop {
        phone.turn(&clock);
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
        phone.turn(&clock);
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
    assert!(status.success(), "sipp failed calls ({status}): {errors}");

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
    eprintln!(
        "storm: {NOTIFY_COUNT} NOTIFYs at {RATE_PER_S}/s answered in {:?}",
        start.elapsed()
    );
    let _ = std::fs::remove_dir_all(&run_dir);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ringside-sipp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir for sipp's logs");
    dir
}
