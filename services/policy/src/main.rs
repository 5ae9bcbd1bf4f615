//! Runs the policy service: telemetry, configuration, then the application.

use policy::{AUDIENCE, Application};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), plinth_service::RunError> {
    plinth_service::run(AUDIENCE, Application::build).await
}
