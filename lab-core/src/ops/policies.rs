//! The policy documents of a user or a role: read with the admin for offline decisions (inline
//! policies by name, attached managed policies at their default version, a role's tags; IAM
//! returns documents URL-encoded, these give them decoded; a user or role that is gone has none),
//! and written by the lessons (a role's trust and inline policies, a role of their own).

use anyhow::Result;
use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;

use crate::aws::error::aws;

const NO_SUCH_ENTITY: &str = "NoSuchEntity";

/// A policy document and the name it goes by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedDocument {
    pub name: String,
    pub json: String,
}

pub(crate) fn decoded(document: &str) -> String {
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}

/// A user's inline policies.
pub async fn user_inline(iam: &Client, user: &str) -> Result<Vec<NamedDocument>> {
    let names = match iam.list_user_policies().user_name(user).send().await {
        Ok(out) => out.policy_names,
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => return Ok(Vec::new()),
        Err(e) => return Err(aws("ListUserPolicies")(e)),
    };
    let mut out = Vec::new();
    for name in names {
        let got = iam
            .get_user_policy()
            .user_name(user)
            .policy_name(&name)
            .send()
            .await
            .map_err(aws("GetUserPolicy"))?;
        out.push(NamedDocument {
            name,
            json: decoded(&got.policy_document),
        });
    }
    Ok(out)
}

/// A role's inline policies.
pub async fn role_inline(iam: &Client, role: &str) -> Result<Vec<NamedDocument>> {
    let names = role_policy_names(iam, role).await?;
    let mut out = Vec::new();
    for name in names {
        let got = iam
            .get_role_policy()
            .role_name(role)
            .policy_name(&name)
            .send()
            .await
            .map_err(aws("GetRolePolicy"))?;
        out.push(NamedDocument {
            name,
            json: decoded(&got.policy_document),
        });
    }
    Ok(out)
}

/// The managed policies attached to a user (`user`) or a role (`role`), each at its default version.
pub async fn attached(iam: &Client, user: Option<&str>, role: Option<&str>) -> Result<Vec<NamedDocument>> {
    let listed = match (user, role) {
        (Some(user), _) => iam
            .list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .map(|o| o.attached_policies)
            .map_err(|e| (e.code() == Some(NO_SUCH_ENTITY), aws("ListAttachedUserPolicies")(e))),
        (None, Some(role)) => iam
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await
            .map(|o| o.attached_policies)
            .map_err(|e| (e.code() == Some(NO_SUCH_ENTITY), aws("ListAttachedRolePolicies")(e))),
        (None, None) => return Ok(Vec::new()),
    };
    let attached = match listed {
        Ok(list) => list.unwrap_or_default(),
        Err((true, _)) => return Ok(Vec::new()),
        Err((false, e)) => return Err(e),
    };
    let mut out = Vec::new();
    for policy in attached {
        let (Some(name), Some(arn)) = (policy.policy_name, policy.policy_arn) else {
            continue;
        };
        out.extend(managed_document(iam, name, &arn).await?);
    }
    Ok(out)
}

/// A managed policy's document at its default version (None when it has none).
pub async fn managed_document(iam: &Client, name: String, arn: &str) -> Result<Option<NamedDocument>> {
    let got = iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .map_err(aws("GetPolicy"))?;
    let Some(version) = got.policy.and_then(|p| p.default_version_id) else {
        return Ok(None);
    };
    let document = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(aws("GetPolicyVersion"))?
        .policy_version
        .and_then(|v| v.document);
    Ok(document.map(|d| NamedDocument {
        name,
        json: decoded(&d),
    }))
}

/// The names of a role's inline policies (none when the role is gone).
pub async fn role_policy_names(iam: &Client, role: &str) -> Result<Vec<String>> {
    match iam.list_role_policies().role_name(role).send().await {
        Ok(out) => Ok(out.policy_names),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Vec::new()),
        Err(e) => Err(aws("ListRolePolicies")(e)),
    }
}

/// A role's tags, as `aws:PrincipalTag/*` sees them for its sessions.
pub async fn role_tags(iam: &Client, role: &str) -> Result<Vec<(String, String)>> {
    match iam.list_role_tags().role_name(role).send().await {
        Ok(out) => Ok(out.tags.into_iter().map(|t| (t.key, t.value)).collect()),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Vec::new()),
        Err(e) => Err(aws("ListRoleTags")(e)),
    }
}

/// Replaces a role's trust policy.
pub async fn update_trust(iam: &Client, role: &str, document: &str) -> Result<()> {
    iam.update_assume_role_policy()
        .role_name(role)
        .policy_document(document)
        .send()
        .await
        .map_err(aws("UpdateAssumeRolePolicy"))?;
    Ok(())
}

/// Puts an inline policy on a role.
pub async fn put_role_policy(iam: &Client, role: &str, name: &str, document: &str) -> Result<()> {
    iam.put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(document)
        .send()
        .await
        .map_err(aws("PutRolePolicy"))?;
    Ok(())
}

/// Deletes a role's inline policy; `Ok(false)` when it was not there.
pub async fn delete_role_policy(iam: &Client, role: &str, name: &str) -> Result<bool> {
    match iam.delete_role_policy().role_name(role).policy_name(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(false),
        Err(e) => Err(aws("DeleteRolePolicy")(e)),
    }
}

/// Creates a role with `trust`, tagged with the lab; `Ok(false)` when it exists already.
pub async fn create_role(
    iam: &Client,
    role: &str,
    trust: &str,
    max_session: i32,
    tags: &[(&str, &str)],
) -> Result<bool> {
    let tags = super::tags::Tags(tags).iam()?;
    match iam
        .create_role()
        .role_name(role)
        .assume_role_policy_document(trust)
        .max_session_duration(max_session)
        .set_tags(Some(tags))
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("EntityAlreadyExists") => Ok(false),
        Err(e) => Err(aws("CreateRole")(e)),
    }
}

/// Deletes a role that has no policies; `Ok(false)` when it was not there.
pub async fn delete_role(iam: &Client, role: &str) -> Result<bool> {
    match iam.delete_role().role_name(role).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(false),
        Err(e) => Err(aws("DeleteRole")(e)),
    }
}
