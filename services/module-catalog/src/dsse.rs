//! DSSE envelopes (the in-toto / Sigstore signature envelope): a payload, its
//! type, and signatures over the pre-authentication encoding of both, so that a
//! signature can never be taken for one over other bytes or another type.
//! Keys are Ed25519 or ECDSA P-256 (SHA-256), given as PEM (SubjectPublicKeyInfo)
//! or, for Ed25519, as the 32-byte key in hex; ECDSA signatures are accepted
//! DER-encoded or as the fixed 64 bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The payload type of a signed module manifest.
pub const MANIFEST_TYPE: &str = "application/vnd.plinth.module-manifest+json";

/// A DSSE envelope as JSON carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The payload's type: `application/vnd.plinth.module-manifest+json`.
    pub payload_type: String,
    /// The payload (the manifest's JSON bytes), base64.
    pub payload: String,
    pub signatures: Vec<Signature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Signature {
    /// Which key signed, as the signer names it; may be empty.
    #[serde(default)]
    pub keyid: String,
    /// The signature, base64.
    pub sig: String,
}

/// Why an envelope cannot be read or a key used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsseError {
    #[error("the envelope's {0} is not base64")]
    NotBase64(&'static str),
    #[error("the key is not a {0} public key")]
    BadKey(&'static str),
    #[error("unknown key algorithm `{0}`: ed25519 or ecdsa-p256")]
    UnknownAlgorithm(String),
}

/// The key algorithms a trusted signer may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Ed25519,
    EcdsaP256,
}

impl Algorithm {
    pub fn parse(name: &str) -> Result<Self, DsseError> {
        match name {
            "ed25519" => Ok(Algorithm::Ed25519),
            "ecdsa-p256" => Ok(Algorithm::EcdsaP256),
            other => Err(DsseError::UnknownAlgorithm(other.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256 => "ecdsa-p256",
        }
    }
}

/// `PAE(type, body)`: `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

impl Envelope {
    /// The payload's bytes.
    pub fn body(&self) -> Result<Vec<u8>, DsseError> {
        STANDARD
            .decode(&self.payload)
            .map_err(|_| DsseError::NotBase64("payload"))
    }

    /// An envelope of `body` with one signature made by `sign` over its PAE.
    pub fn sign(
        payload_type: &str,
        body: &[u8],
        keyid: &str,
        sign: impl FnOnce(&[u8]) -> Vec<u8>,
    ) -> Envelope {
        let sig = sign(&pae(payload_type, body));
        Envelope {
            payload_type: payload_type.to_owned(),
            payload: STANDARD.encode(body),
            signatures: vec![Signature {
                keyid: keyid.to_owned(),
                sig: STANDARD.encode(sig),
            }],
        }
    }
}

/// A public key that verifies signatures.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    EcdsaP256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// Reads `text` (PEM, or for Ed25519 also 64 hex digits) as a key of `algorithm`.
    pub fn parse(algorithm: Algorithm, text: &str) -> Result<Self, DsseError> {
        use ed25519_dalek::pkcs8::DecodePublicKey as _;
        let text = text.trim();
        match algorithm {
            Algorithm::Ed25519 => {
                if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
                    let mut raw = [0u8; 32];
                    for (i, byte) in raw.iter_mut().enumerate() {
                        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                            .map_err(|_| DsseError::BadKey("Ed25519"))?;
                    }
                    return ed25519_dalek::VerifyingKey::from_bytes(&raw)
                        .map(PublicKey::Ed25519)
                        .map_err(|_| DsseError::BadKey("Ed25519"));
                }
                ed25519_dalek::VerifyingKey::from_public_key_pem(text)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| DsseError::BadKey("Ed25519"))
            }
            Algorithm::EcdsaP256 => {
                use p256::pkcs8::DecodePublicKey as _;
                p256::ecdsa::VerifyingKey::from_public_key_pem(text)
                    .map(PublicKey::EcdsaP256)
                    .map_err(|_| DsseError::BadKey("ECDSA P-256"))
            }
        }
    }

    /// Whether `sig` (base64) is this key's signature of `payload_type` and
    /// `body` (over their PAE).
    pub fn verifies(&self, payload_type: &str, body: &[u8], sig: &str) -> bool {
        let Ok(sig) = STANDARD.decode(sig) else {
            return false;
        };
        let message = pae(payload_type, body);
        match self {
            PublicKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(&sig)
                .is_ok_and(|s| key.verify_strict(&message, &s).is_ok()),
            PublicKey::EcdsaP256(key) => {
                use p256::ecdsa::signature::Verifier as _;
                let parsed = p256::ecdsa::Signature::from_der(&sig)
                    .or_else(|_| p256::ecdsa::Signature::from_slice(&sig));
                parsed.is_ok_and(|s| key.verify(&message, &s).is_ok())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pre_authentication_encoding_is_the_specifications() {
        // The example of the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn an_ed25519_signature_verifies_and_any_changed_byte_breaks_it() {
        use ed25519_dalek::Signer as _;
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let body = br#"{"kind":"ModuleRelease"}"#;
        let envelope = Envelope::sign(MANIFEST_TYPE, body, "k1", |m| key.sign(m).to_vec());
        let pem = key
            .verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap();
        let public = PublicKey::parse(Algorithm::Ed25519, &pem).unwrap();
        let sig = &envelope.signatures[0].sig;
        assert!(public.verifies(MANIFEST_TYPE, &envelope.body().unwrap(), sig));
        let mut tampered = body.to_vec();
        tampered[3] ^= 1;
        assert!(!public.verifies(MANIFEST_TYPE, &tampered, sig));
        assert!(!public.verifies("application/json", body, sig));
        let hex: String = key
            .verifying_key()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let raw = PublicKey::parse(Algorithm::Ed25519, &hex).unwrap();
        assert!(raw.verifies(MANIFEST_TYPE, body, sig));
    }

    #[test]
    fn an_ecdsa_p256_signature_verifies_der_or_fixed() {
        use p256::ecdsa::signature::Signer as _;
        use p256::pkcs8::EncodePublicKey as _;
        let key = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let body = br#"{"kind":"ModuleRelease"}"#;
        let pem = key
            .verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap();
        let public = PublicKey::parse(Algorithm::EcdsaP256, &pem).unwrap();
        let signature: p256::ecdsa::Signature = key.sign(&pae(MANIFEST_TYPE, body));
        for sig in [
            signature.to_der().as_bytes().to_vec(),
            signature.to_bytes().to_vec(),
        ] {
            assert!(public.verifies(MANIFEST_TYPE, body, &STANDARD.encode(&sig)));
        }
        assert!(!public.verifies(MANIFEST_TYPE, b"{}", &STANDARD.encode(signature.to_bytes())));
        assert!(PublicKey::parse(Algorithm::Ed25519, &pem).is_err());
    }
}
