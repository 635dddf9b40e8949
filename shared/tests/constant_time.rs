//! Refresh-token digests are compared in constant time on both stores: the Lua `ct_eq` that
//! every script uses (run here on the real `redis-server`), and no script comparing a digest in
//! any other way — checked by behaviour, not spelling: each script that takes a digest runs on
//! Redis with every digest (its arguments named `*digest`, and any 64-hex value it reads back)
//! wrapped in a Lua table whose `==` raises an error and that only `ct_eq` unwraps. A script that
//! compares a digest with `==`, `~=`, through a local variable, `tostring` or `#` then fails or
//! answers wrongly. (That both stores refuse a digest one byte off is in `store_contract.rs`.)
#![allow(clippy::unwrap_used)]

mod common;

use common::unique_email;
use passport::api::Store;
use passport::api::scripts;
use passport::dbsc::store::{BindOutcome, DbscStore};
use passport::kernel::clock;
use passport::kernel::ids::Id;
use passport::kernel::service::binding::bound_cookie_digest;
use passport::kernel::store::lua::{COMMON, LuaScript};
use passport::kernel::store::{Account, AccountStatus, RedisConnection, SessionStart};
use passport::kernel::tokens::refresh::{RefreshToken, TokenDigest};
use passport::sessions::redis::{presented_digest_args, successor_digest_args};

async fn lua_ct_eq(con: &mut RedisConnection, a: &str, b: Option<&str>) -> bool {
    let body = format!(
        "{COMMON}\nlocal b = ARGV[2]\nif ARGV[3] == 'nil' then b = nil end\n\
         if ct_eq(ARGV[1], b) then return 1 end return 0"
    );
    let n: i64 = redis::Script::new(&body)
        .arg(a)
        .arg(b.unwrap_or(""))
        .arg(if b.is_some() { "value" } else { "nil" })
        .invoke_async(con)
        .await
        .unwrap();
    n == 1
}

#[tokio::test]
async fn lua_ct_eq_compares_every_byte() {
    let mut con = common::raw_redis().await;
    let [_, _, d] = TokenDigest([0xab; 32]).stored_forms();
    let first = format!("0{}", &d[1..]);
    let last = format!("{}0", &d[..63]);
    assert!(lua_ct_eq(&mut con, &d, Some(&d)).await);
    assert!(!lua_ct_eq(&mut con, &d, Some(&first)).await);
    assert!(!lua_ct_eq(&mut con, &d, Some(&last)).await);
    assert!(!lua_ct_eq(&mut con, &d, Some(&d[..63])).await);
    assert!(!lua_ct_eq(&mut con, &d, Some("")).await);
    assert!(!lua_ct_eq(&mut con, &d, None).await);
    assert!(lua_ct_eq(&mut con, "", Some("")).await);
}

/// Runs before `COMMON` and the script: shadows `redis` and `ARGV` so that digests (64 hex
/// characters, or 43 or 32 of URL-safe base64) are tainted tables, and after `COMMON` rebinds `ct_eq`
/// to unwrap them. `DIGEST_ARGS` is filled in with
/// the ARGV positions whose names end in `digest`.
const TAINT: &str = r#"
local taint = {}
taint.__eq = function() error('a digest was compared with == or ~=') end
taint.__lt = function() error('a digest was compared with < or >') end
taint.__le = taint.__lt
taint.__concat = function() error('a digest was concatenated') end
local function wrap(v)
  if type(v) == 'string' and ((#v == 64 and v:match('^[0-9a-f]+$'))
      or ((#v == 43 or #v == 32) and v:match('^[A-Za-z0-9_-]+$'))) then
    return setmetatable({digest = v}, taint)
  end
  return v
end
local function unwrap(v)
  if type(v) == 'table' and getmetatable(v) == taint then return v.digest end
  return v
end
local real_call = redis.call
local redis = {call = function(...)
  local args = {...}
  for i = 1, #args do args[i] = unwrap(args[i]) end
  local r = real_call(unpack(args))
  if type(r) == 'table' then
    for i, x in pairs(r) do r[i] = wrap(x) end
    return r
  end
  return wrap(r)
end}
local ARGV = ARGV
for _, i in ipairs({DIGEST_ARGS}) do ARGV[i] = wrap(ARGV[i]) end
"#;

const REBIND: &str = r#"
local untainted_ct_eq = ct_eq
local function ct_eq(a, b) return untainted_ct_eq(unwrap(a), unwrap(b)) end
"#;

/// The script's text under the taint harness.
fn tainted(script: &LuaScript) -> String {
    let digest_args: Vec<String> = script
        .argv()
        .iter()
        .enumerate()
        .filter(|(_, n)| n.ends_with("digest"))
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    format!(
        "{}\n{COMMON}\n{REBIND}\n{}",
        TAINT.replace("DIGEST_ARGS", &digest_args.join(", ")),
        script.source
    )
}

fn script(name: &str) -> &'static LuaScript {
    scripts().into_iter().find(|s| s.name == name).unwrap()
}

/// Runs `script` under the harness with arguments by name, in the order it declares.
async fn run_tainted<T: redis::FromRedisValue>(
    con: &mut RedisConnection,
    script: &LuaScript,
    keys: &[(&str, String)],
    argv: &[(&str, String)],
) -> redis::RedisResult<T> {
    let by_name = |names: &[&str], given: &[(&str, String)]| -> Vec<String> {
        names
            .iter()
            .map(|n| given.iter().find(|(g, _)| g == n).unwrap().1.clone())
            .collect()
    };
    let harnessed = redis::Script::new(&tainted(script));
    let mut call = harnessed.prepare_invoke();
    for k in by_name(script.keys(), keys) {
        call.key(k);
    }
    for a in by_name(script.argv(), argv) {
        call.arg(a);
    }
    call.invoke_async(con).await
}

async fn run<T: redis::FromRedisValue>(
    con: &mut RedisConnection,
    name: &str,
    keys: &[(&str, String)],
    argv: &[(&str, String)],
) -> redis::RedisResult<T> {
    run_tainted(con, script(name), keys, argv).await
}

#[test]
fn every_script_that_takes_a_digest_names_it_so() {
    let takes: Vec<&str> = scripts()
        .into_iter()
        .filter(|s| s.argv().iter().any(|a| a.ends_with("digest")))
        .map(|s| s.name)
        .collect();
    assert_eq!(
        takes,
        [
            "start_session",
            "rotate",
            "check_token",
            "put_email_code",
            "spend_email_code",
            "spend_recovery_code"
        ]
    );
    let rotate = script("rotate");
    for a in ["presented_digest", "successor_digest", "family_digest"] {
        assert!(rotate.argv().contains(&a), "rotate.lua takes {a}");
    }
    for s in scripts() {
        assert!(
            !s.source.contains("ARGV[") && !s.source.contains("KEYS["),
            "{}: reads KEYS/ARGV by position instead of by its declared names",
            s.name
        );
    }
}

async fn session(store: &dyn Store) -> (Account, Id, RefreshToken) {
    let a = Account {
        id: Id::random(),
        email: unique_email(),
        password_hash: "$argon2id$stub".into(),
        status: AccountStatus::Active,
        created_at: clock::now(),
        password_version: 0,
        email_verified: true,
        second_factor: false,
    };
    assert!(store.create_account(&a).await.unwrap());
    let sid = Id::random();
    let (new, token) = passport::testing::new_session(a.id, sid, clock::now());
    assert_eq!(
        passport::testing::store::create_session(store, &new, &a.email).await,
        SessionStart::Started { new_device: false }
    );
    (a, sid, token)
}

const KEY: [u8; 32] = [3; 32];

/// A sign-in code's digest is kept and spent only through `ct_eq` (the try returns it to Rust,
/// which compares it with `subtle`).
#[tokio::test]
async fn email_code_scripts_compare_digests_only_through_ct_eq() {
    let mut con = common::raw_redis().await;
    let email = unique_email();
    let code = [("code", passport::kernel::store::keys::email_code(&email))];
    let digest = passport::email::tokens::code_digest(&email, "123456");
    let put = [
        ("digest", digest.clone()),
        ("account", String::new()),
        ("ttl", "60".to_string()),
    ];
    let n: i64 = run(&mut con, "put_email_code", &code, &put).await.unwrap();
    assert_eq!(n, 1);
    let other = passport::email::tokens::code_digest(&email, "654321");
    let entry = passport::testing::entry(passport::kernel::activity::Activity::RecoveryCodeUsed);
    let spend = |d: &str| [("digest", d.to_string()), ("entry", entry.encode())];
    let n: i64 = run(&mut con, "spend_email_code", &code, &spend(&other))
        .await
        .unwrap();
    assert_eq!(n, 0);
    let n: i64 = run(&mut con, "spend_email_code", &code, &spend(&digest))
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// A recovery code's digest is spent only through `ct_eq`: every kept digest (read back, so
/// tainted) is compared with it.
#[tokio::test]
async fn recovery_codes_are_compared_only_through_ct_eq() {
    let mut con = common::raw_redis().await;
    let account = Id::random();
    let mfa = [
        ("mfa", passport::kernel::store::keys::mfa(account)),
        ("log", passport::kernel::store::keys::log(account)),
    ];
    let digests: Vec<String> = ["aaaaa-bbbbb", "ccccc-ddddd", "eeeee-fffff"]
        .iter()
        .map(|c| passport::mfa::recovery::digest(account, c))
        .collect();
    let _: () = redis::cmd("HSET")
        .arg(&mfa[0].1)
        .arg("salt")
        .arg("s")
        .arg("r1")
        .arg(&digests[0])
        .arg("r2")
        .arg(&digests[1])
        .arg("r3")
        .arg(&digests[2])
        .query_async(&mut con)
        .await
        .unwrap();
    let entry = passport::testing::entry(passport::kernel::activity::Activity::RecoveryCodeUsed);
    let spend = |d: &str| [("digest", d.to_string()), ("entry", entry.encode())];
    let other = passport::mfa::recovery::digest(account, "ggggg-hhhhh");
    let left: Option<i64> = run(&mut con, "spend_recovery_code", &mfa, &spend(&other))
        .await
        .unwrap();
    assert_eq!(left, None);
    let left: Option<i64> = run(&mut con, "spend_recovery_code", &mfa, &spend(&digests[1]))
        .await
        .unwrap();
    assert_eq!(left, Some(2));
    let left: Option<i64> = run(&mut con, "spend_recovery_code", &mfa, &spend(&digests[1]))
        .await
        .unwrap();
    assert_eq!(left, None, "spent once");
}

#[tokio::test]
async fn digest_scripts_compare_digests_only_through_ct_eq() {
    let store = common::redis_store().await;
    let mut con = common::raw_redis().await;
    let (a, sid, t0) = session(&store).await;
    let keys = [
        ("session", format!("pp:{{{}}}:s:{sid}", a.id)),
        ("sessions", format!("pp:{{{}}}:sessions", a.id)),
    ];
    // Bound to a device key, with binding required: the bound cookie's digest is compared too.
    let bound = bound_cookie_digest("the bound cookie");
    let now = clock::now();
    let bind = store.bind_session(a.id, sid, "{}", &bound, now + 600, now);
    assert_eq!(bind.await.unwrap(), BindOutcome::Bound);
    let t1 = t0.successor(&KEY);
    let t2 = t1.successor(&KEY);
    // A token presented as a credential (logout's check), of a family the session does not have:
    // 'current' or 'previous' when it is one of the session's, never 'reused'.
    let check = |d: &TokenDigest| {
        let mut args = presented_digest_args(d, &TokenDigest([7; 32])).to_vec();
        args.extend([
            ("sid", sid.to_string()),
            ("now", clock::now().to_string()),
            ("grace", "10".to_string()),
        ]);
        args
    };
    let rotate = |token: &RefreshToken, successor: &RefreshToken, grace: i64| {
        let mut args = presented_digest_args(&token.digest(), &token.family_digest()).to_vec();
        args.extend(successor_digest_args(&successor.digest()));
        args.extend([
            ("sid", sid.to_string()),
            ("request_id", format!("{:032x}", grace)),
            ("now", clock::now().to_string()),
            ("idle_ttl", "1000".to_string()),
            ("grace", grace.to_string()),
            ("device", "1".to_string()),
            ("by_cookie", "1".to_string()),
            ("bound_digest", bound.clone()),
            ("deadline_ms", "99999999999999".to_string()),
        ]);
        args
    };
    let mut wrong = t0.digest();
    // The last byte the store keeps (`TokenDigest::to_stored`).
    wrong.0[passport::kernel::tokens::refresh::STORED_BYTES - 1] ^= 1;
    let mut con2 = con.clone();
    let mut check_token = async |d: &TokenDigest| -> String {
        run(&mut con, "check_token", &keys, &check(d))
            .await
            .unwrap()
    };
    assert_eq!(
        check_token(&t0.digest()).await,
        "current",
        "the current token"
    );
    assert_eq!(
        check_token(&wrong).await,
        "invalid",
        "a digest one byte off"
    );
    let mut rotation = async |argv: Vec<(&str, String)>| -> String {
        let v: Vec<redis::Value> = run(&mut con2, "rotate", &keys, &argv).await.unwrap();
        redis::from_redis_value(v[0].clone()).unwrap()
    };
    // Sent with a deadline already past (its caller answered 503 and retried): nothing done.
    let mut late = rotate(&t0, &t1, 10);
    late.retain(|(name, _)| *name != "deadline_ms");
    late.push(("deadline_ms", "1".to_string()));
    assert_eq!(rotation(late).await, "late", "a rotation past its deadline");
    assert_eq!(rotation(rotate(&t0, &t1, 10)).await, "rotated");
    assert_eq!(
        rotation(rotate(&t0, &t1, 10)).await,
        "replayed",
        "the just-spent token within grace"
    );
    assert_eq!(
        rotation(rotate(&t0, &t2, 10)).await,
        "invalid",
        "within grace, only the stored successor"
    );
    assert_eq!(
        check_token(&t0.digest()).await,
        "previous",
        "the previous token"
    );
    assert_eq!(
        rotation(rotate(&t0, &t1, 0)).await,
        "reused",
        "the spent token without grace"
    );
    assert!(
        !passport::testing::store::token_matches(&store, a.id, sid, &t1.digest(), clock::now())
            .await
    );
}

#[tokio::test]
async fn the_harness_catches_a_digest_compared_with_equals() {
    let mut con = common::raw_redis().await;
    let (a, sid, t0) = session(&common::redis_store().await).await;
    // A script that compares a digest through a local variable and `==`.
    let leaky = LuaScript::new(
        "leaky",
        "local session = unpack(KEYS)\nlocal digest, now = unpack(ARGV)\n\
         local cur = redis.call('HGET', session, 'cur')\n\
         if cur == digest then return 1 end\nreturn 0",
    );
    let keys = [("session", format!("pp:{{{}}}:s:{sid}", a.id))];
    let argv = [
        ("digest", t0.digest().to_stored()),
        ("now", clock::now().to_string()),
    ];
    let err = run_tainted::<i64>(&mut con, &leaky, &keys, &argv)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("compared with =="), "{err}");
}

#[test]
fn rust_digest_equality_is_ct_eq() {
    let d = TokenDigest([9; 32]);
    let mut last = d;
    last.0[31] ^= 1;
    let mut first = d;
    first.0[0] ^= 0x80;
    assert!(d == TokenDigest([9; 32]));
    assert!(d != last && !d.ct_eq(&last));
    assert!(d != first && !d.ct_eq(&first));
}
