//! Conformance: cases.

use super::Open;

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    let _ = open;
}
