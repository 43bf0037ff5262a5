//! The Lightspeed entities lightsync copies. Each is declared once (`spec()`: endpoint, table,
//! key, version source, delete semantics, typed columns with their JSON fields); decoding, rows,
//! upserts, status and the dashboard follow from the declaration. Shared vocabulary for every
//! other module; it does no I/O.

mod reference;
mod sales_stock;
pub mod spec;

pub use spec::{
    key_text_sql, Cell, ChildKey, ChildSpec, Column, EntitySpec, Group, Kind, Quarantined,
    VersionSource, KEY_SEPARATOR,
};

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
    Users,
    Registers,
    Taxes,
    #[value(name = "outlet_taxes")]
    OutletTaxes,
    #[value(name = "payment_types")]
    PaymentTypes,
    Brands,
    Suppliers,
    #[value(name = "product_types")]
    ProductTypes,
    #[value(name = "product_categories")]
    ProductCategories,
    Tags,
    #[value(name = "customer_groups")]
    CustomerGroups,
    #[value(name = "price_books")]
    PriceBooks,
    #[value(name = "price_book_products")]
    PriceBookProducts,
    Consignments,
    Serialnumbers,
    Shifts,
}

impl Entity {
    /// Every entity, in reporting order.
    pub const ALL: [Entity; 21] = [
        Entity::Outlets,
        Entity::Products,
        Entity::Customers,
        Entity::Inventory,
        Entity::Sales,
        Entity::Users,
        Entity::Registers,
        Entity::Taxes,
        Entity::OutletTaxes,
        Entity::PaymentTypes,
        Entity::Brands,
        Entity::Suppliers,
        Entity::ProductTypes,
        Entity::ProductCategories,
        Entity::Tags,
        Entity::CustomerGroups,
        Entity::PriceBooks,
        Entity::PriceBookProducts,
        Entity::Consignments,
        Entity::Serialnumbers,
        Entity::Shifts,
    ];

    /// The entity's declaration.
    pub fn spec(self) -> &'static EntitySpec {
        match self {
            Entity::Outlets => &sales_stock::OUTLETS,
            Entity::Products => &sales_stock::PRODUCTS,
            Entity::Customers => &sales_stock::CUSTOMERS,
            Entity::Inventory => &sales_stock::INVENTORY,
            Entity::Sales => &sales_stock::SALES,
            Entity::Users => &reference::USERS,
            Entity::Registers => &reference::REGISTERS,
            Entity::Taxes => &reference::TAXES,
            Entity::OutletTaxes => &reference::OUTLET_TAXES,
            Entity::PaymentTypes => &reference::PAYMENT_TYPES,
            Entity::Brands => &reference::BRANDS,
            Entity::Suppliers => &reference::SUPPLIERS,
            Entity::ProductTypes => &reference::PRODUCT_TYPES,
            Entity::ProductCategories => &reference::PRODUCT_CATEGORIES,
            Entity::Tags => &reference::TAGS,
            Entity::CustomerGroups => &reference::CUSTOMER_GROUPS,
            Entity::PriceBooks => &reference::PRICE_BOOKS,
            Entity::PriceBookProducts => &reference::PRICE_BOOK_PRODUCTS,
            Entity::Consignments => &reference::CONSIGNMENTS,
            Entity::Serialnumbers => &reference::SERIALNUMBERS,
            Entity::Shifts => &reference::SHIFTS,
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
            Entity::Users => 6,
            Entity::Registers => 7,
            Entity::Taxes => 8,
            Entity::OutletTaxes => 9,
            Entity::PaymentTypes => 10,
            Entity::Brands => 11,
            Entity::Suppliers => 12,
            Entity::ProductTypes => 13,
            Entity::ProductCategories => 14,
            Entity::Tags => 15,
            Entity::CustomerGroups => 16,
            Entity::PriceBooks => 17,
            Entity::PriceBookProducts => 18,
            Entity::Consignments => 19,
            Entity::Serialnumbers => 20,
            Entity::Shifts => 21,
        }
    }

    /// The entities a command names, in reporting order without repeats; all when none.
    pub fn selection(named: &[Entity]) -> Vec<Entity> {
        if named.is_empty() {
            return Entity::ALL.to_vec();
        }
        let mut entities = named.to_vec();
        entities.sort();
        entities.dedup();
        entities
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
#[error("unknown entity `{0}` (expected one of {names})", names = Entity::ALL.map(Entity::name).join(", "))]
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
        for entity in Entity::ALL {
            let spec = entity.spec();
            assert_eq!(spec.table, format!("lightspeed_{}", spec.name));
            let names: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
            let mut unique = names.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(
                unique.len(),
                names.len(),
                "{entity}: a column declared twice"
            );
            for key in spec.key {
                assert!(*key == "id" || names.contains(key), "{entity}: key {key}");
            }
            use clap::ValueEnum;
            let value = entity
                .to_possible_value()
                .expect("every entity is a CLI value");
            assert_eq!(value.get_name(), entity.name());
        }
        assert_eq!(Entity::from_tag(0), None);
    }
}
