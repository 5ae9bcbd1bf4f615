//! Connection settings for the broker, shared by producers, consumers and admin.

use plinth_config::BrokerCredentials;
use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;
use secrecy::ExposeSecret;

/// Where the brokers are and how topics are named.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `host:port[,host:port…]`.
    pub brokers: String,
    /// Prepended to every topic name (`<prefix>plinth.tenant.v1`): isolates tests
    /// sharing one broker, or environments sharing a cluster. Empty in production.
    pub topic_prefix: String,
    /// The principal this process is at the brokers (its password is never printed).
    pub credentials: Option<BrokerCredentials>,
    /// Extra librdkafka properties (TLS for a production cluster, tuning).
    pub properties: Vec<(String, String)>,
}

impl BusConfig {
    /// A client of the brokers at `brokers` (`host:port`, comma-separated), topics unprefixed.
    pub fn new(brokers: impl Into<String>) -> Self {
        BusConfig {
            brokers: brokers.into(),
            topic_prefix: String::new(),
            credentials: None,
            properties: Vec::new(),
        }
    }

    /// A service's `bus` settings: its brokers, topic prefix, principal and
    /// properties.
    pub fn of(settings: &plinth_config::BusSettings) -> Self {
        BusConfig::new(&settings.brokers)
            .with_topic_prefix(&settings.topic_prefix)
            .with_credentials(settings.sasl.clone())
            .with_properties(&settings.properties)
    }

    /// Connects as `credentials`' principal (or without authentication if `None`).
    pub fn with_credentials(mut self, credentials: Option<BrokerCredentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Prefixes every topic and consumer group (tests run side by side on one broker).
    pub fn with_topic_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.topic_prefix = prefix.into();
        self
    }

    /// Sets a librdkafka property on every client made from this configuration.
    pub fn with_property(mut self, key: &str, value: &str) -> Self {
        self.properties.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Adds every property of `properties` (a service's `bus.properties` setting).
    pub fn with_properties<'a>(
        self,
        properties: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Self {
        properties
            .into_iter()
            .fold(self, |bus, (key, value)| bus.with_property(key, value))
    }

    /// The full name of the topic of `area`.
    pub fn topic(&self, area: crate::Area) -> String {
        format!("{}plinth.{}.v1", self.topic_prefix, area.as_str())
    }

    /// A client configuration with the brokers and every extra property: the base
    /// of the bus's producers and consumers, and of a service's own clients.
    pub fn client_config(&self) -> ClientConfig {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &self.brokers);
        if let Some(credentials) = &self.credentials {
            cfg.set("security.protocol", &credentials.protocol)
                .set("sasl.mechanism", &credentials.mechanism)
                .set("sasl.username", &credentials.username)
                .set("sasl.password", credentials.password.expose_secret());
        }
        for (k, v) in &self.properties {
            cfg.set(k, v);
        }
        cfg
    }

    /// An idempotent producer: `acks=all`, ordered retries, no duplicates written by
    /// producer retries, and keys partitioned like the Java client (murmur2) so
    /// partners' producers and ours agree on where a tenant's events go.
    pub fn producer(&self) -> Result<rdkafka::producer::FutureProducer, KafkaError> {
        self.producer_config().create()
    }

    fn producer_config(&self) -> ClientConfig {
        let mut cfg = self.client_config();
        cfg.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "60000");
        for (k, v) in &self.properties {
            cfg.set(k, v);
        }
        cfg
    }

    /// An idempotent producer with the gapless guarantee: a failure that would let
    /// later messages of a partition land without an earlier one stops the producer
    /// instead, so what a partition receives from one producer is always a prefix of
    /// what was sent to it. The relay's ordering rests on this; it replaces the
    /// producer after any failure.
    pub fn ordered_producer(&self) -> Result<rdkafka::producer::FutureProducer, KafkaError> {
        let mut cfg = self.producer_config();
        cfg.set("enable.gapless.guarantee", "true");
        cfg.create()
    }
}
