//! The module catalog end to end through the gateway, with real tokens from the
//! identity provider and the real registry's saga: trust a signer, import signed
//! releases and approve one, report what runs in the region, onboard a tenant
//! whose request names the module (the catalog enables it, the tenant becomes
//! ACTIVE), check readiness, upgrade, see drift when a tag's digest is swapped,
//! disable with the cleanup checklist, offboard — then read every event as a
//! partner would, fastavro included.

use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::EncodePublicKey as _;
use module_catalog::dsse::{Envelope, MANIFEST_TYPE};
use plinth_bus::Area;
use plinth_testkit::Idp;
use reqwest::Method;
use serde_json::{Value, json};

use crate::proxy::{Options, Stack, call_as as call, stack_with};

/// Tenant registry settings whose sagas have the module catalog's items alone
/// (its consumers on): onboarding enables the modules the request names,
/// offboarding disables every module.
pub fn module_sagas() -> Value {
    json!({
        "bus": { "consumers": true },
        "onboarding": { "items": [{
            "key": "module_defaults", "owner": "module-catalog",
            "description": "The modules the onboarding request names are enabled",
            "satisfied_by": "plinth.module.defaults_enabled",
            "failed_by": "plinth.module.defaults_enablement_failed"
        }] },
        "offboarding": { "items": [{
            "key": "modules_disabled", "owner": "module-catalog",
            "description": "Every module of the tenant is disabled",
            "satisfied_by": "plinth.module.deprovisioned"
        }] }
    })
}

fn release(version: &str) -> Vec<u8> {
    std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/modules")
            .join(format!("itsm-triage-agent-{version}.json")),
    )
    .unwrap()
}

const TAG: &str = "registry.plinth.example/modules/itsm-triage-agent:stable";
const UNKNOWNS: [&str; 3] = ["connectors", "ai_providers", "policy"];

async fn deploy(s: &Stack, admin: &str, digest: &Value) {
    let (status, body) = call(
        s,
        admin,
        Method::PUT,
        "/admin/deployments/us/itsm-triage-agent",
        Some(json!({ "images": [{ "image": TAG, "digest": digest }] })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_module_demo_runs_through_the_gateway_and_partners_read_every_event() {
    let idp = Idp::start().await;
    let s = stack_with(
        &idp,
        Options {
            modules: true,
            registry: module_sagas(),
            ..Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    let auditor = idp.access_token("msp-auditor").await;

    // 1. The platform trusts its release pipeline's key and imports two releases.
    let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let (status, signer) = call(
        &s,
        &admin,
        Method::POST,
        "/admin/trust/signers",
        Some(json!({
            "identity": "Plinth module release pipeline", "algorithm": "ed25519",
            "key_id": "release-2026",
            "public_key": key.verifying_key().to_public_key_pem(Default::default()).unwrap(),
            "sources": ["github.com/plinth-modules"], "not_after": "2099-01-01T00:00:00Z"
        })),
    )
    .await;
    assert_eq!(status, 201, "{signer}");
    let mut digests = Vec::new();
    for version in ["1.0.0", "1.1.0"] {
        let envelope = Envelope::sign(MANIFEST_TYPE, &release(version), "release-2026", |m| {
            key.sign(m).to_vec()
        });
        let (status, imported) = call(
            &s,
            &admin,
            Method::POST,
            "/admin/modules/import",
            Some(json!({ "envelope": envelope })),
        )
        .await;
        assert_eq!(status, 201, "{imported}");
        assert_eq!(imported["review_passed"], true, "{imported}");
        digests.push(imported["image_digest"].clone());
    }
    let (status, approved) = call(
        &s,
        &admin,
        Method::POST,
        "/admin/modules/itsm-triage-agent/1.0.0/approve",
        Some(json!({ "reason": "security review 2026-12" })),
    )
    .await;
    assert_eq!((status, &approved["status"]), (200, &json!("APPROVED")));
    deploy(&s, &admin, &digests[0]).await;

    // 2. A tenant entitled to it, onboarded with it: the catalog enables it and
    // the registry's saga makes the tenant ACTIVE.
    let tenant = s.register(&admin, "modco").await;
    s.entitle(&admin, &tenant, &["itsm-triage-agent"]).await;
    let (status, body) = call(
        &s,
        &admin,
        Method::POST,
        &format!("/admin/tenants/{tenant}/onboarding"),
        Some(json!({ "requested_modules": ["itsm-triage-agent"] })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    s.wait_for_status(&admin, &tenant, "ACTIVE").await;
    let base = format!("/admin/tenant-modules/{tenant}");
    let (_, listed) = call(&s, &auditor, Method::GET, &base, None).await;
    let enabled = &listed["items"][0];
    assert_eq!(
        (&enabled["status"], &enabled["version"]),
        (&json!("ENABLED"), &json!("1.0.0")),
        "{listed}"
    );
    let id = enabled["enablement_id"].as_str().unwrap().to_owned();

    // 3. 1.1.0 approved and rolled out; readiness, then the upgrade.
    call(
        &s,
        &admin,
        Method::POST,
        "/admin/modules/itsm-triage-agent/1.1.0/approve",
        Some(json!({ "reason": "security review 2026-12" })),
    )
    .await;
    deploy(&s, &admin, &digests[1]).await;
    let (status, ready) = call(
        &s,
        &auditor,
        Method::GET,
        &format!("{base}/readiness?module_id=itsm-triage-agent&version=1.1.0"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{ready}");
    let unknown: Vec<&str> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] != "ready")
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(unknown, UNKNOWNS, "{ready}");
    let upgrade = json!({ "version": "1.1.0", "acknowledge": UNKNOWNS });
    let (status, _) = call(
        &s,
        &auditor,
        Method::POST,
        &format!("{base}/{id}/upgrade"),
        Some(upgrade.clone()),
    )
    .await;
    assert_eq!(status, 403, "auditors read only");
    let (status, upgraded) = call(
        &s,
        &admin,
        Method::POST,
        &format!("{base}/{id}/upgrade"),
        Some(upgrade),
    )
    .await;
    assert_eq!((status, &upgraded["version"]), (200, &json!("1.1.0")));

    // 4. The tag is swapped to an image nobody approved: drift, side by side.
    let swapped = json!(format!("sha256:{}", "f".repeat(64)));
    deploy(&s, &admin, &swapped).await;
    let (_, side_by_side) = call(&s, &auditor, Method::GET, "/admin/deployments", None).await;
    let module = &side_by_side["items"][0];
    assert_eq!(module["drift"], true, "{side_by_side}");
    assert_eq!(module["approved"].as_array().unwrap().len(), 2);
    deploy(&s, &admin, &digests[1]).await;

    // 5. Disabled with its cleanup checklist; then the tenant is offboarded.
    let (status, disabled) = call(
        &s,
        &admin,
        Method::POST,
        &format!("{base}/{id}/disable"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["cleanup"].as_array().unwrap().len(), 4);
    s.offboard(&admin, &tenant).await;

    // Everything, read back as a partner would.
    let read = crate::partner::decode_every_event(
        &s.prefix,
        &[Area::Tenant, Area::Module],
        &[
            "plinth.module.signer_added",
            "plinth.module.imported",
            "plinth.module.approved",
            "plinth.module.deployment_reported",
            "plinth.module.drift_detected",
            "plinth.module.drift_resolved",
            "plinth.module.enabled",
            "plinth.module.upgraded",
            "plinth.module.disabled",
            "plinth.module.defaults_enabled",
            "plinth.module.deprovisioned",
            "plinth.tenant.activated",
            "plinth.tenant.offboarded",
        ],
    );
    println!("events read as a partner: {read:?}");
}
