//! A challenge's documents without a lab: those a state writes (the user's access, the role's
//! policy and boundary, its trust; the admin with every right), as the lab would read them.
//! The challenge tests and `bench --proofs` prove states on them.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::proof::{self, Documents};
use super::state::{boundary_document, user_access};
use super::{Challenge, Scene, State};
use crate::model::decide::{Caller, Document, PolicyKind, Value};
use crate::model::expiry::format_utc;
use crate::model::prove::{self, Proof};

fn doc(name: &str, kind: PolicyKind, json: &Json) -> Document {
    Document {
        name: name.into(),
        kind,
        json: json.to_string(),
    }
}

/// A scene of a lab `default` in account 123456789012, the challenge set ten minutes before
/// `now` and the lab expiring an hour after it.
pub fn scene(now: i64) -> Scene {
    Scene {
        partition: "aws".into(),
        account: "123456789012".into(),
        user: "sts-lab-default-user".into(),
        user_arn: "arn:aws:iam::123456789012:user/sts-lab-default-user".into(),
        role: "sts-lab-default-challenge".into(),
        role_arn: "arn:aws:iam::123456789012:role/sts-lab-default-challenge".into(),
        admin: Some(Caller::User("admin".into())),
        prefix: "sts-lab-default-123456789012-".into(),
        expires: Some(format_utc(now + 3600)),
        started: now - 600,
        now,
    }
}

/// The documents of `state` (with `session`, the learner's session policy).
pub struct Offline<'a> {
    pub scene: &'a Scene,
    pub state: &'a State,
    pub session: Option<&'a Json>,
}

impl Documents for Offline<'_> {
    fn own(&self, caller: &Caller, session_policy: bool) -> (Vec<Document>, BTreeMap<String, Value>) {
        let s = self.scene;
        let mut context = BTreeMap::from([("aws:CurrentTime".to_owned(), Value::One(format_utc(s.now)))]);
        let mut docs = Vec::new();
        let principal = match caller {
            Caller::User(u) if *u == s.user => {
                docs.push(doc("ChallengeAccess", PolicyKind::Identity, &user_access(s)));
                s.user_arn.clone()
            }
            Caller::User(u) => {
                let all = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
                docs.push(doc("AdministratorAccess", PolicyKind::Identity, &all));
                format!("arn:{}:iam::{}:user/{u}", s.partition, s.account)
            }
            Caller::Session { .. } => {
                if let Some(p) = &self.state.role_policy {
                    docs.push(doc("ChallengePolicy", PolicyKind::Identity, p));
                }
                docs.push(doc("boundary", PolicyKind::Boundary, &boundary_document(s)));
                if let (true, Some(p)) = (session_policy, self.session) {
                    docs.push(doc("session policy", PolicyKind::Session, p));
                }
                s.role_arn.clone()
            }
        };
        context.insert("aws:PrincipalArn".into(), Value::One(principal));
        if let Caller::User(u) = caller {
            context.insert("aws:username".into(), Value::One(u.clone()));
        }
        (docs, context)
    }

    fn trust(&self) -> Option<Document> {
        Some(doc(
            "the trust of the challenge role",
            PolicyKind::Trust,
            &self.state.trust,
        ))
    }

    fn bucket_policy(&self, _bucket: &str) -> Option<Document> {
        None
    }
}

/// `ch`'s goal proven on `state` (with `session`, the learner's session policy), offline.
pub fn prove_state(ch: &Challenge, scene: &Scene, state: &State, session: Option<&Json>) -> anyhow::Result<Proof> {
    let docs = Offline { scene, state, session };
    prove::prove(&proof::question(scene, &ch.spec(scene), &state.buckets, &docs))
}
