//! What the owner of an address proves by mail: sign-up and its verification, password reset,
//! sign-in with a mailed code, moving an account to another address, and a notice's "this
//! wasn't me" link. Every route that
//! mails counts toward limits per address and per client before anything else, does the same
//! work whether or not an account has the address, enqueues one mail and answers 202
//! (`kernel::mail`); every mailed secret is stored as a digest, single-use, bound to its
//! purpose and account, and expires on the service's clock.

mod change;
mod code;
pub mod http;
mod mailing;
mod memory;
pub mod not_me;
pub mod redis;
mod reset;
mod signup;
pub mod store;
pub mod tokens;

pub use http::Route;
pub use store::EmailStore;
