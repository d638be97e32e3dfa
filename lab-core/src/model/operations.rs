//! API operations as the aws CLI's errors and the SDKs name them (`ListBuckets`), and the IAM action
//! each needs (`s3:ListAllMyBuckets`): a learner asks about the one their error named and means
//! the other. Pure.

use anyhow::{Result, bail};

/// `(service, operation, action)` where the action a policy names is not `service:Operation`.
const RENAMED: &[(&str, &str, &str)] = &[
    ("s3", "ListBuckets", "s3:ListAllMyBuckets"),
    ("s3", "ListObjects", "s3:ListBucket"),
    ("s3", "ListObjectsV2", "s3:ListBucket"),
    ("s3", "HeadBucket", "s3:ListBucket"),
    ("s3", "HeadObject", "s3:GetObject"),
    ("s3", "ListObjectVersions", "s3:ListBucketVersions"),
    ("s3", "DeleteObjects", "s3:DeleteObject"),
    ("s3", "CopyObject", "s3:PutObject"),
    ("s3", "CreateMultipartUpload", "s3:PutObject"),
    ("s3", "UploadPart", "s3:PutObject"),
    ("s3", "CompleteMultipartUpload", "s3:PutObject"),
    ("s3", "ListMultipartUploads", "s3:ListBucketMultipartUploads"),
    ("s3", "PutBucketEncryption", "s3:PutEncryptionConfiguration"),
    ("s3", "GetBucketEncryption", "s3:GetEncryptionConfiguration"),
    ("s3", "PutBucketLifecycleConfiguration", "s3:PutLifecycleConfiguration"),
    ("s3", "GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration"),
    ("s3", "PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    ("s3", "GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    ("s3", "DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    ("s3", "PutBucketCors", "s3:PutBucketCORS"),
    ("s3", "GetBucketCors", "s3:GetBucketCORS"),
];

/// What a learner asked about: the IAM action, and the operation they named when it is not the
/// action's own name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub action: String,
    /// `s3:ListBuckets`, when that is what was typed.
    pub operation: Option<String>,
}

/// `s3:ListAllMyBuckets`, `s3:ListBuckets` (an operation, said as its action) or `ListBuckets`
/// (the service found by the operation): the action a policy must allow.
pub fn asked(input: &str) -> Result<Asked> {
    let input = input.trim();
    let found = match input.split_once(':') {
        Some((service, name)) => RENAMED
            .iter()
            .find(|(s, op, _)| s.eq_ignore_ascii_case(service) && op.eq_ignore_ascii_case(name)),
        None => RENAMED.iter().find(|(_, op, _)| op.eq_ignore_ascii_case(input)),
    };
    if let Some((service, operation, action)) = found {
        return Ok(Asked {
            action: (*action).to_owned(),
            operation: Some(format!("{service}:{operation}")),
        });
    }
    match input.split_once(':') {
        Some((service, name)) if !service.is_empty() && !name.is_empty() => Ok(Asked {
            action: input.to_owned(),
            operation: None,
        }),
        _ => bail!(
            "{input:?} names no action: give service:Action as a policy does (s3:ListAllMyBuckets), or the operation an error named (s3:ListBuckets)"
        ),
    }
}

/// Whether an S3 action is on an object (its resource `bucket/key`), not on a bucket.
pub fn on_object(action: &str) -> bool {
    let name = action.strip_prefix("s3:").unwrap_or_default();
    name.contains("Object") || name == "AbortMultipartUpload" || name == "ListMultipartUploadParts"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_is_said_as_the_action_it_needs() {
        let ls = asked("s3:ListBuckets").unwrap();
        assert_eq!(ls.action, "s3:ListAllMyBuckets");
        assert_eq!(ls.operation.as_deref(), Some("s3:ListBuckets"));
        assert_eq!(asked("ListBuckets").unwrap().action, "s3:ListAllMyBuckets");
        assert_eq!(asked("s3:listobjectsv2").unwrap().action, "s3:ListBucket");
        let same = asked("s3:CreateBucket").unwrap();
        assert_eq!((same.action.as_str(), same.operation), ("s3:CreateBucket", None));
        assert!(asked("ListThings").unwrap_err().to_string().contains("service:Action"));
        assert!(on_object("s3:GetObject") && !on_object("s3:CreateBucket"));
    }
}
