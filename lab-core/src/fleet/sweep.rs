//! Every lab in the account, found by its tags whether or not any local file still knows it: IAM
//! users tagged `sts-lab=<lab>` whose name is that lab's user name (a user of a lab's name without
//! the tag, or with another lab's tag, is not a lab and is never touched).

use anyhow::Result;
use aws_sdk_iam::Client;

use crate::model::names::{EXPIRES_TAG_KEY, LabNames, REGION_TAG_KEY};
use crate::ops::iam;

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

/// The labs whose users exist in the account, by lab name.
pub async fn find_labs(iam_client: &Client) -> Result<Vec<FoundLab>> {
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
