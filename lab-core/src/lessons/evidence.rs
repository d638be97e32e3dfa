//! A lesson's evidence: each check's CloudTrail event, the request that proved it, found in one
//! reading of the emulator's trail after the checks (AWS delivers events minutes late, so there
//! the checks carry none and `trail` shows them later). A check is matched to the first event
//! after the previous check's made by the same caller, for the same action, with the same outcome.

use anyhow::Result;

use crate::lab::{self, Lab};
use crate::model::decide::{Ask, Caller};
use crate::model::trail::Record;
use crate::ops::cloudtrail::Found;
use crate::output::LessonCheck;

/// How far past the checks' start their events may lie: a lesson about time moves the emulator's
/// clock forward (at most past a lab's longest life, 7 days) and back.
const CLOCK_MOVED_AT_MOST: i64 = 8 * 24 * 3600;

/// Finds the event of each check made since `from` (the endpoint's clock); on AWS, none.
pub async fn attach(lab: &Lab, checks: &mut [LessonCheck], from: i64) -> Result<()> {
    if lab.target.endpoint.emulator().is_none() || checks.iter().all(|c| c.asked.is_none()) {
        return Ok(());
    }
    let found = lab::read_events(&lab.admin, from, from + CLOCK_MOVED_AT_MOST).await?;
    match_events(checks, &found, lab.admin_identity.partition(), lab.account());
    Ok(())
}

/// Each check's event, in order: the first unclaimed one after the previous match that the
/// check's caller made for its action with its outcome. Pure.
pub fn match_events(checks: &mut [LessonCheck], found: &Found, partition: &str, account: &str) {
    let oldest_first: Vec<&Record> = found.records.iter().rev().collect();
    let mut claimed = vec![false; oldest_first.len()];
    let mut after = 0;
    for check in checks.iter_mut() {
        let Some(asked) = &check.asked else { continue };
        let code = outcome_code(&check.seen);
        let fits = |i: usize| {
            !claimed[i]
                && oldest_first[i]
                    .ask(partition, account)
                    .is_some_and(|ask| same_request(&ask, asked))
                && oldest_first[i].error_code.as_deref() == code
        };
        let at = (after..oldest_first.len())
            .find(|&i| fits(i))
            .or_else(|| (0..after).find(|&i| fits(i)));
        if let Some(i) = at {
            claimed[i] = true;
            after = i + 1;
            check.event_id = Some(oldest_first[i].event_id.clone());
        }
    }
}

/// The error code of a check's `seen` (`AccessDenied: …`), None when it was allowed.
fn outcome_code(seen: &str) -> Option<&str> {
    match seen {
        "allowed" => None,
        _ => seen.split(':').next(),
    }
}

/// The same caller (a user by name, a session by its role) and the same action.
fn same_request(event: &Ask, check: &Ask) -> bool {
    let caller = match (&event.caller, &check.caller) {
        (Caller::User(a), Caller::User(b)) => a == b,
        (Caller::Session { role: a, .. }, Caller::Session { role: b, .. }) => a == b,
        _ => false,
    };
    caller && event.action.eq_ignore_ascii_case(&check.action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Expect;

    fn record(id: &str, user: &str, event: &str, error: Option<&str>) -> Record {
        let error = error.map(|e| format!(r#","errorCode":"{e}""#)).unwrap_or_default();
        serde_json::from_str(&format!(
            r#"{{"eventTime":"2026-12-02T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"{event}",
            "userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/{user}","userName":"{user}"}},
            "eventID":"{id}"{error}}}"#
        ))
        .unwrap()
    }

    fn check(user: &str, action: &str, seen: &str) -> LessonCheck {
        LessonCheck {
            name: String::new(),
            expected: Expect::Allowed,
            seen: seen.to_owned(),
            ok: true,
            decided_by: None,
            why: None,
            command: String::new(),
            event_id: None,
            asked: Some(Ask::new(&Caller::User(user.to_owned()), action, "*")),
        }
    }

    #[test]
    fn checks_find_their_own_events_in_order_and_never_share_one() {
        // Newest first, as LookupEvents answers: another user's call, then u's allowed and refused ones.
        let found = Found {
            records: vec![
                record("e4", "u", "ListBuckets", Some("AccessDenied")),
                record("e3", "other", "ListBuckets", Some("AccessDenied")),
                record("e2", "u", "ListBuckets", None),
                record("e1", "u", "ListBuckets", Some("AccessDenied")),
            ],
            truncated: false,
        };
        let mut checks = vec![
            check("u", "s3:ListAllMyBuckets", "AccessDenied: no"),
            check("u", "s3:ListAllMyBuckets", "allowed"),
            check("u", "s3:ListAllMyBuckets", "AccessDenied: no again"),
            check("u", "s3:CreateBucket", "allowed"),
        ];
        match_events(&mut checks, &found, "aws", "123456789012");
        let ids: Vec<Option<&str>> = checks.iter().map(|c| c.event_id.as_deref()).collect();
        assert_eq!(ids, [Some("e1"), Some("e2"), Some("e4"), None]);
    }
}
