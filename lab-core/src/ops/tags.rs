//! Tags as each service's SDK takes them, from one list of `(key, value)` pairs: the one place a
//! pair becomes an IAM, CloudFormation, S3 or STS `Tag`.

use anyhow::Result;

/// `(key, value)` pairs.
#[derive(Debug, Clone, Copy)]
pub struct Tags<'a>(pub &'a [(&'a str, &'a str)]);

impl Tags<'_> {
    pub fn iam(self) -> Result<Vec<aws_sdk_iam::types::Tag>> {
        self.each(|k, v| Ok(aws_sdk_iam::types::Tag::builder().key(k).value(v).build()?))
    }

    pub fn cfn(self) -> Vec<aws_sdk_cloudformation::types::Tag> {
        self.0
            .iter()
            .map(|(k, v)| aws_sdk_cloudformation::types::Tag::builder().key(*k).value(*v).build())
            .collect()
    }

    pub fn s3(self) -> Result<Vec<aws_sdk_s3::types::Tag>> {
        self.each(|k, v| Ok(aws_sdk_s3::types::Tag::builder().key(k).value(v).build()?))
    }

    pub fn sts(self) -> Result<Vec<aws_sdk_sts::types::Tag>> {
        self.each(|k, v| Ok(aws_sdk_sts::types::Tag::builder().key(k).value(v).build()?))
    }

    fn each<T>(self, build: impl Fn(&str, &str) -> Result<T>) -> Result<Vec<T>> {
        self.0.iter().map(|(k, v)| build(k, v)).collect()
    }
}
