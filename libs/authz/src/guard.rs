//! Authorization in the handler's type.
//!
//! A handler names what it does as [`Authorized<R, A>`]: `R` a resource of [`on`],
//! `A` an action of [`to`]. The extractor verifies the internal token (a missing or
//! bad one is refused before the handler runs) and decides the permission: the
//! caller's roles, and when the route's path names a tenant (`{tenant_id}`), whether
//! the caller reaches that tenant and holds such a role there. A [`Caller`] is no
//! extractor of its own, so the only way into the app layer, whose functions take
//! the caller, is through that decision: [`Authorized::permit`] hands the caller
//! out when the decision allows, and the refusal otherwise.
//!
//! The refusal is handed out where the app asks for it, not answered by the
//! extractor, because the app records refused changes in the audit trail with the
//! action's own name and keeps the answers' order (a tenant the caller does not
//! reach is `not_found`, before any `forbidden`). Where the tenant is known only in
//! the app (named in a body, found on a row), [`Authorized::permit_in`] decides for
//! that tenant with the same resource and action.

use std::future::{Ready, ready};
use std::marker::PhantomData;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use plinth_core::http::tenant_path;
use plinth_core::{ApiError, ReqCtx, TenantId};

use crate::token::caller_of;
use crate::{Action, Caller, Resource, allows};

/// A resource, or a choice of resources, a route acts on.
pub trait Resources: 'static {
    /// What the route acts on: one resource, or the resources the app chooses
    /// among with [`Authorized::permit_as`].
    const RESOURCES: &'static [Resource];
}

/// An action a route takes.
pub trait Act: 'static {
    /// The action.
    const ACTION: Action;
}

/// The resources routes name, one type each (and two choices: [`on::Pack`] and
/// [`on::ApprovalSetting`]).
pub mod on {
    use super::{Resource, Resources};

    macro_rules! resources {
        ($($(#[$doc:meta])* $name:ident => [$($resource:ident),+];)+) => {$(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl Resources for $name {
                const RESOURCES: &'static [Resource] = &[$(Resource::$resource),+];
            }
        )+};
    }

    resources! {
        /// A tenant.
        Tenant => [Tenant];
        /// A tenant's lifecycle status.
        TenantStatus => [TenantStatus];
        /// A tenant's workspace.
        Workspace => [Workspace];
        /// A principal's role in a tenant.
        RoleBinding => [RoleBinding];
        /// An identity provider group's role in a tenant.
        GroupMapping => [GroupMapping];
        /// A tenant's entitlements.
        Entitlement => [Entitlement];
        /// A tenant's onboarding.
        Onboarding => [Onboarding];
        /// A tenant's offboarding.
        Offboarding => [Offboarding];
        /// An audit log.
        AuditLog => [AuditLog];
        /// A Domain Pack version.
        DomainPack => [DomainPack];
        /// A module release in the catalog.
        Module => [Module];
        /// A key trusted to sign module releases.
        TrustedSigner => [TrustedSigner];
        /// A module's images deployed in a region.
        ModuleDeployment => [ModuleDeployment];
        /// A module release enabled for a tenant.
        ModuleEnablement => [ModuleEnablement];
        /// A tenant's AI provider connection and its key setup.
        ProviderConnection => [ProviderConnection];
        /// A pooled AI provider connection and its tenants.
        ProviderPool => [ProviderPool];
        /// Which connection the runtime should call.
        ProviderSelection => [ProviderSelection];
        /// A connection's key, released to the runtime.
        ProviderKey => [ProviderKey];
        /// A health result about a connection.
        ProviderHealth => [ProviderHealth];
        /// A connector installed in a workspace.
        ConnectorInstallation => [ConnectorInstallation];
        /// A platform or module policy record.
        PolicyRecord => [PolicyRecord];
        /// A tenant's own policy record.
        TenantPolicyRecord => [TenantPolicyRecord];
        /// A tenant's policy in force and decisions under it.
        PolicyDecision => [PolicyDecision];
        /// A run and its steps.
        Run => [Run];
        /// An approval request of a step.
        ApprovalRequest => [ApprovalRequest];
        /// A human-only step.
        HumanStep => [HumanStep];
        /// A notification of a step.
        Notification => [Notification];
        /// A Tenant Pack version.
        TenantPack => [TenantPack];
        /// A pack of either kind: which one, the request says.
        Pack => [DomainPack, TenantPack];
        /// A tenant's active configuration.
        PackActivation => [PackActivation];
        /// A tenant's pack settings.
        PackSettings => [PackSettings];
        /// Whether a tenant's activations need approval: its administrators turn
        /// it on, its approvers may also turn it off.
        ApprovalSetting => [PackSettings, ConfigChange];
        /// A change request.
        ConfigChange => [ConfigChange];
        /// A playbook.
        Playbook => [Playbook];
        /// A playbook linked to a tenant.
        PlaybookLink => [PlaybookLink];
        /// A workflow version of a workspace.
        Workflow => [Workflow];
        /// The runtime's effective configuration.
        RuntimeConfig => [RuntimeConfig];
        /// A ticket classification.
        Classification => [Classification];
    }
}

/// The actions routes take, one type each.
pub mod to {
    use super::{Act, Action};

    macro_rules! actions {
        ($($(#[$doc:meta])* $name:ident;)+) => {$(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl Act for $name {
                const ACTION: Action = Action::$name;
            }
        )+};
    }

    actions! {
        /// Reads.
        Read;
        /// Creates.
        Create;
        /// Changes.
        Update;
        /// Removes.
        Delete;
    }
}

/// A request whose caller the extractor verified and whose permission to take
/// `A` on `R` it decided. See the [module](self) for how the decision is used.
#[derive(Debug)]
pub struct Authorized<R, A> {
    caller: Caller,
    tenant: Option<TenantId>,
    decision: Result<(), ApiError>,
    route: PhantomData<fn() -> (R, A)>,
}

impl<R: Resources, A: Act> Authorized<R, A> {
    /// Decides for `caller`, in the tenant the route names if any.
    pub fn decide(caller: Caller, tenant: Option<TenantId>) -> Self {
        let decision = decide(&caller, tenant, R::RESOURCES, A::ACTION);
        Authorized {
            caller,
            tenant,
            decision,
            route: PhantomData,
        }
    }

    /// The caller, to act with, if the decision allows; its refusal otherwise.
    pub fn permit(&self) -> Result<&Caller, ApiError> {
        self.decision.clone().map(|()| &self.caller)
    }

    /// The caller, to act in `tenant` — a tenant the app learned from a body or a
    /// row — if it reaches `tenant` and a role it holds there allows the route's
    /// action.
    pub fn permit_in(&self, tenant: TenantId) -> Result<&Caller, ApiError> {
        decide(&self.caller, Some(tenant), R::RESOURCES, A::ACTION).map(|()| &self.caller)
    }

    /// The caller, to act on `resource` — one of the route's choices, picked by
    /// the request — in the route's tenant, or in `tenant` when the app learned it.
    pub fn permit_as(
        &self,
        resource: Resource,
        tenant: Option<TenantId>,
    ) -> Result<&Caller, ApiError> {
        if !R::RESOURCES.contains(&resource) {
            return Err(ApiError::internal(format!(
                "the route does not name {resource} among what it acts on"
            )));
        }
        decide(&self.caller, tenant.or(self.tenant), &[resource], A::ACTION).map(|()| &self.caller)
    }

    /// Whether the caller may take the route's action on `resource`, one of the
    /// route's choices, in the route's tenant.
    pub fn may(&self, resource: Resource) -> bool {
        self.permit_as(resource, None).is_ok()
    }
}

/// Who is asking: enough to record what they were refused, nothing to act with.
pub trait Requester {
    /// Their identity and roles, as the token says.
    fn ctx(&self) -> &ReqCtx;

    /// Whether they reach `tenant` (whose log a refusal joins).
    fn reaches(&self, tenant: TenantId) -> bool;

    /// Whether they hold a platform role bound to every tenant (the platform's
    /// own records are theirs).
    fn reaches_every_tenant(&self) -> bool {
        self.ctx().roles.iter().any(|r| r.is_platform()) && self.bound_everywhere()
    }

    /// Whether no binding narrows them to chosen tenants.
    fn bound_everywhere(&self) -> bool;
}

impl Requester for Caller {
    fn ctx(&self) -> &ReqCtx {
        &self.ctx
    }

    fn reaches(&self, tenant: TenantId) -> bool {
        Caller::reaches(self, tenant)
    }

    fn bound_everywhere(&self) -> bool {
        self.bound_tenants.is_none()
    }
}

impl<R, A> Requester for Authorized<R, A> {
    fn ctx(&self) -> &ReqCtx {
        &self.caller.ctx
    }

    fn reaches(&self, tenant: TenantId) -> bool {
        self.caller.reaches(tenant)
    }

    fn bound_everywhere(&self) -> bool {
        self.caller.bound_tenants.is_none()
    }
}

/// Allowed when the caller reaches `tenant` (if one is named) and a role it holds
/// there allows `action` on any of `resources`.
fn decide(
    caller: &Caller,
    tenant: Option<TenantId>,
    resources: &[Resource],
    action: Action,
) -> Result<(), ApiError> {
    let roles = match tenant {
        Some(tenant) => {
            caller.reach(tenant)?;
            caller.roles_in(tenant)
        }
        None => caller.ctx.roles.clone(),
    };
    if resources.iter().any(|r| allows(&roles, *r, action)) {
        return Ok(());
    }
    let names: Vec<&str> = resources.iter().map(|r| r.as_str()).collect();
    let within = if tenant.is_some() {
        " in this tenant"
    } else {
        ""
    };
    Err(ApiError::forbidden(format!(
        "your roles{within} do not allow {action} on {}",
        names.join(" or ")
    )))
}

impl<R: Resources, A: Act> FromRequest for Authorized<R, A> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authorized(req))
    }
}

fn authorized<R: Resources, A: Act>(req: &HttpRequest) -> Result<Authorized<R, A>, ApiError> {
    let caller = caller_of(req)?;
    let tenant = req
        .match_info()
        .get("tenant_id")
        .map(tenant_path)
        .transpose()?;
    Ok(Authorized::decide(caller, tenant))
}

/// A request with a verified internal token, for the few routes any caller with
/// one may use (a service's public key). It grants nothing in the app.
#[derive(Debug)]
pub struct Authenticated(());

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller_of(req).map(|_| Authenticated(())))
    }
}

#[cfg(test)]
mod tests {
    use plinth_core::{Code, Principal, Region, RequestId, Role};

    use super::*;

    fn caller(tenant: Option<TenantId>, roles: Vec<Role>, bound: Option<Vec<TenantId>>) -> Caller {
        Caller {
            ctx: ReqCtx {
                principal: Principal {
                    subject: "ana".into(),
                    display: None,
                },
                tenant,
                roles,
                region: Region::Eu,
                request_id: RequestId::new(),
            },
            bound_tenants: bound,
            grants: None,
        }
    }

    #[test]
    fn the_route_decides_and_the_app_acts_only_on_an_allowed_decision() {
        let own = TenantId::new(Region::Eu);
        let admin = caller(Some(own), vec![Role::WorkspaceAdmin], None);
        let creating = Authorized::<on::Workspace, to::Create>::decide(admin.clone(), Some(own));
        assert!(creating.permit().is_ok());
        let deciding = Authorized::<on::ConfigChange, to::Update>::decide(admin, Some(own));
        assert_eq!(deciding.permit().unwrap_err().code(), Code::Forbidden);
    }

    #[test]
    fn a_tenant_out_of_reach_is_not_found_before_any_forbidden() {
        let own = TenantId::new(Region::Eu);
        let other = TenantId::new(Region::Eu);
        let bound = caller(None, vec![Role::PlatformAdmin], Some(vec![own]));
        let deciding =
            Authorized::<on::ConfigChange, to::Update>::decide(bound.clone(), Some(other));
        assert_eq!(deciding.permit().unwrap_err().code(), Code::NotFound);
        let platform_wide = Authorized::<on::TenantPack, to::Create>::decide(bound, None);
        assert!(platform_wide.permit().is_ok());
        assert_eq!(
            platform_wide.permit_in(other).unwrap_err().code(),
            Code::NotFound
        );
        assert!(platform_wide.permit_in(own).is_ok());
    }

    #[test]
    fn a_choice_of_resources_is_narrowed_only_to_one_the_route_names() {
        let own = TenantId::new(Region::Eu);
        let approver = caller(Some(own), vec![Role::Approver], None);
        let setting = Authorized::<on::ApprovalSetting, to::Update>::decide(approver, Some(own));
        assert!(
            setting.permit().is_ok(),
            "an approver may turn approval off"
        );
        assert!(setting.may(Resource::ConfigChange));
        assert!(!setting.may(Resource::PackSettings));
        assert_eq!(
            setting
                .permit_as(Resource::Tenant, None)
                .unwrap_err()
                .code(),
            Code::Internal
        );
    }
}
