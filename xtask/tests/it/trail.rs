//! The lab's trail, met as a learner and an auditor meet it: the real aws CLI's `cloudtrail
//! lookup-events` against the emulator finds the lab's AssumeRole, the session's calls and the
//! user's refused ListBuckets with their identities and error codes (and no secret); `trail`
//! shows them with their explanations; a fix `trail` suggests, applied with the aws CLI, flips
//! the decision; `--follow` shows a new refusal as it happens; a lesson's checks carry their
//! events.

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::common::{TestEmulator, assert_ok, stderr, stdout};

const USER: &str = "sts-machine-user";

fn json_of(out: &Output, what: &str) -> Json {
    assert_ok(out, what);
    serde_json::from_str(&stdout(out)).unwrap()
}

/// Every CloudTrail record `aws cloudtrail lookup-events ARGS` finds (the CLI follows NextToken).
fn lookup(emu: &TestEmulator, args: &[&str]) -> (String, Vec<Json>) {
    let mut all = vec!["cloudtrail", "lookup-events"];
    all.extend_from_slice(args);
    let out = emu.aws(&all);
    let text = stdout(&out);
    let doc = json_of(&out, "lookup-events");
    let records = doc["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap())
        .collect();
    (text, records)
}

/// The lab set up, assumed and verified with the built xtask, as a learner runs it.
fn lab_run(emu: &TestEmulator) {
    for task in ["setup", "assume", "verify"] {
        assert_ok(&emu.xtask(&[task]), task);
    }
}

#[tokio::test]
async fn lookup_events_finds_the_labs_requests_with_their_identities_and_no_secret() {
    let emu = TestEmulator::start().await;
    lab_run(&emu);
    let (_, assumed) = lookup(
        &emu,
        &[
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=AssumeRole",
        ],
    );
    let by_user: Vec<&Json> = assumed
        .iter()
        .filter(|r| r["userIdentity"]["userName"] == USER && r["errorCode"].is_null())
        .collect();
    assert!(!by_user.is_empty(), "{assumed:#?}");
    let assume = by_user[0];
    assert_eq!(assume["userIdentity"]["type"], "IAMUser");
    assert_eq!(assume["eventSource"], "sts.amazonaws.com");
    let role_arn = assume["requestParameters"]["roleArn"].as_str().unwrap().to_owned();
    let role = role_arn.rsplit('/').next().unwrap();

    let (_, listings) = lookup(
        &emu,
        &[
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=ListBuckets",
        ],
    );
    let refused = listings
        .iter()
        .find(|r| r["userIdentity"]["userName"] == USER)
        .expect("the user's refused ListBuckets");
    assert_eq!(refused["errorCode"], "AccessDenied", "{refused:#}");
    assert!(
        refused["errorMessage"]
            .as_str()
            .unwrap()
            .contains("s3:ListAllMyBuckets")
    );
    let by_session = listings
        .iter()
        .find(|r| r["userIdentity"]["type"] == "AssumedRole")
        .expect("the session's ListBuckets");
    let context = &by_session["userIdentity"]["sessionContext"];
    assert_eq!(context["sessionIssuer"]["userName"], role, "{by_session:#}");
    assert_eq!(context["attributes"]["mfaAuthenticated"], "false");
    assert!(by_session["errorCode"].is_null());

    // No secret of the session or the user's key anywhere in the account's whole trail.
    let (all, records) = lookup(&emu, &[]);
    assert!(records.len() > 20, "{}", records.len());
    let credentials = std::fs::read_to_string(emu.home.files().credentials).unwrap();
    let mut secrets = 0;
    for line in credentials.lines() {
        if let Some((key, value)) = line.split_once('=')
            && ["aws_secret_access_key", "aws_session_token"].contains(&key.trim())
        {
            assert!(!all.contains(value.trim()), "a secret is in the trail: {key}");
            secrets += 1;
        }
    }
    assert!(
        secrets >= 4,
        "the admin's, the user's and the session's secrets: {secrets}"
    );
}

#[tokio::test]
async fn trail_explains_each_refusal_and_the_fixes_it_suggests_flip_the_decision() {
    let emu = TestEmulator::start().await;
    lab_run(&emu);
    let text = stdout(&emu.xtask(&["trail"]));
    assert!(text.contains(&format!("user {USER} sts:AssumeRole on arn:")), "{text}");
    assert!(
        text.contains(&format!("user {USER} s3:ListBuckets: AccessDenied")),
        "{text}"
    );
    assert!(
        text.contains("decided again from the documents as they are now: implicit deny"),
        "{text}"
    );
    assert!(
        text.contains("what would change it: add to an identity policy of user"),
        "{text}"
    );

    // The user's refusal: the statement trail suggests, put as the user's policy with the aws CLI.
    let doc = json_of(
        &emu.xtask(&["trail", "--denied", "--as", "sts", "--json"]),
        "trail --json",
    );
    let events = doc["events"].as_array().unwrap();
    assert!(
        events.iter().all(|e| e["allowed"] == false && e["by_the_lab"] == true),
        "{doc:#}"
    );
    let listing = events
        .iter()
        .find(|e| e["operation"] == "s3:ListBuckets")
        .expect("ListBuckets");
    let fix = &listing["explained"]["fixes"][0];
    assert_eq!(
        (&fix["kind"], &fix["how"]["type"]),
        (&json!("identity"), &json!("add_statement"))
    );
    let before = emu.aws(&["s3api", "list-buckets", "--profile", "sts"]);
    assert!(stderr(&before).contains("AccessDenied"), "{}", stderr(&before));
    let policy = json!({"Version": "2012-10-17", "Statement": [fix["how"]["statement"]]}).to_string();
    let put = [
        "iam",
        "put-user-policy",
        "--user-name",
        USER,
        "--policy-name",
        "TrailFix",
        "--policy-document",
        &policy,
    ];
    assert_ok(&emu.aws(&put), "put-user-policy");
    assert_ok(
        &emu.aws(&["s3api", "list-buckets", "--profile", "sts"]),
        "the fixed ListBuckets",
    );
    let why = json_of(&emu.xtask(&["why", "--as", "sts", "s3:ListBuckets", "--json"]), "why");
    assert_eq!(why["decided_by"]["effect"], "Allow", "{why:#}");
    assert_eq!(why["fixes"], json!([]));

    // The admin's refused AssumeRole: the trust statement trail suggests, added to the trust.
    let doc = json_of(&emu.xtask(&["trail", "--denied", "--json"]), "trail --json");
    let refused = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["operation"] == "sts:AssumeRole" && !e["by_the_lab"].as_bool().unwrap())
        .expect("the admin's refused AssumeRole");
    let fix = &refused["explained"]["fixes"][0];
    assert_eq!(fix["kind"], "trust", "{refused:#}");
    let role_arn = refused["resource"].as_str().unwrap();
    let role = role_arn.rsplit('/').next().unwrap();
    let got = json_of(&emu.aws(&["iam", "get-role", "--role-name", role]), "get-role");
    let mut trust = got["Role"]["AssumeRolePolicyDocument"].clone();
    if let Some(text) = trust.as_str() {
        trust = crate::common::url_decoded_json(text);
    }
    trust["Statement"]
        .as_array_mut()
        .unwrap()
        .push(fix["how"]["statement"].clone());
    let trust = trust.to_string();
    let update = [
        "iam",
        "update-assume-role-policy",
        "--role-name",
        role,
        "--policy-document",
        &trust,
    ];
    assert_ok(&emu.aws(&update), "update-assume-role-policy");
    let assume = [
        "sts",
        "assume-role",
        "--role-arn",
        role_arn,
        "--role-session-name",
        "admin",
    ];
    assert_ok(&emu.aws(&assume), "the admin's AssumeRole after the fix");
    assert_ok(&emu.xtask(&["cleanup"]), "cleanup");
}

#[tokio::test]
async fn trail_follow_shows_a_new_refusal_as_it_happens() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    let mut child = emu
        .xtask_cmd(&["trail", "--follow", "--denied", "--json", "--since", "10m"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let (out_tx, err_tx) = (tx.clone(), tx);
    let stdout_pipe = child.stdout.take().unwrap();
    let stderr_pipe = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout_pipe).lines().map_while(Result::ok) {
            let _ = out_tx.send(("out", line));
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
            let _ = err_tx.send(("err", line));
        }
    });
    let next = |what: &str, wanted: &dyn Fn(&str, &str) -> bool| loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok((stream, line)) if wanted(stream, &line) => return line,
            Ok(_) => {}
            Err(e) => panic!("no {what}: {e}"),
        }
    };
    // It says it waits, then a refusal made now appears, explained.
    next("waiting line", &|s, l| {
        s == "err" && l.contains("waiting for the lab's next events")
    });
    let probe = "sts-lab-follow-probe-bucket";
    let made = emu.aws(&["s3api", "create-bucket", "--bucket", probe, "--profile", "sts"]);
    assert!(stderr(&made).contains("AccessDenied"), "{}", stderr(&made));
    let line = next("the new refusal", &|s, l| s == "out" && l.contains(probe));
    let _ = child.kill();
    let _ = child.wait();
    let event: Json = serde_json::from_str(&line).unwrap();
    assert_eq!(event["operation"], "s3:CreateBucket");
    assert_eq!(event["error_code"], "AccessDenied");
    assert!(
        event["explained"]["why"].as_str().unwrap().contains("implicit deny"),
        "{event:#}"
    );
}

#[tokio::test]
async fn each_lesson_check_names_the_event_that_proved_it() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    let doc = json_of(&emu.xtask(&["lesson", "external-id", "--json"]), "lesson external-id");
    let checks = doc["checks"].as_array().unwrap();
    let mut ids = Vec::new();
    for check in checks {
        let id = check["event_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no event: {check:#}"));
        let attribute = format!("AttributeKey=EventId,AttributeValue={id}");
        let (_, found) = lookup(&emu, &["--lookup-attributes", &attribute]);
        assert_eq!(found.len(), 1, "{id}");
        let seen = check["seen"].as_str().unwrap();
        let code = if seen == "allowed" {
            Json::Null
        } else {
            json!(seen.split(':').next().unwrap())
        };
        assert_eq!(found[0]["errorCode"], code, "{check:#} {:#}", found[0]);
        ids.push(id.to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), checks.len(), "each check its own event");
    // The refusal without an ExternalId: its event's AssumeRole carries none; the allowed one does.
    let (_, first) = lookup(
        &emu,
        &[
            "--lookup-attributes",
            &format!(
                "AttributeKey=EventId,AttributeValue={}",
                checks[0]["event_id"].as_str().unwrap()
            ),
        ],
    );
    assert_eq!(first[0]["eventName"], "AssumeRole");
    assert!(first[0]["requestParameters"]["externalId"].is_null(), "{:#}", first[0]);
}

/// CloudTrail keeps IAM's events in us-east-1 only: a lab in another region still sees its
/// refused IAM calls beside its S3 ones.
#[tokio::test]
async fn a_lab_in_another_region_sees_its_iam_refusals_too() {
    let emu = TestEmulator::start().await;
    let at = ["--region", "eu-west-1", "--lab", "euw"];
    for task in ["setup", "assume", "verify"] {
        assert_ok(&emu.xtask(&[&at[..], &[task]].concat()), task);
    }
    let doc = json_of(
        &emu.xtask(&[&at[..], &["trail", "--denied", "--json"]].concat()),
        "trail",
    );
    let operations: Vec<&str> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert!(operations.contains(&"s3:ListBuckets"), "{operations:?}");
    assert!(operations.contains(&"iam:ListUsers"), "{operations:?}");
}
