//! The sessions page at `/app/`: the hand-written page in `web/app/` and the session client from
//! its TypeScript sources in `web/src/` (made JavaScript at each request by
//! [`crate::typescript`], so a fresh clone needs no Node.js and an edit shows on reload), served
//! from an allow-list of names (nothing else under the directory is reachable), with a content
//! security policy that allows only this origin.

use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Method, Response, StatusCode};
use std::path::PathBuf;

/// Where the page's files are (`web/` of this repository unless `--web-dir` says otherwise).
#[derive(Debug, Clone)]
pub struct WebApp {
    dir: PathBuf,
}

/// The repository's `web/` directory, as found at build time.
pub const DEFAULT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

impl WebApp {
    /// The page served from `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Whether `path` belongs to the page.
    pub fn owns(path: &str) -> bool {
        path == "/app" || path.starts_with("/app/")
    }

    /// The answer to `method path` for a path that [`WebApp::owns`].
    pub fn answer(&self, method: &Method, path: &str) -> Response<String> {
        if method != Method::GET && method != Method::HEAD {
            return text(
                StatusCode::METHOD_NOT_ALLOWED,
                "the page is read-only (GET)",
            );
        }
        if path == "/app" {
            let mut r = text(StatusCode::PERMANENT_REDIRECT, "see /app/");
            r.headers_mut()
                .insert(LOCATION, HeaderValue::from_static("/app/"));
            return r;
        }
        let Some((file, content_type)) = self.file(path) else {
            return text(StatusCode::NOT_FOUND, "no such file");
        };
        let Ok(source) = std::fs::read_to_string(&file) else {
            return text(StatusCode::NOT_FOUND, "no such file");
        };
        let is_typescript = file.extension().is_some_and(|x| x == "ts");
        let served = if is_typescript {
            crate::typescript::to_javascript(&file, &source)
        } else {
            Ok(source)
        };
        match served {
            Ok(body) => {
                let mut r = Response::new(body);
                let h = r.headers_mut();
                h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
                h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                h.insert(
                    "x-content-type-options",
                    HeaderValue::from_static("nosniff"),
                );
                h.insert("content-security-policy", HeaderValue::from_static(CSP));
                h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
                r
            }
            // A syntax error in web/src while someone edits it: say where, as a dev server does.
            Err(why) => text(StatusCode::INTERNAL_SERVER_ERROR, &why),
        }
    }

    /// The file behind `path`, when it is on the allow-list.
    fn file(&self, path: &str) -> Option<(PathBuf, &'static str)> {
        const JS: &str = "text/javascript; charset=utf-8";
        let rel = path.strip_prefix("/app/")?;
        let app = |name: &str| self.dir.join("app").join(name);
        match rel {
            "" | "index.html" => Some((app("index.html"), "text/html; charset=utf-8")),
            "app.js" => Some((app("app.js"), JS)),
            "mail.js" => Some((app("mail.js"), JS)),
            "providers.js" => Some((app("providers.js"), JS)),
            "shared.html" => Some((app("shared.html"), "text/html; charset=utf-8")),
            "shared.js" => Some((app("shared.js"), JS)),
            "style.css" => Some((app("style.css"), "text/css; charset=utf-8")),
            _ => {
                let name = rel.strip_prefix("client/")?;
                let stem = name.strip_suffix(".js")?;
                let plain = !stem.is_empty()
                    && stem
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                plain.then(|| (self.dir.join("src").join(format!("{stem}.ts")), JS))
            }
        }
    }
}

fn text(status: StatusCode, message: &str) -> Response<String> {
    let mut r = Response::new(format!("{message}\n"));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> (WebApp, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "passport-web-{}",
            passport::kernel::ids::Id::random()
        ));
        std::fs::create_dir_all(dir.join("app")).unwrap();
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("app/index.html"), "<!doctype html>").unwrap();
        std::fs::write(dir.join("app/app.js"), "// page").unwrap();
        std::fs::write(
            dir.join("src/index.ts"),
            "export const client: string = \"client\";\n",
        )
        .unwrap();
        std::fs::write(dir.join("secret.txt"), "not for you").unwrap();
        (WebApp::new(&dir), dir)
    }

    #[test]
    fn serves_the_allow_list_only() {
        let (web, dir) = site();
        let get = |p: &str| web.answer(&Method::GET, p);
        let page = get("/app/");
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(
            page.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        let client = get("/app/client/index.js");
        assert_eq!(client.status(), 200);
        assert_eq!(
            client.headers()[CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(client.body().trim(), "export const client = \"client\";");
        assert_eq!(get("/app").status(), 308);
        for bad in [
            "/app/../secret.txt",
            "/app/client/../../secret.txt",
            "/app/client/%2e%2e/secret.js",
            "/app/client/.js",
            "/app/client/Index.js",
            "/app/secret.txt",
            "/app/client/missing.js",
        ] {
            assert_eq!(get(bad).status(), 404, "{bad}");
        }
        assert_eq!(web.answer(&Method::POST, "/app/").status(), 405);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_client_source_that_does_not_parse_is_a_500_naming_it() {
        let (web, dir) = site();
        std::fs::write(dir.join("src/index.ts"), "export const = ;").unwrap();
        let r = web.answer(&Method::GET, "/app/client/index.js");
        assert_eq!(r.status(), 500);
        assert!(r.body().contains("index.ts"), "{}", r.body());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_real_client_is_served_from_its_sources() {
        let web = WebApp::new(DEFAULT_DIR);
        for name in [
            "index",
            "jwt",
            "lock",
            "obtain",
            "passports",
            "storage",
            "transports",
        ] {
            let r = web.answer(&Method::GET, &format!("/app/client/{name}.js"));
            assert_eq!(r.status(), 200, "{name}: {}", r.body());
            assert!(!r.body().contains("interface "), "{name}: types left");
        }
    }
}
