//! Refresh-token digests are compared in constant time on both stores: the Lua `ct_eq` that
//! every script uses (run here on the real `redis-server`), no script comparing a digest with
//! `==`. (That both stores refuse a digest one byte off is in `store_contract.rs`.)
#![allow(clippy::unwrap_used)]

mod common;

use passport::refresh_token::TokenDigest;

const COMMON: &str = include_str!("../src/store/lua/common.lua");

/// The scripts that take a digest, with the ARGV positions that hold one.
const DIGEST_SCRIPTS: [(&str, &str, &[u8]); 2] = [
    (
        "rotate.lua",
        include_str!("../src/store/lua/rotate.lua"),
        &[2, 3],
    ),
    (
        "token_matches.lua",
        include_str!("../src/store/lua/token_matches.lua"),
        &[1],
    ),
];

async fn lua_ct_eq(con: &mut passport::store::RedisConnection, a: &str, b: Option<&str>) -> bool {
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
    let d = TokenDigest([0xab; 32]).to_hex();
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

#[test]
fn no_script_compares_a_digest_with_equals() {
    for (name, src, argv) in DIGEST_SCRIPTS {
        let mut operands = vec!["s[1]".to_string(), "s[2]".to_string()];
        operands.extend(argv.iter().map(|i| format!("ARGV[{i}]")));
        for (n, line) in src.lines().enumerate() {
            let code = line.split("--").next().unwrap_or("");
            for op in ["==", "~="] {
                for (i, _) in code.match_indices(op) {
                    let (left, right) = (code[..i].trim_end(), code[i + 2..].trim_start());
                    for o in &operands {
                        assert!(
                            !left.ends_with(o.as_str()) && !right.starts_with(o.as_str()),
                            "{name}:{}: digest compared with {op}: {line}",
                            n + 1
                        );
                    }
                }
            }
        }
        assert!(src.contains("ct_eq("), "{name} compares no digest at all");
    }
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
