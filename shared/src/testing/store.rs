//! Store helpers for tests: states the contract tests build and check through the production
//! traits, named for what the test wants (a session started by password, whether a session is
//! live, whether a digest is one of its tokens).

use crate::api::Store;
use crate::kernel::authentication::Authentication;
use crate::kernel::ids::Id;
use crate::kernel::store::{NewSession, SessionStart};
use crate::kernel::tokens::refresh::TokenDigest;
use crate::sessions::store::{CheckToken, Rotate, Rotation, TokenCheck};

/// Every slice of the store, for tests that call them on a concrete store.
pub mod prelude {
    pub use crate::dbsc::DbscStore;
    pub use crate::email::EmailStore;
    pub use crate::kernel::store::{
        Attempts, Directory, KernelStore, KeyDocument, SessionRecords, States,
    };
    pub use crate::passkeys::PasskeyStore;
    pub use crate::passports::PassportStore;
    pub use crate::sessions::SessionStore;
}

/// Starts `session` as a password sign-in at its `now`, with no parsed user agent.
///
/// # Panics
/// When the store fails.
pub async fn create_session(store: &dyn Store, session: &NewSession, email: &str) -> SessionStart {
    let password = Authentication::password(session.now);
    #[allow(clippy::expect_used)]
    store
        .start_session(session, email, &password, None)
        .await
        .expect("store")
}

/// Whether the session exists and has not expired.
///
/// # Panics
/// When the store fails.
pub async fn session_live(store: &dyn Store, account: Id, session: Id, now: i64) -> bool {
    #[allow(clippy::expect_used)]
    store
        .live_session(account, session, now)
        .await
        .expect("store")
        .is_some()
}

/// The outcome of a rotation, without the session's authentication.
///
/// # Panics
/// When the store fails.
pub async fn rotate(store: &dyn Store, request: &Rotate) -> Rotation {
    #[allow(clippy::expect_used)]
    store.rotate(request).await.expect("store").0
}

/// Whether `digest` is the live session's current or just-rotated token: `check_token` with a
/// family no token has (so nothing reads as reuse) and a grace that never ends.
///
/// # Panics
/// When the store fails.
pub async fn token_matches(
    store: &dyn Store,
    account: Id,
    session: Id,
    digest: &TokenDigest,
    now: i64,
) -> bool {
    let check = CheckToken {
        account,
        session,
        presented: *digest,
        family: TokenDigest(crate::kernel::ids::random_bytes()),
        now,
        grace: i64::MAX / 4,
    };
    #[allow(clippy::expect_used)]
    let found = store.check_token(&check).await.expect("store");
    matches!(found, TokenCheck::Current | TokenCheck::Previous)
}
