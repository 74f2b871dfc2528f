//! HTTP Digest authentication as SIP uses it (RFC 3261 §22, RFC 2617,
//! RFC 7616, RFC 8760): MD5 and SHA-256 with their `-sess` variants,
//! `qop=auth` (and `auth-int` when it is the only one offered), nonce-count,
//! `stale=true`, 401 (`WWW-Authenticate`) and 407 (`Proxy-Authenticate`),
//! several challenges in one response.
//!
//! The retry rule is what keeps a wrong password from turning into a REGISTER
//! storm: within one logical request, each (origin, realm) is answered once,
//! and again only when the server says the nonce went `stale` and offers a
//! nonce we have not answered yet. Anything else is a rejected credential.

use std::fmt::Write as _;

use md5::{Digest, Md5};
use sha2::Sha256;
use thiserror::Error;

use crate::random::Random;

/// Digest algorithms we can compute, weakest first (RFC 8760 §2.4: pick the
/// strongest one the server offers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn is_session(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Both `-sess` variants rank with their base hash: the session form adds
    /// nothing to the password's protection, so SHA-256 beats MD5-sess.
    fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
        }
    }

    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex(&Sha256::digest(data.as_bytes())),
        }
    }

    fn hash_bytes(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex(&Md5::digest(data)),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex(&Sha256::digest(data)),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub use crate::codec::challenge::{Challenge, ChallengeKind};

/// Quality of protection we will use for one challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    /// RFC 2069 compatibility: the server sent no `qop`.
    None,
    Auth,
    AuthInt,
}

/// One digest challenge reduced to what we can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    pub qop: Qop,
    pub stale: bool,
    /// RFC 7616 §3.4.4: send H(username:realm) instead of the name.
    pub userhash: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChallengeError {
    #[error("unsupported digest algorithm {0}")]
    UnsupportedAlgorithm(String),
    #[error("unsupported qop {0}")]
    UnsupportedQop(String),
}

impl TryFrom<&Challenge> for DigestChallenge {
    type Error = ChallengeError;

    fn try_from(c: &Challenge) -> Result<Self, ChallengeError> {
        use crate::codec::challenge::{Algorithm as A, Qop as Q};
        let algorithm = match &c.algorithm {
            A::Md5 => Algorithm::Md5,
            A::Md5Sess => Algorithm::Md5Sess,
            A::Sha256 => Algorithm::Sha256,
            A::Sha256Sess => Algorithm::Sha256Sess,
            A::Other(name) => return Err(ChallengeError::UnsupportedAlgorithm(name.clone())),
        };
        // `auth` protects nothing less than we need and does not depend on
        // the body surviving proxies byte for byte, so it wins over auth-int.
        let qop = if c.qop.is_empty() {
            Qop::None
        } else if c.offers(&Q::Auth) {
            Qop::Auth
        } else if c.offers(&Q::AuthInt) {
            Qop::AuthInt
        } else {
            let offered: Vec<&str> = c.qop.iter().map(Q::as_str).collect();
            return Err(ChallengeError::UnsupportedQop(offered.join(",")));
        };
        Ok(DigestChallenge {
            realm: c.realm.clone(),
            nonce: c.nonce.clone(),
            opaque: c.opaque.clone(),
            algorithm,
            qop,
            stale: c.stale,
            userhash: c.userhash,
        })
    }
}

fn credentials_header(kind: ChallengeKind) -> &'static str {
    match kind {
        ChallengeKind::Www => "Authorization",
        ChallengeKind::Proxy => "Proxy-Authorization",
    }
}

/// The password and the name it belongs to.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // The password must never reach a log line through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Everything the response hash covers for one request.
#[derive(Debug, Clone)]
pub struct DigestInput<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub body: &'a [u8],
    pub cnonce: &'a str,
    pub nonce_count: u32,
}

/// The `response` parameter (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1).
pub fn digest_response(challenge: &DigestChallenge, input: &DigestInput<'_>) -> String {
    let alg = challenge.algorithm;
    let mut ha1 = alg.hash(&format!(
        "{}:{}:{}",
        input.username, challenge.realm, input.password
    ));
    if alg.is_session() {
        ha1 = alg.hash(&format!("{ha1}:{}:{}", challenge.nonce, input.cnonce));
    }
    let ha2 = match challenge.qop {
        Qop::AuthInt => alg.hash(&format!(
            "{}:{}:{}",
            input.method,
            input.uri,
            alg.hash_bytes(input.body)
        )),
        Qop::None | Qop::Auth => alg.hash(&format!("{}:{}", input.method, input.uri)),
    };
    match challenge.qop {
        Qop::None => alg.hash(&format!("{ha1}:{}:{ha2}", challenge.nonce)),
        Qop::Auth | Qop::AuthInt => alg.hash(&format!(
            "{ha1}:{}:{:08x}:{}:{}:{ha2}",
            challenge.nonce,
            input.nonce_count,
            input.cnonce,
            if challenge.qop == Qop::Auth {
                "auth"
            } else {
                "auth-int"
            }
        )),
    }
}

/// The `Authorization` / `Proxy-Authorization` header value answering
/// `challenge`.
pub fn credentials_value(challenge: &DigestChallenge, input: &DigestInput<'_>) -> String {
    let response = digest_response(challenge, input);
    let username = if challenge.userhash {
        challenge
            .algorithm
            .hash(&format!("{}:{}", input.username, challenge.realm))
    } else {
        input.username.to_string()
    };
    let mut v = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", algorithm={}",
        quote_escape(&username),
        quote_escape(&challenge.realm),
        quote_escape(&challenge.nonce),
        quote_escape(input.uri),
        response,
        challenge.algorithm.as_str()
    );
    if challenge.qop != Qop::None {
        let qop = if challenge.qop == Qop::Auth {
            "auth"
        } else {
            "auth-int"
        };
        let _ = write!(
            v,
            ", qop={qop}, nc={:08x}, cnonce=\"{}\"",
            input.nonce_count,
            quote_escape(input.cnonce)
        );
    }
    if let Some(opaque) = &challenge.opaque {
        let _ = write!(v, ", opaque=\"{}\"", quote_escape(opaque));
    }
    if challenge.userhash {
        v.push_str(", userhash=true");
    }
    v
}

fn quote_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    /// A challenge arrived but none of its algorithms/qops can be answered.
    #[error("no supported digest challenge")]
    NoSupportedChallenge,
    /// Challenged again for a realm we already answered with a nonce that
    /// is neither fresh nor stale: the credential is wrong.
    #[error("credentials rejected")]
    CredentialRejected,
}

#[derive(Debug, Clone)]
struct Answerable {
    kind: ChallengeKind,
    challenge: DigestChallenge,
    /// Nonce-count for this nonce (RFC 7616 §3.4: increments per use).
    nonce_count: u32,
}

/// Digest state of one request originator (the registration, a call, a
/// subscription): the challenges it can answer, and what happened to the
/// current logical request so that a rejected credential stops the retries.
#[derive(Debug, Clone, Default)]
pub struct DigestSession {
    answerable: Vec<Answerable>,
    /// (header, realm) challenged during the current logical request.
    challenged: Vec<(ChallengeKind, String)>,
    /// Nonces we sent during the current logical request.
    answered_nonces: Vec<String>,
}

impl DigestSession {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new logical request starts (a refresh, not a retry): earlier
    /// challenges may still be answered pre-emptively, but they no longer
    /// count against the "answer each realm once" rule.
    pub fn start_request(&mut self) {
        self.challenged.clear();
        self.answered_nonces.clear();
    }

    /// Takes the challenges of a 401/407 (`codec::challenge::challenges`).
    /// `Ok` means: send the request again with [`Self::authorize`].
    pub fn handle_challenges(
        &mut self,
        challenges: &[(ChallengeKind, Challenge)],
    ) -> Result<(), AuthError> {
        let mut best: Vec<(ChallengeKind, DigestChallenge)> = Vec::new();
        for (kind, challenge) in challenges {
            let Ok(c) = DigestChallenge::try_from(challenge) else {
                continue;
            };
            match best
                .iter_mut()
                .find(|(k, b)| k == kind && b.realm == c.realm)
            {
                Some(slot) if c.algorithm.strength() > slot.1.algorithm.strength() => {
                    *slot = (*kind, c)
                }
                Some(_) => {}
                None => best.push((*kind, c)),
            }
        }
        if best.is_empty() {
            return Err(AuthError::NoSupportedChallenge);
        }
        for (kind, c) in &best {
            let again = self
                .challenged
                .iter()
                .any(|(k, r)| k == kind && *r == c.realm);
            let fresh_stale = c.stale && !self.answered_nonces.contains(&c.nonce);
            if again && !fresh_stale {
                return Err(AuthError::CredentialRejected);
            }
        }
        for (kind, c) in best {
            if !self
                .challenged
                .iter()
                .any(|(k, r)| *k == kind && *r == c.realm)
            {
                self.challenged.push((kind, c.realm.clone()));
            }
            self.answerable
                .retain(|a| !(a.kind == kind && a.challenge.realm == c.realm));
            self.answerable.push(Answerable {
                kind,
                challenge: c,
                nonce_count: 0,
            });
        }
        Ok(())
    }

    /// Header (name, value) pairs answering every known challenge for this
    /// request. Empty before the first challenge.
    pub fn authorize(
        &mut self,
        credentials: &Credentials,
        method: &str,
        uri: &str,
        body: &[u8],
        random: &mut Random,
    ) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(self.answerable.len());
        for a in &mut self.answerable {
            a.nonce_count = a.nonce_count.saturating_add(1);
            let cnonce = random.cnonce();
            let input = DigestInput {
                username: &credentials.username,
                password: &credentials.password,
                method,
                uri,
                body,
                cnonce: &cnonce,
                nonce_count: a.nonce_count,
            };
            out.push((
                credentials_header(a.kind),
                credentials_value(&a.challenge, &input),
            ));
            if !self.answered_nonces.contains(&a.challenge.nonce) {
                self.answered_nonces.push(a.challenge.nonce.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(pw: &'a str, cnonce: &'a str) -> DigestInput<'a> {
        DigestInput {
            username: "Mufasa",
            password: pw,
            method: "GET",
            uri: "/dir/index.html",
            body: b"",
            cnonce,
            nonce_count: 1,
        }
    }

    /// The first challenge of a header value, reduced to what we answer.
    fn digest(value: &str) -> Result<DigestChallenge, ChallengeError> {
        let all = Challenge::parse_all(value).expect("test challenge parses");
        DigestChallenge::try_from(&all[0])
    }

    fn www(value: &str) -> (ChallengeKind, Challenge) {
        let mut all = Challenge::parse_all(value).expect("test challenge parses");
        (ChallengeKind::Www, all.remove(0))
    }

    fn proxy(value: &str) -> (ChallengeKind, Challenge) {
        (ChallengeKind::Proxy, www(value).1)
    }

    #[test]
    fn rfc2617_section_3_5_md5_qop_auth() {
        let c = digest(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        assert_eq!(c.qop, Qop::Auth);
        assert_eq!(
            digest_response(&c, &input("Circle Of Life", "0a4f113b")),
            "6629fae49393a05397450978507c4ef1"
        );
    }

    const RFC7616_CHALLENGE_TAIL: &str = r#"realm="http-auth@example.org", qop="auth, auth-int", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    #[test]
    fn rfc7616_section_3_9_1_md5() {
        let c = digest(&format!("Digest algorithm=MD5, {RFC7616_CHALLENGE_TAIL}")).unwrap();
        assert_eq!(
            digest_response(&c, &input("Circle of Life", RFC7616_CNONCE)),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
    }

    #[test]
    fn rfc7616_section_3_9_1_sha256() {
        let c = digest(&format!(
            "Digest algorithm=SHA-256, {RFC7616_CHALLENGE_TAIL}"
        ))
        .unwrap();
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(
            digest_response(&c, &input("Circle of Life", RFC7616_CNONCE)),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn sess_variants_hash_the_nonce_and_cnonce_into_ha1() {
        // RFC 7616 §3.4.2: HA1 = H(H(user:realm:pw):nonce:cnonce), computed by
        // hand here from the non-sess building blocks.
        let c = digest(r#"Digest realm="r", nonce="n", algorithm=MD5-sess, qop=auth"#).unwrap();
        let i = DigestInput {
            username: "u",
            password: "p",
            method: "REGISTER",
            uri: "sip:r",
            body: b"",
            cnonce: "c",
            nonce_count: 1,
        };
        let h = |s: &str| Algorithm::Md5.hash(s);
        let ha1 = h(&format!("{}:n:c", h("u:r:p")));
        let ha2 = h("REGISTER:sip:r");
        assert_eq!(
            digest_response(&c, &i),
            h(&format!("{ha1}:n:00000001:c:auth:{ha2}"))
        );

        let c256 = DigestChallenge {
            algorithm: Algorithm::Sha256Sess,
            ..c
        };
        let h = |s: &str| Algorithm::Sha256.hash(s);
        let ha1 = h(&format!("{}:n:c", h("u:r:p")));
        let ha2 = h("REGISTER:sip:r");
        assert_eq!(
            digest_response(&c256, &i),
            h(&format!("{ha1}:n:00000001:c:auth:{ha2}"))
        );
    }

    #[test]
    fn rfc2069_form_without_qop_and_auth_int_hashes_the_body() {
        let c = digest(r#"Digest realm="r", nonce="n""#).unwrap();
        let mut i = input("p", "c");
        let h = |s: &str| Algorithm::Md5.hash(s);
        assert_eq!(
            digest_response(&c, &i),
            h(&format!(
                "{}:n:{}",
                h("Mufasa:r:p"),
                h("GET:/dir/index.html")
            ))
        );
        let c = digest(r#"Digest realm="r", nonce="n", qop="auth-int""#).unwrap();
        i.body = b"v=0\r\n";
        let ha2 = h(&format!("GET:/dir/index.html:{}", h("v=0\r\n")));
        assert_eq!(
            digest_response(&c, &i),
            h(&format!("{}:n:00000001:c:auth-int:{ha2}", h("Mufasa:r:p")))
        );
    }

    #[test]
    fn userhash_sends_the_hashed_name() {
        let c =
            digest(r#"Digest realm="r", nonce="n", algorithm=SHA-256, qop=auth, userhash=true"#)
                .unwrap();
        let v = credentials_value(&c, &input("p", "c"));
        let hashed = Algorithm::Sha256.hash("Mufasa:r");
        assert!(v.contains(&format!("username=\"{hashed}\"")));
        assert!(v.ends_with("userhash=true"));
    }

    #[test]
    fn what_we_cannot_compute_is_refused_not_guessed() {
        assert!(matches!(
            digest(r#"Digest realm="x", nonce="y", algorithm=SHA-512-256"#),
            Err(ChallengeError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            digest(r#"Digest realm="x", nonce="y", qop="auth-conf""#),
            Err(ChallengeError::UnsupportedQop(_))
        ));
    }

    fn creds() -> Credentials {
        Credentials {
            username: "1001".into(),
            password: "pass1001".into(),
        }
    }

    #[test]
    fn several_challenges_the_strongest_supported_one_is_answered() {
        let mut s = DigestSession::new();
        s.handle_challenges(&[
            www(r#"Digest realm="pbx.test", nonce="n1", algorithm=MD5, qop="auth""#),
            www(r#"Digest realm="pbx.test", nonce="n2", algorithm=SHA-512-256, qop="auth""#),
            www(r#"Digest realm="pbx.test", nonce="n3", algorithm=SHA-256, qop="auth""#),
        ])
        .unwrap();
        let h = s.authorize(
            &creds(),
            "REGISTER",
            "sip:pbx.test",
            b"",
            &mut Random::new(1),
        );
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].0, "Authorization");
        assert!(h[0].1.contains("algorithm=SHA-256"));
        assert!(h[0].1.contains("nonce=\"n3\""));
        assert!(h[0].1.contains("nc=00000001"));
    }

    #[test]
    fn nonce_count_increments_per_use_of_the_same_nonce() {
        let mut s = DigestSession::new();
        s.handle_challenges(&[proxy(r#"Digest realm="r", nonce="n", qop=auth"#)])
            .unwrap();
        let mut rng = Random::new(1);
        let first = s.authorize(&creds(), "INVITE", "sip:x@r", b"", &mut rng);
        let second = s.authorize(&creds(), "INVITE", "sip:x@r", b"", &mut rng);
        assert_eq!(first[0].0, "Proxy-Authorization");
        assert!(first[0].1.contains("nc=00000001"));
        assert!(second[0].1.contains("nc=00000002"));
    }

    #[test]
    fn same_realm_challenged_twice_is_a_rejected_credential_never_a_loop() {
        let mut s = DigestSession::new();
        let ch = [www(r#"Digest realm="r", nonce="n", qop=auth"#)];
        s.handle_challenges(&ch).unwrap();
        s.authorize(&creds(), "REGISTER", "sip:r", b"", &mut Random::new(1));
        assert_eq!(s.handle_challenges(&ch), Err(AuthError::CredentialRejected));
        // A new nonce without `stale` says the same: the password is wrong.
        assert_eq!(
            s.handle_challenges(&[www(r#"Digest realm="r", nonce="m""#)]),
            Err(AuthError::CredentialRejected)
        );
    }

    #[test]
    fn stale_true_with_a_fresh_nonce_is_answered_once_more() {
        let mut s = DigestSession::new();
        let mut rng = Random::new(1);
        s.handle_challenges(&[www(r#"Digest realm="r", nonce="n1""#)])
            .unwrap();
        s.authorize(&creds(), "REGISTER", "sip:r", b"", &mut rng);
        s.handle_challenges(&[www(r#"Digest realm="r", nonce="n2", stale=true"#)])
            .unwrap();
        s.authorize(&creds(), "REGISTER", "sip:r", b"", &mut rng);
        // Stale again with the nonce just answered: that is a loop, stop.
        assert_eq!(
            s.handle_challenges(&[www(r#"Digest realm="r", nonce="n2", stale=true"#)]),
            Err(AuthError::CredentialRejected)
        );
    }

    #[test]
    fn a_refresh_may_be_challenged_afresh_after_a_preemptive_answer() {
        let mut s = DigestSession::new();
        let mut rng = Random::new(1);
        s.handle_challenges(&[www(r#"Digest realm="r", nonce="n1""#)])
            .unwrap();
        s.authorize(&creds(), "REGISTER", "sip:r", b"", &mut rng);
        s.start_request();
        assert_eq!(
            s.authorize(&creds(), "REGISTER", "sip:r", b"", &mut rng)
                .len(),
            1
        );
        // The server forgot n1 and does not bother with stale: still answered.
        s.handle_challenges(&[www(r#"Digest realm="r", nonce="n2""#)])
            .unwrap();
    }

    #[test]
    fn proxy_and_registrar_realms_are_answered_independently() {
        let mut s = DigestSession::new();
        s.handle_challenges(&[proxy(r#"Digest realm="edge", nonce="p1""#)])
            .unwrap();
        s.authorize(&creds(), "REGISTER", "sip:r", b"", &mut Random::new(1));
        s.handle_challenges(&[www(r#"Digest realm="home", nonce="w1""#)])
            .unwrap();
        let h = s.authorize(&creds(), "REGISTER", "sip:r", b"", &mut Random::new(2));
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn only_unsupported_challenges_is_an_error() {
        let mut s = DigestSession::new();
        assert_eq!(
            s.handle_challenges(&[www(r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#)]),
            Err(AuthError::NoSupportedChallenge)
        );
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        assert!(!format!("{:?}", creds()).contains("pass1001"));
    }
}
