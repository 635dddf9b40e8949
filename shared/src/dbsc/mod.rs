//! Device Bound Session Credentials (W3C WebAppSec draft) for the cookie transport: the
//! browser registers a key for its session, and renews a short-lived bound cookie with proofs
//! of that key, so that a copied cookie jar stops working. The offer at sign-in and the check
//! at refresh are the kernel's (`kernel::service::binding`).

pub mod challenge;
pub mod http;
mod memory;
pub mod protocol;
pub mod redis;
pub mod service;
pub mod store;

pub use http::Route;
pub use store::DbscStore;
