//! The tenant registry: tenants (region-pinned, with a data mode and a lifecycle),
//! and the events and audit records every change produces.
//!
//! [`Application::build`] migrates the database, creates the service's topics,
//! starts the outbox relay and binds the HTTP server; [`Application::run_until_stopped`]
//! serves until the process is asked to stop. `main.rs` and the tests call the same
//! two functions.

pub mod app;
pub mod domain;
pub mod events;
pub mod http;
pub mod saga;
mod schema;
pub mod settings;
pub mod store;

use std::sync::Arc;

use actix_web::web;
use anyhow::Context as _;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_authz::TokenVerifier;
use plinth_bus::{
    BusConfig, Consumer, ConsumerConfig, Relay, RelayConfig, TopicSpec, ensure_topics,
};
use plinth_core::service::{Service, Tasks};
use plinth_db::{MigrationSet, migrated_pool};
use secrecy::ExposeSecret;

use crate::app::AppState;
use crate::events::Events;
use crate::saga::Saga;
pub use crate::settings::Settings;

/// The service's own migrations (`migrations/tenant-registry`).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/tenant-registry");

/// Every migration the service's database needs, in order.
pub fn all_migrations() -> MigrationSet<3> {
    MigrationSet([plinth_db::MIGRATIONS, plinth_bus::MIGRATIONS, MIGRATIONS])
}

/// The audience of the internal tokens this service accepts.
pub const AUDIENCE: &str = "tenant-registry";

/// A built service, bound and ready to serve.
#[derive(Debug)]
pub struct Application(Service);

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = migrated_pool(&settings.database, all_migrations()).await?;
        let app_url = settings.database.app_url.expose_secret().to_owned();
        let bus = BusConfig::of(&settings.bus);
        let events = Events::new(&bus, settings.region);
        let state = Arc::new(AppState {
            pool: pool.clone(),
            events,
            onboarding: settings.onboarding.clone(),
            offboarding: settings.offboarding.clone(),
            default_entitlements: settings.default_entitlements.clone(),
        });
        let saga = Saga::new(state.clone(), settings.region)?;
        let saga_topics = saga.topics(&bus);
        let mut topics = state.events.topics(settings.bus.partitions);
        topics.extend(saga_topics.iter().flat_map(|t| {
            let spec = TopicSpec::new(t, settings.bus.partitions);
            [spec.dlq(), spec]
        }));
        ensure_topics(&bus, &topics)
            .await
            .context("creating topics")?;
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
            let group = format!("{}tenant-registry.onboarding", settings.bus.topic_prefix);
            let consumer = Consumer::new(
                pool.clone(),
                bus.clone(),
                ConsumerConfig::new(group, saga_topics),
                saga,
            );
            tasks.spawn(|stop| consumer.run(stop));
        }
        let state = web::Data::from(state);
        let service = Service::bind(settings.http.listen(), tasks, move |config| {
            config.app_data(state.clone()).app_data(verifier.clone());
            http::routes(config);
        })?;
        tracing::info!(port = service.port(), region = %settings.region, "tenant-registry listening");
        Ok(Application(service))
    }

    pub fn port(&self) -> u16 {
        self.0.port()
    }

    /// Serves until the server stops (on SIGINT or SIGTERM), then stops the relay
    /// and the saga.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.0.run_until_stopped().await
    }
}
