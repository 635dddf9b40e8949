//! The CSRF check of every request that reads or sets the session cookie: Fetch Metadata with
//! an `Origin` fallback, plus a JSON body, as OWASP's "Cross-Site Request Forgery Prevention
//! Cheat Sheet" (2025) recommends. No token and no JavaScript-readable CSRF cookie are needed.
//!
//! The rules, in order:
//! 1. the `Content-Type` is JSON: a cross-origin page can only send one after a CORS preflight,
//!    which API Gateway refuses for an unlisted origin, and an HTML form cannot send one;
//! 2. `Sec-Fetch-Site` (sent by every current browser, and not settable by a page) is
//!    `same-origin`; or `same-site` from a listed origin (`ALLOWED_ORIGINS` is the
//!    configuration: an app on a sibling subdomain is listed, a sibling that is not is refused);
//!    anything else (`cross-site`, `none`, an unknown value) is refused;
//! 3. without `Sec-Fetch-Site` (an older browser), `Origin` is present and listed.
//!
//! Clients that are not browsers send neither header and no cookie, so the body transport never
//! meets this check.

use crate::kernel::error::ApiError;
use http::HeaderMap;
use http::header::{CONTENT_TYPE, ORIGIN};

/// Refuses a request that a page on another site could have made the browser send.
pub fn check(headers: &HeaderMap, allowed_origins: &[String]) -> Result<(), ApiError> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
    };
    if !text(CONTENT_TYPE).is_some_and(super::is_json) {
        return Err(ApiError::CsrfRejected("the request is not JSON"));
    }
    let listed = || text(ORIGIN).is_some_and(|o| allowed_origins.iter().any(|a| a == o));
    match text(http::HeaderName::from_static("sec-fetch-site")) {
        Some("same-origin") => Ok(()),
        Some("same-site") if listed() => Ok(()),
        Some("same-site") => Err(ApiError::CsrfRejected(
            "a same-site request from an origin that is not listed",
        )),
        Some(_) => Err(ApiError::CsrfRejected("a cross-site request")),
        None if listed() => Ok(()),
        None => Err(ApiError::CsrfRejected(
            "no Fetch Metadata and no listed Origin",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const APP: &str = "https://app.example.com";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_and_listed_origins_pass() {
        let listed = [APP.to_string()];
        for ok in [
            headers(&[("sec-fetch-site", "same-origin")]),
            headers(&[
                ("sec-fetch-site", "same-origin"),
                ("origin", "https://x.test"),
            ]),
            headers(&[("sec-fetch-site", "same-site"), ("origin", APP)]),
            headers(&[("origin", APP)]),
        ] {
            assert!(check(&ok, &listed).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn cross_site_unlisted_unknown_and_non_json_are_refused() {
        let listed = [APP.to_string()];
        for bad in [
            headers(&[("sec-fetch-site", "cross-site"), ("origin", APP)]),
            headers(&[("sec-fetch-site", "none")]),
            headers(&[
                ("sec-fetch-site", "same-site"),
                ("origin", "https://evil.example.com"),
            ]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("sec-fetch-site", "SAME-ORIGIN")]),
            headers(&[("origin", "https://evil.test")]),
            headers(&[("origin", "null")]),
            headers(&[]),
        ] {
            assert!(
                matches!(check(&bad, &listed), Err(ApiError::CsrfRejected(_))),
                "{bad:?}"
            );
        }
        let mut form = headers(&[("sec-fetch-site", "same-origin")]);
        form.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(matches!(
            check(&form, &listed),
            Err(ApiError::CsrfRejected(_))
        ));
        form.remove(CONTENT_TYPE);
        assert!(matches!(
            check(&form, &listed),
            Err(ApiError::CsrfRejected(_))
        ));
    }
}
