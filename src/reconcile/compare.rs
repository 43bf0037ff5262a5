//! Comparing what the store lists with what PostgreSQL holds, one record at a time from two
//! streams in version order. A record and its row meet when both have been seen; until then
//! each waits in a map of its side, so memory follows the differences and how far the streams
//! run apart, never the entity's size. Pure code.
//!
//! The comparison is exact while the store keeps changing: PostgreSQL is compared up to its
//! applied version `A`, and the store's records are compared only at versions up to `A`. A
//! record the store changed after `A` is listed at its new version; its row (at an older
//! version) is then not a difference but the next sync's work, so such ids are remembered
//! (`changed_since`) and their rows excused.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;

/// How many example ids of each kind are reported.
pub const EXAMPLES: usize = 10;

/// A record or row reduced to what is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub id: String,
    pub version: i64,
    pub deleted: bool,
}

/// What differs in one entity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Differences {
    /// Store records compared (at versions up to the applied one).
    pub checked: u64,
    /// In the store, not in PostgreSQL.
    pub missing: u64,
    /// PostgreSQL holds another version than the store, or its children differ.
    pub stale: u64,
    /// Live in PostgreSQL, absent or deleted in the store.
    pub extra: u64,
    pub examples: Examples,
    /// The lowest store version among the missing and stale records: a repair fetches again
    /// from just below it.
    #[serde(skip)]
    pub refetch_from: Option<i64>,
    /// Every extra row's id: a repair marks them deleted.
    #[serde(skip)]
    pub extra_ids: Vec<String>,
    /// Every missing or stale record's id.
    #[serde(skip)]
    pub differing_ids: Vec<String>,
    /// Every stale record's id: a repair removes them before fetching them again.
    #[serde(skip)]
    pub stale_ids: Vec<String>,
}

/// Up to `EXAMPLES` ids of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Examples {
    pub missing: Vec<String>,
    pub stale: Vec<String>,
    pub extra: Vec<String>,
}

impl Differences {
    pub fn total(&self) -> u64 {
        self.missing + self.stale + self.extra
    }
}

/// One entity's comparison in progress.
#[derive(Debug)]
pub struct Comparison {
    applied: i64,
    /// Whether stored versions are the records' own (else only presence and deletion are
    /// compared: versions of records without one are the page's).
    versions_comparable: bool,
    store_waiting: HashMap<String, Seen>,
    row_waiting: HashMap<String, Seen>,
    changed_since: HashSet<String>,
    children_differ: BTreeSet<(String, i64)>,
    counted: HashSet<String>,
    found: Differences,
}

impl Comparison {
    pub fn new(applied: i64, versions_comparable: bool) -> Comparison {
        Comparison {
            applied,
            versions_comparable,
            store_waiting: HashMap::new(),
            row_waiting: HashMap::new(),
            changed_since: HashSet::new(),
            children_differ: BTreeSet::new(),
            counted: HashSet::new(),
            found: Differences::default(),
        }
    }

    /// A record as the store lists it now.
    pub fn store(&mut self, record: Seen) {
        if record.version > self.applied {
            self.changed_since.insert(record.id);
            return;
        }
        self.found.checked += 1;
        match self.row_waiting.remove(&record.id) {
            Some(row) => self.meet(record, row),
            None => {
                self.store_waiting.insert(record.id.clone(), record);
            }
        }
    }

    /// A row of PostgreSQL (at a version up to the applied one).
    pub fn row(&mut self, row: Seen) {
        match self.store_waiting.remove(&row.id) {
            Some(record) => self.meet(record, row),
            None => {
                self.row_waiting.insert(row.id.clone(), row);
            }
        }
    }

    /// The children in PostgreSQL of the record `id` (listed at `version`) are not the ones
    /// the store lists.
    pub fn children_differ(&mut self, id: String, version: i64) {
        self.children_differ.insert((id, version));
    }

    fn meet(&mut self, record: Seen, row: Seen) {
        let same = record.deleted == row.deleted
            && (!self.versions_comparable || record.version == row.version);
        if !same {
            self.stale(record.id, record.version);
        }
    }

    fn stale(&mut self, id: String, version: i64) {
        if !self.counted.insert(id.clone()) {
            return;
        }
        self.found.stale += 1;
        self.lower_refetch(version);
        self.found.differing_ids.push(id.clone());
        self.found.stale_ids.push(id.clone());
        push_example(&mut self.found.examples.stale, id);
    }

    fn lower_refetch(&mut self, version: i64) {
        self.found.refetch_from = Some(self.found.refetch_from.map_or(version, |v| v.min(version)));
    }

    /// The differences, once both streams are exhausted.
    pub fn finish(mut self) -> Differences {
        let mut waiting: Vec<Seen> = self.store_waiting.drain().map(|(_, seen)| seen).collect();
        waiting.sort_by(|a, b| (a.version, &a.id).cmp(&(b.version, &b.id)));
        for record in waiting {
            self.counted.insert(record.id.clone());
            self.found.missing += 1;
            self.lower_refetch(record.version);
            self.found.differing_ids.push(record.id.clone());
            push_example(&mut self.found.examples.missing, record.id);
        }
        let mut rows: Vec<Seen> = self.row_waiting.drain().map(|(_, seen)| seen).collect();
        rows.sort_by(|a, b| (a.version, &a.id).cmp(&(b.version, &b.id)));
        for row in rows {
            if row.deleted || self.changed_since.contains(&row.id) {
                continue;
            }
            self.found.extra += 1;
            push_example(&mut self.found.examples.extra, row.id.clone());
            self.found.extra_ids.push(row.id);
        }
        let children: Vec<(String, i64)> = std::mem::take(&mut self.children_differ)
            .into_iter()
            .collect();
        for (id, version) in children {
            self.stale(id, version);
        }
        self.found
    }
}

fn push_example(examples: &mut Vec<String>, id: String) {
    if examples.len() < EXAMPLES {
        examples.push(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(id: &str, version: i64, deleted: bool) -> Seen {
        Seen {
            id: id.into(),
            version,
            deleted,
        }
    }

    #[test]
    fn each_kind_of_difference_is_counted_once_with_examples() {
        let mut comparison = Comparison::new(100, true);
        comparison.store(seen("same", 10, false));
        comparison.row(seen("same", 10, false));
        comparison.store(seen("missing", 20, false));
        comparison.row(seen("stale", 15, false));
        comparison.store(seen("stale", 30, false));
        comparison.row(seen("extra", 40, false));
        comparison.row(seen("deleted-here", 41, true));
        comparison.store(seen("deleted-there", 50, true));
        comparison.row(seen("deleted-there", 50, false));
        // Changed after the applied version: its old row is the next sync's work.
        comparison.row(seen("moved", 60, false));
        comparison.store(seen("moved", 120, false));
        comparison.store(seen("lines", 70, false));
        comparison.row(seen("lines", 70, false));
        comparison.children_differ("lines".into(), 70);
        let found = comparison.finish();
        assert_eq!(
            found.checked, 5,
            "the record changed after the applied version is not compared"
        );
        assert_eq!((found.missing, found.stale, found.extra), (1, 3, 1));
        assert_eq!(found.examples.missing, vec!["missing"]);
        assert_eq!(
            found.examples.stale,
            vec!["stale", "deleted-there", "lines"]
        );
        assert_eq!(found.examples.extra, vec!["extra"]);
        assert_eq!(found.extra_ids, vec!["extra"]);
        assert_eq!(found.refetch_from, Some(20));
    }

    #[test]
    fn without_own_versions_only_presence_and_deletion_count() {
        let mut comparison = Comparison::new(100, false);
        comparison.store(seen("a", 90, false));
        comparison.row(seen("a", 35, false));
        assert_eq!(comparison.finish().total(), 0);
    }
}
