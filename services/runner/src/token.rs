//! The runner's access token: the client credentials grant of its machine client
//! (`plinth-runtime`) at the identity provider, asked for again shortly before it
//! expires.

use std::time::{Duration, Instant};

use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, OAuth2TokenResponse, Scope};
use secrecy::{ExposeSecret, SecretString};

use crate::RunnerError;

/// A token is asked for again this long before it expires.
const MARGIN: Duration = Duration::from_secs(30);

/// The runner's identity at the identity provider and its current token.
#[derive(Debug)]
pub struct TokenSource {
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    client_secret: SecretString,
    current: Option<(SecretString, Instant)>,
}

impl TokenSource {
    pub fn new(
        http: reqwest::Client,
        issuer: &str,
        client_id: &str,
        client_secret: SecretString,
    ) -> Self {
        TokenSource {
            http,
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            current: None,
        }
    }

    /// A token good for at least [`MARGIN`] more.
    pub async fn token(&mut self) -> Result<SecretString, RunnerError> {
        if let Some((token, until)) = &self.current
            && Instant::now() + MARGIN < *until
        {
            return Ok(token.clone());
        }
        let fetch = |request| send(self.http.clone(), request);
        let issuer = IssuerUrl::new(self.issuer.clone())
            .map_err(|e| RunnerError::Identity(format!("the issuer's URL: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &fetch)
            .await
            .map_err(|e| RunnerError::Identity(format!("discovering the issuer: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.client_id.clone()),
            Some(ClientSecret::new(
                self.client_secret.expose_secret().to_owned(),
            )),
        );
        let answer = client
            .exchange_client_credentials()
            .map_err(|e| RunnerError::Identity(format!("the issuer's token endpoint: {e}")))?
            .add_scope(Scope::new("api".to_owned()))
            .request_async(&fetch)
            .await
            .map_err(|e| RunnerError::Identity(format!("the client credentials grant: {e}")))?;
        let lifetime = answer.expires_in().unwrap_or(Duration::from_secs(300));
        let token = SecretString::from(answer.access_token().secret().to_owned());
        self.current = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }
}

/// The identity provider's HTTP requests, made with the runner's client.
#[expect(
    clippy::expect_used,
    reason = "a status and headers taken from a response make a response"
)]
async fn send(
    http: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let response = http.execute(request.try_into()?).await?;
    let mut answer = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(answer
        .body(body)
        .expect("a status and headers taken from a response make a response"))
}
