//! engine.notify_per_s: how many dialog-info NOTIFYs per second one engine
//! takes in on an established BLF subscription — codec parse, transaction,
//! subscription dialog match, the 200 OK it answers and the Notify event —
//! as the worker would feed them from its WebSocket.
//!
//! notify-bench [--count N] [--out FILE]
//! prints one JSON line {"per_s", "count", "avg_bytes", "samples"}; --out
//! writes the measured messages (a JSON array of strings) so the JsSIP
//! baseline (tests/peers/bench-notify.mjs) parses exactly the same bytes.

use std::time::Instant as WallClock;

use ringside::engine::{Event, Transport, UaConfig, UserAgent};
use ringside::Instant;

const ROUNDS: usize = 3;

fn main() {
    let mut count = 20_000usize;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--count", Some(n)) => count = n.parse().unwrap_or(count),
            ("--out", Some(path)) => out = Some(path),
            _ => {
                eprintln!("usage: notify-bench [--count N] [--out FILE]");
                std::process::exit(2);
            }
        }
    }

    let mut ua = {
        let mut config = UaConfig::new("1001", "pbx.test", "pass1001");
        config.transport = Transport::Ws;
        UserAgent::new(config, 0x5eed)
    };
    let mut clock = 0u64;
    ua.handle_connected(Instant::from_millis(clock));
    ua.subscribe(
        Instant::from_millis(clock),
        "1002",
        "dialog",
        Some("application/dialog-info+xml"),
        3600,
    )
    .expect("subscribe");
    let subscribe = std::iter::from_fn(|| ua.poll_transmit())
        .map(|t| t.text)
        .find(|t| t.starts_with("SUBSCRIBE "))
        .expect("the engine sent a SUBSCRIBE");
    let dialog = Dialog::from_subscribe(&subscribe);
    ua.handle_transport(Instant::from_millis(clock), dialog.ok().as_bytes())
        .expect("200 OK to the SUBSCRIBE");
    drain(&mut ua);

    // Warm-up round, then ROUNDS measured rounds, all with fresh CSeqs.
    let messages: Vec<String> = (0..count * (ROUNDS + 1))
        .map(|i| dialog.notify(i))
        .collect();
    let mut samples = Vec::new();
    for (round, chunk) in messages.chunks(count).enumerate() {
        let start = WallClock::now();
        let mut answered = 0;
        let mut notified = 0;
        for message in chunk {
            clock += 1;
            let now = Instant::from_millis(clock);
            if ua.handle_transport(now, message.as_bytes()).is_ok() {
                ua.handle_timeout(now);
            }
            let (a, n) = drain(&mut ua);
            answered += a;
            notified += n;
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(
            (answered, notified),
            (chunk.len(), chunk.len()),
            "every NOTIFY answered 200 and reported"
        );
        if round > 0 {
            samples.push(chunk.len() as f64 / secs);
        }
    }
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let measured = &messages[count..count * 2];
    if let Some(path) = out {
        let json = json_array(measured);
        std::fs::write(&path, json).expect("write the messages");
    }
    let avg_bytes = measured.iter().map(String::len).sum::<usize>() / measured.len().max(1);
    println!(
        "{{\"per_s\":{median:.0},\"count\":{count},\"avg_bytes\":{avg_bytes},\"samples\":[{}]}}",
        samples
            .iter()
            .map(|s| format!("{s:.0}"))
            .collect::<Vec<_>>()
            .join(",")
    );
}

/// (200 responses, Notify events) the engine produced since the last drain.
fn drain(ua: &mut UserAgent) -> (usize, usize) {
    let answered = std::iter::from_fn(|| ua.poll_transmit())
        .filter(|t| t.text.starts_with("SIP/2.0 200"))
        .count();
    let notified = std::iter::from_fn(|| ua.poll_event())
        .filter(|e| matches!(e, Event::Notify { .. }))
        .count();
    (answered, notified)
}

/// The subscription dialog as the notifier (the PBX) sees it.
struct Dialog {
    via: String,
    from: String,
    to: String,
    call_id: String,
    cseq: String,
    contact: String,
}

impl Dialog {
    fn from_subscribe(text: &str) -> Dialog {
        let header = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
                .unwrap_or_else(|| panic!("SUBSCRIBE without {name}"))
        };
        let contact = header("Contact:");
        let uri = contact
            .split_once('<')
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(uri, _)| uri.to_string())
            .expect("Contact URI");
        Dialog {
            via: header("Via:"),
            from: header("From:"),
            to: header("To:"),
            call_id: header("Call-ID:"),
            cseq: header("CSeq:"),
            contact: uri,
        }
    }

    fn ok(&self) -> String {
        format!(
            "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {};tag=pbx-tag\r\nCall-ID: {}\r\nCSeq: {}\r\n\
             Contact: <sip:1002@127.0.0.1:8088;transport=ws>\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n",
            self.via, self.from, self.to, self.call_id, self.cseq
        )
    }

    /// The i-th NOTIFY: Kamailio's shape, the call cycling through
    /// early → confirmed → terminated.
    fn notify(&self, i: usize) -> String {
        let state = ["early", "confirmed", "terminated"][i % 3];
        let body = format!(
            "<?xml version=\"1.0\"?>\r\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"{v}\" \
             state=\"full\" entity=\"sip:1002@pbx.test\">\r\n  <dialog id=\"call{c}\" call-id=\"call{c}@127.0.0.1\" \
             local-tag=\"lt{c}\" remote-tag=\"rt{c}\" direction=\"recipient\">\r\n    <state>{state}</state>\r\n    \
             <remote><identity>sip:1003@pbx.test</identity><target uri=\"sip:1003@pbx.test\"/></remote>\r\n    \
             <local><identity>sip:1002@pbx.test</identity><target uri=\"sip:1002@pbx.test\"/></local>\r\n  \
             </dialog>\r\n</dialog-info>\r\n",
            v = i + 1,
            c = i / 3
        );
        format!(
            "NOTIFY {contact} SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bK.n{i};rport\r\n\
             Max-Forwards: 70\r\nFrom: {to};tag=pbx-tag\r\nTo: {from}\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} NOTIFY\r\nContact: <sip:1002@127.0.0.1:8088;transport=ws>\r\nEvent: dialog\r\n\
             Subscription-State: active;expires=3600\r\nContent-Type: application/dialog-info+xml\r\n\
             Content-Length: {len}\r\n\r\n{body}",
            contact = self.contact,
            to = self.to,
            from = self.from,
            call_id = self.call_id,
            cseq = i + 1,
            len = body.len(),
        )
    }
}

/// The messages as a JSON array of strings (only ASCII with CR/LF and quotes
/// to escape, so no JSON dependency is needed).
fn json_array(messages: &[String]) -> String {
    let escaped: Vec<String> = messages
        .iter()
        .map(|m| {
            let body = m
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\r', "\\r")
                .replace('\n', "\\n");
            format!("\"{body}\"")
        })
        .collect();
    format!("[{}]\n", escaped.join(",\n"))
}
