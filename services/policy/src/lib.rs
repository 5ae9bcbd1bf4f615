//! The policy service: structured AI policy records at four scopes — the
//! platform, a tenant, a module, a tenant's module — versioned, published and
//! retired by the people allowed to (`records`); the effective policy of a
//! tenant (and module) with the provenance of every field, decisions on a step
//! the runtime is about to take, and the compiled bundle a runtime decides with
//! in-process (`decisions`). The merge and the decision are `plinth-policy`'s,
//! the same code a runtime runs.

pub mod approvals;
pub mod consume;
pub mod decisions;
pub mod events;
pub mod http;
pub mod lifecycle;
pub mod records;
pub mod runs;
/// The diesel definitions of the service's tables, as `diesel print-schema`
/// prints them for the migrated database.
mod schema;
pub mod settings;
pub mod store;

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_core::service::Service;
use plinth_db::MigrationSet;
use plinth_service::{ServiceSettings, Skeleton, StartError};
use utoipa::OpenApi as _;

use crate::consume::{Projector, Workspaces};
use crate::events::Events;
use crate::records::AppState;
pub use crate::settings::Settings;

/// Every migration the service's database needs: the shared ones, then its own
/// (`migrations/policy`).
pub fn all_migrations() -> MigrationSet<3> {
    const OWN: EmbeddedMigrations = embed_migrations!("../../migrations/policy");
    plinth_service::migrations(OWN)
}

/// The audience of the internal tokens this service accepts.
pub const AUDIENCE: &str = "policy";

/// The policy service, built on the shared skeleton.
#[derive(Debug)]
pub struct Application;

impl Application {
    /// The service bound and ready to serve, with the consumer of the
    /// registry's events; the platform's baseline record published on first
    /// start.
    pub async fn build(settings: Settings) -> Result<Service, StartError> {
        let mut skeleton = Skeleton::start(settings.base(), all_migrations()).await?;
        let events = Events::new(&skeleton.bus, settings.shared.region);
        skeleton
            .create_topics(&events.topics(settings.shared.bus.partitions))
            .await?;
        let consumed = events.consumed_topics();
        let tenant_topic = events.tenant_topic();
        let state = Arc::new(AppState {
            pool: skeleton.pool.clone(),
            events,
            region: settings.shared.region,
        });
        records::publish_baseline(&state)
            .await
            .map_err(|e| StartError::Invalid(format!("the platform's baseline policy: {e}")))?;
        skeleton.consume("projector", consumed, Projector::new(state.clone()));
        skeleton.consume(
            "workspaces",
            vec![tenant_topic],
            Workspaces::new(state.clone()),
        );
        skeleton.bind(
            web::Data::from(state),
            http::ApiDoc::openapi(),
            http::routes,
        )
    }
}
