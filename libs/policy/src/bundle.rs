//! A tenant's compiled policy, as a runtime keeps it to decide in-process: the
//! tenant's effective policy and each module's that has records of its own,
//! named by an entity tag that changes exactly when its content does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::decide::{Decision, Outcome, Reason, Request, Usage, decide};
use crate::merge::Effective;

/// A tenant's policies in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub tenant_id: String,
    /// The tenant's effective policy.
    pub tenant: Effective,
    /// The effective policy of each module with module or tenant/module
    /// records; any other module runs under the tenant's.
    pub modules: BTreeMap<String, Effective>,
    /// Whether the tenant's policies were withdrawn (it is offboarded):
    /// every decision is a refusal.
    #[serde(default)]
    pub withdrawn: bool,
}

impl Bundle {
    /// The policy `module` (none: the tenant's own work) runs under.
    pub fn policy_for(&self, module: Option<&str>) -> &Effective {
        module
            .and_then(|m| self.modules.get(m))
            .unwrap_or(&self.tenant)
    }

    /// Decides `request` of `module`; for a withdrawn tenant, a refusal
    /// whatever the policy says.
    pub fn decide(&self, module: Option<&str>, request: &Request, usage: Usage) -> Decision {
        let mut decision = decide(self.policy_for(module), request, usage);
        if self.withdrawn {
            decision.outcome = Outcome::Deny;
            decision.reasons.push(Reason {
                outcome: Outcome::Deny,
                code: "tenant_withdrawn".to_owned(),
                field: "withdrawn".to_owned(),
                detail: "the tenant was offboarded: its policies are withdrawn".to_owned(),
                decided_by: Vec::new(),
            });
        }
        decision
    }

    /// Its entity tag: the SHA-256 of its JSON (maps are ordered, so equal
    /// bundles have equal tags), quoted as HTTP wants it.
    pub fn etag(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let digest = Sha256::digest(&json);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("\"{hex}\"")
    }
}
