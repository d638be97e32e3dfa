//! IAM operations: the lab user, its access keys and its inline policy, and the stack's role.

use anyhow::Result;
use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::Tag;
use aws_smithy_types::DateTime;

use super::{Created, Deleted};
use crate::error::aws;
use crate::names::LAB_TAG_KEY;
use crate::secret::Secret;

const NO_SUCH_ENTITY: &str = "NoSuchEntity";

/// A new access key, with its secret (shown masked, written only to the credentials file).
#[derive(Debug, Clone)]
pub struct NewAccessKey {
    pub user_name: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub status: String,
    pub create_date: Option<DateTime>,
}

/// An access key as ListAccessKeys shows it (no secret).
#[derive(Debug, Clone)]
pub struct AccessKeyInfo {
    pub access_key_id: String,
    pub status: String,
    pub create_date: Option<DateTime>,
}

/// The user's ARN and the value of its lab tag, if it exists.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub arn: String,
    pub lab_tag: Option<String>,
}

pub async fn get_user(iam: &Client, user: &str) -> Result<Option<UserInfo>> {
    match iam.get_user().user_name(user).send().await {
        Ok(out) => {
            let Some(u) = out.user else { return Ok(None) };
            // GetUser returns tags on AWS; ListUserTags is the documented source, so ask it.
            let tags = iam
                .list_user_tags()
                .user_name(user)
                .send()
                .await
                .map_err(aws("ListUserTags"))?;
            let lab_tag = tags.tags.into_iter().find(|t| t.key == LAB_TAG_KEY).map(|t| t.value);
            Ok(Some(UserInfo { arn: u.arn, lab_tag }))
        }
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(None),
        Err(e) => Err(aws("GetUser")(e)),
    }
}

pub async fn create_user(iam: &Client, user: &str, lab: &str) -> Result<Created> {
    let tag = Tag::builder().key(LAB_TAG_KEY).value(lab).build()?;
    match iam.create_user().user_name(user).tags(tag).send().await {
        Ok(_) => Ok(Created::New),
        Err(e) if e.code() == Some("EntityAlreadyExists") => Ok(Created::AlreadyThere),
        Err(e) => Err(aws("CreateUser")(e)),
    }
}

pub async fn delete_user(iam: &Client, user: &str) -> Result<Deleted> {
    match iam.delete_user().user_name(user).send().await {
        Ok(_) => Ok(Deleted::Deleted),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Deleted::WasGone),
        Err(e) => Err(aws("DeleteUser")(e)),
    }
}

pub async fn create_access_key(iam: &Client, user: &str) -> Result<NewAccessKey> {
    let out = iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .map_err(aws("CreateAccessKey"))?;
    let key = out
        .access_key
        .ok_or_else(|| anyhow::anyhow!("CreateAccessKey returned no key"))?;
    Ok(NewAccessKey {
        user_name: key.user_name,
        access_key_id: key.access_key_id,
        secret_access_key: Secret::new(key.secret_access_key),
        status: key.status.as_str().to_owned(),
        create_date: key.create_date,
    })
}

pub async fn list_access_keys(iam: &Client, user: &str) -> Result<Vec<AccessKeyInfo>> {
    match iam.list_access_keys().user_name(user).send().await {
        Ok(out) => Ok(out
            .access_key_metadata
            .into_iter()
            .filter_map(|k| {
                Some(AccessKeyInfo {
                    access_key_id: k.access_key_id?,
                    status: k.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    create_date: k.create_date,
                })
            })
            .collect()),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Vec::new()),
        Err(e) => Err(aws("ListAccessKeys")(e)),
    }
}

pub async fn delete_access_key(iam: &Client, user: &str, key_id: &str) -> Result<Deleted> {
    match iam
        .delete_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .send()
        .await
    {
        Ok(_) => Ok(Deleted::Deleted),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Deleted::WasGone),
        Err(e) => Err(aws("DeleteAccessKey")(e)),
    }
}

pub async fn put_user_policy(iam: &Client, user: &str, policy: &str, document: &str) -> Result<()> {
    iam.put_user_policy()
        .user_name(user)
        .policy_name(policy)
        .policy_document(document)
        .send()
        .await
        .map_err(aws("PutUserPolicy"))?;
    Ok(())
}

pub async fn list_user_policies(iam: &Client, user: &str) -> Result<Vec<String>> {
    match iam.list_user_policies().user_name(user).send().await {
        Ok(out) => Ok(out.policy_names),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Vec::new()),
        Err(e) => Err(aws("ListUserPolicies")(e)),
    }
}

pub async fn delete_user_policy(iam: &Client, user: &str, policy: &str) -> Result<Deleted> {
    match iam
        .delete_user_policy()
        .user_name(user)
        .policy_name(policy)
        .send()
        .await
    {
        Ok(_) => Ok(Deleted::Deleted),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Deleted::WasGone),
        Err(e) => Err(aws("DeleteUserPolicy")(e)),
    }
}

/// User names in the account (first page), used to prove IAM is out of reach.
pub async fn list_users(iam: &Client) -> Result<Vec<String>> {
    let out = iam.list_users().send().await.map_err(aws("ListUsers"))?;
    Ok(out.users.into_iter().map(|u| u.user_name).collect())
}

/// Names of the roles whose name starts with `prefix`.
pub async fn roles_named(iam: &Client, prefix: &str) -> Result<Vec<String>> {
    let roles: Vec<_> = iam
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(aws("ListRoles"))?;
    Ok(roles
        .into_iter()
        .map(|r| r.role_name)
        .filter(|n| n.starts_with(prefix))
        .collect())
}
