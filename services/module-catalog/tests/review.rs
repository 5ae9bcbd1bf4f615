//! The trust review on the example releases (`examples/modules/`): each passes
//! every check once signed by a trusted signer; each broken example fails its own
//! check alone, with the problems it names; a signature counts only from a
//! trusted key, valid now, for the release's source, over exactly its bytes.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::EncodePublicKey as _;
use module_catalog::dsse::{Algorithm, Envelope, MANIFEST_TYPE, PublicKey};
use module_catalog::review::{CheckState, Context, Policy, Review, Submission, TrustedKey, review};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/modules")
}

fn read(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn policy() -> Policy {
    Policy {
        allowed_sources: vec![
            "github.com/plinth-modules".into(),
            "gitlab.com/plinth-modules".into(),
        ],
        runtime_kinds: BTreeSet::from(["container".to_owned()]),
        platform_version: semver::Version::new(1, 2, 0),
        connectors: ["servicenow", "slack", "erp"]
            .into_iter()
            .map(str::to_owned)
            .collect(),
    }
}

/// A signer of the tests' own: an Ed25519 key from `seed`.
struct Key {
    signing: ed25519_dalek::SigningKey,
    key_id: String,
}

impl Key {
    fn new(seed: u8) -> Self {
        Key {
            signing: ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
            key_id: format!("release-key-{seed}"),
        }
    }

    fn sign(&self, body: &[u8]) -> Envelope {
        Envelope::sign(MANIFEST_TYPE, body, &self.key_id, |m| {
            self.signing.sign(m).to_vec()
        })
    }

    fn trusted(&self, sources: &[&str]) -> TrustedKey {
        let now = OffsetDateTime::now_utc();
        let pem = self
            .signing
            .verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap();
        TrustedKey {
            signer_id: format!("sig-{}", self.key_id),
            identity: "Plinth module release pipeline".into(),
            key_id: self.key_id.clone(),
            key: PublicKey::parse(Algorithm::Ed25519, &pem).unwrap(),
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(365),
            revoked: false,
        }
    }
}

fn run(
    body: &[u8],
    envelope: Option<&Envelope>,
    artifact: Option<&str>,
    signers: &[TrustedKey],
    taken: &BTreeMap<String, String>,
) -> Review {
    review(
        &Submission {
            body,
            envelope,
            artifact_sha256: artifact,
        },
        &Context {
            policy: &policy(),
            signers,
            taken_tools: taken,
            now: OffsetDateTime::now_utc(),
        },
    )
}

fn states(review: &Review) -> Vec<(String, CheckState)> {
    review
        .checks
        .iter()
        .map(|c| (c.check.clone(), c.state))
        .collect()
}

/// The failed checks, each with its problems as (code, pointer).
fn failures(review: &Review) -> Vec<(String, Vec<(String, String)>)> {
    review
        .checks
        .iter()
        .filter(|c| c.state == CheckState::Failed)
        .map(|c| {
            (
                c.check.clone(),
                c.problems
                    .iter()
                    .map(|p| (p.code.clone(), p.pointer.clone()))
                    .collect(),
            )
        })
        .collect()
}

const RELEASES: [&str; 4] = [
    "itsm-triage-agent-1.0.0.json",
    "itsm-triage-agent-1.1.0.json",
    "finance-dispute-assistant-2.3.0.json",
    "knowledge-summarizer-0.9.0.json",
];

#[test]
fn every_example_release_passes_every_check_once_a_trusted_signer_signs_it() {
    let key = Key::new(1);
    let signers = [key.trusted(&["github.com/plinth-modules", "gitlab.com"])];
    for name in RELEASES {
        let body = std::fs::read(examples().join(name)).unwrap();
        let signed = run(
            &body,
            Some(&key.sign(&body)),
            None,
            &signers,
            &BTreeMap::new(),
        );
        assert!(signed.passed(), "{name}: {:?}", failures(&signed));
        assert_eq!(
            signed.signer_id.as_deref(),
            Some("sig-release-key-1"),
            "{name}"
        );
        // Unsigned, only the signature check fails: nobody vouches for it.
        let unsigned = run(&body, None, None, &signers, &BTreeMap::new());
        assert_eq!(
            failures(&unsigned),
            [(
                "signature".to_owned(),
                vec![("unsigned".to_owned(), String::new())]
            )],
            "{name}"
        );
    }
}

#[test]
fn each_broken_example_fails_its_own_check_alone() {
    let key = Key::new(1);
    let signers = [key.trusted(&[
        "github.com/plinth-modules",
        "github.com/someone-else",
        "git.unknown.example",
    ])];
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(examples().join("invalid")).unwrap() {
        let path = entry.unwrap().path();
        let example = read(path.clone());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let body = serde_json::to_vec(&example["manifest"]).unwrap();
        let artifact = example["artifact"]
            .as_str()
            .map(|a| plinth_documents::sha256_hex(a.as_bytes()));
        // Tools other modules provide: those of the releases imported first.
        let mut taken = BTreeMap::new();
        for first in example["imported_first"].as_array().into_iter().flatten() {
            let other = read(examples().join(first.as_str().unwrap()));
            for tool in other["tools"].as_array().unwrap() {
                taken.insert(
                    tool["id"].as_str().unwrap().to_owned(),
                    other["id"].as_str().unwrap().to_owned(),
                );
            }
        }
        let result = run(
            &body,
            Some(&key.sign(&body)),
            artifact.as_deref(),
            &signers,
            &taken,
        );
        let check = example["check"].as_str().unwrap();
        let expected: Vec<(String, String)> = example["expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                assert_eq!(e["check"], check, "{name}");
                (
                    e["code"].as_str().unwrap().to_owned(),
                    e["pointer"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(failures(&result), [(check.to_owned(), expected)], "{name}");
        // Every other check passed, or, after a schema failure, did not run.
        for (other, state) in states(&result) {
            if other != check {
                let expected = if check == "schema" {
                    CheckState::Skipped
                } else {
                    CheckState::Passed
                };
                assert_eq!(state, expected, "{name}: {other}");
            }
        }
        seen.push(check.to_owned());
    }
    seen.sort();
    seen.dedup();
    // One broken example at least for every check but the signature's, which
    // the tests below break with keys of their own.
    assert_eq!(
        seen,
        ["digest", "references", "runtime", "schema", "source"]
    );
}

fn signature_failure(review: &Review) -> String {
    let failed = failures(review);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "signature");
    failed[0].1[0].0.clone()
}

#[test]
fn a_signature_counts_only_from_a_trusted_key_valid_now_for_the_source() {
    let body = std::fs::read(examples().join("itsm-triage-agent-1.0.0.json")).unwrap();
    let trusted = Key::new(1);
    let stranger = Key::new(2);
    let none = BTreeMap::new();
    let signers = [trusted.trusted(&["github.com/plinth-modules"])];

    // A valid signature from a key the platform does not trust is no trust.
    let by_stranger = run(&body, Some(&stranger.sign(&body)), None, &signers, &none);
    assert_eq!(signature_failure(&by_stranger), "signer_unknown");
    // Even when the stranger reuses a trusted key's id.
    let mut impostor = stranger.sign(&body);
    impostor.signatures[0].keyid = trusted.key_id.clone();
    let by_impostor = run(&body, Some(&impostor), None, &signers, &none);
    assert_eq!(signature_failure(&by_impostor), "signature_invalid");

    // One changed byte of the manifest breaks the signature.
    let envelope = trusted.sign(&body);
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'1').unwrap();
    tampered[at] = b'2';
    let changed = run(&tampered, Some(&envelope), None, &signers, &none);
    assert_eq!(signature_failure(&changed), "signature_invalid");

    // A trusted key signs for its own sources only.
    let elsewhere = [trusted.trusted(&["gitlab.com/plinth-modules"])];
    let wrong_source = run(&body, Some(&envelope), None, &elsewhere, &none);
    assert_eq!(
        signature_failure(&wrong_source),
        "signer_not_trusted_for_source"
    );

    // Revoked, or outside its validity window, a key vouches for nothing.
    let mut revoked = trusted.trusted(&["github.com/plinth-modules"]);
    revoked.revoked = true;
    let after_revocation = run(&body, Some(&envelope), None, &[revoked], &none);
    assert_eq!(signature_failure(&after_revocation), "signer_revoked");
    let mut expired = trusted.trusted(&["github.com/plinth-modules"]);
    expired.not_after = OffsetDateTime::now_utc() - Duration::minutes(1);
    let after_expiry = run(&body, Some(&envelope), None, &[expired], &none);
    assert_eq!(signature_failure(&after_expiry), "signer_not_valid_now");

    // Of several signatures, a trusted one is enough.
    let mut both = stranger.sign(&body);
    both.signatures.extend(envelope.signatures.clone());
    assert!(run(&body, Some(&both), None, &signers, &none).passed());

    // Another payload type is not a manifest, whatever the signature.
    let mut typed = envelope.clone();
    typed.payload_type = "application/json".into();
    assert_eq!(
        signature_failure(&run(&body, Some(&typed), None, &signers, &none)),
        "payload_type"
    );
}

#[test]
fn an_ecdsa_p256_signer_is_trusted_like_an_ed25519_one() {
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::EncodePublicKey as _;
    let body = std::fs::read(examples().join("finance-dispute-assistant-2.3.0.json")).unwrap();
    let key = p256::ecdsa::SigningKey::from_slice(&[5u8; 32]).unwrap();
    let envelope = Envelope::sign(MANIFEST_TYPE, &body, "p256-key", |m| {
        let signature: p256::ecdsa::Signature = key.sign(m);
        signature.to_der().as_bytes().to_vec()
    });
    let now = OffsetDateTime::now_utc();
    let signer = TrustedKey {
        signer_id: "sig-p256".into(),
        identity: "Finance modules release team".into(),
        key_id: "p256-key".into(),
        key: PublicKey::parse(
            Algorithm::EcdsaP256,
            &key.verifying_key()
                .to_public_key_pem(Default::default())
                .unwrap(),
        )
        .unwrap(),
        sources: vec!["github.com/plinth-modules".into()],
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(1),
        revoked: false,
    };
    let reviewed = run(&body, Some(&envelope), None, &[signer], &BTreeMap::new());
    assert!(reviewed.passed(), "{:?}", failures(&reviewed));
    assert_eq!(reviewed.signer_id.as_deref(), Some("sig-p256"));
}

#[test]
fn a_manifest_that_is_not_json_fails_the_schema_check_and_skips_the_rest() {
    let reviewed = run(b"{\"kind\": ", None, None, &[], &BTreeMap::new());
    assert_eq!(
        failures(&reviewed),
        [(
            "schema".to_owned(),
            vec![("not_json".to_owned(), String::new())]
        )]
    );
    assert!(
        reviewed.checks[1..]
            .iter()
            .all(|c| c.state == CheckState::Skipped)
    );
}

/// An envelope made and signed by an independent implementation —
/// securesystemslib, the library in-toto and TUF build on — with an Ed25519 and
/// an ECDSA P-256 key: each signature is accepted from its key alone.
#[test]
fn an_envelope_signed_by_securesystemslib_is_verified() {
    let python = std::env::var("PLINTH_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("PLINTH_TEST_PYTHON names the tests' Python (make test sets it)")
    });
    let manifest = examples().join("itsm-triage-agent-1.1.0.json");
    let out = std::process::Command::new(python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sslib_sign.py"))
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let envelope: Envelope = serde_json::from_value(signed["envelope"].clone()).unwrap();
    let body = envelope.body().unwrap();
    assert_eq!(body, std::fs::read(&manifest).unwrap());
    let now = OffsetDateTime::now_utc();
    let keys: Vec<TrustedKey> = signed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| TrustedKey {
            signer_id: format!("sig-{}", k["algorithm"].as_str().unwrap()),
            identity: "securesystemslib".into(),
            key_id: k["keyid"].as_str().unwrap().to_owned(),
            key: PublicKey::parse(
                Algorithm::parse(k["algorithm"].as_str().unwrap()).unwrap(),
                k["public_key"].as_str().unwrap(),
            )
            .unwrap(),
            sources: vec!["github.com/plinth-modules".into()],
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(1),
            revoked: false,
        })
        .collect();
    assert_eq!(keys.len(), 2);
    for key in &keys {
        let reviewed = run(
            &body,
            Some(&envelope),
            None,
            std::slice::from_ref(key),
            &BTreeMap::new(),
        );
        assert!(
            reviewed.passed(),
            "{}: {:?}",
            key.signer_id,
            failures(&reviewed)
        );
        assert_eq!(reviewed.signer_id.as_ref(), Some(&key.signer_id));
    }
    // One letter of the description, upper-cased: still a valid manifest.
    let mut tampered = body.clone();
    let at = body.windows(8).position(|w| w == b"notifies").unwrap();
    tampered[at] = b'N';
    let changed = run(&tampered, Some(&envelope), None, &keys, &BTreeMap::new());
    assert_eq!(signature_failure(&changed), "signature_invalid");
}
