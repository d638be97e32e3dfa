//! Thin async wrappers, one per AWS operation the lab uses. Creating what exists and deleting
//! what is gone are not errors.

pub mod account_documents;
pub mod attachments;
pub mod boundary;
pub mod bucket_policy;
pub mod cfn;
pub mod cloudtrail;
pub mod iam;
pub mod objects;
pub mod policies;
pub mod s3;
pub mod stack_board;
pub mod sts;
pub mod tags;

/// What a create call found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    AlreadyThere,
}

/// What a delete call found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Deleted,
    WasGone,
}
