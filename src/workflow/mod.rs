//! The case workflow: 交办 → 签收 → 办理 → 办结, 退单, 重办 and merges, each a transition taken
//! by an authenticated person (or `system:<stage>`), checked against the case's state and the
//! caller's roles, and recorded with its audit entry in the same transaction.
//!
//! - [`machine`]: the states, the actions, which action is legal from which state, and who
//!   may take it (pure rules).
//! - [`transition`]: taking one in a decision transaction (state, transition record, answer,
//!   audit entry together).
//! - [`service`]: one transition with its transaction, and the re-route an `assign` to another
//!   queue is.
//! - [`entry`]: cases entering and moving as routing decides (`system:assign`).
//! - [`assign`]: which investigator of a unit works on a case it accepts.
//! - [`clocks`]: the case's deadline following every step.
//! - [`extension`]: 延期 requests, approved or denied by triage.
//! - [`follow_up`]: 回访 after the answer, with the reopen an unhappy verdict may ask for.

pub mod assign;
pub mod clocks;
pub mod entry;
pub mod extension;
pub mod follow_up;
pub mod machine;
pub mod service;
pub mod transition;

pub use machine::{Action, Finding, State};
pub use transition::{Details, Outcome, WorkflowError, take};
