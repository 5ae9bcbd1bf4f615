//! The policies in force for a tenant: its effective policy (and each module's)
//! with provenance, decisions on a step the runtime is about to take, and the
//! compiled bundle a runtime decides with in-process — all from the published
//! versions of the platform's, the modules', the tenant's and the tenant's
//! modules' records, merged by `plinth-policy`.

use std::collections::{BTreeMap, BTreeSet};

use plinth_authz::{Act, Authorized, Resources};
use plinth_core::{ApiError, TenantId};
use plinth_db::{TenantScope, scoped_transaction};
use plinth_policy::{Bundle, Effective, Gate, Level, Request, Rules, Source, Usage};
use plinth_service::ServiceState as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::records::AppState;
use crate::store::{RecordRow, VersionRow, in_force_on_conn};

/// The published versions in force for the tenant, read as the merge takes
/// them.
struct InForce {
    rows: Vec<(RecordRow, VersionRow, Rules)>,
}

impl InForce {
    async fn of(app: &AppState, tenant: TenantId) -> Result<InForce, ApiError> {
        let mut conn = app.conn().await?;
        let rows = scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
            in_force_on_conn(conn, &tenant.to_string()).await
        })
        .await?;
        let rows = rows
            .into_iter()
            .map(|(record, version)| {
                let rules: Rules = serde_json::from_value(version.document["rules"].clone())
                    .map_err(|e| {
                        ApiError::internal(format!("stored rules of {}: {e}", record.record_id))
                    })?;
                Ok((record, version, rules))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(InForce { rows })
    }

    /// The effective policy of the tenant, or of its `module`.
    fn effective(&self, module: Option<&str>) -> Effective {
        let sources: Vec<Source<'_>> = self
            .rows
            .iter()
            .filter_map(|(record, version, rules)| {
                let level = Level::parse(&record.level)?;
                let applies = match level {
                    Level::Platform | Level::Tenant => true,
                    Level::Module | Level::TenantModule => {
                        module.is_some() && record.module_id.as_deref() == module
                    }
                };
                applies.then_some(Source {
                    record_id: &record.record_id,
                    version: u32::try_from(version.version).unwrap_or_default(),
                    level,
                    rules,
                })
            })
            .collect();
        plinth_policy::effective(&sources)
    }

    /// The tenant's bundle: its policy, and each module's with records of its own.
    fn bundle(&self, tenant: TenantId) -> Bundle {
        let modules: BTreeSet<&str> = self
            .rows
            .iter()
            .filter_map(|(record, _, _)| record.module_id.as_deref())
            .collect();
        Bundle {
            tenant_id: tenant.to_string(),
            tenant: self.effective(None),
            modules: modules
                .into_iter()
                .map(|m| (m.to_owned(), self.effective(Some(m))))
                .collect::<BTreeMap<_, _>>(),
        }
    }
}

/// The caller, when it may read the tenant's policies: every role of the
/// tenant, the platform team, and the runtime.
async fn permit<R: Resources, A: Act>(
    app: &AppState,
    auth: &Authorized<R, A>,
    tenant: TenantId,
) -> Result<(), ApiError> {
    let caller = auth.permit()?;
    caller.ctx.require_local(tenant)?;
    if !app.knows_tenant(tenant).await {
        return Err(ApiError::not_found("tenant"));
    }
    Ok(())
}

/// A tenant's (or a tenant's module's) policy in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EffectiveView {
    pub tenant_id: String,
    pub module_id: Option<String>,
    /// The tenant's bundle's entity tag: the policy version decisions name.
    #[schema(example = "\"3f9c…\"")]
    pub etag: String,
    /// The merged policy, with `provenance`: for every field a record set, the
    /// record versions that decided it.
    #[schema(value_type = Object)]
    pub policy: Effective,
}

/// The effective policy of `tenant` (or its `module`) with provenance.
pub async fn effective_get<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    module: Option<String>,
) -> Result<EffectiveView, ApiError> {
    permit(app, auth, tenant).await?;
    let in_force = InForce::of(app, tenant).await?;
    Ok(EffectiveView {
        tenant_id: tenant.to_string(),
        etag: in_force.bundle(tenant).etag(),
        policy: in_force.effective(module.as_deref()),
        module_id: module,
    })
}

/// A step the runtime is about to take, to decide on.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// The module taking the step, if any: its policy applies.
    pub module_id: Option<String>,
    /// The workspace it is taken in.
    pub workspace_id: Option<String>,
    /// `read`, `notify`, `ticket_update`, `config_change`,
    /// `remote_execution`, `tenant_admin`, …
    #[schema(example = "ticket_update")]
    pub action_class: String,
    #[schema(example = "openai")]
    pub provider_kind: Option<String>,
    #[schema(example = "gpt-4o-mini")]
    pub model: Option<String>,
    #[serde(default)]
    pub estimated_tokens: u64,
    /// Whether ticket content (not only metadata) goes to the provider.
    #[serde(default)]
    pub content_included: bool,
    /// The connector it uses, if any.
    pub connector: Option<String>,
    /// The workspace's approval tier (`L0`…`L3`): the stricter of it and the
    /// policy's gate applies.
    #[schema(value_type = Option<String>, example = "L2")]
    pub workspace_tier: Option<Gate>,
}

/// A decision, with the policy version it was made under.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    pub tenant_id: String,
    pub module_id: Option<String>,
    pub workspace_id: Option<String>,
    /// `allow`, `allow_and_notify`, `require_approval`, `human_only` or `deny`.
    #[schema(example = "require_approval")]
    pub decision: String,
    /// The gate level that applies (`L0`…`L3`).
    #[schema(example = "L2")]
    pub gate: String,
    /// Every rule the step met, each with its outcome, field and the record
    /// versions that decided it.
    #[schema(value_type = Vec<Object>)]
    pub reasons: Vec<plinth_policy::Reason>,
    /// What the runtime must do if it proceeds (`redact_content`).
    pub obligations: Vec<String>,
    /// The tenant's bundle's entity tag.
    pub policy_etag: String,
}

/// Decides the step `body` of `tenant`.
pub async fn decide<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    body: Result<DecisionBody, ApiError>,
) -> Result<DecisionView, ApiError> {
    let body = body?;
    if body.action_class.is_empty()
        || body.action_class.len() > 64
        || !body
            .action_class
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ApiError::invalid_request(
            "action_class",
            "`action_class` is 1 to 64 lower-case letters, digits and `_`",
        ));
    }
    permit(app, auth, tenant).await?;
    let in_force = InForce::of(app, tenant).await?;
    let bundle = in_force.bundle(tenant);
    let request = Request {
        action_class: body.action_class,
        provider_kind: body.provider_kind,
        model: body.model,
        estimated_tokens: body.estimated_tokens,
        content_included: body.content_included,
        connector: body.connector,
        workspace_tier: body.workspace_tier,
    };
    let decision = bundle.decide(body.module_id.as_deref(), &request, Usage::default());
    Ok(DecisionView {
        tenant_id: tenant.to_string(),
        module_id: body.module_id,
        workspace_id: body.workspace_id,
        decision: decision.outcome.as_str().to_owned(),
        gate: decision.gate.as_str().to_owned(),
        reasons: decision.reasons,
        obligations: decision.obligations,
        policy_etag: bundle.etag(),
    })
}

/// The tenant's compiled bundle and its entity tag.
pub async fn bundle_get<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
) -> Result<(Bundle, String), ApiError> {
    permit(app, auth, tenant).await?;
    let bundle = InForce::of(app, tenant).await?.bundle(tenant);
    let etag = bundle.etag();
    Ok((bundle, etag))
}
