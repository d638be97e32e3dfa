//! Challenges solved as a learner solves them: the aws CLI with the lab's `sts` profile edits the
//! challenge role (or writes a session policy and uses it), and `challenge NAME --check` grades
//! it. Each challenge passes with a least-privilege answer, and its common wrong answers (too
//! open, too closed, the right policy on the wrong principal) fail with the explanation that
//! names them; IAM's own error meets a document IAM refuses; cleanup leaves nothing.

use std::path::Path;

use serde_json::{Value as Json, json};

use crate::common::{TestEmulator, assert_ok, stderr, stdout, student_aws};

const ROLE: &str = "sts-lab-default-challenge";
const ACCOUNT: &str = "123456789012";
const PREFIX: &str = "sts-lab-default-123456789012-";
const USER_ARN: &str = "arn:aws:iam::123456789012:user/sts-machine-user";

fn write(emu: &TestEmulator, name: &str, doc: &Json) -> String {
    let path = emu.scratch.0.join(name);
    std::fs::write(&path, doc.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `challenge NAME --check --json` (with `extra`): its document, and whether it passed.
fn check(emu: &TestEmulator, name: &str, extra: &[&str]) -> Json {
    let mut args = vec!["challenge", name, "--check", "--json"];
    args.extend_from_slice(extra);
    let out = emu.xtask(&args);
    let doc: Json =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    assert_eq!(out.status.success(), doc["passed"] == true, "{doc}");
    doc
}

fn misses<'a>(doc: &'a Json, verdict: &str) -> Vec<&'a Json> {
    doc["misses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["verdict"] == verdict)
        .collect()
}

fn passed(doc: &Json) {
    assert_eq!(doc["passed"], true, "{doc}");
    let confirmed = doc["confirmed"].as_array().unwrap();
    assert!(
        !confirmed.is_empty() && confirmed.iter().all(|c| c["agrees"] == true),
        "{doc}"
    );
}

/// The learner's edit of the challenge role, with the aws CLI as the lab's user.
fn as_learner(emu: &TestEmulator, args: &[&str]) {
    assert_ok(&learner(emu, args), &args.join(" "));
}

/// The aws CLI as the lab's user (profile `sts`), its answer.
fn learner(emu: &TestEmulator, args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--profile", "sts"]);
    emu.aws(&all)
}

/// `put-role-policy` of `ChallengePolicy` with `doc`, as the learner writes it; the answer.
fn write_policy(emu: &TestEmulator, doc: &Json) -> std::process::Output {
    let file = format!("file://{}", write(emu, "policy.json", doc));
    learner(
        emu,
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            ROLE,
            "--policy-name",
            "ChallengePolicy",
            "--policy-document",
            &file,
        ],
    )
}

fn put_policy(emu: &TestEmulator, doc: &Json) {
    assert_ok(&write_policy(emu, doc), "put-role-policy");
}

fn put_trust(emu: &TestEmulator, doc: &Json) {
    let file = format!("file://{}", write(emu, "trust.json", doc));
    as_learner(
        emu,
        &[
            "iam",
            "update-assume-role-policy",
            "--role-name",
            ROLE,
            "--policy-document",
            &file,
        ],
    );
}

fn policy(statements: Json) -> Json {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn trust(principal: &str, actions: Json, condition: Option<Json>) -> Json {
    let mut s = json!({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions});
    if let Some(c) = condition {
        s["Condition"] = c;
    }
    policy(json!([s]))
}

fn set(emu: &TestEmulator, name: &str) -> Json {
    let out = emu.xtask(&["challenge", name, "--json"]);
    assert_ok(&out, name);
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[tokio::test]
async fn role_policy_challenges_solved_with_the_aws_cli() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    let listed = stdout(&emu.xtask(&["challenge"]));
    assert_eq!(listed.lines().count(), 7, "{listed}");

    // narrow-role: s3:* on the prefix is still too open; the right one passes.
    let doc = set(&emu, "narrow-role");
    assert!(doc["goal"].as_str().unwrap().contains(PREFIX), "{doc}");
    let start = check(&emu, "narrow-role", &[]);
    // One counterexample for each class of actions it lets through (each with the actions alike).
    let named = |doc: &Json| -> Vec<String> {
        misses(doc, "too_open")
            .iter()
            .flat_map(|m| std::iter::once(&m["action"]).chain(m["alike"].as_array().unwrap().iter()))
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    };
    for action in [
        "s3:DeleteBucket",
        "s3:GetObject",
        "s3:PutBucketPolicy",
        "s3:DeleteObject",
    ] {
        assert!(named(&start).contains(&action.to_owned()), "{action}: {start}");
    }
    let bucket = |suffix: &str| format!("arn:aws:s3:::{PREFIX}{suffix}");
    // The answer: CreateBucket and what can expire every object, version or share it.
    put_policy(
        &emu,
        &policy(
            json!([{"Effect": "Allow", "Action": ["s3:CreateBucket", "s3:PutLifecycleConfiguration",
            "s3:PutBucketVersioning", "s3:PutBucketCORS"], "Resource": bucket("*")},
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]),
        ),
    );
    let sneaky = check(&emu, "narrow-role", &[]);
    assert!(
        named(&sneaky).contains(&"s3:PutLifecycleConfiguration".to_owned()),
        "{sneaky}"
    );
    assert!(misses(&sneaky, "too_closed").is_empty(), "{sneaky}");
    // Too closed (the list alone): the first advice is the narrowest change to ChallengePolicy,
    // the counterexample's own action and bucket with the lab's expiry, proven to grant no more.
    put_policy(
        &emu,
        &policy(json!([{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}])),
    );
    let closed = check(&emu, "narrow-role", &[]);
    let too_closed = misses(&closed, "too_closed");
    assert!(!too_closed.is_empty(), "{closed}");
    for miss in too_closed {
        let first = &miss["advice"][0];
        assert_eq!(
            (&first["kind"], &first["narrow"]),
            (&json!("change"), &json!(true)),
            "{miss:#}"
        );
        let step = &first["steps"][0];
        assert_eq!(step["policy"], "ChallengePolicy", "{miss:#}");
        let statement = &step["how"]["statement"];
        assert_eq!(
            (&statement["Action"], &statement["Resource"]),
            (&miss["action"], &miss["resource"])
        );
        assert!(
            statement["Condition"]["DateLessThan"]["aws:CurrentTime"].is_string(),
            "{miss:#}"
        );
        assert!(
            miss["change"]
                .as_str()
                .unwrap()
                .contains("proven to grant this request and nothing more")
        );
    }
    put_policy(
        &emu,
        &policy(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": bucket("*")},
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}])),
    );
    let open = check(&emu, "narrow-role", &[]);
    let too_open = misses(&open, "too_open");
    assert!(named(&open).contains(&"s3:DeleteBucket".to_owned()), "{open}");
    assert!(
        too_open
            .iter()
            .all(|m| m["change"].as_str().unwrap().contains("of ChallengePolicy")),
        "{open}"
    );
    assert!(misses(&open, "too_closed").is_empty(), "{open}");
    // An identity policy with a Principal: IAM's own error, from the emulator to the aws CLI.
    let bad = policy(json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]));
    let refused = write_policy(&emu, &bad);
    assert!(
        !refused.status.success() && stderr(&refused).contains("MalformedPolicyDocument"),
        "{}",
        stderr(&refused)
    );
    put_policy(
        &emu,
        &policy(
            json!([{"Effect": "Allow", "Action": "s3:CreateBucket", "Resource": bucket("*")},
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]),
        ),
    );
    passed(&check(&emu, "narrow-role", &[]));
    // The learner's session refused what the goal refuses: the trail says so, by design, and
    // never offers the change that would open the answer again.
    let keys = challenge_session(&emu, None);
    let refused = with_keys(
        &emu,
        &keys,
        &["s3api", "delete-bucket", "--bucket", &format!("{PREFIX}mine")],
    );
    assert!(stderr(&refused).contains("AccessDenied"), "{}", stderr(&refused));
    let trail: Json = serde_json::from_str(&stdout(&emu.xtask(&["trail", "--denied", "--json"]))).unwrap();
    let deleted = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["operation"] == "s3:DeleteBucket")
        .unwrap_or_else(|| panic!("{trail:#}"));
    let advice = deleted["explained"]["advice"].as_array().unwrap();
    assert_eq!(advice[0]["kind"], "by_design", "{deleted:#}");
    assert_eq!(advice[0]["check"], "challenge narrow-role's goal", "{deleted:#}");
    assert!(advice.iter().all(|a| a["kind"] != "change"), "{deleted:#}");

    // revoke-old-sessions: a Deny of everything refuses the new sessions too; with the time, passes.
    set(&emu, "revoke-old-sessions");
    let list = json!({"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"});
    put_policy(
        &emu,
        &policy(json!([list, {"Effect": "Deny", "Action": "*", "Resource": "*"}])),
    );
    let closed = check(&emu, "revoke-old-sessions", &[]);
    let too_closed = misses(&closed, "too_closed");
    assert_eq!(too_closed.len(), 1, "{closed}");
    assert!(
        too_closed[0]["why"].as_str().unwrap().contains("explicit deny"),
        "{closed}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = lab_core::model::expiry::format_utc(i64::try_from(now).unwrap());
    let revoke = json!({"Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": now}}});
    put_policy(&emu, &policy(json!([list, revoke])));
    passed(&check(&emu, "revoke-old-sessions", &[]));

    session_policy(&emu);

    // Cleanup takes the challenge role, its boundary and the user's access with the lab.
    assert_ok(&emu.xtask(&["cleanup"]), "cleanup");
    let roles = stdout(&emu.aws(&["iam", "list-roles", "--query", "Roles[].RoleName"]));
    assert!(!roles.contains("challenge"), "{roles}");
    let local = stdout(&emu.aws(&[
        "iam",
        "list-policies",
        "--scope",
        "Local",
        "--query",
        "Policies[].PolicyName",
    ]));
    assert!(!local.contains("challenge"), "{local}");
}

/// The challenge role's session, assumed by the learner with the aws CLI (with `policy`, a
/// session policy file): its access key, secret and token.
fn challenge_session(emu: &TestEmulator, policy: Option<&str>) -> Vec<String> {
    let role = format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}");
    let policy = policy.map(|file| format!("file://{file}"));
    let mut args = vec![
        "sts",
        "assume-role",
        "--role-arn",
        &role,
        "--role-session-name",
        "reader",
    ];
    if let Some(p) = &policy {
        args.extend(["--policy", p.as_str()]);
    }
    args.extend([
        "--profile",
        "sts",
        "--query",
        "Credentials.[AccessKeyId,SecretAccessKey,SessionToken]",
        "--output",
        "text",
    ]);
    let out = emu.aws(&args);
    assert_ok(&out, "assume-role");
    stdout(&out).split_whitespace().map(str::to_owned).collect()
}

/// The aws CLI with a session's `keys` and nothing else.
fn with_keys(emu: &TestEmulator, keys: &[String], args: &[&str]) -> std::process::Output {
    let env = [
        ("AWS_ACCESS_KEY_ID", keys[0].as_str()),
        ("AWS_SECRET_ACCESS_KEY", keys[1].as_str()),
        ("AWS_SESSION_TOKEN", keys[2].as_str()),
        ("AWS_REGION", "us-east-1"),
    ];
    student_aws(emu, Path::new("/nonexistent"), &env, args)
}

/// session-policy: too open, the right narrowing on the wrong principal (the role), then the
/// right session policy, used by the learner with the aws CLI.
fn session_policy(emu: &TestEmulator) {
    set(emu, "session-policy");
    let missing = emu.xtask(&["challenge", "session-policy", "--check"]);
    assert!(
        !missing.status.success() && stderr(&missing).contains("--policy"),
        "{}",
        stderr(&missing)
    );
    let read_all = policy(json!([{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]));
    let file = write(emu, "read-all.json", &read_all);
    let open = check(emu, "session-policy", &["--policy", &file]);
    // A counterexample reads a bucket of the lab that is not the one to read.
    assert!(
        misses(&open, "too_open").iter().any(|m| {
            let resource = m["resource"].as_str().unwrap();
            m["action"] == "s3:GetObject" && resource.contains(PREFIX) && !resource.contains("read-me")
        }),
        "{open}"
    );
    let read_me = format!("arn:aws:s3:::{PREFIX}read-me");
    let right = policy(
        json!([{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": read_me},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("{read_me}/*")}]),
    );
    // On the wrong principal: the role narrowed, the session policy anything.
    put_policy(emu, &right);
    let everything = write(
        emu,
        "everything.json",
        &policy(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}])),
    );
    let wrong = check(emu, "session-policy", &["--policy", &everything]);
    let closed = misses(&wrong, "too_closed");
    assert!(
        !closed.is_empty()
            && closed
                .iter()
                .all(|m| m["request"].as_str().unwrap().contains("without the session policy")),
        "{wrong}"
    );
    assert_ok(&emu.xtask(&["challenge", "session-policy", "--reset"]), "reset");
    let file = write(emu, "read-one.json", &right);
    passed(&check(emu, "session-policy", &["--policy", &file]));
    // The learner uses it: a session with it reads the one bucket, and no other.
    let keys = challenge_session(emu, Some(&file));
    let with_keys = |args: &[&str]| with_keys(emu, &keys, args);
    assert_ok(
        &with_keys(&["s3", "ls", &format!("s3://{PREFIX}read-me")]),
        "ls read-me",
    );
    let other = with_keys(&["s3", "ls", &format!("s3://{PREFIX}not-this")]);
    assert!(
        !other.status.success() && stderr(&other).contains("AccessDenied"),
        "{}",
        stderr(&other)
    );
}

#[tokio::test]
async fn trust_challenges_solved_with_the_aws_cli() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    let until = json!({"DateLessThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}});

    // external-id: StringLike "*" lets any ExternalId through; StringEquals passes.
    set(&emu, "external-id");
    let id = format!("{ROLE}-partner");
    put_trust(
        &emu,
        &trust(
            USER_ARN,
            json!("sts:AssumeRole"),
            Some(json!({"StringLike": {"sts:ExternalId": "*"}})),
        ),
    );
    let open = check(&emu, "external-id", &[]);
    let too_open = misses(&open, "too_open");
    assert_eq!(too_open.len(), 1, "{open}");
    assert!(
        too_open[0]["change"].as_str().unwrap().contains("the trust of role"),
        "{open}"
    );
    // The counterexample carries another ExternalId, and the emulator lets it through too.
    assert_ne!(too_open[0]["context"]["sts:ExternalId"], json!(id), "{open}");
    assert_eq!(too_open[0]["endpoint"], "allowed, as the documents decide", "{open}");
    // The answer: a prefix of the right id lets every id that starts with it through.
    put_trust(
        &emu,
        &trust(
            USER_ARN,
            json!("sts:AssumeRole"),
            Some(json!({"StringLike": {"sts:ExternalId": format!("{id}*")}})),
        ),
    );
    let prefixed = check(&emu, "external-id", &[]);
    let given = misses(&prefixed, "too_open")[0]["context"]["sts:ExternalId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(given.starts_with(&id) && given != id, "{prefixed}");
    put_trust(
        &emu,
        &trust(
            USER_ARN,
            json!("sts:AssumeRole"),
            Some(json!({"StringEquals": {"sts:ExternalId": id}})),
        ),
    );
    passed(&check(&emu, "external-id", &[]));

    // source-identity: the condition without sts:SetSourceIdentity refuses the learner too.
    set(&emu, "source-identity");
    let me = json!({"StringEquals": {"sts:SourceIdentity": "sts-machine-user"}});
    put_trust(&emu, &trust(USER_ARN, json!("sts:AssumeRole"), Some(me.clone())));
    let closed = check(&emu, "source-identity", &[]);
    assert!(
        misses(&closed, "too_closed")
            .iter()
            .any(|m| m["action"] == "sts:SetSourceIdentity" && m["why"].as_str().unwrap().contains("trust")),
        "{closed}"
    );
    put_trust(
        &emu,
        &trust(USER_ARN, json!(["sts:AssumeRole", "sts:SetSourceIdentity"]), Some(me)),
    );
    passed(&check(&emu, "source-identity", &[]));

    // trust-the-user: the right trust on the wrong principal (the admin) is too open and too
    // closed at once; the user's ARN passes; the admin is then refused by the emulator itself.
    set(&emu, "trust-the-user");
    let admin = "arn:aws:iam::123456789012:user/emulator-admin";
    put_trust(&emu, &trust(admin, json!("sts:AssumeRole"), Some(until.clone())));
    let wrong = check(&emu, "trust-the-user", &[]);
    let request = |verdict: &str| misses(&wrong, verdict)[0]["request"].as_str().unwrap().to_owned();
    assert!(request("too_open").starts_with("the admin: sts:AssumeRole"), "{wrong}");
    assert!(request("too_closed").starts_with("the lab's user"), "{wrong}");
    put_trust(&emu, &trust(USER_ARN, json!("sts:AssumeRole"), Some(until)));
    passed(&check(&emu, "trust-the-user", &[]));

    // --reset starts again (the check fails), --giveup writes an answer that passes.
    assert_ok(&emu.xtask(&["challenge", "trust-the-user", "--reset"]), "reset");
    assert_eq!(check(&emu, "trust-the-user", &[])["passed"], false);
    let hint = emu.xtask(&["challenge", "trust-the-user", "--hint"]);
    assert!(stdout(&hint).contains(":root"), "{}", stdout(&hint));
    let giveup = emu.xtask(&["challenge", "trust-the-user", "--giveup", "--json"]);
    assert_ok(&giveup, "giveup");
    let diff: Json = serde_json::from_str(&stdout(&giveup)).unwrap();
    assert!(
        diff["diff"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().starts_with('+')),
        "{diff}"
    );
    passed(&check(&emu, "trust-the-user", &[]));
    // Another challenge's check is refused while this one is set.
    let other = emu.xtask(&["challenge", "external-id", "--check"]);
    assert!(
        !other.status.success() && stderr(&other).contains("challenge trust-the-user is set"),
        "{}",
        stderr(&other)
    );
    assert_ok(&emu.xtask(&["cleanup"]), "cleanup");
}

#[tokio::test]
async fn a_class_takes_a_challenge_and_status_shows_who_passed() {
    let emu = TestEmulator::start().await;
    let out_dir = emu.scratch.0.join("handouts");
    assert_ok(
        &emu.class("room", &out_dir, &["setup", "--students", "2"]),
        "class setup",
    );
    assert_ok(
        &emu.class("room", &out_dir, &["challenge", "trust-the-user"]),
        "class challenge",
    );
    let handout = |n: usize| out_dir.join(format!("room-0{n}"));
    let page = std::fs::read_to_string(handout(1).join("challenge-trust-the-user.md")).unwrap();
    assert!(
        page.contains("update-assume-role-policy") && page.contains("--profile sts"),
        "{page}"
    );
    // Student 1 solves it with their handout's profile; student 2 does nothing.
    let user = "arn:aws:iam::123456789012:user/sts-machine-user-room-01";
    let doc = trust(user, json!("sts:AssumeRole"), None);
    let file = emu.scratch.0.join("trust-01.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let solved = student_aws(
        &emu,
        &handout(1),
        &[("AWS_REGION", "us-east-1")],
        &[
            "iam",
            "update-assume-role-policy",
            "--role-name",
            "sts-lab-room-01-challenge",
            "--policy-document",
            &format!("file://{}", file.display()),
            "--profile",
            "sts",
        ],
    );
    assert_ok(&solved, "the student's update-assume-role-policy");
    let graded = emu.class("room", &out_dir, &["challenge", "trust-the-user", "--check"]);
    assert!(!graded.status.success(), "room-02 has not passed");
    assert!(stderr(&graded).contains("for 1 of 2 students"), "{}", stderr(&graded));
    let status: Json = serde_json::from_str(&stdout(&emu.class("room", &out_dir, &["status", "--json"]))).unwrap();
    let students = status["students"].as_array().unwrap();
    assert_eq!(students[0]["challenge"], "trust-the-user", "{status}");
    let passes = students[0]["passed"].as_array().unwrap();
    assert_eq!(
        (passes[0]["kind"].as_str(), passes[0]["name"].as_str()),
        (Some("challenge"), Some("trust-the-user"))
    );
    assert!(passes[0]["at"].as_str().unwrap().ends_with('Z'), "{status}");
    assert!(students[1]["passed"].as_array().unwrap().is_empty(), "{status}");
    let table = stdout(&emu.class("room", &out_dir, &["status"]));
    assert!(table.contains("passed") && table.contains("trust-the-user "), "{table}");
    assert_ok(&emu.class("room", &out_dir, &["cleanup"]), "class cleanup");
    let roles = stdout(&emu.aws(&["iam", "list-roles", "--query", "Roles[].RoleName"]));
    assert!(!roles.contains("challenge"), "{roles}");
}
