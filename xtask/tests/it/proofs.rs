//! `verify` proves the lab's documents, and a hand edit that widens the lab fails its proof's row
//! with a counterexample: the role's sessions given IAM, the user given S3, the trust opened to
//! the whole account. Each edit is made with the aws CLI as the admin, on the emulator.

use serde_json::Value as Json;

use crate::common::{TestEmulator, assert_ok, setup_and_assume, stderr, stdout};

/// `verify --json`: its exit code, and the row named `starting` with.
fn proof_row(emu: &TestEmulator, starting: &str) -> (Option<i32>, Json) {
    let out = emu.xtask(&["verify", "--json"]);
    let doc: Json =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    let row = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with(starting))
        .unwrap_or_else(|| panic!("no row {starting}: {doc}"))
        .clone();
    (out.status.code(), row)
}

const SESSIONS: &str = "proof: the role's sessions";
const USER: &str = "proof: the user";
const TRUST: &str = "proof: no one but the user";

#[tokio::test]
async fn verify_proves_the_lab_and_a_hand_edit_fails_its_row() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    setup_and_assume(&lab).await;
    let role = lab.role_arn().await.unwrap();
    let role_name = role.rsplit('/').next().unwrap().to_owned();
    for row in [SESSIONS, USER, TRUST] {
        let (code, found) = proof_row(&emu, row);
        assert_eq!((code, &found["passed"]), (Some(0), &Json::Bool(true)), "{found}");
        assert!(found["seen"].as_str().unwrap().starts_with("proven over"), "{found}");
    }

    // The role's sessions given IAM by hand: too open, the statement named.
    let widen = r#"{"Version":"2012-10-17","Statement":[{"Sid":"HandAdded","Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
    let put = [
        "iam",
        "put-role-policy",
        "--role-name",
        &role_name,
        "--policy-name",
        "hand",
        "--policy-document",
        widen,
    ];
    assert_ok(&emu.aws(&put), "put-role-policy");
    let (code, row) = proof_row(&emu, SESSIONS);
    assert_eq!((code, &row["passed"]), (Some(1), &Json::Bool(false)), "{row}");
    let seen = row["seen"].as_str().unwrap();
    assert!(
        seen.starts_with("too open: a session of role") && seen.contains(": iam:"),
        "{row}"
    );
    assert!(row["why"].as_str().unwrap().contains("HandAdded"), "{row}");
    assert_ok(
        &emu.aws(&[
            "iam",
            "delete-role-policy",
            "--role-name",
            &role_name,
            "--policy-name",
            "hand",
        ]),
        "delete-role-policy",
    );

    // The user given the bucket list: the lab protects it from S3.
    let list =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;
    let user = lab.names.user.clone();
    let put = [
        "iam",
        "put-user-policy",
        "--user-name",
        &user,
        "--policy-name",
        "hand",
        "--policy-document",
        list,
    ];
    assert_ok(&emu.aws(&put), "put-user-policy");
    let (_, row) = proof_row(&emu, USER);
    assert_eq!(row["passed"], false, "{row}");
    assert!(
        row["seen"].as_str().unwrap().contains("s3:ListAllMyBuckets on *"),
        "{row}"
    );
    assert_ok(
        &emu.aws(&[
            "iam",
            "delete-user-policy",
            "--user-name",
            &user,
            "--policy-name",
            "hand",
        ]),
        "delete-user-policy",
    );

    // The trust opened to the whole account: the admin (or anyone of it) may assume the role.
    let open = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    assert_ok(
        &emu.aws(&[
            "iam",
            "update-assume-role-policy",
            "--role-name",
            &role_name,
            "--policy-document",
            open,
        ]),
        "update-assume-role-policy",
    );
    let (_, row) = proof_row(&emu, TRUST);
    assert_eq!(row["passed"], false, "{row}");
    assert!(row["seen"].as_str().unwrap().starts_with("too open:"), "{row}");
    assert_ok(&emu.xtask(&["cleanup"]), "cleanup");
}
