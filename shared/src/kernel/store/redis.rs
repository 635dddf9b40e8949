//! The Redis store (production: ElastiCache Serverless for Valkey; locally any `redis-server`).
//!
//! Key layout — every key that one script touches carries the same hash tag, so the scripts run
//! unchanged on a single node and on a cluster:
//!
//! | key | type | TTL |
//! |---|---|---|
//! | `pp:{<account>}:acct` | hash: email, pw, pwv, status, created; pwprev, pwprev_until after a password change | none (the directory is durable) |
//! | `pp:{<account>}:s:<session>` | hash: cur, prev, rot, dev, ua, ip, created, last, exp, abs, email, at, amr, agent; dbk, dbc, dbce once bound (DBSC), dbp, dbpe once renewed | at `exp` |
//! | `pp:{<account>}:passkeys` | hash: credential id → its record (JSON: name, created, last, cred) | none |
//! | `pp:{cer:<id>}:c` | string: a WebAuthn ceremony's state, taken once (`GETDEL`) | the ceremony's timeout |
//! | `pp:{<account>}:sessions` | sorted set: session id → `exp` | at the largest `exp` |
//! | `pp:{<account>}:passports` | sorted set: `<app>:<session>` of a private app's passport → when its record ends (+ a sequence's thousandths) | at the largest score |
//! | `pp:{<account>}:passports:seq` | counter ordering the above | with the last recording |
//! | `pp:{e:<sha256(email)>}:email` | string: account id | none |
//! | `pp:{e:<sha256(email)>}:fail` | counter | the lockout window |
//! | `pp:{ip:<address>}:fail` | counter | the lockout window |
//! | `pp:{app:<app>}:app` | hash: code, name, access, ttl, enabled, created | none |
//! | `pp:{app:<app>}:users` | hash: account id → its end user in this app | none |
//! | `pp:{app:<app>}:p:<session>` | hash: eu, acct, exp (a visitor's passport session) | at `exp` + retention |
//! | `pp:{ac:<code>}:app` | string: app id | none |
//! | `pp:{apps}:all` | set: app ids (for `list_apps`) | none |
//! | `pp:{ip:<address>}:visitors` | counter of new anonymous end users | an hour |
//!
//! A passport session shares its app's hash tag, so the app authorizer reads the app's
//! `enabled` and the session's existence in one round trip on one node.
//!
//! Emails appear in key names only as a digest, so a key listing shows no addresses.

use super::connection::{RedisConnection, retry_once};
use super::durability::{Durability, ReplicaAcks, Topology};
use super::lua::LuaScript;
use super::{
    Account, AccountStatus, App, AppAccess, BindOutcome, CheckToken, Counter, LiveSession,
    LoginAttempt, LoginState, NEW_VISITOR_WINDOW, NewSession, PREVIOUS_PASSWORD_SECONDS,
    PasskeyAdded, PasskeyRemoved, PassportOf, PassportOutcome, PassportStart, PrivatePassport,
    Rotate, Rotation, SessionBinding, SessionInfo, SessionStart, SessionsAfter, Store,
    StoredPasskey, TokenCheck,
};
use crate::kernel::authentication::Authentication;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::tokens::refresh::TokenDigest;
use async_trait::async_trait;
use redis::{AsyncCommands, FromRedisValue, ScriptInvocation, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

macro_rules! script {
    ($name:literal) => {
        LazyLock::new(|| LuaScript::new($name, include_str!(concat!("lua/", $name, ".lua"))))
    };
}

static CREATE_SESSION: LazyLock<LuaScript> = script!("create_session");
static ROTATE: LazyLock<LuaScript> = script!("rotate");
static TOKEN_MATCHES: LazyLock<LuaScript> = script!("token_matches");
static CHECK_TOKEN: LazyLock<LuaScript> = script!("check_token");
static REVOKE_SESSION: LazyLock<LuaScript> = script!("revoke_session");
static REVOKE_ALL: LazyLock<LuaScript> = script!("revoke_all");
static SET_STATUS: LazyLock<LuaScript> = script!("set_status");
static SET_PASSWORD: LazyLock<LuaScript> = script!("set_password");
static DELETE_ACCOUNT: LazyLock<LuaScript> = script!("delete_account");
static UNINDEX_EMAIL: LazyLock<LuaScript> = script!("unindex_email");
static LIST_SESSIONS: LazyLock<LuaScript> = script!("list_sessions");
static CREATE_ACCOUNT: LazyLock<LuaScript> = script!("create_account");
static CLAIM_EMAIL: LazyLock<LuaScript> = script!("claim_email");
static IP_GATE: LazyLock<LuaScript> = script!("ip_gate");
static UNCOUNT: LazyLock<LuaScript> = script!("uncount");
static CREATE_APP: LazyLock<LuaScript> = script!("create_app");
static SET_APP_ENABLED: LazyLock<LuaScript> = script!("set_app_enabled");
static DELETE_APP: LazyLock<LuaScript> = script!("delete_app");
static START_PASSPORT: LazyLock<LuaScript> = script!("start_passport");
static TRACK_PASSPORT: LazyLock<LuaScript> = script!("track_passport");
static PUBLISH_KEYS: LazyLock<LuaScript> = script!("publish_keys");
static REAUTHENTICATE: LazyLock<LuaScript> = script!("reauthenticate");
static ADD_PASSKEY: LazyLock<LuaScript> = script!("add_passkey");
static UPDATE_PASSKEY: LazyLock<LuaScript> = script!("update_passkey");
static REMOVE_PASSKEY: LazyLock<LuaScript> = script!("remove_passkey");
static BIND_SESSION: LazyLock<LuaScript> = script!("bind_session");
static RENEW_BOUND_COOKIE: LazyLock<LuaScript> = script!("renew_bound_cookie");

/// Every script the store runs through EVALSHA, for tests that check them all.
pub fn scripts() -> [&'static LuaScript; 27] {
    [
        &CREATE_SESSION,
        &ROTATE,
        &TOKEN_MATCHES,
        &CHECK_TOKEN,
        &REVOKE_SESSION,
        &REVOKE_ALL,
        &SET_STATUS,
        &SET_PASSWORD,
        &DELETE_ACCOUNT,
        &UNINDEX_EMAIL,
        &LIST_SESSIONS,
        &CREATE_ACCOUNT,
        &CLAIM_EMAIL,
        &IP_GATE,
        &UNCOUNT,
        &CREATE_APP,
        &SET_APP_ENABLED,
        &DELETE_APP,
        &START_PASSPORT,
        &TRACK_PASSPORT,
        &PUBLISH_KEYS,
        &REAUTHENTICATE,
        &ADD_PASSKEY,
        &UPDATE_PASSKEY,
        &REMOVE_PASSKEY,
        &BIND_SESSION,
        &RENEW_BOUND_COOKIE,
    ]
}

/// Counts one attempt on a counter whose window starts at its first attempt.
const COUNT_ATTEMPT: &str = include_str!("lua/count_attempt.lua");

fn account_key(a: Id) -> String {
    format!("pp:{{{a}}}:acct")
}

/// How long a new account's record lives before its email is claimed (a create cut short
/// leaves nothing behind after this).
const PROVISIONAL_SECONDS: i64 = 60;

fn session_prefix(a: Id) -> String {
    format!("pp:{{{a}}}:s:")
}

fn session_key(a: Id, s: Id) -> String {
    format!("pp:{{{a}}}:s:{s}")
}

/// A session's key and its account's set of sessions: the KEYS of the scripts that spend or
/// check a refresh token.
fn session_keys(a: Id, s: Id) -> [(&'static str, String); 2] {
    [
        ("session", session_key(a, s)),
        ("sessions", sessions_key(a)),
    ]
}

fn sessions_key(a: Id) -> String {
    format!("pp:{{{a}}}:sessions")
}

fn passkeys_key(a: Id) -> String {
    format!("pp:{{{a}}}:passkeys")
}

fn ceremony_key(id: Id) -> String {
    format!("pp:{{cer:{id}}}:c")
}

/// An email as it appears in key names: half its SHA-256, so a key listing shows no address.
fn email_hash(email: &str) -> String {
    let d = Sha256::digest(email.as_bytes());
    hex(&d[..16])
}

fn email_tag(email: &str) -> String {
    format!("pp:{{e:{}}}", email_hash(email))
}

/// A private app's passports of one account: beside the account's sessions, so that every
/// script that ends them ends these too.
fn private_passports_key(a: Id) -> String {
    format!("pp:{{{a}}}:passports")
}

fn email_key(email: &str) -> String {
    format!("{}:email", email_tag(email))
}

fn email_fail_key(email: &str) -> String {
    format!("{}:fail", email_tag(email))
}

fn ip_fail_key(ip: &str) -> String {
    format!("pp:{{ip:{ip}}}:fail")
}

/// The signers' public key document (ES256): the one key outside any account or app.
pub const PUBLIC_KEYS_KEY: &str = "pp:{keys}:public";

fn app_key(app: Id) -> String {
    format!("pp:{{app:{app}}}:app")
}

fn app_users_key(app: Id) -> String {
    format!("pp:{{app:{app}}}:users")
}

fn passport_key(app: Id, session: Id) -> String {
    format!("pp:{{app:{app}}}:p:{session}")
}

fn app_code_key(code: &str) -> String {
    format!("pp:{{ac:{code}}}:app")
}

const APPS_KEY: &str = "pp:{apps}:all";

fn visitors_key(ip: &str) -> String {
    format!("pp:{{ip:{ip}}}:visitors")
}

/// Attempts for one email from one address: in the address's slot, beside its failures.
fn pair_key(email: &str, ip: Option<&str>) -> String {
    format!("pp:{{ip:{}}}:e:{}", ip.unwrap_or("-"), email_hash(email))
}

/// The store on Redis (one node or a cluster), through one multiplexed connection that
/// reconnects by itself. Every operation but `create_account` is retried once on a dropped
/// connection: each is a read or an idempotent script (see `connection.rs`). Every write a
/// caller is told succeeded is confirmed by the replicas its [`Durability`] wants first.
#[derive(Clone)]
pub struct RedisStore {
    conn: RedisConnection,
    durability: Durability,
    degraded: Degraded,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisStore")
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://` or `rediss://`; with `cluster`, a comma-separated list of
    /// seed nodes is allowed) with the given timeouts.
    pub async fn connect(
        url: &str,
        cluster: bool,
        credentials: Option<&super::RedisCredentials>,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let conn =
            RedisConnection::open(url, cluster, credentials, connect_timeout, response_timeout)
                .await?;
        Ok(Self::from_connection(conn))
    }

    /// The store on an open connection, with no replica acknowledgement (tests and benches;
    /// [`RedisStore::with_durability`] sets it as a deployment does).
    pub fn from_connection(conn: RedisConnection) -> Self {
        let seen = match conn {
            RedisConnection::Node(_) => Topology::Node { replicas: 0 },
            RedisConnection::Cluster(_) => Topology::Cluster {
                shards: 0,
                min_replicas: 0,
            },
        };
        Self {
            conn,
            durability: Durability::none(seen),
            degraded: Degraded::default(),
        }
    }

    /// The same store, with the durability `setting` decides for the replicas the store
    /// reports now; an explicit count above what it has is an error, not a 503 on every write.
    pub async fn with_durability(
        mut self,
        setting: ReplicaAcks,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        if setting == ReplicaAcks::Count(0) {
            // No wait asked for: no probe either, so start-up is as it was before this
            // setting existed (a store that is down at start is connected to when it is back).
            return Ok(self);
        }
        let seen = self.topology().await?;
        self.durability = Durability::decide(setting, timeout, seen)?;
        Ok(self)
    }

    /// The replicas the store has now: on one node, those connected to it (`WAIT 0 0` answers
    /// at once with them, and needs no `INFO`, which an access-controlled cache user may lack);
    /// on a cluster, the fewest any master has in `CLUSTER NODES` (see [`cluster_shards`]).
    async fn topology(&self) -> Result<Topology, StoreError> {
        Ok(match &self.conn {
            RedisConnection::Node(_) => {
                let replicas: u32 = retry_once(&self.conn, |mut c| async move {
                    redis::cmd("WAIT").arg(0).arg(0).query_async(&mut c).await
                })
                .await?;
                Topology::Node { replicas }
            }
            RedisConnection::Cluster(_) => {
                let shards = cluster_shards(&self.cluster_nodes().await?);
                Topology::Cluster {
                    shards: shards.len() as u32,
                    min_replicas: shards.iter().map(|(_, n)| *n).min().unwrap_or(0),
                }
            }
        })
    }

    /// `fields` of a live session's record, in one `HMGET` (retried once): `None` when the
    /// session has ended. The key expires at the session's expiry, so a field every session has
    /// (`exp`, read first) being there is liveness.
    async fn live_fields<const N: usize>(
        &self,
        account: Id,
        session: Id,
        fields: [&str; N],
    ) -> Result<Option<[Option<String>; N]>, StoreError> {
        let key = &session_key(account, session);
        let fields = &fields;
        let mut values: Vec<Option<String>> = retry_once(&self.conn, move |mut c| async move {
            redis::cmd("HMGET")
                .arg(key)
                .arg("exp")
                .arg(&fields[..])
                .query_async(&mut c)
                .await
        })
        .await?;
        if values.first().is_none_or(Option::is_none) {
            return Ok(None);
        }
        values.remove(0);
        values
            .try_into()
            .map(Some)
            .map_err(|_| StoreError::Corrupt("HMGET answered another number of fields".into()))
    }

    fn conn(&self) -> RedisConnection {
        self.conn.clone()
    }

    /// Runs a script that writes what a caller is told succeeded: as [`RedisStore::run`], then
    /// confirmed by the replicas (see [`RedisStore::confirm`]).
    async fn write<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let value: T = self.run(script).await?;
        if self.waits() {
            self.confirm(first_key(&script_cmd(script)).as_deref())
                .await?;
        }
        Ok(value)
    }

    /// Runs one command that writes what a caller is told succeeded, confirmed like a script.
    async fn write_cmd<T: FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, StoreError> {
        let cmd = &cmd;
        let value: T = retry_once(
            &self.conn,
            |mut c| async move { cmd.query_async(&mut c).await },
        )
        .await?;
        if self.waits() {
            self.confirm(first_key(cmd).as_deref()).await?;
        }
        Ok(value)
    }

    /// Whether writes wait for replicas: without, the write's key is not even looked for.
    fn waits(&self) -> bool {
        self.durability.replicas > 0
    }

    /// Confirms the write just made on `key`'s slot: a write that always replicates
    /// (`pp:{<tag>}:sync`, beside `key`), then `WAIT`, in one pipeline to the slot's master.
    /// The replication stream is ordered, so once the replicas have this write they have the
    /// one before it — and everything else the request read there, even another connection's
    /// write (a replayed rotation, a logout of a session already gone change nothing and
    /// would propagate nothing of their own). `NotReplicated` when too few confirmed, unless
    /// on a cluster the master now lists fewer replicas than wanted (its shard lost one to a
    /// failover) and all of those confirmed (`store::durability`).
    ///
    /// The write itself goes before, as a single command: a script's `NOSCRIPT` reload and the
    /// cluster client's redirections work as for any command. A cluster connection that fails
    /// here (a dead master) is rebuilt in the background (`connection::Cluster`); the request
    /// answers 503 and its retry finds the promoted replica.
    async fn confirm(&self, key: Option<&[u8]>) -> Result<(), StoreError> {
        let d = self.durability;
        let Some(sync) = key.and_then(sync_key) else {
            return Ok(());
        };
        let slot = slot_of(sync.as_bytes());
        // A shard known to have fewer replicas than wanted (after a failover) is waited on for
        // those it has, not for the full timeout on every write. The cluster is read again
        // once the connection was rebuilt: it may be such a failover.
        let rebuilds = self.conn.rebuilds();
        if self.degraded.stale(rebuilds) {
            let nodes = self.cluster_nodes().await?;
            self.degraded.remember(&nodes, d.replicas, rebuilds);
        }
        let mut listed = self.degraded.listed(slot);
        if let Some(0) = listed {
            return Ok(());
        }
        let wait = listed.map_or(d.replicas, |n| n.min(d.replicas));
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(&sync)
            .arg(1)
            .arg("PX")
            .arg(1000)
            .ignore()
            .cmd("WAIT")
            .arg(wait)
            .arg(d.timeout.as_millis() as u64);
        let pipe = &pipe;
        let (acks,): (u32,) =
            retry_once(
                &self.conn,
                |mut c| async move { pipe.query_async(&mut c).await },
            )
            .await?;
        if d.acknowledged(acks, listed) {
            return Ok(());
        }
        if let RedisConnection::Cluster(_) = &self.conn {
            let nodes = self.cluster_nodes().await?;
            listed = owner_replicas(&nodes, slot);
            self.degraded.remember(&nodes, d.replicas, rebuilds);
        }
        if d.acknowledged(acks, listed) {
            tracing::warn!(
                acks,
                wanted = d.replicas,
                "a shard runs with fewer replicas than REDIS_REPLICA_ACKS wants (after a \
                 failover, until a replica rejoins): its writes are confirmed by those it has"
            );
            return Ok(());
        }
        Err(StoreError::NotReplicated {
            acks,
            wanted: d.replicas,
        })
    }

    /// `CLUSTER NODES`, asked of any node — not the slot's owner as the client's map has it:
    /// right after a failover that map may still name the dead master.
    async fn cluster_nodes(&self) -> Result<String, StoreError> {
        Ok(retry_once(&self.conn, |mut c| async move {
            redis::cmd("CLUSTER").arg("NODES").query_async(&mut c).await
        })
        .await?)
    }

    /// The login gate of [`Store::begin_login`] and [`Store::reserve_login`].
    async fn gate(&self, a: &LoginAttempt<'_>, reserve: bool) -> Result<LoginState, StoreError> {
        let (email, ip, window, ip_max_failures) = (a.email, a.ip, a.window, a.ip_max_failures);
        // Plain EVAL (not EVALSHA) so the script rides in the pipeline without a NOSCRIPT round
        // trip; it is a few hundred bytes. The address's keys live in another slot, so on a
        // cluster they cannot share the pipeline: both go out at once instead, and when the
        // address turns out to be at its limit the account-wide count is taken back.
        let mut by_email = redis::pipe();
        by_email
            .get(email_key(email))
            .cmd("EVAL")
            .arg(COUNT_ATTEMPT)
            .arg(1)
            .arg(email_fail_key(email))
            .arg(window);
        let by_email = &by_email;
        let email_part = retry_once(&self.conn, move |mut c| async move {
            by_email
                .query_async::<(Option<String>, (u64, i64))>(&mut c)
                .await
        });
        let gate = IP_GATE.invocation(
            &[
                ("ip_failures", ip_fail_key(ip.unwrap_or("-"))),
                ("pair", pair_key(email, ip)),
            ],
            &[
                ("window", window.to_string()),
                ("ip_max", ip_max_failures.to_string()),
                ("reserve", u8::from(reserve).to_string()),
            ],
        )?;
        let ip_part = self.run::<(i64, u64, i64, u64, i64)>(&gate);
        let ((account, (count, ttl)), (blocked, ip_count, ip_ttl, pair_count, pair_ttl)) =
            tokio::try_join!(email_part, ip_part)?;
        let ip_blocked = blocked == 1;
        if ip_blocked {
            let _: i64 = self
                .run(&UNCOUNT.invocation(&[("counter", email_fail_key(email))], &[])?)
                .await?;
        }
        Ok(LoginState {
            account: account.and_then(|s| s.parse().ok()),
            pair_attempts: counter((Some(pair_count), pair_ttl)),
            account_attempts: Counter {
                count: if ip_blocked {
                    count.saturating_sub(1)
                } else {
                    count
                },
                retry_after: ttl,
            },
            ip_failures: counter((Some(ip_count), ip_ttl)),
            ip_blocked,
        })
    }

    /// Runs a script (EVALSHA, loading it on NOSCRIPT), once more on a dropped connection.
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> redis::RedisResult<T> {
        retry_once(&self.conn, move |mut c| async move {
            script.invoke_async(&mut c).await
        })
        .await
    }
}

/// A reply as `T`; a reply of another shape is a corrupt record.
fn parse<T: FromRedisValue>(value: Value) -> Result<T, StoreError> {
    redis::from_redis_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The replicas (not flagged `fail`) of the master serving `slot`, in a `CLUSTER NODES` answer.
fn owner_replicas(nodes: &str, slot: u16) -> Option<u32> {
    let owner = nodes.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let serves = f.iter().skip(8).any(|r| match r.split_once('-') {
            Some((a, b)) => {
                a.parse().is_ok_and(|a: u16| a <= slot) && b.parse().is_ok_and(|b: u16| slot <= b)
            }
            None => r.parse() == Ok(slot),
        });
        serves.then(|| f[0].to_string())
    })?;
    cluster_shards(nodes)
        .into_iter()
        .find(|(id, _)| *id == owner)
        .map(|(_, n)| n)
}

/// The hash slot of `key`, as Redis Cluster computes it (CRC16 of the hash tag, mod 16384).
fn slot_of(key: &[u8]) -> u16 {
    let tag = std::str::from_utf8(key)
        .ok()
        .and_then(|k| {
            let open = k.find('{')?;
            let close = open + 1 + k[open + 1..].find('}')?;
            (close > open + 1).then(|| &key[open + 1..close])
        })
        .unwrap_or(key);
    crc16::State::<crc16::XMODEM>::calculate(tag) % 16384
}

/// The `CLUSTER NODES` answer last read when a shard had fewer replicas than wanted, while it
/// is fresh: writes on such a shard wait for the replicas it lists instead of timing out on
/// every write. Kept [`Degraded::FOR`]; after that the next shortfall reads the cluster again.
/// Also remembers the connection's rebuild count when it last looked: after a rebuild (a
/// failover may be under way) the cluster is read again before writes, at most every
/// [`Degraded::REREAD`] for [`Degraded::UNSETTLED`], so that a replica promoted after the last
/// rebuild is seen without its first writes each waiting out the timeout.
#[derive(Clone, Default)]
struct Degraded(Arc<Mutex<DegradedSeen>>);

#[derive(Default)]
struct DegradedSeen {
    nodes: Option<(Instant, Arc<str>)>,
    rebuilds: u64,
    read_at: Option<Instant>,
    unsettled_until: Option<Instant>,
}

impl Degraded {
    const FOR: Duration = Duration::from_secs(2);
    const UNSETTLED: Duration = Duration::from_secs(10);
    const REREAD: Duration = Duration::from_millis(250);

    fn seen(&self) -> std::sync::MutexGuard<'_, DegradedSeen> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the cluster should be read before this write: the connection was rebuilt since
    /// it was last read, or was rebuilt lately and the last read is older than `REREAD`.
    fn stale(&self, rebuilds: u64) -> bool {
        let seen = self.seen();
        let unsettled = seen
            .unsettled_until
            .is_some_and(|until| Instant::now() < until);
        seen.rebuilds != rebuilds
            || (unsettled && seen.read_at.is_none_or(|at| at.elapsed() >= Self::REREAD))
    }

    /// The replicas listed for `slot`'s master, if a fresh answer is kept.
    fn listed(&self, slot: u16) -> Option<u32> {
        let nodes = self.seen().nodes.clone()?;
        (nodes.0.elapsed() < Self::FOR)
            .then(|| owner_replicas(&nodes.1, slot))
            .flatten()
    }

    /// Keeps `nodes` when some master there lists fewer than `wanted` replicas; forgets
    /// otherwise.
    fn remember(&self, nodes: &str, wanted: u32, rebuilds: u64) {
        let short = cluster_shards(nodes).iter().any(|(_, n)| *n < wanted);
        let mut seen = self.seen();
        let now = Instant::now();
        seen.nodes = short.then(|| (now, Arc::from(nodes)));
        if seen.rebuilds != rebuilds {
            seen.unsettled_until = Some(now + Self::UNSETTLED);
        }
        seen.rebuilds = rebuilds;
        seen.read_at = Some(now);
    }
}

/// The EVALSHA command of a script invocation (its keys follow the key count).
fn script_cmd(script: &ScriptInvocation<'_>) -> redis::Cmd {
    let mut pipe = redis::pipe();
    pipe.invoke_script(script);
    pipe.cmd_iter()
        .next()
        .cloned()
        .unwrap_or_else(redis::Cmd::new)
}

/// The first key of `cmd`: the hash slot it runs on.
fn first_key(cmd: &redis::Cmd) -> Option<Vec<u8>> {
    let args: Vec<&[u8]> = cmd
        .args_iter()
        .filter_map(|a| match a {
            redis::Arg::Simple(b) => Some(b),
            _ => None,
        })
        .collect();
    let name = args.first()?.to_ascii_uppercase();
    // EVALSHA sha numkeys key… ; every other write here names its key first.
    let at = if name == b"EVALSHA" || name == b"EVAL" {
        3
    } else {
        1
    };
    args.get(at).map(|k| k.to_vec())
}

/// `pp:{<tag>}:sync`, beside `key` in its hash slot: the write every confirmed request ends
/// with (it lives a second).
fn sync_key(key: &[u8]) -> Option<String> {
    let key = std::str::from_utf8(key).ok()?;
    let open = key.find('{')?;
    let close = open + key[open..].find('}')?;
    Some(format!("pp:{}:sync", &key[open..=close]))
}

/// Each master serving slots in a `CLUSTER NODES` answer, with its replicas that the cluster
/// has not flagged `fail`. (`CLUSTER SLOTS` would not do: it leaves out a replica whose
/// replication offset is still 0, as on a cluster that has taken no write yet.)
fn cluster_shards(nodes: &str) -> Vec<(String, u32)> {
    let lines: Vec<Vec<&str>> = nodes
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let failed = |f: &[&str]| {
        f.get(2)
            .is_some_and(|flags| flags.split(',').any(|x| x == "fail"))
    };
    lines
        .iter()
        .filter(|f| f.len() > 8 && !failed(f))
        .filter(|f| f.get(2).is_some_and(|flags| flags.contains("master")))
        .map(|m| {
            let replicas = lines
                .iter()
                .filter(|r| r.get(3) == m.first() && !failed(r))
                .count();
            (m[0].to_string(), replicas as u32)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn field<'a>(h: &'a HashMap<String, String>, name: &str) -> Result<&'a str, StoreError> {
    h.get(name)
        .map(String::as_str)
        .ok_or_else(|| StoreError::Corrupt(format!("record lacks field {name}")))
}

fn int(s: &str) -> Result<i64, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt("non-numeric time field".into()))
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// A session's authentication from its `at`, `amr` and `created` fields.
fn stored_authentication(
    at: Option<&str>,
    amr: Option<&str>,
    created: Option<&str>,
) -> Result<Authentication, StoreError> {
    let created = int(created.unwrap_or("0"))?;
    let at = at.filter(|a| !a.is_empty()).map(int).transpose()?;
    Ok(Authentication::from_stored(at, amr, created))
}

/// A passkey's record in the account's passkeys hash.
fn passkey_record(p: &StoredPasskey) -> String {
    serde_json::json!({
        "name": p.name,
        "created": p.created_at,
        "last": p.last_used_at,
        "cred": p.credential,
    })
    .to_string()
}

fn passkey_from_record(id: String, record: &str) -> Result<StoredPasskey, StoreError> {
    #[derive(serde::Deserialize)]
    struct Record {
        name: String,
        created: i64,
        last: i64,
        cred: String,
    }
    let r: Record = serde_json::from_str(record)
        .map_err(|e| StoreError::Corrupt(format!("passkey record: {e}")))?;
    Ok(StoredPasskey {
        id,
        name: r.name,
        created_at: r.created,
        last_used_at: r.last,
        credential: r.cred,
    })
}

fn counter((count, ttl): (Option<u64>, i64)) -> Counter {
    match count {
        Some(count) if ttl > 0 => Counter {
            count,
            retry_after: ttl,
        },
        _ => Counter::default(),
    }
}

#[async_trait]
impl Store for RedisStore {
    fn durability(&self) -> Durability {
        self.durability
    }

    async fn create_account(&self, account: &Account) -> Result<bool, StoreError> {
        // The account's record and the email's index entry live in two hash slots, so no one
        // script can write both. Order makes it safe instead: the record is written first, with
        // a TTL, so an index entry never names an id whose record was never there; then the
        // email is claimed (or an entry naming a vanished account taken over, compare-and-set);
        // the loser of a race deletes its record; the winner makes its record durable.
        let record = account_key(account.id);
        let index = email_key(&account.email);
        let id = account.id.to_string();
        let _: i64 = self
            .run(&CREATE_ACCOUNT.invocation(
                &[("account", record.clone())],
                &[
                    ("email", account.email.clone()),
                    ("password_hash", account.password_hash.clone()),
                    ("status", account.status.as_str().to_string()),
                    ("created_at", account.created_at.to_string()),
                    ("provisional_seconds", PROVISIONAL_SECONDS.to_string()),
                ],
            )?)
            .await?;
        self.claim(&index, &id, &record, account_key).await
    }

    async fn account_id(&self, email: &str) -> Result<Option<Id>, StoreError> {
        let key = &email_key(email);
        let v: Option<String> =
            retry_once(&self.conn, move |mut c| async move { c.get(key).await }).await?;
        Ok(v.and_then(|s| s.parse().ok()))
    }

    async fn account(&self, id: Id) -> Result<Option<Account>, StoreError> {
        let key = &account_key(id);
        let h: HashMap<String, String> =
            retry_once(&self.conn, move |mut c| async move { c.hgetall(key).await }).await?;
        if h.is_empty() {
            return Ok(None);
        }
        Ok(Some(Account {
            id,
            email: field(&h, "email")?.to_string(),
            password_hash: field(&h, "pw")?.to_string(),
            status: AccountStatus::parse(field(&h, "status")?)
                .ok_or_else(|| StoreError::Corrupt("unknown account status".into()))?,
            created_at: int(field(&h, "created")?)?,
            password_version: h.get("pwv").map_or(Ok(0), |v| int(v))? as u64,
        }))
    }

    async fn previous_password_hash(&self, id: Id, now: i64) -> Result<Option<String>, StoreError> {
        let key = &account_key(id);
        let (hash, until): (Option<String>, Option<i64>) =
            retry_once(&self.conn, move |mut c| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("pwprev")
                    .arg("pwprev_until")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(hash.filter(|_| until.is_some_and(|u| u > now)))
    }

    async fn set_password(
        &self,
        id: Id,
        password_hash: &str,
        sessions: SessionsAfter,
    ) -> Result<bool, StoreError> {
        let keep = match sessions {
            SessionsAfter::EndAll => String::new(),
            SessionsAfter::KeepOnly(sid) => sid.to_string(),
            SessionsAfter::KeepAll => "*".to_string(),
        };
        let n: i64 = self
            .write(&SET_PASSWORD.invocation(
                &[("account", account_key(id)), ("sessions", sessions_key(id))],
                &[
                    ("password_hash", password_hash.to_string()),
                    ("keep", keep),
                    ("session_prefix", session_prefix(id)),
                    ("now", crate::kernel::clock::now().to_string()),
                    ("previous_for", PREVIOUS_PASSWORD_SECONDS.to_string()),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn set_status(&self, id: Id, status: AccountStatus) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&SET_STATUS.invocation(
                &[("account", account_key(id)), ("sessions", sessions_key(id))],
                &[
                    ("status", status.as_str().to_string()),
                    ("session_prefix", session_prefix(id)),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn delete_account(&self, id: Id) -> Result<bool, StoreError> {
        let email: Option<String> = self
            .write(&DELETE_ACCOUNT.invocation(
                &[
                    ("account", account_key(id)),
                    ("sessions", sessions_key(id)),
                    ("passkeys", passkeys_key(id)),
                ],
                &[("session_prefix", session_prefix(id))],
            )?)
            .await?;
        let Some(email) = email else {
            return Ok(false);
        };
        let _: i64 = self
            .write(&UNINDEX_EMAIL.invocation(
                &[("email_index", email_key(&email))],
                &[("account_id", id.to_string())],
            )?)
            .await?;
        Ok(true)
    }

    async fn begin_login(
        &self,
        email: &str,
        ip: Option<&str>,
        window: i64,
        ip_max_failures: u64,
        now: i64,
    ) -> Result<LoginState, StoreError> {
        let attempt = LoginAttempt::new(email, ip, window, ip_max_failures, now);
        self.gate(&attempt, false).await
    }

    async fn reserve_login(&self, a: &LoginAttempt<'_>) -> Result<LoginState, StoreError> {
        self.gate(a, a.ip.is_some()).await
    }

    async fn release_ip_attempt(&self, ip: &str, _now: i64) -> Result<(), StoreError> {
        let _: i64 = self
            .run(&UNCOUNT.invocation(&[("counter", ip_fail_key(ip))], &[])?)
            .await?;
        Ok(())
    }

    async fn record_ip_failure(&self, ip: &str, window: i64, _now: i64) -> Result<(), StoreError> {
        self.count(ip_fail_key(ip), window).await?;
        Ok(())
    }

    async fn clear_attempts(&self, email: &str, ip: Option<&str>) -> Result<(), StoreError> {
        let (account_wide, pair) = (&email_fail_key(email), &pair_key(email, ip));
        let a = retry_once(&self.conn, move |mut c| async move {
            c.del::<_, i64>(account_wide).await
        });
        let p = retry_once(&self.conn, move |mut c| async move {
            c.del::<_, i64>(pair).await
        });
        tokio::try_join!(a, p)?;
        Ok(())
    }

    async fn start_session(
        &self,
        s: &NewSession,
        email: &str,
        authentication: &Authentication,
        agent: Option<&str>,
    ) -> Result<SessionStart, StoreError> {
        let start = CREATE_SESSION.invocation(
            &[
                ("account", account_key(s.account)),
                ("session", session_key(s.account, s.session)),
                ("sessions", sessions_key(s.account)),
            ],
            &[
                ("sid", s.session.to_string()),
                ("digest", s.digest.to_hex()),
                ("family_digest", s.family.to_hex()),
                ("device", s.device.clone().unwrap_or_default()),
                ("user_agent", s.user_agent.clone().unwrap_or_default()),
                ("ip", s.ip.clone().unwrap_or_default()),
                ("now", s.now.to_string()),
                ("expires_at", s.expires_at.to_string()),
                ("absolute_expires_at", s.absolute_expires_at.to_string()),
                ("password_version", s.password_version.to_string()),
                ("max_sessions", s.max_sessions.to_string()),
                ("auth_time", authentication.time.to_string()),
                ("amr", authentication.methods_text()),
                ("agent", agent.unwrap_or_default().to_string()),
            ],
        )?;
        let clear = self.clear_attempts(email, s.ip.as_deref());
        let (outcome, ()): (String, ()) = tokio::try_join!(self.write::<String>(&start), clear)?;
        Ok(match outcome.as_str() {
            "started" => SessionStart::Started,
            "missing" => SessionStart::AccountMissing,
            "stale" => SessionStart::PasswordChanged,
            _ => SessionStart::AccountDisabled,
        })
    }

    async fn rotate_session(
        &self,
        r: &Rotate,
    ) -> Result<(Rotation, Option<Authentication>), StoreError> {
        // Idempotent within the grace window: run again after a first run that did rotate,
        // the script finds the presented token as `prev` and the successor as `cur`, and
        // answers `replayed` with the same successor.
        let answer: Vec<Value> = self
            .write(&ROTATE.invocation(
                &session_keys(r.account, r.session),
                &[
                    ("sid", r.session.to_string()),
                    ("presented_digest", r.presented.to_hex()),
                    ("successor_digest", r.successor.to_hex()),
                    ("family_digest", r.family.to_hex()),
                    ("request_id", hex(&r.request_id)),
                    ("now", r.now.to_string()),
                    ("idle_ttl", r.idle_ttl.to_string()),
                    ("grace", r.grace.to_string()),
                ],
            )?)
            .await?;
        let mut it = answer.into_iter();
        let outcome: String = match it.next() {
            Some(v) => parse(v)?,
            None => String::new(),
        };
        let expires_at: Option<i64> = match it.next() {
            Some(v) => Some(parse(v)?),
            None => None,
        };
        let exp =
            || expires_at.ok_or_else(|| StoreError::Corrupt("rotation without expiry".into()));
        let rotation = match outcome.as_str() {
            "rotated" => Rotation::Rotated { expires_at: exp()? },
            "replayed" => Rotation::Replayed { expires_at: exp()? },
            "reused" => Rotation::Reused,
            _ => Rotation::Invalid,
        };
        let authentication = match rotation {
            Rotation::Rotated { .. } | Rotation::Replayed { .. } => {
                let mut field = || -> Result<Option<String>, StoreError> {
                    it.next().map_or(Ok(None), parse::<Option<String>>)
                };
                let (at, amr, created) = (field()?, field()?, field()?);
                Some(stored_authentication(
                    at.as_deref(),
                    amr.as_deref(),
                    created.as_deref(),
                )?)
            }
            Rotation::Reused | Rotation::Invalid => None,
        };
        Ok((rotation, authentication))
    }

    async fn session_authentication(
        &self,
        account: Id,
        session: Id,
        _now: i64,
    ) -> Result<Option<Authentication>, StoreError> {
        let Some([at, amr, created]) = self
            .live_fields(account, session, ["at", "amr", "created"])
            .await?
        else {
            return Ok(None);
        };
        stored_authentication(at.as_deref(), amr.as_deref(), created.as_deref()).map(Some)
    }

    async fn reauthenticate(
        &self,
        account: Id,
        session: Id,
        authentication: &Authentication,
        _now: i64,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&REAUTHENTICATE.invocation(
                &[("session", session_key(account, session))],
                &[
                    ("auth_time", authentication.time.to_string()),
                    ("amr", authentication.methods_text()),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn passkeys(&self, account: Id) -> Result<Vec<StoredPasskey>, StoreError> {
        let key = &passkeys_key(account);
        let all: HashMap<String, String> =
            retry_once(&self.conn, move |mut c| async move { c.hgetall(key).await }).await?;
        let mut list = all
            .into_iter()
            .map(|(id, record)| passkey_from_record(id, &record))
            .collect::<Result<Vec<_>, _>>()?;
        StoredPasskey::oldest_first(&mut list);
        Ok(list)
    }

    async fn add_passkey(
        &self,
        account: Id,
        passkey: &StoredPasskey,
        max: u64,
    ) -> Result<PasskeyAdded, StoreError> {
        let outcome: String = self
            .write(&ADD_PASSKEY.invocation(
                &[
                    ("account", account_key(account)),
                    ("passkeys", passkeys_key(account)),
                ],
                &[
                    ("id", passkey.id.clone()),
                    ("record", passkey_record(passkey)),
                    ("max", max.to_string()),
                ],
            )?)
            .await?;
        Ok(match outcome.as_str() {
            "added" => PasskeyAdded::Added,
            "exists" => PasskeyAdded::Exists,
            "full" => PasskeyAdded::Full,
            _ => PasskeyAdded::NoAccount,
        })
    }

    async fn update_passkey(
        &self,
        account: Id,
        passkey: &StoredPasskey,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&UPDATE_PASSKEY.invocation(
                &[("passkeys", passkeys_key(account))],
                &[
                    ("id", passkey.id.clone()),
                    ("record", passkey_record(passkey)),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn remove_passkey(&self, account: Id, id: &str) -> Result<PasskeyRemoved, StoreError> {
        let outcome: String = self
            .write(&REMOVE_PASSKEY.invocation(
                &[
                    ("account", account_key(account)),
                    ("passkeys", passkeys_key(account)),
                ],
                &[("id", id.to_string())],
            )?)
            .await?;
        Ok(match outcome.as_str() {
            "removed" => PasskeyRemoved::Removed,
            "last" => PasskeyRemoved::Last,
            _ => PasskeyRemoved::Missing,
        })
    }

    async fn bind_session(
        &self,
        account: Id,
        session: Id,
        key: &str,
        cookie: &str,
        cookie_expires_at: i64,
        _now: i64,
    ) -> Result<BindOutcome, StoreError> {
        let outcome: String = self
            .write(&BIND_SESSION.invocation(
                &[("session", session_key(account, session))],
                &[
                    ("key", key.to_string()),
                    ("cookie", cookie.to_string()),
                    ("cookie_expires_at", cookie_expires_at.to_string()),
                ],
            )?)
            .await?;
        Ok(match outcome.as_str() {
            "bound" => BindOutcome::Bound,
            "taken" => BindOutcome::Taken,
            _ => BindOutcome::Gone,
        })
    }

    async fn renew_bound_cookie(
        &self,
        account: Id,
        session: Id,
        cookie: &str,
        cookie_expires_at: i64,
        _now: i64,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&RENEW_BOUND_COOKIE.invocation(
                &[("session", session_key(account, session))],
                &[
                    ("cookie", cookie.to_string()),
                    ("cookie_expires_at", cookie_expires_at.to_string()),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn session_binding(
        &self,
        account: Id,
        session: Id,
        _now: i64,
    ) -> Result<Option<SessionBinding>, StoreError> {
        let Some([dbk, dbc, dbce, dbp, dbpe]) = self
            .live_fields(account, session, ["dbk", "dbc", "dbce", "dbp", "dbpe"])
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(SessionBinding {
            key: dbk,
            cookie: dbc,
            cookie_expires_at: dbce.as_deref().map(int).transpose()?.unwrap_or(0),
            previous: dbp.filter(|p| !p.is_empty()),
            previous_expires_at: dbpe.as_deref().map(int).transpose()?.unwrap_or(0),
        }))
    }

    async fn put_ceremony(
        &self,
        id: Id,
        state: &str,
        ttl: i64,
        _now: i64,
    ) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(ceremony_key(id))
            .arg(state)
            .arg("EX")
            .arg(ttl.max(1));
        self.write_cmd::<()>(cmd).await
    }

    async fn take_ceremony(&self, id: Id, _now: i64) -> Result<Option<String>, StoreError> {
        // A write: the deletion must survive a failover, or the state could be taken twice.
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(ceremony_key(id));
        self.write_cmd(cmd).await
    }

    async fn live_session(
        &self,
        account: Id,
        session: Id,
        _now: i64,
    ) -> Result<Option<LiveSession>, StoreError> {
        let live = self.live_fields(account, session, ["email"]).await?;
        Ok(live.map(|[email]| LiveSession {
            email: email.filter(|e| !e.is_empty()),
        }))
    }

    async fn token_matches(
        &self,
        account: Id,
        session: Id,
        digest: &TokenDigest,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .run(&TOKEN_MATCHES.invocation(
                &[("session", session_key(account, session))],
                &[("digest", digest.to_hex()), ("now", now.to_string())],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn check_token(&self, c: &CheckToken) -> Result<TokenCheck, StoreError> {
        let outcome: String = self
            .write(&CHECK_TOKEN.invocation(
                &session_keys(c.account, c.session),
                &[
                    ("sid", c.session.to_string()),
                    ("presented_digest", c.presented.to_hex()),
                    ("family_digest", c.family.to_hex()),
                    ("now", c.now.to_string()),
                    ("grace", c.grace.to_string()),
                ],
            )?)
            .await?;
        match outcome.as_str() {
            "current" => Ok(TokenCheck::Current),
            "previous" => Ok(TokenCheck::Previous),
            "reused" => Ok(TokenCheck::Reused),
            "invalid" => Ok(TokenCheck::Invalid),
            other => Err(StoreError::Corrupt(format!(
                "check_token answered {other:?}"
            ))),
        }
    }

    async fn revoke_session(&self, account: Id, session: Id, now: i64) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&REVOKE_SESSION.invocation(
                &[
                    ("session", session_key(account, session)),
                    ("sessions", sessions_key(account)),
                ],
                &[("sid", session.to_string()), ("now", now.to_string())],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn revoke_all(&self, account: Id) -> Result<u64, StoreError> {
        Ok(self
            .write(&REVOKE_ALL.invocation(
                &[("sessions", sessions_key(account))],
                &[("session_prefix", session_prefix(account))],
            )?)
            .await?)
    }

    async fn list_sessions(&self, account: Id, now: i64) -> Result<Vec<SessionInfo>, StoreError> {
        let flat: Vec<String> = self
            .run(&LIST_SESSIONS.invocation(
                &[("sessions", sessions_key(account))],
                &[
                    ("now", now.to_string()),
                    ("session_prefix", session_prefix(account)),
                ],
            )?)
            .await?;
        let mut list = flat
            .chunks(10)
            .map(|t| match t {
                [id, dev, ua, ip, created, last, exp, agent, at, amr] => Ok(SessionInfo {
                    id: id
                        .parse()
                        .map_err(|_| StoreError::Corrupt("bad session id".into()))?,
                    device: opt(dev),
                    user_agent: opt(ua),
                    ip: opt(ip),
                    created_at: int(created)?,
                    last_used_at: int(last)?,
                    expires_at: int(exp)?,
                    agent: opt(agent),
                    authentication: stored_authentication(
                        opt(at).as_deref(),
                        opt(amr).as_deref(),
                        Some(created),
                    )?,
                }),
                _ => Err(StoreError::Corrupt("short session tuple".into())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        list.sort_by_key(|s| (s.created_at, s.id));
        Ok(list)
    }

    async fn create_app(&self, app: &App) -> Result<bool, StoreError> {
        // As `create_account`: the record first, provisional; then the code claimed with the
        // email's compare-and-set script (`claim`); the loser deletes its record.
        let record = app_key(app.id);
        let index = app_code_key(&app.code);
        let id = app.id.to_string();
        let _: i64 = self
            .run(&CREATE_APP.invocation(
                &[("app", record.clone())],
                &[
                    ("code", app.code.clone()),
                    ("name", app.name.clone()),
                    ("access", app.access.as_str().to_string()),
                    ("passport_ttl", app.passport_ttl.to_string()),
                    ("created_at", app.created_at.to_string()),
                    ("provisional_seconds", PROVISIONAL_SECONDS.to_string()),
                ],
            )?)
            .await?;
        if !self.claim(&index, &id, &record, app_key).await? {
            return Ok(false);
        }
        let _: i64 = self.write_cmd(redis::Cmd::sadd(APPS_KEY, &id)).await?;
        Ok(true)
    }

    async fn app_by_code(&self, code: &str) -> Result<Option<App>, StoreError> {
        let key = &app_code_key(code);
        let id: Option<String> =
            retry_once(&self.conn, move |mut c| async move { c.get(key).await }).await?;
        match id.and_then(|s| s.parse::<Id>().ok()) {
            Some(id) => self.app(id).await,
            None => Ok(None),
        }
    }

    async fn list_apps(&self) -> Result<Vec<App>, StoreError> {
        let ids: Vec<String> = retry_once(&self.conn, move |mut c| async move {
            c.smembers(APPS_KEY).await
        })
        .await?;
        let mut apps = Vec::new();
        for id in ids.iter().filter_map(|s| s.parse::<Id>().ok()) {
            if let Some(app) = self.app(id).await? {
                apps.push(app);
            }
        }
        apps.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(apps)
    }

    async fn set_app_enabled(&self, id: Id, enabled: bool) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&SET_APP_ENABLED.invocation(
                &[("app", app_key(id))],
                &[("enabled", if enabled { "1" } else { "0" }.to_string())],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn delete_app(&self, id: Id) -> Result<bool, StoreError> {
        let code: Option<String> = self
            .write(
                &DELETE_APP
                    .invocation(&[("app", app_key(id)), ("users", app_users_key(id))], &[])?,
            )
            .await?;
        let Some(code) = code else {
            return Ok(false);
        };
        let _: i64 = self
            .write(&UNINDEX_EMAIL.invocation(
                &[("email_index", app_code_key(&code))],
                &[("account_id", id.to_string())],
            )?)
            .await?;
        let _: i64 = self
            .write_cmd(redis::Cmd::srem(APPS_KEY, id.to_string()))
            .await?;
        Ok(true)
    }

    async fn start_passport(
        &self,
        p: &PassportStart,
        _now: i64,
    ) -> Result<PassportOutcome, StoreError> {
        let new_session = passport_key(p.app, p.session);
        let old_session = p
            .renew
            .map_or_else(|| new_session.clone(), |s| passport_key(p.app, s));
        let (outcome, end_user): (String, Option<String>) = self
            .write::<Vec<String>>(&START_PASSPORT.invocation(
                &[
                    ("app", app_key(p.app)),
                    ("users", app_users_key(p.app)),
                    ("old_session", old_session),
                    ("new_session", new_session),
                ],
                &[
                    (
                        "account",
                        p.account.map(|a| a.to_string()).unwrap_or_default(),
                    ),
                    ("end_user", p.end_user.to_string()),
                    ("create", if p.create { "1" } else { "0" }.to_string()),
                    ("expires_at", p.expires_at.to_string()),
                    ("keep_until", p.keep_until.to_string()),
                ],
            )?)
            .await
            .map(|v| {
                let mut it = v.into_iter();
                (it.next().unwrap_or_default(), it.next())
            })?;
        let end_user = || {
            end_user
                .as_deref()
                .and_then(|e| e.parse::<Id>().ok())
                .ok_or_else(|| StoreError::Corrupt("passport session without end user".into()))
        };
        Ok(match outcome.as_str() {
            "renewed" => PassportOutcome::Renewed {
                end_user: end_user()?,
            },
            "started" => PassportOutcome::Started {
                end_user: end_user()?,
            },
            "gone" => PassportOutcome::Gone,
            _ => PassportOutcome::AppOff,
        })
    }

    async fn passport_live(&self, app: Id, session: Id, _now: i64) -> Result<bool, StoreError> {
        // Both keys carry the app's hash tag: one pipeline to one node, one round trip.
        let mut pipe = redis::pipe();
        pipe.hget(app_key(app), "enabled")
            .exists(passport_key(app, session));
        let pipe = &pipe;
        let (enabled, exists): (Option<String>, bool) =
            retry_once(&self.conn, move |mut c| async move {
                pipe.query_async(&mut c).await
            })
            .await?;
        Ok(enabled.as_deref() == Some("1") && exists)
    }

    async fn end_passport(&self, app: Id, session: Id, _now: i64) -> Result<bool, StoreError> {
        let n: i64 = self
            .write_cmd(redis::Cmd::del(passport_key(app, session)))
            .await?;
        Ok(n == 1)
    }

    async fn track_private_passport(&self, p: &PrivatePassport) -> Result<bool, StoreError> {
        let passports = private_passports_key(p.account);
        let sequence = format!("{passports}:seq");
        let outcome: String = self
            .write(&TRACK_PASSPORT.invocation(
                &[("passports", passports), ("sequence", sequence)],
                &[
                    ("app", p.app.to_string()),
                    ("renew", p.renew.map(|s| s.to_string()).unwrap_or_default()),
                    ("session", p.session.to_string()),
                    ("keep_until", p.keep_until.to_string()),
                    ("cap", p.cap.max(1).to_string()),
                    ("now", p.now.to_string()),
                ],
            )?)
            .await?;
        Ok(outcome == "renew")
    }

    async fn private_passport_live(&self, p: PassportOf, now: i64) -> Result<bool, StoreError> {
        let key = &private_passports_key(p.account);
        let member = &format!("{}:{}", p.app, p.session);
        let until: Option<f64> = retry_once(&self.conn, move |mut c| async move {
            c.zscore(key, member).await
        })
        .await?;
        Ok(until.is_some_and(|u| u > now as f64))
    }

    async fn publish_keys(&self, document: &str, created_ms: i64) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&PUBLISH_KEYS.invocation(
                &[("keys", PUBLIC_KEYS_KEY.to_string())],
                &[
                    ("created", created_ms.to_string()),
                    ("document", document.to_string()),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn published_keys(&self) -> Result<Option<String>, StoreError> {
        retry_once(&self.conn, move |mut c| async move {
            c.hget(PUBLIC_KEYS_KEY, "document").await
        })
        .await
        .map_err(Into::into)
    }

    async fn count_new_visitor(&self, ip: &str, _now: i64) -> Result<Counter, StoreError> {
        let (n, ttl) = self.count(visitors_key(ip), NEW_VISITOR_WINDOW).await?;
        Ok(Counter {
            count: n,
            retry_after: ttl.max(1),
        })
    }
}

impl RedisStore {
    /// Counts one attempt on `key`, a counter whose `window` starts at its first count:
    /// `(count, seconds left)`. A retry after a first run that did count counts twice: stricter,
    /// never looser, and only when the connection dropped mid-call.
    async fn count(&self, key: String, window: i64) -> Result<(u64, i64), StoreError> {
        let mut count = redis::cmd("EVAL");
        count.arg(COUNT_ATTEMPT).arg(1).arg(key).arg(window);
        let count = &count;
        Ok(retry_once(&self.conn, move |mut c| async move {
            count.query_async(&mut c).await
        })
        .await?)
    }

    /// Claims the directory's `index` entry (an email's, an app code's) for `id`, whose
    /// provisional `record` was just written, and makes the record durable; `false`, with the
    /// record deleted, when the entry names another live record (`record_of` its key). An entry
    /// naming a record that is gone (a delete or create cut short) is taken over,
    /// compare-and-set, unless someone else does first.
    async fn claim(
        &self,
        index: &str,
        id: &str,
        record: &str,
        record_of: fn(Id) -> String,
    ) -> Result<bool, StoreError> {
        let mut expected = String::new();
        for _ in 0..3 {
            let holder: String = self
                .write(&CLAIM_EMAIL.invocation(
                    &[("email_index", index.to_string())],
                    &[
                        ("account_id", id.to_string()),
                        ("expected", expected.clone()),
                    ],
                )?)
                .await?;
            if holder == id {
                let made_durable: bool = self.write_cmd(redis::Cmd::persist(record)).await?;
                let still_there: bool = made_durable || self.conn().exists(record).await?;
                if !still_there {
                    return Err(StoreError::Corrupt(
                        "a new record expired before its index entry was claimed".into(),
                    ));
                }
                return Ok(true);
            }
            let alive = match holder.parse::<Id>() {
                Ok(h) => self.conn().exists::<_, bool>(record_of(h)).await?,
                Err(_) => false,
            };
            if alive {
                let _: i64 = self.conn().del(record).await?;
                return Ok(false);
            }
            expected = holder;
        }
        let _: i64 = self.conn().del(record).await?;
        Ok(false)
    }

    async fn app(&self, id: Id) -> Result<Option<App>, StoreError> {
        let key = &app_key(id);
        let h: HashMap<String, String> =
            retry_once(&self.conn, move |mut c| async move { c.hgetall(key).await }).await?;
        if h.is_empty() {
            return Ok(None);
        }
        Ok(Some(App {
            id,
            code: field(&h, "code")?.to_string(),
            name: field(&h, "name")?.to_string(),
            access: AppAccess::parse(field(&h, "access")?)
                .ok_or_else(|| StoreError::Corrupt("unknown app access".into()))?,
            passport_ttl: int(field(&h, "ttl")?)?,
            enabled: field(&h, "enabled")? == "1",
            created_at: int(field(&h, "created")?)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_count_replicas_not_flagged_failed() {
        let nodes = "\
r1 127.0.0.1:7106@17106 slave m2 0 1 2 connected
m1 127.0.0.1:7101@17101 myself,master - 0 1 1 connected 0-5460
m2 127.0.0.1:7102@17102 master - 0 1 2 connected 5461-10922
m3 127.0.0.1:7103@17103 master - 0 1 3 connected 10923-16383
r3 127.0.0.1:7104@17104 slave,fail? m3 0 1 3 connected
r0 127.0.0.1:7105@17105 slave,fail m1 0 1 1 disconnected
old 127.0.0.1:7107@17107 master,fail - 0 1 1 disconnected
";
        assert_eq!(owner_replicas(nodes, 0), Some(0));
        assert_eq!(owner_replicas(nodes, 6000), Some(1));
        assert_eq!(owner_replicas(nodes, 16383), Some(1));
        let shards = cluster_shards(nodes);
        assert_eq!(
            shards,
            vec![("m1".into(), 0), ("m2".into(), 1), ("m3".into(), 1)]
        );
    }

    #[test]
    fn slots_are_computed_as_redis_cluster_does() {
        // The examples of CLUSTER KEYSLOT's documentation (redis.io/docs/latest/commands/cluster-keyslot/).
        assert_eq!(slot_of(b"somekey"), 11058);
        assert_eq!(slot_of(b"foo{hash_tag}"), 2515);
        assert_eq!(slot_of(b"pp:{abc}:sync"), slot_of(b"abc"));
        // An empty tag is no tag: the whole key is hashed.
        assert_ne!(slot_of(b"{}x"), slot_of(b"{}y"));
    }

    #[test]
    fn the_sync_key_shares_the_write_s_slot() {
        assert_eq!(sync_key(b"pp:{abc}:s:x").as_deref(), Some("pp:{abc}:sync"));
        assert_eq!(
            sync_key(b"pp:{apps}:all").as_deref(),
            Some("pp:{apps}:sync")
        );
        assert_eq!(sync_key(b"plain"), None);
    }

    #[test]
    fn keys_of_one_account_share_a_hash_tag() {
        let (a, s) = (Id::random(), Id::random());
        let tag = format!("{{{a}}}");
        for k in [account_key(a), session_key(a, s), sessions_key(a)] {
            assert!(k.contains(&tag), "{k}");
            assert_eq!(k.find('{'), Some(3), "{k}");
        }
        assert!(session_key(a, s).starts_with(&session_prefix(a)));
        let tag = email_tag("a@b.example");
        assert!(email_key("a@b.example").starts_with(&format!("{tag}:")));
        assert!(email_fail_key("a@b.example").starts_with(&format!("{tag}:")));
        assert_ne!(email_tag("a@b.example"), email_tag("c@b.example"));
        assert!(!email_key("someone@example.com").contains("someone"));
    }
}
