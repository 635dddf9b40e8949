//! Write confirmation: a write a caller will be told succeeded goes with a wait for the
//! replicas [`Durability`] wants, in one pipeline to the master that runs it. The policy
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
    /// Runs the write `cmd` on `key`'s slot and confirms it, in one pipeline to the slot's
    /// master: `cmd`, a write that always replicates (`pp:{<tag>}:sync`, beside `key`), and
    /// `WAIT`. One round trip. The replication stream is ordered, so once the replicas have the
    /// sync write they have `cmd`'s — and everything else the request read there, even another
    /// connection's write (a replayed rotation, a logout of a session already gone change
    /// nothing and would propagate nothing of their own). `NotReplicated` when too few
    /// confirmed, unless on a cluster the master lists fewer replicas than wanted (its shard
    /// lost one to a failover) and all of those confirmed (`store::durability`).
    ///
    /// A `NOSCRIPT` answer comes back as the error it is (the caller loads the script and
    /// sends again); a cluster connection that fails here (a dead master) is rebuilt in the
    /// background (`connection::Cluster`), the request answers 503, and its retry finds the
    /// promoted replica.
    pub(crate) async fn confirmed<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        key: Option<&[u8]>,
    ) -> Result<T, StoreError> {
        let d: Durability = self.durability;
        let Some(sync) = key.and_then(keys::sync) else {
            return self.run_cmd(cmd).await;
        };
        let slot = slot_of(sync.as_bytes());
        // A shard known to have fewer replicas than wanted (after a failover) is waited on for
        // those it has: a `WAIT` for a replica that is not there would hold every command
        // behind it on this multiplexed connection for the whole timeout. The cluster is read
        // again after the connection was rebuilt (it may be such a failover), and while a
        // shard runs short (to see its replica come back).
        let rebuilds = self.conn.rebuilds();
        if self.degraded.stale(rebuilds) {
            let nodes = self.cluster_nodes(slot).await?;
            self.degraded.remember(&nodes, d.replicas, rebuilds);
        }
        let mut listed = self.degraded.listed(slot);
        if listed == Some(0) {
            return self.run_cmd(cmd).await;
        }
        let wait = listed.map_or(d.replicas, |n| n.min(d.replicas));
        let mut pipe = redis::pipe();
        pipe.add_command(cmd.clone())
            .cmd("SET")
            .arg(&sync)
            .arg(1)
            .arg("PX")
            .arg(1000)
            .ignore()
            .cmd("WAIT")
            .arg(wait)
            .arg(d.timeout.as_millis() as u64);
        let pipe = &pipe;
        let (value, acks): (T, u32) =
            retry_once(
                &self.conn,
                |mut c| async move { pipe.query_async(&mut c).await },
            )
            .await?;
        if d.acknowledged(acks, listed) {
            return Ok(value);
        }
        if let RedisConnection::Cluster(_) = &self.conn {
            let nodes = self.cluster_nodes(slot).await?;
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
            return Ok(value);
        }
        Err(StoreError::NotReplicated {
            acks,
            wanted: d.replicas,
        })
    }

    /// `CLUSTER NODES` as `slot`'s master sees it — the node that has just run the write, and
    /// the one that knows its own replicas first: another node learns of a replica only by
    /// gossip, and until then lists the shard without it (seconds after a cluster or a replica
    /// is added; "Cluster bus" and "Heartbeat packet content" in
    /// redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/). Right after a
    /// failover the client's map may still name the dead master; then any node is asked.
    pub(crate) async fn cluster_nodes(&self, slot: u16) -> Result<String, StoreError> {
        if let Ok(v) = self.conn.on_slot_master(cluster_nodes(), slot).await
            && let Ok(nodes) = redis::from_redis_value::<String>(v)
        {
            return Ok(nodes);
        }
        self.any_cluster_nodes().await
    }

    /// `CLUSTER NODES`, asked of any node.
    pub(crate) async fn any_cluster_nodes(&self) -> Result<String, StoreError> {
        Ok(retry_once(&self.conn, |mut c| async move {
            cluster_nodes().query_async(&mut c).await
        })
        .await?)
    }
}

/// The `CLUSTER NODES` command, asked of one node or another above.
fn cluster_nodes() -> redis::Cmd {
    redis::cmd("CLUSTER").arg("NODES").clone()
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

/// The `CLUSTER NODES` answer last read when a shard had fewer replicas than wanted, for as
/// long as a shard is short: writes on such a shard wait for the replicas it lists, never for
/// one it does not have. While one is short, the cluster is read again at most every
/// [`Degraded::REREAD`], to see a replica rejoin; when none is, the answer is dropped and the
/// next shortfall (a `WAIT` with too few acknowledgements) reads it again. Also remembers the
/// connection's rebuild count when it last looked: after a rebuild (a failover may be under
/// way) the cluster is read again before writes, and at most every `REREAD` for
/// [`Degraded::UNSETTLED`], so that a replica promoted after the rebuild is seen before its
/// writes wait for a replica it does not have.
#[derive(Clone, Default)]
pub(crate) struct Degraded(Arc<Mutex<DegradedSeen>>);

#[derive(Default)]
struct DegradedSeen {
    nodes: Option<Arc<str>>,
    rebuilds: u64,
    read_at: Option<Instant>,
    unsettled_until: Option<Instant>,
}

impl Degraded {
    const UNSETTLED: Duration = Duration::from_secs(10);
    const REREAD: Duration = Duration::from_millis(250);

    fn seen(&self) -> std::sync::MutexGuard<'_, DegradedSeen> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the cluster should be read before this write: the connection was rebuilt since
    /// it was last read; or it was rebuilt lately, or a shard is known short, and the last
    /// read is older than `REREAD`.
    fn stale(&self, rebuilds: u64) -> bool {
        let seen = self.seen();
        let unsettled = seen
            .unsettled_until
            .is_some_and(|until| Instant::now() < until);
        seen.rebuilds != rebuilds
            || ((unsettled || seen.nodes.is_some())
                && seen.read_at.is_none_or(|at| at.elapsed() >= Self::REREAD))
    }

    /// The replicas listed for `slot`'s master, while a shard is known short.
    fn listed(&self, slot: u16) -> Option<u32> {
        let nodes = self.seen().nodes.clone()?;
        owner_replicas(&nodes, slot)
    }

    /// Keeps `nodes` when some master there lists fewer than `wanted` replicas. Forgets the
    /// answer kept only when `nodes` shows each master that was short as a master with its
    /// replicas again: right after a failover the nodes do not all know it yet, and one whose
    /// view is behind (the promoted replica still a replica) must not erase what another said.
    fn remember(&self, nodes: &str, wanted: u32, rebuilds: u64) {
        let shards = cluster_shards(nodes);
        let short = shards.iter().any(|(_, n)| *n < wanted);
        let mut seen = self.seen();
        let now = Instant::now();
        let whole_again = |kept: &str| {
            cluster_shards(kept)
                .iter()
                .filter(|(_, n)| *n < wanted)
                .all(|(id, _)| shards.iter().any(|(i, n)| i == id && *n >= wanted))
        };
        if short || seen.nodes.as_deref().is_none_or(whole_again) {
            seen.nodes = short.then(|| Arc::from(nodes));
        }
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
    fn a_short_shard_is_remembered_until_a_view_shows_it_whole() {
        let promoted = "\
m1 127.0.0.1:7101@17101 myself,master - 0 1 1 connected 0-5460
r1 127.0.0.1:7104@17104 slave m1 0 1 1 connected
m2 127.0.0.1:7102@17102 master - 0 1 2 connected 5461-10922
r2 127.0.0.1:7105@17105 slave m2 0 1 2 connected
old 127.0.0.1:7103@17103 master,fail - 0 1 3 disconnected
r3 127.0.0.1:7106@17106 master - 0 1 4 connected 10923-16383
";
        // Another node, behind: the dead master still serves, its replica still a replica.
        let behind = "\
m1 127.0.0.1:7101@17101 master - 0 1 1 connected 0-5460
r1 127.0.0.1:7104@17104 slave m1 0 1 1 connected
m2 127.0.0.1:7102@17102 myself,master - 0 1 2 connected 5461-10922
r2 127.0.0.1:7105@17105 slave m2 0 1 2 connected
old 127.0.0.1:7103@17103 master,fail? - 0 1 3 connected 10923-16383
r3 127.0.0.1:7106@17106 slave old 0 1 3 connected
";
        let rejoined = format!("{promoted}r4 127.0.0.1:7107@17107 slave r3 0 1 4 connected\n");
        let d = Degraded::default();
        d.remember(promoted, 1, 0);
        assert_eq!(d.listed(12000), Some(0));
        d.remember(behind, 1, 0);
        assert_eq!(d.listed(12000), Some(0), "a view behind erases nothing");
        d.remember(&rejoined, 1, 0);
        assert_eq!(d.listed(12000), None, "whole again: nothing kept");
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
