//! The rules: how records join their log, when logs are checkpointed and sealed,
//! and what callers may read.

pub mod export;
pub mod lifecycle;
pub mod log;
pub mod oscal;
pub mod read;

use plinth_auditlog::LogSigner;
use plinth_core::{ApiError, Region};
use plinth_db::{Pool, PooledConn};

use crate::events::Events;

/// What the app functions work with.
pub struct AppState {
    pub pool: Pool,
    pub events: Events,
    pub region: Region,
    pub signer: LogSigner,
    /// A checkpoint after this many new entries.
    pub checkpoint_every_entries: u64,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("region", &self.region)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub async fn conn(&self) -> Result<PooledConn, ApiError> {
        plinth_db::checkout(&self.pool).await
    }
}

pub use plinth_db::now;
