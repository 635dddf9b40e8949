//! `Config::from_env`: the one place that reads the environment.

use crate::kernel::cookie::{CookieRule, SessionCookie};
use std::fmt;
use std::time::Duration;

/// Shortest signing key accepted, in bytes (HS256 wants at least the hash size).
pub const MIN_KEY_BYTES: usize = 32;

/// A configuration error; it names the variable and never echoes a secret value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable is present but its value is not acceptable.
    #[error("{name}: {reason}")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// Why the value was refused.
        reason: String,
    },
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// How many replicas must confirm a write: `REDIS_REPLICA_ACKS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaAcks {
    /// `auto`: one if every master of the store has a replica at start, else none.
    Auto,
    /// An explicit count (0 turns the wait off).
    Count(u32),
}

impl ReplicaAcks {
    /// Parses `auto` or a whole number.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("auto") {
            return Some(Self::Auto);
        }
        t.parse().ok().map(Self::Count)
    }
}

/// The algorithm access tokens and passports are signed with: `SIGNING_ALGORITHM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// ECDSA on P-256 (RFC 7518 §3.4): only the signers hold the private key; verifiers read
    /// the published public keys. The default.
    Es256,
    /// HMAC-SHA256: every verifier holds the secret (existing deployments).
    Hs256,
}

impl SigningAlgorithm {
    /// Parses `ES256` or `HS256` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "ES256" => Some(Self::Es256),
            "HS256" => Some(Self::Hs256),
            _ => None,
        }
    }

    /// Its JOSE name (`alg`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Hs256 => "HS256",
        }
    }

    /// Whether verifying needs only public keys.
    pub fn is_asymmetric(self) -> bool {
        self == Self::Es256
    }
}

/// Secret bytes whose `Debug` output never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps key material.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The key material itself.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
    }
}

/// Everything Passport reads from its environment, with the defaults of [`VARIABLES`].
#[derive(Debug, Clone)]
pub struct Config {
    /// `REDIS_URL`: `redis://` or `rediss://`; `None` means the embedded in-memory store. With
    /// `REDIS_CLUSTER`, a comma-separated list of seed nodes is allowed.
    pub redis_url: Option<String>,
    /// `REDIS_CLUSTER` (`true`/`false`, default false): talk to a Redis Cluster (ElastiCache
    /// Serverless is one) through a cluster client that follows slot redirections.
    pub redis_cluster: bool,
    /// `REDIS_CONNECT_TIMEOUT_MS` (default 1000).
    pub redis_connect_timeout: Duration,
    /// `REDIS_RESPONSE_TIMEOUT_MS` (default 1000): a store call that takes longer fails.
    pub redis_response_timeout: Duration,
    /// `REDIS_REPLICA_ACKS` (default `auto`): replicas that must confirm a write before it is
    /// acknowledged; `auto` is one where every master of the store has a replica at start, else
    /// none (`store::durability`); `0` never waits.
    pub redis_replica_acks: ReplicaAcks,
    /// `REDIS_REPLICA_ACK_TIMEOUT_MS` (default 500, or half of `REDIS_RESPONSE_TIMEOUT_MS` when
    /// that is not longer): how long a write waits for them before it fails retryably; set
    /// explicitly, it must be shorter than `REDIS_RESPONSE_TIMEOUT_MS`.
    pub redis_replica_ack_timeout: Duration,
    /// `SIGNING_ALGORITHM` (default `ES256`; `HS256` for existing deployments): how tokens are
    /// signed. The key material is the same secret either way (see `keys`). Unset with a
    /// literal `SIGNING_SECRET` (and no `SIGNING_SECRET_ARN`), it is `HS256`, as before ES256.
    pub signing_algorithm: SigningAlgorithm,
    /// `SIGNING_SECRET`: a literal signing key for local runs and tests.
    pub signing_secret: Option<SecretBytes>,
    /// `SIGNING_SECRET_ARN`: the Secrets Manager secret holding the signing key (deployed).
    pub signing_secret_arn: Option<String>,
    /// `SIGNING_KEY_CACHE_SECONDS` (default 300): how long loaded keys are used before a reload.
    pub signing_key_cache: Duration,
    /// `ACCESS_TOKEN_TTL_SECONDS` (default 900).
    pub access_token_ttl: i64,
    /// `REFRESH_TOKEN_TTL_SECONDS` (default 30 days): idle lifetime of a session.
    pub refresh_token_ttl: i64,
    /// `SESSION_MAX_AGE_SECONDS` (default 90 days): absolute lifetime of a session.
    pub session_max_age: i64,
    /// `REFRESH_REUSE_GRACE_SECONDS` (default 10).
    pub refresh_reuse_grace: i64,
    /// `TOKEN_ISSUER` (default `passport`).
    pub token_issuer: String,
    /// `TOKEN_AUDIENCE` (default unset: no `aud` claim).
    pub token_audience: Option<String>,
    /// `LOGIN_MAX_FAILURES` (default 5): attempts per account and source address within the
    /// lockout window.
    pub login_max_failures: u64,
    /// `LOGIN_ACCOUNT_MAX_FAILURES` (default 100): attempts per account from all addresses
    /// within the window (only a distributed attack reaches it).
    pub login_account_max_failures: u64,
    /// `MAX_SESSIONS_PER_ACCOUNT` (default 100): a login beyond it ends the least recently used
    /// session.
    pub max_sessions_per_account: u64,
    /// `REDIS_AUTH_SECRET_ARN` (default unset): a Secrets Manager secret holding the cache
    /// user's `{"username", "password"}`, read at start (the deployed cache's access control).
    pub redis_auth_secret_arn: Option<String>,
    /// `ALLOWED_ORIGINS` (default none): exact origins (`scheme://host[:port]`, comma-separated)
    /// that may call the API from a browser, with credentials (CORS).
    pub allowed_origins: Vec<String>,
    /// The session cookie of the cookie transport, from `COOKIE_NAME_SUFFIX` (default none;
    /// two deployments on one host, or two `local-api` ports, set different ones, since
    /// cookies do not isolate by port) and `COOKIE_PATH_PREFIX` (default none: `Path=/`; a
    /// custom-domain base path or a REST stage, e.g. `/auth`).
    pub session_cookie: SessionCookie,
    /// `LOGIN_LOCKOUT_SECONDS` (default 900): the failure-counting window.
    pub login_lockout_seconds: i64,
    /// `LOGIN_IP_MAX_FAILURES` (default 50) per source IP within the same window.
    pub login_ip_max_failures: u64,
    /// `PASSPORT_RETENTION_SECONDS` (default 30 days): how long after its expiry a web-app
    /// passport still renews into one for the same end user (its session record lives as
    /// long); after that a visitor starts over as a new end user.
    pub passport_retention: i64,
    /// `PASSPORT_IP_MAX_PER_HOUR` (default 60): new anonymous end users per source IP per
    /// hour (renewals that keep an identity do not count).
    pub passport_ip_max_per_hour: u64,
    /// `TRUSTED_ORIGIN_SECRET` (unset): the value of `X-Passport-Origin-Secret` that the
    /// deployment's CloudFront adds to its origin requests; with it, such a request's client
    /// address is the viewer's (`CloudFront-Viewer-Address`, `http::client_address`).
    pub trusted_origin_secret: Option<SecretBytes>,
    /// `IPV6_LIMIT_PREFIX` (default 64): per-address limits count an IPv6 client by this many
    /// leading bits of its address (a host usually holds a whole /64).
    pub ipv6_limit_prefix: u8,
    /// `PRIVATE_PASSPORTS_PER_APP` (default 5): live passport sessions one account keeps in one
    /// private app; a new one ends the oldest beyond it.
    pub private_passports_per_app: u64,
    /// `PRIVATE_PASSPORT_MAX_TTL_SECONDS` (default 86400): the longest a private app's passport
    /// lives, whatever the app's own lifetime (each renewal needs a live account session).
    pub private_passport_max_ttl: i64,
    /// `REAUTH_MAX_AGE_SECONDS` (default 600): the dangerous routes (the route table's
    /// `recent_auth`) need the session to have authenticated within this many seconds.
    pub reauth_max_age: i64,
    /// `PASSKEY_ORIGINS` (default: `ALLOWED_ORIGINS`): the origins of the pages where passkeys
    /// are registered and used; none turns passkeys off.
    pub passkey_origins: Vec<String>,
    /// `PASSKEY_RP_ID` (default: the host of the first passkey origin): the WebAuthn
    /// relying-party id, a registrable suffix of every passkey origin's host.
    pub passkey_rp_id: Option<String>,
    /// `DBSC_BINDING` (default `offered`): whether cookie-transport sessions are offered Device
    /// Bound Session Credentials, and whether a session bound once must keep presenting its
    /// bound cookie to refresh (`required`).
    pub dbsc_binding: DbscBinding,
    /// `DBSC_COOKIE_SECONDS` (default 600): the lifetime of the device-bound cookie; the
    /// browser renews it with a proof signed by its device key.
    pub dbsc_cookie_seconds: i64,
}

/// Device Bound Session Credentials for the cookie transport (`DBSC_BINDING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbscBinding {
    /// Not offered.
    Off,
    /// Offered at each cookie-transport login; a browser without DBSC keeps today's cookie.
    Offered,
    /// Offered, and a session bound once refreshes only with a live bound cookie (a copied
    /// refresh cookie alone cannot downgrade it).
    Required,
}

/// How a function logs: read by its log subscriber before [`Config`] exists, and never part of
/// it (README: `RUST_LOG` is "read by the log subscriber"). Lambda's advanced logging controls
/// come first: `AWS_LAMBDA_LOG_LEVEL` over `RUST_LOG`, and `AWS_LAMBDA_LOG_FORMAT=JSON`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// The filter: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`; `None` when neither is set.
    pub filter: Option<String>,
    /// `AWS_LAMBDA_LOG_FORMAT` is `JSON` (any case).
    pub json: bool,
}

impl LogSettings {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self {
            filter: std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .or_else(|_| std::env::var("RUST_LOG"))
                .ok(),
            json: std::env::var("AWS_LAMBDA_LOG_FORMAT")
                .is_ok_and(|f| f.eq_ignore_ascii_case("json")),
        }
    }
}

/// Every variable [`Config`] reads, with its default as it would be written in the environment
/// (`None`: unset). The one place defaults live: [`Config::default`] parses these, and a test
/// holds `template.yaml`'s parameters and README's configuration table to them.
pub const VARIABLES: &[(&str, Option<&str>)] = &[
    ("REDIS_URL", None),
    ("REDIS_CLUSTER", Some("false")),
    ("REDIS_CONNECT_TIMEOUT_MS", Some("1000")),
    ("REDIS_RESPONSE_TIMEOUT_MS", Some("1000")),
    ("REDIS_REPLICA_ACKS", Some("auto")),
    ("REDIS_REPLICA_ACK_TIMEOUT_MS", Some("500")),
    ("SIGNING_ALGORITHM", Some("ES256")),
    ("SIGNING_SECRET_ARN", None),
    ("SIGNING_KEY_CACHE_SECONDS", Some("300")),
    ("SIGNING_SECRET", None),
    ("ACCESS_TOKEN_TTL_SECONDS", Some("900")),
    ("REFRESH_TOKEN_TTL_SECONDS", Some("2592000")),
    ("SESSION_MAX_AGE_SECONDS", Some("7776000")),
    ("REFRESH_REUSE_GRACE_SECONDS", Some("10")),
    ("TOKEN_ISSUER", Some("passport")),
    ("TOKEN_AUDIENCE", None),
    ("LOGIN_MAX_FAILURES", Some("5")),
    ("LOGIN_LOCKOUT_SECONDS", Some("900")),
    ("LOGIN_IP_MAX_FAILURES", Some("50")),
    ("LOGIN_ACCOUNT_MAX_FAILURES", Some("100")),
    ("MAX_SESSIONS_PER_ACCOUNT", Some("100")),
    ("ALLOWED_ORIGINS", None),
    ("REDIS_AUTH_SECRET_ARN", None),
    ("COOKIE_NAME_SUFFIX", None),
    ("COOKIE_PATH_PREFIX", None),
    ("PASSPORT_RETENTION_SECONDS", Some("2592000")),
    ("PASSPORT_IP_MAX_PER_HOUR", Some("60")),
    ("TRUSTED_ORIGIN_SECRET", None),
    ("IPV6_LIMIT_PREFIX", Some("64")),
    ("PRIVATE_PASSPORTS_PER_APP", Some("5")),
    ("PRIVATE_PASSPORT_MAX_TTL_SECONDS", Some("86400")),
    ("REAUTH_MAX_AGE_SECONDS", Some("600")),
    ("PASSKEY_ORIGINS", None),
    ("PASSKEY_RP_ID", None),
    ("DBSC_BINDING", Some("offered")),
    ("DBSC_COOKIE_SECONDS", Some("600")),
];

fn default_of(name: &str) -> Option<String> {
    VARIABLES
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, d)| d.map(str::to_string))
}

impl Default for Config {
    /// The configuration of an empty environment: [`VARIABLES`]' defaults.
    fn default() -> Self {
        match Self::from_lookup(|_| None) {
            Ok(c) => c,
            // The defaults are constants that a unit test parses: this cannot happen.
            Err(e) => unreachable!("the defaults in VARIABLES do not parse: {e}"),
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_or(|_| None)
    }

    /// Reads the process environment, taking `fallback`'s value for a variable that is unset or
    /// empty there (before [`VARIABLES`]' default): how `local-api` gives each port its own
    /// `COOKIE_NAME_SUFFIX`.
    pub fn from_env_or(fallback: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .or_else(|| fallback(name))
        })
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests). Empty values
    /// count as unset; an unset variable takes its default from [`VARIABLES`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            debug_assert!(
                VARIABLES.iter().any(|(n, _)| *n == name),
                "{name} not in VARIABLES"
            );
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .or_else(|| default_of(name))
        };
        let cfg = Self {
            redis_url: match get("REDIS_URL") {
                Some(url)
                    if url.split(',').all(|u| {
                        let u = u.trim();
                        u.starts_with("redis://") || u.starts_with("rediss://")
                    }) =>
                {
                    Some(url)
                }
                Some(_) => {
                    return Err(invalid(
                        "REDIS_URL",
                        "must start with redis:// or rediss://",
                    ));
                }
                None => None,
            },
            redis_cluster: flag(&get, "REDIS_CLUSTER")?,
            redis_connect_timeout: Duration::from_millis(positive(
                &get,
                "REDIS_CONNECT_TIMEOUT_MS",
            )?),
            redis_response_timeout: Duration::from_millis(positive(
                &get,
                "REDIS_RESPONSE_TIMEOUT_MS",
            )?),
            redis_replica_acks: match get("REDIS_REPLICA_ACKS") {
                Some(v) => ReplicaAcks::parse(&v).ok_or_else(|| {
                    invalid("REDIS_REPLICA_ACKS", "must be `auto` or a whole number")
                })?,
                None => ReplicaAcks::Auto,
            },
            redis_replica_ack_timeout: Duration::from_millis(positive(
                &get,
                "REDIS_REPLICA_ACK_TIMEOUT_MS",
            )?),
            signing_algorithm: match lookup("SIGNING_ALGORITHM").filter(|v| !v.trim().is_empty()) {
                Some(v) => SigningAlgorithm::parse(&v)
                    .ok_or_else(|| invalid("SIGNING_ALGORITHM", "must be `ES256` or `HS256`"))?,
                // A literal key alone signs as it always has; set the variable to change that.
                None if get("SIGNING_SECRET").is_some() && get("SIGNING_SECRET_ARN").is_none() => {
                    SigningAlgorithm::Hs256
                }
                None => SigningAlgorithm::Es256,
            },
            signing_secret: match get("SIGNING_SECRET") {
                Some(s) if s.len() < MIN_KEY_BYTES => {
                    return Err(invalid(
                        "SIGNING_SECRET",
                        format!(
                            "must be at least {MIN_KEY_BYTES} bytes long, got {}",
                            s.len()
                        ),
                    ));
                }
                Some(s) => Some(SecretBytes::new(s.into_bytes())),
                None => None,
            },
            signing_secret_arn: get("SIGNING_SECRET_ARN"),
            signing_key_cache: Duration::from_secs(positive(&get, "SIGNING_KEY_CACHE_SECONDS")?),
            access_token_ttl: seconds(&get, "ACCESS_TOKEN_TTL_SECONDS")?,
            refresh_token_ttl: seconds(&get, "REFRESH_TOKEN_TTL_SECONDS")?,
            session_max_age: seconds(&get, "SESSION_MAX_AGE_SECONDS")?,
            // Zero is allowed: it turns the grace window off.
            refresh_reuse_grace: number(&get, "REFRESH_REUSE_GRACE_SECONDS")? as i64,
            token_issuer: get("TOKEN_ISSUER").unwrap_or_default(),
            token_audience: get("TOKEN_AUDIENCE"),
            login_max_failures: positive(&get, "LOGIN_MAX_FAILURES")?,
            login_lockout_seconds: seconds(&get, "LOGIN_LOCKOUT_SECONDS")?,
            login_ip_max_failures: positive(&get, "LOGIN_IP_MAX_FAILURES")?,
            login_account_max_failures: positive(&get, "LOGIN_ACCOUNT_MAX_FAILURES")?,
            max_sessions_per_account: positive(&get, "MAX_SESSIONS_PER_ACCOUNT")?,
            allowed_origins: origins("ALLOWED_ORIGINS", get("ALLOWED_ORIGINS").as_deref())?,
            redis_auth_secret_arn: get("REDIS_AUTH_SECRET_ARN"),
            session_cookie: session_cookie(
                get("COOKIE_NAME_SUFFIX").as_deref(),
                get("COOKIE_PATH_PREFIX").as_deref(),
            )?,
            passport_retention: seconds(&get, "PASSPORT_RETENTION_SECONDS")?,
            passport_ip_max_per_hour: positive(&get, "PASSPORT_IP_MAX_PER_HOUR")?,
            trusted_origin_secret: match get("TRUSTED_ORIGIN_SECRET") {
                Some(s) if s.len() < MIN_KEY_BYTES => {
                    return Err(invalid(
                        "TRUSTED_ORIGIN_SECRET",
                        format!("must be at least {MIN_KEY_BYTES} bytes long"),
                    ));
                }
                s => s.map(|s| SecretBytes::new(s.into_bytes())),
            },
            ipv6_limit_prefix: match number(&get, "IPV6_LIMIT_PREFIX")? {
                n @ 1..=128 => n as u8,
                _ => return Err(invalid("IPV6_LIMIT_PREFIX", "must be 1 to 128")),
            },
            private_passports_per_app: positive(&get, "PRIVATE_PASSPORTS_PER_APP")?,
            private_passport_max_ttl: seconds(&get, "PRIVATE_PASSPORT_MAX_TTL_SECONDS")?,
            reauth_max_age: seconds(&get, "REAUTH_MAX_AGE_SECONDS")?,
            passkey_origins: match get("PASSKEY_ORIGINS") {
                Some(list) => origins("PASSKEY_ORIGINS", Some(&list))?,
                None => origins_within(
                    &origins("ALLOWED_ORIGINS", get("ALLOWED_ORIGINS").as_deref())?,
                    get("PASSKEY_RP_ID").as_deref(),
                ),
            },
            passkey_rp_id: get("PASSKEY_RP_ID").map(|id| id.trim().to_string()),
            dbsc_binding: match get("DBSC_BINDING")
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref()
            {
                Some("off") => DbscBinding::Off,
                Some("offered") | None => DbscBinding::Offered,
                Some("required") => DbscBinding::Required,
                Some(_) => return Err(invalid("DBSC_BINDING", "must be off, offered or required")),
            },
            dbsc_cookie_seconds: seconds(&get, "DBSC_COOKIE_SECONDS")?,
        };
        if cfg.refresh_reuse_grace >= cfg.refresh_token_ttl {
            return Err(invalid(
                "REFRESH_REUSE_GRACE_SECONDS",
                "must be shorter than REFRESH_TOKEN_TTL_SECONDS",
            ));
        }
        let mut cfg = cfg;
        if cfg.redis_replica_ack_timeout >= cfg.redis_response_timeout {
            // `WAIT` is one command: it must answer within the response timeout.
            if lookup("REDIS_REPLICA_ACK_TIMEOUT_MS").is_some_and(|v| !v.trim().is_empty()) {
                return Err(invalid(
                    "REDIS_REPLICA_ACK_TIMEOUT_MS",
                    "must be shorter than REDIS_RESPONSE_TIMEOUT_MS (WAIT must answer within it)",
                ));
            }
            // Left at its default under a short response timeout: half of it.
            cfg.redis_replica_ack_timeout = cfg.redis_response_timeout / 2;
        }
        if !cfg.redis_cluster && cfg.redis_url.as_deref().is_some_and(|u| u.contains(',')) {
            return Err(invalid(
                "REDIS_URL",
                "lists several nodes: set REDIS_CLUSTER=true for a cluster",
            ));
        }
        Ok(cfg)
    }
}

/// The origins of `allowed` where passkeys can work: those on a domain (not an IP address)
/// within the relying-party id (`rp_id`, else the first such origin's host). How the
/// `ALLOWED_ORIGINS` of a deployment with several sites turn into passkey origins.
pub fn origins_within(allowed: &[String], rp_id: Option<&str>) -> Vec<String> {
    let host = |o: &str| {
        webauthn_rs::prelude::Url::parse(o)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
    };
    let on_domain: Vec<(String, String)> = allowed
        .iter()
        .filter_map(|o| Some((o.clone(), host(o)?)))
        .filter(|(_, h)| {
            h.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_err()
        })
        .collect();
    let Some(rp) = rp_id
        .map(str::to_string)
        .or_else(|| on_domain.first().map(|(_, h)| h.clone()))
    else {
        return Vec::new();
    };
    on_domain
        .into_iter()
        .filter(|(_, h)| *h == rp || h.ends_with(&format!(".{rp}")))
        .map(|(o, _)| o)
        .collect()
}

const MAX_SECONDS: u64 = 10 * 365 * 86_400;

/// The session cookie, with its error naming the variable that broke a browser rule.
fn session_cookie(
    suffix: Option<&str>,
    path_prefix: Option<&str>,
) -> Result<SessionCookie, ConfigError> {
    SessionCookie::new(suffix.map(str::trim), path_prefix.map(str::trim)).map_err(|rule| {
        let name = match rule {
            CookieRule::Suffix => "COOKIE_NAME_SUFFIX",
            CookieRule::Path | CookieRule::HostPrefix | CookieRule::NotSecure => {
                "COOKIE_PATH_PREFIX"
            }
        };
        invalid(name, rule.to_string())
    })
}

/// Whether browsers count `host` (of an `http://` origin) as a secure context: loopback
/// (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`), per the W3C Secure Contexts spec,
/// "potentially trustworthy origin". Only there does a `Secure` cookie survive plain http.
fn loopback(host_port: &str) -> bool {
    let host = if host_port.starts_with('[') {
        host_port
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default().to_string()
    };
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Exact origins: `http(s)://host[:port]` with nothing after it. A wildcard is refused: with
/// credentials allowed, a browser refuses `*`, and a pattern would let any matching site in.
fn origins(name: &'static str, value: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for raw in value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        if raw.contains('*') {
            return Err(invalid(
                name,
                format!("{raw:?}: list exact origins, no wildcard"),
            ));
        }
        let rest = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://"))
            .ok_or_else(|| invalid(name, format!("{raw:?}: an origin is http(s)://host[:port]")))?;
        let host_ok = !rest.is_empty()
            && !rest.contains(['/', '?', '#', '@', ' '])
            && rest.is_ascii()
            && rest == rest.to_ascii_lowercase();
        if !host_ok {
            return Err(invalid(
                name,
                format!("{raw:?}: an origin is http(s)://host[:port], lower-case, no path"),
            ));
        }
        if raw.starts_with("http://") && !loopback(rest) {
            return Err(invalid(
                name,
                format!(
                    "{raw:?}: a page on plain http (other than loopback) is not a secure \
                     context, and the browser drops the Secure session cookie there; serve it \
                     over https (README: \"On a LAN address\")"
                ),
            ));
        }
        out.push(raw.to_string());
    }
    Ok(out)
}

fn flag(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<bool, ConfigError> {
    match get(name).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(_) => Err(invalid(name, "must be true or false")),
    }
}

fn number(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<u64, ConfigError> {
    get(name)
        .unwrap_or_default()
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n <= MAX_SECONDS)
        .ok_or_else(|| invalid(name, format!("must be a whole number up to {MAX_SECONDS}")))
}

fn positive(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<u64, ConfigError> {
    match number(get, name)? {
        0 => Err(invalid(name, "must be greater than zero")),
        n => Ok(n),
    }
}

fn seconds(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<i64, ConfigError> {
    positive(get, name).map(|n| n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn the_algorithm_is_es256_unless_a_literal_key_alone_or_the_variable_says_hs256() {
        let literal = ("SIGNING_SECRET", "0123456789abcdef0123456789abcdef");
        let arn = (
            "SIGNING_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:k",
        );
        let alg = |pairs: &[(&str, &str)]| from(pairs).unwrap().signing_algorithm;
        assert_eq!(alg(&[]), SigningAlgorithm::Es256);
        assert_eq!(alg(&[arn]), SigningAlgorithm::Es256);
        assert_eq!(alg(&[literal]), SigningAlgorithm::Hs256);
        assert_eq!(alg(&[literal, arn]), SigningAlgorithm::Es256);
        assert_eq!(
            alg(&[literal, ("SIGNING_ALGORITHM", "es256")]),
            SigningAlgorithm::Es256
        );
        assert_eq!(
            alg(&[arn, ("SIGNING_ALGORITHM", "HS256")]),
            SigningAlgorithm::Hs256
        );
        let err = from(&[("SIGNING_ALGORITHM", "RS256")]).unwrap_err();
        assert!(err.to_string().contains("SIGNING_ALGORITHM"), "{err}");
    }

    #[test]
    fn the_replica_wait_fits_inside_the_response_timeout() {
        let c = from(&[("REDIS_RESPONSE_TIMEOUT_MS", "400")]).unwrap();
        assert_eq!(c.redis_replica_ack_timeout, Duration::from_millis(200));
        let c = from(&[]).unwrap();
        assert_eq!(c.redis_replica_ack_timeout, Duration::from_millis(500));
        let err = from(&[
            ("REDIS_RESPONSE_TIMEOUT_MS", "400"),
            ("REDIS_REPLICA_ACK_TIMEOUT_MS", "400"),
        ])
        .unwrap_err();
        assert!(
            err.to_string().contains("REDIS_REPLICA_ACK_TIMEOUT_MS"),
            "{err}"
        );
    }

    #[test]
    fn every_default_parses_and_every_variable_is_listed_once() {
        let _ = Config::default();
        let mut names: Vec<&str> = VARIABLES.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), VARIABLES.len());
        // An unknown name would read nothing: every read goes through the table.
        let read = std::cell::RefCell::new(Vec::new());
        let _ = Config::from_lookup(|n| {
            read.borrow_mut().push(n.to_string());
            None
        });
        for n in read.borrow().iter() {
            assert!(
                names.contains(&n.as_str()),
                "{n} is read but not in VARIABLES"
            );
        }
        for n in &names {
            assert!(
                read.borrow().iter().any(|r| r == n),
                "{n} is in VARIABLES, never read"
            );
        }
    }

    #[test]
    fn defaults_match_the_design() {
        let c = from(&[]).unwrap();
        assert_eq!(c.access_token_ttl, 900);
        assert_eq!(c.refresh_token_ttl, 2_592_000);
        assert_eq!(c.session_max_age, 7_776_000);
        assert_eq!(c.refresh_reuse_grace, 10);
        assert_eq!(c.token_issuer, "passport");
        assert_eq!(c.token_audience, None);
        assert_eq!(c.login_max_failures, 5);
        assert_eq!(c.login_lockout_seconds, 900);
        assert_eq!(c.login_ip_max_failures, 50);
        assert!(c.redis_url.is_none());
        assert!(c.signing_secret.is_none());
        assert!(c.signing_secret_arn.is_none());
        assert_eq!(c.signing_key_cache, Duration::from_secs(300));
    }

    #[test]
    fn short_signing_secret_is_refused_without_echoing_it() {
        let err = from(&[("SIGNING_SECRET", "short-secret-value")]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("SIGNING_SECRET"), "{msg}");
        assert!(msg.contains("32 bytes"), "{msg}");
        assert!(!msg.contains("short-secret-value"), "{msg}");
    }

    #[test]
    fn secret_debug_is_redacted() {
        let c = from(&[("SIGNING_SECRET", "0123456789abcdef0123456789abcdef")]).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("0123456789abcdef"), "{dbg}");
    }

    #[test]
    fn bad_numbers_name_the_variable() {
        for (name, value) in [
            ("ACCESS_TOKEN_TTL_SECONDS", "fifteen"),
            ("ACCESS_TOKEN_TTL_SECONDS", "0"),
            ("LOGIN_MAX_FAILURES", "-1"),
            ("REDIS_RESPONSE_TIMEOUT_MS", "1e3"),
        ] {
            let err = from(&[(name, value)]).unwrap_err().to_string();
            assert!(err.starts_with(name), "{err}");
        }
    }

    #[test]
    fn redis_url_scheme_is_checked_and_overrides_apply() {
        assert!(from(&[("REDIS_URL", "http://x")]).is_err());
        let c = from(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("TOKEN_AUDIENCE", "web"),
            ("REFRESH_REUSE_GRACE_SECONDS", "0"),
            ("LOGIN_MAX_FAILURES", "3"),
        ])
        .unwrap();
        assert_eq!(c.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert!(!c.redis_cluster);
        assert!(from(&[("REDIS_CLUSTER", "maybe")]).is_err());
        assert!(from(&[("REDIS_URL", "redis://a:1,http://b:2")]).is_err());
        assert!(from(&[("REDIS_URL", "redis://a:1,redis://b:2")]).is_err());
        let cluster = from(&[
            ("REDIS_URL", "redis://a:7000, redis://b:7001"),
            ("REDIS_CLUSTER", "TRUE"),
        ])
        .unwrap();
        assert!(cluster.redis_cluster);
        assert_eq!(c.token_audience.as_deref(), Some("web"));
        assert_eq!(c.refresh_reuse_grace, 0);
        assert_eq!(c.login_max_failures, 3);
    }

    #[test]
    fn allowed_origins_are_exact() {
        let c = from(&[(
            "ALLOWED_ORIGINS",
            "https://app.example.com, http://127.0.0.1:8080",
        )])
        .unwrap();
        assert_eq!(
            c.allowed_origins,
            ["https://app.example.com", "http://127.0.0.1:8080"]
        );
        assert!(from(&[]).unwrap().allowed_origins.is_empty());
        // Loopback is a secure context: a Secure cookie works there over http.
        for ok in [
            "http://localhost:5173",
            "http://app.localhost",
            "http://127.0.0.2:80",
            "http://[::1]:8080",
        ] {
            assert!(from(&[("ALLOWED_ORIGINS", ok)]).is_ok(), "{ok}");
        }
        for bad in [
            "*",
            "https://*.example.com",
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "ftp://x",
            "https://App.example.com",
            "http://192.168.1.20:3000",
            "http://app.example.com",
            "http://127.0.0.1.example.com",
        ] {
            let err = from(&[("ALLOWED_ORIGINS", bad)]).unwrap_err().to_string();
            assert!(err.starts_with("ALLOWED_ORIGINS"), "{bad}: {err}");
        }
    }

    #[test]
    fn grace_must_be_shorter_than_idle_lifetime() {
        let err = from(&[
            ("REFRESH_TOKEN_TTL_SECONDS", "10"),
            ("REFRESH_REUSE_GRACE_SECONDS", "10"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("REFRESH_REUSE_GRACE_SECONDS"));
    }

    #[test]
    fn cookie_settings_a_browser_would_drop_stop_the_start_naming_the_variable() {
        let c = from(&[]).unwrap();
        assert_eq!(c.session_cookie.name(), "__Host-passport_refresh");
        let c = from(&[
            ("COOKIE_NAME_SUFFIX", "_3000"),
            ("COOKIE_PATH_PREFIX", "/auth"),
        ])
        .unwrap();
        assert_eq!(c.session_cookie.name(), "__Secure-passport_refresh_3000");
        assert_eq!(c.session_cookie.path(), "/auth");
        for (name, value) in [
            ("COOKIE_NAME_SUFFIX", "a;b"),
            ("COOKIE_NAME_SUFFIX", "two words"),
            ("COOKIE_PATH_PREFIX", "auth"),
            ("COOKIE_PATH_PREFIX", "/a;Domain=evil.test"),
        ] {
            let err = from(&[(name, value)]).unwrap_err().to_string();
            assert!(err.starts_with(name), "{value}: {err}");
        }
    }

    fn origins(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn allowed_origins_give_the_passkey_origins_that_can_work() {
        let allowed = origins(&[
            "http://127.0.0.1:8080",
            "https://app.example.com",
            "https://other.org",
            "https://id.app.example.com",
        ]);
        assert_eq!(
            origins_within(&allowed, None),
            origins(&["https://app.example.com", "https://id.app.example.com"])
        );
        assert_eq!(
            origins_within(&allowed, Some("other.org")),
            origins(&["https://other.org"])
        );
        assert!(origins_within(&origins(&["http://[::1]:3000"]), None).is_empty());
    }
}
