//! Where the lab's calls go and how they fail: the target and its clients, AWS errors that keep
//! the service's code (with hints), retries for eventual consistency and throttling, the shared
//! HTTPS client, and fault injection for tests (feature `test-util`).

pub mod error;
#[cfg(feature = "test-util")]
pub mod faults;
pub mod form_encoding;
pub mod http;
pub mod pace;
pub mod retry;
pub mod target;
