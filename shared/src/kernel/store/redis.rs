//! The Redis store (production: ElastiCache Serverless for Valkey; locally any `redis-server`):
//! its connection, the durability it runs with, and the ways each part of the store runs its
//! commands — a read, a script, a confirmed write — and parses what comes back. The key layout
//! is `keys`'; each part of the store implements its slice on [`RedisStore`] in its own folder.

use super::Counter;
use super::connection::{RedisConnection, retry_once};
use super::durability::{Durability, ReplicaAcks, Topology};
use super::lua::LuaScript;
use crate::kernel::authentication::Authentication;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use redis::{AsyncCommands, FromRedisValue, ScriptInvocation, Value};
use std::collections::HashMap;
use std::time::Duration;

/// [`RedisStore::answer_within`] of a store made on an open connection: the default
/// `REDIS_RESPONSE_TIMEOUT_MS`.
const DEFAULT_ANSWER_WITHIN: Duration = Duration::from_millis(1000);

/// The store on Redis (one node or a cluster), through one multiplexed connection that
/// reconnects by itself. Every operation but `create_account` is retried once on a dropped
/// connection: each is a read or an idempotent script (see `connection.rs`). Every write a
/// caller is told succeeded is confirmed by the replicas its [`Durability`] wants first.
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) conn: RedisConnection,
    pub(crate) durability: Durability,
    pub(crate) degraded: super::confirm::Degraded,
    /// How long a caller waits for an answer: a rotation that reaches Redis later does nothing
    /// (`Rotate` in `sessions::redis`).
    pub(crate) answer_within: Duration,
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
        Ok(Self {
            answer_within: response_timeout,
            ..Self::from_connection(conn)
        })
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
            degraded: Default::default(),
            answer_within: DEFAULT_ANSWER_WITHIN,
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

    /// What an acknowledged write survives here.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// The replicas the store has now: on one node, those connected to it (`WAIT 0 0` answers
    /// at once with them, and needs no `INFO`, which an access-controlled cache user may lack);
    /// on a cluster, the fewest any master has in `CLUSTER NODES` (`confirm::cluster_shards`).
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
                let shards = super::confirm::cluster_shards(&self.any_cluster_nodes().await?);
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
    pub(crate) async fn live_fields<const N: usize>(
        &self,
        account: Id,
        session: Id,
        fields: [&str; N],
    ) -> Result<Option<[Option<String>; N]>, StoreError> {
        let Some(values) = self.live_field_list(account, session, &fields).await? else {
            return Ok(None);
        };
        values
            .try_into()
            .map(Some)
            .map_err(|_| StoreError::Corrupt("HMGET answered another number of fields".into()))
    }

    /// [`RedisStore::live_fields`] for a list of fields made at run time (a long value's
    /// parts, [`long_names`]).
    pub(crate) async fn live_field_list<F: redis::ToRedisArgs + Sync>(
        &self,
        account: Id,
        session: Id,
        fields: &[F],
    ) -> Result<Option<Vec<Option<String>>>, StoreError> {
        let key = &super::keys::session(account, session);
        let mut values: Vec<Option<String>> = retry_once(&self.conn, move |mut c| async move {
            redis::cmd("HMGET")
                .arg(key)
                .arg("exp")
                .arg(fields)
                .query_async(&mut c)
                .await
        })
        .await?;
        if values.first().is_none_or(Option::is_none) {
            return Ok(None);
        }
        values.remove(0);
        if values.len() != fields.len() {
            return Err(StoreError::Corrupt(
                "HMGET answered another number of fields".into(),
            ));
        }
        Ok(Some(values))
    }

    /// A hash's every field (retried once): empty when there is no such key.
    pub(crate) async fn hash(&self, key: &str) -> Result<HashMap<String, String>, StoreError> {
        Ok(retry_once(&self.conn, move |mut c| async move { c.hgetall(key).await }).await?)
    }

    /// A string key's value (retried once).
    pub(crate) async fn string(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(retry_once(&self.conn, move |mut c| async move { c.get(key).await }).await?)
    }

    pub(crate) fn conn(&self) -> RedisConnection {
        self.conn.clone()
    }

    /// Runs a script that writes what a caller is told succeeded: as [`RedisStore::run`], and
    /// confirmed by the replicas in the same round trip (see [`RedisStore::confirmed`]).
    pub(crate) async fn write<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        if !self.waits() {
            return Ok(self.run(script).await?);
        }
        let cmd = super::confirm::script_cmd(script);
        let key = super::confirm::first_key(&cmd);
        match self.confirmed(&cmd, key.as_deref()).await {
            // The script is not in this node's cache (a restart, a promoted replica): load
            // it, and send the write again (it did not run).
            Err(StoreError::Redis(e))
                if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
            {
                retry_once(&self.conn, |mut c| async move {
                    script.load_async(&mut c).await
                })
                .await?;
                self.confirmed(&cmd, key.as_deref()).await
            }
            other => other,
        }
    }

    /// Runs one command that writes what a caller is told succeeded, confirmed like a script.
    pub(crate) async fn write_cmd<T: FromRedisValue>(
        &self,
        cmd: redis::Cmd,
    ) -> Result<T, StoreError> {
        if !self.waits() {
            return self.run_cmd(&cmd).await;
        }
        self.confirmed(&cmd, super::confirm::first_key(&cmd).as_deref())
            .await
    }

    /// Runs one command, once more on a dropped connection; no replica wait.
    pub(crate) async fn run_cmd<T: FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, StoreError> {
        Ok(retry_once(
            &self.conn,
            |mut c| async move { cmd.query_async(&mut c).await },
        )
        .await?)
    }

    /// Whether writes wait for replicas: without, the write's key is not even looked for.
    fn waits(&self) -> bool {
        self.durability.replicas > 0
    }

    /// Runs a script (EVALSHA, loading it on NOSCRIPT), once more on a dropped connection.
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> redis::RedisResult<T> {
        retry_once(&self.conn, move |mut c| async move {
            script.invoke_async(&mut c).await
        })
        .await
    }

    /// Counts one attempt on `key`, a counter whose `window` starts at its first count: the
    /// count and the seconds left (at least one). A retry after a first run that did count
    /// counts twice: stricter, never looser, and only when the connection dropped mid-call.
    pub(crate) async fn count(&self, key: String, window: i64) -> Result<Counter, StoreError> {
        let count = super::scripts::COUNT_ATTEMPT
            .eval(&[("counter", key)], &[("window", window.to_string())])?;
        let count = &count;
        let (count, ttl): (u64, i64) = retry_once(&self.conn, move |mut c| async move {
            count.query_async(&mut c).await
        })
        .await?;
        Ok(Counter {
            count,
            retry_after: ttl.max(1),
        })
    }

    /// Claims the directory's `index` entry (an email's, an app code's) for `id`, whose
    /// provisional `record` was just written, and makes the record durable; `false`, with the
    /// record deleted, when the entry names another live record (`record_of` its key). An entry
    /// naming a record that is gone (a delete or create cut short) is taken over,
    /// compare-and-set, unless someone else does first.
    pub(crate) async fn claim(
        &self,
        index: &str,
        id: &str,
        record: &str,
        record_of: fn(Id) -> String,
    ) -> Result<bool, StoreError> {
        let live = |h: Id| async move { Ok(self.conn().exists::<_, bool>(record_of(h)).await?) };
        if self.claim_entry(index, id, live).await? {
            // As many round trips as the loser's below (a confirmed write and a read), so a
            // sign-up takes as long whether or not the address had an account.
            let made_durable: bool = self.write_cmd(redis::Cmd::persist(record)).await?;
            let exists: bool = self.conn().exists(record).await?;
            if !(made_durable || exists) {
                return Err(StoreError::Corrupt(
                    "a new record expired before its index entry was claimed".into(),
                ));
            }
            return Ok(true);
        }
        let _: i64 = self.write_cmd(redis::Cmd::del(record)).await?;
        Ok(false)
    }

    /// Claims the directory's `index` entry (an email's, an identity's) for `id`, compare-and-
    /// set: when it is free, or when it names a holder that `live` says no longer holds it (a
    /// delete or create cut short, an identity disconnected) — unless someone else takes it
    /// first. `true` when `id` holds it after (at most three tries).
    pub(crate) async fn claim_entry<F, Fut>(
        &self,
        index: &str,
        id: &str,
        live: F,
    ) -> Result<bool, StoreError>
    where
        F: Fn(Id) -> Fut,
        Fut: std::future::Future<Output = Result<bool, StoreError>>,
    {
        let mut expected = String::new();
        for _ in 0..3 {
            let holder: String = self
                .write(&claim_index().invocation(
                    &[("index", index.to_string())],
                    &[("id", id.to_string()), ("expected", expected.clone())],
                )?)
                .await?;
            if holder == id {
                return Ok(true);
            }
            let held = match holder.parse::<Id>() {
                Ok(h) => live(h).await?,
                Err(_) => false,
            };
            if held {
                return Ok(false);
            }
            expected = holder;
        }
        Ok(false)
    }

    /// Drops a directory index entry (an email's, an app code's) if it still names `id`.
    pub(crate) async fn unindex(&self, index: String, id: Id) -> Result<(), StoreError> {
        let _: i64 = self
            .write(
                &super::scripts::UNINDEX
                    .invocation(&[("index", index)], &[("id", id.to_string())])?,
            )
            .await?;
        Ok(())
    }
}

fn claim_index() -> &'static LuaScript {
    &super::scripts::CLAIM_INDEX
}

/// A reply as `T`; a reply of another shape is a corrupt record.
pub(crate) fn parse<T: FromRedisValue>(value: Value) -> Result<T, StoreError> {
    redis::from_redis_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A field every record of its kind has.
pub(crate) fn field<'a>(h: &'a HashMap<String, String>, name: &str) -> Result<&'a str, StoreError> {
    h.get(name).map(String::as_str).ok_or_else(|| lacks(name))
}

/// A record without field `name`.
pub(crate) fn lacks(name: &str) -> StoreError {
    StoreError::Corrupt(format!("record lacks field {name}"))
}

/// A time or count field.
pub(crate) fn int(s: &str) -> Result<i64, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt("non-numeric time field".into()))
}

/// An optional text field: empty is none.
pub(crate) fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// A session's authentication from its `at`, `amr` and `created` fields.
pub(crate) fn stored_authentication(
    at: Option<&str>,
    amr: Option<&str>,
    created: Option<&str>,
) -> Result<Authentication, StoreError> {
    let created = int(created.unwrap_or("0"))?;
    let at = at.filter(|a| !a.is_empty()).map(int).transpose()?;
    Ok(Authentication::from_stored(at, amr, created))
}

/// How many parts a long hash value may have: `LONG_PARTS` in `lua/common.lua`, which writes
/// them (a value over `hash-max-listpack-value`, 64 bytes, would turn the whole hash into
/// Redis's larger encoding for good).
pub(crate) const LONG_PARTS: usize = 18;

/// The fields holding a long value's parts: `field`, `field1`, … (`long_args` in
/// `lua/common.lua`).
pub(crate) fn long_names(field: &str) -> Vec<String> {
    std::iter::once(field.to_string())
        .chain((1..LONG_PARTS).map(|i| format!("{field}{i}")))
        .collect()
}

/// A long value from its parts as [`long_names`] lists them: none without its first part.
pub(crate) fn long_joined(parts: &[Option<String>]) -> Option<String> {
    parts.first()?.as_ref()?;
    Some(parts.iter().flatten().map(String::as_str).collect())
}

/// A long value from a whole hash (`HGETALL`).
pub(crate) fn long_field(hash: &HashMap<String, String>, field: &str) -> Option<String> {
    let parts: Vec<Option<String>> = long_names(field)
        .iter()
        .map(|name| hash.get(name).cloned())
        .collect();
    long_joined(&parts)
}

#[cfg(test)]
mod long_value_tests {
    use super::*;

    #[test]
    fn the_scripts_and_the_reader_agree_on_the_parts() {
        let common = super::super::lua::COMMON;
        assert!(common.contains(&format!("local LONG_PARTS = {LONG_PARTS}\n")));
        assert!(common.contains("local LONG_PART = 64\n"));
        let names = long_names("email");
        assert_eq!(names.len(), LONG_PARTS);
        assert_eq!((names[0].as_str(), names[1].as_str()), ("email", "email1"));
    }

    #[test]
    fn parts_join_and_a_missing_first_part_is_no_value() {
        let parts = [Some("ab".to_string()), None, Some("cd".to_string())];
        assert_eq!(long_joined(&parts).as_deref(), Some("abcd"));
        assert_eq!(long_joined(&[None, Some("cd".to_string())]), None);
        // A value written whole before parts existed reads as it was.
        let mut hash = HashMap::new();
        hash.insert("pw".to_string(), "x".repeat(97));
        assert_eq!(long_field(&hash, "pw"), Some("x".repeat(97)));
    }
}
