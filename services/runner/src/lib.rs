//! Plinth's reference runtime. Not part of the control plane: it does what an AI
//! operations runtime does with it, through the region's gateway and nothing else.
//!
//! Each pass, for every tenant it serves:
//! 1. the tickets Ops classified since the runner started
//!    (`GET /runtime/tenants/{t}/classifications`), each taken once;
//! 2. the playbook the tenant's active configuration links to the ticket's
//!    category (`GET /runtime/tenants/{t}/config`);
//! 3. a run reported to the policy service in the workspace the runner serves
//!    for the tenant, then each step reported before it runs, with the gate the
//!    playbook sets on it and the action class of its tool (from the manifests of
//!    the modules the runner runs); the policy service answers with the gate;
//! 4. a step that may proceed asks the tenant's AI provider: the connection
//!    provider setup selects, its key released for that one call, the call to the
//!    provider; the step ends with the provider, the model and the tokens;
//!    every provider call is metered: `plinth.metering.usage_recorded` on the
//!    region's metering topic, as the runner's own broker principal;
//! 5. a step that waits (an approver at L2, a person at L3) is looked at again in
//!    the next passes until it is decided or done; a step denied, rejected or
//!    expired ends the run.
//!
//! Nothing of a ticket's text leaves the runner: the provider is asked about the
//! step (the playbook's own words), and runs carry identifiers only.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use plinth_providers::{Endpoint, ProviderKind};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

mod plane;
mod token;

pub use plane::Plane;
pub use token::TokenSource;

/// Why a call of the runner's failed.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The identity provider did not give the runner a token.
    #[error("identity: {0}")]
    Identity(String),
    /// The gateway did not answer.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The control plane refused a call.
    #[error("{call} refused: {status} {code} {detail}")]
    Refused {
        call: String,
        status: u16,
        code: String,
        detail: String,
    },
    /// The runner's own settings or modules are wrong.
    #[error("settings: {0}")]
    Settings(String),
    /// An answer is not what the API documents.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
    /// A metering event did not reach the brokers.
    #[error("metering: {0}")]
    Metering(String),
}

/// A tenant the runner runs tickets for, and the workspace its runs go in.
#[derive(Debug, Clone, Deserialize)]
pub struct Served {
    pub tenant_id: String,
    pub workspace_id: String,
}

/// The runner's settings: defaults, then `PLINTH_CONFIG`'s file, then `PLINTH_…`
/// variables, as every Plinth process reads them.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// The region's gateway.
    pub gateway_url: String,
    /// The identity provider that issues the runner's token.
    pub issuer: String,
    /// The runner's machine client there.
    pub client_id: String,
    pub client_secret: SecretString,
    /// The manifests of the modules the runner runs: each tool's action class.
    pub modules_dir: PathBuf,
    /// The time between passes.
    pub poll_interval_ms: u64,
    /// How long a provider gets to answer.
    pub provider_timeout_ms: u64,
    /// The most tokens a step's answer may have.
    pub max_answer_tokens: u32,
    /// The tenants it serves.
    pub tenants: Vec<Served>,
    /// The region it runs in (the metering events' source).
    pub region: String,
    /// The brokers it meters on, as its own principal.
    pub bus: plinth_config::BusSettings,
}

impl Settings {
    /// The dev stack's defaults (`make up`), US region, serving no tenant.
    pub fn defaults() -> Value {
        json!({
            "gateway_url": "http://127.0.0.1:8080",
            "issuer": "http://127.0.0.1:19080",
            "client_id": "plinth-runtime",
            "client_secret": "plinth-dev-runtime-secret",
            "modules_dir": "examples/modules",
            "poll_interval_ms": 1000,
            "provider_timeout_ms": 10000,
            "max_answer_tokens": 64,
            "tenants": [],
            "region": "us",
            "bus": { "brokers": "127.0.0.1:19092", "topic_prefix": "", "partitions": 3 }
        })
    }

    /// Defaults, then `PLINTH_CONFIG`'s file, then `PLINTH_…` variables.
    pub fn load() -> Result<Self, plinth_config::ConfigError> {
        plinth_config::load(Self::defaults())
    }

    /// The defaults with `overrides` merged over them (tests).
    pub fn with_overrides(overrides: Value) -> Result<Self, plinth_config::ConfigError> {
        plinth_config::with_overrides(Self::defaults(), overrides)
    }
}

/// A tool the runner runs: the module that provides it and its action class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub module_id: String,
    pub action_class: String,
}

/// The tools of the module manifests in `dir` (its `*.json` files).
pub fn tools_of(dir: &Path) -> Result<HashMap<String, Tool>, RunnerError> {
    #[derive(Deserialize)]
    struct Manifest {
        id: String,
        tools: Vec<ManifestTool>,
    }
    #[derive(Deserialize)]
    struct ManifestTool {
        id: String,
        action_class: String,
    }
    let unreadable = |e: &dyn std::fmt::Display| {
        RunnerError::Settings(format!("modules in {}: {e}", dir.display()))
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| unreadable(&e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    let mut tools = HashMap::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&e))?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| unreadable(&format!("{}: {e}", path.display())))?;
        for tool in manifest.tools {
            tools.insert(
                tool.id,
                Tool {
                    module_id: manifest.id.clone(),
                    action_class: tool.action_class,
                },
            );
        }
    }
    Ok(tools)
}

/// What a pass did with a ticket or a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The run ended (`SUCCEEDED`, `FAILED` or `CANCELLED`).
    Ended {
        tenant: String,
        run_id: String,
        status: String,
    },
    /// The run waits at step `seq` for an approver or a person.
    Waiting {
        tenant: String,
        run_id: String,
        seq: i64,
    },
    /// The tenant's configuration links no playbook to the ticket's category.
    NoPlaybook {
        tenant: String,
        classification_id: String,
        category: String,
    },
    /// A call failed; the ticket or run is left as it stands (logged).
    Failed { tenant: String, error: String },
}

/// A playbook's step as the runtime configuration has it.
#[derive(Debug, Clone, Deserialize)]
struct Step {
    id: String,
    tool: String,
    gate: Option<String>,
    description: Option<String>,
}

/// A run the runner carries on.
#[derive(Debug, Clone)]
struct Active {
    tenant: String,
    workspace: String,
    run_id: String,
    playbook: String,
    steps: Vec<Step>,
    /// The index of the next step to report.
    next: usize,
    /// The step it waits on, reported and not yet decided or done.
    waiting_on: Option<i64>,
}

/// The reference runtime.
#[derive(Debug)]
pub struct Runner {
    settings: Settings,
    plane: Plane,
    providers: plinth_providers::Client,
    tools: HashMap<String, Tool>,
    /// Classifications taken, or passed over as older than the runner.
    seen: HashSet<String>,
    started: OffsetDateTime,
    waiting: Vec<Active>,
    metering: Metering,
    /// The time its providers' answers and its metering took, all told.
    spent_outside: Duration,
}

/// Where the runner reports what it spent.
struct Metering {
    producer: rdkafka::producer::FutureProducer,
    topic: String,
    source: String,
    schemas: plinth_bus::Schemas,
}

impl std::fmt::Debug for Metering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metering")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

/// The name of what a runtime spent on a step, and its schema.
const USAGE_RECORDED: &str = "plinth.metering.usage_recorded";
const USAGE_SCHEMA: &str = "plinth.metering.UsageRecorded";

impl Metering {
    fn new(settings: &Settings) -> Result<Self, RunnerError> {
        let bus = plinth_bus::BusConfig::of(&settings.bus);
        Ok(Metering {
            producer: bus
                .producer()
                .map_err(|e| RunnerError::Metering(e.to_string()))?,
            topic: bus.topic(plinth_bus::Area::Metering),
            source: format!("/plinth/{}/runner", settings.region),
            schemas: plinth_bus::Schemas::from_sources([include_str!(
                "../../../schemas/avro/metering/usage_recorded.avsc"
            )])
            .map_err(|e| RunnerError::Metering(e.to_string()))?,
        })
    }

    /// Sends `usage` (the schema's fields) of `tenant`, once the brokers have it.
    async fn record(&self, tenant: &str, usage: &Value) -> Result<(), RunnerError> {
        let payload = self
            .schemas
            .encode(USAGE_SCHEMA, usage)
            .map_err(|e| RunnerError::Metering(e.to_string()))?;
        plinth_bus::Event::new(&self.topic, tenant, USAGE_RECORDED, &self.source, payload)
            .publish(&self.producer, Duration::from_secs(30))
            .await
            .map_err(|e| RunnerError::Metering(e.to_string()))
    }
}

impl Runner {
    /// A runner with `settings`: it takes the tickets classified from now on.
    pub fn new(settings: Settings) -> Result<Self, RunnerError> {
        let tools = tools_of(&settings.modules_dir)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RunnerError::Settings(e.to_string()))?;
        let token = TokenSource::new(
            http.clone(),
            &settings.issuer,
            &settings.client_id,
            settings.client_secret.clone(),
        );
        Ok(Runner {
            plane: Plane::new(http, &settings.gateway_url, token),
            providers: plinth_providers::Client::new(Duration::from_millis(
                settings.provider_timeout_ms,
            )),
            tools,
            seen: HashSet::new(),
            started: OffsetDateTime::now_utc(),
            waiting: Vec::new(),
            metering: Metering::new(&settings)?,
            spent_outside: Duration::ZERO,
            settings,
        })
    }

    /// The time the runner spent waiting on others since it was made: the
    /// control plane's answers, the providers' and the brokers'. What is left of
    /// a pass's time is the runner's own.
    pub fn time_in_calls(&self) -> Duration {
        self.plane.spent() + self.spent_outside
    }

    /// The time between passes.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.settings.poll_interval_ms)
    }

    /// One pass: the runs waiting from earlier passes, then every served tenant's
    /// new tickets, each run until it ends or waits.
    pub async fn pass(&mut self) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for active in std::mem::take(&mut self.waiting) {
            outcomes.push(self.carry_on(active).await);
        }
        for served in self.settings.tenants.clone() {
            match self.new_tickets(&served).await {
                Ok(tickets) => {
                    for ticket in tickets {
                        let outcome = match self.take(&served, &ticket).await {
                            Ok(outcome) => outcome,
                            Err(e) => {
                                // No run was started: the ticket is taken again
                                // in the next pass.
                                if let Some(id) = ticket["classification_id"].as_str() {
                                    self.seen.remove(id);
                                }
                                failed(&served.tenant_id, &e)
                            }
                        };
                        outcomes.push(outcome);
                    }
                }
                Err(e) => outcomes.push(failed(&served.tenant_id, &e)),
            }
        }
        outcomes
    }

    /// Passes until `stop`.
    pub async fn run(mut self, stop: tokio_util::sync::CancellationToken) {
        tracing::info!(
            tenants = self.settings.tenants.len(),
            tools = self.tools.len(),
            "the runner takes the tickets classified from now on"
        );
        // A run that waits is told once, not at every pass.
        let mut told = HashSet::new();
        loop {
            for outcome in self.pass().await {
                if let Outcome::Waiting { run_id, seq, .. } = &outcome
                    && !told.insert((run_id.clone(), *seq))
                {
                    continue;
                }
                tracing::info!(?outcome, "runner");
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(self.poll_interval()) => {}
            }
        }
    }

    /// The tenant's classifications not seen yet and not older than the runner,
    /// oldest first.
    async fn new_tickets(&mut self, served: &Served) -> Result<Vec<Value>, RunnerError> {
        let tenant = &served.tenant_id;
        let listed = self
            .plane
            .get(&format!("/runtime/tenants/{tenant}/classifications"))
            .await?;
        let items = listed["items"]
            .as_array()
            .ok_or_else(|| RunnerError::Unexpected(format!("classifications: {listed}")))?;
        let mut fresh = Vec::new();
        for item in items.iter().rev() {
            let id = item["classification_id"].as_str().unwrap_or_default();
            if id.is_empty() || !self.seen.insert(id.to_owned()) {
                continue;
            }
            let at = item["classified_at"]
                .as_str()
                .and_then(|at| {
                    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
                })
                .ok_or_else(|| RunnerError::Unexpected(format!("classified_at: {item}")))?;
            if at >= self.started {
                fresh.push(item.clone());
            }
        }
        Ok(fresh)
    }

    /// Starts the run of the playbook linked to `ticket`'s category, and runs it.
    async fn take(&mut self, served: &Served, ticket: &Value) -> Result<Outcome, RunnerError> {
        let tenant = served.tenant_id.clone();
        let category = ticket["category"].as_str().unwrap_or_default().to_owned();
        let config = self
            .plane
            .get(&format!("/runtime/tenants/{tenant}/config"))
            .await?;
        let Some(playbook) = config["playbooks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["trigger"]["category"] == category.as_str())
        else {
            return Ok(Outcome::NoPlaybook {
                tenant,
                classification_id: ticket["classification_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                category,
            });
        };
        let steps: Vec<Step> = serde_json::from_value(playbook["steps"].clone())
            .map_err(|e| RunnerError::Unexpected(format!("a playbook's steps: {e}")))?;
        let mut config_version = format!(
            "{}@{}",
            config["domain"].as_str().unwrap_or_default(),
            config["domain_pack_version"].as_str().unwrap_or_default()
        );
        if let Some(own) = config["tenant_pack_version"].as_str() {
            config_version.push_str(&format!("+tenant@{own}"));
        }
        let run = self
            .plane
            .post(
                &format!("/runtime/policy/tenants/{tenant}/runs"),
                json!({
                    "workspace_id": served.workspace_id,
                    "subject": {
                        "kind": "playbook", "id": playbook["id"], "version": playbook["version"]
                    },
                    "config_version": config_version,
                    "trigger": {
                        "source": "ops", "ticket_id": ticket["ticket_ref"],
                        "event_type": "ticket.classified", "category": category,
                        "priority": ticket["priority"]
                    },
                    "requested_by": ticket["classified_by"]
                }),
            )
            .await?;
        let active = Active {
            tenant,
            workspace: served.workspace_id.clone(),
            run_id: text(&run, "run_id")?,
            playbook: playbook["id"].as_str().unwrap_or_default().to_owned(),
            steps,
            next: 0,
            waiting_on: None,
        };
        tracing::info!(run = %active.run_id, playbook = %active.playbook, "run started");
        Ok(self.carry_on(active).await)
    }

    /// Carries `active` on until it waits or ends. A run a call failed for is
    /// kept and carried on from where it stands in the next pass.
    async fn carry_on(&mut self, mut active: Active) -> Outcome {
        let tenant = active.tenant.clone();
        let run_id = active.run_id.clone();
        match self.advance(&mut active).await {
            Ok(Progress::Waiting(seq)) => {
                self.waiting.push(active);
                Outcome::Waiting {
                    tenant,
                    run_id,
                    seq,
                }
            }
            Ok(Progress::Ended(status)) => Outcome::Ended {
                tenant,
                run_id,
                status,
            },
            Err(e) => {
                self.waiting.push(active);
                failed(&tenant, &e)
            }
        }
    }

    /// The step the run waits on, if any, looked at again; then the next steps
    /// reported one by one, each that may proceed run, until one waits or the
    /// run ends.
    async fn advance(&mut self, active: &mut Active) -> Result<Progress, RunnerError> {
        if let Some(seq) = active.waiting_on {
            let step = self
                .plane
                .get(&format!("{}/steps/{seq}", runs_path(active)))
                .await?;
            match step["status"].as_str().unwrap_or_default() {
                "PROCEEDING" | "APPROVED" => {
                    let current = active.steps[active.next].clone();
                    if !self.execute(active, &current, seq, None).await? {
                        return self.end(active, "failed").await;
                    }
                }
                // Ended: by the runner (a report lost on its way back), or by
                // the person who did it (L3).
                "DONE" => {}
                "REJECTED" | "EXPIRED" => return self.end(active, "cancelled").await,
                "WAITING_APPROVAL" | "WAITING_HUMAN" => return Ok(Progress::Waiting(seq)),
                _ => return self.end(active, "failed").await,
            }
            active.next += 1;
            active.waiting_on = None;
        }
        while active.next < active.steps.len() {
            let step = active.steps[active.next].clone();
            let Some(tool) = self.tools.get(&step.tool).cloned() else {
                tracing::warn!(tool = %step.tool, "a tool of no module the runner runs");
                return self.end(active, "failed").await;
            };
            let selection = self
                .plane
                .get(&format!(
                    "/runtime/providers/tenants/{}/selection?module={}",
                    active.tenant, tool.module_id
                ))
                .await?;
            let prompt = prompt_of(active, &step);
            let mut report = json!({
                "step_key": step.id, "action_class": tool.action_class, "tool": step.tool,
                "module_id": tool.module_id, "provider_kind": selection["kind"],
                "model": selection["model"],
                "estimated_tokens": prompt.len().div_ceil(4) as u64
                    + u64::from(self.settings.max_answer_tokens),
            });
            if let Some(gate) = &step.gate {
                report["step_gate"] = json!(gate);
            }
            if let Some(description) = &step.description {
                report["support"] = json!({ "change": description });
            }
            let reported = self
                .plane
                .post(&format!("{}/steps", runs_path(active)), report)
                .await?;
            let seq = reported["seq"]
                .as_i64()
                .ok_or_else(|| RunnerError::Unexpected(format!("a step: {reported}")))?;
            active.waiting_on = Some(seq);
            match reported["status"].as_str().unwrap_or_default() {
                "PROCEEDING" | "APPROVED" => {
                    if !self.execute(active, &step, seq, Some(selection)).await? {
                        return self.end(active, "failed").await;
                    }
                }
                "WAITING_APPROVAL" | "WAITING_HUMAN" => return Ok(Progress::Waiting(seq)),
                _ => return self.end(active, "failed").await,
            }
            active.next += 1;
            active.waiting_on = None;
        }
        self.end(active, "succeeded").await
    }

    /// Runs a step that may proceed: the provider provider setup selects, asked
    /// with the key it releases for this call; the step ended with what it used.
    /// `false` if the provider did not answer (the step ended as failed).
    async fn execute(
        &mut self,
        active: &Active,
        step: &Step,
        seq: i64,
        selected: Option<Value>,
    ) -> Result<bool, RunnerError> {
        let tenant = &active.tenant;
        let module = self
            .tools
            .get(&step.tool)
            .map(|t| t.module_id.clone())
            .unwrap_or_default();
        let selection = match selected {
            Some(selection) => selection,
            None => {
                self.plane
                    .get(&format!(
                        "/runtime/providers/tenants/{tenant}/selection?module={module}"
                    ))
                    .await?
            }
        };
        let connection = text(&selection, "connection_id")?;
        let released = self
            .plane
            .post(
                &format!("/runtime/providers/tenants/{tenant}/connections/{connection}/key"),
                json!({}),
            )
            .await?;
        let kind = ProviderKind::parse(released["kind"].as_str().unwrap_or_default()).ok_or_else(
            || RunnerError::Unexpected(format!("a provider kind: {}", released["kind"])),
        )?;
        let endpoint = Endpoint {
            kind,
            base_url: text(&released, "base_url")?,
            deployment: released["deployment"].as_str().map(str::to_owned),
            api_version: released["api_version"].as_str().map(str::to_owned),
        };
        let key = SecretString::from(text(&released, "key")?);
        let model = text(&selection, "model")?;
        let began = std::time::Instant::now();
        let asked = self
            .providers
            .chat(
                &endpoint,
                &key,
                &model,
                &prompt_of(active, step),
                self.settings.max_answer_tokens,
            )
            .await;
        drop(key);
        if let Ok(chat) = &asked {
            let now = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
            self.metering
                .record(
                    tenant,
                    &json!({
                        "tenant_id": tenant, "workspace_id": active.workspace,
                        "module_id": module, "run_id": active.run_id,
                        "provider_kind": kind.as_str(), "model": chat.model,
                        "tokens_in": chat.tokens_in, "tokens_out": chat.tokens_out,
                        "connector": null, "connector_operations": 0,
                        "occurred_at": i64::try_from(now).unwrap_or(i64::MAX)
                    }),
                )
                .await?;
        }
        self.spent_outside += began.elapsed();
        let end = match &asked {
            Ok(chat) => json!({
                "status": "done", "outcome": format!("{} done", step.tool),
                "provider_kind": kind.as_str(), "model": chat.model, "connection_id": connection,
                "tokens_in": chat.tokens_in, "tokens_out": chat.tokens_out
            }),
            Err(probe) => json!({
                "status": "failed",
                "outcome": format!("the provider answered {}", probe.outcome.as_str()),
                "provider_kind": kind.as_str(), "model": model, "connection_id": connection
            }),
        };
        self.plane
            .post(&format!("{}/steps/{seq}/end", runs_path(active)), end)
            .await?;
        Ok(asked.is_ok())
    }

    /// Ends the run (`succeeded`, `failed` or `cancelled`).
    async fn end(&mut self, active: &Active, status: &str) -> Result<Progress, RunnerError> {
        let ended = self
            .plane
            .post(
                &format!("{}/end", runs_path(active)),
                json!({ "status": status }),
            )
            .await?;
        tracing::info!(run = %active.run_id, status = %ended["status"], "run ended");
        Ok(Progress::Ended(text(&ended, "status")?))
    }
}

/// Where a run stands after the runner carried it on.
enum Progress {
    /// At step `seq`, for an approver or a person.
    Waiting(i64),
    /// Ended, with the run's status.
    Ended(String),
}

fn runs_path(active: &Active) -> String {
    format!(
        "/runtime/policy/tenants/{}/runs/{}",
        active.tenant, active.run_id
    )
}

/// What the provider is asked for a step: the playbook's words, never the
/// ticket's.
fn prompt_of(active: &Active, step: &Step) -> String {
    format!(
        "Playbook {}, step {} ({}): {}",
        active.playbook,
        step.id,
        step.tool,
        step.description.as_deref().unwrap_or("no description")
    )
}

fn text(answer: &Value, field: &str) -> Result<String, RunnerError> {
    answer[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| RunnerError::Unexpected(format!("no {field} in {answer}")))
}

fn failed(tenant: &str, error: &RunnerError) -> Outcome {
    tracing::warn!(tenant, %error, "runner");
    Outcome::Failed {
        tenant: tenant.to_owned(),
        error: error.to_string(),
    }
}
