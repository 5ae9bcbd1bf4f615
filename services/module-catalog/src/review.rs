//! The trust review of a module release: every check the platform runs before a
//! release may be approved, each with its result. The checks are pure: what the
//! service knows (its trust policy, the trusted signers, the tools other modules
//! already provide, the time) comes in a [`Context`].
//!
//! - `schema`: the manifest is one (`schemas/json/module-manifest.schema.json`);
//! - `source`: its repository is one the trust policy allows;
//! - `digest`: its image is pinned by a SHA-256 digest, equal to the uploaded
//!   artifact's when one comes with it;
//! - `runtime`: this deployment runs its runtime kind and platform version;
//! - `references`: the connectors it needs are known, its tools no other
//!   module's;
//! - `signature`: a DSSE envelope over exactly the manifest's bytes, signed by a
//!   trusted signer that is valid now and trusted for the release's source. A
//!   valid signature by any other key fails: a signature is not trust.
//!
//! When the schema check fails, the others cannot read the manifest and are
//! skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use jsonschema::Validator;
use plinth_documents::{Issue, pointer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::dsse::{Envelope, MANIFEST_TYPE, PublicKey};

/// The manifest's JSON Schema.
pub const MANIFEST_SCHEMA: &str = include_str!("../../../schemas/json/module-manifest.schema.json");

#[expect(clippy::expect_used, reason = "the schema is compiled in and compiles")]
static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(MANIFEST_SCHEMA).expect("the schema parses");
    jsonschema::options()
        .offline()
        .build(&schema)
        .expect("the schema compiles")
});

/// The checks, in the order they run.
pub const CHECKS: [&str; 6] = [
    "schema",
    "source",
    "digest",
    "runtime",
    "references",
    "signature",
];

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Passed,
    Failed,
    /// Not run: the manifest could not be read (the schema check failed).
    Skipped,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckResult {
    /// `schema`, `source`, `digest`, `runtime`, `references` or `signature`.
    #[schema(example = "signature")]
    pub check: String,
    pub state: CheckState,
    /// What was found, for a passed check too (e.g. who signed).
    pub detail: String,
    /// Each problem, at its JSON pointer into the manifest where it has one.
    pub problems: Vec<Issue>,
}

impl CheckResult {
    fn of(check: &str, detail: impl Into<String>, problems: Vec<Issue>) -> Self {
        CheckResult {
            check: check.to_owned(),
            state: if problems.is_empty() {
                CheckState::Passed
            } else {
                CheckState::Failed
            },
            detail: detail.into(),
            problems,
        }
    }

    fn skipped(check: &str) -> Self {
        CheckResult {
            check: check.to_owned(),
            state: CheckState::Skipped,
            detail: "not run: the manifest does not follow the schema".to_owned(),
            problems: Vec::new(),
        }
    }
}

/// The platform's trust policy and what this deployment runs.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `host/organisation` (or `host`) of the repositories releases may come from.
    pub allowed_sources: Vec<String>,
    /// Runtime kinds this deployment runs.
    pub runtime_kinds: BTreeSet<String>,
    /// The platform's version: a release needing a newer one cannot run here.
    pub platform_version: semver::Version,
    /// Connector kinds the platform knows.
    pub connectors: BTreeSet<String>,
}

impl Policy {
    /// The trust policy `settings` configure.
    pub fn of(settings: &crate::Settings) -> Result<Self, String> {
        Ok(Policy {
            allowed_sources: settings.trust.allowed_sources.clone(),
            runtime_kinds: settings.runtime.kinds.iter().cloned().collect(),
            platform_version: semver::Version::parse(&settings.runtime.platform_version)
                .map_err(|e| format!("runtime.platform_version: {e}"))?,
            connectors: settings.known.connectors.iter().cloned().collect(),
        })
    }
}

/// A key the platform trusts, as the review sees it.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub signer_id: String,
    pub identity: String,
    pub key_id: String,
    pub key: PublicKey,
    /// `host/organisation` (or `host`) of the sources it may sign for.
    pub sources: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub revoked: bool,
}

/// What the review knows besides the release.
#[derive(Debug)]
pub struct Context<'a> {
    pub policy: &'a Policy,
    pub signers: &'a [TrustedKey],
    /// Tools other modules' releases provide: tool → module id.
    pub taken_tools: &'a BTreeMap<String, String>,
    pub now: OffsetDateTime,
}

/// A release as submitted: the manifest's bytes, the envelope they came in (if
/// signed), and the SHA-256 of an artifact uploaded with it (hex), if any.
#[derive(Debug)]
pub struct Submission<'a> {
    pub body: &'a [u8],
    pub envelope: Option<&'a Envelope>,
    pub artifact_sha256: Option<&'a str>,
}

/// Every check's result, and the signer whose signature was accepted.
#[derive(Debug, Clone)]
pub struct Review {
    pub manifest: Option<Value>,
    pub checks: Vec<CheckResult>,
    pub signer_id: Option<String>,
}

impl Review {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.state == CheckState::Passed)
    }

    /// The schema check's problems, when it failed.
    pub fn schema_problems(&self) -> Option<&[Issue]> {
        self.checks
            .first()
            .filter(|c| c.state == CheckState::Failed)
            .map(|c| c.problems.as_slice())
    }
}

/// Reviews `submission` in `ctx`.
pub fn review(submission: &Submission<'_>, ctx: &Context<'_>) -> Review {
    let manifest: Value = match serde_json::from_slice(submission.body) {
        Ok(manifest) => manifest,
        Err(e) => {
            let mut checks = vec![CheckResult::of(
                "schema",
                "the manifest is not JSON",
                vec![Issue::new("", "not_json", e.to_string())],
            )];
            checks.extend(CHECKS[1..].iter().map(|c| CheckResult::skipped(c)));
            return Review {
                manifest: None,
                checks,
                signer_id: None,
            };
        }
    };
    let schema = plinth_documents::schema_issues(&VALIDATOR, &manifest);
    if !schema.is_empty() {
        let mut checks = vec![CheckResult::of(
            "schema",
            "the manifest does not follow module-manifest.schema.json",
            schema,
        )];
        checks.extend(CHECKS[1..].iter().map(|c| CheckResult::skipped(c)));
        return Review {
            manifest: Some(manifest),
            checks,
            signer_id: None,
        };
    }
    let text = |path: &str| manifest.pointer(path).and_then(Value::as_str).unwrap_or("");
    let repository = text("/source/repository");
    let origin = origin_of(repository);
    let (signature, signer_id) = check_signature(submission, &origin, ctx);
    Review {
        checks: vec![
            CheckResult::of("schema", "the manifest follows the schema", vec![]),
            check_source(&origin, ctx.policy),
            check_digest(text("/image"), submission.artifact_sha256),
            check_runtime(&manifest, ctx.policy),
            check_references(&manifest, ctx),
            signature,
        ],
        manifest: Some(manifest),
        signer_id,
    }
}

/// `host/organisation` of an `https://host/organisation/…` repository URL.
pub fn origin_of(repository: &str) -> String {
    let rest = repository.strip_prefix("https://").unwrap_or(repository);
    let mut parts = rest.split('/');
    let host = parts.next().unwrap_or_default().to_ascii_lowercase();
    match parts.next() {
        Some(org) if !org.is_empty() => format!("{host}/{}", org.to_ascii_lowercase()),
        _ => host,
    }
}

/// Whether `origin` (`host/org`) is one of `allowed` (`host/org`, or `host` for
/// any organisation there).
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| {
        let a = a.trim_end_matches('/').to_ascii_lowercase();
        origin == a || origin.split('/').next() == Some(a.as_str()) && !a.contains('/')
    })
}

fn check_source(origin: &str, policy: &Policy) -> CheckResult {
    if origin_allowed(origin, &policy.allowed_sources) {
        CheckResult::of("source", format!("{origin} is an allowed source"), vec![])
    } else {
        CheckResult::of(
            "source",
            format!("{origin} is not an allowed source"),
            vec![Issue::new(
                "/source/repository",
                "source_not_allowed",
                format!(
                    "releases may come from {} only",
                    policy.allowed_sources.join(", ")
                ),
            )],
        )
    }
}

fn check_digest(image: &str, artifact: Option<&str>) -> CheckResult {
    let Some((_, digest)) = image.split_once("@sha256:") else {
        return CheckResult::of(
            "digest",
            "the image is not pinned",
            vec![Issue::new(
                "/image",
                "digest_missing",
                "the image is named by a tag, not pinned by its SHA-256 digest",
            )],
        );
    };
    match artifact {
        None => CheckResult::of(
            "digest",
            format!("pinned by sha256:{digest} (no artifact uploaded to compare)"),
            vec![],
        ),
        Some(hash) if hash.eq_ignore_ascii_case(digest) => CheckResult::of(
            "digest",
            format!("the uploaded artifact is sha256:{digest}"),
            vec![],
        ),
        Some(hash) => CheckResult::of(
            "digest",
            "the uploaded artifact is not the image the digest names",
            vec![Issue::new(
                "/image",
                "digest_mismatch",
                format!("the manifest pins sha256:{digest}; the artifact is sha256:{hash}"),
            )],
        ),
    }
}

fn check_runtime(manifest: &Value, policy: &Policy) -> CheckResult {
    let kind = manifest["runtime"]["kind"].as_str().unwrap_or_default();
    let needs = manifest["runtime"]["min_platform_version"]
        .as_str()
        .unwrap_or_default();
    let mut problems = Vec::new();
    if !policy.runtime_kinds.contains(kind) {
        problems.push(Issue::new(
            "/runtime/kind",
            "runtime_unsupported",
            format!(
                "this deployment runs {} modules, not {kind}",
                policy
                    .runtime_kinds
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        ));
    }
    match semver::Version::parse(needs) {
        Ok(needed) if needed > policy.platform_version => problems.push(Issue::new(
            "/runtime/min_platform_version",
            "platform_too_old",
            format!(
                "the release needs platform {needed}; this deployment runs {}",
                policy.platform_version
            ),
        )),
        Ok(_) => {}
        Err(e) => problems.push(Issue::new(
            "/runtime/min_platform_version",
            "bad_format",
            e.to_string(),
        )),
    }
    CheckResult::of(
        "runtime",
        format!(
            "{kind}, platform {needs} or newer (this one: {})",
            policy.platform_version
        ),
        problems,
    )
}

fn check_references(manifest: &Value, ctx: &Context<'_>) -> CheckResult {
    let module = manifest["id"].as_str().unwrap_or_default();
    let mut problems = Vec::new();
    let list = |path: &str| {
        manifest
            .pointer(path)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for (i, connector) in list("/requires/connectors").iter().enumerate() {
        let name = connector.as_str().unwrap_or_default();
        if !ctx.policy.connectors.contains(name) {
            problems.push(Issue::new(
                pointer("/requires/connectors", i),
                "unknown_connector",
                format!("the platform knows no connector `{name}`"),
            ));
        }
    }
    let mut own = BTreeSet::new();
    for (i, tool) in list("/tools").iter().enumerate() {
        let id = tool["id"].as_str().unwrap_or_default();
        if !own.insert(id) {
            problems.push(Issue::new(
                pointer(&pointer("/tools", i), "id"),
                "duplicate_tool",
                format!("`{id}` is listed twice"),
            ));
        }
        if let Some(other) = ctx.taken_tools.get(id).filter(|m| m.as_str() != module) {
            problems.push(Issue::new(
                pointer("/tools", i),
                "tool_taken",
                format!("`{id}` is a tool of the module {other}"),
            ));
        }
    }
    let count = list("/tools").len();
    CheckResult::of(
        "references",
        format!(
            "{count} tool(s), {} connector(s) needed",
            list("/requires/connectors").len()
        ),
        problems,
    )
}

/// The signature check, and the signer whose signature it accepted.
fn check_signature(
    submission: &Submission<'_>,
    origin: &str,
    ctx: &Context<'_>,
) -> (CheckResult, Option<String>) {
    let fail = |code: &str, message: String| {
        CheckResult::of(
            "signature",
            message.clone(),
            vec![Issue::new("", code, message)],
        )
    };
    let Some(envelope) = submission.envelope else {
        return (
            fail(
                "unsigned",
                "the release comes without a DSSE envelope: nobody vouches for it".to_owned(),
            ),
            None,
        );
    };
    if envelope.payload_type != MANIFEST_TYPE {
        return (
            fail(
                "payload_type",
                format!("the envelope's payload type is not {MANIFEST_TYPE}"),
            ),
            None,
        );
    }
    // The closest any signature came to being trusted, for the answer.
    let mut best: Option<(u8, String, String)> = None;
    let mut note = |rank: u8, code: &str, message: String| {
        if best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
            best = Some((rank, code.to_owned(), message));
        }
    };
    for sig in &envelope.signatures {
        let named: Vec<&TrustedKey> = ctx
            .signers
            .iter()
            .filter(|s| sig.keyid.is_empty() || s.key_id == sig.keyid)
            .collect();
        let Some(signer) = named.iter().find(|s| {
            s.key
                .verifies(&envelope.payload_type, submission.body, &sig.sig)
        }) else {
            if named.is_empty() {
                note(
                    1,
                    "signer_unknown",
                    format!(
                        "the key `{}` is not on the platform's trusted signer list",
                        sig.keyid
                    ),
                );
            } else {
                note(
                    2,
                    "signature_invalid",
                    format!(
                        "the signature by `{}` does not verify: the manifest or the signature was changed",
                        sig.keyid
                    ),
                );
            }
            continue;
        };
        if signer.revoked {
            note(
                3,
                "signer_revoked",
                format!("{} ({}) is revoked", signer.identity, signer.key_id),
            );
        } else if ctx.now < signer.not_before || ctx.now >= signer.not_after {
            note(
                3,
                "signer_not_valid_now",
                format!(
                    "{} ({}) is trusted from {} until {} only",
                    signer.identity, signer.key_id, signer.not_before, signer.not_after
                ),
            );
        } else if !origin_allowed(origin, &signer.sources) {
            note(
                4,
                "signer_not_trusted_for_source",
                format!(
                    "{} ({}) is trusted for {} only, not {origin}",
                    signer.identity,
                    signer.key_id,
                    signer.sources.join(", ")
                ),
            );
        } else {
            return (
                CheckResult::of(
                    "signature",
                    format!(
                        "signed by {} ({}), trusted for {origin}",
                        signer.identity, signer.key_id
                    ),
                    vec![],
                ),
                Some(signer.signer_id.clone()),
            );
        }
    }
    let (_, code, message) = best.unwrap_or((
        0,
        "unsigned".to_owned(),
        "the envelope carries no signature".to_owned(),
    ));
    (fail(&code, message), None)
}
