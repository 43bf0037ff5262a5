//! Finds a page's records in its body: the byte span and `version` of every element of the
//! envelope's `data` array, and `version.max`, in one pass. Every body goes through it: one held
//! in memory is read where it lies, one spilled to a file as a stream, never held whole. It
//! follows the envelope's structure only; each element is parsed as JSON on its own (its version
//! read, its syntax checked) as soon as it is complete.

use std::io::BufRead;
use std::ops::Range;

use super::page::{declared_max, record_version, PageError};

/// What a scan found.
#[derive(Debug, Default, PartialEq)]
pub struct ScannedEnvelope {
    pub spans: Vec<Range<usize>>,
    /// Each record's own `version`, where it has a readable one.
    pub versions: Vec<Option<i64>>,
    /// The envelope's `version.max`.
    pub declared_max: Option<i64>,
}

/// The member of the envelope a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Data,
    Version,
    PageInfo,
    Other,
}

/// The shape of the envelope's `data` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataShape {
    Missing,
    Array,
    Object,
    Other,
}

struct Scanner<'a> {
    /// The whole body when it is in memory: an element is then read where it lies, not copied.
    whole: Option<&'a [u8]>,
    offset: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Inside the envelope, a key comes next (not a value).
    expecting_key: bool,
    key: Option<Vec<u8>>,
    member: Member,
    data: DataShape,
    saw_page_info: bool,
    in_data_array: bool,
    /// Where the value of `version` starts, and its bytes.
    version_bytes: Option<Vec<u8>>,
    element_start: Option<usize>,
    element: Vec<u8>,
    last_significant: usize,
    closed: bool,
    found: ScannedEnvelope,
}

/// Scans a page body held in memory.
pub fn scan_envelope_in(body: &[u8]) -> Result<ScannedEnvelope, PageError> {
    let mut scanner = Scanner::new(Some(body));
    scanner.feed(body)?;
    scanner.finish()
}

/// Scans a page body from `reader`.
pub fn scan_envelope(mut reader: impl BufRead) -> Result<ScannedEnvelope, PageError> {
    let mut scanner = Scanner::new(None);
    loop {
        let buffer = reader
            .fill_buf()
            .map_err(|err| PageError::Envelope(format!("the body could not be read: {err}")))?;
        if buffer.is_empty() {
            break;
        }
        let length = buffer.len();
        scanner.feed(buffer)?;
        reader.consume(length);
    }
    scanner.finish()
}

impl<'a> Scanner<'a> {
    fn new(whole: Option<&'a [u8]>) -> Scanner<'a> {
        Scanner {
            whole,
            offset: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            expecting_key: false,
            key: None,
            member: Member::Other,
            data: DataShape::Missing,
            saw_page_info: false,
            in_data_array: false,
            version_bytes: None,
            element_start: None,
            element: Vec::new(),
            last_significant: 0,
            closed: false,
            found: ScannedEnvelope::default(),
        }
    }
}

impl Scanner<'_> {
    /// The next bytes of the body, in order.
    fn feed(&mut self, chunk: &[u8]) -> Result<(), PageError> {
        let mut at = 0;
        while at < chunk.len() {
            at += self.skip_inside_string(&chunk[at..]);
            if let Some(&byte) = chunk.get(at) {
                self.byte(byte)?;
                at += 1;
            }
        }
        Ok(())
    }

    /// Inside a string value (not a key, nor `version`'s value, whose bytes are kept), jumps to
    /// the next quote or backslash of `rest`, the only bytes that matter there; returns how
    /// many bytes it passed over (copied whole into the element being read, when the body is
    /// not held). Most of a page is string contents.
    #[inline]
    fn skip_inside_string(&mut self, rest: &[u8]) -> usize {
        if !self.in_string || self.escaped || self.key.is_some() || self.version_bytes.is_some() {
            return 0;
        }
        let skip = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
        if skip > 0 {
            if self.element_start.is_some() && self.whole.is_none() {
                self.element.extend_from_slice(&rest[..skip]);
            }
            self.offset += skip;
            self.last_significant = self.offset - 1;
        }
        skip
    }

    #[inline(always)]
    fn byte(&mut self, byte: u8) -> Result<(), PageError> {
        if self.element_start.is_some() && self.whole.is_none() {
            self.element.push(byte);
        }
        if let Some(bytes) = &mut self.version_bytes {
            bytes.push(byte);
        }
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
                if let Some(key) = self.key.take() {
                    self.member = match key.as_slice() {
                        b"data" => Member::Data,
                        b"version" => Member::Version,
                        b"page_info" => Member::PageInfo,
                        _ => Member::Other,
                    };
                    self.saw_page_info |= self.member == Member::PageInfo;
                    self.last_significant = self.offset;
                    self.offset += 1;
                    return Ok(());
                }
            } else if let Some(key) = &mut self.key {
                key.push(byte);
            }
            self.last_significant = self.offset;
            self.offset += 1;
            return Ok(());
        }
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'}' | b']' => {
                if self.depth == 0 {
                    return Err(self.not_an_envelope());
                }
                if self.depth == 2 && self.in_data_array && byte == b']' {
                    self.finish_element()?;
                    self.in_data_array = false;
                }
                if self.depth == 1 {
                    self.finish_member()?;
                }
                self.depth -= 1;
                if self.depth == 0 {
                    self.closed = true;
                }
                self.last_significant = self.offset;
            }
            b',' => {
                if self.depth == 2 && self.in_data_array {
                    self.finish_element()?;
                } else if self.depth == 1 {
                    self.finish_member()?;
                    self.expecting_key = true;
                }
                self.last_significant = self.offset;
            }
            b':' if self.depth == 1 => {
                self.expecting_key = false;
                self.last_significant = self.offset;
            }
            _ => {
                self.token_starts(byte)?;
                match byte {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => {
                        self.depth += 1;
                        if self.depth == 1 {
                            self.expecting_key = true;
                        }
                    }
                    _ => {}
                }
                self.last_significant = self.offset;
            }
        }
        self.offset += 1;
        Ok(())
    }

    /// A token (string, container or scalar) starts at the current byte.
    fn token_starts(&mut self, byte: u8) -> Result<(), PageError> {
        if self.closed || (self.depth == 0 && byte != b'{') {
            // A JSON value of another kind, or not JSON at all (an HTML error page).
            let json_value = matches!(byte, b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n');
            return Err(if self.closed || json_value {
                self.not_an_envelope()
            } else {
                self.not_json()
            });
        }
        if self.depth == 1 {
            if self.expecting_key {
                if byte != b'"' {
                    return Err(self.not_json());
                }
                self.key = Some(Vec::new());
                return Ok(());
            }
            match self.member {
                Member::Data => {
                    self.data = match byte {
                        b'[' => DataShape::Array,
                        b'{' => DataShape::Object,
                        _ => DataShape::Other,
                    };
                    self.in_data_array = byte == b'[';
                }
                Member::Version if self.version_bytes.is_none() => {
                    self.version_bytes = Some(vec![byte]);
                }
                Member::Version => {}
                Member::PageInfo | Member::Other => {}
            }
        } else if self.depth == 2 && self.in_data_array && self.element_start.is_none() {
            self.element_start = Some(self.offset);
            if self.whole.is_none() {
                self.element.clear();
                self.element.push(byte);
            }
        }
        Ok(())
    }

    /// The current element of `data` ended before the current byte.
    fn finish_element(&mut self) -> Result<(), PageError> {
        let Some(start) = self.element_start.take() else {
            return Ok(());
        };
        let end = self.last_significant + 1;
        let index = self.found.spans.len();
        let text = match self.whole {
            Some(body) => &body[start..end],
            None => &self.element[..end - start],
        };
        let version = match record_version(text) {
            Ok(version) => version,
            Err(err) if err.is_data() => None,
            Err(err) => {
                return Err(PageError::Record {
                    index,
                    reason: format!("a record is not valid JSON: {err}"),
                })
            }
        };
        self.found.spans.push(start..end);
        self.found.versions.push(version);
        Ok(())
    }

    /// The value of an envelope member ended before the current byte.
    fn finish_member(&mut self) -> Result<(), PageError> {
        if let Some(mut bytes) = self.version_bytes.take() {
            // The bytes pushed since the value ended (the current byte, whitespace) go.
            let start = self.offset + 1 - bytes.len();
            bytes.truncate(self.last_significant + 1 - start);
            self.found.declared_max = declared_max(&bytes)
                .map_err(|err| PageError::Envelope(format!("`version` is not an object: {err}")))?;
        }
        self.member = Member::Other;
        Ok(())
    }

    fn not_json(&self) -> PageError {
        PageError::Envelope(format!("the body is not JSON (at byte {})", self.offset))
    }

    fn not_an_envelope(&self) -> PageError {
        PageError::Envelope(format!(
            "the JSON does not have the expected shape at byte {}",
            self.offset
        ))
    }

    fn finish(self) -> Result<ScannedEnvelope, PageError> {
        if !self.closed {
            return Err(PageError::Envelope(
                "the body ends early (truncated)".into(),
            ));
        }
        match self.data {
            DataShape::Array => Ok(self.found),
            DataShape::Object if self.saw_page_info => Err(PageError::PagedById),
            DataShape::Missing => Err(PageError::Envelope(
                "the JSON does not have the expected shape: missing field `data`".into(),
            )),
            DataShape::Object | DataShape::Other => Err(PageError::Envelope(
                "the JSON does not have the expected shape: `data` is not an array".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Both ways of scanning, which must agree: a reader with a tiny buffer (every token
    /// straddles reads somewhere) and the body in memory.
    fn scan(body: &str) -> Result<ScannedEnvelope, PageError> {
        let streamed = scan_envelope(std::io::BufReader::with_capacity(3, body.as_bytes()));
        let held = scan_envelope_in(body.as_bytes());
        assert_eq!(streamed, held, "the two scans of {body:?} differ");
        streamed
    }

    fn texts<'a>(body: &'a str, found: &ScannedEnvelope) -> Vec<&'a str> {
        found.spans.iter().map(|span| &body[span.clone()]).collect()
    }

    #[test]
    fn records_spans_versions_and_the_declared_max_are_found() {
        let body = r#" { "version" : {"min": 1, "max": "42"} , "data": [ {"id":"a","version":7,"n":"x,]}"} ,
            {"id":"b","version":"9","l":[1,{"v":2}]},{"id":"c"} ] , "extra": [[]] } "#;
        let found = scan(body).unwrap();
        assert_eq!(
            texts(body, &found),
            vec![
                r#"{"id":"a","version":7,"n":"x,]}"}"#,
                r#"{"id":"b","version":"9","l":[1,{"v":2}]}"#,
                r#"{"id":"c"}"#
            ]
        );
        assert_eq!(found.versions, vec![Some(7), Some(9), None]);
        assert_eq!(found.declared_max, Some(42));
    }

    #[test]
    fn it_agrees_with_the_in_memory_parse() {
        let body = r#"{"data":[{"id":"a","version":5,"s":"q\"uo\\te"},{"id":"b","version":9}],"version":{"max":9}}"#;
        let found = scan(body).unwrap();
        let (spans, declared) = super::super::page::parse_envelope(body.as_bytes()).unwrap();
        assert_eq!(found.spans, spans);
        assert_eq!(found.declared_max, declared);
        assert_eq!(scan(r#"{"data":[]}"#).unwrap(), ScannedEnvelope::default());
    }

    #[test]
    fn a_broken_body_is_refused_with_a_reason() {
        let truncated = scan(r#"{"data":[{"id":"a","version":5},{"id":"#);
        assert_eq!(
            truncated,
            Err(PageError::Envelope(
                "the body ends early (truncated)".into()
            ))
        );
        assert!(matches!(
            scan(r#"{"data":[{"id":"a","version":5,}]}"#),
            Err(PageError::Record { index: 0, .. })
        ));
        assert!(matches!(scan(r#"[1,2]"#), Err(PageError::Envelope(_))));
        assert!(matches!(
            scan(r#"{"rows":[]}"#),
            Err(PageError::Envelope(_))
        ));
        assert!(matches!(
            scan(r#"{"data":{}} x"#),
            Err(PageError::Envelope(_))
        ));
        assert_eq!(
            scan(r#"{"page_info":{"has_next":false},"data":{"categories":[]}}"#),
            Err(PageError::PagedById)
        );
        assert_eq!(
            scan(r#"{"version":null,"data":[]}"#).unwrap().declared_max,
            None
        );
        assert!(matches!(
            scan(r#"{"version":12,"data":[]}"#),
            Err(PageError::Envelope(_))
        ));
        // An element that is not an object has no version; decoding it says why.
        assert_eq!(scan(r#"{"data":[5]}"#).unwrap().versions, vec![None]);
    }

    proptest! {
        /// Wherever the read boundaries fall, a well-formed page scans to the spans and max
        /// the in-memory parse finds.
        #[test]
        fn scanning_agrees_with_parsing(
            body in r#"\{ ?("extra":\[\{"a":"[,\]\}a]{0,3}(\\\\\\")?"\}\], ?)?"data": ?\[( ?\{"id":"[a-z,\]\[\{:]{0,4}","version":("[0-9]{1,6}"|[1-9][0-9]{0,5}|null),"n":(\[1,\{"x":\[\]\}\]|"\\\\\\"x"|-1\.5e3|true)\} ?,){0,5}\{"id":"z","version":9\}\] ?(, ?"version": ?\{"min":1,"max":("[0-9]{1,4}"|[1-9][0-9]{0,3}|null)\})? ?\}"#,
            capacity in 1usize..16,
        ) {
            let (spans, declared) = super::super::page::parse_envelope(body.as_bytes()).unwrap();
            let found = scan_envelope(std::io::BufReader::with_capacity(capacity, body.as_bytes())).unwrap();
            prop_assert_eq!(found.spans, spans);
            prop_assert_eq!(found.declared_max, declared);
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = scan_envelope(body.as_slice());
        }
    }
}
