//! The changes the simulated store makes over time, of every kind the real API shows (updates,
//! deletes, voids, changed sale lines, new records), counted, and each changed record named
//! for the webhooks that announce it.

use serde::Serialize;

use super::{Store, FIRST_OTHER};
use crate::entity::Entity;
use crate::simulator::ids::record_id;

/// The kinds of change `mutate` makes, for reporting.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct MutationCounts {
    pub product_updates: u32,
    pub product_deletes: u32,
    pub customer_updates: u32,
    pub customer_deletes: u32,
    pub new_customers: u32,
    pub inventory_updates: u32,
    pub sale_voids: u32,
    pub sale_line_changes: u32,
    pub new_sales: u32,
    pub outlet_updates: u32,
    pub reference_updates: u32,
    pub reference_deletes: u32,
    /// Each record changed, in order: what a store's webhooks announce.
    pub changed: Vec<Changed>,
}

/// One record a change touched.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Changed {
    #[serde(serialize_with = "entity_name")]
    pub entity: Entity,
    pub id: String,
    pub version: i64,
}

fn entity_name<S: serde::Serializer>(entity: &Entity, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(entity.name())
}

impl Store {
    /// Applies `count` random changes of every kind the real API shows.
    pub fn mutate(&mut self, count: u32) -> MutationCounts {
        let mut counts = MutationCounts::default();
        for _ in 0..count {
            let roll = self.next_random() % 100;
            self.change(roll, &mut counts);
        }
        counts
    }

    /// Applies `count` random changes of `entity` (updates; for sales also voids, line changes
    /// and new sales). `None` when the simulator makes no changes of that entity by itself.
    pub fn mutate_entity(&mut self, entity: Entity, count: u32) -> Option<MutationCounts> {
        let rolls: &[u64] = match entity {
            Entity::Products => &[0, 14],
            Entity::Customers => &[20, 29],
            Entity::Inventory => &[39, 58],
            Entity::Sales => &[59, 77, 90, 99],
            Entity::Outlets => &[85, 86],
            _ => return None,
        };
        let mut counts = MutationCounts::default();
        for _ in 0..count {
            let pair = (self.next_random() % (rolls.len() as u64 / 2)) as usize * 2;
            let (low, high) = (rolls[pair], rolls[pair + 1]);
            let roll = low + self.next_random() % (high - low + 1);
            self.change(roll, &mut counts);
        }
        Some(counts)
    }

    /// One change of the kind `roll` (0 to 99) picks, counted and recorded in `counts`.
    fn change(&mut self, roll: u64, counts: &mut MutationCounts) {
        let pick = self.next_random();
        let before = self.last_version;
        let touched = match roll {
            0..=14 if self.products.len() > 0 => {
                let index = (pick % self.products.len() as u64) as u32;
                let version = self.next_version();
                self.products.touch(index, version);
                counts.product_updates += 1;
                (Entity::Products, index)
            }
            15..=19 if self.products.len() > 0 => {
                let index = (pick % self.products.len() as u64) as u32;
                let version = self.next_version();
                self.products.touch(index, version);
                self.products.deleted[index as usize] = true;
                counts.product_deletes += 1;
                (Entity::Products, index)
            }
            20..=29 if self.customers.len() > 0 => {
                let index = (pick % self.customers.len() as u64) as u32;
                let version = self.next_version();
                self.customers.touch(index, version);
                counts.customer_updates += 1;
                (Entity::Customers, index)
            }
            30..=33 if self.customers.len() > 1 => {
                // Never the WALKIN customer (index 0): stores cannot delete it.
                let index = 1 + (pick % (self.customers.len() as u64 - 1)) as u32;
                let version = self.next_version();
                self.customers.touch(index, version);
                self.customers.deleted[index as usize] = true;
                counts.customer_deletes += 1;
                (Entity::Customers, index)
            }
            34..=38 => {
                let version = self.next_version();
                self.customers.push(version);
                counts.new_customers += 1;
                (Entity::Customers, self.customers.len() - 1)
            }
            39..=58 if self.inventory.len() > 0 => {
                let index = (pick % self.inventory.len() as u64) as u32;
                let version = self.next_version();
                self.inventory.touch(index, version);
                counts.inventory_updates += 1;
                (Entity::Inventory, index)
            }
            59..=65 if self.sales.len() > 0 => {
                let index = (pick % self.sales.len() as u64) as u32;
                let version = self.next_version();
                self.sales.touch(index, version);
                self.sale_voided[index as usize] = true;
                counts.sale_voids += 1;
                (Entity::Sales, index)
            }
            66..=77 if self.sales.len() > 0 => {
                let index = (pick % self.sales.len() as u64) as u32;
                let version = self.next_version();
                self.sales.touch(index, version);
                let slot = index as usize;
                self.sale_line_revision[slot] = self.sale_line_revision[slot].wrapping_add(1);
                counts.sale_line_changes += 1;
                (Entity::Sales, index)
            }
            78..=84 => {
                let entity = Entity::ALL[FIRST_OTHER + (pick % 16) as usize];
                let table = &self.others[entity.tag() as usize - 1 - FIRST_OTHER];
                if table.len() == 0 {
                    return;
                }
                let index = ((pick >> 8) % table.len() as u64) as u32;
                // Endpoints copied whole lose deleted records from their listing.
                let delete =
                    (entity.accepts_deleted_param() || entity.spec().is_refreshed()) && roll == 84;
                let version = self.next_version();
                let table = &mut self.others[entity.tag() as usize - 1 - FIRST_OTHER];
                table.touch(index, version);
                if delete {
                    table.deleted[index as usize] = true;
                    counts.reference_deletes += 1;
                } else {
                    counts.reference_updates += 1;
                }
                (entity, index)
            }
            85..=86 => {
                let index = (pick % self.outlets.len() as u64) as u32;
                let version = self.next_version();
                self.outlets.touch(index, version);
                counts.outlet_updates += 1;
                (Entity::Outlets, index)
            }
            _ => {
                self.push_sale();
                counts.new_sales += 1;
                (Entity::Sales, self.sales.len() - 1)
            }
        };
        debug_assert!(self.last_version > before, "every change takes a version");
        let (entity, index) = touched;
        counts.changed.push(Changed {
            entity,
            id: record_id(self.shape.seed, entity, index),
            version: self.last_version,
        });
    }
}
