//! Per-operation timing: every call timed on its own, summarised as median, p99 and mean.

use serde_json::{Value, json};
use std::future::Future;
use std::time::{Duration, Instant};

/// A timing summary in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Median.
    pub median_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Mean.
    pub mean_us: f64,
    /// Samples.
    pub samples: usize,
}

impl Stats {
    /// Summarises `samples` (any order).
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let n = samples.len().max(1);
        let at = |p: f64| {
            let i = ((n as f64 - 1.0) * p).round() as usize;
            samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
        };
        let total: f64 = samples.iter().map(Duration::as_secs_f64).sum();
        Self {
            median_us: at(0.5),
            p99_us: at(0.99),
            mean_us: total * 1e6 / n as f64,
            samples: samples.len(),
        }
    }

    /// As JSON.
    pub fn json(&self) -> Value {
        json!({
            "median_us": self.median_us,
            "p99_us": self.p99_us,
            "mean_us": self.mean_us,
            "samples": self.samples,
        })
    }
}

/// Times `op` `iters` times after `warmup` untimed calls.
pub async fn time_async<F, Fut>(warmup: usize, iters: usize, mut op: F) -> Stats
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..warmup {
        op().await;
    }
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let started = Instant::now();
        op().await;
        samples.push(started.elapsed());
    }
    Stats::of(samples)
}

/// Times `a` and `b` alternately, `iters` times each after `warmup` untimed rounds: a figure
/// and its floor measured this way see the same machine (a loopback round trip that drifts by
/// tens of µs over a run would otherwise favour whichever ran in the quieter moment).
pub async fn time_interleaved<A, FutA, B, FutB>(
    warmup: usize,
    iters: usize,
    mut a: A,
    mut b: B,
) -> (Stats, Stats)
where
    A: FnMut() -> FutA,
    FutA: Future<Output = ()>,
    B: FnMut() -> FutB,
    FutB: Future<Output = ()>,
{
    for _ in 0..warmup {
        a().await;
        b().await;
    }
    let (mut sa, mut sb) = (Vec::with_capacity(iters), Vec::with_capacity(iters));
    for _ in 0..iters {
        let started = Instant::now();
        a().await;
        sa.push(started.elapsed());
        let started = Instant::now();
        b().await;
        sb.push(started.elapsed());
    }
    (Stats::of(sa), Stats::of(sb))
}

/// Times synchronous `ops` in turn, one call of each per round, `iters` rounds after `warmup`
/// untimed ones: figures compared as ratios see the same moments of the machine. (Timed as
/// blocks one after another, `make bench`'s ES256 verification and its `ring` floor drifted
/// apart by several per cent: 1.33 × in blocks, 1.07 × in turn, on the same build.)
pub fn time_sync_in_turn<const N: usize>(
    warmup: usize,
    iters: usize,
    mut ops: [&mut dyn FnMut(); N],
) -> [Stats; N] {
    for _ in 0..warmup {
        for op in ops.iter_mut() {
            op();
        }
    }
    let mut samples: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(iters));
    for _ in 0..iters {
        for (op, s) in ops.iter_mut().zip(samples.iter_mut()) {
            let started = Instant::now();
            op();
            s.push(started.elapsed());
        }
    }
    samples.map(Stats::of)
}

/// Times a synchronous `op` likewise.
pub fn time_sync(warmup: usize, iters: usize, mut op: impl FnMut()) -> Stats {
    for _ in 0..warmup {
        op();
    }
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let started = Instant::now();
        op();
        samples.push(started.elapsed());
    }
    Stats::of(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_known_samples() {
        let s = Stats::of((1..=100).rev().map(Duration::from_micros).collect());
        assert_eq!(s.median_us.round(), 51.0);
        assert_eq!(s.p99_us.round(), 99.0);
        assert_eq!(s.mean_us.round(), 51.0);
        assert_eq!(s.samples, 100);
    }

    #[test]
    fn in_turn_calls_each_op_once_per_round_in_order() {
        let calls = std::cell::RefCell::new(Vec::new());
        let [a, b] = time_sync_in_turn(
            1,
            3,
            [&mut || calls.borrow_mut().push('a'), &mut || {
                calls.borrow_mut().push('b')
            }],
        );
        assert_eq!(calls.into_inner().iter().collect::<String>(), "abababab");
        assert_eq!((a.samples, b.samples), (3, 3));
    }
}
