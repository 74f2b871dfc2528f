//! The kit against the real Kamailio: start, digest REGISTER over UDP with
//! MD5 and SHA-256 (hand-built client below), ul.dump, restart, stop.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::{Duration, SystemTime};

use md5::{Digest, Md5};
use ringside_testkit::{descendants, password, Pbx};
use sha2::Sha256;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Alg {
    Md5,
    Sha256,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Md5 => "MD5",
            Alg::Sha256 => "SHA-256",
        }
    }

    fn hex(self, s: &str) -> String {
        let bytes: Vec<u8> = match self {
            Alg::Md5 => Md5::digest(s.as_bytes()).to_vec(),
            Alg::Sha256 => Sha256::digest(s.as_bytes()).to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A UDP SIP client that registers one contact with RFC 7616 digest.
struct Registrar {
    socket: UdpSocket,
    server: SocketAddr,
    call_id: String,
    cseq: u32,
}

struct Reply {
    status: u16,
    raw: String,
}

impl Reply {
    fn challenges(&self) -> Vec<String> {
        self.raw
            .split("\r\n")
            .filter_map(|l| l.strip_prefix("WWW-Authenticate: "))
            .map(str::to_string)
            .collect()
    }
}

fn param(challenge: &str, name: &str) -> String {
    let key = format!("{name}=");
    challenge
        .split(", ")
        .map(|p| p.trim_start_matches("Digest "))
        .find_map(|p| p.strip_prefix(&key))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default()
}

impl Registrar {
    fn new(pbx: &Pbx) -> Registrar {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        Registrar {
            socket,
            server: pbx.udp_addr(),
            call_id: format!("{}@test", ringside_testkit::sip::random_hex()),
            cseq: 0,
        }
    }

    fn send(&mut self, user: &str, domain: &str, authorization: Option<String>) -> Reply {
        self.cseq += 1;
        let port = self.socket.local_addr().expect("addr").port();
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let msg = format!(
            "REGISTER sip:{domain} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{b};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{user}@{domain}>;tag=ft{port}\r\nTo: <sip:{user}@{domain}>\r\n\
             Call-ID: {cid}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@127.0.0.1:{port}>\r\n\
             Expires: 120\r\n{auth}Content-Length: 0\r\n\r\n",
            b = ringside_testkit::sip::random_hex(),
            cid = self.call_id,
            cseq = self.cseq,
        );
        self.socket
            .send_to(msg.as_bytes(), self.server)
            .expect("send");
        let mut buf = vec![0u8; 65535];
        loop {
            let n = self.socket.recv(&mut buf).expect("a response from the PBX");
            let raw = String::from_utf8_lossy(&buf[..n]).into_owned();
            let status = raw[8..11].parse().expect("status code");
            if status >= 200 {
                return Reply { status, raw };
            }
        }
    }

    /// REGISTER, answer the challenge for `alg` (if offered), return both replies.
    fn register(&mut self, user: &str, pass: &str, domain: &str, alg: Alg) -> (Reply, Reply) {
        let first = self.send(user, domain, None);
        assert_eq!(
            first.status, 401,
            "first REGISTER is challenged:\n{}",
            first.raw
        );
        let challenges = first.challenges();
        let challenge = challenges
            .iter()
            .find(|c| c.contains(&format!("algorithm={}", alg.name())))
            .unwrap_or(&challenges[0])
            .clone();
        let (realm, nonce) = (param(&challenge, "realm"), param(&challenge, "nonce"));
        let uri = format!("sip:{domain}");
        let (nc, cnonce) = ("00000001", "0a4f113b");
        let ha1 = alg.hex(&format!("{user}:{realm}:{pass}"));
        let ha2 = alg.hex(&format!("REGISTER:{uri}"));
        let response = alg.hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
        let auth = format!(
            "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm={}, qop=auth, nc={nc}, cnonce=\"{cnonce}\"",
            alg.name()
        );
        let second = self.send(user, domain, Some(auth));
        (first, second)
    }
}

/// No such process, or only a zombie its parent has not reaped yet.
fn gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

fn start() -> Pbx {
    match Pbx::start() {
        Ok(pbx) => pbx,
        Err(e) => panic!("the test PBX did not start: {e}"),
    }
}

#[test]
fn md5_register_over_udp_lands_in_the_location_table() {
    let pbx = start();
    assert_eq!(pbx.options_ping(Duration::from_secs(1)).unwrap(), 200);
    let since = SystemTime::now();
    let mut ua = Registrar::new(&pbx);
    let (first, second) = ua.register("1001", &password("1001"), "127.0.0.1", Alg::Md5);
    assert!(
        first.challenges()[0].contains("algorithm=MD5"),
        "{}",
        first.raw
    );
    assert_eq!(second.status, 200, "{}", second.raw);

    let contacts = pbx.contacts("1001").unwrap();
    let port = ua.socket.local_addr().unwrap().port();
    assert_eq!(contacts, vec![format!("sip:1001@127.0.0.1:{port}")]);
    assert!(pbx.ul_dump().unwrap().contains("AoR: 1001"));
    // both REGISTERs (challenged and authorised) are logged and counted
    assert_eq!(pbx.register_count("1001").unwrap(), 2);
    assert_eq!(pbx.register_count_since("1001", since).unwrap(), 2);
    assert_eq!(pbx.register_count("1002").unwrap(), 0);
}

#[test]
fn any_host_part_is_the_same_account() {
    let pbx = start();
    let (_, r) = Registrar::new(&pbx).register("1002", "pass1002", "pbx.test", Alg::Md5);
    assert_eq!(r.status, 200, "{}", r.raw);
    let (_, r) = Registrar::new(&pbx).register("1002", "pass1002", "127.0.0.1", Alg::Md5);
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(pbx.contacts("1002").unwrap().len(), 2);
}

#[test]
fn wrong_password_is_challenged_again_and_not_registered() {
    let pbx = start();
    let (_, r) = Registrar::new(&pbx).register("1003", "wrong", "127.0.0.1", Alg::Md5);
    assert_eq!(r.status, 401, "{}", r.raw);
    assert!(pbx.contacts("1003").unwrap().is_empty());
    assert_eq!(pbx.register_count("1003").unwrap(), 2);
}

#[test]
fn sha256_only_account_authenticates_with_sha256_and_refuses_md5() {
    let pbx = start();
    let (first, second) =
        Registrar::new(&pbx).register("1009", "pass1009", "127.0.0.1", Alg::Sha256);
    assert_eq!(first.challenges().len(), 1);
    assert!(
        first.challenges()[0].contains("algorithm=SHA-256"),
        "{}",
        first.raw
    );
    assert_eq!(second.status, 200, "{}", second.raw);

    let (_, md5) = Registrar::new(&pbx).register("1009", "pass1009", "127.0.0.1", Alg::Md5);
    assert_eq!(md5.status, 401, "an MD5 answer must not pass for 1009");
    let (_, bad) = Registrar::new(&pbx).register("1009", "pass1001", "127.0.0.1", Alg::Sha256);
    assert_eq!(bad.status, 401, "a wrong SHA-256 password must not pass");
    assert_eq!(pbx.contacts("1009").unwrap().len(), 1);
}

#[test]
fn rfc8760_account_offers_sha256_first_and_accepts_both() {
    let pbx = start();
    let (first, sha) = Registrar::new(&pbx).register("1010", "pass1010", "pbx.test", Alg::Sha256);
    let challenges = first.challenges();
    assert_eq!(challenges.len(), 2, "{}", first.raw);
    assert!(challenges[0].contains("algorithm=SHA-256"));
    assert!(challenges[1].contains("algorithm=MD5"));
    assert_eq!(sha.status, 200, "{}", sha.raw);
    let (_, md5) = Registrar::new(&pbx).register("1010", "pass1010", "pbx.test", Alg::Md5);
    assert_eq!(md5.status, 200, "{}", md5.raw);
}

#[test]
fn a_replayed_sha256_answer_is_refused() {
    let pbx = start();
    let mut ua = Registrar::new(&pbx);
    let first = ua.send("1009", "127.0.0.1", None);
    let c = &first.challenges()[0];
    let (realm, nonce) = (param(c, "realm"), param(c, "nonce"));
    let a = Alg::Sha256;
    let ha1 = a.hex(&format!("1009:{realm}:pass1009"));
    let ha2 = a.hex("REGISTER:sip:127.0.0.1");
    let resp = a.hex(&format!("{ha1}:{nonce}:00000001:c1:auth:{ha2}"));
    let auth = format!(
        "Digest username=\"1009\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"sip:127.0.0.1\", \
         response=\"{resp}\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"c1\""
    );
    assert_eq!(ua.send("1009", "127.0.0.1", Some(auth.clone())).status, 200);
    assert_eq!(
        ua.send("1009", "127.0.0.1", Some(auth)).status,
        401,
        "same nc again is a replay"
    );
}

#[test]
fn restart_keeps_the_ports_and_forgets_registrations() {
    let mut pbx = start();
    let (_, r) = Registrar::new(&pbx).register("1004", "pass1004", "127.0.0.1", Alg::Md5);
    assert_eq!(r.status, 200);
    let before = (pbx.sip_port, pbx.ws_port, pbx.wss_port);
    let old_pid = pbx.pid().unwrap();
    pbx.restart().unwrap();
    assert_eq!((pbx.sip_port, pbx.ws_port, pbx.wss_port), before);
    assert_ne!(pbx.pid().unwrap(), old_pid);
    assert_eq!(pbx.options_ping(Duration::from_secs(1)).unwrap(), 200);
    assert!(pbx.contacts("1004").unwrap().is_empty());
    let (_, r) = Registrar::new(&pbx).register("1004", "pass1004", "127.0.0.1", Alg::Md5);
    assert_eq!(r.status, 200);
    assert_eq!(
        pbx.register_count("1004").unwrap(),
        4,
        "the log survives the restart"
    );
}

#[test]
fn stop_leaves_no_process_and_frees_the_ports() {
    let mut pbx = start();
    let pid = pbx.pid().unwrap();
    let workers = descendants(pid);
    assert!(workers.len() >= 3, "kamailio forks workers: {workers:?}");
    pbx.stop().unwrap();
    for p in std::iter::once(pid).chain(workers) {
        assert!(gone(p), "process {p} survived stop()");
    }
    TcpListener::bind(("127.0.0.1", pbx.ws_port)).expect("ws port is free again");
    TcpListener::bind(("127.0.0.1", pbx.sip_port)).expect("sip tcp port is free again");
    UdpSocket::bind(("127.0.0.1", pbx.sip_port)).expect("sip udp port is free again");
    assert!(pbx.options_ping(Duration::from_millis(200)).is_err());
    pbx.stop().unwrap();
}

#[test]
fn drop_stops_kamailio_and_removes_the_temp_run_dir() {
    let pbx = start();
    let pid = pbx.pid().unwrap();
    let run_dir = pbx.run_dir.clone();
    drop(pbx);
    assert!(gone(pid), "kamailio {pid} survived drop");
    assert!(!run_dir.exists());
}

#[test]
fn mwi_is_injected_through_the_trusted_path() {
    let pbx = start();
    pbx.inject_mwi("1005", 2, 1).unwrap();
    pbx.inject_mwi("1005", 3, 1).unwrap();
    // no registered contact: the unsolicited NOTIFY finds nobody
    assert_eq!(pbx.inject_mwi_unsolicited("1005", 3, 1).unwrap(), 404);
}

#[test]
fn fixed_ports_are_used_as_given() {
    let ports: Vec<u16> = (0..3)
        .map(|_| {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        })
        .collect();
    let opts = ringside_testkit::PbxOptions {
        sip_port: Some(ports[0]),
        ws_port: Some(ports[1]),
        wss_port: Some(ports[2]),
        ..Default::default()
    };
    let pbx = match Pbx::start_with(opts) {
        Ok(p) => p,
        // a probed port can be taken again before Kamailio binds it
        Err(e) if e.to_string().contains("Address already in use") => return,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(pbx.ws_url(), format!("ws://127.0.0.1:{}", ports[1]));
    assert_eq!(pbx.wss_url(), format!("wss://127.0.0.1:{}", ports[2]));
    assert!(pbx.cert_path().is_file());
}

/// A MESSAGE from `user` to `to`, answered with Proxy-Authorization for the
/// `alg` challenge of the 407. Returns (407 reply, final reply).
fn message_with_proxy_auth(
    pbx: &Pbx,
    user: &str,
    pass: &str,
    to: &str,
    alg: Alg,
) -> (Reply, Reply) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();
    let call_id = format!("{}@test", ringside_testkit::sip::random_hex());
    let uri = format!("sip:{to}@pbx.test");
    let send = |cseq: u32, auth: &str| {
        let body = "hello";
        let msg = format!(
            "MESSAGE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{b};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{user}@pbx.test>;tag=m{port}\r\nTo: <{uri}>\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} MESSAGE\r\n{auth}Content-Type: text/plain\r\nContent-Length: {len}\r\n\r\n{body}",
            b = ringside_testkit::sip::random_hex(),
            len = body.len(),
        );
        socket.send_to(msg.as_bytes(), pbx.udp_addr()).unwrap();
        let mut buf = vec![0u8; 65535];
        loop {
            let n = socket.recv(&mut buf).expect("a response");
            let raw = String::from_utf8_lossy(&buf[..n]).into_owned();
            let status: u16 = raw[8..11].parse().unwrap();
            if status >= 200 {
                return Reply { status, raw };
            }
        }
    };
    let first = send(1, "");
    let challenges: Vec<String> = first
        .raw
        .split("\r\n")
        .filter_map(|l| l.strip_prefix("Proxy-Authenticate: "))
        .map(str::to_string)
        .collect();
    let c = challenges
        .iter()
        .find(|c| c.contains(&format!("algorithm={}", alg.name())))
        .unwrap_or(&challenges[0]);
    let (realm, nonce) = (param(c, "realm"), param(c, "nonce"));
    let ha1 = alg.hex(&format!("{user}:{realm}:{pass}"));
    let ha2 = alg.hex(&format!("MESSAGE:{uri}"));
    let resp = alg.hex(&format!("{ha1}:{nonce}:00000001:c2:auth:{ha2}"));
    let auth = format!(
        "Proxy-Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{resp}\", algorithm={}, qop=auth, nc=00000001, cnonce=\"c2\"\r\n",
        alg.name()
    );
    let second = send(2, &auth);
    (first, second)
}

#[test]
fn sha256_also_works_for_proxy_authentication() {
    let pbx = start();
    // authorised, then routed: nobody registered as 1002, so 404 (not 407)
    let (first, second) = message_with_proxy_auth(&pbx, "1009", "pass1009", "1002", Alg::Sha256);
    assert_eq!(first.status, 407, "{}", first.raw);
    assert!(
        first.raw.contains("Proxy-Authenticate: Digest") && first.raw.contains("algorithm=SHA-256")
    );
    assert_eq!(second.status, 404, "{}", second.raw);

    let (first, second) = message_with_proxy_auth(&pbx, "1010", "pass1010", "1002", Alg::Md5);
    assert_eq!(
        first.raw.matches("Proxy-Authenticate: ").count(),
        2,
        "{}",
        first.raw
    );
    assert_eq!(second.status, 404, "{}", second.raw);

    let (_, refused) = message_with_proxy_auth(&pbx, "1009", "pass1009", "1002", Alg::Md5);
    assert_eq!(
        refused.status, 407,
        "an MD5 answer from 1009 is challenged again"
    );
}
