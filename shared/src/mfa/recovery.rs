//! Recovery codes: ten per account, shown once, kept only as digests, each spent once — what
//! signs in when the authenticator app is lost (NIST SP 800-63B's "look-up secrets").

use crate::kernel::ids::{Id, random_bytes};
use sha2::{Digest, Sha256};

/// Codes in a set.
pub const CODES: usize = 10;
/// Characters in a code (without its dash): 10 of 32 letters and digits, 50 bits each.
const CODE_CHARS: usize = 10;
/// The alphabet: lower-case letters and digits without the ones people confuse (`i`, `l`, `o`,
/// `1`): 32 characters.
const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz023456789";

/// A new set of codes, as its owner reads them (`abcde-fghjk`).
pub fn new_codes() -> Vec<String> {
    (0..CODES)
        .map(|_| {
            let bytes = random_bytes::<CODE_CHARS>();
            let chars: String = bytes
                .iter()
                // 32 letters: the low five bits of a random byte are uniform.
                .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A code as typed, in the form it was made: lower case, without spaces or dashes; `None` when
/// it cannot be one.
pub fn normalize(code: &str) -> Option<String> {
    let kept: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (kept.len() == CODE_CHARS && kept.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(kept)
}

/// The digest a code is kept as: SHA-256 over the account and the normalised code, hex. Codes
/// carry 50 random bits each, so a plain digest (no slow hash) suffices, as for refresh tokens.
pub fn digest(account: Id, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"passport/recovery/v1\0");
    h.update(account.as_bytes());
    h.update(normalize(code).unwrap_or_default().as_bytes());
    crate::kernel::tokens::digest::hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_distinct_and_read_back_however_typed() {
        let codes = new_codes();
        assert_eq!(codes.len(), CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), CODES);
        let account = Id::from_bytes([3; 16]);
        for c in &codes {
            assert_eq!(c.len(), 11, "{c}");
            let typed = format!(" {} ", c.to_uppercase().replace('-', " - "));
            assert_eq!(digest(account, &typed), digest(account, c));
            assert_eq!(digest(account, c).len(), 64);
        }
        assert_ne!(
            digest(account, &codes[0]),
            digest(Id::from_bytes([4; 16]), &codes[0])
        );
        assert_eq!(normalize("abc"), None);
        assert_eq!(normalize("abcde-fghj!"), None);
    }
}
