//! Verification of a log, read in order: every entry is where it says it is and
//! chained to the one before, the Merkle roots recomputed from the entries match
//! every checkpoint, every checkpoint is signed by the installation's key, and the
//! log agrees with checkpoints kept outside it (a rewritten history, or a cut tail,
//! cannot match a checkpoint taken before).
//!
//! Tamper classes and what catches them: an edited entry — the next entry's `prev`,
//! or for the last entry the checkpoints; a deleted, added or moved entry — its
//! index; a cut tail — a checkpoint of a larger size; a history rewritten and
//! re-chained — the checkpoints' signatures, or a checkpoint kept outside.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{SignedCheckpoint, open_checkpoint};
use crate::entry::leaf_hash_of;
use crate::hash::{Hash, hex_option, to_hex};
use crate::tree::MemoryTree;

/// The outcome: the log holds, or the first problem found and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Whether the log holds.
    pub ok: bool,
    /// The log read, once its first entry named it.
    pub log: Option<String>,
    /// Entries read (up to the first problem).
    pub entries: u64,
    /// Checkpoints checked, the log's own and those kept outside.
    pub checkpoints: u64,
    /// The root over the entries read.
    pub root_hash: String,
    /// The first entry found bad, when the problem is in one entry.
    pub first_bad_index: Option<u64>,
    /// What is wrong, when it does not hold.
    pub reason: Option<String>,
}

/// The fields of an entry the chain is made of; the rest is covered by its hash.
#[derive(Debug, Deserialize)]
struct Header {
    log: String,
    index: u64,
    #[serde(with = "hex_option")]
    prev: Option<Hash>,
}

/// One line of an export, read and hashed: the part of verification that does not
/// depend on other lines, so that lines can be digested in parallel and then
/// [accepted](Verifier::accept) in order.
#[derive(Debug)]
pub struct Digested(Line);

#[derive(Debug)]
enum Line {
    Entry { header: Header, leaf: Hash },
    Checkpoint(SignedCheckpoint),
    Bad(String),
}

/// Reads and hashes one entry, as its JSON object.
pub fn digest_entry(json: &serde_json::Value) -> Digested {
    Digested(match Header::deserialize(json) {
        Ok(header) => Line::Entry {
            header,
            leaf: leaf_hash_of(json),
        },
        Err(e) => Line::Bad(format!("not an entry: {e}")),
    })
}

impl Digested {
    /// The entry's leaf hash, if the line is an entry.
    pub fn leaf(&self) -> Option<Hash> {
        match &self.0 {
            Line::Entry { leaf, .. } => Some(*leaf),
            _ => None,
        }
    }
}

/// Reads and hashes one line of an export.
pub fn digest(line: &str) -> Digested {
    let mut fields: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(line) {
        Ok(fields) => fields,
        Err(e) => return Digested(Line::Bad(format!("not a JSON object: {e}"))),
    };
    let ty = fields.remove("type");
    Digested(match ty.as_ref().and_then(|t| t.as_str()) {
        Some("entry") => return digest_entry(&serde_json::Value::Object(fields)),
        Some("checkpoint") => match serde_json::from_value(serde_json::Value::Object(fields)) {
            Ok(checkpoint) => Line::Checkpoint(checkpoint),
            Err(e) => Line::Bad(format!("not a checkpoint: {e}")),
        },
        _ => Line::Bad("a line is an entry or a checkpoint (`type`)".into()),
    })
}

#[derive(Debug, Clone)]
struct Problem {
    index: Option<u64>,
    reason: String,
}

/// Reads a log in order and says whether it holds.
#[derive(Debug)]
pub struct Verifier {
    /// The keys checkpoints may be signed with: the installation's, and after a
    /// rotation the ones before it.
    verifier_keys: Vec<String>,
    log: Option<String>,
    tree: MemoryTree,
    prev: Option<Hash>,
    checkpoints: Vec<SignedCheckpoint>,
    kept: Vec<String>,
    problem: Option<Problem>,
}

impl Verifier {
    /// A verifier trusting checkpoints signed with `verifier_key` (a signed-note
    /// verifier key, `<name>+<id>+<base64>`).
    pub fn new(verifier_key: &str) -> Self {
        Verifier {
            verifier_keys: vec![verifier_key.trim().to_owned()],
            log: None,
            tree: MemoryTree::new(),
            prev: None,
            checkpoints: Vec::new(),
            kept: Vec::new(),
            problem: None,
        }
    }

    /// Also holds the log to a checkpoint kept outside it (a signed note).
    pub fn keep(&mut self, note: &str) {
        self.kept.push(note.to_owned());
    }

    /// Expects the log to be `log`.
    pub fn expect_log(&mut self, log: &str) {
        self.log = Some(log.to_owned());
    }

    fn fail(&mut self, index: Option<u64>, reason: String) {
        if self.problem.is_none() {
            self.problem = Some(Problem { index, reason });
        }
    }

    /// One line of an export.
    pub fn line(&mut self, line: &str) {
        self.accept(digest(line));
    }

    /// The next line, digested ([`digest`], [`digest_entry`]).
    pub fn accept(&mut self, digested: Digested) {
        if self.problem.is_some() {
            return;
        }
        let at = self.tree.size();
        let (header, leaf) = match digested.0 {
            Line::Entry { header, leaf } => (header, leaf),
            Line::Checkpoint(checkpoint) => return self.checkpoint(checkpoint),
            Line::Bad(why) => return self.fail(Some(at), format!("after entry {at}: {why}")),
        };
        match &self.log {
            None => self.log = Some(header.log.clone()),
            Some(log) if *log != header.log => {
                let reason = format!("entry {at} belongs to log {}, not {log}", header.log);
                return self.fail(Some(at), reason);
            }
            Some(_) => {}
        }
        if header.index != at {
            let reason = format!(
                "the entry at position {at} says it is entry {}: entries were deleted, added or \
                 reordered",
                header.index
            );
            return self.fail(Some(at), reason);
        }
        if header.prev != self.prev {
            let reason = if at == 0 {
                "the first entry names an entry before it".to_owned()
            } else {
                format!(
                    "entry {} does not hash to what entry {at} chains to: entry {} was changed \
                     (or the link in entry {at} was)",
                    at - 1,
                    at - 1
                )
            };
            return self.fail(Some(at.saturating_sub(1)), reason);
        }
        self.tree.append(leaf);
        self.prev = Some(leaf);
    }

    /// Also trusts checkpoints signed with `verifier_key`: after a key rotation,
    /// a log holds checkpoints of the old key and of the new.
    pub fn also_trust(&mut self, verifier_key: &str) {
        self.verifier_keys.push(verifier_key.trim().to_owned());
    }

    /// A checkpoint of the log; checked against the entries when all are read.
    pub fn checkpoint(&mut self, checkpoint: SignedCheckpoint) {
        self.checkpoints.push(checkpoint);
    }

    /// Checks one checkpoint against the entries read; `what` names it.
    fn check(&mut self, what: &str, note: &str, log: &str) -> bool {
        let mut opened = open_checkpoint(note, &self.verifier_keys[0], log);
        for key in &self.verifier_keys[1..] {
            if opened.is_err() {
                opened = open_checkpoint(note, key, log);
            }
        }
        let opened = match opened {
            Ok(opened) => opened,
            Err(e) => {
                self.fail(None, format!("{what}: {e}"));
                return false;
            }
        };
        let size = self.tree.size();
        match self.tree.root_at(opened.size) {
            None => self.fail(
                None,
                format!(
                    "{what} covers {} entries but the log holds {size}: its tail was cut",
                    opened.size
                ),
            ),
            Some(root) if root != opened.root_hash => self.fail(
                None,
                format!(
                    "{what} does not match the first {} entries: one of them was changed, \
                     added or removed, or the history was rewritten",
                    opened.size
                ),
            ),
            Some(_) => return true,
        }
        false
    }

    /// The verdict once every line is read.
    pub fn finish(mut self) -> Verdict {
        let mut checked = 0;
        if self.problem.is_none() {
            let log = self.log.clone().unwrap_or_default();
            let checkpoints = std::mem::take(&mut self.checkpoints);
            for cp in &checkpoints {
                let what = format!("the checkpoint at size {}", cp.size);
                if cp.log != log {
                    self.fail(None, format!("{what} is of log {}, not {log}", cp.log));
                    break;
                }
                if !self.check(&what, &cp.note, &log) {
                    break;
                }
                checked += 1;
            }
            let kept = std::mem::take(&mut self.kept);
            for (i, note) in kept.iter().enumerate() {
                if self.problem.is_some() {
                    break;
                }
                if self.check(
                    &format!("the checkpoint kept outside (#{})", i + 1),
                    note,
                    &log,
                ) {
                    checked += 1;
                }
            }
        }
        let problem = self.problem.take();
        Verdict {
            ok: problem.is_none(),
            log: self.log,
            entries: self.tree.size(),
            checkpoints: checked,
            root_hash: to_hex(&self.tree.root()),
            first_bad_index: problem.as_ref().and_then(|p| p.index),
            reason: problem.map(|p| p.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::LogSigner;
    use crate::entry::Entry;
    use crate::entry::tests::record;
    use crate::export::ExportLine;

    const LOG: &str = "ten_us_0123456789abcdef0123456789abcdef";

    /// An export of `n` entries with a checkpoint every 10 and at the end; the
    /// signer, and the lines.
    fn export(n: u64) -> (LogSigner, Vec<String>, Vec<SignedCheckpoint>) {
        let (signer, _) = LogSigner::generate("plinth-audit-test", "audit.plinth.test/us");
        let mut tree = MemoryTree::new();
        let mut lines = Vec::new();
        let mut checkpoints = Vec::new();
        let mut prev = None;
        for i in 0..n {
            let entry = Entry {
                log: LOG.into(),
                index: i,
                prev,
                event_id: uuid::Uuid::new_v4(),
                recorded_at: time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(i as i64),
                record: record(&format!("action.{i}")),
            };
            let leaf = entry.leaf_hash();
            tree.append(leaf);
            prev = Some(leaf);
            lines.push(ExportLine::entry(&entry).to_json());
            if (i + 1) % 10 == 0 || i + 1 == n {
                checkpoints.push(signer.sign(
                    LOG,
                    i + 1,
                    tree.root(),
                    time::OffsetDateTime::now_utc(),
                ));
            }
        }
        lines.extend(
            checkpoints
                .iter()
                .map(|c| ExportLine::Checkpoint(c.clone()).to_json()),
        );
        (signer, lines, checkpoints)
    }

    fn verify(signer: &LogSigner, lines: &[String], kept: &[&SignedCheckpoint]) -> Verdict {
        let mut v = Verifier::new(signer.verifier_key());
        for cp in kept {
            v.keep(&cp.note);
        }
        for line in lines {
            v.line(line);
        }
        v.finish()
    }

    fn edit(line: &str, f: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut json: serde_json::Value = serde_json::from_str(line).unwrap();
        f(&mut json);
        json.to_string()
    }

    #[test]
    fn an_untouched_export_holds() {
        let (signer, lines, checkpoints) = export(25);
        let verdict = verify(&signer, &lines, &[&checkpoints[0]]);
        assert!(verdict.ok, "{verdict:?}");
        assert_eq!((verdict.entries, verdict.checkpoints), (25, 4));
    }

    #[test]
    fn after_a_key_rotation_the_old_key_is_trusted_beside_the_new() {
        let (old, lines, _) = export(25);
        let (new, _) = LogSigner::generate("plinth-audit-test-2", "audit.plinth.test/us");
        let run = |verifier: &mut Verifier| {
            for line in &lines {
                verifier.line(line);
            }
        };
        let mut new_only = Verifier::new(new.verifier_key());
        run(&mut new_only);
        assert!(!new_only.finish().ok, "checkpoints of another key");
        let mut both = Verifier::new(new.verifier_key());
        both.also_trust(old.verifier_key());
        run(&mut both);
        let verdict = both.finish();
        assert!(verdict.ok, "{verdict:?}");
        assert_eq!(verdict.checkpoints, 3);
    }

    #[test]
    fn every_tamper_class_is_caught() {
        let (signer, lines, checkpoints) = export(25);
        let kept = checkpoints.last().unwrap();
        let entries = 25;

        // A payload edited in the middle: the next entry's link breaks.
        let mut edited = lines.clone();
        edited[7] = edit(&edited[7], |j| j["record"]["outcome"] = "DENIED".into());
        let v = verify(&signer, &edited, &[]);
        assert_eq!((v.ok, v.first_bad_index), (false, Some(7)), "{v:?}");

        // The last entry edited: no entry after it, the checkpoints catch it.
        let mut edited = lines.clone();
        edited[entries - 1] = edit(&edited[entries - 1], |j| {
            j["record"]["actor"] = "eve".into()
        });
        let v = verify(&signer, &edited, &[]);
        assert!(
            !v.ok && v.reason.as_ref().unwrap().contains("does not match"),
            "{v:?}"
        );

        // A row deleted.
        let mut deleted = lines.clone();
        deleted.remove(12);
        let v = verify(&signer, &deleted, &[]);
        assert_eq!((v.ok, v.first_bad_index), (false, Some(12)), "{v:?}");

        // Rows reordered.
        let mut reordered = lines.clone();
        reordered.swap(3, 4);
        let v = verify(&signer, &reordered, &[]);
        assert_eq!((v.ok, v.first_bad_index), (false, Some(3)), "{v:?}");

        // The tail cut, its checkpoints with it: the kept checkpoint catches it.
        let truncated: Vec<String> = lines[..20].to_vec();
        let v = verify(&signer, &truncated, &[]);
        assert!(
            v.ok,
            "without outside evidence a cut at a checkpoint looks whole: {v:?}"
        );
        let v = verify(&signer, &truncated, &[kept]);
        assert!(
            !v.ok && v.reason.as_ref().unwrap().contains("tail was cut"),
            "{v:?}"
        );
        // … and with the log's own later checkpoints left in, they catch it.
        let mut cut = lines[..20].to_vec();
        cut.extend(lines[entries..].iter().cloned());
        let v = verify(&signer, &cut, &[]);
        assert!(
            !v.ok && v.reason.as_ref().unwrap().contains("tail was cut"),
            "{v:?}"
        );

        // A different history, re-chained, with checkpoints signed by another key.
        let (forger, forged, _) = export(25);
        let v = verify(&signer, &forged, &[]);
        assert!(
            !v.ok && v.reason.as_ref().unwrap().contains("signature"),
            "{v:?}"
        );
        // The forged log without checkpoints: only the kept one can tell.
        let bare: Vec<String> = forged[..entries].to_vec();
        let v = verify(&forger, &bare, &[]);
        assert!(v.ok);
        let v = verify(&signer, &bare, &[kept]);
        assert!(
            !v.ok && v.reason.as_ref().unwrap().contains("rewritten"),
            "{v:?}"
        );

        // A line that is not an export line.
        let mut garbage = lines.clone();
        garbage[5] = "{\"type\":\"entry\"".into();
        assert!(!verify(&signer, &garbage, &[]).ok);
    }
}
