//! `local-api` against a cluster one of whose replicas confirms no write yet — what a replica
//! still in its first sync does just after the cluster starts; here it is paused for as long —
//! with `REDIS_REPLICA_ACKS=auto`: the start waits for it and then serves, where it used to
//! exit with "write not confirmed by enough replicas (0 of 1)" (issue 38).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Http, start};
use http::{Method, StatusCode};
use passport::testing::cluster::LocalCluster;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_waits_for_a_replica_that_confirms_no_write_yet() {
    // A long node timeout: the paused replica stays a member (not failed) meanwhile.
    let mut cluster = tokio::task::spawn_blocking(|| LocalCluster::start(3, 1, 15_000))
        .await
        .unwrap();
    // The start's first write: the public keys' document, on this shard.
    let (_, replicas) = cluster
        .shard_of(cluster.slot_of("pp:{keys}:public"))
        .unwrap();
    let replica = replicas[0];
    cluster.pause(replica);
    let urls = cluster.urls();
    let starting = std::thread::spawn(move || {
        start(
            &[],
            &[
                ("REDIS_URL", urls.as_str()),
                ("REDIS_CLUSTER", "true"),
                ("REDIS_REPLICA_ACKS", "auto"),
            ],
        )
    });
    // Long enough for a write or two to go unconfirmed (each waits 500 ms for its replica).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !starting.is_finished(),
        "local-api finished starting (or exited) while its replica confirmed nothing"
    );
    cluster.resume(replica);
    let api = tokio::task::spawn_blocking(move || starting.join())
        .await
        .unwrap()
        .expect("local-api serves once the replica confirms its writes");
    let (status, _, _) = Http::new(&api.base)
        .call(Method::GET, "/", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}
