//! Diesel queries. Every function runs on a connection whose transaction already has
//! its row-level security scope set (`plinth_db::scoped_transaction`), and filters by
//! tenant itself as well: the policy is the backstop, not the rule.

pub mod checklist;
pub mod entitlements;
pub mod offboarding;
pub mod onboarding;
pub mod role_bindings;
pub mod tenants;
pub mod workspaces;
