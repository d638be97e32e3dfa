//! Least privilege, proven against the emulator: the exact documents the lab deploys, every
//! boundary in verify's table, secrets that never leave the credentials file, the files' modes,
//! the plain-HTTP guard, and a template that cfn-lint passes.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use crate::common::{TestEmulator, assert_ok, statements, stderr, stdout, url_decoded_json};
use lab_core::lab;
use lab_core::output::report::Captured;
use lab_core::profiles::awsfiles::FileKind;
use serde_json::json;

#[tokio::test]
async fn deployed_documents_are_exactly_least_privilege() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    lab::setup(&lab, &Captured::default()).await.unwrap();
    let iam = &lab.admin.iam;
    let role_arn = lab.role_arn().await.unwrap();
    let role_name = role_arn.rsplit('/').next().unwrap();
    let user_arn = "arn:aws:iam::123456789012:user/sts-machine-user";
    // Every Allow holds only until the lab's expiry (8 h by default), tagged on the stack.
    let expires = lab
        .ready_stack()
        .await
        .unwrap()
        .0
        .tag("sts-lab-expires")
        .unwrap()
        .to_owned();
    let until = json!({"DateLessThan": {"aws:CurrentTime": expires}});

    // The role trusts exactly the lab user: no wildcard, no account root.
    let role = iam.get_role().role_name(role_name).send().await.unwrap().role.unwrap();
    let trust = url_decoded_json(role.assume_role_policy_document().unwrap());
    let trust = statements(&trust);
    assert_eq!(trust.len(), 1, "{trust:?}");
    assert_eq!(trust[0]["Effect"], "Allow");
    assert_eq!(trust[0]["Action"], "sts:AssumeRole");
    assert_eq!(trust[0]["Condition"], until);
    let principal = &trust[0]["Principal"]["AWS"];
    assert!(
        principal == &json!([user_arn]) || principal == &json!(user_arn),
        "{principal}"
    );
    assert_eq!(role.max_session_duration, Some(3600));

    // The role may use S3 on the lab prefix and list buckets, nothing else; no other policy.
    let names = iam
        .list_role_policies()
        .role_name(role_name)
        .send()
        .await
        .unwrap()
        .policy_names;
    assert_eq!(names, ["sts-lab-s3"]);
    let attached = iam
        .list_attached_role_policies()
        .role_name(role_name)
        .send()
        .await
        .unwrap();
    assert!(attached.attached_policies.unwrap_or_default().is_empty());
    let doc = iam
        .get_role_policy()
        .role_name(role_name)
        .policy_name("sts-lab-s3")
        .send()
        .await
        .unwrap();
    let prefix = lab.bucket_prefix();
    let stmts = statements(&url_decoded_json(&doc.policy_document));
    assert_eq!(stmts.len(), 3, "{stmts:?}");
    assert_eq!(stmts[0]["Action"], "s3:ListAllMyBuckets");
    assert_eq!(stmts[0]["Resource"], "*");
    assert_eq!(stmts[1]["Action"], "s3:*");
    let lab_buckets = json!([format!("arn:aws:s3:::{prefix}*"), format!("arn:aws:s3:::{prefix}*/*")]);
    assert_eq!(stmts[1]["Resource"], lab_buckets);
    let allows: Vec<_> = stmts.iter().filter(|st| st["Effect"] == "Allow").collect();
    assert_eq!(allows.len(), 2);
    assert!(allows.iter().all(|st| st["Condition"] == until), "{stmts:?}");
    // Inside the prefix, no bucket policy, ACL, ownership, public access or object lock: a
    // learner could lock the instructor's cleanup out of a bucket with them.
    assert_eq!(stmts[2]["Effect"], "Deny");
    assert_eq!(stmts[2]["Resource"], lab_buckets);
    for action in [
        "s3:PutBucketPolicy",
        "s3:PutBucketAcl",
        "s3:PutObjectRetention",
        "s3:PutBucketObjectLockConfiguration",
    ] {
        assert!(
            stmts[2]["Action"].as_array().unwrap().contains(&json!(action)),
            "{action}"
        );
    }

    // The user's only permission: sts:AssumeRole on exactly that role.
    let user = &lab.names.user;
    let policies = iam
        .list_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .policy_names;
    assert_eq!(policies, ["StsAssumePolicy"]);
    let attached = iam.list_attached_user_policies().user_name(user).send().await.unwrap();
    assert!(attached.attached_policies.unwrap_or_default().is_empty());
    let groups = iam.list_groups_for_user().user_name(user).send().await.unwrap().groups;
    assert!(groups.is_empty());
    let doc = iam
        .get_user_policy()
        .user_name(user)
        .policy_name("StsAssumePolicy")
        .send()
        .await
        .unwrap();
    let stmts = statements(&url_decoded_json(&doc.policy_document));
    assert_eq!(
        stmts,
        [
            json!({"Sid": "AssumeTheLabRoleOnly", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn, "Condition": until})
        ]
    );
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
}

#[tokio::test]
async fn verify_proves_every_boundary_and_catches_a_broken_one() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    common::setup_and_assume(&lab).await;
    let checks = lab::verify(&lab, &Captured::default()).await.unwrap();
    let names: Vec<_> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "profile sts is the lab user",
            "profile sts is denied s3 ListBuckets",
            "profile sts is denied iam ListUsers",
            "the lab has not expired",
            "profile assumed is the assumed role",
            "profile assumed creates and lists a lab bucket",
            "profile assumed is denied iam ListUsers",
            "profile assumed is denied a bucket outside the lab prefix",
            "the admin may not assume the role (trust is the lab user only)",
            "proof: the user may make exactly sts:AssumeRole on the role",
            "proof: the role's sessions may make exactly S3 under the prefix and the bucket list",
            "proof: no one but the user may assume the role",
        ]
    );
    for c in &checks {
        assert!(c.passed, "{c:?}");
        if c.name.contains("denied") || c.name.contains("may not") {
            assert_eq!(c.seen, "AccessDenied", "{c:?}");
        }
    }

    // Give the user S3 rights it must not have: verify catches it and says what it saw.
    let broad = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    lab_core::ops::iam::put_user_policy(&lab.admin.iam, &lab.names.user, "TooBroad", broad)
        .await
        .unwrap();
    let checks = lab::verify(&lab, &Captured::default()).await.unwrap();
    let row = checks
        .iter()
        .find(|c| c.name == "profile sts is denied s3 ListBuckets")
        .unwrap();
    assert!(!row.passed && row.seen == "allowed", "{row:?}");
    let shown = Captured::default();
    lab::show_checks(&checks, &shown);
    let table = shown.text();
    assert!(
        table.contains("✗ profile sts is denied s3 ListBuckets")
            && table.contains("expected AccessDenied, saw allowed")
    );
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert!(lab::inventory(&lab).await.unwrap().is_empty());
}

#[tokio::test]
async fn secrets_stay_in_the_credentials_file_which_is_0600() {
    let emu = TestEmulator::start().await;
    let mut printed = String::new();
    for args in [
        &["-v", "setup"][..],
        &["-v", "assume", "--duration", "900"],
        &["-v", "verify"],
        // Re-runs: the kept key and a refreshed session print nothing secret either.
        &["setup"],
        &["assume"],
    ] {
        let out = emu.xtask(args);
        assert_ok(&out, &format!("{args:?}"));
        printed.push_str(&stdout(&out));
        printed.push_str(&stderr(&out));
    }
    let files = emu.home.files();
    let mode = std::fs::metadata(&files.credentials).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mut secrets = Vec::new();
    for profile in ["sts", "assumed"] {
        let p = files.read_profile(FileKind::Credentials, profile).unwrap().unwrap();
        secrets.extend(
            ["aws_secret_access_key", "aws_session_token"]
                .iter()
                .filter_map(|k| p.get(k).map(str::to_owned)),
        );
    }
    assert_eq!(secrets.len(), 3);
    // Every file the lab and the emulator wrote, but the credentials file.
    let mut others = String::new();
    let mut stack = vec![emu.scratch.0.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path != files.credentials {
                others.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
            }
        }
    }
    assert!(others.contains("[profile sts]"), "the config file was read");
    let out = emu.xtask(&["-v", "cleanup"]);
    printed.push_str(&stdout(&out));
    printed.push_str(&stderr(&out));
    for secret in &secrets {
        assert!(!printed.contains(&secret[..12]), "a secret reached stdout or stderr");
        assert!(
            !others.contains(&secret[..12]),
            "a secret reached a file other than the credentials file"
        );
    }
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_any_call() {
    let scratch = common::Scratch::new("insecure");
    let mut cmd = std::process::Command::new(common::xtask_bin());
    common::clean_env(&mut cmd);
    // `.invalid` never resolves, and the guard refuses before any lookup or connection.
    let out = cmd
        .args(["verify"])
        .env("HOME", &scratch.0)
        .env("AWS_ENDPOINT_URL", "http://sts-lab.invalid:5055")
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
        .env("AWS_SECRET_ACCESS_KEY", "not-a-secret-only-a-test-value")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("refusing to send credentials over plain HTTP") && err.contains("--allow-insecure-endpoint"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn template_passes_cfn_lint() {
    common::ensure_installed();
    let out = std::process::Command::new(common::venv().bin("cfn-lint"))
        .arg(common::project_root().join("infra/template.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cfn-lint found:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).trim().is_empty(), "{}", stdout(&out));
}

#[tokio::test]
async fn a_root_admin_is_warned_about() {
    let emu = TestEmulator::start().await;
    let mut target = emu.target();
    let root = "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:root</Arn><UserId>123456789012</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>";
    target.admin_faults = vec![lab_core::aws::faults::InjectErrors::reply(
        "GetCallerIdentity",
        200,
        root.to_owned(),
        1,
    )];
    let out = Captured::default();
    let lab = lab::Lab::connect(
        target,
        lab_core::model::names::LabNames::new(None).unwrap(),
        Default::default(),
        &out,
    )
    .await
    .unwrap();
    assert!(lab.admin_identity.is_root());
    assert!(
        out.text()
            .contains("warning: the admin identity is the account's root user"),
        "{}",
        out.text()
    );

    let out = Captured::default();
    emu.lab(None).await;
    let lab = lab::Lab::connect(
        emu.target(),
        lab_core::model::names::LabNames::new(None).unwrap(),
        Default::default(),
        &out,
    )
    .await
    .unwrap();
    assert!(!lab.admin_identity.is_root() && !out.text().contains("warning"));
}
