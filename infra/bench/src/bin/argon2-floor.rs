//! `argon2-floor SECONDS`: the login floor (see `passport_bench::floor`) as one JSON line,
//! `{"per_second": …, "workers": …}`. `make bench` runs it just before and just after the login
//! load, so the floor and the figure see the same machine.

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let (per_second, workers) =
        passport_bench::floor::argon2_floor(std::time::Duration::from_secs_f64(seconds));
    println!("{{\"per_second\": {per_second}, \"workers\": {workers}}}");
}
