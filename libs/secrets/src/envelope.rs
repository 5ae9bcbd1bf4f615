//! The `envelope` backend: the region's key-encryption keys held by the service
//! (from a file or the environment). Each secret's data key is wrapped with
//! AES-256-GCM under the primary key, bound to the same tenant, owner and
//! version as the secret; older keys still unwrap what they wrapped, and
//! [`EnvelopeStore::rewrap`] moves a secret to the primary.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::{
    Binding, Sealed, SecretError, SecretStore, data_key, decrypt, encrypt, open_with, seal_with,
};

/// The backend's name in [`Sealed::backend`].
const BACKEND: &str = "envelope";

/// A key-encryption key: 256 bits, named by a digest of itself.
pub struct Kek {
    id: String,
    key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Kek {
    /// The key of these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Kek {
        let mut hasher = Sha256::new();
        hasher.update(b"plinth-kek-id/v1 ");
        hasher.update(bytes);
        let digest = hasher.finalize();
        let id = digest[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        Kek {
            id: format!("kek-{id}"),
            key: Zeroizing::new(bytes),
        }
    }

    /// A new random key.
    pub fn generate() -> Kek {
        Kek::from_bytes(*data_key())
    }

    /// The key written as 64 hex digits or as base64 of its 32 bytes (surrounding
    /// whitespace ignored), as a key file or an environment variable holds it.
    pub fn parse(text: &str) -> Result<Kek, SecretError> {
        let text = Zeroizing::new(text.trim().to_owned());
        let bytes: Zeroizing<Vec<u8>> = if text.len() == 64
            && text.bytes().all(|b| b.is_ascii_hexdigit())
        {
            Zeroizing::new(
                (0..32)
                    .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or_default())
                    .collect(),
            )
        } else {
            Zeroizing::new(STANDARD.decode(text.as_bytes()).map_err(|_| {
                SecretError::Config(
                    "a key-encryption key is 64 hex digits or base64 of 32 bytes".into(),
                )
            })?)
        };
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            SecretError::Config(format!(
                "a key-encryption key is 32 bytes, this one is {}",
                bytes.len()
            ))
        })?;
        Ok(Kek::from_bytes(key))
    }

    /// The key as base64, for a key file.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(STANDARD.encode(*self.key))
    }

    /// Its id, as [`Sealed::key_id`] names it.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Envelope encryption with the region's key-encryption keys: the primary wraps,
/// every configured key unwraps what it wrapped.
#[derive(Debug)]
pub struct EnvelopeStore {
    primary: Kek,
    older: Vec<Kek>,
}

impl EnvelopeStore {
    /// A store that wraps with `primary` and still unwraps with `older`.
    pub fn new(primary: Kek, older: Vec<Kek>) -> EnvelopeStore {
        EnvelopeStore { primary, older }
    }

    /// The id of the key new secrets are wrapped with.
    pub fn primary_id(&self) -> &str {
        self.primary.id()
    }

    fn kek(&self, id: &str) -> Result<&Kek, SecretError> {
        std::iter::once(&self.primary)
            .chain(&self.older)
            .find(|k| k.id == id)
            .ok_or_else(|| SecretError::UnknownKey(id.to_owned()))
    }

    /// The data key of `sealed`, unwrapped.
    fn unwrap_key(
        &self,
        binding: &Binding<'_>,
        sealed: &Sealed,
    ) -> Result<Zeroizing<[u8; 32]>, SecretError> {
        if sealed.backend != BACKEND {
            return Err(SecretError::OtherBackend(sealed.backend.clone()));
        }
        let kek = self.kek(&sealed.key_id)?;
        let Some((nonce, wrapped)) = sealed.wrapped_key.split_at_checked(12) else {
            return Err(SecretError::Undecryptable);
        };
        let key = decrypt(&kek.key, binding, b"data-key", nonce, wrapped)?;
        let key: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| SecretError::Undecryptable)?;
        Ok(Zeroizing::new(key))
    }

    fn wrap_key(&self, binding: &Binding<'_>, key: &[u8; 32]) -> Vec<u8> {
        let (nonce, wrapped) = encrypt(&self.primary.key, binding, b"data-key", key);
        [nonce, wrapped].concat()
    }

    /// `sealed` with its data key wrapped by the primary key instead (after the
    /// key-encryption key was rotated); the secret's ciphertext is unchanged.
    pub fn rewrap(&self, binding: &Binding<'_>, sealed: &Sealed) -> Result<Sealed, SecretError> {
        let key = self.unwrap_key(binding, sealed)?;
        Ok(Sealed {
            key_id: self.primary.id.clone(),
            wrapped_key: self.wrap_key(binding, &key),
            ..sealed.clone()
        })
    }
}

impl SecretStore for EnvelopeStore {
    async fn seal(
        &self,
        binding: &Binding<'_>,
        secret: &SecretString,
    ) -> Result<Sealed, SecretError> {
        let key = data_key();
        let wrapped = self.wrap_key(binding, &key);
        Ok(seal_with(
            &key,
            binding,
            secret,
            (BACKEND, &self.primary.id, wrapped),
        ))
    }

    async fn open(
        &self,
        binding: &Binding<'_>,
        sealed: &Sealed,
    ) -> Result<SecretString, SecretError> {
        let key = self.unwrap_key(binding, sealed)?;
        open_with(&key, binding, sealed)
    }
}
