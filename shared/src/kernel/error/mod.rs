//! The errors of the system: what went wrong, without saying how it becomes an answer (that
//! mapping lives once, in [`table`]).

pub mod table;

use crate::kernel::accounts::InputError;

/// The session store failed. It is never read as "valid": callers answer 503 or deny.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis did not answer, refused, or timed out.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A record in the store does not have the shape this code writes.
    #[error("corrupt store record: {0}")]
    Corrupt(String),
    /// A script was called with arguments it does not declare (a bug the tests catch).
    #[error("malformed store call: {0}")]
    Call(String),
    /// The write ran on the master, but fewer replicas confirmed it in time than the
    /// durability setting wants: it is not acknowledged (a failover could still lose it).
    #[error("write not confirmed by enough replicas ({acks} of {wanted})")]
    NotReplicated {
        /// Replicas that confirmed it.
        acks: u32,
        /// Replicas wanted.
        wanted: u32,
    },
    /// The write reached Redis after the caller had stopped waiting for it (queued behind a
    /// stalled connection; the request was answered 503) and did nothing: run late it could
    /// undo what the request's retry did.
    #[error("the write reached the store after its deadline and did nothing")]
    Late,
    /// The durability setting does not fit the store (found at start): what
    /// `store::durability::Mismatch` says.
    #[error("{0}")]
    Durability(String),
}

/// Why a request to the HTTP API failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is missing, not JSON, or a field is absent or of the wrong type.
    #[error("{0}")]
    InvalidRequest(String),
    /// A body was sent with a `Content-Type` other than JSON.
    #[error("request bodies must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// The body is larger than the limit.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Unknown email or wrong password (deliberately the same answer).
    #[error("email or password is incorrect")]
    InvalidCredentials,
    /// The account exists, the password is right, and the account is disabled.
    #[error("this account is disabled")]
    AccountDisabled,
    /// Too many failed logins for this account or source address.
    #[error("too many failed login attempts; try again in {retry_after} seconds")]
    TooManyAttempts {
        /// Seconds until the window ends.
        retry_after: i64,
    },
    /// The refresh token is malformed, unknown, expired or revoked.
    #[error("the refresh token is invalid or expired")]
    InvalidRefreshToken,
    /// A rotated refresh token was presented after the grace window; the session is revoked.
    #[error("the refresh token was already used; the session has been ended")]
    RefreshTokenReused,
    /// A request that reads or sets the session cookie failed the CSRF check (see
    /// `http::csrf`); the reason says which rule.
    #[error("cross-site request refused: {0}")]
    CsrfRejected(&'static str),
    /// `X-App-Code` names no app, or a disabled one (deliberately the same answer).
    #[error("no such app")]
    AppNotFound,
    /// A private app's passport needs a signed-in account: a valid access token.
    #[error("this app requires signing in: send an account access token")]
    SignInRequired,
    /// Too many new anonymous visitors from this address.
    #[error("too many new visitors from this address; try again in {retry_after} seconds")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after: i64,
    },
    /// No credential was sent, or none verifies.
    #[error("a valid access token or refresh token is required")]
    Unauthorized,
    /// A dangerous route, and the session did not authenticate recently enough
    /// (`REAUTH_MAX_AGE_SECONDS`): `POST /reauthenticate`, then retry.
    #[error("this action needs a recent sign-in: reauthenticate, then retry")]
    ReauthenticationRequired,
    /// Passkeys are not configured on this deployment (`PASSKEY_ORIGINS`).
    #[error("passkeys are not enabled on this deployment")]
    PasskeysDisabled,
    /// A passkey registration that did not verify: its ceremony is unknown, used, expired or
    /// another session's, or the browser's attestation fails `webauthn-rs`'s checks.
    #[error("the new passkey did not verify: ask for new registration options and try again")]
    PasskeyNotVerified,
    /// The account already has this passkey.
    #[error("this passkey is already registered")]
    PasskeyExists,
    /// The account has as many passkeys as it may keep.
    #[error("this account has as many passkeys as it may keep ({max}); remove one first")]
    TooManyPasskeys {
        /// The limit.
        max: u64,
    },
    /// Removing it would leave the account no way to sign in.
    #[error("this is the account's last way to sign in")]
    LastSignInMethod,
    /// A device-binding proof (DBSC) that does not verify, answers no live challenge of its
    /// session, or registers a session bound to another key.
    #[error("the session proof was refused")]
    SessionProofRejected,
    /// A refresh of a bound session's cookie (DBSC) without a proof: the answer carries the
    /// challenge to sign (`Secure-Session-Challenge`).
    #[error("sign the challenge in Secure-Session-Challenge with this session's device key")]
    SessionChallenged,
    /// A session bound to a device key refreshed without its live bound cookie
    /// (`DBSC_BINDING=required`).
    #[error("this session is bound to a device: its bound cookie is required")]
    BoundCookieRequired,
    /// A new password that is easy to guess: the estimator's reason, and what would help.
    #[error("{0}")]
    WeakPassword(String),
    /// The password was right but the account's email is not verified, and this deployment
    /// requires it (`REQUIRE_VERIFIED_EMAIL`): follow the mailed link, or ask for another.
    #[error("verify your email first: follow the link we mailed, or ask for a new one")]
    EmailNotVerified,
    /// The new address already belongs to another account.
    #[error("another account uses this email")]
    EmailTaken,
    /// Sign-up is off on this deployment (`SIGNUP=off`).
    #[error("sign-up is closed on this deployment")]
    SignupClosed,
    /// A mailed token (verification, reset, email change) that is unknown, used, expired, of
    /// another purpose, or no longer matches its account.
    #[error("this link is invalid or has expired: ask for a new one")]
    InvalidMailToken,
    /// The proof was right, and the account has a second factor: no tokens yet. The answer
    /// carries the challenge `POST /login/mfa` completes with a code.
    #[error("enter a code from your authenticator app, or a recovery code")]
    SecondFactorRequired {
        /// The challenge (an id naming the half-done sign-in).
        challenge: String,
        /// Seconds it lives.
        expires_in: i64,
    },
    /// A code that does not confirm an authenticator app being set up (wrong, or for another
    /// secret).
    #[error("that code does not match: check the authenticator app's clock and try the next one")]
    InvalidCode,
    /// The account already has an authenticator app; remove it first.
    #[error("this account already has an authenticator app: remove it first")]
    SecondFactorExists,
    /// The action needs the session to have proved two factors recently (reauthenticate with a
    /// password and a code, or a passkey).
    #[error("reauthenticate with your second factor (or a passkey) first")]
    SecondFactorRequiredToChange,
    /// `MFA=required` and the session proved one factor: it may only set up a second one.
    #[error(
        "set up two-step sign-in (an authenticator app or a passkey) first, then sign in with it"
    )]
    SecondFactorEnrolmentRequired,
    /// No identity provider of that name is configured.
    #[error("no identity provider of that name")]
    UnknownProvider,
    /// A `return_to` that is not on the allow-list (`OIDC_RETURN_TO`, the page).
    #[error("return_to is not one of this deployment's pages")]
    InvalidReturnTo,
    /// A federated sign-in's callback with no live `state`, or from another browser than the
    /// one that started it (its cookie).
    #[error("this sign-in was not started here, or has expired: start again")]
    InvalidOAuthState,
    /// A federated sign-in's one-time code that is unknown, spent or expired.
    #[error("that sign-in code is unknown, used or expired: sign in again")]
    InvalidOAuthCode,
    /// The provider's identity is already connected to another account.
    #[error("that identity is already connected to another account")]
    IdentityInUse,
    /// The account already has an identity of this provider connected.
    #[error("an identity of this provider is already connected")]
    ProviderAlreadyLinked,
    /// The identity provider could not be reached, or answered what is not OpenID Connect.
    #[error("the identity provider is unavailable; try again")]
    ProviderUnavailable,
    /// The resource does not exist (or is not the caller's).
    #[error("not found")]
    NotFound,
    /// This deployment does not serve it until a setting is given: the setting, and why.
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
    /// The path exists with other methods: these, the value of the `Allow` header.
    #[error("use {allow}")]
    MethodNotAllowed {
        /// The methods the path takes, as `Allow` lists them.
        allow: String,
    },
    /// The mail queue could not take the mail; the client may retry later.
    #[error("mail cannot be sent just now: try again shortly")]
    MailUnavailable(#[source] crate::kernel::mail::MailError),
    /// The store is down; the client may retry later.
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] StoreError),
    /// A fault on our side that the client cannot fix.
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Unavailable(e)
    }
}

/// Why an operator's command (the `accounts` function) failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Not a command we know, or missing or mistyped fields.
    #[error("invalid command: {0}")]
    InvalidCommand(String),
    /// The email or password breaks the rules.
    #[error(transparent)]
    Input(#[from] InputError),
    /// `create` for an email that has an account.
    #[error("an account with this email exists")]
    AccountExists,
    /// No account has this email.
    #[error("no such account")]
    AccountNotFound,
    /// No such session for this account.
    #[error("no such session")]
    SessionNotFound,
    /// `create_app` with a code that is taken.
    #[error("an app with this code exists")]
    AppExists,
    /// No app has this code.
    #[error("no such app")]
    AppNotFound,
    /// The store failed: a fault, reported to Lambda as an error.
    #[error("store unavailable: {0}")]
    Unavailable(#[from] StoreError),
    /// Hashing failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AdminError {
    /// The stable code named in the answer (from [`table::admin_code`]).
    pub fn code(&self) -> &'static str {
        table::admin_code(self)
    }

    /// The JSON answer for this error.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"ok": false, "error": self.code(), "message": self.to_string()})
    }
}
