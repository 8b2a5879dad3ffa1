//! A recorded build's timing (see [`crate::progress::timing`]): its steps as its replay folds them,
//! on the axis that starts at the build's creation and ends at its completion.

use tokio_util::sync::CancellationToken;
use tracing::instrument;

use super::bundle::{Bundle, BundleError};
use super::{BuildHistory, BuildSpec, HistoryError};
use crate::progress::timing::Timings;

impl BuildHistory {
    /// Where the time of the build `spec` names went. Its steps are read as a replay reads them
    /// (a running build is followed to its end); stops early when `cancel` is cancelled.
    #[instrument(skip(self, cancel), fields(builder = %self.builder))]
    pub async fn timing(&self, spec: &BuildSpec, cancel: CancellationToken) -> Result<Timings, HistoryError> {
        let replay = self.replay(spec, &|_| {}, cancel).await?;
        Ok(Timings::of(&replay.outcome.steps, replay.entry.duration_ms))
    }
}

impl Bundle {
    /// Where the time of the bundle's build `spec` names went, read from its logs blob as a
    /// builder's finished record's is.
    #[instrument(skip(self, cancel), fields(path = %self.path().display()))]
    pub async fn timing(&self, spec: &BuildSpec, cancel: CancellationToken) -> Result<Timings, BundleError> {
        let replay = self.replay(spec, &|_| {}, cancel).await?;
        Ok(Timings::of(&replay.outcome.steps, replay.entry.duration_ms))
    }
}
