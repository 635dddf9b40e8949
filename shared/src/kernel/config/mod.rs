//! `Config::from_env`: the one place that reads the environment. Each setting is declared once
//! in [`settings::SETTINGS`] (variable, default, meaning, where the template sets it); this reads
//! them into typed fields and checks how they fit together.

pub mod settings;

use crate::kernel::authentication::Acr;
use crate::kernel::cookie::SessionCookie;
use std::time::Duration;

mod kinds;
mod values;

pub use kinds::{DbscBinding, LogSettings, ReplicaAcks, SecretBytes, SigningAlgorithm};
pub use values::origins_within;
use values::{flag, number, origins, positive, seconds, session_cookie};

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

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// Everything Passport reads from its environment, with the defaults of [`settings::SETTINGS`].
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
    /// `PUBLIC_BASE_URL` (default unset): the API's public URL, without a trailing `/`.
    pub public_base_url: Option<String>,
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
    /// `PASSPORT_NETWORK_MAX_PER_HOUR` (default 600): new anonymous end users per IPv6 /48 per
    /// hour.
    pub passport_network_max_per_hour: u64,
    /// `PASSPORT_APP_MAX_PER_HOUR` (default 3600): new anonymous end users per app per hour.
    pub passport_app_max_per_hour: u64,
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
    /// `SIGNUP=open`: anyone may create an account.
    pub signup_open: bool,
    /// `REQUIRE_VERIFIED_EMAIL`: an unverified account cannot sign in.
    pub require_verified_email: bool,
    /// `APP_URL`: the page mailed links open (without its trailing `/`).
    pub app_url: Option<String>,
    /// `MAIL_QUEUE_URL`: the SQS queue mail goes through.
    pub mail_queue_url: Option<String>,
    /// `MAIL_FROM`: the sender of every mail.
    pub mail_from: Option<String>,
    /// `SMTP_URL` (`local-api`): its SMTP server; it may hold a password.
    pub smtp_url: Option<SecretBytes>,
    /// `MAIL_MAX_PER_EMAIL_PER_HOUR`.
    pub mail_max_per_email: u64,
    /// `MAIL_MAX_PER_CLIENT_PER_HOUR`.
    pub mail_max_per_client: u64,
    /// `CEREMONIES_MAX_PER_CLIENT`: passkey and "Sign in with …" ceremonies one client address
    /// may start per 10 minutes.
    pub ceremonies_max_per_client: u64,
    /// `MFA_SECRET_ARN`: the Secrets Manager secret the second factor's key comes from.
    pub mfa_secret_arn: Option<String>,
    /// `MFA_SECRET`: a literal second-factor key (local runs and tests).
    pub mfa_secret: Option<SecretBytes>,
    /// `TOTP_ISSUER`: the name authenticator apps show.
    pub totp_issuer: String,
    /// `MFA=required`: a one-factor session may only set up a second factor.
    pub mfa_required: bool,
    /// `OIDC_PROVIDERS`: the identity providers' JSON (parsed and checked by `federation`).
    pub oidc_providers: Option<String>,
    /// `OIDC_CLIENT_SECRETS_ARN`: the Secrets Manager secret of the providers' client secrets.
    pub oidc_client_secrets_arn: Option<String>,
    /// `OIDC_CLIENT_SECRETS`: the providers' client secrets as literal JSON (local, tests).
    pub oidc_client_secrets: Option<SecretBytes>,
    /// `OIDC_RETURN_TO`: where a federated sign-in may return, beside the page.
    pub oidc_return_to: Vec<String>,
    /// `AUTHORIZER_REQUIRED_ACR`: the lowest level the account authorizer lets through.
    pub authorizer_required_acr: Acr,
}

fn default_of(name: &str) -> Option<String> {
    settings::setting(name).and_then(|s| s.default.map(str::to_string))
}

impl Default for Config {
    /// The configuration of an empty environment: [`settings::SETTINGS`]' defaults.
    fn default() -> Self {
        match Self::from_lookup(|_| None) {
            Ok(c) => c,
            // The defaults are constants that a unit test parses: this cannot happen.
            Err(e) => unreachable!("the defaults in SETTINGS do not parse: {e}"),
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_or(|_| None)
    }

    /// Reads the process environment, taking `fallback`'s value for a variable that is unset or
    /// empty there (before the setting's default): how `local-api` gives each port its own
    /// `COOKIE_NAME_SUFFIX`.
    pub fn from_env_or(fallback: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .or_else(|| fallback(name))
        })
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests). Empty values
    /// count as unset; an unset variable takes its default from [`settings::SETTINGS`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            debug_assert!(
                settings::setting(name).is_some(),
                "{name} is not in SETTINGS"
            );
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .or_else(|| default_of(name))
        };
        let cfg = Self {
            redis_url: redis_url(get("REDIS_URL"))?,
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
            signing_algorithm: signing_algorithm(
                lookup("SIGNING_ALGORITHM").filter(|v| !v.trim().is_empty()),
                get("SIGNING_SECRET").is_some() && get("SIGNING_SECRET_ARN").is_none(),
            )?,
            signing_secret: secret(get("SIGNING_SECRET"), "SIGNING_SECRET")?,
            signing_secret_arn: get("SIGNING_SECRET_ARN"),
            signing_key_cache: Duration::from_secs(positive(&get, "SIGNING_KEY_CACHE_SECONDS")?),
            access_token_ttl: seconds(&get, "ACCESS_TOKEN_TTL_SECONDS")?,
            refresh_token_ttl: seconds(&get, "REFRESH_TOKEN_TTL_SECONDS")?,
            session_max_age: seconds(&get, "SESSION_MAX_AGE_SECONDS")?,
            // Zero is allowed: it turns the grace window off.
            refresh_reuse_grace: number(&get, "REFRESH_REUSE_GRACE_SECONDS")? as i64,
            token_issuer: get("TOKEN_ISSUER").unwrap_or_default(),
            token_audience: get("TOKEN_AUDIENCE"),
            public_base_url: public_base_url(get("PUBLIC_BASE_URL"))?,
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
            passport_network_max_per_hour: positive(&get, "PASSPORT_NETWORK_MAX_PER_HOUR")?,
            passport_app_max_per_hour: positive(&get, "PASSPORT_APP_MAX_PER_HOUR")?,
            trusted_origin_secret: secret(get("TRUSTED_ORIGIN_SECRET"), "TRUSTED_ORIGIN_SECRET")?,
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
            dbsc_binding: DbscBinding::parse(get("DBSC_BINDING").as_deref())
                .ok_or_else(|| invalid("DBSC_BINDING", "must be off, offered or required"))?,
            dbsc_cookie_seconds: seconds(&get, "DBSC_COOKIE_SECONDS")?,
            signup_open: match get("SIGNUP").as_deref().map(str::trim) {
                Some("open") => true,
                Some("off") => false,
                _ => return Err(invalid("SIGNUP", "must be open or off")),
            },
            require_verified_email: flag(&get, "REQUIRE_VERIFIED_EMAIL")?,
            app_url: public_base_url(get("APP_URL"))
                .map_err(|_| invalid("APP_URL", "must be an https:// URL (http:// only for localhost) with no query or fragment"))?,
            mail_queue_url: get("MAIL_QUEUE_URL"),
            mail_from: get("MAIL_FROM"),
            smtp_url: get("SMTP_URL").map(|u| SecretBytes::new(u.into_bytes())),
            mail_max_per_email: positive(&get, "MAIL_MAX_PER_EMAIL_PER_HOUR")?,
            mail_max_per_client: positive(&get, "MAIL_MAX_PER_CLIENT_PER_HOUR")?,
            ceremonies_max_per_client: positive(&get, "CEREMONIES_MAX_PER_CLIENT")?,
            mfa_secret_arn: get("MFA_SECRET_ARN"),
            mfa_secret: secret(get("MFA_SECRET"), "MFA_SECRET")?,
            totp_issuer: match get("TOTP_ISSUER") {
                Some(v) if !v.trim().is_empty() && !v.contains(':') && v.len() <= 64 => {
                    v.trim().to_string()
                }
                _ => {
                    return Err(invalid(
                        "TOTP_ISSUER",
                        "must be a name of at most 64 bytes without a colon",
                    ));
                }
            },
            mfa_required: match get("MFA").as_deref().map(str::trim) {
                Some("optional") => false,
                Some("required") => true,
                _ => return Err(invalid("MFA", "must be optional or required")),
            },
            oidc_providers: get("OIDC_PROVIDERS").filter(|v| !v.trim().is_empty()),
            oidc_client_secrets_arn: get("OIDC_CLIENT_SECRETS_ARN"),
            oidc_client_secrets: get("OIDC_CLIENT_SECRETS").map(|v| SecretBytes::new(v.into_bytes())),
            oidc_return_to: get("OIDC_RETURN_TO")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|u| !u.is_empty())
                        .map(|u| {
                            public_base_url(Some(u.to_string()))
                                .ok()
                                .flatten()
                                .ok_or_else(|| invalid("OIDC_RETURN_TO", "each entry must be an https:// URL (http:// only for localhost) with no query or fragment"))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default(),
            authorizer_required_acr: get("AUTHORIZER_REQUIRED_ACR")
                .as_deref()
                .map(str::trim)
                .and_then(Acr::parse)
                .ok_or_else(|| invalid("AUTHORIZER_REQUIRED_ACR", "must be aal1 or aal2"))?,
        };
        let mut cfg = cfg;
        cfg.fit_together(&lookup)?;
        Ok(cfg)
    }

    /// The checks of settings against each other, and the default that depends on another.
    fn fit_together(
        &mut self,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let cfg = self;
        if cfg.refresh_reuse_grace >= cfg.refresh_token_ttl {
            return Err(invalid(
                "REFRESH_REUSE_GRACE_SECONDS",
                "must be shorter than REFRESH_TOKEN_TTL_SECONDS",
            ));
        }
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
        Ok(())
    }
}

/// The process environment's `name`: the one place the configuration reads it (the settings
/// through [`Config::from_env_or`], the log settings through [`LogSettings::from_env`]).
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Whether `url` is an absolute `https://` URL, or `http://` on a loopback host (a local run),
/// with no query, fragment or space.
pub fn https_or_loopback(url: &str) -> bool {
    let loopback = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|p| {
            url.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    let https = url.strip_prefix("https://").is_some_and(|h| !h.is_empty());
    (https || loopback) && !url.contains(['?', '#', ' '])
}

/// `PUBLIC_BASE_URL`: an absolute `https://` URL (`http://` only for a loopback host, as
/// `local-api` serves), with no query or fragment; kept without its trailing `/`.
fn public_base_url(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(url) = value else { return Ok(None) };
    let url = url.trim().trim_end_matches('/');
    if !https_or_loopback(url) {
        return Err(invalid(
            "PUBLIC_BASE_URL",
            "must be an https:// URL (http:// only for localhost) with no query or fragment",
        ));
    }
    Ok(Some(url.to_string()))
}

/// `REDIS_URL`: one or more `redis://` or `rediss://` URLs.
fn redis_url(value: Option<String>) -> Result<Option<String>, ConfigError> {
    match value {
        Some(url)
            if url.split(',').all(|u| {
                let u = u.trim();
                u.starts_with("redis://") || u.starts_with("rediss://")
            }) =>
        {
            Ok(Some(url))
        }
        Some(_) => Err(invalid(
            "REDIS_URL",
            "must start with redis:// or rediss://",
        )),
        None => Ok(None),
    }
}

/// `SIGNING_ALGORITHM` as given; unset, HS256 for a literal key alone (as it always signed),
/// else ES256.
fn signing_algorithm(
    given: Option<String>,
    literal_key_alone: bool,
) -> Result<SigningAlgorithm, ConfigError> {
    match given {
        Some(v) => SigningAlgorithm::parse(&v)
            .ok_or_else(|| invalid("SIGNING_ALGORITHM", "must be `ES256` or `HS256`")),
        None if literal_key_alone => Ok(SigningAlgorithm::Hs256),
        None => Ok(SigningAlgorithm::Es256),
    }
}

/// A secret of at least [`MIN_KEY_BYTES`]; the error never echoes it.
fn secret(value: Option<String>, name: &'static str) -> Result<Option<SecretBytes>, ConfigError> {
    match value {
        Some(s) if s.len() < MIN_KEY_BYTES => Err(invalid(
            name,
            format!(
                "must be at least {MIN_KEY_BYTES} bytes long, got {}",
                s.len()
            ),
        )),
        s => Ok(s.map(|s| SecretBytes::new(s.into_bytes()))),
    }
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
    fn the_public_base_url_is_an_https_url() {
        let url = |v: &str| from(&[("PUBLIC_BASE_URL", v)]).map(|c| c.public_base_url);
        let kept = url("https://auth.example.com/prefix/").unwrap();
        assert_eq!(kept.as_deref(), Some("https://auth.example.com/prefix"));
        assert!(url("http://127.0.0.1:3000").is_ok(), "local-api's own");
        for refused in [
            "http://auth.example.com",
            "http://localhost.evil.example",
            "auth.example.com",
            "https://",
            "https://auth.example.com/?x=1",
            "javascript:alert(1)",
        ] {
            assert!(url(refused).is_err(), "{refused}");
        }
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
        let mut names: Vec<&str> = settings::SETTINGS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), settings::SETTINGS.len());
        // An unknown name would read nothing: every read goes through the table.
        let read = std::cell::RefCell::new(Vec::new());
        let _ = Config::from_lookup(|n| {
            read.borrow_mut().push(n.to_string());
            None
        });
        for n in read.borrow().iter() {
            assert!(
                names.contains(&n.as_str()),
                "{n} is read but not in SETTINGS"
            );
        }
        for n in &names {
            assert!(
                read.borrow().iter().any(|r| r == n),
                "{n} is in SETTINGS, never read"
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
