//! Runs the reference runtime until SIGTERM or SIGINT.

use runner::{Runner, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry =
        plinth_telemetry::init(&plinth_telemetry::TelemetryConfig::new("plinth-runner"))?;
    let settings = Settings::load()?;
    let runner = Runner::new(settings)?;
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(runner.run(stop.clone()));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    stop.cancel();
    running.await?;
    Ok(())
}
