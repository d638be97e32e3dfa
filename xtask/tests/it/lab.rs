//! Integration tests of the whole lab against a real emulator over HTTP with IAM enforcement on:
//! the full chain, each enforced denial, re-runs, half-done setups and nothing left after cleanup.

use crate::common;

use crate::common::{TestEmulator, assert_ok, setup_and_assume, stderr, stdout};
use lab_core::aws::error::{aws_error, error_code};
use lab_core::lab::{self, Lab};
use lab_core::model::names::LabNames;
use lab_core::ops::{iam, s3, sts};
use lab_core::output::report::Captured;
use lab_core::profiles::awsfiles::FileKind;

async fn assert_nothing_left(lab: &Lab) {
    let inv = lab::inventory(lab).await.unwrap();
    assert!(inv.is_empty(), "left: {:?}", inv.lines(&lab.names));
    // Nothing by any other name either: the admin is the only user, no role, no stack, no bucket.
    let admin = &lab.admin;
    let users = admin.iam.list_users().send().await.unwrap().users;
    assert_eq!(
        users.iter().map(|u| u.user_name.as_str()).collect::<Vec<_>>(),
        ["emulator-admin"]
    );
    assert!(admin.iam.list_roles().send().await.unwrap().roles.is_empty());
    assert!(s3::list_buckets(&admin.s3).await.unwrap().is_empty());
    let stacks = admin
        .cfn
        .list_stacks()
        .send()
        .await
        .unwrap()
        .stack_summaries
        .unwrap_or_default();
    assert!(stacks.iter().all(|s| {
        s.stack_status
            .as_ref()
            .is_some_and(|st| st.as_str() == "DELETE_COMPLETE")
    }));
}

#[tokio::test]
async fn full_chain_then_nothing_left() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    setup_and_assume(&lab).await;

    let checks = lab::verify(&lab, &Captured::default()).await.unwrap();
    assert_eq!(checks.len(), 12);
    for c in &checks {
        assert!(c.passed, "{c:?}");
    }
    let as_role = lab.target.profile("assumed").await.unwrap();
    let id = sts::caller_identity(&as_role.sts).await.unwrap();
    assert!(
        id.arn
            .starts_with("arn:aws:sts::123456789012:assumed-role/sts-stack-aws-prep-StsRole-"),
        "{}",
        id.arn
    );
    assert!(id.arn.ends_with("/s3-sts-aws-prep"));

    let out = Captured::default();
    lab::cleanup(&lab, &out)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", out.text()));
    assert_nothing_left(&lab).await;
    // A second cleanup finds nothing to do and succeeds.
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert!(
        !lab.target.files.credentials.exists()
            || std::fs::read_to_string(&lab.target.files.credentials)
                .unwrap()
                .contains("[lab-admin]")
    );
    assert!(
        lab.target
            .files
            .read_profile(FileKind::Credentials, "sts")
            .unwrap()
            .is_none()
    );
    assert!(
        lab.target
            .files
            .read_profile(FileKind::Credentials, "assumed")
            .unwrap()
            .is_none()
    );
    assert!(
        lab.target
            .files
            .read_profile(FileKind::Config, "sts")
            .unwrap()
            .is_none()
    );
}

/// Each boundary of the lab is enforced by the emulator and answered with AccessDenied.
#[tokio::test]
async fn enforced_denials() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    let names = &lab.names;

    // Without its policy the user may still assume the role: in one account, a trust that names
    // the user itself is enough (AWS's AssumeRole reference: "add the user as a principal directly
    // in the role's trust policy"). Another principal of the account is refused by the trust.
    let out = Captured::default();
    lab::setup(&lab, &out).await.unwrap();
    let role_arn = lab.role_arn().await.unwrap();
    iam::delete_user_policy(&lab.admin.iam, &names.user, &names.user_policy)
        .await
        .unwrap();
    let as_user = lab.target.profile("sts").await.unwrap();
    sts::assume_role(&as_user.sts, &role_arn, "s1", None).await.unwrap();
    let err = sts::assume_role(&lab.admin.sts, &role_arn, "s1", None)
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("AccessDenied"), "{err:#}");
    lab::setup(&lab, &out).await.unwrap();

    // The user: no S3, no IAM.
    let err = s3::list_buckets(&as_user.s3).await.unwrap_err();
    assert_eq!(error_code(&err), Some("AccessDenied"), "{err:#}");
    let err = as_user.iam.list_users().send().await.unwrap_err();
    assert_eq!(
        lab_core::aws::error::AwsError::from_sdk("ListUsers", err)
            .code
            .as_deref(),
        Some("AccessDenied")
    );

    // The admin may do anything by identity policy, but the role does not trust it.
    let err = sts::assume_role(&lab.admin.sts, &role_arn, "admin-try", None)
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("AccessDenied"), "{err:#}");

    // The role: S3 inside the lab prefix only, no IAM.
    lab::assume(&lab, &lab::AssumeOptions::default(), &out).await.unwrap();
    let as_role = lab.target.profile("assumed").await.unwrap();
    let err = s3::create_bucket(
        &as_role.s3,
        "outside-the-lab-prefix",
        "us-east-1",
        &[("sts-lab", "default")],
    )
    .await
    .unwrap_err();
    assert!(aws_error(&err).unwrap().is_access_denied(), "{err:#}");
    let err = as_role.iam.list_users().send().await.unwrap_err();
    assert_eq!(
        lab_core::aws::error::AwsError::from_sdk("ListUsers", err)
            .code
            .as_deref(),
        Some("AccessDenied")
    );
    let inside = format!("{}inside", lab.bucket_prefix());
    s3::create_bucket(&as_role.s3, &inside, "us-east-1", &[("sts-lab", "default")])
        .await
        .unwrap();
    s3::tag_bucket(&as_role.s3, &inside, &[("sts-lab", "default")])
        .await
        .unwrap();
    assert!(s3::list_buckets(&as_role.s3).await.unwrap().contains(&inside));

    lab::cleanup(&lab, &out)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", out.text()));
    assert_nothing_left(&lab).await;
}

/// Setup run twice keeps one key, the same stack and role; assume run twice refreshes.
#[tokio::test]
async fn reruns_converge() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    let first = Captured::default();
    let made = lab::setup(&lab, &first).await.unwrap();
    assert!(made.new_key.is_some());
    let again = Captured::default();
    let kept = lab::setup(&lab, &again).await.unwrap();
    assert!(kept.new_key.is_none(), "the working key is kept:\n{}", again.text());
    assert_eq!(kept.role_arn, made.role_arn, "the stack is updated, not recreated");
    let keys = iam::list_access_keys(&lab.admin.iam, &lab.names.user).await.unwrap();
    assert_eq!(keys.len(), 1);

    // A profile whose key is no longer the user's gets a new key; the old keys are deleted.
    iam::delete_access_key(&lab.admin.iam, &lab.names.user, &keys[0].access_key_id)
        .await
        .unwrap();
    iam::create_access_key(&lab.admin.iam, &lab.names.user).await.unwrap();
    let replaced = lab::setup(&lab, &Captured::default()).await.unwrap();
    assert!(replaced.new_key.is_some());
    let keys = iam::list_access_keys(&lab.admin.iam, &lab.names.user).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].access_key_id, replaced.new_key.unwrap().access_key_id);

    let a = lab::assume(&lab, &lab::AssumeOptions::default(), &Captured::default())
        .await
        .unwrap();
    let b = lab::assume(
        &lab,
        &lab::AssumeOptions {
            session_name: "second-session".parse().unwrap(),
            duration: Some("900".parse().unwrap()),
            ..Default::default()
        },
        &Captured::default(),
    )
    .await
    .unwrap();
    assert_ne!(a.access_key_id, b.access_key_id);
    let profile = lab
        .target
        .files
        .read_profile(FileKind::Credentials, "assumed")
        .unwrap()
        .unwrap();
    assert_eq!(profile.get("aws_access_key_id"), Some(b.access_key_id.as_str()));
    assert!(common::all_checks_pass(&lab).await);

    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert_nothing_left(&lab).await;
}

/// Cleanup after a setup that stopped half way: a user with a key and no stack, and a stack
/// without its user policy.
#[tokio::test]
async fn cleanup_after_half_setup() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    iam::create_user(&lab.admin.iam, &lab.names.user, &[("sts-lab", &lab.names.lab)])
        .await
        .unwrap();
    iam::create_access_key(&lab.admin.iam, &lab.names.user).await.unwrap();
    iam::create_access_key(&lab.admin.iam, &lab.names.user).await.unwrap();
    let out = Captured::default();
    lab::cleanup(&lab, &out)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", out.text()));
    assert_nothing_left(&lab).await;

    lab::setup(&lab, &out).await.unwrap();
    iam::delete_user_policy(&lab.admin.iam, &lab.names.user, &lab.names.user_policy)
        .await
        .unwrap();
    lab::cleanup(&lab, &out)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", out.text()));
    assert_nothing_left(&lab).await;
}

/// The user's own credentials file keeps every byte through setup, assume and cleanup.
#[tokio::test]
async fn users_files_are_byte_identical_after_cleanup() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    let creds = std::fs::read_to_string(&lab.target.files.credentials).unwrap();
    let original =
        format!("# my notes\n{creds}\n; other\n[work]\naws_access_key_id = AKIAWORK\naws_secret_access_key = work\n\n");
    std::fs::write(&lab.target.files.credentials, &original).unwrap();
    let config = std::fs::read_to_string(&lab.target.files.config).unwrap();

    setup_and_assume(&lab).await;
    let during = std::fs::read_to_string(&lab.target.files.credentials).unwrap();
    assert!(
        during.starts_with(&original),
        "the user's part is untouched and ours is appended"
    );
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&lab.target.files.credentials).unwrap(),
        original
    );
    assert_eq!(std::fs::read_to_string(&lab.target.files.config).unwrap(), config);
}

/// A profile named like the lab's that the lab did not write is refused, untouched, without --force.
#[tokio::test]
async fn foreign_profile_is_not_overwritten() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    let path = lab.target.files.credentials.clone();
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n[sts]\naws_access_key_id = MINE\naws_secret_access_key = mine\n");
    std::fs::write(&path, &text).unwrap();

    let err = lab::setup(&lab, &Captured::default()).await.unwrap_err();
    assert!(format!("{err:#}").contains("--force"), "{err:#}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert!(
        iam::list_access_keys(&lab.admin.iam, &lab.names.user)
            .await
            .unwrap()
            .is_empty(),
        "no key was left behind"
    );

    let names = lab.names.clone();
    let lab = Lab::connect(
        emu.target(),
        names,
        lab_core::lab::LabOptions::default().force(true),
        &Captured::default(),
    )
    .await
    .unwrap();
    lab::setup(&lab, &Captured::default()).await.unwrap();
    assert!(!std::fs::read_to_string(&path).unwrap().contains("MINE"));
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert_nothing_left(&lab).await;
}

/// Two labs on one endpoint at once do not touch each other.
#[tokio::test]
async fn labs_side_by_side() {
    let emu = TestEmulator::start().await;
    let a = emu.lab(Some("team-a")).await;
    let b = emu.lab(Some("team-b")).await;
    let (ra, rb) = tokio::join!(setup_and_assume(&a), setup_and_assume(&b));
    drop((ra, rb));
    let (ra, rb) = (Captured::default(), Captured::default());
    let (va, vb) = tokio::join!(lab::verify(&a, &ra), lab::verify(&b, &rb));
    assert!(va.unwrap().iter().all(|c| c.passed));
    assert!(vb.unwrap().iter().all(|c| c.passed));
    assert_ne!(a.role_arn().await.unwrap(), b.role_arn().await.unwrap());

    lab::cleanup(&a, &Captured::default()).await.unwrap();
    assert!(lab::inventory(&a).await.unwrap().is_empty());
    let left_b = lab::inventory(&b).await.unwrap();
    assert!(
        left_b.user.is_some() && left_b.stack.is_some() && left_b.buckets.len() == 1,
        "{:?}",
        left_b.lines(&b.names)
    );
    assert_eq!(left_b.profiles.len(), 4);
    assert!(common::all_checks_pass(&b).await, "lab b still works");
    lab::cleanup(&b, &Captured::default()).await.unwrap();
    assert_nothing_left(&b).await;
}

/// A user, stack or bucket with the lab's name but not its tag is refused and left alone.
#[tokio::test]
async fn foreign_resources_are_refused() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    lab.admin
        .iam
        .create_user()
        .user_name(&lab.names.user)
        .send()
        .await
        .unwrap();
    let err = lab::setup(&lab, &Captured::default()).await.unwrap_err();
    assert!(format!("{err:#}").contains("not tagged sts-lab=default"), "{err:#}");
    let err = lab::cleanup(&lab, &Captured::default()).await.unwrap_err();
    assert!(format!("{err:#}").contains("not tagged"), "{err:#}");
    assert!(
        iam::get_user(&lab.admin.iam, &lab.names.user).await.unwrap().is_some(),
        "the user is untouched"
    );
}

/// The built binary, run as a user runs it after `eval "$(cargo xtask emulator env)"`, and the
/// aws CLI reading the profiles it wrote.
#[tokio::test]
async fn binary_and_aws_cli_with_the_emulator_env() {
    let emu = TestEmulator::start().await;
    let setup = emu.xtask(&["setup"]);
    assert_ok(&setup, "xtask setup");
    assert!(stdout(&setup).contains("CreateAccessKey"));
    assert_ok(&emu.xtask(&["assume"]), "xtask assume");

    let id = emu.aws(&[
        "sts",
        "get-caller-identity",
        "--profile",
        "assumed",
        "--query",
        "Arn",
        "--output",
        "text",
    ]);
    assert_ok(&id, "aws sts get-caller-identity --profile assumed");
    assert!(
        stdout(&id)
            .trim()
            .starts_with("arn:aws:sts::123456789012:assumed-role/sts-stack-aws-prep-StsRole-"),
        "{}",
        stdout(&id)
    );
    let denied = emu.aws(&["s3", "ls", "--profile", "sts"]);
    assert!(!denied.status.success());
    assert!(stderr(&denied).contains("AccessDenied"), "{}", stderr(&denied));

    let verify = emu.xtask(&["verify"]);
    assert_ok(&verify, "xtask verify");
    assert!(stdout(&verify).contains("all 12 checks passed"));
    let ls = emu.aws(&["s3", "ls", "--profile", "assumed"]);
    assert_ok(&ls, "aws s3 ls --profile assumed");
    assert!(stdout(&ls).contains("sts-lab-default-123456789012-verify"));

    let cleanup = emu.xtask(&["cleanup"]);
    assert_ok(&cleanup, "xtask cleanup");
    assert!(stdout(&cleanup).contains("cleanup done: nothing of lab default is left"));
    let gone = emu.aws(&["sts", "get-caller-identity", "--profile", "assumed"]);
    assert!(!gone.status.success(), "the profile is gone");
    assert_ok(&emu.xtask(&["cleanup"]), "second xtask cleanup");
    let lab = emu.lab(None).await;
    assert_nothing_left(&lab).await;
}

/// Bad input and faults: a clear one-line error, a non-zero exit, no panic, nothing changed.
#[tokio::test]
async fn bad_input_gives_one_clear_line() {
    let emu = TestEmulator::start().await;
    let creds_before = std::fs::read_to_string(&emu.home.files().credentials).unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--lab", "Bad_Name", "setup"], "invalid lab name"),
        (&["assume", "--duration", "60"], "--duration 60 is out of range"),
        (&["assume", "--session-name", "x"], "invalid session name"),
        (&["assume"], "run `cargo xtask setup` first"),
        (&["--profile", "nobody", "setup"], "no admin credentials"),
    ];
    for (args, expected) in cases {
        let out = emu.xtask(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line, got:\n{err}");
    }
    assert_eq!(
        std::fs::read_to_string(&emu.home.files().credentials).unwrap(),
        creds_before
    );
    let lab = emu.lab(None).await;
    assert_nothing_left(&lab).await;

    // verify before setup: the table says what is missing, and the exit code says it failed.
    let out = emu.xtask(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("✗ profile sts is the lab user"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("checks failed; run `cargo xtask setup`"),
        "{}",
        stderr(&out)
    );

    // A credentials file no AWS tool can read: named with its line, and left as it is.
    let path = emu.home.files().credentials;
    let broken = format!("{creds_before}\n[oops\n");
    std::fs::write(&path, &broken).unwrap();
    let out = emu.xtask(&["setup"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("credentials") && !err.contains("panicked"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    std::fs::write(&path, &creds_before).unwrap();
    assert_nothing_left(&lab).await;

    // An endpoint where nothing listens.
    let port = lab_core::emulator::free_port().await.unwrap();
    let mut cmd = std::process::Command::new(common::xtask_bin());
    common::clean_env(&mut cmd);
    let out = cmd
        .args(["verify"])
        .envs(emu.env())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("HOME", &emu.scratch.0)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot reach"), "{err}");
}

/// `cargo xtask demo` starts its own emulator, passes, and stops it again.
#[test]
fn demo_runs_the_whole_lab_and_stops_its_emulator() {
    let scratch = common::Scratch::new("demo");
    let port = common::free_port();
    let mut cmd = std::process::Command::new(common::xtask_bin());
    common::clean_env(&mut cmd);
    let out = cmd
        .arg("demo")
        .env("STS_LAB_EMULATOR_DIR", scratch.0.join("emulator"))
        .env("STS_LAB_EMULATOR_PORT", port.to_string())
        .env("HOME", &scratch.0)
        .output()
        .unwrap();
    assert_ok(&out, "xtask demo");
    let text = stdout(&out);
    for needle in [
        "== setup",
        "== assume",
        "== verify",
        "== cleanup",
        "the emulator holds nothing of the lab",
        "demo passed",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
    assert!(!text.contains('✗'), "{text}");
    // The process it started is gone (its port may already serve another test's emulator).
    // "started the emulator … (pid N, …)" goes to stderr: stdout is for the lab's lines.
    let err = stderr(&out);
    let pid = err
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split([',', ')']).next())
        .unwrap_or_else(|| panic!("no pid in:\n{err}"));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z")),
        "the emulator it started (pid {pid}) is stopped"
    );
    assert!(!scratch.0.join(".aws").exists(), "nothing is written under ~/.aws");
    let names = LabNames::new(None).unwrap();
    assert!(text.contains(&names.user));
}

/// A fresh user: no ~/.aws at all, the admin's keys in AWS_ACCESS_KEY_ID as many CI systems
/// have them. The lab creates ~/.aws (0700) for its profiles and takes them away again.
#[tokio::test]
async fn works_from_environment_credentials_without_any_aws_folder() {
    use std::os::unix::fs::PermissionsExt;
    let emu = TestEmulator::start().await;
    let admin = emu
        .home
        .files()
        .read_profile(lab_core::profiles::awsfiles::FileKind::Credentials, "lab-admin")
        .unwrap()
        .unwrap();
    let home = common::Scratch::new("fresh-home");
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(common::xtask_bin());
        common::clean_env(&mut cmd);
        cmd.args(args)
            .env("HOME", &home.0)
            .env("AWS_ENDPOINT_URL", emu.running.endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", admin.get("aws_access_key_id").unwrap())
            .env("AWS_SECRET_ACCESS_KEY", admin.get("aws_secret_access_key").unwrap())
            .output()
            .unwrap()
    };
    for task in ["setup", "assume", "verify"] {
        assert_ok(&run(&[task]), task);
    }
    let aws_dir = home.0.join(".aws");
    assert_eq!(std::fs::metadata(&aws_dir).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(
        std::fs::metadata(aws_dir.join("credentials"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(
        std::fs::read_to_string(aws_dir.join("credentials"))
            .unwrap()
            .contains("[assumed]")
    );
    assert_ok(&run(&["cleanup"]), "cleanup");
    assert!(
        !aws_dir.join("credentials").exists() && !aws_dir.join("config").exists(),
        "emptied files are removed"
    );
    assert_nothing_left(&emu.lab(None).await).await;
}

/// `emulator start|status|env|stop` and `--local`, as a user runs them, on a private state folder
/// and port.
#[test]
fn emulator_task_and_local_flag() {
    common::ensure_installed();
    let scratch = common::Scratch::new("local");
    let port = crate::common::free_port().to_string();
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(common::xtask_bin());
        common::clean_env(&mut cmd);
        cmd.args(args)
            .env("HOME", &scratch.0)
            .env("STS_LAB_EMULATOR_DIR", scratch.0.join("emulator"))
            .env("STS_LAB_EMULATOR_PORT", &port)
            .output()
            .unwrap()
    };
    assert!(stdout(&run(&["emulator", "status"])).contains("not running"));
    assert_eq!(
        run(&["emulator", "env"]).status.code(),
        Some(1),
        "env needs a running emulator"
    );
    assert_ok(&run(&["emulator", "start"]), "emulator start");
    assert!(stdout(&run(&["emulator", "start"])).contains("already running"));
    let status = stdout(&run(&["emulator", "status"]));
    assert!(
        status.contains(&format!("running on http://127.0.0.1:{port}")),
        "{status}"
    );
    let pid = status
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split([',', ')']).next())
        .unwrap()
        .to_owned();
    let env = stdout(&run(&["emulator", "env"]));
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
    ] {
        assert!(env.contains(&format!("export {var}=")), "{var} in {env}");
    }
    for task in ["setup", "assume", "verify", "status", "cleanup"] {
        assert_ok(&run(&["--local", task]), &format!("--local {task}"));
    }
    assert!(!scratch.0.join(".aws").exists(), "--local never writes ~/.aws");
    assert_ok(&run(&["emulator", "stop"]), "emulator stop");
    // Its process is gone (the freed port may already serve another test's emulator).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(stat.is_empty() || stat.contains(") Z"), "pid {pid} still runs: {stat}");
    assert!(stdout(&run(&["emulator", "stop"])).contains("no emulator was running"));
}
