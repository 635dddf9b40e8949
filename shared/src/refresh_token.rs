//! Refresh tokens: opaque to clients, 256 secret bits, stored only as a SHA-256 digest.
//!
//! A token is base64url of `account id (16) ‖ session id (16) ‖ secret (32)`. Carrying both ids
//! lets the store find the session in one step (and on Redis Cluster, in the account's hash
//! slot) without any index from token to session.
//!
//! Rotation is deterministic: the successor of a token is `HMAC-SHA256(k, token)`, with `k` a key
//! derived from the signing key. So the store never needs a plaintext token to hand the same
//! successor to concurrent tabs, and a retried rotation is idempotent.

use crate::ids::{ID_BYTES, Id, random_bytes};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};
use std::fmt;

const SECRET_BYTES: usize = 32;
const RAW_BYTES: usize = 2 * ID_BYTES + SECRET_BYTES;
/// Length of a refresh token's text form.
pub const TOKEN_CHARS: usize = 86;

/// A refresh token (its `Debug` never shows the secret).
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    raw: [u8; RAW_BYTES],
}

/// SHA-256 of a refresh token, as kept by the store. `==` on it is constant time too.
#[derive(Clone, Copy, Debug)]
pub struct TokenDigest(pub [u8; 32]);

impl PartialEq for TokenDigest {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}

impl Eq for TokenDigest {}

impl TokenDigest {
    /// Lower-case hex, the form the Redis store keeps.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Compares in constant time.
    pub fn ct_eq(&self, other: &TokenDigest) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl RefreshToken {
    /// A fresh token for a new session.
    pub fn new(account: Id, session: Id) -> Self {
        Self::with_secret(account, session, random_bytes())
    }

    fn with_secret(account: Id, session: Id, secret: [u8; SECRET_BYTES]) -> Self {
        let mut raw = [0u8; RAW_BYTES];
        raw[..ID_BYTES].copy_from_slice(account.as_bytes());
        raw[ID_BYTES..2 * ID_BYTES].copy_from_slice(session.as_bytes());
        raw[2 * ID_BYTES..].copy_from_slice(&secret);
        Self { raw }
    }

    /// Parses a token's text form; anything else than exactly a token is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != TOKEN_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let raw: [u8; RAW_BYTES] = bytes.try_into().ok()?;
        Some(Self { raw })
    }

    /// The account the token belongs to.
    pub fn account(&self) -> Id {
        Id::from_bytes(self.raw[..ID_BYTES].try_into().unwrap_or_default())
    }

    /// The session the token belongs to.
    pub fn session(&self) -> Id {
        Id::from_bytes(
            self.raw[ID_BYTES..2 * ID_BYTES]
                .try_into()
                .unwrap_or_default(),
        )
    }

    /// The token's text form, as handed to the client.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.raw)
    }

    /// The digest the store keeps in place of the token.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest(Sha256::digest(self.raw).into())
    }

    /// The token that replaces this one at rotation, derived with `key`.
    pub fn successor(&self, key: &[u8; 32]) -> Self {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(&self.raw);
        let secret: [u8; SECRET_BYTES] = mac.finalize().into_bytes().into();
        Self::with_secret(self.account(), self.session(), secret)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RefreshToken {{ account: {}, session: {}, secret: redacted }}",
            self.account(),
            self.session()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_ids_and_parses_back() {
        let (a, s) = (Id::random(), Id::random());
        let t = RefreshToken::new(a, s);
        let text = t.encode();
        assert_eq!(text.len(), TOKEN_CHARS);
        let back = RefreshToken::parse(&text).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.account(), a);
        assert_eq!(back.session(), s);
    }

    #[test]
    fn rejects_malformed_text() {
        let text = RefreshToken::new(Id::random(), Id::random()).encode();
        assert!(RefreshToken::parse(&text[1..]).is_none());
        assert!(RefreshToken::parse(&format!("{text}A")).is_none());
        assert!(RefreshToken::parse(&"*".repeat(TOKEN_CHARS)).is_none());
        assert!(RefreshToken::parse("").is_none());
    }

    #[test]
    fn successor_is_deterministic_keyed_and_keeps_ids() {
        let t = RefreshToken::new(Id::random(), Id::random());
        let k1 = [1u8; 32];
        let k2 = [2u8; 32];
        let s1 = t.successor(&k1);
        assert_eq!(s1, t.successor(&k1));
        assert_ne!(s1, t.successor(&k2));
        assert_ne!(s1, t);
        assert_eq!(s1.account(), t.account());
        assert_eq!(s1.session(), t.session());
        assert_ne!(s1.successor(&k1), s1);
    }

    #[test]
    fn digest_and_debug_hide_the_secret() {
        let t = RefreshToken::new(Id::random(), Id::random());
        let d = t.digest();
        assert_eq!(d.to_hex().len(), 64);
        assert!(d.ct_eq(&t.digest()));
        assert!(!d.ct_eq(&t.successor(&[0; 32]).digest()));
        let dbg = format!("{t:?}");
        assert!(!dbg.contains(&t.encode()[44..]), "{dbg}");
    }
}
