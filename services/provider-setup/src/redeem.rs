//! A delegated link's redemption: whoever holds the link enters a key; it is
//! checked with the provider (a model listing, which changes nothing and costs
//! nothing), sealed, and made the connection's active version — or, refused by
//! the provider, stored nowhere. The link grants nothing else.
//!
//! Redemption is atomic: the link is claimed first (one claim at a time, so of
//! any number of simultaneous redemptions one runs and the others are told the
//! link is busy), and the key version, the link's redemption, the request's
//! completion and the events are written in one transaction, which also checks
//! that the claim still holds (a link revoked meanwhile activates nothing).
//! Key entries are rate-limited per tenant and per link.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration as StdDuration;

use diesel_async::AsyncPgConnection;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use plinth_authz::Requester;
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, Principal, ReqCtx, RequestId, TenantId};
use plinth_db::{TenantScope, scoped_transaction};
use plinth_providers::{Endpoint, Outcome as ProbeOutcome, Probe, ProviderKind};
use plinth_service::ServiceState as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use crate::app::{AppState, link_state, new_id, now, token_hash};
use crate::connectors::{ConnectorKind, CredentialField, credentials_sealable, fields_of};
use crate::events::{Audited, LINK_HOLDER, Outcome, Previous};
use crate::keys::{self, PLATFORM_BINDING};
use crate::settings::ValidationSettings;
use crate::store::{
    ConnectionRow, KeyVersionRow, LinkRow, RequestRow, ValidationRow, connection_activate_on_conn,
    connection_get_on_conn, installation_get_on_conn, key_version_insert_on_conn,
    key_version_latest_on_conn, key_version_retire_active_on_conn, link_by_token_on_conn,
    link_claim_on_conn, link_redeem_on_conn, link_release_on_conn, request_close_on_conn,
    request_get_on_conn, validation_insert_on_conn,
};

/// How long a redemption holds its claim on a link: longer than a validation
/// can take.
const CLAIM: Duration = Duration::seconds(60);

/// Key entries per tenant and per link.
pub struct Limits {
    tenants: DefaultKeyedRateLimiter<String>,
    links: DefaultKeyedRateLimiter<String>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits").finish_non_exhaustive()
    }
}

impl Limits {
    pub fn of(settings: &ValidationSettings) -> Result<Limits, String> {
        let quota = |n: u32, name: &str| {
            NonZeroU32::new(n)
                .map(Quota::per_minute)
                .ok_or(format!("validation.{name} must be at least 1"))
        };
        Ok(Limits {
            tenants: RateLimiter::keyed(quota(
                settings.per_tenant_per_minute,
                "per_tenant_per_minute",
            )?),
            links: RateLimiter::keyed(quota(settings.per_link_per_minute, "per_link_per_minute")?),
        })
    }

    /// Takes one entry from the tenant's and the link's allowances, or says
    /// how long to wait.
    fn check(&self, tenant: &str, link: &str) -> Result<(), ApiError> {
        let clock = DefaultClock::default();
        for (limiter, key) in [(&self.links, link), (&self.tenants, tenant)] {
            if let Err(not_until) = limiter.check_key(&key.to_owned()) {
                let wait = not_until.wait_time_from(clock.now());
                return Err(ApiError::too_many_requests(wait.as_secs().max(1)));
            }
        }
        Ok(())
    }
}

/// Whoever holds a link: no principal, acting only on that link's tenant.
struct LinkHolder {
    ctx: ReqCtx,
}

impl LinkHolder {
    fn new(app: &AppState, link: Option<&LinkRow>) -> Self {
        let tenant = link
            .and_then(|l| l.tenant_id.as_deref())
            .and_then(|t| TenantId::parse(t).ok());
        LinkHolder {
            ctx: ReqCtx {
                principal: Principal {
                    subject: match link {
                        Some(link) => format!("{LINK_HOLDER}:{}", link.link_id),
                        None => LINK_HOLDER.to_owned(),
                    },
                    display: None,
                },
                tenant,
                roles: Vec::new(),
                region: app.region,
                request_id: RequestId::new(),
            },
        }
    }
}

impl Requester for LinkHolder {
    fn ctx(&self) -> &ReqCtx {
        &self.ctx
    }

    fn reaches(&self, tenant: TenantId) -> bool {
        self.ctx.tenant == Some(tenant)
    }

    fn bound_everywhere(&self) -> bool {
        false
    }
}

/// What a link is for, as the setup surface shows it to its holder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkFacts {
    /// The tenant the key is for; none for a pooled connection (the platform's).
    pub tenant_id: Option<String>,
    pub connection_name: String,
    /// `openai`, `azure_openai` or `anthropic`; a connector's
    /// `connectwise_manage`, `datto_autotask`, `halopsa` or `microsoft_graph`.
    pub kind: String,
    pub base_url: String,
    /// A connector's workspace; none for an AI provider connection.
    pub workspace_id: Option<String>,
    /// What to enter: `key` for a provider, a connector's credential fields
    /// (sent as `credentials`).
    pub fields: Vec<CredentialField>,
    /// `initial` or `rotation`.
    pub purpose: String,
    /// What the administrator wrote for whoever enters the key.
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What a successful redemption answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Redeemed {
    pub connection_name: String,
    /// The key version now active.
    pub version: i32,
    /// `ok` (the provider accepted the key) or, for a connector's
    /// credentials, `not_checked` (their shape was checked, not the API).
    pub outcome: String,
    /// How many models the provider listed for the key.
    pub models: i32,
    pub latency_ms: i32,
}

/// The link of `token`, if it is live; why not otherwise.
fn live(link: Option<LinkRow>, at: OffsetDateTime) -> Result<LinkRow, ApiError> {
    let link = link.ok_or_else(|| ApiError::not_found("setup link"))?;
    match link_state(&link, at) {
        "redeemed" => Err(
            ApiError::gone("the link was used already; ask for a new one")
                .with_code(Code::LinkUsed),
        ),
        "revoked" => Err(ApiError::gone("the link was revoked").with_code(Code::LinkRevoked)),
        "expired" => {
            Err(ApiError::gone("the link expired; ask for a new one").with_code(Code::LinkExpired))
        }
        _ => Ok(link),
    }
}

/// The link, its request and connection, when the token is a live link's.
async fn lookup_on_conn(
    conn: &mut AsyncPgConnection,
    token: &str,
    at: OffsetDateTime,
) -> Result<(LinkRow, RequestRow, ConnectionRow), ApiError> {
    let link = live(link_by_token_on_conn(conn, &token_hash(token)).await?, at)?;
    let request = request_get_on_conn(conn, &link.request_id)
        .await?
        .ok_or_else(|| ApiError::not_found("setup link"))?;
    let connection = connection_get_on_conn(conn, &link.connection_id, false)
        .await?
        .ok_or_else(|| ApiError::not_found("setup link"))?;
    Ok((link, request, connection))
}

fn token_shape(token: &str) -> Result<(), ApiError> {
    let ok = token.len() < 128
        && token.starts_with("pst_")
        && token[4..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_found("setup link"))
    }
}

/// What the link of `token` is for.
pub async fn link_describe(app: &AppState, token: &str) -> Result<LinkFacts, ApiError> {
    token_shape(token)?;
    let at = now();
    let mut conn = app.conn().await?;
    let (link, request, connection, workspace_id) =
        scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
            let (link, request, connection) = lookup_on_conn(conn, token, at).await?;
            let workspace = installation_get_on_conn(conn, &connection.connection_id)
                .await?
                .map(|i| i.workspace_id);
            Ok::<_, ApiError>((link, request, connection, workspace))
        })
        .await?;
    Ok(LinkFacts {
        tenant_id: link.tenant_id,
        connection_name: connection.name,
        fields: fields_of(&connection.kind),
        kind: connection.kind,
        base_url: connection.base_url,
        workspace_id,
        purpose: request.purpose,
        note: request.note,
        expires_at: link.expires_at,
    })
}

/// The key as entered, or why it cannot be one. Surrounding whitespace (a
/// copied line's) is dropped; the key is never part of a message.
fn key_shape(key: SecretString) -> Result<SecretString, ApiError> {
    let text = key.expose_secret().trim();
    if text.is_empty() || text.len() > 1024 || text.chars().any(|c| c.is_control() || c == ' ') {
        return Err(ApiError::invalid_request(
            "key",
            "the key is 1 to 1024 printable characters without spaces",
        ));
    }
    Ok(SecretString::from(text.to_owned()))
}

/// What a link's holder entered: a provider's API key, or a connector's
/// credentials by field.
#[derive(Debug)]
pub enum Entered {
    Key(SecretString),
    Credentials(BTreeMap<String, SecretString>),
}

/// The one secret sealed for `connection`, when what was entered is what its
/// link asks for, and the connector it is for (none for a provider key).
fn sealable(
    connection: &ConnectionRow,
    entered: Entered,
) -> Result<(SecretString, Option<ConnectorKind>), ApiError> {
    match (ConnectorKind::parse(&connection.kind), entered) {
        (Some(kind), Entered::Credentials(c)) => Ok((credentials_sealable(kind, c)?, Some(kind))),
        (None, Entered::Key(key)) => Ok((key_shape(key)?, None)),
        (Some(_), Entered::Key(_)) => Err(ApiError::invalid_request(
            "credentials",
            "the link is for a connector's credentials: send them as `credentials`",
        )),
        (None, Entered::Credentials(_)) => Err(ApiError::invalid_request(
            "key",
            "the link is for a provider's API key: send it as `key`",
        )),
    }
}

/// Redeems the link of `token` with what was entered. The connection is
/// given back before a refusal is audited (which takes one of its own).
pub async fn redeem(app: &AppState, token: &str, key: Entered) -> Result<Redeemed, ApiError> {
    let audited = Audited::new("provider.key_enter", "provider_connection");
    let at = now();
    // Which link: refusals before it is known go to the platform's log.
    let found = async {
        token_shape(token)?;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
            lookup_on_conn(conn, token, at).await
        })
        .await
    }
    .await;
    let (link, request, connection) = match found {
        Ok(found) => found,
        Err(err) => {
            let holder = LinkHolder::new(app, None);
            return app.audited(&holder, &audited, Err(err)).await;
        }
    };
    let holder = LinkHolder::new(app, Some(&link));
    let audited = match holder.ctx.tenant {
        Some(tenant) => audited.in_tenant(tenant),
        None => audited,
    }
    .on_resource(&connection.connection_id)
    .with_detail("link_id", &link.link_id);
    let result = redeem_link(app, &holder, &audited, link, request, connection, key).await;
    app.audited(&holder, &audited, result).await
}

/// The redemption proper. No database connection is held while the provider
/// answers: one claims the link, another records the outcome.
async fn redeem_link(
    app: &AppState,
    holder: &LinkHolder,
    audited: &Audited,
    link: LinkRow,
    request: RequestRow,
    connection: ConnectionRow,
    entered: Entered,
) -> Result<Redeemed, ApiError> {
    let (key, connector) = sealable(&connection, entered)?;
    let owner = connection.tenant_id.as_deref().unwrap_or(PLATFORM_BINDING);
    app.limits.check(owner, &link.link_id)?;
    let scope = match holder.ctx.tenant {
        Some(tenant) => TenantScope::Tenant(tenant),
        None => TenantScope::All,
    };
    let at = now();
    let claimed = scoped_transaction(&mut *app.conn().await?, &scope, async |conn| {
        Ok::<_, ApiError>(link_claim_on_conn(conn, &link.link_id, at, at + CLAIM).await?)
    })
    .await?;
    if claimed.is_none() {
        return Err(ApiError::conflict(
            "the link is being used right now; wait for that entry's answer",
        )
        .with_code(Code::LinkBusy));
    }

    let validation = match connector {
        // A connector's API is not called: its credentials' shape was checked.
        Some(_) => ValidationRow {
            validation_id: new_id("pvl"),
            connection_id: connection.connection_id.clone(),
            tenant_id: connection.tenant_id.clone(),
            link_id: link.link_id.clone(),
            outcome: "not_checked".to_owned(),
            http_status: None,
            latency_ms: 0,
            models: 0,
            activated: true,
            checked_at: now(),
        },
        None => validate(app, &scope, &link, &connection, &key).await?,
    };
    let checked_at = validation.checked_at;

    let grace = Duration::minutes(i64::from(app.setup.grace_minutes));
    scoped_transaction(&mut *app.conn().await?, &scope, async |conn| {
        let connection = connection_get_on_conn(conn, &connection.connection_id, true)
            .await?
            .ok_or_else(|| ApiError::not_found("setup link"))?;
        if !link_redeem_on_conn(conn, &link.link_id, checked_at).await? {
            return Err(ApiError::gone("the link was revoked").with_code(Code::LinkRevoked));
        }
        let version = key_version_latest_on_conn(conn, &connection.connection_id).await? + 1;
        let binding = keys::binding(&connection, version)?;
        let sealed = app.keys.seal(&binding, &key).await.map_err(|e| {
            ApiError::unavailable("the key could not be stored; enter it again later")
                .with_internal(e)
        })?;
        let previous = connection.active_version.map(|version| Previous {
            version,
            usable_until: checked_at + grace,
        });
        if let Some(previous) = previous {
            key_version_retire_active_on_conn(
                conn,
                &connection.connection_id,
                previous.usable_until,
            )
            .await?;
        }
        key_version_insert_on_conn(
            conn,
            &KeyVersionRow {
                connection_id: connection.connection_id.clone(),
                version,
                tenant_id: connection.tenant_id.clone(),
                backend: sealed.backend,
                key_id: sealed.key_id,
                wrapped_key: Some(sealed.wrapped_key),
                nonce: Some(sealed.nonce),
                ciphertext: Some(sealed.ciphertext),
                status: "ACTIVE".to_owned(),
                link_id: link.link_id.clone(),
                created_at: checked_at,
                usable_until: None,
                destroyed_at: None,
            },
        )
        .await?;
        connection_activate_on_conn(conn, &connection.connection_id, version, checked_at).await?;
        request_close_on_conn(conn, &request.request_id, "COMPLETED", checked_at).await?;
        validation_insert_on_conn(conn, &validation).await?;
        let mut activated = connection.clone();
        activated.status = "ACTIVE".to_owned();
        activated.active_version = Some(version);
        let events = [
            app.events.key_validated(&validation)?,
            app.events.link_changed(
                "redeemed",
                &link,
                &request.purpose,
                checked_at,
                &holder.ctx.principal.subject,
            )?,
            app.events.connection_changed(
                "plinth.provider.key_activated",
                &activated,
                previous,
                checked_at,
                &holder.ctx.principal.subject,
            )?,
            app.events.audit(
                &holder.ctx,
                &audited
                    .clone()
                    .with_detail("version", version)
                    .with_detail("outcome", &validation.outcome),
                Outcome::Allowed,
                None,
            )?,
        ];
        Outbox::enqueue(conn, &events).await?;
        Ok(Redeemed {
            connection_name: connection.name,
            version,
            models: validation.models,
            latency_ms: validation.latency_ms,
            outcome: validation.outcome,
        })
    })
    .await
}

/// Checks a provider key with the provider: the validation when it was
/// accepted; when not, the validation is kept, the link's claim let go (the
/// holder may enter another key) and the refusal returned.
async fn validate(
    app: &AppState,
    scope: &TenantScope,
    link: &LinkRow,
    connection: &ConnectionRow,
    key: &SecretString,
) -> Result<ValidationRow, ApiError> {
    let endpoint = Endpoint {
        kind: ProviderKind::parse(&connection.kind)
            .ok_or_else(|| ApiError::internal(format!("stored kind {}", connection.kind)))?,
        base_url: connection.base_url.clone(),
        deployment: connection.deployment.clone(),
        api_version: connection.api_version.clone(),
    };
    let probe = app.providers.list_models(&endpoint, key).await;
    let checked_at = now();
    let validation = ValidationRow {
        validation_id: new_id("pvl"),
        connection_id: connection.connection_id.clone(),
        tenant_id: connection.tenant_id.clone(),
        link_id: link.link_id.clone(),
        outcome: probe.outcome.as_str().to_owned(),
        http_status: probe.status.map(i32::from),
        latency_ms: millis(&probe),
        models: i32::try_from(probe.models.len()).unwrap_or(i32::MAX),
        activated: probe.outcome == ProbeOutcome::Ok,
        checked_at,
    };

    if probe.outcome != ProbeOutcome::Ok {
        // Kept, with the claim let go: the holder may enter another key.
        scoped_transaction(&mut *app.conn().await?, scope, async |conn| {
            link_release_on_conn(conn, &link.link_id).await?;
            validation_insert_on_conn(conn, &validation).await?;
            Outbox::enqueue(conn, &[app.events.key_validated(&validation)?]).await?;
            Ok::<_, ApiError>(())
        })
        .await?;
        return Err(rejected(&probe).with_extension("validation_id", validation.validation_id));
    }

    Ok(validation)
}

fn millis(probe: &Probe) -> i32 {
    i32::try_from(probe.latency.as_millis()).unwrap_or(i32::MAX)
}

/// The refusal of a key the provider did not accept, in words for whoever
/// entered it.
fn rejected(probe: &Probe) -> ApiError {
    let message = match probe.outcome {
        ProbeOutcome::AuthFailed => "the provider refused the key; check it and enter it again",
        ProbeOutcome::RateLimited => {
            "the provider is rate limiting this key; enter it again in a moment"
        }
        ProbeOutcome::Unreachable => "the provider did not answer; enter the key again later",
        ProbeOutcome::ProviderError => "the provider failed to answer; enter the key again later",
        ProbeOutcome::Unexpected | ProbeOutcome::Ok => {
            "the provider's answer does not show the key works for this connection (its endpoint, deployment or API version)"
        }
    };
    let mut err = ApiError::unprocessable(message)
        .with_code(Code::KeyRejected)
        .with_extension("outcome", probe.outcome.as_str());
    if let Some(status) = probe.status {
        err = err.with_extension("provider_status", status);
    }
    if let Some(wait) = probe.retry_after.map(|d: StdDuration| d.as_secs()) {
        err = err.with_extension("retry_after", wait);
    }
    err
}
