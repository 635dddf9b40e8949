//! CPU time per login beside one bare argon2id verification: what Passport's own work adds to
//! the password check, in the process's CPU clock (every thread: the login verifies on a
//! blocking thread), so neither Redis's work nor time spent waiting counts.

use crate::stats::Stats;
use serde_json::{Value, json};
use std::future::Future;
use std::time::Duration;

/// The CPU time this process has used so far, every thread's (`cpu-time`'s `ProcessTime`:
/// `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`, which Linux counts in nanoseconds).
pub fn process_cpu() -> Duration {
    cpu_time::ProcessTime::now().as_duration()
}

/// CPU per `login()` and per bare verification of `password` against a hash made with
/// Passport's parameters, in `rounds` rounds of `batch` of each, in turn (after one untimed
/// round), so both see the same machine. The figures are per operation, summarised over the
/// rounds; `ratio` is of the means (CPU per operation: total CPU over operations).
pub async fn login_against_argon2<F, Fut>(
    rounds: usize,
    batch: usize,
    password: &str,
    mut login: F,
) -> Value
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let phc = passport::kernel::accounts::hash_password(password).expect("hash");
    let mut ws = passport::kernel::accounts::Workspace::new();
    let (mut logins, mut bare) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let started = process_cpu();
        for _ in 0..batch {
            login().await;
        }
        let login_cpu = (process_cpu() - started) / batch as u32;
        let started = process_cpu();
        for _ in 0..batch {
            let ok = passport::kernel::accounts::verify_password_in(&mut ws, password, Some(&phc));
            assert!(ok, "the bench's own hash did not verify");
        }
        let bare_cpu = (process_cpu() - started) / batch as u32;
        if round > 0 {
            logins.push(login_cpu);
            bare.push(bare_cpu);
        }
    }
    let (login, bare) = (Stats::of(logins), Stats::of(bare));
    json!({
        "login_cpu": login.json(),
        "argon2_cpu": bare.json(),
        "ratio": login.mean_us / bare.mean_us,
    })
}
