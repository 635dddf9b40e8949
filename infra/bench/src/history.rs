//! What the security history costs (issue 36): a sign-in's script with its history written
//! beside the same script with the writing shadowed by no-ops, on an account whose history is
//! full (the worst case: the new-device check reads 50 entries, the push trims one); and a
//! refresh of a session whose account has a full history beside one with none — a refresh
//! never writes it, so the ratio should be 1.

use crate::stats::time_interleaved;
use passport::Service;
use passport::api::Store;
use passport::kernel::activity::{Activity, Entry, MAX_ENTRIES, device_member};
use passport::kernel::ids::Id;
use passport::kernel::service::ClientInfo;
use passport::kernel::store::lua::LuaScript;
use passport::kernel::store::{RedisConnection, keys};
use passport::kernel::tokens::refresh::RefreshToken;
use passport::sessions::LoginInput;
use passport::testing::{create_account, service_on, test_config};
use serde_json::{Value, json};
use std::sync::Arc;

const PASSWORD: &str = "bench password, long enough";

/// `start_session` as shipped, and the same with `record_event` and `new_device` shadowed (a
/// local defined after `common.lua`'s hides it for the script's body).
fn start_session_scripts() -> (&'static LuaScript, &'static LuaScript) {
    let shipped = passport::api::scripts()
        .into_iter()
        .find(|s| s.name == "start_session")
        .expect("the start_session script");
    let without: &'static str = Box::leak(
        format!(
            "local function record_event() end\n\
             local function new_device() return false end\n{}",
            shipped.source
        )
        .into_boxed_str(),
    );
    let bare = Box::leak(Box::new(LuaScript::new("start_session", without)));
    (shipped, bare)
}

/// The account's id, from its index entry.
async fn id_of(conn: &mut RedisConnection, email: &str) -> Id {
    let id: String = redis::cmd("GET")
        .arg(keys::email(email))
        .query_async(conn)
        .await
        .expect("the account's index entry");
    id.parse().expect("an account id")
}

/// Fills `account`'s history to its bound (refusals of two kinds in turn: one after another
/// of the same kind would make one entry), leaving its password as it is.
async fn fill(store: &dyn Store, account: Id) {
    for i in 0..MAX_ENTRIES {
        let kind = if i % 2 == 0 {
            Activity::SignInRefused
        } else {
            Activity::SignInLocked
        };
        let now = passport::kernel::clock::now();
        let entry = Entry::refused(kind, now, Some("pwd"), Some("198.51.100.7"));
        store
            .record_refusal(account, &entry)
            .await
            .expect("a refusal recorded");
    }
}

/// The two figures.
pub async fn history_costs(
    store: Arc<dyn Store>,
    mut conn: RedisConnection,
    scale: usize,
) -> Value {
    eprintln!("measuring: the security history (sign-in script with and without; refresh)");
    let service: Arc<Service> = Arc::new(service_on(Arc::clone(&store), test_config()));
    let (full, empty) = ("history-full@example.com", "history-empty@example.com");
    create_account(&service, full, PASSWORD).await;
    create_account(&service, empty, PASSWORD).await;
    let full_id = id_of(&mut conn, full).await;
    fill(&*store, full_id).await;

    // The sign-in's script, both ways, on the full history; each run a new session.
    let (shipped, bare) = start_session_scripts();
    let version = store
        .account(full_id)
        .await
        .expect("account read")
        .expect("the account")
        .password_version;
    let run = |script: &'static LuaScript| {
        let mut conn = conn.clone();
        async move {
            let now = passport::kernel::clock::now();
            let session = Id::random();
            let token = RefreshToken::new(full_id, session);
            let entry = Entry {
                methods: Some("pwd".into()),
                device: Some("Chrome 131 on Mac OS X".into()),
                ip: Some("198.51.100.7".into()),
                ..Entry::new(Activity::SignIn, now)
            };
            let invocation = script
                .invocation(
                    &[
                        ("account", keys::account(full_id)),
                        ("session", keys::session(full_id, session)),
                        ("sessions", keys::sessions(full_id)),
                        ("log", keys::log(full_id)),
                    ],
                    &[
                        ("sid", session.to_string()),
                        ("digest", token.digest().to_stored()),
                        ("family_digest", token.family_digest().to_stored()),
                        ("device", "bench".into()),
                        ("user_agent", "bench".into()),
                        ("ip", "198.51.100.7".into()),
                        ("now", now.to_string()),
                        ("expires_at", (now + 600).to_string()),
                        ("absolute_expires_at", (now + 600).to_string()),
                        ("password_version", version.to_string()),
                        // Beyond the cap the oldest end: the set stays small.
                        ("max_sessions", "20".into()),
                        ("auth_time", now.to_string()),
                        ("amr", "pwd".into()),
                        ("agent", "Chrome 131 on Mac OS X".into()),
                        ("entry", entry.encode()),
                        ("seen", device_member(entry.device.as_deref())),
                        // No identity provider: a password sign-in.
                        ("via", String::new()),
                    ],
                )
                .expect("the script's arguments");
            let outcome: String = invocation
                .invoke_async(&mut conn)
                .await
                .expect("the script runs");
            assert!(outcome.starts_with("started"), "{outcome}");
        }
    };
    let (with_history, without_history) =
        time_interleaved(200, 2_000 * scale, || run(shipped), || run(bare)).await;

    // A refresh beside a full history, and beside none.
    let input = |email: &'static str| LoginInput::new(email, PASSWORD);
    let client = ClientInfo::default();
    let chain = |email: &'static str| {
        let (service, client) = (Arc::clone(&service), client.clone());
        async move {
            let token = service
                .login(input(email), &client)
                .await
                .expect("login")
                .refresh_token;
            Arc::new(tokio::sync::Mutex::new(token))
        }
    };
    let (full_token, empty_token) = (chain(full).await, chain(empty).await);
    let step = |token: Arc<tokio::sync::Mutex<String>>| {
        let service = Arc::clone(&service);
        async move {
            let mut t = token.lock().await;
            *t = service.refresh(&t).await.expect("refresh").refresh_token;
        }
    };
    let (refresh_full, refresh_empty) = time_interleaved(
        500,
        5_000 * scale,
        || step(Arc::clone(&full_token)),
        || step(Arc::clone(&empty_token)),
    )
    .await;
    json!({
        "sign_in_script_with_history": with_history.json(),
        "sign_in_script_without_history": without_history.json(),
        "refresh_full_history": refresh_full.json(),
        "refresh_no_history": refresh_empty.json(),
    })
}
