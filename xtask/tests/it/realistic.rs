//! The lab on the realistic emulator (AWS's timing and strictness, delays set short): what real
//! AWS documents and moto does not do. DeleteUser refused while a learner's additions are attached,
//! a trust bound to the user's unique id, bucket listings that lag, stack states moto never
//! reaches, "Invalid principal" for a new user, expired sessions and too-long durations,
//! Throttling, new keys refused for a while.

use crate::common;

use std::time::Duration;

use crate::common::{TestEmulator, admin_role, assert_ok, move_clock, setup_and_assume, stderr};
use lab_core::aws::error::one_line;
use lab_core::lab::{self, Lab};
use lab_core::ops::{cfn, iam, s3, sts};
use lab_core::output::report::Captured;

/// Short delays, each long enough to be seen.
const SHORT: [(&str, &str); 6] = [
    ("STS_LAB_KEY_DELAY", "0.4"),
    ("STS_LAB_PROPAGATION_DELAY", "0.3"),
    ("STS_LAB_STACK_DELAY", "0.3"),
    ("STS_LAB_BUCKET_LIST_LAG", "5"),
    ("STS_LAB_IAM_RATE", "0"),
    ("STS_LAB_INVALID_PRINCIPAL_WINDOW", "0"),
];

fn with(overrides: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut settings: Vec<_> = SHORT
        .iter()
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .copied()
        .collect();
    settings.extend_from_slice(overrides);
    settings
}

async fn cleanup_ok(lab: &Lab, what: &str) -> String {
    let out = Captured::default();
    lab::cleanup(lab, &out)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e:#}\n{}", out.text()));
    out.text()
}

async fn assert_only_admin_left(lab: &Lab) {
    let inv = lab::inventory(lab).await.unwrap();
    assert!(inv.is_empty(), "left: {:?}", inv.lines(&lab.names));
    let users = lab.admin.iam.list_users().send().await.unwrap().users;
    assert_eq!(
        users.len(),
        1,
        "{:?}",
        users.iter().map(|u| &u.user_name).collect::<Vec<_>>()
    );
    assert!(lab.admin.iam.list_roles().send().await.unwrap().roles.is_empty());
}

/// A self-signed certificate, as a learner would upload for the user.
fn certificate() -> String {
    let script = "from cryptography import x509\nfrom cryptography.x509.oid import NameOID\nfrom cryptography.hazmat.primitives import hashes, serialization\nfrom cryptography.hazmat.primitives.asymmetric import rsa\nimport datetime\nk = rsa.generate_private_key(public_exponent=65537, key_size=2048)\nn = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'learner')])\nnow = datetime.datetime.now(datetime.timezone.utc)\nc = x509.CertificateBuilder().subject_name(n).issuer_name(n).public_key(k.public_key()).serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(k, hashes.SHA256())\nprint(c.public_bytes(serialization.Encoding.PEM).decode())\n";
    let out = std::process::Command::new(common::venv().bin("python"))
        .args(["-c", script])
        .output()
        .unwrap();
    assert_ok(&out, "make a certificate");
    String::from_utf8(out.stdout).unwrap()
}

const SSH_KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDBqQoQCyFAA7+NU5CJHWEOaz+SOHSahUwQdYkeT3xeDP4rXh/IHtdUQxEtUT/pQIQ7vaHjLlwQOZaIn2TPX2B0E8Yp8sMj7RXvhdoZGhqExJlu4DqjHzJ4n5Bmkg2JIl8NpwdnhEVMVP7SnPmPN9Ag1m9SZWZtd3mj/FPr34jh0kCBSiXTsqvc2ma2p5Dc9HpJnvcNwwoyTYgyLrUlaOG/wMSYoFjmK5k3yXUpbrfSPUyO4zY+Rr3qYA1MtBCgHF2Ve2sjqGX7bjfT1n8X6sXw9oP4EZMfk7e0kDoM6YWWDNhhnBJKLxzCp1FaTCbVkSMzg36xvSydjmPh/aQmLGMz learner@laptop";

/// Items 5 and 7: a learner's additions to the lab user do not stop cleanup, and a second
/// cleanup right after the first (S3 still lists the deleted bucket) finds nothing to do. With
/// IAM throttled, the SDK's backoff carries every step through.
#[tokio::test]
async fn a_learners_additions_and_a_second_cleanup_at_once() {
    let emu = TestEmulator::realistic(&with(&[("STS_LAB_IAM_RATE", "12")])).await;
    let lab = emu.lab(None).await;
    setup_and_assume(&lab).await;
    let checks = lab::verify(&lab, &Captured::default()).await.unwrap();
    assert!(checks.iter().all(|c| c.passed), "{checks:#?}");

    let a = &lab.admin.iam;
    let user = lab.names.user.as_str();
    a.create_group().group_name("learners").send().await.unwrap();
    a.add_user_to_group()
        .group_name("learners")
        .user_name(user)
        .send()
        .await
        .unwrap();
    let policy = a
        .create_policy()
        .policy_name("LearnerReadOnly")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();
    a.attach_user_policy()
        .user_name(user)
        .policy_arn(&policy)
        .send()
        .await
        .unwrap();
    a.create_login_profile()
        .user_name(user)
        .password("Learner-Passw0rd!")
        .send()
        .await
        .unwrap();
    let mfa = a
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("learner-phone")
        .send()
        .await
        .unwrap()
        .virtual_mfa_device
        .unwrap()
        .serial_number;
    a.enable_mfa_device()
        .user_name(user)
        .serial_number(&mfa)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();
    a.upload_ssh_public_key()
        .user_name(user)
        .ssh_public_key_body(SSH_KEY)
        .send()
        .await
        .unwrap();
    a.upload_signing_certificate()
        .user_name(user)
        .certificate_body(certificate())
        .send()
        .await
        .unwrap();
    a.create_service_specific_credential()
        .user_name(user)
        .service_name("codecommit.amazonaws.com")
        .send()
        .await
        .unwrap();
    // Today's cleanup stops here: DeleteUser answers DeleteConflict.
    let blocked = a.delete_user().user_name(user).send().await.unwrap_err();
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&blocked),
        Some("DeleteConflict")
    );

    let text = cleanup_ok(&lab, "first cleanup").await;
    for said in [
        "detached managed policy",
        "removed from group learners",
        "deleted the console password",
        "deactivated MFA device",
        "deleted SSH public key",
        "deleted signing certificate",
        "deleted service-specific credential",
        "deleted IAM user",
    ] {
        assert!(text.contains(said), "{said}:\n{text}");
    }
    // S3 still lists the deleted bucket: the second cleanup must not fail on it.
    let listed = s3::list_buckets(&lab.admin.s3).await.unwrap();
    assert!(
        listed.iter().any(|b| b.contains("-verify-")),
        "the lag is on: {listed:?}"
    );
    let again = cleanup_ok(&lab, "second cleanup").await;
    assert!(again.contains("no buckets named"), "{again}");
    assert_only_admin_left(&lab).await;
    // What was not the lab's stays: the group, the managed policy; the virtual device went.
    assert!(a.get_group().group_name("learners").send().await.is_ok());
    assert!(a.get_policy().policy_arn(&policy).send().await.is_ok());
    let devices = a.list_virtual_mfa_devices().send().await.unwrap().virtual_mfa_devices;
    assert!(devices.is_empty(), "{devices:?}");
}

/// Item 6: the guide's own cleanup deletes the user; setup makes a new one of the same name, and
/// AWS denies it the old trust (bound to the old user's id) until the trust is written again.
#[tokio::test]
async fn a_user_deleted_by_hand_gets_its_trust_written_again() {
    let emu = TestEmulator::realistic(&SHORT).await;
    let lab = emu.lab(None).await;
    setup_and_assume(&lab).await;
    common::delete_user_by_hand(&lab).await;

    let mut lab = emu.lab(None).await;
    lab.backoff.budget = Duration::from_secs(8);
    let out = setup_and_assume(&lab).await;
    assert!(out.text().contains("created IAM user"), "{}", out.text());
    assert!(common::all_checks_pass(&lab).await);
    cleanup_ok(&lab, "cleanup").await;
    assert_only_admin_left(&lab).await;
}

/// A user created again is brand new to IAM: the stack update that writes its trust rolls back
/// with "Invalid principal" (UPDATE_ROLLBACK_COMPLETE, a working stack with the old trust). Setup
/// must not call that a success: it updates again once IAM knows the user, and says ✓ only when
/// the deployed trust names the user that exists now.
#[tokio::test]
async fn an_update_rolled_back_for_a_new_user_is_tried_again() {
    let emu = TestEmulator::realistic(&with(&[("STS_LAB_INVALID_PRINCIPAL_WINDOW", "1.5")])).await;
    let mut lab = emu.lab(None).await;
    lab.backoff.budget = Duration::from_secs(10);
    // The first setup meets the window too (a new stack): it is created again.
    setup_and_assume(&lab).await;
    common::delete_user_by_hand(&lab).await;

    let (a, user) = (&lab.admin.iam, lab.names.user.as_str());
    let out = setup_and_assume(&lab).await;
    let text = out.text();
    assert!(
        text.contains("rolled back: Invalid principal") && text.contains("updating it again"),
        "{text}"
    );
    let new_id = iam::get_user(a, user).await.unwrap().unwrap().id;
    let role_arn = lab.role_arn().await.unwrap();
    let trust = iam::role_trust(a, role_arn.rsplit('/').next().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        lab_core::model::policy::trust_names_user(&trust, &lab.user_arn(), &new_id),
        "{trust}"
    );
    assert!(common::all_checks_pass(&lab).await);
    cleanup_ok(&lab, "cleanup").await;
}

/// An endpoint without an optional IAM listing (plain moto has no ListServiceSpecificCredentials):
/// the listing is skipped with a note and the user is deleted all the same.
#[tokio::test]
async fn a_listing_the_endpoint_lacks_is_skipped() {
    let emu = TestEmulator::realistic(&with(&[(
        "STS_LAB_UNIMPLEMENTED",
        "ListServiceSpecificCredentials,ListSSHPublicKeys",
    )]))
    .await;
    let lab = emu.lab(None).await;
    setup_and_assume(&lab).await;
    // A learner attached a managed policy: DeleteUser is refused until it is detached.
    let policy = lab
        .admin
        .iam
        .create_policy()
        .policy_name("learners-extra")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();
    lab.admin
        .iam
        .attach_user_policy()
        .user_name(&lab.names.user)
        .policy_arn(&policy)
        .send()
        .await
        .unwrap();
    let text = cleanup_ok(&lab, "cleanup without two listings").await;
    assert!(
        text.contains("does not serve ListSSHPublicKeys") && text.contains("ListServiceSpecificCredentials"),
        "{text}"
    );
    assert!(text.contains("detached managed policy"), "{text}");
    assert_only_admin_left(&lab).await;
}

/// Item 8: an update in progress, a stack left in review, an update rolled back.
#[tokio::test]
async fn stack_states_that_aws_reaches() {
    let emu = TestEmulator::realistic(&with(&[("STS_LAB_STACK_DELAY", "1.5")])).await;
    let lab = emu.lab(None).await;
    let names = &lab.names;

    // A failed `aws cloudformation deploy` leaves the stack in REVIEW_IN_PROGRESS.
    lab.admin
        .cfn
        .create_change_set()
        .stack_name(&names.stack)
        .change_set_name("failed-deploy")
        .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
        .template_body(lab_core::model::policy::TEMPLATE)
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .tags(
            aws_sdk_cloudformation::types::Tag::builder()
                .key("sts-lab")
                .value("default")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let review = cfn::describe_stack(&lab.admin.cfn, &names.stack)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(review.status.as_str(), "REVIEW_IN_PROGRESS");
    let out = setup_and_assume(&lab).await;
    assert!(out.text().contains("REVIEW_IN_PROGRESS"), "{}", out.text());

    // An update rolled back to the working stack: setup goes on from there.
    let forced = format!(
        "/sts-lab/stack-status?name={}&status=UPDATE_ROLLBACK_COMPLETE",
        names.stack
    );
    post(&emu, &forced);
    let stack = cfn::describe_stack(&lab.admin.cfn, &names.stack)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stack.status.as_str(), "UPDATE_ROLLBACK_COMPLETE");
    let out = Captured::default();
    lab::setup(&lab, &out)
        .await
        .unwrap_or_else(|e| panic!("setup on UPDATE_ROLLBACK_COMPLETE: {e:#}\n{}", out.text()));

    // An update in progress when cleanup starts: DeleteStack is refused until it settles.
    let user_id = iam::get_user(&lab.admin.iam, &names.user).await.unwrap().unwrap().id;
    let prefix = lab.bucket_prefix();
    let params = [
        ("LabUserArn", lab.user_arn()),
        ("LabUserId", format!("{user_id}x")),
        ("Expires", "2099-01-01T00:00:00Z".to_owned()),
        ("BucketPrefix", prefix),
    ];
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(
        cfn::update_stack(
            &lab.admin.cfn,
            &cfn::StackRequest {
                stack: &names.stack,
                template: lab_core::model::policy::TEMPLATE,
                params: &params,
                tags: &[("sts-lab", "default")],
            }
        )
        .await
        .unwrap()
    );
    let updating = cfn::describe_stack(&lab.admin.cfn, &names.stack)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updating.status.as_str(), "UPDATE_IN_PROGRESS");
    let refused = cfn::delete_stack(&lab.admin.cfn, &names.stack).await.unwrap_err();
    assert_eq!(lab_core::aws::error::error_code(&refused), Some("ValidationError"));
    cleanup_ok(&lab, "cleanup during an update").await;
    assert_only_admin_left(&lab).await;
}

/// Item 9: IAM does not yet know a user created a moment ago: the stack rolls back with
/// "Invalid principal", and setup deploys it again.
#[tokio::test]
async fn an_invalid_principal_is_deployed_again() {
    let emu = TestEmulator::realistic(&with(&[
        ("STS_LAB_INVALID_PRINCIPAL_WINDOW", "1.5"),
        ("STS_LAB_KEY_DELAY", "0.1"),
        ("STS_LAB_STACK_DELAY", "0.2"),
    ]))
    .await;
    let lab = emu.lab(None).await;
    let out = setup_and_assume(&lab).await;
    let text = out.text();
    assert!(
        text.contains("Invalid principal") && text.contains("deploying again"),
        "{text}"
    );
    assert!(common::all_checks_pass(&lab).await);
    cleanup_ok(&lab, "cleanup").await;
    assert_only_admin_left(&lab).await;
}

/// Item 10: an expired session (the assumed profile's, and the admin's) and a DurationSeconds
/// above the role's maximum each say what to do. The sessions end on the emulator's clock,
/// moved forward: nothing here waits for time to pass.
#[tokio::test]
async fn expired_sessions_and_too_long_durations_say_what_to_do() {
    let emu = TestEmulator::realistic(&SHORT).await;
    let lab = emu.lab(None).await;
    setup_and_assume(&lab).await;
    let moved = move_clock(&emu, "+2h");
    assert!(moved.contains("2h ahead of this machine"), "{moved}");
    let checks = lab::verify(&lab, &Captured::default()).await.unwrap();
    let row = checks.iter().find(|c| c.name.contains("is the assumed role")).unwrap();
    assert!(
        // The session's recorded end has passed on the emulator's clock: said without a call.
        !row.passed
            && row.seen.contains("the session expired at")
            && row.seen.contains("run `cargo xtask assume` again"),
        "{row:?}"
    );
    assert!(move_clock(&emu, "now").contains("this machine's time"));
    lab::assume(&lab, &lab::AssumeOptions::default(), &Captured::default())
        .await
        .unwrap();

    // AWS refuses a session longer than the role allows.
    let as_user = lab.target.profile("sts").await.unwrap();
    let role = lab.role_arn().await.unwrap();
    let err = sts::assume_role(&as_user.sts, &role, "too-long", Some(7200))
        .await
        .unwrap_err();
    assert_eq!(lab_core::aws::error::error_code(&err), Some("ValidationError"));
    let said = one_line(&lab::explain_assume_failure(err, Some(7200)));
    assert!(said.contains("pass a smaller --duration"), "{said}");

    // The admin's own temporary credentials expire too (an SSO or role session).
    let admin_role = admin_role(&emu, "temporary-admin").await;
    // A new trust takes a moment to propagate, on AWS and here: asked again until it holds.
    let backoff = lab_core::aws::retry::Backoff {
        first: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        budget: Duration::from_secs(10),
    };
    let creds = lab_core::aws::retry::retry_codes(
        backoff,
        &["AccessDenied"],
        |_| {},
        || sts::assume_role(&lab.admin.sts, &admin_role, "admin", None),
    )
    .await
    .unwrap();
    let env = [
        ("AWS_ACCESS_KEY_ID", creds.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.expose().to_owned()),
        ("AWS_SESSION_TOKEN", creds.session_token.expose().to_owned()),
    ];
    let run = || {
        let mut cmd = emu.xtask_cmd(&["status"]);
        cmd.env_remove("AWS_PROFILE").envs(env.iter().map(|(k, v)| (k, v)));
        cmd.output().unwrap()
    };
    assert_ok(&run(), "status with fresh temporary admin credentials");
    move_clock(&emu, "+61m");
    let out = run();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("ExpiredToken") && err.contains("temporary credentials have expired"),
        "{err}"
    );
    cleanup_ok(&lab, "cleanup").await;
}

/// Items 14 and the rest of the layer: a backend that refuses tags in CreateBucket gets the
/// bucket without them, then tagged; new keys are refused for a while and waited out.
#[tokio::test]
async fn buckets_without_tags_at_creation() {
    let emu = TestEmulator::realistic(&with(&[("STS_LAB_BUCKET_TAGS_AT_CREATE", "0")])).await;
    let lab = emu.lab(None).await;
    let out = setup_and_assume(&lab).await;
    assert!(out.text().contains("waiting for the new access key"), "{}", out.text());
    let checks = lab::verify(&lab, &Captured::default()).await.unwrap();
    assert!(checks.iter().all(|c| c.passed), "{checks:#?}");
    let bucket = common::verify_bucket(&lab).await;
    assert_eq!(
        s3::bucket_lab_tag(&lab.admin.s3, &bucket).await.unwrap(),
        s3::BucketTag::Lab(Some("default".into()))
    );
    cleanup_ok(&lab, "cleanup").await;
    assert_only_admin_left(&lab).await;
}

/// Setup waits for the new key while the stack deploys, and cleanup disarms the user (its keys
/// and policy) while the stack is being deleted: each wait overlaps the other branch (seen in the
/// order of the lines).
#[tokio::test]
async fn the_keys_wait_overlaps_the_stacks() {
    let emu = TestEmulator::realistic(&with(&[("STS_LAB_KEY_DELAY", "1.5"), ("STS_LAB_STACK_DELAY", "1.5")])).await;
    let lab = emu.lab(None).await;
    let out = Captured::default();
    lab::setup(&lab, &out)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", out.text()));
    let lines: Vec<String> = out.0.lock().unwrap().clone();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{}", lines.join("\n")))
    };
    // The stack is in progress before the key is known, and ready after.
    assert!(
        at("CREATE_IN_PROGRESS") < at("✓ profile sts is arn:"),
        "{}",
        lines.join("\n")
    );
    assert!(at("waiting for the new access key") < at("✓ stack sts-stack-aws-prep ready"));

    let out = Captured::default();
    lab::cleanup(&lab, &out)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", out.text()));
    let text = out.text();
    let (deleting, keys_gone) = (
        text.find("DELETE_IN_PROGRESS").unwrap(),
        text.find("✓ deleted access key").unwrap(),
    );
    let (stack_gone, user_gone) = (
        text.find("✓ deleted stack").unwrap(),
        text.find("✓ deleted IAM user").unwrap(),
    );
    // The user is disarmed while the stack goes (its keys are gone before the stack's deletion
    // ends: the two do not wait for each other); the user itself goes once nothing else is left
    // (labs are found through their users).
    assert!(
        keys_gone < stack_gone && deleting < stack_gone && stack_gone < user_gone,
        "{text}"
    );
    assert_only_admin_left(&lab).await;
}

/// POSTs to the emulator's control path.
fn post(emu: &TestEmulator, path_and_query: &str) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", emu.running.port)).unwrap();
    write!(
        stream,
        "POST {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
