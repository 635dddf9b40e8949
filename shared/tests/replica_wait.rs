//! Confirmed writes on a cluster with a replica per master (`REDIS_REPLICA_ACKS=auto`): the
//! write, a sync write and `WAIT` go in one pipeline (`store::confirm`), so a script the node
//! has not cached comes back as `NOSCRIPT` inside it; the store loads it and sends the write
//! again (issue 38). On a private 3+3 cluster started here.
#![allow(clippy::unwrap_used)]

use passport::api::Store;
use passport::kernel::config::ReplicaAcks;
use passport::kernel::service::ClientInfo;
use passport::kernel::store::RedisStore;
use passport::sessions::LoginInput;
use passport::testing::cluster::{LocalCluster, cli};
use passport::testing::{create_account, service_on, test_config};
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "a password confirmed by a replica";

#[tokio::test]
async fn confirmed_writes_survive_a_flushed_script_cache() {
    let cluster = tokio::task::spawn_blocking(|| LocalCluster::start(3, 1, 1000))
        .await
        .unwrap();
    let timeout = Duration::from_secs(2);
    let store = RedisStore::connect(&cluster.urls(), true, None, timeout, timeout)
        .await
        .unwrap()
        .with_durability(ReplicaAcks::Auto, Duration::from_millis(1000))
        .await
        .unwrap();
    assert_eq!(store.durability().replicas, 1);
    let service = service_on(Arc::new(store) as Arc<dyn Store>, test_config());
    create_account(&service, "replica-wait@example.com", PASSWORD).await;
    let input = || LoginInput::new("replica-wait@example.com", PASSWORD);
    let mut pair = service
        .login(input(), &ClientInfo::default())
        .await
        .unwrap();
    for round in 0..3 {
        // Every node forgets every script (as a restarted or promoted node has not seen them).
        for node in &cluster.nodes {
            assert_eq!(
                cli(node.port, &["SCRIPT", "FLUSH"]).trim(),
                "OK",
                "round {round}"
            );
        }
        pair = service.refresh(&pair.refresh_token).await.unwrap();
        service
            .login(input(), &ClientInfo::default())
            .await
            .unwrap();
    }
    service.refresh(&pair.refresh_token).await.unwrap();
}
