//! Authorization coverage: every operation of every checked-in OpenAPI document
//! (`schemas/openapi/*.json`), called through the gateway by every kind of caller —
//! each platform and tenant role, MSP staff bound to one tenant, no token, a bad
//! token — against the caller's own tenant, another tenant that exists, a tenant
//! that does not, and the caller's own tenant with another tenant's sub-resource.
//! Each answer must be the one the permission table (`libs/authz`) implies, with
//! its problem code; after every refusal, both tenants read exactly as before (as
//! the platform admin sees them). Allowed reads are made and must succeed; allowed
//! changes are not made (they would change what the next call finds).
//!
//! An operation the walk does not know fails it, unless it is listed, with why, in
//! `tests/uncovered-operations.txt`; the list is compared exactly, so it can only
//! shrink as operations gain coverage.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use plinth_authz::{Action, Resource, allows};
use plinth_core::{Region, Role, TenantId, WorkspaceId};
use plinth_testkit::{Idp, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

use crate::proxy::{Options, Stack, repo, stack_with, tenant};

/// One operation of an OpenAPI document.
#[derive(Debug, Clone)]
struct Operation {
    id: String,
    method: Method,
    path: String,
}

fn operations() -> Vec<Operation> {
    let mut found = Vec::new();
    let mut docs: Vec<_> = std::fs::read_dir(repo().join("schemas/openapi"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    docs.sort();
    assert!(!docs.is_empty(), "the OpenAPI documents are checked in");
    for doc in docs {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(doc).unwrap()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let Ok(method) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                if op.get("operationId").is_none() {
                    continue;
                }
                found.push(Operation {
                    id: op["operationId"].as_str().unwrap().to_owned(),
                    method,
                    path: path.clone(),
                });
            }
        }
    }
    found
}

/// What an operation needs: the permission it asks for (none: any caller who
/// holds a role), and a body valid enough that only authorization can refuse it.
struct Spec {
    permission: Option<(Resource, Action)>,
    body: Option<Value>,
}

fn spec(operation: &str) -> Option<Spec> {
    use Action::{Create, Delete, Read, Update};
    use Resource::*;
    let needs = |resource, action, body: Option<Value>| {
        Some(Spec {
            permission: Some((resource, action)),
            body,
        })
    };
    match operation {
        "tenant_list" | "tenant_get" => needs(Tenant, Read, None),
        "tenant_create" => needs(Tenant, Create, Some(tenant("coverage", "us"))),
        "tenant_status_set" => needs(
            TenantStatus,
            Update,
            Some(json!({ "status": "SUSPENDED", "reason": "coverage" })),
        ),
        "entitlement_get" | "entitlement_status" => needs(Entitlement, Read, None),
        "entitlement_set" => needs(
            Entitlement,
            Update,
            Some(json!({
                "plan": "standard", "modules": [], "api_rate_per_second": 50,
                "max_workspaces": 10, "max_provider_connections": 2,
                "monthly_token_budget": 1000
            })),
        ),
        "group_mapping_list" => needs(GroupMapping, Read, None),
        "group_mapping_create" => needs(
            GroupMapping,
            Create,
            Some(json!({ "idp_group": "coverage-group", "role": "Operator" })),
        ),
        "group_mapping_delete" => needs(GroupMapping, Delete, None),
        "role_binding_list" => needs(RoleBinding, Read, None),
        "role_binding_create" => needs(
            RoleBinding,
            Create,
            Some(json!({ "subject": "coverage-subject", "role": "Operator" })),
        ),
        "role_binding_delete" => needs(RoleBinding, Delete, None),
        "onboarding_get" => needs(Onboarding, Read, None),
        "onboarding_request" => needs(Onboarding, Create, Some(json!({}))),
        "onboarding_item_confirm" | "onboarding_item_retry" => needs(Onboarding, Update, None),
        "offboarding_get" => needs(Offboarding, Read, None),
        "offboarding_request" => needs(Offboarding, Create, Some(json!({ "reason": "coverage" }))),
        "offboarding_item_confirm" | "offboarding_item_retry" => needs(Offboarding, Update, None),
        "workspace_list" | "workspace_get" => needs(Workspace, Read, None),
        "workspace_create" => needs(Workspace, Create, Some(json!({ "name": "Coverage" }))),
        "workspace_update" => needs(Workspace, Update, Some(json!({ "name": "Renamed" }))),
        "workspace_delete" => needs(Workspace, Delete, None),
        "audit_key" => Some(Spec {
            permission: None,
            body: None,
        }),
        "audit_checkpoint_latest"
        | "audit_checkpoint"
        | "audit_consistency"
        | "audit_entries"
        | "audit_entry"
        | "audit_export"
        | "audit_export_oscal" => needs(AuditLog, Read, None),
        "audit_verify" => needs(AuditLog, Read, Some(json!({}))),
        // The pack service. Bodies naming a tenant name the caller's own
        // (`{tenant_id}`, filled in per call).
        "domain_pack_import" => needs(DomainPack, Create, Some(json!({ "kind": "DomainPack" }))),
        "domain_pack_deprecate" => needs(DomainPack, Update, Some(json!({}))),
        "domain_pack_list" | "domain_pack_get" | "pack_attempt_list" | "pack_attempt_get"
        | "tool_list" => needs(DomainPack, Read, None),
        "pack_validate" => needs(
            DomainPack,
            Create,
            Some(json!({ "kind": "domain", "pack": { "kind": "DomainPack" } })),
        ),
        "tenant_pack_import" => needs(
            TenantPack,
            Create,
            Some(json!({ "tenant_id": "{tenant_id}", "pack": { "kind": "TenantPack" } })),
        ),
        "tenant_pack_list" | "tenant_pack_get" | "tenant_pack_attempt_list" => {
            needs(TenantPack, Read, None)
        }
        "tenant_pack_deprecate" => needs(TenantPack, Update, Some(json!({}))),
        "pack_activate" => needs(
            PackActivation,
            Create,
            Some(json!({
                "tenant_id": "{tenant_id}", "domain": "finance", "domain_pack_version": "3.3.0"
            })),
        ),
        "pack_active_get" => needs(PackActivation, Read, None),
        "pack_settings_get" => needs(PackSettings, Read, None),
        "pack_settings_set" => needs(
            PackSettings,
            Update,
            Some(json!({ "approval_required": true })),
        ),
        "config_change_list" => needs(ConfigChange, Read, None),
        "config_change_approve" | "config_change_reject" => {
            needs(ConfigChange, Update, Some(json!({})))
        }
        "playbook_publish" => needs(Playbook, Create, Some(json!({ "kind": "Playbook" }))),
        "playbook_list" | "playbook_get" => needs(Playbook, Read, None),
        "playbook_link_list" => needs(PlaybookLink, Read, None),
        "playbook_link" => needs(
            PlaybookLink,
            Create,
            Some(json!({ "playbook": "invoice-dispute-triage", "version": "1.0.0" })),
        ),
        "playbook_unlink" => needs(PlaybookLink, Delete, None),
        "workflow_publish" => needs(Workflow, Create, Some(json!({ "kind": "Playbook" }))),
        "workflow_list" | "workflow_get" => needs(Workflow, Read, None),
        "runtime_config" => needs(RuntimeConfig, Read, None),
        "ticket_classify" => needs(
            Classification,
            Create,
            Some(json!({ "ticket": { "fields": { "subject": "Invoice 4411" } } })),
        ),
        "classification_list" => needs(Classification, Read, None),
        "module_import" => needs(
            Module,
            Create,
            Some(json!({ "manifest": { "kind": "ModuleRelease" } })),
        ),
        "module_list" | "module_get" | "review_list" | "review_get" => needs(Module, Read, None),
        "module_decide" => needs(Module, Update, Some(json!({ "reason": "coverage" }))),
        "enablement_list" | "enablement_get" | "enablement_readiness" => {
            needs(ModuleEnablement, Read, None)
        }
        "enablement_enable" => needs(
            ModuleEnablement,
            Create,
            Some(json!({ "module_id": "itsm-triage-agent", "version": "1.0.0" })),
        ),
        "enablement_upgrade" => needs(
            ModuleEnablement,
            Update,
            Some(json!({ "version": "1.1.0" })),
        ),
        "enablement_disable" | "enablement_cleanup_done" => needs(ModuleEnablement, Update, None),
        "deployment_list" => needs(ModuleDeployment, Read, None),
        "deployment_report" => needs(ModuleDeployment, Update, Some(json!({ "images": [] }))),
        "signer_list" => needs(TrustedSigner, Read, None),
        "signer_add" => needs(
            TrustedSigner,
            Create,
            Some(json!({
                "identity": "coverage", "algorithm": "ed25519", "key_id": "coverage",
                "public_key": "9b876c118c40d5f257cfd7b5c7792012563df530f4ce5593862ba41c058b075f",
                "sources": ["github.com/coverage"],
                "not_after": "2099-01-01T00:00:00Z"
            })),
        ),
        "signer_expire" | "signer_revoke" => {
            needs(TrustedSigner, Update, Some(json!({ "reason": "coverage" })))
        }
        // Provider setup.
        "connection_list" | "connection_get" => needs(ProviderConnection, Read, None),
        "connection_create" => needs(
            ProviderConnection,
            Create,
            Some(json!({ "name": "coverage", "kind": "openai", "default_model": "gpt-4o-mini" })),
        ),
        "setup_link_mint" => needs(ProviderConnection, Create, Some(json!({}))),
        "connection_rotate" | "setup_request_cancel" | "setup_link_revoke" => {
            needs(ProviderConnection, Update, Some(json!({})))
        }
        "pooled_list" | "pooled_get" | "pool_grant_list" => needs(ProviderPool, Read, None),
        "pooled_create" => needs(
            ProviderPool,
            Create,
            Some(
                json!({ "name": "coverage", "kind": "anthropic", "default_model": "claude-haiku-4-5" }),
            ),
        ),
        "pooled_link_mint" => needs(ProviderPool, Create, Some(json!({}))),
        "pooled_rotate" | "pooled_request_cancel" | "pooled_link_revoke" => {
            needs(ProviderPool, Update, Some(json!({})))
        }
        "pool_grant_put" => needs(
            ProviderPool,
            Update,
            Some(json!({ "requests_per_minute": 60, "tokens_per_month": 1000 })),
        ),
        "pool_grant_delete" => needs(ProviderPool, Delete, None),
        "provider_select" => needs(ProviderSelection, Read, None),
        "connection_health_check" => needs(ProviderConnection, Update, Some(json!({}))),
        "pooled_health_check" => needs(ProviderPool, Update, Some(json!({}))),
        "connection_health_submit" => needs(
            ProviderHealth,
            Create,
            Some(json!({ "status": "ready", "latency_ms": 100 })),
        ),
        "provider_key_release" => needs(ProviderKey, Read, Some(json!({}))),
        "connector_kinds" | "connector_list" | "connector_get" => {
            needs(ConnectorInstallation, Read, None)
        }
        "connector_install" => needs(
            ConnectorInstallation,
            Create,
            Some(json!({
                "workspace_id": "wsp_coverage", "name": "coverage", "kind": "halopsa",
                "base_url": "https://coverage.halopsa.com/api",
                "settings": { "client_id": "coverage" }
            })),
        ),
        "connector_link_mint" => needs(ConnectorInstallation, Create, Some(json!({}))),
        // Policy.
        "policy_record_list" | "policy_record_get" => needs(PolicyRecord, Read, None),
        "policy_record_create" | "policy_record_draft" => needs(
            PolicyRecord,
            if operation == "policy_record_create" {
                Create
            } else {
                Update
            },
            Some(json!({
                "name": "coverage", "scope": { "level": "module", "module_id": "itsm-triage-agent" },
                "rules": {}
            })),
        ),
        "policy_record_publish" | "policy_record_retire" => {
            needs(PolicyRecord, Update, Some(json!({ "reason": "coverage" })))
        }
        "tenant_policy_record_list" | "tenant_policy_record_get" => {
            needs(TenantPolicyRecord, Read, None)
        }
        "tenant_policy_record_create" | "tenant_policy_record_draft" => needs(
            TenantPolicyRecord,
            if operation == "tenant_policy_record_create" {
                Create
            } else {
                Update
            },
            Some(json!({
                "name": "coverage", "scope": { "level": "tenant", "tenant_id": "{tenant_id}" },
                "rules": {}
            })),
        ),
        "tenant_policy_record_publish" | "tenant_policy_record_retire" => needs(
            TenantPolicyRecord,
            Update,
            Some(json!({ "reason": "coverage" })),
        ),
        "policy_effective" | "policy_bundle" | "policy_usage" => needs(PolicyDecision, Read, None),
        "policy_decide" => needs(
            PolicyDecision,
            Read,
            Some(json!({ "action_class": "read" })),
        ),
        // Runs and their gates.
        "run_start" => needs(
            Run,
            Create,
            Some(json!({
                "workspace_id": "wsp_coverage",
                "subject": { "kind": "workflow", "id": "coverage", "version": "1.0.0" },
                "trigger": { "source": "psa" }
            })),
        ),
        "run_list" | "run_get" | "runtime_run_get" | "run_step_get" => needs(Run, Read, None),
        "run_step_report" => needs(
            Run,
            Create,
            Some(json!({ "step_key": "coverage", "action_class": "read" })),
        ),
        "run_step_end" => needs(Run, Update, Some(json!({ "status": "done" }))),
        "run_end" => needs(Run, Update, Some(json!({ "status": "cancelled" }))),
        "human_step_done" => needs(
            HumanStep,
            Update,
            Some(json!({ "status": "done", "note": "coverage" })),
        ),
        "approval_list" => needs(ApprovalRequest, Read, None),
        "approval_decide" => needs(
            ApprovalRequest,
            Update,
            Some(json!({ "decision": "approve", "reason": "coverage" })),
        ),
        "notification_list" => needs(Notification, Read, None),
        "connector_rotate" | "connector_request_cancel" | "connector_link_revoke" => {
            needs(ConnectorInstallation, Update, Some(json!({})))
        }
        _ => None,
    }
}

/// `body` with every `{tenant_id}` string replaced by `tenant`.
fn with_tenant(body: &Value, tenant: &str) -> Value {
    match body {
        Value::String(s) if s == "{tenant_id}" => Value::String(tenant.to_owned()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), with_tenant(v, tenant)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The runtime's client: its token comes from the client credentials grant.
const RUNTIME: &str = "plinth-runtime";

/// Who calls.
#[derive(Debug, Clone, Copy)]
enum Caller {
    NoToken,
    BadToken,
    /// A platform role from the caller's groups: every tenant.
    Platform(&'static str, Role),
    /// A platform role bound in the own tenant only.
    Bound(&'static str, Role),
    /// A tenant role in the own tenant.
    Tenant(&'static str, Role),
}

const CALLERS: [Caller; 11] = [
    Caller::NoToken,
    Caller::BadToken,
    Caller::Platform("msp-admin", Role::PlatformAdmin),
    Caller::Platform("msp-auditor", Role::PlatformAuditor),
    // The runtime's machine client (client credentials).
    Caller::Platform(RUNTIME, Role::Runtime),
    Caller::Bound("msp-operator", Role::PlatformAdmin),
    Caller::Tenant("acme-admin", Role::WorkspaceAdmin),
    Caller::Tenant("acme-operator", Role::Operator),
    Caller::Tenant("acme-approver", Role::Approver),
    Caller::Tenant("acme-auditor", Role::Auditor),
    Caller::Tenant("acme-integrations", Role::IntegrationAdmin),
];

/// Which tenant (and sub-resources) a call names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Own,
    Other,
    Missing,
    /// The own tenant in the path, with the other tenant's sub-resource id.
    OwnWithOthersChild,
}

/// What a tenant holds that paths name.
#[derive(Debug, Clone)]
struct Holdings {
    tenant: String,
    workspace: String,
    role_binding: String,
    group_mapping: String,
    /// An import attempt of the platform's (the same for every tenant).
    attempt: String,
    /// A module release's review (the platform's too).
    review: String,
}

#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Refused(u16, &'static str),
    Allowed,
}

fn expected(caller: Caller, spec: &Spec, tenant_scoped: bool, target: Target) -> Expected {
    let roles: Vec<Role> = match caller {
        Caller::NoToken | Caller::BadToken => {
            return Expected::Refused(401, "unauthenticated");
        }
        Caller::Platform(_, role) | Caller::Bound(_, role) => vec![role],
        Caller::Tenant(_, role) => {
            if !tenant_scoped || matches!(target, Target::Own | Target::OwnWithOthersChild) {
                vec![role]
            } else {
                // The gateway finds no role of the caller in that tenant.
                vec![]
            }
        }
    };
    if roles.is_empty() {
        return Expected::Refused(403, "forbidden");
    }
    // A tenant the caller does not reach (another, or one that does not exist)
    // is answered as not found, whatever the caller could do there.
    if tenant_scoped
        && matches!(caller, Caller::Bound(..))
        && matches!(target, Target::Other | Target::Missing)
    {
        return Expected::Refused(404, "not_found");
    }
    if let Some((resource, action)) = spec.permission
        && !allows(&roles, resource, action)
    {
        return Expected::Refused(403, "forbidden");
    }
    if !tenant_scoped
        && matches!(caller, Caller::Bound(..))
        && spec.permission.is_some_and(|(r, a)| {
            (r, a) == (Resource::Tenant, Action::Create)
                || (matches!(
                    r,
                    Resource::DomainPack
                        | Resource::Playbook
                        | Resource::Module
                        | Resource::TrustedSigner
                        | Resource::ModuleDeployment
                ) && a != Action::Read)
        })
    {
        // Staff bound to chosen tenants do not register new ones, nor change
        // what every tenant shares.
        return Expected::Refused(403, "forbidden");
    }
    if matches!(caller, Caller::Bound(..))
        && spec
            .permission
            .is_some_and(|(r, _)| r == Resource::ProviderPool)
    {
        // The platform's own keys, and which tenants share them, are the
        // unbound platform team's alone, read or written.
        return Expected::Refused(403, "forbidden");
    }
    if tenant_scoped && matches!(target, Target::Missing | Target::OwnWithOthersChild) {
        return Expected::Refused(404, "not_found");
    }
    Expected::Allowed
}

/// The operation's path for `target`, or `None` when the target means nothing to
/// it (a tenant-less path, or a foreign child where it names no child id).
fn path_for(op: &Operation, own: &Holdings, other: &Holdings, target: Target) -> Option<String> {
    let tenant_scoped = op.path.contains("{tenant_id}") || op.path.contains("{log}");
    let has_child = op.path.contains("{workspace_id}") || op.path.contains("{binding_id}");
    if !tenant_scoped && target != Target::Own {
        return None;
    }
    if target == Target::OwnWithOthersChild && !has_child {
        return None;
    }
    let missing = Holdings {
        tenant: TenantId::new(Region::Us).to_string(),
        workspace: WorkspaceId::new().to_string(),
        role_binding: format!("rbd_{}", uuid::Uuid::new_v4().simple()),
        group_mapping: format!("rbd_{}", uuid::Uuid::new_v4().simple()),
        attempt: own.attempt.clone(),
        review: own.review.clone(),
    };
    let (tenant, children) = match target {
        Target::Own => (own, own),
        Target::Other => (other, other),
        Target::Missing => (&missing, &missing),
        Target::OwnWithOthersChild => (own, other),
    };
    let binding = if op.id.starts_with("group_mapping") {
        &children.group_mapping
    } else {
        &children.role_binding
    };
    let mut path = op
        .path
        .replace("{tenant_id}", &tenant.tenant)
        .replace("{log}", &tenant.tenant)
        .replace("{workspace_id}", &children.workspace)
        .replace("{binding_id}", binding)
        .replace(
            "{key}",
            if op.id.starts_with("onboarding") {
                "owner_contact_confirmed"
            } else {
                "data_handed_over"
            },
        )
        .replace("{index}", "0")
        .replace("{size}", "1")
        .replace("{domain}", "finance")
        .replace(
            "{version}",
            match op.id.as_str() {
                "playbook_get" | "workflow_get" | "module_get" | "module_decide" => "1.0.0",
                "tenant_pack_get" | "tenant_pack_deprecate" => "1.4.0",
                _ => "3.2.0",
            },
        )
        .replace("{playbook}", "invoice-dispute-triage")
        .replace("{workflow}", "invoice-dispute-triage")
        .replace(
            "{change_id}",
            &format!("chg_{}", uuid::Uuid::new_v4().simple()),
        )
        .replace("{attempt_id}", &children.attempt)
        .replace("{module_id}", "itsm-triage-agent")
        .replace("{region}", "us")
        .replace(
            "{enablement_id}",
            &format!("enb_{}", uuid::Uuid::new_v4().simple()),
        )
        .replace("{step_id}", "purge-triage-history")
        .replace("{decision}", "approve")
        .replace("{review_id}", &children.review)
        .replace(
            "{signer_id}",
            &format!("sgn_{}", uuid::Uuid::new_v4().simple()),
        )
        .replace(
            "{connection_id}",
            &format!("pcn_{}", uuid::Uuid::new_v4().simple()),
        )
        .replace(
            "{record_id}",
            &format!("pol_{}", uuid::Uuid::new_v4().simple()),
        )
        .replace(
            "{connector_id}",
            &format!("pci_{}", uuid::Uuid::new_v4().simple()),
        )
        .replace(
            "{request_id}",
            &format!("psr_{}", uuid::Uuid::new_v4().simple()),
        )
        .replace(
            "{link_id}",
            &format!("psl_{}", uuid::Uuid::new_v4().simple()),
        )
        .replace(
            "{run_id}",
            &format!("run_{}", uuid::Uuid::new_v4().simple()),
        )
        .replace("{seq}", "1");
    if op.id == "audit_consistency" {
        path.push_str("?from=1&to=1");
    }
    if op.id == "enablement_readiness" {
        path.push_str("?module_id=itsm-triage-agent&version=1.0.0");
    }
    Some(path)
}

/// Everything the platform admin reads of a tenant.
async fn snapshot(s: &Stack, admin: &str, holdings: &Holdings) -> Vec<(u16, Value)> {
    let reads = [
        "/admin/tenants/{}",
        "/admin/tenants/{}/entitlements",
        "/admin/tenants/{}/workspaces",
        "/admin/tenants/{}/role-bindings",
        "/admin/tenants/{}/group-mappings",
        "/admin/tenants/{}/onboarding",
        "/admin/tenants/{}/offboarding",
        "/admin/packs/tenant/{}",
        "/admin/packs/tenant/{}/active",
        "/admin/packs/tenant/{}/settings",
        "/admin/packs/tenant/{}/changes",
        "/admin/packs/tenant/{}/playbooks",
        "/runtime/tenants/{}/classifications",
        "/admin/packs/domain",
        "/admin/playbooks",
        "/admin/modules",
        "/admin/trust/signers",
        "/admin/deployments",
        "/admin/tenant-modules/{}",
        "/admin/providers/tenants/{}/connections",
        "/admin/providers/tenants/{}/connectors",
        "/admin/providers/pooled",
        "/admin/policies/tenants/{}/records",
        "/admin/policies/tenants/{}/effective",
        "/admin/policies/tenants/{}/runs",
        "/admin/policies/tenants/{}/approvals",
    ]
    .map(|template| async move {
        let path = template.replace("{}", &holdings.tenant);
        let (status, mut body, _) = s.call(Some(admin), Method::GET, &path, None).await;
        // Each answer names its own request.
        if let Some(fields) = body.as_object_mut() {
            fields.remove("request_id");
        }
        (status, body)
    });
    futures_util::future::join_all(reads).await
}

/// The operations deliberately left out of the walk, with why.
fn uncovered() -> BTreeSet<String> {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/uncovered-operations.txt"),
    )
    .unwrap()
    .lines()
    .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    .map(|l| l.split_whitespace().next().unwrap().to_owned())
    .collect()
}

/// What every tenant shares: the Finance Domain Pack and its playbook; the
/// attempt of its import.
async fn furnish_platform(s: &Stack, admin: &str) -> (String, String) {
    let example = |name: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(repo().join("examples/packs").join(name)).unwrap(),
        )
        .unwrap()
    };
    let (status, body, _) = s
        .call(
            Some(admin),
            Method::POST,
            "/admin/playbooks",
            Some(example("playbook-invoice-dispute-triage-1.0.0.json")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut attempt = String::new();
    for file in ["finance-3.2.0.json", "finance-3.3.0.json"] {
        let (status, body, _) = s
            .call(
                Some(admin),
                Method::POST,
                "/admin/packs/domain/import",
                Some(example(file)),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        attempt = body["attempt_id"].as_str().unwrap().to_owned();
    }
    // A module release in the catalog (unsigned: its review is what reads need).
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("examples/modules/itsm-triage-agent-1.0.0.json"))
            .unwrap(),
    )
    .unwrap();
    let (status, body, _) = s
        .call(
            Some(admin),
            Method::POST,
            "/admin/modules/import",
            Some(json!({ "manifest": manifest })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (
        attempt,
        body["review"]["review_id"].as_str().unwrap().to_owned(),
    )
}

/// A tenant's packs: its Tenant Pack, Finance 3.2.0 with it active, and the
/// playbook linked — once the pack service has heard of the tenant.
async fn furnish_packs(s: &Stack, admin: &str, tenant: &str) {
    s.wait_for_pack_service(admin, tenant).await;
    let pack: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("examples/packs/acme-finance-1.4.0.json")).unwrap(),
    )
    .unwrap();
    for (path, body) in [
        (
            "/admin/packs/tenant/import".to_owned(),
            json!({ "tenant_id": tenant, "pack": pack }),
        ),
        (
            "/admin/packs/activate".to_owned(),
            json!({ "tenant_id": tenant, "domain_pack_version": "3.2.0", "tenant_pack_version": "1.4.0" }),
        ),
        (
            format!("/admin/packs/tenant/{tenant}/playbooks"),
            json!({ "playbook": "invoice-dispute-triage", "version": "1.0.0" }),
        ),
    ] {
        let (status, answer, _) = s.call(Some(admin), Method::POST, &path, Some(body)).await;
        assert!(status == 200 || status == 201, "{path}: {status} {answer}");
    }
}

/// Sets up a tenant the way the walk needs it: onboarding requested (so its
/// audit log exists), a workspace, a role binding, and its groups mapped.
async fn furnish(s: &Stack, admin: &str, slug: &str, platform: &(String, String)) -> Holdings {
    let id = s.register(admin, slug).await;
    let post = |path: String, body: Value| async move {
        let (status, created, _) = s.call(Some(admin), Method::POST, &path, Some(body)).await;
        assert!(status == 201 || status == 202, "{path}: {status} {created}");
        created
    };
    post(format!("/admin/tenants/{id}/onboarding"), json!({})).await;
    let workspace = post(
        format!("/admin/tenants/{id}/workspaces"),
        json!({ "name": "Service desk" }),
    )
    .await["workspace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let role_binding = post(
        format!("/admin/tenants/{id}/role-bindings"),
        json!({ "subject": format!("{slug}-someone"), "role": "Operator" }),
    )
    .await["binding_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut group_mapping = String::new();
    for (group, role) in [
        ("workspace-admins", "WorkspaceAdmin"),
        ("operators", "Operator"),
        ("approvers", "Approver"),
        ("auditors", "Auditor"),
        ("integration-admins", "IntegrationAdmin"),
    ] {
        group_mapping = post(
            format!("/admin/tenants/{id}/group-mappings"),
            json!({ "idp_group": format!("{slug}-{group}"), "role": role }),
        )
        .await["binding_id"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    furnish_packs(s, admin, &id).await;
    wait_until(
        "provider setup to hear of the tenant",
        Duration::from_secs(60),
        || async {
            s.call(
                Some(admin),
                Method::GET,
                &format!("/admin/providers/tenants/{id}/connections"),
                None,
            )
            .await
            .0 == 200
        },
    )
    .await;
    Holdings {
        tenant: id,
        workspace,
        role_binding,
        group_mapping,
        attempt: platform.0.clone(),
        review: platform.1.clone(),
    }
}

#[tokio::test]
async fn every_operation_refuses_every_caller_the_table_refuses() {
    let idp = Idp::start().await;
    let s = stack_with(
        &idp,
        Options {
            audit: true,
            packs: true,
            modules: true,
            providers: true,
            policy: true,
            // The walk is many calls in one tenant: its allowance is not under test.
            gateway: json!({ "rate_limits": { "default_per_second": 1000000, "caller_per_second": 1000000 } }),
            ..Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    let platform = furnish_platform(&s, &admin).await;
    let own = furnish(&s, &admin, "acme", &platform).await;
    let other = furnish(&s, &admin, "globex", &platform).await;
    let (status, body, _) = s
        .call(
            Some(&admin),
            Method::POST,
            &format!("/admin/tenants/{}/role-bindings", own.tenant),
            Some(json!({ "subject": "msp-operator", "role": "PlatformAdmin" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let mut tokens = std::collections::HashMap::new();
    for caller in CALLERS {
        if let Caller::Platform(user, _) | Caller::Bound(user, _) | Caller::Tenant(user, _) = caller
        {
            let token = if user == RUNTIME {
                idp.runtime_token().await
            } else {
                idp.access_token(user).await
            };
            tokens.insert(user, token);
        }
    }
    // The gateway learns the bindings and mappings from the registry's events.
    for (user, path) in [
        ("msp-operator", format!("/admin/tenants/{}", own.tenant)),
        (
            "acme-integrations",
            format!("/admin/tenants/{}", own.tenant),
        ),
    ] {
        wait_until(
            &format!("{user}'s roles at the gateway"),
            Duration::from_secs(60),
            || async {
                s.call(Some(&tokens[user]), Method::GET, &path, None)
                    .await
                    .0
                    == 200
            },
        )
        .await;
    }
    // The tenants' audit logs exist.
    for tenant in [&own.tenant, &other.tenant] {
        wait_until(
            "the tenant's audit log",
            Duration::from_secs(60),
            || async {
                s.call(
                    Some(&admin),
                    Method::GET,
                    &format!("/admin/audit/logs/{tenant}/checkpoints/latest"),
                    None,
                )
                .await
                .0 == 200
            },
        )
        .await;
    }

    let operations = operations();
    let unknown: BTreeSet<String> = operations
        .iter()
        .filter(|op| spec(&op.id).is_none())
        .map(|op| op.id.clone())
        .collect();
    assert_eq!(
        unknown,
        uncovered(),
        "operations the walk does not cover must be exactly those in tests/uncovered-operations.txt"
    );

    // A real token with one character of its signature changed.
    let bad_token = {
        let token = &tokens["msp-admin"];
        let at = token.rfind('.').unwrap() + (token.len() - token.rfind('.').unwrap()) / 2;
        let flipped = if &token[at..=at] == "A" { "B" } else { "A" };
        format!("{}{flipped}{}", &token[..at], &token[at + 1..])
    };
    let mut calls = 0;
    let mut refusals = 0;
    let mut failures = Vec::new();
    for op in &operations {
        let Some(spec) = spec(&op.id) else { continue };
        let tenant_scoped = op.path.contains("{tenant_id}") || op.path.contains("{log}");
        for target in [
            Target::Own,
            Target::Other,
            Target::Missing,
            Target::OwnWithOthersChild,
        ] {
            let Some(path) = path_for(op, &own, &other, target) else {
                continue;
            };
            let before =
                futures_util::join!(snapshot(&s, &admin, &own), snapshot(&s, &admin, &other));
            let mut refused_here = false;
            // What the first caller allowed to make a read gets (the platform
            // admin, unless only the runtime may): what every caller allowed
            // to make it must get.
            let read_only = spec.permission.is_none_or(|(_, a)| a == Action::Read);
            let first_allowed = CALLERS.into_iter().find(|caller| {
                expected(*caller, &spec, tenant_scoped, target) == Expected::Allowed
            });
            let reference = match first_allowed {
                Some(
                    Caller::Platform(user, _) | Caller::Bound(user, _) | Caller::Tenant(user, _),
                ) if read_only => {
                    let body = spec.body.as_ref().map(|b| with_tenant(b, &own.tenant));
                    s.call(Some(tokens[user].as_str()), op.method.clone(), &path, body)
                        .await
                        .0
                }
                _ => 0,
            };
            // The callers at once: each refusal must leave the tenants as they were,
            // whatever else is refused beside it.
            let answers = futures_util::future::join_all(CALLERS.into_iter().map(|caller| {
                let want = expected(caller, &spec, tenant_scoped, target);
                let token = match caller {
                    Caller::NoToken => None,
                    Caller::BadToken => Some(bad_token.as_str()),
                    Caller::Platform(user, _)
                    | Caller::Bound(user, _)
                    | Caller::Tenant(user, _) => Some(tokens[user].as_str()),
                };
                let body = spec.body.as_ref().map(|b| with_tenant(b, &own.tenant));
                let (method, path) = (op.method.clone(), path.clone());
                let s = &s;
                async move {
                    if want == Expected::Allowed && !read_only {
                        return None;
                    }
                    let (status, answer, _) = s.call(token, method, &path, body).await;
                    Some((caller, want, status, answer))
                }
            }))
            .await;
            for (caller, want, status, body) in answers.into_iter().flatten() {
                calls += 1;
                let ok = match want {
                    Expected::Refused(code, name) => {
                        refused_here = true;
                        refusals += 1;
                        status == code && body["code"] == name
                    }
                    Expected::Allowed => status == reference && status != 401 && status != 403,
                };
                if !ok {
                    failures.push(format!(
                        "{} {} {path} as {caller:?} ({target:?}): expected {want:?}, got {status} {}",
                        op.id, op.method, body["code"]
                    ));
                }
            }
            if refused_here {
                let after =
                    futures_util::join!(snapshot(&s, &admin, &own), snapshot(&s, &admin, &other));
                if before != after {
                    failures.push(format!(
                        "{} {path} ({target:?}): a refusal changed a tenant",
                        op.id
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        refusals > 500,
        "the walk refused {refusals} calls of {calls}"
    );
    eprintln!("{calls} calls, {refusals} refusals, all as the table says");
}
