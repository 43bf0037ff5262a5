//! The product catalogue: products, their brands, suppliers, types, categories and tags, and
//! price books with their products.

use super::declare::entity;
use super::spec::{EntitySpec, Group, VersionSource};
use crate::columns;

pub const PRODUCTS: EntitySpec = EntitySpec {
    name: "products",
    table: "lightspeed_products",
    key: &["id"],
    version: VersionSource::Own,
    takes_deleted: true,
    group: Group::Reference,
    columns: columns![
        text: name, variant_name, handle, sku, source, variant_parent_id, supplier_id,
            supplier_code, brand_id, product_type_id, description, family_id;
        bool: active, is_active, has_inventory, is_composite, has_variants;
        numeric: supply_price, price_including_tax, price_excluding_tax;
        int: variant_count;
        timestamp: created_at, updated_at;
        json: variant_options, product_codes, product_category;
    ],
    children: &[],
};

pub const BRANDS: EntitySpec = entity!("brands", deleted: true, Reference, OwnOrPageMax, [
    text: name;
]);

/// Real `/suppliers` responses carry `version` though the schema lists none: it is used when
/// present. The nested `contact` (spelled the 0.9 way) stays JSON.
pub const SUPPLIERS: EntitySpec = entity!("suppliers", deleted: true, Reference, OwnOrPageMax, [
    text: name, description;
    numeric: default_markup;
    json: contact;
]);

pub const PRODUCT_TYPES: EntitySpec = entity!("product_types", deleted: true, Reference, OwnOrPageMax, [
    text: name;
    bool: leaf_category;
    json: category_path;
]);

pub const PRODUCT_CATEGORIES: EntitySpec = entity!("product_categories", deleted: false, Reference, Refresh, [
    text: name, root_category_id, parent_category_id;
    bool: leaf_category;
    json: category_path;
]);

pub const TAGS: EntitySpec = entity!("tags", deleted: true, Reference, OwnOrPageMax, [
    text: name;
]);

pub const PRICE_BOOKS: EntitySpec = entity!("price_books", deleted: true, Reference, Own, [
    text: name, customer_group_id, outlet_id, restrict_to_platform_key,
        restrict_to_platform_label;
    timestamp: valid_from, valid_to, created_at, updated_at;
]);

pub const PRICE_BOOK_PRODUCTS: EntitySpec = entity!("price_book_products", deleted: true, Reference, Own, [
    text: product_id, price_book_id, tax_id, rounding, adjustment_type;
    numeric: default_display_price, price, retail_tax, loyalty_value, adjustment, discount,
        min_units, max_units;
    timestamp: created_at, updated_at;
]);
