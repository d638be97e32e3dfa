//! sts-lab's library: the AWS operations of the "least-privilege user assumes a role" lab, the
//! lab's phases built from them, and the pure logic apart from I/O.
//!
//! - `aws/`: where calls go (the target, its clients), errors that keep AWS's code, retries.
//! - `ops/`: one thin async function per AWS operation; the class's shared view of stacks.
//! - `profiles/`: the AWS credentials and config files: pure edits and safe writes.
//! - `model/`: pure facts of a lab: names, policies, how AWS decides a request, time to live, secrets.
//! - `lab/`: one lab: its phases (setup, assume, verify, cleanup), inventory, status and plans.
//! - `lessons/`: the STS ladder: lessons applied to a lab, each proven by allowed and denied requests.
//! - `challenges/`: goals the learner meets by writing the policy, graded over every request of the goal.
//! - `fleet/`: many labs: a class, and every lab of an account (sweep).
//! - `output/`: what is printed: the JSON views, the step lines, the aws CLI commands shown.
//! - `emulator/`: the local emulator: pins and install, start and stop, bootstrap, its clock.

pub mod aws;
pub mod challenges;
pub mod emulator;
pub mod fleet;
pub mod lab;
pub mod lessons;
pub mod model;
pub mod ops;
pub mod output;
pub mod profiles;
