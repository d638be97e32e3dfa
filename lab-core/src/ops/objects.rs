//! S3 object operations a challenge makes: an object put in a bucket it sets up, and the reads
//! and writes a session makes to confirm what the documents decide.

use anyhow::Result;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use crate::aws::error::aws;

/// Puts `body` as `key` in `bucket`.
pub async fn put_object(s3: &Client, bucket: &str, key: &str, body: &str) -> Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .map_err(aws("PutObject"))?;
    Ok(())
}

/// The keys of the first page of `bucket`'s objects.
pub async fn list_objects(s3: &Client, bucket: &str) -> Result<Vec<String>> {
    let out = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .map_err(aws("ListObjectsV2"))?;
    Ok(out
        .contents
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| o.key)
        .collect())
}

/// Reads `key` of `bucket` (its length in bytes).
pub async fn get_object(s3: &Client, bucket: &str, key: &str) -> Result<usize> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(aws("GetObject"))?;
    let body = out.body.collect().await?;
    Ok(body.into_bytes().len())
}

/// Deletes `key` of `bucket` (nothing when it is not there).
pub async fn delete_object(s3: &Client, bucket: &str, key: &str) -> Result<()> {
    s3.delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(aws("DeleteObject"))?;
    Ok(())
}
