//! Splitting one extraction's objects across N workers (`lakeport extract … --shard I/N`).
//!
//! Each worker lists the same items and keeps the objects whose key falls into its shard; the
//! shards of 0..N are disjoint and together hold every key, whatever the listing order, so N
//! workers — processes on any machines, scheduled by any engine — load each object exactly once.
//! Each worker commits its own delta appends; the table's ledger and the commit retry
//! (`lakeport_pool::TableWriter::commit`) keep several workers' commits of one table exact.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ExtractError;

/// Shard `index` of `count` (`0 ≤ index < count`): the objects whose key hashes to `index`
/// ([`Shard::of`]). JSON: `{"index": 0, "count": 4}`; CLI: `0/4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Shard {
    /// This worker's shard, from 0.
    pub index: u32,
    /// How many shards (workers) there are, at least 1.
    pub count: u32,
}

impl Shard {
    /// Shard `index` of `count`.
    ///
    /// # Errors
    ///
    /// [`ExtractError::InvalidShard`] unless `0 ≤ index < count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, ExtractError> {
        let shard = Shard { index, count };
        shard.validate()?;
        Ok(shard)
    }

    /// Reads `I/N` (e.g. `0/4`).
    ///
    /// # Errors
    ///
    /// [`ExtractError::InvalidShard`] for text that is not two whole numbers `I/N` with
    /// `0 ≤ I < N`.
    pub fn parse(text: &str) -> Result<Shard, ExtractError> {
        let invalid = || ExtractError::InvalidShard(format!("'{text}': not I/N (two whole numbers with 0 ≤ I < N, e.g. 0/4 for the first of 4 workers)"));
        let (i, n) = text.trim().split_once('/').ok_or_else(invalid)?;
        let (i, n) = (i.trim().parse::<u32>().map_err(|_| invalid())?, n.trim().parse::<u32>().map_err(|_| invalid())?);
        Shard::new(i, n)
    }

    /// Checks `0 ≤ index < count` (a shard read from JSON is checked here).
    ///
    /// # Errors
    ///
    /// [`ExtractError::InvalidShard`] naming both numbers.
    pub fn validate(&self) -> Result<(), ExtractError> {
        if self.count == 0 {
            return Err(ExtractError::InvalidShard(format!("{}/0: there must be at least 1 shard", self.index)));
        }
        if self.index >= self.count {
            return Err(ExtractError::InvalidShard(format!("{}/{}: the shard index counts from 0 and must be below the number of shards ({})", self.index, self.count, self.count)));
        }
        Ok(())
    }

    /// The shard of `key` among `count` (at least 1): the first 8 bytes of the SHA-256 of the
    /// key's UTF-8 bytes (exactly as listed), read as a big-endian unsigned integer, modulo
    /// `count`. Stable across runs, machines and lakeport versions (any tool can compute it).
    pub fn of(key: &str, count: u32) -> u32 {
        let digest = Sha256::digest(key.as_bytes());
        let head = u64::from_be_bytes(digest[..8].try_into().expect("SHA-256 has 32 bytes"));
        (head % u64::from(count.max(1))) as u32
    }

    /// Whether `key` is in this shard.
    pub fn contains(&self, key: &str) -> bool {
        Shard::of(key, self.count) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::Shard;
    use std::collections::HashSet;

    #[test]
    fn the_shards_of_n_are_disjoint_and_cover_every_key() {
        let keys: Vec<String> = (0..5000).map(|i| format!("events/2026/11/part-{i:05}.csv")).chain(["", "ä/ü.json", "a b/c", "x"].map(String::from)).collect();
        for n in [1u32, 2, 3, 4, 7, 16] {
            let shards: Vec<Shard> = (0..n).map(|i| Shard::new(i, n).unwrap()).collect();
            let mut seen = HashSet::new();
            for key in &keys {
                let holders: Vec<&Shard> = shards.iter().filter(|s| s.contains(key)).collect();
                assert_eq!(holders.len(), 1, "key {key:?} is in {holders:?} of {n}");
                seen.insert(key.clone());
            }
            assert_eq!(seen.len(), keys.len());
            // Every shard gets a fair part of many keys (a hash, not a prefix).
            for s in &shards {
                let share = keys.iter().filter(|k| s.contains(k)).count() as f64 / keys.len() as f64;
                assert!((share - 1.0 / n as f64).abs() < 0.3 / n as f64, "shard {s} holds {share} of the keys");
            }
        }
    }

    #[test]
    fn the_hash_is_stable() {
        // Pinned (computed with Python's hashlib: SHA-256("a.csv") begins with 32f29f33d51165a6),
        // so workers of different versions, and other tools, agree on the split.
        assert_eq!(Shard::of("a.csv", 1), 0);
        let pinned: Vec<u32> = ["a.csv", "b.csv", "raw/part-00001.parquet"].iter().map(|k| Shard::of(k, 1000)).collect();
        assert_eq!(pinned, vec![174, 270, 304]);
    }

    #[test]
    fn shard_text_is_checked() {
        assert_eq!(Shard::parse("0/4").unwrap(), Shard { index: 0, count: 4 });
        assert_eq!(Shard::parse(" 3 / 4 ").unwrap().to_string(), "3/4");
        for bad in ["4/4", "5/4", "0/0", "-1/4", "1", "a/4", "1/b", "1/2/3", ""] {
            let err = Shard::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid shard"), "{bad}: {err}");
        }
    }
}
