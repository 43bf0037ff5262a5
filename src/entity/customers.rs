//! Customers and the groups they belong to.

use super::declare::entity;
use super::declare::{join, PHYSICAL, POSTAL};
use super::spec::{Column, EntitySpec, Group, VersionSource};
use crate::columns;

const CUSTOMER_COLUMNS: [Column; 33] = join(&[
    columns![
        text: customer_code, first_name, last_name, email, phone, mobile, company_name,
            customer_group_id, gender;
        bool: do_not_email, enable_loyalty;
        numeric: balance, loyalty_balance, year_to_date, on_account_limit;
        date: date_of_birth;
        timestamp: created_at, updated_at;
        json: customer_group_ids;
    ],
    &PHYSICAL,
    &POSTAL,
]);

pub const CUSTOMERS: EntitySpec = EntitySpec {
    name: "customers",
    table: "lightspeed_customers",
    key: &["id"],
    version: VersionSource::Own,
    takes_deleted: true,
    group: Group::Reference,
    columns: &CUSTOMER_COLUMNS,
    children: &[],
};

pub const CUSTOMER_GROUPS: EntitySpec = entity!("customer_groups", deleted: true, Reference, Own, [
    text: name, group_id, retailer_id;
    timestamp: created_at, updated_at;
]);
