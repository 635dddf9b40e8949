//! Every token Passport issues: the JWT core ([`jwt`]: one signing and one verification
//! path), access tokens ([`access`]), web-app passports ([`app_passport`], the shared apps' JWT) and
//! opaque refresh tokens ([`refresh`]).

pub mod access;
pub mod app_passport;
pub mod digest;
pub mod jwt;
pub mod refresh;

pub use access::{Claims, TokenIssuer, Verified};
pub use jwt::{ALGORITHM, LEEWAY_SECONDS, MAX_TOKEN_BYTES, PASSPORT_TYPE, TOKEN_TYPE, TokenError};
