//! `class status`: a row per student (user, key age, stack, expiry, lesson, challenge, what they
//! passed and when, handout), from each lab's inventory, as `class status --json` gives it.

use anyhow::Result;

use super::Room;
use crate::lab;
use crate::model::expiry::format_utc;
use crate::ops::iam;
use crate::output::{self, ClassStatusDoc};

/// When the student's key was last used (the latest of its keys) and when their role was (UTC).
async fn last_used(student: &lab::Lab, inv: &lab::Inventory) -> Result<(Option<String>, Option<String>)> {
    let iam_client = &student.admin.iam;
    let keys = inv
        .access_keys
        .iter()
        .map(|k| iam::access_key_last_used(iam_client, &k.access_key_id));
    // From the class's reading of the account's documents (GetAccountAuthorizationDetails gives
    // each role's RoleLastUsed), else asked (GetRole).
    let read = student.shared_documents().await?;
    let role = async {
        match (inv.roles.first(), read.as_deref()) {
            (Some(role), Some(read)) => Ok(read.role(role).and_then(|r| r.last_used)),
            (Some(role), None) => iam::role_last_used(iam_client, role).await,
            (None, _) => Ok(None),
        }
    };
    let (keys, role) = tokio::try_join!(futures_util::future::try_join_all(keys), role)?;
    let utc = |d: aws_smithy_types::DateTime| format_utc(d.secs());
    Ok((
        keys.into_iter().flatten().max_by_key(|d| d.secs()).map(utc),
        role.map(utc),
    ))
}

/// The class as it is, and the endpoint's time it was seen at.
pub async fn status(room: &Room) -> Result<(ClassStatusDoc, i64)> {
    let now = room.target.now().await?;
    // The class and every student's users', roles' and policies' documents from one reading of
    // the account taken now, shared by all; their inventories side by side, the class's pace
    // bounding them.
    let since = tokio::time::Instant::now();
    let found = room.existing_or_hint_since(since).await?;
    let rows = found.iter().map(|found| async move {
        let student = room.student_reading_since(&found.names.lab, found.region.as_deref(), since)?;
        let inv = lab::inventory(&student).await?;
        let key_age = inv
            .access_keys
            .iter()
            .filter_map(|k| k.create_date.map(|d| now - d.secs()))
            .min();
        let expires = inv.expires().map(str::to_owned).or(found.expires.clone());
        let handout = tokio::fs::try_exists(room.handout(&found.names.lab).join("credentials"))
            .await
            .unwrap_or(false);
        let (key_last_used, role_last_used) = last_used(&student, &inv).await?;
        anyhow::Ok(output::StudentStatus {
            lab: found.names.lab.clone(),
            user: inv.user.as_ref().map(|u| output::User {
                name: found.names.user.clone(),
                lab_tag: u.lab_tag.clone(),
            }),
            key_age_seconds: key_age,
            key_last_used,
            role_last_used,
            stack: inv.stack.as_ref().map(|s| output::Stack {
                name: found.names.stack.clone(),
                status: s.status.as_str().to_owned(),
            }),
            expires: expires.as_deref().map(|at| output::Expiry::new(at, now)),
            lesson: inv.lesson.clone(),
            challenge: inv
                .user
                .as_ref()
                .and_then(|u| u.tag(crate::model::names::CHALLENGE_TAG_KEY))
                .map(str::to_owned),
            passed: inv
                .user
                .as_ref()
                .map(|u| lab::progress::passed(&u.tags))
                .unwrap_or_default(),
            handout,
        })
    });
    let students = futures_util::future::try_join_all(rows).await?;
    let doc = ClassStatusDoc {
        class: room.name.clone(),
        students,
    };
    Ok((doc, now))
}
