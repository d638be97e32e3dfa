//! The two policy kinds beside identity and session policies, as a learner meets them on the
//! emulator: lesson permission-boundary (the boundary decides, said by the emulator's own
//! AccessDenied, by the lesson's check and by `why`) and lesson bucket-policy (the admin locked
//! out by an explicit deny in a resource-based policy, the user with no S3 rights let into one
//! bucket), each listed while applied, taken back by `--undo`, and removed by `cleanup`.

use serde_json::Value as Json;

use crate::common::{TestEmulator, assert_ok, stderr, stdout};

fn json_of(emu: &TestEmulator, args: &[&str]) -> Json {
    let out = emu.xtask(args);
    assert_ok(&out, &args.join(" "));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// Every check passed, and the lab's documents decide offline what the emulator answered.
fn same_offline(doc: &Json) {
    for c in doc["checks"].as_array().unwrap() {
        assert_eq!(c["ok"], true, "{c}");
        let allowed = c["seen"] == "allowed";
        if let Some(effect) = c["decided_by"]["effect"].as_str() {
            assert_eq!(effect == "Allow", allowed, "offline and the emulator differ: {c}");
        }
    }
}

fn check<'a>(doc: &'a Json, name: &str) -> &'a Json {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("no check {name:?} in {doc}"))
}

#[tokio::test]
async fn a_boundary_caps_the_roles_broad_policy_and_says_so() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    assert_ok(&emu.xtask(&["assume"]), "assume");
    let doc = json_of(&emu, &["lesson", "permission-boundary", "--json"]);
    same_offline(&doc);
    let roles = check(&doc, "the session lists the account's roles");
    assert_eq!(roles["ok"], true, "{doc}");
    assert!(roles["seen"].as_str().unwrap().starts_with("AccessDenied"), "{roles}");
    assert!(
        roles["why"]
            .as_str()
            .unwrap()
            .contains("no permissions boundary allows iam:ListRoles"),
        "{roles}"
    );
    assert_eq!(check(&doc, "the session lists the buckets")["seen"], "allowed", "{doc}");
    // The emulator's own answer, to the aws CLI with the assumed profile (a session of the role).
    let out = emu.aws(&["iam", "list-roles", "--profile", "assumed"]);
    assert!(
        !out.status.success()
            && stderr(&out).contains("because no permissions boundary allows the iam:ListRoles action"),
        "{}",
        stderr(&out)
    );
    // `why` names the boundary among the policies in play.
    let why = json_of(&emu, &["why", "--as", "assumed", "iam:ListRoles", "--json"]);
    assert_eq!(why["decided_by"]["effect"], "ImplicitDeny", "{why}");
    let kinds: Vec<&str> = why["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"boundary"), "{why}");
    let status = json_of(&emu, &["status", "--json"]);
    let boundary = "arn:aws:iam::123456789012:policy/sts-lab-default-boundary";
    assert_eq!(status["lesson"]["boundary_policy"], boundary, "{status}");
    assert!(
        stdout(&emu.xtask(&["cleanup", "--dry-run"])).contains(&format!("IAM policy {boundary} (a boundary)")),
        "cleanup --dry-run"
    );
    // Proven again by reading only, then taken back: the role lists the roles no more (the
    // broad policy went with the boundary) and the boundary is gone.
    let again = json_of(&emu, &["verify", "--json"]);
    assert_eq!(again["passed"], true, "{again}");
    assert_ok(&emu.xtask(&["lesson", "permission-boundary", "--undo"]), "undo");
    let status = json_of(&emu, &["status", "--json"]);
    assert!(status["lesson"]["boundary_policy"].is_null(), "{status}");
    assert!(
        status["lesson"]["role_policies"].as_array().unwrap().is_empty(),
        "{status}"
    );
    // Applied again, cleanup removes it all.
    assert_ok(&emu.xtask(&["lesson", "permission-boundary"]), "lesson again");
    assert_ok(&emu.xtask(&["cleanup"]), "cleanup");
    assert_eq!(json_of(&emu, &["status", "--json"])["empty"], true);
}

#[tokio::test]
async fn a_bucket_policy_locks_the_admin_out_and_lets_the_user_in() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    let doc = json_of(&emu, &["lesson", "bucket-policy", "--json"]);
    same_offline(&doc);
    let admin = check(&doc, "the admin lists the guarded bucket");
    assert!(
        admin["why"]
            .as_str()
            .unwrap()
            .starts_with("explicit deny by OnlyTheLabsRoleAndUser"),
        "{admin}"
    );
    let user = check(&doc, "the lab's user (no S3 rights of its own)");
    assert_eq!(user["decided_by"]["statement"], "TheLabsUserMayList", "{user}");
    let bucket = "sts-lab-default-123456789012-guarded";
    // The emulator's own answers, to the aws CLI: the admin refused by the bucket's policy, the
    // user let in to this bucket only.
    let out = emu.aws(&["s3api", "list-objects-v2", "--bucket", bucket]);
    assert!(
        !out.status.success() && stderr(&out).contains("with an explicit deny in a resource-based policy"),
        "{}",
        stderr(&out)
    );
    assert_ok(
        &emu.aws(&["s3api", "list-objects-v2", "--bucket", bucket, "--profile", "sts"]),
        "the user lists",
    );
    let out = emu.aws(&["s3api", "list-buckets", "--profile", "sts"]);
    assert!(
        !out.status.success() && stderr(&out).contains("AccessDenied"),
        "{}",
        stderr(&out)
    );
    // `why` names the bucket policy that decided.
    let why = json_of(&emu, &["why", "--as", "sts", "s3:ListBucket", bucket, "--json"]);
    assert_eq!(why["decided_by"]["effect"], "Allow", "{why}");
    assert_eq!(
        why["decided_by"]["policy"],
        format!("the bucket policy of {bucket}"),
        "{why}"
    );
    // Cleanup with the lesson applied: the role's session unlocks the bucket, then all goes.
    let out = emu.xtask(&["cleanup"]);
    assert_ok(&out, "cleanup");
    assert!(
        stdout(&out).contains("deleted the policy of bucket"),
        "{}",
        stdout(&out)
    );
    assert_eq!(json_of(&emu, &["status", "--json"])["empty"], true);
}

#[tokio::test]
async fn a_class_takes_both_and_leaves_nothing() {
    let emu = TestEmulator::start().await;
    let out_dir = emu.scratch.0.join("handouts");
    let class = |args: &[&str]| emu.class("kinds", &out_dir, args);
    assert_ok(&class(&["setup", "--students", "2"]), "class setup");
    for lesson in ["permission-boundary", "bucket-policy"] {
        assert_ok(&class(&["lesson", lesson]), &format!("class lesson {lesson}"));
        let page = std::fs::read_to_string(out_dir.join("kinds-02").join(format!("lesson-{lesson}.md"))).unwrap();
        assert!(page.contains(&format!("# Lesson {lesson}")), "{page}");
        // Proven again by reading only, for every student.
        let verify = class(&["verify", "--json"]);
        assert_ok(&verify, &format!("class verify with {lesson}"));
        let doc: Json = serde_json::from_str(&stdout(&verify)).unwrap();
        for student in doc["students"].as_array().unwrap() {
            let checks = student["checks"].as_array().unwrap();
            assert!(
                checks
                    .iter()
                    .any(|c| c["name"].as_str().unwrap().starts_with(&format!("lesson {lesson}: "))),
                "{student}"
            );
        }
        if lesson == "permission-boundary" {
            assert_ok(&class(&["lesson", lesson, "--undo"]), "class lesson --undo");
        }
    }
    // Class cleanup with bucket-policy applied: each lab's bucket unlocked by its own role.
    assert_ok(&class(&["cleanup"]), "class cleanup");
    let users = crate::common::user_names(&emu.admin().await).await;
    assert!(users.iter().all(|u| !u.contains("kinds-")), "{users:?}");
    let buckets = emu.aws(&["s3", "ls"]);
    assert!(!stdout(&buckets).contains("guarded"), "{}", stdout(&buckets));
}
