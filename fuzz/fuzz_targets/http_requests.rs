//! Arbitrary headers and bodies into each route's request parsing: never a panic, and every
//! refusal maps to a 4xx. Input layout: one byte choosing the route, header lines
//! (`name: value`), a NUL byte, then the body.
#![no_main]

use http::{HeaderName, HeaderValue, Method, Request};
use libfuzzer_sys::fuzz_target;
use passport::api::route;
use passport::kernel::error::table;
use passport::sessions::http::{parse_login, parse_logout, parse_refresh};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (head, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut req = Request::new(body.to_vec());
    let mut path = String::from("/");
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            path = line.to_string();
            continue;
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            req.headers_mut().append(n, v);
        }
    }
    let method = [Method::GET, Method::POST, Method::DELETE, Method::PUT]
        [usize::from(selector >> 6)]
    .clone();
    let _ = route(&method, &path);
    let refused = match selector % 3 {
        0 => parse_login(&req).err(),
        1 => parse_refresh(&req, None).err(),
        _ => parse_logout(&req).err(),
    };
    if let Some(err) = refused {
        let status = table::api_error(&err).status;
        assert!(
            status.is_client_error(),
            "{status} for a client's input: {err}"
        );
    }
});
