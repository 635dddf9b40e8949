//! Hex SHA-256 digests: the form the store keeps of a secret it must recognise but never
//! read back (a mailed token's secret, a bound cookie, an identity provider's flow cookie, a
//! recovery code). Compared in constant time wherever they are compared.

use sha2::{Digest as _, Sha256};

/// `bytes` as lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `data`, as lower-case hex (64 characters).
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_fips_180_2s_example() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
