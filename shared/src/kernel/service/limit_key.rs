//! What the per-address limits (lockout, new visitors) count a client's address by.

use std::net::{IpAddr, Ipv6Addr};

/// What per-address limits count by: an IPv4 address as it is, an IPv6 address reduced to its
/// first `v6_prefix` bits (written `<network>/<bits>`); anything else as given.
pub fn limit_key(ip: &str, v6_prefix: u8) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() && v6_prefix < 128 => {
            let bits = u128::from(v6);
            let mask = u128::MAX
                .checked_shl(u32::from(128 - v6_prefix))
                .unwrap_or(0);
            format!("{}/{v6_prefix}", Ipv6Addr::from(bits & mask))
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_grouped_by_prefix() {
        assert_eq!(limit_key("2001:db8:1:2:aaaa::1", 64), "2001:db8:1:2::/64");
        assert_eq!(
            limit_key("2001:db8:1:2:bbbb::2", 64),
            limit_key("2001:db8:1:2:aaaa::1", 64)
        );
        assert_ne!(
            limit_key("2001:db8:1:3::1", 64),
            limit_key("2001:db8:1:2::1", 64)
        );
        assert_eq!(limit_key("2001:db8::1", 128), "2001:db8::1");
        assert_eq!(limit_key("203.0.113.7", 64), "203.0.113.7");
        assert_eq!(limit_key("::ffff:203.0.113.7", 64), "203.0.113.7");
        assert_eq!(limit_key("-", 64), "-");
    }
}
