//! The module catalog: releases of the AI operations runtime's modules, imported
//! with a trust review before any tenant may enable them. Platform management
//! owns trust — which sources, which signers, which releases — and tenant
//! management owns enablement.
//!
//! [`review`] runs the trust review's checks on a release; [`dsse`] reads and
//! verifies the DSSE envelopes releases are signed in; [`Application::build`]
//! stands the service on the shared skeleton (`plinth_service`).

pub mod app;
pub mod consume;
pub mod deployments;
pub mod dsse;
pub mod enablement;
pub mod events;
pub mod http;
pub mod lifecycle;
pub mod readiness;
pub mod review;
/// The diesel definitions of the service's tables, as `diesel print-schema`
/// prints them for the migrated database.
mod schema;
pub mod settings;
pub mod store;
pub mod tenant_http;
pub mod tenant_store;

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_core::service::Service;
use plinth_db::MigrationSet;
use plinth_service::{ServiceSettings, Skeleton, StartError};
use utoipa::OpenApi as _;

use crate::app::AppState;
use crate::consume::Projector;
use crate::events::Events;
use crate::review::Policy;
pub use crate::settings::Settings;

/// Every migration the service's database needs: the shared ones, then its own
/// (`migrations/module-catalog`).
pub fn all_migrations() -> MigrationSet<3> {
    const OWN: EmbeddedMigrations = embed_migrations!("../../migrations/module-catalog");
    plinth_service::migrations(OWN)
}

/// The audience of the internal tokens this service accepts.
pub const AUDIENCE: &str = "module-catalog";

/// The module catalog, built on the shared skeleton.
#[derive(Debug)]
pub struct Application;

impl Application {
    /// The service bound and ready to serve, with the consumer of the
    /// registry's events.
    pub async fn build(settings: Settings) -> Result<Service, StartError> {
        let policy = Policy::of(&settings).map_err(StartError::Invalid)?;
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
            policy,
        });
        skeleton.consume("projector", consumed, Projector::new(state.clone()));
        skeleton.bind(
            web::Data::from(state),
            http::ApiDoc::openapi(),
            http::routes,
        )
    }
}
