//! Replica acknowledgement of writes: what the store promises about an acknowledged write when a
//! node is lost, how many replicas must confirm a write, and the rule when fewer do.
//!
//! Redis replication is asynchronous: a master answers a write before any replica has it, and a
//! failover promotes a replica that may lack the last writes ("Redis uses asynchronous
//! replication … a master does not wait every time for a command to be processed by the
//! replicas", redis.io/docs/latest/operate/oss_and_stack/management/replication/; Redis Cluster
//! "is not able to guarantee strong consistency … it can lose writes that were acknowledged",
//! redis.io/docs/latest/operate/oss_and_stack/management/scaling/). `WAIT numreplicas timeout`
//! "blocks the current client until all the previous write commands are successfully
//! transferred and acknowledged by at least the number of replicas specified"
//! (redis.io/docs/latest/commands/wait/). `WAIT` counts the replication offset of the
//! connection's last write, and on a cluster it must go to the node that ran the write. So after
//! each write the store sends, in one pipeline, a small write of its own beside the written key
//! (`pp:{<tag>}:sync`, same hash slot, so the pipeline goes to that slot's master) and `WAIT`.
//! The replication stream is ordered: a replica that has the sync write has the write before it,
//! and anything the request read there (`RedisStore::confirm`).
//!
//! When fewer replicas confirm than wanted, the write is not acknowledged: the request fails
//! retryably (503), and every write is idempotent or safe to retry whichever node ends up master
//! (ARCHITECTURE.md, "Durability"). One exception keeps a shard writable after a failover: on a
//! cluster, when the cluster's own topology (`CLUSTER NODES`, leaving out replicas flagged
//! `fail`) shows the write's master with fewer replicas than wanted — the shard lost its replica
//! and runs on one node until a new replica joins — the write is acknowledged once every listed
//! replica confirmed it. A replica whose replication link broke is still listed, so a broken
//! link never relaxes the rule.
//!
//! `auto` (the default) decides at start: one replica when every master has one, none
//! otherwise — a single `redis-server` for local use, or ElastiCache Serverless, which shows
//! one virtual shard without replicas (docs/scale.md).

pub use crate::kernel::config::ReplicaAcks;
use std::fmt;
use std::time::Duration;

/// The durability a store runs with, decided at start from the setting and what the store
/// reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durability {
    /// Replicas that must confirm each write before it is acknowledged (0: none).
    pub replicas: u32,
    /// How long a write waits for them.
    pub timeout: Duration,
    /// What the store reported at start.
    pub seen: Topology,
}

/// The replicas a store reported at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// The in-memory store: one process.
    Memory,
    /// One Redis node with this many connected replicas.
    Node {
        /// Replicas connected to it.
        replicas: u32,
    },
    /// A Redis Cluster.
    Cluster {
        /// Masters (shards) serving slots.
        shards: u32,
        /// The fewest replicas any of them has.
        min_replicas: u32,
    },
}

impl Topology {
    /// The fewest replicas any master has.
    pub fn min_replicas(self) -> u32 {
        match self {
            Topology::Memory => 0,
            Topology::Node { replicas } => replicas,
            Topology::Cluster { min_replicas, .. } => min_replicas,
        }
    }
}

/// The setting does not fit the store: more acknowledgements asked for than replicas exist.
#[derive(Debug, thiserror::Error)]
#[error(
    "REDIS_REPLICA_ACKS={wanted}, but the store reports {seen}: every write would fail. \
     Give the cache replicas, or set REDIS_REPLICA_ACKS=auto (waits for one replica where every \
     master has one) or 0 (no wait: a failover may lose the last acknowledged writes)"
)]
pub struct Mismatch {
    /// The setting.
    pub wanted: u32,
    /// What the store has.
    pub seen: Topology,
}

impl From<Mismatch> for crate::kernel::error::StoreError {
    fn from(m: Mismatch) -> Self {
        Self::Durability(m.to_string())
    }
}

impl Durability {
    /// Decides the durability from the setting and the store's topology at start.
    pub fn decide(
        setting: ReplicaAcks,
        timeout: Duration,
        seen: Topology,
    ) -> Result<Self, Mismatch> {
        let replicas = match setting {
            ReplicaAcks::Auto => seen.min_replicas().min(1),
            ReplicaAcks::Count(n) if n > seen.min_replicas() => {
                return Err(Mismatch { wanted: n, seen });
            }
            ReplicaAcks::Count(n) => n,
        };
        Ok(Self {
            replicas,
            timeout,
            seen,
        })
    }

    /// No wait: the in-memory store, or a test's Redis.
    pub fn none(seen: Topology) -> Self {
        Self {
            replicas: 0,
            timeout: Duration::ZERO,
            seen,
        }
    }

    /// Whether `acks` confirmations acknowledge a write whose master has `listed` replicas in
    /// the cluster's topology (`None`: not asked, or a single node, where the rule is strict).
    pub fn acknowledged(&self, acks: u32, listed: Option<u32>) -> bool {
        acks >= self.replicas || listed.is_some_and(|listed| acks >= listed)
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topology::Memory => f.write_str("one process's memory"),
            Topology::Node { replicas } => write!(f, "one node with {replicas} replica(s)"),
            Topology::Cluster {
                shards,
                min_replicas,
            } => write!(
                f,
                "a cluster of {shards} shard(s), the fewest replicas of any being {min_replicas}"
            ),
        }
    }
}

impl fmt::Display for Durability {
    /// The start-up line: what an acknowledged write survives.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.seen, self.replicas) {
            (Topology::Memory, _) => f.write_str(
                "in memory: nothing survives a restart of this process (set REDIS_URL for Redis)",
            ),
            (seen, 0) => write!(
                f,
                "writes acknowledged by the master alone ({seen}): a failover or a restart may \
                 lose the last acknowledged writes"
            ),
            (seen, n) => write!(
                f,
                "each write confirmed by {n} replica(s) within {} ms before it is acknowledged \
                 ({seen}): an acknowledged write survives the loss of any one node",
                self.timeout.as_millis()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_millis(200);

    #[test]
    fn auto_waits_for_one_replica_where_every_master_has_one() {
        let cluster = |min_replicas| Topology::Cluster {
            shards: 3,
            min_replicas,
        };
        let d = |setting, seen| Durability::decide(setting, T, seen).map(|d| d.replicas);
        assert_eq!(d(ReplicaAcks::Auto, cluster(1)).unwrap(), 1);
        assert_eq!(d(ReplicaAcks::Auto, cluster(2)).unwrap(), 1);
        assert_eq!(d(ReplicaAcks::Auto, cluster(0)).unwrap(), 0);
        assert_eq!(
            d(ReplicaAcks::Auto, Topology::Node { replicas: 0 }).unwrap(),
            0
        );
        assert_eq!(d(ReplicaAcks::Count(2), cluster(2)).unwrap(), 2);
        assert_eq!(d(ReplicaAcks::Count(0), cluster(2)).unwrap(), 0);
        let err = d(ReplicaAcks::Count(1), Topology::Node { replicas: 0 }).unwrap_err();
        assert!(err.to_string().contains("REDIS_REPLICA_ACKS=1"), "{err}");
    }

    #[test]
    fn fewer_acks_count_only_when_the_topology_lists_fewer_replicas() {
        let d =
            Durability::decide(ReplicaAcks::Count(1), T, Topology::Node { replicas: 1 }).unwrap();
        assert!(d.acknowledged(1, None));
        assert!(!d.acknowledged(0, None));
        // A replica whose link broke is still listed: no relaxation.
        assert!(!d.acknowledged(0, Some(1)));
        // The shard lost its replica to a failover: it runs on one node.
        assert!(d.acknowledged(0, Some(0)));
    }

    #[test]
    fn parses_the_setting() {
        assert_eq!(ReplicaAcks::parse("auto"), Some(ReplicaAcks::Auto));
        assert_eq!(ReplicaAcks::parse(" AUTO "), Some(ReplicaAcks::Auto));
        assert_eq!(ReplicaAcks::parse("2"), Some(ReplicaAcks::Count(2)));
        assert_eq!(ReplicaAcks::parse("-1"), None);
        assert_eq!(ReplicaAcks::parse("one"), None);
    }

    #[test]
    fn the_start_line_says_what_survives() {
        let one = Durability::decide(
            ReplicaAcks::Auto,
            T,
            Topology::Cluster {
                shards: 3,
                min_replicas: 1,
            },
        )
        .unwrap();
        assert!(
            one.to_string()
                .contains("survives the loss of any one node")
        );
        let none =
            Durability::decide(ReplicaAcks::Auto, T, Topology::Node { replicas: 0 }).unwrap();
        assert!(
            none.to_string()
                .contains("may lose the last acknowledged writes")
        );
    }
}
