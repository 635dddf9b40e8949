//! Reading a setting's text: numbers, flags, exact origins, the session cookie's name and path;
//! each error names its variable.

use super::{ConfigError, invalid};
use crate::kernel::cookie::{CookieRule, SessionCookie};

/// The origins of `allowed` where passkeys can work: those on a domain (not an IP address)
/// within the relying-party id (`rp_id`, else the first such origin's host). How the
/// `ALLOWED_ORIGINS` of a deployment with several sites turn into passkey origins.
pub fn origins_within(allowed: &[String], rp_id: Option<&str>) -> Vec<String> {
    let host = |o: &str| {
        webauthn_rs::prelude::Url::parse(o)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
    };
    let on_domain: Vec<(String, String)> = allowed
        .iter()
        .filter_map(|o| Some((o.clone(), host(o)?)))
        .filter(|(_, h)| {
            h.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_err()
        })
        .collect();
    let Some(rp) = rp_id
        .map(str::to_string)
        .or_else(|| on_domain.first().map(|(_, h)| h.clone()))
    else {
        return Vec::new();
    };
    on_domain
        .into_iter()
        .filter(|(_, h)| *h == rp || h.ends_with(&format!(".{rp}")))
        .map(|(o, _)| o)
        .collect()
}

pub(super) const MAX_SECONDS: u64 = 10 * 365 * 86_400;

/// The session cookie, with its error naming the variable that broke a browser rule.
pub(super) fn session_cookie(
    suffix: Option<&str>,
    path_prefix: Option<&str>,
) -> Result<SessionCookie, ConfigError> {
    SessionCookie::new(suffix.map(str::trim), path_prefix.map(str::trim)).map_err(|rule| {
        let name = match rule {
            CookieRule::Suffix => "COOKIE_NAME_SUFFIX",
            CookieRule::Path | CookieRule::HostPrefix | CookieRule::NotSecure => {
                "COOKIE_PATH_PREFIX"
            }
        };
        invalid(name, rule.to_string())
    })
}

/// Whether browsers count `host` (of an `http://` origin) as a secure context: loopback
/// (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`), per the W3C Secure Contexts spec,
/// "potentially trustworthy origin". Only there does a `Secure` cookie survive plain http.
fn loopback(host_port: &str) -> bool {
    let host = if host_port.starts_with('[') {
        host_port
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default().to_string()
    };
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Exact origins: `http(s)://host[:port]` with nothing after it. A wildcard is refused: with
/// credentials allowed, a browser refuses `*`, and a pattern would let any matching site in.
pub(super) fn origins(name: &'static str, value: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for raw in value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        if raw.contains('*') {
            return Err(invalid(
                name,
                format!("{raw:?}: list exact origins, no wildcard"),
            ));
        }
        let rest = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://"))
            .ok_or_else(|| invalid(name, format!("{raw:?}: an origin is http(s)://host[:port]")))?;
        let host_ok = !rest.is_empty()
            && !rest.contains(['/', '?', '#', '@', ' '])
            && rest.is_ascii()
            && rest == rest.to_ascii_lowercase();
        if !host_ok {
            return Err(invalid(
                name,
                format!("{raw:?}: an origin is http(s)://host[:port], lower-case, no path"),
            ));
        }
        if raw.starts_with("http://") && !loopback(rest) {
            return Err(invalid(
                name,
                format!(
                    "{raw:?}: a page on plain http (other than loopback) is not a secure \
                     context, and the browser drops the Secure session cookie there; serve it \
                     over https (docs/browser.md: \"On a LAN address\")"
                ),
            ));
        }
        out.push(raw.to_string());
    }
    Ok(out)
}

pub(super) fn flag(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<bool, ConfigError> {
    match get(name).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(_) => Err(invalid(name, "must be true or false")),
    }
}

pub(super) fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<u64, ConfigError> {
    get(name)
        .unwrap_or_default()
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n <= MAX_SECONDS)
        .ok_or_else(|| invalid(name, format!("must be a whole number up to {MAX_SECONDS}")))
}

pub(super) fn positive(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<u64, ConfigError> {
    match number(get, name)? {
        0 => Err(invalid(name, "must be greater than zero")),
        n => Ok(n),
    }
}

pub(super) fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<i64, ConfigError> {
    positive(get, name).map(|n| n as i64)
}
