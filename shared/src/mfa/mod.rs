//! A second factor: an authenticator app (TOTP, RFC 6238) with ten single-use recovery codes.
//! Setting one up, confirming it with a first code, removing it; the sign-in's second step
//! (`POST /login/mfa`) that turns a one-factor proof's challenge into a session at `aal2`; and
//! the check a reauthentication uses to raise its session to `aal2`.

pub mod http;
pub mod login;
mod memory;
pub mod recovery;
pub mod redis;
pub mod service;
pub mod store;
pub mod totp;

pub use http::Route;
pub use store::MfaStore;
pub use totp::MfaKey;
