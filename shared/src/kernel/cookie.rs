//! The session cookie of the cookie transport: its name and attributes, the browser's rules for
//! them (checked at start), and reading it back from a request.
//!
//! The cookie holds the refresh token and nothing else; the access token is never put in a
//! cookie. It is `HttpOnly` (no script reads it), `Secure` (https, or loopback, which browsers
//! count as a secure context), `SameSite=Strict` (never sent on a cross-site request) and
//! prefixed so that the browser enforces those attributes itself — see ARCHITECTURE.md, "The
//! cookie transport", for why `__Host-` with `Path=/` is the default.

use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};

/// The name the cookie has before its prefix and suffix.
pub const BASE_NAME: &str = "passport_refresh";

/// The base name of the device-bound cookie (DBSC): short-lived, renewed only with a proof
/// signed by the browser's device key.
pub const BOUND_BASE_NAME: &str = "passport_bound";

/// The base name of the pin beside a `__Secure-` session cookie (`COOKIE_PATH_PREFIX`): a
/// `__Host-` cookie naming the session, which only this host can set.
pub const PIN_BASE_NAME: &str = "passport_pin";

/// Longest `COOKIE_NAME_SUFFIX` accepted.
pub const MAX_SUFFIX_LEN: usize = 32;

/// The session cookie a deployment sets: name and path, fixed at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    name: String,
    path: String,
    /// The pin's name, when the session cookie is a `__Secure-` one ([`SessionCookie::pin`]).
    pin: Option<String>,
}

impl SessionCookie {
    /// The cookie for `COOKIE_NAME_SUFFIX` and `COOKIE_PATH_PREFIX`. Without a path prefix it is
    /// `__Host-passport_refresh<suffix>` on `Path=/`; with one, `__Secure-passport_refresh<suffix>`
    /// on that path (a `__Host-` cookie cannot have another path). An `Err` names what the
    /// browser would refuse or silently drop; the caller names the variable.
    pub fn new(suffix: Option<&str>, path_prefix: Option<&str>) -> Result<Self, CookieRule> {
        let suffix = suffix.unwrap_or("");
        if suffix.len() > MAX_SUFFIX_LEN
            || !suffix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(CookieRule::Suffix);
        }
        let cookie = match path_prefix.map(|p| p.trim_end_matches('/')) {
            None | Some("") => Self {
                name: format!("__Host-{BASE_NAME}{suffix}"),
                path: "/".into(),
                pin: None,
            },
            Some(path) => {
                let path_ok = path.starts_with('/')
                    && !path.contains("//")
                    && path
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'?' | b'#'));
                if !path_ok {
                    return Err(CookieRule::Path);
                }
                Self {
                    name: format!("__Secure-{BASE_NAME}{suffix}"),
                    path: path.into(),
                    pin: Some(format!("__Host-{PIN_BASE_NAME}{suffix}")),
                }
            }
        };
        let built = cookie.build("x", 1);
        browser_rules(&built)?;
        Ok(cookie)
    }

    /// The device-bound cookie beside this one (DBSC): the same prefix, suffix, path and
    /// attributes, named [`BOUND_BASE_NAME`].
    pub fn bound(&self) -> SessionCookie {
        SessionCookie {
            name: self.name.replacen(BASE_NAME, BOUND_BASE_NAME, 1),
            path: self.path.clone(),
            pin: None,
        }
    }

    /// The pin's name, for a `__Secure-` session cookie (`COOKIE_PATH_PREFIX`); `None` for the
    /// default `__Host-` one, which needs none.
    ///
    /// A `__Secure-` cookie can be set by any sibling subdomain with `Domain=` (only `__Host-`
    /// forbids it, RFC 6265bis, "The __Host- Prefix"): planted in a browser that has no session
    /// cookie, it would be taken as the visitor's own, and the visitor would work in the
    /// attacker's session (session fixation). The pin is a `__Host-` cookie on `Path=/` that
    /// names the session; no sibling can set one, and a session cookie is accepted only beside
    /// the pin of its own session ([`SessionCookie::pinned`]).
    pub fn pin(&self) -> Option<&str> {
        self.pin.as_deref()
    }

    /// `Set-Cookie` for the pin of `session`, living `max_age` seconds; `None` without a pin.
    pub fn set_pin(&self, session: &str, max_age: i64) -> Option<HeaderValue> {
        self.pin_cookie(session, max_age).map(|c| header(&c))
    }

    /// `Set-Cookie` that deletes the pin; `None` without a pin.
    pub fn clear_pin(&self) -> Option<HeaderValue> {
        self.pin_cookie("", 0).map(|c| header(&c))
    }

    /// Whether a session cookie of `session` may be taken from these headers: always without a
    /// pin; with one, only when the request carries the pin of that very session.
    pub fn pinned(&self, headers: &HeaderMap, session: &str) -> bool {
        let Some(pin) = &self.pin else {
            return true;
        };
        let pinned = SessionCookie {
            name: pin.clone(),
            path: "/".into(),
            pin: None,
        };
        pinned.read(headers) == Some(session)
    }

    fn pin_cookie(&self, value: &str, max_age: i64) -> Option<Cookie<'static>> {
        self.pin.as_ref().map(|name| {
            Cookie::build((name.clone(), value.to_string()))
                .path("/")
                .secure(true)
                .http_only(true)
                .same_site(SameSite::Strict)
                .max_age(cookie::time::Duration::seconds(max_age.max(0)))
                .build()
        })
    }

    /// The attributes of `Set-Cookie` after name and value, as DBSC's session instructions
    /// state them (`credentials[].attributes`).
    pub fn attributes(&self) -> String {
        format!("Path={}; Secure; HttpOnly; SameSite=Strict", self.path)
    }

    /// The cookie's name, prefix included.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cookie's `Path`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `Set-Cookie` for `refresh_token`, living `max_age` seconds (the session's lifetime).
    pub fn set(&self, refresh_token: &str, max_age: i64) -> HeaderValue {
        header(&self.build(refresh_token, max_age))
    }

    /// `Set-Cookie` that deletes the cookie: the same name, path and prefix attributes (a
    /// browser refuses a `__Host-` cookie without them, deletion included), `Max-Age=0`.
    pub fn clear(&self) -> HeaderValue {
        header(&self.build("", 0))
    }

    /// The cookie's value in the request's `Cookie` headers; the first one when several have
    /// the name (the browser sends the most specific path first). The HTTP layer reads it with
    /// [`SessionCookie::read_one`], which refuses several.
    pub fn read<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        self.values(headers).next()
    }

    /// The cookie's value, or [`Tossed`] when the request carries more than one cookie of this
    /// name. Only one can be this deployment's: a `__Secure-` cookie on `COOKIE_PATH_PREFIX` can
    /// be shadowed by one a sibling subdomain plants with `Domain=` and a longer path, which the
    /// browser sends first ("cookie tossing"); taking either would let the attacker choose
    /// whose session the victim's browser works in.
    pub fn read_one<'a>(&self, headers: &'a HeaderMap) -> Result<Option<&'a str>, Tossed> {
        let mut values = self.values_or_empty(headers);
        let first = values.next();
        if values.next().is_some() {
            return Err(Tossed);
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    /// `Set-Cookie` headers that delete every copy this deployment can name after [`Tossed`]:
    /// its own cookie, and one of the same name on `request_path` (the most specific path a
    /// planted copy sent with this request can have). A copy planted with another `Domain`
    /// cannot be named from here; refusing every request that carries it is the defence.
    pub fn clear_tossed(&self, request_path: &str) -> Vec<HeaderValue> {
        let mut out = vec![self.clear()];
        if request_path != self.path && request_path.starts_with('/') {
            let planted = Cookie::build((self.name.clone(), String::new()))
                .path(request_path.to_string())
                .secure(true)
                .http_only(true)
                .same_site(SameSite::Strict)
                .max_age(cookie::time::Duration::seconds(0))
                .build();
            out.push(header(&planted));
        }
        out
    }

    fn values_or_empty<'s, 'a>(
        &'s self,
        headers: &'a HeaderMap,
    ) -> impl Iterator<Item = &'a str> + use<'s, 'a> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .filter(|c| c.name() == self.name)
            .filter_map(|c| c.value_raw())
            .map(|v| v.trim_matches('"'))
    }

    fn values<'s, 'a>(
        &'s self,
        headers: &'a HeaderMap,
    ) -> impl Iterator<Item = &'a str> + use<'s, 'a> {
        self.values_or_empty(headers).filter(|v| !v.is_empty())
    }

    fn build(&self, value: &str, max_age: i64) -> Cookie<'static> {
        Cookie::build((self.name.clone(), value.to_string()))
            .path(self.path.clone())
            .secure(true)
            .http_only(true)
            .same_site(SameSite::Strict)
            .max_age(cookie::time::Duration::seconds(max_age.max(0)))
            .build()
    }
}

fn header(cookie: &Cookie<'_>) -> HeaderValue {
    // Name, path and value are checked ASCII (the token is base64url): this always parses.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// More than one session cookie in one request: see [`SessionCookie::read_one`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tossed;

/// What a browser would refuse or silently drop in a cookie setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CookieRule {
    /// The suffix is not 0–32 characters of `A–Z a–z 0–9 - _`.
    #[error("a cookie name suffix is up to 32 characters of A-Z, a-z, 0-9, - and _")]
    Suffix,
    /// The path prefix is not an absolute path without `;`, `,`, `?`, `#`, `//` or spaces.
    #[error("a cookie path is an absolute path (/base) without ; , ? # // or spaces")]
    Path,
    /// A `__Host-` cookie with a path other than `/`, or with a domain.
    #[error("a __Host- cookie must have Path=/ and no Domain, or the browser drops it")]
    HostPrefix,
    /// A prefixed cookie without `Secure`.
    #[error("a __Host- or __Secure- cookie must be Secure, or the browser drops it")]
    NotSecure,
}

/// The cookie-prefix rules browsers enforce (RFC 6265bis, "Cookie Name Prefixes"; Chromium,
/// Firefox and Safari all do): a cookie breaking them is dropped without an error anywhere.
fn browser_rules(c: &Cookie<'_>) -> Result<(), CookieRule> {
    let prefixed = c.name().starts_with("__Host-") || c.name().starts_with("__Secure-");
    if prefixed && c.secure() != Some(true) {
        return Err(CookieRule::NotSecure);
    }
    if c.name().starts_with("__Host-") && (c.path() != Some("/") || c.domain().is_some()) {
        return Err(CookieRule::HostPrefix);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_a_host_cookie_on_the_root_path() {
        let c = SessionCookie::new(None, None).unwrap();
        assert_eq!(c.name(), "__Host-passport_refresh");
        assert_eq!(c.path(), "/");
        let set = c.set("tok", 600);
        let text = set.to_str().unwrap();
        for part in [
            "__Host-passport_refresh=tok",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=600",
        ] {
            assert!(text.split("; ").any(|p| p == part), "{part} in {text}");
        }
        assert!(!text.contains("Domain"), "{text}");
        let clear = c.clear();
        let text = clear.to_str().unwrap();
        assert!(text.starts_with("__Host-passport_refresh=;"), "{text}");
        for part in ["Max-Age=0", "Secure", "Path=/", "HttpOnly"] {
            assert!(text.split("; ").any(|p| p == part), "{part} in {text}");
        }
    }

    #[test]
    fn a_path_prefix_makes_a_secure_cookie_on_that_path() {
        let c = SessionCookie::new(Some("_3000"), Some("/prod/")).unwrap();
        assert_eq!(c.name(), "__Secure-passport_refresh_3000");
        assert_eq!(c.path(), "/prod");
        let c = SessionCookie::new(Some("-b"), Some("/")).unwrap();
        assert_eq!(c.name(), "__Host-passport_refresh-b");
        assert_eq!(c.pin(), None, "a __Host- cookie needs no pin");
    }

    #[test]
    fn a_secure_cookie_is_taken_only_beside_its_sessions_pin() {
        let c = SessionCookie::new(Some("_1"), Some("/auth")).unwrap();
        assert_eq!(c.pin(), Some("__Host-passport_pin_1"));
        let set = c.set_pin("the-session", 600).unwrap();
        let text = set.to_str().unwrap();
        for part in [
            "__Host-passport_pin_1=the-session",
            "Path=/",
            "Secure",
            "HttpOnly",
        ] {
            assert!(text.split("; ").any(|p| p == part), "{part} in {text}");
        }
        browser_rules(&c.pin_cookie("v", 1).unwrap()).unwrap();
        let with = |cookies: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(COOKIE, HeaderValue::from_static(cookies));
            h
        };
        let planted = with("__Secure-passport_refresh_1=attackers");
        assert!(!c.pinned(&planted, "attackers-session"), "no pin");
        let other = with("__Host-passport_pin_1=mine; __Secure-passport_refresh_1=x");
        assert!(
            !c.pinned(&other, "attackers-session"),
            "another session's pin"
        );
        assert!(c.pinned(&other, "mine"));
        let default = SessionCookie::new(None, None).unwrap();
        assert!(default.pinned(&planted, "anything"), "nothing to pin");
    }

    #[test]
    fn settings_a_browser_would_refuse_are_refused() {
        for (suffix, path, rule) in [
            (Some("a b"), None, CookieRule::Suffix),
            (Some("a;b"), None, CookieRule::Suffix),
            (Some("é"), None, CookieRule::Suffix),
            (None, Some("prod"), CookieRule::Path),
            (None, Some("/a;b"), CookieRule::Path),
            (None, Some("/a b"), CookieRule::Path),
            (None, Some("//x"), CookieRule::Path),
        ] {
            assert_eq!(
                SessionCookie::new(suffix, path),
                Err(rule),
                "{suffix:?} {path:?}"
            );
        }
        let long = "x".repeat(MAX_SUFFIX_LEN + 1);
        assert_eq!(
            SessionCookie::new(Some(&long), None),
            Err(CookieRule::Suffix)
        );
        let host_with_path = Cookie::build(("__Host-x", "v"))
            .path("/a")
            .secure(true)
            .build();
        assert_eq!(browser_rules(&host_with_path), Err(CookieRule::HostPrefix));
        let host_with_domain = Cookie::build(("__Host-x", "v"))
            .path("/")
            .domain("example.com")
            .secure(true)
            .build();
        assert_eq!(
            browser_rules(&host_with_domain),
            Err(CookieRule::HostPrefix)
        );
        let insecure = Cookie::build(("__Secure-x", "v")).path("/").build();
        assert_eq!(browser_rules(&insecure), Err(CookieRule::NotSecure));
    }

    #[test]
    fn reads_its_own_cookie_only() {
        let c = SessionCookie::new(Some("_1"), None).unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(c.read(&h), None);
        h.append(
            COOKIE,
            HeaderValue::from_static("__Host-passport_refresh=other; theme=dark"),
        );
        assert_eq!(c.read(&h), None, "another deployment's cookie");
        h.append(
            COOKIE,
            HeaderValue::from_static("a=b;__Host-passport_refresh_1=mine ; c=d"),
        );
        assert_eq!(c.read(&h), Some("mine"));
        let mut empty = HeaderMap::new();
        empty.insert(
            COOKIE,
            HeaderValue::from_static("__Host-passport_refresh_1="),
        );
        assert_eq!(c.read(&empty), None);
    }
}
