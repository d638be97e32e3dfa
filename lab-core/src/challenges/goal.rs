//! The goal of the challenge set on a lab, as advice reads it (`trail`, `why`, the class's page): a
//! refusal the goal wants is refused by design, and never gets a change that would open the
//! learner's answer. Given to the lab's trail as a function, so that the lab never reaches up to
//! the challenges.

use anyhow::Result;
use futures_util::future::BoxFuture;

use super::reading::LabDocuments;
use super::{grade, proof, run, state};
use crate::lab::Lab;
use crate::model::advice::Goal;

/// The goal of the challenge set on `lab`, as the proof asks it (none when none is set).
pub fn goals(lab: &Lab) -> BoxFuture<'_, Result<Vec<Goal>>> {
    Box::pin(async move {
        let Some((ch, started)) = run::challenge_of(lab).await? else {
            return Ok(Vec::new());
        };
        let scene = state::scene(lab, Some(started)).await?;
        let buckets = ch.start(&scene).buckets;
        let documents = LabDocuments::read(lab, &scene, None, &buckets).await?;
        let question = proof::question(&scene, &ch.spec(&scene), &buckets, &documents);
        Ok(grade::ground(&scene, ch.name, Some(question)).goals)
    })
}
