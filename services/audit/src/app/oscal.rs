//! The OSCAL export: a log as an OSCAL 1.1.2 assessment-results document, for
//! compliance tooling. One result covers the log: each entry is an observation
//! (collected when the action occurred, with the actor, action, resource, outcome,
//! index and leaf hash as properties), and one finding states the log's
//! integrity as verified when the export was made, with the signed checkpoint it
//! rests on. Streamed like the JSON Lines export.

use std::sync::Arc;

use actix_web::web::Bytes;
use futures_util::Stream;
use plinth_auditlog::Verdict;
use plinth_core::ApiError;
use plinth_db::scoped_transaction;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::AppState;
use super::read::{CheckpointView, LogRef};
use crate::store::checkpoints::checkpoint_latest_on_conn;
use crate::store::entries::{EntryRow, entries_range_on_conn};
use crate::store::logs::log_get_on_conn;

/// The namespace of Plinth's OSCAL properties.
const NS: &str = "urn:plinth:audit";
const OSCAL_VERSION: &str = "1.1.2";
const BATCH: i64 = 2_000;

#[expect(clippy::expect_used, reason = "times format")]
fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("times format")
}

fn prop(name: &str, value: &str) -> Option<Value> {
    let value = value.trim();
    (!value.is_empty()).then(|| json!({ "name": name, "ns": NS, "value": value }))
}

/// An entry as an OSCAL observation.
fn observation(row: &EntryRow) -> Result<Value, ApiError> {
    let entry: Value = serde_json::from_str(&row.body)
        .map_err(|e| ApiError::internal(format!("stored entry {}: {e}", row.idx)))?;
    let record = &entry["record"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let leaf: String = row.leaf_hash.iter().map(|b| format!("{b:02x}")).collect();
    let props: Vec<Value> = [
        prop("index", &row.idx.to_string()),
        prop("leaf-hash", &leaf),
        prop("actor", &row.actor),
        prop("action", &row.action),
        prop("resource-type", &row.resource_type),
        prop(
            "resource-id",
            row.resource_id.as_deref().unwrap_or_default(),
        ),
        prop("outcome", &row.outcome),
        prop("reason", &text(&record["reason"])),
        prop("request-id", &text(&record["request_id"])),
        prop("source-service", &text(&record["source_service"])),
    ]
    .into_iter()
    .flatten()
    .collect();
    let resource = match &row.resource_id {
        Some(id) => format!("{} {id}", row.resource_type),
        None => row.resource_type.clone(),
    };
    Ok(json!({
        "uuid": row.event_id,
        "title": row.action,
        "description": format!("{} — {} on {resource}: {}", row.actor, row.action, row.outcome),
        "props": props,
        "methods": ["EXAMINE"],
        "types": ["historic"],
        "collected": rfc3339(row.occurred_at),
        "relevant-evidence": [{
            "description": format!(
                "Entry {} of audit log {}, leaf hash {leaf}, recorded {}",
                row.idx, row.log_id, rfc3339(row.recorded_at)
            )
        }],
    }))
}

/// What the document's head says, gathered before streaming.
#[derive(Debug)]
pub struct OscalHead {
    size: i64,
    verdict: Verdict,
    checkpoint: Option<CheckpointView>,
    start: OffsetDateTime,
    end: OffsetDateTime,
}

/// Reads what the head needs: the size, the first and last entries' times, the
/// latest checkpoint; `verdict` is the log verified just before.
pub async fn oscal_head(
    app: &AppState,
    log: &LogRef,
    verdict: Verdict,
) -> Result<OscalHead, ApiError> {
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, log.scope(), async |conn| {
        let size = log_get_on_conn(conn, &log.id)
            .await?
            .ok_or_else(|| ApiError::not_found("audit log"))?
            .size;
        let first = entries_range_on_conn(conn, &log.id, 0, 1).await?;
        let last = entries_range_on_conn(conn, &log.id, size - 1, size).await?;
        let checkpoint = checkpoint_latest_on_conn(conn, &log.id)
            .await?
            .map(CheckpointView::from);
        let now = super::now();
        Ok(OscalHead {
            size,
            start: first.first().map_or(now, |r| r.occurred_at),
            end: last
                .first()
                .map_or(now, |r| r.occurred_at.max(r.recorded_at)),
            verdict,
            checkpoint,
        })
    })
    .await
}

fn opening(log: &LogRef, head: &OscalHead) -> String {
    let findings_uuid = Uuid::new_v4();
    let integrity = if head.verdict.ok {
        "satisfied"
    } else {
        "not-satisfied"
    };
    let checkpoint = head.checkpoint.as_ref();
    let mut result_props = vec![
        prop("log", &log.id),
        prop("tree-size", &head.size.to_string()),
        prop("root-hash", &head.verdict.root_hash),
    ];
    if let Some(cp) = checkpoint {
        result_props.push(prop("checkpoint-size", &cp.size.to_string()));
        result_props.push(prop("checkpoint-root-hash", &cp.root_hash));
    }
    let verdict_text = match (&head.verdict.reason, head.verdict.first_bad_index) {
        (None, _) => format!(
            "The log's {} entries and {} checkpoints verified: every entry in place and \
             chained to the one before, every checkpoint's signature and Merkle root.",
            head.verdict.entries, head.verdict.checkpoints
        ),
        (Some(reason), Some(index)) => format!("Verification failed at entry {index}: {reason}"),
        (Some(reason), None) => format!("Verification failed: {reason}"),
    };
    let result_head = json!({
        "uuid": Uuid::new_v4(),
        "title": format!("Audit trail of {}", log.id),
        "description": format!(
            "Every audited action recorded in Plinth's tamper-evident audit log {}: one \
             observation per entry, in log order.", log.id),
        "start": rfc3339(head.start),
        "end": rfc3339(head.end),
        "props": result_props.into_iter().flatten().collect::<Vec<_>>(),
        "reviewed-controls": { "control-selections": [{ "include-all": {} }] },
        "findings": [{
            "uuid": findings_uuid,
            "title": "Integrity of the audit log",
            "description": verdict_text,
            "target": {
                "type": "objective-id",
                "target-id": "plinth-audit-log-integrity",
                "status": { "state": integrity }
            },
            "remarks": checkpoint.map_or_else(
                || "No signed checkpoint yet.".to_owned(),
                |cp| format!("The signed checkpoint the log rests on:\n{}", cp.note)
            )
        }],
    });
    let document_head = json!({
        "uuid": Uuid::new_v4(),
        "metadata": {
            "title": format!("Plinth audit trail: {}", log.id),
            "last-modified": rfc3339(super::now()),
            "version": format!("{}@{}", log.id, head.size),
            "oscal-version": OSCAL_VERSION,
        },
        "import-ap": { "href": "#plinth-audit-log" },
    });
    // The head objects, opened for their observations: everything but the closing
    // braces, then `"results":[{…,"observations":[`.
    let document = document_head.to_string();
    let result = result_head.to_string();
    format!(
        "{{\"assessment-results\":{},\"results\":[{},\"observations\":[",
        &document[..document.len() - 1],
        &result[..result.len() - 1]
    )
}

enum Part {
    Head,
    Observations { next: i64 },
    Done,
}

/// The document, streamed: the head, the observations in batches, the close.
pub fn oscal_document(
    app: Arc<AppState>,
    log: LogRef,
    head: OscalHead,
) -> impl Stream<Item = Result<Bytes, ApiError>> {
    let head = Arc::new(head);
    futures_util::stream::try_unfold(Part::Head, move |part| {
        let (app, log, head) = (app.clone(), log.clone(), head.clone());
        async move {
            match part {
                Part::Done => Ok(None),
                Part::Head => Ok(Some((
                    Bytes::from(opening(&log, &head)),
                    Part::Observations { next: 0 },
                ))),
                Part::Observations { next } if next >= head.size => {
                    Ok(Some((Bytes::from_static(b"]}]}}\n"), Part::Done)))
                }
                Part::Observations { next } => {
                    let to = (next + BATCH).min(head.size);
                    let mut conn = app.conn().await?;
                    let rows = scoped_transaction(&mut conn, log.scope(), async |conn| {
                        entries_range_on_conn(conn, &log.id, next, to).await
                    })
                    .await?;
                    let mut out = String::new();
                    for row in &rows {
                        if row.idx > 0 {
                            out.push(',');
                        }
                        out.push_str(&observation(row)?.to_string());
                    }
                    Ok(Some((Bytes::from(out), Part::Observations { next: to })))
                }
            }
        }
    })
}
