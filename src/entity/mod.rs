//! The Lightspeed entities lightsync copies. Each is declared once (`spec()`: endpoint, table,
//! key, version source, delete semantics, typed columns with their JSON fields); decoding, rows,
//! upserts, status and the dashboard follow from the declaration. Shared vocabulary for every
//! other module; it does no I/O.

mod catalog;
mod customers;
mod declare;
pub mod layout;
mod sales;
pub mod spec;
mod stock;
mod store;

pub use spec::{
    key_text_sql, Cell, ChildKey, ChildSpec, Column, EntitySpec, Group, Kind, Quarantined,
    VersionSource, KEY_SEPARATOR,
};

use std::fmt;
use std::str::FromStr;

/// The registry: one row per entity, in reporting order, with its checkpoint tag and its
/// declaration. It generates the enum, `ALL`, `spec()` and `tag()`, so an entity cannot be
/// declared in one and missing from another.
macro_rules! registry {
    ($($variant:ident = $tag:literal => $spec:path,)+) => {
        /// A Lightspeed list endpoint that lightsync copies, in the order runs report them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Entity {
            $($variant,)+
        }

        impl Entity {
            /// Every entity, in reporting order.
            pub const ALL: [Entity; <[&str]>::len(&[$(stringify!($variant)),+])] =
                [$(Entity::$variant),+];

            /// The longest entity name: the width of the entity column in printed tables.
            pub const NAME_WIDTH: usize = longest(&[$($spec.name.len()),+]);

            /// The entity's declaration.
            pub fn spec(self) -> &'static EntitySpec {
                match self {
                    $(Entity::$variant => &$spec,)+
                }
            }

            /// A stable one-byte tag for keys in the checkpoint store. Never renumber these.
            pub fn tag(self) -> u8 {
                match self {
                    $(Entity::$variant => $tag,)+
                }
            }
        }
    };
}

const fn longest(lengths: &[usize]) -> usize {
    let (mut at, mut most) = (0, 0);
    while at < lengths.len() {
        if lengths[at] > most {
            most = lengths[at];
        }
        at += 1;
    }
    most
}

registry! {
    Outlets = 1 => store::OUTLETS,
    Products = 2 => catalog::PRODUCTS,
    Customers = 3 => customers::CUSTOMERS,
    Inventory = 4 => stock::INVENTORY,
    Sales = 5 => sales::SALES,
    Users = 6 => store::USERS,
    Registers = 7 => store::REGISTERS,
    Taxes = 8 => store::TAXES,
    OutletTaxes = 9 => store::OUTLET_TAXES,
    PaymentTypes = 10 => store::PAYMENT_TYPES,
    Brands = 11 => catalog::BRANDS,
    Suppliers = 12 => catalog::SUPPLIERS,
    ProductTypes = 13 => catalog::PRODUCT_TYPES,
    ProductCategories = 14 => catalog::PRODUCT_CATEGORIES,
    Tags = 15 => catalog::TAGS,
    CustomerGroups = 16 => customers::CUSTOMER_GROUPS,
    PriceBooks = 17 => catalog::PRICE_BOOKS,
    PriceBookProducts = 18 => catalog::PRICE_BOOK_PRODUCTS,
    Consignments = 19 => stock::CONSIGNMENTS,
    Serialnumbers = 20 => stock::SERIALNUMBERS,
    Shifts = 21 => sales::SHIFTS,
}

impl Entity {
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

/// On the command line an entity is spelled as its API name (`--entity price_book_products`).
impl clap::ValueEnum for Entity {
    fn value_variants<'a>() -> &'a [Self] {
        &Entity::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a name that is not one of the entities.
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
        assert_eq!(Entity::NAME_WIDTH, "price_book_products".len());
    }
}
