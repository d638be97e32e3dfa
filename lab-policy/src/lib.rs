//! IAM's decisions, offline and pure: `decide` (one request, from the documents in play, as AWS
//! evaluates it, with the statement that decided it and what would change it) and `prove` (that
//! documents allow exactly a goal's requests, over every request of the catalog, or a
//! counterexample). Its own crate so that the proofs' hot loops are optimised in every build
//! (`[profile.dev.package.lab-policy]`), without optimising the whole of lab-core.

pub mod decide;
pub mod prove;
pub mod serve;
pub mod time;
