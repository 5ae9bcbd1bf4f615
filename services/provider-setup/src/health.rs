//! Connections' normalized health: `ready`, `degraded`, `rate_limited`,
//! `auth_failed` or `unreachable`, with the latency, an error class and when it
//! was observed.
//!
//! Provider setup checks each active connection itself — periodically
//! (`health.every_seconds`) and on demand — with the smallest completion its
//! provider offers, using the active key (never leaving the service). Another
//! component (the runtime that calls the provider, an administrator reviewing a
//! connection) submits a result it observed; it passes the platform's gate
//! first — who may submit, how old a result may be — which until the policy
//! service decides it is a configured rule (`health.gate`). Every result is
//! kept; a change of a connection's status is published, and selection passes
//! over a connection that is `auth_failed`, `unreachable` or `rate_limited`.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use plinth_authz::{Act, Authorized, Caller, Resources, on, to};
use plinth_bus::{Event, Outbox};
use plinth_core::{ApiError, Code, ReqCtx};
use plinth_db::{TenantScope, scoped_transaction};
use plinth_providers::{Endpoint, Outcome as ProbeOutcome, Probe, ProviderKind};
use plinth_service::ServiceState as _;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::app::{AppState, Owner, new_id, now, owned_on_conn, permit_for};
use crate::events::{Audited, Outcome};
use crate::settings::HealthGate;
use crate::store::{
    ConnectionRow, HealthRow, connection_get_on_conn, connections_due_for_health_on_conn,
    health_record_on_conn, key_version_get_on_conn, policy_records_of_on_conn,
};

/// The statuses a result may have.
pub const STATUSES: [&str; 5] = [
    "ready",
    "degraded",
    "rate_limited",
    "auth_failed",
    "unreachable",
];

/// Statuses selection passes a connection over for.
pub const UNUSABLE: [&str; 3] = ["auth_failed", "unreachable", "rate_limited"];

/// Who checks, when provider setup does.
const PROBER: &str = "service:provider-setup";

/// A health result as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthRecord {
    pub record_id: String,
    /// `ready`, `degraded`, `rate_limited`, `auth_failed` or `unreachable`.
    #[schema(example = "ready")]
    pub status: String,
    pub error_class: Option<String>,
    pub http_status: Option<i32>,
    pub latency_ms: i32,
    /// `probe` (provider setup checked) or `submitted` (through the gate).
    pub source: String,
    pub recorded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub observed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

impl From<HealthRow> for HealthRecord {
    fn from(row: HealthRow) -> Self {
        HealthRecord {
            record_id: row.record_id,
            status: row.status,
            error_class: row.error_class,
            http_status: row.http_status,
            latency_ms: row.latency_ms,
            source: row.source,
            recorded_by: row.recorded_by,
            observed_at: row.observed_at,
            recorded_at: row.recorded_at,
        }
    }
}

/// A probe's outcome as a status and an error class.
pub fn normalize(probe: &Probe, degraded_after: Duration) -> (&'static str, Option<&'static str>) {
    match probe.outcome {
        ProbeOutcome::Ok if probe.latency > degraded_after => ("degraded", Some("slow")),
        ProbeOutcome::Ok => ("ready", None),
        ProbeOutcome::RateLimited => ("rate_limited", Some("rate_limited")),
        ProbeOutcome::AuthFailed => ("auth_failed", Some("auth_failed")),
        ProbeOutcome::Unreachable => ("unreachable", Some("unreachable")),
        ProbeOutcome::ProviderError => ("degraded", Some("provider_error")),
        ProbeOutcome::Unexpected => ("degraded", Some("unexpected")),
    }
}

/// Records `row` and, when the connection's status changed, its event; the
/// events to publish.
async fn record_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    row: &HealthRow,
) -> Result<Vec<Event>, ApiError> {
    let before = health_record_on_conn(conn, row).await?;
    if before.as_deref() == Some(row.status.as_str()) {
        return Ok(Vec::new());
    }
    Ok(vec![app.events.health_changed(row, before.as_deref())?])
}

/// The active key of `row`, opened.
async fn active_key_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    row: &ConnectionRow,
) -> Result<SecretString, ApiError> {
    let version = row
        .active_version
        .ok_or_else(|| ApiError::conflict("the connection has no key yet"))?;
    let stored = key_version_get_on_conn(conn, &row.connection_id, version)
        .await?
        .ok_or_else(|| ApiError::internal("the active key version is missing"))?;
    app.keys.open_version(row, &stored).await
}

/// An administrator's request for a check: whose connection, who asked, and
/// the audit record it leaves with the result. The timer's checks have none.
struct Asked<'a> {
    owner: Owner,
    ctx: &'a ReqCtx,
    audited: &'a Audited,
}

/// Checks the connection `id` with its provider now: its result, recorded. No
/// database connection is held while the provider answers.
async fn probe(
    app: &AppState,
    scope: &TenantScope,
    id: &str,
    by: &str,
    asked: Option<&Asked<'_>>,
) -> Result<HealthRow, ApiError> {
    let (row, key) = {
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, scope, async |conn| {
            let row = match asked {
                Some(asked) => owned_on_conn(conn, asked.owner, id, false).await?,
                None => connection_get_on_conn(conn, id, false)
                    .await?
                    .ok_or_else(|| ApiError::not_found("connection"))?,
            };
            if row.status != "ACTIVE" {
                return Err(ApiError::conflict(format!(
                    "the connection is {}; only an active connection is checked",
                    row.status
                ))
                .with_code(Code::InvalidTransition));
            }
            let key = active_key_on_conn(app, conn, &row).await?;
            Ok((row, key))
        })
        .await?
    };
    let endpoint = Endpoint {
        kind: ProviderKind::parse(&row.kind)
            .ok_or_else(|| ApiError::internal(format!("stored kind {}", row.kind)))?,
        base_url: row.base_url.clone(),
        deployment: row.deployment.clone(),
        api_version: row.api_version.clone(),
    };
    let probe = app
        .providers
        .complete(&endpoint, &key, &row.default_model)
        .await;
    drop(key);
    let (status, error_class) = normalize(&probe, app.health.degraded_after);
    let at = now();
    let record = HealthRow {
        record_id: new_id("phr"),
        connection_id: row.connection_id.clone(),
        tenant_id: row.tenant_id.clone(),
        status: status.to_owned(),
        error_class: error_class.map(str::to_owned),
        http_status: probe.status.map(i32::from),
        latency_ms: i32::try_from(probe.latency.as_millis()).unwrap_or(i32::MAX),
        source: "probe".to_owned(),
        recorded_by: by.to_owned(),
        observed_at: at,
        recorded_at: at,
    };
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, scope, async |conn| {
        let mut events = record_on_conn(app, conn, &record).await?;
        if let Some(asked) = asked {
            events.push(app.events.audit(
                asked.ctx,
                &asked.audited.clone().with_detail("status", &record.status),
                Outcome::Allowed,
                None,
            )?);
        }
        Outbox::enqueue(conn, &events).await?;
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(record)
}

/// Checks the owner's connection `id` now, on an administrator's request.
pub async fn health_check<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    id: &str,
) -> Result<HealthRecord, ApiError> {
    let audited = owner
        .audited("provider.health_check", "provider_connection")
        .on_resource(id);
    let result = async {
        let caller = permit_for(app, auth, owner).await?;
        let asked = Asked {
            owner,
            ctx: &caller.ctx,
            audited: &audited,
        };
        let record = probe(
            app,
            &owner.scope(),
            id,
            &caller.ctx.principal.subject,
            Some(&asked),
        )
        .await?;
        Ok(HealthRecord::from(record))
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// A health result another component observed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthSubmission {
    /// `ready`, `degraded`, `rate_limited`, `auth_failed` or `unreachable`.
    #[schema(example = "rate_limited")]
    pub status: String,
    #[schema(example = 840)]
    pub latency_ms: i32,
    /// What went wrong, when something did (`provider_error`, `timeout`, …).
    pub error_class: Option<String>,
    pub http_status: Option<i32>,
    /// When it was observed (RFC 3339); now, when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub observed_at: Option<OffsetDateTime>,
}

/// The gate's decision on `submission` from `caller`: the rule that refuses
/// it, if one does.
fn gate(
    gate: &HealthGate,
    caller: &Caller,
    submission: &HealthSubmission,
    at: OffsetDateTime,
) -> Result<(), ApiError> {
    let refuse = |rule: &str, message: String| {
        Err(ApiError::forbidden(message)
            .with_code(Code::PolicyRefused)
            .with_extension("rule", rule))
    };
    if !caller.ctx.roles.iter().any(|r| gate.submitters.contains(r)) {
        return refuse(
            "health.gate.submitters",
            "the platform's gate takes health results from its submitters only".to_owned(),
        );
    }
    let observed = submission.observed_at.unwrap_or(at);
    let max_age = time::Duration::seconds(i64::try_from(gate.max_age_seconds).unwrap_or(i64::MAX));
    if observed < at - max_age {
        return refuse(
            "health.gate.max_age_seconds",
            format!(
                "the result is older than the {} seconds the gate accepts",
                gate.max_age_seconds
            ),
        );
    }
    if observed > at + time::Duration::minutes(1) {
        return refuse(
            "health.gate.observed_at",
            "the result says it was observed in the future".to_owned(),
        );
    }
    Ok(())
}

/// The policy in force's gate on `submission` from `caller`: the health
/// rules of the platform's records and the tenant's (as the policy service
/// published them), which only ever narrow the configured gate.
async fn policy_gate(
    app: &AppState,
    owner: Owner,
    caller: &Caller,
    submission: &HealthSubmission,
    at: OffsetDateTime,
) -> Result<(), ApiError> {
    let tenant = owner.column();
    let mut conn = app.conn().await?;
    let records = scoped_transaction(&mut conn, &owner.scope(), async |conn| {
        policy_records_of_on_conn(conn, tenant.as_deref()).await
    })
    .await?;
    // No record known here: the configured gate alone.
    let policy = plinth_policy::effective_of_kept(records.iter().map(|r| plinth_policy::Kept {
        record_id: &r.record_id,
        version: r.version,
        level: &r.level,
        rules: &r.rules,
    }))
    .unwrap_or_default();
    let refuse = |field: &str, message: String| {
        let decided: Vec<String> = policy
            .decided_by(field)
            .iter()
            .map(ToString::to_string)
            .collect();
        Err(ApiError::forbidden(message)
            .with_code(Code::PolicyRefused)
            .with_extension("rule", format!("policy:{field}"))
            .with_extension("decided_by", decided))
    };
    if let Some(submitters) = &policy.health_submitters
        && !caller
            .ctx
            .roles
            .iter()
            .any(|r| submitters.contains(r.as_str()))
    {
        return refuse(
            "health.submitters",
            "the AI policy in force takes health results from other submitters".to_owned(),
        );
    }
    if let Some(max_age) = policy.health_max_age_seconds {
        let observed = submission.observed_at.unwrap_or(at);
        if observed < at - time::Duration::seconds(i64::try_from(max_age).unwrap_or(i64::MAX)) {
            return refuse(
                "health.max_age_seconds",
                format!(
                    "the result is older than the {max_age} seconds the AI policy in force accepts"
                ),
            );
        }
    }
    Ok(())
}

/// Records a health result submitted for the tenant's connection `id`, once
/// the platform's gate accepts it.
pub async fn health_submit(
    auth: &Authorized<on::ProviderHealth, to::Create>,
    app: &AppState,
    owner: Owner,
    id: &str,
    submission: Result<HealthSubmission, ApiError>,
) -> Result<HealthRecord, ApiError> {
    let audited = owner
        .audited("provider.health_submit", "provider_connection")
        .on_resource(id);
    let result = async {
        let submission = submission?;
        if !STATUSES.contains(&submission.status.as_str()) {
            return Err(ApiError::invalid_request(
                "status",
                "`status` is ready, degraded, rate_limited, auth_failed or unreachable",
            ));
        }
        if submission.latency_ms < 0
            || submission
                .error_class
                .as_ref()
                .is_some_and(|c| c.is_empty() || c.len() > 64)
        {
            return Err(ApiError::invalid_request(
                "latency_ms",
                "`latency_ms` is not negative and `error_class` is 1 to 64 characters",
            ));
        }
        let caller = permit_for(app, auth, owner).await?;
        let at = now();
        gate(&app.health.gate, caller, &submission, at)?;
        policy_gate(app, owner, caller, &submission, at).await?;
        let by = caller.ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &owner.scope(), async |conn| {
            let row = owned_on_conn(conn, owner, id, false).await?;
            if row.status != "ACTIVE" {
                return Err(ApiError::conflict(format!(
                    "the connection is {}; health is recorded for active connections",
                    row.status
                ))
                .with_code(Code::InvalidTransition));
            }
            let record = HealthRow {
                record_id: new_id("phr"),
                connection_id: row.connection_id.clone(),
                tenant_id: row.tenant_id.clone(),
                status: submission.status.clone(),
                error_class: submission.error_class.clone(),
                http_status: submission.http_status,
                latency_ms: submission.latency_ms,
                source: "submitted".to_owned(),
                recorded_by: by.clone(),
                observed_at: submission.observed_at.unwrap_or(at),
                recorded_at: at,
            };
            let mut events = record_on_conn(app, conn, &record).await?;
            events.push(app.events.audit(
                &caller.ctx,
                &audited.clone().with_detail("status", &record.status),
                Outcome::Allowed,
                None,
            )?);
            Outbox::enqueue(conn, &events).await?;
            Ok(HealthRecord::from(record))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Connections checked per round of the timer.
const ROUND: i64 = 50;

/// Checks the connections due now: how many.
pub async fn check_due(app: &AppState, every: Duration) -> Result<usize, ApiError> {
    let before = now() - every;
    let mut conn = app.conn().await?;
    let due = scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
        Ok::<_, ApiError>(connections_due_for_health_on_conn(conn, before, ROUND).await?)
    })
    .await?;
    drop(conn);
    for row in &due {
        if let Err(e) = probe(app, &TenantScope::All, &row.connection_id, PROBER, None).await {
            tracing::warn!(connection = %row.connection_id, error = %e, "a health check failed");
        }
    }
    Ok(due.len())
}
