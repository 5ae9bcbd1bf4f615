//! Provider setup: the AI provider connections the runtime calls providers
//! with — a tenant's own keys, or the platform's pooled ones shared with chosen
//! tenants. A key is never entered through the management API: an administrator
//! creates a setup request, the platform mints a single-use delegated link from
//! the region's configuration, and whoever holds the link enters the key on the
//! setup surface ([`surface`]), where it is validated with the provider and
//! sealed by envelope encryption ([`keys`]) before it becomes active.
//!
//! [`app`] holds the management rules, [`redeem`] a link's redemption;
//! [`Application::build`] stands the service on the shared skeleton.

pub mod app;
pub mod connectors;
pub mod consume;
pub mod events;
pub mod health;
pub mod http;
pub mod keys;
pub mod lifecycle;
pub mod redeem;
pub mod runtime;
/// The diesel definitions of the service's tables, as `diesel print-schema`
/// prints them for the migrated database.
mod schema;
pub mod settings;
pub mod shred;
pub mod store;
pub mod surface;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_core::service::Service;
use plinth_db::MigrationSet;
use plinth_service::{ServiceSettings, Skeleton, StartError};
use utoipa::OpenApi as _;

use crate::app::AppState;
use crate::consume::Projector;
use crate::events::Events;
use crate::keys::Keys;
use crate::redeem::Limits;
pub use crate::settings::Settings;

/// Every migration the service's database needs: the shared ones, then its own
/// (`migrations/provider-setup`).
pub fn all_migrations() -> MigrationSet<3> {
    const OWN: EmbeddedMigrations = embed_migrations!("../../migrations/provider-setup");
    plinth_service::migrations(OWN)
}

/// The audience of the internal tokens this service accepts.
pub const AUDIENCE: &str = "provider-setup";

/// Provider setup, built on the shared skeleton.
#[derive(Debug)]
pub struct Application;

impl Application {
    /// The service bound and ready to serve, with the consumer of the
    /// registry's events.
    pub async fn build(settings: Settings) -> Result<Service, StartError> {
        let keys = Keys::of(&settings.secrets).map_err(StartError::Invalid)?;
        let limits = Limits::of(&settings.validation).map_err(StartError::Invalid)?;
        app::check_setup(&settings.setup).map_err(StartError::Invalid)?;
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
            keys,
            providers: plinth_providers::Client::new(Duration::from_millis(
                settings.validation.timeout_ms,
            )),
            setup: settings.setup.clone(),
            limits,
            default_pools: settings.onboarding.default_pools.clone(),
            health: app::HealthConfig {
                degraded_after: Duration::from_millis(settings.health.degraded_after_ms),
                gate: settings.health.gate.clone(),
            },
        });
        skeleton.consume("projector", consumed, Projector::new(state.clone()));
        if skeleton.runs_consumers() {
            let shredder = state.clone();
            skeleton.every(
                "shredder",
                Duration::from_secs(settings.setup.shred_every_seconds.max(1)),
                move || {
                    let app = shredder.clone();
                    async move { shred::shred_due(&app).await.map(drop) }
                },
            );
            // Checked a few times within the period, so none waits much longer.
            let every = Duration::from_secs(settings.health.every_seconds.max(1));
            let checker = state.clone();
            skeleton.every(
                "health checks",
                (every / 4).max(Duration::from_millis(250)),
                move || {
                    let app = checker.clone();
                    async move { health::check_due(&app, every).await.map(drop) }
                },
            );
        }
        skeleton.bind(
            web::Data::from(state),
            http::ApiDoc::openapi(),
            http::routes,
        )
    }
}
