//! The engine under hostile input in every state it can reach: two agents
//! (1001, 1002) piped back to back, driven by the fuzzer as a little program
//! of operations — deliver a message, deliver it with bytes flipped, answer
//! the last request with any status and any extra header lines, inject raw
//! bytes, let time pass, issue a user command. Registration, calls,
//! subscriptions and their timers are all reachable, so mutated responses
//! and requests hit in-dialog code, not only the parser. The only failure is
//! a panic (the service worker would die with it).
#![no_main]

use std::collections::VecDeque;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use ringside::engine::{UaConfig, UserAgent};
use ringside::{codec, Instant};

const OFFER: &str =
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=sendrecv\r\n";

struct World {
    uas: [UserAgent; 2],
    wire: [VecDeque<String>; 2],
    now: Instant,
}

impl World {
    fn new() -> World {
        let now = Instant::from_millis(0);
        let mut uas = [
            UserAgent::new(UaConfig::new("1001", "pbx.test", "pw"), 1),
            UserAgent::new(UaConfig::new("1002", "pbx.test", "pw"), 2),
        ];
        for ua in &mut uas {
            ua.handle_connected(now);
            ua.register(now);
        }
        let mut w = World {
            uas,
            wire: Default::default(),
            now,
        };
        w.drain();
        w
    }

    fn drain(&mut self) {
        for i in 0..2 {
            while let Some(t) = self.uas[i].poll_transmit() {
                self.wire[i].push_back(t.text);
            }
            while self.uas[i].poll_event().is_some() {}
        }
    }

    fn feed(&mut self, to: usize, bytes: &[u8]) {
        let _ = self.uas[to].handle_transport(self.now, bytes);
        self.drain();
    }

    fn command(&mut self, who: usize, op: u8) {
        let now = self.now;
        let ua = &mut self.uas[who];
        let call = ua.calls().map(|(h, _)| h).next();
        match (op % 12, call) {
            (0, _) => drop(ua.call(now, "1002", OFFER)),
            (1, Some(c)) => drop(ua.answer(now, c, OFFER)),
            (2, Some(c)) => drop(ua.hangup(now, c)),
            (3, Some(c)) => drop(ua.hold(now, c)),
            (4, Some(c)) => drop(ua.resume(now, c)),
            (5, Some(c)) => drop(ua.send_dtmf(now, c, '1', 100)),
            (6, Some(c)) => drop(ua.transfer_blind(now, c, "1003")),
            (7, _) => drop(ua.subscribe(now, "1002", "dialog", None, 60)),
            (8, _) => drop(ua.send_message(now, "1002", "text/plain", "x")),
            (9, _) => drop(ua.publish(now, "presence", "application/pidf+xml", "<presence/>", 60)),
            (10, _) => ua.unregister(now),
            (11, _) => {
                ua.handle_disconnected(now);
                ua.handle_connected(now);
            }
            _ => {}
        }
        self.drain();
    }
}

/// A response to `request` with `code`, plus fuzzer-chosen header lines and body.
fn response(request: &str, code: u16, extra: &[u8]) -> Vec<u8> {
    let mut out = format!("SIP/2.0 {code} X\r\n").into_bytes();
    for line in request.split("\r\n").skip(1).take_while(|l| !l.is_empty()) {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if matches!(name.as_str(), "via" | "from" | "to" | "call-id" | "cseq") {
            out.extend_from_slice(line.as_bytes());
            if name == "to" && !line.contains("tag=") {
                out.extend_from_slice(b";tag=fz");
            }
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"Contact: <sip:peer@192.0.2.1>\r\n");
    out.extend_from_slice(extra);
    out
}

fuzz_target!(|data: &[u8]| {
    let mut w = World::new();
    let mut ops = data.split(|b| *b == 0xFF);
    while let Some(op) = ops.next() {
        let Some((&kind, rest)) = op.split_first() else {
            continue;
        };
        let from = usize::from(kind & 1);
        let to = 1 - from;
        match kind >> 1 & 7 {
            // Deliver the next message from one agent to the other.
            0 => {
                if let Some(m) = w.wire[from].pop_front() {
                    w.feed(to, m.as_bytes());
                }
            }
            // Deliver it with bytes overwritten at fuzzer-chosen offsets.
            1 => {
                if let Some(m) = w.wire[from].pop_front() {
                    let mut bytes = m.into_bytes();
                    for pair in rest.chunks(2) {
                        if let [at, value] = pair {
                            let len = bytes.len().max(1);
                            if let Some(b) = bytes.get_mut(usize::from(*at) * 7 % len) {
                                *b = *value;
                            }
                        }
                    }
                    w.feed(to, &bytes);
                }
            }
            // Answer the next request of `from` with any status and extras.
            2 => {
                if let Some(m) = w.wire[from].pop_front() {
                    if !m.starts_with("SIP/2.0") {
                        let code = match rest {
                            [hi, lo, ..] => 100 + u16::from_be_bytes([*hi, *lo]) % 600,
                            _ => 200,
                        };
                        let extra = rest.get(2..).unwrap_or(&[]);
                        w.feed(from, &response(&m, code, extra));
                    }
                }
            }
            // Raw bytes, as any frame from the network.
            3 => w.feed(from, rest),
            // Time passes (up to ~40 s), timers fire.
            4 => {
                let ms = rest.first().map_or(1000, |b| u64::from(*b) * 160);
                w.now = w.now + Duration::from_millis(ms);
                for i in 0..2 {
                    let now = w.now;
                    w.uas[i].handle_timeout(now);
                }
                w.drain();
            }
            // A user command.
            _ => w.command(from, rest.first().copied().unwrap_or(0)),
        }
    }
    // Whatever it sent must parse: peers have to read it.
    for q in &w.wire {
        for m in q {
            assert!(
                codec::parse(m.as_bytes()).is_ok(),
                "engine sent an unparseable message:\n{m}"
            );
        }
    }
});
