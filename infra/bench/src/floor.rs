//! The floor of login throughput: bare argon2id verifications per second with Passport's
//! parameters, on as many workers as Passport verifies on at once (one per CPU), each in its
//! own reused memory — everything a login costs but its three Redis round trips, the token and
//! the HTTP around them.

use std::time::{Duration, Instant};

/// Verifications per second over `run_for`, and the number of workers.
pub fn argon2_floor(run_for: Duration) -> (f64, usize) {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let password = "bench password, long enough";
    let phc = passport::kernel::accounts::hash_password(password).expect("hash");
    let started = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let phc = phc.as_str();
                scope.spawn(move || {
                    let mut ws = passport::kernel::accounts::Workspace::new();
                    let mut n = 0u64;
                    while started.elapsed() < run_for {
                        let ok = passport::kernel::accounts::verify_password_in(
                            &mut ws,
                            password,
                            Some(phc),
                        );
                        assert!(ok, "the floor's own hash did not verify");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).sum()
    });
    (total as f64 / started.elapsed().as_secs_f64(), workers)
}
