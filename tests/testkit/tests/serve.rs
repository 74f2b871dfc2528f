//! `ringside-pbx serve` as node and the xtask use it: one JSON line when
//! ready, SIGHUP restarts on the same ports, SIGTERM stops Kamailio.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn gone(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on the serve process this test spawned.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

#[test]
fn serve_announces_restarts_on_sighup_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringside-pbx"))
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn ringside-pbx serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let ws_url = first["ws_url"].as_str().unwrap().to_string();
    assert!(ws_url.starts_with("ws://127.0.0.1:"));
    assert!(first["wss_url"]
        .as_str()
        .unwrap()
        .starts_with("wss://127.0.0.1:"));
    assert!(first["ctl"].as_str().unwrap().starts_with("unix:"));
    let run_dir = std::path::PathBuf::from(first["run_dir"].as_str().unwrap());
    let info = ringside_testkit::PbxInfo::load(&run_dir).unwrap();
    assert_eq!(info.ws_url(), ws_url);
    let kamailio = first["pid"].as_u64().unwrap();

    signal(child.id(), libc::SIGHUP);
    let second: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(second["ws_url"], first["ws_url"]);
    assert_eq!(second["sip_port"], first["sip_port"]);
    assert_ne!(second["pid"], first["pid"]);
    assert!(gone(kamailio), "the old kamailio is gone after a restart");
    assert_eq!(info.options_ping(Duration::from_secs(1)).unwrap(), 200);

    signal(child.id(), libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    assert!(gone(second["pid"].as_u64().unwrap()));
    assert!(!run_dir.exists(), "the temporary run dir is removed");
}

#[test]
fn serve_stops_when_its_stdin_pipe_closes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringside-pbx"))
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn ringside-pbx serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert!(gone(ready["pid"].as_u64().unwrap()));
}

#[test]
fn bad_arguments_are_refused_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_ringside-pbx"))
        .args(["serve", "--ws-port", "notaport"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ws-port"));
    let out = Command::new(env!("CARGO_BIN_EXE_ringside-pbx"))
        .arg("frobnicate")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}
