//! Wall-clock time as Unix seconds, its RFC 3339 rendering for API responses, and [`Clock`]: the
//! time a service is handed (the system's, or in tests one that moves only when told).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a service reads the time. Deployed, it is the system clock; a test of the in-memory
/// store hands the service a manual one and moves it across an expiry instead of sleeping
/// (Redis keeps its own clock for its TTLs, so tests of those still wait in real time).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that starts at the system's time and moves only by [`Clock::advance`]; its
    /// clones share it.
    #[cfg(any(test, feature = "testing"))]
    pub fn manual() -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(now()))),
        }
    }

    /// Moves a manual clock `seconds` ahead; `false` (and nothing moves) for the system clock.
    #[cfg(any(test, feature = "testing"))]
    pub fn advance(&self, seconds: i64) -> bool {
        match &self.manual {
            Some(t) => {
                t.fetch_add(seconds, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Whether it is a manual clock (a test's).
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// The current time in whole seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        self.manual
            .as_ref()
            .map_or_else(now, |t| t.load(Ordering::SeqCst))
    }
}

/// The current time in whole seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Renders Unix seconds as an RFC 3339 UTC timestamp, e.g. `2026-11-28T10:00:00Z`.
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to a proleptic Gregorian date.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_clones_share_it() {
        let clock = Clock::manual();
        let start = clock.now();
        let clone = clock.clone();
        assert!(clone.advance(30));
        assert_eq!(clock.now(), start + 30);
        assert!(!Clock::system().advance(30));
        assert!((Clock::system().now() - now()).abs() <= 1);
    }

    #[test]
    fn renders_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_860_000), "2026-11-28T10:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn now_is_after_2025() {
        assert!(now() > 1_735_689_600);
    }
}
