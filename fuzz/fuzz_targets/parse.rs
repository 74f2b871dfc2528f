//! One input, every parser that takes network bytes: the SIP codec (and its
//! serializer, whose output must parse again), the typed extra headers, digest
//! challenges, SDP and the event-package bodies. The only failure is a panic (or
//! a message we print but cannot read back).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringside::codec::{self, challenge::Challenge, headers::*};
use ringside::event::{dialog_info::DialogInfo, message_summary::MessageSummary, pidf::Presence};
use ringside::sdp::{Direction, Sdp};

fn headers(s: &str) {
    fn check<H: ExtHeader + PartialEq + std::fmt::Debug>(s: &str) {
        if let Ok(h) = H::parse(s) {
            // What we print must read back the same: we put these values on the wire.
            let again = H::parse(&h.to_string());
            assert_eq!(again.as_ref(), Ok(&h), "{} {s:?} printed as {h}", H::NAME);
        }
    }
    check::<Event>(s);
    check::<SubscriptionState>(s);
    check::<AllowEvents>(s);
    check::<ReferTo>(s);
    check::<ReferredBy>(s);
    check::<Replaces>(s);
    check::<SessionExpires>(s);
    check::<MinSe>(s);
    check::<RSeq>(s);
    check::<RAck>(s);
    check::<CallInfo>(s);
    check::<AlertInfo>(s);
    if let Ok(cs) = Challenge::parse_all(s) {
        for c in cs {
            let again = Challenge::parse_all(&c.to_string());
            assert_eq!(again, Ok(vec![c.clone()]), "challenge {s:?} printed as {c}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = codec::parse(data) {
        let _ = (
            codec::from_tag(&msg),
            codec::to_tag(&msg),
            codec::cseq(&msg),
        );
        let _ = (codec::top_via_branch(&msg), codec::content_type(&msg));
        let _ = codec::challenge::challenges(&msg);
        let text = codec::serialize(&msg);
        if let Err(e) = codec::parse(text.as_bytes()) {
            panic!("serialized message does not parse again: {e}\n{text}");
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        headers(s);
        if let Ok(sdp) = Sdp::parse(s) {
            let _ = sdp
                .with_direction(Direction::SendOnly)
                .without_video()
                .direction();
            let again = Sdp::parse(&sdp.to_string());
            assert_eq!(again.as_ref(), Ok(&sdp), "SDP does not round-trip");
        }
    }
    let _ = DialogInfo::parse(data).map(|d| d.blf());
    let _ = MessageSummary::parse(data);
    let _ = Presence::parse(data);
});
