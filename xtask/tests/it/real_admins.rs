//! The lab as real users run it, on the emulator through the built binary with the real aws CLI
//! reading the files: role-based admin profiles (by --profile and AWS_PROFILE, with source_profile,
//! credential_source and a web identity), hand-kept files (a comment after a header, a split
//! section taken over with --force, `[profile  sts]`, `~` paths), a lab in another region,
//! per-service endpoints, and an MFA profile refused before any call.

use crate::common;

use std::process::Output;

use crate::common::{TestEmulator, admin_role, append, assert_botocore_parses, assert_ok, stderr, stdout};
use lab_core::lab;

/// Runs `xtask` with the emulator's environment, `args` and `env` (a value of "" removes it).
fn xtask(emu: &TestEmulator, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = emu.xtask_cmd(args);
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd.output().unwrap()
}

/// setup, assume, the aws CLI as `assumed`, verify and cleanup, each must pass and leave files
/// botocore parses.
async fn whole_lab(emu: &TestEmulator, flags: &[&str], env: &[(&str, &str)], what: &str) {
    let files = emu.home.files();
    for task in ["setup", "assume", "verify"] {
        let args: Vec<&str> = flags.iter().copied().chain([task]).collect();
        assert_ok(&xtask(emu, &args, env), &format!("{what}: {task}"));
        assert_botocore_parses(&files, &format!("after {task} ({what})"));
    }
    let who = emu.aws(&["sts", "get-caller-identity", "--profile", "assumed"]);
    assert_ok(&who, &format!("{what}: aws --profile assumed"));
    assert!(
        stdout(&who).contains("assumed-role/sts-stack-aws-prep-StsRole-"),
        "{}",
        stdout(&who)
    );
    let args: Vec<&str> = flags.iter().copied().chain(["cleanup"]).collect();
    assert_ok(&xtask(emu, &args, env), &format!("{what}: cleanup"));
    assert_botocore_parses(&files, &format!("after cleanup ({what})"));
    let inv = lab::inventory(&emu.lab(None).await).await.unwrap();
    assert!(
        inv.is_empty(),
        "{what} left {:?}",
        inv.lines(&emu.lab(None).await.names)
    );
}

#[tokio::test]
async fn admin_profiles_that_assume_a_role() {
    let emu = TestEmulator::start().await;
    let role = admin_role(&emu, "lab-admin-role").await;
    let files = emu.home.files();
    let token = emu.scratch.0.join("web-identity-token");
    std::fs::write(&token, "a-token-from-the-identity-provider").unwrap();
    append(
        &files.config,
        &format!(
            "\n[profile role-admin]\nrole_arn = {role}\nsource_profile = lab-admin\n\n[profile env-admin]\nrole_arn = {role}\ncredential_source = Environment\n\n[profile web-admin]\nrole_arn = {role}\nweb_identity_token_file = {}\n",
            token.display()
        ),
    );
    // By --profile (it stopped with "missing signing region"), and by AWS_PROFILE.
    whole_lab(
        &emu,
        &["--profile", "role-admin"],
        &[("AWS_PROFILE", "")],
        "--profile role-admin",
    )
    .await;
    whole_lab(&emu, &[], &[("AWS_PROFILE", "role-admin")], "AWS_PROFILE=role-admin").await;
    let setup = xtask(&emu, &["--profile", "role-admin", "setup"], &[]);
    assert!(
        stdout(&setup).contains("assumed-role/lab-admin-role/"),
        "the admin is the role: {}",
        stdout(&setup)
    );
    assert_ok(&xtask(&emu, &["--profile", "role-admin", "cleanup"], &[]), "cleanup");

    // credential_source = Environment: the role is assumed with the environment's keys.
    let (id, secret) = common::admin_keys(&emu);
    let env = [
        ("AWS_ACCESS_KEY_ID", id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
    ];
    whole_lab(&emu, &["--profile", "env-admin"], &env, "credential_source").await;

    // A web identity: AssumeRoleWithWebIdentity, which needs the region too.
    whole_lab(&emu, &["--profile", "web-admin"], &[], "web identity").await;
}

#[tokio::test]
async fn hand_kept_files_stay_parseable_and_the_users_bytes_stay() {
    let emu = TestEmulator::start().await;
    let files = emu.home.files();
    let admin_creds = std::fs::read_to_string(&files.credentials).unwrap();
    let admin_config = std::fs::read_to_string(&files.config).unwrap();
    // The user's own [sts], split by a blank line and a comment, after a commented header.
    let theirs = "# kept by hand since 2019\n[default] # my default\naws_access_key_id = AKIADEFAULTEXAMPLE\naws_secret_access_key = default/secret\n\n[sts]\naws_access_key_id = AKIAMINEEXAMPLE\n\n# the old secret\naws_secret_access_key = old/secret\n\n";
    std::fs::write(&files.credentials, format!("{theirs}{admin_creds}")).unwrap();
    let their_config = "[default] ; mine\nregion = us-east-1\n\n[profile  sts]\nregion = us-east-1\noutput = json\n\n";
    std::fs::write(&files.config, format!("{their_config}{admin_config}")).unwrap();
    assert_botocore_parses(&files, "before");

    let refused = xtask(&emu, &["setup"], &[]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert_eq!(stderr(&refused).trim().lines().count(), 1, "{}", stderr(&refused));

    whole_lab(&emu, &["--force"], &[], "--force over the user's [sts]").await;
    // The sections the lab took over are gone whole; every other byte is as it was.
    let creds = std::fs::read_to_string(&files.credentials).unwrap();
    assert!(
        !creds.contains("AKIAMINEEXAMPLE") && !creds.contains("old/secret"),
        "{creds}"
    );
    let expected_creds = format!(
        "# kept by hand since 2019\n[default] # my default\naws_access_key_id = AKIADEFAULTEXAMPLE\naws_secret_access_key = default/secret\n\n{admin_creds}"
    );
    assert_eq!(creds, expected_creds);
    let config = std::fs::read_to_string(&files.config).unwrap();
    assert_eq!(
        config,
        format!("[default] ; mine\nregion = us-east-1\n\n{admin_config}")
    );
}

#[tokio::test]
async fn tilde_paths_are_the_home_folder() {
    let emu = TestEmulator::start().await;
    // HOME is the scratch folder; the emulator's files are under it.
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", "~/emulator/aws/credentials"),
        ("AWS_CONFIG_FILE", "~/emulator/aws/config"),
    ];
    assert_ok(&xtask(&emu, &["setup"], &env), "setup with ~ paths");
    let profile = emu
        .home
        .files()
        .read_profile(lab_core::profiles::awsfiles::FileKind::Credentials, "sts")
        .unwrap();
    assert!(profile.is_some_and(|p| p.owned), "profile sts is in the file ~ names");
    assert!(!emu.scratch.0.join("~").exists());
    assert_ok(&xtask(&emu, &["cleanup"], &env), "cleanup with ~ paths");
}

#[tokio::test]
async fn a_lab_in_another_region_is_found_by_every_task() {
    let emu = TestEmulator::start().await;
    // AWS_REGION is us-east-1 in the emulator's environment: the lab's region must win.
    assert_ok(
        &xtask(&emu, &["setup", "--region", "eu-west-1"], &[]),
        "setup in eu-west-1",
    );
    let admin = emu.admin().await;
    let in_region = |r: &str| admin.in_region(r);
    let stack = |c: lab_core::aws::target::Clients| async move {
        lab_core::ops::cfn::describe_stack(&c.cfn, "sts-stack-aws-prep")
            .await
            .unwrap()
    };
    assert!(
        stack(in_region("eu-west-1")).await.is_some(),
        "the stack is in eu-west-1"
    );
    assert!(stack(in_region("us-east-1")).await.is_none(), "and not in us-east-1");
    for task in ["assume", "verify", "status"] {
        assert_ok(&xtask(&emu, &[task], &[]), task);
    }
    let who = emu.aws(&["sts", "get-caller-identity", "--profile", "assumed"]);
    assert_ok(&who, "aws --profile assumed");
    // A --region that is not the lab's is refused, on one line, before anything changes.
    let wrong = xtask(&emu, &["cleanup", "--region", "us-west-2"], &[]);
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("lives in eu-west-1") && stderr(&wrong).trim().lines().count() == 1,
        "{}",
        stderr(&wrong)
    );
    // With every local file of the lab gone, the user's tag still knows the region.
    let files = emu.home.files();
    for profile in ["sts", "assumed"] {
        for kind in [
            lab_core::profiles::awsfiles::FileKind::Credentials,
            lab_core::profiles::awsfiles::FileKind::Config,
        ] {
            files.remove_profile(kind, profile).await.unwrap();
        }
    }
    let cleanup = xtask(&emu, &["cleanup"], &[]);
    assert_ok(&cleanup, "cleanup without --region and without local files");
    assert!(
        stack(in_region("eu-west-1")).await.is_none(),
        "the stack in eu-west-1 is gone"
    );
    let inv = lab::inventory(&emu.lab(None).await).await.unwrap();
    assert!(inv.is_empty(), "{:?}", inv.lines(&emu.lab(None).await.names));
    assert!(admin.iam.list_roles().send().await.unwrap().roles.is_empty());
}

#[tokio::test]
async fn service_specific_endpoints_are_guarded_and_path_style() {
    let emu = TestEmulator::start().await;
    let endpoint = emu.running.endpoint();
    // Only per-service variables: S3 must still go path-style to the emulator.
    let per_service = [
        ("AWS_ENDPOINT_URL", ""),
        ("AWS_ENDPOINT_URL_IAM", endpoint.as_str()),
        ("AWS_ENDPOINT_URL_STS", endpoint.as_str()),
        ("AWS_ENDPOINT_URL_S3", endpoint.as_str()),
        ("AWS_ENDPOINT_URL_CLOUDFORMATION", endpoint.as_str()),
    ];
    for task in ["setup", "assume", "verify", "cleanup"] {
        assert_ok(
            &xtask(&emu, &[task], &per_service),
            &format!("{task} with AWS_ENDPOINT_URL_<SERVICE>"),
        );
    }
    // Plain HTTP to a remote host, for one service only, is refused before any call.
    let remote = [("AWS_ENDPOINT_URL_S3", "http://s3.example.com:9000")];
    let out = xtask(&emu, &["setup"], &remote);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("refusing to send credentials over plain HTTP to http://s3.example.com:9000 (S3)"),
        "{}",
        stderr(&out)
    );
    assert!(lab::inventory(&emu.lab(None).await).await.unwrap().is_empty());

    // The config file's services section, on an admin profile of the user's own.
    let files = emu.home.files();
    let creds = std::fs::read_to_string(&files.credentials).unwrap();
    let keys: Vec<&str> = creds.lines().filter(|l| l.starts_with("aws_")).collect();
    append(&files.credentials, &format!("\n[svc-admin]\n{}\n", keys.join("\n")));
    append(
        &files.config,
        &format!(
            "\n[profile svc-admin]\nregion = us-east-1\nservices = emulator\n\n[services emulator]\niam =\n  endpoint_url = {endpoint}\nsts =\n  endpoint_url = {endpoint}\ns3 =\n  endpoint_url = {endpoint}\ncloudformation =\n  endpoint_url = {endpoint}\n"
        ),
    );
    let env = [("AWS_ENDPOINT_URL", ""), ("AWS_PROFILE", "")];
    for task in ["setup", "assume", "verify"] {
        assert_ok(&xtask(&emu, &["--profile", "svc-admin", task], &env), task);
    }
    // The lab's profiles reach the same endpoints, for the aws CLI too.
    let mut cli = std::process::Command::new(common::venv().bin("aws"));
    common::clean_env(&mut cli);
    let who = cli
        .args(["sts", "get-caller-identity", "--profile", "assumed"])
        .env("AWS_SHARED_CREDENTIALS_FILE", &files.credentials)
        .env("AWS_CONFIG_FILE", &files.config)
        .env("HOME", &emu.scratch.0)
        .output()
        .unwrap();
    assert_ok(&who, "aws --profile assumed through the services section");
    assert_ok(&xtask(&emu, &["--profile", "svc-admin", "cleanup"], &env), "cleanup");
}

#[tokio::test]
async fn an_mfa_admin_profile_is_refused_with_what_to_do() {
    let emu = TestEmulator::start().await;
    let role = admin_role(&emu, "mfa-role").await;
    append(
        &emu.home.files().config,
        &format!(
            "\n[profile mfa-admin]\nrole_arn = {role}\nsource_profile = lab-admin\nmfa_serial = arn:aws:iam::123456789012:mfa/admin\n"
        ),
    );
    let before = std::fs::read_to_string(&emu.home.files().credentials).unwrap();
    let out = xtask(&emu, &["--profile", "mfa-admin", "setup"], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("MFA") && err.contains("aws configure export-credentials --profile mfa-admin"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    assert_eq!(std::fs::read_to_string(&emu.home.files().credentials).unwrap(), before);
    assert!(lab::inventory(&emu.lab(None).await).await.unwrap().is_empty());
}
