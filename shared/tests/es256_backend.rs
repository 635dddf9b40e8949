//! A process whose first use of jsonwebtoken is to check an HS256 token still verifies ES256
//! with `ring` (issue 38): jsonwebtoken keeps the first provider it sees, so Passport installs
//! its own before every sign and verify. One test in its own process: the order is the point.

use base64::Engine as _;
use passport::kernel::config::SecretBytes;
use passport::kernel::keys::KeyRing;
use passport::kernel::keys::crypto::{Backend, install};
use passport::kernel::tokens::TokenIssuer;
use passport::testing::TEST_SIGNING_KEY;

#[test]
fn checking_an_hs256_token_first_leaves_es256_on_ring() {
    let ring = KeyRing::from_literal(&SecretBytes::new(TEST_SIGNING_KEY.as_bytes().to_vec()))
        .expect("HS256 keys");
    // A token that passes the header checks and reaches jsonwebtoken's signature check (made
    // by hand, not by jsonwebtoken, which would pick its backend first).
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = format!(
        r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#,
        ring.signing().kid()
    );
    let token = format!(
        "{}.{}.{}",
        b64.encode(header),
        b64.encode(r#"{"sub":"x"}"#),
        b64.encode([0u8; 32])
    );
    let issuer = TokenIssuer::new("passport", None, 900);
    let checked = issuer.verify(&ring, &token, passport::kernel::clock::now());
    assert!(
        matches!(
            checked,
            Err(passport::kernel::tokens::TokenError::Signature)
        ),
        "{checked:?}"
    );
    assert_eq!(install(), Backend::Ring);
}
