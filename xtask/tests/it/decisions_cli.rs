//! The emulator's policy decisions met as a learner meets them, through the real aws CLI and the
//! built xtask: the lab disarming itself after `emulator clock +9h`, ExternalId, a session policy,
//! revoking older sessions (a Deny on aws:TokenIssueTime), an MFA-only trust, a principal tag;
//! and every check of `verify --json` carrying what decided it, and `why` on the issue's three
//! requests.

use std::process::Output;

use lab_core::lab::{self, Lab};
use lab_core::output::report::Captured;
use serde_json::Value as Json;

use crate::common::{TestEmulator, assert_ok, move_clock, setup_and_assume, stderr, stdout};

/// The aws CLI with the emulator's environment and `env` on top.
fn aws(emu: &TestEmulator, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(crate::common::venv().bin("aws"));
    crate::common::clean_env(&mut cmd);
    cmd.args(args)
        .envs(emu.env())
        .envs(env.iter().copied())
        .env("HOME", &emu.scratch.0);
    if env.iter().any(|(k, _)| *k == "AWS_ACCESS_KEY_ID") {
        // A session's keys, not the admin's profile.
        cmd.env_remove("AWS_PROFILE");
    }
    cmd.output().unwrap()
}

/// Replaces the role's trust with one that trusts `user` under `condition`.
fn set_trust(emu: &TestEmulator, role_name: &str, user: &str, condition: &str) {
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["{user}"]}},"Action":"sts:AssumeRole","Condition":{condition}}}]}}"#
    );
    let args = [
        "iam",
        "update-assume-role-policy",
        "--role-name",
        role_name,
        "--policy-document",
        &trust,
    ];
    assert_ok(&aws(emu, &[], &args), "update-assume-role-policy");
}

fn denied(out: &Output, words: &str) {
    assert!(!out.status.success(), "allowed: {}", stdout(out));
    let err = stderr(out);
    assert!(err.contains("AccessDenied") && err.contains(words), "{err}");
}

fn xtask_json(emu: &TestEmulator, args: &[&str]) -> Json {
    let out = emu.xtask(args);
    assert_ok(&out, &args.join(" "));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// The session's keys as environment variables, from `aws sts assume-role`'s JSON.
fn session_env(out: &Output) -> Vec<(&'static str, String)> {
    assert_ok(out, "assume-role");
    let doc: Json = serde_json::from_str(&stdout(out)).unwrap();
    let c = &doc["Credentials"];
    vec![
        ("AWS_ACCESS_KEY_ID", c["AccessKeyId"].as_str().unwrap().to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            c["SecretAccessKey"].as_str().unwrap().to_owned(),
        ),
        ("AWS_SESSION_TOKEN", c["SessionToken"].as_str().unwrap().to_owned()),
    ]
}

fn with_session<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn lab_with_session(emu: &TestEmulator) -> (Lab, String) {
    let lab = emu.lab(None).await;
    setup_and_assume(&lab).await;
    let role = lab.role_arn().await.unwrap();
    (lab, role)
}

#[tokio::test]
async fn an_expired_lab_is_refused_by_the_emulators_own_decision() {
    let emu = TestEmulator::start().await;
    let (lab, role) = lab_with_session(&emu).await;
    assert_ok(&aws(&emu, &[], &["s3", "ls", "--profile", "assumed"]), "s3 ls before");
    move_clock(&emu, "+9h");
    let out = aws(
        &emu,
        &[],
        &[
            "sts",
            "assume-role",
            "--profile",
            "sts",
            "--role-arn",
            &role,
            "--role-session-name",
            "late",
        ],
    );
    denied(&out, "is not authorized to perform: sts:AssumeRole");
    let out = aws(&emu, &[], &["s3", "ls", "--profile", "assumed"]);
    assert!(
        !out.status.success() && stderr(&out).contains("ExpiredToken"),
        "{}",
        stderr(&out)
    );
    // verify says the lab expired, by the emulator's clock (and exits 1).
    let out = emu.xtask(&["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: Json = serde_json::from_str(&stdout(&out)).unwrap();
    let checks = doc["checks"].as_array().unwrap();
    let expiry = checks.iter().find(|c| c["name"] == "the lab has not expired").unwrap();
    assert_eq!(expiry["passed"], false, "{expiry}");
    move_clock(&emu, "now");
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
}

#[tokio::test]
async fn demo_disarm_shows_the_key_and_the_session_refused() {
    let emu = TestEmulator::start().await;
    let scratch = crate::common::Scratch::new("disarm");
    let port = lab_core::emulator::free_port().await.unwrap().to_string();
    let mut cmd = std::process::Command::new(crate::common::xtask_bin());
    crate::common::clean_env(&mut cmd);
    let out = cmd
        .args(["demo", "--disarm"])
        .env("STS_LAB_EMULATOR_DIR", scratch.0.join("emulator"))
        .env("STS_LAB_EMULATOR_PORT", &port)
        .env("HOME", &scratch.0)
        .output()
        .unwrap();
    assert_ok(&out, "demo --disarm");
    let text = stdout(&out);
    for expected in [
        "✓ the key assumes the role: expected AccessDenied, saw AccessDenied",
        "would allow it but its DateLessThan aws:CurrentTime",
        "✓ the session is still valid",
        "✓ the open session lists the buckets: expected AccessDenied, saw AccessDenied",
        "because no identity-based policy allows the s3:ListAllMyBuckets action",
        "put the emulator's clock back",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
    drop(emu);
}

#[tokio::test]
async fn external_id_session_policy_and_revocation_through_the_aws_cli() {
    let emu = TestEmulator::start().await;
    let (lab, role) = lab_with_session(&emu).await;
    let role_name = role.rsplit('/').next().unwrap();
    let user = lab.user_arn();
    // ExternalId: the trust requires it.
    set_trust(
        &emu,
        role_name,
        &user,
        r#"{"StringEquals":{"sts:ExternalId":"lab-ext"}}"#,
    );
    let assume = |extra: &[&str]| {
        let mut args = vec![
            "sts",
            "assume-role",
            "--profile",
            "sts",
            "--role-arn",
            &role,
            "--role-session-name",
            "ext",
        ];
        args.extend_from_slice(extra);
        aws(&emu, &[], &args)
    };
    denied(&assume(&[]), "sts:AssumeRole");
    denied(&assume(&["--external-id", "wrong"]), "sts:AssumeRole");
    assert_ok(&assume(&["--external-id", "lab-ext"]), "assume with the external id");

    // A session policy narrower than the role: listing only.
    let listing =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;
    let session = session_env(&assume(&["--external-id", "lab-ext", "--policy", listing]));
    let env = with_session(&session);
    assert_ok(
        &aws(&emu, &env, &["s3api", "list-buckets"]),
        "list as the narrowed session",
    );
    let bucket = format!("s3://{}x", lab.bucket_prefix());
    denied(
        &aws(&emu, &env, &["s3", "mb", &bucket]),
        "because no session policy allows the s3:CreateBucket action",
    );

    // Revoke older sessions: a Deny on aws:TokenIssueTime before now (the console's button).
    let clock = emu.running.control().clock().await.unwrap();
    let cutoff = lab_core::model::expiry::format_utc(clock.epoch as i64 + 1);
    let revoke = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"{cutoff}"}}}}}}]}}"#
    );
    assert_ok(
        &aws(
            &emu,
            &[],
            &[
                "iam",
                "put-role-policy",
                "--role-name",
                role_name,
                "--policy-name",
                "AWSRevokeOlderSessions",
                "--policy-document",
                &revoke,
            ],
        ),
        "revoke",
    );
    denied(
        &aws(&emu, &[], &["s3", "ls", "--profile", "assumed"]),
        "with an explicit deny in an identity-based policy",
    );
    move_clock(&emu, "+5s");
    let fresh = session_env(&assume(&["--external-id", "lab-ext"]));
    assert_ok(
        &aws(&emu, &with_session(&fresh), &["s3api", "list-buckets"]),
        "a session issued after the cutoff",
    );
    move_clock(&emu, "now");
    assert_ok(
        &aws(
            &emu,
            &[],
            &[
                "iam",
                "delete-role-policy",
                "--role-name",
                role_name,
                "--policy-name",
                "AWSRevokeOlderSessions",
            ],
        ),
        "unrevoke",
    );
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
}

/// The current TOTP code of a base32 seed (RFC 6238: SHA-1, 30 s, 6 digits), from Python's stdlib.
fn totp(seed: &str) -> String {
    let script = "import base64,hashlib,hmac,struct,sys,time\nk=base64.b32decode(sys.argv[1])\nh=hmac.new(k,struct.pack('>Q',int(time.time())//30),hashlib.sha1).digest()\no=h[-1]&15\nprint('%06d'%((struct.unpack('>I',h[o:o+4])[0]&0x7fffffff)%1000000))";
    let out = std::process::Command::new(crate::common::venv().bin("python"))
        .args(["-c", script, seed])
        .output()
        .unwrap();
    assert_ok(&out, "totp");
    stdout(&out).trim().to_owned()
}

#[tokio::test]
async fn an_mfa_trust_and_a_principal_tag_through_the_aws_cli() {
    let emu = TestEmulator::start().await;
    let (lab, role) = lab_with_session(&emu).await;
    let role_name = role.rsplit('/').next().unwrap();
    let (user, user_arn) = (lab.names.user.clone(), lab.user_arn());
    let seed_file = emu.scratch.0.join("seed.txt");
    let out = aws(
        &emu,
        &[],
        &[
            "iam",
            "create-virtual-mfa-device",
            "--virtual-mfa-device-name",
            &user,
            "--outfile",
            seed_file.to_str().unwrap(),
            "--bootstrap-method",
            "Base32StringSeed",
        ],
    );
    assert_ok(&out, "create-virtual-mfa-device");
    let serial = serde_json::from_str::<Json>(&stdout(&out)).unwrap()["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    let seed = std::fs::read_to_string(&seed_file).unwrap();
    let code = totp(seed.trim());
    assert_ok(
        &aws(
            &emu,
            &[],
            &[
                "iam",
                "enable-mfa-device",
                "--user-name",
                &user,
                "--serial-number",
                &serial,
                "--authentication-code1",
                &code,
                "--authentication-code2",
                &code,
            ],
        ),
        "enable-mfa-device",
    );
    set_trust(
        &emu,
        role_name,
        &user_arn,
        r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#,
    );
    let base = [
        "sts",
        "assume-role",
        "--profile",
        "sts",
        "--role-arn",
        role.as_str(),
        "--role-session-name",
        "mfa",
    ];
    denied(&aws(&emu, &[], &base), "sts:AssumeRole");
    let mut with_code = base.to_vec();
    let code = totp(seed.trim());
    with_code.extend_from_slice(&["--serial-number", &serial, "--token-code", &code]);
    assert_ok(&aws(&emu, &[], &with_code), "assume with an MFA code");

    // A principal tag: the user may list buckets only while tagged team=blue.
    let tagged = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}"#;
    assert_ok(
        &aws(
            &emu,
            &[],
            &[
                "iam",
                "put-user-policy",
                "--user-name",
                &user,
                "--policy-name",
                "BlueTeamLists",
                "--policy-document",
                tagged,
            ],
        ),
        "tag policy",
    );
    denied(
        &aws(&emu, &[], &["s3", "ls", "--profile", "sts"]),
        "s3:ListAllMyBuckets",
    );
    assert_ok(
        &aws(
            &emu,
            &[],
            &["iam", "tag-user", "--user-name", &user, "--tags", "Key=team,Value=blue"],
        ),
        "tag-user",
    );
    assert_ok(
        &aws(&emu, &[], &["s3", "ls", "--profile", "sts"]),
        "s3 ls as a blue user",
    );
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
}

#[tokio::test]
async fn verify_and_why_say_what_decided_each_request() {
    let emu = TestEmulator::start().await;
    let (lab, role) = lab_with_session(&emu).await;
    let doc = xtask_json(&emu, &["verify", "--json"]);
    for check in doc["checks"].as_array().unwrap() {
        assert_eq!(check["agrees"], true, "{check}");
        // The expiry and the proofs are not one request: nothing decides them.
        let name = check["name"].as_str().unwrap();
        let expected_null = name == "the lab has not expired" || name.starts_with("proof: ");
        assert_eq!(check["decided_by"].is_null(), expected_null, "{check}");
    }
    let denied_row = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "profile sts is denied s3 ListBuckets")
        .unwrap();
    assert_eq!(
        denied_row["decided_by"],
        serde_json::json!({"effect": "ImplicitDeny", "policy": null, "statement": null})
    );
    assert_eq!(
        denied_row["why"],
        "implicit deny: no statement allows s3:ListAllMyBuckets"
    );

    let why = xtask_json(&emu, &["why", "--as", "sts", "s3:ListAllMyBuckets", "--json"]);
    assert_eq!(why["decided_by"]["effect"], "ImplicitDeny", "{why}");
    let bucket = format!("arn:aws:s3:::{}mine", lab.bucket_prefix());
    let why = xtask_json(&emu, &["why", "--as", "assumed", "s3:CreateBucket", &bucket, "--json"]);
    assert_eq!(
        why["decided_by"],
        serde_json::json!({"effect": "Allow", "policy": "sts-lab-s3", "statement": "UseLabBucketsOnly"})
    );
    let why = xtask_json(&emu, &["why", "--as", "sts", "sts:AssumeRole", &role, "--json"]);
    assert_eq!(
        why["decided_by"],
        serde_json::json!({"effect": "Allow", "policy": "StsAssumePolicy", "statement": "AssumeTheLabRoleOnly"})
    );
    let kinds: Vec<&str> = why["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["identity", "trust"]);
    let out = emu.xtask(&["why", "--as", "sts", "sts:AssumeRole", &role]);
    assert_ok(&out, "why");
    let text = stdout(&out);
    assert!(
        text.contains("DateLessThan aws:CurrentTime")
            && text.contains("decision: Allow by AssumeTheLabRoleOnly (StsAssumePolicy)"),
        "{text}"
    );
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
}

#[tokio::test]
async fn why_as_the_guides_profile_names_reads_a_named_labs_own() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["--lab", "x", "setup"]), "setup --lab x");
    let out = emu.xtask(&["--lab", "x", "why", "--as", "sts", "s3:ListBuckets"]);
    assert_ok(&out, "why --lab x --as sts");
    assert!(stdout(&out).contains("implicit deny"), "{}", stdout(&out));
    assert_ok(&emu.xtask(&["--lab", "x", "cleanup"]), "cleanup --lab x");
}
