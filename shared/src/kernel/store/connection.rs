//! The one Redis connection a process holds: a single node's connection manager or a cluster
//! client, both multiplexed and reconnecting by themselves, and the rule for retrying once.
//!
//! A Lambda process is frozen between invocations with this connection open; when it thaws,
//! the server may have closed it. The first command then fails as "connection dropped" (or
//! the write fails outright); the connection is re-established and the command is sent again,
//! once. Timeouts are not retried: a command that timed out may still run, and the caller
//! must answer within the response timeout.

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::{
    Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, ServerErrorKind, Value,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The user and password of the cache's access control (an ElastiCache user), read from
/// Secrets Manager at start — never from a plaintext environment variable. `Debug` shows the
/// user only.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisCredentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for RedisCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::kernel::redact::shown(f, "RedisCredentials", &[("username", &self.username)])
    }
}

/// A connection to one node or to a cluster, cheap to clone (clones share the sockets).
#[derive(Clone)]
pub enum RedisConnection {
    /// A single node (or a proxy that looks like one).
    Node(ConnectionManager),
    /// A Redis Cluster: commands go to the node that owns their keys' slot.
    Cluster(Arc<Cluster>),
}

/// A cluster client whose connection (and slot map) is made anew when the cluster has changed
/// under it.
///
/// After a master dies, redis-rs 1.8 keeps sending that slot's commands to the dead address:
/// a refused connection makes it reconnect to the same node, and it refreshes its slot map
/// only on a `MOVED` it can still follow within its retries. So the store rebuilds the
/// connection itself — from the seed nodes, which then report the promoted replica — when a
/// command fails in a way that may mean the map is stale: a connection error, a timeout, or
/// a redirection or `CLUSTERDOWN` handed back. At most one rebuild runs at a time, and at most
/// one starts per [`Cluster::REBUILD_EVERY`]; requests meanwhile go on the current
/// connection.
pub struct Cluster {
    client: ClusterClient,
    current: RwLock<ClusterConnection>,
    rebuilding: AtomicBool,
    last_rebuild: Mutex<Option<Instant>>,
    rebuilds: AtomicU64,
}

impl Cluster {
    /// The shortest time between two rebuilds of the connection.
    pub const REBUILD_EVERY: Duration = Duration::from_millis(250);

    fn connection(&self) -> ClusterConnection {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Starts a rebuild in the background when `result` failed as a stale map would.
    fn after<T>(self: &Arc<Self>, result: &RedisResult<T>) {
        let Err(e) = result else { return };
        if !map_may_be_stale(e) {
            return;
        }
        {
            let mut last = self
                .last_rebuild
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < Self::REBUILD_EVERY)
                || self.rebuilding.swap(true, Ordering::AcqRel)
            {
                return;
            }
            *last = Some(Instant::now());
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            match this.client.get_async_connection().await {
                Ok(fresh) => {
                    *this
                        .current
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
                    this.rebuilds.fetch_add(1, Ordering::AcqRel);
                    tracing::warn!("redis cluster connection rebuilt after a failure");
                }
                Err(e) => tracing::warn!(error = %e, "redis cluster connection rebuild failed"),
            }
            this.rebuilding.store(false, Ordering::Release);
        });
    }
}

impl RedisConnection {
    /// `cmd` on the master serving `slot` as the client's slot map has it (one node: that
    /// node). A failure that may mean a stale map starts a rebuild, as any command's does.
    pub async fn on_slot_master(&self, cmd: redis::Cmd, slot: u16) -> RedisResult<redis::Value> {
        use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
        match self {
            Self::Node(m) => cmd.query_async(&mut m.clone()).await,
            Self::Cluster(c) => {
                let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(
                    Route::new(slot, SlotAddr::Master),
                ));
                let result = c.connection().route_command(cmd, route).await;
                c.after(&result);
                result
            }
        }
    }

    /// How many times the cluster connection has been rebuilt (always 0 on one node): when it
    /// changes, the cluster may have changed shape.
    pub fn rebuilds(&self) -> u64 {
        match self {
            Self::Node(_) => 0,
            Self::Cluster(c) => c.rebuilds.load(Ordering::Acquire),
        }
    }
}

/// Whether `e` may come from a slot map that no longer matches the cluster.
fn map_may_be_stale(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::Moved
                        | ServerErrorKind::Ask
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        )
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Node(_) => "RedisConnection::Node",
            Self::Cluster(_) => "RedisConnection::Cluster",
        })
    }
}

impl RedisConnection {
    /// Connects to `urls` (one `redis://`/`rediss://` URL, or with `cluster` a comma-separated
    /// list of seed nodes), with the given timeouts, as `credentials`' user when given.
    pub async fn open(
        urls: &str,
        cluster: bool,
        credentials: Option<&RedisCredentials>,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> RedisResult<Self> {
        if cluster {
            let nodes: Vec<&str> = urls.split(',').map(str::trim).collect();
            let mut builder = ClusterClientBuilder::new(nodes)
                .connection_timeout(connect_timeout)
                .response_timeout(response_timeout)
                .retries(1);
            if let Some(c) = credentials {
                builder = builder.username(&c.username).password(&c.password);
            }
            let client = builder.build()?;
            let current = RwLock::new(client.get_async_connection().await?);
            Ok(Self::Cluster(Arc::new(Cluster {
                client,
                current,
                rebuilding: AtomicBool::new(false),
                last_rebuild: Mutex::new(None),
                rebuilds: AtomicU64::new(0),
            })))
        } else {
            let mut info = redis::IntoConnectionInfo::into_connection_info(urls)?;
            if let Some(c) = credentials {
                let settings = info
                    .redis_settings()
                    .clone()
                    .set_username(&c.username)
                    .set_password(&c.password);
                info = info.set_redis_settings(settings);
            }
            let client = redis::Client::open(info)?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(connect_timeout))
                .set_response_timeout(Some(response_timeout))
                .set_number_of_retries(1);
            Ok(Self::Node(
                ConnectionManager::new_with_config(client, config).await?,
            ))
        }
    }
}

/// Whether `e` means the command never reached a live connection, so sending it again is the
/// only way to get an answer (and safe for the operations the store retries).
pub fn worth_one_retry(e: &RedisError) -> bool {
    !e.is_timeout() && (e.is_connection_dropped() || e.is_io_error() || e.is_connection_refusal())
}

/// Runs `op` on a clone of `conn`, and once more if the first try failed on a dropped
/// connection. Only for operations whose second run, after a first that did run, changes
/// nothing the caller can tell apart (reads, and scripts written to be idempotent).
pub async fn retry_once<T, F, Fut>(conn: &RedisConnection, op: F) -> RedisResult<T>
where
    F: Fn(RedisConnection) -> Fut,
    Fut: Future<Output = RedisResult<T>>,
{
    match op(conn.clone()).await {
        Err(e) if worth_one_retry(&e) => {
            tracing::warn!(error = %e, "redis connection dropped; retrying once");
            op(conn.clone()).await
        }
        other => other,
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => {
                let c = Arc::clone(c);
                Box::pin(async move {
                    let result = c.connection().req_packed_command(cmd).await;
                    c.after(&result);
                    result
                })
            }
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Node(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => {
                let c = Arc::clone(c);
                Box::pin(async move {
                    let result = c
                        .connection()
                        .req_packed_commands(pipeline, offset, count)
                        .await;
                    c.after(&result);
                    result
                })
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(c) => c.get_db(),
            Self::Cluster(c) => c.connection().get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connection_failures_are_retried() {
        let dropped = RedisError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(worth_one_retry(&dropped));
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(worth_one_retry(&refused));
        let timeout = RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert!(!worth_one_retry(&timeout));
        let script = RedisError::from((redis::ErrorKind::Client, "bad script"));
        assert!(!worth_one_retry(&script));
    }
}
