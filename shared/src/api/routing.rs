//! Routing: a method and path matched against the route table ([`ROUTES`]), and what a request
//! that matches none is answered.

use super::routes::{Guard, Handler, ROUTES, RouteSpec};
use http::Method;

/// A request matched to its route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The route's row of [`ROUTES`].
    pub spec: &'static RouteSpec,
    /// The value of the path's `{name}` segment, for a path that has one.
    pub param: Option<String>,
}

impl Route {
    /// What runs.
    pub fn handler(&self) -> Handler {
        self.spec.handler
    }

    /// What API Gateway runs in front of this route.
    pub fn guard(&self) -> Guard {
        self.spec.guard
    }
}

/// A request that matches no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoute {
    /// No such path.
    NotFound,
    /// The path exists with other methods: the value of the `Allow` header.
    MethodNotAllowed(String),
}

/// Matches a method and path against [`ROUTES`]. One trailing slash is ignored; a `{name}`
/// segment matches one non-empty segment.
pub fn route(method: &Method, path: &str) -> Result<Route, NoRoute> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let mut allow: Vec<&str> = Vec::new();
    for spec in ROUTES {
        let Some(param) = match_path(spec.path, path) else {
            continue;
        };
        if spec.method == *method {
            return Ok(Route { spec, param });
        }
        allow.push(spec.method.as_str());
    }
    if allow.is_empty() {
        Err(NoRoute::NotFound)
    } else {
        Err(NoRoute::MethodNotAllowed(allow.join(", ")))
    }
}

/// `Some(param)` when `path` fits `pattern`; `param` is the `{name}` segment's value.
fn match_path(pattern: &str, path: &str) -> Option<Option<String>> {
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    let mut param = None;
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(param),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                if g.is_empty() {
                    return None;
                }
                param = Some(g.to_string());
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passports;
    use crate::sessions;

    fn spec(h: Handler) -> &'static RouteSpec {
        ROUTES.iter().find(|s| s.handler == h).unwrap()
    }

    #[test]
    fn routes_match_methods_and_paths() {
        assert_eq!(
            route(&Method::POST, "/login").unwrap().handler(),
            Handler::Sessions(sessions::Route::Login)
        );
        assert_eq!(
            route(&Method::POST, "/refresh-token/").unwrap().handler(),
            Handler::Sessions(sessions::Route::Refresh)
        );
        assert_eq!(
            route(&Method::DELETE, "/sessions/abc"),
            Ok(Route {
                spec: spec(Handler::Sessions(sessions::Route::RevokeSession)),
                param: Some("abc".into())
            })
        );
        assert_eq!(
            route(&Method::GET, "/login"),
            Err(NoRoute::MethodNotAllowed("POST".into()))
        );
        assert_eq!(route(&Method::GET, "/nope"), Err(NoRoute::NotFound));
        for path in [
            "/sessions/a/b",
            "/sessions//",
            "/me/x",
            "/Login",
            "//login",
            "/",
        ] {
            assert_eq!(
                route(&Method::DELETE, path),
                Err(NoRoute::NotFound),
                "{path}"
            );
        }
        assert_eq!(
            route(&Method::GET, "/me").unwrap().guard(),
            Guard::Authorizer
        );
        assert_eq!(
            route(&Method::GET, "/apps/me").unwrap().guard(),
            Guard::AppAuthorizer
        );
        assert_eq!(
            route(&Method::POST, "/passport/logout").unwrap().handler(),
            Handler::Passports(passports::Route::End)
        );
        assert_eq!(route(&Method::POST, "/login").unwrap().guard(), Guard::Open);
    }
}
