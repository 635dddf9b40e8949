//! Load with invariants: many concurrent clients against the real `local-api` on Redis, each
//! doing login → rounds of (me, refresh) → logout, with deliberate token reuse (concurrent
//! double refreshes inside the grace window, a replay after it) and sessions left to expire.
//! Afterwards it checks that no token ever had two successors, that every session ended by
//! reuse or logout is denied by the API and by the authorizer's code, that every session-side
//! key has a TTL, and that after expiry the account sets hold no dead session. It reports
//! requests, answers by kind and latency percentiles (also to `target/tmp/load-report.md`).
//!
//! Sized for `make test` by default; `make load` runs it bigger (`LOAD_CLIENTS`,
//! `LOAD_ROUNDS`, `LOAD_ACCOUNTS`, `LOAD_IDLE_TTL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Http, LocalApi, redis_url, start};
use http::{Method, StatusCode};
use passport::kernel::service::Denied;
use passport::kernel::store::{RedisConnection, RedisStore};
use passport::testing::{TEST_SIGNING_KEY, service_on, test_config};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PASSWORD: &str = "load-test password, long enough";
/// Refresh reuse grace of the run, in seconds.
const GRACE: u64 = 1;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What a client does besides the plain rounds.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    /// Logs out at the end.
    Plain,
    /// Refreshes one token twice at once every round (both inside the grace window).
    Doubler,
    /// Replays an already rotated token after the grace window, which ends the session.
    Replayer,
    /// Walks away without logging out; the session expires.
    Leaver,
}

impl Role {
    fn of(client: usize) -> Self {
        [Role::Plain, Role::Doubler, Role::Replayer, Role::Leaver][client % 4]
    }
}

/// Shared results of every client.
#[derive(Default)]
struct Record {
    /// Every rotation seen: presented refresh token → successor.
    successors: HashMap<String, String>,
    /// Violations found while running.
    violations: Vec<String>,
    /// Latencies per operation.
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    /// Answers per operation and kind (`200`, `401 refresh_token_reused`, …).
    answers: BTreeMap<String, u64>,
    /// Sessions that must be dead: (how it ended, last access token, last refresh token).
    ended: Vec<(&'static str, String, String)>,
}

struct Load {
    http: Http,
    record: Mutex<Record>,
}

impl Load {
    async fn call(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let started = Instant::now();
        let (status, _, body) = self.http.call(method, path, bearer, body).await;
        let took = started.elapsed();
        let kind = match body["error"].as_str() {
            Some(code) => format!("{op} {} {code}", status.as_u16()),
            None => format!("{op} {}", status.as_u16()),
        };
        let mut r = self.record.lock().unwrap();
        r.latencies.entry(op).or_default().push(took);
        *r.answers.entry(kind).or_default() += 1;
        if status.is_server_error() {
            r.violations.push(format!("{op}: {status} {body}"));
        }
        (status, body)
    }

    fn violation(&self, what: String) {
        self.record.lock().unwrap().violations.push(what);
    }

    /// Records a rotation; a token that already had another successor is a violation.
    fn rotated(&self, presented: &str, successor: &str) {
        let mut r = self.record.lock().unwrap();
        let prior = r
            .successors
            .insert(presented.to_string(), successor.to_string());
        if let Some(prior) = prior.filter(|p| p != successor) {
            r.violations.push(format!(
                "two successors for one token: {prior:.12}… and {successor:.12}…"
            ));
        }
    }

    async fn refresh(&self, op: &'static str, token: &str) -> (StatusCode, Value) {
        let (status, body) = self
            .call(
                op,
                Method::POST,
                "/refresh-token",
                None,
                Some(json!({ "refresh_token": token })),
            )
            .await;
        if status == StatusCode::OK {
            self.rotated(token, body["refresh_token"].as_str().unwrap_or_default());
        }
        (status, body)
    }

    async fn client(&self, n: usize, email: String, rounds: usize) {
        let role = Role::of(n);
        let (status, body) = self
            .call(
                "login",
                Method::POST,
                "/login",
                None,
                Some(
                    json!({"email": email, "password": PASSWORD, "device": format!("client {n}")}),
                ),
            )
            .await;
        if status != StatusCode::OK {
            return self.violation(format!("client {n}: login {status} {body}"));
        }
        let mut access = body["access_token"].as_str().unwrap().to_string();
        let mut refresh = body["refresh_token"].as_str().unwrap().to_string();
        let mut rotated_away = None;
        for round in 0..rounds {
            let (status, body) = self
                .call("me", Method::GET, "/me", Some(&access), None)
                .await;
            if status != StatusCode::OK {
                return self.violation(format!(
                    "client {n} ({role:?}) round {round}: me {status} {body}"
                ));
            }
            let (status, body) = if role == Role::Doubler {
                let (a, b) = tokio::join!(
                    self.refresh("refresh", &refresh),
                    self.refresh("refresh", &refresh)
                );
                if a.1["refresh_token"] != b.1["refresh_token"] {
                    self.violation(format!(
                        "client {n}: concurrent refreshes answered differently"
                    ));
                }
                a
            } else {
                self.refresh("refresh", &refresh).await
            };
            if status != StatusCode::OK {
                return self.violation(format!(
                    "client {n} ({role:?}) round {round}: refresh {status} {body}"
                ));
            }
            rotated_away = Some(std::mem::replace(
                &mut refresh,
                body["refresh_token"].as_str().unwrap().to_string(),
            ));
            access = body["access_token"].as_str().unwrap().to_string();
        }
        match role {
            Role::Plain | Role::Doubler => {
                let (status, body) = self
                    .call(
                        "logout",
                        Method::POST,
                        "/logout",
                        Some(&access),
                        Some(json!({})),
                    )
                    .await;
                if status != StatusCode::NO_CONTENT && status != StatusCode::OK {
                    return self.violation(format!("client {n}: logout {status} {body}"));
                }
                self.record
                    .lock()
                    .unwrap()
                    .ended
                    .push(("logout", access, refresh));
            }
            Role::Replayer => {
                let Some(old) = rotated_away else { return };
                tokio::time::sleep(Duration::from_millis(GRACE * 1000 + 1100)).await;
                let (status, body) = self.refresh("replay after grace", &old).await;
                if (status.as_u16(), body["error"].as_str()) != (401, Some("refresh_token_reused"))
                {
                    return self.violation(format!("client {n}: replay answered {status} {body}"));
                }
                self.record
                    .lock()
                    .unwrap()
                    .ended
                    .push(("reuse", access, refresh));
            }
            Role::Leaver => {}
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(r: &Record, clients: usize, rounds: usize, wall: Duration) -> String {
    let total: usize = r.latencies.values().map(Vec::len).sum();
    let mut out = format!(
        "# Load run\n\n{clients} clients × {rounds} rounds against local-api on Redis: \
         {total} requests in {:.2} s ({:.0}/s), {} invariant violations.\n\n\
         | operation | requests | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|\n",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        r.violations.len(),
    );
    for (op, lat) in &r.latencies {
        let mut lat = lat.clone();
        lat.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        out += &format!(
            "| {op} | {} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            lat.len(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.9)),
            ms(percentile(&lat, 0.99)),
            ms(*lat.last().unwrap()),
        );
    }
    out += "\n| answer | count |\n|---|---|\n";
    for (kind, n) in &r.answers {
        out += &format!("| {kind} | {n} |\n");
    }
    out
}

/// The keys matching `pattern`.
async fn keys(redis: &mut RedisConnection, pattern: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(redis)
        .await
        .unwrap()
}

/// Every session-side key has a TTL; only the directory (account hash, email index) has none.
async fn keys_without_ttl(redis: &mut RedisConnection) -> Vec<String> {
    let mut missing = Vec::new();
    for key in keys(redis, "pp:*").await {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(redis)
            .await
            .unwrap();
        // The directory: accounts and their emails, apps, their codes and account maps.
        let durable = [":acct", ":email", ":app", ":users", ":all"]
            .iter()
            .any(|end| key.ends_with(end));
        if ttl == -1 && !durable {
            missing.push(key);
        }
    }
    missing
}

/// Members of the account session sets whose session key is gone.
async fn dead_set_members(redis: &mut RedisConnection) -> Vec<String> {
    let mut dead = Vec::new();
    for set in keys(redis, "pp:*:sessions").await {
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(&set)
            .arg(0)
            .arg(-1)
            .query_async(redis)
            .await
            .unwrap();
        let prefix = set.trim_end_matches("sessions");
        for m in members {
            let key = format!("{prefix}s:{m}");
            let exists: bool = redis::cmd("EXISTS")
                .arg(&key)
                .query_async(redis)
                .await
                .unwrap();
            if !exists {
                dead.push(key);
            }
        }
    }
    dead
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_keep_every_invariant() {
    let clients = env_or("LOAD_CLIENTS", 24);
    let rounds = env_or("LOAD_ROUNDS", 15);
    // Idle lifetime of a session: short, so the expiry check at the end needs no long wait,
    // and longer than any client's pause between refreshes.
    let idle_ttl = env_or("LOAD_IDLE_TTL", 4) as u64;
    // At most three clients share an account, so concurrent logins stay under the per-email
    // attempt limit (attempts are counted before the password check).
    let accounts = env_or("LOAD_ACCOUNTS", clients.div_ceil(3)).max(1);
    // A database of its own, so the key scans see only this run's keys.
    let url = format!("{}/5", redis_url().trim_end_matches('/'));
    let mut redis = passport::testing::redis_at(&url, false).await;
    let _: () = redis::cmd("FLUSHDB").query_async(&mut redis).await.unwrap();

    let emails: Vec<String> = (0..accounts)
        .map(|i| format!("load-{i}@example.com"))
        .collect();
    let account_args: Vec<String> = emails.iter().map(|e| format!("{e}:{PASSWORD}")).collect();
    let mut args = Vec::new();
    for a in &account_args {
        args.extend(["--account", a.as_str()]);
    }
    let grace = GRACE.to_string();
    let idle = idle_ttl.to_string();
    let api: LocalApi = start(
        &args,
        &[
            ("REDIS_URL", &url),
            ("SIGNING_SECRET", TEST_SIGNING_KEY),
            ("REFRESH_REUSE_GRACE_SECONDS", &grace),
            ("REFRESH_TOKEN_TTL_SECONDS", &idle),
            // Each replay logs a warning by design; keep the report readable.
            ("RUST_LOG", "error"),
        ],
    );
    let load = Arc::new(Load {
        http: Http::new(&api.base),
        record: Mutex::new(Record::default()),
    });

    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|n| {
            let load = load.clone();
            let email = emails[n % accounts].clone();
            tokio::spawn(async move { load.client(n, email, rounds).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let wall = started.elapsed();

    // Ended sessions are denied by the API and by the authorizer's own code.
    let authorizer = service_on(
        Arc::new(RedisStore::from_connection(redis.clone())),
        test_config(),
    );
    let ended = std::mem::take(&mut load.record.lock().unwrap().ended);
    for (how, access, refresh) in &ended {
        let (status, _) = load
            .call("ended: me", Method::GET, "/me", Some(access), None)
            .await;
        // The authorizer denies: API Gateway's (and local-api's) 403.
        if status != StatusCode::FORBIDDEN {
            load.violation(format!("session ended by {how}: /me answered {status}"));
        }
        let (status, _) = load
            .call(
                "ended: sessions",
                Method::GET,
                "/sessions",
                Some(access),
                None,
            )
            .await;
        if status != StatusCode::FORBIDDEN {
            load.violation(format!(
                "session ended by {how}: /sessions answered {status}"
            ));
        }
        let (status, _) = load.refresh("ended: refresh", refresh).await;
        if status != StatusCode::UNAUTHORIZED {
            load.violation(format!("session ended by {how}: refresh answered {status}"));
        }
        let decision = authorizer
            .authorize(Some(&format!("Bearer {access}")))
            .await;
        if !matches!(decision, Err(Denied::SessionEnded)) {
            load.violation(format!(
                "session ended by {how}: authorizer said {decision:?}"
            ));
        }
    }
    for key in keys_without_ttl(&mut redis).await {
        load.violation(format!("{key} has no TTL"));
    }

    // After the idle lifetime every remaining session has expired: no set keeps a dead one.
    tokio::time::sleep(Duration::from_secs(idle_ttl + 1)).await;
    for key in dead_set_members(&mut redis).await {
        load.violation(format!("an account set still lists {key} after it expired"));
    }
    let leftover = keys(&mut redis, "pp:*:s:*").await;
    if !leftover.is_empty() {
        load.violation(format!("{} sessions outlived their expiry", leftover.len()));
    }

    let record = load.record.lock().unwrap();
    let text = report(&record, clients, rounds, wall);
    println!("{text}");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(dir.join("load-report.md"), &text).unwrap();
    assert!(
        ended.len() >= clients / 2,
        "only {} sessions were ended on purpose",
        ended.len()
    );
    assert!(
        record.violations.is_empty(),
        "{} violations:\n{}",
        record.violations.len(),
        record.violations.join("\n")
    );
}
