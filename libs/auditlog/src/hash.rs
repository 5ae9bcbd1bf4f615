//! Hashes as the log's JSON writes them: 64 lower-case hex digits.

pub use tlog_tiles::Hash;

/// `hash` as 64 lower-case hex digits.
pub fn to_hex(hash: &Hash) -> String {
    hash.0.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash from 64 hex digits.
pub fn from_hex(s: &str) -> Result<Hash, String> {
    if s.len() != 64 || !s.is_ascii() {
        return Err(format!("a hash is 64 hex digits, not {s:?}"));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
            .map_err(|_| format!("a hash is 64 hex digits, not {s:?}"))?;
    }
    Ok(Hash(out))
}

/// `#[serde(with = "hex")]` for a [`Hash`].
pub mod hex {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Hash;

    /// Writes the hash as lowercase hex.
    pub fn serialize<S: Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_hex(hash))
    }

    /// Reads a hash from 64 hex characters.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let s = String::deserialize(d)?;
        super::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(with = "hex_option")]` for an `Option<Hash>` (`null` when absent).
pub mod hex_option {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Hash;

    /// Writes the hash as lowercase hex, or `null`.
    pub fn serialize<S: Serializer>(hash: &Option<Hash>, s: S) -> Result<S::Ok, S::Error> {
        match hash {
            Some(h) => s.serialize_str(&super::to_hex(h)),
            None => s.serialize_none(),
        }
    }

    /// Reads a hash from 64 hex characters, or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Hash>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| super::from_hex(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// `#[serde(with = "hex_list")]` for a `Vec<Hash>`.
pub mod hex_list {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Hash;

    /// Writes each hash as lowercase hex.
    pub fn serialize<S: Serializer>(hashes: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(hashes.len()))?;
        for h in hashes {
            seq.serialize_element(&super::to_hex(h))?;
        }
        seq.end()
    }

    /// Reads a list of hashes of 64 hex characters each.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| super::from_hex(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_a_hash() {
        let h = tlog_tiles::record_hash(b"plinth");
        assert_eq!(from_hex(&to_hex(&h)).unwrap(), h);
        assert!(from_hex("abc").is_err());
        assert!(from_hex(&"zz".repeat(32)).is_err());
    }
}
