//! Connector installations: a PSA or directory connector (ConnectWise Manage,
//! Datto Autotask, HaloPSA, Microsoft Graph) installed in one of a tenant's
//! workspaces by its integration administrators. An installation is a
//! connection of a connector kind: its non-secret settings (company, client
//! id, …) are given when it is installed; its credentials are entered through
//! the same setup requests, delegated links and sealing as a provider key, and
//! released to the runtime the same way.
//!
//! Credentials are checked for their shape when entered (each field present,
//! none longer than its limit, identifiers in their format); the connector's
//! own API is not called, so the validation is recorded as `not_checked`.

use std::collections::BTreeMap;

use plinth_authz::{Act, Authorized, Resources};
use plinth_core::{ApiError, TenantId};
use plinth_db::scoped_transaction;
use plinth_service::ServiceState as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::app::{
    AppState, Details, KeyVersion, Made, Owner, SetupRequest, Validation, acceptable_url,
    create_with_request, new_id, now, permit_for, short_text,
};
use crate::store::{
    ConnectionRow, InstallationRow, connection_get_on_conn, connectors_of_tenant_on_conn,
    installation_get_on_conn,
};

/// The AI provider kinds (every other kind of connection is a connector).
pub const PROVIDER_KINDS: [&str; 3] = ["openai", "azure_openai", "anthropic"];

/// The connectors a workspace can install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    ConnectWiseManage,
    DattoAutotask,
    HaloPsa,
    MicrosoftGraph,
}

/// What a field must look like.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// 1 to `max` printable characters.
    Text(usize),
    /// A GUID, as ConnectWise client ids and Entra ids are.
    Guid,
    /// Exactly `len` letters and digits (ConnectWise API keys).
    Alnum(usize),
}

/// A setting or credential field of a connector.
#[derive(Debug, Clone, Copy)]
struct Field {
    name: &'static str,
    label: &'static str,
    shape: Shape,
}

impl ConnectorKind {
    pub const ALL: [ConnectorKind; 4] = [
        ConnectorKind::ConnectWiseManage,
        ConnectorKind::DattoAutotask,
        ConnectorKind::HaloPsa,
        ConnectorKind::MicrosoftGraph,
    ];

    pub fn parse(text: &str) -> Option<ConnectorKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::ConnectWiseManage => "connectwise_manage",
            ConnectorKind::DattoAutotask => "datto_autotask",
            ConnectorKind::HaloPsa => "halopsa",
            ConnectorKind::MicrosoftGraph => "microsoft_graph",
        }
    }

    /// Its name as people know it.
    pub fn label(self) -> &'static str {
        match self {
            ConnectorKind::ConnectWiseManage => "ConnectWise Manage",
            ConnectorKind::DattoAutotask => "Datto Autotask",
            ConnectorKind::HaloPsa => "HaloPSA",
            ConnectorKind::MicrosoftGraph => "Microsoft Graph",
        }
    }

    /// Where its API is when the installation names no `base_url`: only
    /// Microsoft Graph has one address for everyone; a PSA's depends on the
    /// tenant's instance or zone.
    fn default_base_url(self) -> Option<&'static str> {
        match self {
            ConnectorKind::MicrosoftGraph => Some("https://graph.microsoft.com/v1.0"),
            _ => None,
        }
    }

    /// The non-secret settings an installation names.
    fn settings(self) -> &'static [Field] {
        match self {
            ConnectorKind::ConnectWiseManage => &[
                Field {
                    name: "company_id",
                    label: "Company id",
                    shape: Shape::Text(64),
                },
                Field {
                    name: "client_id",
                    label: "Client id",
                    shape: Shape::Guid,
                },
            ],
            ConnectorKind::DattoAutotask => &[Field {
                name: "integration_code",
                label: "API integration code",
                shape: Shape::Text(64),
            }],
            ConnectorKind::HaloPsa => &[Field {
                name: "client_id",
                label: "Client id",
                shape: Shape::Text(128),
            }],
            ConnectorKind::MicrosoftGraph => &[
                Field {
                    name: "directory_tenant_id",
                    label: "Directory (tenant) id",
                    shape: Shape::Guid,
                },
                Field {
                    name: "client_id",
                    label: "Application (client) id",
                    shape: Shape::Guid,
                },
            ],
        }
    }

    /// The secret credentials entered through a setup link.
    fn credentials(self) -> &'static [Field] {
        match self {
            ConnectorKind::ConnectWiseManage => &[
                Field {
                    name: "public_key",
                    label: "Public key",
                    shape: Shape::Alnum(16),
                },
                Field {
                    name: "private_key",
                    label: "Private key",
                    shape: Shape::Alnum(16),
                },
            ],
            ConnectorKind::DattoAutotask => &[
                Field {
                    name: "username",
                    label: "API user name",
                    shape: Shape::Text(128),
                },
                Field {
                    name: "secret",
                    label: "API user secret",
                    shape: Shape::Text(256),
                },
            ],
            ConnectorKind::HaloPsa | ConnectorKind::MicrosoftGraph => &[Field {
                name: "client_secret",
                label: "Client secret",
                shape: Shape::Text(512),
            }],
        }
    }
}

impl Shape {
    fn fits(self, value: &str) -> bool {
        match self {
            Shape::Text(max) => {
                !value.is_empty()
                    && value.chars().count() <= max
                    && !value.chars().any(char::is_control)
            }
            Shape::Guid => uuid::Uuid::try_parse(value).is_ok() && value.len() == 36,
            Shape::Alnum(len) => {
                value.len() == len && value.chars().all(|c| c.is_ascii_alphanumeric())
            }
        }
    }

    fn describe(self) -> String {
        match self {
            Shape::Text(max) => format!("1 to {max} printable characters"),
            Shape::Guid => "a GUID (8-4-4-4-12 hexadecimal digits)".to_owned(),
            Shape::Alnum(len) => format!("{len} letters and digits"),
        }
    }
}

/// A field the setup surface asks for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialField {
    /// The name it is sent under.
    #[schema(example = "client_secret")]
    pub name: String,
    #[schema(example = "Client secret")]
    pub label: String,
}

/// A connector kind as installing one needs it: where its API is, the
/// settings an installation names, and the credentials its link asks for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectorKindInfo {
    #[schema(example = "halopsa")]
    pub kind: String,
    #[schema(example = "HaloPSA")]
    pub label: String,
    /// Its API's address when an installation names none; none when every
    /// instance has its own (the installation must name it).
    pub default_base_url: Option<String>,
    pub settings: Vec<CredentialField>,
    pub credentials: Vec<CredentialField>,
}

fn described(fields: &[Field]) -> Vec<CredentialField> {
    fields
        .iter()
        .map(|f| CredentialField {
            name: f.name.to_owned(),
            label: f.label.to_owned(),
        })
        .collect()
}

/// Every connector kind a workspace can install.
pub fn kinds() -> Vec<ConnectorKindInfo> {
    ConnectorKind::ALL
        .into_iter()
        .map(|k| ConnectorKindInfo {
            kind: k.as_str().to_owned(),
            label: k.label().to_owned(),
            default_base_url: k.default_base_url().map(str::to_owned),
            settings: described(k.settings()),
            credentials: described(k.credentials()),
        })
        .collect()
}

/// The fields a link of a connection of `kind` asks for: a provider's API key,
/// or a connector's credentials.
pub fn fields_of(kind: &str) -> Vec<CredentialField> {
    match ConnectorKind::parse(kind) {
        Some(connector) => described(connector.credentials()),
        None => vec![CredentialField {
            name: "key".to_owned(),
            label: "API key".to_owned(),
        }],
    }
}

/// The credentials entered for a connector of `kind`, as the one secret that
/// is sealed (a JSON object of them), or the first field that is wrong. No
/// value is ever part of a message.
pub fn credentials_sealable(
    kind: ConnectorKind,
    entered: BTreeMap<String, SecretString>,
) -> Result<SecretString, ApiError> {
    let wanted = kind.credentials();
    if let Some(extra) = entered
        .keys()
        .find(|name| !wanted.iter().any(|f| f.name == name.as_str()))
    {
        return Err(ApiError::invalid_request(
            "credentials",
            format!(
                "a {} connector takes no credential {extra:?}",
                kind.as_str()
            ),
        ));
    }
    let mut values = BTreeMap::new();
    for f in wanted {
        let value = entered.get(f.name).map(|v| v.expose_secret().trim());
        match value {
            Some(v) if f.shape.fits(v) => {
                values.insert(f.name, v);
            }
            _ => {
                return Err(ApiError::invalid_request(
                    "credentials",
                    format!("`{}` ({}) is {}", f.name, f.label, f.shape.describe()),
                ));
            }
        }
    }
    let json = serde_json::to_string(&values)
        .map_err(|e| ApiError::internal(format!("credentials as JSON: {e}")))?;
    Ok(SecretString::from(json))
}

/// A connector to install (no credentials: those come through a link).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnector {
    /// The tenant's workspace it is installed in.
    pub workspace_id: String,
    /// Unique among the tenant's connections: letters, digits, `-`, `_`, `.`.
    #[schema(example = "acme-halo")]
    pub name: String,
    /// `connectwise_manage`, `datto_autotask`, `halopsa` or `microsoft_graph`.
    #[schema(example = "halopsa")]
    pub kind: String,
    /// The API's base URL: the instance's or zone's (required, except for
    /// Microsoft Graph).
    #[schema(example = "https://acme.halopsa.com/api")]
    pub base_url: Option<String>,
    /// The kind's non-secret settings: ConnectWise Manage `company_id` and
    /// `client_id`; Datto Autotask `integration_code`; HaloPSA `client_id`;
    /// Microsoft Graph `directory_tenant_id` and `client_id`.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Shown to whoever opens the setup link.
    pub note: Option<String>,
}

impl NewConnector {
    fn row(
        self,
        tenant: TenantId,
        loopback_http: bool,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Made, ApiError> {
        let kind = ConnectorKind::parse(&self.kind).ok_or_else(|| {
            ApiError::invalid_request(
                "kind",
                "`kind` is `connectwise_manage`, `datto_autotask`, `halopsa` or `microsoft_graph`",
            )
        })?;
        short_text("workspace_id", &self.workspace_id, 128)?;
        crate::app::name_check(&self.name)?;
        let base_url = match (self.base_url, kind.default_base_url()) {
            (Some(url), _) => url.trim_end_matches('/').to_owned(),
            (None, Some(url)) => url.to_owned(),
            (None, None) => {
                return Err(ApiError::invalid_request(
                    "base_url",
                    format!(
                        "a {} connector needs its instance's `base_url`",
                        kind.as_str()
                    ),
                ));
            }
        };
        if !acceptable_url(&base_url, loopback_http) || base_url.len() > 512 {
            return Err(ApiError::invalid_request(
                "base_url",
                "`base_url` must be an https URL with a host",
            ));
        }
        let wanted = kind.settings();
        if let Some(extra) = self
            .settings
            .keys()
            .find(|name| !wanted.iter().any(|f| f.name == name.as_str()))
        {
            return Err(ApiError::invalid_request(
                "settings",
                format!("a {} connector has no setting {extra:?}", kind.as_str()),
            ));
        }
        let mut settings = serde_json::Map::new();
        for f in wanted {
            match self.settings.get(f.name) {
                Some(v) if f.shape.fits(v) => {
                    settings.insert(f.name.to_owned(), v.clone().into());
                }
                _ => {
                    return Err(ApiError::invalid_request(
                        "settings",
                        format!(
                            "`settings.{}` ({}) is {}",
                            f.name,
                            f.label,
                            f.shape.describe()
                        ),
                    ));
                }
            }
        }
        let note = self.note.unwrap_or_default();
        if note.chars().count() > 500 {
            return Err(ApiError::invalid_request(
                "note",
                "`note` is at most 500 characters",
            ));
        }
        let connection_id = new_id("pci");
        Ok((
            ConnectionRow {
                connection_id: connection_id.clone(),
                tenant_id: Some(tenant.to_string()),
                name: self.name,
                kind: kind.as_str().to_owned(),
                base_url,
                deployment: None,
                api_version: None,
                default_model: String::new(),
                status: "PENDING".to_owned(),
                active_version: None,
                created_at: at,
                created_by: by.to_owned(),
                updated_at: at,
                health_status: None,
                health_checked_at: None,
            },
            Some(InstallationRow {
                connection_id,
                tenant_id: tenant.to_string(),
                workspace_id: self.workspace_id,
                settings: settings.into(),
            }),
            note,
        ))
    }
}

/// A connector installed in a workspace, as the API shows it: never its
/// credentials, its versions' metadata only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Connector {
    /// Its id: the connection id its setup requests, links and credential
    /// versions name.
    #[schema(example = "pci_9d2e…")]
    pub connector_id: String,
    pub tenant_id: String,
    pub workspace_id: String,
    #[schema(example = "acme-halo")]
    pub name: String,
    /// `connectwise_manage`, `datto_autotask`, `halopsa` or `microsoft_graph`.
    #[schema(example = "halopsa")]
    pub kind: String,
    pub base_url: String,
    /// Its non-secret settings.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// `PENDING` (no credentials yet), `ACTIVE`, `DISABLED` or `DESTROYED`.
    #[schema(example = "PENDING")]
    pub status: String,
    /// The credential version the runtime gets.
    pub active_version: Option<i32>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// On a single connector: its credential versions, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<KeyVersion>>,
    /// On a single connector, and on one just installed: its setup requests
    /// with their links, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<SetupRequest>>,
    /// On a single connector: the credentials entered (`not_checked`: their
    /// shape was checked, the connector's API was not called).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validations: Option<Vec<Validation>>,
}

impl Connector {
    fn of(row: ConnectionRow, installation: InstallationRow) -> Self {
        Connector {
            connector_id: row.connection_id,
            tenant_id: installation.tenant_id,
            workspace_id: installation.workspace_id,
            name: row.name,
            kind: row.kind,
            base_url: row.base_url,
            settings: installation.settings,
            status: row.status,
            active_version: row.active_version,
            created_at: row.created_at,
            created_by: row.created_by,
            updated_at: row.updated_at,
            keys: None,
            requests: None,
            validations: None,
        }
    }
}

/// Installs a connector in a workspace of `tenant`, without credentials, with
/// its initial setup request.
pub async fn connector_install<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    new: Result<NewConnector, ApiError>,
) -> Result<Connector, ApiError> {
    let loopback_http = app.setup.loopback_http;
    let mut installed = None;
    let (row, request, at) = create_with_request(auth, app, Owner::Connectors(tenant), |at, by| {
        let made = new?.row(tenant, loopback_http, at, by)?;
        installed.clone_from(&made.1);
        Ok(made)
    })
    .await?;
    let installation =
        installed.ok_or_else(|| ApiError::internal("a connector without its installation"))?;
    let mut view = Connector::of(row, installation);
    view.requests = Some(vec![SetupRequest::of(request, Vec::new(), at)]);
    Ok(view)
}

/// The connectors installed for `tenant`, in `workspace` when one is named.
pub async fn connector_list<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    workspace: Option<&str>,
) -> Result<Vec<Connector>, ApiError> {
    let owner = Owner::Connectors(tenant);
    permit_for(app, auth, owner).await?;
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &owner.scope(), async |conn| {
        connectors_of_tenant_on_conn(conn, &tenant.to_string(), workspace).await
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|(row, installation)| Connector::of(row, installation))
        .collect())
}

/// A connector with its credential versions, setup requests and links, and
/// validations.
pub async fn connector_get<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<Connector, ApiError> {
    let owner = Owner::Connectors(tenant);
    permit_for(app, auth, owner).await?;
    let at = now();
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &owner.scope(), async |conn| {
        let row = connection_get_on_conn(conn, id, false)
            .await?
            .filter(|row| owner.owns(row))
            .ok_or_else(|| ApiError::not_found("connector"))?;
        let installation = installation_get_on_conn(conn, id)
            .await?
            .ok_or_else(|| ApiError::not_found("connector"))?;
        let details = Details::of_on_conn(conn, id, at).await?;
        let mut view = Connector::of(row, installation);
        view.keys = Some(details.keys);
        view.requests = Some(details.requests);
        view.validations = Some(details.validations);
        Ok(view)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entered(pairs: &[(&str, &str)]) -> BTreeMap<String, SecretString> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::from((*v).to_owned())))
            .collect()
    }

    #[test]
    fn credentials_are_sealed_as_one_json_object_of_the_kinds_fields() {
        let sealed = credentials_sealable(
            ConnectorKind::ConnectWiseManage,
            entered(&[
                ("public_key", "AbCdEf0123456789"),
                ("private_key", " ZyXwVu9876543210\n"),
            ]),
        )
        .unwrap();
        assert_eq!(
            sealed.expose_secret(),
            r#"{"private_key":"ZyXwVu9876543210","public_key":"AbCdEf0123456789"}"#
        );
    }

    #[test]
    fn missing_extra_or_misshapen_credentials_are_refused_without_their_values() {
        let cases = [
            entered(&[("public_key", "AbCdEf0123456789")]),
            entered(&[
                ("public_key", "AbCdEf0123456789"),
                ("private_key", "short-secret-xx"),
            ]),
            entered(&[
                ("public_key", "AbCdEf0123456789"),
                ("private_key", "ZyXwVu9876543210"),
                ("password", "canary-value"),
            ]),
        ];
        for case in cases {
            let err = credentials_sealable(ConnectorKind::ConnectWiseManage, case).unwrap_err();
            let text = format!("{err:?}");
            assert!(!text.contains("short-secret-xx") && !text.contains("canary-value"));
        }
    }

    #[test]
    fn identifiers_are_checked_for_their_format() {
        assert!(Shape::Guid.fits("3f2504e0-4f89-11d3-9a0c-0305e82c3301"));
        assert!(!Shape::Guid.fits("3f2504e04f8911d39a0c0305e82c3301"));
        assert!(Shape::Alnum(16).fits("AbCdEf0123456789"));
        assert!(!Shape::Alnum(16).fits("AbCdEf012345678-"));
        assert!(!Shape::Text(4).fits("12345"));
        assert!(!Shape::Text(4).fits(""));
    }
}
