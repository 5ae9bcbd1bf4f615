//! The broker's principals and ACLs (deploy/kafka/access.toml, applied by the dev
//! broker's provisioning): each service writes only its own topics, only the
//! tenant registry writes `plinth.tenant.v1`, a region's principal stays in its
//! region, partners read and never write, and a wrong password gets nowhere.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use plinth_bus::{BusConfig, TopicSpec, ensure_topics};
use plinth_config::BrokerCredentials;
use plinth_testkit::{test_broker_principal, test_brokers};
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message as _, Offset, TopicPartitionList};
use uuid::Uuid;

const SEND: Duration = Duration::from_secs(30);

/// The test broker's principal `name`. Every broker of the test suite has them, but
/// the Java-free Tansu broker, which has no authentication to test.
fn principal(name: &str) -> Option<BrokerCredentials> {
    let found = test_broker_principal(name);
    if found.is_none() {
        assert_eq!(
            std::env::var("PLINTH_BROKER").as_deref(),
            Ok("tansu"),
            "no credentials of {name} in PLINTH_TEST_KAFKA_PRINCIPALS: the test broker \
             was not provisioned (deploy/dev/broker.sh)"
        );
        eprintln!("the Tansu broker has no principals or ACLs; nothing to check");
    }
    found
}

fn bus_as(credentials: BrokerCredentials) -> BusConfig {
    BusConfig::new(test_brokers()).with_credentials(Some(credentials))
}

/// Sends one record to `topic` as `credentials`; the broker's answer. A plain
/// producer: an idempotent one of a principal that may write nothing at all (a
/// partner) is refused its producer id before any topic is asked about.
async fn send_as(
    credentials: BrokerCredentials,
    topic: &str,
    key: &str,
) -> Result<(), RDKafkaErrorCode> {
    let producer: FutureProducer = bus_as(credentials).client_config().create().unwrap();
    let record = FutureRecord::to(topic).key(key).payload("access check");
    match producer.send(record, SEND).await {
        Ok(_) => Ok(()),
        Err((KafkaError::MessageProduction(code), _)) => Err(code),
        Err((other, _)) => panic!("sending to {topic}: {other}"),
    }
}

/// The broker's own topics, unprefixed as in production, created by its super user.
async fn ensure_region_topics() {
    let admin = bus_as(principal("admin").unwrap());
    let specs: Vec<TopicSpec> = [
        "plinth.tenant.v1",
        "plinth.pack.v1",
        "plinth.metering.v1",
        "eu.plinth.tenant.v1",
    ]
    .into_iter()
    .map(|t| TopicSpec::new(t, 1))
    .collect();
    ensure_topics(&admin, &specs).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_tenant_registry_writes_the_tenant_topic() {
    let Some(registry) = principal("tenant-registry") else {
        return;
    };
    ensure_region_topics().await;
    let key = format!("acl-{}", Uuid::new_v4().simple());

    assert_eq!(send_as(registry, "plinth.tenant.v1", &key).await, Ok(()));
    for other in ["pack-service", "audit", "gateway", "partner"] {
        assert_eq!(
            send_as(principal(other).unwrap(), "plinth.tenant.v1", &key).await,
            Err(RDKafkaErrorCode::TopicAuthorizationFailed),
            "{other} wrote the tenant topic"
        );
    }
    // A region's registry reaches its own region's tenant topic only.
    let refused = Err(RDKafkaErrorCode::TopicAuthorizationFailed);
    for (who, topic, answer) in [
        ("tenant-registry-eu", "plinth.tenant.v1", refused),
        ("tenant-registry", "eu.plinth.tenant.v1", refused),
        ("tenant-registry-eu", "eu.plinth.tenant.v1", Ok(())),
    ] {
        let got = send_as(principal(who).unwrap(), topic, &key).await;
        assert_eq!(got, answer, "{who} writing {topic}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_writes_its_own_topic_and_not_another_services() {
    let Some(packs) = principal("pack-service") else {
        return;
    };
    ensure_region_topics().await;
    let key = format!("acl-{}", Uuid::new_v4().simple());
    assert_eq!(send_as(packs, "plinth.pack.v1", &key).await, Ok(()));
    assert_eq!(
        send_as(
            principal("tenant-registry").unwrap(),
            "plinth.pack.v1",
            &key
        )
        .await,
        Err(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_runtime_writes_what_it_spends_and_nothing_else() {
    let Some(runner) = principal("runner") else {
        return;
    };
    ensure_region_topics().await;
    let key = format!("acl-{}", Uuid::new_v4().simple());
    assert_eq!(
        send_as(runner.clone(), "plinth.metering.v1", &key).await,
        Ok(())
    );
    for topic in ["plinth.tenant.v1", "plinth.pack.v1"] {
        assert_eq!(
            send_as(runner.clone(), topic, &key).await,
            Err(RDKafkaErrorCode::TopicAuthorizationFailed),
            "{topic}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_read_the_region_topics_and_write_nothing() {
    let Some(partner) = principal("partner") else {
        return;
    };
    ensure_region_topics().await;
    let key = format!("acl-{}", Uuid::new_v4().simple());
    let registry = principal("tenant-registry").unwrap();
    assert_eq!(send_as(registry, "plinth.tenant.v1", &key).await, Ok(()));

    // Read from the beginning, in a consumer group of the partner's own prefix.
    let consumer: BaseConsumer = bus_as(partner.clone())
        .client_config()
        .set(
            "group.id",
            format!("partner.access-{}", Uuid::new_v4().simple()),
        )
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut from_start = TopicPartitionList::new();
    from_start
        .add_partition_offset("plinth.tenant.v1", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&from_start).unwrap();
    let deadline = Instant::now() + SEND;
    let found = loop {
        assert!(Instant::now() < deadline, "the partner never read {key}");
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(message)) if message.key() == Some(key.as_bytes()) => break true,
            Some(Ok(_)) | None => continue,
            Some(Err(err)) => panic!("the partner could not read the tenant topic: {err}"),
        }
    };
    assert!(found);

    assert_eq!(
        send_as(partner.clone(), "plinth.tenant.v1", &key).await,
        Err(RDKafkaErrorCode::TopicAuthorizationFailed),
        "a partner wrote the tenant topic"
    );
    // The EU region's topics are not even described to the US partner.
    let metadata = consumer
        .fetch_metadata(Some("eu.plinth.tenant.v1"), SEND)
        .unwrap();
    let refused = metadata.topics()[0].error().map(RDKafkaErrorCode::from);
    assert_eq!(refused, Some(RDKafkaErrorCode::TopicAuthorizationFailed));
}

/// Notes the client-wide errors librdkafka reports.
#[derive(Default)]
struct Errors(Mutex<Vec<RDKafkaErrorCode>>);

impl ClientContext for Errors {
    fn error(&self, error: KafkaError, _reason: &str) {
        if let Some(code) = error.rdkafka_error_code() {
            self.0.lock().unwrap().push(code);
        }
    }
}

impl ConsumerContext for Errors {}

#[test]
fn a_wrong_password_is_refused() {
    let Some(mut registry) = principal("tenant-registry") else {
        return;
    };
    registry.password = "not-the-password".to_owned().into();
    let consumer: BaseConsumer<Errors> = bus_as(registry)
        .client_config()
        .set("group.id", "tenant-registry.forged")
        .create_with_context(Errors::default())
        .unwrap();
    consumer.subscribe(&["plinth.tenant.v1"]).unwrap();
    let deadline = Instant::now() + SEND;
    loop {
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(200)) {
            panic!("a consumer with a wrong password read a record");
        }
        if consumer
            .context()
            .0
            .lock()
            .unwrap()
            .contains(&RDKafkaErrorCode::Authentication)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the broker did not refuse the wrong password: {:?}",
            consumer.context().0.lock().unwrap()
        );
    }
}
