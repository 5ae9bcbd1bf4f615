//! Runs the audit service: configuration, telemetry, then the application.

use audit::{Application, Settings};
use plinth_service::ServiceSettings as _;
use plinth_telemetry::TelemetryConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = plinth_telemetry::init(&TelemetryConfig::new("audit"))?;
    let settings = Settings::load()?;
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}
