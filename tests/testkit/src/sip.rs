//! Just enough SIP over UDP for the kit to talk to its own PBX: a request
//! out of a fresh socket, its final response back. Not a user agent.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::PbxError;

/// A final SIP response as received.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub raw: String,
}

impl Response {
    /// First value of a header (case-insensitive name, no compact forms).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw
            .split("\r\n")
            .skip(1)
            .take_while(|line| !line.is_empty())
            .find_map(|line| {
                let (n, v) = line.split_once(':')?;
                n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
            })
    }
}

/// 16 hex digits from the std hasher's per-process random keys: enough
/// for branch ids, tags and the injection token on a loopback test PBX.
pub fn random_hex() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("{:016x}", h.finish())
}

/// Sends the request built by `build(local_port)` and waits for the first
/// final (>= 200) response. Provisional responses are skipped.
pub fn request(
    to: SocketAddr,
    build: impl Fn(u16) -> String,
    timeout: Duration,
) -> Result<Response, PbxError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |source| PbxError::Io { what, source }
    };
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(io("bind a UDP socket"))?;
    // connected, so a closed port fails fast (ICMP) instead of timing out
    socket.connect(to).map_err(io("connect a UDP socket"))?;
    let local_port = socket
        .local_addr()
        .map_err(io("read the UDP socket address"))?
        .port();
    let message = build(local_port);
    socket
        .send(message.as_bytes())
        .map_err(io("send a SIP request"))?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65_535];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(PbxError::Sip(format!(
                "no final response from {to} within {timeout:?}"
            )));
        }
        socket
            .set_read_timeout(Some(left))
            .map_err(io("set a UDP read timeout"))?;
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) => {
                return Err(PbxError::Io {
                    what: "receive a SIP response".into(),
                    source: e,
                })
            }
        };
        let raw = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
        let status = raw
            .strip_prefix("SIP/2.0 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse::<u16>().ok());
        match status {
            Some(status) if status >= 200 => return Ok(Response { status, raw }),
            _ => continue,
        }
    }
}

/// An out-of-dialog request from the kit; `extra` are complete header
/// lines (each ending in CRLF).
pub struct Req<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub extra: &'a str,
    pub content_type: Option<&'a str>,
    pub body: &'a str,
}

impl Req<'_> {
    /// The request text with the mandatory headers, sent from `local_port`.
    pub fn render(&self, local_port: u16) -> String {
        let Req {
            method,
            uri,
            from,
            to,
            extra,
            content_type,
            body,
        } = self;
        let ctype = content_type
            .map(|t| format!("Content-Type: {t}\r\n"))
            .unwrap_or_default();
        format!(
            "{method} {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK-{branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <{from}>;tag={tag}\r\n\
             To: <{to}>\r\n\
             Call-ID: {callid}@ringside-testkit\r\n\
             CSeq: 1 {method}\r\n\
             Contact: <sip:testkit@127.0.0.1:{local_port}>\r\n\
             User-Agent: ringside-testkit\r\n\
             {extra}{ctype}Content-Length: {len}\r\n\r\n{body}",
            branch = random_hex(),
            tag = random_hex(),
            callid = random_hex(),
            len = body.len(),
        )
    }
}
