//! Ringside's core: a sans-IO SIP user agent and the models shared by the
//! extension's parts. (Guide and drive-loop example: see the engine module once it lands.)

pub mod codec;
pub mod event;
pub mod sdp;
pub mod auth;
pub mod random;
pub mod account;
pub mod backoff;
pub mod protocol;
pub mod time;

pub use time::Instant;
