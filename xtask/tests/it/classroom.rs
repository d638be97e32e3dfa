//! A classroom on a real account, tried as an instructor would on the realistic emulator: IAM and
//! CloudFormation throttled, buckets in the region they were made in (a request signed for another
//! answered as S3 does), learners' own untagged buckets, a Deny-all bucket policy attempted, the
//! class set up again from a shell in another region, an expired class, and a sweep over a lab
//! that cannot be reached.

use crate::common;

use std::path::Path;

use crate::common::{TestEmulator, assert_ok, emulator_calls, emulator_throttled, stderr, stdout, student_aws};

/// The realistic emulator with short delays, IAM at 25 requests/s and CloudFormation at 5.
fn throttled_class() -> Vec<(&'static str, &'static str)> {
    vec![
        ("STS_LAB_KEY_DELAY", "0.4"),
        ("STS_LAB_PROPAGATION_DELAY", "0.3"),
        ("STS_LAB_STACK_DELAY", "0.6"),
        ("STS_LAB_BUCKET_LIST_LAG", "1"),
        ("STS_LAB_IAM_RATE", "25"),
        ("STS_LAB_CFN_RATE", "5"),
        ("STS_LAB_BUCKET_NAME_HOLD", "30"),
    ]
}

/// A handout's value from its README table: the text between backticks on the row `what`.
fn handout_value(handout: &Path, what: &str) -> String {
    let readme = std::fs::read_to_string(handout.join("README.md")).unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with(&format!("| {what} |")))
        .unwrap_or_else(|| panic!("no {what} in {readme}"));
    row.split('`').nth(1).unwrap().to_owned()
}

/// The student does what the README says: assumes the role with profile sts and pastes the
/// keys it prints into the credentials file as profile assumed.
fn student_assumes(emu: &TestEmulator, handout: &Path) {
    let role = handout_value(handout, "role");
    let out = student_aws(
        emu,
        handout,
        &[],
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &role,
            "--role-session-name",
            "me",
            "--profile",
            "sts",
        ],
    );
    assert_ok(&out, "aws sts assume-role from the handout");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &doc["Credentials"];
    let pasted = format!(
        "\n[assumed]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
        c["AccessKeyId"].as_str().unwrap(),
        c["SecretAccessKey"].as_str().unwrap(),
        c["SessionToken"].as_str().unwrap()
    );
    let path = handout.join("credentials");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&pasted);
    std::fs::write(&path, text).unwrap();
}

/// A student assumes their role with their handout's key and makes a bucket under their prefix,
/// with no tags, as `aws s3 mb` does (through the SDK: 27 aws CLI runs would take a minute).
async fn student_makes_a_bucket(emu: &TestEmulator, handout: &Path) {
    let mut target = emu.target();
    target.files = lab_core::profiles::awsfiles::AwsFiles::in_dir(handout);
    let as_user = target.profile("sts").await.unwrap();
    let role = handout_value(handout, "role");
    let creds = lab_core::ops::sts::assume_role(&as_user.sts, &role, "me", None)
        .await
        .unwrap();
    let session = target.session(&creds).await.unwrap();
    let bucket = format!("{}mine", handout_value(handout, "bucket prefix"));
    lab_core::ops::s3::create_bucket(&session.s3, &bucket, &session.region, &[])
        .await
        .unwrap();
}

/// The handout's bucket command, as written (without the leading `aws`).
fn handout_bucket_command(handout: &Path) -> Vec<String> {
    let readme = std::fs::read_to_string(handout.join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("aws s3 mb "))
        .unwrap_or_else(|| panic!("no bucket command in {readme}"));
    line.split_whitespace().skip(1).map(str::to_owned).collect()
}

#[tokio::test]
async fn a_class_under_both_throttles_with_the_learners_own_buckets() {
    let emu = TestEmulator::realistic(&throttled_class()).await;
    let out_dir = emu.scratch.0.join("handouts");
    let out = out_dir.to_str().unwrap();
    // The test's own admin calls share the emulator's request rates with the class: patient.
    let admin = emu.patient_admin().await;

    let (stacks_before, _) = emulator_calls(&emu, "cloudformation:DescribeStacks");
    // All 30 labs in flight at once (no --jobs), paced to IAM's and CloudFormation's rates:
    // nothing throttled into failure. (How many are throttled at all depends on this machine's
    // load, which bunches requests: `bench --class` counts them, on a quiet machine none.)
    let setup = emu.xtask(&["class", "setup", "--students", "30", "--class", "room", "--out", out]);
    assert_ok(&setup, "class setup");
    eprintln!("throttled during class setup: {}", emulator_throttled(&emu));
    let (stacks_after, _) = emulator_calls(&emu, "cloudformation:DescribeStacks");
    // One DescribeStacks for the whole class at a time, and each lab's own few (preflight): far
    // fewer than one a lab for every second a stack waits.
    let described = stacks_after - stacks_before;
    assert!(described <= 4 * 30, "{described} DescribeStacks for 30 labs");

    let handout = |n: usize| out_dir.join(format!("room-{n:02}"));
    // Student 1 runs the handout's bucket command as written.
    student_assumes(&emu, &handout(1));
    let args = handout_bucket_command(&handout(1));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_ok(
        &student_aws(&emu, &handout(1), &[], &args),
        "the handout's aws s3 mb, as written",
    );
    // Student 2's shell points elsewhere (CloudShell sets AWS_REGION and AWS_DEFAULT_REGION),
    // and they leave out the handout's --region: the bucket goes there.
    student_assumes(&emu, &handout(2));
    let elsewhere = format!("s3://{}mine", handout_value(&handout(2), "bucket prefix"));
    let made = student_aws(
        &emu,
        &handout(2),
        &[("AWS_REGION", "eu-west-1"), ("AWS_DEFAULT_REGION", "eu-west-1")],
        &["s3", "mb", &elsewhere, "--profile", "assumed"],
    );
    assert_ok(&made, "a bucket made from another region");
    // Student 3 tries to lock the instructor out with a Deny-all bucket policy: refused.
    student_assumes(&emu, &handout(3));
    let bucket = format!("{}locked", handout_value(&handout(3), "bucket prefix"));
    let mb = student_aws(
        &emu,
        &handout(3),
        &[],
        &["s3", "mb", &format!("s3://{bucket}"), "--profile", "assumed"],
    );
    assert_ok(&mb, "student 3's bucket");
    let deny_all = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"]}}]}}"#
    );
    let locked = student_aws(
        &emu,
        &handout(3),
        &[],
        &[
            "s3api",
            "put-bucket-policy",
            "--bucket",
            &bucket,
            "--policy",
            &deny_all,
            "--profile",
            "assumed",
        ],
    );
    assert!(!locked.status.success(), "the role may not write a bucket policy");
    assert!(stderr(&locked).contains("AccessDenied"), "{}", stderr(&locked));

    // Every other student makes a bucket of their own, untagged, as `aws s3 mb` does.
    for n in 4..=30 {
        student_makes_a_bucket(&emu, &handout(n)).await;
    }

    let verify = emu.xtask(&["class", "verify", "--class", "room", "--out", out]);
    assert_ok(&verify, "class verify");
    let status = emu.xtask(&["class", "status", "--class", "room", "--out", out]);
    assert_ok(&status, "class status with a bucket in another region");
    let lab_status = emu.xtask(&["status", "--lab", "room-02", "--json"]);
    assert_ok(&lab_status, "status of the lab with a bucket elsewhere");
    let doc: serde_json::Value = serde_json::from_slice(&lab_status.stdout).unwrap();
    assert_eq!(doc["bucket_regions"][&elsewhere[5..]], "eu-west-1", "{doc}");

    // Run again from a shell in another region: nothing new anywhere, every lab where it was.
    let again = emu
        .xtask_cmd(&["class", "setup", "--students", "30", "--class", "room", "--out", out])
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap();
    assert_ok(&again, "class setup again from eu-west-1");
    let eu = admin.in_region("eu-west-1");
    let eu_stacks = lab_core::ops::cfn::describe_all_stacks(&eu.cfn).await.unwrap();
    assert!(eu_stacks.is_empty(), "{:?}", eu_stacks.keys());
    // Asked for by name, another region is refused for every lab, and nothing is made.
    let refused = emu.xtask(&[
        "class",
        "setup",
        "--students",
        "30",
        "--class",
        "room",
        "--out",
        out,
        "--region",
        "eu-west-1",
    ]);
    assert!(!refused.status.success());
    assert!(stdout(&refused).contains("lives in us-east-1"), "{}", stdout(&refused));
    assert!(
        lab_core::ops::cfn::describe_all_stacks(&eu.cfn)
            .await
            .unwrap()
            .is_empty()
    );

    let cleanup = emu.xtask(&["class", "cleanup", "--class", "room", "--out", out]);
    assert_ok(&cleanup, "class cleanup");
    // S3 lists a deleted bucket for a while (the emulator's list lag): ask each listed one.
    let mut left = Vec::new();
    for b in lab_core::ops::s3::list_buckets(&admin.s3).await.unwrap() {
        if lab_core::ops::s3::bucket_location(&admin.s3, &b)
            .await
            .unwrap()
            .is_some()
        {
            left.push(b);
        }
    }
    assert!(left.is_empty(), "left: {left:?}");
    assert_eq!(admin.iam.list_users().send().await.unwrap().users.len(), 1);
    assert!(admin.iam.list_roles().send().await.unwrap().roles.is_empty());
    let (_, throttled) = emulator_calls(&emu, "cloudformation:DescribeStacks");
    eprintln!("DescribeStacks throttled {throttled} times; {described} during setup");
}

#[tokio::test]
async fn verify_passes_twice_with_a_cleanup_between_while_the_old_name_is_held() {
    let emu = TestEmulator::realistic(&throttled_class()).await;
    let admin = emu.admin().await;
    for round in ["first", "second"] {
        for task in ["setup", "assume", "verify", "verify"] {
            assert_ok(&emu.xtask(&[task]), &format!("{round} {task}"));
        }
        // Verify run again uses the bucket it made: one a lab, not one a run.
        let made: Vec<String> = lab_core::ops::s3::list_buckets(&admin.s3)
            .await
            .unwrap()
            .into_iter()
            .filter(|b| b.contains("-verify-"))
            .collect();
        assert_eq!(made.len(), 1, "{made:?}");
        assert_ok(&emu.xtask(&["cleanup"]), &format!("{round} cleanup"));
    }
}

#[tokio::test]
async fn an_expired_class_says_expired_at_once() {
    let emu = TestEmulator::start().await;
    let out_dir = emu.scratch.0.join("handouts");
    let out = out_dir.to_str().unwrap();
    // A handout folder with a profile [sts] that sts-lab did not write: refused, unless --force.
    let first = out_dir.join("class-01");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::write(first.join("credentials"), "[sts]\naws_access_key_id = AKIAOLD\n").unwrap();
    let refused = emu.xtask(&["class", "setup", "--students", "3", "--out", out]);
    assert!(!refused.status.success());
    assert!(
        stdout(&refused).contains("✗ class-01: ") && stdout(&refused).contains("--force"),
        "{}",
        stdout(&refused)
    );
    assert!(stdout(&refused).contains("2 of 3 labs set up"), "{}", stdout(&refused));
    assert_ok(
        &emu.xtask(&["class", "setup", "--students", "3", "--out", out, "--force"]),
        "class setup --force",
    );
    // The class's time is up (the emulator does not move its clock: the tags say so).
    let admin = emu.admin().await;
    for n in 1..=3 {
        let user = format!("sts-machine-user-class-0{n}");
        lab_core::ops::iam::tag_user(&admin.iam, &user, &[("sts-lab-expires", "2020-01-01T00:00:00Z")])
            .await
            .unwrap();
    }
    // At once: nothing is asked of AWS for an expired lab (no session, no check).
    let (assumed_before, _) = emulator_calls(&emu, "sts:AssumeRole");
    let verify = emu.xtask(&["class", "verify", "--out", out]);
    assert_eq!(emulator_calls(&emu, "sts:AssumeRole").0, assumed_before);
    assert!(!verify.status.success());
    let text = stdout(&verify);
    for n in 1..=3 {
        assert!(
            text.contains(&format!(
                "✗ class-0{n}: expired at 2020-01-01T00:00:00Z; run `cargo xtask class setup --students 3 --out {out}` to renew the class"
            )),
            "{text}"
        );
    }
    assert_ok(&emu.xtask(&["class", "cleanup", "--out", out]), "class cleanup");
}

#[tokio::test]
async fn a_sweep_reports_a_lab_it_cannot_reach_and_removes_the_others() {
    let emu = TestEmulator::start().await;
    for lab in ["alpha", "bravo", "charlie"] {
        for task in ["setup", "assume", "verify"] {
            assert_ok(&emu.xtask(&[task, "--lab", lab]), &format!("{task} {lab}"));
        }
    }
    // Lab alpha, the first the sweep meets, records a region no endpoint serves (a typo in a
    // hand-edited tag, say).
    let admin = emu.admin().await;
    lab_core::ops::iam::tag_user(
        &admin.iam,
        "sts-machine-user-alpha",
        &[("sts-lab-region", "no_such_region!")],
    )
    .await
    .unwrap();
    let sweep = emu.xtask(&["sweep"]);
    assert!(!sweep.status.success(), "one lab failed");
    let text = stdout(&sweep);
    assert!(text.contains("lab bravo") && text.contains("lab charlie"), "{text}");
    assert!(text.contains("✗ lab alpha"), "{text}");
    assert!(stderr(&sweep).contains("alpha:"), "{}", stderr(&sweep));
    let users = common::user_names(&admin).await;
    assert!(
        !users.iter().any(|u| u.ends_with("-bravo") || u.ends_with("-charlie")),
        "{users:?}"
    );
    assert!(users.iter().any(|u| u.ends_with("-alpha")), "{users:?}");
}
