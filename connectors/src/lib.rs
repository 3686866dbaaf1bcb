//! Complaint channel connectors and the canonical item format.
//!
//! Everything that turns bytes from a channel into a canonical complaint item lives here, so the
//! gateway's webhook, its file import and every pull connector share one definition of what a
//! valid item is.
//!
//! Modules:
//! - [`channel`]: the closed list of channel kinds (`petition`, `hotline`, `online`, …).
//! - [`item`]: the canonical item, its lenient-but-explicit parsing, validation and content hash.
//! - [`text`]: decoding (UTF-8, BOM, GB18030/GBK from a charset or detected) and normalisation.
//! - [`body`]: splitting a request body (one object, a JSON array or JSON Lines) into raw items.
//! - [`tabular`]: reading CSV and XLSX exports into raw items, one per row.
//! - [`raw`]: [`RawItem`], the unit handed to the gateway's intake: verbatim bytes plus the parse
//!   result.
//!
//! Nothing here touches storage or the network: a parse failure is returned as a value so the
//! caller can keep the bytes in its dead-letter store.

pub mod body;
pub mod channel;
pub mod item;
pub mod raw;
pub mod tabular;
pub mod text;

pub use channel::Channel;
pub use item::{Attachment, Complainant, Item, ItemError, Location};
pub use raw::RawItem;
