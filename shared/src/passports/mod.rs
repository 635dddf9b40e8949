//! Web-app passports: a shared web app's visitors get a passport (a JWT naming the app and an
//! end user) from `POST /passport`, and the app's routes stand behind the app authorizer,
//! which takes only a live passport of that app. The apps themselves are made by operators
//! (`admin::apps`).

pub mod http;
mod issue;
mod memory;
pub mod redis;
pub mod store;
mod visitors;

pub use http::{APP_CODE_HEADER, Route, visitor_context};
pub use issue::{PassportGrant, PassportRequest, valid_app_code};
pub use store::PassportStore;
