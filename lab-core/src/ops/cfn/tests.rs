//! Tests of the CloudFormation operations: statuses, waits on a simulated clock, events.

use super::*;

fn event(logical: &str, rtype: &str, status: &str, reason: &str) -> StackEvent {
    StackEvent::builder()
        .logical_resource_id(logical)
        .resource_type(rtype)
        .resource_status(aws_sdk_cloudformation::types::ResourceStatus::from(status))
        .resource_status_reason(reason)
        .build()
}

/// An "Invalid principal" of an update long past says nothing of the update that just failed.
#[test]
fn only_the_latest_operations_failures_are_its_reasons() {
    let stack = "s";
    let events = [
        event(stack, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", ""),
        event("StsRole", "AWS::IAM::Role", "UPDATE_FAILED", "Access denied by an SCP"),
        event(
            stack,
            "AWS::CloudFormation::Stack",
            "UPDATE_IN_PROGRESS",
            "User Initiated",
        ),
        event(stack, "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", ""),
        event(
            "StsRole",
            "AWS::IAM::Role",
            "UPDATE_FAILED",
            "Invalid principal in policy",
        ),
        event(
            stack,
            "AWS::CloudFormation::Stack",
            "UPDATE_IN_PROGRESS",
            "User Initiated",
        ),
    ];
    assert_eq!(reasons_of_latest_operation(stack, &events), ["Access denied by an SCP"]);
    // No event that began it (an emulator's phantom stack): every failure counts.
    assert_eq!(
        reasons_of_latest_operation(stack, &events[1..2]),
        ["Access denied by an SCP"]
    );
}

#[test]
fn statuses_are_classified() {
    assert_eq!(phase(&StackStatus::from("CREATE_IN_PROGRESS")), Phase::InProgress);
    assert_eq!(
        phase(&StackStatus::from("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")),
        Phase::InProgress
    );
    assert_eq!(phase(&StackStatus::from("DELETE_IN_PROGRESS")), Phase::InProgress);
    assert_eq!(phase(&StackStatus::from("CREATE_COMPLETE")), Phase::Ready);
    assert_eq!(phase(&StackStatus::from("UPDATE_COMPLETE")), Phase::Ready);
    // An update that rolled back leaves the last working stack: stable, and it works.
    assert_eq!(phase(&StackStatus::from("UPDATE_ROLLBACK_COMPLETE")), Phase::Ready);
    assert_eq!(phase(&StackStatus::from("IMPORT_ROLLBACK_COMPLETE")), Phase::Ready);
    assert_eq!(phase(&StackStatus::from("REVIEW_IN_PROGRESS")), Phase::Review);
    for failed in [
        "ROLLBACK_COMPLETE",
        "CREATE_FAILED",
        "DELETE_FAILED",
        "UPDATE_ROLLBACK_FAILED",
        "DELETE_COMPLETE",
    ] {
        assert_eq!(phase(&StackStatus::from(failed)), Phase::Failed, "{failed}");
    }
}

#[test]
fn polls_grow_to_two_seconds_at_most() {
    let p = STACK_WAIT;
    assert_eq!(p.pause(Duration::ZERO), Duration::from_millis(500));
    assert_eq!(p.pause(Duration::from_secs(6)), Duration::from_millis(750));
    assert_eq!(p.pause(Duration::from_secs(600)), Duration::from_secs(2));
}

fn stack(status: &str) -> StackInfo {
    StackInfo {
        status: StackStatus::from(status),
        reason: None,
        outputs: vec![],
        lab_tag: None,
        tags: vec![],
    }
}

/// On a simulated clock: a stack that becomes ready at `ready_at` is seen within 2 s.
#[tokio::test(start_paused = true)]
async fn a_wait_ends_within_two_seconds_of_the_stack_being_ready() {
    for ready_at in [0.0, 0.1, 0.7, 3.3, 17.0, 59.9, 301.5] {
        let ready_at = Duration::from_secs_f64(ready_at);
        let start = Instant::now();
        let mut polls = 0;
        let info = wait_until_settled(
            "s",
            STACK_WAIT,
            || {
                polls += 1;
                let status = if start.elapsed() >= ready_at {
                    "CREATE_COMPLETE"
                } else {
                    "CREATE_IN_PROGRESS"
                };
                async move { Ok(Some(stack(status))) }
            },
            |_, _| {},
        )
        .await
        .unwrap();
        assert_eq!(info.unwrap().status, StackStatus::CreateComplete);
        let late = start.elapsed() - ready_at;
        assert!(
            late <= Duration::from_secs(2) && late <= (ready_at / 8).max(Duration::from_millis(500)),
            "ready at {ready_at:?}, seen {late:?} later"
        );
        // Not a busy loop either: 2 polls a second while young, then one every 2 s.
        assert!(
            polls as f64 <= 20.0 + ready_at.as_secs_f64() / 2.0,
            "{polls} polls for {ready_at:?}"
        );
    }
}

fn throttled() -> anyhow::Error {
    anyhow::Error::new(crate::aws::error::AwsError {
        operation: "DescribeStacks",
        kind: crate::aws::error::FailureKind::Service,
        code: Some("Throttling".to_owned()),
        message: "Rate exceeded".to_owned(),
    })
}

/// Throttling slows a wait and never ends it.
#[tokio::test(start_paused = true)]
async fn a_throttled_wait_asks_again_later() {
    let calls = std::cell::Cell::new(0);
    let info = wait_until_settled(
        "s",
        STACK_WAIT,
        || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                match n {
                    1..=3 => Err(throttled()),
                    4 => Ok(Some(stack("CREATE_IN_PROGRESS"))),
                    _ => Ok(Some(stack("CREATE_COMPLETE"))),
                }
            }
        },
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(info.unwrap().status, StackStatus::CreateComplete);
    assert_eq!(calls.get(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_wait_gives_up_at_its_timeout_and_a_deleted_stack_ends_it() {
    let poll = Backoff {
        budget: Duration::from_secs(60),
        ..STACK_WAIT
    };
    let start = Instant::now();
    let err = wait_until_settled("s", poll, || async { Ok(Some(stack("DELETE_IN_PROGRESS"))) }, |_, _| {})
        .await
        .unwrap_err();
    assert!(start.elapsed() <= Duration::from_secs(60));
    assert!(err.to_string().contains("still DELETE_IN_PROGRESS"), "{err}");
    let gone = wait_until_settled("s", poll, || async { Ok(None) }, |_, _| {})
        .await
        .unwrap();
    assert!(gone.is_none());
}
