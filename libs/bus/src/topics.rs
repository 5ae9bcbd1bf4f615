//! Topic names and explicit topic creation.
//!
//! Topics are never auto-created: the service that owns a topic creates it (and its
//! dead-letter topic) at start-up through the admin API, with partitions, retention
//! and cleanup policy from configuration.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use crate::BusConfig;

/// The event areas; each has one topic, `plinth.<area>.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// Tenants, their workspaces, roles, entitlements and lifecycles.
    Tenant,
    /// Domain and Tenant Packs, activations, playbooks.
    Pack,
    /// Modules and their enablement.
    Module,
    /// AI provider connections and their health.
    Provider,
    /// AI policies and decisions.
    Policy,
    /// Audit events, and the audit service's checkpoints.
    Audit,
    /// Usage: tokens and connector operations.
    Metering,
    /// Browser sessions the gateways ended before their deadlines.
    Session,
}

impl Area {
    /// Every area.
    pub const ALL: [Area; 8] = [
        Area::Tenant,
        Area::Pack,
        Area::Module,
        Area::Provider,
        Area::Policy,
        Area::Audit,
        Area::Metering,
        Area::Session,
    ];

    /// Its name in topic names, e.g. `tenant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Tenant => "tenant",
            Area::Pack => "pack",
            Area::Module => "module",
            Area::Provider => "provider",
            Area::Policy => "policy",
            Area::Audit => "audit",
            Area::Metering => "metering",
            Area::Session => "session",
        }
    }
}

/// The dead-letter topic of `topic`.
pub fn dlq_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// How a topic is created.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    /// The topic's full name, prefix included.
    pub name: String,
    /// How many partitions.
    pub partitions: i32,
    /// How many replicas of each partition.
    pub replication: i32,
    /// `retention.ms`; `None` keeps the broker default.
    pub retention: Option<Duration>,
    /// `cleanup.policy`: `delete` or `compact`.
    pub cleanup_policy: &'static str,
    /// Other topic settings (e.g. `max.message.bytes`).
    pub config: Vec<(String, String)>,
}

impl TopicSpec {
    /// A topic of `partitions` partitions and one replica, its records deleted
    /// after the broker's default retention.
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        TopicSpec {
            name: name.into(),
            partitions,
            replication: 1,
            retention: None,
            cleanup_policy: "delete",
            config: Vec::new(),
        }
    }

    /// Adds a topic setting.
    pub fn with_config(mut self, key: &str, value: impl Into<String>) -> Self {
        self.config.push((key.to_owned(), value.into()));
        self
    }

    /// The same settings for the topic's dead-letter topic.
    pub fn dlq(&self) -> TopicSpec {
        TopicSpec {
            name: dlq_topic(&self.name),
            ..self.clone()
        }
    }
}

/// Topics that could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// The broker could not be asked.
    #[error("asking the broker for topics: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The broker refused a topic.
    #[error("creating topic {name}: {code}")]
    Refused {
        /// The topic's name.
        name: String,
        /// The broker's answer.
        code: RDKafkaErrorCode,
    },
}

/// Creates every topic in `specs` that does not exist yet; existing topics are left
/// as they are. A name listed twice is created once, with its first settings (a
/// broker refuses a request that names a topic twice).
pub async fn ensure_topics(config: &BusConfig, specs: &[TopicSpec]) -> Result<(), TopicError> {
    let mut seen = std::collections::HashSet::new();
    let specs: Vec<&TopicSpec> = specs
        .iter()
        .filter(|s| seen.insert(s.name.as_str()))
        .collect();
    let admin: AdminClient<DefaultClientContext> = config.client_config().create()?;
    let retention: Vec<Option<String>> = specs
        .iter()
        .map(|s| s.retention.map(|r| r.as_millis().to_string()))
        .collect();
    let topics: Vec<NewTopic<'_>> = specs
        .iter()
        .zip(&retention)
        .map(|(spec, retention)| {
            let mut topic = NewTopic::new(
                &spec.name,
                spec.partitions,
                TopicReplication::Fixed(spec.replication),
            )
            .set("cleanup.policy", spec.cleanup_policy);
            if let Some(ms) = retention {
                topic = topic.set("retention.ms", ms);
            }
            for (key, value) in &spec.config {
                topic = topic.set(key, value);
            }
            topic
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&topics, &options).await? {
        match result {
            Ok(name) => tracing::info!(topic = %name, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => return Err(TopicError::Refused { name, code }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_the_convention() {
        let plain = BusConfig::new("localhost:9092");
        assert_eq!(plain.topic(Area::Tenant), "plinth.tenant.v1");
        let prefixed = BusConfig::new("localhost:9092").with_topic_prefix("t1234.");
        assert_eq!(prefixed.topic(Area::Audit), "t1234.plinth.audit.v1");
        assert_eq!(
            dlq_topic(&prefixed.topic(Area::Audit)),
            "t1234.plinth.audit.v1.dlq"
        );
        assert_eq!(TopicSpec::new("x", 3).dlq().name, "x.dlq");
    }
}
