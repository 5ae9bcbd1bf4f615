//! AI policy records and decisions: what a record at one scope (platform,
//! tenant, module, tenant/module) says ([`Rules`]), their merge into the
//! effective policy with provenance ([`effective`]) — a lower scope only ever
//! tightens — and a decision on a step the runtime is about to take
//! ([`decide`]), over one effective policy or a tenant's compiled [`Bundle`].
//! The policy service and a runtime deciding in-process use the same code.

mod bundle;
mod decide;
mod merge;
mod rules;

pub use crate::bundle::Bundle;
pub use crate::decide::{Decision, Outcome, Reason, Request, Usage, decide};
pub use crate::merge::{Decided, Effective, Kept, Level, Source, effective, effective_of_kept};
pub use crate::rules::{
    ConnectorRules, ContentRules, Gate, HealthRules, OverBudget, ProviderRules, Rules, TokenRules,
};
