//! At-risk warnings: whenever what the phone or a camera holds changes, the overwrite forecast
//! is computed again, and the UI hears when the set of drives at risk changes (so a warning
//! appears, or goes away, without the app polling).

use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::CompanionEvent;
use crate::catalog::Catalog;
use crate::ingest::IngestEvent;
use crate::storage::{AtRiskDrive, LoopRecorder, forecast};

/// Changes arriving within this long of each other are forecast once.
const SETTLE: Duration = Duration::from_millis(300);

/// Watches the companion's events and emits [`CompanionEvent::AtRiskChanged`].
pub(super) struct RiskWatch {
    pub catalog: Catalog,
    pub recorder: LoopRecorder,
    pub events: broadcast::Sender<CompanionEvent>,
    pub horizon_hours: f64,
}

impl RiskWatch {
    pub async fn run(self, mut rx: broadcast::Receiver<CompanionEvent>, stop: CancellationToken) {
        let mut last: Vec<AtRiskDrive> = Vec::new();
        loop {
            let event = tokio::select! {
                () = stop.cancelled() => return,
                event = rx.recv() => event,
            };
            match event {
                Ok(e) if !changes_residency(&e) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            }
            tokio::time::sleep(SETTLE).await;
            while !matches!(
                rx.try_recv(),
                Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)
            ) {}
            match self.at_risk().await {
                Ok(now) if !same_drives(&now, &last) => {
                    let _ = self.events.send(CompanionEvent::AtRiskChanged(now.clone()));
                    last = now;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "at-risk forecast failed"),
            }
        }
    }

    async fn at_risk(&self) -> Result<Vec<AtRiskDrive>, crate::storage::StorageError> {
        let budget = self.recorder.budget().await?;
        let cameras = self.catalog.cameras().await?;
        Ok(forecast(&self.catalog, &budget, &cameras, self.horizon_hours).await?.at_risk)
    }
}

/// Whether an event may change where videos live (progress and cloud chatter do not).
fn changes_residency(e: &CompanionEvent) -> bool {
    !matches!(
        e,
        CompanionEvent::Ingest(
            IngestEvent::SegmentStarted { .. }
                | IngestEvent::SegmentProgress { .. }
                | IngestEvent::Disconnected { .. }
        ) | CompanionEvent::Connection(_)
            | CompanionEvent::Cloud(_)
            | CompanionEvent::AtRiskChanged(_)
    )
}

/// The same drives in the same places (hours left move with every segment; the warning does not).
fn same_drives(a: &[AtRiskDrive], b: &[AtRiskDrive]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| x.drive == y.drive && x.residency == y.residency)
}
