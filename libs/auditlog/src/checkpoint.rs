//! Signed checkpoints: a log's size and root at a time, in the C2SP checkpoint
//! format (`<origin>\n<size>\n<base64 root>\n` and a `time` extension line), signed
//! as a C2SP signed note with Ed25519. The origin names the installation and the
//! log (`<origin prefix>/<log>`), so a checkpoint of one log never passes for
//! another's.

use serde::{Deserialize, Serialize};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tlog_tiles::Checkpoint;

use crate::hash::{Hash, hex};

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("the verifier key is not a signed-note verifier key")]
    /// The key given is not a signed-note verifier key.
    BadKey,
    #[error("the signature does not verify with the given key: {0}")]
    /// The note's signature does not verify with the key.
    BadSignature(String),
    #[error("the checkpoint is malformed: {0}")]
    /// The note's text is not a checkpoint.
    Malformed(String),
    #[error("the checkpoint is of log {found}, not {expected}")]
    /// The checkpoint is of another log.
    WrongLog {
        /// The log asked for.
        expected: String,
        /// The log the checkpoint is of.
        found: String,
    },
}

/// A checkpoint as stored, exported and published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    /// The log: a tenant id, or `platform`.
    pub log: String,
    /// How many entries the log held.
    pub size: u64,
    #[serde(with = "hex")]
    /// The Merkle tree root over those entries.
    pub root_hash: Hash,
    #[serde(with = "time::serde::rfc3339")]
    /// When it was signed.
    pub time: OffsetDateTime,
    /// The signed note: what a verifier checks, and all it needs with the key.
    pub note: String,
}

/// What a verified checkpoint says.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedCheckpoint {
    /// The log: a tenant id, or `platform`.
    pub log: String,
    /// How many entries the log held.
    pub size: u64,
    /// The Merkle tree root over those entries.
    pub root_hash: Hash,
    /// When it was signed.
    pub time: OffsetDateTime,
}

/// Signs checkpoints with the installation's log key.
pub struct LogSigner {
    signer: StandardSigner,
    verifier_key: String,
    origin_prefix: String,
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSigner")
            .field("verifier_key", &self.verifier_key)
            .field("origin_prefix", &self.origin_prefix)
            .finish_non_exhaustive()
    }
}

impl LogSigner {
    /// A new key named `name`: the signer, and the private key in the signed-note
    /// format (`PRIVATE+KEY+<name>+<id>+<base64>`) to keep as a secret.
    #[expect(clippy::expect_used, reason = "a fresh key parses")]
    pub fn generate(name: &str, origin_prefix: &str) -> (LogSigner, String) {
        let (skey, _) = signed_note::generate_key(&mut rand_core::OsRng, name);
        let signer = Self::from_private_key(&skey, origin_prefix).expect("a fresh key parses");
        (signer, skey)
    }

    /// The signer of a private key in the signed-note format.
    pub fn from_private_key(skey: &str, origin_prefix: &str) -> Result<LogSigner, CheckpointError> {
        let signer = StandardSigner::new(skey.trim()).map_err(|_| CheckpointError::BadKey)?;
        // The verifier key is derived from the private key's public half.
        // `PRIVATE+KEY+<name>+<id>+<base64>`: the key is all after the fourth `+`.
        let body = skey
            .trim()
            .splitn(5, '+')
            .nth(4)
            .ok_or(CheckpointError::BadKey)?;
        let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body)
            .map_err(|_| CheckpointError::BadKey)?;
        let secret: [u8; 32] = raw
            .get(1..)
            .and_then(|k| k.try_into().ok())
            .ok_or(CheckpointError::BadKey)?;
        let public = ed25519_dalek::SigningKey::from_bytes(&secret).verifying_key();
        let name = signed_note::Signer::name(&signer).to_owned();
        Ok(LogSigner {
            signer,
            verifier_key: signed_note::new_ed25519_verifier_key(&name, &public),
            origin_prefix: origin_prefix.to_owned(),
        })
    }

    /// The key verifiers need: `<name>+<id>+<base64>`.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The prefix of the origin line of every log's checkpoints (`<prefix>/<log>`).
    pub fn origin_prefix(&self) -> &str {
        &self.origin_prefix
    }

    /// Signs `log` at `size` with `root` at `time`.
    #[expect(clippy::expect_used, reason = "times format")]
    pub fn sign(&self, log: &str, size: u64, root: Hash, time: OffsetDateTime) -> SignedCheckpoint {
        let time = time
            .replace_nanosecond(time.nanosecond() / 1000 * 1000)
            .unwrap_or(time);
        let extension = format!("time {}\n", time.format(&Rfc3339).expect("times format"));
        let body = Checkpoint::new(
            &format!("{}/{log}", self.origin_prefix),
            size,
            root,
            &extension,
        )
        .expect("origins and extensions are well formed")
        .to_bytes();
        let mut note = Note::new(&body, &[]).expect("checkpoint bodies are valid notes");
        note.add_sigs(&[&self.signer])
            .expect("the key name is valid");
        SignedCheckpoint {
            log: log.to_owned(),
            size,
            root_hash: root,
            time,
            note: String::from_utf8(note.to_bytes()).expect("notes are UTF-8"),
        }
    }
}

/// Verifies `note` with `verifier_key` and reads it; the log must be `log`.
pub fn open_checkpoint(
    note: &str,
    verifier_key: &str,
    log: &str,
) -> Result<OpenedCheckpoint, CheckpointError> {
    let verifier =
        StandardVerifier::new(verifier_key.trim()).map_err(|_| CheckpointError::BadKey)?;
    let parsed =
        Note::from_bytes(note.as_bytes()).map_err(|e| CheckpointError::Malformed(e.to_string()))?;
    parsed
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| CheckpointError::BadSignature(e.to_string()))?;
    let checkpoint = Checkpoint::from_bytes(parsed.text())
        .map_err(|e| CheckpointError::Malformed(e.to_string()))?;
    let found = checkpoint
        .origin()
        .rsplit_once('/')
        .map(|(_, log)| log)
        .unwrap_or_default();
    if found != log {
        return Err(CheckpointError::WrongLog {
            expected: log.to_owned(),
            found: found.to_owned(),
        });
    }
    let time = checkpoint
        .extension()
        .lines()
        .find_map(|l| l.strip_prefix("time "))
        .ok_or_else(|| CheckpointError::Malformed("no time line".into()))?;
    Ok(OpenedCheckpoint {
        log: log.to_owned(),
        size: checkpoint.size(),
        root_hash: *checkpoint.hash(),
        time: OffsetDateTime::parse(time, &Rfc3339)
            .map_err(|e| CheckpointError::Malformed(format!("time: {e}")))?,
    })
}

impl SignedCheckpoint {
    /// Verifies the note and that it says what the record's fields say.
    pub fn open(&self, verifier_key: &str) -> Result<OpenedCheckpoint, CheckpointError> {
        let opened = open_checkpoint(&self.note, verifier_key, &self.log)?;
        if opened.size != self.size
            || opened.root_hash != self.root_hash
            || opened.time != self.time
        {
            return Err(CheckpointError::Malformed(
                "the signed note and the record's fields disagree".into(),
            ));
        }
        Ok(opened)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_opens_with_its_key_only_and_for_its_log_only() {
        let (signer, skey) = LogSigner::generate("plinth-audit-us", "audit.plinth.test/us");
        let root = tlog_tiles::record_hash(b"root");
        let at = time::macros::datetime!(2026-11-24 08:30:00.123456789 UTC);
        let cp = signer.sign("ten_us_abc", 42, root, at);
        assert!(
            cp.note.starts_with("audit.plinth.test/us/ten_us_abc\n42\n"),
            "{}",
            cp.note
        );
        let opened = cp.open(signer.verifier_key()).unwrap();
        assert_eq!((opened.size, opened.root_hash), (42, root));
        assert_eq!(opened.time.nanosecond(), 123_456_000);

        let again = LogSigner::from_private_key(&skey, "audit.plinth.test/us").unwrap();
        assert_eq!(again.verifier_key(), signer.verifier_key());

        let (other, _) = LogSigner::generate("plinth-audit-us", "audit.plinth.test/us");
        assert!(matches!(
            cp.open(other.verifier_key()),
            Err(CheckpointError::BadSignature(_))
        ));
        assert!(matches!(
            open_checkpoint(&cp.note, signer.verifier_key(), "ten_us_other"),
            Err(CheckpointError::WrongLog { .. })
        ));
        let forged = cp.note.replace("\n42\n", "\n41\n");
        assert!(open_checkpoint(&forged, signer.verifier_key(), "ten_us_abc").is_err());
        let mut lying = cp.clone();
        lying.size = 43;
        assert!(lying.open(signer.verifier_key()).is_err());
    }
}
