//! The client against the local providers, which speak the real wire formats:
//! each provider's good key, unknown key, rate limit (with its retry-after) and
//! failure come back as the same normalized outcomes; a provider that does not
//! answer is unreachable; a completion names the model that answered.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use plinth_providers::fake::{Behavior, FakeProviders};
use plinth_providers::{Client, Endpoint, Outcome, ProviderKind};
use secrecy::SecretString;

fn endpoints(fakes: &FakeProviders) -> Vec<(Endpoint, &'static str)> {
    vec![
        (
            Endpoint {
                kind: ProviderKind::OpenAi,
                base_url: fakes.openai.clone(),
                deployment: None,
                api_version: None,
            },
            "gpt-4o-mini",
        ),
        (
            Endpoint {
                kind: ProviderKind::AzureOpenAi,
                base_url: fakes.azure.clone(),
                deployment: Some("gpt-4o".into()),
                api_version: Some("2024-10-21".into()),
            },
            "gpt-4o-2024-08-06",
        ),
        (
            Endpoint {
                kind: ProviderKind::Anthropic,
                base_url: fakes.anthropic.clone(),
                deployment: None,
                api_version: None,
            },
            "claude-haiku-4-5",
        ),
    ]
}

fn key(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

#[tokio::test]
async fn every_provider_answers_each_behaviour_as_the_same_outcome() {
    let fakes = FakeProviders::start(None).unwrap();
    fakes.set("good", Behavior::Ok);
    fakes.set("throttled", Behavior::RateLimited(7));
    fakes.set("failing", Behavior::ServerError);
    let client = Client::new(Duration::from_secs(5));
    for (endpoint, model) in endpoints(&fakes) {
        let kind = endpoint.kind;
        let ok = client.list_models(&endpoint, &key("good")).await;
        assert_eq!(
            (ok.outcome, ok.status),
            (Outcome::Ok, Some(200)),
            "{kind:?}"
        );
        assert!(ok.models.contains(&model.to_owned()), "{kind:?}: {ok:?}");
        let refused = client.list_models(&endpoint, &key("someone-elses")).await;
        assert_eq!(
            (refused.outcome, refused.status),
            (Outcome::AuthFailed, Some(401)),
            "{kind:?}"
        );
        assert!(refused.models.is_empty());
        let throttled = client.list_models(&endpoint, &key("throttled")).await;
        assert_eq!(throttled.outcome, Outcome::RateLimited, "{kind:?}");
        assert_eq!(
            throttled.retry_after,
            Some(Duration::from_secs(7)),
            "{kind:?}"
        );
        let failing = client.list_models(&endpoint, &key("failing")).await;
        assert_eq!(
            failing.outcome,
            Outcome::ProviderError,
            "{kind:?}: {failing:?}"
        );

        let answered = client.complete(&endpoint, &key("good"), model).await;
        assert_eq!(answered.outcome, Outcome::Ok, "{kind:?}: {answered:?}");
        assert_eq!(answered.models, vec![model.to_owned()], "{kind:?}");
        let refused = client
            .complete(&endpoint, &key("someone-elses"), model)
            .await;
        assert_eq!(refused.outcome, Outcome::AuthFailed, "{kind:?}");
        assert_eq!(
            fakes.calls(kind),
            6,
            "{kind:?}: each call reached its provider"
        );
    }
}

#[tokio::test]
async fn a_wrong_deployment_or_model_is_unexpected_not_ok() {
    let fakes = FakeProviders::start(Some("sk-demo-")).unwrap();
    let client = Client::new(Duration::from_secs(5));
    let demo = key("sk-demo-anything");
    for (mut endpoint, _) in endpoints(&fakes) {
        endpoint.deployment = Some("no-such-deployment".into());
        let probe = client.complete(&endpoint, &demo, "no-such-model").await;
        assert_eq!(
            (probe.outcome, probe.status),
            (Outcome::Unexpected, Some(404)),
            "{:?}",
            endpoint.kind
        );
    }
    // Azure without an api-version is a resource that does not exist.
    let (mut azure, _) = endpoints(&fakes).remove(1);
    azure.api_version = None;
    let probe = client.list_models(&azure, &demo).await;
    assert_eq!(probe.outcome, Outcome::Unexpected);
    // The accepted prefix makes demo keys good, and nothing else.
    let (openai, _) = endpoints(&fakes).remove(0);
    assert_eq!(
        client.list_models(&openai, &demo).await.outcome,
        Outcome::Ok
    );
    assert_eq!(
        client.list_models(&openai, &key("sk-other")).await.outcome,
        Outcome::AuthFailed
    );
}

#[tokio::test]
async fn a_provider_that_does_not_answer_is_unreachable() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(Duration::from_secs(2));
    for kind in ProviderKind::ALL {
        let endpoint = Endpoint {
            kind,
            base_url: format!("http://127.0.0.1:{port}/v1"),
            deployment: Some("gpt-4o".into()),
            api_version: Some("2024-10-21".into()),
        };
        let probe = client.list_models(&endpoint, &key("good")).await;
        assert_eq!(
            (probe.outcome, probe.status),
            (Outcome::Unreachable, None),
            "{kind:?}"
        );
    }
}

#[test]
fn kinds_have_the_names_manifests_use() {
    for kind in ProviderKind::ALL {
        assert_eq!(ProviderKind::parse(kind.as_str()), Some(kind));
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    assert_eq!(ProviderKind::parse("gemini"), None);
}
