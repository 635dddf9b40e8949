//! The kernel every feature stands on: identifiers and time, configuration, errors, keys and
//! tokens, the caller an authorizer establishes, the session cookie, how a session
//! authenticated, security events, and the store's plumbing. It imports no feature.

pub mod accounts;
pub mod authentication;
pub mod caller;
pub mod clock;
pub mod config;
pub mod cookie;
pub mod error;
pub mod ids;
pub mod keys;
pub mod security_events;
pub mod store;
pub mod tokens;
pub mod user_agent;
