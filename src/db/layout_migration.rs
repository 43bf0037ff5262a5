//! The migration from whole-record `raw` columns to the storage layout (`entity::layout`), its
//! reverse, and the expression of each public view's `raw`. The migration's files are generated
//! here and a test keeps them equal (`LIGHTSYNC_UPDATE_SNAPSHOTS=1` writes them). Pure code.

use super::layout_sql::field_sql;
use crate::entity::layout::{stored_table, RecordField, TableLayout};
use crate::entity::Kind;

/// `jsonb_build_object` takes at most 100 arguments: fields are given back 50 at a time.
const PAIRS_PER_OBJECT: usize = 50;

/// The record as received, from the row of `layout`'s table aliased `alias` (children are
/// aliased `alias` followed by their number).
pub fn raw_sql(layout: &TableLayout, alias: &str) -> String {
    let mut pairs: Vec<String> = layout
        .fields
        .iter()
        .map(|field| {
            format!(
                "'{}', {}",
                field.name,
                field_sql(field, &format!("{alias}."))
            )
        })
        .collect();
    for (index, (array, parent_column, child)) in layout.embedded.iter().enumerate() {
        let child_alias = format!("{alias}{}", index + 1);
        pairs.push(format!(
            "'{array}', (SELECT COALESCE(jsonb_agg({raw} ORDER BY {child_alias}.position), \
             '[]'::jsonb) FROM {table} {child_alias} WHERE {child_alias}.{parent_column} = {alias}.id)",
            raw = raw_sql(child, &child_alias),
            table = stored_table(child.table),
        ));
    }
    let objects: Vec<String> = pairs
        .chunks(PAIRS_PER_OBJECT)
        .map(|chunk| format!("jsonb_build_object({})", chunk.join(", ")))
        .collect();
    let members: Vec<String> = layout.members().map(|name| format!("'{name}'")).collect();
    format!(
        "({objects} - lightsync_absent_names({alias}.absent, ARRAY[{members}])) \
         || COALESCE({alias}.rest, '{{}}'::jsonb)",
        objects = objects.join(" || "),
        members = members.join(", "),
    )
}

/// Whether the member `field` of the old `raw` is exactly what the column gives back.
fn given_back_sql(field: &RecordField) -> String {
    let value = format!("(raw->'{}')", field.name);
    let column = format!(
        "COALESCE(to_jsonb({}), 'null'::jsonb)",
        field_sql(field, "")
    );
    match field.kind {
        // `2.0` equals `2` as jsonb but is not written back the same.
        Kind::Int => format!("{value}::text = {column}::text"),
        _ => format!("{value} = {column}"),
    }
}

/// The names among `names` for which `condition` holds, as a `text[]` (NULL when none).
fn names_where(names: &[(String, String)]) -> String {
    let cases: Vec<String> = names
        .iter()
        .map(|(name, condition)| format!("CASE WHEN {condition} THEN '{name}' END"))
        .collect();
    format!(
        "NULLIF(array_remove(ARRAY[{}]::text[], NULL), '{{}}')",
        cases.join(", ")
    )
}

/// The statements that move one table from a whole-record `raw` to the layout, in one
/// rewrite of the table. Children are moved before their parent (`parent`: its table, the
/// array and the parent key column): the parent's arrays are left out of its `rest` only where
/// its children's rows hold every element, each with its place.
fn move_table_sql(layout: &TableLayout, parent: Option<(&str, &str, &str)>) -> String {
    let table = stored_table(layout.table);
    let absent: Vec<String> = layout
        .members()
        .map(|name| {
            format!(
                "CASE WHEN raw ? '{name}' THEN 0 ELSE {} END",
                layout.absent_bit(name)
            )
        })
        .collect();
    let mut given_back: Vec<(String, String)> = layout
        .fields
        .iter()
        .map(|field| (field.name.to_string(), given_back_sql(field)))
        .collect();
    for (array, _, child) in &layout.embedded {
        given_back.push((
            array.to_string(),
            format!(
                "jsonb_typeof(raw->'{array}') = 'array' \
                 AND jsonb_array_length(raw->'{array}') = lightsync_placed_{}(id)",
                child.table
            ),
        ));
    }
    let mut sql = format!("ALTER TABLE {} RENAME TO {table};\n", layout.table);
    sql += &format!("ALTER TABLE {table} ALTER COLUMN raw DROP NOT NULL, ADD COLUMN absent BIGINT");
    if layout.positioned {
        sql += ", ADD COLUMN position INTEGER";
    }
    sql += ";\n";
    if let (true, Some((parent_table, _, parent_column))) = (layout.positioned, parent) {
        sql += &placement_functions_sql(parent_table, layout.table, parent_column);
    }
    sql += &format!(
        "ALTER TABLE {table} ALTER COLUMN absent TYPE BIGINT USING NULLIF({}, 0)",
        absent.join(" + ")
    );
    if let (true, Some((parent_table, array, parent_column))) = (layout.positioned, parent) {
        sql += &format!(
            ",\n    ALTER COLUMN position TYPE INTEGER USING \
             lightsync_place_in_{parent_table}({parent_column}, '{array}', id)"
        );
    }
    sql += &format!(
        ",\n    ALTER COLUMN raw TYPE JSONB USING NULLIF(raw - COALESCE({}, '{{}}'::text[]), '{{}}'::jsonb);\n",
        names_where(&given_back)
    );
    sql += &format!("ALTER TABLE {table} RENAME COLUMN raw TO rest;\n");
    sql
}

/// Two functions the move of an embedded child table uses (a table's rewrite may call
/// functions, not run subqueries): the place of a child in its parent's array, and how many
/// of a parent's children were given a place.
fn placement_functions_sql(parent_table: &str, child_table: &str, parent_column: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION lightsync_place_in_{parent_table}(parent TEXT, list TEXT, child TEXT) \
         RETURNS INTEGER LANGUAGE sql STABLE AS $$\n    SELECT e.n::INTEGER FROM {parents} p, \
         jsonb_array_elements(CASE WHEN jsonb_typeof(p.raw->list) = 'array' THEN p.raw->list ELSE '[]'::jsonb END) \
         WITH ORDINALITY AS e(element, n)\n    WHERE p.id = parent AND e.element->>'id' = child LIMIT 1\n$$;\n\
         CREATE FUNCTION lightsync_placed_{child_table}(parent TEXT) RETURNS BIGINT LANGUAGE sql STABLE AS $$\n    \
         SELECT count(*) FROM {children} c WHERE c.{parent_column} = parent AND c.position IS NOT NULL\n$$;\n",
        parents = parent_table,
        children = stored_table(child_table),
    )
}

/// The migration from whole-record `raw` columns to the layout, for every table.
pub fn migration_sql() -> String {
    let mut sql = String::from(MIGRATION_HEADER);
    for layout in TableLayout::all().iter().filter(|l| l.embedded.is_empty()) {
        if !is_embedded_child(layout) {
            sql += &move_table_sql(layout, None);
        }
    }
    for parent in TableLayout::all().iter().filter(|l| !l.embedded.is_empty()) {
        for (array, parent_column, child) in &parent.embedded {
            sql += &move_table_sql(child, Some((parent.table, array, parent_column)));
        }
        sql += &move_table_sql(parent, None);
    }
    for layout in TableLayout::all() {
        sql += &format!(
            "SELECT lightsync_expose('{}', $raw${}$raw$);\n",
            layout.table,
            raw_sql(&layout, "t")
        );
    }
    for parent in TableLayout::all().iter().filter(|l| !l.embedded.is_empty()) {
        sql += &format!(
            "DROP FUNCTION lightsync_place_in_{}(TEXT, TEXT, TEXT);\n",
            parent.table
        );
        for (_, _, child) in &parent.embedded {
            sql += &format!("DROP FUNCTION lightsync_placed_{}(TEXT);\n", child.table);
        }
    }
    sql
}

fn is_embedded_child(layout: &TableLayout) -> bool {
    TableLayout::all()
        .iter()
        .flat_map(|parent| parent.embedded.iter())
        .any(|(_, _, child)| child.table == layout.table)
}

/// The reverse of `migration_sql`: every table back in `public` with the record whole in `raw`.
pub fn revert_sql() -> String {
    let mut sql = String::new();
    let all = TableLayout::all();
    for layout in &all {
        let table = stored_table(layout.table);
        sql += &format!("ALTER TABLE {table} ADD COLUMN raw JSONB;\n");
        sql += &format!("UPDATE {table} t SET raw = {};\n", raw_sql(layout, "t"));
    }
    // The report triggers name the tables: the views stay until every row has its `raw`.
    for layout in &all {
        sql += &format!("DROP VIEW {};\n", layout.table);
    }
    for layout in &all {
        let table = stored_table(layout.table);
        sql += &format!("ALTER TABLE {table} ALTER COLUMN raw SET NOT NULL, DROP COLUMN rest, DROP COLUMN absent");
        if layout.positioned {
            sql += ", DROP COLUMN position";
        }
        sql += ";\n";
        sql += &format!("ALTER TABLE {table} RENAME TO {};\n", layout.table);
    }
    sql += "DROP FUNCTION lightsync_expose(TEXT, TEXT);\n\
            DROP FUNCTION lightsync_absent_names(BIGINT, TEXT[]);\n";
    sql
}

const MIGRATION_HEADER: &str = r#"-- Generated by `db::layout_sql::migration_sql` (a test keeps this file equal to it).
-- Each value once: every table becomes <table>_rows and keeps, beside its typed columns, only
-- what no column gives back exactly (`rest`) and which of the columns' fields a record did not
-- have (`absent`, one bit per field); a sale's line items and payments are kept only in their
-- own tables, in their array order (`position`). A view under the table's old name shows every
-- column and the record as received in `raw`. One rewrite per table: the extra disk it needs
-- is the new, smaller table.

-- The names of the members a row's record did not have: bit i of `bits` stands for names[i + 1].
CREATE FUNCTION lightsync_absent_names(bits BIGINT, names TEXT[]) RETURNS TEXT[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN bits IS NULL THEN '{}'::TEXT[] ELSE ARRAY(
        SELECT names[i] FROM generate_subscripts(names, 1) AS i WHERE bits & (1::BIGINT << (i - 1)) <> 0
    ) END
$$;

-- (Re)creates the public view of a table: every column but the layout's own, and `raw`.
CREATE FUNCTION lightsync_expose(name TEXT, raw TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    columns TEXT;
BEGIN
    SELECT string_agg('t.' || quote_ident(column_name), ', ' ORDER BY ordinal_position)
    INTO columns
    FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = name || '_rows'
        AND column_name NOT IN ('rest', 'absent', 'position');
    EXECUTE format('CREATE OR REPLACE VIEW %I AS SELECT %s, %s AS raw FROM %I t',
        name, columns, raw, name || '_rows');
    IF current_setting('server_version_num')::INT >= 150000 THEN
        EXECUTE format('ALTER VIEW %I SET (security_invoker = true)', name);
    END IF;
END
$$;

"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Entity;

    #[test]
    fn the_migration_file_is_the_generated_one() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/2026-12-07-090000_store_each_value_once/"
        );
        for (file, sql) in [("up.sql", migration_sql()), ("down.sql", revert_sql())] {
            let path = format!("{path}{file}");
            if std::env::var_os("LIGHTSYNC_UPDATE_SNAPSHOTS").is_some() {
                std::fs::write(&path, &sql).unwrap();
            }
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == sql,
                "{path} differs from the layout: run with LIGHTSYNC_UPDATE_SNAPSHOTS=1"
            );
        }
    }

    #[test]
    fn a_sales_raw_rebuilds_its_arrays_from_its_children_in_order() {
        let sql = raw_sql(&TableLayout::of_entity(Entity::Sales.spec()), "t");
        assert!(
            sql.contains("'line_items', (SELECT COALESCE(jsonb_agg("),
            "{sql}"
        );
        assert!(sql.contains("ORDER BY t1.position"), "{sql}");
        assert!(sql.contains("WHERE t2.sale_id = t.id"), "{sql}");
        assert!(sql.ends_with("|| COALESCE(t.rest, '{}'::jsonb)"), "{sql}");
    }

    #[test]
    fn more_than_fifty_fields_are_given_back_in_several_objects() {
        let sql = raw_sql(&TableLayout::of_entity(Entity::Customers.spec()), "t");
        let fields = TableLayout::of_entity(Entity::Customers.spec())
            .fields
            .len();
        assert_eq!(
            sql.matches("jsonb_build_object(").count(),
            fields.div_ceil(PAIRS_PER_OBJECT)
        );
    }
}
