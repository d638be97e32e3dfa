//! `cleanup`: everything of the lab, found by its names and tags, deleted, each step whatever the
//! others did.

use anyhow::{Result, bail};

use super::*;
use crate::ops::attachments;
use crate::ops::cfn::{self, Phase};
use crate::ops::iam;
use crate::ops::{Deleted, s3};
use crate::output::explain;
use crate::output::report::{Report, Steps};
use aws_sdk_cloudformation::types::StackStatus;

/// Deletes the lab's stack (after an update in progress settles) and waits until it is gone.
async fn delete_stack(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let (names, c) = (&lab.names, &lab.admin);
    let r = step(steps, "delete stack", async {
        let Some(mut stack) = lab.describe_stack().await? else { return Ok(false) };
        lab.refuse_foreign("stack", &names.stack, stack.lab_tag.as_deref())?;
        if cfn::phase(&stack.status) == Phase::InProgress && stack.status != StackStatus::DeleteInProgress {
            // DeleteStack is refused while an update runs: let it settle first.
            match wait(lab, steps).await? {
                Some(settled) => stack = settled,
                None => return Ok(true),
            }
        }
        if stack.status != StackStatus::DeleteInProgress {
            cfn::delete_stack(&c.cfn, &names.stack).await?;
        }
        // CloudFormation's reads are eventually consistent: right after DeleteStack a stack may
        // still show its settled state. Seen so, it is asked again (DeleteStack on a stack being
        // deleted changes nothing), twice at most, before that state is taken as the answer.
        let mut asked_again = 0;
        loop {
            match wait(lab, steps).await? {
                Some(s) if s.status != StackStatus::DeleteComplete && s.status != StackStatus::DeleteFailed && asked_again < 2 => {
                    asked_again += 1;
                    steps.waiting(format!("stack {} still shows {} after DeleteStack: asking again", names.stack, s.status));
                    cfn::delete_stack(&c.cfn, &names.stack).await?;
                }
                Some(s) if s.status != StackStatus::DeleteComplete => bail!(
                    "stack {} is {}{}; see its events in the CloudFormation console, fix the cause, then run cleanup again",
                    names.stack,
                    s.status,
                    s.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                ),
                _ => return Ok(true),
            }
        }
    }, |deleted| if *deleted { format!("deleted stack {} and its role", names.stack) } else { format!("no stack {}", names.stack) })
    .await;
    lab.explain(steps, explain::delete_stack(names));
    r.map(drop)
}

/// Disarms the lab user: deletes its policies and its keys. Returns whether the user is there,
/// and what failed; each step runs whatever the others did.
async fn disarm_user(lab: &Lab, steps: Steps<'_>) -> (bool, Vec<(&'static str, anyhow::Error)>) {
    let (names, c) = (&lab.names, &lab.admin);
    let mut failures = Vec::new();
    let mut found = false;
    let mut record = |r: Result<()>, what: &'static str| {
        if let Err(e) = r {
            failures.push((what, e));
        }
    };
    let user = step(steps, "find the lab user", lab.lab_user_as_read(), |u| match u {
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
                            deleted.push(crate::model::secret::mask_key_id(&k.access_key_id));
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

            found = true;
        }
    }

    (found, failures)
}

/// Deletes the lab user itself, taking off what a learner attached when DeleteUser is refused
/// (DeleteConflict); the group, the managed policy and a hardware MFA device themselves stay.
async fn delete_user(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let (names, c) = (&lab.names, &lab.admin);
    let r = step(
        steps,
        "delete user",
        async {
            match iam::delete_user(&c.iam, &names.user).await {
                Ok(_) => Ok(Vec::new()),
                // Something a learner attached (in the console, say) is still there: take
                // each off, then delete again. The group, the managed policy and a
                // hardware MFA device themselves are not the lab's and stay.
                Err(e) if crate::aws::error::error_code(&e) == Some("DeleteConflict") => {
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
    r.map(drop)
}

/// Deletes the lab's buckets: under its prefix a bucket is the lab's, tagged or not (a learner's
/// `aws s3 mb` tags nothing), in whatever region. One that fails is reported, and the others are
/// deleted all the same.
async fn delete_buckets(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let prefix = lab.bucket_prefix();
    let r = step(
        steps,
        "delete lab buckets",
        async {
            let mut deleted = Vec::new();
            let mut failed = Vec::new();
            for mut bucket in lab_buckets(lab).await? {
                let name = bucket.name.clone();
                let gone = lab
                    .in_bucket_region(&mut bucket.region, |c| {
                        let name = name.clone();
                        async move { s3::empty_and_delete_bucket(&c, &name).await }
                    })
                    .await;
                match gone {
                    Ok(Deleted::Deleted) => deleted.push(bucket.to_string()),
                    Ok(Deleted::WasGone) => {}
                    Err(e) => failed.push(format!("{bucket}: {}", crate::aws::error::one_line(&e))),
                }
            }
            if !failed.is_empty() {
                bail!(
                    "deleted {} but not {}",
                    if deleted.is_empty() {
                        "no bucket".to_owned()
                    } else {
                        deleted.join(", ")
                    },
                    failed.join("; ")
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
    r.map(drop)
}

/// Removes the sections the lab wrote in the AWS files.
async fn remove_profiles(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let names = &lab.names;
    let r = step(
        steps,
        "remove profiles",
        async {
            let mut removed = Vec::new();
            for (kind, profile) in profile_sections(names, &lab.target.files)? {
                if lab.target.files.remove_profile(kind, &profile).await? {
                    removed.push(format!(
                        "{} [{}]",
                        lab.target.files.path(kind).display(),
                        crate::profiles::awsfiles::AwsFiles::section_name(kind, &profile)
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
    r.map(drop)
}

/// The lab's roles still there: those named asked one by one (a GetRole each), else every role
/// under the lab's prefix.
async fn roles_left(lab: &Lab, named: Option<&[String]>) -> Result<Vec<String>> {
    let Some(named) = named else {
        return iam::roles_named(&lab.admin.iam, &lab.names.role_name_prefix()).await;
    };
    let mut left = Vec::new();
    for role in named {
        if iam::role_trust(&lab.admin.iam, role).await?.is_some() {
            left.push(role.clone());
        }
    }
    Ok(left)
}

/// Deletes everything of the lab, each step whatever the others did; a second run finds nothing
/// to do. Fails, after trying every step, when any step failed or anything is left.
pub async fn cleanup(lab: &Lab, report: &dyn Report) -> Result<()> {
    let steps = Steps::new(report);
    let names = &lab.names;
    let mut failures: Vec<String> = Vec::new();
    let mut record = |r: Result<()>, what: &str| {
        if let Err(e) = r {
            failures.push(format!("{what}: {e:#}"));
        }
    };

    // Lesson bucket-policy's bucket refuses the admin: a session of the lab's role unlocks it
    // first, with the user's key, which the user's disarming below deletes.
    record(
        super::cleanup_lessons::unlock_guarded_bucket(lab, steps)
            .await
            .map(drop),
        "bucket policy",
    );
    // The buckets, the stack (the longest wait) and the user's disarming are independent: side
    // by side. The lessons' additions go before the stack: CloudFormation cannot delete a role
    // that holds a policy it did not make.
    let stack_side = async {
        let roles = super::cleanup_lessons::lab_roles(lab).await;
        let lessons = match &roles {
            Ok(roles) => super::cleanup_lessons::remove_lesson_additions(lab, roles, steps).await,
            Err(e) => Err(anyhow::anyhow!("{}", crate::aws::error::one_line(e))),
        };
        (roles.ok(), lessons, delete_stack(lab, steps).await)
    };
    // Boxed, as setup's branches are: inline, the SDK's large futures make one cleanup's too large
    // for a 2 MB thread stack where labs are joined.
    let (buckets, (roles, lessons, stack), (user_found, user_failures)) = tokio::join!(
        Box::pin(delete_buckets(lab, steps)),
        Box::pin(stack_side),
        // In a class, the user's disarming gives way to the stacks' (the longer wait).
        Box::pin(crate::aws::pace::in_background(disarm_user(lab, steps)))
    );
    let buckets_ok = buckets.is_ok();
    record(buckets, "buckets");
    record(lessons, "lessons");
    let stack_ok = stack.is_ok();
    record(stack, "stack");
    for (what, e) in user_failures {
        record(Err(e), what);
    }
    if user_found {
        if stack_ok && buckets_ok {
            record(delete_user(lab, steps).await, "user");
        } else {
            // Labs are found through their users (sweep, class cleanup): without it, what is
            // left would be found by nothing. Its keys and policies are gone: it can do nothing.
            steps.note(format!(
                "kept IAM user {} (no keys, no policies) so that cleanup and sweep find what is left of the lab",
                names.user
            ));
        }
    }

    record(remove_profiles(lab, steps).await, "profiles");

    if !failures.is_empty() {
        bail!("cleanup did not finish: {}", failures.join("; "));
    }
    nothing_left(lab, steps, roles.as_deref()).await
}

/// Each step confirmed its own deletions; what remains to prove is that the role went with the
/// stack (a role can outlive a stack that failed to delete a policy attached to it).
async fn nothing_left(lab: &Lab, steps: Steps<'_>, roles: Option<&[String]>) -> Result<()> {
    let left = step(steps, "check nothing is left", roles_left(lab, roles), |roles| {
        if roles.is_empty() {
            "no role of the lab is left".to_owned()
        } else {
            "a role is left".to_owned()
        }
    })
    .await?;
    if !left.is_empty() {
        bail!(
            "cleanup left IAM role {}; run cleanup again, or delete it by hand",
            left.join(", ")
        );
    }
    Ok(())
}
