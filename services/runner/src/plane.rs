//! The control plane as the runner calls it: through its region's gateway, with
//! the runner's access token, JSON in and out; a refusal is the problem the
//! service answered.

use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::RunnerError;
use crate::token::TokenSource;

/// The gateway and the runner's token.
#[derive(Debug)]
pub struct Plane {
    http: reqwest::Client,
    gateway: String,
    token: TokenSource,
    /// The time its calls took, all told.
    spent: Duration,
}

impl Plane {
    pub fn new(http: reqwest::Client, gateway: &str, token: TokenSource) -> Self {
        Plane {
            http,
            gateway: gateway.trim_end_matches('/').to_owned(),
            token,
            spent: Duration::ZERO,
        }
    }

    /// The time its calls took since it was made (a token's renewal included).
    pub fn spent(&self) -> Duration {
        self.spent
    }

    pub async fn get(&mut self, path: &str) -> Result<Value, RunnerError> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Result<Value, RunnerError> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// `method` on `path`: the answer's JSON on a 2xx, else the problem.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, RunnerError> {
        let began = Instant::now();
        let answer = self.send(method, path, body).await;
        self.spent += began.elapsed();
        answer
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, RunnerError> {
        let token = self.token.token().await?;
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.gateway))
            .bearer_auth(token.expose_secret());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| RunnerError::Unreachable(format!("{method} {path}: {e}")))?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            Ok(answer)
        } else {
            Err(RunnerError::Refused {
                call: format!("{method} {path}"),
                status,
                code: answer["code"].as_str().unwrap_or_default().to_owned(),
                detail: answer["detail"].as_str().unwrap_or_default().to_owned(),
            })
        }
    }
}
