//! Cursor pagination: stable under inserts, opaque to clients.
//!
//! A store fetches `limit + 1` rows ordered by a unique key, and [`Page::from_rows`]
//! keeps `limit` of them and turns the last key into the next cursor.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// Query parameters of a listing: `?limit=…&cursor=…`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageParams {
    /// Page size, 1 to [`PageParams::MAX_LIMIT`]; default [`PageParams::DEFAULT_LIMIT`].
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page size when none is asked for.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The largest page size.
    pub const MAX_LIMIT: u32 = 200;

    /// The page size, defaulted and capped; zero is refused.
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(Self::DEFAULT_LIMIT),
            Some(0) => Err(ApiError::invalid_request(
                "limit",
                "limit must be at least 1",
            )),
            Some(n) => Ok(n.min(Self::MAX_LIMIT)),
        }
    }

    /// The decoded position after which the page starts, if any.
    pub fn after<K: DeserializeOwned>(&self) -> Result<Option<K>, ApiError> {
        self.cursor
            .as_deref()
            .map(|c| Cursor::decode(c))
            .transpose()
    }
}

/// An opaque cursor: the URL-safe base64 of the JSON of the last key on a page.
#[derive(Debug)]
pub struct Cursor;

impl Cursor {
    #[expect(clippy::expect_used, reason = "cursor keys serialize")]
    /// An opaque cursor for the last key of a page.
    pub fn encode<K: Serialize>(key: &K) -> String {
        let json = serde_json::to_vec(key).expect("cursor keys serialize");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// The key a cursor of [`encode`] holds; anything else is `invalid_request`.
    pub fn decode<K: DeserializeOwned>(cursor: &str) -> Result<K, ApiError> {
        let invalid =
            || ApiError::invalid_request("cursor", "the cursor is not one this API issued");
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid())
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The page's items, in the listing's order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in key order.
    pub fn from_rows<K: Serialize>(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> K) -> Self {
        let limit = limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| Cursor::encode(&key(last)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch(all: &[u32], params: &PageParams) -> Page<u32> {
        let limit = params.limit().unwrap();
        let after: Option<u32> = params.after().unwrap();
        let rows = all
            .iter()
            .copied()
            .filter(|v| after.is_none_or(|a| *v > a))
            .take(limit as usize + 1)
            .collect();
        Page::from_rows(rows, limit, |v| *v)
    }

    #[test]
    fn walks_every_item_once() {
        let all: Vec<u32> = (1..=7).collect();
        let mut params = PageParams {
            limit: Some(3),
            cursor: None,
        };
        let mut seen: Vec<u32> = Vec::new();
        loop {
            let page = fetch(&all, &params);
            seen.extend(&page.items);
            match page.next_cursor {
                Some(c) => params.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, all);
    }

    #[test]
    fn exact_multiple_has_no_empty_trailing_page() {
        let all: Vec<u32> = (1..=6).collect();
        let page = fetch(
            &all,
            &PageParams {
                limit: Some(6),
                cursor: None,
            },
        );
        assert_eq!(page.items.len(), 6);
        assert!(page.next_cursor.is_none());
    }

    #[test]
    fn limits_are_defaulted_capped_and_checked() {
        assert_eq!(PageParams::default().limit().unwrap(), 50);
        assert_eq!(
            PageParams {
                limit: Some(10_000),
                cursor: None
            }
            .limit()
            .unwrap(),
            200
        );
        assert_eq!(
            PageParams {
                limit: Some(0),
                cursor: None
            }
            .limit()
            .unwrap_err()
            .code(),
            crate::Code::InvalidRequest
        );
    }

    #[test]
    fn foreign_cursors_are_refused() {
        let params = PageParams {
            limit: None,
            cursor: Some("not*base64".into()),
        };
        assert_eq!(
            params.after::<u32>().unwrap_err().code(),
            crate::Code::InvalidRequest
        );
        let params = PageParams {
            limit: None,
            cursor: Some(Cursor::encode(&"text")),
        };
        assert!(params.after::<u32>().is_err());
    }
}
