//! The reads of one Parquet object: every GET pinned to the listed version, and a row group's
//! column chunks fetched as several ranged GETs at once.
//!
//! A Parquet object is read in several GETs (the footer, then the column chunks of each row
//! group), so an object rewritten between two of them would mix two versions: the footer of one,
//! pages of the other. Every GET here carries `If-Match` with the ETag the object was listed with
//! (as `S3Source::read_stream` does for text ranges); S3 answers a rewritten object with 412
//! PreconditionFailed, object_store's `Precondition` error, and the read fails instead of mixing.
//! An object listed without an ETag has nothing to pin to and is read unpinned.
//!
//! parquet's `ParquetObjectReader` hands the column chunks a row group needs to object_store's
//! `get_ranges`, which merges ranges less than 1 MiB apart into one GET (object_store 0.13
//! `coalesce_ranges`, no cap on the merged size). A row group's chunks lie side by side, so a
//! whole row group (12 MB in the benchmark's file) arrives as one GET. One S3 connection carries
//! roughly 80–100 MB/s, so on real S3 that one GET is the load's critical path; parallel ranges
//! are how S3 is meant to be read fast (AWS's S3 performance guidelines), as
//! `S3Source::read_stream` does for text. Here the chunks are still merged, but only up to an even
//! share of what the call asks for, so the bytes come in up to `parallel` GETs at once.
//!
//! Neither object_store's `get_ranges` nor `ParquetObjectReader` takes GET options (`If-Match`)
//! or a cap on a merged range, so this is the smallest piece on top of them: the parquet crate's
//! reader trait (`AsyncFileReader`) over object_store's `get_opts`, its footer read by the parquet
//! crate's `ParquetMetaDataReader` as `ParquetObjectReader` does it (with a footer size hint).

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, ObjectStore, OBJECT_STORE_COALESCE_DEFAULT};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::Result;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

/// The smallest share one GET is given (bytes): below 1 MiB a GET's first-byte latency costs more
/// than the parallel transfer saves.
const MIN_SHARE: u64 = 1 << 20;

/// The bytes at the end of a Parquet object read for its footer at first: 64 KiB, Arrow C++'s
/// default footer read size; a bigger footer costs a second GET.
const FOOTER_HINT: usize = 64 << 10;

/// One version of an object: `path` in `store`, `size` bytes, listed with `etag`. Every read
/// through it is pinned to that ETag (`If-Match`) where there is one.
pub(crate) struct ObjectVersion {
    pub store: Arc<dyn ObjectStore>,
    pub path: Path,
    pub size: u64,
    pub etag: Option<String>,
}

impl ObjectVersion {
    /// The bytes `range` of this version: one GET.
    ///
    /// # Errors
    /// object_store's error of the GET: `Precondition` when the object is no longer this version
    /// (S3's 412 to `If-Match`), `NotFound` when it is gone, others for a failed transfer.
    pub(crate) async fn get_range(&self, range: Range<u64>) -> object_store::Result<Bytes> {
        let options = GetOptions { range: Some(range.into()), if_match: self.etag.clone(), ..GetOptions::default() };
        self.store.get_opts(&self.path, options).await?.bytes().await
    }
}

/// A Parquet object version read for the parquet crate, with the column chunks of each call
/// spread over up to `parallel` GETs in flight.
pub(crate) struct ParallelRanges {
    object: Arc<ObjectVersion>,
    parallel: usize,
}

impl ParallelRanges {
    /// Reads of `object`, its chunks fetched by up to `parallel` GETs at once (1 or 0: one at a
    /// time, ranges less than 1 MiB apart merged as object_store's `get_ranges` does). The footer
    /// is read with one GET of the last [`FOOTER_HINT`] bytes where it fits in them, instead of
    /// the length first and the footer then (one first-byte latency less per file).
    pub(crate) fn new(object: Arc<ObjectVersion>, parallel: usize) -> Self {
        ParallelRanges { object, parallel: parallel.max(1) }
    }
}

impl AsyncFileReader for ParallelRanges {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, Result<Bytes>> {
        let object = self.object.clone();
        async move { Ok(object.get_range(range).await?) }.boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        let fetches = plan(&ranges, self.parallel);
        let (object, parallel) = (self.object.clone(), self.parallel);
        async move {
            let fetched: Vec<Bytes> = futures::stream::iter(fetches.clone())
                .map(|range| {
                    let object = object.clone();
                    async move { object.get_range(range).await }
                })
                .buffered(parallel)
                .try_collect()
                .await?;
            // Each asked range lies whole inside one fetch (`plan`): a slice of it, no copy.
            Ok(ranges
                .iter()
                .map(|r| {
                    if r.start >= r.end {
                        return Bytes::new();
                    }
                    let i = fetches.partition_point(|f| f.start <= r.start) - 1;
                    let start = fetches[i].start;
                    fetched[i].slice((r.start - start) as usize..(r.end - start) as usize)
                })
                .collect())
        }
        .boxed()
    }

    /// The footer, read as `ParquetObjectReader::get_metadata` (parquet 58) reads it: `options`'
    /// metadata options and page index policies (without options no page index, the reader's
    /// default `Skip`), with the footer size hint.
    fn get_metadata<'a>(&'a mut self, options: Option<&'a ArrowReaderOptions>) -> BoxFuture<'a, Result<Arc<ParquetMetaData>>> {
        async move {
            let mut reader = ParquetMetaDataReader::new().with_metadata_options(options.map(|o| o.metadata_options().clone())).with_prefetch_hint(Some(FOOTER_HINT));
            if let Some(o) = options {
                reader = reader.with_column_index_policy(o.column_index_policy()).with_offset_index_policy(o.offset_index_policy());
            }
            let size = self.object.size;
            Ok(Arc::new(reader.load_and_finish(self, size).await?))
        }
        .boxed()
    }
}

/// The GETs for `ranges` (byte ranges of one object): sorted by start, sorted ranges at most
/// object_store's `OBJECT_STORE_COALESCE_DEFAULT` (1 MiB) apart merged, as its `get_ranges`
/// does, but only while the merged GET stays within an even share of the bytes asked for (their
/// sum / `parallel`, at least [`MIN_SHARE`]); overlapping ranges are always merged.
/// Every asked range that is not empty lies whole inside exactly one GET (an empty one needs none),
/// and the GETs do not overlap.
fn plan(ranges: &[Range<u64>], parallel: usize) -> Vec<Range<u64>> {
    let mut sorted: Vec<Range<u64>> = ranges.iter().filter(|r| r.start < r.end).cloned().collect();
    sorted.sort_unstable_by_key(|r| r.start);
    let asked: u64 = sorted.iter().map(|r| r.end - r.start).sum();
    let share = (asked / parallel.max(1) as u64).max(MIN_SHARE);
    let mut fetches: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match fetches.last_mut() {
            Some(last) if r.start < last.end || (r.start - last.end <= OBJECT_STORE_COALESCE_DEFAULT && r.end.max(last.end) - last.start <= share) => {
                last.end = last.end.max(r.end);
            }
            _ => fetches.push(r),
        }
    }
    fetches
}

#[cfg(test)]
mod tests {
    use super::{plan, MIN_SHARE};

    const MIB: u64 = 1 << 20;

    /// Each asked range that is not empty inside exactly one GET, the GETs disjoint and sorted.
    fn check(ranges: &[std::ops::Range<u64>], fetches: &[std::ops::Range<u64>]) {
        assert!(fetches.windows(2).all(|w| w[0].end <= w[1].start), "GETs overlap or are unsorted: {fetches:?}");
        assert!(fetches.iter().all(|f| f.start < f.end), "an empty GET: {fetches:?}");
        for r in ranges.iter().filter(|r| r.start < r.end) {
            let holding = fetches.iter().filter(|f| f.start <= r.start && r.end <= f.end).count();
            assert_eq!(holding, 1, "{r:?} lies in {holding} GETs of {fetches:?}");
        }
    }

    #[test]
    fn a_row_group_of_adjacent_chunks_is_spread_over_the_gets() {
        // Ten column chunks of 1.2 MiB side by side, as a row group holds them.
        let chunks: Vec<_> = (0..10u64).map(|i| (4 + i * 12 * MIB / 10)..(4 + (i + 1) * 12 * MIB / 10)).collect();
        for parallel in [2, 4, 8] {
            let fetches = plan(&chunks, parallel);
            check(&chunks, &fetches);
            // No GET beyond a share (or one chunk, where a chunk is bigger), and at least half
            // as many GETs as may run at once.
            let biggest = fetches.iter().map(|f| f.end - f.start).max().unwrap();
            let chunk = chunks.iter().map(|c| c.end - c.start).max().unwrap();
            assert!(biggest <= (12 * MIB / parallel as u64).max(MIN_SHARE).max(chunk), "parallel {parallel}: {fetches:?}");
            assert!(fetches.len() >= parallel / 2, "parallel {parallel}: only {} GETs", fetches.len());
        }
        // One GET at a time: everything adjacent merges, as object_store's coalescing does.
        assert_eq!(plan(&chunks, 1), vec![4..4 + 12 * MIB]);
    }

    #[test]
    fn small_far_apart_overlapping_and_empty_ranges_each_land_in_one_get() {
        let cases: Vec<Vec<std::ops::Range<u64>>> = vec![
            vec![],
            vec![0..10],
            vec![100..200, 0..50, 60..70],              // unsorted, close: one GET
            vec![0..10, 5 * MIB..5 * MIB + 10],         // far apart: two GETs
            vec![0..3 * MIB, MIB..2 * MIB, 2 * MIB..4 * MIB], // overlapping and inside another
            vec![10..10, 10..20, 30 * MIB..30 * MIB],   // empty ones
            vec![0..8 * MIB, 8 * MIB..16 * MIB],        // each beyond a share: one GET each
        ];
        for ranges in &cases {
            for parallel in [1, 2, 8] {
                check(ranges, &plan(ranges, parallel));
            }
        }
        assert_eq!(plan(&cases[2], 8), vec![0..200]);
        assert_eq!(plan(&cases[5], 8), vec![10..20]);
        assert_eq!(plan(&cases[3], 8).len(), 2);
        assert_eq!(plan(&cases[6], 2).len(), 2);
    }
}
