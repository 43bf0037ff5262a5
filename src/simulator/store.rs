//! The simulated retailer: a seeded, generated store of any size whose records are rendered on
//! demand from (seed, index, revision), with the per-record state that changes over time
//! (version, revision, soft delete, void) and a version index for paging. No I/O.

use serde::Serialize;
use serde_json::Value;

mod changes;

pub use changes::{Changed, MutationCounts};

use super::reference::{consignment_line_ids, record_key, reference_count};
use crate::entity::{Entity, VersionSource};

/// Where the sixteen further entities start in `Entity::ALL`.
const FIRST_OTHER: usize = 5;

/// The first version handed out: in the tens of billions, as real retailers' counters are.
pub(crate) const FIRST_VERSION: i64 = 40_000_000_000;
/// Versions grow by 1 to this many per change, so gaps are normal.
const MAX_VERSION_STEP: u64 = 3;

/// How big a store to generate.
#[derive(Debug, Clone, Serialize)]
pub struct StoreShape {
    pub seed: u64,
    pub outlets: u32,
    pub products: u32,
    pub customers: u32,
    pub sales: u32,
    pub registers: u32,
}

impl Default for StoreShape {
    fn default() -> Self {
        StoreShape {
            seed: 1,
            outlets: 3,
            products: 200,
            customers: 200,
            sales: 1000,
            registers: 1,
        }
    }
}

/// Per-record state of one entity, plus the version index used for paging.
#[derive(Debug, Default)]
struct Table {
    versions: Vec<i64>,
    revisions: Vec<u16>,
    deleted: Vec<bool>,
    /// (version, index) in ascending version; an entry is stale once the record moved on.
    order: Vec<(i64, u32)>,
}

impl Table {
    fn push(&mut self, version: i64) {
        let index = self.versions.len() as u32;
        self.versions.push(version);
        self.revisions.push(0);
        self.deleted.push(false);
        self.order.push((version, index));
    }

    fn touch(&mut self, index: u32, version: i64) {
        let slot = index as usize;
        self.versions[slot] = version;
        self.revisions[slot] = self.revisions[slot].wrapping_add(1);
        self.order.push((version, index));
    }

    fn len(&self) -> u32 {
        self.versions.len() as u32
    }
}

/// What one record looked like at the moment a page was cut: enough to render it later.
#[derive(Debug, Clone, Copy)]
pub struct RecordSnapshot {
    pub entity: Entity,
    pub index: u32,
    pub version: i64,
    pub revision: u16,
    pub deleted: bool,
    pub voided: bool,
    pub line_revision: u16,
}

/// The whole simulated store.
#[derive(Debug)]
pub struct Store {
    shape: StoreShape,
    last_version: i64,
    rng_state: u64,
    outlets: Table,
    products: Table,
    customers: Table,
    inventory: Table,
    sales: Table,
    /// The sixteen further entities, by `tag() - 6`.
    others: Vec<Table>,
    sale_voided: Vec<bool>,
    sale_line_revision: Vec<u16>,
    /// Consignment index by id, for `/consignments/{id}/products` (built on first use;
    /// consignments are never added after generation).
    consignment_by_id: std::sync::OnceLock<std::collections::HashMap<String, u32>>,
}

impl Store {
    /// Generates a store of `shape`. Linear in its size; a million sales take well under a second.
    pub fn generate(shape: StoreShape) -> Store {
        let mut store = Store {
            rng_state: mix(shape.seed ^ 0x5eed),
            shape,
            last_version: FIRST_VERSION,
            outlets: Table::default(),
            products: Table::default(),
            customers: Table::default(),
            inventory: Table::default(),
            sales: Table::default(),
            others: Vec::new(),
            sale_voided: Vec::new(),
            sale_line_revision: Vec::new(),
            consignment_by_id: std::sync::OnceLock::new(),
        };
        let outlets = store.shape.outlets.max(1);
        store.shape.outlets = outlets;
        for _ in 0..outlets {
            let version = store.next_version();
            store.outlets.push(version);
        }
        for _ in 0..store.shape.products {
            let version = store.next_version();
            store.products.push(version);
        }
        for _ in 0..store.shape.customers {
            let version = store.next_version();
            store.customers.push(version);
        }
        for _ in 0..(store.shape.products as u64 * outlets as u64) {
            let version = store.next_version();
            store.inventory.push(version);
        }
        for _ in 0..store.shape.sales {
            store.push_sale();
        }
        for entity in &Entity::ALL[FIRST_OTHER..] {
            let mut table = Table::default();
            for _ in 0..reference_count(*entity, &store.shape) {
                table.push(store.next_version());
            }
            store.others.push(table);
        }
        store
    }

    pub fn shape(&self) -> &StoreShape {
        &self.shape
    }

    fn push_sale(&mut self) {
        let version = self.next_version();
        self.sales.push(version);
        self.sale_voided.push(false);
        self.sale_line_revision.push(0);
    }

    fn next_random(&mut self) -> u64 {
        self.rng_state = mix(self.rng_state.wrapping_add(0x9E37_79B9_7F4A_7C15));
        self.rng_state
    }

    fn next_version(&mut self) -> i64 {
        let step = 1 + self.next_random() % MAX_VERSION_STEP;
        self.last_version += step as i64;
        self.last_version
    }

    fn table(&self, entity: Entity) -> &Table {
        match entity {
            Entity::Outlets => &self.outlets,
            Entity::Products => &self.products,
            Entity::Customers => &self.customers,
            Entity::Inventory => &self.inventory,
            Entity::Sales => &self.sales,
            other => &self.others[other.tag() as usize - 1 - FIRST_OTHER],
        }
    }

    /// The records of `entity` with `after < version < before`, ascending, at most `limit`.
    /// Soft-deleted records are left out unless `include_deleted`.
    pub fn page(
        &self,
        entity: Entity,
        after: i64,
        before: Option<i64>,
        limit: usize,
        include_deleted: bool,
    ) -> Vec<RecordSnapshot> {
        let table = self.table(entity);
        let start = table
            .order
            .partition_point(|(version, _)| *version <= after);
        let mut page = Vec::with_capacity(limit.min(4096));
        for &(version, index) in &table.order[start..] {
            if page.len() >= limit || before.is_some_and(|before| version >= before) {
                break;
            }
            let slot = index as usize;
            if table.versions[slot] != version {
                continue;
            }
            if table.deleted[slot] && !include_deleted {
                continue;
            }
            page.push(self.snapshot(entity, index));
        }
        page
    }

    fn snapshot(&self, entity: Entity, index: u32) -> RecordSnapshot {
        let table = self.table(entity);
        let slot = index as usize;
        let is_sale = entity == Entity::Sales;
        RecordSnapshot {
            entity,
            index,
            version: table.versions[slot],
            revision: table.revisions[slot],
            deleted: table.deleted[slot],
            voided: is_sale && self.sale_voided[slot],
            line_revision: if is_sale {
                self.sale_line_revision[slot]
            } else {
                0
            },
        }
    }

    /// The consignment with `id` as it is now, if there is one.
    pub fn consignment(&self, id: &str) -> Option<RecordSnapshot> {
        let by_id = self.consignment_by_id.get_or_init(|| {
            (0..self.table(Entity::Consignments).len())
                .map(|index| {
                    (
                        record_id(self.shape.seed, Entity::Consignments, index),
                        index,
                    )
                })
                .collect()
        });
        let index = *by_id.get(id)?;
        Some(self.snapshot(Entity::Consignments, index))
    }

    /// The ground truth: every record's id, version and deleted flag, and each sale's status
    /// and line item ids.
    pub fn expected(&self) -> Value {
        let mut entities = serde_json::Map::new();
        for entity in Entity::ALL {
            let table = self.table(entity);
            let records: Vec<Value> = (0..table.len())
                .map(|index| {
                    let snapshot = self.snapshot(entity, index);
                    let mut record = serde_json::json!({
                        "id": record_key(self.shape.seed, entity, index, &self.shape),
                        "version": snapshot.version,
                        "deleted": snapshot.deleted,
                    });
                    if entity.spec().version == VersionSource::OwnOrPageMax {
                        // Stored with the version.max of the page that carried it.
                        record["version_is_page_max"] = true.into();
                    }
                    if entity.spec().is_refreshed() {
                        // Stored with the generation of the refresh that last changed it; a
                        // record deleted before any refresh listed it is never stored.
                        record["version_is_page_max"] = true.into();
                        record["absent_when_deleted"] = true.into();
                    }
                    if entity == Entity::Sales {
                        record["status"] = sale_status(self.shape.seed, &snapshot).into();
                        record["line_item_ids"] = line_item_ids(self.shape.seed, &snapshot).into();
                        record["payment_ids"] = vec![payment_id(self.shape.seed, &snapshot)].into();
                    }
                    if entity == Entity::Consignments {
                        record["line_ids"] =
                            consignment_line_ids(self.shape.seed, &snapshot).into();
                    }
                    record
                })
                .collect();
            entities.insert(entity.name().to_string(), Value::Array(records));
        }
        serde_json::json!({ "last_version": self.last_version, "entities": entities })
    }

    /// How many records each entity has now (including soft-deleted ones).
    pub fn counts(&self) -> Vec<(Entity, u32)> {
        Entity::ALL
            .into_iter()
            .map(|entity| (entity, self.table(entity).len()))
            .collect()
    }
}

pub(crate) use super::ids::{
    hash, line_item_count, line_item_ids, mix, opaque_id, payment_id, record_id, sale_status,
    write_opaque_id,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Store {
        Store::generate(StoreShape {
            seed: 7,
            outlets: 2,
            products: 10,
            customers: 10,
            sales: 20,
            registers: 1,
        })
    }

    #[test]
    fn versions_are_above_2_31_ascending_and_shared() {
        let store = small();
        let mut all: Vec<i64> = Entity::ALL
            .into_iter()
            .flat_map(|e| store.page(e, 0, None, usize::MAX, true))
            .map(|s| s.version)
            .collect();
        assert!(all.iter().all(|v| *v > i64::from(i32::MAX)));
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "versions are unique across entities");
        assert_eq!(
            store
                .page(Entity::Inventory, 0, None, usize::MAX, true)
                .len(),
            20
        );
    }

    #[test]
    fn paging_is_exclusive_and_bounded() {
        let store = small();
        let all = store.page(Entity::Sales, 0, None, usize::MAX, true);
        let after = all[4].version;
        let page = store.page(Entity::Sales, after, Some(all[9].version), 100, true);
        assert_eq!(page.len(), 4);
        assert_eq!(page[0].version, all[5].version);
    }

    #[test]
    fn mutations_move_records_to_the_end_and_deleted_rows_need_the_flag() {
        let mut store = small();
        let before = store
            .page(Entity::Products, 0, None, usize::MAX, true)
            .len();
        let last = store.last_version;
        store.mutate(500);
        let products = store.page(Entity::Products, 0, None, usize::MAX, true);
        assert_eq!(products.len(), before, "each record appears once");
        let live = store.page(Entity::Products, 0, None, usize::MAX, false);
        assert!(
            live.len() < products.len(),
            "some products were soft-deleted"
        );
        assert!(!store
            .page(Entity::Sales, last, None, usize::MAX, true)
            .is_empty());
    }

    #[test]
    fn ids_look_like_uuids_but_are_not_rfc_4122() {
        let id = opaque_id(&[1, 2, 3]);
        assert_eq!(id.len(), 36);
        let variant = id.as_bytes()[19];
        assert!(matches!(variant, b'c' | b'd' | b'e' | b'f'), "{id}");
    }
}
