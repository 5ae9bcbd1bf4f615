//! Typed, prefixed, random identifiers.
//!
//! An id reads as `<prefix>_<32 hex digits>` (122 random bits from a v4 UUID), so it
//! cannot be guessed, cannot be confused with another kind of id, and tells a reader
//! what it names. A [`TenantId`] also carries its region — `ten_eu_<hex>` — so any
//! component can route or refuse a request from the id alone.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::Region;

/// An identifier that did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind} id (expected `{shape}`)")]
pub struct IdError {
    /// The kind of id that was expected, e.g. `tenant`.
    pub kind: &'static str,
    /// The shape that was expected, e.g. `ten_<region>_<32 hex>`.
    pub shape: &'static str,
    /// What was given, cut to a readable length.
    pub value: String,
}

impl IdError {
    #[doc(hidden)]
    pub fn new(kind: &'static str, shape: &'static str, value: &str) -> Self {
        let value = value.chars().take(80).collect();
        IdError { kind, shape, value }
    }
}

/// Parses the 32 lowercase hex digits that follow an id's prefix.
#[doc(hidden)]
pub fn parse_hex_uuid(s: &str) -> Option<Uuid> {
    let valid = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    valid.then(|| Uuid::try_parse(s).ok()).flatten()
}

/// Declares a typed identifier with a fixed prefix.
///
/// ```
/// plinth_core::typed_id!(
///     /// A domain or tenant pack.
///     PackId, "pck", "pack"
/// );
/// let id = PackId::new();
/// assert!(id.to_string().starts_with("pck_"));
/// assert_eq!(id.to_string().parse::<PackId>().unwrap(), id);
/// assert!("ten_eu_0".parse::<PackId>().is_err());
/// ```
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($crate::__private::uuid::Uuid);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;
            const SHAPE: &'static str = concat!($prefix, "_<32 hex>");

            /// A new random id.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self($crate::__private::uuid::Uuid::new_v4())
            }

            /// Parses the text form, refusing any other kind of id.
            pub fn parse(s: &str) -> ::std::result::Result<Self, $crate::IdError> {
                s.strip_prefix(concat!($prefix, "_"))
                    .and_then($crate::__id_parse_hex)
                    .map(Self)
                    .ok_or_else(|| $crate::IdError::new($kind, Self::SHAPE, s))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.simple())
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self, f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::IdError;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as $crate::__private::serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&s).map_err(<D::Error as $crate::__private::serde::de::Error>::custom)
            }
        }
    };
}

typed_id!(
    /// A workspace inside a tenant.
    WorkspaceId,
    "wsp",
    "workspace"
);

typed_id!(
    /// A human or machine principal known to Plinth.
    PrincipalId,
    "prn",
    "principal"
);

/// A tenant: a client organization of the MSP, pinned to one region for life.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId {
    region: Region,
    random: Uuid,
}

impl TenantId {
    /// The prefix every tenant id starts with.
    pub const PREFIX: &'static str = "ten";
    const SHAPE: &'static str = "ten_<us|eu>_<32 hex>";

    /// A new random tenant id in `region`.
    pub fn new(region: Region) -> Self {
        TenantId {
            region,
            random: Uuid::new_v4(),
        }
    }

    /// The region encoded in the id.
    pub fn region(&self) -> Region {
        self.region
    }

    /// Parses `ten_<region>_<32 hex>`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let err = || IdError::new("tenant", Self::SHAPE, s);
        let rest = s.strip_prefix("ten_").ok_or_else(err)?;
        let (region, hex) = rest.split_once('_').ok_or_else(err)?;
        let region = region.parse::<Region>().map_err(|_| err())?;
        let random = parse_hex_uuid(hex).ok_or_else(err)?;
        Ok(TenantId { region, random })
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ten_{}_{}", self.region, self.random.simple())
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for TenantId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for TenantId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_id_carries_its_region() {
        for region in Region::ALL {
            let id = TenantId::new(region);
            let text = id.to_string();
            assert!(text.starts_with(&format!("ten_{region}_")), "{text}");
            assert_eq!(text.len(), "ten_us_".len() + 32);
            let back: TenantId = text.parse().unwrap();
            assert_eq!(back, id);
            assert_eq!(back.region(), region);
        }
    }

    #[test]
    fn tenant_ids_are_random() {
        let a = TenantId::new(Region::Us);
        let b = TenantId::new(Region::Us);
        assert_ne!(a, b);
    }

    #[test]
    fn malformed_tenant_ids_are_refused() {
        let good = TenantId::new(Region::Eu).to_string();
        let hex = &good["ten_eu_".len()..];
        for bad in [
            String::new(),
            "ten_eu_".to_owned(),
            format!("ten_ap_{hex}"),
            format!("ten_EU_{hex}"),
            format!("ten_eu_{}", hex.to_uppercase()),
            format!("ten_eu_{}", &hex[1..]),
            format!("ten_eu_{hex}0"),
            format!("wsp_{hex}"),
            format!("ten_eu_{}g", &hex[1..]),
            format!("ten_eu_{}", uuid::Uuid::new_v4().hyphenated()),
        ] {
            let err = TenantId::parse(&bad).unwrap_err();
            assert_eq!(err.kind, "tenant", "{bad}");
        }
    }

    #[test]
    fn typed_ids_refuse_each_other() {
        let w = WorkspaceId::new();
        let text = w.to_string();
        assert!(text.starts_with("wsp_"));
        assert_eq!(WorkspaceId::parse(&text).unwrap(), w);
        let err = PrincipalId::parse(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("`{text}` is not a valid principal id (expected `prn_<32 hex>`)")
        );
    }

    #[test]
    fn ids_serialize_as_strings() {
        let t = TenantId::new(Region::Us);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, format!("\"{t}\""));
        assert_eq!(serde_json::from_str::<TenantId>(&json).unwrap(), t);
        let w = WorkspaceId::new();
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(serde_json::from_str::<WorkspaceId>(&json).unwrap(), w);
        assert!(serde_json::from_str::<WorkspaceId>("\"wsp_nothex\"").is_err());
    }
}
