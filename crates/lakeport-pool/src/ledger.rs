//! The delta ledger: which object versions (key + ETag) a table holds.
//!
//! It lives in the snapshot summaries of the table itself, written in the same commit as the data,
//! so the data and the record of what was loaded can never disagree (a crash before the commit
//! leaves both unchanged; after it, both are there). Reading walks the current snapshot's ancestry
//! back to and including the last full load.

use std::collections::{BTreeMap, HashMap};

use iceberg::spec::TableMetadata;
use serde::{Deserialize, Serialize};

pub(crate) const PROP_LOAD: &str = "lakeport.load";
pub(crate) const PROP_OBJECTS: &str = "lakeport.objects";
pub(crate) const PROP_JOB: &str = "lakeport.job";

/// One object version loaded into a table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadedObject {
    pub key: String,
    pub version: String,
}

/// Object key → version for everything the table's current state was loaded from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    pub objects: BTreeMap<String, String>,
}

impl Ledger {
    pub fn contains(&self, key: &str, version: &str) -> bool {
        self.objects.get(key).is_some_and(|v| v == version)
    }

    pub fn version_of(&self, key: &str) -> Option<&str> {
        self.objects.get(key).map(String::as_str)
    }

    pub(crate) fn from_metadata(metadata: &TableMetadata) -> Ledger {
        let mut objects = BTreeMap::new();
        let mut next = metadata.current_snapshot().cloned();
        while let Some(snapshot) = next {
            let props: &HashMap<String, String> = &snapshot.summary().additional_properties;
            if let Some(list) = props.get(PROP_OBJECTS) {
                if let Ok(loaded) = serde_json::from_str::<Vec<(String, String)>>(list) {
                    // Newer snapshots win: only fill keys not seen yet while walking back in time.
                    for (k, v) in loaded {
                        objects.entry(k).or_insert(v);
                    }
                }
            }
            if props.get(PROP_LOAD).map(String::as_str) == Some("full") {
                break;
            }
            next = snapshot.parent_snapshot_id().and_then(|id| metadata.snapshot_by_id(id).cloned());
        }
        Ledger { objects }
    }

    pub(crate) fn encode(objects: &[LoadedObject]) -> String {
        let pairs: Vec<(&str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.version.as_str())).collect();
        serde_json::to_string(&pairs).expect("strings serialise")
    }
}
