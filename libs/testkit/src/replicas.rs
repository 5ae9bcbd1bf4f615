//! Replicas of one service as an SRE runs them: separate processes of the
//! service's own binary on one database and one set of topics (so one relay turn
//! and one consumer group per role), each started from a settings file, stopped
//! with SIGTERM or killed with SIGKILL.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

/// One process of the service.
#[derive(Debug)]
pub struct Replica {
    child: Child,
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
        let index = self.replicas.len();
        let (port, internal) = (free_port(), free_port());
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
        let http = &self.http;
        let logs = self.logs(index);
        let started = Instant::now();
        loop {
            let ready = http
                .get(format!("{ops}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "replica {index} not ready within 90 s:\n{logs}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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

impl Drop for Replicas {
    fn drop(&mut self) {
        for replica in self.replicas.iter_mut().flatten() {
            let _ = replica.child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port free now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
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
