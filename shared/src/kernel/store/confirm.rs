//! Write confirmation: after a write a caller will be told succeeded, the store waits for the
//! replicas [`Durability`] wants, in one pipeline to the master that ran the write. The policy
//! (how many, and the rule when a shard has fewer) is `durability`'s; this is the mechanism:
//! the sync write and `WAIT`, the cluster's listing of each master's replicas (`CLUSTER
//! NODES`), the hash slot of a key, and the listing kept while a shard runs short.

use super::connection::{RedisConnection, retry_once};
use super::durability::Durability;
use super::keys;
use super::redis::RedisStore;
use crate::kernel::error::StoreError;
use redis::ScriptInvocation;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

impl RedisStore {
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
    pub(crate) async fn confirm(&self, key: Option<&[u8]>) -> Result<(), StoreError> {
        let d: Durability = self.durability;
        let Some(sync) = key.and_then(keys::sync) else {
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
    pub(crate) async fn cluster_nodes(&self) -> Result<String, StoreError> {
        Ok(retry_once(&self.conn, |mut c| async move {
            redis::cmd("CLUSTER").arg("NODES").query_async(&mut c).await
        })
        .await?)
    }
}

/// The replicas (not flagged `fail`) of the master serving `slot`, in a `CLUSTER NODES` answer.
pub(crate) fn owner_replicas(nodes: &str, slot: u16) -> Option<u32> {
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
pub(crate) struct Degraded(Arc<Mutex<DegradedSeen>>);

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
pub(crate) fn script_cmd(script: &ScriptInvocation<'_>) -> redis::Cmd {
    let mut pipe = redis::pipe();
    pipe.invoke_script(script);
    pipe.cmd_iter()
        .next()
        .cloned()
        .unwrap_or_else(redis::Cmd::new)
}

/// The first key of `cmd`: the hash slot it runs on.
pub(crate) fn first_key(cmd: &redis::Cmd) -> Option<Vec<u8>> {
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

/// has not flagged `fail`. (`CLUSTER SLOTS` would not do: it leaves out a replica whose
/// replication offset is still 0, as on a cluster that has taken no write yet.)
pub(crate) fn cluster_shards(nodes: &str) -> Vec<(String, u32)> {
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
}
