//! Runs the tenant registry: telemetry, configuration, then the application.

use tenant_registry::{AUDIENCE, Application};

#[tokio::main]
async fn main() -> Result<(), plinth_service::RunError> {
    plinth_service::run(AUDIENCE, Application::build).await
}
