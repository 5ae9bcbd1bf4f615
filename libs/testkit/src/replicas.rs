//! Replicas of one service as an SRE runs them: separate processes of the
//! service's own binary on one database and one set of topics (so one relay turn
//! and one consumer group per role), each started from a settings file, stopped
//! with SIGTERM or killed with SIGKILL.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::idp::free_port;
use tokio::process::{Child, Command};

/// One process of the service.
#[derive(Debug)]
pub struct Replica {
    child: Child,
    /// Its public port.
    pub port: u16,
    /// Its public listener, `http://127.0.0.1:<port>`.
    pub base: String,
    /// Its operators' listener (`/metrics`, `/livez`, `/readyz`).
    pub ops: String,
    log: PathBuf,
}

/// The replicas of one service, and how to start another.
#[derive(Debug)]
pub struct Replicas {
    binary: PathBuf,
    config: PathBuf,
    dir: PathBuf,
    http: reqwest::Client,
    /// Each replica started, `None` once stopped or killed.
    replicas: Vec<Option<Replica>>,
}

impl Replicas {
    /// Replicas of the service built as `binary`, with `settings` (the
    /// service's settings as JSON, as a test harness builds them; each replica's
    /// ports are its own).
    pub fn new(binary: impl Into<PathBuf>, settings: &Value) -> Self {
        let dir = std::env::temp_dir().join(format!("plinth-replicas-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("settings.toml");
        let toml = toml::to_string(&without_nulls(settings.clone()))
            .expect("the settings are expressible in TOML");
        std::fs::write(&config, toml).unwrap();
        Replicas {
            binary: binary.into(),
            config,
            dir,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            replicas: Vec::new(),
        }
    }

    /// Starts one more replica and waits until it says it is ready; its index.
    pub async fn start(&mut self) -> usize {
        self.start_on(free_port()).await
    }

    /// Starts one more replica listening on the same public port as replica
    /// `index` (the service must be set to `http.reuse_port`), as a restart in
    /// place does, and waits until it is ready; its index.
    pub async fn start_beside(&mut self, index: usize) -> usize {
        let port = self.replica(index).port;
        self.start_on(port).await
    }

    async fn start_on(&mut self, port: u16) -> usize {
        let index = self.replicas.len();
        let internal = free_port();
        let log = self.dir.join(format!("replica-{index}.log"));
        let mut command = Command::new(&self.binary);
        // Only the settings file and the ports: nothing of the test's own
        // environment is read as a setting.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PLINTH_") {
                command.env_remove(key);
            }
        }
        let child = command
            .env("PLINTH_CONFIG", &self.config)
            .env("PLINTH_HTTP__PORT", port.to_string())
            .env("PLINTH_HTTP__INTERNAL_PORT", internal.to_string())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(self.dir.join(format!("replica-{index}.err"))).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("the service's binary starts");
        self.replicas.push(Some(Replica {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
            ops: format!("http://127.0.0.1:{internal}"),
            log,
        }));
        self.wait_ready(index).await;
        index
    }

    /// Waits until replica `index` answers `/readyz` with 200.
    pub async fn wait_ready(&self, index: usize) {
        let ops = &self.replica(index).ops;
        let ready = crate::wait_until("readiness", Duration::MAX, || async {
            self.http
                .get(format!("{ops}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        });
        let within = tokio::time::timeout(Duration::from_secs(90), ready).await;
        assert!(
            within.is_ok(),
            "replica {index} not ready within 90 s:\n{}",
            self.logs(index)
        );
    }

    /// Replica `index`, which must be running.
    pub fn replica(&self, index: usize) -> &Replica {
        self.replicas[index]
            .as_ref()
            .unwrap_or_else(|| panic!("replica {index} is not running"))
    }

    /// The indexes of the replicas running.
    pub fn running(&self) -> Vec<usize> {
        (0..self.replicas.len())
            .filter(|i| self.replicas[*i].is_some())
            .collect()
    }

    /// Kills replica `index` with SIGKILL: no request finishes, nothing is
    /// flushed, nothing is handed over.
    pub async fn kill(&mut self, index: usize) {
        let mut replica = self.replicas[index].take().expect("running");
        replica.child.kill().await.unwrap();
    }

    /// Stops replica `index` with SIGTERM and waits for it to exit (at most
    /// `deadline`); whether it exited cleanly, and how long it took.
    pub async fn terminate(&mut self, index: usize, deadline: Duration) -> (bool, Duration) {
        let mut replica = self.replicas[index].take().expect("running");
        let pid = replica.child.id().expect("a running process has an id");
        let asked = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        let status = tokio::time::timeout(deadline, replica.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "replica {index} still running {deadline:?} after SIGTERM:\n{}",
                    std::fs::read_to_string(&replica.log).unwrap_or_default()
                )
            })
            .unwrap();
        (status.success(), asked.elapsed())
    }

    /// Replica `index`'s `/metrics`.
    pub async fn metrics(&self, index: usize) -> String {
        self.http
            .get(format!("{}/metrics", self.replica(index).ops))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Replica `index`'s `/metrics` value of `name` with `labels`; 0 without
    /// the series.
    pub async fn metric(&self, index: usize, name: &str, labels: &[(&str, &str)]) -> f64 {
        crate::sample(&self.metrics(index).await, name, labels).unwrap_or(0.0)
    }

    /// What replica `index` logged (for failure messages).
    pub fn logs(&self, index: usize) -> String {
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        let err = self.dir.join(format!("replica-{index}.err"));
        let out = self.dir.join(format!("replica-{index}.log"));
        let tail = |text: String| {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        };
        format!("{}\n{}", tail(read(&out)), tail(read(&err)))
    }
}

/// Replicas of a service on a database and topics of their own, as
/// [`Replicas::pair`] starts them.
#[derive(Debug)]
pub struct Pair {
    /// The replicas.
    pub replicas: Replicas,
    /// Their database, dropped when this is (keep it while the replicas run).
    pub db: plinth_db::testing::TestDb,
    /// The key pair of the internal tokens they accept.
    pub keys: crate::TokenKeys,
    /// Their topics' prefix.
    pub prefix: String,
}

impl Replicas {
    /// Two replicas of `S`, built as `binary`, in the US region, on a fresh
    /// database and topics: each runs the relay and the consumers, topics have
    /// `partitions` partitions, and `overrides` go over the test settings.
    /// Returns once both are ready.
    pub async fn pair<S: crate::TestedService>(
        binary: &str,
        partitions: usize,
        overrides: Value,
    ) -> Pair {
        let db = plinth_db::testing::TestDb::create(S::NAME, S::migrations())
            .await
            .unwrap();
        let keys = crate::TokenKeys::generate();
        let prefix = crate::test_topic_prefix();
        let mut settings = crate::test_settings(plinth_core::Region::Us, &db, &keys, &prefix);
        crate::merge(
            &mut settings,
            serde_json::json!({
                "bus": { "relay": true, "consumers": true, "partitions": partitions },
                "database": { "pool_size": 8 }
            }),
        );
        crate::merge(&mut settings, overrides);
        let mut replicas = Replicas::new(binary, &settings);
        replicas.start().await;
        replicas.start().await;
        Pair {
            replicas,
            db,
            keys,
            prefix,
        }
    }

    /// Partitions assigned to replica `index` now.
    pub async fn assigned(&self, index: usize) -> usize {
        self.metric(index, "plinth_consumer_assigned_partitions", &[])
            .await as usize
    }

    /// How often replica `index`'s relay took its turn.
    pub async fn turns(&self, index: usize) -> u64 {
        self.metric(index, "plinth_relay_turns_total", &[]).await as u64
    }

    /// Waits until every running replica has partitions of the group, `total`
    /// between them.
    pub async fn wait_assigned(&self, total: usize) {
        crate::wait_until(
            "every replica in the group",
            Duration::from_secs(60),
            || async {
                let mut sum = 0;
                for i in self.running() {
                    let assigned = self.assigned(i).await;
                    if assigned == 0 {
                        return false;
                    }
                    sum += assigned;
                }
                sum == total
            },
        )
        .await;
    }

    /// The running replica whose relay holds the turn; fails unless exactly one
    /// took it.
    pub async fn relay_holder(&self) -> usize {
        let mut holders = Vec::new();
        for i in self.running() {
            if self.turns(i).await > 0 {
                holders.push(i);
            }
        }
        assert_eq!(holders.len(), 1, "one relay holds the turn: {holders:?}");
        holders[0]
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for replica in self.replicas.iter_mut().flatten() {
            let _ = replica.child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `value` without its `null`s, which TOML cannot say (a missing key is the
/// same setting).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Replicas as a load balancer in front of them sees them: a request goes to
/// the replica asked for while it is up; one whose connection fails is tried
/// once more on another (its outcome on the first is unknown).
#[derive(Debug)]
pub struct Balancer {
    clients: Vec<crate::ServiceClient>,
    ops: Vec<String>,
    up: Vec<std::sync::atomic::AtomicBool>,
    http: reqwest::Client,
    retried: std::sync::atomic::AtomicUsize,
}

/// An answer through a [`Balancer`].
#[derive(Debug)]
pub struct Answered {
    /// The status.
    pub status: u16,
    /// The JSON body (`Null` if none).
    pub body: Value,
    /// Whether another replica answered after the first one's connection failed.
    pub retried: bool,
}

impl Balancer {
    /// In front of every replica of `replicas` (each must be running), calling
    /// as the platform administrator with internal tokens for `audience`.
    pub fn new(
        replicas: &Replicas,
        audience: &'static str,
        region: plinth_core::Region,
        keys: &crate::TokenKeys,
    ) -> Self {
        let all = 0..replicas.replicas.len();
        Balancer {
            clients: all
                .clone()
                .map(|i| {
                    crate::ServiceClient::new(
                        replicas.replica(i).base.clone(),
                        audience,
                        region,
                        keys,
                    )
                })
                .collect(),
            ops: all
                .clone()
                .map(|i| replicas.replica(i).ops.clone())
                .collect(),
            up: all
                .map(|_| std::sync::atomic::AtomicBool::new(true))
                .collect(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            retried: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Takes replica `index` out: no request is sent to it any more.
    pub fn take_out(&self, index: usize) {
        self.up[index].store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// The replicas requests go to.
    pub fn in_rotation(&self) -> Vec<usize> {
        (0..self.up.len())
            .filter(|i| self.up[*i].load(std::sync::atomic::Ordering::Relaxed))
            .collect()
    }

    /// Requests another replica answered after the first one's connection failed.
    pub fn retried(&self) -> usize {
        self.retried.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Replica `index`'s `/metrics` (empty if it does not answer).
    pub async fn metrics(&self, index: usize) -> String {
        match self
            .http
            .get(format!("{}/metrics", self.ops[index]))
            .send()
            .await
        {
            Ok(answer) => answer.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Replica `index`'s metric `name` (its first series); 0 without it.
    pub async fn metric(&self, index: usize, name: &str) -> f64 {
        crate::sample(&self.metrics(index).await, name, &[]).unwrap_or(0.0)
    }

    /// Sends `method path` with `body` to replica `prefer` (modulo the
    /// replicas), or the next one in rotation; panics if none answers.
    pub async fn send(
        &self,
        prefer: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Answered {
        let n = self.clients.len();
        let mut tried = 0;
        for replica in (0..n).map(|k| (prefer + k) % n) {
            if !self.up[replica].load(std::sync::atomic::Ordering::Relaxed) {
                continue;
            }
            let client = &self.clients[replica];
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", client.base))
                .bearer_auth(client.token(&crate::As::platform_admin()));
            if let Some(body) = &body {
                request = request.json(body);
            }
            tried += 1;
            match request.send().await {
                Ok(answer) => {
                    if tried > 1 {
                        self.retried
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    let status = answer.status().as_u16();
                    let body = answer.json().await.unwrap_or(Value::Null);
                    return Answered {
                        status,
                        body,
                        retried: tried > 1,
                    };
                }
                Err(err) => assert!(
                    !err.is_timeout(),
                    "{method} {path} timed out on replica {replica}"
                ),
            }
        }
        panic!("no replica answered {method} {path}");
    }
}
