//! Sessions: signing in with a password, refreshing (rotation with reuse detection), logging
//! out of one session or all, the caller's list of sessions and identity, and the password
//! change that ends every other session.

mod account;
pub mod http;
mod login;
mod logout;
mod memory;
mod password;
pub mod redis;
mod refresh;
pub mod store;

pub use account::Me;
pub use http::Route;
pub use login::LoginInput;
pub use password::PasswordChange;
pub use refresh::Through;
pub use store::SessionStore;
