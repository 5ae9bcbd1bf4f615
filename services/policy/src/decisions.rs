//! The policies in force for a tenant: its effective policy (and each module's)
//! with provenance, decisions on a step the runtime is about to take, and the
//! compiled bundle a runtime decides with in-process — all from the published
//! versions of the platform's, the modules', the tenant's and the tenant's
//! modules' records, merged by `plinth-policy`.

use std::collections::{BTreeMap, BTreeSet};

use diesel_async::AsyncPgConnection;
use plinth_authz::{Act, Authorized, Resources};
use plinth_core::{ApiError, TenantId};
use plinth_db::{TenantScope, scoped_transaction};
use plinth_policy::{
    Bundle, Decision, Effective, Gate, Level, Request, Rules, Source, TokenRules, Usage,
};
use plinth_service::ServiceState as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::records::AppState;
use crate::store::{InForceRow, in_force_of_tenant, usage_of_month_on_conn};

/// A published version in force, as `policy_in_force` lists it.
#[derive(Debug, Deserialize)]
struct Published {
    record_id: String,
    level: String,
    module_id: Option<String>,
    version: i32,
    rules: Rules,
}

/// The published versions in force for the tenant, read as the merge takes
/// them.
struct InForce {
    records: Vec<Published>,
    /// The tenant's entitled monthly token budget, as a rule.
    entitlement: Option<Rules>,
    /// What the tenant has spent this month.
    usage: Usage,
    /// Whether offboarding withdrew the tenant's policies.
    withdrawn: bool,
}

/// The record id entitlement budgets are attributed to in provenance.
pub const ENTITLEMENT: &str = "entitlement";

impl InForce {
    /// What is in force for `tenant`, in one round trip; not found when the
    /// service has not heard of the tenant.
    async fn of(app: &AppState, tenant: TenantId) -> Result<InForce, ApiError> {
        let mut conn = app.conn().await?;
        InForce::of_on_conn(&mut conn, tenant).await
    }

    /// What is in force for `tenant`, read on `conn` (in a transaction of
    /// the caller's, its scope the tenant's).
    async fn of_on_conn(
        conn: &mut AsyncPgConnection,
        tenant: TenantId,
    ) -> Result<InForce, ApiError> {
        let row = in_force_of_tenant(conn, &tenant.to_string(), this_month()?)
            .await?
            .ok_or_else(|| ApiError::not_found("tenant"))?;
        InForce::of_row(row, tenant)
    }

    /// What is in force, as `policy_in_force` read it for `tenant`.
    fn of_row(row: InForceRow, tenant: TenantId) -> Result<InForce, ApiError> {
        let records: Vec<Published> = serde_json::from_value(row.records)
            .map_err(|e| ApiError::internal(format!("the rules in force of {tenant}: {e}")))?;
        let entitlement = row.monthly_token_budget.map(|budget| Rules {
            tokens: Some(TokenRules {
                monthly_budget: Some(u64::try_from(budget).unwrap_or_default()),
                ..TokenRules::default()
            }),
            ..Rules::default()
        });
        Ok(InForce {
            records,
            entitlement,
            usage: Usage {
                month_tokens: u64::try_from(row.spent).unwrap_or_default(),
            },
            withdrawn: row.withdrawn,
        })
    }

    /// The effective policy of the tenant, or of its `module`.
    fn effective(&self, module: Option<&str>) -> Effective {
        let entitled = self.entitlement.as_ref().map(|rules| Source {
            record_id: ENTITLEMENT,
            version: 0,
            level: Level::Tenant,
            rules,
        });
        let sources: Vec<Source<'_>> = self
            .records
            .iter()
            .filter_map(|record| {
                let level = Level::parse(&record.level)?;
                let applies = match level {
                    Level::Platform | Level::Tenant => true,
                    Level::Module | Level::TenantModule => {
                        module.is_some() && record.module_id.as_deref() == module
                    }
                };
                applies.then_some(Source {
                    record_id: &record.record_id,
                    version: u32::try_from(record.version).unwrap_or_default(),
                    level,
                    rules: &record.rules,
                })
            })
            .chain(entitled)
            .collect();
        plinth_policy::effective(&sources)
    }

    /// The tenant's bundle: its policy, and each module's with records of its own.
    fn bundle(&self, tenant: TenantId) -> Bundle {
        let modules: BTreeSet<&str> = self
            .records
            .iter()
            .filter_map(|record| record.module_id.as_deref())
            .collect();
        Bundle {
            tenant_id: tenant.to_string(),
            tenant: self.effective(None),
            modules: modules
                .into_iter()
                .map(|m| (m.to_owned(), self.effective(Some(m))))
                .collect::<BTreeMap<_, _>>(),
            withdrawn: self.withdrawn,
        }
    }
}

/// The caller, when it may read the tenant's policies: every role of the
/// tenant, the platform team, and the runtime. Whether the service knows the
/// tenant is read with what is in force for it ([`InForce::of`]).
pub(crate) fn permit<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    tenant: TenantId,
) -> Result<(), ApiError> {
    let caller = auth.permit()?;
    caller.ctx.require_local(tenant)?;
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
    pub policy: Effective,
}

/// The effective policy of `tenant` (or its `module`) with provenance.
pub async fn effective_get<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    module: Option<String>,
) -> Result<EffectiveView, ApiError> {
    permit(auth, tenant)?;
    // One merge per module: the bundle's, whose tag names it too.
    let bundle = InForce::of(app, tenant).await?.bundle(tenant);
    Ok(EffectiveView {
        tenant_id: tenant.to_string(),
        etag: bundle.etag(),
        policy: bundle.policy_for(module.as_deref()).clone(),
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
    check_action_class(&body.action_class)?;
    permit(auth, tenant)?;
    let request = Request {
        action_class: body.action_class,
        provider_kind: body.provider_kind,
        model: body.model,
        estimated_tokens: body.estimated_tokens,
        content_included: body.content_included,
        connector: body.connector,
        workspace_tier: body.workspace_tier,
    };
    let (decision, policy_etag) =
        decide_in_force(app, tenant, body.module_id.as_deref(), &request).await?;
    Ok(DecisionView {
        tenant_id: tenant.to_string(),
        module_id: body.module_id,
        workspace_id: body.workspace_id,
        decision: decision.outcome.as_str().to_owned(),
        gate: decision.gate.as_str().to_owned(),
        reasons: decision.reasons,
        obligations: decision.obligations,
        policy_etag,
    })
}

/// Decides `request` of `tenant` (and its `module`) by what is in force now:
/// the decision, and the tag of the bundle it was made under.
pub(crate) async fn decide_in_force(
    app: &AppState,
    tenant: TenantId,
    module: Option<&str>,
    request: &Request,
) -> Result<(Decision, String), ApiError> {
    let mut conn = app.conn().await?;
    decide_in_force_on_conn(&mut conn, tenant, module, request).await
}

/// [`decide_in_force`], read on `conn`.
pub(crate) async fn decide_in_force_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    module: Option<&str>,
    request: &Request,
) -> Result<(Decision, String), ApiError> {
    let in_force = InForce::of_on_conn(conn, tenant).await?;
    let bundle = in_force.bundle(tenant);
    Ok((
        bundle.decide(module, request, in_force.usage),
        bundle.etag(),
    ))
}

/// [`decide_in_force`], by what `policy_in_force` read for `tenant`.
pub(crate) fn decide_by_row(
    row: InForceRow,
    tenant: TenantId,
    module: Option<&str>,
    request: &Request,
) -> Result<(Decision, String), ApiError> {
    let in_force = InForce::of_row(row, tenant)?;
    let bundle = in_force.bundle(tenant);
    Ok((
        bundle.decide(module, request, in_force.usage),
        bundle.etag(),
    ))
}

/// The first day of this month (UTC), as usage is summed by.
pub(crate) fn this_month() -> Result<time::Date, ApiError> {
    plinth_db::now()
        .date()
        .replace_day(1)
        .map_err(ApiError::internal)
}

/// Whether `action_class` is 1 to 64 lower-case letters, digits and `_`.
pub(crate) fn check_action_class(action_class: &str) -> Result<(), ApiError> {
    if action_class.is_empty()
        || action_class.len() > 64
        || !action_class
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ApiError::invalid_request(
            "action_class",
            "`action_class` is 1 to 64 lower-case letters, digits and `_`",
        ));
    }
    Ok(())
}

/// The tenant's compiled bundle and its entity tag.
pub async fn bundle_get<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
) -> Result<(Bundle, String), ApiError> {
    permit(auth, tenant)?;
    let bundle = InForce::of(app, tenant).await?.bundle(tenant);
    let etag = bundle.etag();
    Ok((bundle, etag))
}

/// `GET …/usage`: the month, `YYYY-MM` (this month by default).
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
pub struct UsageQuery {
    #[param(example = "2026-12")]
    pub month: Option<String>,
}

/// What a tenant spent in a month on one workspace, module, provider model
/// and connector.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsageItem {
    pub workspace_id: Option<String>,
    pub module_id: Option<String>,
    pub provider_kind: Option<String>,
    pub model: Option<String>,
    pub connector: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub connector_operations: i64,
    /// The usage events counted.
    pub events: i64,
}

/// A tenant's usage in a month, against its budget.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsageView {
    pub tenant_id: String,
    #[schema(example = "2026-12")]
    pub month: String,
    /// The tokens a month the tenant's policy allows (the smallest of its
    /// records' and its entitlement's); none: no budget.
    pub monthly_budget: Option<u64>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub connector_operations: i64,
    pub items: Vec<UsageItem>,
}

fn month_param(text: Option<&str>) -> Result<time::Date, ApiError> {
    let Some(text) = text else {
        return plinth_db::now()
            .date()
            .replace_day(1)
            .map_err(ApiError::internal);
    };
    let bad = || ApiError::invalid_request("month", "`month` is YYYY-MM");
    let (year, month) = text.split_once('-').ok_or_else(bad)?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let month: u8 = month.parse().map_err(|_| bad())?;
    let month = time::Month::try_from(month).map_err(|_| bad())?;
    time::Date::from_calendar_date(year, month, 1).map_err(|_| bad())
}

/// `tenant`'s usage in `month`, by workspace, module, provider model and
/// connector, with its budget.
pub async fn usage_get<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    query: UsageQuery,
) -> Result<UsageView, ApiError> {
    let month = month_param(query.month.as_deref())?;
    permit(auth, tenant)?;
    let budget = InForce::of(app, tenant)
        .await?
        .effective(None)
        .monthly_budget;
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
        usage_of_month_on_conn(conn, &tenant.to_string(), month).await
    })
    .await?;
    let none = |s: String| (!s.is_empty()).then_some(s);
    Ok(UsageView {
        tenant_id: tenant.to_string(),
        month: format!("{:04}-{:02}", month.year(), u8::from(month.month())),
        monthly_budget: budget,
        tokens_in: rows.iter().map(|r| r.tokens_in).sum(),
        tokens_out: rows.iter().map(|r| r.tokens_out).sum(),
        connector_operations: rows.iter().map(|r| r.connector_operations).sum(),
        items: rows
            .into_iter()
            .map(|r| UsageItem {
                workspace_id: none(r.workspace_id),
                module_id: none(r.module_id),
                provider_kind: none(r.provider_kind),
                model: none(r.model),
                connector: none(r.connector),
                tokens_in: r.tokens_in,
                tokens_out: r.tokens_out,
                connector_operations: r.connector_operations,
                events: r.events,
            })
            .collect(),
    })
}
