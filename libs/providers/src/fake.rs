//! Local servers speaking OpenAI's, Azure OpenAI's and Anthropic's wire formats
//! for the calls provider setup makes — listing models, the smallest completion —
//! with each provider's own error shapes: `401` for a key it does not know,
//! `429` with `retry-after`, `5xx`. One listener per provider, so each base URL
//! looks like the real one. The providers themselves cannot run here.
//!
//! Each key behaves as [`FakeProviders::set`] says; another key is refused, unless
//! it starts with the accepted prefix (the dev stack's demo keys).

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::ProviderKind;

/// How a fake provider answers a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// As for a good key.
    Ok,
    /// `401`: the key is not one the provider knows.
    Unauthorized,
    /// `429` with `retry-after` in seconds.
    RateLimited(u32),
    /// `500` (Anthropic: `529`, overloaded).
    ServerError,
}

#[derive(Debug, Default)]
struct State {
    keys: HashMap<String, Behavior>,
    accepted_prefix: Option<String>,
    calls: HashMap<ProviderKind, u64>,
}

/// The three fake providers, each on its own port of 127.0.0.1.
#[derive(Debug, Clone)]
pub struct FakeProviders {
    state: Arc<Mutex<State>>,
    /// OpenAI's base URL (`…/v1`).
    pub openai: String,
    /// The Azure OpenAI resource's origin.
    pub azure: String,
    /// Anthropic's base URL (`…/v1`).
    pub anthropic: String,
}

/// The models each fake lists; Azure's are the resource's deployments' models.
const OPENAI_MODELS: [&str; 2] = ["gpt-4o-mini", "gpt-4o"];
const AZURE_MODELS: [&str; 1] = ["gpt-4o-2024-08-06"];
const ANTHROPIC_MODELS: [&str; 2] = ["claude-sonnet-4-5", "claude-haiku-4-5"];

impl FakeProviders {
    /// Starts the three on any free ports; `accepted_prefix`: keys that start
    /// with it are good keys without being set.
    pub fn start(accepted_prefix: Option<&str>) -> std::io::Result<FakeProviders> {
        FakeProviders::start_on([0, 0, 0], accepted_prefix)
    }

    /// Starts them on `ports` (OpenAI, Azure OpenAI, Anthropic; 0: any), served
    /// on the calling Tokio runtime.
    pub fn start_on(
        ports: [u16; 3],
        accepted_prefix: Option<&str>,
    ) -> std::io::Result<FakeProviders> {
        let state = Arc::new(Mutex::new(State {
            accepted_prefix: accepted_prefix.map(str::to_owned),
            ..State::default()
        }));
        let mut urls = Vec::new();
        for (kind, port) in ProviderKind::ALL.into_iter().zip(ports) {
            let listener = TcpListener::bind(("127.0.0.1", port))?;
            let origin = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
            let shared = web::Data::from(state.clone());
            let server = HttpServer::new(move || {
                let app = App::new().app_data(shared.clone());
                match kind {
                    ProviderKind::OpenAi => app
                        .route("/v1/models", web::get().to(openai_models))
                        .route("/v1/chat/completions", web::post().to(openai_chat)),
                    ProviderKind::AzureOpenAi => app
                        .route("/openai/models", web::get().to(azure_models))
                        .route(
                            "/openai/deployments/{deployment}/chat/completions",
                            web::post().to(azure_chat),
                        ),
                    ProviderKind::Anthropic => app
                        .route("/v1/models", web::get().to(anthropic_models))
                        .route("/v1/messages", web::post().to(anthropic_messages)),
                }
            })
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run();
            tokio::spawn(server);
            urls.push(match kind {
                ProviderKind::AzureOpenAi => origin,
                _ => format!("{origin}/v1"),
            });
        }
        let [openai, azure, anthropic]: [String; 3] = urls
            .try_into()
            .map_err(|_| std::io::Error::other("three providers"))?;
        Ok(FakeProviders {
            state,
            openai,
            azure,
            anthropic,
        })
    }

    /// Makes `key` behave as `behavior` at every provider.
    pub fn set(&self, key: &str, behavior: Behavior) {
        self.lock().keys.insert(key.to_owned(), behavior);
    }

    /// How many calls `kind` answered.
    pub fn calls(&self, kind: ProviderKind) -> u64 {
        self.lock().calls.get(&kind).copied().unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How `kind` answers the key of `req` (as that provider carries it).
fn behavior(state: &Mutex<State>, kind: ProviderKind, req: &HttpRequest) -> Behavior {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let key = match kind {
        ProviderKind::OpenAi => header("authorization")
            .strip_prefix("Bearer ")
            .unwrap_or_default(),
        ProviderKind::AzureOpenAi => header("api-key"),
        ProviderKind::Anthropic => header("x-api-key"),
    };
    let mut state = lock(state);
    *state.calls.entry(kind).or_default() += 1;
    if let Some(b) = state.keys.get(key) {
        return *b;
    }
    match &state.accepted_prefix {
        Some(prefix) if !key.is_empty() && key.starts_with(prefix.as_str()) => Behavior::Ok,
        _ => Behavior::Unauthorized,
    }
}

fn json_answer(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

fn with_retry_after(mut answer: HttpResponse, seconds: u32) -> HttpResponse {
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&seconds.to_string()) {
        answer
            .headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, value);
    }
    answer
}

/// OpenAI's error answer for a behavior that is not `Ok`.
fn openai_error(behavior: Behavior) -> Option<HttpResponse> {
    let error = |status, message: &str, ty: &str, code: Value| {
        json_answer(
            status,
            json!({ "error": { "message": message, "type": ty, "param": null, "code": code } }),
        )
    };
    Some(match behavior {
        Behavior::Ok => return None,
        Behavior::Unauthorized => error(
            StatusCode::UNAUTHORIZED,
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            json!("invalid_api_key"),
        ),
        Behavior::RateLimited(seconds) => with_retry_after(
            error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit reached for requests. Please try again later.",
                "requests",
                json!("rate_limit_exceeded"),
            ),
            seconds,
        ),
        Behavior::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            Value::Null,
        ),
    })
}

/// The fakes' token count of a request: a token for every four characters of
/// its messages' text (the providers' own rule of thumb), at least one.
fn prompt_tokens(body: &Value) -> u64 {
    let chars: usize = body["messages"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter_map(|m| m["content"].as_str())
                .map(str::len)
                .sum()
        })
        .unwrap_or_default();
    (chars as u64).div_ceil(4).max(1)
}

/// The fakes' answer: "pong", one token, unless more were allowed (then the
/// answer is as long as the request's `max_tokens` allows, up to 16).
fn completion_tokens(body: &Value) -> u64 {
    body["max_tokens"].as_u64().unwrap_or(16).clamp(1, 16)
}

fn chat_completion(model: &str, body: &Value) -> Value {
    let (prompt, completion) = (prompt_tokens(body), completion_tokens(body));
    json!({
        "id": "chatcmpl-fake0001", "object": "chat.completion", "created": 1_790_000_000, "model": model,
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "pong" }, "finish_reason": "length" }],
        "usage": { "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion }
    })
}

async fn openai_models(state: web::Data<Mutex<State>>, req: HttpRequest) -> HttpResponse {
    if let Some(error) = openai_error(behavior(&state, ProviderKind::OpenAi, &req)) {
        return error;
    }
    let data: Vec<Value> = OPENAI_MODELS
        .iter()
        .map(|id| json!({ "id": id, "object": "model", "created": 1_721_172_741, "owned_by": "system" }))
        .collect();
    json_answer(StatusCode::OK, json!({ "object": "list", "data": data }))
}

async fn openai_chat(
    state: web::Data<Mutex<State>>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Some(error) = openai_error(behavior(&state, ProviderKind::OpenAi, &req)) {
        return error;
    }
    let model = body["model"].as_str().unwrap_or_default();
    if !OPENAI_MODELS.contains(&model) {
        return json_answer(
            StatusCode::NOT_FOUND,
            json!({ "error": {
                "message": format!("The model `{model}` does not exist or you do not have access to it."),
                "type": "invalid_request_error", "param": null, "code": "model_not_found"
            } }),
        );
    }
    json_answer(StatusCode::OK, chat_completion(model, &body))
}

/// Azure OpenAI's error answer for a behavior that is not `Ok`, or for a call
/// without `api-version`.
fn azure_error(state: &Mutex<State>, req: &HttpRequest) -> Option<HttpResponse> {
    let error = |status, code: &str, message: &str| {
        json_answer(
            status,
            json!({ "error": { "code": code, "message": message } }),
        )
    };
    if !req
        .query_string()
        .split('&')
        .any(|p| p.starts_with("api-version=") && p.len() > 12)
    {
        return Some(error(StatusCode::NOT_FOUND, "404", "Resource not found"));
    }
    Some(match behavior(state, ProviderKind::AzureOpenAi, req) {
        Behavior::Ok => return None,
        Behavior::Unauthorized => error(
            StatusCode::UNAUTHORIZED,
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
        ),
        Behavior::RateLimited(seconds) => with_retry_after(
            error(
                StatusCode::TOO_MANY_REQUESTS,
                "429",
                &format!(
                    "Requests to the ChatCompletions_Create Operation have exceeded the rate limit of your current pricing tier. Please retry after {seconds} seconds."
                ),
            ),
            seconds,
        ),
        Behavior::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "The server had an error while processing your request.",
        ),
    })
}

async fn azure_models(state: web::Data<Mutex<State>>, req: HttpRequest) -> HttpResponse {
    if let Some(error) = azure_error(&state, &req) {
        return error;
    }
    let data: Vec<Value> = AZURE_MODELS
        .iter()
        .map(|id| {
            json!({
                "id": id, "object": "model", "created_at": 1_723_075_200, "status": "succeeded",
                "capabilities": { "chat_completion": true, "completion": false, "embeddings": false,
                                  "fine_tune": false, "inference": true },
                "lifecycle_status": "generally-available"
            })
        })
        .collect();
    json_answer(StatusCode::OK, json!({ "data": data, "object": "list" }))
}

async fn azure_chat(
    state: web::Data<Mutex<State>>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Some(error) = azure_error(&state, &req) {
        return error;
    }
    // The resource has one deployment, named after its model's family.
    if path.as_str() != "gpt-4o" {
        return json_answer(
            StatusCode::NOT_FOUND,
            json!({ "error": {
                "code": "DeploymentNotFound",
                "message": "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."
            } }),
        );
    }
    json_answer(StatusCode::OK, chat_completion(AZURE_MODELS[0], &body))
}

/// Anthropic's error answer for a behavior that is not `Ok`, or for a call
/// without `anthropic-version`.
fn anthropic_error(state: &Mutex<State>, req: &HttpRequest) -> Option<HttpResponse> {
    let error = |status, ty: &str, message: &str| {
        json_answer(
            status,
            json!({ "type": "error", "error": { "type": ty, "message": message } }),
        )
    };
    if req.headers().get("anthropic-version").is_none() {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "anthropic-version: header is required",
        ));
    }
    Some(match behavior(state, ProviderKind::Anthropic, req) {
        Behavior::Ok => return None,
        Behavior::Unauthorized => error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid x-api-key",
        ),
        Behavior::RateLimited(seconds) => with_retry_after(
            error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "Number of requests has exceeded your rate limit. Please try again later.",
            ),
            seconds,
        ),
        Behavior::ServerError => error(
            StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "overloaded_error",
            "Overloaded",
        ),
    })
}

async fn anthropic_models(state: web::Data<Mutex<State>>, req: HttpRequest) -> HttpResponse {
    if let Some(error) = anthropic_error(&state, &req) {
        return error;
    }
    let data: Vec<Value> = ANTHROPIC_MODELS
        .iter()
        .map(|id| json!({ "type": "model", "id": id, "display_name": id, "created_at": "2025-09-29T00:00:00Z" }))
        .collect();
    json_answer(
        StatusCode::OK,
        json!({ "data": data, "has_more": false, "first_id": ANTHROPIC_MODELS[0], "last_id": ANTHROPIC_MODELS[1] }),
    )
}

async fn anthropic_messages(
    state: web::Data<Mutex<State>>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Some(error) = anthropic_error(&state, &req) {
        return error;
    }
    let model = body["model"].as_str().unwrap_or_default();
    if !ANTHROPIC_MODELS.contains(&model) {
        return json_answer(
            StatusCode::NOT_FOUND,
            json!({ "type": "error", "error": { "type": "not_found_error", "message": format!("model: {model}") } }),
        );
    }
    json_answer(
        StatusCode::OK,
        json!({
            "id": "msg_fake0001", "type": "message", "role": "assistant",
            "content": [{ "type": "text", "text": "pong" }], "model": model,
            "stop_reason": "max_tokens", "stop_sequence": null,
            "usage": { "input_tokens": prompt_tokens(&body), "output_tokens": completion_tokens(&body) }
        }),
    )
}
