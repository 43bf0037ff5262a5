//! Reading `lightspeed_quarantine`: how many records of each entity were set aside for want of
//! a usable identity (the batch transaction writes them, `db::write`).

use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};

use super::error::DbError;

#[derive(QueryableByName)]
struct Held {
    #[diesel(sql_type = Text)]
    entity: String,
    #[diesel(sql_type = BigInt)]
    records: i64,
}

/// Records held in quarantine, per entity.
#[derive(Debug, Clone, Default)]
pub struct QuarantineCounts(Vec<(String, i64)>);

impl QuarantineCounts {
    /// The records of `entity` held in quarantine.
    pub fn of(&self, entity: &str) -> i64 {
        self.0
            .iter()
            .find(|(name, _)| name == entity)
            .map_or(0, |(_, records)| *records)
    }
}

/// Records held in quarantine per entity.
pub fn load_quarantine_counts(conn: &mut PgConnection) -> Result<QuarantineCounts, DbError> {
    let held: Vec<Held> = sql_query(
        "SELECT entity, count(*)::BIGINT AS records FROM lightspeed_quarantine GROUP BY entity",
    )
    .load(conn)?;
    Ok(QuarantineCounts(
        held.into_iter().map(|h| (h.entity, h.records)).collect(),
    ))
}
