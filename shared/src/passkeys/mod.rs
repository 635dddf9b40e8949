//! Passkeys (WebAuthn): registering one to a signed-in account, listing and removing them, and
//! signing in with one — discoverable credentials with user verification, through
//! `webauthn-rs`.

pub mod http;
mod memory;
pub mod redis;
pub mod service;
pub mod sign_in;
pub mod store;
pub mod webauthn;

pub use http::Route;
pub use sign_in::PasskeyLogin;
pub use store::PasskeyStore;
