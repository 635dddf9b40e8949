//! The JWT attack suite: every crafted access token is denied, and the work done on it is
//! bounded by the 8 KiB size limit. Signatures are made by hand (HMAC-SHA256 over the exact
//! bytes), so headers and claims can be anything an attacker could send.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use passport::Service;
use passport::kernel::ids::Id;
use passport::kernel::service::Denied;
use passport::kernel::tokens::{MAX_TOKEN_BYTES, TokenError};
use passport::testing::{TEST_SIGNING_KEY, logged_in_memory_service};
use serde_json::{Value, json};
use sha2::{Sha256, Sha384, Sha512};

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fn sign_raw(header: &str, claims: &str, key: &[u8]) -> String {
    let signing_input = format!("{}.{}", b64(header), b64(claims));
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn sign(header: &Value, claims: &Value) -> String {
    sign_raw(
        &header.to_string(),
        &claims.to_string(),
        TEST_SIGNING_KEY.as_bytes(),
    )
}

/// A live session on the memory store, so that a token with its claims and a good signature is
/// authorized: the attack under test is then the only reason for a deny.
struct Target {
    service: Service,
    kid: String,
    now: i64,
    sub: String,
    sid: String,
}

impl Target {
    async fn new() -> Self {
        let (service, pair) = logged_in_memory_service(None).await;
        let caller = service
            .authorize(Some(&format!("Bearer {}", pair.access_token)))
            .await
            .unwrap();
        let kid = service.keys().current().signing().kid().to_string();
        let t = Self {
            service,
            kid,
            now: passport::kernel::clock::now(),
            sub: caller.account.to_string(),
            sid: caller.session.to_string(),
        };
        let honest = format!("Bearer {}", sign(&t.header(), &t.claims()));
        assert!(
            t.service.authorize(Some(&honest)).await.is_ok(),
            "the honest token of the target's session is authorized"
        );
        t
    }

    fn header(&self) -> Value {
        json!({"alg": "HS256", "typ": "at+jwt", "kid": self.kid})
    }

    fn claims(&self) -> Value {
        json!({"iss": "passport", "sub": self.sub, "sid": self.sid,
               "jti": "j", "iat": self.now, "exp": self.now + 600})
    }

    async fn verify(&self, token: &str) -> Result<(), TokenError> {
        self.service
            .verify_access_token(token, self.now)
            .await
            .map(|_| ())
    }

    async fn denied(&self, what: &str, token: &str) {
        assert!(self.verify(token).await.is_err(), "{what}: accepted");
        // Through the authorizer's entry point too: a deny, never a crash.
        let header = format!("Bearer {token}");
        assert!(
            self.service.authorize(Some(&header)).await.is_err(),
            "{what}: authorized"
        );
    }
}

#[tokio::test]
async fn the_well_formed_baseline_verifies() {
    // Without this, every "denied" below could pass for a broken signer.
    let t = Target::new().await;
    assert_eq!(t.verify(&sign(&t.header(), &t.claims())).await, Ok(()));
}

#[tokio::test]
async fn alg_none_in_every_letter_case() {
    let t = Target::new().await;
    for alg in ["none", "None", "NONE", "nOnE", "NoNe"] {
        let mut h = t.header();
        h["alg"] = json!(alg);
        let unsigned = format!("{}.{}.", b64(&h.to_string()), b64(&t.claims().to_string()));
        t.denied(alg, &unsigned).await;
        t.denied(alg, &sign(&h, &t.claims())).await;
    }
}

#[tokio::test]
async fn other_hmac_sizes_with_the_same_key() {
    let t = Target::new().await;
    for (alg, sig) in [("HS384", 384), ("HS512", 512)] {
        let mut h = t.header();
        h["alg"] = json!(alg);
        let input = format!("{}.{}", b64(&h.to_string()), b64(&t.claims().to_string()));
        let mac = match sig {
            384 => {
                let mut m = Hmac::<Sha384>::new_from_slice(TEST_SIGNING_KEY.as_bytes()).unwrap();
                m.update(input.as_bytes());
                m.finalize().into_bytes().to_vec()
            }
            _ => {
                let mut m = Hmac::<Sha512>::new_from_slice(TEST_SIGNING_KEY.as_bytes()).unwrap();
                m.update(input.as_bytes());
                m.finalize().into_bytes().to_vec()
            }
        };
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac));
        assert_eq!(t.verify(&token).await, Err(TokenError::Algorithm), "{alg}");
        t.denied(alg, &token).await;
    }
}

#[tokio::test]
async fn asymmetric_algorithms_and_key_confusion() {
    let t = Target::new().await;
    for alg in ["RS256", "RS512", "ES256", "ES384", "PS256", "EdDSA"] {
        let mut h = t.header();
        h["alg"] = json!(alg);
        let input = format!("{}.{}", b64(&h.to_string()), b64(&t.claims().to_string()));
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode([7u8; 256]));
        assert_eq!(t.verify(&token).await, Err(TokenError::Algorithm), "{alg}");
        t.denied(alg, &token).await;
    }
    // HS256 signed with a public key as the HMAC secret: the classic confusion. Passport's HMAC
    // key is a secret, never a public key, so this is just a wrong signature.
    let public_pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode([0x30u8; 294])
    );
    let token = sign_raw(
        &t.header().to_string(),
        &t.claims().to_string(),
        public_pem.as_bytes(),
    );
    assert_eq!(t.verify(&token).await, Err(TokenError::Signature));
}

#[tokio::test]
async fn hostile_kids() {
    let t = Target::new().await;
    let long = "k".repeat(4000);
    let kids = [
        json!("../../../../etc/passwd"),
        json!("' OR '1'='1"),
        json!(long),
        json!(42),
        json!({"kid": t.kid}),
        json!([t.kid]),
        json!(null),
        json!(""),
        json!(format!("{} ", t.kid)),
    ];
    for kid in kids {
        let mut h = t.header();
        h["kid"] = kid.clone();
        t.denied(&format!("kid {kid}"), &sign(&h, &t.claims()))
            .await;
    }
    let mut no_kid = t.header();
    no_kid.as_object_mut().unwrap().remove("kid");
    t.denied("no kid", &sign(&no_kid, &t.claims())).await;
}

#[tokio::test]
async fn key_url_headers_are_ignored_never_trusted() {
    let t = Target::new().await;
    let attacker = b"an attacker's own key, 32 bytes long!";
    for (name, value) in [
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        (
            "jwk",
            json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(attacker)}),
        ),
    ] {
        let mut h = t.header();
        h[name] = value;
        let forged = sign_raw(&h.to_string(), &t.claims().to_string(), attacker);
        t.denied(name, &forged).await;
    }
}

#[tokio::test]
async fn missing_and_mistyped_claims() {
    let t = Target::new().await;
    for claim in ["exp", "sub", "sid", "iss", "iat", "jti"] {
        let mut c = t.claims();
        c.as_object_mut().unwrap().remove(claim);
        t.denied(&format!("missing {claim}"), &sign(&t.header(), &c))
            .await;
    }
    for (claim, value) in [
        ("exp", json!((t.now + 600).to_string())),
        ("exp", json!(t.now as f64 + 600.5)),
        ("exp", json!(null)),
        ("iat", json!("now")),
        ("sub", json!(12345)),
        ("sub", json!("not-an-account-id")),
        ("sid", json!(["x"])),
    ] {
        let mut c = t.claims();
        c[claim] = value.clone();
        t.denied(&format!("{claim} = {value}"), &sign(&t.header(), &c))
            .await;
    }
}

#[tokio::test]
async fn not_yet_valid_and_expired() {
    let t = Target::new().await;
    let mut nbf = t.claims();
    nbf["nbf"] = json!(t.now + 3600);
    t.denied("nbf in the future", &sign(&t.header(), &nbf))
        .await;
    let mut iat = t.claims();
    iat["iat"] = json!(t.now + 3600);
    t.denied("iat in the future", &sign(&t.header(), &iat))
        .await;
    let mut exp = t.claims();
    exp["exp"] = json!(t.now - 60);
    t.denied("expired", &sign(&t.header(), &exp)).await;
}

#[tokio::test]
async fn duplicate_keys_in_header_or_claims() {
    let t = Target::new().await;
    let header = format!(
        r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}","alg":"none"}}"#,
        t.kid
    );
    let claims = t.claims().to_string();
    t.denied(
        "duplicate alg",
        &sign_raw(&header, &claims, TEST_SIGNING_KEY.as_bytes()),
    )
    .await;
    let dup_sub = claims.replacen('{', &format!(r#"{{"sub":"{}","#, Id::random()), 1);
    t.denied(
        "duplicate sub",
        &sign_raw(
            &t.header().to_string(),
            &dup_sub,
            TEST_SIGNING_KEY.as_bytes(),
        ),
    )
    .await;
}

#[tokio::test]
async fn mangled_token_shapes() {
    let t = Target::new().await;
    let good = sign(&t.header(), &t.claims());
    let parts: Vec<&str> = good.split('.').collect();
    let shapes = [
        format!("{good}."),
        format!(".{good}"),
        format!("{}.{}..{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
        format!("{}==.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
        format!("{}. {}.{}", parts[0], parts[1], parts[2]),
        parts[..2].join("."),
        String::new(),
        ".".into(),
        "..".into(),
    ];
    for s in shapes {
        t.denied(&format!("{s:?}"), &s).await;
    }
    // White space around the token is not part of it; in an `Authorization` header it is
    // optional white space (RFC 9110 §5.5, RFC 6750 `1*SP`), which the header parse drops.
    for s in [format!(" {good}"), format!("{good}\n")] {
        assert!(t.verify(&s).await.is_err(), "{s:?}: accepted");
    }
}

#[tokio::test]
async fn oversized_tokens_are_refused_before_parsing() {
    let t = Target::new().await;
    let mut c = t.claims();
    c["pad"] = json!("x".repeat(1024 * 1024));
    let huge = sign(&t.header(), &c);
    assert!(huge.len() > 1_000_000);
    assert_eq!(t.verify(&huge).await, Err(TokenError::TooLong));
    let just_over = "a".repeat(MAX_TOKEN_BYTES + 1);
    assert_eq!(t.verify(&just_over).await, Err(TokenError::TooLong));
    t.denied("1 MB", &huge).await;
}

#[tokio::test]
async fn other_token_kinds_and_foreign_issuers() {
    let t = Target::new().await;
    // A refresh token presented as an access token.
    let refresh =
        passport::kernel::tokens::refresh::RefreshToken::new(Id::random(), Id::random()).encode();
    t.denied("refresh token", &refresh).await;
    // An ID-style token (typ JWT) and a token without typ.
    let mut id_token = t.header();
    id_token["typ"] = json!("JWT");
    assert_eq!(
        t.verify(&sign(&id_token, &t.claims())).await,
        Err(TokenError::Type)
    );
    let mut no_typ = t.header();
    no_typ.as_object_mut().unwrap().remove("typ");
    t.denied("no typ", &sign(&no_typ, &t.claims())).await;
    // Signed with our key, but for another issuer or audience.
    let mut other_iss = t.claims();
    other_iss["iss"] = json!("https://other.example");
    assert_eq!(
        t.verify(&sign(&t.header(), &other_iss)).await,
        Err(TokenError::Claims)
    );
    let aud_app = passport::testing::service_on(
        std::sync::Arc::new(passport::kernel::store::MemoryStore::new()),
        passport::Config {
            token_audience: Some("web".into()),
            ..passport::testing::test_config()
        },
    );
    let mut other_aud = t.claims();
    other_aud["aud"] = json!("mobile");
    let token = sign(&t.header(), &other_aud);
    assert!(aud_app.verify_access_token(&token, t.now).await.is_err());
    other_aud["aud"] = json!("web");
    let token = sign(&t.header(), &other_aud);
    assert!(
        aud_app.verify_access_token(&token, t.now).await.is_ok(),
        "baseline with aud"
    );
}

#[tokio::test]
async fn a_valid_token_for_a_session_that_does_not_exist_is_denied() {
    let t = Target::new().await;
    let mut claims = t.claims();
    claims["sid"] = json!(Id::random().to_string());
    let token = sign(&t.header(), &claims);
    assert!(t.verify(&token).await.is_ok());
    let denied = t.service.authorize(Some(&format!("Bearer {token}"))).await;
    assert!(matches!(denied, Err(Denied::SessionEnded)), "{denied:?}");
}
