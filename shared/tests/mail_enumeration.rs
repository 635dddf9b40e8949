//! No user enumeration through the routes that mail: an address with an account and one
//! without get the same answer (status, headers, body), queue one mail each, and cost the same
//! store round trips — counted on a private `redis-server` through `MONITOR`, which lists each
//! command a client sends (those a script runs are marked `lua` and are not round trips). As
//! `enumeration.rs` holds login to the same argon2 work for both, this holds the mailing routes
//! to the same work; `make bench` gives their latencies side by side.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![recursion_limit = "256"]

mod common;

use common::apps::json_of;
use common::{send, unique_email, unique_ip};
use passport::Service;
use passport::kernel::config::Config;
use passport::kernel::store::{RedisConnection, RedisStore};
use passport::testing::mail::Outgoing;
use passport::testing::{private_redis_server, service_on, test_config};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const STRONG: &str = "vivid-otter-quantum-lamp-91";

/// `redis-cli MONITOR` on the private server: every command it is sent, as it prints them.
struct Monitor {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    port: u16,
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Monitor {
    fn start(port: u16) -> Self {
        let mut child = Command::new("redis-cli")
            .args(["-p", &port.to_string(), "monitor"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("redis-cli");
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let keep = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                keep.lock().unwrap().push(line);
            }
        });
        let monitor = Self { child, lines, port };
        monitor.mark("start");
        monitor
    }

    /// Sends `ECHO <name>` from another client and waits until the monitor printed it: every
    /// command sent before is in `lines` then.
    fn mark(&self, name: &str) {
        let marker = format!("mark-{name}");
        for _ in 0..200 {
            Command::new("redis-cli")
                .args(["-p", &self.port.to_string(), "echo", &marker])
                .output()
                .unwrap();
            std::thread::sleep(Duration::from_millis(25));
            if self
                .lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(&marker))
            {
                return;
            }
        }
        panic!("MONITOR never showed {marker}");
    }

    /// The names of the commands clients sent (not scripts) since the last mark, in order.
    fn since_last_mark(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        let start = lines
            .iter()
            .rposition(|l| l.contains("\"mark-"))
            .unwrap_or(0);
        let mut sent = Vec::new();
        // Everything between the previous mark and this one.
        let before = lines[..start]
            .iter()
            .rposition(|l| l.contains("\"mark-"))
            .unwrap_or(0);
        for l in &lines[before + 1..start] {
            let Some((who, rest)) = l.split_once("] ") else {
                continue;
            };
            if who.ends_with(" lua") || rest.starts_with("\"echo\"") {
                continue;
            }
            let name = rest.split('"').nth(1).unwrap_or_default().to_lowercase();
            sent.push(name);
        }
        sent
    }
}

async fn post(service: &Service, path: &str, body: Value) -> (u16, String, Vec<String>) {
    let headers = [("content-type", "application/json")];
    let r = send(
        service,
        http::Method::POST,
        path,
        &headers,
        &body.to_string(),
        &unique_ip(),
    )
    .await
    .unwrap();
    let mut h: Vec<String> = r
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or_default()))
        .collect();
    h.sort();
    (r.status().as_u16(), json_of(&r).to_string(), h)
}

/// A mailing route: its path, its body for an address, and a name for messages.
type Route = (&'static str, fn(&str) -> Value, &'static str);

/// The answer and the commands sent for one request.
async fn measured(
    service: &Service,
    monitor: &Monitor,
    name: &str,
    path: &str,
    body: Value,
) -> ((u16, String, Vec<String>), Vec<String>) {
    let answer = post(service, path, body).await;
    monitor.mark(name);
    (answer, monitor.since_last_mark())
}

#[tokio::test]
async fn the_mailing_routes_do_the_same_work_whether_or_not_the_address_has_an_account() {
    let (server, port) = private_redis_server();
    let _server = Server(server);
    let conn = RedisConnection::open(
        &format!("redis://127.0.0.1:{port}"),
        false,
        None,
        Duration::from_secs(2),
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    let store = Arc::new(RedisStore::from_connection(conn));
    let mail = Outgoing::default();
    let config = Config {
        app_url: Some("https://app.example.com/".into()),
        ..test_config()
    };
    let service = service_on(store, config).with_mail(mail.outbox());
    let monitor = Monitor::start(port);
    let routes: [Route; 4] = [
        (
            "/signup",
            |e| json!({"email": e, "password": STRONG}),
            "signup",
        ),
        ("/password/forgot", |e| json!({"email": e}), "forgot"),
        ("/login/email-code", |e| json!({"email": e}), "code"),
        ("/email/verify/resend", |e| json!({"email": e}), "resend"),
    ];
    for (path, body, name) in routes {
        // An address of its own per route: the per-address mail limit counts every request.
        let with_account = &unique_email();
        if name == "resend" {
            // An unverified account: the one a resend mails.
            let new = json!({"email": with_account, "password": STRONG});
            post(&service, "/signup", new).await;
        } else {
            passport::testing::create_account(&service, with_account, STRONG).await;
        }
        post(&service, path, body(with_account)).await;
        post(&service, path, body(&unique_email())).await;
        monitor.mark(&format!("{name}-warm"));

        let queued = mail.count();
        let (a, a_sent) = measured(
            &service,
            &monitor,
            &format!("{name}-a"),
            path,
            body(with_account),
        )
        .await;
        let (b, b_sent) = measured(
            &service,
            &monitor,
            &format!("{name}-b"),
            path,
            body(&unique_email()),
        )
        .await;
        assert_eq!(a.0, 202, "{name}: {a:?}");
        assert_eq!(a, b, "{name}: the same answer");
        assert_eq!(mail.count(), queued + 2, "{name}: one mail queued each");
        assert!(!a_sent.is_empty(), "{name}: MONITOR saw the requests");
        if name == "signup" {
            // A new account's claim is made durable (`PERSIST`) where a taken address's
            // provisional record is dropped (`DEL`): as many round trips, one O(1) write each.
            let swap = |v: &Vec<String>| -> Vec<String> {
                let mut v: Vec<String> = v
                    .iter()
                    .map(|c| {
                        if c == "persist" {
                            "del".to_string()
                        } else {
                            c.clone()
                        }
                    })
                    .collect();
                v.sort();
                v
            };
            assert_eq!(
                swap(&a_sent),
                swap(&b_sent),
                "{name}: {a_sent:?} / {b_sent:?}"
            );
        } else {
            assert_eq!(a_sent, b_sent, "{name}: the same commands");
        }
    }
}

/// The private server, stopped however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
