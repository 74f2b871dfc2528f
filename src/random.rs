//! Injected randomness. The engine never touches a global RNG: the glue hands
//! it a seed (from `crypto.getRandomValues`), tests hand it a constant, and
//! every tag, branch, Call-ID, cnonce and instance id is then reproducible.
//!
//! SplitMix64 is enough here: SIP identifiers need to be unique and hard to
//! guess across sessions, not cryptographically strong (the seed carries the
//! entropy; digest cnonces only need to be fresh).

/// A small seeded pseudo-random generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Random {
    state: u64,
}

/// RFC 3261 §8.1.1.7: branches from RFC 3261 stacks start with this cookie.
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

impl Random {
    pub fn new(seed: u64) -> Self {
        Random { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (0 when `bound` is 0); the modulo bias is
    /// irrelevant for jittering timers.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// `len` characters of `[a-z0-9]`: valid in a SIP token, a URI user part
    /// and a host label alike, so one generator serves every identifier.
    pub fn token(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            let mut bits = self.next_u64();
            for _ in 0..10 {
                if out.len() == len {
                    break;
                }
                let idx = (bits % ALPHABET.len() as u64) as usize;
                out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'x')));
                bits /= ALPHABET.len() as u64;
            }
        }
        out
    }

    /// A Via branch (RFC 3261 §8.1.1.7).
    pub fn branch(&mut self) -> String {
        format!("{BRANCH_MAGIC_COOKIE}{}", self.token(16))
    }

    /// A From/To tag (RFC 3261 §19.3: at least 32 bits of randomness).
    pub fn tag(&mut self) -> String {
        self.token(10)
    }

    pub fn call_id(&mut self) -> String {
        self.token(22)
    }

    /// A digest client nonce (RFC 7616 §3.4).
    pub fn cnonce(&mut self) -> String {
        self.token(16)
    }

    /// A version-4 UUID URN for `+sip.instance` (RFC 5626 §4.1, RFC 4122 §4.4).
    pub fn instance_id(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        let time_hi = ((hi & 0x0fff) | 0x4000) as u16;
        let clock = (((lo >> 48) & 0x3fff) | 0x8000) as u16;
        format!(
            "urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            (hi >> 32) as u32,
            ((hi >> 16) & 0xffff) as u16,
            time_hi,
            clock,
            lo & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_identifiers() {
        let mut a = Random::new(7);
        let mut b = Random::new(7);
        assert_eq!(a.branch(), b.branch());
        assert_eq!(a.call_id(), b.call_id());
        assert_ne!(Random::new(8).tag(), Random::new(7).tag());
    }

    #[test]
    fn branch_carries_the_rfc3261_cookie_and_tokens_are_token_chars() {
        let mut r = Random::new(1);
        let b = r.branch();
        assert!(b.starts_with("z9hG4bK"));
        assert_eq!(b.len(), 7 + 16);
        let t = r.token(40);
        assert_eq!(t.len(), 40);
        assert!(t
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }

    #[test]
    fn instance_id_is_a_version_4_uuid_urn() {
        let id = Random::new(3).instance_id();
        assert!(id.starts_with("urn:uuid:"));
        let uuid = &id["urn:uuid:".len()..];
        let groups: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('4'));
        assert!(matches!(
            groups[3].chars().next(),
            Some('8' | '9' | 'a' | 'b')
        ));
    }
}
