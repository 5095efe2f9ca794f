/// Receives progress of an extraction (a terminal progress bar, a server's job status…).
/// All methods have empty defaults; they are called from several tasks at once.
pub trait Progress: Send + Sync {
    /// A table is about to load `files` objects of `bytes` bytes in total.
    fn table_started(&self, _table: &str, _files: usize, _bytes: u64) {}
    /// One object has been read completely.
    fn file_done(&self, _table: &str, _key: &str, _rows: u64, _bytes: u64) {}
    /// The table has been committed (or skipped).
    fn table_done(&self, _table: &str, _rows: u64) {}
    /// Something worth telling the user (a fallback, a skipped file…).
    fn note(&self, _message: &str) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;
impl Progress for NoProgress {}
