//! The audit service's part of the lifecycle sagas: onboarding opens the tenant's
//! log (its genesis entry, signed by a first checkpoint) and answers
//! `audit.store_provisioned`; offboarding seals the log with a final signed
//! checkpoint and answers `audit.deprovisioned`. The log itself stays, readable and
//! exportable.

use diesel_async::AsyncPgConnection;
use plinth_bus::Event;
use plinth_core::ApiError;

use super::AppState;
use super::log::{append_on_conn, checkpoint_on_conn, seal_on_conn};
use crate::events::{DEPROVISIONED, STORE_PROVISIONED};

/// Opens `tenant`'s log for the onboarding items `items` (this service's); the
/// events to publish. Asked again (a retry, a redelivery), it answers again.
pub async fn provision_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: &str,
    items: &[&str],
) -> Result<Vec<Event>, ApiError> {
    let mut events = append_on_conn(app, conn, tenant, Vec::new()).await?.events;
    events.extend(checkpoint_on_conn(app, conn, tenant).await?);
    let at = super::now();
    for item in items {
        events.push(app.events.item_done(STORE_PROVISIONED, tenant, item, at)?);
    }
    Ok(events)
}

/// Seals `tenant`'s log for the offboarding items `items`; the events to publish.
pub async fn deprovision_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: &str,
    items: &[&str],
) -> Result<Vec<Event>, ApiError> {
    let mut events = seal_on_conn(app, conn, tenant, "the tenant is offboarded").await?;
    let at = super::now();
    for item in items {
        events.push(app.events.item_done(DEPROVISIONED, tenant, item, at)?);
    }
    Ok(events)
}
