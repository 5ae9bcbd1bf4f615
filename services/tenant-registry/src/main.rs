//! Runs the tenant registry: configuration, telemetry, then the application.

use plinth_service::ServiceSettings as _;
use plinth_telemetry::TelemetryConfig;
use tenant_registry::{Application, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = plinth_telemetry::init(&TelemetryConfig::new("tenant-registry"))?;
    let settings = Settings::load()?;
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}
