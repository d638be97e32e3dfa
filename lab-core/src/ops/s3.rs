//! S3 operations: list, create, tag, empty and delete the lab's buckets, and find the region a
//! bucket lives in (S3 answers a request signed for another region with an error naming the right
//! one, and the Rust SDK does not follow it: awslabs/aws-sdk-rust#1052).

use anyhow::Result;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier, Tagging};

use super::{Created, Deleted};
use crate::aws::error::{aws, xml_text};
use crate::model::names::LAB_TAG_KEY;

pub async fn list_buckets(s3: &Client) -> Result<Vec<String>> {
    Ok(list_buckets_with_regions(s3, None)
        .await?
        .into_iter()
        .map(|b| b.name)
        .collect())
}

/// Buckets a ListBuckets page asks for (AWS's largest page).
const LIST_PAGE: i32 = 10_000;

/// A bucket as ListBuckets shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBucket {
    pub name: String,
    /// Its region, where the endpoint says (AWS does; some S3-compatible endpoints do not).
    pub region: Option<String>,
}

/// The account's buckets whose name starts with `prefix` (all when None), all pages (required
/// on AWS past 10,000 buckets), with the region each is in where the endpoint tells (AWS gives
/// `BucketRegion` only to a request with a parameter: `max-buckets` is always sent).
pub async fn list_buckets_with_regions(s3: &Client, prefix: Option<&str>) -> Result<Vec<ListedBucket>> {
    let pages: Vec<_> = s3
        .list_buckets()
        .max_buckets(LIST_PAGE)
        .set_prefix(prefix.map(str::to_owned))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(aws("ListBuckets"))?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.buckets.unwrap_or_default())
        .filter(|b| prefix.is_none_or(|p| b.name.as_deref().is_some_and(|n| n.starts_with(p))))
        .filter_map(|b| {
            Some(ListedBucket {
                region: b.bucket_region.filter(|r| !r.is_empty()),
                name: b.name?,
            })
        })
        .collect())
}

/// The region the bucket lives in, from GetBucketLocation (which S3 answers from any region);
/// None when the bucket is gone.
pub async fn bucket_location(s3: &Client, bucket: &str) -> Result<Option<String>> {
    match s3.get_bucket_location().bucket(bucket).send().await {
        Ok(out) => Ok(Some(location_region(
            out.location_constraint().map(|c| c.as_str()).unwrap_or_default(),
        ))),
        Err(e) if e.code() == Some("NoSuchBucket") => Ok(None),
        Err(e) => match wrong_region(&e) {
            Some(region) => Ok(Some(region)),
            None => Err(aws("GetBucketLocation")(e)),
        },
    }
}

/// The region a GetBucketLocation constraint names: none is us-east-1, and `EU` the old name of
/// eu-west-1.
pub fn location_region(constraint: &str) -> String {
    match constraint {
        "" => "us-east-1".to_owned(),
        "EU" => "eu-west-1".to_owned(),
        other => other.to_owned(),
    }
}

/// A bucket call that went to the wrong region: S3 answered 301 PermanentRedirect, 400
/// AuthorizationHeaderMalformed or IllegalLocationConstraintException, naming the bucket's region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongRegion {
    pub bucket: String,
    pub region: String,
}

impl std::fmt::Display for WrongRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bucket {} is in region {}", self.bucket, self.region)
    }
}

impl std::error::Error for WrongRegion {}

/// The region S3 names when a bucket request went to the wrong one: its `x-amz-bucket-region`
/// header, else the `<Region>` of the error body.
pub fn wrong_region<E, R>(err: &SdkError<E, R>) -> Option<String>
where
    R: RawResponse,
{
    let raw = err.raw_response()?;
    // Only a redirect names the bucket's region: S3 sends the header on other errors too (a 403).
    let body = raw.body_text().unwrap_or_default();
    let code = xml_text(&body, "Code");
    let redirect = raw.status() == 301
        || matches!(
            code.as_deref(),
            Some("AuthorizationHeaderMalformed" | "PermanentRedirect" | "IllegalLocationConstraintException")
        );
    if !redirect {
        return None;
    }
    if let Some(region) = raw.header("x-amz-bucket-region").filter(|r| !r.is_empty()) {
        return Some(region.to_owned());
    }
    xml_text(&body, "Region")
}

/// What [`wrong_region`] reads of a raw response (a trait so that tests can pass their own).
pub trait RawResponse {
    fn status(&self) -> u16;
    fn header(&self, name: &str) -> Option<&str>;
    fn body_text(&self) -> Option<String>;
}

impl RawResponse for aws_smithy_runtime_api::http::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name)
    }

    fn body_text(&self) -> Option<String> {
        crate::aws::error::body_text(self)
    }
}

/// The error of a bucket call: [`WrongRegion`] when S3 named another region, else the AWS error.
fn bucket_error<E>(
    operation: &'static str,
    bucket: &str,
) -> impl FnOnce(SdkError<E, aws_smithy_runtime_api::http::Response>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| match wrong_region(&e) {
        Some(region) => anyhow::Error::new(WrongRegion {
            bucket: bucket.to_owned(),
            region,
        }),
        None => aws(operation)(e),
    }
}

/// Creates `bucket` in `region` (us-east-1 takes no location constraint), tagged with the lab in
/// the same call, so that no crash can leave an untagged lab bucket where AWS honours the tags.
/// An S3-compatible endpoint that refuses tags at creation gets the bucket without them (the
/// caller tags it with PutBucketTagging).
pub async fn create_bucket(s3: &Client, bucket: &str, region: &str, tags: &[(&str, &str)]) -> Result<Created> {
    match create_bucket_with(s3, bucket, region, tags).await {
        Err(e) if tags_refused(crate::aws::error::error_code(&e)) => create_bucket_with(s3, bucket, region, &[]).await,
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

async fn create_bucket_with(s3: &Client, bucket: &str, region: &str, tags: &[(&str, &str)]) -> Result<Created> {
    let mut config = CreateBucketConfiguration::builder();
    if !tags.is_empty() {
        config = config.set_tags(Some(super::tags::Tags(tags).s3()?));
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
    let tagging = Tagging::builder()
        .set_tag_set(Some(super::tags::Tags(tags).s3()?))
        .build()?;
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
        Err(e) => Err(bucket_error("GetBucketTagging", bucket)(e)),
    }
}

/// Deletes `bucket`; when it is not empty, deletes every object (and object version) first.
pub async fn empty_and_delete_bucket(s3: &Client, bucket: &str) -> Result<Deleted> {
    match s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(Deleted::Deleted),
        Err(e) if e.code() == Some("NoSuchBucket") => return Ok(Deleted::WasGone),
        Err(e) if e.code() == Some("BucketNotEmpty") => {}
        Err(e) => return Err(bucket_error("DeleteBucket", bucket)(e)),
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
            Err(e) => return Err(bucket_error("ListObjectVersions", bucket)(e)),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw S3 answer: status, `x-amz-bucket-region`, body.
    struct Raw(u16, Option<&'static str>, &'static str);

    impl RawResponse for Raw {
        fn status(&self) -> u16 {
            self.0
        }

        fn header(&self, _name: &str) -> Option<&str> {
            self.1
        }

        fn body_text(&self) -> Option<String> {
            Some(self.2.to_owned())
        }
    }

    fn answered(raw: Raw) -> Option<String> {
        let err = SdkError::service_error(std::fmt::Error, raw);
        wrong_region(&err)
    }

    /// Only a redirect names the bucket's region; S3 sends the header on a 403 too.
    #[test]
    fn only_a_redirect_names_the_region() {
        let malformed = "<Error><Code>AuthorizationHeaderMalformed</Code><Region>eu-west-1</Region></Error>";
        assert_eq!(
            answered(Raw(400, Some("eu-west-1"), malformed)).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(answered(Raw(400, None, malformed)).as_deref(), Some("eu-west-1"));
        assert_eq!(
            answered(Raw(301, Some("ap-south-1"), "")).as_deref(),
            Some("ap-south-1")
        );
        let denied = "<Error><Code>AccessDenied</Code></Error>";
        assert_eq!(answered(Raw(403, Some("us-east-1"), denied)), None);
        assert_eq!(location_region(""), "us-east-1");
        assert_eq!(location_region("EU"), "eu-west-1");
        assert_eq!(location_region("eu-central-1"), "eu-central-1");
    }
}
