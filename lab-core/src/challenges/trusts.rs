//! The challenges on who may assume a role: `external-id` (a partner's role requires an
//! ExternalId), `source-identity` (only sessions that carry the learner's name) and
//! `trust-the-user` (a trust that names the whole account narrowed to the lab's user, so the admin
//! can no longer assume it). Pure: documents and spaces from the scene.

use serde_json::{Value as Json, json};

use super::proof::{EVERYONE, Spec, TRUST_ACTIONS, Who, want};
use super::{Case, Challenge, Probe, Scene, State, Target, both, trust};
use crate::model::decide::Ask;

const ASSUME: &str = "sts:AssumeRole";
const SET_SOURCE_IDENTITY: &str = "sts:SetSourceIdentity";

/// A state of a trust challenge: the trust alone (the role has no inline policy).
fn trust_only(trust: Json) -> State {
    State {
        trust,
        role_policy: None,
        session_policy: None,
        buckets: Vec::new(),
    }
}

fn assume_probe(external_id: Option<&str>, source_identity: Option<&str>) -> Probe {
    Probe::Assume {
        by_admin: false,
        external_id: external_id.map(str::to_owned),
        source_identity: source_identity.map(str::to_owned),
    }
}

/// The ExternalId the partner was told: not a secret.
fn partner_id(s: &Scene) -> String {
    format!("{}-partner", s.role)
}

pub static EXTERNAL_ID: Challenge = Challenge {
    name: "external-id",
    summary: "make a third party's role require an ExternalId (the confused deputy)",
    goal: |s| {
        format!(
            "Role {} is assumed by a partner (the lab's user stands in for them). Make its trust require the ExternalId {}: AssumeRole with it is allowed; without one, with another, or with the same in another case, refused.",
            s.role,
            partner_id(s)
        )
    },
    hint: "AssumeRole's ExternalId is the context key sts:ExternalId; StringEquals compares it exactly, case included.",
    start: |s| trust_only(trust(&s.user_arn, &[ASSUME], s.until_expiry())),
    answer: |s| {
        let id = json!({"StringEquals": {"sts:ExternalId": partner_id(s)}});
        trust_only(trust(&s.user_arn, &[ASSUME], Some(both(s.until_expiry(), id))))
    },
    space: |s, _| {
        let id = partner_id(s);
        let upper = id.to_ascii_uppercase();
        let me = s.me();
        [
            ("without an ExternalId", None, Target::Refused),
            ("with the ExternalId", Some(id.as_str()), Target::Allowed),
            ("with another ExternalId", Some("another-partner"), Target::Refused),
            ("with the ExternalId in capitals", Some(upper.as_str()), Target::Refused),
        ]
        .into_iter()
        .map(|(how, given, target)| {
            let mut ask = Ask::new(&me, ASSUME, s.role_arn.clone());
            if let Some(given) = given {
                ask = ask.with("sts:ExternalId", given);
            }
            Case::new(format!("the user assumes the role {how}"), ask, target).probed(assume_probe(given, None))
        })
        .collect()
    },
    spec: |s| {
        trust_spec(
            s,
            &[ASSUME],
            Some(json!({"StringEquals": {"sts:ExternalId": partner_id(s)}})),
        )
    },
    session_policy: false,
};

/// A trust challenge's goal: the lab's user may make `actions` on the role when `condition`
/// holds; nothing else a trust decides, for anyone.
fn trust_spec(s: &Scene, actions: &[&str], condition: Option<Json>) -> Spec {
    Spec {
        who: EVERYONE.to_vec(),
        actions: TRUST_ACTIONS.iter().map(|a| (*a).to_owned()).collect(),
        resources: vec![s.role_arn.clone()],
        allow: vec![want(
            &[Who::User],
            actions,
            std::slice::from_ref(&s.role_arn),
            condition,
        )],
        either: Vec::new(),
    }
}

pub static SOURCE_IDENTITY: Challenge = Challenge {
    name: "source-identity",
    summary: "make a trust accept only sessions whose SourceIdentity is the learner's name",
    goal: |s| {
        format!(
            "Role {}'s trust lets the lab's user assume it with any SourceIdentity, or none. Make it accept only sessions whose SourceIdentity is {} (the learner's name, which stays on every session chained from it): without one, or with another, refused.",
            s.role, s.user
        )
    },
    hint: "AssumeRole with a SourceIdentity needs the trust to allow sts:SetSourceIdentity as well as sts:AssumeRole; the value is the key sts:SourceIdentity, and a request without it fails a StringEquals on it.",
    start: |s| trust_only(trust(&s.user_arn, &[ASSUME, SET_SOURCE_IDENTITY], s.until_expiry())),
    answer: |s| {
        let who = json!({"StringEquals": {"sts:SourceIdentity": s.user}});
        trust_only(trust(
            &s.user_arn,
            &[ASSUME, SET_SOURCE_IDENTITY],
            Some(both(s.until_expiry(), who)),
        ))
    },
    space: |s, _| {
        let me = s.me();
        let mut out = Vec::new();
        for (how, given, target) in [
            ("without a SourceIdentity", None, Target::Refused),
            ("as itself", Some(s.user.as_str()), Target::Allowed),
            ("as someone else", Some("someone-else"), Target::Refused),
        ] {
            let mut ask = Ask::new(&me, ASSUME, s.role_arn.clone());
            if let Some(given) = given {
                ask = ask.with("sts:SourceIdentity", given);
                out.push(Case::new(
                    format!("the user sets the SourceIdentity {given}"),
                    Ask::new(&me, SET_SOURCE_IDENTITY, s.role_arn.clone()).with("sts:SourceIdentity", given),
                    target,
                ));
            }
            out.push(
                Case::new(format!("the user assumes the role {how}"), ask, target).probed(assume_probe(None, given)),
            );
        }
        out
    },
    spec: |s| {
        trust_spec(
            s,
            &[ASSUME, SET_SOURCE_IDENTITY],
            Some(json!({"StringEquals": {"sts:SourceIdentity": s.user}})),
        )
    },
    session_policy: false,
};

pub static TRUST_THE_USER: Challenge = Challenge {
    name: "trust-the-user",
    summary: "turn a trust that names the whole account into one that names the lab's user",
    goal: |s| {
        format!(
            "Role {}'s trust names the whole account ({}), so any principal of the account whose own policies allow sts:AssumeRole may assume it, the admin included. Make it name the lab's user ({}) alone: the user may assume the role, the admin no longer.",
            s.role,
            root(s),
            s.user_arn
        )
    },
    hint: "A trust's Principal that names the account (…:root) hands the choice to each principal's own policies; one that names a user's ARN trusts that user alone.",
    start: |s| trust_only(trust(&root(s), &[ASSUME], s.until_expiry())),
    answer: |s| trust_only(trust(&s.user_arn, &[ASSUME], s.until_expiry())),
    space: |s, _| {
        let mut out = vec![
            Case::new(
                "the user assumes the role",
                Ask::new(&s.me(), ASSUME, s.role_arn.clone()),
                Target::Allowed,
            )
            .probed(assume_probe(None, None)),
        ];
        if let Some(admin) = &s.admin {
            out.push(
                Case::new(
                    "the admin assumes the role",
                    Ask::new(admin, ASSUME, s.role_arn.clone()),
                    Target::Refused,
                )
                .probed(Probe::Assume {
                    by_admin: true,
                    external_id: None,
                    source_identity: None,
                }),
            );
        }
        out
    },
    spec: |s| trust_spec(s, &[ASSUME], None),
    session_policy: false,
};

/// The account, as a trust's Principal names it.
fn root(s: &Scene) -> String {
    format!("arn:{}:iam::{}:root", s.partition, s.account)
}
