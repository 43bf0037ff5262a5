//! The Lightspeed entities lightsync copies. Each is declared once (`spec()`: endpoint, table,
//! key, version source, delete semantics, typed columns with their JSON fields); decoding, rows,
//! upserts, status and the dashboard follow from the declaration. Shared vocabulary for every
//! other module; it does no I/O.

mod sales_stock;
pub mod spec;

pub use spec::{Cell, ChildSpec, Column, EntitySpec, Group, Kind, VersionSource};

use std::fmt;
use std::str::FromStr;

/// A Lightspeed list endpoint that lightsync copies, in the order runs report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Entity {
    Outlets,
    Products,
    Customers,
    Inventory,
    Sales,
}

impl Entity {
    /// Every entity, in reporting order.
    pub const ALL: [Entity; 5] = [
        Entity::Outlets,
        Entity::Products,
        Entity::Customers,
        Entity::Inventory,
        Entity::Sales,
    ];

    /// The entity's declaration.
    pub fn spec(self) -> &'static EntitySpec {
        match self {
            Entity::Outlets => &sales_stock::OUTLETS,
            Entity::Products => &sales_stock::PRODUCTS,
            Entity::Customers => &sales_stock::CUSTOMERS,
            Entity::Inventory => &sales_stock::INVENTORY,
            Entity::Sales => &sales_stock::SALES,
        }
    }

    /// The name used by the API path, `sync_state.entity` and the CLI.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The table holding this entity's records.
    pub fn table(self) -> &'static str {
        self.spec().table
    }

    /// Whether the endpoint declares the `deleted` parameter.
    pub fn accepts_deleted_param(self) -> bool {
        self.spec().takes_deleted
    }

    /// A stable one-byte tag for keys in the checkpoint store. Never renumber these.
    pub fn tag(self) -> u8 {
        match self {
            Entity::Outlets => 1,
            Entity::Products => 2,
            Entity::Customers => 3,
            Entity::Inventory => 4,
            Entity::Sales => 5,
        }
    }

    /// The entity with this checkpoint tag, if any.
    pub fn from_tag(tag: u8) -> Option<Entity> {
        Entity::ALL.into_iter().find(|entity| entity.tag() == tag)
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a name that is not one of the five entities.
#[derive(Debug, thiserror::Error)]
#[error("unknown entity `{0}` (expected one of outlets, products, customers, inventory, sales)")]
pub struct UnknownEntity(pub String);

impl FromStr for Entity {
    type Err = UnknownEntity;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Entity::ALL
            .into_iter()
            .find(|entity| entity.name() == name)
            .ok_or_else(|| UnknownEntity(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tags_round_trip() {
        for entity in Entity::ALL {
            assert_eq!(entity.name().parse::<Entity>().unwrap(), entity);
            assert_eq!(Entity::from_tag(entity.tag()), Some(entity));
        }
        assert!("line_items".parse::<Entity>().is_err());
        assert_eq!(Entity::from_tag(0), None);
    }
}
