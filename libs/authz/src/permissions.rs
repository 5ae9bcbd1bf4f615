//! The permission table: which roles may take which action on which resource.
//!
//! Platform roles act across the tenants they are bound to; tenant roles act within
//! their own tenant (the service checks the tenant again against the request's
//! scope, and row-level security backs that up). Read-only roles never get a write.

use std::fmt;

use plinth_core::Role;

/// What is acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A tenant: its registration and its record.
    Tenant,
    /// A tenant's lifecycle status (active, suspended).
    TenantStatus,
    /// A workspace of a tenant.
    Workspace,
    /// A principal's role in a tenant.
    RoleBinding,
    /// An identity provider group's role in a tenant.
    GroupMapping,
    /// A tenant's entitlements: plan, quotas, modules.
    Entitlement,
    /// A tenant's onboarding and its checklist.
    Onboarding,
    /// A tenant's offboarding and its checklist.
    Offboarding,
    /// A tenant's audit log, or the platform's.
    AuditLog,
    /// A Domain Pack version: the platform's domain logic.
    DomainPack,
    /// A Tenant Pack version: one tenant's overrides.
    TenantPack,
    /// A tenant's active configuration: which pack versions it runs.
    PackActivation,
    /// A tenant's pack settings (whether activations need approval).
    PackSettings,
    /// A request to change a tenant's active configuration, decided by an approver.
    ConfigChange,
    /// A playbook definition and its published versions.
    Playbook,
    /// A playbook version linked to a tenant's active configuration.
    PlaybookLink,
    /// A workflow version of a workspace: a playbook at the workspace's scope.
    Workflow,
    /// The effective configuration the runtime reads.
    RuntimeConfig,
    /// A ticket classified by a tenant's active configuration.
    Classification,
    /// A module release in the platform's catalog: its import, trust review and
    /// lifecycle decisions.
    Module,
    /// A key the platform trusts to sign module releases.
    TrustedSigner,
    /// The images of a module deployed in a region, as the deployment system
    /// reports them.
    ModuleDeployment,
    /// A module release enabled for a tenant (or one of its workspaces).
    ModuleEnablement,
    /// A tenant's AI provider connection, the requests and delegated links its
    /// keys are entered through, and their validations.
    ProviderConnection,
    /// A pooled AI provider connection (the platform's key) and the tenants it
    /// is shared with.
    ProviderPool,
    /// Which of a tenant's provider connections the runtime should call.
    ProviderSelection,
    /// A provider connection's key in the clear: released to the runtime alone,
    /// each release audited.
    ProviderKey,
    /// A normalized health result about a provider connection, submitted
    /// through the platform's gate.
    ProviderHealth,
    /// A connector (ConnectWise Manage, Datto Autotask, HaloPSA, Microsoft
    /// Graph) installed in a workspace, and the setup of its credentials.
    ConnectorInstallation,
    /// A platform or module AI policy record and its versions.
    PolicyRecord,
    /// A tenant's own AI policy record (tenant or tenant/module scope).
    TenantPolicyRecord,
    /// A tenant's policy in force: its effective policy, decisions, and the
    /// bundle a runtime decides with.
    PolicyDecision,
    /// A run of a workflow or playbook and its steps, as the runtime reports
    /// them, each step decided at its gate.
    Run,
    /// An approval request of a step at gate L2, decided by an approver.
    ApprovalRequest,
    /// A step at gate L3: a person of the tenant does it and marks it done.
    HumanStep,
    /// A notification of a step at gate L1.
    Notification,
}

/// What is done to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Reads it.
    Read,
    /// Creates it.
    Create,
    /// Changes it.
    Update,
    /// Removes it.
    Delete,
}

impl Resource {
    /// Every resource, in the table's order.
    pub const ALL: [Resource; 36] = [
        Resource::Tenant,
        Resource::TenantStatus,
        Resource::Workspace,
        Resource::RoleBinding,
        Resource::GroupMapping,
        Resource::Entitlement,
        Resource::Onboarding,
        Resource::Offboarding,
        Resource::AuditLog,
        Resource::DomainPack,
        Resource::TenantPack,
        Resource::PackActivation,
        Resource::PackSettings,
        Resource::ConfigChange,
        Resource::Playbook,
        Resource::PlaybookLink,
        Resource::Workflow,
        Resource::RuntimeConfig,
        Resource::Classification,
        Resource::Module,
        Resource::TrustedSigner,
        Resource::ModuleDeployment,
        Resource::ModuleEnablement,
        Resource::ProviderConnection,
        Resource::ProviderPool,
        Resource::ProviderSelection,
        Resource::ProviderKey,
        Resource::ProviderHealth,
        Resource::ConnectorInstallation,
        Resource::PolicyRecord,
        Resource::TenantPolicyRecord,
        Resource::PolicyDecision,
        Resource::Run,
        Resource::ApprovalRequest,
        Resource::HumanStep,
        Resource::Notification,
    ];

    /// Its name in messages and tests, e.g. `role_binding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Tenant => "tenant",
            Resource::TenantStatus => "tenant_status",
            Resource::Workspace => "workspace",
            Resource::RoleBinding => "role_binding",
            Resource::GroupMapping => "group_mapping",
            Resource::Entitlement => "entitlement",
            Resource::Onboarding => "onboarding",
            Resource::Offboarding => "offboarding",
            Resource::AuditLog => "audit_log",
            Resource::DomainPack => "domain_pack",
            Resource::TenantPack => "tenant_pack",
            Resource::PackActivation => "pack_activation",
            Resource::PackSettings => "pack_settings",
            Resource::ConfigChange => "config_change",
            Resource::Playbook => "playbook",
            Resource::PlaybookLink => "playbook_link",
            Resource::Workflow => "workflow",
            Resource::RuntimeConfig => "runtime_config",
            Resource::Classification => "classification",
            Resource::Module => "module",
            Resource::TrustedSigner => "trusted_signer",
            Resource::ModuleDeployment => "module_deployment",
            Resource::ModuleEnablement => "module_enablement",
            Resource::ProviderConnection => "provider_connection",
            Resource::ProviderPool => "provider_pool",
            Resource::ProviderSelection => "provider_selection",
            Resource::ProviderKey => "provider_key",
            Resource::ProviderHealth => "provider_health",
            Resource::ConnectorInstallation => "connector_installation",
            Resource::PolicyRecord => "policy_record",
            Resource::TenantPolicyRecord => "tenant_policy_record",
            Resource::PolicyDecision => "policy_decision",
            Resource::Run => "run",
            Resource::ApprovalRequest => "approval_request",
            Resource::HumanStep => "human_step",
            Resource::Notification => "notification",
        }
    }
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 4] = [Action::Read, Action::Create, Action::Update, Action::Delete];

    /// Its name in messages, e.g. `update`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles that may take `action` on `resource`. Every role may read what it can
/// reach; the table below lists who may change it.
fn writers(resource: Resource) -> &'static [Role] {
    use Role::*;
    match resource {
        // Creating a tenant, changing its lifecycle, its entitlements, onboarding and
        // offboarding are the MSP platform team's.
        Resource::Tenant
        | Resource::TenantStatus
        | Resource::Entitlement
        | Resource::Onboarding
        | Resource::Offboarding => &[PlatformAdmin],
        // A tenant's own administrators manage its workspaces, who holds which role,
        // and how their IdP's groups map to roles.
        Resource::Workspace | Resource::RoleBinding | Resource::GroupMapping => {
            &[PlatformAdmin, WorkspaceAdmin]
        }
        // The audit log is written by the audit service from every service's events,
        // never through a request.
        Resource::AuditLog => &[],
        // Platform management owns trust: domain logic and playbooks are the
        // platform team's.
        Resource::DomainPack | Resource::Playbook => &[PlatformAdmin],
        // A tenant's own administrators manage its overrides, what it runs, whether
        // changes need approval, and which playbooks it links.
        Resource::TenantPack
        | Resource::PackActivation
        | Resource::PackSettings
        | Resource::PlaybookLink => &[PlatformAdmin, WorkspaceAdmin],
        // A workspace's workflows are its administrators'.
        Resource::Workflow => &[PlatformAdmin, WorkspaceAdmin],
        // A change request is decided by an approver of the tenant, never by the
        // platform team on the tenant's behalf (and never by whoever asked).
        Resource::ConfigChange => &[Approver],
        // The runtime reads its configuration; nobody writes it but an activation.
        Resource::RuntimeConfig => &[],
        // Tickets are classified by the people who run the tenant's operations.
        Resource::Classification => &[PlatformAdmin, WorkspaceAdmin, Operator],
        // Platform management owns trust: which releases enter the catalog and
        // whose signatures count.
        // What runs in a region is reported by the deployment system, a client of
        // the platform team's.
        Resource::Module | Resource::TrustedSigner | Resource::ModuleDeployment => &[PlatformAdmin],
        // Tenant management owns enablement: a tenant's administrators choose
        // which approved releases it runs.
        Resource::ModuleEnablement => &[PlatformAdmin, WorkspaceAdmin],
        // A tenant's provider connections and their keys' setup are its
        // integration administrators' (and its administrators'); nobody enters a
        // key here: a setup link carries it past the management API.
        Resource::ProviderConnection => &[PlatformAdmin, WorkspaceAdmin, IntegrationAdmin],
        // The platform's own keys, and which tenants share them, are the
        // platform team's.
        Resource::ProviderPool => &[PlatformAdmin],
        // A selection is an answer, never stored; a key enters only through a
        // setup link, never through a request.
        Resource::ProviderSelection | Resource::ProviderKey => &[],
        // Health results come from whoever observes a connection: the tenant's
        // administrators, the platform team, and the runtime that calls it —
        // each through the platform's gate, which may refuse more.
        Resource::ProviderHealth => &[PlatformAdmin, WorkspaceAdmin, IntegrationAdmin, Runtime],
        // Which PSA and directory connectors a workspace uses, and their
        // credentials' setup, are the tenant's integration administrators'
        // alone.
        Resource::ConnectorInstallation => &[IntegrationAdmin],
        // The platform's AI policy — and each module's — is the platform
        // team's; a tenant's administrators may tighten it for their tenant.
        Resource::PolicyRecord => &[PlatformAdmin],
        Resource::TenantPolicyRecord => &[PlatformAdmin, WorkspaceAdmin],
        // Decisions are answers, never stored here.
        Resource::PolicyDecision => &[],
        // Runs and their steps are what the runtime reports: nobody else
        // writes them.
        Resource::Run => &[Runtime],
        // An approval request is decided by an approver of the tenant, never by
        // the platform team on its behalf (and never by whoever asked).
        Resource::ApprovalRequest => &[Approver],
        // A human-only step is done by the people who run the tenant's
        // operations, and marked done by them.
        Resource::HumanStep => &[WorkspaceAdmin, Operator],
        // Notifications are made by the steps that notify, never by a request.
        Resource::Notification => &[],
    }
}

/// The roles that may read `resource`; `None`: every role that reaches it.
fn readers(resource: Resource) -> Option<&'static [Role]> {
    use Role::*;
    match resource {
        // The audit trail is for administrators and auditors: the platform's for the
        // whole platform, a tenant's for its own.
        Resource::AuditLog => Some(&[PlatformAdmin, PlatformAuditor, WorkspaceAdmin, Auditor]),
        // The keys the platform trusts are the platform team's business.
        Resource::TrustedSigner => Some(&[PlatformAdmin, PlatformAuditor]),
        // A pooled connection's tenants are the platform's business; a tenant
        // sees a pooled connection shared with it among its own connections.
        Resource::ProviderPool => Some(&[PlatformAdmin, PlatformAuditor]),
        // A key in the clear goes to the runtime and to nobody else.
        Resource::ProviderKey => Some(&[Runtime]),
        _ => None,
    }
}

/// Whether the runtime reads `resource`: only what it runs on (the classified
/// tickets it takes among it). Every other role
/// reads what it reaches unless [`readers`] narrows it.
fn runtime_reads(resource: Resource) -> bool {
    matches!(
        resource,
        Resource::RuntimeConfig
            | Resource::ProviderSelection
            | Resource::ProviderKey
            | Resource::PolicyDecision
            | Resource::Run
            | Resource::Classification
    )
}

/// Whether any of `roles` may take `action` on `resource`.
pub fn allows(roles: &[Role], resource: Resource, action: Action) -> bool {
    match action {
        Action::Read => match readers(resource) {
            None => roles
                .iter()
                .any(|r| *r != Role::Runtime || runtime_reads(resource)),
            Some(readers) => roles.iter().any(|r| readers.contains(r)),
        },
        Action::Create | Action::Update | Action::Delete => roles
            .iter()
            .any(|r| !r.is_read_only() && writers(resource).contains(r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_roles_never_write() {
        for resource in Resource::ALL {
            for action in [Action::Create, Action::Update, Action::Delete] {
                assert!(!allows(&[Role::Auditor], resource, action));
                assert!(!allows(&[Role::PlatformAuditor], resource, action));
            }
            // A tenant's auditor reads everything of its tenant; the platform's
            // trusted signers are the platform team's alone.
            let reads = allows(&[Role::Auditor], resource, Action::Read);
            let not_auditors = [
                Resource::TrustedSigner,
                Resource::ProviderPool,
                Resource::ProviderKey,
            ];
            assert_eq!(reads, !not_auditors.contains(&resource), "{resource}");
            assert_eq!(
                allows(&[Role::PlatformAuditor], resource, Action::Read),
                resource != Resource::ProviderKey,
                "{resource}"
            );
        }
    }

    #[test]
    fn only_administrators_and_auditors_read_audit_logs() {
        for role in Role::ALL {
            let reads = allows(&[role], Resource::AuditLog, Action::Read);
            let expected = matches!(
                role,
                Role::PlatformAdmin | Role::PlatformAuditor | Role::WorkspaceAdmin | Role::Auditor
            );
            assert_eq!(reads, expected, "{role}");
            assert!(
                !allows(&[role], Resource::AuditLog, Action::Create),
                "{role}"
            );
        }
    }

    #[test]
    fn the_runtime_reads_what_it_runs_on_and_writes_only_health_results_and_runs() {
        for resource in Resource::ALL {
            let reads = allows(&[Role::Runtime], resource, Action::Read);
            assert_eq!(
                reads,
                matches!(
                    resource,
                    Resource::RuntimeConfig
                        | Resource::ProviderSelection
                        | Resource::ProviderKey
                        | Resource::PolicyDecision
                        | Resource::Run
                        | Resource::Classification
                ),
                "{resource}"
            );
            for action in [Action::Create, Action::Update, Action::Delete] {
                let writes = matches!(resource, Resource::ProviderHealth | Resource::Run);
                assert_eq!(
                    allows(&[Role::Runtime], resource, action),
                    writes,
                    "{resource}"
                );
            }
        }
        // Nobody else gets a key in the clear.
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Runtime) {
            assert!(
                !allows(&[role], Resource::ProviderKey, Action::Read),
                "{role}"
            );
        }
    }

    #[test]
    fn only_the_platform_team_creates_tenants() {
        assert!(allows(
            &[Role::PlatformAdmin],
            Resource::Tenant,
            Action::Create
        ));
        for role in Role::ALL.into_iter().filter(|r| *r != Role::PlatformAdmin) {
            assert!(!allows(&[role], Resource::Tenant, Action::Create), "{role}");
        }
        assert!(allows(
            &[Role::WorkspaceAdmin],
            Resource::Workspace,
            Action::Create
        ));
        assert!(!allows(
            &[Role::Operator],
            Resource::Workspace,
            Action::Create
        ));
        assert!(!allows(&[], Resource::Tenant, Action::Read));
    }
}
