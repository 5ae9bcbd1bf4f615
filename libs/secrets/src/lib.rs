//! Secrets at rest — AI provider keys, connector credentials — by envelope
//! encryption: every secret gets a fresh AES-256-GCM data key, its ciphertext is
//! bound (as associated data) to the tenant, the owner (a connection, an
//! installation) and the version it belongs to, and the data key is kept only
//! wrapped by the region's key-encryption key. What is stored, [`Sealed`], holds
//! no plaintext; deleting its wrapped data key makes it unreadable for good
//! (crypto-shredding).
//!
//! Backends sit behind [`SecretStore`]: [`EnvelopeStore`] holds the
//! key-encryption keys itself (from a file or the environment: the default);
//! [`VaultStore`] has Vault's transit engine wrap and unwrap the data keys, the
//! key-encryption key never leaving Vault.
//! Secret values travel as [`SecretString`]: never printed, zeroed when dropped.

#![warn(missing_docs)]

mod envelope;
mod vault;

use std::future::Future;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
pub use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use crate::envelope::{EnvelopeStore, Kek};
pub use crate::vault::VaultStore;

/// What a secret belongs to. Its ciphertext opens only for the same binding, so
/// a sealed secret copied to another tenant's, owner's or version's row is
/// useless there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The tenant whose secret it is.
    pub tenant: &'a str,
    /// What in the tenant holds it: a provider connection, a connector installation.
    pub owner: &'a str,
    /// The owner's secret version (a rotation makes a new one).
    pub version: u32,
}

impl Binding<'_> {
    /// The associated data of a secret's encryption: every field length-prefixed,
    /// so no two bindings share it.
    fn associated_data(&self, purpose: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.tenant.len() + self.owner.len());
        out.extend_from_slice(b"plinth-secret/v1 ");
        out.extend_from_slice(purpose);
        for field in [self.tenant.as_bytes(), self.owner.as_bytes()] {
            out.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(field);
        }
        out.extend_from_slice(&self.version.to_be_bytes());
        out
    }
}

/// A secret as it is stored: the ciphertext, the data key wrapped, and which key
/// wrapped it. Nothing in it is the secret or its data key in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The backend that wrapped the data key (`envelope`).
    pub backend: String,
    /// The key-encryption key that wrapped it.
    pub key_id: String,
    /// The data key, wrapped.
    pub wrapped_key: Vec<u8>,
    /// The nonce of the secret's encryption (96 bits).
    pub nonce: Vec<u8>,
    /// The secret, encrypted with the data key (with its 128-bit tag).
    pub ciphertext: Vec<u8>,
}

/// Why a secret could not be sealed or opened. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The ciphertext, the wrapped key or the binding does not match: tampered
    /// with, moved to another row, or shredded.
    #[error("the secret cannot be decrypted: it was altered, belongs elsewhere, or was destroyed")]
    Undecryptable,
    /// No key-encryption key with this id is configured.
    #[error("no key-encryption key {0:?} is configured")]
    UnknownKey(String),
    /// The sealed secret names another backend.
    #[error("the secret was sealed by the {0:?} backend")]
    OtherBackend(String),
    /// The configuration of a backend is unusable.
    #[error("secret store configuration: {0}")]
    Config(String),
    /// The backend did not answer, or refused the service (Vault down, a token
    /// without the policy).
    #[error("the secret store is unavailable: {0}")]
    Unavailable(String),
}

/// Seals and opens secrets. Every backend wraps a fresh data key per secret.
pub trait SecretStore: Send + Sync {
    /// `secret` encrypted for `binding`.
    fn seal(
        &self,
        binding: &Binding<'_>,
        secret: &SecretString,
    ) -> impl Future<Output = Result<Sealed, SecretError>> + Send;

    /// The secret `sealed` holds, when `binding` is the one it was sealed for.
    fn open(
        &self,
        binding: &Binding<'_>,
        sealed: &Sealed,
    ) -> impl Future<Output = Result<SecretString, SecretError>> + Send;
}

/// A fresh 256-bit data key.
fn data_key() -> Zeroizing<[u8; 32]> {
    Zeroizing::new(Aes256Gcm::generate_key(OsRng).into())
}

/// `plaintext` encrypted with `key` for `binding` and `purpose`: a fresh nonce
/// and the ciphertext.
fn encrypt(
    key: &[u8; 32],
    binding: &Binding<'_>,
    purpose: &[u8],
    plaintext: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let aad = binding.associated_data(purpose);
    #[expect(
        clippy::expect_used,
        reason = "AES-GCM encryption fails only for plaintexts of gigabytes"
    )]
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("a secret encrypts");
    (nonce.to_vec(), ciphertext)
}

/// The plaintext of `ciphertext`, or [`SecretError::Undecryptable`].
fn decrypt(
    key: &[u8; 32],
    binding: &Binding<'_>,
    purpose: &[u8],
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    if nonce.len() != 12 {
        return Err(SecretError::Undecryptable);
    }
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let aad = binding.associated_data(purpose);
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| SecretError::Undecryptable)
}

/// The secret encrypted with `data_key`, whose wrapped form (by `key_id` of
/// `backend`) goes with it.
fn seal_with(
    data_key: &[u8; 32],
    binding: &Binding<'_>,
    secret: &SecretString,
    (backend, key_id, wrapped_key): (&str, &str, Vec<u8>),
) -> Sealed {
    let (nonce, ciphertext) = encrypt(
        data_key,
        binding,
        b"secret",
        secret.expose_secret().as_bytes(),
    );
    Sealed {
        backend: backend.to_owned(),
        key_id: key_id.to_owned(),
        wrapped_key,
        nonce,
        ciphertext,
    }
}

/// The secret of `sealed`, opened with its data key.
fn open_with(
    key: &[u8; 32],
    binding: &Binding<'_>,
    sealed: &Sealed,
) -> Result<SecretString, SecretError> {
    let plain = decrypt(key, binding, b"secret", &sealed.nonce, &sealed.ciphertext)?;
    let text = std::str::from_utf8(&plain).map_err(|_| SecretError::Undecryptable)?;
    Ok(SecretString::from(text.to_owned()))
}
