//! RFC 4475 "SIP Torture Test Messages", run through `codec::parse`.
//!
//! The messages are written out from the RFC text (§3), lines joined with CRLF as
//! on the wire. RFC 4475 §2.2 renders some octets symbolically; those are written
//! here as the octets they stand for (BEL/NUL/DEL in intmeth, the UTF-8 reason
//! phrase of unreason). mpart01's binary S/MIME part cannot be reproduced from the
//! RFC's rendering: it is replaced by binary octets of our own with a matching
//! Content-Length, which exercises the same thing (a non-UTF-8 body).
//!
//! For each message the RFC says what a conformant element does; for a UA that is
//! one of: handle it (parse and read the right fields), refuse it as malformed
//! (400), or recognise a condition it must answer specially (416, 501, 505, 420).
//! `CodecError::status_code` carries that answer, and a connected `UserAgent` fed
//! the message must send exactly that response (or nothing, for a response, an
//! ACK, or a request whose Via/From/To/Call-ID/CSeq are missing). Nothing may panic.
//!
//! Deviations from RFC 4475 that come from rsip 0.4 are listed at the test that
//! shows them (search for "rsip deviation").

use ringside::codec::{self, CodecError};
use ringside::engine::{EngineError, UaConfig, UserAgent};
use ringside::Instant;
use rsip::message::HeadersExt;
use rsip::{Method, SipMessage};

/// The RFC's text with LF line ends, as sent: CRLF.
fn wire(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

fn valid(name: &str, text: &str) -> SipMessage {
    match codec::parse(&wire(text)) {
        Ok(m) => m,
        Err(e) => panic!("{name}: valid message refused: {e}"),
    }
}

/// Refused by the codec, and answered by the engine with `answer` (or not at
/// all: responses, ACK, and requests whose Via/From/To/Call-ID/CSeq are lost).
fn refused(name: &str, answer: Option<u16>, text: &str) -> CodecError {
    let bytes = wire(text);
    let e = match codec::parse(&bytes) {
        Ok(m) => panic!("{name}: invalid message accepted: {m:?}"),
        Err(e) => e,
    };
    assert_eq!(
        engine_answer(name, &bytes),
        answer,
        "{name}: engine's answer"
    );
    e
}

/// The status code of what a connected engine sends back for `bytes`, which
/// it must report as unparseable.
fn engine_answer(name: &str, bytes: &[u8]) -> Option<u16> {
    let now = Instant::from_millis(1_000);
    let mut ua = UserAgent::new(UaConfig::new("1001", "pbx.test", "pass1001"), 4475);
    ua.handle_connected(now);
    while ua.poll_transmit().is_some() {}
    let result = ua.handle_transport(now, bytes);
    assert!(
        matches!(result, Err(EngineError::Codec(_))),
        "{name}: {result:?}"
    );
    let sent: Vec<String> = std::iter::from_fn(|| ua.poll_transmit())
        .map(|t| t.text)
        .collect();
    assert!(sent.len() <= 1, "{name}: {sent:?}");
    let text = sent.first()?;
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status
        .strip_prefix("SIP/2.0 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|c| c.parse().ok());
    // RFC 3261 §8.2.6.2: the request's identifiers are copied, To gets our tag.
    for name_ in ["Via: ", "From: ", "To: ", "Call-ID: ", "CSeq: "] {
        assert!(
            lines.clone().any(|l| l.starts_with(name_)),
            "{name}: no {name_}in {text}"
        );
    }
    assert!(
        lines
            .clone()
            .any(|l| l.starts_with("To: ")
                && l.to_ascii_lowercase().replace(' ', "").contains(";tag=")),
        "{name}: {text}"
    );
    assert!(
        text.ends_with("Content-Length: 0\r\n\r\n"),
        "{name}: {text}"
    );
    code
}

const SDP_150: &str = "v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
";

// ───────────────────────── 3.1.1 Valid messages ─────────────────────────

#[test]
fn wsinv_3_1_1_1_short_tortuous_invite() {
    let m = valid(
        "wsinv",
        r#"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : 150
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \"\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.3
s=-
c=IN IP4 192.0.2.4
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
"#,
    );
    assert_eq!(codec::to_tag(&m).as_deref(), Some("1918181833n"));
    assert_eq!(codec::from_tag(&m).as_deref(), Some("98asjd8"));
    assert_eq!(codec::call_id(&m), Some("wsinv.ndaksdj@192.0.2.1"));
    assert_eq!(codec::cseq(&m), Some((9, Method::Invite)));
    // The first Via is the UDP one; the compact `v` line carries two more.
    assert_eq!(codec::top_via_branch(&m).as_deref(), Some("390skdjuw"));
    assert_eq!(codec::headers(&m, "Via").len(), 3);
    assert_eq!(
        codec::header(&m, "NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(
        codec::header(&m, "UnknownHeaderWithUnusualValue"),
        Some(";;,,;;,;")
    );
    assert_eq!(codec::header(&m, "Subject"), Some(""));
    assert_eq!(m.body().len(), 150);
    assert!(codec::content_type(&m).as_deref() == Some("application/sdp"));
    assert_eq!(m.contact_headers().len(), 1);
}

#[test]
fn intmeth_3_1_1_2_wide_range_of_valid_characters() {
    let mut text = String::from(
        "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~
To: \"BEL:\\\u{07} NUL:\\\u{00} DEL:\\\u{7f}\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>
From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.
Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{
CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~
Max-Forwards: 255
extensionHeader-!.%*+_`'~:\u{feff}大停電
Content-Length: 0

",
    );
    text = text.replace('\n', "\r\n");
    // A method we do not implement, with a matching CSeq: the framing, header
    // names, quoted control characters and UTF-8 all pass; the UA answers 501.
    let e = codec::parse(text.as_bytes()).unwrap_err();
    assert_eq!(
        e,
        CodecError::UnknownMethod("!interesting-Method0123456789_*+`.%indeed'~".into())
    );
    assert_eq!(e.status_code(), Some(501));
    assert_eq!(engine_answer("intmeth", text.as_bytes()), Some(501));
}

#[test]
fn esc01_3_1_1_3_valid_use_of_percent_escaping() {
    let m = valid(
        "esc01",
        &format!(
            "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%75se%72@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
Content-Length: 150

{SDP_150}"
        ),
    );
    assert_eq!(
        codec::call_id(&m),
        Some("esc01.239409asdfakjkn23onasd0-3234")
    );
    assert_eq!(codec::from_tag(&m).as_deref(), Some("938"));
    assert_eq!(codec::content_type(&m).as_deref(), Some("application/sdp"));
    assert_eq!(m.body().len(), 150);
}

#[test]
fn escnull_3_1_1_4_escaped_nulls_in_uris() {
    let m = valid(
        "escnull",
        "REGISTER sip:example.com SIP/2.0
To: sip:null-%00-null@example.com
From: sip:null-%00-null@example.com;tag=839923423
Max-Forwards: 70
Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Contact: <sip:%00@host5.example.com>
Contact: <sip:%00%00@host5.example.com>
L:0

",
    );
    assert_eq!(m.contact_headers().len(), 2);
    assert_eq!(codec::from_tag(&m).as_deref(), Some("839923423"));
}

#[test]
fn esc02_3_1_1_5_percent_that_is_not_an_escape() {
    // RE%47IST%45R is not REGISTER (no unescaping in a method): a UA answers 501.
    let e = refused(
        "esc02",
        Some(501),
        "RE%47IST%45R sip:registrar.example.com SIP/2.0
To: \"%Z%45\" <sip:resource@example.com>
From: \"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234
CSeq: 29344 RE%47IST%45R
Max-Forwards: 70
Contact: <sip:alias1@host1.example.com>
C%6Fntact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
l: 0

",
    );
    assert_eq!(e, CodecError::UnknownMethod("RE%47IST%45R".into()));
    // The same message as REGISTER parses, and C%6Fntact is a header of its own.
    let m = valid(
        "esc02 as REGISTER",
        "REGISTER sip:registrar.example.com SIP/2.0
To: \"%Z%45\" <sip:resource@example.com>
From: \"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234
CSeq: 29344 REGISTER
Max-Forwards: 70
Contact: <sip:alias1@host1.example.com>
C%6Fntact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
l: 0

",
    );
    assert_eq!(m.contact_headers().len(), 2);
    assert_eq!(
        codec::header(&m, "C%6Fntact"),
        Some("<sip:alias2@host2.example.com>")
    );
    assert_eq!(
        codec::top_via_branch(&m).as_deref(),
        Some("z9hG4bK209%fzsnel234")
    );
}

#[test]
fn lwsdisp_3_1_1_6_no_lws_between_display_name_and_bracket() {
    let m = valid(
        "lwsdisp",
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0

",
    );
    assert_eq!(codec::from_tag(&m).as_deref(), Some("323"));
}

#[test]
fn longreq_3_1_1_7_long_values_in_header_fields() {
    let extreme = "extreme".repeat(10);
    let long = "long".repeat(20);
    let name = "name".repeat(25);
    let caller = "amazinglylongcallername".repeat(5);
    let tag = format!("12{}424", "982".repeat(50));
    let mut vias = String::new();
    for (i, n) in [
        "Via", "v", "V", "Via", "ViA", "VIa", "VIA", "via", "viA", "vIa", "vIA", "V ", "v ", "V  ",
        "v  ", "Via ", "Via  ",
    ]
    .iter()
    .enumerate()
    {
        vias.push_str(&format!("{n}: SIP/2.0/TCP sip{}.example.com\n", 33 - i));
    }
    for i in (1..=16).rev() {
        vias.push_str(&format!("Via: SIP/2.0/TCP sip{i}.example.com\n"));
    }
    let text = format!(
        "INVITE sip:user@example.com SIP/2.0
To: \"I have a user name of {extreme} proportion\"<sip:user@example.com:6000;unknownparam1=very{long}value;longparam{name}=shortvalue;very{}ParameterNameWithNoValue>
F: sip:{caller}@example.net;tag={tag};unknownheaderparam{}=unknowheaderparam{};unknownValueless{}
Call-ID: longreq.one{}longcallid
CSeq: 3882340 INVITE
Unknown-{}-Name: unknown-{long}-value; unknown-{long}-parameter-name = unknown-{long}-parameter-value
{vias}Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=very{}branchvalue
Max-Forwards: 70
Contact: <sip:{caller}@host5.example.net>
Content-Type: application/sdp
l: 150

{SDP_150}",
        "long".repeat(25),
        "name".repeat(20),
        "value".repeat(15),
        "paramname".repeat(10),
        "really".repeat(20),
        "Long".repeat(20),
        "long".repeat(50),
    );
    let m = valid("longreq", &text);
    assert_eq!(codec::headers(&m, "Via").len(), 34);
    assert_eq!(codec::from_tag(&m), Some(tag));
    assert_eq!(codec::top_via_branch(&m), None, "sip33 has no branch");
    assert_eq!(m.body().len(), 150);
}

#[test]
fn dblreq_3_1_1_8_extra_trailing_octets_are_dropped() {
    let m = valid(
        "dblreq",
        "REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=43251j3j324
Max-Forwards: 8
I: dblreq.0ha0isndaksdj99sdfafnl3lk233412
Contact: sip:j.user@host.example.com
CSeq: 8 REGISTER
Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492
Content-Length: 0


INVITE sip:joe@example.com SIP/2.0
t: sip:joe@example.com
From: sip:caller@example.net;tag=141334
Max-Forwards: 8
Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234
Content-Type: application/sdp
Content-Length: 150

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.15
s=-
c=IN IP4 192.0.2.15
t=0 0
m=audio 49217 RTP/AVP 0 12
m =video 3227 RTP/AVP 31
a=rtpmap:31 LPC
",
    );
    assert_eq!(codec::cseq(&m), Some((8, Method::Register)));
    assert!(m.body().is_empty());
}

#[test]
fn semiuri_3_1_1_9_semicolon_separated_parameters_in_user_part() {
    let m = valid(
        "semiuri",
        "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Call-ID: semiuri.0ha0isndaksdj
CSeq: 8 OPTIONS
Accept: application/sdp, application/pkcs7-mime,
        multipart/mixed, multipart/signed,
        message/sip, message/sipfrag
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw
l: 0

",
    );
    assert_eq!(
        codec::header(&m, "Accept"),
        Some("application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, message/sip, message/sipfrag")
    );
}

#[test]
fn transports_3_1_1_10_varied_and_unknown_transport_types() {
    let m = valid(
        "transports",
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID:  transports.kijh4akdnaqjkwendsasfdj
Accept: application/sdp
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw
Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf
Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj
Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en
Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee
l: 0

",
    );
    assert_eq!(codec::headers(&m, "via").len(), 5);
    assert_eq!(codec::top_via_branch(&m).as_deref(), Some("z9hG4bKkdjuw"));
}

#[test]
fn mpart01_3_1_1_11_multipart_mime_message() {
    let mut body = b"--7a9cbec02ceef655\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\nHello\r\n--7a9cbec02ceef655\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n".to_vec();
    body.extend((0u8..=255).chain([0x30, 0x82, 0x52, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7]));
    body.extend_from_slice(b"\r\n--7a9cbec02ceef655--\r\n");
    let mut msg = wire(&format!(
        "MESSAGE sip:kumiko@example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport
Max-Forwards: 70
Route: <sip:127.0.0.1:5080>
Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=
Contact: <sip:fluffy@127.0.0.1:5070>
To: <sip:kumiko@example.org>
From: <sip:fluffy@example.com>;tag=2fb0dcc9
Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..
CSeq: 1 MESSAGE
Content-Transfer-Encoding: binary
Content-Type: multipart/mixed;boundary=7a9cbec02ceef655
Date: Sat, 15 Oct 2005 04:44:56 GMT
User-Agent: SIPimp.org/0.2.5 (curses)
Content-Length: {}

",
        body.len()
    ));
    msg.extend_from_slice(&body);
    let m = codec::parse(&msg).expect("mpart01");
    assert_eq!(m.body(), &body);
    assert_eq!(codec::content_type(&m).as_deref(), Some("multipart/mixed"));
    assert_eq!(codec::cseq(&m), Some((1, Method::Message)));
}

#[test]
fn unreason_3_1_1_12_unusual_reason_phrase() {
    let body = SDP_150.replace("192.0.2.1", "192.0.2.198");
    let m = valid(
        "unreason",
        &format!(
            "SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 154
Content-Type: application/sdp
Contact: <sip:user@host198.example.com>

{body}"
        ),
    );
    let SipMessage::Response(r) = &m else {
        panic!("unreason is a response")
    };
    assert_eq!(r.status_code.code(), 200);
    assert_eq!(m.body().len(), 154);
}

#[test]
fn noreason_3_1_1_13_empty_reason_phrase() {
    let m = valid(
        "noreason",
        "SIP/2.0 100 
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: noreason.asndj203insdf99223ndf
CSeq: 35 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

",
    );
    let SipMessage::Response(r) = &m else {
        panic!("noreason is a response")
    };
    assert_eq!(r.status_code.code(), 100);
    assert_eq!(codec::to_tag(&m).as_deref(), Some("902jndnke3"));
}

// ───────────────────────── 3.1.2 Invalid messages ─────────────────────────

#[test]
fn badinv01_3_1_2_1_extraneous_header_field_separators() {
    let e = refused(
        "badinv01",
        Some(400),
        &format!(
            "INVITE sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=134161461246
Max-Forwards: 7
Call-ID: badinv01.0ha0isndaksdjasdf3234nas
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;;,;,,
Contact: \"Joe\" <sip:joe@example.org>;;;;
Content-Length: 152
Content-Type: application/sdp

{}",
            SDP_150.replace("192.0.2.1", "192.0.2.15")
        ),
    );
    assert_eq!(e.status_code(), Some(400));
}

#[test]
fn clerr_3_1_2_2_content_length_larger_than_message() {
    let e = refused(
        "clerr",
        Some(400),
        &format!(
            "INVITE sip:user@example.com SIP/2.0
Max-Forwards: 80
To: sip:j.user@example.com
From: sip:caller@example.net;tag=93942939o2
Contact: <sip:caller@hungry.example.net>
Call-ID: clerr.0ha0isndaksdjweiafasdk3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523
Content-Type: application/sdp
Content-Length: 9999

{}",
            SDP_150.replace("192.0.2.1", "192.0.2.155")
        ),
    );
    assert!(matches!(
        e,
        CodecError::BodyTruncated { declared: 9999, .. }
    ));
}

#[test]
fn ncl_3_1_2_3_negative_content_length() {
    let e = refused(
        "ncl",
        Some(400),
        &format!(
            "INVITE sip:user@example.com SIP/2.0
Max-Forwards: 254
To: sip:j.user@example.com
From: sip:caller@example.net;tag=32394234
Call-ID: ncl.0ha0isndaksdj2193423r542w35
CSeq: 0 INVITE
Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw
Contact: <sip:caller@example53.example.net>
Content-Type: application/sdp
Content-Length: -999

{}",
            SDP_150.replace("192.0.2.1", "192.0.2.53")
        ),
    );
    assert_eq!(e, CodecError::BadHeader("Content-Length"));
}

#[test]
fn scalar02_3_1_2_4_request_scalar_fields_with_overlarge_values() {
    let e = refused(
        "scalar02",
        Some(400),
        &format!(
            "REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3
To: <sip:user@example.com>
From: <sip:user@example.com>;tag=239232jh3
CSeq: 36893488147419103232 REGISTER
Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32
Max-Forwards: 300
Expires: 1{}
Contact: <sip:user@host129.example.com>
  ;expires=280297596632815
Content-Length: 0

",
            "0".repeat(100)
        ),
    );
    assert_eq!(e.status_code(), Some(400));
}

#[test]
fn scalarlg_3_1_2_5_response_scalar_fields_with_overlarge_values() {
    // A response is never answered: it is dropped.
    let e = refused(
        "scalarlg",
        None,
        "SIP/2.0 503 Service Unavailable
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129
To: <sip:user@example.com>
From: <sip:other@example.net>;tag=2easdjfejw
CSeq: 9292394834772304023312 OPTIONS
Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r
Retry-After: 949302838503028349304023988
Warning: 1812 overture \"In Progress\"
Content-Length: 0

",
    );
    assert_eq!(e, CodecError::BadHeader("CSeq"));
}

#[test]
fn quotbal_3_1_2_6_unterminated_quoted_string_in_display_name() {
    let e = refused(
        "quotbal",
        Some(400),
        &format!(
            "INVITE sip:user@example.com SIP/2.0
To: \"Mr. J. User <sip:j.user@example.com>
From: sip:caller@example.net;tag=93334
Max-Forwards: 10
Call-ID: quotbal.aksdj
Contact: <sip:caller@host59.example.net>
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234
Content-Type: application/sdp
Content-Length: 152

{}",
            SDP_150.replace("192.0.2.1", "192.0.2.15")
        ),
    );
    assert_eq!(e, CodecError::BadHeader("To"));
}

#[test]
fn ltgtruri_3_1_2_7_brackets_around_request_uri() {
    let e = refused(
        "ltgtruri",
        Some(400),
        "INVITE <sip:user@example.com> SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=39291
Max-Forwards: 23
Call-ID: ltgtruri.1@192.0.2.5
CSeq: 1 INVITE
Via: SIP/2.0/UDP 192.0.2.5
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: 0

",
    );
    assert!(matches!(e, CodecError::BadRequestUri(_)));
}

#[test]
fn lwsruri_3_1_2_8_lws_inside_request_uri() {
    let e = refused(
        "lwsruri",
        Some(400),
        "INVITE sip:user@example.com; lr SIP/2.0
To: sip:user@example.com;tag=3xfe-9921883-z9f
From: sip:caller@example.net;tag=231413434
Max-Forwards: 5
Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423
CSeq: 2130706432 INVITE
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395
Contact: <sip:caller@host1.example.net>
Content-Length: 0

",
    );
    assert!(matches!(e, CodecError::BadStartLine(_)));
}

#[test]
fn lwsstart_3_1_2_9_multiple_sp_in_request_line() {
    let e = refused(
        "lwsstart",
        Some(400),
        &format!(
            "INVITE  sip:user@example.com  SIP/2.0
Max-Forwards: 8
To: sip:user@example.com
From: sip:caller@example.net;tag=8814
Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com
CSeq: 1893884 INVITE
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: 150

{SDP_150}"
        ),
    );
    assert!(matches!(e, CodecError::BadStartLine(_)));
}

#[test]
fn trws_3_1_2_10_sp_at_end_of_request_line() {
    let e = refused(
        "trws",
        Some(400),
        "OPTIONS sip:remote-target@example.com SIP/2.0  
Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093
To: <sip:remote-target@example.com>
From: <sip:local-resource@example.com>;tag=329429089
Call-ID: trws.oicu34958239neffasdhr2345r
Accept: application/sdp
CSeq: 238923 OPTIONS
Max-Forwards: 70
Content-Length: 0

",
    );
    assert_eq!(e.status_code(), Some(400));
}

#[test]
fn escruri_3_1_2_11_escaped_headers_in_request_uri() {
    let e = refused(
        "escruri",
        Some(400),
        &format!(
            "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=341518
Max-Forwards: 7
Contact: <sip:caller@host39923.example.net>
Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5
CSeq: 149209342 INVITE
Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw
Content-Type: application/sdp
Content-Length: 150

{SDP_150}"
        ),
    );
    assert!(matches!(e, CodecError::BadRequestUri(_)));
}

#[test]
fn baddate_3_1_2_12_invalid_time_zone_in_date_is_ignored() {
    // RFC 4475: an element that does not use Date may ignore the bad value. We do not.
    let m = valid(
        "baddate",
        &format!(
            "INVITE sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=2234923
Max-Forwards: 70
Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234
CSeq: 1392934 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
Date: Fri, 01 Jan 2010 16:00:00 EST
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: 150

{}",
            SDP_150.replace("192.0.2.1", "192.0.2.5")
        ),
    );
    assert_eq!(
        codec::header(&m, "Date"),
        Some("Fri, 01 Jan 2010 16:00:00 EST")
    );
}

#[test]
fn regbadct_3_1_2_13_name_addr_uri_not_in_brackets() {
    let e = refused(
        "regbadct",
        Some(400),
        "REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=998332
Max-Forwards: 70
Call-ID: regbadct.k345asrl3fdbv@10.0.0.1
CSeq: 1 REGISTER
Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw
Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E
l: 0

",
    );
    assert_eq!(e, CodecError::BadHeader("Contact"));
}

#[test]
fn badaspec_3_1_2_14_spaces_within_addr_spec() {
    let e = refused(
        "badaspec",
        Some(400),
        "OPTIONS sip:user@example.org SIP/2.0
Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234
Max-Forwards: 70
From: \"Bell, Alexander\" <sip:a.g.bell@example.com>;tag=433423
To: \"Watson, Thomas\" < sip:t.watson@example.org >
Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3
Accept: application/sdp
CSeq: 3923239 OPTIONS
l: 0

",
    );
    assert_eq!(e, CodecError::BadHeader("To"));
}

#[test]
fn baddn_3_1_2_15_non_token_characters_in_display_name() {
    let e = refused(
        "baddn",
        Some(400),
        "OPTIONS sip:t.watson@example.org SIP/2.0
Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards:      70
From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43
To:      Watson, Thomas <sip:t.watson@example.org>
Call-ID: baddn.31415@c.example.com
Accept: application/sdp
CSeq:    3923239 OPTIONS
l: 0

",
    );
    assert_eq!(e, CodecError::BadHeader("From"));
}

#[test]
fn badvers_3_1_2_16_unknown_protocol_version() {
    let e = refused(
        "badvers",
        Some(505),
        "OPTIONS sip:t.watson@example.org SIP/7.0
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw
Max-Forwards:     70
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe
To:      T. Watson <sip:t.watson@example.org>
Call-ID: badvers.31417@c.example.com
CSeq:    1 OPTIONS
l: 0

",
    );
    assert_eq!(e, CodecError::UnsupportedVersion("SIP/7.0".into()));
    assert_eq!(e.status_code(), Some(505));
}

#[test]
fn mismatch01_3_1_2_17_start_line_and_cseq_method_mismatch() {
    let e = refused(
        "mismatch01",
        Some(400),
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch01.dj0234sxdfl3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
l: 0

",
    );
    assert!(matches!(e, CodecError::CSeqMismatch { .. }));
    assert_eq!(e.status_code(), Some(400));
}

#[test]
fn mismatch02_3_1_2_18_unknown_method_with_cseq_mismatch() {
    let e = refused(
        "mismatch02",
        Some(400),
        "NEWMETHOD sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch02.dj0234sxdfl3
CSeq: 8 INVITE
Contact: <sip:caller@host.example.net>
Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw
Content-Type: application/sdp
l: 138

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.1
c=IN IP4 192.0.2.1
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
",
    );
    // 400, not 501: the mismatch makes the request malformed whatever the method.
    assert!(matches!(e, CodecError::CSeqMismatch { .. }));
    assert_eq!(e.status_code(), Some(400));
}

#[test]
fn bigcode_3_1_2_19_overlarge_response_code() {
    let e = refused(
        "bigcode",
        None,
        "SIP/2.0 4294967301 better not break the receiver
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i
CSeq: 353494 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

",
    );
    assert!(matches!(e, CodecError::BadStatusCode(_)));
}

// ──────────────────── 3.2 Transaction layer semantics ────────────────────

#[test]
fn badbranch_3_2_1_missing_transaction_identifier() {
    // Valid syntax; the branch is just the magic cookie. The transaction layer
    // must still match on it, so it is reported as is.
    let m = valid(
        "badbranch",
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK
Accept: application/sdp
Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n
CSeq: 8 OPTIONS
l: 0

",
    );
    assert_eq!(codec::top_via_branch(&m).as_deref(), Some("z9hG4bK"));
}

// ──────────────────── 3.3 Application layer semantics ────────────────────

#[test]
fn insuf_3_3_1_missing_required_header_fields() {
    let e = refused(
        "insuf",
        None,
        "INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: 152

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.95
s=-
c=IN IP4 192.0.2.95
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
",
    );
    assert!(matches!(e, CodecError::MissingHeader(_)));
    assert_eq!(e.status_code(), Some(400));
}

#[test]
fn unkscm_3_3_2_request_uri_with_unknown_scheme() {
    let e = refused(
        "unkscm",
        Some(416),
        "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0

",
    );
    assert_eq!(e.status_code(), Some(416));
}

#[test]
fn novelsc_3_3_3_request_uri_with_known_but_atypical_scheme() {
    let e = refused(
        "novelsc",
        Some(416),
        "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: novelsc.asdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0

",
    );
    assert_eq!(e.status_code(), Some(416));
}

#[test]
fn unksm2_3_3_4_unknown_uri_schemes_in_header_fields() {
    // rsip deviation: rsip's From/To parsers only know sip/sips/tel-like URIs,
    // so `isbn:` / `http:` make the message malformed (400) where RFC 4475 has a
    // registrar answer 416. A softphone never registers others, so the outcome
    // (the request is refused) is the same.
    let e = refused(
        "unksm2",
        Some(400),
        "REGISTER sip:example.com SIP/2.0
To: isbn:2983792873
From: <http://www.example.com>;tag=3234233
Call-ID: unksm2.daksdj@hyphenated-host.example.com
CSeq: 234902 REGISTER
Max-Forwards: 70
Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw
Contact: <name:John_Smith>
l: 0

",
    );
    assert!(e.status_code().is_some());
}

#[test]
fn bext01_3_3_5_proxy_require_and_require() {
    let m = valid(
        "bext01",
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.net;tag=242etr
Max-Forwards: 6
Call-ID: bext01.0ha0isndaksdj
Require: nothingSupportsThis, nothingSupportsThisEither
Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis
CSeq: 8 OPTIONS
Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw
Content-Length: 0

",
    );
    // A UAS answers 420 listing both (and ignores Proxy-Require).
    assert_eq!(
        codec::unsupported_requirements(&m, &["replaces", "timer"]),
        vec!["nothingSupportsThis", "nothingSupportsThisEither"]
    );
}

#[test]
fn invut_3_3_6_unknown_content_type() {
    let m = valid(
        "invut",
        "INVITE sip:user@example.com SIP/2.0
Contact: <sip:caller@host5.example.net>
To: sip:j.user@example.com
From: sip:caller@example.net;tag=8392034
Max-Forwards: 70
Call-ID: invut.0ha0isndaksdjadsfij34n23d
CSeq: 235448 INVITE
Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw
Content-Type: application/unknownformat
Content-Length: 40

<audio>
 <pcmu port=\"443\"/>
</audio>
",
    );
    // The UA answers 415 because the type is not application/sdp.
    assert_eq!(
        codec::content_type(&m).as_deref(),
        Some("application/unknownformat")
    );
    assert_eq!(m.body().len(), 40);
}

#[test]
fn regaut01_3_3_7_unknown_authorization_scheme() {
    let m = valid(
        "regaut01",
        "REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=87321hj23128
Max-Forwards: 8
Call-ID: regaut01.0ha0isndaksdj
CSeq: 9338 REGISTER
Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw
Authorization: NoOneKnowsThisScheme opaque-data=here
Content-Length:0

",
    );
    assert_eq!(
        codec::header(&m, "authorization"),
        Some("NoOneKnowsThisScheme opaque-data=here")
    );
}

#[test]
fn multi01_3_3_8_multiple_values_in_single_value_required_fields() {
    let e = refused(
        "multi01",
        Some(400),
        &format!(
            "INVITE sip:user@company.com SIP/2.0
Contact: <sip:caller@host25.example.net>
Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw
Max-Forwards: 70
CSeq: 5 INVITE
Call-ID: multi01.98asdh@192.0.2.1
CSeq: 59 INVITE
Call-ID: multi01.98asdh@192.0.2.2
From: sip:caller@example.com;tag=3413415
To: sip:user@example.com
To: sip:other@example.net
From: sip:caller@example.net;tag=2923420123
Content-Type: application/sdp
l: 154
Contact: <sip:caller@host36.example.net>
Max-Forwards: 5

{}
",
            SDP_150.replace("192.0.2.1", "192.0.2.25")
        ),
    );
    assert!(matches!(e, CodecError::DuplicateHeader(_)));
}

#[test]
fn mcl01_3_3_9_multiple_content_length_values() {
    let e = refused(
        "mcl01",
        Some(400),
        "OPTIONS sip:user@example.com SIP/2.0
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423
To: sip:user@example.com
From: sip:other@example.net;tag=3923942
Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf
CSeq: 15932 OPTIONS
Content-Length: 13
Max-Forwards: 60
Content-Length: 5
Content-Type: text/plain

There's no way to know how many octets are supposed to be here.
",
    );
    assert_eq!(e, CodecError::DuplicateHeader("Content-Length"));
}

#[test]
fn bcast_3_3_10_200_ok_with_broadcast_via() {
    let body = SDP_150.replace("192.0.2.1", "192.0.2.198");
    let m = valid(
        "bcast",
        &format!(
            "SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23
Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 154
Content-Type: application/sdp
Contact: <sip:user@host28.example.com>

{body}"
        ),
    );
    // A UA matches the response on the top Via only; the second is not ours.
    assert_eq!(codec::top_via_branch(&m).as_deref(), Some("z9hG4bK1324923"));
}

#[test]
fn zeromf_3_3_11_max_forwards_of_zero() {
    // Max-Forwards 0 only matters to proxies; a UA handles the OPTIONS.
    let m = valid(
        "zeromf",
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=3ghsd41
Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas
CSeq: 39234321 OPTIONS
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i
Max-Forwards: 0
Content-Length: 0

",
    );
    assert_eq!(codec::header(&m, "Max-Forwards"), Some("0"));
}

#[test]
fn cparam01_and_cparam02_3_3_12_13_contact_parameters() {
    let m = valid(
        "cparam01",
        "REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe
To: sip:watson@example.com
Call-ID: cparam01.70710@saturn.example.com
CSeq: 2 REGISTER
Contact: sip:+19725552222@gw1.example.net;unknownparam
l: 0

",
    );
    assert_eq!(m.contact_headers().len(), 1);
    let m = valid(
        "cparam02",
        "REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=838293
To: sip:watson@example.com
Call-ID: cparam02.70710@saturn.example.com
CSeq: 3 REGISTER
Contact: <sip:+19725552222@gw1.example.net;unknownparam>
l: 0

",
    );
    assert_eq!(m.contact_headers().len(), 1);
}

#[test]
fn regescrt_3_3_14_register_with_a_url_escaped_header() {
    let m = valid(
        "regescrt",
        "REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=8
Max-Forwards: 70
Call-ID: regescrt.k345asrl3fdbv@192.0.2.1
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>
L:0

",
    );
    assert_eq!(
        codec::header(&m, "Contact"),
        Some("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>")
    );
}

#[test]
fn sipsbad_3_3_15_unacceptable_accept_offering() {
    let m = valid(
        "sdp01",
        &format!(
            "INVITE sip:user@example.com SIP/2.0
To: sip:j_user@example.com
Contact: <sip:caller@host15.example.net>
From: sip:caller@example.net;tag=234
Max-Forwards: 5
Call-ID: sdp01.ndaksdj9342dasdd
Accept: text/nobodyKnowsThis
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw
Content-Length: 150
Content-Type: application/sdp

{}",
            SDP_150.replace("192.0.2.1", "192.0.2.5")
        ),
    );
    // The UA answers 406: it can only send application/sdp.
    assert_eq!(codec::header(&m, "Accept"), Some("text/nobodyKnowsThis"));
}

// ──────────────────── 3.4 Backward compatibility ────────────────────

#[test]
fn inv2543_3_4_1_invite_with_rfc2543_syntax() {
    let m = valid(
        "inv2543",
        "INVITE sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>
To: sip:+16505552222@ss1.example.net;user=phone
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 INVITE
Content-Type: application/sdp

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.5
s=-
c=IN IP4 192.0.2.5
t=0 0
m=audio 49217 RTP/AVP 0
",
    );
    // No branch and no From tag: the RFC 2543 matching rules would be needed.
    assert_eq!(codec::top_via_branch(&m), None);
    assert_eq!(codec::from_tag(&m), None);
}

// ─────────────────── What the engine answers, beyond RFC 4475 ───────────────────

#[test]
fn a_malformed_ack_is_never_answered() {
    // RFC 3261 §17: an ACK gets no response, not even a 400.
    let ack = wire(
        "ACK sip:user@example.com SIP/2.0
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
From: sip:caller@example.net;tag=384
To: sip:user@example.com;tag=9
Call-ID: ack.asdfasser0q239nwsdfasdkl34
CSeq: 1 ACK
Max-Forwards: many

",
    );
    assert_eq!(engine_answer("ack", &ack), None);
}

#[test]
fn a_request_over_the_size_cap_is_answered_413() {
    let mut big = wire(
        "MESSAGE sip:user@example.com SIP/2.0
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
From: sip:caller@example.net;tag=384
To: sip:user@example.com
Call-ID: big.asdfasser0q239nwsdfasdkl34
CSeq: 1 MESSAGE
Content-Type: text/plain

",
    );
    big.extend(std::iter::repeat_n(b'x', codec::MAX_MESSAGE_SIZE));
    assert_eq!(engine_answer("big", &big), Some(413));
}

// ──────────────────────────── Robustness ────────────────────────────

/// Every prefix of every torture message, and every message with one byte
/// flipped, is handled without a panic.
#[test]
fn no_panic_on_truncations_and_bit_flips_of_wsinv() {
    let base = wire(&format!(
        "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
Call-ID: wsinv.ndaksdj@192.0.2.1
cseq: 0009
  INVITE
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
Content-Length: 150

{SDP_150}"
    ));
    // One engine sees every variant: whatever it answers must be one response.
    let now = Instant::from_millis(1_000);
    let mut ua = UserAgent::new(UaConfig::new("1001", "pbx.test", "pass1001"), 4475);
    ua.handle_connected(now);
    let mut feed = |bytes: &[u8]| {
        let _ = ua.handle_transport(now, bytes);
        while let Some(t) = ua.poll_transmit() {
            assert!(t.text.starts_with("SIP/2.0 "), "{}", t.text);
        }
    };
    for end in 0..base.len() {
        let _ = codec::parse(&base[..end]);
        feed(&base[..end]);
    }
    for i in 0..base.len() {
        for flip in [0x01u8, 0x20, 0x80] {
            let mut m = base.clone();
            if let Some(b) = m.get_mut(i) {
                *b ^= flip;
            }
            if let Ok(msg) = codec::parse(&m) {
                let _ = codec::parse(codec::serialize(&msg).as_bytes());
            }
            feed(&m);
        }
    }
}
