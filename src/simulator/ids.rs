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

pub(crate) fn record_id(seed: u64, entity: Entity, index: u32) -> String {
    opaque_id(&[seed, entity.tag() as u64, index as u64])
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
                50,
                snapshot.index as u64,
                snapshot.line_revision as u64,
                position as u64,
            ])
        })
        .collect()
}

pub(crate) fn payment_id(seed: u64, snapshot: &RecordSnapshot) -> String {
    opaque_id(&[seed, 60, snapshot.index as u64])
}
