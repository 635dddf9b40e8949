//! Mailed secrets: a link's token (`<selector>.<secret>`: the selector finds the record, the
//! secret's SHA-256 is all the record keeps, compared in constant time) bound to one purpose,
//! and the six-digit sign-in code (kept as its digest too).

use crate::kernel::ids::{Id, random_bytes};
use crate::kernel::tokens::digest::sha256_hex;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// What a mailed token may do: one thing only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Confirms a new account's address.
    Verify,
    /// Sets a new password.
    Reset,
    /// Moves an account to a new address.
    ChangeEmail,
    /// Ends every session of the account (a notice's "this wasn't me").
    EndSessions,
}

impl Purpose {
    /// Its lifetime in seconds: a day to confirm an address, 30 minutes to reset, a week to
    /// say a notice was not the owner's doing (read a few days late, it still works).
    pub fn ttl(self) -> i64 {
        match self {
            Purpose::Verify | Purpose::ChangeEmail => 24 * 3600,
            Purpose::Reset => 30 * 60,
            Purpose::EndSessions => 7 * 24 * 3600,
        }
    }

    /// The page's fragment parameter its link carries.
    pub fn fragment(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::ChangeEmail => "email",
            Purpose::EndSessions => "not-me",
        }
    }
}

/// A sign-in code's lifetime (seconds).
pub const CODE_TTL: i64 = 10 * 60;
/// Wrong tries a sign-in code survives; the next one ends it.
pub const CODE_MAX_TRIES: u64 = 5;
/// Longest token text accepted.
pub const MAX_TOKEN_CHARS: usize = 128;

/// What the store keeps of a mailed token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// What it may do.
    #[serde(rename = "p")]
    pub purpose: Purpose,
    /// Whose it is; `None` for a request about an address no account has (a record is written
    /// either way: the same work).
    #[serde(rename = "a")]
    pub account: Option<Id>,
    /// SHA-256 of the secret, hex.
    #[serde(rename = "d")]
    pub digest: String,
    /// The address it was mailed to (verification: the account's; email change: the new one).
    #[serde(rename = "e")]
    pub email: String,
    /// The account's password version when it was made (a reset): a reset, or any password
    /// change, voids the others.
    #[serde(rename = "v", default)]
    pub version: u64,
}

/// A token as mailed: made, or parsed from a request.
pub struct MailToken {
    /// Finds the record.
    pub selector: Id,
    secret: [u8; 32],
}

impl MailToken {
    /// A new random token.
    pub fn new() -> Self {
        Self {
            selector: Id::random(),
            secret: random_bytes::<32>(),
        }
    }

    /// Parses `text`; `None` if it is not a token's shape.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() > MAX_TOKEN_CHARS {
            return None;
        }
        let (selector, secret) = text.split_once('.')?;
        let bytes = URL_SAFE_NO_PAD.decode(secret).ok()?;
        Some(Self {
            selector: selector.parse().ok()?,
            secret: bytes.try_into().ok()?,
        })
    }

    /// The text mailed.
    pub fn text(&self) -> String {
        format!("{}.{}", self.selector, URL_SAFE_NO_PAD.encode(self.secret))
    }

    /// SHA-256 of the secret, hex: what the record keeps.
    pub fn digest(&self) -> String {
        sha256_hex(&self.secret)
    }

    /// Whether `record` was made for this token and `purpose` (the digest compared in
    /// constant time).
    pub fn matches(&self, record: &TokenRecord, purpose: Purpose) -> bool {
        let same: bool = self
            .digest()
            .as_bytes()
            .ct_eq(record.digest.as_bytes())
            .into();
        same && record.purpose == purpose
    }
}

impl Default for MailToken {
    fn default() -> Self {
        Self::new()
    }
}

/// A new six-digit sign-in code (uniform: rejection sampling over random `u32`s).
pub fn new_code() -> String {
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>());
        // The largest multiple of 1,000,000 below 2^32: above it, `n % 1e6` would favour small codes.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// A code as the client sent it: exactly six ASCII digits.
pub fn valid_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// SHA-256 of a code with its address, hex: a code's digest differs per address.
pub fn code_digest(email: &str, code: &str) -> String {
    sha256_hex(format!("{email}\n{code}").as_bytes())
}

/// Whether two digests are equal, in constant time.
pub fn same_digest(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_matches_only_its_record_and_purpose() {
        let t = MailToken::new();
        let parsed = MailToken::parse(&t.text()).expect("parses");
        assert_eq!(parsed.selector, t.selector);
        let record = TokenRecord {
            purpose: Purpose::Verify,
            account: None,
            digest: t.digest(),
            email: "a@example.com".into(),
            version: 0,
        };
        assert!(parsed.matches(&record, Purpose::Verify));
        assert!(!parsed.matches(&record, Purpose::Reset));
        assert!(!MailToken::new().matches(&record, Purpose::Verify));
        for bad in [
            "",
            "x",
            "x.y",
            &format!("{}.", t.selector),
            &"a".repeat(200),
        ] {
            assert!(MailToken::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..1000 {
            assert!(valid_code(&new_code()));
        }
        assert!(!valid_code("12345"));
        assert!(!valid_code("12345a"));
        assert!(!valid_code("١٢٣٤٥٦"));
        assert_ne!(code_digest("a@x", "123456"), code_digest("b@x", "123456"));
    }
}
