//! The lab's trail, met as a learner and an auditor meet it: the real aws CLI's `cloudtrail
//! lookup-events` against the emulator finds the lab's AssumeRole, the session's calls and the
//! user's refused ListBuckets with their identities and error codes (and no secret); `trail`
//! shows the learner's own refusals with their explanations and advice ranked (the path that
//! exists, refused by design), the lab's own requests only with `--all`; `--follow` shows a new
//! refusal as it happens; a lesson's checks carry their events.

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

/// The refused events of `doc` made by `operation`, by the lab's own tools or not.
fn refusals<'a>(doc: &'a Json, operation: &str) -> Vec<&'a Json> {
    doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["operation"] == operation && e["allowed"] == false)
        .collect()
}

/// The first advice on an event, and that no advice widens the user or lets the admin in.
fn first_advice<'a>(event: &'a Json, admin: &str) -> &'a Json {
    let advice = event["explained"]["advice"].as_array().unwrap();
    for a in advice {
        for step in a["steps"].as_array().into_iter().flatten() {
            let change = step["change"].as_str().unwrap();
            assert!(
                !(step["kind"] == "identity" && change.contains(&format!("user {USER}"))),
                "widens the lab's user: {a:#}"
            );
            assert!(!change.contains(admin), "lets the admin in: {a:#}");
        }
    }
    advice.first().unwrap_or_else(|| panic!("no advice: {event:#}"))
}

#[tokio::test]
async fn trail_ranks_the_advice_on_each_kind_of_refusal_and_keeps_the_labs_own_apart() {
    let emu = TestEmulator::start().await;
    lab_run(&emu);
    let admin = json_of(&emu.aws(&["sts", "get-caller-identity"]), "whoami")["Arn"]
        .as_str()
        .unwrap()
        .to_owned();
    // The learner's own requests, with the aws CLI: the user's S3 call, the admin's AssumeRole,
    // the session's bucket outside the lab's prefix.
    let listed = emu.aws(&["s3api", "list-buckets", "--profile", "sts"]);
    assert!(stderr(&listed).contains("AccessDenied"), "{}", stderr(&listed));
    // The role, from the lab's own AssumeRole (`cargo xtask assume`), shown with --all only.
    let doc = json_of(&emu.xtask(&["trail", "--all", "--json"]), "trail --all");
    let assumed = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["operation"] == "sts:AssumeRole");
    let role_arn = assumed.unwrap()["resource"].as_str().unwrap().to_owned();
    let by_admin = emu.aws(&[
        "sts",
        "assume-role",
        "--role-arn",
        &role_arn,
        "--role-session-name",
        "admin",
    ]);
    assert!(stderr(&by_admin).contains("AccessDenied"), "{}", stderr(&by_admin));
    let outside = "someone-elses-bucket-outside-the-prefix";
    let made = emu.aws(&["s3api", "create-bucket", "--bucket", outside, "--profile", "assumed"]);
    assert!(stderr(&made).contains("AccessDenied"), "{}", stderr(&made));

    let doc = json_of(&emu.xtask(&["trail", "--denied", "--json"]), "trail --denied");
    let events = doc["events"].as_array().unwrap();
    assert!(
        events.iter().all(|e| e["by_sts_lab"] == false),
        "the lab's own shown: {doc:#}"
    );
    // The user's S3 call: the path that exists (its role), then refused by design.
    let listing = refusals(&doc, "s3:ListBuckets");
    assert_eq!(listing.len(), 1, "only the learner's own, not setup's check: {doc:#}");
    let first = first_advice(listing[0], &admin);
    assert_eq!(first["kind"], "path", "{first:#}");
    assert!(
        first["commands"]
            .as_array()
            .unwrap()
            .contains(&json!("cargo xtask assume")),
        "{first:#}"
    );
    let second = &listing[0]["explained"]["advice"][1];
    assert_eq!(second["kind"], "by_design", "{listing:#?}");
    assert!(
        second["check"].as_str().unwrap().contains("exactly sts:AssumeRole"),
        "{second:#}"
    );
    // The admin's AssumeRole: refused by design (no one but the user may assume the role).
    let assume = refusals(&doc, "sts:AssumeRole");
    let first = first_advice(assume[0], &admin);
    assert_eq!(first["kind"], "by_design", "{first:#}");
    assert!(
        first["check"].as_str().unwrap().contains("no one but the user"),
        "{first:#}"
    );
    // The session's bucket outside the prefix: refused by design (S3 under the prefix only).
    let bucket = refusals(&doc, "s3:CreateBucket");
    let first = first_advice(bucket[0], &admin);
    assert_eq!(first["kind"], "by_design", "{first:#}");
    assert!(
        first["check"].as_str().unwrap().contains("under the prefix"),
        "{first:#}"
    );

    // The lab's own refusals (setup's check that the user is refused S3) only with --all.
    let all = json_of(&emu.xtask(&["trail", "--denied", "--all", "--json"]), "trail --all");
    let own = refusals(&all, "s3:ListBuckets");
    assert!(own.iter().any(|e| e["by_sts_lab"] == true), "{all:#}");
    let text = stdout(&emu.xtask(&["trail", "--denied"]));
    assert!(
        text.contains("what would change it: the path that exists: assume role"),
        "{text}"
    );
    assert!(text.contains("or: refused by design: verify's check"), "{text}");
    assert!(!text.contains("sts-lab's own request"), "{text}");
    let text = stdout(&emu.xtask(&["trail", "--denied", "--all"]));
    assert!(text.contains("(sts-lab's own request)"), "{text}");

    // why ranks the same way, and says nothing once the request is allowed.
    let why = json_of(&emu.xtask(&["why", "--as", "sts", "s3:ListBuckets", "--json"]), "why");
    assert_eq!(why["advice"][0]["kind"], "path", "{why:#}");
    let why = json_of(
        &emu.xtask(&["why", "--as", "assumed", "s3:ListBuckets", "--json"]),
        "why",
    );
    assert_eq!(why["decided_by"]["effect"], "Allow", "{why:#}");
    assert_eq!(why["advice"], json!([]));
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
        &emu.xtask(&[&at[..], &["trail", "--denied", "--all", "--json"]].concat()),
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
    // verify's refusals are the lab's own: shown with --all, not by default.
    assert!(
        doc["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["by_sts_lab"] == true),
        "{doc:#}"
    );
}
