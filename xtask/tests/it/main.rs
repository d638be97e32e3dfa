//! The integration tests, in one binary: each test starts its own emulator on a free port, and the
//! suites run side by side (RUST_TEST_THREADS in .cargo/config.toml), so the slowest test sets the
//! time, not the sum of the suites.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test says what failed by panicking

mod common;

mod boundaries;
mod challenges;
mod class;
mod classroom;
mod decisions;
mod decisions_cli;
mod documented;
mod emulator_layers;
mod expiry;
mod first_hour;
mod lab;
mod lesson_truths;
mod lessons;
mod output;
mod policy_kinds;
mod proofs;
mod real_admins;
mod realistic;
mod resilience;
mod tidy;
mod trail;
mod watch;
