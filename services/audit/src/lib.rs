//! The audit service: every service's audit events, appended to their tenant's log
//! (or the platform's), each log a hash chain and an RFC 9162 Merkle tree with
//! signed checkpoints; read, proved, verified and exported through its API.
//!
//! [`Application::build`] stands the service on the shared skeleton
//! (`plinth_service`); what is its own is the recorder of audit events, the
//! checkpoint timer, and its routes.

pub mod app;
pub mod consume;
pub mod events;
pub mod http;
/// The diesel definitions of the service's tables, as `diesel print-schema` prints
/// them for the migrated database (`diesel.toml`; the catalog test keeps them so).
mod schema;
pub mod settings;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_auditlog::LogSigner;
use plinth_bus::Outbox;
use plinth_core::service::Service;
use plinth_db::{MigrationSet, TenantScope, scoped_transaction};
use plinth_service::{ServiceSettings, Skeleton, StartError};
use secrecy::ExposeSecret;
use utoipa::OpenApi as _;

use crate::app::AppState;
use crate::app::log::checkpoint_on_conn;
use crate::consume::Recorder;
use crate::events::Events;
pub use crate::settings::Settings;
use crate::store::logs::logs_due_on_conn;

/// Every migration the service's database needs: the shared ones, then its own
/// (`migrations/audit`).
pub fn all_migrations() -> MigrationSet<3> {
    const OWN: EmbeddedMigrations = embed_migrations!("../../migrations/audit");
    plinth_service::migrations(OWN)
}

/// The audience of the internal tokens this service accepts.
pub const AUDIENCE: &str = "audit";

/// The audit service, built on the shared skeleton.
#[derive(Debug)]
pub struct Application;

impl Application {
    /// The service bound and ready to serve: besides the skeleton's relay, the
    /// recorder of every service's audit events and, in the process that runs
    /// it, the timer that checkpoints logs.
    pub async fn build(settings: Settings) -> Result<Service, StartError> {
        let signer = LogSigner::from_private_key(
            settings.log.signing_key.expose_secret(),
            &settings.log.origin_prefix,
        )
        .map_err(|e| {
            StartError::Invalid(format!(
                "log.signing_key is not a signed-note private key: {e}"
            ))
        })?;
        if settings.log.checkpoint_every_entries == 0 || settings.log.checkpoint_every_seconds == 0
        {
            return Err(StartError::Invalid(
                "log.checkpoint_every_entries and log.checkpoint_every_seconds must be positive"
                    .into(),
            ));
        }
        let mut skeleton = Skeleton::start(settings.base(), all_migrations()).await?;
        let events = Events::new(&skeleton.bus, settings.shared.region);
        skeleton
            .create_topics(&events.topics(settings.shared.bus.partitions))
            .await?;
        let consumed = events.consumed_topics();
        let state = Arc::new(AppState {
            pool: skeleton.pool.clone(),
            events,
            region: settings.shared.region,
            signer,
            checkpoint_every_entries: settings.log.checkpoint_every_entries,
        });
        skeleton.consume("recorder", consumed, Recorder::new(state.clone()));
        if skeleton.runs_consumers() {
            let every = Duration::from_secs(settings.log.checkpoint_every_seconds);
            // Each log in a transaction of its own, so the timers of several
            // replicas never sign one log twice at once (its head row is locked
            // while it is signed).
            let timer_state = state.clone();
            skeleton.every(
                "checkpoint timer",
                (every / 4).max(Duration::from_millis(250)),
                move || {
                    let app = timer_state.clone();
                    async move { checkpoint_due_logs(&app, every).await }
                },
            );
        }
        skeleton.bind(
            web::Data::from(state),
            http::openapi::ApiDoc::openapi(),
            http::routes,
        )
    }
}

/// Checkpoints every log with entries past its last checkpoint once `every` has
/// passed since that checkpoint.
async fn checkpoint_due_logs(app: &AppState, every: Duration) -> anyhow::Result<()> {
    let before = app::now() - every;
    let mut conn = app.conn().await?;
    let due = scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
        logs_due_on_conn(conn, before).await
    })
    .await?;
    for log in due {
        scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
            let events: Vec<_> = checkpoint_on_conn(app, conn, &log)
                .await?
                .into_iter()
                .collect();
            Outbox::enqueue(conn, &events).await?;
            Ok::<_, plinth_core::ApiError>(())
        })
        .await?;
    }
    Ok(())
}
