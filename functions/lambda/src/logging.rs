//! The functions' log subscriber: what `lambda_runtime`'s default one does (Lambda's advanced
//! logging controls: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`; JSON lines when
//! `AWS_LAMBDA_LOG_FORMAT` is `JSON`; no time, no target), with a `Targets` filter
//! (`info`, or `warn,passport=debug`) in place of `EnvFilter`, whose regex engine was a tenth
//! of every bootstrap. The variables are read by `passport::kernel::config::LogSettings`.

use passport::kernel::config::LogSettings;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter for a `RUST_LOG`-style value (`Targets` syntax); `info` when it is missing or
/// empty, or does not parse.
pub fn filter(value: Option<&str>) -> Targets {
    value
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// Installs the subscriber, once per process (a second call changes nothing).
pub fn init() {
    let LogSettings {
        filter: level,
        json,
    } = LogSettings::from_env();
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_ansi(false);
    let registry = tracing_subscriber::registry().with(filter(level.as_deref()));
    let _ = if json {
        registry.with(fmt.json()).try_init()
    } else {
        registry.with(fmt).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;
    use tracing_subscriber::filter::LevelFilter;

    #[test]
    fn levels_and_targets_parse_and_nothing_is_info() {
        assert!(filter(Some("warn")).would_enable("passport", &Level::WARN));
        assert!(!filter(Some("warn")).would_enable("passport", &Level::INFO));
        assert!(filter(Some("INFO")).would_enable("x", &Level::INFO));
        let mixed = filter(Some("warn,passport=debug"));
        assert!(mixed.would_enable("passport::http", &Level::DEBUG));
        assert!(!mixed.would_enable("hyper", &Level::INFO));
        for junk in [None, Some(""), Some("  ")] {
            let f = filter(junk);
            assert!(f.would_enable("x", &Level::INFO), "{junk:?}");
            assert!(!f.would_enable("x", &Level::DEBUG), "{junk:?}");
        }
        assert_eq!(filter(Some("off")).default_level(), Some(LevelFilter::OFF));
    }
}
