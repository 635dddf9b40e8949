//! Passport: session control for web apps behind AWS API Gateway.
//!
//! Every rule of the system lives in this crate: configuration, access tokens, refresh tokens,
//! the session store, accounts, the use cases and the HTTP edge. It knows no Lambda event type;
//! the functions in `functions/*` and `infra/local-api` translate their events into the plain
//! `http` types taken here, so every entry point runs the very same code.

pub mod admin;
pub mod dbsc;
pub mod http;
pub mod kernel;
pub mod passkeys;
pub mod service;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use kernel::config::Config;
pub use kernel::error::{ApiError, StoreError};
pub use service::Service;
