//! A log's Merkle tree (RFC 9162), kept as its stored hashes: for every complete
//! subtree, its hash, at a dense stored index (`tlog_tiles::stored_hash_index`).
//! Appending a leaf adds about two; any root, inclusion proof or consistency proof
//! reads at most a few dozen.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use tlog_tiles::{HashReader, tlog};

use crate::hash::Hash;
use crate::proof::{ConsistencyProof, InclusionProof};

/// A whole tree in memory: what the offline verifier and tests build.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    hashes: Vec<Hash>,
    size: u64,
}

impl HashReader for MemoryTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
        indexes
            .iter()
            .map(|&i| {
                self.hashes
                    .get(i as usize)
                    .copied()
                    .ok_or(tlog::Error::IndexesNotInTree)
            })
            .collect()
    }
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves it holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns the stored hashes it added, from stored index
    /// `tlog_tiles::stored_hash_index(0, size before)` on.
    #[expect(
        clippy::expect_used,
        reason = "a memory tree holds every hash it needs"
    )]
    pub fn append(&mut self, leaf: Hash) -> Vec<Hash> {
        let new = tlog::stored_hashes_for_record_hash(self.size, leaf, self)
            .expect("a memory tree holds every hash it needs");
        self.hashes.extend_from_slice(&new);
        self.size += 1;
        new
    }

    /// The root of the first `size` leaves.
    #[expect(clippy::expect_used, reason = "stored")]
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        (size <= self.size).then(|| tlog::tree_hash(size, self).expect("stored"))
    }

    #[expect(clippy::expect_used, reason = "stored")]
    /// The root over every leaf.
    pub fn root(&self) -> Hash {
        tlog::tree_hash(self.size, self).expect("stored")
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        (index < self.size).then(|| self.hashes[tlog::stored_hash_index(0, index) as usize])
    }

    /// That leaf `index` is in the tree of the first `size` leaves; `None` out of range.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<InclusionProof> {
        InclusionProof::build(self, index, size).ok()
    }

    /// That the first `old_size` leaves are a prefix of the first `new_size`; `None` out of range.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Option<ConsistencyProof> {
        ConsistencyProof::build(self, old_size, new_size).ok()
    }
}

/// The stored index of leaf `n`'s hash, where the hashes its append adds begin.
pub fn first_stored_index(n: u64) -> u64 {
    tlog::stored_hash_index(0, n)
}

/// Why a computation over a [`HashCache`] did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lack {
    /// These stored hashes: fetch them, insert them, and compute again.
    Hashes(Vec<u64>),
    /// The request itself is impossible (a leaf past the end, sizes reversed).
    Invalid(String),
}

/// Some of a tree's stored hashes, fetched from where the tree is kept. A
/// computation over it either succeeds or says which stored hashes it lacked
/// ([`Lack::Hashes`]); the caller fetches them and computes again. Each of
/// `tlog_tiles`' computations reads once, so a second attempt succeeds.
#[derive(Debug, Default)]
pub struct HashCache {
    known: HashMap<u64, Hash>,
    missing: RefCell<BTreeSet<u64>>,
}

impl HashReader for HashCache {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
        let mut missing = self.missing.borrow_mut();
        let found: Vec<Hash> = indexes
            .iter()
            .filter_map(|i| {
                let hash = self.known.get(i).copied();
                if hash.is_none() {
                    missing.insert(*i);
                }
                hash
            })
            .collect();
        if found.len() == indexes.len() {
            Ok(found)
        } else {
            Err(tlog::Error::IndexesNotInTree)
        }
    }
}

impl HashCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds stored hashes (fetched, or just computed).
    pub fn insert(&mut self, hashes: impl IntoIterator<Item = (u64, Hash)>) {
        self.known.extend(hashes);
    }

    /// The stored hashes appending `leaf` as leaf `n` adds (inserted here too), from
    /// stored index [`first_stored_index`]`(n)` on.
    pub fn append(&mut self, n: u64, leaf: Hash) -> Result<Vec<Hash>, Lack> {
        let new = self.compute(|r| tlog::stored_hashes_for_record_hash(n, leaf, r))?;
        let first = first_stored_index(n);
        self.insert(new.iter().enumerate().map(|(i, h)| (first + i as u64, *h)));
        Ok(new)
    }

    /// The root of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, Lack> {
        self.compute(|r| tlog::tree_hash(size, r))
    }

    /// That leaf `index` is in the tree of the first `size` leaves, from the cached hashes.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, Lack> {
        self.compute(|r| InclusionProof::build(r, index, size))
    }

    /// That the first `old` leaves are a prefix of the first `new`, from the cached hashes.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<ConsistencyProof, Lack> {
        self.compute(|r| ConsistencyProof::build(r, old, new))
    }

    /// Runs `f` over the known hashes: its result, or the stored hashes it lacked.
    fn compute<T>(&self, f: impl FnOnce(&Self) -> Result<T, tlog::Error>) -> Result<T, Lack> {
        self.missing.borrow_mut().clear();
        let result = f(self);
        let missing: Vec<u64> = std::mem::take(&mut *self.missing.borrow_mut())
            .into_iter()
            .collect();
        match result {
            Ok(value) => Ok(value),
            Err(_) if !missing.is_empty() => Err(Lack::Hashes(missing)),
            Err(e) => Err(Lack::Invalid(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| tlog::record_hash(format!("entry {i}").as_bytes()))
            .collect()
    }

    /// RFC 9162 §2.1.1's MTH, straight from its definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => tlog_tiles::EMPTY_HASH,
            1 => leaves[0],
            n => {
                let k = (n - 1).next_power_of_two().max(1);
                let k = if k >= n { k / 2 } else { k };
                tlog::node_hash(mth(&leaves[..k]), mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_at_every_size_match_the_rfc_definition() {
        let all = leaves(70);
        let mut tree = MemoryTree::new();
        for leaf in &all {
            tree.append(*leaf);
        }
        for size in 0..=70 {
            assert_eq!(
                tree.root_at(size).unwrap(),
                mth(&all[..size as usize]),
                "size {size}"
            );
        }
        assert_eq!(tree.root_at(71), None);
        assert_eq!(tree.leaf(69), Some(all[69]));
    }

    #[test]
    fn a_cache_says_what_it_lacks_and_then_computes_the_same_root() {
        let mut tree = MemoryTree::new();
        for leaf in leaves(37) {
            tree.append(leaf);
        }
        let mut cache = HashCache::new();
        let Err(Lack::Hashes(missing)) = cache.root(37) else {
            panic!("an empty cache lacks hashes");
        };
        let fetched = tree.read_hashes(&missing).unwrap();
        cache.insert(missing.into_iter().zip(fetched));
        let root = cache.root(37).unwrap();
        assert_eq!(root, tree.root());
    }
}
