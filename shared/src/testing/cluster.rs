//! A private Redis Cluster on loopback for tests and benchmarks: masters with replicas, real
//! `redis-server` processes, and the faults a failover test needs (a replica's replication link
//! broken, a master killed).
//!
//! Redis Cluster's failover, as its specification describes it
//! (redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/): a master unreachable
//! for `cluster-node-timeout` is flagged `PFAIL`, then `FAIL` once a majority of masters agree;
//! its replica then waits `500 ms + random(0..500 ms) + rank × 1 s` and asks the masters for
//! votes. A replica is promoted with whatever its replication stream had delivered: writes the
//! master acknowledged after the stream broke are lost. A replica that is merely stopped still
//! reads its socket when it resumes and catches up, so losing the tail takes a broken link
//! (`CLIENT KILL TYPE replica` on the master while the replica is stopped, so that it cannot
//! reconnect before the master dies).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `redis-server` of the cluster.
#[derive(Debug)]
pub struct Node {
    /// Its client port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
}

/// A running cluster; every server is killed and its directory removed on drop.
#[derive(Debug)]
pub struct LocalCluster {
    /// Every node, masters first as created.
    pub nodes: Vec<Node>,
    dir: PathBuf,
}

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// Node id.
    pub id: String,
    /// Client port.
    pub port: u16,
    /// Flags (`master`, `slave`, `fail`, `myself`, …).
    pub flags: Vec<String>,
    /// The master's id, for a replica.
    pub master: Option<String>,
    /// Slot ranges served (`a-b` or `a`), for a master.
    pub slots: Vec<(u16, u16)>,
}

fn free_port() -> u16 {
    #[allow(clippy::expect_used)]
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `redis-cli -p port args…`, its standard output.
///
/// # Panics
/// If `redis-cli` cannot be run (`make test` installs it).
pub fn cli(port: u16, args: &[&str]) -> String {
    #[allow(clippy::expect_used)]
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli must be installed: run the tests with `make test`");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Starts cluster node `i` in `dir` on free ports, and waits until it answers `PING`. A port
/// found free can be taken before the server binds it (by any connection's ephemeral port, in a
/// busy test run): the server then exits, and the node is started again on other ports.
///
/// # Panics
/// If `redis-server` cannot be run, or the node does not come up in five tries.
fn spawn_node(dir: &std::path::Path, i: usize, node_timeout_ms: u64) -> Node {
    let config = format!("nodes-{i}.conf");
    let log = dir.join(format!("node-{i}.log"));
    for _ in 0..5 {
        let _ = std::fs::remove_file(dir.join(&config));
        let (port, bus) = (free_port(), free_port());
        #[allow(clippy::expect_used)]
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                &bus.to_string(),
            ])
            .args(["--cluster-node-timeout", &node_timeout_ms.to_string()])
            .args(["--cluster-config-file", &config])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(
                std::fs::File::create(&log)
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed: run the tests with `make test`");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if cli(port, &["PING"]) == "PONG" {
                return Node {
                    port,
                    child: Some(child),
                };
            }
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    let tail: Vec<&str> = said.lines().rev().take(5).collect();
    panic!("local cluster: node {i} did not answer PING on five pairs of ports; it said: {tail:?}");
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

impl LocalCluster {
    /// Starts `masters × (1 + replicas)` servers with `cluster-node-timeout` `node_timeout_ms`,
    /// joins them with `redis-cli --cluster create`, and waits until the cluster is `ok` and
    /// every replica's link is up.
    ///
    /// # Panics
    /// If the servers or the cluster do not come up within 30 s.
    pub fn start(masters: usize, replicas: usize, node_timeout_ms: u64) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "passport-cluster-{}-{}",
            std::process::id(),
            crate::kernel::ids::Id::random()
        ));
        #[allow(clippy::expect_used)]
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let nodes = (0..masters * (1 + replicas))
            .map(|i| spawn_node(&dir, i, node_timeout_ms))
            .collect();
        let cluster = Self { nodes, dir };
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for n in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        #[allow(clippy::expect_used)]
        let out = create
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        cluster.wait_healthy(masters, replicas);
        cluster
    }

    /// Waits until every live node says `cluster_state:ok`, `masters` masters serve slots and
    /// each has `replicas` replicas whose link is up, as every live node lists them.
    pub fn wait_healthy(&self, masters: usize, replicas: usize) {
        self.wait_until("the cluster is ok with its replicas in step", || {
            let live: Vec<u16> = self
                .nodes
                .iter()
                .filter(|n| n.child.is_some())
                .map(|n| n.port)
                .collect();
            let ok = live
                .iter()
                .all(|p| cli(*p, &["CLUSTER", "INFO"]).contains("cluster_state:ok"));
            let view = self.view();
            let serving: Vec<&NodeInfo> = view.iter().filter(|n| !n.slots.is_empty()).collect();
            let linked = view
                .iter()
                .filter(|n| n.master.is_some() && !n.flags.iter().any(|f| f == "fail"))
                .filter(|n| cli(n.port, &["INFO", "replication"]).contains("master_link_status:up"))
                .count();
            // A write and `WAIT` on each master: its replicas acknowledge (the link is up
            // and the first sync is over).
            let acked = replicas == 0
                || serving.iter().all(|m| {
                    let out = Command::new("sh")
                        .arg("-c")
                        .arg(format!(
                            "printf 'PUBLISH passport-probe x\\nWAIT {replicas} 1000\\n' | \
                             redis-cli -p {}",
                            m.port
                        ))
                        .output()
                        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
                        .unwrap_or_default();
                    out.lines().last().map(str::trim) == Some(&replicas.to_string())
                });
            // Every node has learned every replica (by gossip, which lags the replication
            // link): a node that has not yet lists its shard short.
            let known = live.iter().all(|p| {
                let shards =
                    crate::kernel::store::confirm::cluster_shards(&cli(*p, &["CLUSTER", "NODES"]));
                shards.len() == masters && shards.iter().all(|(_, n)| *n as usize == replicas)
            });
            ok && serving.len() == masters && linked == masters * replicas && acked && known
        });
    }

    fn wait_until(&self, what: &str, mut ready: impl FnMut() -> bool) {
        let start = Instant::now();
        while !ready() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "local cluster: timed out waiting until {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every node's URL, comma-separated: `REDIS_URL` with `REDIS_CLUSTER=true`.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `CLUSTER NODES` as a live node sees it.
    pub fn view(&self) -> Vec<NodeInfo> {
        let Some(seed) = self.nodes.iter().find(|n| n.child.is_some()) else {
            return Vec::new();
        };
        cli(seed.port, &["CLUSTER", "NODES"])
            .lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                let port = f.get(1)?.split(['@', ':']).nth(1)?.parse().ok()?;
                Some(NodeInfo {
                    id: f.first()?.to_string(),
                    port,
                    flags: f.get(2)?.split(',').map(str::to_string).collect(),
                    master: f.get(3).filter(|m| **m != "-").map(|m| m.to_string()),
                    slots: f
                        .iter()
                        .skip(8)
                        .filter_map(|r| match r.split_once('-') {
                            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                            None => r.parse().ok().map(|a| (a, a)),
                        })
                        .collect(),
                })
            })
            .collect()
    }

    /// The hash slot of `key` (`CLUSTER KEYSLOT`).
    pub fn slot_of(&self, key: &str) -> u16 {
        let seed = self
            .nodes
            .iter()
            .find(|n| n.child.is_some())
            .map_or(0, |n| n.port);
        cli(seed, &["CLUSTER", "KEYSLOT", key]).parse().unwrap_or(0)
    }

    /// The port of the master serving `slot`, and of its replicas.
    pub fn shard_of(&self, slot: u16) -> Option<(u16, Vec<u16>)> {
        let view = self.view();
        let master = view
            .iter()
            .find(|n| n.slots.iter().any(|(a, b)| *a <= slot && slot <= *b))?;
        let replicas = view
            .iter()
            .filter(|n| n.master.as_deref() == Some(&master.id))
            .map(|n| n.port)
            .collect();
        Some((master.port, replicas))
    }

    fn node(&mut self, port: u16) -> &mut Node {
        #[allow(clippy::expect_used)]
        self.nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("a node of this cluster")
    }

    fn pid(&mut self, port: u16) -> Option<u32> {
        self.node(port).child.as_ref().map(Child::id)
    }

    /// Freezes a node (`SIGSTOP`): its sockets stay open and nothing is read.
    pub fn pause(&mut self, port: u16) {
        if let Some(pid) = self.pid(port) {
            signal(pid, "-STOP");
        }
    }

    /// Thaws a node (`SIGCONT`).
    pub fn resume(&mut self, port: u16) {
        if let Some(pid) = self.pid(port) {
            signal(pid, "-CONT");
        }
    }

    /// Closes the replication links of `master`'s replicas from the master's side: what a
    /// network fault between them does. With the replicas paused, they cannot reconnect.
    pub fn break_replica_links(&self, master: u16) -> String {
        cli(master, &["CLIENT", "KILL", "TYPE", "replica"])
    }

    /// Kills a node with `SIGKILL`: its memory, and whatever its replicas lacked, is gone.
    pub fn kill(&mut self, port: u16) {
        if let Some(mut child) = self.node(port).child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut child) = n.child.take() {
                signal(child.id(), "-CONT");
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
