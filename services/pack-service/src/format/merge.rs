//! Tenant overrides: a JSON Merge Patch (RFC 7396) over the Domain Pack, allowed
//! only under the pointers the Domain Pack marks overridable.

use serde_json::{Map, Value};

use super::pointer;

/// The pointers a merge patch sets or removes: each member whose value is not an
/// object (objects merge into what is there, member by member), and each empty
/// object (which creates one).
pub fn leaves(patch: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    walk("", patch, &mut out);
    out
}

fn walk(base: &str, patch: &Map<String, Value>, out: &mut Vec<String>) {
    for (key, value) in patch {
        let at = pointer(base, key);
        match value {
            Value::Object(inner) if !inner.is_empty() => walk(&at, inner, out),
            _ => out.push(at),
        }
    }
}

/// Whether `leaf` lies at or below one of `overridable`.
pub fn allowed(leaf: &str, overridable: &[String]) -> bool {
    overridable.iter().any(|p| {
        leaf == p
            || leaf
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The leaves of `patch` that no pointer of `overridable` covers.
pub fn refused(patch: &Map<String, Value>, overridable: &[String]) -> Vec<String> {
    leaves(patch)
        .into_iter()
        .filter(|leaf| !allowed(leaf, overridable))
        .collect()
}

/// `domain` with `patch` merged over it.
pub fn merged(domain: &Value, patch: &Map<String, Value>) -> Value {
    let mut out = domain.clone();
    json_patch::merge(&mut out, &Value::Object(patch.clone()));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_patch_touches_its_leaves() {
        let patch = map(json!({
            "settings": { "sla_hours": 8, "gone": null, "new": {} },
            "classification": { "default": { "queue": "acme" } }
        }));
        let mut found = leaves(&patch);
        found.sort();
        assert_eq!(
            found,
            [
                "/classification/default/queue",
                "/settings/gone",
                "/settings/new",
                "/settings/sla_hours"
            ]
        );
    }

    #[test]
    fn overrides_stay_under_their_pointers() {
        let overridable = vec![
            "/settings".to_owned(),
            "/classification/default/queue".to_owned(),
        ];
        assert!(allowed("/settings/sla_hours", &overridable));
        assert!(allowed("/classification/default/queue", &overridable));
        assert!(!allowed("/classification/default/priority", &overridable));
        // A sibling whose name starts like an allowed one is not below it.
        assert!(!allowed("/settingsx", &overridable));
    }

    #[test]
    fn merging_follows_rfc_7396() {
        let domain = json!({ "a": { "b": 1, "c": 2 }, "d": [1, 2] });
        let out = merged(
            &domain,
            &map(json!({ "a": { "b": null, "e": 3 }, "d": [3] })),
        );
        assert_eq!(out, json!({ "a": { "c": 2, "e": 3 }, "d": [3] }));
    }
}
