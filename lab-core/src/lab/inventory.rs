//! The lab's inventory, the one record of what a lab holds: `status` (and `--json`, `--diagram`),
//! `cleanup` and its `--dry-run`, `sweep --dry-run`, `class status` and the demo's "holds nothing"
//! are each derived from it. Everything of the lab that exists now, found by its deterministic
//! names and its buckets in whatever region they are, the lessons' additions included.

use anyhow::Result;

use super::*;
use crate::model::names::LabNames;
use crate::ops::account_documents::{AccountDocuments, Principal};
use crate::ops::cfn::StackInfo;
use crate::ops::iam::{self, AccessKeyInfo, UserInfo};
use crate::ops::s3;
use crate::profiles::awsfiles::FileKind;

/// Everything of the lab that exists now.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub user: Option<UserInfo>,
    pub access_keys: Vec<AccessKeyInfo>,
    pub user_policies: Vec<String>,
    pub stack: Option<StackInfo>,
    pub roles: Vec<String>,
    pub buckets: Vec<LabBucket>,
    /// `credentials:[sts]`, `config:[profile sts]` … (the lessons' profiles too).
    pub profiles: Vec<String>,
    /// What the lessons made.
    pub lesson: LessonParts,
}

pub use crate::output::{LessonParts, RolePolicy};

impl Inventory {
    pub fn is_empty(&self) -> bool {
        self.user.is_none()
            && self.access_keys.is_empty()
            && self.user_policies.is_empty()
            && self.stack.is_none()
            && self.roles.is_empty()
            && self.buckets.is_empty()
            && self.profiles.is_empty()
            && self.lesson.is_empty()
    }

    /// Whether the local profiles name a lab the endpoint no longer has (no user, no stack): an
    /// emulator restarted, or the lab removed from elsewhere.
    pub fn profiles_without_lab(&self) -> bool {
        !self.profiles.is_empty() && self.user.is_none() && self.stack.is_none()
    }

    /// When the lab expires: the earlier of its user's and its stack's tags (AWS refuses the lab
    /// from the first expiry it was given on).
    pub fn expires(&self) -> Option<&str> {
        let key = crate::model::names::EXPIRES_TAG_KEY;
        let user = self.user.as_ref().and_then(|u| u.tag(key));
        let stack = self.stack.as_ref().and_then(|s| s.tag(key));
        [user, stack]
            .into_iter()
            .flatten()
            .min_by_key(|at| crate::model::expiry::parse_utc(at).unwrap_or(i64::MIN))
    }

    /// One line per thing that exists.
    pub fn lines(&self, names: &LabNames) -> Vec<String> {
        let mut out = Vec::new();
        if self.user.is_some() {
            out.push(format!("IAM user {}", names.user));
        }
        out.extend(
            self.access_keys
                .iter()
                .map(|k| format!("access key {}", crate::model::secret::mask_key_id(&k.access_key_id))),
        );
        out.extend(self.user_policies.iter().map(|p| format!("user policy {p}")));
        if let Some(s) = &self.stack {
            out.push(format!("stack {} ({})", names.stack, s.status));
        }
        out.extend(self.roles.iter().map(|r| format!("IAM role {r}")));
        out.extend(self.buckets.iter().map(|b| format!("bucket {b}")));
        out.extend(self.lesson.lines());
        out.extend(self.profiles.iter().map(|p| format!("profile {p}")));
        out
    }
}

/// Lists what exists of the lab, by its deterministic names (no local state needed).
pub async fn inventory(lab: &Lab) -> Result<Inventory> {
    let names = &lab.names;
    let c = &lab.admin;
    let mut profiles = Vec::new();
    for (kind, profile) in profile_sections(names, &lab.target.files)? {
        if lab.target.files.read_profile(kind, &profile)?.is_some_and(|p| p.owned) {
            let file = if kind == FileKind::Credentials {
                "credentials"
            } else {
                "config"
            };
            profiles.push(format!(
                "{file}:[{}]",
                crate::profiles::awsfiles::AwsFiles::section_name(kind, &profile)
            ));
        }
    }
    // What does not wait on another answer is asked side by side; a lab of a class reads the
    // user, its policies and the roles from the class's reading of the account's documents.
    let role_prefix = names.role_name_prefix();
    let read = lab.shared_documents().await?;
    let from_reading = read.as_deref().map(|r| {
        let user = r.user(&names.user);
        (
            user.map(Principal::user_info),
            r.roles_named(&role_prefix),
            user.map(Principal::inline_names).unwrap_or_default(),
        )
    });
    let (user, roles, stack, buckets) = tokio::try_join!(
        async {
            match &from_reading {
                Some((user, ..)) => Ok(user.clone()),
                None => iam::get_user(&c.iam, &names.user).await,
            }
        },
        async {
            match &from_reading {
                Some((_, roles, _)) => Ok(roles.clone()),
                None => iam::roles_named(&c.iam, &role_prefix).await,
            }
        },
        lab.describe_stack(),
        lab_buckets(lab),
    )?;
    let exists = user.is_some();
    let (lesson, access_keys, user_policies) = tokio::try_join!(
        lesson_parts(lab, user.as_ref(), &roles, read.as_deref()),
        async {
            match exists {
                true => iam::list_access_keys(&c.iam, &names.user).await,
                false => Ok(vec![]),
            }
        },
        async {
            match (&from_reading, exists) {
                (Some((_, _, policies)), _) => Ok(policies.clone()),
                (None, true) => iam::list_user_policies(&c.iam, &names.user).await,
                (None, false) => Ok(vec![]),
            }
        },
    )?;
    Ok(Inventory {
        access_keys,
        user_policies,
        user,
        stack,
        roles,
        buckets,
        profiles,
        lesson,
    })
}

/// What the lessons added: the lesson recorded on `user`, the chained role (only with the lab's
/// tag), the inline policies of `roles` and of the chained role beyond the stack's own, the MFA
/// device.
/// Whether the customer managed policy `arn` exists: from the class's reading, else asked.
async fn managed_exists(lab: &Lab, read: Option<&AccountDocuments>, arn: &str) -> Result<bool> {
    match read {
        Some(r) => Ok(r.has_managed(arn)),
        None => crate::ops::boundary::managed_policy_exists(&lab.admin.iam, arn).await,
    }
}

pub(super) async fn lesson_parts(
    lab: &Lab,
    user: Option<&UserInfo>,
    roles: &[String],
    read: Option<&AccountDocuments>,
) -> Result<LessonParts> {
    let names = &lab.names;
    let c = &lab.admin;
    let chained = names.chained_role();
    let serial = names.mfa_serial(lab.admin_identity.partition(), lab.account());
    // A role's tags and inline policies: from the class's reading, else asked.
    let role_tags = async |role: &str| match read {
        Some(r) => Ok(r.role(role).map(|p| p.tags.clone()).unwrap_or_default()),
        None => crate::ops::policies::role_tags(&c.iam, role).await,
    };
    let policy_names = async |role: &str| match read {
        Some(r) => Ok(r.role(role).map(Principal::inline_names).unwrap_or_default()),
        None => crate::ops::policies::role_policy_names(&c.iam, role).await,
    };
    let boundary = lab.boundary_policy_arn();
    let mfa_device = async {
        match read {
            Some(r) => r.has_virtual_mfa_device(&c.iam, &serial).await,
            None => iam::virtual_mfa_device_exists(&c.iam, &serial).await,
        }
    };
    let challenge = names.challenge_role();
    let challenge_boundary = lab.iam_arn("policy", &names.challenge_boundary());
    // Independent reads, side by side: the lessons' and the challenges' roles' tags, the MFA
    // device (from the reading's one listing of the account's devices, when there is a reading),
    // the boundary policies, and the inline policies of the lab's roles.
    let stack_roles = futures_util::future::try_join_all(roles.iter().map(|role| policy_names(role)));
    let (tags, challenge_tags, mfa_device, boundary_exists, challenge_boundary_exists, stack_role_policies) = tokio::try_join!(
        role_tags(&chained),
        role_tags(&challenge),
        mfa_device,
        managed_exists(lab, read, &boundary),
        managed_exists(lab, read, &challenge_boundary),
        stack_roles,
    )?;
    let ours = |tags: &[(String, String)]| {
        tags.iter()
            .any(|(k, v)| k == crate::model::names::LAB_TAG_KEY && *v == names.lab)
    };
    let chained_role = ours(&tags).then_some(chained);
    let challenge_role = ours(&challenge_tags).then_some(challenge);
    let mut role_policies = Vec::new();
    let part = |role: &String, policy: String| RolePolicy {
        role: role.clone(),
        policy,
    };
    for (role, policies) in roles.iter().zip(stack_role_policies) {
        role_policies.extend(policies.into_iter().map(|p| part(role, p)));
    }
    for role in chained_role.iter().chain(&challenge_role) {
        for policy in policy_names(role).await? {
            role_policies.push(part(role, policy));
        }
    }
    role_policies.retain(|p| p.policy != crate::model::names::STACK_ROLE_POLICY);
    let mfa_device = mfa_device.then_some(serial);
    Ok(LessonParts {
        applied: user
            .and_then(|u| u.tag(crate::model::names::LESSON_TAG_KEY))
            .map(str::to_owned),
        role_policies,
        chained_role,
        mfa_device,
        boundary_policy: boundary_exists.then_some(boundary),
        challenge_role,
        challenge_boundary: challenge_boundary_exists.then_some(challenge_boundary),
    })
}

/// A bucket of the lab: any bucket under its prefix (which holds the lab's name and the account
/// id), tagged or not, since a learner's `aws s3 mb` tags nothing; in whatever region it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabBucket {
    pub name: String,
    pub region: String,
    /// Its `sts-lab` tag, if any.
    pub tag: Option<String>,
}

impl std::fmt::Display for LabBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.region)
    }
}

/// The lab's buckets that exist, each with its region and lab tag: those listed under the lab's
/// prefix (S3 may still list a deleted bucket for a while: gone ones are dropped).
pub(super) async fn lab_buckets(lab: &Lab) -> Result<Vec<LabBucket>> {
    let prefix = lab.bucket_prefix();
    let listed = s3::list_buckets_with_regions(&lab.admin.s3, Some(&prefix)).await?;
    let mut out = Vec::new();
    for b in listed.into_iter().filter(|b| b.name.starts_with(&prefix)) {
        // ListBuckets names the region on AWS; GetBucketLocation answers from any region.
        let region = match b.region {
            Some(r) => r,
            None => match s3::bucket_location(&lab.admin.s3, &b.name).await {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                // Unreadable (a bucket policy in the way): tried in the lab's region, and any
                // redirect S3 answers then names the right one.
                Err(_) => lab.admin.region.clone(),
            },
        };
        let mut region = region;
        let name = b.name.as_str();
        let tag = lab
            .in_bucket_region(&mut region, |c| async move { s3::bucket_lab_tag(&c, name).await })
            .await;
        // Its tag says nothing of whose it is (the prefix does); one that cannot be read (a
        // bucket policy in the way, say) is the lab's all the same, and its deletion will tell.
        match tag {
            Ok(s3::BucketTag::Gone) => {}
            Ok(s3::BucketTag::Lab(tag)) => out.push(LabBucket {
                name: b.name,
                region,
                tag,
            }),
            Err(_) => out.push(LabBucket {
                name: b.name,
                region,
                tag: None,
            }),
        }
    }
    Ok(out)
}
