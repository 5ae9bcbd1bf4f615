//! A service process: its HTTP server and the tasks that run beside it (the
//! outbox relay, consumers, timers), bound together and stopped together.

use std::future::Future;
use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::http::{
    json_config, path_config, problem_fallback_middleware, query_config, refuse_nul_middleware,
    trace_middleware,
};
use crate::request_id_middleware;

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
pub struct Tasks(Vec<(CancellationToken, JoinHandle<Result<(), TaskError>>)>);

impl Tasks {
    /// Starts `task` with a stop token of its own.
    pub fn spawn<F, E>(&mut self, task: impl FnOnce(CancellationToken) -> F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<TaskError> + 'static,
    {
        let stop = CancellationToken::new();
        let run = task(stop.clone());
        self.0.push((
            stop,
            tokio::spawn(async move { run.await.map_err(Into::into) }),
        ));
    }
}

/// Where a server listens and how large a JSON body it takes.
#[derive(Debug, Clone, Copy)]
pub struct Listen<'a> {
    /// The address to bind.
    pub host: &'a str,
    /// `0` for any free port.
    pub port: u16,
    /// Largest accepted request body; larger ones get 413.
    pub body_limit_bytes: usize,
}

/// A built service, bound and ready to serve.
pub struct Service {
    port: u16,
    server: Server,
    tasks: Tasks,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("port", &self.port)
            .field("tasks", &self.tasks.0.len())
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
        let listener = TcpListener::bind((listen.host, listen.port)).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("binding {}:{}: {e}", listen.host, listen.port),
            )
        })?;
        let port = listener.local_addr()?.port();
        let limit = listen.body_limit_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(move |req, next| {
                    refuse_nul_middleware(limit, req, next)
                }))
                .wrap(from_fn(problem_fallback_middleware))
                .wrap(from_fn(request_id_middleware))
                .wrap(from_fn(trace_middleware))
                .app_data(json_config(limit))
                .app_data(query_config())
                .app_data(path_config())
                .configure(configure.clone())
        })
        .listen(listener)?
        .run();
        Ok(Service {
            port,
            server,
            tasks,
        })
    }

    /// The port it listens on (the one picked when asked for `0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops (on SIGINT or SIGTERM), then stops every
    /// task and waits for it; a task's failure is the answer.
    pub async fn run_until_stopped(self) -> Result<(), Stopped> {
        let served = self.server.await;
        for (stop, task) in self.tasks.0 {
            stop.cancel();
            task.await?.map_err(Stopped::Task)?;
        }
        Ok(served?)
    }
}
