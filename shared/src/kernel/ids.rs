//! Account and session identifiers: 128 random bits, written as 22 base64url characters.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;
use std::str::FromStr;

/// Length of an [`Id`] in bytes.
pub const ID_BYTES: usize = 16;
/// Length of an [`Id`]'s text form.
pub const ID_CHARS: usize = 22;

/// An account or session identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; ID_BYTES]);

impl Id {
    /// A fresh random identifier.
    pub fn random() -> Self {
        Self(random_bytes())
    }

    /// The identifier's raw bytes.
    pub fn as_bytes(&self) -> &[u8; ID_BYTES] {
        &self.0
    }

    /// Builds an identifier from raw bytes.
    pub fn from_bytes(bytes: [u8; ID_BYTES]) -> Self {
        Self(bytes)
    }
}

/// Fills an array with bytes from the operating system's CSPRNG.
///
/// # Panics
/// Only if the OS has no working random source, in which case no secure token can be made.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

/// An identifier serialises as its text form (the authorizers' context carries it so).
impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The text was not a well-formed identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a well-formed identifier")]
pub struct BadId;

impl FromStr for Id {
    type Err = BadId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != ID_CHARS {
            return Err(BadId);
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| BadId)?;
        let bytes: [u8; ID_BYTES] = bytes.try_into().map_err(|_| BadId)?;
        // Reject non-canonical spellings (trailing bits set) so one id has one text form.
        let id = Id(bytes);
        if id.to_string() != s {
            return Err(BadId);
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let id = Id::random();
        let text = id.to_string();
        assert_eq!(text.len(), ID_CHARS);
        assert_eq!(text.parse::<Id>(), Ok(id));
        assert_ne!(Id::random(), id);
        for bad in ["", "short", "!!!!!!!!!!!!!!!!!!!!!!", &format!("{text}A")] {
            assert_eq!(bad.parse::<Id>(), Err(BadId), "{bad}");
        }
        // The 22nd character carries only 2 of the 128 bits; '_' sets 4 more: not canonical.
        let mut non_canonical = text[..21].to_string();
        non_canonical.push('_');
        assert_eq!(non_canonical.parse::<Id>(), Err(BadId));
    }
}
