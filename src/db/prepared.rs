//! A table's upsert as a statement diesel prepares once per connection and reuses: the same
//! SQL text for every batch of a table, with one array bind per column. (A `sql_query` is
//! parsed and planned by PostgreSQL on every execution.)

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Untyped;
use diesel::{PgConnection, QueryResult, RunQueryDsl};

use super::rows::TableRows;

/// `sql` (whose parameters `$1..$n` stand for the columns of `rows`, in order) with the rows
/// bound.
pub struct TableUpsert {
    /// The SQL around the parameters: one piece more than there are parameters.
    pieces: Vec<String>,
    rows: TableRows,
}

impl TableUpsert {
    pub fn new(sql: &str, rows: TableRows) -> TableUpsert {
        TableUpsert {
            pieces: split_at_parameters(sql),
            rows,
        }
    }
}

/// Splits `sql` at each `$<number>`, which must appear once each, in order.
fn split_at_parameters(sql: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            pieces.push(String::new());
        } else {
            pieces.last_mut().expect("one piece at least").push(c);
        }
    }
    pieces
}

impl QueryFragment<Pg> for TableUpsert {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for (index, piece) in self.pieces.iter().enumerate() {
            out.push_sql(piece);
            if index + 1 < self.pieces.len() {
                self.rows.push_bind(index, &mut out)?;
            }
        }
        Ok(())
    }
}

/// The statement cache keys a query without a static id by its SQL text and bind types,
/// which are the same for every batch of a table.
impl QueryId for TableUpsert {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for TableUpsert {
    type SqlType = Untyped;
}

impl RunQueryDsl<PgConnection> for TableUpsert {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_is_cut_at_every_parameter() {
        assert_eq!(
            split_at_parameters("SELECT $1::text[], $2::bigint[] WHERE x = $10"),
            vec!["SELECT ", "::text[], ", "::bigint[] WHERE x = ", ""]
        );
        assert_eq!(split_at_parameters("SELECT 1"), vec!["SELECT 1"]);
    }
}
