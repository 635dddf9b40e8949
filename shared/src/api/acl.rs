//! The cache users: one per function, each with only the commands and keys that function's
//! store calls use. `template.yaml` creates exactly these (a test compares them), and
//! `shared/tests/cache_acl.rs` runs every function's use cases as its user on an ACL'd
//! `redis-server` and checks that writes outside its role are refused.
//!
//! Redis checks a script's commands and keys against the calling user too
//! (redis.io/docs/latest/operate/oss_and_stack/management/security/acl/), so the command lists
//! include what the Lua scripts call. `%R~` grants read-only access to keys (Redis 7 and
//! Valkey); the key patterns follow the layout in `store/redis.rs`. A key a script declares
//! counts as written (`EVALSHA`'s key specification is read-write), so `login`, whose
//! `create_session` script reads the account, holds the account's keys read-write.

/// Commands every user needs around its own work: the cluster client's topology, the
/// durability probe and confirmation (`CLUSTER NODES`, a sync write and `WAIT`), scripts
/// loaded on `NOSCRIPT`, and what the client sends on connecting.
const COMMON: &str = "+ping +cluster|slots +cluster|nodes +wait +set +evalsha +eval \
                      +script|load +asking ~pp:{*}:sync";

/// Reading and writing a session and the account's set of sessions (scripts); `TIME` is the
/// rotation's clock for its caller's deadline (`sessions/lua/rotate.lua`).
const SESSIONS_RW: &str = "~pp:{*}:s:* ~pp:{*}:sessions ~pp:{*}:passports* \
     +hmget +hget +hgetall +hset +hincrby +expireat +expire +del +exists +zadd +zrem \
     +zrange +zremrangebyscore +zscore +zcard +incr +time";

/// The accounts (checking a password) and the failed-login counters (counting, clearing).
const ACCOUNTS_AND_COUNTERS: &str = "~pp:{*}:acct %R~pp:{e:*}:email ~pp:{e:*}:fail \
     ~pp:{ip:*}:fail ~pp:{ip:*}:e:* +get +ttl +decr";

/// Passkeys (an account's, beside its sessions) and WebAuthn ceremonies' states, with the count
/// of ceremonies each client address started: the functions that sign in with a passkey
/// (`login`) and that register, list and remove them (`sessions`).
const PASSKEYS_RW: &str =
    "~pp:{*}:passkeys ~pp:{cer:*}:c ~pp:{ip:*}:starts +hexists +hlen +hdel +getdel";

/// The second factor (`mfa`): an account's authenticator salt, last step, recovery codes.
const MFA_RW: &str = "~pp:{*}:mfa +hexists +hdel +hgetall";

/// Connected identity providers (`federation`): an account's, beside its record, and the index
/// from a provider's `(iss, sub)`; the flows' and link tickets' states, with the count of flows
/// each client address started; the account's passkeys, read when an identity is disconnected
/// (never the last way in). `signup` alone talks to the providers.
const IDENTITIES_RW: &str = "~pp:{*}:idp ~pp:{i:*}:idp ~pp:{cer:*}:c ~pp:{ip:*}:starts \
     ~pp:{*}:passkeys +hlen +hdel +hgetall +getdel";

/// An account's connected identities, counted (never written) by a passkey's removal: the
/// script declares the key, which counts as written for the ACL.
const IDENTITIES_COUNT: &str = "~pp:{*}:idp +hlen";

/// The account's security history (`kernel::activity`): every function whose scripts change
/// what it records writes it (`record_event` in `common.lua`), and `sessions` reads it; and the
/// count of the notices mailed about the account (`email::not_me`), which the same functions
/// send.
const HISTORY_RW: &str = "~pp:{*}:log ~pp:{*}:notices +lindex +lpush +ltrim +rpop +lset +lrange \
     +expire +incr +ttl";

/// Mail's proofs (`email`): the mail limits' counters, mailed tokens and sign-in codes.
const MAIL_RW: &str = "~pp:{e:*}:mail ~pp:{ip:*}:mail ~pp:{mt:*}:t ~pp:{e:*}:code +getdel";

/// The directory's email index, written only by `signup` (a new account, an account moved to
/// another address) and the operators' function.
const EMAIL_INDEX_RW: &str = "~pp:{e:*}:email +persist";

/// Registration challenges of the device binding (DBSC), which `login` issues and `refresh`
/// takes (a refresh challenge is kept nowhere: `dbsc::challenge`).
const CHALLENGES_RW: &str = "~pp:{cer:*}:c +getdel";

/// The signers' public key document (`service::public_keys`): signers write it (and only
/// they), the functions that only verify, and the one answering the JWKS route, read it.
const PUBLIC_KEYS_RW: &str = "~pp:{keys}:public +hget +hset";
const PUBLIC_KEYS_R: &str = "%R~pp:{keys}:public +hget";

/// One cache user: its name, the functions that connect as it, and its ACL rules.
#[derive(Debug, Clone, Copy)]
pub struct CacheUser {
    /// The user name (and the template's `UserName`).
    pub name: &'static str,
    /// The functions (packages under `functions/`) that connect as this user.
    pub functions: &'static [&'static str],
    /// The rules, after `on` and the password: commands and key patterns.
    pub rules: &'static [&'static str],
}

/// Every cache user.
pub const CACHE_USERS: &[CacheUser] = &[
    CacheUser {
        name: "passport-authorizer",
        functions: &["authorizer"],
        rules: &[
            COMMON,
            "-set -eval -evalsha -script|load %R~pp:{*}:s:* +hmget",
            PUBLIC_KEYS_R,
        ],
    },
    CacheUser {
        name: "passport-app-authorizer",
        functions: &["app-authorizer"],
        rules: &[
            COMMON,
            "-set -eval -evalsha -script|load %R~pp:{app:*}:app %R~pp:{app:*}:p:* \
             %R~pp:{*}:passports %R~pp:{*}:s:* +hget +exists +zscore",
            PUBLIC_KEYS_R,
        ],
    },
    CacheUser {
        name: "passport-login",
        functions: &["login"],
        rules: &[
            COMMON,
            SESSIONS_RW,
            ACCOUNTS_AND_COUNTERS,
            PASSKEYS_RW,
            PUBLIC_KEYS_RW,
            MAIL_RW,
            MFA_RW,
            HISTORY_RW,
        ],
    },
    CacheUser {
        name: "passport-signup",
        functions: &["signup"],
        rules: &[
            COMMON,
            SESSIONS_RW,
            ACCOUNTS_AND_COUNTERS,
            EMAIL_INDEX_RW,
            MAIL_RW,
            HISTORY_RW,
            IDENTITIES_RW,
            PUBLIC_KEYS_RW,
        ],
    },
    CacheUser {
        name: "passport-refresh",
        functions: &["refresh"],
        rules: &[
            COMMON,
            SESSIONS_RW,
            CHALLENGES_RW,
            PUBLIC_KEYS_RW,
            HISTORY_RW,
        ],
    },
    CacheUser {
        name: "passport-logout",
        functions: &["logout"],
        rules: &[COMMON, SESSIONS_RW, PUBLIC_KEYS_R, HISTORY_RW],
    },
    CacheUser {
        name: "passport-sessions",
        functions: &["sessions"],
        rules: &[
            COMMON,
            SESSIONS_RW,
            ACCOUNTS_AND_COUNTERS,
            PASSKEYS_RW,
            PUBLIC_KEYS_R,
            MAIL_RW,
            MFA_RW,
            HISTORY_RW,
            IDENTITIES_COUNT,
        ],
    },
    CacheUser {
        name: "passport-passports",
        functions: &["passports"],
        rules: &[
            COMMON,
            "%R~pp:{*}:s:* ~pp:{*}:passports* %R~pp:{ac:*}:app ~pp:{app:*}:* \
             ~pp:{ip:*}:visitors +hmget +hget +hgetall +hset +hsetnx +get +exists +expireat \
             +expire +del +ttl +incr +zadd +zrem +zrange +zremrangebyscore +zscore",
            PUBLIC_KEYS_RW,
        ],
    },
    CacheUser {
        // The operators' function: accounts and apps, the whole key space (no dangerous
        // commands). It keeps the name the single user had.
        name: "passport",
        functions: &["accounts"],
        rules: &["~pp:* +@all -@dangerous +cluster|slots +cluster|nodes"],
    },
];

/// The functions that never connect to the cache (the mailer: SQS in, SES out), which have no
/// cache user and live outside the VPC.
pub const STORELESS: &[&str] = &["mailer"];

/// The cache user `function` connects as.
pub fn user_of(function: &str) -> Option<&'static CacheUser> {
    CACHE_USERS.iter().find(|u| u.functions.contains(&function))
}

impl CacheUser {
    /// The access string: `on`, then the rules (the password is set apart).
    pub fn access_string(&self) -> String {
        let mut s = String::from("on");
        for rule in self.rules {
            for word in rule.split_whitespace() {
                s.push(' ');
                s.push_str(word);
            }
        }
        s
    }
}
