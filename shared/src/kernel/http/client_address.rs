//! The client's address, as per-address limits see it: the address API Gateway reports, or —
//! behind a CloudFront distribution that proves itself with the origin secret — the viewer's
//! address CloudFront reports; IPv6 addresses grouped by their network prefix.
//!
//! Behind CloudFront, API Gateway's `sourceIp` is a CloudFront server: every viewer of an edge
//! location would share one failure count and one new-visitor count. CloudFront adds
//! `CloudFront-Viewer-Address` ("the IP address of the viewer and the source port", e.g.
//! `198.51.100.10:46532`, IPv6 unbracketed: `2001:db8::1:46532`) when an origin request policy
//! asks for it (docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/adding-cloudfront-headers.html).
//! Any client can send that header straight to the API, so it is honoured only on a request
//! carrying `X-Passport-Origin-Secret` equal to `TRUSTED_ORIGIN_SECRET`, which CloudFront adds
//! as an origin custom header and clients never see (compared in constant time).
//!
//! One IPv6 host usually holds a whole /64 (SLAAC, privacy addresses): counting per address
//! would give an attacker 2^64 fresh counters. Limits count per `IPV6_LIMIT_PREFIX` bits.

use crate::kernel::config::SecretBytes;
use http::HeaderMap;
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// The header CloudFront fills with the viewer's address and port.
pub const VIEWER_ADDRESS: &str = "cloudfront-viewer-address";
/// The origin custom header that proves a request came through the deployment's CloudFront.
pub const ORIGIN_SECRET: &str = "x-passport-origin-secret";

/// The client's address: the viewer's, when `trusted` is set and the request proves it came
/// through CloudFront; else `source_ip`.
pub fn client_address(
    headers: &HeaderMap,
    source_ip: Option<String>,
    trusted: Option<&SecretBytes>,
) -> Option<String> {
    let proven = trusted.is_some_and(|secret| {
        let mut sent = headers.get_all(ORIGIN_SECRET).iter();
        match (sent.next(), sent.next()) {
            (Some(v), None) => bool::from(v.as_bytes().ct_eq(secret.expose())),
            _ => false,
        }
    });
    if !proven {
        return source_ip;
    }
    let mut values = headers.get_all(VIEWER_ADDRESS).iter();
    match (values.next().and_then(|v| v.to_str().ok()), values.next()) {
        (Some(v), None) => viewer_ip(v).map(|ip| ip.to_string()).or(source_ip),
        _ => source_ip,
    }
}

/// The address in a `CloudFront-Viewer-Address` value (`ip:port`; IPv6 unbracketed or
/// bracketed).
fn viewer_ip(value: &str) -> Option<IpAddr> {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split_once("]:")?.0.parse().ok();
    }
    let (ip, port) = value.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_viewer_address_counts_only_behind_the_proven_origin() {
        let secret = SecretBytes::new(b"an origin secret long enough to guess never".to_vec());
        let edge = Some("130.176.1.1".to_string());
        let through = headers(&[
            (ORIGIN_SECRET, "an origin secret long enough to guess never"),
            (VIEWER_ADDRESS, "198.51.100.10:46532"),
        ]);
        assert_eq!(
            client_address(&through, edge.clone(), Some(&secret)).as_deref(),
            Some("198.51.100.10")
        );
        let v6 = headers(&[
            (ORIGIN_SECRET, "an origin secret long enough to guess never"),
            (VIEWER_ADDRESS, "2001:db8::1:46532"),
        ]);
        assert_eq!(
            client_address(&v6, edge.clone(), Some(&secret)).as_deref(),
            Some("2001:db8::1")
        );
        // Not configured, no secret, a wrong one, or two: the edge's address.
        assert_eq!(client_address(&through, edge.clone(), None), edge);
        let forged = headers(&[(VIEWER_ADDRESS, "198.51.100.10:46532")]);
        assert_eq!(client_address(&forged, edge.clone(), Some(&secret)), edge);
        let wrong = headers(&[
            (ORIGIN_SECRET, "a guess"),
            (VIEWER_ADDRESS, "198.51.100.10:46532"),
        ]);
        assert_eq!(client_address(&wrong, edge.clone(), Some(&secret)), edge);
        let garbage = headers(&[
            (ORIGIN_SECRET, "an origin secret long enough to guess never"),
            (VIEWER_ADDRESS, "not an address"),
        ]);
        assert_eq!(client_address(&garbage, edge.clone(), Some(&secret)), edge);
    }
}
