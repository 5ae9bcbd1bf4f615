//! The `vault` backend: Vault's transit engine wraps and unwraps each secret's
//! data key with a named key that never leaves Vault. The data key is still
//! fresh per secret and made here; Vault sees only the data key and the binding
//! (as the encryption's associated data, so a wrapped key moved to another row
//! does not unwrap), never the secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use vaultrs::api::transit::requests::{DecryptDataRequest, EncryptDataRequest};
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;
use zeroize::Zeroizing;

use crate::{Binding, Sealed, SecretError, SecretStore, data_key, open_with, seal_with};

/// The backend's name in [`Sealed::backend`].
const BACKEND: &str = "vault";

/// Envelope encryption whose key-encryption key is a transit key in Vault.
pub struct VaultStore {
    client: VaultClient,
    mount: String,
    key: String,
}

impl std::fmt::Debug for VaultStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultStore")
            .field("mount", &self.mount)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: ClientError) -> SecretError {
    match e {
        ClientError::APIError { code, .. } => {
            SecretError::Unavailable(format!("Vault answered {code}"))
        }
        other => SecretError::Unavailable(other.to_string()),
    }
}

impl VaultStore {
    /// The transit key `key` of the engine mounted at `mount` on the Vault at
    /// `address`, used with `token`.
    pub fn new(
        address: &str,
        token: &SecretString,
        mount: &str,
        key: &str,
    ) -> Result<VaultStore, SecretError> {
        let settings = VaultClientSettingsBuilder::default()
            .address(address)
            .token(token.expose_secret())
            .build()
            .map_err(|e| SecretError::Config(format!("Vault client: {e}")))?;
        let client = VaultClient::new(settings)
            .map_err(|e| SecretError::Config(format!("Vault client: {e}")))?;
        Ok(VaultStore {
            client,
            mount: mount.to_owned(),
            key: key.to_owned(),
        })
    }
}

impl SecretStore for VaultStore {
    async fn seal(
        &self,
        binding: &Binding<'_>,
        secret: &SecretString,
    ) -> Result<Sealed, SecretError> {
        let key = data_key();
        let plaintext = Zeroizing::new(STANDARD.encode(*key));
        let mut request = EncryptDataRequest::builder();
        request.associated_data(STANDARD.encode(binding.associated_data(b"data-key")));
        let wrapped = vaultrs::transit::data::encrypt(
            &self.client,
            &self.mount,
            &self.key,
            &plaintext,
            Some(&mut request),
        )
        .await
        .map_err(unavailable)?;
        Ok(seal_with(
            &key,
            binding,
            secret,
            (BACKEND, &self.key, wrapped.ciphertext.into_bytes()),
        ))
    }

    async fn open(
        &self,
        binding: &Binding<'_>,
        sealed: &Sealed,
    ) -> Result<SecretString, SecretError> {
        if sealed.backend != BACKEND {
            return Err(SecretError::OtherBackend(sealed.backend.clone()));
        }
        if sealed.key_id != self.key {
            return Err(SecretError::UnknownKey(sealed.key_id.clone()));
        }
        let wrapped =
            std::str::from_utf8(&sealed.wrapped_key).map_err(|_| SecretError::Undecryptable)?;
        if !wrapped.starts_with("vault:v") {
            return Err(SecretError::Undecryptable);
        }
        let mut request = DecryptDataRequest::builder();
        request.associated_data(STANDARD.encode(binding.associated_data(b"data-key")));
        let answer = vaultrs::transit::data::decrypt(
            &self.client,
            &self.mount,
            &self.key,
            wrapped,
            Some(&mut request),
        )
        .await
        .map_err(|e| match e {
            // Vault refuses a ciphertext it cannot authenticate with 400.
            ClientError::APIError { code: 400, .. } => SecretError::Undecryptable,
            other => unavailable(other),
        })?;
        let plain = Zeroizing::new(
            STANDARD
                .decode(answer.plaintext.as_bytes())
                .map_err(|_| SecretError::Undecryptable)?,
        );
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| SecretError::Undecryptable)?;
        let key = Zeroizing::new(key);
        open_with(&key, binding, sealed)
    }
}
