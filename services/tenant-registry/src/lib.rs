//! The tenant registry: tenants (region-pinned, with a data mode and a lifecycle),
//! and the events and audit records every change produces.
//!
//! [`Application::build`] stands the service on the shared skeleton
//! (`plinth_service`); what is its own is the saga that follows the owning
//! services' answers, and its routes. `main.rs` and the tests call the same
//! function.

pub mod app;
pub mod domain;
pub mod events;
pub mod http;
pub mod saga;
/// The diesel definitions of the service's tables, as `diesel print-schema` prints
/// them for the migrated database (`diesel.toml`; the catalog test keeps them so).
mod schema;
pub mod settings;
pub mod store;

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_bus::TopicSpec;
use plinth_core::service::Service;
use plinth_db::MigrationSet;
use plinth_service::ops::ScrapedGauge;
use plinth_service::{ServiceSettings, Skeleton};
use utoipa::OpenApi as _;

use crate::app::AppState;
use crate::events::Events;
use crate::saga::Saga;
pub use crate::settings::Settings;

/// Every migration the service's database needs: the shared ones, then its own
/// (`migrations/tenant-registry`).
pub fn all_migrations() -> MigrationSet<3> {
    const OWN: EmbeddedMigrations = embed_migrations!("../../migrations/tenant-registry");
    plinth_service::migrations(OWN)
}

/// The audience of the internal tokens this service accepts.
pub const AUDIENCE: &str = "tenant-registry";

/// The tenant registry, built on the shared skeleton.
#[derive(Debug)]
pub struct Application;

impl Application {
    /// The service bound and ready to serve: besides the skeleton's relay, the
    /// onboarding and offboarding saga, which reads the owning services' answers.
    pub async fn build(settings: Settings) -> Result<Service, plinth_service::StartError> {
        let mut skeleton = Skeleton::start(settings.base(), all_migrations()).await?;
        let events = Events::new(&skeleton.bus, settings.shared.region);
        let state = Arc::new(AppState {
            pool: skeleton.pool.clone(),
            events,
            onboarding: settings.onboarding.clone(),
            offboarding: settings.offboarding.clone(),
            default_entitlements: settings.default_entitlements.clone(),
        });
        let saga = Saga::new(state.clone(), settings.shared.region)
            .map_err(|e| plinth_service::StartError::Invalid(format!("{e:#}")))?;
        let saga_topics = saga.topics(&skeleton.bus);
        let mut topics = state.events.topics(settings.shared.bus.partitions);
        topics.extend(saga_topics.iter().flat_map(|t| {
            let spec = TopicSpec::new(t, settings.shared.bus.partitions);
            [spec.dlq(), spec]
        }));
        skeleton.create_topics(&topics).await?;
        skeleton.consume("onboarding", saga_topics, saga);
        // Items another service owns, still waiting for its answer: what a
        // stuck saga looks like from outside.
        skeleton.scrape(ScrapedGauge {
            name: "plinth_saga_items_pending",
            help: "Checklist items waiting for the service that owns them, by flow",
            label: "flow",
            sql: "SELECT flow AS label, count(*)::float8 AS value FROM checklist_items \
                  WHERE state = 'pending' AND owner <> 'operator' GROUP BY flow",
        });
        skeleton.scrape(ScrapedGauge {
            name: "plinth_saga_oldest_pending_age_seconds",
            help: "Age of the oldest checklist item waiting for its owning service, by flow",
            label: "flow",
            sql: "SELECT flow AS label, \
                  EXTRACT(EPOCH FROM now() - min(updated_at))::float8 AS value \
                  FROM checklist_items WHERE state = 'pending' AND owner <> 'operator' \
                  GROUP BY flow",
        });
        skeleton.bind(
            web::Data::from(state),
            http::openapi::ApiDoc::openapi(),
            http::routes,
        )
    }
}
