//! The presence sweep: announces entries that expired (`presence.changed` with `state: left`),
//! so clients drop a collision warning when the other agent's console stopped renewing.
//!
//! Every instance sweeps; the `DELETE ... RETURNING` of [`workspace::sweep_presence`] decides
//! which one announces a given entry (the same "the row decides" rule as the SLA warnings'
//! UNIQUE row), so several instances on one PostgreSQL announce each expiry exactly once.

use std::time::Duration;

use crate::server::AppState;
use crate::server::store::workspace;

/// How often expired entries are looked for: an expiry is announced at most this late.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

pub async fn run(app: AppState) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = app.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = workspace::sweep_presence(&app.store, app.now()).await {
            tracing::warn!(error = %e.message, "the presence sweep failed; retrying on the next tick");
        }
    }
}
