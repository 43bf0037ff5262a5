//! The Lightspeed Retail X-Series API 2.0 client: list-endpoint requests with paging, a shared
//! rate governor, retries and token renewal, and lenient record decoding. Decoding also
//! prepares each record's `raw` text for PostgreSQL: U+0000, which `text` and `jsonb` cannot
//! hold, becomes U+FFFD (counted as an untyped field), and every object's keys are written in
//! the order `jsonb` keeps them, which spares the server a sort. It knows nothing of the
//! checkpoint store or the database.

mod body;
mod client;
pub mod credentials;
pub mod decode;
mod envelope_scan;
mod error;
mod given_back;
mod governor;
mod id_page;
mod jsonb_order;
mod page;
mod raw_object;
mod raw_page;
pub mod records;
mod request;
pub mod retry;
pub mod token_file;
mod webhooks_api;

pub use client::{Client, RequestCounters, RequestTotals};
pub use decode::FieldProblem;
pub use error::{ApiError, FetchError};
pub use governor::{RateGovernor, RatePermit};
pub use id_page::{decode_id_page, IdPage};
pub use page::{decode_child_page, decode_page, ChildPage, Page, PageError};
pub use raw_page::{Chunk, RawPage, RunLimit};
pub use records::{decode_or_quarantine, decode_record, ChildRecord, Record, Sorted};
pub use webhooks_api::StoreWebhook;
