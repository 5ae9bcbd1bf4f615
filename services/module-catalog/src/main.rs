//! Runs the module catalog: telemetry, configuration, then the application.

use module_catalog::{AUDIENCE, Application};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), plinth_service::RunError> {
    plinth_service::run(AUDIENCE, Application::build).await
}
