//! Saved extractions: what `lakeport extract` takes on the command line (the same
//! [`ExtractRequest`]), kept in the pool under a name with a connection, an optional schedule,
//! retries and a failure webhook; runs of it record which extraction and definition version
//! they ran, and what started them.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use lakeport_extract::{ExtractReport, ExtractRequest, NoProgress, Progress, SchemaChange, TableReport};
use crate::ConnectionConfig;
use lakeport_pool::{Job, JobStatus, LoadMode, Pool, PoolError, SavedExtraction, Trigger};
use serde::{Deserialize, Serialize};

use crate::CoreError;

/// The format of [`ExtractionDefinition`] as stored. A definition of a newer format is refused
/// rather than read wrongly.
pub const DEFINITION_FORMAT: u32 = 1;

/// A saved extraction's definition, stored as JSON in the pool (versioned by `format`).
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExtractionDefinition {
    /// Format of this JSON ([`DEFINITION_FORMAT`]).
    #[serde(default = "default_format")]
    pub format: u32,
    /// The S3 extraction connection it reads from.
    pub connection: String,
    /// Items, mode, reader options and table settings: what `lakeport extract` runs.
    pub request: ExtractRequest,
    /// When the scheduler runs it (none: only by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Retries of a failed scheduled run.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Where a failed run is reported (JSON POST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
}

fn default_format() -> u32 {
    DEFINITION_FORMAT
}

/// A standard 5-field cron expression (minute hour day-of-month month day-of-week; croner's
/// syntax: ranges, steps, names, `L`, `#`, and `@hourly`-style aliases) evaluated in a time zone
/// (an IANA name such as `Europe/Berlin`; UTC when none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Schedule {
    /// The cron expression (5 fields, no seconds field; or an `@` alias).
    pub cron: String,
    /// IANA time zone name the expression is read in; `None` means UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl Schedule {
    fn parsed(&self) -> Result<(Cron, chrono_tz::Tz), CoreError> {
        let fields = self.cron.split_whitespace().count();
        if !self.cron.trim_start().starts_with('@') && fields != 5 {
            return Err(CoreError::Invalid(format!("schedule '{}' has {fields} fields; a cron schedule has 5: minute hour day-of-month month day-of-week", self.cron)));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .build()
            .parse(&self.cron)
            .map_err(|e| CoreError::Invalid(format!("schedule '{}' is not a valid cron expression: {e}", self.cron)))?;
        let tz = match &self.timezone {
            None => chrono_tz::UTC,
            Some(name) => chrono_tz::Tz::from_str(name).map_err(|_| CoreError::Invalid(format!("unknown time zone '{name}' (use an IANA name such as Europe/Berlin, or UTC)")))?,
        };
        Ok((cron, tz))
    }

    /// Checks the expression (5 fields, croner's syntax) and the time zone.
    ///
    /// # Errors
    ///
    /// [`CoreError::Invalid`] for a wrong field count, an expression croner refuses, or an
    /// unknown time zone.
    pub fn validate(&self) -> Result<(), CoreError> {
        self.parsed().map(|_| ())
    }

    /// The first `n` run times strictly after `after`, in UTC (computed in the schedule's zone).
    ///
    /// # Errors
    ///
    /// As [`Schedule::validate`], and [`CoreError::Invalid`] when croner finds no next occurrence.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Result<Vec<DateTime<Utc>>, CoreError> {
        let (cron, tz) = self.parsed()?;
        let mut out = Vec::with_capacity(n);
        let mut t = after.with_timezone(&tz);
        for _ in 0..n {
            t = cron.find_next_occurrence(&t, false).map_err(|e| CoreError::Invalid(format!("schedule '{}': {e}", self.cron)))?;
            out.push(t.with_timezone(&Utc));
        }
        Ok(out)
    }

    /// The next run time strictly after `after`, in UTC.
    ///
    /// # Errors
    ///
    /// As [`Schedule::upcoming`].
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, CoreError> {
        Ok(self.upcoming(after, 1)?[0])
    }
}

/// Retries of a failed scheduled run: after `backoff_secs`, then twice as long each time, up to
/// `max_retries`; then the run stays failed until the next scheduled time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RetryPolicy {
    /// Retries after a failed scheduled run (0: none); default 3.
    pub max_retries: u32,
    /// Wait before the first retry, in seconds; default 60.
    pub backoff_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: 3, backoff_secs: 60 }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based): backoff × 2^attempt, at most a day.
    pub fn delay(&self, attempt: u32) -> Duration {
        Duration::from_secs(self.backoff_secs.saturating_mul(1u64 << attempt.min(20)).min(86_400))
    }
}

/// A URL that receives a JSON POST when a run fails (and, with `on_recovery`, when the first
/// run after a failure succeeds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Webhook {
    /// The http:// or https:// URL to POST to (may hold a token; never logged).
    pub url: String,
    /// Also POST when the first run after a failed one succeeds.
    #[serde(default)]
    pub on_recovery: bool,
}

impl ExtractionDefinition {
    /// A definition in the current format with no schedule, the default retries and no webhook.
    pub fn new(connection: impl Into<String>, request: ExtractRequest) -> Self {
        ExtractionDefinition { format: DEFINITION_FORMAT, connection: connection.into(), request, schedule: None, retry: RetryPolicy::default(), webhook: None }
    }

    fn from_saved(saved: &SavedExtraction) -> Result<Self, CoreError> {
        let format = saved.definition.get("format").and_then(|f| f.as_u64()).unwrap_or(0);
        if format != DEFINITION_FORMAT as u64 {
            return Err(CoreError::Invalid(format!("extraction '{}' was saved in definition format {format}; this lakeport reads format {DEFINITION_FORMAT}", saved.name)));
        }
        serde_json::from_value(saved.definition.clone()).map_err(|e| CoreError::Invalid(format!("extraction '{}' has a damaged definition: {e}", saved.name)))
    }

    /// Checks everything that can be checked without reading the files.
    async fn validate(&self, pool: &Pool) -> Result<(), CoreError> {
        let conn = crate::connection(pool, &self.connection).await?;
        if !matches!(conn.config, ConnectionConfig::S3Extraction(_)) {
            return Err(lakeport_extract::ExtractError::WrongConnectionType(self.connection.clone()).into());
        }
        self.request.validate()?;
        if let Some(s) = &self.schedule {
            s.validate()?;
        }
        if let Some(w) = &self.webhook {
            let url = url::Url::parse(&w.url).map_err(|e| CoreError::Invalid(format!("webhook URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(CoreError::Invalid("the webhook URL must be http:// or https://".into()));
            }
        }
        Ok(())
    }
}

/// A saved extraction with its definition read, and its scheduler state.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Extraction {
    /// The extraction's name, unique in the pool.
    pub name: String,
    /// Definition version: 1 when created, one more on each edit.
    pub version: i64,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When its definition last changed (UTC).
    pub updated_at: DateTime<Utc>,
    /// The stored definition.
    pub definition: ExtractionDefinition,
    /// The next scheduled run (none without a schedule).
    pub next_run_at: Option<DateTime<Utc>>,
    /// A pending retry of a failed run.
    pub retry_at: Option<DateTime<Utc>>,
    /// Retries of the current failure made so far (0 when none is pending).
    pub retry_attempt: u32,
    /// The job running it now.
    pub running_job: Option<String>,
}

impl Extraction {
    pub(crate) fn from_saved_pub(saved: SavedExtraction) -> Result<Self, CoreError> {
        Self::from_saved(saved)
    }

    fn from_saved(saved: SavedExtraction) -> Result<Self, CoreError> {
        Ok(Extraction {
            definition: ExtractionDefinition::from_saved(&saved)?,
            name: saved.name,
            version: saved.version,
            created_at: saved.created_at,
            updated_at: saved.updated_at,
            next_run_at: saved.next_run_at,
            retry_at: saved.retry_at,
            retry_attempt: saved.retry_attempt,
            running_job: saved.running_job,
        })
    }

    /// The mode a run uses: `mode` when given, else the definition's.
    pub fn mode(&self, mode: Option<LoadMode>) -> LoadMode {
        mode.unwrap_or(self.definition.request.mode)
    }
}

/// Saves a new extraction (after checking its connection, items, settings and schedule) and arms
/// its schedule.
///
/// # Errors
///
/// [`CoreError::Pool`] ([`PoolError::NoSuchConnection`]) for a missing connection; [`CoreError::Extract`]
/// for a zero-copy connection or an invalid request; [`CoreError::Invalid`] for a bad schedule or a
/// webhook URL that is not http(s); [`CoreError::Pool`] ([`PoolError::ExtractionExists`]) for a name
/// taken.
pub async fn create_extraction(pool: &Pool, name: &str, definition: ExtractionDefinition) -> Result<Extraction, CoreError> {
    definition.validate(pool).await?;
    let json = serde_json::to_value(&definition).expect("definition serialises");
    pool.create_extraction(name, &json).await?;
    arm(pool, name, definition.schedule.as_ref(), Utc::now()).await?;
    get_extraction(pool, name).await
}

/// Replaces an extraction's definition (its version grows by one); the schedule starts afresh
/// and a pending retry is dropped.
///
/// # Errors
///
/// [`CoreError::Pool`] ([`PoolError::NoSuchConnection`]) for a missing connection; [`CoreError::Extract`]
/// for a zero-copy connection or an invalid request; [`CoreError::Invalid`] for a bad schedule or a
/// webhook URL that is not http(s); [`CoreError::Pool`] ([`PoolError::NoSuchExtraction`]) for an unknown
/// name.
pub async fn edit_extraction(pool: &Pool, name: &str, definition: ExtractionDefinition) -> Result<Extraction, CoreError> {
    definition.validate(pool).await?;
    let json = serde_json::to_value(&definition).expect("definition serialises");
    pool.update_extraction(name, &json).await?;
    arm(pool, name, definition.schedule.as_ref(), Utc::now()).await?;
    get_extraction(pool, name).await
}

async fn arm(pool: &Pool, name: &str, schedule: Option<&Schedule>, now: DateTime<Utc>) -> Result<(), CoreError> {
    let next = schedule.map(|s| s.next_after(now)).transpose()?;
    pool.set_extraction_schedule(name, next, None, 0).await?;
    Ok(())
}

/// A saved extraction by name, with its definition read.
///
/// # Errors
///
/// [`CoreError::Pool`] ([`PoolError::NoSuchExtraction`]) for an unknown name; [`CoreError::Invalid`]
/// for a definition of another format than [`DEFINITION_FORMAT`] or one that does not parse.
pub async fn get_extraction(pool: &Pool, name: &str) -> Result<Extraction, CoreError> {
    Extraction::from_saved(pool.extraction(name).await?)
}

/// Every saved extraction of the pool, by name.
///
/// # Errors
///
/// [`CoreError::Pool`] when they cannot be read; [`CoreError::Invalid`] when any definition cannot
/// be read (as [`get_extraction`]).
pub async fn list_extractions(pool: &Pool) -> Result<Vec<Extraction>, CoreError> {
    pool.extractions().await?.into_iter().map(Extraction::from_saved).collect()
}

/// One run of an extraction in its history.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct HistoryEntry {
    /// The job's id.
    pub job_id: String,
    /// What started the run (manual when the job records no origin).
    pub trigger: Trigger,
    /// The definition version it ran (0 when the job records no origin).
    pub version: i64,
    /// Load mode: `full` or `delta`.
    pub mode: String,
    /// The job's status.
    pub status: JobStatus,
    /// When it started (UTC).
    pub started_at: DateTime<Utc>,
    /// When it ended (UTC); `None` while it runs.
    pub ended_at: Option<DateTime<Utc>>,
    /// Duration in seconds (millisecond precision); `None` while it runs.
    pub seconds: Option<f64>,
    /// Tables it loaded.
    pub tables: Vec<String>,
    /// Files read.
    pub files: u64,
    /// Rows loaded.
    pub rows: u64,
    /// Bytes read from the source.
    pub bytes: u64,
    /// The error of a failed run.
    pub error: Option<String>,
    /// The schema-drift report: each table's schema changes (delta loads), tables without any left out.
    pub schema_changes: Vec<TableSchemaChanges>,
}

/// The schema changes one run found in one table.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct TableSchemaChanges {
    /// The table's name.
    pub table: String,
    /// Its changes, as the extraction reported them.
    pub changes: Vec<SchemaChange>,
}

impl HistoryEntry {
    fn from_job(job: Job) -> HistoryEntry {
        let tables: Vec<TableReport> = serde_json::from_value(job.details.clone()).unwrap_or_default();
        let origin = job.origin.clone().unwrap_or_else(|| Trigger::Manual.origin("", 0));
        HistoryEntry {
            seconds: job.ended_at.map(|e| (e - job.started_at).num_milliseconds() as f64 / 1000.0),
            job_id: job.id,
            trigger: origin.trigger,
            version: origin.version,
            mode: job.mode,
            status: job.status,
            started_at: job.started_at,
            ended_at: job.ended_at,
            tables: job.tables,
            files: job.files,
            rows: job.rows,
            bytes: job.bytes,
            error: job.error,
            schema_changes: tables.into_iter().filter(|t| !t.schema_changes.is_empty()).map(|t| TableSchemaChanges { table: t.table, changes: t.schema_changes }).collect(),
        }
    }
}

/// The runs of an extraction, newest first (also those of earlier definitions and removed ones),
/// at most `limit`.
///
/// # Errors
///
/// [`CoreError::Pool`] when the job history cannot be read.
pub async fn extraction_history(pool: &Pool, name: &str, limit: usize) -> Result<Vec<HistoryEntry>, CoreError> {
    Ok(pool.extraction_jobs(name, limit).await?.into_iter().map(HistoryEntry::from_job).collect())
}

/// Removes a saved extraction; its runs stay in the history.
///
/// # Errors
///
/// [`CoreError::Pool`]: [`PoolError::NoSuchExtraction`] for an unknown name,
/// [`PoolError::ExtractionRunning`] while it runs.
pub async fn remove_extraction(pool: &Pool, name: &str) -> Result<(), CoreError> {
    Ok(pool.remove_extraction(name).await?)
}

/// The outcome of one run: the report or the error, and the webhook delivery (if one was due),
/// which a short-lived process (the CLI) may wait for; the run itself never waits for it.
pub struct RunOutcome {
    /// The run's report, or why it failed or did not start.
    pub result: Result<ExtractReport, CoreError>,
    /// The webhook delivery task, if one was due; yields whether it was delivered.
    pub notification: Option<tokio::task::JoinHandle<bool>>,
}

/// Runs a saved extraction now (`mode` overrides the definition's). Refused while another run of
/// it is going. A failed run comes back in [`RunOutcome::result`], not as `Err`.
///
/// # Errors
///
/// As [`get_extraction`]; [`CoreError::Pool`] ([`PoolError::ExtractionRunning`]) while another run
/// holds it.
pub async fn run_extraction(pool: &Pool, name: &str, mode: Option<LoadMode>, progress: Arc<dyn Progress>) -> Result<RunOutcome, CoreError> {
    let extraction = get_extraction(pool, name).await?;
    let holder = uuid::Uuid::new_v4().to_string();
    if !pool.claim_extraction(name, &holder).await? {
        let job = pool.extraction(name).await?.running_job.unwrap_or_default();
        return Err(PoolError::ExtractionRunning { extraction: name.to_string(), job }.into());
    }
    Ok(run_claimed(pool, &extraction, mode, Trigger::Manual, &holder, progress).await)
}

/// Runs an extraction this caller has claimed as `holder`; releases the claim, updates the retry
/// state (scheduled runs and retries) and sends the webhook.
pub(crate) async fn run_claimed(pool: &Pool, extraction: &Extraction, mode: Option<LoadMode>, trigger: Trigger, holder: &str, progress: Arc<dyn Progress>) -> RunOutcome {
    let def = &extraction.definition;
    let mut request = def.request.clone();
    request.mode = extraction.mode(mode);
    let origin = trigger.origin(&extraction.name, extraction.version);
    let previous = pool.extraction_jobs(&extraction.name, 5).await.ok().and_then(|jobs| jobs.into_iter().find(|j| j.status != JobStatus::Skipped));
    let result = match crate::runs::begin(pool, &def.connection, request.clone(), Some(&origin)).await {
        Ok(begun) => crate::runs::execute(pool, begun, progress).await.1,
        Err(e) => {
            // Not started (a table is held by another run): recorded, so the history says why.
            if let Ok(mut job) = pool.start_extraction_job(&def.connection, request.mode, Some(&origin)).await {
                job.status = JobStatus::Failed;
                job.ended_at = Some(Utc::now());
                job.error = Some(e.to_string());
                let _ = pool.finish_job(&job).await;
            }
            Err(e)
        }
    };
    let _ = pool.release_extraction(&extraction.name, holder).await;
    // The job this run wrote (the newest of this extraction that is not a skip record).
    let job = pool.extraction_jobs(&extraction.name, 5).await.ok().and_then(|jobs| jobs.into_iter().find(|j| j.status != JobStatus::Skipped));
    let mut next_retry: Option<DateTime<Utc>> = None;
    match (&result, trigger) {
        (Ok(_), _) => {
            if extraction.retry_at.is_some() || extraction.retry_attempt > 0 {
                let current = pool.extraction(&extraction.name).await.ok();
                let _ = pool.set_extraction_schedule(&extraction.name, current.and_then(|c| c.next_run_at), None, 0).await;
            }
        }
        (Err(_), Trigger::Schedule | Trigger::Retry) => {
            let attempt = if trigger == Trigger::Schedule { 0 } else { extraction.retry_attempt };
            let current = pool.extraction(&extraction.name).await.ok();
            let next_run = current.as_ref().and_then(|c| c.next_run_at);
            if attempt < def.retry.max_retries {
                let at = Utc::now() + def.retry.delay(attempt);
                next_retry = Some(at);
                let _ = pool.set_extraction_schedule(&extraction.name, next_run, Some(at), attempt + 1).await;
            } else {
                let _ = pool.set_extraction_schedule(&extraction.name, next_run, None, 0).await;
                if let Some(mut j) = job.clone() {
                    if def.retry.max_retries > 0 {
                        j.error = Some(format!("{} (failed after {} retries; next try at the next scheduled time)", j.error.unwrap_or_default(), def.retry.max_retries));
                        let _ = pool.finish_job(&j).await;
                    }
                }
            }
        }
        (Err(_), Trigger::Manual) => {}
    }
    let notification = def.webhook.as_ref().and_then(|hook| {
        let failed = result.is_err();
        let recovered = !failed && hook.on_recovery && previous.as_ref().is_some_and(|p| p.status == JobStatus::Failed);
        if !failed && !recovered {
            return None;
        }
        let payload = serde_json::json!({
            "event": if failed { "extraction.failed" } else { "extraction.recovered" },
            "pool": pool.name(),
            "extraction": extraction.name,
            "version": extraction.version,
            "connection": def.connection,
            "trigger": trigger,
            "mode": request.mode.as_str(),
            "job_id": job.as_ref().map(|j| j.id.clone()),
            "started_at": job.as_ref().map(|j| j.started_at),
            "ended_at": job.as_ref().and_then(|j| j.ended_at),
            "error": result.as_ref().err().map(|e| e.to_string()),
            "next_retry_at": next_retry,
        });
        Some(tokio::spawn(crate::webhook::deliver(hook.url.clone(), payload)))
    });
    RunOutcome { result, notification }
}

/// A progress sink for runs nobody watches (scheduled ones).
pub(crate) fn quiet() -> Arc<dyn Progress> {
    Arc::new(NoProgress)
}
