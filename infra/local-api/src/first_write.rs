//! The start's first write (publishing the public keys), waiting for replicas that do not
//! confirm writes yet. A cluster started a moment before `local-api` has replicas still in
//! their first full sync, which acknowledge no write until it ends (Redis's replication:
//! https://redis.io/docs/latest/operate/oss_and_stack/management/replication/ — a replica
//! serves and acknowledges the stream only once it has loaded the master's snapshot); with
//! `REDIS_REPLICA_ACKS` asking for them, those writes are refused. A function on AWS fails its
//! start and is retried; a person running `local-api` is better served by a wait and a word.

use passport::{Service, StoreError};
use std::time::{Duration, Instant};

/// How long the start waits for replicas to confirm its first write.
pub const REPLICAS_WAIT: Duration = Duration::from_secs(60);

/// Publishes the public keys, trying again while the store's replicas do not confirm the write,
/// for at most `patience`; says on standard error that it waits, and, if it gives up, what to do.
pub async fn publish_keys(service: &Service, patience: Duration) -> Result<(), String> {
    let started = Instant::now();
    let mut said = false;
    loop {
        match service.publish_keys().await {
            Ok(()) => return Ok(()),
            Err(e @ StoreError::NotReplicated { .. }) if started.elapsed() < patience => {
                if !said {
                    eprintln!(
                        "local-api: {e}: waiting up to {} s for the replicas (one may still be \
                         in its first sync)",
                        patience.as_secs()
                    );
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e @ StoreError::NotReplicated { .. }) => {
                return Err(format!(
                    "cannot publish the public keys: {e} for {} s: is a replica down or still \
                     syncing? REDIS_REPLICA_ACKS=0 starts without waiting for replicas",
                    patience.as_secs()
                ));
            }
            Err(e) => return Err(format!("cannot publish the public keys: {e}")),
        }
    }
}
