//! A classroom, tried as an instructor would: `class setup`, the handouts with the real aws CLI
//! (each student is their own user and may assume only their own role), `class verify` with its
//! isolation check, `class trail` counting each student's refusals, the instructor's files
//! untouched, `class status`, and `class cleanup`
//! leaving nothing, handouts included, even when the handouts are gone first.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{TestEmulator, assert_ok, stderr, stdout, student_aws};
use serde_json::Value;

#[tokio::test]
async fn a_class_set_up_verified_and_cleaned_up() {
    let emu = TestEmulator::start().await;
    let files = emu.home.files();
    let (creds_before, config_before) = (
        std::fs::read(&files.credentials).unwrap(),
        std::fs::read(&files.config).unwrap(),
    );
    let out_dir = emu.scratch.0.join("handouts");
    let out = out_dir.to_str().unwrap();

    // Bad input: one line, before any call.
    let bad = emu.xtask(&["class", "setup", "--students", "0", "--out", out]);
    assert!(
        !bad.status.success() && stderr(&bad).trim().lines().count() == 1,
        "{}",
        stderr(&bad)
    );

    let setup = emu.xtask(&[
        "class",
        "setup",
        "--students",
        "4",
        "--class",
        "room",
        "--jobs",
        "3",
        "--out",
        out,
        "--explain",
    ]);
    assert_ok(&setup, "class setup");
    // --explain: the aws CLI commands, once, for the first lab.
    let text = stdout(&setup);
    assert!(text.contains("the aws CLI commands for room-01"), "{text}");
    assert!(
        text.contains("$ aws iam create-user --user-name sts-machine-user-room-01"),
        "{text}"
    );
    assert_eq!(text.matches("$ aws iam create-user").count(), 1, "{text}");
    assert!(stdout(&setup).contains("4 of 4 labs set up"), "{}", stdout(&setup));
    assert_eq!(
        std::fs::read(&files.credentials).unwrap(),
        creds_before,
        "the instructor's credentials are untouched"
    );
    assert_eq!(
        std::fs::read(&files.config).unwrap(),
        config_before,
        "the instructor's config is untouched"
    );

    let handout = |n: usize| out_dir.join(format!("room-0{n}"));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut roles = Vec::new();
    for n in 1..=4 {
        let h = handout(n);
        assert_eq!(mode(&h), 0o700, "{}", h.display());
        assert_eq!(mode(&h.join("credentials")), 0o600);
        let readme = std::fs::read_to_string(h.join("README.md")).unwrap();
        assert!(readme.contains(&format!("sts-machine-user-room-0{n}")), "{readme}");
        let role = readme
            .split("--role-arn ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap()
            .to_owned();
        assert!(
            role.contains(&format!("sts-stack-aws-prep-room-0{n}-StsRole-")),
            "{role}"
        );
        // The student's profile sts is that student, with the real aws CLI.
        let who = student_aws(
            &emu,
            &h,
            &[],
            &["sts", "get-caller-identity", "--profile", "sts", "--output", "text"],
        );
        assert_ok(&who, "aws --profile sts from the handout");
        assert!(
            stdout(&who).contains(&format!("user/sts-machine-user-room-0{n}")),
            "{}",
            stdout(&who)
        );
        roles.push(role);
    }
    // Each student's key may assume its own role only.
    for n in 1..=4 {
        for (m, role) in roles.iter().enumerate() {
            let tried = student_aws(
                &emu,
                &handout(n),
                &[],
                &[
                    "sts",
                    "assume-role",
                    "--role-arn",
                    role,
                    "--role-session-name",
                    "student",
                    "--profile",
                    "sts",
                ],
            );
            if m + 1 == n {
                assert_ok(&tried, "a student assumes its own role");
            } else {
                assert!(!tried.status.success(), "room-0{n} assumed room-0{}'s role", m + 1);
                assert!(stderr(&tried).contains("AccessDenied"), "{}", stderr(&tried));
            }
        }
    }

    // The class's trail: each student's refusals counted (their own requests only, not the
    // others' on their role), each explained; one more refusal of room-01's shows in its count.
    let extra = student_aws(&emu, &handout(1), &[], &["s3api", "list-buckets", "--profile", "sts"]);
    assert!(stderr(&extra).contains("AccessDenied"), "{}", stderr(&extra));
    let trail = emu.xtask(&["class", "trail", "--class", "room", "--out", out, "--json"]);
    assert_ok(&trail, "class trail");
    let doc: Value = serde_json::from_str(&stdout(&trail)).unwrap();
    let refused: Vec<u64> = doc["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["refused"].as_u64().unwrap())
        .collect();
    assert_eq!(refused.len(), 4, "{doc:#}");
    // Three other students' roles each; setup's own S3 check with their key is the lab's.
    assert_eq!(refused, [4, 3, 3, 3], "{doc:#}");
    // Student 1's refused ListBuckets: the path that exists is their role.
    let events = doc["students"][0]["trail"]["events"].as_array().unwrap();
    let listing = events
        .iter()
        .find(|e| e["operation"] == "s3:ListBuckets" && e["by_sts_lab"] == false)
        .expect("student 1's own ListBuckets");
    let first = &listing["explained"]["advice"][0];
    assert_eq!(first["kind"], "path", "{listing:#}");
    for advice in listing["explained"]["advice"].as_array().unwrap() {
        assert_ne!(advice["kind"], "change", "the lab's user is never widened: {advice:#}");
    }
    let one = emu.xtask(&[
        "class",
        "trail",
        "--class",
        "room",
        "--out",
        out,
        "--student",
        "2",
        "--denied",
    ]);
    assert_ok(&one, "class trail --student 2");
    let text = stdout(&one);
    assert!(
        text.contains(&format!("room-02: {} of their requests refused", refused[1])),
        "{text}"
    );
    assert!(!text.contains("room-01:"), "{text}");
    assert!(text.contains("the role's trust does not let this caller"), "{text}");
    let none = emu.xtask(&["class", "trail", "--class", "room", "--out", out, "--student", "9"]);
    assert!(
        stderr(&none).contains("class room has no student 9"),
        "{}",
        stderr(&none)
    );

    let verify = emu.xtask(&["class", "verify", "--class", "room", "--out", out, "--json"]);
    assert_ok(&verify, "class verify");
    let doc: Value = serde_json::from_str(&stdout(&verify)).unwrap();
    assert_eq!(doc["passed"], true);
    let students = doc["students"].as_array().unwrap();
    assert_eq!(students.len(), 4);
    for s in students {
        assert_eq!(s["isolation"].as_array().unwrap().len(), 3, "every pair up to ten: {s}");
        assert!(s["isolation"].as_array().unwrap().iter().all(|i| i["denied"] == true));
        assert!(
            s["checks"].as_array().unwrap().iter().all(|c| c["passed"] == true),
            "{s}"
        );
    }
    // Verify wrote nothing: no assumed profile in any handout.
    for n in 1..=4 {
        let creds = std::fs::read_to_string(handout(n).join("credentials")).unwrap();
        assert!(!creds.contains("[assumed]"), "{creds}");
    }

    let status = emu.xtask(&["class", "status", "--class", "room", "--out", out]);
    assert_ok(&status, "class status");
    // The same names for the same facts as `status --json` (one typed view each).
    let json = emu.xtask(&["class", "status", "--class", "room", "--out", out, "--json"]);
    assert_ok(&json, "class status --json");
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    let first = &doc["students"][0];
    assert_eq!(first["user"]["name"], "sts-machine-user-room-01", "{first}");
    assert_eq!(first["stack"]["status"], "CREATE_COMPLETE", "{first}");
    assert_eq!(first["expires"]["expired"], false, "{first}");
    assert!(
        first["expires"]["at"].is_string() && first["expires"]["seconds_left"].is_i64(),
        "{first}"
    );
    // Verify used every student's key and role: both seen as used (the role's from the class's
    // one reading of the account, GetAccountAuthorizationDetails' RoleLastUsed).
    for s in doc["students"].as_array().unwrap() {
        assert!(s["key_last_used"].is_string(), "{s}");
        assert!(s["role_last_used"].is_string(), "{s}");
    }
    assert_eq!(
        stdout(&status).matches("CREATE_COMPLETE").count(),
        4,
        "{}",
        stdout(&status)
    );

    // The handouts lost: cleanup still finds every lab by its tags.
    std::fs::remove_dir_all(handout(2)).unwrap();
    let cleanup = emu.xtask(&["class", "cleanup", "--class", "room", "--out", out]);
    assert_ok(&cleanup, "class cleanup");
    assert!(
        stdout(&cleanup).contains("4 labs removed, handouts removed"),
        "{}",
        stdout(&cleanup)
    );
    assert!(!out_dir.exists());
    for n in 1..=4 {
        let lab = emu.lab(Some(&format!("room-0{n}"))).await;
        let inv = lab_core::lab::inventory(&lab).await.unwrap();
        assert!(inv.is_empty(), "{:?}", inv.lines(&lab.names));
    }
    let admin = emu.admin().await;
    assert_eq!(admin.iam.list_users().send().await.unwrap().users.len(), 1);
    assert!(admin.iam.list_roles().send().await.unwrap().roles.is_empty());
    let again = emu.xtask(&["class", "cleanup", "--class", "room", "--out", out]);
    assert_ok(&again, "a second class cleanup");
    assert!(stdout(&again).contains("0 labs removed"), "{}", stdout(&again));
    assert_eq!(std::fs::read(&files.credentials).unwrap(), creds_before);
}
