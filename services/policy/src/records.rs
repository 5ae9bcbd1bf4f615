//! Policy records and their versions. A record is created with its first
//! version as a draft; a draft is edited until it is published, with a reason;
//! a published version is immutable (the database refuses a change), and the
//! next draft of the record, once published, supersedes it. A retired record
//! is in force no more. Platform and module records are the unbound platform
//! team's; a tenant's records (tenant, tenant/module) its administrators' too.
//! Every action runs in one transaction with its events and audit event; a
//! refused one changes nothing and leaves an audit event of its own.

use std::sync::LazyLock;

use diesel_async::AsyncPgConnection;
use jsonschema::Validator;
use plinth_authz::{Act, Authorized, Caller, Resources};
use plinth_bus::{Event, Outbox};
use plinth_core::{ApiError, Code, Region, ReqCtx, TenantId};
use plinth_db::{Pool, TenantScope, scoped_transaction};
use plinth_policy::{Level, Rules};
use plinth_service::ServiceState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

pub use plinth_db::now;

use crate::events::{Audited, Events, Outcome, RECORD_PUBLISHED, RECORD_RETIRED};
use crate::store::{
    RecordRow, VersionRow, baseline_lock_on_conn, draft_set_on_conn,
    platform_record_exists_on_conn, record_get_on_conn, record_insert_on_conn, record_list_on_conn,
    record_update_on_conn, tenant_get_on_conn, version_insert_on_conn, version_status_on_conn,
    versions_of_on_conn,
};

/// What the app functions work with.
pub struct AppState {
    pub pool: Pool,
    pub events: Events,
    pub region: Region,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl ServiceState for AppState {
    fn pool(&self) -> &Pool {
        &self.pool
    }

    fn audit_event(
        &self,
        ctx: &ReqCtx,
        audited: &Audited,
        outcome: Outcome,
        reason: Option<&str>,
    ) -> Result<Event, ApiError> {
        self.events.audit(ctx, audited, outcome, reason)
    }

    /// Whether the registry's events told the policy service of `tenant`.
    async fn has_tenant_on_conn(
        &self,
        conn: &mut AsyncPgConnection,
        tenant: TenantId,
    ) -> Result<bool, ApiError> {
        Ok(tenant_get_on_conn(conn, &tenant.to_string())
            .await?
            .is_some())
    }
}

/// The record's JSON Schema.
pub const RECORD_SCHEMA: &str = include_str!("../../../schemas/json/policy-record.schema.json");

#[expect(clippy::expect_used, reason = "the schema is compiled in and compiles")]
static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(RECORD_SCHEMA).expect("the schema parses");
    jsonschema::options()
        .offline()
        .build(&schema)
        .expect("the schema compiles")
});

/// The platform's baseline record, published on the service's first start.
const BASELINE: &str = include_str!("../../../examples/policies/platform-baseline.json");

/// Who records are of: the platform's own (platform and module scopes), or a
/// tenant's (tenant and tenant/module scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Platform,
    Tenant(TenantId),
}

impl Owner {
    fn column(self) -> Option<String> {
        match self {
            Owner::Platform => None,
            Owner::Tenant(t) => Some(t.to_string()),
        }
    }

    fn scope(self) -> TenantScope {
        match self {
            Owner::Platform => TenantScope::All,
            Owner::Tenant(t) => TenantScope::Tenant(t),
        }
    }

    fn levels(self) -> [Level; 2] {
        match self {
            Owner::Platform => [Level::Platform, Level::Module],
            Owner::Tenant(_) => [Level::Tenant, Level::TenantModule],
        }
    }

    fn owns(self, row: &RecordRow) -> bool {
        row.tenant_id == self.column()
    }

    fn audited(self, action: &'static str) -> Audited {
        let audited = Audited::new(action, "policy_record");
        match self {
            Owner::Platform => audited,
            Owner::Tenant(t) => audited.in_tenant(t),
        }
    }
}

/// The caller, when the route's decision allows it to act for `owner`: the
/// platform's records are the unbound platform team's; a tenant's, its own
/// people's and the platform team's, once the service knows the tenant.
async fn permit_for<'a, R: Resources, A: Act>(
    app: &AppState,
    auth: &'a Authorized<R, A>,
    owner: Owner,
) -> Result<&'a Caller, ApiError> {
    let caller = auth.permit()?;
    match owner {
        Owner::Platform => plinth_service::require_platform_wide(caller)?,
        Owner::Tenant(tenant) => {
            caller.ctx.require_local(tenant)?;
            if !app.knows_tenant(tenant).await {
                return Err(ApiError::not_found("tenant"));
            }
        }
    }
    Ok(caller)
}

/// The caller, when it may read the owner's records: the platform's and the
/// modules' are every role's to read (they are part of every tenant's policy);
/// a tenant's, the people of that tenant and the platform team's.
async fn permit_to_read<'a, R: Resources, A: Act>(
    app: &AppState,
    auth: &'a Authorized<R, A>,
    owner: Owner,
) -> Result<&'a Caller, ApiError> {
    match owner {
        Owner::Platform => auth.permit(),
        Owner::Tenant(_) => permit_for(app, auth, owner).await,
    }
}

fn new_id() -> String {
    format!("pol_{}", uuid::Uuid::new_v4().simple())
}

/// A record as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Record {
    #[schema(example = "pol_5f1c…")]
    pub record_id: String,
    /// `platform`, `tenant`, `module` or `tenant_module`.
    #[schema(example = "tenant")]
    pub level: String,
    pub tenant_id: Option<String>,
    pub module_id: Option<String>,
    pub name: String,
    /// `ACTIVE` (its published version, if any, is in force) or `RETIRED`.
    #[schema(example = "ACTIVE")]
    pub status: String,
    /// The version in force.
    pub published_version: Option<i32>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub retired_at: Option<OffsetDateTime>,
    pub retired_by: Option<String>,
    pub retired_reason: Option<String>,
    /// On a single record: every version, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<Version>>,
}

impl Record {
    fn of(row: RecordRow, versions: Option<Vec<VersionRow>>) -> Self {
        Record {
            record_id: row.record_id,
            level: row.level,
            tenant_id: row.tenant_id,
            module_id: row.module_id,
            name: row.name,
            status: row.status,
            published_version: row.published_version,
            created_at: row.created_at,
            created_by: row.created_by,
            updated_at: row.updated_at,
            retired_at: row.retired_at,
            retired_by: row.retired_by,
            retired_reason: row.retired_reason,
            versions: versions.map(|v| v.into_iter().map(Version::from).collect()),
        }
    }
}

/// One version of a record: its document, and who published it, when and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Version {
    pub version: i32,
    /// `DRAFT`, `PUBLISHED` (in force), `SUPERSEDED` or `RETIRED`.
    #[schema(example = "PUBLISHED")]
    pub status: String,
    /// The record as `schemas/json/policy-record.schema.json` has it.
    #[schema(value_type = Object)]
    pub document: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
    pub published_by: Option<String>,
    /// Why it was published.
    pub reason: Option<String>,
}

impl From<VersionRow> for Version {
    fn from(row: VersionRow) -> Self {
        Version {
            version: row.version,
            status: row.status,
            document: row.document,
            created_at: row.created_at,
            created_by: row.created_by,
            published_at: row.published_at,
            published_by: row.published_by,
            reason: row.reason,
        }
    }
}

/// A document checked against the schema and its owner: its scope and name.
struct Checked {
    document: Value,
    level: Level,
    module: Option<String>,
    name: String,
}

impl Checked {
    /// A new record of `owner` with this document as its first version, a
    /// draft.
    fn new_record(self, owner: Owner, at: OffsetDateTime, by: &str) -> (RecordRow, VersionRow) {
        let record = RecordRow {
            record_id: new_id(),
            level: self.level.as_str().to_owned(),
            tenant_id: owner.column(),
            module_id: self.module,
            name: self.name,
            status: "ACTIVE".to_owned(),
            published_version: None,
            created_at: at,
            created_by: by.to_owned(),
            updated_at: at,
            retired_at: None,
            retired_by: None,
            retired_reason: None,
        };
        let version = VersionRow {
            record_id: record.record_id.clone(),
            version: 1,
            tenant_id: owner.column(),
            status: "DRAFT".to_owned(),
            document: self.document,
            created_at: at,
            created_by: by.to_owned(),
            published_at: None,
            published_by: None,
            reason: None,
        };
        (record, version)
    }
}

fn invalid(problems: Vec<plinth_documents::Issue>) -> ApiError {
    ApiError::invalid_request(
        "record",
        format!("the policy record has {} problem(s)", problems.len()),
    )
    .with_code(Code::PolicyInvalid)
    .with_serialized("errors", &problems)
}

/// Checks `document` for `owner`: the schema, then that its scope is the
/// owner's (a tenant's record names the path's tenant).
fn check(document: Value, owner: Owner) -> Result<Checked, ApiError> {
    let issues = plinth_documents::schema_issues(&VALIDATOR, &document);
    if !issues.is_empty() {
        return Err(invalid(issues));
    }
    let scope = &document["scope"];
    let level = scope["level"]
        .as_str()
        .and_then(Level::parse)
        .ok_or_else(|| ApiError::internal("a schema-valid record has a level"))?;
    if !owner.levels().contains(&level) {
        let expected = owner.levels().map(Level::as_str).join(" or ");
        return Err(invalid(vec![plinth_documents::Issue::new(
            "/scope/level",
            "wrong_scope",
            format!("a record here is at the {expected} level"),
        )]));
    }
    if owner.column().as_deref() != scope["tenant_id"].as_str() {
        return Err(invalid(vec![plinth_documents::Issue::new(
            "/scope/tenant_id",
            "wrong_tenant",
            "a tenant's record names the tenant it is created for",
        )]));
    }
    let _: Rules = serde_json::from_value(document["rules"].clone())
        .map_err(|e| ApiError::internal(format!("schema-valid rules read: {e}")))?;
    Ok(Checked {
        module: scope["module_id"].as_str().map(str::to_owned),
        name: document["name"].as_str().unwrap_or_default().to_owned(),
        level,
        document,
    })
}

/// Creates a record with its first version as a draft.
pub async fn record_create<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    document: Result<Value, ApiError>,
) -> Result<Record, ApiError> {
    let mut audited = owner.audited("policy.record_create");
    let result = async {
        let caller = permit_for(app, auth, owner).await?;
        let checked = check(document?, owner)?;
        let (record, version) = checked.new_record(owner, now(), &caller.ctx.principal.subject);
        let audited = audited
            .clone()
            .on_resource(&record.record_id)
            .with_detail("level", &record.level)
            .with_detail("name", &record.name);
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &owner.scope(), async |conn| {
            record_insert_on_conn(conn, &record).await?;
            version_insert_on_conn(conn, &version).await?;
            let event = app
                .events
                .audit(&caller.ctx, &audited, Outcome::Allowed, None)?;
            Outbox::enqueue(conn, &[event]).await?;
            Ok::<_, ApiError>(())
        })
        .await?;
        Ok(Record::of(record, Some(vec![version])))
    }
    .await;
    if let Ok(record) = &result {
        audited = audited.on_resource(&record.record_id);
    }
    app.audited(auth, &audited, result).await
}

/// The filters of a list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct RecordQuery {
    /// Only records at this level.
    pub level: Option<String>,
    /// Only records of this module.
    pub module_id: Option<String>,
}

/// The owner's records: the platform's and modules', or a tenant's own.
pub async fn record_list<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    query: RecordQuery,
) -> Result<Vec<Record>, ApiError> {
    permit_to_read(app, auth, owner).await?;
    if let Some(level) = &query.level
        && Level::parse(level).is_none_or(|l| !owner.levels().contains(&l))
    {
        let expected = owner.levels().map(Level::as_str).join(" or ");
        return Err(ApiError::invalid_request(
            "level",
            format!("`level` here is {expected}"),
        ));
    }
    let mut conn = app.conn().await?;
    let tenant = owner.column();
    let rows = scoped_transaction(&mut conn, &owner.scope(), async |conn| {
        record_list_on_conn(
            conn,
            query.level.as_deref(),
            tenant.as_deref(),
            query.module_id.as_deref(),
        )
        .await
    })
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| owner.owns(r))
        .map(|r| Record::of(r, None))
        .collect())
}

/// The owner's record `id` with its versions.
pub async fn record_get<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    id: &str,
) -> Result<Record, ApiError> {
    permit_to_read(app, auth, owner).await?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &owner.scope(), async |conn| {
        let row = owned_on_conn(conn, owner, id, false).await?;
        let versions = versions_of_on_conn(conn, id).await?;
        Ok(Record::of(row, Some(versions)))
    })
    .await
}

async fn owned_on_conn(
    conn: &mut AsyncPgConnection,
    owner: Owner,
    id: &str,
    lock: bool,
) -> Result<RecordRow, ApiError> {
    record_get_on_conn(conn, id, lock)
        .await?
        .filter(|r| owner.owns(r))
        .ok_or_else(|| ApiError::not_found("policy record"))
}

/// Replaces the record's draft with `document`, or opens the next version as
/// a draft; the scope never changes.
pub async fn draft_save<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    id: &str,
    document: Result<Value, ApiError>,
) -> Result<Record, ApiError> {
    let audited = owner.audited("policy.draft_save").on_resource(id);
    let result = async {
        let caller = permit_for(app, auth, owner).await?;
        let checked = check(document?, owner)?;
        let at = now();
        let by = caller.ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &owner.scope(), async |conn| {
            let mut record = owned_on_conn(conn, owner, id, true).await?;
            if record.status != "ACTIVE" {
                return Err(
                    ApiError::conflict("the record is retired").with_code(Code::InvalidTransition)
                );
            }
            if record.level != checked.level.as_str() || record.module_id != checked.module {
                return Err(invalid(vec![plinth_documents::Issue::new(
                    "/scope",
                    "scope_changed",
                    "a record's scope never changes: create another record",
                )]));
            }
            let versions = versions_of_on_conn(conn, id).await?;
            let version = match versions.iter().find(|v| v.status == "DRAFT") {
                Some(draft) => {
                    draft_set_on_conn(conn, id, draft.version, &checked.document).await?;
                    draft.version
                }
                None => {
                    let next = versions.first().map_or(1, |v| v.version + 1);
                    version_insert_on_conn(
                        conn,
                        &VersionRow {
                            record_id: id.to_owned(),
                            version: next,
                            tenant_id: owner.column(),
                            status: "DRAFT".to_owned(),
                            document: checked.document.clone(),
                            created_at: at,
                            created_by: by.clone(),
                            published_at: None,
                            published_by: None,
                            reason: None,
                        },
                    )
                    .await?;
                    next
                }
            };
            record.updated_at = at;
            record_update_on_conn(conn, &record).await?;
            let event = app.events.audit(
                &caller.ctx,
                &audited.clone().with_detail("version", version),
                Outcome::Allowed,
                None,
            )?;
            Outbox::enqueue(conn, &[event]).await?;
            let versions = versions_of_on_conn(conn, id).await?;
            Ok(Record::of(record, Some(versions)))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Why a version is published or a record retired.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// 1 to 500 characters, kept with the version or the record.
    #[schema(example = "Quarterly review: tighter budgets")]
    pub reason: String,
}

fn reason_of(body: Result<ReasonBody, ApiError>) -> Result<String, ApiError> {
    let reason = body?.reason;
    let text = reason.trim();
    if text.is_empty() || text.chars().count() > 500 || text.chars().any(char::is_control) {
        return Err(ApiError::invalid_request(
            "reason",
            "`reason` is 1 to 500 characters, none of them control characters",
        ));
    }
    Ok(text.to_owned())
}

/// Publishes the record's draft: it is in force from now, and immutable; the
/// version it supersedes is kept.
pub async fn publish<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    id: &str,
    body: Result<ReasonBody, ApiError>,
) -> Result<Record, ApiError> {
    let audited = owner.audited("policy.record_publish").on_resource(id);
    let result = async {
        let caller = permit_for(app, auth, owner).await?;
        let reason = reason_of(body)?;
        let at = now();
        let by = caller.ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &owner.scope(), async |conn| {
            let events = publish_on_conn(app, conn, owner, id, &reason, at, &by).await?;
            let version = events.1;
            let mut all = events.0;
            all.push(
                app.events.audit(
                    &caller.ctx,
                    &audited
                        .clone()
                        .with_detail("version", version)
                        .with_detail("reason", &reason),
                    Outcome::Allowed,
                    None,
                )?,
            );
            Outbox::enqueue(conn, &all).await?;
            let record = owned_on_conn(conn, owner, id, false).await?;
            let versions = versions_of_on_conn(conn, id).await?;
            Ok(Record::of(record, Some(versions)))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Publishes the draft of `id`: its events and the version published.
async fn publish_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    owner: Owner,
    id: &str,
    reason: &str,
    at: OffsetDateTime,
    by: &str,
) -> Result<(Vec<Event>, i32), ApiError> {
    let mut record = owned_on_conn(conn, owner, id, true).await?;
    if record.status != "ACTIVE" {
        return Err(ApiError::conflict("the record is retired").with_code(Code::InvalidTransition));
    }
    let versions = versions_of_on_conn(conn, id).await?;
    let draft = versions
        .iter()
        .find(|v| v.status == "DRAFT")
        .ok_or_else(|| {
            ApiError::conflict("the record has no draft to publish")
                .with_code(Code::InvalidTransition)
        })?;
    if let Some(current) = versions.iter().find(|v| v.status == "PUBLISHED") {
        version_status_on_conn(conn, id, current.version, "SUPERSEDED", None).await?;
    }
    version_status_on_conn(conn, id, draft.version, "PUBLISHED", Some((at, by, reason))).await?;
    record.published_version = Some(draft.version);
    record.name = draft.document["name"]
        .as_str()
        .unwrap_or(&record.name)
        .to_owned();
    record.updated_at = at;
    record_update_on_conn(conn, &record).await?;
    let event = app
        .events
        .record_changed(RECORD_PUBLISHED, &record, draft, reason, at, by)?;
    Ok((vec![event], draft.version))
}

/// Retires the record: none of its versions is in force any more.
pub async fn retire<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    id: &str,
    body: Result<ReasonBody, ApiError>,
) -> Result<Record, ApiError> {
    let audited = owner.audited("policy.record_retire").on_resource(id);
    let result = async {
        let caller = permit_for(app, auth, owner).await?;
        let reason = reason_of(body)?;
        let at = now();
        let by = caller.ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &owner.scope(), async |conn| {
            let mut record = owned_on_conn(conn, owner, id, true).await?;
            if record.status != "ACTIVE" {
                return Err(ApiError::conflict("the record is retired already")
                    .with_code(Code::InvalidTransition));
            }
            let versions = versions_of_on_conn(conn, id).await?;
            for v in versions
                .iter()
                .filter(|v| ["DRAFT", "PUBLISHED"].contains(&v.status.as_str()))
            {
                version_status_on_conn(conn, id, v.version, "RETIRED", None).await?;
            }
            let in_force = record.published_version;
            record.status = "RETIRED".to_owned();
            record.published_version = None;
            record.updated_at = at;
            record.retired_at = Some(at);
            record.retired_by = Some(by.clone());
            record.retired_reason = Some(reason.clone());
            record_update_on_conn(conn, &record).await?;
            // The version in force, or the newest when none was published.
            let version = versions
                .iter()
                .find(|v| Some(v.version) == in_force)
                .or(versions.first())
                .ok_or_else(|| ApiError::internal("a record without a version"))?;
            let events = [
                app.events
                    .record_changed(RECORD_RETIRED, &record, version, &reason, at, &by)?,
                app.events.audit(
                    &caller.ctx,
                    &audited.clone().with_detail("reason", &reason),
                    Outcome::Allowed,
                    None,
                )?,
            ];
            Outbox::enqueue(conn, &events).await?;
            let versions = versions_of_on_conn(conn, id).await?;
            Ok(Record::of(record, Some(versions)))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Publishes the platform's baseline record, once: when the service starts
/// and no platform record exists.
pub async fn publish_baseline(app: &AppState) -> Result<(), ApiError> {
    let document: Value = serde_json::from_str(BASELINE)
        .map_err(|e| ApiError::internal(format!("the baseline parses: {e}")))?;
    let mut checked = Some(check(document, Owner::Platform)?);
    let ctx = ReqCtx::for_service(crate::AUDIENCE, app.region, None);
    let by = ctx.principal.subject.clone();
    let at = now();
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
        // One baseline, however many replicas start at once.
        baseline_lock_on_conn(conn).await?;
        if platform_record_exists_on_conn(conn).await? {
            return Ok(());
        }
        let Some(checked) = checked.take() else {
            return Ok(());
        };
        let (record, version) = checked.new_record(Owner::Platform, at, &by);
        record_insert_on_conn(conn, &record).await?;
        version_insert_on_conn(conn, &version).await?;
        let reason = "the platform's baseline, published on the service's first start";
        let (mut events, version) = publish_on_conn(
            app,
            conn,
            Owner::Platform,
            &record.record_id,
            reason,
            at,
            &by,
        )
        .await?;
        let audited = Audited::new("policy.record_publish", "policy_record")
            .on_resource(&record.record_id)
            .with_detail("version", version)
            .with_detail("reason", reason);
        events.push(app.events.audit(&ctx, &audited, Outcome::Allowed, None)?);
        Outbox::enqueue(conn, &events).await?;
        Ok::<_, ApiError>(())
    })
    .await
}
