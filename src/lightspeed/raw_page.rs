//! A list page as received: its body and where each record's text lies in it, with the page's
//! max version (the next `after`). Records are decoded later, a chunk at a time, so a page of
//! 10,000 sales is never held decoded at once, and a page is cut into chunks at versions that
//! are safe cursors. Pure code.

use std::ops::Range;

use super::body::Body;
use super::envelope_scan::{scan_envelope, scan_envelope_in};
use super::page::{record_version, PageError};
use super::records::{decode_record, Record, Sorted};
use crate::entity::{Entity, Quarantined, VersionSource};

/// A page's records as text, not yet decoded.
#[derive(Debug)]
pub struct RawPage {
    /// In memory, or spilled to a file when large (then read back a run at a time).
    body: Body,
    spans: Vec<Range<usize>>,
    /// The envelope's `version.max`.
    declared_max: Option<i64>,
    /// Each record's own `version`, read when the page is parsed without a declared max or
    /// cut into chunks.
    versions: Option<Vec<Option<i64>>>,
    /// The next `after`: the declared max, or the largest record version. `None` on an empty
    /// page.
    pub max_version: Option<i64>,
}

/// A run of a page's records spooled and applied as one batch: versions `after` (exclusive)
/// to `max_version`, where fetching would continue if the run stopped after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub after: i64,
    pub max_version: i64,
    pub records: Range<usize>,
}

/// How large a run of records may grow: whichever limit is reached first ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimit {
    pub records: usize,
    pub bytes: usize,
}

impl RunLimit {
    /// A limit of `records` records only.
    pub const fn records(records: usize) -> RunLimit {
        RunLimit {
            records,
            bytes: usize::MAX,
        }
    }
}

impl RawPage {
    /// Parses the envelope of a page requested with `after` and checks that it advances. Every
    /// body, held or spilled, is scanned (`envelope_scan`), which finds each
    /// record's span and version in one pass.
    pub fn parse(after: i64, body: Body) -> Result<RawPage, PageError> {
        let found = match &body {
            Body::Memory(bytes) => scan_envelope_in(bytes)?,
            Body::Spilled { file, .. } => {
                scan_envelope(std::io::BufReader::with_capacity(256 << 10, file))?
            }
        };
        let (spans, declared_max, versions) =
            (found.spans, found.declared_max, Some(found.versions));
        let mut page = RawPage {
            body,
            spans,
            declared_max,
            versions,
            max_version: None,
        };
        if page.spans.is_empty() {
            return Ok(page);
        }
        let max_version = match declared_max {
            Some(max) => max,
            None => page
                .record_versions()?
                .iter()
                .flatten()
                .copied()
                .max()
                .ok_or_else(|| {
                    PageError::Envelope(
                        "neither the envelope nor any record has a version to page by".into(),
                    )
                })?,
        };
        if max_version <= after {
            return Err(PageError::LoopGuard { after, max_version });
        }
        page.max_version = Some(max_version);
        Ok(page)
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The JSON texts of the records in `range`, as received.
    pub fn texts(&self, range: Range<usize>) -> Result<Vec<String>, PageError> {
        self.with_texts(range, |_, text| Ok(text.to_string()))
    }

    /// Decodes the records in `range` as records of `entity`; any without a usable identity
    /// fails the page.
    pub fn decode(&self, entity: Entity, range: Range<usize>) -> Result<Vec<Record>, PageError> {
        self.with_texts(range, |index, text| {
            decode_record(entity, text, self.declared_max).map_err(|err| PageError::Record {
                index,
                reason: err.to_string(),
            })
        })
    }

    /// Decodes the records in `range` as records of `entity`, setting aside those without a
    /// usable identity (the rest of the page still lands).
    pub fn decode_or_quarantine(
        &self,
        entity: Entity,
        range: Range<usize>,
    ) -> Result<Sorted, PageError> {
        let mut sorted = Sorted::default();
        self.with_texts(range, |_, text| {
            match decode_record(entity, text, self.declared_max) {
                Ok(record) => sorted.records.push(record),
                Err(err) => sorted.quarantined.push(Quarantined {
                    reason: err.to_string(),
                    raw: text.to_string(),
                }),
            }
            Ok(())
        })?;
        Ok(sorted)
    }

    /// Calls `each` with the text of every record in `range`, read from the body once.
    fn with_texts<T>(
        &self,
        range: Range<usize>,
        mut each: impl FnMut(usize, &str) -> Result<T, PageError>,
    ) -> Result<Vec<T>, PageError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let base = self.spans[range.start].start;
        let run = self
            .body
            .read(base..self.spans[range.end - 1].end)
            .map_err(|err| PageError::Envelope(format!("cannot read back the page: {err}")))?;
        range
            .map(|index| {
                let span = &self.spans[index];
                let text = std::str::from_utf8(&run[span.start - base..span.end - base]).map_err(
                    |_| PageError::Record {
                        index,
                        reason: "a record is not UTF-8".into(),
                    },
                )?;
                each(index, text)
            })
            .collect()
    }

    /// Cuts the page of `entity` (requested with `after`) into runs within `limit` (records and
    /// raw bytes; a run holds at least one record). A run ends at a safe cursor: one below the
    /// lowest version of every later record, so fetching from it again returns exactly the
    /// records not yet spooled (a run whose records reach above it grows into the next).
    /// Records without their own version (paged by the envelope's max) keep the page whole.
    pub fn chunks(&mut self, entity: Entity, after: i64, limit: RunLimit) -> Vec<Chunk> {
        let Some(max_version) = self.max_version else {
            return Vec::new();
        };
        let whole = vec![Chunk {
            after,
            max_version,
            records: 0..self.len(),
        }];
        let fits = self.len() <= limit.records.max(1) && self.bytes(0..self.len()) <= limit.bytes;
        if fits || entity.spec().version != VersionSource::Own {
            return whole;
        }
        let Ok(versions) = self.record_versions() else {
            return whole;
        };
        let Some(versions) = versions.iter().copied().collect::<Option<Vec<i64>>>() else {
            // A record without a version fails to decode; the whole page reports it.
            return whole;
        };
        // lowest_from[i]: the lowest version of records i.. .
        let mut lowest_from = vec![i64::MAX; versions.len() + 1];
        for index in (0..versions.len()).rev() {
            lowest_from[index] = lowest_from[index + 1].min(versions[index]);
        }
        let mut chunks = Vec::new();
        let (mut start, mut cursor, mut run_bytes) = (0, after, 0);
        // A run may end before record `end` (one past its last record).
        for (end, lowest_after) in lowest_from.iter().enumerate().take(versions.len()).skip(1) {
            run_bytes += self.spans[end - 1].len();
            if end - start < limit.records && run_bytes < limit.bytes {
                continue;
            }
            let boundary = lowest_after - 1;
            if boundary > cursor && boundary < max_version {
                chunks.push(Chunk {
                    after: cursor,
                    max_version: boundary,
                    records: start..end,
                });
                (start, cursor, run_bytes) = (end, boundary, 0);
            }
        }
        chunks.push(Chunk {
            after: cursor,
            max_version,
            records: start..versions.len(),
        });
        chunks
    }

    /// The raw bytes of the records in `range`.
    pub fn bytes(&self, range: Range<usize>) -> usize {
        self.spans[range].iter().map(|span| span.len()).sum()
    }

    /// Each record's own version, read once (a spilled page's were read by its scan).
    fn record_versions(&mut self) -> Result<&[Option<i64>], PageError> {
        if self.versions.is_none() {
            let versions = self.with_texts(0..self.len(), |index, text| {
                record_version(text.as_bytes()).map_err(|_| PageError::Record {
                    index,
                    reason: "a record is not a JSON object".into(),
                })
            })?;
            self.versions = Some(versions);
        }
        Ok(self.versions.as_deref().expect("just read"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn page(versions: &[i64], declared: Option<i64>) -> RawPage {
        let records: Vec<String> = versions
            .iter()
            .enumerate()
            .map(|(index, version)| format!("{{\"id\":\"r{index}\",\"version\":{version}}}"))
            .collect();
        let envelope = match declared {
            Some(max) => format!(",\"version\":{{\"min\":1,\"max\":{max}}}"),
            None => String::new(),
        };
        let body = format!("{{\"data\":[{}]{envelope}}}", records.join(","));
        RawPage::parse(0, Body::Memory(Bytes::from(body))).unwrap()
    }

    #[test]
    fn ascending_pages_are_cut_below_the_next_record() {
        let mut raw = page(&[10, 20, 30, 40, 50], Some(50));
        let chunks = raw.chunks(Entity::Sales, 5, RunLimit::records(2));
        assert_eq!(
            chunks,
            vec![
                Chunk {
                    after: 5,
                    max_version: 29,
                    records: 0..2
                },
                Chunk {
                    after: 29,
                    max_version: 49,
                    records: 2..4
                },
                Chunk {
                    after: 49,
                    max_version: 50,
                    records: 4..5
                },
            ]
        );
        assert_eq!(
            raw.decode(Entity::Sales, chunks[1].records.clone())
                .unwrap()[0]
                .id,
            "r2"
        );
    }

    #[test]
    fn a_record_out_of_order_moves_the_cut_so_nothing_is_skipped() {
        // Record 3 (version 15) is below records 1 and 2: a cursor at 29 would skip it.
        let mut raw = page(&[10, 20, 30, 15, 50, 60], None);
        assert_eq!(raw.max_version, Some(60));
        let chunks = raw.chunks(Entity::Sales, 0, RunLimit::records(2));
        for pair in chunks.windows(2) {
            assert_eq!(pair[0].max_version, pair[1].after);
        }
        for chunk in &chunks {
            // Every record after the chunk is above its cursor.
            let later = chunk.records.end..6;
            assert!(later
                .map(|i| [10, 20, 30, 15, 50, 60][i])
                .all(|v| v > chunk.max_version));
        }
        assert_eq!(chunks.last().unwrap().max_version, 60);
        assert_eq!(chunks.iter().map(|c| c.records.len()).sum::<usize>(), 6);
    }

    #[test]
    fn a_run_also_ends_at_its_byte_limit() {
        let mut raw = page(&[10, 20, 30, 40, 50], Some(50));
        let record = raw.bytes(0..1);
        let limit = RunLimit {
            records: 1000,
            bytes: record * 2,
        };
        let chunks = raw.chunks(Entity::Sales, 0, limit);
        let runs: Vec<_> = chunks.iter().map(|chunk| chunk.records.clone()).collect();
        assert_eq!(runs, vec![0..2, 2..4, 4..5]);
        assert_eq!(chunks[0].max_version, 29);
        let whole = RunLimit {
            records: 1000,
            bytes: raw.bytes(0..5),
        };
        assert_eq!(raw.chunks(Entity::Sales, 0, whole).len(), 1);
    }

    #[test]
    fn small_pages_and_pages_by_envelope_stay_whole() {
        let mut raw = page(&[10, 20], Some(20));
        assert_eq!(
            raw.chunks(Entity::Sales, 0, RunLimit::records(1000)).len(),
            1
        );
        let mut raw = page(&[10, 20, 30], Some(30));
        assert_eq!(raw.chunks(Entity::Brands, 0, RunLimit::records(1)).len(), 1);
        assert!(RawPage::parse(
            30,
            Body::Memory(Bytes::from_static(b"{\"data\":[{\"version\":30}]}"))
        )
        .is_err());
        let empty = RawPage::parse(0, Body::Memory(Bytes::from_static(b"{\"data\":[]}"))).unwrap();
        assert!(empty.is_empty() && empty.max_version.is_none());
    }
}
