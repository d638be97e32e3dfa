//! Every user's, group's and role's policy documents in the account, read in one paginated
//! GetAccountAuthorizationDetails instead of five calls a principal: what `verify`, `why` and a
//! class's verify explain their checks with. An admin who may not call it (the action is
//! account-wide) gets None, and the documents are read one principal at a time instead.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Result;
use aws_sdk_iam::Client;
use aws_sdk_iam::types::{AttachedPolicy, EntityType, PolicyDetail, Tag};
use tokio::time::Instant;

use super::policies::{NamedDocument, decoded, managed_document};
use crate::aws::error::aws;

/// Items a page: IAM's most.
const PAGE: i32 = 1000;

/// A user's or a role's documents: its own inline policies, its groups' (a user's), the managed
/// policies attached to it or its groups (by name and ARN), its tags, a role's trust.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Principal {
    pub arn: String,
    pub id: String,
    pub create_date: Option<aws_smithy_types::DateTime>,
    pub inline: Vec<NamedDocument>,
    pub from_groups: Vec<NamedDocument>,
    pub attached: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub trust: Option<String>,
    /// The ARN of its permissions boundary, if it has one.
    pub boundary: Option<String>,
    /// When a role's sessions last made a request (IAM's RoleLastUsed; None for a user).
    pub last_used: Option<aws_smithy_types::DateTime>,
}

impl Principal {
    /// The names of its own inline policies.
    pub fn inline_names(&self) -> Vec<String> {
        self.inline.iter().map(|d| d.name.clone()).collect()
    }

    /// As `GetUser` describes a user.
    pub fn user_info(&self) -> super::iam::UserInfo {
        super::iam::UserInfo {
            arn: self.arn.clone(),
            id: self.id.clone(),
            lab_tag: self
                .tags
                .iter()
                .find(|(k, _)| k == crate::model::names::LAB_TAG_KEY)
                .map(|(_, v)| v.clone()),
            tags: self.tags.clone(),
            create_date: self.create_date,
            boundary: self.boundary.clone(),
        }
    }
}

/// A group's inline documents, and the managed policies attached to it (name, ARN).
type GroupDocuments = (Vec<NamedDocument>, Vec<(String, String)>);

/// The pages of one reading as they come: the documents, each group's, and each user's groups.
#[derive(Default)]
struct Reading {
    out: AccountDocuments,
    /// A group's inline documents and attached policies, by its name.
    groups: HashMap<String, GroupDocuments>,
    user_groups: Vec<(String, Vec<String>)>,
}

impl Reading {
    fn add(
        &mut self,
        page: aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput,
    ) {
        for u in page.user_detail_list.unwrap_or_default() {
            let Some(name) = u.user_name else { continue };
            self.user_groups.push((name.clone(), u.group_list.unwrap_or_default()));
            let user = Principal {
                arn: u.arn.unwrap_or_default(),
                id: u.user_id.unwrap_or_default(),
                create_date: u.create_date,
                inline: inline(u.user_policy_list, None),
                attached: attached(u.attached_managed_policies),
                tags: tags(u.tags),
                boundary: u.permissions_boundary.and_then(|b| b.permissions_boundary_arn),
                ..Principal::default()
            };
            self.out.users.insert(name, user);
        }
        for g in page.group_detail_list.unwrap_or_default() {
            let Some(name) = g.group_name else { continue };
            let docs = inline(g.group_policy_list, Some(&name));
            self.groups.insert(name, (docs, attached(g.attached_managed_policies)));
        }
        for r in page.role_detail_list.unwrap_or_default() {
            let Some(name) = r.role_name else { continue };
            let role = Principal {
                arn: r.arn.unwrap_or_default(),
                id: r.role_id.unwrap_or_default(),
                create_date: r.create_date,
                inline: inline(r.role_policy_list, None),
                attached: attached(r.attached_managed_policies),
                tags: tags(r.tags),
                trust: r.assume_role_policy_document.map(|d| decoded(&d)),
                boundary: r.permissions_boundary.and_then(|b| b.permissions_boundary_arn),
                last_used: r.role_last_used.and_then(|u| u.last_used_date),
                ..Principal::default()
            };
            self.out.roles.insert(name, role);
        }
        for p in page.policies.unwrap_or_default() {
            let (Some(name), Some(arn)) = (p.policy_name, p.arn) else {
                continue;
            };
            let versions = p.policy_version_list.unwrap_or_default();
            if let Some(json) = versions
                .into_iter()
                .find(|v| v.is_default_version)
                .and_then(|v| v.document)
            {
                let json = decoded(&json);
                self.out.managed.insert(arn, NamedDocument { name, json });
            }
        }
    }

    /// The documents, each user's groups' policies made the user's own, as IAM evaluates them.
    fn joined(mut self) -> AccountDocuments {
        for (user, in_groups) in self.user_groups {
            let Some(principal) = self.out.users.get_mut(&user) else {
                continue;
            };
            for group in in_groups {
                if let Some((docs, policies)) = self.groups.get(&group) {
                    principal.from_groups.extend(docs.iter().cloned());
                    principal.attached.extend(policies.iter().cloned());
                }
            }
        }
        self.out
    }
}

/// The account's documents at one moment.
#[derive(Debug, Clone, Default)]
pub struct AccountDocuments {
    users: HashMap<String, Principal>,
    roles: HashMap<String, Principal>,
    /// The customer managed policies' default versions, by ARN.
    managed: HashMap<String, NamedDocument>,
    /// The account's virtual MFA devices' serials, listed when first asked: once a reading, not
    /// once a lab (GetAccountAuthorizationDetails does not carry them).
    mfa_serials: tokio::sync::OnceCell<HashSet<String>>,
}

fn inline(list: Option<Vec<PolicyDetail>>, from: Option<&str>) -> Vec<NamedDocument> {
    list.unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            let name = p.policy_name?;
            Some(NamedDocument {
                name: from.map_or_else(|| name.clone(), |group| format!("{name} (group {group})")),
                json: decoded(&p.policy_document?),
            })
        })
        .collect()
}

fn attached(list: Option<Vec<AttachedPolicy>>) -> Vec<(String, String)> {
    list.unwrap_or_default()
        .into_iter()
        .filter_map(|p| Some((p.policy_name?, p.policy_arn?)))
        .collect()
}

fn tags(list: Option<Vec<Tag>>) -> Vec<(String, String)> {
    list.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect()
}

impl AccountDocuments {
    /// The account's users, groups, roles and customer managed policies; None when the admin
    /// may not read them all at once.
    pub async fn read(iam: &Client) -> Result<Option<Self>> {
        let mut read = Reading::default();
        let mut pages = iam
            .get_account_authorization_details()
            .filter(EntityType::User)
            .filter(EntityType::Group)
            .filter(EntityType::Role)
            .filter(EntityType::LocalManagedPolicy)
            .max_items(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => read.add(page),
                Err(e) => {
                    let e = aws("GetAccountAuthorizationDetails")(e);
                    if crate::aws::error::aws_error(&e).is_some_and(|a| a.is_access_denied()) {
                        return Ok(None);
                    }
                    return Err(e);
                }
            }
        }
        Ok(Some(read.joined()))
    }

    pub fn user(&self, name: &str) -> Option<&Principal> {
        self.users.get(name)
    }

    /// Every user, by name (in no order).
    pub fn users(&self) -> impl Iterator<Item = (&str, &Principal)> {
        self.users.iter().map(|(name, p)| (name.as_str(), p))
    }

    pub fn role(&self, name: &str) -> Option<&Principal> {
        self.roles.get(name)
    }

    /// Whether the virtual MFA device `serial` exists, assigned or not: the account's devices are
    /// listed (ListVirtualMFADevices) the first time a lab of the reading asks.
    pub async fn has_virtual_mfa_device(&self, iam: &Client, serial: &str) -> Result<bool> {
        let serials = self
            .mfa_serials
            .get_or_try_init(|| super::iam::virtual_mfa_serials(iam))
            .await?;
        Ok(serials.contains(serial))
    }

    /// Whether the customer managed policy `arn` exists.
    pub fn has_managed(&self, arn: &str) -> bool {
        self.managed.contains_key(arn)
    }

    /// The names of the roles whose name starts with `prefix`, sorted.
    pub fn roles_named(&self, prefix: &str) -> Vec<String> {
        let mut out: Vec<String> = self.roles.keys().filter(|n| n.starts_with(prefix)).cloned().collect();
        out.sort();
        out
    }

    /// The documents of the managed policies attached to `principal`: a customer managed one
    /// from this reading, an AWS managed one (not in it: there are a thousand) read by its ARN.
    pub async fn attached_documents(&self, iam: &Client, principal: &Principal) -> Result<Vec<NamedDocument>> {
        let mut out = Vec::new();
        for (name, arn) in &principal.attached {
            match self.managed.get(arn) {
                Some(doc) => out.push(NamedDocument {
                    name: name.clone(),
                    json: doc.json.clone(),
                }),
                None => out.extend(managed_document(iam, name.clone(), arn).await?),
            }
        }
        Ok(out)
    }

    /// The document of `principal`'s permissions boundary, if it has one: a customer managed
    /// policy from this reading, an AWS managed one read by its ARN.
    pub async fn boundary_document(&self, iam: &Client, principal: &Principal) -> Result<Option<NamedDocument>> {
        let Some(arn) = &principal.boundary else {
            return Ok(None);
        };
        match self.managed.get(arn) {
            Some(doc) => Ok(Some(doc.clone())),
            None => managed_document(iam, crate::model::policy::policy_name(arn).to_owned(), arn).await,
        }
    }
}

/// The account's documents read for many labs of a class: a reading serves every lab that asks
/// for one taken at or after a moment (a class's verify: its start; a new lab's handout: the end
/// of its setup), and readings are taken half a second apart at least, so that 30 labs cost a
/// few.
#[derive(Debug, Default)]
pub struct DocumentBoard {
    reading: tokio::sync::Mutex<Option<(Instant, Option<Arc<AccountDocuments>>)>>,
}

/// The least time between two readings of a board.
const READING_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

impl DocumentBoard {
    /// A reading taken at or after `since` (None: when the admin may not read them all at once).
    pub async fn get(&self, iam: &Client, since: Instant) -> Result<Option<Arc<AccountDocuments>>> {
        // Readers queue on the lock: the first takes a new reading, the others share it.
        let mut reading = self.reading.lock().await;
        if let Some((at, read)) = reading.as_ref() {
            if *at >= since {
                return Ok(read.clone());
            }
            tokio::time::sleep_until(*at + READING_INTERVAL).await;
        }
        let at = Instant::now();
        let read = AccountDocuments::read(iam).await?.map(Arc::new);
        *reading = Some((at, read.clone()));
        Ok(read)
    }
}

/// A lab's share of a class's board: the board, and the moment its reading must be taken after.
#[derive(Debug, Clone)]
pub struct SharedReading {
    pub board: Arc<DocumentBoard>,
    pub since: Instant,
}
