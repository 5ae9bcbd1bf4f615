//! The pack service: Domain Packs and Tenant Packs imported, validated, versioned
//! and activated per tenant; playbooks published and linked; the effective
//! configuration served to the runtime, and tickets classified by it.
//!
//! [`Application::build`] migrates the database, creates the service's topics,
//! starts the outbox relay, the consumer of the registry's events and the
//! follower that drops cached configurations, and binds the HTTP server;
//! [`Application::run_until_stopped`] serves until the process is asked to stop.

pub mod app;
pub mod cache;
pub mod classify;
pub mod consume;
pub mod domain;
pub mod effective;
pub mod events;
pub mod format;
pub mod http;
mod schema;
pub mod settings;
pub mod store;

use std::sync::Arc;

use actix_web::web;
use anyhow::Context as _;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_authz::TokenVerifier;
use plinth_bus::{BusConfig, Consumer, ConsumerConfig, Relay, RelayConfig, ensure_topics};
use plinth_core::service::{Service, Tasks};
use plinth_db::{MigrationSet, migrated_pool};
use secrecy::ExposeSecret;

use crate::app::AppState;
use crate::cache::ConfigCache;
use crate::consume::Projector;
use crate::events::Events;
pub use crate::settings::Settings;

/// The service's own migrations (`migrations/pack-service`).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/pack-service");

/// Every migration the service's database needs, in order.
pub fn all_migrations() -> MigrationSet<3> {
    MigrationSet([plinth_db::MIGRATIONS, plinth_bus::MIGRATIONS, MIGRATIONS])
}

/// The audience of the internal tokens this service accepts.
pub const AUDIENCE: &str = "pack-service";

/// A built service, bound and ready to serve.
#[derive(Debug)]
pub struct Application(Service);

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = migrated_pool(&settings.database, all_migrations()).await?;
        let app_url = settings.database.app_url.expose_secret().to_owned();
        let bus = BusConfig::of(&settings.bus);
        let events = Events::new(&bus, settings.region);
        ensure_topics(&bus, &events.topics(settings.bus.partitions))
            .await
            .context("creating topics")?;
        let followed = vec![
            events.pack_topic().to_owned(),
            bus.topic(plinth_bus::Area::Tenant),
        ];
        let consumed = events.consumed_topics();
        let state = Arc::new(AppState {
            pool: pool.clone(),
            events,
            region: settings.region,
            catalog: Arc::new(settings.catalog.tools.iter().cloned().collect()),
            defaults: settings.defaults.clone(),
            cache: ConfigCache::default(),
        });
        let verifier = web::Data::new(TokenVerifier::from_base64url(
            &settings.auth.internal_token_public_key,
            AUDIENCE,
            settings.region,
        )?);

        let mut tasks = Tasks::default();
        if settings.bus.relay {
            let relay = Relay::new(pool.clone(), &app_url, bus.clone(), RelayConfig::default());
            tasks.spawn(|stop| relay.run(stop));
        }
        if settings.bus.consumers {
            let group = format!("{}pack-service.projector", settings.bus.topic_prefix);
            let consumer = Consumer::new(
                pool.clone(),
                bus.clone(),
                ConsumerConfig::new(group, consumed),
                Projector::new(state.clone()),
            );
            tasks.spawn(|stop| consumer.run(stop));
        }
        {
            // Every process drops the configurations others change.
            let state = state.clone();
            let bus = bus.clone();
            tasks.spawn(
                |stop| async move { cache::follow(&state.cache, bus, followed, stop).await },
            );
        }
        let state = web::Data::from(state);
        let service = Service::bind(settings.http.listen(), tasks, move |config| {
            config.app_data(state.clone()).app_data(verifier.clone());
            http::routes(config);
        })?;
        tracing::info!(port = service.port(), region = %settings.region, "pack-service listening");
        Ok(Application(service))
    }

    pub fn port(&self) -> u16 {
        self.0.port()
    }

    /// Serves until the server stops (on SIGINT or SIGTERM), then stops the relay,
    /// the consumer and the follower.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.0.run_until_stopped().await
    }
}
