//! The event path of Plinth.
//!
//! A service writes its business change and the resulting [`Event`]s in one database
//! transaction ([`Outbox::enqueue`]). The [`Relay`] publishes committed outbox rows
//! to Kafka with an idempotent producer, keyed by tenant, and marks them sent. A
//! [`Consumer`] applies each received event in a database transaction that also
//! records its id in the `inbox` table, and stores the Kafka offset only after that
//! transaction commits: delivery is at least once, the effect exactly once. Messages
//! that cannot be applied go to `<topic>.dlq` with the error in a header.
//!
//! Payloads are Avro in single-object encoding ([`Schemas`]), so partners decode
//! them with the schemas in `schemas/avro/` and no registry; headers follow the
//! CloudEvents Kafka binding in binary mode ([`headers`]).

#![warn(missing_docs)]

mod audit;
mod avro;
pub mod canonical;
pub mod catalog;
mod config;
mod consumer;
mod counter;
pub mod dlq;
mod follow;
pub mod headers;
pub mod lifecycle;
pub mod module;
mod outbox;
pub mod policy;
mod relay;
mod schema;
pub mod tenant;
mod topics;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

pub use audit::{
    AUDIT_EVENT, AuditEvent, Audited, Auditor, Outcome, capped, limits, micros, record_refusal,
};
pub use avro::{AvroError, Schemas, check_compatible, read_avsc_files};
pub use config::BusConfig;
pub use consumer::{
    Consumer, ConsumerConfig, ConsumerStats, Handler, HandlerError, PartitionLag, Received,
};
pub use follow::{Followed, follow};
pub use outbox::{Event, Outbox};
pub use relay::{Relay, RelayConfig, RelayStats};
pub use topics::{Area, TopicError, TopicSpec, dlq_topic, ensure_topics};

/// The `outbox` and `inbox` tables; apply them together with the service's own
/// migrations (`plinth_db::MigrationSet([plinth_bus::MIGRATIONS, SERVICE])`).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Message key for events that belong to no tenant.
pub const PLATFORM_KEY: &str = "platform";
