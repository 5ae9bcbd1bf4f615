//! The region's secret store, as the settings choose it: `envelope` (the
//! key-encryption key from the settings or a file) or `vault` (Vault's transit
//! engine). Both seal with a fresh data key per key version.

use plinth_secrets::{Binding, EnvelopeStore, Kek, Sealed, SecretError, SecretStore, VaultStore};
use secrecy::{ExposeSecret as _, SecretString};

use plinth_core::ApiError;

use crate::settings::SecretSettings;
use crate::store::{ConnectionRow, KeyVersionRow};

/// The binding tenant of a pooled connection's keys (the platform's).
pub const PLATFORM_BINDING: &str = "platform";

/// What `connection`'s key `version` is sealed for: its tenant (the platform,
/// for a pooled connection), the connection, the version.
pub fn binding(connection: &ConnectionRow, version: i32) -> Result<Binding<'_>, ApiError> {
    Ok(Binding {
        tenant: connection.tenant_id.as_deref().unwrap_or(PLATFORM_BINDING),
        owner: &connection.connection_id,
        version: u32::try_from(version).map_err(ApiError::internal)?,
    })
}

/// The backend in use.
#[derive(Debug)]
pub enum Keys {
    Envelope(EnvelopeStore),
    Vault(Box<VaultStore>),
}

fn read_kek(path: &str) -> Result<Kek, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("the key-encryption key file {path} cannot be read: {e}"))?;
    Kek::parse(&text).map_err(|e| format!("{path}: {e}"))
}

impl Keys {
    /// The store `settings` describe; a missing or malformed key is an error
    /// naming what is wrong, never the key.
    pub fn of(settings: &SecretSettings) -> Result<Keys, String> {
        match settings.backend.as_str() {
            "envelope" => {
                let primary = match (&settings.kek, &settings.kek_file) {
                    (Some(kek), None) => {
                        Kek::parse(kek.expose_secret()).map_err(|e| format!("secrets.kek: {e}"))?
                    }
                    (None, Some(path)) => read_kek(path)?,
                    _ => {
                        return Err(
                            "the envelope backend needs exactly one of secrets.kek and secrets.kek_file"
                                .to_owned(),
                        );
                    }
                };
                let older = settings
                    .older_kek_files
                    .iter()
                    .map(|p| read_kek(p))
                    .collect::<Result<_, _>>()?;
                Ok(Keys::Envelope(EnvelopeStore::new(primary, older)))
            }
            "vault" => {
                let vault = settings
                    .vault
                    .as_ref()
                    .ok_or("the vault backend needs secrets.vault")?;
                VaultStore::new(&vault.address, &vault.token, &vault.mount, &vault.key)
                    .map(|store| Keys::Vault(Box::new(store)))
                    .map_err(|e| e.to_string())
            }
            other => Err(format!(
                "secrets.backend is `envelope` or `vault`, not {other:?}"
            )),
        }
    }

    pub async fn seal(
        &self,
        binding: &Binding<'_>,
        secret: &SecretString,
    ) -> Result<Sealed, SecretError> {
        match self {
            Keys::Envelope(store) => store.seal(binding, secret).await,
            Keys::Vault(store) => store.seal(binding, secret).await,
        }
    }

    /// The key `version` of `connection` holds, opened; a destroyed version is
    /// `gone`, a store that cannot open it `unavailable`.
    pub async fn open_version(
        &self,
        connection: &ConnectionRow,
        version: &KeyVersionRow,
    ) -> Result<SecretString, ApiError> {
        let (Some(wrapped_key), Some(nonce), Some(ciphertext)) = (
            version.wrapped_key.clone(),
            version.nonce.clone(),
            version.ciphertext.clone(),
        ) else {
            return Err(ApiError::gone("the key version was destroyed"));
        };
        let sealed = Sealed {
            backend: version.backend.clone(),
            key_id: version.key_id.clone(),
            wrapped_key,
            nonce,
            ciphertext,
        };
        self.open(&binding(connection, version.version)?, &sealed)
            .await
            .map_err(|e| ApiError::unavailable("the key cannot be opened now").with_internal(e))
    }

    pub async fn open(
        &self,
        binding: &Binding<'_>,
        sealed: &Sealed,
    ) -> Result<SecretString, SecretError> {
        match self {
            Keys::Envelope(store) => store.open(binding, sealed).await,
            Keys::Vault(store) => store.open(binding, sealed).await,
        }
    }
}
