//! `cleanup` and the inventory it and `status` use: everything of the lab, found by its names.

use anyhow::{Result, bail};

use super::*;
use crate::awsfiles::FileKind;
use crate::explain;
use crate::names::LabNames;
use crate::ops::attachments;
use crate::ops::cfn::{self, Phase, StackInfo};
use crate::ops::iam::{self, AccessKeyInfo, UserInfo};
use crate::ops::{Deleted, s3};
use crate::report::{Report, Steps};

/// Everything of the lab that exists now.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub user: Option<UserInfo>,
    pub access_keys: Vec<AccessKeyInfo>,
    pub user_policies: Vec<String>,
    pub stack: Option<StackInfo>,
    pub roles: Vec<String>,
    pub buckets: Vec<LabBucket>,
    /// `credentials:[sts]`, `config:[profile sts]` …
    pub profiles: Vec<String>,
}

impl Inventory {
    pub fn is_empty(&self) -> bool {
        self.user.is_none()
            && self.access_keys.is_empty()
            && self.user_policies.is_empty()
            && self.stack.is_none()
            && self.roles.is_empty()
            && self.buckets.is_empty()
            && self.profiles.is_empty()
    }

    /// When the lab expires: the earlier of its user's and its stack's tags (AWS refuses the lab
    /// from the first expiry it was given on).
    pub fn expires(&self) -> Option<&str> {
        let key = crate::names::EXPIRES_TAG_KEY;
        let user = self.user.as_ref().and_then(|u| u.tag(key));
        let stack = self.stack.as_ref().and_then(|s| s.tag(key));
        [user, stack]
            .into_iter()
            .flatten()
            .min_by_key(|at| crate::expiry::parse_utc(at).unwrap_or(i64::MIN))
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
                .map(|k| format!("access key {}", crate::secret::mask_key_id(&k.access_key_id))),
        );
        out.extend(self.user_policies.iter().map(|p| format!("user policy {p}")));
        if let Some(s) = &self.stack {
            out.push(format!("stack {} ({})", names.stack, s.status));
        }
        out.extend(self.roles.iter().map(|r| format!("IAM role {r}")));
        out.extend(self.buckets.iter().map(|b| format!("bucket {b}")));
        out.extend(self.profiles.iter().map(|p| format!("profile {p}")));
        out
    }
}

/// Lists what exists of the lab, by its deterministic names (no local state needed).
pub async fn inventory(lab: &Lab) -> Result<Inventory> {
    let names = &lab.names;
    let c = &lab.admin;
    let user = iam::get_user(&c.iam, &names.user).await?;
    let mut profiles = Vec::new();
    for (kind, profile) in profile_sections(names, &lab.target.files) {
        if lab.target.files.read_profile(kind, profile)?.is_some_and(|p| p.owned) {
            let file = if kind == FileKind::Credentials {
                "credentials"
            } else {
                "config"
            };
            profiles.push(format!(
                "{file}:[{}]",
                crate::awsfiles::AwsFiles::section_name(kind, profile)
            ));
        }
    }
    Ok(Inventory {
        access_keys: if user.is_some() {
            iam::list_access_keys(&c.iam, &names.user).await?
        } else {
            vec![]
        },
        user_policies: if user.is_some() {
            iam::list_user_policies(&c.iam, &names.user).await?
        } else {
            vec![]
        },
        user,
        stack: lab.describe_stack().await?,
        roles: iam::roles_named(&c.iam, &names.role_name_prefix()).await?,
        buckets: lab_buckets(lab).await?,
        profiles,
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
async fn lab_buckets(lab: &Lab) -> Result<Vec<LabBucket>> {
    let prefix = lab.bucket_prefix();
    let listed = s3::list_buckets_with_regions(&lab.admin.s3).await?;
    let mut out = Vec::new();
    for b in listed.into_iter().filter(|b| b.name.starts_with(&prefix)) {
        // ListBuckets names the region on AWS; GetBucketLocation answers from any region.
        let region = match b.region {
            Some(r) => r,
            None => match s3::bucket_location(&lab.admin.s3, &b.name).await? {
                Some(r) => r,
                None => continue,
            },
        };
        let mut region = region;
        let name = b.name.as_str();
        let tag = lab
            .in_bucket_region(&mut region, |c| async move { s3::bucket_lab_tag(&c, name).await })
            .await?;
        if let s3::BucketTag::Lab(tag) = tag {
            out.push(LabBucket {
                name: b.name,
                region,
                tag,
            });
        }
    }
    Ok(out)
}

/// Deletes the lab's stack (after an update in progress settles) and waits until it is gone.
async fn delete_stack(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let (names, c) = (&lab.names, &lab.admin);
    let r = step(steps, "delete stack", async {
        let Some(mut stack) = lab.describe_stack().await? else { return Ok(false) };
        lab.refuse_foreign("stack", &names.stack, stack.lab_tag.as_deref())?;
        if cfn::phase(&stack.status) == Phase::InProgress && stack.status != "DELETE_IN_PROGRESS" {
            // DeleteStack is refused while an update runs: let it settle first.
            match wait(lab, steps).await? {
                Some(settled) => stack = settled,
                None => return Ok(true),
            }
        }
        if stack.status != "DELETE_IN_PROGRESS" {
            lab.cfn_turn().await;
            cfn::delete_stack(&c.cfn, &names.stack).await?;
        }
        match wait(lab, steps).await? {
            Some(s) if s.status != "DELETE_COMPLETE" => bail!(
                "stack {} is {}{}; see its events in the CloudFormation console, fix the cause, then run cleanup again",
                names.stack,
                s.status,
                s.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            ),
            _ => Ok(true),
        }
    }, |deleted| if *deleted { format!("deleted stack {} and its role", names.stack) } else { format!("no stack {}", names.stack) })
    .await;
    lab.explain(steps, explain::delete_stack(names));
    r.map(drop)
}

/// Deletes the lab user: its policies, its keys, then the user (taking off what a learner
/// attached when DeleteUser is refused). Returns what failed; each step runs whatever the others did.
async fn delete_user(lab: &Lab, steps: Steps<'_>) -> Vec<(&'static str, anyhow::Error)> {
    let (names, c) = (&lab.names, &lab.admin);
    let mut failures = Vec::new();
    let mut record = |r: Result<()>, what: &'static str| {
        if let Err(e) = r {
            failures.push((what, e));
        }
    };
    let user = step(steps, "find the lab user", lab.lab_user(), |u| match u {
        Some(_) => format!("found IAM user {}", names.user),
        None => format!("no IAM user {}", names.user),
    })
    .await;
    match user {
        Err(e) => record(Err(e), "user"),
        Ok(None) => {}
        Ok(Some(_)) => {
            let r = step(
                steps,
                "delete user policies",
                async {
                    // StsAssumePolicy, and any other inline policy, since DeleteUser needs none left.
                    let mut deleted = Vec::new();
                    for p in iam::list_user_policies(&c.iam, &names.user).await? {
                        iam::delete_user_policy(&c.iam, &names.user, &p).await?;
                        deleted.push(p);
                    }
                    Ok(deleted)
                },
                |d| {
                    if d.is_empty() {
                        "no user policies".to_owned()
                    } else {
                        format!("deleted user policy {}", d.join(", "))
                    }
                },
            )
            .await;
            if let Ok(deleted) = &r {
                lab.explain(steps, explain::delete_user_policies(names, deleted));
            }
            record(r.map(drop), "user policy");

            let r = step(
                steps,
                "delete access keys",
                async {
                    let mut deleted = Vec::new();
                    for k in iam::list_access_keys(&c.iam, &names.user).await? {
                        if iam::delete_access_key(&c.iam, &names.user, &k.access_key_id).await? == Deleted::Deleted {
                            deleted.push(crate::secret::mask_key_id(&k.access_key_id));
                        }
                    }
                    Ok(deleted)
                },
                |d| {
                    if d.is_empty() {
                        "no access keys".to_owned()
                    } else {
                        format!("deleted access key {}", d.join(", "))
                    }
                },
            )
            .await;
            lab.explain(steps, explain::delete_access_keys(names));
            record(r.map(drop), "access keys");

            let r = step(
                steps,
                "delete user",
                async {
                    match iam::delete_user(&c.iam, &names.user).await {
                        Ok(_) => Ok(Vec::new()),
                        // Something a learner attached (in the console, say) is still there: take
                        // each off, then delete again. The group, the managed policy and a
                        // hardware MFA device themselves are not the lab's and stay.
                        Err(e) if crate::error::error_code(&e) == Some("DeleteConflict") => {
                            let mut done = Vec::new();
                            let listing = attachments::list(&c.iam, &names.user).await?;
                            for a in &listing.found {
                                if attachments::detach(&c.iam, &names.user, a).await? == Deleted::Deleted {
                                    done.push(a.to_string());
                                }
                            }
                            if !listing.skipped.is_empty() {
                                steps.note(format!(
                                    "this endpoint does not serve {}: skipped, deleting the user again",
                                    listing.skipped.join(", ")
                                ));
                            }
                            iam::delete_user(&c.iam, &names.user).await?;
                            Ok(done)
                        }
                        Err(e) => Err(e),
                    }
                },
                |done| {
                    if done.is_empty() {
                        format!("deleted IAM user {}", names.user)
                    } else {
                        format!(
                            "deleted IAM user {} after it was refused (DeleteConflict): {}",
                            names.user,
                            done.join(", ")
                        )
                    }
                },
            )
            .await;
            lab.explain(steps, explain::delete_user(names));
            record(r.map(drop), "user");
        }
    }

    failures
}

/// Deletes everything of the lab, each step whatever the others did; a second run finds nothing
/// to do. Fails, after trying every step, when any step failed or anything is left.
pub async fn cleanup(lab: &Lab, report: &dyn Report) -> Result<()> {
    let steps = Steps::new(report);
    let names = &lab.names;
    let c = &lab.admin;
    let mut failures: Vec<String> = Vec::new();
    let mut record = |r: Result<()>, what: &str| {
        if let Err(e) = r {
            failures.push(format!("{what}: {e:#}"));
        }
    };

    let prefix = lab.bucket_prefix();
    let r = step(
        steps,
        "delete lab buckets",
        async {
            let mut deleted = Vec::new();
            let mut refused = Vec::new();
            for mut bucket in lab_buckets(lab).await? {
                // Under the lab's prefix it is the lab's, tagged or not; tagged for another lab, it is left.
                if let Some(other) = bucket.tag.as_deref().filter(|t| *t != names.lab) {
                    refused.push(format!("{} (tagged sts-lab={other})", bucket.name));
                    continue;
                }
                let name = bucket.name.clone();
                let gone = lab
                    .in_bucket_region(&mut bucket.region, |c| {
                        let name = name.clone();
                        async move { s3::empty_and_delete_bucket(&c, &name).await }
                    })
                    .await?;
                if gone == Deleted::Deleted {
                    deleted.push(bucket.to_string());
                }
            }
            if !refused.is_empty() {
                bail!(
                    "left {}: tagged for another lab, so sts-lab leaves them alone (delete them yourself)",
                    refused.join(", ")
                );
            }
            Ok(deleted)
        },
        |d| {
            if d.is_empty() {
                format!("no buckets named {prefix}*")
            } else {
                format!("emptied and deleted {}", d.join(", "))
            }
        },
    )
    .await;
    if let Ok(deleted) = &r {
        lab.explain(steps, explain::delete_buckets(deleted));
    }
    record(r.map(drop), "buckets");

    // The stack's deletion (the longest wait) and the user's are independent: side by side.
    let (stack, user_failures) = tokio::join!(delete_stack(lab, steps), delete_user(lab, steps));
    record(stack, "stack");
    for (what, e) in user_failures {
        record(Err(e), what);
    }

    let r = step(
        steps,
        "remove profiles",
        async {
            let mut removed = Vec::new();
            for (kind, profile) in profile_sections(names, &lab.target.files) {
                if lab.target.files.remove_profile(kind, profile)? {
                    removed.push(format!(
                        "{} [{}]",
                        lab.target.files.path(kind).display(),
                        crate::awsfiles::AwsFiles::section_name(kind, profile)
                    ));
                }
            }
            Ok(removed)
        },
        |r| {
            if r.is_empty() {
                "no lab profiles in the AWS files".to_owned()
            } else {
                format!("removed {}", r.join(", "))
            }
        },
    )
    .await;
    lab.explain(steps, explain::remove_profiles(names));
    record(r.map(drop), "profiles");

    if !failures.is_empty() {
        bail!("cleanup did not finish: {}", failures.join("; "));
    }
    // Each step confirmed its own deletions; what remains to prove is that the role went with
    // the stack (a role can outlive a stack that failed to delete a policy attached to it).
    let left = step(
        steps,
        "check nothing is left",
        iam::roles_named(&c.iam, &names.role_name_prefix()),
        |roles| {
            if roles.is_empty() {
                "no role of the lab is left".to_owned()
            } else {
                "a role is left".to_owned()
            }
        },
    )
    .await?;
    if !left.is_empty() {
        bail!(
            "cleanup left IAM role {}; run cleanup again, or delete it by hand",
            left.join(", ")
        );
    }
    Ok(())
}
