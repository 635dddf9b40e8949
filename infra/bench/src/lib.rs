//! The measuring side of `make bench`: per-operation timing with median and p99, Redis request
//! counting, the cold-start probe (a minimal Lambda Runtime API on loopback), and the login
//! floor (bare argon2id verifications per second), the replica wait's floor on raw Redis.

pub mod cold_start;
pub mod cpu;
pub mod durability;
pub mod floor;
pub mod history;
pub mod mail;
pub mod stats;
pub mod wait_floor;
