//! A challenge's case graded: what the documents decide for its request against what the goal
//! wants of it. Too open (allowed, the goal refuses it): the statement that allows it, to narrow.
//! Too closed (refused, the goal allows it): what decided it, and the advice on it
//! (`model::advice`: a change to the challenge's documents, narrowed and proven; never one that
//! widens the lab's user past the goal or opens the trust to the admin). A counterexample of the proof is graded the same way: decided again by
//! `decide`, the evaluator `why` and `verify` use, which must agree with the proof. Pure.

use anyhow::Result;

use super::Scene;
use crate::model::advice::{self, Advice, Goal, Ground};
use crate::model::decide::{Caller, Decision, Document, Effect, PolicyKind, Request};
use crate::model::prove::{Counterexample, Miss, Question};
pub use crate::output::challenge::Target;
pub use crate::output::challenge::Verdict;

/// A case with its decision, the verdict, and what would change it.
#[derive(Debug, Clone)]
pub struct Graded {
    pub verdict: Verdict,
    pub decision: Decision,
    /// Too closed: the advice, ranked.
    pub advice: Vec<Advice>,
    /// One line: what to change.
    pub change: Option<String>,
}

/// Grades a request the goal wants `target`, with `documents` in play (the tests grade the
/// endpoint's sample so; a check grades the proof's counterexamples).
#[cfg(test)]
pub fn grade(target: Target, documents: &[Document], request: &Request, ground: &Ground) -> Result<Graded> {
    let decision = crate::model::decide::decide(documents, request)?;
    graded(target, decision, documents, request, ground)
}

/// What advice knows of a challenge's lab: its user (protected), the admin, the challenge role
/// (the learner's), its buckets' prefix and expiry, and the challenge's goal (`question`).
pub fn ground(scene: &Scene, challenge: &str, question: Option<Question>) -> Ground {
    let admin = scene.admin.as_ref().map(|a| match a {
        Caller::User(u) => format!("arn:{}:iam::{}:user/{u}", scene.partition, scene.account),
        Caller::Session { session_arn, .. } => session_arn.clone(),
    });
    Ground {
        partition: scene.partition.clone(),
        account: scene.account.clone(),
        protected: Some(scene.user_arn.clone()),
        admin,
        roles: vec![scene.role.clone()],
        bucket_prefix: scene.prefix.clone(),
        expires: scene.expires.clone(),
        goals: question
            .into_iter()
            .map(|question| Goal {
                check: format!("challenge {challenge}'s goal"),
                question,
                subjects: Vec::new(),
            })
            .collect(),
    }
}

/// Grades `request`, already decided as `decision`, against `target`.
fn graded(
    target: Target,
    decision: Decision,
    documents: &[Document],
    request: &Request,
    ground: &Ground,
) -> Result<Graded> {
    let allowed = decision.decided_by.effect == Effect::Allow;
    let verdict = match (target, allowed) {
        (Target::Allowed, true) | (Target::Refused, false) => Verdict::AsWanted,
        (Target::Refused, true) => Verdict::TooOpen,
        (Target::Allowed, false) => Verdict::TooClosed,
    };
    let (advice, change) = match verdict {
        Verdict::AsWanted => (Vec::new(), None),
        Verdict::TooOpen => (Vec::new(), Some(narrow(&decision, request))),
        Verdict::TooClosed => {
            let advice = advice::advise(ground, documents, request, &[])?;
            let change = advice.first().map(|a| a.line().to_owned());
            (advice, change)
        }
    };
    Ok(Graded {
        verdict,
        decision,
        advice,
        change,
    })
}

/// What would refuse a request that is allowed: the statement that allows it, narrowed. The
/// statement named is the one the learner writes: a session policy's, a trust's or a bucket
/// policy's before an identity policy's (an admin's AdministratorAccess allows AssumeRole of any
/// role; the role's trust is what lets it through).
fn narrow(decision: &Decision, request: &Request) -> String {
    let rank = |kind: PolicyKind| match kind {
        PolicyKind::Session => 0,
        PolicyKind::Trust | PolicyKind::Resource => 1,
        PolicyKind::Identity => 2,
        PolicyKind::Boundary => 3,
    };
    let allowing = decision
        .policies
        .iter()
        .flat_map(|p| p.statements.iter().map(move |st| (p, st)))
        .filter(|(_, st)| st.applies && !st.deny)
        .min_by_key(|(p, _)| rank(p.kind));
    let (statement, policy) = match allowing {
        Some((p, st)) => (
            st.sid
                .as_deref()
                .map_or_else(|| "the statement".to_owned(), |sid| format!("statement {sid}")),
            p.name.clone(),
        ),
        None => (
            "the statement".to_owned(),
            decision
                .decided_by
                .policy
                .clone()
                .unwrap_or_else(|| "a policy in play".to_owned()),
        ),
    };
    let with = crate::model::decide::carried_text(request.context.iter().filter(|(k, _)| asked_key(k)));
    format!(
        "narrow {statement} of {policy}: it allows {} on {}{with}; name fewer actions, resources or principals, or add the condition the goal asks for",
        request.action, request.resource
    )
}

/// Whether a context key is one the request itself carries (not the lab's: time, caller).
fn asked_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("sts:") || key == "aws:tokenissuetime" || key.starts_with("s3:")
}

/// What the goal wants of a counterexample's request.
pub fn target_of(miss: Miss) -> Target {
    match miss {
        Miss::TooOpen => Target::Refused,
        Miss::TooClosed => Target::Allowed,
    }
}

/// A counterexample of the proof, decided again by `decide` (Err when it does not agree with
/// the proof, `Counterexample::confirm`) and graded.
pub fn counterexample(cx: &Counterexample, ground: &Ground) -> Result<Graded> {
    graded(target_of(cx.miss), cx.confirm()?, &cx.documents, &cx.request(), ground)
}
