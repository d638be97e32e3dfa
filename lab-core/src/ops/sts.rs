//! STS operations: who am I, and assume the lab role.

use anyhow::{Result, anyhow};
use aws_sdk_sts::Client;

use crate::aws::error::aws;
use crate::model::secret::Secret;

/// The answer of GetCallerIdentity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

impl Identity {
    /// The partition from the ARN (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &str {
        self.arn.split(':').nth(1).unwrap_or("aws")
    }

    /// Whether this is the account's root user.
    pub fn is_root(&self) -> bool {
        self.arn.ends_with(":root")
    }
}

pub use crate::model::secret::AssumedCredentials;

pub async fn caller_identity(sts: &Client) -> Result<Identity> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(aws("GetCallerIdentity"))?;
    Ok(Identity {
        account: out
            .account
            .ok_or_else(|| anyhow!("GetCallerIdentity returned no account"))?,
        arn: out.arn.ok_or_else(|| anyhow!("GetCallerIdentity returned no ARN"))?,
        user_id: out.user_id.unwrap_or_default(),
    })
}

pub async fn assume_role(
    sts: &Client,
    role_arn: &str,
    session_name: &str,
    duration_seconds: Option<i32>,
) -> Result<AssumedCredentials> {
    let options = AssumeOptions {
        duration_seconds,
        ..AssumeOptions::default()
    };
    assume_role_with(sts, role_arn, session_name, &options).await
}

/// AssumeRole's optional parameters the lessons use.
#[derive(Debug, Clone, Default)]
pub struct AssumeOptions {
    pub duration_seconds: Option<i32>,
    /// `ExternalId`, for a trust that requires `sts:ExternalId`.
    pub external_id: Option<String>,
    /// An inline session policy (JSON): the session may do only what both it and the role allow.
    pub policy: Option<String>,
    /// An MFA device's serial number and its current code.
    pub mfa: Option<(String, String)>,
    pub source_identity: Option<String>,
    /// Session tags, and the keys of those that pass on to a chained session.
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
}

/// AssumeRole with `options`.
pub async fn assume_role_with(
    sts: &Client,
    role_arn: &str,
    session_name: &str,
    options: &AssumeOptions,
) -> Result<AssumedCredentials> {
    let out = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session_name)
        .set_duration_seconds(options.duration_seconds)
        .set_external_id(options.external_id.clone())
        .set_policy(options.policy.clone())
        .set_serial_number(options.mfa.as_ref().map(|(serial, _)| serial.clone()))
        .set_token_code(options.mfa.as_ref().map(|(_, code)| code.clone()))
        .set_source_identity(options.source_identity.clone())
        .set_tags(tags(&options.tags)?)
        .set_transitive_tag_keys((!options.transitive_tag_keys.is_empty()).then(|| options.transitive_tag_keys.clone()))
        .send()
        .await
        .map_err(aws("AssumeRole"))?;
    let creds = out
        .credentials
        .ok_or_else(|| anyhow!("AssumeRole returned no credentials"))?;
    Ok(AssumedCredentials {
        access_key_id: creds.access_key_id,
        secret_access_key: Secret::new(creds.secret_access_key),
        session_token: Secret::new(creds.session_token),
        expiration: creds.expiration,
        assumed_role_arn: out.assumed_role_user.map(|u| u.arn).unwrap_or_default(),
        source_identity: out.source_identity,
    })
}

fn tags(tags: &[(String, String)]) -> Result<Option<Vec<aws_sdk_sts::types::Tag>>> {
    if tags.is_empty() {
        return Ok(None);
    }
    let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Ok(Some(super::tags::Tags(&pairs).sts()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::DateTime;

    #[test]
    fn debug_output_masks_the_secret_and_the_token() {
        let creds = AssumedCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            session_token: Secret::new("FQoGZXIvYXdzEXAMPLETOKENEXAMPLETOKEN"),
            expiration: DateTime::from_secs(0),
            assumed_role_arn: "arn:aws:sts::123456789012:assumed-role/r/s".into(),
            source_identity: None,
        };
        let debug = format!("{creds:?}");
        assert!(!debug.contains("rXUtnFEMI") && !debug.contains("XIvYXdz"), "{debug}");
        assert!(debug.contains("ASIAEXAMPLE"));
    }

    #[test]
    fn root_is_recognised() {
        let id = |arn: &str| Identity {
            account: "1".into(),
            arn: arn.into(),
            user_id: String::new(),
        };
        assert!(id("arn:aws:iam::123456789012:root").is_root());
        assert!(!id("arn:aws:iam::123456789012:user/root").is_root());
        assert_eq!(id("arn:aws-cn:iam::1:user/x").partition(), "aws-cn");
    }
}
