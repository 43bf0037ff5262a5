//! Rendering a record of any of the sixteen further entities from its declaration: every
//! declared column gets a value of its kind, id columns point at real records of the entity
//! they name, and records declared without their own version carry none (suppliers do, as
//! real `/suppliers` responses do).

use std::fmt::Write;

use chrono::Duration;

use super::{changed_at, deleted_at, RenderContext};
use crate::entity::{Entity, Kind, VersionSource};
use crate::simulator::ids::space;
use crate::simulator::reference::{outlet_tax_key, reference_id, referenced, target_count};
use crate::simulator::store::{hash, RecordSnapshot, StoreShape};

const CONSIGNMENT_TYPES: [&str; 4] = ["SUPPLIER", "OUTLET", "STOCKTAKE", "RETURN"];
const CONSIGNMENT_STATUSES: [&str; 4] = ["OPEN", "SENT", "RECEIVED", "CANCELLED"];

pub(super) fn record(out: &mut String, s: &RecordSnapshot, c: &RenderContext) {
    let entity = s.entity;
    let spec = entity.spec();
    let tag = entity.tag() as u64;
    let shape = StoreShape {
        seed: c.seed,
        outlets: c.outlets,
        products: c.products,
        customers: c.customers,
        sales: c.sales,
        registers: c.registers,
    };
    let mut obj = c.open(out).with_odd_value(c.odd_field(s));
    if spec.has_id() {
        obj.record_id("id", c.seed, entity, s.index as u64);
    }
    let key_columns = if entity == Entity::OutletTaxes {
        outlet_tax_key(c.seed, s.index, &shape).to_vec()
    } else {
        Vec::new()
    };
    for (position, column) in spec.columns.iter().enumerate() {
        let h = hash(&[
            c.seed,
            tag,
            s.index as u64,
            s.revision as u64,
            position as u64,
        ]);
        let name = column.name;
        match column.kind {
            Kind::Text => {
                let keyed = spec.key.iter().position(|key| *key == name);
                let target = keyed.map(|at| key_columns[at]).or_else(|| {
                    let target = referenced(name)?;
                    let count = target_count(target, &shape);
                    (count > 0).then(|| (target, (h % count as u64) as u32))
                });
                match (target, name) {
                    (Some((target, index)), _) => {
                        obj.str(name, &reference_id(c.seed, target, index));
                    }
                    (None, "type") => obj.str(name, CONSIGNMENT_TYPES[(h % 4) as usize]),
                    (None, "status") => obj.str(name, CONSIGNMENT_STATUSES[(h % 4) as usize]),
                    (None, "email") => obj.str(name, &format!("staff{}@example.com", s.index)),
                    (None, _) if name.ends_with("_id") => {
                        obj.id(name, &[c.seed, space::UNSERVED, h % 7])
                    }
                    (None, _) => obj.str(
                        name,
                        &format!("{} {} \"{}\"", entity.name(), s.index + 1, s.revision),
                    ),
                }
            }
            Kind::Numeric => obj.money(name, (h % 10_000_000) as i64),
            Kind::Int => obj.int(name, (h % 10) as i64),
            Kind::Bool => obj.bool(name, h & 1 == 1),
            Kind::Timestamp => {
                obj.timestamp(name, changed_at(s) - Duration::hours((h % 500) as i64))
            }
            Kind::Date => obj.str(name, "2024-02-29"),
            Kind::Json => {
                let value = obj.key(name);
                if name.ends_with('s') || name.ends_with("path") {
                    let _ = write!(value, "[{{\"position\":{}}}]", h % 5);
                } else {
                    let _ = write!(
                        value,
                        "{{\"physical_address1\":\"{} Queen St\",\"revision\":{}}}",
                        1 + h % 300,
                        s.revision
                    );
                }
            }
        }
    }
    deleted_at(&mut obj, s);
    if spec.version == VersionSource::Own || entity == Entity::Suppliers || c.always_version {
        obj.int("version", s.version);
    }
    obj.close();
}
