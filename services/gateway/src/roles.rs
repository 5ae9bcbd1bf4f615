//! Who holds which role: platform roles from identity-provider groups (the
//! gateway's configuration), tenant roles from the tenant registry's role bindings
//! and group mappings — kept here as a projection of its `role_binding.*` and
//! `group_mapping.*` events, so that no request waits on another service.
//!
//! Applying an event twice changes nothing: a binding is keyed by its id
//! ([`crate::projection`] feeds it).

use parking_lot::RwLock;
use std::collections::{BTreeMap, HashMap};

use plinth_bus::Schemas;
use plinth_core::{Role, TenantId};
use serde::Deserialize;

use crate::identity::Identity;

const ROLE_BINDING_CREATED: &str = "plinth.role_binding.created";
const ROLE_BINDING_DELETED: &str = "plinth.role_binding.deleted";
const GROUP_MAPPING_CREATED: &str = "plinth.group_mapping.created";
const GROUP_MAPPING_DELETED: &str = "plinth.group_mapping.deleted";

#[derive(Debug, Deserialize)]
struct RoleBindingChanged {
    tenant_id: String,
    binding_id: String,
    workspace_id: Option<String>,
    principal_kind: String,
    principal: String,
    role: String,
    changed_at: i64,
}

/// What a binding grants: a role in a tenant, since when (micros).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grant {
    tenant: TenantId,
    role: Role,
    since: i64,
}

/// The bindings, found by who holds them: a request looks up its subject and its
/// groups, never the whole set.
#[derive(Debug, Default)]
struct Bindings {
    /// (`subject` or `group`, principal) → binding id → grant.
    by_principal: HashMap<(String, String), HashMap<String, Grant>>,
    /// Binding id → its principal, for deletions.
    principal_of: HashMap<String, (String, String)>,
}

impl Bindings {
    fn insert(&mut self, id: String, principal: (String, String), grant: Grant) {
        self.remove(&id);
        self.by_principal
            .entry(principal.clone())
            .or_default()
            .insert(id.clone(), grant);
        self.principal_of.insert(id, principal);
    }

    fn remove(&mut self, id: &str) {
        if let Some(principal) = self.principal_of.remove(id)
            && let Some(grants) = self.by_principal.get_mut(&principal)
        {
            grants.remove(id);
            if grants.is_empty() {
                self.by_principal.remove(&principal);
            }
        }
    }

    fn of(&self, kind: &str, principal: &str) -> impl Iterator<Item = &Grant> {
        self.by_principal
            .get(&(kind.to_owned(), principal.to_owned()))
            .into_iter()
            .flat_map(HashMap::values)
    }
}

/// The roles of identities.
#[derive(Debug, Default)]
pub struct Roles {
    platform_groups: BTreeMap<String, Role>,
    bindings: RwLock<Bindings>,
}

/// What a caller holds: platform roles over every tenant (from its groups),
/// platform roles over chosen tenants (MSP staff bound to them), and tenant roles
/// by tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    pub platform: Vec<Role>,
    pub bound: BTreeMap<Role, Vec<TenantId>>,
    pub tenants: BTreeMap<TenantId, Vec<Role>>,
    /// The tenant a request that names none acts in: the one where the caller
    /// first held a tenant role. Another tenant's administrator binding the
    /// caller later cannot move it, so cannot make such requests ambiguous.
    pub home: Option<TenantId>,
}

impl Roles {
    pub fn new(platform_groups: BTreeMap<String, Role>) -> Self {
        Roles {
            platform_groups,
            bindings: RwLock::default(),
        }
    }

    /// The roles `identity` holds.
    pub fn held(&self, identity: &Identity) -> Held {
        let mut platform: Vec<Role> = identity
            .groups
            .iter()
            .filter_map(|g| self.platform_groups.get(g).copied())
            .collect();
        platform.sort_by_key(|r| r.as_str());
        platform.dedup();
        let mut tenants: BTreeMap<TenantId, Vec<Role>> = BTreeMap::new();
        let mut bound: BTreeMap<Role, Vec<TenantId>> = BTreeMap::new();
        let bindings = self.bindings.read();
        let grants = bindings
            .of("subject", &identity.subject)
            .chain(identity.groups.iter().flat_map(|g| bindings.of("group", g)));
        let mut first: Option<(i64, TenantId)> = None;
        for grant in grants {
            if !grant.role.is_platform() {
                let candidate = (grant.since, grant.tenant);
                first = Some(first.map_or(candidate, |f| f.min(candidate)));
            }
            if grant.role.is_platform() {
                let over = bound.entry(grant.role).or_default();
                if !over.contains(&grant.tenant) {
                    over.push(grant.tenant);
                }
            } else {
                let roles = tenants.entry(grant.tenant).or_default();
                if !roles.contains(&grant.role) {
                    roles.push(grant.role);
                }
            }
        }
        for roles in tenants.values_mut() {
            roles.sort_by_key(|r| r.as_str());
        }
        for over in bound.values_mut() {
            over.sort();
        }
        Held {
            platform,
            bound,
            tenants,
            home: first.map(|(_, tenant)| tenant),
        }
    }

    /// Applies one event of the tenant topic (others are ignored).
    pub fn apply(&self, ty: &str, schemas: &Schemas, payload: &[u8]) {
        let created = match ty {
            ROLE_BINDING_CREATED | GROUP_MAPPING_CREATED => true,
            ROLE_BINDING_DELETED | GROUP_MAPPING_DELETED => false,
            _ => return,
        };
        let change: RoleBindingChanged =
            match schemas.decode("plinth.tenant.RoleBindingChanged", payload) {
                Ok(change) => change,
                Err(e) => {
                    tracing::warn!(error = %e, ty, "a role binding event that does not decode");
                    return;
                }
            };
        let mut bindings = self.bindings.write();
        if !created {
            bindings.remove(&change.binding_id);
            return;
        }
        // Workspace-scoped bindings are the services' to apply to their workspace;
        // the gateway's coarse roles are tenant-wide.
        if change.workspace_id.is_some() {
            return;
        }
        let (Ok(tenant), Ok(role)) = (TenantId::parse(&change.tenant_id), change.role.parse())
        else {
            tracing::warn!(binding = %change.binding_id, "a role binding event naming no tenant or role");
            return;
        };
        bindings.insert(
            change.binding_id,
            (change.principal_kind, change.principal),
            Grant {
                tenant,
                role,
                since: change.changed_at,
            },
        );
    }
}
