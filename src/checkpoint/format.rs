//! The checkpoint store's on-disk format: key layout, the versioned value envelope and the
//! bincode encoding of cursors, spooled batches and run metadata. Pure code.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::error::CheckpointError;
use crate::entity::Entity;

/// The store format this build reads and writes. Bump it on any incompatible change; a store
/// with another number is refused, never overwritten.
pub const FORMAT_VERSION: u32 = 1;

/// Key of the format version in the default tree.
pub const FORMAT_KEY: &[u8] = b"format_version";
/// Key of the store identity (which API store the cursors belong to) in the default tree.
pub const IDENTITY_KEY: &[u8] = b"store_identity";
/// Key of the current run's metadata in the default tree.
pub const RUN_KEY: &[u8] = b"current_run";

pub const CURSORS_TREE: &str = "cursors";

/// Leading byte of every stored value: the value's own layout version.
const VALUE_VERSION: u8 = 1;

/// Where an entity's fetching stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The `after` of the next request: the max version of the last spooled page.
    pub fetch_cursor: i64,
    /// The sequence number the next spooled batch gets.
    pub next_seq: u64,
}

/// A fetched page waiting to be applied. Written with borrowed records
/// (`SpooledBatch<&str>`, no copy), read back as owned ones; both encode alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpooledBatch<R = String> {
    /// The `after` the page was requested with.
    pub after: i64,
    /// The page's max version: the cursor after it.
    pub max_version: i64,
    /// When it was fetched, in milliseconds since the Unix epoch.
    pub fetched_at_ms: i64,
    /// Each record's JSON text exactly as received (bincode cannot carry `serde_json::Value`).
    pub records: Vec<R>,
}

/// The run that last opened the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub run_id: String,
    pub mode: String,
    pub pid: u32,
    pub started_at_ms: i64,
    /// Entities whose historical import has not reached the end yet.
    pub unfinished_import: Vec<String>,
}

pub fn cursor_key(entity: Entity) -> [u8; 1] {
    [entity.tag()]
}

pub fn batch_key(entity: Entity, seq: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = entity.tag();
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// The entity and sequence of a batch key.
pub fn parse_batch_key(key: &[u8]) -> Result<(Entity, u64), CheckpointError> {
    let invalid = || CheckpointError::Corrupt(format!("batch key {key:02x?} is malformed"));
    if key.len() != 9 {
        return Err(invalid());
    }
    let entity = Entity::from_tag(key[0]).ok_or_else(invalid)?;
    let seq = u64::from_be_bytes(key[1..].try_into().map_err(|_| invalid())?);
    Ok((entity, seq))
}

/// The prefix of every batch key of `entity`.
pub fn batch_prefix(entity: Entity) -> [u8; 1] {
    [entity.tag()]
}

/// Encodes a value behind its layout version byte.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CheckpointError> {
    let mut bytes = vec![VALUE_VERSION];
    bytes.extend(bincode::serde::encode_to_vec(
        value,
        bincode::config::standard(),
    )?);
    Ok(bytes)
}

/// Decodes a value written by `encode`; `what` names it in errors.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, CheckpointError> {
    match bytes.split_first() {
        Some((&VALUE_VERSION, body)) => {
            let (value, used) =
                bincode::serde::decode_from_slice::<T, _>(body, bincode::config::standard())
                    .map_err(|err| {
                        CheckpointError::Corrupt(format!("{what} cannot be decoded: {err}"))
                    })?;
            if used != body.len() {
                return Err(CheckpointError::Corrupt(format!(
                    "{what} has {} trailing bytes",
                    body.len() - used
                )));
            }
            Ok(value)
        }
        Some((other, _)) => Err(CheckpointError::Corrupt(format!(
            "{what} has value layout {other}, this build knows only {VALUE_VERSION}"
        ))),
        None => Err(CheckpointError::Corrupt(format!("{what} is empty"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn batches_round_trip() {
        let batch = SpooledBatch {
            after: 3_000_000_000,
            max_version: 3_000_000_999,
            fetched_at_ms: 1_700_000_000_000,
            records: vec![r#"{"id":"a","version":3000000999,"name":"Zoë \"Q\""}"#.into()],
        };
        let bytes = encode(&batch).unwrap();
        assert_eq!(decode::<SpooledBatch>(&bytes, "batch").unwrap(), batch);
    }

    #[test]
    fn unknown_layouts_and_garbage_are_refused() {
        let mut bytes = encode(&Cursor {
            fetch_cursor: 1,
            next_seq: 2,
        })
        .unwrap();
        bytes[0] = 9;
        assert!(decode::<Cursor>(&bytes, "cursor").is_err());
        assert!(decode::<Cursor>(&[], "cursor").is_err());
        assert!(decode::<SpooledBatch>(&[1, 200, 200, 200], "batch").is_err());
    }

    #[test]
    fn batch_keys_sort_by_entity_then_sequence() {
        let a = batch_key(Entity::Sales, 1);
        let b = batch_key(Entity::Sales, 256);
        assert!(a < b);
        assert_eq!(parse_batch_key(&b).unwrap(), (Entity::Sales, 256));
        assert!(parse_batch_key(&[0; 9]).is_err());
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode::<SpooledBatch>(&bytes, "batch");
            let _ = decode::<Cursor>(&bytes, "cursor");
        }
    }
}
