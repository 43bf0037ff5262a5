//! A response body as received: in memory, or, once it outgrows `SPILL_BYTES`, in an unnamed
//! temporary file (gone when dropped), so a page of 10,000 sales is never held whole in memory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use bytes::Bytes;

use super::error::ApiError;

/// Bodies larger than this go to a file as they arrive.
pub const SPILL_BYTES: usize = 4 << 20;

/// How much of a spilled error body is read back to explain the error.
const ERROR_DETAIL_BYTES: u64 = 64 << 10;

#[derive(Debug)]
pub enum Body {
    Memory(Bytes),
    Spilled { file: File, length: usize },
}

impl Body {
    pub fn len(&self) -> usize {
        match self {
            Body::Memory(bytes) => bytes.len(),
            Body::Spilled { length, .. } => *length,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole body in memory (small bodies: error answers, child pages).
    pub fn into_memory(self) -> std::io::Result<Bytes> {
        match self {
            Body::Memory(bytes) => Ok(bytes),
            Body::Spilled { mut file, length } => {
                let mut bytes = Vec::with_capacity(length);
                file.seek(SeekFrom::Start(0))?;
                file.read_to_end(&mut bytes)?;
                Ok(Bytes::from(bytes))
            }
        }
    }

    /// The start of the body, enough to explain an error answer.
    pub fn head(&self) -> Vec<u8> {
        match self {
            Body::Memory(bytes) => bytes.to_vec(),
            Body::Spilled { file, .. } => {
                let mut head = Vec::new();
                let _ = file.take(ERROR_DETAIL_BYTES).read_to_end(&mut head);
                head
            }
        }
    }

    /// The bytes in `range`.
    pub fn read(&self, range: Range<usize>) -> std::io::Result<Bytes> {
        match self {
            Body::Memory(bytes) => Ok(bytes.slice(range)),
            Body::Spilled { file, .. } => {
                let mut buffer = vec![0; range.len()];
                file.read_exact_at(&mut buffer, range.start as u64)?;
                Ok(Bytes::from(buffer))
            }
        }
    }
}

/// Collects a response body: in one buffer sized from `Content-Length` when it is small, in an
/// unnamed file in `spill_dir` once it outgrows `SPILL_BYTES`.
pub async fn read_body(
    mut response: reqwest::Response,
    spill_dir: &Path,
) -> Result<Body, ApiError> {
    let cut = |err: reqwest::Error| {
        if err.is_timeout() {
            ApiError::Timeout
        } else {
            ApiError::BodyCut(root_cause(&err))
        }
    };
    let spill_failed = |err: std::io::Error| {
        ApiError::Spill(format!(
            "cannot write a large response body to {}: {err}",
            spill_dir.display()
        ))
    };
    let hint = response.content_length().unwrap_or(0) as usize;
    let mut memory = Vec::with_capacity(hint.min(SPILL_BYTES));
    let mut spilled: Option<(File, usize)> = None;
    while let Some(chunk) = response.chunk().await.map_err(cut)? {
        if let Some((file, length)) = &mut spilled {
            // Writes land in the page cache; they do not wait for the disk.
            file.write_all(&chunk).map_err(spill_failed)?;
            *length += chunk.len();
        } else if memory.len() + chunk.len() > SPILL_BYTES {
            let mut file = tempfile::tempfile_in(spill_dir).map_err(spill_failed)?;
            file.write_all(&memory).map_err(spill_failed)?;
            file.write_all(&chunk).map_err(spill_failed)?;
            spilled = Some((file, memory.len() + chunk.len()));
            memory = Vec::new();
        } else {
            memory.extend_from_slice(&chunk);
        }
    }
    Ok(match spilled {
        Some((mut file, length)) => {
            file.seek(SeekFrom::Start(0)).map_err(spill_failed)?;
            Body::Spilled { file, length }
        }
        None => Body::Memory(Bytes::from(memory)),
    })
}

/// The innermost cause of a transport error, without the URL (which is harmless but noisy).
pub fn root_cause(err: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}
