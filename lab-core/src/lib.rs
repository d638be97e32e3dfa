//! sts-lab's library: the AWS operations of the "least-privilege user assumes a role" lab, the
//! lab's phases built from them, and the pure logic apart from I/O (names, policies, AWS files).

pub mod awsfiles;
pub mod class;
pub mod credfile;
pub mod emulator;
pub mod error;
pub mod expiry;
pub mod explain;
pub mod faults;
pub mod form_encoding;
pub mod http;
pub mod lab;
pub mod names;
pub mod ops;
pub mod output;
pub mod policy;
pub mod report;
pub mod retry;
pub mod secret;
pub mod status;
pub mod sweep;
pub mod target;
