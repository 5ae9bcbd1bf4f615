//! Runs the pack service: configuration, telemetry, then the application.

use pack_service::{Application, Settings};
use plinth_service::ServiceSettings as _;
use plinth_telemetry::TelemetryConfig;

/// Packs of megabytes are trees of many small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = plinth_telemetry::init(&TelemetryConfig::new("pack-service"))?;
    let settings = Settings::load()?;
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}
