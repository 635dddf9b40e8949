//! A bound session's refresh challenge, made so that asking for one makes the store keep
//! nothing: the challenge carries its own MAC over the session and the bound cookie in force,
//! and is good while that cookie is (at most [`CHALLENGE_SECONDS`]).
//!
//! Anyone may ask for a challenge: the refresh route's only input is `Sec-Secure-Session-Id`,
//! which is an access token's `sub` and `sid`, seen by every API behind the authorizer. A
//! challenge kept in the store would let them make it keep one per request. The draft leaves
//! the challenge's form to the server ("The challenge value is opaque to the user agent",
//! w3c.github.io/webappsec-dbsc, "Secure-Session-Challenge"); what it must be is fresh and
//! unpredictable, and taken once. Fresh: its time is in its MAC. Once: a renewal replaces the
//! bound cookie the MAC covers (atomically, and only if it is still the one the challenge was
//! made for), so after one renewal the challenge no longer verifies.

use super::protocol::CHALLENGE_SECONDS;
use crate::kernel::ids::{Id, random_bytes};
use crate::kernel::keys::KeyRing;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const TIME_BYTES: usize = 8;
const NONCE_BYTES: usize = 12;
/// A 128-bit tag: HMAC-SHA256 truncated as RFC 2104 §5 allows (at least half its length).
const TAG_BYTES: usize = 16;
const CHALLENGE_BYTES: usize = TIME_BYTES + NONCE_BYTES + TAG_BYTES;
/// How far ahead of this server's clock a challenge's time may be (another server's clock).
const SKEW_SECONDS: i64 = 5;

/// What a challenge is made for: the session, and the digest of its bound cookie in force.
#[derive(Debug, Clone, Copy)]
pub struct For<'a> {
    /// The session's account.
    pub account: Id,
    /// The session.
    pub session: Id,
    /// The digest (hex) of the session's bound cookie when the challenge was made.
    pub cookie: &'a str,
}

fn mac(key: &[u8; 32], what: For<'_>, time_and_nonce: &[u8]) -> Hmac<Sha256> {
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"passport dbsc refresh challenge\0");
    mac.update(what.account.as_bytes());
    mac.update(what.session.as_bytes());
    // The only field of varying length, last: the input splits one way only.
    mac.update(time_and_nonce);
    mac.update(what.cookie.as_bytes());
    mac
}

/// A new challenge for `what`, made at `now` with the ring's signing key: base64url (48
/// characters) of its time, a random nonce and the MAC's tag.
pub fn make(ring: &KeyRing, what: For<'_>, now: i64) -> String {
    let mut raw = [0u8; CHALLENGE_BYTES];
    raw[..TIME_BYTES].copy_from_slice(&now.to_be_bytes());
    raw[TIME_BYTES..TIME_BYTES + NONCE_BYTES].copy_from_slice(&random_bytes::<NONCE_BYTES>());
    let (head, tag) = raw.split_at_mut(TIME_BYTES + NONCE_BYTES);
    let full = mac(ring.signing().challenge_key(), what, head)
        .finalize()
        .into_bytes();
    tag.copy_from_slice(&full[..TAG_BYTES]);
    URL_SAFE_NO_PAD.encode(raw)
}

/// Whether `text` is a challenge made for `what` by a key of the ring (the signing key, or one
/// it replaced: a challenge outlives a key rotation by at most its lifetime), and made at most
/// [`CHALLENGE_SECONDS`] before `now`. The tag is compared in constant time.
pub fn verify(ring: &KeyRing, text: &str, what: For<'_>, now: i64) -> bool {
    let mut raw = [0u8; CHALLENGE_BYTES];
    if text.len() != (CHALLENGE_BYTES * 4).div_ceil(3)
        || URL_SAFE_NO_PAD.decode_slice(text, &mut raw) != Ok(CHALLENGE_BYTES)
    {
        return false;
    }
    let (head, tag) = raw.split_at(TIME_BYTES + NONCE_BYTES);
    let mut time = [0u8; TIME_BYTES];
    time.copy_from_slice(&head[..TIME_BYTES]);
    let made = i64::from_be_bytes(time);
    if made > now.saturating_add(SKEW_SECONDS) || now.saturating_sub(made) > CHALLENGE_SECONDS {
        return false;
    }
    ring.keys().any(|key| {
        mac(key.challenge_key(), what, head)
            .verify_truncated_left(tag)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(cookie: &str) -> (Id, Id, String) {
        (Id::random(), Id::random(), cookie.to_string())
    }

    #[test]
    fn a_challenge_verifies_only_for_its_session_cookie_and_time() {
        let ring = KeyRing::random();
        let (a, s, c) = what("c1");
        let made_for = For {
            account: a,
            session: s,
            cookie: &c,
        };
        let now = 1_000_000;
        let ch = make(&ring, made_for, now);
        assert_eq!(ch.len(), 48);
        assert!(verify(&ring, &ch, made_for, now));
        assert!(verify(&ring, &ch, made_for, now + CHALLENGE_SECONDS));
        assert!(!verify(&ring, &ch, made_for, now + CHALLENGE_SECONDS + 1));
        assert!(!verify(&ring, &ch, made_for, now - SKEW_SECONDS - 1));
        for other in [
            For {
                cookie: "c2",
                ..made_for
            },
            For {
                account: Id::random(),
                ..made_for
            },
            For {
                session: Id::random(),
                ..made_for
            },
        ] {
            assert!(!verify(&ring, &ch, other, now), "{other:?}");
        }
        // Another deployment's keys; a changed byte anywhere; not a challenge at all.
        assert!(!verify(&KeyRing::random(), &ch, made_for, now));
        let mut raw = URL_SAFE_NO_PAD.decode(&ch).unwrap();
        for i in [0, TIME_BYTES, CHALLENGE_BYTES - 1] {
            raw[i] ^= 1;
            assert!(
                !verify(&ring, &URL_SAFE_NO_PAD.encode(&raw), made_for, now),
                "byte {i}"
            );
            raw[i] ^= 1;
        }
        for bad in ["", "x", &"A".repeat(48), &format!("{ch}A"), &ch[..47]] {
            assert!(!verify(&ring, bad, made_for, now), "{bad}");
        }
        // Two challenges for the same session and time still differ (the nonce).
        assert_ne!(ch, make(&ring, made_for, now));
    }

    #[test]
    fn a_challenge_outlives_a_key_rotation_and_no_more() {
        use crate::kernel::config::SecretBytes;
        use crate::kernel::keys::Key;
        let key = |kid: &str, byte: u8| {
            Key::new(kid.into(), &SecretBytes::new(vec![byte; 32]), "test").unwrap()
        };
        let (a, s, c) = what("c1");
        let made_for = For {
            account: a,
            session: s,
            cookie: &c,
        };
        let ch = make(&KeyRing::new(key("v1", 1), vec![]), made_for, 10);
        let rotated = KeyRing::new(key("v2", 2), vec![key("v1", 1)]);
        assert!(verify(&rotated, &ch, made_for, 10));
        let retired = KeyRing::new(key("v2", 2), vec![]);
        assert!(!verify(&retired, &ch, made_for, 10));
    }
}
