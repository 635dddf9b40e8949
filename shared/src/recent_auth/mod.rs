//! Recent authentication: `POST /reauthenticate`, which raises a session's `auth_time`, for the
//! dangerous routes that ask for a recent one (the route table's `recent_auth`, checked by the
//! kernel's `Core::require_recent_authentication`).

pub mod http;
mod service;

pub use http::Route;
pub use service::Reauthentication;
