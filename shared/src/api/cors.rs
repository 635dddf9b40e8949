//! The CORS policy the deployment states once: the methods and headers a browser may use
//! across origins, and how long it may cache a preflight. `template.yaml`'s
//! `CorsConfiguration` says the same (a test holds them together); `local-api` answers with it
//! as API Gateway does. Origins come from `ALLOWED_ORIGINS` (exact origins, never `*`), and
//! credentials are allowed only for them.

use super::routes::ROUTES;

/// Request headers a cross-origin page may send.
pub const ALLOW_HEADERS: &[&str] = &["authorization", "content-type", "x-app-code"];

/// Seconds a browser may cache a preflight's answer.
pub const MAX_AGE_SECONDS: u32 = 600;

/// The methods of the route table, each once, in the table's order.
pub fn allow_methods() -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = Vec::new();
    for r in ROUTES {
        let m = r.method.as_str();
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_come_from_the_route_table() {
        assert_eq!(allow_methods(), ["POST", "GET", "DELETE"]);
    }
}
