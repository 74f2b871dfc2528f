//! Digest challenges from `WWW-Authenticate` (401) and `Proxy-Authenticate` (407),
//! parsed without rsip, which rejects what PBXs really send: `algorithm=SHA-256`,
//! `qop="auth,auth-int"`, and several challenges in one header line.
//!
//! ```
//! use ringside::codec::challenge::{Algorithm, Challenge, Qop};
//! let cs = Challenge::parse_all(
//!     r#"Digest realm="pbx.test", nonce="n1", algorithm=SHA-256, qop="auth,auth-int", Digest realm="pbx.test", nonce="n1", algorithm=MD5"#,
//! ).unwrap();
//! assert_eq!(cs.len(), 2);
//! assert_eq!(cs[0].algorithm, Algorithm::Sha256);
//! assert_eq!(cs[0].qop, vec![Qop::Auth, Qop::AuthInt]);
//! ```
//!
//! A [`Challenge`] holds everything offered, as offered; choosing which one to
//! answer (RFC 8760 §2.4: the strongest algorithm we support) and computing the
//! response is `auth.rs`'s job. Unknown algorithms and qops are kept as `Other` so
//! that choice can skip them instead of the parse failing.

use std::fmt;

use rsip::message::HasHeaders;

use super::headers::{quote, HeaderError};

/// `algorithm` (RFC 7616 §3.3; absent means MD5). Matched case-insensitively;
/// `SHA256` (rsip's spelling) is read as SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
    /// E.g. `SHA-512-256`: offered, but not one we compute.
    Other(String),
}

impl Algorithm {
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_uppercase().as_str() {
            "MD5" => Self::Md5,
            "MD5-SESS" => Self::Md5Sess,
            "SHA-256" | "SHA256" => Self::Sha256,
            "SHA-256-SESS" | "SHA256-SESS" => Self::Sha256Sess,
            _ => Self::Other(s.trim().to_string()),
        }
    }

    /// The RFC 7616 spelling, which is also what we put in `Authorization`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
            Self::Other(s) => s,
        }
    }
}

/// One `qop` value offered by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Qop {
    Auth,
    AuthInt,
    Other(String),
}

impl Qop {
    fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "auth" => Self::Auth,
            "auth-int" => Self::AuthInt,
            _ => Self::Other(s.trim().to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Auth => "auth",
            Self::AuthInt => "auth-int",
            Self::Other(s) => s,
        }
    }
}

/// Which header the challenge came in, hence which header answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeKind {
    /// 401 `WWW-Authenticate` → `Authorization`.
    Www,
    /// 407 `Proxy-Authenticate` → `Proxy-Authorization`.
    Proxy,
}

/// One Digest challenge (RFC 7616 §3.3 / RFC 3261 §22.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    /// Echoed back unchanged in the credentials when present.
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// Offered qop values, in the server's order; empty means RFC 2069 mode
    /// (no cnonce / nonce-count in the answer).
    pub qop: Vec<Qop>,
    /// `stale=true`: the credentials were right but the nonce expired — retry with
    /// the new nonce without asking the user (RFC 7616 §3.3).
    pub stale: bool,
    /// Space-separated URIs the challenge protects, as sent.
    pub domain: Option<String>,
    /// RFC 7616 `userhash=true`: the username must be hashed in the answer.
    pub userhash: bool,
}

impl Challenge {
    /// Every Digest challenge in one header value. Non-Digest schemes (Basic,
    /// Bearer, ...) are skipped; a Digest challenge without realm or nonce, an
    /// unterminated quote or a parameter without `=` is an error.
    pub fn parse_all(value: &str) -> Result<Vec<Self>, HeaderError> {
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(HeaderError::new(HEADER, "control character in value"));
        }
        let mut out = Vec::new();
        let mut current: Option<(bool, Vec<(String, String)>)> = None;
        for item in split_items(value)? {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            // `scheme name=value` starts a new challenge; `name=value` continues one.
            let first_word = item.split_whitespace().next().unwrap_or("");
            let (param, starts) = if first_word.contains('=') {
                (item, false)
            } else {
                (item[first_word.len()..].trim_start(), true)
            };
            if starts {
                if let Some((true, params)) = current.take() {
                    out.push(Self::from_params(&params)?);
                }
                current = Some((first_word.eq_ignore_ascii_case("Digest"), Vec::new()));
                if param.is_empty() {
                    continue;
                }
            }
            let Some((_, params)) = current.as_mut() else {
                return Err(HeaderError::new(HEADER, "parameter before the scheme"));
            };
            let (name, value) = param
                .split_once('=')
                .ok_or_else(|| HeaderError::new(HEADER, format!("no '=' in {param}")))?;
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(HeaderError::new(HEADER, "bad parameter name"));
            }
            params.push((name.to_ascii_lowercase(), super::headers::unquote(value)));
        }
        if let Some((true, params)) = current {
            out.push(Self::from_params(&params)?);
        }
        Ok(out)
    }

    fn from_params(params: &[(String, String)]) -> Result<Self, HeaderError> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let truthy = |name: &str| get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(Self {
            realm: get("realm").ok_or_else(|| HeaderError::new(HEADER, "missing realm"))?,
            nonce: get("nonce").ok_or_else(|| HeaderError::new(HEADER, "missing nonce"))?,
            opaque: get("opaque"),
            algorithm: get("algorithm").map_or(Algorithm::Md5, |a| Algorithm::parse(&a)),
            qop: get("qop")
                .map(|q| {
                    q.split(',')
                        .filter(|s| !s.trim().is_empty())
                        .map(Qop::parse)
                        .collect()
                })
                .unwrap_or_default(),
            stale: truthy("stale"),
            domain: get("domain"),
            userhash: truthy("userhash"),
        })
    }

    pub fn offers(&self, qop: &Qop) -> bool {
        self.qop.contains(qop)
    }
}

const HEADER: &str = "WWW-Authenticate";

/// Splits at commas outside quoted strings; errors on an unterminated quote.
fn split_items(value: &str) -> Result<Vec<&str>, HeaderError> {
    let mut out = Vec::new();
    let (mut quoted, mut escaped, mut start) = (false, false, 0);
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err(HeaderError::new(HEADER, "unterminated quoted string"));
    }
    out.push(&value[start..]);
    Ok(out)
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest realm={}, nonce={}",
            quote(&self.realm),
            quote(&self.nonce)
        )?;
        if let Some(o) = &self.opaque {
            write!(f, ", opaque={}", quote(o))?;
        }
        write!(f, ", algorithm={}", self.algorithm.as_str())?;
        if !self.qop.is_empty() {
            let q: Vec<&str> = self.qop.iter().map(Qop::as_str).collect();
            write!(f, ", qop={}", quote(&q.join(",")))?;
        }
        if self.stale {
            write!(f, ", stale=true")?;
        }
        if let Some(d) = &self.domain {
            write!(f, ", domain={}", quote(d))?;
        }
        if self.userhash {
            write!(f, ", userhash=true")?;
        }
        Ok(())
    }
}

/// Every well-formed Digest challenge of a 401/407, in header order, with the header
/// it came in. Malformed challenges are skipped: one broken header must not hide a
/// good one next to it (the engine reports auth failure if none is left).
pub fn challenges<M: HasHeaders + ?Sized>(msg: &M) -> Vec<(ChallengeKind, Challenge)> {
    let mut out = Vec::new();
    for (kind, name) in [
        (ChallengeKind::Www, "WWW-Authenticate"),
        (ChallengeKind::Proxy, "Proxy-Authenticate"),
    ] {
        for value in super::headers(msg, name) {
            if let Ok(cs) = Challenge::parse_all(value) {
                out.extend(cs.into_iter().map(|c| (kind, c)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7616_section_3_9_1_example_two_challenges_in_two_headers() {
        // The RFC's 401 offers SHA-256 first and MD5 second, as two headers.
        let sha = r#"Digest
    realm="http-auth@example.org",
    qop="auth, auth-int",
    algorithm=SHA-256,
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        // The RFC folds the header over lines; codec::parse hands it over unfolded.
        let c = &Challenge::parse_all(&sha.replace('\n', " ")).unwrap()[0];
        assert_eq!(c.realm, "http-auth@example.org");
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.qop, vec![Qop::Auth, Qop::AuthInt]);
        assert_eq!(
            c.opaque.as_deref(),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
        assert!(!c.stale);
    }

    #[test]
    fn several_challenges_in_one_header_line() {
        let v = r#"Digest realm="a", nonce="1", algorithm=SHA-256-sess, Basic realm="x", Digest realm="a", nonce="1", stale=TRUE"#;
        let cs = Challenge::parse_all(v).unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].algorithm, Algorithm::Sha256Sess);
        assert_eq!(cs[1].algorithm, Algorithm::Md5);
        assert!(cs[1].stale);
    }

    #[test]
    fn display_round_trips() {
        let c = Challenge {
            realm: "pbx \"test\"".into(),
            nonce: "n,1".into(),
            opaque: Some("o".into()),
            algorithm: Algorithm::Md5Sess,
            qop: vec![Qop::Auth, Qop::Other("x".into())],
            stale: true,
            domain: Some("sip:a sip:b".into()),
            userhash: true,
        };
        let again = Challenge::parse_all(&c.to_string()).unwrap();
        assert_eq!(again, vec![c]);
    }

    #[test]
    fn unknown_algorithm_is_kept_not_fatal() {
        let c = &Challenge::parse_all(r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#)
            .unwrap()[0];
        assert_eq!(c.algorithm, Algorithm::Other("SHA-512-256".into()));
        assert_eq!(Algorithm::parse("sha256"), Algorithm::Sha256);
    }

    #[test]
    fn malformed_challenges_are_errors() {
        assert!(Challenge::parse_all(r#"Digest realm="r"#).is_err());
        assert!(Challenge::parse_all(r#"Digest realm="r""#).is_err());
        assert!(Challenge::parse_all(r#"Digest realm="r", nonce"#).is_err());
        assert!(Challenge::parse_all(r#"realm="r", nonce="n""#).is_err());
        assert_eq!(Challenge::parse_all("Basic realm=\"x\"").unwrap(), vec![]);
    }

    #[test]
    fn challenges_of_a_407_with_www_and_proxy_headers() {
        let bytes = b"SIP/2.0 407 Proxy Authentication Required\r\n\
            Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\r\nFrom: <sip:1001@pbx.test>;tag=1\r\n\
            To: <sip:1002@pbx.test>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
            Proxy-Authenticate: Digest realm=\"pbx.test\", nonce=\"a\", qop=\"auth\", algorithm=SHA-256\r\n\
            Proxy-Authenticate: Digest realm=\"pbx.test\", nonce=\"a\", qop=\"auth\"\r\n\
            WWW-Authenticate: Digest realm=\"other\", nonce=\"b\"\r\n\
            WWW-Authenticate: Digest broken\r\nContent-Length: 0\r\n\r\n";
        let m = crate::codec::parse(bytes).unwrap();
        let cs = challenges(&m);
        let kinds: Vec<_> = cs.iter().map(|(k, c)| (*k, c.algorithm.clone())).collect();
        assert_eq!(
            kinds,
            vec![
                (ChallengeKind::Www, Algorithm::Md5),
                (ChallengeKind::Proxy, Algorithm::Sha256),
                (ChallengeKind::Proxy, Algorithm::Md5),
            ]
        );
    }
}
