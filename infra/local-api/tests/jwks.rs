//! Passport's ES256 tokens checked by other people's code: `local-api`, its key in Secrets
//! Manager (the `moto_server` of `make test`), verified through its published JWKS by `jose`
//! (Node.js, `createRemoteJWKSet`) and PyJWT (`PyJWKClient`) running README's two snippets as
//! written. A passport and an HS256 token are refused there; after two rotations the first
//! key leaves the JWKS and its tokens are refused by both libraries and by Passport.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_secretsmanager::Client;
use common::{Http, start};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "a password for the jwks test";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The code block after README's `<!-- verify:<name> ... -->` line.
fn readme_snippet(name: &str) -> String {
    let readme = std::fs::read_to_string(root().join("docs/verifying-tokens.md")).unwrap();
    let marker = format!("<!-- verify:{name}");
    let after = &readme[readme
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/verifying-tokens.md has no {marker} block"))..];
    let start = after.find("```").unwrap();
    let body = &after[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

/// Runs README's snippet `name` with the token; its standard output, or its error output.
fn verify_with(name: &str, jwks_url: &str, token: &str) -> Result<String, String> {
    verify_with_env(name, jwks_url, token, &[])
}

/// [`verify_with`], with `env` beside the variables it sets.
fn verify_with_env(
    name: &str,
    jwks_url: &str,
    token: &str,
    env: &[(&str, &str)],
) -> Result<String, String> {
    let (program, args, dir): (&str, &[&str], PathBuf) = match name {
        // From web/, where `npm ci` put jose; ES module code read from standard input.
        "node" => ("node", &["--input-type=module"], root().join("web")),
        // The .venv of `make test` comes first on PATH; PyJWT is in its requirements.
        "python" => ("python3", &["-"], root()),
        _ => unreachable!(),
    };
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PASSPORT_JWKS_URL", jwks_url)
        .env("PASSPORT_ISSUER", "passport")
        .env("ACCESS_TOKEN", token)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (run the tests with `make test`)"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(readme_snippet(name).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(text(&out.stderr))
    }
}

fn secrets_manager() -> Client {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the tests with `make test`, which starts moto_server",
    );
    passport::testing::secrets_manager_at(&endpoint)
}

fn secret_value(n: u8) -> String {
    format!("jwks-test-secret-{n}-").repeat(4)
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn jwks_kids(http: &Http) -> Vec<String> {
    let (status, headers, jwks) = http
        .call(Method::GET, "/.well-known/jwks.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{jwks}");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public, max-age="),
        "{headers:?}"
    );
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// The discovery document of local-api at `base`: its issuer, and a `jwks_uri` at `base`.
async fn discovered_jwks_url(http: &Http, base: &str) -> String {
    let (status, _, doc) = http
        .call(Method::GET, "/.well-known/openid-configuration", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["issuer"], "passport");
    let jwks_url = format!("{base}/.well-known/jwks.json");
    assert_eq!(doc["jwks_uri"], jwks_url.as_str());
    jwks_url
}

async fn login(http: &Http, email: &str) -> Value {
    let (status, _, body) = http
        .call(
            Method::POST,
            "/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Puts a new version of the secret; its version id (the new `kid`).
async fn rotate(sm: &Client, arn: &str, n: u8) -> String {
    sm.put_secret_value()
        .secret_id(arn)
        .secret_string(secret_value(n))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string()
}

/// Logs in until the JWKS lists `want` (local-api reloads the secret after a second and
/// publishes the new keys before it signs with them): bounded at 30 s.
async fn until_published(http: &Http, email: &str, want: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pair = login(http, email).await;
        let kids = jwks_kids(http).await;
        if kids == want {
            return pair;
        }
        assert!(
            Instant::now() < deadline,
            "the JWKS lists {kids:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn independent_libraries_verify_through_the_jwks_and_refuse_what_they_must() {
    let sm = secrets_manager();
    let created = sm
        .create_secret()
        .name(format!("passport-jwks-{}", std::process::id()))
        .secret_string(secret_value(1))
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_string();
    let v1 = created.version_id().unwrap().to_string();
    let email = format!("jwks-{}@example.com", std::process::id());
    let api = start(
        &["--account", &format!("{email}:{PASSWORD}")],
        &[
            ("SIGNING_SECRET_ARN", &arn),
            ("SIGNING_KEY_CACHE_SECONDS", "1"),
        ],
    );
    assert!(
        api.output
            .iter()
            .any(|l| l.contains("SIGNING_SECRET_ARN") && l.contains("Tokens: ES256")),
        "{:?}",
        api.output
    );
    let http = Http::new(&api.base);

    let jwks_url = discovered_jwks_url(&http, &api.base).await;
    assert_eq!(jwks_kids(&http).await, [v1.as_str()]);

    let pair = login(&http, &email).await;
    let old = pair["access_token"].as_str().unwrap().to_string();
    assert_eq!(kid_of(&old), v1);
    let sid = pair["session_id"].as_str().unwrap();
    for lib in ["node", "python"] {
        let out = verify_with(lib, &jwks_url, &old).unwrap_or_else(|e| panic!("{lib}: {e}"));
        assert!(out.ends_with(sid), "{lib}: {out}");
    }

    // A passport is not an access token there.
    let (status, _, grant) = http
        .call_with(
            Method::POST,
            "/passport",
            &[("x-app-code", "demo-public")],
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{grant}");
    let passport = grant["passport"].as_str().unwrap();
    for lib in ["node", "python"] {
        assert!(
            verify_with(lib, &jwks_url, passport).is_err(),
            "{lib} took a passport"
        );
    }

    // An HS256 token with the kid in force, made with the secret itself: refused by both
    // libraries and by Passport's authorizer.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(v1.clone());
    // The claims unverified: they are only copied into a token that must be refused.
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(&old).unwrap();
    let hs256 = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret_value(1).as_bytes()),
    )
    .unwrap();
    for lib in ["node", "python"] {
        assert!(
            verify_with(lib, &jwks_url, &hs256).is_err(),
            "{lib} took HS256"
        );
    }
    let (status, _, _) = http.call(Method::GET, "/me", Some(&hs256), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = http.call(Method::GET, "/me", Some(&old), None).await;
    assert_eq!(status, StatusCode::OK);

    // Rotation: the new key joins, the old one still verifies.
    let v2 = rotate(&sm, &arn, 2).await;
    let pair = until_published(&http, &email, &[&v2, &v1]).await;
    let newer = pair["access_token"].as_str().unwrap().to_string();
    assert_eq!(kid_of(&newer), v2);
    for lib in ["node", "python"] {
        for token in [&old, &newer] {
            verify_with(lib, &jwks_url, token).unwrap_or_else(|e| panic!("{lib}: {e}"));
        }
    }
    // Again: the first key leaves the JWKS, and its tokens stop verifying everywhere.
    let v3 = rotate(&sm, &arn, 3).await;
    until_published(&http, &email, &[&v3, &v2]).await;
    for lib in ["node", "python"] {
        let refused = verify_with(lib, &jwks_url, &old);
        assert!(refused.is_err(), "{lib} took a dropped key's token");
        verify_with(lib, &jwks_url, &newer).unwrap_or_else(|e| panic!("{lib}: {e}"));
    }
    let (status, _, _) = http.call(Method::GET, "/me", Some(&old), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// README's first command as it is: no key configured. local-api makes an ES256 key for the
/// run, serves the JWKS and the discovery document, and README's snippets verify its tokens.
#[tokio::test]
async fn with_no_key_configured_local_api_signs_es256_and_the_snippets_verify_its_tokens() {
    let email = format!("jwks-demo-{}@example.com", std::process::id());
    let api = start(&["--account", &format!("{email}:{PASSWORD}")], &[]);
    assert!(
        api.output
            .iter()
            .any(|l| l.contains("Signing key: generated") && l.contains("Tokens: ES256")),
        "{:?}",
        api.output
    );
    let http = Http::new(&api.base);
    let jwks_url = discovered_jwks_url(&http, &api.base).await;
    let pair = login(&http, &email).await;
    let token = pair["access_token"].as_str().unwrap();
    assert_eq!(jwks_kids(&http).await, [kid_of(token)]);
    for lib in ["node", "python"] {
        let out = verify_with(lib, &jwks_url, token).unwrap_or_else(|e| panic!("{lib}: {e}"));
        assert!(
            out.ends_with(pair["session_id"].as_str().unwrap()),
            "{lib}: {out}"
        );
    }

    // Two factors: the snippets, asked to require them, refuse this password session's token
    // and take one whose sign-in an authenticator app's code completed.
    let two = [("REQUIRE_TWO_FACTORS", "true")];
    for lib in ["node", "python"] {
        let refused = verify_with_env(lib, &jwks_url, token, &two);
        assert!(
            refused.is_err_and(|e| e.contains("two factors required")),
            "{lib}"
        );
    }
    let aal2 = sign_in_with_an_authenticator(&http, &email, token).await;
    for lib in ["node", "python"] {
        let out =
            verify_with_env(lib, &jwks_url, &aal2, &two).unwrap_or_else(|e| panic!("{lib}: {e}"));
        assert!(out.contains(' '), "{lib}: {out}");
    }
}

/// Sets up an authenticator app for `email`'s account with the session of `access` (as an app
/// reads the key: base32, RFC 6238), then signs in with the password and the next step's code:
/// that session's access token.
async fn sign_in_with_an_authenticator(http: &Http, email: &str, access: &str) -> String {
    let (status, _, setup) = http
        .call(Method::POST, "/mfa/totp", Some(access), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{setup}");
    let secret = totp_rs::Secret::try_from_base32(setup["secret"].as_str().unwrap()).unwrap();
    let app = passport::mfa::totp::generator(secret.as_bytes().to_vec(), "app", "me").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = json!({"code": app.generate(now).to_string()});
    let (status, _, codes) = http
        .call(Method::POST, "/mfa/totp/confirm", Some(access), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let (status, _, asked) = http
        .call(
            Method::POST,
            "/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        (status, &asked["error"]),
        (StatusCode::FORBIDDEN, &json!("mfa_required"))
    );
    let body = json!({"challenge": asked["challenge"], "code": app.generate(now + 30).to_string()});
    let (status, _, pair) = http
        .call(Method::POST, "/login/mfa", None, Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    pair["access_token"].as_str().unwrap().to_string()
}
