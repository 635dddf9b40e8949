//! The security history as its owner and operators read it: `GET /activity` (paged, newest
//! first) and `accounts activity`. What goes into it, and when, is the kernel's
//! ([`crate::kernel::activity`]): every change records itself in the same store step.

pub mod http;
mod service;
mod store;

pub use http::Route;
pub use service::{DEFAULT_PAGE, Page};
pub use store::ActivityStore;
