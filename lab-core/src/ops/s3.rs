//! S3 operations: list, create, tag, empty and delete the lab's buckets.

use anyhow::Result;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier, Tag, Tagging};

use super::{Created, Deleted};
use crate::error::aws;
use crate::names::LAB_TAG_KEY;

pub async fn list_buckets(s3: &Client) -> Result<Vec<String>> {
    let buckets: Vec<_> = s3
        .list_buckets()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(aws("ListBuckets"))?;
    Ok(buckets
        .into_iter()
        .flat_map(|page| page.buckets.unwrap_or_default())
        .filter_map(|b| b.name)
        .collect())
}

/// Creates `bucket` in `region` (us-east-1 takes no location constraint), tagged with the lab in
/// the same call, so that no crash can leave an untagged lab bucket where AWS honours the tags.
/// An S3-compatible endpoint that refuses tags at creation gets the bucket without them (the
/// caller tags it with PutBucketTagging).
pub async fn create_bucket(s3: &Client, bucket: &str, region: &str, tags: &[(&str, &str)]) -> Result<Created> {
    match create_bucket_with(s3, bucket, region, tags).await {
        Err(e) if tags_refused(crate::error::error_code(&e)) => create_bucket_with(s3, bucket, region, &[]).await,
        other => other,
    }
}

/// The codes with which S3-compatible endpoints refuse `Tags` in CreateBucketConfiguration.
fn tags_refused(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("MalformedXML" | "InvalidArgument" | "NotImplemented" | "InvalidRequest")
    )
}

fn tag_list(tags: &[(&str, &str)]) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| Ok(Tag::builder().key(*k).value(*v).build()?))
        .collect()
}

async fn create_bucket_with(s3: &Client, bucket: &str, region: &str, tags: &[(&str, &str)]) -> Result<Created> {
    let mut config = CreateBucketConfiguration::builder();
    if !tags.is_empty() {
        config = config.set_tags(Some(tag_list(tags)?));
    }
    if region != "us-east-1" {
        config = config.location_constraint(BucketLocationConstraint::from(region));
    }
    match s3
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(config.build())
        .send()
        .await
    {
        Ok(_) => Ok(Created::New),
        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => Ok(Created::AlreadyThere),
        Err(e) => Err(aws("CreateBucket")(e)),
    }
}

pub async fn tag_bucket(s3: &Client, bucket: &str, tags: &[(&str, &str)]) -> Result<()> {
    let tagging = Tagging::builder().set_tag_set(Some(tag_list(tags)?)).build()?;
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging)
        .send()
        .await
        .map_err(aws("PutBucketTagging"))?;
    Ok(())
}

/// What a bucket's tags say of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketTag {
    /// The bucket is gone (S3 may still list a deleted bucket for a while).
    Gone,
    /// The value of its lab tag; None when it has no tags or no lab tag.
    Lab(Option<String>),
}

/// The bucket's lab tag, or that the bucket is gone.
pub async fn bucket_lab_tag(s3: &Client, bucket: &str) -> Result<BucketTag> {
    match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => Ok(BucketTag::Lab(
            out.tag_set.into_iter().find(|t| t.key == LAB_TAG_KEY).map(|t| t.value),
        )),
        Err(e) if e.code() == Some("NoSuchTagSet") => Ok(BucketTag::Lab(None)),
        Err(e) if e.code() == Some("NoSuchBucket") => Ok(BucketTag::Gone),
        Err(e) => Err(aws("GetBucketTagging")(e)),
    }
}

/// Deletes `bucket`; when it is not empty, deletes every object (and object version) first.
pub async fn empty_and_delete_bucket(s3: &Client, bucket: &str) -> Result<Deleted> {
    match s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(Deleted::Deleted),
        Err(e) if e.code() == Some("NoSuchBucket") => return Ok(Deleted::WasGone),
        Err(e) if e.code() == Some("BucketNotEmpty") => {}
        Err(e) => return Err(aws("DeleteBucket")(e)),
    }
    let mut key_marker = None;
    let mut version_marker = None;
    loop {
        let page = match s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) if e.code() == Some("NoSuchBucket") => return Ok(Deleted::WasGone),
            Err(e) => return Err(aws("ListObjectVersions")(e)),
        };
        let versions = page
            .versions
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v.key, v.version_id));
        let markers = page
            .delete_markers
            .unwrap_or_default()
            .into_iter()
            .map(|m| (m.key, m.version_id));
        let objects: Vec<ObjectIdentifier> = versions
            .chain(markers)
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .set_key(key)
                    .set_version_id(version)
                    .build()
                    .ok()
            })
            .collect();
        if !objects.is_empty() {
            let delete = Delete::builder().set_objects(Some(objects)).quiet(true).build()?;
            s3.delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(aws("DeleteObjects"))?;
        }
        if page.is_truncated != Some(true) {
            break;
        }
        key_marker = page.next_key_marker;
        version_marker = page.next_version_id_marker;
    }
    match s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(Deleted::Deleted),
        Err(e) if e.code() == Some("NoSuchBucket") => Ok(Deleted::WasGone),
        Err(e) => Err(aws("DeleteBucket")(e)),
    }
}
