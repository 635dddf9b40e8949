//! What the per-address limits (lockout, new visitors) count a client's address by: the
//! address (an IPv6 client's /64 by default), and for the limits one attacker must not reach
//! by walking through addresses, its network.

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

/// The coarser IPv6 tier: a site or a customer is commonly given a /48 (RFC 6177, section 3),
/// so one attacker can hold 65,536 /64s. The per-account login counts and new anonymous
/// visitors are also counted by it.
pub const NETWORK_PREFIX: u8 = 48;

/// The network tier of an address or of a [`limit_key`]: an IPv6 one reduced to its first
/// [`NETWORK_PREFIX`] bits (or fewer, when the key is already coarser); anything else (IPv4,
/// unparsable) as given.
pub fn network_key(key: &str) -> String {
    let (address, bits) = match key.split_once('/') {
        Some((a, b)) => (a, b.parse::<u8>().unwrap_or(128)),
        None => (key, 128),
    };
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            limit_key(&v6.to_string(), bits.min(NETWORK_PREFIX))
        }
        _ => key.to_string(),
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

    #[test]
    fn the_network_tier_is_the_48_of_an_address_or_a_key() {
        let net = "2001:db8:1::/48";
        assert_eq!(network_key("2001:db8:1:2::/64"), net);
        assert_eq!(network_key("2001:db8:1:ffff:1::9"), net);
        assert_eq!(network_key(&limit_key("2001:db8:1:7::1", 64)), net);
        assert_eq!(
            network_key("2001:db8::/32"),
            "2001:db8::/32",
            "already coarser"
        );
        assert_eq!(network_key("203.0.113.7"), "203.0.113.7");
        assert_eq!(network_key("-"), "-");
    }
}
