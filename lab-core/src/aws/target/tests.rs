//! Tests of the target: which endpoints may get credentials, MFA profiles, files the SDKs refuse.

use super::*;

#[test]
fn plain_http_only_on_loopback() {
    for ok in [
        "https://iam.amazonaws.com",
        "http://127.0.0.1:5055",
        "http://127.1.2.3",
        "http://localhost:4566/",
        "http://[::1]:5055",
        "HTTP://LOCALHOST",
    ] {
        assert!(endpoint_is_safe(ok), "{ok}");
    }
    for bad in [
        "http://10.0.0.5:5055",
        "http://example.com",
        "http://localhost.evil.com",
        "http://127.0.0.1.evil.com",
        "http://user@example.com",
        "http://[::2]:80",
        "ftp://127.0.0.1",
    ] {
        assert!(!endpoint_is_safe(bad), "{bad}");
    }
}

#[test]
fn an_mfa_profile_is_found_through_its_source_profiles() {
    let dir = std::env::temp_dir().join(format!("sts-lab-mfa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = AwsFiles::in_dir(&dir);
    std::fs::write(
        &files.config,
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\nsource_profile = mfa\n\n[profile mfa]\nrole_arn = arn:aws:iam::123456789012:role/base\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nsource_profile = keys\n\n[profile plain]\nregion = eu-west-1\n\n[profile loop]\nsource_profile = loop\n",
    )
    .unwrap();
    assert_eq!(mfa_profile(&files, "admin").unwrap().as_deref(), Some("mfa"));
    assert_eq!(mfa_profile(&files, "mfa").unwrap().as_deref(), Some("mfa"));
    assert_eq!(mfa_profile(&files, "plain").unwrap(), None);
    assert_eq!(mfa_profile(&files, "loop").unwrap(), None);
    assert_eq!(mfa_profile(&files, "missing").unwrap(), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Files botocore reads but the AWS SDKs refuse (a nested line that is no `key = value`, a
/// continuation right under a header) are refused before anything changes, naming the line.
#[tokio::test]
async fn files_the_sdks_refuse_are_refused_first() {
    let dir = std::env::temp_dir().join(format!("sts-lab-sdk-parse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut target = Target::from_env(None, None).unwrap();
    target.files = AwsFiles::in_dir(&dir);
    std::fs::write(
        &target.files.config,
        "[profile x]\nregion = eu-west-1\ns3 =\n  addressing_style path\n",
    )
    .unwrap();
    assert!(crate::profiles::credfile::check(&std::fs::read_to_string(&target.files.config).unwrap()).is_ok());
    let err = target.check_files().await.unwrap_err().to_string();
    assert!(
        err.contains("the AWS SDKs cannot read") && err.contains("line 4"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::write(&target.files.config, "[profile x]\n  region = eu-west-1\n").unwrap();
    assert!(target.check_files().await.is_err());
    std::fs::write(
        &target.files.config,
        "[profile x]\nregion = eu-west-1\ns3 =\n  addressing_style = path\n",
    )
    .unwrap();
    target.check_files().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
