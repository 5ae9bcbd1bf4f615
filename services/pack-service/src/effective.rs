//! A tenant's effective configuration: its Domain Pack version with its Tenant
//! Pack's overrides merged in and the tenant's rules before the domain's, plus
//! the playbook versions it linked — what the runtime reads, with a checksum of
//! all of it, and the classifier compiled from it. Also what makes a pair of pack
//! versions (and the tenant's links) fit to activate.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::classify::Classifier;
use crate::domain::{PackVersion, VersionRange};
use crate::format::checks::{self, playbook_fit};
use crate::format::{DomainPackDoc, Issue, PlaybookDoc, Rule, TenantPackDoc, checksum};

/// A pack version as stored: its content read back.
#[derive(Debug, Clone)]
pub struct DomainVersion {
    pub version: PackVersion,
    pub raw: Value,
    pub doc: DomainPackDoc,
    pub deprecated: bool,
}

#[derive(Debug, Clone)]
pub struct TenantVersion {
    pub version: PackVersion,
    pub doc: TenantPackDoc,
    pub deprecated: bool,
}

/// A linked playbook version.
#[derive(Debug, Clone)]
pub struct Linked {
    pub version: PackVersion,
    pub doc: PlaybookDoc,
}

/// The Domain Pack as the tenant runs it (overrides merged) and the tenant's
/// own rules; or why the pair does not go together.
pub fn combine(
    domain: &DomainVersion,
    tenant: Option<&TenantVersion>,
) -> Result<(DomainPackDoc, Vec<Rule>), Vec<Issue>> {
    let Some(tenant) = tenant else {
        return Ok((domain.doc.clone(), Vec::new()));
    };
    let mut reasons = Vec::new();
    if tenant.doc.domain != domain.doc.domain {
        reasons.push(Issue::new(
            "/domain",
            "domain_mismatch",
            format!(
                "tenant pack {} is for domain {}, not {}",
                tenant.version, tenant.doc.domain, domain.doc.domain
            ),
        ));
        return Err(reasons);
    }
    match VersionRange::parse(&tenant.doc.domain_versions) {
        Ok(range) if range.admits(&domain.version) => {}
        _ => {
            reasons.push(Issue::new(
                "/domain_versions",
                "version_out_of_range",
                format!(
                    "tenant pack {} fits {} {}, not {}",
                    tenant.version, domain.doc.domain, tenant.doc.domain_versions, domain.version
                ),
            ));
            return Err(reasons);
        }
    }
    let issues =
        checks::tenant_pack_against(&tenant.doc, &domain.doc, &domain.raw, &domain.version);
    if !issues.is_empty() {
        return Err(issues);
    }
    let merged = crate::format::merge::merged(&domain.raw, &tenant.doc.overrides);
    let doc: DomainPackDoc = serde_json::from_value(merged).map_err(|e| {
        vec![Issue::new(
            "/overrides",
            "override_breaks_pack",
            format!("the merged pack does not read: {e}"),
        )]
    })?;
    Ok((doc, tenant.doc.rules.clone()))
}

/// Why the tenant may not run this pair with these links; empty when it may.
pub fn activation_refusals(
    domain: &DomainVersion,
    tenant: Option<&TenantVersion>,
    links: &[Linked],
) -> Vec<Issue> {
    let mut reasons = Vec::new();
    if domain.deprecated {
        reasons.push(Issue::new(
            "/domain_pack_version",
            "pack_deprecated",
            format!(
                "domain pack {} {} is deprecated",
                domain.doc.domain, domain.version
            ),
        ));
    }
    if let Some(tenant) = tenant
        && tenant.deprecated
    {
        reasons.push(Issue::new(
            "/tenant_pack_version",
            "pack_deprecated",
            format!("tenant pack {} is deprecated", tenant.version),
        ));
    }
    match combine(domain, tenant) {
        Err(issues) => reasons.extend(issues),
        Ok((effective, _)) => {
            for link in links {
                for misfit in playbook_fit(&link.doc, &effective, &domain.version) {
                    reasons.push(Issue::new(
                        format!("/playbooks/{}", link.doc.id),
                        misfit.code,
                        misfit.message,
                    ));
                }
            }
        }
    }
    reasons
}

/// What the runtime is served for a tenant, and its classifier.
#[derive(Debug, Clone)]
pub struct Effective {
    /// The document `GET /runtime/tenants/{id}/config` answers.
    pub body: Value,
    /// SHA-256 of the document's canonical JSON without this field: its ETag.
    pub checksum: String,
    pub classifier: Classifier,
}

/// Where an activation came from, for the served document.
#[derive(Debug, Clone)]
pub struct Activated {
    pub at: OffsetDateTime,
    pub by: String,
}

#[expect(clippy::expect_used, reason = "packs serialize")]
pub fn effective(
    tenant_id: &str,
    domain: &DomainVersion,
    tenant: Option<&TenantVersion>,
    links: &[Linked],
    activated: &Activated,
) -> Result<Effective, Vec<Issue>> {
    let (pack, tenant_rules) = combine(domain, tenant)?;
    let entity = pack
        .entities
        .get(&pack.classification.entity)
        .ok_or_else(|| {
            vec![Issue::new(
                "/classification/entity",
                "unknown_entity",
                "the pack classifies an entity it does not declare",
            )]
        })?;
    let classifier = Classifier::new(
        entity,
        &tenant_rules,
        &pack.classification.rules,
        &pack.classification.default,
    );
    let mut config = serde_json::to_value(&pack).expect("packs serialize");
    let rules: Vec<Value> = tenant_rules
        .iter()
        .map(|r| (r, "tenant"))
        .chain(pack.classification.rules.iter().map(|r| (r, "domain")))
        .map(|(rule, source)| {
            let mut rule = serde_json::to_value(rule).expect("rules serialize");
            rule["source"] = json!(source);
            rule
        })
        .collect();
    config["classification"]["rules"] = Value::Array(rules);
    let mut linked: Vec<&Linked> = links.iter().collect();
    linked.sort_by(|a, b| a.doc.id.cmp(&b.doc.id));
    let mut body = json!({
        "tenant_id": tenant_id,
        "domain": pack.domain,
        "domain_pack_version": domain.version,
        "tenant_pack_version": tenant.map(|t| t.version.to_string()),
        "activated_at": activated.at.format(&time::format_description::well_known::Rfc3339)
            .expect("times format"),
        "activated_by": activated.by,
        "config": config,
        "playbooks": linked.iter().map(|l| json!({
            "id": l.doc.id,
            "version": l.version,
            "name": l.doc.name,
            "trigger": l.doc.trigger,
            "steps": l.doc.steps,
        })).collect::<Vec<_>>(),
    });
    let checksum = checksum(&body);
    body["checksum"] = json!(checksum);
    Ok(Effective {
        body,
        checksum,
        classifier,
    })
}
