//! Runs the gateway: configuration, telemetry, then the application.

use gateway::{Application, Settings};
use plinth_telemetry::TelemetryConfig;

/// Most of a forwarded request's own work is small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = plinth_telemetry::init(&TelemetryConfig::new("gateway"))?;
    let settings = Settings::load()?;
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await
}
