//! The lab's CloudFormation template and IAM policy document, compiled into the binary, and their
//! rendering.

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// `infra/template.yaml`: the role, its trust policy and its S3 rights.
pub const TEMPLATE: &str = include_str!("../../../infra/template.yaml");
/// `infra/policy.json`: the `StsAssumePolicy` document, with [`ROLE_ARN_PLACEHOLDER`] in it.
pub const ASSUME_POLICY_TEMPLATE: &str = include_str!("../../../infra/policy.json");
/// What [`render_assume_policy`] replaces by the role's ARN.
pub const ROLE_ARN_PLACEHOLDER: &str = "{{ROLE_ARN}}";
/// What [`render_assume_policy`] replaces by the lab's expiry.
pub const EXPIRES_PLACEHOLDER: &str = "{{EXPIRES}}";
/// The template parameter for the lab's expiry.
pub const PARAM_EXPIRES: &str = "Expires";

/// The template parameter for the lab user's ARN.
pub const PARAM_USER_ARN: &str = "LabUserArn";
/// The template parameter for the lab user's unique id, bound into the trust.
pub const PARAM_USER_ID: &str = "LabUserId";
/// The template parameter for the lab's bucket prefix.
pub const PARAM_BUCKET_PREFIX: &str = "BucketPrefix";
/// The template output with the role's ARN.
pub const OUTPUT_ROLE_ARN: &str = "RoleArn";

/// The `StsAssumePolicy` document allowing `sts:AssumeRole` on exactly `role_arn`, before `expires`
/// (`2026-11-22T22:00:00Z`) only.
pub fn render_assume_policy(role_arn: &str, expires: &str) -> Result<String> {
    if !is_role_arn(role_arn) {
        bail!("not a role ARN: {role_arn:?} (expected arn:<partition>:iam::<account>:role/<name>)");
    }
    if crate::model::expiry::parse_utc(expires).is_none() || expires.contains('"') {
        bail!("not a UTC time: {expires:?} (expected e.g. 2026-11-22T22:00:00Z)");
    }
    let doc = ASSUME_POLICY_TEMPLATE
        .replace(ROLE_ARN_PLACEHOLDER, role_arn)
        .replace(EXPIRES_PLACEHOLDER, expires);
    // A role ARN and a time never need JSON escaping (checked above), so the result must parse.
    serde_json::from_str::<serde_json::Value>(&doc).context("rendered StsAssumePolicy is not JSON")?;
    Ok(doc)
}

/// The S3 actions the stack's role policy denies under the lab's prefix (its statement
/// `NoPolicyAclOwnershipOrLock` in `infra/template.yaml`, read from the template itself).
pub fn role_denied_actions() -> Vec<&'static str> {
    let Some((_, after)) = TEMPLATE.split_once("Sid: NoPolicyAclOwnershipOrLock") else {
        return Vec::new();
    };
    let Some((_, actions)) = after.split_once("Action:") else {
        return Vec::new();
    };
    actions
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .map_while(|l| l.strip_prefix("- "))
        .collect()
}

/// Whether `arn` has the shape `arn:<partition>:iam::<12 digits>:role/<name>` with IAM's
/// characters only.
pub fn is_role_arn(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let name_ok = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
    partition.starts_with("aws")
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && resource
            .strip_prefix("role/")
            .is_some_and(|name| !name.is_empty() && name.chars().all(name_ok))
}

/// The name of the role `arn` names (`arn:aws:iam::A:role/path/NAME` → `NAME`), None for an ARN
/// that names no role: the one place a role's name is read from its ARN.
pub fn role_name(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":role/")?;
    rest.rsplit('/').next().filter(|n| !n.is_empty())
}

/// The bucket an S3 ARN names (`arn:aws:s3:::b` and `arn:aws:s3:::b/key` → `b`).
pub fn bucket_of(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":s3:::")?;
    let bucket = rest.split('/').next()?;
    (!bucket.is_empty() && !bucket.contains('*')).then_some(bucket)
}

/// The name of the managed policy `arn` names (`arn:aws:iam::A:policy/path/NAME` → `NAME`).
pub fn policy_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A policy document, as far as the lab reads one back.
#[derive(Debug, Deserialize)]
struct PolicyDocument {
    #[serde(rename = "Statement")]
    statement: OneOrMany<Statement>,
}

#[derive(Debug, Deserialize)]
struct Statement {
    #[serde(rename = "Sid", default)]
    sid: Option<String>,
    #[serde(rename = "Effect")]
    effect: String,
    /// `"*"`, or the principals by kind.
    #[serde(rename = "Principal", default)]
    principal: Option<serde_json::Value>,
}

/// A principal by kind: `{"AWS": …}`.
#[derive(Debug, Deserialize)]
struct Principals {
    #[serde(rename = "AWS", default)]
    aws: Option<OneOrMany<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn iter(&self) -> impl Iterator<Item = &T> {
        match self {
            Self::One(one) => std::slice::from_ref(one).iter(),
            Self::Many(many) => many.iter(),
        }
    }
}

/// Whether a deployed trust names the user that exists now: an Allow whose principal is the
/// user's ARN (AWS shows a deleted user's principal as its old unique id instead) and whose Sid
/// carries the user's unique id (the template binds it there).
pub fn trust_names_user(trust: &str, user_arn: &str, user_id: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<PolicyDocument>(trust) else {
        return false;
    };
    doc.statement.iter().any(|st| {
        let principals = st
            .principal
            .clone()
            .and_then(|p| serde_json::from_value::<Principals>(p).ok());
        let names_arn = principals
            .and_then(|p| p.aws)
            .is_some_and(|aws| aws.iter().any(|p| p == user_arn));
        st.effect == "Allow" && names_arn && st.sid.as_deref().is_some_and(|sid| sid.ends_with(user_id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_role_policys_denied_actions_are_read_from_the_template() {
        let denied = role_denied_actions();
        assert!(
            denied.contains(&"s3:PutBucketPolicy") && denied.contains(&"s3:PutObjectLegalHold"),
            "{denied:?}"
        );
        assert!(denied.iter().all(|a| a.starts_with("s3:")), "{denied:?}");
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/sts-stack-aws-prep-StsRole-ABC";

    #[test]
    fn a_trust_names_the_user_only_with_its_arn_and_its_current_id() {
        let arn = "arn:aws:iam::123456789012:user/sts-machine-user";
        let trust = |sid: &str, principal: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Principal":{{"AWS":{principal}}},"Action":"sts:AssumeRole"}}]}}"#
            )
        };
        let list = format!("[\"{arn}\"]");
        assert!(trust_names_user(
            &trust("TrustTheLabUserOnlyAIDANEW", &list),
            arn,
            "AIDANEW"
        ));
        assert!(trust_names_user(
            &trust("TrustTheLabUserOnlyAIDANEW", &format!("\"{arn}\"")),
            arn,
            "AIDANEW"
        ));
        // Written for the user before it was created again: the old id.
        assert!(!trust_names_user(
            &trust("TrustTheLabUserOnlyAIDAOLD", &list),
            arn,
            "AIDANEW"
        ));
        // AWS shows a deleted user's principal as its unique id.
        assert!(!trust_names_user(
            &trust("TrustTheLabUserOnlyAIDANEW", "\"AIDAOLD\""),
            arn,
            "AIDANEW"
        ));
        assert!(!trust_names_user("not json", arn, "AIDANEW"));
    }

    #[test]
    fn assume_policy_allows_assume_role_on_exactly_the_role() {
        let doc: serde_json::Value =
            serde_json::from_str(&render_assume_policy(ROLE, "2026-11-22T22:00:00Z").unwrap()).unwrap();
        assert_eq!(
            doc,
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "AssumeTheLabRoleOnly",
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Resource": ROLE,
                    "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-11-22T22:00:00Z"}}
                }]
            })
        );
    }

    #[test]
    fn assume_policy_refuses_what_is_not_a_role_arn() {
        for bad in [
            "*",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::12345:role/x",
            "arn:aws:iam::123456789012:role/a\"b",
            "arn:aws:iam::123456789012:role/*",
        ] {
            assert!(render_assume_policy(bad, "2026-11-22T22:00:00Z").is_err(), "{bad}");
        }
    }

    #[test]
    fn template_trusts_one_principal_and_grants_no_wildcard_outside_listing() {
        let trust = TEMPLATE
            .split("AssumeRolePolicyDocument:")
            .nth(1)
            .unwrap()
            .split("StsRoleS3Policy:")
            .next()
            .unwrap();
        assert_eq!(
            trust.matches("- !Ref LabUserArn").count(),
            1,
            "one principal, as a list"
        );
        assert!(trust.contains("Action: sts:AssumeRole"));
        assert!(
            !TEMPLATE.contains(":root") && !TEMPLATE.contains("Principal: \"*\"") && !TEMPLATE.contains("AWS: \"*\"")
        );
        let s3 = TEMPLATE.split("StsRoleS3Policy:").nth(1).unwrap();
        // The only `*` resource is for s3:ListAllMyBuckets, which has no narrower resource.
        assert_eq!(s3.matches("Resource: \"*\"").count(), 1);
        assert!(s3.contains("Action: s3:ListAllMyBuckets\n            Resource: \"*\""));
        assert!(s3.contains("!Sub \"arn:${AWS::Partition}:s3:::${BucketPrefix}*\""));
        assert!(s3.contains("!Sub \"arn:${AWS::Partition}:s3:::${BucketPrefix}*/*\""));
        assert!(
            !TEMPLATE.contains("Action: iam:") && !TEMPLATE.contains("- iam:") && !TEMPLATE.contains("Action: \"*\"")
        );
    }

    #[test]
    fn template_has_the_parameters_and_output_the_code_uses() {
        assert!(render_assume_policy(ROLE, "tomorrow").is_err());
        // Every Allow of the template holds only before the lab's expiry.
        assert_eq!(
            TEMPLATE.matches("Effect: Allow").count(),
            TEMPLATE.matches("aws:CurrentTime: !Ref Expires").count()
        );
        for needle in [
            PARAM_USER_ARN,
            PARAM_USER_ID,
            PARAM_EXPIRES,
            PARAM_BUCKET_PREFIX,
            OUTPUT_ROLE_ARN,
        ] {
            assert!(TEMPLATE.contains(needle), "{needle}");
        }
        assert!(TEMPLATE.contains("MaxSessionDuration: 3600"));
        assert!(TEMPLATE.contains("Type: AWS::IAM::Policy"));
        assert!(!TEMPLATE.contains("AWS::IAM::ManagedPolicy"));
    }
}
