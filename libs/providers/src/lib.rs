//! The AI providers' APIs as provider setup calls them: OpenAI, Azure OpenAI and
//! Anthropic. [`Client::list_models`] is the non-destructive probe a key is
//! validated with on entry (it changes nothing at the provider and costs no
//! tokens); [`Client::complete`] is the smallest completion, for health. Each
//! answers a [`Probe`]: a normalized [`Outcome`], the latency, a retry-after
//! when the provider gave one, the models it lists. A probe never carries what
//! the provider said in words — an authentication error's message may echo part
//! of the key.
//!
//! [`fake::FakeProviders`] serves the same calls with the providers' wire
//! formats and error shapes, for tests and the dev stack.

#![warn(missing_docs)]

pub mod fake;

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The Anthropic API version the client speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// An AI provider's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI's API (`https://api.openai.com/v1`).
    #[serde(rename = "openai")]
    OpenAi,
    /// An Azure OpenAI resource (`https://<resource>.openai.azure.com`), with a
    /// deployment and an API version.
    #[serde(rename = "azure_openai")]
    AzureOpenAi,
    /// Anthropic's API (`https://api.anthropic.com/v1`).
    Anthropic,
}

impl ProviderKind {
    /// Every kind.
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::OpenAi,
        ProviderKind::AzureOpenAi,
        ProviderKind::Anthropic,
    ];

    /// Its name in the API and in manifests (`openai`, `azure_openai`, `anthropic`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::AzureOpenAi => "azure_openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<ProviderKind> {
        ProviderKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Where a connection's provider answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Which API.
    pub kind: ProviderKind,
    /// Its base URL: OpenAI's and Anthropic's up to `/v1`, an Azure resource's
    /// origin.
    pub base_url: String,
    /// Azure OpenAI: the deployment completions go to.
    pub deployment: Option<String>,
    /// Azure OpenAI: the `api-version` every call names.
    pub api_version: Option<String>,
}

/// How a call to a provider went, normalized across providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It answered as it should: the key works.
    Ok,
    /// The key was refused (401, 403).
    AuthFailed,
    /// Too many requests (429): the key may work, later.
    RateLimited,
    /// No answer: connection refused, name not resolved, timed out.
    Unreachable,
    /// The provider failed (5xx, Anthropic's 529 overloaded).
    ProviderError,
    /// An answer that is none of those (a 404 for a wrong deployment, a body
    /// that is not the API's).
    Unexpected,
}

impl Outcome {
    /// Its name (`ok`, `auth_failed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::AuthFailed => "auth_failed",
            Outcome::RateLimited => "rate_limited",
            Outcome::Unreachable => "unreachable",
            Outcome::ProviderError => "provider_error",
            Outcome::Unexpected => "unexpected",
        }
    }
}

/// What one call found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// How it went.
    pub outcome: Outcome,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// From sending the request to the end of the answer.
    pub latency: Duration,
    /// How long the provider asked to wait (`retry-after`), when it did.
    pub retry_after: Option<Duration>,
    /// The models it listed (a model listing), or the model that answered (a
    /// completion).
    pub models: Vec<String>,
}

/// A chat completion's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// The model that answered, as the provider names it.
    pub model: String,
    /// The answer's text.
    pub text: String,
    /// The tokens of the request, as the provider counted them.
    pub tokens_in: u64,
    /// The tokens of the answer.
    pub tokens_out: u64,
}

impl Chat {
    /// The answer in a provider's good response body; none if it is not one.
    fn read(kind: ProviderKind, body: &Value) -> Option<Chat> {
        let (text, tokens_in, tokens_out) = match kind {
            ProviderKind::OpenAi | ProviderKind::AzureOpenAi => (
                body["choices"][0]["message"]["content"].as_str()?,
                body["usage"]["prompt_tokens"].as_u64()?,
                body["usage"]["completion_tokens"].as_u64()?,
            ),
            ProviderKind::Anthropic => (
                body["content"][0]["text"].as_str()?,
                body["usage"]["input_tokens"].as_u64()?,
                body["usage"]["output_tokens"].as_u64()?,
            ),
        };
        Some(Chat {
            model: body["model"].as_str()?.to_owned(),
            text: text.to_owned(),
            tokens_in,
            tokens_out,
        })
    }
}

/// The client provider setup and runtimes call providers with.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
}

impl Client {
    /// A client whose every call ends within `timeout`.
    pub fn new(timeout: Duration) -> Client {
        #[expect(
            clippy::expect_used,
            reason = "the client's settings are fixed and valid"
        )]
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the provider client builds");
        Client { http }
    }

    /// Lists the models `key` may use: the probe a key is validated with.
    pub async fn list_models(&self, endpoint: &Endpoint, key: &SecretString) -> Probe {
        let base = endpoint.base_url.trim_end_matches('/');
        let request = match endpoint.kind {
            ProviderKind::OpenAi => self
                .http
                .get(format!("{base}/models"))
                .bearer_auth(key.expose_secret()),
            ProviderKind::AzureOpenAi => self
                .http
                .get(format!("{base}/openai/models"))
                .query(&[(
                    "api-version",
                    endpoint.api_version.as_deref().unwrap_or_default(),
                )])
                .header("api-key", key.expose_secret()),
            ProviderKind::Anthropic => self
                .http
                .get(format!("{base}/models"))
                .header("x-api-key", key.expose_secret())
                .header("anthropic-version", ANTHROPIC_VERSION),
        };
        self.send(request, |body| {
            body["data"].as_array().map(|models| {
                models
                    .iter()
                    .filter_map(|m| m["id"].as_str().map(str::to_owned))
                    .collect()
            })
        })
        .await
    }

    /// The smallest completion `model` can give (one token): the probe of health.
    pub async fn complete(&self, endpoint: &Endpoint, key: &SecretString, model: &str) -> Probe {
        let base = endpoint.base_url.trim_end_matches('/');
        let ping = json!([{ "role": "user", "content": "ping" }]);
        let request = match endpoint.kind {
            ProviderKind::OpenAi => self
                .http
                .post(format!("{base}/chat/completions"))
                .bearer_auth(key.expose_secret())
                .json(&json!({ "model": model, "messages": ping, "max_tokens": 1 })),
            ProviderKind::AzureOpenAi => self
                .http
                .post(format!(
                    "{base}/openai/deployments/{}/chat/completions",
                    endpoint.deployment.as_deref().unwrap_or_default()
                ))
                .query(&[(
                    "api-version",
                    endpoint.api_version.as_deref().unwrap_or_default(),
                )])
                .header("api-key", key.expose_secret())
                .json(&json!({ "messages": ping, "max_tokens": 1 })),
            ProviderKind::Anthropic => self
                .http
                .post(format!("{base}/messages"))
                .header("x-api-key", key.expose_secret())
                .header("anthropic-version", ANTHROPIC_VERSION)
                .json(&json!({ "model": model, "messages": ping, "max_tokens": 1 })),
        };
        self.send(request, |body| {
            body["model"].as_str().map(|m| vec![m.to_owned()])
        })
        .await
    }

    /// A chat completion of `prompt` by `model`, at most `max_tokens` long: the
    /// answer's text and the tokens the provider counted; or, when the provider
    /// did not answer so, how the call went.
    pub async fn chat(
        &self,
        endpoint: &Endpoint,
        key: &SecretString,
        model: &str,
        prompt: &str,
        max_tokens: u32,
    ) -> Result<Chat, Probe> {
        let base = endpoint.base_url.trim_end_matches('/');
        let messages = json!([{ "role": "user", "content": prompt }]);
        let request = match endpoint.kind {
            ProviderKind::OpenAi => self
                .http
                .post(format!("{base}/chat/completions"))
                .bearer_auth(key.expose_secret())
                .json(&json!({ "model": model, "messages": messages, "max_tokens": max_tokens })),
            ProviderKind::AzureOpenAi => self
                .http
                .post(format!(
                    "{base}/openai/deployments/{}/chat/completions",
                    endpoint.deployment.as_deref().unwrap_or_default()
                ))
                .query(&[(
                    "api-version",
                    endpoint.api_version.as_deref().unwrap_or_default(),
                )])
                .header("api-key", key.expose_secret())
                .json(&json!({ "messages": messages, "max_tokens": max_tokens })),
            ProviderKind::Anthropic => self
                .http
                .post(format!("{base}/messages"))
                .header("x-api-key", key.expose_secret())
                .header("anthropic-version", ANTHROPIC_VERSION)
                .json(&json!({ "model": model, "messages": messages, "max_tokens": max_tokens })),
        };
        let kind = endpoint.kind;
        let mut chat = None;
        let probe = self
            .send(request, |body| {
                let read = Chat::read(kind, body)?;
                let model = read.model.clone();
                chat = Some(read);
                Some(vec![model])
            })
            .await;
        chat.filter(|_| probe.outcome == Outcome::Ok).ok_or(probe)
    }

    /// Sends `request` and normalizes the answer; `read` takes what a good
    /// answer's body holds (none: it is not the API's answer).
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        read: impl FnOnce(&Value) -> Option<Vec<String>>,
    ) -> Probe {
        let started = Instant::now();
        let probe = |outcome, status, retry_after, models| Probe {
            outcome,
            status,
            latency: started.elapsed(),
            retry_after,
            models,
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(_) => return probe(Outcome::Unreachable, None, None, Vec::new()),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body: Option<Value> = response.json().await.ok();
        let outcome = match status {
            200..=299 => match body.as_ref().and_then(read) {
                Some(models) => return probe(Outcome::Ok, Some(status), None, models),
                None => Outcome::Unexpected,
            },
            401 | 403 => Outcome::AuthFailed,
            429 => Outcome::RateLimited,
            500..=599 => Outcome::ProviderError,
            _ => Outcome::Unexpected,
        };
        probe(outcome, Some(status), retry_after, Vec::new())
    }
}
