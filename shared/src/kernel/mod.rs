//! The kernel every feature stands on: identifiers, time and addresses, configuration, errors, keys and
//! tokens, the caller an authorizer establishes, the session cookie and its device binding, how
//! a session authenticated, security events, the HTTP wire, the store's plumbing and slices,
//! and the service's core ([`service::Core`]). It imports no feature.

pub mod accounts;
pub mod activity;
pub mod addresses;
pub mod authentication;
pub mod binding;
pub mod caller;
pub mod clock;
pub mod config;
pub mod cookie;
pub mod error;
pub mod http;
pub mod ids;
pub mod keys;
pub mod mail;
pub mod redact;
pub mod security_events;
pub mod service;
pub mod store;
pub mod tokens;
pub mod user_agent;
