//! The lab's region: chosen at setup, then remembered beside the user profile in the config file
//! and as a tag on the lab user, so that every later task goes where the stack and buckets are.

use anyhow::{Result, bail};

use crate::aws::target::Target;
use crate::model::names::{LabNames, REGION_TAG_KEY};
use crate::ops::iam::UserInfo;
use crate::profiles::awsfiles::FileKind;

/// The region recorded beside the lab's user profile (a section the lab wrote) in the config file.
pub fn recorded_region(target: &Target, names: &LabNames) -> Result<Option<String>> {
    Ok(target
        .files
        .read_profile(FileKind::Config, &names.user_profile)?
        .filter(|p| p.owned)
        .and_then(|p| p.get("region").map(str::to_owned))
        .filter(|r| !r.is_empty()))
}

/// Points `target` at the region recorded in the files, unless `--region` asked for one; a
/// `--region` that is not the lab's is refused. Returns the recorded region.
pub fn settle_region_from_files(target: &mut Target, names: &LabNames) -> Result<Option<String>> {
    let recorded = recorded_region(target, names)?;
    if let Some(region) = &recorded {
        let place = format!("profile {} in {}", names.user_profile, target.files.config.display());
        check_asked(names, target.region.as_deref(), region, &place)?;
        target.region = Some(region.clone());
    }
    Ok(recorded)
}

/// The region the lab user's tag records, checked against `--region`.
pub(crate) fn tagged_region(names: &LabNames, user: &UserInfo, asked: Option<&str>) -> Result<Option<String>> {
    if user.lab_tag.as_deref() != Some(names.lab.as_str()) {
        return Ok(None);
    }
    let Some(region) = user.tag(REGION_TAG_KEY) else {
        return Ok(None);
    };
    let place = format!("the tag {REGION_TAG_KEY} of IAM user {}", names.user);
    check_asked(names, asked, region, &place)?;
    Ok(Some(region.to_owned()))
}

/// Refuses `--region` when the lab's user records another region (a class checks each lab so).
pub fn check_region_asked(names: &LabNames, asked: Option<&str>, region: &str) -> Result<()> {
    let place = format!("the tag {REGION_TAG_KEY} of IAM user {}", names.user);
    check_asked(names, asked, region, &place)
}

fn check_asked(names: &LabNames, asked: Option<&str>, region: &str, place: &str) -> Result<()> {
    match asked {
        Some(asked) if asked != region => bail!(
            "lab {} lives in {region} ({place}), not {asked}; drop --region (or pass --region {region}), or run `{}` first to set it up in {asked}",
            names.lab,
            crate::output::command::xtask("cleanup")
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(tags: &[(&str, &str)]) -> UserInfo {
        let tags: Vec<(String, String)> = tags.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        UserInfo {
            lab_tag: tags.iter().find(|(k, _)| k == "sts-lab").map(|(_, v)| v.clone()),
            tags,
            ..UserInfo::default()
        }
    }

    #[test]
    fn the_users_tag_names_the_region_and_a_different_ask_is_refused() {
        let names = LabNames::new(None).unwrap();
        let tagged = user(&[("sts-lab", "default"), ("sts-lab-region", "eu-west-1")]);
        assert_eq!(
            tagged_region(&names, &tagged, None).unwrap().as_deref(),
            Some("eu-west-1")
        );
        assert!(tagged_region(&names, &tagged, Some("eu-west-1")).is_ok());
        let err = tagged_region(&names, &tagged, Some("us-east-1"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lives in eu-west-1") && err.contains("drop --region"),
            "{err}"
        );
        // Not the lab's user, or no region tag: nothing is known.
        let foreign = user(&[("sts-lab", "other"), ("sts-lab-region", "eu-west-1")]);
        assert_eq!(tagged_region(&names, &foreign, Some("us-east-1")).unwrap(), None);
        assert_eq!(
            tagged_region(&names, &user(&[("sts-lab", "default")]), None).unwrap(),
            None
        );
    }
}
