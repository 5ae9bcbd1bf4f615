//! The audit service: every service's audit events, appended to their tenant's log
//! (or the platform's), each log a hash chain and an RFC 9162 Merkle tree with
//! signed checkpoints; read, proved, verified and exported through its API.
//!
//! [`Application::build`] migrates the database, creates the topics, starts the
//! outbox relay, the consumer and the checkpoint timer, and binds the HTTP server;
//! [`Application::run_until_stopped`] serves until the process is asked to stop.

pub mod app;
pub mod consume;
pub mod events;
pub mod http;
mod schema;
pub mod settings;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use anyhow::Context as _;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_auditlog::LogSigner;
use plinth_authz::TokenVerifier;
use plinth_bus::{BusConfig, Consumer, ConsumerConfig, Outbox, Relay, RelayConfig, ensure_topics};
use plinth_core::service::{Service, Tasks};
use plinth_db::{MigrationSet, TenantScope, migrated_pool, scoped_transaction};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::app::log::checkpoint_on_conn;
use crate::consume::Recorder;
use crate::events::Events;
pub use crate::settings::Settings;
use crate::store::logs::logs_due_on_conn;

/// The service's own migrations (`migrations/audit`).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/audit");

/// Every migration the service's database needs, in order.
pub fn all_migrations() -> MigrationSet<3> {
    MigrationSet([plinth_db::MIGRATIONS, plinth_bus::MIGRATIONS, MIGRATIONS])
}

/// The audience of the internal tokens this service accepts.
pub const AUDIENCE: &str = "audit";

/// A built service, bound and ready to serve.
#[derive(Debug)]
pub struct Application(Service);

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = migrated_pool(&settings.database, all_migrations()).await?;
        let signer = LogSigner::from_private_key(
            settings.log.signing_key.expose_secret(),
            &settings.log.origin_prefix,
        )
        .context("log.signing_key is not a signed-note private key")?;
        anyhow::ensure!(
            settings.log.checkpoint_every_entries > 0 && settings.log.checkpoint_every_seconds > 0,
            "log.checkpoint_every_entries and log.checkpoint_every_seconds must be positive"
        );
        let app_url = settings.database.app_url.expose_secret().to_owned();
        let bus = BusConfig::of(&settings.bus);
        let events = Events::new(&bus, settings.region);
        ensure_topics(&bus, &events.topics(settings.bus.partitions))
            .await
            .context("creating topics")?;
        let consumed = events.consumed_topics();
        let state = Arc::new(AppState {
            pool: pool.clone(),
            events,
            region: settings.region,
            signer,
            checkpoint_every_entries: settings.log.checkpoint_every_entries,
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
            let group = format!("{}audit.recorder", settings.bus.topic_prefix);
            let consumer = Consumer::new(
                pool.clone(),
                bus.clone(),
                ConsumerConfig::new(group, consumed),
                Recorder::new(state.clone()),
            );
            tasks.spawn(|stop| consumer.run(stop));
            let every = Duration::from_secs(settings.log.checkpoint_every_seconds);
            let timer_state = state.clone();
            tasks.spawn(move |stop| checkpoint_timer(timer_state, every, stop));
        }

        let state = web::Data::from(state);
        let service = Service::bind(settings.http.listen(), tasks, move |config| {
            config.app_data(state.clone()).app_data(verifier.clone());
            http::routes(config);
        })?;
        tracing::info!(port = service.port(), region = %settings.region, "audit listening");
        Ok(Application(service))
    }

    pub fn port(&self) -> u16 {
        self.0.port()
    }

    /// Serves until the server stops (on SIGINT or SIGTERM), then stops the tasks.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.0.run_until_stopped().await
    }
}

/// Checkpoints every log with entries past its last checkpoint once `every` has
/// passed since that checkpoint; each log in a transaction of its own, so the
/// timers of several replicas never sign one log twice at once (its head row is
/// locked while it is signed).
async fn checkpoint_timer(
    app: Arc<AppState>,
    every: Duration,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval((every / 4).max(Duration::from_millis(250)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        if let Err(e) = checkpoint_due_logs(&app, every).await {
            tracing::warn!(error = %e, "checkpointing due logs failed; trying again");
        }
    }
}

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
