//! Passport: session control for web apps behind AWS API Gateway.
//!
//! Every rule of the system lives in this crate: configuration, access tokens, refresh tokens,
//! the session store, accounts, the use cases and the HTTP edge. It knows no Lambda event type;
//! the functions in `functions/*` and `infra/local-api` translate their events into the plain
//! `http` types taken here, so every entry point runs the very same code.

pub mod accounts;
pub mod admin;
pub mod authentication;
pub mod caller;
pub mod clock;
pub mod config;
pub mod dbsc;
pub mod error;
pub mod http;
pub mod ids;
pub mod keys;
pub mod passkeys;
pub mod security_events;
pub mod service;
pub mod session_cookie;
pub mod store;
pub mod tokens;
pub mod user_agent;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// The web-app passport tokens, by their earlier path.
pub use tokens::app_passport as passport_token;
/// Refresh tokens, by their earlier path.
pub use tokens::refresh as refresh_token;

pub use config::Config;
pub use error::{ApiError, StoreError};
pub use service::Service;
/// The service by its earlier name, so code written against it still builds.
#[doc(hidden)]
pub use service::Service as Passport;
