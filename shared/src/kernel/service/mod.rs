//! The service's kernel: [`Core`] holds the configuration, the keys, the token issuers, the
//! store, the clock and the password-checking pool, and does what every feature needs — sign a
//! session in, authorize a caller, check a recent authentication, keep a two-step exchange's
//! state, offer and check a device binding. Each feature adds its use cases as methods on
//! `Core<S>` for any store `S` that has its slice; `api::Service` is `Core<dyn api::Store>`.
//! No Lambda types and no HTTP here.

pub mod authorize;
pub mod binding;
pub mod notify;
pub mod public_keys;
pub mod recent;
pub mod second_step;
pub mod signin;
pub mod states;

use crate::kernel::authentication::Authentication;
use crate::kernel::clock::Clock;
use crate::kernel::config::Config;
use crate::kernel::error::{ApiError, StoreError};
use crate::kernel::ids::Id;
use crate::kernel::keys::{self, KeyProvider, KeyRing, VerifyingKeys};
use crate::kernel::security_events::{self, EventSink, SecurityEvent, stdout_sink};
use crate::kernel::store::KernelStore;
use crate::kernel::tokens::app_passport::PassportIssuer;
use crate::kernel::tokens::refresh::RefreshToken;
use crate::kernel::tokens::{TokenError, TokenIssuer, Verified};
use public_keys::{PublishedKeys, Publisher};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

pub use authorize::{Denied, bearer_token};
pub use signin::{ClientInfo, SignIn};

/// The tokens handed out at sign-in and refresh.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// JWT access token.
    pub access_token: String,
    /// Opaque refresh token.
    pub refresh_token: String,
    /// Access-token lifetime in seconds.
    pub expires_in: i64,
    /// Seconds until the session ends unless refreshed.
    pub refresh_token_expires_in: i64,
    /// The session's id.
    pub session_id: Id,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::kernel::redact::shown(
            f,
            "TokenPair",
            &[
                ("session_id", &self.session_id),
                ("expires_in", &self.expires_in),
            ],
        )
    }
}

/// What a feature keeps in the service beside the kernel's parts (a passkey relying party): one
/// value per type, set when the service is assembled (`api`).
#[derive(Default, Clone)]
pub struct Extensions(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl Extensions {
    /// Keeps `value`, replacing one of its type.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if one was kept.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref()
    }
}

/// The service's kernel on store `S`: configuration, keys, token settings and the store. Every
/// use case of Passport is a method, the kernel's here and each feature's in its folder.
pub struct Core<S: ?Sized> {
    config: Config,
    keys: KeyProvider,
    /// What checks signatures: the ring of `keys`, or (an ES256 function that only verifies)
    /// the public keys the signers published.
    verifier: Verifier,
    /// Publishes the ring's public keys before the first token it signs (ES256).
    publisher: Publisher,
    tokens: TokenIssuer,
    passports: PassportIssuer,
    store: Arc<S>,
    /// Bounds the argon2 verifications running at once to the CPUs there are: each takes
    /// 19 MiB and a core, so more at once only adds memory and starves the async side
    /// (whose store calls then time out). Waiting sign-ins queue here, holding nothing.
    password_checks: Arc<Semaphore>,
    /// argon2's memory, one workspace per permit of `password_checks` at most, made on first
    /// use and reused for the life of the process.
    workspaces: Arc<std::sync::Mutex<Vec<crate::kernel::accounts::Workspace>>>,
    /// Where security events go (standard output unless a test captures them).
    events: EventSink,
    /// Where the time comes from: the system's, or a test's manual clock.
    clock: Clock,
    extensions: Extensions,
}

/// Where a function's verifying keys come from.
enum Verifier {
    /// Its own ring (it signs, or HS256).
    Ring,
    /// The signers' published public keys (ES256, a function that only verifies).
    Published(PublishedKeys),
}

impl<S: ?Sized> std::fmt::Debug for Core<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: ?Sized> Core<S> {
    /// Assembles the kernel from its parts; `api::Service` adds the features' parts.
    pub fn assemble(config: Config, keys: KeyProvider, store: Arc<S>) -> Self {
        let tokens = TokenIssuer::new(
            &config.token_issuer,
            config.token_audience.as_deref(),
            config.access_token_ttl,
        );
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let passports = PassportIssuer::new(&config.token_issuer);
        Self {
            config,
            keys,
            verifier: Verifier::Ring,
            publisher: Publisher::default(),
            tokens,
            passports,
            store,
            password_checks: Arc::new(Semaphore::new(cpus)),
            workspaces: Arc::default(),
            events: stdout_sink(),
            clock: Clock::system(),
            extensions: Extensions::default(),
        }
    }

    /// The same service, reading the time from `clock` (a test's manual clock moves it across
    /// an expiry of the in-memory store without sleeping).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same service, with security events sent to `sink` (tests capture them).
    pub fn with_event_sink(mut self, sink: EventSink) -> Self {
        self.events = sink;
        self
    }

    /// The same service, verifying with the public keys the signers published (`published`)
    /// instead of its own ring: a function that only verifies (ES256).
    pub fn verifying_with(mut self, published: PublishedKeys) -> Self {
        self.verifier = Verifier::Published(published);
        self
    }

    /// The same service, keeping a feature's part (`api` does it as it assembles the service).
    pub fn with_extension<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }

    /// A feature's part, if the service was assembled with one.
    pub fn extension<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.extensions.get()
    }

    /// The clock the service reads.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store (operators' commands and tests use it directly).
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// The access-token settings.
    pub fn tokens(&self) -> &TokenIssuer {
        &self.tokens
    }

    /// The passport settings.
    pub fn passports(&self) -> &PassportIssuer {
        &self.passports
    }

    /// The key provider in force.
    pub fn keys(&self) -> &KeyProvider {
        &self.keys
    }

    /// Records a security event: one JSON line with its metric (see
    /// [`crate::kernel::security_events`]).
    pub fn security_event(
        &self,
        event: SecurityEvent,
        account: Option<Id>,
        session: Option<Id>,
        fields: &[(&str, serde_json::Value)],
    ) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        (self.events)(&security_events::line(
            event, account, session, fields, now_ms,
        ));
    }

    /// How many times a function that only verifies (ES256) has read the published keys;
    /// `None` for one that verifies with its own ring (tests and diagnostics).
    pub fn published_key_reads(&self) -> Option<u64> {
        match &self.verifier {
            Verifier::Ring => None,
            Verifier::Published(p) => Some(p.reads()),
        }
    }

    /// Verifies an access token against the ring in force; a `kid` the ring lacks may trigger
    /// one reload of the keys (rate-limited by the provider) and a second try.
    pub async fn verify_access_token(&self, token: &str, now: i64) -> Result<Verified, TokenError> {
        self.with_ring(|ring| self.tokens.verify(ring, token, now))
            .await
    }

    /// Runs `verify` on the keys in force; when it names a `kid` they lack, reloads them once
    /// (rate-limited: by the provider, or [`public_keys::UNKNOWN_KID_REFETCH`]) and runs it again.
    pub async fn with_ring<T>(
        &self,
        verify: impl Fn(&dyn VerifyingKeys) -> Result<T, TokenError>,
    ) -> Result<T, TokenError> {
        match &self.verifier {
            Verifier::Ring => match verify(&*self.keys.current()) {
                Err(TokenError::UnknownKey) => match self.keys.reload_for_unknown_kid().await {
                    Some(ring) => verify(&*ring),
                    None => Err(TokenError::UnknownKey),
                },
                other => other,
            },
            Verifier::Published(published) => match verify(&*published.current().await) {
                Err(TokenError::UnknownKey) => match published.refetch_for_unknown_kid().await {
                    Some(keys) => verify(&*keys),
                    None => Err(TokenError::UnknownKey),
                },
                other => other,
            },
        }
    }

    /// The pair for `refresh`, a token of `account`'s `session`, which now expires at
    /// `expires_at`, with an access token carrying `authentication`.
    #[allow(clippy::too_many_arguments)]
    pub fn pair(
        &self,
        ring: &KeyRing,
        account: Id,
        session: Id,
        refresh: &RefreshToken,
        expires_at: i64,
        authentication: &Authentication,
        email_verified: bool,
        now: i64,
    ) -> Result<TokenPair, ApiError> {
        let access_token = self
            .tokens
            .issue_authenticated(
                ring,
                account,
                session,
                authentication,
                Some(email_verified),
                now,
            )
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(TokenPair {
            access_token,
            refresh_token: refresh.encode(),
            expires_in: self.tokens.ttl(),
            refresh_token_expires_in: (expires_at - now).max(0),
            session_id: session,
        })
    }
}

impl<S: ?Sized + KernelStore> Core<S> {
    /// Publishes the ring's public keys now (ES256; nothing for HS256): a signer calls it at
    /// start, so that verifiers and `GET /.well-known/jwks.json` know its keys before its first
    /// token. Signing publishes anyway when the ring has changed since.
    pub async fn publish_keys(&self) -> Result<(), StoreError> {
        self.signing_ring().await.map(drop)
    }

    /// The ring to sign with, its public keys published first when it is new to this process.
    pub async fn signing_ring(&self) -> Result<Arc<KeyRing>, StoreError> {
        let ring = self.keys.current();
        self.publisher.publish(&ring, self.store.as_ref()).await?;
        Ok(ring)
    }

    /// The public JWK Set (`GET /.well-known/jwks.json`): the access-token keys the signers
    /// published; empty under HS256, whose keys are secret.
    pub async fn public_key_set(&self) -> Result<keys::published::JwkSet, ApiError> {
        if !self.config.signing_algorithm.is_asymmetric() {
            return Ok(keys::published::JwkSet::default());
        }
        Ok(public_keys::read(self.store.as_ref()).await?.jwks())
    }
}
