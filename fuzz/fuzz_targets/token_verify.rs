//! Arbitrary bytes as a bearer token: verification never panics, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passport::kernel::config::SecretBytes;
use passport::kernel::keys::KeyRing;
use passport::kernel::service::bearer_token;
use passport::kernel::tokens::TokenIssuer;
use std::sync::LazyLock;

/// The key the seed tokens in `fuzz/corpus/token_verify` are signed with.
const FUZZ_KEY: &[u8] = b"passport-fuzzing-only-signing-key-0123456789";

static RING: LazyLock<Option<KeyRing>> =
    LazyLock::new(|| KeyRing::from_literal(&SecretBytes::new(FUZZ_KEY.to_vec())).ok());
static ISSUER: LazyLock<TokenIssuer> = LazyLock::new(|| TokenIssuer::new("passport", None, 900));

fuzz_target!(|data: &[u8]| {
    let Some(ring) = RING.as_ref() else { return };
    let text = String::from_utf8_lossy(data);
    // A fixed "now" inside the seed tokens' lifetime, so valid ones get past the clock checks.
    let _ = ISSUER.verify(ring, &text, 1_795_860_000);
    if let Some(token) = bearer_token(&text) {
        let _ = ISSUER.verify(ring, token, 1_795_860_000);
    }
    let _ = passport::kernel::tokens::refresh::RefreshToken::parse(&text);
});
