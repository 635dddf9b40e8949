//! Device binding's part in the kernel (Device Bound Session Credentials; the protocol is the
//! `dbsc` feature's): what a session's binding offer is — a challenge to register a key for
//! that session, named in the `Secure-Session-Registration` header every cookie sign-in
//! answers with — so that any way of signing in offers it without knowing the protocol.

use crate::kernel::ids::Id;
use serde::{Deserialize, Serialize};

/// Where the browser registers a session's key (below `COOKIE_PATH_PREFIX`, if any).
pub const REGISTER_PATH: &str = "/dbsc/register";
/// The header that offers binding.
pub const REGISTRATION_HEADER: &str = "secure-session-registration";
/// How long a challenge may be answered (it is also good once).
pub const CHALLENGE_SECONDS: i64 = 300;

/// What a challenge is for, as the store keeps it between its issue and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Challenge {
    /// Registering a key for this session (issued at its login).
    DbscRegister {
        /// The account.
        account: Id,
        /// The session.
        session: Id,
    },
}

/// `Secure-Session-Registration` for `challenge`, registering at `prefix` + [`REGISTER_PATH`].
pub fn registration_header(prefix: &str, challenge: Id) -> String {
    format!("(ES256);path=\"{prefix}{REGISTER_PATH}\";challenge=\"{challenge}\"")
}
