//! `class status`: a row per student (user, key age, stack, expiry, lesson, challenge, what they
//! passed and when, handout), from each lab's inventory, as `class status --json` gives it.

use anyhow::Result;

use super::Room;
use crate::lab;
use crate::output::{self, ClassStatusDoc};

/// The class as it is, and the endpoint's time it was seen at.
pub async fn status(room: &Room) -> Result<(ClassStatusDoc, i64)> {
    let now = room.target.now().await?;
    let found = room.existing_or_hint().await?;
    // Every student's inventory side by side: the class's pace bounds them.
    let rows = found.iter().map(|found| async move {
        let student = room.student(&found.names.lab, found.region.as_deref())?;
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
        anyhow::Ok(output::StudentStatus {
            lab: found.names.lab.clone(),
            user: inv.user.as_ref().map(|u| output::User {
                name: found.names.user.clone(),
                lab_tag: u.lab_tag.clone(),
            }),
            key_age_seconds: key_age,
            stack: inv.stack.as_ref().map(|s| output::Stack {
                name: found.names.stack.clone(),
                status: s.status.as_str().to_owned(),
            }),
            expires: expires.as_deref().map(|at| output::Expiry::new(at, now)),
            lesson: inv.lesson.doc(),
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
