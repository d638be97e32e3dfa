//! The one line that says why a request was decided so: the statement that allowed or denied
//! it, or for an implicit deny the kind of policy that did not allow it and the statement that
//! would have but for a condition.

use super::{DecidedBy, Effect, PolicyKind, PolicyTrace, Request, Value, trace};

/// One line: `Allow by AssumeTheLabRoleOnly (StsAssumePolicy)`, `explicit deny by … `,
/// `implicit deny: no statement allows s3:ListAllMyBuckets`, or the statement that would allow
/// it but for a condition.
pub(super) fn line(
    decided: &DecidedBy,
    missing: Option<PolicyKind>,
    policies: &[PolicyTrace],
    request: &Request,
) -> String {
    let name = || match (&decided.statement, &decided.policy) {
        (Some(sid), Some(policy)) => format!("{sid} ({policy})"),
        (None, Some(policy)) => format!("a statement of {policy}"),
        _ => "a statement".to_owned(),
    };
    let action = &request.action;
    match decided.effect {
        Effect::Allow => format!("Allow by {}", name()),
        Effect::ExplicitDeny => format!("explicit deny by {}", name()),
        Effect::ImplicitDeny => {
            let (what, kinds) = match missing {
                Some(PolicyKind::Trust) => (
                    format!("the role's trust does not let this caller call {action}"),
                    &[PolicyKind::Trust, PolicyKind::Resource][..],
                ),
                Some(PolicyKind::Session) => (format!("no session policy allows {action}"), &[PolicyKind::Session][..]),
                Some(PolicyKind::Boundary) => (
                    format!("no permissions boundary allows {action}"),
                    &[PolicyKind::Boundary][..],
                ),
                _ => (
                    format!("no statement allows {action}"),
                    &[PolicyKind::Identity, PolicyKind::Trust, PolicyKind::Resource][..],
                ),
            };
            match near_miss(policies, kinds) {
                Some(miss) => format!("implicit deny: {what}; {miss}"),
                None => format!("implicit deny: {what}"),
            }
        }
    }
}

/// `AssumeTheLabRoleOnly (StsAssumePolicy) would allow it but DateLessThan aws:CurrentTime
/// "2026-…" does not hold (the request has "2026-…")`: the first Allow of `kinds` that matched
/// the request but for a condition.
fn near_miss(policies: &[PolicyTrace], kinds: &[PolicyKind]) -> Option<String> {
    let (policy, statement) = policies.iter().filter(|p| kinds.contains(&p.kind)).find_map(|p| {
        p.statements
            .iter()
            .find(|s| !s.deny && !s.applies && s.conditions.iter().any(|c| !c.holds))
            .filter(|s| s.why == trace::CONDITIONS_NOT_MET)
            .map(|s| (p, s))
    })?;
    let condition = statement.conditions.iter().find(|c| !c.holds)?;
    let sid = statement.sid.as_deref().unwrap_or("a statement");
    let has = match &condition.request {
        Some(Value::One(v)) => format!("the request has {v}"),
        Some(Value::Many(v)) => format!("the request has {}", v.join(", ")),
        None => "the request has no such key".to_owned(),
    };
    Some(format!(
        "{sid} ({}) would allow it but its {} {} {} does not hold ({has})",
        policy.name, condition.operator, condition.key, condition.values
    ))
}
