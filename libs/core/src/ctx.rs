//! Who is asking, for which tenant, in which region: the context the app layer
//! decides with (through the caller it belongs to). Store functions never take it:
//! they take the connection first, already inside a transaction scoped to the
//! tenants the caller reaches, and then typed arguments (see `ARCHITECTURE.md`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{ApiError, Region, TenantId, UnknownValue};

crate::typed_id!(
    /// One request, end to end: set or read at the edge, echoed in `x-request-id`,
    /// carried in every log line and problem document.
    RequestId,
    "req",
    "request"
);

/// A role, platform-wide or bound to a tenant or workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// MSP platform team: manages trust and every tenant it is bound to.
    PlatformAdmin,
    /// MSP auditors: read-only, platform-wide.
    PlatformAuditor,
    /// Administers one tenant or workspace.
    WorkspaceAdmin,
    /// Runs day-to-day operations in a tenant.
    Operator,
    /// Decides approval requests (human-in-the-loop gates).
    Approver,
    /// Read-only within a tenant.
    Auditor,
    /// Manages provider connections and connectors of a tenant.
    IntegrationAdmin,
    /// The AI operations runtime of a region: a machine, not a person. It acts
    /// across the region's tenants and reads only what it runs on (its
    /// configuration, which provider connection to use, that connection's key,
    /// and the policy its steps are decided by).
    Runtime,
}

impl Role {
    /// Every role, platform roles first.
    pub const ALL: [Role; 8] = [
        Role::PlatformAdmin,
        Role::PlatformAuditor,
        Role::WorkspaceAdmin,
        Role::Operator,
        Role::Approver,
        Role::Auditor,
        Role::IntegrationAdmin,
        Role::Runtime,
    ];

    /// As tokens and role bindings spell it, e.g. `WorkspaceAdmin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "PlatformAdmin",
            Role::PlatformAuditor => "PlatformAuditor",
            Role::WorkspaceAdmin => "WorkspaceAdmin",
            Role::Operator => "Operator",
            Role::Approver => "Approver",
            Role::Auditor => "Auditor",
            Role::IntegrationAdmin => "IntegrationAdmin",
            Role::Runtime => "Runtime",
        }
    }

    /// Whether the role is held platform-wide rather than per tenant.
    pub fn is_platform(self) -> bool {
        matches!(
            self,
            Role::PlatformAdmin | Role::PlatformAuditor | Role::Runtime
        )
    }

    /// Whether the role may only read.
    pub fn is_read_only(self) -> bool {
        matches!(self, Role::PlatformAuditor | Role::Auditor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownValue {
                value: s.to_owned(),
                allowed: "PlatformAdmin, PlatformAuditor, WorkspaceAdmin, Operator, Approver, \
                      Auditor, IntegrationAdmin, Runtime",
            })
    }
}

/// The authenticated subject behind a request: a person (the IdP's `sub`), an API
/// client, or a Plinth service acting on its own (saga steps, relays).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Principal {
    /// Stable subject identifier, e.g. the OIDC `sub` or `service:audit`.
    pub subject: String,
    /// A human-readable name or e-mail address, for audit trails and screens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Principal {
    /// A Plinth service acting on its own behalf.
    pub fn service(name: &str) -> Self {
        Principal {
            subject: format!("service:{name}"),
            display: None,
        }
    }
}

/// The request context: who is asking, for which tenant, with which roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReqCtx {
    /// Who is calling.
    pub principal: Principal,
    /// The tenant the request acts on; `None` for platform-level requests.
    pub tenant: Option<TenantId>,
    /// The roles the principal holds for `tenant` (or platform-wide).
    pub roles: Vec<Role>,
    /// The region of the deployment handling the request.
    pub region: Region,
    /// The request's id, the same at every hop.
    pub request_id: RequestId,
}

impl ReqCtx {
    /// A context for work a service does on its own (event handlers, saga steps).
    pub fn for_service(service: &str, region: Region, tenant: Option<TenantId>) -> Self {
        ReqCtx {
            principal: Principal::service(service),
            tenant,
            roles: Vec::new(),
            region,
            request_id: RequestId::new(),
        }
    }

    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the principal holds any of `roles`.
    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has_role(*r))
    }

    /// The tenant this request is scoped to, or `invalid_request` when there is none.
    pub fn require_tenant(&self) -> Result<TenantId, ApiError> {
        self.tenant
            .ok_or_else(|| ApiError::invalid_request("tenant", "this operation needs a tenant"))
    }

    /// Refuses, as `wrong_region`, a tenant that lives in another region than this
    /// deployment.
    pub fn require_local(&self, tenant: TenantId) -> Result<TenantId, ApiError> {
        if tenant.region() == self.region {
            Ok(tenant)
        } else {
            Err(ApiError::wrong_region(tenant.region(), None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_their_names_only() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("platformadmin".parse::<Role>().is_err());
        assert!(Role::PlatformAuditor.is_read_only() && Role::PlatformAuditor.is_platform());
        assert!(!Role::Operator.is_read_only() && !Role::Operator.is_platform());
    }

    #[test]
    fn context_refuses_other_regions() {
        let ctx = ReqCtx::for_service("test", Region::Us, None);
        let eu = TenantId::new(Region::Eu);
        let us = TenantId::new(Region::Us);
        assert_eq!(ctx.require_local(us).unwrap(), us);
        let err = ctx.require_local(eu).unwrap_err();
        assert_eq!(err.code(), crate::Code::WrongRegion);
        assert_eq!(
            ctx.require_tenant().unwrap_err().code(),
            crate::Code::InvalidRequest
        );
    }
}
