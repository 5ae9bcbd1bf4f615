//! Inclusion and consistency proofs (RFC 9162 §2.1.3, §2.1.4) as the API serves
//! them, and their verification.

use serde::{Deserialize, Serialize};
use tlog_tiles::{HashReader, tlog};

use crate::hash::{Hash, hex, hex_list};

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the proof does not hold: {0}")]
    /// The proof's hashes do not lead to its root.
    Invalid(String),
    #[error("the proof is out of range: {0}")]
    /// The proof names positions outside its tree.
    OutOfRange(String),
}

/// That the leaf at `index` is in the tree of `tree_size` leaves with `root_hash`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The leaf's position, from 0.
    pub index: u64,
    /// How many leaves the tree has.
    pub tree_size: u64,
    #[serde(with = "hex")]
    /// The leaf's hash.
    pub leaf_hash: Hash,
    #[serde(with = "hex")]
    /// The tree's root.
    pub root_hash: Hash,
    /// The audit path, from the leaf up.
    #[serde(with = "hex_list")]
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// The proof for `index` in the tree of `tree_size` leaves, over stored hashes.
    pub fn build<R: HashReader>(r: &R, index: u64, tree_size: u64) -> Result<Self, tlog::Error> {
        if index >= tree_size {
            return Err(tlog::Error::InvalidInput("index >= tree size".into()));
        }
        let leaf = r.read_hashes(&[tlog::stored_hash_index(0, index)])?[0];
        let root_hash = tlog::tree_hash(tree_size, r)?;
        let path = tlog::prove_record(tree_size, index, r)?;
        Ok(InclusionProof {
            index,
            tree_size,
            leaf_hash: leaf,
            root_hash,
            path,
        })
    }

    /// Checks the proof against a tree head the verifier trusts (a checkpoint it
    /// verified): the proof is for that head, and its path leads from the leaf to
    /// the head's root. A path alone can also fit a tree of another size, which is
    /// why the head is part of the check.
    pub fn verify(&self, tree_size: u64, root_hash: &Hash) -> Result<(), ProofError> {
        if self.tree_size != tree_size || self.root_hash != *root_hash {
            return Err(ProofError::Invalid(format!(
                "the proof is for a tree of {} entries with another head than the one trusted \
                 ({tree_size} entries)",
                self.tree_size
            )));
        }
        if self.index >= self.tree_size {
            return Err(ProofError::OutOfRange(format!(
                "index {} is not below tree size {}",
                self.index, self.tree_size
            )));
        }
        tlog::check_record(
            &self.path,
            self.tree_size,
            self.root_hash,
            self.index,
            self.leaf_hash,
        )
        .map_err(|e| ProofError::Invalid(e.to_string()))
    }
}

/// That the tree of `old_size` leaves with `old_root` is a prefix of the tree of
/// `new_size` leaves with `new_root`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// How many leaves the older tree has.
    pub old_size: u64,
    /// How many leaves the newer tree has.
    pub new_size: u64,
    #[serde(with = "hex")]
    /// The older tree's root.
    pub old_root: Hash,
    #[serde(with = "hex")]
    /// The newer tree's root.
    pub new_root: Hash,
    #[serde(with = "hex_list")]
    /// The hashes that prove the older tree a prefix of the newer.
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// The proof between the trees of `old_size` and `new_size` leaves read from `r`.
    pub fn build<R: HashReader>(r: &R, old_size: u64, new_size: u64) -> Result<Self, tlog::Error> {
        if old_size > new_size {
            return Err(tlog::Error::InvalidInput("old size > new size".into()));
        }
        let old_root = tlog::tree_hash(old_size, r)?;
        let new_root = tlog::tree_hash(new_size, r)?;
        let path = if old_size == 0 {
            Vec::new()
        } else {
            tlog::prove_tree(new_size, old_size, r)?
        };
        Ok(ConsistencyProof {
            old_size,
            new_size,
            old_root,
            new_root,
            path,
        })
    }

    /// Checks the proof between two tree heads the verifier trusts: the proof is
    /// for those heads, and its path shows the old tree is a prefix of the new.
    pub fn verify(&self, old: (u64, &Hash), new: (u64, &Hash)) -> Result<(), ProofError> {
        if (self.old_size, &self.old_root) != old || (self.new_size, &self.new_root) != new {
            return Err(ProofError::Invalid(format!(
                "the proof is for the heads at {} and {} entries, not the ones trusted ({} and {})",
                self.old_size, self.new_size, old.0, new.0
            )));
        }
        if self.old_size > self.new_size {
            return Err(ProofError::OutOfRange(format!(
                "old size {} is above new size {}",
                self.old_size, self.new_size
            )));
        }
        if self.old_size == 0 {
            // Every tree extends the empty one, whose root is fixed.
            return if self.old_root == tlog_tiles::EMPTY_HASH && self.path.is_empty() {
                Ok(())
            } else {
                Err(ProofError::Invalid(
                    "the empty tree has a fixed root and no path".into(),
                ))
            };
        }
        tlog::check_tree(
            &self.path,
            self.new_size,
            self.new_root,
            self.old_size,
            self.old_root,
        )
        .map_err(|e| ProofError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::MemoryTree;

    fn tree(n: u64) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for i in 0..n {
            tree.append(tlog::record_hash(format!("entry {i}").as_bytes()));
        }
        tree
    }

    fn flip(h: &mut Hash) {
        h.0[7] ^= 0x10;
    }

    #[test]
    fn inclusion_proofs_verify_and_every_mutation_is_refused() {
        let tree = tree(41);
        for size in [1, 2, 7, 8, 9, 40, 41] {
            for index in 0..size {
                let proof = tree.inclusion_proof(index, size).unwrap();
                let root = tree.root_at(size).unwrap();
                proof
                    .verify(size, &root)
                    .unwrap_or_else(|e| panic!("{index} in {size}: {e}"));
            }
        }
        let good = tree.inclusion_proof(13, 41).unwrap();
        let head = (41, tree.root_at(41).unwrap());
        let mut mutations: Vec<(&str, InclusionProof)> = Vec::new();
        for i in 0..good.path.len() {
            let mut p = good.clone();
            flip(&mut p.path[i]);
            mutations.push(("a bit flipped in the path", p));
        }
        let mut p = good.clone();
        p.path.pop();
        mutations.push(("the path truncated", p));
        let mut p = good.clone();
        p.path.push(good.path[0]);
        mutations.push(("the path extended", p));
        let mut p = good.clone();
        p.root_hash = tree.root_at(40).unwrap();
        mutations.push(("the wrong root", p));
        let mut p = good.clone();
        flip(&mut p.leaf_hash);
        mutations.push(("another leaf", p));
        for size in [40, 42] {
            let mut p = good.clone();
            p.tree_size = size;
            mutations.push(("the size off by one", p));
        }
        let mut p = good.clone();
        p.index = 14;
        mutations.push(("another index", p));
        let mut p = good.clone();
        p.index = 41;
        mutations.push(("an index past the end", p));
        for (what, proof) in mutations {
            assert!(
                proof.verify(head.0, &head.1).is_err(),
                "{what} was accepted"
            );
        }
        // The path is checked, not only the head: the right head with a path that
        // leads elsewhere is refused.
        let mut p = good.clone();
        p.path.reverse();
        assert!(p.verify(head.0, &head.1).is_err());
    }

    #[test]
    fn consistency_proofs_verify_and_every_mutation_is_refused() {
        let tree = tree(50);
        for (old, new) in [(0, 5), (1, 1), (1, 50), (7, 8), (8, 16), (13, 50), (50, 50)] {
            let proof = tree.consistency_proof(old, new).unwrap();
            let (old_root, new_root) = (tree.root_at(old).unwrap(), tree.root_at(new).unwrap());
            proof
                .verify((old, &old_root), (new, &new_root))
                .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
        }
        let good = tree.consistency_proof(13, 50).unwrap();
        let (old, new) = (tree.root_at(13).unwrap(), tree.root_at(50).unwrap());
        let mut mutations: Vec<(&str, ConsistencyProof)> = Vec::new();
        for i in 0..good.path.len() {
            let mut p = good.clone();
            flip(&mut p.path[i]);
            mutations.push(("a bit flipped in the path", p));
        }
        let mut p = good.clone();
        p.path.pop();
        mutations.push(("the path truncated", p));
        let mut p = good.clone();
        p.old_root = tree.root_at(12).unwrap();
        mutations.push(("the wrong old root", p));
        let mut p = good.clone();
        p.new_root = tree.root_at(49).unwrap();
        mutations.push(("the wrong new root", p));
        for (old, new) in [(12, 50), (14, 50), (13, 49), (13, 51)] {
            let mut p = good.clone();
            (p.old_size, p.new_size) = (old, new);
            mutations.push(("a size off by one", p));
        }
        let mut p = good.clone();
        (p.old_size, p.new_size) = (51, 50);
        mutations.push(("sizes reversed", p));
        for (what, proof) in mutations {
            assert!(
                proof.verify((13, &old), (50, &new)).is_err(),
                "{what} was accepted: {proof:?}"
            );
        }
        let mut p = good.clone();
        p.path.swap(0, 1);
        assert!(
            p.verify((13, &old), (50, &new)).is_err(),
            "a path out of order"
        );
    }
}
