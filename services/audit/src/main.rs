//! Runs the audit service: telemetry, configuration, then the application.

use audit::{AUDIENCE, Application};

#[tokio::main]
async fn main() -> Result<(), plinth_service::RunError> {
    plinth_service::run(AUDIENCE, Application::build).await
}
