//! Faults and crashes against the emulator: IAM's eventual consistency (injected, since the
//! emulator is consistent at once), stacks in failed states, expired sessions, lost local files,
//! and the binary killed at many moments followed by a cleanup that leaves nothing.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{TestEmulator, assert_ok, emulator_calls};
use lab_core::aws::error::error_code;
use lab_core::aws::faults::InjectErrors;
use lab_core::aws::retry::Backoff;
use lab_core::lab::{self, Lab};
use lab_core::model::names::LabNames;
use lab_core::ops::stack_board::StackBoard;
use lab_core::output::report::Captured;
use lab_core::profiles::awsfiles::FileKind;

const FAST: Backoff = Backoff {
    first: Duration::from_millis(10),
    max_delay: Duration::from_millis(80),
    budget: Duration::from_secs(5),
};

async fn lab_with(emu: &TestEmulator, faults: Vec<InjectErrors>, admin_faults: Vec<InjectErrors>) -> Lab {
    let mut target = emu.target();
    target.faults = faults;
    target.admin_faults = admin_faults;
    Lab::connect(
        target,
        LabNames::new(None).unwrap(),
        lab_core::lab::LabOptions::default().backoff(FAST),
        &Captured::default(),
    )
    .await
    .unwrap()
}

async fn assert_lab_gone(emu: &TestEmulator, name: Option<&str>) {
    let lab = emu.lab(name).await;
    let inv = lab::inventory(&lab).await.unwrap();
    assert!(inv.is_empty(), "lab {name:?} left: {:?}", inv.lines(&lab.names));
}

fn stack_reply(status: &str) -> String {
    format!(
        "<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>sts-stack-aws-prep</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/sts-stack-aws-prep/x</StackId><CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>{status}</StackStatus><StackStatusReason>injected</StackStatusReason><Tags><member><Key>sts-lab</Key><Value>default</Value></member></Tags></member></Stacks></DescribeStacksResult></DescribeStacksResponse>"
    )
}

#[tokio::test]
async fn eventual_consistency_is_waited_out_at_exactly_those_steps() {
    let emu = TestEmulator::start().await;
    let new_key = InjectErrors::new("GetCallerIdentity", "InvalidClientTokenId", 2);
    let s3_key = InjectErrors::new("ListBuckets", "InvalidAccessKeyId", 1);
    let new_role = InjectErrors::new("AssumeRole", "AccessDenied", 3);
    let lab = lab_with(&emu, vec![new_key.clone(), s3_key.clone(), new_role.clone()], vec![]).await;
    let out = Captured::default();
    lab::setup(&lab, &out)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", out.text()));
    lab::assume(&lab, &lab::AssumeOptions::default(), &out)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", out.text()));
    assert_eq!(
        (new_key.remaining(), s3_key.remaining(), new_role.remaining()),
        (0, 0, 0)
    );
    // Every injected refusal was retried (the counts above); each wait was told at its start,
    // and again only as the time waited passes 1, 2, 4 … s: the new key, asked every half second
    // (its stack deploys meanwhile), passes 1 s on its second refusal.
    let text = out.text();
    for (told, lines) in [
        ("waiting for the new access key (InvalidClientTokenId", 2),
        ("waiting for S3 to know the new access key (InvalidAccessKeyId", 1),
        ("waiting for IAM to allow the new role and policy (AccessDenied", 1),
    ] {
        assert_eq!(text.matches(told).count(), lines, "{told}:\n{text}");
    }
    assert!(common::all_checks_pass(&lab).await);
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert_lab_gone(&emu, None).await;
}

#[tokio::test]
async fn other_codes_and_other_steps_are_not_retried() {
    let emu = TestEmulator::start().await;
    // AccessDenied on GetCallerIdentity is not eventual consistency: it fails at once.
    let denied = InjectErrors::new("GetCallerIdentity", "AccessDenied", 5);
    let lab = lab_with(&emu, vec![denied.clone()], vec![]).await;
    let out = Captured::default();
    let err = lab::setup(&lab, &out).await.unwrap_err();
    assert_eq!(error_code(&err), Some("AccessDenied"), "{err:#}");
    assert_eq!(denied.remaining(), 4, "one call, no retry");
    assert!(!out.text().contains("waiting"), "{}", out.text());
    lab::cleanup(&lab, &Captured::default()).await.unwrap();

    // A denial that outlasts the budget ends with the code and what to do.
    let forever = InjectErrors::new("AssumeRole", "AccessDenied", 1000);
    let lab = lab_with(&emu, vec![forever], vec![]).await;
    lab::setup(&lab, &Captured::default()).await.unwrap();
    let err = lab::assume(&lab, &lab::AssumeOptions::default(), &Captured::default())
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("AccessDenied"));
    assert!(format!("{err:#}").contains("still AccessDenied after"), "{err:#}");
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert_lab_gone(&emu, None).await;
}

#[tokio::test]
async fn failed_stack_is_refused_before_anything_changes() {
    let emu = TestEmulator::start().await;
    for status in ["ROLLBACK_COMPLETE", "DELETE_FAILED"] {
        let stuck = InjectErrors::reply("DescribeStacks", 200, stack_reply(status), 1);
        let lab = lab_with(&emu, vec![], vec![stuck]).await;
        let creds_before = std::fs::read_to_string(&lab.target.files.credentials).unwrap();
        let err = format!("{:#}", lab::setup(&lab, &Captured::default()).await.unwrap_err());
        assert!(
            err.contains(status) && err.contains("run `cargo xtask cleanup`"),
            "{err}"
        );
        assert_lab_gone(&emu, None).await;
        assert_eq!(
            std::fs::read_to_string(&lab.target.files.credentials).unwrap(),
            creds_before
        );
    }
}

#[tokio::test]
async fn stack_delete_failed_is_reported_and_the_rest_is_cleaned() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    lab::setup(&lab, &Captured::default()).await.unwrap();
    // The look for the stack's role, the first look at the stack and the wait after DeleteStack
    // all see DELETE_FAILED.
    let stuck = InjectErrors::reply("DescribeStacks", 200, stack_reply("DELETE_FAILED"), 3);
    let failing = lab_with(&emu, vec![], vec![stuck]).await;
    let out = Captured::default();
    let err = format!("{:#}", lab::cleanup(&failing, &out).await.unwrap_err());
    assert!(
        err.contains("DELETE_FAILED") && err.contains("run cleanup again"),
        "{err}"
    );
    let text = out.text();
    // Every other step ran; the user is disarmed but kept, so that the lab can still be found.
    assert!(
        text.contains("deleted access key") && text.contains("kept IAM user") && text.contains("removed"),
        "every other step ran:\n{text}"
    );
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert_lab_gone(&emu, None).await;
}

#[tokio::test]
async fn an_admin_who_may_not_list_stacks_waits_on_its_stack_by_name_at_the_boards_pace() {
    // A stack that takes a while, so that the wait spans several of the board's views.
    let emu = TestEmulator::realistic(&[
        ("STS_LAB_STACK_DELAY", "1.5"),
        ("STS_LAB_KEY_DELAY", "0.4"),
        ("STS_LAB_PROPAGATION_DELAY", "0.3"),
        ("STS_LAB_CFN_RATE", "0"),
    ])
    .await;
    // DescribeStacks without a name refused, as for an admin limited to the lab's stacks (the
    // emulator has no resource-level CloudFormation rights: injected).
    let listing_refused = InjectErrors::new("DescribeStacks", "AccessDenied", 1);
    let mut target = emu.target();
    target.admin_faults = vec![listing_refused.clone()];
    let board = Arc::new(StackBoard::new(Duration::from_secs(1)));
    let options = lab::LabOptions::default().backoff(FAST).stack_board(board);
    let lab = Lab::connect(target, LabNames::new(None).unwrap(), options, &Captured::default())
        .await
        .unwrap();
    let (before, _) = emulator_calls(&emu, "cloudformation:DescribeStacks");
    let started = std::time::Instant::now();
    let out = Captured::default();
    lab::setup(&lab, &out)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", out.text()));
    let waited = started.elapsed().as_secs_f64();
    assert_eq!(
        listing_refused.remaining(),
        0,
        "the class's listing was asked for first"
    );
    // Each stack asked for by name once a second at most (twice once one has settled), the
    // waiter never asking on its own: without the board's pace it would ask as fast as the
    // emulator answers, hundreds of times.
    let asked = emulator_calls(&emu, "cloudformation:DescribeStacks").0 - before;
    assert!(
        (asked as f64) <= 2.0 * waited + 2.0,
        "{asked} DescribeStacks by name in {waited:.1} s"
    );
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert_lab_gone(&emu, None).await;
}

#[tokio::test]
async fn expired_session_is_reported_and_assume_renews_it() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    common::setup_and_assume(&lab).await;
    let path = &lab.target.files.credentials;
    let text = std::fs::read_to_string(path).unwrap();
    let expires = lab
        .target
        .files
        .read_profile(FileKind::Credentials, "assumed")
        .unwrap()
        .unwrap();
    let at = expires.note("expires").unwrap().to_owned();
    std::fs::write(path, text.replace(&at, "2020-01-01T00:00:00Z")).unwrap();

    let checks = lab::verify(&lab, &Captured::default()).await.unwrap();
    let row = checks.iter().find(|c| c.name.contains("is the assumed role")).unwrap();
    assert!(
        !row.passed && row.seen.contains("expired at 2020-01-01T00:00:00Z") && row.seen.contains("assume"),
        "{row:?}"
    );
    lab::assume(&lab, &lab::AssumeOptions::default(), &Captured::default())
        .await
        .unwrap();
    assert!(common::all_checks_pass(&lab).await);
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
}

#[tokio::test]
async fn cleanup_finds_everything_when_the_local_profiles_are_gone() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    common::setup_and_assume(&lab).await;
    assert!(common::all_checks_pass(&lab).await);
    for profile in ["sts", "assumed"] {
        for kind in [FileKind::Credentials, FileKind::Config] {
            lab.target.files.remove_profile(kind, profile).await.unwrap();
        }
    }
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert_lab_gone(&emu, None).await;
}

/// Runs `xtask args`, kills it with SIGKILL after `lines` lines of output (or at once for 0), or
/// after `ms` milliseconds.
fn run_and_kill(emu: &TestEmulator, args: &[&str], lines: usize, ms: u64) {
    let mut child = emu
        .xtask_cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    } else {
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        for _ in 0..lines {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn killed_at_any_moment_then_cleanup_leaves_nothing() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let emu = rt.block_on(TestEmulator::start());
    let aws_dir = emu.home.files().credentials.parent().unwrap().to_path_buf();
    let admin_only = std::fs::read_to_string(&emu.home.files().credentials).unwrap();
    // By lines of setup's output: connect, preflight, user, key (then its table), identity, S3
    // denial, stack, policy; and by time, to land between lines too.
    let moments: Vec<(usize, u64)> = [1, 2, 3, 4, 16, 17, 18, 19, 20, 21]
        .into_iter()
        .map(|l| (l, 0))
        .chain([5, 40, 120, 250, 500, 800].into_iter().map(|ms| (0, ms)))
        .collect();
    for (i, (lines, ms)) in moments.iter().enumerate() {
        let name = format!("kill{i}");
        run_and_kill(&emu, &["--lab", &name, "setup"], *lines, *ms);
        let out = emu.xtask(&["--lab", &name, "cleanup"]);
        assert_ok(&out, &format!("cleanup after killing setup at {lines} lines / {ms} ms"));
        rt.block_on(assert_lab_gone(&emu, Some(&name)));
    }
    // Killed while assuming.
    assert_ok(&emu.xtask(&["--lab", "killassume", "setup"]), "setup");
    for lines in [1, 2, 3] {
        run_and_kill(&emu, &["--lab", "killassume", "assume"], lines, 0);
    }
    assert_ok(
        &emu.xtask(&["--lab", "killassume", "cleanup"]),
        "cleanup after killed assume",
    );
    rt.block_on(assert_lab_gone(&emu, Some("killassume")));

    // Killed while cleaning up: the next cleanup finishes the job.
    for (i, lines) in [1, 2, 3, 4, 5, 6].into_iter().enumerate() {
        let name = format!("killclean{i}");
        assert_ok(&emu.xtask(&["--lab", &name, "setup"]), "setup");
        assert_ok(&emu.xtask(&["--lab", &name, "assume"]), "assume");
        assert_ok(&emu.xtask(&["--lab", &name, "verify"]), "verify");
        run_and_kill(&emu, &["--lab", &name, "cleanup"], lines, 0);
        assert_ok(&emu.xtask(&["--lab", &name, "cleanup"]), "cleanup after killed cleanup");
        rt.block_on(assert_lab_gone(&emu, Some(&name)));
    }

    assert_eq!(
        std::fs::read_to_string(&emu.home.files().credentials).unwrap(),
        admin_only
    );
    let strays: Vec<_> = std::fs::read_dir(&aws_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "credentials" && n != "config")
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
    // Nothing of any lab is left in the emulator either.
    let admin = rt.block_on(emu.admin());
    let users = rt.block_on(admin.iam.list_users().send()).unwrap().users;
    assert_eq!(
        users.len(),
        1,
        "{:?}",
        users.iter().map(|u| &u.user_name).collect::<Vec<_>>()
    );
    assert!(rt.block_on(admin.iam.list_roles().send()).unwrap().roles.is_empty());
}

/// Four labs set up at once by four processes writing the same credentials and config files:
/// the folder lock keeps every section.
#[test]
fn concurrent_processes_do_not_lose_each_others_profiles() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let emu = rt.block_on(TestEmulator::start());
    let labs = ["par-a", "par-b", "par-c", "par-d"];
    let children: Vec<_> = labs
        .iter()
        .map(|lab| {
            emu.xtask_cmd(&["--lab", lab, "setup"])
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let files = emu.home.files();
    for lab in labs {
        let profile = format!("sts-{lab}");
        assert!(
            files.read_profile(FileKind::Credentials, &profile).unwrap().is_some(),
            "{profile} kept"
        );
        assert!(
            files.read_profile(FileKind::Config, &profile).unwrap().is_some(),
            "{profile} kept in config"
        );
    }
    for lab in labs {
        assert_ok(&emu.xtask(&["--lab", lab, "cleanup"]), "cleanup");
        rt.block_on(assert_lab_gone(&emu, Some(lab)));
    }
}

/// Right after assume, the role's S3 rights may still be propagating (AWS answers AccessDenied
/// for a moment): verify's CreateBucket waits it out, and says that it waits.
#[tokio::test]
async fn verify_waits_for_the_roles_s3_rights() {
    let emu = TestEmulator::start().await;
    let denied = InjectErrors::new("CreateBucket", "AccessDenied", 2);
    let lab = lab_with(&emu, vec![denied.clone()], vec![]).await;
    common::setup_and_assume(&lab).await;
    let out = Captured::default();
    let checks = lab::verify(&lab, &out).await.unwrap();
    assert_eq!(denied.remaining(), 0);
    assert!(checks.iter().all(|c| c.passed), "{checks:#?}");
    assert!(
        out.text().contains("waiting for the role's S3 rights (AccessDenied"),
        "{}",
        out.text()
    );
}

/// A cleanup whose bucket step fails keeps the user (its keys and policies deleted): labs are
/// found through their users, so the next cleanup, or a sweep, still finds what is left.
#[tokio::test]
async fn a_failed_bucket_keeps_the_lab_findable() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    common::setup_and_assume(&lab).await;
    assert!(common::all_checks_pass(&lab).await);
    // The answer is replaced after S3 deleted the bucket: the step fails, the bucket is gone.
    let refused = InjectErrors::new("DeleteBucket", "AccessDenied", 1);
    let broken = lab_with(&emu, vec![], vec![refused.clone()]).await;
    let out = Captured::default();
    assert!(lab::cleanup(&broken, &out).await.is_err());
    assert_eq!(refused.remaining(), 0);
    assert!(
        out.text()
            .contains("kept IAM user sts-machine-user (no keys, no policies)"),
        "{}",
        out.text()
    );
    let left = lab::inventory(&lab).await.unwrap();
    assert!(left.user.is_some() && left.access_keys.is_empty() && left.user_policies.is_empty());
    let found = lab_core::fleet::sweep::find_labs(&lab.admin.iam).await.unwrap();
    assert_eq!(found.len(), 1);
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert_lab_gone(&emu, None).await;
}
