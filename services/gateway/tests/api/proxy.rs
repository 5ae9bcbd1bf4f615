//! The reverse proxy in front of the real tenant registry: requests reach it with
//! an internal token carrying the caller's roles; another region is refused before
//! anything is forwarded; bodies over the limit never leave the gateway.

use plinth_core::Region;
use plinth_db::testing::{TEST_APP_ROLE, TestDb};
use plinth_service::ServiceSettings as _;
use plinth_testkit::idp::AUDIENCE;
use plinth_testkit::{Idp, TokenKeys, merge, test_bus_settings, test_topic_prefix};
use reqwest::Method;
use serde_json::{Value, json};

pub struct Stack {
    pub gateway: String,
    /// The gateway's operators' listener: metrics and health.
    pub gateway_ops: String,
    /// The topics' prefix of this stack.
    pub prefix: String,
    http: reqwest::Client,
    /// The registry's database, when the stack has a registry.
    _db: Option<TestDb>,
    /// The audit service's database, when the stack has one.
    _audit_db: Option<TestDb>,
    /// The pack service's database, when the stack has one.
    _pack_db: Option<TestDb>,
    /// The module catalog's database, when the stack has one.
    _module_db: Option<TestDb>,
    /// Provider setup's database and the local provider servers it calls, when
    /// the stack has them.
    pub provider_db: Option<TestDb>,
    pub providers: Option<plinth_providers::fake::FakeProviders>,
    /// The policy service's database, when the stack has one.
    _policy_db: Option<TestDb>,
    /// The gateway's settings, for another gateway of the same region.
    settings: Value,
    /// The region of every process of the stack.
    pub region: Region,
}

pub async fn stack(idp: &Idp) -> Stack {
    stack_with(idp, Options::default()).await
}

/// How a test's stack differs from the plain one.
#[derive(Default)]
pub struct Options {
    /// The gateway's port (0: any).
    pub port: u16,
    /// Gateway settings merged over the stack's.
    pub gateway: Value,
    /// Whether the audit service runs behind `/admin/audit`.
    pub audit: bool,
    /// Whether the pack service runs behind `/admin/packs`, `/admin/playbooks` and
    /// `/runtime`; with it, the module catalog its tools come from, two example
    /// releases approved there (every tool the example packs call).
    pub packs: bool,
    /// Whether the module catalog runs behind `/admin/modules`, `/admin/deployments`,
    /// `/admin/tenant-modules` and `/admin/trust`.
    pub modules: bool,
    /// Whether provider setup runs behind `/admin/providers`,
    /// `/runtime/providers` and the public `/setup`, with local servers speaking the providers' wire formats (keys
    /// starting `sk-test-good` are good keys there).
    pub providers: bool,
    /// Whether the policy service runs behind `/admin/policies` and
    /// `/runtime/policy`.
    pub policy: bool,
    /// Tenant registry settings merged over the stack's (its consumers are off
    /// unless this turns them on).
    pub registry: Value,
    /// The region of every process of the stack (`us` unless set).
    pub region: Option<Region>,
}

/// The settings of a service behind the stack's gateway: its database, the
/// stack's topics (relay and consumers on), the gateway's token key.
fn upstream_settings(db: &TestDb, prefix: &str, keys: &TokenKeys, region: Region) -> Value {
    json!({
        "region": region,
        "http": { "port": 0 },
        "database": {
            "app_url": db.app_url(), "owner_url": db.owner_url(),
            "app_role": TEST_APP_ROLE, "pool_size": 4
        },
        "bus": test_bus_settings(prefix, json!({ "partitions": 1, "relay": true, "consumers": true })),
        "auth": { "internal_token_public_key": keys.public_base64url() }
    })
}

pub async fn stack_with(idp: &Idp, options: Options) -> Stack {
    let db = TestDb::create("tenant_registry", tenant_registry::all_migrations())
        .await
        .unwrap();
    let keys = TokenKeys::generate();
    let prefix = test_topic_prefix();
    let region = options.region.unwrap_or(Region::Us);
    let mut registry_settings = json!({
        "region": region,
        "http": { "port": 0 },
        "database": {
            "app_url": db.app_url(), "owner_url": db.owner_url(),
            "app_role": TEST_APP_ROLE, "pool_size": 4
        },
        "bus": test_bus_settings(&prefix, json!({ "partitions": 1, "relay": true, "consumers": false })),
        "auth": { "internal_token_public_key": keys.public_base64url() }
    });
    merge(&mut registry_settings, options.registry);
    let registry = tenant_registry::Application::build(
        tenant_registry::Settings::with_overrides(registry_settings).unwrap(),
    )
    .await
    .unwrap();
    let upstream = format!("http://127.0.0.1:{}", registry.port());
    let mut readiness = serde_json::Map::new();
    let ops_of = |service: &plinth_core::service::Service| {
        json!(format!(
            "http://127.0.0.1:{}",
            service.internal_port().unwrap_or_default()
        ))
    };
    readiness.insert("tenant-registry".into(), ops_of(&registry));
    tokio::spawn(registry.run_until_stopped());
    let mut routes = vec![json!({
        "prefix": "/admin/tenants", "upstream": upstream,
        "audience": "tenant-registry", "create_names_region": true
    })];
    let audit_db = if options.audit {
        let db = TestDb::create("audit", audit::all_migrations())
            .await
            .unwrap();
        let origin = format!("audit.plinth.test/{region}");
        let (_, signing_key) = plinth_auditlog::LogSigner::generate("plinth-audit-test", &origin);
        let audit = audit::Application::build(
            audit::Settings::with_overrides(json!({
                "region": region,
                "http": { "port": 0 },
                "database": {
                    "app_url": db.app_url(), "owner_url": db.owner_url(),
                    "app_role": TEST_APP_ROLE, "pool_size": 4
                },
                "bus": test_bus_settings(&prefix, json!({ "partitions": 1, "relay": false, "consumers": true })),
                "auth": { "internal_token_public_key": keys.public_base64url() },
                "log": { "signing_key": signing_key, "origin_prefix": origin }
            }))
            .unwrap(),
        )
        .await
        .unwrap();
        routes.push(json!({
            "prefix": "/admin/audit",
            "upstream": format!("http://127.0.0.1:{}", audit.port()),
            "audience": audit::AUDIENCE
        }));
        readiness.insert("audit".into(), ops_of(&audit));
        tokio::spawn(audit.run_until_stopped());
        Some(db)
    } else {
        None
    };
    let pack_db = if options.packs {
        let db = TestDb::create("pack_service", pack_service::all_migrations())
            .await
            .unwrap();
        let packs = pack_service::Application::build(
            pack_service::Settings::with_overrides(upstream_settings(&db, &prefix, &keys, region))
                .unwrap(),
        )
        .await
        .unwrap();
        let upstream = format!("http://127.0.0.1:{}", packs.port());
        readiness.insert("pack-service".into(), ops_of(&packs));
        for prefix in ["/admin/packs", "/admin/playbooks", "/runtime"] {
            routes.push(json!({
                "prefix": prefix, "upstream": upstream, "audience": pack_service::AUDIENCE
            }));
        }
        tokio::spawn(packs.run_until_stopped());
        Some(db)
    } else {
        None
    };
    let module_db = if options.modules || options.packs {
        let db = TestDb::create("module_catalog", module_catalog::all_migrations())
            .await
            .unwrap();
        let modules = module_catalog::Application::build(
            module_catalog::Settings::with_overrides(upstream_settings(
                &db, &prefix, &keys, region,
            ))
            .unwrap(),
        )
        .await
        .unwrap();
        let upstream = format!("http://127.0.0.1:{}", modules.port());
        readiness.insert("module-catalog".into(), ops_of(&modules));
        for prefix in [
            "/admin/modules",
            "/admin/deployments",
            "/admin/tenant-modules",
            "/admin/trust",
        ] {
            routes.push(json!({
                "prefix": prefix, "upstream": upstream, "audience": module_catalog::AUDIENCE
            }));
        }
        tokio::spawn(modules.run_until_stopped());
        Some(db)
    } else {
        None
    };
    let (provider_db, providers) = if options.providers {
        let db = TestDb::create("provider_setup", provider_setup::all_migrations())
            .await
            .unwrap();
        let mut settings = upstream_settings(&db, &prefix, &keys, region);
        // The region's public address, as in the gateway's `regions`; the
        // gateway's own when its port is fixed, for a browser to open links.
        let surface = if options.port == 0 {
            format!("https://{region}.plinth.example/setup")
        } else {
            format!("http://127.0.0.1:{}/setup", options.port)
        };
        merge(
            &mut settings,
            json!({
                "secrets": { "backend": "envelope", "kek": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" },
                "setup": { "base_url": surface }
            }),
        );
        let service = provider_setup::Application::build(
            provider_setup::Settings::with_overrides(settings).unwrap(),
        )
        .await
        .unwrap();
        let upstream = format!("http://127.0.0.1:{}", service.port());
        readiness.insert("provider-setup".into(), ops_of(&service));
        for prefix in ["/admin/providers", "/runtime/providers"] {
            routes.push(json!({
                "prefix": prefix, "upstream": upstream, "audience": provider_setup::AUDIENCE
            }));
        }
        routes.push(json!({
            "prefix": "/setup", "upstream": upstream, "audience": provider_setup::AUDIENCE,
            "public": true
        }));
        tokio::spawn(service.run_until_stopped());
        let fakes = plinth_providers::fake::FakeProviders::start(Some("sk-test-good")).unwrap();
        (Some(db), Some(fakes))
    } else {
        (None, None)
    };
    let policy_db = if options.policy {
        let db = TestDb::create("policy", policy::all_migrations())
            .await
            .unwrap();
        let service = policy::Application::build(
            policy::Settings::with_overrides(upstream_settings(&db, &prefix, &keys, region))
                .unwrap(),
        )
        .await
        .unwrap();
        let upstream = format!("http://127.0.0.1:{}", service.port());
        readiness.insert("policy".into(), ops_of(&service));
        for prefix in ["/admin/policies", "/runtime/policy"] {
            routes.push(json!({
                "prefix": prefix, "upstream": upstream, "audience": policy::AUDIENCE
            }));
        }
        tokio::spawn(service.run_until_stopped());
        Some(db)
    } else {
        None
    };
    let body_limit = if options.packs { 4 * 1024 * 1024 } else { 8192 };
    let mut settings = json!({
        "region": region,
        "http": { "port": options.port, "body_limit_bytes": body_limit },
        "oidc": { "issuer": idp.issuer, "audience": AUDIENCE },
        "internal_token": { "private_key_pem": keys.private_pem() },
        "routes": routes,
        "readiness": readiness,
        "regions": { "us": "https://us.plinth.example", "eu": "https://eu.plinth.example" },
        "bus": test_bus_settings(&prefix, json!({})),
        // Tests refuse many requests without credentials from one address; the
        // address limit has a test of its own.
        "rate_limits": { "unauthenticated_per_second": 100000 }
    });
    merge(&mut settings, options.gateway);
    let gateway =
        gateway::Application::build(gateway::Settings::with_overrides(settings.clone()).unwrap())
            .await
            .unwrap();
    let base = format!("http://127.0.0.1:{}", gateway.port());
    let ops = format!("http://127.0.0.1:{}", gateway.internal_port());
    tokio::spawn(gateway.run_until_stopped());
    let stack = Stack {
        region,
        gateway: base,
        gateway_ops: ops,
        prefix,
        http: reqwest::Client::new(),
        _db: Some(db),
        _audit_db: audit_db,
        _pack_db: pack_db,
        _module_db: module_db,
        provider_db,
        providers,
        _policy_db: policy_db,
        settings,
    };
    if options.packs {
        stack
            .approve_example_modules(&idp.access_token("msp-admin").await)
            .await;
    }
    stack
}

/// The repository's root.
pub fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The example module releases whose tools the example packs call.
const TOOL_RELEASES: [&str; 2] = [
    "finance-dispute-assistant-2.3.0.json",
    "itsm-triage-agent-1.1.0.json",
];

impl Stack {
    /// The stack's HTTP client, for requests `call` does not make (headers of
    /// one's own, a page).
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// The value of the gateway's `/metrics` line `name` (an unlabelled one), on
    /// its operators' listener.
    pub async fn metric(&self, name: &str) -> u64 {
        self.metric_of(name, &[]).await
    }

    /// The gateway's metric `name` in the series with `labels`.
    pub async fn metric_of(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.gateway_ops))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        plinth_testkit::sample(&text, name, labels)
            .unwrap_or_else(|| panic!("{name} {labels:?} at /metrics: {text}")) as u64
    }

    /// How many tenants `token` lists.
    pub async fn tenant_count(&self, token: &str) -> usize {
        let (status, listed, _) = self
            .call(Some(token), Method::GET, "/admin/tenants", None)
            .await;
        assert_eq!(status, 200, "{listed}");
        listed["items"].as_array().unwrap().len()
    }

    /// Another gateway of the same region, beside the first (same keys, services
    /// and broker, its own port): its base URL.
    pub async fn another_gateway(&self) -> String {
        self.gateway_of(self.region).await
    }

    /// A gateway of `region` with the stack's routes, keys and broker: the
    /// stack's own region's beside the first, or another region's, which
    /// forwards nothing of this one's tenants.
    pub async fn gateway_of(&self, region: Region) -> String {
        let mut settings = self.settings.clone();
        settings["http"]["port"] = json!(0);
        settings["region"] = json!(region);
        let gateway =
            gateway::Application::build(gateway::Settings::with_overrides(settings).unwrap())
                .await
                .unwrap();
        let base = format!("http://127.0.0.1:{}", gateway.port());
        tokio::spawn(gateway.run_until_stopped());
        base
    }

    pub async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self.http.request(method, format!("{}{path}", self.gateway));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, res.json().await.unwrap_or(Value::Null), headers)
    }
}

impl Stack {
    /// Waits until the pack service has heard of `tenant` from the registry's
    /// events (asked as `token`, a platform administrator).
    pub async fn wait_for_pack_service(&self, token: &str, tenant: &str) {
        plinth_testkit::wait_until(
            "the pack service to hear of the tenant",
            std::time::Duration::from_secs(60),
            || async {
                self.call(
                    Some(token),
                    Method::GET,
                    &format!("/admin/packs/tenant/{tenant}"),
                    None,
                )
                .await
                .0 == 200
            },
        )
        .await;
    }

    /// What the platform does before packs can call a module's tools: trusts its
    /// release key, imports the example releases signed, approves them, and waits
    /// until the pack service's tool catalog offers their tools (as `token`, a
    /// platform administrator).
    pub async fn approve_example_modules(&self, token: &str) {
        use ed25519_dalek::Signer as _;
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        use module_catalog::dsse::{Envelope, MANIFEST_TYPE};

        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let (status, signer, _) = self
            .call(
                Some(token),
                Method::POST,
                "/admin/trust/signers",
                Some(json!({
                    "identity": "The example modules' release pipeline", "algorithm": "ed25519",
                    "key_id": "examples-2026",
                    "public_key": key.verifying_key().to_public_key_pem(Default::default()).unwrap(),
                    "sources": ["github.com/plinth-modules"], "not_after": "2099-01-01T00:00:00Z"
                })),
            )
            .await;
        assert_eq!(status, 201, "{signer}");
        let mut tools = std::collections::BTreeSet::new();
        for file in TOOL_RELEASES {
            let manifest = std::fs::read(repo().join("examples/modules").join(file)).unwrap();
            let parsed: Value = serde_json::from_slice(&manifest).unwrap();
            tools.extend(
                parsed["tools"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["id"].as_str().unwrap().to_owned()),
            );
            let envelope = Envelope::sign(MANIFEST_TYPE, &manifest, "examples-2026", |m| {
                key.sign(m).to_vec()
            });
            let (status, imported, _) = self
                .call(
                    Some(token),
                    Method::POST,
                    "/admin/modules/import",
                    Some(json!({ "envelope": envelope })),
                )
                .await;
            assert_eq!(status, 201, "{imported}");
            let path = format!(
                "/admin/modules/{}/{}/approve",
                parsed["id"].as_str().unwrap(),
                parsed["version"].as_str().unwrap()
            );
            let (status, approved, _) = self
                .call(
                    Some(token),
                    Method::POST,
                    &path,
                    Some(json!({ "reason": "the examples' release" })),
                )
                .await;
            assert_eq!(status, 200, "{approved}");
        }
        plinth_testkit::wait_until(
            "the pack service to offer the approved releases' tools",
            std::time::Duration::from_secs(60),
            || async {
                let (_, listed, _) = self
                    .call(Some(token), Method::GET, "/admin/packs/tools", None)
                    .await;
                let offered: std::collections::BTreeSet<String> = listed["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|t| t["offered"] == true)
                    .map(|t| t["id"].as_str().unwrap_or_default().to_owned())
                    .collect();
                offered == tools
            },
        )
        .await;
    }

    /// Entitles `tenant` to `modules` on a standard plan (as `token`, a platform
    /// administrator).
    pub async fn entitle(&self, token: &str, tenant: &str, modules: &[&str]) {
        let (status, body, _) = self
            .call(
                Some(token),
                Method::PUT,
                &format!("/admin/tenants/{tenant}/entitlements"),
                Some(json!({
                    "plan": "standard", "modules": modules, "api_rate_per_second": 10,
                    "max_workspaces": 3, "max_provider_connections": 1,
                    "monthly_token_budget": 1000000
                })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Registers tenant `slug` in the stack's region as `token` (a platform
    /// administrator): its id.
    pub async fn register(&self, token: &str, slug: &str) -> String {
        let (status, created, _) = self
            .call(
                Some(token),
                Method::POST,
                "/admin/tenants",
                Some(tenant(slug, self.region.as_str())),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        created["tenant_id"].as_str().unwrap().to_owned()
    }
}

pub fn tenant(slug: &str, region: &str) -> Value {
    json!({
        "slug": slug, "display_name": "Acme", "region": region,
        "deployment_model": "hosted_saas",
        "owner_contact": { "name": "Ana Owner", "email": "ana@acme.example" }
    })
}

#[tokio::test]
async fn requests_reach_the_service_as_the_caller_with_an_internal_token() {
    let idp = Idp::start().await;
    let s = stack(&idp).await;
    let admin = idp.access_token("msp-admin").await;
    let auditor = idp.access_token("msp-auditor").await;

    let (status, created, headers) = s
        .call(
            Some(&admin),
            Method::POST,
            "/admin/tenants",
            Some(tenant("acme", "us")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(headers.contains_key("x-request-id"));
    let id = created["tenant_id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["created_by"], "msp-admin",
        "the service saw the caller"
    );
    let (status, read, _) = s
        .call(
            Some(&auditor),
            Method::GET,
            &format!("/admin/tenants/{id}"),
            None,
        )
        .await;
    assert_eq!((status, &read["slug"]), (200, &json!("acme")));
    // The auditor's token reaches the service, whose own check refuses the write.
    let (status, problem, _) = s
        .call(
            Some(&auditor),
            Method::POST,
            "/admin/tenants",
            Some(tenant("globex", "us")),
        )
        .await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));

    // Without a token, or without any role, nothing is forwarded.
    let (status, _, _) = s.call(None, Method::GET, "/admin/tenants", None).await;
    assert_eq!(status, 401);
    let nobody = idp.access_token("acme-operator").await;
    let (status, _, _) = s
        .call(Some(&nobody), Method::GET, "/admin/tenants", None)
        .await;
    assert_eq!(status, 403);
    let (status, _, _) = s.call(Some(&admin), Method::GET, "/elsewhere", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn another_regions_tenant_is_refused_at_the_gateway_naming_its_region() {
    let idp = Idp::start().await;
    let s = stack(&idp).await;
    let admin = idp.access_token("msp-admin").await;

    let (status, problem, _) = s
        .call(
            Some(&admin),
            Method::POST,
            "/admin/tenants",
            Some(tenant("acme", "eu")),
        )
        .await;
    assert_eq!(status, 421, "{problem}");
    assert_eq!(problem["code"], "wrong_region");
    assert_eq!(problem["region"], "eu");
    assert_eq!(problem["region_base_url"], "https://eu.plinth.example");
    let eu = plinth_core::TenantId::new(Region::Eu);
    let (status, problem, _) = s
        .call(
            Some(&admin),
            Method::GET,
            &format!("/admin/tenants/{eu}"),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (421, Some("wrong_region"))
    );
    // The same id percent-encoded, as the service would decode it: refused here too.
    let encoded = format!("/admin/tenants/%74{}", &eu.to_string()[1..]);
    let (status, problem, _) = s.call(Some(&admin), Method::GET, &encoded, None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (421, Some("wrong_region")),
        "{problem}"
    );
    assert_eq!(problem["region_base_url"], "https://eu.plinth.example");
    let (_, listed, _) = s
        .call(Some(&admin), Method::GET, "/admin/tenants", None)
        .await;
    assert!(
        listed["items"].as_array().unwrap().is_empty(),
        "nothing was written"
    );

    // A body over the limit never leaves the gateway.
    let mut big = tenant("acme", "us");
    big["display_name"] = json!("x".repeat(10_000));
    let (status, problem, _) = s
        .call(Some(&admin), Method::POST, "/admin/tenants", Some(big))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (413, Some("payload_too_large"))
    );
}

#[tokio::test]
async fn a_us_and_an_eu_gateway_each_refuse_the_others_tenants() {
    let idp = Idp::start().await;
    let us = stack(&idp).await;
    // An EU gateway in front of nothing: what it refuses never needs a service.
    let eu = gateway::Application::build(
        gateway::Settings::with_overrides(json!({
            "region": "eu",
            "http": { "port": 0 },
            "oidc": { "issuer": idp.issuer, "audience": AUDIENCE },
            "internal_token": { "private_key_pem": TokenKeys::generate().private_pem() },
            "routes": [{
                "prefix": "/admin/tenants", "upstream": "http://127.0.0.1:9",
                "audience": "tenant-registry", "create_names_region": true
            }],
            "regions": { "us": "https://us.plinth.example", "eu": "https://eu.plinth.example" },
            "bus": test_bus_settings(&test_topic_prefix(), json!({}))
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let eu_base = format!("http://127.0.0.1:{}", eu.port());
    let eu_ops = format!("http://127.0.0.1:{}", eu.internal_port());
    tokio::spawn(eu.run_until_stopped());
    let eu = Stack {
        gateway: eu_base,
        gateway_ops: eu_ops,
        prefix: String::new(),
        http: reqwest::Client::new(),
        _db: None,
        _audit_db: None,
        _pack_db: None,
        _module_db: None,
        provider_db: None,
        providers: None,
        _policy_db: None,
        settings: Value::Null,
        region: Region::Eu,
    };
    let admin = idp.access_token("msp-admin").await;

    let (status, created, _) = us
        .call(
            Some(&admin),
            Method::POST,
            "/admin/tenants",
            Some(tenant("acme", "us")),
        )
        .await;
    assert_eq!(status, 201);
    let acme = created["tenant_id"].as_str().unwrap().to_owned();
    for (gateway, path, body, region) in [
        (&eu, format!("/admin/tenants/{acme}"), None, "us"),
        (
            &eu,
            "/admin/tenants".to_owned(),
            Some(tenant("acme2", "us")),
            "us",
        ),
        (
            &us,
            format!("/admin/tenants/{}", plinth_core::TenantId::new(Region::Eu)),
            None,
            "eu",
        ),
        (
            &us,
            "/admin/tenants".to_owned(),
            Some(tenant("globex", "eu")),
            "eu",
        ),
    ] {
        let method = if body.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        let (status, problem, _) = gateway.call(Some(&admin), method, &path, body).await;
        assert_eq!(status, 421, "{path}: {problem}");
        assert_eq!(problem["region"], region);
        assert_eq!(
            problem["region_base_url"],
            format!("https://{region}.plinth.example")
        );
    }
}

#[tokio::test]
async fn input_that_does_not_parse_gets_a_problem_never_a_500_or_plain_text() {
    let idp = Idp::start().await;
    let s = stack_with(
        &idp,
        Options {
            audit: true,
            packs: true,
            ..Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    let tenants_before = s.tenant_count(&admin).await;
    let cases: [(Method, &str, Option<Value>, u16, &str); 6] = [
        (
            Method::POST,
            "/admin/packs/domain/import",
            Some(json!({ "a\u{0}b": 1 })),
            400,
            "nul_character",
        ),
        (
            Method::POST,
            "/admin/tenants",
            Some(json!({ "slug": "nul", "display_name": "A\u{0}cme" })),
            400,
            "nul_character",
        ),
        (
            Method::GET,
            "/admin/tenants?limit=-1",
            None,
            400,
            "invalid_request",
        ),
        (
            Method::GET,
            "/admin/audit/logs/0/entries/-1",
            None,
            400,
            "invalid_request",
        ),
        (
            Method::GET,
            "/admin/tenants/ten_us_0/nowhere",
            None,
            404,
            "not_found",
        ),
        (Method::PATCH, "/admin/tenants", None, 404, "not_found"),
    ];
    for (method, path, body, status, code) in cases {
        let (got, problem, headers) = s.call(Some(&admin), method.clone(), path, body).await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {problem}"
        );
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{method} {path}"
        );
        assert_eq!(
            problem["request_id"].as_str(),
            headers["x-request-id"].to_str().ok(),
            "{method} {path}"
        );
    }
    let tenants_after = s.tenant_count(&admin).await;
    assert_eq!(tenants_before, tenants_after, "nothing was stored");
}

/// `s.call` as `token`: the status and the answer's body.
pub async fn call_as(
    s: &Stack,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (status, answer, _) = s.call(Some(token), method, path, body).await;
    (status, answer)
}

impl Stack {
    /// Waits until the registry shows `tenant` in `status` (a minute at most).
    pub async fn wait_for_status(&self, token: &str, tenant: &str, status: &str) {
        plinth_testkit::wait_until(
            &format!("the tenant to be {status}"),
            std::time::Duration::from_secs(60),
            || async {
                call_as(
                    self,
                    token,
                    Method::GET,
                    &format!("/admin/tenants/{tenant}"),
                    None,
                )
                .await
                .1["status"]
                    == status
            },
        )
        .await;
    }

    /// Suspends `tenant` and offboards it (as `token`, a platform
    /// administrator), once the registry's saga made it OFFBOARDED.
    pub async fn offboard(&self, token: &str, tenant: &str) {
        let (status, body) = call_as(
            self,
            token,
            Method::PATCH,
            &format!("/admin/tenants/{tenant}/status"),
            Some(json!({ "status": "SUSPENDED", "reason": "contract ended" })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = call_as(
            self,
            token,
            Method::POST,
            &format!("/admin/tenants/{tenant}/offboarding"),
            Some(json!({ "reason": "contract ended" })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        self.wait_for_status(token, tenant, "OFFBOARDED").await;
    }
}
