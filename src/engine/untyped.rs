//! Records with fields that could not be typed: counts them per batch (the count goes to
//! `sync_log` with the batch) and logs each distinct problem, by entity and field, once per
//! run with an example value. Never logs a whole record.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::entity::Entity;
use crate::lightspeed::Record;

/// The (entity, field) problems already logged in this run.
#[derive(Debug, Default)]
pub struct UntypedFields {
    logged: Mutex<HashSet<String>>,
}

impl UntypedFields {
    /// Logs the problems of `records` not logged yet; returns how many records have any.
    pub fn note(&self, entity: Entity, records: &[Record]) -> u64 {
        let mut untyped = 0;
        for record in records.iter().filter(|record| !record.problems.is_empty()) {
            untyped += 1;
            let mut logged = self.logged.lock().expect("untyped log lock poisoned");
            for problem in &record.problems {
                if logged.insert(problem.field.clone()) {
                    log::warn!(
                        "{entity}: field `{}` could not be typed ({}, e.g. {}); such records are stored with that column NULL and the value kept in raw (record {} is one)",
                        problem.field,
                        problem.reason,
                        problem.example,
                        record.id
                    );
                }
            }
        }
        untyped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lightspeed::decode_record;

    #[test]
    fn counts_records_not_problems_and_remembers_fields() {
        let records: Vec<Record> = [
            r#"{"id":"a","version":1,"sale_date":"soon","total_price":"N/A"}"#,
            r#"{"id":"b","version":2,"sale_date":"later"}"#,
            r#"{"id":"c","version":3}"#,
        ]
        .iter()
        .map(|raw| decode_record(Entity::Sales, raw, None).unwrap())
        .collect();
        let untyped = UntypedFields::default();
        assert_eq!(untyped.note(Entity::Sales, &records), 2);
        assert_eq!(untyped.logged.lock().unwrap().len(), 2);
        assert_eq!(untyped.note(Entity::Sales, &records[1..]), 1);
        assert_eq!(untyped.logged.lock().unwrap().len(), 2);
    }
}
