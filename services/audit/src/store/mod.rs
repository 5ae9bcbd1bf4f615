//! Diesel queries. Every function runs in a transaction whose row-level security
//! scope is already set, and filters by log itself as well.

pub mod checkpoints;
pub mod entries;
pub mod known_tenants;
pub mod logs;
pub mod tree_hashes;
