//! A learner's progress, kept on the lab's user as tags (so an instructor reads it with the
//! admin, and `cleanup` takes it with the user): each challenge and lesson passed, and when.

use anyhow::Result;

use super::Lab;
use crate::model::expiry::format_utc;
use crate::model::names::PASSED_TAG_PREFIX;
use crate::ops::iam;
use crate::output::challenge::PassedDoc;

/// Records that the learner passed `kind` (`challenge`, `lesson`) `name` at `at` (Unix seconds).
pub async fn record_passed(lab: &Lab, kind: &str, name: &str, at: i64) -> Result<()> {
    let key = format!("{PASSED_TAG_PREFIX}{kind}:{name}");
    iam::tag_user(&lab.admin.iam, &lab.names.user, &[(&key, &format_utc(at))]).await
}

/// What a user's tags say was passed, oldest first. Pure.
pub fn passed(tags: &[(String, String)]) -> Vec<PassedDoc> {
    let mut out: Vec<PassedDoc> = tags
        .iter()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix(PASSED_TAG_PREFIX)?;
            let (kind, name) = rest.split_once(':')?;
            Some(PassedDoc {
                kind: kind.to_owned(),
                name: name.to_owned(),
                at: v.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.at, &a.kind, &a.name).cmp(&(&b.at, &b.kind, &b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_are_read_from_the_users_tags_oldest_first() {
        let tags = [
            ("sts-lab".to_owned(), "default".to_owned()),
            (
                "sts-lab-passed:challenge:narrow-role".to_owned(),
                "2026-12-03T09:00:00Z".to_owned(),
            ),
            (
                "sts-lab-passed:lesson:external-id".to_owned(),
                "2026-12-03T08:00:00Z".to_owned(),
            ),
            ("sts-lab-passed:broken".to_owned(), "x".to_owned()),
        ];
        let p = passed(&tags);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].kind.as_str(), p[0].name.as_str()), ("lesson", "external-id"));
        assert_eq!(p[1].at, "2026-12-03T09:00:00Z");
    }
}
