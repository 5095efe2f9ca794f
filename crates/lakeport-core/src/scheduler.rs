//! The scheduler: runs saved extractions when their schedule says, for `lakeport serve` and the
//! headless `lakeport scheduler`.
//!
//! Its state lives in the pool's SQLite (next run, pending retry, the run holding an extraction),
//! so it survives restarts. Rules:
//! - an extraction due while a run of it is still going is not started; a `skipped` job records it;
//! - after downtime a missed schedule runs once (the next run is computed from now, not from the
//!   missed slot);
//! - a failed scheduled run is retried after its backoff (doubling) up to its limit, then stays
//!   failed until the next scheduled time.
//!
//! [`tick`] does one round at a given time, which is what the tests drive (the clock is theirs);
//! [`run`] calls it with the wall clock every `interval`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lakeport_pool::{PoolDir, Trigger};
use tokio::task::JoinHandle;

use crate::extractions::{quiet, run_claimed, Extraction, RunOutcome};
use crate::CoreError;

/// One scheduler round at `now` over every pool of `dir`: starts the runs that are due (each in a
/// task of its own; the handles are returned) and records the skipped ones.
/// An extraction whose definition cannot be read is logged and passed over.
///
/// # Errors
///
/// [`CoreError::Pool`] when a pool or its extraction state cannot be read or written;
/// [`CoreError::Invalid`] when a schedule yields no next time. The round stops at the first error.
pub async fn tick(dir: &PoolDir, now: DateTime<Utc>) -> Result<Vec<JoinHandle<RunOutcome>>, CoreError> {
    let mut started = Vec::new();
    // The pool directory's own list: no catalog is asked, so one REST catalog that is down
    // does not stop the other pools' schedules.
    for pool_name in dir.pool_names().await? {
        let pool = dir.pool(&pool_name).await?;
        for saved in pool.extractions().await? {
            let name = saved.name.clone();
            let extraction = match Extraction::from_saved_pub(saved) {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!("scheduler: pool '{pool_name}', extraction '{name}': {e}");
                    continue;
                }
            };
            let schedule = extraction.definition.schedule.clone();
            let due_schedule = schedule.is_some() && extraction.next_run_at.is_some_and(|t| t <= now);
            let due_retry = extraction.retry_at.is_some_and(|t| t <= now);
            if schedule.is_some() && extraction.next_run_at.is_none() {
                // Never armed (e.g. the schedule was added by another version): arm it.
                let next = schedule.as_ref().map(|s| s.next_after(now)).transpose()?;
                pool.set_extraction_schedule(&name, next, extraction.retry_at, extraction.retry_attempt).await?;
                continue;
            }
            if !due_schedule && !due_retry {
                continue;
            }
            let trigger = if due_schedule { Trigger::Schedule } else { Trigger::Retry };
            // Advance first, so a crash mid-run does not run the same slot again, and missed
            // slots collapse into this one run. A scheduled run supersedes a pending retry.
            let next = match (&schedule, due_schedule) {
                (Some(s), true) => Some(s.next_after(now)?),
                _ => extraction.next_run_at,
            };
            let (retry_at, attempt) = if due_schedule { (None, 0) } else { (None, extraction.retry_attempt) };
            pool.set_extraction_schedule(&name, next, retry_at, attempt).await?;
            let mut extraction = extraction;
            extraction.retry_attempt = attempt;
            let holder = uuid::Uuid::new_v4().to_string();
            if !pool.claim_extraction(&name, &holder).await? {
                let running = pool.extraction(&name).await?.running_job.unwrap_or_default();
                let origin = trigger.origin(&name, extraction.version);
                pool.record_skipped_run(&extraction.definition.connection, extraction.mode(None), &origin, &format!("skipped: the previous run ({running}) was still running"))
                    .await?;
                tracing::info!("scheduler: '{name}' of pool '{pool_name}' is still running; this run is skipped");
                continue;
            }
            tracing::info!("scheduler: running '{name}' of pool '{pool_name}' ({})", trigger.as_str());
            let pool = pool.clone();
            started.push(tokio::spawn(async move { run_claimed(&pool, &extraction, None, trigger, &holder, quiet()).await }));
        }
    }
    Ok(started)
}

/// The scheduler loop: a [`tick`] every `interval` with the wall clock until `shutdown` resolves.
/// Runs that are going on at shutdown are not waited for: a process that ends stops them with
/// [`crate::runs::stop_all`] (they end interrupted); one that dies leaves them to the next start
/// ([`crate::runs::recover`]), and the next scheduler takes their claims over.
pub async fn run(dir: PoolDir, interval: Duration, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        match tick(&dir, Utc::now()).await {
            Ok(started) => {
                for handle in started {
                    // Detached: the next tick must not wait for a long run.
                    drop(handle);
                }
            }
            Err(e) => tracing::warn!("scheduler: {e}"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
