//! A service process: its HTTP server and the tasks that run beside it (the
//! outbox relay, consumers, timers), bound together and stopped together.

use std::future::Future;
use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::http::{
    json_config, path_config, problem_fallback_middleware, query_config, refuse_nul_middleware,
    trace_middleware,
};
use crate::request_id_middleware;

/// The tasks beside a server, each with the token that stops it.
#[derive(Debug, Default)]
pub struct Tasks(Vec<(CancellationToken, JoinHandle<anyhow::Result<()>>)>);

impl Tasks {
    /// Starts `task` with a stop token of its own.
    pub fn spawn<F>(&mut self, task: impl FnOnce(CancellationToken) -> F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let stop = CancellationToken::new();
        self.0.push((stop.clone(), tokio::spawn(task(stop))));
    }
}

/// Where a server listens and how large a JSON body it takes.
#[derive(Debug, Clone, Copy)]
pub struct Listen<'a> {
    pub host: &'a str,
    /// `0` for any free port.
    pub port: u16,
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
    pub fn bind<C>(listen: Listen<'_>, tasks: Tasks, configure: C) -> anyhow::Result<Self>
    where
        C: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let listener = TcpListener::bind((listen.host, listen.port))
            .with_context(|| format!("binding {}:{}", listen.host, listen.port))?;
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

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops (on SIGINT or SIGTERM), then stops every
    /// task and waits for it; a task's failure is the answer.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = self.server.await;
        for (stop, task) in self.tasks.0 {
            stop.cancel();
            task.await??;
        }
        Ok(served?)
    }
}
