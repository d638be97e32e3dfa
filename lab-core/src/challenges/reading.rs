//! The documents a challenge's proof reads from the lab, in one reading (the lab's `Reader`):
//! each subject's own policies and the context it fixes, the challenge role's trust, the
//! challenge buckets' policies.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use serde_json::Value as Json;

use super::Scene;
use super::proof::Documents;
use crate::lab::Lab;
use crate::model::decide::{Ask, Caller, Document, PolicyKind, Value};

/// A caller's own documents and the context it fixes.
type Own = (Vec<Document>, BTreeMap<String, Value>);

/// The documents as the lab holds them now.
pub struct LabDocuments {
    /// By caller, and whether with the learner's session policy.
    own: HashMap<(Caller, bool), Own>,
    trust: Option<Document>,
    buckets: HashMap<String, Document>,
}

impl LabDocuments {
    /// Reads what a question of `scene` needs: the session (with the learner's `session_policy`,
    /// and without), the user and the admin, the trust, and the policies of `buckets`.
    pub async fn read(lab: &Lab, scene: &Scene, session_policy: Option<&Json>, buckets: &[&str]) -> Result<Self> {
        let session = scene.session();
        let mut asks: Vec<(Caller, bool, Ask)> = vec![
            (session.clone(), false, Ask::new(&session, "s3:ListAllMyBuckets", "*")),
            (
                scene.me(),
                false,
                Ask::new(&scene.me(), "sts:AssumeRole", scene.role_arn.clone()),
            ),
        ];
        // With the learner's session policy (without one, the plain session stands for it).
        if let Some(p) = session_policy {
            let narrowed = Ask::new(&session, "s3:ListAllMyBuckets", "*").in_session(&p.to_string());
            asks.push((session.clone(), true, narrowed));
        }
        if let Some(admin) = &scene.admin {
            asks.push((
                admin.clone(),
                false,
                Ask::new(admin, "sts:AssumeRole", scene.role_arn.clone()),
            ));
        }
        let bucket_asks: Vec<Ask> = buckets
            .iter()
            .map(|b| Ask::new(&scene.me(), "s3:ListBucket", scene.bucket_arn(&scene.bucket(b))))
            .collect();
        let all: Vec<Ask> = asks.iter().map(|(_, _, a)| a.clone()).chain(bucket_asks).collect();
        let read = lab.requests_for(&all).await?;
        let mut out = Self {
            own: HashMap::new(),
            trust: None,
            buckets: HashMap::new(),
        };
        for ((caller, narrowed, _), (docs, request)) in asks.iter().zip(&read) {
            let (trust, own): (Vec<Document>, Vec<Document>) =
                docs.iter().cloned().partition(|d| d.kind == PolicyKind::Trust);
            if out.trust.is_none() {
                out.trust = trust.into_iter().next();
            }
            out.own
                .insert((caller.clone(), *narrowed), (own, request.context.clone()));
        }
        for (bucket, (docs, _)) in buckets.iter().zip(&read[asks.len()..]) {
            if let Some(policy) = docs.iter().find(|d| d.kind == PolicyKind::Resource) {
                out.buckets.insert(scene.bucket(bucket), policy.clone());
            }
        }
        Ok(out)
    }
}

impl Documents for LabDocuments {
    fn own(&self, caller: &Caller, session_policy: bool) -> Own {
        self.own
            .get(&(caller.clone(), session_policy))
            .or_else(|| self.own.get(&(caller.clone(), false)))
            .cloned()
            .unwrap_or_default()
    }

    fn trust(&self) -> Option<Document> {
        self.trust.clone()
    }

    fn bucket_policy(&self, bucket: &str) -> Option<Document> {
        self.buckets.get(bucket).cloned()
    }
}
