//! The pack service: Domain Packs and Tenant Packs imported, validated, versioned
//! and activated per tenant; playbooks published and linked; the effective
//! configuration served to the runtime, and tickets classified by it.
//!
//! [`Application::build`] stands the service on the shared skeleton
//! (`plinth_service`): the database, the topics, the relay and the HTTP server;
//! what is its own is the consumer of the registry's events, the follower that
//! drops cached configurations, and its routes.

pub mod app;
pub mod cache;
pub mod classify;
pub mod consume;
pub mod domain;
pub mod effective;
pub mod events;
pub mod format;
pub mod http;
/// The diesel definitions of the service's tables, as `diesel print-schema` prints
/// them for the migrated database (`diesel.toml`; the catalog test keeps them so).
mod schema;
pub mod settings;
pub mod store;

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_core::service::Service;
use plinth_db::MigrationSet;
use plinth_service::{ServiceSettings, Skeleton};
use utoipa::OpenApi as _;

use crate::app::AppState;
use crate::cache::ConfigCache;
use crate::consume::{Projector, Workspaces};
use crate::events::Events;
pub use crate::settings::Settings;

/// Every migration the service's database needs: the shared ones, then its own
/// (`migrations/pack-service`).
pub fn all_migrations() -> MigrationSet<3> {
    const OWN: EmbeddedMigrations = embed_migrations!("../../migrations/pack-service");
    plinth_service::migrations(OWN)
}

/// The audience of the internal tokens this service accepts.
pub const AUDIENCE: &str = "pack-service";

/// The pack service, built on the shared skeleton.
#[derive(Debug)]
pub struct Application;

impl Application {
    /// The service bound and ready to serve: besides the skeleton's relay, the
    /// consumer of the registry's events, and the follower that drops the cached
    /// configurations any replica changes.
    pub async fn build(settings: Settings) -> Result<Service, plinth_service::StartError> {
        let mut skeleton = Skeleton::start(settings.base(), all_migrations()).await?;
        let events = Events::new(&skeleton.bus, settings.shared.region);
        skeleton
            .create_topics(&events.topics(settings.shared.bus.partitions))
            .await?;
        let followed = vec![
            events.pack_topic().to_owned(),
            skeleton.bus.topic(plinth_bus::Area::Tenant),
        ];
        let consumed = events.consumed_topics();
        let state = Arc::new(AppState {
            pool: skeleton.pool.clone(),
            events,
            region: settings.shared.region,
            defaults: settings.defaults.clone(),
            cache: ConfigCache::default(),
        });
        skeleton.consume("projector", consumed, Projector::new(state.clone()));
        skeleton.consume(
            "workspaces",
            vec![skeleton.bus.topic(plinth_bus::Area::Tenant)],
            Workspaces::new(state.clone()),
        );
        skeleton.collect(cache::CacheMetrics(state.clone()));
        {
            let state = state.clone();
            let bus = skeleton.bus.clone();
            skeleton.spawn("cache follower", |stop| async move {
                cache::follow(&state.cache, bus, followed, stop).await
            });
        }
        skeleton.bind(
            web::Data::from(state),
            http::openapi::ApiDoc::openapi(),
            http::routes,
        )
    }
}
