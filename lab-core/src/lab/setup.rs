//! `setup`: preflight, the user and its key and profile, the checks as the user, the stack, the
//! user's policy.

use anyhow::{Result, bail};

use super::deploy::{deploy_stack, stack_state};
use super::*;
use crate::aws::error::aws_error;
use crate::aws::retry::retry_codes;
use crate::aws::target::Target;
use crate::model::names::LabNames;
use crate::model::names::{EXPIRES_TAG_KEY, LAB_TAG_KEY, REGION_TAG_KEY};
use crate::model::policy;
use crate::ops::cfn::{self, Phase, StackInfo};
use crate::ops::iam::{self, NewAccessKey};
use crate::ops::iam::{AccessKeyInfo, UserInfo};
use crate::ops::sts;
use crate::ops::{Created, s3};
use crate::output::explain;
use crate::output::report::{Report, Steps, access_key_table};
use crate::profiles::awsfiles::FileKind;
use crate::profiles::credfile::SectionView;
use aws_sdk_iam::types::StatusType;

/// What setup made.
#[derive(Debug, Clone)]
pub struct SetupOutcome {
    pub role_arn: String,
    /// When the lab expires (`2026-11-22T22:00:00Z`): every Allow it wrote holds only before.
    pub expires: String,
    /// The key created by this run; None when the profile's key was kept.
    pub new_key: Option<NewAccessKey>,
}

/// Creates or completes the lab: user, access key and profile, the checks as the user, the stack
/// with the role, and the user's `StsAssumePolicy`.
pub async fn setup(lab: &Lab, report: &dyn Report) -> Result<SetupOutcome> {
    let steps = Steps::new(report);
    let names = &lab.names;

    let pre = step(steps, "preflight", preflight(lab), |_| {
        format!(
            "preflight: the lab's names are free or its own, {} is readable",
            lab.target.files.credentials.display()
        )
    })
    .await?;
    lab.explain(steps, explain::preflight(names));

    // Every run renews the expiry: from now on, for the lab's time to live.
    let expires = crate::model::expiry::format_utc(lab.now().await? + lab.ttl_seconds);
    let expires = expires.as_str();
    let (created, user_id) = ensure_user(lab, pre.user.as_ref(), expires, steps).await?;

    // Two branches that need only the user to exist run at the same time: the key (created,
    // written, waited for until AWS knows it, then the user's S3 denial checked) and the stack
    // (deployed, then the user's policy put on the role it made). Both run to their end, so a
    // failure in one never leaves the other half done (a key nobody holds, say).
    // In a class, the key's requests give way to the stacks' (the stack is the longer wait).
    // Each branch is boxed: the SDK's futures are large, and inline they made a setup's future
    // too large for a 2 MB thread stack wherever two labs were joined.
    let key = Box::pin(crate::aws::pace::in_background(key_branch(
        lab,
        created == Created::New,
        steps,
    )));
    let stack = Box::pin(stack_branch(lab, pre.stack.clone(), &user_id, expires, steps));
    let (key, stack) = tokio::join!(key, stack);
    let new_key = key?;
    let role_arn = stack?;
    // Recorded beside the profile, so that `assume` needs only the profile, as the guide's
    // `aws sts assume-role --profile sts` does.
    lab.write_profile_config(
        &names.user_profile,
        vec![
            format!("{ROLE_ARN_NOTE} {role_arn}"),
            format!("{LAB_EXPIRES_NOTE} {expires}"),
        ],
    )
    .await?;

    Ok(SetupOutcome {
        role_arn,
        expires: expires.to_owned(),
        new_key,
    })
}

/// The lab user: created with the lab's tags, or, when it exists, its expiry renewed (and the
/// region tag added to a lab from before it). Returns whether it is new, and its unique id.
async fn ensure_user(
    lab: &Lab,
    existing: Option<&UserInfo>,
    expires: &str,
    steps: Steps<'_>,
) -> Result<(Created, String)> {
    let (names, iam_client) = (&lab.names, &lab.admin.iam);
    let region = lab.admin.region.as_str();
    let made = step(
        steps,
        "create IAM user",
        async {
            if let Some(user) = existing {
                // The expiry is renewed; the region tag added to a lab from before it.
                iam::tag_user(
                    iam_client,
                    &names.user,
                    &[(REGION_TAG_KEY, region), (EXPIRES_TAG_KEY, expires)],
                )
                .await?;
                return Ok((Created::AlreadyThere, user.id.clone()));
            }
            let tags = [
                (LAB_TAG_KEY, names.lab.as_str()),
                (REGION_TAG_KEY, region),
                (EXPIRES_TAG_KEY, expires),
            ];
            match iam::create_user(iam_client, &names.user, &tags).await? {
                Some(id) => Ok((Created::New, id)),
                // Made a moment ago by another run: ask for it.
                None => match lab.lab_user().await? {
                    Some(user) => Ok((Created::AlreadyThere, user.id)),
                    None => bail!("IAM user {} vanished while setup was creating it", names.user),
                },
            }
        },
        |(c, _)| match c {
            Created::New => format!(
                "created IAM user {} (tags sts-lab={}, {REGION_TAG_KEY}={region}, {EXPIRES_TAG_KEY}={expires})",
                names.user, names.lab
            ),
            Created::AlreadyThere => format!("IAM user {} already exists", names.user),
        },
    )
    .await?;
    lab.explain(steps, explain::create_user(names));
    Ok(made)
}

/// The access key and profile, waited for until AWS knows the key, then the checks as the user.
async fn key_branch(lab: &Lab, user_is_new: bool, steps: Steps<'_>) -> Result<Option<NewAccessKey>> {
    let names = &lab.names;
    let new_key = step(
        steps,
        "access key",
        ensure_access_key(lab, user_is_new),
        |k: &Option<NewAccessKey>| match k {
            Some(k) => format!(
                "created access key {} and wrote profile [{}]",
                k.access_key_id, names.user_profile
            ),
            None => format!("kept the working access key of profile [{}]", names.user_profile),
        },
    )
    .await?;
    lab.explain(steps, explain::access_key(names));
    if let Some(key) = &new_key {
        steps.plain(access_key_table(key));
        steps.note(format!(
            "the secret is in {} (profile {}), nowhere else",
            lab.target.files.credentials.display(),
            names.user_profile
        ));
    }

    let user_arn = lab.user_arn();
    let as_user = lab.profile(&names.user_profile).await?;
    step(
        steps,
        "identity as the lab user",
        async {
            // A new key is refused for a few seconds on AWS. The stack deploys meanwhile (tens of
            // seconds), so the key is asked every half second at most, not every tenth: a class
            // of 50 asked GetCallerIdentity 1,100 times while its keys arrived, 22 a key.
            let id = retry_codes(
                lab.backoff.pausing_at_least(KEY_POLL),
                &["InvalidClientTokenId"],
                |w| waiting(steps, "the new access key", w),
                || sts::caller_identity(&as_user.sts),
            )
            .await?;
            if id.arn != user_arn {
                bail!("profile {} is {}, expected {user_arn}", names.user_profile, id.arn);
            }
            Ok(id)
        },
        |id| format!("profile {} is {}", names.user_profile, id.arn),
    )
    .await?;
    lab.explain(steps, explain::user_identity(names));

    step(
        steps,
        "the lab user has no S3 access",
        expect_denied(retry_codes(
            lab.backoff,
            &["InvalidAccessKeyId", "InvalidClientTokenId"],
            |w| waiting(steps, "S3 to know the new access key", w),
            || s3::list_buckets(&as_user.s3),
        )),
        |code| format!("profile {} is denied s3 ListBuckets ({code})", names.user_profile),
    )
    .await?;
    lab.explain(steps, explain::user_has_no_s3(names));
    Ok(new_key)
}

/// The stack with the role, then the user's `StsAssumePolicy` on it, as soon as its ARN is known.
async fn stack_branch(
    lab: &Lab,
    existing: Option<StackInfo>,
    user_id: &str,
    expires: &str,
    steps: Steps<'_>,
) -> Result<String> {
    let names = &lab.names;
    let role_arn = step(
        steps,
        "deploy stack",
        deploy_stack(lab, existing, user_id, expires, steps),
        |arn| format!("stack {} ready, role {arn}", names.stack),
    )
    .await?;
    lab.explain(steps, explain::deploy(names, &lab.user_arn(), &lab.bucket_prefix()));

    let document = policy::render_assume_policy(&role_arn, expires)?;
    step(
        steps,
        "put user policy",
        iam::put_user_policy(&lab.admin.iam, &names.user, &names.user_policy, &document),
        |_| {
            format!(
                "put {} on {}: sts:AssumeRole on {role_arn} only, until {expires}",
                names.user_policy, names.user
            )
        },
    )
    .await?;
    lab.explain(steps, explain::put_user_policy(names, &role_arn));
    Ok(role_arn)
}

/// The least pause between two asks of whether AWS knows a new access key.
const KEY_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// The note in the user profile's config section that records the role's ARN.
const ROLE_ARN_NOTE: &str = "role_arn";
/// The note beside it that records when the lab expires.
const LAB_EXPIRES_NOTE: &str = "lab-expires";

/// When the lab expires, as setup recorded it beside the user profile.
pub fn recorded_expiry(target: &Target, names: &LabNames) -> Result<Option<String>> {
    let profile = target.files.read_profile(FileKind::Config, &names.user_profile)?;
    Ok(profile
        .filter(|p| p.owned)
        .and_then(|p| p.note(LAB_EXPIRES_NOTE).map(str::to_owned))
        .filter(|at| crate::model::expiry::parse_utc(at).is_some()))
}

/// The role ARN that setup recorded for the lab, if any.
pub fn recorded_role_arn(target: &Target, names: &LabNames) -> Result<Option<String>> {
    let profile = target.files.read_profile(FileKind::Config, &names.user_profile)?;
    Ok(profile
        .filter(|p| p.owned)
        .and_then(|p| p.note(ROLE_ARN_NOTE).map(str::to_owned))
        .filter(|arn| policy::is_role_arn(arn)))
}

/// Checks, before anything is changed, what would stop setup half way: a user or stack of the
/// lab's name that is not the lab's, a stack that failed, a profile the lab does not own, an
/// unreadable AWS file.
pub(crate) async fn preflight(lab: &Lab) -> Result<Preflight> {
    let names = &lab.names;
    let (user, stack) = tokio::try_join!(lab.lab_user_as_read(), lab.describe_stack())?;
    if let Some(stack) = &stack {
        lab.refuse_foreign("stack", &names.stack, stack.lab_tag.as_deref())?;
        if cfn::phase(&stack.status) == Phase::Failed {
            bail!(
                "{}; run `{}`, then setup again",
                stack_state(&names.stack, stack, None),
                crate::output::command::xtask("cleanup")
            );
        }
    }
    for (kind, profile) in setup_sections(names, &lab.target.files) {
        let found = lab.target.files.read_profile(kind, &profile)?;
        if found.is_some_and(|p| !p.owned) && !lab.force {
            bail!(
                "{} has a profile [{}] that sts-lab did not write; rename it, or pass --force to overwrite it",
                lab.target.files.path(kind).display(),
                crate::profiles::awsfiles::AwsFiles::section_name(kind, &profile)
            );
        }
    }
    Ok(Preflight { user, stack })
}

/// What preflight found, so that setup does not ask again.
pub(crate) struct Preflight {
    pub(crate) user: Option<UserInfo>,
    pub(crate) stack: Option<StackInfo>,
}

/// Keeps the key in the user profile when it is still one of the user's keys; otherwise deletes
/// the user's other keys (their secrets are nowhere we can use) and creates one.
async fn ensure_access_key(lab: &Lab, user_is_new: bool) -> Result<Option<NewAccessKey>> {
    let names = &lab.names;
    let files = &lab.target.files;
    // A user created a moment ago has no keys: no need to ask.
    let keys = if user_is_new {
        Vec::new()
    } else {
        iam::list_access_keys(&lab.admin.iam, &names.user).await?
    };
    let profile = files.read_profile(FileKind::Credentials, &names.user_profile)?;
    if let Some(id) = key_to_keep(profile.as_ref(), &keys) {
        for stale in keys.iter().filter(|k| k.access_key_id != id) {
            iam::delete_access_key(&lab.admin.iam, &names.user, &stale.access_key_id).await?;
        }
        return Ok(None);
    }
    if let Some(p) = &profile
        && !p.owned
        && !lab.force
    {
        bail!(
            "{} has a profile [{}] that sts-lab did not write; rename it, or pass --force to overwrite it",
            files.credentials.display(),
            names.user_profile
        );
    }
    for stale in &keys {
        iam::delete_access_key(&lab.admin.iam, &names.user, &stale.access_key_id).await?;
    }
    let key = iam::create_access_key(&lab.admin.iam, &names.user).await?;
    let written = lab
        .write_profile(
            &names.user_profile,
            vec![],
            vec![
                ("aws_access_key_id", &key.access_key_id),
                ("aws_secret_access_key", key.secret_access_key.expose()),
            ],
        )
        .await;
    if let Err(e) = written {
        // A key nobody holds is a leak: take it back.
        let _ = iam::delete_access_key(&lab.admin.iam, &names.user, &key.access_key_id).await;
        return Err(e);
    }
    Ok(Some(key))
}

/// The access key setup keeps: the one in the lab's own profile, with its secret beside it, that
/// is still an active key of the user. (The dry run's plan asks the same.)
pub(crate) fn key_to_keep<'a>(profile: Option<&'a SectionView>, keys: &[AccessKeyInfo]) -> Option<&'a str> {
    let p = profile.filter(|p| p.owned && p.get("aws_secret_access_key").is_some())?;
    let id = p.get("aws_access_key_id")?;
    keys.iter()
        .any(|k| k.access_key_id == id && k.status == StatusType::Active)
        .then_some(id)
}

/// Ok(code) when the call was refused with an access-denied code; an error otherwise.
async fn expect_denied<T>(call: impl Future<Output = Result<T>>) -> Result<String> {
    match call.await {
        Ok(_) => {
            bail!("the call was allowed; the lab user must have no permissions but sts:AssumeRole")
        }
        Err(e) => match aws_error(&e) {
            Some(ae) if ae.is_access_denied() => Ok(ae.code.clone().unwrap_or_default()),
            _ => Err(e.context("expected AccessDenied")),
        },
    }
}
