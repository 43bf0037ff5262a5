//! Ids and per-record facts the simulated store derives from (seed, entity, index,
//! revision): hashes, Lightspeed-looking ids, a sale's status, line items and payment.
//! Pure code.

use super::store::RecordSnapshot;
use crate::entity::Entity;

/// SplitMix64 finaliser: a fast, well-mixed hash of one word.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic hash of several words.
pub(crate) fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(0x243F_6A88_85A3_08D3, |acc, part| {
        mix(acc ^ part.wrapping_add(0x9E37_79B9))
    })
}

/// An id that looks like a Lightspeed id: UUID-shaped, but not a valid RFC 4122 UUID (its
/// variant nibble is outside 8-b), as many real ones are.
pub fn opaque_id(parts: &[u64]) -> String {
    let mut id = String::with_capacity(36);
    write_opaque_id(&mut id, parts);
    id
}

/// Appends the id `opaque_id` would return, without allocating.
pub(crate) fn write_opaque_id(out: &mut String, parts: &[u64]) {
    use std::fmt::Write;
    let a = hash(parts);
    let b = mix(a);
    let _ = write!(
        out,
        "{:08x}-{:04x}-11e{:01x}-{:01x}{:03x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        (a & 0xf) as u8,
        0xc + (b & 0x3),
        (b >> 4) & 0xfff,
        (b >> 16) & 0xffff_ffff_ffff
    );
}

/// The words the id of `entity`'s record number `index` is hashed from.
pub(crate) fn record_parts(seed: u64, entity: Entity, index: u64) -> [u64; 3] {
    [seed, entity.tag() as u64, index]
}

/// The id of `entity`'s record number `index`: every reference to it hashes the same words.
pub(crate) fn record_id(seed: u64, entity: Entity, index: u32) -> String {
    opaque_id(&record_parts(seed, entity, index as u64))
}

/// Ids of what a record names that is not a record of an endpoint: hashed with a word that is
/// never an entity's tag (tags run from 1 to 21), so they never collide with a record's.
pub(crate) mod space {
    /// A product code of a product.
    pub const PRODUCT_CODE: u64 = 23;
    /// A product family (five variants share one).
    pub const FAMILY: u64 = 24;
    /// A variant option.
    pub const VARIANT_OPTION: u64 = 25;
    /// A sale's line item.
    pub const LINE_ITEM: u64 = 50;
    /// The one tax rate a sale's tax components name.
    pub const TAX_RATE: u64 = 54;
    /// A register's open sequence (the till session a payment was taken in).
    pub const REGISTER_SEQUENCE: u64 = 56;
    /// A sale's payment.
    pub const PAYMENT: u64 = 60;
    /// An id column that names no endpoint the simulator serves.
    pub const UNSERVED: u64 = 99;
}

pub(crate) fn sale_status(seed: u64, snapshot: &RecordSnapshot) -> &'static str {
    const STATUSES: [&str; 6] = [
        "CLOSED",
        "CLOSED",
        "CLOSED",
        "ONACCOUNT_CLOSED",
        "LAYBY_CLOSED",
        "SAVED",
    ];
    if snapshot.voided {
        "VOIDED"
    } else {
        STATUSES[(hash(&[seed, 77, snapshot.index as u64]) % STATUSES.len() as u64) as usize]
    }
}

pub(crate) fn line_item_count(seed: u64, snapshot: &RecordSnapshot) -> u32 {
    1 + (hash(&[
        seed,
        5,
        snapshot.index as u64,
        snapshot.line_revision as u64,
    ]) % 5) as u32
}

pub(crate) fn line_item_ids(seed: u64, snapshot: &RecordSnapshot) -> Vec<String> {
    (0..line_item_count(seed, snapshot))
        .map(|position| {
            opaque_id(&[
                seed,
                space::LINE_ITEM,
                snapshot.index as u64,
                snapshot.line_revision as u64,
                position as u64,
            ])
        })
        .collect()
}

pub(crate) fn payment_id(seed: u64, snapshot: &RecordSnapshot) -> String {
    opaque_id(&[seed, space::PAYMENT, snapshot.index as u64])
}
