//! The harness shared by the tests against the real Kamailio: one engine on
//! one native WebSocket (`tungstenite`, test-only), a wall clock, and a loop
//! that turns every phone until a condition holds.
#![allow(dead_code)] // each test file uses its own subset

use std::net::TcpStream;
use std::time::{Duration, Instant as WallClock};

use ringside::engine::{Event, Transport, UaConfig, UserAgent};
use ringside::registration::RegistrationState;
use ringside::Instant;
use ringside_testkit::Pbx;
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

pub const OFFER: &str =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendrecv\r\n";

/// One engine on one WebSocket, with everything it sent and reported.
pub struct Phone {
    pub ua: UserAgent,
    pub ws: WebSocket<TcpStream>,
    pub sent: Vec<String>,
    pub received: Vec<String>,
    pub events: Vec<Event>,
}

impl Phone {
    pub fn connect(pbx: &Pbx, user: &str, password: &str, clock: &Clock) -> Phone {
        let url = pbx.info().ws_url();
        let addr = url.trim_start_matches("ws://").to_string();
        let stream = TcpStream::connect(&addr).expect("TCP to the PBX");
        let mut request = url.as_str().into_client_request().expect("ws request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "sip".parse().expect("header value"),
        );
        let (ws, _) = tungstenite::client(request, stream).expect("WebSocket handshake");
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("read timeout");
        let mut config = UaConfig::new(user, "pbx.test", password);
        config.transport = Transport::Ws;
        let seed = user
            .bytes()
            .fold(7u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
        let mut ua = UserAgent::new(config, seed);
        ua.handle_connected(clock.now());
        Phone {
            ua,
            ws,
            sent: Vec::new(),
            received: Vec::new(),
            events: Vec::new(),
        }
    }

    /// One turn of the drive loop: read what arrived, fire timers, send.
    pub fn turn(&mut self, clock: &Clock) {
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => {
                    let _ = self.ua.handle_transport(clock.now(), text.as_bytes());
                    self.received.push(text.to_string());
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => panic!("WebSocket failed: {e}"),
            }
        }
        self.ua.handle_timeout(clock.now());
        while let Some(t) = self.ua.poll_transmit() {
            self.ws.send(Message::text(t.text.clone())).expect("send");
            self.sent.push(t.text);
        }
        while let Some(e) = self.ua.poll_event() {
            self.events.push(e);
        }
    }

    pub fn registration(&self) -> RegistrationState {
        self.ua.registration_state().clone()
    }
}

pub struct Clock(pub WallClock);

impl Clock {
    pub fn now(&self) -> Instant {
        Instant::from_millis(self.0.elapsed().as_millis() as u64)
    }
}

/// Turns every phone until `done` holds, for at most 10 s.
pub fn run_until(
    phones: &mut [&mut Phone],
    clock: &Clock,
    mut done: impl FnMut(&[&mut Phone]) -> bool,
) {
    let deadline = WallClock::now() + Duration::from_secs(10);
    while WallClock::now() < deadline {
        for p in phones.iter_mut() {
            p.turn(clock);
        }
        if done(phones) {
            return;
        }
    }
    for (i, p) in phones.iter().enumerate() {
        let first = |m: &String| m.lines().next().unwrap_or_default().to_string();
        eprintln!("phone {i} events: {:?}", p.events);
        eprintln!(
            "phone {i} sent: {:?}",
            p.sent.iter().map(first).collect::<Vec<_>>()
        );
        eprintln!(
            "phone {i} received: {:?}",
            p.received.iter().map(first).collect::<Vec<_>>()
        );
        if std::env::var_os("RINGSIDE_PBX_TRACE").is_some() {
            for m in p.sent.iter().chain(&p.received) {
                eprintln!("--- phone {i}\n{m}");
            }
        }
    }
    panic!("condition not reached in 10 s");
}

pub fn registered(p: &Phone) -> bool {
    matches!(p.registration(), RegistrationState::Registered { .. })
}

pub fn register(pbx: &Pbx, user: &str, clock: &Clock) -> Phone {
    let mut phone = Phone::connect(pbx, user, &format!("pass{user}"), clock);
    phone.ua.register(clock.now());
    run_until(&mut [&mut phone], clock, |p| registered(p[0]));
    phone
}

pub fn incoming_call(p: &Phone) -> Option<ringside::call::CallHandle> {
    p.events.iter().rev().find_map(|e| match e {
        Event::IncomingCall { call, .. } => Some(*call),
        _ => None,
    })
}

pub fn ended(p: &Phone, call: ringside::call::CallHandle) -> Option<ringside::call::EndReason> {
    p.events.iter().find_map(|e| match e {
        Event::CallEnded { call: c, reason } if *c == call => Some(reason.clone()),
        _ => None,
    })
}
