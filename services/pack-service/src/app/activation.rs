//! Activation: a tenant runs a (Domain Pack version, Tenant Pack version) pair
//! only after an explicit activation, refused with every reason when the pair —
//! with the tenant's linked playbooks — does not fit. Rollback is a new activation
//! of an earlier pair. For a tenant whose activations need approval, activating
//! opens a change request that another person, an approver of the tenant,
//! approves (which activates) or rejects (which changes nothing).

use diesel_async::AsyncPgConnection;
use plinth_authz::{Authorized, Resource, on, to};
use plinth_bus::{Event, Outbox};
use plinth_core::{ApiError, Code, ReqCtx, TenantId};
use plinth_db::scoped_transaction;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::import::domain_version;
use super::{AppState, now, require_changeable, scope_of, tenant_on_conn};
use crate::domain::{ActivationId, ChangeId, ChangeStatus, Domain, PackStatus, PackVersion};
use crate::effective::{Linked, TenantVersion, activation_refusals};
use crate::events::{
    ActivationRef, Audited, CONFIG_CHANGE_APPROVED, CONFIG_CHANGE_REJECTED,
    CONFIG_CHANGE_REQUESTED, ChangeRef, Outcome,
};
use crate::format::Issue;
use crate::store::active::{
    ActivationRow, ActiveRow, SettingsRow, activation_insert_on_conn, activation_list_on_conn,
    active_get_on_conn, active_set_on_conn, settings_get_on_conn, settings_set_on_conn,
};
use crate::store::changes::{
    ChangeRow, change_decide_on_conn, change_get_on_conn, change_insert_on_conn,
    change_list_on_conn,
};
use crate::store::domain_packs::{
    DomainPackRow, domain_pack_by_id_on_conn, domain_pack_count_on_conn, domain_pack_get_on_conn,
};
use crate::store::playbooks::link_list_on_conn;
use crate::store::tenant_packs::{
    TenantPackRow, tenant_pack_by_id_on_conn, tenant_pack_get_on_conn,
    tenant_pack_status_set_on_conn,
};
use plinth_service::ServiceState as _;

/// What to activate: a Domain Pack version and, optionally, one of the tenant's
/// Tenant Pack versions (which names the domain).
#[derive(Debug, Clone)]
pub struct ActivationRequest {
    pub tenant: TenantId,
    pub domain: Option<Domain>,
    pub domain_pack_version: PackVersion,
    pub tenant_pack_version: Option<PackVersion>,
}

/// One activation of a tenant's configuration.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activation {
    #[schema(example = "act_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    pub activation_id: String,
    pub tenant_id: String,
    #[schema(example = "finance")]
    pub domain: String,
    #[schema(example = "3.2.0")]
    pub domain_pack_version: String,
    #[schema(example = "1.4.0")]
    pub tenant_pack_version: Option<String>,
    /// `activation`, `approval` (of a change request) or `onboarding_default`.
    pub reason: String,
    /// The approved change request, when activations need approval.
    pub change_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub activated_at: OffsetDateTime,
    pub activated_by: String,
}

/// A request to change a tenant's active configuration.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfigChange {
    #[schema(example = "chg_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    pub change_id: String,
    pub tenant_id: String,
    pub status: ChangeStatus,
    pub domain: String,
    pub domain_pack_version: String,
    pub tenant_pack_version: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    pub requested_by: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
}

/// What activating did: activated, or (approval required) a change requested.
#[derive(Debug, Clone)]
pub enum Activated {
    Now(Activation),
    Requested(ConfigChange),
}

/// A tenant's active configuration, its pack settings and its recent history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActiveConfig {
    pub tenant_id: String,
    /// `None` until the tenant's first activation.
    pub active: Option<Activation>,
    /// Bumped by every activation and playbook link.
    pub generation: Option<i64>,
    pub approval_required: bool,
    /// The tenant's activations, newest first (at most 50).
    pub history: Vec<Activation>,
}

/// A tenant's pack settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackSettings {
    pub tenant_id: String,
    /// Whether an activation waits for an approver.
    pub approval_required: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    pub updated_by: Option<String>,
}

fn incompatible(reasons: Vec<Issue>) -> ApiError {
    ApiError::conflict(format!(
        "the pair cannot be activated: {}",
        reasons
            .iter()
            .map(|r| r.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    ))
    .with_code(Code::ActivationIncompatible)
    .with_serialized("reasons", &reasons)
}

fn tenant_version(row: &TenantPackRow) -> Result<TenantVersion, ApiError> {
    Ok(TenantVersion {
        version: PackVersion::parse(&row.version).map_err(ApiError::internal)?,
        doc: crate::format::TenantPackDoc::deserialize(&row.content_json)
            .map_err(ApiError::internal)?,
        deprecated: row.status == PackStatus::Deprecated.as_str(),
    })
}

/// The tenant's linked playbook versions.
pub async fn links_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<Vec<Linked>, ApiError> {
    link_list_on_conn(conn, tenant)
        .await?
        .into_iter()
        .map(|(_, version)| {
            Ok(Linked {
                version: PackVersion::parse(&version.version).map_err(ApiError::internal)?,
                doc: serde_json::from_value(version.content_json).map_err(ApiError::internal)?,
            })
        })
        .collect()
}

/// The pair a request names, read (and locked) in the transaction, and why it
/// cannot be activated (empty: it can).
async fn pair_on_conn(
    conn: &mut AsyncPgConnection,
    request: &ActivationRequest,
) -> Result<(DomainPackRow, Option<TenantPackRow>, Vec<Issue>), ApiError> {
    let tenant_row = match &request.tenant_pack_version {
        Some(version) => Some(
            tenant_pack_get_on_conn(conn, request.tenant, &version.to_string(), true)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid_request(
                        "tenant_pack_version",
                        format!("the tenant has no Tenant Pack {version}"),
                    )
                })?,
        ),
        None => None,
    };
    let domain = match (&request.domain, &tenant_row) {
        (Some(domain), Some(t)) if domain.as_str() != t.domain => {
            return Err(ApiError::invalid_request(
                "domain",
                format!(
                    "tenant pack {} is for domain {}, not {domain}",
                    t.version, t.domain
                ),
            ));
        }
        (Some(domain), _) => domain.as_str().to_owned(),
        (None, Some(t)) => t.domain.clone(),
        (None, None) => {
            return Err(ApiError::invalid_request(
                "domain",
                "name the domain, or a tenant pack version (which names it)",
            ));
        }
    };
    let version = request.domain_pack_version.to_string();
    let domain_row = domain_pack_get_on_conn(conn, &domain, &version, true)
        .await?
        .ok_or_else(|| {
            ApiError::invalid_request(
                "domain_pack_version",
                format!("no Domain Pack {domain} {version} is imported"),
            )
        })?;
    let links = links_on_conn(conn, request.tenant).await?;
    let tenant_version = tenant_row.as_ref().map(tenant_version).transpose()?;
    let reasons = activation_refusals(
        &domain_version(&domain_row)?,
        tenant_version.as_ref(),
        &links,
    );
    Ok((domain_row, tenant_row, reasons))
}

/// Makes the pair the tenant's active configuration, in the caller's
/// transaction: counts, statuses, the activation record and `pack.activated`.
#[allow(clippy::too_many_arguments)]
pub async fn apply_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    ctx: &ReqCtx,
    tenant: TenantId,
    domain: &DomainPackRow,
    tenant_pack: Option<&TenantPackRow>,
    change_id: Option<&str>,
    reason: &str,
) -> Result<(Activation, Vec<Event>), ApiError> {
    let at = now();
    let previous = active_get_on_conn(conn, tenant, true).await?;
    if previous.as_ref().map(|p| p.domain_pack_id.as_str()) != Some(domain.pack_id.as_str()) {
        if let Some(previous) = &previous {
            domain_pack_count_on_conn(conn, &previous.domain_pack_id, -1).await?;
        }
        domain_pack_count_on_conn(conn, &domain.pack_id, 1).await?;
    }
    let previous_tenant_pack = previous.as_ref().and_then(|p| p.tenant_pack_id.clone());
    if let Some(old) = &previous_tenant_pack
        && Some(old.as_str()) != tenant_pack.map(|t| t.pack_id.as_str())
        && let Some(old_row) = tenant_pack_by_id_on_conn(conn, old).await?
        && old_row.status == PackStatus::Active.as_str()
    {
        tenant_pack_status_set_on_conn(conn, old, PackStatus::Draft.as_str()).await?;
    }
    if let Some(t) = tenant_pack {
        tenant_pack_status_set_on_conn(conn, &t.pack_id, PackStatus::Active.as_str()).await?;
    }
    let by = &ctx.principal.subject;
    active_set_on_conn(
        conn,
        &ActiveRow {
            tenant_id: tenant.to_string(),
            domain_pack_id: domain.pack_id.clone(),
            tenant_pack_id: tenant_pack.map(|t| t.pack_id.clone()),
            generation: 1,
            activated_at: at,
            activated_by: by.clone(),
            change_request_id: change_id.map(str::to_owned),
        },
    )
    .await?;
    let activation_id = ActivationId::new().to_string();
    let row = ActivationRow {
        activation_id: activation_id.clone(),
        tenant_id: tenant.to_string(),
        domain_pack_id: domain.pack_id.clone(),
        tenant_pack_id: tenant_pack.map(|t| t.pack_id.clone()),
        activated_at: at,
        activated_by: by.clone(),
        change_request_id: change_id.map(str::to_owned),
        reason: reason.to_owned(),
    };
    activation_insert_on_conn(conn, &row).await?;
    let event = app.events.pack_activated(
        ActivationRef {
            tenant,
            activation_id: &activation_id,
            domain: &domain.domain,
            domain_pack_version: &domain.version,
            tenant_pack_version: tenant_pack.map(|t| t.version.as_str()),
            change_id,
            reason,
        },
        at,
        by,
    )?;
    Ok((
        Activation {
            activation_id,
            tenant_id: tenant.to_string(),
            domain: domain.domain.clone(),
            domain_pack_version: domain.version.clone(),
            tenant_pack_version: tenant_pack.map(|t| t.version.clone()),
            reason: reason.to_owned(),
            change_id: change_id.map(str::to_owned),
            activated_at: at,
            activated_by: by.clone(),
        },
        vec![event],
    ))
}

fn change_of(
    row: &ChangeRow,
    domain: &DomainPackRow,
    tenant_pack: Option<&TenantPackRow>,
) -> Result<ConfigChange, ApiError> {
    Ok(ConfigChange {
        change_id: row.change_id.clone(),
        tenant_id: row.tenant_id.clone(),
        status: row.status.parse()?,
        domain: domain.domain.clone(),
        domain_pack_version: domain.version.clone(),
        tenant_pack_version: tenant_pack.map(|t| t.version.clone()),
        requested_at: row.requested_at,
        requested_by: row.requested_by.clone(),
        decided_at: row.decided_at,
        decided_by: row.decided_by.clone(),
        decision_note: row.decision_note.clone(),
    })
}

fn change_event(
    app: &AppState,
    ty: &'static str,
    change: &ConfigChange,
    tenant: TenantId,
) -> Result<Event, ApiError> {
    app.events.config_change(
        ty,
        ChangeRef {
            tenant,
            change_id: &change.change_id,
            status: change.status.as_str(),
            domain: &change.domain,
            domain_pack_version: &change.domain_pack_version,
            tenant_pack_version: change.tenant_pack_version.as_deref(),
            requested_by: &change.requested_by,
            decided_by: change.decided_by.as_deref(),
        },
        now(),
    )
}

/// Activates a pair for a tenant, or, when its activations need approval, asks
/// for one. `request` is the request as the HTTP edge parsed it.
pub async fn pack_activate(
    auth: &Authorized<on::PackActivation, to::Create>,
    app: &AppState,
    tenant: Option<TenantId>,
    request: Result<ActivationRequest, ApiError>,
) -> Result<Activated, ApiError> {
    let mut audited = Audited::new("pack.activate", "pack_activation");
    if let Some(tenant) = tenant {
        audited = audited.on_tenant(tenant);
    }
    let result = async {
        let request = request?;
        let tenant = request.tenant;
        let caller = auth.permit_in(tenant)?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        let activated = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            require_changeable(&tenant_on_conn(conn, tenant).await?)?;
            let (domain, tenant_pack, reasons) = pair_on_conn(conn, &request).await?;
            if !reasons.is_empty() {
                return Err(incompatible(reasons));
            }
            let audited = audited
                .clone()
                .with_detail("domain", &domain.domain)
                .with_detail("domain_pack_version", &domain.version)
                .with_detail(
                    "tenant_pack_version",
                    tenant_pack.as_ref().map_or("none", |t| t.version.as_str()),
                );
            let settings = settings_get_on_conn(conn, tenant).await?;
            // Whoever switched approval off does not activate without it: the
            // waiver and the activation are two people's.
            if let Some(s) = &settings
                && !s.approval_required
                && s.waived
                && s.updated_by == ctx.principal.subject
            {
                return Err(ApiError::forbidden(
                    "you switched approval off for this tenant; someone else activates without it, or switch it back on",
                )
                .with_code(Code::ApprovalWaivedByActivator));
            }
            let approval = settings.is_some_and(|s| s.approval_required);
            if approval {
                let row = ChangeRow {
                    change_id: ChangeId::new().to_string(),
                    tenant_id: tenant.to_string(),
                    domain_pack_id: domain.pack_id.clone(),
                    tenant_pack_id: tenant_pack.as_ref().map(|t| t.pack_id.clone()),
                    status: ChangeStatus::Pending.as_str().to_owned(),
                    reason: "activation".to_owned(),
                    requested_at: now(),
                    requested_by: ctx.principal.subject.clone(),
                    decided_at: None,
                    decided_by: None,
                    decision_note: None,
                };
                change_insert_on_conn(conn, &row).await?;
                let change = change_of(&row, &domain, tenant_pack.as_ref())?;
                let events = [
                    change_event(app, CONFIG_CHANGE_REQUESTED, &change, tenant)?,
                    app.events.audit(
                        ctx,
                        &audited.with_detail("change_id", &change.change_id),
                        Outcome::Allowed,
                        None,
                    )?,
                ];
                Outbox::enqueue(conn, &events).await?;
                return Ok(Activated::Requested(change));
            }
            let (activation, mut events) = apply_on_conn(
                app,
                conn,
                ctx,
                tenant,
                &domain,
                tenant_pack.as_ref(),
                None,
                "activation",
            )
            .await?;
            events.push(app.events.audit(
                ctx,
                &audited.with_detail("activation_id", &activation.activation_id),
                Outcome::Allowed,
                None,
            )?);
            Outbox::enqueue(conn, &events).await?;
            Ok(Activated::Now(activation))
        })
        .await?;
        if matches!(activated, Activated::Now(_)) {
            app.cache.drop_tenant(tenant);
        }
        Ok(activated)
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Approves (`approve`) or rejects a pending change request. Only an approver of
/// the tenant, and never the person who asked; approval activates the pair if it
/// still fits.
pub async fn change_decide(
    auth: &Authorized<on::ConfigChange, to::Update>,
    app: &AppState,
    tenant: TenantId,
    decided: Result<(ChangeId, Option<String>), ApiError>,
    approve: bool,
) -> Result<ConfigChange, ApiError> {
    let action = if approve {
        "config_change.approve"
    } else {
        "config_change.reject"
    };
    let mut audited = Audited::new(action, "config_change").in_tenant(tenant);
    if let Ok((change, _)) = &decided {
        audited = audited.on_resource(change);
    }
    let result = async {
        let (change, note) = decided?;
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        let decided = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            require_changeable(&tenant_on_conn(conn, tenant).await?)?;
            let row = change_get_on_conn(conn, tenant, &change.to_string(), true)
                .await?
                .ok_or_else(|| ApiError::not_found("config change"))?;
            if row.status != ChangeStatus::Pending.as_str() {
                return Err(
                    ApiError::conflict(format!("the change is already {}", row.status))
                        .with_code(Code::ChangeDecided),
                );
            }
            if row.requested_by == ctx.principal.subject {
                return Err(ApiError::forbidden(
                    "you asked for this change: another approver decides it",
                )
                .with_code(Code::OwnChange));
            }
            let domain = domain_pack_by_id_on_conn(conn, &row.domain_pack_id)
                .await?
                .ok_or_else(|| ApiError::internal("a change names a missing domain pack"))?;
            let tenant_pack = match &row.tenant_pack_id {
                Some(id) => {
                    Some(tenant_pack_by_id_on_conn(conn, id).await?.ok_or_else(|| {
                        ApiError::internal("a change names a missing tenant pack")
                    })?)
                }
                None => None,
            };
            let mut events = Vec::new();
            if approve {
                let request = ActivationRequest {
                    tenant,
                    domain: Some(Domain::parse(&domain.domain).map_err(ApiError::internal)?),
                    domain_pack_version: PackVersion::parse(&domain.version)
                        .map_err(ApiError::internal)?,
                    tenant_pack_version: tenant_pack
                        .as_ref()
                        .map(|t| PackVersion::parse(&t.version))
                        .transpose()
                        .map_err(ApiError::internal)?,
                };
                let (_, _, reasons) = pair_on_conn(conn, &request).await?;
                if !reasons.is_empty() {
                    return Err(incompatible(reasons));
                }
            }
            let status = if approve {
                ChangeStatus::Approved
            } else {
                ChangeStatus::Rejected
            };
            let at = now();
            let row = change_decide_on_conn(
                conn,
                &row.change_id,
                status.as_str(),
                at,
                &ctx.principal.subject,
                note.as_deref(),
            )
            .await?;
            let decided = change_of(&row, &domain, tenant_pack.as_ref())?;
            let ty = if approve {
                CONFIG_CHANGE_APPROVED
            } else {
                CONFIG_CHANGE_REJECTED
            };
            events.push(change_event(app, ty, &decided, tenant)?);
            if approve {
                let (_, activated) = apply_on_conn(
                    app,
                    conn,
                    ctx,
                    tenant,
                    &domain,
                    tenant_pack.as_ref(),
                    Some(&row.change_id),
                    "approval",
                )
                .await?;
                events.extend(activated);
            }
            events.push(app.events.audit(ctx, &audited, Outcome::Allowed, None)?);
            Outbox::enqueue(conn, &events).await?;
            Ok(decided)
        })
        .await?;
        if approve {
            app.cache.drop_tenant(tenant);
        }
        Ok(decided)
    }
    .await;
    app.audited(auth, &audited, result).await
}

async fn activation_of_on_conn(
    conn: &mut AsyncPgConnection,
    row: ActivationRow,
) -> Result<Activation, ApiError> {
    let domain = domain_pack_by_id_on_conn(conn, &row.domain_pack_id)
        .await?
        .ok_or_else(|| ApiError::internal("an activation names a missing domain pack"))?;
    let tenant_pack = match &row.tenant_pack_id {
        Some(id) => tenant_pack_by_id_on_conn(conn, id).await?,
        None => None,
    };
    Ok(Activation {
        activation_id: row.activation_id,
        tenant_id: row.tenant_id,
        domain: domain.domain,
        domain_pack_version: domain.version,
        tenant_pack_version: tenant_pack.map(|t| t.version),
        reason: row.reason,
        change_id: row.change_request_id,
        activated_at: row.activated_at,
        activated_by: row.activated_by,
    })
}

/// What the tenant runs, since when and by whom, and what it ran before.
pub async fn active_get(
    auth: &Authorized<on::PackActivation, to::Read>,
    app: &AppState,
    tenant: TenantId,
) -> Result<ActiveConfig, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(conn, tenant).await?;
        let active = active_get_on_conn(conn, tenant, false).await?;
        let settings = settings_get_on_conn(conn, tenant).await?;
        let mut history = Vec::new();
        for row in activation_list_on_conn(conn, tenant, 50).await? {
            history.push(activation_of_on_conn(conn, row).await?);
        }
        // The newest activation is the active one (offboarding withdraws both).
        let current = match &active {
            Some(_) => history.first().cloned(),
            None => None,
        };
        Ok(ActiveConfig {
            tenant_id: tenant.to_string(),
            active: current,
            generation: active.map(|a| a.generation),
            approval_required: settings.is_some_and(|s| s.approval_required),
            history,
        })
    })
    .await
}

pub async fn change_list(
    auth: &Authorized<on::ConfigChange, to::Read>,
    app: &AppState,
    tenant: TenantId,
) -> Result<Vec<ConfigChange>, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(conn, tenant).await?;
        let mut out = Vec::new();
        for row in change_list_on_conn(conn, tenant, 100).await? {
            let domain = domain_pack_by_id_on_conn(conn, &row.domain_pack_id)
                .await?
                .ok_or_else(|| ApiError::internal("a change names a missing domain pack"))?;
            let tenant_pack = match &row.tenant_pack_id {
                Some(id) => tenant_pack_by_id_on_conn(conn, id).await?,
                None => None,
            };
            out.push(change_of(&row, &domain, tenant_pack.as_ref())?);
        }
        Ok(out)
    })
    .await
}

pub async fn settings_get(
    auth: &Authorized<on::PackSettings, to::Read>,
    app: &AppState,
    tenant: TenantId,
) -> Result<PackSettings, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(conn, tenant).await?;
        let row = settings_get_on_conn(conn, tenant).await?;
        Ok(PackSettings {
            tenant_id: tenant.to_string(),
            approval_required: row.as_ref().is_some_and(|r| r.approval_required),
            updated_at: row.as_ref().map(|r| r.updated_at),
            updated_by: row.map(|r| r.updated_by),
        })
    })
    .await
}

/// Turns approval of activations on or off for a tenant.
pub async fn settings_set(
    auth: &Authorized<on::ApprovalSetting, to::Update>,
    app: &AppState,
    tenant: TenantId,
    approval_required: Result<bool, ApiError>,
) -> Result<PackSettings, ApiError> {
    let audited = Audited::new("pack.settings.update", "pack_settings").on_tenant(tenant);
    let result = async {
        let approval_required = approval_required?;
        // Administrators change the setting; approvers may switch it off. Anyone
        // else is refused before the tenant is looked at.
        let may_change = auth.permit_as(Resource::PackSettings, None).map(|_| ());
        let may_waive = auth.permit_as(Resource::ConfigChange, None).map(|_| ());
        if may_waive.is_err() {
            may_change.clone()?;
        }
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            require_changeable(&tenant_on_conn(conn, tenant).await?)?;
            // Switching approval off is a decision about change requests, so it is
            // an approver's (`ConfigChange` writers), never the administrator's
            // alone; switching it on, or leaving it, is the administrators'.
            let current = settings_get_on_conn(conn, tenant).await?;
            let waived = !approval_required && current.is_some_and(|s| s.approval_required);
            if waived {
                may_waive.clone().map_err(|_| {
                    ApiError::forbidden("only an approver of the tenant switches approval off")
                        .with_code(Code::ApproverRequired)
                })?;
            } else {
                may_change.clone()?;
            }
            let row = SettingsRow {
                tenant_id: tenant.to_string(),
                approval_required,
                waived,
                updated_at: now(),
                updated_by: ctx.principal.subject.clone(),
            };
            settings_set_on_conn(conn, &row).await?;
            let audited = audited
                .clone()
                .with_detail("approval_required", approval_required)
                .with_detail("waived", waived);
            Outbox::enqueue(
                conn,
                &[app.events.audit(ctx, &audited, Outcome::Allowed, None)?],
            )
            .await?;
            Ok(PackSettings {
                tenant_id: tenant.to_string(),
                approval_required,
                updated_at: Some(row.updated_at),
                updated_by: Some(row.updated_by),
            })
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}
