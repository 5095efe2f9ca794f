//! Saved extractions: a definition (opaque versioned JSON here; its shape is lakeport-core's
//! `ExtractionDefinition`) kept in the pool's SQLite with created/updated times and a version
//! that grows with each edit, plus the scheduler's state (next run, retry, the run holding it),
//! so that schedules survive restarts and two runs of one extraction never overlap, also
//! across processes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Row, SqlitePool};

use crate::jobs::{JobOrigin, Trigger};
use crate::pooldir::{job_from_row, parse_time};
use crate::{secrets, validate_identifier, Job, JobStatus, LoadMode, Pool, PoolError};

/// Length of the pool's pseudonymisation key (HMAC-SHA-256 key), in bytes.
pub const PSEUDONYMISATION_KEY_BYTES: usize = 32;

/// One saved extraction as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedExtraction {
    /// Its name: an identifier (as a table name), unique in the pool.
    pub name: String,
    /// The definition (lakeport-core's `ExtractionDefinition` as JSON).
    pub definition: serde_json::Value,
    /// 1 at creation, +1 per edit; each job of the extraction records the version it ran.
    pub version: i64,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When its definition last changed (UTC; the creation time until the first edit).
    pub updated_at: DateTime<Utc>,
    /// When the scheduler runs it next (none without a schedule).
    pub next_run_at: Option<DateTime<Utc>>,
    /// When the scheduler retries a failed run (none unless a retry is pending).
    pub retry_at: Option<DateTime<Utc>>,
    /// Retries made since the last run that succeeded (or gave up).
    pub retry_attempt: u32,
    /// The job running it now, if any.
    pub running_job: Option<String>,
}

/// Adds the columns that tie a job to a saved extraction (and a claim to its process) to a
/// catalog made before they existed.
pub(crate) async fn migrate_jobs(db: &SqlitePool) -> Result<(), PoolError> {
    let jobs = [("extraction", "TEXT"), ("extraction_version", "INTEGER"), ("trigger", "TEXT"), ("process", "TEXT"), ("request", "TEXT")];
    add_columns(db, "lakeport_jobs", &jobs).await?;
    add_columns(db, "lakeport_extractions", &[("running_process", "TEXT")]).await?;
    // Pools made before REST-catalog pools: NULL is the embedded catalog.
    add_columns(db, "lakeport_pools", &[("catalog", "TEXT")]).await
}

async fn add_columns(db: &SqlitePool, table: &str, wanted: &[(&str, &str)]) -> Result<(), PoolError> {
    let columns: Vec<String> = sqlx::query(&format!("SELECT name FROM pragma_table_info('{table}')")).fetch_all(db).await?.iter().map(|r| r.get::<String, _>(0)).collect();
    for (column, ty) in wanted {
        if !columns.iter().any(|c| c == column) {
            // Two processes opening an old catalog at once: the second one's ALTER fails with
            // "duplicate column", which is the state it wanted.
            if let Err(e) = sqlx::query(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}")).execute(db).await {
                if !e.to_string().contains("duplicate column") {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(())
}

/// Errors: [`PoolError::Corrupt`] when the stored definition or a time does not parse.
fn from_row(r: &sqlx::sqlite::SqliteRow) -> Result<SavedExtraction, PoolError> {
    let definition: String = r.get("definition");
    let name: String = r.get("name");
    let what = format!("saved extraction '{name}'");
    let time = |column: &str| -> Result<Option<_>, PoolError> { r.get::<Option<String>, _>(column).map(|t| parse_time(&what, &t)).transpose() };
    Ok(SavedExtraction {
        definition: serde_json::from_str(&definition).map_err(|e| PoolError::corrupt(&what, format_args!("its stored definition does not parse: {e}")))?,
        version: r.get("version"),
        created_at: parse_time(&what, r.get("created_at"))?,
        updated_at: parse_time(&what, r.get("updated_at"))?,
        next_run_at: time("next_run_at")?,
        retry_at: time("retry_at")?,
        retry_attempt: r.get::<i64, _>("retry_attempt").max(0) as u32,
        running_job: r.get("running_job"),
        name,
    })
}

/// Whether the process that claimed a run is still alive (Linux: `/proc/<pid>`; elsewhere it is
/// assumed alive, so a claim is only ever taken over where this can be known).
fn process_alive(pid: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

impl Pool {
    /// Saves a new extraction (version 1). Names are identifiers (as table names), unique per pool.
    ///
    /// # Errors
    ///
    /// [`PoolError::InvalidName`] for a name that is not an identifier;
    /// [`PoolError::ExtractionExists`] for a name already saved; [`PoolError::Database`].
    pub async fn create_extraction(&self, name: &str, definition: &serde_json::Value) -> Result<SavedExtraction, PoolError> {
        validate_identifier("extraction", name)?;
        let now = Utc::now().to_rfc3339();
        let inserted = sqlx::query("INSERT INTO lakeport_extractions (pool, name, definition, version, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)")
            .bind(self.name())
            .bind(name)
            .bind(definition.to_string())
            .bind(&now)
            .bind(&now)
            .execute(self.db())
            .await;
        match inserted {
            Ok(_) => self.extraction(name).await,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(PoolError::ExtractionExists { pool: self.name().to_string(), extraction: name.to_string() }),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces an extraction's definition: the version grows by one.
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchExtraction`]; [`PoolError::Database`]; as [`Pool::extraction`].
    pub async fn update_extraction(&self, name: &str, definition: &serde_json::Value) -> Result<SavedExtraction, PoolError> {
        let done = sqlx::query("UPDATE lakeport_extractions SET definition = ?, version = version + 1, updated_at = ? WHERE pool = ? AND name = ?")
            .bind(definition.to_string())
            .bind(Utc::now().to_rfc3339())
            .bind(self.name())
            .bind(name)
            .execute(self.db())
            .await?;
        if done.rows_affected() == 0 {
            return Err(self.no_such_extraction(name));
        }
        self.extraction(name).await
    }

    /// Every saved extraction of the pool, by name.
    ///
    /// # Errors
    ///
    /// [`PoolError::Corrupt`] naming the first extraction whose stored definition or a time
    /// does not parse; [`PoolError::Database`].
    pub async fn extractions(&self) -> Result<Vec<SavedExtraction>, PoolError> {
        let rows = sqlx::query("SELECT * FROM lakeport_extractions WHERE pool = ? ORDER BY name").bind(self.name()).fetch_all(self.db()).await?;
        rows.iter().map(from_row).collect()
    }

    /// One saved extraction.
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchExtraction`]; as [`Pool::extractions`].
    pub async fn extraction(&self, name: &str) -> Result<SavedExtraction, PoolError> {
        let row = sqlx::query("SELECT * FROM lakeport_extractions WHERE pool = ? AND name = ?").bind(self.name()).bind(name).fetch_optional(self.db()).await?;
        row.map(|r| from_row(&r)).ok_or_else(|| self.no_such_extraction(name))?
    }

    fn no_such_extraction(&self, name: &str) -> PoolError {
        PoolError::NoSuchExtraction { pool: self.name().to_string(), extraction: name.to_string() }
    }

    /// Removes a saved extraction (its jobs stay in the history). Refused while it runs.
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchExtraction`]; [`PoolError::ExtractionRunning`] naming the job that
    /// runs it; [`PoolError::Database`].
    pub async fn remove_extraction(&self, name: &str) -> Result<(), PoolError> {
        let saved = self.extraction(name).await?;
        if let Some(job) = &saved.running_job {
            return Err(PoolError::ExtractionRunning { extraction: name.to_string(), job: job.clone() });
        }
        sqlx::query("DELETE FROM lakeport_extractions WHERE pool = ? AND name = ? AND running_job IS NULL").bind(self.name()).bind(name).execute(self.db()).await?;
        Ok(())
    }

    /// Sets the scheduler's state of an extraction: the next scheduled run, a pending retry and
    /// the retries made so far. An extraction that does not exist is left alone (no error: the
    /// scheduler may race a removal).
    ///
    /// # Errors
    ///
    /// [`PoolError::Database`].
    pub async fn set_extraction_schedule(&self, name: &str, next_run_at: Option<DateTime<Utc>>, retry_at: Option<DateTime<Utc>>, retry_attempt: u32) -> Result<(), PoolError> {
        sqlx::query("UPDATE lakeport_extractions SET next_run_at = ?, retry_at = ?, retry_attempt = ? WHERE pool = ? AND name = ?")
            .bind(next_run_at.map(|t| t.to_rfc3339()))
            .bind(retry_at.map(|t| t.to_rfc3339()))
            .bind(retry_attempt as i64)
            .bind(self.name())
            .bind(name)
            .execute(self.db())
            .await?;
        Ok(())
    }

    /// Claims the extraction for one run (`holder`, e.g. a job id): `false` when another run
    /// holds it. A claim left by a process that died (Linux) is taken over, and the job it was
    /// running is ended as interrupted.
    ///
    /// # Errors
    ///
    /// [`PoolError::Database`]; as [`Pool::extraction`].
    pub async fn claim_extraction(&self, name: &str, holder: &str) -> Result<bool, PoolError> {
        let me = crate::ProcessId::current();
        let pid = i64::from(me.pid);
        let process = serde_json::to_string(&me).expect("a process id serialises");
        let claim = |condition: &'static str, old: Option<String>| {
            let q = format!("UPDATE lakeport_extractions SET running_job = ?, running_pid = ?, running_process = ? WHERE pool = ? AND name = ? AND {condition}");
            let process = process.clone();
            async move {
                let mut q = sqlx::query(&q).bind(holder).bind(pid).bind(process).bind(self.name()).bind(name);
                if let Some(old) = old {
                    q = q.bind(old);
                }
                Ok::<_, PoolError>(q.execute(self.db()).await?.rows_affected() == 1)
            }
        };
        if claim("running_job IS NULL", None).await? {
            return Ok(true);
        }
        let row = sqlx::query("SELECT running_job, running_pid, running_process FROM lakeport_extractions WHERE pool = ? AND name = ?")
            .bind(self.name())
            .bind(name)
            .fetch_optional(self.db())
            .await?;
        let Some(row) = row else { return Err(self.no_such_extraction(name)) };
        let (old, old_pid, old_process): (Option<String>, Option<i64>, Option<String>) = (row.get(0), row.get(1), row.get(2));
        let Some(old) = old else { return claim("running_job IS NULL", None).await };
        // The claimant's whole identity (pid, boot, start time: a reused pid is not it); a claim
        // made before identities were recorded has its pid only.
        let (gone, who) = match old_process {
            Some(p) => {
                let p: crate::ProcessId = serde_json::from_str(&p).map_err(|e| PoolError::corrupt(format!("the claim on extraction '{name}'"), e))?;
                (p.liveness() == crate::Liveness::Gone, p.describe())
            }
            None => (old_pid.is_some_and(|p| p != pid && !process_alive(p)), format!("pid {}", old_pid.unwrap_or_default())),
        };
        if gone && claim("running_job = ?", Some(old.clone())).await? {
            self.mark_interrupted(&old, Utc::now(), &format!("interrupted: the process running it ({who}) ended without finishing it")).await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Ends the claim of `holder` (no-op if another holds it).
    ///
    /// # Errors
    ///
    /// [`PoolError::Database`].
    pub async fn release_extraction(&self, name: &str, holder: &str) -> Result<(), PoolError> {
        sqlx::query("UPDATE lakeport_extractions SET running_job = NULL, running_pid = NULL, running_process = NULL WHERE pool = ? AND name = ? AND running_job = ?")
            .bind(self.name())
            .bind(name)
            .bind(holder)
            .execute(self.db())
            .await?;
        Ok(())
    }

    /// The newest `limit` jobs of one saved extraction, newest first.
    ///
    /// # Errors
    ///
    /// [`PoolError::Corrupt`] for a job row that does not parse; [`PoolError::Database`].
    pub async fn extraction_jobs(&self, name: &str, limit: usize) -> Result<Vec<Job>, PoolError> {
        let rows = sqlx::query("SELECT * FROM lakeport_jobs WHERE pool = ? AND extraction = ? ORDER BY started_at DESC, rowid DESC LIMIT ?")
            .bind(self.name())
            .bind(name)
            .bind(limit as i64)
            .fetch_all(self.db())
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Records a scheduled run that did not start because the extraction was still running: a
    /// job of status [`JobStatus::Skipped`] with `reason` as its error, started and ended now.
    ///
    /// # Errors
    ///
    /// [`PoolError::Database`].
    pub async fn record_skipped_run(&self, connection: &str, mode: LoadMode, origin: &JobOrigin, reason: &str) -> Result<Job, PoolError> {
        let mut job = self.start_extraction_job(connection, mode, Some(origin)).await?;
        job.status = JobStatus::Skipped;
        job.ended_at = Some(job.started_at);
        job.error = Some(reason.to_string());
        self.finish_job(&job).await?;
        Ok(job)
    }

    /// The pool's pseudonymisation key (HMAC-SHA-256), generated at first use and stored with
    /// the secrets (mode 0600); never shown. Survives restarts; dropping the pool deletes it.
    /// [`PSEUDONYMISATION_KEY_BYTES`] bytes.
    ///
    /// # Errors
    ///
    /// [`PoolError::Io`] when the key file cannot be read, written or is damaged (not 64 hex
    /// digits; its content is never put into the message).
    pub fn pseudonymisation_key(&self) -> Result<Vec<u8>, PoolError> {
        secrets::pseudonymisation_key(self.dir_root(), self.name())
    }
}

impl Trigger {
    /// The origin of a run of `extraction` at `version` started by this trigger.
    pub fn origin(self, extraction: &str, version: i64) -> JobOrigin {
        JobOrigin { extraction: extraction.to_string(), version, trigger: self }
    }
}
