//! The lifecycle sagas' consumer: other services' answers to
//! `tenant.onboarding_requested` and `tenant.offboarding_requested`, applied to the
//! flow's checklist with exactly-once effect (the consumer records each event id in
//! the inbox in the same transaction).

use std::collections::HashMap;
use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use plinth_bus::{Area, BusConfig, Handler, HandlerError, Outbox, Received};
use plinth_core::{Region, ReqCtx, TenantId};
use plinth_db::{TenantScope, set_scope_on_conn};

use crate::app::AppState;
use crate::app::checklist::item_result_apply_on_conn;
use crate::domain::Flow;
use crate::events::{PROVISIONING_RESULT, ProvisioningResult};
use crate::settings::ChecklistItemSpec;

/// What an event type means for a checklist.
#[derive(Debug, Clone)]
struct Rule {
    flow: Flow,
    item: String,
    failed: bool,
}

/// Applies provisioning and deprovisioning results to the checklists.
pub struct Saga {
    app: Arc<AppState>,
    region: Region,
    rules: HashMap<String, Rule>,
}

impl std::fmt::Debug for Saga {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saga")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// The area of an event type `plinth.<area>.<name>`.
fn area_of(event_type: &str) -> Option<Area> {
    let area = event_type.strip_prefix("plinth.")?.split('.').next()?;
    Area::ALL.into_iter().find(|a| a.as_str() == area)
}

fn add_rules(
    rules: &mut HashMap<String, Rule>,
    flow: Flow,
    spec: &ChecklistItemSpec,
) -> anyhow::Result<()> {
    for (ty, failed) in [(&spec.satisfied_by, false), (&spec.failed_by, true)] {
        let Some(ty) = ty else { continue };
        anyhow::ensure!(
            area_of(ty).is_some(),
            "{flow} item {}: {ty} names no event area",
            spec.key
        );
        let rule = Rule {
            flow,
            item: spec.key.clone(),
            failed,
        };
        if let Some(other) = rules.insert(ty.clone(), rule) {
            anyhow::bail!(
                "{flow} item {}: {ty} already answers {} item {}",
                spec.key,
                other.flow,
                other.item
            );
        }
    }
    Ok(())
}

impl Saga {
    /// The rules of the configured checklists; an event type that names no known
    /// area, or that answers two items, is refused.
    pub fn new(app: Arc<AppState>, region: Region) -> anyhow::Result<Self> {
        let mut rules = HashMap::new();
        for flow in [Flow::Onboarding, Flow::Offboarding] {
            for spec in app.checklist(flow) {
                add_rules(&mut rules, flow, spec)?;
            }
        }
        Ok(Saga { app, region, rules })
    }

    /// The topics the answers arrive on.
    pub fn topics(&self, bus: &BusConfig) -> Vec<String> {
        let mut topics: Vec<String> = self
            .rules
            .keys()
            .filter_map(|ty| area_of(ty))
            .map(|area| bus.topic(area))
            .collect();
        topics.sort();
        topics.dedup();
        topics
    }
}

impl Handler for Saga {
    /// Only the configured answers: the topics carry every event of their area
    /// (every service's audit events, for one).
    fn wants(&self, ty: &str) -> bool {
        self.rules.contains_key(ty)
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &Received,
    ) -> Result<(), HandlerError> {
        let Some(rule) = self.rules.get(&event.event.ty) else {
            return Ok(());
        };
        let result: ProvisioningResult =
            event.decode(self.app.events.schemas(), PROVISIONING_RESULT)?;
        if result.item != rule.item {
            return Err(HandlerError::Permanent(format!(
                "{} answers item {}, not {}",
                event.event.ty, rule.item, result.item
            )));
        }
        let tenant = TenantId::parse(&result.tenant_id)
            .map_err(|e| HandlerError::Permanent(format!("tenant id: {e}")))?;
        if tenant.region() != self.region {
            return Err(HandlerError::Permanent(format!(
                "{tenant} belongs to region {}, this deployment serves {}",
                tenant.region(),
                self.region
            )));
        }
        set_scope_on_conn(conn, &TenantScope::Tenant(tenant)).await?;
        let ctx = ReqCtx::for_service("tenant-registry", self.region, Some(tenant));
        let failure = rule.failed.then(|| {
            result
                .reason
                .clone()
                .unwrap_or_else(|| "no reason given".to_owned())
        });
        let events = item_result_apply_on_conn(
            &ctx,
            &self.app,
            conn,
            rule.flow,
            tenant,
            &rule.item,
            failure.as_deref(),
        )
        .await
        .map_err(|e| HandlerError::Transient(e.to_string()))?;
        Outbox::enqueue(conn, &events).await?;
        Ok(())
    }
}
