//! The floor under the replica wait's cost: what `WAIT` adds to the leanest write a master can
//! confirm — one `HSET`, then `WAIT 1`, in one pipeline, as Passport sends its writes — on the
//! same shard master as Passport's refreshes, with the same 16 clients each on its own
//! connection. Whatever Passport's own refresh costs, confirming it cannot cost the master
//! less than this: the blocked client, the `REPLCONF GETACK` each event-loop round sends the
//! replicas, their `ACK`s read back (redis.io/docs/latest/commands/wait/).

use serde_json::{Value, json};

/// Writes each client makes per round.
const WRITES_PER_ROUND: usize = 500;
/// Rounds, alternating between the write alone and the write with `WAIT`.
const ROUNDS: usize = 6;
/// Clients at once, each on its own connection.
const CLIENTS: usize = 16;

/// The write alone and the write with `WAIT 1` on `master` (a cluster node's port), keys under
/// `tag` (a hash tag the node serves): writes per second and the master's CPU per write.
pub async fn wait_floor(master: u16, tag: &str, cpu: impl Fn(u16) -> f64) -> Value {
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{master}")).expect("the master's address");
    let mut connections = Vec::new();
    for _ in 0..CLIENTS {
        connections.push(
            client
                .get_multiplexed_async_connection()
                .await
                .expect("a connection to the master"),
        );
    }
    // (writes, seconds, master CPU seconds) for the write alone, then with the wait.
    let mut tally = [(0.0, 0.0, 0.0); 2];
    for round in 0..ROUNDS {
        for waits in [round % 2 == 1, round % 2 == 0] {
            let before = cpu(master);
            let started = std::time::Instant::now();
            let tasks: Vec<_> = connections
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut c = c.clone();
                    let key = format!("pp:{{{tag}}}:floor:{i}");
                    tokio::spawn(async move {
                        for j in 0..WRITES_PER_ROUND {
                            let mut pipe = redis::pipe();
                            pipe.cmd("HSET").arg(&key).arg("f").arg(j).ignore();
                            if waits {
                                pipe.cmd("WAIT").arg(1).arg(2000).ignore();
                            }
                            let () = pipe.query_async(&mut c).await.expect("the write");
                        }
                        let () = redis::cmd("DEL")
                            .arg(&key)
                            .query_async(&mut c)
                            .await
                            .expect("the clean-up");
                    })
                })
                .collect();
            for t in tasks {
                t.await.expect("a writing client");
            }
            let t = &mut tally[usize::from(waits)];
            t.0 += (CLIENTS * WRITES_PER_ROUND) as f64;
            t.1 += started.elapsed().as_secs_f64();
            t.2 += cpu(master) - before;
        }
    }
    let [alone, wait] = tally.map(|(n, seconds, cpu)| {
        json!({ "per_second": n / seconds, "master_us_per_write": cpu * 1e6 / n })
    });
    json!({ "alone": alone, "wait": wait })
}
