//! Every lab in the account, found by its tags whether or not any local file still knows it: IAM
//! users tagged `sts-lab=<lab>` whose name is that lab's user name (a user of a lab's name without
//! the tag, or with another lab's tag, is not a lab and is never touched); and `sweep`, which
//! cleans each up as `cleanup` does, one lab's failure its own row, never the sweep's end.

use anyhow::Result;
use aws_sdk_iam::Client;

use crate::aws::error::one_line;
use crate::aws::target::Target;
use crate::lab::{self, Lab, LabOptions};
use crate::model::expiry;
use crate::model::names::{EXPIRES_TAG_KEY, LabNames, REGION_TAG_KEY};
use crate::ops::account_documents::AccountDocuments;
use crate::ops::iam;
use crate::output::report::Report;
use crate::output::{Expiry, SweepAction as Action, SweepDoc, SweepRow};

/// The user name every lab's user starts with.
const USER_PREFIX: &str = "sts-machine-user";

/// A lab found by its user's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundLab {
    pub names: LabNames,
    /// The region of its stack and buckets (`sts-lab-region`), if recorded.
    pub region: Option<String>,
    /// When it expires (`sts-lab-expires` on the user), if recorded.
    pub expires: Option<String>,
}

/// The labs whose users exist in the account, by lab name: from one reading of the account's
/// documents (GetAccountAuthorizationDetails carries the users' tags), not a GetUser a user.
pub async fn find_labs(iam_client: &Client) -> Result<Vec<FoundLab>> {
    match AccountDocuments::read(iam_client).await? {
        Some(read) => Ok(labs_in(&read)),
        None => find_labs_one_by_one(iam_client).await,
    }
}

/// [`find_labs`] for an admin who may not read the account's documents at once: a GetUser a
/// user under the lab's prefix.
pub async fn find_labs_one_by_one(iam_client: &Client) -> Result<Vec<FoundLab>> {
    let mut labs = Vec::new();
    for name in iam::users_named(iam_client, USER_PREFIX).await? {
        let Some(user) = iam::get_user(iam_client, &name).await? else {
            continue;
        };
        if let Some(found) = lab_of(&name, &user) {
            labs.push(found);
        }
    }
    labs.sort_by(|a, b| a.names.lab.cmp(&b.names.lab));
    Ok(labs)
}

/// The labs whose users are in `read`, a reading of the account's documents (GetUser's tags are
/// in it: one request for the whole account instead of one a user).
pub fn labs_in(read: &AccountDocuments) -> Vec<FoundLab> {
    let mut labs: Vec<FoundLab> = read
        .users()
        .filter(|(name, _)| name.starts_with(USER_PREFIX))
        .filter_map(|(name, user)| lab_of(name, &user.user_info()))
        .collect();
    labs.sort_by(|a, b| a.names.lab.cmp(&b.names.lab));
    labs
}

/// The lab `user` belongs to: its lab tag names a lab whose user name is `user_name`.
pub fn lab_of(user_name: &str, user: &iam::UserInfo) -> Option<FoundLab> {
    let lab = user.lab_tag.as_deref()?;
    let names = LabNames::new(Some(lab)).ok()?;
    (names.user == user_name).then(|| FoundLab {
        names,
        region: user.tag(REGION_TAG_KEY).map(str::to_owned),
        expires: user.tag(EXPIRES_TAG_KEY).map(str::to_owned),
    })
}

/// What `sweep` is asked: only the labs past their expiry, a plan only, and whether to take over
/// profiles sts-lab did not write.
#[derive(Debug, Clone, Copy, Default)]
pub struct SweepOptions {
    pub expired_only: bool,
    pub dry_run: bool,
    pub force: bool,
}

/// Sweeps every lab of the account, each in its own region; a row per lab as it is done.
pub async fn sweep(target: &Target, options: SweepOptions, report: &dyn Report) -> Result<SweepDoc> {
    let admin = target.admin().await?;
    let mut labs = Vec::new();
    for found in find_labs(&admin.iam).await? {
        labs.push(sweep_one(target, options, &found, report).await);
    }
    Ok(SweepDoc {
        dry_run: options.dry_run,
        expired_only: options.expired_only,
        labs,
    })
}

/// Sweeps one lab in its own region; any failure is this lab's row.
async fn sweep_one(target: &Target, options: SweepOptions, found: &FoundLab, report: &dyn Report) -> SweepRow {
    // The endpoint's time; when it cannot be read the lab's row says why.
    let (now, clock) = match target.now().await {
        Ok(now) => (now, Ok(())),
        Err(e) => (expiry::machine_now(), Err(e)),
    };
    let mut holds = Vec::new();
    let mut expires = found.expires.clone();
    let result: Result<Action> = async {
        clock?;
        // Each lab in its own region, whatever --region says.
        let mut lab_target = target.clone();
        lab_target.region = found.region.clone();
        let lab = Lab::connect(
            lab_target,
            found.names.clone(),
            LabOptions::default().force(options.force),
            report,
        )
        .await?;
        let inventory = lab::inventory(&lab).await?;
        holds = inventory.lines(&lab.names);
        expires = inventory.expires().map(str::to_owned).or(expires.clone());
        let expired = expires.as_deref().and_then(|at| expiry::has_passed(at, now)) == Some(true);
        Ok(if options.expired_only && !expired {
            Action::KeptNotExpired
        } else if options.dry_run {
            Action::WouldRemove
        } else {
            lab::cleanup(&lab, report).await?;
            Action::Removed
        })
    }
    .await;
    let (action, error) = match result {
        Ok(a) => (a, None),
        Err(e) => (Action::Failed, Some(one_line(&e))),
    };
    let row = SweepRow {
        lab: found.names.lab.clone(),
        region: found.region.clone(),
        expires: expires.as_deref().map(|at| Expiry::new(at, now)),
        holds,
        action,
        error,
    };
    report_row(&row, expires.as_deref(), now, report);
    row
}

/// `• lab NAME in REGION, expires …: ACTION; holds …`, or ✗ with why it failed.
fn report_row(row: &SweepRow, expires: Option<&str>, now: i64, report: &dyn Report) {
    let when = expiry::text(expires, now);
    let what = match &row.error {
        Some(e) => format!("failed: {e}"),
        None => row.action.text().to_owned(),
    };
    let holds = if row.holds.is_empty() {
        "unknown".to_owned()
    } else {
        row.holds.join(", ")
    };
    let line = format!(
        "lab {} in {}, {when}: {what}; holds {holds}",
        row.lab,
        row.region.as_deref().unwrap_or("an unrecorded region"),
    );
    if row.action == Action::Failed {
        report.outcome(false, &line);
    } else {
        report.line(&format!("• {line}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(tags: &[(&str, &str)]) -> iam::UserInfo {
        let tags: Vec<(String, String)> = tags.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        iam::UserInfo {
            lab_tag: tags.iter().find(|(k, _)| k == "sts-lab").map(|(_, v)| v.clone()),
            tags,
            ..iam::UserInfo::default()
        }
    }

    #[test]
    fn a_lab_is_a_tagged_user_of_that_labs_name() {
        let tagged = user(&[
            ("sts-lab", "team-a"),
            ("sts-lab-region", "eu-west-1"),
            ("sts-lab-expires", "2026-11-22T22:00:00Z"),
        ]);
        let found = lab_of("sts-machine-user-team-a", &tagged).unwrap();
        assert_eq!(found.names.lab, "team-a");
        assert_eq!(found.region.as_deref(), Some("eu-west-1"));
        assert_eq!(found.expires.as_deref(), Some("2026-11-22T22:00:00Z"));
        assert_eq!(
            lab_of("sts-machine-user", &user(&[("sts-lab", "default")]))
                .unwrap()
                .names
                .lab,
            "default"
        );
        // Look-alikes: no tag, another lab's tag, a tag that is no lab name.
        assert_eq!(lab_of("sts-machine-user-team-a", &user(&[])), None);
        assert_eq!(lab_of("sts-machine-user-team-a", &user(&[("sts-lab", "team-b")])), None);
        assert_eq!(lab_of("sts-machine-user-x", &user(&[("sts-lab", "Bad Name")])), None);
    }
}
