//! The errors of the system: what went wrong, without saying how it becomes an HTTP answer
//! (that mapping lives once, in `http.rs`).

/// The session store failed. It is never read as "valid": callers answer 503 or deny.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis did not answer, refused, or timed out.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A record in the store does not have the shape this code writes.
    #[error("corrupt store record: {0}")]
    Corrupt(String),
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
    /// No credential was sent, or none verifies.
    #[error("a valid access token or refresh token is required")]
    Unauthorized,
    /// The resource does not exist (or is not the caller's).
    #[error("not found")]
    NotFound,
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
