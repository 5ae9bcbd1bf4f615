//! Diesel queries, one module per table. Every function takes the request's
//! context first and runs inside a transaction the app layer opened with the
//! caller's row-level security scope.

pub mod active;
pub mod attempts;
pub mod changes;
pub mod classifications;
pub mod domain_packs;
pub mod playbooks;
pub mod tenant_packs;
pub mod tenants;
pub mod tools;
pub mod workflows;
