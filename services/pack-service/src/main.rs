//! Runs the pack service: telemetry, configuration, then the application.

use pack_service::{AUDIENCE, Application};

/// Packs of megabytes are trees of many small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), plinth_service::RunError> {
    plinth_service::run(AUDIENCE, Application::build).await
}
