//! Passport: session control for web apps behind AWS API Gateway.
//!
//! Every rule of the system lives in this crate: a small kernel (`kernel`: identifiers, time,
//! configuration, errors, keys and tokens, the store's plumbing, the service's core), one
//! folder per feature above it (`sessions`, `passkeys`, `dbsc`, `passports`, `recent_auth`,
//! `discovery`, `email`, `mfa`, `activity`, `federation`), the operators' commands (`admin`), and on top the route table and each Lambda
//! function's dispatch (`api`). It knows no Lambda event type; the functions in `functions/*`
//! and `infra/local-api` translate their events into the plain `http` types taken here, so
//! every entry point runs the very same code.

pub mod activity;
pub mod admin;
pub mod api;
pub mod dbsc;
pub mod discovery;
pub mod email;
pub mod federation;
pub mod kernel;
pub mod mfa;
pub mod passkeys;
pub mod passports;
pub mod recent_auth;
pub mod sessions;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use api::{Service, Store};
pub use kernel::config::Config;
pub use kernel::error::{ApiError, StoreError};
