//! A service process: its HTTP server and the tasks that run beside it (the
//! outbox relay, consumers, timers), bound together and stopped together.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::http::{
    json_config, path_config, problem_fallback_middleware, query_config, refuse_nul_middleware,
    trace_middleware,
};
use crate::request_id_middleware;

/// After SIGTERM, how long a process keeps serving (readiness failing, every
/// answer closing its connection) before it stops accepting.
const DRAIN: Duration = Duration::from_secs(1);

/// Whatever a task beside the server failed with.
pub type TaskError = Box<dyn std::error::Error + Send + Sync>;

/// Why a service stopped other than on request.
#[derive(Debug, thiserror::Error)]
pub enum Stopped {
    /// The HTTP server failed.
    #[error("serving: {0}")]
    Server(#[from] std::io::Error),
    /// A task beside the server failed.
    #[error("a task beside the server failed: {0}")]
    Task(TaskError),
    /// A task beside the server panicked.
    #[error("a task beside the server panicked: {0}")]
    Panicked(#[from] tokio::task::JoinError),
}

/// The tasks beside a server, each with the token that stops it.
#[derive(Debug, Default)]
pub struct Tasks {
    running: Vec<Running>,
    watches: Vec<TaskWatch>,
    stopping: Stopping,
}

/// A task started: its name, its stop token, its handle.
type Running = (String, CancellationToken, JoinHandle<Result<(), TaskError>>);

/// Whether the service is stopping (it took SIGTERM or SIGINT): for readiness,
/// so that load balancers stop sending it requests while it drains.
#[derive(Debug, Clone, Default)]
pub struct Stopping(Arc<AtomicBool>);

impl Stopping {
    /// Whether the service has begun to stop.
    pub fn is_stopping(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Once the service is stopping, every answer says `Connection: close`, so a
/// client opens its next request on a fresh connection (to a replica still
/// running) instead of one this process is about to close under it.
pub async fn close_when_stopping(
    stopping: Stopping,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut answered = next.call(req).await?;
    if stopping.is_stopping() {
        answered
            .response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    Ok(answered)
}

/// Whether a task beside the server still runs: for readiness.
#[derive(Debug, Clone)]
pub struct TaskWatch {
    /// What the task is, e.g. `relay` or `consumer onboarding`.
    pub name: String,
    running: Arc<AtomicBool>,
}

impl TaskWatch {
    /// Whether the task has not ended.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }
}

impl Tasks {
    /// Starts `task`, named `name`, with a stop token of its own.
    pub fn spawn<F, E>(&mut self, name: &str, task: impl FnOnce(CancellationToken) -> F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<TaskError> + 'static,
    {
        let stop = CancellationToken::new();
        let run = task(stop.clone());
        self.start(name, stop, async move { run.await.map_err(Into::into) });
    }

    /// Takes on `task`, already running, named `name`: it stops when `stop` is
    /// cancelled.
    pub fn adopt<E>(&mut self, name: &str, stop: CancellationToken, task: JoinHandle<Result<(), E>>)
    where
        E: Into<TaskError> + Send + 'static,
    {
        self.start(name, stop, async move {
            match task.await {
                Ok(ended) => ended.map_err(Into::into),
                Err(err) => Err(Box::new(err) as TaskError),
            }
        });
    }

    fn start(
        &mut self,
        name: &str,
        stop: CancellationToken,
        run: impl Future<Output = Result<(), TaskError>> + Send + 'static,
    ) {
        let running = Arc::new(AtomicBool::new(true));
        self.watches.push(TaskWatch {
            name: name.to_owned(),
            running: running.clone(),
        });
        let task = name.to_owned();
        self.running.push((
            name.to_owned(),
            stop,
            tokio::spawn(async move {
                let ended = run.await;
                running.store(false, Ordering::Relaxed);
                if let Err(err) = &ended {
                    tracing::error!(%task, error = %err, "a task beside the server failed");
                }
                ended
            }),
        ));
    }

    /// A watch on every task started so far.
    pub fn watches(&self) -> Vec<TaskWatch> {
        self.watches.clone()
    }

    /// Whether the service these tasks run beside has begun to stop.
    pub fn stopping(&self) -> Stopping {
        self.stopping.clone()
    }
}

/// One request a server answered, as an [`Observer`] is told of it.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// The route's template (`/admin/tenants/{tenant_id}`); `None` for a path
    /// no route serves.
    pub route: Option<&'a str>,
    /// The status answered.
    pub status: u16,
    /// From the request's arrival to its answer's head.
    pub elapsed: Duration,
}

/// Told of every request a server answered (for metrics).
pub type Observer = Arc<dyn Fn(Observed<'_>) + Send + Sync>;

/// Where a server listens and how large a JSON body it takes.
#[derive(Debug, Clone, Copy)]
pub struct Listen<'a> {
    /// The address to bind.
    pub host: &'a str,
    /// `0` for any free port.
    pub port: u16,
    /// Largest accepted request body; larger ones get 413.
    pub body_limit_bytes: usize,
    /// On SIGTERM, how long requests in flight have to finish, and then the
    /// tasks beside the server to stop.
    pub shutdown_timeout: Duration,
    /// Whether another process may listen on the same port at once
    /// (`SO_REUSEPORT`): a new process of the service starts beside the old one,
    /// which then stops, and no connection is refused in between.
    pub reuse_port: bool,
}

/// A listener on `host:port`; with `reuse_port`, one that other processes may
/// share (`SO_REUSEPORT`: the kernel spreads new connections among them).
pub fn bind_listener(host: &str, port: u16, reuse_port: bool) -> std::io::Result<TcpListener> {
    let named =
        |e: std::io::Error| std::io::Error::new(e.kind(), format!("binding {host}:{port}: {e}"));
    if !reuse_port {
        return TcpListener::bind((host, port)).map_err(named);
    }
    let address = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map_err(named)?
        .next()
        .ok_or_else(|| {
            named(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no address",
            ))
        })?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true).map_err(named)?;
    #[cfg(unix)]
    socket.set_reuse_port(true).map_err(named)?;
    socket.bind(&address.into()).map_err(named)?;
    socket.listen(1024).map_err(named)?;
    Ok(socket.into())
}

/// A built service, bound and ready to serve.
pub struct Service {
    port: u16,
    server: Server,
    shutdown_timeout: Duration,
    /// The operators' listener (metrics, health), which no gateway routes.
    internal: Option<(u16, Server)>,
    tasks: Tasks,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("port", &self.port)
            .field("internal_port", &self.internal_port())
            .field("tasks", &self.tasks.running.len())
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Binds `listen` and serves what `configure` sets up (shared data and
    /// routes), every request with a request id, and every error answered as a
    /// problem: malformed or too large bodies, bodies with a NUL character,
    /// queries and paths that do not parse, unknown routes and methods.
    pub fn bind<C>(listen: Listen<'_>, tasks: Tasks, configure: C) -> std::io::Result<Self>
    where
        C: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        Self::bind_observed(listen, tasks, None, configure)
    }

    /// [`bind`](Self::bind), telling `observer` of every request answered.
    pub fn bind_observed<C>(
        listen: Listen<'_>,
        tasks: Tasks,
        observer: Option<Observer>,
        configure: C,
    ) -> std::io::Result<Self>
    where
        C: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let listener = bind_listener(listen.host, listen.port, listen.reuse_port)?;
        let port = listener.local_addr()?.port();
        let limit = listen.body_limit_bytes;
        let stopping = tasks.stopping();
        let server = HttpServer::new(move || {
            let observer = observer.clone();
            let stopping = stopping.clone();
            App::new()
                .wrap(from_fn(move |req, next| {
                    close_when_stopping(stopping.clone(), req, next)
                }))
                .wrap(from_fn(move |req, next| {
                    refuse_nul_middleware(limit, req, next)
                }))
                .wrap(from_fn(move |req, next| {
                    observe_middleware(observer.clone(), req, next)
                }))
                .wrap(from_fn(problem_fallback_middleware))
                .wrap(from_fn(request_id_middleware))
                .wrap(from_fn(trace_middleware))
                .app_data(json_config(limit))
                .app_data(query_config())
                .app_data(path_config())
                .configure(configure.clone())
        })
        // SIGTERM and SIGINT are `run_until_stopped`'s to handle, in order.
        .disable_signals()
        .shutdown_timeout(listen.shutdown_timeout.as_secs())
        .listen(listener)?
        .run();
        Ok(Service {
            port,
            server,
            shutdown_timeout: listen.shutdown_timeout,
            internal: None,
            tasks,
        })
    }

    /// A service of a server built elsewhere (one with middleware of its own),
    /// listening on `port`, with `tasks` beside it. The server must be built
    /// with `disable_signals()`: stopping is [`run_until_stopped`](Self::run_until_stopped)'s.
    pub fn of_server(port: u16, server: Server, shutdown_timeout: Duration, tasks: Tasks) -> Self {
        Service {
            port,
            server,
            shutdown_timeout,
            internal: None,
            tasks,
        }
    }

    /// Also serves `internal` (built with `disable_signals()`), listening on
    /// `port`, as the operators' listener.
    pub fn with_internal(mut self, port: u16, internal: Server) -> Self {
        self.internal = Some((port, internal));
        self
    }

    /// Also serves `configure`'s routes (metrics, health) on `listen`'s host and
    /// `port`, a listener for operators and their tools that no gateway routes.
    pub fn serve_internal<C>(
        self,
        listen: Listen<'_>,
        port: u16,
        configure: C,
    ) -> std::io::Result<Self>
    where
        C: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let listener = bind_listener(listen.host, port, listen.reuse_port)?;
        let port = listener.local_addr()?.port();
        // Its answers are for probes and scrapers, as they are: a `503` from
        // `/readyz` stays one, with the checks that failed.
        let server = HttpServer::new(move || App::new().configure(configure.clone()))
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run();
        Ok(self.with_internal(port, server))
    }

    /// The operators' listener's port, if it serves one.
    pub fn internal_port(&self) -> Option<u16> {
        self.internal.as_ref().map(|(port, _)| *port)
    }

    /// The port it listens on (the one picked when asked for `0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then stops in order, so that a replica
    /// takes over without losing or repeating work:
    ///
    /// 1. readiness says it is stopping, and the server stops accepting
    ///    connections; requests in flight get up to the shutdown timeout to
    ///    finish;
    /// 2. every task beside the server is told to stop and gets the rest of that
    ///    time: a consumer commits the offsets of the batches it finished, the
    ///    relay flushes its producer and hands over its turn;
    /// 3. the operators' listener stops last.
    ///
    /// A task's failure, or the server's, is the answer.
    pub async fn run_until_stopped(self) -> Result<(), Stopped> {
        self.run_until(shutdown_signal()).await
    }

    /// [`run_until_stopped`](Self::run_until_stopped), stopping when `stop`
    /// completes rather than on a signal.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> Result<(), Stopped> {
        let Service {
            server,
            shutdown_timeout,
            internal,
            tasks,
            ..
        } = self;
        let handle = server.handle();
        let mut server = tokio::spawn(server);
        let internal = internal.map(|(_, internal)| (internal.handle(), tokio::spawn(internal)));
        let served = tokio::select! {
            () = stop => {
                tasks.stopping.0.store(true, Ordering::Relaxed);
                // A moment with readiness failing and every answer closing its
                // connection: load balancers and keep-alive clients move to the
                // replicas still running before this one stops accepting.
                tokio::time::sleep(DRAIN.min(shutdown_timeout)).await;
                tracing::info!(
                    deadline = ?shutdown_timeout,
                    "stopping: no new connections; finishing the requests in flight"
                );
                handle.stop(true).await;
                (&mut server).await
            }
            ended = &mut server => ended,
        };
        tasks.stopping.0.store(true, Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + shutdown_timeout;
        let mut failed = None;
        for (_, stop, _) in &tasks.running {
            stop.cancel();
        }
        for (name, _, mut task) in tasks.running {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(err))) => {
                    failed.get_or_insert(Stopped::Task(err));
                }
                Ok(Err(err)) => {
                    failed.get_or_insert(Stopped::Panicked(err));
                }
                Err(_) => {
                    tracing::error!(task = %name, "did not stop within the shutdown timeout; cut off");
                    task.abort();
                }
            }
        }
        if let Some((handle, internal)) = internal {
            handle.stop(true).await;
            internal.await??;
        }
        served??;
        match failed {
            Some(failed) => Err(failed),
            None => {
                tracing::info!("stopped");
                Ok(())
            }
        }
    }
}

/// SIGTERM (what an orchestrator sends) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; stopping on SIGINT only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Tells `observer` of the request once it is answered: its method, its route's
/// template (never the path itself, which names tenants), status and duration.
async fn observe_middleware(
    observer: Option<Observer>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(observer) = observer else {
        return next.call(req).await;
    };
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.match_pattern();
    let answered = next.call(req).await;
    let status = match &answered {
        Ok(res) => res.status().as_u16(),
        Err(err) => err.as_response_error().status_code().as_u16(),
    };
    observer(Observed {
        method: method.as_str(),
        route: route.as_deref(),
        status,
        elapsed: started.elapsed(),
    });
    answered
}
