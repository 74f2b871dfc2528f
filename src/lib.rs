//! Ringside's core: a sans-IO SIP user agent for a browser softphone, and the
//! models shared by the extension's parts.
//!
//! # Guide
//!
//! [`engine::UserAgent`] is the whole SIP stack of one account on one WebSocket
//! connection. It never does I/O, never reads a clock and never draws from a
//! global RNG: the glue (the extension's service worker, or a test) feeds it
//!
//! - connection changes ([`handle_connected`](engine::UserAgent::handle_connected),
//!   [`handle_disconnected`](engine::UserAgent::handle_disconnected)),
//! - each WebSocket message ([`handle_transport`](engine::UserAgent::handle_transport)),
//! - the passing of time ([`handle_timeout`](engine::UserAgent::handle_timeout)),
//! - commands ([`register`](engine::UserAgent::register), ...),
//!
//! each with `now`, and then drains what it produced: messages to send
//! ([`poll_transmit`](engine::UserAgent::poll_transmit)), things to tell the user
//! ([`poll_event`](engine::UserAgent::poll_event)) and when to wake it next
//! ([`poll_timeout`](engine::UserAgent::poll_timeout)). Inside, one module per
//! protocol concept: [`codec`] (bytes ↔ `rsip` messages), [`transaction`] (RFC
//! 3261 §17), [`dialog`] (§12), [`auth`] (digest), [`registration`],
//! [`keepalive`], [`call`] (INVITE sessions, transfer), [`subscription`] (RFC
//! 6665), [`publication`] (RFC 3903), [`message`] (RFC 3428), with
//! [`request`] shaping what we send and [`random`] the only randomness; the
//! models of [`sdp`] and [`event`] bodies are for the application to read.
//!
//! Every protocol module is tested by ladders on a hand-stepped clock;
//! `tests/sim.rs` runs two engines through an in-memory proxy under
//! proptest, and `tests/engine_pbx.rs` runs them against the real Kamailio.
//!
//! # Drive loop
//!
//! ```
//! use ringside::engine::{Event, UaConfig, UserAgent};
//! use ringside::Instant;
//!
//! # struct Socket { sent: Vec<String> }
//! # impl Socket {
//! #     fn send(&mut self, text: &str) { self.sent.push(text.to_string()) }
//! #     fn next_message(&mut self) -> Option<Vec<u8>> { None }
//! # }
//! # let mut ws = Socket { sent: Vec::new() };
//! let mut ua = UserAgent::new(UaConfig::new("1001", "pbx.test", "pass1001"), 0x5eed);
//! let mut now = Instant::from_millis(0); // performance.now() in the worker
//!
//! ua.handle_connected(now); // the WebSocket opened
//! ua.register(now);
//! loop {
//!     // Feed whatever arrived, then let due timers fire.
//!     while let Some(bytes) = ws.next_message() {
//!         if let Err(e) = ua.handle_transport(now, &bytes) {
//!             eprintln!("dropped: {e}"); // bad input never stops the engine
//!         }
//!     }
//!     ua.handle_timeout(now);
//!
//!     // Drain everything the engine produced.
//!     while let Some(t) = ua.poll_transmit() {
//!         ws.send(&t.text);
//!     }
//!     while let Some(event) = ua.poll_event() {
//!         match event {
//!             Event::RegistrationChanged(state) => println!("registration: {state:?}"),
//!             Event::KeepaliveFailed => { /* close the socket; reconnect; handle_connected */ }
//!             _ => {} // calls, subscriptions, messages: see engine::Event
//!         }
//!     }
//!
//!     // Sleep until the next timer (or the next message), then advance the clock.
//!     match ua.poll_timeout() {
//!         Some(deadline) if deadline > now => now = deadline,
//!         _ => break,
//!     }
//!     # if now.as_millis() > 60_000 { break; }
//! }
//! assert!(ws.sent[0].starts_with("REGISTER sip:pbx.test SIP/2.0\r\n"));
//! ```

pub mod codec;
pub mod event;
pub mod history;
pub mod sdp;
pub mod account;
pub mod backoff;
pub mod protocol;
pub mod supervisor;
pub mod auth;
pub mod c2c;
pub mod call;
pub mod call_handling;
pub mod dialog;
pub mod engine;
pub mod function_keys;
pub mod keepalive;
pub mod message;
pub mod phone;
pub mod presence;
pub mod settings;
pub mod ui_state;
pub mod ui_edit;
pub mod ui_keys;
pub mod ui_call_handling;
pub mod publication;
pub mod random;
pub mod registration;
pub mod request;
pub mod schedule;
pub mod subscription;
pub mod transaction;
pub mod time;

pub use time::Instant;
