//! The measuring side of `make bench`: per-operation timing with median and p99, Redis request
//! counting, and the cold-start probe (a minimal Lambda Runtime API on loopback).

pub mod cold_start;
pub mod stats;
