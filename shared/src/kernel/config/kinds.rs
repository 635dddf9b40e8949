//! The values of settings that are more than a number or a string: the replica count, the
//! signing algorithm, device binding's mode, secret bytes, and the log settings read apart.

use std::fmt;

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
        crate::kernel::redact::shown(f, "SecretBytes", &[("len", &self.0.len())])
    }
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

impl DbscBinding {
    /// Parses `off`, `offered` or `required` (any case); unset is `offered`.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("off") => Some(Self::Off),
            Some("offered") | None => Some(Self::Offered),
            Some("required") => Some(Self::Required),
            Some(_) => None,
        }
    }
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
            filter: super::env("AWS_LAMBDA_LOG_LEVEL").or_else(|| super::env("RUST_LOG")),
            json: super::env("AWS_LAMBDA_LOG_FORMAT")
                .is_some_and(|f| f.eq_ignore_ascii_case("json")),
        }
    }
}
