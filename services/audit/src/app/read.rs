//! Reading the logs: entries with filters, an entry with its inclusion proof,
//! checkpoints, consistency proofs, verification and exports. A tenant's log is
//! read by the platform team and auditors it reaches and by the tenant's own
//! administrators and auditors; the platform log by platform roles bound to every
//! tenant. Any other log answers `not_found`, like one that does not exist.

use diesel_async::AsyncPgConnection;
use plinth_auditlog::hash::{Hash, to_hex};
use plinth_auditlog::{
    ConsistencyProof, HashCache, InclusionProof, Lack, Record, SignedCheckpoint, Verdict, Verifier,
};
use plinth_authz::{Authorized, Requester as _, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, Page, PageParams, TenantId};
use plinth_db::{TenantScope, scoped_transaction};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::log::{PLATFORM_LOG, append_on_conn, checkpoint_on_conn};
use crate::store::checkpoints::{
    CheckpointRow, checkpoint_at_size_on_conn, checkpoint_latest_on_conn, checkpoints_up_to_on_conn,
};
use crate::store::entries::{EntryFilter, EntryRow, entries_page_on_conn, entries_range_on_conn};
use crate::store::logs::{LogRow, log_get_on_conn};
use crate::store::tree_hashes::tree_hashes_get_on_conn;

/// A log the caller may read, and the scope to read it in.
#[derive(Debug, Clone)]
pub struct LogRef {
    pub id: String,
    scope: TenantScope,
}

impl LogRef {
    /// The row-level security scope its queries run in.
    pub fn scope(&self) -> &TenantScope {
        &self.scope
    }
}

/// The log named in a path: `platform` or a tenant id. Whether the caller reaches
/// the log is decided first, so a log out of reach answers like one that does not
/// exist, whatever the caller's roles.
pub fn log_ref(auth: &Authorized<on::AuditLog, to::Read>, raw: &str) -> Result<LogRef, ApiError> {
    let not_found = || ApiError::not_found("audit log");
    if raw == PLATFORM_LOG {
        if !auth.reaches_every_tenant() {
            return Err(not_found());
        }
        auth.permit()?;
        return Ok(LogRef {
            id: PLATFORM_LOG.to_owned(),
            scope: TenantScope::All,
        });
    }
    let tenant = TenantId::parse(raw).map_err(|_| not_found())?;
    auth.permit_in(tenant).map_err(|e| {
        if e.code() == Code::NotFound {
            not_found()
        } else {
            e
        }
    })?;
    Ok(LogRef {
        id: tenant.to_string(),
        scope: TenantScope::Tenant(tenant),
    })
}

/// The log named in a path, read by `operation`. A refusal — the caller does not
/// reach the log, or may not read audit logs — is itself recorded, in the platform
/// log: the tenant named was not vouched for by anyone, and a refused caller must
/// not be able to open logs for made-up tenants.
pub async fn open_log(
    app: &AppState,
    auth: &Authorized<on::AuditLog, to::Read>,
    raw: &str,
    operation: &str,
) -> Result<LogRef, ApiError> {
    let caller = auth.ctx();
    let refused = match log_ref(auth, raw) {
        Ok(log) => return Ok(log),
        Err(refused) => refused,
    };
    let record = Record {
        tenant_id: PLATFORM_LOG.to_owned(),
        region: caller.region.to_string(),
        actor: caller.principal.subject.clone(),
        actor_display: caller.principal.display.clone(),
        action: format!("audit_log.{operation}"),
        resource_type: "audit_log".to_owned(),
        resource_id: Some(raw.chars().take(100).collect()),
        outcome: "DENIED".to_owned(),
        reason: Some(refused.code().to_string()),
        request_id: Some(caller.request_id.to_string()),
        occurred_at: super::now(),
        source_service: "audit".to_owned(),
        details: Default::default(),
    };
    if let Err(e) = record_refusal(app, record).await {
        tracing::error!(error = ?e.internal_message(), "recording a refused read of an audit log");
    }
    Err(refused)
}

async fn record_refusal(app: &AppState, record: Record) -> Result<(), ApiError> {
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
        let appended =
            append_on_conn(app, conn, PLATFORM_LOG, vec![(Uuid::new_v4(), record)]).await?;
        Outbox::enqueue(conn, &appended.events).await?;
        Ok::<_, ApiError>(())
    })
    .await
}

/// One entry as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryView {
    pub index: u64,
    /// SHA-256 leaf hash of `entry`'s RFC 8785 canonical JSON, hex.
    pub leaf_hash: String,
    /// The entry as recorded: log, index, prev, event_id, recorded_at and record.
    #[schema(value_type = Object)]
    pub entry: serde_json::Value,
}

impl TryFrom<EntryRow> for EntryView {
    type Error = ApiError;

    fn try_from(row: EntryRow) -> Result<Self, ApiError> {
        Ok(EntryView {
            index: row.idx as u64,
            leaf_hash: row.leaf_hash.iter().map(|b| format!("{b:02x}")).collect(),
            entry: serde_json::from_str(&row.body)
                .map_err(|e| ApiError::internal(format!("stored entry body: {e}")))?,
        })
    }
}

/// A checkpoint as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckpointView {
    pub log: String,
    pub size: u64,
    /// The Merkle root over the first `size` entries, hex.
    pub root_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub signed_at: OffsetDateTime,
    /// The C2SP signed note; verify it with the installation's log key.
    pub note: String,
}

impl From<CheckpointRow> for CheckpointView {
    fn from(row: CheckpointRow) -> Self {
        CheckpointView {
            log: row.log_id,
            size: row.size as u64,
            root_hash: row.root_hash.iter().map(|b| format!("{b:02x}")).collect(),
            signed_at: row.signed_at,
            note: row.note,
        }
    }
}

impl TryFrom<&CheckpointView> for SignedCheckpoint {
    type Error = ApiError;

    fn try_from(view: &CheckpointView) -> Result<Self, ApiError> {
        Ok(SignedCheckpoint {
            log: view.log.clone(),
            size: view.size,
            root_hash: plinth_auditlog::hash::from_hex(&view.root_hash)
                .map_err(ApiError::internal)?,
            time: view.signed_at,
            note: view.note.clone(),
        })
    }
}

/// An entry, and the proof that it is in the log as of a signed checkpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProvedEntry {
    #[serde(flatten)]
    pub entry: EntryView,
    #[schema(value_type = Object)]
    pub proof: InclusionProof,
    pub checkpoint: CheckpointView,
}

/// That one checkpoint's tree is a prefix of another's.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Consistency {
    #[schema(value_type = Object)]
    pub proof: ConsistencyProof,
}

async fn log_row_on_conn(conn: &mut AsyncPgConnection, log: &LogRef) -> Result<LogRow, ApiError> {
    log_get_on_conn(conn, &log.id)
        .await?
        .ok_or_else(|| ApiError::not_found("audit log"))
}

/// Computes over the log's tree, fetching the stored hashes it lacks.
async fn tree_compute<T>(
    conn: &mut AsyncPgConnection,
    log: &str,
    cache: &mut HashCache,
    f: impl Fn(&HashCache) -> Result<T, Lack>,
) -> Result<T, ApiError> {
    for _ in 0..4 {
        match f(cache) {
            Ok(value) => return Ok(value),
            Err(Lack::Hashes(missing)) => {
                cache.insert(tree_hashes_get_on_conn(conn, log, &missing).await?)
            }
            Err(Lack::Invalid(why)) => return Err(ApiError::invalid_request("size", why)),
        }
    }
    Err(ApiError::internal(format!(
        "log {log}: stored tree hashes are missing"
    )))
}

pub async fn entries_list(
    app: &AppState,
    log: &LogRef,
    filter: &EntryFilter,
    page: &PageParams,
) -> Result<Page<EntryView>, ApiError> {
    let limit = page.limit()?;
    let after: Option<u64> = page.after()?;
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &log.scope, async |conn| {
        // A log that does not exist is not found, not empty.
        log_row_on_conn(conn, log).await?;
        Ok::<_, ApiError>(
            entries_page_on_conn(
                conn,
                &log.id,
                filter,
                after.map(|a| a as i64),
                limit as i64 + 1,
            )
            .await?,
        )
    })
    .await?;
    let views = rows
        .into_iter()
        .map(EntryView::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(views, limit, |v| v.index))
}

/// Entry `index` with its inclusion proof at the latest checkpoint (a new one is
/// signed first when the entry is newer than the latest), or at the checkpoint of
/// `tree_size`.
pub async fn entry_proved(
    app: &AppState,
    log: &LogRef,
    index: u64,
    tree_size: Option<u64>,
) -> Result<ProvedEntry, ApiError> {
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &log.scope, async |conn| {
        let head = log_row_on_conn(conn, log).await?;
        if index >= head.size as u64 {
            return Err(ApiError::not_found("audit entry"));
        }
        let checkpoint = match tree_size {
            Some(size) => checkpoint_at_size_on_conn(conn, &log.id, size as i64)
                .await?
                .ok_or_else(|| ApiError::not_found("checkpoint"))?,
            None => {
                let latest = checkpoint_latest_on_conn(conn, &log.id).await?;
                match latest {
                    Some(cp) if cp.size as u64 > index => cp,
                    _ => {
                        let events: Vec<_> = checkpoint_on_conn(app, conn, &log.id)
                            .await?
                            .into_iter()
                            .collect();
                        plinth_bus::Outbox::enqueue(conn, &events).await?;
                        checkpoint_latest_on_conn(conn, &log.id)
                            .await?
                            .ok_or_else(|| ApiError::internal("no checkpoint after signing one"))?
                    }
                }
            }
        };
        let size = checkpoint.size as u64;
        if index >= size {
            return Err(ApiError::invalid_request(
                "tree_size",
                format!("the checkpoint at {size} entries does not cover entry {index}"),
            ));
        }
        let row = entries_range_on_conn(conn, &log.id, index as i64, index as i64 + 1)
            .await?
            .pop()
            .ok_or_else(|| ApiError::not_found("audit entry"))?;
        let mut cache = HashCache::new();
        let proof = tree_compute(conn, &log.id, &mut cache, |c| {
            c.inclusion_proof(index, size)
        })
        .await?;
        Ok(ProvedEntry {
            entry: row.try_into()?,
            proof,
            checkpoint: checkpoint.into(),
        })
    })
    .await
}

/// The latest checkpoint, or the one at `size`.
pub async fn checkpoint_get(
    app: &AppState,
    log: &LogRef,
    size: Option<u64>,
) -> Result<CheckpointView, ApiError> {
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &log.scope, async |conn| {
        let row = match size {
            Some(size) => checkpoint_at_size_on_conn(conn, &log.id, size as i64).await?,
            None => checkpoint_latest_on_conn(conn, &log.id).await?,
        };
        row.map(CheckpointView::from)
            .ok_or_else(|| ApiError::not_found("checkpoint"))
    })
    .await
}

/// The proof that the tree of `from` entries is a prefix of the tree of `to`.
pub async fn consistency(
    app: &AppState,
    log: &LogRef,
    from: u64,
    to: u64,
) -> Result<Consistency, ApiError> {
    if from > to {
        return Err(ApiError::invalid_request(
            "from",
            "from must not be above to",
        ));
    }
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &log.scope, async |conn| {
        let head = log_row_on_conn(conn, log).await?;
        if to > head.size as u64 {
            return Err(ApiError::invalid_request(
                "to",
                format!("the log holds {} entries", head.size),
            ));
        }
        let mut cache = HashCache::new();
        let proof =
            tree_compute(conn, &log.id, &mut cache, |c| c.consistency_proof(from, to)).await?;
        Ok(Consistency { proof })
    })
    .await
}

/// How many entries a verification reads from the database at a time.
const VERIFY_BATCH: i64 = 5_000;

/// Verifies the first `to` entries (the whole log by default) as stored: the
/// chain, the indexes, each stored leaf hash against its entry, the stored tree
/// against the entries, every checkpoint up to `to` (signature and root), and
/// agreement with the checkpoints `kept` outside. A range always starts at the
/// first entry: every entry's hash depends on all before it.
pub async fn verify(
    app: &AppState,
    log: &LogRef,
    to: Option<u64>,
    kept: &[String],
) -> Result<Verdict, ApiError> {
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &log.scope, async |conn| {
        let head = log_row_on_conn(conn, log).await?;
        let size = to.unwrap_or(head.size as u64).min(head.size as u64) as i64;
        let mut verifier = Verifier::new(app.signer.verifier_key());
        verifier.expect_log(&log.id);
        for note in kept {
            verifier.keep(note);
        }
        let mut stored_mismatch: Option<(u64, String)> = None;
        let mut from = 0;
        while from < size {
            let rows =
                entries_range_on_conn(conn, &log.id, from, (from + VERIFY_BATCH).min(size)).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let json: serde_json::Value = serde_json::from_str(&row.body).map_err(|e| {
                    ApiError::internal(format!("entry {} of {} is not JSON: {e}", row.idx, log.id))
                })?;
                let digested = plinth_auditlog::digest_entry(&json);
                let stored = digested
                    .leaf()
                    .is_some_and(|l| l.0.as_slice() == row.leaf_hash);
                if stored_mismatch.is_none() && !stored {
                    stored_mismatch = Some((
                        row.idx as u64,
                        format!("entry {} does not hash to its stored leaf hash", row.idx),
                    ));
                }
                verifier.accept(digested);
            }
            from += VERIFY_BATCH;
        }
        // A prefix is held to the checkpoints within it; the whole log to all of
        // them, so that a checkpoint past the end tells of a cut tail.
        let last = if to.is_some() { size } else { i64::MAX };
        for cp in checkpoints_up_to_on_conn(conn, &log.id, last).await? {
            verifier.checkpoint(SignedCheckpoint::try_from(&CheckpointView::from(cp))?);
        }
        let mut verdict = verifier.finish();
        // The stored tree must be the tree of the entries: a root recomputed from
        // the stored hashes must equal the one recomputed from the entries.
        if verdict.ok && verdict.entries > 0 {
            let mut cache = HashCache::new();
            let stored: Hash =
                tree_compute(conn, &log.id, &mut cache, |c| c.root(verdict.entries)).await?;
            if to_hex(&stored) != verdict.root_hash {
                verdict.ok = false;
                verdict.reason = Some("the stored Merkle tree does not match the entries".into());
            }
        }
        if let Some((index, reason)) = stored_mismatch
            && verdict.ok
        {
            verdict.ok = false;
            verdict.first_bad_index = Some(index);
            verdict.reason = Some(reason);
        }
        if verdict.entries < size as u64 && verdict.ok {
            verdict.ok = false;
            verdict.reason = Some(format!("{} entries found of {size}", verdict.entries));
        }
        Ok(verdict)
    })
    .await
}
