//! The account directory's rules: email normalisation, input limits, argon2id password hashes.

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Longest email accepted (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest password accepted; bounds the hashing work one request can ask for.
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Shortest password an operator may set.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest device name kept on a session.
pub const MAX_DEVICE_CHARS: usize = 64;

/// argon2id memory cost in KiB (OWASP: 19 MiB).
pub const ARGON2_M_KIB: u32 = 19_456;
/// argon2id iterations (OWASP: 2).
pub const ARGON2_T: u32 = 2;
/// argon2id parallelism (OWASP: 1).
pub const ARGON2_P: u32 = 1;

/// A hash of a random password nobody knows, with the same parameters as real hashes. Login
/// verifies against it for unknown emails so they cost the same work as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$cGFzc3BvcnQtZHVtbXktc2FsdA$Pf2X8jYoUHA5zkDkGu+OZ3W7nuMdgpnrA3jcYFP1OjQ";

/// Password verifications run by this process, for tests (feature `testing`): release builds
/// count nothing in the login path.
#[cfg(any(test, feature = "testing"))]
static VERIFICATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// An email or password that breaks the rules. Each message names the rule broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Longer than [`MAX_EMAIL_CHARS`] once trimmed.
    #[error("email must be at most {MAX_EMAIL_CHARS} characters")]
    EmailTooLong,
    /// Not one `text@domain` address, or with white space or control characters inside.
    #[error(
        "email must be one address, text@domain, with no white space or control characters inside"
    )]
    EmailForm,
    /// Password too short or too long.
    #[error("password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")]
    Password,
}

/// Trims and lower-cases an email and checks its shape; `Err` if it is not one we accept. The
/// length is counted before lower-casing (which can lengthen a string), as `openapi.yaml`'s
/// `maxLength` counts it.
pub fn normalize_email(raw: &str) -> Result<String, InputError> {
    // Trimmed of white space and control characters alike: what counts as white space differs
    // between Unicode (Rust), ECMAScript and Python regexes (`\s` covers U+001C–U+001F there).
    let trimmed = raw.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    if trimmed.chars().count() > MAX_EMAIL_CHARS {
        return Err(InputError::EmailTooLong);
    }
    let email = trimmed.to_lowercase();
    let shape_ok = !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if shape_ok {
        Ok(email)
    } else {
        Err(InputError::EmailForm)
    }
}

/// Checks a new password's length (in characters).
pub fn check_new_password(password: &str) -> Result<(), InputError> {
    let n = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        Ok(())
    } else {
        Err(InputError::Password)
    }
}

/// The lowest zxcvbn score a new password may have (3: "safely unguessable", about 10^10
/// guesses; Dropbox's estimator: github.com/dropbox/zxcvbn, ported by the `zxcvbn` crate).
pub const MIN_PASSWORD_SCORE: u8 = 3;
/// Characters of a password the estimator reads: its matching is superlinear, and a password
/// longer than this is long enough.
const ESTIMATED_CHARS: usize = 100;

/// Checks a new password's length, then its strength against guessing (the estimator is told
/// the email, so a password made of it scores low). `Err` says why, in words for the user.
pub fn check_password_strength(password: &str, email: &str) -> Result<(), String> {
    check_new_password(password).map_err(|e| e.to_string())?;
    let read: String = password.chars().take(ESTIMATED_CHARS).collect();
    let local = email.split('@').next().unwrap_or_default();
    let estimate = zxcvbn::zxcvbn(&read, &[email, local]);
    if estimate.score() as u8 >= MIN_PASSWORD_SCORE {
        return Ok(());
    }
    let mut why = String::from("this password is too easy to guess");
    if let Some(feedback) = estimate.feedback() {
        if let Some(w) = feedback.warning() {
            why = format!("{why}: {w}");
        }
        let tips: Vec<String> = feedback
            .suggestions()
            .iter()
            .map(|s| s.to_string())
            .collect();
        if !tips.is_empty() {
            why = format!("{why}. {}", tips.join(" "));
        }
    }
    Err(why)
}

fn hasher() -> Argon2<'static> {
    #[allow(clippy::expect_used)]
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None)
        .expect("the OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password as an argon2id PHC string with a fresh random salt. CPU-bound: call it
/// from a blocking thread.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(&crate::kernel::ids::random_bytes::<16>())?;
    Ok(hasher()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Largest argon2 memory a stored hash may ask of a verification, in KiB (four times ours): a
/// hash imported with more is refused rather than let one login take that much memory.
const MAX_VERIFY_M_KIB: u32 = 4 * ARGON2_M_KIB;

/// argon2's working memory for one verification at a time, kept and reused. A process holds
/// one per worker (`Service` keeps one per CPU) instead of allocating 19 MiB per verification,
/// which glibc's allocator then keeps per thread (505 MiB after a login load, before this).
pub struct Workspace(Vec<Block>);

impl Workspace {
    /// Memory for a hash with this crate's parameters.
    pub fn new() -> Self {
        Self(vec![Block::default(); ARGON2_M_KIB as usize])
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// Verifies `password` against `phc`, or against the dummy hash when `phc` is `None`, empty (an
/// account with no password: a passkey or an identity provider is its way in) or unreadable, so
/// that each costs one argon2id computation: no quick refusal tells such an account apart from
/// an unknown email. CPU-bound: call it from a blocking thread.
pub fn verify_password(password: &str, phc: Option<&str>) -> bool {
    verify_password_in(&mut Workspace::new(), password, phc)
}

/// [`verify_password`] in `workspace`'s memory: the parameters, salt and hash come from the PHC
/// string; the hash is recomputed with `hash_password_into_with_memory` and compared in
/// constant time (`password_hash::Output`'s `==`).
pub fn verify_password_in(workspace: &mut Workspace, password: &str, phc: Option<&str>) -> bool {
    let stored = phc
        .filter(|p| !p.is_empty())
        .and_then(|p| PasswordHash::new(p).ok());
    let real = stored.is_some();
    let parsed = match stored {
        Some(p) => p,
        None => match PasswordHash::new(DUMMY_HASH) {
            Ok(p) => p,
            Err(_) => return false,
        },
    };
    let ok = recompute_matches(workspace, password, &parsed).unwrap_or(false);
    ok && real
}

fn recompute_matches(ws: &mut Workspace, password: &str, hash: &PasswordHash) -> Option<bool> {
    let expected = hash.hash?;
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::V0x13,
    };
    let params = Params::try_from(hash).ok()?;
    if params.m_cost() > MAX_VERIFY_M_KIB {
        return None;
    }
    if ws.0.len() < params.block_count() {
        ws.0.resize(params.block_count(), Block::default());
    }
    let mut salt = [0u8; 64];
    let salt = hash.salt?.decode_b64(&mut salt).ok()?;
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = out.get_mut(..expected.len())?;
    #[cfg(any(test, feature = "testing"))]
    VERIFICATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut ws.0)
        .ok()?;
    Some(Output::new(out).ok()? == expected)
}

/// How many password verifications this process has run (real and dummy alike): lets tests
/// show that an unknown email costs the same hashing work as a wrong password.
#[cfg(any(test, feature = "testing"))]
pub fn verification_count() -> u64 {
    VERIFICATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_refuses_guessable_passwords_with_a_reason() {
        let why = check_password_strength("password1234", "a@example.com").unwrap_err();
        assert!(
            why.starts_with("this password is too easy to guess"),
            "{why}"
        );
        assert!(check_password_strength("alice.example1", "alice.example1@x.org").is_err());
        assert!(check_password_strength("short", "a@example.com").is_err());
        assert!(check_password_strength("vivid-otter-quantum-lamp-91", "a@example.com").is_ok());
    }

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.COM \n").unwrap(),
            "ada@example.com"
        );
        assert_eq!(normalize_email("\u{1c}a@b.c\u{85}").unwrap(), "a@b.c");
        assert_eq!(
            normalize_email("\u{9f}abc@example.com").unwrap(),
            "abc@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@c.d",
            "a@b@c",
            "ab\u{9f}c@example.com",
            "abc@exa\u{85}mple.com",
        ] {
            assert_eq!(normalize_email(bad), Err(InputError::EmailForm), "{bad:?}");
        }
        let long = format!("{}@x.y", "a".repeat(260));
        assert_eq!(normalize_email(&long), Err(InputError::EmailTooLong));
        // 254 characters that lower-casing lengthens are still within the limit.
        let dotted = format!("{}@x.y", "\u{130}".repeat(250));
        assert!(normalize_email(&dotted).is_ok());
        assert!(
            InputError::EmailForm.to_string().contains("control"),
            "the message names the real cause"
        );
    }

    #[test]
    fn password_length_bounds() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password(&"x".repeat(MIN_PASSWORD_CHARS)).is_ok());
        assert!(check_new_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }

    #[test]
    fn hash_uses_owasp_argon2id_and_verifies() {
        let h = hash_password("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery staple", Some(&h)));
        assert!(!verify_password("wrong horse battery staple", Some(&h)));
        assert_ne!(h, hash_password("correct horse battery staple").unwrap());
    }

    #[test]
    fn one_workspace_verifies_again_and_again_as_argon2_itself_does() {
        use argon2::password_hash::PasswordVerifier;
        let mut ws = Workspace::new();
        let h = hash_password("correct horse battery staple").unwrap();
        // Another hash's parameters (less memory, other t and p, argon2i) in the same memory.
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(8192, 3, 2, Some(24)).unwrap(),
        )
        .hash_password(b"another password", &salt)
        .unwrap()
        .to_string();
        for _ in 0..2 {
            for (password, phc) in [
                ("correct horse battery staple", h.as_str()),
                ("wrong horse battery staple", h.as_str()),
                ("another password", other.as_str()),
                ("another passworD", other.as_str()),
            ] {
                let theirs = hasher()
                    .verify_password(password.as_bytes(), &PasswordHash::new(phc).unwrap())
                    .is_ok();
                assert_eq!(
                    verify_password_in(&mut ws, password, Some(phc)),
                    theirs,
                    "{password}"
                );
            }
        }
        assert!(verify_password_in(
            &mut ws,
            "correct horse battery staple",
            Some(&h)
        ));
        assert!(
            !verify_password_in(&mut ws, "x", None),
            "the dummy never matches"
        );
        assert!(!verify_password_in(&mut ws, "x", Some("not a hash")));
        // A stored hash that asks for more memory than allowed is refused, not run.
        let greedy = h.replace("m=19456", &format!("m={}", MAX_VERIFY_M_KIB + 1));
        assert!(!verify_password_in(
            &mut ws,
            "correct horse battery staple",
            Some(&greedy)
        ));
        assert_eq!(
            ws.0.len(),
            ARGON2_M_KIB as usize,
            "the memory stayed what it was"
        );
    }

    #[test]
    fn dummy_hash_has_the_real_parameters_and_never_matches() {
        let real = hash_password("some password!!").unwrap();
        let params = |h: &str| h.split('$').nth(3).map(str::to_string);
        assert_eq!(params(DUMMY_HASH), params(&real));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        let before = verification_count();
        assert!(!verify_password("", None));
        assert!(!verify_password("anything", None));
        assert!(verification_count() >= before + 2);
    }

    #[test]
    fn an_account_with_no_password_costs_a_whole_verification_and_matches_nothing() {
        // Its stored hash is empty (a passkey or a provider is its way in): the dummy hash is
        // computed as for an unknown email, never a quick refusal.
        for phc in ["", "not a phc string"] {
            let before = verification_count();
            assert!(!verify_password("", Some(phc)));
            assert!(!verify_password("anything", Some(phc)));
            assert!(verification_count() >= before + 2, "{phc:?}");
        }
    }
}
