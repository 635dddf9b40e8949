//! The authenticator app's secret and codes, through `totp-rs`: RFC 6238 with what every app
//! reads (SHA-1, six digits, 30-second steps), one step of drift either way.
//!
//! The secret is never stored: it is HMAC-SHA256 of the deployment's second-factor key
//! (`MFA_SECRET_ARN`) over the account and a random salt, and only the salt is kept — a copy of
//! the cache alone yields no secret, and removing the app (a new salt next time) voids it.

use crate::kernel::config::SecretBytes;
use crate::kernel::error::ApiError;
use crate::kernel::ids::{Id, random_bytes};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use totp_rs::{Algorithm, Builder, Totp};

/// Seconds per step (RFC 6238 §5.2's recommendation, what authenticator apps use).
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// Steps of clock drift accepted either way (RFC 6238 §5.2: "at most one time step").
pub const SKEW_STEPS: u16 = 1;
/// Secret length: 160 bits, RFC 4226 §4's recommendation.
const SECRET_BYTES: usize = 20;

/// The deployment's second-factor key (`MFA_SECRET_ARN`, `MFA_SECRET`), a service extension:
/// without it the second-factor routes answer 404 `not_configured`.
#[derive(Clone)]
pub struct MfaKey(pub SecretBytes);

impl std::fmt::Debug for MfaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaKey(..)")
    }
}

/// A new random salt (128 bits, base64url: 22 characters).
pub fn new_salt() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

/// The account's authenticator secret for `salt`.
fn secret(key: &MfaKey, account: Id, salt: &str) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.0.expose()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts every key length"),
    };
    mac.update(b"passport/totp/v1\0");
    mac.update(account.as_bytes());
    mac.update(salt.as_bytes());
    mac.finalize().into_bytes()[..SECRET_BYTES].to_vec()
}

/// The TOTP generator for `secret` (RFC 6238 with the parameters above).
pub fn generator(secret: Vec<u8>, issuer: &str, label: &str) -> Result<Totp, ApiError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret)
        .with_issuer(Some(issuer))
        // The label's account part may not hold a colon (Key Uri Format).
        .with_account_name(label.replace(':', "_"))
        .build()
        .map_err(|e| ApiError::Internal(format!("totp: {e}")))
}

/// The account's generator for `salt`, labelled with its email.
pub fn account_generator(
    key: &MfaKey,
    issuer: &str,
    account: Id,
    email: &str,
    salt: &str,
) -> Result<Totp, ApiError> {
    generator(secret(key, account, salt), issuer, email)
}

/// The step `code` is right for at `now` (within the drift), if any. The comparison is
/// `totp-rs`'s, in constant time.
pub fn matching_step(totp: &Totp, code: &str, now: i64) -> Option<i64> {
    if !valid_code(code) {
        return None;
    }
    let now = u64::try_from(now).ok()?;
    totp.check(code, now).and_then(|s| i64::try_from(s).ok())
}

/// Whether `code` has a code's form: six ASCII digits.
pub fn valid_code(code: &str) -> bool {
    code.len() == usize::from(DIGITS) && code.bytes().all(|b| b.is_ascii_digit())
}

/// What an authenticator app needs: the secret (base32, for typing in), the `otpauth://` URI
/// (Google Authenticator's Key Uri Format) and that URI as a QR code (SVG).
pub fn enrolment(totp: &Totp) -> Result<(String, String, String), ApiError> {
    let uri = totp
        .to_url()
        .map_err(|e| ApiError::Internal(format!("otpauth uri: {e}")))?;
    let qr = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| ApiError::Internal(format!("qr code: {e}")))?;
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok((totp.secret().to_base32(), uri, svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, Appendix B: the SHA-1 rows (eight digits, the 20-byte ASCII secret).
    #[test]
    fn rfc_6238_test_vectors_pass() {
        let secret = b"12345678901234567890".to_vec();
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(8)
            .with_skew(0)
            .with_step_duration(30)
            .with_secret(secret)
            .with_account_name("rfc")
            .build()
            .unwrap();
        for (time, code) in [
            (59u64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(totp.generate(time).to_string(), code, "T = {time}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_and_no_further() {
        let key = MfaKey(SecretBytes::new(vec![7; 32]));
        let account = Id::from_bytes([1; 16]);
        let totp = account_generator(&key, "Passport", account, "a@example.com", "salt").unwrap();
        let now = 1_700_000_000i64;
        let step = now / 30;
        let code_at = |s: i64| totp.generate((s * 30) as u64).to_string();
        assert_eq!(matching_step(&totp, &code_at(step), now), Some(step));
        assert_eq!(
            matching_step(&totp, &code_at(step - 1), now),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(&totp, &code_at(step + 1), now),
            Some(step + 1)
        );
        assert_eq!(matching_step(&totp, &code_at(step - 2), now), None);
        assert_eq!(matching_step(&totp, &code_at(step + 2), now), None);
        assert_eq!(matching_step(&totp, "12345", now), None);
        assert_eq!(matching_step(&totp, "12345a", now), None);
        // Another salt, another account: another secret.
        let other = account_generator(&key, "Passport", account, "a@example.com", "salt2").unwrap();
        assert_ne!(other.generate(0).to_string(), totp.generate(0).to_string());
        let elsewhere = account_generator(
            &key,
            "Passport",
            Id::from_bytes([2; 16]),
            "a@example.com",
            "salt",
        )
        .unwrap();
        assert_ne!(
            elsewhere.generate(0).to_string(),
            totp.generate(0).to_string()
        );
    }

    #[test]
    fn enrolment_gives_the_app_what_it_reads() {
        let key = MfaKey(SecretBytes::new(vec![7; 32]));
        let totp = account_generator(
            &key,
            "Passport",
            Id::from_bytes([1; 16]),
            "a:b@example.com",
            "s",
        )
        .unwrap();
        let (secret, uri, svg) = enrolment(&totp).unwrap();
        assert_eq!(secret.len(), 32, "{secret}");
        assert!(
            uri.starts_with("otpauth://totp/Passport:a_b%40example.com?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={secret}")), "{uri}");
        assert!(uri.contains("issuer=Passport"), "{uri}");
        assert!(svg.contains("<svg"), "{svg}");
    }
}
