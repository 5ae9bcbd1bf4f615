//! Approved manifests and deployed image tags, side by side. The deployment
//! system reports, per region, the images each module runs by tag with the digest
//! each tag resolved to where it runs (the digest a container runtime reports for
//! the image it pulled); the catalog matches each digest with the module's
//! approved releases and flags drift: a deployed digest that is no approved (or
//! deprecated) release's digest. Drift is reassessed when a report arrives and
//! when a decision changes which digests are approved; each change publishes
//! `plinth.module.drift_detected` or `plinth.module.drift_resolved`.

use std::collections::{BTreeMap, BTreeSet};

use diesel_async::AsyncPgConnection;
use plinth_authz::{Authorized, on, to};
use plinth_bus::{Event, Outbox};
use plinth_core::{ApiError, Region};
use plinth_db::{TenantScope, scoped_transaction};
use plinth_service::{ServiceState, require_platform_wide};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::app::{AppState, now};
use crate::events::{Audited, Outcome};
use crate::store::{
    DeploymentRow, approved_digests_on_conn, deployment_list_on_conn, deployment_replace_on_conn,
};

/// The most images one report may list for a module.
pub const MAX_IMAGES: usize = 50;

/// One image a module runs, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// `registry/repository:tag`.
    pub image: String,
    /// `sha256:<64 hex>`.
    pub digest: String,
}

/// A module's images deployed in one region, checked: every image by tag, once,
/// each with a well-formed digest (the one it names when pinned, too).
pub fn parse_images(images: Vec<(String, String)>) -> Result<Vec<Reported>, ApiError> {
    if images.len() > MAX_IMAGES {
        return Err(ApiError::invalid_request(
            "images",
            format!("a report lists at most {MAX_IMAGES} images"),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut parsed = Vec::with_capacity(images.len());
    for (i, (image, digest)) in images.into_iter().enumerate() {
        let field = format!("images/{i}");
        let digest = digest.trim().to_owned();
        if !plinth_documents::is_sha256_digest(&digest) {
            return Err(ApiError::invalid_request(
                format!("{field}/digest"),
                "`digest` is `sha256:` and 64 lowercase hex digits",
            ));
        }
        let image = image.trim();
        let (by_tag, pinned) = match image.split_once('@') {
            Some((by_tag, pinned)) => (by_tag, Some(pinned)),
            None => (image, None),
        };
        if pinned.is_some_and(|p| p != digest) {
            return Err(ApiError::invalid_request(
                format!("{field}/image"),
                "the image is pinned to another digest than `digest`",
            ));
        }
        let tagged = by_tag
            .rsplit_once(':')
            .is_some_and(|(repo, tag)| repo.contains('/') && !tag.is_empty() && !tag.contains('/'));
        if !tagged || by_tag.len() > 255 || by_tag.chars().any(char::is_whitespace) {
            return Err(ApiError::invalid_request(
                format!("{field}/image"),
                "`image` is `registry/repository:tag` (at most 255 characters)",
            ));
        }
        if !seen.insert(by_tag.to_owned()) {
            return Err(ApiError::invalid_request(
                format!("{field}/image"),
                format!("{by_tag} is listed twice"),
            ));
        }
        parsed.push(Reported {
            image: by_tag.to_owned(),
            digest,
        });
    }
    Ok(parsed)
}

/// Whether `id` is a module id as manifests spell it: lower-case words joined by
/// hyphens, 3 to 63 characters.
pub fn is_module_id(id: &str) -> bool {
    (3..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && !id.contains("--")
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A release whose digest may run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovedRelease {
    pub version: String,
    pub image_digest: String,
    /// `APPROVED` or `DEPRECATED`.
    pub status: String,
}

/// An image a module runs in the region.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeployedImage {
    /// `registry/repository:tag`.
    pub image: String,
    /// What the tag resolved to where it runs.
    pub image_digest: String,
    /// The approved (or deprecated) release with this digest.
    pub version: Option<String>,
    /// The digest is no approved digest of the module.
    pub drift: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
    pub reported_by: String,
}

impl From<DeploymentRow> for DeployedImage {
    fn from(row: DeploymentRow) -> Self {
        DeployedImage {
            image: row.image,
            image_digest: row.image_digest,
            version: row.version,
            drift: row.drift,
            reported_at: row.reported_at,
            reported_by: row.reported_by,
        }
    }
}

/// A module in this region: its approved releases beside what runs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModuleDeployments {
    pub module_id: String,
    /// `us` or `eu`.
    #[schema(value_type = String, example = "us")]
    pub region: Region,
    /// Its approved and deprecated releases, newest version first.
    pub approved: Vec<ApprovedRelease>,
    /// Its images deployed here; none when it is not deployed.
    pub deployed: Vec<DeployedImage>,
    /// Some deployed image runs a digest no approved release has.
    pub drift: bool,
}

/// A change of an image's drift, to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftChange {
    pub image: String,
    pub image_digest: String,
    pub version: Option<String>,
    pub drift: bool,
}

/// `next` assessed against `approved` (digest → version): the rows to store and
/// the drift changes from `previous` — an image drifting that did not (or ran
/// another digest), an image that drifted and no longer does or is gone.
pub fn assess(
    previous: &[DeploymentRow],
    next: Vec<(Reported, OffsetDateTime, String)>,
    module: &str,
    approved: &BTreeMap<String, String>,
) -> (Vec<DeploymentRow>, Vec<DriftChange>) {
    let before: BTreeMap<&str, &DeploymentRow> =
        previous.iter().map(|r| (r.image.as_str(), r)).collect();
    let mut rows = Vec::with_capacity(next.len());
    let mut changes = Vec::new();
    for (reported, at, by) in next {
        let version = approved.get(&reported.digest).cloned();
        let drift = version.is_none();
        let was = before.get(reported.image.as_str());
        let drifted_before = was.is_some_and(|w| w.drift && w.image_digest == reported.digest);
        if drift && !drifted_before {
            changes.push(DriftChange {
                image: reported.image.clone(),
                image_digest: reported.digest.clone(),
                version: None,
                drift: true,
            });
        }
        if let Some(was) = was.filter(|w| w.drift && !drift) {
            changes.push(DriftChange {
                image: was.image.clone(),
                image_digest: reported.digest.clone(),
                version: version.clone(),
                drift: false,
            });
        }
        rows.push(DeploymentRow {
            module_id: module.to_owned(),
            image: reported.image,
            image_digest: reported.digest,
            version,
            drift,
            reported_at: at,
            reported_by: by,
        });
    }
    for gone in previous
        .iter()
        .filter(|p| p.drift && !rows.iter().any(|r| r.image == p.image))
    {
        changes.push(DriftChange {
            image: gone.image.clone(),
            image_digest: gone.image_digest.clone(),
            version: None,
            drift: false,
        });
    }
    (rows, changes)
}

/// A module's deployments reassessed: what was stored before, what is now, the
/// module's approved releases it was assessed against, and the drift events.
#[derive(Debug)]
pub struct Reassessed {
    pub previous: Vec<DeploymentRow>,
    pub rows: Vec<DeploymentRow>,
    pub approved: Vec<(String, String, String, String)>,
    pub drift: Vec<Event>,
}

/// Reassesses `module`'s deployed images (as `report`ed now, or as last
/// reported) against its approved releases now, and stores the result.
pub async fn reassess_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    module: &str,
    report: Option<Vec<Reported>>,
    at: OffsetDateTime,
    by: &str,
) -> Result<Reassessed, ApiError> {
    let previous = deployment_list_on_conn(conn, Some(module)).await?;
    let releases = approved_digests_on_conn(conn, Some(module)).await?;
    let approved: BTreeMap<String, String> = releases
        .iter()
        .map(|(_, version, digest, _)| (digest.clone(), version.clone()))
        .collect();
    let next = match report {
        Some(images) => images.into_iter().map(|r| (r, at, by.to_owned())).collect(),
        // Reassessed as reported, when reported.
        None => previous
            .iter()
            .map(|p| {
                let reported = Reported {
                    image: p.image.clone(),
                    digest: p.image_digest.clone(),
                };
                (reported, p.reported_at, p.reported_by.clone())
            })
            .collect(),
    };
    let (rows, changes) = assess(&previous, next, module, &approved);
    if rows != previous {
        deployment_replace_on_conn(conn, module, &rows).await?;
    }
    let digests: Vec<&str> = approved.keys().map(String::as_str).collect();
    let drift = changes
        .iter()
        .map(|change| app.events.drift_changed(module, change, &digests, at))
        .collect::<Result<_, _>>()?;
    Ok(Reassessed {
        previous,
        rows,
        approved: releases,
        drift,
    })
}

/// Records the images `module` runs in `region` (this catalog's), replacing the
/// previous report, and flags drift. Publishes the report when what runs changed.
pub async fn deployment_report(
    auth: &Authorized<on::ModuleDeployment, to::Update>,
    app: &AppState,
    region: &str,
    module: &str,
    images: Result<Vec<Reported>, ApiError>,
) -> Result<ModuleDeployments, ApiError> {
    let audited = Audited::new("module.deployment_report", "module_deployment")
        .on_resource(format!("{region}/{module}"));
    let result = async {
        let images = images?;
        if !is_module_id(module) {
            return Err(ApiError::invalid_request(
                "module_id",
                "a module id is lower-case words joined by hyphens, 3 to 63 characters",
            ));
        }
        let caller = auth.permit()?;
        require_platform_wide(caller)?;
        let region: Region = region.parse().map_err(|_| ApiError::not_found("region"))?;
        if region != app.region {
            return Err(ApiError::wrong_region(region, None));
        }
        let ctx = &caller.ctx;
        let by = ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
            let at = now();
            let Reassessed {
                previous,
                rows,
                approved,
                drift: mut events,
            } = reassess_on_conn(app, conn, module, Some(images), at, &by).await?;
            let runs = |rows: &[DeploymentRow]| {
                rows.iter()
                    .map(|r| (r.image.clone(), r.image_digest.clone()))
                    .collect::<BTreeSet<_>>()
            };
            if runs(&previous) != runs(&rows) {
                events.push(app.events.deployment_reported(module, &rows, at, &by)?);
            }
            events.push(
                app.events.audit(
                    ctx,
                    &audited
                        .clone()
                        .with_detail("images", rows.len())
                        .with_detail("drift", rows.iter().any(|r| r.drift)),
                    Outcome::Allowed,
                    None,
                )?,
            );
            Outbox::enqueue(conn, &events).await?;
            Ok(side_by_side(app.region, approved, rows)
                .pop()
                .unwrap_or_else(|| ModuleDeployments::empty(module, app.region)))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Every module with an approved release or a deployed image in this region:
/// approved releases beside deployed images.
pub async fn deployment_list(
    auth: &Authorized<on::ModuleDeployment, to::Read>,
    app: &AppState,
) -> Result<Vec<ModuleDeployments>, ApiError> {
    auth.permit()?;
    let mut conn = app.conn().await?;
    let (approved, rows) = scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
        let approved = approved_digests_on_conn(conn, None).await?;
        let rows = deployment_list_on_conn(conn, None).await?;
        Ok::<_, ApiError>((approved, rows))
    })
    .await?;
    Ok(side_by_side(app.region, approved, rows))
}

impl ModuleDeployments {
    fn empty(module: &str, region: Region) -> Self {
        ModuleDeployments {
            module_id: module.to_owned(),
            region,
            approved: Vec::new(),
            deployed: Vec::new(),
            drift: false,
        }
    }
}

/// Groups approved releases and deployed images by module.
fn side_by_side(
    region: Region,
    approved: Vec<(String, String, String, String)>,
    rows: Vec<DeploymentRow>,
) -> Vec<ModuleDeployments> {
    let mut modules: BTreeMap<String, ModuleDeployments> = BTreeMap::new();
    for (module, version, image_digest, status) in approved {
        modules
            .entry(module.clone())
            .or_insert_with(|| ModuleDeployments::empty(&module, region))
            .approved
            .push(ApprovedRelease {
                version,
                image_digest,
                status,
            });
    }
    for row in rows {
        let module = modules
            .entry(row.module_id.clone())
            .or_insert_with(|| ModuleDeployments::empty(&row.module_id, region));
        module.drift |= row.drift;
        module.deployed.push(row.into());
    }
    let order = |v: &str| semver::Version::parse(v).ok();
    let mut listed: Vec<_> = modules.into_values().collect();
    for m in &mut listed {
        m.approved
            .sort_by_key(|a| std::cmp::Reverse(order(&a.version)));
    }
    listed
}
