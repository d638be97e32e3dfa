//! The AWS credentials and config files: pure editing of the sections the lab owns (`credfile`),
//! and their safe writing on disk (`awsfiles`).

pub mod awsfiles;
pub mod credfile;
