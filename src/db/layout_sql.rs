//! The SQL of the storage layout (`entity::layout`) that runs: how a column gives back its
//! member of a record, and how a soft delete lightsync makes itself keeps the record as
//! received. (The migration to the layout, and the views' `raw`, are in `layout_migration`.)
//! Pure code: it writes SQL, it runs none.

use crate::entity::layout::{RecordField, TableLayout};
use crate::entity::Kind;

/// The JSON value of `field` as its column gives it back; `prefix` qualifies the column
/// (`t.`, or empty where a statement names one table).
pub fn field_sql(field: &RecordField, prefix: &str) -> String {
    let column = format!("{prefix}{}", field.name);
    match field.kind {
        Kind::Timestamp => {
            format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')")
        }
        Kind::Date => format!("to_char({column}, 'YYYY-MM-DD')"),
        _ => column,
    }
}

/// The assignment that keeps a row's `raw` as received when the engine itself sets
/// `deleted_at` (a row the store no longer lists): the value received moves into `rest`.
pub fn keep_received_deleted_at_sql(layout: &TableLayout, alias: &str) -> String {
    let bit = layout.absent_bit("deleted_at");
    let received = field_sql(
        &RecordField {
            name: "deleted_at",
            kind: Kind::Timestamp,
        },
        &format!("{alias}."),
    );
    format!(
        "rest = CASE WHEN {alias}.rest ? 'deleted_at' \
         OR COALESCE({alias}.absent, 0) & {bit} <> 0 THEN {alias}.rest \
         ELSE COALESCE({alias}.rest, '{{}}'::jsonb) || jsonb_build_object('deleted_at', {received}) END"
    )
}
