//! `make bench`'s durability section: what waiting for a replica costs a refresh and a login on
//! a private 3+3 cluster.

use crate::stats::time_interleaved;
use passport::Service;
use passport::kernel::service::ClientInfo;
use passport::kernel::store::RedisStore;
use passport::sessions::LoginInput;
use passport::testing::cluster::LocalCluster;
use passport::testing::{create_account, service_on, test_config};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "bench password, long enough";

/// Refreshes each client makes in the throughput runs (times `BENCH_SCALE`).
const REFRESHES_PER_CLIENT: usize = 300;

/// What waiting for a replica costs (issue 21): on one private cluster of 3 masters with a
/// replica each, refresh and login with `REDIS_REPLICA_ACKS=auto` (each write confirmed by a
/// replica with `WAIT`) beside `0` (the master alone), latency timed alternately, then
/// refreshes per second with 16 clients at once for each, on a connection each and on one.
pub async fn durability_costs(scale: usize) -> Value {
    use passport::kernel::store::durability::ReplicaAcks;
    eprintln!("measuring: durability (a 3+3 cluster, REDIS_REPLICA_ACKS=auto vs 0)");
    let cluster = tokio::task::spawn_blocking(|| LocalCluster::start(3, 1, 1000))
        .await
        .expect("a local 3+3 cluster");
    let urls = cluster.urls();
    let service = |acks| {
        let urls = urls.clone();
        async move {
            let t = Duration::from_secs(2);
            let store = RedisStore::connect(&urls, true, None, t, t)
                .await
                .expect("the cluster connects")
                // 2 s, not the default 0.5: a loaded machine has taken longer for a loopback
                // replica's first acknowledgements (the run then failed here at its first
                // write); the median measured is unaffected.
                .with_durability(acks, Duration::from_millis(2000))
                .await
                .expect("the durability fits the cluster");
            Arc::new(service_on(Arc::new(store), test_config()))
        }
    };
    let (wait, alone) = (
        service(ReplicaAcks::Auto).await,
        service(ReplicaAcks::Count(0)).await,
    );
    assert_eq!(wait.store().durability().replicas, 1);
    // What a browser's session costs the cluster (docs/scale.md measures the same in
    // shared/tests/expiry.rs).
    let memory = passport::testing::memory::memory_per_browser_session(
        &alone,
        &mut passport::testing::redis_at(&urls, true).await,
        "memory@example.com",
    )
    .await;
    create_account(&wait, "durability@example.com", PASSWORD).await;
    let input = || LoginInput::new("durability@example.com", PASSWORD);
    let client = ClientInfo::default();
    let chain = |service: &Arc<Service>| {
        let service = Arc::clone(service);
        let client = client.clone();
        async move {
            let token = service
                .login(input(), &client)
                .await
                .expect("login")
                .refresh_token;
            (service, Arc::new(tokio::sync::Mutex::new(token)))
        }
    };
    let (w, wt) = chain(&wait).await;
    let (a, at) = chain(&alone).await;
    let step = |service: Arc<Service>, token: Arc<tokio::sync::Mutex<String>>| async move {
        let mut t = token.lock().await;
        *t = service.refresh(&t).await.expect("refresh").refresh_token;
    };
    let (refresh_wait, refresh_alone) = time_interleaved(
        200,
        2_000 * scale,
        || step(Arc::clone(&w), Arc::clone(&wt)),
        || step(Arc::clone(&a), Arc::clone(&at)),
    )
    .await;
    let login = |service: &Arc<Service>| {
        let (service, client) = (Arc::clone(service), client.clone());
        async move {
            service.login(input(), &client).await.expect("login");
        }
    };
    let (login_wait, login_alone) =
        time_interleaved(3, 30 * scale, || login(&wait), || login(&alone)).await;
    // Refreshes per second with 16 clients at once, each client logged in before the clock
    // starts: first as `Lambda` runs them, each client on its own connection (an execution
    // environment serves one request at a time, docs.aws.amazon.com/lambda/latest/dg/
    // lambda-concurrency.html, so a `WAIT` there never holds up another request), then as
    // `local-api` does, every client on one shared connection, where each `WAIT` blocks the
    // connection until the replica answers (redis.io/docs/latest/commands/wait/: "blocks the
    // current client"), so the requests queued behind it wait their turn.
    // Beside it, the CPU each node of the account's shard spends per refresh (`INFO cpu`):
    // deployed, the master and its replica run on their own machines, and a shard's capacity
    // is its master's one thread's.
    let account = wait
        .store()
        .account_id("durability@example.com")
        .await
        .expect("the store answers")
        .expect("the account exists");
    let (master, replicas) = cluster
        .shard_of(cluster.slot_of(&format!("{{{account}}}")))
        .expect("the account's shard");
    let replica = *replicas.first().expect("the shard has a replica");
    let mut throughput = Map::new();
    let mut shard_cpu = Map::new();
    let mut shared_connection = Map::new();
    for (name, acks) in [
        ("wait", ReplicaAcks::Auto),
        ("alone", ReplicaAcks::Count(0)),
    ] {
        let mut own = Vec::new();
        for _ in 0..16 {
            own.push(chain(&service(acks).await).await);
        }
        let refreshes = (own.len() * REFRESHES_PER_CLIENT * scale) as f64;
        let before = (node_cpu(master), node_cpu(replica));
        throughput.insert(name.into(), json!(refreshes_per_second(own, scale).await));
        let after = (node_cpu(master), node_cpu(replica));
        shard_cpu.insert(
            name.into(),
            json!({
                "master_us_per_refresh": (after.0 - before.0) * 1e6 / refreshes,
                "replica_us_per_refresh": (after.1 - before.1) * 1e6 / refreshes,
            }),
        );
        let one = service(acks).await;
        let mut shared = Vec::new();
        for _ in 0..16 {
            shared.push(chain(&one).await);
        }
        shared_connection.insert(
            name.into(),
            json!(refreshes_per_second(shared, scale).await),
        );
    }
    drop(cluster);
    json!({
        "refresh_wait": refresh_wait.json(),
        "refresh_alone": refresh_alone.json(),
        "login_wait": login_wait.json(),
        "login_alone": login_alone.json(),
        "refresh_per_second_16_clients": throughput,
        "refresh_per_second_16_clients_one_connection": shared_connection,
        "shard_cpu_per_refresh_16_clients": shard_cpu,
        "memory_per_browser_session": memory,
    })
}

/// The CPU seconds a Redis node has used so far, by its own count (`INFO cpu`: `used_cpu_sys`
/// plus `used_cpu_user`, redis.io/docs/latest/commands/info/).
fn node_cpu(port: u16) -> f64 {
    let info = passport::testing::cluster::cli(port, &["INFO", "cpu"]);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| {
                l.strip_prefix(name)?
                    .strip_prefix(':')?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("INFO cpu without {name}: {info}"))
    };
    field("used_cpu_sys") + field("used_cpu_user")
}

/// Refreshes per second of `clients` (a service and a session's refresh token each), all at
/// once, each refreshing its own session `REFRESHES_PER_CLIENT × scale` times.
async fn refreshes_per_second(
    clients: Vec<(Arc<Service>, Arc<tokio::sync::Mutex<String>>)>,
    scale: usize,
) -> f64 {
    let per_client = REFRESHES_PER_CLIENT * scale;
    let n = clients.len();
    let started = std::time::Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|(service, token)| {
            tokio::spawn(async move {
                for _ in 0..per_client {
                    let mut t = token.lock().await;
                    *t = service.refresh(&t).await.expect("refresh").refresh_token;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("a refreshing client");
    }
    (n * per_client) as f64 / started.elapsed().as_secs_f64()
}
