//! `cargo bench -p passport-bench` (run by `make bench`, which starts the Redis and reads the
//! output): the authorizer's full decision beside the floor (bare `jsonwebtoken::decode` plus one
//! `EXISTS`), token verification alone, refresh and login on Redis with their round trips, and
//! the cold start of every function binary. Writes `$PASSPORT_BENCH_OUT/rust.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use passport::Service;
use passport::kernel::config::{Config, SecretBytes, SigningAlgorithm};
use passport::kernel::keys::KeyRing;
use passport::kernel::service::ClientInfo;
use passport::kernel::store::{RedisConnection, RedisStore};
use passport::kernel::tokens::TokenIssuer;
use passport::sessions::LoginInput;
use passport::testing::{TEST_SIGNING_KEY, create_account, event, service_on, test_config};
use passport_bench::cold_start;
use passport_bench::stats::{Stats, time_async, time_interleaved, time_sync, time_sync_in_turn};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "bench password, long enough";

/// The authorizer's handler in full on `token`'s event (event bytes in, parse, verify, the
/// store's check, response bytes out) beside its floor: a bare decode of the same token with a
/// prepared key and validation, then one `EXISTS` of the same session key on `floor_conn`.
/// Timed alternately, so both see the same loopback.
async fn decision_against_floor(
    service: Arc<Service>,
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
    floor_conn: RedisConnection,
    (warmup, n): (usize, usize),
) -> (Stats, Stats) {
    let payload = event("authorizer-v2-allow", &[("ACCESS_TOKEN", token)]);
    let session_key = {
        let v = service
            .verify_access_token(token, passport::kernel::clock::now())
            .await
            .unwrap();
        format!("pp:{{{}}}:s:{}", v.account, v.session)
    };
    time_interleaved(
        warmup,
        n,
        || {
            let service = Arc::clone(&service);
            let payload = payload.as_bytes();
            async move {
                // As lambda_runtime hands it over: the event checked as JSON text, not parsed.
                let event: Box<serde_json::value::RawValue> =
                    serde_json::from_slice(payload).unwrap();
                let answer = passport_lambda::authorizer::decide(&service, event.get()).await;
                let bytes = serde_json::to_vec(&answer).unwrap();
                assert!(bytes.starts_with(br#"{"isAuthorized":true"#));
                std::hint::black_box(bytes);
            }
        },
        || {
            let mut c = floor_conn.clone();
            let session_key = &session_key;
            async move {
                let data = jsonwebtoken::decode::<Value>(token, key, validation).unwrap();
                std::hint::black_box(data.claims);
                let live: bool = redis::cmd("EXISTS")
                    .arg(session_key)
                    .query_async(&mut c)
                    .await
                    .unwrap();
                assert!(live);
            }
        },
    )
    .await
}

/// What each algorithm costs: signing and verifying an access token with HS256 and ES256
/// (through `TokenIssuer`, as the functions do, and ES256 also with the published public keys
/// as the authorizer holds them), a bare `jsonwebtoken` ES256 decode with a prepared key; then
/// the ES256 authorizer's full decision, built as deployed (public keys read from the store),
/// beside its floor: that bare ES256 decode plus one `EXISTS`.
async fn signing_costs(
    store: Arc<dyn passport::api::Store>,
    floor_conn: RedisConnection,
    scale: usize,
) -> Value {
    let secret = SecretBytes::new(TEST_SIGNING_KEY.as_bytes().to_vec());
    let hs = KeyRing::from_literal_for(SigningAlgorithm::Hs256, &secret).unwrap();
    let es = KeyRing::from_literal_for(SigningAlgorithm::Es256, &secret).unwrap();
    let es_public = es.public_keys().unwrap();
    let issuer = TokenIssuer::new("passport", None, 900);
    let now = passport::kernel::clock::now();
    let (a, s) = (
        passport::kernel::ids::Id::random(),
        passport::kernel::ids::Id::random(),
    );
    let hs_token = issuer.issue(&hs, a, s, now).unwrap();
    let es_token = issuer.issue(&es, a, s, now).unwrap();
    let n = 20_000 * scale;
    let sign_hs = time_sync(2_000, n, || {
        std::hint::black_box(issuer.issue(&hs, a, s, now).unwrap());
    });
    let sign_es = time_sync(2_000, n, || {
        std::hint::black_box(issuer.issue(&es, a, s, now).unwrap());
    });
    let verify_hs = time_sync(2_000, n, || {
        std::hint::black_box(issuer.verify(&hs, &hs_token, now).unwrap());
    });
    let jwk = serde_json::to_value(es_public.jwks()).unwrap()["keys"][0].clone();
    let es_key =
        DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
            .unwrap();
    let mut es_validation = Validation::new(Algorithm::ES256);
    es_validation.set_issuer(&["passport"]);
    es_validation.validate_aud = false;
    // The signature check alone with a key parsed once, with `p256` (RustCrypto) and with ring
    // (assembly P-256): the two crate stacks, jsonwebtoken's work aside.
    let (point, signed, sig) = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let coordinate = |c: &str| b64.decode(jwk[c].as_str().unwrap()).unwrap();
        let point = [&[4u8][..], &coordinate("x"), &coordinate("y")].concat();
        let (signed, sig) = es_token.rsplit_once('.').unwrap();
        (point, signed, b64.decode(sig).unwrap())
    };
    let p256_verify = {
        use p256::ecdsa::signature::Verifier as _;
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
        let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
        time_sync(2_000, n, || {
            key.verify(signed.as_bytes(), &sig).unwrap();
        })
    };
    // Passport's verification, jsonwebtoken's bare decode and ring's bare check, in turn: the
    // ratios between them are issue 38's bound, so they see the same moments of the machine.
    let ring_key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &point);
    let [verify_es, bare_es, ring_verify] = time_sync_in_turn(
        2_000,
        n,
        [
            &mut || {
                std::hint::black_box(issuer.verify(&es_public, &es_token, now).unwrap());
            },
            &mut || {
                std::hint::black_box(
                    jsonwebtoken::decode::<Value>(&es_token, &es_key, &es_validation).unwrap(),
                );
            },
            &mut || ring_key.verify(signed.as_bytes(), &sig).unwrap(),
        ],
    );

    // The deployed shape: a signer logs in (and publishes), the authorizer reads public keys.
    let config = Config {
        signing_algorithm: SigningAlgorithm::Es256,
        ..test_config()
    };
    let signer = service_on(Arc::clone(&store), config.clone());
    let pair = signer
        .login(
            LoginInput::new("bench@example.com", PASSWORD),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    let authorizer = Arc::new(Service::with_published_keys(config, store).await);
    let (decision, floor) = decision_against_floor(
        authorizer,
        &pair.access_token,
        &es_key,
        &es_validation,
        floor_conn,
        (1_000, 5_000 * scale),
    )
    .await;
    json!({
        "sign_hs256": sign_hs.json(),
        "sign_es256": sign_es.json(),
        "verify_hs256": verify_hs.json(),
        "verify_es256": verify_es.json(),
        "jsonwebtoken_decode_es256": bare_es.json(),
        "p256_verify_prepared_key": p256_verify.json(),
        "ring_verify_prepared_key": ring_verify.json(),
        // Issue 38's bound: ≤ 1.3 (verification through Passport on the process's backend).
        "verify_es256_over_ring_bare": verify_es.median_us / ring_verify.median_us,
        "authorizer_decision_es256": decision.json(),
        "authorizer_floor_es256": floor.json(),
    })
}

/// One refresh through the HTTP layer (`route` + `handle`), presenting `token` in the body or in
/// the session cookie (with what a browser sends beside it); the token it hands back.
async fn refresh_over_http(service: &Service, token: &str, cookie: bool) -> String {
    let mut req = http::Request::builder()
        .method(http::Method::POST)
        .uri("/refresh-token")
        .header("content-type", "application/json");
    let body = if cookie {
        req = req
            .header(
                "cookie",
                format!("{}={token}", service.config().session_cookie.name()),
            )
            .header("sec-fetch-site", "same-origin");
        "{}".to_string()
    } else {
        json!({ "refresh_token": token }).to_string()
    };
    let req = req.body(body.into_bytes()).unwrap();
    let route = passport::api::route(req.method(), req.uri().path()).unwrap();
    let resp = passport::api::handle(
        service,
        route,
        &req,
        None,
        passport::kernel::caller::Verdict::None,
    )
    .await;
    assert_eq!(resp.status(), 200, "{}", resp.body());
    if cookie {
        let set = resp.headers()["set-cookie"].to_str().unwrap();
        let pair = set.split(';').next().unwrap();
        pair.split_once('=').unwrap().1.to_string()
    } else {
        let v: Value = serde_json::from_str(resp.body()).unwrap();
        v["refresh_token"].as_str().unwrap().to_string()
    }
}

/// Refresh through the HTTP layer in both transports, each on its own session, alternately:
/// the body's JSON, or the session cookie with its CSRF check and `Set-Cookie` (issue 14).
async fn http_refreshes(
    service: &Arc<Service>,
    login_input: &impl Fn() -> LoginInput,
    client: &ClientInfo,
    scale: usize,
) -> (Stats, Stats) {
    eprintln!("measuring: refresh over HTTP, body and cookie transports");
    let body = service
        .login(login_input(), client)
        .await
        .unwrap()
        .refresh_token;
    let cookie = service
        .login(login_input(), client)
        .await
        .unwrap()
        .refresh_token;
    let body = Arc::new(std::sync::Mutex::new(body));
    let cookie = Arc::new(std::sync::Mutex::new(cookie));
    let step = |token: Arc<std::sync::Mutex<String>>, by_cookie: bool| {
        let service = Arc::clone(service);
        async move {
            let current = token.lock().unwrap().clone();
            let next = refresh_over_http(&service, &current, by_cookie).await;
            *token.lock().unwrap() = next;
        }
    };
    time_interleaved(
        200,
        2_000 * scale,
        || step(Arc::clone(&body), false),
        || step(Arc::clone(&cookie), true),
    )
    .await
}

/// One request through the HTTP layer with `headers`: the answer.
async fn over_http(
    service: &Service,
    path: &str,
    headers: &[(&str, &str)],
) -> http::Response<String> {
    let mut req = http::Request::builder()
        .method(http::Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .header("sec-fetch-site", "same-origin");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(b"{}".to_vec()).unwrap();
    let route = passport::api::route(req.method(), req.uri().path()).unwrap();
    passport::api::handle(
        service,
        route,
        &req,
        None,
        passport::kernel::caller::Verdict::None,
    )
    .await
}

/// `name=value` of the `Set-Cookie` of `resp` whose name starts with `prefix`.
fn set_cookie(resp: &http::Response<String>, prefix: &str) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with(prefix))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// What device binding (DBSC, issue 25) costs, with `DBSC_BINDING=required`: a refresh by
/// cookie of a bound session (its binding read first) beside one of an unbound session, timed
/// alternately; and the renewal of a bound cookie, its two requests (the challenge, then the
/// proof's check and the new cookie) timed on the server's side only (the proof is signed in
/// between, as the browser would).
async fn dbsc_costs(store: Arc<dyn passport::api::Store>, scale: usize) -> Value {
    use passport::testing::device::{device, proof};
    eprintln!("measuring: device binding (DBSC), bound vs unbound refresh, a renewal");
    let config = Config {
        dbsc_binding: passport::kernel::config::DbscBinding::Required,
        dbsc_cookie_seconds: 3600,
        ..test_config()
    };
    let service = Arc::new(service_on(store, config));
    let email = format!(
        "dbsc-bench-{}@example.com",
        passport::kernel::ids::Id::random()
    )
    .to_lowercase();
    create_account(&service, &email, PASSWORD).await;
    let creds = json!({"email": email, "password": PASSWORD, "transport": "cookie"}).to_string();
    let cookie_login = || {
        let (service, creds) = (Arc::clone(&service), creds.clone());
        async move {
            let req = http::Request::builder()
                .method(http::Method::POST)
                .uri("/login")
                .header("content-type", "application/json")
                .header("sec-fetch-site", "same-origin")
                .body(creds.into_bytes())
                .unwrap();
            let route = passport::api::route(req.method(), req.uri().path()).unwrap();
            passport::api::handle(
                &service,
                route,
                &req,
                None,
                passport::kernel::caller::Verdict::None,
            )
            .await
        }
    };
    let name = service.config().session_cookie.name().to_string();
    let unbound = set_cookie(&cookie_login().await, &name);
    let login = cookie_login().await;
    let bound_refresh = set_cookie(&login, &name);
    let offer = login.headers()["secure-session-registration"]
        .to_str()
        .unwrap()
        .to_string();
    let challenge = offer
        .split("challenge=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    let laptop = device();
    let registration = proof(&laptop, &challenge, Some(&laptop));
    let registered = over_http(
        &service,
        "/dbsc/register",
        &[("secure-session-response", &registration)],
    )
    .await;
    let bound = set_cookie(&registered, "__Host-passport_bound");
    let instructions: Value = serde_json::from_str(registered.body()).unwrap();
    let id = instructions["session_identifier"]
        .as_str()
        .unwrap()
        .to_string();

    let unbound = Arc::new(std::sync::Mutex::new(unbound));
    let bound_refresh = Arc::new(std::sync::Mutex::new(bound_refresh));
    let step = |jar: Arc<std::sync::Mutex<String>>, extra: Option<String>| {
        let service = Arc::clone(&service);
        let name = name.clone();
        async move {
            let current = jar.lock().unwrap().clone();
            let cookies = match extra {
                Some(b) => format!("{current}; {b}"),
                None => current,
            };
            let resp = over_http(&service, "/refresh-token", &[("cookie", &cookies)]).await;
            assert_eq!(resp.status(), 200, "{}", resp.body());
            *jar.lock().unwrap() = set_cookie(&resp, &name);
        }
    };
    let (bound_stats, unbound_stats) = time_interleaved(
        200,
        2_000 * scale,
        || step(Arc::clone(&bound_refresh), Some(bound.clone())),
        || step(Arc::clone(&unbound), None),
    )
    .await;

    let mut asked = Vec::new();
    let mut checked = Vec::new();
    for i in 0..(100 + 1_000 * scale) {
        let started = std::time::Instant::now();
        let r = over_http(&service, "/dbsc/refresh", &[("sec-secure-session-id", &id)]).await;
        let ask = started.elapsed();
        let header = r.headers()["secure-session-challenge"].to_str().unwrap();
        let c = header
            .trim_start_matches('"')
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let signed = proof(&laptop, &c, None);
        let started = std::time::Instant::now();
        let r = over_http(
            &service,
            "/dbsc/refresh",
            &[
                ("sec-secure-session-id", &id),
                ("secure-session-response", &signed),
            ],
        )
        .await;
        let check = started.elapsed();
        assert_eq!(r.status(), 200, "{}", r.body());
        if i >= 100 {
            asked.push(ask);
            checked.push(check);
        }
    }
    json!({
        "refresh_bound": bound_stats.json(),
        "refresh_unbound": unbound_stats.json(),
        "renewal_challenge": Stats::of(asked).json(),
        "renewal_proof": Stats::of(checked).json(),
    })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Counters of the Redis server, for requests per operation.
async fn server_counters(c: &mut RedisConnection) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for section in ["stats", "commandstats"] {
        let info: String = redis::cmd("INFO")
            .arg(section)
            .query_async(c)
            .await
            .unwrap();
        for line in info.lines() {
            if let Some(v) = line.strip_prefix("total_reads_processed:") {
                out.insert("reads".to_string(), v.trim().parse().unwrap_or(0));
            }
            if let Some(rest) = line.strip_prefix("cmdstat_") {
                let (name, fields) = rest.split_once(':').unwrap_or((rest, ""));
                let calls = fields
                    .split(',')
                    .find_map(|f| f.strip_prefix("calls="))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                out.insert(name.to_string(), calls);
            }
        }
    }
    out
}

/// Socket reads (round trips) and commands per operation over `n` runs of `op`.
async fn requests_per_op<F, Fut>(c: &mut RedisConnection, n: u64, mut op: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let before = server_counters(c).await;
    for _ in 0..n {
        op().await;
    }
    let after = server_counters(c).await;
    let mut commands = Map::new();
    for (name, calls) in &after {
        let delta = calls - before.get(name).copied().unwrap_or(0);
        // The two INFO calls of this measurement are not the operation's.
        let delta = if name.starts_with("info") {
            delta.saturating_sub(2)
        } else {
            delta
        };
        if name != "reads" && delta > 0 {
            commands.insert(name.clone(), json!(delta as f64 / n as f64));
        }
    }
    // The second INFO's own read is counted in its answer.
    let reads = after["reads"] - before["reads"] - 1;
    json!({ "round_trips": reads as f64 / n as f64, "commands": commands })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Before anything touches jsonwebtoken: ES256 on ring, or every ES256 figure is the slow
    // backend's (passport::kernel::keys::crypto).
    let backend = passport::kernel::keys::crypto::install();
    assert_eq!(
        backend,
        passport::kernel::keys::crypto::Backend::Ring,
        "the bench harness must verify ES256 with ring from its start"
    );
    let redis_url = env("PASSPORT_BENCH_REDIS_URL")
        .expect("PASSPORT_BENCH_REDIS_URL is not set: run `make bench`");
    let out_dir = PathBuf::from(env("PASSPORT_BENCH_OUT").unwrap_or_else(|| "target/bench".into()));
    let scale: usize = env("BENCH_SCALE").and_then(|s| s.parse().ok()).unwrap_or(1);
    let timeouts = (Duration::from_secs(2), Duration::from_secs(2));
    let open = || RedisConnection::open(&redis_url, false, None, timeouts.0, timeouts.1);

    let store: Arc<dyn passport::api::Store> =
        Arc::new(RedisStore::from_connection(open().await.unwrap()));
    // The HS256 figures are comparable with earlier runs; `signing_costs` measures ES256.
    let hs256 = Config {
        signing_algorithm: SigningAlgorithm::Hs256,
        ..test_config()
    };
    let service: Arc<Service> = Arc::new(service_on(Arc::clone(&store), hs256));
    create_account(&service, "bench@example.com", PASSWORD).await;
    let login_input = || LoginInput::new("bench@example.com", PASSWORD).on_device("bench");
    let client = ClientInfo {
        ip: Some("198.51.100.7".into()),
        user_agent: Some("bench".into()),
    };
    let pair = service.login(login_input(), &client).await.unwrap();
    let token = pair.access_token.clone();
    let mut figures = Map::new();
    eprintln!("measuring: authorizer decision, its floor, token verification");

    // The authorizer's decision beside its floor (`decision_against_floor`).
    let payload = event("authorizer-v2-allow", &[("ACCESS_TOKEN", token.as_str())]);
    let key = DecodingKey::from_secret(TEST_SIGNING_KEY.as_bytes());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["passport"]);
    validation.validate_aud = false;
    let (decision, floor) = decision_against_floor(
        Arc::clone(&service),
        &token,
        &key,
        &validation,
        open().await.unwrap(),
        (2_000, 20_000 * scale),
    )
    .await;

    let ring =
        KeyRing::from_literal(&SecretBytes::new(TEST_SIGNING_KEY.as_bytes().to_vec())).unwrap();
    let issuer = TokenIssuer::new("passport", None, 900);
    let now = passport::kernel::clock::now();
    let verify = time_sync(5_000, 100_000 * scale, || {
        std::hint::black_box(issuer.verify(&ring, &token, now).unwrap());
    });
    let bare_decode = time_sync(5_000, 100_000 * scale, || {
        std::hint::black_box(jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap());
    });

    eprintln!("measuring: refresh, login, round trips");
    let mut current = pair.refresh_token.clone();
    let refresh = {
        let service = Arc::clone(&service);
        let mut samples = Vec::new();
        for i in 0..(1_000 + 10_000 * scale) {
            let started = std::time::Instant::now();
            let next = service.refresh(&current).await.unwrap();
            if i >= 1_000 {
                samples.push(started.elapsed());
            }
            current = next.refresh_token;
        }
        Stats::of(samples)
    };
    let (http_body, http_cookie) = http_refreshes(&service, &login_input, &client, scale).await;
    let login = time_async(3, 30 * scale, || {
        let service = Arc::clone(&service);
        let client = client.clone();
        async move {
            service.login(login_input(), &client).await.unwrap();
        }
    })
    .await;

    eprintln!("measuring: CPU per login beside one bare argon2id verification");
    // As deployed (ES256) and from a browser, so the user agent is parsed as a real one is.
    let es256_service = service_on(
        Arc::clone(&store),
        Config {
            signing_algorithm: SigningAlgorithm::Es256,
            ..test_config()
        },
    );
    let browser = passport::testing::browser_client();
    let login_cpu = passport_bench::cpu::login_against_argon2(12, 4 * scale, PASSWORD, || {
        let (service, client) = (&es256_service, &browser);
        async move {
            service.login(login_input(), client).await.unwrap();
        }
    })
    .await;
    eprintln!("login CPU: {login_cpu}");

    let mut counters = open().await.unwrap();
    let authorizer_requests = requests_per_op(&mut counters, 200, || {
        let service = Arc::clone(&service);
        let payload = payload.as_bytes();
        async move {
            let event: Box<serde_json::value::RawValue> = serde_json::from_slice(payload).unwrap();
            passport_lambda::authorizer::decide(&service, event.get()).await;
        }
    })
    .await;
    // Each refresh presents the token the previous one returned.
    let chained = Arc::new(tokio::sync::Mutex::new(current.clone()));
    let refresh_requests = requests_per_op(&mut counters, 200, || {
        let (service, chained) = (Arc::clone(&service), Arc::clone(&chained));
        async move {
            let mut token = chained.lock().await;
            *token = service.refresh(&token).await.unwrap().refresh_token;
        }
    })
    .await;
    let login_requests = requests_per_op(&mut counters, 10, || {
        let service = Arc::clone(&service);
        let client = client.clone();
        async move {
            service.login(login_input(), &client).await.unwrap();
        }
    })
    .await;

    let me_requests = requests_per_op(&mut counters, 200, || {
        let service = Arc::clone(&service);
        let header = format!("Bearer {token}");
        async move {
            // What GET /me costs behind the authorizer: its decision, then the route.
            let caller = service.authorize(Some(&header)).await.unwrap();
            std::hint::black_box(service.me(&caller).await.unwrap());
        }
    })
    .await;

    figures.insert("authorizer_decision".into(), decision.json());
    figures.insert("authorizer_floor".into(), floor.json());
    figures.insert("verify".into(), verify.json());
    figures.insert("jsonwebtoken_decode".into(), bare_decode.json());
    figures.insert("refresh".into(), refresh.json());
    figures.insert("login".into(), login.json());
    figures.insert("login_cpu".into(), login_cpu);
    figures.insert("refresh_http_body".into(), http_body.json());
    figures.insert("refresh_http_cookie".into(), http_cookie.json());
    figures.insert("dbsc".into(), dbsc_costs(Arc::clone(&store), scale).await);
    eprintln!("measuring: memory per session (a browser's sign-in, one node)");
    let memory = passport::testing::memory::memory_per_browser_session(
        &service,
        &mut open().await.unwrap(),
        "memory@example.com",
    )
    .await;
    figures.insert("memory_per_browser_session".into(), json!(memory));
    let mail = passport_bench::mail::mail_costs(Arc::clone(&store), scale).await;
    eprintln!("mail: {mail}");
    figures.insert("mail".into(), mail);
    figures.insert(
        "history".into(),
        passport_bench::history::history_costs(Arc::clone(&store), open().await.unwrap(), scale)
            .await,
    );
    figures.insert(
        "durability".into(),
        passport_bench::durability::durability_costs(scale).await,
    );
    eprintln!("measuring: HS256 and ES256, signing, verifying, the ES256 authorizer");
    figures.insert(
        "signing".into(),
        signing_costs(Arc::clone(&store), open().await.unwrap(), scale).await,
    );
    figures.insert(
        "requests".into(),
        json!({
            "authorizer": authorizer_requests,
            "refresh": refresh_requests,
            "login": login_requests,
            "me": me_requests,
        }),
    );

    // Cold starts of the real binaries, when `make bench` built them.
    if let Some(dir) = env("PASSPORT_BENCH_BIN_DIR") {
        let starts: usize = env("BENCH_COLD_STARTS")
            .and_then(|s| s.parse().ok())
            .unwrap_or(20);
        let mut cold = Map::new();
        let with_redis = [
            ("SIGNING_SECRET", TEST_SIGNING_KEY),
            ("REDIS_URL", redis_url.as_str()),
        ];
        for f in [
            "authorizer",
            "login",
            "refresh",
            "logout",
            "sessions",
            "accounts",
        ] {
            eprintln!("measuring: cold start of {f} ({starts} starts)");
            let bin = PathBuf::from(&dir).join(f);
            let s = cold_start::measure(&bin, &with_redis, starts)
                .await
                .unwrap();
            cold.insert(f.to_string(), s.json());
        }
        // ES256: a signer derives its key pairs and publishes them at init; a verifier reads them.
        let es256 = [
            ("SIGNING_SECRET", TEST_SIGNING_KEY),
            ("SIGNING_ALGORITHM", "ES256"),
            ("REDIS_URL", redis_url.as_str()),
        ];
        for f in ["login", "authorizer"] {
            eprintln!("measuring: cold start of {f} with ES256 ({starts} starts)");
            let bin = PathBuf::from(&dir).join(f);
            let s = cold_start::measure(&bin, &es256, starts).await.unwrap();
            cold.insert(format!("{f}_es256"), s.json());
        }
        // What init costs without the Redis connection (the in-memory store), for the breakdown.
        let bin = PathBuf::from(&dir).join("authorizer");
        let s = cold_start::measure(&bin, &[("SIGNING_SECRET", TEST_SIGNING_KEY)], starts)
            .await
            .unwrap();
        cold.insert("authorizer_without_redis".into(), s.json());
        figures.insert("cold_start".into(), Value::Object(cold));
    }

    std::fs::create_dir_all(&out_dir).unwrap();
    // The Python baseline verifies this very token (signed with the tests' key).
    std::fs::write(out_dir.join("token.txt"), &token).unwrap();
    let path = out_dir.join("rust.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&Value::Object(figures)).unwrap(),
    )
    .unwrap();
    eprintln!("wrote {}", path.display());
}
