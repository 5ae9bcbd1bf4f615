//! The service's OpenAPI document, generated from the handlers and checked in at
//! `schemas/openapi/pack-service.json` (a test fails when they drift).

pub use plinth_authz::openapi::{EdgeResponses, InternalToken, Problem};
use utoipa::{OpenApi, ToSchema};

use super::{activation, packs, playbooks, runtime, workflows};
use crate::app::activation::{Activation, ActiveConfig, ConfigChange, PackSettings};
use crate::app::import::Report;
use crate::app::packs::{Attempt, DomainPack, TenantPack};
use crate::app::playbooks::{PlaybookLink, PlaybookVersion};
use crate::app::runtime::{Classification, ClassificationRecord, ConfigVersion, FiredRule};
use crate::app::tools::{Tool, ToolRelease};
use crate::app::workflows::WorkflowVersion;
use crate::classify::RuleSource;
use crate::domain::{ChangeStatus, PackStatus};
use crate::format::Issue;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Plinth pack service",
        description = "Domain Packs and Tenant Packs: imported and validated (every problem with a JSON pointer, a code and a message), versioned and immutable, activated per tenant as a pair — explicitly, with an optional approval — with playbooks linked; and the effective configuration the runtime reads and classifies tickets with. Called through the gateway, which forwards each request with a short-lived internal token.",
        version = "1"
    ),
    paths(
        packs::domain_import,
        packs::tenant_import,
        packs::validate,
        packs::domain_list,
        packs::domain_get,
        packs::domain_deprecate,
        packs::tenant_list,
        packs::tenant_get,
        packs::tenant_deprecate,
        packs::platform_attempts,
        packs::tenant_attempts,
        packs::attempt,
        packs::tools,
        activation::activate,
        activation::active,
        activation::settings_get,
        activation::settings_set,
        activation::changes,
        activation::approve,
        activation::reject,
        playbooks::publish,
        playbooks::list,
        playbooks::get,
        playbooks::links,
        playbooks::link,
        playbooks::unlink,
        workflows::publish,
        workflows::list,
        workflows::get,
        runtime::config,
        runtime::classify,
        runtime::classifications
    ),
    components(schemas(
        DomainPack,
        TenantPack,
        PackStatus,
        Attempt,
        Issue,
        Report,
        packs::ImportedDomainPack,
        packs::ImportedTenantPack,
        packs::TenantImportBody,
        packs::ValidateBody,
        DomainPackItems,
        TenantPackItems,
        AttemptItems,
        Tool,
        ToolRelease,
        ToolItems,
        Activation,
        ActiveConfig,
        ConfigChange,
        ChangeStatus,
        PackSettings,
        ConfigChangeItems,
        activation::ActivateBody,
        activation::SettingsBody,
        activation::DecisionBody,
        PlaybookVersion,
        PlaybookLink,
        PlaybookVersionItems,
        PlaybookLinkItems,
        WorkflowVersion,
        WorkflowVersionItems,
        playbooks::LinkBody,
        Classification,
        ClassificationRecord,
        ClassificationItems,
        ConfigVersion,
        FiredRule,
        RuleSource,
        runtime::ClassifyBody,
        runtime::TicketBody,
        Problem
    )),
    modifiers(&InternalToken, &EdgeResponses),
    tags(
        (name = "packs", description = "Domain and Tenant Pack versions: import, validation, listing, deprecation; the tool catalog they are checked against"),
        (name = "activation", description = "What each tenant runs, approval of changes, and the history"),
        (name = "playbooks", description = "Playbook versions and the tenants' links"),
        (name = "workflows", description = "A workspace's workflows: playbooks at its scope, published by its administrators"),
        (name = "runtime", description = "The effective configuration and ticket classification")
    )
)]
pub struct ApiDoc;

macro_rules! items {
    ($name:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
        }
    };
}

items!(DomainPackItems, DomainPack, "Domain Pack versions.");
items!(TenantPackItems, TenantPack, "Tenant Pack versions.");
items!(AttemptItems, Attempt, "Import attempts.");
items!(ToolItems, Tool, "Tools of module releases.");
items!(ConfigChangeItems, ConfigChange, "Config change requests.");
items!(PlaybookVersionItems, PlaybookVersion, "Playbook versions.");
items!(
    WorkflowVersionItems,
    WorkflowVersion,
    "Workflow versions of a workspace."
);
items!(
    PlaybookLinkItems,
    PlaybookLink,
    "A tenant's playbook links."
);
items!(
    ClassificationItems,
    ClassificationRecord,
    "Classified tickets."
);

/// The document as checked in: pretty JSON with a final newline.
pub fn document() -> Result<String, serde_json::Error> {
    plinth_service::document(&ApiDoc::openapi())
}
