//! Pure facts of a lab, no I/O: its names, the policies and template it deploys, how AWS decides a
//! request from them (`decide`), its time to live and time formats, and secrets that never print.

pub mod decide;
pub mod expiry;
pub mod names;
pub mod operations;
pub mod policy;
pub mod secret;
