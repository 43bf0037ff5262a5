//! What the mirror costs on disk, as PostgreSQL counts it: each entity's tables (its own and its
//! children's, with their indexes and TOAST) and the whole database, so a user sees the size
//! before a hosting plan's limit does.

use diesel::sql_types::{Array, BigInt, Text};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};

use super::error::DbError;
use crate::entity::Entity;

#[derive(QueryableByName)]
struct TableBytes {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

#[derive(QueryableByName)]
struct DatabaseBytes {
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

/// Bytes on disk per entity and for the whole database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskUse {
    tables: Vec<(String, i64)>,
    /// The whole database (`pg_database_size`): lightsync's tables, the report views' tables,
    /// and anything else kept there.
    pub database: i64,
}

impl DiskUse {
    /// The bytes of `entity`'s table and its children's tables, indexes and TOAST included.
    pub fn of(&self, entity: Entity) -> i64 {
        tables_of(entity)
            .iter()
            .map(|table| {
                self.tables
                    .iter()
                    .find(|(name, _)| name == table)
                    .map_or(0, |(_, bytes)| *bytes)
            })
            .sum()
    }
}

fn tables_of(entity: Entity) -> Vec<&'static str> {
    let spec = entity.spec();
    std::iter::once(spec.table)
        .chain(spec.children.iter().map(|child| child.table))
        .collect()
}

/// Every entity's tables and the database, measured now (a table not created yet counts 0).
pub fn load_disk_use(conn: &mut PgConnection) -> Result<DiskUse, DbError> {
    let names: Vec<&str> = Entity::ALL.into_iter().flat_map(tables_of).collect();
    let tables: Vec<TableBytes> = sql_query(
        "SELECT name, COALESCE(pg_total_relation_size(COALESCE(\
         to_regclass(name || '_rows'), to_regclass(name))), 0)::BIGINT AS bytes \
         FROM unnest($1::text[]) AS name",
    )
    .bind::<Array<Text>, _>(names)
    .load(conn)?;
    let database: DatabaseBytes =
        sql_query("SELECT pg_database_size(current_database())::BIGINT AS bytes")
            .get_result(conn)?;
    Ok(DiskUse {
        tables: tables.into_iter().map(|t| (t.name, t.bytes)).collect(),
        database: database.bytes,
    })
}

/// Bytes in the unit a person reads them in: "812 kB", "12.3 MB", "7.80 GB".
pub fn bytes_in_words(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for next in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = next;
    }
    match value {
        v if v < 10.0 => format!("{v:.2} {unit}"),
        v if v < 100.0 => format!("{v:.1} {unit}"),
        v => format!("{v:.0} {unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_a_person_reads_them() {
        assert_eq!(bytes_in_words(0), "0 B");
        assert_eq!(bytes_in_words(999), "999 B");
        assert_eq!(bytes_in_words(812_000), "812 kB");
        assert_eq!(bytes_in_words(12_345_678), "12.3 MB");
        assert_eq!(bytes_in_words(7_800_000_000), "7.80 GB");
    }

    #[test]
    fn an_entity_counts_its_childrens_tables() {
        let usage = DiskUse {
            tables: vec![
                ("lightspeed_sales".into(), 100),
                ("lightspeed_sale_line_items".into(), 20),
                ("lightspeed_sale_payments".into(), 3),
                ("lightspeed_products".into(), 7),
            ],
            database: 1000,
        };
        assert_eq!(usage.of(Entity::Sales), 123);
        assert_eq!(usage.of(Entity::Products), 7);
        assert_eq!(usage.of(Entity::Tags), 0);
    }
}
