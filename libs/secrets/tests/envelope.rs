//! Envelope encryption: a secret opens only with its binding and an intact
//! envelope; every sealing has a fresh data key; a rotated key-encryption key
//! still opens what it wrapped until the secret is rewrapped; a shredded data
//! key leaves nothing to open; nothing printable holds a secret or a key.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use plinth_secrets::{
    Binding, EnvelopeStore, ExposeSecret, Kek, Sealed, SecretError, SecretStore, SecretString,
};

const CANARY: &str = "sk-canary-5f1d3c0e9a7b4e21";

fn binding() -> Binding<'static> {
    Binding {
        tenant: "ten_us_0123456789abcdef0123456789abcdef",
        owner: "pcn_openai_main",
        version: 1,
    }
}

fn store() -> EnvelopeStore {
    EnvelopeStore::new(Kek::generate(), Vec::new())
}

async fn sealed(store: &EnvelopeStore) -> Sealed {
    store
        .seal(&binding(), &SecretString::from(CANARY))
        .await
        .unwrap()
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_sealed_secret_opens_for_its_binding_and_holds_no_plaintext() {
    let store = store();
    let sealed = sealed(&store).await;
    assert_eq!(sealed.backend, "envelope");
    assert_eq!(sealed.key_id, store.primary_id());
    let opened = store.open(&binding(), &sealed).await.unwrap();
    assert_eq!(opened.expose_secret(), CANARY);
    // The stored form, as a database or a log would hold it, has no trace of it.
    let stored = serde_json::to_vec(&sealed).unwrap();
    assert!(!holds(&stored, CANARY.as_bytes()));
    assert!(!holds(format!("{sealed:?}").as_bytes(), CANARY.as_bytes()));
    // A positive control: the same search finds the secret where it is.
    assert!(holds(opened.expose_secret().as_bytes(), CANARY.as_bytes()));
}

#[tokio::test]
async fn every_sealing_has_a_fresh_data_key_and_nonce() {
    let store = store();
    let (a, b) = (sealed(&store).await, sealed(&store).await);
    assert_ne!(a.wrapped_key, b.wrapped_key);
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.ciphertext, b.ciphertext);
}

#[tokio::test]
async fn a_tampered_envelope_does_not_open() {
    let store = store();
    let sealed = sealed(&store).await;
    let mut cases = Vec::new();
    for i in 0..sealed.ciphertext.len() {
        let mut s = sealed.clone();
        s.ciphertext[i] ^= 0x01;
        cases.push(s);
    }
    for i in 0..sealed.wrapped_key.len() {
        let mut s = sealed.clone();
        s.wrapped_key[i] ^= 0x80;
        cases.push(s);
    }
    let mut s = sealed.clone();
    s.nonce[0] ^= 0x01;
    cases.push(s);
    let mut s = sealed.clone();
    s.ciphertext.truncate(4);
    cases.push(s);
    for case in cases {
        assert!(matches!(
            store.open(&binding(), &case).await,
            Err(SecretError::Undecryptable)
        ));
    }
}

#[tokio::test]
async fn another_tenant_owner_or_version_cannot_open_it() {
    let store = store();
    let sealed = sealed(&store).await;
    let base = binding();
    for other in [
        Binding {
            tenant: "ten_us_ffffffffffffffffffffffffffffffff",
            ..base
        },
        Binding {
            owner: "pcn_openai_other",
            ..base
        },
        Binding { version: 2, ..base },
        // Field boundaries count: the same bytes split differently are another binding.
        Binding {
            tenant: "ten_us_0123456789abcdef0123456789abcdefp",
            owner: "cn_openai_main",
            ..base
        },
    ] {
        assert!(matches!(
            store.open(&other, &sealed).await,
            Err(SecretError::Undecryptable)
        ));
    }
}

#[tokio::test]
async fn a_rotated_key_encryption_key_still_opens_until_rewrapped() {
    let copy = |k: &Kek| Kek::parse(k.to_base64().expose_secret()).unwrap();
    let (old, new) = (Kek::generate(), Kek::generate());
    let (old_copy, new_copy) = (copy(&old), copy(&new));
    let sealed = sealed(&EnvelopeStore::new(old, Vec::new())).await;
    let rotated = EnvelopeStore::new(new, vec![old_copy]);
    assert_eq!(
        rotated
            .open(&binding(), &sealed)
            .await
            .unwrap()
            .expose_secret(),
        CANARY
    );
    let moved = rotated.rewrap(&binding(), &sealed).unwrap();
    assert_eq!(moved.key_id, rotated.primary_id());
    assert_eq!(moved.ciphertext, sealed.ciphertext);
    // With the old key retired, the rewrapped secret opens and the old one does not.
    let new_only = EnvelopeStore::new(new_copy, Vec::new());
    assert_eq!(
        new_only
            .open(&binding(), &moved)
            .await
            .unwrap()
            .expose_secret(),
        CANARY
    );
    assert!(matches!(
        new_only.open(&binding(), &sealed).await,
        Err(SecretError::UnknownKey(id)) if id == sealed.key_id
    ));
}

#[tokio::test]
async fn a_shredded_data_key_leaves_nothing_to_open() {
    let store = store();
    let mut sealed = sealed(&store).await;
    sealed.wrapped_key.clear();
    assert!(matches!(
        store.open(&binding(), &sealed).await,
        Err(SecretError::Undecryptable)
    ));
}

#[test]
fn keys_parse_from_hex_or_base64_and_print_only_their_id() {
    let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let from_hex = Kek::parse(&format!("  {hex}\n")).unwrap();
    let from_base64 = Kek::parse(from_hex.to_base64().expose_secret()).unwrap();
    assert_eq!(from_hex.id(), from_base64.id());
    assert!(from_hex.id().starts_with("kek-"));
    let printed = format!("{from_hex:?}");
    assert!(
        printed.contains(from_hex.id()) && !printed.contains("0011223344"),
        "{printed}"
    );
    for bad in ["", "00112233", "not base64 at all!", &"00".repeat(33)] {
        assert!(
            matches!(Kek::parse(bad), Err(SecretError::Config(_))),
            "{bad:?}"
        );
    }
    assert_ne!(Kek::generate().id(), Kek::generate().id());
}
