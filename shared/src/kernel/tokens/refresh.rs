//! Refresh tokens: opaque to clients, 256 secret bits, stored only as SHA-256 digests.
//!
//! A token is base64url of `account id (16) ‖ session id (16) ‖ family secret (16) ‖ generation
//! secret (16)`. Carrying both ids lets the store find the session in one step (and on Redis
//! Cluster, in the account's hash slot) without any index from token to session.
//!
//! Rotation is deterministic: the successor of a token keeps its ids and family secret and
//! takes `HMAC-SHA256(k, token)` (truncated) as its generation secret, with `k` a key derived
//! from the signing key. So the store never needs a plaintext token to hand the same successor
//! to concurrent tabs, and a retried rotation is idempotent.
//!
//! The family secret is drawn at login and shared by every generation of the session, and only
//! by them. The store keeps its digest ([`RefreshToken::family_digest`]): a presented token whose
//! family digest matches but that is neither the current nor the just-rotated token can only
//! be a spent ancestor (or made by someone who held one) — reuse, however many generations
//! old — while a token with a forged secret does not match and revokes nothing. The check costs
//! one more SHA-256 and one comparison, needs no key (so key rotations do not matter) and no
//! plaintext in the store.

use crate::kernel::ids::{ID_BYTES, Id, random_bytes};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};
use std::fmt;

const FAMILY_BYTES: usize = 16;
const SECRET_BYTES: usize = 16;
const FAMILY_AT: usize = 2 * ID_BYTES;
const SECRET_AT: usize = FAMILY_AT + FAMILY_BYTES;
const RAW_BYTES: usize = SECRET_AT + SECRET_BYTES;
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

/// How much of a digest the Redis store keeps: its first 192 bits. A truncated SHA-256 is an
/// approved digest of the truncated length (NIST SP 800-107 Rev. 1, §5.1); finding a token for
/// a kept digest, with the store's contents in hand, still takes about 2^192 hashes, and the
/// 11 characters fewer per digest keep a session's record a size class smaller
/// (docs/scale.md).
pub const STORED_BYTES: usize = 24;

impl TokenDigest {
    /// The form the Redis store keeps: the first [`STORED_BYTES`] bytes as URL-safe base64
    /// without padding, 32 characters.
    pub fn to_stored(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0[..STORED_BYTES])
    }

    /// Every form of this digest a live session may keep, newest first: [`Self::to_stored`];
    /// the whole digest as URL-safe base64 (43 characters), which sessions started between
    /// issue 38 and this form keep; and lower-case hex (64), kept by sessions started before
    /// issue 38. A script compares a presented token with each (in constant time) and writes
    /// only the first.
    pub fn stored_forms(&self) -> [String; 3] {
        [
            self.to_stored(),
            URL_SAFE_NO_PAD.encode(self.0),
            super::digest::hex(&self.0),
        ]
    }

    /// Compares in constant time.
    pub fn ct_eq(&self, other: &TokenDigest) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl RefreshToken {
    /// A fresh token (and family) for a new session.
    pub fn new(account: Id, session: Id) -> Self {
        let mut raw = [0u8; RAW_BYTES];
        raw[..ID_BYTES].copy_from_slice(account.as_bytes());
        raw[ID_BYTES..FAMILY_AT].copy_from_slice(session.as_bytes());
        raw[FAMILY_AT..].copy_from_slice(&random_bytes::<{ FAMILY_BYTES + SECRET_BYTES }>());
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
        Id::from_bytes(self.raw[ID_BYTES..FAMILY_AT].try_into().unwrap_or_default())
    }

    /// The token's text form, as handed to the client.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.raw)
    }

    /// The digest the store keeps in place of the token.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest(Sha256::digest(self.raw).into())
    }

    /// The digest of the session's family: the same for every generation of one session's
    /// tokens, and unguessable without one of them.
    pub fn family_digest(&self) -> TokenDigest {
        let mut h = Sha256::new();
        h.update(b"passport refresh-token family\0");
        h.update(&self.raw[..SECRET_AT]);
        TokenDigest(h.finalize().into())
    }

    /// The token that replaces this one at rotation, derived with `key`: the same ids and
    /// family, a new generation secret.
    pub fn successor(&self, key: &[u8; 32]) -> Self {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(&self.raw);
        let tag = mac.finalize().into_bytes();
        let mut raw = self.raw;
        raw[SECRET_AT..].copy_from_slice(&tag[..SECRET_BYTES]);
        Self { raw }
    }

    /// This token with another generation secret: the same ids and family (a forged token
    /// whose maker knows the family, for tests).
    #[cfg(any(test, feature = "testing"))]
    pub fn with_generation_secret(&self, secret: [u8; SECRET_BYTES]) -> Self {
        let mut raw = self.raw;
        raw[SECRET_AT..].copy_from_slice(&secret);
        Self { raw }
    }

    /// This token with another family and generation secret: the same ids, as someone who
    /// knows a session's ids but holds none of its tokens could make.
    #[cfg(any(test, feature = "testing"))]
    pub fn forged(&self) -> Self {
        Self::new(self.account(), self.session())
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::kernel::redact::shown(
            f,
            "RefreshToken",
            &[("account", &self.account()), ("session", &self.session())],
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
        // The family carries over every generation, under any key.
        assert!(s1.successor(&k2).family_digest().ct_eq(&t.family_digest()));
        assert!(!t.forged().family_digest().ct_eq(&t.family_digest()));
        assert!(!t.family_digest().ct_eq(&t.digest()));
    }

    #[test]
    fn digest_and_debug_hide_the_secret() {
        let t = RefreshToken::new(Id::random(), Id::random());
        let d = t.digest();
        let [stored, whole, hex] = d.stored_forms();
        assert_eq!((stored.len(), whole.len(), hex.len()), (32, 43, 64));
        assert!(whole.starts_with(&stored));
        assert!(d.ct_eq(&t.digest()));
        assert!(!d.ct_eq(&t.successor(&[0; 32]).digest()));
        let dbg = format!("{t:?}");
        assert!(!dbg.contains(&t.encode()[43..]), "{dbg}");
    }
}
