//! A bucket's policy (S3's resource-based policy): read, written and deleted. A bucket without
//! one, or gone, has none; deleting what is not there is not an error.

use anyhow::Result;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;

use super::Deleted;
use crate::aws::error::aws;

/// The error codes of a bucket without a policy, and of a bucket that is gone.
const NONE_THERE: [&str; 2] = ["NoSuchBucketPolicy", "NoSuchBucket"];

/// The bucket's policy document, if it has one.
pub async fn get(s3: &Client, bucket: &str) -> Result<Option<String>> {
    match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => Ok(out.policy),
        Err(e) if e.code().is_some_and(|c| NONE_THERE.contains(&c)) => Ok(None),
        Err(e) => Err(aws("GetBucketPolicy")(e)),
    }
}

pub async fn put(s3: &Client, bucket: &str, document: &str) -> Result<()> {
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(document)
        .send()
        .await
        .map_err(aws("PutBucketPolicy"))?;
    Ok(())
}

pub async fn delete(s3: &Client, bucket: &str) -> Result<Deleted> {
    match s3.delete_bucket_policy().bucket(bucket).send().await {
        Ok(_) => Ok(Deleted::Deleted),
        Err(e) if e.code() == Some("NoSuchBucket") => Ok(Deleted::WasGone),
        Err(e) => Err(aws("DeleteBucketPolicy")(e)),
    }
}

pub use crate::model::policy::bucket_of;
