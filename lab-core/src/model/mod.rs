//! Pure facts of a lab, no I/O: its names, the policies and template it deploys, how AWS decides a
//! request from them (`decide`, and what would change a refusal: `decide::fix`, ranked for a learner: `advice`), its time to live
//! and time formats, secrets that never print, and CloudTrail records as the lab reads them.

pub mod advice;
pub mod command;
pub mod expiry;
pub mod names;
pub mod operations;
pub mod policy;

/// IAM's decisions and the proofs, from their own crate (`lab-policy`), where lab-core has always
/// reached them.
pub use lab_policy::{decide, prove, serve};
pub mod secret;
pub mod shell;
pub mod trail;
