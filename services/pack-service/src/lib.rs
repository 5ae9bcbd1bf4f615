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

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_authz::TokenVerifier;
use plinth_bus::{BusConfig, Consumer, ConsumerConfig, Relay, RelayConfig, ensure_topics};
use plinth_core::request_id_middleware;
use plinth_db::{MigrationSet, connect_pool, migrate};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

type Task = (CancellationToken, JoinHandle<anyhow::Result<()>>);

/// A built service, bound and ready to serve.
pub struct Application {
    port: u16,
    server: Server,
    tasks: Vec<Task>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let applied = migrate(
            settings.database.owner_url.expose_secret(),
            &settings.database.app_role,
            all_migrations(),
        )
        .await
        .context("migrating the database")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
        let app_url = settings.database.app_url.expose_secret().to_owned();
        let pool = connect_pool(&app_url, settings.database.pool_size)?;
        let bus = BusConfig::new(&settings.bus.brokers)
            .with_topic_prefix(&settings.bus.topic_prefix)
            .with_properties(&settings.bus.properties);
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

        let mut tasks: Vec<Task> = Vec::new();
        if settings.bus.relay {
            let stop = CancellationToken::new();
            let relay = Relay::new(pool.clone(), &app_url, bus.clone(), RelayConfig::default());
            tasks.push((stop.clone(), tokio::spawn(relay.run(stop))));
        }
        if settings.bus.consumers {
            let stop = CancellationToken::new();
            let group = format!("{}pack-service.projector", settings.bus.topic_prefix);
            let consumer = Consumer::new(
                pool.clone(),
                bus.clone(),
                ConsumerConfig::new(group, consumed),
                Projector::new(state.clone()),
            );
            tasks.push((stop.clone(), tokio::spawn(consumer.run(stop))));
        }
        {
            // Every process drops the configurations others change.
            let stop = CancellationToken::new();
            let state = state.clone();
            let bus = bus.clone();
            tasks.push((
                stop.clone(),
                tokio::spawn(async move { cache::follow(&state.cache, bus, followed, stop).await }),
            ));
        }
        let state = web::Data::from(state);
        let listener = TcpListener::bind((settings.http.host.as_str(), settings.http.port))
            .with_context(|| format!("binding {}:{}", settings.http.host, settings.http.port))?;
        let port = listener.local_addr()?.port();
        let limit = settings.http.body_limit_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(request_id_middleware))
                .app_data(state.clone())
                .app_data(verifier.clone())
                .app_data(http::json_config(limit))
                .configure(http::routes)
        })
        .listen(listener)?
        .run();
        tracing::info!(port, region = %settings.region, "pack-service listening");
        Ok(Application {
            port,
            server,
            tasks,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops (on SIGINT or SIGTERM), then stops the relay,
    /// the consumer and the follower.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = self.server.await;
        for (stop, task) in self.tasks {
            stop.cancel();
            task.await??;
        }
        Ok(served?)
    }
}
