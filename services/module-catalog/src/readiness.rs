//! Whether an approved release may be enabled for a tenant (or one of its
//! workspaces): every check with its state. A check this deployment cannot
//! answer yet — connector installations and AI provider connections belong to
//! provider setup, the policy's verdict to the policy service — is `unknown`,
//! never `ready`: enabling over it takes an explicit acknowledgement, recorded
//! with the enablement and in the audit trail.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A check's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Ready,
    NotReady,
    /// Nothing in this deployment can tell yet.
    Unknown,
}

/// One readiness check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    /// `release_approved`, `tenant_active`, `entitled`, `deployed`, `data_mode`,
    /// `connectors`, `ai_providers` or `policy`.
    #[schema(example = "deployed")]
    pub check: &'static str,
    pub state: State,
    /// What was found, in words.
    pub message: String,
}

impl Check {
    fn of(check: &'static str, state: State, message: impl Into<String>) -> Self {
        Check {
            check,
            state,
            message: message.into(),
        }
    }

    fn ready_if(check: &'static str, ok: bool, yes: String, no: String) -> Self {
        if ok {
            Check::of(check, State::Ready, yes)
        } else {
            Check::of(check, State::NotReady, no)
        }
    }
}

/// What readiness is assessed from.
#[derive(Debug)]
pub struct Facts<'a> {
    /// The release's status in the catalog.
    pub status: &'a str,
    pub manifest: &'a Value,
    pub image_digest: &'a str,
    /// The tenant's status, data mode and entitled modules.
    pub tenant_status: &'a str,
    pub tenant_data_mode: &'a str,
    pub entitled: &'a [String],
    /// The workspace's name and data mode, when enabling for one.
    pub workspace: Option<(&'a str, &'a str)>,
    /// The digests deployed for the module in the tenant's region.
    pub deployed: &'a [String],
    /// The tenant's AI policy for the module, merged from the records in
    /// force the policy service published; none when none is known here.
    pub policy: Option<&'a plinth_policy::Effective>,
}

/// Every check, in order.
pub fn assess(f: &Facts<'_>) -> Vec<Check> {
    let module = f.manifest["id"].as_str().unwrap_or_default();
    let version = f.manifest["version"].as_str().unwrap_or_default();
    let needs_content = f.manifest["data_mode"] == "content";
    let list = |path: &str| -> Vec<String> {
        f.manifest
            .pointer(path)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let mut checks = vec![
        Check::ready_if(
            "release_approved",
            f.status == "APPROVED",
            format!("{module} {version} is approved"),
            format!(
                "{module} {version} is {}: only an approved release is enabled",
                f.status
            ),
        ),
        Check::ready_if(
            "tenant_active",
            f.tenant_status == "ACTIVE",
            "the tenant is ACTIVE".to_owned(),
            format!(
                "the tenant is {}; modules are enabled for ACTIVE tenants",
                f.tenant_status
            ),
        ),
        Check::ready_if(
            "entitled",
            f.entitled.iter().any(|m| m == module),
            format!("the tenant's entitlements include {module}"),
            format!("the tenant's entitlements do not include {module}"),
        ),
        Check::ready_if(
            "deployed",
            f.deployed.iter().any(|d| d == f.image_digest),
            format!("{} runs in the tenant's region", f.image_digest),
            format!(
                "the tenant's region does not run {module} {version} ({}); {}",
                f.image_digest,
                if f.deployed.is_empty() {
                    "nothing of the module is deployed there".to_owned()
                } else {
                    format!("it runs {}", f.deployed.join(", "))
                }
            ),
        ),
    ];
    let mut metadata_only = Vec::new();
    if f.tenant_data_mode != "content" {
        metadata_only.push("the tenant".to_owned());
    }
    if let Some((name, mode)) = f.workspace
        && mode != "content"
    {
        metadata_only.push(format!("workspace {name}"));
    }
    checks.push(if !needs_content {
        Check::of(
            "data_mode",
            State::Ready,
            "the module runs on metadata only",
        )
    } else {
        Check::ready_if(
            "data_mode",
            metadata_only.is_empty(),
            "the module needs content, and content is allowed".to_owned(),
            format!(
                "the module needs content; {} is metadata-only",
                metadata_only.join(" and ")
            ),
        )
    });
    for (check, path, what) in [
        (
            "connectors",
            "/requires/connectors",
            "connector installations",
        ),
        (
            "ai_providers",
            "/requires/ai_providers",
            "AI provider connections",
        ),
    ] {
        let needs = list(path);
        checks.push(if needs.is_empty() {
            Check::of(check, State::Ready, format!("the module needs no {what}"))
        } else {
            Check::of(
                check,
                State::Unknown,
                format!(
                    "the module needs {}; {what} are recorded by provider setup, which this deployment does not run yet",
                    needs.join(", ")
                ),
            )
        });
    }
    checks.push(policy_check(
        f,
        &list("/requires/ai_providers"),
        &list("/requires/connectors"),
        needs_content,
    ));
    checks
}

/// Whether the tenant's AI policy lets the module run: its provider kinds,
/// its connectors and, when it needs content, sending content.
fn policy_check(
    f: &Facts<'_>,
    providers: &[String],
    connectors: &[String],
    needs_content: bool,
) -> Check {
    let Some(policy) = f.policy else {
        return Check::of(
            "policy",
            State::Unknown,
            "no AI policy record is known here yet: the policy service decides",
        );
    };
    let by = |field: &str| {
        let decided: Vec<String> = policy
            .decided_by(field)
            .iter()
            .map(ToString::to_string)
            .collect();
        if decided.is_empty() {
            String::new()
        } else {
            format!(" ({})", decided.join(", "))
        }
    };
    let mut refused = Vec::new();
    for kind in providers {
        if policy.deny_kinds.contains(kind) {
            refused.push(format!(
                "the provider kind {kind} is denied{}",
                by("providers.deny_kinds")
            ));
        } else if policy
            .allow_kinds
            .as_ref()
            .is_some_and(|a| !a.contains(kind))
        {
            refused.push(format!(
                "the provider kind {kind} is not allowed{}",
                by("providers.allow_kinds")
            ));
        }
    }
    for connector in connectors {
        if policy
            .connectors
            .as_ref()
            .is_some_and(|a| !a.contains(connector))
        {
            refused.push(format!(
                "the connector {connector} is not allowed{}",
                by("connectors.allow")
            ));
        }
    }
    if needs_content && !policy.send_content {
        refused.push(format!(
            "content may not be sent to a provider{}",
            by("content.send_to_provider")
        ));
    }
    if refused.is_empty() {
        Check::of(
            "policy",
            State::Ready,
            "the tenant's AI policy allows the module's providers, connectors and data",
        )
    } else {
        Check::of("policy", State::NotReady, refused.join("; "))
    }
}

/// Whether `checks` allow enabling, `acknowledged` naming the unknown checks
/// the caller accepts: the checks in the way (none: it may be enabled).
pub fn blocking<'c>(checks: &'c [Check], acknowledged: &[String]) -> Vec<&'c Check> {
    checks
        .iter()
        .filter(|c| match c.state {
            State::Ready => false,
            State::NotReady => true,
            State::Unknown => !acknowledged.iter().any(|a| a == c.check),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn manifest(data_mode: &str, providers: &[&str]) -> Value {
        json!({
            "id": "itsm-triage-agent", "version": "1.1.0", "data_mode": data_mode,
            "requires": { "connectors": [], "ai_providers": providers }
        })
    }

    fn facts<'a>(manifest: &'a Value, deployed: &'a [String], entitled: &'a [String]) -> Facts<'a> {
        Facts {
            status: "APPROVED",
            manifest,
            image_digest: "sha256:aa",
            tenant_status: "ACTIVE",
            tenant_data_mode: "metadata_only",
            entitled,
            workspace: None,
            deployed,
            policy: None,
        }
    }

    fn states(checks: &[Check]) -> Vec<(&str, State)> {
        checks.iter().map(|c| (c.check, c.state)).collect()
    }

    #[test]
    fn what_this_deployment_cannot_tell_is_unknown_never_ready() {
        let m = manifest("metadata_only", &["openai"]);
        let deployed = ["sha256:aa".to_owned()];
        let entitled = ["itsm-triage-agent".to_owned()];
        let checks = assess(&facts(&m, &deployed, &entitled));
        assert_eq!(
            states(&checks),
            [
                ("release_approved", State::Ready),
                ("tenant_active", State::Ready),
                ("entitled", State::Ready),
                ("deployed", State::Ready),
                ("data_mode", State::Ready),
                ("connectors", State::Ready),
                ("ai_providers", State::Unknown),
                ("policy", State::Unknown),
            ]
        );
        let names = |b: Vec<&Check>| b.iter().map(|c| c.check).collect::<Vec<_>>();
        assert_eq!(names(blocking(&checks, &[])), ["ai_providers", "policy"]);
        assert!(blocking(&checks, &["ai_providers".into(), "policy".into()]).is_empty());
    }

    #[test]
    fn each_fact_out_of_place_fails_its_own_check() {
        let m = manifest("content", &[]);
        let deployed = ["sha256:bb".to_owned()];
        let mut f = facts(&m, &deployed, &[]);
        f.status = "DEPRECATED";
        f.tenant_status = "SUSPENDED";
        f.workspace = Some(("Service desk", "metadata_only"));
        let checks = assess(&f);
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| c.state == State::NotReady)
            .map(|c| c.check)
            .collect();
        assert_eq!(
            failed,
            [
                "release_approved",
                "tenant_active",
                "entitled",
                "deployed",
                "data_mode"
            ]
        );
        assert!(
            checks[4]
                .message
                .contains("the tenant and workspace Service desk")
        );
        // An acknowledgement never passes a check that failed.
        let all: Vec<String> = checks.iter().map(|c| c.check.to_owned()).collect();
        assert_eq!(blocking(&checks, &all).len(), 5);
    }

    #[test]
    fn the_tenants_policy_decides_the_policy_check() {
        let m = json!({
            "id": "itsm-triage-agent", "version": "1.1.0", "data_mode": "content",
            "requires": { "connectors": ["halopsa"], "ai_providers": ["openai"] }
        });
        let deployed = ["sha256:aa".to_owned()];
        let entitled = ["itsm-triage-agent".to_owned()];
        let state = |rules: serde_json::Value| {
            let rules: plinth_policy::Rules = serde_json::from_value(rules).unwrap();
            let policy = plinth_policy::effective(&[plinth_policy::Source {
                record_id: "pol_1",
                version: 2,
                level: plinth_policy::Level::Tenant,
                rules: &rules,
            }]);
            let mut f = facts(&m, &deployed, &entitled);
            f.policy = Some(&policy);
            let check = assess(&f).pop().unwrap();
            (check.state, check.message)
        };
        assert_eq!(state(json!({})).0, State::Ready);
        let (refused, why) = state(json!({
            "providers": { "deny_kinds": ["openai"] },
            "connectors": { "allow": ["connectwise_manage"] },
            "content": { "send_to_provider": false }
        }));
        assert_eq!(refused, State::NotReady);
        assert!(why.contains("openai is denied (pol_1 v2)"), "{why}");
        assert!(why.contains("halopsa is not allowed"), "{why}");
        assert!(why.contains("content may not be sent"), "{why}");
    }
}
