//! The use cases — login, refresh, logout, password change, sessions, me — on a key ring and a
//! store. No Lambda types and no HTTP: `http/` turns requests into these calls.

use crate::kernel::accounts::{self, MAX_DEVICE_CHARS, MAX_PASSWORD_CHARS};
use crate::kernel::authentication::Authentication;
use crate::kernel::clock::Clock;
use crate::kernel::config::Config;
use crate::kernel::error::{ApiError, StoreError};
use crate::kernel::ids::Id;
use crate::kernel::keys::{self, KeyProvider, KeyRing, VerifyingKeys};
use crate::kernel::security_events::{self, EventSink, SecurityEvent, stdout_sink};
use crate::kernel::store::{
    AccountStatus, CheckToken, LoginAttempt, LoginState, NewSession, Rotate, Rotation, SessionInfo,
    SessionStart, SessionsAfter, Store, TokenCheck,
};
use crate::kernel::tokens::app_passport::PassportIssuer;
use crate::kernel::tokens::refresh::RefreshToken;
use crate::kernel::tokens::{TokenError, TokenIssuer, Verified};

mod ceremonies;
mod dbsc;
mod limit_key;
mod passkeys;
mod passports;
pub mod public_keys;
mod recent;
mod startup;

pub use crate::kernel::caller::{AppCaller, Caller};
pub use dbsc::Renewal;
pub use passkeys::PasskeyLogin;
pub use passports::{PassportGrant, PassportRequest, valid_app_code};
use public_keys::{PublishedKeys, Publisher};
pub use recent::Reauthentication;
use serde_json::json;
pub use startup::{
    InitError, aws_http_client, connect_store, connect_store_as, load_redis_credentials,
    managed_keys, secrets_manager_client,
};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Longest `User-Agent` kept on a session (longer ones are cut).
pub const MAX_USER_AGENT_CHARS: usize = 256;
/// Longest source address kept.
pub const MAX_IP_CHARS: usize = 64;

/// Where a request came from, as the edge saw it.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Source IP address.
    pub ip: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
}

/// A login request's fields, already shaped by the HTTP edge.
#[derive(Clone)]
pub struct LoginInput {
    /// Email as typed.
    pub email: String,
    /// Password.
    pub password: String,
    /// Optional device name.
    pub device: Option<String>,
}

impl LoginInput {
    /// A login with `email` and `password`, from an unnamed device.
    pub fn new(email: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            password: password.into(),
            device: None,
        }
    }

    /// The same login, naming its device.
    pub fn on_device(mut self, device: impl Into<String>) -> Self {
        self.device = Some(device.into());
        self
    }
}

/// A session about to start: whose, from where, and how its owner proved who they are.
struct Started<'a> {
    account: &'a crate::kernel::store::Account,
    email: &'a str,
    device: Option<String>,
    client: &'a ClientInfo,
    ip: Option<String>,
    authentication: Authentication,
}

/// What `POST /password` asks.
pub struct PasswordChange {
    /// The password the caller has now.
    pub current_password: String,
    /// The one it wants.
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange { .. }")
    }
}

/// The tokens handed out at login and refresh.
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
        f.debug_struct("TokenPair")
            .field("session_id", &self.session_id)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What `GET /me` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    /// Account id.
    pub user_id: Id,
    /// Normalised email.
    pub email: String,
    /// The caller's session.
    pub session_id: Id,
    /// When and how the caller's session last authenticated; `None` when the session's record
    /// is gone by the time `/me` reads it (ended since its authorizer ran).
    pub authentication: Option<Authentication>,
}

/// Why the authorizer denies. Every variant is a deny; `Store` is also logged as an error.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    /// No `Authorization` header, or not `Bearer <token>`.
    #[error("no bearer token")]
    NoToken,
    /// The token failed verification.
    #[error("token rejected: {0}")]
    Token(#[from] TokenError),
    /// The session has ended (logout, reuse, disable, expiry).
    #[error("session is not live")]
    SessionEnded,
    /// A passport sent for another app than `X-App-Code` names, or without `X-App-Code`.
    #[error("passport is for another app")]
    WrongApp,
    /// The store could not answer.
    #[error("store unavailable: {0}")]
    Store(#[from] StoreError),
}

/// The service: configuration, keys, token settings and the store; every use case of Passport
/// (the product) is a method. Not to be confused with a web-app passport, the token
/// (`tokens::app_passport`).
pub struct Service {
    config: Config,
    keys: KeyProvider,
    /// What checks signatures: the ring of `keys`, or (an ES256 function that only verifies)
    /// the public keys the signers published.
    verifier: Verifier,
    /// Publishes the ring's public keys before the first token it signs (ES256).
    publisher: Publisher,
    tokens: TokenIssuer,
    passports: PassportIssuer,
    store: Arc<dyn Store>,
    /// Bounds the argon2 verifications running at once to the CPUs there are: each takes
    /// 19 MiB and a core, so more at once only adds memory and starves the async side
    /// (whose store calls then time out). Waiting logins queue here, holding nothing.
    password_checks: Arc<Semaphore>,
    /// argon2's memory, one [`accounts::Workspace`] per permit of `password_checks` at most,
    /// made on first use and reused for the life of the process.
    workspaces: Arc<std::sync::Mutex<Vec<accounts::Workspace>>>,
    /// Where security events go (standard output unless a test captures them).
    events: EventSink,
    /// Where the time comes from: the system's, or a test's manual clock.
    clock: Clock,
    /// The WebAuthn relying party, when passkeys are configured (`PASSKEY_ORIGINS`).
    relying_party: Option<Arc<webauthn_rs::Webauthn>>,
}

/// Where a function's verifying keys come from.
enum Verifier {
    /// Its own ring (it signs, or HS256).
    Ring,
    /// The signers' published public keys (ES256, a function that only verifies).
    Published(PublishedKeys),
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Assembles the service from its parts, with a fixed key ring.
    pub fn new(config: Config, keys: KeyRing, store: Arc<dyn Store>) -> Self {
        Self::with_keys(config, KeyProvider::fixed(keys), store)
    }

    /// Assembles the service from its parts.
    pub fn with_keys(config: Config, keys: KeyProvider, store: Arc<dyn Store>) -> Self {
        let tokens = TokenIssuer::new(
            &config.token_issuer,
            config.token_audience.as_deref(),
            config.access_token_ttl,
        );
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let passports = PassportIssuer::new(&config.token_issuer);
        // Config::from_lookup has built it once already: an error here cannot happen.
        let relying_party = crate::passkeys::relying_party(
            &config.passkey_origins,
            config.passkey_rp_id.as_deref(),
        )
        .ok()
        .flatten()
        .map(Arc::new);
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
            relying_party,
        }
    }

    /// The same service, reading the time from `clock` (a test's manual clock moves it across
    /// an expiry of the in-memory store without sleeping).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock the service reads.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The same service, with security events sent to `sink` (tests capture them).
    pub fn with_event_sink(mut self, sink: EventSink) -> Self {
        self.events = sink;
        self
    }

    /// Records a security event: one JSON line with its metric (see [`crate::kernel::security_events`]).
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

    /// The service of a function that only verifies, on `store`, with the public keys the
    /// signers published there (read now) and a ring of one random key that signs nothing
    /// anyone accepts.
    pub async fn with_published_keys(config: Config, store: Arc<dyn Store>) -> Self {
        let published = PublishedKeys::load(Arc::clone(&store), config.signing_key_cache).await;
        let mut app = Self::new(config, KeyRing::random(), store);
        app.verifier = Verifier::Published(published);
        app
    }

    /// Publishes the ring's public keys now (ES256; nothing for HS256): a signer calls it at
    /// start, so that verifiers and `GET /.well-known/jwks.json` know its keys before its first
    /// token. Signing publishes anyway when the ring has changed since.
    pub async fn publish_keys(&self) -> Result<(), StoreError> {
        self.signing_ring().await.map(drop)
    }

    /// The ring to sign with, its public keys published first when it is new to this process.
    async fn signing_ring(&self) -> Result<Arc<KeyRing>, StoreError> {
        let ring = self.keys.current();
        self.publisher.publish(&ring, self.store.as_ref()).await?;
        Ok(ring)
    }

    /// How many times a function that only verifies (ES256) has read the published keys;
    /// `None` for one that verifies with its own ring (tests and diagnostics).
    pub fn published_key_reads(&self) -> Option<u64> {
        match &self.verifier {
            Verifier::Ring => None,
            Verifier::Published(p) => Some(p.reads()),
        }
    }

    /// The public JWK Set (`GET /.well-known/jwks.json`): the access-token keys the signers
    /// published; empty under HS256, whose keys are secret.
    pub async fn public_key_set(&self) -> Result<keys::published::JwkSet, ApiError> {
        if !self.config.signing_algorithm.is_asymmetric() {
            return Ok(keys::published::JwkSet::default());
        }
        Ok(public_keys::read(self.store.as_ref()).await?.jwks())
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store (operators' commands and tests use it directly).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The access-token settings.
    pub fn tokens(&self) -> &TokenIssuer {
        &self.tokens
    }

    /// The key provider in force.
    pub fn keys(&self) -> &KeyProvider {
        &self.keys
    }

    /// Verifies an access token against the ring in force; a `kid` the ring lacks may trigger
    /// one reload of the keys (rate-limited by the provider) and a second try.
    pub async fn verify_access_token(&self, token: &str, now: i64) -> Result<Verified, TokenError> {
        self.with_ring(|ring| self.tokens.verify(ring, token, now))
            .await
    }

    /// Runs `verify` on the keys in force; when it names a `kid` they lack, reloads them once
    /// (rate-limited: by the provider, or [`public_keys::UNKNOWN_KID_REFETCH`]) and runs it again.
    async fn with_ring<T>(
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

    /// `POST /login`.
    pub async fn login(
        &self,
        input: LoginInput,
        client: &ClientInfo,
    ) -> Result<TokenPair, ApiError> {
        let email = accounts::normalize_email(&input.email)
            .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        if input.password.chars().count() > MAX_PASSWORD_CHARS {
            return Err(ApiError::InvalidRequest(format!(
                "password must be at most {MAX_PASSWORD_CHARS} characters"
            )));
        }
        let device = device_name(input.device)?;
        let ip = kept_address(client);
        let limited = self.limit_key(ip.as_deref());
        let now = self.clock.now();

        let state = self.begin_attempt(&email, limited.as_deref(), now).await?;

        // An unknown email still reads an (absent) account, so both paths make the same store
        // round trips before the hash check.
        let account = self
            .store
            .account(state.account.unwrap_or_else(Id::random))
            .await?;
        let phc = account.as_ref().map(|a| a.password_hash.clone());
        let verified = self.check_password(input.password, phc).await?;

        let account = match account {
            Some(a) if verified => a,
            // The failure was counted toward the address when the gate reserved it.
            _ => return Err(ApiError::InvalidCredentials),
        };
        if let Some(ip) = &limited {
            self.store.release_ip_attempt(ip, now).await?;
        }

        if account.status == AccountStatus::Disabled {
            return Err(ApiError::AccountDisabled);
        }

        let started = Started {
            account: &account,
            email: &email,
            device,
            client,
            ip: ip.clone(),
            authentication: Authentication::password(now),
        };
        let pair = self.start_session(started, now).await?;
        if limited != ip {
            // start_session cleared the counts under the address itself; an IPv6 client's
            // are under its network.
            self.store
                .clear_attempts(&email, limited.as_deref())
                .await?;
        }
        Ok(pair)
    }

    /// Starts a session for an account whose owner has just proved who they are (a password,
    /// a passkey): the session pair, the same for every way of signing in.
    async fn start_session(&self, s: Started<'_>, now: i64) -> Result<TokenPair, ApiError> {
        let account = s.account;
        // Before the session exists: keys that cannot be published fail the login whole.
        let ring = self.signing_ring().await?;
        let session = Id::random();
        let refresh = RefreshToken::new(account.id, session);
        let absolute_expires_at = now + self.config.session_max_age;
        let expires_at = (now + self.config.refresh_token_ttl).min(absolute_expires_at);
        let user_agent = s
            .client
            .user_agent
            .as_deref()
            .map(|ua| truncate(ua, MAX_USER_AGENT_CHARS));
        let new = NewSession {
            account: account.id,
            session,
            digest: refresh.digest(),
            family: refresh.family_digest(),
            device: s.device,
            user_agent: user_agent.clone(),
            ip: s.ip,
            now,
            expires_at,
            absolute_expires_at,
            password_version: account.password_version,
            max_sessions: self.config.max_sessions_per_account,
        };
        let agent = user_agent
            .as_deref()
            .and_then(crate::kernel::user_agent::describe);
        let start = self
            .store
            .start_session(&new, s.email, &s.authentication, agent.as_deref())
            .await?;
        match start {
            SessionStart::Started => {}
            SessionStart::AccountDisabled => return Err(ApiError::AccountDisabled),
            // Deleted, or its password changed after this one was checked: the password this
            // login knew is no longer the account's.
            SessionStart::AccountMissing | SessionStart::PasswordChanged => {
                return Err(ApiError::InvalidCredentials);
            }
        }
        let methods = s.authentication.methods_text();
        tracing::info!(account = %account.id, session = %session, amr = %methods, "login");
        self.pair(
            &ring,
            account.id,
            session,
            &refresh,
            expires_at,
            &s.authentication,
            now,
        )
    }

    /// What per-address limits count `ip` by ([`limit_key::limit_key`]).
    fn limit_key(&self, ip: Option<&str>) -> Option<String> {
        ip.map(|ip| limit_key::limit_key(ip, self.config.ipv6_limit_prefix))
    }

    /// Runs argon2 work on a blocking thread, at most one per CPU at once.
    async fn on_password_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self
            .password_checks
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(format!("password check queue closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| ApiError::Internal(format!("password work did not finish: {e}")))
    }

    /// Checks `password` against `phc` (a dummy hash when `None`).
    async fn check_password(
        &self,
        password: String,
        phc: Option<String>,
    ) -> Result<bool, ApiError> {
        let pool = Arc::clone(&self.workspaces);
        self.on_password_thread(move || {
            // Holding a permit: at most as many workspaces as permits ever exist.
            let taken = pool.lock().map(|mut p| p.pop()).unwrap_or(None);
            let mut ws = taken.unwrap_or_default();
            let ok = accounts::verify_password_in(&mut ws, &password, phc.as_deref());
            if let Ok(mut p) = pool.lock() {
                p.push(ws);
            }
            ok
        })
        .await
    }

    /// Hashes a new password.
    async fn hash_password(&self, password: String) -> Result<String, ApiError> {
        self.on_password_thread(move || accounts::hash_password(&password))
            .await?
            .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// `POST /password`: the caller changes its own password. The current password is checked
    /// as a login attempt is (counted first, toward the same limits); the new hash, the next
    /// password version and the end of every other session are one atomic step, so no login
    /// that checked the old password can start a session afterwards. The caller's session
    /// (and its refresh token) lives on.
    pub async fn change_password(
        &self,
        caller: &Caller,
        change: PasswordChange,
        client: &ClientInfo,
    ) -> Result<(), ApiError> {
        if change.current_password.chars().count() > MAX_PASSWORD_CHARS {
            return Err(ApiError::InvalidRequest(format!(
                "current_password must be at most {MAX_PASSWORD_CHARS} characters"
            )));
        }
        accounts::check_new_password(&change.new_password)
            .map_err(|e| ApiError::InvalidRequest(format!("new_{e}")))?;
        let now = self.clock.now();
        let (account, ip) = self.caller_attempt(caller, client, now).await?;
        let verified = self
            .check_password(
                change.current_password.clone(),
                Some(account.password_hash.clone()),
            )
            .await?;
        let phc = if verified {
            self.hash_password(change.new_password).await?
        } else if self.is_applied_change(&account, &change, now).await? {
            // The retry of a change that ran but was never acknowledged (its answer lost, or
            // its replicas did not confirm it in time). Writing the stored hash again confirms
            // it, and ends the other sessions if a failover had brought any back.
            account.password_hash.clone()
        } else {
            // Counted toward the address when the gate reserved it.
            return Err(ApiError::InvalidCredentials);
        };
        if let Some(ip) = &ip {
            self.store.release_ip_attempt(ip, now).await?;
        }
        let keep = SessionsAfter::KeepOnly(caller.session);
        if !self.store.set_password(account.id, &phc, keep).await? {
            return Err(ApiError::Unauthorized);
        }
        self.store
            .clear_attempts(&account.email, ip.as_deref())
            .await?;
        let by = [("by", json!("owner"))];
        self.security_event(
            SecurityEvent::PasswordChanged,
            Some(account.id),
            Some(caller.session),
            &by,
        );
        self.security_event(
            SecurityEvent::SessionsRevoked,
            Some(account.id),
            Some(caller.session),
            &[
                ("reason", json!("password_changed")),
                ("kept", json!("this_session")),
            ],
        );
        Ok(())
    }

    /// A signed-in caller's password check, counted as a login attempt first (see
    /// [`Service::begin_attempt`]): its account, and the address its limits count.
    async fn caller_attempt(
        &self,
        caller: &Caller,
        client: &ClientInfo,
        now: i64,
    ) -> Result<(crate::kernel::store::Account, Option<String>), ApiError> {
        let account = self
            .store
            .account(caller.account)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let ip = self.limit_key(kept_address(client).as_deref());
        self.begin_attempt(&account.email, ip.as_deref(), now)
            .await?;
        Ok((account, ip))
    }

    /// Counts a login attempt (or a password change's check of the current password) before
    /// any hash is checked, and refuses it when the address or the account is over its limit.
    async fn begin_attempt(
        &self,
        email: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<LoginState, ApiError> {
        let c = &self.config;
        let state = self
            .store
            .reserve_login(&LoginAttempt {
                email,
                ip,
                window: c.login_lockout_seconds,
                ip_max_failures: c.login_ip_max_failures,
                now,
            })
            .await?;
        let over = if state.ip_blocked {
            Some(("address", state.ip_failures))
        } else if state.pair_attempts.count > c.login_max_failures {
            Some(("account_and_address", state.pair_attempts))
        } else if state.account_attempts.count > c.login_account_max_failures {
            Some(("account", state.account_attempts))
        } else {
            None
        };
        match over {
            Some((limit, counter)) => {
                self.security_event(
                    SecurityEvent::LoginLocked,
                    state.account,
                    None,
                    &[("limit", json!(limit)), ("ip", json!(ip))],
                );
                Err(ApiError::TooManyAttempts {
                    retry_after: counter.retry_after.max(1),
                })
            }
            None => Ok(state),
        }
    }

    /// `POST /refresh-token`.
    pub async fn refresh(&self, presented: &str) -> Result<TokenPair, ApiError> {
        let token = RefreshToken::parse(presented).ok_or(ApiError::InvalidRefreshToken)?;
        let ring = self.signing_ring().await?;
        let successor = token.successor(ring.signing().refresh_key());
        let now = self.clock.now();
        let (rotation, authentication) = self
            .store
            .rotate_session(&Rotate {
                account: token.account(),
                session: token.session(),
                presented: token.digest(),
                successor: successor.digest(),
                family: token.family_digest(),
                request_id: crate::kernel::ids::random_bytes(),
                now,
                idle_ttl: self.config.refresh_token_ttl,
                grace: self.config.refresh_reuse_grace,
            })
            .await?;
        match rotation {
            Rotation::Rotated { expires_at } | Rotation::Replayed { expires_at } => self.pair(
                &ring,
                token.account(),
                token.session(),
                &successor,
                expires_at,
                &authentication.unwrap_or_else(|| Authentication::password(now)),
                now,
            ),
            Rotation::Reused => Err(self.reused(&token)),
            Rotation::Invalid => Err(ApiError::InvalidRefreshToken),
        }
    }

    /// `POST /logout`: ends the session named by a valid bearer token whose session is alive,
    /// else by a refresh token that is the session's current one (or the just-rotated one within
    /// the grace window); with `all`, every session of the account. A credential of a session
    /// that has ended ends nothing and still answers Ok (logout is idempotent, and a revoked
    /// session's access token must not end the owner's other sessions). An older refresh token
    /// of the family is reuse, handled as at `/refresh-token`: the session ends, the event is
    /// raised, and the answer is `refresh_token_reused`.
    pub async fn logout(
        &self,
        bearer: Option<&str>,
        refresh: Option<&str>,
        all: bool,
    ) -> Result<(), ApiError> {
        self.logout_checked(bearer, refresh, all, false).await
    }

    /// [`Service::logout`]; with `recent_for_all`, ending every session needs the session whose
    /// credential was presented to have authenticated recently (the route table's rule for
    /// `POST /logout`, applied by the HTTP layer).
    pub async fn logout_checked(
        &self,
        bearer: Option<&str>,
        refresh: Option<&str>,
        all: bool,
        recent_for_all: bool,
    ) -> Result<(), ApiError> {
        let now = self.clock.now();
        let bearer = match bearer {
            Some(t) => self.verify_access_token(t, now).await.ok(),
            None => None,
        };
        let (account, session) = match (bearer, refresh.and_then(RefreshToken::parse)) {
            (Some(v), _) => {
                if self
                    .store
                    .live_session(v.account, v.session, now)
                    .await?
                    .is_none()
                {
                    return Ok(());
                }
                (v.account, v.session)
            }
            (None, Some(t)) => {
                let check = self
                    .store
                    .check_token(&CheckToken {
                        account: t.account(),
                        session: t.session(),
                        presented: t.digest(),
                        family: t.family_digest(),
                        now,
                        grace: self.config.refresh_reuse_grace,
                    })
                    .await?;
                match check {
                    TokenCheck::Current | TokenCheck::Previous => (t.account(), t.session()),
                    // A well-formed token for a session that has ended: nothing left to end.
                    // It cannot be told apart from a forged one, so it ends nothing either.
                    TokenCheck::Invalid => return Ok(()),
                    TokenCheck::Reused => return Err(self.reused(&t)),
                }
            }
            (None, None) => return Err(ApiError::Unauthorized),
        };
        if all {
            if recent_for_all {
                self.require_recent_authentication(account, session).await?;
            }
            let n = self.store.revoke_all(account).await?;
            self.security_event(
                SecurityEvent::SessionsRevoked,
                Some(account),
                Some(session),
                &[("reason", json!("logout_all")), ("count", json!(n))],
            );
        } else {
            self.store.revoke_session(account, session, now).await?;
            tracing::info!(account = %account, session = %session, "logout");
        }
        Ok(())
    }

    /// A spent token of `token`'s family was presented and its session ended: the security
    /// event, and the answer.
    fn reused(&self, token: &RefreshToken) -> ApiError {
        self.security_event(
            SecurityEvent::RefreshTokenReused,
            Some(token.account()),
            Some(token.session()),
            &[],
        );
        ApiError::RefreshTokenReused
    }

    /// Whether `change` repeats the account's last password change, made within
    /// [`PREVIOUS_PASSWORD_SECONDS`]: its current password is the one that change replaced and
    /// its new password the one stored now. Anything else is a wrong current password.
    async fn is_applied_change(
        &self,
        account: &crate::kernel::store::Account,
        change: &PasswordChange,
        now: i64,
    ) -> Result<bool, ApiError> {
        let Some(previous) = self.store.previous_password_hash(account.id, now).await? else {
            return Ok(false);
        };
        Ok(self
            .check_password(change.current_password.clone(), Some(previous))
            .await?
            && self
                .check_password(
                    change.new_password.clone(),
                    Some(account.password_hash.clone()),
                )
                .await?)
    }

    /// The authorizer's decision: verify the bearer token, then check the session is live.
    pub async fn authorize(&self, authorization: Option<&str>) -> Result<Caller, Denied> {
        let token = presented(authorization)?;
        let now = self.clock.now();
        let Verified { account, session } = self.verify_access_token(token, now).await?;
        match self.store.live_session(account, session, now).await? {
            Some(live) => Ok(Caller {
                account,
                session,
                email: live.email,
            }),
            None => Err(Denied::SessionEnded),
        }
    }

    /// `GET /sessions`: the caller's live sessions; the caller's own is `current`.
    pub async fn sessions(&self, caller: &Caller) -> Result<Vec<SessionInfo>, ApiError> {
        Ok(self
            .store
            .list_sessions(caller.account, self.clock.now())
            .await?)
    }

    /// `DELETE /sessions/{id}`: `NotFound` for an id that is not one of the caller's sessions.
    pub async fn revoke(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        let id: Id = id.parse().map_err(|_| ApiError::NotFound)?;
        if self
            .store
            .revoke_session(caller.account, id, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// `GET /me`: from what the authorizer established, and the session's authentication (one
    /// read of the session); only a caller whose session does not keep the email costs a read
    /// of the account.
    pub async fn me(&self, caller: &Caller) -> Result<Me, ApiError> {
        let authentication = self
            .store
            .session_authentication(caller.account, caller.session, self.clock.now())
            .await?;
        if let Some(email) = &caller.email {
            return Ok(Me {
                user_id: caller.account,
                email: email.clone(),
                session_id: caller.session,
                authentication,
            });
        }
        let account = self
            .store
            .account(caller.account)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Me {
            user_id: account.id,
            email: account.email,
            session_id: caller.session,
            authentication,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn pair(
        &self,
        ring: &KeyRing,
        account: Id,
        session: Id,
        refresh: &RefreshToken,
        expires_at: i64,
        authentication: &Authentication,
        now: i64,
    ) -> Result<TokenPair, ApiError> {
        let access_token = self
            .tokens
            .issue_authenticated(ring, account, session, authentication, now)
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

/// A device name as given: within [`MAX_DEVICE_CHARS`], blank meaning none.
fn device_name(device: Option<String>) -> Result<Option<String>, ApiError> {
    match device {
        Some(d) if d.chars().count() > MAX_DEVICE_CHARS => Err(ApiError::InvalidRequest(format!(
            "device must be at most {MAX_DEVICE_CHARS} characters"
        ))),
        Some(d) if d.trim().is_empty() => Ok(None),
        d => Ok(d),
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// The bearer token an authorizer was given; a deny when there is none.
fn presented(authorization: Option<&str>) -> Result<&str, Denied> {
    authorization.and_then(bearer_token).ok_or(Denied::NoToken)
}

/// The client's address as a session keeps it (cut to [`MAX_IP_CHARS`]).
fn kept_address(client: &ClientInfo) -> Option<String> {
    client.ip.as_deref().map(|ip| truncate(ip, MAX_IP_CHARS))
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_strict() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer a b"), None);
        assert_eq!(bearer_token("abc"), None);
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("ab", 5), "ab");
    }
}
