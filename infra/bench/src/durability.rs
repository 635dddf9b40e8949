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
/// The rounds those are made in, alternating between the two settings.
const ROUNDS: usize = 6;

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
    // Both settings' clients made first, then run in alternating rounds (the order swapped
    // each round), so that whatever else the machine does meanwhile weighs on both alike:
    // run one after the other, the ratio moved between 0.48 and 1.23 with what shared the
    // two cores.
    let settings = [
        ("wait", ReplicaAcks::Auto),
        ("alone", ReplicaAcks::Count(0)),
    ];
    let mut clients = Vec::new();
    for (_, acks) in settings {
        let mut own = Vec::new();
        for _ in 0..16 {
            own.push(chain(&service(acks).await).await);
        }
        let one = service(acks).await;
        let mut shared = Vec::new();
        for _ in 0..16 {
            shared.push(chain(&one).await);
        }
        clients.push((own, shared));
    }
    let per_round = REFRESHES_PER_CLIENT * scale / ROUNDS;
    let mut tally = [Tally::default(), Tally::default()];
    for round in 0..ROUNDS {
        for i in [round % 2, 1 - round % 2] {
            let (own, shared) = &clients[i];
            let t = &mut tally[i];
            let before = (node_cpu(master), node_cpu(replica), node_calls(master));
            let (n, seconds) = refresh_at_once(own, per_round).await;
            let after = (node_cpu(master), node_cpu(replica), node_calls(master));
            t.own.0 += n;
            t.own.1 += seconds;
            t.master += after.0 - before.0;
            t.replica += after.1 - before.1;
            for (command, calls) in after.2 {
                *t.commands.entry(command.clone()).or_default() +=
                    calls - before.2.get(&command).copied().unwrap_or(0);
            }
            let (n, seconds) = refresh_at_once(shared, per_round).await;
            t.shared.0 += n;
            t.shared.1 += seconds;
        }
    }
    let mut throughput = Map::new();
    let mut shard_cpu = Map::new();
    let mut shared_connection = Map::new();
    for ((name, _), t) in settings.iter().zip(&tally) {
        let n = t.own.0;
        throughput.insert((*name).into(), json!(n / t.own.1));
        shared_connection.insert((*name).into(), json!(t.shared.0 / t.shared.1));
        let commands: Map<String, Value> = t
            .commands
            .iter()
            .filter(|(_, calls)| **calls > 0)
            .map(|(c, calls)| (c.clone(), json!(*calls as f64 / n)))
            .collect();
        shard_cpu.insert(
            (*name).into(),
            json!({
                "master_us_per_refresh": t.master * 1e6 / n,
                "replica_us_per_refresh": t.replica * 1e6 / n,
                "master_commands_per_refresh": commands,
            }),
        );
    }
    let floor = crate::wait_floor::wait_floor(master, &account.to_string(), node_cpu).await;
    drop(cluster);
    json!({
        "wait_floor": floor,
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

/// The commands a Redis node has run so far, by name (`INFO commandstats`: `calls`).
fn node_calls(port: u16) -> std::collections::BTreeMap<String, u64> {
    let info = passport::testing::cluster::cli(port, &["INFO", "commandstats"]);
    info.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_string(), calls))
        })
        .collect()
}

/// One setting's throughput rounds, added up: refreshes and seconds with a connection per
/// client and with one shared; the shard's CPU and the master's commands for the first.
#[derive(Default)]
struct Tally {
    own: (f64, f64),
    shared: (f64, f64),
    master: f64,
    replica: f64,
    commands: std::collections::BTreeMap<String, u64>,
}

/// `clients` (a service and a session's refresh token each) all at once, each refreshing its
/// own session `per_client` times: the refreshes made, and the seconds they took.
async fn refresh_at_once(
    clients: &[(Arc<Service>, Arc<tokio::sync::Mutex<String>>)],
    per_client: usize,
) -> (f64, f64) {
    let started = std::time::Instant::now();
    let tasks: Vec<_> = clients
        .iter()
        .map(|(service, token)| {
            let (service, token) = (Arc::clone(service), Arc::clone(token));
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
    (
        (clients.len() * per_client) as f64,
        started.elapsed().as_secs_f64(),
    )
}
