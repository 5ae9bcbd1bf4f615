//! Offline verification benchmark (docs/PERFORMANCE.md): an export of one million
//! entries with a signed checkpoint every 1,000, checked by the `plinth-audit`
//! command as an auditor would run it:
//!
//!     plinth-audit verify --export FILE --key KEY
//!
//! against a baseline measured in the same run: reading the same file and parsing
//! every line as JSON, the least any verifier of this export must do.
//! PLINTH_BENCH_VERIFY_ENTRIES (1,000,000) sets the size.

// A benchmark: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::Command;
use std::time::Instant;

use plinth_auditlog::{Entry, ExportLine, LogSigner, MemoryTree, Record};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn record(i: u64) -> Record {
    Record {
        tenant_id: "ten_us_0123456789abcdef0123456789abcdef".into(),
        region: "us".into(),
        actor: format!("user{}@acme.example", i % 97),
        actor_display: Some("A User".into()),
        action: [
            "tenant.status_set",
            "workspace.update",
            "role_binding.create",
        ][(i % 3) as usize]
            .into(),
        resource_type: "workspace".into(),
        resource_id: Some(format!("wsp_{:032x}", i % 1013)),
        outcome: if i.is_multiple_of(11) {
            "DENIED"
        } else {
            "ALLOWED"
        }
        .into(),
        reason: i.is_multiple_of(11).then(|| "forbidden".to_owned()),
        request_id: Some(format!("req_{i:032x}")),
        occurred_at: time::OffsetDateTime::UNIX_EPOCH
            + time::Duration::seconds(1_790_000_000 + i as i64),
        source_service: "tenant-registry".into(),
        details: [
            ("before_sha256".to_owned(), "ab".repeat(32)),
            ("after_sha256".to_owned(), "cd".repeat(32)),
        ]
        .into(),
    }
}

fn main() -> anyhow::Result<()> {
    let n = env_or("PLINTH_BENCH_VERIFY_ENTRIES", 1_000_000);
    let dir = std::env::temp_dir().join(format!("plinth-verify-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let export = dir.join("export.jsonl");
    let key = dir.join("log.pub");
    let log = "ten_us_0123456789abcdef0123456789abcdef";

    // The export, as the service writes it.
    let started = Instant::now();
    let (signer, _) = LogSigner::generate("plinth-audit-bench", "audit.plinth.bench/us");
    std::fs::write(&key, signer.verifier_key())?;
    let mut out = BufWriter::new(std::fs::File::create(&export)?);
    let mut tree = MemoryTree::new();
    let mut checkpoints = Vec::new();
    let mut prev = None;
    for i in 0..n {
        let entry = Entry {
            log: log.into(),
            index: i,
            prev,
            event_id: uuid::Uuid::new_v4(),
            recorded_at: time::OffsetDateTime::UNIX_EPOCH
                + time::Duration::seconds(1_790_000_001 + i as i64),
            record: record(i),
        };
        let leaf = entry.leaf_hash();
        tree.append(leaf);
        prev = Some(leaf);
        writeln!(out, "{}", ExportLine::entry(&entry).to_json())?;
        if (i + 1) % 1_000 == 0 || i + 1 == n {
            checkpoints.push(signer.sign(log, i + 1, tree.root(), time::OffsetDateTime::now_utc()));
        }
    }
    for cp in checkpoints {
        writeln!(out, "{}", ExportLine::Checkpoint(cp).to_json())?;
    }
    out.flush()?;
    drop(out);
    let bytes = std::fs::metadata(&export)?.len();
    let generated = started.elapsed();

    // The baseline: read and parse every line.
    let started = Instant::now();
    let mut lines = 0u64;
    for line in BufReader::new(std::fs::File::open(&export)?).lines() {
        let value: serde_json::Value = serde_json::from_str(&line?)?;
        lines += u64::from(value.is_object());
    }
    let parsed = started.elapsed();

    // The verifier, as an auditor runs it.
    let started = Instant::now();
    let result = Command::new(env!("CARGO_BIN_EXE_plinth-audit"))
        .arg("verify")
        .arg("--export")
        .arg(&export)
        .arg("--key")
        .arg(&key)
        .output()?;
    let verified = started.elapsed();
    std::fs::remove_dir_all(&dir)?;
    let said = String::from_utf8_lossy(&result.stdout);
    anyhow::ensure!(result.status.success(), "the export did not verify: {said}");

    println!(
        "offline verification benchmark ({n} entries, {:.0} MB)",
        bytes as f64 / 1e6
    );
    println!(
        "  export written in                 {:>7.2} s",
        generated.as_secs_f64()
    );
    println!(
        "  read and parse every line         {:>7.2} s  ({lines} lines; baseline)",
        parsed.as_secs_f64()
    );
    println!(
        "  plinth-audit verify               {:>7.2} s  ({:.2}x baseline; target <= 10 s)",
        verified.as_secs_f64(),
        verified.as_secs_f64() / parsed.as_secs_f64()
    );
    println!("  {}", said.trim());
    Ok(())
}
