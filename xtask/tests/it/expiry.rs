//! Labs that disarm themselves and the sweep that finds every lab: `setup --ttl` puts the expiry
//! on every Allow the lab writes (the documents are read back: the emulator ignores conditions in
//! identity policies and evaluates only StringEquals in trusts, so the documents are the proof),
//! tags user, stack and bucket, and `status`, `verify` and `assume` say it; `sweep` finds labs
//! by their tags with every local file gone, `--expired` takes only expired ones, and a
//! look-alike user without the tag survives.

use crate::common;

use crate::common::{TestEmulator, assert_ok, statements, stderr, stdout, url_decoded_json};
use lab_core::lab;
use lab_core::model::expiry::machine_now as now_secs;
use lab_core::model::expiry::{format_utc, parse_utc};
use serde_json::{Value, json};

#[tokio::test]
async fn setup_with_a_ttl_puts_the_expiry_on_every_allow_and_shows_it() {
    let emu = TestEmulator::start().await;
    // A bad value is one line, before any call.
    let bad = emu.xtask(&["setup", "--ttl", "2x"]);
    assert!(!bad.status.success());
    assert_eq!(stderr(&bad).trim().lines().count(), 1, "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--ttl 90m"), "{}", stderr(&bad));
    assert!(emu.xtask(&["setup", "--ttl", "8d"]).status.code() == Some(1));
    assert!(lab::inventory(&emu.lab(None).await).await.unwrap().is_empty());

    let before = now_secs();
    let out = emu.xtask(&["setup", "--ttl", "2h"]);
    assert_ok(&out, "setup --ttl 2h");
    assert!(stdout(&out).contains("the lab expires at"), "{}", stdout(&out));
    assert_ok(&emu.xtask(&["assume"]), "assume");
    let lab = emu.lab(None).await;
    let iam = &lab.admin.iam;

    // The user carries the tag; the expiry is now + 2 h.
    let user = lab_core::ops::iam::get_user(iam, &lab.names.user)
        .await
        .unwrap()
        .unwrap();
    let expires = user.tag("sts-lab-expires").unwrap().to_owned();
    let at = parse_utc(&expires).unwrap();
    assert!((before + 7200..=now_secs() + 7200).contains(&at), "{expires}");
    assert_eq!(format_utc(at), expires, "written as AWS writes times");
    let until = json!({"DateLessThan": {"aws:CurrentTime": expires}});

    // The user's StsAssumePolicy, the role's trust and every Allow of the role's S3 policy.
    let doc = iam
        .get_user_policy()
        .user_name(&lab.names.user)
        .policy_name("StsAssumePolicy")
        .send()
        .await
        .unwrap();
    let stmts = statements(&url_decoded_json(&doc.policy_document));
    assert!(stmts.iter().all(|s| s["Condition"] == until), "{stmts:?}");
    let (stack, role_arn) = lab.ready_stack().await.unwrap();
    assert_eq!(stack.tag("sts-lab-expires"), Some(expires.as_str()));
    let role_name = role_arn.rsplit('/').next().unwrap().to_owned();
    let role = iam.get_role().role_name(&role_name).send().await.unwrap().role.unwrap();
    let trust = statements(&url_decoded_json(role.assume_role_policy_document().unwrap()));
    assert!(trust.iter().all(|s| s["Condition"] == until), "{trust:?}");
    let s3 = iam
        .get_role_policy()
        .role_name(&role_name)
        .policy_name("sts-lab-s3")
        .send()
        .await
        .unwrap();
    let allows: Vec<_> = statements(&url_decoded_json(&s3.policy_document))
        .into_iter()
        .filter(|s| s["Effect"] == "Allow")
        .collect();
    assert_eq!(allows.len(), 2);
    assert!(
        allows.iter().all(|s| s["Effect"] == "Allow" && s["Condition"] == until),
        "{allows:?}"
    );

    // status shows it, as a table and as JSON; verify has its row; the bucket is tagged.
    let status = emu.xtask(&["status"]);
    assert_ok(&status, "status");
    assert!(
        stdout(&status).contains(&format!("{expires} (expires in 1 h 59 min)"))
            || stdout(&status).contains(&format!("{expires} (expires in 2 h)")),
        "{}",
        stdout(&status)
    );
    let json: Value = serde_json::from_str(&stdout(&emu.xtask(&["status", "--json"]))).unwrap();
    assert_eq!(json["expires"]["at"], expires.as_str());
    assert_eq!(json["expires"]["expired"], false);
    let verify = emu.xtask(&["verify"]);
    assert_ok(&verify, "verify");
    assert!(
        stdout(&verify).contains("✓ the lab has not expired"),
        "{}",
        stdout(&verify)
    );
    let bucket = common::verify_bucket(&lab).await;
    let tags = lab
        .admin
        .s3
        .get_bucket_tagging()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .tag_set;
    assert!(
        tags.iter().any(|t| t.key == "sts-lab-expires" && t.value == expires),
        "{tags:?}"
    );

    // Past its expiry the lab is refused by assume, as AWS would refuse it; setup renews it.
    let config = std::fs::read_to_string(&emu.home.files().config).unwrap();
    std::fs::write(
        &emu.home.files().config,
        config.replace(&expires, "2020-01-01T00:00:00Z"),
    )
    .unwrap();
    let refused = emu.xtask(&["assume"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("the lab expired at 2020-01-01T00:00:00Z; run `cargo xtask setup` to renew it"),
        "{}",
        stderr(&refused)
    );
    lab_core::ops::iam::tag_user(iam, &lab.names.user, &[("sts-lab-expires", "2020-01-01T00:00:00Z")])
        .await
        .unwrap();
    let status = emu.xtask(&["status"]);
    assert!(
        stdout(&status).contains("2020-01-01T00:00:00Z (expired "),
        "{}",
        stdout(&status)
    );
    assert_ok(&emu.xtask(&["setup", "--ttl", "90m"]), "setup renews");
    assert_ok(&emu.xtask(&["assume"]), "assume after the renewal");
    let renewed = lab_core::ops::iam::get_user(iam, &lab.names.user)
        .await
        .unwrap()
        .unwrap();
    let renewed = parse_utc(renewed.tag("sts-lab-expires").unwrap()).unwrap();
    assert!(renewed >= now_secs() + 5300, "renewed to now + 90 min");
    assert_ok(&emu.xtask(&["cleanup"]), "cleanup");
}

#[tokio::test]
async fn sweep_finds_every_lab_by_its_tags_with_the_local_files_gone() {
    let emu = TestEmulator::start().await;
    for lab in ["old", "fresh"] {
        assert_ok(&emu.xtask(&["--lab", lab, "setup", "--ttl", "1h"]), "setup");
        assert_ok(&emu.xtask(&["--lab", lab, "assume"]), "assume");
        assert_ok(&emu.xtask(&["--lab", lab, "verify"]), "verify");
    }
    let admin = emu.admin().await;
    // Lab "old" expired an hour ago (on the user and the stack alike, as AWS would see it).
    lab_core::ops::iam::tag_user(
        &admin.iam,
        "sts-machine-user-old",
        &[("sts-lab-expires", &format_utc(now_secs() - 3600))],
    )
    .await
    .unwrap();
    // Look-alikes: a user of a lab's name without the tag, and one with another lab's tag.
    admin
        .iam
        .create_user()
        .user_name("sts-machine-user-ghost")
        .send()
        .await
        .unwrap();
    lab_core::ops::iam::create_user(&admin.iam, "sts-machine-user-fake", &[("sts-lab", "other")])
        .await
        .unwrap();

    // Every local file gone: the admin's keys come from the environment, as in CI.
    let (id, secret) = common::admin_keys(&emu);
    // The test's own view of the two labs, connected while the admin's files are still there.
    let (old_lab, fresh_lab) = (emu.lab(Some("old")).await, emu.lab(Some("fresh")).await);
    std::fs::remove_dir_all(emu.home.files().credentials.parent().unwrap()).unwrap();
    let sweep = |args: &[&str]| {
        let mut cmd = emu.xtask_cmd(args);
        cmd.env_remove("AWS_PROFILE")
            .env("AWS_ACCESS_KEY_ID", &id)
            .env("AWS_SECRET_ACCESS_KEY", &secret);
        cmd.output().unwrap()
    };
    let users = || common::user_names(&admin);
    let all_before = users().await;

    // A dry run names every lab, what it holds and when it expires, and changes nothing.
    let dry = sweep(&["sweep", "--dry-run", "--json"]);
    assert_ok(&dry, "sweep --dry-run --json");
    let doc: Value = serde_json::from_str(&stdout(&dry)).unwrap();
    let labs = doc["labs"].as_array().unwrap();
    assert_eq!(
        labs.iter().map(|l| l["lab"].as_str().unwrap()).collect::<Vec<_>>(),
        ["fresh", "old"]
    );
    assert!(labs.iter().all(|l| l["action"] == "would remove"));
    let old = &labs[1];
    assert_eq!(old["expires"]["expired"], true);
    assert!(
        old["holds"].to_string().contains("stack sts-stack-aws-prep-old"),
        "{old}"
    );
    assert!(old["holds"].to_string().contains("bucket sts-lab-old-"), "{old}");
    assert_eq!(users().await, all_before);
    let text = sweep(&["sweep", "--dry-run"]);
    assert_ok(&text, "sweep --dry-run");
    assert!(
        stdout(&text).contains("lab old in us-east-1, 20") && stdout(&text).contains("expired 1 h ago"),
        "{}",
        stdout(&text)
    );

    // --expired takes the expired lab only.
    let expired = sweep(&["sweep", "--expired"]);
    assert_ok(&expired, "sweep --expired");
    assert!(lab::inventory(&old_lab).await.unwrap().is_empty());
    assert!(!lab::inventory(&fresh_lab).await.unwrap().is_empty());

    // The rest goes with a plain sweep; look-alikes and the admin stay.
    assert_ok(&sweep(&["sweep"]), "sweep");
    assert!(lab::inventory(&fresh_lab).await.unwrap().is_empty());
    assert_eq!(
        users().await,
        ["emulator-admin", "sts-machine-user-fake", "sts-machine-user-ghost"]
    );
    assert!(admin.iam.list_roles().send().await.unwrap().roles.is_empty());
    let again = sweep(&["sweep"]);
    assert_ok(&again, "a second sweep");
    assert!(stdout(&again).contains("no lab in this account"), "{}", stdout(&again));
}
