//! `plinth-audit`: the audit log's offline tools.
//!
//! - `plinth-audit verify --export FILE --key KEY… [--checkpoint NOTE]…` checks an
//!   export without the service or its database: every entry's place and link, the
//!   Merkle root at every checkpoint, every checkpoint's signature, and agreement
//!   with checkpoints kept earlier. Exit status 0 when the log holds, 1 when it
//!   does not, 2 when the inputs cannot be read.
//! - `plinth-audit keygen --name NAME` makes a log key: the private key for the
//!   service (`log.signing_key`) and the verifier key for auditors.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use plinth_auditlog::{LogSigner, Verifier, digest};
use rayon::prelude::*;

/// Lines read and hashed together.
const CHUNK: usize = 16_384;

#[derive(Debug, Parser)]
#[command(name = "plinth-audit", about = "Offline tools for Plinth's audit logs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify an export (JSON Lines) against the installation's log key.
    Verify {
        /// The export (`GET /admin/audit/logs/{log}/export`).
        #[arg(long)]
        export: PathBuf,
        /// The verifier key (`<name>+<id>+<base64>`), or a file holding it;
        /// repeatable: after a key rotation, the old key and the new, and each
        /// checkpoint must be signed by one of them.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// A signed checkpoint kept earlier (a file holding its note); repeatable.
        #[arg(long = "checkpoint")]
        checkpoints: Vec<PathBuf>,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a log key.
    Keygen {
        /// The key's name, shown in every signature (e.g. `plinth-audit-us`).
        #[arg(long)]
        name: String,
        /// The origin prefix the service will be configured with.
        #[arg(long, default_value = "audit.plinth.localhost/us")]
        origin_prefix: String,
    },
}

/// A value given inline or as a file.
fn inline_or_file(value: &str) -> std::io::Result<String> {
    let path = Path::new(value);
    if path.is_file() {
        Ok(std::fs::read_to_string(path)?.trim().to_owned())
    } else {
        Ok(value.trim().to_owned())
    }
}

/// The signed note of a kept checkpoint: the note itself, or a checkpoint as the
/// API or the `checkpoint_signed` event gives it (JSON with a `note`).
fn kept_note(kept: &str) -> Option<String> {
    if kept.trim_start().starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(kept).ok()?;
        json["note"].as_str().map(str::to_owned)
    } else {
        Some(kept.to_owned())
    }
}

#[expect(clippy::expect_used, reason = "verdicts serialize")]
fn verify(export: &Path, keys: &[String], checkpoints: &[PathBuf], json: bool) -> ExitCode {
    let fail = |what: String| {
        eprintln!("plinth-audit: {what}");
        ExitCode::from(2)
    };
    let keys = match keys
        .iter()
        .map(|k| inline_or_file(k))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(keys) => keys,
        Err(e) => return fail(format!("reading the key: {e}")),
    };
    let file = match std::fs::File::open(export) {
        Ok(file) => file,
        Err(e) => return fail(format!("opening {}: {e}", export.display())),
    };
    let mut verifier = Verifier::new(&keys[0]);
    for key in &keys[1..] {
        verifier.also_trust(key);
    }
    for path in checkpoints {
        match std::fs::read_to_string(path) {
            Ok(kept) => match kept_note(&kept) {
                Some(note) => verifier.keep(&note),
                None => return fail(format!("{} holds no checkpoint", path.display())),
            },
            Err(e) => return fail(format!("reading {}: {e}", path.display())),
        }
    }
    // Lines are read and hashed in parallel a chunk at a time, then taken in order.
    let mut lines = BufReader::new(file).lines();
    loop {
        let chunk: Vec<String> = match lines.by_ref().take(CHUNK).collect::<Result<_, _>>() {
            Ok(chunk) => chunk,
            Err(e) => return fail(format!("reading {}: {e}", export.display())),
        };
        if chunk.is_empty() {
            break;
        }
        let digested: Vec<_> = chunk
            .par_iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| digest(l))
            .collect();
        for d in digested {
            verifier.accept(d);
        }
    }
    let verdict = verifier.finish();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&verdict).expect("verdicts serialize")
        );
    } else if verdict.ok {
        println!(
            "ok: log {} holds — {} entries, {} checkpoints verified, root {}",
            verdict.log.as_deref().unwrap_or("(empty)"),
            verdict.entries,
            verdict.checkpoints,
            verdict.root_hash
        );
    } else {
        let at = verdict
            .first_bad_index
            .map(|i| format!(" (first bad entry: {i})"))
            .unwrap_or_default();
        println!(
            "FAILED: {}{at}",
            verdict.reason.as_deref().unwrap_or("the log does not hold")
        );
    }
    if verdict.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Verify {
            export,
            keys,
            checkpoints,
            json,
        } => verify(&export, &keys, &checkpoints, json),
        Command::Keygen {
            name,
            origin_prefix,
        } => {
            let (signer, private) = LogSigner::generate(&name, &origin_prefix);
            println!("signing key (log.signing_key, keep secret): {private}");
            println!(
                "verifier key (for auditors):                {}",
                signer.verifier_key()
            );
            ExitCode::SUCCESS
        }
    }
}
